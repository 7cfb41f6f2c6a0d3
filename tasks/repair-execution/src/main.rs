//! The repair-execution Lambda function: see [`rds_refresh_core::tasks::repair_execution`].
use rds_refresh_core::{lambda, tasks::repair_execution};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::run(repair_execution::handle).await
}
