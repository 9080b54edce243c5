"""The vendor directory (find and add vendors), and what every vendor tool shares."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from tools import outbound
from tools.base import Preview, ToolError, tool
from tools.context import ToolContext
from tools.dates import read_when
from tools.providers.base import Contact
from tools.providers.local.vendors import LocalVendors, VendorDetails
from tools.providers.mime import bare_address, format_address

if TYPE_CHECKING:
    from collections.abc import Iterable


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
DEFAULT_FOLLOWUP_DAYS = 3
"""Days a request may wait for an answer before it is a follow-up, unless the principal's
``preferences["vendor_followup_days"]`` says otherwise."""


class OrderItem(BaseModel):
    """One line of an order."""

    item: str = Field(description='What to order, e.g. "lunch box, vegetarian" or an article no.')
    quantity: str = Field("1", description='How many or how much, e.g. "40" or "5 kg".')


# ------------------------------------------------------------------ helpers


def _store(ctx: ToolContext) -> LocalVendors:
    store: LocalVendors | None = ctx.workspace.vendors
    if store is None:
        raise ToolError("The vendor records are not open for this principal; ask an administrator.")
    return store


def _day(d: date) -> str:
    return f"{_DAYS[d.weekday()]} {d:%d %b %Y}"


def _read_day(ctx: ToolContext, text: str, name: str, *, future: bool = True) -> date | None:
    """The day a phrase names (a span counts as its last day); None for empty text."""
    if not text.strip():
        return None
    try:
        reading = read_when(text, ctx.principal.tz, ctx.reference_now())
    except ValueError as exc:
        raise ToolError(f"{name}: {exc}") from None
    tz = ctx.principal.tz
    if reading.kind == "days":
        day = (reading.end.astimezone(tz) - timedelta(seconds=1)).date()
    else:
        day = reading.start.astimezone(tz).date()
    if future and day < ctx.now().date():
        raise ToolError(f"{name}: {_day(day)} is in the past. Give a date from today on.")
    return day


def _address(value: str, name: str) -> str:
    """One e-mail address (``Name <addr>`` allowed), bare and lowercase, as vendors are filed."""
    return bare_address(outbound.one_address(value, name, "orders@acme.com"))


def _signed(ctx: ToolContext, text: str) -> str:
    return outbound.signed(ctx, text, closing="Kind regards,")


def _followup_days(ctx: ToolContext, days: int) -> int:
    """``days`` itself, or for 0 the principal's ``vendor_followup_days`` preference (3)."""
    if days < 0:
        raise ToolError("days must be 0 (use the principal's preference) or more.")
    if days:
        return days
    value = ctx.principal.preferences.get("vendor_followup_days", DEFAULT_FOLLOWUP_DAYS)
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return DEFAULT_FOLLOWUP_DAYS


# ---------------------------------------------------------------- directory


def _vendors(ctx: ToolContext) -> list[tuple[Contact, VendorDetails]]:
    """Every vendor contact with its details (empty details when none are kept)."""
    contacts = ctx.contacts.find("", role="vendor", limit=10_000)
    kept = _store(ctx).all_details()
    return [(c, kept.get(c.id) or VendorDetails(contact_id=c.id)) for c in contacts]


def _vendor_dict(contact: Contact, details: VendorDetails) -> dict[str, Any]:
    return {
        "id": contact.id,
        "name": contact.name,
        "email": contact.email,
        "phone": contact.phone,
        "organisation": contact.organisation,
        "category": details.category,
        "accounts": list(details.accounts),
        "payment_terms": details.payment_terms,
        "channel": details.channel,
        "notes": details.notes or contact.notes,
    }


def _label(contact: Contact) -> str:
    return format_address(contact.name, contact.email) if contact.email else contact.name


def _unknown(text: str) -> ToolError:
    return ToolError(
        f"No vendor matches '{text}'. Add them with add_vendor (name, e-mail, category), "
        "or look them up with find_contact if they are in the address book under another role."
    )


def _matching(
    found: Iterable[tuple[Contact, VendorDetails]], query: str, category: str
) -> list[tuple[Contact, VendorDetails]]:
    words = query.casefold().split()
    wanted = category.casefold().strip()
    out = []
    for c, d in found:
        hay = " ".join((c.name, c.email, c.organisation, d.category)).casefold()
        if all(w in hay for w in words) and (not wanted or wanted in d.category.casefold()):
            out.append((c, d))
    return out


def _resolve(ctx: ToolContext, vendor: str) -> tuple[Contact, VendorDetails]:
    """The one vendor a name, e-mail address or contact id names, or a ToolError."""
    text = " ".join(vendor.split())
    if not text:
        raise ToolError("vendor is empty. Give the vendor's name or e-mail address.")
    everyone = _vendors(ctx)
    if "@" in text:
        addr = _address(text, "vendor")
        for c, d in everyone:
            if c.email and bare_address(c.email) == addr:
                return c, d
        other = ctx.contacts.by_email(addr)
        if other is not None:
            raise ToolError(
                f"{_label(other)} is in the address book as {other.role}, not as a vendor. "
                "Add them with add_vendor first."
            )
        raise _unknown(text)
    for c, d in everyone:
        if c.id == text:
            return c, d
    exact = [(c, d) for c, d in everyone if c.name.casefold() == text.casefold()]
    found = exact or _matching(everyone, text, "")
    if len(found) == 1:
        return found[0]
    if not found:
        raise _unknown(text)
    names = "; ".join(_label(c) for c, _ in found[:5])
    raise ToolError(f"'{text}' matches several vendors: {names}. Give the e-mail address.")


