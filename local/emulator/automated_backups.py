"""Automated backups, their cross-Region replication, and point-in-time restore's rules.

Stock moto (5.2.x) has no automated backups worth the name (DescribeDBInstanceAutomatedBackups
groups automated snapshots, with no window and no ARN), answers
StartDBInstanceAutomatedBackupsReplication with HTTP 500, and restores to a point in time
ignoring RestoreTime. This module models them as RDS documents them (README.md, "Automated
backups and point-in-time restore"):

- every instance with BackupRetentionPeriod > 0 has an automated backup in its own Region
  (Status `active`), with its DbiResourceId, an ARN of its own
  (`arn:aws:rds:<region>:<account>:auto-backup:ab-<26 characters>`) and a RestoreWindow that
  moves with time: EarliestTime when its backups began (the instance's creation, or restore),
  LatestTime now minus the lag (`POST /_emulator/restore-window {"lagSeconds": S}`, default
  LAG_DEFAULT); DescribeDBInstances reports the same LatestRestorableTime;
- StartDBInstanceAutomatedBackupsReplication (called in the destination Region) makes a
  replicated automated backup there: the source's DbiResourceId, an ARN of its own, Status
  `replicating` for the transition `automated-backup.replicating` then `active`, and a window
  from the replication's start; the source's backup lists it under
  DBInstanceAutomatedBackupsReplications; StopDBInstanceAutomatedBackupsReplication removes it;
- RestoreDBInstanceToPointInTime names its source by exactly one of SourceDBInstanceIdentifier,
  SourceDbiResourceId and SourceDBInstanceAutomatedBackupsArn, and its time by exactly one of
  RestoreTime (inside the window) and UseLatestRestorableTime; `resolve_restore` answers the
  source instance and the time.

References, abbreviated as in aws_rules.py:
  [API_DescribeDBInstanceAutomatedBackups], [API_StartDBInstanceAutomatedBackupsReplication],
  [API_StopDBInstanceAutomatedBackupsReplication], [API_RestoreDBInstanceToPointInTime],
  [API_DBInstanceAutomatedBackup], [API_RestoreWindow]
                  https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_<Name>.html
                  (botocore's RDS service model carries the same text, and the error codes)
  [USER_PIT]      https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIT.html
                  ("typically within the last five minutes" of the current time)
  [USER_ReplicateBackups]
                  https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReplicateBackups.html
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from moto.core.responses import ActionResult
from moto.rds import responses as rds_responses
from moto.rds.exceptions import RDSClientError
from moto.rds.models import DBInstance, RDSBackend, rds_backends

import aws_rules

# LatestTime is now minus this many seconds. AWS: "typically within the last five minutes"
# [USER_PIT]; locally a few seconds, so that a test sees data seconds old.
LAG_DEFAULT = 2.0
SETTINGS: dict[str, float] = {"lagSeconds": LAG_DEFAULT}
REPLICATING = "automated-backup.replicating"


def now() -> datetime:
    return datetime.now(timezone.utc)


def _new_backup_id() -> str:
    return "ab-" + "".join(secrets.choice(aws_rules.BASE32) for _ in range(26))


class Replica:
    """A replicated automated backup: in `region`, of `source` (an instance of another Region).
    `status` is `replicating` while the transition holds it, then `active`."""

    def __init__(self, region: str, account: str, source: DBInstance, retention: int, kms_key_id: str | None) -> None:
        self.region = region
        self.arn = f"arn:aws:rds:{region}:{account}:auto-backup:{_new_backup_id()}"
        self.source = source
        self.source_region = source.region
        self.retention = retention
        self.kms_key_id = kms_key_id
        self.started = now()
        self.status = "active"


# The replicated backups, by destination Region.
REPLICAS: dict[str, list[Replica]] = {}


def clear() -> None:
    REPLICAS.clear()
    SETTINGS["lagSeconds"] = LAG_DEFAULT


def backups_began(instance: DBInstance) -> datetime:
    """When the instance's automated backups began: its creation (or restore), as recorded
    once its server (with --databases) and first snapshot exist."""
    began = getattr(instance, "emulator_backups_began", None)
    if began is None:
        began = instance.created if instance.created.tzinfo else instance.created.replace(tzinfo=timezone.utc)
    return began


def latest_time(instance: DBInstance) -> datetime:
    """Now minus the lag, never before the backups began. [USER_PIT]"""
    return max(backups_began(instance), now() - timedelta(seconds=SETTINGS["lagSeconds"]))


def has_backups(instance: DBInstance) -> bool:
    return (instance.backup_retention_period or 0) > 0 and not getattr(instance, "emulator_deleting", False)


def own_arn(instance: DBInstance) -> str:
    arn = getattr(instance, "emulator_backup_arn", None)
    if arn is None:
        arn = f"arn:aws:rds:{instance.region}:{instance.account_id}:auto-backup:{_new_backup_id()}"
        instance.emulator_backup_arn = arn
    return arn


def _window(earliest: datetime, latest: datetime) -> dict[str, datetime]:
    return {"EarliestTime": earliest, "LatestTime": max(earliest, latest)}


def _common(instance: DBInstance) -> dict[str, Any]:
    return {
        "DBInstanceArn": instance.db_instance_arn,
        "DbiResourceId": instance.dbi_resource_id,
        "DBInstanceIdentifier": instance.db_instance_identifier,
        "AllocatedStorage": instance.allocated_storage,
        "Port": instance.port,
        "AvailabilityZone": instance.availability_zone,
        "InstanceCreateTime": instance.instance_create_time,
        "MasterUsername": instance.master_username,
        "Engine": instance.engine,
        "EngineVersion": instance.engine_version,
        "LicenseModel": instance.license_model,
        "StorageType": instance.storage_type,
        "IAMDatabaseAuthenticationEnabled": bool(instance.enable_iam_database_authentication),
        "BackupTarget": "region",
    }


def describe_own(instance: DBInstance) -> dict[str, Any]:
    """The instance's automated backup, in its own Region. [API_DBInstanceAutomatedBackup]"""
    replicas = [r for rs in REPLICAS.values() for r in rs if r.source is instance]
    return {
        **_common(instance),
        "Region": instance.region,
        "Status": "active",
        "RestoreWindow": _window(backups_began(instance), latest_time(instance)),
        "Encrypted": bool(instance.storage_encrypted),
        "KmsKeyId": instance.kms_key_id if instance.storage_encrypted else None,
        "BackupRetentionPeriod": instance.backup_retention_period,
        "DBInstanceAutomatedBackupsArn": own_arn(instance),
        "DBInstanceAutomatedBackupsReplications": [{"DBInstanceAutomatedBackupsArn": r.arn} for r in replicas],
    }


