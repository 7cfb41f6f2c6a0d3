//! The configure-target Lambda function: see [`rds_refresh_core::tasks::configure_target`].
use rds_refresh_core::{lambda, tasks::configure_target};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::run(configure_target::handle).await
}
