"""Tests of the data plane (--databases): real PostgreSQL servers behind the emulated instances,
checked as a client sees them, through boto3 and psql over TLS (verify-full against the
emulator's CA).

One emulator with databases serves every test of this module but the lifecycle ones (which
end theirs), seeded once with the standard world; each test makes instances of its own names.

Run: .local/venv/bin/python -m unittest discover --start-directory local/emulator --pattern 'test_*.py'
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

import boto3
from botocore.exceptions import ClientError

import data_plane
from emulator_process import EmulatorProcess
from test_rds_emulator import ONE_ATTEMPT

EMULATOR: EmulatorProcess | None = None
WORLD: dict = {}
CA_BUNDLE = ""
SCRATCH = ""


def scratch_folder(name: str) -> Path:
    """A database directory in the temporary folder: creating files is quicker there than in a
    checkout on some machines (README.md, "The data plane")."""
    return Path(SCRATCH, name)


def setUpModule() -> None:
    global EMULATOR, WORLD, CA_BUNDLE, SCRATCH
    SCRATCH = tempfile.mkdtemp(prefix="rds-emulator-test-")
    os.chmod(SCRATCH, 0o755)  # reachable by the user who runs the servers, when that is not us
    EMULATOR = EmulatorProcess(databases=True, database_dir=scratch_folder("databases"))
    try:
        WORLD = EMULATOR.seed("standard")["instances"]
        CA_BUNDLE = EMULATOR.databases()["caBundle"]
    except BaseException:
        tearDownModule()
        raise


def tearDownModule() -> None:
    if EMULATOR is not None:
        EMULATOR.stop()
    shutil.rmtree(SCRATCH, ignore_errors=True)


def psql(port: int, user: str, password: str, sql: str = "SELECT current_user", database: str = "postgres",
         sslmode: str = "verify-full", root: str | None = None) -> subprocess.CompletedProcess:
    """`sql` through psql as `user` on 127.0.0.1:`port` (TLS verified against the emulator's CA
    unless said otherwise); the completed process, its stdout unaligned, without headers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(PGPASSWORD=password, PGCONNECT_TIMEOUT="5")
    conninfo = (f"host=127.0.0.1 port={port} user={user} dbname={database} sslmode={sslmode} "
                f"sslrootcert={root or CA_BUNDLE}")
    return subprocess.run(["psql", conninfo, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                          env=env, capture_output=True, text=True, timeout=30)


def port_is_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def wait_until(condition, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


class DataPlaneTestCase(unittest.TestCase):
    def setUp(self) -> None:
        self.emulator = EMULATOR
        self.east = EMULATOR.rds("us-east-1", ONE_ATTEMPT)
        self.west = EMULATOR.rds("us-west-2", ONE_ATTEMPT)
        self.x = WORLD["x"]["database"]
        self.y = WORLD["y"]["database"]

    def query(self, port: int, user: str, password: str, sql: str, database: str = "app") -> str:
        answer = psql(port, user, password, sql, database=database)
        self.assertEqual(answer.returncode, 0, answer.stderr)
        return answer.stdout.strip()

    def refused(self, port: int, user: str, password: str, **kwargs) -> str:
        answer = psql(port, user, password, **kwargs)
        self.assertNotEqual(answer.returncode, 0, answer.stdout)
        return answer.stderr

    def create(self, rds, identifier: str, **kwargs) -> dict:
        settings = dict(DBInstanceIdentifier=identifier, DBInstanceClass="db.t3.micro", Engine="postgres",
                        EngineVersion="16.4", MasterUsername="postgres", AllocatedStorage=20)
        if not kwargs.get("ManageMasterUserPassword"):
            settings["MasterUserPassword"] = "first-Password-1"
        settings.update(kwargs)
        return rds.create_db_instance(**settings)["DBInstance"]

    def describe(self, rds, identifier: str) -> dict:
        return rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]

    def error(self, raised: ClientError) -> tuple[str, str]:
        return raised.response["Error"]["Code"], raised.response["Error"]["Message"]


class ServersTest(DataPlaneTestCase):
    def test_each_instance_has_a_server_at_its_endpoint(self) -> None:
        x = self.describe(self.east, "x")
        self.assertEqual(x["Endpoint"], {"Address": "127.0.0.1", "Port": self.x["port"]})
        self.assertEqual(x["EngineVersion"], "16.4")  # what was asked for, whatever the server is
        servers = {(s["region"], s["dbInstanceIdentifier"]): s for s in self.emulator.databases()["servers"]}
        self.assertEqual(servers[("us-east-1", "x")]["port"], self.x["port"])
        self.assertEqual(servers[("us-west-2", "y")]["port"], self.y["port"])
        self.assertTrue(Path(servers[("us-east-1", "x")]["dataDirectory"], "PG_VERSION").is_file())
        self.assertTrue(Path(CA_BUNDLE).is_absolute())

    def test_tls_is_required_and_verified_against_the_emulator_s_ca(self) -> None:
        master = self.x["passwords"]["postgres"]
        self.assertEqual(self.query(self.x["port"], "postgres", master,
                                    "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", database="postgres"), "t")
        self.assertIn("no encryption", self.refused(self.x["port"], "postgres", master, sslmode="disable"))
        other = Path(SCRATCH, "other-ca.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                        "-keyout", str(other.with_suffix(".key")), "-out", str(other), "-days", "1", "-subj", "/CN=other"],
                       check=True, capture_output=True)
        self.assertIn("certificate verify failed", self.refused(self.x["port"], "postgres", master, root=str(other)))
        self.assertIn("password authentication failed", self.refused(self.x["port"], "postgres", "not-the-password"))

    def test_the_master_user_is_as_on_rds(self) -> None:
        roles = self.query(self.x["port"], "postgres", self.x["passwords"]["postgres"],
                           "SELECT rolsuper, rolcreaterole, rolcreatedb, pg_has_role('postgres', 'rds_superuser', 'member')"
                           " FROM pg_roles WHERE rolname = current_user")
        self.assertEqual(roles, "f|t|t|t")
        # In PostgreSQL 15, CREATEROLE lets it set other roles' passwords.
        self.query(self.x["port"], "postgres", self.x["passwords"]["postgres"],
                   "CREATE ROLE temporary_login LOGIN PASSWORD 'temporary-1'; ALTER ROLE temporary_login PASSWORD 'temporary-2';"
                   " DROP ROLE temporary_login")



class SeedingTest(DataPlaneTestCase):
    def test_the_seed_answers_working_passwords_for_every_login(self) -> None:
        for name, database in (("x", self.x), ("y", self.y)):
            self.assertEqual((database["address"], database["masterUsername"]), ("127.0.0.1", "postgres"))
            self.assertEqual(set(database["passwords"]), {"postgres", "app_user", "reporting"})
            for role, password in database["passwords"].items():
                with self.subTest(instance=name, role=role):
                    self.assertGreaterEqual(len(password), 24)
                    self.assertEqual(self.query(database["port"], role, password, "SELECT current_user"), role)
        self.assertNotEqual(self.x["passwords"]["postgres"], self.y["passwords"]["postgres"])

    def test_x_and_y_hold_their_own_data_and_grants(self) -> None:
        x_names = self.query(self.x["port"], "reporting", self.x["passwords"]["reporting"],
                             "SELECT string_agg(email, ' ' ORDER BY id) FROM customers")
        self.assertEqual(len(x_names.split()), 6)
        self.assertEqual(x_names.split()[0], "ada.lovelace@example.com")
        # Only the domains reserved for examples (RFC 2606): example.com, .net, .org and .example.
        domains = {email.split("@")[1] for email in x_names.split()}
        self.assertTrue(all(d in ("example.com", "example.net", "example.org") or d.endswith(".example") for d in domains), domains)
        self.assertGreaterEqual(len(domains), 4)
        # What a masking script clears: x's fake API tokens, readable by reporting, writable by app_user.
        self.assertEqual(self.query(self.x["port"], "reporting", self.x["passwords"]["reporting"],
                                    "SELECT string_agg(customer_id || ':' || token, ' ' ORDER BY id) FROM api_tokens"),
                         "1:fake-token-ada-0000-not-a-secret 2:fake-token-grace-0000-not-a-secret"
                         " 5:fake-token-margaret-0000-not-a-secret")
        self.assertEqual(self.query(self.x["port"], "app_user", self.x["passwords"]["app_user"],
                                    "SELECT has_table_privilege('api_tokens', 'UPDATE')"
                                    " AND has_table_privilege('api_tokens', 'DELETE')"), "t")
        self.assertEqual(self.query(self.y["port"], "app_user", self.y["passwords"]["app_user"],
                                    "SELECT count(*) FROM api_tokens"), "0")
        self.assertEqual(self.query(self.y["port"], "app_user", self.y["passwords"]["app_user"], "SELECT name FROM customers"),
                         "staging-only")
        self.assertIn("permission denied", self.refused(self.y["port"], "reporting", self.y["passwords"]["reporting"],
                                                        sql="INSERT INTO customers VALUES (9, 'n', 'n@example.com')",
                                                        database="app"))
        self.assertEqual(self.query(self.x["port"], "postgres", self.x["passwords"]["postgres"],
                                    "SELECT tableowner FROM pg_tables WHERE tablename = 'customers'"), "postgres")

    def test_x_marks_each_snapshot_and_what_came_after(self) -> None:
        automated = next(s["snapshotIdentifier"] for s in WORLD["x"]["snapshots"] if s["snapshotType"] == "automated")
        marks = self.query(self.x["port"], "app_user", self.x["passwords"]["app_user"], "SELECT mark FROM marks ORDER BY mark")
        self.assertEqual(sorted(marks.splitlines()), sorted([
            f"before {automated}", "before x-2026-11-21", "before x-2026-11-22", "before x-2026-11-23",
            "before x-in-progress", "after every snapshot",
        ]))

    def test_the_call_log_s_times_compare_with_the_servers_clock(self) -> None:
        # What a test of a refresh does: a script writes clock_timestamp() into the database, and
        # the call log's "at" of a later call (the rename) is later; both are UTC, to the microsecond.
        now = ("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
               "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
        before = self.query(self.x["port"], "app_user", self.x["passwords"]["app_user"], now)
        self.emulator.control("DELETE", "calls")
        self.east.describe_db_instances(DBInstanceIdentifier="x")
        [entry] = self.emulator.control("GET", "calls")["log"]
        after = self.query(self.x["port"], "app_user", self.x["passwords"]["app_user"], now)
        self.assertRegex(before, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
        self.assertLess(before, entry["at"])
        self.assertLess(entry["at"], after)

    def test_passwords_are_made_at_seed_time(self) -> None:
        declared = json.dumps(self.emulator.worlds())
        self.assertNotIn("MasterUserPassword", declared)
        for password in self.x["passwords"].values():
            self.assertNotIn(password, declared)


class SnapshotsTest(DataPlaneTestCase):
    def marks(self, port: int) -> list[str]:
        return self.query(port, "reporting", self.x["passwords"]["reporting"], "SELECT mark FROM marks ORDER BY mark").splitlines()

    def test_a_restore_carries_rows_and_roles_but_nothing_written_after_the_snapshot(self) -> None:
        restored = self.east.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="from-22",
                                                                  DBSnapshotIdentifier="x-2026-11-22")["DBInstance"]
        port = restored["Endpoint"]["Port"]
        self.assertNotEqual(port, self.x["port"])
        marks = self.marks(port)
        self.assertIn("before x-2026-11-22", marks)
        self.assertNotIn("before x-2026-11-23", marks)
        self.assertNotIn("after every snapshot", marks)
        for role, password in self.x["passwords"].items():
            with self.subTest(role=role):
                self.assertEqual(self.query(port, role, password, "SELECT count(*) FROM customers"), "6")
        self.assertNotIn("MasterUserSecret", restored)
        self.east.delete_db_instance(DBInstanceIdentifier="from-22", SkipFinalSnapshot=True)

    def test_a_copy_carries_the_data_and_shares_its_file_until_deleted(self) -> None:
        snapshots = Path(CA_BUNDLE).parents[1] / "snapshots"
        files = lambda: {p.stat().st_ino: p.stat().st_nlink for p in snapshots.iterdir()}
        before = files()
        arn = next(s["snapshotArn"] for s in WORLD["x"]["snapshots"] if s["snapshotIdentifier"] == "x-2026-11-21")
        self.west.copy_db_snapshot(SourceDBSnapshotIdentifier=arn, TargetDBSnapshotIdentifier="copy-21", SourceRegion="us-east-1")
        self.assertEqual(set(files()), set(before))  # the same file, one more link
        self.assertEqual(sum(files().values()), sum(before.values()) + 1)
        restored = self.west.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="from-copy",
                                                                  DBSnapshotIdentifier="copy-21")["DBInstance"]
        self.assertEqual(self.marks(restored["Endpoint"]["Port"])[-1], "before x-2026-11-21")
        self.west.delete_db_instance(DBInstanceIdentifier="from-copy", SkipFinalSnapshot=True)
        self.west.delete_db_snapshot(DBSnapshotIdentifier="copy-21")
        self.assertEqual(files(), before)

    def test_deleting_a_snapshot_removes_its_data(self) -> None:
        snapshots = Path(CA_BUNDLE).parents[1] / "snapshots"
        count = len(list(snapshots.iterdir()))
        self.east.create_db_snapshot(DBInstanceIdentifier="x", DBSnapshotIdentifier="x-extra")
        self.assertEqual(len(list(snapshots.iterdir())), count + 1)
        self.east.delete_db_snapshot(DBSnapshotIdentifier="x-extra")
        self.assertEqual(len(list(snapshots.iterdir())), count)

    def test_a_rename_keeps_the_server_its_data_and_its_endpoint(self) -> None:
        port = self.create(self.west, "before-rename", DBName="orders")["Endpoint"]["Port"]
        # DBName: a database the master user owns.
        self.assertEqual(self.query(port, "postgres", "first-Password-1",
                                    "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()",
                                    database="orders"), "postgres")
        self.query(port, "postgres", "first-Password-1", "CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)", database="postgres")
        renamed = self.west.modify_db_instance(DBInstanceIdentifier="before-rename", NewDBInstanceIdentifier="after-rename",
                                               ApplyImmediately=True)["DBInstance"]
        self.assertEqual(renamed["Endpoint"]["Port"], port)
        self.assertEqual(self.describe(self.west, "after-rename")["Endpoint"]["Port"], port)
        self.assertEqual(self.query(port, "postgres", "first-Password-1", "SELECT n FROM kept", database="postgres"), "7")
        names = {s["dbInstanceIdentifier"]: s["port"] for s in self.emulator.databases()["servers"] if s["region"] == "us-west-2"}
        self.assertEqual(names.get("after-rename"), port)
        self.assertNotIn("before-rename", names)
        self.west.delete_db_instance(DBInstanceIdentifier="after-rename", SkipFinalSnapshot=True)

    def test_a_delete_stops_the_server_after_its_final_snapshot(self) -> None:
        port = self.create(self.west, "deleted")["Endpoint"]["Port"]
        self.query(port, "postgres", "first-Password-1", "CREATE TABLE last (n int); INSERT INTO last VALUES (1)", database="postgres")
        data = next(s["dataDirectory"] for s in self.emulator.databases()["servers"] if s["dbInstanceIdentifier"] == "deleted")
        self.west.delete_db_instance(DBInstanceIdentifier="deleted", FinalDBSnapshotIdentifier="deleted-final")
        self.assertFalse(port_is_open(port))
        self.assertFalse(Path(data).exists())
        self.assertNotIn("deleted", [s["dbInstanceIdentifier"] for s in self.emulator.databases()["servers"]])
        restored = self.west.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="undeleted",
                                                                  DBSnapshotIdentifier="deleted-final")["DBInstance"]
        self.assertEqual(self.query(restored["Endpoint"]["Port"], "postgres", "first-Password-1", "SELECT n FROM last",
                                    database="postgres"), "1")
        self.west.delete_db_instance(DBInstanceIdentifier="undeleted", SkipFinalSnapshot=True)
        self.west.delete_db_snapshot(DBSnapshotIdentifier="deleted-final")


