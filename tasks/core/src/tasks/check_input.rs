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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    /// The input, checked, with every default written out.
    pub request: RefreshRequest,
    /// Always `null` here; find-snapshot fills it in. Present from the start so that the
    /// failure notification can name it whichever state failed.
    pub snapshot: Option<SnapshotRef>,
}

/// Needs no AWS client: the input is checked on its own.
pub async fn handle(_: NoClients, request: Input) -> Result<Output, TaskError> {
    request.validate()?;
    Ok(Output { request, snapshot: None })
}
