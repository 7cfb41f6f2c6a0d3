//! The target's configuration: what is read from `y` before it is replaced, changed by the
//! input's overrides, passed to the restore, applied afterwards where the restore cannot,
//! and checked on the new `y` before the run succeeds.
use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::TaskError;
use crate::input::parse_input;

/// The settings of `y` that a refresh keeps.
///
/// RestoreDBInstanceFromDBSnapshot would otherwise put the new instance in the default
/// security group and parameter group, Single-AZ, untagged. `null` (or an empty list for
/// the security groups) means "whatever RDS chooses": the value is neither passed nor checked.
/// A configuration read from an instance sets every field RDS reports.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct TargetConfiguration {
    /// e.g. `db.r6g.large`.
    pub db_instance_class: Option<String>,
    pub db_subnet_group_name: Option<String>,
    /// VPC security group ids; empty: the VPC's default group.
    pub vpc_security_group_ids: Vec<String>,
    /// `null` for RDS's default group, which belongs to an engine version and so is left for
    /// RDS to choose for the snapshot's version.
    pub db_parameter_group_name: Option<String>,
    /// As `dbParameterGroupName`.
    pub option_group_name: Option<String>,
    pub multi_az: Option<bool>,
    /// `gp2`, `gp3`, `io1`, `io2`, `standard`.
    pub storage_type: Option<String>,
    /// GiB. The restored instance gets at least the snapshot's size.
    pub allocated_storage: Option<i32>,
    pub iops: Option<i32>,
    /// MiB/s (gp3).
    pub storage_throughput: Option<i32>,
    /// Storage autoscaling limit, GiB.
    pub max_allocated_storage: Option<i32>,
    pub port: Option<i32>,
    pub publicly_accessible: Option<bool>,
    pub iam_database_authentication_enabled: Option<bool>,
    /// e.g. `["postgresql", "upgrade"]`.
    pub enabled_cloudwatch_logs_exports: Option<Vec<String>>,
    pub copy_tags_to_snapshot: Option<bool>,
    pub deletion_protection: Option<bool>,
    pub auto_minor_version_upgrade: Option<bool>,
    /// Days; 0 turns automated backups off.
    pub backup_retention_period: Option<i32>,
    /// `hh24:mi-hh24:mi`, UTC.
    pub preferred_backup_window: Option<String>,
    /// `ddd:hh24:mi-ddd:hh24:mi`, UTC.
    pub preferred_maintenance_window: Option<String>,
    /// Enhanced Monitoring interval in seconds; 0 is off.
    pub monitoring_interval: Option<i32>,
    pub monitoring_role_arn: Option<String>,
    pub performance_insights_enabled: Option<bool>,
    pub performance_insights_kms_key_id: Option<String>,
    /// Days.
    pub performance_insights_retention_period: Option<i32>,
    pub ca_certificate_identifier: Option<String>,
    pub license_model: Option<String>,
    /// The KMS key of the target's RDS-managed master secret (`MasterUserSecret`), when RDS
    /// manages its master password: the new target gets a managed secret of its own with this
    /// key, after the restore (the credential steps, not configure-target, apply it).
    pub master_user_secret_kms_key_id: Option<String>,
    /// User tags; never `aws:` ones (which cannot be set) nor rds-refresh's own `rds-refresh:`
    /// ones (which each run sets anew).
    pub tags: BTreeMap<String, String>,
}

/// A setting of the new `y` that is not (yet) what its configuration says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Difference {
    /// The configuration field, e.g. `multiAz`.
    pub field: String,
    pub wanted: Value,
    pub actual: Value,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is {} (wanted {})", self.field, self.actual, self.wanted)
    }
}

impl TargetConfiguration {
    /// How `actual` (the new `y`, as described by RDS) differs from this configuration.
    ///
    /// Only what this configuration sets is compared, with RDS's own leeway: windows ignore
    /// case, lists are sets, storage may be larger than asked (a restore gets at least the
    /// snapshot's size), and settings that only matter when a feature is on are ignored
    /// while it is off. Tags are compared by [`TargetConfiguration::tag_changes`].
    pub fn differences(&self, actual: &TargetConfiguration) -> Vec<Difference> {
        let wanted = to_map(self);
        let actual_map = to_map(actual);
        let mut differences = Vec::new();
        for (field, wanted_value) in &wanted {
            let actual_value = actual_map.get(field).unwrap_or(&Value::Null);
            if field == "tags" || !self.checks(field, wanted_value, actual) {
                continue;
            }
            if !same_setting(field, wanted_value, actual_value) {
                differences.push(Difference {
                    field: field.clone(),
                    wanted: wanted_value.clone(),
                    actual: actual_value.clone(),
                });
            }
        }
        differences
    }

