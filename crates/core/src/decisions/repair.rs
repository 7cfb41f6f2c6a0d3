//! What to repair after an execution ended without its failure path (stopped from the console
//! or by `StopExecution`, timed out, or failed where its Catch could not run): a pure decision
//! over what the target's region looks like, used by the repair task and by the dry run.
//!
//! The repair undoes rather than finishes, as the failure path's RecoverSwap does: someone
//! stopped the execution, so it does not carry the refresh on. The one exception is a target
//! whose name the execution already took away for good (replace mode deleted it, or its
//! restore never finished): only a refresh brings it back, so the repair re-runs it, once.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::decisions::leftovers::Leftovers;
use crate::model::Mode;

/// The target instance as the repair sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetView {
    pub status: String,
    /// It carries rds-refresh's not-finished mark: a restore whose refresh did not end.
    pub unfinished: bool,
}

impl TargetView {
    pub fn of(instance: &aws_sdk_rds::types::DbInstance) -> Self {
        Self {
            status: instance.db_instance_status().unwrap_or("unknown").to_owned(),
            unfinished: crate::tags::restoring_from(instance.tag_list()).is_some(),
        }
    }

    /// The target among `instances` (a listing of its region), if it is there.
    pub fn among(instances: &[aws_sdk_rds::types::DbInstance], target_identifier: &str) -> Option<Self> {
        instances.iter().find(|i| i.db_instance_identifier() == Some(target_identifier)).map(Self::of)
    }
}

/// Who holds the target's lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockView {
    /// Nobody (or an execution that has ended, other than the one repaired).
    Free,
    /// The execution being repaired: it never released it.
    HeldByStopped,
    /// Another execution that may be running: it acts on the target, the repair does not.
    HeldByOther(String),
}

/// What the repair does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Repair {
    /// Nothing to repair: the target serves and nothing was left beside it.
    Nothing { reason: String },
    /// Another execution holds the target's lock: it acts on the target; the repair does not.
    HandsOff { holder: String },
    /// The target serves; the new instances the stopped swap restored beside it are deleted.
    RemoveTemporaries { temporaries: Vec<String> },
    /// The stopped swap had renamed the target away: the old target gets its name back, and
    /// the new instance beside it is deleted.
    RenameBack { retired: String, temporaries: Vec<String> },
    /// The target has its name but is not available yet (a rename in progress): waited for.
    AwaitTarget { status: String },
    /// The target's name does not serve and no old instance can take it back: a re-run of the
    /// refresh restores it (from the configuration kept in the state table).
    Rerun { reason: String },
    /// Not repaired automatically; the reason says what to do.
    Manual { reason: String },
}

impl Repair {
    /// Whether the state machine then waits for the target to serve under its name: after a
    /// rename back, and whenever the target is seen in another status than `available` (a
    /// repair called again after `NotReady` may find its own rename back still running).
    pub fn waits_for_target(&self, target: Option<&TargetView>) -> bool {
        match self {
            Self::RenameBack { .. } | Self::AwaitTarget { .. } => true,
            Self::Nothing { .. } | Self::RemoveTemporaries { .. } => target.is_some_and(|t| t.status != "available"),
            Self::HandsOff { .. } | Self::Rerun { .. } | Self::Manual { .. } => false,
        }
    }

    /// The notification's subject (SNS: under 100 characters; an identifier has at most 63).
    pub fn subject(&self, target_identifier: &str) -> String {
        let what = match self {
            Self::Nothing { .. } => "stopped, intact",
            Self::HandsOff { .. } => "stopped, in use",
            Self::RemoveTemporaries { .. } | Self::RenameBack { .. } | Self::AwaitTarget { .. } => "repaired",
            Self::Rerun { .. } => "re-run to repair",
            Self::Manual { .. } => "needs repair by hand",
        };
        format!("rds-refresh: {target_identifier} {what}")
    }
}

/// Whether an execution of status `status` named `name` may be re-run by the repair: only one
/// that was stopped or timed out (a failed one ran its failure path, which reported what to
/// do), and never a re-run the repair started itself (no loop).
pub fn may_rerun(status: &str, name: &str) -> bool {
    matches!(status, "ABORTED" | "TIMED_OUT") && !name.starts_with(RERUN_PREFIX)
}

/// The name of the repair's re-run of execution `name` (Step Functions: at most 80 characters).
pub fn rerun_name(name: &str) -> String {
    let mut rerun = format!("{RERUN_PREFIX}{name}");
    rerun.truncate(80);
    rerun
}

const RERUN_PREFIX: &str = "repair-";

