"""A real CalDAV server on loopback for the tests: Radicale from a throwaway configuration.

``radicale_server`` starts one Radicale per test session (well under a second) on a
free port of 127.0.0.1, with its storage in a temporary directory, htpasswd
logins with plain passwords, no delay after a wrong password, and rights that
let each user own their own collections only. ``ada`` and ``bob`` exist from
the start; ``new_user()`` adds a fresh user (Radicale re-reads the htpasswd
file on every login), so tests never see each other's calendars.
``radicale_tls_server`` is the same over HTTPS, with a certificate from the
session's test CA (the ``tls`` fixture of ``servers.py``).

A missing or broken Radicale fails the tests (with its output); it never skips
them. ``scripts/install-test-servers.sh`` installs it.
"""

from __future__ import annotations

import itertools
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

RADICALE = "/usr/bin/radicale"
HOST = "127.0.0.1"
START_TIMEOUT = 15.0

_CONFIG = """\
[server]
hosts = {host}:{port}

[auth]
type = htpasswd
htpasswd_filename = {dir}/users
htpasswd_encryption = plain
delay = 0

[rights]
type = owner_only

[storage]
filesystem_folder = {dir}/collections

[web]
type = none

[logging]
level = info
mask_passwords = True
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Radicale:
    """A running Radicale and what tests need to use it."""

    dir: Path
    port: int
    scheme: str = "http"
    host: str = HOST
    ca_file: str = ""
    """The CA that signed the server's certificate (HTTPS only)."""
    users: dict[str, str] = field(default_factory=dict)
    """Login name -> password."""
    _counter: Iterator[int] = field(default_factory=itertools.count)

    @property
    def url(self) -> str:
        """The server's root URL (CalDAV clients discover the principal from it)."""
        return f"{self.scheme}://{self.host}:{self.port}/"

    def output(self) -> str:
        """What Radicale printed so far (its log)."""
        try:
            return (self.dir / "output.log").read_text(errors="replace")
        except OSError:
            return "(no output)"

    def add_user(self, name: str) -> str:
        """Create the login ``name`` with a random password; returns the name."""
        password = f"pw-{secrets.token_hex(8)}"
        with open(self.dir / "users", "a", encoding="utf-8") as fh:
            fh.write(f"{name}:{password}\n")
        self.users[name] = password
        return name

    def new_user(self, name: str = "user") -> str:
        """A fresh login (with no calendars yet) that no other test uses."""
        return self.add_user(f"{name}{next(self._counter)}")

    def account(self, user: str, **over: Any) -> dict[str, Any]:
        """Calendar account settings for ``open_calendar`` (trusting the test CA on HTTPS)."""
        account: dict[str, Any] = {
            "provider": "caldav",
            "url": self.url,
            "username": user,
            "password": self.users[user],
            "timeout": 10,
        }
        if self.ca_file:
            account["ca_file"] = self.ca_file
        account.update(over)
        return account


@contextmanager
def _running(tls: Any = None) -> Iterator[Radicale]:
    """Start Radicale from a fresh configuration (HTTPS when ``tls`` files are given)."""
    if not shutil.which(RADICALE):
        pytest.fail(
            f"Radicale is not installed ({RADICALE} missing); run scripts/install-test-servers.sh.",
            pytrace=False,
        )
    folder = Path(tempfile.mkdtemp(prefix="secretary-radicale-"))
    server = Radicale(dir=folder, port=_free_port(), scheme="https" if tls else "http")
    (folder / "users").write_text("", encoding="utf-8")
    server.add_user("ada")
    server.add_user("bob")
    config = _CONFIG.format(host=HOST, port=server.port, dir=folder)
    if tls is not None:
        config = config.replace(
            "[auth]",
            f"ssl = True\ncertificate = {tls.cert_file}\nkey = {tls.key_file}\n\n[auth]",
        )
    (folder / "config").write_text(config, encoding="utf-8")
    output = open(folder / "output.log", "wb")
    proc = subprocess.Popen(
        [RADICALE, "--config", str(folder / "config")],
        stdout=output,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                output.flush()
                pytest.fail(
                    f"Radicale did not start (exit code {proc.poll()}).\n"
                    f"--- output ---\n{server.output()}",
                    pytrace=False,
                )
            try:
                with socket.create_connection((HOST, server.port), timeout=0.2):
                    pass
            except OSError:
                time.sleep(0.02)
                continue
            if proc.poll() is None:  # not some other program that took the port meanwhile
                break
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        output.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def radicale_server() -> Iterator[Radicale]:
    with _running() as server:
        yield server


@pytest.fixture(scope="session")
def radicale_tls_server(tls: Any) -> Iterator[Radicale]:
    """Radicale over HTTPS with a certificate from the test CA (``tls`` from servers.py)."""
    with _running(tls) as server:
        server.ca_file = str(tls.ca_file)
        yield server
