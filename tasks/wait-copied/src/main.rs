//! The wait-copied Lambda function: see [`rds_refresh_core::tasks::wait_copied`].
use rds_refresh_core::{lambda, tasks::wait_copied};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::run(wait_copied::handle).await
}
