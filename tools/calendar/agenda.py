"""Reading the calendar: the agenda and free times ranked for a meeting."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tools.base import ToolError, tool
from tools.calendar.checks import _others, _zone_of
from tools.calendar.inputs import _check_attendees, _midnight, _read, _read_as
from tools.calendar.texts import _event_dict, _span
from tools.context import ToolContext
from tools.dates import Reading
from tools.foundation.principals import Weekday
from tools.scheduling import (
    Attendee,
    Preference,
    RankedSlot,
    rank_slots,
)


@tool(effect="read", duty="calendar", title="Check calendar")
def agenda(ctx: ToolContext, start: str = "", end: str = "", days: int = 1) -> dict[str, Any]:
    """List calendar events in a time window, in the principal's time zone.

    Repeating events are listed occurrence by occurrence; each occurrence has its own id.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        start: First day, instant or period: ISO 8601 (2026-11-24) or a phrase ("tomorrow",
            "next week", "Friday afternoon"). A period alone is shown whole. Empty means today.
        end: Last day (inclusive, 2026-11-26 or "Friday") or instant. Empty means use `days`.
        days: Number of days to show when `end` is empty (1 to 62).
    """
    tz = ctx.principal.tz
    readings: list[Reading] = []
    period_end: datetime | None = None
    if start:
        reading = _read(ctx, start, "start")
        readings.append(reading)
        begin = reading.start
        if reading.kind != "instant":
            period_end = reading.end
    else:
        begin = _midnight(ctx.now().date(), tz)
    if end:
        reading = _read(ctx, end, "end")
        readings.append(reading)
        finish = reading.end
    else:
        if not 1 <= days <= 62:
            raise ToolError("days must be between 1 and 62; give an end date for other windows.")
        finish = _midnight(begin.astimezone(tz).date() + timedelta(days=days), tz)
        if period_end is not None and days == 1:
            finish = period_end
    if finish <= begin:
        raise ToolError("end must be after start. Give a later end or use days instead.")
    events = ctx.calendar.list_events(begin, finish)
    out: dict[str, Any] = {
        "timezone": ctx.principal.timezone,
        "from": begin.isoformat(),
        "until": finish.isoformat(),
        "events": [_event_dict(ctx, e) for e in events if e.status != "cancelled"],
    }
    if _read_as(readings):
        out["read_as"] = _read_as(readings)
    return out


def _search_window(
    ctx: ToolContext, start: str, end: str
) -> tuple[datetime, datetime, list[Reading], str]:
    """The [begin, finish) to search, the readings, and a part of day a phrase named."""
    now = ctx.now()
    readings: list[Reading] = []
    part = ""
    finish: datetime | None = None
    if start:
        reading = _read(ctx, start, "start")
        readings.append(reading)
        begin = reading.start
        part = reading.part if reading.kind == "days" else ""
        if reading.kind != "instant":
            finish = reading.end
    else:
        begin = now
    if end:
        reading = _read(ctx, end, "end")
        readings.append(reading)
        finish = reading.end
    if finish is None:
        finish = begin + timedelta(days=7)
    if finish <= begin:
        raise ToolError("end must be after start. Give a later end date.")
    if finish <= now:
        raise ToolError("That window is already over. Ask for a window from today onwards.")
    return begin, finish, readings, part


def _attendee_info(
    ctx: ToolContext, people: list[str], begin: datetime, finish: datetime
) -> tuple[list[Attendee], list[Any], list[str], list[str]]:
    """Attendees with zone and busy time, the principal's busy time, and what is unknown."""
    answer = ctx.calendar.free_busy(begin, finish, people or None)
    known = {k.lower(): v for k, v in answer.items()}
    attendees: list[Attendee] = []
    unknown_calendars: list[str] = []
    unknown_zones: list[str] = []
    for who in _others(ctx, people):
        busy = known.get(who.lower())
        if busy is None:
            unknown_calendars.append(who)
        zone = _zone_of(ctx, who)
        if zone is None:
            unknown_zones.append(who)
        attendees.append(Attendee(email=who, tz=zone, busy=busy))
    return attendees, list(answer.get("me", [])), unknown_calendars, unknown_zones


