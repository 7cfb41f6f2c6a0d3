//! Executions that end without their failure path, end to end: stopped the way the Step
//! Functions console stops one (the local runner's `--abort-after STATE`: no Catch runs) or
//! timed out. Then the repair state machine, given the "Step Functions Execution Status
//! Change" event, leaves a serving `y`, a released lock and a notification; and, without it, a
//! plain re-run takes the stopped execution's lock over and ends with `y` refreshed.

use rds_refresh_core::model::InstanceRef;
use rds_refresh_core::model::TakenOver;
use rds_refresh_core::tags;
use rds_refresh_test_support::local_run::{
    Run, SWAP_STEPS, TARGET_REGION, for_each_step, input, refresh_local, refresh_local_with, repair_local, seed_source,
    stopped_after,
};
use rds_refresh_test_support::{Emulator, create_instance_with, instance, opt_in, repo_root, unique};
use serde_json::{Value, json};

/// Swap mode's Task states, each a place an execution can be stopped after: the steps before
/// anything changes, every step that acts, and the unlock.
fn stop_points() -> Vec<&'static str> {
    [&["LockTarget", "DescribeTarget", "CopySnapshot", "WaitCopied"][..], SWAP_STEPS, &["UnlockTarget"]].concat()
}

/// The steps after which the target's name no longer serves the old instance.
const SWITCHED: &[&str] =
    &["PromoteNew", "WaitPromoted", "DeleteRetired", "WaitRetiredDeleted", "TagTarget", "PruneCopies", "UnlockTarget"];

/// Every status moves on after one read: the runs see each of them without waiting long.
fn quick_transitions(emulator: &Emulator) {
    emulator.control(
        "transitions",
        json!({
            "snapshot.creating": {"reads": 1},
            "instance.deleting": {"reads": 1},
            "instance.creating": {"reads": 1},
            "instance.renaming": {"reads": 1},
            "instance.modifying": {"reads": 1}
        }),
    );
}

async fn seed_y(emulator: &Emulator, id: &str) -> String {
    create_instance_with(&emulator.client(TARGET_REGION), id, |b| {
        b.db_instance_class("db.t3.medium").tags(opt_in("us-east-1/x"))
    })
    .await;
    resource_id(emulator, id).await.expect("y exists")
}

/// The instance's DbiResourceId (which a rename keeps): tells the old `y` from the new one.
async fn resource_id(emulator: &Emulator, id: &str) -> Option<String> {
    instance(&emulator.client(TARGET_REGION), id).await.and_then(|i| i.dbi_resource_id().map(str::to_owned))
}

/// The instances of the target region whose names start with `prefix`, and their statuses.
async fn instances_of(emulator: &Emulator, prefix: &str) -> Vec<(String, String)> {
    let output = emulator.client(TARGET_REGION).describe_db_instances().send().await.unwrap();
    let mut found: Vec<_> = output
        .db_instances()
        .iter()
        .filter_map(|i| Some((i.db_instance_identifier()?.to_owned(), i.db_instance_status()?.to_owned())))
        .filter(|(id, _)| id.starts_with(prefix))
        .collect();
    found.sort();
    found
}

async fn lock_owner(emulator: &Emulator, y: &str) -> Option<String> {
    let target = InstanceRef { region: TARGET_REGION.into(), db_instance_identifier: y.into() };
    emulator.clients().state.current_lock(&target).await.unwrap().map(|lock| lock.owner)
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Runtime::new().unwrap().block_on(future)
}

