//! The refresh (statemachine/refresh.asl.json), top to bottom as it runs: the input and the
//! lock, the snapshot and its copy, then swap mode or replace mode, the finish both share, and
//! the one failure path every step's failure takes.

use crate::asl::{
    Choice, Fail, Jitter, Map, Pass, Retrier, State, StateMachine, States, Task, Wait, and, catch_all, not,
};
use crate::asl::{compare, when};
use crate::conventions::*;
use crate::json::{Json, obj};
use crate::names::fields::{DOWNTIME, STARTED_AT};
use crate::names::result_paths::*;
use crate::names::{NOT_READY, SNAPSHOT_QUOTA_EXCEEDED, WAIT_TIMED_OUT};

/// 39 h: the longest refresh (every wait on its path running out, RetainOld at its limit) and
/// then the longest failure path, with an hour's margin (tasks/core/tests/definition.rs adds it
/// up; the lock's expiry follows it).
const TIMEOUT_SECONDS: u32 = 140_400;

// The checked request (CheckInput writes out every default, so each of these paths exists).
const REQUEST: &str = "$.request";
const SOURCE: &str = "$.request.source";
const TARGET_REGION: &str = "$.request.target.region";
const TARGET_ID: &str = "$.request.target.dbInstanceIdentifier";
const MODE: &str = "$.request.mode";
const TOPIC: &str = "$.request.notify.topicArn";

pub fn refresh() -> StateMachine {
    let mut refresh = Refresh::default();
    input_and_lock(&mut refresh);
    snapshot_and_copy(&mut refresh);
    swap(&mut refresh);
    replace(&mut refresh);
    finish(&mut refresh);
    failure_path(&mut refresh);
    StateMachine {
        comment: "rds-refresh: re-create the target RDS instance from a snapshot of the source instance, configured as it was: in swap mode (restore beside it, then switch names) or replace mode (delete, then restore). One execution per target at a time (a lock in the state table). Every wait is a bounded Retry on NotReady; no Lambda sleeps.",
        start_at: "CheckInput",
        timeout_seconds: Some(TIMEOUT_SECONDS),
        states: refresh.states,
    }
}

/// The states so far, and the steps whose failure takes the failure path.
#[derive(Default)]
struct Refresh {
    states: States,
    steps: Vec<&'static str>,
}

impl Refresh {
    fn add(&mut self, name: impl Into<String>, state: impl Into<State>) {
        self.states.add(name, state);
    }

    /// A step of the refresh: any failure of it (once its retries are spent) is caught into
    /// the failure path, through a Pass that records the step's name ([`failure_path`]).
    fn step(&mut self, name: &'static str, task: Task) {
        self.steps.push(name);
        self.add(name, task.catch(catch_all(ERROR, &failed(name))));
    }

    /// A Map step: like [`Refresh::step`], its failure (an iteration's) takes the failure path.
    fn map_step(&mut self, name: &'static str, map: Map) {
        self.steps.push(name);
        self.add(name, map.catch(catch_all(ERROR, &failed(name))));
    }
}

fn failed(step: &str) -> String {
    format!("{step}Failed")
}

// --- Input and lock ---------------------------------------------------------------------------

fn input_and_lock(refresh: &mut Refresh) {
    // Before the input is checked there is no lock to release and no topic to notify: a failure
    // goes straight to the end.
    refresh.add(
        "CheckInput",
        invoke_with("CheckInput", "$")
            .comment("Checks the input against every rule (InvalidInput names the field) and writes out every default; the state becomes {request, snapshot: null, targetState: null, retainOldSeconds}. No AWS call.")
            .result_selector(from_payload(&[
                "request",
                "snapshot",
                "targetState",
                "retainOldSeconds",
                "credentialsApplied",
                "sqlApplied",
            ]))
            .catch(catch_all(ERROR, "RefreshFailed"))
            .next("IsDryRun"),
    );
    refresh.add(
        "IsDryRun",
        Choice::new(
            "A dry run reads and reports; it changes nothing and takes no lock.",
            vec![when(compare("$.request.dryRun", "BooleanEquals", true), "PlanRefresh")],
            "LockTarget",
        ),
    );
    refresh.step(
        "PlanRefresh",
        invoke("PlanRefresh", obj! { "request.$": REQUEST, "execution.$": EXECUTION_ID })
            .comment("The dry run: every read step and guard, reported as a plan (schemas/dry-run-output.schema.json). Writes nothing.")
            .output_path("$.Payload")
            .end(),
    );
    refresh.step(
        "LockTarget",
        invoke("LockTarget", lock("acquire"))
            .comment("Takes the target's lock in the state table; TargetLocked when another execution that may still run holds it. A lock whose execution has ended without releasing it (stopped, timed out) is taken over (takenOverFrom). Before any change.")
            .result_selector(from_payload(&["takenOverFrom"]))
            .result_path(LOCK)
            .next("FindSnapshot"),
    );
}

