//! wait-deleted: says whether the target instance is gone.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use aws_sdk_rds::primitives::{DateTime, DateTimeFormat};

use crate::TaskError;
use crate::model::InstanceRef;
use crate::rds::{Rds, find_instance, format_time, tag_final_snapshot};

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub target: InstanceRef,
    /// The final snapshot delete-target asked for: tagged as rds-refresh's once it exists.
    #[serde(default)]
    pub final_snapshot: Option<String>,
    /// When delete-target started the deletion (RFC 3339); `null` when an earlier attempt
    /// did. An instance of the name created after it is another instance, not this one.
    #[serde(default)]
    pub deletion_started_at: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    /// Always `true`: an instance that still exists is `NotReady` or an error.
    pub deleted: bool,
}

pub async fn handle(rds: Rds, input: Input) -> Result<Output, TaskError> {
    let target = &input.target;
    let client = rds.client(&target.region);
    let started_at = input
        .deletion_started_at
        .as_deref()
        .map(|text| {
            DateTime::from_str(text, DateTimeFormat::DateTime)
                .map_err(|e| TaskError::invalid_input("deletionStartedAt", format!("must be an RFC 3339 time: {e}")))
        })
        .transpose()?;
    // Only DBInstanceNotFound means gone (find_instance); any other error is reported.
    match find_instance(&client, &target.db_instance_identifier).await? {
        None => {
            if let Some(snapshot) = &input.final_snapshot {
                tag_final_snapshot(&client, snapshot, target).await?;
            }
            Ok(Output { deleted: true })
        }
        Some(instance) => {
            let status = instance.db_instance_status().unwrap_or("unknown");
            match recreated_since(instance.instance_create_time(), started_at.as_ref()) {
                Some(created) => Err(TaskError::TargetExists(format!(
                    "{} is {status}: an instance of that name was created at {}, after the deletion started",
                    target.display_name(),
                    format_time(created)
                ))),
                // `deleting`, and what RDS may show first: `delete-precheck`, or a describe
                // that has not caught up with the deletion yet (still `available`).
                None => Err(TaskError::NotReady(format!("{} is {status}, not gone yet", target.display_name()))),
            }
        }
    }
}

/// The creation time of an instance found under the deleted name, when it was created after
/// the deletion started: a new instance, not the one being deleted.
fn recreated_since<'a>(created: Option<&'a DateTime>, deletion_started: Option<&DateTime>) -> Option<&'a DateTime> {
    match (created, deletion_started) {
        (Some(created), Some(started)) if created > started => Some(created),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_instance_created_after_the_deletion_is_another_instance() {
        let started = DateTime::from_secs(1_000);
        let before = DateTime::from_secs(500);
        let after = DateTime::from_secs(1_500);
        assert_eq!(recreated_since(Some(&before), Some(&started)), None);
        assert_eq!(recreated_since(Some(&after), Some(&started)), Some(&after));
        // Without a start (an earlier attempt deleted it) or a creation time: wait.
        assert_eq!(recreated_since(Some(&after), None), None);
        assert_eq!(recreated_since(None, Some(&started)), None);
    }
}
