//! Step Functions executions, as the lock and the repair see them: whether the execution that
//! holds a target's lock is still running (`DescribeExecution`), and which state a stopped one
//! was in (`GetExecutionHistory`).
//!
//! An execution that is stopped (console "Stop execution", `StopExecution`), times out, or
//! fails in a way its Catch cannot handle runs none of the definition's failure path: it never
//! releases its lock. Its status says it is gone. References: Step Functions API Reference,
//! `DescribeExecution` (status RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED |
//! PENDING_REDRIVE) and `GetExecutionHistory` (`reverseOrder`, `maxResults` up to 1000;
//! `<Type>StateEntered` events carry `stateEnteredEventDetails.name`).
use aws_config::SdkConfig;
use aws_sdk_sfn::Client;
use aws_sdk_sfn::error::{DisplayErrorContext, ProvideErrorMetadata};

use crate::regional::Regional;

/// What the lock knows of the execution that holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OwnerState {
    /// Running (or waiting to be redriven): it may still act on the target.
    Running,
    /// It has ended (`ABORTED`, `TIMED_OUT`, `FAILED` or `SUCCEEDED`): it will never act again.
    Ended(String),
    /// It could not be described (not an execution ARN, no permission, not found): why.
    Unknown(String),
}

impl OwnerState {
    /// The state of an execution of status `status` (the API's spelling).
    pub fn of_status(status: &str) -> Self {
        match status {
            "ABORTED" | "TIMED_OUT" | "FAILED" | "SUCCEEDED" => Self::Ended(status.to_owned()),
            // PENDING_REDRIVE: a failed execution that is being redriven will run again.
            _ => Self::Running,
        }
    }
}

/// The region of a Step Functions ARN (`arn:aws:states:<region>:<account>:execution:...`).
pub fn region_of(arn: &str) -> Option<&str> {
    let mut parts = arn.split(':');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("arn"), Some(_partition), Some("states"), Some(region)) if !region.is_empty() => Some(region),
        _ => None,
    }
}

/// Step Functions clients, one per region (an execution is described in its own region; see
/// [`Regional`]).
#[derive(Clone, Debug)]
pub struct Executions {
    clients: Regional<Client>,
}

impl Executions {
    pub fn new(config: SdkConfig) -> Self {
        let make = |config: &SdkConfig, region| {
            Client::from_conf(aws_sdk_sfn::config::Builder::from(config).region(region).build())
        };
        Self { clients: Regional::new(config, make) }
    }

    fn client(&self, region: &str) -> Client {
        self.clients.client(region)
    }

    /// Whether execution `arn` is still running. Never an error: an execution that cannot be
    /// described is [`OwnerState::Unknown`], and the lock then keeps its expiry rule.
    pub async fn owner_state(&self, arn: &str) -> OwnerState {
        let Some(region) = region_of(arn) else {
            return OwnerState::Unknown(format!("{arn} is not a Step Functions execution ARN"));
        };
        match self.client(region).describe_execution().execution_arn(arn).send().await {
            Ok(execution) => OwnerState::of_status(execution.status().as_str()),
            Err(error) => {
                let code = error.code().unwrap_or("no error code").to_owned();
                OwnerState::Unknown(format!("DescribeExecution {arn}: {code}: {}", DisplayErrorContext(&error)))
            }
        }
    }

    /// The input of execution `arn` (for an event that left it out: EventBridge omits an
    /// input over 248 KiB, `inputDetails.included: false`).
    pub async fn input_of(&self, arn: &str) -> Option<String> {
        let region = region_of(arn)?;
        let execution = self.client(region).describe_execution().execution_arn(arn).send().await.ok()?;
        execution.input().map(str::to_owned)
    }

    /// The last state execution `arn` entered, if its history says so (`None` when it cannot
    /// be read: the repair still runs, it only cannot name the state).
    pub async fn last_state_entered(&self, arn: &str) -> Option<String> {
        let region = region_of(arn)?;
        let history = self
            .client(region)
            .get_execution_history()
            .execution_arn(arn)
            .reverse_order(true)
            .max_results(100)
            .send()
            .await
            .map_err(|error| tracing::warn!(error = %DisplayErrorContext(&error), "GetExecutionHistory {arn}"))
            .ok()?;
        history.events().iter().find_map(|event| Some(event.state_entered_event_details()?.name().to_owned()))
    }
}

/// Whether `status` (the API's spelling) is that of an execution that has ended.
pub fn has_ended(status: &str) -> bool {
    matches!(OwnerState::of_status(status), OwnerState::Ended(_))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_ended_execution_gives_up_its_lock() {
        for status in ["ABORTED", "TIMED_OUT", "FAILED", "SUCCEEDED"] {
            assert_eq!(OwnerState::of_status(status), OwnerState::Ended(status.into()));
            assert!(has_ended(status));
        }
        for status in ["RUNNING", "PENDING_REDRIVE", "SOMETHING_NEW"] {
            assert_eq!(OwnerState::of_status(status), OwnerState::Running, "{status}");
            assert!(!has_ended(status));
        }
    }

    #[test]
    fn the_region_comes_from_the_arn() {
        assert_eq!(region_of("arn:aws:states:eu-west-1:123456789012:execution:refresh:run-1"), Some("eu-west-1"));
        assert_eq!(region_of("local-run-1"), None);
        assert_eq!(region_of("arn:aws:lambda:eu-west-1:1:function:f"), None);
    }
}
