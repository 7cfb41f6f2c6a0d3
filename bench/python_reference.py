"""The Python side of the cold-start comparison: what a boto3 Lambda pays for the same task.

Written for the benchmark only (never deployed): the Lambda Runtime API loop with urllib, and
for each benchmarked task the same AWS calls the Rust task makes, with boto3, as the original
Python Lambdas did. Like a Lambda module, it builds its clients at init (outside the handler),
one RDS client per region on first use, as the Rust tasks do. It runs as a plain interpreter
process, which is less than the managed Python runtime starts (its bootstrap is Python too), so
it is a lower bound for Python's cold start.

    AWS_LAMBDA_RUNTIME_API=host:port _HANDLER=<task> python python_reference.py

Like the Rust binary (one for every function), it runs the task that `_HANDLER` (the
function's Handler) names.
"""

import json
import os
import re
import sys
import time
import urllib.request

TASK = os.environ["_HANDLER"]
API = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime"
ENDPOINT = os.environ.get("AWS_ENDPOINT_URL")
STATE_TABLE = os.environ.get("RDS_REFRESH_STATE_TABLE")

# Only the tasks that call AWS import boto3 (check-input does not need it).
USES_AWS = TASK != "check-input"
if USES_AWS:
    import boto3
    from botocore.exceptions import ClientError

    SESSION = boto3.session.Session()
    DYNAMODB = SESSION.client("dynamodb", endpoint_url=ENDPOINT) if TASK in ("lock-target", "describe-target") else None
    _RDS = {}


def rds(region):
    if region not in _RDS:
        _RDS[region] = SESSION.client("rds", region_name=region, endpoint_url=ENDPOINT)
    return _RDS[region]


class TaskError(Exception):
    def __init__(self, name, message):
        super().__init__(message)
        self.name = name


def error_code(error):
    return error.response.get("Error", {}).get("Code")


def iso(value):
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


# --- check-input: the rules and defaults, no AWS call -----------------------------------------

REGION = re.compile(r"^(us|eu|ap|sa|ca|me|af|il|mx|cn)(-gov)?-[a-z]+-[1-9]$")
IDENTIFIER = re.compile(r"^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,62}(?<!-)$")


def check_input(event):
    request = {
        "source": event.get("source"),
        "target": {"overrides": {}, "allowDisableDeletionProtection": False, "createIfMissing": False,
                   "finalSnapshot": False, **event.get("target", {})},
        "snapshot": {"type": "any", "maxAgeHours": None, "identifier": None, **event.get("snapshot", {})},
        "copy": {"kmsKeyId": None, "retain": 2, **event.get("copy", {})},
        "mode": event.get("mode", "swap"),
        "retainOldMinutes": event.get("retainOldMinutes", 0),
        "dryRun": event.get("dryRun", False),
        "notify": {"topicArn": None, **event.get("notify", {})},
    }
    for side in ("source", "target"):
        if not REGION.match(request[side].get("region", "")):
            raise TaskError("InvalidInput", f"{side}.region: must be a known AWS region name such as us-east-1")
        if not IDENTIFIER.match(request[side].get("dbInstanceIdentifier", "")):
            raise TaskError("InvalidInput", f"{side}.dbInstanceIdentifier: breaks RDS's naming rules")
    if not 1 <= request["copy"]["retain"] <= 100:
        raise TaskError("InvalidInput", "copy.retain: must be from 1 to 100")
    return {"request": request, "snapshot": None, "targetState": None,
            "retainOldSeconds": request["retainOldMinutes"] * 60}


# --- lock-target: a conditional UpdateItem on the target's item ------------------------------


