//! Every task handler against the RDS emulator, through the real aws-sdk-rds.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_sdk_rds::primitives::DateTime;
use aws_sdk_rds::types::Tag;
use rds_refresh_core::TaskError;
use rds_refresh_core::lambda::parse_input;
use rds_refresh_core::model::{
    CopyOptions, CopyOrigin, CopyRef, InstanceRef, RefreshRequest, SnapshotRef, TargetConfiguration, TargetSpec,
};
use rds_refresh_core::rds::configuration_of;
use rds_refresh_core::rds::format_time;
use rds_refresh_core::tags;
use rds_refresh_core::tasks::delete_target::DeleteOutcome;
use rds_refresh_core::tasks::describe_target::ConfigurationSource;
use rds_refresh_core::tasks::*;
use rds_refresh_test_support::{
    Emulator, create_instance, create_instance_with, create_snapshot, instance, manual_snapshot_ids, opt_in,
    snapshot_ids, unique,
};
use serde_json::{Value, json};

const SOURCE_REGION: &str = "us-east-1";
const TARGET_REGION: &str = "us-west-2";

fn instance_ref(region: &str, id: &str) -> InstanceRef {
    InstanceRef { region: region.into(), db_instance_identifier: id.into() }
}

/// The execution input refreshing `y` (us-west-2) from `x` (us-east-1), with `extra` fields.
fn request_with(x: &str, y: &str, extra: Value) -> RefreshRequest {
    let mut input = json!({
        "source": {"region": SOURCE_REGION, "dbInstanceIdentifier": x},
        "target": {"region": TARGET_REGION, "dbInstanceIdentifier": y}
    });
    for (key, value) in extra.as_object().unwrap() {
        match (input.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(more)) => existing.extend(more.clone()),
            _ => input[key] = value.clone(),
        }
    }
    parse_input(input).expect("a well-formed request")
}

fn request(x: &str, y: &str) -> RefreshRequest {
    request_with(x, y, json!({}))
}

fn target_spec(y: &str, extra: Value) -> TargetSpec {
    request_with("x", y, json!({"target": extra})).target
}

async fn find(emulator: &Emulator, request: RefreshRequest) -> Result<SnapshotRef, TaskError> {
    find_snapshot::handle(emulator.rds(), request).await
}

/// describe-target's input for `y`, refreshed from us-east-1/x.
fn describe_input(y: &str, extra: Value) -> describe_target::Input {
    describe_target::Input { source: instance_ref(SOURCE_REGION, "x"), target: target_spec(y, extra), snapshot: None }
}

/// Creates the source `x` and returns its newest available snapshot, as find-snapshot sees it.
async fn source_with_snapshot(emulator: &Emulator) -> (String, SnapshotRef) {
    let x = unique("x");
    create_instance(&emulator.client(SOURCE_REGION), &x).await;
    let snapshot = find(emulator, request(&x, "y")).await.expect("a snapshot");
    (x, snapshot)
}

fn copy_input(snapshot: &SnapshotRef, x: &str, target: &InstanceRef) -> copy_snapshot::Input {
    copy_snapshot::Input {
        snapshot: snapshot.clone(),
        source: instance_ref(SOURCE_REGION, x),
        target: target.clone(),
        copy: CopyOptions::default(),
        configuration: None,
    }
}

fn hours_ago(hours: u64) -> String {
    format_time(&DateTime::from(SystemTime::now() - Duration::from_secs(hours * 3600)))
}

