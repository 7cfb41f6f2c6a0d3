//! Where the snapshot the target is restored from comes from (copy-snapshot, and the dry run's
//! `copy.action`): the source snapshot itself when it is in the target's region, else the copy
//! of it made for the target, reused when an earlier run made it (its name is derived from
//! the snapshot and the target, so a re-run finds it) and made otherwise.
use crate::identifiers::copy_identifier;
use crate::model::{CopyOrigin, InstanceRef, SnapshotRef};

/// What is restored from, as far as it can be told without looking in the target's region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CopyPlan {
    /// The snapshot is in the target's region: it is restored from as it is, with no copy.
    SameRegion,
    /// The snapshot is in another region, where a restore cannot reach it: the copy of it
    /// named `identifier`, in the target's region.
    CrossRegion { identifier: String },
}

/// The plan for restoring `target` from `snapshot`.
pub fn plan(snapshot: &SnapshotRef, target: &InstanceRef) -> CopyPlan {
    if snapshot.region == target.region {
        CopyPlan::SameRegion
    } else {
        CopyPlan::CrossRegion {
            identifier: copy_identifier(&snapshot.identifier, &snapshot.arn, &target.display_name()),
        }
    }
}

impl CopyPlan {
    /// Where the snapshot restored from comes from, once the target's region has been looked
    /// at: `copy_exists` says whether the copy [`CopyPlan::CrossRegion`] names is there
    /// already (ignored for [`CopyPlan::SameRegion`], where nothing is looked for).
    pub fn origin(&self, copy_exists: bool) -> CopyOrigin {
        match self {
            CopyPlan::SameRegion => CopyOrigin::SameRegion,
            CopyPlan::CrossRegion { .. } if copy_exists => CopyOrigin::Reused,
            CopyPlan::CrossRegion { .. } => CopyOrigin::Copied,
        }
    }

    /// The identifier of the snapshot restored from, in the target's region.
    pub fn identifier<'a>(&'a self, snapshot: &'a SnapshotRef) -> &'a str {
        match self {
            CopyPlan::SameRegion => &snapshot.identifier,
            CopyPlan::CrossRegion { identifier } => identifier,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(region: &str) -> SnapshotRef {
        SnapshotRef {
            identifier: "rds:x-2026-11-23-05-10".into(),
            arn: format!("arn:aws:rds:{region}:1:snapshot:rds:x-2026-11-23-05-10"),
            region: region.into(),
            created_at: "2026-11-23T05:10:00Z".into(),
            snapshot_type: "automated".into(),
            encrypted: false,
            engine: None,
            engine_version: None,
            master_username: None,
        }
    }

    fn target(region: &str) -> InstanceRef {
        InstanceRef { region: region.into(), db_instance_identifier: "y".into() }
    }

    #[test]
    fn a_snapshot_in_the_targets_region_is_used_as_it_is() {
        let snapshot = snapshot("us-west-2");
        let plan = plan(&snapshot, &target("us-west-2"));
        assert_eq!(plan, CopyPlan::SameRegion);
        assert_eq!(plan.origin(false), CopyOrigin::SameRegion);
        assert_eq!(plan.origin(true), CopyOrigin::SameRegion);
        assert_eq!(plan.identifier(&snapshot), "rds:x-2026-11-23-05-10");
    }

    #[test]
    fn a_snapshot_of_another_region_is_copied_once_and_then_reused() {
        let snapshot = snapshot("us-east-1");
        let plan = plan(&snapshot, &target("us-west-2"));
        let expected = copy_identifier(&snapshot.identifier, &snapshot.arn, "us-west-2/y");
        assert_eq!(plan, CopyPlan::CrossRegion { identifier: expected.clone() });
        assert_eq!(plan.identifier(&snapshot), expected);
        assert_eq!(plan.origin(false), CopyOrigin::Copied);
        assert_eq!(plan.origin(true), CopyOrigin::Reused);
    }
}