// --- Snapshot and copy --------------------------------------------------------------------------
//
// Nothing is changed before the snapshot is chosen, the target's configuration read and kept
// (the copy takes its option group), and the copy available.

/// Too many manual snapshots in the region: the copy waits for some to go, 1 min growing to
/// 15 min, 6 times (45 min).
const SNAPSHOT_QUOTA_RETRY: Retrier = Retrier {
    error_equals: &[SNAPSHOT_QUOTA_EXCEEDED],
    interval_seconds: 60,
    max_attempts: 6,
    backoff_rate: 2.0,
    max_delay_seconds: Some(900),
    jitter_strategy: Some(Jitter::Full),
};

fn snapshot_and_copy(refresh: &mut Refresh) {
    refresh.step(
        "FindSnapshot",
        invoke_with("FindSnapshot", REQUEST)
            .comment("Chooses the snapshot: the newest available one of the kinds asked for, or the one named; SnapshotNotFound, SnapshotTooOld, KmsKeyRequired. Changes nothing.")
            .result_selector(from_payload(&[
                "identifier",
                "arn",
                "region",
                "createdAt",
                "snapshotType",
                "encrypted",
                "engine",
                "engineVersion",
                "masterUsername",
            ]))
            .result_path(SNAPSHOT)
            .next("DescribeTarget"),
    );
    refresh.step(
        "DescribeTarget",
        invoke("DescribeTarget", obj! { "source.$": SOURCE, "target.$": "$.request.target", "snapshot.$": SNAPSHOT })
            .comment("Reads the target's configuration and keeps it in the state table (or reads it back from there when the target is gone); applies the overrides. Guards: TargetNotOptedIn, DeletionProtected, TargetNotFound. Changes no instance.")
            .result_selector(from_payload(&[
                "exists",
                "status",
                "configurationSource",
                "capturedAt",
                "configuration",
                "restoringFrom",
                "swap",
                "swapInterrupted",
            ]))
            .result_path(TARGET_STATE)
            .next("CheckSecrets"),
    );
    refresh.step(
        "CheckSecrets",
        invoke(
            "CheckSecrets",
            obj! {
                "target.$": "$.request.target",
                "snapshot.$": SNAPSHOT,
                "configuration.$": configuration(),
                "sql.$": "$.request.sql",
            },
        )
        .comment("Reads every secret the new target's credentials come from (target.masterUserSecretArn, target.roleSecrets) and checks its shape: SecretNotFound, SecretInvalid. Plans the credential steps (master: null skips them). Writes secret ARNs and versions, never values. Changes nothing.")
        .result_selector(from_payload(&["master", "masterUsername", "roles", "otherLogins"]))
        .result_path(CREDENTIALS)
        .next("CheckScripts"),
    );
    refresh.step(
        "CheckScripts",
        invoke("CheckScripts", obj! { "sql.$": "$.request.sql", "target": target() })
            .comment("Reads every SQL script of sql.scripts (S3 or inline) and plans the SQL steps: each script's SHA-256 and size, the verification queries (run: false skips them). ScriptNotFound for an S3 object that is missing or unreadable. Changes nothing.")
            .result_selector(from_payload(&["run", "scripts", "verify", "statementTimeoutSeconds"]))
            .result_path(SQL)
            .next("CopySnapshot"),
    );
    refresh.step(
        "CopySnapshot",
        invoke(
            "CopySnapshot",
            obj! {
                "snapshot.$": SNAPSHOT,
                "source.$": SOURCE,
                "target": target(),
                "copy.$": "$.request.copy",
                "configuration.$": configuration(),
            },
        )
        .comment("Copies the snapshot into the target region (with the copy KMS key, the target's option group and the snapshot's user tags), or reuses an earlier run's copy.")
        .result_selector(from_payload(&["identifier", "arn", "region", "origin"]))
        .result_path(COPY)
        .retry_first(SNAPSHOT_QUOTA_RETRY)
        .next("WaitCopied"),
    );
    refresh.step(
        "WaitCopied",
        invoke("WaitCopied", obj! { "copy.$": COPY })
            .comment("Polls (NotReady under Retry) until the copy is available. Nothing is deleted before this.")
            .discard_result()
            .retry_first(COPY_POLLING)
            .next("SwapOrReplace"),
    );
}

