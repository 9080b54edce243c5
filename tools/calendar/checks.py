"""What a card warns about: the past, conflicts, working hours, zones and daylight saving."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tools import itip
from tools.base import ToolError
from tools.calendar.inputs import _midnight
from tools.calendar.texts import _clock, _day
from tools.context import ToolContext
from tools.dates import zone_label
from tools.providers.base import Event, NewEvent, NotFound
from tools.providers.mime import bare_address
from tools.scheduling import (
    ATTENDEE_HOURS,
    dst_note,
    inside_hours,
)

log = logging.getLogger(__name__)


def _is_past(ctx: ToolContext, start: datetime, all_day: bool) -> bool:
    now = ctx.now()
    if all_day:
        return start.astimezone(ctx.principal.tz).date() < now.date()
    return start < now


def _zone_of(ctx: ToolContext, address: str) -> ZoneInfo | None:
    """An attendee's zone from the contacts, when recorded (None when unknown)."""
    try:
        contact = ctx.contacts.by_email(bare_address(address))
    except Exception:  # a missing or failing address book only costs the zone hint
        log.debug("contact lookup failed for %s", address, exc_info=True)
        return None
    if contact is None or not contact.timezone:
        return None
    try:
        return ZoneInfo(contact.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _me(ctx: ToolContext, address: str) -> bool:
    return bare_address(address) == ctx.principal.email.strip().lower()


def _others(ctx: ToolContext, attendees: list[str]) -> list[str]:
    return [a for a in attendees if not _me(ctx, a)]


def _occurrences(new: NewEvent, limit: int = 20) -> list[tuple[datetime, datetime]]:
    """The first occurrences of a planned event (just itself when it does not repeat)."""
    if not new.recurrence:
        return [(new.start, new.end)]
    import recurring_ical_events

    probe = Event(id="planned", uid="planned@secretary.local", **new.model_dump())
    cal = itip.calendar_of([itip.event_component(probe, stamp=new.start)], None)
    out: list[tuple[datetime, datetime]] = []
    tz = ZoneInfo(new.timezone)
    horizon = new.start + timedelta(days=3 * 366)
    for item in recurring_ical_events.of(cal).between(new.start, horizon):
        s, e = itip.ical_time(item, "DTSTART"), itip.ical_time(item, "DTEND")
        if isinstance(s, datetime) and isinstance(e, datetime):
            out.append((s, e))
        elif s is not None and e is not None:
            out.append((_midnight(_as_day(s), tz), _midnight(_as_day(e), tz)))
        if len(out) >= limit:
            break
    return out


def _as_day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _switches(tz: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """Local days in [start, end] on which the clocks in ``tz`` change."""
    out: list[datetime] = []
    day = start.astimezone(tz).date()
    last = end.astimezone(tz).date()
    while day <= last and len(out) < 4:
        a = _midnight(day, tz)
        b = _midnight(day + timedelta(days=1), tz)
        if a.utcoffset() != b.utcoffset():
            out.append(a)
        day += timedelta(days=1)
    return out


def _warnings(
    ctx: ToolContext,
    start: datetime,
    end: datetime,
    all_day: bool,
    skip_id: str = "",
    occurrences: list[tuple[datetime, datetime]] | None = None,
) -> list[str]:
    """Conflicts, working-hour and past-time warnings for a proposed time (or series)."""
    tz = ctx.principal.tz
    now = ctx.now()
    out: list[str] = []
    if _is_past(ctx, start, all_day):
        out.append("Starts in the past")
    spans = occurrences or [(start, end)]
    series = len(spans) > 1
    for a, b in spans:
        for ev in ctx.calendar.list_events(a, b):
            if skip_id and skip_id in (ev.id, ev.recurring_id):
                continue
            if ev.status == "cancelled":
                continue
            clock = _clock(ev.start, ev.end, ev.all_day, tz)
            if series:
                out.append(
                    f"Overlaps '{ev.title}' {_day(ev.start.astimezone(tz).date(), now)} {clock}"
                )
            else:
                out.append(f"Overlaps '{ev.title}' {clock}")
    if not all_day:
        outside = [
            (a, b)
            for a, b in spans
            if not any(
                wa.astimezone(UTC) <= a.astimezone(UTC) and b.astimezone(UTC) <= wb.astimezone(UTC)
                for wa, wb in ctx.principal.working_windows(a, b)
            )
        ]
        if outside:
            label = ctx.principal.working_hours.label()
            if series:
                out.append(
                    f"{len(outside)} of {len(spans)} occurrences outside working hours ({label})"
                )
            else:
                out.append(f"Outside working hours ({label})")
    return out


def _zone_notes(
    ctx: ToolContext,
    attendees: list[str],
    spans: list[tuple[datetime, datetime]],
    all_day: bool,
) -> tuple[dict[str, str], list[str]]:
    """Each attendee's own clock for the (first) time, and zone/daylight-saving warnings."""
    tz, now = ctx.principal.tz, ctx.now()
    their: dict[str, str] = {}
    warnings: list[str] = []
    first_start, first_end = spans[0]
    if not all_day:
        for day in _switches(tz, first_start, spans[-1][1]):
            before = day.tzname()
            after = _midnight(day.date() + timedelta(days=1), tz).tzname()
            if len(spans) > 1:
                warnings.append(
                    f"Clocks change in {tz.key} on {_day(day.date(), now)} ({before} to {after}); "
                    f"the series stays at {first_start.astimezone(tz):%H:%M} {tz.key}"
                )
            else:
                warnings.append(
                    f"Clocks change in {tz.key} that day ({before} to {after}); "
                    "the times shown are local times after the change"
                )
    for who in _others(ctx, attendees):
        zone = _zone_of(ctx, who)
        if zone is None or all_day:
            continue
        a, b = first_start.astimezone(zone), first_end.astimezone(zone)
        their[who] = f"{_day(a.date(), now)} {a:%H:%M}-{b:%H:%M} {zone_label(a)} ({zone.key})"
        if zone.key == tz.key:
            continue
        shifted = [s for s, e in spans if not inside_hours(ATTENDEE_HOURS, zone, s, e)]
        if shifted:
            where = f"{a:%H:%M} {zone.key}" if len(spans) == 1 else f"{len(shifted)} occurrences"
            warnings.append(f"Outside working hours for {who} ({where})")
        note = dst_note(tz, zone, first_start, now)
        if note:
            warnings.append(note)
        if len(spans) > 1:
            gaps = {
                (s.astimezone(zone).utcoffset() or timedelta(0))
                - (s.astimezone(tz).utcoffset() or timedelta(0))
                for s, _ in spans
            }
            if len(gaps) > 1:
                warnings.append(
                    f"For {who} ({zone.key}) the series shifts by an hour during it: the "
                    "daylight-saving changes fall on different dates in the two zones"
                )
    return their, warnings


def _get(ctx: ToolContext, event_id: str) -> Event:
    try:
        return ctx.calendar.get_event(event_id)
    except NotFound:
        raise ToolError(
            f"No event with id '{event_id}'. Use agenda to find the event and its id."
        ) from None
