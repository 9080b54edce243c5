"""The embedded default address book: one SQLite file per principal.

E-mail addresses are unique ignoring case, so the same person written to by
``Dana@Acme.com`` and ``dana@acme.com`` stays one contact. Search is done in
Python with ``casefold`` because SQLite's ``LIKE`` only folds ASCII letters
and names are often not ASCII.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

from tools.foundation.db import Row
from tools.providers.base import Contact, ContactRole, NotFound, ProviderError
from tools.providers.local.store import LocalStore

if TYPE_CHECKING:
    from tools.foundation.db import Storage

ROLES: tuple[str, ...] = get_args(ContactRole)
_FIELDS = ("name", "email", "phone", "organisation", "role", "timezone", "notes")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS contacts (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    email        TEXT NOT NULL DEFAULT '',
    email_key    TEXT UNIQUE,
    phone        TEXT NOT NULL DEFAULT '',
    organisation TEXT NOT NULL DEFAULT '',
    role         TEXT NOT NULL DEFAULT 'other',
    timezone     TEXT NOT NULL DEFAULT '',
    notes        TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
"""


def _email_key(email: str) -> str | None:
    """The uniqueness key of an address (NULL when there is none, so many may lack one)."""
    return email.strip().lower() or None


class LocalContacts(LocalStore):
    """A principal's contacts in ``root/contacts.sqlite``."""

    def __init__(self, root: Path, *, storage: Storage | None = None) -> None:
        """Open (and create if needed) the address book.

        Args:
            root: The principal's workspace directory.
            storage: Where the principal's tables live; default from ``root``
                and ``SECRETARY_DATABASE_URL``.
        """
        super().__init__(root / "contacts.sqlite", _SCHEMA, storage=storage)

    def find(self, query: str = "", role: str | None = None, limit: int = 20) -> list[Contact]:
        """Contacts whose name, e-mail or organisation contain every word of ``query``.

        Args:
            query: Words to match, case-insensitively; empty lists everyone.
            role: Only contacts with this role.
            limit: At most this many, ordered by name.
        """
        if role is not None and role not in ROLES:
            raise ProviderError(f"'{role}' is not a contact role; use one of {', '.join(ROLES)}.")
        sql, params = "SELECT * FROM contacts", []
        if role is not None:
            sql, params = sql + " WHERE role = ?", [role]
        with self._lock:
            rows = self._db.fetchall(sql, params)
        # Ordered here, not in SQL: the same order on every backend and for any script.
        rows.sort(key=lambda r: (r["name"].casefold(), r["id"]))
        words = query.casefold().split()
        out: list[Contact] = []
        for row in rows:
            haystack = " ".join((row["name"], row["email"], row["organisation"])).casefold()
            if all(w in haystack for w in words):
                out.append(self._contact(row))
                if len(out) >= limit:
                    break
        return out

    def get(self, contact_id: str) -> Contact:
        """One contact; raises NotFound."""
        with self._lock:
            row = self._db.execute("SELECT * FROM contacts WHERE id = ?", (contact_id,)).fetchone()
        if row is None:
            raise NotFound(
                f"No contact with id '{contact_id}'. Search contacts to find the right id."
            )
        return self._contact(row)

    def by_email(self, email: str) -> Contact | None:
        """The contact with that address (case-insensitive), if any."""
        key = _email_key(email)
        if key is None:
            return None
        with self._lock:
            row = self._db.execute("SELECT * FROM contacts WHERE email_key = ?", (key,)).fetchone()
        return None if row is None else self._contact(row)

    def upsert(self, contact: Contact, idempotency_key: str = "") -> Contact:
        """Add a contact, or update the one with the same id or e-mail.

        With an ``id`` that exists, the contact is replaced by the one given
        (the caller holds the whole record). Otherwise, if the e-mail matches
        an existing contact, the given non-empty fields are merged into it
        (a role of ``other`` does not overwrite a known role). Otherwise a new
        contact is added, with an id derived from ``idempotency_key`` so a
        retried add lands once.
        """
        now = datetime.now(UTC).isoformat()
        with self._lock:
            with self.transaction():
                row = None
                if contact.id:
                    row = self._db.execute(
                        "SELECT * FROM contacts WHERE id = ?", (contact.id,)
                    ).fetchone()
                if row is not None:
                    values = contact.model_dump(include=set(_FIELDS))
                    target = row["id"]
                else:
                    target, values = self._merge_target(contact, idempotency_key)
                clash = self._db.execute(
                    "SELECT id, name FROM contacts WHERE email_key = ? AND id != ?",
                    (_email_key(values["email"]), target),
                ).fetchone()
                if clash is not None:
                    raise ProviderError(
                        f"{clash['name']} already has the address {values['email']}; "
                        f"update contact '{clash['id']}' instead."
                    )
                self._db.execute(
                    "INSERT INTO contacts (id, name, email, email_key, phone, organisation, role,"
                    " timezone, notes, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT(id) DO UPDATE SET name = excluded.name,"
                    " email = excluded.email, email_key = excluded.email_key,"
                    " phone = excluded.phone, organisation = excluded.organisation,"
                    " role = excluded.role, timezone = excluded.timezone,"
                    " notes = excluded.notes, updated_at = excluded.updated_at",
                    (
                        target,
                        values["name"],
                        values["email"].strip(),
                        _email_key(values["email"]),
                        values["phone"],
                        values["organisation"],
                        values["role"],
                        values["timezone"],
                        values["notes"],
                        now,
                        now,
                    ),
                )
        return self.get(target)

    def _merge_target(self, contact: Contact, idempotency_key: str) -> tuple[str, dict[str, Any]]:
        """The id to write and the merged values, for a contact not matched by id."""
        given = contact.model_dump(include=set(_FIELDS))
        existing = None
        key = _email_key(contact.email)
        if key is not None:
            existing = self._db.execute(
                "SELECT * FROM contacts WHERE email_key = ?", (key,)
            ).fetchone()
        if existing is None and idempotency_key:
            candidate = self._id_for(idempotency_key)
            existing = self._db.execute(
                "SELECT * FROM contacts WHERE id = ?", (candidate,)
            ).fetchone()
        if existing is None:
            new_id = contact.id or (
                self._id_for(idempotency_key) if idempotency_key else f"ct-{uuid.uuid4().hex[:12]}"
            )
            return new_id, given
        merged = {f: existing[f] for f in _FIELDS}
        for f in _FIELDS:
            value = given[f]
            if f == "role" and value == "other":
                continue
            if f == "notes" and value and merged["notes"] and value not in merged["notes"]:
                merged["notes"] = f"{merged['notes']}\n{value}"
            elif value:
                merged[f] = value
        return existing["id"], merged

    @staticmethod
    def _id_for(idempotency_key: str) -> str:
        return "ct-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:12]

    @staticmethod
    def _contact(row: Row) -> Contact:
        return Contact(
            id=row["id"],
            name=row["name"],
            email=row["email"],
            phone=row["phone"],
            organisation=row["organisation"],
            role=row["role"],
            timezone=row["timezone"],
            notes=row["notes"],
        )
