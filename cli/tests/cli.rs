//! The `rds-refresh` command against a real Step Functions API: moto's, served by the local
//! emulator, which executes Pass, Wait, Choice, Fail and `aws-sdk` Task states. The state
//! machines here stand in for the real one (whose Lambda tasks moto cannot run) with the
//! parts the CLI reads: state names, retries, a caught error, the downtime in the state data.

use std::process::{Command, Output};
use std::sync::OnceLock;

use aws_sdk_sfn::Client;
use rds_refresh_test_support::Emulator;
use serde_json::{Value, json};

const ROLE: &str = "arn:aws:iam::123456789012:role/rds-refresh";

/// Ends well in about a second, with the output and state data of a swap refresh.
fn succeeding_definition() -> Value {
    json!({
        "StartAt": "CheckInput",
        "States": {
            "CheckInput": {"Type": "Pass", "Next": "RetireTarget"},
            "RetireTarget": {
                "Type": "Pass",
                "Parameters": {"retirement": {"startedAt": "2026-11-25T10:00:00Z"}},
                "Next": "WaitPromoted"
            },
            "WaitPromoted": {"Type": "Wait", "Seconds": 1, "Next": "Refreshed"},
            "Refreshed": {
                "Type": "Pass",
                "Parameters": {
                    "snapshot": {"identifier": "rds:x-2026-11-25-05-10"},
                    "downtime": {"startedAt": "2026-11-25T10:00:00Z", "endedAt": "2026-11-25T10:00:42.5Z", "seconds": 42.5}
                },
                "End": true
            }
        }
    })
}

/// A task that fails on every attempt (moto's RDS integration answers it with
/// `States.Runtime`), retried twice, caught, and turned into the named failure the real
/// definition ends with.
fn failing_definition() -> Value {
    json!({
        "StartAt": "DeleteTarget",
        "States": {
            "DeleteTarget": {
                "Type": "Pass",
                "Parameters": {"deletion": {"startedAt": "2026-11-25T10:00:00Z"}},
                "Next": "RestoreTarget"
            },
            "RestoreTarget": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:rds:describeDBInstances",
                "Parameters": {"DBInstanceIdentifier": "missing"},
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 1}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RefreshFailed"}],
                "End": true
            },
            "RefreshFailed": {"Type": "Fail", "Error": "RestoreFailed", "Cause": "the restore failed"}
        }
    })
}

struct StepFunctions {
    emulator: Emulator,
    succeeding: String,
    failing: String,
}

/// One emulator and the two state machines, shared by the tests of this file.
fn step_functions() -> &'static StepFunctions {
    static SHARED: OnceLock<StepFunctions> = OnceLock::new();
    SHARED.get_or_init(|| {
        let emulator = Emulator::start();
        // Before any state machine is created: moto decides at creation whether to run it.
        emulator.moto_config(json!({"stepfunctions": {"execute_state_machine": true}}));
        let client = client(&emulator);
        let (succeeding, failing) = block_on(async {
            (
                create(&client, "refresh-ok", succeeding_definition()).await,
                create(&client, "refresh-fails", failing_definition()).await,
            )
        });
        StepFunctions { emulator, succeeding, failing }
    })
}

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(future)
}

fn client(emulator: &Emulator) -> Client {
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(aws_sdk_sfn::config::BehaviorVersion::latest())
        .region(aws_sdk_sfn::config::Region::new("us-west-2"))
        .endpoint_url(&emulator.url)
        .credentials_provider(aws_sdk_sfn::config::Credentials::new("test", "test", None, None, "tests"))
        .build();
    Client::from_conf(config)
}

async fn create(client: &Client, name: &str, definition: Value) -> String {
    let created = client
        .create_state_machine()
        .name(name)
        .definition(definition.to_string())
        .role_arn(ROLE)
        .send()
        .await
        .expect("CreateStateMachine");
    created.state_machine_arn().to_owned()
}

/// Runs the command against the emulator.
fn rds_refresh(args: &[&str]) -> Output {
    rds_refresh_at(&step_functions().emulator.url, args)
}

