//! The find-snapshot Lambda function: see [`rds_refresh_core::tasks::find_snapshot`].
use rds_refresh_core::{lambda, tasks::find_snapshot};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::run(find_snapshot::handle).await
}
