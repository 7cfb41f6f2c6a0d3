//! wait-deleted: says whether the target instance is gone.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TaskError;
use crate::model::InstanceRef;
use crate::rds::{Rds, find_instance};
use crate::tasks::delete_target::tag_final_snapshot;

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub target: InstanceRef,
    /// The final snapshot delete-target asked for: tagged as rds-refresh's once it exists.
    #[serde(default)]
    pub final_snapshot: Option<String>,
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
    // Only DBInstanceNotFound means gone (find_instance); any other error is reported.
    match find_instance(&client, &target.db_instance_identifier).await? {
        None => {
            if let Some(snapshot) = &input.final_snapshot {
                tag_final_snapshot(&client, snapshot, target).await?;
            }
            Ok(Output { deleted: true })
        }
        Some(instance) => match instance.db_instance_status().unwrap_or("unknown") {
            "deleting" => Err(TaskError::NotReady(format!("{} is deleting", target.display_name()))),
            status => Err(TaskError::TargetExists(format!(
                "{} is {status}, not deleting: something else re-created or kept it",
                target.display_name()
            ))),
        },
    }
}