/// The repair of a refresh of mode `mode` that ended with `status`, given who holds the lock,
/// the target (`None`: nothing has its name) and the instances swaps left beside it.
pub fn decide(
    status: &str,
    mode: Mode,
    rerun_allowed: bool,
    lock: &LockView,
    target: Option<&TargetView>,
    leftovers: &Leftovers,
) -> Repair {
    if let LockView::HeldByOther(holder) = lock {
        return Repair::HandsOff { holder: holder.clone() };
    }
    if status == "FAILED" && *lock != LockView::HeldByStopped {
        return Repair::Nothing {
            reason: "it failed through its failure path, which recovered the target, released the lock and notified"
                .into(),
        };
    }
    let temporaries = leftovers.temporaries.clone();
    let serving = target.filter(|t| t.status != "deleting");
    match serving {
        Some(target) if mode == Mode::Replace && target.unfinished => needs_refresh(
            rerun_allowed,
            "the target is a restore whose refresh did not finish (it may lack its configuration)",
        ),
        Some(_) if !temporaries.is_empty() => Repair::RemoveTemporaries { temporaries },
        Some(target) if target.status != "available" => Repair::AwaitTarget { status: target.status.clone() },
        Some(_) => Repair::Nothing { reason: "the target serves and nothing was left beside it".into() },
        None => match retired_to_rename_back(leftovers) {
            Ok(retired) => Repair::RenameBack { retired, temporaries },
            Err(Some(reason)) => Repair::Manual { reason },
            Err(None) => needs_refresh(rerun_allowed, "nothing has the target's name (it was deleted)"),
        },
    }
}

fn needs_refresh(rerun_allowed: bool, why: &str) -> Repair {
    if rerun_allowed {
        Repair::Rerun { reason: format!("{why}: a refresh restores it") }
    } else {
        Repair::Manual { reason: format!("{why}: re-run the refresh to restore it") }
    }
}

/// The old target to give the name back to: the retired instance of the stopped swap, told
/// from older ones by the new instance of the same swap beside it (same hash), or the only
/// one. `Err(None)`: there is none; `Err(Some(why))`: which one is not clear.
fn retired_to_rename_back(leftovers: &Leftovers) -> Result<String, Option<String>> {
    let sibling = |retired: &&String| leftovers.temporaries.iter().any(|t| same_swap(t, retired));
    match (leftovers.retired.iter().find(sibling), leftovers.retired.as_slice()) {
        (Some(retired), _) => Ok(retired.clone()),
        (None, [only]) => Ok(only.clone()),
        (None, []) => Err(None),
        (None, several) => Err(Some(format!(
            "nothing has the target's name and several old targets are beside it ({}): rename the right one back",
            several.join(", ")
        ))),
    }
}