def _slot_dict(ctx: ToolContext, slot: RankedSlot) -> dict[str, Any]:
    tz, now = ctx.principal.tz, ctx.now()
    out: dict[str, Any] = {
        "rank": slot.rank,
        "start": slot.start.astimezone(tz).isoformat(),
        "end": slot.end.astimezone(tz).isoformat(),
        "when": _span(slot.start, slot.end, False, tz, now),
        "why": slot.explanation,
    }
    if slot.local_times:
        out["their_time"] = slot.local_times
    return out


def _limits(duration_minutes: int, buffer_minutes: int, notice_minutes: int) -> None:
    if not 5 <= duration_minutes <= 24 * 60:
        raise ToolError("duration_minutes must be between 5 and 1440.")
    if not 0 <= buffer_minutes <= 240:
        raise ToolError("buffer_minutes must be between 0 and 240.")
    if not 0 <= notice_minutes <= 14 * 24 * 60:
        raise ToolError("notice_minutes must be between 0 and 20160 (two weeks).")


@tool(effect="read", duty="calendar", title="Find free time")
def find_free_slots(
    ctx: ToolContext,
    duration_minutes: int,
    start: str = "",
    end: str = "",
    buffer_minutes: int = 0,
    limit: int = 5,
    attendees: list[str] | None = None,
    prefer: Preference = "any",
    prefer_days: list[Weekday] | None = None,
    notice_minutes: int = 0,
) -> dict[str, Any]:
    """Find the best free times for a meeting, ranked, with the reason for each rank.

    Slots are free for the principal and for attendees whose calendars can be seen, inside the
    principal's working hours, and preferably inside every attendee's own working hours (by
    the time zone in their contact). Options do not overlap and are spread over several days.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        duration_minutes: Length of the meeting in minutes.
        start: Earliest day, instant or period: ISO 8601 or a phrase ("next week", "tomorrow
            afternoon", "in two weeks"). A period alone is searched whole. Empty means now.
        end: Latest day (inclusive) or instant. Empty means the period in start, else 7 days.
        buffer_minutes: Minutes to keep free before and after other events.
        limit: Maximum number of options to return (1 to 20).
        attendees: E-mail addresses of the other people; their calendars and zones are used
            where known.
        prefer: Part of the day the principal prefers.
        prefer_days: Weekdays the principal prefers, e.g. ["tue", "thu"].
        notice_minutes: Minimum notice: no slot starts sooner than this from now.
    """
    tz, now = ctx.principal.tz, ctx.now()
    _limits(duration_minutes, buffer_minutes, notice_minutes)
    if not 1 <= limit <= 20:
        raise ToolError("limit must be between 1 and 20.")
    begin, finish, readings, part = _search_window(ctx, start, end)
    if prefer == "any" and part in ("morning", "afternoon"):
        prefer = "morning" if part == "morning" else "afternoon"
    people = _check_attendees(attendees or [])
    guests, busy, unknown_calendars, unknown_zones = _attendee_info(ctx, people, begin, finish)
    ranked = rank_slots(
        ctx.principal,
        busy,
        begin,
        finish,
        timedelta(minutes=duration_minutes),
        now=now,
        attendees=guests,
        buffer=timedelta(minutes=buffer_minutes),
        notice=timedelta(minutes=notice_minutes),
        prefer=prefer,
        prefer_days=list(prefer_days or []),
        limit=limit,
    )
    result: dict[str, Any] = {
        "timezone": ctx.principal.timezone,
        "duration_minutes": duration_minutes,
        "window": f"{_span(begin, finish, False, tz, now)} ({ctx.principal.timezone})",
        "slots": [_slot_dict(ctx, s) for s in ranked],
    }
    if _read_as(readings):
        result["read_as"] = _read_as(readings)
    if unknown_calendars:
        result["unknown_calendars"] = unknown_calendars
    if unknown_zones:
        result["unknown_zones"] = unknown_zones
    if not ranked:
        result["note"] = (
            f"No free {duration_minutes}-minute slot in working hours "
            f"({ctx.principal.working_hours.label()}) from "
            f"{_span(begin, finish, False, tz, now)}. Try a wider window or a shorter meeting."
        )
    return result
