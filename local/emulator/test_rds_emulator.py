"""Tests of the emulator's additions to moto, through boto3 over HTTP as a client sees them.

Run: .local/venv/bin/python -m unittest discover -s local/emulator
"""

from __future__ import annotations

import http.client
import json
import re
import unittest
import urllib.error
import urllib.request
from datetime import datetime, timezone

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator_process import EmulatorProcess


ONE_ATTEMPT = Config(retries={"total_max_attempts": 1, "mode": "standard"})


class Emulator(EmulatorProcess):
    def rds(self, region: str, config=None):
        # One attempt: a test of an injected fault must see the fault, not a retry's answer.
        return super().rds(region, config or ONE_ATTEMPT)

    def stepfunctions(self, region: str = "us-west-2", access_key: str = "test"):
        return boto3.client("stepfunctions", region_name=region, endpoint_url=self.url, config=ONE_ATTEMPT,
                            aws_access_key_id=access_key, aws_secret_access_key="test")

    def s3(self, region: str = "us-east-1", access_key: str = "test", config=None):
        return boto3.client("s3", region_name=region, endpoint_url=self.url, config=config or ONE_ATTEMPT,
                            aws_access_key_id=access_key, aws_secret_access_key="test")


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


class EmulatorTestCase(unittest.TestCase):
    """One emulator per test class, reset before each test; `self.rds` is us-west-2's RDS."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.emulator = Emulator()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.emulator.stop()

    def setUp(self) -> None:
        self.emulator.control("POST", "reset", {})
        self.rds = self.emulator.rds("us-west-2")


class EmulatorTest(EmulatorTestCase):

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

    def test_each_instance_has_its_own_resource_id_which_a_rename_keeps(self) -> None:
        create_instance(self.rds, "a")
        create_instance(self.rds, "b")
        resource_id = lambda name: self.rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]["DbiResourceId"]
        first = resource_id("a")
        self.assertNotEqual(first, resource_id("b"))
        self.assertRegex(first, r"^db-[A-Z2-7]{26}$")
        self.rds.modify_db_instance(DBInstanceIdentifier="a", NewDBInstanceIdentifier="c", ApplyImmediately=True)
        self.assertEqual(resource_id("c"), first)

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

    def test_every_entry_has_the_time_it_arrived_at(self) -> None:
        before = datetime.now(timezone.utc)
        create_instance(self.rds, "timed")
        status(self.rds, "timed")
        self.emulator.stepfunctions().list_state_machines()
        after = datetime.now(timezone.utc)
        log = self.emulator.control("GET", "calls")["log"]
        self.assertEqual([e["action"] for e in log], ["CreateDBInstance", "DescribeDBInstances", "ListStateMachines"])
        for entry in log:
            self.assertRegex(entry["at"], AT)
        times = [datetime.strptime(e["at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc) for e in log]
        self.assertEqual(times, sorted(times))
        self.assertLessEqual(before, times[0])
        self.assertLessEqual(times[-1], after)

    def test_the_log_keeps_the_managed_password_switch_but_no_password(self) -> None:
        create_instance(self.rds, "switched")
        self.emulator.control("DELETE", "calls")
        with self.assertRaises(ClientError):
            # Refused (the two cannot go together): the call is logged all the same.
            self.rds.modify_db_instance(DBInstanceIdentifier="switched", ManageMasterUserPassword=True,
                                        MasterUserPassword="never-in-the-log-1")
        params = self.emulator.control("GET", "calls")["log"][0]["params"]
        self.assertEqual(params.get("ManageMasterUserPassword"), "true")
        self.assertNotIn("MasterUserPassword", params)
        self.assertNotIn("never-in-the-log-1", json.dumps(params))

    def test_the_log_names_the_signing_key_and_the_tags_the_instance_had_then(self) -> None:
        create_instance(self.rds, "tagged")
        arn = self.rds.describe_db_instances(DBInstanceIdentifier="tagged")["DBInstances"][0]["DBInstanceArn"]
        self.rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "team", "Value": "data"}])
        self.emulator.control("DELETE", "calls")
        signed = boto3.client(
            "rds", region_name="us-west-2", endpoint_url=self.emulator.url,
            aws_access_key_id="DeleteTargetFunction", aws_secret_access_key="test",
        )
        signed.delete_db_instance(DBInstanceIdentifier="tagged", SkipFinalSnapshot=True)
        entry = self.emulator.control("GET", "calls")["log"][0]
        self.assertEqual(entry["accessKey"], "DeleteTargetFunction")
        self.assertEqual(entry["resourceTags"], {"team": "data"})

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
            ("transitions", {"instance.after-create": {"reads": 1}}, "statuses"),
            ("transitions", {"instance.after-create": {"statuses": ["backing-up"]}}, "reads"),
            ("transitions", {"instance.deleting": {"phases": [["available"]], "reads": 1}}, "a phase is"),
            ("transitions", {"instance.deleting": {"reads": 1, "stale": True}}, "optionally"),
            ("instance-status", {"region": "us-west-2", "dbInstanceIdentifier": "nope", "status": "maintenance"}, "no instance"),
        ]:
            with self.subTest(path=path, body=body):
                with self.assertRaises(urllib.error.HTTPError) as raised:
                    self.emulator.control("POST", path, body)
                self.assertEqual(raised.exception.code, 400)
                self.assertIn(reason, json.load(raised.exception)["error"])



# The call log's "at": RFC 3339 in UTC, to the microsecond.
AT = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$"

ROLE = "arn:aws:iam::123456789012:role/rds-refresh-state-machine"
DEFINITION = {"StartAt": "CheckInput", "States": {"CheckInput": {"Type": "Pass", "End": True}}}


class StepFunctionsTest(EmulatorTestCase):
    """POST /_emulator/execution: what DescribeExecution and GetExecutionHistory then answer
    (the local runner registers each execution in moto and reports how it ended)."""

    def setUp(self) -> None:
        super().setUp()
        self.sfn = self.emulator.stepfunctions()
        machine = self.sfn.create_state_machine(name="rds-refresh", definition=json.dumps(DEFINITION), roleArn=ROLE)
        self.machine = machine["stateMachineArn"]
        self.arn = self.sfn.start_execution(stateMachineArn=self.machine, name="run-1", input='{"dryRun": false}')["executionArn"]

    def report(self, **body) -> dict:
        return self.emulator.control("POST", "execution", {"executionArn": self.arn, **body})

    def history(self, **kwargs) -> list[dict]:
        return self.sfn.get_execution_history(executionArn=self.arn, **kwargs)["events"]

    def test_arns_are_those_of_moto_s_default_account(self) -> None:
        self.assertEqual(self.machine, "arn:aws:states:us-west-2:123456789012:stateMachine:rds-refresh")
        self.assertEqual(self.arn, "arn:aws:states:us-west-2:123456789012:execution:rds-refresh:run-1")

    def test_an_unreported_execution_is_running_and_has_only_started(self) -> None:
        execution = self.sfn.describe_execution(executionArn=self.arn)
        self.assertEqual(execution["status"], "RUNNING")
        self.assertNotIn("stopDate", execution)
        # Not moto's fake history (a Pass state "A State", then ExecutionSucceeded).
        [started] = self.history()
        self.assertEqual((started["type"], started["id"], started["previousEventId"]), ("ExecutionStarted", 1, 0))
        self.assertEqual(started["executionStartedEventDetails"]["input"], '{"dryRun": false}')
        self.assertEqual(started["executionStartedEventDetails"]["roleArn"], ROLE)

    def test_an_aborted_execution_ended_in_the_last_state_it_entered(self) -> None:
        states = [{"name": "CheckInput", "type": "Task"}, {"name": "IsDryRun", "type": "Choice"},
                  {"name": "Pause", "type": "Wait"}, {"name": "RestoreTemporary", "type": "Task"}]
        self.assertEqual(self.report(status="ABORTED", states=states), {})
        execution = self.sfn.describe_execution(executionArn=self.arn)
        self.assertEqual(execution["status"], "ABORTED")
        self.assertGreaterEqual(execution["stopDate"], execution["startDate"])
        self.assertNotIn("output", execution)
        newest = self.history(reverseOrder=True, maxResults=100)
        self.assertEqual(newest[0]["type"], "ExecutionAborted")
        self.assertEqual(newest[0]["executionAbortedEventDetails"], {})
        last = next(event for event in newest if "stateEnteredEventDetails" in event)
        self.assertEqual((last["type"], last["stateEnteredEventDetails"]["name"]), ("TaskStateEntered", "RestoreTemporary"))
        oldest = self.history()
        self.assertEqual([e["type"] for e in oldest], ["ExecutionStarted", "TaskStateEntered", "ChoiceStateEntered",
                                                       "WaitStateEntered", "TaskStateEntered", "ExecutionAborted"])
        self.assertEqual([(e["id"], e["previousEventId"]) for e in oldest], [(1, 0), (2, 0), (3, 2), (4, 3), (5, 4), (6, 5)])
        self.assertEqual([e["timestamp"] for e in oldest], sorted(e["timestamp"] for e in oldest))
        self.assertEqual(newest, list(reversed(oldest)))

    def test_a_succeeded_execution_has_its_output(self) -> None:
        self.report(status="SUCCEEDED", output='{"refreshed": true}',
                    states=[{"name": "CheckInput", "type": "Task"}, {"name": "Refreshed", "type": "Succeed"}])
        execution = self.sfn.describe_execution(executionArn=self.arn)
        self.assertEqual((execution["status"], execution["output"]), ("SUCCEEDED", '{"refreshed": true}'))
        self.assertIn("stopDate", execution)
        self.assertNotIn("error", execution)
        ended, entered = self.history(reverseOrder=True)[:2]
        self.assertEqual(ended["type"], "ExecutionSucceeded")
        self.assertEqual(ended["executionSucceededEventDetails"]["output"], '{"refreshed": true}')
        self.assertEqual((entered["type"], entered["stateEnteredEventDetails"]["name"]), ("SucceedStateEntered", "Refreshed"))

    def test_a_failed_execution_has_its_error_and_cause(self) -> None:
        self.report(status="FAILED", error="RestoreFailed", cause="the restore failed",
                    states=[{"name": "CheckInput", "type": "Task"}, {"name": "RefreshFailed", "type": "Fail"}])
        execution = self.sfn.describe_execution(executionArn=self.arn)
        self.assertEqual((execution["status"], execution["error"], execution["cause"]), ("FAILED", "RestoreFailed", "the restore failed"))
        self.assertIn("stopDate", execution)
        self.assertNotIn("output", execution)
        ended, entered = self.history(reverseOrder=True)[:2]
        self.assertEqual(ended["type"], "ExecutionFailed")
        self.assertEqual(ended["executionFailedEventDetails"], {"error": "RestoreFailed", "cause": "the restore failed"})
        self.assertEqual((entered["type"], entered["stateEnteredEventDetails"]["name"]), ("FailStateEntered", "RefreshFailed"))
        self.assertEqual(self.sfn.list_executions(stateMachineArn=self.machine, statusFilter="FAILED")["executions"][0]["executionArn"], self.arn)

    def test_a_timed_out_execution_has_a_stop_date(self) -> None:
        self.report(status="TIMED_OUT", error="States.Timeout", states=[{"name": "WaitForRestore", "type": "Task"}])
        execution = self.sfn.describe_execution(executionArn=self.arn)
        self.assertEqual(execution["status"], "TIMED_OUT")
        self.assertIn("stopDate", execution)  # moto leaves it out for TIMED_OUT
        ended = self.history(reverseOrder=True)[0]
        self.assertEqual((ended["type"], ended["executionTimedOutEventDetails"]), ("ExecutionTimedOut", {"error": "States.Timeout"}))

    def test_a_running_report_shows_progress_and_stop_execution_aborts_it(self) -> None:
        self.report(status="RUNNING", states=[{"name": "CheckInput", "type": "Task"}, {"name": "WaitForCopy", "type": "Wait"}])
        self.assertEqual(self.sfn.describe_execution(executionArn=self.arn)["status"], "RUNNING")
        self.assertEqual(self.history(reverseOrder=True)[0]["type"], "WaitStateEntered")
        self.sfn.stop_execution(executionArn=self.arn)
        self.assertEqual(self.sfn.describe_execution(executionArn=self.arn)["status"], "ABORTED")
        ended, entered = self.history(reverseOrder=True)[:2]
        self.assertEqual((ended["type"], entered["stateEnteredEventDetails"]["name"]), ("ExecutionAborted", "WaitForCopy"))

    def test_the_history_is_paged(self) -> None:
        self.report(status="SUCCEEDED", output="{}", states=[{"name": f"S{i}", "type": "Pass"} for i in range(5)])
        first = self.sfn.get_execution_history(executionArn=self.arn, reverseOrder=True, maxResults=3)
        self.assertEqual([e["id"] for e in first["events"]], [7, 6, 5])
        second = self.sfn.get_execution_history(executionArn=self.arn, reverseOrder=True, maxResults=3, nextToken=first["nextToken"])
        self.assertEqual([e["id"] for e in second["events"]], [4, 3, 2])
        third = self.sfn.get_execution_history(executionArn=self.arn, reverseOrder=True, maxResults=3, nextToken=second["nextToken"])
        self.assertEqual(([e["id"] for e in third["events"]], "nextToken" in third), ([1], False))
        paged = self.sfn.get_paginator("get_execution_history").paginate(executionArn=self.arn, PaginationConfig={"PageSize": 2})
        self.assertEqual([e["id"] for e in paged.build_full_result()["events"]], list(range(1, 8)))
        with self.assertRaises(ClientError) as raised:  # a token of another order
            self.sfn.get_execution_history(executionArn=self.arn, maxResults=3, nextToken=first["nextToken"])
        self.assertEqual(raised.exception.response["Error"]["Code"], "InvalidToken")
        without_data = self.sfn.get_execution_history(executionArn=self.arn, includeExecutionData=False)["events"]
        self.assertEqual(without_data[0]["executionStartedEventDetails"], {"roleArn": ROLE})

    def test_unknown_executions_and_bad_reports_are_refused(self) -> None:
        unknown = self.arn.replace("run-1", "run-2")
        with self.assertRaises(urllib.error.HTTPError) as raised:
            self.emulator.control("POST", "execution", {"executionArn": unknown, "status": "ABORTED"})
        self.assertEqual(raised.exception.code, 404)
        self.assertEqual(json.load(raised.exception), {"error": f"no execution {unknown}"})
        for body, reason in [
            ({"status": "STOPPED"}, "status"),
            ({"status": "FAILED", "states": [{"name": "CheckInput", "type": "Lambda"}]}, "type"),
            ({"status": "FAILED", "states": [{"name": "CheckInput"}]}, "states"),
            ({"status": "FAILED", "states": "CheckInput"}, "states"),
            ({"status": "FAILED", "output": "{}"}, "output"),
            ({"status": "SUCCEEDED", "output": "not json"}, "output"),
            ({"status": "SUCCEEDED", "error": "E"}, "error"),
            ({"status": "ABORTED", "stopped": True}, "stopped"),
            ({"executionArn": None, "status": "ABORTED"}, "executionArn"),
        ]:
            with self.subTest(body=body):
                with self.assertRaises(urllib.error.HTTPError) as raised:
                    self.report(**body)
                self.assertEqual(raised.exception.code, 400)
                self.assertIn(reason, json.load(raised.exception)["error"])
        self.assertEqual(self.sfn.describe_execution(executionArn=self.arn)["status"], "RUNNING")

    def test_step_functions_calls_are_logged_with_their_parameters(self) -> None:
        self.emulator.control("DELETE", "calls")
        signed = self.emulator.stepfunctions(access_key="CheckInputFunction")
        signed.describe_execution(executionArn=self.arn)
        calls = self.emulator.control("GET", "calls")
        self.assertEqual(calls["calls"], {"DescribeExecution": 1})
        [entry] = calls["log"]
        self.assertRegex(entry.pop("at"), AT)
        self.assertEqual(entry, {
            "action": "DescribeExecution", "service": "states", "region": "us-west-2", "accessKey": "CheckInputFunction",
            "dbInstanceIdentifier": None, "resourceTags": None, "params": {"executionArn": self.arn},
        })

    def test_faults_match_step_functions_actions(self) -> None:
        self.emulator.control("POST", "faults", {"action": "GetExecutionHistory", "code": "ThrottlingException", "message": "Rate exceeded"})
        with self.assertRaises(ClientError) as raised:
            self.history()
        self.assertEqual(raised.exception.response["Error"]["Code"], "ThrottlingException")
        self.assertEqual(raised.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertEqual(len(self.history()), 1)

    def test_reset_forgets_executions_and_what_was_reported(self) -> None:
        self.report(status="SUCCEEDED", output="{}")
        self.emulator.control("POST", "reset", {})
        with self.assertRaises(ClientError) as raised:
            self.sfn.describe_execution(executionArn=self.arn)
        self.assertEqual(raised.exception.response["Error"]["Code"], "ExecutionDoesNotExist")
        self.sfn.create_state_machine(name="rds-refresh", definition=json.dumps(DEFINITION), roleArn=ROLE)
        again = self.sfn.start_execution(stateMachineArn=self.machine, name="run-1", input='{"dryRun": false}')
        self.assertEqual(again["executionArn"], self.arn)
        self.assertEqual(self.sfn.describe_execution(executionArn=self.arn)["status"], "RUNNING")
        self.assertEqual([e["type"] for e in self.history()], ["ExecutionStarted"])


SCRIPT = b"UPDATE customers SET email = 'masked-' || id || '@example.invalid'; -- the body, never logged"


def signed_request(url: str, method: str, path: str, host: str | None = None, region: str = "us-east-1",
                   access_key: str = "raw") -> tuple[int, dict[str, str], bytes]:
    """A request signed for S3 as far as the emulator reads it (moto checks no signature): the
    answer's status, headers and body, as a client sees them on the wire."""
    port = int(url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {
        "Authorization": f"AWS4-HMAC-SHA256 Credential={access_key}/20261201/{region}/s3/aws4_request, "
                         "SignedHeaders=host;x-amz-date, Signature=0",
        "x-amz-date": "20261201T000000Z", "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
    }
    if host is not None:
        headers["Host"] = host
    try:
        connection.request(method, path, headers=headers)
        answer = connection.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        connection.close()


class S3Test(EmulatorTestCase):
    """S3 (moto's, on the same port): its REST calls in the call log, and faults that fail
    them as S3 fails them."""

    def setUp(self) -> None:
        super().setUp()
        self.s3 = self.emulator.s3(access_key="RunScriptsFunction")
        self.s3.create_bucket(Bucket="scripts")
        self.etag = self.s3.put_object(Bucket="scripts", Key="mask/customers.sql", Body=SCRIPT)["ETag"]
        self.emulator.control("DELETE", "calls")

    def log(self) -> list[dict]:
        return self.emulator.control("GET", "calls")["log"]

    def error(self, raised) -> tuple[str, str, int]:
        response = raised.exception.response
        return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]

    def test_get_object_is_logged_with_bucket_and_key_but_not_the_body(self) -> None:
        body = self.s3.get_object(Bucket="scripts", Key="mask/customers.sql", IfMatch=self.etag)["Body"].read()
        self.assertEqual(body, SCRIPT)
        calls = self.emulator.control("GET", "calls")
        self.assertEqual(calls["calls"], {"GetObject": 1})
        [entry] = calls["log"]
        self.assertRegex(entry.pop("at"), AT)
        params = entry.pop("params")
        self.assertEqual(entry, {
            "action": "GetObject", "service": "s3", "region": "us-east-1", "accessKey": "RunScriptsFunction",
            "dbInstanceIdentifier": None, "resourceTags": None,
        })
        self.assertEqual((params["Bucket"], params["Key"], params["IfMatch"]), ("scripts", "mask/customers.sql", self.etag))
        self.assertNotIn(SCRIPT.decode(), json.dumps(params))

    def test_no_body_is_ever_logged(self) -> None:
        self.s3.put_object(Bucket="scripts", Key="mask/tokens.sql", Body=b"DELETE FROM api_tokens; -- secret-ish body")
        self.s3.get_object(Bucket="scripts", Key="mask/tokens.sql")["Body"].read()
        log = json.dumps(self.log())
        self.assertNotIn("secret-ish", log)
        self.assertNotIn("api_tokens", log)
        [put] = [e for e in self.log() if e["action"] == "PutObject"]
        self.assertEqual((put["params"]["Bucket"], put["params"]["Key"]), ("scripts", "mask/tokens.sql"))
        self.assertNotIn("Body", put["params"])

    def test_the_operation_is_named_by_method_path_and_query(self) -> None:
        s3 = self.s3
        s3.head_bucket(Bucket="scripts")
        s3.head_object(Bucket="scripts", Key="mask/customers.sql")
        s3.list_objects_v2(Bucket="scripts", Prefix="mask/")
        s3.list_objects(Bucket="scripts")
        s3.get_object_attributes(Bucket="scripts", Key="mask/customers.sql", ObjectAttributes=["ETag"])
        s3.get_object_tagging(Bucket="scripts", Key="mask/customers.sql")
        s3.copy_object(Bucket="scripts", Key="copy.sql", CopySource="scripts/mask/customers.sql")
        upload = s3.create_multipart_upload(Bucket="scripts", Key="big.sql")["UploadId"]
        part = s3.upload_part(Bucket="scripts", Key="big.sql", UploadId=upload, PartNumber=1, Body=b"SELECT 1;")
        s3.list_parts(Bucket="scripts", Key="big.sql", UploadId=upload)
        s3.complete_multipart_upload(Bucket="scripts", Key="big.sql", UploadId=upload,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
        s3.delete_object(Bucket="scripts", Key="copy.sql")
        s3.list_buckets()
        log = self.log()
        self.assertEqual([e["action"] for e in log], [
            "HeadBucket", "HeadObject", "ListObjectsV2", "ListObjects", "GetObjectAttributes", "GetObjectTagging",
            "CopyObject", "CreateMultipartUpload", "UploadPart", "ListParts", "CompleteMultipartUpload",
            "DeleteObject", "ListBuckets",
        ])
        by_action = {e["action"]: e["params"] for e in log}
        self.assertEqual(by_action["ListObjectsV2"]["Prefix"], "mask/")
        self.assertEqual(by_action["CopyObject"]["CopySource"], "scripts/mask/customers.sql")
        self.assertEqual((by_action["UploadPart"]["UploadId"], by_action["UploadPart"]["PartNumber"]), (upload, "1"))
        self.assertEqual(by_action["ListBuckets"], {})

    def test_the_x_id_that_sdks_send_names_the_operation(self) -> None:
        # The Rust SDK sends GetObject as GET /scripts/mask/customers.sql?x-id=GetObject.
        status, _, body = signed_request(self.emulator.url, "GET", "/scripts/mask/customers.sql?x-id=GetObject")
        self.assertEqual((status, body), (200, SCRIPT))
        self.assertEqual([(e["action"], e["accessKey"]) for e in self.log()], [("GetObject", "raw")])

    def test_virtual_host_style_names_the_bucket_from_the_host(self) -> None:
        port = self.emulator.url.rsplit(":", 1)[1]
        for host in (f"scripts.127.0.0.1:{port}", f"scripts.localhost:{port}"):
            with self.subTest(host=host):
                self.emulator.control("DELETE", "calls")
                status, _, body = signed_request(self.emulator.url, "GET", "/mask/customers.sql", host=host)
                self.assertEqual((status, body), (200, SCRIPT))
                [entry] = self.log()
                self.assertEqual((entry["action"], entry["params"]), ("GetObject", {"Bucket": "scripts", "Key": "mask/customers.sql"}))

    def test_a_key_is_logged_decoded(self) -> None:
        self.s3.put_object(Bucket="scripts", Key="a b/ü+1.sql", Body=b"SELECT 1;")
        self.assertEqual(self.log()[0]["params"]["Key"], "a b/ü+1.sql")

    def test_a_presigned_url_is_logged_with_the_key_that_signed_it(self) -> None:
        presigning = self.emulator.s3(access_key="PresignFunction", config=Config(signature_version="s3v4"))
        url = presigning.generate_presigned_url("get_object", Params={"Bucket": "scripts", "Key": "mask/customers.sql"})
        self.assertIn("X-Amz-Credential=", url)
        with urllib.request.urlopen(url, timeout=30) as answer:
            self.assertEqual(answer.read(), SCRIPT)
        [entry] = self.log()
        self.assertEqual((entry["action"], entry["accessKey"], entry["region"]), ("GetObject", "PresignFunction", "us-east-1"))

    def test_a_missing_key_is_no_such_key_as_aws_says_it(self) -> None:
        with self.assertRaises(ClientError) as raised:
            self.s3.get_object(Bucket="scripts", Key="mask/missing.sql")
        self.assertEqual(self.error(raised), ("NoSuchKey", "The specified key does not exist.", 404))
        self.assertEqual(raised.exception.response["Error"]["Key"], "mask/missing.sql")
        with self.assertRaises(ClientError) as raised:
            self.s3.head_object(Bucket="scripts", Key="mask/missing.sql")
        self.assertEqual(self.error(raised), ("404", "Not Found", 404))  # HEAD: no body, the status alone
        with self.assertRaises(ClientError) as raised:
            self.s3.get_object(Bucket="no-such-bucket", Key="mask/customers.sql")
        self.assertEqual(self.error(raised), ("NoSuchBucket", "The specified bucket does not exist", 404))
        self.assertEqual([e["action"] for e in self.log()], ["GetObject", "HeadObject", "GetObject"])

    def test_a_faulted_get_object_fails_with_access_denied(self) -> None:
        self.emulator.control("POST", "faults", {"action": "GetObject", "code": "AccessDenied",
                                                 "bucket": "scripts", "key": "mask/customers.sql"})
        self.s3.put_object(Bucket="scripts", Key="other.sql", Body=b"SELECT 1;")
        self.s3.get_object(Bucket="scripts", Key="other.sql")  # another key: not matched
        with self.assertRaises(ClientError) as raised:
            self.s3.get_object(Bucket="scripts", Key="mask/customers.sql")
        self.assertEqual(self.error(raised), ("AccessDenied", "Access Denied", 403))
        self.assertRegex(raised.exception.response["ResponseMetadata"]["RequestId"], r"^[0-9A-F]{16}$")
        self.assertEqual(self.s3.get_object(Bucket="scripts", Key="mask/customers.sql")["Body"].read(), SCRIPT)
        self.assertEqual([e["action"] for e in self.log()], ["PutObject", "GetObject", "GetObject", "GetObject"])

    def test_an_s3_fault_answers_s3_s_error_document(self) -> None:
        self.emulator.control("POST", "faults", [{"action": "GetObject", "code": "AccessDenied"},
                                                 {"action": "HeadObject", "code": "AccessDenied"},
                                                 {"action": "GetObject", "code": "SlowDown"}])
        status, headers, body = signed_request(self.emulator.url, "GET", "/scripts/mask/customers.sql")
        self.assertEqual((status, headers["content-type"]), (403, "application/xml"))
        self.assertRegex(body.decode(), r'^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>AccessDenied</Code>'
                                        r"<Message>Access Denied</Message><RequestId>([0-9A-F]{16})</RequestId>"
                                        r"<HostId>[A-Za-z0-9+/=]+</HostId></Error>$")
        self.assertEqual(re.search(r"<RequestId>(\w+)<", body.decode()).group(1), headers["x-amz-request-id"])
        self.assertIn("x-amz-id-2", headers)
        status, headers, body = signed_request(self.emulator.url, "HEAD", "/scripts/mask/customers.sql")
        self.assertEqual((status, body), (403, b""))  # HEAD: no body, as S3's
        status, _, body = signed_request(self.emulator.url, "GET", "/scripts/mask/customers.sql")
        self.assertEqual(status, 503)
        self.assertIn(b"<Code>SlowDown</Code><Message>Please reduce your request rate.</Message>", body)
        with self.assertRaises(urllib.error.HTTPError):
            self.emulator.control("POST", "faults", {"action": "GetObject", "code": "AccessDenied", "object": "x"})

    def test_a_faulted_head_object_fails_as_boto3_sees_a_head(self) -> None:
        self.emulator.control("POST", "faults", {"action": "HeadObject", "code": "AccessDenied"})
        with self.assertRaises(ClientError) as raised:
            self.s3.head_object(Bucket="scripts", Key="mask/customers.sql")
        self.assertEqual(self.error(raised), ("403", "Forbidden", 403))

    def test_a_call_signed_for_another_region_than_the_bucket_s_is_redirected(self) -> None:
        # The bucket is in us-east-1; a client of us-west-2 reaches us-west-2's endpoint, which
        # answers 301 PermanentRedirect naming the bucket's region (moto would serve it).
        status, headers, body = signed_request(self.emulator.url, "GET", "/scripts/mask/customers.sql?x-id=GetObject",
                                               region="us-west-2")
        self.assertEqual((status, headers["x-amz-bucket-region"]), (301, "us-east-1"))
        self.assertRegex(body.decode(), r"<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to "
                                        r"access must be addressed using the specified endpoint\. Please send all future "
                                        r"requests to this endpoint\.</Message><Endpoint>scripts\.s3\.amazonaws\.com"
                                        r"</Endpoint><Bucket>scripts</Bucket><RequestId>")
        status, headers, body = signed_request(self.emulator.url, "HEAD", "/scripts/mask/customers.sql", region="us-west-2")
        self.assertEqual((status, headers["x-amz-bucket-region"], body), (301, "us-east-1", b""))
        # boto3 follows it to the bucket's region, as against AWS (the AWS SDK for Rust does not).
        west = self.emulator.s3(region="us-west-2", access_key="West")
        self.assertEqual(west.get_object(Bucket="scripts", Key="mask/customers.sql")["Body"].read(), SCRIPT)
        self.assertEqual([(e["action"], e["region"]) for e in self.log()][-2:], [("GetObject", "us-west-2"), ("GetObject", "us-east-1")])
        # A bucket that does not exist is not redirected, and a new one may be made in any region.
        with self.assertRaises(ClientError) as raised:
            west.get_object(Bucket="nowhere", Key="mask/customers.sql")
        self.assertEqual(self.error(raised)[0], "NoSuchBucket")
        west.create_bucket(Bucket="west-scripts", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
        west.put_object(Bucket="west-scripts", Key="a.sql", Body=b"SELECT 1;")

    def test_the_seed_s_calls_stay_unlogged_and_reset_forgets_buckets(self) -> None:
        seed = self.emulator.s3(access_key="rds-emulator-seed")
        seed.get_object(Bucket="scripts", Key="mask/customers.sql")
        self.assertEqual(self.log(), [])
        self.emulator.control("POST", "reset", {})
        self.assertEqual(self.s3.list_buckets()["Buckets"], [])


def create_postgres(rds, identifier: str, **kwargs) -> dict:
    settings = dict(
        DBInstanceIdentifier=identifier, DBInstanceClass="db.t3.micro", Engine="postgres", EngineVersion="16.3",
        MasterUsername="postgres", MasterUserPassword="not-a-secret-1", AllocatedStorage=20, StorageType="gp3",
    )
    settings.update(kwargs)
    return rds.create_db_instance(**settings)["DBInstance"]


def describe(rds, identifier: str) -> dict:
    return rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]


class RulesTestCase(EmulatorTestCase):
    """Each test shows one rule of aws_rules.py (README.md, "Rules the emulator enforces")."""

    def assertRefused(self, call, code: str, message: str | None = None, **kwargs) -> None:
        with self.assertRaises(ClientError) as raised:
            call(**kwargs)
        error = raised.exception.response["Error"]
        self.assertEqual(error["Code"], code, error)
        if message is not None:
            self.assertEqual(error["Message"], message)


class StorageRulesTest(RulesTestCase):
    GP3_MESSAGE = "You can't specify IOPS or storage throughput for engine postgres and a storage size less than 400."

    def test_gp3_reports_its_baseline(self) -> None:
        small = create_postgres(self.rds, "small")
        self.assertEqual((small["Iops"], small["StorageThroughput"]), (3000, 125))
        create_postgres(self.rds, "large", AllocatedStorage=500)
        large = describe(self.rds, "large")
        self.assertEqual((large["Iops"], large["StorageThroughput"]), (12000, 500))
        self.rds.modify_db_instance(DBInstanceIdentifier="small", AllocatedStorage=400, ApplyImmediately=True)
        grown = describe(self.rds, "small")
        self.assertEqual((grown["Iops"], grown["StorageThroughput"]), (12000, 500))

    def test_gp3_below_400_gib_refuses_iops_or_throughput_even_the_baseline(self) -> None:
        for extra in ({"Iops": 3000}, {"StorageThroughput": 125}, {"Iops": 3000, "StorageThroughput": 125}):
            with self.subTest(extra=extra):
                self.assertRefused(lambda **k: create_postgres(self.rds, "gp3", **k), "InvalidParameterCombination", self.GP3_MESSAGE, **extra)
        create_postgres(self.rds, "x")
        self.assertRefused(self.rds.modify_db_instance, "InvalidParameterCombination", self.GP3_MESSAGE,
                           DBInstanceIdentifier="x", Iops=3000, ApplyImmediately=True)
        self.rds.create_db_snapshot(DBInstanceIdentifier="x", DBSnapshotIdentifier="s")
        self.assertRefused(self.rds.restore_db_instance_from_db_snapshot, "InvalidParameterCombination", self.GP3_MESSAGE,
                           DBInstanceIdentifier="y", DBSnapshotIdentifier="s", StorageThroughput=125)
        self.rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="y", DBSnapshotIdentifier="s")
        self.assertEqual(describe(self.rds, "y")["Iops"], 3000)

    def test_gp3_from_400_gib_takes_provisioned_iops(self) -> None:
        create_postgres(self.rds, "big", AllocatedStorage=400, Iops=15000, StorageThroughput=600)
        self.assertEqual((describe(self.rds, "big")["Iops"], describe(self.rds, "big")["StorageThroughput"]), (15000, 600))
        # Growing past 400 GiB in the same call may set them.
        create_postgres(self.rds, "grow")
        self.rds.modify_db_instance(DBInstanceIdentifier="grow", AllocatedStorage=500, Iops=12000, ApplyImmediately=True)

    def test_io1_needs_iops_and_gp2_with_iops_is_io1(self) -> None:
        self.assertRefused(lambda: create_postgres(self.rds, "io", StorageType="io1", AllocatedStorage=100),
                           "InvalidParameterCombination", "The storage type io1 requires iops to be specified.")
        created = create_postgres(self.rds, "gp2", StorageType="gp2", AllocatedStorage=100, Iops=1000)
        self.assertEqual((created["StorageType"], created["Iops"]), ("io1", 1000))


