//! Least privilege, checked call by call: every RDS call each function makes in every mode
//! (cross-region and one region, swap and replace, the dry run, re-runs after a failure, a
//! final snapshot, deletion protection, monitoring and a customer managed key) is allowed by
//! that function's role in deploy/template.yaml, for the exact ARNs IAM checks.
//!
//! tests/permissions.rs checks the actions each role allows against the code; this checks the
//! resources, by running refreshes whose functions sign with their own access key (the local
//! runner's `--access-key-per-function`) and evaluating the emulator's call log against the
//! template (support/iam.rs).

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_rds::types::Tag;
use rds_refresh_test_support::iam::{ACCOUNT, Policy, required, wildcard_match};
use rds_refresh_test_support::local_run::{input, refresh_local_with, repair_local, stopped_after};
use rds_refresh_test_support::{Emulator, create_instance_with, create_snapshot, opt_in, repo_root};
use serde_json::{Value, json};

/// The template's parameters (and pseudo parameters) of the stack for `source` and `target`.
fn deployment<'a>(source: (&'a str, &'a str), target: (&'a str, &'a str)) -> BTreeMap<&'a str, &'a str> {
    BTreeMap::from([
        ("AWS::Partition", "aws"),
        ("AWS::Region", target.0),
        ("AWS::AccountId", ACCOUNT),
        // The local runner names the refresh state machine after its definition file, as the
        // template names it after the stack.
        ("AWS::StackName", "refresh"),
        ("SourceRegion", source.0),
        ("SourceDbInstanceIdentifier", source.1),
        ("TargetDbInstanceIdentifier", target.1),
    ])
}

/// Every authorization the calls logged so far needed and the deployment's roles deny, by
/// function.
fn denied(emulator: &Emulator, source: (&str, &str), target: (&str, &str)) -> Vec<String> {
    let calls = emulator.control_get("calls");
    let parameters = deployment(source, target);
    let mut policies: BTreeMap<(String, String), Policy> = BTreeMap::new();
    let mut denied = BTreeSet::new();
    for call in calls["log"].as_array().unwrap() {
        let Some(function) = call["accessKey"].as_str().filter(|key| key.ends_with("Function")) else { continue };
        for need in required(call) {
            // The deployment's functions and state machines share its region; locally the
            // runner's state machines are in its own region (the functions' AWS_REGION), which
            // may differ from the target's: a Step Functions resource is checked in its region.
            let region = match need.resource.strip_prefix("arn:aws:states:") {
                Some(rest) => rest.split(':').next().unwrap_or_default().to_owned(),
                None => parameters["AWS::Region"].to_owned(),
            };
            let policy = policies.entry((function.to_owned(), region.clone())).or_insert_with(|| {
                let mut parameters = parameters.clone();
                parameters.insert("AWS::Region", &region);
                Policy::of_function(&repo_root(), function, &parameters)
            });
            if !policy.allows(&need) {
                denied.insert(format!("{function}: {} on {} ({:?})", need.action, need.resource, need.context));
            }
        }
    }
    denied.into_iter().collect()
}

/// The functions that signed at least one RDS call.
fn callers(emulator: &Emulator) -> BTreeSet<String> {
    let calls = emulator.control_get("calls");
    calls["log"].as_array().unwrap().iter().filter_map(|c| c["accessKey"].as_str().map(str::to_owned)).collect()
}

fn run(emulator: &Emulator, input: &Value, args: &[&str]) -> rds_refresh_test_support::local_run::Run {
    let mut all = vec!["--access-key-per-function"];
    all.extend_from_slice(args);
    refresh_local_with(emulator, input, &[], &all)
}

fn with(mut base: Value, extra: Value) -> Value {
    for (key, value) in extra.as_object().unwrap() {
        match (base.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(more)) => existing.extend(more.clone()),
            _ => base[key] = value.clone(),
        }
    }
    base
}

/// `x` with a snapshot, and `y` opted in, configured with what needs extra permissions:
/// Enhanced Monitoring (a role passed to RDS) and Performance Insights with a customer
/// managed key.
async fn seed(emulator: &Emulator, source: (&str, &str), target: (&str, &str)) {
    let client = emulator.client(source.0);
    create_instance_with(&client, source.1, |b| b).await;
    create_snapshot(&client, source.1, &format!("{}-manual", source.1)).await;
    let key = emulator.create_kms_key(target.0);
    let opted_in = format!("{}/{}", source.0, source.1);
    create_instance_with(&emulator.client(target.0), target.1, |b| {
        b.tags(Tag::builder().key("team").value("analytics").build())
            .tags(opt_in(&opted_in))
            .monitoring_interval(60)
            .monitoring_role_arn(format!("arn:aws:iam::{ACCOUNT}:role/rds-monitoring"))
            .enable_performance_insights(true)
            .performance_insights_kms_key_id(key)
            .deletion_protection(true)
    })
    .await;
    // What a swap for an older snapshot left: the refresh deletes it (prune-copies).
    let (stale, _) =
        rds_refresh_core::identifiers::swap_identifiers(target.1, "arn:aws:rds:us-east-1:1:snapshot:older");
    create_instance_with(&emulator.client(target.0), &stale, |b| {
        b.tags(opt_in(&opted_in)).tags(rds_refresh_core::tags::restoring("rds-refresh-older"))
    })
    .await;
}

