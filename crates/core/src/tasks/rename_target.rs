//! rename-target: one of swap mode's renames: the old target to its retired name, or the
//! new instance to the target's name. Never onto a name that exists: RDS refuses that, and
//! a stand-in that allowed it would overwrite an instance.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use aws_sdk_rds::Client;

use crate::TaskError;
use crate::error::from_sdk;
use crate::instance_status::{StatusClass, classify};
use crate::model::InstanceRef;
use crate::rds::{Rds, find_instance, now};
use crate::tasks::describe_target::check_opted_in;

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub source: InstanceRef,
    /// The region, and the current name of the instance to rename.
    pub from: InstanceRef,
    /// Its new name, in the same region.
    pub to: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    /// `renamed`, or `already-renamed` when an earlier attempt did it.
    pub outcome: String,
    /// When the rename was asked for (RFC 3339): the start of the downtime of `from`'s name.
    pub started_at: String,
}

pub async fn handle(rds: Rds, input: Input) -> Result<Output, TaskError> {
    let Input { source, from, to } = input;
    let client = rds.client(&from.region);
    let started_at = now();
    let outcome = rename(&client, &source, &from, &to).await?;
    Ok(Output { outcome: outcome.into(), started_at })
}

/// Renames `from` to `to`; an instance that already has the new name and no instance with
/// the old one is taken as an earlier attempt's rename.
pub async fn rename(
    client: &Client,
    source: &InstanceRef,
    from: &InstanceRef,
    to: &str,
) -> Result<&'static str, TaskError> {
    let target = from.named(to);
    let old = find_instance(client, &from.db_instance_identifier).await?;
    let new = find_instance(client, to).await?;
    match (old, new) {
        (None, Some(_)) => Ok("already-renamed"),
        (None, None) => Err(TaskError::RestoreFailed(format!(
            "neither {} nor {} exists: nothing to rename",
            from.display_name(),
            target.display_name()
        ))),
        (Some(_), Some(existing)) => Err(TaskError::TargetExists(format!(
            "cannot rename {} to {}: an instance of that name exists (status {})",
            from.display_name(),
            target.display_name(),
            existing.db_instance_status().unwrap_or("unknown")
        ))),
        (Some(instance), None) => {
            check_opted_in(from, source, &instance)?;
            // RDS refuses to rename an instance that is, say, backing-up or in maintenance
            // (InvalidDBInstanceState): wait for it (NotReady) rather than fail the refresh.
            let status = instance.db_instance_status().unwrap_or("unknown");
            match classify(status) {
                StatusClass::Usable => {}
                StatusClass::Transient => {
                    return Err(TaskError::NotReady(format!(
                        "{} is {status}: renaming it once it is available",
                        from.display_name()
                    )));
                }
                StatusClass::Failed => {
                    return Err(TaskError::RdsRequestFailed(format!(
                        "cannot rename {} to {}: it is {status}",
                        from.display_name(),
                        target.display_name()
                    )));
                }
            }
            client
                .modify_db_instance()
                .db_instance_identifier(&from.db_instance_identifier)
                .new_db_instance_identifier(to)
                .apply_immediately(true)
                .send()
                .await
                .map_err(|e| from_sdk(&format!("ModifyDBInstance {} -> {to}", from.display_name()), e))?;
            tracing::info!(from = %from.display_name(), to, "renamed");
            Ok("renamed")
        }
    }
}
