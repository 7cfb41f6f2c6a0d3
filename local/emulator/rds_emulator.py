#!/usr/bin/env python3
"""The local RDS emulator: moto's server, plus what tests of a refresh need and stock moto lacks.

Stock moto (see ../../README.md, "Running it with no AWS account") answers every RDS call at
once: instances are available the moment they are created and vanish the moment they are
deleted, snapshots are never `creating`, and no call ever fails on purpose; and it skips many of
AWS's rules. A refresh's wait loops, retries and failure paths would never run. This launcher
patches moto in-process: aws_rules.py makes it refuse what AWS refuses (with AWS's error codes
and messages; the list, with references, is in README.md), and a small control API under
`/_emulator/` (JSON over HTTP, on the same port) makes statuses take time and calls fail:

  POST   /_emulator/transitions    {"instance.creating": {"reads": 2}, "snapshot.creating": {"seconds": 5}, ...}
         From now on, new instances stay `creating`, deleted ones stay visible as `deleting`,
         modified ones stay `modifying`, renamed ones stay `renaming` (under the new name), and
         new snapshots and copies stay `creating` (or the status given as "status", such as
         `pending`), for the next N describe calls that return them ({"reads": N}) or for S
         seconds ({"seconds": S}).
         Any of these may also take "phases": statuses shown *before* the held one, each for its
         own reads or seconds, written ["status", N] (N reads) or {"status": ..., "reads"|"seconds": ...}.
         E.g. a delete whose first describe is stale, then `delete-precheck`, then 2 reads of `deleting`:
           {"instance.deleting": {"phases": [["available", 1], ["delete-precheck", 1]], "reads": 2}}
         (the DeleteDBInstance response itself shows the first phase's status).
         "instance.resetting-master-credentials" holds an instance whose master password is
         being changed (ModifyDBInstance MasterUserPassword, or ManageMasterUserPassword turned
         on or off) in `resetting-master-credentials`, with PendingModifiedValues
         MasterUserPassword "****", then applies the password (in the server, with --databases)
         and makes it `available`; when not set, for 1 describe read.
         "instance.after-create" has no status of its own: the statuses a created or restored
         instance passes through once `creating` is over (at once if instance.creating is not
         set), each for the same reads or seconds, before it is `available`:
           {"instance.after-create": {"statuses": ["backing-up", "configuring-enhanced-monitoring"], "reads": 2}}
         or with "phases" in place of "statuses" and the timing, to time each one.
         Merged into the current settings; a null value removes one. GET shows, DELETE clears.
  POST   /_emulator/instance-status {"region": "us-west-2", "dbInstanceIdentifier": "y",
                                     "status": "maintenance", "reads": 2 | "seconds": 30 (optional)}
         Puts an existing instance into any status (`maintenance`, `backing-up`,
         `storage-optimization`, `delete-precheck`, `stopped`, ...) for N reads or S seconds, then
         back to `available`; with neither, until it is set again. While an instance is not
         `available`, ModifyDBInstance (a rename too) and DeleteDBInstance are refused as AWS
         refuses them (InvalidDBInstanceState; in `storage-optimization` only storage changes are).
  POST   /_emulator/faults         {"action": "CopyDBSnapshot", "code": "Throttling", "status": 400,
                                    "message": "Rate exceeded", "count": 2,
                                    "dbInstanceIdentifier": "y" (optional), "region": "us-west-2" (optional),
                                    "bucket": "scripts", "key": "mask.sql" (optional: S3 calls)}
         The next `count` matching calls (default 1; -1 = every one) fail with that AWS error
         instead of reaching moto. Accepts one fault or a list. GET shows, DELETE clears.
         An S3 fault ({"action": "GetObject", "code": "AccessDenied"}) answers S3's REST error
         (the <Error> document, no body for HEAD) with, unless given, S3's status and message
         for AccessDenied, NoSuchKey, NoSuchBucket, SlowDown and InternalError (s3_requests.py).
  POST   /_emulator/snapshot-status {"region": ..., "snapshotIdentifier": ..., "status": "creating",
                                     "snapshotCreateTime": "2026-11-22T05:10:00Z"}
         Sets a snapshot's status and/or creation time (either may be left out).
  POST   /_emulator/execution  {"executionArn": "arn:aws:states:...:execution:MACHINE:NAME",
                                 "status": "RUNNING"|"SUCCEEDED"|"FAILED"|"TIMED_OUT"|"ABORTED",
                                 "output": "<JSON text>" (SUCCEEDED only), "error", "cause" (FAILED,
                                 TIMED_OUT, ABORTED only; each optional),
                                 "states": [{"name": "CheckInput", "type": "Task"}, ...] (optional)}
         How an execution that moto knows (CreateStateMachine, StartExecution) and the local
         runner ran has ended, or how far it has got; "states" are the states it entered, in
         order ("type": Task, Pass, Choice, Wait, Succeed, Fail, Parallel or Map). From then on
         DescribeExecution answers that status, with stopDate (unless RUNNING), output, error
         and cause, and GetExecutionHistory answers ExecutionStarted, one <Type>StateEntered
         per state, then ExecutionSucceeded/Failed/TimedOut/Aborted, paged and in either order
         as AWS does (see "Step Functions executions" below). An execution never reported stays
         RUNNING with a history of ExecutionStarted alone (never moto's fake one); StopExecution
         makes any execution ABORTED. Answers {}; 404 for an execution moto does not know.
  GET    /_emulator/calls          {"calls": {"DescribeDBInstances": 12, ...}, "log": [...]}
         Every RDS, SNS, STS (Query protocol, "Action"), Step Functions and Secrets Manager (JSON
         protocol, X-Amz-Target `AWSStepFunctions.<Action>`, `secretsmanager.<Action>`) and S3
         (REST: the operation its method, path and query name, s3_requests.py) call
         received, by action, and in order with its action, signing service ("service": rds,
         sns, sts, states, secretsmanager, s3), region, the access key that
         signed it ("accessKey"), the instance it names and that instance's tags at that moment
         ("dbInstanceIdentifier", "resourceTags", for IAM's rds:db-tag conditions; null for
         Step Functions, Secrets Manager and S3), its parameters ("params": as sent, passwords
         left out; for the JSON protocol the JSON body, e.g. {"executionArn": ...}, without
         SecretString and SecretBinary; for S3 {"Bucket", "Key", and the members sent in the
         query and headers, e.g. "VersionId", "IfMatch", "Range"}, never the body), and when it
         reached the emulator ("at": UTC, RFC 3339 to the microsecond,
         "2026-12-01T23:40:01.123456Z", before it waits for other calls and is answered; entries
         are in the order the calls were served, so calls made at once may show their "at" out
         of order). Faults match these actions too (a Step Functions or Secrets Manager
         fault answers in the JSON protocol, an S3 one in S3's). DELETE resets.
  GET    /_emulator/databases      {"enabled": true, "caBundle": "<absolute path of the CA's PEM>",
                                    "servers": [{"region", "dbInstanceIdentifier", "port", "dataDirectory"}]}
         The data plane (--databases): the PostgreSQL server of each instance, and the CA
         that signed their certificates (verify-full against 127.0.0.1). Off: {"enabled":
         false, "caBundle": null, "servers": []}. See data_plane.py and README.md.
  POST   /_emulator/restore-window {"lagSeconds": 2}
         How far behind now the automated backups' LatestTime (and DescribeDBInstances'
         LatestRestorableTime) is: S >= 0 seconds (default 2; AWS: "typically within the last
         five minutes"). GET shows it. The transition "automated-backup.replicating" holds a
         new replicated automated backup (StartDBInstanceAutomatedBackupsReplication) in
         `replicating` for N reads or S seconds, then `active`. See automated_backups.py.
  POST   /_emulator/reset          Forgets everything: moto's RDS, DynamoDB, Step Functions
                                   (executions and what was reported of them), Secrets
                                   Manager and S3 state, transitions, faults, calls; stops and
                                   removes every PostgreSQL server and snapshot file.
  POST   /_emulator/seed           {"world": "standard", "reset": true (optional),
                                    "instances": ["x"] (optional: some of the world's),
                                    "identifiers": {"x": "x-2"} (optional),
                                    "overrides": {"y": {"DeletionProtection": false}} (optional)}
         Creates a world declared in worlds.json (instances, their settings and tags, their
         snapshots with their statuses and creation times, and with --databases their data)
         through the RDS API, and answers what it created: each instance's identifier, ARN,
         DbiResourceId, tags and snapshots, and with --databases how to reach its server
         ("database": address, port, masterUsername, the passwords seeded). GET answers the
         declared worlds. See seeding.py and README.md, "Seeding".

It also provisions what the deployed stack provides besides RDS: the state table that the
tasks find through RDS_REFRESH_STATE_TABLE (DynamoDB, partition key `target`), named by
--state-table in --state-region (default `rds-refresh-state` in us-east-1, the local
functions' region); `--state-table ''` leaves it out. And it keeps and reports the
Performance Insights settings, which stock moto drops.

With --databases, each RDS for PostgreSQL instance gets a real PostgreSQL server (data_plane.py;
README.md, "The data plane"): DescribeDBInstances reports its Endpoint (127.0.0.1 and its
port), snapshots are physical copies of it, restores start new servers from them, and master
passwords and RDS-managed master secrets (Secrets Manager, served on the same port) are set in
it. Everything lives in --database-dir (default: a new folder under .local/emulator-databases/
of the repository), removed with every server when the emulator exits, SIGKILL included.

Usage: rds_emulator.py [--host 127.0.0.1] [--port 0] [--exit-on-stdin-eof] [--verbose]
                       [--state-table NAME] [--state-region REGION]
                       [--databases [--database-dir DIR]]
Prints `listening http://HOST:PORT` on stdout once it accepts connections (port 0 picks a free
one). With --exit-on-stdin-eof it exits when its stdin closes, so a test harness that holds the
pipe can never leave it running; SIGTERM and SIGINT make it exit too. This is the launcher
protocol every client follows (README.md, "Starting it from a program"); emulator_process.py
implements it for Python.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import io
import json
import logging
import os
import signal
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs

import automated_backups
import aws_rules
import data_plane
import s3_requests
import seeding
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.rds import responses as rds_responses
from moto.rds.exceptions import RDSClientError
from moto.dynamodb.models import dynamodb_backends
from moto.rds.models import DBInstance, DBSnapshot, MasterUserSecret, RDSBackend, rds_backends
from moto.secretsmanager.models import secretsmanager_backends
from moto.stepfunctions import responses as sfn_responses
from moto.stepfunctions.exceptions import ExecutionDoesNotExist, InvalidArn, InvalidToken, ValidationException
from moto.stepfunctions.models import Execution, StepFunctionBackend, stepfunctions_backends
from werkzeug.serving import make_server

ACCOUNT_ID = "123456789012"  # moto's default account; the SDK's dummy credentials map to it
CONTROL_PREFIX = "/_emulator/"
# The X-Amz-Target prefixes of the JSON-protocol calls that are logged and can be faulted, and
# the content type of their answers: Step Functions (`AWSStepFunctions.DescribeExecution`) and
# Secrets Manager (`secretsmanager.GetSecretValue`). (DynamoDB's, `DynamoDB_20120810.*`, are not
# logged: the state table is not what the log is for.)
JSON_TARGETS = {
    "AWSStepFunctions.": "application/x-amz-json-1.0",
    "secretsmanager.": "application/x-amz-json-1.1",
}
# JSON-protocol parameters never logged: the secrets themselves.
SECRET_PARAMETERS = ("SecretString", "SecretBinary")

# What each transition holds, and what the resource becomes once it is over.
TRANSITIONS = {
    "instance.creating": ("creating", "available"),
    "instance.deleting": ("deleting", None),  # None: the instance is gone
    "instance.modifying": ("modifying", "available"),
    "instance.renaming": ("renaming", "available"),
    # ModifyDBInstance MasterUserPassword (or ManageMasterUserPassword): applied "asynchronously
    # ... as soon as possible" whatever ApplyImmediately says [ModifyDBInstance, MasterUserPassword].
    "instance.resetting-master-credentials": ("resetting-master-credentials", "available"),
    "snapshot.creating": ("creating", "available"),
    # No status of its own: the statuses a new (created or restored) instance passes through
    # after `creating`, before it is `available`.
    "instance.after-create": (None, "available"),
    # A replicated automated backup (StartDBInstanceAutomatedBackupsReplication) is `replicating`
    # until its first snapshot and logs are in the destination Region, then `active`.
    automated_backups.REPLICATING: ("replicating", "active"),
}
AFTER_CREATE = "instance.after-create"
RESETTING = "instance.resetting-master-credentials"
# How long a password change is held when the transition is not set: one describe read.
RESETTING_DEFAULT = {"reads": 1}


def _timing(setting: dict) -> dict:
    return {k: setting[k] for k in ("reads", "seconds") if k in setting}


def _phase(spec: Any) -> "Phase":
    """A phase from its control-API form: ["status", N] (N reads) or {"status", "reads"|"seconds"}."""
    if isinstance(spec, list):
        status, reads = spec
        return Phase(status=status, reads=int(reads))
    reads, seconds = spec.get("reads"), spec.get("seconds")
    return Phase(
        status=spec["status"],
        reads=int(reads) if reads is not None else None,
        seconds=float(seconds) if seconds is not None else None,
    )


@dataclasses.dataclass
class Phase:
    """A status held for N client reads or S seconds (exactly one is set)."""

    status: str
    reads: int | None = None
    seconds: float | None = None


@dataclasses.dataclass
class Pending:
    """A resource held in transitional statuses, one phase after another, until the last
    phase's reads or seconds run out; it then takes `final_status` (None: an instance is gone)."""

    resource: Any
    backend: RDSBackend
    final_status: str | None
    phases: list[Phase]
    reads_left: int | None = None
    deadline: float | None = None
    # What the change does once it is over (a new master password is set in the server).
    on_finish: Callable[[], None] | None = None

    def start_next(self) -> bool:
        """Enters the next phase; False when there is none left."""
        if not self.phases:
            return False
        phase = self.phases.pop(0)
        self.resource.status = phase.status
        self.reads_left = phase.reads
        self.deadline = time.monotonic() + phase.seconds if phase.seconds is not None else None
        return True

    def is_over(self, now: float) -> bool:
        if self.reads_left is not None:
            return self.reads_left <= 0
        return self.deadline is not None and now >= self.deadline

    def finish(self) -> None:
        if self.final_status is not None:
            self.resource.status = self.final_status
        elif isinstance(self.resource, DBInstance):
            identifier = self.resource.db_instance_identifier
            if self.backend.databases.get(identifier) is self.resource:
                del self.backend.databases[identifier]
        self.apply()

    def apply(self) -> None:
        """Carries out what the change does (once)."""
        action, self.on_finish = self.on_finish, None
        if action is not None:
            action()


