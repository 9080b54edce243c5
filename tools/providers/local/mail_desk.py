"""The mail desk's own store: what it fetched, decided and asked, shared by its workers.

One row per message (status, verdict, claim and lease), the fetch cursors, the
approval requests sent, and the secrets every worker of a principal shares. Kept
in ``mail-desk.sqlite`` in the principal's folder, or in the principal's schema
on PostgreSQL. The e-mail channel (:mod:`agent.channels.email`) drives it; the
briefing reads its verdicts.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.providers.local.store import LocalStore

if TYPE_CHECKING:
    from tools.foundation.db import Storage

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    message_id TEXT PRIMARY KEY,
    uid TEXT NOT NULL,
    folder TEXT NOT NULL,
    raw BLOB,
    status TEXT NOT NULL DEFAULT 'new',
    category TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    used_model INTEGER NOT NULL DEFAULT 0,
    sender TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL DEFAULT '',
    thread TEXT NOT NULL DEFAULT '',
    proposals TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    received_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_status ON messages(status);
CREATE TABLE IF NOT EXISTS cursors (folder TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS approvals (
    proposal_id TEXT PRIMARY KEY,
    request_id TEXT NOT NULL,
    sent_at TEXT NOT NULL
);
"""

LEASE = 300.0
"""Seconds a worker's claim on a message lasts unless renewed (it renews every third)."""

MAX_ATTEMPTS = 3
"""A message whose handling failed this often is left 'failed' (kept, reported)."""

OWN_FOLDER = "Secretary"
"""Where the desk files its own traffic (requests, notices, answers) out of the inbox."""

# Statuses of a stored message.
DONE_STATES = ("done", "refused", "unreadable", "failed")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


CLAIMS = """
ALTER TABLE messages ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN lease_until REAL NOT NULL DEFAULT 0;
"""
"""Version 2: a message being handled names its worker and how long the claim lasts."""

