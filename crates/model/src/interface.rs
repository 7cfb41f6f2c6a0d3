//! The names the state machines share with the tasks and the CLI, each declared once: the
//! error names they match (`ErrorEquals`) and raise (Fail states), and the paths where their
//! states write results in the execution's state data.
//!
//! crates/definition writes the state machines with these names; the CLI
//! (`cli/src/timeline.rs`) reads `downtime`, `available.downtime`, `retirement.startedAt` and
//! `deletion.startedAt` of the state data by them, and a test of the core checks them against
//! the committed definition. The task errors among them are [`crate::ErrorName`]s (a test
//! below keeps the two in step).

// --- Errors the tasks raise (`rds_refresh_core::TaskError`'s names) -------------------------

/// A look found what it waits for not there yet: every wait is a Retry on it.
pub const NOT_READY: &str = "NotReady";
/// RDS throttled the call: retried by every Lambda task, with the service errors below.
pub const THROTTLED: &str = "Throttled";
/// An RDS 5xx or a network failure.
pub const SERVICE_UNAVAILABLE: &str = "ServiceUnavailable";
/// Too many manual snapshots in the region: the copy waits for some to go.
pub const SNAPSHOT_QUOTA_EXCEEDED: &str = "SnapshotQuotaExceeded";

// --- Errors the definitions raise (Fail states) ----------------------------------------------

/// A bounded wait ran out (the refresh's `NotReady`, renamed on the way out).
pub const WAIT_TIMED_OUT: &str = "WaitTimedOut";
/// The repair's re-run failed, or the target did not serve again in time.
pub const REPAIR_INCOMPLETE: &str = "RepairIncomplete";
/// The ended execution left something the repair does not undo automatically.
pub const NEEDS_REPAIR_BY_HAND: &str = "NeedsRepairByHand";
/// The repair task itself failed.
pub const REPAIR_FAILED: &str = "RepairFailed";
/// The repair was done but its notification could not be published.
pub const NOTIFICATION_FAILED: &str = "NotificationFailed";

// --- Errors of Step Functions and of the services it calls -----------------------------------

/// Matches every error: the last (and only) name of a catch-all Catch.
pub const STATES_ALL: &str = "States.ALL";
/// A Task ran past its TimeoutSeconds.
pub const STATES_TIMEOUT: &str = "States.Timeout";

// The Lambda service's own errors on an invoke (not the function's), which the Step Functions
// guide recommends retrying ("Handle transient Lambda service exceptions").
pub const LAMBDA_SERVICE_EXCEPTION: &str = "Lambda.ServiceException";
pub const LAMBDA_AWS_LAMBDA_EXCEPTION: &str = "Lambda.AWSLambdaException";
pub const LAMBDA_SDK_CLIENT_EXCEPTION: &str = "Lambda.SdkClientException";
pub const LAMBDA_TOO_MANY_REQUESTS: &str = "Lambda.TooManyRequestsException";

// SNS errors that pass by themselves (throttling, its own or its KMS key's, and 5xx).
pub const SNS_THROTTLED: &str = "SNS.ThrottledException";
pub const SNS_INTERNAL_ERROR: &str = "SNS.InternalErrorException";
pub const SNS_KMS_THROTTLING: &str = "SNS.KMSThrottlingException";

// Step Functions errors of `states:startExecution` (no list of the integration's names is
// documented: the Java SDK's generic names, and the API's codes as the integration names them).
pub const SFN_AWS_EXCEPTION: &str = "StepFunctions.AWSStepFunctionsException";
pub const SFN_SDK_CLIENT_EXCEPTION: &str = "StepFunctions.SdkClientException";
pub const SFN_THROTTLING: &str = "StepFunctions.ThrottlingException";
pub const SFN_SERVICE_UNAVAILABLE: &str = "StepFunctions.ServiceUnavailableException";
pub const SFN_INTERNAL_FAILURE: &str = "StepFunctions.InternalFailureException";
pub const SFN_EXECUTION_LIMIT_EXCEEDED: &str = "StepFunctions.ExecutionLimitExceededException";
// An execution of that name exists: what the optimized integration raises, the API's bare
// code under its prefix, and the AWS SDK integration's name.
pub const SFN_EXECUTION_ALREADY_EXISTS: &str = "StepFunctions.ExecutionAlreadyExistsException";
pub const SFN_EXECUTION_ALREADY_EXISTS_CODE: &str = "StepFunctions.ExecutionAlreadyExists";
pub const SDK_SFN_EXECUTION_ALREADY_EXISTS: &str = "Sfn.ExecutionAlreadyExistsException";

