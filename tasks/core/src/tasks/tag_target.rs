//! tag-target: tags the new target with where it came from.
use std::collections::BTreeMap;
use std::time::SystemTime;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use aws_sdk_rds::primitives::DateTime;
use aws_sdk_rds::types::Tag;

use crate::TaskError;
use crate::error::from_sdk;
use crate::model::{CopyRef, InstanceRef, SnapshotRef};
use crate::rds::{Rds, find_instance, format_time};

/// The tags rds-refresh puts on a refreshed target.
pub mod keys {
    /// `<source region>/<source identifier>`.
    pub const SOURCE: &str = "rds-refresh:source";
    pub const SNAPSHOT: &str = "rds-refresh:snapshot";
    pub const SNAPSHOT_CREATED_AT: &str = "rds-refresh:snapshot-created-at";
    pub const REFRESHED_AT: &str = "rds-refresh:refreshed-at";
    pub const EXECUTION: &str = "rds-refresh:execution";
}

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
    let tags = provenance_tags(&input, &format_time(&DateTime::from(SystemTime::now())));
    client
        .add_tags_to_resource()
        .resource_name(arn)
        .set_tags(Some(tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()))
        .send()
        .await
        .map_err(|e| from_sdk(&format!("AddTagsToResource {arn}"), e))?;
    Ok(Output { tags })
}

/// The provenance tags of a target refreshed by `input` at `now`.
pub fn provenance_tags(input: &Input, now: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (keys::SOURCE.to_owned(), input.source.display_name()),
        (keys::SNAPSHOT.to_owned(), input.snapshot.identifier.clone()),
        (keys::SNAPSHOT_CREATED_AT.to_owned(), input.snapshot.created_at.clone()),
        (keys::REFRESHED_AT.to_owned(), now.to_owned()),
        (keys::EXECUTION.to_owned(), tag_value(&input.execution)),
    ])
}

/// RDS tag values: at most 256 characters from a limited set.
fn tag_value(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c) { c } else { '_' })
        .take(256)
        .collect()
}