/// Runs the command with only the endpoint and dummy credentials from the environment.
fn rds_refresh_at(endpoint: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rds-refresh"))
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint)
        // One attempt: the refused-connection case need not wait for the SDK's retries.
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .env_remove("RDS_REFRESH_STATE_MACHINE")
        .output()
        .expect("run rds-refresh")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Starts one execution of the failing machine for this file; returns its ARN.
fn failed_execution() -> &'static String {
    static FAILED: OnceLock<String> = OnceLock::new();
    FAILED.get_or_init(|| {
        let sfn = step_functions();
        let out = rds_refresh(&[
            "start",
            "--state-machine",
            &sfn.failing,
            "--source",
            "us-east-1/x",
            "--target",
            "us-west-2/z",
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout).trim().to_owned()
    })
}

/// Runs the succeeding machine for `target` to its end; returns the execution ARN.
fn refreshed(target: &str) -> String {
    let sfn = step_functions();
    let args = ["start", "--state-machine", &sfn.succeeding, "--source", "us-east-1/x", "--target", target];
    let out = rds_refresh(&[&args[..], &["--watch", "--poll-interval", "0.2"]].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).lines().next().expect("the execution ARN").to_owned()
}

#[test]
fn start_refuses_a_bad_input_before_any_call() {
    // Nothing listens at this endpoint: a call would fail with status 3, not 2.
    let offline = |args: &[&str]| rds_refresh_at("http://127.0.0.1:9", args);
    let machine = "arn:aws:states:us-west-2:123456789012:stateMachine:rds-refresh";
    let out = offline(&["start", "--state-machine", machine, "--source", "us-east-1/x", "--target", "us-east-1/X"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("target: must not be the source instance"), "{}", text(&out.stderr));

    let file = std::env::temp_dir().join(format!("rds-refresh-cli-{}.json", std::process::id()));
    let input = json!({
        "source": {"region": "us-east-1", "dbInstanceIdentifier": "x"},
        "target": {"region": "us-west-2", "dbInstanceIdentifier": "y", "createIfMising": true}
    });
    std::fs::write(&file, input.to_string()).unwrap();
    let out = offline(&["start", "--state-machine", machine, "--input", file.to_str().unwrap()]);
    std::fs::remove_file(&file).ok();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("target.createIfMising"), "{}", text(&out.stderr));

    // The same endpoint does fail a valid start, with the API's status.
    let out = offline(&["start", "--state-machine", machine, "--source", "us-east-1/x", "--target", "us-west-2/y"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("Step Functions StartExecution failed"), "{}", text(&out.stderr));
}

#[test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
fn start_watch_follows_the_execution_to_its_output() {
    let sfn = step_functions();
    let out = rds_refresh(&[
        "start",
        "--state-machine",
        &sfn.succeeding,
        "--source",
        "us-east-1/x",
        "--target",
        "us-west-2/y",
        "--mode",
        "replace",
        "--watch",
        "--poll-interval",
        "0.2",
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");

    let (arn, output) = stdout.split_once('\n').expect("the ARN, then the output");
    assert!(arn.contains(":execution:refresh-ok:cli-y-"), "{arn}");
    let output: Value = serde_json::from_str(output).expect("the output is JSON");
    assert_eq!(output["downtime"]["seconds"], 42.5);

    // Every state in order, each entered then left.
    let lines: Vec<&str> = stderr.lines().collect();
    let position = |prefix: &str| {
        lines.iter().position(|line| line.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix:?} in\n{stderr}"))
    };
    let order =
        ["▶ CheckInput", "✓ CheckInput", "▶ RetireTarget", "▶ WaitPromoted", "✓ WaitPromoted (1.", "▶ Refreshed"];
    let positions: Vec<usize> = order.iter().map(|prefix| position(prefix)).collect();
    assert!(positions.windows(2).all(|pair| pair[0] < pair[1]), "{stderr}");
    assert!(stderr.contains("✔ the execution succeeded"), "{stderr}");

    // The input sent is the one the flags describe.
    let described = block_on(client(&sfn.emulator).describe_execution().execution_arn(arn).send()).unwrap();
    let input: Value = serde_json::from_str(described.input().unwrap()).unwrap();
    assert_eq!(
        input,
        json!({
            "source": {"region": "us-east-1", "dbInstanceIdentifier": "x"},
            "target": {"region": "us-west-2", "dbInstanceIdentifier": "y"},
            "mode": "replace"
        })
    );
}

#[test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
fn watch_names_the_retries_and_ends_with_the_error_and_cause() {
    let out = rds_refresh(&["watch", failed_execution(), "--poll-interval", "0.2"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("↻ RestoreTarget retry 1 after "), "{stderr}");
    assert!(stderr.contains("↻ RestoreTarget retry 2 after "), "{stderr}");
    assert!(!stderr.contains("retry 3"), "{stderr}");
    assert!(stderr.contains("⤷ RestoreTarget failed with "), "{stderr}");
    assert!(stderr.contains("▶ RefreshFailed"), "{stderr}");
    assert!(stderr.trim_end().ends_with("✗ the execution failed: RestoreFailed: the restore failed"), "{stderr}");
    assert!(text(&out.stdout).is_empty());
}

#[test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
fn history_is_the_timeline_with_the_time_the_target_was_unavailable() {
    let failed = failed_execution();
    // A finished execution is needed: `watch` waits for it.
    assert_eq!(rds_refresh(&["watch", failed, "--poll-interval", "0.2"]).status.code(), Some(1));

    let out = rds_refresh(&["history", failed, "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let history: Value = serde_json::from_slice(&out.stdout).unwrap();
    let states: Vec<&str> = history["steps"].as_array().unwrap().iter().map(|s| s["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["DeleteTarget", "RestoreTarget", "RefreshFailed"]);
    let restore = &history["steps"][1];
    assert_eq!(restore["attempts"], 3);
    assert_eq!(restore["errors"].as_array().unwrap().len(), 3);
    assert_eq!(restore["caught"], restore["errors"][2]);
    assert!(restore["errors"][0].as_str().is_some_and(|error| !error.is_empty()), "{restore}");
    assert_eq!(history["status"], "FAILED");
    assert_eq!(history["error"], "RestoreFailed");
    assert_eq!(history["cause"], "the restore failed");
    assert_eq!(history["executionArn"], failed.as_str());
    assert!(restore["seconds"].as_f64().is_some_and(|seconds| seconds >= 2.0), "two 1-second retry pauses: {restore}");
    assert_eq!(history["unavailable"], json!({"startedAt": "2026-11-25T10:00:00Z", "endedAt": null, "seconds": null}));

    let out = rds_refresh(&["history", failed]);
    let text_history = text(&out.stdout);
    assert!(
        text_history.contains("unavailable since 2026-11-25T10:00:00Z; not back when the execution ended"),
        "{text_history}"
    );
    assert!(
        text_history.lines().any(|line| line.starts_with("RestoreTarget") && line.contains("  2  ")),
        "{text_history}"
    );

    // A succeeded refresh reports its measured downtime.
    let arn = refreshed("us-west-2/w");
    let out = rds_refresh(&["history", &arn]);
    assert!(
        text(&out.stdout).contains("unavailable 42.5 s, from 2026-11-25T10:00:00Z to 2026-11-25T10:00:42.5Z"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
fn list_shows_status_target_and_snapshot() {
    let sfn = step_functions();
    let arn = refreshed("us-west-2/listed");

    let out = rds_refresh(&["list", "--state-machine", &sfn.succeeding, "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ours = listed.as_array().unwrap().iter().find(|e| e["executionArn"] == arn.as_str()).expect("listed");
    assert_eq!(ours["status"], "SUCCEEDED");
    assert_eq!(ours["target"], "us-west-2/listed");
    assert_eq!(ours["snapshot"], "rds:x-2026-11-25-05-10");

    let out = rds_refresh(&["list", "--state-machine", &sfn.succeeding]);
    let table = text(&out.stdout);
    assert!(table.lines().any(|line| line.contains("SUCCEEDED") && line.contains("us-west-2/listed")), "{table}");
}

#[test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
fn a_name_taken_by_another_input_is_refused_with_what_to_do() {
    let sfn = step_functions();
    let start = |target: &str| {
        rds_refresh(&[
            "start",
            "--state-machine",
            &sfn.succeeding,
            "--source",
            "us-east-1/x",
            "--target",
            target,
            "--name",
            "nightly-1",
        ])
    };
    assert!(start("us-west-2/a").status.success());
    let out = start("us-west-2/b");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("an execution named nightly-1 already exists"), "{}", text(&out.stderr));
}
