//! Whole refreshes through `scripts/refresh-local`: the real definition in a real ASL
//! interpreter, the real task binaries behind its Task states, the RDS emulator behind
//! them. Outcomes are checked by reading the emulator afterwards.
//!
//! Needs the task binaries built (`cargo build --workspace --bins`; scripts/test does it).

use rds_refresh_core::identifiers::copy_identifier;
use rds_refresh_core::model::CopyOrigin;
use rds_refresh_test_support::local_run::{
    SOURCE_REGION, TARGET_REGION, input, input_with, refresh_local, seed_source, seed_target, tags_of,
};
use rds_refresh_test_support::{Emulator, create_instance_with, instance, snapshot_ids};
use serde_json::json;

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn refreshes_y_from_the_newest_available_snapshot_of_x_in_replace_mode() {
    refreshes_y_from_the_newest_available_snapshot_of_x("replace", &["WaitCopied", "WaitDeleted", "WaitAvailable"])
        .await;
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn refreshes_y_from_the_newest_available_snapshot_of_x_in_swap_mode() {
    refreshes_y_from_the_newest_available_snapshot_of_x(
        "swap",
        &["WaitCopied", "WaitBesideAvailable", "WaitRetired", "WaitPromoted", "WaitRetiredDeleted"],
    )
    .await;
}

/// The happy path in `mode`, whose wait states are `waits`.
async fn refreshes_y_from_the_newest_available_snapshot_of_x(mode: &str, waits: &[&str]) {
    let emulator = Emulator::start();
    let newest = seed_source(&emulator, "x").await;
    seed_target(&emulator, "y").await;
    let source_snapshots_before = snapshot_ids(&emulator.client(SOURCE_REGION), "x").await;
    // Copies, deletes and restores take a few status checks, so every wait loop polls.
    emulator.control(
        "transitions",
        json!({
            "snapshot.creating": {"reads": 2},
            "instance.deleting": {"reads": 2},
            "instance.creating": {"reads": 2},
            "instance.renaming": {"reads": 2}
        }),
    );

    let run = refresh_local(&emulator, &input_with(json!({ "mode": mode })), &[]);
    let output = run.output();

    // The execution output names the snapshot, the copy and the endpoint.
    assert_eq!(output.snapshot.identifier, newest);
    assert_eq!(output.snapshot.created_at, "2026-11-23T05:10:00Z");
    assert_eq!(output.copy.origin, CopyOrigin::Copied);
    assert_eq!(output.copy.identifier, copy_identifier(&newest, &output.snapshot.arn, "us-west-2/y"));
    assert_eq!(output.copy.region, TARGET_REGION);
    assert!(output.replaced_existing_target);
    assert!(!output.endpoint.address.is_empty());

    // The emulator agrees: y is back, configured as before, and says where it came from.
    let target = emulator.client(TARGET_REGION);
    let y = instance(&target, "y").await.expect("y exists");
    assert_eq!(y.db_instance_status(), Some("available"));
    assert_eq!(y.db_instance_class(), Some("db.t3.medium"));
    let tags = tags_of(&emulator, TARGET_REGION, "y").await;
    assert_eq!(tags.get("team").map(String::as_str), Some("analytics"));
    assert_eq!(tags.get("rds-refresh:snapshot"), Some(&newest));
    assert_eq!(tags.get("rds-refresh:source").map(String::as_str), Some("us-east-1/x"));
    let copy = target.describe_db_snapshots().db_snapshot_identifier(&output.copy.identifier).send().await.unwrap();
    assert_eq!(copy.db_snapshots()[0].status(), Some("available"));

    // x was only read.
    let source = emulator.client(SOURCE_REGION);
    assert_eq!(
        instance(&source, "x").await.and_then(|x| x.db_instance_class().map(str::to_owned)).as_deref(),
        Some("db.r6g.large")
    );
    assert_eq!(snapshot_ids(&source, "x").await, source_snapshots_before);

    // Only y remains in y's region: no temporary or retired instance.
    let instances = target.describe_db_instances().send().await.unwrap();
    let names: Vec<_> = instances.db_instances().iter().filter_map(|i| i.db_instance_identifier()).collect();
    assert_eq!(names, ["y"]);

    // Every wait polled more than once.
    for state in waits {
        assert!(run.retries(state, "NotReady") >= 1, "{state} never polled again:\n{}", run.stderr);
    }
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn a_missing_target_is_restored_only_when_the_input_says_so() {
    let emulator = Emulator::start();
    let newest = seed_source(&emulator, "x").await;
    emulator.clear_calls();

    let refused = refresh_local(&emulator, &input("x", "y"), &[]);
    assert_eq!(refused.code, Some(1));
    assert!(refused.stderr.contains("error: TargetNotFound"), "{}", refused.stderr);
    assert!(refused.stderr.contains("target.createIfMissing"), "{}", refused.stderr);
    assert_eq!(emulator.changing_calls(), Vec::<String>::new());

    let mut create = input("x", "y");
    create["target"]["createIfMissing"] = json!(true);
    let output = refresh_local(&emulator, &create, &[]).output();

    assert!(!output.replaced_existing_target);
    assert_eq!(output.snapshot.identifier, newest);
    assert!(instance(&emulator.client(TARGET_REGION), "y").await.is_some());
    let tags = tags_of(&emulator, TARGET_REGION, "y").await;
    assert_eq!(tags.get("rds-refresh:snapshot"), Some(&newest));
    // The new y opts in to its source, so the next run may replace it.
    assert_eq!(tags.get("rds-refresh:source").map(String::as_str), Some("us-east-1/x"));
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn a_source_without_snapshots_fails_with_snapshot_not_found_and_leaves_y_untouched() {
    let emulator = Emulator::start();
    let client = emulator.client(SOURCE_REGION);
    create_instance_with(&client, "x", |b| b).await;
    for id in snapshot_ids(&client, "x").await {
        emulator.set_snapshot(SOURCE_REGION, &id, Some("creating"), None);
    }
    seed_target(&emulator, "y").await;
    let y_before = instance(&emulator.client(TARGET_REGION), "y").await.unwrap();
    emulator.clear_calls();

    let run = refresh_local(&emulator, &input("x", "y"), &[]);

    assert!(!run.success);
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("error: SnapshotNotFound"), "{}", run.stderr);
    assert_eq!(emulator.changing_calls(), Vec::<String>::new(), "only reads before SnapshotNotFound");
    let y_after = instance(&emulator.client(TARGET_REGION), "y").await.expect("y still exists");
    // moto recomputes LatestRestorableTime on every read; everything else must be as it was.
    let settled = |mut y: aws_sdk_rds::types::DbInstance| {
        y.latest_restorable_time = None;
        y
    };
    assert_eq!(settled(y_after), settled(y_before));
    let target_snapshots = emulator.client(TARGET_REGION).describe_db_snapshots().send().await.unwrap();
    assert!(
        target_snapshots.db_snapshots().iter().all(|s| s.db_instance_identifier() != Some("x")),
        "no copy may be made"
    );
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn invalid_input_fails_naming_the_field_before_any_change() {
    let emulator = Emulator::start();
    seed_source(&emulator, "x").await;
    seed_target(&emulator, "y").await;
    let mut bad = input("x", "y");
    bad["target"]["region"] = json!("us_west_2");
    emulator.clear_calls();

    let run = refresh_local(&emulator, &bad, &[]);

    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("error: InvalidInput"), "{}", run.stderr);
    assert!(run.stderr.contains("target.region"), "{}", run.stderr);
    assert_eq!(emulator.changing_calls(), Vec::<String>::new(), "no change before the input is checked");
    assert!(instance(&emulator.client(TARGET_REGION), "y").await.is_some());
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn a_throttled_task_is_retried_and_the_refresh_completes() {
    let emulator = Emulator::start();
    let newest = seed_source(&emulator, "x").await;
    seed_target(&emulator, "y").await;
    emulator.control(
        "faults",
        json!({"action": "RestoreDBInstanceFromDBSnapshot", "code": "Throttling", "status": 400, "message": "Rate exceeded", "count": 2}),
    );

    // One SDK attempt per call, so the throttling reaches the state machine's Retry.
    let run = refresh_local(&emulator, &input_with(json!({"mode": "replace"})), &[("AWS_MAX_ATTEMPTS", "1")]);

    assert_eq!(run.output().snapshot.identifier, newest);
    assert_eq!(run.retries("RestoreTarget", "Throttled"), 2, "{}", run.stderr);
    assert!(instance(&emulator.client(TARGET_REGION), "y").await.is_some());
}

/// Local runs keep AWS's proportions with `--time-scale`: a delete that takes 8 real seconds
/// fits easily in WaitDeleted's budget scaled by 0.01 (about 70 s), and outlasts its polls
/// when every pause is flattened to 10 ms (its MaxAttempts are used up in a second or two).
#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn waits_scaled_by_time_scale_outlast_a_delete_that_takes_real_seconds() {
    let emulator = Emulator::start();
    seed_source(&emulator, "x").await;
    seed_target(&emulator, "y").await;
    emulator.control("transitions", json!({"instance.deleting": {"seconds": 8}}));
    let replace = input_with(json!({"mode": "replace"}));

    let scaled =
        rds_refresh_test_support::local_run::refresh_local_with(&emulator, &replace, &[], &["--time-scale", "0.01"]);
    scaled.output();
    assert!(scaled.retries("WaitDeleted", "NotReady") >= 1, "{}", scaled.stderr);
    let y = instance(&emulator.client(TARGET_REGION), "y").await.expect("y is back");
    assert_eq!(y.db_instance_status(), Some("available"));

    // The same delete of the restored y, with every pause flattened: the wait runs out first.
    let flattened = rds_refresh_test_support::local_run::refresh_local_with(&emulator, &replace, &[], &[]);
    assert!(flattened.stderr.contains("error: WaitTimedOut"), "{}", flattened.stderr);
}
