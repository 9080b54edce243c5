"""Requests mailed to vendors: quotes, orders and delivery chases, each shown as its exact mail."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel

from tools import outbound
from tools.base import Preview, ToolError, tool
from tools.context import ToolContext
from tools.providers.base import Contact, NotFound, OutgoingMessage, ProviderError
from tools.providers.local.vendors import VendorDetails, VendorRequest
from tools.providers.mime import bare_address, format_address, reply_subject
from tools.vendors.directory import OrderItem, _day, _read_day, _resolve, _signed, _store


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
