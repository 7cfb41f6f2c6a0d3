//! Whether restore-target restores, given what has the name it restores under: never over an
//! instance (RDS refuses it, and a stand-in that allowed it would overwrite one), except that
//! the restore this run already made from its copy is gone on with (its call may have been
//! answered after the state's timeout, or the run is a re-run), and a temporary instance of an
//! earlier swap that is being deleted is waited for.
use aws_sdk_rds::types::DbInstance;

use crate::TaskError;
use crate::model::InstanceRef;
use crate::tags;

/// What restore-target does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restore {
    /// Restore now: the name is free.
    Restore,
    /// The instance of the name is this run's restore from its copy: go on with it.
    AlreadyRestored,
}

/// Whether to restore `target` (the name restored under) from `copy`, given the instance of
/// that name (`None`: the name is free).
pub fn decide(target: &InstanceRef, existing: Option<&DbInstance>, copy: &str) -> Result<Restore, TaskError> {
    let Some(existing) = existing else { return Ok(Restore::Restore) };
    if existing.db_instance_status() == Some("deleting") {
        return Err(TaskError::NotReady(format!("{} is still being deleted", target.display_name())));
    }
    if tags::restoring_from(existing.tag_list()).as_deref() == Some(copy) {
        return Ok(Restore::AlreadyRestored);
    }
    Err(TaskError::TargetExists(format!(
        "{} already exists (status {}); refusing to restore over it",
        target.display_name(),
        existing.db_instance_status().unwrap_or("unknown")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> InstanceRef {
        InstanceRef { region: "us-west-2".into(), db_instance_identifier: "y-rr-new-0a1b2c".into() }
    }

    fn existing(status: &str, restoring: Option<&str>) -> DbInstance {
        let builder = DbInstance::builder().db_instance_status(status);
        match restoring {
            Some(copy) => builder.tag_list(tags::restoring(copy)).build(),
            None => builder.build(),
        }
    }

    #[test]
    fn a_free_name_is_restored_to() {
        assert_eq!(decide(&target(), None, "rds-refresh-c"), Ok(Restore::Restore));
    }

    #[test]
    fn this_runs_own_restore_is_gone_on_with() {
        let own = existing("creating", Some("rds-refresh-c"));
        assert_eq!(decide(&target(), Some(&own), "rds-refresh-c"), Ok(Restore::AlreadyRestored));
        // Automated snapshots' identifiers round-trip through the mark's tag value.
        let automated = existing("available", Some("rds:x-2026-11-23-05-10"));
        assert_eq!(decide(&target(), Some(&automated), "rds:x-2026-11-23-05-10"), Ok(Restore::AlreadyRestored));
    }

    #[test]
    fn any_other_instance_is_never_restored_over() {
        let other = decide(&target(), Some(&existing("available", Some("rds-refresh-other"))), "rds-refresh-c");
        assert_eq!(
            other,
            Err(TaskError::TargetExists(
                "us-west-2/y-rr-new-0a1b2c already exists (status available); refusing to restore over it".into()
            ))
        );
        let unmarked = decide(&target(), Some(&existing("available", None)), "rds-refresh-c");
        assert_eq!(unmarked.unwrap_err().name(), "TargetExists");
        let going = decide(&target(), Some(&existing("deleting", Some("rds-refresh-c"))), "rds-refresh-c");
        assert_eq!(going.unwrap_err().name(), "NotReady");
    }
}
