//! y's own credentials: what the new instance's master password comes from, whether a
//! secret is in the shape it must be, and whether RDS has applied a new master password.
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::TaskError;
use crate::model::{MasterCredentials, OtherLogins, TargetSpec};

/// Where the master password comes from, before the secrets are read: `None` when the new
/// instance keeps the snapshot's credentials (nothing asked, and y's password is not managed
/// by RDS).
///
/// `managed_key` is the KMS key of y's RDS-managed master secret (its configuration's
/// `masterUserSecretKmsKeyId`): such a y gets a managed secret again, and a secret of its own
/// cannot be given besides (RDS refuses `MasterUserPassword` with `ManageMasterUserPassword`).
/// Role passwords, `otherLogins: disable` and SQL steps (`sql_given`) need the master's
/// password to log in with.
pub fn master_source(
    target: &TargetSpec,
    managed_key: Option<&str>,
    sql_given: bool,
) -> Result<Option<MasterSource>, TaskError> {
    let source = match (&target.master_user_secret_arn, managed_key) {
        (Some(_), Some(_)) => {
            return Err(TaskError::invalid_input(
                "target.masterUserSecretArn",
                format!(
                    "{} has an RDS-managed master secret (MasterUserSecret): the new instance gets a managed secret of \
                     its own; leave masterUserSecretArn out",
                    target.db_instance_identifier
                ),
            ));
        }
        (Some(arn), None) => Some(MasterSource::Secret(arn.clone())),
        (None, Some(key)) => Some(MasterSource::Managed(Some(key.to_owned()))),
        (None, None) => None,
    };
    let needs_master = !target.role_secrets.is_empty() || target.other_logins == OtherLogins::Disable || sql_given;
    if needs_master && source.is_none() {
        let field = if !target.role_secrets.is_empty() {
            "target.roleSecrets"
        } else if target.other_logins == OtherLogins::Disable {
            "target.otherLogins"
        } else {
            "sql"
        };
        return Err(TaskError::invalid_input(
            field,
            "needs target.masterUserSecretArn (or a target whose master password RDS manages), to log in as the master user",
        ));
    }
    Ok(source)
}

/// [`master_source`]'s answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MasterSource {
    /// The secret of `target.masterUserSecretArn`.
    Secret(String),
    /// An RDS-managed secret, with this KMS key.
    Managed(Option<String>),
}

impl MasterSource {
    /// The plan's form, once the secret's version is known (`version_id`, for a secret).
    pub fn planned(self, version_id: Option<String>) -> MasterCredentials {
        match self {
            MasterSource::Secret(secret_arn) => {
                MasterCredentials::Secret { secret_arn, version_id: version_id.unwrap_or_default() }
            }
            MasterSource::Managed(kms_key_id) => MasterCredentials::Managed { kms_key_id },
        }
    }
}

/// Whose password a secret holds: the master user (RDS's password rules apply) or a role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretOf<'a> {
    Master(&'a str),
    Role(&'a str),
}

/// The password in the secret `arn` whose `SecretString` is `text`, checked: a JSON object
/// with a string `password` and, if it has one, a `username` that is the master user or the
/// role; a master password must follow RDS's rule for PostgreSQL, which RDS would otherwise
/// refuse only once the new instance exists. No message quotes the secret's text.
pub fn password_in(arn: &str, text: Option<&SecretString>, of: SecretOf) -> Result<SecretString, TaskError> {
    let invalid = |what: String| TaskError::SecretInvalid(format!("secret {arn}: {what}"));
    let text = text.ok_or_else(|| invalid("has no SecretString (a binary secret)".into()))?;
    // serde_json's syntax errors give a line and column, never the text.
    let value: Value = serde_json::from_str(text.expose_secret()).map_err(|error| {
        invalid(format!("is not JSON ({error}); it must be {{\"username\": ..., \"password\": ...}}"))
    })?;
    let fields = value.as_object().ok_or_else(|| invalid("is not a JSON object".into()))?;
    let password = match fields.get("password") {
        Some(Value::String(password)) if !password.is_empty() => password,
        Some(Value::String(_)) => return Err(invalid("field password is empty".into())),
        Some(_) => return Err(invalid("field password is not a string".into())),
        None => return Err(invalid("has no field password".into())),
    };
    let (expected, whose) = match of {
        SecretOf::Master(user) => (user, "the master user of the snapshot"),
        SecretOf::Role(role) => (role, "the role it is given for"),
    };
    match fields.get("username") {
        None if matches!(of, SecretOf::Role(_)) => {}
        None => return Err(invalid("has no field username".into())),
        Some(Value::String(username)) if username == expected => {}
        Some(Value::String(username)) => {
            return Err(invalid(format!("field username is {username}, but {whose} is {expected}")));
        }
        Some(_) => return Err(invalid("field username is not a string".into())),
    }
    if let SecretOf::Master(_) = of
        && let Err(rule) = check_master_password(password)
    {
        return Err(invalid(format!("field password breaks RDS's rule for PostgreSQL master passwords: {rule}")));
    }
    Ok(SecretString::from(password.clone()))
}

/// RDS for PostgreSQL's master password rule: 8 to 128 printable ASCII characters, not `/`,
/// `"`, `@` or a space [CreateDBInstance, MasterUserPassword; ModifyDBInstance, MasterUserPassword].
fn check_master_password(password: &str) -> Result<(), &'static str> {
    const RULE: &str = "8 to 128 printable ASCII characters other than '/', '\"', '@' and space";
    let allowed = |c: char| c.is_ascii_graphic() && !matches!(c, '/' | '"' | '@');
    if (8..=128).contains(&password.len()) && password.chars().all(allowed) { Ok(()) } else { Err(RULE) }
}

