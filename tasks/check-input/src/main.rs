//! The check-input Lambda function: see [`rds_refresh_core::tasks::check_input`].
use rds_refresh_core::{lambda, tasks::check_input};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::run(check_input::handle).await
}
