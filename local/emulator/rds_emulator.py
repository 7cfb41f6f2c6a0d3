#!/usr/bin/env python3
"""The local RDS emulator: moto's server, plus what tests of a refresh need and stock moto lacks.

Stock moto (see ../../README.md, "Running it with no AWS account") answers every RDS call at
once: instances are available the moment they are created and vanish the moment they are
deleted, snapshots are never `creating`, and no call ever fails on purpose; and it renames an
instance onto an existing identifier by overwriting that instance (here it is refused with
DBInstanceAlreadyExists, as AWS does). A refresh's wait
loops, retries and failure paths would never run. This launcher patches moto in-process and
adds a small control API under `/_emulator/` (JSON over HTTP, on the same port):

  POST   /_emulator/transitions    {"instance.creating": {"reads": 2}, "snapshot.creating": {"seconds": 5}, ...}
         From now on, new instances stay `creating`, deleted ones stay visible as `deleting`,
         modified ones stay `modifying`, renamed ones stay `renaming` (under the new name), and
         new snapshots and copies stay `creating` (or the status given as "status", such as
         `pending`), for the next N describe calls that return them ({"reads": N}) or for S
         seconds ({"seconds": S}).
         Merged into the current settings; a null value removes one. GET shows, DELETE clears.
  POST   /_emulator/faults         {"action": "CopyDBSnapshot", "code": "Throttling", "status": 400,
                                    "message": "Rate exceeded", "count": 2,
                                    "dbInstanceIdentifier": "y" (optional), "region": "us-west-2" (optional)}
         The next `count` matching calls (default 1; -1 = every one) fail with that AWS error
         instead of reaching moto. Accepts one fault or a list. GET shows, DELETE clears.
  POST   /_emulator/snapshot-status {"region": ..., "snapshotIdentifier": ..., "status": "creating",
                                     "snapshotCreateTime": "2026-11-22T05:10:00Z"}
         Sets a snapshot's status and/or creation time (either may be left out).
  GET    /_emulator/calls          {"calls": {"DescribeDBInstances": 12, ...}, "log": [...]}
         Every RDS call received, by action, and in order with its region, instance and
         parameters (passwords left out). DELETE resets.
  POST   /_emulator/reset          Forgets everything: moto's state, transitions, faults, calls.

It also provisions what the deployed stack provides besides RDS: the state table that the
tasks find through RDS_REFRESH_STATE_TABLE (DynamoDB, partition key `target`), named by
--state-table in --state-region (default `rds-refresh-state` in us-east-1, the local
functions' region); `--state-table ''` leaves it out. And it keeps and reports the
Performance Insights settings, which stock moto drops.

Usage: rds_emulator.py [--host 127.0.0.1] [--port 0] [--exit-on-stdin-eof] [--verbose]
                       [--state-table NAME] [--state-region REGION]
Prints `listening http://HOST:PORT` on stdout once it accepts connections (port 0 picks a free
one). With --exit-on-stdin-eof it exits when its stdin closes, so a test harness that holds the
pipe can never leave it running.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import logging
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.rds import responses as rds_responses
from moto.rds.exceptions import RDSClientError
from moto.dynamodb.models import dynamodb_backends
from moto.rds.models import DBInstance, DBSnapshot, RDSBackend, rds_backends
from werkzeug.serving import make_server

ACCOUNT_ID = "123456789012"  # moto's default account; the SDK's dummy credentials map to it
CONTROL_PREFIX = "/_emulator/"

# What each transition holds, and what the resource becomes once it is over.
TRANSITIONS = {
    "instance.creating": ("creating", "available"),
    "instance.deleting": ("deleting", None),  # None: the instance is gone
    "instance.modifying": ("modifying", "available"),
    "instance.renaming": ("renaming", "available"),
    "snapshot.creating": ("creating", "available"),
}


@dataclasses.dataclass
class Pending:
    """A resource held in a transitional status until its reads or seconds run out."""

    resource: Any
    backend: RDSBackend
    final_status: str | None
    reads_left: int | None
    deadline: float | None

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

    def hold(self, kind: str, resource: Any, backend: RDSBackend) -> None:
        """Puts `resource` into the transitional status of `kind`, if that transition is set."""
        setting = self.transitions.get(kind)
        if not setting:
            return
        holding, final = TRANSITIONS[kind]
        self.release(resource)
        resource.status = setting.get("status", holding)
        reads = setting.get("reads")
        seconds = setting.get("seconds")
        self.pending.append(
            Pending(
                resource=resource,
                backend=backend,
                final_status=final,
                reads_left=int(reads) if reads is not None else None,
                deadline=time.monotonic() + float(seconds) if seconds is not None else None,
            )
        )

    def release(self, resource: Any) -> None:
        """Forgets any transition of `resource`, leaving its status as it is."""
        self.pending = [p for p in self.pending if p.resource is not resource]

    def finish_due(self) -> None:
        now = time.monotonic()
        due = [p for p in self.pending if p.is_over(now)]
        self.pending = [p for p in self.pending if not p.is_over(now)]
        for pending in due:
            pending.finish()

    def count_read(self, resources: list[Any]) -> None:
        returned = {id(r) for r in resources}
        for pending in self.pending:
            if pending.reads_left is not None and id(pending.resource) in returned:
                pending.reads_left -= 1

    def is_held(self, resource: Any) -> bool:
        return any(p.resource is resource for p in self.pending)


STATE = State()

# Set while a describe call from a client runs, so that only those (not moto's own internal
# look-ups) count as reads of a held resource.
_client_read = threading.local()


def _patch_moto() -> None:
    """Hooks the transitions into moto's RDS backend."""

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

    def on_modify(backend: RDSBackend, instance: DBInstance, identifier: str, kwargs: dict, *_: Any) -> None:
        renamed = kwargs.get("db_instance_identifier", identifier).lower() != identifier.lower()
        STATE.hold("instance.renaming" if renamed else "instance.modifying", instance, backend)

    original_modify = RDSBackend.modify_db_instance

    def modify_db_instance(self: RDSBackend, db_instance_identifier: str, db_kwargs: dict) -> DBInstance:
        # moto renames onto an existing identifier by overwriting that instance; AWS refuses.
        new_identifier = db_kwargs.get("new_db_instance_identifier")
        if new_identifier and new_identifier.lower() != db_instance_identifier.lower() and new_identifier in self.databases:
            raise RDSClientError("DBInstanceAlreadyExists", f"DB instance {new_identifier} already exists")
        return original_modify(self, db_instance_identifier, db_kwargs)

    original_delete = RDSBackend.delete_db_instance

    def delete_db_instance(self: RDSBackend, db_instance_identifier: str, *args: Any, **kwargs: Any) -> DBInstance:
        existing = self.databases.get(db_instance_identifier)
        if existing is not None and existing.status == "deleting":
            raise RDSClientError("InvalidDBInstanceState", f"Instance {db_instance_identifier} is already being deleted.")
        instance = original_delete(self, db_instance_identifier, *args, **kwargs)
        if "instance.deleting" in STATE.transitions and STATE.transitions["instance.deleting"]:
            # moto forgets the instance at once; AWS keeps showing it as `deleting` for a while.
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
    RDSBackend.create_db_instance = after(RDSBackend.create_db_instance, on_create_instance)
    RDSBackend.create_db_snapshot = after(RDSBackend.create_db_snapshot, on_create_snapshot)
    RDSBackend.copy_db_snapshot = after(RDSBackend.copy_db_snapshot, on_create_snapshot)
    RDSBackend.modify_db_instance = after(modify_db_instance, on_modify)
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


