"""Vendor answers and follow-ups: what a vendor said, and which requests wait too long."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

from tools.base import Preview, ToolError, tool
from tools.context import ToolContext
from tools.providers.base import Message, ProviderError
from tools.providers.local.vendors import VendorDetails, VendorRequest
from tools.providers.mime import bare_address
from tools.vendors.directory import _CURRENCY, _day, _followup_days, _read_day, _resolve, _store
from tools.vendors.requests import _get_request, _request_dict


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