class PointInTimeRestoreTest(DataPlaneTestCase):
    """RestoreDBInstanceToPointInTime restores x's data as of the time asked: its base backup and
    archived WAL replayed up to RestoreTime (README.md, "Automated backups and point-in-time
    restore"). The rows are in a database of their own, which the other tests do not look at."""

    NOW = "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

    def setUp(self) -> None:
        super().setUp()
        self.master = self.x["passwords"]["postgres"]
        self.emulator.control("POST", "restore-window", {"lagSeconds": 0})
        self.addCleanup(self.emulator.control, "POST", "restore-window", {"lagSeconds": 2})
        psql(self.x["port"], "postgres", self.master, "DROP DATABASE IF EXISTS pitr")
        self.query(self.x["port"], "postgres", self.master, "CREATE DATABASE pitr", database="postgres")
        self.query(self.x["port"], "postgres", self.master, "CREATE TABLE rows (name text)", database="pitr")

    def write(self, name: str) -> str:
        """Commits the row `name` into x, and answers the server's time just after the commit."""
        self.query(self.x["port"], "postgres", self.master, f"INSERT INTO rows VALUES ('{name}')", database="pitr")
        return self.query(self.x["port"], "postgres", self.master, self.NOW, database="pitr")

    def rows(self, restored: dict) -> list[str]:
        return self.query(restored["Endpoint"]["Port"], "postgres", self.master, "SELECT name FROM rows ORDER BY name",
                          database="pitr").splitlines()

    def restore(self, rds, target: str, **kwargs) -> dict:
        restored = rds.restore_db_instance_to_point_in_time(TargetDBInstanceIdentifier=target, **kwargs)["DBInstance"]
        self.addCleanup(rds.delete_db_instance, DBInstanceIdentifier=target, SkipFinalSnapshot=True)
        return restored

    def test_a_restore_time_between_two_commits_keeps_the_first_only(self) -> None:
        between = self.write("before")
        self.write("after")
        started = time.monotonic()
        restored = self.restore(self.east, "x-at", SourceDBInstanceIdentifier="x", RestoreTime=between)
        self.cost = time.monotonic() - started
        self.assertEqual(self.rows(restored), ["before"])
        self.assertEqual(self.query(restored["Endpoint"]["Port"], "reporting", self.x["passwords"]["reporting"],
                                    "SELECT count(*) FROM customers"), "6")
        # The restored server is an instance of its own: it takes writes, and x does not see them.
        self.query(restored["Endpoint"]["Port"], "postgres", self.master, "INSERT INTO rows VALUES ('restored')", database="pitr")
        self.assertEqual(self.query(self.x["port"], "postgres", self.master, "SELECT count(*) FROM rows", database="pitr"), "2")

    def test_the_latest_restorable_time_of_a_replicated_backup_has_every_commit_before_it(self) -> None:
        x_arn = WORLD["x"]["dbInstanceArn"]
        arn = self.west.start_db_instance_automated_backups_replication(
            SourceDBInstanceArn=x_arn, SourceRegion="us-east-1")["DBInstanceAutomatedBackup"]["DBInstanceAutomatedBackupsArn"]
        self.addCleanup(self.west.stop_db_instance_automated_backups_replication, SourceDBInstanceArn=x_arn)
        self.write("replicated")
        time.sleep(0.01)
        restored = self.restore(self.west, "y-latest", SourceDBInstanceAutomatedBackupsArn=arn, UseLatestRestorableTime=True)
        self.assertEqual(restored["DBInstanceArn"], "arn:aws:rds:us-west-2:123456789012:db:y-latest")
        self.assertEqual(self.rows(restored), ["replicated"])


