"""Calendar tools: read the agenda, find free time, and propose event changes.

Times go in as ISO 8601 strings read in the principal's time zone and come
back in that zone. Creating, moving and cancelling are ``write`` tools: the
model only proposes them, and the preview shows the exact time with conflicts
and working-hour warnings before anyone approves.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tools.base import Preview, ToolError, tool
from tools.context import ToolContext
from tools.providers.base import Event, NewEvent, NotFound, ProviderError
from tools.scheduling import find_slots, is_date_only, parse_when

if TYPE_CHECKING:
    from pydantic import BaseModel

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


# ------------------------------------------------------------- formatting


def _day(d: date, now: datetime) -> str:
    text = f"{_DAYS[d.weekday()]} {d.day} {_MONTHS[d.month - 1]}"
    return text if d.year == now.year else f"{text} {d.year}"


def _span(start: datetime, end: datetime, all_day: bool, tz: ZoneInfo, now: datetime) -> str:
    """``Tue 24 Nov 10:00-11:00`` in the principal's zone (no zone name)."""
    if all_day:
        first, last = start.date(), end.date() - timedelta(days=1)
        if last <= first:
            return f"{_day(first, now)} (all day)"
        return f"{_day(first, now)} - {_day(last, now)} (all day)"
    a, b = start.astimezone(tz), end.astimezone(tz)
    if a.date() == b.date():
        return f"{_day(a.date(), now)} {a:%H:%M}-{b:%H:%M}"
    return f"{_day(a.date(), now)} {a:%H:%M} - {_day(b.date(), now)} {b:%H:%M}"


def _clock(start: datetime, end: datetime, all_day: bool, tz: ZoneInfo) -> str:
    if all_day:
        return "all day"
    a, b = start.astimezone(tz), end.astimezone(tz)
    return f"{a:%H:%M}-{b:%H:%M}"


def _event_dict(ctx: ToolContext, ev: Event) -> dict[str, Any]:
    """An event for the model: times in the principal's zone, all-day ones as dates."""
    tz, now = ctx.principal.tz, ctx.now()
    data = ev.model_dump(mode="json")
    if ev.all_day:
        data["start"] = ev.start.date().isoformat()
        data["end"] = ev.end.date().isoformat()
        data["last_day"] = (ev.end.date() - timedelta(days=1)).isoformat()
    else:
        data["start"] = ev.start.astimezone(tz).isoformat()
        data["end"] = ev.end.astimezone(tz).isoformat()
    data["when"] = _span(ev.start, ev.end, ev.all_day, tz, now)
    return data


# ----------------------------------------------------------------- parsing


def _when(ctx: ToolContext, text: str, name: str) -> datetime:
    try:
        return parse_when(text, ctx.principal.tz)
    except ValueError as exc:
        raise ToolError(f"{name}: {exc}") from None


def _day_after(dt: datetime, tz: ZoneInfo) -> datetime:
    """Local midnight of the next day (a date-only end means 'through that day')."""
    return datetime.combine(dt.astimezone(tz).date() + timedelta(days=1), time(0), tzinfo=tz)


def _window_end(ctx: ToolContext, text: str, name: str) -> datetime:
    end = _when(ctx, text, name)
    return _day_after(end, ctx.principal.tz) if is_date_only(text) else end


