//! The recover-swap Lambda function: see [`rds_refresh_core::tasks::recover_swap`].
use rds_refresh_core::{lambda, tasks::recover_swap};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::run(recover_swap::handle).await
}