class State:
    """Everything the control API sets. Guarded by `lock`, which also serialises moto itself."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.state_table: tuple[str, str] | None = None  # (name, region)
        self.clear()

    def provision(self) -> None:
        """Creates the state table, as the deployed stack would."""
        if self.state_table is None:
            return
        name, region = self.state_table
        backend = dynamodb_backends[ACCOUNT_ID][region]
        if name in backend.tables:
            return
        backend.create_table(
            name,
            schema=[{"AttributeName": "target", "KeyType": "HASH"}],
            throughput=None,
            attr=[{"AttributeName": "target", "AttributeType": "S"}],
            global_indexes=None,
            indexes=None,
            streams=None,
            billing_mode="PAY_PER_REQUEST",
            sse_specification=None,
            tags=[],
            deletion_protection_enabled=False,
            warm_throughput=None,
        )

    def clear(self) -> None:
        self.transitions: dict[str, dict[str, Any]] = {}
        self.pending: list[Pending] = []
        self.faults: list[dict[str, Any]] = []
        self.calls: dict[str, int] = {}
        self.log: list[dict[str, Any]] = []

    def phases_of(self, kind: str) -> list[Phase]:
        """The phases the transition `kind` holds a resource in, as currently set."""
        setting = self.transitions.get(kind)
        if kind == RESETTING and not setting:
            setting = RESETTING_DEFAULT
        phases: list[Phase] = []
        if setting and kind != AFTER_CREATE:
            phases += [_phase(p) for p in setting.get("phases", [])]
            phases.append(_phase({"status": setting.get("status", TRANSITIONS[kind][0]), **_timing(setting)}))
        if kind == "instance.creating":
            phases += self.phases_of(AFTER_CREATE)
        elif kind == AFTER_CREATE and setting:
            if "phases" in setting:
                phases += [_phase(p) for p in setting["phases"]]
            else:
                phases += [_phase({"status": status, **_timing(setting)}) for status in setting["statuses"]]
        return phases

    def hold(self, kind: str, resource: Any, backend: RDSBackend) -> bool:
        """Puts `resource` through the phases of `kind`, if that transition is set; True if so."""
        return self.hold_phases(resource, backend, self.phases_of(kind), TRANSITIONS[kind][1])

    def hold_phases(self, resource: Any, backend: RDSBackend, phases: list[Phase], final: str | None,
                    on_finish: Callable[[], None] | None = None) -> bool:
        if not phases:
            return False
        self.release(resource)
        pending = Pending(resource=resource, backend=backend, final_status=final, phases=list(phases), on_finish=on_finish)
        pending.start_next()
        self.pending.append(pending)
        return True

    def release(self, resource: Any) -> None:
        """Forgets any transition of `resource`, leaving its status as it is; a change it was
        holding (a new master password) is carried out now: it was accepted."""
        for pending in self.pending:
            if pending.resource is resource:
                pending.apply()
        self.pending = [p for p in self.pending if p.resource is not resource]

    def finish_due(self, only_changes: bool = False) -> None:
        """Ends the phases that are over; `only_changes`: only of the holds that carry a change
        out at their end (the data plane's clock, so that a password held for S seconds is set
        then, whether or not anyone describes the instance)."""
        now = time.monotonic()
        still: list[Pending] = []
        for pending in self.pending:
            if only_changes and pending.on_finish is None:
                still.append(pending)
                continue
            while pending.is_over(now):
                if not pending.start_next():
                    pending.finish()
                    break
            else:
                still.append(pending)
        self.pending = still

    def count_read(self, resources: list[Any]) -> None:
        returned = {id(r) for r in resources}
        for pending in self.pending:
            if pending.reads_left is not None and id(pending.resource) in returned:
                pending.reads_left -= 1

    def is_held(self, resource: Any) -> bool:
        return any(p.resource is resource for p in self.pending)


STATE = State()

# The PostgreSQL servers (--databases); None: metadata only.
DATA_PLANE: data_plane.DataPlane | None = None

# Set while a describe call from a client runs, so that only those (not moto's own internal
# look-ups) count as reads of a held resource.
_client_read = threading.local()
# Set while moto restores an instance: what its server starts from ("snapshot": a DBSnapshot,
# or "source": the DBInstance of a point-in-time restore).
_restoring = threading.local()


def _patch_moto() -> None:
    """Hooks the transitions into moto's RDS backend, and AWS's rules (aws_rules.py) into moto."""
    aws_rules.install()

    def after(original: Callable, hook: Callable) -> Callable:
        def wrapper(self: RDSBackend, *args: Any, **kwargs: Any) -> Any:
            result = original(self, *args, **kwargs)
            hook(self, result, *args, **kwargs)
            return result

        return wrapper

    def on_create_instance(backend: RDSBackend, instance: DBInstance, *_: Any, **__: Any) -> None:
        STATE.hold("instance.creating", instance, backend)

    def on_create_snapshot(backend: RDSBackend, snapshot: DBSnapshot, *_: Any, **__: Any) -> None:
        STATE.hold("snapshot.creating", snapshot, backend)

    def on_manual_or_automated_snapshot(backend: RDSBackend, snapshot: DBSnapshot, *args: Any, **kwargs: Any) -> None:
        # CreateDBSnapshot, the automated snapshot of a new instance, a final snapshot: a
        # physical copy of the server as it is now. (moto's snapshot holds a copy of the
        # DBInstance object, not the instance itself.)
        if DATA_PLANE is not None:
            identifier = kwargs.get("db_instance_identifier") or (args[0] if args else "")
            instance = backend.databases.get(identifier.lower())
            restored_from = getattr(_restoring, "snapshot", None)
            if snapshot.snapshot_type == "automated" and restored_from is not None and DATA_PLANE.archive_of(restored_from):
                # A restored instance's first snapshot: the data it was restored from.
                DATA_PLANE.share_snapshot(restored_from, snapshot)
            elif instance is not None:
                DATA_PLANE.take_snapshot(instance, snapshot)
        on_create_snapshot(backend, snapshot)

    def on_copy_snapshot(backend: RDSBackend, copy: DBSnapshot, *args: Any, **kwargs: Any) -> None:
        if DATA_PLANE is not None:
            source_identifier = kwargs.get("source_db_snapshot_identifier") or (args[0] if args else "")
            source, _ = aws_rules._source_snapshot(backend, source_identifier)
            if source is not None:
                DATA_PLANE.share_snapshot(source, copy)
        on_create_snapshot(backend, copy)

    def on_delete_snapshot(backend: RDSBackend, snapshot: DBSnapshot, *_: Any, **__: Any) -> None:
        if DATA_PLANE is not None:
            DATA_PLANE.forget_snapshot(snapshot)

    original_create = RDSBackend.create_db_instance

    def create_db_instance(self: RDSBackend, db_kwargs: dict[str, Any]) -> DBInstance:
        if getattr(_restoring, "active", False):
            # moto copies the source's settings, an RDS-managed secret too (it would make a
            # new one); a restored instance has none until it is turned on with a modify, and
            # the snapshot's master password [RestoreDBInstanceFromDBSnapshot].
            db_kwargs["manage_master_user_password"] = False
            for key in ("master_user_secret", "emulator_password_pending", "emulator_secret_pending"):
                db_kwargs.pop(key, None)
        return original_create(self, db_kwargs)

    def restoring(original: Callable, what: Callable[..., dict[str, Any]]) -> Callable:
        def wrapper(self: RDSBackend, *args: Any) -> DBInstance:
            _restoring.__dict__.update(active=True, **what(self, *args))
            try:
                return original(self, *args)
            finally:
                _restoring.__dict__.clear()

        return wrapper

    def restored_snapshot(backend: RDSBackend, snapshot_id: str, *_: Any) -> dict[str, Any]:
        # As moto finds it: by name in the backend's own region.
        name = backend.extract_snapshot_name_from_arn(snapshot_id) if snapshot_id.startswith("arn:aws:rds:") else snapshot_id
        try:
            return {"snapshot": backend.describe_db_snapshots(None, name)[0]}
        except RDSClientError:
            return {}  # moto answers DBSnapshotNotFound

    def restore_db_instance_to_point_in_time(self: Any) -> ActionResult:
        # The source by identifier, DbiResourceId or automated backup ARN (a replicated one of
        # another Region's instance too), the time by RestoreTime or UseLatestRestorableTime,
        # as automated_backups.resolve_restore checks them; then moto's restore, from that source.
        STATE.finish_due()  # a replica whose `replicating` is over is `active` now
        source, moment = automated_backups.resolve_restore(self.backend, self.params)
        _restoring.__dict__.update(active=True, source=source, restore_time=moment)
        try:
            instance = _restore_from_instance(self.backend, source, self.params.get("TargetDBInstanceIdentifier"), self.params)
        finally:
            _restoring.__dict__.clear()
        return ActionResult({"DBInstance": instance})

    rds_responses.RDSResponse.restore_db_instance_to_point_in_time = restore_db_instance_to_point_in_time

    original_save_automated_backup = DBInstance.save_automated_backup

    def save_automated_backup(self: DBInstance) -> None:
        # moto takes the automated snapshot of a new (or restored) instance as the last step
        # of creating it: the server must exist by then.
        if DATA_PLANE is not None and self.engine == "postgres":
            try:
                _start_server(self)
            except Exception as error:  # DataPlaneError, OSError, a timeout: the create fails
                if self.backend.databases.get(self.db_instance_identifier) is self:
                    del self.backend.databases[self.db_instance_identifier]
                print(f"rds-emulator: {error}", file=sys.stderr)
                raise RDSClientError("InternalFailure", f"The PostgreSQL server of {self.db_instance_identifier} did not start.")
        original_save_automated_backup(self)
        # Its automated backups (and restorable window) begin now: the server and its first
        # snapshot exist (automated_backups.py).
        self.emulator_backups_began = automated_backups.now()

    original_modify = RDSBackend.modify_db_instance

    def modify_db_instance(self: RDSBackend, db_instance_identifier: str, db_kwargs: dict) -> DBInstance:
        # moto renames onto an existing identifier by overwriting that instance; AWS refuses.
        new_identifier = db_kwargs.get("new_db_instance_identifier")
        if new_identifier and new_identifier.lower() != db_instance_identifier.lower() and new_identifier in self.databases:
            raise RDSClientError("DBInstanceAlreadyExists", f"DB instance {new_identifier} already exists")
        renamed = bool(new_identifier) and new_identifier.lower() != db_instance_identifier.lower()
        before = self.databases.get(db_instance_identifier.lower())
        was_managed = bool(getattr(before, "manage_master_user_password", False))
        # The new password is applied later (below); moto would only keep it as an attribute.
        password = db_kwargs.pop("master_user_password", None)
        manage = db_kwargs.get("manage_master_user_password")
        if manage is not None and bool(manage) == was_managed:
            # Already so: no second secret (moto would make one), no secret to delete.
            db_kwargs.pop("manage_master_user_password")
            manage = None
        instance = original_modify(self, db_instance_identifier, db_kwargs)
        if manage is True:
            # The new RDS-managed secret's password goes into the server.
            instance.emulator_secret_pending = True
            password = json.loads(instance.master_user_secret.secret.secret_string)["password"]
        if password is not None:
            _reset_master_password(self, instance, password)
        else:
            STATE.hold("instance.renaming" if renamed else "instance.modifying", instance, self)
        return instance

    original_delete = RDSBackend.delete_db_instance

    def delete_db_instance(self: RDSBackend, db_instance_identifier: str, *args: Any, **kwargs: Any) -> DBInstance:
        # A second delete, and a delete in a status AWS refuses, are answered in aws_rules.
        # moto takes the final snapshot (with the server still running) and deletes the
        # instance's RDS-managed secret.
        instance = original_delete(self, db_instance_identifier, *args, **kwargs)
        automated_backups.forget_source(instance)
        if DATA_PLANE is not None:
            DATA_PLANE.drop_server(instance)
        if STATE.phases_of("instance.deleting"):
            # moto forgets the instance at once; AWS keeps showing it as `deleting` for a while.
            instance.emulator_deleting = True
            self.databases[db_instance_identifier] = instance
            STATE.hold("instance.deleting", instance, self)
        return instance

    def counted(original: Callable) -> Callable:
        def wrapper(self: RDSBackend, *args: Any, **kwargs: Any) -> Any:
            if getattr(_client_read, "active", False):
                STATE.finish_due()
            result = original(self, *args, **kwargs)
            if getattr(_client_read, "active", False):
                STATE.count_read(list(result))
            return result

        return wrapper

    # moto names the automated snapshot of a new instance `rds:<id>-<minute>` and fails the
    # create (or restore) when that name is taken, as it is when an instance of the same name
    # was created in the same minute (a swap's temporary instance, restored again on a re-run).
    original_auto_snapshot = RDSBackend.create_auto_snapshot

    def create_auto_snapshot(self: RDSBackend, db_instance_identifier: str, db_snapshot_identifier: str) -> DBSnapshot:
        unique, n = db_snapshot_identifier, 1
        while unique in self.database_snapshots:
            n += 1
            unique = f"{db_snapshot_identifier}-{n}"
        return original_auto_snapshot(self, db_instance_identifier, unique)

    RDSBackend.create_auto_snapshot = create_auto_snapshot
    RDSBackend.create_db_instance = after(create_db_instance, on_create_instance)
    RDSBackend.restore_db_instance_from_db_snapshot = restoring(RDSBackend.restore_db_instance_from_db_snapshot, restored_snapshot)
    DBInstance.save_automated_backup = save_automated_backup
    RDSBackend.create_db_snapshot = after(RDSBackend.create_db_snapshot, on_manual_or_automated_snapshot)
    RDSBackend.copy_db_snapshot = after(RDSBackend.copy_db_snapshot, on_copy_snapshot)
    RDSBackend.delete_db_snapshot = after(RDSBackend.delete_db_snapshot, on_delete_snapshot)
    RDSBackend.modify_db_instance = modify_db_instance
    RDSBackend.delete_db_instance = delete_db_instance
    RDSBackend.describe_db_instances = counted(RDSBackend.describe_db_instances)
    RDSBackend.describe_db_snapshots = counted(RDSBackend.describe_db_snapshots)

    def client_read(original: Callable) -> Callable:
        def wrapper(self: Any) -> Any:
            _client_read.active = True
            try:
                return original(self)
            finally:
                _client_read.active = False

        return wrapper

    response = rds_responses.RDSResponse
    response.describe_db_instances = client_read(response.describe_db_instances)
    response.describe_db_snapshots = client_read(response.describe_db_snapshots)

    # AWS leaves SnapshotCreateTime out until the snapshot has been taken.
    DBSnapshot.snapshot_create_time = property(lambda self: None if self.status in ("creating", "pending") else self.created)

    # Performance Insights: moto drops the settings at create and restore; ModifyDBInstance
    # stores them (as it stores any parameter) under the request's names. Keep them from the
    # create too, and report them under the names DescribeDBInstances uses.
    original_init = DBInstance.__init__

    def init_keeping_performance_insights(self: DBInstance, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        for key in PERFORMANCE_INSIGHTS:
            if key not in self.__dict__:
                setattr(self, key, kwargs.get(key))

    DBInstance.__init__ = init_keeping_performance_insights
    DBInstance.performance_insights_enabled = property(lambda self: bool(self.enable_performance_insights))

    automated_backups.install(
        (STATE.finish_due, STATE.count_read),
        lambda replica, backend: STATE.hold(automated_backups.REPLICATING, replica, backend),
    )
    _patch_credentials()
    _patch_step_functions()


def _restore_from_instance(backend: RDSBackend, source: DBInstance, target: str, overrides: dict[str, Any]) -> DBInstance:
    """moto's RestoreDBInstanceToPointInTime (RDSBackend.restore_db_instance_to_point_in_time,
    moto 5.2) from a given source instance, which may be of another Region (a replicated backup):
    the new instance is in `backend`'s Region, with the source's settings but the overrides."""
    import copy

    props: dict[str, Any] = {}
    for key, value in source.__dict__.items():
        key = key[1:] if key.startswith("_") else key
        if key in ("backend", "db_subnet_group", "max_allocated_storage") or key.startswith("emulator_"):
            continue
        props[key] = copy.deepcopy(value)
    props["db_name"] = source.db_name
    if not source.option_group_supplied:
        del props["option_group_name"]
    if source.region != backend.region_name:
        # Nothing of the source's Region: its zone, subnet group and security groups.
        for key in ("availability_zone", "db_subnet_group_name", "vpc_security_group_ids"):
            props.pop(key, None)
    if "allocated_storage" in overrides and overrides["allocated_storage"] < source.allocated_storage:
        raise RDSClientError("InvalidParameterValue", "Allocated storage size can't be less than the source instance size.")
    for key, value in overrides.items():
        if value:
            props[key] = value
    props["db_instance_identifier"] = target
    return backend.create_db_instance(props)


# --- master credentials and the servers ------------------------------------------------------


def _master_password(instance: DBInstance) -> str | None:
    """The master password an instance is created with: its RDS-managed secret's, or the
    MasterUserPassword it was given (None: neither)."""
    if getattr(instance, "manage_master_user_password", False) and hasattr(instance, "master_user_secret"):
        return json.loads(instance.master_user_secret.secret.secret_string)["password"]
    return instance.__dict__.get("_master_user_password")  # moto's property refuses to answer


def _start_server(instance: DBInstance) -> None:
    """The server of a new instance: a restore's from its snapshot's copy (or the source's
    current state, for a point in time), otherwise a new one with the master user."""
    snapshot = getattr(_restoring, "snapshot", None)
    archive = DATA_PLANE.archive_of(snapshot) if snapshot is not None else None
    DATA_PLANE.create_server(
        instance, master=instance.master_username, password=_master_password(instance),
        db_name=getattr(instance, "db_name", None), archive=archive, source=getattr(_restoring, "source", None),
        restore_time=_restore_time_text(getattr(_restoring, "restore_time", None)),
    )


def _restore_time_text(moment: datetime | None) -> str | None:
    """A point-in-time restore's time as PostgreSQL's recovery_target_time takes it."""
    return None if moment is None else moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f+00")


def _reset_master_password(backend: RDSBackend, instance: DBInstance, password: str) -> None:
    """A new master password, applied asynchronously as RDS does: `resetting-master-credentials`
    with PendingModifiedValues.MasterUserPassword "****" for the transition's reads or seconds
    (default: one read), then set in the server (ALTER ROLE as rdsadmin) and `available`."""
    instance.emulator_password_pending = True

    def apply() -> None:
        instance.emulator_password_pending = False
        instance.emulator_secret_pending = False
        if DATA_PLANE is None:
            return
        try:
            DATA_PLANE.set_password(instance, instance.master_username, password)
        except data_plane.DataPlaneError as error:
            print(f"rds-emulator: the new master password of {instance.db_instance_identifier} "
                  f"was not set: {error}", file=sys.stderr)

    STATE.hold_phases(instance, backend, STATE.phases_of(RESETTING), TRANSITIONS[RESETTING][1], on_finish=apply)


def _patch_credentials() -> None:
    """What RDS reports of an instance's credentials and endpoint, which moto does not model:
    PendingModifiedValues.MasterUserPassword while a new one is pending, the RDS-managed
    secret's real username and a random password, its status, and (with --databases) the
    server's endpoint."""
    DBInstance.pending_modified_values = property(
        lambda self: {"MasterUserPassword": "****"} if self.__dict__.get("emulator_password_pending") else None
    )

    original_endpoint = DBInstance.endpoint

    def endpoint(self: DBInstance) -> dict[str, Any]:
        server = DATA_PLANE.server_of(self) if DATA_PLANE is not None else None
        if server is not None:
            return {"Address": "127.0.0.1", "Port": server.port}
        return original_endpoint.fget(self)

    DBInstance.endpoint = property(endpoint)

    # moto's managed secret holds {"username": "admin", "password": "P@55w0rd!"} whatever the
    # instance; RDS's holds its master user and a password it generated [Password management
    # with Amazon RDS and AWS Secrets Manager].
    MasterUserSecret._generate_secret_string = lambda self: json.dumps({
        "username": self.resource.master_username,
        "password": data_plane.generate_password(32, data_plane.MANAGED_ALPHABET),
    })

    def secret_status(self: MasterUserSecret) -> str:
        # `creating` until the instance uses its password, then `active` [API_MasterUserSecret];
        # RotateMasterUserPassword: `rotating` for one read, as moto has it.
        if self.resource.__dict__.get("emulator_secret_pending"):
            return "creating"
        if self._status == "rotating":
            self._status = "active"
            return "rotating"
        return "active"

    MasterUserSecret.secret_status = property(secret_status)


