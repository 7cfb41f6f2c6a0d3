//! The state machine and the tasks agree on names: every error the definition matches is
//! one a task raises (or a Lambda or States error), and every function placeholder is a
//! task binary of the workspace.
use std::collections::BTreeSet;
use std::path::Path;

use rds_refresh_core::error::ErrorName;
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

/// The definitions whose Task states run the task binaries.
const DEFINITIONS: [&str; 2] = ["statemachine/refresh.asl.json", "statemachine/repair.asl.json"];

#[test]
fn every_matched_error_is_one_a_task_raises() {
    for file in DEFINITIONS {
        let definition = repo_file(file);
        for (state, name) in matched_errors(&definition) {
            let known = ErrorName::all().any(|known| known.as_str() == name)
                || ["Lambda.", "States.", "SNS.", "StepFunctions."].iter().any(|service| name.starts_with(service));
            assert!(known, "{file}: {state} matches {name}, which no task raises");
        }
    }
}

#[test]
fn retryable_names_are_retried_by_every_lambda_task_state() {
    for file in DEFINITIONS {
        retryable_names_are_retried_in(&repo_file(file));
    }
}

fn retryable_names_are_retried_in(definition: &Value) {
    let matched = matched_errors(definition);
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
fn every_function_placeholder_is_a_handler_of_the_binary() {
    let functions = repo_file("statemachine/functions.json");
    let texts = DEFINITIONS
        .map(|file| std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(file)).unwrap());
    let placeholders = texts.iter().flat_map(|text| text.split("${").skip(1).filter_map(|rest| rest.split('}').next()));
    // The refresh state machine's ARN (the repair re-runs it) is not a function.
    for placeholder in placeholders.filter(|p| *p != "RefreshStateMachineArn") {
        let handler =
            functions[placeholder].as_str().unwrap_or_else(|| panic!("{placeholder} is not in functions.json"));
        assert!(
            rds_refresh_core::handlers::Handler::named(handler).is_ok(),
            "{placeholder}: the binary has no handler {handler}"
        );
    }
}

// --- Time budgets -------------------------------------------------------------------------
//
// The execution's TimeoutSeconds must leave room for every bounded wait of the longest path
// to run out *and* for the failure path after it (recover, unlock, notify): otherwise the
// execution times out first, runs no Catch, and may leave `y`'s name gone (between the swap's
// renames) with the lock held. The lock's own expiry follows the execution timeout.

/// Time allowed for each invocation of a Task (a Describe call takes ~10-100 ms; this covers
/// a slow call and the SDK's own retries).
const INVOCATION_ALLOWANCE_SECS: f64 = 10.0;
/// Throttling and 5xx retries, and anything slower than the allowance, come out of this.
const MARGIN_SECS: f64 = 3600.0;
/// The largest `retainOldMinutes` (the input's limit), the longest RetainOld can wait.
const MAX_RETAIN_OLD_SECS: f64 = 480.0 * 60.0;
/// Where ARCHITECTURE.md keeps the table this test renders.
const BUDGET_TABLE_START: &str = "<!-- budgets: rendered by tests/definition.rs; regenerate with UPDATE_DOCS=1 -->\n";
const BUDGET_TABLE_END: &str = "<!-- /budgets -->";

/// The Task timeout above which a task is one that runs for long by design (the SQL tasks,
/// with Lambda's 15 minutes): each of its invocations is allowed its whole timeout.
const QUICK_TASK_TIMEOUT_SECS: f64 = 120.0;

/// What a state costs at most, in seconds: its NotReady polling (sleeps plus an allowance
/// per invocation), a Wait's longest wait, or a Map's iterations (at most `MAX_SCRIPTS`, one
/// after the other) each along its longest path.
fn state_budget(body: &Value) -> f64 {
    match body["Type"].as_str() {
        Some("Task") if body["TimeoutSeconds"].as_f64().unwrap_or(0.0) > QUICK_TASK_TIMEOUT_SECS => {
            body["TimeoutSeconds"].as_f64().unwrap()
        }
        Some("Map") => {
            let processor = &body["ItemProcessor"];
            let states = processor["States"].as_object().unwrap();
            assert_eq!(body["MaxConcurrency"], 1, "the budget counts a Map's iterations one after the other");
            rds_refresh_core::model::sql::MAX_SCRIPTS as f64
                * longest_path(states, processor["StartAt"].as_str().unwrap()).0
        }
        Some("Task") => {
            let polls = body["Retry"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|r| r["ErrorEquals"] == serde_json::json!(["NotReady"]));
            let (sleeps, attempts) =
                polls.map(|r| (retry_sleeps(r), r["MaxAttempts"].as_f64().unwrap())).unwrap_or((0.0, 0.0));
            sleeps + (attempts + 1.0) * INVOCATION_ALLOWANCE_SECS
        }
        Some("Wait") if body["SecondsPath"] == "$.retainOldSeconds" => MAX_RETAIN_OLD_SECS,
        Some("Wait") => body["Seconds"].as_f64().expect("a Wait of fixed seconds or RetainOld's"),
        _ => 0.0,
    }
}

