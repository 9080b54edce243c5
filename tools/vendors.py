"""Vendor tools: the vendor directory, requests mailed to vendors, their answers and follow-ups.

A vendor is a contact with role ``vendor``; the vendor store
(``Workspace.vendors``, see :mod:`tools.providers.local.vendors`)
keeps its category, the principal's account numbers with it, payment terms and
preferred channel. Quote requests, orders and delivery chases are ``write``
tools: each mails the vendor (the approval card shows the exact mail) and
records the request with the Message-ID of that mail, so an answer arriving in
the same thread is recognised by :func:`vendor_followups`. Dates are ISO 8601
or phrases ("Friday", "next week"), read in the principal's zone against the
moment the action was proposed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from tools import outbound
from tools.base import Preview, ToolError, tool
from tools.context import ToolContext
from tools.dates import read_when
from tools.providers.base import Contact, Message, NotFound, OutgoingMessage, ProviderError
from tools.providers.local.vendors import LocalVendors, VendorDetails, VendorRequest
from tools.providers.mime import bare_address, format_address, reply_subject

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


# ----------------------------------------------------------------- requests


@dataclass
class _PlannedRequest:
    contact: Contact
    details: VendorDetails
    request: VendorRequest
    mail: OutgoingMessage
    facts: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _mail_to(contact: Contact) -> tuple[str, str]:
    """The address to write to (display form) and its bare form, or a ToolError."""
    if not contact.email:
        raise ToolError(
            f"{contact.name} has no e-mail address on file. Add it with add_vendor first."
        )
    return format_address(contact.name, contact.email), bare_address(contact.email)


def _channel_warnings(contact: Contact, details: VendorDetails) -> list[str]:
    if details.channel != "phone":
        return []
    number = f" ({contact.phone})" if contact.phone else ""
    return [f"{contact.name} prefers phone{number}; consider calling instead of e-mailing"]


def _plan(
    ctx: ToolContext,
    contact: Contact,
    details: VendorDetails,
    kind: Literal["quote", "order", "chase"],
    mail: OutgoingMessage,
    info: dict[str, Any],
    expected_by: date | None,
    refers_to: str = "",
) -> _PlannedRequest:
    _, bare = _mail_to(contact)
    request = VendorRequest(
        kind=kind,
        vendor_id=contact.id,
        vendor=contact.name,
        vendor_email=bare,
        subject=mail.subject,
        sent_at=ctx.reference_now(),
        expected_by=expected_by,
        refers_to=refers_to,
        details=info,
    )
    return _PlannedRequest(contact, details, request, mail, {}, _channel_warnings(contact, details))


def _request_preview(plan: _PlannedRequest, summary: str) -> Preview:
    details = {"To": plan.mail.to[0], "Subject": plan.mail.subject, **plan.facts}
    if plan.request.expected_by is not None:
        details["Answer expected by"] = _day(plan.request.expected_by)
    return Preview(summary=summary, details=details, body=plan.mail.body, warnings=plan.warnings)


def _request_dict(ctx: ToolContext, r: VendorRequest) -> dict[str, Any]:
    data = r.model_dump(mode="json")
    data["sent"] = r.sent_at.astimezone(ctx.principal.tz).date().isoformat()
    data["expected_by"] = r.expected_by.isoformat() if r.expected_by else ""
    return data


def _execute(ctx: ToolContext, plan: _PlannedRequest) -> dict[str, Any]:
    """Send the planned mail (once per key) and record the request (once per key)."""
    message_id = outbound.send(ctx, plan.mail, "mail").message_id
    request = plan.request.model_copy(update={"message_id": message_id, "sent_at": ctx.now()})
    return _request_dict(ctx, _store(ctx).add_request(request, ctx.idempotency_key))


def _account_line(details: VendorDetails, given: str) -> tuple[str, list[str]]:
    """The account number to quote and any warning about it."""
    number = given.strip()
    if not number:
        return (details.accounts[0] if details.accounts else ""), []
    if details.accounts and number not in details.accounts:
        return number, [
            f"Account number {number} is not on file for this vendor "
            f"(on file: {', '.join(details.accounts)})"
        ]
    return number, []


def _planned_quote(
    ctx: ToolContext,
    vendor: str,
    what: str,
    quantity: str,
    needed_by: str,
    reply_by: str,
    notes: str,
) -> _PlannedRequest:
    contact, details = _resolve(ctx, vendor)
    to, _ = _mail_to(contact)
    if not what.strip():
        raise ToolError("what is empty. Say what the quote is for, e.g. 'lunch boxes'.")
    thing = " ".join(what.split())
    amount = " ".join(quantity.split())
    needed = _read_day(ctx, needed_by, "needed_by")
    answer_by = _read_day(ctx, reply_by, "reply_by")
    account, _ = _account_line(details, "")
    line = f"{amount} x {thing}" if amount else thing
    lines = [f"Hello {contact.name},", "", "could you please send us a quote for:", "", f"  {line}"]
    lines.append("")
    if needed:
        lines.append(f"Needed by: {_day(needed)}")
    if account:
        lines.append(f"Our account number: {account}")
    if answer_by:
        lines.append(f"We would appreciate your quote by {_day(answer_by)}.")
    if notes.strip():
        lines += ["", notes.strip()]
    lines += ["", "Thank you."]
    mail = OutgoingMessage(
        to=[to],
        subject=f"Request for quote: {amount + ' ' if amount else ''}{thing}",
        body=_signed(ctx, "\n".join(lines).replace("\n\n\n", "\n\n")),
    )
    info = {
        "what": thing,
        "quantity": amount,
        "needed_by": needed.isoformat() if needed else "",
        "account_number": account,
    }
    plan = _plan(ctx, contact, details, "quote", mail, info, answer_by)
    if needed:
        plan.facts["Needed by"] = _day(needed)
    if needed and answer_by and answer_by > needed:
        plan.warnings.append("The answer is expected after the date the goods are needed")
    return plan


def _preview_quote(ctx: ToolContext, args: BaseModel) -> Preview:
    plan = _planned_quote(ctx, **args.model_dump())
    what = plan.request.details["what"]
    qty = plan.request.details["quantity"]
    return _request_preview(
        plan, f"Ask {plan.contact.name} for a quote: {qty + ' ' if qty else ''}{what}"
    )


@tool(effect="write", duty="vendors", preview=_preview_quote, title="Request quote")
def request_quote(
    ctx: ToolContext,
    vendor: str,
    what: str,
    quantity: str = "",
    needed_by: str = "",
    reply_by: str = "",
    notes: str = "",
) -> dict[str, Any]:
    """E-mail a vendor asking for a quote, and track the request until they answer.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        vendor: The vendor's name, e-mail address or id from find_vendor.
        what: What the quote is for, e.g. "lunch boxes".
        quantity: How many or how much, e.g. "40".
        needed_by: When the goods or service are needed: ISO date or phrase ("Friday").
        reply_by: When the quote should arrive (the follow-up date); empty for none.
        notes: Anything else the vendor should know (dietary needs, delivery floor).
    """
    return _execute(ctx, _planned_quote(ctx, vendor, what, quantity, needed_by, reply_by, notes))


def _planned_order(
    ctx: ToolContext,
    vendor: str,
    items: list[OrderItem],
    delivery_address: str,
    delivery_date: str,
    quote_number: str,
    account_number: str,
    notes: str,
) -> _PlannedRequest:
    contact, details = _resolve(ctx, vendor)
    to, _ = _mail_to(contact)
    if not items:
        raise ToolError("items is empty. List what to order, each with item and quantity.")
    lines_out = []
    for n, entry in enumerate(items, 1):
        item = " ".join(entry.item.split())
        qty = " ".join(entry.quantity.split())
        if not item:
            raise ToolError(f"items: line {n} has no item. Say what to order on every line.")
        if not qty:
            raise ToolError(f"items: '{item}' has no quantity. Give one, e.g. '40' or '5 kg'.")
        lines_out.append({"item": item, "quantity": qty})
    address = (
        delivery_address.strip()
        or str(ctx.principal.preferences.get("delivery_address", "")).strip()
    )
    if not address:
        raise ToolError(
            "delivery_address is empty. Give the address to deliver to (street, postcode, city)."
        )
    if len(address) < 6 or "@" in address:
        raise ToolError(
            f"delivery_address: '{address}' is not a postal address. "
            "Give street, postcode and city."
        )
    when = _read_day(ctx, delivery_date, "delivery_date")
    account, account_warnings = _account_line(details, account_number)
    quote = quote_number.strip()
    body = [f"Hello {contact.name},", "", "we would like to order:", ""]
    body += [f"  - {x['quantity']} x {x['item']}" for x in lines_out]
    body += ["", "Delivery address:", *[f"  {p.strip()}" for p in address.splitlines()]]
    if when:
        body.append(f"Delivery date: {_day(when)}")
    if quote:
        body.append(f"Your quote: {quote}")
    if account:
        body.append(f"Our account number: {account}")
    if notes.strip():
        body += ["", notes.strip()]
    body += ["", "Please confirm the order and the delivery date."]
    first = f"{lines_out[0]['quantity']} x {lines_out[0]['item']}"
    more = f" and {len(lines_out) - 1} more" if len(lines_out) > 1 else ""
    subject = f"Order: {first}{more}" + (f" (your quote {quote})" if quote else "")
    mail = OutgoingMessage(to=[to], subject=subject, body=_signed(ctx, "\n".join(body)))
    info = {
        "items": lines_out,
        "delivery_address": address,
        "delivery_date": when.isoformat() if when else "",
        "quote_number": quote,
        "account_number": account,
    }
    plan = _plan(ctx, contact, details, "order", mail, info, when)
    plan.facts["Items"] = "; ".join(f"{x['quantity']} x {x['item']}" for x in lines_out)
    if when:
        plan.facts["Delivery"] = _day(when)
    plan.facts["Account"] = account or "(none on file)"
    if details.payment_terms:
        plan.facts["Payment terms"] = details.payment_terms
    plan.warnings += account_warnings
    return plan


def _preview_order(ctx: ToolContext, args: BaseModel) -> Preview:
    values = {**args.model_dump(), "items": list(getattr(args, "items", []))}
    plan = _planned_order(ctx, **values)
    n = len(plan.request.details["items"])
    return _request_preview(
        plan, f"Order {n} item{'s' if n != 1 else ''} from {plan.contact.name} by e-mail"
    )


@tool(effect="write", duty="vendors", preview=_preview_order, title="Place order")
def place_order(
    ctx: ToolContext,
    vendor: str,
    items: list[OrderItem],
    delivery_address: str = "",
    delivery_date: str = "",
    quote_number: str = "",
    account_number: str = "",
    notes: str = "",
) -> dict[str, Any]:
    """E-mail an order to a vendor, and track it until it is confirmed and delivered.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        vendor: The vendor's name, e-mail address or id from find_vendor.
        items: What to order: a list of {"item": ..., "quantity": ...}.
        delivery_address: Where to deliver (street, postcode, city); empty uses the
            principal's delivery_address preference.
        delivery_date: When to deliver: ISO date or phrase ("next Tuesday").
        quote_number: The vendor's quote number this order accepts, if any.
        account_number: The principal's account number with them; empty uses the one on file.
        notes: Anything else for the vendor (floor, contact on site).
    """
    return _execute(
        ctx,
        _planned_order(
            ctx,
            vendor,
            items,
            delivery_address,
            delivery_date,
            quote_number,
            account_number,
            notes,
        ),
    )


def _get_request(ctx: ToolContext, request_id: str) -> VendorRequest:
    try:
        return _store(ctx).get_request(request_id.strip())
    except NotFound:
        raise ToolError(
            f"No vendor request with id '{request_id}'. "
            "Use list_vendor_requests or vendor_followups to find the right id."
        ) from None


def _vendor_of(ctx: ToolContext, request: VendorRequest) -> tuple[Contact, VendorDetails]:
    """The vendor a request went to, as on file now (or as recorded, if since removed)."""
    try:
        contact = ctx.contacts.get(request.vendor_id)
    except ProviderError:
        contact = Contact(
            id=request.vendor_id, name=request.vendor, email=request.vendor_email, role="vendor"
        )
    details = _store(ctx).details(request.vendor_id) or VendorDetails(contact_id=contact.id)
    return contact, details


def _planned_chase(ctx: ToolContext, order_id: str, note: str, reply_by: str) -> _PlannedRequest:
    order = _get_request(ctx, order_id)
    if order.kind == "chase" and order.refers_to:
        order = _get_request(ctx, order.refers_to)
    if order.kind != "order":
        raise ToolError(
            f"Request '{order.id}' is a {order.kind} request, not an order; "
            "chase_delivery follows up orders (reply to the request mail instead)."
        )
    if order.status == "closed":
        raise ToolError(f"Order '{order.id}' is closed (delivered); there is nothing to chase.")
    contact, details = _vendor_of(ctx, order)
    contact = contact.model_copy(update={"email": order.vendor_email})
    to, _ = _mail_to(contact)
    answer_by = _read_day(ctx, reply_by, "reply_by")
    info = order.details
    ordered = order.sent_at.astimezone(ctx.principal.tz).date()
    body = [
        f"Hello {contact.name},",
        "",
        f"on {_day(ordered)} we ordered from you:",
        "",
    ]
    body += [f"  - {x.get('quantity', '')} x {x.get('item', '')}" for x in info.get("items", [])]
    body.append("")
    if info.get("quote_number"):
        body.append(f"Your quote: {info['quote_number']}")
    if info.get("account_number"):
        body.append(f"Our account number: {info['account_number']}")
    due = order.answer_delivery or order.expected_by
    today = ctx.now().date()
    if due and due < today:
        ask = f"It was due on {_day(due)} and has not arrived yet."
    elif order.answer_delivery:
        ask = f"You confirmed delivery for {_day(order.answer_delivery)}."
    else:
        ask = "We have not yet had a confirmation."
    body += [ask, "Could you please let us know when it will be delivered?"]
    if answer_by:
        body.append(f"We would appreciate an answer by {_day(answer_by)}.")
    if note.strip():
        body += ["", note.strip()]
    mail = OutgoingMessage(
        to=[to],
        subject=reply_subject(order.subject),
        body=_signed(ctx, "\n".join(body)),
        in_reply_to=order.message_id,
        references=[order.message_id] if order.message_id else [],
    )
    chase_info = {"order_id": order.id, "ordered": ordered.isoformat(), **info}
    plan = _plan(ctx, contact, details, "chase", mail, chase_info, answer_by, refers_to=order.id)
    plan.facts["Order"] = f"{order.id} of {_day(ordered)} ({order.status})"
    if due:
        plan.facts["Delivery was due"] = _day(due)
    return plan


def _preview_chase(ctx: ToolContext, args: BaseModel) -> Preview:
    plan = _planned_chase(ctx, **args.model_dump())
    return _request_preview(plan, f"Chase {plan.contact.name} about the delivery of an order")


@tool(effect="write", duty="vendors", preview=_preview_chase, title="Chase delivery")
def chase_delivery(
    ctx: ToolContext, order_id: str, note: str = "", reply_by: str = ""
) -> dict[str, Any]:
    """E-mail a vendor about an order that has not arrived, as a reply in the order's thread.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        order_id: The id of the order request, as shown by list_vendor_requests.
        note: Anything to add (why it is urgent).
        reply_by: When an answer is expected: ISO date or phrase; empty for none.
    """
    return _execute(ctx, _planned_chase(ctx, order_id, note, reply_by))


# ------------------------------------------------------------------ answers


@dataclass
class _PlannedAnswer:
    request: VendorRequest
    summary: str
    amount: Decimal | None
    currency: str
    delivery: date | None
    message_id: str
    status: Literal["answered", "closed"]


def _planned_answer(
    ctx: ToolContext,
    request_id: str,
    summary: str,
    amount: Decimal | None,
    currency: str,
    delivery_date: str,
    message_id: str,
    close: bool,
) -> _PlannedAnswer:
    request = _get_request(ctx, request_id)
    if not summary.strip():
        raise ToolError("summary is empty. Say in a sentence what the vendor answered.")
    code = currency.strip().upper()
    if amount is not None:
        if not amount.is_finite() or amount < 0:
            raise ToolError(f"amount: {amount} is not a price. Give a positive number like 480.00.")
        if not _CURRENCY.match(code):
            raise ToolError(
                "currency: give the ISO code of the amount's currency, like EUR or USD."
            )
    elif code:
        raise ToolError("currency is given without amount. Give the amount too, or neither.")
    delivery = _read_day(ctx, delivery_date, "delivery_date", future=False)
    mid = ""
    if message_id.strip():
        try:
            mid = ctx.mail.get_message(message_id.strip()).message_id
        except ProviderError:
            raise ToolError(
                f"No mail with id '{message_id}'. Use search_mail to find the vendor's answer, "
                "or leave message_id empty."
            ) from None
    return _PlannedAnswer(
        request,
        " ".join(summary.split()),
        amount,
        code if amount is not None else "",
        delivery,
        mid,
        "closed" if close else "answered",
    )


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def _preview_answer(ctx: ToolContext, args: BaseModel) -> Preview:
    plan = _planned_answer(ctx, **args.model_dump())
    r = plan.request
    details = {
        "Request": f"{r.kind} '{r.subject}' to {r.vendor} ({r.id})",
        "Status": f"{r.status} -> {plan.status}",
    }
    if plan.amount is not None:
        details["Amount"] = _money(plan.amount, plan.currency)
    if plan.delivery:
        details["Delivery"] = _day(plan.delivery)
    if plan.message_id:
        details["Their mail"] = plan.message_id
    warnings = []
    if r.status != "awaiting" and r.answer_summary:
        warnings.append(f"Already {r.status} ('{r.answer_summary}'); this answer replaces it")
    return Preview(
        summary=f"Record {r.vendor}'s answer to '{r.subject}'",
        details=details,
        body=plan.summary,
        warnings=warnings,
    )


@tool(effect="write", duty="vendors", preview=_preview_answer, title="Record vendor answer")
def record_vendor_answer(
    ctx: ToolContext,
    request_id: str,
    summary: str,
    amount: Decimal | None = None,
    currency: str = "",
    delivery_date: str = "",
    message_id: str = "",
    close: bool = False,
) -> dict[str, Any]:
    """Record a vendor's answer to a quote request, order or chase, and mark it answered.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        request_id: The request's id, as shown by list_vendor_requests or vendor_followups.
        summary: What they answered, in a sentence ("Quote Q-118: 40 lunches at 12 EUR each").
        amount: The quoted or confirmed total, as a decimal number (e.g. "480.00").
        currency: The amount's ISO currency code (EUR, USD); required with amount.
        delivery_date: The delivery date they gave: ISO date or phrase.
        message_id: The Message-ID of their mail, if they answered by mail.
        close: True when nothing more is expected (the order arrived, the quote was declined).
    """
    plan = _planned_answer(
        ctx, request_id, summary, amount, currency, delivery_date, message_id, close
    )
    saved = _store(ctx).record_answer(
        plan.request.id,
        summary=plan.summary,
        amount=plan.amount,
        currency=plan.currency,
        delivery=plan.delivery,
        message_id=plan.message_id,
        at=ctx.now(),
        status=plan.status,
    )
    return _request_dict(ctx, saved)


# ---------------------------------------------------------------- follow-ups


def _answer_by_mail(ctx: ToolContext, request: VendorRequest) -> Message | None:
    """A message from the vendor in the request's thread, sent after the request, if any."""
    if not request.message_id:
        return None
    vendor = request.vendor_email.lower()

    def counts(m: Message) -> bool:
        return (
            m.message_id != request.message_id
            and bare_address(m.sender) == vendor
            and (m.date is None or m.date >= request.sent_at)
        )

    try:
        thread = ctx.mail.get_thread(request.message_id)
    except (ProviderError, ValueError):
        thread = None
    if thread is not None:
        return next((m for m in thread if counts(m)), None)
    # The mailbox could not give the thread: look at the vendor's mail since the request.
    try:
        hits = ctx.mail.search(sender=vendor, since=request.sent_at, limit=20)
    except (ProviderError, ValueError):
        return None
    for hit in hits:
        try:
            m = ctx.mail.get_message(hit.message_id)
        except ProviderError:
            continue
        if request.message_id in (m.in_reply_to, *m.references) and counts(m):
            return m
    return None


