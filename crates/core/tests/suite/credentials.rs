//! y's own credentials, end to end, inside real databases: the emulator's data plane (a real
//! PostgreSQL server per instance; snapshots carry the data, roles and passwords), the real
//! definition in the local interpreter, the real task binaries, the emulator's Secrets Manager.
//! Outcomes are checked by logging in to the servers afterwards and reading their rows.
use std::collections::BTreeSet;

use rds_refresh_core::identifiers::swap_identifiers;
use rds_refresh_core::model::{CredentialsApplied, MasterCredentials};
use rds_refresh_database::DatabaseError;
use rds_refresh_test_support::databases::{SeededDatabase, log_in, rows};
use rds_refresh_test_support::local_run::{
    Run, TARGET_REGION, input_with, refresh_local_with, seed_source_with_data, seed_target_with_data, tags_of,
};
use rds_refresh_test_support::{Emulator, STATE_TABLE, instance, tmp_dir, unique};
use serde_json::{Value, json};

/// A password made for this test run (never a constant of the repository): printable ASCII,
/// within RDS's rule for master passwords.
fn new_password(label: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let digest = rds_refresh_core::identifiers::short_hash(&format!("{label}-{nanos}-{}", std::process::id()), 8);
    format!("Stg-{label}-{digest}-{:x}", nanos % 0xffff_ffff)
}

/// The staging secrets of y: its master user's and app_user's, with fresh passwords.
pub(crate) struct StagingSecrets {
    pub(crate) master_arn: String,
    pub(crate) master_password: String,
    pub(crate) app_arn: String,
    pub(crate) app_password: String,
}

pub(crate) async fn staging_secrets(emulator: &Emulator, master_username: &str) -> StagingSecrets {
    let master_password = new_password("master");
    let app_password = new_password("app");
    let prefix = unique("staging");
    let master_arn = emulator
        .create_secret(
            TARGET_REGION,
            &format!("{prefix}/y/master"),
            &json!({"username": master_username, "password": master_password, "engine": "postgres"}),
        )
        .await;
    let app_arn = emulator
        .create_secret(
            TARGET_REGION,
            &format!("{prefix}/y/app_user"),
            &json!({"username": "app_user", "password": app_password}),
        )
        .await;
    StagingSecrets { master_arn, master_password, app_arn, app_password }
}

/// A fresh emulator with databases, seeded with the standard world's `x` and `y` (each with its
/// data), and y's staging secrets: `(emulator, x's newest snapshot, x, the old y, secrets)`.
pub(crate) async fn seeded() -> (Emulator, String, SeededDatabase, SeededDatabase, StagingSecrets) {
    let emulator = Emulator::start_with_databases();
    let (newest, x) = seed_source_with_data(&emulator, "x").await;
    let old_y = seed_target_with_data(&emulator, "y", json!({})).await;
    let secrets = staging_secrets(&emulator, &x.master_username).await;
    (emulator, newest, x, old_y, secrets)
}

/// The refresh's input with y's credentials.
pub(crate) fn credentials_input(mode: &str, secrets: &StagingSecrets, extra: Value) -> Value {
    let mut input = input_with(json!({
        "mode": mode,
        "target": {
            "masterUserSecretArn": secrets.master_arn,
            "roleSecrets": {"app_user": secrets.app_arn},
        }
    }));
    for (key, value) in extra.as_object().unwrap() {
        match (input.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(more)) => existing.extend(more.clone()),
            _ => input[key] = value.clone(),
        }
    }
    input
}

/// scripts/refresh-local with the emulator's CA as the tasks' RDS_REFRESH_CA_BUNDLE, the
/// functions' logs in a file of their own: `(run, function logs)`.
pub(crate) fn refresh(emulator: &Emulator, input: &Value) -> (Run, String) {
    let logs = tmp_dir().join(unique("function-logs")).with_extension("log");
    let ca = emulator.ca_bundle();
    let run = refresh_local_with(
        emulator,
        input,
        &[("RDS_REFRESH_CA_BUNDLE", &ca)],
        &["--function-log-file", logs.to_str().unwrap()],
    );
    let logs = std::fs::read_to_string(&logs).unwrap_or_default();
    (run, logs)
}

