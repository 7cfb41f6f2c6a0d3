//! wait-available: says whether the restored target is `available`, and where it listens;
//! given a configuration, also whether every setting of it has taken effect.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TaskError;
use crate::model::{Endpoint, InstanceRef, TargetConfiguration};
use crate::rds::{Rds, find_instance};
use crate::tags;
use crate::tasks::describe_target::configuration_of;

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub target: InstanceRef,
    /// When given, the target is ready only once it has no pending modifications and its
    /// settings and user tags are this configuration's.
    #[serde(default)]
    pub configuration: Option<TargetConfiguration>,
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
    let endpoint = match (status, endpoint) {
        ("available", Some(endpoint)) => endpoint,
        (status, _) => return Err(TaskError::NotReady(format!("{} is {status}", target.display_name()))),
    };
    if let Some(wanted) = &input.configuration {
        if instance.pending_modified_values().is_some_and(has_pending_changes) {
            return Err(TaskError::NotReady(format!("{} has modifications pending", target.display_name())));
        }
        let mut waiting_for: Vec<String> =
            wanted.differences(&configuration_of(&instance)).iter().map(ToString::to_string).collect();
        let (set, remove) = wanted.tag_changes(&tags::to_map(instance.tag_list()));
        waiting_for.extend(set.keys().map(|key| format!("tag {key}")));
        waiting_for.extend(remove.iter().map(|key| format!("tag {key} (to be removed)")));
        if !waiting_for.is_empty() {
            return Err(TaskError::NotReady(format!(
                "{} is available, but not yet configured: {}",
                target.display_name(),
                waiting_for.join("; ")
            )));
        }
    }
    Ok(Output { endpoint })
}

/// Whether RDS reports any modification still to be applied.
fn has_pending_changes(pending: &aws_sdk_rds::types::PendingModifiedValues) -> bool {
    // A PendingModifiedValues with no field set means nothing is pending.
    *pending != aws_sdk_rds::types::PendingModifiedValues::builder().build()
}