# The request names of the Performance Insights settings (the response names of the last two
# are the same).
PERFORMANCE_INSIGHTS = (
    "enable_performance_insights",
    "performance_insights_kms_key_id",
    "performance_insights_retention_period",
)


# --- the control API -------------------------------------------------------------------------


class ControlError(Exception):
    pass


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


def _set_transitions(body: Any) -> dict:
    if not isinstance(body, dict):
        raise ControlError("expected an object of transitions")
    for kind, setting in body.items():
        if kind not in TRANSITIONS:
            raise ControlError(f"unknown transition {kind!r}; known: {', '.join(TRANSITIONS)}")
        if setting is None:
            STATE.transitions.pop(kind, None)
            continue
        timing = {k: v for k, v in setting.items() if k != "status"} if isinstance(setting, dict) else None
        if timing is None or len(timing) != 1 or not set(timing) <= {"reads", "seconds"}:
            raise ControlError(f"{kind}: expected {{\"reads\": N}} or {{\"seconds\": S}}, and optionally \"status\"")
        if "status" in setting and not isinstance(setting["status"], str):
            raise ControlError(f"{kind}: status must be a string")
        value = next(iter(timing.values()))
        if not isinstance(value, (int, float)) or value < 0:
            raise ControlError(f"{kind}: expected a number >= 0")
        STATE.transitions[kind] = setting
    return {"transitions": STATE.transitions}


def _add_faults(body: Any) -> dict:
    faults = body if isinstance(body, list) else [body]
    for fault in faults:
        if not isinstance(fault, dict) or not fault.get("action") or not fault.get("code"):
            raise ControlError("a fault needs at least \"action\" and \"code\"")
        unknown = set(fault) - {"action", "code", "status", "message", "count", "dbInstanceIdentifier", "region"}
        if unknown:
            raise ControlError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        STATE.faults.append(
            {"status": 400, "message": f"injected {fault['code']}", "count": 1, **fault}
        )
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