/// The sum of a retrier's pauses when it runs out: IntervalSeconds growing by BackoffRate,
/// capped at MaxDelaySeconds (polling retriers have no jitter).
fn retry_sleeps(retrier: &Value) -> f64 {
    let interval = retrier["IntervalSeconds"].as_f64().unwrap_or(1.0);
    let rate = retrier["BackoffRate"].as_f64().unwrap_or(2.0);
    let cap = retrier["MaxDelaySeconds"].as_f64().unwrap_or(f64::INFINITY);
    (0..retrier["MaxAttempts"].as_u64().unwrap_or(3)).map(|k| (interval * rate.powi(k as i32)).min(cap)).sum()
}

/// The states a state goes on to when it succeeds.
fn successors(body: &Value) -> Vec<String> {
    let mut next: Vec<String> = body["Next"].as_str().into_iter().map(str::to_owned).collect();
    next.extend(body["Choices"].as_array().into_iter().flatten().filter_map(|c| c["Next"].as_str().map(str::to_owned)));
    next.extend(body["Default"].as_str().map(str::to_owned));
    next
}

/// The costliest path from `state` to an end, following successes only: its seconds and states.
fn longest_path(states: &serde_json::Map<String, Value>, state: &str) -> (f64, Vec<String>) {
    let body = &states[state];
    let (rest, mut path) = successors(body)
        .iter()
        .map(|next| longest_path(states, next))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap_or_default();
    path.insert(0, state.to_owned());
    (state_budget(body) + rest, path)
}

/// The costliest failure path: from any Catch target (the refresh's, not the failure
/// path's own, which only lead onwards) to its end.
fn longest_failure_path(states: &serde_json::Map<String, Value>) -> (f64, Vec<String>) {
    states
        .values()
        .flat_map(|body| body["Catch"].as_array().into_iter().flatten())
        .filter_map(|catch| catch["Next"].as_str())
        .map(|next| longest_path(states, next))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap()
}

fn hours(seconds: f64) -> String {
    format!("{:.2} h", seconds / 3600.0)
}

/// The table ARCHITECTURE.md shows: each state of the longest refresh and failure paths with
/// its budget, and the sums.
fn budget_table(definition: &Value) -> String {
    let states = definition["States"].as_object().unwrap();
    let (success, success_path) = longest_path(states, definition["StartAt"].as_str().unwrap());
    let (failure, failure_path) = longest_failure_path(states);
    let timeout = definition["TimeoutSeconds"].as_f64().unwrap();
    let mut table = String::from(
        "| path | state | NotReady polling (interval, ×rate, cap, attempts) | budget |\n|---|---|---|---|\n",
    );
    for (label, path) in [("refresh", &success_path), ("failure", &failure_path)] {
        let mut single = 0;
        for state in path {
            let body = &states[state];
            let budget = state_budget(body);
            if budget <= INVOCATION_ALLOWANCE_SECS {
                single += usize::from(budget > 0.0);
                continue;
            }
            let polling = body["Retry"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|r| r["ErrorEquals"] == serde_json::json!(["NotReady"]))
                .map(|r| {
                    format!(
                        "{} s, ×{}, {} s, {}",
                        r["IntervalSeconds"], r["BackoffRate"], r["MaxDelaySeconds"], r["MaxAttempts"]
                    )
                })
                .unwrap_or_else(|| match body["Type"].as_str() {
                    Some("Map") => format!(
                        "Map: ≤ {} scripts, one invocation each (TimeoutSeconds {})",
                        rds_refresh_core::model::sql::MAX_SCRIPTS,
                        body["ItemProcessor"]["States"].as_object().unwrap().values().next().unwrap()["TimeoutSeconds"]
                    ),
                    Some("Task") => format!("one long invocation (TimeoutSeconds {})", body["TimeoutSeconds"]),
                    _ => "Wait: retainOldMinutes ≤ 480".into(),
                });
            table.push_str(&format!("| {label} | {state} | {polling} | {} |\n", hours(budget)));
        }
        table.push_str(&format!(
            "| {label} | {single} other Task states | one invocation each | {} |\n",
            hours(single as f64 * INVOCATION_ALLOWANCE_SECS)
        ));
    }
    table.push_str(&format!(
        "| | **longest refresh + longest failure path + margin** | {} + {} + {} | **{}** |\n",
        hours(success),
        hours(failure),
        hours(MARGIN_SECS),
        hours(success + failure + MARGIN_SECS)
    ));
    table.push_str(&format!("| | **execution `TimeoutSeconds`** | | **{}** |\n", hours(timeout)));
    table.push_str(&format!(
        "| | **lock expiry** (`LOCK_TTL_SECS`, after the lock is taken) | timeout + 15 min | **{}** |\n",
        hours(rds_refresh_core::state::LOCK_TTL_SECS as f64)
    ));
    table
}

