//! The wait-available Lambda function: see [`rds_refresh_core::tasks::wait_available`].
use rds_refresh_core::{lambda, tasks::wait_available};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::run(wait_available::handle).await
}