class TagRulesTest(RulesTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.arn = create_postgres(self.rds, "x")["DBInstanceArn"]

    def add(self, *tags) -> None:
        self.rds.add_tags_to_resource(ResourceName=self.arn, Tags=list(tags))

    def test_reserved_prefixes_are_refused_in_keys_and_values_in_any_case(self) -> None:
        for tag, message in [
            ({"Key": "aws:cloudformation:stack-name", "Value": "v"}, 'Tag keys cannot start with the reserved prefix "aws:".'),
            ({"Key": "AWS:thing", "Value": "v"}, 'Tag keys cannot start with the reserved prefix "aws:".'),
            ({"Key": "rds:owner", "Value": "v"}, 'Tag keys cannot start with the reserved prefix "rds:".'),
            ({"Key": "k", "Value": "rds:x"}, 'Tag values cannot start with the reserved prefix "rds:".'),
        ]:
            with self.subTest(tag=tag):
                self.assertRefused(lambda: self.add(tag), "InvalidParameterValue", message)
        self.assertEqual(self.rds.list_tags_for_resource(ResourceName=self.arn)["TagList"], [])

    def test_lengths_and_characters(self) -> None:
        for tag in [{"Key": "k" * 129, "Value": "v"}, {"Key": "k", "Value": "v" * 257}, {"Key": "a#b", "Value": "v"},
                    {"Key": "k", "Value": "line\nbreak"}]:
            with self.subTest(tag=tag):
                self.assertRefused(lambda: self.add(tag), "InvalidParameterValue")
        self.add({"Key": "k" * 128, "Value": "v" * 256}, {"Key": "empty", "Value": ""},
                 {"Key": "Größe _.:/=+-@", "Value": "ünïcode 1"})
        self.assertEqual(len(self.rds.list_tags_for_resource(ResourceName=self.arn)["TagList"]), 3)

    def test_at_most_50_tags_per_resource(self) -> None:
        self.add(*[{"Key": f"k{i}", "Value": "v"} for i in range(49)])
        self.add({"Key": "k0", "Value": "again"}, {"Key": "k49", "Value": "v"})  # 50: replaces one, adds one
        self.assertRefused(lambda: self.add({"Key": "k50", "Value": "v"}), "InvalidParameterValue")
        self.assertRefused(lambda: create_postgres(self.rds, "many", Tags=[{"Key": f"k{i}", "Value": ""} for i in range(51)]),
                           "InvalidParameterValue")

    def test_tags_on_create_restore_and_snapshots_are_checked(self) -> None:
        bad = [{"Key": "aws:x", "Value": "v"}]
        self.assertRefused(lambda: create_postgres(self.rds, "t", Tags=bad), "InvalidParameterValue")
        self.assertRefused(self.rds.create_db_snapshot, "InvalidParameterValue", DBInstanceIdentifier="x", DBSnapshotIdentifier="s", Tags=bad)
        self.rds.create_db_snapshot(DBInstanceIdentifier="x", DBSnapshotIdentifier="s")
        self.assertRefused(self.rds.copy_db_snapshot, "InvalidParameterValue", SourceDBSnapshotIdentifier="s", TargetDBSnapshotIdentifier="c", Tags=bad)
        self.assertRefused(self.rds.restore_db_instance_from_db_snapshot, "InvalidParameterValue",
                           DBInstanceIdentifier="r", DBSnapshotIdentifier="s", Tags=bad)
        # An automated snapshot's *identifier* begins with rds:; that is not a tag.
        automated = self.rds.describe_db_snapshots(DBInstanceIdentifier="x", SnapshotType="automated")["DBSnapshots"]
        self.assertTrue(automated[0]["DBSnapshotIdentifier"].startswith("rds:x-"))


class IdentifierRulesTest(RulesTestCase):
    def test_identifiers_are_stored_in_lower_case_and_found_in_any_case(self) -> None:
        self.assertEqual(create_postgres(self.rds, "MyDB")["DBInstanceIdentifier"], "mydb")
        self.assertEqual(describe(self.rds, "MYDB")["DBInstanceIdentifier"], "mydb")
        self.rds.create_db_snapshot(DBInstanceIdentifier="MyDb", DBSnapshotIdentifier="Snap-One")
        self.assertEqual(self.rds.describe_db_snapshots(DBSnapshotIdentifier="SNAP-ONE")["DBSnapshots"][0]["DBSnapshotIdentifier"], "snap-one")
        restored = self.rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="Restored", DBSnapshotIdentifier="snap-ONE")
        self.assertEqual(restored["DBInstance"]["DBInstanceIdentifier"], "restored")
        self.rds.modify_db_instance(DBInstanceIdentifier="MYDB", NewDBInstanceIdentifier="Renamed-DB", ApplyImmediately=True)
        self.assertEqual(describe(self.rds, "renamed-db")["DBInstanceIdentifier"], "renamed-db")
        self.assertRefused(self.rds.modify_db_instance, "DBInstanceAlreadyExists",
                           DBInstanceIdentifier="restored", NewDBInstanceIdentifier="RENAMED-db", ApplyImmediately=True)

    def test_invalid_identifiers_are_refused_on_create_restore_and_rename(self) -> None:
        create_postgres(self.rds, "x")
        self.rds.create_db_snapshot(DBInstanceIdentifier="x", DBSnapshotIdentifier="s")
        for bad in ["1db", "a--b", "ends-", "a" * 64, "under_score", "dot.ted"]:
            with self.subTest(identifier=bad):
                self.assertRefused(lambda: create_postgres(self.rds, bad), "InvalidParameterValue")
                self.assertRefused(self.rds.restore_db_instance_from_db_snapshot, "InvalidParameterValue",
                                   DBInstanceIdentifier=bad, DBSnapshotIdentifier="s")
                self.assertRefused(self.rds.modify_db_instance, "InvalidParameterValue",
                                   "The parameter NewDBInstanceIdentifier is not a valid identifier. Identifiers must begin "
                                   "with a letter; must contain only ASCII letters, digits, and hyphens; and must not end "
                                   "with a hyphen or contain two consecutive hyphens.",
                                   DBInstanceIdentifier="x", NewDBInstanceIdentifier=bad, ApplyImmediately=True)
        create_postgres(self.rds, "a" * 63)


