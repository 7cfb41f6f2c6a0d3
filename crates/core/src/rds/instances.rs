//! DB instances: finding one, listing a region's, reading the settings a refresh keeps, and the
//! actions several tasks share (a rename, deleting a temporary instance, turning deletion
//! protection off).
use aws_sdk_rds::Client;
use aws_sdk_rds::types::DbInstance;

use crate::TaskError;
use crate::decisions::renaming::{self, Renaming};
use crate::error::{error_code, from_sdk};
use crate::model::{Endpoint, InstanceRef, TargetConfiguration};
use crate::tags;

/// The instance `id` in the client's region, or `None` when RDS says it does not exist.
///
/// Only `DBInstanceNotFound` means "does not exist"; every other error is an error.
pub async fn find_instance(client: &Client, id: &str) -> Result<Option<DbInstance>, TaskError> {
    match client.describe_db_instances().db_instance_identifier(id).send().await {
        Ok(output) => Ok(output.db_instances.unwrap_or_default().into_iter().next()),
        Err(error) if error_code(&error) == Some("DBInstanceNotFound") => Ok(None),
        Err(error) => Err(from_sdk(&format!("DescribeDBInstances {id}"), error)),
    }
}

/// Every instance of the target's region (RDS has no filter by name pattern or tag for
/// instances): for the leftovers of earlier swaps, and for the target itself when a caller
/// needs both.
pub async fn region_instances(client: &Client, target: &InstanceRef) -> Result<Vec<DbInstance>, TaskError> {
    let mut pages = client.describe_db_instances().into_paginator().send();
    let mut instances = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| from_sdk(&format!("DescribeDBInstances in {}", target.region), e))?;
        instances.extend(page.db_instances.unwrap_or_default());
    }
    Ok(instances)
}

/// Renames `from` to `to` (swap mode's renames, and undoing one), if
/// [`renaming::decide`] lets it: an instance that already has the new name and no instance
/// with the old one is taken as an earlier attempt's rename.
pub async fn rename(
    client: &Client,
    source: &InstanceRef,
    from: &InstanceRef,
    to: &str,
) -> Result<Renaming, TaskError> {
    let old = find_instance(client, &from.db_instance_identifier).await?;
    let new = find_instance(client, to).await?;
    let renaming = renaming::decide(source, from, to, old.as_ref(), new.as_ref())?;
    if renaming == Renaming::Rename {
        client
            .modify_db_instance()
            .db_instance_identifier(&from.db_instance_identifier)
            .new_db_instance_identifier(to)
            .apply_immediately(true)
            .send()
            .await
            .map_err(|e| from_sdk(&format!("ModifyDBInstance {} -> {to}", from.display_name()), e))?;
        tracing::info!(from = %from.display_name(), to, "renamed");
    }
    Ok(renaming)
}

/// Starts deleting `id`, a temporary instance of swap mode (a restore that never served as the
/// target, so no final snapshot). `Ok(true)` when this call started the deletion, `Ok(false)`
/// when there was no instance to delete; an instance RDS will not delete in its present status
/// is `NotReady` (see [`from_sdk`]).
///
/// A temporary configured like the target carries the target's deletion protection, which RDS
/// would refuse the delete for (`InvalidParameterCombination`): it is turned off first (the
/// instance never served as the target), and the call is `NotReady` until that has applied.
pub async fn delete_temporary(client: &Client, id: &str) -> Result<bool, TaskError> {
    match find_instance(client, id).await? {
        None => return Ok(false),
        Some(instance) if instance.deletion_protection() == Some(true) => {
            turn_off_deletion_protection(client, id).await?;
            return Err(TaskError::NotReady(format!("{id}: turning off its deletion protection before deleting it")));
        }
        Some(_) => {}
    }
    match client.delete_db_instance().db_instance_identifier(id).skip_final_snapshot(true).send().await {
        Ok(_) => Ok(true),
        Err(error) if error_code(&error) == Some("DBInstanceNotFound") => Ok(false),
        Err(error) => Err(from_sdk(&format!("DeleteDBInstance {id}"), error)),
    }
}

/// Turns instance `id`'s deletion protection off, at once (a modify that causes no outage).
pub async fn turn_off_deletion_protection(client: &Client, id: &str) -> Result<(), TaskError> {
    client
        .modify_db_instance()
        .db_instance_identifier(id)
        .deletion_protection(false)
        .apply_immediately(true)
        .send()
        .await
        .map_err(|e| from_sdk(&format!("ModifyDBInstance {id} (deletion protection off)"), e))?;
    Ok(())
}

/// Where `instance` listens, once RDS reports both its address and its port.
pub fn endpoint_of(instance: &DbInstance) -> Option<Endpoint> {
    instance.endpoint().and_then(|e| Some(Endpoint { address: e.address()?.to_owned(), port: e.port()? }))
}

