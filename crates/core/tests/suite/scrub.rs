//! Scrubbing the copy before it serves (`sql`), end to end, inside real databases: scripts
//! from the emulator's S3 and inline, run by the real task binaries on the emulator's real
//! PostgreSQL servers through the real definition. Outcomes are read from the servers and from
//! the emulator's call log afterwards.
use rds_refresh_core::model::sql::SqlPlan;
use rds_refresh_core::scripts::sha256_hex;
use rds_refresh_database::Session;
use rds_refresh_test_support::databases::{SeededDatabase, log_in, rows};
use rds_refresh_test_support::local_run::{Run, TARGET_REGION};
use rds_refresh_test_support::{Emulator, unique};
use serde_json::{Value, json};

use crate::credentials::{
    StagingSecrets, changes, credentials_input, endpoint_of, everything_written, refresh, seeded,
    the_old_y_serves_untouched,
};

/// The example masking script of examples/, as the demo uses it.
const MASK: &str = include_str!("../../../../examples/scrub/mask-customers.sql");
const NO_REAL_EMAILS: &str = "SELECT count(*) = 0 FROM customers WHERE email NOT LIKE '%@example.invalid'";

/// `examples/scrub/mask-customers.sql` in a bucket of the emulator's S3: its `s3://` URI.
async fn mask_in_s3(emulator: &Emulator) -> String {
    emulator.put_script(TARGET_REGION, &unique("scripts"), "refresh/mask-customers.sql", MASK).await
}

fn sql_input(mode: &str, secrets: &StagingSecrets, sql: Value) -> Value {
    credentials_input(mode, secrets, json!({ "sql": sql }))
}

async fn y_as_master(emulator: &Emulator, x: &SeededDatabase, secrets: &StagingSecrets) -> Session {
    let (address, port) = endpoint_of(emulator, "y").await;
    log_in(&emulator.tls(), &address, port, "app", &x.master_username, &secrets.master_password)
        .await
        .expect("y's master secret logs in")
}

