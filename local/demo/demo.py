"""The demo: refreshes y (us-west-2) from the newest snapshot of x (us-east-1) on the built-in
emulated AWS, then shows where y now comes from. Needs no AWS account.

    python local/demo/demo.py                        # the whole demo (what scripts/demo runs)
    python local/demo/demo.py seed  --endpoint URL   # the parts, against an emulator already
    python local/demo/demo.py check --endpoint URL   #   running (check: exit 1 unless y comes
                                                     #   from x's newest snapshot)

The whole demo starts the RDS emulator (local/emulator/emulator_process.py), seeds it with the
standard world (local/emulator/worlds.json: x with several snapshots, one still being taken,
and y, configured and opted in), runs `scripts/refresh-local --no-build` on it, prints the
execution output, checks the result, and stops every process it started. It does not build:
scripts/demo builds first. Run it with the emulator's Python (.local/venv, from scripts/setup),
which has moto and boto3.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "local/emulator"))
import seeding  # noqa: E402
from emulator_process import EmulatorClient, EmulatorProcess, communicate_or_stop  # noqa: E402

WORLD = "standard"
SOURCE, TARGET = "x", "y"  # the world's instance names: x is refreshed into y

# From here on, copies, deletes and restores take a few status checks to finish, as on AWS,
# so the state machine's polling is visible.
TRANSITIONS = {
    "snapshot.creating": {"reads": 2},
    "instance.deleting": {"reads": 2},
    "instance.creating": {"reads": 3},
    "instance.modifying": {"reads": 2},
}

# The settings of y that a plain restore would lose and the refresh keeps, as
# DescribeDBInstances reports them; what y must have is what the world declares.
KEPT = ["DBInstanceClass", "MultiAZ", "VpcSecurityGroups", "PreferredMaintenanceWindow",
        "BackupRetentionPeriod", "DeletionProtection"]


def say(message: str) -> None:
    print(f"demo: {message}", file=sys.stderr, flush=True)


def declared(emulator: EmulatorClient) -> dict[str, seeding.InstancePlan]:
    """The world's instances as the emulator seeds them (region, identifier, CreateDBInstance
    parameters with every reference resolved), by name."""
    planned = seeding.plan({"world": WORLD}, emulator.worlds())
    return {instance.name: instance for instance in planned.instances}


def expected_settings(create: dict) -> dict:
    """KEPT as DescribeDBInstances reports what CreateDBInstance was given."""
    described = dict(create)
    if "VpcSecurityGroupIds" in create:
        described["VpcSecurityGroups"] = [{"VpcSecurityGroupId": g, "Status": "active"} for g in create["VpcSecurityGroupIds"]]
    return {key: described[key] for key in KEPT if key in described}


def seed(emulator: EmulatorClient) -> dict:
    """Seeds the standard world and slows the emulator's transitions; what was created."""
    world = emulator.seed(WORLD)
    emulator.control("POST", "transitions", TRANSITIONS)
    x, y = world["instances"][SOURCE], world["instances"][TARGET]
    print(f"seeded {x['region']}/{x['dbInstanceIdentifier']} with snapshots, and "
          f"{y['region']}/{y['dbInstanceIdentifier']}", file=sys.stderr)
    return world


