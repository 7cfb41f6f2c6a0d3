"""Seeding the emulator with a declared world: `POST /_emulator/seed` (README.md, "Seeding").

The worlds are declared once, in worlds.json, and every caller (the demo, the benchmarks, the
Rust and Node tests) asks the emulator for one by name instead of building it call by call. A
world is a list of instances, each with its region, its CreateDBInstance parameters, its
snapshots and the data its server holds (used only with --databases), and the schemas that
data is in:

    {"description": "...",
     "schemas": {"app": {"customers": {"columns": "id int PRIMARY KEY, name text, email text",
                                       "grants": {"app_user": "SELECT, INSERT", "reporting": "SELECT"}},
                         "marks": {"columns": "mark text PRIMARY KEY", "grants": {...}}}},
     "instances": [
       {"name": "x", "region": "us-east-1",
        "create": {CreateDBInstance parameters but DBInstanceIdentifier},
        "automatedSnapshotCreateTime": "2026-11-20T05:10:00Z",      (optional)
        "snapshots": [{"identifier": "{x}-2026-11-21", "snapshotCreateTime": "..."},
                      {"identifier": "{x}-in-progress", "status": "creating"}],  (optional)
        "data": {"logins": ["app_user", "reporting"],                (optional)
                 "databases": {"app": {"schema": "app",
                                       "rows": {"customers": [[1, "Ada Lovelace", "ada@example.com"]]}}},
                 "snapshotMarks": "app.marks"}}]}                    (optional)

In any string, `{name}` is the identifier the instance `name` of the same world is created
under and `{name.region}` its region, so a caller that renames an instance (`identifiers`)
renames its snapshots and every reference to it (an opt-in tag) too.

The instances are created through the emulator's own RDS API, as a client creates them (so
AWS's rules apply), by a client signed with the access key SEED_ACCESS_KEY, whose calls the
emulator neither logs nor faults: seeding is set-up, not the code under test. Whatever
transitions are set, what a world declares is what it gets: its instances `available`, its
snapshots `available` unless declared otherwise.

Passwords are made when a world is seeded, never kept in worlds.json: the master password of
each instance (unless `create`, or an override, gives MasterUserPassword or
ManageMasterUserPassword) and, with --databases, one for each login. With --databases, each
instance's data is written into its server right after CreateDBInstance, through the socket as
the emulator's superuser (data_plane.DataPlane.psql; passwords as SCRAM verifiers in psql
variables), in this order:
  1. the logins: `CREATE ROLE ... LOGIN PASSWORD ...`;
  2. each database, owned by the master user, and in it, as the master user, each table of its
     schema (`CREATE TABLE name (columns)`), its grants (`GRANT privileges ON name TO role`) and
     its rows (`INSERT INTO name VALUES ...`);
  3. with snapshotMarks "database.table" (a table of one text column): the row `before <id>`
     before each snapshot of the instance is taken (its automated one, then the declared ones,
     in order), and `after every snapshot` after the last, so that a restore tells which
     snapshot it came from and that later rows are not in it. The automated snapshot that
     CreateDBInstance made is taken again once the data is in (it is the oldest snapshot the
     world declares).
The answer then gives, for each instance with a server, how to reach it:
`"database": {"address": "127.0.0.1", "port": N, "masterUsername": ..., "passwords": {role: password}}`
(the master user and every login).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from data_plane import generate_password, quote_identifier, quote_literal, scram_verifier

WORLDS_FILE = Path(__file__).resolve().parent / "worlds.json"
SEED_ACCESS_KEY = "rds-emulator-seed"
REQUEST_FIELDS = {"world", "reset", "instances", "identifiers", "overrides"}
WORLD_FIELDS = {"description", "schemas", "instances"}
INSTANCE_FIELDS = {"name", "region", "create", "automatedSnapshotCreateTime", "snapshots", "data"}
SNAPSHOT_FIELDS = {"identifier", "status", "snapshotCreateTime"}
DATA_FIELDS = {"logins", "databases", "snapshotMarks"}
TABLE_FIELDS = {"columns", "grants"}
REFERENCE = re.compile(r"\{([A-Za-z][A-Za-z0-9_-]*)(\.region)?\}")
PRIVILEGES = re.compile(r"^(SELECT|INSERT|UPDATE|DELETE|TRUNCATE|REFERENCES|TRIGGER)(, *(SELECT|INSERT|UPDATE|DELETE|TRUNCATE|REFERENCES|TRIGGER))*$")
MARK_AFTER = "after every snapshot"


class SeedError(Exception):
    """A seed request that cannot be carried out: HTTP 400, with this message."""


@dataclass
class SnapshotPlan:
    identifier: str
    status: str
    created: str | None


@dataclass
class TablePlan:
    name: str
    columns: str
    grants: dict[str, str]
    rows: list[list[Any]]


@dataclass
class DataPlan:
    """What an instance's server holds (--databases)."""

    logins: list[str]
    databases: dict[str, list[TablePlan]]
    marks: tuple[str, str] | None  # (database, table)


