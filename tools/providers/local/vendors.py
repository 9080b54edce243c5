"""Vendors: vendor details and the requests sent to them (quotes, orders, deliveries).

The vendor itself is a contact with role ``vendor`` in the principal's address
book; this store keeps what the address book has no place for (category,
account numbers, payment terms, preferred channel) keyed by the contact's id,
and every request mailed to a vendor with its Message-ID, so an answer in the
same thread can be recognised.

A request written by an approved action gets an id derived from the action's
idempotency key, so a retried action finds its own row instead of adding a
second one. Instants are stored as ISO 8601 with their offset, dates as plain
dates, amounts as decimal strings.
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

from tools.foundation.db import Row
from tools.providers.base import NotFound
from tools.providers.local.store import LocalStore

if TYPE_CHECKING:
    from tools.foundation.db import Storage

Channel = Literal["email", "phone"]
RequestKind = Literal["quote", "order", "chase"]
RequestStatus = Literal["awaiting", "answered", "closed"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS vendor_details (
    contact_id    TEXT PRIMARY KEY,
    category      TEXT NOT NULL DEFAULT '',
    accounts      TEXT NOT NULL DEFAULT '[]',
    payment_terms TEXT NOT NULL DEFAULT '',
    channel       TEXT NOT NULL DEFAULT 'email',
    notes         TEXT NOT NULL DEFAULT '',
    updated_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS vendor_requests (
    id                TEXT PRIMARY KEY,
    kind              TEXT NOT NULL,
    vendor_id         TEXT NOT NULL,
    vendor            TEXT NOT NULL,
    vendor_email      TEXT NOT NULL,
    subject           TEXT NOT NULL,
    message_id        TEXT NOT NULL DEFAULT '',
    sent_at           TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'awaiting',
    expected_by       TEXT,
    refers_to         TEXT NOT NULL DEFAULT '',
    details           TEXT NOT NULL DEFAULT '{}',
    answer_summary    TEXT NOT NULL DEFAULT '',
    answer_amount     TEXT,
    answer_currency   TEXT NOT NULL DEFAULT '',
    answer_delivery   TEXT,
    answer_message_id TEXT NOT NULL DEFAULT '',
    answered_at       TEXT
);
CREATE INDEX IF NOT EXISTS vendor_requests_status ON vendor_requests (status, sent_at);
"""


class VendorDetails(BaseModel):
    """What the directory knows about a vendor beyond the contact entry."""

    contact_id: str
    category: str = ""
    """What they supply: "catering", "office supplies", "IT"."""
    accounts: list[str] = Field(default_factory=list)
    """The principal's customer/account numbers with this vendor."""
    payment_terms: str = ""
    """E.g. "net 30"."""
    channel: Channel = "email"
    """How the vendor prefers to be contacted."""
    notes: str = ""


class VendorRequest(BaseModel):
    """A quote request, an order or a delivery chase mailed to a vendor."""

    id: str = ""
    kind: RequestKind
    vendor_id: str
    """The vendor's contact id."""
    vendor: str
    """The vendor's name when the request was sent."""
    vendor_email: str
    """The bare address the request went to (answers come from there)."""
    subject: str
    message_id: str = ""
    """The Message-ID of the mail that was sent."""
    sent_at: AwareDatetime
    status: RequestStatus = "awaiting"
    expected_by: date | None = None
    """When an answer (or, for an order, the delivery) is expected."""
    refers_to: str = ""
    """For a chase: the id of the order it follows up."""
    details: dict[str, Any] = Field(default_factory=dict)
    """What was asked: item, quantity, needed-by, delivery address, account..."""
    answer_summary: str = ""
    answer_amount: Decimal | None = None
    answer_currency: str = ""
    answer_delivery: date | None = None
    answer_message_id: str = ""
    answered_at: AwareDatetime | None = None


def _id_for(prefix: str, key: str) -> str:
    # Without a key (direct use, tests) nothing can be retried, so any id will do.
    if not key:
        return f"{prefix}-{uuid.uuid4().hex[:12]}"
    return f"{prefix}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def _day(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


def _request(row: Row) -> VendorRequest:
    data = dict(row)
    data["details"] = json.loads(data["details"] or "{}")
    return VendorRequest(**data)


