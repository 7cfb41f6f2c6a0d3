//! Whether a rename of swap mode may be made (rename-target, and undoing one in recover-swap
//! and repair-execution): never onto a name an instance has (RDS refuses it, and a stand-in
//! that allowed it would overwrite an instance), only of an instance opted in to this source,
//! and only while it is in a status that takes a rename. A rename already made (the new name
//! taken, the old one free) counts as made, so a retried call goes on.
use aws_sdk_rds::types::DbInstance;

use crate::TaskError;
use crate::decisions::guards::check_opted_in;
use crate::instance_status::{StatusClass, classify};
use crate::model::InstanceRef;

/// What a rename does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Renaming {
    /// Rename the instance now.
    Rename,
    /// An earlier attempt renamed it: nothing to do.
    AlreadyRenamed,
}

impl Renaming {
    /// As rename-target's `outcome` says it.
    pub fn as_str(self) -> &'static str {
        match self {
            Renaming::Rename => "renamed",
            Renaming::AlreadyRenamed => "already-renamed",
        }
    }
}

/// Whether `from` may be renamed to `to`, given the instance of each name (`None`: none has
/// it). An instance that will pass its status by itself (backing up, in maintenance) is
/// `NotReady`: RDS would refuse with `InvalidDBInstanceState`, and the state machine calls
/// again later.
pub fn decide(
    source: &InstanceRef,
    from: &InstanceRef,
    to: &str,
    old: Option<&DbInstance>,
    new: Option<&DbInstance>,
) -> Result<Renaming, TaskError> {
    let target = from.named(to);
    match (old, new) {
        (None, Some(_)) => Ok(Renaming::AlreadyRenamed),
        (None, None) => Err(TaskError::RestoreFailed(format!(
            "neither {} nor {} exists: nothing to rename",
            from.display_name(),
            target.display_name()
        ))),
        (Some(_), Some(existing)) => Err(TaskError::TargetExists(format!(
            "cannot rename {} to {}: an instance of that name exists (status {})",
            from.display_name(),
            target.display_name(),
            existing.db_instance_status().unwrap_or("unknown")
        ))),
        (Some(instance), None) => {
            check_opted_in(from, source, instance)?;
            let status = instance.db_instance_status().unwrap_or("unknown");
            match classify(status) {
                StatusClass::Usable => Ok(Renaming::Rename),
                StatusClass::Transient => Err(TaskError::NotReady(format!(
                    "{} is {status}: renaming it once it is available",
                    from.display_name()
                ))),
                StatusClass::Failed => Err(TaskError::RdsRequestFailed(format!(
                    "cannot rename {} to {}: it is {status}",
                    from.display_name(),
                    target.display_name()
                ))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tags;

    fn source() -> InstanceRef {
        InstanceRef { region: "us-east-1".into(), db_instance_identifier: "x".into() }
    }

    fn from() -> InstanceRef {
        InstanceRef { region: "us-west-2".into(), db_instance_identifier: "y".into() }
    }

    fn instance(status: &str, opted_in: bool) -> DbInstance {
        let builder = DbInstance::builder().db_instance_status(status);
        if opted_in { builder.tag_list(tags::tag(tags::SOURCE, "us-east-1/x")).build() } else { builder.build() }
    }

    fn rename(old: Option<&DbInstance>, new: Option<&DbInstance>) -> Result<Renaming, TaskError> {
        decide(&source(), &from(), "y-rr-old-0a1b2c", old, new)
    }

    #[test]
    fn an_available_opted_in_instance_is_renamed_onto_a_free_name() {
        assert_eq!(rename(Some(&instance("available", true)), None), Ok(Renaming::Rename));
        assert_eq!(rename(Some(&instance("storage-optimization", true)), None), Ok(Renaming::Rename));
        assert_eq!(Renaming::Rename.as_str(), "renamed");
    }

    #[test]
    fn a_rename_already_made_is_done() {
        assert_eq!(rename(None, Some(&instance("renaming", true))), Ok(Renaming::AlreadyRenamed));
        assert_eq!(Renaming::AlreadyRenamed.as_str(), "already-renamed");
    }

    #[test]
    fn never_onto_a_name_that_is_taken_nor_from_nothing() {
        let taken = rename(Some(&instance("available", true)), Some(&instance("available", true))).unwrap_err();
        assert_eq!(
            taken,
            TaskError::TargetExists(
                "cannot rename us-west-2/y to us-west-2/y-rr-old-0a1b2c: an instance of that name exists (status \
                 available)"
                    .into()
            )
        );
        assert_eq!(rename(None, None).unwrap_err().name(), "RestoreFailed");
    }

    #[test]
    fn only_an_opted_in_instance_in_a_usable_status_is_renamed() {
        assert_eq!(rename(Some(&instance("available", false)), None).unwrap_err().name(), "TargetNotOptedIn");
        let busy = rename(Some(&instance("backing-up", true)), None).unwrap_err();
        assert_eq!(busy, TaskError::NotReady("us-west-2/y is backing-up: renaming it once it is available".into()));
        assert_eq!(rename(Some(&instance("stopped", true)), None).unwrap_err().name(), "RdsRequestFailed");
    }
}
