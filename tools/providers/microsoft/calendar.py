"""Microsoft 365 calendars through Microsoft Graph: a CalendarProvider on a real mailbox.

Reading uses ``/calendarView``, which expands recurring series on the server;
times are asked for in UTC (``Prefer: outlook.timezone="UTC"``) so no local
time has to be guessed, and each event is returned in its own zone
(``originalStartTimeZone``, where Exchange often names Windows zones such as
"W. Europe Standard Time": they are mapped to IANA names). All-day events are
calendar days and start and end at the principal's local midnight. An
occurrence carries ``recurring_id`` (Graph's ``seriesMasterId``), its original
start as ``recurrence_id`` and the series' rule as RRULE lines.

Decisions worth knowing:

* Exactly once: a create carries a ``transactionId`` derived from the
  idempotency key (Graph drops a repeated POST with the same one) and the same
  value in a single-value extended property; before posting, the calendar is
  searched for that property (Graph documents ``$filter`` on extended
  properties, not on ``transactionId``), so a retry from a fresh process
  returns the event made the first time.
* Recurrence: RRULEs with FREQ DAILY, WEEKLY, MONTHLY or YEARLY and INTERVAL,
  COUNT, UNTIL, BYDAY, BYMONTHDAY, BYMONTH, BYSETPOS, WKST become Graph's
  recurrence pattern and range; anything Graph cannot express (EXDATE, RDATE,
  BYHOUR...) is refused with a sentence rather than approximated.
* Invitations, updates, cancellations and answers are mailed by Exchange
  itself (``sends_invitations`` is True).
* Cancelling: the organizer's meeting is cancelled with ``/cancel`` (the
  attendees get the cancellation with a comment); any other event is deleted
  from the principal's calendar. Graph keeps nothing, so the provider returns
  the event marked cancelled and remembers it under the key (in the principal's
  directory), and a retried cancel returns the same answer.
* Moves and answers are absolute: one already in place sends nothing again.
* ``sequence`` stays 0: Exchange keeps the iCalendar SEQUENCE to itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, time
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from tools.providers.accounts import MicrosoftAccount
from tools.providers.base import Busy, Event, NewEvent, NotFound, PartStat, ProviderError
from tools.providers.calendar_rules import (
    all_day_dates,
    own_event,
    require_aware,
    require_movable,
    require_span,
    require_zone,
)
from tools.providers.microsoft.auth import MicrosoftAuth
from tools.providers.microsoft.graph import GRAPH_URL, GraphClient, GraphNotFound, odata_quote
from tools.providers.microsoft.recurrence import graph_recurrence, iana_zone, rrule_lines

if TYPE_CHECKING:
    from tools.foundation.principals import Principal

log = logging.getLogger(__name__)

PREFER = 'outlook.timezone="UTC", outlook.body-content-type="text"'
"""Times in UTC (never ambiguous) and bodies as plain text."""
KEY_PROPERTY = "String {4c4b9d6e-2f43-4b7a-9a55-7c1f0e3a5b21} Name SecretaryTransactionId"
"""The extended property holding the transactionId, which Graph can filter on."""
PAGE = 50
DONE_FILE = "microsoft-calendar.json"
"""Cancels already done, by key: Graph forgets a cancelled event, the ledger may retry."""
CANCEL_COMMENT = "This meeting has been cancelled."
_FRACTION = re.compile(r"(\.\d{6})\d+")
_RESPONSES: dict[str, PartStat] = {
    "accepted": "accepted",
    "organizer": "accepted",
    "declined": "declined",
    "tentativelyaccepted": "tentative",
}
_ACTIONS: dict[str, str] = {
    "accepted": "accept",
    "declined": "decline",
    "tentative": "tentativelyAccept",
}
_BUSY_STATUSES = {"busy", "tentative", "oof"}


def open_calendar(
    account: MicrosoftAccount | Mapping[str, Any],
    principal: Principal,
    root: Path,
    *,
    auth: MicrosoftAuth | None = None,
    client: GraphClient | None = None,
) -> GraphCalendar:
    """The principal's Microsoft 365 calendar from their ``accounts`` settings.

    Args:
        account: The calendar account settings (see :mod:`tools.providers.microsoft.auth`),
            plus ``graph_url`` (default ``https://graph.microsoft.com/v1.0``).
        principal: Whose calendar it is (time zone, address).
        root: The principal's data directory (token cache, cancels already done).
        auth: A ready sign-in (default: built from ``account``).
        client: A ready Graph client (default: built from ``account`` and ``auth``).
    """
    account = MicrosoftAccount.of(account)
    auth = auth or MicrosoftAuth(account, principal.id, root)
    if client is None:
        client = GraphClient(
            auth,
            base_url=account.graph_url or GRAPH_URL,
            verify=auth.verify,
        )
    address = auth.user if auth.is_app else principal.email
    return GraphCalendar(
        principal, client, auth.mailbox_path, root=root, address=address, auth=auth
    )


class GraphCalendar:
    """A :class:`~tools.providers.base.CalendarProvider` on a Microsoft 365 calendar."""

    sends_invitations = True

    def __init__(
        self,
        principal: Principal,
        client: GraphClient,
        mailbox: str = "/me",
        *,
        root: Path | None = None,
        address: str = "",
        auth: MicrosoftAuth | None = None,
    ) -> None:
        """Use ``client`` for the calendar of ``mailbox`` (``/me`` or ``/users/{upn}``).

        Args:
            principal: Whose calendar it is.
            client: The Graph client.
            mailbox: The Graph path prefix of the mailbox.
            root: Where cancels already done are remembered (none: only in memory).
            address: The mailbox's address (default: the principal's e-mail).
            auth: Closed with the provider, when given.
        """
        self.principal = principal
        self.client = client
        self.mailbox = "/" + mailbox.strip("/")
        self.address = (address or principal.email).strip().lower()
        self._auth = auth
        self._done_path = Path(root) / DONE_FILE if root is not None else None
        self._lock = threading.Lock()
        self._memory: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"GraphCalendar({self.principal.id!r}, {self.mailbox!r})"

    def close(self) -> None:
        """Close the connections to Graph and to the sign-in service."""
        self.client.close()
        if self._auth is not None:
            self._auth.close()

    # ------------------------------------------------------------- helpers

    def _path(self, tail: str) -> str:
        return f"{self.mailbox}/{tail.lstrip('/')}"

    def _event_path(self, event_id: str, tail: str = "") -> str:
        if not event_id.strip():
            raise NotFound("No event id was given; list the agenda to find the event's id.")
        path = self._path(f"events/{quote(event_id, safe='')}")
        return f"{path}/{tail}" if tail else path

    def _fetch(self, event_id: str) -> dict[str, Any]:
        try:
            return self.client.get_json(self._event_path(event_id), headers={"Prefer": PREFER})
        except GraphNotFound:
            raise NotFound(
                f"No event with id {event_id!r} in the Microsoft 365 calendar; list the agenda "
                "to find the right id."
            ) from None

    def _series_rules(self, master_id: str, cache: dict[str, list[str]]) -> list[str]:
        if master_id not in cache:
            try:
                master = self._fetch(master_id)
            except NotFound:
                master = {}
            cache[master_id] = rrule_lines(master.get("recurrence"), self._zone_of(master))
        return cache[master_id]

    def _zone_of(self, item: Mapping[str, Any]) -> ZoneInfo:
        return iana_zone(str(item.get("originalStartTimeZone") or ""), self.principal.tz)

    def _event(self, item: Mapping[str, Any], rules: dict[str, list[str]] | None = None) -> Event:
        tz = self._zone_of(item)
        all_day = bool(item.get("isAllDay"))
        start = graph_time(item.get("start"), tz)
        end = graph_time(item.get("end"), tz)
        if all_day:
            # A day, not hours: the date as written, at the principal's midnight.
            local = self.principal.tz
            start = datetime.combine(start.date(), time(0), tzinfo=local)
            end = datetime.combine(end.date(), time(0), tzinfo=local)
        organizer = _address(item.get("organizer"))
        attendees: list[str] = []
        attendance: dict[str, PartStat] = {}
        for person in item.get("attendees") or []:
            addr = _address(person)
            if not addr:
                continue
            attendees.append(addr)
            status = person.get("status") if isinstance(person, dict) else None
            said = str((status or {}).get("response") or "").lower()
            attendance[addr] = _RESPONSES.get(said, "needs-action")
        own = str((item.get("responseStatus") or {}).get("response") or "").lower()
        if self.address and self.address != organizer and own and own != "organizer":
            attendance[self.address] = _RESPONSES.get(own, "needs-action")
        master_id = str(item.get("seriesMasterId") or "")
        if item.get("recurrence"):
            recurrence = rrule_lines(item.get("recurrence"), tz)
        elif master_id:
            recurrence = self._series_rules(master_id, rules if rules is not None else {})
        else:
            recurrence = []
        original = item.get("originalStart")
        recurrence_id = None
        if master_id and isinstance(original, str) and original:
            recurrence_id = _parse_instant(original).astimezone(tz)
        location = item.get("location")
        body = item.get("body")
        return Event(
            id=str(item.get("id") or ""),
            title=str(item.get("subject") or ""),
            start=start,
            end=end,
            timezone=str(tz.key),
            all_day=all_day,
            location=str(location.get("displayName") or "") if isinstance(location, dict) else "",
            description=str(body.get("content") or "").strip() if isinstance(body, dict) else "",
            attendees=attendees,
            organizer=organizer,
            status="cancelled" if item.get("isCancelled") else "confirmed",
            attendance=attendance,
            recurrence=recurrence,
            recurring_id=master_id,
            uid=str(item.get("iCalUId") or ""),
            recurrence_id=recurrence_id,
        )

    # ------------------------------------------------------------- reading

    def list_events(self, start: datetime, end: datetime) -> list[Event]:
        """Events overlapping [start, end), recurring series expanded by Graph, sorted by start."""
        require_aware(start, end)
        params: dict[str, str | int] = {
            "startDateTime": _utc_text(start),
            "endDateTime": _utc_text(end),
            "$top": PAGE,
        }
        rules: dict[str, list[str]] = {}
        items = self.client.items(self._path("calendarView"), params, headers={"Prefer": PREFER})
        events = [self._event(item, rules) for item in items]
        # calendarView also answers events touching the edges; the Protocol wants overlap.
        events = [
            e for e in events if e.start < end and (e.end > start or e.start == e.end >= start)
        ]
        events.sort(key=lambda e: (e.start, e.end, e.id))
        return events

    def get_event(self, event_id: str) -> Event:
        """One event, series or occurrence by its Graph id; raises NotFound."""
        return self._event(self._fetch(event_id), {})

    def free_busy(
        self, start: datetime, end: datetime, attendees: list[str] | None = None
    ) -> dict[str, list[Busy]]:
        """Busy intervals from ``getSchedule``: 'me' and each attendee Exchange knows.

        Attendees Exchange cannot see (outside the organisation, unknown) are left out
        of the answer rather than reported free.
        """
        require_aware(start, end)
        wanted = [a for a in (attendees or []) if a.strip()]
        schedules = [self.address, *[_bare(a) for a in wanted]]
        body = {
            "schedules": list(dict.fromkeys(schedules)),
            "startTime": {"dateTime": _utc_naive(start), "timeZone": "UTC"},
            "endTime": {"dateTime": _utc_naive(end), "timeZone": "UTC"},
            "availabilityViewInterval": 30,
        }
        resp = self.client.request(
            "POST",
            self._path("calendar/getSchedule"),
            json=body,
            headers={"Prefer": PREFER},
        )
        try:
            answer = resp.json() if resp.content else {}
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise ProviderError(
                "Microsoft Graph sent an unreadable free/busy answer; try again later."
            )
        found: dict[str, list[Busy]] = {}
        for item in answer.get("value") or []:
            if not isinstance(item, dict) or item.get("error"):
                continue
            who = str(item.get("scheduleId") or "").lower()
            busy: list[Busy] = []
            for slot in item.get("scheduleItems") or []:
                if str(slot.get("status") or "").lower() not in _BUSY_STATUSES:
                    continue
                when = graph_time(slot.get("start"), self.principal.tz)
                until = graph_time(slot.get("end"), self.principal.tz)
                if when < end and until > start:
                    busy.append(Busy(start=when, end=until, title=str(slot.get("subject") or "")))
            busy.sort(key=lambda b: b.start)
            found[who] = busy
        out: dict[str, list[Busy]] = {"me": found.get(self.address, [])}
        for who in wanted:
            if _bare(who) in found:
                out[who] = found[_bare(who)]
        return out

    # ------------------------------------------------------------- writing

    def create_event(self, event: NewEvent, idempotency_key: str) -> Event:
        """Create an event (and invite its attendees) once per key."""
        require_span(event.start, event.end, all_day=event.all_day)
        tz = require_zone(event.timezone)
        transaction = transaction_id(idempotency_key)
        existing = self._find_transaction(transaction)
        if existing is not None:
            log.info("Event for this key already exists in Microsoft 365; not creating it again")
            return self._event(existing, {})
        body: dict[str, Any] = {
            "subject": event.title,
            "body": {"contentType": "text", "content": event.description},
            "isAllDay": event.all_day,
            "location": {"displayName": event.location},
            "attendees": [_attendee(a) for a in event.attendees],
            "transactionId": transaction,
            "singleValueExtendedProperties": [{"id": KEY_PROPERTY, "value": transaction}],
        }
        end_tz = ZoneInfo(event.end_timezone) if event.end_timezone else None
        body.update(_times(event.start, event.end, event.all_day, tz, end_tz))
        if event.recurrence:
            body["recurrence"] = graph_recurrence(event.recurrence, event.start, tz)
        created = self.client.post_json(self._path("events"), body)
        if not created.get("id"):
            raise ProviderError(
                "Microsoft 365 accepted the new event but returned no id; look in the calendar "
                "before trying again."
            )
        # Read it back with our Prefer header, so its times are in UTC like every listing.
        return self.get_event(str(created["id"]))

    def _find_transaction(self, transaction: str) -> dict[str, Any] | None:
        clause = (
            f"singleValueExtendedProperties/Any(ep: ep/id eq {odata_quote(KEY_PROPERTY)} "
            f"and ep/value eq {odata_quote(transaction)})"
        )
        params: dict[str, str | int] = {"$filter": clause, "$top": 5}
        for item in self.client.items(
            self._path("events"), params, limit=5, headers={"Prefer": PREFER}
        ):
            return item
        return None

    def move_event(
        self, event_id: str, start: datetime, end: datetime, idempotency_key: str
    ) -> Event:
        """Give an event (a series or one occurrence) new start and end, in its own zone."""
        require_span(start, end)
        current = self.get_event(event_id)
        require_movable(current.title, current.status)
        if current.start == start and current.end == end:
            return current  # already there: a retry changes nothing
        tz = require_zone(current.timezone)
        self.client.request(
            "PATCH",
            self._event_path(event_id),
            json=_times(start, end, current.all_day, tz),
            headers={"Prefer": PREFER},
        )
        return self.get_event(event_id)

    def cancel_event(self, event_id: str, idempotency_key: str) -> Event:
        """Cancel a meeting the principal organises (attendees are told), else delete it.

        Graph keeps no cancelled copy, so the event is returned marked cancelled.
        """
        done = self._done(idempotency_key)
        if done is not None:
            return done
        current = self._fetch(event_id)
        event = self._event(current, {})
        if event.status != "cancelled":
            organises = bool(current.get("isOrganizer")) and bool(event.attendees)
            try:
                if organises:
                    self.client.post_json(
                        self._event_path(event_id, "cancel"), {"comment": CANCEL_COMMENT}
                    )
                else:
                    self.client.request("DELETE", self._event_path(event_id))
            except GraphNotFound:
                pass  # gone meanwhile: what was wanted
        cancelled = event.model_copy(update={"status": "cancelled"})
        self._remember(idempotency_key, cancelled)
        return cancelled

    def respond(self, event_id: str, answer: PartStat, idempotency_key: str) -> Event:
        """Accept, decline or tentatively accept an invitation; Exchange tells the organizer."""
        action = _ACTIONS.get(answer)
        if action is None:
            raise ProviderError(
                "Microsoft 365 cannot take an answer back to 'needs-action'; answer accepted, "
                "declined or tentative."
            )
        current = self.get_event(event_id)
        if current.organizer and current.organizer == self.address:
            raise own_event(current.title, "meeting")
        if current.attendance.get(self.address) == answer:
            return current  # already answered so: a retry sends nothing
        self.client.post_json(
            self._event_path(event_id, action), {"comment": "", "sendResponse": True}
        )
        if answer == "declined":
            # Exchange removes a declined meeting from the calendar; report the answer given.
            try:
                return self.get_event(event_id)
            except NotFound:
                attendance = {**current.attendance, self.address: answer}
                return current.model_copy(update={"attendance": attendance})
        return self.get_event(event_id)

    # ---------------------------------------------------- cancels done

    def _read_done(self) -> dict[str, Any]:
        if self._done_path is None or not self._done_path.exists():
            return dict(self._memory)
        try:
            data = json.loads(self._done_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("Ignoring the unreadable file %s (%s)", self._done_path, exc)
            return {}
        return data if isinstance(data, dict) else {}

    def _done(self, key: str) -> Event | None:
        if not key:
            return None
        with self._lock:
            stored = self._read_done().get(transaction_id(key))
        return Event.model_validate(stored) if isinstance(stored, dict) else None

    def _remember(self, key: str, event: Event) -> None:
        if not key:
            return
        with self._lock:
            data = self._read_done()
            data[transaction_id(key)] = event.model_dump(mode="json")
            if self._done_path is None:
                self._memory = data
                return
            tmp = self._done_path.with_name(f".{self._done_path.name}.tmp")
            tmp.write_text(json.dumps(data), encoding="utf-8")
            tmp.replace(self._done_path)


# ------------------------------------------------------------------ times


def transaction_id(idempotency_key: str) -> str:
    """The Graph ``transactionId`` for an action's key (stable, and reveals nothing of it)."""
    return "secretary-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]


