"""The demo: refreshes y (us-west-2) from the newest snapshot of x (us-east-1) on the built-in
emulated AWS, giving the new y its own credentials, then shows where y now comes from, a row of
x's data read from the new y, and who can log in. Needs no AWS account.

    python local/demo/demo.py                        # the whole demo (what scripts/demo runs)
    python local/demo/demo.py seed  --endpoint URL   # the parts, against an emulator already
    python local/demo/demo.py check --endpoint URL   #   running (check: exit 1 unless y comes
                                                     #   from x's newest snapshot)

The whole demo starts the RDS emulator (local/emulator/emulator_process.py) with its data plane
(a real PostgreSQL server per instance), seeds it with the standard world
(local/emulator/worlds.json: x with its data and several snapshots, one still being taken, and
y, configured and opted in, with data of its own), stores y's staging credentials in the
emulator's Secrets Manager (fresh passwords, made here), runs `scripts/refresh-local --no-build`
on it, prints the execution output, checks the result, and stops every process it started. It does not build:
scripts/demo builds first. Run it with the emulator's Python (.local/venv, from scripts/setup),
which has moto and boto3.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
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


# y's staging credentials, by secret name: the master user's, and app_user's (whose production
# password is in x's snapshot). reporting, a login role x has too, is disabled on the new y.
SECRETS = {"master": "demo/y/master", "app_user": "demo/y/app_user"}
# The example masking script (examples/scrub/), put in a bucket of y's region for the refresh to read.
MASK_SCRIPT = ROOT / "examples/scrub/mask-customers.sql"
SCRIPTS_BUCKET = "demo-refresh-scripts"
MASK_KEY = "refresh/mask-customers.sql"


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


def secrets_manager(emulator: EmulatorClient, region: str):
    """A boto3 Secrets Manager client for `region`, pointed at the emulator."""
    import boto3

    return boto3.client("secretsmanager", region_name=region, endpoint_url=emulator.url,
                        aws_access_key_id="test", aws_secret_access_key="test")


def seed(emulator: EmulatorClient) -> dict:
    """Seeds the standard world, stores y's staging credentials in Secrets Manager, and slows
    the emulator's transitions; what was created, with the secrets' ARNs (`secretArns`)."""
    world = emulator.seed(WORLD)
    emulator.control("POST", "transitions", TRANSITIONS)
    x, y = world["instances"][SOURCE], world["instances"][TARGET]
    master = x["database"]["masterUsername"]
    client = secrets_manager(emulator, y["region"])
    world["secretArns"] = {
        role: client.create_secret(
            Name=name,
            SecretString=json.dumps({"username": master if role == "master" else role,
                                     "password": f"Stg-{secrets.token_urlsafe(18)}"}),
        )["ARN"]
        for role, name in SECRETS.items()
    }
    # The example masking script, in a bucket of y's region: the refresh runs it on the new y
    # before y's name serves it.
    import boto3

    s3 = boto3.client("s3", region_name=y["region"], endpoint_url=emulator.url,
                      aws_access_key_id="test", aws_secret_access_key="test",
                      config=boto3.session.Config(s3={"addressing_style": "path"}))
    s3.create_bucket(Bucket=SCRIPTS_BUCKET, CreateBucketConfiguration={"LocationConstraint": y["region"]})
    s3.put_object(Bucket=SCRIPTS_BUCKET, Key=MASK_KEY, Body=MASK_SCRIPT.read_bytes())
    print(f"seeded {x['region']}/{x['dbInstanceIdentifier']} with data and snapshots, "
          f"{y['region']}/{y['dbInstanceIdentifier']} with data of its own, and y's credentials in "
          f"Secrets Manager ({', '.join(SECRETS.values())}), and the masking script "
          f"{MASK_SCRIPT.relative_to(ROOT)} at s3://{SCRIPTS_BUCKET}/{MASK_KEY}", file=sys.stderr)
    return world


def psql(emulator: EmulatorClient, endpoint: dict, user: str, password: str, sql: str) -> tuple[bool, str]:
    """Runs `sql` on the server at `endpoint` as `user` over TLS verified against the
    emulator's CA (the password in the environment, never on a command line): (ok, output)."""
    ca = emulator.control("GET", "databases")["caBundle"]
    conninfo = (f"host={endpoint['Address']} port={endpoint['Port']} dbname=app user={user} "
                f"sslmode=verify-full sslrootcert={ca} connect_timeout=10")
    env = {**os.environ, "PGPASSWORD": password}
    done = subprocess.run(["psql", conninfo, "-XAtq", "-F", " | ", "-c", sql],
                          capture_output=True, text=True, env=env, timeout=30)
    return done.returncode == 0, (done.stdout if done.returncode == 0 else done.stderr).strip()