async fn tags_of(emulator: &Emulator, region: &str, arn: &str) -> BTreeMap<String, String> {
    let listed = emulator.client(region).list_tags_for_resource().resource_name(arn).send().await.unwrap();
    tags::to_map(listed.tag_list())
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn find_snapshot_picks_the_newest_available_and_never_one_being_created() {
    let emulator = Emulator::shared();
    let client = emulator.client(SOURCE_REGION);
    let x = unique("x");
    create_instance(&client, &x).await;
    for id in ["old", "newest", "still-creating"] {
        create_snapshot(&client, &x, &format!("{x}-{id}")).await;
    }
    let automated =
        snapshot_ids(&client, &x).await.into_iter().find(|id| id.starts_with("rds:")).expect("automated snapshot");
    emulator.set_snapshot(SOURCE_REGION, &automated, None, Some("2026-11-21T05:10:00Z"));
    emulator.set_snapshot(SOURCE_REGION, &format!("{x}-old"), None, Some("2026-11-20T05:10:00Z"));
    emulator.set_snapshot(SOURCE_REGION, &format!("{x}-newest"), None, Some("2026-11-22T05:10:00Z"));
    emulator.set_snapshot(SOURCE_REGION, &format!("{x}-still-creating"), Some("creating"), None);

    let snapshot = find(emulator, request(&x, "y")).await.unwrap();

    assert_eq!(snapshot.identifier, format!("{x}-newest"));
    assert_eq!(snapshot.created_at, "2026-11-22T05:10:00Z");
    assert_eq!(snapshot.snapshot_type, "manual");
    assert_eq!(snapshot.region, SOURCE_REGION);
    assert!(snapshot.arn.ends_with(&format!(":snapshot:{x}-newest")), "{}", snapshot.arn);
}

#[tokio::test]
async fn check_input_returns_the_request_with_its_defaults_or_names_the_bad_field() {
    let checked = check_input::handle(rds_refresh_core::lambda::NoClients, request("x", "y")).await.unwrap();
    assert_eq!(checked.request, request("x", "y"));
    assert_eq!(checked.request.copy.retain, 2);
    assert_eq!(checked.snapshot, None);

    let bad = request_with("x", "y", json!({"target": {"region": "mars-1"}}));
    let error = check_input::handle(rds_refresh_core::lambda::NoClients, bad).await.unwrap_err();
    assert_eq!(error, TaskError::invalid_input("target.region", "must be a known AWS region name such as us-east-1"));
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn find_snapshot_counts_automated_snapshots() {
    let emulator = Emulator::shared();
    let client = emulator.client(SOURCE_REGION);
    let x = unique("x");
    create_instance(&client, &x).await;
    create_snapshot(&client, &x, &format!("{x}-manual")).await;
    emulator.set_snapshot(SOURCE_REGION, &format!("{x}-manual"), None, Some("2020-01-01T00:00:00Z"));

    let snapshot = find(emulator, request(&x, "y")).await.unwrap();

    assert!(snapshot.identifier.starts_with(&format!("rds:{x}-")), "{}", snapshot.identifier);
    assert_eq!(snapshot.snapshot_type, "automated");
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn find_snapshot_filters_by_type_and_takes_a_named_snapshot() {
    let emulator = Emulator::shared();
    let client = emulator.client(SOURCE_REGION);
    let x = unique("x");
    create_instance(&client, &x).await;
    let automated = snapshot_ids(&client, &x).await.remove(0);
    emulator.set_snapshot(SOURCE_REGION, &automated, None, Some("2026-11-23T05:10:00Z"));
    for (id, time) in [("older", "2026-11-20T05:10:00Z"), ("manual", "2026-11-22T05:10:00Z")] {
        create_snapshot(&client, &x, &format!("{x}-{id}")).await;
        emulator.set_snapshot(SOURCE_REGION, &format!("{x}-{id}"), None, Some(time));
    }
    let other = unique("other");
    create_instance(&client, &other).await;
    create_snapshot(&client, &other, &format!("{other}-snap")).await;
    let with = |snapshot: Value| request_with(&x, "y", json!({ "snapshot": snapshot }));

    assert_eq!(find(emulator, with(json!({}))).await.unwrap().identifier, automated);
    assert_eq!(find(emulator, with(json!({"type": "manual"}))).await.unwrap().identifier, format!("{x}-manual"));
    assert_eq!(find(emulator, with(json!({"type": "automated"}))).await.unwrap().identifier, automated);
    let named = find(emulator, with(json!({"identifier": format!("{x}-older")}))).await.unwrap();
    assert_eq!((named.identifier, named.created_at), (format!("{x}-older"), "2026-11-20T05:10:00Z".to_owned()));

    let error = find(emulator, with(json!({"identifier": format!("{other}-snap")}))).await.unwrap_err();
    assert!(matches!(&error, TaskError::InvalidInput { field, .. } if field == "snapshot.identifier"), "{error}");
    let error =
        find(emulator, with(json!({"identifier": format!("{x}-older"), "type": "automated"}))).await.unwrap_err();
    assert!(matches!(&error, TaskError::InvalidInput { field, .. } if field == "snapshot.identifier"), "{error}");
    let error = find(emulator, with(json!({"identifier": format!("{x}-missing")}))).await.unwrap_err();
    assert_eq!(error.name(), "SnapshotNotFound");
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn find_snapshot_fails_with_snapshot_not_found() {
    let emulator = Emulator::shared();
    let client = emulator.client(SOURCE_REGION);

    let error = find(emulator, request(&unique("never-created"), "y")).await.unwrap_err();
    assert_eq!(error.name(), "SnapshotNotFound");

    // Its only snapshot is still being created.
    let x = unique("x");
    create_instance(&client, &x).await;
    let automated = snapshot_ids(&client, &x).await.remove(0);
    emulator.set_snapshot(SOURCE_REGION, &automated, Some("creating"), None);
    let error = find(emulator, request(&x, "y")).await.unwrap_err();
    assert_eq!(error.name(), "SnapshotNotFound");
    assert!(error.to_string().contains("creating"), "{error}");
    // Named, it is not taken either.
    let error =
        find(emulator, request_with(&x, "y", json!({"snapshot": {"identifier": automated}}))).await.unwrap_err();
    assert_eq!(error.name(), "SnapshotNotFound");
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn find_snapshot_refuses_a_snapshot_older_than_the_limit() {
    let emulator = Emulator::shared();
    let client = emulator.client(SOURCE_REGION);
    let x = unique("x");
    create_instance(&client, &x).await;
    let automated = snapshot_ids(&client, &x).await.remove(0);
    let limited = request_with(&x, "y", json!({"snapshot": {"maxAgeHours": 24}}));

    emulator.set_snapshot(SOURCE_REGION, &automated, None, Some(&hours_ago(30)));
    let error = find(emulator, limited.clone()).await.unwrap_err();
    assert_eq!(error.name(), "SnapshotTooOld");
    assert!(error.to_string().contains("maxAgeHours = 24"), "{error}");

    emulator.set_snapshot(SOURCE_REGION, &automated, None, Some(&hours_ago(2)));
    assert_eq!(find(emulator, limited).await.unwrap().identifier, automated);
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn find_snapshot_requires_a_target_region_key_for_an_encrypted_snapshot() {
    let emulator = Emulator::shared();
    let x = unique("x");
    create_instance_with(&emulator.client(SOURCE_REGION), &x, |b| b.storage_encrypted(true)).await;

    let error = find(emulator, request(&x, "y")).await.unwrap_err();
    assert_eq!(error.name(), "KmsKeyRequired");
    assert!(error.to_string().contains("pass copy.kmsKeyId, a KMS key of us-west-2"), "{error}");

    let key = emulator.create_kms_key(TARGET_REGION);
    let snapshot = find(emulator, request_with(&x, "y", json!({"copy": {"kmsKeyId": key}}))).await.unwrap();
    assert!(snapshot.encrypted);
    // No copy, no key needed.
    let same_region = request_with(&x, "y", json!({"target": {"region": SOURCE_REGION}}));
    assert!(find(emulator, same_region).await.unwrap().encrypted);
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn find_snapshot_refuses_invalid_input_naming_the_field() {
    let emulator = Emulator::shared();
    let input = request_with("x", "y", json!({"target": {"region": "mars-1"}}));
    let error = find(emulator, input).await.unwrap_err();
    assert_eq!(error, TaskError::invalid_input("target.region", "must be a known AWS region name such as us-east-1"));
}

/// A target with a little of everything that a restore would not keep by itself.
async fn configured_target(emulator: &Emulator, y: &str) {
    create_instance_with(&emulator.client(TARGET_REGION), y, |b| {
        b.tags(opt_in("us-east-1/x"))
            .db_instance_class("db.r6g.large")
            .multi_az(true)
            .port(6543)
            .vpc_security_group_ids("sg-0123456789abcdef0")
            .preferred_maintenance_window("sun:05:00-sun:05:30")
            .backup_retention_period(9)
            .tags(Tag::builder().key("team").value("data").build())
    })
    .await;
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn describe_target_reads_the_configuration_keeps_it_and_reports_a_missing_target() {
    let emulator = Emulator::shared();
    let y = unique("y");
    configured_target(emulator, &y).await;
    let describe = || describe_target::handle(emulator.clients(), describe_input(&y, json!({})));

    let output = describe().await.unwrap();

    assert!(output.exists);
    assert_eq!(output.configuration_source, ConfigurationSource::Live);
    let config = output.configuration.clone().expect("configuration");
    assert_eq!(config.db_instance_class.as_deref(), Some("db.r6g.large"));
    assert_eq!(config.multi_az, Some(true));
    assert_eq!(config.port, Some(6543));
    assert_eq!(config.vpc_security_group_ids, ["sg-0123456789abcdef0"]);
    assert_eq!(config.preferred_maintenance_window.as_deref(), Some("sun:05:00-sun:05:30"));
    assert_eq!(config.backup_retention_period, Some(9));
    assert_eq!(config.tags, BTreeMap::from([("team".into(), "data".into())]));

    // Once y is gone, the configuration kept in the state table stands in for it.
    emulator
        .client(TARGET_REGION)
        .delete_db_instance()
        .db_instance_identifier(&y)
        .skip_final_snapshot(true)
        .send()
        .await
        .unwrap();
    let after_delete = describe().await.unwrap();
    assert!(!after_delete.exists);
    assert_eq!(after_delete.configuration_source, ConfigurationSource::Stored);
    assert_eq!(after_delete.configuration, output.configuration);
    assert_eq!(after_delete.captured_at, output.captured_at);

    let never =
        describe_target::handle(emulator.clients(), describe_input(&unique("y"), json!({"createIfMissing": true})))
            .await
            .unwrap();
    assert_eq!(
        (never.exists, never.configuration_source, never.configuration),
        (false, ConfigurationSource::None, None)
    );
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn describe_target_prefers_the_kept_configuration_over_an_unfinished_restore() {
    let emulator = Emulator::shared();
    let client = emulator.client(TARGET_REGION);
    let y = unique("y");
    configured_target(emulator, &y).await;
    let describe = || describe_target::handle(emulator.clients(), describe_input(&y, json!({})));
    let before = describe().await.unwrap().configuration;

    // The old y is replaced by a restore that has not been configured yet.
    client.delete_db_instance().db_instance_identifier(&y).skip_final_snapshot(true).send().await.unwrap();
    create_instance_with(&client, &y, |b| {
        b.tags(Tag::builder().key(tags::RESTORING).value("copy").build()).tags(opt_in("us-east-1/x"))
    })
    .await;
    let during = describe().await.unwrap();

    assert_eq!(during.configuration_source, ConfigurationSource::Stored);
    assert_eq!(during.configuration, before);
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn describe_target_applies_the_overrides() {
    let emulator = Emulator::shared();
    let y = unique("y");
    configured_target(emulator, &y).await;
    let overrides = json!({"overrides": {"dbInstanceClass": "db.t4g.medium", "multiAz": false, "tags": {"env": "staging", "team": null}}});

    let output = describe_target::handle(emulator.clients(), describe_input(&y, overrides)).await.unwrap();

    let config = output.configuration.unwrap();
    assert_eq!(config.db_instance_class.as_deref(), Some("db.t4g.medium"));
    assert_eq!(config.multi_az, Some(false));
    assert_eq!(config.port, Some(6543));
    assert_eq!(config.tags, BTreeMap::from([("env".into(), "staging".into())]));
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn describe_target_refuses_deletion_protection_unless_allowed() {
    let emulator = Emulator::shared();
    let y = unique("y");
    create_instance_with(&emulator.client(TARGET_REGION), &y, |b| {
        b.deletion_protection(true).tags(opt_in("us-east-1/x"))
    })
    .await;
    let describe = |extra: Value| describe_target::handle(emulator.clients(), describe_input(&y, extra));

    let error = describe(json!({})).await.unwrap_err();
    assert_eq!(error.name(), "DeletionProtected");
    assert!(error.to_string().contains("target.allowDisableDeletionProtection"), "{error}");
    let allowed = describe(json!({"allowDisableDeletionProtection": true})).await.unwrap();
    assert_eq!(allowed.configuration.unwrap().deletion_protection, Some(true));
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn a_repeated_copy_reuses_the_first_and_is_tagged_as_rds_refreshs() {
    let emulator = Emulator::shared();
    let (x, snapshot) = source_with_snapshot(emulator).await;
    emulator
        .client(SOURCE_REGION)
        .add_tags_to_resource()
        .resource_name(&snapshot.arn)
        .tags(Tag::builder().key("cost-centre").value("42").build())
        .send()
        .await
        .unwrap();
    let input = copy_input(&snapshot, &x, &instance_ref(TARGET_REGION, "y"));

    let first = copy_snapshot::handle(emulator.rds(), input.clone()).await.unwrap();
    let second = copy_snapshot::handle(emulator.rds(), input).await.unwrap();

    assert_eq!(first.origin, CopyOrigin::Copied);
    assert_eq!(second.origin, CopyOrigin::Reused);
    assert_eq!(first.identifier, second.identifier);
    assert_eq!(first.region, TARGET_REGION);
    let target = emulator.client(TARGET_REGION);
    let copies = target.describe_db_snapshots().db_snapshot_identifier(&first.identifier).send().await.unwrap();
    assert_eq!(copies.db_snapshots().len(), 1);
    let copy_tags = tags_of(emulator, TARGET_REGION, &first.arn).await;
    assert_eq!(
        copy_tags,
        BTreeMap::from([
            ("cost-centre".into(), "42".into()),
            (tags::MANAGED_BY.into(), "rds-refresh".into()),
            (tags::KIND.into(), tags::KIND_COPY.into()),
            (tags::SOURCE_SNAPSHOT.into(), snapshot.arn.clone()),
            (tags::SOURCE.into(), format!("{SOURCE_REGION}/{x}")),
            (tags::TARGET.into(), format!("{TARGET_REGION}/y")),
        ])
    );
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn an_encrypted_snapshot_is_copied_with_the_target_region_key() {
    let emulator = Emulator::shared();
    let x = unique("x");
    create_instance_with(&emulator.client(SOURCE_REGION), &x, |b| b.storage_encrypted(true)).await;
    let key = emulator.create_kms_key(TARGET_REGION);
    let request = request_with(&x, "y", json!({"copy": {"kmsKeyId": key}}));
    let found = find(emulator, request.clone()).await.unwrap();
    let mut input = copy_input(&found, &x, &instance_ref(TARGET_REGION, "y"));
    input.copy = request.copy;

    let copy = copy_snapshot::handle(emulator.rds(), input).await.unwrap();

    let copies = emulator
        .client(TARGET_REGION)
        .describe_db_snapshots()
        .db_snapshot_identifier(&copy.identifier)
        .send()
        .await
        .unwrap();
    assert_eq!(copies.db_snapshots()[0].kms_key_id(), Some(key.as_str()));
    assert_eq!(copies.db_snapshots()[0].encrypted(), Some(true));
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn no_copy_is_made_within_one_region() {
    let emulator = Emulator::shared();
    let (x, snapshot) = source_with_snapshot(emulator).await;
    let copy = copy_snapshot::handle(emulator.rds(), copy_input(&snapshot, &x, &instance_ref(SOURCE_REGION, "y")))
        .await
        .unwrap();
    assert_eq!(copy.origin, CopyOrigin::SameRegion);
    assert_eq!(copy.identifier, snapshot.identifier);
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn wait_copied_reports_available_not_ready_and_failed() {
    let emulator = Emulator::shared();
    let (x, snapshot) = source_with_snapshot(emulator).await;
    let copy = copy_snapshot::handle(emulator.rds(), copy_input(&snapshot, &x, &instance_ref(TARGET_REGION, "y")))
        .await
        .unwrap();
    let wait = || wait_copied::handle(emulator.rds(), wait_copied::Input { copy: copy.clone() });

    assert_eq!(wait().await.unwrap().status, "available");
    emulator.set_snapshot(TARGET_REGION, &copy.identifier, Some("creating"), None);
    assert_eq!(wait().await.unwrap_err().name(), "NotReady");
    emulator.set_snapshot(TARGET_REGION, &copy.identifier, Some("failed"), None);
    assert_eq!(wait().await.unwrap_err().name(), "CopyFailed");
}

fn delete_input(id: &str, allow_disable_deletion_protection: bool) -> delete_target::Input {
    delete_target::Input {
        source: instance_ref(SOURCE_REGION, "x"),
        target: instance_ref(TARGET_REGION, id),
        copy: CopyRef {
            identifier: "rds-refresh-copy".into(),
            arn: String::new(),
            region: TARGET_REGION.into(),
            origin: CopyOrigin::Copied,
        },
        allow_disable_deletion_protection,
        final_snapshot: false,
        sql_runs: false,
        execution: "arn:aws:states:us-west-2:123456789012:execution:rds-refresh:test".into(),
    }
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn delete_target_deletes_only_the_target() {
    let emulator = Emulator::shared();
    let client = emulator.client(TARGET_REGION);
    let (y, neighbour) = (unique("y"), unique("y-neighbour"));
    create_instance_with(&client, &y, |b| b.tags(opt_in("us-east-1/x"))).await;
    create_instance_with(&client, &neighbour, |b| b.tags(opt_in("us-east-1/x"))).await;
    let delete = |id: &str| delete_target::handle(emulator.rds(), delete_input(id, false));

    assert_eq!(delete(&y).await.unwrap().outcome, DeleteOutcome::Deleted);
    assert!(instance(&client, &y).await.is_none());
    assert!(instance(&client, &neighbour).await.is_some());
    assert_eq!(delete(&y).await.unwrap().outcome, DeleteOutcome::Absent);
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn delete_target_turns_deletion_protection_off_only_when_allowed() {
    let emulator = Emulator::shared();
    let client = emulator.client(TARGET_REGION);
    let y = unique("y");
    create_instance_with(&client, &y, |b| b.deletion_protection(true).tags(opt_in("us-east-1/x"))).await;

    let refused = delete_target::handle(emulator.rds(), delete_input(&y, false)).await.unwrap_err();
    assert_eq!(refused.name(), "DeletionProtected");
    assert_eq!(instance(&client, &y).await.and_then(|i| i.deletion_protection()), Some(true));

    let deleted = delete_target::handle(emulator.rds(), delete_input(&y, true)).await.unwrap();
    assert_eq!(deleted.outcome, DeleteOutcome::Deleted);
    assert!(instance(&client, &y).await.is_none());
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn wait_deleted_on_a_missing_a_deleting_and_a_present_target() {
    let emulator = Emulator::start(); // holds apply to the whole emulator
    let client = emulator.client(TARGET_REGION);
    let wait_since = |id: String, started: Option<&str>| {
        wait_deleted::handle(
            emulator.rds(),
            wait_deleted::Input {
                target: instance_ref(TARGET_REGION, &id),
                final_snapshot: None,
                deletion_started_at: started.map(str::to_owned),
            },
        )
    };
    let wait = |id: String| wait_since(id, None);

    assert_eq!(wait("y-missing".into()).await.unwrap(), wait_deleted::Output { deleted: true });

    // Right after a delete, a describe may still say `available` (or `delete-precheck`):
    // not gone yet, not an error. An instance created after the deletion started is another.
    create_instance(&client, "y-present").await;
    assert_eq!(wait("y-present".into()).await.unwrap_err().name(), "NotReady");
    assert_eq!(wait_since("y-present".into(), Some("2100-01-01T00:00:00Z")).await.unwrap_err().name(), "NotReady");
    let recreated = wait_since("y-present".into(), Some("2000-01-01T00:00:00Z")).await.unwrap_err();
    assert_eq!(recreated.name(), "TargetExists", "{recreated}");

    emulator.control("transitions", json!({"instance.deleting": {"reads": 2}}));
    create_instance(&client, "y-deleting").await;
    client.delete_db_instance().db_instance_identifier("y-deleting").skip_final_snapshot(true).send().await.unwrap();
    assert_eq!(wait("y-deleting".into()).await.unwrap_err().name(), "NotReady");
    assert_eq!(wait("y-deleting".into()).await.unwrap_err().name(), "NotReady");
    assert_eq!(wait("y-deleting".into()).await.unwrap(), wait_deleted::Output { deleted: true });
}

/// The configuration a refreshed `y` is given in the restore tests: some settings the
/// restore takes, some only ModifyDBInstance does.
fn wanted_configuration() -> TargetConfiguration {
    TargetConfiguration {
        db_instance_class: Some("db.m6g.large".into()),
        port: Some(5433),
        multi_az: Some(false),
        backup_retention_period: Some(5),
        preferred_maintenance_window: Some("sat:03:00-sat:03:30".into()),
        max_allocated_storage: Some(400),
        auto_minor_version_upgrade: Some(false),
        monitoring_interval: Some(60),
        monitoring_role_arn: Some("arn:aws:rds_refresh_test_support::iam::123456789012:role/rds-monitoring".into()),
        performance_insights_enabled: Some(true),
        performance_insights_retention_period: Some(7),
        enabled_cloudwatch_logs_exports: Some(vec!["postgresql".into()]),
        tags: BTreeMap::from([("team".into(), "data".into())]),
        ..Default::default()
    }
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn restore_configure_wait_and_tag_give_the_target_its_whole_configuration() {
    let emulator = Emulator::shared();
    let client = emulator.client(TARGET_REGION);
    let (x, snapshot) = source_with_snapshot(emulator).await;
    let target = instance_ref(TARGET_REGION, &unique("y"));
    let copy: CopyRef = copy_snapshot::handle(emulator.rds(), copy_input(&snapshot, &x, &target)).await.unwrap();
    let wanted = wanted_configuration();
    let restore_input = restore_target::Input {
        source: instance_ref(SOURCE_REGION, &x),
        target: target.clone(),
        restore_as: None,
        copy: copy.clone(),
        configuration: Some(wanted.clone()),
        execution: None,
        sql_runs: false,
    };

    let restored = restore_target::handle(emulator.rds(), restore_input.clone()).await.unwrap();
    assert!(restored.arn.ends_with(&format!(":db:{}", target.db_instance_identifier)), "{}", restored.arn);
    let y = instance(&client, &target.db_instance_identifier).await.expect("restored");
    assert_eq!(y.db_instance_class(), Some("db.m6g.large"));
    assert_eq!(tags::to_map(y.tag_list()).get(tags::RESTORING), Some(&copy.identifier));
    // Called again (a retried call, a re-run), it goes on with the restore it made; over
    // any other instance it refuses.
    let again = restore_target::handle(emulator.rds(), restore_input.clone()).await.unwrap();
    assert_eq!(again.arn, restored.arn);
    let other_copy = CopyRef { identifier: "rds-refresh-other".into(), ..copy.clone() };
    let over =
        restore_target::handle(emulator.rds(), restore_target::Input { copy: other_copy, ..restore_input }).await;
    assert_eq!(over.unwrap_err().name(), "TargetExists");

    // Available, but not yet configured: waiting with the configuration says what is missing.
    let plain_wait = wait_available::handle(
        emulator.rds(),
        wait_available::Input {
            target: target.clone(),
            configuration: None,
            appearing: false,
            downtime_started_at: None,
        },
    );
    assert_eq!(plain_wait.await.unwrap().endpoint.port, 5433);
    let configured_wait = || {
        wait_available::handle(
            emulator.rds(),
            wait_available::Input {
                target: target.clone(),
                configuration: Some(wanted.clone()),
                appearing: false,
                downtime_started_at: None,
            },
        )
    };
    let not_yet = configured_wait().await.unwrap_err();
    assert_eq!(not_yet.name(), "NotReady");
    assert!(not_yet.to_string().contains("preferredMaintenanceWindow"), "{not_yet}");

    let configured = configure_target::handle(
        emulator.rds(),
        configure_target::Input { target: target.clone(), configuration: Some(wanted.clone()) },
    )
    .await
    .unwrap();
    assert!(configured.modified.contains(&"preferredMaintenanceWindow".to_owned()), "{configured:?}");
    assert!(configured.modified.contains(&"performanceInsightsEnabled".to_owned()), "{configured:?}");
    assert_eq!(configured_wait().await.unwrap().endpoint.port, 5433);
    let y = instance(&client, &target.db_instance_identifier).await.unwrap();
    assert_eq!(wanted.differences(&configuration_of(&y)), vec![]);
    assert_eq!(y.monitoring_interval(), Some(60));
    assert_eq!(y.performance_insights_enabled(), Some(true));

    let tag_input = tag_target::Input {
        source: instance_ref(SOURCE_REGION, &x),
        target: target.clone(),
        snapshot: snapshot.clone(),
        copy,
        execution: "arn:aws:states:us-west-2:123456789012:execution:rds-refresh:nightly".into(),
    };
    tag_target::handle(emulator.rds(), tag_input).await.unwrap();
    let tags = tags_of(emulator, TARGET_REGION, y.db_instance_arn().unwrap()).await;
    assert_eq!(tags.get(tags::SOURCE), Some(&format!("{SOURCE_REGION}/{x}")));
    assert_eq!(tags.get(tags::SNAPSHOT), Some(&tags::snapshot_id_value(&snapshot.identifier)));
    assert_eq!(tags.get(tags::SNAPSHOT_CREATED_AT), Some(&snapshot.created_at));
    assert!(tags.get(tags::REFRESHED_AT).is_some_and(|t| t.starts_with("20")));
    assert_eq!(
        tags.get(tags::EXECUTION).map(String::as_str),
        Some("arn:aws:states:us-west-2:123456789012:execution:rds-refresh:nightly")
    );
    assert_eq!(tags.get(tags::RESTORING), None, "the refresh is finished");
    assert_eq!(tags.get("team").map(String::as_str), Some("data"));
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn wait_available_fails_when_the_target_is_missing() {
    let emulator = Emulator::shared();
    let error = wait_available::handle(
        emulator.rds(),
        wait_available::Input {
            target: instance_ref(TARGET_REGION, &unique("y")),
            configuration: None,
            appearing: false,
            downtime_started_at: None,
        },
    )
    .await
    .unwrap_err();
    assert_eq!(error.name(), "RestoreFailed");
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn prune_copies_keeps_the_newest_own_copies_and_nothing_else() {
    let emulator = Emulator::shared();
    let source = emulator.client(SOURCE_REGION);
    let target_client = emulator.client(TARGET_REGION);
    let x = unique("x");
    create_instance(&source, &x).await;
    let y = instance_ref(TARGET_REGION, &unique("y"));
    let other_target = instance_ref(TARGET_REGION, &unique("z"));
    // Four snapshots of x, each copied for y; the oldest also for another target.
    let mut copies = Vec::new();
    for day in 1..=4 {
        let id = format!("{x}-day{day}");
        create_snapshot(&source, &x, &id).await;
        emulator.set_snapshot(SOURCE_REGION, &id, None, Some(&format!("2026-11-0{day}T05:00:00Z")));
        let snapshot = find(emulator, request_with(&x, "y", json!({"snapshot": {"identifier": id}}))).await.unwrap();
        copies.push(copy_snapshot::handle(emulator.rds(), copy_input(&snapshot, &x, &y)).await.unwrap().identifier);
        if day == 1 {
            copy_snapshot::handle(emulator.rds(), copy_input(&snapshot, &x, &other_target)).await.unwrap();
        }
    }
    // Someone else's manual snapshot with rds-refresh's prefix but not its tags.
    let lookalike = unique("rds-refresh-lookalike");
    create_instance(&target_client, &y.db_instance_identifier).await;
    create_snapshot(&target_client, &y.db_instance_identifier, &lookalike).await;
    // Manual ones only: other tests, sharing the emulator, delete automated ones with their instances.
    let before = manual_snapshot_ids(&target_client).await;

    let output = prune_copies::handle(
        emulator.rds(),
        prune_copies::Input {
            source: instance_ref(SOURCE_REGION, &x),
            target: y.clone(),
            copy: CopyRef {
                identifier: copies[3].clone(),
                arn: String::new(),
                region: TARGET_REGION.into(),
                origin: CopyOrigin::Copied,
            },
            retain: 2,
            swap: None,
        },
    )
    .await
    .unwrap();

    assert_eq!(output.kept, vec![copies[3].clone(), copies[2].clone()]);
    assert_eq!(output.deleted, vec![copies[1].clone(), copies[0].clone()]);
    let after = manual_snapshot_ids(&target_client).await;
    let gone: Vec<String> = before.iter().filter(|id| !after.contains(id)).cloned().collect();
    let mut expected = vec![copies[0].clone(), copies[1].clone()];
    expected.sort();
    assert_eq!(gone, expected, "only y's two oldest copies are deleted");
    assert!(after.contains(&lookalike));
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn describe_target_refuses_a_target_that_has_not_opted_in_to_this_source() {
    let emulator = Emulator::shared();
    let client = emulator.client(TARGET_REGION);
    let (untagged, other_source) = (unique("y"), unique("y"));
    create_instance(&client, &untagged).await;
    create_instance_with(&client, &other_source, |b| b.tags(opt_in("us-east-1/z"))).await;

    let error = describe_target::handle(emulator.clients(), describe_input(&untagged, json!({}))).await.unwrap_err();
    assert_eq!(error.name(), "TargetNotOptedIn");
    assert!(error.to_string().contains("tag it rds-refresh:source = us-east-1/x"), "{error}");
    let error =
        describe_target::handle(emulator.clients(), describe_input(&other_source, json!({}))).await.unwrap_err();
    assert_eq!(error.name(), "TargetNotOptedIn");
    assert!(error.to_string().contains("names us-east-1/z"), "{error}");
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn a_missing_target_needs_create_if_missing_unless_its_configuration_is_kept() {
    let emulator = Emulator::shared();
    let y = unique("y");
    let error = describe_target::handle(emulator.clients(), describe_input(&y, json!({}))).await.unwrap_err();
    assert_eq!(error.name(), "TargetNotFound");

    // Seen once (and kept), then deleted: a re-run, not a first run.
    let client = emulator.client(TARGET_REGION);
    create_instance_with(&client, &y, |b| b.tags(opt_in("us-east-1/x"))).await;
    describe_target::handle(emulator.clients(), describe_input(&y, json!({}))).await.unwrap();
    client.delete_db_instance().db_instance_identifier(&y).skip_final_snapshot(true).send().await.unwrap();
    let rerun = describe_target::handle(emulator.clients(), describe_input(&y, json!({}))).await.unwrap();
    assert_eq!(rerun.configuration_source, ConfigurationSource::Stored);

    // But not for another source.
    let other = describe_target::Input {
        source: instance_ref(SOURCE_REGION, "z"),
        target: target_spec(&y, json!({})),
        snapshot: None,
    };
    assert_eq!(describe_target::handle(emulator.clients(), other).await.unwrap_err().name(), "TargetNotOptedIn");
}

fn lock_input(y: &str, execution: &str, action: lock_target::LockAction) -> lock_target::Input {
    lock_target::Input { target: instance_ref(TARGET_REGION, y), execution: execution.into(), action }
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn the_lock_admits_one_execution_per_target_and_expires() {
    use lock_target::LockAction::{Acquire, Release};
    let emulator = Emulator::shared();
    let state = emulator.clients().state;
    let clients = emulator.with_executions(state.clone());
    let (y, other_y) = (unique("y"), unique("y"));
    let lock =
        |y: &str, execution: &str, action| lock_target::handle(clients.clone(), lock_input(y, execution, action));

    assert!(lock(&y, "exec-a", Acquire).await.unwrap().held);
    assert!(lock(&y, "exec-a", Acquire).await.unwrap().held, "its owner may take it again");
    assert!(lock(&other_y, "exec-b", Acquire).await.unwrap().held, "another target is free");
    let refused = lock(&y, "exec-b", Acquire).await.unwrap_err();
    assert_eq!(refused.name(), "TargetLocked");
    assert!(refused.to_string().contains("exec-a"), "{refused}");

    lock(&y, "exec-b", Release).await.unwrap();
    assert_eq!(lock(&y, "exec-c", Acquire).await.unwrap_err().name(), "TargetLocked", "only its owner releases it");
    lock(&y, "exec-a", Release).await.unwrap();
    assert!(lock(&y, "exec-b", Acquire).await.unwrap().held);

    // A lock its execution never released expires.
    let target = instance_ref(TARGET_REGION, &unique("y"));
    let now = rds_refresh_core::state::now_secs();
    state.acquire_lock(&target, "crashed", now - 100, 60).await.unwrap().unwrap();
    assert_eq!(state.acquire_lock(&target, "next", now, 60).await.unwrap().unwrap().owner, "next");
}

/// A lock is taken over only from an execution Step Functions says has ended; one that runs,
/// or cannot be described, keeps it.
#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn the_lock_of_an_ended_execution_is_taken_over_and_a_running_ones_is_not() {
    use lock_target::LockAction::Acquire;
    let emulator = Emulator::shared();
    let clients = emulator.with_executions(emulator.clients().state);
    let y = unique("y");
    let lock = |execution: &str| lock_target::handle(clients.clone(), lock_input(&y, execution, Acquire));
    let holder = emulator.start_execution(TARGET_REGION, "refresh", &unique("run")).await;
    let next = emulator.start_execution(TARGET_REGION, "refresh", &unique("run")).await;

    assert_eq!(lock(&holder).await.unwrap().taken_over_from, None);
    let refused = lock(&next).await.unwrap_err();
    assert_eq!(refused.name(), "TargetLocked", "a running holder keeps its lock");
    assert!(refused.to_string().contains(&holder), "{refused}");

    emulator.report_execution(&holder, "ABORTED");
    let taken = lock(&next).await.unwrap();
    assert!(taken.held);
    assert_eq!(
        taken.taken_over_from,
        Some(rds_refresh_core::model::TakenOver { execution: holder.clone(), status: "ABORTED".into() })
    );
    let target = instance_ref(TARGET_REGION, &y);
    assert_eq!(clients.clients.current_lock(&target).await.unwrap().unwrap().owner, next);
    // The ended one cannot take it back.
    assert_eq!(lock(&holder).await.unwrap_err().name(), "TargetLocked");

    // A holder Step Functions does not know keeps the expiry rule.
    let other = unique("y");
    let unknown = |execution: &str| lock_target::handle(clients.clone(), lock_input(&other, execution, Acquire));
    unknown("local-run-without-arn").await.unwrap();
    let refused = unknown(&next).await.unwrap_err();
    assert_eq!(refused.name(), "TargetLocked");
    assert!(refused.to_string().contains("whether it still runs is unknown"), "{refused}");
}

/// The repair renames a stopped swap's old target back, but never while another execution
/// that may still run holds the target's lock.
#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn the_repair_renames_back_only_when_no_running_execution_holds_the_lock() {
    use lock_target::LockAction::Acquire;
    let emulator = Emulator::shared();
    let client = emulator.client(TARGET_REGION);
    let y = unique("y");
    let (_, retired) = rds_refresh_core::identifiers::swap_identifiers(&y, "arn:aws:rds:us-east-1:1:snapshot:s");
    create_instance_with(&client, &retired, |b| b.tags(opt_in("us-east-1/x"))).await;
    let stopped = emulator.start_execution(TARGET_REGION, "refresh", &unique("run")).await;
    emulator.report_execution(&stopped, "ABORTED");
    let request = json!({
        "source": {"region": SOURCE_REGION, "dbInstanceIdentifier": "x"},
        "target": {"region": TARGET_REGION, "dbInstanceIdentifier": y}
    });
    let event = || repair_execution::Input {
        detail: repair_execution::StatusChange {
            execution_arn: stopped.clone(),
            name: "nightly".into(),
            status: "ABORTED".into(),
            input: Some(request.to_string()),
        },
    };
    let clients = emulator.with_executions(emulator.clients());
    // Another execution, still running, took the lock over meanwhile: it acts, not the repair.
    let running = emulator.start_execution(TARGET_REGION, "refresh", &unique("run")).await;
    let locks = emulator.with_executions(emulator.clients().state);
    lock_target::handle(locks.clone(), lock_input(&y, &running, Acquire)).await.unwrap();

    let output = repair_execution::handle(clients.clone(), event()).await.unwrap();
    assert_eq!(output.repair, rds_refresh_core::decisions::repair::Repair::HandsOff { holder: running.clone() });
    assert!(!output.lock_released);
    assert!(instance(&client, &retired).await.is_some(), "nothing was renamed");

    // Once that one has ended too, the repair renames the old target back.
    emulator.report_execution(&running, "SUCCEEDED");
    let output = repair_execution::handle(clients, event()).await.unwrap();
    assert_eq!(
        output.repair,
        rds_refresh_core::decisions::repair::Repair::RenameBack { retired: retired.clone(), temporaries: vec![] }
    );
    assert!(output.wait_for_target);
    assert!(!output.lock_released, "the lock was not the stopped execution's");
    assert_eq!(output.rerun, None);
    assert!(instance(&client, &y).await.is_some(), "the old target has its name back");
    assert!(instance(&client, &retired).await.is_none());
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn delete_target_keeps_a_restore_from_this_copy_and_refuses_a_target_that_has_not_opted_in() {
    let emulator = Emulator::shared();
    let client = emulator.client(TARGET_REGION);
    let (restored, foreign) = (unique("y"), unique("y"));
    create_instance_with(&client, &restored, |b| {
        b.tags(opt_in("us-east-1/x")).tags(Tag::builder().key(tags::RESTORING).value("rds-refresh-copy").build())
    })
    .await;
    create_instance(&client, &foreign).await;

    let kept = delete_target::handle(emulator.rds(), delete_input(&restored, false)).await.unwrap();
    assert_eq!(kept.outcome, DeleteOutcome::AlreadyRestored);
    assert!(instance(&client, &restored).await.is_some());

    let refused = delete_target::handle(emulator.rds(), delete_input(&foreign, false)).await.unwrap_err();
    assert_eq!(refused.name(), "TargetNotOptedIn");
    assert!(instance(&client, &foreign).await.is_some());
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn delete_target_takes_a_tagged_final_snapshot_when_asked() {
    let emulator = Emulator::shared();
    let client = emulator.client(TARGET_REGION);
    let y = unique("y");
    create_instance_with(&client, &y, |b| b.tags(opt_in("us-east-1/x"))).await;

    let output =
        delete_target::handle(emulator.rds(), delete_target::Input { final_snapshot: true, ..delete_input(&y, false) })
            .await
            .unwrap();

    let final_snapshot = output.final_snapshot.expect("a final snapshot");
    assert!(final_snapshot.starts_with(&format!("rds-refresh-final-{y}-")), "{final_snapshot}");
    let snapshots = client.describe_db_snapshots().db_snapshot_identifier(&final_snapshot).send().await.unwrap();
    let snapshot = &snapshots.db_snapshots()[0];
    assert_eq!(snapshot.db_instance_identifier(), Some(y.as_str()));
    let tags = tags_of(emulator, TARGET_REGION, snapshot.db_snapshot_arn().unwrap()).await;
    assert_eq!(tags.get(tags::KIND).map(String::as_str), Some(tags::KIND_FINAL_SNAPSHOT));
    assert_eq!(tags.get(tags::MANAGED_BY).map(String::as_str), Some("rds-refresh"));
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn plan_refresh_reports_the_plan_and_the_refusals_and_changes_nothing() {
    let emulator = Emulator::start(); // counts the calls of this test only
    let client = emulator.client(TARGET_REGION);
    let (x, snapshot) = source_with_snapshot(&emulator).await;
    create_instance_with(&client, "y", |b| {
        b.tags(opt_in(&format!("{SOURCE_REGION}/{x}"))).multi_az(true).deletion_protection(true)
    })
    .await;
    let plan = |extra: Value| {
        let request = request_with(&x, "y", extra);
        plan_refresh::handle(
            emulator.with_executions(emulator.with_secrets(emulator.with_scripts(emulator.clients()))),
            plan_refresh::Input { request, execution: "exec".into() },
        )
    };
    emulator.clear_calls();

    let refused = plan(json!({})).await.unwrap();
    assert!(!refused.would_refresh);
    assert_eq!(refused.refusals.iter().map(|r| r.error.as_str()).collect::<Vec<_>>(), ["DeletionProtected"]);
    assert_eq!(refused.snapshot.as_ref(), Some(&snapshot));

    let planned =
        plan(json!({"target": {"allowDisableDeletionProtection": true, "finalSnapshot": true}})).await.unwrap();
    assert!(planned.would_refresh, "{planned:?}");
    assert_eq!(planned.copy.as_ref().map(|c| c.action.as_str()), Some("copy"));
    assert_eq!(planned.configuration.as_ref().and_then(|c| c.multi_az), Some(true));
    assert_eq!(planned.would_delete.instance, Some(instance_ref(TARGET_REGION, "y")));
    assert!(planned.would_delete.final_snapshot.is_some());

    assert_eq!(emulator.changing_calls(), Vec::<String>::new());
    assert_eq!(emulator.clients().state.stored_configuration(&instance_ref(TARGET_REGION, "y")).await.unwrap(), None);
}