// --- Swap mode ----------------------------------------------------------------------------------
//
// Restore beside the target under a temporary name, configure, then switch names: the target
// renamed away (retired), the new instance renamed to the target's name. The downtime runs from
// the first rename to the new instance serving.

fn swap(refresh: &mut Refresh) {
    let swap_mode = || compare(MODE, "StringEquals", "swap");
    let target_exists = |exists: bool| compare(at(TARGET_STATE, "exists"), "BooleanEquals", exists);
    let restoring_from = at(TARGET_STATE, "restoringFrom");
    refresh.add(
        "SwapOrReplace",
        Choice::new(
            "Swap mode needs a target to swap with; without one (a first run, or a re-run after a replace-mode failure) the restore is made under the target's name. An earlier attempt of this swap that stopped between its renames (the target renamed away, the new instance beside it) goes on from the switch.",
            vec![
                when(
                    and(vec![
                        swap_mode(),
                        target_exists(true),
                        compare(&restoring_from, "IsString", true),
                        compare(&restoring_from, "StringEqualsPath", at(COPY, "identifier")),
                    ]),
                    "SwitchedEarlier",
                ),
                when(
                    and(vec![
                        swap_mode(),
                        target_exists(false),
                        compare(at(TARGET_STATE, "swapInterrupted"), "BooleanEquals", true),
                    ]),
                    "ResumeSwitch",
                ),
                when(and(vec![swap_mode(), target_exists(true)]), "RestoreBeside"),
            ],
            "DeleteTarget",
        ),
    );
    // A swap resumed from an earlier attempt: its downtime began before this execution, and
    // WaitPromoted measures none.
    let downtime_not_seen = || obj! { (STARTED_AT): Json::Null };
    refresh.add(
        "SwitchedEarlier",
        Pass::result(
            "The target already is the new instance, switched by an earlier attempt that did not finish: go on from the switch (its downtime was not seen by this execution).",
            downtime_not_seen(),
            RETIREMENT,
            "WaitPromoted",
        ),
    );
    refresh.add(
        "ResumeSwitch",
        Pass::result(
            "An earlier attempt stopped between the renames (it was aborted or timed out, so its failure path never renamed the old target back): the target's name is free and the new instance, configured, is beside it. Go on with the second rename (the downtime began before this execution and is not measured).",
            downtime_not_seen(),
            RETIREMENT,
            "WaitRetired",
        ),
    );
    refresh.step(
        "RestoreBeside",
        restore(obj! {
            "source.$": SOURCE,
            "target": target(),
            "restoreAs.$": temporary_name(),
            "copy.$": COPY,
            "configuration.$": configuration(),
            "execution.$": EXECUTION_ID,
            "sqlRuns.$": at(SQL, "run"),
        })
        .comment("Swap 1: restores the copy beside the target, under the temporary name, with the target's configuration. The target keeps serving.")
        .retry_first(BUSY_POLLING)
        .next("WaitBesideAvailable"),
    );
    refresh.step(
        "WaitBesideAvailable",
        wait_available(obj! { "target": beside() }, AVAILABLE_POLLING)
            .comment("Polls until the new instance is available.")
            .next("ConfigureBeside"),
    );
    refresh.step(
        "ConfigureBeside",
        configure(beside())
            .comment(
                "Applies the rest of the configuration to the new instance (one ModifyDBInstance), and its user tags.",
            )
            .next("WaitBesideConfigured"),
    );
    refresh.step(
        "WaitBesideConfigured",
        wait_configured(beside())
            .comment("Polls until the new instance has its whole configuration in effect.")
            .next("CredentialsBeside?"),
    );
    credentials(refresh, CredentialStates::BESIDE, beside(), SqlStates::BESIDE.asked);
    sql(refresh, SqlStates::BESIDE, "RetireTarget");
    refresh.step(
        "RetireTarget",
        rename(target(), retired_name(), RETIREMENT)
            .comment("Swap 2: renames the target to its retired name (never onto an existing name). From here the name does not serve. A target that is backing-up or in maintenance is waited for (NotReady).")
            .next("WaitRetired"),
    );
    refresh.step(
        "WaitRetired",
        wait_renamed(retired()).comment("Polls until the rename has taken effect.").next("PromoteNew"),
    );
    refresh.step(
        "PromoteNew",
        rename(beside(), TARGET_ID, PROMOTION)
            .comment("Swap 3: renames the new instance to the target's name.")
            .next("WaitPromoted"),
    );
    refresh.step(
        "WaitPromoted",
        wait_available(
            obj! { "target": target(), "appearing": true, "downtimeStartedAt.$": at(RETIREMENT, STARTED_AT) },
            RENAMED_POLLING,
        )
        .comment("Polls until the new instance is available under the target's name; reports the downtime from the retirement.")
        .result_selector(endpoint_and_downtime())
        .result_path(AVAILABLE)
        .next("RetainOld"),
    );
}

