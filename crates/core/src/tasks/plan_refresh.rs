//! plan-refresh: the dry run (`"dryRun": true`). Runs every read of a refresh, with the same
//! code and guards as the real steps, and reports what a refresh would do, and what would
//! stop it, instead of doing it. Writes nothing, not even to the state table. Every decision
//! in the plan is the one the real step makes ([`crate::decisions`]): the lock's, the
//! configuration's (through describe-target's `inspect`), the copy's origin, the delete's,
//! the pruning's and the repair's.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TaskError;
use crate::decisions::copy::{self, CopyPlan};
use crate::decisions::deletion::{self, Deletion};
use crate::decisions::leftovers;
use crate::decisions::lock::{self, Conflict};
use crate::decisions::pruning;
use crate::decisions::repair::{self, LockView, Repair, TargetView};
use crate::executions::OwnerState;
use crate::identifiers::{final_snapshot_identifier, swap_identifiers};
use crate::lambda::{WithExecutions, WithScripts, WithSecrets};
use crate::model::{
    CopyOrigin, CredentialsPlan, InstanceRef, RefreshRequest, SnapshotRef, SqlPlan, TargetConfiguration,
};
use crate::rds::{check_fits_snapshot, describe_snapshot, format_time, own_copies, region_instances};
use crate::state::{RdsAndState, now_secs};
use crate::tasks::describe_target::{ConfigurationSource, inspect};
use crate::tasks::{check_scripts, check_secrets, find_snapshot};

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    /// The checked execution input.
    pub request: RefreshRequest,
    /// The execution (`$$.Execution.Id`), which names the final snapshot.
    pub execution: String,
}

/// What a refresh would do now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(title = "rds-refresh dry-run output")]
pub struct Output {
    /// Always `true`: nothing was changed.
    pub dry_run: bool,
    /// Whether a refresh started now would pass every guard.
    pub would_refresh: bool,
    /// Each guard that would refuse, under the error name the refresh would fail with.
    pub refusals: Vec<Refusal>,
    pub source: InstanceRef,
    pub target: InstanceRef,
    /// The snapshot that would be used.
    pub snapshot: Option<SnapshotRef>,
    /// The copy it would be restored from.
    pub copy: Option<PlannedCopy>,
    pub target_exists: bool,
    pub target_status: Option<String>,
    pub configuration_source: Option<ConfigurationSource>,
    /// The configuration the new target would get.
    pub configuration: Option<TargetConfiguration>,
    /// What would be deleted: the target instance, older copies beyond `copy.retain`, and
    /// temporary instances earlier swaps left.
    pub would_delete: WouldDelete,
    /// Retired targets earlier swaps left beside the target: a refresh reports them and never
    /// deletes them (each may be the only copy of the target's old data).
    pub leftover_retired: Vec<String>,
    /// The target's lock, when an execution holds it.
    pub lock: Option<LockSeen>,
    /// When the lock's holder has ended without releasing it: what it left, as the repair
    /// would repair it (a refresh started now takes the lock over and finishes or undoes it).
    pub would_repair: Option<Repair>,
    /// The credential steps the refresh would run: the secrets (ARNs and the versions read;
    /// never their values) the new target's master and role passwords would come from, or an
    /// RDS-managed master secret like the target's. `master: null` when the new target would
    /// keep the snapshot's credentials; `null` when there is no snapshot or a secret is refused.
    pub credentials: Option<CredentialsPlan>,
    /// The SQL steps the refresh would run: each script with its source, size and SHA-256,
    /// and the verification queries. `null` when `sql` is empty.
    pub sql: Option<SqlPlan>,
}

