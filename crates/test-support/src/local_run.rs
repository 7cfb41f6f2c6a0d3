//! Whole refreshes through `scripts/refresh-local`, for the end-to-end tests: the real
//! definition in a real ASL interpreter, the real task binaries behind its Task states, the
//! RDS emulator behind them.
use std::collections::BTreeMap;
use std::process::Command;

use rds_refresh_core::model::RefreshOutput;
use serde_json::{Value, json};

use super::databases::SeededDatabase;
use super::{Emulator, instance, repo_root, unique};

pub const SOURCE_REGION: &str = "us-east-1";
pub const TARGET_REGION: &str = "us-west-2";

/// Every state of swap mode that acts, in order.
pub const SWAP_STEPS: &[&str] = &[
    "RestoreBeside",
    "WaitBesideAvailable",
    "ConfigureBeside",
    "WaitBesideConfigured",
    "RetireTarget",
    "WaitRetired",
    "PromoteNew",
    "WaitPromoted",
    "DeleteRetired",
    "WaitRetiredDeleted",
    "TagTarget",
    "PruneCopies",
];

/// What one run of scripts/refresh-local did.
pub struct Run {
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// The interpreter's events, one JSON object each.
    pub events: Vec<Value>,
}

impl Run {
    pub fn output(&self) -> RefreshOutput {
        assert!(self.success, "the refresh failed:\n{}", self.stderr);
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("output is not a RefreshOutput ({e}):\n{}", self.stdout))
    }

    /// The execution output as JSON (a state machine other than the refresh: the repair).
    pub fn json(&self) -> Value {
        assert!(self.success, "the execution failed:\n{}", self.stderr);
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("output is not JSON ({e}):\n{}", self.stdout))
    }

    /// Whether the execution entered `state`.
    pub fn entered(&self, state: &str) -> bool {
        self.events.iter().any(|e| e["type"] == "StateEntered" && e["state"] == state)
    }

    /// How often `state` was retried after `error`.
    pub fn retries(&self, state: &str, error: &str) -> usize {
        self.events.iter().filter(|e| e["type"] == "StateRetried" && e["state"] == state && e["error"] == error).count()
    }
}

pub fn refresh_local(emulator: &Emulator, input: &Value, env: &[(&str, &str)]) -> Run {
    refresh_local_with(emulator, input, env, &[])
}

/// scripts/refresh-local with more of its options (`--fail-after STATE`, ...). Each run has an
/// execution name of its own (runs in parallel would otherwise share a timestamp's).
pub fn refresh_local_with(emulator: &Emulator, input: &Value, env: &[(&str, &str)], args: &[&str]) -> Run {
    let dir = super::tmp_dir().join(unique("e2e"));
    std::fs::create_dir_all(&dir).unwrap();
    let input_file = dir.join("input.json");
    std::fs::write(&input_file, input.to_string()).unwrap();
    let mut command = Command::new(repo_root().join("scripts/refresh-local"));
    command.arg("--input").arg(&input_file);
    if !args.contains(&"--execution-name") {
        command.args(["--execution-name", &unique("run")]);
    }
    run_script(emulator, command, &dir, env, args)
}

/// scripts/repair-local with `event` (an EventBridge "Step Functions Execution Status Change"
/// event, as `--status-change-event` wrote it) as the repair's input.
pub fn repair_local(emulator: &Emulator, event: &Value, args: &[&str]) -> Run {
    let dir = super::tmp_dir().join(unique("repair"));
    std::fs::create_dir_all(&dir).unwrap();
    let event_file = dir.join("event.json");
    std::fs::write(&event_file, event.to_string()).unwrap();
    let mut command = Command::new(repo_root().join("scripts/repair-local"));
    command.arg("--event").arg(&event_file);
    run_script(emulator, command, &dir, &[], args)
}

/// A refresh stopped the way the console stops one, after Task state `step` did its work
/// (`--abort-after`): the run, and the status-change event Step Functions sends for it.
pub fn stopped_after(emulator: &Emulator, input: &Value, step: &str, args: &[&str]) -> (Run, Value) {
    let event_file = super::tmp_dir().join(unique("event")).with_extension("json");
    let event_path = event_file.to_str().unwrap();
    let mut all = vec!["--abort-after", step, "--status-change-event", event_path];
    all.extend_from_slice(args);
    let run = refresh_local_with(emulator, input, &[], &all);
    let event = std::fs::read_to_string(&event_file)
        .map(|text| serde_json::from_str(&text).expect("the event is JSON"))
        .unwrap_or_else(|_| panic!("no status-change event after stopping at {step}:\n{}", run.stderr));
    (run, event)
}