# The request names of the Performance Insights settings (the response names of the last two
# are the same).
PERFORMANCE_INSIGHTS = (
    "enable_performance_insights",
    "performance_insights_kms_key_id",
    "performance_insights_retention_period",
)


# --- Step Functions executions ---------------------------------------------------------------
#
# The local runner runs each execution itself and registers it in moto's Step Functions API
# (CreateStateMachine, StartExecution; moto's own interpreter stays off, so moto keeps it
# RUNNING), then reports through POST /_emulator/execution how it ended and which states it
# entered. DescribeExecution and GetExecutionHistory then answer from that, as AWS would:
# - DescribeExecution (Step Functions API Reference, API_DescribeExecution; botocore
#   stepfunctions DescribeExecutionOutput): `stopDate` "if the execution ended", `output` "set
#   only if the execution succeeds", `error` and `cause` "if the state machine execution failed".
# - GetExecutionHistory (API_GetExecutionHistory, API_HistoryEvent): events numbered from 1,
#   each with `timestamp`, `type`, `id`, `previousEventId`; `ExecutionStarted`
#   (executionStartedEventDetails: input, inputDetails, roleArn), `<Type>StateEntered`
#   (stateEnteredEventDetails: name), and `ExecutionSucceeded` (executionSucceededEventDetails:
#   output, outputDetails), `ExecutionFailed` / `ExecutionTimedOut` / `ExecutionAborted`
#   (execution{Failed,TimedOut,Aborted}EventDetails: error, cause). As in the reference's
#   example, the first state's event has previousEventId 0. Oldest first unless `reverseOrder`;
#   `maxResults` 0-1000, default 100 (0: the default); a `nextToken` of another request:
#   InvalidToken; `includeExecutionData` false leaves input and output out.
# moto's own history is a fixed fake one (a "PassStateEntered" named "A State", then
# "ExecutionSucceeded" with output "An output") whatever the execution did; it is never served.