class SnsRulesTest(RulesTestCase):
    def test_subject_must_be_under_100_characters_without_control_characters(self) -> None:
        sns = boto3.client("sns", region_name="us-east-1", endpoint_url=self.emulator.url,
                           aws_access_key_id="test", aws_secret_access_key="test")
        topic = sns.create_topic(Name="rds-refresh")["TopicArn"]
        sns.publish(TopicArn=topic, Message="m", Subject="s" * 99)
        for subject in ["s" * 100, "", "two\nlines", "tab\there"]:
            with self.subTest(subject=subject):
                with self.assertRaises(ClientError) as raised:
                    sns.publish(TopicArn=topic, Message="m", Subject=subject)
                error = raised.exception.response["Error"]
                self.assertEqual((error["Code"], error["Message"]), ("InvalidParameter", "Invalid parameter: Subject"))


class InstanceStateRulesTest(RulesTestCase):
    NOT_AVAILABLE = "Database instance is not in available state."

    def statuses(self, identifier: str, n: int) -> list:
        return [status(self.rds, identifier) for _ in range(n)]

    def test_a_new_instance_passes_through_the_after_create_statuses(self) -> None:
        self.emulator.control("POST", "transitions", {
            "instance.creating": {"reads": 1},
            "instance.after-create": {"statuses": ["backing-up", "configuring-enhanced-monitoring"], "reads": 1},
        })
        create_postgres(self.rds, "new")
        self.assertEqual(self.statuses("new", 4), ["creating", "backing-up", "configuring-enhanced-monitoring", "available"])

    def test_a_restored_instance_passes_through_them_too_and_cannot_be_modified_or_renamed_meanwhile(self) -> None:
        create_postgres(self.rds, "x")
        self.rds.create_db_snapshot(DBInstanceIdentifier="x", DBSnapshotIdentifier="s")
        self.emulator.control("POST", "transitions", {"instance.after-create": {"phases": [["backing-up", 2]]}})
        self.rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="y", DBSnapshotIdentifier="s")
        self.assertEqual(status(self.rds, "y"), "backing-up")
        self.assertRefused(self.rds.modify_db_instance, "InvalidDBInstanceState", self.NOT_AVAILABLE,
                           DBInstanceIdentifier="y", BackupRetentionPeriod=7, ApplyImmediately=True)
        self.assertRefused(self.rds.modify_db_instance, "InvalidDBInstanceState", self.NOT_AVAILABLE,
                           DBInstanceIdentifier="y", NewDBInstanceIdentifier="z", ApplyImmediately=True)
        self.assertRefused(self.rds.delete_db_instance, "InvalidDBInstanceState", "Instance y is not in available state.",
                           DBInstanceIdentifier="y", SkipFinalSnapshot=True)
        self.assertEqual(self.statuses("y", 2), ["backing-up", "available"])
        self.rds.modify_db_instance(DBInstanceIdentifier="y", NewDBInstanceIdentifier="z", ApplyImmediately=True)

    def test_a_modifying_instance_cannot_be_modified_again(self) -> None:
        create_postgres(self.rds, "m")
        self.emulator.control("POST", "transitions", {"instance.modifying": {"reads": 1}})
        self.rds.modify_db_instance(DBInstanceIdentifier="m", DBInstanceClass="db.t3.small", ApplyImmediately=True)
        self.assertRefused(self.rds.modify_db_instance, "InvalidDBInstanceState", self.NOT_AVAILABLE,
                           DBInstanceIdentifier="m", DBInstanceClass="db.t3.medium", ApplyImmediately=True)

    def test_instance_status_holds_any_status_then_returns_to_available(self) -> None:
        create_postgres(self.rds, "x")
        answer = self.emulator.control("POST", "instance-status",
                                       {"region": "us-west-2", "dbInstanceIdentifier": "x", "status": "maintenance", "reads": 2})
        self.assertEqual(answer, {"dbInstanceIdentifier": "x", "status": "maintenance"})
        self.assertRefused(self.rds.modify_db_instance, "InvalidDBInstanceState", self.NOT_AVAILABLE,
                           DBInstanceIdentifier="x", DeletionProtection=True, ApplyImmediately=True)
        self.assertEqual(self.statuses("x", 3), ["maintenance", "maintenance", "available"])
        self.emulator.control("POST", "instance-status", {"region": "us-west-2", "dbInstanceIdentifier": "X", "status": "stopped"})
        self.assertEqual(self.statuses("x", 3), ["stopped"] * 3)

    def test_storage_optimization_allows_modifications_but_not_of_storage(self) -> None:
        create_postgres(self.rds, "x")
        self.emulator.control("POST", "instance-status",
                              {"region": "us-west-2", "dbInstanceIdentifier": "x", "status": "storage-optimization", "seconds": 3600})
        self.rds.modify_db_instance(DBInstanceIdentifier="x", BackupRetentionPeriod=7, ApplyImmediately=True)
        self.assertRefused(self.rds.modify_db_instance, "InvalidParameterCombination",
                           "You can't currently modify the storage of this DB instance because the previous storage change is being optimized.",
                           DBInstanceIdentifier="x", AllocatedStorage=30, ApplyImmediately=True)
        self.rds.delete_db_instance(DBInstanceIdentifier="x", SkipFinalSnapshot=True)

    def test_a_delete_can_show_a_stale_status_and_delete_precheck_first(self) -> None:
        create_postgres(self.rds, "old")
        self.emulator.control("POST", "transitions",
                              {"instance.deleting": {"phases": [["available", 1], {"status": "delete-precheck", "reads": 1}], "reads": 2}})
        self.rds.delete_db_instance(DBInstanceIdentifier="old", SkipFinalSnapshot=True)
        self.assertEqual(status(self.rds, "old"), "available")
        self.assertRefused(self.rds.delete_db_instance, "InvalidDBInstanceState", "Instance old is already being deleted.",
                           DBInstanceIdentifier="old", SkipFinalSnapshot=True)
        self.assertRefused(self.rds.modify_db_instance, "InvalidDBInstanceState", self.NOT_AVAILABLE,
                           DBInstanceIdentifier="old", NewDBInstanceIdentifier="old2", ApplyImmediately=True)
        self.assertEqual(self.statuses("old", 4), ["delete-precheck", "deleting", "deleting", None])

    def test_a_delete_needs_a_final_snapshot_unless_skipped(self) -> None:
        create_postgres(self.rds, "x")
        self.assertRefused(self.rds.delete_db_instance, "InvalidParameterCombination",
                           "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.", DBInstanceIdentifier="x")
        self.rds.delete_db_instance(DBInstanceIdentifier="x", FinalDBSnapshotIdentifier="x-final")
        self.assertEqual(self.rds.describe_db_snapshots(DBSnapshotIdentifier="x-final")["DBSnapshots"][0]["Status"], "available")


