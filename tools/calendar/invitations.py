"""Invitations: telling attendees by iTIP e-mail, and answering an invitation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from tools import itip, outbound
from tools.base import Preview, ToolError, tool
from tools.calendar.checks import _get, _me, _others, _warnings
from tools.calendar.texts import _event_dict, _span
from tools.context import ToolContext
from tools.providers.base import Event, NotFound, ProviderError

if TYPE_CHECKING:
    from pydantic import BaseModel


Answer = Literal["accepted", "declined", "tentative"]


def _invites_by_mail(ctx: ToolContext) -> bool:
    """Whether the tools, not the calendar server, must tell attendees (iTIP by e-mail)."""
    return not bool(getattr(ctx.calendar, "sends_invitations", False))


def _organised_by_me(ctx: ToolContext, ev: Event) -> bool:
    return not ev.organizer or _me(ctx, ev.organizer)


def _notify(
    ctx: ToolContext, ev: Event, method: Literal["REQUEST", "CANCEL"]
) -> dict[str, Any] | None:
    """Mail attendees an iTIP invitation or cancellation, once per approved action."""
    recipients = _others(ctx, ev.attendees)
    if not recipients or not _invites_by_mail(ctx) or not _organised_by_me(ctx, ev):
        return None
    message = itip.invitation(ev, ctx.principal, method, recipients, ctx.now())
    try:
        receipt = outbound.send(ctx, message, f"itip:{method.lower()}")
    except ProviderError as exc:
        # The calendar change stands; the model must tell the principal the mail failed.
        return {"sent_to": [], "error": f"The invitation e-mail was not sent: {exc}"}
    return {"sent_to": recipients, "message_id": receipt.message_id, "method": method}


def _invitation_detail(ctx: ToolContext, attendees: list[str], method: str) -> dict[str, str]:
    recipients = _others(ctx, attendees)
    if not recipients:
        return {}
    if not _invites_by_mail(ctx):
        return {"Invitations": "sent by your calendar service"}
    what = "an invitation" if method == "REQUEST" else "a cancellation"
    return {"Invitations": f"{what} (.ics) is e-mailed to {', '.join(recipients)}"}


# ------------------------------------------------------------- invitations


_ANSWER_VERBS = {"accepted": "Accept", "declined": "Decline", "tentative": "Tentatively accept"}


def _preview_respond(ctx: ToolContext, args: BaseModel) -> Preview:
    data = args.model_dump()
    ev = _get(ctx, data["event_id"])
    answer: Answer = data["answer"]
    tz, now = ctx.principal.tz, ctx.now()
    when = _span(ev.start, ev.end, ev.all_day, tz, now)
    details = {
        "When": f"{when} ({ctx.principal.timezone})",
        "Organizer": ev.organizer or "you",
        "Answer": answer,
    }
    warnings: list[str] = []
    me = ctx.principal.email.strip().lower()
    if _organised_by_me(ctx, ev):
        warnings.append("You organise this event yourself; only your own status is recorded")
    elif _invites_by_mail(ctx):
        details["Reply"] = f"an iCalendar reply is e-mailed to {ev.organizer}"
    else:
        details["Reply"] = "sent by your calendar service"
    if ev.recurring_id:
        details["Repeats"] = "this answer is for this occurrence only"
    elif ev.recurrence:
        details["Repeats"] = (
            f"this answer is for the whole series ({itip.describe_recurrence(ev.recurrence)})"
        )
    previous = ev.attendance.get(me)
    if previous and previous != "needs-action":
        warnings.append(f"You already answered: {previous}")
    if ev.organizer and ev.organizer.lower() in ev.unverified:
        warnings.append(
            f"This invitation came by e-mail without passing authentication: it may not be "
            f"from {ev.organizer}"
        )
    if ev.status == "cancelled":
        warnings.append("The event is cancelled")
    if answer != "declined":
        warnings += [w for w in _warnings(ctx, ev.start, ev.end, ev.all_day, skip_id=ev.id)]
    return Preview(
        summary=f"{_ANSWER_VERBS[answer]} '{ev.title}' on {when} ({ctx.principal.timezone})",
        details=details,
        body=data.get("note") or None,
        warnings=warnings,
    )


@tool(effect="write", duty="calendar", preview=_preview_respond, title="Answer invitation")
def respond_to_invite(
    ctx: ToolContext, event_id: str, answer: Answer, note: str = ""
) -> dict[str, Any]:
    """Accept, decline or tentatively accept a meeting invitation (the principal approves first).

    The organizer is told: by the calendar service, or by an e-mailed iCalendar reply.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        event_id: The event's id, as shown by agenda.
        answer: The principal's answer.
        note: A short message for the organizer ("Running 5 minutes late").
    """
    try:
        event = ctx.calendar.respond(event_id, answer, ctx.idempotency_key)
    except NotFound:
        raise ToolError(
            f"No event with id '{event_id}'. Use agenda to find the event and its id."
        ) from None
    out = _event_dict(ctx, event)
    if not _organised_by_me(ctx, event) and _invites_by_mail(ctx):
        message = itip.reply(event, ctx.principal, answer, ctx.now(), note)
        try:
            receipt = outbound.send(ctx, message, "itip:reply", kind="reply")
            out["reply"] = {"sent_to": [event.organizer], "message_id": receipt.message_id}
        except ProviderError as exc:
            out["reply"] = {"sent_to": [], "error": f"The reply e-mail was not sent: {exc}"}
    return out
