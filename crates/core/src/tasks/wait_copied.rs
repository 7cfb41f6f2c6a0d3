//! wait-copied: says whether the snapshot to restore from is `available`.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TaskError;
use crate::model::CopyRef;
use crate::rds::{Rds, describe_snapshot};

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub copy: CopyRef,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    /// Always `available`: any other status is `NotReady` or an error.
    pub status: String,
}

/// Snapshot statuses on the way to `available`.
const IN_PROGRESS: &[&str] = &["pending", "creating", "copying"];

pub async fn handle(rds: Rds, input: Input) -> Result<Output, TaskError> {
    let copy = &input.copy;
    let client = rds.client(&copy.region);
    let snapshot = describe_snapshot(&client, &copy.identifier).await?.ok_or_else(|| {
        TaskError::CopyFailed(format!("snapshot {} in {} no longer exists", copy.identifier, copy.region))
    })?;
    match snapshot.status().unwrap_or("unknown") {
        "available" => Ok(Output { status: "available".into() }),
        status if IN_PROGRESS.contains(&status) => {
            let progress = snapshot.percent_progress().map(|p| format!(", {p}% done")).unwrap_or_default();
            Err(TaskError::NotReady(format!("snapshot {} is {status}{progress}", copy.identifier)))
        }
        status => Err(TaskError::CopyFailed(format!("snapshot {} in {} is {status}", copy.identifier, copy.region))),
    }
}
