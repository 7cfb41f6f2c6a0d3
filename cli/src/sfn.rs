//! The Step Functions API: the client, and the calls the commands make.
use aws_config::{BehaviorVersion, Region};
use aws_sdk_sfn::Client;
use aws_sdk_sfn::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sfn::types::{HistoryEvent, HistoryEventType};

use crate::error::CliError;
use crate::timeline::{Event, EventKind, Status};

/// A client for the region in `arn` (a state machine or execution ARN), with every other
/// setting from the standard chain: profile, credentials, `AWS_ENDPOINT_URL[_SFN]`.
pub async fn client_for(arn: &str) -> Client {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = region_of(arn) {
        loader = loader.region(Region::new(region.to_owned()));
    }
    Client::new(&loader.load().await)
}

/// `arn:aws:states:<region>:<account>:...` -> the region.
fn region_of(arn: &str) -> Option<&str> {
    let mut parts = arn.split(':');
    match (parts.next(), parts.nth(2)) {
        (Some("arn"), Some(region)) if !region.is_empty() => Some(region),
        _ => None,
    }
}

/// Names a failed call: the operation, the service's error code and message.
pub fn api_error<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    operation: &'static str,
    error: aws_sdk_sfn::error::SdkError<E, R>,
) -> CliError {
    let code = error.code().map(str::to_owned);
    let message = match error.as_service_error() {
        Some(service) => service.message().unwrap_or_default().to_owned(),
        None => DisplayErrorContext(&error).to_string(),
    };
    CliError::Api { operation, code, message }
}

/// The events of the execution's history after event `after` (0: all of them), oldest first.
///
/// Read newest first, stopping at the first page that reaches an event already seen: a
/// `watch` poll of a long execution reads the few new events, not the whole history again.
/// (A server that ignores `reverseOrder` and sends everything in one page, like moto's, gives
/// the same result.)
pub async fn history_after(client: &Client, execution: &str, after: i64) -> Result<Vec<Event>, CliError> {
    // Following: a poll rarely finds more than a few new events. Reading it all: big pages.
    let page_size = if after == 0 { 1000 } else { 50 };
    let mut pages = client
        .get_execution_history()
        .execution_arn(execution)
        .reverse_order(true)
        .max_results(page_size)
        .into_paginator()
        .send();
    let mut events = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| api_error("GetExecutionHistory", error))?;
        let seen_before = page.events().iter().any(|event| event.id() <= after);
        events.extend(page.events().iter().filter(|event| event.id() > after).map(event_of));
        if seen_before {
            break;
        }
    }
    events.sort_by_key(|event| event.id);
    Ok(events)
}

/// Reduces an SDK history event to the timeline's view of it.
fn event_of(event: &HistoryEvent) -> Event {
    use HistoryEventType as T;
    // Each failure event has its own details type, all with `error()` and `cause()`.
    macro_rules! error_and_cause {
        ($details:expr) => {{
            let details = $details;
            let text = |value: Option<&str>| value.unwrap_or_default().to_owned();
            (text(details.and_then(|d| d.error())), text(details.and_then(|d| d.cause())))
        }};
    }
    let failed = |(error, cause)| EventKind::AttemptFailed { error, cause };
    let ended = |status, (error, cause)| EventKind::Ended { status, error, cause };
    let kind = if let Some(entered) = event.state_entered_event_details() {
        EventKind::StateEntered { name: entered.name().to_owned() }
    } else if let Some(exited) = event.state_exited_event_details() {
        EventKind::StateExited { name: exited.name().to_owned(), output: exited.output().map(str::to_owned) }
    } else {
        match event.r#type() {
            T::TaskScheduled | T::LambdaFunctionScheduled => EventKind::AttemptScheduled,
            T::TaskFailed => failed(error_and_cause!(event.task_failed_event_details())),
            T::TaskTimedOut => failed(error_and_cause!(event.task_timed_out_event_details())),
            T::LambdaFunctionFailed => failed(error_and_cause!(event.lambda_function_failed_event_details())),
            T::LambdaFunctionTimedOut => failed(error_and_cause!(event.lambda_function_timed_out_event_details())),
            T::ExecutionSucceeded => EventKind::Succeeded {
                output: event.execution_succeeded_event_details().and_then(|d| d.output()).map(str::to_owned),
            },
            T::ExecutionFailed => ended(Status::Failed, error_and_cause!(event.execution_failed_event_details())),
            T::ExecutionTimedOut => {
                ended(Status::TimedOut, error_and_cause!(event.execution_timed_out_event_details()))
            }
            T::ExecutionAborted => ended(Status::Aborted, error_and_cause!(event.execution_aborted_event_details())),
            _ => EventKind::Other,
        }
    };
    Event { id: event.id(), at: event.timestamp().as_secs_f64(), kind }
}

/// The execution's status word as the timeline knows it.
pub fn status_of(status: &aws_sdk_sfn::types::ExecutionStatus) -> Status {
    use aws_sdk_sfn::types::ExecutionStatus as S;
    match status {
        S::Succeeded => Status::Succeeded,
        S::Failed => Status::Failed,
        S::TimedOut => Status::TimedOut,
        S::Aborted => Status::Aborted,
        _ => Status::Running,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_region_comes_from_the_arn() {
        assert_eq!(region_of("arn:aws:states:eu-west-1:123456789012:stateMachine:rds-refresh"), Some("eu-west-1"));
        assert_eq!(region_of("arn:aws:states:us-west-2:1:execution:m:name"), Some("us-west-2"));
        assert_eq!(region_of("not-an-arn"), None);
    }
}
