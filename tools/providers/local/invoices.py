"""Invoices: the ledger of invoices received and their status, in one SQLite file per principal.

Amounts are stored as TEXT decimals (``"1234.56"``), never floats, with their
ISO currency; dates as ISO days. Each invoice captured by an approved action
gets an id derived from the action's idempotency key (``INV-<hash>``), so a
retried action finds its own row. Every status change is kept in a history
table. The store also remembers a model's reading of a document (by the text's
hash), so the approved capture stores exactly what its card showed.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from tools.providers.base import NotFound
from tools.providers.local.store import LocalStore

if TYPE_CHECKING:
    from tools.foundation.db import Storage

InvoiceStatus = Literal["received", "approved", "paid", "disputed"]
STATUSES: tuple[InvoiceStatus, ...] = ("received", "approved", "paid", "disputed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS invoices (
    id                TEXT PRIMARY KEY,
    vendor            TEXT,
    vendor_email      TEXT NOT NULL DEFAULT '',
    number            TEXT,
    issued            TEXT,
    due               TEXT,
    due_computed      INTEGER NOT NULL DEFAULT 0,
    currency          TEXT,
    net               TEXT,
    tax               TEXT,
    total             TEXT,
    iban              TEXT,
    bic               TEXT,
    reference         TEXT,
    source_message_id TEXT NOT NULL DEFAULT '',
    file_name         TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL DEFAULT 'received',
    notes             TEXT NOT NULL DEFAULT '',
    paid_on           TEXT,
    paid_reference    TEXT NOT NULL DEFAULT '',
    dispute_reason    TEXT NOT NULL DEFAULT '',
    provenance        TEXT NOT NULL DEFAULT '{}',
    unreadable        TEXT NOT NULL DEFAULT '[]',
    created_at        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS invoices_due ON invoices (due);
CREATE TABLE IF NOT EXISTS invoice_history (
    invoice_id  TEXT NOT NULL,
    at          TEXT NOT NULL,
    from_status TEXT NOT NULL DEFAULT '',
    to_status   TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS invoice_history_id ON invoice_history (invoice_id);
CREATE TABLE IF NOT EXISTS model_readings (
    text_hash TEXT PRIMARY KEY,
    fields    TEXT NOT NULL
);
"""


class Invoice(BaseModel):
    """One invoice received, as the ledger keeps it."""

    id: str = ""
    vendor: str | None = None
    vendor_email: str = ""
    number: str | None = None
    issued: date | None = None
    due: date | None = None
    due_computed: bool = False
    """True when the due date was computed from payment terms ("net 30")."""
    currency: str | None = None
    net: Decimal | None = None
    tax: Decimal | None = None
    total: Decimal | None = None
    iban: str | None = None
    bic: str | None = None
    reference: str | None = None
    source_message_id: str = ""
    file_name: str = ""
    status: InvoiceStatus = "received"
    notes: str = ""
    paid_on: date | None = None
    paid_reference: str = ""
    dispute_reason: str = ""
    provenance: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Field -> {value, source, confidence, note}: where each value was read."""
    unreadable: list[str] = Field(default_factory=list)
    """What could not be read at capture ("due date not found")."""
    created_at: AwareDatetime


class StatusChange(BaseModel):
    """One entry of an invoice's history."""

    invoice_id: str
    at: AwareDatetime
    from_status: str = ""
    to_status: str
    note: str = ""


def invoice_id_for(key: str) -> str:
    """The id an invoice captured under this idempotency key gets."""
    if not key:
        return f"INV-{uuid.uuid4().hex[:10]}"
    return f"INV-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _row(row: Any) -> Invoice:
    data = dict(row)
    data["provenance"] = json.loads(data["provenance"] or "{}")
    data["unreadable"] = json.loads(data["unreadable"] or "[]")
    data["due_computed"] = bool(data["due_computed"])
    return Invoice(**data)


def _same(a: str | None, b: str | None) -> bool:
    return (
        bool(a and b) and " ".join(str(a).split()).casefold() == " ".join(str(b).split()).casefold()
    )