// --- Replace mode -------------------------------------------------------------------------------
//
// Delete the target, then restore it from the copy: the downtime runs from the delete to the
// restored target serving.

fn replace(refresh: &mut Refresh) {
    refresh.step(
        "DeleteTarget",
        delete(target(), DELETION)
            .comment("Deletes the target, by its exact identifier, if it still names this source (optionally with a final snapshot; turning deletion protection off first when allowed). Keeps a target already restored from this copy by an unfinished run.")
            .next("AlreadyRestored"),
    );
    refresh.add(
        "AlreadyRestored",
        Choice::new(
            "A re-run that finds the target already restored from this copy goes on from there.",
            vec![when(compare(at(DELETION, "outcome"), "StringEquals", "already-restored"), "WaitAvailable")],
            "WaitDeleted",
        ),
    );
    refresh.step(
        "WaitDeleted",
        wait_deleted(target(), DELETION)
            .comment("Polls until the target is gone (only DBInstanceNotFound counts); tags the final snapshot.")
            .next("RestoreTarget"),
    );
    refresh.step(
        "RestoreTarget",
        restore(obj! {
            "source.$": SOURCE,
            "target": target(),
            "copy.$": COPY,
            "configuration.$": configuration(),
            "execution.$": EXECUTION_ID,
            "sqlRuns.$": at(SQL, "run"),
        })
            .comment("Restores the target from the copy with every setting of its configuration that the restore accepts, tagged with its source and as not yet finished.")
            .next("WaitAvailable"),
    );
    refresh.step(
        "WaitAvailable",
        wait_available(obj! { "target": target(), "downtimeStartedAt.$": at(DELETION, STARTED_AT) }, AVAILABLE_POLLING)
            .comment("Polls until the restored target is available; reports the downtime from the delete.")
            .result_selector(endpoint_and_downtime())
            .result_path(AVAILABLE)
            .next("Credentials?"),
    );
    credentials(refresh, CredentialStates::TARGET, target(), SqlStates::TARGET.asked);
    sql(refresh, SqlStates::TARGET, "ConfigureTarget");
    refresh.step(
        "ConfigureTarget",
        configure(target())
            .comment("Applies the settings the restore does not accept, and any it did not apply, with one ModifyDBInstance (ApplyImmediately); sets the user tags.")
            .next("WaitConfigured"),
    );
    refresh.step(
        "WaitConfigured",
        wait_configured(target())
            .comment("Polls until the target is available with no pending modification and every setting and tag of its configuration in effect.")
            .next("TagTarget"),
    );
}

// --- Credentials -------------------------------------------------------------------------------
//
// Before the target's name serves the new instance (swap: beside it, before RetireTarget;
// replace: right after the restore): the master password from y's secret (or a managed secret
// like y's), waited for; the roles' passwords and logins inside the database; every login
// checked. A failure takes the failure path like any step (in swap mode the new instance is
// removed and the target keeps serving).

/// The names of one credentials block's states.
struct CredentialStates {
    asked: &'static str,
    set: &'static str,
    wait: &'static str,
    roles: &'static str,
    check: &'static str,
}

impl CredentialStates {
    const BESIDE: CredentialStates = CredentialStates {
        asked: "CredentialsBeside?",
        set: "SetCredentialsBeside",
        wait: "WaitCredentialsBeside",
        roles: "ApplyRolesBeside",
        check: "CheckConnectionsBeside",
    };
    const TARGET: CredentialStates = CredentialStates {
        asked: "Credentials?",
        set: "SetCredentials",
        wait: "WaitCredentials",
        roles: "ApplyRoles",
        check: "CheckConnections",
    };
}