/// The target's lock as the dry run sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LockSeen {
    /// The execution that holds it.
    pub holder: String,
    /// When it expires (RFC 3339).
    pub expires_at: String,
    /// The holder's status, when Step Functions could say (`RUNNING`, `ABORTED`, ...).
    pub holder_status: Option<String>,
    /// Whether a refresh started now would take it over (its holder has ended).
    pub would_take_over: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Refusal {
    pub error: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlannedCopy {
    pub identifier: String,
    pub region: String,
    /// `copy` (to be made), `reuse` (an earlier run's copy) or `same-region` (none needed).
    pub action: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WouldDelete {
    /// The target instance, when it exists.
    pub instance: Option<InstanceRef>,
    /// Its final snapshot, if `target.finalSnapshot` asks for one.
    pub final_snapshot: Option<String>,
    /// Copies pruned after the refresh.
    pub copies: Vec<String>,
    /// Temporary instances of earlier swaps (restores that never took the target's name),
    /// deleted after the refresh.
    pub temporaries: Vec<String>,
}

/// The dry run's word for where the snapshot restored from would come from (`copy.action`).
fn planned_action(origin: CopyOrigin) -> &'static str {
    match origin {
        CopyOrigin::Copied => "copy",
        CopyOrigin::Reused => "reuse",
        CopyOrigin::SameRegion => "same-region",
    }
}

/// A guard's refusal goes into the plan; a failure to look (throttling, an RDS error) fails
/// the dry run like any task, so it is retried or reported under its own name.
fn refused_or<T>(result: Result<T, TaskError>, refuse: &mut impl FnMut(TaskError)) -> Result<Option<T>, TaskError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(error) if error.kind().is_failure_to_look() => Err(error),
        Err(refusal) => {
            refuse(refusal);
            Ok(None)
        }
    }
}

