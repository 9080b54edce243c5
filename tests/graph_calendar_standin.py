"""The loopback Microsoft 365 tenant with calendars: Graph events, calendarView and getSchedule.

Extends :class:`graph_standin.GraphStandIn` (sign-in, mail, throttling, 401)
with what the Graph calendar provider uses, under ``/v1.0/me/...`` and
``/v1.0/users/{upn}/...``:

* ``POST events`` (a repeated ``transactionId`` returns the first event, as
  Graph deduplicates), ``GET events`` with the extended-property ``$filter``,
  ``GET/PATCH/DELETE events/{id}``, ``POST events/{id}/cancel``, ``accept``,
  ``decline`` and ``tentativelyAccept``;
* ``GET calendarView`` expanding daily and weekly series in their recurrence
  time zone, paged with ``$top``/``$skip`` next links (10 per page unless
  ``odata.maxpagesize`` or ``$top`` say otherwise), times in the zone of
  ``Prefer: outlook.timezone``;
* ``POST calendar/getSchedule``: busy items of mailboxes the tenant knows, an
  error entry for anyone else.

Meetings behave as Exchange's do: an invitation puts a copy in each
attendee's calendar (same ``iCalUId``), an answer sent with ``sendResponse``
updates the organizer's copy, a cancel removes the organizer's copy and marks
the attendees' copies cancelled. ``originalStartTimeZone`` is reported with
Windows zone names where one exists, as Exchange does.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode
from zoneinfo import ZoneInfo

from graph_standin import GraphError, GraphStandIn, Seen, _Handler, _json_answer
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

_WINDOWS = {iana: win for win, iana in reversed(list(WINDOWS_TO_OLSON.items()))}
_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_ANSWERS = {"accept": "accepted", "decline": "declined", "tentativelyAccept": "tentativelyAccepted"}
_EXT_FILTER = re.compile(
    r"singleValueExtendedProperties/Any\(ep: ep/id eq '(?P<id>(?:[^']|'')*)' "
    r"and ep/value eq '(?P<value>(?:[^']|'')*)'\)"
)


@dataclass
class CalEvent:
    """One event in one mailbox's calendar (times stored as UTC instants plus the zone)."""

    id: str
    mailbox: str
    ical_uid: str
    subject: str
    start: datetime
    end: datetime
    zone: str
    is_all_day: bool = False
    body: str = ""
    location: str = ""
    attendees: list[dict[str, Any]] = field(default_factory=list)
    organizer: str = ""
    response: str = "organizer"
    is_cancelled: bool = False
    show_as: str = "busy"
    recurrence: dict[str, Any] | None = None
    transaction_id: str = ""
    properties: dict[str, str] = field(default_factory=dict)
    cancel_comment: str = ""

    @property
    def is_organizer(self) -> bool:
        return self.organizer == self.mailbox


@dataclass
class Occurrence:
    """One expanded instance of a series (Graph type ``occurrence``)."""

    master: CalEvent
    start: datetime
    end: datetime

    @property
    def id(self) -> str:
        return f"{self.master.id}_OCC_{self.start.strftime('%Y%m%dT%H%M%SZ')}"


