//! Refreshes that meet the rules AWS enforces and stock moto does not (the emulator enforces
//! them: local/emulator/README.md lists each with its reference): each of these failed, on
//! AWS, with the code before this test was written, some after `y` was already deleted or
//! renamed away.

use aws_sdk_rds::types::Tag;
use rds_refresh_test_support::local_run::{
    SOURCE_REGION, TARGET_REGION, input_with, refresh_local, seed_source, seed_target, tags_of,
};
use rds_refresh_test_support::{Emulator, create_instance_with, create_snapshot, instance, opt_in, snapshot_ids};
use serde_json::json;

/// After `x`'s major upgrade, `y`'s parameter and option groups (of the old major version)
/// no longer fit the snapshot: refused before anything changes, saying what to pass; with
/// those overrides the refresh goes through.
#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn groups_of_an_older_major_version_are_refused_before_any_change_and_overrides_fix_it() {
    let emulator = Emulator::start();
    let source = emulator.client(SOURCE_REGION);
    create_instance_with(&source, "x", |b| b.engine_version("17.2")).await;
    create_snapshot(&source, "x", "x-after-upgrade").await;
    let target = emulator.client(TARGET_REGION);
    for (family, name) in [("postgres16", "staging-pg16"), ("postgres17", "staging-pg17")] {
        target
            .create_db_parameter_group()
            .db_parameter_group_name(name)
            .db_parameter_group_family(family)
            .description("staging")
            .send()
            .await
            .unwrap();
    }
    create_instance_with(&target, "y", |b| b.db_parameter_group_name("staging-pg16").tags(opt_in("us-east-1/x"))).await;
    emulator.clear_calls();

    for mode in ["swap", "replace"] {
        let refused = refresh_local(&emulator, &input_with(json!({"mode": mode})), &[]);
        assert_eq!(refused.code, Some(1), "{mode}: {}", refused.stderr);
        assert!(refused.stderr.contains("error: ConfigurationIncompatible"), "{mode}: {}", refused.stderr);
        assert!(
            refused.stderr.contains("staging-pg16 is of family postgres16, not postgres17")
                && refused.stderr.contains(r#"{"dbParameterGroupName": "<a postgres17 parameter group>"}"#),
            "{mode}: {}",
            refused.stderr
        );
    }
    assert_eq!(emulator.changing_calls(), Vec::<String>::new(), "nothing was changed");
    let y = instance(&target, "y").await.expect("y is untouched");
    assert_eq!(y.db_parameter_groups()[0].db_parameter_group_name(), Some("staging-pg16"));

    let fixed =
        input_with(json!({"mode": "replace", "target": {"overrides": {"dbParameterGroupName": "staging-pg17"}}}));
    let output = refresh_local(&emulator, &fixed, &[]).output();
    assert_eq!(output.snapshot.identifier, "x-after-upgrade");
    let y = instance(&target, "y").await.expect("y is back");
    assert_eq!(y.db_parameter_groups()[0].db_parameter_group_name(), Some("staging-pg17"));
    assert_eq!(y.engine_version(), Some("17.2"));
}

/// The default choice is usually an automated snapshot, `rds:x-...`: RDS refuses tag values
/// that begin with `rds:`, so the snapshot tag (and, in one region, the restoring mark, which
/// holds the snapshot restored from) is written in a form RDS accepts, and read back.
#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn an_automated_snapshot_is_recorded_in_tags_rds_accepts() {
    let emulator = Emulator::start();
    for (region, mode) in [(TARGET_REGION, "swap"), (SOURCE_REGION, "replace")] {
        let source = emulator.client(SOURCE_REGION);
        if instance(&source, "x").await.is_none() {
            create_instance_with(&source, "x", |b| b).await;
        }
        let automated = snapshot_ids(&source, "x").await.into_iter().find(|id| id.starts_with("rds:")).unwrap();
        let y = format!("y-{mode}");
        create_instance_with(&emulator.client(region), &y, |b| b.tags(opt_in("us-east-1/x"))).await;
        let input = json!({
            "source": {"region": SOURCE_REGION, "dbInstanceIdentifier": "x"},
            "target": {"region": region, "dbInstanceIdentifier": y},
            "mode": mode,
            "snapshot": {"type": "automated"}
        });
        let output = refresh_local(&emulator, &input, &[]).output();
        assert_eq!(output.snapshot.identifier, automated, "{region}");
        let tags = tags_of(&emulator, region, &y).await;
        let recorded = &tags["rds-refresh:snapshot"];
        assert_eq!(recorded, &format!("automated:{}", automated.trim_start_matches("rds:")), "{region}");
        assert!(!tags.contains_key("rds-refresh:restoring"), "{region}: the refresh finished");
    }
}

