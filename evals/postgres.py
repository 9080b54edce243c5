"""A throwaway PostgreSQL server on loopback, from Debian's packages.

:func:`throwaway_postgres` runs ``initdb`` into a temporary directory and
starts ``postgres`` on a free port of 127.0.0.1 with trust authentication for
loopback only and durability switched off (nothing it holds has to survive a
power cut, and it makes writes several times faster). As root it runs as the
``postgres`` system user, since PostgreSQL refuses to run as root. When the
block ends the server is stopped and its directory removed.

The tests (``tests/pg_server.py``) and the benchmarks use it::

    with throwaway_postgres() as server:
        url = server.create_database()
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
START_TIMEOUT = 30.0
SUPERUSER = "secretary"
INSTALL_HINT = "install the Debian package 'postgresql' (apt-get install postgresql)"


def bin_dir() -> Path | None:
    """The newest installed PostgreSQL's binaries (Debian keeps them per version)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _owner() -> tuple[int | None, int | None]:
    """Who runs the server's programs: the ``postgres`` user when we are root."""
    if os.geteuid() != 0:
        return None, None
    try:
        who = pwd.getpwnam("postgres")
    except KeyError:
        who = pwd.getpwnam("nobody")
    return who.pw_uid, who.pw_gid


@dataclass
class PostgresServer:
    """One running server: its folder, port and a way to make fresh databases."""

    dir: Path
    port: int
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def url(self, database: str = "postgres") -> str:
        """The connection URL of one database.

        Args:
            database: The database's name.

        Returns:
            A ``postgresql://`` URL for the superuser on loopback.
        """
        return f"postgresql://{SUPERUSER}@{HOST}:{self.port}/{database}"

    def create_database(self, prefix: str = "t") -> str:
        """Create a new, empty database.

        Args:
            prefix: The start of its name (a process id and a number follow).

        Returns:
            The new database's URL.
        """
        import psycopg

        name = f"{prefix}_{os.getpid()}_{next(self._numbers)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def log(self) -> str:
        """What the server wrote to its log so far."""
        path = self.dir / "postgres.log"
        return path.read_text(errors="replace") if path.exists() else ""


SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "shared_buffers": "64MB",
    "log_min_messages": "warning",
}


@contextmanager
def throwaway_postgres() -> Iterator[PostgresServer]:
    """Start a PostgreSQL server for the duration of the block.

    Yields:
        The running server.

    Raises:
        RuntimeError: PostgreSQL is not installed (the message says what to
            install), ``initdb`` failed, or the server did not start (the
            message carries its log).
    """
    bindir = bin_dir()
    if bindir is None:
        raise RuntimeError(
            f"PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); {INSTALL_HINT}."
        )
    uid, gid = _owner()
    as_owner: dict[str, Any] = (
        {} if uid is None else {"user": uid, "group": gid, "extra_groups": []}
    )
    folder = Path(tempfile.mkdtemp(prefix="secretary-pg-"))
    try:
        folder.chmod(0o755)
        data, sockets = folder / "data", folder / "run"
        sockets.mkdir()
        if uid is not None and gid is not None:
            os.chown(folder, uid, gid)
            os.chown(sockets, uid, gid)
        init = subprocess.run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            cwd=folder,
            **as_owner,
        )
        if init.returncode != 0:
            raise RuntimeError(
                f"PostgreSQL's initdb failed (exit code {init.returncode}):\n"
                f"{init.stdout}\n{init.stderr}"
            )
        server = PostgresServer(dir=folder, port=_free_port())
        settings = {
            "listen_addresses": HOST,
            "port": str(server.port),
            "unix_socket_directories": str(sockets),
            **SETTINGS,
        }
        options = [arg for k, v in settings.items() for arg in ("-c", f"{k}={v}")]
        with open(folder / "postgres.log", "wb") as log:
            if uid is not None:
                os.chown(folder / "postgres.log", uid, gid or 0)
            proc = subprocess.Popen(
                [str(bindir / "postgres"), "-D", str(data), *options],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=folder,
                **as_owner,
            )
            try:
                _wait_ready(bindir, server, proc)
                yield server
            finally:
                proc.send_signal(signal.SIGINT)  # "fast" shutdown: clients are disconnected
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _wait_ready(bindir: Path, server: PostgresServer, proc: subprocess.Popen[bytes]) -> None:
    """Return once the server accepts connections; raise with its log if it stopped or hung."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        ready = subprocess.run(
            [str(bindir / "pg_isready"), "-h", HOST, "-p", str(server.port), "-q"],
            stdin=subprocess.DEVNULL,
        )
        if ready.returncode == 0:
            return
        code = proc.poll()
        if code is not None or time.monotonic() > deadline:
            why = f"exit code {code}" if code is not None else f"not ready in {START_TIMEOUT:.0f} s"
            raise RuntimeError(f"PostgreSQL did not start ({why}); its log:\n{server.log()}")
        time.sleep(0.05)
