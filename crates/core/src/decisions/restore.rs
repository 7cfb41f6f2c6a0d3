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
/// that name (`None`: the name is free). `only_by`: SQL scripts run on the new instance, and
/// only a restore this execution made is gone on with; one an earlier execution made may have
/// had its scripts half run (scripts are not assumed idempotent), and is refused: the failure
/// path removes it (swap mode's temporary instance), and a re-run restores again.
pub fn decide(
    target: &InstanceRef,
    existing: Option<&DbInstance>,
    copy: &str,
    only_by: Option<&str>,
) -> Result<Restore, TaskError> {
    let Some(existing) = existing else { return Ok(Restore::Restore) };
    if existing.db_instance_status() == Some("deleting") {
        return Err(TaskError::NotReady(format!("{} is still being deleted", target.display_name())));
    }
    if tags::restoring_from(existing.tag_list()).as_deref() == Some(copy) {
        let made_by = tags::restored_by(existing.tag_list());
        return match only_by {
            Some(execution) if made_by != Some(tags::value(execution).as_str()) => {
                Err(TaskError::TargetExists(format!(
                    "{} was restored from this copy by an earlier execution ({}); SQL scripts may have half run on it, so \
                 it is not gone on with: it is removed, and a re-run restores again",
                    target.display_name(),
                    made_by.unwrap_or("unknown")
                )))
            }
            _ => Ok(Restore::AlreadyRestored),
        };
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
        assert_eq!(decide(&target(), None, "rds-refresh-c", None), Ok(Restore::Restore));
    }

    #[test]
    fn this_runs_own_restore_is_gone_on_with() {
        let own = existing("creating", Some("rds-refresh-c"));
        assert_eq!(decide(&target(), Some(&own), "rds-refresh-c", None), Ok(Restore::AlreadyRestored));
        // Automated snapshots' identifiers round-trip through the mark's tag value.
        let automated = existing("available", Some("rds:x-2026-11-23-05-10"));
        assert_eq!(decide(&target(), Some(&automated), "rds:x-2026-11-23-05-10", None), Ok(Restore::AlreadyRestored));
    }

    #[test]
    fn with_sql_scripts_only_this_executions_restore_is_gone_on_with() {
        const EXECUTION: &str = "arn:aws:states:us-west-2:123456789012:execution:rds-refresh:run-2";
        let mine = DbInstance::builder()
            .db_instance_status("available")
            .tag_list(tags::restoring("rds-refresh-c"))
            .tag_list(tags::tag(tags::RESTORED_BY, &tags::value(EXECUTION)))
            .build();
        assert_eq!(decide(&target(), Some(&mine), "rds-refresh-c", Some(EXECUTION)), Ok(Restore::AlreadyRestored));
        let earlier = decide(&target(), Some(&mine), "rds-refresh-c", Some(&EXECUTION.replace("run-2", "run-1")));
        assert_eq!(earlier.unwrap_err().name(), "TargetExists");
        // An unmarked restore (made before the mark existed) may have run scripts too.
        let unmarked = existing("available", Some("rds-refresh-c"));
        assert_eq!(
            decide(&target(), Some(&unmarked), "rds-refresh-c", Some(EXECUTION)).unwrap_err().name(),
            "TargetExists"
        );
    }

    #[test]
    fn any_other_instance_is_never_restored_over() {
        let other = decide(&target(), Some(&existing("available", Some("rds-refresh-other"))), "rds-refresh-c", None);
        assert_eq!(
            other,
            Err(TaskError::TargetExists(
                "us-west-2/y-rr-new-0a1b2c already exists (status available); refusing to restore over it".into()
            ))
        );
        let unmarked = decide(&target(), Some(&existing("available", None)), "rds-refresh-c", None);
        assert_eq!(unmarked.unwrap_err().name(), "TargetExists");
        let going = decide(&target(), Some(&existing("deleting", Some("rds-refresh-c"))), "rds-refresh-c", None);
        assert_eq!(going.unwrap_err().name(), "NotReady");
    }
}