fn credentials(refresh: &mut Refresh, names: CredentialStates, instance: Json, next: &'static str) {
    refresh.add(
        names.asked,
        Choice::new(
            "The credential steps run when CheckSecrets planned master credentials (a secret, or a managed secret like the target's).",
            // Not IsNull true, rather than IsNull false: the same on AWS, and the local
            // interpreter (aws-local-stepfunctions 3.x) treats every `IsNull: false` as unmet.
            vec![when(not(compare(at(CREDENTIALS, "master"), "IsNull", true)), names.set)],
            next,
        ),
    );
    refresh.step(
        names.set,
        invoke("SetCredentials", obj! { "target": instance.clone(), "credentials.$": CREDENTIALS })
            .comment("Sets the new instance's master password from the target's secret (ModifyDBInstance MasterUserPassword), or gives it an RDS-managed secret with the target's KMS key (ManageMasterUserPassword). CredentialsNotApplied when RDS refuses.")
            .result_selector(from_payload(&["requestedAt"]))
            .result_path(CREDENTIALS_SET)
            .retry_first(CREDENTIALS_BUSY_POLLING)
            .next(names.wait),
    );
    refresh.step(
        names.wait,
        invoke(
            "WaitCredentials",
            obj! {
                "target": instance,
                "credentials.$": CREDENTIALS,
                "requestedAt.$": at(CREDENTIALS_SET, "requestedAt"),
            },
        )
        .comment("Polls until RDS has applied the master credentials (no pending MasterUserPassword, the managed secret active); CredentialsNotApplied after 20 minutes. Keeps the endpoint.")
        .result_selector(from_payload(&["endpoint", "masterUserSecretArn"]))
        .result_path(DATABASE)
        .retry_first(CREDENTIALS_POLLING)
        .next(names.roles),
    );
    refresh.step(
        names.roles,
        invoke("ApplyRoles", obj! { "database.$": DATABASE, "credentials.$": CREDENTIALS })
            .comment("Inside the database, as the master user (CredentialsNotApplied if its new password does not log in): sets each role's password from its secret (RoleNotFound for a role the snapshot lacks); with otherLogins disable, NOLOGIN for every other login role. ConnectionFailed names host, port and role.")
            .result_selector(from_payload(&["rolesSet", "loginsDisabled"]))
            .result_path(ROLES)
            .next(names.check),
    );
    refresh.step(
        names.check,
        invoke("CheckConnections", obj! { "database.$": DATABASE, "credentials.$": CREDENTIALS, "roles.$": ROLES })
            .comment("Logs in as the master user and as each role given a secret, with the target's secrets, and runs SELECT 1 (ConnectionFailed otherwise). Reports what the credential steps did.")
            .result_selector(from_payload(&[
                "masterUsername",
                "masterUserSecretArn",
                "rolesSet",
                "loginsDisabled",
                "checkedLogins",
            ]))
            .result_path(CREDENTIALS_APPLIED)
            .next(next),
    );
}

// --- SQL -----------------------------------------------------------------------------------------
//
// After the credentials and before the target's name serves the new instance (swap: beside it,
// before RetireTarget; replace: right after the credentials): each script of the SQL plan in
// order, one invocation each, then the verification queries. A failure takes the failure path
// (in swap mode the new instance is removed and the target keeps serving, untouched).

/// The names of one SQL block's states.
struct SqlStates {
    asked: &'static str,
    scripts: &'static str,
    script: &'static str,
    verify: &'static str,
}

impl SqlStates {
    const BESIDE: SqlStates = SqlStates {
        asked: "SqlBeside?",
        scripts: "RunScriptsBeside",
        script: "RunScriptBeside",
        verify: "VerifyDataBeside",
    };
    const TARGET: SqlStates =
        SqlStates { asked: "Sql?", scripts: "RunScripts", script: "RunScript", verify: "VerifyData" };
}

fn sql(refresh: &mut Refresh, names: SqlStates, next: &'static str) {
    refresh.add(
        names.asked,
        Choice::new(
            "The SQL steps run when CheckScripts planned scripts or verification queries.",
            vec![when(compare(at(SQL, "run"), "BooleanEquals", true), names.scripts)],
            next,
        ),
    );
    let script = invoke_script("RunScript", obj! { "Payload.$": "$" })
        .comment("Runs one script on the new instance as the master user, in its database: in one transaction unless it says transaction: false, statement_timeout set, within 840 s. SqlScriptFailed (statement, SQLSTATE, message), SqlTimedOut, ScriptChanged (its text is not the one CheckScripts hashed).")
        .result_selector(from_payload(&["name", "database", "sha256", "statements", "rowsAffected", "durationSeconds"]))
        .end();
    refresh.map_step(
        names.scripts,
        Map::one_at_a_time(
            "Runs the scripts in order, one invocation each (a script has one Lambda invocation's time); the first that fails stops the rest.",
            at(SQL, "scripts"),
            obj! {
                "region.$": TARGET_REGION,
                "database.$": DATABASE,
                "credentials.$": CREDENTIALS,
                "script.$": "$$.Map.Item.Value",
                "statementTimeoutSeconds.$": at(SQL, "statementTimeoutSeconds"),
            },
            (names.script, script.into()),
            SQL_RAN,
            names.verify,
        ),
    );
    refresh.step(
        names.verify,
        invoke(
            "VerifyData",
            obj! {
                "database.$": DATABASE,
                "credentials.$": CREDENTIALS,
                "verify.$": at(SQL, "verify"),
                "statementTimeoutSeconds.$": at(SQL, "statementTimeoutSeconds"),
                "scripts.$": SQL_RAN,
            },
        )
        // Read-only: retried as any task; its queries together have one invocation's time.
        .timeout_seconds(SQL_TASK_TIMEOUT_SECONDS)
        .comment("Runs each verification query in a read-only transaction; each must return a single true (VerificationFailed names the query and what it returned). Reports what the SQL steps did.")
        .result_selector(from_payload(&["scripts", "verify"]))
        .result_path(SQL_APPLIED)
        .next(next),
    );
}