class MasterPasswordTest(DataPlaneTestCase):
    def test_a_new_master_password_is_applied_asynchronously(self) -> None:
        port = self.create(self.west, "reset-me")["Endpoint"]["Port"]
        answer = self.west.modify_db_instance(DBInstanceIdentifier="reset-me", MasterUserPassword="second-Password-2",
                                              ApplyImmediately=False)["DBInstance"]
        # Neither password is in the call log, nor on the command line of any process.
        log = json.dumps(self.emulator.control("GET", "calls"))
        commands = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
        for password in ("first-Password-1", "second-Password-2"):
            self.assertNotIn(password, log)
            self.assertNotIn(password, commands)
        # "applied asynchronously ... whatever ApplyImmediately says" [ModifyDBInstance].
        self.assertEqual((answer["DBInstanceStatus"], answer["PendingModifiedValues"]),
                         ("resetting-master-credentials", {"MasterUserPassword": "****"}))
        seen = self.describe(self.west, "reset-me")  # held for one read by default
        self.assertEqual((seen["DBInstanceStatus"], seen["PendingModifiedValues"]),
                         ("resetting-master-credentials", {"MasterUserPassword": "****"}))
        seen = self.describe(self.west, "reset-me")
        self.assertEqual(seen["DBInstanceStatus"], "available")
        self.assertNotIn("MasterUserPassword", seen.get("PendingModifiedValues", {}))
        self.assertEqual(self.query(port, "postgres", "second-Password-2", "SELECT 1", database="postgres"), "1")
        self.assertIn("password authentication failed", self.refused(port, "postgres", "first-Password-1"))
        self.west.delete_db_instance(DBInstanceIdentifier="reset-me", SkipFinalSnapshot=True)

    def test_a_reset_held_for_seconds_is_applied_then_without_a_describe(self) -> None:
        port = self.create(self.west, "reset-later")["Endpoint"]["Port"]
        self.emulator.control("POST", "transitions", {"instance.resetting-master-credentials": {"seconds": 0.5}})
        try:
            self.west.modify_db_instance(DBInstanceIdentifier="reset-later", MasterUserPassword="later-Password-3")
            self.assertEqual(self.query(port, "postgres", "first-Password-1", "SELECT 1", database="postgres"), "1")
            self.assertTrue(wait_until(lambda: psql(port, "postgres", "later-Password-3").returncode == 0, 10))
            self.assertEqual(self.describe(self.west, "reset-later")["DBInstanceStatus"], "available")
        finally:
            self.emulator.control("POST", "transitions", {"instance.resetting-master-credentials": None})
        self.west.delete_db_instance(DBInstanceIdentifier="reset-later", SkipFinalSnapshot=True)


