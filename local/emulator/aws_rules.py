"""Rules that AWS enforces and stock moto (5.2.x) skips, on the calls rds-refresh makes.

The emulator is a model of AWS, not a convenience: each rule below refuses what AWS refuses, with
AWS's error code and (where it could be found) AWS's message, and names its reference. The list
with the references is also in README.md ("Rules the emulator enforces"); test_rds_emulator.py
shows each one through boto3.

References are abbreviated:
  [botocore rds]  botocore's RDS service model (data/rds/2014-10-31/service-2.json), the text of the
                  RDS API reference (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/)
  [botocore sns]  botocore's SNS service model, the text of the SNS API reference (API_Publish)
  [API_Tag]       https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_Tag.html
  [CHAP_Storage]  https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Storage.html#gp3-storage
  [API_CreateDBInstance], [API_ModifyDBInstance], [API_RestoreDBInstanceFromDBSnapshot]
                  https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_<Action>.html
  and public issue threads by repository and number, which quote AWS's error messages.

install() patches moto in-process; rds_emulator.py calls it once, before serving.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from typing import Any, Callable

from moto.kms.models import kms_backends
from moto.rds import responses as rds_responses
from moto.rds.exceptions import RDSClientError
from moto.rds.models import DBInstance, DBParameterGroup, OptionGroup, RDSBackend, rds_backends
from moto.rds.utils import split_arn
from moto.sns import responses as sns_responses

BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
from moto.sns.exceptions import SNSInvalidParameter

# --- storage -------------------------------------------------------------------------------------

# gp3: below a per-engine size RDS uses one volume with the baseline 3,000 IOPS and 125 MiB/s, and
# IOPS and throughput cannot be set; from that size on it stripes, with a baseline of 12,000 IOPS
# and 500 MiB/s, and they can be provisioned. Db2, MariaDB, MySQL, PostgreSQL: 400 GiB; Oracle:
# 200 GiB; SQL Server: no striping, 3,000 / 125 at every size. [CHAP_Storage]
GP3_STRIPING_GIB = {"oracle": 200, "sqlserver": None}
GP3_BASELINE_SMALL = (3000, 125)
GP3_BASELINE_LARGE = (12000, 500)


def _gp3_threshold(engine: str) -> int | None:
    for prefix, threshold in GP3_STRIPING_GIB.items():
        if engine.startswith(prefix):
            return threshold
    return 400


def gp3_baseline(engine: str, allocated_storage: int | None) -> tuple[int, int]:
    """The (IOPS, MiB/s) a gp3 volume of this size has without provisioning. [CHAP_Storage]"""
    threshold = _gp3_threshold(engine)
    if threshold is None or (allocated_storage or 0) < threshold:
        return GP3_BASELINE_SMALL
    return GP3_BASELINE_LARGE


def _check_storage(engine: str, storage_type: str | None, allocated: int | None, params: Any, creating: bool) -> None:
    iops, throughput = params.get("Iops"), params.get("StorageThroughput")
    threshold = _gp3_threshold(engine)
    if storage_type == "gp3" and threshold is not None and (allocated or 0) < threshold and (iops is not None or throughput is not None):
        # Even with the baseline values. terraform-provider-aws #28589, troposphere #2141 and #2153,
        # braintrustdata/terraform-aws-braintrust-data-plane #288; [CHAP_Storage].
        raise RDSClientError(
            "InvalidParameterCombination",
            f"You can't specify IOPS or storage throughput for engine {engine} and a storage size less than {threshold}.",
        )
    if creating and storage_type in ("io1", "io2") and iops is None:
        # [botocore rds] CreateDBInstance StorageType: "If you specify io1, io2 ... you must also
        # include a value for the Iops parameter"; message: terraform-community-modules/tf_aws_rds #22.
        raise RDSClientError("InvalidParameterCombination", f"The storage type {storage_type} requires iops to be specified.")


# Reported IOPS and throughput: moto reports none for gp3; AWS reports the baseline unless
# provisioned. [CHAP_Storage]; terraform-provider-aws #28382.
def _reported_iops(self: DBInstance) -> int | None:
    provisioned = self.__dict__.get("_iops")
    if provisioned is None and self.__dict__.get("_storage_type") == "gp3":
        return gp3_baseline(self.engine, self.__dict__.get("_allocated_storage"))[0]
    return provisioned


def _set_iops(self: DBInstance, value: Any) -> None:
    self.__dict__["_iops"] = int(value) if value not in (None, "") else None


def _reported_throughput(self: DBInstance) -> int | None:
    if self.__dict__.get("_storage_type") != "gp3":
        return None
    provisioned = self.__dict__.get("_storage_throughput")
    return provisioned if provisioned else gp3_baseline(self.engine, self.__dict__.get("_allocated_storage"))[1]


def _set_throughput(self: DBInstance, value: Any) -> None:
    self.__dict__["_storage_throughput"] = int(value) if value not in (None, "", 0) else None


# --- tags ----------------------------------------------------------------------------------------

TAG_KEY_MAX, TAG_VALUE_MAX, TAGS_PER_RESOURCE = 128, 256, 50
RESERVED_TAG_PREFIXES = ("aws:", "rds:")
TAG_PUNCTUATION = set("_.:/=+-@")


def _tag_chars_ok(text: str) -> bool:
    # [API_Tag]: Java regex ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$ (Unicode letters, separators, numbers).
    return all(unicodedata.category(c)[0] in "LZN" or c in TAG_PUNCTUATION for c in text)


def check_tags(tags: list[Any] | None) -> None:
    """[API_Tag]: keys 1-128 characters, values 0-256 (API_Tag of the Performance Insights API and
    CloudFormation's AWS::RDS::DBInstance Tag give the minimum 0; terraform-aws-modules/terraform-aws-rds
    #528: RDS accepts empty values), only the characters above, and neither may begin with `aws:` or
    `rds:`. The prefixes are matched in any case, as AWS's tagging guides say of `aws:`."""
    for tag in tags or []:
        key, value = tag.get("Key"), tag.get("Value")
        value = "" if value is None else value
        if key is None or not 1 <= len(key) <= TAG_KEY_MAX or not _tag_chars_ok(key):
            # Message not found in a public reference: modelled on AWS's tag messages.
            raise RDSClientError(
                "InvalidParameterValue",
                f"Tag key {key!r} is invalid: it must be 1 to {TAG_KEY_MAX} Unicode letters, digits, white space or _ . : / = + - @.",
            )
        if len(value) > TAG_VALUE_MAX or not _tag_chars_ok(value):
            raise RDSClientError(
                "InvalidParameterValue",
                f"Tag value {value!r} is invalid: it must be 0 to {TAG_VALUE_MAX} Unicode letters, digits, white space or _ . : / = + - @.",
            )
        for prefix in RESERVED_TAG_PREFIXES:
            if key.lower().startswith(prefix):
                # Exact message for aws: (cloud-custodian #6782, aws-cloudformation-resource-providers-rds
                # #239, 1Strategy/rds-oracle-cross-account-cross-region-dr #1); the same form for rds:.
                raise RDSClientError("InvalidParameterValue", f'Tag keys cannot start with the reserved prefix "{prefix}".')
            if value.lower().startswith(prefix):
                raise RDSClientError("InvalidParameterValue", f'Tag values cannot start with the reserved prefix "{prefix}".')
    if tags and len({t.get("Key") for t in tags}) > TAGS_PER_RESOURCE:
        raise _too_many_tags()


def _too_many_tags() -> RDSClientError:
    # The limit: 50 user tags per resource (AWS tagging guides, "Tag restrictions"; Billing's
    # TagResource says "user-tag maximum is 50"). RDS's model has no tag-quota fault, and AWS's
    # message for RDS was not found: InvalidParameterValue, the code of RDS's other tag errors.
    return RDSClientError("InvalidParameterValue", f"A resource can have at most {TAGS_PER_RESOURCE} tags.")


# --- identifiers ---------------------------------------------------------------------------------

# [botocore rds] DBInstanceIdentifier / NewDBInstanceIdentifier: 1 to 63 letters, numbers or
# hyphens; first a letter; no trailing hyphen, no two consecutive hyphens; stored in lower case.
INSTANCE_ID = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|-(?!-)){0,62}$")