class LocalVendors(LocalStore):
    """A principal's records in ``root/vendors.sqlite``."""

    def __init__(self, root: Path, *, storage: Storage | None = None) -> None:
        """Open (and create if needed) the database under the principal's directory.

        Args:
            root: The principal's workspace directory.
            storage: Where the principal's tables live; default from ``root``
                and ``SECRETARY_DATABASE_URL``.
        """
        super().__init__(root / "vendors.sqlite", _SCHEMA, storage=storage)

    # -------------------------------------------------------------- details

    def details(self, contact_id: str) -> VendorDetails | None:
        """The details kept for one vendor contact, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM vendor_details WHERE contact_id = ?", (contact_id,)
            ).fetchone()
        return None if row is None else self._details(row)

    def all_details(self) -> dict[str, VendorDetails]:
        """Every vendor's details, by contact id."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM vendor_details").fetchall()
        return {r["contact_id"]: self._details(r) for r in rows}

    def save_details(self, details: VendorDetails, now: datetime) -> VendorDetails:
        """Store a vendor's details (replacing what was kept for that contact)."""
        with self._lock, self.transaction():
            self._db.execute(
                "INSERT INTO vendor_details (contact_id, category, accounts, payment_terms,"
                " channel, notes, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(contact_id) DO UPDATE SET category = excluded.category,"
                " accounts = excluded.accounts, payment_terms = excluded.payment_terms,"
                " channel = excluded.channel, notes = excluded.notes,"
                " updated_at = excluded.updated_at",
                (
                    details.contact_id,
                    details.category,
                    json.dumps(details.accounts),
                    details.payment_terms,
                    details.channel,
                    details.notes,
                    now.isoformat(),
                ),
            )
        saved = self.details(details.contact_id)
        assert saved is not None
        return saved

    @staticmethod
    def _details(row: Row) -> VendorDetails:
        data = dict(row)
        data.pop("updated_at", None)
        data["accounts"] = json.loads(data["accounts"] or "[]")
        return VendorDetails(**data)

    # ------------------------------------------------------------- requests

    def add_request(self, request: VendorRequest, idempotency_key: str = "") -> VendorRequest:
        """Record a request sent to a vendor (once per key) and return it as stored."""
        new_id = request.id or _id_for("vreq", idempotency_key)
        with self._lock, self.transaction():
            self._db.execute(
                "INSERT INTO vendor_requests (id, kind, vendor_id, vendor, vendor_email, subject,"
                " message_id, sent_at, status, expected_by, refers_to, details)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
                (
                    new_id,
                    request.kind,
                    request.vendor_id,
                    request.vendor,
                    request.vendor_email,
                    request.subject,
                    request.message_id,
                    request.sent_at.isoformat(),
                    request.status,
                    _day(request.expected_by),
                    request.refers_to,
                    json.dumps(request.details, ensure_ascii=False),
                ),
            )
        return self.get_request(new_id)

    def get_request(self, request_id: str) -> VendorRequest:
        """One request; raises NotFound."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM vendor_requests WHERE id = ?", (request_id,)
            ).fetchone()
        if row is None:
            raise NotFound(f"No vendor request with id '{request_id}'. List requests to find it.")
        return _request(row)

    def requests(
        self, status: str | None = None, vendor_id: str = "", kind: str = ""
    ) -> list[VendorRequest]:
        """Requests, oldest first, optionally of one status, vendor and kind."""
        sql, params = "SELECT * FROM vendor_requests WHERE 1 = 1", []
        if status is not None:
            sql += " AND status = ?"
            params.append(status)
        if vendor_id:
            sql += " AND vendor_id = ?"
            params.append(vendor_id)
        if kind:
            sql += " AND kind = ?"
            params.append(kind)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY sent_at, id", params).fetchall()
        return [_request(r) for r in rows]

    def record_answer(
        self,
        request_id: str,
        *,
        summary: str,
        amount: Decimal | None,
        currency: str,
        delivery: date | None,
        message_id: str,
        at: datetime,
        status: RequestStatus = "answered",
    ) -> VendorRequest:
        """Store a vendor's answer to a request and set its status; raises NotFound."""
        self.get_request(request_id)
        with self._lock, self.transaction():
            self._db.execute(
                "UPDATE vendor_requests SET status = ?, answer_summary = ?, answer_amount = ?,"
                " answer_currency = ?, answer_delivery = ?, answer_message_id = ?,"
                " answered_at = ? WHERE id = ?",
                (
                    status,
                    summary,
                    None if amount is None else str(amount),
                    currency,
                    _day(delivery),
                    message_id,
                    at.isoformat(),
                    request_id,
                ),
            )
        return self.get_request(request_id)
