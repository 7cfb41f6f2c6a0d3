//! Task handlers against the SDK's own mocks (`aws-smithy-mocks`): every RDS call is answered
//! in process by a rule, through the real aws-sdk-rds client (its serialisation, error
//! parsing and retries), with no emulator, so these run in a plain `cargo test`.
//!
//! They cover what a handler makes of RDS's answers, where an emulator adds nothing:
//! polling (`NotReady` while a status passes by itself, the output once it is reached, the
//! named failure when it never will), error answers mapped to names through real handlers
//! (throttling and 5xx after the SDK's own retries, `InvalidDBInstanceState`, the snapshot
//! quota, anything else), and where `DBInstanceNotFound` means "gone" and where it is an error.
//!
//! The emulator suite (handlers.rs and the other `#[ignore]`d tests) still exists for what
//! canned answers cannot show: whole refreshes through the state machine, one call's effect on
//! the next, and the AWS rules the emulator models (a rename onto a name in use is refused, a
//! deleted instance leaves a final snapshot, ...). An answer written here is only what we
//! believe RDS says to one call; the emulator keeps state and enforces those rules across calls.
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_sdk_rds::Client;
use aws_sdk_rds::config::http::HttpResponse;
use aws_sdk_rds::config::retry::{RetryConfig, RetryPartition};
use aws_sdk_rds::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_rds::operation::add_tags_to_resource::AddTagsToResourceOutput;
use aws_sdk_rds::operation::copy_db_snapshot::CopyDbSnapshotOutput;
use aws_sdk_rds::operation::describe_db_instances::{
    DescribeDBInstancesError, DescribeDbInstancesInput, DescribeDbInstancesOutput,
};
use aws_sdk_rds::operation::describe_db_snapshots::{
    DescribeDBSnapshotsError, DescribeDbSnapshotsInput, DescribeDbSnapshotsOutput,
};
use aws_sdk_rds::operation::list_tags_for_resource::ListTagsForResourceOutput;
use aws_sdk_rds::operation::modify_db_instance::{
    ModifyDBInstanceError, ModifyDbInstanceInput, ModifyDbInstanceOutput,
};
use aws_sdk_rds::primitives::{DateTime, DateTimeFormat};
use aws_sdk_rds::types::{DbInstance, DbSnapshot, PendingModifiedValues, Tag};
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleBuilder, RuleMode, create_mock_http_client, mock};
use aws_smithy_types::body::SdkBody;
use rds_refresh_core::TaskError;
use rds_refresh_core::identifiers::copy_identifier;
use rds_refresh_core::model::{
    CopyOptions, CopyOrigin, CopyRef, Endpoint, InstanceRef, SnapshotRef, TargetConfiguration,
};
use rds_refresh_core::rds::{Rds, format_time};
use rds_refresh_core::regional::Regional;
use rds_refresh_core::tags;
use rds_refresh_core::tasks::{copy_snapshot, rename_target, wait_available, wait_copied, wait_deleted};

pub(crate) const REGION: &str = "us-west-2";
const SOURCE_REGION: &str = "us-east-1";
pub(crate) const ADDRESS: &str = "y.mocked.us-west-2.rds.amazonaws.com";

/// An RDS client of `region` whose calls `rules` answer: the first rule that matches and has
/// answers left; a call no rule answers panics. The SDK's standard retries (3 attempts) are
/// kept, without their backoff sleeps, and with a retry quota of the client's own (the
/// default one is shared by every client of the process, so by tests running in parallel).
pub(crate) fn client(region: &str, rules: &[&Rule]) -> Client {
    let interceptor =
        rules.iter().fold(MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny), |interceptor, rule| {
            interceptor.with_rule(rule)
        });
    let config = aws_sdk_rds::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new("AKIDMOCKED", "mocked", None, None, "mocked"))
        .retry_config(RetryConfig::standard().with_max_backoff(Duration::ZERO))
        .retry_partition(RetryPartition::custom("mocked").build())
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        .build();
    Client::from_conf(config)
}