def check_instance_identifier(identifier: str | None, parameter: str) -> None:
    if identifier is None or not INSTANCE_ID.match(identifier) or identifier.endswith("-"):
        # moto's message for DBInstanceIdentifier (and AWS's for SourceDBSnapshotIdentifier, in the same form).
        raise RDSClientError(
            "InvalidParameterValue",
            f"The parameter {parameter} is not a valid identifier. Identifiers must begin with a letter; "
            "must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or "
            "contain two consecutive hyphens.",
        )


# --- instance states -----------------------------------------------------------------------------

# ModifyDBInstance (a rename too) needs `available`: InvalidDBInstanceState "Database instance is
# not in available state." (terraform-provider-aws #31594, right after a create; cloud-custodian
# #178). In `storage-optimization` an instance is usable and can be modified, but not its storage:
# "You can't currently modify the storage of this DB instance because the previous storage change
# is being optimized." (terraform-provider-aws #12493; [botocore rds] on storage changes).
MODIFIABLE_STATUSES = {"available", "storage-optimization"}
STORAGE_PARAMETERS = ("AllocatedStorage", "Iops", "StorageType", "StorageThroughput")
# DeleteDBInstance: which statuses AWS accepts is not documented; conservatively the usable ones.
DELETABLE_STATUSES = {"available", "storage-optimization"}