class GroupRulesTest(RulesTestCase):
    def setUp(self) -> None:
        super().setUp()
        create_postgres(self.rds, "x")
        self.rds.create_db_snapshot(DBInstanceIdentifier="x", DBSnapshotIdentifier="s")
        for family in ("postgres15", "postgres16"):
            self.rds.create_db_parameter_group(DBParameterGroupName=f"pg-{family}", DBParameterGroupFamily=family, Description="d")
        for major in ("15", "16"):
            self.rds.create_option_group(OptionGroupName=f"og-{major}", EngineName="postgres", MajorEngineVersion=major,
                                         OptionGroupDescription="d")

    def restore(self, **kwargs):
        return self.rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="y", DBSnapshotIdentifier="s", **kwargs)

    def test_snapshots_keep_the_engine_version(self) -> None:
        self.assertEqual(self.rds.describe_db_snapshots(DBSnapshotIdentifier="s")["DBSnapshots"][0]["EngineVersion"], "16.3")

    def test_a_parameter_group_of_another_family_is_refused(self) -> None:
        message = ("The Parameter Group pg-postgres15 with DBParameterGroupFamily postgres15 cannot be used for this instance. "
                   "Please use a Parameter Group with DBParameterGroupFamily postgres16")
        self.assertRefused(self.restore, "InvalidParameterCombination", message, DBParameterGroupName="pg-postgres15")
        self.assertRefused(lambda: create_postgres(self.rds, "c", DBParameterGroupName="pg-postgres15"), "InvalidParameterCombination", message)
        self.assertRefused(self.rds.modify_db_instance, "InvalidParameterCombination", message,
                           DBInstanceIdentifier="x", DBParameterGroupName="pg-postgres15", ApplyImmediately=True)
        self.assertRefused(self.restore, "DBParameterGroupNotFound", DBParameterGroupName="missing")
        self.restore(DBParameterGroupName="pg-postgres16")
        self.rds.modify_db_instance(DBInstanceIdentifier="x", DBParameterGroupName="default.postgres16", ApplyImmediately=True)
        self.assertRefused(self.rds.modify_db_instance, "InvalidParameterCombination",
                           DBInstanceIdentifier="x", DBParameterGroupName="default.postgres15", ApplyImmediately=True)
        # 9.6: the family carries the minor number.
        create_postgres(self.rds, "old", EngineVersion="9.6.22", DBParameterGroupName="default.postgres9.6")

    def test_an_option_group_of_another_major_version_is_refused(self) -> None:
        self.assertRefused(self.restore, "InvalidParameterCombination",
                           "The option group og-15 is for postgres 15, and your DB instance is postgres 16.", OptionGroupName="og-15")
        self.assertRefused(self.restore, "OptionGroupNotFoundFault", "Specified OptionGroupName: missing not found.", OptionGroupName="missing")
        self.restore(OptionGroupName="og-16")
        self.assertEqual(describe(self.rds, "x")["OptionGroupMemberships"][0]["OptionGroupName"], "default:postgres-16")
        self.rds.modify_db_instance(DBInstanceIdentifier="x", OptionGroupName="default:postgres-16", ApplyImmediately=True)


