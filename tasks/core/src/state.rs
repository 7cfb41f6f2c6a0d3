//! The state table: what rds-refresh must remember between runs, one DynamoDB item per target.
//!
//! The target's configuration is written there when it is read, before anything is deleted,
//! so that a run that fails after the delete can be re-run: the target is gone, but its
//! configuration is not. The table (partition key `target`, a string) is created by the
//! deployment; its name comes from `RDS_REFRESH_STATE_TABLE`, and it lives in the functions'
//! own region.
use aws_config::SdkConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::TaskError;
use crate::error::from_sdk;
use crate::model::{InstanceRef, TargetConfiguration};
use crate::rds::Rds;

/// Environment variable naming the state table.
pub const TABLE_ENV: &str = "RDS_REFRESH_STATE_TABLE";

const KEY: &str = "target";
const CONFIGURATION: &str = "configuration";
const CAPTURED_AT: &str = "configurationCapturedAt";

/// A target's configuration as it was last read from the live target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredConfiguration {
    pub configuration: TargetConfiguration,
    /// When it was read (RFC 3339).
    pub captured_at: String,
}

/// The state table, reached through one client built per process.
#[derive(Clone, Debug)]
pub struct StateTable {
    client: Client,
    table: String,
}

impl StateTable {
    pub fn new(config: &SdkConfig, table: impl Into<String>) -> Self {
        Self { client: Client::new(config), table: table.into() }
    }

    /// The table named by `RDS_REFRESH_STATE_TABLE`.
    pub fn from_env(config: &SdkConfig) -> Result<Self, String> {
        match std::env::var(TABLE_ENV) {
            Ok(table) if !table.is_empty() => Ok(Self::new(config, table)),
            _ => Err(format!("{TABLE_ENV} is not set: it must name the rds-refresh state table")),
        }
    }

    /// Remembers `configuration` as the target's, read at `captured_at`.
    pub async fn put_configuration(
        &self,
        target: &InstanceRef,
        configuration: &TargetConfiguration,
        captured_at: &str,
    ) -> Result<(), TaskError> {
        let json = serde_json::to_string(configuration).expect("a configuration serialises");
        // UpdateItem, not PutItem: other attributes of the target's item are left alone.
        self.client
            .update_item()
            .table_name(&self.table)
            .key(KEY, AttributeValue::S(target.display_name()))
            .update_expression("SET #configuration = :configuration, #capturedAt = :capturedAt")
            .expression_attribute_names("#configuration", CONFIGURATION)
            .expression_attribute_names("#capturedAt", CAPTURED_AT)
            .expression_attribute_values(":configuration", AttributeValue::S(json))
            .expression_attribute_values(":capturedAt", AttributeValue::S(captured_at.to_owned()))
            .send()
            .await
            .map_err(|e| state_error(&format!("UpdateItem {} in {}", target.display_name(), self.table), e))?;
        Ok(())
    }

    /// The configuration last remembered for the target, if any.
    pub async fn configuration(&self, target: &InstanceRef) -> Result<Option<StoredConfiguration>, TaskError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, AttributeValue::S(target.display_name()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| state_error(&format!("GetItem {} in {}", target.display_name(), self.table), e))?
            .item;
        let Some(item) = item else { return Ok(None) };
        let (Some(AttributeValue::S(json)), Some(AttributeValue::S(captured_at))) =
            (item.get(CONFIGURATION), item.get(CAPTURED_AT))
        else {
            return Ok(None);
        };
        let configuration = serde_json::from_str(json).map_err(|error| {
            TaskError::StateTableFailed(format!(
                "the configuration of {} in {} is unreadable: {error}",
                target.display_name(),
                self.table
            ))
        })?;
        Ok(Some(StoredConfiguration { configuration, captured_at: captured_at.clone() }))
    }
}

/// Throttling and 5xx keep their retryable names; anything else is the table's failure.
fn state_error<E>(
    operation: &str,
    error: aws_sdk_dynamodb::error::SdkError<E, aws_sdk_rds::config::http::HttpResponse>,
) -> TaskError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match from_sdk(operation, error) {
        TaskError::RdsRequestFailed(message) => TaskError::StateTableFailed(message),
        other => other,
    }
}

/// The clients of a task that needs the state table as well as RDS.
#[derive(Clone, Debug)]
pub struct RdsAndState {
    pub rds: Rds,
    pub state: StateTable,
}