/// The time of the first rename the emulator received (RetireTarget's).
fn first_rename_at(emulator: &Emulator) -> Option<String> {
    emulator.control_get("calls")["log"].as_array().unwrap().iter().find_map(|call| {
        (call["action"] == "ModifyDBInstance" && call["params"].get("NewDBInstanceIdentifier").is_some())
            .then(|| call["at"].as_str().unwrap().to_owned())
    })
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn a_swap_serves_y_only_once_its_copy_is_masked_and_verified() {
    let (emulator, _, x, _, secrets) = seeded().await;
    let mask = mask_in_s3(&emulator).await;
    // A script of its own records when the scripts committed, in the database; VACUUM cannot
    // run in a transaction.
    let stamp = "CREATE TABLE scrubbed AS SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', \
                 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS at";
    let (topic, queue) = emulator.topic_with_queue(TARGET_REGION, "refresh-scrub");
    let mut input = sql_input(
        "swap",
        &secrets,
        json!({
            "scripts": [
                {"name": "mask-customers", "database": "app", "s3Uri": mask},
                {"name": "vacuum", "database": "app", "inline": "VACUUM customers;", "transaction": false},
                {"name": "stamp", "database": "app", "inline": stamp}
            ],
            "verify": [{"name": "no-real-emails", "database": "app", "query": NO_REAL_EMAILS}]
        }),
    );
    input["notify"] = json!({"topicArn": topic});

    let (run, function_logs) = refresh(&emulator, &input);
    let output = run.output();

    // y serves x's rows, masked: every customer of x, none with a real address, no tokens.
    let y = y_as_master(&emulator, &x, &secrets).await;
    let x_session =
        log_in(&emulator.tls(), &x.address, x.port, "app", &x.master_username, x.password(&x.master_username))
            .await
            .unwrap();
    let customers = rows(&x_session, "SELECT id::text FROM customers ORDER BY id").await;
    let expected: Vec<String> = customers.iter().map(|id| format!("customer-{id}@example.invalid")).collect();
    assert_eq!(rows(&y, "SELECT email FROM customers ORDER BY id").await, expected);
    assert_eq!(rows(&y, "SELECT count(*)::text FROM api_tokens").await, ["0"]);
    assert!(
        rows(&x_session, "SELECT email FROM customers").await.iter().all(|e| !e.ends_with(".invalid")),
        "x is only read"
    );

    // The output's audit: what ran (the SHA-256 of the very text), how much, and the check.
    let sql = output.sql.expect("the SQL steps ran");
    let names: Vec<&str> = sql.scripts.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["mask-customers", "vacuum", "stamp"]);
    assert_eq!(sql.scripts[0].sha256, sha256_hex(MASK));
    assert_eq!(sql.scripts[0].statements, 2);
    let tokens = rows(&x_session, "SELECT count(*)::text FROM api_tokens").await[0].parse::<u64>().unwrap();
    assert_eq!(sql.scripts[0].rows_affected, customers.len() as u64 + tokens);
    assert_eq!(sql.verify.len(), 1);
    assert!(sql.verify[0].result && sql.verify[0].name == "no-real-emails");
    let notified = emulator.notifications(TARGET_REGION, &queue);
    assert!(format!("{notified:?}").contains(&sql.scripts[0].sha256), "the notification carries the audit");

    // y's name never served unmasked rows: the scripts committed, and were verified, before
    // the first rename.
    let committed_at = rows(&y, "SELECT at FROM scrubbed").await.remove(0);
    let renamed_at = first_rename_at(&emulator).expect("the swap renamed y");
    assert!(committed_at < renamed_at, "scripts committed at {committed_at}, y renamed at {renamed_at}");
    // Until that rename the old y served, untouched: no call changed it before.
    let calls = emulator.control_get("calls");
    let before_rename: Vec<&Value> = calls["log"]
        .as_array()
        .unwrap()
        .iter()
        .take_while(|call| call["at"].as_str().unwrap() < renamed_at.as_str())
        .filter(|call| call["dbInstanceIdentifier"] == "y")
        .filter(|call| !call["action"].as_str().unwrap().starts_with("Describe"))
        .collect();
    assert!(before_rename.is_empty(), "y was changed before the switch: {before_rename:?}");
    let order: Vec<&str> = run
        .events
        .iter()
        .filter(|e| e["type"] == "StateEntered")
        .filter_map(|e| e["state"].as_str())
        .filter(|s| ["CheckConnectionsBeside", "RunScriptsBeside", "VerifyDataBeside", "RetireTarget"].contains(s))
        .collect();
    assert_eq!(order, ["CheckConnectionsBeside", "RunScriptsBeside", "VerifyDataBeside", "RetireTarget"]);

    // No password anywhere the refresh wrote.
    let written = everything_written(&emulator, &run, &function_logs, &queue).await;
    assert!(!written.contains(&secrets.master_password), "y's master password leaked");
}

