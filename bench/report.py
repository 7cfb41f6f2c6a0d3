"""The generated docs/benchmarks.md: machine, commands, tables, prices and formulas."""

from __future__ import annotations

import math
import statistics

# AWS on-demand list prices, us-east-1, as published in November 2026 (not fetched by the
# bench; change them here when AWS does).
PRICES = {
    "as_of": "November 2026",
    "region": "us-east-1",
    "transition": 0.025 / 1000,  # Step Functions Standard, per state transition
    "request": 0.20 / 1_000_000,  # Lambda, per request
    "gb_second": {"arm64": 0.0000133334, "x86_64": 0.0000166667},  # Lambda, first price tier
}


def usd(value: float) -> str:
    if value == 0:
        return "$0"
    decimals = max(2, -math.floor(math.log10(abs(value))) + 2)
    return f"${value:.{decimals}f}"


def ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:.0f} ms" if value >= 100 else f"{value:.1f} ms"


def cost(transitions: int, invocations: int, billed_ms: int, memory_mb: int) -> dict:
    gb_seconds = billed_ms / 1000 * memory_mb / 1024
    lambda_requests = invocations * PRICES["request"]
    result = {"stepfunctions": transitions * PRICES["transition"], "gb_seconds": gb_seconds}
    for arch, price in PRICES["gb_second"].items():
        result[f"lambda_{arch}"] = lambda_requests + gb_seconds * price
        result[f"total_{arch}"] = result["stepfunctions"] + result[f"lambda_{arch}"]
    return result


def billed_ms(durations_ms: list[int]) -> int:
    """Lambda bills each invocation's duration rounded up to the millisecond (at least 1 ms)."""
    return sum(max(1, d) for d in durations_ms)


