"""Google Calendar: a principal's calendar through the Calendar API (google-api-python-client).

Implements :class:`~tools.providers.base.CalendarProvider`. The client is built
from the static discovery document that ships with the library, so building it
needs no network. Sign-in is shared with Gmail (:mod:`tools.providers.google.auth`);
the stored grant must include the calendar scope.

Decisions worth knowing:

* Listing asks Google to expand recurring series (``singleEvents=true``), so
  occurrences keep their local wall time across DST switches exactly as Google
  shows them. An occurrence carries ``recurring_id`` (Google's
  ``recurringEventId``), its original start as ``recurrence_id`` and the
  series' RRULE lines (read once per series). Times come back in the
  principal's zone; all-day events (``date`` values) start and end at the
  principal's local midnight. The range asked for is one day wider than the
  one wanted, because Google places all-day events in the calendar's own zone,
  which may not be the principal's; events are then filtered here.
* Exactly once: a new event gets an id derived from the idempotency key
  (Google accepts client-chosen ids of base32hex characters). A retry, even
  from a fresh process or after a server error that hid a success, gets HTTP
  409 and returns the event made the first time.
* Invitations, updates, cancellations and answers are mailed by Google itself
  (``sendUpdates=all``; ``sends_invitations`` is True).
* Cancelling deletes the event with ``sendUpdates=all``; Google keeps it with
  status ``cancelled``, which is read back and returned. Moves and answers are
  absolute: one already in place sends nothing again.
* Free/busy uses ``freebusy.query`` for the calendar and each attendee;
  calendars Google will not show (other domains, unknown people) are left out
  of the answer rather than reported free.
* Rate limits (429, 403 rate-limit reasons) and server errors are retried a few
  times with exponential backoff, honouring ``Retry-After``; then they become a
  :class:`~tools.providers.base.ProviderError`. 401/403 ask to connect again.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time as clock
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from email.utils import parseaddr
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from tools.providers.accounts import GoogleAccount
from tools.providers.base import Busy, Event, NewEvent, NotFound, PartStat, ProviderError
from tools.providers.calendar_rules import (
    all_day_dates,
    normalize_recurrence,
    not_invited,
    own_event,
    require_aware,
    require_movable,
    require_span,
    require_zone,
)
from tools.providers.google.auth import connect_command, load_credentials
from tools.providers.google.calls import GoogleCalls, ThreadHttp, reasons

if TYPE_CHECKING:
    from google.oauth2.credentials import Credentials

    from tools.foundation.principals import Principal

log = logging.getLogger(__name__)

T = TypeVar("T")

SCOPES = ["https://www.googleapis.com/auth/calendar"]
"""Read and change events, answer invitations and ask free/busy."""

SERVICE_PATH = "calendar/v3/"
RETRIES = 4
PAGE = 250
_MARGIN = timedelta(days=1)
_ANSWERS: dict[str, PartStat] = {
    "needsAction": "needs-action",
    "accepted": "accepted",
    "declined": "declined",
    "tentative": "tentative",
}
_GOOGLE_ANSWERS = {v: k for k, v in _ANSWERS.items()}
Status = Literal["confirmed", "tentative", "cancelled"]
_STATUSES: dict[str, Status] = {"tentative": "tentative", "cancelled": "cancelled"}


class _Conflict(ProviderError):
    """Google already holds an object with this id (HTTP 409)."""


def event_id_for_key(idempotency_key: str) -> str:
    """The Google event id for an action's key: base32hex ``[a-v0-9]``, stable, reveals nothing."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).digest()
    return base64.b32hexencode(digest).decode("ascii").rstrip("=").lower()


def _known_zone(name: str, fallback: ZoneInfo) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else fallback
    except (ZoneInfoNotFoundError, ValueError):
        return fallback


def _rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _bare(value: str) -> str:
    return (parseaddr(value)[1] or value).strip().lower()


def _times(
    start: datetime, end: datetime, all_day: bool, tz: ZoneInfo, end_tz: ZoneInfo | None = None
) -> dict[str, Any]:
    """Google's start and end: local wall time with the IANA zone (dates when all-day)."""
    end_tz = end_tz or tz
    if all_day:
        first, stop = all_day_dates(start, end, tz)
        return {"start": {"date": first.isoformat()}, "end": {"date": stop.isoformat()}}
    return {
        "start": {
            "dateTime": start.astimezone(tz).replace(tzinfo=None).isoformat(),
            "timeZone": tz.key,
        },
        "end": {
            "dateTime": end.astimezone(end_tz).replace(tzinfo=None).isoformat(),
            "timeZone": end_tz.key,
        },
    }


