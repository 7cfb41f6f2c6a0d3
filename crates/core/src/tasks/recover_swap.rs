//! recover-swap: on the failure path of swap mode, leaves a target that serves. A failure
//! before the old target was renamed removes the temporary instance; a failure after the
//! old target was renamed but before the new one took its name renames the old one back.
//! After the switch there is nothing to undo: the new target serves (once its rename is done).
//! Which of these it is: [`crate::decisions::recovery::decide`].
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TaskError;
use crate::decisions::recovery;
use crate::model::{InstanceRef, Mode};
use crate::rds::{Rds, delete_temporary, find_instance, rename};

pub use crate::decisions::recovery::Recovery;

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub source: InstanceRef,
    pub target: InstanceRef,
    pub mode: Mode,
    /// describe-target's output; `null` when the run failed before it (nothing to undo).
    pub target_state: Option<crate::tasks::describe_target::Output>,
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
    let status = |instance: Option<aws_sdk_rds::types::DbInstance>| {
        instance.map(|instance| instance.db_instance_status().unwrap_or("unknown").to_owned())
    };
    let target = status(find_instance(&client, &input.target.db_instance_identifier).await?);
    let retired = status(find_instance(&client, &names.retired).await?);
    let temporary = status(find_instance(&client, &names.temporary).await?);
    let recovery = recovery::decide(target.as_deref(), retired.as_deref(), temporary.as_deref());
    match recovery {
        Recovery::RenamedBack => {
            rename(&client, &input.source, &input.target.named(&names.retired), &input.target.db_instance_identifier)
                .await?;
        }
        Recovery::RemovedTemporary => {
            delete_temporary(&client, &names.temporary).await?;
        }
        Recovery::Switched | Recovery::None => {}
    }
    tracing::info!(target = %input.target.display_name(), ?recovery, "recovered the swap");
    Ok(Output { recovery })
}
