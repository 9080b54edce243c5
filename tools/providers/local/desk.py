"""The front desk's records: phone messages, visitors and tasks, in one SQLite file per principal.

Each record written by an approved action gets an id derived from the action's
idempotency key, so a retried action (a crash between the write and the
ledger's ``executed``) finds its own row instead of adding a second one.
Instants are stored as ISO 8601 with their offset; due dates as plain dates.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import AwareDatetime, BaseModel

from tools.providers.base import NotFound
from tools.providers.local.store import LocalStore

if TYPE_CHECKING:
    from tools.foundation.db import Storage

MessageStatus = Literal["new", "done"]
TaskStatus = Literal["open", "done"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS phone_messages (
    id             TEXT PRIMARY KEY,
    caller         TEXT NOT NULL,
    number         TEXT NOT NULL DEFAULT '',
    company        TEXT NOT NULL DEFAULT '',
    reason         TEXT NOT NULL DEFAULT '',
    callback       TEXT NOT NULL DEFAULT '',
    callback_start TEXT,
    callback_end   TEXT,
    taken_at       TEXT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'new'
);
CREATE TABLE IF NOT EXISTS visitors (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    company      TEXT NOT NULL DEFAULT '',
    email        TEXT NOT NULL DEFAULT '',
    host         TEXT NOT NULL DEFAULT '',
    instructions TEXT NOT NULL DEFAULT '',
    event_id     TEXT NOT NULL DEFAULT '',
    start        TEXT NOT NULL,
    "end"        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS visitors_start ON visitors (start);
CREATE TABLE IF NOT EXISTS tasks (
    id            TEXT PRIMARY KEY,
    title         TEXT NOT NULL,
    owner         TEXT NOT NULL DEFAULT 'principal',
    due           TEXT,
    status        TEXT NOT NULL DEFAULT 'open',
    delegated_via TEXT NOT NULL DEFAULT '',
    notes         TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    done_at       TEXT
);
"""


class PhoneMessage(BaseModel):
    """A message taken for the principal while they could not answer."""

    id: str = ""
    caller: str
    number: str = ""
    company: str = ""
    reason: str = ""
    callback: str = ""
    """The caller's words for when to call back ("after 3pm tomorrow")."""
    callback_start: AwareDatetime | None = None
    callback_end: AwareDatetime | None = None
    taken_at: AwareDatetime
    status: MessageStatus = "new"


class Visit(BaseModel):
    """An expected visitor, with the calendar event that holds the time."""

    id: str = ""
    name: str
    company: str = ""
    email: str = ""
    host: str = ""
    instructions: str = ""
    event_id: str = ""
    start: AwareDatetime
    end: AwareDatetime


class Task(BaseModel):
    """Something to be done, by the principal or by a member of staff."""

    id: str = ""
    title: str
    owner: str = "principal"
    """``principal``, or the staff member's name or e-mail address."""
    due: date | None = None
    status: TaskStatus = "open"
    delegated_via: str = ""
    """How the task was handed over (``mail <message-id>``), empty when it was not."""
    notes: str = ""
    created_at: AwareDatetime
    done_at: AwareDatetime | None = None


def _id_for(prefix: str, key: str) -> str:
    # Without a key (direct use, tests) nothing can be retried, so any id will do.
    if not key:
        return f"{prefix}-{uuid.uuid4().hex[:12]}"
    return f"{prefix}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat()


