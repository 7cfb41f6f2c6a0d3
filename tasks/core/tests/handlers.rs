//! Every task handler against the RDS emulator, through the real aws-sdk-rds.
mod support;

use rds_refresh_core::TaskError;
use rds_refresh_core::model::{CopyOrigin, CopyRef, InstanceRef, RefreshRequest, SnapshotRef};
use rds_refresh_core::tasks::delete_target::DeleteOutcome;
use rds_refresh_core::tasks::*;
use serde_json::json;
use support::{Emulator, create_instance, create_instance_with, create_snapshot, instance, unique};

const SOURCE_REGION: &str = "us-east-1";
const TARGET_REGION: &str = "us-west-2";

fn instance_ref(region: &str, id: &str) -> InstanceRef {
    InstanceRef { region: region.into(), db_instance_identifier: id.into() }
}

fn request(source: &str, target: &str) -> RefreshRequest {
    RefreshRequest { source: instance_ref(SOURCE_REGION, source), target: instance_ref(TARGET_REGION, target) }
}

/// Creates the source `x` and returns its newest available snapshot, as find-snapshot sees it.
async fn source_with_snapshot(emulator: &Emulator) -> (String, SnapshotRef) {
    let x = unique("x");
    create_instance(&emulator.client(SOURCE_REGION), &x).await;
    let snapshot = find_snapshot::handle(emulator.rds(), request(&x, "y")).await.expect("a snapshot");
    (x, snapshot)
}

#[tokio::test]
async fn find_snapshot_picks_the_newest_available_and_never_one_being_created() {
    let emulator = Emulator::shared();
    let client = emulator.client(SOURCE_REGION);
    let x = unique("x");
    create_instance(&client, &x).await;
    for id in ["old", "newest", "still-creating"] {
        create_snapshot(&client, &x, &format!("{x}-{id}")).await;
    }
    let automated = support::snapshot_ids(&client, &x)
        .await
        .into_iter()
        .find(|id| id.starts_with("rds:"))
        .expect("automated snapshot");
    emulator.set_snapshot(SOURCE_REGION, &automated, None, Some("2026-11-21T05:10:00Z"));
    emulator.set_snapshot(SOURCE_REGION, &format!("{x}-old"), None, Some("2026-11-20T05:10:00Z"));
    emulator.set_snapshot(SOURCE_REGION, &format!("{x}-newest"), None, Some("2026-11-22T05:10:00Z"));
    emulator.set_snapshot(SOURCE_REGION, &format!("{x}-still-creating"), Some("creating"), None);

    let snapshot = find_snapshot::handle(emulator.rds(), request(&x, "y")).await.unwrap();

    assert_eq!(snapshot.identifier, format!("{x}-newest"));
    assert_eq!(snapshot.created_at, "2026-11-22T05:10:00Z");
    assert_eq!(snapshot.snapshot_type, "manual");
    assert_eq!(snapshot.region, SOURCE_REGION);
    assert!(snapshot.arn.ends_with(&format!(":snapshot:{x}-newest")), "{}", snapshot.arn);
}

#[tokio::test]
async fn find_snapshot_counts_automated_snapshots() {
    let emulator = Emulator::shared();
    let client = emulator.client(SOURCE_REGION);
    let x = unique("x");
    create_instance(&client, &x).await;
    create_snapshot(&client, &x, &format!("{x}-manual")).await;
    emulator.set_snapshot(SOURCE_REGION, &format!("{x}-manual"), None, Some("2020-01-01T00:00:00Z"));

    let snapshot = find_snapshot::handle(emulator.rds(), request(&x, "y")).await.unwrap();

    assert!(snapshot.identifier.starts_with(&format!("rds:{x}-")), "{}", snapshot.identifier);
    assert_eq!(snapshot.snapshot_type, "automated");
}

#[tokio::test]
async fn find_snapshot_fails_with_snapshot_not_found() {
    let emulator = Emulator::shared();
    let client = emulator.client(SOURCE_REGION);

    let error = find_snapshot::handle(emulator.rds(), request(&unique("never-created"), "y")).await.unwrap_err();
    assert_eq!(error.name(), "SnapshotNotFound");

    // Its only snapshot is still being created.
    let x = unique("x");
    create_instance(&client, &x).await;
    let automated = support::snapshot_ids(&client, &x).await.remove(0);
    emulator.set_snapshot(SOURCE_REGION, &automated, Some("creating"), None);
    let error = find_snapshot::handle(emulator.rds(), request(&x, "y")).await.unwrap_err();
    assert_eq!(error.name(), "SnapshotNotFound");
    assert!(error.to_string().contains("creating"), "{error}");
}

#[tokio::test]
async fn find_snapshot_refuses_invalid_input_naming_the_field() {
    let emulator = Emulator::shared();
    let mut input = request("x", "y");
    input.target.region = "mars-1".into();
    let error = find_snapshot::handle(emulator.rds(), input).await.unwrap_err();
    assert_eq!(error, TaskError::invalid_input("target.region", "must be an AWS region name such as us-east-1"));
}

