"""Automated backups, their cross-Region replication and point-in-time restore's rules, through
boto3 (automated_backups.py; README.md, "Automated backups and point-in-time restore").

Run: .local/venv/bin/python -m unittest discover --start-directory local/emulator --pattern 'test_*.py'
"""

from __future__ import annotations

import re
import time
import unittest
from datetime import datetime, timedelta, timezone

import boto3

from test_rds_emulator import EmulatorTestCase, RulesTestCase, create_postgres, describe

BACKUP_ARN = re.compile(r"^arn:aws:rds:(us-east-1|us-west-2):123456789012:auto-backup:ab-[A-Z2-7]{26}$")


class AutomatedBackupsTestCase(RulesTestCase):
    """x in us-east-1 with 7 days of backups; `self.east`, `self.west` (self.rds) its RDS clients."""

    def setUp(self) -> None:
        super().setUp()
        self.emulator.control("POST", "restore-window", {"lagSeconds": 0})
        self.east = self.emulator.rds("us-east-1")
        self.west = self.rds
        self.x = create_postgres(self.east, "x", BackupRetentionPeriod=7)

    def backups(self, rds, **kwargs) -> list[dict]:
        return rds.describe_db_instance_automated_backups(**kwargs)["DBInstanceAutomatedBackups"]

    def replicate(self, **kwargs) -> dict:
        return self.west.start_db_instance_automated_backups_replication(
            SourceDBInstanceArn=self.x["DBInstanceArn"], SourceRegion="us-east-1", **kwargs)["DBInstanceAutomatedBackup"]


class AutomatedBackupTest(AutomatedBackupsTestCase):
    def test_an_instance_with_backups_has_one_found_every_way(self) -> None:
        create_postgres(self.east, "nobackups", BackupRetentionPeriod=0)
        (backup,) = self.backups(self.east)
        self.assertEqual(backup["DbiResourceId"], self.x["DbiResourceId"])
        self.assertRegex(backup["DbiResourceId"], r"^db-[A-Z2-7]{26}$")
        self.assertEqual(backup["DBInstanceArn"], self.x["DBInstanceArn"])
        self.assertEqual((backup["DBInstanceIdentifier"], backup["Region"], backup["Status"]), ("x", "us-east-1", "active"))
        self.assertEqual((backup["Engine"], backup["EngineVersion"], backup["BackupRetentionPeriod"]), ("postgres", "16.3", 7))
        self.assertFalse(backup["Encrypted"])
        self.assertRegex(backup["DBInstanceAutomatedBackupsArn"], BACKUP_ARN)
        self.assertEqual(backup["DBInstanceAutomatedBackupsReplications"], [])
        arn = backup["DBInstanceAutomatedBackupsArn"]
        for kwargs in ({"DBInstanceIdentifier": "X"}, {"DbiResourceId": self.x["DbiResourceId"].lower()},
                       {"DBInstanceAutomatedBackupsArn": arn},
                       {"Filters": [{"Name": "db-instance-id", "Values": ["x"]}]},
                       {"Filters": [{"Name": "db-instance-id", "Values": [self.x["DBInstanceArn"]]}]},
                       {"Filters": [{"Name": "dbi-resource-id", "Values": [self.x["DbiResourceId"]]}]},
                       {"Filters": [{"Name": "status", "Values": ["active"]}]}):
            self.assertEqual([b["DBInstanceAutomatedBackupsArn"] for b in self.backups(self.east, **kwargs)], [arn], kwargs)
        self.assertEqual(self.backups(self.east, Filters=[{"Name": "status", "Values": ["retained"]}]), [])
        self.assertEqual(self.backups(self.west), [])  # another Region's
        self.assertRefused(self.east.describe_db_instance_automated_backups, "DBInstanceAutomatedBackupNotFound",
                           "No automated backup for this DB instance was found.", DBInstanceIdentifier="nobackups")
        # Stable: the same ARN and resource id at every read, and after a rename.
        self.east.modify_db_instance(DBInstanceIdentifier="x", NewDBInstanceIdentifier="x2", ApplyImmediately=True)
        (renamed,) = self.backups(self.east, DbiResourceId=self.x["DbiResourceId"])
        self.assertEqual((renamed["DBInstanceAutomatedBackupsArn"], renamed["DBInstanceIdentifier"]), (arn, "x2"))

    def test_the_window_begins_at_the_creation_and_ends_now_minus_the_lag(self) -> None:
        self.emulator.control("POST", "restore-window", {"lagSeconds": 0.5})
        time.sleep(0.6)  # older than the lag: LatestTime is no longer held at EarliestTime
        before = datetime.now(timezone.utc)
        window = self.backups(self.east)[0]["RestoreWindow"]
        after = datetime.now(timezone.utc)
        self.assertLessEqual(window["EarliestTime"], before)
        self.assertGreaterEqual(window["EarliestTime"], before - timedelta(seconds=30))
        self.assertLessEqual(before - timedelta(seconds=0.5), window["LatestTime"])
        self.assertLessEqual(window["LatestTime"], after - timedelta(seconds=0.5))
        time.sleep(0.3)
        moved = self.backups(self.east)[0]["RestoreWindow"]
        self.assertEqual(moved["EarliestTime"], window["EarliestTime"])
        self.assertGreaterEqual(moved["LatestTime"] - window["LatestTime"], timedelta(seconds=0.3))
        latest = describe(self.east, "x")["LatestRestorableTime"]
        self.assertLess(abs(latest - (datetime.now(timezone.utc) - timedelta(seconds=0.5))), timedelta(seconds=0.4))
        self.assertEqual(self.emulator.control("GET", "restore-window"), {"lagSeconds": 0.5})

    def test_bad_restore_window_settings_are_refused(self) -> None:
        for body in ({"lagSeconds": -1}, {"lagSeconds": "2"}, {"lag": 2}):
            with self.assertRaises(Exception):
                self.emulator.control("POST", "restore-window", body)


