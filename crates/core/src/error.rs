//! From AWS SDK errors to named task errors (the names: [`rds_refresh_model::error`]).
use aws_sdk_rds::error::{ProvideErrorMetadata, SdkError};
use lambda_runtime::Diagnostic;

pub use rds_refresh_model::error::{ErrorName, TaskError};

/// What the Lambda runtime reports for a failed invocation: the stable name as `errorType`.
pub fn diagnostic(error: &TaskError) -> Diagnostic {
    Diagnostic { error_type: error.name().to_owned(), error_message: error.to_string() }
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
        let diagnostic = diagnostic(&TaskError::invalid_input("target.region", "must be an AWS region name"));
        assert_eq!(diagnostic.error_type, "InvalidInput");
        assert_eq!(diagnostic.error_message, "target.region: must be an AWS region name");
    }
}
