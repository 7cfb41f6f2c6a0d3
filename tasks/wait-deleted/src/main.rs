//! The wait-deleted Lambda function: see [`rds_refresh_core::tasks::wait_deleted`].
use rds_refresh_core::{lambda, tasks::wait_deleted};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::run(wait_deleted::handle).await
}
