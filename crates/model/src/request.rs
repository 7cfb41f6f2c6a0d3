//! The execution input, and the rules it must follow before anything is done.
use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::InstanceRef;
use crate::TaskError;
use crate::configuration::Overrides;
use crate::credentials::OtherLogins;
use crate::identifiers::{check_instance_identifier, check_region, check_snapshot_identifier, service_arn};

/// The execution input: refresh `target` from the newest snapshot of `source`.
///
/// Every optional field has a default; find-snapshot, the first task, returns the request
/// with the defaults filled in, so that later states can read every field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "rds-refresh execution input", example = RefreshRequest::example())]
pub struct RefreshRequest {
    /// The production instance whose snapshot is used. Only ever read.
    pub source: InstanceRef,
    /// The instance that is re-created from that snapshot.
    pub target: TargetSpec,
    /// Which snapshot of the source to use.
    #[serde(default)]
    pub snapshot: SnapshotSelection,
    /// How the snapshot is copied into the target's region.
    #[serde(default)]
    pub copy: CopyOptions,
    /// Run every read step and return the plan (the snapshot, the copy, the configuration
    /// the target would get, what would be deleted, any guard that would refuse); change
    /// nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Where to report the outcome.
    #[serde(default)]
    pub notify: NotifyOptions,
    /// How the target is replaced (default `swap`).
    #[serde(default)]
    pub mode: Mode,
    /// In swap mode, how long the old target is kept (renamed) after the switch before it
    /// is deleted, in minutes (default 0; at most 480).
    #[serde(default)]
    #[schemars(range(max = 480))]
    pub retain_old_minutes: u32,
    /// SQL run on the new instance as the target's master user before the target's name
    /// serves it: scripts that scrub it, and queries that must each return true (README,
    /// "Scrub the copy before it serves"). Needs the master's credentials, as
    /// `target.roleSecrets`.
    #[serde(default)]
    pub sql: crate::SqlSpec,
}

/// How the target is replaced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Restore beside the target under a temporary name, then rename the target away and the
    /// new instance to its name: the name is down only for the renames, and until the switch
    /// the old target keeps serving. Two instances run for the length of a restore.
    #[default]
    Swap,
    /// Delete the target, then restore it: down for the delete and the whole restore, and
    /// a failed restore leaves no target until a re-run. Never two instances at once.
    Replace,
}

/// Where to report the outcome of a refresh.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NotifyOptions {
    /// An SNS topic that gets one message per execution, on success and on failure: the
    /// target, the snapshot, the outcome, and on failure the failing state, error and cause.
    #[schemars(example = &"arn:aws:sns:us-west-2:123456789012:rds-refresh")]
    pub topic_arn: Option<String>,
}

/// The target instance, and what may be done to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetSpec {
    /// AWS region of the target, e.g. `us-west-2`.
    #[schemars(example = &"us-west-2", extend("enum" = crate::identifiers::KNOWN_REGIONS))]
    pub region: String,
    /// The target's DB instance identifier.
    #[schemars(example = &"y", length(min = 1, max = 63), pattern(r"^[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*$"))]
    pub db_instance_identifier: String,
    /// Settings of the new target that differ from the old one's.
    #[serde(default)]
    pub overrides: Overrides,
    /// Lets rds-refresh turn the target's deletion protection off just before deleting it;
    /// the new target gets it back. Without this, a protected target is refused.
    #[serde(default)]
    pub allow_disable_deletion_protection: bool,
    /// Lets a run restore the target when it does not exist and nothing is known of it (a
    /// first run). Without this, a missing target is refused with `TargetNotFound`.
    #[serde(default)]
    pub create_if_missing: bool,
    /// Take a final snapshot of the target when deleting it (tagged as made by rds-refresh).
    #[serde(default)]
    pub final_snapshot: bool,
    /// A Secrets Manager secret (in the target's region) holding the target's master
    /// credentials in RDS's shape, `{"username": ..., "password": ...}`. The new target's
    /// master password is set from it (ModifyDBInstance `MasterUserPassword`) and checked by
    /// logging in, before the target's name serves the new instance; without it the new target
    /// keeps the snapshot's (the source's) master password. Not with a target whose master
    /// password RDS manages (`MasterUserSecret`): the new target gets its own managed secret.
    #[schemars(example = &"arn:aws:secretsmanager:us-west-2:123456789012:secret:staging/y/master-AbCdEf")]
    pub master_user_secret_arn: Option<String>,
    /// Application roles and the secrets (in the target's region) holding their passwords
    /// (field `password`; a `username` field, if present, must be the role): each role's
    /// password on the new target is set from its secret, so the target's applications keep
    /// logging in and the source's passwords stop working. A role the new target lacks is an
    /// error (`RoleNotFound`) before the switch. Needs the master's credentials
    /// (`masterUserSecretArn`, or a target whose master password RDS manages).
    #[serde(default)]
    pub role_secrets: BTreeMap<String, String>,
    /// `keep` (default) or `disable`: with `disable`, every other role that can log in (not
    /// the master user, not RDS's own `rds*` roles, not a role of `roleSecrets`) gets NOLOGIN
    /// on the new target; the output lists them. Needs the master's credentials, as
    /// `roleSecrets`.
    #[serde(default)]
    pub other_logins: OtherLogins,
}

