//! The plan-refresh Lambda function: see [`rds_refresh_core::tasks::plan_refresh`].
use rds_refresh_core::{lambda, tasks::plan_refresh};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::run(plan_refresh::handle).await
}
