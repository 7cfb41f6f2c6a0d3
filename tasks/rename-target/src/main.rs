//! The rename-target Lambda function: see [`rds_refresh_core::tasks::rename_target`].
use rds_refresh_core::{lambda, tasks::rename_target};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::run(rename_target::handle).await
}
