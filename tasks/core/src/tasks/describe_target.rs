//! describe-target: reads the target's configuration before anything is changed.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use aws_sdk_rds::types::DbInstance;

use crate::TaskError;
use crate::model::{InstanceRef, TargetConfiguration};
use crate::rds::{Rds, find_instance};

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub target: InstanceRef,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    /// Whether the target instance exists now.
    pub exists: bool,
    /// Its status, when it exists.
    pub status: Option<String>,
    /// Its settings, to be given to the restored instance; `null` when it does not exist.
    pub configuration: Option<TargetConfiguration>,
}

pub async fn handle(rds: Rds, input: Input) -> Result<Output, TaskError> {
    input.target.validate("target")?;
    let client = rds.client(&input.target.region);
    let Some(instance) = find_instance(&client, &input.target.db_instance_identifier).await? else {
        tracing::info!(target = %input.target.display_name(), "target does not exist; it will be created");
        return Ok(Output { exists: false, status: None, configuration: None });
    };
    let configuration = configuration_of(&instance);
    if configuration.deletion_protection {
        return Err(TaskError::DeletionProtected(format!(
            "{} has deletion protection on; turn it off to let rds-refresh replace it",
            input.target.display_name()
        )));
    }
    Ok(Output {
        exists: true,
        status: instance.db_instance_status().map(str::to_owned),
        configuration: Some(configuration),
    })
}

/// The settings of `instance` that a restore must be told, since it would not keep them.
pub fn configuration_of(instance: &DbInstance) -> TargetConfiguration {
    TargetConfiguration {
        db_instance_class: instance.db_instance_class().unwrap_or_default().to_owned(),
        db_subnet_group_name: instance.db_subnet_group().and_then(|g| g.db_subnet_group_name()).map(str::to_owned),
        vpc_security_group_ids: instance
            .vpc_security_groups()
            .iter()
            .filter_map(|g| g.vpc_security_group_id())
            .map(str::to_owned)
            .collect(),
        db_parameter_group_name: instance
            .db_parameter_groups()
            .first()
            .and_then(|g| g.db_parameter_group_name())
            .filter(|name| !is_default_group(name))
            .map(str::to_owned),
        option_group_name: instance
            .option_group_memberships()
            .first()
            .and_then(|g| g.option_group_name())
            .filter(|name| !is_default_group(name))
            .map(str::to_owned),
        multi_az: instance.multi_az().unwrap_or(false),
        port: instance.endpoint().and_then(|e| e.port()).or(instance.db_instance_port()),
        publicly_accessible: instance.publicly_accessible().unwrap_or(false),
        storage_type: instance.storage_type().map(str::to_owned),
        allocated_storage: instance.allocated_storage(),
        iops: instance.iops(),
        storage_throughput: instance.storage_throughput(),
        deletion_protection: instance.deletion_protection().unwrap_or(false),
        tags: instance
            .tag_list()
            .iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
            .filter(|(key, _)| !key.starts_with("aws:"))
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

    #[test]
    fn default_groups_are_recognised() {
        assert!(is_default_group("default.postgres16"));
        assert!(is_default_group("default:postgres-16"));
        assert!(!is_default_group("staging-pg16"));
        assert!(!is_default_group("defaults-pg"));
    }
}
