//! wait-available: says whether the restored target is `available`, and where it listens;
//! given a configuration, also whether every setting of it has taken effect.
use std::time::SystemTime;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use aws_sdk_rds::primitives::{DateTime, DateTimeFormat};

use crate::TaskError;
use crate::instance_status::{StatusClass, classify};
use crate::model::{Downtime, Endpoint, InstanceRef, TargetConfiguration};
use crate::rds::{Rds, configuration_of, endpoint_of, find_instance, format_time};
use crate::tags;

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub target: InstanceRef,
    /// When given, the target is ready only once it has no pending modifications and its
    /// settings and user tags are this configuration's.
    #[serde(default)]
    pub configuration: Option<TargetConfiguration>,
    /// The instance is being renamed to this name: until it appears, it is `NotReady`, not
    /// a failed restore.
    #[serde(default)]
    pub appearing: bool,
    /// When the name stopped serving (RFC 3339): the output then says how long it was down.
    #[serde(default)]
    pub downtime_started_at: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    pub endpoint: Endpoint,
    /// From `downtimeStartedAt` to now, when it was given.
    pub downtime: Option<Downtime>,
}

pub async fn handle(rds: Rds, input: Input) -> Result<Output, TaskError> {
    let target = &input.target;
    let client = rds.client(&target.region);
    let instance = match find_instance(&client, &target.db_instance_identifier).await? {
        Some(instance) => instance,
        None if input.appearing => {
            return Err(TaskError::NotReady(format!("{} does not exist yet (renaming)", target.display_name())));
        }
        None => return Err(TaskError::RestoreFailed(format!("{} does not exist", target.display_name()))),
    };
    let status = instance.db_instance_status().unwrap_or("unknown");
    let endpoint = match (classify(status), endpoint_of(&instance)) {
        (StatusClass::Failed, _) => {
            return Err(TaskError::RestoreFailed(format!("{} is {status}", target.display_name())));
        }
        // `storage-optimization` serves (and may last hours): not waited out.
        (StatusClass::Usable, Some(endpoint)) => endpoint,
        (_, _) => return Err(TaskError::NotReady(format!("{} is {status}", target.display_name()))),
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
    let downtime = input.downtime_started_at.as_deref().map(downtime_until_now).transpose()?;
    Ok(Output { endpoint, downtime })
}

/// Whether RDS reports any modification still to be applied. Empty lists count as nothing
/// pending: RDS may send them.
fn has_pending_changes(pending: &aws_sdk_rds::types::PendingModifiedValues) -> bool {
    let mut pending = pending.clone();
    if pending.processor_features.as_ref().is_some_and(Vec::is_empty) {
        pending.processor_features = None;
    }
    if pending
        .pending_cloudwatch_logs_exports
        .as_ref()
        .is_some_and(|logs| logs.log_types_to_enable().is_empty() && logs.log_types_to_disable().is_empty())
    {
        pending.pending_cloudwatch_logs_exports = None;
    }
    pending != aws_sdk_rds::types::PendingModifiedValues::builder().build()
}

/// The downtime from `started_at` (RFC 3339) until now.
fn downtime_until_now(started_at: &str) -> Result<Downtime, TaskError> {
    let start = DateTime::from_str(started_at, DateTimeFormat::DateTime)
        .map_err(|e| TaskError::invalid_input("downtimeStartedAt", format!("must be an RFC 3339 time: {e}")))?;
    let end = DateTime::from(SystemTime::now());
    let millis = end.to_millis().unwrap_or(0) - start.to_millis().unwrap_or(0);
    Ok(Downtime { started_at: format_time(&start), ended_at: format_time(&end), seconds: millis as f64 / 1000.0 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_rds::types::{PendingCloudwatchLogsExports, PendingModifiedValues};

    #[test]
    fn empty_lists_are_nothing_pending() {
        let empty = PendingModifiedValues::builder()
            .set_processor_features(Some(vec![]))
            .pending_cloudwatch_logs_exports(PendingCloudwatchLogsExports::builder().build())
            .build();
        assert!(!has_pending_changes(&empty));
        assert!(has_pending_changes(&PendingModifiedValues::builder().multi_az(true).build()));
    }
}
