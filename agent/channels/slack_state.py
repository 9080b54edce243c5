"""What the Slack bot remembers across restarts: posted cards, bound threads, handled events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.foundation.db import Storage
from tools.providers.local.store import LocalStore

if TYPE_CHECKING:
    from agent.ledger import Proposal

FINAL = ("executed", "rejected", "failed")
"""Proposal states a card never changes from again."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS cards (
    proposal_id TEXT NOT NULL,
    principal TEXT NOT NULL,
    channel TEXT NOT NULL,
    ts TEXT NOT NULL,
    thread_ts TEXT NOT NULL DEFAULT '',
    shown_status TEXT NOT NULL DEFAULT 'proposed',
    posted_at TEXT NOT NULL,
    PRIMARY KEY (proposal_id, channel, ts)
);
CREATE TABLE IF NOT EXISTS threads (
    slack_key TEXT NOT NULL,
    principal TEXT NOT NULL,
    thread TEXT NOT NULL,
    PRIMARY KEY (slack_key, principal)
);
CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, at TEXT NOT NULL);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class SlackState(LocalStore):
    """Posted cards, bound threads and handled events, kept across restarts."""

    def __init__(self, home: Path, *, storage: Storage | None = None) -> None:
        """Open ``home/slack.sqlite``, or the shared tables in PostgreSQL.

        Args:
            home: The data directory (the SQLite file lives there).
            storage: The storage shared by every principal (``Settings.storage()``),
                so several Slack processes see the same cards and handled events;
                default: ``SECRETARY_DATABASE_URL``'s shared tables, else the
                SQLite file in ``home``.
        """
        if storage is None:
            storage = Storage.shared_default(Path(home))
        super().__init__(Path(home) / "slack.sqlite", SCHEMA, storage=storage)

    def first_time(self, key: str) -> bool:
        """True once per key, across every process sharing the storage.

        Slack retries an event it thinks was missed, and may deliver it to
        another process; the single ``INSERT`` that adds the key decides which
        handles it (a concurrent one finds the key and gets False).
        """
        # Slack gives up retrying within minutes; a day of keys is plenty.
        old = (datetime.now(UTC) - timedelta(days=1)).isoformat(timespec="seconds")
        db = self.database
        with self._lock:
            # Forgetting old keys is its own statement; on PostgreSQL rows another
            # process is deleting right now are skipped, so neither waits nor deadlocks.
            if db.dialect == "postgres":
                db.execute(
                    "DELETE FROM seen WHERE key IN (SELECT key FROM seen WHERE at < ?"
                    " ORDER BY key FOR UPDATE SKIP LOCKED)",
                    (old,),
                )
            else:
                db.execute("DELETE FROM seen WHERE at < ?", (old,))
            cur = db.execute(
                "INSERT INTO seen (key, at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                (key, _now()),
            )
            return cur.rowcount == 1

    def add_card(
        self, p: Proposal, channel: str, ts: str, thread_ts: str = "", status: str = ""
    ) -> None:
        """Remember where a proposal's card is (clicking an unknown card also records it)."""
        with self._lock, self.transaction() as db:
            db.execute(
                "INSERT INTO cards (proposal_id, principal, channel, ts, thread_ts,"
                " shown_status, posted_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (proposal_id, channel, ts) DO NOTHING",
                (p.id, p.principal, channel, ts, thread_ts, status or p.status, _now()),
            )

    def cards(self, proposal_id: str | None = None) -> list[dict[str, Any]]:
        """Cards of one proposal, or every card still showing an open state."""
        with self._lock:
            if proposal_id is not None:
                rows = self._db.execute(
                    "SELECT * FROM cards WHERE proposal_id=? ORDER BY posted_at", (proposal_id,)
                )
            else:
                rows = self._db.execute(
                    "SELECT * FROM cards WHERE shown_status NOT IN (?, ?, ?)", FINAL
                )
            return [dict(r) for r in rows.fetchall()]

    def shown(self, proposal_id: str, channel: str, ts: str, status: str) -> None:
        """Record the state a card now shows."""
        with self._lock, self.transaction() as db:
            db.execute(
                "UPDATE cards SET shown_status=? WHERE proposal_id=? AND channel=? AND ts=?",
                (status, proposal_id, channel, ts),
            )

    def thread_for(self, slack_key: str, principal: str) -> str | None:
        """The secretary thread a Slack thread was bound to, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT thread FROM threads WHERE slack_key=? AND principal=?",
                (slack_key, principal),
            ).fetchone()
        return None if row is None else str(row["thread"])

    def bind(self, slack_key: str, principal: str, thread: str) -> None:
        """Continue ``thread`` in this Slack thread from now on."""
        with self._lock, self.transaction() as db:
            db.execute(
                "INSERT INTO threads (slack_key, principal, thread) VALUES (?, ?, ?) "
                "ON CONFLICT(slack_key, principal) DO UPDATE SET thread=excluded.thread",
                (slack_key, principal, thread),
            )