def _plus(dt: datetime, minutes: int) -> datetime:
    """Add real minutes (aware arithmetic in one zone would add wall-clock minutes)."""
    return (dt.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(dt.tzinfo)


def _check_attendees(attendees: list[str]) -> list[str]:
    out: list[str] = []
    for who in attendees:
        addr = who.strip()
        if not _EMAIL.match(addr):
            raise ToolError(
                f"Attendee '{who}' is not an e-mail address like dana@acme.com. "
                "Look the person up with find_contact and pass their address."
            )
        if addr.lower() not in {a.lower() for a in out}:
            out.append(addr)
    return out


def _span_for(
    ctx: ToolContext,
    start: str,
    end: str,
    all_day: bool,
    default_minutes: int,
) -> tuple[datetime, datetime]:
    """Parse a start and optional end into aware instants (midnights for all-day)."""
    tz = ctx.principal.tz
    begin = _when(ctx, start, "start")
    if all_day:
        first = datetime.combine(begin.astimezone(tz).date(), time(0), tzinfo=tz)
        stop = _day_after(_when(ctx, end, "end") if end else first, tz)
        if stop <= first:
            raise ToolError("end: the last day comes before the first day. Give a later end date.")
        return first, stop
    if end:
        finish = _when(ctx, end, "end")
    else:
        if default_minutes <= 0:
            raise ToolError("duration_minutes must be positive (e.g. 30 or 60).")
        finish = _plus(begin, default_minutes)
    if finish <= begin:
        raise ToolError(
            f"end ({finish:%Y-%m-%d %H:%M}) must be after start ({begin:%Y-%m-%d %H:%M}). "
            "Give a later end or omit it to use the duration."
        )
    return begin, finish


def _is_past(ctx: ToolContext, start: datetime, all_day: bool) -> bool:
    now = ctx.now()
    if all_day:
        return start.astimezone(ctx.principal.tz).date() < now.date()
    return start < now


def _warnings(
    ctx: ToolContext, start: datetime, end: datetime, all_day: bool, skip_id: str = ""
) -> list[str]:
    """Conflicts, working-hour and past-time warnings for a proposed time."""
    tz = ctx.principal.tz
    out: list[str] = []
    if _is_past(ctx, start, all_day):
        out.append("Starts in the past")
    for ev in ctx.calendar.list_events(start, end):
        if ev.id == skip_id or ev.status == "cancelled":
            continue
        out.append(f"Overlaps '{ev.title}' {_clock(ev.start, ev.end, ev.all_day, tz)}")
    if not all_day:
        windows = ctx.principal.working_windows(start, end)
        inside = any(
            a.astimezone(UTC) <= start.astimezone(UTC) and end.astimezone(UTC) <= b.astimezone(UTC)
            for a, b in windows
        )
        if not inside:
            out.append(f"Outside working hours ({ctx.principal.working_hours.label()})")
    return out


def _get(ctx: ToolContext, event_id: str) -> Event:
    try:
        return ctx.calendar.get_event(event_id)
    except NotFound:
        raise ToolError(
            f"No event with id '{event_id}'. Use agenda to find the event and its id."
        ) from None


# ------------------------------------------------------------------ reading


@tool(effect="read", duty="calendar", title="Check calendar")
def agenda(ctx: ToolContext, start: str = "", end: str = "", days: int = 1) -> dict[str, Any]:
    """List calendar events in a time window, in the principal's time zone.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        start: First day or instant, ISO 8601 (2026-11-24 or 2026-11-24T10:00). Empty means today.
        end: Last day (inclusive, 2026-11-26) or instant. Empty means use `days`.
        days: Number of days to show when `end` is empty (1 to 62).
    """
    tz = ctx.principal.tz
    if start:
        begin = _when(ctx, start, "start")
    else:
        begin = datetime.combine(ctx.now().date(), time(0), tzinfo=tz)
    if end:
        finish = _window_end(ctx, end, "end")
    else:
        if not 1 <= days <= 62:
            raise ToolError("days must be between 1 and 62; give an end date for other windows.")
        finish = datetime.combine(
            begin.astimezone(tz).date() + timedelta(days=days), time(0), tzinfo=tz
        )
    if finish <= begin:
        raise ToolError("end must be after start. Give a later end or use days instead.")
    events = ctx.calendar.list_events(begin, finish)
    return {
        "timezone": ctx.principal.timezone,
        "from": begin.isoformat(),
        "until": finish.isoformat(),
        "events": [_event_dict(ctx, e) for e in events if e.status != "cancelled"],
    }


@tool(effect="read", duty="calendar", title="Find free time")
def find_free_slots(
    ctx: ToolContext,
    duration_minutes: int,
    start: str = "",
    end: str = "",
    buffer_minutes: int = 0,
    limit: int = 5,
    attendees: list[str] | None = None,
) -> dict[str, Any]:
    """Find free times of a given length within the principal's working hours.

    Offers non-overlapping options, earliest first, never in the past.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        duration_minutes: Length of the meeting in minutes.
        start: Earliest day or instant to consider, ISO 8601. Empty means now.
        end: Last day (inclusive) or instant to consider, ISO 8601. Empty means 7 days from start.
        buffer_minutes: Minutes to keep free before and after other events.
        limit: Maximum number of options to return (1 to 20).
        attendees: E-mail addresses whose calendars should also be free, where known.
    """
    tz, now = ctx.principal.tz, ctx.now()
    if not 5 <= duration_minutes <= 24 * 60:
        raise ToolError("duration_minutes must be between 5 and 1440.")
    if not 0 <= buffer_minutes <= 240:
        raise ToolError("buffer_minutes must be between 0 and 240.")
    if not 1 <= limit <= 20:
        raise ToolError("limit must be between 1 and 20.")
    begin = _when(ctx, start, "start") if start else now
    finish = _window_end(ctx, end, "end") if end else begin + timedelta(days=7)
    if finish <= begin:
        raise ToolError("end must be after start. Give a later end date.")
    if finish <= now:
        raise ToolError("That window is already over. Ask for a window from today onwards.")
    people = _check_attendees(attendees or [])
    answer = ctx.calendar.free_busy(begin, finish, people or None)
    busy = [b for intervals in answer.values() for b in intervals]
    unknown = [p for p in people if p not in answer]
    candidates = find_slots(
        ctx.principal,
        busy,
        begin,
        finish,
        timedelta(minutes=duration_minutes),
        buffer=timedelta(minutes=buffer_minutes),
        not_before=now,
        limit=2000,
    )
    # Offer distinct options rather than the same hour shifted by 15 minutes.
    chosen: list[Any] = []
    for slot in candidates:
        if not chosen or slot.start >= chosen[-1].end:
            chosen.append(slot)
            if len(chosen) >= limit:
                break
    result: dict[str, Any] = {
        "timezone": ctx.principal.timezone,
        "duration_minutes": duration_minutes,
        "slots": [
            {
                "start": s.start.isoformat(),
                "end": s.end.isoformat(),
                "when": _span(s.start, s.end, False, tz, now),
            }
            for s in chosen
        ],
    }
    if unknown:
        result["unknown_calendars"] = unknown
    if not chosen:
        result["note"] = (
            f"No free {duration_minutes}-minute slot in working hours "
            f"({ctx.principal.working_hours.label()}) from "
            f"{_span(begin, finish, False, tz, now)}. Try a wider window or a shorter meeting."
        )
    return result


# ------------------------------------------------------------------ writing


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
) -> NewEvent:
    """The event create_event would make; shared by the preview and the execution."""
    if not title.strip():
        raise ToolError("title is empty. Give the event a short title.")
    begin, finish = _span_for(ctx, start, end, all_day, duration_minutes)
    return NewEvent(
        title=title.strip(),
        start=begin,
        end=finish,
        timezone=ctx.principal.timezone,
        all_day=all_day,
        location=location.strip(),
        description=description,
        attendees=_check_attendees(attendees or []),
    )


