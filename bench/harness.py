"""What every part of the benchmark shares: the RDS emulator, seeding it, and a tiny Lambda
Runtime API server that hands one event to a fresh function process and times its answer."""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The emulator's launcher and control client, shared with its own tests and the demo.
sys.path.insert(0, str(ROOT / "local/emulator"))
from emulator_process import EmulatorProcess  # noqa: E402

STATE_TABLE = "rds-refresh-state"  # what the emulator creates and scripts/refresh-local names
# The world every measurement starts from, declared in local/emulator/worlds.json: x (the
# source) with dated snapshots, y (the target) configured, deletion-protected and opted in.
WORLD = "standard"


class BenchError(Exception):
    """Something the benchmark needs did not work: the run fails."""


class Emulator(EmulatorProcess):
    """The emulator with the state table refresh-local names, and the benchmark's seeding."""

    def __init__(self) -> None:
        python = ROOT / ".local/venv/bin/python"
        if not python.exists():
            raise BenchError(".local/venv is missing: run scripts/setup")
        try:
            super().__init__("--state-table", STATE_TABLE, python=str(python))
        except RuntimeError as error:
            raise BenchError(str(error)) from None
        self.world: dict | None = None  # what seed() created

    def calls(self) -> dict:
        """The RDS calls since the last clear: {"calls": {action: n}, "log": [...]}. The log also
        has the Step Functions and STS calls the local runner makes to register its executions
        (and SNS's): not the refresh's RDS calls, left out."""
        logged = self.control("GET", "calls")["log"]
        rds = [call for call in logged if call.get("service", "rds") == "rds"]
        counts: dict[str, int] = {}
        for call in rds:
            counts[call["action"]] = counts.get(call["action"], 0) + 1
        return {"calls": counts, "log": rds}

    def clear_calls(self) -> None:
        self.control("DELETE", "calls")

    def set_transitions(self, transitions: dict) -> None:
        self.control("DELETE", "transitions")
        if transitions:
            self.control("POST", "transitions", transitions)

    def seed(self, world: str = WORLD, **options) -> dict:
        """Forgets everything, then seeds `world` (POST /_emulator/seed); what it created is
        kept in `self.world` (each instance's identifier, ARN, snapshots, ...)."""
        try:
            self.world = super().seed(world, **{"reset": True, **options})
        except RuntimeError as error:
            raise BenchError(str(error)) from None
        return self.world

    def instance(self, name: str) -> dict:
        """The seeded instance `name` of the world ("x", "y") as a request names it."""
        seeded = self.world["instances"][name]
        return {"region": seeded["region"], "dbInstanceIdentifier": seeded["dbInstanceIdentifier"]}

    @property
    def source(self) -> dict:
        return self.instance("x")

    @property
    def target(self) -> dict:
        return self.instance("y")

    def newest_snapshot(self) -> str:
        """The identifier of x's newest available snapshot: the one a refresh picks."""
        return self.world["instances"]["x"]["newestAvailableSnapshot"]


def function_env(name: str, endpoint: str, runtime_api: str) -> dict:
    """What the function of task `name` gets, as in scripts/refresh-local's runner: dummy
    credentials, the emulator as AWS_ENDPOINT_URL, no shared config files, and the variables
    Lambda sets, among them `_HANDLER`, the function's Handler: the task, on which the one
    binary (and the Python reference) dispatches."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env.update({
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "RDS_REFRESH_STATE_TABLE": STATE_TABLE,
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"bench/[$LATEST]{uuid.uuid4().hex}",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": "AWS_Lambda_provided.al2023",
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "_HANDLER": name,
    })
    return env


class Invocation:
    def __init__(self, event: bytes, arn: str) -> None:
        self.id = str(uuid.uuid4())
        self.event = event
        self.arn = arn
        self.delivered = False
        self.finished = threading.Event()
        self.finished_at: float | None = None  # time.perf_counter() when the answer arrived
        self.kind: str | None = None  # "response", "error" or "init/error"
        self.body: bytes = b""


class RuntimeApi:
    """The Lambda Runtime API of one function process: a server of its own on a free port, so
    that a request still in flight from an earlier, killed process can never take its event.

    GET /2018-06-01/runtime/invocation/next hands out the armed event (with the headers
    Lambda sends); POST .../<id>/response or .../<id>/error, or .../init/error, ends it and
    records when. A process's next GET waits until disarm(), then gets its connection closed.
    """

    PREFIX = "/2018-06-01/runtime"

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.current: Invocation | None = None
        self.generation = 0
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.split("?")[0] != f"{api.PREFIX}/invocation/next":
                    return self.reply(404, b'{"errorType":"NotFound"}')
                invocation = api.next_invocation()
                if invocation is None:
                    self.close_connection = True
                    return
                self.send_response(200)
                for header, value in (
                    ("Content-Type", "application/json"),
                    ("Lambda-Runtime-Aws-Request-Id", invocation.id),
                    ("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60_000)),
                    ("Lambda-Runtime-Invoked-Function-Arn", invocation.arn),
                    ("Lambda-Runtime-Trace-Id", f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0"),
                    ("Content-Length", str(len(invocation.event))),
                ):
                    self.send_header(header, value)
                self.end_headers()
                self.wfile.write(invocation.event)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                now = time.perf_counter()
                path = self.path.split("?")[0]
                if path == f"{api.PREFIX}/init/error":
                    api.finish(None, "init/error", body, now)
                    return self.reply(202, b'{"status":"OK"}')
                parts = path.removeprefix(f"{api.PREFIX}/invocation/").split("/")
                if len(parts) == 2 and parts[1] in ("response", "error") and api.finish(parts[0], parts[1], body, now):
                    return self.reply(202, b'{"status":"OK"}')
                self.reply(400, b'{"errorType":"InvalidRequestID"}')

            def reply(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address) -> None:
                pass  # a killed function's connection resets: expected, not worth a traceback

        self.server = Server(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def arm(self, event: bytes, arn: str) -> Invocation:
        with self.condition:
            self.generation += 1
            self.current = Invocation(event, arn)
            self.condition.notify_all()
            return self.current

    def disarm(self) -> None:
        with self.condition:
            self.generation += 1
            self.current = None
            self.condition.notify_all()

    def next_invocation(self) -> Invocation | None:
        with self.condition:
            generation = self.generation
            while self.generation == generation and (self.current is None or self.current.delivered):
                self.condition.wait(timeout=1)
            if self.generation != generation or self.current is None:
                return None
            self.current.delivered = True
            return self.current

    def finish(self, request_id: str | None, kind: str, body: bytes, at: float) -> bool:
        with self.condition:
            invocation = self.current
            if invocation is None or invocation.finished.is_set():
                return False
            if request_id is not None and (request_id != invocation.id or not invocation.delivered):
                return False
            invocation.kind, invocation.body, invocation.finished_at = kind, body, at
            invocation.finished.set()
            return True

    def close(self) -> None:
        self.disarm()
        self.server.shutdown()
        self.server.server_close()


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)
