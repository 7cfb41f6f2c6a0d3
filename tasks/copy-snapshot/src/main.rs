//! The copy-snapshot Lambda function: see [`rds_refresh_core::tasks::copy_snapshot`].
use rds_refresh_core::{lambda, tasks::copy_snapshot};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::run(copy_snapshot::handle).await
}
