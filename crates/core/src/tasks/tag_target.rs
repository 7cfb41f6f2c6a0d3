//! tag-target: the last step of a refresh: tags the new target with where it came from,
//! and removes the mark that said its refresh had not finished.
use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TaskError;
use crate::error::from_sdk;
use crate::model::{CopyRef, InstanceRef, SnapshotRef};
use crate::rds::{Rds, find_instance, now};
use crate::tags::{self, tag};

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub source: InstanceRef,
    pub target: InstanceRef,
    pub snapshot: SnapshotRef,
    pub copy: CopyRef,
    /// The Step Functions execution doing the refresh (`$$.Execution.Id`).
    pub execution: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    /// The tags set on the target.
    pub tags: BTreeMap<String, String>,
}

pub async fn handle(rds: Rds, input: Input) -> Result<Output, TaskError> {
    let target = &input.target;
    let client = rds.client(&target.region);
    let instance = find_instance(&client, &target.db_instance_identifier)
        .await?
        .ok_or_else(|| TaskError::RestoreFailed(format!("{} does not exist", target.display_name())))?;
    let arn = instance.db_instance_arn().unwrap_or_default();
    let tags = provenance_tags(&input, &now());
    client
        .add_tags_to_resource()
        .resource_name(arn)
        .set_tags(Some(tags.iter().map(|(k, v)| tag(k, v)).collect()))
        .send()
        .await
        .map_err(|e| from_sdk(&format!("AddTagsToResource {arn}"), e))?;
    if tags::restoring_from(instance.tag_list()).is_some() {
        client
            .remove_tags_from_resource()
            .resource_name(arn)
            .tag_keys(tags::RESTORING)
            .tag_keys(tags::RESTORED_BY)
            .send()
            .await
            .map_err(|e| from_sdk(&format!("RemoveTagsFromResource {arn}"), e))?;
    }
    Ok(Output { tags })
}

/// The provenance tags of a target refreshed by `input` at `now`.
pub fn provenance_tags(input: &Input, now: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (tags::SOURCE.to_owned(), input.source.display_name()),
        (tags::SNAPSHOT.to_owned(), tags::snapshot_id_value(&input.snapshot.identifier)),
        (tags::SNAPSHOT_CREATED_AT.to_owned(), input.snapshot.created_at.clone()),
        (tags::REFRESHED_AT.to_owned(), now.to_owned()),
        (tags::EXECUTION.to_owned(), tags::value(&input.execution)),
    ])
}