def _preview_create(ctx: ToolContext, args: BaseModel) -> Preview:
    new = _planned_event(ctx, **args.model_dump())
    tz, now = ctx.principal.tz, ctx.now()
    when = _span(new.start, new.end, new.all_day, tz, now)
    details = {
        "When": f"{when} ({ctx.principal.timezone})",
        "Attendees": ", ".join(new.attendees) or "none",
    }
    if new.location:
        details["Where"] = new.location
    return Preview(
        summary=f"Create event '{new.title}' on {when} ({ctx.principal.timezone})",
        details=details,
        body=new.description or None,
        warnings=_warnings(ctx, new.start, new.end, new.all_day),
    )


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
) -> dict[str, Any]:
    """Create a calendar event (the principal approves it first).

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        title: Short title, e.g. "Budget review with Dana".
        start: Start, ISO 8601 in the principal's time zone (2026-11-24T10:00); a date for all-day.
        end: End, ISO 8601. Empty means start plus duration_minutes; for all-day, the last day.
        duration_minutes: Length in minutes when end is empty.
        attendees: E-mail addresses of the people to invite.
        location: Room, address or video link.
        description: Agenda or notes for the invitation.
        all_day: True for an all-day event (holiday, trip, offsite).
    """
    new = _planned_event(
        ctx, title, start, end, duration_minutes, attendees, location, description, all_day
    )
    if _is_past(ctx, new.start, new.all_day):
        raise ToolError(
            f"The start {_span(new.start, new.end, new.all_day, ctx.principal.tz, ctx.now())} "
            "is in the past. Propose a time from now on."
        )
    try:
        event = ctx.calendar.create_event(new, ctx.idempotency_key)
    except ProviderError as exc:
        raise ToolError(str(exc)) from None
    return _event_dict(ctx, event)


