//! find-snapshot: the newest `available` snapshot of the source instance.
use aws_sdk_rds::types::DbSnapshot;

use crate::TaskError;
use crate::error::from_sdk;
use crate::model::{RefreshRequest, SnapshotRef};
use crate::rds::{Rds, format_time};

/// The execution input itself: this is the first step, so it also validates the input.
pub type Input = RefreshRequest;
pub type Output = SnapshotRef;

pub async fn handle(rds: Rds, input: Input) -> Result<Output, TaskError> {
    input.validate()?;
    let source = &input.source;
    let client = rds.client(&source.region);
    let mut pages =
        client.describe_db_snapshots().db_instance_identifier(&source.db_instance_identifier).into_paginator().send();
    let mut snapshots = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| from_sdk(&format!("DescribeDBSnapshots of {}", source.display_name()), e))?;
        snapshots.extend(page.db_snapshots.unwrap_or_default());
    }
    let newest = newest_available(&snapshots).ok_or_else(|| {
        let others = snapshots.iter().filter_map(|s| s.status()).collect::<Vec<_>>();
        TaskError::SnapshotNotFound(if others.is_empty() {
            format!("{} has no snapshots", source.display_name())
        } else {
            format!(
                "{} has no available snapshot (found {} with status {})",
                source.display_name(),
                others.len(),
                others.join(", ")
            )
        })
    })?;
    let snapshot = snapshot_ref(newest, &source.region)?;
    tracing::info!(snapshot = %snapshot.identifier, created_at = %snapshot.created_at, "chose snapshot");
    Ok(snapshot)
}

/// The newest snapshot by creation time among those that are `available`.
///
/// A snapshot still being created has no creation time and is never chosen.
pub fn newest_available(snapshots: &[DbSnapshot]) -> Option<&DbSnapshot> {
    snapshots
        .iter()
        .filter(|s| s.status() == Some("available"))
        .filter_map(|s| s.snapshot_create_time().map(|time| (time, s)))
        .max_by(|(a, _), (b, _)| a.cmp(b))
        .map(|(_, s)| s)
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_rds::primitives::DateTime;

    fn snapshot(id: &str, status: &str, created: Option<i64>) -> DbSnapshot {
        DbSnapshot::builder()
            .db_snapshot_identifier(id)
            .status(status)
            .set_snapshot_create_time(created.map(DateTime::from_secs))
            .build()
    }

    #[test]
    fn picks_the_newest_available_and_never_one_being_created() {
        let snapshots = [
            snapshot("old", "available", Some(100)),
            snapshot("newest", "available", Some(300)),
            snapshot("creating", "creating", None),
            snapshot("failed", "failed", Some(400)),
            snapshot("middle", "available", Some(200)),
        ];
        assert_eq!(newest_available(&snapshots).and_then(|s| s.db_snapshot_identifier()), Some("newest"));
    }

    #[test]
    fn none_when_nothing_is_available() {
        assert!(newest_available(&[]).is_none());
        assert!(newest_available(&[snapshot("c", "creating", None)]).is_none());
    }
}
