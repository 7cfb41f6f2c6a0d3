//! Types shared by several tasks, and the execution's input and output.
//!
//! These are interfaces: the state machine passes them between tasks and `schemas/`
//! documents them. Field names are camelCase in JSON, like the rest of Step Functions.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::TaskError;
use crate::identifiers::{check_instance_identifier, check_region};

/// An RDS DB instance, named by region and identifier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstanceRef {
    /// AWS region of the instance, e.g. `us-east-1`.
    #[schemars(example = &"us-east-1", pattern(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"))]
    pub region: String,
    /// The DB instance identifier: 1-63 letters, digits and hyphens, starting with a letter.
    #[schemars(example = &"x", length(min = 1, max = 63), pattern(r"^[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*$"))]
    pub db_instance_identifier: String,
}

impl InstanceRef {
    /// Checks the naming rules; `path` is where this reference sits in the input.
    pub fn validate(&self, path: &str) -> Result<(), TaskError> {
        check_region(&self.region).map_err(|rule| TaskError::invalid_input(format!("{path}.region"), rule))?;
        check_instance_identifier(&self.db_instance_identifier)
            .map_err(|rule| TaskError::invalid_input(format!("{path}.dbInstanceIdentifier"), rule))
    }

    /// `region/identifier`, the form used in messages and in the `rds-refresh:source` tag.
    pub fn display_name(&self) -> String {
        format!("{}/{}", self.region, self.db_instance_identifier)
    }
}

/// The execution input: refresh `target` from the newest snapshot of `source`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(
    title = "rds-refresh execution input",
    example = RefreshRequest::example()
)]
pub struct RefreshRequest {
    /// The production instance whose newest snapshot is used. Only ever read.
    pub source: InstanceRef,
    /// The instance that is re-created from that snapshot.
    pub target: InstanceRef,
}

impl RefreshRequest {
    /// Checks every rule that typing alone does not, naming the field that breaks one.
    pub fn validate(&self) -> Result<(), TaskError> {
        self.source.validate("source")?;
        self.target.validate("target")?;
        if self.source.region == self.target.region
            && self.source.db_instance_identifier.eq_ignore_ascii_case(&self.target.db_instance_identifier)
        {
            return Err(TaskError::invalid_input("target", "must not be the source instance"));
        }
        Ok(())
    }

    fn example() -> Self {
        RefreshRequest {
            source: InstanceRef { region: "us-east-1".into(), db_instance_identifier: "x".into() },
            target: InstanceRef { region: "us-west-2".into(), db_instance_identifier: "y".into() },
        }
    }
}

/// A snapshot of the source instance, as chosen by find-snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotRef {
    /// Snapshot identifier, e.g. `rds:x-2026-11-23-05-10` (automated) or `x-before-upgrade`.
    pub identifier: String,
    /// Snapshot ARN; cross-region copies name their source by it.
    pub arn: String,
    /// Region the snapshot is in.
    pub region: String,
    /// When the snapshot was taken (RFC 3339, UTC).
    pub created_at: String,
    /// `automated` or `manual`.
    pub snapshot_type: String,
    /// Whether the snapshot is encrypted.
    pub encrypted: bool,
}

/// The snapshot the target is restored from, in the target region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CopyRef {
    /// Snapshot identifier in the target region.
    pub identifier: String,
    /// Snapshot ARN in the target region.
    pub arn: String,
    /// The target region.
    pub region: String,
    /// `copied` when this run started the copy, `reused` when an earlier run's copy was
    /// found, `same-region` when source and target share a region and no copy is needed.
    pub origin: CopyOrigin,
}

/// Where the snapshot to restore from came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CopyOrigin {
    Copied,
    Reused,
    SameRegion,
}

/// The target's settings, read before it is deleted and given to the restored instance.
///
/// RestoreDBInstanceFromDBSnapshot would otherwise put the new instance in the default
/// security group and parameter group, Single-AZ, untagged.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetConfiguration {
    pub db_instance_class: String,
    pub db_subnet_group_name: Option<String>,
    pub vpc_security_group_ids: Vec<String>,
    pub db_parameter_group_name: Option<String>,
    pub option_group_name: Option<String>,
    pub multi_az: bool,
    pub port: Option<i32>,
    pub publicly_accessible: bool,
    pub storage_type: Option<String>,
    pub allocated_storage: Option<i32>,
    pub iops: Option<i32>,
    pub storage_throughput: Option<i32>,
    pub deletion_protection: bool,
    /// User tags (never `aws:` ones, which cannot be set).
    pub tags: BTreeMap<String, String>,
}

/// Where clients connect to an instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    pub address: String,
    pub port: i32,
}

/// The execution output of a successful refresh.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "rds-refresh execution output")]
pub struct RefreshOutput {
    pub source: InstanceRef,
    pub target: InstanceRef,
    /// The source snapshot the target now comes from.
    pub snapshot: SnapshotRef,
    /// The snapshot the target was restored from, in the target region.
    pub copy: CopyRef,
    /// The target's endpoint after the refresh.
    pub endpoint: Endpoint,
    /// Whether a target existed (and was replaced) when the run started.
    pub replaced_existing_target: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(source: (&str, &str), target: (&str, &str)) -> RefreshRequest {
        let instance =
            |(region, id): (&str, &str)| InstanceRef { region: region.into(), db_instance_identifier: id.into() };
        RefreshRequest { source: instance(source), target: instance(target) }
    }

    #[test]
    fn a_valid_request_passes() {
        assert_eq!(request(("us-east-1", "x"), ("us-west-2", "y")).validate(), Ok(()));
        assert_eq!(request(("us-east-1", "x"), ("us-east-1", "y")).validate(), Ok(()));
    }

    #[test]
    fn the_error_names_the_field_and_the_rule() {
        let error = request(("us-east-1", "x"), ("uswest2", "y")).validate().unwrap_err();
        assert_eq!(error, TaskError::invalid_input("target.region", "must be an AWS region name such as us-east-1"));
        let error = request(("us-east-1", "x_1"), ("us-west-2", "y")).validate().unwrap_err();
        assert_eq!(
            error.to_string(),
            "source.dbInstanceIdentifier: may contain only ASCII letters, digits and hyphens"
        );
    }

    #[test]
    fn target_must_not_be_the_source() {
        let error = request(("us-east-1", "x"), ("us-east-1", "X")).validate().unwrap_err();
        assert_eq!(error, TaskError::invalid_input("target", "must not be the source instance"));
    }
}
