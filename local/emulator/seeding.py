"""Seeding the emulator with a declared world: `POST /_emulator/seed` (README.md, "Seeding").

The worlds are declared once, in worlds.json, and every caller (the demo, the benchmarks, the
Rust and Node tests) asks the emulator for one by name instead of building it call by call. A
world is a list of instances, each with its region, its CreateDBInstance parameters and its
snapshots:

    {"name": "x", "region": "us-east-1",
     "create": {CreateDBInstance parameters but DBInstanceIdentifier},
     "automatedSnapshotCreateTime": "2026-11-20T05:10:00Z",      (optional)
     "snapshots": [{"identifier": "{x}-2026-11-21", "snapshotCreateTime": "..."},
                   {"identifier": "{x}-in-progress", "status": "creating"}]}   (optional)

In any string, `{name}` is the identifier the instance `name` of the same world is created
under and `{name.region}` its region, so a caller that renames an instance (`identifiers`)
renames its snapshots and every reference to it (an opt-in tag) too.

The instances are created through the emulator's own RDS API, as a client creates them (so
AWS's rules apply), by a client signed with the access key SEED_ACCESS_KEY, whose calls the
emulator neither logs nor faults: seeding is set-up, not the code under test. Whatever
transitions are set, what a world declares is what it gets: its instances `available`, its
snapshots `available` unless declared otherwise.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

WORLDS_FILE = Path(__file__).resolve().parent / "worlds.json"
SEED_ACCESS_KEY = "rds-emulator-seed"
REQUEST_FIELDS = {"world", "reset", "instances", "identifiers", "overrides"}
INSTANCE_FIELDS = {"name", "region", "create", "automatedSnapshotCreateTime", "snapshots"}
SNAPSHOT_FIELDS = {"identifier", "status", "snapshotCreateTime"}
REFERENCE = re.compile(r"\{([A-Za-z][A-Za-z0-9_-]*)(\.region)?\}")


class SeedError(Exception):
    """A seed request that cannot be carried out: HTTP 400, with this message."""


@dataclass
class SnapshotPlan:
    identifier: str
    status: str
    created: str | None


@dataclass
class InstancePlan:
    name: str
    region: str
    identifier: str
    create: dict[str, Any]
    automated_created: str | None
    snapshots: list[SnapshotPlan] = field(default_factory=list)


@dataclass
class Plan:
    world: str
    reset: bool
    instances: list[InstancePlan]


def load_worlds(path: Path = WORLDS_FILE) -> dict[str, Any]:
    """The declared worlds; ValueError naming what is wrong with the file."""
    worlds = json.loads(path.read_text())
    if not isinstance(worlds, dict) or not worlds:
        raise ValueError(f"{path.name}: expected an object of worlds")
    for name, world in worlds.items():
        where = f"{path.name}: world {name}"
        if not isinstance(world, dict) or not isinstance(world.get("instances"), list) or not world["instances"]:
            raise ValueError(f"{where}: expected {{\"description\": ..., \"instances\": [...]}}")
        names = [instance.get("name") if isinstance(instance, dict) else None for instance in world["instances"]]
        if len(set(names)) != len(names):
            raise ValueError(f"{where}: instance names must be unique")
        for instance in world["instances"]:
            if not isinstance(instance, dict) or set(instance) - INSTANCE_FIELDS:
                raise ValueError(f"{where}: an instance has only the fields {sorted(INSTANCE_FIELDS)}")
            if not all(isinstance(instance.get(key), str) for key in ("name", "region")):
                raise ValueError(f"{where}: every instance has a name and a region")
            if not isinstance(instance.get("create"), dict) or "DBInstanceIdentifier" in instance["create"]:
                raise ValueError(f"{where}: {instance['name']}: create is CreateDBInstance's parameters "
                                 "without DBInstanceIdentifier")
            for snapshot in instance.get("snapshots", []):
                if not isinstance(snapshot, dict) or set(snapshot) - SNAPSHOT_FIELDS or "identifier" not in snapshot:
                    raise ValueError(f"{where}: {instance['name']}: a snapshot is "
                                     "{\"identifier\", \"status\" (optional), \"snapshotCreateTime\" (optional)}")
    return worlds


def _names(value: Any, known: set[str], where: str) -> dict[str, Any]:
    """`value`, an object keyed by instance names of the world (or absent)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SeedError(f"{where}: expected an object keyed by the world's instance names")
    unknown = set(value) - known
    if unknown:
        raise SeedError(f"{where}: no instance {', '.join(sorted(unknown))} in this world (it has {', '.join(sorted(known))})")
    return value


def _resolve(value: Any, names: dict[str, tuple[str, str]]) -> Any:
    """`value` with `{name}` and `{name.region}` replaced in every string."""
    if isinstance(value, str):
        def replace(match: re.Match) -> str:
            if match.group(1) not in names:
                raise SeedError(f"the world refers to an instance {match.group(1)!r} it does not declare")
            identifier, region = names[match.group(1)]
            return region if match.group(2) else identifier

        return REFERENCE.sub(replace, value)
    if isinstance(value, list):
        return [_resolve(item, names) for item in value]
    if isinstance(value, dict):
        return {key: _resolve(item, names) for key, item in value.items()}
    return value


