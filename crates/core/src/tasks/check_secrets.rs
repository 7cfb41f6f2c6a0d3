//! check-secrets: reads every secret the new target's credentials come from and checks its
//! shape, before anything is changed; decides what the credential steps will do.
//!
//! Its output (the plan) names secrets and their versions, never their values: each later
//! step reads the version checked here.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TaskError;
use crate::decisions::credentials::{MasterSource, SecretOf, master_source, password_in};
use crate::model::{CredentialsPlan, RoleSecret, SnapshotRef, SqlSpec, TargetConfiguration, TargetSpec};
use crate::secrets::Secrets;

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub target: TargetSpec,
    pub snapshot: SnapshotRef,
    /// The target's configuration (describe-target): whether RDS manages its master password.
    #[serde(default)]
    pub configuration: Option<TargetConfiguration>,
    /// The input's `sql`: SQL steps log in as the master user too.
    #[serde(default)]
    pub sql: SqlSpec,
}

/// The plan: `master: null` when the new target keeps the snapshot's credentials.
pub type Output = CredentialsPlan;

pub async fn handle(secrets: Secrets, input: Input) -> Result<Output, TaskError> {
    let managed_key = input.configuration.as_ref().and_then(|c| c.master_user_secret_kms_key_id.as_deref());
    plan(&secrets, &input.target, &input.snapshot, managed_key, input.sql.given()).await
}

/// Reads and checks every secret `target` names; shared with the dry run.
pub async fn plan(
    secrets: &Secrets,
    target: &TargetSpec,
    snapshot: &SnapshotRef,
    managed_key: Option<&str>,
    sql_given: bool,
) -> Result<CredentialsPlan, TaskError> {
    let source = master_source(target, managed_key, sql_given)?;
    let master_username = snapshot.master_username.clone().unwrap_or_default();
    let master = match source {
        Some(MasterSource::Secret(arn)) => {
            if master_username.is_empty() {
                return Err(TaskError::RdsRequestFailed(format!(
                    "snapshot {} does not say its master user (MasterUsername)",
                    snapshot.identifier
                )));
            }
            let read = secrets.read(&arn, None).await?;
            password_in(&read.arn, read.text.as_ref(), SecretOf::Master(&master_username))?;
            Some(MasterSource::Secret(arn).planned(Some(read.version_id)))
        }
        other => other.map(|source| source.planned(None)),
    };
    let mut roles = Vec::new();
    for (role, arn) in &target.role_secrets {
        let read = secrets.read(arn, None).await?;
        password_in(&read.arn, read.text.as_ref(), SecretOf::Role(role))?;
        roles.push(RoleSecret { role: role.clone(), secret_arn: arn.clone(), version_id: read.version_id });
    }
    tracing::info!(
        target = %target.db_instance_identifier,
        master = ?master.as_ref().map(|_| "set"),
        roles = roles.len(),
        "checked the target's secrets"
    );
    Ok(CredentialsPlan { master, master_username, roles, other_logins: target.other_logins })
}