// --- Finish ---------------------------------------------------------------------------------------
//
// The new target serves. Swap mode first keeps the retired target for a while and deletes it
// (RetainOld to WaitRetiredDeleted), then both modes tag the target, prune, unlock and notify.

fn finish(refresh: &mut Refresh) {
    refresh.step(
        "TagTarget",
        invoke(
            "TagTarget",
            obj! {
                "source.$": SOURCE,
                "target": target(),
                "snapshot.$": SNAPSHOT,
                "copy.$": COPY,
                "execution.$": EXECUTION_ID,
            },
        )
        .comment("Tags the new target with its source, snapshot, refresh time and execution; removes the mark of an unfinished refresh (in swap mode only once the retired target is gone, so that a re-run after any failure before finishes the swap).")
        .result_selector(from_payload(&["tags"]))
        .result_path(TAGS)
        .next("PruneCopies"),
    );
    refresh.add(
        "RetainOld",
        Wait {
            comment: "Keeps the retired target for retainOldMinutes (0 by default).",
            seconds_path: "$.retainOldSeconds",
            next: "DeleteRetired",
        },
    );
    refresh.step(
        "DeleteRetired",
        delete(retired(), RETIRED_DELETION)
            .comment("Swap 4: deletes the retired target (with the final-snapshot and deletion-protection rules).")
            .next("WaitRetiredDeleted"),
    );
    refresh.step(
        "WaitRetiredDeleted",
        wait_deleted(retired(), RETIRED_DELETION)
            .comment("Polls until the retired target is gone; tags its final snapshot.")
            .next("TagTarget"),
    );
    refresh.step(
        "PruneCopies",
        invoke(
            "PruneCopies",
            obj! {
                "source.$": SOURCE,
                "target": target(),
                "copy.$": COPY,
                "retain.$": "$.request.copy.retain",
                "swap.$": at(TARGET_STATE, "swap"),
            },
        )
        .comment("Deletes the copies rds-refresh made for this source and target beyond the newest copy.retain, and the temporary instances earlier swaps left; reports retired targets they left; nothing else.")
        .result_selector(from_payload(&["kept", "deleted", "deletedInstances", "leftovers"]))
        .result_path(PRUNED)
        .next("UnlockTarget"),
    );
    refresh.step("UnlockTarget", unlock().comment("Releases the target's lock.").next("NotifySuccess?"));
    refresh.add("NotifySuccess?", notify_if_topic("NotifySuccess", "Refreshed"));
    // The lock is released already: a notification that fails only says so (NotificationFailed).
    refresh.add(
        "NotifySuccess",
        publish(
            TOPIC,
            subject("refreshed", TARGET_ID),
            notification(
                "succeeded",
                obj! {
                    "copy.$": COPY,
                    "endpoint.$": at(AVAILABLE, "endpoint"),
                    "mode.$": MODE,
                    "downtime.$": at(AVAILABLE, DOWNTIME),
                    "credentials.$": CREDENTIALS_APPLIED,
                    "sql.$": SQL_APPLIED,
                },
            ),
        )
        .comment("Publishes the outcome to notify.topicArn.")
        .catch(catch_all(ERROR, "NotificationFailed"))
        .next("Refreshed"),
    );
    refresh.add(
        "Refreshed",
        Pass::output(
            "The execution output (schemas/refresh-output.schema.json).",
            obj! {
                "source.$": SOURCE,
                "target": target(),
                "snapshot.$": SNAPSHOT,
                "copy.$": COPY,
                "endpoint.$": at(AVAILABLE, "endpoint"),
                "replacedExistingTarget.$": at(TARGET_STATE, "exists"),
                "configuration.$": configuration(),
                "deletedCopies.$": at(PRUNED, "deleted"),
                "deletedInstances.$": at(PRUNED, "deletedInstances"),
                "leftovers.$": at(PRUNED, "leftovers"),
                "mode.$": MODE,
                // The CLI reads the output's downtime.
                (format!("{DOWNTIME}.$")): at(AVAILABLE, DOWNTIME),
                "lockTakenOverFrom.$": at(LOCK, "takenOverFrom"),
                "credentials.$": CREDENTIALS_APPLIED,
                "sql.$": SQL_APPLIED,
            },
        ),
    );
}

