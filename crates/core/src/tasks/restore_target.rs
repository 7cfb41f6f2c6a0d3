//! restore-target: restores the target instance from the snapshot copy, with every setting
//! of its configuration that RestoreDBInstanceFromDBSnapshot accepts (configure-target
//! applies the rest once it is available). Never over an instance, except its own earlier
//! restore ([`crate::decisions::restore`]).
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TaskError;
use crate::decisions::restore::{self, Restore};
use crate::error::{error_code, from_sdk};
use crate::model::{CopyRef, InstanceRef, TargetConfiguration};
use crate::rds::{Rds, describe_snapshot, find_instance};
use crate::tags::{self, tag};

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub source: InstanceRef,
    pub target: InstanceRef,
    pub copy: CopyRef,
    /// Restore under this identifier instead of the target's (swap mode's temporary name).
    #[serde(default)]
    pub restore_as: Option<String>,
    /// The new target's settings; `null` on a first run (RDS's defaults apply).
    pub configuration: Option<TargetConfiguration>,
    /// The execution (`$$.Execution.Id`): the restore is tagged with it (`rds-refresh:restored-by`).
    #[serde(default)]
    pub execution: Option<String>,
    /// Whether SQL steps run on the new instance (the SQL plan's `run`): a restore from this
    /// copy made by another execution is then not gone on with.
    #[serde(default)]
    pub sql_runs: bool,
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
    let Input { source, target, restore_as, copy, configuration, execution, sql_runs } = input;
    target.validate("target")?;
    let client = rds.client(&target.region);
    let id = restore_as.as_ref().unwrap_or(&target.db_instance_identifier);
    let target = target.named(id);
    let existing = find_instance(&client, id).await?;
    if let (Restore::AlreadyRestored, Some(existing)) = (
        restore::decide(&target, existing.as_ref(), &copy.identifier, execution.as_deref().filter(|_| sql_runs))?,
        &existing,
    ) {
        // An earlier attempt of this refresh restored it already (its call may have been
        // answered after the state's timeout): go on with it.
        tracing::info!(target = %target.display_name(), "already restored from this copy");
        return Ok(Output {
            arn: existing.db_instance_arn().unwrap_or_default().to_owned(),
            status: existing.db_instance_status().unwrap_or("unknown").to_owned(),
        });
    }
    let mut request = client
        .restore_db_instance_from_db_snapshot()
        .db_instance_identifier(id)
        .db_snapshot_identifier(&copy.identifier)
        // Marks the new target as not yet refreshed until tag-target removes it, so that a
        // re-run does not take its settings for the target's configuration.
        .tags(tags::restoring(&copy.identifier))
        // The opt-in, at once: a re-run after a failure from here on must find it.
        .tags(tag(tags::SOURCE, &source.display_name()));
    if let Some(execution) = &execution {
        request = request.tags(tag(tags::RESTORED_BY, &tags::value(execution)));
    }
    if let Some(config) = configuration {
        // A restore gets at least the snapshot's storage; asking for less is an error.
        let snapshot_storage = match config.allocated_storage {
            Some(_) => describe_snapshot(&client, &copy.identifier).await?.and_then(|s| s.allocated_storage()),
            None => None,
        };
        let allocated_storage = config.allocated_storage.map(|wanted| wanted.max(snapshot_storage.unwrap_or(0)));
        let (iops, storage_throughput) = config.provisioned_performance(allocated_storage.or(snapshot_storage));
        for (key, value) in &config.tags {
            request = request.tags(tag(key, value));
        }
        request = request
            .set_db_instance_class(config.db_instance_class)
            .set_db_subnet_group_name(config.db_subnet_group_name)
            .set_vpc_security_group_ids(Some(config.vpc_security_group_ids).filter(|ids| !ids.is_empty()))
            .set_db_parameter_group_name(config.db_parameter_group_name)
            .set_option_group_name(config.option_group_name)
            .set_multi_az(config.multi_az)
            .set_storage_type(config.storage_type)
            .set_allocated_storage(allocated_storage)
            .set_iops(iops)
            .set_storage_throughput(storage_throughput)
            .set_port(config.port)
            .set_publicly_accessible(config.publicly_accessible)
            .set_enable_iam_database_authentication(config.iam_database_authentication_enabled)
            .set_enable_cloudwatch_logs_exports(config.enabled_cloudwatch_logs_exports.filter(|l| !l.is_empty()))
            .set_copy_tags_to_snapshot(config.copy_tags_to_snapshot)
            .set_deletion_protection(config.deletion_protection)
            .set_auto_minor_version_upgrade(config.auto_minor_version_upgrade)
            .set_backup_retention_period(config.backup_retention_period)
            .set_preferred_backup_window(config.preferred_backup_window)
            .set_ca_certificate_identifier(config.ca_certificate_identifier)
            .set_license_model(config.license_model);
    }
    match request.send().await {
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
