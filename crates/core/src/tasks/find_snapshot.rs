//! find-snapshot: chooses the snapshot of the source to restore: the newest `available`
//! one (of the kinds asked for), or the one named; and checks that it can be used.
use std::time::SystemTime;

use aws_sdk_rds::Client;
use aws_sdk_rds::primitives::DateTime;
use aws_sdk_rds::types::DbSnapshot;

use crate::TaskError;
use crate::decisions::snapshot;
use crate::error::from_sdk;
use crate::model::{InstanceRef, RefreshRequest, SnapshotRef, SnapshotSelection};
use crate::rds::{Rds, describe_snapshot, format_time};

/// The checked execution input (check-input's output).
pub type Input = RefreshRequest;
/// The snapshot to restore.
pub type Output = SnapshotRef;

pub async fn handle(rds: Rds, request: Input) -> Result<Output, TaskError> {
    request.validate()?;
    choose(&rds, &request).await
}

/// The snapshot `request` asks for, if it can be used ([`crate::decisions::snapshot`]). The dry
/// run calls it too.
pub async fn choose(rds: &Rds, request: &RefreshRequest) -> Result<SnapshotRef, TaskError> {
    let source = &request.source;
    let client = rds.client(&source.region);
    let chosen = match &request.snapshot.identifier {
        Some(id) => snapshot::named(source, &request.snapshot, id, describe_snapshot(&client, id).await?)?,
        None => {
            let snapshots = source_snapshots(&client, source, &request.snapshot).await?;
            snapshot::newest(source, &request.snapshot, &snapshots)?.clone()
        }
    };
    let chosen_ref = snapshot_ref(&chosen, &source.region)?;
    if let Some(max_hours) = request.snapshot.max_age_hours {
        let created = chosen.snapshot_create_time().expect("snapshot_ref checked it");
        snapshot::check_age(&chosen_ref.identifier, created, &DateTime::from(SystemTime::now()), max_hours)?;
    }
    snapshot::check_kms_key(&chosen_ref, request)?;
    tracing::info!(snapshot = %chosen_ref.identifier, created_at = %chosen_ref.created_at, "chose snapshot");
    Ok(chosen_ref)
}

/// The snapshots of `source` of the kinds `selection` asks for, every page of them.
async fn source_snapshots(
    client: &Client,
    source: &InstanceRef,
    selection: &SnapshotSelection,
) -> Result<Vec<DbSnapshot>, TaskError> {
    let mut pages = client
        .describe_db_snapshots()
        .db_instance_identifier(&source.db_instance_identifier)
        .set_snapshot_type(selection.snapshot_type.rds_filter().map(str::to_owned))
        .into_paginator()
        .send();
    let mut snapshots = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| from_sdk(&format!("DescribeDBSnapshots of {}", source.display_name()), e))?;
        snapshots.extend(page.db_snapshots.unwrap_or_default());
    }
    Ok(snapshots)
}

fn snapshot_ref(snapshot: &DbSnapshot, region: &str) -> Result<SnapshotRef, TaskError> {
    let missing =
        |field: &str| TaskError::RdsRequestFailed(format!("DescribeDBSnapshots returned a snapshot without {field}"));
    Ok(SnapshotRef {
        identifier: snapshot.db_snapshot_identifier().ok_or_else(|| missing("DBSnapshotIdentifier"))?.to_owned(),
        arn: snapshot.db_snapshot_arn().ok_or_else(|| missing("DBSnapshotArn"))?.to_owned(),
        region: region.to_owned(),
        created_at: format_time(snapshot.snapshot_create_time().ok_or_else(|| missing("SnapshotCreateTime"))?),
        snapshot_type: snapshot.snapshot_type().unwrap_or("unknown").to_owned(),
        encrypted: snapshot.encrypted().unwrap_or(false),
        engine: snapshot.engine().map(str::to_owned),
        engine_version: snapshot.engine_version().map(str::to_owned),
        master_username: snapshot.master_username().map(str::to_owned),
    })
}
