//! What deleting the target does (delete-target, and the dry run's `wouldDelete`): nothing when
//! it is gone or going, nothing when it is the restore this run is making (a re-run after a
//! failure past the restore must not delete its own work), a refusal when it has not opted in
//! or is protected and may not be unprotected, and otherwise the delete, with a final snapshot
//! if one is asked for and worth taking.
use aws_sdk_rds::types::DbInstance;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TaskError;
use crate::decisions::guards::{check_deletion_protection, check_opted_in};
use crate::model::InstanceRef;
use crate::tags;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DeleteOutcome {
    /// This call started the deletion.
    Deleted,
    /// An earlier call had already started it.
    AlreadyDeleting,
    /// There was no target to delete.
    Absent,
    /// The target is the restore from this run's copy, made by an earlier attempt that did
    /// not finish: it is kept, and the refresh goes on from there.
    AlreadyRestored,
}

/// What delete-target does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deletion {
    /// Nothing is deleted, for the reason the outcome names (never [`DeleteOutcome::Deleted`]).
    Keep(DeleteOutcome),
    /// The target is deleted: its deletion protection turned off first if `disable_protection`,
    /// with a final snapshot if `final_snapshot`.
    Delete { disable_protection: bool, final_snapshot: bool },
}

/// What deleting `target` does, given the instance of its name (`None`: there is none), the
/// copy this run restores from, and what the input allows (`allow_disable_deletion_protection`)
/// and asks for (`final_snapshot`).
///
/// The opt-in is checked here again, at the destructive step, not only when the run started.
/// An earlier run's half-made restore is deleted without a final snapshot: it holds nothing
/// worth keeping (its data is the copy's). One restored from this very copy is kept and the
/// refresh goes on from it, unless `reuse_restore` is off: SQL scripts run on the new
/// instance, and they may have half run on that one (scripts are not assumed idempotent, so
/// it is deleted and restored again).
pub fn decide(
    target: &InstanceRef,
    source: &InstanceRef,
    instance: Option<&DbInstance>,
    copy: &str,
    allow_disable_deletion_protection: bool,
    final_snapshot: bool,
    reuse_restore: bool,
) -> Result<Deletion, TaskError> {
    let Some(instance) = instance else { return Ok(Deletion::Keep(DeleteOutcome::Absent)) };
    if instance.db_instance_status() == Some("deleting") {
        return Ok(Deletion::Keep(DeleteOutcome::AlreadyDeleting));
    }
    let restoring_from = tags::restoring_from(instance.tag_list());
    if reuse_restore && restoring_from.as_deref() == Some(copy) {
        return Ok(Deletion::Keep(DeleteOutcome::AlreadyRestored));
    }
    check_opted_in(target, source, instance)?;
    check_deletion_protection(target, instance, allow_disable_deletion_protection)?;
    Ok(Deletion::Delete {
        disable_protection: instance.deletion_protection() == Some(true),
        final_snapshot: final_snapshot && restoring_from.is_none(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const COPY: &str = "rds-refresh-x-1-0a1b2c3d";

    fn target() -> InstanceRef {
        InstanceRef { region: "us-west-2".into(), db_instance_identifier: "y".into() }
    }

    fn source() -> InstanceRef {
        InstanceRef { region: "us-east-1".into(), db_instance_identifier: "x".into() }
    }

    /// `y`, opted in to `us-east-1/x`, in `status`, restored from `restoring` if given.
    fn y(status: &str, protected: bool, restoring: Option<&str>) -> DbInstance {
        let mut builder = DbInstance::builder()
            .db_instance_identifier("y")
            .db_instance_status(status)
            .deletion_protection(protected)
            .tag_list(tags::tag(tags::SOURCE, "us-east-1/x"));
        if let Some(copy) = restoring {
            builder = builder.tag_list(tags::restoring(copy));
        }
        builder.build()
    }

    fn decide_on(instance: Option<&DbInstance>, allow: bool, final_snapshot: bool) -> Result<Deletion, TaskError> {
        decide(&target(), &source(), instance, COPY, allow, final_snapshot, true)
    }

    #[test]
    fn an_opted_in_target_is_deleted_with_the_final_snapshot_asked_for() {
        let y = y("available", false, None);
        assert_eq!(
            decide_on(Some(&y), false, true),
            Ok(Deletion::Delete { disable_protection: false, final_snapshot: true })
        );
        assert_eq!(
            decide_on(Some(&y), false, false),
            Ok(Deletion::Delete { disable_protection: false, final_snapshot: false })
        );
    }

    #[test]
    fn nothing_is_deleted_when_it_is_gone_going_or_this_runs_restore() {
        assert_eq!(decide_on(None, false, true), Ok(Deletion::Keep(DeleteOutcome::Absent)));
        let deleting = y("deleting", true, None);
        assert_eq!(decide_on(Some(&deleting), false, true), Ok(Deletion::Keep(DeleteOutcome::AlreadyDeleting)));
        let restored = y("available", false, Some(COPY));
        assert_eq!(decide_on(Some(&restored), false, true), Ok(Deletion::Keep(DeleteOutcome::AlreadyRestored)));
    }

    #[test]
    fn with_sql_scripts_this_runs_restore_is_made_again() {
        // Its scripts may have half run: it is deleted (no final snapshot: its data is the
        // copy's, maybe half scrubbed) and restored again.
        let restored = y("available", false, Some(COPY));
        assert_eq!(
            decide(&target(), &source(), Some(&restored), COPY, false, true, false),
            Ok(Deletion::Delete { disable_protection: false, final_snapshot: false })
        );
    }

    #[test]
    fn an_earlier_runs_half_made_restore_is_deleted_without_a_final_snapshot() {
        let older = y("available", false, Some("rds-refresh-x-0-ffffffff"));
        assert_eq!(
            decide_on(Some(&older), false, true),
            Ok(Deletion::Delete { disable_protection: false, final_snapshot: false })
        );
    }

    #[test]
    fn a_target_not_opted_in_is_refused() {
        let foreign = DbInstance::builder().db_instance_identifier("y").db_instance_status("available").build();
        assert_eq!(decide_on(Some(&foreign), true, false).unwrap_err().name(), "TargetNotOptedIn");
        // Even one marked as restored from another copy: the mark does not stand for the opt-in.
        let marked = DbInstance::builder()
            .db_instance_identifier("y")
            .db_instance_status("available")
            .tag_list(tags::restoring("rds-refresh-other"))
            .build();
        assert_eq!(decide_on(Some(&marked), true, false).unwrap_err().name(), "TargetNotOptedIn");
    }

    #[test]
    fn deletion_protection_is_turned_off_only_when_allowed() {
        let protected = y("available", true, None);
        let refused = decide_on(Some(&protected), false, false).unwrap_err();
        assert_eq!(refused.name(), "DeletionProtected");
        assert!(refused.to_string().starts_with("us-west-2/y has deletion protection on: set"), "{refused}");
        assert_eq!(
            decide_on(Some(&protected), true, false),
            Ok(Deletion::Delete { disable_protection: true, final_snapshot: false })
        );
    }
}