def check_modifiable(instance: DBInstance, params: Any) -> None:
    status = instance.status
    if getattr(instance, "emulator_deleting", False) or status not in MODIFIABLE_STATUSES:
        raise RDSClientError("InvalidDBInstanceState", "Database instance is not in available state.")
    if status == "storage-optimization" and any(params.get(p) is not None for p in STORAGE_PARAMETERS):
        raise RDSClientError(
            "InvalidParameterCombination",
            "You can't currently modify the storage of this DB instance because the previous storage change is being optimized.",
        )


def check_deletable(instance: DBInstance) -> None:
    identifier = instance.db_instance_identifier
    if getattr(instance, "emulator_deleting", False) or instance.status == "deleting":
        # terraform-provider-aws #5624 and #11434.
        raise RDSClientError("InvalidDBInstanceState", f"Instance {identifier} is already being deleted.")
    if instance.status not in DELETABLE_STATUSES:
        # The form AWS uses for StopDBInstance (cloud-custodian #1687).
        raise RDSClientError("InvalidDBInstanceState", f"Instance {identifier} is not in available state.")


# --- master credentials --------------------------------------------------------------------------

# [API_CreateDBInstance], [API_ModifyDBInstance] MasterUserPassword: "Can include any printable
# ASCII character except "/", """, or "@"", and for RDS for PostgreSQL "Must contain from 8 to
# 128 characters". AWS's messages (InvalidParameterValue) name a space too: "The parameter
# MasterUserPassword is not a valid password. Only printable ASCII characters besides '/', '@',
# '"', ' ' may be used." (hashicorp/terraform-provider-random #15, crossplane/crossplane #88,
# alphagov/govuk-infrastructure #1270) and "The parameter MasterUserPassword is not a valid
# password because it is shorter than 8 characters." (hashicorp/terraform-provider-aws #38394).
# The message for a password that is too long was not found: the same form.
PASSWORD_LENGTHS = {"postgres": (8, 128)}
PASSWORD_FORBIDDEN = frozenset('/"@ ')


def check_master_password(engine: str, password: str | None) -> None:
    """RDS for PostgreSQL's rule for a master password (other engines: not modelled)."""
    if password is None or engine not in PASSWORD_LENGTHS:
        return
    shortest, longest = PASSWORD_LENGTHS[engine]
    if any(not 32 <= ord(c) <= 126 or c in PASSWORD_FORBIDDEN for c in password):
        raise RDSClientError(
            "InvalidParameterValue",
            "The parameter MasterUserPassword is not a valid password. Only printable ASCII characters "
            "besides '/', '@', '\"', ' ' may be used.",
        )
    for too, bound, wrong in (("shorter", shortest, len(password) < shortest), ("longer", longest, len(password) > longest)):
        if wrong:
            raise RDSClientError(
                "InvalidParameterValue",
                f"The parameter MasterUserPassword is not a valid password because it is {too} than {bound} characters.",
            )


def flag(value: Any) -> bool | None:
    """A boolean request parameter as moto parses it (True, False or absent)."""
    if value is None or isinstance(value, bool):
        return value
    return str(value).lower() == "true"


