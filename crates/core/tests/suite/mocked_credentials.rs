//! The credential tasks against the SDK's own mocks (see mocked.rs): what set-credentials asks
//! RDS for, how wait-credentials reads RDS's answers, and how a secret that cannot be read is
//! named, each through the real SDK clients, with no emulator.
use std::time::Duration;

use aws_sdk_rds::Client;
use aws_sdk_rds::operation::modify_db_instance::ModifyDbInstanceOutput;
use aws_sdk_rds::types::{MasterUserSecret, PendingModifiedValues};
use aws_sdk_secretsmanager::config::http::HttpResponse;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use aws_smithy_types::body::SdkBody;
use rds_refresh_core::TaskError;
use rds_refresh_core::lambda::WithSecrets;
use rds_refresh_core::model::{CredentialsPlan, MasterCredentials, OtherLogins, SnapshotRef, TargetSpec};
use rds_refresh_core::rds::now;
use rds_refresh_core::regional::Regional;
use rds_refresh_core::secrets::Secrets;
use rds_refresh_core::tasks::{check_secrets, set_credentials, wait_credentials};

use crate::mocked::{ADDRESS, REGION, described, error_answer, instance, instance_ref, rds_in_region};

const MASTER_SECRET: &str = "arn:aws:secretsmanager:us-west-2:123456789012:secret:staging/y/master-AbCdEf";
const VERSION: &str = "5e5f7a0c-0f4e-4a43-9c1e-3d0f5c6b7a81";
/// A password of these tests only: they check that it is passed on, and nowhere else.
const PASSWORD: &str = "Mocked-Staging-Pass-1";

fn secrets(rules: &[&Rule]) -> Secrets {
    let interceptor =
        rules.iter().fold(MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny), |interceptor, rule| {
            interceptor.with_rule(rule)
        });
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
        .region(aws_sdk_secretsmanager::config::Region::new(REGION))
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "AKIDMOCKED",
            "mocked",
            None,
            None,
            "mocked",
        ))
        .retry_config(aws_sdk_secretsmanager::config::retry::RetryConfig::standard().with_max_backoff(Duration::ZERO))
        .retry_partition(aws_sdk_secretsmanager::config::retry::RetryPartition::custom("mocked-secrets").build())
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        .build();
    Secrets::from_regional(Regional::prepared([(REGION.to_owned(), aws_sdk_secretsmanager::Client::from_conf(config))]))
}

/// GetSecretValue of the master secret, at `version` (or the current one), answering `text`.
fn master_secret(version: Option<&'static str>, text: &'static str) -> Rule {
    mock!(aws_sdk_secretsmanager::Client::get_secret_value)
        .match_requests(move |input| input.secret_id() == Some(MASTER_SECRET) && input.version_id() == version)
        .then_output(move || {
            GetSecretValueOutput::builder().arn(MASTER_SECRET).version_id(VERSION).secret_string(text).build()
        })
}