/// Where instance `id` of the target region listens now.
pub(crate) async fn endpoint_of(emulator: &Emulator, id: &str) -> (String, u16) {
    let found = instance(&emulator.client(TARGET_REGION), id).await.unwrap_or_else(|| panic!("{id} exists"));
    let endpoint = found.endpoint().expect("an endpoint");
    (endpoint.address().unwrap().to_owned(), u16::try_from(endpoint.port().unwrap()).unwrap())
}

pub(crate) fn refused(result: Result<rds_refresh_database::Session, DatabaseError>) -> bool {
    matches!(result, Err(DatabaseError::LoginRefused { .. }))
}

/// Every place a secret could leak to: the execution's output and events (state data, inputs
/// and outputs of every state), the runner's and the functions' logs, y's tags, the state
/// table, the notifications and every call the emulator received (passwords are left out of
/// its log, so a password in it would be in a parameter it keeps).
pub(crate) async fn everything_written(emulator: &Emulator, run: &Run, function_logs: &str, queue: &str) -> String {
    let tags = tags_of(emulator, TARGET_REGION, "y").await;
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&emulator.sdk_config())
            .region(aws_config::Region::new("us-east-1"))
            .build(),
    );
    let items = dynamodb.scan().table_name(STATE_TABLE).send().await.unwrap();
    let notifications = emulator.notifications(TARGET_REGION, queue);
    format!(
        "{}\n{}\n{}\n{function_logs}\n{tags:?}\n{:?}\n{notifications:?}\n{}",
        run.stdout,
        run.stderr,
        serde_json::to_string(&run.events).unwrap(),
        items.items(),
        emulator.control_get("calls")
    )
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn a_swap_gives_y_the_snapshots_data_and_its_own_credentials_before_it_serves() {
    let (emulator, newest, x, _, secrets) = seeded().await;
    let (topic, queue) = emulator.topic_with_queue(TARGET_REGION, "refresh-credentials");
    let input = credentials_input(
        "swap",
        &secrets,
        json!({"target": {"otherLogins": "disable"}, "notify": {"topicArn": topic}}),
    );

    let (run, function_logs) = refresh(&emulator, &input);
    let output = run.output();

    // What the credential steps did, in the output.
    assert_eq!(output.snapshot.identifier, newest);
    assert_eq!(
        output.credentials,
        Some(CredentialsApplied {
            master_username: x.master_username.clone(),
            master_user_secret_arn: Some(secrets.master_arn.clone()),
            roles_set: vec!["app_user".into()],
            logins_disabled: vec!["reporting".into()],
            checked_logins: vec![x.master_username.clone(), "app_user".into()],
        })
    );
    // Before the switch: the credential states ran before RetireTarget.
    let order: Vec<&str> = run
        .events
        .iter()
        .filter(|e| e["type"] == "StateEntered")
        .filter_map(|e| e["state"].as_str())
        .filter(|s| ["CheckConnectionsBeside", "RetireTarget", "SetCredentialsBeside"].contains(s))
        .collect();
    assert_eq!(order, ["SetCredentialsBeside", "CheckConnectionsBeside", "RetireTarget"]);

    // y now holds x's data as of the snapshot: its customers, the marks made before the
    // snapshot was taken, and none made after it; not y's old rows.
    let tls = emulator.tls();
    let (address, port) = endpoint_of(&emulator, "y").await;
    let y = log_in(&tls, &address, port, "app", &x.master_username, &secrets.master_password)
        .await
        .expect("y's secret logs in");
    let x_session = log_in(&tls, &x.address, x.port, "app", &x.master_username, x.password(&x.master_username))
        .await
        .expect("x keeps its own password");
    assert_eq!(rows(&y, "SELECT email FROM customers").await, rows(&x_session, "SELECT email FROM customers").await);
    assert!(!rows(&y, "SELECT name FROM customers").await.contains(&"staging-only".to_owned()));
    let marks = rows(&y, "SELECT mark FROM marks").await;
    assert!(marks.contains(&format!("before {newest}")), "{marks:?}");
    assert!(!marks.contains(&"after every snapshot".to_owned()), "{marks:?}");
    assert!(rows(&x_session, "SELECT mark FROM marks").await.contains(&"after every snapshot".to_owned()));

    // x's master password does not log in to y; y's secret does (above). app_user logs in with
    // its staging secret, not with production's; reporting no longer logs in at all.
    assert!(refused(log_in(&tls, &address, port, "app", &x.master_username, x.password(&x.master_username)).await));
    assert!(log_in(&tls, &address, port, "app", "app_user", &secrets.app_password).await.is_ok());
    assert!(refused(log_in(&tls, &address, port, "app", "app_user", x.password("app_user")).await));
    assert!(refused(log_in(&tls, &address, port, "app", "reporting", x.password("reporting")).await));
    let logins: BTreeSet<String> =
        rows(&y, "SELECT rolname FROM pg_roles WHERE rolcanlogin").await.into_iter().collect();
    let expected: BTreeSet<String> =
        [x.master_username.as_str(), "app_user", "rdsadmin"].iter().map(|s| s.to_string()).collect();
    assert_eq!(logins, expected);
    // x was only read: its roles still log in with production's passwords.
    assert!(log_in(&tls, &x.address, x.port, "app", "reporting", x.password("reporting")).await.is_ok());

    // No secret anywhere the refresh wrote.
    let written = everything_written(&emulator, &run, &function_logs, &queue).await;
    for secret in [&secrets.master_password, &secrets.app_password] {
        assert!(
            !written.contains(secret.as_str()),
            "a secret leaked into the outputs, logs, tags, state table or notifications"
        );
    }
    assert!(written.contains(&secrets.master_arn), "the check above looked at what the refresh wrote");
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn a_replace_sets_y_credentials_right_after_the_restore() {
    let (emulator, _, x, _, secrets) = seeded().await;

    let (run, _) = refresh(&emulator, &credentials_input("replace", &secrets, json!({})));
    let output = run.output();

    let applied = output.credentials.expect("the credential steps ran");
    assert_eq!(applied.roles_set, ["app_user"]);
    assert!(applied.logins_disabled.is_empty(), "otherLogins keep is the default");
    assert!(run.entered("CheckConnections") && !run.entered("CheckConnectionsBeside"));
    let tls = emulator.tls();
    let (address, port) = endpoint_of(&emulator, "y").await;
    assert!(log_in(&tls, &address, port, "app", &x.master_username, &secrets.master_password).await.is_ok());
    assert!(refused(log_in(&tls, &address, port, "app", &x.master_username, x.password(&x.master_username)).await));
    assert!(log_in(&tls, &address, port, "app", "app_user", &secrets.app_password).await.is_ok());
    // otherLogins keep: reporting keeps the snapshot's (production's) password.
    assert!(log_in(&tls, &address, port, "app", "reporting", x.password("reporting")).await.is_ok());
}

/// The RDS calls the emulator received that change something.
pub(crate) fn changes(emulator: &Emulator) -> Vec<String> {
    let calls = emulator.control_get("calls");
    let read_only = |action: &str| action.starts_with("Describe") || action.starts_with("List");
    calls["log"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|call| call["service"] == "rds")
        .filter_map(|call| call["action"].as_str())
        .filter(|action| !read_only(action))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn an_unreadable_or_malformed_secret_is_refused_before_any_change() {
    let (emulator, _, x, old_y, good) = seeded().await;
    let no_password =
        emulator.create_secret(TARGET_REGION, "staging/y/broken", &json!({"username": x.master_username})).await;
    let wrong_user = emulator
        .create_secret(
            TARGET_REGION,
            "staging/y/admin",
            &json!({"username": "admin", "password": new_password("admin")}),
        )
        .await;
    let missing = good.master_arn.replace("master", "nothing-here");

    let cases = [
        (
            json!({"masterUserSecretArn": no_password}),
            "SecretInvalid",
            format!("secret {no_password}: has no field password"),
        ),
        (json!({"masterUserSecretArn": wrong_user}), "SecretInvalid", "field username is admin".to_owned()),
        (json!({"masterUserSecretArn": missing}), "SecretNotFound", "ResourceNotFoundException".to_owned()),
        (json!({"roleSecrets": {"app_user": missing}}), "SecretNotFound", missing.clone()),
    ];
    for (target, error, cause) in cases {
        emulator.clear_calls();
        let (run, _) = refresh(&emulator, &credentials_input("swap", &good, json!({"target": target})));
        assert!(!run.success, "{target}: the refresh must fail");
        assert!(
            run.stderr.contains(error) && run.stderr.contains(&cause),
            "{target}: {error} ({cause}):\n{}",
            run.stderr
        );
        assert_eq!(
            changes(&emulator),
            Vec::<String>::new(),
            "{target}: nothing may change before the secrets are checked"
        );
    }

    // A secret this function may not read (Secrets Manager refuses it) is refused the same way.
    emulator.clear_calls();
    emulator.control(
        "faults",
        json!({"action": "GetSecretValue", "code": "AccessDeniedException", "status": 400,
               "message": "User is not authorized to perform: secretsmanager:GetSecretValue", "count": -1}),
    );
    let (run, _) = refresh(&emulator, &credentials_input("swap", &good, json!({})));
    assert!(
        !run.success && run.stderr.contains("SecretNotFound") && run.stderr.contains("AccessDeniedException"),
        "{}",
        run.stderr
    );
    assert_eq!(changes(&emulator), Vec::<String>::new());
    emulator.control_delete("faults");

    // The dry run lists what it would use: the secrets' ARNs and versions, never their values.
    let (run, _) = refresh(&emulator, &credentials_input("swap", &good, json!({"dryRun": true})));
    let plan = run.json();
    assert_eq!(plan["wouldRefresh"], json!(true), "{plan}");
    let credentials: rds_refresh_core::model::CredentialsPlan =
        serde_json::from_value(plan["credentials"].clone()).unwrap();
    match credentials.master {
        Some(MasterCredentials::Secret { secret_arn, version_id }) => {
            assert_eq!(secret_arn, good.master_arn);
            assert!(!version_id.is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(credentials.roles[0].secret_arn, good.app_arn);
    assert!(!run.stdout.contains(&good.master_password) && !run.stdout.contains(&good.app_password));

    // y was never touched: its old data and its own passwords.
    let tls = emulator.tls();
    let (address, port) = endpoint_of(&emulator, "y").await;
    let y = log_in(&tls, &address, port, "app", &old_y.master_username, old_y.password(&old_y.master_username))
        .await
        .unwrap();
    assert_eq!(rows(&y, "SELECT name FROM customers").await, ["staging-only"]);
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn a_failed_credential_step_in_swap_mode_leaves_the_old_y_serving_with_its_old_data() {
    let (emulator, newest, _, old_y, secrets) = seeded().await;
    // A role the snapshot does not have: found only inside the restored database, after the
    // master password was set, before the switch.
    let ghost =
        emulator.create_secret(TARGET_REGION, "staging/y/ghost", &json!({"password": new_password("ghost")})).await;
    let input = credentials_input("swap", &secrets, json!({"target": {"roleSecrets": {"ghost": ghost}}}));

    let (run, _) = refresh(&emulator, &input);

    assert!(!run.success);
    assert!(run.stderr.contains("RoleNotFound") && run.stderr.contains("ghost"), "{}", run.stderr);
    assert!(run.entered("SetCredentialsBeside") && run.entered("RecoverSwap") && !run.entered("RetireTarget"));
    the_old_y_serves_untouched(&emulator, &newest, &old_y).await;
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn a_master_password_rds_never_applies_leaves_the_old_y_serving() {
    let (emulator, newest, _, old_y, secrets) = seeded().await;
    // RDS keeps the new password pending for longer than the wait's polling lasts (23 looks),
    // and the instance refuses its delete until then: RecoverSwap waits it out.
    emulator.control("transitions", json!({"instance.resetting-master-credentials": {"reads": 45}}));

    let (run, _) = refresh(&emulator, &credentials_input("swap", &secrets, json!({})));

    assert!(!run.success);
    assert!(run.stderr.contains("WaitTimedOut") && run.stderr.contains("master password pending"), "{}", run.stderr);
    assert!(run.retries("WaitCredentialsBeside", "NotReady") > 10, "the wait polled");
    assert!(!run.entered("ApplyRolesBeside") && !run.entered("RetireTarget"), "{}", run.stderr);
    assert!(run.retries("RecoverSwap", "NotReady") > 0, "the delete waited for the reset to end");
    the_old_y_serves_untouched(&emulator, &newest, &old_y).await;
}

/// After a failure before the switch: the new instance is gone, nothing was renamed, and y
/// serves its old data with its own passwords.
pub(crate) async fn the_old_y_serves_untouched(emulator: &Emulator, newest: &str, old_y: &SeededDatabase) {
    let snapshot_arn = format!("arn:aws:rds:us-east-1:123456789012:snapshot:{newest}");
    let (temporary, _) = swap_identifiers("y", &snapshot_arn);
    assert!(instance(&emulator.client(TARGET_REGION), &temporary).await.is_none(), "{temporary} was removed");
    let renames: Vec<Value> = emulator.control_get("calls")["log"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|call| call["action"] == "ModifyDBInstance" && call["params"].get("NewDBInstanceIdentifier").is_some())
        .cloned()
        .collect();
    assert!(renames.is_empty(), "nothing is renamed before the credentials are checked: {renames:?}");
    let tls = emulator.tls();
    let (address, port) = endpoint_of(emulator, "y").await;
    let y = log_in(&tls, &address, port, "app", &old_y.master_username, old_y.password(&old_y.master_username))
        .await
        .expect("the old y keeps its own master password");
    assert_eq!(rows(&y, "SELECT name FROM customers").await, ["staging-only"]);
    assert!(log_in(&tls, &address, port, "app", "app_user", old_y.password("app_user")).await.is_ok());
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn a_y_whose_master_password_rds_manages_gets_a_managed_secret_of_its_own() {
    let emulator = Emulator::start_with_databases();
    let (_, x) = seed_source_with_data(&emulator, "x").await;
    let key = emulator.create_kms_key(TARGET_REGION);
    seed_target_with_data(&emulator, "y", json!({"ManageMasterUserPassword": true, "MasterUserSecretKmsKeyId": key}))
        .await;
    let target = emulator.client(TARGET_REGION);
    let old_secret =
        instance(&target, "y").await.unwrap().master_user_secret().unwrap().secret_arn().unwrap().to_owned();
    let app_password = new_password("app");
    let app_arn = emulator
        .create_secret(TARGET_REGION, "staging/y/app_user", &json!({"username": "app_user", "password": app_password}))
        .await;
    let input = input_with(json!({"target": {"roleSecrets": {"app_user": app_arn}}}));

    let (run, _) = refresh(&emulator, &input);
    let output = run.output();

    // The new y has a managed secret of its own, with y's KMS key, and the output names it.
    let y = instance(&target, "y").await.unwrap();
    let secret = y.master_user_secret().expect("the new y's password is managed by RDS");
    let new_secret = secret.secret_arn().unwrap().to_owned();
    assert_ne!(new_secret, old_secret, "RDS makes a new secret per instance");
    assert_eq!(secret.kms_key_id(), Some(key.as_str()));
    let applied = output.credentials.expect("the credential steps ran");
    assert_eq!(applied.master_user_secret_arn.as_deref(), Some(new_secret.as_str()));
    // Its password logs in; x's does not.
    let config = aws_sdk_secretsmanager::config::Builder::from(&emulator.sdk_config())
        .region(aws_config::Region::new(TARGET_REGION))
        .build();
    let value = aws_sdk_secretsmanager::Client::from_conf(config)
        .get_secret_value()
        .secret_id(&new_secret)
        .send()
        .await
        .unwrap();
    let managed: Value = serde_json::from_str(value.secret_string().unwrap()).unwrap();
    let tls = emulator.tls();
    let (address, port) = endpoint_of(&emulator, "y").await;
    let password = managed["password"].as_str().unwrap();
    assert!(log_in(&tls, &address, port, "app", &x.master_username, password).await.is_ok());
    assert!(refused(log_in(&tls, &address, port, "app", &x.master_username, x.password(&x.master_username)).await));
    assert!(log_in(&tls, &address, port, "app", "app_user", &app_password).await.is_ok());
}
