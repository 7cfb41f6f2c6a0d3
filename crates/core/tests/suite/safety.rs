//! Safe and reliable under faults, end to end through `scripts/refresh-local`, in replace
//! mode (swap mode's own failure handling is in swap.rs): a dry run
//! changes nothing; `x` is only read; throttling and 5xx on every task are retried; other
//! errors end in the Catch path, loudly, and release the lock; a bounded wait runs out
//! under a named error; a failure after any step is repaired by a plain re-run; two
//! executions on one target never both act; the outcome is published to SNS.

use std::collections::BTreeMap;

use rds_refresh_test_support::local_run::{
    Run, SOURCE_REGION, TARGET_REGION, for_each_step, input, input_with, refresh_local, refresh_local_with,
    seed_source, seed_target, tags_of,
};
use rds_refresh_test_support::{Emulator, create_instance_with, instance, opt_in};
use serde_json::{Value, json};

/// Every instance and snapshot of both regions, with status and tags: what a dry run must
/// leave exactly as it found it.
async fn everything(emulator: &Emulator) -> BTreeMap<String, Value> {
    let mut all = BTreeMap::new();
    for region in [SOURCE_REGION, TARGET_REGION] {
        let client = emulator.client(region);
        for instance in client.describe_db_instances().send().await.unwrap().db_instances() {
            let id = instance.db_instance_identifier().unwrap();
            let tags = tags_of(emulator, region, id).await;
            all.insert(
                format!("{region}/db/{id}"),
                json!({"status": instance.db_instance_status(), "class": instance.db_instance_class(), "tags": tags}),
            );
        }
        for snapshot in client.describe_db_snapshots().send().await.unwrap().db_snapshots() {
            all.insert(
                format!("{region}/snapshot/{}", snapshot.db_snapshot_identifier().unwrap()),
                json!({"status": snapshot.status()}),
            );
        }
    }
    all
}

/// The input refreshing y from x in replace mode (these tests follow its states), with `extra`.
fn replace_mode(extra: Value) -> Value {
    let mut input = input_with(extra);
    input["mode"] = json!("replace");
    input
}