#[test]
fn the_execution_outlasts_every_wait_and_the_failure_path_and_the_lock_outlasts_the_execution() {
    let definition = repo_file("statemachine/refresh.asl.json");
    let states = definition["States"].as_object().unwrap();
    let (success, path) = longest_path(states, definition["StartAt"].as_str().unwrap());
    let (failure, failure_path) = longest_failure_path(states);
    let needed = success + failure + MARGIN_SECS;
    let timeout = definition["TimeoutSeconds"].as_f64().unwrap();
    assert!(
        timeout >= needed,
        "TimeoutSeconds {timeout} is shorter than the longest refresh ({}: {path:?}) plus the failure path ({}: \
         {failure_path:?}) plus the margin: {}",
        hours(success),
        hours(failure),
        hours(needed)
    );
    assert!(
        timeout < needed + 3600.0,
        "TimeoutSeconds {timeout} is more than an hour above what the budgets need ({needed})"
    );
    assert_eq!(
        rds_refresh_core::state::LOCK_TTL_SECS as f64,
        timeout + 15.0 * 60.0,
        "the lock expires 15 min after the execution's timeout"
    );
    // Every state's TimeoutSeconds is within the Lambda function's own 60 s timeout and the
    // interpreter's, so an invocation never outlives its state.
    for (name, body) in states {
        if body["Type"] == "Task" {
            assert!(body["TimeoutSeconds"].as_u64().is_some(), "{name} has no TimeoutSeconds");
        }
    }
}

#[test]
fn architecture_md_shows_the_budgets_of_the_definition() {
    let definition = repo_file("statemachine/refresh.asl.json");
    let table = budget_table(&definition);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ARCHITECTURE.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text.find(BUDGET_TABLE_START).expect("ARCHITECTURE.md has the budget table's start marker")
        + BUDGET_TABLE_START.len();
    let end = text[start..].find(BUDGET_TABLE_END).expect("and its end marker") + start;
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, format!("{}{table}{}", &text[..start], &text[end..])).unwrap();
    } else {
        assert_eq!(&text[start..end], table, "ARCHITECTURE.md's budget table is stale (regenerate with UPDATE_DOCS=1)");
    }
}

/// SNS refuses a Subject of 100 characters or more (botocore's SNS model: "must be less than
/// 100 characters long"): a successful refresh would end FAILED at NotifySuccess, and a
/// failure's notification would be lost. Each Subject is a `States.Format` whose arguments
/// may only be identifiers (at most 63 characters), so its longest text is known.
#[test]
fn every_notification_subject_is_under_100_characters() {
    let definition = repo_file("statemachine/refresh.asl.json");
    let mut subjects = 0;
    for (state, body) in definition["States"].as_object().unwrap() {
        if body["Resource"] != "arn:aws:states:::sns:publish" {
            continue;
        }
        subjects += 1;
        let parameters = &body["Parameters"];
        assert!(parameters.get("Subject").is_none(), "{state}: use Subject.$ with States.Format");
        let format = parameters["Subject.$"].as_str().unwrap_or_else(|| panic!("{state} has no Subject.$"));
        let inner = format.strip_prefix("States.Format('").and_then(|rest| rest.strip_suffix(')')).unwrap();
        let (text, arguments) = inner.split_once("', ").unwrap_or((inner.trim_end_matches('\''), ""));
        for argument in arguments.split(", ").filter(|a| !a.is_empty()) {
            assert!(
                argument.ends_with("dbInstanceIdentifier"),
                "{state}: Subject argument {argument} has no bounded length"
            );
        }
        let longest = text.replace("{}", "").chars().count() + 63 * text.matches("{}").count();
        assert!(longest < 100, "{state}: the Subject can be {longest} characters: {format}");
    }
    assert_eq!(subjects, 2, "NotifySuccess and NotifyFailure");
}