class GoogleCalendar(GoogleCalls):
    """A :class:`~tools.providers.base.CalendarProvider` on one Google calendar."""

    label = "Google Calendar"
    access = "the calendar"
    rate_reasons = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"})

    sends_invitations = True

    def __init__(
        self,
        principal: Principal,
        *,
        service: Any = None,
        http: Any = None,
        credentials: Credentials | None = None,
        calendar_id: str = "primary",
        address: str = "",
        api_endpoint: str | None = None,
        token_file: Path | None = None,
        sleep: Callable[[float], None] = clock.sleep,
        retries: int = RETRIES,
    ) -> None:
        """Wrap a Calendar API client.

        Args:
            principal: Whose calendar this is (time zone, address, id for hints).
            service: A ready ``calendar`` v3 client (tests); else one is built.
            http: An ``httplib2.Http``-like transport to build the client on (tests).
            credentials: Google credentials to build the client with.
            calendar_id: The calendar to use (``primary`` or a calendar's id).
            address: The principal's address on Google (default: their e-mail).
            api_endpoint: Another API base URL (a stand-in server), with or without
                the ``calendar/v3/`` path.
            token_file: Where renewed tokens are saved again (0600).
            sleep: Waits between retries; tests record instead of sleeping.
            retries: How many times a rate-limited or failed request is retried.
        """
        self.principal = principal
        self.calendar_id = calendar_id or "primary"
        self.address = _bare(address or principal.email)
        self._connect = connect_command("google", principal.id)
        per_thread = None
        if service is None:
            options = None
            if api_endpoint:
                base = api_endpoint.rstrip("/") + "/"
                if not base.endswith(SERVICE_PATH):
                    base += SERVICE_PATH
                options = {"api_endpoint": base}
            common: dict[str, Any] = {
                "static_discovery": True,
                "cache_discovery": False,
                "client_options": options,
            }
            if http is not None:
                service = build("calendar", "v3", http=http, **common)
            elif credentials is not None:
                service = build("calendar", "v3", credentials=credentials, **common)
                per_thread = credentials
            else:
                raise ValueError("GoogleCalendar needs a service, an http transport or credentials")
        self._service = service
        self._events = service.events()
        self._keep_credentials(credentials, token_file)
        # httplib2 is not thread-safe: each thread sends on its own Http (see calls.py).
        self._transport = ThreadHttp(per_thread)
        self._sleep = sleep
        self._retries = max(0, retries)

    def __repr__(self) -> str:
        return f"GoogleCalendar({self.principal.id!r}, {self.calendar_id!r})"

    def close(self) -> None:
        """Close the client's HTTP connections."""
        self._transport.close()
        close = getattr(self._service, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> GoogleCalendar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --------------------------------------------------------- requests

    def _run(self, make: Callable[[], Any], what: str) -> dict[str, Any]:
        """Execute the request ``make()`` builds, retrying rate limits and server errors."""

        def attempt() -> dict[str, Any]:
            result = self._transport.execute(make())
            return result if isinstance(result, dict) else {}

        return self._retrying(attempt, what)

    def _translate(self, exc: HttpError, what: str) -> ProviderError:
        status = exc.resp.status if exc.resp is not None else 0
        if status == 401:
            return ProviderError(
                f"Google Calendar did not accept the stored access while trying to {what}; "
                f"run `{self._connect}` to connect the account again."
            )
        if status == 429 or (status == 403 and reasons(exc) & self.rate_reasons):
            return ProviderError(
                "Google Calendar is limiting how many requests Secretary may make; "
                "wait a minute and try again."
            )
        if status == 403:
            return ProviderError(
                f"Google Calendar did not allow Secretary to {what} (access was not granted, "
                f"was narrowed, or the calendar is not shared for writing); run "
                f"`{self._connect}` to connect the account again or check the calendar's sharing."
            )
        if status in (404, 410):
            return NotFound(
                f"Google Calendar could not find what was needed to {what}; list the agenda "
                "to find the right event id."
            )
        if status == 409:
            return _Conflict(f"Google Calendar already holds that event (while trying to {what}).")
        if status >= 500:
            return ProviderError(
                f"Google Calendar had a server error (HTTP {status}) while trying to {what}; "
                "try again in a few minutes."
            )
        # Google's own message (e.g. "Invalid start time") helps; it never carries a secret.
        reason = " ".join(str(exc.reason or "").split())[:200] or f"HTTP {status}"
        return ProviderError(f"Google Calendar refused to {what}: {reason}.")

    # --------------------------------------------------------- converting

    def _time(self, value: Any, all_day: bool) -> datetime:
        if not isinstance(value, dict):
            raise ProviderError("Google Calendar sent an event without a time; try again later.")
        try:
            if all_day or ("date" in value and "dateTime" not in value):
                day = date.fromisoformat(str(value["date"]))
                return datetime.combine(day, time(0), tzinfo=self.principal.tz)
            when = datetime.fromisoformat(str(value["dateTime"]))
        except (KeyError, ValueError):
            raise ProviderError(
                f"Google Calendar sent an unreadable time {value!r}; try again later."
            ) from None
        if when.tzinfo is None:  # Google always sends an offset; a zone name is the fallback
            when = when.replace(
                tzinfo=_known_zone(str(value.get("timeZone") or ""), ZoneInfo("UTC"))
            )
        return when.astimezone(self.principal.tz)

    def _series_rules(self, series_id: str, cache: dict[str, list[str]]) -> list[str]:
        if series_id not in cache:
            try:
                series = self._fetch(series_id)
            except NotFound:
                series = {}
            cache[series_id] = [str(x) for x in series.get("recurrence") or []]
        return cache[series_id]

    def _event(
        self,
        item: Mapping[str, Any],
        rules: dict[str, list[str]] | None = None,
        calendar_zone: str = "",
    ) -> Event:
        start_value = item.get("start") or {}
        all_day = isinstance(start_value, dict) and "date" in start_value
        zone_name = str((start_value or {}).get("timeZone") or calendar_zone or "")
        tz = _known_zone(zone_name, self.principal.tz)
        start = self._time(start_value, all_day)
        end = self._time(item.get("end") or start_value, all_day)
        if end < start:
            end = start
        organizer = _bare(str((item.get("organizer") or {}).get("email") or ""))
        attendees: list[str] = []
        attendance: dict[str, PartStat] = {}
        for person in item.get("attendees") or []:
            if not isinstance(person, dict) or person.get("resource"):
                continue  # rooms and equipment are not people to invite or ask
            addr = _bare(str(person.get("email") or ""))
            if not addr:
                continue
            attendees.append(addr)
            attendance[addr] = _ANSWERS.get(str(person.get("responseStatus")), "needs-action")
        series_id = str(item.get("recurringEventId") or "")
        if item.get("recurrence"):
            recurrence = [str(x) for x in item.get("recurrence") or []]
        elif series_id:
            recurrence = self._series_rules(series_id, rules if rules is not None else {})
        else:
            recurrence = []
        recurrence_id = None
        original = item.get("originalStartTime")
        if series_id and isinstance(original, dict):
            recurrence_id = self._time(original, "date" in original and "dateTime" not in original)
        return Event(
            id=str(item.get("id") or ""),
            title=str(item.get("summary") or ""),
            start=start,
            end=end,
            timezone=str(tz.key),
            all_day=all_day,
            location=str(item.get("location") or ""),
            description=str(item.get("description") or ""),
            attendees=attendees,
            organizer=organizer,
            status=_STATUSES.get(str(item.get("status") or ""), "confirmed"),
            attendance=attendance,
            recurrence=recurrence,
            recurring_id=series_id,
            uid=str(item.get("iCalUID") or ""),
            recurrence_id=recurrence_id,
            sequence=int(item.get("sequence") or 0),
        )

    def _fetch(self, event_id: str) -> dict[str, Any]:
        if not event_id.strip():
            raise NotFound("No event id was given; list the agenda to find the event's id.")
        try:
            return self._run(
                lambda: self._events.get(calendarId=self.calendar_id, eventId=event_id),
                "read the event",
            )
        except NotFound:
            raise NotFound(
                f"No event with id {event_id!r} in the Google calendar; list the agenda to find "
                "the right id."
            ) from None

    # ------------------------------------------------------------- reading

    def list_events(self, start: datetime, end: datetime) -> list[Event]:
        """Events overlapping [start, end), recurring series expanded by Google, sorted by start."""
        require_aware(start, end)
        rules: dict[str, list[str]] = {}
        events: list[Event] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {
                "calendarId": self.calendar_id,
                "timeMin": _rfc3339(start - _MARGIN),
                "timeMax": _rfc3339(end + _MARGIN),
                "singleEvents": True,
                "orderBy": "startTime",
                "maxResults": PAGE,
            }
            if token:
                params["pageToken"] = token
            resp = self._run(partial(self._events.list, **params), "list the calendar")
            zone = str(resp.get("timeZone") or "")
            for item in resp.get("items") or []:
                if str(item.get("status")) == "cancelled":
                    continue  # a removed occurrence of a series, not an event
                events.append(self._event(item, rules, zone))
            token = resp.get("nextPageToken")
            if not token:
                break
        events = [
            e for e in events if e.start < end and (e.end > start or e.start == e.end >= start)
        ]
        events.sort(key=lambda e: (e.start, e.end, e.id))
        return events

    def get_event(self, event_id: str) -> Event:
        """One event, a series or one occurrence, by its Google id; raises NotFound."""
        return self._event(self._fetch(event_id), {})

    def free_busy(
        self, start: datetime, end: datetime, attendees: list[str] | None = None
    ) -> dict[str, list[Busy]]:
        """Busy intervals from ``freebusy.query``: 'me' and each attendee Google will show."""
        require_aware(start, end)
        wanted = [a for a in (attendees or []) if a.strip()]
        ids = list(dict.fromkeys([self.calendar_id, *[_bare(a) for a in wanted]]))
        body = {
            "timeMin": _rfc3339(start),
            "timeMax": _rfc3339(end),
            "timeZone": "UTC",
            "items": [{"id": i} for i in ids],
        }
        resp = self._run(
            lambda: self._service.freebusy().query(body=body), "ask for free/busy times"
        )
        calendars = resp.get("calendars") or {}
        found: dict[str, list[Busy]] = {}
        for key, info in calendars.items():
            if not isinstance(info, dict) or info.get("errors"):
                continue
            busy: list[Busy] = []
            for slot in info.get("busy") or []:
                when = self._time({"dateTime": slot.get("start")}, False)
                until = self._time({"dateTime": slot.get("end")}, False)
                if when < end and until > start:
                    busy.append(Busy(start=when, end=until))
            busy.sort(key=lambda b: (b.start, b.end))
            found[str(key).lower()] = busy
        mine = found.get(self.calendar_id.lower())
        if mine is None:
            mine = found.get(self.address, [])
        out: dict[str, list[Busy]] = {"me": mine}
        for who in wanted:
            if _bare(who) in found:
                out[who] = found[_bare(who)]
        return out

    # ------------------------------------------------------------- writing

    def create_event(self, event: NewEvent, idempotency_key: str) -> Event:
        """Create an event and invite its attendees, once per key."""
        require_span(event.start, event.end, all_day=event.all_day)
        tz = require_zone(event.timezone)
        # Without a key a retry cannot be recognised; the ledger always supplies one.
        event_id = event_id_for_key(idempotency_key or uuid.uuid4().hex)
        body: dict[str, Any] = {
            "id": event_id,
            "summary": event.title,
            "description": event.description,
            "location": event.location,
            **_times(
                event.start,
                event.end,
                event.all_day,
                tz,
                require_zone(event.end_timezone) if event.end_timezone else None,
            ),
        }
        guests = []
        for person in event.attendees:
            name, addr = parseaddr(person)
            if "@" not in addr:
                raise ProviderError(
                    f"'{person}' is not an e-mail address; invite people by address."
                )
            guest: dict[str, Any] = {"email": addr.strip()}
            if name.strip():
                guest["displayName"] = name.strip()
            guests.append(guest)
        if guests:
            body["attendees"] = guests
        if event.recurrence:
            lines = normalize_recurrence(event.recurrence, tz, event.start)
            body["recurrence"] = lines
            if event.all_day:
                # Google needs the recurring series' zone even for all-day events.
                body["start"]["timeZone"] = body["end"]["timeZone"] = tz.key
        try:
            created = self._run(
                lambda: self._events.insert(
                    calendarId=self.calendar_id, body=body, sendUpdates="all"
                ),
                "create the event",
            )
        except _Conflict:
            # The id is the key's: the first try (this process or an earlier one) landed.
            log.info("Event for this key already exists in Google Calendar; not creating it again")
            created = self._fetch(event_id)
        return self._event(created, {})

    def move_event(
        self, event_id: str, start: datetime, end: datetime, idempotency_key: str
    ) -> Event:
        """Give an event (a series or one occurrence) new start and end, in its own zone."""
        require_span(start, end)
        current = self.get_event(event_id)
        require_movable(current.title, current.status)
        if current.start == start and current.end == end:
            return current  # already there: a retry sends nothing
        body = _times(start, end, current.all_day, require_zone(current.timezone))
        moved = self._run(
            lambda: self._events.patch(
                calendarId=self.calendar_id, eventId=event_id, body=body, sendUpdates="all"
            ),
            "move the event",
        )
        return self._event(moved, {})

    def cancel_event(self, event_id: str, idempotency_key: str) -> Event:
        """Cancel an event (guests are told); Google keeps it with status 'cancelled'."""
        current = self.get_event(event_id)
        if current.status == "cancelled":
            return current  # cancelled before: a retry sends nothing
        try:
            self._run(
                lambda: self._events.delete(
                    calendarId=self.calendar_id, eventId=event_id, sendUpdates="all"
                ),
                "cancel the event",
            )
        except NotFound:
            pass  # gone meanwhile (HTTP 410): what was wanted
        try:
            after = self.get_event(event_id)
        except NotFound:
            after = current
        if after.status != "cancelled":
            after = current.model_copy(update={"status": "cancelled"})
        return after

    def respond(self, event_id: str, answer: PartStat, idempotency_key: str) -> Event:
        """Accept, decline or tentatively accept an invitation; Google tells the organizer."""
        item = self._fetch(event_id)
        current = self._event(item, {})
        if current.organizer == self.address and not any(
            _bare(str(p.get("email") or "")) == self.address for p in item.get("attendees") or []
        ):
            raise own_event(current.title)
        guests = [dict(p) for p in item.get("attendees") or [] if isinstance(p, dict)]
        mine = [
            p for p in guests if p.get("self") or _bare(str(p.get("email") or "")) == self.address
        ]
        if not mine:
            raise not_invited(current.title)
        wanted = _GOOGLE_ANSWERS[answer]
        if all(p.get("responseStatus") == wanted for p in mine):
            return current  # already answered so: a retry sends nothing
        for p in mine:
            p["responseStatus"] = wanted
        # Google replaces the whole guest list on a patch, so every guest is sent back.
        body = {"attendees": guests}
        answered = self._run(
            lambda: self._events.patch(
                calendarId=self.calendar_id, eventId=event_id, body=body, sendUpdates="all"
            ),
            "answer the invitation",
        )
        return self._event(answered, {})


def open_calendar(
    account: GoogleAccount | Mapping[str, Any], principal: Principal, root: Path
) -> GoogleCalendar:
    """Open a principal's Google calendar from their ``accounts.calendar`` settings.

    Settings: ``client_secrets`` (used by the connect command), ``token_file``
    (default ``<root>/tokens/google.json``, shared with Gmail), ``calendar_id``
    (default ``primary``), ``address`` (default the principal's e-mail), and for
    a stand-in server ``api_endpoint`` and ``token_uri``.

    Raises:
        ProviderError: the account is not connected, its grant lacks the calendar
            scope, or its access was revoked.
    """
    account = GoogleAccount.of(account, "calendar")
    token_file = account.token_path(root)
    credentials = load_credentials(
        token_file,
        SCOPES,
        token_uri=account.token_uri or None,
        connect=connect_command("google", principal.id),
    )
    return GoogleCalendar(
        principal,
        credentials=credentials,
        calendar_id=account.calendar_id or "primary",
        address=account.address,
        api_endpoint=account.api_endpoint or None,
        token_file=token_file,
    )
