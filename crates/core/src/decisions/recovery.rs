//! What recover-swap undoes on swap mode's failure path, from which of the swap's three names
//! (the target's, the retired one, the temporary one) an instance has. The aim is a target
//! that serves: before the switch the old target still has its name and only the temporary
//! instance goes; between the renames the old target gets its name back; after the switch
//! the new target serves and nothing is undone (a re-run finishes the swap).
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Recovery {
    /// Nothing to undo.
    None,
    /// The temporary instance is being deleted; the target was never touched.
    RemovedTemporary,
    /// The old target is being renamed back to the target's name: wait for it.
    RenamedBack,
    /// The switch had happened: the new target has the name (and may still be finishing
    /// its rename): wait for it. A re-run finishes the swap.
    Switched,
}

/// The recovery, given the status of the instance that has each name (`None`: no instance has
/// it). recover-swap then renames the retired instance back ([`Recovery::RenamedBack`]) or
/// deletes the temporary one ([`Recovery::RemovedTemporary`]).
pub fn decide(target: Option<&str>, retired: Option<&str>, temporary: Option<&str>) -> Recovery {
    match (target, retired, temporary) {
        // Renamed away, the new one not yet in its place: put the old one back.
        (None, Some(_), _) => Recovery::RenamedBack,
        // Not switched: the target serves; the temporary instance goes (unless it is going).
        (Some(_), None, Some(temporary)) if temporary != "deleting" => Recovery::RemovedTemporary,
        // Both names are taken: the new target has the target's name, the old one is retired.
        (Some(_), Some(_), _) => Recovery::Switched,
        _ => Recovery::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UP: Option<&str> = Some("available");

    #[test]
    fn a_failure_before_the_switch_removes_the_temporary_instance() {
        assert_eq!(decide(UP, None, UP), Recovery::RemovedTemporary);
        assert_eq!(decide(UP, None, Some("creating")), Recovery::RemovedTemporary);
        // Already going, or never made: nothing to undo.
        assert_eq!(decide(UP, None, Some("deleting")), Recovery::None);
        assert_eq!(decide(UP, None, None), Recovery::None);
    }

    #[test]
    fn a_failure_between_the_renames_renames_the_old_target_back() {
        assert_eq!(decide(None, UP, UP), Recovery::RenamedBack);
        assert_eq!(decide(None, UP, None), Recovery::RenamedBack);
    }

    #[test]
    fn after_the_switch_nothing_is_undone() {
        assert_eq!(decide(UP, UP, None), Recovery::Switched);
        assert_eq!(decide(Some("renaming"), UP, None), Recovery::Switched);
    }

    #[test]
    fn with_nothing_to_put_back_nothing_is_done() {
        assert_eq!(decide(None, None, UP), Recovery::None);
        assert_eq!(decide(None, None, None), Recovery::None);
    }
}
