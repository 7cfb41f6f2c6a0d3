//! The delete-target Lambda function: see [`rds_refresh_core::tasks::delete_target`].
use rds_refresh_core::{lambda, tasks::delete_target};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::run(delete_target::handle).await
}