def check_managed_password(params: Any, managed_now: bool | None) -> None:
    """ManageMasterUserPassword (RDS-managed master secrets), MasterUserPassword and
    MasterUserSecretKmsKeyId together, on CreateDBInstance (`managed_now` None) and on
    ModifyDBInstance (`managed_now`: whether the instance manages its password now).

    - [API_CreateDBInstance], [API_ModifyDBInstance] ManageMasterUserPassword: "Can't manage
      the master user password with AWS Secrets Manager if MasterUserPassword is specified."
      (AWS's message was not found: InvalidParameterCombination naming both);
    - MasterUserSecretKmsKeyId: valid only if "You are turning on ManageMasterUserPassword",
      and "If the DB instance already manages the master user password in AWS Secrets
      Manager, you can't change the KMS key": "A ManageMasterUserPassword value is required
      when MasterUserSecretKmsKeyId is specified." (hashicorp/terraform-provider-aws #41795);
    - ModifyDBInstance turning it off: "then you must specify MasterUserPassword":
      "MasterUserPassword must be provided when ManageMasterUserPassword is set to false."
      (terraform-aws-modules/terraform-aws-rds-aurora #370; RDS refuses false without a
      password even when it was off: aws-cloudformation-resource-providers-rds #442);
    - MasterUserPassword "Can't be specified if ManageMasterUserPassword is turned on" (on the
      instance, unless this call turns it off)."""
    manage = flag(params.get("ManageMasterUserPassword"))
    password = params.get("MasterUserPassword")
    if manage and password is not None:
        raise RDSClientError("InvalidParameterCombination",
                             "You can't specify MasterUserPassword when ManageMasterUserPassword is turned on.")
    if params.get("MasterUserSecretKmsKeyId") is not None:
        if not manage:
            raise RDSClientError("InvalidParameterCombination",
                                 "A ManageMasterUserPassword value is required when MasterUserSecretKmsKeyId is specified.")
        if managed_now:
            raise RDSClientError("InvalidParameterCombination",
                                 "You can't change the KMS key of the secret of a DB instance that already manages its "
                                 "master user password with AWS Secrets Manager.")
    if managed_now is None:
        return
    if manage is False and password is None:
        raise RDSClientError("InvalidParameterCombination",
                             "MasterUserPassword must be provided when ManageMasterUserPassword is set to false.")
    if managed_now and manage is None and password is not None:
        raise RDSClientError("InvalidParameterCombination",
                             "You can't specify MasterUserPassword for a DB instance that manages its master user "
                             "password with AWS Secrets Manager unless ManageMasterUserPassword is set to false.")


# --- parameter and option groups -----------------------------------------------------------------


def engine_major(engine: str, version: str | None) -> str | None:
    """The major version a family and an option group name: postgres 16.3 -> 16, 9.6.22 -> 9.6;
    mysql 8.0.35 -> 8.0. None for engines this emulator does not model."""
    if not version:
        return None
    parts = str(version).split(".")
    if engine == "postgres":
        return parts[0] if parts[0].isdigit() and int(parts[0]) >= 10 else ".".join(parts[:2])
    if engine in ("mysql", "mariadb"):
        return ".".join(parts[:2])
    return None


def _parameter_group_family(backend: RDSBackend, name: str) -> str | None:
    group = backend.db_parameter_groups.get(name)
    if group is not None:
        return group.family
    if name.lower().startswith("default."):
        return name[len("default."):].lower()
    return None


def check_parameter_group(backend: RDSBackend, name: str | None, engine: str, version: str | None) -> None:
    """A DB parameter group belongs to a family (engine + major version); a create, restore or
    modify naming one of another family is refused. Message: awslabs/aws-rails-provisioner #5."""
    major = engine_major(engine, version)
    if not name or major is None:
        return
    family = _parameter_group_family(backend, name)
    if family is None:
        # [botocore rds] DBParameterGroupNotFoundFault; moto's message.
        raise RDSClientError("DBParameterGroupNotFound", f"DB Parameter Group {name} not found.")
    expected = f"{engine}{major}"
    if family != expected:
        raise RDSClientError(
            "InvalidParameterCombination",
            f"The Parameter Group {name} with DBParameterGroupFamily {family} cannot be used for this instance. "
            f"Please use a Parameter Group with DBParameterGroupFamily {expected}",
        )
    if name.lower().startswith("default.") and name not in backend.db_parameter_groups:
        # AWS has every default group; moto makes them lazily, and its ModifyDBInstance refuses
        # one it has not made yet.
        backend.db_parameter_groups[name] = DBParameterGroup(
            backend=backend, db_parameter_group_name=name.lower(), db_parameter_group_family=family,
            description=f"Default parameter group for {family}", tags=[],
        )


