//! configure-target: gives the restored target every setting of its configuration that it
//! does not have yet: those RestoreDBInstanceFromDBSnapshot does not accept (maintenance
//! window, monitoring, Performance Insights, autoscaling limit, ...) and any the restore did
//! not apply, in one ModifyDBInstance (ApplyImmediately), and its user tags.
//!
//! wait-available, given the same configuration, then waits until all of it has taken effect.
use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use aws_sdk_rds::Client;
use aws_sdk_rds::operation::modify_db_instance::builders::ModifyDBInstanceFluentBuilder;
use aws_sdk_rds::types::{CloudwatchLogsExportConfiguration, DbInstance};

use crate::TaskError;
use crate::error::from_sdk;
use crate::instance_status::{StatusClass, classify};
use crate::model::{InstanceRef, TargetConfiguration};
use crate::rds::{Rds, configuration_of, find_instance};
use crate::tags::{self, tag};

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub target: InstanceRef,
    /// The configuration to give it; `null`: nothing to do (a first run keeps RDS's defaults).
    pub configuration: Option<TargetConfiguration>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    /// The settings changed by ModifyDBInstance.
    pub modified: Vec<String>,
    /// The user tags added or changed.
    pub tags_set: Vec<String>,
    /// The user tags removed.
    pub tags_removed: Vec<String>,
}

pub async fn handle(rds: Rds, input: Input) -> Result<Output, TaskError> {
    let Input { target, configuration } = input;
    let Some(wanted) = configuration else { return Ok(Output::default()) };
    let client = rds.client(&target.region);
    let instance = find_instance(&client, &target.db_instance_identifier)
        .await?
        .ok_or_else(|| TaskError::RestoreFailed(format!("{} does not exist", target.display_name())))?;
    let status = instance.db_instance_status().unwrap_or("unknown");
    match classify(status) {
        StatusClass::Usable => {}
        StatusClass::Transient => return Err(TaskError::NotReady(format!("{} is {status}", target.display_name()))),
        StatusClass::Failed => {
            return Err(TaskError::RestoreFailed(format!("{} is {status}", target.display_name())));
        }
    }

    let actual = configuration_of(&instance);
    let modified: Vec<String> = wanted.differences(&actual).into_iter().map(|d| d.field).collect();
    if !modified.is_empty() {
        let request = client.modify_db_instance().db_instance_identifier(&target.db_instance_identifier);
        let request = modification(request, &modified, &wanted, &actual).apply_immediately(true);
        // InvalidDBInstanceState (the instance went into backing-up or the like since it was
        // described) is NotReady, and the state machine calls again.
        request.send().await.map_err(|error| match from_sdk("ModifyDBInstance", error) {
            TaskError::RdsRequestFailed(message) => TaskError::ConfigurationNotApplied(format!(
                "{} refused {}: {message}",
                target.display_name(),
                modified.join(", ")
            )),
            other => other,
        })?;
        tracing::info!(target = %target.display_name(), ?modified, "applied the configuration");
    }

    let (tags_set, tags_removed) = converge_tags(&client, &instance, &wanted).await?;
    Ok(Output { modified, tags_set, tags_removed })
}

