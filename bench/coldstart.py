"""Cold start: a fresh process handling one event against the emulator, the Rust binary (started
for one task by `_HANDLER`, as each function starts it) versus the Python reference
(python_reference.py), interleaved so that drift hits both alike."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness import BenchError, Emulator, RuntimeApi, function_env, say

PYTHON_REFERENCE = Path(__file__).resolve().parent / "python_reference.py"
EXECUTION = "arn:aws:states:us-west-2:123456789012:execution:rds-refresh:bench"
GONE = "y-gone"  # an instance that does not exist: wait-deleted's success

# Benchmarked tasks, in the order a refresh runs them: each has an event that succeeds again
# and again against the same emulator state (the others change RDS state, so a repeated
# event would not do the same work; see the report).
TASKS = ["check-input", "lock-target", "find-snapshot", "describe-target", "wait-copied", "wait-available",
         "wait-deleted"]
QUICK_TASKS = ["find-snapshot", "describe-target"]

# What a task's Rust and Python outputs must agree on (the rest differs in form only, such as
# timestamps).
AGREE = {
    "check-input": lambda o: (o["request"]["mode"], o["request"]["copy"]["retain"], o["retainOldSeconds"]),
    "lock-target": lambda o: o["held"],
    "find-snapshot": lambda o: (o["identifier"], o["arn"], o["createdAt"], o["encrypted"]),
    "describe-target": lambda o: (o["exists"], o["configurationSource"], o["swap"],
                                  o["configuration"]["dbInstanceClass"], o["configuration"]["multiAz"],
                                  o["configuration"]["tags"]),
    "wait-copied": lambda o: o["status"],
    "wait-available": lambda o: o["endpoint"],
    "wait-deleted": lambda o: o["deleted"],
}


@dataclass
class Sample:
    seconds: float
    max_rss_kib: int


@dataclass
class Series:
    samples: list[Sample] = field(default_factory=list)

    def times(self) -> list[float]:
        return [s.seconds for s in self.samples]

    def rss_mib(self) -> list[float]:
        return [s.max_rss_kib / 1024 for s in self.samples]


def percentile(values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "p10": percentile(values, 10), "p90": percentile(values, 90),
            "min": min(values), "max": max(values), "n": len(values)}


def peak_rss_kib(pid: int) -> int:
    """The process's peak resident memory since it exec'd its program (VmHWM), read once it
    has answered, before it is killed. Not wait4's ru_maxrss: Linux carries the high-water mark
    of the memory a child was forked from (this bench's own, boto3 and all) across exec."""
    status = Path(f"/proc/{pid}/status").read_text()
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise BenchError(f"no VmHWM in /proc/{pid}/status")


class ColdStart:
    def __init__(self, emulator: Emulator, binary: Path, work: Path) -> None:
        self.emulator = emulator
        self.binary = binary  # the one Lambda binary; the task is chosen by _HANDLER
        self.work = work
        self.closing: list[threading.Thread] = []

    def close(self) -> None:
        for thread in self.closing:
            thread.join()

    def command(self, language: str) -> list[str]:
        """The process to start; function_env's `_HANDLER` names the task to both."""
        if language == "rust":
            return [str(self.binary)]
        return [sys.executable, str(PYTHON_REFERENCE)]

    def run_once(self, language: str, task: str, event: dict, timeout: float = 60) -> tuple[Sample, dict]:
        """Starts a fresh process, hands it `event`, and times it from just before the process
        is created to the moment its answer reaches the Runtime API; then kills it and reads
        its peak memory (VmHWM, the max RSS since exec)."""
        arn = f"arn:aws:lambda:us-east-1:123456789012:function:{task}"
        api = RuntimeApi()
        invocation = api.arm(json.dumps(event).encode(), arn)
        env = function_env(task, self.emulator.url, api.address)
        log = self.work / f"{language}-{task}.log"
        with open(log, "wb") as output:
            started = time.perf_counter()
            process = subprocess.Popen(self.command(language), env=env, stdin=subprocess.DEVNULL,
                                       stdout=output, stderr=output, cwd=self.work)
        peak_kib = None
        try:
            answered = invocation.finished.wait(timeout)
            if answered:
                peak_kib = peak_rss_kib(process.pid)
        finally:
            try:
                os.kill(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.wait4(process.pid, 0)
            process.returncode = -signal.SIGKILL  # reaped here, not by Popen
            # Stopping a server waits for its loop: out of the way of the next run.
            closing = threading.Thread(target=api.close, daemon=True)
            closing.start()
            self.closing = [t for t in self.closing if t.is_alive()] + [closing]
        if not answered:
            raise BenchError(f"{language} {task}: no answer within {timeout:.0f} s; its log: {log.read_text()[-2000:]}")
        body = invocation.body.decode("utf-8", "replace")
        if invocation.kind != "response":
            raise BenchError(f"{language} {task} failed ({invocation.kind}): {body[:2000]}\nlog: {log.read_text()[-2000:]}")
        return Sample(invocation.finished_at - started, peak_kib), json.loads(body)

    def rds_calls(self, language: str, task: str, event: dict) -> tuple[list, dict]:
        """One run, and the RDS calls it made (action, region, instance), from the emulator's log."""
        self.emulator.clear_calls()
        _, output = self.run_once(language, task, event)
        log = self.emulator.calls()["log"]
        return [(c["action"], c["region"], c["dbInstanceIdentifier"]) for c in log], output

    def events(self) -> dict:
        """Each task's event, made as the state machine makes them: from the outputs of the
        tasks before it (a first, unmeasured Rust run of each), so each is a real input."""
        source, target = self.emulator.source, self.emulator.target
        request = {"source": source, "target": {**target, "allowDisableDeletionProtection": True}, "mode": "swap"}
        events = {"check-input": request}
        _, checked = self.run_once("rust", "check-input", request)
        request = checked["request"]
        events["lock-target"] = {"target": target, "execution": EXECUTION, "action": "acquire"}
        events["find-snapshot"] = request
        _, snapshot = self.run_once("rust", "find-snapshot", request)
        events["describe-target"] = {"source": request["source"], "target": request["target"], "snapshot": snapshot}
        if snapshot["identifier"] != self.emulator.newest_snapshot():
            raise BenchError(f"find-snapshot chose {snapshot['identifier']}, not the seeded world's newest "
                             f"available snapshot {self.emulator.newest_snapshot()}")
        copy_id = f"rds-refresh-{snapshot['identifier']}-bench"
        copy = self.emulator.rds(target["region"]).copy_db_snapshot(
            SourceDBSnapshotIdentifier=snapshot["arn"], TargetDBSnapshotIdentifier=copy_id,
            SourceRegion=source["region"])["DBSnapshot"]
        events["wait-copied"] = {"copy": {"identifier": copy_id, "arn": copy["DBSnapshotArn"],
                                          "region": target["region"], "origin": "copied"}}
        events["wait-available"] = {"target": target}
        events["wait-deleted"] = {"target": {**target, "dbInstanceIdentifier": GONE}}
        return events

    def check_same_work(self, tasks: list[str], events: dict) -> None:
        """Fails unless the Python reference makes the same RDS calls as the Rust task and
        agrees on its output. Also the warm-up: moto's first answers are slower."""
        for task in tasks:
            rust_calls, rust_output = self.rds_calls("rust", task, events[task])
            python_calls, python_output = self.rds_calls("python", task, events[task])
            if rust_calls != python_calls:
                raise BenchError(f"{task}: the Python reference's RDS calls {python_calls} are not the Rust task's {rust_calls}")
            if AGREE[task](rust_output) != AGREE[task](python_output):
                raise BenchError(f"{task}: Rust answered {AGREE[task](rust_output)}, Python {AGREE[task](python_output)}")

    def measure(self, tasks: list[str], runs: int) -> dict:
        self.emulator.seed()
        events = self.events()
        self.check_same_work(tasks, events)
        results = {task: {"rust": Series(), "python": Series(), "calls": None} for task in tasks}
        for task in tasks:
            self.emulator.clear_calls()
            self.run_once("rust", task, events[task])
            calls = self.emulator.calls()["calls"]
            results[task]["calls"] = dict(sorted(calls.items()))
        for run in range(runs):
            for index, task in enumerate(tasks):
                # Alternate which language goes first, so neither always runs right after the other.
                order = ("rust", "python") if (run + index) % 2 == 0 else ("python", "rust")
                for language in order:
                    sample, _ = self.run_once(language, task, events[task])
                    results[task][language].samples.append(sample)
            say(f"cold start: round {run + 1}/{runs} done")
        return results
