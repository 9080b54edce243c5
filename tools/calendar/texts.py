"""How calendar times read on cards and in answers: days, spans, clocks, events."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tools import itip
from tools.context import ToolContext
from tools.providers.base import Event

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


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
    data = ev.model_dump(mode="json", exclude={"recurrence_id", "sequence"})
    if ev.all_day:
        data["start"] = ev.start.date().isoformat()
        data["end"] = ev.end.date().isoformat()
        data["last_day"] = (ev.end.date() - timedelta(days=1)).isoformat()
    else:
        data["start"] = ev.start.astimezone(tz).isoformat()
        data["end"] = ev.end.astimezone(tz).isoformat()
    data["when"] = _span(ev.start, ev.end, ev.all_day, tz, now)
    if ev.recurrence:
        data["repeats"] = itip.describe_recurrence(ev.recurrence)
    for key in ("attendance", "recurrence", "recurring_id", "uid", "unverified"):
        if not data.get(key):
            data.pop(key, None)
    if ev.unverified:
        data["unverified"] = (
            f"came by e-mail without passing authentication: {', '.join(ev.unverified)}"
        )
    return data
