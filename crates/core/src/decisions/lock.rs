//! Who may act on a target: the decisions of the lock, kept apart from the state table's I/O.
//!
//! A lock is held by one execution until it releases it or it expires (see
//! [`crate::state::LOCK_TTL_SECS`]). An execution that ended without its failure path (stopped,
//! timed out) never releases it: its successor takes the lock over instead of waiting out the
//! expiry, once Step Functions says the holder has ended. A holder that cannot be described
//! keeps the expiry rule: the lock is never taken from an execution that may still be running.
//!
//! Whether a lock stands in an execution's way is one rule, [`in_the_way`]: the state table
//! writes the lock under the same rule as a DynamoDB condition (atomically), and reads back
//! with it what kept the write from succeeding; the dry run and the repair apply it to the
//! lock they read.

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

/// The lock that keeps `owner` from taking the target's lock at `now`, if any: the recorded
/// `holder` when it is another execution's and has not expired. Its own lock never stands in
/// an execution's way (taking it again is a retried call), and an expired one never does (its
/// execution died without releasing it; the expiry is after the state machine's own timeout,
/// so it cannot still be running).
///
/// The state table's conditional write is the same rule: `attribute_not_exists(owner) OR
/// owner = :me OR expiresAt < :now` holds exactly when this is `None`.
pub fn in_the_way<'a>(holder: Option<&'a Lock>, owner: &str, now: i64) -> Option<&'a Lock> {
    holder.filter(|holder| holder.owner != owner && holder.expires_at >= now)
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
    fn another_executions_lock_is_in_the_way_until_it_expires() {
        let holder = holder();
        let next = "arn:aws:states:us-east-1:1:execution:refresh:b";
        assert_eq!(in_the_way(Some(&holder), next, 1_800_000_000), Some(&holder), "it expires after that second");
        assert_eq!(in_the_way(Some(&holder), next, 1_800_000_001), None);
    }

    #[test]
    fn no_lock_and_ones_own_lock_are_never_in_the_way() {
        assert_eq!(in_the_way(None, "arn:aws:states:us-east-1:1:execution:refresh:b", 0), None);
        assert_eq!(in_the_way(Some(&holder()), &holder().owner, 0), None, "a retried call takes it again");
    }
}