/// `Rds` with one mocked client per region given; any other region panics.
pub(crate) fn rds(regions: &[(&str, &[&Rule])]) -> Rds {
    Rds::from_regional(Regional::prepared(
        regions.iter().map(|(region, rules)| ((*region).to_owned(), client(region, rules))),
    ))
}

/// `Rds` for the target region only.
pub(crate) fn rds_in_region(rules: &[&Rule]) -> Rds {
    rds(&[(REGION, rules)])
}

/// An RDS error answer, as RDS sends it (the query protocol's XML error document).
pub(crate) fn error_answer(status: u16, code: &str, message: &str) -> HttpResponse {
    let body = format!(
        "<ErrorResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\"><Error><Type>Sender</Type>\
         <Code>{code}</Code><Message>{message}</Message></Error><RequestId>mocked</RequestId></ErrorResponse>"
    );
    HttpResponse::new(status.try_into().expect("an HTTP status"), SdkBody::from(body))
}

fn instance_not_found(id: &str) -> HttpResponse {
    error_answer(404, "DBInstanceNotFound", &format!("DBInstance {id} not found."))
}

pub(crate) fn instance_ref(id: &str) -> InstanceRef {
    InstanceRef { region: REGION.into(), db_instance_identifier: id.into() }
}

fn source_ref() -> InstanceRef {
    InstanceRef { region: SOURCE_REGION.into(), db_instance_identifier: "x".into() }
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

/// Instance `id` in `status`, listening on [`ADDRESS`]:5432, opted in to refreshes from x.
pub(crate) fn instance(id: &str, status: &str) -> DbInstance {
    DbInstance::builder()
        .db_instance_identifier(id)
        .db_instance_status(status)
        .endpoint(aws_sdk_rds::types::Endpoint::builder().address(ADDRESS).port(5432).build())
        .tag_list(tag(tags::SOURCE, &source_ref().display_name()))
        .build()
}

pub(crate) fn described(instance: DbInstance) -> DescribeDbInstancesOutput {
    DescribeDbInstancesOutput::builder().db_instances(instance).build()
}

fn snapshot(id: &str, status: &str) -> DbSnapshot {
    DbSnapshot::builder()
        .db_snapshot_identifier(id)
        .db_snapshot_arn(format!("arn:aws:rds:{REGION}:123456789012:snapshot:{id}"))
        .status(status)
        .build()
}

fn described_snapshot(snapshot: DbSnapshot) -> DescribeDbSnapshotsOutput {
    DescribeDbSnapshotsOutput::builder().db_snapshots(snapshot).build()
}

/// A rule for DescribeDBInstances of `id`, its answers still to give.
fn describe_instance(
    id: &'static str,
) -> RuleBuilder<DescribeDbInstancesInput, DescribeDbInstancesOutput, DescribeDBInstancesError> {
    mock!(Client::describe_db_instances).match_requests(move |input| input.db_instance_identifier() == Some(id))
}

/// A rule for DescribeDBSnapshots of `id`, its answers still to give.
fn describe_snapshot(
    id: &'static str,
) -> RuleBuilder<DescribeDbSnapshotsInput, DescribeDbSnapshotsOutput, DescribeDBSnapshotsError> {
    mock!(Client::describe_db_snapshots).match_requests(move |input| input.db_snapshot_identifier() == Some(id))
}

fn endpoint() -> Endpoint {
    Endpoint { address: ADDRESS.into(), port: 5432 }
}

fn wait_available_input(id: &str) -> wait_available::Input {
    wait_available::Input { target: instance_ref(id), configuration: None, appearing: false, downtime_started_at: None }
}

/// The error's name and message.
fn named(error: TaskError) -> (&'static str, String) {
    (error.name(), error.to_string())
}

#[tokio::test]
async fn wait_available_is_not_ready_while_the_instance_is_transient_then_gives_its_endpoint() {
    let mut creating = instance("y", "creating");
    creating.endpoint = None; // RDS gives the endpoint only once the instance exists.
    let describe = describe_instance("y")
        .sequence()
        .output(move || described(creating.clone()))
        .output(|| described(instance("y", "configuring-enhanced-monitoring")))
        .output(|| described(instance("y", "available")))
        .build();
    let rds = rds_in_region(&[&describe]);

    let first = wait_available::handle(rds.clone(), wait_available_input("y")).await.unwrap_err();
    assert_eq!(named(first), ("NotReady", "us-west-2/y is creating".into()));
    let second = wait_available::handle(rds.clone(), wait_available_input("y")).await.unwrap_err();
    assert_eq!(named(second), ("NotReady", "us-west-2/y is configuring-enhanced-monitoring".into()));
    let output = wait_available::handle(rds, wait_available_input("y")).await.unwrap();
    assert_eq!(output, wait_available::Output { endpoint: endpoint(), downtime: None });
    assert_eq!(describe.num_calls(), 3);
}

#[tokio::test]
async fn wait_available_takes_storage_optimization_as_available_and_measures_the_downtime() {
    let describe = describe_instance("y").then_output(|| described(instance("y", "storage-optimization")));
    let rds = rds_in_region(&[&describe]);
    let started_at = format_time(&DateTime::from(SystemTime::now() - Duration::from_secs(60)));
    let input = wait_available::Input { downtime_started_at: Some(started_at.clone()), ..wait_available_input("y") };

    let output = wait_available::handle(rds, input).await.unwrap();
    assert_eq!(output.endpoint, endpoint());
    let downtime = output.downtime.expect("a downtime, as downtimeStartedAt was given");
    assert_eq!(downtime.started_at, started_at);
    assert!((60.0..120.0).contains(&downtime.seconds), "{downtime:?}");
    assert!(downtime.ended_at > downtime.started_at, "{downtime:?}");
}

#[tokio::test]
async fn wait_available_fails_on_a_status_that_never_ends_and_on_a_missing_instance() {
    let failed =
        describe_instance("y-failed").then_output(|| described(instance("y-failed", "incompatible-parameters")));
    let gone = describe_instance("y-gone").then_http_response(|| instance_not_found("y-gone"));
    let rds = rds_in_region(&[&failed, &gone]);

    let error = wait_available::handle(rds.clone(), wait_available_input("y-failed")).await.unwrap_err();
    assert_eq!(named(error), ("RestoreFailed", "us-west-2/y-failed is incompatible-parameters".into()));
    // DBInstanceNotFound here is a failed restore, not something to wait for...
    let error = wait_available::handle(rds.clone(), wait_available_input("y-gone")).await.unwrap_err();
    assert_eq!(named(error), ("RestoreFailed", "us-west-2/y-gone does not exist".into()));
    // ... unless the instance is being renamed to that name.
    let appearing = wait_available::Input { appearing: true, ..wait_available_input("y-gone") };
    let error = wait_available::handle(rds, appearing).await.unwrap_err();
    assert_eq!(named(error), ("NotReady", "us-west-2/y-gone does not exist yet (renaming)".into()));
}

#[tokio::test]
async fn wait_available_with_a_configuration_waits_until_it_has_applied() {
    let pending = {
        let mut instance = instance("y", "available");
        instance.multi_az = Some(false);
        instance.pending_modified_values = Some(PendingModifiedValues::builder().multi_az(true).build());
        instance
    };
    let applied_without_tag = {
        let mut instance = instance("y", "available");
        instance.multi_az = Some(true);
        instance
    };
    let configured = {
        let mut instance = applied_without_tag.clone();
        instance.tag_list.get_or_insert_default().push(tag("team", "data"));
        instance
    };
    let describe = describe_instance("y")
        .sequence()
        .output(move || described(pending.clone()))
        .output(move || described(applied_without_tag.clone()))
        .output(move || described(configured.clone()))
        .build();
    let rds = rds_in_region(&[&describe]);
    let configuration = TargetConfiguration {
        multi_az: Some(true),
        tags: BTreeMap::from([("team".to_owned(), "data".to_owned())]),
        ..TargetConfiguration::default()
    };
    let input = wait_available::Input { configuration: Some(configuration), ..wait_available_input("y") };

    let error = wait_available::handle(rds.clone(), input.clone()).await.unwrap_err();
    assert_eq!(named(error), ("NotReady", "us-west-2/y has modifications pending".into()));
    let error = wait_available::handle(rds.clone(), input.clone()).await.unwrap_err();
    assert_eq!(named(error), ("NotReady", "us-west-2/y is available, but not yet configured: tag team".into()));
    let output = wait_available::handle(rds, input).await.unwrap();
    assert_eq!(output.endpoint, endpoint());
    assert_eq!(describe.num_calls(), 3);
}

fn wait_copied_input(id: &str) -> wait_copied::Input {
    wait_copied::Input {
        copy: CopyRef {
            identifier: id.into(),
            arn: format!("arn:aws:rds:{REGION}:123456789012:snapshot:{id}"),
            region: REGION.into(),
            origin: CopyOrigin::Copied,
        },
    }
}

#[tokio::test]
async fn wait_copied_is_not_ready_while_the_copy_is_in_progress_then_available() {
    let copying = {
        let mut snapshot = snapshot("c", "copying");
        snapshot.percent_progress = Some(40);
        snapshot
    };
    let describe = describe_snapshot("c")
        .sequence()
        .output(|| described_snapshot(snapshot("c", "pending")))
        .output(move || described_snapshot(copying.clone()))
        .output(|| described_snapshot(snapshot("c", "available")))
        .build();
    let rds = rds_in_region(&[&describe]);

    let error = wait_copied::handle(rds.clone(), wait_copied_input("c")).await.unwrap_err();
    assert_eq!(named(error), ("NotReady", "snapshot c is pending".into()));
    let error = wait_copied::handle(rds.clone(), wait_copied_input("c")).await.unwrap_err();
    assert_eq!(named(error), ("NotReady", "snapshot c is copying, 40% done".into()));
    let output = wait_copied::handle(rds, wait_copied_input("c")).await.unwrap();
    assert_eq!(output, wait_copied::Output { status: "available".into() });
    assert_eq!(describe.num_calls(), 3);
}

#[tokio::test]
async fn wait_copied_fails_when_the_copy_failed_or_no_longer_exists() {
    let failed = describe_snapshot("c-failed").then_output(|| described_snapshot(snapshot("c-failed", "failed")));
    let gone = describe_snapshot("c-gone")
        .then_http_response(|| error_answer(404, "DBSnapshotNotFound", "DBSnapshot c-gone not found."));
    let rds = rds_in_region(&[&failed, &gone]);

    let error = wait_copied::handle(rds.clone(), wait_copied_input("c-failed")).await.unwrap_err();
    assert_eq!(named(error), ("CopyFailed", "snapshot c-failed in us-west-2 is failed".into()));
    let error = wait_copied::handle(rds, wait_copied_input("c-gone")).await.unwrap_err();
    assert_eq!(named(error), ("CopyFailed", "snapshot c-gone in us-west-2 no longer exists".into()));
}

fn wait_deleted_input(id: &str) -> wait_deleted::Input {
    wait_deleted::Input { target: instance_ref(id), final_snapshot: None, deletion_started_at: None }
}

#[tokio::test]
async fn wait_deleted_waits_for_db_instance_not_found_then_tags_the_final_snapshot() {
    let describe = describe_instance("y")
        .sequence()
        .output(|| described(instance("y", "deleting")))
        .http_response(|| instance_not_found("y"))
        .build();
    let final_snapshot =
        describe_snapshot("y-final").then_output(|| described_snapshot(snapshot("y-final", "available")));
    let tag_it = mock!(Client::add_tags_to_resource)
        .match_requests(|input| {
            input.resource_name() == Some("arn:aws:rds:us-west-2:123456789012:snapshot:y-final")
                && input.tags()
                    == [
                        tag(tags::MANAGED_BY, "rds-refresh"),
                        tag(tags::KIND, tags::KIND_FINAL_SNAPSHOT),
                        tag(tags::TARGET, "us-west-2/y"),
                    ]
        })
        .then_output(|| AddTagsToResourceOutput::builder().build());
    let rds = rds_in_region(&[&describe, &final_snapshot, &tag_it]);
    let input = wait_deleted::Input { final_snapshot: Some("y-final".into()), ..wait_deleted_input("y") };

    let error = wait_deleted::handle(rds.clone(), input.clone()).await.unwrap_err();
    assert_eq!(named(error), ("NotReady", "us-west-2/y is deleting, not gone yet".into()));
    assert_eq!(tag_it.num_calls(), 0, "the final snapshot is tagged once the instance is gone");
    // DBInstanceNotFound is what "deleted" means here.
    let output = wait_deleted::handle(rds, input).await.unwrap();
    assert_eq!(output, wait_deleted::Output { deleted: true });
    assert_eq!((describe.num_calls(), final_snapshot.num_calls(), tag_it.num_calls()), (2, 1, 1));
}

#[tokio::test]
async fn wait_deleted_tells_an_instance_created_after_the_deletion_from_the_one_being_deleted() {
    let started = DateTime::from_secs(1_700_000_000);
    let created_at = |secs| {
        move || {
            let mut instance = instance("y", "creating");
            instance.instance_create_time = Some(DateTime::from_secs(secs));
            described(instance)
        }
    };
    let describe =
        describe_instance("y").sequence().output(created_at(1_600_000_000)).output(created_at(1_700_000_600)).build();
    let rds = rds_in_region(&[&describe]);
    let input = wait_deleted::Input { deletion_started_at: Some(format_time(&started)), ..wait_deleted_input("y") };

    // Created before the deletion started: the instance being deleted, in whatever status.
    let error = wait_deleted::handle(rds.clone(), input.clone()).await.unwrap_err();
    assert_eq!(named(error), ("NotReady", "us-west-2/y is creating, not gone yet".into()));
    let error = wait_deleted::handle(rds, input).await.unwrap_err();
    assert_eq!(
        named(error),
        (
            "TargetExists",
            "us-west-2/y is creating: an instance of that name was created at 2023-11-14T22:23:20Z, after the \
             deletion started"
                .into()
        )
    );
}

#[tokio::test]
async fn polling_errors_other_than_not_found_are_reported_not_read_as_a_status() {
    let denied = describe_instance("y-denied").then_http_response(|| {
        error_answer(403, "AccessDenied", "User is not authorized to perform: rds:DescribeDBInstances")
    });
    let unavailable = describe_instance("y-unavailable")
        .then_http_response(|| error_answer(503, "ServiceUnavailable", "Service is unavailable"));
    let throttled = describe_snapshot("c").then_http_response(|| error_answer(400, "Throttling", "Rate exceeded"));
    let rds = rds_in_region(&[&denied, &unavailable, &throttled]);

    // Only DBInstanceNotFound means gone.
    let error = wait_deleted::handle(rds.clone(), wait_deleted_input("y-denied")).await.unwrap_err();
    assert_eq!(
        named(error),
        (
            "RdsRequestFailed",
            "DescribeDBInstances y-denied: AccessDenied (HTTP 403): User is not authorized to perform: \
             rds:DescribeDBInstances"
                .into()
        )
    );
    let error = wait_available::handle(rds.clone(), wait_available_input("y-unavailable")).await.unwrap_err();
    assert_eq!(
        named(error),
        (
            "ServiceUnavailable",
            "DescribeDBInstances y-unavailable: ServiceUnavailable (HTTP 503): Service is unavailable".into()
        )
    );
    let error = wait_copied::handle(rds, wait_copied_input("c")).await.unwrap_err();
    assert_eq!(named(error), ("Throttled", "DescribeDBSnapshots c: Throttling (HTTP 400): Rate exceeded".into()));
    // The SDK retried the throttling and the 5xx (3 attempts in all), not the refusal.
    assert_eq!((denied.num_calls(), unavailable.num_calls(), throttled.num_calls()), (1, 3, 3));
}

fn rename_input() -> rename_target::Input {
    rename_target::Input { source: source_ref(), from: instance_ref("y"), to: "y-old".into() }
}

/// A rename of y (available, opted in) to y-old (free), whose ModifyDBInstance `modify`
/// answers.
fn renaming(modify: &Rule) -> Rds {
    let old = describe_instance("y").then_output(|| described(instance("y", "available")));
    let new = describe_instance("y-old").then_http_response(|| instance_not_found("y-old"));
    rds_in_region(&[&old, &new, modify])
}

/// A rule for the ModifyDBInstance that renames y to y-old, its answers still to give.
fn modify_rename() -> RuleBuilder<ModifyDbInstanceInput, ModifyDbInstanceOutput, ModifyDBInstanceError> {
    mock!(Client::modify_db_instance).match_requests(|input| {
        input.db_instance_identifier() == Some("y")
            && input.new_db_instance_identifier() == Some("y-old")
            && input.apply_immediately() == Some(true)
    })
}

#[tokio::test]
async fn rename_target_maps_each_error_answer_to_its_name() {
    // (HTTP status, RDS code, the task's error, attempts the SDK made)
    let cases = [
        (400, "Throttling", "Throttled", 3),
        (500, "InternalFailure", "ServiceUnavailable", 3),
        (503, "ServiceUnavailable", "ServiceUnavailable", 3),
        (400, "InvalidDBInstanceState", "NotReady", 1),
        (400, "SnapshotQuotaExceeded", "SnapshotQuotaExceeded", 1),
        (400, "InvalidParameterCombination", "RdsRequestFailed", 1),
    ];
    for (status, code, name, attempts) in cases {
        let modify = modify_rename().then_http_response(move || error_answer(status, code, "refused"));
        let rds = renaming(&modify);

        let error = rename_target::handle(rds, rename_input()).await.unwrap_err();
        let message = format!("ModifyDBInstance us-west-2/y -> y-old: {code} (HTTP {status}): refused");
        assert_eq!(named(error), (name, message), "{code}");
        assert_eq!(modify.num_calls(), attempts, "{code}");
    }
}

#[tokio::test]
async fn the_sdks_own_retries_absorb_a_throttle_that_passes() {
    let modify = modify_rename()
        .sequence()
        .http_response(|| error_answer(400, "Throttling", "Rate exceeded"))
        .times(2)
        .output(|| ModifyDbInstanceOutput::builder().build())
        .build();
    let rds = renaming(&modify);

    let output = rename_target::handle(rds, rename_input()).await.unwrap();
    assert_eq!(output.outcome, "renamed");
    assert!(DateTime::from_str(&output.started_at, DateTimeFormat::DateTime).is_ok(), "{}", output.started_at);
    assert_eq!(modify.num_calls(), 3);
}

#[tokio::test]
async fn rename_target_reads_db_instance_not_found_by_what_it_means_for_the_rename() {
    // No ModifyDBInstance rule: a rename attempted here panics the test.
    let y_missing = describe_instance("y").then_http_response(|| instance_not_found("y"));
    let y_old_missing = describe_instance("y-old").then_http_response(|| instance_not_found("y-old"));
    let rds = rds_in_region(&[&y_missing, &y_old_missing]);
    let error = rename_target::handle(rds, rename_input()).await.unwrap_err();
    assert_eq!(
        named(error),
        ("RestoreFailed", "neither us-west-2/y nor us-west-2/y-old exists: nothing to rename".into())
    );

    // Only the new name exists: an earlier attempt renamed it.
    let y_old = describe_instance("y-old").then_output(|| described(instance("y-old", "renaming")));
    let rds = rds_in_region(&[&y_missing, &y_old]);
    let output = rename_target::handle(rds, rename_input()).await.unwrap();
    assert_eq!(output.outcome, "already-renamed");

    // y exists but is backing-up: waited for, not renamed (RDS would refuse it).
    let backing_up = describe_instance("y").then_output(|| described(instance("y", "backing-up")));
    let rds = rds_in_region(&[&backing_up, &y_old_missing]);
    let error = rename_target::handle(rds, rename_input()).await.unwrap_err();
    assert_eq!(named(error), ("NotReady", "us-west-2/y is backing-up: renaming it once it is available".into()));
}

const SOURCE_SNAPSHOT_ARN: &str = "arn:aws:rds:us-east-1:123456789012:snapshot:rds:x-2026-01-01-05-10";

fn copy_input() -> copy_snapshot::Input {
    copy_snapshot::Input {
        snapshot: SnapshotRef {
            identifier: "rds:x-2026-01-01-05-10".into(),
            arn: SOURCE_SNAPSHOT_ARN.into(),
            region: SOURCE_REGION.into(),
            created_at: "2026-01-01T05:10:00Z".into(),
            snapshot_type: "automated".into(),
            encrypted: false,
            engine: Some("postgres".into()),
            engine_version: Some("16.3".into()),
            master_username: Some("postgres".into()),
        },
        source: source_ref(),
        target: instance_ref("y"),
        copy: CopyOptions::default(),
        configuration: None,
    }
}

/// The name of the copy of the source snapshot for us-west-2/y.
fn copy_id() -> String {
    copy_identifier("rds:x-2026-01-01-05-10", SOURCE_SNAPSHOT_ARN, "us-west-2/y")
}

/// A first copy of the source snapshot to us-west-2: no copy there yet, the source snapshot's
/// tags in us-east-1 (one user tag, one `aws:` tag), and `copy` answering CopyDBSnapshot.
fn copying(copy: &Rule) -> Rds {
    let no_copy_yet = mock!(Client::describe_db_snapshots)
        .then_http_response(|| error_answer(404, "DBSnapshotNotFound", "DBSnapshot not found."));
    let source_tags = mock!(Client::list_tags_for_resource)
        .match_requests(|input| input.resource_name() == Some(SOURCE_SNAPSHOT_ARN))
        .then_output(|| {
            ListTagsForResourceOutput::builder()
                .tag_list(tag("team", "data"))
                .tag_list(tag("aws:backup:source-resource", "x"))
                .build()
        });
    rds(&[(REGION, &[&no_copy_yet, copy]), (SOURCE_REGION, &[&source_tags])])
}

#[tokio::test]
async fn copy_snapshot_starts_the_copy_in_the_target_region_with_the_user_tags() {
    let id = copy_id();
    let expected_id = id.clone();
    let copy = mock!(Client::copy_db_snapshot)
        .match_requests(move |input| {
            let keys: Vec<&str> = input.tags().iter().filter_map(Tag::key).collect();
            input.source_db_snapshot_identifier() == Some(SOURCE_SNAPSHOT_ARN)
                && input.target_db_snapshot_identifier() == Some(expected_id.as_str())
                && input.tags().contains(&tag("team", "data"))
                && input.tags().contains(&tag(tags::KIND, tags::KIND_COPY))
                && input.tags().contains(&tag(tags::SOURCE_SNAPSHOT, SOURCE_SNAPSHOT_ARN))
                && !keys.iter().any(|key| key.starts_with("aws:"))
        })
        .then_compute_output(|input| {
            let id = input.target_db_snapshot_identifier().unwrap_or_default();
            CopyDbSnapshotOutput::builder().db_snapshot(snapshot(id, "pending")).build()
        });
    let rds = copying(&copy);

    let output = copy_snapshot::handle(rds, copy_input()).await.unwrap();
    assert_eq!(
        output,
        CopyRef {
            arn: format!("arn:aws:rds:us-west-2:123456789012:snapshot:{id}"),
            identifier: id,
            region: REGION.into(),
            origin: CopyOrigin::Copied,
        }
    );
    assert_eq!(copy.num_calls(), 1);
}

#[tokio::test]
async fn copy_snapshot_maps_the_snapshot_quota_and_throttling() {
    // (RDS code and message, the task's error, attempts the SDK made)
    let cases = [
        ("SnapshotQuotaExceeded", "Cannot create more than 100 manual snapshots", "SnapshotQuotaExceeded", 1),
        ("Throttling", "Rate exceeded", "Throttled", 3),
    ];
    for (code, said, name, attempts) in cases {
        let copy = mock!(Client::copy_db_snapshot).then_http_response(move || error_answer(400, code, said));
        let rds = copying(&copy);

        let error = copy_snapshot::handle(rds, copy_input()).await.unwrap_err();
        let message = format!("CopyDBSnapshot {SOURCE_SNAPSHOT_ARN} to {}: {code} (HTTP 400): {said}", copy_id());
        assert_eq!(named(error), (name, message), "{code}");
        assert_eq!(copy.num_calls(), attempts, "{code}");
    }
}