def default_option_group_name(engine: str, major: str) -> str:
    return f"default:{engine}-{major.replace('.', '-')}"


def check_option_group(backend: RDSBackend, name: str | None, engine: str, version: str | None) -> None:
    """An option group belongs to an engine and major version. Not found: OptionGroupNotFoundFault
    ([botocore rds]; moto's message); another version: InvalidParameterCombination
    (terraform-provider-aws #10537)."""
    major = engine_major(engine, version)
    if not name or major is None:
        return
    group = backend.option_groups.get(name)
    if group is None and name.lower() == default_option_group_name(engine, major):
        # AWS has the default option group of every major version; moto has none.
        group = OptionGroup(backend, name.lower(), engine, major, f"Default option group for {engine} {major}")
        backend.option_groups[name] = group
    if group is None:
        raise RDSClientError("OptionGroupNotFoundFault", f"Specified OptionGroupName: {name} not found.")
    if group.engine_name != engine or str(group.major_engine_version) != major:
        raise RDSClientError(
            "InvalidParameterCombination",
            f"The option group {name} is for {group.engine_name} {group.major_engine_version}, "
            f"and your DB instance is {engine} {major}.",
        )


# Option groups for today's PostgreSQL majors: moto's list stops at 13 (CreateOptionGroup answers
# "Cannot find major version 16 for postgres"). RDS for PostgreSQL supports 11-17
# (https://docs.aws.amazon.com/AmazonRDS/latest/PostgreSQLReleaseNotes/).
EXTRA_OPTION_GROUP_VERSIONS = {"postgres": {"9.6", "11", "12", "13", "14", "15", "16", "17"}}


# --- snapshots and KMS ---------------------------------------------------------------------------


def _source_snapshot(backend: RDSBackend, identifier: str) -> tuple[Any, str]:
    """The source snapshot of a copy (None if moto will not find it) and its region."""
    region, name = backend.region_name, identifier
    if identifier.startswith("arn:"):
        try:
            region, _, _, name = split_arn(identifier)
        except Exception:
            return None, region
    account = rds_backends[backend.account_id]
    if region not in account.regions:
        return None, region
    return account[region].database_snapshots.get(name), region


def check_kms_key(backend: RDSBackend, key_id: str) -> None:
    """A KmsKeyId that names no key of the destination region: KMSKeyNotAccessibleFault with AWS's
    message for the target key (awslabs/rds-snapshot-tool #70, aurora-snapshot-tool #25). moto
    answers HTTP 500 for an alias that does not exist."""
    kms = kms_backends[backend.account_id][backend.region_name]
    alias = kms.get_alias_name(key_id)
    if alias.startswith("alias/"):
        if key_id.startswith("arn:") and f":{backend.region_name}:" not in key_id:
            missing = True
        else:
            missing = kms.get_key_id_from_alias(alias) is None
    else:
        missing = False  # key ids and key ARNs: moto's own check answers KMSKeyNotAccessibleFault
    if missing:
        raise RDSClientError(
            "KMSKeyNotAccessibleFault",
            f"The target KMS key [{key_id}] does not exist, is not enabled or you do not have permissions to access it.",
        )


# --- the hooks -----------------------------------------------------------------------------------


def _instance(backend: RDSBackend, identifier: Any) -> DBInstance | None:
    return backend.databases.get(identifier) if isinstance(identifier, str) else None


def before_create_db_instance(backend: RDSBackend, params: Any) -> None:
    check_tags(params.get("Tags"))
    engine = params.get("Engine") or ""
    storage_type = params.get("StorageType")
    if storage_type == "gp2" and params.get("Iops") is not None:
        # AWS makes it io1 (terraform-provider-aws #41894, aws/aws-sdk-php #431; [botocore rds]
        # "Default: io1, if the Iops parameter is specified").
        params["StorageType"] = storage_type = "io1"
    if storage_type is None:
        storage_type = "io1" if params.get("Iops") is not None else "gp2"  # moto's default
    _check_storage(engine, storage_type, params.get("AllocatedStorage"), params, creating=True)
    version = params.get("EngineVersion") or DBInstance.default_engine_versions.get(engine)
    check_parameter_group(backend, params.get("DBParameterGroupName"), engine, version)
    check_option_group(backend, params.get("OptionGroupName"), engine, version)
    check_managed_password(params, None)
    check_master_password(engine, params.get("MasterUserPassword"))
    if engine in PASSWORD_LENGTHS and params.get("MasterUserPassword") is None and not flag(params.get("ManageMasterUserPassword")):
        # [API_CreateDBInstance] MasterUserPassword: required unless ManageMasterUserPassword is
        # on; the message moto gives for clusters (getmoto/moto #8724).
        raise RDSClientError("InvalidParameterValue", "The parameter MasterUserPassword must be provided and must not be blank.")