def describe_replica(replica: Replica) -> dict[str, Any]:
    """A replicated backup, in its destination Region: the source's identity (its DbiResourceId,
    ARN, identifier and Region), its own ARN, retention and key."""
    instance = replica.source
    earliest = max(replica.started, backups_began(instance))
    return {
        **_common(instance),
        "Region": replica.source_region,
        "Status": replica.status,
        "RestoreWindow": _window(earliest, latest_time(instance)),
        "Encrypted": bool(instance.storage_encrypted),
        "KmsKeyId": replica.kms_key_id if instance.storage_encrypted else None,
        "BackupRetentionPeriod": replica.retention,
        "DBInstanceAutomatedBackupsArn": replica.arn,
    }


def _instances(backend: RDSBackend) -> list[DBInstance]:
    return [i for i in backend.databases.values() if has_backups(i)]


def _find_instance_by_arn(arn: str) -> DBInstance | None:
    """The instance an ARN names, in the ARN's Region (`arn:aws:rds:<region>:<account>:db:<id>`)."""
    parts = arn.split(":")
    if len(parts) != 7 or parts[:3] != ["arn", "aws", "rds"] or parts[5] != "db":
        return None
    region, identifier = parts[3], parts[6].lower()
    if region not in rds_backends[parts[4]].regions:
        return None
    instance = rds_backends[parts[4]][region].databases.get(identifier)
    return None if instance is None or getattr(instance, "emulator_deleting", False) else instance


def _records(backend: RDSBackend) -> list[tuple[dict[str, Any], Any]]:
    """Every automated backup of the backend's Region, as answered, with the resource a
    transition holds (a replica) or None."""
    records: list[tuple[dict[str, Any], Any]] = [(describe_own(i), None) for i in _instances(backend)]
    for replica in REPLICAS.get(backend.region_name, []):
        records.append((describe_replica(replica), replica))
    return records


