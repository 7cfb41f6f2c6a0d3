"""The benchmarks behind docs/benchmarks.md: cold start (the Rust binary, per task, vs the boto3
reference), the binary's size, whole refreshes in both modes, and how a refresh's transitions grow with the restore
time (a model of the definition's polling, checked against measured runs). Run by
scripts/bench; see `scripts/bench --help`."""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import chart  # noqa: E402
import coldstart  # noqa: E402
import report  # noqa: E402
from harness import ROOT, BenchError, Emulator, say  # noqa: E402
from model import STEPS, Definition, predict  # noqa: E402
from refresh import run_refresh  # noqa: E402

DEFINITION = ROOT / "statemachine/refresh.asl.json"
CHART = "transitions-vs-restore-time.svg"

# Section 3: how long the emulator holds each transition, in seconds. Roughly in AWS's
# proportions (a restore or a copy takes far longer than a rename), and short enough that the
# local runner's polls (a 10 ms pause plus the poll) stay within every wait's MaxAttempts.
TIMED_HOLDS = {"snapshot.creating": 0.8, "instance.deleting": 0.3, "instance.creating": 0.8,
               "instance.modifying": 0.4, "instance.renaming": 0.2}
LOCAL_RETRY_PAUSE = 0.010  # the runner's default --retry-interval-ms, which refresh-local keeps

# Section 4: how long each RDS step takes on AWS, in minutes, besides the restore (5, 30, 120).
SCENARIO_MINUTES = {"copy": 20, "delete": 5, "configure": 5, "rename": 2}
SCENARIO_TEXT = "a cross-region copy of 20 min, a delete of 5 min, a configuration of 5 min and renames of 2 min each"
RESTORE_MINUTES = [5, 30, 120]
TYPICAL_RESTORE = 30
# The waits inside the downtime of each mode (from the rename or the delete to the serving y).
DOWNTIME_WAITS = {"swap": ["WaitRetired", "WaitPromoted"], "replace": ["WaitDeleted", "WaitAvailable"]}
MODES = ["swap", "replace"]


# The one Lambda binary: every function deploys it and it runs the task its `_HANDLER` names.
BINARY = "rds-refresh-lambda"


def handler_names() -> list[str]:
    """The tasks the binary dispatches on (`_HANDLER`): the values of statemachine/functions.json."""
    return sorted(set(json.loads((ROOT / "statemachine/functions.json").read_text()).values()))


ELF_MACHINES = {"x86_64": 0x3E, "amd64": 0x3E, "aarch64": 0xB7, "arm64": 0xB7}


def runs_here(path: Path) -> bool:
    """Whether `path` is an ELF executable for this machine's architecture."""
    try:
        header = path.read_bytes()[:20]
    except OSError:
        return False
    wanted = ELF_MACHINES.get(platform.machine().lower())
    return header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == wanted and os.access(path, os.X_OK)


def find_binary() -> tuple[Path, str, str | None]:
    """The release binary: cargo-lambda's (what scripts/check-deploy builds and SAM deploys)
    when it is there and runs on this machine; otherwise `cargo build --release`'s."""
    target = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
    lambda_binary = target / "lambda" / BINARY / "bootstrap"
    if runs_here(lambda_binary):
        binary = lambda_binary
        described = (f"`cargo lambda build --release`'s `target/lambda/{BINARY}/bootstrap`, "
                     "as scripts/check-deploy builds it")
    else:
        say(f"target/lambda/{BINARY}/bootstrap is missing or not built for this machine: "
            "building with cargo build --release instead")
        # The function binary only: the CLI is not a function.
        subprocess.run(["cargo", "build", "--quiet", "--release", "--bin", BINARY], cwd=ROOT, check=True)
        binary = target / "release" / BINARY
        described = f"`cargo build --release`'s `target/release/{BINARY}` (cargo-lambda's was missing)"
    if not runs_here(binary):
        raise BenchError(f"missing release binary: {binary}")
    # What goes into the binary (not the tests); a heuristic, by modification time.
    crates = [ROOT / "crates", ROOT / "tasks"]
    sources = [p for c in crates for p in c.glob("*/src/**/*.rs")] + [p for c in crates for p in c.glob("*/Cargo.toml")]
    stale = None
    if sources and max(p.stat().st_mtime for p in sources) > binary.stat().st_mtime:
        stale = ("some sources are newer than the binary measured: run scripts/check-deploy "
                 "(or cargo lambda build --release) before scripts/bench.")
        say(f"warning: {stale}")
    return binary, described, stale