/// Every mode of one deployment: the dry run, swap (failing between the renames, then a
/// re-run), replace with a final snapshot (failing after the delete, then a re-run).
fn every_mode(emulator: &Emulator, source: (&str, &str), target: (&str, &str)) {
    let base = with(
        input(source.1, target.1),
        json!({"source": {"region": source.0}, "target": {"region": target.0, "allowDisableDeletionProtection": true}}),
    );
    let plan = run(emulator, &with(base.clone(), json!({"dryRun": true})), &[]);
    assert!(plan.success, "dry run: {}", plan.stderr);
    let failed = run(emulator, &base, &["--fail-after", "RetireTarget"]);
    assert!(!failed.success, "the injected failure fails the swap");
    run(emulator, &base, &[]).output();
    let replace = with(base.clone(), json!({"mode": "replace", "target": {"finalSnapshot": true}}));
    let failed = run(emulator, &replace, &["--fail-after", "DeleteTarget"]);
    assert!(!failed.success, "the injected failure fails the replace");
    run(emulator, &replace, &[]).output();
    // Stopped between the renames, then repaired; stopped after the switch, then re-run (the
    // lock taken over); stopped after replace mode's delete, then repaired by a re-run.
    let keys = ["--access-key-per-function"];
    let (_, event) = stopped_after(emulator, &base, "RetireTarget", &keys);
    repair_local(emulator, &event, &keys).json();
    stopped_after(emulator, &base, "PromoteNew", &keys);
    assert!(run(emulator, &base, &[]).output().lock_taken_over_from.is_some());
    let (_, event) = stopped_after(emulator, &replace, "DeleteTarget", &keys);
    assert_eq!(repair_local(emulator, &event, &keys).json()["repair"]["action"], "rerun");
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn every_call_in_every_mode_is_allowed_by_its_role_across_regions() {
    let emulator = Emulator::start();
    let (source, target) = (("us-east-1", "x"), ("us-west-2", "y"));
    seed(&emulator, source, target).await;
    emulator.clear_calls();
    every_mode(&emulator, source, target);
    let callers = callers(&emulator);
    for function in [
        "PlanRefreshFunction",
        "FindSnapshotFunction",
        "CopySnapshotFunction",
        "WaitCopiedFunction",
        "DeleteTargetFunction",
        "RestoreTargetFunction",
        "ConfigureTargetFunction",
        "RenameTargetFunction",
        "RecoverSwapFunction",
        "TagTargetFunction",
        "PruneCopiesFunction",
        "LockTargetFunction",
        "RepairExecutionFunction",
    ] {
        assert!(
            callers.contains(function),
            "{function} made no call: is --access-key-per-function in effect? {callers:?}"
        );
    }
    assert_eq!(denied(&emulator, source, target), Vec::<String>::new());
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn every_call_in_every_mode_is_allowed_by_its_role_in_one_region() {
    // No copy: the tasks work on the source's own snapshot in the target's region.
    let emulator = Emulator::start();
    let (source, target) = (("us-west-2", "x"), ("us-west-2", "y"));
    seed(&emulator, source, target).await;
    emulator.clear_calls();
    every_mode(&emulator, source, target);
    assert_eq!(denied(&emulator, source, target), Vec::<String>::new());
}

#[test]
fn wildcards_match_as_iam_does() {
    assert!(wildcard_match("arn:aws:rds:us-west-2:1:db:y-rr-*", "arn:aws:rds:us-west-2:1:db:y-rr-new-abc"));
    assert!(!wildcard_match("arn:aws:rds:us-west-2:1:db:y-rr-*", "arn:aws:rds:us-west-2:1:db:y"));
    assert!(wildcard_match("arn:aws:rds:us-west-2:1:snapshot:*", "arn:aws:rds:us-west-2:1:snapshot:rds:x-1"));
    assert!(wildcard_match("rds:describe*", "rds:describedbinstances"));
    assert!(wildcard_match("a?c", "abc") && !wildcard_match("a?c", "ac"));
}

/// The evaluator itself: a call the role does not cover is denied, and a tag condition
/// needs the tag.
#[test]
fn the_evaluator_denies_what_the_role_does_not_allow() {
    let parameters = deployment(("us-east-1", "x"), ("us-west-2", "y"));
    let delete = Policy::of_function(&repo_root(), "DeleteTargetFunction", &parameters);
    let call = |id: &str, tags: Value| json!({"action": "DeleteDBInstance", "region": "us-west-2", "params": {"DBInstanceIdentifier": id}, "resourceTags": tags});
    let opted_in = json!({"rds-refresh:source": "us-east-1/x"});
    assert!(required(&call("y", opted_in.clone())).iter().all(|need| delete.allows(need)));
    assert!(!required(&call("y", json!({}))).iter().all(|need| delete.allows(need)), "needs the opt-in tag");
    assert!(!required(&call("production", opted_in)).iter().all(|need| delete.allows(need)), "only y");
}

/// An encrypted source: the copy is made with `copy.kmsKeyId`, a key of the target region
/// chosen at run time, which the roles may use only through RDS.
#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn an_encrypted_copy_with_a_key_chosen_at_run_time_is_allowed_through_rds() {
    let emulator = Emulator::start();
    let (source, target) = (("us-east-1", "x"), ("us-west-2", "y"));
    let client = emulator.client(source.0);
    create_instance_with(&client, source.1, |b| b.storage_encrypted(true)).await;
    create_snapshot(&client, source.1, "x-encrypted").await;
    create_instance_with(&emulator.client(target.0), target.1, |b| b.tags(opt_in("us-east-1/x"))).await;
    let key = emulator.create_kms_key(target.0);
    emulator.clear_calls();
    let input = with(input(source.1, target.1), json!({"copy": {"kmsKeyId": key}}));
    run(&emulator, &input, &[]).output();
    let copies = emulator.call_params("CopyDBSnapshot");
    assert_eq!(copies.len(), 1);
    assert_eq!(copies[0]["KmsKeyId"], key.as_str());
    assert_eq!(denied(&emulator, source, target), Vec::<String>::new());
}