impl TargetSpec {
    /// The target instance itself.
    pub fn instance(&self) -> InstanceRef {
        InstanceRef { region: self.region.clone(), db_instance_identifier: self.db_instance_identifier.clone() }
    }
}

/// Which snapshot of the source to use.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SnapshotSelection {
    /// Which kinds of snapshot count (default `any`).
    #[serde(default, rename = "type")]
    pub snapshot_type: SnapshotType,
    /// Fail with `SnapshotTooOld`, before anything is changed, when the chosen snapshot was
    /// taken longer ago than this.
    #[schemars(range(min = 1))]
    pub max_age_hours: Option<u32>,
    /// Use exactly this snapshot of the source (it must be `available`) instead of the newest.
    pub identifier: Option<String>,
}

/// Kinds of snapshot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SnapshotType {
    #[default]
    Any,
    Automated,
    Manual,
}

impl SnapshotType {
    /// The `SnapshotType` filter of DescribeDBSnapshots; `None` for both kinds.
    pub fn rds_filter(self) -> Option<&'static str> {
        match self {
            SnapshotType::Any => None,
            SnapshotType::Automated => Some("automated"),
            SnapshotType::Manual => Some("manual"),
        }
    }
}

/// How the snapshot is copied into the target's region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CopyOptions {
    /// KMS key in the target region for the copy: required when the snapshot is encrypted
    /// (its key cannot leave its region); given for an unencrypted one, it encrypts the copy.
    /// A key id, key ARN, alias name (`alias/...`) or alias ARN.
    #[schemars(example = &"arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")]
    pub kms_key_id: Option<String>,
    /// After a successful refresh, keep this many of the newest copies rds-refresh made for
    /// this source and target, and delete older ones (default 2).
    #[serde(default = "CopyOptions::default_retain")]
    #[schemars(range(min = 1, max = 100))]
    pub retain: u32,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions { kms_key_id: None, retain: CopyOptions::default_retain() }
    }
}

impl CopyOptions {
    fn default_retain() -> u32 {
        2
    }
}

impl RefreshRequest {
    /// The request with its identifiers in lower case, as RDS stores them: RDS finds `Y` as
    /// `y`, but IAM matches ARNs case-sensitively, so a policy for `db:y` would not allow a
    /// call made for `db:Y`, and tag values naming `x` would not match `X`. check-input
    /// returns this form, which is what every later state uses.
    pub fn normalized(mut self) -> Self {
        self.source.db_instance_identifier.make_ascii_lowercase();
        self.target.db_instance_identifier.make_ascii_lowercase();
        if let Some(id) = &mut self.snapshot.identifier
            && !id.starts_with("arn:")
        {
            id.make_ascii_lowercase();
        }
        self
    }

