"""CalDAV's iCalendar objects as the project's events, and new events as iCalendar.

Everything here is pure: a calendar object resource (:class:`Resource`) as
read from the server goes in, :class:`~tools.providers.base.Event` values come
out, and a :class:`~tools.providers.base.NewEvent` becomes the VCALENDAR that
is written. Occurrence ids, time zones, recurrence lines, SEQUENCE bumps and
the scheduling outbox's free/busy answer are read and written here; talking to
the server is :mod:`tools.providers.caldav.client`'s part.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
from icalendar.timezone import tzid_from_dt
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON
from lxml import etree

from tools.providers.base import Busy, Event, NewEvent, PartStat, ProviderError
from tools.providers.calendar_rules import all_day_dates, require_span, require_zone

PRODID = "-//Secretary//CalDAV calendar//EN"
RECURRENCE = ("RRULE", "RDATE", "EXDATE", "EXRULE")
MARGIN = timedelta(days=1)
"""Asked of the server beyond the range: floating and all-day times are local, not UTC."""
_RID_RE = re.compile(r"(?P<uid>.+)/(?P<rid>\d{8}(?:T\d{6}Z)?)")
PARTSTAT: dict[str, PartStat] = {
    "NEEDS-ACTION": "needs-action",
    "ACCEPTED": "accepted",
    "DECLINED": "declined",
    "TENTATIVE": "tentative",
}
Status = Literal["confirmed", "tentative", "cancelled"]
_STATUS: dict[str, Status] = {"CANCELLED": "cancelled", "TENTATIVE": "tentative"}
_BUSY_TYPES = {"BUSY", "BUSY-UNAVAILABLE", "BUSY-TENTATIVE"}
_NS = {"D": "DAV:", "C": "urn:ietf:params:xml:ns:caldav"}


@dataclass
class Resource:
    """One calendar object resource: where it is, its version and its iCalendar data."""

    href: str
    etag: str
    cal: icalendar.Calendar

    @property
    def events(self) -> list[icalendar.Event]:
        """The VEVENTs of the resource: a master and its overrides, or one event."""
        return [cast(icalendar.Event, c) for c in self.cal.subcomponents if c.name == "VEVENT"]

    @property
    def master(self) -> icalendar.Event | None:
        """The VEVENT without RECURRENCE-ID (a series or a single event), if any."""
        return next((c for c in self.events if "RECURRENCE-ID" not in c), None)

    @property
    def recurring(self) -> bool:
        """Whether the resource holds a series (recurrence lines or overrides)."""
        master = self.master
        return (master is not None and any(k in master for k in RECURRENCE)) or any(
            "RECURRENCE-ID" in c for c in self.events
        )


def to_event(comp: icalendar.Event, res: Resource, tz: ZoneInfo, series: bool = False) -> Event:
    """``comp`` (a VEVENT of ``res``) as an Event, in zone ``tz`` (the principal's).

    ``series`` reads a recurring master as the whole series, not as one occurrence.
    """
    uid = str(comp.get("UID", ""))
    if "DTSTART" not in comp:
        raise ValueError(f"event {uid} has no DTSTART")
    raw_start = date_value(comp, "DTSTART")
    all_day = not isinstance(raw_start, datetime)
    zone = _zone_name(raw_start, tz) if isinstance(raw_start, datetime) else tz.key
    start = _local(raw_start, tz)
    end = _local(_end_of(comp), tz)
    event_id, recurring_id, recurrence = uid, "", []
    original: datetime | None = None
    master = res.master
    if res.recurring:
        recurrence = _recurrence_lines(master) if master is not None else []
        if not series and "RECURRENCE-ID" in comp:
            rid = date_value(comp, "RECURRENCE-ID")
            event_id = f"{uid}/{rid_text(rid, tz)}"
            recurring_id = uid
            original = _local(rid, tz)
    attendance: dict[str, PartStat] = {}
    attendees: list[str] = []
    for line in as_list(comp.get("ATTENDEE")):
        who = address(line)
        if not who:
            continue
        attendees.append(who)
        answer = PARTSTAT.get(str(line.params.get("PARTSTAT", "NEEDS-ACTION")).upper())
        if answer is not None:
            attendance[who.lower()] = answer
    organizer = comp.get("ORGANIZER")
    return Event(
        id=event_id,
        title=str(comp.get("SUMMARY", "")),
        start=start,
        end=max(end, start),
        timezone=zone,
        all_day=all_day,
        location=str(comp.get("LOCATION", "")),
        description=str(comp.get("DESCRIPTION", "")),
        attendees=attendees,
        organizer=address(organizer) if organizer is not None else "",
        status=status_of(comp),
        attendance=attendance,
        recurrence=recurrence,
        recurring_id=recurring_id,
        uid=uid,
        recurrence_id=original,
        sequence=sequence_of(comp),
    )


def new_calendar(
    uid: str, event: NewEvent, organizer_address: str, organizer_name: str
) -> icalendar.Calendar:
    """The VCALENDAR a new event is written as (attendees invited by the tools, not the server)."""
    tz = require_zone(event.timezone)
    comp = icalendar.Event()
    comp.add("UID", uid)
    now = datetime.now(UTC).replace(microsecond=0)
    comp.add("DTSTAMP", now)
    comp.add("CREATED", now)
    comp.add("LAST-MODIFIED", now)
    comp.add("SEQUENCE", 0)
    if event.all_day:
        first_day, stop = all_day_dates(event.start, event.end, tz)
        comp.add("DTSTART", first_day)
        comp.add("DTEND", stop)
        span = (first_day, stop)
    else:
        require_span(event.start, event.end)
        comp.add("DTSTART", event.start.astimezone(tz).replace(microsecond=0))
        comp.add("DTEND", event.end.astimezone(tz).replace(microsecond=0))
        span = (event.start.astimezone(tz).date(), event.end.astimezone(tz).date())
    comp.add("SUMMARY", event.title)
    if event.location:
        comp.add("LOCATION", event.location)
    if event.description:
        comp.add("DESCRIPTION", event.description)
    if event.attendees:
        organizer = icalendar.vCalAddress(f"mailto:{organizer_address}")
        organizer.params["CN"] = organizer_name
        comp.add("ORGANIZER", organizer)
        for who in event.attendees:
            line = icalendar.vCalAddress(f"mailto:{who.strip()}")
            # SCHEDULE-AGENT=CLIENT: a scheduling server must not invite on its own,
            # the tools send the iTIP invitation (sends_invitations is False).
            line.params.update(
                {
                    "ROLE": "REQ-PARTICIPANT",
                    "PARTSTAT": "NEEDS-ACTION",
                    "RSVP": "TRUE",
                    "SCHEDULE-AGENT": "CLIENT",
                }
            )
            comp.add("ATTENDEE", line)
    comp.add("STATUS", "CONFIRMED")
    for name, value in _parse_recurrence(event.recurrence, tz, event.all_day):
        comp.add(name, value)
    cal = icalendar.Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    cal.add_component(comp)
    # Zone rules from a year before; an open-ended series needs them for years to come.
    last = date(2038, 1, 1) if event.recurrence else span[1] + timedelta(days=366)
    cal.add_missing_timezones(
        first_date=span[0] - timedelta(days=366), last_date=max(last, span[1])
    )
    return cal


def utc_text(dt: datetime) -> str:
    """An instant as an iCalendar UTC date-time (``20261015T080000Z``)."""
    return dt.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _local(value: date | datetime, tz: ZoneInfo) -> datetime:
    """An iCalendar date or date-time as an aware datetime in ``tz`` (floating: read in ``tz``)."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            return value.replace(tzinfo=tz)
        return value.astimezone(tz)
    return datetime.combine(value, time(0), tzinfo=tz)


def _get(comp: icalendar.Component, name: str) -> Any:
    """A property of ``comp`` (icalendar types it as the union of all value types)."""
    return cast(Any, comp).get(name)


def date_value(comp: icalendar.Component, name: str) -> date | datetime:
    """The date or date-time value of property ``name`` (which must be there)."""
    return cast(date | datetime, _get(comp, name).dt)


def _end_of(comp: icalendar.Event) -> date | datetime:
    start = date_value(comp, "DTSTART")
    if "DTEND" in comp:
        return date_value(comp, "DTEND")
    if "DURATION" in comp:
        return cast(date | datetime, start + _get(comp, "DURATION").dt)
    # RFC 5545: without either, a date lasts one day and a date-time no time at all.
    return start if isinstance(start, datetime) else start + timedelta(days=1)


def _zone_name(value: datetime, fallback: ZoneInfo) -> str:
    """The IANA name of a DTSTART's zone (floating or unknown ones: ``fallback``)."""
    if value.tzinfo is None:
        return str(fallback.key)
    key = getattr(value.tzinfo, "key", None)
    if isinstance(key, str) and key:
        return key
    name = tzid_from_dt(value) or ""
    name = WINDOWS_TO_OLSON.get(name, name)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return str(fallback.key)
    return name


def status_of(comp: icalendar.Event) -> Status:
    """A VEVENT's STATUS as the project's status (confirmed when missing)."""
    return _STATUS.get(str(comp.get("STATUS", "CONFIRMED")).upper(), "confirmed")


def rid_text(value: date | datetime, tz: ZoneInfo) -> str:
    """The id part of an occurrence: its original start in UTC, or its date."""
    if isinstance(value, datetime):
        return utc_text(_local(value, tz))
    return value.strftime("%Y%m%d")


def rid_datetime(rid: str) -> datetime:
    """The id part of an occurrence as a UTC datetime."""
    if "T" in rid:
        return datetime.strptime(rid, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return datetime.strptime(rid, "%Y%m%d").replace(tzinfo=UTC)


def split_id(event_id: str) -> tuple[str, str | None]:
    """``uid`` or ``uid/recurrence-id`` -> (uid, recurrence-id or None)."""
    m = _RID_RE.fullmatch(event_id.strip())
    if m:
        return m.group("uid"), m.group("rid")
    return event_id.strip(), None


def first_occurrence_id(res: Resource, tz: ZoneInfo) -> str:
    """The id of a series' first occurrence, for messages that show one."""
    master = res.master
    if master is None or "DTSTART" not in master:
        return "<uid>/<recurrence-id>"
    return f"{master.get('UID', '')}/{rid_text(date_value(master, 'DTSTART'), tz)}"


def as_list(value: Any) -> list[Any]:
    """A property that may occur once or many times, always as a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def address(value: Any) -> str:
    """An ORGANIZER or ATTENDEE value as an e-mail address (no ``mailto:``)."""
    text = str(value).strip()
    return text[7:] if text.lower().startswith("mailto:") else text


def _recurrence_lines(master: icalendar.Event) -> list[str]:
    lines: list[str] = []
    for name in RECURRENCE:
        for value in as_list(master.get(name)):
            lines.append(str(master.content_line(name, value)))
    return lines


def _parse_recurrence(lines: list[str], tz: ZoneInfo, all_day: bool) -> list[tuple[str, Any]]:
    """RRULE/RDATE/EXDATE/EXRULE lines as properties; floating dates read in the event's zone."""
    if not lines:
        return []
    text = "BEGIN:VEVENT\r\n" + "\r\n".join(line.strip() for line in lines) + "\r\nEND:VEVENT\r\n"
    try:
        parsed = icalendar.Event.from_ical(text)
    except ValueError as exc:
        raise ProviderError(f"The recurrence lines cannot be read ({exc}).") from None
    out: list[tuple[str, Any]] = []
    for name, value in parsed.property_items(recursive=False):
        if name in ("BEGIN", "END"):
            continue
        if name not in RECURRENCE:
            raise ProviderError(
                f"'{name}' is not a recurrence line; use RRULE, RDATE, EXDATE or EXRULE "
                '(e.g. "RRULE:FREQ=WEEKLY;COUNT=4").'
            )
        if name in ("RDATE", "EXDATE"):
            days: list[date | datetime] = []
            for item in cast(Any, value).dts:
                dt = item.dt
                if all_day and isinstance(dt, datetime):
                    dt = _local(dt, tz).date()
                elif isinstance(dt, datetime):
                    # A date-time without zone would float: it means the event's local time.
                    dt = _local(dt, tz)
                days.append(dt)
            out.append((name, days))
        else:
            out.append((name, value))
    return out


def set_times(
    comp: icalendar.Event, start: date | datetime, end: date | datetime, tz: ZoneInfo
) -> None:
    """New DTSTART and DTEND (or DURATION), written in the component's own zone."""
    old = date_value(comp, "DTSTART")
    if isinstance(start, datetime):
        start = _like(old, start, tz)
        end = _like(date_value(comp, "DTEND") if "DTEND" in comp else old, cast(datetime, end), tz)
    comp.pop("DTSTART")
    comp.add("DTSTART", start)
    if "DURATION" in comp:
        comp.pop("DURATION")
        comp.add("DURATION", _as_utc(end) - _as_utc(start))
    else:
        comp.pop("DTEND", None)
        comp.add("DTEND", end)


def _as_utc(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime.combine(value, time(0), tzinfo=UTC)


def _like(old: date | datetime, new: datetime, tz: ZoneInfo) -> datetime:
    """``new`` in the form ``old`` had: same zone, UTC, or floating (local to ``tz``)."""
    new = new.replace(microsecond=0)
    if isinstance(old, datetime) and old.tzinfo is not None:
        zone: tzinfo = old.tzinfo
        return new.astimezone(zone)
    if isinstance(old, datetime):
        return new.astimezone(tz).replace(tzinfo=None)
    return new.astimezone(tz)


def sequence_of(comp: icalendar.Event) -> int:
    """A VEVENT's SEQUENCE (0 when missing or unreadable)."""
    try:
        return int(_get(comp, "SEQUENCE") or 0)
    except (TypeError, ValueError):
        return 0


def touch(comp: icalendar.Event) -> None:
    """Stamp a changed VEVENT (DTSTAMP and LAST-MODIFIED: now)."""
    now = datetime.now(UTC).replace(microsecond=0)
    for name in ("DTSTAMP", "LAST-MODIFIED"):
        comp.pop(name, None)
        comp.add(name, now)


def bump(comp: icalendar.Event) -> None:
    """Record an organizer's change: a higher SEQUENCE tells attendees' clients it is newer."""
    sequence = sequence_of(comp) + 1
    comp.pop("SEQUENCE", None)
    comp.add("SEQUENCE", sequence)
    touch(comp)


def freebusy_request(organizer: str, attendees: list[str], start: datetime, end: datetime) -> str:
    """An iTIP VFREEBUSY REQUEST for the scheduling outbox (RFC 6638, section 5)."""
    cal = icalendar.Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add("METHOD", "REQUEST")
    fb = icalendar.FreeBusy()
    fb.add("UID", uuid.uuid4().hex)
    fb.add("DTSTAMP", datetime.now(UTC).replace(microsecond=0))
    fb.add("DTSTART", start.astimezone(UTC).replace(microsecond=0))
    fb.add("DTEND", end.astimezone(UTC).replace(microsecond=0))
    fb.add("ORGANIZER", icalendar.vCalAddress(f"mailto:{organizer}"))
    for who in attendees:
        fb.add("ATTENDEE", icalendar.vCalAddress(f"mailto:{who.strip()}"))
    cal.add_component(fb)
    return str(cal.to_ical().decode())


def parse_schedule_response(
    data: bytes, attendees: list[str], tz: ZoneInfo
) -> dict[str, list[Busy]]:
    """Busy periods per attendee from a CalDAV ``schedule-response`` (RFC 6638).

    Only recipients the server answered for with a 2.x request status are in
    the result, keyed as the caller spelled them; FREE periods are left out.
    """
    try:
        root = etree.fromstring(data)
    except etree.XMLSyntaxError:
        return {}
    wanted = {a.strip().lower(): a for a in attendees}
    out: dict[str, list[Busy]] = {}
    for response in root.findall("C:response", _NS):
        recipient = response.find("C:recipient", _NS)
        if recipient is None:
            continue
        href = recipient.find("D:href", _NS)
        who = address((href.text if href is not None else recipient.text) or "").lower()
        status = (response.findtext("C:request-status", "", _NS) or "").strip()
        data_text = response.findtext("C:calendar-data", "", _NS)
        if who not in wanted or not status.startswith("2") or not data_text:
            continue
        try:
            cal = icalendar.Calendar.from_ical(data_text)
        except ValueError:
            continue
        busy: list[Busy] = []
        for fb in cal.walk("VFREEBUSY"):
            for prop in as_list(fb.get("FREEBUSY")):
                kind = str(prop.params.get("FBTYPE", "BUSY")).upper()
                if kind not in _BUSY_TYPES:
                    continue
                for period in as_list(prop.dts if hasattr(prop, "dts") else prop):
                    value = getattr(period, "dt", period)
                    if not isinstance(value, tuple):
                        continue
                    first, second = value
                    begin = _local(first, tz)
                    finish = begin + second if isinstance(second, timedelta) else _local(second, tz)
                    busy.append(Busy(start=begin, end=finish))
        out[wanted[who]] = sorted(busy, key=lambda b: (b.start, b.end))
    return out