def show_database(emulator: EmulatorClient, region: str, instance: dict, world: dict | None) -> list[str]:
    """Shows a row of x's data read from the new y, and who logs in to it; what is wrong."""
    client = secrets_manager(emulator, region)
    password = {role: json.loads(client.get_secret_value(SecretId=name)["SecretString"])["password"]
                for role, name in SECRETS.items()}
    endpoint = instance["Endpoint"]
    wrong = []
    ok, row = psql(emulator, endpoint, "app_user", password["app_user"],
                   "SELECT id, name, email FROM customers ORDER BY id LIMIT 1")
    print(f"\na row of x's data, masked, read from the new y as app_user (its staging secret): {row if ok else 'FAILED: ' + row}")
    wrong += [] if ok else ["app_user cannot read y"]
    ok, unmasked = psql(emulator, endpoint, "app_user", password["app_user"],
                        "SELECT count(*) FROM customers WHERE email NOT LIKE '%@example.invalid'")
    wrong += [] if ok and unmasked == "0" else [f"y serves unmasked e-mail addresses ({unmasked})"]
    ok, staging = psql(emulator, endpoint, "app_user", password["app_user"], "SELECT count(*) FROM customers WHERE name = 'staging-only'")
    wrong += [] if ok and staging == "0" else ["y still holds its old rows"]
    print("who logs in to the new y:")
    logins = [("the master user, with y's secret", "postgres", password["master"], True),
              ("app_user, with y's staging secret", "app_user", password["app_user"], True)]
    if world is not None:
        production = world["instances"][SOURCE]["database"]["passwords"]
        master = world["instances"][SOURCE]["database"]["masterUsername"]
        logins = [(label, master if user == "postgres" else user, pw, expected) for label, user, pw, expected in logins]
        logins += [("the master user, with x's production password", master, production[master], False),
                   ("app_user, with x's production password", "app_user", production["app_user"], False),
                   ("reporting (otherLogins: disable), with x's production password", "reporting", production["reporting"], False)]
    for label, user, pw, expected in logins:
        ok, _ = psql(emulator, endpoint, user, pw, "SELECT 1")
        print(f"  {label:<66} {'logs in' if ok else 'refused'}")
        wrong += [] if ok == expected else [f"{label}: {'logs in' if ok else 'refused'}"]
    return wrong


def check(emulator: EmulatorClient, world: dict | None = None) -> int:
    """Shows x's snapshots and y after the refresh, a row of its data and who logs in; 1 unless
    y comes from x's newest available snapshot, configured and tagged as the world declares it,
    with its own credentials (and, given the seeded `world`, x's passwords refused)."""
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
    lost += show_database(emulator, target_region, instance, world)

    if tags.get("rds-refresh:snapshot") != newest or lost:
        print(f"\nFAILED: {y} should come from {newest}, configured as before"
              + (f" (lost: {', '.join(lost)})" if lost else ""), file=sys.stderr)
        return 1
    print(
        f"\n{target_region}/{y} now comes from {newest}, the newest available snapshot of {source_region}/{x},"
        " and is configured as before, with its own credentials and its customers' data masked."
    )
    return 0


def refresh(emulator: EmulatorClient, world: dict, work: Path) -> int:
    """scripts/refresh-local on the seeded world; prints the execution output. Its exit status."""
    x, y = world["instances"][SOURCE], world["instances"][TARGET]
    request = {
        "source": {"region": x["region"], "dbInstanceIdentifier": x["dbInstanceIdentifier"]},
        "target": {"region": y["region"], "dbInstanceIdentifier": y["dbInstanceIdentifier"],
                   # y is deletion-protected: the refresh may turn it off to replace y (and turns it back on).
                   "allowDisableDeletionProtection": True,
                   # y's own credentials, set before the new y serves under y's name.
                   "masterUserSecretArn": world["secretArns"]["master"],
                   "roleSecrets": {"app_user": world["secretArns"]["app_user"]},
                   "otherLogins": "disable"},
        # Scrubbed before y's name serves it: the example masking script, then a check.
        "sql": {"scripts": [{"name": "mask-customers", "database": "app", "s3Uri": f"s3://{SCRIPTS_BUCKET}/{MASK_KEY}"}],
                "verify": [{"name": "no-real-emails", "database": "app",
                            "query": "SELECT count(*) = 0 FROM customers WHERE email NOT LIKE '%@example.invalid'"}]},
    }
    input_file = work / "input.json"
    input_file.write_text(json.dumps(request, indent=1) + "\n")
    say(f"scripts/refresh-local --input input.json --endpoint {emulator.url}")
    # The tasks that log in to the database verify its certificate against this CA bundle (on
    # AWS, RDS's).
    env = {**os.environ, "RDS_REFRESH_CA_BUNDLE": emulator.control("GET", "databases")["caBundle"]}
    runner = subprocess.Popen(
        [str(ROOT / "scripts/refresh-local"), "--no-build", "--input", str(input_file), "--endpoint", emulator.url],
        stdout=subprocess.PIPE, text=True, env=env,
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
            emulator = EmulatorProcess("--databases")
            say(f"RDS emulator at {emulator.url}, with a PostgreSQL server per instance")
            world = seed(emulator)
            status = refresh(emulator, world, Path(work))
            return status if status != 0 else check(emulator, world)
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