// --- Failure path ---------------------------------------------------------------------------------
//
// Every step's failure goes one way: record the failing state, leave a target that serves
// (swap mode), release the lock, notify, and fail under the original error name. Each of these
// states catches its own failure under its own name, so that the first error is the one the
// execution fails with.

fn failure_path(refresh: &mut Refresh) {
    // A Catch cannot write a fixed value: one tiny Pass per step records its name.
    for step in std::mem::take(&mut refresh.steps) {
        refresh.add(
            failed(step),
            Pass::result(
                format!("Records that {step} failed, for the notification."),
                step,
                FAILED_STATE,
                "RecoverSwap",
            ),
        );
    }
    refresh.add(
        "RecoverSwap",
        invoke(
            "RecoverSwap",
            obj! { "source.$": SOURCE, "target": target(), "mode.$": MODE, "targetState.$": TARGET_STATE },
        )
        .comment("Swap mode: leaves a target that serves. Before the switch, removes the temporary instance; between the renames, renames the retired target back.")
        .result_selector(from_payload(&["recovery"]))
        .result_path(RECOVERY)
        .retry_first(BUSY_POLLING)
        .catch(catch_all(RECOVERY_ERROR, "UnlockAfterFailure"))
        .next("RenamedBack?"),
    );
    let recovery = at(RECOVERY, "recovery");
    refresh.add(
        "RenamedBack?",
        Choice::new(
            "Wait until the target serves when a rename is under way.",
            vec![
                when(compare(&recovery, "StringEquals", "renamed-back"), "WaitRecovered"),
                when(compare(&recovery, "StringEquals", "switched"), "WaitRecovered"),
            ],
            "UnlockAfterFailure",
        ),
    );
    refresh.add(
        "WaitRecovered",
        wait_renamed(target())
            .comment("Polls until the target serves under its name: the old one renamed back, or the new one after the switch.")
            .catch(catch_all(RECOVERY_ERROR, "UnlockAfterFailure"))
            .next("UnlockAfterFailure"),
    );
    refresh.add(
        "UnlockAfterFailure",
        unlock()
            .comment("Releases the lock if this execution holds it (a no-op otherwise, as after TargetLocked); a failure here does not hide the first one.")
            .catch(catch_all(UNLOCK_ERROR, "NotifyFailure?"))
            .next("NotifyFailure?"),
    );
    refresh.add("NotifyFailure?", notify_if_topic("NotifyFailure", "FailedBecause"));
    refresh.add(
        "NotifyFailure",
        publish(
            TOPIC,
            subject("failed", TARGET_ID),
            notification(
                "failed",
                obj! {
                    "failedState.$": FAILED_STATE,
                    "error.$": at(ERROR, "Error"),
                    "cause.$": at(ERROR, "Cause"),
                },
            ),
        )
        .comment("Publishes the failure to notify.topicArn: the failing state, error and cause.")
        .catch(catch_all(NOTIFY_ERROR, "FailedBecause"))
        .next("FailedBecause"),
    );
    refresh.add(
        "FailedBecause",
        Choice::new(
            "A bounded wait that ran out (NotReady) is WaitTimedOut; anything else keeps its name.",
            vec![when(compare(at(ERROR, "Error"), "StringEquals", NOT_READY), "WaitTimedOut")],
            "RefreshFailed",
        ),
    );
    refresh.add(
        "WaitTimedOut",
        Fail {
            comment: Some("A bounded wait ran out; the cause is the last status seen."),
            error: Some(WAIT_TIMED_OUT),
            cause_path: Some(at(ERROR, "Cause")),
            ..Fail::default()
        },
    );
    refresh.add(
        "NotificationFailed",
        failed_with_error(
            "The refresh succeeded (and the lock is released), but the notification could not be published.",
        ),
    );
    refresh.add("RefreshFailed", failed_with_error("Any other failure, under the failing task's error name."));
}

/// Fails with the caught error's own name and cause.
fn failed_with_error(comment: &'static str) -> Fail {
    Fail {
        comment: Some(comment),
        error_path: Some(at(ERROR, "Error")),
        cause_path: Some(at(ERROR, "Cause")),
        ..Fail::default()
    }
}

// --- What the phases share ------------------------------------------------------------------------

/// The target, as the request names it.
fn target() -> Json {
    instance(TARGET_REGION, TARGET_ID)
}

/// The swap's names, derived from the target and the snapshot (DescribeTarget), in the target's
/// region: the new instance's beside the target, and the target's once renamed away.
fn temporary_name() -> String {
    at(TARGET_STATE, "swap.temporary")
}

