//! The repair (statemachine/repair.asl.json): started by EventBridge when a refresh execution
//! ends without its failure path (stopped, timed out) or with it unfinished. One task decides and
//! starts the repair; then a re-run of the refresh or a wait for the target, and a notification.

use crate::asl::{Choice, Fail, Jitter, Retrier, StateMachine, States, Succeed, Task, catch_all, compare, not, when};
use crate::conventions::*;
use crate::json::{Json, obj};
use crate::names::result_paths::{ERROR, NOTIFICATION_ERROR, OUTCOME};
use crate::names::*;

/// 42 h: the re-run's own timeout (the refresh's 39 h) and this machine's waits
/// (tasks/core/tests/definition.rs checks it), or the repair would time out first and never
/// notify.
const TIMEOUT_SECONDS: u32 = 151_200;

// The state is repair-execution's output (schemas/repair-execution.output.schema.json).
const TARGET_REGION: &str = "$.target.region";
const TARGET_ID: &str = "$.target.dbInstanceIdentifier";
const NOTIFY: &str = "$.notify";

/// Starting the re-run: Step Functions' own errors and its execution quota.
const RERUN_RETRY: Retrier = Retrier {
    error_equals: &[SFN_SDK_CLIENT_EXCEPTION, SFN_AWS_EXCEPTION, SFN_EXECUTION_LIMIT_EXCEEDED],
    interval_seconds: 5,
    max_attempts: 6,
    backoff_rate: 2.0,
    max_delay_seconds: None,
    jitter_strategy: Some(Jitter::Full),
};

