//! lock-target: takes or releases the target's lock in the state table, so that two
//! executions never act on one target at once. The second fails fast with `TargetLocked`,
//! before it has changed anything; a lock its execution never released (it crashed, or was
//! stopped) expires after the state machine's own timeout.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TaskError;
use crate::model::InstanceRef;
use crate::rds::format_time;
use crate::state::{LOCK_TTL_SECS, StateTable, now_secs};

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
}

pub async fn handle(state: StateTable, input: Input) -> Result<Output, TaskError> {
    let Input { target, execution, action } = input;
    match action {
        LockAction::Acquire => {
            let lock = state.acquire_lock(&target, &execution, now_secs(), LOCK_TTL_SECS).await?;
            let expires_at = format_time(&aws_sdk_rds::primitives::DateTime::from_secs(lock.expires_at));
            tracing::info!(target = %target.display_name(), %expires_at, "locked");
            Ok(Output { held: true, expires_at: Some(expires_at) })
        }
        LockAction::Release => {
            let released = state.release_lock(&target, &execution).await?;
            tracing::info!(target = %target.display_name(), released, "unlocked");
            Ok(Output { held: false, expires_at: None })
        }
    }
}