class LocalInvoices(LocalStore):
    """A principal's invoice ledger in ``root/invoices.sqlite``."""

    def __init__(self, root: Path, *, storage: Storage | None = None) -> None:
        """Open (and create if needed) the database under the principal's directory.

        Args:
            root: The principal's workspace directory.
            storage: Where the principal's tables live; default from ``root``
                and ``SECRETARY_DATABASE_URL``.
        """
        super().__init__(root / "invoices.sqlite", _SCHEMA, storage=storage)

    def add(self, invoice: Invoice, idempotency_key: str = "") -> Invoice:
        """Record an invoice (once per key, status ``received``) and return it as stored."""
        new_id = invoice.id or invoice_id_for(idempotency_key)
        with self._lock, self.transaction():
            cur = self._db.execute(
                "INSERT INTO invoices (id, vendor, vendor_email, number, issued, due,"
                " due_computed, currency, net, tax, total, iban, bic, reference,"
                " source_message_id, file_name, status, notes, paid_on, paid_reference,"
                " dispute_reason, provenance, unreadable, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(id) DO NOTHING",
                (
                    new_id,
                    invoice.vendor,
                    invoice.vendor_email,
                    invoice.number,
                    _text(invoice.issued),
                    _text(invoice.due),
                    int(invoice.due_computed),
                    invoice.currency,
                    _text(invoice.net),
                    _text(invoice.tax),
                    _text(invoice.total),
                    invoice.iban,
                    invoice.bic,
                    invoice.reference,
                    invoice.source_message_id,
                    invoice.file_name,
                    invoice.status,
                    invoice.notes,
                    _text(invoice.paid_on),
                    invoice.paid_reference,
                    invoice.dispute_reason,
                    json.dumps(invoice.provenance, ensure_ascii=False),
                    json.dumps(invoice.unreadable, ensure_ascii=False),
                    invoice.created_at.isoformat(),
                ),
            )
            if cur.rowcount:
                self._db.execute(
                    "INSERT INTO invoice_history (invoice_id, at, from_status, to_status, note)"
                    " VALUES (?, ?, '', ?, 'captured')",
                    (new_id, invoice.created_at.isoformat(), invoice.status),
                )
        return self.get(new_id)

    def find(self, invoice_id: str) -> Invoice | None:
        """One invoice, or None."""
        with self._lock:
            row = self._db.execute("SELECT * FROM invoices WHERE id = ?", (invoice_id,)).fetchone()
        return None if row is None else _row(row)

    def get(self, invoice_id: str) -> Invoice:
        """One invoice; raises NotFound."""
        found = self.find(invoice_id)
        if found is None:
            raise NotFound(
                f"No invoice with id '{invoice_id}'. List invoices to find the right id."
            )
        return found

    def invoices(self, status: str | None = None) -> list[Invoice]:
        """Invoices by due date (undated last), optionally of one status."""
        sql, params = "SELECT * FROM invoices", []
        if status is not None:
            sql, params = sql + " WHERE status = ?", [status]
        sql += " ORDER BY due IS NULL, due, created_at, id"
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [_row(r) for r in rows]

    def duplicates(self, invoice: Invoice) -> tuple[Invoice | None, list[Invoice]]:
        """The stored invoice this one exactly repeats (same vendor and number), and look-alikes.

        Look-alikes have the same number (another vendor spelling), or the same total,
        currency and issue date whatever the vendor.
        """
        exact: Invoice | None = None
        similar: list[Invoice] = []
        for other in self.invoices():
            if other.id == invoice.id:
                continue
            if _same(other.vendor, invoice.vendor) and _same(other.number, invoice.number):
                exact = exact or other
            elif _same(other.number, invoice.number) or (
                invoice.total is not None
                and invoice.issued is not None
                and other.total == invoice.total
                and other.issued == invoice.issued
                and (other.currency or "") == (invoice.currency or "")
            ):
                similar.append(other)
        return exact, similar

    def set_status(
        self, invoice_id: str, status: InvoiceStatus, at: datetime, note: str = "", **fields: Any
    ) -> Invoice:
        """Move an invoice to ``status`` (with paid_on, dispute_reason... in ``fields``).

        Setting the status it already has changes nothing, so a retried action
        adds no second history entry.
        """
        current = self.get(invoice_id)
        if current.status == status:
            return current
        allowed = {"paid_on", "paid_reference", "dispute_reason", "notes"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"cannot set {sorted(unknown)} with a status change")
        assignments = ", ".join(f"{name} = ?" for name in ("status", *fields))
        values = [status, *(_text(v) if v is not None else None for v in fields.values())]
        with self._lock, self.transaction():
            # Read again under a row lock: another process may have moved it meanwhile.
            row = self._db.fetchone(
                "SELECT status FROM invoices WHERE id = ?" + self._db.for_update, (invoice_id,)
            )
            before = current.status if row is None else str(row["status"])
            if before == status:
                return self.get(invoice_id)
            self._db.execute(
                f"UPDATE invoices SET {assignments} WHERE id = ?",  # noqa: S608 - names fixed above
                (*values, invoice_id),
            )
            self._db.execute(
                "INSERT INTO invoice_history (invoice_id, at, from_status, to_status, note)"
                " VALUES (?, ?, ?, ?, ?)",
                (invoice_id, at.isoformat(), before, status, note),
            )
        return self.get(invoice_id)

    def history(self, invoice_id: str) -> list[StatusChange]:
        """An invoice's status changes, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM invoice_history WHERE invoice_id = ? ORDER BY rowid", (invoice_id,)
            ).fetchall()
        return [StatusChange(**dict(r)) for r in rows]

    def model_reading(self, text_hash: str) -> dict[str, Any] | None:
        """What a model read from the text with this hash before, if it was asked."""
        with self._lock:
            row = self._db.execute(
                "SELECT fields FROM model_readings WHERE text_hash = ?", (text_hash,)
            ).fetchone()
        return None if row is None else dict(json.loads(row["fields"]))

    def remember_model_reading(self, text_hash: str, fields: dict[str, Any]) -> None:
        """Keep a model's reading (plain JSON values) so the approved action reuses it."""
        with self._lock, self.transaction():
            self._db.execute(
                "INSERT INTO model_readings (text_hash, fields) VALUES (?, ?)"
                " ON CONFLICT(text_hash) DO NOTHING",
                (text_hash, json.dumps(fields, ensure_ascii=False)),
            )
