//! set-credentials: gives the new instance y's master credentials, before y's name serves it:
//! the password of `target.masterUserSecretArn` (ModifyDBInstance `MasterUserPassword`), or an
//! RDS-managed secret of its own like y's (`ManageMasterUserPassword`, with y's KMS key: RDS
//! takes it after a PostgreSQL restore, not on it). RDS applies either asynchronously:
//! wait-credentials waits for it.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TaskError;
use crate::decisions::credentials::{SecretOf, password_in};
use crate::error::from_sdk;
use crate::lambda::WithSecrets;
use crate::model::{CredentialsPlan, InstanceRef, MasterCredentials};
use crate::rds::{Rds, now};
use rds_refresh_database::ExposeSecret;

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    /// The new instance (in swap mode still under its temporary name).
    pub target: InstanceRef,
    pub credentials: CredentialsPlan,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    /// When the change was asked for (RFC 3339): wait-credentials gives RDS a bounded time.
    pub requested_at: String,
}

pub async fn handle(clients: WithSecrets<Rds>, input: Input) -> Result<Output, TaskError> {
    let WithSecrets { clients: rds, secrets } = clients;
    let Input { target, credentials } = input;
    let request = rds
        .client(&target.region)
        .modify_db_instance()
        .db_instance_identifier(&target.db_instance_identifier)
        .apply_immediately(true);
    let request = match &credentials.master {
        Some(MasterCredentials::Secret { secret_arn, version_id }) => {
            let read = secrets.read(secret_arn, Some(version_id.as_str()).filter(|v| !v.is_empty())).await?;
            let password = password_in(&read.arn, read.text.as_ref(), SecretOf::Master(&credentials.master_username))?;
            request.master_user_password(password.expose_secret())
        }
        Some(MasterCredentials::Managed { kms_key_id }) => {
            request.manage_master_user_password(true).set_master_user_secret_kms_key_id(kms_key_id.clone())
        }
        None => return Err(TaskError::CredentialsNotApplied("no master credentials were planned".into())),
    };
    let requested_at = now();
    // InvalidDBInstanceState (still backing-up, ...) is NotReady: the state machine calls again.
    request.send().await.map_err(|error| match from_sdk("ModifyDBInstance", error) {
        TaskError::RdsRequestFailed(message) => TaskError::CredentialsNotApplied(format!(
            "{} refused the new master credentials: {message}",
            target.display_name()
        )),
        other => other,
    })?;
    tracing::info!(target = %target.display_name(), "asked RDS to apply the target's master credentials");
    Ok(Output { requested_at })
}