def before_restore(backend: RDSBackend, params: Any) -> None:
    check_tags(params.get("Tags"))
    check_instance_identifier(params.get("DBInstanceIdentifier"), "DBInstanceIdentifier")
    snapshot, _ = _source_snapshot(backend, params.get("DBSnapshotIdentifier") or "")
    if snapshot is None:
        return  # moto answers DBSnapshotNotFound
    source = snapshot.database
    engine = snapshot.engine
    if flag(params.get("ManageMasterUserPassword")) or params.get("MasterUserSecretKmsKeyId") is not None:
        if not engine.startswith("oracle"):
            # [API_RestoreDBInstanceFromDBSnapshot] ManageMasterUserPassword: "Applies to RDS for
            # Oracle only." (AWS's message was not found). The restored instance has the
            # snapshot's password; turn the managed secret on with ModifyDBInstance afterwards.
            raise RDSClientError(
                "InvalidParameterCombination",
                f"ManageMasterUserPassword applies to RDS for Oracle only: it can't be specified when restoring "
                f"a {engine} DB instance from a DB snapshot.",
            )
    storage_type = params.get("StorageType") or source.storage_type
    allocated = params.get("AllocatedStorage") or snapshot.allocated_storage
    _check_storage(engine, storage_type, allocated, params, creating=False)
    check_parameter_group(backend, params.get("DBParameterGroupName"), engine, snapshot.engine_version)
    check_option_group(backend, params.get("OptionGroupName"), engine, snapshot.engine_version)


def before_modify(backend: RDSBackend, params: Any) -> None:
    instance = _instance(backend, params.get("DBInstanceIdentifier"))
    if instance is None:
        return  # moto answers DBInstanceNotFound
    check_modifiable(instance, params)
    new_identifier = params.get("NewDBInstanceIdentifier")
    if new_identifier is not None:
        check_instance_identifier(new_identifier, "NewDBInstanceIdentifier")
    storage_type = params.get("StorageType") or instance.storage_type
    allocated = params.get("AllocatedStorage") or instance.allocated_storage
    _check_storage(instance.engine, storage_type, allocated, params, creating=False)
    version = params.get("EngineVersion") or instance.engine_version
    check_parameter_group(backend, params.get("DBParameterGroupName"), instance.engine, version)
    check_option_group(backend, params.get("OptionGroupName"), instance.engine, version)
    check_managed_password(params, bool(getattr(instance, "manage_master_user_password", False)))
    check_master_password(instance.engine, params.get("MasterUserPassword"))


def before_delete(backend: RDSBackend, params: Any) -> None:
    instance = _instance(backend, params.get("DBInstanceIdentifier"))
    if instance is None:
        return
    check_deletable(instance)
    if not params.get("SkipFinalSnapshot") and not params.get("FinalDBSnapshotIdentifier"):
        # SkipFinalSnapshot defaults to false ([botocore rds] DeleteDBInstance); message:
        # terraform-provider-aws #33539 (the same RDS API, for a DocumentDB instance).
        raise RDSClientError("InvalidParameterCombination", "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.")


def before_copy_snapshot(backend: RDSBackend, params: Any) -> None:
    check_tags(params.get("Tags"))
    key = params.get("KmsKeyId")
    if key:
        check_kms_key(backend, key)
    snapshot, region = _source_snapshot(backend, params.get("SourceDBSnapshotIdentifier") or "")
    if snapshot is not None and region != backend.region_name and snapshot.encrypted and not key:
        # 1Strategy/rds-oracle-cross-account-cross-region-dr #1, pbudzon/aws-maintenance #5;
        # [botocore rds] CopyDBSnapshot KmsKeyId: "If you copy an encrypted snapshot to a different
        # Amazon Web Services Region, then you must specify an Amazon Web Services KMS key identifier
        # for the destination Amazon Web Services Region."
        raise RDSClientError("InvalidParameterValue", "Must specify new KMS key for cross region encrypted snapshot copy.")