/// What DescribeDBInstances says of a master password change made at `requested_at`
/// (`elapsed_seconds` ago), or of turning on an RDS-managed secret.
pub struct MasterChange<'a> {
    pub status: &'a str,
    /// `PendingModifiedValues.MasterUserPassword` is set.
    pub password_pending: bool,
    /// `MasterUserSecret.SecretStatus`, when the instance has a managed secret.
    pub secret_status: Option<&'a str>,
    /// Whether a managed secret is what was asked for.
    pub managed: bool,
    pub elapsed_seconds: u64,
}

/// How long RDS may take to apply a master password before the refresh calls it not applied:
/// RDS applies it "as soon as possible" (ModifyDBInstance, MasterUserPassword), in a few
/// minutes; the state machine's polling (CREDENTIALS_POLLING) lasts a little longer than this.
pub const APPLY_WITHIN_SECONDS: u64 = 20 * 60;

/// Whether the change is in effect: `Ok(())`, `NotReady` (poll again) or
/// `CredentialsNotApplied` (it never will be, or not in time).
pub fn master_change_state(instance: &str, seen: &MasterChange) -> Result<(), TaskError> {
    let not_applied = |why: String| {
        TaskError::CredentialsNotApplied(format!("the new master password of {instance} was not applied: {why}"))
    };
    let waiting = match (seen.status, seen.managed, seen.secret_status) {
        ("available", false, _) if !seen.password_pending => return Ok(()),
        ("available", true, Some("active")) if !seen.password_pending => return Ok(()),
        (_, true, Some(status @ ("impaired" | "deleting"))) => {
            return Err(not_applied(format!("its RDS-managed secret is {status}")));
        }
        (
            "resetting-master-credentials"
            | "modifying"
            | "available"
            | "backing-up"
            | "configuring-enhanced-monitoring",
            ..,
        ) => {
            format!(
                "{instance} is {}{}",
                seen.status,
                if seen.password_pending { ", master password pending" } else { "" }
            )
        }
        (
            status @ ("failed"
            | "incompatible-credentials"
            | "incompatible-parameters"
            | "inaccessible-encryption-credentials"),
            ..,
        ) => {
            return Err(not_applied(format!("it is {status}")));
        }
        (status, ..) => format!("{instance} is {status}"),
    };
    if seen.elapsed_seconds > APPLY_WITHIN_SECONDS {
        return Err(not_applied(format!("still waiting after {} minutes ({waiting})", seen.elapsed_seconds / 60)));
    }
    Err(TaskError::NotReady(waiting))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const ARN: &str = "arn:aws:secretsmanager:us-west-2:123456789012:secret:y-master-AbCdEf";

    fn target(secret: Option<&str>, roles: &[&str], other_logins: OtherLogins) -> TargetSpec {
        let mut spec: TargetSpec =
            serde_json::from_value(serde_json::json!({"region": "us-west-2", "dbInstanceIdentifier": "y"})).unwrap();
        spec.master_user_secret_arn = secret.map(str::to_owned);
        spec.role_secrets = roles.iter().map(|r| (r.to_string(), ARN.to_owned())).collect::<BTreeMap<_, _>>();
        spec.other_logins = other_logins;
        spec
    }

    #[test]
    fn the_master_password_comes_from_the_secret_or_rds() {
        assert_eq!(master_source(&target(None, &[], OtherLogins::Keep), None, false), Ok(None));
        assert_eq!(
            master_source(&target(Some(ARN), &["app"], OtherLogins::Disable), None, false),
            Ok(Some(MasterSource::Secret(ARN.into())))
        );
        assert_eq!(
            master_source(&target(None, &["app"], OtherLogins::Keep), Some("key"), false),
            Ok(Some(MasterSource::Managed(Some("key".into()))))
        );
    }

    #[test]
    fn roles_without_a_master_login_and_two_master_sources_are_refused() {
        let error = master_source(&target(None, &["app"], OtherLogins::Keep), None, false).unwrap_err();
        assert!(matches!(&error, TaskError::InvalidInput { field, .. } if field == "target.roleSecrets"), "{error:?}");
        let error = master_source(&target(None, &[], OtherLogins::Disable), None, false).unwrap_err();
        assert!(matches!(&error, TaskError::InvalidInput { field, .. } if field == "target.otherLogins"), "{error:?}");
        // SQL steps log in as the master user too.
        let error = master_source(&target(None, &[], OtherLogins::Keep), None, true).unwrap_err();
        assert!(matches!(&error, TaskError::InvalidInput { field, .. } if field == "sql"), "{error:?}");
        assert!(master_source(&target(None, &[], OtherLogins::Keep), Some("key"), true).unwrap().is_some());
        let error = master_source(&target(Some(ARN), &[], OtherLogins::Keep), Some("key"), false).unwrap_err();
        assert!(error.to_string().contains("RDS-managed master secret"), "{error}");
    }

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    #[test]
    fn a_secret_in_rds_shape_gives_its_password() {
        let text = secret(r#"{"username": "postgres", "password": "Staging-pass-1", "engine": "postgres"}"#);
        let password = password_in(ARN, Some(&text), SecretOf::Master("postgres")).unwrap();
        assert_eq!(password.expose_secret(), "Staging-pass-1");
        let text = secret(r#"{"password": "any thing/@ goes"}"#);
        assert_eq!(password_in(ARN, Some(&text), SecretOf::Role("app")).unwrap().expose_secret(), "any thing/@ goes");
    }

    #[test]
    fn a_malformed_secret_is_named_without_its_value() {
        let cases = [
            (None, "has no SecretString"),
            (Some(r#"not json hunter2"#), "is not JSON"),
            (Some(r#"["hunter2"]"#), "is not a JSON object"),
            (Some(r#"{"username": "postgres"}"#), "has no field password"),
            (Some(r#"{"username": "postgres", "password": 12345678}"#), "field password is not a string"),
            (Some(r#"{"password": "hunter2hunter2"}"#), "has no field username"),
            (
                Some(r#"{"username": "admin", "password": "hunter2hunter2"}"#),
                "field username is admin, but the master user of the snapshot is postgres",
            ),
            (Some(r#"{"username": "postgres", "password": "hunter2"}"#), "breaks RDS's rule"),
            (Some(r#"{"username": "postgres", "password": "hunter2@hunter2"}"#), "breaks RDS's rule"),
        ];
        for (text, expected) in cases {
            let text = text.map(secret);
            let error = password_in(ARN, text.as_ref(), SecretOf::Master("postgres")).unwrap_err();
            assert_eq!(error.name(), "SecretInvalid");
            let message = error.to_string();
            assert!(message.starts_with(&format!("secret {ARN}: ")) && message.contains(expected), "{message}");
            assert!(!message.contains("hunter2"), "{message}");
        }
        let text = secret(r#"{"username": "other", "password": "x"}"#);
        let error = password_in(ARN, Some(&text), SecretOf::Role("app")).unwrap_err();
        assert!(error.to_string().contains("the role it is given for is app"), "{error}");
    }

    fn seen(
        status: &str,
        password_pending: bool,
        managed: bool,
        secret_status: Option<&str>,
        elapsed: u64,
    ) -> Result<(), TaskError> {
        master_change_state(
            "y-rr-new-1",
            &MasterChange { status, password_pending, secret_status, managed, elapsed_seconds: elapsed },
        )
    }

    #[test]
    fn a_password_change_is_in_effect_when_nothing_is_pending() {
        assert_eq!(seen("available", false, false, None, 5), Ok(()));
        assert_eq!(seen("resetting-master-credentials", true, false, None, 5).unwrap_err().name(), "NotReady");
        assert_eq!(seen("available", true, false, None, 5).unwrap_err().name(), "NotReady");
        assert_eq!(seen("available", false, true, Some("creating"), 5).unwrap_err().name(), "NotReady");
        assert_eq!(seen("available", false, true, Some("active"), 5), Ok(()));
    }

    #[test]
    fn a_password_change_never_applied_is_named() {
        assert_eq!(
            seen("resetting-master-credentials", true, false, None, APPLY_WITHIN_SECONDS + 1).unwrap_err().name(),
            "CredentialsNotApplied"
        );
        assert_eq!(
            seen("incompatible-credentials", false, false, None, 5).unwrap_err().name(),
            "CredentialsNotApplied"
        );
        assert_eq!(seen("available", false, true, Some("impaired"), 5).unwrap_err().name(), "CredentialsNotApplied");
    }
}
