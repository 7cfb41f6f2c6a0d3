//! The project's conventions for states, each declared once: how a task's Lambda function is
//! invoked and retried, how the waits poll, how notifications are published, and the blocks
//! of Parameters that many states share.

use crate::asl::{Jitter, Retrier, Task};
use crate::json::{Json, field, obj};
use crate::names::*;

/// The execution's ARN (the context object's), which the lock is held by.
pub const EXECUTION_ID: &str = "$$.Execution.Id";
/// The refresh state machine's ARN, filled in by deploy/template.yaml (the repair re-runs the
/// refresh, the starter starts it).
pub const REFRESH_STATE_MACHINE_ARN: &str = "${RefreshStateMachineArn}";

// --- Retry policies ---------------------------------------------------------------------------

/// The Lambda service's own errors on an invoke (not the function's): a few quick retries.
pub const LAMBDA_SERVICE_RETRY: Retrier = Retrier {
    error_equals: &[
        LAMBDA_SERVICE_EXCEPTION,
        LAMBDA_AWS_LAMBDA_EXCEPTION,
        LAMBDA_SDK_CLIENT_EXCEPTION,
        LAMBDA_TOO_MANY_REQUESTS,
    ],
    interval_seconds: 2,
    max_attempts: 6,
    backoff_rate: 2.0,
    max_delay_seconds: None,
    jitter_strategy: Some(Jitter::Full),
};

/// Throttling and 5xx of the AWS APIs a task calls (the tasks name them, `error::from_sdk`):
/// they pass by themselves: 5 s growing to 2 min, 8 times (under 9 min), out of the time
/// budget's margin.
pub const TRANSIENT_RETRY: Retrier = Retrier {
    error_equals: &[THROTTLED, SERVICE_UNAVAILABLE],
    interval_seconds: 5,
    max_attempts: 8,
    backoff_rate: 2.0,
    max_delay_seconds: Some(120),
    jitter_strategy: Some(Jitter::Full),
};

/// SNS throttling and 5xx, and a publish that timed out: the notification is worth a few tries.
pub const SNS_RETRY: Retrier = Retrier {
    error_equals: &[SNS_THROTTLED, SNS_INTERNAL_ERROR, SNS_KMS_THROTTLING, STATES_TIMEOUT],
    interval_seconds: 2,
    max_attempts: 5,
    backoff_rate: 2.0,
    max_delay_seconds: None,
    jitter_strategy: Some(Jitter::Full),
};

// --- Waits --------------------------------------------------------------------------------------
//
// Every wait is a task that looks once and fails NotReady, retried by one of these: the interval
// grows by 1.5 up to a cap, a bounded number of times, with no jitter, so that each wait's
// longest time is known (tasks/core/tests/definition.rs adds them up against the execution's
// TimeoutSeconds and renders the table in ARCHITECTURE.md). Side by side:

/// The copy of the snapshot becoming available: large snapshots copy across regions for hours
/// (about 5.3 h).
pub const COPY_POLLING: Retrier = polling(30, 150, 120);
/// A restored or modified instance becoming available with its configuration (about 4.3 h).
pub const AVAILABLE_POLLING: Retrier = polling(30, 120, 120);
/// An instance going away after its delete (about 2.1 h).
pub const DELETED_POLLING: Retrier = polling(30, 60, 120);
/// A rename taking effect, the instance appearing under its new name: polled more often, for
/// less long (about 1.1 h).
pub const RENAMED_POLLING: Retrier = polling(10, 60, 60);
/// New master credentials taking effect: RDS applies them in minutes; wait-credentials names
/// them not applied after 20 minutes, within this (about 22 min).
pub const CREDENTIALS_POLLING: Retrier = polling(20, 23, 60);
/// set-credentials found the new instance in a passing status (it has just been restored or
/// configured and found available, so only a short one: backing-up after the restore) and
/// failed NotReady before changing anything (about 9 min). Shorter than [`BUSY_POLLING`]: the
/// execution's timeout must still hold the longest refresh.
pub const CREDENTIALS_BUSY_POLLING: Retrier = polling(15, 8, 120);
/// A step that changes an instance found it in a passing status (backing-up, modifying,
/// maintenance, ...) and failed NotReady before changing anything (about 1.2 h).
pub const BUSY_POLLING: Retrier = polling(15, 35, 120);

