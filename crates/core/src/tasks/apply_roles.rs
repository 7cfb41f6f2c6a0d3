//! apply-roles: inside the new instance, as its master user: sets each application role's
//! password from its secret, and with `otherLogins: disable` takes LOGIN from every other
//! role that has it. Before y's name serves the instance.
use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TaskError;
use crate::lambda::Database;
use crate::logins::{DatabaseRef, connect_as_master, connection_failed, master_login, role_login};
use crate::model::{CredentialsPlan, OtherLogins};
use rds_refresh_database::logins_to_disable;

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub database: DatabaseRef,
    pub credentials: CredentialsPlan,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    /// The roles whose passwords were set from their secrets.
    pub roles_set: Vec<String>,
    /// The roles that lost LOGIN.
    pub logins_disabled: Vec<String>,
}

pub async fn handle(clients: Database, input: Input) -> Result<Output, TaskError> {
    let Input { database, credentials } = input;
    let master = master_login(&clients.secrets, &credentials, &database).await?;
    let session = connect_as_master(&clients.tls, &master).await?;
    let roles = session.roles().await.map_err(connection_failed)?;

    let missing: Vec<&str> = credentials
        .roles
        .iter()
        .map(|r| r.role.as_str())
        .filter(|wanted| !roles.iter().any(|role| role.name == *wanted))
        .collect();
    if !missing.is_empty() {
        return Err(TaskError::RoleNotFound(format!(
            "{}:{} has no role {} (target.roleSecrets); the snapshot's roles are the source's",
            database.endpoint.address,
            database.endpoint.port,
            missing.join(", ")
        )));
    }
    let mut roles_set = Vec::new();
    for role in &credentials.roles {
        let login = role_login(&clients.secrets, role, &database).await?;
        session.set_password(&role.role, &login.password).await.map_err(connection_failed)?;
        roles_set.push(role.role.clone());
    }
    let mut logins_disabled = Vec::new();
    if credentials.other_logins == OtherLogins::Disable {
        let kept: BTreeSet<String> = roles_set.iter().cloned().collect();
        for role in logins_to_disable(&roles, &credentials.master_username, &kept) {
            session.disable_login(&role).await.map_err(connection_failed)?;
            logins_disabled.push(role);
        }
    }
    tracing::info!(?roles_set, ?logins_disabled, "applied the target's roles");
    Ok(Output { roles_set, logins_disabled })
}
