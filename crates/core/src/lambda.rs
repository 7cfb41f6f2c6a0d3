//! Wiring of a task handler to the Lambda runtime.
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use aws_config::{BehaviorVersion, SdkConfig};

use crate::TaskError;
use crate::executions::Executions;
use crate::rds::Rds;
use crate::scripts::Scripts;
use crate::secrets::Secrets;
use crate::state::{RdsAndState, StateTable};
use rds_refresh_database::Tls;

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

/// Clients `C` and Step Functions, for the tasks that ask whether an execution still runs.
#[derive(Clone, Debug)]
pub struct WithExecutions<C> {
    pub clients: C,
    pub executions: Executions,
}

impl<C: Clients> Clients for WithExecutions<C> {
    fn from_config(config: &SdkConfig) -> Result<Self, String> {
        Ok(Self { clients: C::from_config(config)?, executions: Executions::new(config.clone()) })
    }
}

/// Runs `handler` as a Lambda function until the runtime stops it.
///
/// The clients are built once here, outside the handler. Logs go through `tracing`, as
/// JSON when the function's log format is JSON (`AWS_LAMBDA_LOG_FORMAT`).
pub async fn run<C, I, O, F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    C: Clients + Send + Sync + 'static,
    I: DeserializeOwned + Send + 'static,
    O: Serialize + 'static,
    F: Fn(C, I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, TaskError>> + Send + 'static,
{
    let config = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let clients = C::from_config(&config)?;
    let handler = Arc::new(handler);
    // Only this small closure is generic over the task; the runtime loop it is handed to
    // (`run_json`) is compiled once for the seventeen tasks of the binary, not once per task
    // (0.4 MB of a release binary: fewer pages to map at a cold start).
    run_json(Arc::new(move |payload: Value| -> JsonFuture {
        let (clients, handler) = (clients.clone(), handler.clone());
        Box::pin(async move {
            let output = handler(clients, parse_input(payload)?).await?;
            Ok(serde_json::to_value(output).expect("a task output serialises"))
        })
    }))
    .await
}

type JsonFuture = Pin<Box<dyn Future<Output = Result<Value, TaskError>> + Send>>;
type JsonHandler = Arc<dyn Fn(Value) -> JsonFuture + Send + Sync>;

async fn run_json(handler: JsonHandler) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let handler = handler.clone();
        async move {
            let result = handler(event.payload).await;
            if let Err(error) = &result {
                tracing::warn!(error_type = error.name(), message = %error, "task failed");
            }
            result.map_err(|error| crate::error::diagnostic(&error))
        }
    }))
    .await
}

pub use rds_refresh_model::parse_input;

impl Clients for Secrets {
    fn from_config(config: &SdkConfig) -> Result<Self, String> {
        Ok(Secrets::new(config.clone()))
    }
}

/// Clients `C` and Secrets Manager, for the tasks that read y's secrets.
#[derive(Clone, Debug)]
pub struct WithSecrets<C> {
    pub clients: C,
    pub secrets: Secrets,
}

impl<C: Clients> Clients for WithSecrets<C> {
    fn from_config(config: &SdkConfig) -> Result<Self, String> {
        Ok(Self { clients: C::from_config(config)?, secrets: Secrets::new(config.clone()) })
    }
}

/// What the tasks inside the database use: Secrets Manager for the passwords, and TLS
/// trusting the CA bundle that `RDS_REFRESH_CA_BUNDLE` names (a missing or unreadable bundle
/// fails the function's init: nothing connects unverified).
#[derive(Clone)]
pub struct Database {
    pub secrets: Secrets,
    pub tls: Tls,
}

impl Clients for Database {
    fn from_config(config: &SdkConfig) -> Result<Self, String> {
        let tls = Tls::from_env().map_err(|error| error.to_string())?;
        Ok(Self { secrets: Secrets::new(config.clone()), tls })
    }
}

impl Clients for Scripts {
    fn from_config(config: &SdkConfig) -> Result<Self, String> {
        Ok(Scripts::new(config.clone()))
    }
}

/// Clients `C` and S3, for the tasks that read the SQL scripts (the dry run).
#[derive(Clone, Debug)]
pub struct WithScripts<C> {
    pub clients: C,
    pub scripts: Scripts,
}

impl<C: Clients> Clients for WithScripts<C> {
    fn from_config(config: &SdkConfig) -> Result<Self, String> {
        Ok(Self { clients: C::from_config(config)?, scripts: Scripts::new(config.clone()) })
    }
}

/// What run-script uses: the database's clients, and S3 for the scripts.
#[derive(Clone)]
pub struct Scrub {
    pub database: Database,
    pub scripts: Scripts,
}

impl Clients for Scrub {
    fn from_config(config: &SdkConfig) -> Result<Self, String> {
        Ok(Self { database: Database::from_config(config)?, scripts: Scripts::new(config.clone()) })
    }
}