    /// Checks every rule that typing alone does not, naming the field that breaks one.
    pub fn validate(&self) -> Result<(), TaskError> {
        self.source.validate("source")?;
        check_region(&self.target.region).map_err(|rule| TaskError::invalid_input("target.region", rule))?;
        check_instance_identifier(&self.target.db_instance_identifier)
            .map_err(|rule| TaskError::invalid_input("target.dbInstanceIdentifier", rule))?;
        if self.source.region == self.target.region
            && self.source.db_instance_identifier.eq_ignore_ascii_case(&self.target.db_instance_identifier)
        {
            return Err(TaskError::invalid_input("target", "must not be the source instance"));
        }
        self.target.overrides.validate()?;
        crate::credentials::validate(
            self.target.master_user_secret_arn.as_deref(),
            &self.target.role_secrets,
            &self.target.region,
        )?;
        if self.snapshot.max_age_hours == Some(0) {
            return Err(TaskError::invalid_input("snapshot.maxAgeHours", "must be at least 1"));
        }
        if let Some(id) = &self.snapshot.identifier {
            check_snapshot_identifier(id.strip_prefix("rds:").unwrap_or(id))
                .map_err(|rule| TaskError::invalid_input("snapshot.identifier", rule))?;
        }
        if !(1..=100).contains(&self.copy.retain) {
            return Err(TaskError::invalid_input("copy.retain", "must be from 1 to 100"));
        }
        if let Some(key) = &self.copy.kms_key_id {
            check_kms_key(key, &self.target.region)?;
        }
        if let Some(topic) = &self.notify.topic_arn {
            check_topic_arn(topic)?;
        }
        if self.retain_old_minutes > 480 {
            return Err(TaskError::invalid_input("retainOldMinutes", "must be at most 480 (8 hours)"));
        }
        self.sql.validate()?;
        Ok(())
    }

    fn example() -> Self {
        RefreshRequest {
            source: InstanceRef { region: "us-east-1".into(), db_instance_identifier: "x".into() },
            target: TargetSpec {
                region: "us-west-2".into(),
                db_instance_identifier: "y".into(),
                overrides: Overrides::default(),
                allow_disable_deletion_protection: false,
                create_if_missing: false,
                final_snapshot: false,
                master_user_secret_arn: None,
                role_secrets: BTreeMap::new(),
                other_logins: OtherLogins::Keep,
            },
            snapshot: SnapshotSelection::default(),
            copy: CopyOptions::default(),
            dry_run: false,
            notify: NotifyOptions::default(),
            mode: Mode::Swap,
            retain_old_minutes: 0,
            sql: crate::SqlSpec::default(),
        }
    }
}

/// A KMS key given by ARN must be in the target region: a key cannot be used outside its
/// region. Ids and aliases are looked up in the target region by RDS itself.
fn check_kms_key(key: &str, target_region: &str) -> Result<(), TaskError> {
    if key.trim().is_empty() {
        return Err(TaskError::invalid_input("copy.kmsKeyId", "must not be empty"));
    }
    if let Some(region) = key.strip_prefix("arn:").and_then(|rest| rest.split(':').nth(2))
        && region != target_region
    {
        return Err(TaskError::KmsKeyRequired(format!(
            "copy.kmsKeyId {key} is in {region}, but the copy is made in {target_region}: pass a KMS key of \
             {target_region} (its ARN, id or alias)"
        )));
    }
    Ok(())
}

