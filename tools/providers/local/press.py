"""Press: journalists (outlet, beat) and the history of press contact, per principal.

A journalist is a contact with role ``press`` in the address book; this store
keeps what only the press desk needs about them (outlet, beat, notes), keyed
by their e-mail address, and a log of every exchange with the press: enquiries
received (``in``) and replies or pitches sent (``out``).

Entries written by an approved action get an id derived from the action's
idempotency key, so a retried action finds its own row instead of adding a
second one; an enquiry is logged under its Message-ID, so it is logged once
however often it is answered.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import AwareDatetime, BaseModel

from tools.providers.base import NotFound
from tools.providers.local.store import LocalStore

if TYPE_CHECKING:
    from tools.foundation.db import Storage

Direction = Literal["in", "out"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS journalists (
    email      TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL DEFAULT '',
    outlet     TEXT NOT NULL DEFAULT '',
    beat       TEXT NOT NULL DEFAULT '',
    notes      TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS history (
    id          TEXT PRIMARY KEY,
    email       TEXT NOT NULL,
    date        TEXT NOT NULL,
    direction   TEXT NOT NULL,
    subject     TEXT NOT NULL DEFAULT '',
    summary     TEXT NOT NULL DEFAULT '',
    message_id  TEXT NOT NULL DEFAULT '',
    in_reply_to TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS history_email ON history (email);
CREATE INDEX IF NOT EXISTS history_reply ON history (in_reply_to);
"""


class PressDetails(BaseModel):
    """What the press desk keeps about one journalist (the contact holds name and phone)."""

    email: str
    """Bare, lower-case address: the link to the contact."""
    contact_id: str = ""
    outlet: str = ""
    beat: str = ""
    """What they cover ("energy policy", "tech startups")."""
    notes: str = ""


class PressContact(BaseModel):
    """One exchange with a journalist."""

    id: str = ""
    email: str
    date: AwareDatetime
    direction: Direction
    subject: str = ""
    summary: str = ""
    message_id: str = ""
    in_reply_to: str = ""
    """For a reply: the Message-ID of the enquiry it answers."""


def _key(email: str) -> str:
    return email.strip().lower()


def _id_for(prefix: str, key: str) -> str:
    # Without a key (direct use, tests) nothing can be retried, so any id will do.
    if not key:
        return f"{prefix}-{uuid.uuid4().hex[:12]}"
    return f"{prefix}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


class LocalPress(LocalStore):
    """A principal's press records in ``root/press.sqlite``."""

    def __init__(self, root: Path, *, storage: Storage | None = None) -> None:
        """Open (and create if needed) the database under the principal's directory.

        Args:
            root: The principal's workspace directory.
            storage: Where the principal's tables live; default from ``root``
                and ``SECRETARY_DATABASE_URL``.
        """
        super().__init__(root / "press.sqlite", _SCHEMA, storage=storage)

    # --------------------------------------------------------- journalists

    def save_details(self, details: PressDetails) -> PressDetails:
        """Add or replace the press details of the journalist with that address."""
        email = _key(details.email)
        with self._lock, self.transaction():
            self._db.execute(
                "INSERT INTO journalists (email, contact_id, outlet, beat, notes)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(email) DO UPDATE SET"
                " contact_id = excluded.contact_id, outlet = excluded.outlet,"
                " beat = excluded.beat, notes = excluded.notes",
                (email, details.contact_id, details.outlet, details.beat, details.notes),
            )
        return self.details(email) or details

    def details(self, email: str) -> PressDetails | None:
        """The press details kept for an address, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM journalists WHERE email = ?", (_key(email),)
            ).fetchone()
        return None if row is None else PressDetails(**dict(row))

    def all_details(self) -> dict[str, PressDetails]:
        """Every journalist's details, by address."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM journalists ORDER BY email").fetchall()
        return {r["email"]: PressDetails(**dict(r)) for r in rows}

    # ------------------------------------------------------------- history

    def record(self, entry: PressContact, idempotency_key: str = "") -> PressContact:
        """Log one exchange (once per key, or per id when the entry has one) and return it."""
        new_id = entry.id or _id_for("press", idempotency_key)
        with self._lock, self.transaction():
            self._db.execute(
                "INSERT INTO history (id, email, date, direction, subject, summary, message_id,"
                " in_reply_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
                (
                    new_id,
                    _key(entry.email),
                    entry.date.isoformat(),
                    entry.direction,
                    entry.subject,
                    entry.summary,
                    entry.message_id,
                    entry.in_reply_to,
                ),
            )
        return self.get(new_id)

    def get(self, entry_id: str) -> PressContact:
        """One logged exchange; raises NotFound."""
        with self._lock:
            row = self._db.execute("SELECT * FROM history WHERE id = ?", (entry_id,)).fetchone()
        if row is None:
            raise NotFound(f"No press contact logged with id '{entry_id}'.")
        return PressContact(**dict(row))

    def history(self, email: str | None = None) -> list[PressContact]:
        """Logged exchanges, newest first (with one journalist when ``email`` is given)."""
        sql, params = "SELECT * FROM history", []
        if email is not None:
            sql, params = sql + " WHERE email = ?", [_key(email)]
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        found = [PressContact(**dict(r)) for r in rows]
        # Offsets differ across DST, so order by instant rather than by ISO string.
        return sorted(found, key=lambda e: (e.date, e.id), reverse=True)

    def answered(self) -> set[str]:
        """Message-IDs of the enquiries a reply was sent to."""
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT in_reply_to FROM history"
                " WHERE direction = 'out' AND in_reply_to != ''"
            ).fetchall()
        return {r["in_reply_to"] for r in rows}