pub fn repair() -> StateMachine {
    let mut states = States::default();
    states.add(
        "Repair",
        invoke_with("RepairExecution", "$")
            .comment("Looks at what the ended execution left and starts its repair: renames the old target back, deletes the new instances beside it, releases the lock it still holds; decides whether to wait for the target or re-run the refresh (schemas/repair-execution.output.schema.json). NotReady (an instance in a passing status) is waited out, the repair deciding again from what it then sees.")
            .output_path("$.Payload")
            .retry_first(BUSY_POLLING)
            .catch(catch_all(ERROR, "RepairFailed"))
            .next("WaitOrRerun?"),
    );
    states.add(
        "WaitOrRerun?",
        Choice::new(
            "A re-run when only a refresh brings the target back; a wait when the target is getting its name back; otherwise straight to the notification.",
            vec![
                when(not(compare("$.rerun", "IsNull", true)), "Rerun"),
                when(compare("$.waitForTarget", "BooleanEquals", true), "WaitServing"),
            ],
            "Notify?",
        ),
    );
    // The re-run and the wait keep what came of them, or the error, as the outcome to notify.
    states.add(
        "Rerun",
        Task::new(
            "arn:aws:states:::states:startExecution.sync:2",
            obj! {
                "StateMachineArn": REFRESH_STATE_MACHINE_ARN,
                "Name.$": "$.rerun.name",
                "Input.$": "$.rerun.input",
            },
        )
        .comment("Re-runs the refresh with the ended execution's input and waits for it (named repair-<name>: a repair never re-runs a re-run). It takes over the lock if need be and restores the target from the configuration kept in the state table.")
        .result_selector(obj! { "status.$": "$.Status", "executionArn.$": "$.ExecutionArn", "output.$": "$.Output" })
        .result_path(OUTCOME)
        .retry(RERUN_RETRY)
        .catch(catch_all(OUTCOME, "NotifyIncomplete?"))
        .next("Notify?"),
    );
    states.add(
        "WaitServing",
        invoke("WaitAvailable", obj! { "target": instance(TARGET_REGION, TARGET_ID), "appearing": true })
            .comment("Polls until the target serves under its name again (the old one renamed back, or the new one after the switch).")
            .result_selector(from_payload(&["endpoint"]))
            .result_path(OUTCOME)
            .retry_first(RENAMED_POLLING)
            .catch(catch_all(OUTCOME, "NotifyIncomplete?"))
            .next("Notify?"),
    );
    // repair-execution leaves `notify` null when there is nothing to say or no topic.
    let notify_given = || not(compare(NOTIFY, "IsNull", true));
    states.add(
        "Notify?",
        Choice::new(
            "Notify when the request named a topic and there is something to say (a failure whose own failure path notified and left nothing is not reported twice).",
            vec![when(notify_given(), "Notify")],
            "Repaired?",
        ),
    );
    states.add(
        "Notify",
        publish(at(NOTIFY, "topicArn"), at(NOTIFY, "subject"), message("repaired"))
            .comment("Publishes what the ended execution left and what was repaired to the request's notify.topicArn.")
            .catch(catch_all(NOTIFICATION_ERROR, "NotificationFailed"))
            .next("Repaired?"),
    );
    states.add(
        "Repaired?",
        Choice::new(
            "A target that cannot be repaired automatically fails the repair execution too (the alarm on the repair state machine sees it).",
            vec![when(compare("$.repair.action", "StringEquals", "manual"), "NeedsRepairByHand")],
            "Repaired",
        ),
    );
    states.add(
        "Repaired",
        Succeed { comment: "The output: schemas/repair-execution.output.schema.json, with outcome filled in." },
    );
    states.add(
        "NotifyIncomplete?",
        Choice::without_comment(vec![when(notify_given(), "NotifyIncomplete")], "RepairIncomplete"),
    );
    states.add(
        "NotifyIncomplete",
        publish(at(NOTIFY, "topicArn"), subject("repair failed", TARGET_ID), message("repair-failed"))
            .comment("The re-run failed or the target did not come back: says so, with the error.")
            .catch(catch_all(NOTIFICATION_ERROR, "NotificationFailed"))
            .next("RepairIncomplete"),
    );
    states.add(
        "RepairIncomplete",
        Fail {
            comment: Some("The re-run failed, or the target did not serve again in time."),
            error: Some(REPAIR_INCOMPLETE),
            cause: Some("the target does not serve yet: see the notification or this execution's history"),
            ..Fail::default()
        },
    );
    states.add(
        "NeedsRepairByHand",
        Fail {
            comment: Some("The repair's reason says what to do."),
            error: Some(NEEDS_REPAIR_BY_HAND),
            cause: Some("the ended execution left the target in a state the repair does not undo automatically: see repair.reason in the notification"),
            ..Fail::default()
        },
    );
    states.add(
        "RepairFailed",
        Fail {
            comment: Some("The repair task itself failed: its cause is the task's error (errorType and errorMessage)."),
            error: Some(REPAIR_FAILED),
            cause_path: Some(at(ERROR, "Cause")),
            ..Fail::default()
        },
    );
    states.add(
        "NotificationFailed",
        Fail {
            error: Some(NOTIFICATION_FAILED),
            cause: Some("the repair was done but its notification could not be published"),
            ..Fail::default()
        },
    );
    StateMachine {
        comment: "rds-refresh repair: started by EventBridge when a refresh execution ends ABORTED, TIMED_OUT or FAILED (Step Functions Execution Status Change). Such an execution ran none of its failure path: the repair makes the target serve again under its name, releases the lock the execution still holds, and notifies. Its input is the EventBridge event.",
        start_at: "Repair",
        timeout_seconds: Some(TIMEOUT_SECONDS),
        states,
    }
}

/// Both notifications' message: what the ended execution left, what the repair did and what
/// came of it.
fn message(outcome: &str) -> Json {
    obj! {
        "outcome": outcome,
        "repairedExecution.$": "$.execution",
        "status.$": "$.status",
        "stoppedIn.$": "$.stoppedIn",
        "target.$": "$.target",
        "mode.$": "$.mode",
        "repair.$": "$.repair",
        "lockReleased.$": "$.lockReleased",
        "result.$": OUTCOME,
        "execution.$": EXECUTION_ID,
    }
}
