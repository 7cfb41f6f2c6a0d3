//! RDS clients, one per region, and the look-ups several tasks share.
use aws_config::SdkConfig;
use aws_sdk_rds::Client;
use aws_sdk_rds::primitives::{DateTime, DateTimeFormat};
use aws_sdk_rds::types::DbInstance;

use crate::TaskError;
use crate::engine::Groups;
use crate::error::{error_code, from_sdk};
use crate::model::TargetConfiguration;
use crate::regional::Regional;

/// RDS clients for any region (see [`Regional`]).
#[derive(Clone, Debug)]
pub struct Rds {
    clients: Regional<Client>,
}

impl Rds {
    pub fn new(config: SdkConfig) -> Self {
        let make = |config: &SdkConfig, region| {
            Client::from_conf(aws_sdk_rds::config::Builder::from(config).region(region).build())
        };
        Self { clients: Regional::new(config, make) }
    }

    /// The client for `region`.
    pub fn client(&self, region: &str) -> Client {
        self.clients.client(region)
    }
}

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

/// An RDS timestamp as RFC 3339 text, the form every output of rds-refresh uses.
pub fn format_time(time: &DateTime) -> String {
    time.fmt(DateTimeFormat::DateTime).unwrap_or_else(|_| time.to_string())
}

/// The current time as RFC 3339 text (see [`format_time`]).
pub fn now() -> String {
    format_time(&DateTime::from(std::time::SystemTime::now()))
}

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
