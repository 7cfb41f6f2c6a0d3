//! Swap mode, end to end through `scripts/refresh-local`: the new instance is restored beside
//! `y` and takes its name by two renames, so `y`'s name is down only for the switch; a
//! failure at any step leaves a `y` that serves, and a re-run completes the refresh.

use rds_refresh_core::model::{Mode, TargetConfiguration};
use rds_refresh_core::rds::configuration_of;
use rds_refresh_core::tags;
use rds_refresh_test_support::local_run::{
    SWAP_STEPS, TARGET_REGION, for_each_step, input, input_with, refresh_local, refresh_local_with, seed_source,
};
use rds_refresh_test_support::{Emulator, create_instance_with, instance, opt_in};
use serde_json::{Value, json};

/// `y`, with settings a restore alone would lose.
async fn seed_y(emulator: &Emulator, id: &str) {
    create_instance_with(&emulator.client(TARGET_REGION), id, |b| {
        b.db_instance_class("db.r6g.large")
            .multi_az(true)
            .preferred_maintenance_window("sun:05:00-sun:05:30")
            .tags(opt_in("us-east-1/x"))
            .tags(aws_sdk_rds::types::Tag::builder().key("team").value("analytics").build())
    })
    .await;
}

async fn configuration(emulator: &Emulator, id: &str) -> TargetConfiguration {
    configuration_of(&instance(&emulator.client(TARGET_REGION), id).await.expect("the instance exists"))
}