/// Every setting of `instance` that a refresh keeps.
pub fn configuration_of(instance: &DbInstance) -> TargetConfiguration {
    let non_default = |name: Option<&str>| name.filter(|name| !is_default_group(name)).map(str::to_owned);
    TargetConfiguration {
        db_instance_class: instance.db_instance_class().map(str::to_owned),
        db_subnet_group_name: instance.db_subnet_group().and_then(|g| g.db_subnet_group_name()).map(str::to_owned),
        vpc_security_group_ids: instance
            .vpc_security_groups()
            .iter()
            .filter_map(|g| g.vpc_security_group_id())
            .map(str::to_owned)
            .collect(),
        db_parameter_group_name: non_default(
            instance.db_parameter_groups().first().and_then(|g| g.db_parameter_group_name()),
        ),
        option_group_name: non_default(instance.option_group_memberships().first().and_then(|g| g.option_group_name())),
        multi_az: instance.multi_az(),
        storage_type: instance.storage_type().map(str::to_owned),
        allocated_storage: instance.allocated_storage(),
        iops: instance.iops(),
        storage_throughput: instance.storage_throughput(),
        max_allocated_storage: instance.max_allocated_storage(),
        // The port the instance is configured to listen on. RDS has been seen to report
        // DbInstancePort 0 for instances (aws/aws-sdk-java#924), so a 0 falls back to the
        // endpoint's port. The emulator's data plane reports the configured port there and
        // the port its server really listens on (on 127.0.0.1, which every instance shares)
        // in the endpoint: the endpoint is where to connect, not a setting to copy.
        port: instance.db_instance_port().filter(|port| *port > 0).or(instance.endpoint().and_then(|e| e.port())),
        publicly_accessible: Some(instance.publicly_accessible().unwrap_or(false)),
        iam_database_authentication_enabled: instance.iam_database_authentication_enabled(),
        enabled_cloudwatch_logs_exports: Some(instance.enabled_cloudwatch_logs_exports().to_vec()),
        copy_tags_to_snapshot: instance.copy_tags_to_snapshot(),
        deletion_protection: instance.deletion_protection(),
        auto_minor_version_upgrade: instance.auto_minor_version_upgrade(),
        backup_retention_period: instance.backup_retention_period(),
        preferred_backup_window: instance.preferred_backup_window().map(str::to_owned),
        preferred_maintenance_window: instance.preferred_maintenance_window().map(str::to_owned),
        monitoring_interval: instance.monitoring_interval(),
        monitoring_role_arn: instance.monitoring_role_arn().map(str::to_owned),
        performance_insights_enabled: Some(instance.performance_insights_enabled().unwrap_or(false)),
        performance_insights_kms_key_id: instance.performance_insights_kms_key_id().map(str::to_owned),
        performance_insights_retention_period: instance.performance_insights_retention_period(),
        ca_certificate_identifier: instance.ca_certificate_identifier().map(str::to_owned),
        license_model: instance.license_model().map(str::to_owned),
        master_user_secret_kms_key_id: instance
            .master_user_secret()
            .and_then(|secret| secret.kms_key_id())
            .map(str::to_owned),
        tags: tags::to_map(instance.tag_list())
            .into_iter()
            .filter(|(key, _)| crate::model::configuration::is_user_tag(key))
            .collect(),
    }
}

/// Whether `name` is one of RDS's default parameter or option groups (`default.postgres16`,
/// `default:postgres-16`). Those belong to an engine version, which the snapshot may not
/// share with the old target, so they are left for RDS to choose for the restored version.
pub fn is_default_group(name: &str) -> bool {
    name.starts_with("default.") || name.starts_with("default:")
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_rds::types::{DbParameterGroupStatus, Tag, VpcSecurityGroupMembership};

    #[test]
    fn default_groups_are_recognised() {
        assert!(is_default_group("default.postgres16"));
        assert!(is_default_group("default:postgres-16"));
        assert!(!is_default_group("staging-pg16"));
        assert!(!is_default_group("defaults-pg"));
    }

    #[test]
    fn the_configuration_keeps_settings_and_user_tags_only() {
        let instance = DbInstance::builder()
            .db_instance_class("db.r6g.large")
            .multi_az(true)
            .vpc_security_groups(VpcSecurityGroupMembership::builder().vpc_security_group_id("sg-1").build())
            .db_parameter_groups(
                DbParameterGroupStatus::builder().db_parameter_group_name("default.postgres16").build(),
            )
            .tag_list(Tag::builder().key("team").value("data").build())
            .tag_list(Tag::builder().key("aws:cloudformation:stack-name").value("s").build())
            .tag_list(Tag::builder().key(tags::SOURCE).value("us-east-1/x").build())
            .build();
        let configuration = configuration_of(&instance);
        assert_eq!(configuration.db_instance_class.as_deref(), Some("db.r6g.large"));
        assert_eq!(configuration.multi_az, Some(true));
        assert_eq!(configuration.vpc_security_group_ids, ["sg-1"]);
        assert_eq!(configuration.db_parameter_group_name, None);
        assert_eq!(configuration.tags, std::collections::BTreeMap::from([("team".into(), "data".into())]));
    }
}
