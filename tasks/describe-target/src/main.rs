//! The describe-target Lambda function: see [`rds_refresh_core::tasks::describe_target`].
use rds_refresh_core::{lambda, tasks::describe_target};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::run(describe_target::handle).await
}
