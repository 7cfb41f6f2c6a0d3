//! Task errors and their stable names.
//!
//! The name of each variant ([`TaskError::name`]) is the Lambda `errorType` that the
//! state machine's `Retry` and `Catch` match on. The names are an interface: renaming one
//! means changing `statemachine/` and its tests in the same change.
use aws_sdk_rds::error::{ProvideErrorMetadata, SdkError};
use lambda_runtime::Diagnostic;

/// Every way a task can fail, named for the state machine.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TaskError {
    /// The input breaks a rule; `field` is its JSON path. Never retried.
    #[error("{field}: {rule}")]
    InvalidInput { field: String, rule: String },

    /// The source instance has no snapshot that is `available`.
    #[error("{0}")]
    SnapshotNotFound(String),

    /// What the task waits for has not happened yet; the state machine polls again later.
    #[error("{0}")]
    NotReady(String),

    /// RDS throttled the call and the SDK's own retries ran out. Retried with backoff.
    #[error("{0}")]
    Throttled(String),

    /// RDS answered 5xx, or could not be reached. Retried with backoff.
    #[error("{0}")]
    ServiceUnavailable(String),

    /// The snapshot copy ended in a state other than `available`.
    #[error("{0}")]
    CopyFailed(String),

    /// The restored instance ended in a state from which it will not become `available`.
    #[error("{0}")]
    RestoreFailed(String),

    /// An instance already holds the target identifier where the refresh needs it free.
    #[error("{0}")]
    TargetExists(String),

    /// The target has deletion protection on, and the input does not allow turning it off.
    #[error("{0}")]
    DeletionProtected(String),

    /// Any other error from RDS: not retried, the RDS error code is in the message.
    #[error("{0}")]
    RdsRequestFailed(String),

    /// The snapshot is encrypted and no usable KMS key of the target region was given; the
    /// message says what to pass.
    #[error("{0}")]
    KmsKeyRequired(String),

    /// The chosen snapshot is older than `snapshot.maxAgeHours`.
    #[error("{0}")]
    SnapshotTooOld(String),

    /// The target region's manual-snapshot quota is used up. Retried with backoff.
    #[error("{0}")]
    SnapshotQuotaExceeded(String),

    /// The new target's settings did not become its configuration.
    #[error("{0}")]
    ConfigurationNotApplied(String),

    /// The state table (where the target's configuration is kept) could not be used.
    #[error("{0}")]
    StateTableFailed(String),

    /// The target does not carry the tag `rds-refresh:source` naming this source: it has
    /// not opted in to being replaced from it.
    #[error("{0}")]
    TargetNotOptedIn(String),

    /// The target does not exist, nothing is known of it, and `target.createIfMissing` is off.
    #[error("{0}")]
    TargetNotFound(String),

    /// Another execution is refreshing the target.
    #[error("{0}")]
    TargetLocked(String),

    /// The target's configuration cannot be given to an instance restored from the snapshot
    /// (a custom parameter or option group of another engine major version); the message
    /// says what to pass in `target.overrides`.
    #[error("{0}")]
    ConfigurationIncompatible(String),
}

impl TaskError {
    /// The stable name of this error: the Lambda `errorType`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::InvalidInput { .. } => "InvalidInput",
            Self::SnapshotNotFound(_) => "SnapshotNotFound",
            Self::NotReady(_) => "NotReady",
            Self::Throttled(_) => "Throttled",
            Self::ServiceUnavailable(_) => "ServiceUnavailable",
            Self::CopyFailed(_) => "CopyFailed",
            Self::RestoreFailed(_) => "RestoreFailed",
            Self::TargetExists(_) => "TargetExists",
            Self::DeletionProtected(_) => "DeletionProtected",
            Self::RdsRequestFailed(_) => "RdsRequestFailed",
            Self::KmsKeyRequired(_) => "KmsKeyRequired",
            Self::SnapshotTooOld(_) => "SnapshotTooOld",
            Self::SnapshotQuotaExceeded(_) => "SnapshotQuotaExceeded",
            Self::ConfigurationNotApplied(_) => "ConfigurationNotApplied",
            Self::StateTableFailed(_) => "StateTableFailed",
            Self::TargetNotOptedIn(_) => "TargetNotOptedIn",
            Self::TargetNotFound(_) => "TargetNotFound",
            Self::TargetLocked(_) => "TargetLocked",
            Self::ConfigurationIncompatible(_) => "ConfigurationIncompatible",
        }
    }

    /// Every name a task can fail with, for tests that check the definition handles them.
    pub const NAMES: &'static [&'static str] = &[
        "InvalidInput",
        "SnapshotNotFound",
        "NotReady",
        "Throttled",
        "ServiceUnavailable",
        "CopyFailed",
        "RestoreFailed",
        "TargetExists",
        "DeletionProtected",
        "RdsRequestFailed",
        "KmsKeyRequired",
        "SnapshotTooOld",
        "SnapshotQuotaExceeded",
        "ConfigurationNotApplied",
        "StateTableFailed",
        "TargetNotOptedIn",
        "TargetNotFound",
        "TargetLocked",
        "ConfigurationIncompatible",
    ];

    pub fn invalid_input(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::InvalidInput { field: field.into(), rule: rule.into() }
    }
}

