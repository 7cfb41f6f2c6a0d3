//! The tag-target Lambda function: see [`rds_refresh_core::tasks::tag_target`].
use rds_refresh_core::{lambda, tasks::tag_target};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::run(tag_target::handle).await
}
