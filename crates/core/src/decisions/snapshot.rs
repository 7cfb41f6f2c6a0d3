//! Which snapshot of the source a refresh restores, and whether it may (find-snapshot, and the
//! dry run through it): the one named, if it is an `available` snapshot of the source of the
//! kind asked for, or else the newest `available` one of that kind; never one still being made
//! (it has no data yet), never one older than `snapshot.maxAgeHours` (a stale refresh is worse
//! than none), and an encrypted one across regions only with a KMS key of the target's region
//! (the source's key cannot leave its region).
use aws_sdk_rds::primitives::DateTime;
use aws_sdk_rds::types::DbSnapshot;

use crate::TaskError;
use crate::model::{InstanceRef, RefreshRequest, SnapshotRef, SnapshotSelection};
use crate::rds::format_time;

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

/// The snapshot to restore among `snapshots` (the source's, of the kinds `selection` asks
/// for): the newest available one, or `SnapshotNotFound` saying what there is.
pub fn newest<'a>(
    source: &InstanceRef,
    selection: &SnapshotSelection,
    snapshots: &'a [DbSnapshot],
) -> Result<&'a DbSnapshot, TaskError> {
    if let Some(newest) = newest_available(snapshots) {
        return Ok(newest);
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

/// The snapshot named `id` (`found`: what describing it returned), if it may be restored: an
/// `available` snapshot of `source`, of the kind `selection` asks for.
pub fn named(
    source: &InstanceRef,
    selection: &SnapshotSelection,
    id: &str,
    found: Option<DbSnapshot>,
) -> Result<DbSnapshot, TaskError> {
    let snapshot = found.ok_or_else(|| {
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
pub fn check_age(id: &str, created: &DateTime, now: &DateTime, max_hours: u32) -> Result<(), TaskError> {
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

/// An encrypted snapshot copied to another region needs a KMS key of that region
/// (`copy.kmsKeyId`): `KmsKeyRequired`, before anything is changed, instead of a copy RDS
/// refuses.
pub fn check_kms_key(snapshot: &SnapshotRef, request: &RefreshRequest) -> Result<(), TaskError> {
    let (source, target) = (&request.source.region, &request.target.region);
    if snapshot.encrypted && source != target && request.copy.kms_key_id.is_none() {
        return Err(TaskError::KmsKeyRequired(format!(
            "snapshot {} is encrypted with a KMS key of {source}, which cannot be used in {target}: pass \
             copy.kmsKeyId, a KMS key of {target} (its ARN, id or alias), for the copy",
            snapshot.identifier
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SnapshotType;

    fn snapshot(id: &str, status: &str, created: Option<i64>) -> DbSnapshot {
        DbSnapshot::builder()
            .db_snapshot_identifier(id)
            .status(status)
            .set_snapshot_create_time(created.map(DateTime::from_secs))
            .build()
    }

    fn x() -> InstanceRef {
        InstanceRef { region: "us-east-1".into(), db_instance_identifier: "x".into() }
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
        let chosen = newest(&x(), &SnapshotSelection::default(), &snapshots).unwrap();
        assert_eq!(chosen.db_snapshot_identifier(), Some("newest"));
    }

    #[test]
    fn none_when_nothing_is_available() {
        assert!(newest_available(&[]).is_none());
        assert!(newest_available(&[snapshot("c", "creating", None)]).is_none());
        let manual = SnapshotSelection { snapshot_type: SnapshotType::Manual, ..Default::default() };
        assert_eq!(
            newest(&x(), &manual, &[]).unwrap_err(),
            TaskError::SnapshotNotFound("us-east-1/x has no manual snapshots".into())
        );
        assert_eq!(
            newest(&x(), &SnapshotSelection::default(), &[snapshot("c", "creating", None)]).unwrap_err(),
            TaskError::SnapshotNotFound("us-east-1/x has no available snapshot (found 1 with status creating)".into())
        );
    }

    #[test]
    fn a_named_snapshot_must_be_an_available_one_of_the_source_of_the_kind_asked_for() {
        let any = SnapshotSelection::default();
        let of = |instance: &str, kind: &str, status: &str| {
            DbSnapshot::builder()
                .db_snapshot_identifier("s1")
                .db_instance_identifier(instance)
                .snapshot_type(kind)
                .status(status)
                .build()
        };
        assert!(named(&x(), &any, "s1", Some(of("X", "manual", "available"))).is_ok(), "case-insensitive");
        assert_eq!(named(&x(), &any, "s1", None).unwrap_err().name(), "SnapshotNotFound");
        let other = named(&x(), &any, "s1", Some(of("z", "manual", "available"))).unwrap_err();
        assert_eq!(other, TaskError::invalid_input("snapshot.identifier", "s1 is a snapshot of z, not of x"));
        let automated = SnapshotSelection { snapshot_type: SnapshotType::Automated, ..Default::default() };
        let kind = named(&x(), &automated, "s1", Some(of("x", "manual", "available"))).unwrap_err();
        assert_eq!(kind, TaskError::invalid_input("snapshot.identifier", "s1 is manual, not automated"));
        let creating = named(&x(), &any, "s1", Some(of("x", "manual", "creating"))).unwrap_err();
        assert_eq!(creating, TaskError::SnapshotNotFound("snapshot s1 is creating, not available".into()));
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
    fn an_encrypted_snapshot_crosses_regions_only_with_a_key_of_the_target_region() {
        let request: RefreshRequest = crate::model::parse_input(serde_json::json!({
            "source": {"region": "us-east-1", "dbInstanceIdentifier": "x"},
            "target": {"region": "us-west-2", "dbInstanceIdentifier": "y"}
        }))
        .unwrap();
        let encrypted = SnapshotRef {
            identifier: "s1".into(),
            arn: "arn:aws:rds:us-east-1:1:snapshot:s1".into(),
            region: "us-east-1".into(),
            created_at: "2026-11-23T05:10:00Z".into(),
            snapshot_type: "manual".into(),
            encrypted: true,
            engine: None,
            engine_version: None,
            master_username: None,
        };
        assert_eq!(
            check_kms_key(&encrypted, &request).unwrap_err(),
            TaskError::KmsKeyRequired(
                "snapshot s1 is encrypted with a KMS key of us-east-1, which cannot be used in us-west-2: pass \
                 copy.kmsKeyId, a KMS key of us-west-2 (its ARN, id or alias), for the copy"
                    .into()
            )
        );
        let mut keyed = request.clone();
        keyed.copy.kms_key_id = Some("alias/rds-refresh".into());
        assert_eq!(check_kms_key(&encrypted, &keyed), Ok(()));
        let mut one_region = request.clone();
        one_region.target.region = "us-east-1".into();
        assert_eq!(check_kms_key(&encrypted, &one_region), Ok(()));
        assert_eq!(check_kms_key(&SnapshotRef { encrypted: false, ..encrypted }, &request), Ok(()));
    }
}
