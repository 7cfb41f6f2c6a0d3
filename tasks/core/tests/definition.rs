//! The state machine and the tasks agree on names: every error the definition matches is
//! one a task raises (or a Lambda or States error), and every function placeholder is a
//! task binary of the workspace.
use std::collections::BTreeSet;
use std::path::Path;

use rds_refresh_core::TaskError;
use serde_json::Value;

fn repo_file(path: &str) -> Value {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Every name in an `ErrorEquals` of the definition, with the state it is in.
fn matched_errors(definition: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (state, body) in definition["States"].as_object().unwrap() {
        for field in ["Retry", "Catch"] {
            for rule in body[field].as_array().into_iter().flatten() {
                for name in rule["ErrorEquals"].as_array().unwrap() {
                    found.push((state.clone(), name.as_str().unwrap().to_owned()));
                }
            }
        }
    }
    found
}

#[test]
fn every_matched_error_is_one_a_task_raises() {
    let definition = repo_file("statemachine/refresh.asl.json");
    for (state, name) in matched_errors(&definition) {
        let known = TaskError::NAMES.contains(&name.as_str())
            || ["Lambda.", "States.", "SNS."].iter().any(|service| name.starts_with(service));
        assert!(known, "{state} matches {name}, which no task raises");
    }
}

#[test]
fn retryable_names_are_retried_by_every_lambda_task_state() {
    let definition = repo_file("statemachine/refresh.asl.json");
    let matched = matched_errors(&definition);
    for (state, body) in definition["States"].as_object().unwrap() {
        if body["Resource"] != "arn:aws:states:::lambda:invoke" {
            continue;
        }
        let retried: BTreeSet<&str> =
            matched.iter().filter(|(s, _)| s == state).map(|(_, name)| name.as_str()).collect();
        for name in ["Throttled", "ServiceUnavailable", "Lambda.ServiceException", "Lambda.TooManyRequestsException"] {
            assert!(retried.contains(name), "{state} does not retry {name}");
        }
        assert!(retried.contains("States.ALL"), "{state} has no catch-all Catch");
        for rule in body["Retry"].as_array().unwrap() {
            let polls = rule["ErrorEquals"] == serde_json::json!(["NotReady"]);
            assert!(polls || rule["JitterStrategy"] == "FULL", "{state}: retries without jitter: {rule}");
        }
    }
}

#[test]
fn every_failure_releases_the_lock_and_can_notify() {
    let definition = repo_file("statemachine/refresh.asl.json");
    let states = definition["States"].as_object().unwrap();
    for (state, body) in states {
        for catch in body["Catch"].as_array().into_iter().flatten() {
            let next = catch["Next"].as_str().unwrap();
            // Before the input is checked there is no lock and no topic to use.
            if state == "CheckInput" {
                assert_eq!(next, "RefreshFailed");
                continue;
            }
            let after = states[next]["Next"].as_str().unwrap_or(next);
            assert!(
                ["RecoverSwap", "UnlockAfterFailure", "NotifyFailure?", "FailedBecause", "NotificationFailed"]
                    .contains(&after),
                "{state}: a failure goes to {next}, then {after}, without releasing the lock"
            );
        }
    }
}

#[test]
fn every_function_placeholder_is_a_task_binary() {
    let definition =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../statemachine/refresh.asl.json"))
            .unwrap();
    let functions = repo_file("statemachine/functions.json");
    let tasks_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for placeholder in definition.split("${").skip(1).filter_map(|rest| rest.split('}').next()) {
        let binary =
            functions[placeholder].as_str().unwrap_or_else(|| panic!("{placeholder} is not in functions.json"));
        assert!(tasks_dir.join(binary).join("src/main.rs").exists(), "{placeholder}: no task crate {binary}");
    }
}