class GraphCalendarStandIn(GraphStandIn):
    """The loopback tenant plus calendars (``start()`` serves, ``close()`` stops)."""

    def __init__(self, tmp_path: Path, **kwargs: Any) -> None:
        super().__init__(tmp_path, **kwargs)
        # The base handler answers GET and POST only; calendars also PATCH and DELETE.
        self._server.RequestHandlerClass = _CalendarHandler
        self.events: list[CalEvent] = []
        self.posts = 0  # event creations that reached the tenant
        self.known: set[str] = set()  # mailboxes getSchedule can see

    # ------------------------------------------------------------- helpers

    def calendar(self, mailbox: str) -> list[CalEvent]:
        with self._lock:
            return [e for e in self.events if e.mailbox == mailbox.lower()]

    def add_event(
        self,
        mailbox: str,
        subject: str,
        start: datetime,
        end: datetime,
        *,
        organizer: str = "",
        attendees: list[str] | None = None,
        show_as: str = "busy",
        response: str = "",
    ) -> CalEvent:
        """Put an event straight into a mailbox's calendar (someone else's invitation...)."""
        with self._lock:
            mailbox = mailbox.lower()
            self.known.add(mailbox)
            event = CalEvent(
                id="AAMkEv" + uuid.uuid4().hex,
                mailbox=mailbox,
                ical_uid="040000008200E00074C5B7101A82E008" + uuid.uuid4().hex,
                subject=subject,
                start=start.astimezone(UTC),
                end=end.astimezone(UTC),
                zone=getattr(start.tzinfo, "key", "UTC"),
                organizer=(organizer or mailbox).lower(),
                attendees=[_person(a) for a in attendees or []],
                show_as=show_as,
                response=response or ("organizer" if not organizer else "notResponded"),
            )
            self.events.append(event)
            return event

    # --------------------------------------------------------------- routing

    def _route(self, req: Seen, body: bytes) -> tuple[int, dict[str, str], bytes]:
        parts = [unquote(p) for p in req.path.split("/")[2:]]
        rest = parts[1:] if parts[:1] == ["me"] else parts[2:]
        if rest[:1] not in (["events"], ["calendarView"], ["calendar"]):
            return super()._route(req, body)
        user = self._caller(req)
        if parts[:1] == ["me"]:
            if user is None:
                raise GraphError(400, "BadRequest", "/me is only valid with delegated auth.")
            mailbox = user
        elif parts[:1] == ["users"] and len(parts) >= 2:
            mailbox = parts[1].lower()
            if user is not None and user != mailbox:
                raise GraphError(403, "ErrorAccessDenied", "Access is denied.")
        else:
            raise GraphError(400, "BadRequest", "Resource not found for the segment.")
        self.known.add(mailbox)
        data = json.loads(body) if body else {}
        method = req.method
        if rest == ["calendarView"] and method == "GET":
            return self._view(req, mailbox)
        if rest == ["calendar", "getSchedule"] and method == "POST":
            return self._schedule(req, data)
        if rest == ["events"] and method == "POST":
            return self._create(req, mailbox, data)
        if rest == ["events"] and method == "GET":
            return self._find(req, mailbox)
        if rest[:1] == ["events"] and len(rest) in (2, 3):
            return self._one(req, mailbox, rest[1], rest[2:], data)
        raise GraphError(400, "BadRequest", "Resource not found for the segment.")

    # --------------------------------------------------------------- events

    def _create(
        self, req: Seen, mailbox: str, data: dict[str, Any]
    ) -> tuple[int, dict[str, str], bytes]:
        transaction = str(data.get("transactionId") or "")
        if transaction:
            for e in self.calendar(mailbox):
                if e.transaction_id == transaction:
                    return _json_answer(201, self._render(e, req))
        self.posts += 1
        all_day = bool(data.get("isAllDay"))
        start, zone = _read_time(data.get("start"))
        end, _ = _read_time(data.get("end"))
        if end <= start:
            raise GraphError(400, "ErrorInvalidRequest", "The end must be after the start.")
        if all_day and (start.astimezone(ZoneInfo(zone)).time() != time(0)):
            raise GraphError(400, "ErrorInvalidRequest", "All-day events start at midnight.")
        uid = "040000008200E00074C5B7101A82E008" + uuid.uuid4().hex
        attendees = [
            {
                "emailAddress": {
                    "address": str(a["emailAddress"]["address"]).lower(),
                    "name": a["emailAddress"].get("name") or a["emailAddress"]["address"],
                },
                "type": a.get("type", "required"),
                "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
            }
            for a in data.get("attendees") or []
        ]
        recurrence = data.get("recurrence")
        if recurrence is not None:
            _check_recurrence(recurrence)
        event = CalEvent(
            id="AAMkEv" + uuid.uuid4().hex,
            mailbox=mailbox,
            ical_uid=uid,
            subject=str(data.get("subject") or ""),
            start=start,
            end=end,
            zone=zone,
            is_all_day=all_day,
            body=str((data.get("body") or {}).get("content") or ""),
            location=str((data.get("location") or {}).get("displayName") or ""),
            attendees=attendees,
            organizer=mailbox,
            recurrence=recurrence,
            transaction_id=transaction,
            properties={
                str(p["id"]): str(p["value"])
                for p in data.get("singleValueExtendedProperties") or []
            },
        )
        self.events.append(event)
        for person in attendees:
            addr = person["emailAddress"]["address"]
            self.known.add(addr)
            copy = CalEvent(
                **{
                    **event.__dict__,
                    "id": "AAMkEv" + uuid.uuid4().hex,
                    "mailbox": addr,
                    "response": "notResponded",
                    "transaction_id": "",
                    "properties": {},
                    "attendees": json.loads(json.dumps(attendees)),
                }
            )
            self.events.append(copy)
        return _json_answer(201, self._render(event, req))

    def _find(self, req: Seen, mailbox: str) -> tuple[int, dict[str, str], bytes]:
        text = req.query.get("$filter", "")
        found = _EXT_FILTER.fullmatch(text)
        if not found:
            raise GraphError(400, "BadRequest", f"Unsupported filter: {text}")
        prop, value = (found.group(g).replace("''", "'") for g in ("id", "value"))
        hits = [e for e in self.calendar(mailbox) if e.properties.get(prop) == value]
        return _json_answer(200, {"value": [self._render(e, req) for e in hits]})

    def _lookup(self, mailbox: str, event_id: str) -> CalEvent | Occurrence:
        master_id, _, stamp = event_id.partition("_OCC_")
        for e in self.calendar(mailbox):
            if e.id == master_id:
                if not stamp:
                    return e
                for occ in _expand(e):
                    if occ.id == event_id:
                        return occ
        raise GraphError(
            404, "ErrorItemNotFound", "The specified object was not found in the store."
        )

    def _one(
        self, req: Seen, mailbox: str, event_id: str, action: list[str], data: dict[str, Any]
    ) -> tuple[int, dict[str, str], bytes]:
        found = self._lookup(mailbox, event_id)
        if req.method == "GET" and not action:
            return _json_answer(200, self._render(found, req))
        if isinstance(found, Occurrence):
            raise GraphError(400, "ErrorInvalidRequest", "The stand-in changes whole series only.")
        event = found
        if req.method == "PATCH" and not action:
            if "start" in data:
                event.start, event.zone = _read_time(data["start"])
            if "end" in data:
                event.end, _ = _read_time(data["end"])
            if event.is_organizer:  # the attendees' copies follow (Exchange sends the update)
                for other in self.events:
                    if other.ical_uid == event.ical_uid and other is not event:
                        other.start, other.end, other.zone = event.start, event.end, event.zone
            return _json_answer(200, self._render(event, req))
        if req.method == "DELETE" and not action:
            self.events.remove(event)
            return 204, {}, b""
        if req.method == "POST" and action == ["cancel"]:
            if not event.is_organizer:
                raise GraphError(
                    400,
                    "ErrorAccessDenied",
                    "Your request can't be completed. You need to be "
                    "an organizer to cancel a meeting.",
                )
            self.events.remove(event)
            for other in self.events:
                if other.ical_uid == event.ical_uid:
                    other.is_cancelled = True
                    other.cancel_comment = str(data.get("comment") or "")
            return 202, {}, b""
        if req.method == "POST" and action and action[0] in _ANSWERS:
            if event.is_organizer:
                raise GraphError(
                    400, "ErrorInvalidRequest", "You can't respond to a meeting you organized."
                )
            answer = _ANSWERS[action[0]]
            event.response = answer
            if data.get("sendResponse", True):
                for other in self.events:
                    if other.ical_uid == event.ical_uid and other.is_organizer:
                        for person in other.attendees:
                            if person["emailAddress"]["address"] == mailbox:
                                person["status"]["response"] = answer
            if answer == "declined":  # Exchange takes a declined meeting off the calendar
                self.events.remove(event)
            return 202, {}, b""
        raise GraphError(400, "BadRequest", "Resource not found for the segment.")

    # ---------------------------------------------------------------- views

    def _instances(self, mailbox: str, start: datetime, end: datetime) -> list[Any]:
        out: list[Any] = []
        for e in self.calendar(mailbox):
            for item in _expand(e) if e.recurrence else [e]:
                if item.start < end and item.end > start:
                    out.append(item)
        out.sort(key=lambda i: (i.start, i.id))
        return out

    def _view(self, req: Seen, mailbox: str) -> tuple[int, dict[str, str], bytes]:
        query = req.query
        try:
            start = datetime.fromisoformat(query["startDateTime"].replace("Z", "+00:00"))
            end = datetime.fromisoformat(query["endDateTime"].replace("Z", "+00:00"))
        except (KeyError, ValueError):
            raise GraphError(
                400, "ErrorInvalidParameter", "startDateTime and endDateTime are required."
            ) from None
        if start.tzinfo is None:
            start, end = start.replace(tzinfo=UTC), end.replace(tzinfo=UTC)
        hits = self._instances(mailbox, start, end)
        found = re.search(r"odata\.maxpagesize=(\d+)", req.headers.get("prefer", ""))
        size = min(int(query.get("$top", "10")), int(found.group(1)) if found else 10)
        skip = int(query.get("$skip", "0"))
        answer: dict[str, Any] = {"value": [self._render(i, req) for i in hits[skip : skip + size]]}
        if skip + size < len(hits):
            link = urlencode(dict(query, **{"$skip": str(skip + size)}), quote_via=quote, safe="$,")
            answer["@odata.nextLink"] = f"{self.base}{req.path}?{link}"
        return _json_answer(200, answer)

    def _schedule(self, req: Seen, data: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        start, _ = _read_time(data.get("startTime"))
        end, _ = _read_time(data.get("endTime"))
        zone = _prefer_zone(req)
        value: list[dict[str, Any]] = []
        for who in data.get("schedules") or []:
            addr = str(who).lower()
            if addr not in self.known:
                value.append(
                    {
                        "scheduleId": who,
                        "error": {
                            "message": "The user could not be found.",
                            "responseCode": "ErrorMailRecipientNotFound",
                        },
                    }
                )
                continue
            items = []
            for i in self._instances(addr, start, end):
                e = i.master if isinstance(i, Occurrence) else i
                if e.is_cancelled:
                    continue
                status = "tentative" if e.response == "tentativelyAccepted" else e.show_as
                items.append(
                    {
                        "status": status,
                        "subject": e.subject,
                        "start": _stamp(i.start, zone),
                        "end": _stamp(i.end, zone),
                    }
                )
            value.append({"scheduleId": who, "availabilityView": "", "scheduleItems": items})
        return _json_answer(200, {"value": value})

    def _render(self, item: CalEvent | Occurrence, req: Seen) -> dict[str, Any]:
        zone = _prefer_zone(req)
        e = item.master if isinstance(item, Occurrence) else item
        if e.is_all_day:
            # An all-day event is dates: midnight in whatever zone was asked for.
            local = ZoneInfo(e.zone)
            first = item.start.astimezone(local).date()
            last = item.end.astimezone(local).date()
            start = {"dateTime": f"{first.isoformat()}T00:00:00.0000000", "timeZone": zone}
            end = {"dateTime": f"{last.isoformat()}T00:00:00.0000000", "timeZone": zone}
        else:
            start, end = _stamp(item.start, zone), _stamp(item.end, zone)
        attendees = e.attendees
        return {
            "id": item.id,
            "iCalUId": e.ical_uid,
            "subject": e.subject,
            "body": {"contentType": "text", "content": e.body},
            "start": start,
            "end": end,
            "originalStartTimeZone": _WINDOWS.get(e.zone, e.zone),
            "originalEndTimeZone": _WINDOWS.get(e.zone, e.zone),
            "isAllDay": e.is_all_day,
            "location": {"displayName": e.location},
            "attendees": attendees,
            "organizer": {"emailAddress": {"name": e.organizer, "address": e.organizer}},
            "isOrganizer": e.is_organizer,
            "isCancelled": e.is_cancelled,
            "responseStatus": {"response": e.response, "time": "0001-01-01T00:00:00Z"},
            "showAs": e.show_as,
            "type": (
                "occurrence"
                if isinstance(item, Occurrence)
                else "seriesMaster"
                if e.recurrence
                else "singleInstance"
            ),
            "seriesMasterId": e.id if isinstance(item, Occurrence) else None,
            "originalStart": (
                item.start.strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(item, Occurrence) else None
            ),
            "recurrence": None if isinstance(item, Occurrence) else e.recurrence,
            "transactionId": e.transaction_id or None,
        }


class _CalendarHandler(_Handler):
    do_PATCH = _Handler._handle
    do_DELETE = _Handler._handle


def _person(addr: str) -> dict[str, Any]:
    return {
        "emailAddress": {"address": addr.lower(), "name": addr},
        "type": "required",
        "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
    }


def _prefer_zone(req: Seen) -> str:
    found = re.search(r'outlook\.timezone="([^"]+)"', req.headers.get("prefer", ""))
    return found.group(1) if found else "UTC"


def _stamp(when: datetime, zone: str) -> dict[str, str]:
    local = when.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": zone}


def _read_time(value: Any) -> tuple[datetime, str]:
    """A ``dateTimeTimeZone`` as a UTC instant and its zone (IANA names only here)."""
    if not isinstance(value, dict) or not value.get("dateTime"):
        raise GraphError(400, "ErrorInvalidRequest", "A dateTimeTimeZone is required.")
    zone = str(value.get("timeZone") or "UTC")
    try:
        tz = ZoneInfo(zone)
        local = datetime.fromisoformat(str(value["dateTime"])[:26])
    except (ValueError, KeyError):
        raise GraphError(400, "ErrorInvalidRequest", f"Bad time {value}.") from None
    if local.tzinfo is not None:
        raise GraphError(400, "ErrorInvalidRequest", "dateTime carries no offset in Graph.")
    return local.replace(tzinfo=tz).astimezone(UTC), zone


def _check_recurrence(recurrence: dict[str, Any]) -> None:
    pattern, span = recurrence.get("pattern") or {}, recurrence.get("range") or {}
    if pattern.get("type") not in ("daily", "weekly"):
        raise GraphError(400, "ErrorInvalidRequest", "The stand-in repeats daily or weekly.")
    if span.get("type") not in ("numbered", "endDate", "noEnd") or not span.get("startDate"):
        raise GraphError(400, "ErrorInvalidRequest", "A recurrence range needs a start date.")


def _expand(e: CalEvent) -> list[Occurrence]:
    """Occurrences of a daily or weekly series in its recurrence zone (at most two years)."""
    assert e.recurrence is not None
    pattern, span = e.recurrence["pattern"], e.recurrence["range"]
    tz = ZoneInfo(span.get("recurrenceTimeZone") or e.zone)
    first_local = e.start.astimezone(tz)
    length = e.end - e.start
    day = date.fromisoformat(span["startDate"])
    last = date.fromisoformat(span["endDate"]) if span["type"] == "endDate" else None
    count = int(span.get("numberOfOccurrences") or 0) if span["type"] == "numbered" else None
    interval = int(pattern.get("interval") or 1)
    weekdays = {_DAY_NAMES.index(d) for d in pattern.get("daysOfWeek") or []}
    week_start = day - timedelta(days=day.weekday())
    out: list[Occurrence] = []
    while day <= date.fromisoformat(span["startDate"]) + timedelta(days=730):
        if last is not None and day > last:
            break
        if pattern["type"] == "daily":
            hit = (day - date.fromisoformat(span["startDate"])).days % interval == 0
        else:
            weeks = (day - timedelta(days=day.weekday()) - week_start).days // 7
            hit = day.weekday() in weekdays and weeks % interval == 0
        if hit:
            # Wall time in the series' zone: 10:00 stays 10:00 across a DST change.
            start = datetime.combine(day, first_local.time(), tzinfo=tz).astimezone(UTC)
            out.append(Occurrence(e, start, start + length))
            if count is not None and len(out) >= count:
                break
        day += timedelta(days=1)
    return out
