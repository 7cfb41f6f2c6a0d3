//! Who may act on a target: the decisions of the lock, kept apart from the state table's I/O.
//!
//! A lock is held by one execution until it releases it or it expires (see
//! [`crate::state::LOCK_TTL_SECS`]). An execution that ended without its failure path (stopped,
//! timed out) never releases it: its successor takes the lock over instead of waiting out the
//! expiry, once Step Functions says the holder has ended. A holder that cannot be described
//! keeps the expiry rule: the lock is never taken from an execution that may still be running.

use crate::executions::OwnerState;
use crate::model::InstanceRef;
use crate::rds::format_time;
use crate::state::Lock;

pub use rds_refresh_model::TakenOver;

/// What to do when another execution's lock is in the way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Conflict {
    /// Take it over: its holder has ended.
    TakeOver(TakenOver),
    /// Respect it: `TargetLocked` with this message.
    Locked(String),
}

/// The decision on `holder`'s unexpired lock of `target`, given what Step Functions says of it.
pub fn resolve(target: &InstanceRef, holder: &Lock, owner: &OwnerState) -> Conflict {
    let expires = format_time(&aws_sdk_rds::primitives::DateTime::from_secs(holder.expires_at));
    let locked = |why: String| {
        Conflict::Locked(format!(
            "{} is being refreshed by {} (its lock expires at {expires}, unless released before){why}",
            target.display_name(),
            holder.owner
        ))
    };
    match owner {
        OwnerState::Ended(status) => {
            Conflict::TakeOver(TakenOver { execution: holder.owner.clone(), status: status.clone() })
        }
        OwnerState::Running => locked(String::new()),
        OwnerState::Unknown(why) => locked(format!("; whether it still runs is unknown: {why}")),
    }
}

/// Whether `holder` holds an unexpired lock at `now`.
pub fn is_live(holder: &Lock, now: i64) -> bool {
    holder.expires_at >= now
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> InstanceRef {
        InstanceRef { region: "us-west-2".into(), db_instance_identifier: "y".into() }
    }

    fn holder() -> Lock {
        Lock { owner: "arn:aws:states:us-east-1:1:execution:refresh:a".into(), expires_at: 1_800_000_000 }
    }

    #[test]
    fn an_ended_holder_is_taken_over() {
        for status in ["ABORTED", "TIMED_OUT", "FAILED", "SUCCEEDED"] {
            let decision = resolve(&target(), &holder(), &OwnerState::Ended(status.into()));
            assert_eq!(decision, Conflict::TakeOver(TakenOver { execution: holder().owner, status: status.into() }));
        }
    }

    #[test]
    fn a_running_or_unknown_holder_keeps_its_lock() {
        let Conflict::Locked(message) = resolve(&target(), &holder(), &OwnerState::Running) else { panic!() };
        assert_eq!(
            message,
            "us-west-2/y is being refreshed by arn:aws:states:us-east-1:1:execution:refresh:a \
             (its lock expires at 2027-01-15T08:00:00Z, unless released before)"
        );
        let unknown = OwnerState::Unknown("DescribeExecution: AccessDeniedException".into());
        let Conflict::Locked(message) = resolve(&target(), &holder(), &unknown) else { panic!() };
        assert!(message.ends_with("; whether it still runs is unknown: DescribeExecution: AccessDeniedException"));
    }

    #[test]
    fn a_lock_lives_until_it_expires() {
        assert!(is_live(&holder(), 1_800_000_000));
        assert!(!is_live(&holder(), 1_800_000_001));
    }
}
