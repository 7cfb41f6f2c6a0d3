"""Whole refreshes: scripts/refresh-local against the emulator, measured from the runner's
--events file, the execution output and the emulator's call log."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from harness import ROOT, STATE_TABLE, BenchError, Emulator

from emulator_process import communicate_or_stop  # noqa: E402  (harness puts local/emulator on the path)
from model import Definition, Totals


@dataclass
class RefreshRun:
    mode: str
    holds: dict
    execution_seconds: float  # ExecutionStarted to ExecutionSucceeded, from the events
    process_seconds: float  # scripts/refresh-local from start to exit (includes starting Node)
    downtime_seconds: float | None  # the execution output's downtime.seconds
    totals: Totals
    durations_ms: list[int]  # each Lambda invocation, from its attempt's events
    output: dict


def runner_env() -> dict:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env.update({
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "RDS_REFRESH_STATE_TABLE": STATE_TABLE,
    })
    return env


def timestamp(event: dict) -> datetime:
    return datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))


def analyse(definition: Definition, events: list[dict], calls: dict) -> tuple[Totals, list[int]]:
    """Transitions (every state entered, and every retry: what Step Functions Standard bills),
    Lambda invocations (each entry or retry of a Lambda Task) and their durations (from the
    entry or retry to the attempt's StateFailed or StateExited), and NotReady retries by state."""
    entered = [e for e in events if e["type"] == "StateEntered"]
    retried = [e for e in events if e["type"] == "StateRetried"]
    invocations = sum(1 for e in entered + retried if definition.is_lambda(e["state"]))
    durations, open_since = [], {}
    for event in events:
        state = event.get("state")
        if state is None or not definition.is_lambda(state):
            continue
        if event["type"] in ("StateEntered", "StateRetried"):
            open_since[state] = timestamp(event)
        elif event["type"] in ("StateFailed", "StateExited") and state in open_since:
            started = open_since.pop(state)
            durations.append(round((timestamp(event) - started).total_seconds() * 1000))
    if len(durations) != invocations:
        raise BenchError(f"found {len(durations)} invocation durations for {invocations} invocations in the events")
    not_ready = Counter(e["state"] for e in retried if e.get("error") == "NotReady")
    path = list(dict.fromkeys(e["state"] for e in entered))
    return Totals(len(entered) + len(retried), invocations, dict(sorted(calls.items())), dict(not_ready), path), durations


def run_refresh(emulator: Emulator, definition: Definition, binary: Path, work: Path, mode: str,
                holds: dict) -> RefreshRun:
    """One refresh of the freshly seeded world's y from its x in `mode`, every transition held
    as `holds` says, by scripts/refresh-local running the one Lambda `binary`."""
    emulator.seed()
    emulator.set_transitions(holds)
    emulator.clear_calls()
    request = {"source": emulator.source, "target": {**emulator.target, "allowDisableDeletionProtection": True},
               "mode": mode}
    input_file, events_file, progress = work / "input.json", work / "events.jsonl", work / "refresh-local.log"
    input_file.write_text(json.dumps(request))
    events_file.unlink(missing_ok=True)
    started = time.perf_counter()
    with open(progress, "w") as log:
        runner = subprocess.Popen(
            [str(ROOT / "scripts/refresh-local"), "--no-build", "--binary", str(binary), "--input", str(input_file),
             "--endpoint", emulator.url, "--events", str(events_file)],
            env=runner_env(), stdout=subprocess.PIPE, stderr=log, text=True,
        )
        stdout = communicate_or_stop(runner, timeout=600)
    process_seconds = time.perf_counter() - started
    if runner.returncode != 0:
        tail = "\n".join(progress.read_text().splitlines()[-15:])
        raise BenchError(f"the {mode} refresh (holds {holds}) failed with exit status {runner.returncode}:\n{tail}")
    output = json.loads(stdout)
    events = [json.loads(line) for line in events_file.read_text().splitlines() if line.strip()]
    finished = [e for e in events if e["type"] == "ExecutionSucceeded"]
    if not finished:
        raise BenchError(f"the {mode} refresh has no ExecutionSucceeded event")
    totals, durations = analyse(definition, events, emulator.calls()["calls"])
    downtime = (output.get("downtime") or {}).get("seconds")
    return RefreshRun(mode, holds, finished[-1]["elapsedMs"] / 1000, process_seconds, downtime, totals, durations, output)
