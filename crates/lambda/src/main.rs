//! The one Lambda binary of rds-refresh: see [`rds_refresh_core::handlers`].
//!
//! Lambda sets `_HANDLER` to the function's `Handler` setting; an unknown or missing one fails
//! the function's init, before any invocation, with a message that lists the known names.
use rds_refresh_core::handlers::Handler;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let name = std::env::var("_HANDLER").unwrap_or_default();
    let handler = Handler::named(&name).inspect_err(|error| tracing::error!(%error, "init failed"))?;
    handler.run().await
}