def _matches(record: dict[str, Any], name: str, values: list[str]) -> bool:
    if name == "status":
        return record["Status"] in values
    if name == "db-instance-id":
        return record["DBInstanceIdentifier"] in [v.lower() for v in values] or record["DBInstanceArn"] in values
    if name == "dbi-resource-id":
        return record["DbiResourceId"].lower() in [v.lower() for v in values]
    raise RDSClientError("InvalidParameterValue", f"Unrecognized filter name: {name}")


def describe(backend: RDSBackend, params: dict[str, Any]) -> list[tuple[dict[str, Any], Any]]:
    """DescribeDBInstanceAutomatedBackups. [API_DescribeDBInstanceAutomatedBackups]"""
    records = _records(backend)
    identifier = params.get("DBInstanceIdentifier")
    if identifier:
        records = [r for r in records if r[0]["DBInstanceIdentifier"] == identifier.lower()]
    resource_id = params.get("DbiResourceId")
    if resource_id:
        records = [r for r in records if r[0]["DbiResourceId"].lower() == resource_id.lower()]
    arn = params.get("DBInstanceAutomatedBackupsArn")
    if arn:
        records = [r for r in records if r[0]["DBInstanceAutomatedBackupsArn"] == arn]
    for spec in params.get("Filters") or []:
        name, values = spec.get("Name"), spec.get("Values") or []
        records = [r for r in records if _matches(r[0], name, values)]
    if not records and (identifier or resource_id or arn):
        # botocore rds DescribeDBInstanceAutomatedBackups errors: DBInstanceAutomatedBackupNotFound
        # (404) "No automated backup for this DB instance was found." (the fault's documentation)
        raise RDSClientError("DBInstanceAutomatedBackupNotFound", "No automated backup for this DB instance was found.")
    return records


def start_replication(backend: RDSBackend, params: dict[str, Any]) -> Replica:
    """StartDBInstanceAutomatedBackupsReplication, in the destination Region.
    [API_StartDBInstanceAutomatedBackupsReplication; USER_ReplicateBackups]"""
    source_arn = params.get("SourceDBInstanceArn")
    if not source_arn:
        raise RDSClientError("InvalidParameterValue", "The parameter SourceDBInstanceArn must be provided and must not be blank.")
    source = _find_instance_by_arn(source_arn)
    if source is None:
        # botocore rds: DBInstanceNotFound; moto's wording for a missing instance.
        raise RDSClientError("DBInstanceNotFound", f"DBInstance {source_arn} not found.")
    region = backend.region_name
    if source.region == region:
        # "replicate ... to a different AWS Region" [API_StartDBInstanceAutomatedBackupsReplication];
        # AWS's code and message not found.
        raise RDSClientError("InvalidParameterValue",
                             f"The source DB instance {source_arn} is in the destination Region {region}: "
                             "automated backups can only be replicated to a different Region.")
    if not has_backups(source):
        # Replication copies the automated backups; an instance with BackupRetentionPeriod 0 has
        # none (botocore rds: InvalidDBInstanceState; AWS's message not found).
        raise RDSClientError("InvalidDBInstanceState",
                             f"Automated backups are not enabled for the DB instance {source.db_instance_identifier}.")
    if getattr(source, "is_cluster_member", False) or getattr(source, "db_cluster_identifier", None):
        # "Automated backup replication isn't supported for Multi-AZ DB clusters" [USER_ReplicateBackups].
        raise RDSClientError("InvalidDBInstanceState",
                             f"The DB instance {source.db_instance_identifier} is part of a DB cluster: automated "
                             "backup replication isn't supported for Multi-AZ DB clusters.")
    if source.status != "available":
        raise RDSClientError("InvalidDBInstanceState", "Database instance is not in available state.")
    if any(r.source is source for r in REPLICAS.get(region, [])):
        # One replication of an instance per destination Region (botocore rds lists
        # InvalidDBInstanceAutomatedBackupState; AWS's message not found).
        raise RDSClientError("InvalidDBInstanceAutomatedBackupState",
                             f"Automated backups of the DB instance {source.db_instance_identifier} are already "
                             f"being replicated to {region}.")
    retention = params.get("BackupRetentionPeriod")
    retention = 7 if retention in (None, "") else int(retention)
    if not 1 <= retention <= 35:
        raise RDSClientError("InvalidParameterValue",
                             f"Invalid backup retention period: {retention}. It must be between 1 and 35 days.")
    kms_key_id = params.get("KmsKeyId") or None
    if source.storage_encrypted and kms_key_id is None:
        # KmsKeyId: the destination Region's key [API_StartDBInstanceAutomatedBackupsReplication];
        # an encrypted source needs one, as an encrypted cross-Region snapshot copy does (AWS's
        # message for the copy, aws_rules.before_copy_snapshot; for this call not found).
        raise RDSClientError("InvalidParameterValue",
                             "Must specify a KMS key of the destination Region to replicate the automated backups "
                             "of an encrypted DB instance.")
    if kms_key_id is not None:
        aws_rules.check_kms_key(backend, kms_key_id)  # KMSKeyNotAccessibleFault
    replica = Replica(region, source.account_id, source, retention, kms_key_id)
    REPLICAS.setdefault(region, []).append(replica)
    return replica