class CredentialRulesTest(DataPlaneTestCase):
    """AWS's rules on master passwords and RDS-managed secrets (aws_rules.py; README.md), on one
    instance `rules`."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.rds = EMULATOR.rds("us-west-2", ONE_ATTEMPT)
        cls.rds.create_db_instance(DBInstanceIdentifier="rules", DBInstanceClass="db.t3.micro", Engine="postgres",
                                   MasterUsername="postgres", MasterUserPassword="first-Password-1", AllocatedStorage=20)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.rds.delete_db_instance(DBInstanceIdentifier="rules", SkipFinalSnapshot=True)

    def settle(self) -> None:
        """Through the reset that a password change holds the instance in (one read)."""
        self.describe(self.west, "rules"), self.describe(self.west, "rules")

    def test_master_passwords_follow_rds_for_postgresql_s_rule(self) -> None:
        for password, message in [
            ("short-1", "is shorter than 8 characters"),
            ("x" * 129, "is longer than 128 characters"),
            ("has/slash-1", "Only printable ASCII characters besides '/', '@', '\"', ' ' may be used."),
            ('has"quote-1', "Only printable ASCII"),
            ("has@at-sign-1", "Only printable ASCII"),
            ("has space-1", "Only printable ASCII"),
            ("has\u00e9accent-1", "Only printable ASCII"),
        ]:
            with self.subTest(password=password):
                with self.assertRaises(ClientError) as raised:
                    self.west.modify_db_instance(DBInstanceIdentifier="rules", MasterUserPassword=password)
                code, text = self.error(raised.exception)
                self.assertEqual(code, "InvalidParameterValue")
                self.assertIn("The parameter MasterUserPassword is not a valid password", text)
                self.assertIn(message, text)
        with self.assertRaises(ClientError) as raised:
            self.create(self.west, "rules-2", MasterUserPassword="short")
        self.assertEqual(self.error(raised.exception)[0], "InvalidParameterValue")
        # 8 and 128 characters, and every other printable character, are accepted.
        self.west.modify_db_instance(DBInstanceIdentifier="rules", MasterUserPassword="12345678")
        self.settle()
        self.west.modify_db_instance(DBInstanceIdentifier="rules", MasterUserPassword="!#$%&'()*+,-.:;<=>?[\\]^_`{|}~" + "a" * 99)
        self.settle()

    def test_a_password_change_needs_an_available_instance(self) -> None:
        self.west.modify_db_instance(DBInstanceIdentifier="rules", MasterUserPassword="busy-Password-1")
        with self.assertRaises(ClientError) as raised:
            self.west.modify_db_instance(DBInstanceIdentifier="rules", MasterUserPassword="busy-Password-2")
        self.assertEqual(self.error(raised.exception), ("InvalidDBInstanceState", "Database instance is not in available state."))
        self.settle()

    def test_manage_master_user_password_combinations_are_refused(self) -> None:
        combination = "InvalidParameterCombination"
        with self.assertRaises(ClientError) as raised:
            self.create(self.west, "both", ManageMasterUserPassword=True, MasterUserPassword="first-Password-1")
        self.assertEqual(self.error(raised.exception)[0], combination)
        with self.assertRaises(ClientError) as raised:
            self.create(self.west, "key-only", MasterUserSecretKmsKeyId="alias/aws/secretsmanager")
        self.assertEqual(self.error(raised.exception),
                         (combination, "A ManageMasterUserPassword value is required when MasterUserSecretKmsKeyId is specified."))
        with self.assertRaises(ClientError) as raised:
            self.west.create_db_instance(DBInstanceIdentifier="no-password", DBInstanceClass="db.t3.micro", Engine="postgres",
                                         MasterUsername="postgres", AllocatedStorage=20)
        self.assertEqual(self.error(raised.exception)[0], "InvalidParameterValue")
        for params, message in [
            ({"ManageMasterUserPassword": True, "MasterUserPassword": "first-Password-2"}, "You can't specify MasterUserPassword"),
            ({"MasterUserSecretKmsKeyId": "alias/aws/secretsmanager"}, "A ManageMasterUserPassword value is required"),
            ({"ManageMasterUserPassword": False}, "MasterUserPassword must be provided when ManageMasterUserPassword is set to false."),
        ]:
            with self.subTest(params=params):
                with self.assertRaises(ClientError) as raised:
                    self.west.modify_db_instance(DBInstanceIdentifier="rules", ApplyImmediately=True, **params)
                self.assertEqual(self.error(raised.exception)[0], combination)
                self.assertIn(message, self.error(raised.exception)[1])
        with self.assertRaises(ClientError) as raised:
            self.west.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="restored-managed",
                                                           DBSnapshotIdentifier=WORLD["y"]["newestAvailableSnapshot"],
                                                           ManageMasterUserPassword=True)
        self.assertEqual(self.error(raised.exception)[0], combination)
        self.assertIn("RDS for Oracle only", self.error(raised.exception)[1])


class ManagedSecretTest(DataPlaneTestCase):
    def secret_of(self, instance: dict) -> dict:
        secrets = self.emulator.secretsmanager("us-west-2", ONE_ATTEMPT)
        return json.loads(secrets.get_secret_value(SecretId=instance["MasterUserSecret"]["SecretArn"])["SecretString"])

    def test_a_managed_secret_holds_the_master_user_and_a_password_that_logs_in(self) -> None:
        kms = boto3.client("kms", region_name="us-west-2", endpoint_url=self.emulator.url,
                           aws_access_key_id="test", aws_secret_access_key="test")
        key = kms.create_key()["KeyMetadata"]
        created = self.create(self.west, "managed", ManageMasterUserPassword=True, MasterUserSecretKmsKeyId=key["KeyId"])
        instance = self.describe(self.west, "managed")
        secret = instance["MasterUserSecret"]
        self.assertEqual((secret["SecretStatus"], secret["KmsKeyId"]), ("active", key["Arn"]))
        self.assertRegex(secret["SecretArn"], r"^arn:aws:secretsmanager:us-west-2:123456789012:secret:rds!db-[0-9a-f-]{36}-")
        tags = self.emulator.secretsmanager("us-west-2").describe_secret(SecretId=secret["SecretArn"])["Tags"]
        self.assertIn({"Key": "aws:rds:primaryDBInstanceArn", "Value": instance["DBInstanceArn"]}, tags)
        credentials = self.secret_of(instance)
        self.assertEqual(credentials["username"], "postgres")
        port = created["Endpoint"]["Port"]
        self.assertEqual(self.query(port, "postgres", credentials["password"], "SELECT 1", database="postgres"), "1")
        # A rename keeps it; a delete deletes it.
        self.west.modify_db_instance(DBInstanceIdentifier="managed", NewDBInstanceIdentifier="managed-renamed", ApplyImmediately=True)
        self.assertEqual(self.describe(self.west, "managed-renamed")["MasterUserSecret"]["SecretArn"], secret["SecretArn"])
        self.west.delete_db_instance(DBInstanceIdentifier="managed-renamed", SkipFinalSnapshot=True)
        with self.assertRaises(ClientError) as raised:
            self.emulator.secretsmanager("us-west-2", ONE_ATTEMPT).get_secret_value(SecretId=secret["SecretArn"])
        self.assertEqual(self.error(raised.exception)[0], "ResourceNotFoundException")

    def test_turning_it_on_sets_the_secret_s_password_asynchronously(self) -> None:
        port = self.create(self.west, "turned-on")["Endpoint"]["Port"]
        answer = self.west.modify_db_instance(DBInstanceIdentifier="turned-on", ManageMasterUserPassword=True,
                                              ApplyImmediately=True)["DBInstance"]
        self.assertEqual((answer["DBInstanceStatus"], answer["MasterUserSecret"]["SecretStatus"]),
                         ("resetting-master-credentials", "creating"))
        self.describe(self.west, "turned-on")
        instance = self.describe(self.west, "turned-on")
        self.assertEqual((instance["DBInstanceStatus"], instance["MasterUserSecret"]["SecretStatus"]), ("available", "active"))
        password = self.secret_of(instance)["password"]
        self.assertEqual(self.query(port, "postgres", password, "SELECT 1", database="postgres"), "1")
        self.assertIn("password authentication failed", self.refused(port, "postgres", "first-Password-1"))
        # A snapshot of it restores with the secret's password and no secret of its own.
        self.west.create_db_snapshot(DBInstanceIdentifier="turned-on", DBSnapshotIdentifier="turned-on-snap")
        restored = self.west.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="turned-on-copy",
                                                                  DBSnapshotIdentifier="turned-on-snap")["DBInstance"]
        self.assertNotIn("MasterUserSecret", self.describe(self.west, "turned-on-copy"))
        self.assertEqual(self.query(restored["Endpoint"]["Port"], "postgres", password, "SELECT 1", database="postgres"), "1")
        for name in ("turned-on", "turned-on-copy"):
            self.west.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True)
        self.west.delete_db_snapshot(DBSnapshotIdentifier="turned-on-snap")


class SecretsManagerTest(DataPlaneTestCase):
    def test_calls_are_logged_without_the_secret_and_can_be_faulted(self) -> None:
        secrets = self.emulator.secretsmanager("us-west-2", ONE_ATTEMPT)
        self.emulator.control("DELETE", "calls")
        arn = secrets.create_secret(Name="y-master", SecretString='{"password": "never-logged-1"}')["ARN"]
        secrets.get_secret_value(SecretId=arn)
        calls = self.emulator.control("GET", "calls")
        self.assertEqual(calls["calls"], {"CreateSecret": 1, "GetSecretValue": 1})
        first = calls["log"][0]
        self.assertEqual((first["service"], first["region"], first["params"]["Name"]), ("secretsmanager", "us-west-2", "y-master"))
        self.assertNotIn("SecretString", first["params"])
        self.assertNotIn("never-logged-1", json.dumps(calls))
        self.emulator.control("POST", "faults", [
            {"action": "GetSecretValue", "code": "AccessDeniedException", "message": "not allowed"},
            {"action": "DescribeSecret", "code": "ResourceNotFoundException", "message": "no such secret"},
        ])
        with self.assertRaises(ClientError) as raised:
            secrets.get_secret_value(SecretId=arn)
        self.assertEqual(self.error(raised.exception), ("AccessDeniedException", "not allowed"))
        with self.assertRaises(ClientError) as raised:
            secrets.describe_secret(SecretId=arn)
        self.assertEqual(self.error(raised.exception)[0], "ResourceNotFoundException")
        self.assertEqual(json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])["password"], "never-logged-1")
        secrets.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)


class LifecycleTest(unittest.TestCase):
    """Every server stops, and the database directory goes, with the emulator: however it ends."""

    def start(self, database_dir: Path | None) -> tuple[EmulatorProcess, int, Path]:
        emulator = EmulatorProcess(databases=True, database_dir=database_dir)
        self.addCleanup(emulator.stop)
        rds = emulator.rds("us-east-1", ONE_ATTEMPT)
        port = rds.create_db_instance(DBInstanceIdentifier="short-lived", DBInstanceClass="db.t3.micro", Engine="postgres",
                                      MasterUsername="postgres", MasterUserPassword="first-Password-1",
                                      AllocatedStorage=20)["DBInstance"]["Endpoint"]["Port"]
        self.assertTrue(port_is_open(port))
        return emulator, port, Path(emulator.databases()["caBundle"]).parents[1]

    def test_reset_and_sigterm_stop_every_server(self) -> None:
        emulator, port, directory = self.start(scratch_folder("sigterm"))
        emulator.secretsmanager("us-east-1").create_secret(Name="forgotten", SecretString="{}")
        emulator.control("POST", "reset", {})
        self.assertFalse(port_is_open(port))
        self.assertEqual(emulator.databases()["servers"], [])
        self.assertEqual(emulator.secretsmanager("us-east-1").list_secrets()["SecretList"], [])
        port = emulator.rds("us-east-1").create_db_instance(
            DBInstanceIdentifier="again", DBInstanceClass="db.t3.micro", Engine="postgres", MasterUsername="postgres",
            MasterUserPassword="first-Password-1", AllocatedStorage=20)["DBInstance"]["Endpoint"]["Port"]
        self.assertTrue(port_is_open(port))
        emulator.process.send_signal(signal.SIGTERM)
        self.assertEqual(emulator.process.wait(timeout=30), 0)
        self.assertFalse(port_is_open(port))
        self.assertFalse(directory.exists())

    def test_sigkill_of_the_emulator_stops_every_server(self) -> None:
        emulator, port, directory = self.start(None)
        # The default: a new folder under .local/emulator-databases/ of the repository.
        self.assertEqual(directory.parent, data_plane.DEFAULT_PARENT)
        emulator.process.kill()  # SIGKILL: none of the emulator's own clean-up runs
        emulator.process.wait(timeout=10)
        self.assertTrue(wait_until(lambda: not port_is_open(port) and not directory.exists()),
                        f"port {port} open: {port_is_open(port)}; {directory} exists: {directory.exists()}")


if __name__ == "__main__":
    unittest.main()