SECRETS = """
CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
"""Version 3: secrets every worker of the principal must share (the approval-signing key)."""


class DeskState(LocalStore):
    """What the desk has fetched and done, kept across restarts, shared by its workers."""

    def __init__(self, root: Path, *, storage: Storage | None = None) -> None:
        """Open ``root/mail-desk.sqlite`` (or the principal's schema in PostgreSQL).

        Args:
            root: The principal's directory.
            storage: Where the principal's tables live (default: from the folder).
        """
        super().__init__(
            Path(root) / "mail-desk.sqlite", SCHEMA, storage=storage, upgrades=[CLAIMS, SECRETS]
        )

    def claim_next(
        self, worker: str, lease: float, gone: Callable[[str], bool]
    ) -> dict[str, Any] | None:
        """Claim the oldest message nobody is handling, for ``lease`` seconds; None if none.

        Claimable: new or to-retry messages, and messages claimed by a worker
        that is gone (``gone(worker)``: its process died) or whose lease ran
        out. A message taken over that way counts as one more attempt, so a
        message that kills every worker that reads it ends ``failed`` rather
        than going round for ever. Exactly one worker gets each claim: the
        candidate row is locked (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
        workers never queue behind each other; the single writer on SQLite).
        """
        now = time.time()
        skip = " FOR UPDATE SKIP LOCKED" if self.database.dialect == "postgres" else ""
        with self._lock, self.transaction() as db:
            candidates = db.fetchall(
                "SELECT message_id FROM messages WHERE status IN ('new', 'retry', 'working')"
                " ORDER BY rowid LIMIT 100"
            )
            for candidate in candidates:
                # Lock just this row; a row another worker is claiming is skipped, not awaited.
                row = db.fetchone(
                    "SELECT message_id, uid, folder, raw, attempts, status, claimed_by,"
                    " lease_until FROM messages WHERE message_id = ?" + skip,
                    (candidate["message_id"],),
                )
                if row is None or row["status"] not in ("new", "retry", "working"):
                    continue
                taken_over = row["status"] == "working"
                if taken_over and row["lease_until"] > now and not gone(row["claimed_by"]):
                    continue  # a live worker holds it
                attempts = int(row["attempts"]) + (1 if taken_over else 0)
                if attempts >= MAX_ATTEMPTS:
                    db.execute(
                        "UPDATE messages SET status = 'failed', attempts = ?, claimed_by = '',"
                        " error = ?, updated_at = ? WHERE message_id = ?",
                        (
                            attempts,
                            f"the worker handling it stopped {attempts} times; left for you",
                            _now(),
                            row["message_id"],
                        ),
                    )
                    continue
                db.execute(
                    "UPDATE messages SET status = 'working', claimed_by = ?, lease_until = ?,"
                    " attempts = ?, updated_at = ? WHERE message_id = ?",
                    (worker, now + lease, attempts, _now(), row["message_id"]),
                )
                claimed = dict(row)
                claimed["attempts"] = attempts
                if isinstance(claimed["raw"], memoryview):
                    claimed["raw"] = bytes(claimed["raw"])
                return claimed
        return None

    def signing_key(self) -> bytes:
        """The key that signs approval tokens, made once and shared by every worker."""
        with self._lock, self.transaction() as db:
            db.execute(
                "INSERT INTO secrets (name, value) VALUES ('approval-key', ?)"
                " ON CONFLICT (name) DO NOTHING",
                (secrets.token_bytes(32).hex(),),
            )
            row = db.fetchone("SELECT value FROM secrets WHERE name = 'approval-key'")
        assert row is not None
        return bytes.fromhex(str(row["value"]))

    def renew(self, worker: str, lease: float) -> int:
        """Extend every claim of ``worker``; returns how many it holds."""
        with self._lock, self.transaction() as db:
            cur = db.execute(
                "UPDATE messages SET lease_until = ? WHERE claimed_by = ? AND status = 'working'",
                (time.time() + lease, worker),
            )
            return int(cur.rowcount or 0)

    def cursor(self, folder: str) -> str | None:
        """The stored provider cursor (None before the first run)."""
        with self._lock:
            row = self._db.execute("SELECT value FROM cursors WHERE folder=?", (folder,)).fetchone()
        return None if row is None else str(row["value"])

    def store(
        self,
        folder: str,
        cursor: str,
        items: list[tuple[str, str, bytes | None]],
        *,
        status: str = "new",
    ) -> int:
        """Keep fetched messages (message id, uid, raw) and the new cursor, atomically.

        A Message-ID already stored is skipped: the rows are the desk's seen set.
        ``status="history"`` records mail the first start leaves alone (no bytes).
        """
        added = 0
        with self._lock, self.transaction() as db:
            for message_id, uid, raw in items:
                cur = db.execute(
                    "INSERT INTO messages (message_id, uid, folder, raw, status, received_at,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING",
                    (message_id, uid, folder, raw, status, _now(), _now()),
                )
                added += cur.rowcount
            db.execute(
                "INSERT INTO cursors (folder, value) VALUES (?, ?) "
                "ON CONFLICT(folder) DO UPDATE SET value=excluded.value",
                (folder, cursor),
            )
        return added

    def update(self, message_id: str, **fields: Any) -> None:
        """Record what happened to a message (the raw bytes are dropped once done)."""
        fields["updated_at"] = _now()
        fields.setdefault("claimed_by", "")  # recording an outcome ends the claim
        if fields.get("status") in ("done", "proposed", "refused"):
            fields["raw"] = None
        names = ", ".join(f"{k}=?" for k in fields)
        with self._lock, self.transaction() as db:
            db.execute(
                f"UPDATE messages SET {names} WHERE message_id=?",  # noqa: S608 - fixed names
                (*fields.values(), message_id),
            )

    def rows(self, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The latest messages (for ``mail-agent --status``), newest first.

        Without ``status``, the mail the first start left alone (``history``) is left out.
        """
        sql = (
            "SELECT message_id, status, category, action, reason, used_model, sender, subject,"
            " proposals, error, updated_at FROM messages"
        )
        args: tuple[Any, ...] = ()
        if status:
            sql += " WHERE status=?"
            args = (status,)
        else:
            sql += " WHERE status != 'history'"
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY rowid DESC LIMIT ?", (*args, limit))
            return [dict(r) for r in rows.fetchall()]

    def seen(self) -> set[str]:
        """Every Message-ID the desk has a row for: handled, waiting, or left alone."""
        with self._lock:
            rows = self._db.fetchall("SELECT message_id FROM messages")
        return {str(r["message_id"]) for r in rows}

    def proposed(self) -> list[dict[str, Any]]:
        """Messages whose reply proposal is still open."""
        return self.rows("proposed", 1000)

    def requested(self, proposal_id: str) -> str | None:
        """The Message-ID of the approval request sent for a proposal, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT request_id FROM approvals WHERE proposal_id=?", (proposal_id,)
            ).fetchone()
        return None if row is None else str(row["request_id"])

    def proposal_for_request(self, message_ids: list[str]) -> str | None:
        """The proposal an answer refers to through In-Reply-To / References."""
        with self._lock:
            for mid in message_ids:
                row = self._db.execute(
                    "SELECT proposal_id FROM approvals WHERE request_id=?", (mid,)
                ).fetchone()
                if row is not None:
                    return str(row["proposal_id"])
        return None

    def verdicts(self) -> dict[str, tuple[str, str]]:
        """What the desk decided about each message it triaged: message id -> (category, reason)."""
        with self._lock:
            rows = self._db.fetchall(
                "SELECT message_id, category, reason FROM messages WHERE category != ''"
            )
        return {str(r["message_id"]): (str(r["category"]), str(r["reason"])) for r in rows}

    def record_request(self, proposal_id: str, request_id: str) -> None:
        """Remember that an approval request went out."""
        with self._lock, self.transaction() as db:
            db.execute(
                "INSERT INTO approvals (proposal_id, request_id, sent_at) VALUES (?,?,?)"
                " ON CONFLICT (proposal_id) DO NOTHING",
                (proposal_id, request_id, _now()),
            )
