"""Creating, moving and cancelling events."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import TYPE_CHECKING, Any

from tools import itip
from tools.base import Preview, ToolError, tool
from tools.calendar.checks import _get, _is_past, _occurrences, _warnings, _zone_notes
from tools.calendar.inputs import _check_attendees, _midnight, _read_as, _recurrence, _span_for
from tools.calendar.invitations import _invitation_detail, _notify, _organised_by_me
from tools.calendar.texts import _event_dict, _span
from tools.context import ToolContext
from tools.dates import Reading
from tools.providers.base import Event, NewEvent, NotFound

if TYPE_CHECKING:
    from pydantic import BaseModel


def _planned_event(
    ctx: ToolContext,
    title: str,
    start: str,
    end: str,
    duration_minutes: int,
    attendees: list[str] | None,
    location: str,
    description: str,
    all_day: bool,
    repeat: str = "",
) -> tuple[NewEvent, list[Reading]]:
    """The event create_event would make; shared by the preview and the execution."""
    if not title.strip():
        raise ToolError("title is empty. Give the event a short title.")
    begin, finish, readings = _span_for(ctx, start, end, all_day, duration_minutes)
    new = NewEvent(
        title=title.strip(),
        start=begin,
        end=finish,
        timezone=ctx.principal.timezone,
        all_day=all_day,
        location=location.strip(),
        description=description,
        attendees=_check_attendees(attendees or []),
        recurrence=_recurrence(ctx, repeat),
    )
    return new, readings


def _preview_create(ctx: ToolContext, args: BaseModel) -> Preview:
    new, readings = _planned_event(ctx, **args.model_dump())
    tz, now = ctx.principal.tz, ctx.now()
    when = _span(new.start, new.end, new.all_day, tz, now)
    details = {"When": f"{when} ({ctx.principal.timezone})"}
    if _read_as(readings):
        details["Read as"] = _read_as(readings)
    spans = [(new.start, new.end)]
    if new.recurrence:
        try:
            spans = _occurrences(new)
        except (ValueError, TypeError) as exc:
            raise ToolError(f"repeat: the rule cannot be used ({exc}).") from None
        details["Repeats"] = itip.describe_recurrence(new.recurrence)
    details["Attendees"] = ", ".join(new.attendees) or "none"
    their, zone_warnings = _zone_notes(ctx, new.attendees, spans, new.all_day)
    for who, text in their.items():
        details[f"For {who}"] = text
    if new.location:
        details["Where"] = new.location
    details.update(_invitation_detail(ctx, new.attendees, "REQUEST"))
    return Preview(
        summary=f"Create event '{new.title}' on {when} ({ctx.principal.timezone})",
        details=details,
        body=new.description or None,
        warnings=_warnings(ctx, new.start, new.end, new.all_day, occurrences=spans) + zone_warnings,
    )



def _invited(ctx: ToolContext, event: Event, readings: list[Reading]) -> dict[str, Any]:
    """The event as the tool returns it, after its attendees were sent the invitation."""
    out = _event_dict(ctx, event)
    sent = _notify(ctx, event, "REQUEST")
    if sent is not None:
        out["invitation"] = sent
    if _read_as(readings):
        out["read_as"] = _read_as(readings)
    return out

@tool(effect="write", duty="calendar", preview=_preview_create, title="Create event")
def create_event(
    ctx: ToolContext,
    title: str,
    start: str,
    end: str = "",
    duration_minutes: int = 60,
    attendees: list[str] | None = None,
    location: str = "",
    description: str = "",
    all_day: bool = False,
    repeat: str = "",
) -> dict[str, Any]:
    """Create a calendar event and invite its attendees (the principal approves it first).

    Attendees who cannot see the principal's calendar receive an e-mail invitation (.ics).

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        title: Short title, e.g. "Budget review with Dana".
        start: Start in the principal's time zone: ISO 8601 (2026-11-24T10:00) or a phrase
            ("next Tuesday at 10", "tomorrow 10-11"); a day for all-day.
        end: End, ISO 8601 or a phrase. Empty means start plus duration_minutes; for all-day,
            the last day.
        duration_minutes: Length in minutes when end is empty.
        attendees: E-mail addresses of the people to invite.
        location: Room, address or video link.
        description: Agenda or notes for the invitation.
        all_day: True for an all-day event (holiday, trip, offsite).
        repeat: For a repeating event: daily, weekdays, weekly, biweekly, monthly or yearly,
            optionally ", 6 times" or " until 2027-03-31", or an RRULE (FREQ=WEEKLY;BYDAY=TU).
    """
    new, readings = _planned_event(
        ctx, title, start, end, duration_minutes, attendees, location, description, all_day, repeat
    )
    if _is_past(ctx, new.start, new.all_day):
        raise ToolError(
            f"The start {_span(new.start, new.end, new.all_day, ctx.principal.tz, ctx.now())} "
            "is in the past. Propose a time from now on."
        )
    event = ctx.calendar.create_event(new, ctx.idempotency_key)
    return _invited(ctx, event, readings)


def _planned_move(
    ctx: ToolContext, event_id: str, start: str, end: str = ""
) -> tuple[Event, NewEvent, list[Reading]]:
    """The event as it was, its new time, and how phrases were read (preview and execution)."""
    old = _get(ctx, event_id)
    if old.status == "cancelled":
        raise ToolError(f"Event '{old.title}' is cancelled; create a new event instead.")
    if old.all_day:
        days = max((old.end.date() - old.start.date()).days, 1)
        begin, finish, readings = _span_for(ctx, start, end, True, 0)
        if not end:
            finish = _midnight(begin.date() + timedelta(days=days), ctx.principal.tz)
    else:
        length = old.end.astimezone(UTC) - old.start.astimezone(UTC)
        minutes = max(int(length.total_seconds() // 60), 1)
        begin, finish, readings = _span_for(ctx, start, end, False, minutes)
    moved = NewEvent(
        title=old.title,
        start=begin,
        end=finish,
        timezone=old.timezone,
        all_day=old.all_day,
        location=old.location,
        description=old.description,
        attendees=old.attendees,
    )
    return old, moved, readings


def _preview_move(ctx: ToolContext, args: BaseModel) -> Preview:
    old, new, readings = _planned_move(ctx, **args.model_dump())
    tz, now = ctx.principal.tz, ctx.now()
    before = _span(old.start, old.end, old.all_day, tz, now)
    after = _span(new.start, new.end, new.all_day, tz, now)
    details = {
        "Was": f"{before} ({ctx.principal.timezone})",
        "Now": f"{after} ({ctx.principal.timezone})",
    }
    if _read_as(readings):
        details["Read as"] = _read_as(readings)
    if old.recurring_id:
        details["Repeats"] = "only this occurrence moves; the rest of the series stays"
    elif old.recurrence:
        details["Repeats"] = f"the whole series moves ({itip.describe_recurrence(old.recurrence)})"
    details["Attendees"] = ", ".join(old.attendees) or "none"
    their, zone_warnings = _zone_notes(ctx, old.attendees, [(new.start, new.end)], new.all_day)
    for who, text in their.items():
        details[f"For {who}"] = text
    if old.location:
        details["Where"] = old.location
    warnings = _warnings(ctx, new.start, new.end, new.all_day, skip_id=old.id) + zone_warnings
    if _organised_by_me(ctx, old):
        details.update(_invitation_detail(ctx, old.attendees, "REQUEST"))
    else:
        warnings.append(
            f"{old.organizer} organises this meeting: moving it changes only your calendar"
        )
    return Preview(
        summary=f"Move '{old.title}' from {before} to {after} ({ctx.principal.timezone})",
        details=details,
        warnings=warnings,
    )


@tool(effect="write", duty="calendar", preview=_preview_move, title="Move event")
def move_event(ctx: ToolContext, event_id: str, start: str, end: str = "") -> dict[str, Any]:
    """Move an event to a new time and tell its attendees (the principal approves it first).

    An occurrence id (from agenda) moves that occurrence only; a series id (recurring_id)
    moves the whole series.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        event_id: The event's id, as shown by agenda.
        start: New start in the principal's time zone: ISO 8601 (2026-11-24T14:00) or a
            phrase ("Thursday at 14:00").
        end: New end, ISO 8601 or a phrase. Empty keeps the event's current length.
    """
    _, new, readings = _planned_move(ctx, event_id, start, end)
    if _is_past(ctx, new.start, new.all_day):
        raise ToolError("The new start is in the past. Propose a time from now on.")
    try:
        event = ctx.calendar.move_event(event_id, new.start, new.end, ctx.idempotency_key)
    except NotFound:
        raise ToolError(f"No event with id '{event_id}'. Use agenda to find its id.") from None
    return _invited(ctx, event, readings)


def _preview_cancel(ctx: ToolContext, args: BaseModel) -> Preview:
    ev = _get(ctx, args.model_dump()["event_id"])
    when = _span(ev.start, ev.end, ev.all_day, ctx.principal.tz, ctx.now())
    details = {
        "When": f"{when} ({ctx.principal.timezone})",
        "Attendees": ", ".join(ev.attendees) or "none",
    }
    if ev.recurring_id:
        details["Repeats"] = "only this occurrence is cancelled"
    elif ev.recurrence:
        details["Repeats"] = (
            f"the whole series is cancelled ({itip.describe_recurrence(ev.recurrence)})"
        )
    if ev.location:
        details["Where"] = ev.location
    warnings = []
    if ev.status == "cancelled":
        warnings.append("Already cancelled")
    elif ev.end <= ctx.now():
        warnings.append("Already over")
    if _organised_by_me(ctx, ev):
        details.update(_invitation_detail(ctx, ev.attendees, "CANCEL"))
    else:
        warnings.append(
            f"{ev.organizer} organises this meeting: cancelling removes it from your calendar "
            "only; respond_to_invite with 'declined' tells them"
        )
    return Preview(
        summary=f"Cancel event '{ev.title}' on {when} ({ctx.principal.timezone})",
        details=details,
        warnings=warnings,
    )


@tool(effect="write", duty="calendar", preview=_preview_cancel, title="Cancel event")
def cancel_event(ctx: ToolContext, event_id: str) -> dict[str, Any]:
    """Cancel an event and tell its attendees (the principal approves it first).

    The event stays visible as cancelled. An occurrence id cancels that occurrence only; a
    series id (recurring_id) cancels the whole series.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        event_id: The event's id, as shown by agenda.
    """
    try:
        event = ctx.calendar.cancel_event(event_id, ctx.idempotency_key)
    except NotFound:
        raise ToolError(
            f"No event with id '{event_id}'. Use agenda to find the event and its id."
        ) from None
    out = _event_dict(ctx, event)
    # Mailed even when the event was already cancelled: a retried action may have died
    # before sending, and the key derived from the action's key keeps it to one message.
    sent = _notify(ctx, event, "CANCEL")
    if sent is not None:
        out["invitation"] = sent
    return out