#[tokio::test]
async fn describe_target_reads_the_configuration_and_reports_a_missing_target() {
    let emulator = Emulator::shared();
    let client = emulator.client(TARGET_REGION);
    let y = unique("y");
    create_instance_with(&client, &y, |b| {
        b.db_instance_class("db.r6g.large")
            .multi_az(true)
            .port(6543)
            .vpc_security_group_ids("sg-0123456789abcdef0")
            .tags(aws_sdk_rds::types::Tag::builder().key("team").value("data").build())
    })
    .await;

    let output =
        describe_target::handle(emulator.rds(), describe_target::Input { target: instance_ref(TARGET_REGION, &y) })
            .await
            .unwrap();

    assert!(output.exists);
    let config = output.configuration.expect("configuration");
    assert_eq!(config.db_instance_class, "db.r6g.large");
    assert!(config.multi_az);
    assert_eq!(config.port, Some(6543));
    assert_eq!(config.vpc_security_group_ids, ["sg-0123456789abcdef0"]);
    assert_eq!(config.tags.get("team").map(String::as_str), Some("data"));

    let missing = describe_target::handle(
        emulator.rds(),
        describe_target::Input { target: instance_ref(TARGET_REGION, &unique("y")) },
    )
    .await
    .unwrap();
    assert_eq!(missing, describe_target::Output { exists: false, status: None, configuration: None });
}

#[tokio::test]
async fn describe_target_refuses_a_target_with_deletion_protection() {
    let emulator = Emulator::shared();
    let y = unique("y");
    create_instance_with(&emulator.client(TARGET_REGION), &y, |b| b.deletion_protection(true)).await;
    let error =
        describe_target::handle(emulator.rds(), describe_target::Input { target: instance_ref(TARGET_REGION, &y) })
            .await
            .unwrap_err();
    assert_eq!(error.name(), "DeletionProtected");
}

#[tokio::test]
async fn a_repeated_copy_reuses_the_first() {
    let emulator = Emulator::shared();
    let (_, snapshot) = source_with_snapshot(emulator).await;
    let input = copy_snapshot::Input { snapshot: snapshot.clone(), target: instance_ref(TARGET_REGION, "y") };

    let first = copy_snapshot::handle(emulator.rds(), input.clone()).await.unwrap();
    let second = copy_snapshot::handle(emulator.rds(), input).await.unwrap();

    assert_eq!(first.origin, CopyOrigin::Copied);
    assert_eq!(second.origin, CopyOrigin::Reused);
    assert_eq!(first.identifier, second.identifier);
    assert_eq!(first.region, TARGET_REGION);
    let target = emulator.client(TARGET_REGION);
    let copies = target.describe_db_snapshots().db_snapshot_identifier(&first.identifier).send().await.unwrap();
    assert_eq!(copies.db_snapshots().len(), 1);
    let tags = target.list_tags_for_resource().resource_name(&first.arn).send().await.unwrap();
    let source_tag = tags.tag_list().iter().find(|t| t.key() == Some(copy_snapshot::SOURCE_SNAPSHOT_TAG));
    assert_eq!(source_tag.and_then(|t| t.value()), Some(snapshot.arn.as_str()));
}

#[tokio::test]
async fn no_copy_is_made_within_one_region() {
    let emulator = Emulator::shared();
    let (_, snapshot) = source_with_snapshot(emulator).await;
    let input = copy_snapshot::Input { snapshot: snapshot.clone(), target: instance_ref(SOURCE_REGION, "y") };
    let copy = copy_snapshot::handle(emulator.rds(), input).await.unwrap();
    assert_eq!(copy.origin, CopyOrigin::SameRegion);
    assert_eq!(copy.identifier, snapshot.identifier);
}

#[tokio::test]
async fn wait_copied_reports_available_not_ready_and_failed() {
    let emulator = Emulator::shared();
    let (_, snapshot) = source_with_snapshot(emulator).await;
    let copy = copy_snapshot::handle(
        emulator.rds(),
        copy_snapshot::Input { snapshot, target: instance_ref(TARGET_REGION, "y") },
    )
    .await
    .unwrap();
    let wait = || wait_copied::handle(emulator.rds(), wait_copied::Input { copy: copy.clone() });

    assert_eq!(wait().await.unwrap().status, "available");
    emulator.set_snapshot(TARGET_REGION, &copy.identifier, Some("creating"), None);
    assert_eq!(wait().await.unwrap_err().name(), "NotReady");
    emulator.set_snapshot(TARGET_REGION, &copy.identifier, Some("failed"), None);
    assert_eq!(wait().await.unwrap_err().name(), "CopyFailed");
}

