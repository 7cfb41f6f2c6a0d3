"""rds_emulator.py as a child process, for every Python program that drives it: the emulator's
own tests, the benchmarks (bench/harness.py) and the demo (local/demo/demo.py).

It follows the launcher protocol of README.md ("Starting it from a program"): 127.0.0.1, port 0
(a free port), the first line on stdout `listening http://127.0.0.1:PORT`, and
--exit-on-stdin-eof, so that the emulator stops with stop(), at the end of a `with` block, and,
should the parent die without either, when its stdin pipe closes.

`EmulatorProcess(databases=True)` starts it with its data plane (--databases: a PostgreSQL
server per RDS for PostgreSQL instance; README.md, "The data plane"), optionally in
`database_dir`; `databases()` answers GET /_emulator/databases (the CA bundle and the servers).
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent


def communicate_or_stop(process: subprocess.Popen, timeout: float | None = None) -> str:
    """The stdout of `process` (a local run, e.g. scripts/refresh-local, that the programs
    driving the emulator start beside it) once it has ended. Should this program be interrupted
    or `timeout` pass first, SIGTERM lets the child clean up (the runner aborts its execution and
    stops its function processes), SIGKILL follows after 10 s, and the exception goes on."""
    try:
        output, _ = process.communicate(timeout=timeout)
        return output
    except BaseException:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        raise


class EmulatorClient:
    """The control API and a boto3 RDS client of an emulator that listens at `url`."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def control(self, method: str, path: str, body=None):
        """A call to the control API, `/_emulator/<path>`; its JSON answer. An answer other
        than 2xx raises urllib.error.HTTPError (its body is the JSON {"error": ...})."""
        request = urllib.request.Request(
            f"{self.url}/_emulator/{path}",
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method=method,
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def seed(self, world: str = "standard", **options):
        """POST /_emulator/seed: creates a world of worlds.json (options: reset, instances,
        identifiers, overrides) and returns what was created; RuntimeError with the emulator's
        reason when it refuses."""
        try:
            return self.control("POST", "seed", {"world": world, **options})
        except urllib.error.HTTPError as error:
            try:
                reason = json.load(error).get("error")
            except ValueError:
                reason = None
            raise RuntimeError(f"seeding the world {world!r} failed: {reason or error}") from None

    def worlds(self) -> dict:
        """The worlds the emulator can seed, as worlds.json declares them (GET /_emulator/seed)."""
        return self.control("GET", "seed")["worlds"]

    def databases(self) -> dict:
        """GET /_emulator/databases: {"enabled", "caBundle" (the CA's PEM file, to verify the
        servers' certificates against), "servers": [{"region", "dbInstanceIdentifier", "port",
        "dataDirectory"}]}."""
        return self.control("GET", "databases")

    def rds(self, region: str, config=None):
        """A boto3 RDS client for `region` with dummy credentials, pointed at the emulator."""
        import boto3

        return boto3.client("rds", region_name=region, endpoint_url=self.url,
                            aws_access_key_id="test", aws_secret_access_key="test", config=config)

    def secretsmanager(self, region: str, config=None):
        """A boto3 Secrets Manager client for `region` with dummy credentials, pointed at the emulator."""
        import boto3

        return boto3.client("secretsmanager", region_name=region, endpoint_url=self.url,
                            aws_access_key_id="test", aws_secret_access_key="test", config=config)


class EmulatorProcess(EmulatorClient):
    """An emulator started for the caller, and the client of it."""

    def __init__(self, *args: str, python: str = sys.executable, databases: bool = False,
                 database_dir: str | Path | None = None) -> None:
        """Starts the emulator with `args` (e.g. "--state-table", NAME) under `python`, a
        Python with moto installed; with `databases`, its data plane (--databases, in
        `database_dir` if given: an empty or missing folder, removed when it exits);
        RuntimeError when it does not say it listens."""
        if database_dir is not None and not databases:
            raise ValueError("database_dir needs databases=True")
        data = ["--databases"] if databases else []
        if database_dir is not None:
            data += ["--database-dir", str(database_dir)]
        self.process = subprocess.Popen(
            [str(python), str(HERE / "rds_emulator.py"), "--host", "127.0.0.1", "--port", "0",
             "--exit-on-stdin-eof", *data, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline().strip()
        if not line.startswith("listening "):
            self.stop()
            raise RuntimeError(f"the emulator did not start (it said {line!r})")
        super().__init__(line.removeprefix("listening "))

    def __enter__(self) -> "EmulatorProcess":
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()

    def stop(self) -> None:
        """Closes its stdin (the protocol's way to stop it) and waits (it stops its servers
        first, if it has any); kills it after 30 s."""
        try:
            self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
