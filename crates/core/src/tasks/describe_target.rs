//! describe-target: reads the target's configuration before anything is changed, keeps it in
//! the state table, and says what the new target will be given.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use aws_sdk_rds::types::DbInstance;

use crate::TaskError;
use crate::engine::check_groups;
use crate::identifiers::swap_identifiers;
use crate::model::{InstanceRef, SnapshotRef, TargetConfiguration, TargetSpec};
use crate::rds::{Rds, find_instance, groups_of, now};
use crate::state::RdsAndState;
use crate::tags;

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub source: InstanceRef,
    pub target: TargetSpec,
    /// The snapshot to apply: the names swap mode uses are derived from it.
    #[serde(default)]
    pub snapshot: Option<SnapshotRef>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    /// Whether the target instance exists now.
    pub exists: bool,
    /// Its status, when it exists.
    pub status: Option<String>,
    /// Where the configuration comes from.
    pub configuration_source: ConfigurationSource,
    /// When the configuration was read from the live target.
    pub captured_at: Option<String>,
    /// What the new target is given: the old target's settings with the input's overrides
    /// applied. `null` on a first run without overrides: RDS's defaults apply.
    pub configuration: Option<TargetConfiguration>,
    /// The copy the target was restored from by a refresh that has not finished, if so.
    pub restoring_from: Option<String>,
    /// The names swap mode uses beside the target, when the snapshot was given.
    pub swap: Option<SwapNames>,
    /// An earlier attempt of this swap (same snapshot) stopped between its renames: the target's
    /// name is free, the old target has its retired name and the new instance its temporary
    /// one. The refresh goes on from there: it gives the new instance the target's name.
    #[serde(default)]
    pub swap_interrupted: bool,
}

/// The names swap mode uses beside the target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SwapNames {
    /// The new instance, until it takes the target's name.
    pub temporary: String,
    /// The old target, from the switch until it is deleted.
    pub retired: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigurationSource {
    /// Read from the target now (and kept in the state table).
    Live,
    /// Kept in the state table by an earlier run: the target is gone, or is a restore that
    /// has not finished its refresh.
    Stored,
    /// Nothing known: a first run.
    None,
}

pub async fn handle(clients: RdsAndState, input: Input) -> Result<Output, TaskError> {
    let (mut output, live) = inspect(&clients, &input.source, &input.target).await?;
    if let (Some(snapshot), Some(configuration)) = (&input.snapshot, &output.configuration) {
        check_fits_snapshot(&clients.rds, &input.target.region, configuration, snapshot).await?;
    }
    if let (Some(configuration), Some(captured_at)) = (live, &output.captured_at) {
        let target = input.target.instance();
        clients.state.put_configuration(&target, &input.source, &configuration, captured_at).await?;
    }
    output.swap = input.snapshot.map(|snapshot| {
        let (temporary, retired) = swap_identifiers(&input.target.db_instance_identifier, &snapshot.arn);
        SwapNames { temporary, retired }
    });
    if let (false, Some(names)) = (output.exists, &output.swap) {
        let client = clients.rds.client(&input.target.region);
        output.swap_interrupted = find_instance(&client, &names.retired).await?.is_some()
            && find_instance(&client, &names.temporary).await?.is_some();
    }
    Ok(output)
}

