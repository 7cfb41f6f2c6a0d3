//! Instances an earlier swap left beside the target: a run that failed after its restore and
//! was never re-run before a newer snapshot came leaves `<y>-rr-new-<hash>` (a temporary that
//! never took `y`'s name), or `<y>-rr-old-<hash>` (a retired `y`); the next run derives other
//! names, so it would not find them by name. They are found by their names' pattern and
//! rds-refresh's tags. A stale temporary is a restore rds-refresh made and never served as `y`:
//! the next successful refresh deletes it. A stale retired instance may be the only copy of
//! `y`'s old data: it is reported, never deleted.
//!
//! The listing of the region is [`crate::rds::region_instances`]; which instances of it are
//! leftovers is decided here.
use aws_sdk_rds::types::DbInstance;

use crate::decisions::guards::check_opted_in;
use crate::identifiers::{SwapRole, swap_role};
use crate::model::InstanceRef;
use crate::tags;

pub use rds_refresh_model::Leftovers;

/// The leftovers among `instances` (the target region's) of swaps of `target` from `source`,
/// other than `current` (the names this run uses, if any).
pub fn among(instances: &[DbInstance], target: &InstanceRef, source: &InstanceRef, current: &[&str]) -> Leftovers {
    let mut leftovers = Leftovers::default();
    for instance in instances {
        let Some(id) = instance.db_instance_identifier() else { continue };
        let Some(role) = swap_role(id, &target.db_instance_identifier) else { continue };
        let ours = check_opted_in(target, source, instance).is_ok();
        if !ours || current.contains(&id) || instance.db_instance_status() == Some("deleting") {
            continue;
        }
        match role {
            // Only a restore rds-refresh made and marked as not finished: never a `y`.
            SwapRole::Temporary if tags::restoring_from(instance.tag_list()).is_some() => {
                leftovers.temporaries.push(id.to_owned());
            }
            SwapRole::Temporary => {}
            SwapRole::Retired => leftovers.retired.push(id.to_owned()),
        }
    }
    leftovers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identifiers::swap_identifiers;

    fn instance(id: &str, status: &str, tags: &[(&str, &str)]) -> DbInstance {
        let mut builder = DbInstance::builder().db_instance_identifier(id).db_instance_status(status);
        for (key, value) in tags {
            builder = builder.tag_list(tags::tag(key, value));
        }
        builder.build()
    }

    #[test]
    fn stale_temporaries_and_retired_targets_are_told_apart_from_everything_else() {
        let target = InstanceRef { region: "us-west-2".into(), db_instance_identifier: "y".into() };
        let source = InstanceRef { region: "us-east-1".into(), db_instance_identifier: "x".into() };
        let (old_new, old_old) = swap_identifiers("y", "arn:aws:rds:us-east-1:1:snapshot:old");
        let (now_new, now_old) = swap_identifiers("y", "arn:aws:rds:us-east-1:1:snapshot:now");
        let ours = [(tags::SOURCE, "us-east-1/x"), (tags::RESTORING, "rds-refresh-old-1")];
        let instances = [
            instance(&old_new, "available", &ours),
            instance(&old_old, "available", &[(tags::SOURCE, "us-east-1/x")]),
            // This run's own names, the target itself, and others' instances are not leftovers.
            instance(&now_new, "available", &ours),
            instance(&now_old, "available", &[(tags::SOURCE, "us-east-1/x")]),
            instance("y", "available", &[(tags::SOURCE, "us-east-1/x")]),
            instance("y-rr-new-abcdef", "available", &[(tags::SOURCE, "us-east-1/other")]),
            instance("y-rr-new-abcde0", "available", &[(tags::SOURCE, "us-east-1/x")]),
            instance("y-rr-new-abcde1", "deleting", &ours),
            instance("production", "available", &ours),
        ];
        let leftovers = among(&instances, &target, &source, &[&now_new, &now_old]);
        assert_eq!(leftovers, Leftovers { temporaries: vec![old_new], retired: vec![old_old] });
    }
}
