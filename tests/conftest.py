"""Shared fixtures: an isolated data directory, principals, a scripted model.

Every test runs with SECRETARY_HOME in a temporary directory and no model
credentials from the environment; nothing reaches a real model or network.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest

# As in every process with a gate or a settings check (agent.approval, agent.cli.common):
# the tools' declared approval rules reach the principal's checks once the registry is in.
import tools.base  # noqa: F401

if TYPE_CHECKING:
    from tools.context import ToolContext
    from tools.foundation.principals import Principal

pytest_plugins = ["servers", "radicale_server", "pg_server", "chroma_server"]

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="Where the tests keep the secretary's tables: SQLite files (default) or a "
        "fresh database per test on the session's PostgreSQL server.",
    )


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("SECRETARY_HOME", str(home))
    monkeypatch.setenv("SECRETARY_CONFIG", str(home / "secretary.toml"))
    for var in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "SECRETARY_MODEL",
        "SECRETARY_PRINCIPAL",
        "SECRETARY_DATABASE_URL",
        "SECRETARY_CHROMA_URL",
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_SIGNING_SECRET",
    ):
        monkeypatch.delenv(var, raising=False)
    if request.config.getoption("--database") == "postgres":
        monkeypatch.setenv("SECRETARY_DATABASE_URL", request.getfixturevalue("pg_url"))
    return home


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse any connection that is not to loopback."""
    real = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (
            host.startswith("127.") or host in ("localhost", "::1") or host.startswith("/")
        ):
            raise OSError(f"test tried to reach {host}: only loopback is allowed")
        return real(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def ada() -> object:
    from tools.foundation.principals import Principal

    return Principal(
        id="ada", name="Ada Lovelace", email="ada@example.com", timezone="Europe/Berlin"
    )


@pytest.fixture
def settings(isolated_home: Path, ada: object) -> object:
    from tools.foundation.principals import Principal
    from tools.foundation.settings import Settings

    bob = Principal(
        id="bob", name="Bob Byron", email="bob@example.org", timezone="America/New_York"
    )
    return Settings(home=isolated_home, principals=[ada, bob])


@pytest.fixture
def make_secretary(settings: object) -> Iterator[object]:
    """Build Secretary instances (each like a separate process) on one data directory."""
    from agent.runtime import Secretary

    made: list[Secretary] = []

    def make(model: object = None) -> Secretary:
        sec = Secretary(settings, model=model, clock=lambda: NOW)  # type: ignore[arg-type]
        made.append(sec)
        return sec

    yield make
    for sec in made:
        sec.close()


@pytest.fixture
def duty_context(tmp_path: Path) -> Iterator[Callable[..., ToolContext]]:
    """Build a duty's tool context on the local stores, at ``NOW``; closed after the test.

    ``duty_context(principal, vendors=LocalVendors(tmp_path))`` gives a workspace in
    ``tmp_path`` (or ``root=``) with the local calendar, mailbox and contacts plus the
    duty's own stores passed by name; ``wired=True`` opens the real wiring instead
    (:func:`tools.workspace.open_workspace`, every store included). Without a principal
    it is Ada Lovelace in Berlin. ``mail_clock=True`` gives the mailbox the same clock.
    """
    from tools.context import ToolContext, Workspace
    from tools.foundation.principals import Principal
    from tools.providers.local.calendar import LocalCalendar
    from tools.providers.local.contacts import LocalContacts
    from tools.providers.local.mail import LocalMail

    made: list[Workspace] = []

    def make(
        principal: Principal | None = None,
        *,
        root: Path | None = None,
        mail_clock: bool = False,
        wired: bool = False,
        **stores: Any,
    ) -> ToolContext:
        p = principal or Principal(
            id="ada", name="Ada Lovelace", email="ada@example.com", timezone="Europe/Berlin"
        )
        where = root or tmp_path
        if wired:
            from tools.foundation.settings import Settings
            from tools.workspace import open_workspace

            ws = open_workspace(Settings(home=where, principals=[p]), p)
        else:
            ws = Workspace(
                principal=p,
                root=where,
                calendar=LocalCalendar(where, p),
                mail=LocalMail(where, p, clock=(lambda: NOW) if mail_clock else None),
                contacts=LocalContacts(where),
                **stores,
            )
        made.append(ws)
        return ToolContext(principal=p, workspace=ws, clock=lambda: NOW)

    yield make
    for ws in made:
        ws.close()