/// A Secrets Manager error answer (the JSON protocol's).
fn secrets_error(status: u16, code: &str, message: &str) -> HttpResponse {
    let body = format!(r#"{{"__type": "{code}", "Message": "{message}"}}"#);
    HttpResponse::new(status.try_into().unwrap(), SdkBody::from(body))
}

fn plan(master: MasterCredentials) -> CredentialsPlan {
    CredentialsPlan {
        master: Some(master),
        master_username: "postgres".into(),
        roles: vec![],
        other_logins: OtherLogins::Keep,
    }
}

#[tokio::test]
async fn set_credentials_passes_the_checked_versions_password_to_rds() {
    let secret = master_secret(Some(VERSION), r#"{"username": "postgres", "password": "Mocked-Staging-Pass-1"}"#);
    let modify = mock!(Client::modify_db_instance)
        .match_requests(|input| {
            input.db_instance_identifier() == Some("y-rr-new-1")
                && input.master_user_password() == Some(PASSWORD)
                && input.manage_master_user_password().is_none()
                && input.apply_immediately() == Some(true)
        })
        .then_output(|| ModifyDbInstanceOutput::builder().build());
    let clients = WithSecrets { clients: rds_in_region(&[&modify]), secrets: secrets(&[&secret]) };
    let input = set_credentials::Input {
        target: instance_ref("y-rr-new-1"),
        credentials: plan(MasterCredentials::Secret { secret_arn: MASTER_SECRET.into(), version_id: VERSION.into() }),
    };

    let output = set_credentials::handle(clients, input).await.unwrap();

    assert_eq!((secret.num_calls(), modify.num_calls()), (1, 1));
    assert!(!output.requested_at.is_empty());
    assert!(!serde_json::to_string(&output).unwrap().contains(PASSWORD));
}

#[tokio::test]
async fn set_credentials_turns_on_a_managed_secret_with_the_targets_key() {
    let modify = mock!(Client::modify_db_instance)
        .match_requests(|input| {
            input.manage_master_user_password() == Some(true)
                && input.master_user_secret_kms_key_id() == Some("alias/staging")
                && input.master_user_password().is_none()
        })
        .then_output(|| ModifyDbInstanceOutput::builder().build());
    let clients = WithSecrets { clients: rds_in_region(&[&modify]), secrets: secrets(&[]) };
    let input = set_credentials::Input {
        target: instance_ref("y-rr-new-1"),
        credentials: plan(MasterCredentials::Managed { kms_key_id: Some("alias/staging".into()) }),
    };
    set_credentials::handle(clients, input).await.unwrap();
    assert_eq!(modify.num_calls(), 1);
}

#[tokio::test]
async fn credentials_rds_refuses_are_not_applied_and_a_busy_instance_is_waited_for() {
    let secret = || master_secret(Some(VERSION), r#"{"username": "postgres", "password": "Mocked-Staging-Pass-1"}"#);
    for (status, code, expected) in
        [(400, "InvalidParameterValue", "CredentialsNotApplied"), (400, "InvalidDBInstanceState", "NotReady")]
    {
        let secret = secret();
        let modify =
            mock!(Client::modify_db_instance).then_http_response(move || error_answer(status, code, "refused"));
        let clients = WithSecrets { clients: rds_in_region(&[&modify]), secrets: secrets(&[&secret]) };
        let input = set_credentials::Input {
            target: instance_ref("y-rr-new-1"),
            credentials: plan(MasterCredentials::Secret {
                secret_arn: MASTER_SECRET.into(),
                version_id: VERSION.into(),
            }),
        };
        let error = set_credentials::handle(clients, input).await.unwrap_err();
        assert_eq!(error.name(), expected, "{code}: {error}");
        assert!(!error.to_string().contains(PASSWORD));
    }
}

fn wait_input(managed: bool, requested_at: String) -> wait_credentials::Input {
    let master = if managed {
        MasterCredentials::Managed { kms_key_id: None }
    } else {
        MasterCredentials::Secret { secret_arn: MASTER_SECRET.into(), version_id: VERSION.into() }
    };
    wait_credentials::Input { target: instance_ref("y-rr-new-1"), credentials: plan(master), requested_at }
}

/// DescribeDBInstances answering the new instance in `status` with a master password pending.
fn password_pending(status: &'static str) -> Rule {
    mock!(Client::describe_db_instances).then_output(move || {
        let mut pending = instance("y-rr-new-1", status);
        pending.pending_modified_values = Some(PendingModifiedValues::builder().master_user_password("****").build());
        described(pending)
    })
}

#[tokio::test]
async fn wait_credentials_waits_while_the_password_is_pending_and_then_gives_the_endpoint() {
    let pending = password_pending("resetting-master-credentials");
    let error = wait_credentials::handle(rds_in_region(&[&pending]), wait_input(false, now())).await.unwrap_err();
    assert_eq!(error.name(), "NotReady", "{error}");

    let applied = mock!(Client::describe_db_instances).then_output(|| described(instance("y-rr-new-1", "available")));
    let database = wait_credentials::handle(rds_in_region(&[&applied]), wait_input(false, now())).await.unwrap();
    assert_eq!((database.endpoint.address.as_str(), database.endpoint.port), (ADDRESS, 5432));
    assert_eq!(database.master_user_secret_arn, None);
}

#[tokio::test]
async fn wait_credentials_gives_the_new_managed_secret_once_it_is_active() {
    let managed = |status: &'static str| {
        mock!(Client::describe_db_instances).then_output(move || {
            let mut with_secret = instance("y-rr-new-1", "available");
            with_secret.master_user_secret = Some(
                MasterUserSecret::builder()
                    .secret_arn("arn:aws:secretsmanager:us-west-2:123456789012:secret:rds!db-1")
                    .secret_status(status)
                    .build(),
            );
            described(with_secret)
        })
    };
    let creating = managed("creating");
    let error = wait_credentials::handle(rds_in_region(&[&creating]), wait_input(true, now())).await.unwrap_err();
    assert_eq!(error.name(), "NotReady");
    let active = managed("active");
    let database = wait_credentials::handle(rds_in_region(&[&active]), wait_input(true, now())).await.unwrap();
    assert_eq!(
        database.master_user_secret_arn.as_deref(),
        Some("arn:aws:secretsmanager:us-west-2:123456789012:secret:rds!db-1")
    );
}

#[tokio::test]
async fn credentials_never_applied_in_time_are_named() {
    let pending = password_pending("available");
    let long_ago = "2026-01-01T00:00:00Z".to_owned();
    let error = wait_credentials::handle(rds_in_region(&[&pending]), wait_input(false, long_ago)).await.unwrap_err();
    assert_eq!(error.name(), "CredentialsNotApplied", "{error}");
}

fn target_with_master_secret() -> TargetSpec {
    serde_json::from_value(serde_json::json!({
        "region": REGION, "dbInstanceIdentifier": "y", "masterUserSecretArn": MASTER_SECRET
    }))
    .unwrap()
}

fn snapshot() -> SnapshotRef {
    serde_json::from_value(serde_json::json!({
        "identifier": "x-2026-11-23", "arn": "arn:aws:rds:us-east-1:123456789012:snapshot:x-2026-11-23",
        "region": "us-east-1", "createdAt": "2026-11-23T05:10:00Z", "snapshotType": "manual", "encrypted": false,
        "masterUsername": "postgres"
    }))
    .unwrap()
}

#[tokio::test]
async fn a_secret_that_cannot_be_read_is_named_by_why() {
    for (status, code, expected) in [
        (400, "ResourceNotFoundException", "SecretNotFound"),
        (400, "AccessDeniedException", "SecretNotFound"),
        (400, "DecryptionFailure", "SecretNotFound"),
        (400, "ThrottlingException", "Throttled"),
        (500, "InternalServiceError", "ServiceUnavailable"),
    ] {
        let refused = mock!(aws_sdk_secretsmanager::Client::get_secret_value)
            .then_http_response(move || secrets_error(status, code, "refused"));
        let error = check_secrets::plan(&secrets(&[&refused]), &target_with_master_secret(), &snapshot(), None, false)
            .await
            .unwrap_err();
        assert_eq!(error.name(), expected, "{code}: {error}");
        assert!(error.to_string().contains(MASTER_SECRET) && error.to_string().contains(code), "{error}");
    }
}

#[tokio::test]
async fn check_secrets_plans_the_version_it_read() {
    let secret = master_secret(None, r#"{"username": "postgres", "password": "Mocked-Staging-Pass-1"}"#);
    let plan = check_secrets::plan(&secrets(&[&secret]), &target_with_master_secret(), &snapshot(), None, false)
        .await
        .unwrap();
    assert_eq!(
        plan.master,
        Some(MasterCredentials::Secret { secret_arn: MASTER_SECRET.into(), version_id: VERSION.into() })
    );
    assert!(!serde_json::to_string(&plan).unwrap().contains(PASSWORD));
    let malformed = master_secret(None, r#"{"username": "postgres"}"#);
    let error = check_secrets::plan(&secrets(&[&malformed]), &target_with_master_secret(), &snapshot(), None, false)
        .await
        .unwrap_err();
    assert_eq!(error, TaskError::SecretInvalid(format!("secret {MASTER_SECRET}: has no field password")));
}