def command_output(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine_info() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, AttributeError):
        pass
    os_name = platform.system()
    try:
        os_name = re.search(r'^PRETTY_NAME="?([^"\n]+)', Path("/etc/os-release").read_text(), re.M).group(1)
    except (OSError, AttributeError):
        pass
    import boto3
    import botocore
    import moto

    node = ROOT / "local/stepfunctions/node_modules/.bin/node"
    try:
        sfn = json.loads((ROOT / "local/stepfunctions/node_modules/aws-local-stepfunctions/package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        sfn = "unknown"
    return {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "OS": f"{os_name}, Linux {platform.release()}, {platform.machine()}" if platform.system() == "Linux"
        else f"{os_name} {platform.release()}, {platform.machine()}",
        "Rust": command_output(["rustc", "--version"]),
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "boto3 / botocore": f"{boto3.__version__} / {botocore.__version__}",
        "moto (RDS emulator)": moto.__version__,
        "Node / aws-local-stepfunctions": f"{command_output([str(node), '--version'])} / {sfn}",
    }


def memory_mb() -> int:
    match = re.search(r"^\s*MemorySize:\s*(\d+)\s*$", (ROOT / "deploy/template.yaml").read_text(), re.M)
    if not match:
        raise BenchError("no MemorySize in deploy/template.yaml")
    return int(match.group(1))


def check_timed_holds(definition: Definition) -> None:
    """Fails unless the local runner's fastest polling stays within every wait's MaxAttempts."""
    for step, (_, kind) in STEPS.items():
        most = TIMED_HOLDS[kind] / LOCAL_RETRY_PAUSE
        limit = definition.step_policy(step).max_attempts
        if most > 0.8 * limit:
            raise BenchError(f"holding {kind} {TIMED_HOLDS[kind]} s may take up to {most:.0f} polls locally, "
                             f"too close to its wait's MaxAttempts {limit}: shorten it in bench/bench.py")


def compare(predicted, measured, what: str) -> None:
    differences = []
    for field in ("transitions", "invocations", "calls", "retries"):
        if getattr(predicted, field) != getattr(measured, field):
            differences.append(f"{field}: model {getattr(predicted, field)}, measured {getattr(measured, field)}")
    if differences:
        raise BenchError(f"the model does not match the measured run ({what}):\n  " + "\n  ".join(differences))


def main() -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="a fast smoke run (2 tasks, 3 cold starts each, one timed refresh per mode); "
                             "writes to target/bench-quick/ unless --out")
    parser.add_argument("--out", type=Path, help="where to write benchmarks.md and the chart "
                                                 "(default: docs/, or target/bench-quick/ with --quick)")
    parser.add_argument("--runs", type=int, help="cold starts per task and language (default 20, --quick 3)")
    parser.add_argument("--refresh-runs", type=int, help="timed refreshes per mode (default 5, --quick 1)")
    args = parser.parse_args()
    runs = args.runs or (3 if args.quick else 20)
    refresh_runs = args.refresh_runs or (1 if args.quick else 5)
    out = (args.out or (ROOT / "target/bench-quick" if args.quick else ROOT / "docs")).resolve()
    if runs < 1 or refresh_runs < 1:
        parser.error("--runs and --refresh-runs must be at least 1")

    def interrupted(signum, _frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)

    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="rds-refresh-bench-"))
    emulator = cold = None
    ok = False
    try:
        definition = Definition(DEFINITION)
        check_timed_holds(definition)
        handlers = handler_names()
        bench_tasks = coldstart.QUICK_TASKS if args.quick else coldstart.TASKS
        unknown = sorted(set(bench_tasks) - set(handlers))
        if unknown:
            raise BenchError(f"not handlers of statemachine/functions.json: {', '.join(unknown)}")
        # One binary for every task (cargo-lambda names it `bootstrap`): the cold starts start it
        # with _HANDLER=<task>, scripts/refresh-local --binary runs it behind every Task state.
        binary, binaries_text, stale = find_binary()
        (work / "coldstart").mkdir()

        emulator = Emulator()
        say(f"RDS emulator at {emulator.url}")

        say(f"cold start: {', '.join(bench_tasks)}; {runs} runs each, Rust and Python alternating")
        cold = coldstart.ColdStart(emulator, binary, work / "coldstart")
        cold_results = cold.measure(bench_tasks, runs)

        say(f"refreshes with every transition held for a set time: {refresh_runs} per mode")
        timed = []
        holds = {kind: {"seconds": seconds} for kind, seconds in TIMED_HOLDS.items()}
        for index in range(refresh_runs):
            for mode in (MODES if index % 2 == 0 else MODES[::-1]):
                run = run_refresh(emulator, definition, binary, work, mode, holds)
                say(f"  {mode}: {run.execution_seconds:.2f} s, downtime {run.downtime_seconds:.2f} s, "
                    f"{run.totals.transitions} transitions")
                timed.append(run)
        mem = memory_mb()
        timed_summary = {}
        for mode in MODES:
            mine = [r for r in timed if r.mode == mode]
            median_run = sorted(mine, key=lambda r: r.totals.transitions)[len(mine) // 2]
            timed_summary[mode] = {
                "downtime": statistics.median(r.downtime_seconds for r in mine),
                "cost": report.cost(median_run.totals.transitions, median_run.totals.invocations,
                                    report.billed_ms(median_run.durations_ms), mem),
            }

        say("growth: a refresh that waits for nothing, then restores of " + ", ".join(f"{t}" for t in RESTORE_MINUTES)
            + " min on AWS's time scale, each checked against the model")
        waits = definition.waits()
        policies = {step: definition.step_policy(step) for step in STEPS}
        for mode, states in DOWNTIME_WAITS.items():
            for state in states:
                if state not in waits:
                    raise BenchError(f"{state} (the downtime of {mode} mode) is not a wait state of the definition")
        bases = {}
        for mode in MODES:
            run = run_refresh(emulator, definition, binary, work, mode, {})
            if run.totals.retries:
                raise BenchError(f"the {mode} refresh with no holds still polled: {run.totals.retries}")
            bases[mode] = run.totals

        def polls_for(minutes: dict) -> dict:
            try:
                return {step: policies[step].retries(m * 60) for step, m in minutes.items()}
            except ValueError as error:
                raise BenchError(f"{minutes}: {error}") from error

        growth = []
        for restore in RESTORE_MINUTES:
            polls = polls_for({**SCENARIO_MINUTES, "restore": restore})
            holds = {STEPS[step][1]: {"reads": n} for step, n in polls.items() if n > 0}
            for mode in MODES:
                predicted = predict(definition, bases[mode], polls)
                run = run_refresh(emulator, definition, binary, work, mode, holds)
                compare(predicted, run.totals, f"{mode}, restore {restore} min, holds {holds}")
                downtime = sum(policies[waits[s]].elapsed(polls[waits[s]]) for s in DOWNTIME_WAITS[mode])
                growth.append({
                    "mode": mode, "restore": restore, "restore_polls": polls["restore"] + 1, "totals": run.totals,
                    "cost": report.cost(run.totals.transitions, run.totals.invocations,
                                        report.billed_ms(run.durations_ms), mem),
                    "downtime_model": downtime, "validated": True,
                })
                say(f"  {mode}, restore {restore} min: {run.totals.transitions} transitions (model: "
                    f"{predicted.transitions})")

        colors = {"swap": "#1f6fb4", "replace": "#c0392b"}
        series = []
        for mode in MODES:
            points = []
            for tenth in range(10, 1801):
                minutes = tenth / 10
                polls = polls_for({**SCENARIO_MINUTES, "restore": minutes})
                points.append((minutes, predict(definition, bases[mode], polls).transitions))
            marks = [(row["restore"], row["totals"].transitions, str(row["totals"].transitions))
                     for row in growth if row["mode"] == mode]
            series.append({"label": f"{mode} mode{' (default)' if mode == 'swap' else ''}", "color": colors[mode],
                           "points": points, "marks": marks})
        svg = chart.step_chart(
            "Step Functions state transitions per refresh", "restore time on AWS, minutes", "state transitions",
            series, 180, 30,
            notes=[f"Model of the NotReady retriers of statemachine/refresh.asl.json, with {SCENARIO_TEXT}. "
                   "Circles: measured runs (the emulator held each step for the model's number of polls); "
                   "each equals the model."],
            right_label="Step Functions cost per refresh, USD",
            right_tick=lambda y: f"${y * report.PRICES['transition']:.5f}",
        )

        size = binary.stat().st_size
        elapsed = time.perf_counter() - started
        context = {
            "quick": args.quick, "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "elapsed": elapsed, "machine": machine_info(), "binaries": binaries_text, "stale": stale,
            "runs": runs, "coldstart": cold_results, "summary": coldstart.summary,
            "binary": BINARY, "binary_size": size, "handlers": handlers,
            "timed": timed, "timed_summary": timed_summary, "timed_holds": TIMED_HOLDS, "memory_mb": mem,
            "growth": growth, "bases": bases, "policies": policies, "restore_minutes": RESTORE_MINUTES,
            "typical_restore": TYPICAL_RESTORE, "restore_policy": policies["restore"],
            "scenario_text": SCENARIO_TEXT, "chart_name": CHART,
            "wait_states": {step: [s for s, k in waits.items() if k == step] for step in STEPS},
        }
        out.mkdir(parents=True, exist_ok=True)
        (out / CHART).write_text(svg)
        (out / "benchmarks.md").write_text(report.render(context))
        say(f"wrote {out / 'benchmarks.md'} and {out / CHART} in {elapsed:.0f} s")
        for line in report.headline(context):
            print(line)
        ok = True
        return 0
    except BenchError as error:
        say(f"FAILED: {error}")
        return 1
    except KeyboardInterrupt:
        say("interrupted")
        ok = True  # nothing to look at
        return 130
    finally:
        if cold is not None:
            cold.close()
        if emulator is not None:
            emulator.stop()
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            say(f"kept the work folder for a look: {work}")


if __name__ == "__main__":
    sys.exit(main())