    /// Whether `field` of this configuration is one to check against `actual`.
    fn checks(&self, field: &str, wanted_value: &Value, actual: &TargetConfiguration) -> bool {
        match field {
            "vpcSecurityGroupIds" => !self.vpc_security_group_ids.is_empty(),
            // Autoscaling must stay above the allocated size, which the snapshot may have raised.
            "maxAllocatedStorage" => match (self.max_allocated_storage, actual.allocated_storage) {
                (Some(max), Some(allocated)) => max > allocated,
                (max, _) => max.is_some(),
            },
            "monitoringRoleArn" => self.monitoring_interval.unwrap_or(0) > 0 && self.monitoring_role_arn.is_some(),
            // Where the storage does not take them, RDS reports its baseline: not a setting.
            "iops" => self.provisioned_performance(actual.allocated_storage).0.is_some(),
            "storageThroughput" => self.provisioned_performance(actual.allocated_storage).1.is_some(),
            // Set and checked by the credential steps (set-credentials, wait-credentials).
            "masterUserSecretKmsKeyId" => false,
            "performanceInsightsKmsKeyId" | "performanceInsightsRetentionPeriod" => {
                self.performance_insights_enabled == Some(true) && !wanted_value.is_null()
            }
            _ => !wanted_value.is_null(),
        }
    }

    /// The `Iops` and `StorageThroughput` to pass to a restore or modify that gives the
    /// instance `allocated` GiB of this configuration's storage type: only where that type
    /// and size take them. gp3 below 400 GiB (PostgreSQL) has a fixed baseline of 3000 IOPS
    /// and 125 MiB/s, which DescribeDBInstances reports, but RDS refuses a request that
    /// specifies either, even with the baseline values (`InvalidParameterCombination: You
    /// can't specify IOPS or storage throughput for engine postgres and a storage size less
    /// than 400`); gp2 and magnetic storage take neither, io1/io2 take IOPS only. With no
    /// storage type (RDS keeps the snapshot's), what the configuration says is passed.
    /// References: RDS User Guide, "Amazon RDS DB instance storage" (gp3 storage);
    /// terraform-provider-aws #28243.
    pub fn provisioned_performance(&self, allocated: Option<i32>) -> (Option<i32>, Option<i32>) {
        let storage_type = self.storage_type.as_deref().map(str::to_ascii_lowercase);
        match storage_type.as_deref() {
            None => (self.iops, self.storage_throughput),
            Some("gp3") if allocated.unwrap_or(0) >= GP3_PROVISIONED_MIN_GIB => (self.iops, self.storage_throughput),
            Some("io1" | "io2") => (self.iops, None),
            Some(_) => (None, None),
        }
    }

    /// The tags to add (or change) and the keys to remove so that `actual`'s user tags are
    /// this configuration's.
    pub fn tag_changes(&self, actual: &BTreeMap<String, String>) -> (BTreeMap<String, String>, Vec<String>) {
        let add = self.tags.iter().filter(|(k, v)| actual.get(*k) != Some(v)).map(|(k, v)| (k.clone(), v.clone()));
        let remove = actual.keys().filter(|k| is_user_tag(k) && !self.tags.contains_key(*k)).cloned();
        (add.collect(), remove.collect())
    }

    /// This configuration with `overrides` applied: a JSON Merge Patch (RFC 7396) of it, so
    /// `{"multiAz": false, "tags": {"env": "staging", "team": null}}` turns Multi-AZ off, sets
    /// one tag and removes another.
    pub fn with_overrides(&self, overrides: &Overrides) -> Result<TargetConfiguration, TaskError> {
        let mut merged = serde_json::to_value(self).expect("a configuration serialises");
        json_patch::merge(&mut merged, &Value::Object(overrides.0.clone()));
        parse_input::<TargetConfiguration>(merged).map_err(|error| match error {
            TaskError::InvalidInput { field, rule } => {
                TaskError::invalid_input(format!("target.overrides.{}", field.trim_start_matches('.')), rule)
            }
            other => other,
        })
    }
}

/// The smallest gp3 volume (GiB) for which PostgreSQL takes provisioned IOPS and throughput.
pub const GP3_PROVISIONED_MIN_GIB: i32 = 400;

/// Whether a tag key is the user's, not AWS's or rds-refresh's own.
pub fn is_user_tag(key: &str) -> bool {
    !key.starts_with("aws:") && !key.starts_with(crate::TAG_PREFIX)
}

