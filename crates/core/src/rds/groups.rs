//! The parameter and option groups a configuration names: whether they exist, and which engine
//! version they belong to (the decision on it is [`crate::engine::check_groups`]).
use aws_sdk_rds::Client;

use crate::TaskError;
use crate::engine::{Groups, check_groups};
use crate::error::{error_code, from_sdk};
use crate::model::{SnapshotRef, TargetConfiguration};
use crate::rds::Rds;

/// The custom parameter and option groups `configuration` names, with the family and major
/// engine version each belongs to (`None` when the group does not exist).
pub async fn groups_of(client: &Client, configuration: &TargetConfiguration) -> Result<Groups, TaskError> {
    let mut groups = Groups::default();
    if let Some(name) = &configuration.db_parameter_group_name {
        let family = match client.describe_db_parameter_groups().db_parameter_group_name(name).send().await {
            Ok(output) => {
                output.db_parameter_groups().first().and_then(|g| g.db_parameter_group_family()).map(str::to_owned)
            }
            Err(error) if error_code(&error) == Some("DBParameterGroupNotFound") => None,
            Err(error) => return Err(from_sdk(&format!("DescribeDBParameterGroups {name}"), error)),
        };
        groups.parameter_group = Some((name.clone(), family));
    }
    if let Some(name) = &configuration.option_group_name {
        let major = match client.describe_option_groups().option_group_name(name).send().await {
            Ok(output) => output.option_groups_list().first().and_then(|g| g.major_engine_version()).map(str::to_owned),
            Err(error) if error_code(&error) == Some("OptionGroupNotFoundFault") => None,
            Err(error) => return Err(from_sdk(&format!("DescribeOptionGroups {name}"), error)),
        };
        groups.option_group = Some((name.clone(), major));
    }
    Ok(groups)
}

/// The configuration's parameter and option groups must be of the snapshot's engine major
/// version, or the restore fails (in replace mode after the target was deleted):
/// `ConfigurationIncompatible`, before anything is changed. Used by describe-target and the
/// dry run.
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
