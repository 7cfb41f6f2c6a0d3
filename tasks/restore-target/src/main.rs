//! The restore-target Lambda function: see [`rds_refresh_core::tasks::restore_target`].
use rds_refresh_core::{lambda, tasks::restore_target};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::run(restore_target::handle).await
}