fn to_map(configuration: &TargetConfiguration) -> Map<String, Value> {
    match serde_json::to_value(configuration) {
        Ok(Value::Object(map)) => map,
        _ => unreachable!("a configuration serialises to an object"),
    }
}

fn same_setting(field: &str, wanted: &Value, actual: &Value) -> bool {
    match field {
        "preferredBackupWindow" | "preferredMaintenanceWindow" | "storageType" => {
            wanted.as_str().map(str::to_ascii_lowercase) == actual.as_str().map(str::to_ascii_lowercase)
        }
        "vpcSecurityGroupIds" | "enabledCloudwatchLogsExports" => as_set(wanted) == as_set(actual),
        "allocatedStorage" => matches!((wanted.as_i64(), actual.as_i64()), (Some(w), Some(a)) if a >= w),
        _ => wanted == actual,
    }
}

fn as_set(value: &Value) -> BTreeSet<String> {
    value.as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_owned)).collect()
}

/// Optional input `target.overrides`: settings of the new `y` that differ from the old one's,
/// as a JSON Merge Patch of its configuration (for example a smaller instance class, or
/// Multi-AZ off for staging). Unknown keys are an input error.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Overrides(pub Map<String, Value>);

impl Overrides {
    /// Checks every key and value by applying the overrides to an empty configuration.
    pub fn validate(&self) -> Result<(), TaskError> {
        TargetConfiguration::default().with_overrides(self).map(|_| ())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl JsonSchema for Overrides {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Overrides".into()
    }

    /// The configuration's own schema, with every field optional and `null` allowed where
    /// the merge patch uses it to remove a tag.
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut schema = TargetConfiguration::json_schema(generator);
        schema.remove("required");
        schema.remove("title");
        schema.insert(
            "description".into(),
            "Settings of the new target that differ from the old one's: a JSON Merge Patch (RFC 7396) of its \
             configuration. In `tags`, a null value removes that tag."
                .into(),
        );
        if let Some(tags) = schema.get_mut("properties").and_then(|p| p.get_mut("tags")) {
            tags["additionalProperties"] = serde_json::json!({"type": ["string", "null"]});
        }
        schema.insert("examples".into(), serde_json::json!([{"dbInstanceClass": "db.t4g.medium", "multiAz": false}]));
        schema
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn configuration() -> TargetConfiguration {
        TargetConfiguration {
            db_instance_class: Some("db.r6g.large".into()),
            vpc_security_group_ids: vec!["sg-1".into(), "sg-2".into()],
            multi_az: Some(true),
            allocated_storage: Some(100),
            max_allocated_storage: Some(500),
            preferred_maintenance_window: Some("Sun:05:00-Sun:05:30".into()),
            tags: BTreeMap::from([("team".into(), "data".into()), ("cost".into(), "42".into())]),
            ..Default::default()
        }
    }

    fn overrides(value: Value) -> Overrides {
        Overrides(value.as_object().unwrap().clone())
    }

    #[test]
    fn the_same_configuration_has_no_differences() {
        assert_eq!(configuration().differences(&configuration()), vec![]);
    }

    #[test]
    fn differences_name_the_field_and_both_values() {
        let actual = TargetConfiguration { multi_az: Some(false), ..configuration() };
        let differences = configuration().differences(&actual);
        assert_eq!(
            differences,
            vec![Difference { field: "multiAz".into(), wanted: json!(true), actual: json!(false) }]
        );
        assert_eq!(differences[0].to_string(), "multiAz is false (wanted true)");
    }

    #[test]
    fn rds_leeway_is_not_a_difference() {
        let actual = TargetConfiguration {
            vpc_security_group_ids: vec!["sg-2".into(), "sg-1".into()],
            allocated_storage: Some(200),
            preferred_maintenance_window: Some("sun:05:00-sun:05:30".into()),
            ..configuration()
        };
        assert_eq!(configuration().differences(&actual), vec![]);
        let smaller = TargetConfiguration { allocated_storage: Some(50), ..configuration() };
        assert_eq!(configuration().differences(&smaller)[0].field, "allocatedStorage");
    }

    #[test]
    fn unset_settings_are_not_checked() {
        let wanted = TargetConfiguration { db_instance_class: None, vpc_security_group_ids: vec![], ..configuration() };
        let actual = TargetConfiguration {
            db_instance_class: Some("db.t3.micro".into()),
            vpc_security_group_ids: vec!["sg-default".into()],
            ..configuration()
        };
        assert_eq!(wanted.differences(&actual), vec![]);
    }

    #[test]
    fn autoscaling_below_the_restored_size_is_not_checked() {
        let wanted = TargetConfiguration { max_allocated_storage: Some(150), ..configuration() };
        let actual =
            TargetConfiguration { allocated_storage: Some(200), max_allocated_storage: None, ..configuration() };
        assert_eq!(wanted.differences(&actual), vec![]);
    }

    fn storage(storage_type: &str, allocated: i32, iops: i32, throughput: Option<i32>) -> TargetConfiguration {
        TargetConfiguration {
            storage_type: Some(storage_type.into()),
            allocated_storage: Some(allocated),
            iops: Some(iops),
            storage_throughput: throughput,
            ..Default::default()
        }
    }

    #[test]
    fn small_gp3_volumes_take_no_iops_or_throughput() {
        // What DescribeDBInstances reports for a 100 GiB gp3 volume: the baseline.
        let small = storage("gp3", 100, 3000, Some(125));
        assert_eq!(small.provisioned_performance(Some(100)), (None, None));
        assert_eq!(small.provisioned_performance(Some(399)), (None, None));
        // The restore may get more than asked (the snapshot's size): the size decides.
        assert_eq!(small.provisioned_performance(Some(400)), (Some(3000), Some(125)));
        let large = storage("gp3", 500, 12000, Some(500));
        assert_eq!(large.provisioned_performance(Some(500)), (Some(12000), Some(500)));
        assert_eq!(storage("io1", 100, 1000, None).provisioned_performance(Some(100)), (Some(1000), None));
        assert_eq!(storage("io2", 100, 1000, Some(1)).provisioned_performance(Some(100)), (Some(1000), None));
        assert_eq!(storage("gp2", 100, 300, None).provisioned_performance(Some(100)), (None, None));
        assert_eq!(storage("GP3", 100, 3000, Some(125)).provisioned_performance(Some(100)), (None, None));
    }

    #[test]
    fn a_baseline_that_is_not_a_setting_is_not_a_difference() {
        let wanted = storage("gp3", 100, 3000, Some(125));
        let actual = storage("gp3", 100, 3000, Some(125));
        assert_eq!(wanted.differences(&actual), vec![]);
        // Even a different baseline (RDS's, not ours) is not compared below 400 GiB...
        let other = storage("gp3", 100, 12000, Some(500));
        assert_eq!(wanted.differences(&other), vec![]);
        // ... but provisioned performance is.
        let large = storage("gp3", 500, 15000, Some(600));
        let fields: Vec<_> =
            large.differences(&storage("gp3", 500, 12000, Some(500))).into_iter().map(|d| d.field).collect();
        assert_eq!(fields, ["iops", "storageThroughput"]);
    }

    #[test]
    fn tag_changes_add_change_and_remove_only_user_tags() {
        let actual = BTreeMap::from([
            ("team".into(), "other".into()),
            ("stale".into(), "1".into()),
            ("aws:cloudformation:stack-name".into(), "s".into()),
            ("rds-refresh:source".into(), "us-east-1/x".into()),
        ]);
        let (add, remove) = configuration().tag_changes(&actual);
        assert_eq!(add, BTreeMap::from([("cost".into(), "42".into()), ("team".into(), "data".into())]));
        assert_eq!(remove, vec!["stale".to_owned()]);
    }

    #[test]
    fn overrides_merge_settings_and_tags() {
        let changed = configuration()
            .with_overrides(&overrides(json!({
                "dbInstanceClass": "db.t4g.medium",
                "multiAz": false,
                "tags": {"env": "staging", "cost": null}
            })))
            .unwrap();
        assert_eq!(changed.db_instance_class.as_deref(), Some("db.t4g.medium"));
        assert_eq!(changed.multi_az, Some(false));
        assert_eq!(changed.tags, BTreeMap::from([("team".into(), "data".into()), ("env".into(), "staging".into())]));
        assert_eq!(changed.vpc_security_group_ids, configuration().vpc_security_group_ids);
    }

    #[test]
    fn unknown_or_mistyped_overrides_name_the_field() {
        let error = overrides(json!({"instanceClass": "db.t3.micro"})).validate().unwrap_err();
        let TaskError::InvalidInput { field, rule } = error else { panic!("not InvalidInput") };
        assert_eq!(field, "target.overrides.instanceClass");
        assert!(rule.starts_with("unknown field `instanceClass`"), "{rule}");

        let error = overrides(json!({"multiAz": "no"})).validate().unwrap_err();
        let TaskError::InvalidInput { field, .. } = error else { panic!("not InvalidInput") };
        assert_eq!(field, "target.overrides.multiAz");
    }
}