class ReplicationTest(AutomatedBackupsTestCase):
    def test_a_replication_is_replicating_then_active_and_listed_in_both_regions(self) -> None:
        self.emulator.control("POST", "transitions", {"automated-backup.replicating": {"reads": 2}})
        started = self.replicate(BackupRetentionPeriod=3)
        self.assertEqual(started["Status"], "replicating")
        self.assertRegex(started["DBInstanceAutomatedBackupsArn"], BACKUP_ARN)
        self.assertTrue(started["DBInstanceAutomatedBackupsArn"].startswith("arn:aws:rds:us-west-2:"))
        self.assertEqual((started["DbiResourceId"], started["Region"], started["BackupRetentionPeriod"]),
                         (self.x["DbiResourceId"], "us-east-1", 3))
        self.assertEqual([b["Status"] for b in self.backups(self.west)], ["replicating"])
        self.assertEqual([b["Status"] for b in self.backups(self.west, DbiResourceId=self.x["DbiResourceId"])], ["replicating"])
        (replica,) = self.backups(self.west, DbiResourceId=self.x["DbiResourceId"])
        self.assertEqual(replica["Status"], "active")
        self.assertEqual(replica["DBInstanceAutomatedBackupsArn"], started["DBInstanceAutomatedBackupsArn"])
        (source,) = self.backups(self.east)
        self.assertEqual(source["DBInstanceAutomatedBackupsReplications"],
                         [{"DBInstanceAutomatedBackupsArn": started["DBInstanceAutomatedBackupsArn"]}])
        self.assertNotEqual(source["DBInstanceAutomatedBackupsArn"], replica["DBInstanceAutomatedBackupsArn"])
        # The window of the replica begins when the replication did.
        self.assertGreater(replica["RestoreWindow"]["EarliestTime"], source["RestoreWindow"]["EarliestTime"])
        stopped = self.west.stop_db_instance_automated_backups_replication(
            SourceDBInstanceArn=self.x["DBInstanceArn"])["DBInstanceAutomatedBackup"]
        self.assertEqual(stopped["Status"], "retained")
        self.assertEqual(self.backups(self.west), [])
        self.assertEqual(self.backups(self.east)[0]["DBInstanceAutomatedBackupsReplications"], [])

    def test_without_the_transition_a_replica_is_active_at_once_and_defaults_to_7_days(self) -> None:
        self.replicate()
        (replica,) = self.backups(self.west)
        self.assertEqual((replica["Status"], replica["BackupRetentionPeriod"]), ("active", 7))

    def test_a_missing_source_is_refused(self) -> None:
        arn = "arn:aws:rds:us-east-1:123456789012:db:nope"
        self.assertRefused(self.west.start_db_instance_automated_backups_replication, "DBInstanceNotFound",
                           f"DBInstance {arn} not found.", SourceDBInstanceArn=arn)
        self.assertRefused(self.west.stop_db_instance_automated_backups_replication, "DBInstanceNotFound",
                           f"DBInstance {arn} not found.", SourceDBInstanceArn=arn)

    def test_a_second_replication_to_the_region_is_refused(self) -> None:
        self.replicate()
        self.assertRefused(self.replicate, "InvalidDBInstanceAutomatedBackupState",
                           "Automated backups of the DB instance x are already being replicated to us-west-2.")

    def test_a_source_without_backups_is_refused(self) -> None:
        self.east.modify_db_instance(DBInstanceIdentifier="x", BackupRetentionPeriod=0, ApplyImmediately=True)
        self.assertRefused(self.replicate, "InvalidDBInstanceState", "Automated backups are not enabled for the DB instance x.")

    def test_a_source_in_the_same_region_is_refused(self) -> None:
        self.assertRefused(self.east.start_db_instance_automated_backups_replication, "InvalidParameterValue",
                           f"The source DB instance {self.x['DBInstanceArn']} is in the destination Region us-east-1: "
                           "automated backups can only be replicated to a different Region.",
                           SourceDBInstanceArn=self.x["DBInstanceArn"])

    def test_stopping_what_is_not_replicated_is_refused(self) -> None:
        self.assertRefused(self.west.stop_db_instance_automated_backups_replication, "InvalidDBInstanceState",
                           "Automated backups of the DB instance x are not being replicated to us-west-2.",
                           SourceDBInstanceArn=self.x["DBInstanceArn"])

    def test_an_encrypted_source_needs_a_key_of_the_destination(self) -> None:
        encrypted = create_postgres(self.east, "xe", StorageEncrypted=True, BackupRetentionPeriod=7)
        start = lambda **kwargs: self.west.start_db_instance_automated_backups_replication(
            SourceDBInstanceArn=encrypted["DBInstanceArn"], **kwargs)
        self.assertRefused(start, "InvalidParameterValue",
                           "Must specify a KMS key of the destination Region to replicate the automated backups of an "
                           "encrypted DB instance.")
        self.assertRefused(start, "KMSKeyNotAccessibleFault",
                           "The target KMS key [alias/nope] does not exist, is not enabled or you do not have permissions to "
                           "access it.", KmsKeyId="alias/nope")
        kms = boto3.client("kms", region_name="us-west-2", endpoint_url=self.emulator.url,
                           aws_access_key_id="test", aws_secret_access_key="test")
        key = kms.create_key()["KeyMetadata"]["Arn"]
        replica = start(KmsKeyId=key)["DBInstanceAutomatedBackup"]
        self.assertTrue(replica["Encrypted"])
        self.assertEqual(replica["KmsKeyId"], key)