EXECUTION_STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
# The ASL state types; each has a `<Type>StateEntered` history event (API_HistoryEvent).
STATE_TYPES = ("Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")
# The event that ends the history of an execution of each status, and its details' field.
TERMINAL_EVENTS = {
    "SUCCEEDED": ("ExecutionSucceeded", "executionSucceededEventDetails"),
    "FAILED": ("ExecutionFailed", "executionFailedEventDetails"),
    "TIMED_OUT": ("ExecutionTimedOut", "executionTimedOutEventDetails"),
    "ABORTED": ("ExecutionAborted", "executionAbortedEventDetails"),
}
HISTORY_PAGE_DEFAULT, HISTORY_PAGE_MAX = 100, 1000


def _now() -> datetime:
    return utcnow()  # as moto dates executions: naive, in UTC


def _execution_history(execution: Execution, role_arn: str) -> list[dict[str, Any]]:
    """The history of `execution`, oldest first: started, the states it was reported to have
    entered (`execution.emulator_states`: (name, type, when)), then how it ended, from its
    status (the one reported, or ABORTED after StopExecution)."""
    events: list[dict[str, Any]] = [
        {
            "timestamp": execution.start_date,
            "type": "ExecutionStarted",
            "id": 1,
            "previousEventId": 0,
            "executionStartedEventDetails": {
                "input": execution.execution_input,
                "inputDetails": {"truncated": False},
                "roleArn": role_arn,
            },
        }
    ]
    for name, state_type, entered in getattr(execution, "emulator_states", []):
        event_id = len(events) + 1
        events.append(
            {
                "timestamp": entered,
                "type": f"{state_type}StateEntered",
                "id": event_id,
                "previousEventId": 0 if event_id == 2 else event_id - 1,
                "stateEnteredEventDetails": {"name": name},
            }
        )
    status = str(getattr(execution.status, "value", execution.status))
    if status in TERMINAL_EVENTS:
        kind, field = TERMINAL_EVENTS[status]
        if status == "SUCCEEDED":
            details = {} if execution.output is None else {"output": execution.output, "outputDetails": {"truncated": False}}
        else:
            details = {k: v for k, v in (("error", execution.error), ("cause", execution.cause)) if v is not None}
        event_id = len(events) + 1
        events.append(
            {
                "timestamp": max(execution.stop_date or _now(), events[-1]["timestamp"]),
                "type": kind,
                "id": event_id,
                "previousEventId": event_id - 1,
                field: details,
            }
        )
    return events


