//! The state table: what rds-refresh must remember between runs, one DynamoDB item per target.
//!
//! The target's configuration is written there when it is read, before anything is deleted,
//! so that a run that fails after the delete can be re-run: the target is gone, but its
//! configuration is not. The same item holds the target's lock, so that two executions
//! never act on one target at once. The table (partition key `target`, a string) is created by the
//! deployment; its name comes from `RDS_REFRESH_STATE_TABLE`, and it lives in the functions'
//! own region.
use std::collections::HashMap;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::TaskError;
use crate::decisions::lock;
use crate::error::from_sdk;
use crate::model::{InstanceRef, TargetConfiguration};
use crate::rds::Rds;

/// Environment variable naming the state table.
pub const TABLE_ENV: &str = "RDS_REFRESH_STATE_TABLE";

const KEY: &str = "target";
const CONFIGURATION: &str = "configuration";
const CAPTURED_AT: &str = "configurationCapturedAt";
const SOURCE: &str = "source";
const LOCK_OWNER: &str = "lockOwner";
const LOCK_EXPIRES_AT: &str = "lockExpiresAt";

/// [`lock::in_the_way`] is `None`, as the condition of the write that takes the lock: the
/// decision and the write are one rule, and the write makes it atomic (of two executions, one
/// wins).
const NOTHING_IN_THE_WAY: &str = "attribute_not_exists(#owner) OR #owner = :owner OR #expiresAt < :now";

/// How long a lock holds when its execution does not release it (it crashed, or was
/// stopped): the state machine's own timeout (39 h, which the wait budgets need; see
/// ARCHITECTURE.md, "Time budgets add up"), and a margin. `tests/definition.rs` checks it
/// against the definition.
pub const LOCK_TTL_SECS: i64 = 39 * 3600 + 15 * 60;

/// A target's configuration as it was last read from the live target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredConfiguration {
    pub configuration: TargetConfiguration,
    /// When it was read (RFC 3339).
    pub captured_at: String,
    /// The source the target had opted in to then (`region/identifier`).
    pub source: String,
}

