"""Contacts tools: look people up, and propose additions and corrections to the address book."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tools.base import Preview, ToolError, tool
from tools.context import ToolContext
from tools.providers.base import Contact, ContactRole, NotFound

if TYPE_CHECKING:
    from pydantic import BaseModel

_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
_LABELS = {
    "name": "Name",
    "email": "E-mail",
    "phone": "Phone",
    "organisation": "Organisation",
    "role": "Role",
    "timezone": "Time zone",
    "notes": "Notes",
}


def _email(value: str) -> str:
    addr = value.strip()
    if addr and not _EMAIL.match(addr):
        raise ToolError(f"'{value}' is not an e-mail address like dana@acme.com. Check it.")
    return addr


def _zone(value: str) -> str:
    name = value.strip()
    if not name:
        return ""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(
            f"'{value}' is not an IANA time zone name; use one like Europe/Berlin."
        ) from None
    return name


def _label(c: Contact) -> str:
    return f"'{c.name}' <{c.email}>" if c.email else f"'{c.name}'"


@tool(effect="read", duty="contacts", title="Find contact")
def find_contact(
    ctx: ToolContext, query: str = "", role: ContactRole | None = None
) -> list[dict[str, Any]]:
    """Search the principal's contacts by name, e-mail or organisation.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        query: Words that must all appear in the name, e-mail or organisation; empty lists all.
        role: Only contacts with this role.
    """
    found = ctx.contacts.find(query, role=role)
    return [c.model_dump(mode="json") for c in found]


def _planned_add(
    ctx: ToolContext,
    name: str,
    email: str,
    phone: str,
    organisation: str,
    role: ContactRole,
    notes: str,
    timezone: str,
) -> Contact:
    if not name.strip():
        raise ToolError("name is empty. Give the person's or organisation's name.")
    return Contact(
        name=name.strip(),
        email=_email(email),
        phone=phone.strip(),
        organisation=organisation.strip(),
        role=role,
        notes=notes,
        timezone=_zone(timezone),
    )


def _preview_add(ctx: ToolContext, args: BaseModel) -> Preview:
    new = _planned_add(ctx, **args.model_dump())
    details = {
        _LABELS[f]: str(getattr(new, f))
        for f in ("email", "phone", "organisation", "role", "timezone")
        if getattr(new, f)
    }
    warnings = []
    same = ctx.contacts.by_email(new.email) if new.email else None
    if same is not None:
        warnings.append(f"{_label(same)} already has this address; the entry will be updated")
    return Preview(
        summary=f"Add contact {_label(new)}",
        details=details,
        body=new.notes or None,
        warnings=warnings,
    )


@tool(effect="write", duty="contacts", preview=_preview_add, title="Add contact")
def add_contact(
    ctx: ToolContext,
    name: str,
    email: str = "",
    phone: str = "",
    organisation: str = "",
    role: ContactRole = "other",
    notes: str = "",
    timezone: str = "",
) -> dict[str, Any]:
    """Add a person or organisation to the address book (the principal approves it first).

    If a contact with the same e-mail exists, the new details are merged into it.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        name: Full name, e.g. "Dana Smith".
        email: E-mail address.
        phone: Phone number, ideally international (+49 30 1234567).
        organisation: Company or institution.
        role: How the principal knows them.
        notes: Anything worth remembering (assistant's name, preferences).
        timezone: IANA time zone where they live, e.g. America/New_York.
    """
    new = _planned_add(ctx, name, email, phone, organisation, role, notes, timezone)
    saved = ctx.contacts.upsert(new, ctx.idempotency_key)
    return saved.model_dump(mode="json")


def _planned_update(ctx: ToolContext, contact_id: str, **changes: Any) -> tuple[Contact, Contact]:
    try:
        old = ctx.contacts.get(contact_id)
    except NotFound:
        raise ToolError(
            f"No contact with id '{contact_id}'. Use find_contact to find the right id."
        ) from None
    given = {k: v for k, v in changes.items() if v is not None}
    if not given:
        raise ToolError("Nothing to change: give at least one field to update.")
    if "name" in given and not given["name"].strip():
        raise ToolError("name cannot be empty.")
    if "email" in given:
        given["email"] = _email(given["email"])
    if "timezone" in given:
        given["timezone"] = _zone(given["timezone"])
    return old, old.model_copy(update=given)


def _preview_update(ctx: ToolContext, args: BaseModel) -> Preview:
    old, new = _planned_update(ctx, **args.model_dump())
    details: dict[str, str] = {}
    for field, label in _LABELS.items():
        before, after = getattr(old, field), getattr(new, field)
        if before != after:
            details[label] = f"{before or '(empty)'} -> {after or '(empty)'}"
    warnings = []
    if new.email and new.email.lower() != old.email.lower():
        other = ctx.contacts.by_email(new.email)
        if other is not None and other.id != old.id:
            warnings.append(f"{_label(other)} already has this address")
    return Preview(
        summary=f"Update contact {_label(old)}",
        details=details or {"Changes": "none"},
        warnings=warnings,
    )


@tool(effect="write", duty="contacts", preview=_preview_update, title="Update contact")
def update_contact(
    ctx: ToolContext,
    contact_id: str,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    organisation: str | None = None,
    role: ContactRole | None = None,
    timezone: str | None = None,
    notes: str | None = None,
) -> dict[str, Any]:
    """Change details of an existing contact (the principal approves it first).

    Only the fields given are changed; an empty string clears a field.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        contact_id: The contact's id, as shown by find_contact.
        name: New full name.
        email: New e-mail address.
        phone: New phone number.
        organisation: New company or institution.
        role: New role.
        timezone: New IANA time zone, e.g. Asia/Tokyo.
        notes: New notes (replace the old ones).
    """
    _, new = _planned_update(
        ctx,
        contact_id,
        name=name,
        email=email,
        phone=phone,
        organisation=organisation,
        role=role,
        timezone=timezone,
        notes=notes,
    )
    saved = ctx.contacts.upsert(new, ctx.idempotency_key)
    return saved.model_dump(mode="json")
