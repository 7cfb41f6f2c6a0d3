"""Tests of POST /_emulator/seed: the worlds of worlds.json, as a client then sees them.

Run: .local/venv/bin/python -m unittest discover --start-directory local/emulator --pattern 'test_*.py'
"""

from __future__ import annotations

import json
import unittest
import urllib.error
from datetime import datetime

from botocore.exceptions import ClientError

import seeding
from test_rds_emulator import EmulatorTestCase, create_instance, status


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class StandardWorldTest(EmulatorTestCase):
    """The standard world: what the demo, the benchmarks and the end-to-end tests start from."""

    def setUp(self) -> None:
        super().setUp()
        self.answer = self.emulator.seed("standard")
        self.east = self.emulator.rds("us-east-1")
        self.west = self.emulator.rds("us-west-2")

    def test_x_is_a_postgres_16_source_in_us_east_1(self) -> None:
        x = self.east.describe_db_instances(DBInstanceIdentifier="x")["DBInstances"][0]
        self.assertEqual(
            (x["DBInstanceStatus"], x["Engine"], x["EngineVersion"], x["DBInstanceClass"], x["AllocatedStorage"]),
            ("available", "postgres", "16.4", "db.r6g.large", 20),
        )

    def test_x_has_dated_snapshots_and_one_still_being_taken(self) -> None:
        snapshots = self.east.describe_db_snapshots(DBInstanceIdentifier="x")["DBSnapshots"]
        seen = {s["DBSnapshotIdentifier"]: (s["SnapshotType"], s["Status"], s.get("SnapshotCreateTime")) for s in snapshots}
        automated = [name for name, (kind, _, _) in seen.items() if kind == "automated"]
        self.assertEqual(len(automated), 1)
        self.assertEqual(seen.pop(automated[0]), ("automated", "available", when("2026-11-20T05:10:00Z")))
        self.assertEqual(seen, {
            "x-2026-11-21": ("manual", "available", when("2026-11-21T05:10:00Z")),
            "x-2026-11-22": ("manual", "available", when("2026-11-22T05:10:00Z")),
            "x-2026-11-23": ("manual", "available", when("2026-11-23T05:10:00Z")),
            # AWS leaves SnapshotCreateTime out until the snapshot has been taken.
            "x-in-progress": ("manual", "creating", None),
        })

    def test_y_is_configured_and_opted_in_to_refreshes_from_x(self) -> None:
        y = self.west.describe_db_instances(DBInstanceIdentifier="y")["DBInstances"][0]
        self.assertEqual(y["DBInstanceStatus"], "available")
        self.assertEqual(y["EngineVersion"], "16.4")
        self.assertEqual(y["DBInstanceClass"], "db.t3.medium")
        self.assertIs(y["MultiAZ"], True)
        self.assertEqual([g["VpcSecurityGroupId"] for g in y["VpcSecurityGroups"]], ["sg-0de70000000000001"])
        self.assertEqual(y["PreferredMaintenanceWindow"], "sun:05:00-sun:05:30")
        self.assertEqual(y["BackupRetentionPeriod"], 7)
        self.assertIs(y["DeletionProtection"], True)
        tags = self.west.list_tags_for_resource(ResourceName=y["DBInstanceArn"])["TagList"]
        self.assertEqual({t["Key"]: t["Value"] for t in tags},
                         {"team": "analytics", "rds-refresh:source": "us-east-1/x"})

    def test_the_answer_is_what_the_rds_api_reports(self) -> None:
        x, y = self.answer["instances"]["x"], self.answer["instances"]["y"]
        self.assertEqual(self.answer["world"], "standard")
        described = self.east.describe_db_instances(DBInstanceIdentifier="x")["DBInstances"][0]
        self.assertEqual(
            (x["region"], x["dbInstanceIdentifier"], x["dbInstanceArn"], x["dbiResourceId"], x["status"]),
            ("us-east-1", "x", described["DBInstanceArn"], described["DbiResourceId"], "available"),
        )
        self.assertEqual(x["newestAvailableSnapshot"], "x-2026-11-23")
        arns = {s["DBSnapshotIdentifier"]: s["DBSnapshotArn"]
                for s in self.east.describe_db_snapshots(DBInstanceIdentifier="x")["DBSnapshots"]}
        self.assertEqual({s["snapshotIdentifier"]: s["snapshotArn"] for s in x["snapshots"]}, arns)
        # Oldest first; the one still being taken, without a time, last.
        self.assertEqual([s["snapshotCreateTime"] for s in x["snapshots"]],
                         ["2026-11-20T05:10:00Z", "2026-11-21T05:10:00Z", "2026-11-22T05:10:00Z",
                          "2026-11-23T05:10:00Z", None])
        self.assertEqual(x["snapshots"][-1], {
            "snapshotIdentifier": "x-in-progress", "snapshotArn": arns["x-in-progress"], "snapshotType": "manual",
            "status": "creating", "snapshotCreateTime": None,
        })
        self.assertEqual((y["region"], y["dbInstanceArn"], y["tags"]),
                         ("us-west-2", "arn:aws:rds:us-west-2:123456789012:db:y",
                          {"team": "analytics", "rds-refresh:source": "us-east-1/x"}))

    def test_the_declared_worlds_are_served(self) -> None:
        self.assertEqual(self.emulator.control("GET", "seed"), {"worlds": seeding.load_worlds()})