/// A failing script, a timed-out one, a failing check, a missing S3 object: each stops the
/// swap before the switch with its name, and the old y keeps serving, untouched.
#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn a_failed_scrub_leaves_the_old_y_serving_and_a_re_run_restores_again() {
    let (emulator, newest, x, old_y, secrets) = seeded().await;
    let mask = mask_in_s3(&emulator).await;
    // Not idempotent: a second run on the same instance fails on the primary key.
    let mark = json!({"name": "mark", "database": "app", "inline": "INSERT INTO marks VALUES ('scrubbed');"});
    let failing = json!({"name": "broken", "database": "app",
                         "inline": "UPDATE customers SET name = 'x';\nSELECT 1/0;"});
    let slow = json!({"name": "slow", "database": "app", "inline": "SELECT pg_sleep(5);"});
    let missing =
        json!({"name": "missing", "database": "app", "s3Uri": mask.replace("mask-customers", "nothing-here")});
    let not_masked = json!({"name": "no-real-emails", "database": "app", "query": NO_REAL_EMAILS});

    let cases = [
        (json!({"scripts": [mark, failing]}), "SqlScriptFailed", "statement 2 (line 2)", "22012"),
        (json!({"scripts": [slow], "statementTimeoutSeconds": 1}), "SqlTimedOut", "slow", "1 s"),
        (json!({"scripts": [mark], "verify": [not_masked]}), "VerificationFailed", "no-real-emails", "false"),
        (json!({"scripts": [missing]}), "ScriptNotFound", "NoSuchKey", "nothing-here"),
    ];
    for (sql, error, what, detail) in cases {
        emulator.clear_calls();
        let (run, _) = refresh(&emulator, &sql_input("swap", &secrets, sql.clone()));
        assert!(!run.success, "{sql}: the refresh must fail");
        assert!(
            run.stderr.contains(error) && run.stderr.contains(what) && run.stderr.contains(detail),
            "{sql}: {error} ({what}, {detail}):\n{}",
            run.stderr
        );
        assert!(!run.entered("RetireTarget"), "{sql}");
        if error == "ScriptNotFound" {
            assert_eq!(changes(&emulator), Vec::<String>::new(), "a missing script is found before any change");
        } else {
            assert!(run.entered("RecoverSwap"));
        }
        the_old_y_serves_untouched(&emulator, &newest, &old_y).await;
    }

    // A re-run after the failed script starts from a fresh restore: its non-idempotent first
    // script runs again without a conflict, on a new instance.
    emulator.clear_calls();
    let input = sql_input(
        "swap",
        &secrets,
        json!({"scripts": [mark, {"name": "mask-customers", "database": "app", "s3Uri": mask}]}),
    );
    let (run, _) = refresh(&emulator, &input);
    assert!(run.success, "{}", run.stderr);
    assert_eq!(changes(&emulator).iter().filter(|a| *a == "RestoreDBInstanceFromDBSnapshot").count(), 1);
    let y = y_as_master(&emulator, &x, &secrets).await;
    assert_eq!(rows(&y, "SELECT count(*)::text FROM marks WHERE mark = 'scrubbed'").await, ["1"]);
    assert!(rows(&y, "SELECT email FROM customers").await.iter().all(|e| e.ends_with("@example.invalid")));
}

/// Replace mode: the scripts run right after the restore and the credentials; a re-run after a
/// failed script deletes the half-scrubbed y and restores it again instead of going on with it.
#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn a_replace_re_run_after_a_failed_script_restores_y_again() {
    let (emulator, _, x, _, secrets) = seeded().await;
    let mark = json!({"name": "mark", "database": "app", "inline": "INSERT INTO marks VALUES ('scrubbed');"});
    let failing = json!({"name": "broken", "database": "app", "inline": "SELECT 1/0;"});

    let (run, _) = refresh(&emulator, &sql_input("replace", &secrets, json!({"scripts": [mark, failing]})));
    assert!(!run.success && run.stderr.contains("SqlScriptFailed"), "{}", run.stderr);
    assert!(run.entered("CheckConnections") && run.entered("RunScripts") && !run.entered("ConfigureTarget"));
    // The half-scrubbed y: its first script committed.
    let y = y_as_master(&emulator, &x, &secrets).await;
    assert_eq!(rows(&y, "SELECT count(*)::text FROM marks WHERE mark = 'scrubbed'").await, ["1"]);
    drop(y);

    emulator.clear_calls();
    let mask = mask_in_s3(&emulator).await;
    let input = sql_input(
        "replace",
        &secrets,
        json!({"scripts": [mark, {"name": "mask-customers", "database": "app", "s3Uri": mask}],
               "verify": [{"name": "no-real-emails", "database": "app", "query": NO_REAL_EMAILS}]}),
    );
    let (run, _) = refresh(&emulator, &input);
    assert!(run.success, "{}", run.stderr);
    let changed = changes(&emulator);
    assert!(changed.contains(&"DeleteDBInstance".to_owned()), "the half-scrubbed y was deleted: {changed:?}");
    assert_eq!(changed.iter().filter(|a| *a == "RestoreDBInstanceFromDBSnapshot").count(), 1, "{changed:?}");
    let y = y_as_master(&emulator, &x, &secrets).await;
    assert_eq!(rows(&y, "SELECT count(*)::text FROM marks WHERE mark = 'scrubbed'").await, ["1"]);
    assert!(rows(&y, "SELECT email FROM customers").await.iter().all(|e| e.ends_with("@example.invalid")));
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn the_dry_run_lists_the_scripts_with_their_size_and_sha256() {
    let (emulator, _, _, _, secrets) = seeded().await;
    let mask = mask_in_s3(&emulator).await;
    let sql = json!({"scripts": [{"name": "mask-customers", "database": "app", "s3Uri": mask},
                                 {"name": "jobs", "database": "app", "inline": "SELECT 1; SELECT 2;"}]});
    let mut input = sql_input("swap", &secrets, sql);
    input["dryRun"] = json!(true);

    let (run, _) = refresh(&emulator, &input);
    let plan = run.json();
    assert_eq!(plan["wouldRefresh"], json!(true), "{plan}");
    let sql: SqlPlan = serde_json::from_value(plan["sql"].clone()).unwrap();
    assert_eq!(sql.scripts[0].sha256, sha256_hex(MASK));
    assert_eq!(sql.scripts[0].bytes, MASK.len() as u64);
    assert_eq!((sql.scripts[1].statements, sql.scripts[1].bytes), (2, 19));
    assert_eq!(changes(&emulator), Vec::<String>::new());

    // SQL needs the master's credentials to log in with.
    let mut input = rds_refresh_test_support::local_run::input_with(json!({"sql": {"scripts": [
        {"name": "jobs", "database": "app", "inline": "SELECT 1;"}]}}));
    input["dryRun"] = json!(true);
    let (run, _): (Run, String) = refresh(&emulator, &input);
    assert!(format!("{}{}", run.stdout, run.stderr).contains("needs target.masterUserSecretArn"), "{}", run.stdout);
}

