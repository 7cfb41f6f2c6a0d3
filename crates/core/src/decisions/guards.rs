//! The guards on the target itself: it must have opted in to being replaced from this source,
//! and its deletion protection is turned off only when the input allows it. Checked when the
//! run starts (describe-target, and the dry run) and again at each destructive step
//! (delete-target, the renames): the tags may change in between.
use aws_sdk_rds::types::DbInstance;

use crate::TaskError;
use crate::model::InstanceRef;
use crate::tags;

/// The target must carry `rds-refresh:source = <source region>/<source identifier>`: a
/// target opts in to being replaced, and only from the source it names. Without it, rds-refresh
/// would replace whatever instance happens to have the target's name.
pub fn check_opted_in(target: &InstanceRef, source: &InstanceRef, instance: &DbInstance) -> Result<(), TaskError> {
    let wanted = source.display_name();
    match tags::to_map(instance.tag_list()).get(tags::SOURCE) {
        Some(named) if *named == wanted => Ok(()),
        Some(named) => Err(TaskError::TargetNotOptedIn(format!(
            "{} names {named} in its tag {}, not {wanted}: it may only be refreshed from {named}",
            target.display_name(),
            tags::SOURCE
        ))),
        None => Err(TaskError::TargetNotOptedIn(format!(
            "{} does not carry the tag {}: tag it {} = {wanted} to let rds-refresh replace it from {wanted}",
            target.display_name(),
            tags::SOURCE,
            tags::SOURCE
        ))),
    }
}

/// A target with deletion protection on is refused (`DeletionProtected`) unless the input
/// allows turning it off (`target.allowDisableDeletionProtection`): the protection is the
/// owner's statement that the instance must not be deleted, so only an explicit setting
/// overrides it. The one message, whether describe-target or delete-target refuses.
pub fn check_deletion_protection(target: &InstanceRef, instance: &DbInstance, allowed: bool) -> Result<(), TaskError> {
    if instance.deletion_protection() == Some(true) && !allowed {
        return Err(TaskError::DeletionProtected(format!(
            "{} has deletion protection on: set target.allowDisableDeletionProtection to let rds-refresh turn it \
             off just before the delete (the new instance gets it back)",
            target.display_name()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs() -> (InstanceRef, InstanceRef) {
        (
            InstanceRef { region: "us-west-2".into(), db_instance_identifier: "y".into() },
            InstanceRef { region: "us-east-1".into(), db_instance_identifier: "x".into() },
        )
    }

    fn tagged(source: Option<&str>) -> DbInstance {
        let builder = DbInstance::builder().db_instance_identifier("y");
        match source {
            Some(source) => builder.tag_list(tags::tag(tags::SOURCE, source)).build(),
            None => builder.build(),
        }
    }

    #[test]
    fn only_a_target_that_names_this_source_has_opted_in() {
        let (target, source) = refs();
        assert_eq!(check_opted_in(&target, &source, &tagged(Some("us-east-1/x"))), Ok(()));
        let other = check_opted_in(&target, &source, &tagged(Some("us-east-1/z"))).unwrap_err();
        assert_eq!(
            other,
            TaskError::TargetNotOptedIn(
                "us-west-2/y names us-east-1/z in its tag rds-refresh:source, not us-east-1/x: it may only be \
                 refreshed from us-east-1/z"
                    .into()
            )
        );
        let untagged = check_opted_in(&target, &source, &tagged(None)).unwrap_err();
        assert_eq!(untagged.name(), "TargetNotOptedIn");
        assert!(untagged.to_string().contains("tag it rds-refresh:source = us-east-1/x"), "{untagged}");
    }

    #[test]
    fn deletion_protection_is_refused_unless_allowed() {
        let (target, _) = refs();
        let protected = DbInstance::builder().deletion_protection(true).build();
        let refused = check_deletion_protection(&target, &protected, false).unwrap_err();
        assert_eq!(
            refused,
            TaskError::DeletionProtected(
                "us-west-2/y has deletion protection on: set target.allowDisableDeletionProtection to let \
                 rds-refresh turn it off just before the delete (the new instance gets it back)"
                    .into()
            )
        );
        assert_eq!(check_deletion_protection(&target, &protected, true), Ok(()));
        let unprotected = DbInstance::builder().deletion_protection(false).build();
        assert_eq!(check_deletion_protection(&target, &unprotected, false), Ok(()));
        assert_eq!(check_deletion_protection(&target, &DbInstance::builder().build(), false), Ok(()));
    }
}
