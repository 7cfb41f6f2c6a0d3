//! wait-credentials: says whether RDS has applied the new master credentials (no pending
//! `MasterUserPassword`, the managed secret `active`), and where the instance listens.
use aws_sdk_rds::primitives::{DateTime, DateTimeFormat};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TaskError;
use crate::decisions::credentials::{MasterChange, master_change_state};
use crate::logins::DatabaseRef;
use crate::model::{CredentialsPlan, InstanceRef, MasterCredentials};
use crate::rds::{Rds, endpoint_of, find_instance};
use crate::state::now_secs;

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub target: InstanceRef,
    pub credentials: CredentialsPlan,
    /// set-credentials' `requestedAt`.
    pub requested_at: String,
}

/// Where the new instance listens, and its managed secret.
pub type Output = DatabaseRef;

pub async fn handle(rds: Rds, input: Input) -> Result<Output, TaskError> {
    let Input { target, credentials, requested_at } = input;
    let instance = find_instance(&rds.client(&target.region), &target.db_instance_identifier)
        .await?
        .ok_or_else(|| TaskError::RestoreFailed(format!("{} does not exist", target.display_name())))?;
    let requested = DateTime::from_str(&requested_at, DateTimeFormat::DateTime)
        .map_err(|_| TaskError::invalid_input("requestedAt", "must be an RFC 3339 time"))?;
    let secret = instance.master_user_secret();
    let seen = MasterChange {
        status: instance.db_instance_status().unwrap_or("unknown"),
        password_pending: instance.pending_modified_values().and_then(|p| p.master_user_password()).is_some(),
        secret_status: secret.and_then(|s| s.secret_status()),
        managed: matches!(credentials.master, Some(MasterCredentials::Managed { .. })),
        elapsed_seconds: u64::try_from(now_secs() - requested.secs()).unwrap_or(0),
    };
    master_change_state(&target.display_name(), &seen)?;
    let endpoint = endpoint_of(&instance)
        .ok_or_else(|| TaskError::NotReady(format!("{} has no endpoint yet", target.display_name())))?;
    Ok(DatabaseRef { endpoint, master_user_secret_arn: secret.and_then(|s| s.secret_arn()).map(str::to_owned) })
}
