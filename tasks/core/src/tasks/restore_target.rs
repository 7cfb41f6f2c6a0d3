//! restore-target: restores the target instance from the snapshot copy, with the
//! configuration read from the old target.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use aws_sdk_rds::types::Tag;

use crate::TaskError;
use crate::error::{error_code, from_sdk};
use crate::model::{CopyRef, InstanceRef, TargetConfiguration};
use crate::rds::{Rds, find_instance};

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub target: InstanceRef,
    pub copy: CopyRef,
    /// The old target's settings; `null` when there was no target (RDS defaults apply).
    pub configuration: Option<TargetConfiguration>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    /// ARN of the new target instance.
    pub arn: String,
    /// Its status right after the restore call (`creating`).
    pub status: String,
}

pub async fn handle(rds: Rds, input: Input) -> Result<Output, TaskError> {
    let Input { target, copy, configuration } = input;
    target.validate("target")?;
    let client = rds.client(&target.region);
    let id = &target.db_instance_identifier;
    if let Some(existing) = find_instance(&client, id).await? {
        return Err(TaskError::TargetExists(format!(
            "{} already exists (status {}); refusing to restore over it",
            target.display_name(),
            existing.db_instance_status().unwrap_or("unknown")
        )));
    }
    let mut restore = client
        .restore_db_instance_from_db_snapshot()
        .db_instance_identifier(id)
        .db_snapshot_identifier(&copy.identifier);
    if let Some(config) = configuration {
        restore = restore
            .db_instance_class(config.db_instance_class)
            .set_db_subnet_group_name(config.db_subnet_group_name)
            .set_vpc_security_group_ids(Some(config.vpc_security_group_ids).filter(|ids| !ids.is_empty()))
            .set_db_parameter_group_name(config.db_parameter_group_name)
            .set_option_group_name(config.option_group_name)
            .multi_az(config.multi_az)
            .set_port(config.port)
            .publicly_accessible(config.publicly_accessible)
            .set_storage_type(config.storage_type)
            .set_allocated_storage(config.allocated_storage)
            .set_iops(config.iops)
            .set_storage_throughput(config.storage_throughput)
            .deletion_protection(config.deletion_protection)
            .set_tags(Some(config.tags.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()));
    }
    match restore.send().await {
        Ok(output) => {
            let instance = output.db_instance.as_ref();
            tracing::info!(target = %target.display_name(), snapshot = %copy.identifier, "restore started");
            Ok(Output {
                arn: instance.and_then(|i| i.db_instance_arn()).unwrap_or_default().to_owned(),
                status: instance.and_then(|i| i.db_instance_status()).unwrap_or("creating").to_owned(),
            })
        }
        Err(error) if error_code(&error) == Some("DBInstanceAlreadyExists") => Err(TaskError::TargetExists(format!(
            "{} already exists; refusing to restore over it",
            target.display_name()
        ))),
        Err(error) => Err(from_sdk(
            &format!("RestoreDBInstanceFromDBSnapshot {} from {}", target.display_name(), copy.identifier),
            error,
        )),
    }
}