class SeedTest(EmulatorTestCase):
    def test_seeding_leaves_no_calls_in_the_log_and_meets_no_fault(self) -> None:
        self.emulator.control("POST", "faults", {"action": "CreateDBInstance", "code": "Throttling", "count": -1})
        self.emulator.seed("standard")
        self.assertEqual(self.emulator.control("GET", "calls"), {"calls": {}, "log": []})
        # The fault still holds for everyone else.
        with self.assertRaises(ClientError) as raised:
            create_instance(self.rds, "other")
        self.assertEqual(raised.exception.response["Error"]["Code"], "Throttling")

    def test_a_world_is_seeded_as_declared_whatever_transitions_are_set(self) -> None:
        self.emulator.control("POST", "transitions", {
            "instance.creating": {"reads": 3},
            "instance.after-create": {"statuses": ["backing-up"], "reads": 2},
            "snapshot.creating": {"reads": 3},
        })
        self.emulator.seed("standard")
        east = self.emulator.rds("us-east-1")
        self.assertEqual(status(east, "x"), "available")
        self.assertEqual(status(self.rds, "y"), "available")
        statuses = {s["DBSnapshotIdentifier"]: s["Status"] for s in east.describe_db_snapshots(DBInstanceIdentifier="x")["DBSnapshots"]}
        self.assertEqual(sorted(statuses.values()), ["available"] * 4 + ["creating"])
        self.assertEqual(statuses["x-in-progress"], "creating")
        # The transitions still hold what clients create afterwards.
        create_instance(self.rds, "later")
        self.assertEqual(status(self.rds, "later"), "creating")

    def test_identifiers_rename_an_instance_its_snapshots_and_every_reference_to_it(self) -> None:
        answer = self.emulator.seed("standard", identifiers={"x": "x-long-name", "y": "y-long-name"})
        east = self.emulator.rds("us-east-1")
        manual = sorted(s["DBSnapshotIdentifier"]
                        for s in east.describe_db_snapshots(DBInstanceIdentifier="x-long-name", SnapshotType="manual")["DBSnapshots"])
        self.assertEqual(manual, ["x-long-name-2026-11-21", "x-long-name-2026-11-22", "x-long-name-2026-11-23",
                                  "x-long-name-in-progress"])
        y = self.rds.describe_db_instances(DBInstanceIdentifier="y-long-name")["DBInstances"][0]
        self.assertEqual({t["Key"]: t["Value"] for t in y["TagList"]}["rds-refresh:source"], "us-east-1/x-long-name")
        self.assertEqual(answer["instances"]["x"]["newestAvailableSnapshot"], "x-long-name-2026-11-23")
        self.assertEqual(answer["instances"]["y"]["dbInstanceIdentifier"], "y-long-name")

    def test_some_instances_only_with_settings_overridden(self) -> None:
        answer = self.emulator.seed("standard", instances=["y"], identifiers={"y": "y-plain"},
                                    overrides={"y": {"DeletionProtection": False, "MultiAZ": None,
                                                     "DBInstanceClass": "db.r6g.large"}})
        self.assertEqual(list(answer["instances"]), ["y"])
        self.assertEqual(self.emulator.rds("us-east-1").describe_db_instances()["DBInstances"], [])
        y = self.rds.describe_db_instances(DBInstanceIdentifier="y-plain")["DBInstances"][0]
        self.assertEqual((y["DeletionProtection"], y["MultiAZ"], y["DBInstanceClass"], y["BackupRetentionPeriod"]),
                         (False, False, "db.r6g.large", 7))
        # The opt-in still names the world's x, seeded or not.
        self.assertEqual({t["Key"]: t["Value"] for t in y["TagList"]}["rds-refresh:source"], "us-east-1/x")

    def test_a_world_seeds_again_under_other_identifiers_in_the_same_emulator(self) -> None:
        first = self.emulator.seed("standard", identifiers={"x": "x1", "y": "y1"})
        second = self.emulator.seed("standard", identifiers={"x": "x2", "y": "y2"})
        self.assertNotEqual(first["instances"]["x"]["dbiResourceId"], second["instances"]["x"]["dbiResourceId"])
        names = sorted(i["DBInstanceIdentifier"] for i in self.emulator.rds("us-east-1").describe_db_instances()["DBInstances"])
        self.assertEqual(names, ["x1", "x2"])

    def test_reset_forgets_everything_first(self) -> None:
        create_instance(self.rds, "before")
        self.emulator.seed("standard")
        with self.assertRaises(RuntimeError) as raised:
            self.emulator.seed("standard")
        self.assertIn("CreateDBInstance x in us-east-1: DBInstanceAlreadyExists", str(raised.exception))
        self.emulator.seed("standard", reset=True)
        self.assertIsNone(status(self.rds, "before"))
        self.assertEqual(status(self.rds, "y"), "available")

    def test_aws_rules_apply_to_what_is_seeded(self) -> None:
        with self.assertRaises(RuntimeError) as raised:
            self.emulator.seed("standard", identifiers={"x": "1x"})
        self.assertIn("CreateDBInstance 1x in us-east-1: InvalidParameterValue", str(raised.exception))
        with self.assertRaises(RuntimeError) as raised:
            self.emulator.seed("standard", instances=["y"], overrides={"y": {"Tags": [{"Key": "aws:x", "Value": "1"}]}})
        self.assertIn("InvalidParameterValue", str(raised.exception))

    def test_bad_requests_are_refused_naming_the_field(self) -> None:
        for body, reason in [
            ({}, "world must be one of standard"),
            ({"world": "nope"}, "world must be one of standard"),
            ({"world": "standard", "color": "red"}, "unknown fields: color"),
            ({"world": "standard", "reset": "yes"}, "reset"),
            ({"world": "standard", "instances": []}, "instances"),
            ({"world": "standard", "instances": ["z"]}, "no instance z"),
            ({"world": "standard", "identifiers": {"z": "q"}}, "identifiers: no instance z"),
            ({"world": "standard", "identifiers": {"x": ""}}, "identifiers: x"),
            ({"world": "standard", "overrides": {"y": {"DBInstanceIdentifier": "q"}}}, "identifiers"),
            ({"world": "standard", "overrides": {"y": 3}}, "overrides: y"),
        ]:
            with self.subTest(body=body):
                with self.assertRaises(urllib.error.HTTPError) as raised:
                    self.emulator.control("POST", "seed", body)
                self.assertEqual(raised.exception.code, 400)
                self.assertIn(reason, json.load(raised.exception)["error"])
        self.assertEqual(self.rds.describe_db_instances()["DBInstances"], [])


class WorldsFileTest(unittest.TestCase):
    """worlds.json itself, without an emulator."""

    def test_every_reference_names_an_instance_of_its_world(self) -> None:
        for name, world in seeding.load_worlds().items():
            with self.subTest(world=name):
                # plan() refuses a reference to an instance the world does not declare.
                planned = seeding.plan({"world": name}, seeding.load_worlds())
                resolved = json.dumps([[i.create, [s.identifier for s in i.snapshots]] for i in planned.instances])
                self.assertIsNone(seeding.REFERENCE.search(resolved))
                self.assertEqual([i.name for i in planned.instances], [i["name"] for i in world["instances"]])


if __name__ == "__main__":
    unittest.main()