/// Reads the target and checks the guards that concern it: it must have opted in to
/// `source`, its deletion protection may only be turned off if allowed, and a target that
/// does not exist and was never seen needs `createIfMissing`. Writes nothing: the live
/// configuration (before overrides), when there is one to keep, is returned beside the output.
pub async fn inspect(
    clients: &RdsAndState,
    source: &InstanceRef,
    spec: &TargetSpec,
) -> Result<(Output, Option<TargetConfiguration>), TaskError> {
    let target = spec.instance();
    target.validate("target")?;
    spec.overrides.validate()?;
    let instance = find_instance(&clients.rds.client(&target.region), &target.db_instance_identifier).await?;
    if let Some(instance) = &instance {
        check_opted_in(&target, source, instance)?;
        check_deletion_protection(&target, instance, spec.allow_disable_deletion_protection)?;
    }

    // A target restored by an unfinished refresh may still lack its settings: prefer what
    // was kept before the old one was deleted.
    let finished = instance.as_ref().filter(|i| tags::restoring_from(i.tag_list()).is_none());
    let (configuration_source, captured_at, captured) = match finished {
        Some(instance) => (ConfigurationSource::Live, Some(now()), Some(configuration_of(instance))),
        None => match clients.state.stored_configuration(&target).await? {
            Some(stored) if stored.source != source.display_name() => {
                return Err(TaskError::TargetNotOptedIn(format!(
                    "{} is gone, and the configuration kept for it was read when it named {} as its source, not {}",
                    target.display_name(),
                    stored.source,
                    source.display_name()
                )));
            }
            Some(stored) => (ConfigurationSource::Stored, Some(stored.captured_at), Some(stored.configuration)),
            None => match &instance {
                Some(unfinished) => (ConfigurationSource::Live, None, Some(configuration_of(unfinished))),
                None if !spec.create_if_missing => {
                    return Err(TaskError::TargetNotFound(format!(
                        "{} does not exist and nothing is known of it: set target.createIfMissing to create it \
                         (with RDS's defaults and the overrides)",
                        target.display_name()
                    )));
                }
                None => (ConfigurationSource::None, None, None),
            },
        },
    };
    let live = captured.clone().filter(|_| finished.is_some());
    let configuration = match captured {
        Some(configuration) => Some(configuration.with_overrides(&spec.overrides)?),
        None if !spec.overrides.is_empty() => Some(TargetConfiguration::default().with_overrides(&spec.overrides)?),
        None => None,
    };
    tracing::info!(target = %target.display_name(), source = ?configuration_source, exists = instance.is_some(), "target configuration");
    let output = Output {
        exists: instance.is_some(),
        status: instance.as_ref().and_then(|i| i.db_instance_status()).map(str::to_owned),
        configuration_source,
        captured_at,
        configuration,
        restoring_from: instance.as_ref().and_then(|i| tags::restoring_from(i.tag_list())),
        swap: None,
        swap_interrupted: false,
    };
    Ok((output, live))
}

/// The configuration's parameter and option groups must be of the snapshot's engine major
/// version, or the restore fails (in replace mode after the target was deleted):
/// `ConfigurationIncompatible`, before anything is changed.
pub async fn check_fits_snapshot(
    rds: &Rds,
    region: &str,
    configuration: &TargetConfiguration,
    snapshot: &SnapshotRef,
) -> Result<(), TaskError> {
    let (Some(engine), Some(version)) = (&snapshot.engine, &snapshot.engine_version) else { return Ok(()) };
    let groups = groups_of(&rds.client(region), configuration).await?;
    check_groups(&groups, engine, version, &snapshot.identifier)
}

/// The target must carry `rds-refresh:source = <source region>/<source identifier>`: a
/// target opts in to being replaced, and only from the source it names.
pub fn check_opted_in(target: &InstanceRef, source: &InstanceRef, instance: &DbInstance) -> Result<(), TaskError> {
    let wanted = source.display_name();
    match tags::to_map(instance.tag_list()).get(tags::SOURCE) {
        Some(named) if *named == wanted => Ok(()),
        Some(named) => Err(TaskError::TargetNotOptedIn(format!(
            "{} names {named} in its tag {}, not {wanted}: it may only be refreshed from {named}",
            target.display_name(),
            tags::SOURCE
        ))),
        None => Err(TaskError::TargetNotOptedIn(format!(
            "{} does not carry the tag {}: tag it {} = {wanted} to let rds-refresh replace it from {wanted}",
            target.display_name(),
            tags::SOURCE,
            tags::SOURCE
        ))),
    }
}

fn check_deletion_protection(target: &InstanceRef, instance: &DbInstance, allowed: bool) -> Result<(), TaskError> {
    if instance.deletion_protection() == Some(true) && !allowed {
        return Err(TaskError::DeletionProtected(format!(
            "{} has deletion protection on: set target.allowDisableDeletionProtection to let rds-refresh turn it \
             off just before the delete (the new instance gets it back)",
            target.display_name()
        )));
    }
    Ok(())
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
        port: instance.endpoint().and_then(|e| e.port()).or(instance.db_instance_port()),
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