def check(emulator: EmulatorClient) -> int:
    """Shows x's snapshots and y after the refresh; 1 unless y comes from x's newest available
    snapshot, configured and tagged as the world declares it."""
    instances = declared(emulator)
    source, target = instances[SOURCE], instances[TARGET]
    source_region, x = source.region, source.identifier
    target_region, y = target.region, target.identifier
    snapshots = emulator.rds(source_region).describe_db_snapshots(DBInstanceIdentifier=x)["DBSnapshots"]
    available = [s for s in snapshots if s["Status"] == "available"]
    newest = max(available, key=lambda s: s["SnapshotCreateTime"])["DBSnapshotIdentifier"]
    print(f"\nsnapshots of {source_region}/{x}:")
    for s in sorted(snapshots, key=lambda s: str(s.get("SnapshotCreateTime", "~"))):
        mark = "  <- newest available" if s["DBSnapshotIdentifier"] == newest else ""
        created = s.get("SnapshotCreateTime", "(still creating)")
        print(f"  {s['DBSnapshotIdentifier']:<32} {s['Status']:<10} {created}{mark}")

    client = emulator.rds(target_region)
    instance = client.describe_db_instances(DBInstanceIdentifier=y)["DBInstances"][0]
    tags = {t["Key"]: t["Value"] for t in client.list_tags_for_resource(ResourceName=instance["DBInstanceArn"])["TagList"]}
    print(f"\n{target_region}/{y} after the refresh:")
    print(f"  status   {instance['DBInstanceStatus']}")
    print(f"  endpoint {instance['Endpoint']['Address']}:{instance['Endpoint']['Port']}")
    lost = []
    for key, wanted in expected_settings(target.create).items():
        kept = instance.get(key) == wanted
        lost += [] if kept else [key]
        print(f"  {key:<27} {json.dumps(instance.get(key)):<58} {'(as before)' if kept else f'LOST: was {wanted}'}")
    for key in sorted(tags):
        print(f"  tag {key} = {tags[key]}")
    # The tags y was seeded with (a user tag, the opt-in naming x) are kept too.
    lost += [f"tag {t['Key']}" for t in target.create.get("Tags", []) if tags.get(t["Key"]) != t["Value"]]

    if tags.get("rds-refresh:snapshot") != newest or lost:
        print(f"\nFAILED: {y} should come from {newest}, configured as before"
              + (f" (lost: {', '.join(lost)})" if lost else ""), file=sys.stderr)
        return 1
    print(
        f"\n{target_region}/{y} now comes from {newest}, the newest available snapshot of {source_region}/{x},"
        " and is configured as before."
    )
    return 0


def refresh(emulator: EmulatorClient, world: dict, work: Path) -> int:
    """scripts/refresh-local on the seeded world; prints the execution output. Its exit status."""
    x, y = world["instances"][SOURCE], world["instances"][TARGET]
    request = {
        "source": {"region": x["region"], "dbInstanceIdentifier": x["dbInstanceIdentifier"]},
        "target": {"region": y["region"], "dbInstanceIdentifier": y["dbInstanceIdentifier"],
                   # y is deletion-protected: the refresh may turn it off to replace y (and turns it back on).
                   "allowDisableDeletionProtection": True},
    }
    input_file = work / "input.json"
    input_file.write_text(json.dumps(request, indent=1) + "\n")
    say(f"scripts/refresh-local --input input.json --endpoint {emulator.url}")
    runner = subprocess.Popen(
        [str(ROOT / "scripts/refresh-local"), "--no-build", "--input", str(input_file), "--endpoint", emulator.url],
        stdout=subprocess.PIPE, text=True,
    )
    output = communicate_or_stop(runner)
    if runner.returncode != 0:
        say(f"the refresh failed (scripts/refresh-local exit status {runner.returncode})")
        return runner.returncode
    print("execution output:")
    print(output, end="" if output.endswith("\n") else "\n", flush=True)
    return 0


def demo() -> int:
    def stopped(signum, _frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, stopped)
    signal.signal(signal.SIGHUP, stopped)
    emulator = None
    try:
        with tempfile.TemporaryDirectory(prefix="rds-refresh-demo-") as work:
            emulator = EmulatorProcess()
            say(f"RDS emulator at {emulator.url}")
            world = seed(emulator)
            status = refresh(emulator, world, Path(work))
            return status if status != 0 else check(emulator)
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    except RuntimeError as error:
        say(str(error))
        return 1
    finally:
        if emulator is not None:
            emulator.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", choices=["demo", "seed", "check"], default="demo",
                        help="demo (default): the whole demo; seed, check: one part, against --endpoint")
    parser.add_argument("--endpoint", help="an emulator already running (seed and check)")
    args = parser.parse_args()
    if args.command == "demo":
        if args.endpoint:
            parser.error("the whole demo starts its own emulator: --endpoint is for seed and check")
        return demo()
    if not args.endpoint:
        parser.error(f"{args.command} needs --endpoint URL")
    emulator = EmulatorClient(args.endpoint)
    if args.command == "seed":
        seed(emulator)
        return 0
    return check(emulator)


if __name__ == "__main__":
    sys.exit(main())