def _suggestion(request: VendorRequest, details: VendorDetails | None) -> str:
    """One line saying what to do about a request that waits too long."""
    if request.kind == "chase":
        return "call them: the reminder got no answer"
    text = "send a reminder about the quote" if request.kind == "quote" else "chase delivery"
    if details is not None and details.channel == "phone":
        text += " (they prefer phone: call them)"
    return text


@tool(effect="read", duty="vendors", title="Vendor follow-ups")
def vendor_followups(ctx: ToolContext, days: int = 0) -> list[dict[str, Any]]:
    """Requests to vendors that need a follow-up, longest waiting first.

    A request needs one when it has waited ``days`` days without an answer, when its
    expected-by date has passed, when an order's delivery date has passed without the
    order being closed, or when the vendor answered by mail in the request's thread and
    the answer is not yet recorded (status "answered by mail, not yet recorded").

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        days: Days without an answer before a request is listed; 0 uses the principal's
            preference vendor_followup_days (3 when not set).
    """
    wait = _followup_days(ctx, days)
    store = _store(ctx)
    today = ctx.now().date()
    open_requests = [r for r in store.requests() if r.status != "closed"]
    chased = {r.refers_to for r in open_requests if r.kind == "chase" and r.status == "awaiting"}
    kept = store.all_details()
    out: list[dict[str, Any]] = []
    for r in open_requests:
        if r.id in chased:
            continue  # a newer reminder is waiting; that one is followed up
        sent = r.sent_at.astimezone(ctx.principal.tz).date()
        waiting = (today - sent).days
        due = r.answer_delivery or r.expected_by
        overdue = due is not None and due < today
        status: str = r.status
        reply: Message | None = None
        if r.status == "awaiting":
            reply = _answer_by_mail(ctx, r)
            if reply is not None:
                status = "answered by mail, not yet recorded"
            elif waiting < wait and not overdue:
                continue
            suggestion = (
                "record their answer (record_vendor_answer)"
                if reply is not None
                else _suggestion(r, kept.get(r.vendor_id))
            )
        elif r.kind == "order" and overdue:
            suggestion = f"chase delivery (due {_day(due)})" if due else "chase delivery"
        else:
            continue
        out.append(
            {
                "id": r.id,
                "vendor": r.vendor,
                "vendor_email": r.vendor_email,
                "kind": r.kind,
                "subject": r.subject,
                "sent": sent.isoformat(),
                "days_waiting": waiting,
                "expected_by": r.expected_by.isoformat() if r.expected_by else "",
                "status": status,
                "answered_by_mail": reply is not None,
                "reply_message_id": reply.message_id if reply is not None else "",
                "message_id": r.message_id,
                "suggestion": suggestion,
            }
        )
    out.sort(key=lambda x: (-x["days_waiting"], x["id"]))
    return out


@tool(effect="read", duty="vendors", title="List vendor requests")
def list_vendor_requests(
    ctx: ToolContext,
    vendor: str = "",
    status: Literal["open", "awaiting", "answered", "closed", "all"] = "open",
    kind: Literal["", "quote", "order", "chase"] = "",
) -> list[dict[str, Any]]:
    """List quote requests, orders and delivery chases sent to vendors, oldest first.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        vendor: Only this vendor's requests (name, e-mail address or id); empty for all.
        status: ``open`` (awaiting or answered), ``awaiting``, ``answered``, ``closed`` or ``all``.
        kind: Only ``quote``, ``order`` or ``chase`` requests; empty for all.
    """
    vendor_id = _resolve(ctx, vendor)[0].id if vendor.strip() else ""
    wanted = None if status in ("open", "all") else status
    found = _store(ctx).requests(wanted, vendor_id=vendor_id, kind=kind)
    if status == "open":
        found = [r for r in found if r.status != "closed"]
    return [_request_dict(ctx, r) for r in found]
