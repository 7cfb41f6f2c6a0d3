//! repair-execution: the first step of the repair state machine, which EventBridge starts
//! when a refresh execution ends `ABORTED`, `TIMED_OUT` or `FAILED` ("Step Functions
//! Execution Status Change"). Such an execution ran none of its failure path (a `FAILED` one
//! normally did): the target may have lost its name mid-swap and the lock is still its own.
//! This task looks at the target's region, decides ([`crate::decisions::repair::decide`]) and starts the
//! repair: renames the old target back, deletes new instances left beside it, releases the
//! lock if the stopped execution still holds it; the state machine waits for the target,
//! re-runs a refresh where only one can bring the target back, and notifies.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::TaskError;
use crate::decisions::leftovers;
use crate::decisions::lock;
use crate::decisions::repair::{self, LockView, Repair, TargetView};
use crate::executions::OwnerState;
use crate::lambda::{WithExecutions, parse_input};
use crate::model::{InstanceRef, Mode, RefreshRequest};
use crate::rds::{delete_temporary, region_instances, rename};
use crate::state::{RdsAndState, now_secs};

/// The EventBridge event (only the fields read; the event has more).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Input {
    pub detail: StatusChange,
}

/// The event's `detail`: the execution that ended.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusChange {
    pub execution_arn: String,
    pub name: String,
    /// `ABORTED`, `TIMED_OUT` or `FAILED` (the rule's filter).
    pub status: String,
    /// The execution's input (JSON text); absent when it was too large for the event.
    #[serde(default)]
    pub input: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(title = "rds-refresh repair")]
pub struct Output {
    /// The execution repaired (its ARN) and how it ended.
    pub execution: String,
    pub status: String,
    /// The last state it entered, as its history says.
    pub stopped_in: Option<String>,
    /// Its target and mode; `null` when its input was not a refresh request (it changed nothing).
    pub target: Option<InstanceRef>,
    pub mode: Option<Mode>,
    /// What was done.
    pub repair: Repair,
    /// Whether this released the lock the stopped execution still held.
    pub lock_released: bool,
    /// Whether the state machine waits for the target to serve under its name.
    pub wait_for_target: bool,
    /// The refresh the state machine re-runs, if so.
    pub rerun: Option<Rerun>,
    /// Where and under which subject to notify; `null`: no notification (no topic in the
    /// request, or a failure whose own failure path already notified and left nothing).
    pub notify: Option<Notice>,
    /// Filled in by the state machine: how the re-run ended, or why waiting failed.
    pub outcome: Option<Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rerun {
    /// The re-run's execution name (`repair-<name>`): a repair never re-runs a re-run.
    pub name: String,
    /// The stopped execution's input, as it was.
    pub input: Value,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Notice {
    pub topic_arn: String,
    pub subject: String,
}

pub async fn handle(clients: WithExecutions<RdsAndState>, input: Input) -> Result<Output, TaskError> {
    let StatusChange { execution_arn, name, status, input } = input.detail;
    let executions = &clients.executions;
    let stopped_in = executions.last_state_entered(&execution_arn).await;
    let text = match input {
        Some(text) => Some(text),
        None => executions.input_of(&execution_arn).await,
    };
    let mut output = Output {
        execution: execution_arn.clone(),
        status: status.clone(),
        stopped_in,
        target: None,
        mode: None,
        repair: Repair::Nothing { reason: String::new() },
        lock_released: false,
        wait_for_target: false,
        rerun: None,
        notify: None,
        outcome: None,
    };
    let Some((original, request)) = text.as_deref().and_then(refresh_request) else {
        output.repair = Repair::Nothing { reason: "its input is not a refresh request: it changed nothing".into() };
        return Ok(output);
    };
    let target = request.target.instance();
    output.target = Some(target.clone());
    output.mode = Some(request.mode);
    if request.dry_run {
        output.repair = Repair::Nothing { reason: "a dry run changes nothing".into() };
        return Ok(output);
    }

    let lock = lock_view(&clients, &target, &execution_arn).await?;
    let client = clients.clients.rds.client(&target.region);
    // One listing of the region: the target, and what swaps left beside it.
    let instances = region_instances(&client, &target).await?;
    let seen = TargetView::among(&instances, &target.db_instance_identifier);
    let left = leftovers::among(&instances, &target, &request.source, &[]);
    let rerun_allowed = repair::may_rerun(&status, &name);
    let decision = repair::decide(&status, request.mode, rerun_allowed, &lock, seen.as_ref(), &left);

    // Undo first, then release: a repair that must wait (NotReady) is called again with the
    // lock still held, and decides again from what it then sees.
    match &decision {
        Repair::RenameBack { retired, temporaries } => {
            rename(&client, &request.source, &target.named(retired), &target.db_instance_identifier).await?;
            for temporary in temporaries {
                delete_temporary(&client, temporary).await?;
            }
        }
        Repair::RemoveTemporaries { temporaries } => {
            for temporary in temporaries {
                delete_temporary(&client, temporary).await?;
            }
        }
        _ => {}
    }
    if lock == LockView::HeldByStopped {
        output.lock_released = clients.clients.state.release_lock(&target, &execution_arn).await?;
    }
    if matches!(decision, Repair::Rerun { .. }) {
        output.rerun = Some(Rerun { name: repair::rerun_name(&name), input: original });
    }
    let notifies = status != "FAILED" || !matches!(decision, Repair::Nothing { .. });
    output.notify = request
        .notify
        .topic_arn
        .filter(|_| notifies)
        .map(|topic_arn| Notice { topic_arn, subject: decision.subject(&target.db_instance_identifier) });
    output.wait_for_target = decision.waits_for_target(seen.as_ref());
    tracing::info!(
        target = %target.display_name(), execution = %execution_arn, %status,
        stopped_in = output.stopped_in.as_deref().unwrap_or("unknown"), repair = ?decision, lock_released = output.lock_released,
        "repaired a stopped execution"
    );
    output.repair = decision;
    Ok(output)
}

/// The execution's input as it was, and as the checked request it is (`None`: not one).
fn refresh_request(text: &str) -> Option<(Value, RefreshRequest)> {
    let original: Value = serde_json::from_str(text).ok()?;
    let request = parse_input::<RefreshRequest>(original.clone()).ok()?.normalized();
    request.validate().ok()?;
    Some((original, request))
}

/// Who holds `target`'s lock, as the repair of `stopped` sees it.
pub async fn lock_view(
    clients: &WithExecutions<RdsAndState>,
    target: &InstanceRef,
    stopped: &str,
) -> Result<LockView, TaskError> {
    let Some(recorded) = clients.clients.state.current_lock(target).await? else { return Ok(LockView::Free) };
    // Its own lock, expired or not: the stopped execution never released it.
    if recorded.owner == stopped {
        return Ok(LockView::HeldByStopped);
    }
    let Some(holder) = lock::in_the_way(Some(&recorded), stopped, now_secs()) else { return Ok(LockView::Free) };
    Ok(match clients.executions.owner_state(&holder.owner).await {
        OwnerState::Ended(_) => LockView::Free,
        OwnerState::Running | OwnerState::Unknown(_) => LockView::HeldByOther(holder.owner.clone()),
    })
}