def before_create_snapshot(backend: RDSBackend, params: Any) -> None:
    check_tags(params.get("Tags"))


def before_add_tags(backend: RDSBackend, params: Any) -> None:
    tags = params.get("Tags") or []
    check_tags(tags)
    try:
        resource = backend._get_resource_for_tagging(params.get("ResourceName") or "")
    except RDSClientError:
        return
    if resource is not None:
        keys = {t["Key"] for t in resource.get_tags()} | {t.get("Key") for t in tags}
        if len(keys) > TAGS_PER_RESOURCE:
            raise _too_many_tags()


# SNS Publish Subject: [botocore sns] "must be UTF-8 text with no line breaks or control characters,
# and less than 100 characters long"; the error is InvalidParameter "Invalid parameter: Subject"
# (getmoto/moto #1503; an empty one too: wellcomecollection/platform #1107). moto #1503 reports that
# AWS accepts exactly 100 characters; the documented bound is enforced here (stay under it).
SUBJECT_MAX = 99


def check_sns_subject(subject: str | None) -> None:
    if subject is None:
        return
    if not subject or len(subject) > SUBJECT_MAX or any(unicodedata.category(c) == "Cc" for c in subject):
        raise SNSInvalidParameter("Invalid parameter: Subject")


def install() -> None:
    """Patches moto's RDS and SNS with the rules above."""

    def guarded(name: str, check: Callable[[RDSBackend, Any], None]) -> None:
        original = getattr(rds_responses.RDSResponse, name)

        def wrapper(self: rds_responses.RDSResponse) -> Any:
            check(self.backend, self.params)
            return original(self)

        setattr(rds_responses.RDSResponse, name, wrapper)

    guarded("create_db_instance", before_create_db_instance)
    guarded("restore_db_instance_from_db_snapshot", before_restore)
    guarded("modify_db_instance", before_modify)
    guarded("delete_db_instance", before_delete)
    guarded("copy_db_snapshot", before_copy_snapshot)
    guarded("create_db_snapshot", before_create_snapshot)
    guarded("add_tags_to_resource", before_add_tags)

    DBInstance.iops = property(_reported_iops, _set_iops)
    DBInstance.storage_throughput = property(_reported_throughput, _set_throughput)

    # AWS names the default option group `default:postgres-16`; moto `default:postgres-16-3`.
    original_init = DBInstance.__init__

    def init(self: DBInstance, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        # moto gives every instance the same DbiResourceId; AWS a unique one, kept for the
        # instance's life (a rename keeps it): "db-" and 26 upper-case base-32 characters
        # (RDS API Reference, DBInstance.DbiResourceId: "unique to an AWS Region and
        # immutable"). The tests tell the old `y` from a restored one by it.
        self.dbi_resource_id = "db-" + "".join(secrets.choice(BASE32) for _ in range(26))
        major = engine_major(self.engine, getattr(self, "engine_version", None))
        if major is not None and not getattr(self, "option_group_supplied", True):
            self.option_group_name = default_option_group_name(self.engine, major)

    DBInstance.__init__ = init

    original_create_option_group = RDSBackend.create_option_group

    def create_option_group(self: RDSBackend, kwargs: dict[str, Any]) -> OptionGroup:
        engine, major = kwargs.get("engine_name"), str(kwargs.get("major_engine_version"))
        if major in EXTRA_OPTION_GROUP_VERSIONS.get(engine, ()) and kwargs.get("option_group_description"):
            name = kwargs["option_group_name"]
            if name in self.option_groups:
                raise RDSClientError("OptionGroupAlreadyExistsFault", f"An option group named {name} already exists.")
            group = OptionGroup(self, **kwargs)
            self.option_groups[name] = group
            return group
        return original_create_option_group(self, kwargs)

    RDSBackend.create_option_group = create_option_group

    original_publish = sns_responses.SNSResponse.publish

    def publish(self: sns_responses.SNSResponse) -> Any:
        check_sns_subject(self._get_param("Subject"))
        return original_publish(self)

    sns_responses.SNSResponse.publish = publish