const fn polling(interval_seconds: u32, max_attempts: u32, max_delay_seconds: u32) -> Retrier {
    Retrier {
        error_equals: &[NOT_READY],
        interval_seconds,
        max_attempts,
        backoff_rate: 1.5,
        max_delay_seconds: Some(max_delay_seconds),
        jitter_strategy: None,
    }
}

// --- Lambda tasks -------------------------------------------------------------------------------

/// Each invocation's limit: twice the functions' own timeout (60 s, deploy/template.yaml), so
/// that only an invoke that hangs outside the function reaches it.
const LAMBDA_TASK_TIMEOUT_SECONDS: u32 = 120;

/// A Task state that invokes the task `function` (`CheckInput` is `${CheckInputFunctionArn}`,
/// filled by deploy/template.yaml's DefinitionSubstitutions, statemachine/functions.json
/// locally) with `payload` as its event, within its timeout, retrying the Lambda service's
/// errors and the transient ones. A wait adds its polling with [`Task::retry_first`].
pub fn invoke(function: &str, payload: Json) -> Task {
    lambda_task(function, obj! { "Payload": payload })
}

/// [`invoke`] with the event taken from the state data at `path`.
pub fn invoke_with(function: &str, path: &'static str) -> Task {
    lambda_task(function, obj! { "Payload.$": path })
}

/// The SQL tasks' limit: their functions' timeout (900 s, Lambda's longest) and a minute.
pub const SQL_TASK_TIMEOUT_SECONDS: u32 = 960;

/// Lambda throttling only: it refuses an invoke before the function runs. RunScript retries
/// nothing else of the Lambda service's, whose errors may come after a script ran: a script is
/// never run twice on one instance (scripts are not assumed idempotent).
pub const LAMBDA_THROTTLED_RETRY: Retrier =
    Retrier { error_equals: &[LAMBDA_TOO_MANY_REQUESTS], ..LAMBDA_SERVICE_RETRY };

/// [`invoke`] for the task that runs a script: its long timeout, and only the retries that
/// cannot run a script twice: Lambda throttling, and the transient errors of the reads (S3,
/// Secrets Manager) that come before a script starts.
pub fn invoke_script(function: &str, payload: Json) -> Task {
    let parameters = obj! { "FunctionName": format!("${{{function}FunctionArn}}") }.extended(payload);
    Task::new("arn:aws:states:::lambda:invoke", parameters)
        .timeout_seconds(SQL_TASK_TIMEOUT_SECONDS)
        .retry(LAMBDA_THROTTLED_RETRY)
        .retry(TRANSIENT_RETRY)
}

fn lambda_task(function: &str, payload: Json) -> Task {
    let parameters = obj! { "FunctionName": format!("${{{function}FunctionArn}}") }.extended(payload);
    Task::new("arn:aws:states:::lambda:invoke", parameters)
        .timeout_seconds(LAMBDA_TASK_TIMEOUT_SECONDS)
        .retry(LAMBDA_SERVICE_RETRY)
        .retry(TRANSIENT_RETRY)
}

/// A ResultSelector that keeps the named fields of a task's output and nothing else:
/// `{"arn.$": "$.Payload.arn", ...}`.
pub fn from_payload(names: &[&str]) -> Json {
    Json::Object(names.iter().map(|name| field(format!("{name}.$"), format!("$.Payload.{name}"))).collect())
}

/// The path of a field of the result at `path`: `at("$.deletion", "startedAt")`.
pub fn at(path: &str, field: &str) -> String {
    format!("{path}.{field}")
}

/// An instance as the tasks take it (`target`, `from`), by the paths of its region and of its
/// identifier.
pub fn instance(region: &str, identifier: impl Into<String>) -> Json {
    obj! { "region.$": region, "dbInstanceIdentifier.$": identifier.into() }
}

// --- Notifications ------------------------------------------------------------------------------

/// Publishes `message` through the SNS service integration (no Lambda, no code): the topic and
/// the Subject from the state data. Its result is dropped.
pub fn publish(topic_path: impl Into<String>, subject_path: impl Into<String>, message: Json) -> Task {
    let parameters = obj! { "TopicArn.$": topic_path.into(), "Subject.$": subject_path.into(), "Message": message };
    Task::new("arn:aws:states:::sns:publish", parameters).timeout_seconds(60).discard_result().retry(SNS_RETRY)
}

/// A Subject that names the instance: SNS refuses one of 100 characters or more, so a short
/// text and only an identifier (at most 63 characters) as argument.
pub fn subject(what: &str, identifier_path: &str) -> String {
    format!("States.Format('rds-refresh: {{}} {what}', {identifier_path})")
}