/// Runs one of the local scripts against `emulator`, its events in `dir`.
fn run_script(
    emulator: &Emulator,
    mut command: Command,
    dir: &std::path::Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> Run {
    let events_file = dir.join("events.jsonl");
    let output = command
        .arg("--no-build")
        .args(["--endpoint", &emulator.url])
        .arg("--events")
        .arg(&events_file)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run a local script");
    let events = std::fs::read_to_string(&events_file)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).expect("an event is JSON"))
        .collect();
    Run {
        success: output.status.success(),
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        events,
    }
}

pub fn input(x: &str, y: &str) -> Value {
    json!({
        "source": {"region": SOURCE_REGION, "dbInstanceIdentifier": x},
        "target": {"region": TARGET_REGION, "dbInstanceIdentifier": y}
    })
}

/// `run(step)` for every step, a few at a time on threads (each refresh starts its own
/// function processes), in the order of `steps`.
pub fn for_each_step<T: Send>(steps: &[&str], run: impl Fn(&str) -> T + Sync) -> Vec<T> {
    let mut results = Vec::new();
    for chunk in steps.chunks(4) {
        results.extend(std::thread::scope(|scope| {
            let handles: Vec<_> = chunk.iter().map(|step| scope.spawn(|| run(step))).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect::<Vec<_>>()
        }));
    }
    results
}

/// The input refreshing `y` from `x`, with `extra` merged in (objects one level deep).
pub fn input_with(extra: Value) -> Value {
    let mut input = input("x", "y");
    for (key, value) in extra.as_object().unwrap() {
        match (input.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(more)) => existing.extend(more.clone()),
            _ => input[key] = value.clone(),
        }
    }
    input
}

/// Source `x` of the standard world (local/emulator/worlds.json, the one the demo and the
/// benchmarks use too): an old automated snapshot, three manual ones a day apart and one
/// still being taken. Returns the identifier of the newest available one (`<x>-2026-11-23`).
pub async fn seed_source(emulator: &Emulator, x: &str) -> String {
    let seeded = seed(emulator, "x", x, json!({}));
    seeded["newestAvailableSnapshot"].as_str().expect("the seed names the newest snapshot").to_owned()
}

/// Target `y` of the standard world, opted in to refreshes from us-east-1/x, without its
/// deletion protection (the refreshes here do not pass allowDisableDeletionProtection).
pub async fn seed_target(emulator: &Emulator, y: &str) {
    seed(emulator, "y", y, json!({"DeletionProtection": false}));
}

/// [`seed_source`] in an emulator with databases: `x` with its data (customers, the `marks` of
/// its snapshots, the roles app_user and reporting); the newest snapshot and x's server.
pub async fn seed_source_with_data(emulator: &Emulator, x: &str) -> (String, SeededDatabase) {
    let seeded = seed(emulator, "x", x, json!({}));
    let newest = seeded["newestAvailableSnapshot"].as_str().expect("the seed names the newest snapshot").to_owned();
    (newest, SeededDatabase::from_seed(&seeded))
}

/// [`seed_target`] in an emulator with databases, with `overrides` of its CreateDBInstance
/// parameters besides: `y` with its own (staging) data and passwords.
pub async fn seed_target_with_data(emulator: &Emulator, y: &str, overrides: Value) -> SeededDatabase {
    let mut all = json!({"DeletionProtection": false});
    all.as_object_mut().unwrap().extend(overrides.as_object().cloned().unwrap_or_default());
    SeededDatabase::from_seed(&seed(emulator, "y", y, all))
}

/// Creates the standard world's instance `name` as `identifier` (with `overrides` of its
/// CreateDBInstance parameters) through the emulator's seed API; returns what it created.
fn seed(emulator: &Emulator, name: &str, identifier: &str, overrides: Value) -> Value {
    let answer = emulator.control(
        "seed",
        json!({"world": "standard", "instances": [name], "identifiers": {name: identifier}, "overrides": {name: overrides}}),
    );
    let seeded = &answer["instances"][name];
    assert!(seeded.is_object(), "the emulator did not seed {name} as {identifier}: {answer}");
    seeded.clone()
}

pub async fn tags_of(emulator: &Emulator, region: &str, id: &str) -> BTreeMap<String, String> {
    let client = emulator.client(region);
    let arn = instance(&client, id).await.expect("instance").db_instance_arn().unwrap().to_owned();
    let tags = client.list_tags_for_resource().resource_name(arn).send().await.unwrap();
    tags.tag_list().iter().map(|t| (t.key().unwrap().to_owned(), t.value().unwrap_or_default().to_owned())).collect()
}