/// The repair waits for a re-run of the refresh (`startExecution.sync:2`): it must outlast the
/// longest refresh, or it would time out first and never notify.
#[test]
fn the_repair_outlasts_a_refresh_it_re_runs() {
    let refresh = repo_file("statemachine/refresh.asl.json");
    let repair = repo_file("statemachine/repair.asl.json");
    let (refresh_timeout, repair_timeout) =
        (refresh["TimeoutSeconds"].as_f64().unwrap(), repair["TimeoutSeconds"].as_f64().unwrap());
    let states = repair["States"].as_object().unwrap();
    let (waits, path) = longest_path(states, repair["StartAt"].as_str().unwrap());
    assert!(
        repair_timeout >= refresh_timeout + waits,
        "the repair's TimeoutSeconds {repair_timeout} is below the refresh's {refresh_timeout} plus its own waits ({waits}: {path:?})"
    );
    assert!(states["Rerun"]["Resource"].as_str().unwrap().ends_with(".sync:2"));
}

/// The repair's subjects: Notify's comes from the task (its length is unit-tested in
/// `repair::tests`); the others are formats over an identifier.
#[test]
fn the_repair_notification_subjects_fit_sns() {
    let repair = repo_file("statemachine/repair.asl.json");
    let states = repair["States"].as_object().unwrap();
    assert_eq!(states["Notify"]["Parameters"]["Subject.$"], "$.notify.subject");
    let format = states["NotifyIncomplete"]["Parameters"]["Subject.$"].as_str().unwrap();
    let text = format.strip_prefix("States.Format('").and_then(|rest| rest.split_once('\'')).unwrap().0;
    assert!(text.replace("{}", "").len() + 63 < 100, "{format}");
}

/// The CLI measures the downtime from fields of the state data (rds_refresh_model::interface):
/// the definition must write exactly those, or `history` would silently lose the downtime.
#[test]
fn the_fields_the_cli_reads_are_the_ones_the_definition_writes() {
    use rds_refresh_model::interface::fields::DOWNTIME;
    use rds_refresh_model::interface::result_paths::{AVAILABLE, DELETION, RETIREMENT};
    let definition = repo_file("statemachine/refresh.asl.json");
    let states = &definition["States"];
    // The steps that take the target's name down record when.
    assert_eq!(states["RetireTarget"]["ResultPath"], RETIREMENT);
    assert_eq!(states["DeleteTarget"]["ResultPath"], DELETION);
    // The waits that bring it back record the measured downtime ...
    for wait in ["WaitPromoted", "WaitAvailable"] {
        assert_eq!(states[wait]["ResultPath"], AVAILABLE, "{wait}");
        assert_eq!(states[wait]["ResultSelector"][format!("{DOWNTIME}.$")], format!("$.Payload.{DOWNTIME}"), "{wait}");
    }
    // ... which the output carries.
    assert_eq!(states["Refreshed"]["Parameters"][format!("{DOWNTIME}.$")], format!("{AVAILABLE}.{DOWNTIME}"));
}

/// A script is never run twice on one instance: the state that runs it retries only what
/// fails before a script starts (Lambda throttling refuses the invoke; Throttled and
/// ServiceUnavailable come from the S3 and Secrets Manager reads), never a Lambda service
/// error or a timeout, which may come after the script ran. One script per iteration, in order.
#[test]
fn scripts_are_run_once_each_in_order() {
    let definition = repo_file("statemachine/refresh.asl.json");
    let maps: Vec<(&String, &Value)> =
        definition["States"].as_object().unwrap().iter().filter(|(_, body)| body["Type"] == "Map").collect();
    let names: Vec<&str> = maps.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["RunScriptsBeside", "RunScripts"]);
    for (name, map) in maps {
        assert_eq!(map["MaxConcurrency"], 1, "{name}");
        assert_eq!(map["ItemsPath"], "$.sql.scripts", "{name}");
        let states = map["ItemProcessor"]["States"].as_object().unwrap();
        assert_eq!(states.len(), 1, "{name}: one invocation per script");
        let (_, task) = states.iter().next().unwrap();
        assert_eq!(task["Parameters"]["FunctionName"], "${RunScriptFunctionArn}");
        let retried: Vec<&str> = task["Retry"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|rule| rule["ErrorEquals"].as_array().unwrap())
            .map(|error| error.as_str().unwrap())
            .collect();
        assert_eq!(retried, ["Lambda.TooManyRequestsException", "Throttled", "ServiceUnavailable"], "{name}");
        assert!(
            task.get("Catch").is_none(),
            "{name}: a failing script fails the Map, whose Catch takes the failure path"
        );
        assert!(map["Catch"][0]["ErrorEquals"] == serde_json::json!(["States.ALL"]), "{name}");
    }
}