/// Who holds a target's lock, and until when (seconds since the Unix epoch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lock {
    pub owner: String,
    pub expires_at: i64,
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

    /// Remembers `configuration` as the target's, read at `captured_at`, opted in to `source`.
    pub async fn put_configuration(
        &self,
        target: &InstanceRef,
        source: &InstanceRef,
        configuration: &TargetConfiguration,
        captured_at: &str,
    ) -> Result<(), TaskError> {
        let json = serde_json::to_string(configuration).expect("a configuration serialises");
        // UpdateItem, not PutItem: the lock in the same item is left alone.
        self.client
            .update_item()
            .table_name(&self.table)
            .key(KEY, AttributeValue::S(target.display_name()))
            .update_expression("SET #configuration = :configuration, #capturedAt = :capturedAt, #source = :source")
            .expression_attribute_names("#configuration", CONFIGURATION)
            .expression_attribute_names("#capturedAt", CAPTURED_AT)
            .expression_attribute_names("#source", SOURCE)
            .expression_attribute_values(":configuration", AttributeValue::S(json))
            .expression_attribute_values(":capturedAt", AttributeValue::S(captured_at.to_owned()))
            .expression_attribute_values(":source", AttributeValue::S(source.display_name()))
            .send()
            .await
            .map_err(|e| state_error(&format!("UpdateItem {} in {}", target.display_name(), self.table), e))?;
        Ok(())
    }

    /// The configuration last remembered for the target, if any.
    pub async fn stored_configuration(&self, target: &InstanceRef) -> Result<Option<StoredConfiguration>, TaskError> {
        let item = self.target_item(target).await?;
        let Some(item) = item else { return Ok(None) };
        let (Some(AttributeValue::S(json)), Some(AttributeValue::S(captured_at)), Some(AttributeValue::S(source))) =
            (item.get(CONFIGURATION), item.get(CAPTURED_AT), item.get(SOURCE))
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
        Ok(Some(StoredConfiguration { configuration, captured_at: captured_at.clone(), source: source.clone() }))
    }

    /// Takes the target's lock for `owner` until `now + ttl_secs`, unless a lock is in the way
    /// ([`lock::in_the_way`]: another owner's, unexpired): then `Err` with that lock, read back
    /// after the write, or `None` when none is in the way any more (it was released meanwhile).
    /// Taking it again as its owner (a retried call) succeeds.
    pub async fn acquire_lock(
        &self,
        target: &InstanceRef,
        owner: &str,
        now: i64,
        ttl_secs: i64,
    ) -> Result<Result<Lock, Option<Lock>>, TaskError> {
        let written = self.write_lock(target, owner, now, ttl_secs, NOTHING_IN_THE_WAY, None).await?;
        Ok(written.map_err(|holder| lock::in_the_way(holder.as_ref(), owner, now).cloned()))
    }

    /// Takes the target's lock over from `from` (an execution that has ended) for `owner`,
    /// only if `from` still holds it: `Err` with the lock as it is otherwise (another
    /// execution took it over first, or it was released).
    pub async fn take_over_lock(
        &self,
        target: &InstanceRef,
        from: &str,
        owner: &str,
        now: i64,
        ttl_secs: i64,
    ) -> Result<Result<Lock, Option<Lock>>, TaskError> {
        self.write_lock(target, owner, now, ttl_secs, "#owner = :from", Some(from)).await
    }

    /// Sets the lock to `owner` until `now + ttl_secs` if `condition` holds.
    async fn write_lock(
        &self,
        target: &InstanceRef,
        owner: &str,
        now: i64,
        ttl_secs: i64,
        condition: &str,
        from: Option<&str>,
    ) -> Result<Result<Lock, Option<Lock>>, TaskError> {
        let expires_at = now + ttl_secs;
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY, AttributeValue::S(target.display_name()))
            .update_expression("SET #owner = :owner, #expiresAt = :expiresAt")
            .condition_expression(condition)
            .expression_attribute_names("#owner", LOCK_OWNER)
            .expression_attribute_values(":owner", AttributeValue::S(owner.to_owned()))
            .expression_attribute_names("#expiresAt", LOCK_EXPIRES_AT)
            .expression_attribute_values(":expiresAt", AttributeValue::N(expires_at.to_string()));
        // DynamoDB refuses attribute values the expression does not use.
        request = match from {
            Some(from) => request.expression_attribute_values(":from", AttributeValue::S(from.to_owned())),
            None => request.expression_attribute_values(":now", AttributeValue::N(now.to_string())),
        };
        match request.send().await {
            Ok(_) => Ok(Ok(Lock { owner: owner.to_owned(), expires_at })),
            Err(error) if is_condition_failure(&error) => Ok(Err(self.current_lock(target).await?)),
            Err(error) => {
                Err(state_error(&format!("UpdateItem (lock) {} in {}", target.display_name(), self.table), error))
            }
        }
    }

    /// Releases the target's lock if `owner` holds it; `false` when it did not (nothing changes).
    pub async fn release_lock(&self, target: &InstanceRef, owner: &str) -> Result<bool, TaskError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY, AttributeValue::S(target.display_name()))
            .update_expression("REMOVE #owner, #expiresAt")
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", LOCK_OWNER)
            .expression_attribute_names("#expiresAt", LOCK_EXPIRES_AT)
            .expression_attribute_values(":owner", AttributeValue::S(owner.to_owned()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) if is_condition_failure(&error) => Ok(false),
            Err(error) => {
                Err(state_error(&format!("UpdateItem (unlock) {} in {}", target.display_name(), self.table), error))
            }
        }
    }

    /// The target's item (configuration and lock), read consistently.
    async fn target_item(&self, target: &InstanceRef) -> Result<Option<HashMap<String, AttributeValue>>, TaskError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, AttributeValue::S(target.display_name()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| state_error(&format!("GetItem {} in {}", target.display_name(), self.table), e))?;
        Ok(output.item)
    }

    /// The target's lock, if one is recorded (it may have expired).
    pub async fn current_lock(&self, target: &InstanceRef) -> Result<Option<Lock>, TaskError> {
        let item = self.target_item(target).await?;
        let lock = item.and_then(|item| match (item.get(LOCK_OWNER), item.get(LOCK_EXPIRES_AT)) {
            (Some(AttributeValue::S(owner)), Some(AttributeValue::N(expires_at))) => {
                Some(Lock { owner: owner.clone(), expires_at: expires_at.parse().unwrap_or(0) })
            }
            _ => None,
        });
        Ok(lock)
    }
}

fn is_condition_failure<R>(
    error: &aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::update_item::UpdateItemError, R>,
) -> bool {
    matches!(
        error.as_service_error(),
        Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(_))
    )
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

/// Seconds since the Unix epoch, now.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// The clients of a task that needs the state table as well as RDS.
#[derive(Clone, Debug)]
pub struct RdsAndState {
    pub rds: Rds,
    pub state: StateTable,
}