class LocalDesk(LocalStore):
    """A principal's desk records in ``root/desk.sqlite``."""

    def __init__(self, root: Path, *, storage: Storage | None = None) -> None:
        """Open (and create if needed) the desk database.

        Args:
            root: The principal's workspace directory.
            storage: Where the principal's tables live; default from ``root``
                and ``SECRETARY_DATABASE_URL``.
        """
        super().__init__(root / "desk.sqlite", _SCHEMA, storage=storage)

    # ------------------------------------------------------- phone messages

    def add_message(self, message: PhoneMessage, idempotency_key: str = "") -> PhoneMessage:
        """Record a phone message (once per key) and return it as stored."""
        new_id = message.id or _id_for("msg", idempotency_key)
        with self._lock, self.transaction():
            self._db.execute(
                "INSERT INTO phone_messages (id, caller, number, company, reason, callback,"
                " callback_start, callback_end, taken_at, status)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
                (
                    new_id,
                    message.caller,
                    message.number,
                    message.company,
                    message.reason,
                    message.callback,
                    _iso(message.callback_start),
                    _iso(message.callback_end),
                    message.taken_at.isoformat(),
                    message.status,
                ),
            )
        return self.get_message(new_id)

    def get_message(self, message_id: str) -> PhoneMessage:
        """One phone message; raises NotFound."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM phone_messages WHERE id = ?", (message_id,)
            ).fetchone()
        if row is None:
            raise NotFound(f"No phone message with id '{message_id}'. List messages to find it.")
        return PhoneMessage(**dict(row))

    def messages(self, status: str | None = "new") -> list[PhoneMessage]:
        """Phone messages, oldest first (all of them when ``status`` is None)."""
        sql, params = "SELECT * FROM phone_messages", []
        if status is not None:
            sql, params = sql + " WHERE status = ?", [status]
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY taken_at, id", params).fetchall()
        return [PhoneMessage(**dict(r)) for r in rows]

    def mark_message(self, message_id: str, status: MessageStatus) -> PhoneMessage:
        """Set a message's status (setting the same status twice changes nothing)."""
        self.get_message(message_id)
        with self._lock, self.transaction():
            self._db.execute(
                "UPDATE phone_messages SET status = ? WHERE id = ?", (status, message_id)
            )
        return self.get_message(message_id)

    # ------------------------------------------------------------- visitors

    def add_visit(self, visit: Visit, idempotency_key: str = "") -> Visit:
        """Record an expected visitor (once per key) and return the stored visit."""
        new_id = visit.id or _id_for("vis", idempotency_key)
        with self._lock, self.transaction():
            self._db.execute(
                "INSERT INTO visitors (id, name, company, email, host, instructions, event_id,"
                ' start, "end") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING',
                (
                    new_id,
                    visit.name,
                    visit.company,
                    visit.email,
                    visit.host,
                    visit.instructions,
                    visit.event_id,
                    visit.start.isoformat(),
                    visit.end.isoformat(),
                ),
            )
            row = self._db.execute("SELECT * FROM visitors WHERE id = ?", (new_id,)).fetchone()
        return Visit(**dict(row))

    def visits(self, start: datetime, end: datetime) -> list[Visit]:
        """Visits starting in [start, end), by start time."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM visitors").fetchall()
        # Offsets differ across DST, so compare instants rather than ISO strings.
        found = [Visit(**dict(r)) for r in rows]
        return sorted((v for v in found if start <= v.start < end), key=lambda v: v.start)

    # ---------------------------------------------------------------- tasks

    def add_task(self, task: Task, idempotency_key: str = "") -> Task:
        """Add a task (once per key) and return it as stored."""
        new_id = task.id or _id_for("task", idempotency_key)
        with self._lock, self.transaction():
            self._db.execute(
                "INSERT INTO tasks (id, title, owner, due, status, delegated_via, notes,"
                " created_at, done_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(id) DO NOTHING",
                (
                    new_id,
                    task.title,
                    task.owner,
                    None if task.due is None else task.due.isoformat(),
                    task.status,
                    task.delegated_via,
                    task.notes,
                    task.created_at.isoformat(),
                    _iso(task.done_at),
                ),
            )
        return self.get_task(new_id)

    def get_task(self, task_id: str) -> Task:
        """One task; raises NotFound."""
        with self._lock:
            row = self._db.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()
        if row is None:
            raise NotFound(f"No task with id '{task_id}'. List tasks to find the right id.")
        return Task(**dict(row))

    def update_task(self, task: Task) -> Task:
        """Replace a stored task with ``task`` (same id); raises NotFound."""
        self.get_task(task.id)
        with self._lock, self.transaction():
            self._db.execute(
                "UPDATE tasks SET title = ?, owner = ?, due = ?, status = ?, delegated_via = ?,"
                " notes = ?, done_at = ? WHERE id = ?",
                (
                    task.title,
                    task.owner,
                    None if task.due is None else task.due.isoformat(),
                    task.status,
                    task.delegated_via,
                    task.notes,
                    _iso(task.done_at),
                    task.id,
                ),
            )
        return self.get_task(task.id)

    def tasks(self, status: str | None = "open", owner: str = "") -> list[Task]:
        """Tasks by due date (undated last), optionally of one status and one owner."""
        sql, params = "SELECT * FROM tasks WHERE 1 = 1", []
        if status is not None:
            sql, params = sql + " AND status = ?", [status]
        if owner:
            sql += " AND lower(owner) = lower(?)"
            params.append(owner.strip())
        sql += " ORDER BY due IS NULL, due, created_at, id"
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [Task(**dict(r)) for r in rows]
