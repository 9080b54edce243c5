"""A real PostgreSQL server on loopback for the tests, from Debian's packages.

``postgres_server`` (one per test session) runs ``initdb`` into a temporary
directory and starts ``postgres`` on a free port of 127.0.0.1 with trust
authentication for loopback only and durability switched off (the tests
never need to survive a power cut, and it makes them several times faster).
As root it runs as the ``postgres`` system user (PostgreSQL refuses root).

``pg_url`` gives each test its own, empty database (``CREATE DATABASE`` takes
a few milliseconds from ``template0``'s copy), so tests never see each
other's rows. A missing server fails the tests with what to install; it never
skips them. ``scripts/install-test-servers.sh`` installs it.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HOST = "127.0.0.1"
START_TIMEOUT = 30.0
SUPERUSER = "secretary"


def _bin_dir() -> Path | None:
    """The newest installed PostgreSQL's binaries (Debian keeps them per version)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    """One running server: its folder, port and a way to make fresh databases."""

    dir: Path
    port: int
    _numbers: itertools.count = field(default_factory=lambda: itertools.count(1))

    def url(self, database: str = "postgres") -> str:
        """The connection URL of one database."""
        return f"postgresql://{SUPERUSER}@{HOST}:{self.port}/{database}"

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = f"{prefix}_{os.getpid()}_{next(self._numbers)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def log(self) -> str:
        path = self.dir / "postgres.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _owner() -> tuple[int | None, int | None]:
    """Who runs the server's programs: the ``postgres`` user when we are root."""
    if os.geteuid() != 0:
        return None, None
    try:
        who = pwd.getpwnam("postgres")
    except KeyError:
        who = pwd.getpwnam("nobody")
    return who.pw_uid, who.pw_gid


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = _bin_dir()
    if bindir is None:
        pytest.fail(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); "
            "run scripts/install-test-servers.sh.",
            pytrace=False,
        )
    uid, gid = _owner()
    as_owner = {} if uid is None else {"user": uid, "group": gid, "extra_groups": []}
    folder = Path(tempfile.mkdtemp(prefix="secretary-pg-"))
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
        **as_owner,  # type: ignore[arg-type]
    )
    if init.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"initdb failed:\n{init.stdout}\n{init.stderr}", pytrace=False)
    server = PostgresServer(dir=folder, port=_free_port())
    settings = {
        "listen_addresses": HOST,
        "port": str(server.port),
        "unix_socket_directories": str(sockets),
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_connections": "300",
        "shared_buffers": "64MB",
        "log_min_messages": "warning",
    }
    options = [arg for k, v in settings.items() for arg in ("-c", f"{k}={v}")]
    log = open(folder / "postgres.log", "wb")  # noqa: SIM115 - closed at teardown
    if uid is not None:
        os.chown(folder / "postgres.log", uid, gid or 0)
    proc = subprocess.Popen(
        [str(bindir / "postgres"), "-D", str(data), *options],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        cwd=folder,
        **as_owner,  # type: ignore[arg-type]
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            ready = subprocess.run(
                [str(bindir / "pg_isready"), "-h", HOST, "-p", str(server.port), "-q"],
                stdin=subprocess.DEVNULL,
            )
            if ready.returncode == 0:
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(
                    f"PostgreSQL did not start (exit code {proc.poll()}):\n{server.log()}",
                    pytrace=False,
                )
            time.sleep(0.05)
        yield server
    finally:
        proc.send_signal(signal.SIGINT)  # "fast" shutdown: clients are disconnected
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database for this test."""
    return postgres_server.create_database()