@dataclass
class InstancePlan:
    name: str
    region: str
    identifier: str
    create: dict[str, Any]
    automated_created: str | None
    snapshots: list[SnapshotPlan] = field(default_factory=list)
    data: DataPlan | None = None


@dataclass
class DatabaseHooks:
    """How the seed reaches the servers (rds_emulator.Seeder), with --databases:
    `port(region, identifier)` the port of the instance's server (None: it has none);
    `sql(region, identifier, database, script, variables)` runs a script as rdsadmin;
    `retake_automated(region, identifier)` takes the instance's automated snapshots again."""

    port: Callable[[str, str], int | None]
    sql: Callable[[str, str, str, str, dict[str, str]], str]
    retake_automated: Callable[[str, str], None]


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
        if not isinstance(world, dict) or not isinstance(world.get("instances"), list) or not world["instances"] \
                or set(world) - WORLD_FIELDS:
            raise ValueError(f"{where}: expected {{\"description\": ..., \"schemas\": {{...}} (optional), \"instances\": [...]}}")
        _check_schemas(where, world.get("schemas", {}))
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
            if "data" in instance:
                _check_data(f"{where}: {instance['name']}: data", instance["data"], world.get("schemas", {}))
    return worlds


def _check_schemas(where: str, schemas: Any) -> None:
    if not isinstance(schemas, dict):
        raise ValueError(f"{where}: schemas is an object of schemas, each an object of tables")
    for schema, tables in schemas.items():
        if not isinstance(tables, dict) or not tables:
            raise ValueError(f"{where}: schema {schema}: expected an object of tables")
        for table, spec in tables.items():
            if not isinstance(spec, dict) or set(spec) - TABLE_FIELDS or not isinstance(spec.get("columns"), str):
                raise ValueError(f"{where}: schema {schema}: table {table} is {{\"columns\": \"SQL\", \"grants\": {{role: privileges}}}}")
            for role, privileges in spec.get("grants", {}).items():
                if not isinstance(privileges, str) or not PRIVILEGES.match(privileges):
                    raise ValueError(f"{where}: schema {schema}: table {table}: grants of {role}: privileges such as "
                                     f"\"SELECT, INSERT\", not {privileges!r}")


def _check_data(where: str, data: Any, schemas: dict[str, Any]) -> None:
    if not isinstance(data, dict) or set(data) - DATA_FIELDS:
        raise ValueError(f"{where}: expected {{\"logins\", \"databases\", \"snapshotMarks\"}}")
    logins = data.get("logins", [])
    if not isinstance(logins, list) or not all(isinstance(login, str) and login for login in logins):
        raise ValueError(f"{where}: logins is a list of role names")
    databases = data.get("databases", {})
    if not isinstance(databases, dict):
        raise ValueError(f"{where}: databases is an object of databases")
    for name, database in databases.items():
        if not isinstance(database, dict) or set(database) - {"schema", "rows"} or database.get("schema") not in schemas:
            raise ValueError(f"{where}: database {name} is {{\"schema\": one of the world's schemas, \"rows\": {{...}}}}")
        tables = schemas[database["schema"]]
        for table, rows in database.get("rows", {}).items():
            if table not in tables or not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise ValueError(f"{where}: database {name}: rows of {table}: a list of rows (lists) of a table of its schema")
        for table in tables.values():
            for role in table.get("grants", {}):
                if role not in logins:
                    raise ValueError(f"{where}: database {name}: a grant to {role}, which is not one of the logins")
    marks = data.get("snapshotMarks")
    if marks is not None:
        database, _, table = str(marks).partition(".")
        if database not in databases or table not in schemas[databases[database]["schema"]]:
            raise ValueError(f"{where}: snapshotMarks is \"database.table\", a table of one of its databases")


def _data_plan(data: dict[str, Any], schemas: dict[str, Any]) -> DataPlan:
    databases = {
        name: [
            TablePlan(table, spec["columns"], dict(spec.get("grants", {})), list(database.get("rows", {}).get(table, [])))
            for table, spec in schemas[database["schema"]].items()
        ]
        for name, database in data.get("databases", {}).items()
    }
    marks = data.get("snapshotMarks")
    return DataPlan(list(data.get("logins", [])), databases, tuple(marks.split(".", 1)) if marks else None)


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
            data=_data_plan(instance["data"], worlds[name].get("schemas", {})) if "data" in instance else None,
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