/// `arn:<partition>:sns:<known region>:<12-digit account>:<topic name>`.
fn check_topic_arn(arn: &str) -> Result<(), TaskError> {
    const RULE: &str = "must be an SNS topic ARN such as arn:aws:sns:us-west-2:123456789012:rds-refresh";
    let valid = service_arn(arn, "sns").is_some_and(|(_, topic)| {
        !topic.is_empty()
            && topic.len() <= 256
            && topic.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    });
    if valid { Ok(()) } else { Err(TaskError::invalid_input("notify.topicArn", RULE)) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(value: serde_json::Value) -> RefreshRequest {
        crate::input::parse_input(value).unwrap()
    }

    fn minimal() -> serde_json::Value {
        json!({"source": {"region": "us-east-1", "dbInstanceIdentifier": "x"},
               "target": {"region": "us-west-2", "dbInstanceIdentifier": "y"}})
    }

    #[test]
    fn the_minimal_input_gets_every_default() {
        let request = request(minimal());
        assert_eq!(request.validate(), Ok(()));
        assert_eq!(request.snapshot, SnapshotSelection::default());
        assert_eq!(request.copy.retain, 2);
        assert!(!request.target.allow_disable_deletion_protection);
        assert!(request.target.overrides.is_empty());
        // Defaults are written out, so later states can read every field.
        let written = serde_json::to_value(&request).unwrap();
        assert_eq!(written["copy"], json!({"kmsKeyId": null, "retain": 2}));
        assert_eq!(written["snapshot"], json!({"type": "any", "maxAgeHours": null, "identifier": null}));
        assert_eq!(written["notify"], json!({"topicArn": null}));
        assert_eq!(written["dryRun"], json!(false));
    }

    #[test]
    fn the_error_names_the_field_and_the_rule() {
        let mut input = minimal();
        input["target"]["region"] = json!("uswest2");
        let error = request(input).validate().unwrap_err();
        assert_eq!(
            error,
            TaskError::invalid_input("target.region", "must be a known AWS region name such as us-east-1")
        );

        let mut input = minimal();
        input["source"]["dbInstanceIdentifier"] = json!("x_1");
        assert_eq!(
            request(input).validate().unwrap_err().to_string(),
            "source.dbInstanceIdentifier: may contain only ASCII letters, digits and hyphens"
        );
    }

    #[test]
    fn target_must_not_be_the_source() {
        let mut input = minimal();
        input["target"] = json!({"region": "us-east-1", "dbInstanceIdentifier": "X"});
        assert_eq!(
            request(input).validate(),
            Err(TaskError::invalid_input("target", "must not be the source instance"))
        );
    }

    #[test]
    fn optional_fields_are_checked() {
        let cases = [
            (json!({"snapshot": {"maxAgeHours": 0}}), "snapshot.maxAgeHours"),
            (json!({"snapshot": {"identifier": "bad_name"}}), "snapshot.identifier"),
            (json!({"copy": {"retain": 0}}), "copy.retain"),
            (json!({"copy": {"kmsKeyId": " "}}), "copy.kmsKeyId"),
            (json!({"notify": {"topicArn": "rds-refresh"}}), "notify.topicArn"),
            (json!({"retainOldMinutes": 481}), "retainOldMinutes"),
            (json!({"notify": {"topicArn": "arn:aws:sns:us-west-2:1234:t"}}), "notify.topicArn"),
        ];
        for (extra, field) in cases {
            let mut input = minimal();
            input.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            match request(input).validate() {
                Err(TaskError::InvalidInput { field: named, .. }) => assert_eq!(named, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn identifiers_are_normalized_to_lower_case_as_rds_stores_them() {
        let mut input = minimal();
        input["source"]["dbInstanceIdentifier"] = json!("Prod-DB");
        input["target"]["dbInstanceIdentifier"] = json!("Staging");
        input["snapshot"] = json!({"identifier": "Before-Upgrade"});
        let request = request(input).normalized();
        assert_eq!(request.source.db_instance_identifier, "prod-db");
        assert_eq!(request.target.db_instance_identifier, "staging");
        assert_eq!(request.snapshot.identifier.as_deref(), Some("before-upgrade"));
        assert_eq!(request.validate(), Ok(()));
    }

    #[test]
    fn an_automated_snapshot_identifier_is_accepted() {
        let mut input = minimal();
        input["snapshot"] = json!({"identifier": "rds:x-2026-11-23-05-10", "type": "automated"});
        assert_eq!(request(input).validate(), Ok(()));
    }

    #[test]
    fn a_kms_key_from_another_region_is_refused_with_what_to_pass() {
        let mut input = minimal();
        input["copy"] = json!({"kmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/abc"});
        let error = request(input).validate().unwrap_err();
        assert_eq!(error.name(), "KmsKeyRequired");
        assert!(error.to_string().contains("pass a KMS key of us-west-2"), "{error}");

        let mut input = minimal();
        input["copy"] = json!({"kmsKeyId": "alias/refresh"});
        assert_eq!(request(input).validate(), Ok(()));
    }
}
