//! check-connections: before y's name serves the new instance, logs in as its master user
//! and as each role given a secret, with y's secrets, and runs `SELECT 1`; reports what the
//! credential steps did (the execution output's `credentials`).
use rds_refresh_database::Session;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TaskError;
use crate::lambda::Database;
use crate::logins::{DatabaseRef, connect_as_master, connection_failed, master_login, master_secret_arn, role_login};
use crate::model::{CredentialsApplied, CredentialsPlan};
use crate::tasks::apply_roles;

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub database: DatabaseRef,
    pub credentials: CredentialsPlan,
    /// apply-roles' output.
    pub roles: apply_roles::Output,
}

pub type Output = CredentialsApplied;

pub async fn handle(clients: Database, input: Input) -> Result<Output, TaskError> {
    let Input { database, credentials, roles } = input;
    let master = master_login(&clients.secrets, &credentials, &database).await?;
    connect_as_master(&clients.tls, &master).await?.check().await.map_err(connection_failed)?;
    let mut checked_logins = vec![master.user.clone()];
    for role in &credentials.roles {
        let login = role_login(&clients.secrets, role, &database).await?;
        let session = Session::connect(&clients.tls, &login).await.map_err(connection_failed)?;
        session.check().await.map_err(connection_failed)?;
        checked_logins.push(role.role.clone());
    }
    tracing::info!(?checked_logins, "the target's logins work");
    Ok(CredentialsApplied {
        master_username: credentials.master_username.clone(),
        master_user_secret_arn: Some(master_secret_arn(&credentials, &database)?),
        roles_set: roles.roles_set,
        logins_disabled: roles.logins_disabled,
        checked_logins,
    })
}
