//! wait-available: says whether the restored target is `available`, and where it listens.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TaskError;
use crate::model::{Endpoint, InstanceRef};
use crate::rds::{Rds, find_instance};

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub target: InstanceRef,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    pub endpoint: Endpoint,
}

/// Statuses from which an instance will not become `available` by waiting.
const FAILED: &[&str] = &[
    "failed",
    "deleting",
    "stopped",
    "stopping",
    "storage-full",
    "incompatible-restore",
    "incompatible-parameters",
    "incompatible-network",
    "incompatible-option-group",
    "inaccessible-encryption-credentials",
    "inaccessible-encryption-credentials-recoverable",
    "restore-error",
];

pub async fn handle(rds: Rds, input: Input) -> Result<Output, TaskError> {
    let target = &input.target;
    let client = rds.client(&target.region);
    let instance = find_instance(&client, &target.db_instance_identifier)
        .await?
        .ok_or_else(|| TaskError::RestoreFailed(format!("{} does not exist", target.display_name())))?;
    let status = instance.db_instance_status().unwrap_or("unknown");
    if FAILED.contains(&status) {
        return Err(TaskError::RestoreFailed(format!("{} is {status}", target.display_name())));
    }
    let endpoint =
        instance.endpoint().and_then(|e| Some(Endpoint { address: e.address()?.to_owned(), port: e.port()? }));
    match (status, endpoint) {
        ("available", Some(endpoint)) => Ok(Output { endpoint }),
        (status, _) => Err(TaskError::NotReady(format!("{} is {status}", target.display_name()))),
    }
}
