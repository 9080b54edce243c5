"""iCalendar helpers: an event as a VEVENT, a VCALENDAR with the zones it needs.

Pure functions over :class:`~tools.providers.base.Event` and the ``icalendar``
library, shared by the calendar providers (``.ics`` files, CalDAV) and by the
iTIP messages of :mod:`tools.itip`. A VTIMEZONE carries enough of its zone's
rules that a client reading times from it alone places every occurrence right.
"""

from __future__ import annotations

from datetime import MAXYEAR, MINYEAR, UTC, date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import icalendar

from tools.providers.base import Event, PartStat

PRODID = "-//Secretary//iTIP//EN"
ZONE_YEARS_AFTER = 2
"""Years of a zone's transitions a VTIMEZONE carries past a single event's end."""
ZONE_YEARS_REPEATING = 30
"""The same for a repeating event (its RRULE may run without end)."""
Method = Literal["REQUEST", "CANCEL", "REPLY"]


def address(email: str) -> str:
    """An e-mail address as iCalendar compares it: lower case, no ``mailto:``."""
    return email.strip().lower().removeprefix("mailto:")


def _ical_datetime(dt: datetime, all_day: bool, tz: ZoneInfo) -> date | datetime:
    local = dt.astimezone(tz)
    return local.date() if all_day else local


def event_component(
    event: Event,
    *,
    stamp: datetime,
    organizer_name: str = "",
    status: str | None = None,
    partstats: dict[str, PartStat] | None = None,
) -> icalendar.Event:
    """The VEVENT for ``event``: times in the event's own zone, recurrence and attendees kept.

    Args:
        event: The event (an occurrence gets a RECURRENCE-ID).
        stamp: DTSTAMP, the moment this version is issued.
        organizer_name: CN of the organizer, when known.
        status: STATUS to write instead of the event's own (e.g. CANCELLED).
        partstats: Attendee -> answer to write; default the event's attendance.
    """
    tz = ZoneInfo(event.timezone)
    item = icalendar.Event()
    item.add("uid", event.uid or f"{event.id}@secretary.local")
    item.add("dtstamp", stamp.astimezone(UTC))
    item.add("sequence", event.sequence)
    item.add("dtstart", _ical_datetime(event.start, event.all_day, tz))
    end_tz = ZoneInfo(event.end_timezone) if event.end_timezone else tz
    item.add("dtend", _ical_datetime(event.end, event.all_day, end_tz))
    if event.recurrence_id is not None:
        item.add("recurrence-id", _ical_datetime(event.recurrence_id, event.all_day, tz))
    elif event.recurrence:
        for prop in recurrence_properties(event.recurrence, tz):
            item.add(prop[0], prop[1], parameters=prop[2])
    item.add("summary", event.title)
    if event.location:
        item.add("location", event.location)
    if event.description:
        item.add("description", event.description)
    if event.organizer:
        organizer = icalendar.vCalAddress(f"mailto:{event.organizer}")
        if organizer_name:
            organizer.params["CN"] = organizer_name
        item.add("organizer", organizer)
    answers = {address(k): v for k, v in (partstats or event.attendance).items()}
    for who in event.attendees:
        attendee = icalendar.vCalAddress(f"mailto:{who}")
        attendee.params["CUTYPE"] = "INDIVIDUAL"
        attendee.params["ROLE"] = "REQ-PARTICIPANT"
        attendee.params["PARTSTAT"] = answers.get(address(who), "needs-action").upper()
        attendee.params["RSVP"] = "TRUE"
        item.add("attendee", attendee)
    item.add("status", (status or event.status).upper())
    item.add("transp", "OPAQUE")
    return item


def recurrence_properties(
    lines: list[str], tz: ZoneInfo
) -> list[tuple[str, object, dict[str, str]]]:
    """RRULE/EXDATE/RDATE lines as (name, value, parameters), floating times put into ``tz``."""
    out: list[tuple[str, object, dict[str, str]]] = []
    for line in lines:
        parsed = icalendar.Event.from_ical(f"BEGIN:VEVENT\r\n{line}\r\nEND:VEVENT\r\n")
        for name, value in parsed.property_items(recursive=False):
            if name in ("BEGIN", "END"):
                continue
            if name == "RRULE":
                out.append(("rrule", value, {}))
                continue
            values = []
            parts: list[Any] = value if isinstance(value, list) else [value]
            for part in parts:
                for dt in (d.dt for d in part.dts):
                    if isinstance(dt, datetime) and dt.tzinfo is None:
                        dt = dt.replace(tzinfo=tz)
                    values.append(dt)
            out.append((name.lower(), values, {}))
    return out


def calendar_of(
    components: list[icalendar.Event], method: Method | None, prodid: str = PRODID
) -> icalendar.Calendar:
    """A VCALENDAR holding ``components`` and the VTIMEZONEs they use."""
    cal = icalendar.Calendar()
    cal.add("prodid", prodid)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    for c in components:
        cal.add_component(c)
    starts = [_as_date(t) for c in components if (t := ical_time(c, "DTSTART")) is not None]
    ends = [_as_date(t) for c in components if (t := ical_time(c, "DTEND")) is not None]
    if starts:
        repeats = any("RRULE" in c or "RDATE" in c for c in components)
        years = ZONE_YEARS_REPEATING if repeats else ZONE_YEARS_AFTER
        first, last = min(starts), max(ends or starts)
        # The receiving client may read times from this VTIMEZONE alone (Outlook
        # does), so its transitions must reach every occurrence; past the last one
        # the zone would stay in whichever offset came last.
        cal.add_missing_timezones(
            first_date=date(max(first.year - 1, MINYEAR), 1, 1),
            last_date=date(min(last.year + years + 1, MAXYEAR), 1, 1),
        )
    return cal


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def ical_time(component: icalendar.cal.Component, name: str) -> date | datetime | None:
    """The date or date-time of property ``name`` (DTSTART, RECURRENCE-ID...), if present."""
    prop: Any = component.get(name)
    value = getattr(prop, "dt", None)
    return value if isinstance(value, date) else None
