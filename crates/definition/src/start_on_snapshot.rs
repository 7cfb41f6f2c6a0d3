//! The snapshot starter (statemachine/start-on-snapshot.asl.json): one StartExecution of the
//! refresh under a name derived from the snapshot, so that a repeated event starts nothing new.
//! Nothing in it repeats; it is declared here so that its names come from the same place.

use crate::asl::{Catcher, Jitter, Retrier, StateMachine, States, Succeed, Task};
use crate::conventions::REFRESH_STATE_MACHINE_ARN;
use crate::json::obj;
use crate::names::result_paths::{ALREADY_STARTED, STARTED};
use crate::names::*;

/// 1 s growing to 30 s, 6 times: about a minute, well within the EXPRESS machine's 5 minutes.
const START_RETRY: Retrier = Retrier {
    error_equals: &[
        SFN_AWS_EXCEPTION,
        SFN_SDK_CLIENT_EXCEPTION,
        SFN_THROTTLING,
        SFN_SERVICE_UNAVAILABLE,
        SFN_INTERNAL_FAILURE,
        SFN_EXECUTION_LIMIT_EXCEEDED,
        STATES_TIMEOUT,
    ],
    interval_seconds: 1,
    max_attempts: 6,
    backoff_rate: 2.0,
    max_delay_seconds: Some(30),
    jitter_strategy: Some(Jitter::Full),
};

pub fn start_on_snapshot() -> StateMachine {
    let mut states = States::default();
    states.add(
        "StartRefresh",
        Task::new(
            "arn:aws:states:::states:startExecution",
            obj! {
                "StateMachineArn": REFRESH_STATE_MACHINE_ARN,
                "Name.$": "States.Format('snapshot-{}', States.Hash($.snapshotArn, 'SHA-256'))",
                "Input.$": "$.refresh",
            },
        )
        .comment("Request-response (not .sync): the refresh runs for hours, this EXPRESS machine at most 5 minutes. Retry: throttling, service and network errors and a timed-out call (no list of this integration's error names is documented: the Java SDK's generic names, and the API's codes as the integration names them), 1 s growing to 30 s with full jitter, 6 retries, about a minute at most; a retried start stays safe, the same name and input either start the execution or find it. Catch: the name is taken, so the refresh for this snapshot was started before (and has ended, or was started with other input); StepFunctions.ExecutionAlreadyExistsException is what the optimized integration raises, the others are the same error under the API's bare code and under the AWS SDK integration's prefix (Sfn.).")
        .timeout_seconds(20)
        .result_selector(obj! { "executionArn.$": "$.ExecutionArn", "startDate.$": "$.StartDate" })
        .result_path(STARTED)
        .retry(START_RETRY)
        .catch(Catcher {
            error_equals: &[SFN_EXECUTION_ALREADY_EXISTS, SFN_EXECUTION_ALREADY_EXISTS_CODE, SDK_SFN_EXECUTION_ALREADY_EXISTS],
            result_path: ALREADY_STARTED,
            next: "AlreadyStarted".to_owned(),
        })
        .end(),
    );
    states.add(
        "AlreadyStarted",
        Succeed { comment: "The refresh for this snapshot was already started (an execution named snapshot-<hash> exists): nothing new is started. The output keeps the error under alreadyStarted." },
    );
    StateMachine {
        comment: "Starts the refresh for one snapshot event, under an execution name derived from the snapshot's ARN (snapshot-<SHA-256 of the ARN, hex>: 73 characters, all allowed in a name), so a retried or duplicated event starts nothing new: StartExecution with the name and input of a running execution answers with that execution, and with the name of a closed one (or other input) fails ExecutionAlreadyExists, caught here (Step Functions API Reference, StartExecution). Input, from the rule's InputTransformer (deploy/template.yaml, SnapshotCreatedRule): {\"snapshotArn\": <the event's detail.SourceArn>, \"refresh\": <the refresh's execution input>}. An EventBridge rule target cannot name the execution it starts, hence this state machine (ARCHITECTURE.md, Decisions).",
        start_at: "StartRefresh",
        timeout_seconds: None,
        states,
    }
}
