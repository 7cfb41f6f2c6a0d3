//! The prune-copies Lambda function: see [`rds_refresh_core::tasks::prune_copies`].
use rds_refresh_core::{lambda, tasks::prune_copies};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::run(prune_copies::handle).await
}