def stop_replication(backend: RDSBackend, params: dict[str, Any]) -> Replica:
    """StopDBInstanceAutomatedBackupsReplication, in the destination Region.
    [API_StopDBInstanceAutomatedBackupsReplication]. (AWS keeps the replicated backup as
    `retained` until its retention ends; here it is removed.)"""
    source_arn = params.get("SourceDBInstanceArn") or ""
    source = _find_instance_by_arn(source_arn)
    if source is None:
        raise RDSClientError("DBInstanceNotFound", f"DBInstance {source_arn} not found.")
    replicas = REPLICAS.get(backend.region_name, [])
    replica = next((r for r in replicas if r.source is source), None)
    if replica is None:
        # botocore rds: InvalidDBInstanceState; AWS's message not found.
        raise RDSClientError("InvalidDBInstanceState",
                             f"Automated backups of the DB instance {source.db_instance_identifier} are not being "
                             f"replicated to {backend.region_name}.")
    replicas.remove(replica)
    return replica


def forget_source(instance: DBInstance) -> None:
    """A deleted instance's replicated backups go with it (AWS retains them: not modelled)."""
    for region, replicas in REPLICAS.items():
        REPLICAS[region] = [r for r in replicas if r.source is not instance]


def _parse_restore_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise RDSClientError("InvalidParameterValue", f"Invalid RestoreTime: {value}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _format(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def resolve_restore(backend: RDSBackend, params: dict[str, Any]) -> tuple[DBInstance, datetime]:
    """RestoreDBInstanceToPointInTime: the instance whose backups are restored, and the time.
    [API_RestoreDBInstanceToPointInTime]"""
    named = [k for k in ("SourceDBInstanceIdentifier", "SourceDbiResourceId", "SourceDBInstanceAutomatedBackupsArn")
             if params.get(k)]
    if len(named) != 1:
        # The three name the source; AWS's message not found.
        raise RDSClientError("InvalidParameterCombination",
                             "Exactly one of SourceDBInstanceIdentifier, SourceDbiResourceId and "
                             "SourceDBInstanceAutomatedBackupsArn must be specified.")
    which = named[0]
    window: tuple[datetime, datetime]
    if which == "SourceDBInstanceAutomatedBackupsArn":
        arn = params[which]
        replica = next((r for r in REPLICAS.get(backend.region_name, []) if r.arn == arn), None)
        own = next((i for i in _instances(backend) if own_arn(i) == arn), None)
        if replica is not None:
            source = replica.source
            if replica.status != "active":
                raise RDSClientError("InvalidDBInstanceAutomatedBackupState",
                                     f"The automated backup {arn} is {replica.status}: it can't be restored yet.")
            record = describe_replica(replica)
        elif own is not None:
            source, record = own, describe_own(own)
        else:
            # botocore rds: DBInstanceAutomatedBackupNotFound (404), its documentation's words.
            raise RDSClientError("DBInstanceAutomatedBackupNotFound", "No automated backup for this DB instance was found.")
    else:
        if which == "SourceDBInstanceIdentifier":
            source = backend.databases.get(params[which].lower())
        else:
            source = next((i for i in backend.databases.values() if i.dbi_resource_id.lower() == params[which].lower()), None)
        if source is None or getattr(source, "emulator_deleting", False):
            raise RDSClientError("DBInstanceNotFound", f"DBInstance {params[which]} not found.")
        if not has_backups(source):
            # botocore rds PointInTimeRestoreNotEnabledFault: "SourceDBInstanceIdentifier refers
            # to a DB instance with BackupRetentionPeriod equal to 0."
            raise RDSClientError("PointInTimeRestoreNotEnabled",
                                 f"Point-in-time restore is not enabled for the DB instance {source.db_instance_identifier}: "
                                 "its BackupRetentionPeriod is 0.")
        record = describe_own(source)
    window = (record["RestoreWindow"]["EarliestTime"], record["RestoreWindow"]["LatestTime"])
    latest = aws_rules.flag(params.get("UseLatestRestorableTime"))
    restore_time = params.get("RestoreTime")
    if latest and restore_time:
        # RestoreTime "Can't be specified if the UseLatestRestorableTime parameter is enabled"
        # [API_RestoreDBInstanceToPointInTime]; the words moto gives clusters.
        raise RDSClientError("InvalidParameterCombination", "Cannot specify both RestoreTime and UseLatestRestorableTime.")
    if not latest and not restore_time:
        # "By default, the DB instance isn't restored from the latest backup time" and RestoreTime
        # has no default [API_RestoreDBInstanceToPointInTime]: one of them is needed (AWS's message
        # not found).
        raise RDSClientError("InvalidParameterCombination", "Either RestoreTime or UseLatestRestorableTime must be specified.")
    if latest:
        return source, window[1]
    moment = _parse_restore_time(restore_time if isinstance(restore_time, str) else restore_time.isoformat())
    if not window[0] <= moment <= window[1]:
        # RestoreTime "Must be before the latest restorable time" [API_RestoreDBInstanceToPointInTime]
        # and within the RestoreWindow [API_RestoreWindow]; botocore rds lists InvalidRestoreFault
        # among the errors (AWS's message not found).
        raise RDSClientError("InvalidRestoreFault",
                             f"The restore time {_format(moment)} is outside the restorable window of the source: "
                             f"{_format(window[0])} to {_format(window[1])}.")
    return source, moment


def install(read_hooks: tuple[Callable[[], None], Callable[[list[Any]], None]],
            hold: Callable[[Any, RDSBackend], None]) -> None:
    """Serves the three actions (moto: none, or a stub) and reports LatestRestorableTime.
    `read_hooks` end the transitions that are over and count a client's read; `hold` puts a new
    replica through the transition automated-backup.replicating."""
    finish_due, count_read = read_hooks
    response = rds_responses.RDSResponse

    def describe_db_instance_automated_backups(self: Any) -> ActionResult:
        finish_due()
        records = describe(self.backend, self.params)
        count_read([held for _, held in records if held is not None])
        # Statuses as they are after this read.
        return ActionResult({"DBInstanceAutomatedBackups": [_refreshed(record, held) for record, held in records]})

    def start_db_instance_automated_backups_replication(self: Any) -> ActionResult:
        replica = start_replication(self.backend, self.params)
        hold(replica, self.backend)
        return ActionResult({"DBInstanceAutomatedBackup": describe_replica(replica)})

    def stop_db_instance_automated_backups_replication(self: Any) -> ActionResult:
        replica = stop_replication(self.backend, self.params)
        answer = describe_replica(replica)
        answer["Status"] = "retained"  # after backup replication is stopped [API_DescribeDBInstanceAutomatedBackups]
        return ActionResult({"DBInstanceAutomatedBackup": answer})

    response.describe_db_instance_automated_backups = describe_db_instance_automated_backups
    response.start_db_instance_automated_backups_replication = start_db_instance_automated_backups_replication
    response.stop_db_instance_automated_backups_replication = stop_db_instance_automated_backups_replication
    DBInstance.latest_restorable_time = property(lambda self: latest_time(self) if has_backups(self) else None)


def _refreshed(record: dict[str, Any], held: Any) -> dict[str, Any]:
    if held is not None:
        record["Status"] = held.status
    return record