def geometric_mean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def table(header: list[str], rows: list[list[str]], align: str | None = None) -> str:
    align = align or "l" + "r" * (len(header) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def headline(ctx: dict) -> list[str]:
    # The tasks that call AWS, as the Python Lambdas did; check-input (no call) apart.
    cold = {task: r for task, r in ctx["coldstart"].items() if task != "check-input"}
    bare = ctx["coldstart"].get("check-input")
    time_ratios = [statistics.median(r["python"].times()) / statistics.median(r["rust"].times()) for r in cold.values()]
    rss_ratios = [statistics.median(r["python"].rss_mib()) / statistics.median(r["rust"].rss_mib()) for r in cold.values()]
    rust_ms = [statistics.median(r["rust"].times()) * 1000 for r in cold.values()]
    python_ms = [statistics.median(r["python"].times()) * 1000 for r in cold.values()]
    rust_mib = [statistics.median(r["rust"].rss_mib()) for r in cold.values()]
    python_mib = [statistics.median(r["python"].rss_mib()) for r in cold.values()]
    typical = ctx["typical_restore"]
    rows = {(row["mode"], row["restore"]): row for row in ctx["growth"]}
    swap, replace = rows[("swap", typical)], rows[("replace", typical)]
    arch = "arm64"
    bare_text = ""
    if bare is not None:
        bt, pt = statistics.median(bare["rust"].times()), statistics.median(bare["python"].times())
        bare_text = (f" Without any AWS call (`check-input`): {bt * 1000:.0f} ms vs {pt * 1000:.0f} ms "
                     f"({pt / bt:.1f}x), the interpreter alone.")
    lines = [
        f"- **Cold start** (fresh process, one event, AWS call(s) against the emulator; {len(cold)} tasks, median of "
        f"{ctx['runs']} runs each): Rust {min(rust_ms):.0f}-{max(rust_ms):.0f} ms, the boto3 reference "
        f"{min(python_ms):.0f}-{max(python_ms):.0f} ms: Python takes **{geometric_mean(time_ratios):.0f}x** as long "
        f"(geometric mean; {min(time_ratios):.1f}x-{max(time_ratios):.1f}x by task) and **{geometric_mean(rss_ratios):.1f}x** "
        f"the memory (peak RSS {min(rust_mib):.1f}-{max(rust_mib):.1f} MiB vs {min(python_mib):.1f}-{max(python_mib):.1f} MiB)."
        + bare_text,
        f"- **Cost of one refresh on AWS** (restore {typical} min, {ctx['scenario_text']}): "
        f"swap {usd(swap['cost'][f'total_{arch}'])} ({swap['totals'].transitions} transitions, {swap['totals'].invocations} invocations), "
        f"replace {usd(replace['cost'][f'total_{arch}'])} ({replace['totals'].transitions} transitions, {replace['totals'].invocations} invocations), "
        f"Lambda on {arch} at {ctx['memory_mb']} MB; Step Functions is {100 * swap['cost']['stepfunctions'] / swap['cost'][f'total_{arch}']:.0f}% of it. "
        f"A nightly refresh: {usd(30 * swap['cost'][f'total_{arch}'])} (swap) or "
        f"{usd(30 * replace['cost'][f'total_{arch}'])} (replace) a month.",
        "- **Growth with the restore time** (transitions, swap / replace): "
        + ", ".join(f"{t} min: {rows[('swap', t)]['totals'].transitions} / {rows[('replace', t)]['totals'].transitions}"
                    for t in ctx["restore_minutes"])
        + f"; each further poll after the first few minutes covers {ctx['restore_policy'].max_delay:g} s.",
        f"- **Downtime of `y`**: measured locally (every RDS transition held for a set time, section 3), swap "
        f"{ctx['timed_summary']['swap']['downtime']:.2f} s vs replace {ctx['timed_summary']['replace']['downtime']:.2f} s; "
        f"on AWS's time scale (model, section 4, restore {typical} min) swap {swap['downtime_model'] / 60:.1f} min "
        f"vs replace {replace['downtime_model'] / 60:.1f} min.",
    ]
    return lines


def render(ctx: dict) -> str:
    m = ctx["machine"]
    out = ["# Benchmarks", ""]
    out.append(f"Generated by `scripts/bench{' --quick' if ctx['quick'] else ''}` on {ctx['date']} in "
               f"{ctx['elapsed']:.0f} s. Do not edit: run it again.")
    if ctx["quick"]:
        out.append("**A quick run** (few repetitions, fewer tasks): a smoke test, not results.")
    out += [
        "",
        "rds-refresh runs each RDS step as a small Rust Lambda and leaves every wait to Step Functions. "
        "These numbers compare it, in the same run on the same machine, with what the earlier approach, "
        "Python Lambdas with boto3, pays per cold start, and show what a refresh costs in the units AWS bills. "
        "Everything runs on the local stand-ins (the RDS emulator on moto, the local state-machine runner), "
        "so anyone can reproduce it without an AWS account.",
        "",
        "## Summary",
        "",
        *headline(ctx),
        "",
        "## Machine and software",
        "",
        table(["", ""], [[k, v] for k, v in m.items()], "ll"),
        "",
        "## Reproduce",
        "",
        "```sh",
        f"scripts/check-deploy        # builds the release binary, target/lambda/{ctx['binary']}/bootstrap (and checks the template)",
        "scripts/bench               # this file and transitions-vs-restore-time.svg, in docs/",
        "scripts/bench --quick       # a smoke run in well under 90 s; writes to target/bench-quick/ (or --out DIR)",
        "```",
        "",
        f"Binary measured: {ctx['binaries']}.",
    ]
    if ctx.get("stale"):
        out.append(f"**Warning:** {ctx['stale']}")
    out += ["", *coldstart_section(ctx), "", *sizes_section(ctx), "", *refresh_section(ctx), "",
            *growth_section(ctx), "", *method_section(ctx), ""]
    return "\n".join(out)


def coldstart_section(ctx: dict) -> list[str]:
    rows = []
    for task, r in ctx["coldstart"].items():
        rust, python = r["rust"], r["python"]
        rt, pt = statistics.median(rust.times()), statistics.median(python.times())
        rm, pm = statistics.median(rust.rss_mib()), statistics.median(python.rss_mib())
        calls = [f"{a}" + (f" x{n}" if n > 1 else "") for a, n in r["calls"].items()]
        calls += ["DynamoDB UpdateItem"] if task in ("lock-target", "describe-target") else []
        calls = " + ".join(calls) or "none"
        rows.append([
            f"`{task}`", calls,
            f"{ms(rt)} ({ms(ctx['summary'](rust.times())['p10'])}-{ms(ctx['summary'](rust.times())['p90'])})",
            f"{ms(pt)} ({ms(ctx['summary'](python.times())['p10'])}-{ms(ctx['summary'](python.times())['p90'])})",
            f"**{pt / rt:.1f}x**",
            f"{rm:.1f} MiB", f"{pm:.1f} MiB", f"**{pm / rm:.1f}x**",
        ])
    return [
        "## 1. Cold start: one event, fresh process",
        "",
        f"Each run starts a fresh process, hands it one event through a Lambda Runtime API served by the "
        f"bench (GET `/2018-06-01/runtime/invocation/next` with the `Lambda-Runtime-Aws-Request-Id`, "
        f"`-Deadline-Ms` and `-Invoked-Function-Arn` headers), and stops the clock when the answer is POSTed "
        f"to `.../response`; its peak memory (max RSS since its exec, `VmHWM` in `/proc/<pid>/status`) is read and the process killed. "
        f"Rust is the release binary `{ctx['binary']}`, started with `_HANDLER` set to the task as Lambda starts "
        f"each function (its Handler); Python is `bench/python_reference.py`, started alike: the same Runtime API loop "
        f"(urllib) and the same AWS calls with boto3, clients built at init as a Lambda module does. "
        f"{ctx['runs']} runs per task and language, alternating (Rust first, then Python first, ...) so that "
        f"drift on the machine hits both. Before measuring, each task's Rust and Python runs are checked to make "
        f"the same RDS calls (the emulator's call log) and to agree on the output.",
        "",
        table(["task", "AWS calls per event", "Rust median (p10-p90)", "Python median (p10-p90)",
               "time, Python / Rust", "Rust peak RSS", "Python peak RSS", "memory, Python / Rust"], rows, "llrrrrrr"),
        "",
        "The events are real: each is made from the outputs of the tasks before it, as the state machine "
        "makes them (`check-input`'s request for `find-snapshot`, its snapshot for `describe-target`, ...). "
        "The other tasks (`copy-snapshot`, `delete-target`, `restore-target`, `configure-target`, "
        "`rename-target`, `tag-target`, `prune-copies`, `recover-swap`, `plan-refresh`) change RDS or need a "
        "state that their own first run changes (a copy that then exists, an instance that is then renamed or "
        "gone), so a repeated event would not repeat the same work; they run in the same binary, with the same "
        "runtime, SDK configuration and client set-up, which is what a cold start pays for. "
        "The Python process is a bare interpreter: the managed Python runtime also starts its own bootstrap, "
        "also in Python, so Python's real cold start is longer. On AWS both also pay for fetching the code "
        "package, which neither does here.",
    ]


def sizes_section(ctx: dict) -> list[str]:
    handlers = ctx["handlers"]
    rows = [[f"`{ctx['binary']}`", str(len(handlers)), f"{ctx['binary_size'] / 1e6:.1f} MB"]]
    return [
        "## 2. Release binary",
        "",
        f"The one `bootstrap` every function deploys ({ctx['binaries']}; stripped, no LTO: see ARCHITECTURE.md, "
        "\"Build cost\"): each function runs the task its Handler names (`_HANDLER`: "
        + ", ".join(f"`{h}`" for h in handlers)
        + "). Lambda's limit for a zipped package is 50 MB.",
        "",
        table(["binary", "tasks", "size"], rows),
    ]


def refresh_section(ctx: dict) -> list[str]:
    runs = ctx["timed"]
    summary = ctx["timed_summary"]
    holds = ", ".join(f"{kind} {seconds:g} s" for kind, seconds in ctx["timed_holds"].items())
    modes = ["swap", "replace"]

    def med(mode: str, key) -> float:
        return statistics.median(key(r) for r in runs if r.mode == mode)

    def rng(mode: str, key, fmt: str) -> str:
        values = [key(r) for r in runs if r.mode == mode]
        if len(values) == 1 or min(values) == max(values):
            return format(values[0], fmt)
        return f"{format(statistics.median(values), fmt)} ({format(min(values), fmt)}-{format(max(values), fmt)})"

    actions = sorted({a for r in runs for a in r.totals.calls})
    rows = [
        ["execution wall time, s"] + [rng(m, lambda r: r.execution_seconds, ".2f") for m in modes],
        ["`scripts/refresh-local` process, s"] + [rng(m, lambda r: r.process_seconds, ".2f") for m in modes],
        ["**downtime of `y`** (`downtime.seconds`), s"] + [f"**{rng(m, lambda r: r.downtime_seconds, '.2f')}**" for m in modes],
        ["state transitions"] + [rng(m, lambda r: r.totals.transitions, ".0f") for m in modes],
        ["of which NotReady retries (polls)"] + [rng(m, lambda r: sum(r.totals.retries.values()), ".0f") for m in modes],
        ["Lambda invocations"] + [rng(m, lambda r: r.totals.invocations, ".0f") for m in modes],
        ["Lambda duration, summed, ms"] + [rng(m, lambda r: sum(r.durations_ms), ".0f") for m in modes],
    ]
    rows += [[f"RDS `{a}`"] + [rng(m, lambda r, a=a: r.totals.calls.get(a, 0), ".0f") for m in modes] for a in actions]
    rows.append(["RDS calls, all"] + [rng(m, lambda r: sum(r.totals.calls.values()), ".0f") for m in modes])
    rows.append(["cost of this run: Step Functions"] + [usd(summary[m]["cost"]["stepfunctions"]) for m in modes])
    for arch in PRICES["gb_second"]:
        rows.append([f"cost of this run: Lambda, {arch}"] + [usd(summary[m]["cost"][f"lambda_{arch}"]) for m in modes])
    rows.append(["**cost of this run, total** (arm64)"] + [f"**{usd(summary[m]['cost']['total_arm64'])}**" for m in modes])
    count = len([r for r in runs if r.mode == "swap"])
    return [
        "## 3. One refresh, measured locally",
        "",
        f"`scripts/refresh-local --no-build --binary` with the release binary, {count} run{'s' if count > 1 else ''} per mode "
        f"(alternating swap and replace; median, and min-max when more than one). The emulator holds every RDS "
        f"transition for a set time: {holds}; each short enough that the local runner's 10 ms retry "
        f"pauses stay well within every MaxAttempts. The local runner polls every ~10 ms plus the poll itself, not "
        f"every 30 s to 2 min as on AWS, so a wait costs more polls here than the same wait would on AWS: the "
        f"counts and cost below are this run's, and section 4 gives AWS's. Downtime is what the execution output "
        f"reports: swap mode is down from the first rename until the new instance answers under `y`'s name; "
        f"replace mode from the delete until the restored `y` is available.",
        "",
        table(["", "swap (default)", "replace"], rows, "lrr"),
    ]


def growth_section(ctx: dict) -> list[str]:
    policies = ctx["policies"]
    prow = [[step, ", ".join(f"`{s}`" for s in states), policies[step].describe(),
             f"{policies[step].limit() / 60:.0f} min"] for step, states in ctx["wait_states"].items()]
    rows = []
    for row in ctx["growth"]:
        t = row["totals"]
        rows.append([
            f"{row['restore']} min", row["mode"], str(row["restore_polls"]), f"**{t.transitions}**", str(t.invocations),
            str(t.calls.get("DescribeDBInstances", 0)), str(sum(t.calls.values())),
            usd(row["cost"]["stepfunctions"]), usd(row["cost"]["lambda_arm64"]), usd(row["cost"]["lambda_x86_64"]),
            f"**{usd(row['cost']['total_arm64'])}**",
            f"{row['downtime_model'] / 60:.1f} min", "yes" if row["validated"] else "NO",
        ])
    base = ", ".join(f"{mode}: {b.transitions} transitions, {b.invocations} invocations, "
                     f"{sum(b.calls.values())} RDS calls" for mode, b in ctx["bases"].items())
    return [
        "## 4. How it grows with the restore time (AWS's time scale)",
        "",
        "On AWS the waits decide how many polls a refresh makes. Every wait is a Task that fails with "
        "`NotReady` until RDS is done, under a Retry on `NotReady` in `statemachine/refresh.asl.json`; the pause "
        "before retry k is min(IntervalSeconds x BackoffRate^(k-1), MaxDelaySeconds), so a wait that lasts T "
        "takes the smallest n retries whose pauses add up to T. Each retry is one more state transition, one more "
        "Lambda invocation and one more Describe call. `bench/model.py` reads the retriers from the definition:",
        "",
        table(["RDS work", "wait states", "NotReady retrier", "longest wait"], prow, "lllr"),
        "",
        f"A refresh that waits for nothing ({base}) plus the polls of each wait gives the counts below, for "
        f"{ctx['scenario_text']}, and a restore of 5, 30 or 120 min. **Each row was also run**: the emulator held "
        f"each transition for exactly as many status reads as the model's polls, and the run's transitions, Lambda "
        f"invocations and RDS calls by action were checked to equal the model's (the bench fails otherwise). "
        f"Downtime (model) is the polling time of the waits inside the downtime: on AWS, at the poll that sees "
        f"the instance ready. Lambda durations are the local run's (see below).",
        "",
        table(["restore", "mode", "restore polls", "transitions", "Lambda invocations", "DescribeDBInstances",
               "RDS calls", "Step Functions", "Lambda, arm64", "Lambda, x86_64", "total (arm64)", "downtime (model)",
               "model = run"], rows, "llrrrrrrrrrrl"),
        "",
        f"![State transitions per refresh versus restore time]({ctx['chart_name']})",
        "",
        "Past its first few polls a wait costs one transition per "
        f"{ctx['restore_policy'].max_delay:g} s, so transitions grow linearly with the restore time, at "
        f"{usd(PRICES['transition'] * 3600 / ctx['restore_policy'].max_delay)} per hour of restore. The restore "
        f"wait gives up after {ctx['restore_policy'].limit() / 60:.0f} min (`WaitTimedOut`).",
    ]


def method_section(ctx: dict) -> list[str]:
    return [
        "## How the numbers are made",
        "",
        f"- **Prices**: AWS on-demand list prices for {PRICES['region']}, as published in {PRICES['as_of']} "
        "(the bench does not fetch them; they are in `bench/report.py`): Step Functions Standard "
        f"${PRICES['transition'] * 1000:.3f} per 1,000 state transitions; Lambda ${PRICES['request'] * 1e6:.2f} per "
        f"1M requests plus ${PRICES['gb_second']['x86_64']:.10f} per GB-second on x86_64, "
        f"${PRICES['gb_second']['arm64']:.10f} on arm64 (the template's default). No free tier.",
        f"- **Cost of a refresh** = transitions x $0.025 / 1,000 + invocations x $0.20 / 1,000,000 + "
        f"(sum of billed ms / 1000) x ({ctx['memory_mb']} MB / 1024) x price per GB-second; the memory is "
        "`MemorySize` in `deploy/template.yaml`; each invocation is billed in whole milliseconds, at least 1 ms "
        "(the init of a cold start included, as for custom runtimes).",
        "- **State transitions**: every state entered plus every retry (`StateEntered` and `StateRetried` events "
        "of the runner's `--events` file), which is what Step Functions Standard bills. **Lambda invocations**: "
        "each entry or retry of a Task state that invokes a function. **Lambda duration**: per attempt, from its "
        "`StateEntered`/`StateRetried` event to its `StateFailed`/`StateExited` event (millisecond timestamps); it "
        "includes the runner's Runtime API round trip and, for each function's first invocation, the process "
        "start. The emulator answers in a few ms where RDS takes tens to hundreds, so on AWS the summed duration "
        "would be larger: even at 1 s per invocation, a refresh's Lambda cost stays below "
        f"{usd(max(r['totals'].invocations for r in ctx['growth']) * (PRICES['request'] + ctx['memory_mb'] / 1024 * PRICES['gb_second']['x86_64']))}.",
        "- **The starting point**: every cold start and every refresh begins from the emulator's standard world "
        "(`local/emulator/worlds.json`, seeded afresh through `POST /_emulator/seed`): `x` in us-east-1 with an "
        "automated and three manual snapshots a day apart and one still being taken, and `y` in us-west-2, "
        "configured (Multi-AZ, a security group, windows, deletion protection), tagged and opted in to refreshes "
        "from `x`. The seed's own calls are not in the call log.",
        "- **RDS calls** come from the emulator's call log (`GET /_emulator/calls`), by action. DynamoDB calls "
        "(the lock and the kept configuration) are not in it.",
        "- **Downtime** is the execution output's `downtime.seconds`, measured by the tasks that start and end it.",
        "- **Not measured**: network latency to RDS, Lambda's code download and sandbox start, and Step "
        "Functions' own delay between states. The first two add to both languages' cold starts; none of them "
        "changes the counts, and none matters next to a refresh's minutes of waiting for RDS.",
    ]