class PointInTimeRestoreTest(AutomatedBackupsTestCase):
    def restore(self, rds=None, target: str = "r", **kwargs) -> dict:
        return (rds or self.east).restore_db_instance_to_point_in_time(TargetDBInstanceIdentifier=target, **kwargs)["DBInstance"]

    def test_from_the_identifier_the_resource_id_or_the_backup_arn(self) -> None:
        arn = self.backups(self.east)[0]["DBInstanceAutomatedBackupsArn"]
        for n, kwargs in enumerate(({"SourceDBInstanceIdentifier": "x"}, {"SourceDbiResourceId": self.x["DbiResourceId"]},
                                    {"SourceDBInstanceAutomatedBackupsArn": arn})):
            restored = self.restore(target=f"r{n}", UseLatestRestorableTime=True, **kwargs)
            self.assertEqual((restored["DBInstanceIdentifier"], restored["Engine"]), (f"r{n}", "postgres"))
            self.assertNotEqual(restored["DbiResourceId"], self.x["DbiResourceId"])

    def test_a_replicated_backup_restores_in_its_region(self) -> None:
        self.emulator.control("POST", "transitions", {"automated-backup.replicating": {"reads": 1}})
        arn = self.replicate()["DBInstanceAutomatedBackupsArn"]
        self.assertRefused(self.restore, "InvalidDBInstanceAutomatedBackupState",
                           f"The automated backup {arn} is replicating: it can't be restored yet.",
                           rds=self.west, SourceDBInstanceAutomatedBackupsArn=arn, UseLatestRestorableTime=True)
        self.backups(self.west)  # its one read of `replicating`
        time.sleep(0.01)
        restored = self.restore(rds=self.west, target="y-new", SourceDBInstanceAutomatedBackupsArn=arn, UseLatestRestorableTime=True)
        self.assertEqual(restored["DBInstanceArn"], "arn:aws:rds:us-west-2:123456789012:db:y-new")
        self.assertEqual(restored["AvailabilityZone"][:-1], "us-west-2")
        self.assertEqual(describe(self.west, "y-new")["DBInstanceStatus"], "available")

    def test_a_restore_time_inside_the_window_is_taken(self) -> None:
        window = self.backups(self.east)[0]["RestoreWindow"]
        self.restore(SourceDBInstanceIdentifier="x", RestoreTime=window["EarliestTime"])
        self.restore(target="r2", SourceDBInstanceIdentifier="x", RestoreTime=window["LatestTime"])

    def test_a_restore_time_outside_the_window_is_refused(self) -> None:
        self.emulator.control("POST", "restore-window", {"lagSeconds": 60})
        window = self.backups(self.east)[0]["RestoreWindow"]
        fmt = lambda t: t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        too_early = window["EarliestTime"] - timedelta(seconds=1)
        with self.assertRaises(Exception) as raised:
            self.restore(SourceDBInstanceIdentifier="x", RestoreTime=too_early)
        error = raised.exception.response["Error"]
        self.assertEqual(error["Code"], "InvalidRestoreFault")
        self.assertEqual(error["Message"], f"The restore time {fmt(too_early)} is outside the restorable window of the "
                                           f"source: {fmt(window['EarliestTime'])} to {fmt(window['EarliestTime'])}.")
        self.assertRefused(self.restore, "InvalidRestoreFault", SourceDBInstanceIdentifier="x",
                           RestoreTime=datetime.now(timezone.utc))

    def test_the_time_is_restore_time_xor_the_latest(self) -> None:
        self.assertRefused(self.restore, "InvalidParameterCombination",
                           "Cannot specify both RestoreTime and UseLatestRestorableTime.", SourceDBInstanceIdentifier="x",
                           UseLatestRestorableTime=True, RestoreTime=datetime.now(timezone.utc))
        self.assertRefused(self.restore, "InvalidParameterCombination",
                           "Either RestoreTime or UseLatestRestorableTime must be specified.", SourceDBInstanceIdentifier="x")

    def test_the_source_is_named_once_and_must_exist(self) -> None:
        self.assertRefused(self.restore, "InvalidParameterCombination",
                           "Exactly one of SourceDBInstanceIdentifier, SourceDbiResourceId and "
                           "SourceDBInstanceAutomatedBackupsArn must be specified.",
                           SourceDBInstanceIdentifier="x", SourceDbiResourceId=self.x["DbiResourceId"], UseLatestRestorableTime=True)
        self.assertRefused(self.restore, "DBInstanceAutomatedBackupNotFound",
                           "No automated backup for this DB instance was found.", UseLatestRestorableTime=True,
                           SourceDBInstanceAutomatedBackupsArn="arn:aws:rds:us-east-1:123456789012:auto-backup:ab-NOPE")
        self.assertRefused(self.restore, "DBInstanceNotFound", "DBInstance nope not found.",
                           SourceDBInstanceIdentifier="nope", UseLatestRestorableTime=True)
        self.assertRefused(self.restore, "DBInstanceNotFound", SourceDbiResourceId="db-NOPE", UseLatestRestorableTime=True)
        create_postgres(self.east, "nobackups", BackupRetentionPeriod=0)
        self.assertRefused(self.restore, "PointInTimeRestoreNotEnabled", SourceDBInstanceIdentifier="nobackups",
                           UseLatestRestorableTime=True)


if __name__ == "__main__":
    unittest.main()
