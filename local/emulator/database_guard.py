#!/usr/bin/env python3
"""The guard of the emulator's PostgreSQL servers: stops them when the emulator is gone.

rds_emulator.py --databases starts one guard at launch (data_plane.DataPlane.start) with its
stdin the read end of a pipe that only the emulator holds. The guard reads nothing from it but
its end: when the emulator exits, however it exits (a normal exit, SIGTERM, SIGINT, and also
SIGKILL, which runs none of the emulator's own clean-up), the operating system closes the
pipe. The guard then stops every server whose data directory is under the database directory
(`<dir>/servers/*/data` with a `postmaster.pid`) with `pg_ctl stop -m immediate`, all at once,
and removes the database directory. The emulator's own exit goes the same way: it closes the
pipe and waits for the guard.

It runs in a session of its own, so that a signal sent to the emulator's process group (a
terminal's Ctrl-C) does not stop it before it has cleaned up, and it ignores SIGINT, SIGTERM
and SIGHUP for the same reason.

Usage: database_guard.py DIR PG_CTL [--as USER]
  DIR     the database directory (removed at the end)
  PG_CTL  the path of pg_ctl
  --as    run pg_ctl as USER (with runuser), as the emulator does when it runs as root
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
from pathlib import Path

STOP_TIMEOUT = 30


def running_servers(root: Path) -> list[Path]:
    """The data directories under `root` with a postmaster.pid: the servers that may run."""
    return sorted(pid.parent for pid in root.glob("servers/*/data/postmaster.pid"))


def stop_all(data_directories: list[Path], pg_ctl: str, user: str | None, cwd: Path) -> None:
    """`pg_ctl stop -m immediate` of every one of them, all at once, waiting for each."""
    prefix = ["runuser", "-u", user, "--"] if user else []
    stopping = [
        subprocess.Popen(
            [*prefix, pg_ctl, "stop", "-D", str(data), "-m", "immediate", "-s", "-w", "-t", str(STOP_TIMEOUT)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd,
        )
        for data in data_directories
    ]
    for process in stopping:
        try:
            process.wait(timeout=STOP_TIMEOUT + 5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("pg_ctl")
    parser.add_argument("--as", dest="user")
    args = parser.parse_args(argv)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)

    while sys.stdin.buffer.read(65536):
        pass  # until the emulator is gone

    root = args.directory
    if root.is_dir():
        stop_all(running_servers(root), args.pg_ctl, args.user, root.parent)
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