/// The error names the interpreter caught in `run`, by state.
fn caught(run: &Run) -> Vec<(String, String)> {
    run.events
        .iter()
        .filter(|e| e["type"] == "StateCaught" || e["type"] == "StateFailed")
        .map(|e| {
            (e["state"].as_str().unwrap_or_default().to_owned(), e["error"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn a_dry_run_reports_the_plan_and_changes_nothing() {
    let emulator = Emulator::start();
    let newest = seed_source(&emulator, "x").await;
    seed_target(&emulator, "y").await;
    let before = everything(&emulator).await;
    emulator.clear_calls();

    let run = refresh_local(&emulator, &replace_mode(json!({"dryRun": true, "target": {"finalSnapshot": true}})), &[]);

    assert!(run.success, "{}", run.stderr);
    let plan: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(plan["dryRun"], true);
    assert_eq!(plan["wouldRefresh"], true, "{plan}");
    assert_eq!(plan["snapshot"]["identifier"], newest.as_str());
    assert_eq!(plan["copy"]["action"], "copy");
    assert_eq!(plan["configuration"]["dbInstanceClass"], "db.t3.medium");
    assert_eq!(plan["wouldDelete"]["instance"], json!({"region": TARGET_REGION, "dbInstanceIdentifier": "y"}));
    assert!(plan["wouldDelete"]["finalSnapshot"].as_str().unwrap().starts_with("rds-refresh-final-y-"));
    assert_eq!(emulator.changing_calls(), Vec::<String>::new());
    assert_eq!(everything(&emulator).await, before);
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn a_dry_run_names_every_guard_that_would_refuse() {
    let emulator = Emulator::start();
    seed_source(&emulator, "x").await;
    create_instance_with(&emulator.client(TARGET_REGION), "y", |b| b.deletion_protection(true)).await;

    let run = refresh_local(&emulator, &replace_mode(json!({"dryRun": true, "snapshot": {"maxAgeHours": 1}})), &[]);

    let plan: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|_| panic!("{}", run.stderr));
    assert_eq!(plan["wouldRefresh"], false);
    let refusals: Vec<&str> =
        plan["refusals"].as_array().unwrap().iter().map(|r| r["error"].as_str().unwrap()).collect();
    assert_eq!(refusals, ["SnapshotTooOld", "TargetNotOptedIn"]);
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn the_source_is_only_ever_read() {
    let emulator = Emulator::start();
    seed_source(&emulator, "x").await;
    seed_target(&emulator, "y").await;
    emulator.clear_calls();

    refresh_local(&emulator, &replace_mode(json!({"target": {"finalSnapshot": true}})), &[]).output();

    let changes = emulator.changing_calls_by_region();
    assert!(!changes.is_empty());
    let in_source: Vec<_> = changes.iter().filter(|(region, _)| region == SOURCE_REGION).collect();
    assert_eq!(in_source, Vec::<&(String, String)>::new(), "x's region was changed");
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn throttling_on_every_task_is_retried_and_the_refresh_completes() {
    let emulator = Emulator::start();
    let newest = seed_source(&emulator, "x").await;
    // A maintenance window, which a restore cannot set: configure-target must modify.
    create_instance_with(&emulator.client(TARGET_REGION), "y", |b| {
        b.preferred_maintenance_window("sun:05:00-sun:05:30").tags(opt_in("us-east-1/x"))
    })
    .await;
    emulator.control(
        "transitions",
        json!({"snapshot.creating": {"reads": 1}, "instance.deleting": {"reads": 1}, "instance.creating": {"reads": 1}}),
    );
    // The first call of every action a refresh makes is throttled once.
    let actions = [
        "DescribeDBSnapshots",
        "DescribeDBInstances",
        "ListTagsForResource",
        "CopyDBSnapshot",
        "DeleteDBInstance",
        "RestoreDBInstanceFromDBSnapshot",
        "ModifyDBInstance",
        "AddTagsToResource",
        "RemoveTagsFromResource",
    ];
    for action in actions {
        emulator
            .control("faults", json!({"action": action, "code": "Throttling", "message": "Rate exceeded", "count": 1}));
    }

    // One SDK attempt per call, so each throttling reaches the state machine's Retry.
    let run = refresh_local(&emulator, &replace_mode(json!({})), &[("AWS_MAX_ATTEMPTS", "1")]);

    assert_eq!(run.output().snapshot.identifier, newest);
    // Every state that calls RDS (all of STEPS but the lock's).
    let throttled: usize = STEPS[1..STEPS.len() - 1].iter().map(|state| run.retries(state, "Throttled")).sum();
    assert_eq!(throttled, actions.len(), "{}", run.stderr);
    assert_eq!(
        emulator.control_get("faults")["faults"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["count"].as_i64().unwrap())
            .sum::<i64>(),
        0
    );
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn a_server_error_on_the_restore_is_retried() {
    let emulator = Emulator::start();
    seed_source(&emulator, "x").await;
    seed_target(&emulator, "y").await;
    emulator.control(
        "faults",
        json!({"action": "RestoreDBInstanceFromDBSnapshot", "code": "InternalFailure", "status": 500, "message": "oops", "count": 2}),
    );

    let run = refresh_local(&emulator, &replace_mode(json!({})), &[("AWS_MAX_ATTEMPTS", "1")]);

    run.output();
    assert_eq!(run.retries("RestoreTarget", "ServiceUnavailable"), 2, "{}", run.stderr);
}

/// RDS refuses a change while the instance is in a status that passes by itself
/// (`InvalidDBInstanceState`, e.g. while it is backing up): that is waited out, not failed on.
#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn an_instance_state_that_passes_by_itself_is_retried_not_failed_on() {
    let emulator = Emulator::start();
    seed_source(&emulator, "x").await;
    seed_target(&emulator, "y").await;
    emulator.control(
        "faults",
        json!({"action": "DeleteDBInstance", "code": "InvalidDBInstanceState", "message": "y is being backed up", "count": 2}),
    );
    let run = refresh_local(&emulator, &replace_mode(json!({})), &[]);
    run.output();
    assert_eq!(run.retries("DeleteTarget", "NotReady"), 2, "{}", run.stderr);
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn a_non_retryable_error_ends_in_the_catch_path_and_releases_the_lock() {
    let emulator = Emulator::start();
    seed_source(&emulator, "x").await;
    seed_target(&emulator, "y").await;
    emulator.control(
        "faults",
        json!({"action": "DeleteDBInstance", "code": "InvalidParameterValue", "message": "refused for the test", "count": 1}),
    );

    let failed = refresh_local(&emulator, &replace_mode(json!({})), &[]);

    assert_eq!(failed.code, Some(1));
    assert!(failed.stderr.contains("error: RdsRequestFailed"), "{}", failed.stderr);
    assert!(failed.stderr.contains("InvalidParameterValue"), "{}", failed.stderr);
    assert!(
        caught(&failed).contains(&("DeleteTarget".to_owned(), "RdsRequestFailed".to_owned())),
        "{:?}",
        caught(&failed)
    );
    assert_eq!(failed.retries("DeleteTarget", "RdsRequestFailed"), 0);
    // The lock was released: the next run is not refused.
    refresh_local(&emulator, &replace_mode(json!({})), &[]).output();
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn a_bounded_wait_that_runs_out_fails_with_wait_timed_out() {
    let emulator = Emulator::start();
    seed_source(&emulator, "x").await;
    seed_target(&emulator, "y").await;
    emulator.control("transitions", json!({"instance.creating": {"seconds": 3600}}));

    let run = refresh_local(&emulator, &replace_mode(json!({})), &[]);

    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("error: WaitTimedOut: us-west-2/y is creating"), "{}", run.stderr);
    assert_eq!(run.retries("WaitAvailable", "NotReady"), 120);
}

/// Every state that acts, in order.
const STEPS: &[&str] = &[
    "LockTarget",
    "FindSnapshot",
    "DescribeTarget",
    "CopySnapshot",
    "WaitCopied",
    "DeleteTarget",
    "WaitDeleted",
    "RestoreTarget",
    "WaitAvailable",
    "ConfigureTarget",
    "WaitConfigured",
    "TagTarget",
    "PruneCopies",
    "UnlockTarget",
];

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn a_failure_after_any_step_is_repaired_by_a_plain_rerun() {
    let emulator = Emulator::start();
    let newest = seed_source(&emulator, "x").await;
    emulator.control(
        "transitions",
        json!({"snapshot.creating": {"reads": 1}, "instance.deleting": {"reads": 1}, "instance.creating": {"reads": 1}}),
    );
    // One target per step, all refreshed at once.
    let target = |step: &str| format!("y-{}", step.to_ascii_lowercase());
    for step in STEPS {
        create_instance_with(&emulator.client(TARGET_REGION), &target(step), |b| {
            b.db_instance_class("db.t3.large").multi_az(true).tags(opt_in("us-east-1/x"))
        })
        .await;
    }
    let runs = for_each_step(STEPS, |step| {
        let mut input = input("x", &target(step));
        input["mode"] = json!("replace");
        let failed = refresh_local_with(&emulator, &input, &[], &["--fail-after", step]);
        let rerun = refresh_local(&emulator, &input, &[]);
        (step.to_string(), failed, rerun)
    });

    for (step, failed, rerun) in runs {
        assert!(failed.stderr.contains("error: Local.InjectedFailure"), "{step}: {}", failed.stderr);
        let output = rerun.output();
        assert_eq!(output.snapshot.identifier, newest, "{step}");
        let y = instance(&emulator.client(TARGET_REGION), &target(&step)).await.expect("y exists");
        assert_eq!((y.db_instance_class(), y.multi_az()), (Some("db.t3.large"), Some(true)), "{step}: configuration");
        let tags = tags_of(&emulator, TARGET_REGION, &target(&step)).await;
        assert_eq!(tags.get("rds-refresh:snapshot"), Some(&newest), "{step}");
        assert_eq!(tags.get("rds-refresh:restoring"), None, "{step}: the refresh finished");
    }
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn of_two_concurrent_executions_on_one_target_exactly_one_acts() {
    let emulator = Emulator::start();
    seed_source(&emulator, "x").await;
    seed_target(&emulator, "y").await;
    // Slow enough that the two runs overlap.
    emulator.control(
        "transitions",
        json!({"snapshot.creating": {"reads": 3}, "instance.deleting": {"reads": 3}, "instance.creating": {"reads": 3}}),
    );
    emulator.clear_calls();

    let (first, second) = std::thread::scope(|scope| {
        let a = scope.spawn(|| refresh_local(&emulator, &replace_mode(json!({})), &[]));
        let b = scope.spawn(|| refresh_local(&emulator, &replace_mode(json!({})), &[]));
        (a.join().unwrap(), b.join().unwrap())
    });

    let (winner, loser) = if first.success { (first, second) } else { (second, first) };
    winner.output();
    assert_eq!(loser.code, Some(1), "both acted:\n{}\n{}", winner.stderr, loser.stderr);
    assert!(loser.stderr.contains("error: TargetLocked"), "{}", loser.stderr);
    let changes: Vec<String> = emulator.changing_calls_by_region().into_iter().map(|(_, action)| action).collect();
    assert_eq!(changes.iter().filter(|a| *a == "DeleteDBInstance").count(), 1, "{changes:?}");
    assert_eq!(changes.iter().filter(|a| *a == "RestoreDBInstanceFromDBSnapshot").count(), 1, "{changes:?}");
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn success_and_failure_are_published_to_the_topic() {
    let emulator = Emulator::start();
    let newest = seed_source(&emulator, "x").await;
    seed_target(&emulator, "y").await;
    let (topic, queue) = emulator.topic_with_queue(TARGET_REGION, "rds-refresh");
    let notified = replace_mode(json!({"notify": {"topicArn": topic}}));

    let run = refresh_local(&emulator, &notified, &[]);
    run.output();
    let messages = emulator.notifications(TARGET_REGION, &queue);
    assert_eq!(messages.len(), 1, "{messages:?}\n{}", run.stderr);
    let (subject, message) = &messages[0];
    assert_eq!(subject, "rds-refresh: y refreshed");
    assert_eq!(message["outcome"], "succeeded");
    assert_eq!(message["target"], json!({"region": TARGET_REGION, "dbInstanceIdentifier": "y"}));
    assert_eq!(message["snapshot"]["identifier"], newest.as_str());

    emulator.control(
        "faults",
        json!({"action": "RestoreDBInstanceFromDBSnapshot", "code": "StorageQuotaExceeded", "message": "no room", "count": 1}),
    );
    let failed = refresh_local(&emulator, &notified, &[]);
    assert_eq!(failed.code, Some(1));
    let messages = emulator.notifications(TARGET_REGION, &queue);
    assert_eq!(messages.len(), 1, "{messages:?}");
    let (subject, message) = &messages[0];
    assert_eq!(subject, "rds-refresh: y failed");
    assert_eq!(message["outcome"], "failed");
    assert_eq!(message["failedState"], "RestoreTarget");
    assert_eq!(message["error"], "RdsRequestFailed");
    assert!(message["cause"].as_str().unwrap().contains("StorageQuotaExceeded"), "{message}");
    assert_eq!(message["snapshot"]["identifier"], newest.as_str());
}