def _reset() -> dict:
    rds_backends[ACCOUNT_ID].reset()
    dynamodb_backends[ACCOUNT_ID].reset()
    STATE.clear()
    STATE.provision()
    return {}


def _control(method: str, name: str, body: Any) -> tuple[int, Any]:
    routes: dict[tuple[str, str], Callable[[], Any]] = {
        ("GET", "transitions"): lambda: {"transitions": STATE.transitions},
        ("POST", "transitions"): lambda: _set_transitions(body),
        ("DELETE", "transitions"): lambda: STATE.transitions.clear() or {"transitions": {}},
        ("GET", "faults"): lambda: {"faults": STATE.faults},
        ("POST", "faults"): lambda: _add_faults(body),
        ("DELETE", "faults"): lambda: STATE.faults.clear() or {"faults": []},
        ("POST", "snapshot-status"): lambda: _set_snapshot(body),
        ("GET", "calls"): lambda: {"calls": STATE.calls, "log": STATE.log},
        ("DELETE", "calls"): lambda: STATE.calls.clear() or STATE.log.clear() or {"calls": {}, "log": []},
        ("POST", "reset"): _reset,
    }
    route = routes.get((method, name))
    if route is None:
        return 404, {"error": f"no control endpoint {method} {CONTROL_PREFIX}{name}"}
    try:
        return 200, route()
    except ControlError as error:
        return 400, {"error": str(error)}


# --- the WSGI layer --------------------------------------------------------------------------


def _region_of(environ: dict) -> str | None:
    # "AWS4-HMAC-SHA256 Credential=AKID/20261125/us-west-2/rds/aws4_request, ..."
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    _, _, credential = authorization.partition("Credential=")
    parts = credential.split(",")[0].split("/")
    return parts[2] if len(parts) >= 4 else None


def _loggable(params: dict[str, list[str]]) -> dict[str, str]:
    """The request's parameters as sent (`Tags.Tag.1.Key`, ...), passwords left out."""
    return {
        key: values[0]
        for key, values in params.items()
        if key not in ("Action", "Version") and "password" not in key.lower()
    }


def _matching_fault(action: str, region: str | None, params: dict[str, list[str]]) -> dict | None:
    instance = (params.get("DBInstanceIdentifier") or [None])[0]
    for fault in STATE.faults:
        if fault["count"] == 0 or fault["action"] != action:
            continue
        if fault.get("region") not in (None, region):
            continue
        if fault.get("dbInstanceIdentifier") not in (None, instance):
            continue
        if fault["count"] > 0:
            fault["count"] -= 1
        return fault
    return None


def _error_response(fault: dict) -> tuple[str, list[tuple[str, str]], bytes]:
    kind = "Receiver" if int(fault["status"]) >= 500 else "Sender"
    body = (
        '<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">'
        f"<Error><Type>{kind}</Type><Code>{fault['code']}</Code><Message>{fault['message']}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()
    status = f"{int(fault['status'])} Injected"
    return status, [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))], body


class EmulatorApp:
    """Serves the control API and counts, faults and serialises the calls that go on to moto."""

    def __init__(self, moto_app: Callable, verbose: bool) -> None:
        self.moto_app = moto_app
        self.verbose = verbose

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        path = environ.get("PATH_INFO", "")
        with STATE.lock:
            if path.startswith(CONTROL_PREFIX):
                return self.control(environ, path[len(CONTROL_PREFIX) :], body, start_response)
            params = parse_qs(body.decode("utf-8", "replace")) if body else {}
            params.update(parse_qs(environ.get("QUERY_STRING", "")))
            action = (params.get("Action") or [None])[0]
            if action:
                region = _region_of(environ)
                STATE.calls[action] = STATE.calls.get(action, 0) + 1
                STATE.log.append(
                    {
                        "action": action,
                        "region": region,
                        "dbInstanceIdentifier": (params.get("DBInstanceIdentifier") or [None])[0],
                        "params": _loggable(params),
                    }
                )
                fault = _matching_fault(action, region, params)
                if fault is not None:
                    if self.verbose:
                        print(f"rds-emulator: {action} fails with injected {fault['code']}", file=sys.stderr)
                    status, headers, error_body = _error_response(fault)
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
            status, result = _control(environ["REQUEST_METHOD"], name.strip("/"), parsed)
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
    args = parser.parse_args(argv)

    if not args.verbose:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
    _patch_moto()
    if args.state_table:
        STATE.state_table = (args.state_table, args.state_region)
        STATE.provision()
    app = EmulatorApp(DomainDispatcherApplication(create_backend_app), args.verbose)
    server = make_server(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)
    host, port = server.server_address[:2]
    print(f"listening http://{host}:{port}", flush=True)

    if args.exit_on_stdin_eof:

        def stop_on_eof() -> None:
            while sys.stdin.buffer.read(65536):
                pass
            server.shutdown()

        threading.Thread(target=stop_on_eof, daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
