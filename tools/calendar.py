"""Calendar tools: read the agenda, find and offer meeting times, and propose event changes.

Times go in as ISO 8601 strings or plain phrases ("next Tuesday at 10",
"tomorrow afternoon", "next week"), read in the principal's time zone relative
to the principal's *now*, and come back in that zone. Creating, moving and
cancelling events, answering invitations and offering times by e-mail are
``write`` tools: the model only proposes them, and the preview shows the exact
time (with how a phrase was read), conflicts, working-hour, zone and
daylight-saving warnings before anyone approves.

Attendees who cannot see the principal's calendar get an iTIP invitation or
cancellation by e-mail (``tools.itip``) unless the calendar provider says it
invites attendees itself (``sends_invitations = True``).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tools import itip, outbound
from tools.base import Preview, ToolError, tool
from tools.context import ToolContext
from tools.dates import Reading, read_when, zone_label
from tools.foundation.principals import Weekday
from tools.providers.base import Event, NewEvent, NotFound, OutgoingMessage, ProviderError
from tools.providers.mime import bare_address, format_address, parse_addresses
from tools.scheduling import (
    ATTENDEE_HOURS,
    Attendee,
    Preference,
    RankedSlot,
    dst_note,
    inside_hours,
    rank_slots,
)

if TYPE_CHECKING:
    from pydantic import BaseModel

log = logging.getLogger(__name__)

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
Answer = Literal["accepted", "declined", "tentative"]


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


# ----------------------------------------------------------------- parsing


def _read(ctx: ToolContext, text: str, name: str) -> Reading:
    try:
        return read_when(text, ctx.principal.tz, ctx.reference_now())
    except ValueError as exc:
        raise ToolError(f"{name}: {exc}") from None


def _plus(dt: datetime, minutes: int) -> datetime:
    """Add real minutes (aware arithmetic in one zone would add wall-clock minutes)."""
    return (dt.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(dt.tzinfo)


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


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


def _instant(ctx: ToolContext, reading: Reading, name: str) -> tuple[datetime, datetime | None]:
    """A start instant from a reading, and the end a clock range implies ("10-11")."""
    if reading.kind == "instant":
        return reading.start, None
    if reading.kind == "window" and not reading.part:
        return reading.start, reading.end
    what = reading.interpretation()
    raise ToolError(
        f"{name}: '{reading.text}' is a span ({what}), not a time. Give a time such as "
        f"'{reading.text} at 10' or 2026-11-24T10:00, or call find_free_slots with "
        f"start='{reading.text}' to pick a free time in it."
    )


def _span_for(
    ctx: ToolContext,
    start: str,
    end: str,
    all_day: bool,
    default_minutes: int,
) -> tuple[datetime, datetime, list[Reading]]:
    """Parse a start and optional end into aware instants (midnights for all-day)."""
    tz = ctx.principal.tz
    first_reading = _read(ctx, start, "start")
    readings = [first_reading]
    if all_day:
        first = _midnight(first_reading.start.astimezone(tz).date(), tz)
        if end:
            end_reading = _read(ctx, end, "end")
            readings.append(end_reading)
            stop = _midnight(end_reading.start.astimezone(tz).date() + timedelta(days=1), tz)
        elif first_reading.kind == "days":
            stop = first_reading.end
        else:
            stop = _midnight(first.date() + timedelta(days=1), tz)
        if stop <= first:
            raise ToolError("end: the last day comes before the first day. Give a later end date.")
        return first, stop, readings
    begin, implied_end = _instant(ctx, first_reading, "start")
    if end:
        end_reading = _read(ctx, end, "end")
        readings.append(end_reading)
        finish, _ = _instant(ctx, end_reading, "end")
    elif implied_end is not None:
        finish = implied_end
    else:
        if default_minutes <= 0:
            raise ToolError("duration_minutes must be positive (e.g. 30 or 60).")
        finish = _plus(begin, default_minutes)
    if finish <= begin:
        raise ToolError(
            f"end ({finish:%Y-%m-%d %H:%M}) must be after start ({begin:%Y-%m-%d %H:%M}). "
            "Give a later end or omit it to use the duration."
        )
    return begin, finish, readings


def _read_as(readings: list[Reading]) -> str:
    return "; ".join(r.note() for r in readings if r.note())


_REPEAT_WORDS = {
    "daily": "FREQ=DAILY",
    "every day": "FREQ=DAILY",
    "weekdays": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
    "every weekday": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
    "weekly": "FREQ=WEEKLY",
    "every week": "FREQ=WEEKLY",
    "biweekly": "FREQ=WEEKLY;INTERVAL=2",
    "fortnightly": "FREQ=WEEKLY;INTERVAL=2",
    "every two weeks": "FREQ=WEEKLY;INTERVAL=2",
    "every 2 weeks": "FREQ=WEEKLY;INTERVAL=2",
    "monthly": "FREQ=MONTHLY",
    "every month": "FREQ=MONTHLY",
    "yearly": "FREQ=YEARLY",
    "annually": "FREQ=YEARLY",
    "every year": "FREQ=YEARLY",
}


def _recurrence(ctx: ToolContext, repeat: str) -> list[str]:
    """RRULE lines from ``weekly``, ``weekdays, 10 times``, ``monthly until 2027-06-30``.

    A raw RRULE (``FREQ=WEEKLY;BYDAY=TU``) is passed through for the provider to check.
    """
    text = " ".join(repeat.strip().split())
    if not text:
        return []
    if text.upper().startswith(("RRULE:", "FREQ=")):
        return [text if text.upper().startswith("RRULE:") else f"RRULE:{text}"]
    words = text.lower()
    count = re.search(r",?\s*(?:x\s*(\d+)|(\d+)\s*times)\s*$", words)
    until_text = ""
    if count is None:
        found = re.search(r",?\s*until\s+(.+)$", words)
        if found:
            until_text, words = found.group(1), words[: found.start()]
    else:
        words = words[: count.start()]
    rule = _REPEAT_WORDS.get(words.strip(" ,"))
    if rule is None:
        raise ToolError(
            f"repeat: '{repeat}' is not a repetition I know. Use daily, weekdays, weekly, "
            "biweekly, monthly or yearly, optionally with ', 6 times' or ' until 2027-03-31', "
            "or an RRULE such as FREQ=WEEKLY;BYDAY=TU;COUNT=6."
        )
    if count is not None:
        rule += f";COUNT={int(count.group(1) or count.group(2))}"
    elif until_text:
        last = _read(ctx, until_text, "repeat")
        until = last.end if last.kind != "instant" else last.start
        rule += f";UNTIL={until.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    return [f"RRULE:{rule}"]


# ------------------------------------------------------------------- checks


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


# ------------------------------------------------------------------ reading


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
    out = _event_dict(ctx, event)
    sent = _notify(ctx, event, "REQUEST")
    if sent is not None:
        out["invitation"] = sent
    if _read_as(readings):
        out["read_as"] = _read_as(readings)
    return out


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
    out = _event_dict(ctx, event)
    sent = _notify(ctx, event, "REQUEST")
    if sent is not None:
        out["invitation"] = sent
    if _read_as(readings):
        out["read_as"] = _read_as(readings)
    return out


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


# ----------------------------------------------------------- offering times


def _recipients(to: list[str]) -> list[str]:
    try:
        people = parse_addresses(to)
    except ValueError as exc:
        raise ToolError(f"to: {exc}") from None
    if not people:
        raise ToolError("to: give at least one address, e.g. ['dana@acme.com'].")
    return people


def _offer(
    ctx: ToolContext,
    to: list[str],
    duration_minutes: int,
    start: str,
    end: str,
    times: list[str],
    prefer: Preference,
    count: int,
) -> tuple[list[str], list[RankedSlot], list[Reading], list[str]]:
    """Recipients, the slots to offer, phrase readings and warnings (preview and execution)."""
    _limits(duration_minutes, 0, 0)
    if not 2 <= count <= 4:
        raise ToolError("count must be between 2 and 4 options.")
    people = _recipients(to)
    addresses = [bare_address(p) for p in people]
    length = timedelta(minutes=duration_minutes)
    warnings: list[str] = []
    if times:
        readings = []
        slots: list[RankedSlot] = []
        for i, text in enumerate(times, 1):
            reading = _read(ctx, text, f"times[{i - 1}]")
            readings.append(reading)
            begin, _ = _instant(ctx, reading, f"times[{i - 1}]")
            slots.append(RankedSlot(start=begin, end=begin + length, rank=i))
        if not 1 <= len(slots) <= 4:
            raise ToolError("times: offer between 1 and 4 times.")
        for s in slots:
            warnings += [
                f"{_span(s.start, s.end, False, ctx.principal.tz, ctx.now())}: {w}"
                for w in _warnings(ctx, s.start, s.end, False)
            ]
        return people, slots, readings, warnings
    begin, finish, readings, part = _search_window(ctx, start, end)
    if prefer == "any" and part in ("morning", "afternoon"):
        prefer = "morning" if part == "morning" else "afternoon"
    guests, busy, _unknown, _zones = _attendee_info(ctx, addresses, begin, finish)
    ranked = rank_slots(
        ctx.principal,
        busy,
        begin,
        finish,
        length,
        now=ctx.now(),
        attendees=guests,
        prefer=prefer,
        limit=count,
    )
    if not ranked:
        raise ToolError(
            f"No free {duration_minutes}-minute slot in working hours from "
            f"{_span(begin, finish, False, ctx.principal.tz, ctx.now())}. "
            "Try a wider window (end) or a shorter meeting."
        )
    for s in ranked:
        if s.outside_hours:
            warnings.append(
                f"Option {s.rank} is outside working hours for {', '.join(s.outside_hours)}"
            )
    return people, ranked, readings, warnings


def _option_line(ctx: ToolContext, i: int, slot: RankedSlot, zones: list[ZoneInfo]) -> str:
    tz = ctx.principal.tz
    parts: list[str] = []
    for zone in [*[z for z in zones if z.key != tz.key], tz]:
        a, b = slot.start.astimezone(zone), slot.end.astimezone(zone)
        parts.append(f"{a:%A} {a.day} {a:%B}, {a:%H:%M}-{b:%H:%M} {zone_label(a)} ({zone.key})")
    return f"{i}. " + "\n   = ".join(parts)


def _offer_body(
    ctx: ToolContext,
    people: list[str],
    topic: str,
    duration_minutes: int,
    slots: list[RankedSlot],
    note: str,
) -> str:
    zones: list[ZoneInfo] = []
    for who in people:
        zone = _zone_of(ctx, who)
        if zone is not None and zone.key not in {z.key for z in zones}:
            zones.append(zone)
    lines: list[str] = []
    if note.strip():
        lines += [note.strip(), ""]
    lines.append(f"Would one of these times suit you for {topic} ({duration_minutes} minutes)?")
    lines.append("")
    for i, slot in enumerate(slots, 1):
        lines.append(_option_line(ctx, i, slot, zones))
    lines += ["", "Just reply with the number that works best, or suggest another time."]
    return outbound.signed(ctx, "\n".join(lines))


def _offer_message(
    ctx: ToolContext,
    to: list[str],
    subject: str,
    duration_minutes: int,
    start: str,
    end: str,
    times: list[str] | None,
    prefer: Preference,
    note: str,
    count: int,
    draft: bool,
) -> tuple[OutgoingMessage, list[RankedSlot], list[Reading], list[str]]:
    if not subject.strip():
        raise ToolError("subject is empty. Name the meeting, e.g. 'Budget review'.")
    people, slots, readings, warnings = _offer(
        ctx, to, duration_minutes, start, end, times or [], prefer, count
    )
    topic = f"'{subject.strip()}'"
    body = _offer_body(ctx, people, topic, duration_minutes, slots, note)
    message = OutgoingMessage(to=people, subject=" ".join(subject.split()), body=body)
    return message, slots, readings, warnings


def _preview_offer(ctx: ToolContext, args: BaseModel) -> Preview:
    data = args.model_dump()
    message, slots, readings, warnings = _offer_message(ctx, **data)
    tz, now = ctx.principal.tz, ctx.now()
    details = {
        "From": format_address(ctx.principal.name, ctx.principal.email),
        "To": ", ".join(message.to),
        "Subject": message.subject,
        "Times": "; ".join(
            f"{i}. {_span(s.start, s.end, False, tz, now)}" for i, s in enumerate(slots, 1)
        ),
    }
    if slots and slots[0].reasons:
        details["Why"] = " | ".join(f"{i}. {s.explanation}" for i, s in enumerate(slots, 1))
    if _read_as(readings):
        details["Read as"] = _read_as(readings)
    verb = "Save a draft to" if data.get("draft") else "E-mail"
    who = ", ".join(bare_address(a) for a in message.to)
    return Preview(
        summary=f"{verb} {who} offering {len(slots)} times for '{message.subject}'",
        details=details,
        body=message.body,
        warnings=warnings,
    )


@tool(effect="write", duty="calendar", preview=_preview_offer, title="Offer meeting times")
def propose_times(
    ctx: ToolContext,
    to: list[str],
    subject: str,
    duration_minutes: int,
    start: str = "",
    end: str = "",
    times: list[str] | None = None,
    prefer: Preference = "any",
    note: str = "",
    count: int = 3,
    draft: bool = False,
) -> dict[str, Any]:
    """E-mail someone 2 to 4 meeting times to choose from (the principal approves it first).

    Each time is written in the recipient's time zone (when their contact has one) and in the
    principal's. Without `times` the best free times in the window are chosen by the same
    ranking as find_free_slots; pass the times from find_free_slots to offer exactly those.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        to: Recipient addresses, for example ["dana@acme.com"].
        subject: The meeting's name, used as the subject ("Budget review").
        duration_minutes: Length of the meeting in minutes.
        start: Earliest day or period to offer, ISO 8601 or a phrase ("next week").
        end: Latest day (inclusive). Empty means the period in start, else 7 days.
        times: Exact start times to offer (ISO 8601 or phrases); empty chooses them.
        prefer: Part of the day the principal prefers.
        note: Opening lines of the e-mail, including the greeting ("Hi Dana, ...").
        count: How many times to offer when choosing them (2 to 4).
        draft: True keeps the e-mail in drafts instead of sending it.
    """
    message, slots, _readings, _warnings = _offer_message(
        ctx, to, subject, duration_minutes, start, end, times, prefer, note, count, draft
    )
    receipt = (outbound.save_draft if draft else outbound.send)(ctx, message)
    tz = ctx.principal.tz
    return {
        **receipt.model_dump(mode="json"),
        "offered": [
            {"start": s.start.astimezone(tz).isoformat(), "end": s.end.astimezone(tz).isoformat()}
            for s in slots
        ],
    }
