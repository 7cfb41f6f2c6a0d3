//! delete-target: deletes the target instance, by its exact identifier, and nothing else;
//! only if it still names the source in its opt-in tag, and not if it is already the
//! restore this run is making (a re-run after a failure past the restore). What it does is
//! [`crate::decisions::deletion::decide`]'s.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use aws_sdk_rds::Client;

use crate::TaskError;
use crate::decisions::deletion::{self, Deletion};
use crate::error::{error_code, from_sdk};
use crate::identifiers::final_snapshot_identifier;
use crate::model::{CopyRef, InstanceRef};
use crate::rds::{Rds, find_instance, now, tag_final_snapshot, turn_off_deletion_protection};

pub use crate::decisions::deletion::DeleteOutcome;

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
    /// Whether SQL steps run on the new target (the SQL plan's `run`): a target already
    /// restored from the copy is then deleted and restored again, since its scripts may have
    /// half run.
    #[serde(default)]
    pub sql_runs: bool,
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

pub async fn handle(rds: Rds, input: Input) -> Result<Output, TaskError> {
    let target = &input.target;
    target.validate("target")?;
    let client = rds.client(&target.region);
    let id = &target.db_instance_identifier;
    let final_snapshot = input.final_snapshot.then(|| final_snapshot_identifier(id, &input.execution));
    let started_at = now();
    let instance = find_instance(&client, id).await?;
    let deletion = deletion::decide(
        target,
        &input.source,
        instance.as_ref(),
        &input.copy.identifier,
        input.allow_disable_deletion_protection,
        input.final_snapshot,
        !input.sql_runs,
    )?;
    let outcome = match deletion {
        Deletion::Keep(outcome) => outcome,
        Deletion::Delete { disable_protection, final_snapshot: take } => {
            if disable_protection {
                // A modify that causes no outage; the new target gets protection back from its
                // configuration.
                turn_off_deletion_protection(&client, id).await?;
                tracing::info!(target = %target.display_name(), "turned deletion protection off");
            }
            let take = final_snapshot.as_deref().filter(|_| take);
            delete(&client, target, input.allow_disable_deletion_protection, take).await?
        }
    };
    if let Some(snapshot) = &final_snapshot {
        tag_final_snapshot(&client, snapshot, target).await?;
    }
    tracing::info!(target = %target.display_name(), ?outcome, ?final_snapshot, "delete");
    let started_at = (outcome == DeleteOutcome::Deleted).then_some(started_at);
    Ok(Output { outcome, final_snapshot, started_at })
}

/// Starts deleting the target, with `final_snapshot` if given. An instance whose deletion
/// protection was just turned off may still refuse (`InvalidParameterCombination`) until the
/// change applies: `NotReady` then, when turning it off is allowed.
async fn delete(
    client: &Client,
    target: &InstanceRef,
    allow_disable_deletion_protection: bool,
    final_snapshot: Option<&str>,
) -> Result<DeleteOutcome, TaskError> {
    let id = &target.db_instance_identifier;
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