def data_scripts(data: DataPlan, master: str) -> tuple[list[tuple[str, str, dict[str, str]]], dict[str, str]]:
    """The scripts that write `data` into a server, as (database, script, psql variables), in
    order, and the passwords made for its logins. Names are quoted here; passwords go in as
    SCRAM verifiers in psql variables; the rest (columns, privileges) is worlds.json's SQL."""
    passwords = {login: generate_password() for login in data.logins}
    variables = {"master": master}
    roles = []
    for n, login in enumerate(data.logins):
        roles.append(f"CREATE ROLE :\"login_{n}\" LOGIN PASSWORD :'verifier_{n}';")
        variables[f"login_{n}"] = login
        variables[f"verifier_{n}"] = scram_verifier(passwords[login])
    roles += [f'CREATE DATABASE {quote_identifier(name)} OWNER :"master";' for name in data.databases]
    scripts = [("postgres", "\n".join(roles), variables)]
    for name, tables in data.databases.items():
        lines = ['SET ROLE :"master";']
        for table in tables:
            lines.append(f"CREATE TABLE {quote_identifier(table.name)} ({table.columns});")
            lines += [f"GRANT {privileges} ON TABLE {quote_identifier(table.name)} TO {quote_identifier(role)};"
                      for role, privileges in table.grants.items()]
            if table.rows:
                values = ", ".join("(" + ", ".join(quote_literal(v) for v in row) + ")" for row in table.rows)
                lines.append(f"INSERT INTO {quote_identifier(table.name)} VALUES {values};")
        scripts.append((name, "\n".join(lines), {"master": master}))
    return scripts, passwords


def mark_script(table: str, text: str) -> str:
    return f"INSERT INTO {quote_identifier(table)} VALUES ({quote_literal(text)});"


def seed(
    planned: Plan,
    rds: Callable[[str], Any],
    reset: Callable[[], None],
    settle_instance: Callable[[str, str, str | None], None],
    set_snapshot: Callable[[str, str, str, str | None], None],
    database: DatabaseHooks | None = None,
) -> dict[str, Any]:
    """Creates what `planned` asks for and answers what there is. `rds(region)` is a boto3 RDS
    client of the emulator; `settle_instance(region, identifier, automated_created)` makes an
    instance and its snapshots available, whatever transition holds them, dating its automated
    snapshots; `set_snapshot(region, identifier, status, created)` sets one snapshot;
    `database` reaches the servers (None: metadata only). Stops at the first call that fails
    (SeedError): what was created until then stays."""
    if planned.reset:
        reset()
    answer: dict[str, Any] = {}
    for instance in planned.instances:
        client = rds(instance.region)
        create = dict(instance.create)
        if create.get("MasterUserPassword") is None and not create.get("ManageMasterUserPassword"):
            create["MasterUserPassword"] = generate_password()
        master, master_password = create.get("MasterUsername"), create.get("MasterUserPassword")
        try:
            client.create_db_instance(DBInstanceIdentifier=instance.identifier, **create)
        except Exception as error:  # botocore's ClientError and ParamValidationError
            raise _client_error(error, "CreateDBInstance", instance.identifier, instance.region) from None
        settle_instance(instance.region, instance.identifier, instance.automated_created)
        port = database.port(instance.region, instance.identifier) if database is not None else None
        served = database if port is not None else None
        passwords = {master: master_password} if master_password is not None else {}

        def mark(text: str) -> None:
            if served is not None and instance.data is not None and instance.data.marks is not None:
                db, table = instance.data.marks
                served.sql(instance.region, instance.identifier, db, mark_script(table, text), {})

        if served is not None and instance.data is not None:
            scripts, logins = data_scripts(instance.data, master)
            for db, script, variables in scripts:
                served.sql(instance.region, instance.identifier, db, script, variables)
            passwords.update(logins)
            automated = client.describe_db_snapshots(DBInstanceIdentifier=instance.identifier, SnapshotType="automated")
            for snapshot in automated["DBSnapshots"]:
                mark(f"before {snapshot['DBSnapshotIdentifier']}")
            served.retake_automated(instance.region, instance.identifier)
        for snapshot in instance.snapshots:
            mark(f"before {snapshot.identifier}")
            try:
                client.create_db_snapshot(DBInstanceIdentifier=instance.identifier,
                                          DBSnapshotIdentifier=snapshot.identifier)
            except Exception as error:
                raise _client_error(error, "CreateDBSnapshot", snapshot.identifier, instance.region) from None
            set_snapshot(instance.region, snapshot.identifier, snapshot.status, snapshot.created)
        mark(MARK_AFTER)
        answer[instance.name] = describe(client, instance.region, instance.name, instance.identifier)
        if port is not None:
            answer[instance.name]["database"] = {
                "address": "127.0.0.1", "port": port, "masterUsername": master, "passwords": passwords,
            }
    return {"world": planned.world, "instances": answer}