@tool(effect="read", duty="vendors", title="Find vendor")
def find_vendor(ctx: ToolContext, query: str = "", category: str = "") -> list[dict[str, Any]]:
    """Look vendors up in the directory by name, e-mail, organisation or category.

    Each result has the contact (name, e-mail, phone) and the vendor details: category,
    the principal's account numbers with them, payment terms and preferred channel.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        query: Words that must all appear in name, e-mail, organisation or category;
            empty lists every vendor.
        category: Only vendors whose category contains this ("catering", "IT").
    """
    found = _matching(_vendors(ctx), query, category)
    if not found and (query.strip() or category.strip()):
        raise _unknown(" ".join(x for x in (query.strip(), category.strip()) if x))
    return [_vendor_dict(c, d) for c, d in found]


@dataclass
class _PlannedVendor:
    contact: Contact
    details: VendorDetails
    existing: Contact | None
    old: VendorDetails | None


def _planned_vendor(
    ctx: ToolContext,
    name: str,
    email: str,
    category: str,
    account_numbers: list[str] | None,
    payment_terms: str,
    channel: str,
    phone: str,
    organisation: str,
    notes: str,
) -> _PlannedVendor:
    if not name.strip():
        raise ToolError("name is empty. Give the vendor's name, e.g. 'Acme Catering'.")
    if not email.strip():
        raise ToolError("email is empty. Give the vendor's e-mail address for requests.")
    addr = _address(email, "email")
    existing = ctx.contacts.by_email(addr)
    old = _store(ctx).details(existing.id) if existing is not None else None
    contact = Contact(
        id=existing.id if existing is not None else "",
        name=" ".join(name.split()),
        email=addr,
        phone=phone.strip() or (existing.phone if existing else ""),
        organisation=organisation.strip() or (existing.organisation if existing else ""),
        role="vendor",
        timezone=existing.timezone if existing else "",
        notes=existing.notes if existing else "",
    )
    accounts = list(old.accounts) if old else []
    for number in account_numbers or []:
        if number.strip() and number.strip() not in accounts:
            accounts.append(number.strip())
    details = VendorDetails(
        contact_id=contact.id,
        category=category.strip() or (old.category if old else ""),
        accounts=accounts,
        payment_terms=payment_terms.strip() or (old.payment_terms if old else ""),
        channel=channel or (old.channel if old else "email"),
        notes=notes.strip() or (old.notes if old else ""),
    )
    return _PlannedVendor(contact, details, existing, old)


def _preview_vendor(ctx: ToolContext, args: BaseModel) -> Preview:
    plan = _planned_vendor(ctx, **args.model_dump())
    d = plan.details
    details = {
        "E-mail": plan.contact.email,
        "Category": d.category or "(none)",
        "Accounts": ", ".join(d.accounts) or "(none)",
        "Payment terms": d.payment_terms or "(none)",
        "Preferred channel": d.channel,
    }
    if plan.contact.phone:
        details["Phone"] = plan.contact.phone
    warnings = []
    verb = "Add"
    if plan.existing is not None:
        verb = "Update"
        if plan.existing.role != "vendor":
            warnings.append(
                f"{_label(plan.existing)} is listed as {plan.existing.role}; "
                "the contact becomes a vendor"
            )
        if plan.existing.name != plan.contact.name:
            details["Name"] = f"{plan.existing.name} -> {plan.contact.name}"
    if d.channel == "phone" and not plan.contact.phone:
        warnings.append("Prefers phone, but no phone number is on file")
    return Preview(
        summary=f"{verb} vendor {_label(plan.contact)}",
        details=details,
        body=d.notes or None,
        warnings=warnings,
    )


@tool(effect="write", duty="vendors", preview=_preview_vendor, title="Add vendor")
def add_vendor(
    ctx: ToolContext,
    name: str,
    email: str,
    category: str = "",
    account_numbers: list[str] | None = None,
    payment_terms: str = "",
    channel: Literal["", "email", "phone"] = "",
    phone: str = "",
    organisation: str = "",
    notes: str = "",
) -> dict[str, Any]:
    """Add a vendor to the directory, or update the one with this e-mail address.

    The contact gets the role "vendor"; empty fields keep what is on file, and new
    account numbers are added to the known ones.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        name: The vendor's name, e.g. "Acme Catering".
        email: The address requests go to, e.g. orders@acme-catering.com.
        category: What they supply: "catering", "office supplies", "IT"...
        account_numbers: The principal's customer/account numbers with this vendor.
        payment_terms: E.g. "net 30".
        channel: How they prefer to be contacted: "email" or "phone" (empty keeps; new: email).
        phone: Phone number, ideally international (+49 30 1234567).
        organisation: Company name when it differs from name.
        notes: Anything worth remembering (contact person, opening hours).
    """
    plan = _planned_vendor(
        ctx,
        name,
        email,
        category,
        account_numbers or [],
        payment_terms,
        channel,
        phone,
        organisation,
        notes,
    )
    saved = ctx.contacts.upsert(plan.contact, ctx.idempotency_key)
    details = plan.details.model_copy(update={"contact_id": saved.id})
    kept = _store(ctx).save_details(details, ctx.now())
    return _vendor_dict(saved, kept)