def lock_target(event):
    target = event["target"]
    now = int(time.time())
    expires = now + 12 * 3600 + 15 * 60
    try:
        DYNAMODB.update_item(
            TableName=STATE_TABLE,
            Key={"target": {"S": f"{target['region']}/{target['dbInstanceIdentifier']}"}},
            UpdateExpression="SET #owner = :owner, #expiresAt = :expiresAt",
            ConditionExpression="attribute_not_exists(#owner) OR #owner = :owner OR #expiresAt < :now",
            ExpressionAttributeNames={"#owner": "lockOwner", "#expiresAt": "lockExpiresAt"},
            ExpressionAttributeValues={":owner": {"S": event["execution"]}, ":expiresAt": {"N": str(expires)},
                                       ":now": {"N": str(now)}},
        )
    except ClientError as error:
        if error_code(error) == "ConditionalCheckFailedException":
            raise TaskError("TargetLocked", f"{target['dbInstanceIdentifier']} is locked") from error
        raise
    return {"held": True, "expiresAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))}


# --- find-snapshot: every page of x's snapshots, the newest available one --------------------


def find_snapshot(event):
    source = event["source"]
    kind = event["snapshot"]["type"]
    pages = rds(source["region"]).get_paginator("describe_db_snapshots").paginate(
        DBInstanceIdentifier=source["dbInstanceIdentifier"], **({} if kind == "any" else {"SnapshotType": kind}))
    snapshots = [s for page in pages for s in page["DBSnapshots"]]
    available = [s for s in snapshots if s.get("Status") == "available" and s.get("SnapshotCreateTime")]
    if not available:
        raise TaskError("SnapshotNotFound", f"{source['dbInstanceIdentifier']} has no available snapshot")
    newest = max(available, key=lambda s: s["SnapshotCreateTime"])
    return {"identifier": newest["DBSnapshotIdentifier"], "arn": newest["DBSnapshotArn"], "region": source["region"],
            "createdAt": iso(newest["SnapshotCreateTime"]), "snapshotType": newest.get("SnapshotType", "unknown"),
            "encrypted": newest.get("Encrypted", False)}


# --- describe-target: y's configuration, its guards, kept in the state table -----------------


def find_instance(region, identifier):
    try:
        return rds(region).describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    except ClientError as error:
        if error_code(error) == "DBInstanceNotFound":
            return None
        raise


def non_default(name):
    return None if name is None or name.startswith(("default.", "default:")) else name


def configuration_of(instance):
    tags = {t["Key"]: t["Value"] for t in instance.get("TagList", [])}
    return {
        "dbInstanceClass": instance.get("DBInstanceClass"),
        "dbSubnetGroupName": instance.get("DBSubnetGroup", {}).get("DBSubnetGroupName"),
        "vpcSecurityGroupIds": [g["VpcSecurityGroupId"] for g in instance.get("VpcSecurityGroups", [])],
        "dbParameterGroupName": non_default(next(iter(instance.get("DBParameterGroups", [])), {}).get("DBParameterGroupName")),
        "optionGroupName": non_default(next(iter(instance.get("OptionGroupMemberships", [])), {}).get("OptionGroupName")),
        "multiAz": instance.get("MultiAZ"),
        "storageType": instance.get("StorageType"),
        "allocatedStorage": instance.get("AllocatedStorage"),
        "iops": instance.get("Iops"),
        "storageThroughput": instance.get("StorageThroughput"),
        "maxAllocatedStorage": instance.get("MaxAllocatedStorage"),
        "port": instance.get("Endpoint", {}).get("Port", instance.get("DbInstancePort")),
        "publiclyAccessible": instance.get("PubliclyAccessible", False),
        "iamDatabaseAuthenticationEnabled": instance.get("IAMDatabaseAuthenticationEnabled"),
        "enabledCloudwatchLogsExports": instance.get("EnabledCloudwatchLogsExports", []),
        "copyTagsToSnapshot": instance.get("CopyTagsToSnapshot"),
        "deletionProtection": instance.get("DeletionProtection"),
        "autoMinorVersionUpgrade": instance.get("AutoMinorVersionUpgrade"),
        "backupRetentionPeriod": instance.get("BackupRetentionPeriod"),
        "preferredBackupWindow": instance.get("PreferredBackupWindow"),
        "preferredMaintenanceWindow": instance.get("PreferredMaintenanceWindow"),
        "monitoringInterval": instance.get("MonitoringInterval"),
        "monitoringRoleArn": instance.get("MonitoringRoleArn"),
        "performanceInsightsEnabled": instance.get("PerformanceInsightsEnabled", False),
        "performanceInsightsKmsKeyId": instance.get("PerformanceInsightsKMSKeyId"),
        "performanceInsightsRetentionPeriod": instance.get("PerformanceInsightsRetentionPeriod"),
        "caCertificateIdentifier": instance.get("CACertificateIdentifier"),
        "licenseModel": instance.get("LicenseModel"),
        "tags": {k: v for k, v in sorted(tags.items()) if not k.startswith(("aws:", "rds-refresh:"))},
    }


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def describe_target(event):
    import hashlib

    source, target = event["source"], event["target"]
    region, identifier = target["region"], target["dbInstanceIdentifier"]
    wanted = f"{source['region']}/{source['dbInstanceIdentifier']}"
    instance = find_instance(region, identifier)
    if instance is None:
        raise TaskError("TargetNotFound", f"{region}/{identifier} does not exist")
    tags = {t["Key"]: t["Value"] for t in instance.get("TagList", [])}
    if tags.get("rds-refresh:source") != wanted:
        raise TaskError("TargetNotOptedIn", f"{region}/{identifier} is not opted in to refreshes from {wanted}")
    if instance.get("DeletionProtection") and not target.get("allowDisableDeletionProtection"):
        raise TaskError("DeletionProtected", f"{region}/{identifier} has deletion protection on")
    live = configuration_of(instance)
    captured_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    DYNAMODB.update_item(
        TableName=STATE_TABLE,
        Key={"target": {"S": f"{region}/{identifier}"}},
        UpdateExpression="SET #configuration = :configuration, #capturedAt = :capturedAt, #source = :source",
        ExpressionAttributeNames={"#configuration": "configuration", "#capturedAt": "configurationCapturedAt",
                                  "#source": "source"},
        ExpressionAttributeValues={":configuration": {"S": json.dumps(live)}, ":capturedAt": {"S": captured_at},
                                   ":source": {"S": wanted}},
    )
    swap = None
    if event.get("snapshot"):
        digest = hashlib.sha256(event["snapshot"]["arn"].encode()).hexdigest()[:6]
        base = identifier.lower()[: 63 - 8 - 6].rstrip("-")
        swap = {"temporary": f"{base}-rr-new-{digest}", "retired": f"{base}-rr-old-{digest}"}
    return {"exists": True, "status": instance.get("DBInstanceStatus"), "configurationSource": "live",
            "capturedAt": captured_at, "configuration": merge_patch(live, target.get("overrides") or {}),
            "restoringFrom": tags.get("rds-refresh:restoring"), "swap": swap}


# --- the waits: one look each ----------------------------------------------------------------


def wait_copied(event):
    copy = event["copy"]
    try:
        snapshot = rds(copy["region"]).describe_db_snapshots(DBSnapshotIdentifier=copy["identifier"])["DBSnapshots"][0]
    except ClientError as error:
        if error_code(error) == "DBSnapshotNotFound":
            raise TaskError("CopyFailed", f"snapshot {copy['identifier']} no longer exists") from error
        raise
    status = snapshot.get("Status")
    if status == "available":
        return {"status": "available"}
    if status in ("pending", "creating", "copying"):
        raise TaskError("NotReady", f"snapshot {copy['identifier']} is {status}")
    raise TaskError("CopyFailed", f"snapshot {copy['identifier']} is {status}")


def wait_available(event):
    target = event["target"]
    instance = find_instance(target["region"], target["dbInstanceIdentifier"])
    if instance is None:
        raise TaskError("RestoreFailed", f"{target['dbInstanceIdentifier']} does not exist")
    status = instance.get("DBInstanceStatus")
    endpoint = instance.get("Endpoint") or {}
    if status != "available" or not endpoint.get("Address"):
        raise TaskError("NotReady", f"{target['dbInstanceIdentifier']} is {status}")
    return {"endpoint": {"address": endpoint["Address"], "port": endpoint["Port"]}, "downtime": None}


def wait_deleted(event):
    target = event["target"]
    instance = find_instance(target["region"], target["dbInstanceIdentifier"])
    if instance is None:
        return {"deleted": True}
    if instance.get("DBInstanceStatus") == "deleting":
        raise TaskError("NotReady", f"{target['dbInstanceIdentifier']} is deleting")
    raise TaskError("TargetExists", f"{target['dbInstanceIdentifier']} is {instance.get('DBInstanceStatus')}")


HANDLERS = {
    "check-input": check_input,
    "lock-target": lock_target,
    "find-snapshot": find_snapshot,
    "describe-target": describe_target,
    "wait-copied": wait_copied,
    "wait-available": wait_available,
    "wait-deleted": wait_deleted,
}


# --- the Runtime API loop --------------------------------------------------------------------


def post(path, payload, headers=None):
    request = urllib.request.Request(f"{API}/{path}", data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    urllib.request.urlopen(request).read()


def main():
    handler = HANDLERS.get(TASK)
    if handler is None:
        post("init/error", {"errorType": "Runtime.InitError", "errorMessage": f"no Python reference for {TASK}"})
        sys.exit(1)
    while True:
        with urllib.request.urlopen(f"{API}/invocation/next") as response:
            request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
            event = json.loads(response.read() or b"{}")
        try:
            result = handler(event)
        except TaskError as error:
            post(f"invocation/{request_id}/error", {"errorType": error.name, "errorMessage": str(error)},
                 {"Lambda-Runtime-Function-Error-Type": error.name})
            continue
        except Exception as error:  # noqa: BLE001 - reported to the caller, as the runtime does
            post(f"invocation/{request_id}/error", {"errorType": type(error).__name__, "errorMessage": str(error)})
            continue
        post(f"invocation/{request_id}/response", result)


if __name__ == "__main__":
    main()
