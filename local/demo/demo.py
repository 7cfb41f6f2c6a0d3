"""Seeds the RDS emulator for the demo and shows what the refresh did.

    python local/demo/demo.py seed  --endpoint URL   # x with several snapshots, and y
    python local/demo/demo.py check --endpoint URL   # exit 1 unless y comes from x's newest snapshot

Uses boto3, installed with the emulator (moto depends on it).
"""

import argparse
import json
import sys
import urllib.request

import boto3

SOURCE = ("us-east-1", "x")
TARGET = ("us-west-2", "y")

# Creation times given to x's snapshots, oldest first. The last one is left `creating`,
# as a snapshot still being taken is: rds-refresh must never pick it.
SNAPSHOT_TIMES = {
    "x-2026-11-21": "2026-11-21T05:10:00Z",
    "x-2026-11-22": "2026-11-22T05:10:00Z",
    "x-2026-11-23": "2026-11-23T05:10:00Z",
    "x-in-progress": None,
}


# y's settings, which a plain restore would lose (security group, Multi-AZ, windows,
# deletion protection...) and the refresh keeps. As DescribeDBInstances reports them.
TARGET_SETTINGS = {
    "DBInstanceClass": "db.t3.medium",
    "MultiAZ": True,
    "VpcSecurityGroups": [{"VpcSecurityGroupId": "sg-0de70000000000001", "Status": "active"}],
    "PreferredMaintenanceWindow": "sun:05:00-sun:05:30",
    "BackupRetentionPeriod": 7,
    "DeletionProtection": True,
}


def rds(endpoint, region):
    return boto3.client(
        "rds",
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def control(endpoint, path, body):
    request = urllib.request.Request(
        f"{endpoint}/_emulator/{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def create_instance(client, identifier, **settings):
    client.create_db_instance(
        DBInstanceIdentifier=identifier,
        Engine="postgres",
        MasterUsername="postgres",
        MasterUserPassword="demo-only-password",
        AllocatedStorage=20,
        **settings,
    )


def seed(endpoint):
    source_region, x = SOURCE
    target_region, y = TARGET
    source = rds(endpoint, source_region)
    create_instance(source, x, DBInstanceClass="db.r6g.large")
    # The emulator makes one automated snapshot when x is created; make it the oldest.
    for snapshot in source.describe_db_snapshots(DBInstanceIdentifier=x)["DBSnapshots"]:
        control(endpoint, "snapshot-status", {
            "region": source_region,
            "snapshotIdentifier": snapshot["DBSnapshotIdentifier"],
            "snapshotCreateTime": "2026-11-20T05:10:00Z",
        })
    for identifier, created in SNAPSHOT_TIMES.items():
        source.create_db_snapshot(DBInstanceIdentifier=x, DBSnapshotIdentifier=identifier)
        body = {"region": source_region, "snapshotIdentifier": identifier}
        body.update({"snapshotCreateTime": created} if created else {"status": "creating"})
        control(endpoint, "snapshot-status", body)
    create_instance(
        rds(endpoint, target_region),
        y,
        DBInstanceClass=TARGET_SETTINGS["DBInstanceClass"],
        MultiAZ=TARGET_SETTINGS["MultiAZ"],
        VpcSecurityGroupIds=[g["VpcSecurityGroupId"] for g in TARGET_SETTINGS["VpcSecurityGroups"]],
        PreferredMaintenanceWindow=TARGET_SETTINGS["PreferredMaintenanceWindow"],
        BackupRetentionPeriod=TARGET_SETTINGS["BackupRetentionPeriod"],
        DeletionProtection=TARGET_SETTINGS["DeletionProtection"],
        # y opts in to being replaced from x; rds-refresh refuses a target without this tag.
        Tags=[{"Key": "team", "Value": "analytics"}, {"Key": "rds-refresh:source", "Value": f"{source_region}/{x}"}],
    )
    # From here on, copies, deletes and restores take a few status checks to finish, as on
    # AWS, so the state machine's polling is visible.
    control(endpoint, "transitions", {
        "snapshot.creating": {"reads": 2},
        "instance.deleting": {"reads": 2},
        "instance.creating": {"reads": 3},
        "instance.modifying": {"reads": 2},
    })
    print(f"seeded {source_region}/{x} with snapshots, and {target_region}/{y}", file=sys.stderr)


def check(endpoint):
    source_region, x = SOURCE
    target_region, y = TARGET
    snapshots = rds(endpoint, source_region).describe_db_snapshots(DBInstanceIdentifier=x)["DBSnapshots"]
    available = [s for s in snapshots if s["Status"] == "available"]
    newest = max(available, key=lambda s: s["SnapshotCreateTime"])["DBSnapshotIdentifier"]
    print(f"\nsnapshots of {source_region}/{x}:")
    for s in sorted(snapshots, key=lambda s: str(s.get("SnapshotCreateTime", "~"))):
        mark = "  <- newest available" if s["DBSnapshotIdentifier"] == newest else ""
        created = s.get("SnapshotCreateTime", "(still creating)")
        print(f"  {s['DBSnapshotIdentifier']:<32} {s['Status']:<10} {created}{mark}")

    target = rds(endpoint, target_region)
    instance = target.describe_db_instances(DBInstanceIdentifier=y)["DBInstances"][0]
    tags = {t["Key"]: t["Value"] for t in target.list_tags_for_resource(ResourceName=instance["DBInstanceArn"])["TagList"]}
    print(f"\n{target_region}/{y} after the refresh:")
    print(f"  status   {instance['DBInstanceStatus']}")
    print(f"  endpoint {instance['Endpoint']['Address']}:{instance['Endpoint']['Port']}")
    lost = []
    for key, wanted in TARGET_SETTINGS.items():
        kept = instance.get(key) == wanted
        lost += [] if kept else [key]
        print(f"  {key:<27} {json.dumps(instance.get(key)):<58} {'(as before)' if kept else f'LOST: was {wanted}'}")
    for key in sorted(tags):
        print(f"  tag {key} = {tags[key]}")

    if tags.get("rds-refresh:snapshot") != newest or lost or tags.get("team") != "analytics":
        print(f"\nFAILED: {y} should come from {newest}, configured as before", file=sys.stderr)
        return 1
    print(
        f"\n{target_region}/{y} now comes from {newest}, the newest available snapshot of {source_region}/{x},"
        " and is configured as before."
    )
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["seed", "check"])
    parser.add_argument("--endpoint", required=True)
    args = parser.parse_args()
    if args.command == "seed":
        seed(args.endpoint)
        return 0
    return check(args.endpoint)


if __name__ == "__main__":
    sys.exit(main())
