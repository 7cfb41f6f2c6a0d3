//! delete-target: deletes the target instance, by its exact identifier, and nothing else.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TaskError;
use crate::error::{error_code, from_sdk};
use crate::model::InstanceRef;
use crate::rds::{Rds, find_instance};

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub target: InstanceRef,
    /// Whether deletion protection may be turned off first (`target.allowDisableDeletionProtection`).
    #[serde(default)]
    pub allow_disable_deletion_protection: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    pub outcome: DeleteOutcome,
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
}

pub async fn handle(rds: Rds, input: Input) -> Result<Output, TaskError> {
    let target = &input.target;
    target.validate("target")?;
    let client = rds.client(&target.region);
    let id = &target.db_instance_identifier;
    let outcome = match find_instance(&client, id).await? {
        None => DeleteOutcome::Absent,
        Some(instance) if instance.db_instance_status() == Some("deleting") => DeleteOutcome::AlreadyDeleting,
        Some(instance) => {
            if instance.deletion_protection() == Some(true) {
                if !input.allow_disable_deletion_protection {
                    return Err(TaskError::DeletionProtected(format!(
                        "{} has deletion protection on, and target.allowDisableDeletionProtection is not set",
                        target.display_name()
                    )));
                }
                // A modify that causes no outage; the new target gets protection back from
                // its configuration.
                client
                    .modify_db_instance()
                    .db_instance_identifier(id)
                    .deletion_protection(false)
                    .apply_immediately(true)
                    .send()
                    .await
                    .map_err(|e| {
                        from_sdk(&format!("ModifyDBInstance {} (deletion protection off)", target.display_name()), e)
                    })?;
                tracing::info!(target = %target.display_name(), "turned deletion protection off");
            }
            let deletion =
                client.delete_db_instance().db_instance_identifier(id).skip_final_snapshot(true).send().await;
            match deletion {
                Ok(_) => DeleteOutcome::Deleted,
                Err(error) if error_code(&error) == Some("DBInstanceNotFound") => DeleteOutcome::Absent,
                // Turning protection off has not taken effect yet: the state machine calls again.
                Err(error)
                    if error_code(&error) == Some("InvalidParameterCombination")
                        && input.allow_disable_deletion_protection =>
                {
                    return Err(TaskError::NotReady(format!(
                        "{}: deletion protection is still on: {}",
                        target.display_name(),
                        error.into_service_error()
                    )));
                }
                Err(error) => return Err(from_sdk(&format!("DeleteDBInstance {}", target.display_name()), error)),
            }
        }
    };
    tracing::info!(target = %target.display_name(), ?outcome, "delete");
    Ok(Output { outcome })
}
