//! recover-swap: on the failure path of swap mode, leaves a target that serves. A failure
//! before the old target was renamed removes the temporary instance; a failure after the
//! old target was renamed but before the new one took its name renames the old one back.
//! After the switch there is nothing to undo: the new target serves (once its rename is done).
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TaskError;
use crate::model::{InstanceRef, Mode};
use crate::rds::{Rds, delete_temporary, find_instance};
use crate::tasks::rename_target::rename;

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub source: InstanceRef,
    pub target: InstanceRef,
    pub mode: Mode,
    /// describe-target's output; `null` when the run failed before it (nothing to undo).
    pub target_state: Option<crate::tasks::describe_target::Output>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Recovery {
    /// Nothing to undo.
    None,
    /// The temporary instance is being deleted; the target was never touched.
    RemovedTemporary,
    /// The old target is being renamed back to the target's name: wait for it.
    RenamedBack,
    /// The switch had happened: the new target has the name (and may still be finishing
    /// its rename): wait for it. A re-run finishes the swap.
    Switched,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    pub recovery: Recovery,
}

pub async fn handle(rds: Rds, input: Input) -> Result<Output, TaskError> {
    let names = input.target_state.as_ref().and_then(|state| state.swap.as_ref());
    let (Mode::Swap, Some(names)) = (input.mode, names) else { return Ok(Output { recovery: Recovery::None }) };
    let client = rds.client(&input.target.region);
    let target = find_instance(&client, &input.target.db_instance_identifier).await?;
    let retired = find_instance(&client, &names.retired).await?;
    let temporary = find_instance(&client, &names.temporary).await?;
    let recovery = match (target, retired, temporary) {
        // Renamed away, the new one not yet in its place: put the old one back.
        (None, Some(_), _) => {
            rename(&client, &input.source, &input.target.named(&names.retired), &input.target.db_instance_identifier)
                .await?;
            Recovery::RenamedBack
        }
        // Not switched: the target serves; the temporary instance goes.
        (Some(_), None, Some(temporary)) if temporary.db_instance_status() != Some("deleting") => {
            delete_temporary(&client, &names.temporary).await?;
            Recovery::RemovedTemporary
        }
        (Some(_), Some(_), _) => Recovery::Switched,
        _ => Recovery::None,
    };
    tracing::info!(target = %input.target.display_name(), ?recovery, "recovered the swap");
    Ok(Output { recovery })
}