/// Whether `temporary` and `retired` are the two names of one swap (`-rr-new-<h>`, `-rr-old-<h>`).
fn same_swap(temporary: &str, retired: &str) -> bool {
    let (Some((base_t, hash_t)), Some((base_r, hash_r))) =
        (temporary.rsplit_once("-rr-new-"), retired.rsplit_once("-rr-old-"))
    else {
        return false;
    };
    base_t == base_r && hash_t == hash_r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serving(status: &str) -> TargetView {
        TargetView { status: status.into(), unfinished: false }
    }

    fn left(temporaries: &[&str], retired: &[&str]) -> Leftovers {
        Leftovers {
            temporaries: temporaries.iter().map(|s| s.to_string()).collect(),
            retired: retired.iter().map(|s| s.to_string()).collect(),
        }
    }

    const ABORTED: &str = "ABORTED";

    #[test]
    fn a_swap_stopped_before_the_switch_removes_its_new_instance() {
        let repair = decide(
            ABORTED,
            Mode::Swap,
            true,
            &LockView::HeldByStopped,
            Some(&serving("available")),
            &left(&["y-rr-new-aaaaaa"], &[]),
        );
        assert_eq!(repair, Repair::RemoveTemporaries { temporaries: vec!["y-rr-new-aaaaaa".into()] });
        assert!(!repair.waits_for_target(Some(&serving("available"))));
        // Called again while its own rename back still runs: the temporary goes, y is waited for.
        let renaming = serving("renaming");
        let again = decide(
            ABORTED,
            Mode::Swap,
            true,
            &LockView::HeldByStopped,
            Some(&renaming),
            &left(&["y-rr-new-aaaaaa"], &[]),
        );
        assert!(again.waits_for_target(Some(&renaming)), "{again:?}");
    }

    #[test]
    fn a_swap_stopped_between_the_renames_renames_its_own_old_target_back() {
        // An older swap's retired target is left beside it too: the stopped swap's one is the
        // one with its new instance beside it.
        let leftovers = left(&["y-rr-new-bbbbbb"], &["y-rr-old-aaaaaa", "y-rr-old-bbbbbb"]);
        let repair = decide(ABORTED, Mode::Swap, true, &LockView::HeldByStopped, None, &leftovers);
        assert_eq!(
            repair,
            Repair::RenameBack { retired: "y-rr-old-bbbbbb".into(), temporaries: vec!["y-rr-new-bbbbbb".into()] }
        );
        assert!(repair.waits_for_target(None));
        let unclear = decide(
            ABORTED,
            Mode::Swap,
            true,
            &LockView::Free,
            None,
            &left(&[], &["y-rr-old-aaaaaa", "y-rr-old-bbbbbb"]),
        );
        assert!(matches!(unclear, Repair::Manual { .. }), "{unclear:?}");
    }

    #[test]
    fn a_swap_stopped_after_the_switch_waits_for_the_new_target() {
        let switched = TargetView { status: "renaming".into(), unfinished: true };
        let repair = decide(
            ABORTED,
            Mode::Swap,
            true,
            &LockView::HeldByStopped,
            Some(&switched),
            &left(&[], &["y-rr-old-aaaaaa"]),
        );
        assert_eq!(repair, Repair::AwaitTarget { status: "renaming".into() });
        let done = TargetView { status: "available".into(), unfinished: true };
        let repair =
            decide(ABORTED, Mode::Swap, true, &LockView::HeldByStopped, Some(&done), &left(&[], &["y-rr-old-aaaaaa"]));
        assert!(matches!(repair, Repair::Nothing { .. }), "{repair:?}");
    }

    #[test]
    fn a_replace_stopped_after_the_delete_is_re_run_once() {
        let deleting = serving("deleting");
        for target in [None, Some(&deleting)] {
            let repair = decide(ABORTED, Mode::Replace, true, &LockView::HeldByStopped, target, &Leftovers::default());
            assert!(matches!(repair, Repair::Rerun { .. }), "{repair:?}");
            let repair = decide(ABORTED, Mode::Replace, false, &LockView::HeldByStopped, target, &Leftovers::default());
            assert!(matches!(repair, Repair::Manual { .. }), "{repair:?}");
        }
        let unfinished = TargetView { status: "available".into(), unfinished: true };
        let repair =
            decide("TIMED_OUT", Mode::Replace, true, &LockView::Free, Some(&unfinished), &Leftovers::default());
        assert!(matches!(repair, Repair::Rerun { .. }), "{repair:?}");
        assert!(may_rerun("ABORTED", "nightly-1") && may_rerun("TIMED_OUT", "nightly-1"));
        assert!(!may_rerun("FAILED", "nightly-1") && !may_rerun("ABORTED", &rerun_name("nightly-1")));
    }

    #[test]
    fn another_executions_lock_is_left_alone() {
        let lock = LockView::HeldByOther("arn:aws:states:us-east-1:1:execution:refresh:b".into());
        let repair = decide(ABORTED, Mode::Swap, true, &lock, None, &left(&[], &["y-rr-old-aaaaaa"]));
        assert_eq!(repair, Repair::HandsOff { holder: "arn:aws:states:us-east-1:1:execution:refresh:b".into() });
    }

    #[test]
    fn a_failure_whose_failure_path_ran_needs_nothing() {
        let repair = decide("FAILED", Mode::Swap, false, &LockView::Free, None, &left(&[], &["y-rr-old-aaaaaa"]));
        assert!(matches!(repair, Repair::Nothing { .. }), "{repair:?}");
        // Its failure path did not finish (the lock is still its own): repaired like a stop.
        let repair =
            decide("FAILED", Mode::Swap, false, &LockView::HeldByStopped, None, &left(&[], &["y-rr-old-aaaaaa"]));
        assert!(matches!(repair, Repair::RenameBack { .. }), "{repair:?}");
    }

    #[test]
    fn subjects_fit_sns_and_rerun_names_fit_step_functions() {
        let longest = "a".repeat(63);
        for repair in [
            Repair::Nothing { reason: String::new() },
            Repair::HandsOff { holder: String::new() },
            Repair::Rerun { reason: String::new() },
            Repair::Manual { reason: String::new() },
            Repair::AwaitTarget { status: String::new() },
        ] {
            assert!(repair.subject(&longest).len() < 100, "{}", repair.subject(&longest));
        }
        assert_eq!(rerun_name(&"n".repeat(80)).len(), 80);
        assert_eq!(rerun_name("nightly-1"), "repair-nightly-1");
    }
}