impl From<TaskError> for Diagnostic {
    fn from(error: TaskError) -> Self {
        Diagnostic { error_type: error.name().to_owned(), error_message: error.to_string() }
    }
}

/// RDS error codes that mean "slow down". The SDK already retried these a few times.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestLimitExceeded",
    "TooManyRequestsException",
];

/// The error code of an SDK error, when RDS sent one (`DBInstanceNotFound`, ...).
pub fn error_code<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> Option<&str> {
    match error {
        SdkError::ServiceError(context) => context.err().code(),
        _ => None,
    }
}

/// Maps an SDK error from `operation` (e.g. "DeleteDBInstance on y") to a named task error.
///
/// Throttling, 5xx and transport failures become retryable names; `InvalidDBInstanceState`
/// (the instance is in a status that passes by itself, such as `backing-up`, see
/// [`crate::instance_status`]) becomes `NotReady`, which every state that changes an instance
/// retries within a bound; anything else is `RdsRequestFailed` with the RDS code and message,
/// so nothing is swallowed.
pub fn from_sdk<E>(operation: &str, error: SdkError<E, aws_sdk_rds::config::http::HttpResponse>) -> TaskError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &error {
        SdkError::ServiceError(context) => {
            let code = context.err().code().unwrap_or("Unknown");
            let message = context.err().message().unwrap_or("no message");
            let status = context.raw().status().as_u16();
            let text = format!("{operation}: {code} (HTTP {status}): {message}");
            if THROTTLING_CODES.contains(&code) {
                TaskError::Throttled(text)
            } else if code == "SnapshotQuotaExceeded" {
                TaskError::SnapshotQuotaExceeded(text)
            } else if code == "InvalidDBInstanceState" {
                TaskError::NotReady(text)
            } else if status >= 500 {
                TaskError::ServiceUnavailable(text)
            } else {
                TaskError::RdsRequestFailed(text)
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            TaskError::ServiceUnavailable(format!("{operation}: {}", describe_chain(&error)))
        }
        _ => TaskError::RdsRequestFailed(format!("{operation}: {}", describe_chain(&error))),
    }
}

/// The error and its sources on one line; SDK errors put the useful part in the sources.
fn describe_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_a_listed_name() {
        let samples = [
            TaskError::invalid_input("source.region", "required"),
            TaskError::SnapshotNotFound(String::new()),
            TaskError::NotReady(String::new()),
            TaskError::Throttled(String::new()),
            TaskError::ServiceUnavailable(String::new()),
            TaskError::CopyFailed(String::new()),
            TaskError::RestoreFailed(String::new()),
            TaskError::TargetExists(String::new()),
            TaskError::DeletionProtected(String::new()),
            TaskError::RdsRequestFailed(String::new()),
            TaskError::KmsKeyRequired(String::new()),
            TaskError::SnapshotTooOld(String::new()),
            TaskError::SnapshotQuotaExceeded(String::new()),
            TaskError::ConfigurationNotApplied(String::new()),
            TaskError::StateTableFailed(String::new()),
            TaskError::TargetNotOptedIn(String::new()),
            TaskError::TargetNotFound(String::new()),
            TaskError::TargetLocked(String::new()),
            TaskError::ConfigurationIncompatible(String::new()),
        ];
        let names: Vec<_> = samples.iter().map(TaskError::name).collect();
        assert_eq!(names, TaskError::NAMES);
    }

    /// An RDS error answer with `code` and HTTP `status`, as the SDK hands it over.
    fn rds_error(
        code: &str,
        status: u16,
    ) -> SdkError<
        aws_sdk_rds::operation::modify_db_instance::ModifyDBInstanceError,
        aws_sdk_rds::config::http::HttpResponse,
    > {
        let metadata = aws_sdk_rds::error::ErrorMetadata::builder().code(code).message("refused").build();
        let error = aws_sdk_rds::operation::modify_db_instance::ModifyDBInstanceError::generic(metadata);
        let raw = aws_sdk_rds::config::http::HttpResponse::new(
            status.try_into().unwrap(),
            aws_smithy_types::body::SdkBody::empty(),
        );
        SdkError::service_error(error, raw)
    }

    #[test]
    fn sdk_errors_are_classified_by_code_and_status() {
        let name = |code, status| from_sdk("ModifyDBInstance y", rds_error(code, status)).name();
        assert_eq!(name("Throttling", 400), "Throttled");
        assert_eq!(name("InternalFailure", 500), "ServiceUnavailable");
        assert_eq!(name("SnapshotQuotaExceeded", 400), "SnapshotQuotaExceeded");
        // A status that passes by itself (backing-up, maintenance, ...): waited out.
        assert_eq!(name("InvalidDBInstanceState", 400), "NotReady");
        assert_eq!(name("InvalidParameterCombination", 400), "RdsRequestFailed");
        let text = from_sdk("ModifyDBInstance y", rds_error("InvalidDBInstanceState", 400)).to_string();
        assert_eq!(text, "ModifyDBInstance y: InvalidDBInstanceState (HTTP 400): refused");
    }

    #[test]
    fn diagnostic_carries_the_stable_name_and_the_message() {
        let diagnostic = Diagnostic::from(TaskError::invalid_input("target.region", "must be an AWS region name"));
        assert_eq!(diagnostic.error_type, "InvalidInput");
        assert_eq!(diagnostic.error_message, "target.region: must be an AWS region name");
    }
}