fn retired_name() -> String {
    at(TARGET_STATE, "swap.retired")
}

fn beside() -> Json {
    instance(TARGET_REGION, temporary_name())
}

fn retired() -> Json {
    instance(TARGET_REGION, retired_name())
}

/// The configuration DescribeTarget read (or kept from an earlier run), overrides applied.
fn configuration() -> String {
    at(TARGET_STATE, "configuration")
}

/// lock-target's input: the lock on the target, held by this execution.
fn lock(action: &str) -> Json {
    obj! { "target": target(), "execution.$": EXECUTION_ID, "action": action }
}

fn unlock() -> Task {
    invoke("LockTarget", lock("release")).discard_result()
}

/// restore-target: the restore's ARN and status are kept.
fn restore(payload: Json) -> Task {
    invoke("RestoreTarget", payload).result_selector(from_payload(&["arn", "status"])).result_path(RESTORE)
}

/// wait-available on an instance, polling as long as what it waits for takes.
fn wait_available(payload: Json, polling: Retrier) -> Task {
    invoke("WaitAvailable", payload).discard_result().retry_first(polling)
}

/// Until the instance is available with every setting and tag of the configuration in effect.
fn wait_configured(instance: Json) -> Task {
    wait_available(obj! { "target": instance, "configuration.$": configuration() }, AVAILABLE_POLLING)
}

/// Until the instance serves under its new name (`appearing`: not found yet is not a failure).
fn wait_renamed(instance: Json) -> Task {
    wait_available(obj! { "target": instance, "appearing": true }, RENAMED_POLLING)
}

/// What the last wait keeps of the target serving again: its endpoint and the downtime.
fn endpoint_and_downtime() -> Json {
    from_payload(&["endpoint", DOWNTIME])
}

/// configure-target: one ModifyDBInstance for whatever differs from the configuration, and the
/// user tags; an instance in a passing status is waited for.
fn configure(instance: Json) -> Task {
    invoke("ConfigureTarget", obj! { "target": instance, "configuration.$": configuration() })
        .result_selector(from_payload(&["modified", "tagsSet", "tagsRemoved"]))
        .result_path(CONFIGURED)
        .retry_first(BUSY_POLLING)
}

/// rename-target, `from` an instance `to` the identifier at a path; when the old name stopped
/// serving is kept at `result_path`.
fn rename(from: Json, to: impl Into<String>, result_path: &'static str) -> Task {
    invoke("RenameTarget", obj! { "source.$": SOURCE, "from": from, "to.$": to.into() })
        .result_selector(from_payload(&["outcome", STARTED_AT]))
        .result_path(result_path)
        .retry_first(BUSY_POLLING)
}

/// delete-target, with the request's final-snapshot and deletion-protection rules; what it did
/// (its final snapshot, when the deletion started) is kept at `result_path` for [`wait_deleted`].
fn delete(instance: Json, result_path: &'static str) -> Task {
    invoke(
        "DeleteTarget",
        obj! {
            "source.$": SOURCE,
            "target": instance,
            "copy.$": COPY,
            "allowDisableDeletionProtection.$": "$.request.target.allowDisableDeletionProtection",
            "finalSnapshot.$": "$.request.target.finalSnapshot",
            "execution.$": EXECUTION_ID,
            "sqlRuns.$": at(SQL, "run"),
        },
    )
    .result_selector(from_payload(&["outcome", "finalSnapshot", STARTED_AT]))
    .result_path(result_path)
    .retry_first(BUSY_POLLING)
}

/// wait-deleted on the instance [`delete`] deleted, with what it kept at `deletion`.
fn wait_deleted(instance: Json, deletion: &str) -> Task {
    invoke(
        "WaitDeleted",
        obj! {
            "target": instance,
            "finalSnapshot.$": at(deletion, "finalSnapshot"),
            "deletionStartedAt.$": at(deletion, STARTED_AT),
        },
    )
    .discard_result()
    .retry_first(DELETED_POLLING)
}

fn notify_if_topic(notify: &'static str, otherwise: &'static str) -> Choice {
    Choice::new(
        "Notify only when notify.topicArn is given (IsString: null is not).",
        vec![when(compare(TOPIC, "IsString", true), notify)],
        otherwise,
    )
}

/// A notification's message: the outcome, this execution, the source, target and snapshot, and
/// what is particular to the outcome.
fn notification(outcome: &str, particular: Json) -> Json {
    obj! {
        "outcome": outcome,
        "execution.$": EXECUTION_ID,
        "source.$": SOURCE,
        "target": target(),
        "snapshot.$": SNAPSHOT,
    }
    .extended(particular)
}
