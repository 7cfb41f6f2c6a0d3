//! A faithful refresh, end to end through `scripts/refresh-local`: the new `y` is configured
//! exactly as the old one, the configuration survives a failed run, encrypted snapshots need
//! a key of the target region, the snapshot can be chosen, and old copies are pruned.
//!
//! The emulator (moto) takes false or empty settings of a restore from the snapshot's
//! instance instead; the source `x` here is set up so that such a deviation would show, and
//! the checks are what AWS does.

use std::collections::BTreeMap;

use aws_sdk_rds::types::Tag;
use rds_refresh_core::model::{CopyOrigin, TargetConfiguration};
use rds_refresh_core::rds::configuration_of;
use rds_refresh_core::tags;
use rds_refresh_test_support::local_run::{
    SOURCE_REGION, TARGET_REGION, input, input_with, refresh_local, seed_source,
};
use rds_refresh_test_support::{
    Emulator, create_instance_with, create_snapshot, instance, manual_snapshot_ids, opt_in,
};
use serde_json::json;

/// Every status change takes a few polls, as on AWS.
fn slow_transitions(emulator: &Emulator) {
    emulator.control(
        "transitions",
        json!({
            "snapshot.creating": {"reads": 1},
            "instance.deleting": {"reads": 2},
            "instance.creating": {"reads": 2},
            "instance.modifying": {"reads": 2}
        }),
    );
}

/// `y` with a non-default value for nearly every setting a refresh keeps, and the
/// parameter and option groups it uses.
async fn seed_configured_target(emulator: &Emulator) {
    let client = emulator.client(TARGET_REGION);
    client
        .create_db_parameter_group()
        .db_parameter_group_name("staging-pg16")
        .db_parameter_group_family("postgres16")
        .description("staging")
        .send()
        .await
        .expect("parameter group");
    client
        .create_option_group()
        .option_group_name("staging-options")
        .engine_name("postgres")
        .major_engine_version("16")
        .option_group_description("staging")
        .send()
        .await
        .expect("option group");
    create_instance_with(&client, "y", |b| {
        b.tags(opt_in("us-east-1/x"))
            .db_instance_class("db.r6g.xlarge")
            .vpc_security_group_ids("sg-0aaaaaaaaaaaaaaa1")
            .vpc_security_group_ids("sg-0bbbbbbbbbbbbbbb2")
            .db_parameter_group_name("staging-pg16")
            .option_group_name("staging-options")
            .multi_az(true)
            // gp3 below 400 GiB: RDS refuses Iops and StorageThroughput here, and reports
            // its baseline (3000, 125), which a restore must then not pass back.
            .storage_type("gp3")
            .allocated_storage(100)
            .max_allocated_storage(500)
            .port(5433)
            .enable_iam_database_authentication(true)
            .enable_cloudwatch_logs_exports("postgresql")
            // x has these on: a restore that took them from the snapshot would show.
            .copy_tags_to_snapshot(false)
            .auto_minor_version_upgrade(false)
            .deletion_protection(true)
            .backup_retention_period(9)
            .preferred_backup_window("03:00-03:30")
            .preferred_maintenance_window("sun:05:00-sun:05:30")
            .monitoring_interval(60)
            .monitoring_role_arn("arn:aws:rds_refresh_test_support::iam::123456789012:role/rds-monitoring")
            .enable_performance_insights(true)
            .performance_insights_retention_period(31)
            .ca_certificate_identifier("rds-ca-rsa2048-g1")
            .tags(Tag::builder().key("team").value("analytics").build())
            .tags(Tag::builder().key("cost-centre").value("42").build())
    })
    .await;
}

async fn seed_x(emulator: &Emulator) -> String {
    let newest = seed_source(emulator, "x").await;
    let source = emulator.client(SOURCE_REGION);
    source
        .modify_db_instance()
        .db_instance_identifier("x")
        .copy_tags_to_snapshot(true)
        .auto_minor_version_upgrade(true)
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
    newest
}