/// ModifyDBInstance parameters for the `fields` of `wanted` that differ from `actual`.
fn modification(
    mut request: ModifyDBInstanceFluentBuilder,
    fields: &[String],
    wanted: &TargetConfiguration,
    actual: &TargetConfiguration,
) -> ModifyDBInstanceFluentBuilder {
    for field in fields {
        request = match field.as_str() {
            "dbInstanceClass" => request.set_db_instance_class(wanted.db_instance_class.clone()),
            "dbSubnetGroupName" => request.set_db_subnet_group_name(wanted.db_subnet_group_name.clone()),
            "vpcSecurityGroupIds" => request.set_vpc_security_group_ids(Some(wanted.vpc_security_group_ids.clone())),
            "dbParameterGroupName" => request.set_db_parameter_group_name(wanted.db_parameter_group_name.clone()),
            "optionGroupName" => request.set_option_group_name(wanted.option_group_name.clone()),
            "multiAz" => request.set_multi_az(wanted.multi_az),
            "storageType" => request.set_storage_type(wanted.storage_type.clone()),
            "allocatedStorage" => request.set_allocated_storage(wanted.allocated_storage),
            "iops" => request.set_iops(wanted.iops),
            "storageThroughput" => request.set_storage_throughput(wanted.storage_throughput),
            "maxAllocatedStorage" => request.set_max_allocated_storage(wanted.max_allocated_storage),
            "port" => request.set_db_port_number(wanted.port),
            "publiclyAccessible" => request.set_publicly_accessible(wanted.publicly_accessible),
            "iamDatabaseAuthenticationEnabled" => {
                request.set_enable_iam_database_authentication(wanted.iam_database_authentication_enabled)
            }
            "enabledCloudwatchLogsExports" => {
                request.cloudwatch_logs_export_configuration(log_exports_change(wanted, actual))
            }
            "copyTagsToSnapshot" => request.set_copy_tags_to_snapshot(wanted.copy_tags_to_snapshot),
            "deletionProtection" => request.set_deletion_protection(wanted.deletion_protection),
            "autoMinorVersionUpgrade" => request.set_auto_minor_version_upgrade(wanted.auto_minor_version_upgrade),
            "backupRetentionPeriod" => request.set_backup_retention_period(wanted.backup_retention_period),
            "preferredBackupWindow" => request.set_preferred_backup_window(wanted.preferred_backup_window.clone()),
            "preferredMaintenanceWindow" => {
                request.set_preferred_maintenance_window(wanted.preferred_maintenance_window.clone())
            }
            // RDS wants the interval and the role together.
            "monitoringInterval" | "monitoringRoleArn" => {
                request.set_monitoring_interval(wanted.monitoring_interval).set_monitoring_role_arn(
                    wanted.monitoring_role_arn.clone().filter(|_| wanted.monitoring_interval > Some(0)),
                )
            }
            // And the three Performance Insights settings.
            "performanceInsightsEnabled" | "performanceInsightsKmsKeyId" | "performanceInsightsRetentionPeriod" => {
                let on = wanted.performance_insights_enabled == Some(true);
                request
                    .set_enable_performance_insights(wanted.performance_insights_enabled)
                    .set_performance_insights_kms_key_id(wanted.performance_insights_kms_key_id.clone().filter(|_| on))
                    .set_performance_insights_retention_period(
                        wanted.performance_insights_retention_period.filter(|_| on),
                    )
            }
            "caCertificateIdentifier" => {
                request.set_ca_certificate_identifier(wanted.ca_certificate_identifier.clone())
            }
            "licenseModel" => request.set_license_model(wanted.license_model.clone()),
            other => {
                tracing::warn!(field = other, "no ModifyDBInstance parameter for this setting");
                request
            }
        };
    }
    request
}

/// The log types to turn on and off so that `actual`'s exports become `wanted`'s.
fn log_exports_change(wanted: &TargetConfiguration, actual: &TargetConfiguration) -> CloudwatchLogsExportConfiguration {
    let set = |c: &TargetConfiguration| -> BTreeSet<String> {
        c.enabled_cloudwatch_logs_exports.iter().flatten().cloned().collect()
    };
    let (wanted, actual) = (set(wanted), set(actual));
    CloudwatchLogsExportConfiguration::builder()
        .set_enable_log_types(Some(wanted.difference(&actual).cloned().collect()))
        .set_disable_log_types(Some(actual.difference(&wanted).cloned().collect()))
        .build()
}

/// Makes the target's user tags the configuration's; rds-refresh's and AWS's are left alone.
async fn converge_tags(
    client: &Client,
    instance: &DbInstance,
    wanted: &TargetConfiguration,
) -> Result<(Vec<String>, Vec<String>), TaskError> {
    let arn = instance.db_instance_arn().unwrap_or_default();
    let (set, remove) = wanted.tag_changes(&tags::to_map(instance.tag_list()));
    if !set.is_empty() {
        client
            .add_tags_to_resource()
            .resource_name(arn)
            .set_tags(Some(set.iter().map(|(k, v)| tag(k, v)).collect()))
            .send()
            .await
            .map_err(|e| from_sdk(&format!("AddTagsToResource {arn}"), e))?;
    }
    if !remove.is_empty() {
        client
            .remove_tags_from_resource()
            .resource_name(arn)
            .set_tag_keys(Some(remove.clone()))
            .send()
            .await
            .map_err(|e| from_sdk(&format!("RemoveTagsFromResource {arn}"), e))?;
    }
    Ok((set.into_keys().collect(), remove))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_exports_are_turned_on_and_off_by_difference() {
        let wanted = TargetConfiguration {
            enabled_cloudwatch_logs_exports: Some(vec!["postgresql".into(), "upgrade".into()]),
            ..Default::default()
        };
        let actual = TargetConfiguration {
            enabled_cloudwatch_logs_exports: Some(vec!["iam-db-auth-error".into(), "upgrade".into()]),
            ..Default::default()
        };
        let change = log_exports_change(&wanted, &actual);
        assert_eq!(change.enable_log_types(), ["postgresql"]);
        assert_eq!(change.disable_log_types(), ["iam-db-auth-error"]);
    }
}
