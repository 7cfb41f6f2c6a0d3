//! find-snapshot: chooses the snapshot of the source to restore: the newest `available`
//! one (of the kinds asked for), or the one named; and checks that it can be used.
use std::time::SystemTime;

use aws_sdk_rds::Client;
use aws_sdk_rds::primitives::DateTime;
use aws_sdk_rds::types::DbSnapshot;

use crate::TaskError;
use crate::error::from_sdk;
use crate::model::{InstanceRef, RefreshRequest, SnapshotRef, SnapshotSelection};
use crate::rds::{Rds, format_time};
use crate::tasks::copy_snapshot::describe_snapshot;

/// The checked execution input (check-input's output).
pub type Input = RefreshRequest;
/// The snapshot to restore.
pub type Output = SnapshotRef;

pub async fn handle(rds: Rds, request: Input) -> Result<Output, TaskError> {
    request.validate()?;
    choose(&rds, &request).await
}

/// The snapshot `request` asks for, if it can be used.
pub async fn choose(rds: &Rds, request: &RefreshRequest) -> Result<SnapshotRef, TaskError> {
    let source = &request.source;
    let client = rds.client(&source.region);
    let chosen = match &request.snapshot.identifier {
        Some(id) => named_snapshot(&client, source, &request.snapshot, id).await?,
        None => newest_snapshot(&client, source, &request.snapshot).await?,
    };
    let snapshot = snapshot_ref(&chosen, &source.region)?;
    if let Some(max_hours) = request.snapshot.max_age_hours {
        let created = chosen.snapshot_create_time().expect("snapshot_ref checked it");
        check_age(&snapshot.identifier, created, &DateTime::from(SystemTime::now()), max_hours)?;
    }
    if snapshot.encrypted && source.region != request.target.region && request.copy.kms_key_id.is_none() {
        return Err(TaskError::KmsKeyRequired(format!(
            "snapshot {} is encrypted with a KMS key of {}, which cannot be used in {}: pass copy.kmsKeyId, a KMS \
             key of {} (its ARN, id or alias), for the copy",
            snapshot.identifier, source.region, request.target.region, request.target.region
        )));
    }
    tracing::info!(snapshot = %snapshot.identifier, created_at = %snapshot.created_at, "chose snapshot");
    Ok(snapshot)
}

/// The newest `available` snapshot of `source` of the kinds `selection` asks for.
async fn newest_snapshot(
    client: &Client,
    source: &InstanceRef,
    selection: &SnapshotSelection,
) -> Result<DbSnapshot, TaskError> {
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
    if let Some(newest) = newest_available(&snapshots) {
        return Ok(newest.clone());
    }
    let kind = match selection.snapshot_type.rds_filter() {
        Some(kind) => format!("{kind} "),
        None => String::new(),
    };
    let others = snapshots.iter().filter_map(|s| s.status()).collect::<Vec<_>>();
    Err(TaskError::SnapshotNotFound(if others.is_empty() {
        format!("{} has no {kind}snapshots", source.display_name())
    } else {
        format!(
            "{} has no available {kind}snapshot (found {} with status {})",
            source.display_name(),
            others.len(),
            others.join(", ")
        )
    }))
}

/// The snapshot named `id`, which must be an `available` snapshot of `source` of the kind asked for.
async fn named_snapshot(
    client: &Client,
    source: &InstanceRef,
    selection: &SnapshotSelection,
    id: &str,
) -> Result<DbSnapshot, TaskError> {
    let snapshot = describe_snapshot(client, id).await?.ok_or_else(|| {
        TaskError::SnapshotNotFound(format!("snapshot.identifier: there is no snapshot {id} in {}", source.region))
    })?;
    let of_instance = snapshot.db_instance_identifier().unwrap_or_default();
    if !of_instance.eq_ignore_ascii_case(&source.db_instance_identifier) {
        return Err(TaskError::invalid_input(
            "snapshot.identifier",
            format!("{id} is a snapshot of {of_instance}, not of {}", source.db_instance_identifier),
        ));
    }
    if let Some(kind) = selection.snapshot_type.rds_filter()
        && snapshot.snapshot_type() != Some(kind)
    {
        return Err(TaskError::invalid_input(
            "snapshot.identifier",
            format!("{id} is {}, not {kind}", snapshot.snapshot_type().unwrap_or("of unknown type")),
        ));
    }
    match snapshot.status() {
        Some("available") => Ok(snapshot),
        status => Err(TaskError::SnapshotNotFound(format!(
            "snapshot {id} is {}, not available",
            status.unwrap_or("of unknown status")
        ))),
    }
}

/// Fails with `SnapshotTooOld` when `created` is more than `max_hours` before `now`.
fn check_age(id: &str, created: &DateTime, now: &DateTime, max_hours: u32) -> Result<(), TaskError> {
    let age_secs = now.secs() - created.secs();
    if age_secs > i64::from(max_hours) * 3600 {
        return Err(TaskError::SnapshotTooOld(format!(
            "snapshot {id} was taken {} ({} hours ago), more than snapshot.maxAgeHours = {max_hours}",
            format_time(created),
            age_secs / 3600
        )));
    }
    Ok(())
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
        engine: snapshot.engine().map(str::to_owned),
        engine_version: snapshot.engine_version().map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn the_age_limit_is_inclusive_and_named() {
        let now = DateTime::from_secs(100 * 3600);
        assert_eq!(check_age("s", &DateTime::from_secs(76 * 3600), &now, 24), Ok(()));
        let error = check_age("s", &DateTime::from_secs(75 * 3600), &now, 24).unwrap_err();
        assert_eq!(error.name(), "SnapshotTooOld");
        assert!(error.to_string().contains("25 hours ago"), "{error}");
    }

    #[test]
    fn none_when_nothing_is_available() {
        assert!(newest_available(&[]).is_none());
        assert!(newest_available(&[snapshot("c", "creating", None)]).is_none());
    }
}
