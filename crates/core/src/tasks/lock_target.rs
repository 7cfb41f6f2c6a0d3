//! lock-target: takes or releases the target's lock in the state table, so that two
//! executions never act on one target at once. The second fails fast with `TargetLocked`,
//! before it has changed anything. A lock whose execution has ended without releasing it
//! (stopped, timed out) is taken over once Step Functions says so (`DescribeExecution`), and
//! the output names it; one whose holder cannot be described expires after the state
//! machine's own timeout (see [`crate::decisions::lock`]).
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TaskError;
use crate::decisions::lock::{self, Conflict, TakenOver};
use crate::lambda::WithExecutions;
use crate::model::InstanceRef;
use crate::rds::format_time;
use crate::state::{LOCK_TTL_SECS, Lock, StateTable, now_secs};

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub target: InstanceRef,
    /// The execution that takes or gives up the lock (`$$.Execution.Id`).
    pub execution: String,
    pub action: LockAction,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LockAction {
    Acquire,
    Release,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    /// Whether this execution holds the lock now.
    pub held: bool,
    /// Until when, if held (RFC 3339).
    pub expires_at: Option<String>,
    /// The ended execution whose lock this one took over, if so: it may have left the target
    /// half refreshed, which this execution's re-run logic finishes or undoes.
    pub taken_over_from: Option<TakenOver>,
}

/// The clients of lock-target: the state table, and Step Functions to ask whether a lock's
/// holder still runs.
pub type LockClients = WithExecutions<StateTable>;

pub async fn handle(clients: LockClients, input: Input) -> Result<Output, TaskError> {
    let Input { target, execution, action } = input;
    let state = &clients.clients;
    match action {
        LockAction::Acquire => {
            let (lock, taken_over_from) = acquire(&clients, &target, &execution).await?;
            let expires_at = format_time(&aws_sdk_rds::primitives::DateTime::from_secs(lock.expires_at));
            match &taken_over_from {
                Some(dead) => tracing::warn!(
                    target = %target.display_name(), %expires_at, from = %dead.execution, status = %dead.status,
                    "took the lock over from an execution that ended without releasing it"
                ),
                None => tracing::info!(target = %target.display_name(), %expires_at, "locked"),
            }
            Ok(Output { held: true, expires_at: Some(expires_at), taken_over_from })
        }
        LockAction::Release => {
            let released = state.release_lock(&target, &execution).await?;
            tracing::info!(target = %target.display_name(), released, "unlocked");
            Ok(Output { held: false, expires_at: None, taken_over_from: None })
        }
    }
}

/// Takes the lock for `execution`, over an ended holder if need be.
async fn acquire(
    clients: &LockClients,
    target: &InstanceRef,
    execution: &str,
) -> Result<(Lock, Option<TakenOver>), TaskError> {
    let now = now_secs();
    let holder = match clients.clients.acquire_lock(target, execution, now, LOCK_TTL_SECS).await? {
        Ok(lock) => return Ok((lock, None)),
        Err(holder) => holder,
    };
    let Some(holder) = holder else {
        // Released between the write and the read: the lock is free now.
        return match clients.clients.acquire_lock(target, execution, now, LOCK_TTL_SECS).await? {
            Ok(lock) => Ok((lock, None)),
            Err(_) => Err(TaskError::TargetLocked(format!(
                "{} is being refreshed by another execution",
                target.display_name()
            ))),
        };
    };
    let owner = clients.executions.owner_state(&holder.owner).await;
    match lock::resolve(target, &holder, &owner) {
        Conflict::Locked(message) => Err(TaskError::TargetLocked(message)),
        Conflict::TakeOver(dead) => {
            match clients.clients.take_over_lock(target, &dead.execution, execution, now, LOCK_TTL_SECS).await? {
                Ok(lock) => Ok((lock, Some(dead))),
                // Released meanwhile (by the repair of the ended execution): free now.
                Err(None) => match clients.clients.acquire_lock(target, execution, now, LOCK_TTL_SECS).await? {
                    Ok(lock) => Ok((lock, None)),
                    Err(holder) => Err(TaskError::TargetLocked(format!(
                        "{} is being refreshed by {}",
                        target.display_name(),
                        holder.map(|l| l.owner).unwrap_or_else(|| "another execution".into())
                    ))),
                },
                // Another execution took it over first: it acts, this one does not.
                Err(now_held) => Err(TaskError::TargetLocked(format!(
                    "{} is being refreshed by {}, which took the lock over from {} ({}) first",
                    target.display_name(),
                    now_held.map(|l| l.owner).unwrap_or_else(|| "another execution".into()),
                    dead.execution,
                    dead.status
                ))),
            }
        }
    }
}
