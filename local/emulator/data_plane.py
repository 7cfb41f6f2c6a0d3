"""The emulator's data plane: one real PostgreSQL server per emulated RDS for PostgreSQL instance.

Off by default; rds_emulator.py --databases turns it on (README.md, "The data plane"). Then
every instance of engine `postgres` that CreateDBInstance, RestoreDBInstanceFromDBSnapshot or
RestoreDBInstanceToPointInTime makes gets a server of its own, and the RDS operations act on
its data as on RDS:

- a server is the template data directory (made once per emulator with initdb) copied and
  started: listen_addresses 127.0.0.1, a free port, its unix socket in a directory of its own,
  `ssl = on` with a certificate of the emulator's CA (subjectAltName IP:127.0.0.1 and
  DNS:localhost, so clients verify-full against 127.0.0.1), password_encryption
  scram-sha-256, and pg_hba.conf (HBA below): only the socket for the bootstrap superuser
  `rdsadmin` (the emulator's, as on RDS), only TLS with SCRAM over TCP (rds.force_ssl=1);
- the master role (MasterUsername) is LOGIN CREATEROLE CREATEDB and a member of
  `rds_superuser` (NOLOGIN CREATEROLE CREATEDB), not a superuser, as on RDS; DBName, if
  given, is a database it owns; it owns `postgres` and `template1` too;
- a snapshot is a physical copy of the server at that moment (`pg_basebackup` over the
  socket: a tar of the data directory with the WAL it needs, compressed with lz4 if the `lz4`
  tool is there to unpack it, else with gzip at level 1), so roles and their passwords travel
  with it; a copy of a snapshot shares the file (a hard link); deleting a snapshot unlinks its
  file, so the data goes when no snapshot shares it any more;
- a restore starts a new server from the snapshot's file (new port; the roles, passwords and
  rows of the snapshot);
- every server archives its WAL (archive_mode, into `<dir>/servers/<n>/archive`) and takes a
  base backup once started; a point-in-time restore unpacks the source's base backup and
  replays its archive up to the time asked (recovery_target_time, then promote);
- the master password is set with ALTER ROLE as rdsadmin, from a SCRAM-SHA-256 verifier made
  here (scram_verifier), so no password reaches a command line, a server log or psql's echo:
  values go to psql as variables set on its stdin (`\\set`), and are quoted by psql
  (`:'name'`, `:"name"`).

Everything lives in the database directory (data directories, snapshot files, sockets, the
CA), which a guard process (database_guard.py) removes, after stopping every server, when the
emulator exits in any way, SIGKILL included.

The servers are Debian's PostgreSQL (15 on this project's machines): DescribeDBInstances still
reports the EngineVersion the caller asked for. The server binaries refuse to run as root: when
the emulator runs as root they run as the `postgres` user (runuser).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import os
import pwd
import re
import secrets
import shlex
import shutil
import socket
import string
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parents[1]
DEFAULT_PARENT = REPOSITORY / ".local" / "emulator-databases"
GUARD = HERE / "database_guard.py"

BOOTSTRAP_USER = "rdsadmin"
SERVER_USER_WHEN_ROOT = "postgres"
# The longest unix socket path Linux takes (sun_path is 108 bytes with the final NUL).
SOCKET_PATH_MAX = 107

HBA = """\
# TYPE  DATABASE     USER      ADDRESS        METHOD
local   all          rdsadmin                 trust
local   replication  rdsadmin                 trust
hostssl all          all       127.0.0.1/32   scram-sha-256
"""

SETTINGS = """
# --- rds-emulator ---------------------------------------------------------------------------
listen_addresses = '127.0.0.1'
ssl = on
ssl_cert_file = {cert}
ssl_key_file = {key}
password_encryption = 'scram-sha-256'
max_connections = 40
shared_buffers = 16MB
max_wal_senders = 4
# The data lives as long as the emulator: nothing needs to survive a crash of the machine.
fsync = off
synchronous_commit = off
log_min_messages = warning
# Point-in-time restore: every server archives its WAL into its own folder (the archiver runs in
# the data directory: `../archive` is <dir>/servers/<n>/archive), and keeps a base backup from
# its start (`base<suffix>` beside it); a restore replays that archive up to the time asked.
archive_mode = on
archive_command = 'cp %p ../archive/%f'
"""

TEMPLATE_SQL = """\
CREATE ROLE rds_superuser NOLOGIN CREATEROLE CREATEDB;
GRANT pg_monitor, pg_signal_backend TO rds_superuser;
"""

# Seeded passwords: letters and digits only, so that any client can take them as they are.
SAFE_ALPHABET = string.ascii_letters + string.digits
# RDS-managed secrets: printable ASCII that RDS for PostgreSQL allows (not `/`, `"`, `@` or a
# space), without `'` and `\` too, as RDS's generated passwords have punctuation a client must
# quote or escape.
MANAGED_ALPHABET = SAFE_ALPHABET + "!#$%&()*+,-.:;<=>?[]^_`{|}~"


class DataPlaneError(Exception):
    """A server could not be made, started, copied or reached."""


def generate_password(length: int = 28, alphabet: str = SAFE_ALPHABET) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def scram_verifier(password: str, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802, 7677), as
    `ALTER ROLE ... PASSWORD` takes it: the server then never sees the password itself.
    (The passwords here are ASCII, which SASLprep leaves as they are.)"""
    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    b64 = lambda data: base64.b64encode(data).decode()
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: Any) -> str:
    """A SQL constant for a value of worlds.json (text, a number, true/false or null)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _psql_value(value: str) -> str:
    """`value` inside the single quotes of a psql meta-command (`\\set name '...'`): psql
    processes backslash escapes there, and a quote is written twice."""
    return value.replace("\\", "\\\\").replace("'", "''")


def find_bindir() -> Path | None:
    """Where PostgreSQL's server binaries are: `pg_config --bindir`, else the newest of
    Debian's /usr/lib/postgresql/<version>/bin."""
    candidates: list[Path] = []
    try:
        answer = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, timeout=10)
        if answer.returncode == 0 and answer.stdout.strip():
            candidates.append(Path(answer.stdout.strip()))
    except (OSError, subprocess.TimeoutExpired):
        pass
    version = lambda path: [int(p) for p in re.findall(r"\d+", path.parent.name)]
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    for candidate in candidates:
        if all((candidate / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres", "pg_basebackup", "psql")):
            return candidate
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    """One PostgreSQL server: `<dir>/servers/<n>/` holds its data directory, socket
    directory and log."""

    number: int
    directory: Path
    port: int = 0

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def socket(self) -> Path:
        return self.directory / "socket"

    @property
    def log(self) -> Path:
        return self.directory / "server.log"

    @property
    def archive(self) -> Path:
        """Where the server's archiver copies its WAL segments (archive_command)."""
        return self.directory / "archive"

    def base_backup(self, suffix: str) -> Path:
        """The server's base backup, taken once it started: where a point-in-time restore begins."""
        return self.directory / f"base{suffix}"


class DataPlane:
    """The servers of one emulator, its snapshot files, its CA and its guard.

    The emulated resources are moto's objects (DBInstance, DBSnapshot); the data plane keeps
    what belongs to each by the object itself, so that a rename (the same object under a new
    identifier) keeps the server, and a restore (a new object) gets a server of its own."""

    def __init__(self, directory: Path | None, label: str) -> None:
        bindir = find_bindir()
        if bindir is None:
            raise DataPlaneError(
                "--databases needs PostgreSQL's server binaries (initdb, pg_ctl, postgres, pg_basebackup): "
                "none found through `pg_config --bindir` or in /usr/lib/postgresql/*/bin; run scripts/setup"
            )
        self.bindir = bindir
        self.user = SERVER_USER_WHEN_ROOT if os.geteuid() == 0 else None
        if self.user is not None:
            try:
                pwd.getpwnam(self.user)
            except KeyError:
                raise DataPlaneError(
                    f"the emulator runs as root and PostgreSQL refuses to: it needs the user {self.user!r} "
                    "(Debian's postgresql package makes it)"
                ) from None
        self.root = (directory or DEFAULT_PARENT / label).absolute()
        # (pg_basebackup's compression, tar's option to unpack it, the files' suffix): lz4 is
        # twice as quick as gzip here (README.md, "The data plane"), but tar needs its tool.
        self.compression = ("lz4", "--use-compress-program=lz4", ".tar.lz4") if shutil.which("lz4") \
            else ("gzip:1", "--gzip", ".tar.gz")
        self.lock = threading.RLock()
        self._servers: dict[int, tuple[Any, Server]] = {}
        self._archives: dict[int, tuple[Any, Path]] = {}
        self._numbers = itertools.count(1)
        self._template_ready = threading.Event()
        self._template_error: BaseException | None = None
        self._guard: subprocess.Popen | None = None
        self._env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LC_ALL": "C", "LANG": "C", "TZ": "UTC",
            "PGCONNECT_TIMEOUT": "10", "PGPASSFILE": os.devnull,
        }

    # --- paths and processes -----------------------------------------------------------------

    @property
    def ca_bundle(self) -> Path:
        return self.root / "ca" / "ca.pem"

    @property
    def template(self) -> Path:
        return self.root / "template"

    def tool(self, name: str) -> str:
        return str(self.bindir / name)

    def _as_server(self, command: list[str]) -> list[str]:
        return ["runuser", "-u", self.user, "--", *command] if self.user else command

    def _own(self, *paths: Path) -> None:
        if self.user:
            for path in paths:
                shutil.chown(path, self.user, self.user)

    def _run(self, command: list[str], *, what: str, input: str | None = None, stdin: Any = None,
             stdout: Any = None, timeout: float = 120) -> str:
        """Runs `command` (never with a secret on it) in the database directory; its stdout,
        or DataPlaneError naming `what` with its stderr."""
        try:
            answer = subprocess.run(
                command, input=input, stdin=(stdin or subprocess.DEVNULL) if input is None else None,
                stdout=stdout if stdout is not None else subprocess.PIPE, stderr=subprocess.PIPE,
                env=self._env, cwd=self.root, timeout=timeout, text=stdout is None,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise DataPlaneError(f"{what}: {Path(command[0]).name}: {error}") from None
        if answer.returncode != 0:
            error = answer.stderr if isinstance(answer.stderr, str) else answer.stderr.decode("utf-8", "replace")
            raise DataPlaneError(f"{what}: {Path(command[0]).name} {' '.join(command[1:2])} failed: {error.strip()}")
        return answer.stdout if isinstance(answer.stdout, str) else ""

    # --- start and stop ----------------------------------------------------------------------

    def start(self) -> None:
        """Makes the database directory and its guard (first, so that what follows is
        removed whatever happens), the CA and server certificate, and starts making the
        template in the background (a first server waits for it)."""
        if self.root.exists() and (not self.root.is_dir() or any(self.root.iterdir())):
            raise DataPlaneError(f"--database-dir {self.root} exists and is not empty: it would be removed at exit")
        self.root.parent.mkdir(parents=True, exist_ok=True)
        self.root.mkdir(exist_ok=True)
        self.root.chmod(0o755)
        longest = self.root / "servers" / "99999" / "socket" / ".s.PGSQL.65535"
        if len(str(longest)) > SOCKET_PATH_MAX:
            shutil.rmtree(self.root, ignore_errors=True)
            raise DataPlaneError(f"--database-dir {self.root} is too long for a unix socket path (at most "
                                 f"{SOCKET_PATH_MAX - len(str(longest)) + len(str(self.root))} characters)")
        if self.user and subprocess.run(self._as_server(["test", "-x", str(self.root)]), cwd="/").returncode != 0:
            self.root.rmdir()
            raise DataPlaneError(f"the user {self.user} (who runs the servers) cannot reach {self.root}: every folder "
                                 "above it must be searchable by others (chmod o+x)")
        guard = [sys.executable, str(GUARD), str(self.root), self.tool("pg_ctl")]
        self._guard = subprocess.Popen(
            guard + (["--as", self.user] if self.user else []),
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, start_new_session=True,
        )
        (self.root / "servers").mkdir()
        self._own(self.root / "servers")
        (self.root / "snapshots").mkdir(mode=0o700)
        self._make_ca()
        threading.Thread(target=self._make_template, name="template", daemon=True).start()

    def close(self) -> None:
        """Stops every server and removes the database directory: closes the guard's pipe
        and waits for the guard, which does both (the same way as when the emulator dies)."""
        guard, self._guard = self._guard, None
        if guard is None:
            return
        try:
            guard.stdin.close()
        except OSError:
            pass
        try:
            guard.wait(timeout=60)
        except subprocess.TimeoutExpired:
            guard.kill()
            guard.wait()

    def _make_ca(self) -> None:
        """A CA made for this emulator, and one server certificate it signs for every server:
        subjectAltName IP:127.0.0.1 and DNS:localhost (EC P-256 keys: quick to make)."""
        ca = self.root / "ca"
        ca.mkdir()
        (ca / "server.ext").write_text(
            "basicConstraints = CA:FALSE\n"
            "keyUsage = critical, digitalSignature, keyEncipherment\n"
            "extendedKeyUsage = serverAuth\n"
            "subjectAltName = IP:127.0.0.1, DNS:localhost\n"
        )
        key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        self._run(["openssl", "req", "-x509", "-new", *key, "-keyout", "ca/ca.key", "-out", "ca/ca.pem", "-days", "30",
                   "-subj", "/CN=rds-emulator local CA", "-addext", "basicConstraints=critical,CA:TRUE",
                   "-addext", "keyUsage=critical,keyCertSign,cRLSign"], what="making the CA")
        self._run(["openssl", "req", "-new", *key, "-keyout", "ca/server.key", "-out", "ca/server.csr",
                   "-subj", "/CN=localhost"], what="making the server key")
        self._run(["openssl", "x509", "-req", "-in", "ca/server.csr", "-CA", "ca/ca.pem", "-CAkey", "ca/ca.key",
                   "-set_serial", f"0x{secrets.token_hex(8)}", "-days", "30", "-sha256", "-extfile", "ca/server.ext",
                   "-out", "ca/server.pem"], what="signing the server certificate")
        (ca / "ca.key").chmod(0o600)
        # PostgreSQL wants its key owned by the server's user, with no access for others.
        (ca / "server.key").chmod(0o600)
        self._own(ca / "server.key")
        for public in ("ca.pem", "server.pem"):
            (ca / public).chmod(0o644)

    def _make_template(self) -> None:
        try:
            self.template.mkdir(mode=0o700)
            self._own(self.template)
            self._run(self._as_server([
                self.tool("initdb"), "-D", str(self.template), "-U", BOOTSTRAP_USER, "-A", "trust", "-E", "UTF8",
                "--locale=C", "--no-sync", "--no-instructions", "--wal-segsize=1",
            ]), what="initdb of the template")
            (self.template / "pg_hba.conf").write_text(HBA)
            with open(self.template / "postgresql.conf", "a") as conf:
                conf.write(SETTINGS.format(cert=quote_literal(str(self.root / "ca" / "server.pem")),
                                           key=quote_literal(str(self.root / "ca" / "server.key"))))
            # Single-user mode: no server to start and stop for the template's own roles.
            self._run(self._as_server([self.tool("postgres"), "--single", "-D", str(self.template), "postgres"]),
                      input=TEMPLATE_SQL, what="the template's roles")
        except BaseException as error:  # the first server reports it
            self._template_error = error
        finally:
            self._template_ready.set()

    # --- servers -----------------------------------------------------------------------------

    def server_of(self, instance: Any) -> Server | None:
        with self.lock:
            entry = self._servers.get(id(instance))
            return entry[1] if entry and entry[0] is instance else None

    def instances(self) -> Iterator[tuple[Any, Server]]:
        with self.lock:
            return iter(list(self._servers.values()))

    def create_server(self, instance: Any, *, master: str, password: str | None, db_name: str | None,
                      archive: Path | None = None, source: Any = None, restore_time: str | None = None) -> Server:
        """Starts the server of a new instance: from `archive` (a snapshot's file: a restore),
        from the server of `source` as it was at `restore_time` (a point-in-time restore: its base
        backup and archived WAL replayed up to then; without a time, its current state), or a new
        one with the master role `master` (its password `password`, if any) and the database
        `db_name` (if any). Then takes the new server's own base backup."""
        self._template_ready.wait()
        if self._template_error is not None:
            raise DataPlaneError(f"the template data directory could not be made: {self._template_error}")
        with self.lock:
            number = next(self._numbers)
            server = Server(number, self.root / "servers" / str(number))
            self._servers[id(instance)] = (instance, server)
        try:
            server.directory.mkdir()
            server.socket.mkdir(mode=0o755)
            server.archive.mkdir(mode=0o700)
            self._own(server.directory, server.socket, server.archive)
            source_server = self.server_of(source) if source is not None else None
            if source_server is not None and restore_time is not None \
                    and source_server.base_backup(self.compression[2]).exists():
                self._start_at(server, source_server, restore_time)
            elif source_server is not None:
                temporary = self.root / "snapshots" / f"point-in-time-{server.number}{self.compression[2]}"
                try:
                    self._backup(source_server, temporary)
                    self._start_from(server, temporary)
                finally:
                    temporary.unlink(missing_ok=True)
            elif archive is not None:
                self._start_from(server, archive)
            else:
                self._run(self._as_server(["cp", "-a", str(self.template), str(server.data)]), what="copying the template")
                self._start(server)
                self._initialise(server, master, password, db_name)
            self._backup(server, server.base_backup(self.compression[2]))
            return server
        except BaseException:
            self.drop_server(instance)
            raise

    def _start_from(self, server: Server, archive: Path) -> None:
        server.data.mkdir(mode=0o700)
        self._own(server.data)
        with open(archive, "rb") as tar:
            self._run(self._as_server(["tar", "-x", self.compression[1], "-f", "-", "-C", str(server.data)]), stdin=tar,
                      what=f"unpacking {archive.name}")
        self._start(server)

    def _start_at(self, server: Server, source: Server, restore_time: str) -> None:
        """Point-in-time recovery: the source's base backup, its archived WAL replayed up to
        `restore_time` (recovery_target_time; a commit at that very time is kept, the first
        one after it is not), then promoted. The source first commits a transaction (so that
        a commit after the target is in the WAL: recovery must reach its target) and switches
        to a new WAL segment, which it archives before the replay begins."""
        self.psql(source, "SELECT txid_current();")
        segment = self.psql(source, "SELECT pg_walfile_name(pg_switch_wal());").strip()
        deadline = time.monotonic() + 30
        while True:
            archived = self.psql(source, "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver;").strip()
            if archived[8:] >= segment[8:] or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        server.data.mkdir(mode=0o700)
        self._own(server.data)
        with open(source.base_backup(self.compression[2]), "rb") as tar:
            self._run(self._as_server(["tar", "-x", self.compression[1], "-f", "-", "-C", str(server.data)]), stdin=tar,
                      what="unpacking a base backup")
        with open(server.data / "postgresql.auto.conf", "a") as conf:
            conf.write(
                f"restore_command = {quote_literal('cp ' + shlex.quote(str(source.archive)) + '/%f %p')}\n"
                f"recovery_target_time = {quote_literal(restore_time)}\n"
                "recovery_target_action = 'promote'\n"
            )
        (server.data / "recovery.signal").touch()
        self._own(server.data / "recovery.signal")
        self._start(server)
        deadline = time.monotonic() + 60
        while self.psql(server, "SELECT pg_is_in_recovery();").strip() != "f":
            if time.monotonic() > deadline:
                raise DataPlaneError(f"the point-in-time recovery of the server on port {server.port} did not end")
            time.sleep(0.02)

    def _start(self, server: Server) -> None:
        error = ""
        for _ in range(3):  # a free port may be taken between the probe and the start
            server.port = _free_port()
            options = f"-p {server.port} -k {shlex.quote(str(server.socket))}"
            try:
                self._run(self._as_server([
                    self.tool("pg_ctl"), "start", "-D", str(server.data), "-l", str(server.log), "-s", "-w", "-t", "60",
                    "-o", options,
                ]), what=f"starting the server in {server.data}")
                return
            except DataPlaneError as failed:
                error = str(failed)
        log = server.log.read_text(errors="replace")[-2000:] if server.log.exists() else ""
        raise DataPlaneError(f"{error}\n{log}".strip())

    def _initialise(self, server: Server, master: str, password: str | None, db_name: str | None) -> None:
        script = [
            'CREATE ROLE :"master" LOGIN CREATEROLE CREATEDB IN ROLE rds_superuser;',
            'ALTER DATABASE postgres OWNER TO :"master";',
            'ALTER DATABASE template1 OWNER TO :"master";',
        ]
        variables = {"master": master}
        if password is not None:
            script.append('ALTER ROLE :"master" PASSWORD :\'verifier\';')
            variables["verifier"] = scram_verifier(password)
        if db_name:
            script.append('CREATE DATABASE :"db_name" OWNER :"master";')
            variables["db_name"] = db_name
        self.psql(server, "\n".join(script), variables=variables)

    def drop_server(self, instance: Any) -> None:
        """Stops the server of `instance` (if it has one) and removes its data."""
        with self.lock:
            entry = self._servers.pop(id(instance), None)
        if entry is not None and entry[0] is instance:
            self._stop([entry[1]])

    def _stop(self, servers: list[Server]) -> None:
        stopping = [
            subprocess.Popen(
                self._as_server([self.tool("pg_ctl"), "stop", "-D", str(s.data), "-m", "immediate", "-s", "-w"]),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                env=self._env, cwd=self.root,
            )
            for s in servers if (s.data / "postmaster.pid").exists()
        ]
        for process in stopping:
            process.wait(timeout=60)
        for s in servers:
            shutil.rmtree(s.directory, ignore_errors=True)

    def reset(self) -> None:
        """Stops and removes every server and every snapshot's file (the CA and the template
        stay)."""
        with self.lock:
            servers = [server for _, server in self._servers.values()]
            archives = [path for _, path in self._archives.values()]
            self._servers.clear()
            self._archives.clear()
        self._stop(servers)
        for path in archives:
            path.unlink(missing_ok=True)

    # --- SQL ---------------------------------------------------------------------------------

    def psql(self, server: Server, script: str, database: str = "postgres", variables: dict[str, str] | None = None) -> str:
        """Runs `script` as rdsadmin through the server's socket, stopping at the first error;
        its output, unaligned and without headers. `variables` are set on psql's stdin before
        the script (for :'name' and :"name"), never on its command line."""
        lines = [f"\\set {name} '{_psql_value(value)}'" for name, value in (variables or {}).items()]
        return self._run([
            self.tool("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", str(server.socket),
            "-p", str(server.port), "-U", BOOTSTRAP_USER, "-d", database, "-f", "-",
        ], input="\n".join(lines + [script]) + "\n", what=f"SQL in the server on port {server.port}")

    def set_password(self, instance: Any, role: str, password: str) -> bool:
        """Sets the password of `role` in the server of `instance`; False if it has none."""
        server = self.server_of(instance)
        if server is None:
            return False
        self.psql(server, 'ALTER ROLE :"role" PASSWORD :\'verifier\';',
                  variables={"role": role, "verifier": scram_verifier(password)})
        return True

    # --- snapshots ---------------------------------------------------------------------------

    def archive_of(self, snapshot: Any) -> Path | None:
        with self.lock:
            entry = self._archives.get(id(snapshot))
            return entry[1] if entry and entry[0] is snapshot else None

    def take_snapshot(self, instance: Any, snapshot: Any) -> bool:
        """The physical copy of the server of `instance` that `snapshot` holds from now on (a
        second call takes it again); False if the instance has no server."""
        server = self.server_of(instance)
        if server is None:
            return False
        path = self.archive_of(snapshot) or self._new_archive_path()
        self._backup(server, path)
        with self.lock:
            self._archives[id(snapshot)] = (snapshot, path)
        return True

    def _backup(self, server: Server, path: Path) -> None:
        partial = path.with_name(path.name + ".partial")
        with open(partial, "wb") as out:
            self._run([
                self.tool("pg_basebackup"), "-h", str(server.socket), "-p", str(server.port), "-U", BOOTSTRAP_USER,
                "-D", "-", "-F", "t", "-X", "fetch", "--checkpoint=fast", f"--compress={self.compression[0]}", "--no-manifest",
            ], stdout=out, what=f"pg_basebackup of the server on port {server.port}")
        # A new file (never written over in place): a copy sharing the old one keeps it.
        os.replace(partial, path)

    def share_snapshot(self, source: Any, copy: Any) -> bool:
        """`copy` (CopyDBSnapshot's target) holds the same data as `source`: a hard link to its
        file, which neither changes again."""
        original = self.archive_of(source)
        if original is None:
            return False
        path = self._new_archive_path()
        os.link(original, path)
        with self.lock:
            self._archives[id(copy)] = (copy, path)
        return True

    def _new_archive_path(self) -> Path:
        return self.root / "snapshots" / f"{next(self._numbers)}{self.compression[2]}"

    def forget_snapshot(self, snapshot: Any) -> None:
        """DeleteDBSnapshot: unlinks the snapshot's file; the data goes with the last link."""
        with self.lock:
            entry = self._archives.pop(id(snapshot), None)
        if entry is not None and entry[0] is snapshot:
            entry[1].unlink(missing_ok=True)

    # --- the control endpoint ----------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """GET /_emulator/databases (servers by region and identifier)."""
        servers = [
            {"region": instance.region, "dbInstanceIdentifier": instance.db_instance_identifier,
             "port": server.port, "dataDirectory": str(server.data)}
            for instance, server in self.instances()
        ]
        servers.sort(key=lambda s: (s["region"], s["dbInstanceIdentifier"]))
        return {"enabled": True, "caBundle": str(self.ca_bundle), "servers": servers}
