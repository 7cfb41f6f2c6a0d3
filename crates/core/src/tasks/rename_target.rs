//! rename-target: one of swap mode's renames: the old target to its retired name, or the
//! new instance to the target's name. Never onto a name that exists: RDS refuses that, and
//! a stand-in that allowed it would overwrite an instance (see
//! [`crate::decisions::renaming`]).
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TaskError;
use crate::model::InstanceRef;
use crate::rds::{Rds, now, rename};

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub source: InstanceRef,
    /// The region, and the current name of the instance to rename.
    pub from: InstanceRef,
    /// Its new name, in the same region.
    pub to: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    /// `renamed`, or `already-renamed` when an earlier attempt did it.
    pub outcome: String,
    /// When the rename was asked for (RFC 3339): the start of the downtime of `from`'s name.
    pub started_at: String,
}

pub async fn handle(rds: Rds, input: Input) -> Result<Output, TaskError> {
    let Input { source, from, to } = input;
    let client = rds.client(&from.region);
    let started_at = now();
    let renaming = rename(&client, &source, &from, &to).await?;
    Ok(Output { outcome: renaming.as_str().into(), started_at })
}