def _planned_move(
    ctx: ToolContext, event_id: str, start: str, end: str = ""
) -> tuple[Event, NewEvent]:
    """The event as it was, and its new time; shared by the preview and the execution."""
    old = _get(ctx, event_id)
    if old.status == "cancelled":
        raise ToolError(f"Event '{old.title}' is cancelled; create a new event instead.")
    if old.all_day:
        days = max((old.end.date() - old.start.date()).days, 1)
        begin, finish = _span_for(ctx, start, end, True, 0)
        if not end:
            finish = _day_after(begin + timedelta(days=days - 1), ctx.principal.tz)
    else:
        length = old.end.astimezone(UTC) - old.start.astimezone(UTC)
        minutes = max(int(length.total_seconds() // 60), 1)
        begin, finish = _span_for(ctx, start, end, False, minutes)
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
    return old, moved


def _preview_move(ctx: ToolContext, args: BaseModel) -> Preview:
    old, new = _planned_move(ctx, **args.model_dump())
    tz, now = ctx.principal.tz, ctx.now()
    before = _span(old.start, old.end, old.all_day, tz, now)
    after = _span(new.start, new.end, new.all_day, tz, now)
    details = {
        "Was": f"{before} ({ctx.principal.timezone})",
        "Now": f"{after} ({ctx.principal.timezone})",
        "Attendees": ", ".join(old.attendees) or "none",
    }
    if old.location:
        details["Where"] = old.location
    return Preview(
        summary=f"Move '{old.title}' from {before} to {after} ({ctx.principal.timezone})",
        details=details,
        warnings=_warnings(ctx, new.start, new.end, new.all_day, skip_id=old.id),
    )


@tool(effect="write", duty="calendar", preview=_preview_move, title="Move event")
def move_event(ctx: ToolContext, event_id: str, start: str, end: str = "") -> dict[str, Any]:
    """Move an event to a new time (the principal approves it first).

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        event_id: The event's id, as shown by agenda.
        start: New start, ISO 8601 in the principal's time zone (2026-11-24T14:00).
        end: New end, ISO 8601. Empty keeps the event's current length.
    """
    _, new = _planned_move(ctx, event_id, start, end)
    if _is_past(ctx, new.start, new.all_day):
        raise ToolError("The new start is in the past. Propose a time from now on.")
    try:
        event = ctx.calendar.move_event(event_id, new.start, new.end, ctx.idempotency_key)
    except NotFound:
        raise ToolError(f"No event with id '{event_id}'. Use agenda to find its id.") from None
    except ProviderError as exc:
        raise ToolError(str(exc)) from None
    return _event_dict(ctx, event)


def _preview_cancel(ctx: ToolContext, args: BaseModel) -> Preview:
    ev = _get(ctx, args.model_dump()["event_id"])
    when = _span(ev.start, ev.end, ev.all_day, ctx.principal.tz, ctx.now())
    details = {
        "When": f"{when} ({ctx.principal.timezone})",
        "Attendees": ", ".join(ev.attendees) or "none",
    }
    if ev.location:
        details["Where"] = ev.location
    warnings = []
    if ev.status == "cancelled":
        warnings.append("Already cancelled")
    elif ev.end <= ctx.now():
        warnings.append("Already over")
    return Preview(
        summary=f"Cancel event '{ev.title}' on {when} ({ctx.principal.timezone})",
        details=details,
        warnings=warnings,
    )


@tool(effect="write", duty="calendar", preview=_preview_cancel, title="Cancel event")
def cancel_event(ctx: ToolContext, event_id: str) -> dict[str, Any]:
    """Cancel an event (the principal approves it first); it stays visible as cancelled.

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
    except ProviderError as exc:
        raise ToolError(str(exc)) from None
    return _event_dict(ctx, event)
