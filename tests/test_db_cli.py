"""``secretary db migrate`` and ``secretary db status`` on SQLite files and on PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from agent.cli import cli

PRINCIPAL_PARTS = {"calendar", "contacts", "desk", "filing", "invoices", "mail-desk", "memory"}


def run(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_migrate_creates_every_part_once_and_status_shows_the_versions(
    backend: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend == "postgres":
        monkeypatch.setenv("SECRETARY_DATABASE_URL", request.getfixturevalue("pg_url"))
    else:
        monkeypatch.delenv("SECRETARY_DATABASE_URL", raising=False)
    first = json.loads(run("db", "migrate", "--json").output)
    again = json.loads(run("db", "migrate", "--json").output)
    status = json.loads(run("db", "status", "--json").output)
    assert first == again == status
    assert {"ledger", "slack", "serve"} <= set(status["shared"])
    assert PRINCIPAL_PARTS <= set(status["principals"]["me"])
    assert status["principals"]["me"]["mail-desk"] == [1, 2, 3]
    if backend == "postgres":
        assert status["database"].startswith("postgresql://")
        assert "checkpoints" in status["shared"]
    else:
        assert status["database"] == "sqlite"


def test_status_text_names_the_storage(tmp_path: Any) -> None:
    out = run("db", "status").output
    assert "Tables:  sqlite" in out and "Vectors: embedded" in out