/// When even the failure path could not remove a half-scrubbed new instance (its delete was
/// refused), a re-run does not go on with it: its restore step refuses it, the failure path
/// removes it, and the run after restores again.
#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn a_half_scrubbed_instance_left_beside_y_is_never_gone_on_with() {
    let (emulator, newest, x, _, secrets) = seeded().await;
    let snapshot_arn = format!("arn:aws:rds:us-east-1:123456789012:snapshot:{newest}");
    let (temporary, _) = rds_refresh_core::identifiers::swap_identifiers("y", &snapshot_arn);
    let mark = json!({"name": "mark", "database": "app", "inline": "INSERT INTO marks VALUES ('scrubbed');"});
    let failing = json!({"name": "broken", "database": "app", "inline": "SELECT 1/0;"});
    emulator.control(
        "faults",
        json!({"action": "DeleteDBInstance", "code": "AccessDenied", "status": 403,
               "message": "User is not authorized to perform: rds:DeleteDBInstance", "count": -1}),
    );
    let (run, _) = refresh(&emulator, &sql_input("swap", &secrets, json!({"scripts": [mark, failing]})));
    assert!(!run.success && run.stderr.contains("SqlScriptFailed"), "{}", run.stderr);
    let target = emulator.client(TARGET_REGION);
    assert!(rds_refresh_test_support::instance(&target, &temporary).await.is_some(), "the delete was refused");
    emulator.control_delete("faults");

    let input = sql_input("swap", &secrets, json!({"scripts": [mark]}));
    let (run, _) = refresh(&emulator, &input);
    assert!(
        !run.success && run.stderr.contains("TargetExists") && run.stderr.contains("by an earlier execution"),
        "{}",
        run.stderr
    );
    assert!(!run.entered("RunScriptsBeside"), "no script ran on the half-scrubbed instance");
    assert!(rds_refresh_test_support::instance(&target, &temporary).await.is_none(), "the failure path removed it");

    let (run, _) = refresh(&emulator, &input);
    assert!(run.success, "{}", run.stderr);
    let y = y_as_master(&emulator, &x, &secrets).await;
    assert_eq!(rows(&y, "SELECT count(*)::text FROM marks WHERE mark = 'scrubbed'").await, ["1"]);
}