def _history_page(arn: str, events: list[dict], reverse: bool, max_results: int | None, token: str | None) -> dict:
    """One page of `events` as GetExecutionHistory answers it. The token names the request it
    continues (execution and order) and the position; any other token is InvalidToken."""
    if max_results is not None and not 0 <= max_results <= HISTORY_PAGE_MAX:
        raise ValidationException(
            f"1 validation error detected: Value '{max_results}' at 'maxResults' failed to satisfy "
            f"constraint: Member must have value {'less' if max_results > 0 else 'greater'} than or equal to "
            f"{HISTORY_PAGE_MAX if max_results > 0 else 0}"
        )
    size = max_results or HISTORY_PAGE_DEFAULT
    ordered = list(reversed(events)) if reverse else list(events)
    start = 0
    if token is not None:
        try:
            continued = json.loads(base64.urlsafe_b64decode(token.encode()))
            start = int(continued["offset"])
            valid = continued["arn"] == arn and continued["reverse"] == reverse and 0 < start <= len(ordered)
        except (ValueError, KeyError, TypeError):
            valid = False
        if not valid:
            raise InvalidToken(f"{token} is not a token of this request")
    page: dict[str, Any] = {"events": ordered[start : start + size]}
    if start + size < len(ordered):
        continued = {"arn": arn, "reverse": reverse, "offset": start + size}
        page["nextToken"] = base64.urlsafe_b64encode(json.dumps(continued).encode()).decode()
    return page


def _without_execution_data(event: dict) -> dict:
    """`includeExecutionData` false: the event without its input and output."""
    data = ("input", "inputDetails", "output", "outputDetails")
    return {
        key: ({k: v for k, v in value.items() if k not in data} if key.endswith("EventDetails") else value)
        for key, value in event.items()
    }


def _patch_step_functions() -> None:
    """DescribeExecution and GetExecutionHistory as AWS answers them, for what was reported."""

    def get_execution_history(self: StepFunctionBackend, execution_arn: str) -> dict[str, Any]:
        execution = self.describe_execution(execution_arn)  # ExecutionDoesNotExist, InvalidArn
        state_machine = self._get_state_machine_for_execution(execution_arn)
        return {"events": _execution_history(execution, state_machine.roleArn)}

    # moto's interpreter (execute_state_machine on) has a history of its own: kept, and paged below.
    StepFunctionBackend.get_execution_history = get_execution_history

    response = sfn_responses.StepFunctionResponse

    def history_response(self: Any) -> Any:
        arn = self._get_param("executionArn")
        events = list(self.stepfunction_backend.get_execution_history(arn)["events"])
        if self._get_param("includeExecutionData") is False:
            events = [_without_execution_data(event) for event in events]
        page = _history_page(
            arn, events, bool(self._get_param("reverseOrder")), self._get_param("maxResults"), self._get_param("nextToken")
        )
        return ActionResult(page)

    response.get_execution_history = history_response

    original_describe = response.describe_execution

    def describe_response(self: Any) -> Any:
        result = original_describe(self)
        execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
        # moto reports stopDate for SUCCEEDED, FAILED and ABORTED only; a timed-out one ended too.
        if execution.status == "TIMED_OUT" and getattr(execution, "stop_date", None) is not None:
            result.result["stopDate"] = execution.stop_date
        # "inputDetails": {"included": true}, "Always true for API calls" (moto leaves it out).
        result.result.setdefault("inputDetails", {"included": True})
        return result

    response.describe_execution = describe_response


def _find_execution(arn: str) -> Execution | None:
    """The execution moto knows by `arn` (`arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME`)."""
    parts = arn.split(":")
    if len(parts) != 8 or parts[0] != "arn" or parts[2] != "states" or parts[5] != "execution":
        return None
    region, account = parts[3], parts[4]
    if account not in stepfunctions_backends or region not in stepfunctions_backends[account].regions:
        return None
    backend = sfn_responses.get_backend(account, region)
    try:
        return backend.describe_execution(arn)
    except (ExecutionDoesNotExist, InvalidArn):
        return None


def _report_execution(body: Any) -> dict:
    """POST /_emulator/execution: how an execution the local runner ran has ended (or how far
    it has got), for DescribeExecution and GetExecutionHistory."""
    if not isinstance(body, dict):
        raise ControlError("expected an object")
    unknown = set(body) - {"executionArn", "status", "output", "error", "cause", "states"}
    if unknown:
        raise ControlError(f"unknown fields: {', '.join(sorted(unknown))}")
    arn = body.get("executionArn")
    if not isinstance(arn, str) or not arn:
        raise ControlError("executionArn must be an execution ARN string")
    status = body.get("status")
    if status not in EXECUTION_STATUSES:
        raise ControlError(f"status must be one of {', '.join(EXECUTION_STATUSES)}, not {status!r}")
    for field in ("output", "error", "cause"):
        if body.get(field) is not None and not isinstance(body[field], str):
            raise ControlError(f"{field} must be a string")
    if body.get("output") is not None:
        if status != "SUCCEEDED":
            raise ControlError("output: only a SUCCEEDED execution has an output")
        try:
            json.loads(body["output"])
        except json.JSONDecodeError as error:
            raise ControlError(f"output must be JSON text: {error}") from error
    for field in ("error", "cause"):
        if body.get(field) is not None and status not in ("FAILED", "TIMED_OUT", "ABORTED"):
            raise ControlError(f"{field}: only a FAILED, TIMED_OUT or ABORTED execution has an {field}")
    states = body.get("states", [])
    if not isinstance(states, list):
        raise ControlError("states must be a list of {\"name\": ..., \"type\": ...}")
    for state in states:
        if not isinstance(state, dict) or set(state) != {"name", "type"} or not isinstance(state["name"], str) or not state["name"]:
            raise ControlError(f"states: each one is {{\"name\": \"...\", \"type\": \"Task\"|...}}, not {state!r}")
        if state["type"] not in STATE_TYPES:
            raise ControlError(f"states: type of {state['name']!r} must be one of {', '.join(STATE_TYPES)}, not {state['type']!r}")

    execution = _find_execution(arn)
    if execution is None:
        raise ControlNotFound(f"no execution {arn}")
    now = _now()
    if "states" in body:
        # A state reported again at the same place keeps the time it was first reported at.
        before = getattr(execution, "emulator_states", [])
        entered = []
        for i, state in enumerate(states):
            same = i < len(before) and before[i][:2] == (state["name"], state["type"])
            entered.append((state["name"], state["type"], before[i][2] if same else max(now, execution.start_date)))
        execution.emulator_states = entered
    execution.status = status
    execution.stop_date = None if status == "RUNNING" else now
    execution.output = body.get("output") if status == "SUCCEEDED" else None
    # DescribeExecution's CloudWatchEventsExecutionDataDetails: "Always true for API calls".
    execution.output_details = {"included": True} if execution.output is not None else None
    execution.error = body.get("error")
    execution.cause = body.get("cause")
    return {}