/// Where states write their results (`ResultPath`) in the execution's state data. A later
/// state reads them by these paths, and the CLI by the same names (`$.retirement` is the
/// state data's field `retirement`).
pub mod result_paths {
    // The refresh, in the order its states write them.
    /// LockTarget: `{takenOverFrom}`.
    pub const LOCK: &str = "$.lock";
    /// FindSnapshot: the chosen snapshot (set to null by CheckInput).
    pub const SNAPSHOT: &str = "$.snapshot";
    /// DescribeTarget: the target's existence, configuration and swap names.
    pub const TARGET_STATE: &str = "$.targetState";
    /// CheckSecrets: the credentials plan (secret ARNs and versions, never values).
    pub const CREDENTIALS: &str = "$.credentials";
    /// CopySnapshot: the copy in the target's region.
    pub const COPY: &str = "$.copy";
    /// RestoreBeside, RestoreTarget.
    pub const RESTORE: &str = "$.restore";
    /// ConfigureBeside, ConfigureTarget.
    pub const CONFIGURED: &str = "$.configured";
    /// SetCredentials(Beside): `{requestedAt}`.
    pub const CREDENTIALS_SET: &str = "$.credentialsSet";
    /// WaitCredentials(Beside): the new instance's endpoint and managed secret.
    pub const DATABASE: &str = "$.database";
    /// ApplyRoles(Beside): `{rolesSet, loginsDisabled}`.
    pub const ROLES: &str = "$.roles";
    /// CheckConnections(Beside): what the credential steps did (set to null by CheckInput;
    /// the output's `credentials`).
    pub const CREDENTIALS_APPLIED: &str = "$.credentialsApplied";
    /// CheckScripts: the SQL plan (each script's source, SHA-256 and size; the queries).
    pub const SQL: &str = "$.sql";
    /// RunScripts(Beside): what each script did, in order.
    pub const SQL_RAN: &str = "$.sqlRan";
    /// VerifyData(Beside): what the SQL steps did (set to null by CheckInput; the output's
    /// `sql`).
    pub const SQL_APPLIED: &str = "$.sqlApplied";
    /// RetireTarget (or SwitchedEarlier, ResumeSwitch): `startedAt` is when the target's name
    /// stopped serving in swap mode (the CLI reads `retirement.startedAt`).
    pub const RETIREMENT: &str = "$.retirement";
    /// PromoteNew.
    pub const PROMOTION: &str = "$.promotion";
    /// WaitPromoted, WaitAvailable: `{endpoint, downtime}` (the CLI reads `available.downtime`).
    pub const AVAILABLE: &str = "$.available";
    /// DeleteTarget: `startedAt` is when the target stopped serving in replace mode (the CLI
    /// reads `deletion.startedAt`).
    pub const DELETION: &str = "$.deletion";
    /// TagTarget.
    pub const TAGS: &str = "$.tags";
    /// DeleteRetired.
    pub const RETIRED_DELETION: &str = "$.retiredDeletion";
    /// PruneCopies.
    pub const PRUNED: &str = "$.pruned";
    /// The refresh's failure path: the failing state's name, for the notification.
    pub const FAILED_STATE: &str = "$.failedState";
    /// RecoverSwap: `{recovery}`.
    pub const RECOVERY: &str = "$.recovery";

    // Errors caught, each under its own name so that a later one does not hide the first.
    /// The first failure: what the refresh fails with (and the repair task's failure).
    pub const ERROR: &str = "$.error";
    pub const RECOVERY_ERROR: &str = "$.recoveryError";
    pub const UNLOCK_ERROR: &str = "$.unlockError";
    pub const NOTIFY_ERROR: &str = "$.notifyError";

    // The repair.
    /// The re-run's outcome, the target's endpoint, or the error that ended either.
    pub const OUTCOME: &str = "$.outcome";
    pub const NOTIFICATION_ERROR: &str = "$.notificationError";

    // The snapshot starter.
    pub const STARTED: &str = "$.started";
    pub const ALREADY_STARTED: &str = "$.alreadyStarted";
}

/// Fields inside those results that the CLI reads.
pub mod fields {
    /// wait-available's measured downtime (`{startedAt, endedAt, seconds}`), kept under
    /// `available` and in the refresh's output.
    pub const DOWNTIME: &str = "downtime";
    /// When the target's name stopped serving: in `retirement` and `deletion`.
    pub const STARTED_AT: &str = "startedAt";
}

/// The JSON Pointer of a field under a result path: `pointer("$.available", "downtime")` is
/// `/available/downtime`, for reading the state data that the JSONPath `$.available.downtime`
/// names.
pub fn pointer(result_path: &str, field: &str) -> String {
    let path = result_path.strip_prefix("$.").expect("a result path starts with $.");
    format!("/{}/{field}", path.replace('.', "/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorName;

    #[test]
    fn the_task_errors_the_definitions_match_are_error_names() {
        for (name, error) in [
            (NOT_READY, ErrorName::NotReady),
            (THROTTLED, ErrorName::Throttled),
            (SERVICE_UNAVAILABLE, ErrorName::ServiceUnavailable),
            (SNAPSHOT_QUOTA_EXCEEDED, ErrorName::SnapshotQuotaExceeded),
        ] {
            assert_eq!(name, error.as_str());
        }
    }

    #[test]
    fn pointers_name_what_the_cli_reads() {
        assert_eq!(pointer(result_paths::AVAILABLE, fields::DOWNTIME), "/available/downtime");
        assert_eq!(pointer(result_paths::RETIREMENT, fields::STARTED_AT), "/retirement/startedAt");
        assert_eq!(pointer(result_paths::DELETION, fields::STARTED_AT), "/deletion/startedAt");
    }
}
