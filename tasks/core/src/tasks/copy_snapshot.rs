//! copy-snapshot: copies the chosen snapshot into the target region, or reuses the copy
//! an earlier run made of it.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use aws_sdk_rds::Client;
use aws_sdk_rds::types::{DbSnapshot, Tag};

use crate::TaskError;
use crate::error::{error_code, from_sdk};
use crate::identifiers::copy_identifier;
use crate::model::{CopyOrigin, CopyRef, InstanceRef, SnapshotRef};
use crate::rds::Rds;

/// Tag on every copy rds-refresh makes, so its own copies can be told from all others.
pub const MANAGED_BY_TAG: &str = "rds-refresh:managed-by";
/// Tag naming the source snapshot (ARN) of a copy.
pub const SOURCE_SNAPSHOT_TAG: &str = "rds-refresh:source-snapshot";

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub snapshot: SnapshotRef,
    pub target: InstanceRef,
}

pub type Output = CopyRef;

pub async fn handle(rds: Rds, input: Input) -> Result<Output, TaskError> {
    let Input { snapshot, target } = input;
    if snapshot.region == target.region {
        return Ok(CopyRef {
            identifier: snapshot.identifier,
            arn: snapshot.arn,
            region: target.region,
            origin: CopyOrigin::SameRegion,
        });
    }
    let client = rds.client(&target.region);
    let id = copy_identifier(&snapshot.identifier, &snapshot.arn);
    if let Some(existing) = describe_snapshot(&client, &id).await? {
        tracing::info!(copy = %id, status = existing.status().unwrap_or("?"), "reusing the copy of an earlier run");
        return Ok(copy_ref(&existing, &id, &target.region, CopyOrigin::Reused));
    }
    let copy = client
        .copy_db_snapshot()
        // CopyDBSnapshot runs in the destination region and names a source in another
        // region by its ARN.
        .source_db_snapshot_identifier(&snapshot.arn)
        .target_db_snapshot_identifier(&id)
        .tags(tag(MANAGED_BY_TAG, "rds-refresh"))
        .tags(tag(SOURCE_SNAPSHOT_TAG, &snapshot.arn))
        .send()
        .await;
    match copy {
        Ok(output) => {
            let copied = output.db_snapshot.ok_or_else(|| {
                TaskError::RdsRequestFailed(format!("CopyDBSnapshot {id}: the answer named no snapshot"))
            })?;
            tracing::info!(copy = %id, source = %snapshot.arn, "started the copy");
            Ok(copy_ref(&copied, &id, &target.region, CopyOrigin::Copied))
        }
        // A concurrent or lost earlier call made it first: the copy is the same either way.
        Err(error) if error_code(&error) == Some("DBSnapshotAlreadyExists") => {
            let existing = describe_snapshot(&client, &id).await?.ok_or_else(|| {
                TaskError::RdsRequestFailed(format!("CopyDBSnapshot {id}: exists, but cannot be described"))
            })?;
            Ok(copy_ref(&existing, &id, &target.region, CopyOrigin::Reused))
        }
        Err(error) => Err(from_sdk(&format!("CopyDBSnapshot {} to {id}", snapshot.arn), error)),
    }
}

/// The snapshot `id` in the client's region, or `None` when there is none.
pub async fn describe_snapshot(client: &Client, id: &str) -> Result<Option<DbSnapshot>, TaskError> {
    match client.describe_db_snapshots().db_snapshot_identifier(id).send().await {
        Ok(output) => Ok(output.db_snapshots.unwrap_or_default().into_iter().next()),
        Err(error) if error_code(&error) == Some("DBSnapshotNotFound") => Ok(None),
        Err(error) => Err(from_sdk(&format!("DescribeDBSnapshots {id}"), error)),
    }
}

fn copy_ref(snapshot: &DbSnapshot, id: &str, region: &str, origin: CopyOrigin) -> CopyRef {
    CopyRef {
        identifier: id.to_owned(),
        arn: snapshot.db_snapshot_arn().unwrap_or_default().to_owned(),
        region: region.to_owned(),
        origin,
    }
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}
