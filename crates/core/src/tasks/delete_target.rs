//! delete-target: deletes the target instance, by its exact identifier, and nothing else;
//! only if it still names the source in its opt-in tag, and not if it is already the
//! restore this run is making (a re-run after a failure past the restore).
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use aws_sdk_rds::Client;
use aws_sdk_rds::types::DbInstance;

use crate::TaskError;
use crate::error::{error_code, from_sdk};
use crate::model::{CopyRef, InstanceRef};
use crate::rds::{Rds, find_instance, now, turn_off_deletion_protection};
use crate::tags::{self, tag};
use crate::tasks::copy_snapshot::describe_snapshot;
use crate::tasks::describe_target::check_opted_in;

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub source: InstanceRef,
    pub target: InstanceRef,
    /// The snapshot the new target is restored from: a target already restored from it
    /// is not deleted.
    pub copy: CopyRef,
    /// Whether deletion protection may be turned off first (`target.allowDisableDeletionProtection`).
    #[serde(default)]
    pub allow_disable_deletion_protection: bool,
    /// Whether to take a final snapshot (`target.finalSnapshot`).
    #[serde(default)]
    pub final_snapshot: bool,
    /// The execution (`$$.Execution.Id`): the final snapshot's name is derived from it.
    pub execution: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    pub outcome: DeleteOutcome,
    /// The final snapshot taken, if one was asked for.
    pub final_snapshot: Option<String>,
    /// When this call started the deletion (RFC 3339): the start of the downtime.
    pub started_at: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DeleteOutcome {
    /// This call started the deletion.
    Deleted,
    /// An earlier call had already started it.
    AlreadyDeleting,
    /// There was no target to delete.
    Absent,
    /// The target is the restore from this run's copy, made by an earlier attempt that did
    /// not finish: it is kept, and the refresh goes on from there.
    AlreadyRestored,
}

pub async fn handle(rds: Rds, input: Input) -> Result<Output, TaskError> {
    let target = &input.target;
    target.validate("target")?;
    let client = rds.client(&target.region);
    let id = &target.db_instance_identifier;
    let final_snapshot = input.final_snapshot.then(|| final_snapshot_identifier(target, &input.execution));
    let started_at = now();
    let outcome = match find_instance(&client, id).await? {
        None => DeleteOutcome::Absent,
        Some(instance) if instance.db_instance_status() == Some("deleting") => DeleteOutcome::AlreadyDeleting,
        Some(instance) if tags::restoring_from(instance.tag_list()).as_ref() == Some(&input.copy.identifier) => {
            DeleteOutcome::AlreadyRestored
        }
        Some(instance) => {
            // Checked again here, at the destructive step, not only when the run started.
            check_opted_in(target, &input.source, &instance)?;
            // The half-made restore of an earlier run is not worth a final snapshot.
            let final_snapshot =
                final_snapshot.as_deref().filter(|_| tags::restoring_from(instance.tag_list()).is_none());
            delete(&client, target, &instance, input.allow_disable_deletion_protection, final_snapshot).await?
        }
    };
    if let Some(snapshot) = &final_snapshot {
        tag_final_snapshot(&client, snapshot, target).await?;
    }
    tracing::info!(target = %target.display_name(), ?outcome, ?final_snapshot, "delete");
    let started_at = (outcome == DeleteOutcome::Deleted).then_some(started_at);
    Ok(Output { outcome, final_snapshot, started_at })
}

async fn delete(
    client: &Client,
    target: &InstanceRef,
    instance: &DbInstance,
    allow_disable_deletion_protection: bool,
    final_snapshot: Option<&str>,
) -> Result<DeleteOutcome, TaskError> {
    let id = &target.db_instance_identifier;
    if instance.deletion_protection() == Some(true) {
        if !allow_disable_deletion_protection {
            return Err(TaskError::DeletionProtected(format!(
                "{} has deletion protection on, and target.allowDisableDeletionProtection is not set",
                target.display_name()
            )));
        }
        // A modify that causes no outage; the new target gets protection back from its
        // configuration.
        turn_off_deletion_protection(client, id).await?;
        tracing::info!(target = %target.display_name(), "turned deletion protection off");
    }
    let deletion = client
        .delete_db_instance()
        .db_instance_identifier(id)
        .skip_final_snapshot(final_snapshot.is_none())
        .set_final_db_snapshot_identifier(final_snapshot.map(str::to_owned))
        .send()
        .await;
    match deletion {
        Ok(_) => Ok(DeleteOutcome::Deleted),
        Err(error) if error_code(&error) == Some("DBInstanceNotFound") => Ok(DeleteOutcome::Absent),
        // Turning protection off has not taken effect yet: the state machine calls again.
        Err(error)
            if error_code(&error) == Some("InvalidParameterCombination") && allow_disable_deletion_protection =>
        {
            Err(TaskError::NotReady(format!(
                "{}: deletion protection is still on: {}",
                target.display_name(),
                error.into_service_error()
            )))
        }
        Err(error) => Err(from_sdk(&format!("DeleteDBInstance {}", target.display_name()), error)),
    }
}

/// `rds-refresh-final-<target>-<8 hex of the execution>`: one per execution, so a retried
/// call names the same snapshot.
pub fn final_snapshot_identifier(target: &InstanceRef, execution: &str) -> String {
    let digest = Sha256::digest(execution.as_bytes());
    let hash: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("rds-refresh-final-{}-{hash}", target.db_instance_identifier.to_ascii_lowercase())
}

/// Marks the final snapshot as rds-refresh's (and never a copy to prune). RDS creates it as
/// the deletion starts; until it is there, there is nothing to tag, and wait-deleted tags it.
pub async fn tag_final_snapshot(client: &Client, id: &str, target: &InstanceRef) -> Result<(), TaskError> {
    let Some(snapshot) = describe_snapshot(client, id).await? else { return Ok(()) };
    let arn = snapshot.db_snapshot_arn().unwrap_or_default();
    client
        .add_tags_to_resource()
        .resource_name(arn)
        .tags(tag(tags::MANAGED_BY, "rds-refresh"))
        .tags(tag(tags::KIND, tags::KIND_FINAL_SNAPSHOT))
        .tags(tag(tags::TARGET, &target.display_name()))
        .send()
        .await
        .map_err(|e| from_sdk(&format!("AddTagsToResource {arn}"), e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_final_snapshot_is_named_per_execution() {
        let y = InstanceRef { region: "us-west-2".into(), db_instance_identifier: "Staging-DB".into() };
        let first = final_snapshot_identifier(&y, "arn:aws:states:us-west-2:1:execution:m:a");
        assert!(first.starts_with("rds-refresh-final-staging-db-"), "{first}");
        assert_eq!(first, final_snapshot_identifier(&y, "arn:aws:states:us-west-2:1:execution:m:a"));
        assert_ne!(first, final_snapshot_identifier(&y, "arn:aws:states:us-west-2:1:execution:m:b"));
        assert_eq!(crate::identifiers::check_snapshot_identifier(&first), Ok(()));
    }
}