def graph_time(value: Any, fallback: ZoneInfo) -> datetime:
    """An aware datetime from Graph's ``{"dateTime", "timeZone"}`` (7 fraction digits)."""
    if not isinstance(value, dict) or not value.get("dateTime"):
        raise ProviderError("Microsoft Graph sent an event without a time; try again later.")
    text = _FRACTION.sub(r"\1", str(value["dateTime"]).rstrip("Z"))
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ProviderError(
            f"Microsoft Graph sent an unreadable time {value['dateTime']!r}; try again later."
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=iana_zone(str(value.get("timeZone") or "UTC"), fallback))
    return when.astimezone(fallback)


def _parse_instant(text: str) -> datetime:
    when = datetime.fromisoformat(_FRACTION.sub(r"\1", text.replace("Z", "+00:00")))
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _utc_text(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc_naive(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _times(
    start: datetime, end: datetime, all_day: bool, tz: ZoneInfo, end_tz: ZoneInfo | None = None
) -> dict[str, Any]:
    """Graph's start and end: local wall time in the event's IANA zone (dates when all-day)."""
    end_tz = end_tz or tz
    if all_day:
        first, stop = all_day_dates(start, end, tz)
        local_start = datetime.combine(first, time(0))
        local_end = datetime.combine(stop, time(0))
    else:
        local_start = start.astimezone(tz).replace(tzinfo=None)
        local_end = end.astimezone(end_tz).replace(tzinfo=None)
    return {
        "start": {"dateTime": local_start.isoformat(), "timeZone": tz.key},
        "end": {"dateTime": local_end.isoformat(), "timeZone": end_tz.key},
    }


# --------------------------------------------------------------- people


def _bare(value: str) -> str:
    return (parseaddr(value)[1] or value).strip().lower()


def _attendee(value: str) -> dict[str, Any]:
    name, addr = parseaddr(value)
    if "@" not in addr:
        raise ProviderError(f"'{value}' is not an e-mail address; invite people by address.")
    person: dict[str, Any] = {"address": addr.strip()}
    if name.strip():
        person["name"] = name.strip()
    return {"emailAddress": person, "type": "required"}


def _address(value: Any) -> str:
    email = value.get("emailAddress") if isinstance(value, dict) else None
    if not isinstance(email, dict):
        return ""
    return str(email.get("address") or "").strip().lower()
