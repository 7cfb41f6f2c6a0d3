//! `y`'s own credentials: which secrets the new `y` takes its master and role passwords from,
//! what check-secrets decides to do with them, and what the refresh reports it did.
//!
//! Only secret ARNs and version ids travel through the state machine: every task that needs a
//! password reads it from Secrets Manager itself, so no password is ever in the execution's
//! state data, its history or its output.
use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TaskError;
use crate::identifiers::service_arn;

/// What happens to the roles that can log in and are neither the master user, RDS's own, nor
/// given a secret in `target.roleSecrets`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OtherLogins {
    /// They keep logging in with the passwords they have in the snapshot (x's).
    #[default]
    Keep,
    /// They get NOLOGIN on the new instance; the output lists them.
    Disable,
}

/// The secret of one application role, as check-secrets found it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleSecret {
    /// The PostgreSQL role.
    pub role: String,
    pub secret_arn: String,
    /// The version check-secrets read and checked; every later read uses this one.
    pub version_id: String,
}

/// Where the new instance's master password comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum MasterCredentials {
    /// `target.masterUserSecretArn`: set with ModifyDBInstance `MasterUserPassword`.
    #[serde(rename_all = "camelCase")]
    Secret { secret_arn: String, version_id: String },
    /// `y` had an RDS-managed master secret: the new instance gets one too
    /// (ModifyDBInstance `ManageMasterUserPassword`), encrypted with the same KMS key.
    #[serde(rename_all = "camelCase")]
    Managed { kms_key_id: Option<String> },
}

/// check-secrets' decision: what the credential steps do to the new instance. `master: null`
/// means nothing: the new instance keeps the snapshot's credentials, and the credential steps
/// are skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialsPlan {
    pub master: Option<MasterCredentials>,
    /// The master user of the snapshot (a restore keeps it; RDS cannot rename it).
    pub master_username: String,
    pub roles: Vec<RoleSecret>,
    pub other_logins: OtherLogins,
}

/// What the credential steps did, in the execution output (`credentials`); `null` when none
/// ran. Names and ARNs only, never a password.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialsApplied {
    /// The master user.
    pub master_username: String,
    /// The secret holding the master password now: `target.masterUserSecretArn`, or the new
    /// instance's own RDS-managed secret (RDS makes a new one per instance).
    pub master_user_secret_arn: Option<String>,
    /// The roles whose passwords were set from their secrets.
    pub roles_set: Vec<String>,
    /// The roles that lost LOGIN (`otherLogins: disable`).
    pub logins_disabled: Vec<String>,
    /// The logins checked with `SELECT 1` before the new instance served: the master and
    /// each role of `rolesSet`.
    pub checked_logins: Vec<String>,
}

/// The credential fields of `target`, checked: each secret ARN is a Secrets Manager ARN in
/// the target's region (the tasks read secrets there: on AWS through y's VPC endpoint), and
/// each role name is one that may be given a password.
pub fn validate(
    master_user_secret_arn: Option<&str>,
    role_secrets: &BTreeMap<String, String>,
    target_region: &str,
) -> Result<(), TaskError> {
    if let Some(arn) = master_user_secret_arn {
        check_secret_arn(arn, target_region)
            .map_err(|rule| TaskError::invalid_input("target.masterUserSecretArn", rule))?;
    }
    for (role, arn) in role_secrets {
        let field = format!("target.roleSecrets.{role}");
        check_role_name(role).map_err(|rule| TaskError::invalid_input(&field, rule))?;
        check_secret_arn(arn, target_region).map_err(|rule| TaskError::invalid_input(&field, rule))?;
    }
    Ok(())
}

/// `arn:<partition>:secretsmanager:<target region>:<12-digit account>:secret:<name>`.
fn check_secret_arn(arn: &str, target_region: &str) -> Result<(), String> {
    let secret = service_arn(arn, "secretsmanager").and_then(|(region, resource)| {
        resource.strip_prefix("secret:").filter(|name| !name.is_empty()).map(|_| region)
    });
    let Some(region) = secret else {
        return Err(
            "must be a Secrets Manager secret ARN such as arn:aws:secretsmanager:us-west-2:123456789012:secret:staging/y-AbCdEf"
                .into(),
        );
    };
    if region != target_region {
        return Err(format!("must be a secret in the target's region {target_region}, not {region}"));
    }
    Ok(())
}

/// A role that can be given a password: a PostgreSQL identifier (1-63 bytes), not one of
/// PostgreSQL's reserved `pg_` roles nor RDS's own `rds` roles, which RDS manages.
fn check_role_name(role: &str) -> Result<(), String> {
    if role.is_empty() || role.len() > 63 {
        return Err("a role name must be 1 to 63 bytes long".into());
    }
    if role.chars().any(char::is_control) {
        return Err("a role name must not contain control characters".into());
    }
    if role.starts_with("pg_") || role.starts_with("rds") {
        return Err(format!("{role} is reserved (pg_ roles are PostgreSQL's, rds roles are RDS's own)"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:secretsmanager:us-west-2:123456789012:secret:staging/y-AbCdEf";

    #[test]
    fn secret_arns_must_be_secrets_of_the_target_region() {
        assert_eq!(validate(Some(ARN), &BTreeMap::new(), "us-west-2"), Ok(()));
        let error = validate(Some(ARN), &BTreeMap::new(), "eu-west-1").unwrap_err();
        assert_eq!(
            error,
            TaskError::invalid_input(
                "target.masterUserSecretArn",
                "must be a secret in the target's region eu-west-1, not us-west-2"
            )
        );
        for bad in [
            "staging/y",
            "arn:aws:ssm:us-west-2:123456789012:parameter/y",
            "arn:aws:secretsmanager:us-west-2:1234:secret:y",
        ] {
            match validate(Some(bad), &BTreeMap::new(), "us-west-2") {
                Err(TaskError::InvalidInput { field, .. }) => assert_eq!(field, "target.masterUserSecretArn"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn role_secrets_name_the_role_in_the_field() {
        let roles = BTreeMap::from([("rdsadmin".to_owned(), ARN.to_owned())]);
        match validate(None, &roles, "us-west-2") {
            Err(TaskError::InvalidInput { field, rule }) => {
                assert_eq!(field, "target.roleSecrets.rdsadmin");
                assert!(rule.contains("reserved"), "{rule}");
            }
            other => panic!("{other:?}"),
        }
        let roles = BTreeMap::from([(
            "app_user".to_owned(),
            "arn:aws:secretsmanager:us-west-2:123456789012:secret:".to_owned(),
        )]);
        assert!(matches!(validate(None, &roles, "us-west-2"), Err(TaskError::InvalidInput { .. })));
        let roles = BTreeMap::from([("app_user".to_owned(), ARN.to_owned())]);
        assert_eq!(validate(None, &roles, "us-west-2"), Ok(()));
    }

    #[test]
    fn the_plan_is_tagged_by_kind() {
        let plan = CredentialsPlan {
            master: Some(MasterCredentials::Managed { kms_key_id: Some("key".into()) }),
            master_username: "postgres".into(),
            roles: vec![],
            other_logins: OtherLogins::Disable,
        };
        assert_eq!(
            serde_json::to_value(&plan).unwrap(),
            serde_json::json!({"master": {"kind": "managed", "kmsKeyId": "key"}, "masterUsername": "postgres",
                               "roles": [], "otherLogins": "disable"})
        );
    }
}