/// Long identifiers do not push a notification's Subject past SNS's limit (under 100
/// characters): the refresh succeeds and both notifications arrive.
#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn notifications_of_long_identifiers_are_delivered() {
    let emulator = Emulator::start();
    let x = format!("x{}", "-long".repeat(12));
    let y = format!("y{}", "-long".repeat(10));
    assert!(x.len() <= 63 && y.len() <= 63);
    seed_source(&emulator, &x).await;
    create_instance_with(&emulator.client(TARGET_REGION), &y, |b| b.tags(opt_in(&format!("us-east-1/{x}")))).await;
    let (topic, queue) = emulator.topic_with_queue(TARGET_REGION, "refresh-events");
    let input = json!({
        "source": {"region": SOURCE_REGION, "dbInstanceIdentifier": x},
        "target": {"region": TARGET_REGION, "dbInstanceIdentifier": y},
        "notify": {"topicArn": topic}
    });
    refresh_local(&emulator, &input, &[]).output();
    let missing = json!({
        "source": {"region": SOURCE_REGION, "dbInstanceIdentifier": x},
        "target": {"region": TARGET_REGION, "dbInstanceIdentifier": format!("{y}-gone")},
        "notify": {"topicArn": topic}
    });
    let failed = refresh_local(&emulator, &missing, &[]);
    assert!(failed.stderr.contains("error: TargetNotFound"), "{}", failed.stderr);
    let notifications = emulator.notifications(TARGET_REGION, &queue);
    let subjects: Vec<&str> = notifications.iter().map(|(subject, _)| subject.as_str()).collect();
    assert_eq!(subjects, [format!("rds-refresh: {y} refreshed"), format!("rds-refresh: {y}-gone failed")]);
    assert!(subjects.iter().all(|s| s.len() < 100));
}

/// RDS stores identifiers in lower case, and IAM matches ARNs case-sensitively: an input
/// naming `Y` refreshes `y`, and every call names `y`.
#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn upper_case_identifiers_are_normalised_before_any_call() {
    let emulator = Emulator::start();
    seed_source(&emulator, "x").await;
    seed_target(&emulator, "y").await;
    emulator.clear_calls();
    let input = json!({
        "source": {"region": SOURCE_REGION, "dbInstanceIdentifier": "X"},
        "target": {"region": TARGET_REGION, "dbInstanceIdentifier": "Y"}
    });
    let output = refresh_local(&emulator, &input, &[]).output();
    assert_eq!(output.target.db_instance_identifier, "y");
    let calls = emulator.control_get("calls");
    for call in calls["log"].as_array().unwrap() {
        let id = call["dbInstanceIdentifier"].as_str().unwrap_or_default();
        assert_eq!(id, id.to_ascii_lowercase(), "{call}");
    }
}

/// Right after a restore RDS is often `backing-up` or `configuring-enhanced-monitoring`, and
/// `y` may be `backing-up` or in `maintenance` when the rename comes: RDS refuses a modify
/// or a rename then (InvalidDBInstanceState). The refresh waits those out and succeeds.
#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn transient_states_are_waited_out_not_failed_on() {
    let emulator = Emulator::start();
    seed_source(&emulator, "x").await;
    create_instance_with(&emulator.client(TARGET_REGION), "y", |b| {
        b.tags(opt_in("us-east-1/x")).tags(Tag::builder().key("team").value("a").build())
    })
    .await;
    emulator.control(
        "transitions",
        json!({"instance.after-create": {"statuses": ["backing-up", "configuring-enhanced-monitoring"], "reads": 2}}),
    );
    emulator.control(
        "instance-status",
        json!({"region": TARGET_REGION, "dbInstanceIdentifier": "y", "status": "backing-up", "reads": 6}),
    );
    let run = refresh_local(&emulator, &input_with(json!({})), &[]);
    let output = run.output();
    assert!(output.downtime.is_some());
    assert!(run.retries("RetireTarget", "NotReady") >= 1, "y was backing-up when the rename came: {}", run.stderr);
    let y = instance(&emulator.client(TARGET_REGION), "y").await.unwrap();
    assert_eq!(y.db_instance_status(), Some("available"));
}