# --- the control API -------------------------------------------------------------------------


class ControlError(Exception):
    pass


class ControlNotFound(ControlError):
    """What the request names does not exist: HTTP 404."""


def _backend(region: str) -> RDSBackend:
    if not isinstance(region, str) or region not in rds_backends[ACCOUNT_ID].regions:
        raise ControlError(f"unknown region {region!r}")
    return rds_backends[ACCOUNT_ID][region]


def _parse_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError) as error:
        raise ControlError(f"snapshotCreateTime {value!r} is not an ISO 8601 time") from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _check_timing(where: str, setting: dict, required: bool = True) -> None:
    timing = _timing(setting)
    if not timing and not required:
        return
    if len(timing) != 1:
        raise ControlError(f"{where}: expected {{\"reads\": N}} or {{\"seconds\": S}}")
    value = next(iter(timing.values()))
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ControlError(f"{where}: expected a number >= 0")


def _check_phases(kind: str, phases: Any) -> None:
    if not isinstance(phases, list) or not phases:
        raise ControlError(f"{kind}: phases must be a non-empty list")
    for spec in phases:
        if isinstance(spec, list):
            if len(spec) != 2 or not isinstance(spec[0], str):
                raise ControlError(f"{kind}: a phase is [\"status\", reads] or {{\"status\", \"reads\"|\"seconds\"}}")
            _check_timing(f"{kind}: phase {spec[0]}", {"reads": spec[1]})
        elif isinstance(spec, dict) and isinstance(spec.get("status"), str) and set(spec) <= {"status", "reads", "seconds"}:
            _check_timing(f"{kind}: phase {spec['status']}", spec)
        else:
            raise ControlError(f"{kind}: a phase is [\"status\", reads] or {{\"status\", \"reads\"|\"seconds\"}}")


def _set_transitions(body: Any) -> dict:
    if not isinstance(body, dict):
        raise ControlError("expected an object of transitions")
    for kind, setting in body.items():
        if kind not in TRANSITIONS:
            raise ControlError(f"unknown transition {kind!r}; known: {', '.join(TRANSITIONS)}")
        if setting is None:
            STATE.transitions.pop(kind, None)
            continue
        if not isinstance(setting, dict):
            raise ControlError(f"{kind}: expected an object")
        if kind == AFTER_CREATE:
            unknown = set(setting) - {"statuses", "phases", "reads", "seconds"}
            if unknown or ("statuses" in setting) == ("phases" in setting):
                raise ControlError(f"{kind}: expected {{\"statuses\": [...], \"reads\": N | \"seconds\": S}} or {{\"phases\": [...]}}")
            if "phases" in setting:
                if _timing(setting):
                    raise ControlError(f"{kind}: with phases, each phase has its own reads or seconds")
                _check_phases(kind, setting["phases"])
            else:
                statuses = setting["statuses"]
                if not isinstance(statuses, list) or not statuses or not all(isinstance(x, str) for x in statuses):
                    raise ControlError(f"{kind}: statuses must be a non-empty list of strings")
                _check_timing(kind, setting)
        else:
            unknown = set(setting) - {"status", "reads", "seconds", "phases"}
            if unknown:
                raise ControlError(f"{kind}: expected {{\"reads\": N}} or {{\"seconds\": S}}, and optionally \"status\" and \"phases\"")
            _check_timing(kind, setting)
            if "status" in setting and not isinstance(setting["status"], str):
                raise ControlError(f"{kind}: status must be a string")
            if "phases" in setting:
                _check_phases(kind, setting["phases"])
        STATE.transitions[kind] = setting
    return {"transitions": STATE.transitions}


def _set_instance_status(body: Any) -> dict:
    if not isinstance(body, dict):
        raise ControlError("expected an object")
    unknown = set(body) - {"region", "dbInstanceIdentifier", "status", "reads", "seconds"}
    if unknown:
        raise ControlError(f"unknown fields: {', '.join(sorted(unknown))}")
    backend = _backend(body.get("region"))
    identifier = body.get("dbInstanceIdentifier")
    instance = backend.databases.get(identifier) if isinstance(identifier, str) else None
    if instance is None:
        raise ControlError(f"no instance {identifier!r} in {body.get('region')}")
    if not isinstance(body.get("status"), str):
        raise ControlError("status must be a string")
    _check_timing("instance-status", body, required=False)
    phase = _phase({"status": body["status"], **_timing(body)})
    STATE.release(instance)
    instance.status = phase.status
    if phase.reads is not None or phase.seconds is not None:
        STATE.hold_phases(instance, backend, [phase], "available")
    return {"dbInstanceIdentifier": instance.db_instance_identifier, "status": instance.status}


def _add_faults(body: Any) -> dict:
    faults = body if isinstance(body, list) else [body]
    for fault in faults:
        if not isinstance(fault, dict) or not fault.get("action") or not fault.get("code"):
            raise ControlError("a fault needs at least \"action\" and \"code\"")
        unknown = set(fault) - {"action", "code", "status", "message", "count", "dbInstanceIdentifier", "region",
                                "bucket", "key"}
        if unknown:
            raise ControlError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        status, message = 400, f"injected {fault['code']}"
        if s3_requests.is_s3_action(fault["action"]):
            # An S3 fault without a status or message gets S3's for its code (AccessDenied: 403
            # "Access Denied", NoSuchKey: 404 "The specified key does not exist.", ...).
            status, message = s3_requests.ERRORS.get(fault["code"], (status, message))
        STATE.faults.append({"status": status, "message": message, "count": 1, **fault})
    return {"faults": STATE.faults}


def _set_snapshot(body: Any) -> dict:
    if not isinstance(body, dict):
        raise ControlError("expected an object")
    backend = _backend(body.get("region"))
    identifier = body.get("snapshotIdentifier")
    snapshot = backend.database_snapshots.get(identifier) if isinstance(identifier, str) else None
    if snapshot is None:
        raise ControlError(f"no snapshot {identifier!r} in {body.get('region')}")
    if "status" in body:
        STATE.release(snapshot)
        snapshot.status = body["status"]
    if "snapshotCreateTime" in body:
        created = _parse_time(body["snapshotCreateTime"])
        snapshot.created = created
        snapshot.original_snapshot_create_time = created
    return {"snapshotIdentifier": snapshot.db_snapshot_identifier, "status": snapshot.status}


def _databases() -> dict:
    if DATA_PLANE is None:
        return {"enabled": False, "caBundle": None, "servers": []}
    return DATA_PLANE.describe()


def _reset() -> dict:
    if DATA_PLANE is not None:
        DATA_PLANE.reset()
    rds_backends[ACCOUNT_ID].reset()
    dynamodb_backends[ACCOUNT_ID].reset()
    from moto.s3.models import s3_backends  # (imported when first needed: it is slow to import)

    s3_backends[ACCOUNT_ID].reset()  # every bucket and object
    secretsmanager_backends[ACCOUNT_ID].reset()
    # State machines and executions, with what was reported of them (kept on moto's objects).
    stepfunctions_backends[ACCOUNT_ID].reset()
    parser = sys.modules.get("moto.stepfunctions.parser.models")  # moto's interpreter, if used
    if parser is not None:
        parser.stepfunctions_parser_backends[ACCOUNT_ID].reset()
    STATE.clear()
    STATE.provision()
    automated_backups.clear()
    return {}


def _set_restore_window(body: Any) -> dict:
    if not isinstance(body, dict) or set(body) != {"lagSeconds"}:
        raise ControlError('expected {"lagSeconds": S}')
    lag = body["lagSeconds"]
    if isinstance(lag, bool) or not isinstance(lag, (int, float)) or lag < 0:
        raise ControlError("lagSeconds: expected a number >= 0")
    automated_backups.SETTINGS["lagSeconds"] = float(lag)
    return dict(automated_backups.SETTINGS)