async fn configuration(emulator: &Emulator, id: &str) -> TargetConfiguration {
    configuration_of(&instance(&emulator.client(TARGET_REGION), id).await.expect("the instance exists"))
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn y_comes_back_configured_exactly_as_before_in_swap_mode() {
    y_comes_back_configured_exactly_as_before("swap", "WaitBesideConfigured").await;
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn y_comes_back_configured_exactly_as_before_in_replace_mode() {
    y_comes_back_configured_exactly_as_before("replace", "WaitConfigured").await;
}

/// The configuration test in `mode`, whose wait for the configuration is `wait_state`.
async fn y_comes_back_configured_exactly_as_before(mode: &str, wait_state: &str) {
    let emulator = Emulator::start();
    let newest = seed_x(&emulator).await;
    seed_configured_target(&emulator).await;
    let before = configuration(&emulator, "y").await;
    // The emulator reports what was set, so the comparison below means something.
    assert_eq!(before.db_parameter_group_name.as_deref(), Some("staging-pg16"));
    assert_eq!(before.option_group_name.as_deref(), Some("staging-options"));
    assert_eq!(before.vpc_security_group_ids.len(), 2);
    assert_eq!(
        (before.multi_az, before.copy_tags_to_snapshot, before.deletion_protection),
        (Some(true), Some(false), Some(true))
    );
    assert_eq!((before.monitoring_interval, before.performance_insights_enabled), (Some(60), Some(true)));
    assert_eq!(before.tags.len(), 2);
    assert_eq!((before.iops, before.storage_throughput), (Some(3000), Some(125)), "gp3's baseline is reported");
    slow_transitions(&emulator);

    let input = input_with(json!({"mode": mode, "target": {"allowDisableDeletionProtection": true}}));
    let run = refresh_local(&emulator, &input, &[]);
    let output = run.output();

    assert_eq!(output.snapshot.identifier, newest);
    let after = configuration(&emulator, "y").await;
    assert_eq!(after, before);
    assert_eq!(output.configuration.as_ref(), Some(&before));
    // What the restore could not take was applied afterwards, and waited for.
    assert!(run.retries(wait_state, "NotReady") >= 1, "{}", run.stderr);
    // The baseline of a small gp3 volume is not a setting: never passed back.
    for restore in emulator.call_params("RestoreDBInstanceFromDBSnapshot") {
        assert!(restore.get("Iops").is_none() && restore.get("StorageThroughput").is_none(), "{restore}");
        assert_eq!(restore["StorageType"], "gp3");
    }
    for modify in emulator.call_params("ModifyDBInstance") {
        assert!(modify.get("Iops").is_none() && modify.get("StorageThroughput").is_none(), "{modify}");
    }
    let y = instance(&emulator.client(TARGET_REGION), "y").await.unwrap();
    assert_eq!(y.db_instance_status(), Some("available"));
    assert_eq!(y.deletion_protection(), Some(true));
    assert_eq!(tags::to_map(y.tag_list()).get(tags::SNAPSHOT), Some(&newest));
    assert_eq!(tags::to_map(y.tag_list()).get(tags::RESTORING), None);
    // A non-default option group does not cross regions: the copy was told y's.
    let copies = emulator.call_params("CopyDBSnapshot");
    assert_eq!(copies.len(), 1);
    assert_eq!(copies[0]["OptionGroupName"], "staging-options");
    // Tags are copied explicitly, never with CopyTags (which fails on `aws:` tags).
    assert!(copies[0].get("CopyTags").is_none(), "{}", copies[0]);
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn a_protected_target_is_refused_unless_allowed() {
    let emulator = Emulator::start();
    seed_x(&emulator).await;
    seed_configured_target(&emulator).await;
    emulator.clear_calls();

    let run = refresh_local(&emulator, &input("x", "y"), &[]);

    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("error: DeletionProtected"), "{}", run.stderr);
    assert_eq!(emulator.changing_calls(), Vec::<String>::new());
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn overrides_change_the_named_settings_only() {
    let emulator = Emulator::start();
    seed_x(&emulator).await;
    seed_configured_target(&emulator).await;
    let before = configuration(&emulator, "y").await;
    slow_transitions(&emulator);
    let overrides =
        json!({"dbInstanceClass": "db.t4g.medium", "multiAz": false, "tags": {"env": "staging", "cost-centre": null}});

    let input = input_with(json!({"target": {"allowDisableDeletionProtection": true, "overrides": overrides}}));
    refresh_local(&emulator, &input, &[]).output();

    let after = configuration(&emulator, "y").await;
    assert_eq!(after.db_instance_class.as_deref(), Some("db.t4g.medium"));
    assert_eq!(after.multi_az, Some(false));
    assert_eq!(after.tags, BTreeMap::from([("team".into(), "analytics".into()), ("env".into(), "staging".into())]));
    let unchanged = TargetConfiguration {
        db_instance_class: before.db_instance_class.clone(),
        multi_az: before.multi_az,
        tags: before.tags.clone(),
        ..after
    };
    assert_eq!(unchanged, before);
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn an_unknown_override_is_an_input_error_before_any_change() {
    let emulator = Emulator::start();
    seed_x(&emulator).await;
    seed_configured_target(&emulator).await;
    emulator.clear_calls();

    let run = refresh_local(
        &emulator,
        &input_with(json!({"target": {"overrides": {"instanceClass": "db.t4g.medium"}}})),
        &[],
    );

    assert!(
        run.stderr.contains("error: InvalidInput: target.overrides.instanceClass: unknown field"),
        "{}",
        run.stderr
    );
    assert_eq!(emulator.changing_calls(), Vec::<String>::new());
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn a_rerun_after_a_failure_past_the_delete_restores_the_configuration() {
    let emulator = Emulator::start();
    seed_x(&emulator).await;
    seed_configured_target(&emulator).await;
    let before = configuration(&emulator, "y").await;
    slow_transitions(&emulator);
    emulator.control(
        "faults",
        json!({"action": "RestoreDBInstanceFromDBSnapshot", "code": "InsufficientDBInstanceCapacity", "message": "no capacity", "count": 1}),
    );
    // Replace mode: the old y is deleted before the restore.
    let input = input_with(json!({"mode": "replace", "target": {"allowDisableDeletionProtection": true}}));

    let failed = refresh_local(&emulator, &input, &[]);
    assert_eq!(failed.code, Some(1));
    assert!(failed.stderr.contains("error: RdsRequestFailed"), "{}", failed.stderr);
    assert!(failed.stderr.contains("InsufficientDBInstanceCapacity"), "{}", failed.stderr);
    assert!(instance(&emulator.client(TARGET_REGION), "y").await.is_none(), "y was deleted before the failure");

    let rerun = refresh_local(&emulator, &input, &[]);
    let output = rerun.output();

    assert_eq!(configuration(&emulator, "y").await, before);
    assert!(!output.replaced_existing_target);
    assert_eq!(output.copy.origin, CopyOrigin::Reused);
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn an_encrypted_snapshot_needs_a_key_of_the_target_region() {
    let emulator = Emulator::start();
    let source = emulator.client(SOURCE_REGION);
    create_instance_with(&source, "x", |b| b.storage_encrypted(true)).await;
    create_instance_with(&emulator.client(TARGET_REGION), "y", |b| {
        b.db_instance_class("db.t3.medium").tags(opt_in("us-east-1/x"))
    })
    .await;
    let y_before = configuration(&emulator, "y").await;
    emulator.clear_calls();

    let refused = refresh_local(&emulator, &input("x", "y"), &[]);
    assert_eq!(refused.code, Some(1));
    assert!(refused.stderr.contains("error: KmsKeyRequired"), "{}", refused.stderr);
    assert!(refused.stderr.contains("pass copy.kmsKeyId, a KMS key of us-west-2"), "{}", refused.stderr);
    assert_eq!(emulator.changing_calls(), Vec::<String>::new());
    assert_eq!(configuration(&emulator, "y").await, y_before);

    let key = emulator.create_kms_key(TARGET_REGION);
    let output = refresh_local(&emulator, &input_with(json!({"copy": {"kmsKeyId": key}})), &[]).output();

    let copy = emulator
        .client(TARGET_REGION)
        .describe_db_snapshots()
        .db_snapshot_identifier(&output.copy.identifier)
        .send()
        .await
        .unwrap();
    assert_eq!(copy.db_snapshots()[0].kms_key_id(), Some(key.as_str()));
    let y = instance(&emulator.client(TARGET_REGION), "y").await.unwrap();
    assert_eq!(y.storage_encrypted(), Some(true));
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn a_stale_snapshot_fails_early_and_a_named_one_is_used() {
    let emulator = Emulator::start();
    seed_source(&emulator, "x").await;
    create_instance_with(&emulator.client(TARGET_REGION), "y", |b| b.tags(opt_in("us-east-1/x"))).await;
    emulator.clear_calls();

    // The seeded snapshots are days old.
    let stale = refresh_local(&emulator, &input_with(json!({"snapshot": {"maxAgeHours": 1}})), &[]);
    assert_eq!(stale.code, Some(1));
    assert!(stale.stderr.contains("error: SnapshotTooOld"), "{}", stale.stderr);
    assert_eq!(emulator.changing_calls(), Vec::<String>::new());

    let named = refresh_local(
        &emulator,
        &input_with(json!({"snapshot": {"identifier": "x-2026-11-21", "type": "manual"}})),
        &[],
    );
    let output = named.output();
    assert_eq!(
        (output.snapshot.identifier.as_str(), output.snapshot.created_at.as_str()),
        ("x-2026-11-21", "2026-11-21T05:10:00Z")
    );
    let y = instance(&emulator.client(TARGET_REGION), "y").await.unwrap();
    assert_eq!(tags::to_map(y.tag_list()).get(tags::SNAPSHOT).map(String::as_str), Some("x-2026-11-21"));
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn retention_keeps_exactly_the_newest_copies_made_by_rds_refresh() {
    let emulator = Emulator::start();
    seed_source(&emulator, "x").await;
    let target = emulator.client(TARGET_REGION);
    create_instance_with(&target, "y", |b| b.tags(opt_in("us-east-1/x"))).await;
    // Snapshots in the target region that are not y's copies: never touched.
    create_instance_with(&target, "other", |b| b).await;
    create_snapshot(&target, "other", "rds-refresh-not-ours").await;
    create_snapshot(&target, "other", "someone-elses").await;
    let others_before = manual_snapshot_ids(&emulator.client(TARGET_REGION)).await;

    let mut copies = Vec::new();
    let mut deleted = Vec::new();
    for day in 23..=25 {
        let id = format!("x-day{day}");
        create_snapshot(&emulator.client(SOURCE_REGION), "x", &id).await;
        emulator.set_snapshot(SOURCE_REGION, &id, None, Some(&format!("2026-11-{day}T05:10:00Z")));
        let output = refresh_local(&emulator, &input("x", "y"), &[]).output();
        assert_eq!(output.snapshot.identifier, id);
        copies.push(output.copy.identifier);
        deleted.push(output.deleted_copies);
    }

    assert_eq!(deleted, vec![vec![], vec![], vec![copies[0].clone()]]);
    let remaining = manual_snapshot_ids(&emulator.client(TARGET_REGION)).await;
    let own: Vec<&String> = remaining.iter().filter(|id| copies.contains(id)).collect();
    assert_eq!(own, vec![&copies[1], &copies[2]]);
    for other in others_before {
        assert!(remaining.contains(&other), "{other} was deleted");
    }
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn a_snapshot_quota_exceeded_copy_is_retried() {
    let emulator = Emulator::start();
    let newest = seed_source(&emulator, "x").await;
    create_instance_with(&emulator.client(TARGET_REGION), "y", |b| b.tags(opt_in("us-east-1/x"))).await;
    emulator.control(
        "faults",
        json!({"action": "CopyDBSnapshot", "code": "SnapshotQuotaExceeded", "message": "quota", "count": 2}),
    );

    let run = refresh_local(&emulator, &input("x", "y"), &[]);

    assert_eq!(run.output().snapshot.identifier, newest);
    assert_eq!(run.retries("CopySnapshot", "SnapshotQuotaExceeded"), 2, "{}", run.stderr);
}
