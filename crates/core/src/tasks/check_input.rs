//! check-input: the first step. Checks the execution input against every rule, before
//! anything else runs, and returns it with every default written out, so that the later
//! states can read each field (a JSONPath to a missing field is a runtime error).
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TaskError;
use crate::lambda::NoClients;
use crate::model::{RefreshRequest, SnapshotRef};

pub type Input = RefreshRequest;

/// The state the rest of the machine starts from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    /// The input, checked, with every default written out and its identifiers in lower case
    /// (as RDS stores them).
    pub request: RefreshRequest,
    /// Always `null` here; find-snapshot fills it in. Present from the start so that the
    /// failure notification can name it whichever state failed.
    pub snapshot: Option<SnapshotRef>,
    /// `retainOldMinutes` in seconds, for the Wait state before the old target is deleted.
    pub retain_old_seconds: u32,
    /// Always `null` here; describe-target fills it in (present from the start for the
    /// failure path, like `snapshot`).
    pub target_state: Option<crate::tasks::describe_target::Output>,
    /// Always `null` here; check-connections fills it in when the credential steps run (the
    /// output's `credentials`).
    pub credentials_applied: Option<crate::model::CredentialsApplied>,
    /// Always `null` here; verify-data fills it in when the SQL steps run (the output's `sql`).
    pub sql_applied: Option<crate::model::SqlApplied>,
}

/// Needs no AWS client: the input is checked on its own.
pub async fn handle(_: NoClients, request: Input) -> Result<Output, TaskError> {
    let request = request.normalized();
    request.validate()?;
    let retain_old_seconds = request.retain_old_minutes * 60;
    Ok(Output {
        request,
        snapshot: None,
        retain_old_seconds,
        target_state: None,
        credentials_applied: None,
        sql_applied: None,
    })
}