def plan(body: Any, worlds: dict[str, Any]) -> Plan:
    """What a seed request asks for, checked and resolved; SeedError when it cannot be done."""
    if not isinstance(body, dict):
        raise SeedError("expected an object: {\"world\": NAME, ...}")
    unknown = set(body) - REQUEST_FIELDS
    if unknown:
        raise SeedError(f"unknown fields: {', '.join(sorted(unknown))} (known: {', '.join(sorted(REQUEST_FIELDS))})")
    name = body.get("world")
    if name not in worlds:
        raise SeedError(f"world must be one of {', '.join(sorted(worlds))}, not {name!r}")
    reset = body.get("reset", False)
    if not isinstance(reset, bool):
        raise SeedError("reset must be true or false")
    declared = worlds[name]["instances"]
    known = {instance["name"] for instance in declared}
    chosen = body.get("instances", [instance["name"] for instance in declared])
    if not isinstance(chosen, list) or not chosen or not all(isinstance(n, str) for n in chosen):
        raise SeedError("instances must be a non-empty list of the world's instance names")
    if len(set(chosen)) != len(chosen):
        raise SeedError("instances: each name once")
    _names(dict.fromkeys(chosen), known, "instances")
    identifiers = _names(body.get("identifiers"), known, "identifiers")
    for key, identifier in identifiers.items():
        if not isinstance(identifier, str) or not identifier:
            raise SeedError(f"identifiers: {key} must be a non-empty string")
    overrides = _names(body.get("overrides"), known, "overrides")
    for key, override in overrides.items():
        if not isinstance(override, dict):
            raise SeedError(f"overrides: {key} must be an object of CreateDBInstance parameters")
        if "DBInstanceIdentifier" in override:
            raise SeedError(f"overrides: {key}: name its identifier in \"identifiers\"")

    names = {i["name"]: (identifiers.get(i["name"], i["name"]), i["region"]) for i in declared}
    instances = []
    for instance in declared:  # in the world's order: x before the y that refers to it
        if instance["name"] not in chosen:
            continue
        create = dict(instance["create"])
        for key, value in overrides.get(instance["name"], {}).items():
            if value is None:
                create.pop(key, None)
            else:
                create[key] = value
        snapshots = [
            SnapshotPlan(_resolve(s["identifier"], names), s.get("status", "available"), s.get("snapshotCreateTime"))
            for s in instance.get("snapshots", [])
        ]
        instances.append(InstancePlan(
            name=instance["name"],
            region=instance["region"],
            identifier=names[instance["name"]][0],
            create=_resolve(create, names),
            automated_created=instance.get("automatedSnapshotCreateTime"),
            snapshots=snapshots,
        ))
    return Plan(world=name, reset=reset, instances=instances)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _client_error(error: Exception, action: str, what: str, region: str) -> SeedError:
    response = getattr(error, "response", None) or {}
    code = response.get("Error", {}).get("Code", type(error).__name__)
    message = response.get("Error", {}).get("Message", str(error))
    return SeedError(f"{action} {what} in {region}: {code}: {message}")


def describe(client: Any, region: str, name: str, identifier: str) -> dict[str, Any]:
    """What the seed answers for one instance: as DescribeDBInstances and DescribeDBSnapshots
    report it and its snapshots."""
    instance = client.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    snapshots = client.describe_db_snapshots(DBInstanceIdentifier=identifier)["DBSnapshots"]
    listed = sorted(
        ({
            "snapshotIdentifier": s["DBSnapshotIdentifier"],
            "snapshotArn": s["DBSnapshotArn"],
            "snapshotType": s.get("SnapshotType"),
            "status": s["Status"],
            "snapshotCreateTime": iso(s.get("SnapshotCreateTime")),
        } for s in snapshots),
        key=lambda s: (s["snapshotCreateTime"] is None, s["snapshotCreateTime"] or "", s["snapshotIdentifier"]),
    )
    available = [s for s in listed if s["status"] == "available" and s["snapshotCreateTime"]]
    return {
        "name": name,
        "region": region,
        "dbInstanceIdentifier": instance["DBInstanceIdentifier"],
        "dbInstanceArn": instance["DBInstanceArn"],
        "dbiResourceId": instance.get("DbiResourceId"),
        "status": instance["DBInstanceStatus"],
        "engineVersion": instance.get("EngineVersion"),
        "tags": {t["Key"]: t.get("Value", "") for t in instance.get("TagList", [])},
        "snapshots": listed,
        "newestAvailableSnapshot": available[-1]["snapshotIdentifier"] if available else None,
    }


def seed(
    planned: Plan,
    rds: Callable[[str], Any],
    reset: Callable[[], None],
    settle_instance: Callable[[str, str, str | None], None],
    set_snapshot: Callable[[str, str, str, str | None], None],
) -> dict[str, Any]:
    """Creates what `planned` asks for and answers what there is. `rds(region)` is a boto3 RDS
    client of the emulator; `settle_instance(region, identifier, automated_created)` makes an
    instance and its snapshots available, whatever transition holds them, dating its automated
    snapshots; `set_snapshot(region, identifier, status, created)` sets one snapshot. Stops at
    the first call that fails (SeedError): what was created until then stays."""
    if planned.reset:
        reset()
    answer: dict[str, Any] = {}
    for instance in planned.instances:
        client = rds(instance.region)
        try:
            client.create_db_instance(DBInstanceIdentifier=instance.identifier, **instance.create)
        except Exception as error:  # botocore's ClientError and ParamValidationError
            raise _client_error(error, "CreateDBInstance", instance.identifier, instance.region) from None
        settle_instance(instance.region, instance.identifier, instance.automated_created)
        for snapshot in instance.snapshots:
            try:
                client.create_db_snapshot(DBInstanceIdentifier=instance.identifier,
                                          DBSnapshotIdentifier=snapshot.identifier)
            except Exception as error:
                raise _client_error(error, "CreateDBSnapshot", snapshot.identifier, instance.region) from None
            set_snapshot(instance.region, snapshot.identifier, snapshot.status, snapshot.created)
        answer[instance.name] = describe(client, instance.region, instance.name, instance.identifier)
    return {"world": planned.world, "instances": answer}
