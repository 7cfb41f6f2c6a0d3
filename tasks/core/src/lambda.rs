//! Wiring of a task handler to the Lambda runtime.
use std::future::Future;

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use aws_config::{BehaviorVersion, SdkConfig};

use crate::TaskError;
use crate::rds::Rds;
use crate::state::{RdsAndState, StateTable};

/// The AWS clients a handler is given, built once per process from the environment.
pub trait Clients: Clone + Sized {
    /// Builds the clients; an error (a missing setting) fails the function's init.
    fn from_config(config: &SdkConfig) -> Result<Self, String>;
}

impl Clients for Rds {
    fn from_config(config: &SdkConfig) -> Result<Self, String> {
        Ok(Rds::new(config.clone()))
    }
}

/// The clients of a task that calls no AWS API.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoClients;

impl Clients for NoClients {
    fn from_config(_: &SdkConfig) -> Result<Self, String> {
        Ok(Self)
    }
}

impl Clients for StateTable {
    fn from_config(config: &SdkConfig) -> Result<Self, String> {
        StateTable::from_env(config)
    }
}

impl Clients for RdsAndState {
    fn from_config(config: &SdkConfig) -> Result<Self, String> {
        Ok(RdsAndState { rds: Rds::new(config.clone()), state: StateTable::from_env(config)? })
    }
}

/// Runs `handler` as a Lambda function until the runtime stops it.
///
/// The clients are built once here, outside the handler. Logs go through `tracing`, as
/// JSON when the function's log format is JSON (`AWS_LAMBDA_LOG_FORMAT`).
pub async fn run<C, I, O, F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    C: Clients,
    I: DeserializeOwned,
    O: Serialize,
    F: Fn(C, I) -> Fut,
    Fut: Future<Output = Result<O, TaskError>>,
{
    lambda_runtime::tracing::init_default_subscriber();
    let config = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let clients = C::from_config(&config)?;
    let handler = &handler;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let clients = clients.clone();
        async move {
            let input = parse_input(event.payload).map_err(Diagnostic::from)?;
            let result = handler(clients, input).await;
            if let Err(error) = &result {
                tracing::warn!(error_type = error.name(), message = %error, "task failed");
            }
            result.map_err(Diagnostic::from)
        }
    }))
    .await
}

/// Reads a task's input, naming the field and the rule when it does not fit the type.
pub fn parse_input<I: DeserializeOwned>(payload: Value) -> Result<I, TaskError> {
    serde_path_to_error::deserialize(payload).map_err(|error| {
        let path = error.path().to_string();
        let field = if path == "." { "input".to_owned() } else { path };
        TaskError::invalid_input(field, error.into_inner().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RefreshRequest;
    use serde_json::json;

    #[test]
    fn a_missing_field_is_named_with_its_path() {
        let error =
            parse_input::<RefreshRequest>(json!({"source": {"region": "us-east-1"}, "target": {}})).unwrap_err();
        assert_eq!(error, TaskError::invalid_input("source", "missing field `dbInstanceIdentifier`"));
    }

    #[test]
    fn an_unknown_field_is_refused() {
        let input = json!({
            "source": {"region": "us-east-1", "dbInstanceIdentifier": "x"},
            "target": {"region": "us-west-2", "dbInstanceIdentifier": "y", "dbInstanceIdentifer": "typo"}
        });
        let error = parse_input::<RefreshRequest>(input).unwrap_err();
        let TaskError::InvalidInput { field, rule } = error else { panic!("not InvalidInput") };
        assert_eq!(field, "target.dbInstanceIdentifer");
        assert!(rule.starts_with("unknown field `dbInstanceIdentifer`"), "{rule}");
    }
}