/// What one stopped run and its repair did, for the assertions.
struct Stopped {
    step: String,
    stopped: Run,
    event: Value,
    lock_after_stop: Option<String>,
    repair: Run,
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn a_swap_stopped_after_any_step_is_repaired_to_a_serving_target_with_its_lock_released() {
    let emulator = Emulator::start();
    seed_source(&emulator, "x").await;
    quick_transitions(&emulator);
    let (topic, queue) = emulator.topic_with_queue(TARGET_REGION, "rds-refresh");
    let target = |step: &str| format!("y-{}", step.to_ascii_lowercase());
    let steps = stop_points();
    let mut originals = std::collections::BTreeMap::new();
    for step in &steps {
        originals.insert(step.to_string(), seed_y(&emulator, &target(step)).await);
    }

    let runs = for_each_step(&steps, |step| {
        let y = target(step);
        let input = json!({
            "source": {"region": "us-east-1", "dbInstanceIdentifier": "x"},
            "target": {"region": TARGET_REGION, "dbInstanceIdentifier": y},
            "notify": {"topicArn": topic}
        });
        let (stopped, event) = stopped_after(&emulator, &input, step, &[]);
        let lock_after_stop = block_on(lock_owner(&emulator, &y));
        let repair = repair_local(&emulator, &event, &[]);
        Stopped { step: step.to_string(), stopped, event, lock_after_stop, repair }
    });

    // SQS hands out at most 10 messages per receive.
    let mut notifications = Vec::new();
    loop {
        let batch = emulator.notifications(TARGET_REGION, &queue);
        if batch.is_empty() {
            break;
        }
        notifications.extend(batch);
    }
    for Stopped { step, stopped, event, lock_after_stop, repair } in runs {
        let y = target(&step);
        // Stopped as the console stops it: no failure path ran, the lock stayed held.
        assert_eq!(stopped.code, Some(1), "{step}: {}", stopped.stderr);
        assert!(!stopped.entered("RecoverSwap"), "{step}: the failure path ran");
        assert_eq!(event["detail-type"], "Step Functions Execution Status Change", "{step}");
        assert_eq!(event["detail"]["status"], "ABORTED", "{step}");
        let execution = event["detail"]["executionArn"].as_str().unwrap().to_owned();
        // (After UnlockTarget the stopped execution had released it itself.)
        let held = step != "UnlockTarget";
        assert_eq!(
            lock_after_stop.as_deref(),
            Some(execution.as_str()).filter(|_| held),
            "{step}: the lock after the stop"
        );

        // The repair alone: a serving y, the lock released, a notification.
        let output = repair.json();
        assert_eq!(output["stoppedIn"], step.as_str(), "{step}: {output}");
        assert_eq!(output["lockReleased"], held, "{step}");
        let serving = instance(&emulator.client(TARGET_REGION), &y).await.expect("y exists after the repair");
        assert_eq!(serving.db_instance_status(), Some("available"), "{step}");
        assert_eq!(lock_owner(&emulator, &y).await, None, "{step}: the lock is released");
        let old_serves = resource_id(&emulator, &y).await == originals.get(&step).cloned();
        assert_eq!(old_serves, !SWITCHED.contains(&step.as_str()), "{step}: which instance serves");
        let expected = match step.as_str() {
            "LockTarget" | "DescribeTarget" | "CopySnapshot" | "WaitCopied" => "nothing",
            "RestoreBeside" | "WaitBesideAvailable" | "ConfigureBeside" | "WaitBesideConfigured" => {
                "remove-temporaries"
            }
            "RetireTarget" | "WaitRetired" => "rename-back",
            _ => "",
        };
        if !expected.is_empty() {
            assert_eq!(output["repair"]["action"], expected, "{step}: {output}");
        }
        // Nothing new is left beside y: the stopped swap's new instance is gone (or going).
        for (id, status) in instances_of(&emulator, &format!("{y}-rr-new-")).await {
            assert_eq!(status, "deleting", "{step}: {id} is left");
        }
        let notified: Vec<&(String, Value)> =
            notifications.iter().filter(|(_, message)| message["repairedExecution"] == execution.as_str()).collect();
        assert_eq!(notified.len(), 1, "{step}: {notifications:?}");
        let (subject, message) = notified[0];
        assert!(subject.starts_with(&format!("rds-refresh: {y} ")), "{step}: {subject}");
        assert_eq!(message["status"], "ABORTED", "{step}");
        assert_eq!(message["stoppedIn"], step.as_str(), "{step}");
    }
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn a_replace_stopped_after_the_delete_is_repaired_by_a_re_run() {
    let emulator = Emulator::start();
    let newest = seed_source(&emulator, "x").await;
    quick_transitions(&emulator);
    seed_y(&emulator, "y").await;
    let replace = json!({
        "source": {"region": "us-east-1", "dbInstanceIdentifier": "x"},
        "target": {"region": TARGET_REGION, "dbInstanceIdentifier": "y"},
        "mode": "replace"
    });

    let (stopped, event) = stopped_after(&emulator, &replace, "DeleteTarget", &[]);
    assert_eq!(stopped.code, Some(1), "{}", stopped.stderr);
    let repair = repair_local(&emulator, &event, &[]);

    let output = repair.json();
    assert_eq!(output["repair"]["action"], "rerun", "{output}");
    assert_eq!(output["outcome"]["status"], "SUCCEEDED", "{output}");
    let y = instance(&emulator.client(TARGET_REGION), "y").await.expect("y was restored");
    assert_eq!(y.db_instance_status(), Some("available"));
    assert_eq!(y.db_instance_class(), Some("db.t3.medium"), "its configuration came back");
    let tags = tags::to_map(y.tag_list());
    assert_eq!(tags.get(tags::SNAPSHOT), Some(&newest));
    assert_eq!(tags.get(tags::RESTORING), None, "the re-run finished");
    assert_eq!(lock_owner(&emulator, "y").await, None);
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn without_the_repair_a_plain_re_run_takes_the_lock_over_and_refreshes() {
    let emulator = Emulator::start();
    let newest = seed_source(&emulator, "x").await;
    quick_transitions(&emulator);
    // Where each was stopped, by mode: "replace/DeleteTarget" is replace mode's delete.
    let steps = ["RetireTarget", "ConfigureBeside", "PromoteNew", "replace/DeleteTarget"];
    let target = |step: &str| format!("y-{}", step.replace('/', "-").to_ascii_lowercase());
    let mut originals = std::collections::BTreeMap::new();
    for step in steps {
        originals.insert(step.to_string(), seed_y(&emulator, &target(step)).await);
    }

    let runs = for_each_step(&steps, |step| {
        let mut input = input("x", &target(step));
        let state = match step.split_once('/') {
            Some((mode, state)) => {
                input["mode"] = json!(mode);
                state
            }
            None => step,
        };
        let (_, event) = stopped_after(&emulator, &input, state, &[]);
        (step.to_string(), event, refresh_local(&emulator, &input, &[]))
    });

    for (step, event, rerun) in runs {
        let y = target(&step);
        let output = rerun.output();
        let execution = event["detail"]["executionArn"].as_str().unwrap().to_owned();
        assert_eq!(output.lock_taken_over_from, Some(TakenOver { execution, status: "ABORTED".into() }), "{step}");
        assert_eq!(output.snapshot.identifier, newest, "{step}");
        assert_ne!(resource_id(&emulator, &y).await, originals.get(&step).cloned(), "{step}: y was refreshed");
        let y_now = instance(&emulator.client(TARGET_REGION), &y).await.unwrap();
        assert_eq!(y_now.db_instance_class(), Some("db.t3.medium"), "{step}: its configuration");
        let tags = tags::to_map(y_now.tag_list());
        assert_eq!(tags.get(tags::RESTORING), None, "{step}: the refresh finished");
        // Between the renames, the re-run finishes the switch the stopped one began.
        assert_eq!(rerun.entered("ResumeSwitch"), step == "RetireTarget", "{step}");
        assert_eq!(instances_of(&emulator, &format!("{y}-rr-")).await, Vec::<(String, String)>::new(), "{step}");
        assert_eq!(lock_owner(&emulator, &y).await, None, "{step}");
    }
}

/// A definition like the real one, with a TimeoutSeconds that a slow restore outlasts.
fn timing_out_definition(seconds: u64) -> std::path::PathBuf {
    let mut definition: Value =
        serde_json::from_str(&std::fs::read_to_string(repo_root().join("statemachine/refresh.asl.json")).unwrap())
            .unwrap();
    definition["TimeoutSeconds"] = json!(seconds);
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(unique("timeout")).with_extension("asl.json");
    std::fs::write(&file, definition.to_string()).unwrap();
    file
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn a_timed_out_execution_is_repaired_the_same_way() {
    let emulator = Emulator::start();
    seed_source(&emulator, "x").await;
    let original = seed_y(&emulator, "y").await;
    // The new instance takes longer to create than the execution may run.
    emulator.control("transitions", json!({"snapshot.creating": {"reads": 1}, "instance.creating": {"seconds": 12}}));
    let definition = timing_out_definition(6);
    let (topic, queue) = emulator.topic_with_queue(TARGET_REGION, "rds-refresh");
    let notified = json!({
        "source": {"region": "us-east-1", "dbInstanceIdentifier": "x"},
        "target": {"region": TARGET_REGION, "dbInstanceIdentifier": "y"},
        "notify": {"topicArn": topic}
    });
    let event_file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(unique("event")).with_extension("json");

    let timed_out = refresh_local_with(
        &emulator,
        &notified,
        &[],
        &[
            "--definition",
            definition.to_str().unwrap(),
            "--time-scale",
            "0.05",
            "--status-change-event",
            event_file.to_str().unwrap(),
        ],
    );
    assert_eq!(timed_out.code, Some(1), "{}", timed_out.stderr);
    let event: Value = serde_json::from_str(&std::fs::read_to_string(&event_file).unwrap()).unwrap();
    assert_eq!(event["detail"]["status"], "TIMED_OUT");
    let execution = event["detail"]["executionArn"].as_str().unwrap().to_owned();
    assert_eq!(lock_owner(&emulator, "y").await.as_deref(), Some(execution.as_str()));

    let repair = repair_local(&emulator, &event, &["--time-scale", "0.05"]);
    let output = repair.json();
    assert_eq!(output["status"], "TIMED_OUT");
    assert_eq!(output["lockReleased"], true);
    assert_eq!(lock_owner(&emulator, "y").await, None);
    assert_eq!(resource_id(&emulator, "y").await, Some(original), "the old y serves");
    for (id, status) in instances_of(&emulator, "y-rr-new-").await {
        assert_eq!(status, "deleting", "{id} is left");
    }
    let messages = emulator.notifications(TARGET_REGION, &queue);
    let repaired: Vec<_> = messages.iter().filter(|(_, m)| m["repairedExecution"] == execution.as_str()).collect();
    assert_eq!(repaired.len(), 1, "{messages:?}");
    assert_eq!(repaired[0].1["status"], "TIMED_OUT");
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn the_dry_run_reports_a_lock_held_by_a_stopped_execution_and_what_it_left() {
    let emulator = Emulator::start();
    seed_source(&emulator, "x").await;
    quick_transitions(&emulator);
    seed_y(&emulator, "y").await;
    let (_, event) = stopped_after(&emulator, &input("x", "y"), "RetireTarget", &[]);
    let execution = event["detail"]["executionArn"].as_str().unwrap().to_owned();

    let mut dry_run = input("x", "y");
    dry_run["dryRun"] = json!(true);
    let plan: Value = serde_json::from_str(&refresh_local(&emulator, &dry_run, &[]).stdout).unwrap();

    assert_eq!(plan["wouldRefresh"], true, "{plan}");
    assert_eq!(plan["lock"]["holder"], execution.as_str());
    assert_eq!(plan["lock"]["holderStatus"], "ABORTED");
    assert_eq!(plan["lock"]["wouldTakeOver"], true);
    assert_eq!(plan["wouldRepair"]["action"], "rename-back", "{plan}");
    assert!(plan["wouldRepair"]["retired"].as_str().unwrap().starts_with("y-rr-old-"), "{plan}");
    assert_eq!(lock_owner(&emulator, "y").await.as_deref(), Some(execution.as_str()), "the dry run changes nothing");
}