def _settle_instance(region: str, identifier: str, automated_created: str | None) -> None:
    """A seeded instance and its snapshots as the world declares them: available whatever
    transitions are set, its automated snapshots dated `automated_created` (if given)."""
    created = _parse_time(automated_created) if automated_created else None
    with STATE.lock:
        backend = _backend(region)
        instance = backend.databases.get(identifier.lower())
        if instance is None:
            raise seeding.SeedError(f"{identifier} in {region} vanished while it was seeded")
        STATE.release(instance)
        instance.status = "available"
        for snapshot in list(backend.database_snapshots.values()):
            if snapshot.db_instance_identifier != instance.db_instance_identifier:
                continue
            STATE.release(snapshot)
            snapshot.status = "available"
            if created is not None and snapshot.snapshot_type == "automated":
                snapshot.created = created
                snapshot.original_snapshot_create_time = created


def _seed_snapshot(region: str, identifier: str, status: str, created: str | None) -> None:
    with STATE.lock:
        body = {"region": region, "snapshotIdentifier": identifier, "status": status}
        _set_snapshot({**body, "snapshotCreateTime": created} if created else body)


def _seeded_server(region: str, identifier: str) -> tuple[DBInstance, data_plane.Server] | None:
    instance = _backend(region).databases.get(identifier.lower())
    server = DATA_PLANE.server_of(instance) if instance is not None and DATA_PLANE is not None else None
    return (instance, server) if server is not None else None


def _seed_port(region: str, identifier: str) -> int | None:
    with STATE.lock:
        found = _seeded_server(region, identifier)
        return found[1].port if found else None


def _seed_sql(region: str, identifier: str, database: str, script: str, variables: dict[str, str]) -> str:
    with STATE.lock:
        found = _seeded_server(region, identifier)
        if found is None:
            raise seeding.SeedError(f"{identifier} in {region} has no server")
        return DATA_PLANE.psql(found[1], script, database=database, variables=variables)


def _seed_retake_automated(region: str, identifier: str) -> None:
    """The automated snapshots of a seeded instance, taken again once its data is in."""
    with STATE.lock:
        found = _seeded_server(region, identifier)
        if found is None:
            return
        for snapshot in list(_backend(region).database_snapshots.values()):
            if snapshot.db_instance_identifier == found[0].db_instance_identifier and snapshot.snapshot_type == "automated":
                DATA_PLANE.take_snapshot(found[0], snapshot)


SEED_DATABASE_HOOKS = seeding.DatabaseHooks(port=_seed_port, sql=_seed_sql, retake_automated=_seed_retake_automated)


class Seeder:
    """POST /_emulator/seed: runs outside STATE.lock, since it calls the emulator's own RDS API
    over HTTP (a client signed with seeding.SEED_ACCESS_KEY, neither logged nor faulted)."""

    def __init__(self, worlds: dict[str, Any]) -> None:
        self.worlds = worlds
        self.url: str | None = None
        self._session: Any = None
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def rds(self, region: str) -> Any:
        with self._lock:
            if region not in self._clients:
                import boto3  # moto depends on it
                import botocore.session
                from botocore.config import Config

                if self._session is None:
                    # Nothing of the caller's AWS set-up (AWS_PROFILE, config files) applies.
                    core = botocore.session.Session()
                    for variable, value in (("profile", None), ("config_file", os.devnull),
                                            ("credentials_file", os.devnull)):
                        core.set_config_variable(variable, value)
                    self._session = boto3.session.Session(botocore_session=core)
                self._clients[region] = self._session.client(
                    "rds", region_name=region, endpoint_url=self.url,
                    aws_access_key_id=seeding.SEED_ACCESS_KEY, aws_secret_access_key="seed",
                    config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
                )
            return self._clients[region]

    def handle(self, method: str, body: Any) -> tuple[int, Any]:
        if method == "GET":
            return 200, {"worlds": self.worlds}
        if method != "POST":
            return 404, {"error": f"no control endpoint {method} {CONTROL_PREFIX}seed"}
        try:
            planned = seeding.plan(body, self.worlds)
            return 200, seeding.seed(
                planned,
                rds=self.rds,
                reset=lambda: _locked(_reset),
                settle_instance=_settle_instance,
                set_snapshot=_seed_snapshot,
                database=SEED_DATABASE_HOOKS if DATA_PLANE is not None else None,
            )
        except (seeding.SeedError, ControlError) as error:
            return 400, {"error": str(error)}
        except data_plane.DataPlaneError as error:
            return 500, {"error": f"seeding the data failed: {error}"}


def _locked(action: Callable[[], Any]) -> Any:
    with STATE.lock:
        return action()


def _control(method: str, name: str, body: Any) -> tuple[int, Any]:
    routes: dict[tuple[str, str], Callable[[], Any]] = {
        ("GET", "transitions"): lambda: {"transitions": STATE.transitions},
        ("POST", "transitions"): lambda: _set_transitions(body),
        ("DELETE", "transitions"): lambda: STATE.transitions.clear() or {"transitions": {}},
        ("GET", "faults"): lambda: {"faults": STATE.faults},
        ("POST", "faults"): lambda: _add_faults(body),
        ("DELETE", "faults"): lambda: STATE.faults.clear() or {"faults": []},
        ("POST", "snapshot-status"): lambda: _set_snapshot(body),
        ("POST", "instance-status"): lambda: _set_instance_status(body),
        ("POST", "execution"): lambda: _report_execution(body),
        ("GET", "calls"): lambda: {"calls": STATE.calls, "log": STATE.log},
        ("DELETE", "calls"): lambda: STATE.calls.clear() or STATE.log.clear() or {"calls": {}, "log": []},
        ("GET", "databases"): _databases,
        ("POST", "reset"): _reset,
        ("GET", "restore-window"): lambda: dict(automated_backups.SETTINGS),
        ("POST", "restore-window"): lambda: _set_restore_window(body),
    }
    route = routes.get((method, name))
    if route is None:
        return 404, {"error": f"no control endpoint {method} {CONTROL_PREFIX}{name}"}
    try:
        return 200, route()
    except ControlNotFound as error:
        return 404, {"error": str(error)}
    except ControlError as error:
        return 400, {"error": str(error)}


# --- the WSGI layer --------------------------------------------------------------------------


def _credential_of(environ: dict) -> list[str]:
    # "AWS4-HMAC-SHA256 Credential=AKID/20261125/us-west-2/rds/aws4_request, ...", or a
    # presigned URL's query parameter X-Amz-Credential=AKID%2F20261125%2Fus-east-1%2Fs3%2Faws4_request.
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    _, _, credential = authorization.partition("Credential=")
    if not credential and "X-Amz-Credential=" in environ.get("QUERY_STRING", ""):
        credential = (parse_qs(environ["QUERY_STRING"]).get("X-Amz-Credential") or [""])[0]
    return credential.split(",")[0].split("/")


def _region_of(environ: dict) -> str | None:
    parts = _credential_of(environ)
    return parts[2] if len(parts) >= 4 else None


def _service_of(environ: dict) -> str | None:
    """The signing name of the call's service: `rds`, `sns`, `states`, ..."""
    parts = _credential_of(environ)
    return parts[3] if len(parts) >= 4 else None


def _access_key_of(environ: dict) -> str | None:
    """The access key that signed the call: the local runner gives each function its own
    (its logical id), so the log says which function made each call."""
    parts = _credential_of(environ)
    return parts[0] if len(parts) >= 4 else None


def _instance_tags(region: str | None, identifier: str | None) -> dict[str, str] | None:
    """The tags of the instance a call names, as they are when the call arrives: what IAM's
    `rds:db-tag/<key>` condition keys see (the permissions test evaluates them)."""
    if not region or not identifier or region not in rds_backends[ACCOUNT_ID].regions:
        return None
    instance = rds_backends[ACCOUNT_ID][region].databases.get(identifier.lower())
    if instance is None:
        return None
    return {tag["Key"]: tag.get("Value", "") for tag in instance.tags}


def _is_password(key: str) -> bool:
    """Whether parameter `key` holds a password (MasterUserPassword, ...): never logged.
    ManageMasterUserPassword is a switch, not a password: kept."""
    return "password" in key.lower() and key != "ManageMasterUserPassword"


def _loggable(params: dict[str, list[str]]) -> dict[str, str]:
    """The request's parameters as sent (`Tags.Tag.1.Key`, ...), passwords left out."""
    return {key: values[0] for key, values in params.items() if key not in ("Action", "Version") and not _is_password(key)}


def _json_loggable(body: bytes) -> dict[str, Any]:
    """A JSON-protocol request's parameters: its JSON body as sent (`executionArn`,
    `stateMachineArn`, `SecretId`, ...) without the secrets (SecretString, SecretBinary) and
    passwords, {} if it is not a JSON object."""
    try:
        parsed = json.loads(body) if body.strip() else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    if not isinstance(parsed, dict):
        return {}
    return {k: v for k, v in parsed.items() if k not in SECRET_PARAMETERS and not _is_password(k)}


