//! What an RDS instance status means for a refresh: use the instance now, wait for it, or
//! give up on it.
//!
//! RDS passes through many short-lived statuses by itself: right after a restore an instance
//! is often `backing-up` or `configuring-enhanced-monitoring`, and `y` may be in `maintenance`
//! or `backing-up` when the nightly refresh meets its windows. A refresh must wait those out,
//! never fail on them; and while an instance is in one, RDS refuses a modify or a rename with
//! `InvalidDBInstanceState`. `storage-optimization` follows a storage change and can last
//! hours, but the instance serves and takes other changes meanwhile: it is usable.
//!
//! Reference: Amazon RDS User Guide, "Viewing Amazon RDS DB instance status"
//! (<https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/accessing-monitoring.html>).

/// What a refresh does with an instance in a given status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusClass {
    /// It serves and takes changes: `available`, `storage-optimization`.
    Usable,
    /// It will leave this status by itself (or a status this version does not know, which
    /// is waited on within the wait's bound rather than failed on).
    Transient,
    /// It will not become usable by waiting: stopped, failed, incompatible, being deleted, ...
    Failed,
}

/// Statuses from which an instance will not become usable by waiting.
const FAILED: &[&str] = &[
    "failed",
    "deleting",
    "stopped",
    "stopping",
    "storage-full",
    "insufficient-capacity",
    "incompatible-restore",
    "incompatible-parameters",
    "incompatible-network",
    "incompatible-option-group",
    "inaccessible-encryption-credentials",
    "inaccessible-encryption-credentials-recoverable",
    "restore-error",
];

/// How a refresh treats `status`.
pub fn classify(status: &str) -> StatusClass {
    match status {
        "available" | "storage-optimization" => StatusClass::Usable,
        status if FAILED.contains(&status) => StatusClass::Failed,
        // backing-up, configuring-*, converting-to-vpc, creating, delete-precheck,
        // maintenance, modifying, moving-to-vpc, rebooting, renaming,
        // resetting-master-credentials, starting, storage-config-upgrade,
        // storage-initialization, upgrading, and any status added after this was written.
        _ => StatusClass::Transient,
    }
}

/// Whether the instance can be modified or renamed now.
pub fn is_usable(status: &str) -> bool {
    classify(status) == StatusClass::Usable
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_that_pass_by_themselves_are_transient() {
        for status in [
            "backing-up",
            "configuring-enhanced-monitoring",
            "configuring-log-exports",
            "maintenance",
            "modifying",
            "renaming",
            "rebooting",
            "resetting-master-credentials",
            "delete-precheck",
            "creating",
            "upgrading",
            "a-status-added-later",
        ] {
            assert_eq!(classify(status), StatusClass::Transient, "{status}");
        }
    }

    #[test]
    fn storage_optimization_is_usable_not_waited_out() {
        assert_eq!(classify("available"), StatusClass::Usable);
        assert_eq!(classify("storage-optimization"), StatusClass::Usable);
        assert!(is_usable("storage-optimization"));
        assert!(!is_usable("backing-up"));
    }

    #[test]
    fn statuses_that_never_end_by_waiting_are_failures() {
        for status in ["stopped", "failed", "incompatible-parameters", "storage-full", "deleting"] {
            assert_eq!(classify(status), StatusClass::Failed, "{status}");
        }
    }
}
