//! The lock-target Lambda function: see [`rds_refresh_core::tasks::lock_target`].
use rds_refresh_core::{lambda, tasks::lock_target};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::run(lock_target::handle).await
}