def _matching_fault(action: str, region: str | None, params: dict[str, list[str]],
                    s3_call: s3_requests.S3Call | None = None) -> dict | None:
    instance = (params.get("DBInstanceIdentifier") or [None])[0]
    bucket, key = (s3_call.bucket, s3_call.key) if s3_call is not None else (None, None)
    for fault in STATE.faults:
        if fault["count"] == 0 or fault["action"] != action:
            continue
        if fault.get("region") not in (None, region):
            continue
        if fault.get("dbInstanceIdentifier") not in (None, instance):
            continue
        if fault.get("bucket") not in (None, bucket) or fault.get("key") not in (None, key):
            continue
        if fault["count"] > 0:
            fault["count"] -= 1
        return fault
    return None


def _error_response(fault: dict, json_content_type: str | None = None) -> tuple[str, list[tuple[str, str]], bytes]:
    status = f"{int(fault['status'])} Injected"
    if json_content_type:
        # The JSON protocol's error document (Step Functions, Secrets Manager).
        body = json.dumps({"__type": fault["code"], "message": fault["message"]}).encode()
        headers = [("Content-Type", json_content_type), ("x-amzn-RequestId", str(uuid.uuid4()))]
        return status, headers + [("Content-Length", str(len(body)))], body
    kind = "Receiver" if int(fault["status"]) >= 500 else "Sender"
    body = (
        '<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">'
        f"<Error><Type>{kind}</Type><Code>{fault['code']}</Code><Message>{fault['message']}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()
    return status, [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))], body


class EmulatorApp:
    """Serves the control API and counts, faults and serialises the calls that go on to moto."""

    def __init__(self, moto_app: Callable, verbose: bool, seeder: Seeder) -> None:
        self.moto_app = moto_app
        self.verbose = verbose
        self.seeder = seeder

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        # When the call reached the emulator (its headers read): RFC 3339 in UTC, to the
        # microsecond, the log's "at". Taken before the body is read and before the call waits
        # for STATE.lock, so that nothing the caller did after sending it can come before it.
        at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length:
            body = environ["wsgi.input"].read(length)
        elif environ.get("wsgi.input_terminated"):
            # Transfer-Encoding: chunked (no Content-Length): the server ends the stream.
            body = environ["wsgi.input"].read()
        else:
            body = b""
        environ["wsgi.input"] = io.BytesIO(body)
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL_PREFIX):
            return self.control(environ, path[len(CONTROL_PREFIX) :], body, start_response)
        with STATE.lock:
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            prefix = next((p for p in JSON_TARGETS if target.startswith(p)), None)
            json_protocol = prefix is not None
            s3_call = None
            if s3_requests.is_s3_request(environ, _service_of(environ)):
                # S3's REST protocol: the operation is named by the method, path and query; the
                # body (an object's content) is never read as parameters.
                s3_call = s3_requests.parse(environ)
                params = {}
                action = s3_call.action
            elif json_protocol:
                # The JSON protocol (Step Functions, Secrets Manager): the action is named by
                # X-Amz-Target, the parameters are the JSON body.
                params = {}
                action = target[len(prefix) :] or None
            else:
                params = parse_qs(body.decode("utf-8", "replace")) if body else {}
                params.update(parse_qs(environ.get("QUERY_STRING", "")))
                action = (params.get("Action") or [None])[0]
            if action and _access_key_of(environ) != seeding.SEED_ACCESS_KEY:
                # (The seed's own calls are set-up: neither logged nor faulted.)
                region = _region_of(environ)
                STATE.calls[action] = STATE.calls.get(action, 0) + 1
                identifier = (params.get("DBInstanceIdentifier") or [None])[0]
                if s3_call is not None:
                    logged = s3_call.params
                elif json_protocol:
                    logged = _json_loggable(body)
                else:
                    logged = _loggable(params)
                STATE.log.append(
                    {
                        "action": action,
                        "service": _service_of(environ),
                        "region": region,
                        "accessKey": _access_key_of(environ),
                        "dbInstanceIdentifier": identifier,
                        "resourceTags": _instance_tags(region, identifier),
                        "params": logged,
                        "at": at,
                    }
                )
                if s3_call is not None and region is not None:
                    home = s3_requests.bucket_region(s3_call, ACCOUNT_ID)
                    if home is not None and home != region:
                        # Signed for another region than the bucket's: S3 answers from that
                        # region's endpoint with a redirect (moto serves any region's bucket).
                        status, headers, chunks = s3_requests.redirect_response(s3_call, home, environ["REQUEST_METHOD"])
                        start_response(status, headers)
                        return chunks
                fault = _matching_fault(action, region, params, s3_call)
                if fault is not None:
                    if self.verbose:
                        print(f"rds-emulator: {action} fails with injected {fault['code']}", file=sys.stderr)
                    if s3_call is not None:
                        status, headers, chunks = s3_requests.error_response(fault, s3_call, environ["REQUEST_METHOD"])
                        start_response(status, headers)
                        return chunks
                    status, headers, error_body = _error_response(fault, JSON_TARGETS.get(prefix or ""))
                    start_response(status, headers)
                    return [error_body]
            # moto builds the response lazily; consume it while holding the lock.
            return list(self.moto_app(environ, start_response))

    def control(self, environ: dict, name: str, body: bytes, start_response: Callable) -> list[bytes]:
        try:
            parsed = json.loads(body) if body.strip() else None
        except json.JSONDecodeError as error:
            status, result = 400, {"error": f"invalid JSON: {error}"}
        else:
            method, name = environ["REQUEST_METHOD"], name.strip("/")
            if name == "seed":
                # Not under STATE.lock: the seed calls the emulator's own RDS API.
                status, result = self.seeder.handle(method, parsed)
            else:
                with STATE.lock:
                    status, result = _control(method, name, parsed)
        if self.verbose:
            print(f"rds-emulator: {environ['REQUEST_METHOD']} {name} -> {status}", file=sys.stderr)
        payload = json.dumps(result, default=str).encode()
        start_response(
            f"{status} {'OK' if status == 200 else 'Error'}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    parser.add_argument("--exit-on-stdin-eof", action="store_true", help="exit when stdin closes")
    parser.add_argument("--verbose", action="store_true", help="log every request and control call on stderr")
    parser.add_argument("--state-table", default="rds-refresh-state", help="state table to create ('' for none)")
    parser.add_argument("--state-region", default="us-east-1", help="region of the state table")
    parser.add_argument("--databases", action="store_true",
                        help="give each RDS for PostgreSQL instance a real PostgreSQL server (data_plane.py)")
    parser.add_argument("--database-dir", type=Path,
                        help="with --databases: where the servers, snapshots, sockets and CA live, removed at exit "
                             "(default: a new folder under .local/emulator-databases/ of the repository)")
    args = parser.parse_args(argv)
    if args.database_dir is not None and not args.databases:
        parser.error("--database-dir needs --databases")

    if not args.verbose:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
    seeder = Seeder(seeding.load_worlds())
    _patch_moto()
    if args.state_table:
        STATE.state_table = (args.state_table, args.state_region)
        STATE.provision()
    app = EmulatorApp(DomainDispatcherApplication(create_backend_app), args.verbose, seeder)
    server = make_server(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)
    host, port = server.server_address[:2]
    # The seed's client reaches the server where it listens (a wildcard address: by loopback).
    local = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    seeder.url = f"http://[{local}]:{port}" if ":" in local else f"http://{local}:{port}"
    if args.databases:
        _start_data_plane(args.database_dir, f"{os.getpid()}-{port}", server)
    # SIGTERM ends it as SIGINT does, through the clean-up below (SIGKILL: the guard's).
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"listening http://{host}:{port}", flush=True)

    if args.exit_on_stdin_eof:

        def stop_on_eof() -> None:
            # The file descriptor, not sys.stdin: a thread blocked in the buffered reader would
            # hold its lock when a signal ends the interpreter.
            while os.read(sys.stdin.fileno(), 65536):
                pass
            server.shutdown()

        threading.Thread(target=stop_on_eof, daemon=True).start()
    try:
        # A short poll: shutdown() (stdin's end) waits for the loop to see it.
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if DATA_PLANE is not None:
            DATA_PLANE.close()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _start_data_plane(directory: Path | None, label: str, server: Any) -> None:
    """--databases: the database directory, its guard, the CA, and the clock that applies
    password changes held for some seconds. Exits (status 2, why on stderr) if it cannot."""
    global DATA_PLANE
    plane = None
    try:
        plane = data_plane.DataPlane(directory, label)
        plane.start()
    except (data_plane.DataPlaneError, OSError) as error:
        if plane is not None:
            plane.close()
        server.server_close()
        print(f"rds-emulator: {error}", file=sys.stderr)
        sys.exit(2)
    DATA_PLANE = plane

    def clock() -> None:
        while True:
            time.sleep(0.2)
            with STATE.lock:
                STATE.finish_due(only_changes=True)

    threading.Thread(target=clock, name="data-plane-clock", daemon=True).start()


if __name__ == "__main__":
    main()
    # Everything is stopped and written: skip the interpreter's finalisation of moto's modules,
    # which takes longer than the rest of a shutdown.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