class KmsRulesTest(RulesTestCase):
    def setUp(self) -> None:
        super().setUp()
        source = self.emulator.rds("us-east-1")
        create_postgres(source, "x", StorageEncrypted=True)
        source.create_db_snapshot(DBInstanceIdentifier="x", DBSnapshotIdentifier="s")
        self.arn = source.describe_db_snapshots(DBSnapshotIdentifier="s")["DBSnapshots"][0]["DBSnapshotArn"]

    def copy(self, **kwargs):
        return self.rds.copy_db_snapshot(SourceDBSnapshotIdentifier=self.arn, TargetDBSnapshotIdentifier="c", SourceRegion="us-east-1", **kwargs)

    def test_an_encrypted_cross_region_copy_needs_a_key_of_the_destination(self) -> None:
        self.assertRefused(self.copy, "InvalidParameterValue", "Must specify new KMS key for cross region encrypted snapshot copy.")
        self.assertRefused(self.copy, "KMSKeyNotAccessibleFault",
                           "The target KMS key [alias/nope] does not exist, is not enabled or you do not have permissions to access it.",
                           KmsKeyId="alias/nope")
        kms = boto3.client("kms", region_name="us-west-2", endpoint_url=self.emulator.url,
                           aws_access_key_id="test", aws_secret_access_key="test")
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName="alias/rds-refresh", TargetKeyId=key)
        copied = self.copy(KmsKeyId="alias/rds-refresh")["DBSnapshot"]
        self.assertTrue(copied["Encrypted"])


if __name__ == "__main__":
    unittest.main()
