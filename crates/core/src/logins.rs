//! Logging in to the new instance with y's secrets: the master user (from its secret, or from
//! the instance's RDS-managed secret) and the application roles.
use rds_refresh_database::{DatabaseError, Login, Session, Tls};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TaskError;
use crate::decisions::credentials::{SecretOf, password_in};
use crate::model::{CredentialsPlan, Endpoint, MasterCredentials, RoleSecret};
use crate::secrets::Secrets;

/// The database every RDS for PostgreSQL instance has: logins are checked against it.
pub const MAINTENANCE_DATABASE: &str = "postgres";

/// Where the new instance listens, and its managed secret (wait-credentials' output).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DatabaseRef {
    pub endpoint: Endpoint,
    /// The instance's RDS-managed master secret, when it has one.
    pub master_user_secret_arn: Option<String>,
}

/// The ARN of the secret the master password is in now.
pub fn master_secret_arn(plan: &CredentialsPlan, database: &DatabaseRef) -> Result<String, TaskError> {
    match &plan.master {
        Some(MasterCredentials::Secret { secret_arn, .. }) => Ok(secret_arn.clone()),
        Some(MasterCredentials::Managed { .. }) => database.master_user_secret_arn.clone().ok_or_else(|| {
            TaskError::CredentialsNotApplied(
                "the new instance has no RDS-managed master secret (MasterUserSecret)".into(),
            )
        }),
        None => Err(TaskError::CredentialsNotApplied("no master credentials were planned".into())),
    }
}

/// The master user's login, its password read from its secret (the version check-secrets
/// checked, or the managed secret's current one).
pub async fn master_login(
    secrets: &Secrets,
    plan: &CredentialsPlan,
    database: &DatabaseRef,
) -> Result<Login, TaskError> {
    let arn = master_secret_arn(plan, database)?;
    let version = match &plan.master {
        Some(MasterCredentials::Secret { version_id, .. }) => Some(version_id.as_str()).filter(|v| !v.is_empty()),
        _ => None,
    };
    let read = secrets.read(&arn, version).await?;
    let password = password_in(&read.arn, read.text.as_ref(), SecretOf::Master(&plan.master_username))?;
    Ok(login(database, &plan.master_username, password))
}

/// A role's login, its password read from the version of its secret check-secrets checked.
pub async fn role_login(secrets: &Secrets, role: &RoleSecret, database: &DatabaseRef) -> Result<Login, TaskError> {
    let version = Some(role.version_id.as_str()).filter(|v| !v.is_empty());
    let read = secrets.read(&role.secret_arn, version).await?;
    let password = password_in(&read.arn, read.text.as_ref(), SecretOf::Role(&role.role))?;
    Ok(login(database, &role.role, password))
}

fn login(database: &DatabaseRef, user: &str, password: rds_refresh_database::SecretString) -> Login {
    Login {
        host: database.endpoint.address.clone(),
        port: u16::try_from(database.endpoint.port).unwrap_or(5432),
        database: MAINTENANCE_DATABASE.into(),
        user: user.to_owned(),
        password,
    }
}

/// Logs in as the master user: a refused password means RDS has not applied the new one.
pub async fn connect_as_master(tls: &Tls, login: &Login) -> Result<Session, TaskError> {
    Session::connect(tls, login).await.map_err(|error| match error {
        DatabaseError::LoginRefused { .. } => {
            TaskError::CredentialsNotApplied(format!("the master password from its secret does not log in: {error}"))
        }
        other => connection_failed(other),
    })
}

/// Any other database failure, named for the state machine.
pub fn connection_failed(error: DatabaseError) -> TaskError {
    TaskError::ConnectionFailed(error.to_string())
}