#[tokio::test]
async fn delete_target_deletes_only_the_target() {
    let emulator = Emulator::shared();
    let client = emulator.client(TARGET_REGION);
    let (y, neighbour) = (unique("y"), unique("y-neighbour"));
    create_instance(&client, &y).await;
    create_instance(&client, &neighbour).await;
    let delete = |id: &str| {
        delete_target::handle(emulator.rds(), delete_target::Input { target: instance_ref(TARGET_REGION, id) })
    };

    assert_eq!(delete(&y).await.unwrap().outcome, DeleteOutcome::Deleted);
    assert!(instance(&client, &y).await.is_none());
    assert!(instance(&client, &neighbour).await.is_some());
    assert_eq!(delete(&y).await.unwrap().outcome, DeleteOutcome::Absent);
}

#[tokio::test]
async fn wait_deleted_on_a_missing_a_deleting_and_a_present_target() {
    let emulator = Emulator::start(); // holds apply to the whole emulator
    let client = emulator.client(TARGET_REGION);
    let wait = |id: String| {
        wait_deleted::handle(emulator.rds(), wait_deleted::Input { target: instance_ref(TARGET_REGION, &id) })
    };

    assert_eq!(wait("y-missing".into()).await.unwrap(), wait_deleted::Output { deleted: true });

    create_instance(&client, "y-present").await;
    assert_eq!(wait("y-present".into()).await.unwrap_err().name(), "TargetExists");

    emulator.control("transitions", json!({"instance.deleting": {"reads": 2}}));
    create_instance(&client, "y-deleting").await;
    client.delete_db_instance().db_instance_identifier("y-deleting").skip_final_snapshot(true).send().await.unwrap();
    assert_eq!(wait("y-deleting".into()).await.unwrap_err().name(), "NotReady");
    assert_eq!(wait("y-deleting".into()).await.unwrap_err().name(), "NotReady");
    assert_eq!(wait("y-deleting".into()).await.unwrap(), wait_deleted::Output { deleted: true });
}

#[tokio::test]
async fn restore_then_wait_available_then_tag() {
    let emulator = Emulator::shared();
    let (x, snapshot) = source_with_snapshot(emulator).await;
    let target = instance_ref(TARGET_REGION, &unique("y"));
    let copy: CopyRef = copy_snapshot::handle(
        emulator.rds(),
        copy_snapshot::Input { snapshot: snapshot.clone(), target: target.clone() },
    )
    .await
    .unwrap();
    let configuration = rds_refresh_core::model::TargetConfiguration {
        db_instance_class: "db.m6g.large".into(),
        port: Some(5433),
        ..Default::default()
    };
    let restore_input =
        restore_target::Input { target: target.clone(), copy: copy.clone(), configuration: Some(configuration) };

    let restored = restore_target::handle(emulator.rds(), restore_input.clone()).await.unwrap();
    assert!(restored.arn.ends_with(&format!(":db:{}", target.db_instance_identifier)), "{}", restored.arn);
    let client = emulator.client(TARGET_REGION);
    let y = instance(&client, &target.db_instance_identifier).await.expect("restored");
    assert_eq!(y.db_instance_class(), Some("db.m6g.large"));

    let again = restore_target::handle(emulator.rds(), restore_input).await.unwrap_err();
    assert_eq!(again.name(), "TargetExists");

    let available =
        wait_available::handle(emulator.rds(), wait_available::Input { target: target.clone() }).await.unwrap();
    assert_eq!(available.endpoint.port, 5433);

    let tag_input = tag_target::Input {
        source: instance_ref(SOURCE_REGION, &x),
        target: target.clone(),
        snapshot: snapshot.clone(),
        copy,
        execution: "arn:aws:states:us-west-2:123456789012:execution:rds-refresh:nightly".into(),
    };
    tag_target::handle(emulator.rds(), tag_input).await.unwrap();
    let tags = client.list_tags_for_resource().resource_name(y.db_instance_arn().unwrap()).send().await.unwrap();
    let tag =
        |key: &str| tags.tag_list().iter().find(|t| t.key() == Some(key)).and_then(|t| t.value()).map(str::to_owned);
    assert_eq!(tag(tag_target::keys::SOURCE), Some(format!("{SOURCE_REGION}/{x}")));
    assert_eq!(tag(tag_target::keys::SNAPSHOT), Some(snapshot.identifier));
    assert_eq!(tag(tag_target::keys::SNAPSHOT_CREATED_AT), Some(snapshot.created_at));
    assert!(tag(tag_target::keys::REFRESHED_AT).is_some_and(|t| t.starts_with("20")));
    assert_eq!(
        tag(tag_target::keys::EXECUTION).as_deref(),
        Some("arn:aws:states:us-west-2:123456789012:execution:rds-refresh:nightly")
    );
}

#[tokio::test]
async fn wait_available_fails_when_the_target_is_missing() {
    let emulator = Emulator::shared();
    let error = wait_available::handle(
        emulator.rds(),
        wait_available::Input { target: instance_ref(TARGET_REGION, &unique("y")) },
    )
    .await
    .unwrap_err();
    assert_eq!(error.name(), "RestoreFailed");
}
