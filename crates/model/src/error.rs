//! Task errors and their stable names.
//!
//! The name of each variant ([`TaskError::name`], [`ErrorName`]) is the Lambda `errorType`
//! that the state machine's `Retry` and `Catch` match on. Each name is declared once, as the
//! variant's name (strum derives the rest). The names are an interface: renaming one means
//! changing `statemachine/` (crates/definition) and its tests in the same change.
use strum::{EnumDiscriminants, EnumIter, IntoEnumIterator, IntoStaticStr};

/// Every way a task can fail, named for the state machine.
#[derive(Debug, thiserror::Error, PartialEq, Eq, IntoStaticStr, EnumDiscriminants)]
#[strum_discriminants(
    name(ErrorName),
    derive(IntoStaticStr, EnumIter, Hash, PartialOrd, Ord),
    doc = "The name of a [`TaskError`] without its message: the Lambda `errorType`."
)]
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

    /// A secret of `target.masterUserSecretArn` or `target.roleSecrets` does not exist or
    /// cannot be read (access denied, its KMS key refused, scheduled for deletion).
    #[error("{0}")]
    SecretNotFound(String),

    /// A secret is not in the shape it must have; the message names the secret and the field
    /// (never its value).
    #[error("{0}")]
    SecretInvalid(String),

    /// RDS refused the new master credentials, or never applied them, or they do not log in.
    #[error("{0}")]
    CredentialsNotApplied(String),

    /// The database could not be reached or a login failed: host, port, role and the
    /// server's message (never a password).
    #[error("{0}")]
    ConnectionFailed(String),

    /// A role of `target.roleSecrets` does not exist in the restored database.
    #[error("{0}")]
    RoleNotFound(String),

    /// A script of `sql.scripts` given by `s3Uri` does not exist or cannot be read (the S3
    /// error code is in the message: NoSuchKey, NoSuchBucket, AccessDenied).
    #[error("{0}")]
    ScriptNotFound(String),

    /// A script's text is not the one check-scripts found (its SHA-256 differs): the object
    /// was replaced during the refresh. Nothing of it ran.
    #[error("{0}")]
    ScriptChanged(String),

    /// A statement of a script failed: the script's name, the statement's number and line,
    /// the SQLSTATE and the server's message. A script in a transaction left nothing behind.
    #[error("{0}")]
    SqlScriptFailed(String),

    /// A script or query ran past its time limit (`sql.statementTimeoutSeconds` for one
    /// statement, 840 seconds for a whole script): the name and the limit.
    #[error("{0}")]
    SqlTimedOut(String),

    /// A query of `sql.verify` did not return a single true: its name and what it returned.
    #[error("{0}")]
    VerificationFailed(String),
}

impl TaskError {
    /// The stable name of this error: the Lambda `errorType`.
    pub fn name(&self) -> &'static str {
        self.into()
    }

    /// The name as a value, to classify or compare.
    pub fn kind(&self) -> ErrorName {
        self.into()
    }

    pub fn invalid_input(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::InvalidInput { field: field.into(), rule: rule.into() }
    }
}

impl ErrorName {
    /// Every name a task can fail with.
    pub fn all() -> impl Iterator<Item = ErrorName> {
        ErrorName::iter()
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Names that pass by themselves when the call is made again later: the state machine
    /// retries them with backoff (`NotReady` is polled, the others are retried with jitter).
    pub fn is_transient(self) -> bool {
        matches!(self, Self::NotReady | Self::Throttled | Self::ServiceUnavailable | Self::SnapshotQuotaExceeded)
    }

    /// A failure to look or to act (the service, the state table), as opposed to a guard's
    /// refusal: a dry run fails on these instead of reporting them as a refusal in its plan.
    pub fn is_failure_to_look(self) -> bool {
        matches!(self, Self::Throttled | Self::ServiceUnavailable | Self::RdsRequestFailed | Self::StateTableFailed)
    }
}

impl std::fmt::Display for ErrorName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_is_the_variant_name() {
        assert_eq!(TaskError::invalid_input("source.region", "required").name(), "InvalidInput");
        assert_eq!(TaskError::NotReady(String::new()).name(), "NotReady");
        assert_eq!(TaskError::NotReady(String::new()).kind(), ErrorName::NotReady);
        let names: Vec<_> = ErrorName::all().map(ErrorName::as_str).collect();
        assert_eq!(names.len(), 29);
        assert!(names.contains(&"SecretInvalid") && names.contains(&"CredentialsNotApplied"));
        assert!(names.contains(&"ConfigurationIncompatible") && names.contains(&"TargetLocked"));
    }

    #[test]
    fn transient_names_and_failures_to_look() {
        let transient: Vec<_> = ErrorName::all().filter(|name| name.is_transient()).map(ErrorName::as_str).collect();
        assert_eq!(transient, ["NotReady", "Throttled", "ServiceUnavailable", "SnapshotQuotaExceeded"]);
        assert!(ErrorName::StateTableFailed.is_failure_to_look());
        assert!(!ErrorName::DeletionProtected.is_failure_to_look());
    }
}
