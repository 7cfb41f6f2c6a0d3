"""rds_emulator.py as a child process, for Python programs that drive it: the emulator's own
tests and the benchmarks (bench/harness.py). Listens on 127.0.0.1 and a free port; stopped by
stop() and, should the parent die without it, by the end of its stdin (--exit-on-stdin-eof).
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent


class EmulatorProcess:
    def __init__(self, *args: str, python: str = sys.executable) -> None:
        """Starts the emulator with `args` (e.g. "--state-table", NAME) under `python`, a
        Python with moto installed; RuntimeError when it does not say it listens."""
        self.process = subprocess.Popen(
            [str(python), str(HERE / "rds_emulator.py"), "--host", "127.0.0.1", "--port", "0",
             "--exit-on-stdin-eof", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline().strip()
        if not line.startswith("listening "):
            self.stop()
            raise RuntimeError(f"the emulator did not start (it said {line!r})")
        self.url = line.removeprefix("listening ")

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
            except OSError:
                pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def control(self, method: str, path: str, body=None):
        """A call to the control API, `/_emulator/<path>`; its JSON answer."""
        request = urllib.request.Request(
            f"{self.url}/_emulator/{path}",
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method=method,
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def rds(self, region: str, config=None):
        """A boto3 RDS client for `region` with dummy credentials, pointed at the emulator."""
        import boto3

        return boto3.client("rds", region_name=region, endpoint_url=self.url,
                            aws_access_key_id="test", aws_secret_access_key="test", config=config)
