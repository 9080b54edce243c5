"""``secretary db``: where the secretary keeps its tables, and their schema versions.

Added to the main command group by :mod:`agent.cli.app`. Every store creates
and migrates its own tables when it is first opened, so nothing has to be run
by hand; ``secretary db migrate`` does it all at once (before starting
several workers on a new database or after an upgrade), and ``secretary db
status`` shows which versions each part is at.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from agent.cli.common import JSON, _consoles, _guard, _secretary, group

if TYPE_CHECKING:
    from agent.runtime import Secretary
    from tools.foundation.db import Database


def _versions(db: Database) -> dict[str, list[int]]:
    from tools.foundation.db import applied_versions

    if "schema_migrations" not in db.tables():
        return {}
    rows = db.fetchall("SELECT DISTINCT component FROM schema_migrations ORDER BY component")
    return {r["component"]: sorted(applied_versions(db, r["component"])) for r in rows}


def _open_everything(sec: Secretary) -> None:
    """Open every store once, so each one creates or migrates its tables."""
    from agent.channels.api import open_token_store
    from agent.channels.slack import SlackState
    from tools.providers.local.mail_desk import DeskState

    sec.graph()  # the checkpointer sets up its own tables
    SlackState(sec.home, storage=sec.settings.storage()).close()
    open_token_store(sec).close()
    for principal in sec.settings.principals or [sec.principal()]:
        ws = sec.workspace(principal)
        DeskState(ws.root, storage=ws.storage).close()


def _status(sec: Secretary) -> dict[str, Any]:
    from tools.foundation.db import redact

    settings = sec.settings
    out: dict[str, Any] = {
        "database": redact(settings.database_url) if settings.database_url else "sqlite",
        "data_directory": str(settings.home),
        "chroma": settings.chroma_url or "embedded",
        "shared": {},
        "principals": {},
    }
    shared = settings.storage()
    if shared.is_postgres:
        db = shared.database("")
        out["shared"] = _versions(db)
        if "checkpoint_migrations" in db.tables():
            row = db.fetchone("SELECT max(v) AS v FROM checkpoint_migrations")
            if row is not None and row["v"] is not None:
                out["shared"]["checkpoints"] = list(range(int(row["v"]) + 1))
    else:
        for path in sorted(shared.folder.glob("*.sqlite")):
            out["shared"].update(_versions(shared.database(path.name)))
    shared.close()
    for principal in settings.principals or [sec.principal()]:
        storage = settings.storage(principal.id)
        if storage.is_postgres:
            out["principals"][principal.id] = _versions(storage.database(""))
        else:
            found: dict[str, list[int]] = {}
            for path in sorted(storage.folder.glob("*.sqlite")):
                found.update(_versions(storage.database(path.name)))
            out["principals"][principal.id] = found
        storage.close()
    return out


def _show(status: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(status, indent=2))
        return
    out, _ = _consoles()
    out.print(f"Tables:  {status['database']}  (data directory {status['data_directory']})")
    out.print(f"Vectors: {status['chroma']}")

    def line(versions: dict[str, list[int]]) -> str:
        return ", ".join(f"{c} v{max(v)}" for c, v in versions.items()) or "nothing yet"

    out.print(f"shared: {line(status['shared'])}")
    for pid, versions in status["principals"].items():
        out.print(f"{pid}: {line(versions)}")


@group("db")
def db() -> None:
    """Where the tables live (SQLite files or PostgreSQL) and their schema versions."""


@db.command("status")
@JSON
@_guard
def db_status(as_json: bool) -> None:
    """Show the storage in use and the schema version of every part.

    \b
    Examples:
      secretary db status
      SECRETARY_DATABASE_URL=postgresql://sec@db.internal/secretary secretary db status --json
    """
    with _secretary() as sec:
        _show(_status(sec), as_json)


@db.command("migrate")
@JSON
@_guard
def db_migrate(as_json: bool) -> None:
    """Create or upgrade every table now (each store also does it when first opened).

    Safe to run while workers are running, and from several machines at once:
    each schema version is applied once.

    \b
    Examples:
      secretary db migrate
    """
    with _secretary() as sec:
        _open_everything(sec)
        _show(_status(sec), as_json)