/// The instances in the target region.
async fn instances(emulator: &Emulator) -> Vec<String> {
    let output = emulator.client(TARGET_REGION).describe_db_instances().send().await.unwrap();
    let mut ids: Vec<String> =
        output.db_instances().iter().filter_map(|i| i.db_instance_identifier().map(str::to_owned)).collect();
    ids.sort();
    ids
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn swap_switches_names_and_is_down_for_less_time_than_replace() {
    let emulator = Emulator::start();
    let newest = seed_source(&emulator, "x").await;
    seed_y(&emulator, "y").await;
    let before = configuration(&emulator, "y").await;
    // Deleting and creating take a second each; a rename a single poll.
    emulator.control(
        "transitions",
        json!({
            "snapshot.creating": {"reads": 1},
            "instance.deleting": {"seconds": 1},
            "instance.creating": {"seconds": 1},
            "instance.renaming": {"reads": 1}
        }),
    );
    emulator.clear_calls();

    let swap = refresh_local(&emulator, &input("x", "y"), &[]).output();

    assert_eq!(swap.mode, Mode::Swap);
    assert_eq!(swap.snapshot.identifier, newest);
    assert_eq!(configuration(&emulator, "y").await, before);
    assert!(swap.endpoint.address.starts_with("y."), "{}", swap.endpoint.address);
    assert_eq!(instances(&emulator).await, ["y"], "the temporary and retired instances are gone");
    let swap_downtime = swap.downtime.expect("swap downtime").seconds;
    // Nothing was renamed onto a name that existed (the emulator would have refused it, too).
    let renames: Vec<Value> = emulator
        .call_params("ModifyDBInstance")
        .into_iter()
        .filter(|p| p.get("NewDBInstanceIdentifier").is_some())
        .collect();
    assert_eq!(renames.len(), 2, "{renames:?}");

    let replace = refresh_local(&emulator, &input_with(json!({"mode": "replace"})), &[]).output();

    assert_eq!(replace.mode, Mode::Replace);
    let replace_downtime = replace.downtime.expect("replace downtime").seconds;
    assert!(replace_downtime >= 2.0, "replace mode waits for the delete and the restore: {replace_downtime}");
    assert!(swap_downtime < replace_downtime, "swap {swap_downtime} s, replace {replace_downtime} s");
    assert_eq!(configuration(&emulator, "y").await, before);
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn the_old_target_is_kept_for_retain_old_minutes() {
    let emulator = Emulator::start();
    seed_source(&emulator, "x").await;
    seed_y(&emulator, "y").await;

    let run = refresh_local(&emulator, &input_with(json!({"retainOldMinutes": 3})), &[]);

    run.output();
    let waited = run.events.iter().find(|e| e["type"] == "StateEntered" && e["state"] == "RetainOld");
    assert!(waited.is_some(), "{}", run.stderr);
    let input = &waited.unwrap()["input"];
    assert_eq!(input["retainOldSeconds"], 180, "{input}");
    // The Wait came between the switch and the delete of the retired target.
    let order: Vec<&str> = run
        .events
        .iter()
        .filter(|e| e["type"] == "StateEntered")
        .filter_map(|e| e["state"].as_str())
        .filter(|s| ["WaitPromoted", "RetainOld", "DeleteRetired"].contains(s))
        .collect();
    assert_eq!(order, ["WaitPromoted", "RetainOld", "DeleteRetired"]);
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn a_taken_retired_name_is_never_renamed_onto() {
    let emulator = Emulator::start();
    seed_source(&emulator, "x").await;
    seed_y(&emulator, "y").await;
    // Plan the run to learn the names it would use, then put an instance on the retired one.
    let plan = refresh_local(&emulator, &input_with(json!({"dryRun": true})), &[]);
    assert!(plan.success, "{}", plan.stderr);
    let squatter = retired_name(&emulator).await;
    create_instance_with(&emulator.client(TARGET_REGION), &squatter, |b| b.db_instance_class("db.t3.small")).await;

    let run = refresh_local(&emulator, &input("x", "y"), &[]);

    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("error: TargetExists"), "{}", run.stderr);
    let y = instance(&emulator.client(TARGET_REGION), "y").await.expect("y still serves");
    assert_eq!((y.db_instance_class(), y.db_instance_status()), (Some("db.r6g.large"), Some("available")));
    let other = instance(&emulator.client(TARGET_REGION), &squatter).await.expect("the other instance is untouched");
    assert_eq!(other.db_instance_class(), Some("db.t3.small"));
}

/// The retired name swap mode uses for y with x's newest snapshot.
async fn retired_name(emulator: &Emulator) -> String {
    let source = emulator.client("us-east-1");
    let snapshots = source.describe_db_snapshots().db_instance_identifier("x").send().await.unwrap();
    let newest = snapshots
        .db_snapshots()
        .iter()
        .filter(|s| s.status() == Some("available"))
        .max_by_key(|s| s.snapshot_create_time().copied())
        .unwrap();
    rds_refresh_core::identifiers::swap_identifiers("y", newest.db_snapshot_arn().unwrap()).1
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn a_failure_at_any_swap_step_leaves_y_serving_and_a_rerun_completes() {
    let emulator = Emulator::start();
    let newest = seed_source(&emulator, "x").await;
    emulator.control(
        "transitions",
        json!({
            "snapshot.creating": {"reads": 1},
            "instance.deleting": {"reads": 1},
            "instance.creating": {"reads": 1},
            "instance.renaming": {"reads": 1}
        }),
    );
    let target = |step: &str| format!("y-{}", step.to_ascii_lowercase());
    for step in SWAP_STEPS {
        seed_y(&emulator, &target(step)).await;
    }
    let before = configuration(&emulator, &target(SWAP_STEPS[0])).await;

    let runs = for_each_step(SWAP_STEPS, |step| {
        let input = input("x", &target(step));
        let failed = refresh_local_with(&emulator, &input, &[], &["--fail-after", step]);
        // When the failed execution ends, a y serves.
        let status = tokio::runtime::Runtime::new().unwrap().block_on(async {
            instance(&emulator.client(TARGET_REGION), &target(step))
                .await
                .and_then(|y| y.db_instance_status().map(str::to_owned))
        });
        let rerun = refresh_local(&emulator, &input, &[]);
        (step.to_string(), failed, status, rerun)
    });

    for (step, failed, status_after_failure, rerun) in runs {
        assert!(failed.stderr.contains("error: Local.InjectedFailure"), "{step}: {}", failed.stderr);
        assert_eq!(status_after_failure.as_deref(), Some("available"), "{step}: no serving y after the failure");
        let output = rerun.output();
        assert_eq!(output.snapshot.identifier, newest, "{step}");
        let y = target(&step);
        assert_eq!(configuration(&emulator, &y).await, before, "{step}: configuration");
        let tags = tags::to_map(instance(&emulator.client(TARGET_REGION), &y).await.unwrap().tag_list());
        assert_eq!(tags.get(tags::SNAPSHOT), Some(&newest), "{step}");
        assert_eq!(tags.get(tags::RESTORING), None, "{step}: the refresh finished");
    }
    // No temporary or retired instance is left behind.
    let mut expected: Vec<String> = SWAP_STEPS.iter().map(|s| target(s)).collect();
    expected.sort();
    assert_eq!(instances(&emulator).await, expected);
}

/// What a swap for an *older* snapshot left (an execution stopped after its restore, never
/// re-run before a newer snapshot came) has other names than the next run's: it is found by
/// its names' pattern and rds-refresh's tags. The dry run reports it; the next refresh deletes
/// the stale temporary instance, and reports, but never deletes, the stale retired one (it may
/// be the only copy of `y`'s old data). Nobody else's instance is touched.
#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn what_a_swap_for_an_older_snapshot_left_is_found_reported_and_the_temporary_removed() {
    let emulator = Emulator::start();
    seed_source(&emulator, "x").await;
    seed_y(&emulator, "y").await;
    let client = emulator.client(TARGET_REGION);
    let (stale_new, _) = rds_refresh_core::identifiers::swap_identifiers("y", "arn:aws:rds:us-east-1:1:snapshot:older");
    let (_, stale_old) =
        rds_refresh_core::identifiers::swap_identifiers("y", "arn:aws:rds:us-east-1:1:snapshot:oldest");
    create_instance_with(&client, &stale_new, |b| {
        b.tags(opt_in("us-east-1/x")).tags(tags::restoring("rds-refresh-older"))
    })
    .await;
    create_instance_with(&client, &stale_old, |b| b.tags(opt_in("us-east-1/x"))).await;
    // Same pattern, but not opted in from this source: not ours.
    create_instance_with(&client, "y-rr-new-0a0b0c", |b| b.tags(tags::restoring("rds-refresh-other"))).await;

    let plan = refresh_local(&emulator, &input_with(json!({"dryRun": true})), &[]);
    let plan: Value = serde_json::from_str(&plan.stdout).unwrap_or_else(|_| panic!("{}", plan.stderr));
    assert_eq!(plan["wouldDelete"]["temporaries"], json!([stale_new]));
    assert_eq!(plan["leftoverRetired"], json!([stale_old]));

    let output = refresh_local(&emulator, &input_with(json!({})), &[]).output();
    assert_eq!(output.deleted_instances, std::slice::from_ref(&stale_new));
    assert_eq!(output.leftovers.retired, std::slice::from_ref(&stale_old));
    assert_eq!(output.leftovers.temporaries, Vec::<String>::new());
    let left = instances(&emulator).await;
    assert!(!left.contains(&stale_new), "{left:?}");
    assert!(left.contains(&stale_old) && left.contains(&"y-rr-new-0a0b0c".to_owned()), "{left:?}");
}