pub async fn handle(
    clients: WithExecutions<WithSecrets<WithScripts<RdsAndState>>>,
    input: Input,
) -> Result<Output, TaskError> {
    let WithExecutions { clients: WithSecrets { clients: WithScripts { clients, scripts }, secrets }, executions } =
        clients;
    let Input { request, execution } = input;
    request.validate()?;
    let target = request.target.instance();
    let mut refusals = Vec::new();
    let mut refuse =
        |error: TaskError| refusals.push(Refusal { error: error.name().to_owned(), message: error.to_string() });

    let mut lock_seen = None;
    let recorded = clients.state.current_lock(&target).await?;
    if let Some(holder) = lock::in_the_way(recorded.as_ref(), &execution, now_secs()) {
        let owner = executions.owner_state(&holder.owner).await;
        let conflict = lock::resolve(&target, holder, &owner);
        if let Conflict::Locked(message) = &conflict {
            refuse(TaskError::TargetLocked(message.clone()));
        }
        lock_seen = Some(LockSeen {
            holder: holder.owner.clone(),
            expires_at: format_time(&aws_sdk_rds::primitives::DateTime::from_secs(holder.expires_at)),
            holder_status: match owner {
                OwnerState::Running => Some("RUNNING".into()),
                OwnerState::Ended(status) => Some(status),
                OwnerState::Unknown(_) => None,
            },
            would_take_over: matches!(conflict, Conflict::TakeOver(_)),
        });
    }
    let snapshot = refused_or(find_snapshot::choose(&clients.rds, &request).await, &mut refuse)?;
    let inspected =
        refused_or(inspect(&clients, &request.source, &request.target).await, &mut refuse)?.map(|(output, _)| output);
    if let (Some(snapshot), Some(configuration)) =
        (&snapshot, inspected.as_ref().and_then(|i| i.configuration.as_ref()))
    {
        refused_or(check_fits_snapshot(&clients.rds, &target.region, configuration, snapshot).await, &mut refuse)?;
    }
    // The secrets the new target's credentials would come from, read and checked as
    // check-secrets does (their ARNs and versions are listed, never their values).
    let credentials = match &snapshot {
        Some(snapshot) => {
            let configuration = inspected.as_ref().and_then(|i| i.configuration.as_ref());
            let managed_key = configuration.and_then(|c| c.master_user_secret_kms_key_id.as_deref());
            refused_or(
                check_secrets::plan(&secrets, &request.target, snapshot, managed_key, request.sql.given()).await,
                &mut refuse,
            )?
        }
        None => None,
    };
    // The scripts, read and hashed as check-scripts does (listed with their size and SHA-256).
    let sql = refused_or(check_scripts::plan(&scripts, &request.sql, &target.region).await, &mut refuse)?
        .filter(|plan| plan.run);

    let copy = match &snapshot {
        Some(snapshot) => {
            let plan = copy::plan(snapshot, &target);
            let found = match &plan {
                CopyPlan::CrossRegion { identifier } => {
                    describe_snapshot(&clients.rds.client(&target.region), identifier).await?.is_some()
                }
                CopyPlan::SameRegion => false,
            };
            Some(PlannedCopy {
                identifier: plan.identifier(snapshot).to_owned(),
                region: target.region.clone(),
                action: planned_action(plan.origin(found)).into(),
            })
        }
        None => None,
    };
    let copies = match &copy {
        Some(copy) => {
            let own = own_copies(&clients.rds.client(&target.region), &request.source, &target).await?;
            pruning::choose(own, &copy.identifier, request.copy.retain).1
        }
        None => Vec::new(),
    };
    let current = snapshot
        .as_ref()
        .map(|snapshot| swap_identifiers(&target.db_instance_identifier, &snapshot.arn))
        .unwrap_or_default();
    // One listing of the target's region serves the leftovers and the repair's view.
    let instances = region_instances(&clients.rds.client(&target.region), &target).await?;
    let leftovers = leftovers::among(&instances, &target, &request.source, &[current.0.as_str(), current.1.as_str()]);
    let would_repair = match lock_seen.as_ref() {
        Some(LockSeen { would_take_over: true, holder_status: Some(status), .. }) => {
            let seen = TargetView::among(&instances, &target.db_instance_identifier);
            // Everything beside the target, this run's names included: they may be the ended run's.
            let left = leftovers::among(&instances, &target, &request.source, &[]);
            Some(repair::decide(status, request.mode, false, &LockView::HeldByStopped, seen.as_ref(), &left))
        }
        _ => None,
    };
    let exists = inspected.as_ref().is_some_and(|i| i.exists);
    // What delete-target would do to the target as it is now, with this run's copy.
    let target_instance =
        instances.iter().find(|i| i.db_instance_identifier() == Some(target.db_instance_identifier.as_str()));
    let deletion = copy.as_ref().map(|copy| {
        deletion::decide(
            &target,
            &request.source,
            target_instance,
            &copy.identifier,
            request.target.allow_disable_deletion_protection,
            request.target.final_snapshot,
            !request.sql.given(),
        )
    });
    let (deletes_target, takes_final_snapshot) = match deletion {
        Some(Ok(Deletion::Delete { final_snapshot, .. })) => (true, final_snapshot),
        Some(Ok(Deletion::Keep(_))) => (false, false),
        // A guard refuses (the refusal is in the plan: describe-target checks the same guards),
        // or there is no snapshot to restore: what the refresh would delete once it may.
        Some(Err(_)) | None => (exists, exists && request.target.final_snapshot),
    };
    let would_delete = WouldDelete {
        instance: deletes_target.then(|| target.clone()),
        final_snapshot: takes_final_snapshot
            .then(|| final_snapshot_identifier(&target.db_instance_identifier, &execution)),
        copies,
        temporaries: leftovers.temporaries,
    };
    Ok(Output {
        dry_run: true,
        would_refresh: refusals.is_empty(),
        refusals,
        source: request.source.clone(),
        target,
        snapshot,
        copy,
        target_exists: exists,
        target_status: inspected.as_ref().and_then(|i| i.status.clone()),
        configuration_source: inspected.as_ref().map(|i| i.configuration_source),
        configuration: inspected.and_then(|i| i.configuration),
        would_delete,
        leftover_retired: leftovers.retired,
        lock: lock_seen,
        would_repair,
        credentials,
        sql,
    })
}
