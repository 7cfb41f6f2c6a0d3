"""Tests of the emulator's additions to moto, through boto3 over HTTP as a client sees them.

Run: .local/venv/bin/python -m unittest discover -s local/emulator
"""

from __future__ import annotations

import json
import unittest
import urllib.error

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator_process import EmulatorProcess


class Emulator(EmulatorProcess):
    def rds(self, region: str, config=None):
        # One attempt: a test of an injected fault must see the fault, not a retry's answer.
        return super().rds(region, config or Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def create_instance(rds, identifier: str) -> None:
    rds.create_db_instance(
        DBInstanceIdentifier=identifier,
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="postgres",
        MasterUserPassword="not-a-secret-1",
        AllocatedStorage=20,
    )


def status(rds, identifier: str) -> str | None:
    try:
        return rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]["DBInstanceStatus"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "DBInstanceNotFound":
            return None
        raise


class EmulatorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.emulator = Emulator()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.emulator.stop()

    def setUp(self) -> None:
        self.emulator.control("POST", "reset", {})
        self.rds = self.emulator.rds("us-west-2")

    def test_without_transitions_it_behaves_like_moto(self) -> None:
        create_instance(self.rds, "plain")
        self.assertEqual(status(self.rds, "plain"), "available")
        self.rds.delete_db_instance(DBInstanceIdentifier="plain", SkipFinalSnapshot=True)
        self.assertIsNone(status(self.rds, "plain"))

    def test_a_new_instance_is_creating_for_the_set_number_of_reads(self) -> None:
        self.emulator.control("POST", "transitions", {"instance.creating": {"reads": 2}})
        create_instance(self.rds, "new")
        self.assertEqual([status(self.rds, "new") for _ in range(3)], ["creating", "creating", "available"])

    def test_a_deleted_instance_stays_visible_as_deleting_then_vanishes(self) -> None:
        create_instance(self.rds, "old")
        self.emulator.control("POST", "transitions", {"instance.deleting": {"reads": 2}})
        self.rds.delete_db_instance(DBInstanceIdentifier="old", SkipFinalSnapshot=True)
        self.assertEqual([status(self.rds, "old") for _ in range(3)], ["deleting", "deleting", None])

    def test_deleting_an_instance_twice_is_an_invalid_state(self) -> None:
        create_instance(self.rds, "twice")
        self.emulator.control("POST", "transitions", {"instance.deleting": {"reads": 5}})
        self.rds.delete_db_instance(DBInstanceIdentifier="twice", SkipFinalSnapshot=True)
        with self.assertRaises(ClientError) as raised:
            self.rds.delete_db_instance(DBInstanceIdentifier="twice", SkipFinalSnapshot=True)
        self.assertEqual(raised.exception.response["Error"]["Code"], "InvalidDBInstanceState")

    def test_a_modified_instance_is_modifying_for_the_set_number_of_reads(self) -> None:
        create_instance(self.rds, "mod")
        self.emulator.control("POST", "transitions", {"instance.modifying": {"reads": 1}})
        self.rds.modify_db_instance(DBInstanceIdentifier="mod", DBInstanceClass="db.t3.small", ApplyImmediately=True)
        self.assertEqual([status(self.rds, "mod") for _ in range(2)], ["modifying", "available"])

    def test_a_renamed_instance_is_renaming_under_its_new_name(self) -> None:
        create_instance(self.rds, "before")
        self.emulator.control("POST", "transitions", {"instance.renaming": {"reads": 1}})
        self.rds.modify_db_instance(DBInstanceIdentifier="before", NewDBInstanceIdentifier="after", ApplyImmediately=True)
        self.assertIsNone(status(self.rds, "before"))
        self.assertEqual([status(self.rds, "after") for _ in range(2)], ["renaming", "available"])

    def test_renaming_onto_an_existing_instance_is_refused(self) -> None:
        create_instance(self.rds, "one")
        create_instance(self.rds, "two")
        with self.assertRaises(ClientError) as raised:
            self.rds.modify_db_instance(DBInstanceIdentifier="one", NewDBInstanceIdentifier="two", ApplyImmediately=True)
        self.assertEqual(raised.exception.response["Error"]["Code"], "DBInstanceAlreadyExists")
        self.assertEqual((status(self.rds, "one"), status(self.rds, "two")), ("available", "available"))

    def test_a_transition_can_hold_another_status(self) -> None:
        create_instance(self.rds, "x")
        self.emulator.control("POST", "transitions", {"snapshot.creating": {"reads": 1, "status": "pending"}})
        self.rds.create_db_snapshot(DBInstanceIdentifier="x", DBSnapshotIdentifier="p")
        statuses = [self.rds.describe_db_snapshots(DBSnapshotIdentifier="p")["DBSnapshots"][0]["Status"] for _ in range(2)]
        self.assertEqual(statuses, ["pending", "available"])

    def test_a_copy_is_creating_without_a_create_time_then_available(self) -> None:
        source = self.emulator.rds("us-east-1")
        create_instance(source, "x")
        source.create_db_snapshot(DBInstanceIdentifier="x", DBSnapshotIdentifier="snap")
        arn = source.describe_db_snapshots(DBSnapshotIdentifier="snap")["DBSnapshots"][0]["DBSnapshotArn"]
        self.emulator.control("POST", "transitions", {"snapshot.creating": {"reads": 1}})
        self.rds.copy_db_snapshot(SourceDBSnapshotIdentifier=arn, TargetDBSnapshotIdentifier="copy", SourceRegion="us-east-1")

        first = self.rds.describe_db_snapshots(DBSnapshotIdentifier="copy")["DBSnapshots"][0]
        second = self.rds.describe_db_snapshots(DBSnapshotIdentifier="copy")["DBSnapshots"][0]
        self.assertEqual(first["Status"], "creating")
        self.assertNotIn("SnapshotCreateTime", first)
        self.assertEqual(second["Status"], "available")
        self.assertIn("SnapshotCreateTime", second)

    def test_a_transition_in_seconds_ends_on_time(self) -> None:
        self.emulator.control("POST", "transitions", {"instance.creating": {"seconds": 0}})
        create_instance(self.rds, "quick")
        self.assertEqual(status(self.rds, "quick"), "available")
        self.emulator.control("POST", "transitions", {"instance.creating": {"seconds": 3600}})
        create_instance(self.rds, "slow")
        self.assertEqual([status(self.rds, "slow") for _ in range(3)], ["creating"] * 3)

    def test_snapshot_status_sets_status_and_creation_time(self) -> None:
        create_instance(self.rds, "x")
        self.rds.create_db_snapshot(DBInstanceIdentifier="x", DBSnapshotIdentifier="s1")
        self.emulator.control(
            "POST", "snapshot-status",
            {"region": "us-west-2", "snapshotIdentifier": "s1", "snapshotCreateTime": "2026-11-22T05:10:00Z"},
        )
        snapshot = self.rds.describe_db_snapshots(DBSnapshotIdentifier="s1")["DBSnapshots"][0]
        self.assertEqual(snapshot["SnapshotCreateTime"].isoformat(), "2026-11-22T05:10:00+00:00")
        self.emulator.control("POST", "snapshot-status", {"region": "us-west-2", "snapshotIdentifier": "s1", "status": "creating"})
        self.assertEqual(self.rds.describe_db_snapshots(DBSnapshotIdentifier="s1")["DBSnapshots"][0]["Status"], "creating")

    def test_an_injected_fault_fails_the_set_number_of_matching_calls(self) -> None:
        create_instance(self.rds, "a")
        create_instance(self.rds, "b")
        self.emulator.control(
            "POST", "faults",
            {"action": "DescribeDBInstances", "code": "Throttling", "message": "Rate exceeded", "count": 2, "dbInstanceIdentifier": "a"},
        )
        self.assertEqual(status(self.rds, "b"), "available")  # another instance: not matched
        for _ in range(2):
            with self.assertRaises(ClientError) as raised:
                status(self.rds, "a")
            self.assertEqual(raised.exception.response["Error"]["Code"], "Throttling")
            self.assertEqual(raised.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertEqual(status(self.rds, "a"), "available")

    def test_a_server_fault_carries_its_status(self) -> None:
        self.emulator.control("POST", "faults", {"action": "DescribeDBSnapshots", "code": "InternalFailure", "status": 500})
        with self.assertRaises(ClientError) as raised:
            self.rds.describe_db_snapshots()
        self.assertEqual(raised.exception.response["ResponseMetadata"]["HTTPStatusCode"], 500)

    def test_calls_are_counted_by_action_with_region(self) -> None:
        create_instance(self.rds, "counted")
        status(self.rds, "counted")
        status(self.rds, "counted")
        calls = self.emulator.control("GET", "calls")
        self.assertEqual(calls["calls"], {"CreateDBInstance": 1, "DescribeDBInstances": 2})
        first = calls["log"][0]
        self.assertEqual((first["action"], first["region"], first["dbInstanceIdentifier"]), ("CreateDBInstance", "us-west-2", "counted"))
        self.assertEqual(first["params"]["DBInstanceClass"], "db.t3.micro")
        self.assertNotIn("MasterUserPassword", first["params"])

    def test_performance_insights_settings_are_kept_and_reported(self) -> None:
        self.rds.create_db_instance(
            DBInstanceIdentifier="pi", DBInstanceClass="db.t3.micro", Engine="postgres", MasterUsername="postgres",
            MasterUserPassword="not-a-secret-1", AllocatedStorage=20,
            EnablePerformanceInsights=True, PerformanceInsightsRetentionPeriod=31,
        )
        instance = self.rds.describe_db_instances(DBInstanceIdentifier="pi")["DBInstances"][0]
        self.assertEqual((instance["PerformanceInsightsEnabled"], instance["PerformanceInsightsRetentionPeriod"]), (True, 31))
        self.rds.modify_db_instance(DBInstanceIdentifier="pi", EnablePerformanceInsights=False, ApplyImmediately=True)
        instance = self.rds.describe_db_instances(DBInstanceIdentifier="pi")["DBInstances"][0]
        self.assertFalse(instance["PerformanceInsightsEnabled"])

    def test_the_state_table_exists_and_survives_a_reset(self) -> None:
        dynamodb = boto3.client(
            "dynamodb", region_name="us-east-1", endpoint_url=self.emulator.url,
            aws_access_key_id="test", aws_secret_access_key="test",
        )
        dynamodb.put_item(TableName="rds-refresh-state", Item={"target": {"S": "us-west-2/y"}})
        self.emulator.control("POST", "reset", {})
        table = dynamodb.describe_table(TableName="rds-refresh-state")["Table"]
        self.assertEqual(table["KeySchema"], [{"AttributeName": "target", "KeyType": "HASH"}])
        self.assertEqual(dynamodb.scan(TableName="rds-refresh-state")["Items"], [])

    def test_bad_control_requests_are_refused_with_the_reason(self) -> None:
        for path, body, reason in [
            ("transitions", {"instance.sleeping": {"reads": 1}}, "unknown transition"),
            ("transitions", {"instance.creating": {"reads": -1}}, "number >= 0"),
            ("faults", {"code": "Throttling"}, "\"action\""),
            ("snapshot-status", {"region": "us-west-2", "snapshotIdentifier": "nope"}, "no snapshot"),
        ]:
            with self.subTest(path=path, body=body):
                with self.assertRaises(urllib.error.HTTPError) as raised:
                    self.emulator.control("POST", path, body)
                self.assertEqual(raised.exception.code, 400)
                self.assertIn(reason, json.load(raised.exception)["error"])


if __name__ == "__main__":
    unittest.main()
