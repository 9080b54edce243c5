"""Calendars on any CalDAV server (Nextcloud, iCloud, Fastmail, Radicale...) via the caldav library.

Account settings (the principal's ``accounts.calendar`` table, ``provider = "caldav"``):

* ``url`` (required): the server's or the principal's URL, e.g.
  ``https://cloud.example.com/remote.php/dav``; the principal and its calendars
  are discovered from it.
* ``username`` (required) and ``password``, better ``password_env`` (an
  environment variable name) or ``password_file`` (a file holding it); app
  passwords work the same way.
* ``calendar``: the calendar to use, by display name (``"Work"``) or by URL
  path (``"/ada/work/"``). Default: the first calendar that holds events;
  when the principal has no calendar at all, one named "Secretary" is created.
* ``address``: the principal's address on this calendar, used to find their
  ATTENDEE line when answering invitations (default: the principal's e-mail).
* ``ca_file``: a CA bundle (PEM) to trust, for servers with a private CA;
  ``verify = false`` turns certificate checks off (only for a test server).
* ``timeout``: seconds to wait for the server (default 30).

Event ids are iCalendar UIDs. One occurrence of a recurring series has the id
``<uid>/<recurrence-id>`` (``20261015T080000Z`` for a timed series, in UTC;
``20261015`` for an all-day one) and ``recurring_id`` set to the series' UID;
``get_event(<uid>)`` returns the series itself with its RRULE/EXDATE lines.

Listing asks the server for the events in the range with a time-range REPORT,
then expands recurring ones (RRULE, RDATE, EXDATE and overridden RECURRENCE-ID
instances) on this side with recurring-ical-events. The REPORT does not ask
for the server-side ``expand`` of RFC 4791: expanded answers come in UTC
without the series' RRULE and time zone (which ``Event.recurrence`` and
``Event.timezone`` report), Radicale ignores the request, and the local
expansion is correct on every server anyway. Datetimes come back in the
principal's zone; all-day events (DATE values) start and end at the
principal's local midnight; floating times are read in the principal's zone.

Free/busy: the principal's busy times come from their own events. Other
people's are asked of the server's scheduling outbox (RFC 6638) only when the
server announces ``calendar-auto-schedule``; Radicale does not support
scheduling, so there (and wherever the server does not know a person) other
attendees are left out of the answer rather than guessed.

Writes:

* ``create_event`` derives the UID and the resource name from the idempotency
  key and looks for that resource first; the PUT carries ``If-None-Match: *``,
  so a retried or concurrent create returns the event that exists.
* ``move_event`` sets DTSTART and DTEND (or DURATION, when the event is written
  with one) in the event's own time zone. For one occurrence of a series it
  writes an override instance (``RECURRENCE-ID``) and leaves the series alone;
  moving a whole series is refused, because its exceptions are keyed by the
  old times.
* ``cancel_event`` keeps the event with ``STATUS:CANCELLED`` (an occurrence:
  a cancelled override instance), so the change can be seen and undone.
* ``respond`` sets the PARTSTAT of the principal's ATTENDEE line (of the whole
  series, or of one occurrence through an override).

Changes are absolute (these times, this status, this answer), and one that is
already in place writes nothing, so a retried move, cancel or answer lands
once. Updates carry the ETag in ``If-Match``: when someone else changed the
event in between, nothing is overwritten and a ProviderError says so.

Invitations: attendee lines are written with ``SCHEDULE-AGENT=CLIENT``, so a
server with scheduling (RFC 6638, e.g. Nextcloud) does not invite on its own
and the tools mail the iTIP invitation (``sends_invitations`` is False). An
answer (``respond``) is stored in the principal's copy of the event; a
scheduling server may pass it on to the organizer as well. Radicale does not
schedule.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import math
import re
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import quote, urlsplit, urlunsplit
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import caldav
import icalendar
import recurring_ical_events
import requests
from caldav.davclient import DAVResponse
from caldav.elements import cdav, dav
from caldav.lib import error as dav_error
from caldav.lib.url import URL
from icalendar.timezone import tzid_from_dt
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON
from lxml import etree

from tools.providers.accounts import Account, account_secret, as_table
from tools.providers.base import Busy, Event, NewEvent, NotFound, PartStat, ProviderError
from tools.providers.local.calendar import all_day_dates

if TYPE_CHECKING:
    from tools.foundation.principals import Principal

log = logging.getLogger(__name__)

PRODID = "-//Secretary//CalDAV calendar//EN"
DEFAULT_NAME = "Secretary"
DEFAULT_TIMEOUT = 30.0
RECURRENCE = ("RRULE", "RDATE", "EXDATE", "EXRULE")
_MARGIN = timedelta(days=1)
"""Asked of the server beyond the range: floating and all-day times are local, not UTC."""
_RID_RE = re.compile(r"(?P<uid>.+)/(?P<rid>\d{8}(?:T\d{6}Z)?)")
_PARTSTAT: dict[str, PartStat] = {
    "NEEDS-ACTION": "needs-action",
    "ACCEPTED": "accepted",
    "DECLINED": "declined",
    "TENTATIVE": "tentative",
}
Status = Literal["confirmed", "tentative", "cancelled"]
_STATUS: dict[str, Status] = {"CANCELLED": "cancelled", "TENTATIVE": "tentative"}
_BUSY_TYPES = {"BUSY", "BUSY-UNAVAILABLE", "BUSY-TENTATIVE"}
_NS = {"D": "DAV:", "C": "urn:ietf:params:xml:ns:caldav"}
_OK = (200, 201, 204)


# ------------------------------------------------------------------ settings


@dataclass(frozen=True)
class CalDAVSettings:
    """An account's settings, checked (the password never appears in a repr)."""

    url: str
    username: str
    password: str = field(repr=False)
    calendar: str = ""
    address: str = ""
    verify: bool | str = True
    timeout: float = DEFAULT_TIMEOUT

    @property
    def label(self) -> str:
        """``host:port`` of the server, for messages."""
        parts = urlsplit(self.url)
        host = parts.hostname or "?"
        if ":" in host:
            host = f"[{host}]"
        return f"{host}:{parts.port or (443 if parts.scheme == 'https' else 80)}"

    @classmethod
    def from_account(cls, account: Mapping[str, Any], principal: Principal) -> CalDAVSettings:
        """Read and check the account table; secrets via :func:`account_secret`.

        Raises:
            ProviderError: naming the first setting that is missing or wrong.
        """
        url = _text(account, "url")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ProviderError(
                "The calendar account's url must be the CalDAV server's address, like "
                "https://cloud.example.com/remote.php/dav; set it in the principal's "
                "accounts.calendar settings."
            )
        # Credentials written into the URL would end up in messages; they belong in
        # username and password, so the URL keeps only host, port and path.
        netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        if parts.port:
            netloc += f":{parts.port}"
        url = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        username = _text(account, "username")
        if not username:
            raise ProviderError(
                "The calendar account has no username; add the CalDAV login name to the "
                "principal's accounts.calendar settings."
            )
        password = account_secret(account, "password")
        verify: bool | str = True
        ca_file = _text(account, "ca_file")
        if ca_file:
            path = Path(ca_file).expanduser()
            if not path.is_file():
                raise ProviderError(
                    f"The calendar account's ca_file {ca_file} does not exist; "
                    "point it at a PEM CA bundle."
                )
            verify = str(path)
        elif account.get("verify") is False:
            verify = False
        raw_timeout = account.get("timeout", DEFAULT_TIMEOUT)
        try:
            timeout = float(raw_timeout)
            if timeout <= 0 or isinstance(raw_timeout, bool):
                raise ValueError
        except (TypeError, ValueError):
            raise ProviderError(
                f"The calendar account's timeout {raw_timeout!r} must be a positive number "
                "of seconds."
            ) from None
        return cls(
            url=url,
            username=username,
            password=password,
            calendar=_text(account, "calendar"),
            address=_text(account, "address") or principal.email,
            verify=verify,
            timeout=timeout,
        )


def _text(account: Mapping[str, Any], key: str) -> str:
    value = account.get(key, "")
    return value.strip() if isinstance(value, str) else ""


def open_calendar(
    account: Account | Mapping[str, Any], principal: Principal, root: Path
) -> CalDAVCalendar:
    """The CalDAV calendar provider for a principal's account settings (connects on first use).

    Args:
        account: The principal's ``accounts.calendar`` table (keys in the module docstring).
        principal: Whose calendar it is (time zone, address).
        root: The principal's data directory (nothing is kept there: the server is the record).
    """
    return CalDAVCalendar(CalDAVSettings.from_account(as_table(account), principal), principal)


# ------------------------------------------------------------------ provider


@dataclass
class _Resource:
    """One calendar object resource: where it is, its version and its iCalendar data."""

    href: str
    etag: str
    cal: icalendar.Calendar

    @property
    def events(self) -> list[icalendar.Event]:
        return [cast(icalendar.Event, c) for c in self.cal.subcomponents if c.name == "VEVENT"]

    @property
    def master(self) -> icalendar.Event | None:
        return next((c for c in self.events if "RECURRENCE-ID" not in c), None)

    @property
    def recurring(self) -> bool:
        master = self.master
        return (master is not None and any(k in master for k in RECURRENCE)) or any(
            "RECURRENCE-ID" in c for c in self.events
        )


@dataclass
class _Occurrence:
    """An event as listed, and whether it blocks the principal's time."""

    event: Event
    blocks: bool


class CalDAVCalendar:
    """A principal's calendar on a CalDAV server."""

    sends_invitations = False
    """Invitations and answers go out as iTIP mail from the tools, never from the server."""

    def __init__(self, settings: CalDAVSettings, principal: Principal) -> None:
        """Prepare the provider; nothing is sent before the first call.

        Args:
            settings: The checked account settings.
            principal: Whose calendar it is.
        """
        self.settings = settings
        self.principal = principal
        self.tz = ZoneInfo(principal.timezone)
        self._lock = threading.Lock()
        self._dav: caldav.DAVClient | None = None
        self._calendar: caldav.Calendar | None = None
        self._hrefs: dict[str, str] = {}
        """UID -> resource URL, as last seen (other clients name resources freely)."""
        self._can_schedule: bool | None = None

    def close(self) -> None:
        """Release the HTTP connections."""
        if self._dav is not None:
            self._dav.close()
            self._dav = None
            self._calendar = None

    # ------------------------------------------------------------- reading

    def list_events(
        self, start: datetime, end: datetime, include_cancelled: bool = False
    ) -> list[Event]:
        """Events overlapping [start, end), recurring ones expanded, sorted by start.

        Cancelled events (and cancelled occurrences) are left out unless asked for.
        """
        return [
            o.event
            for o in self._occurrences(start, end)
            if include_cancelled or o.event.status != "cancelled"
        ]

    def get_event(self, event_id: str) -> Event:
        """One event, series or occurrence (cancelled ones included); raises NotFound."""
        uid, rid = _split_id(event_id)
        res = self._find(uid)
        if rid is None:
            return self._series_event(res)
        return self._event(self._instance(res, uid, rid, event_id), res)

    def free_busy(
        self, start: datetime, end: datetime, attendees: list[str] | None = None
    ) -> dict[str, list[Busy]]:
        """Busy intervals of the principal ('me') and, where the server tells, of others.

        The principal's come from their events: cancelled ones, transparent ones
        (TRANSP:TRANSPARENT) and invitations they declined do not block time. An
        attendee who is the principal gets the same list. Other attendees are
        asked of the server's scheduling outbox (RFC 6638) when it announces
        ``calendar-auto-schedule``; otherwise (Radicale has no scheduling) or
        when the server does not know them, they are left out of the answer.
        """
        busy = [
            Busy(start=o.event.start, end=o.event.end, title=o.event.title)
            for o in self._occurrences(start, end)
            if o.blocks
        ]
        out: dict[str, list[Busy]] = {"me": busy}
        me = {self.settings.address.lower(), self.principal.email.lower()}
        others: list[str] = []
        for who in attendees or []:
            if who.strip().lower() in me:
                out[who] = list(busy)
            elif who.strip():
                others.append(who)
        if others:
            out.update(self._others_busy(start, end, others))
        return out

    # ------------------------------------------------------------- writing

    def create_event(self, event: NewEvent, idempotency_key: str) -> Event:
        """Create an event once per key; a repeated key returns the event already made."""
        uid, name = self._names_for(idempotency_key)
        href = self._url(name)
        existing = self._fetch(href)
        if existing is not None:
            return self._series_event(existing)
        cal = self._new_calendar(uid, event)
        resp = self._request(
            "PUT",
            href,
            "create the event",
            cal.to_ical().decode(),
            {"Content-Type": "text/calendar; charset=utf-8", "If-None-Match": "*"},
        )
        if resp.status == 412:
            # Another run with the same key got there first: its event is the answer.
            existing = self._fetch(href)
            if existing is not None:
                return self._series_event(existing)
        self._check(resp, "create the event")
        res = _Resource(href, _etag(resp), cal)
        self._hrefs[uid] = href
        return self._series_event(res)

    def move_event(
        self, event_id: str, start: datetime, end: datetime, idempotency_key: str
    ) -> Event:
        """Give an event (or one occurrence of a series) new start and end.

        An all-day event keeps being all-day: it covers the days of the new span
        in the principal's zone. Moving an already moved occurrence again
        updates its override.

        Raises:
            ProviderError: for a whole recurring series, a cancelled event, or an
                end before the start.
        """
        _aware_or_fail(start)
        _aware_or_fail(end)
        uid, rid = _split_id(event_id)
        res = self._find(uid)
        if rid is None and res.recurring:
            first = self._series_event(res)
            raise ProviderError(
                f"'{first.title}' is a recurring series; move one occurrence by its id "
                f"(like {_first_occurrence_id(res, self.tz)}) or cancel the series and "
                "create a new one."
            )
        comp = self._instance(res, uid, rid, event_id) if rid else res.master
        if comp is None:
            raise self._not_found(event_id)
        if _status(comp) == "cancelled":
            raise ProviderError(
                f"Event '{comp.get('SUMMARY', '')}' is cancelled; create a new event instead "
                "of moving it."
            )
        before = self._event(comp, res)
        if before.all_day:
            first_day, stop = all_day_dates(start, end, self.tz)
            new_start: date | datetime = first_day
            new_end: date | datetime = stop
            unchanged = (before.start.date(), before.end.date()) == (first_day, stop)
        else:
            if end <= start:
                raise ProviderError("An event must end after it starts.")
            new_start, new_end = start, end
            unchanged = (before.start, before.end) == (start, end)
        if unchanged:
            return before
        comp = self._own_instance(res, comp, rid)
        _set_times(comp, new_start, new_end, self.tz)
        _bump(comp)
        self._update(res, "move the event")
        return self._event(comp, res)

    def cancel_event(self, event_id: str, idempotency_key: str) -> Event:
        """Cancel an event, a whole series, or one occurrence (kept with STATUS:CANCELLED)."""
        uid, rid = _split_id(event_id)
        res = self._find(uid)
        if rid is None:
            targets = res.events
        else:
            targets = [self._instance(res, uid, rid, event_id)]
        if all(_status(c) == "cancelled" for c in targets):
            return self._event(targets[0], res) if rid else self._series_event(res)
        if rid is not None:
            targets = [self._own_instance(res, targets[0], rid)]
        for comp in targets:
            if _status(comp) != "cancelled":
                comp.pop("STATUS", None)
                comp.add("STATUS", "CANCELLED")
                _bump(comp)
        self._update(res, "cancel the event")
        return self._event(targets[0], res) if rid else self._series_event(res)

    def respond(self, event_id: str, answer: PartStat, idempotency_key: str) -> Event:
        """Answer an invitation: set the principal's PARTSTAT on the event's ATTENDEE line.

        For a series id the answer applies to every occurrence; for an occurrence
        id only to that one (through an override instance).

        Raises:
            ProviderError: when the principal is not an attendee of the event.
        """
        value = str(answer).strip().upper()
        if value not in _PARTSTAT:
            raise ProviderError(
                f"'{answer}' is not an answer to an invitation; use accepted, declined, "
                "tentative or needs-action."
            )
        uid, rid = _split_id(event_id)
        res = self._find(uid)
        if rid is None:
            targets = res.events
        else:
            targets = [self._instance(res, uid, rid, event_id)]
        mine = [(c, a) for c in targets for a in self._my_lines(c)]
        if not mine:
            title = str(targets[0].get("SUMMARY", "")) if targets else uid
            raise ProviderError(
                f"{self.settings.address} is not an attendee of '{title}', so there is no "
                "invitation to answer; only events others invited the principal to can be "
                "answered."
            )
        if any(str(a.params.get("PARTSTAT", "NEEDS-ACTION")).upper() != value for _, a in mine):
            if rid is not None:
                comp = self._own_instance(res, targets[0], rid)
                mine = [(comp, a) for a in self._my_lines(comp)]
            for comp, line in mine:
                line.params["PARTSTAT"] = value
                line.params.pop("RSVP", None)
                _touch(comp)
            self._update(res, "answer the invitation")
        return self._event(mine[0][0], res) if rid else self._series_event(res)

    # ------------------------------------------------------------- server

    def _client(self) -> caldav.DAVClient:
        if self._dav is None:
            self._dav = caldav.DAVClient(
                url=self.settings.url,
                username=self.settings.username,
                password=self.settings.password,
                # requests takes fractions too; the library's hint says int.
                timeout=math.ceil(self.settings.timeout),
                ssl_verify_cert=self.settings.verify,
            )
        return self._dav

    def _cal(self) -> caldav.Calendar:
        """The calendar in use, found (or created) on first use."""
        with self._lock:
            if self._calendar is None:
                self._calendar = self._discover()
            return self._calendar

    def _url(self, name: str = "") -> str:
        """The calendar's URL, or that of the resource ``name`` in it."""
        url = self._cal().url
        assert url is not None  # a discovered calendar always has one
        return str(url.join(name)) if name else str(url)

    def _discover(self) -> caldav.Calendar:
        client = self._client()
        wanted = self.settings.calendar
        if wanted.startswith(("/", "http://", "https://")):
            cal = caldav.Calendar(client, url=client.url.join(wanted))
            resp = self._request(
                "PROPFIND",
                str(cal.url),
                "open the calendar",
                '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/>'
                "</D:prop></D:propfind>",
                {"Depth": "0", "Content-Type": "application/xml; charset=utf-8"},
            )
            if resp.status != 404:
                self._check(resp, "open the calendar", ok=(207,))
            tree = resp.tree if resp.status != 404 else None
            if tree is None or tree.find(".//{urn:ietf:params:xml:ns:caldav}calendar") is None:
                raise ProviderError(
                    f"There is no calendar at {wanted} on {self.settings.label}; check the "
                    "calendar setting of the principal's accounts.calendar."
                )
            return cal
        with self._talking("find the principal's calendars"):
            principal = client.principal()
            calendars = principal.calendars()
        if wanted:
            for cal in calendars:
                name = self._name_of(cal)
                if wanted.lower() in (name.lower(), str(cal.url).rstrip("/").rsplit("/", 1)[-1]):
                    return cal
            names = ", ".join(f"'{self._name_of(c)}'" for c in calendars) or "none"
            raise ProviderError(
                f"{self.settings.username} has no calendar named '{wanted}' on "
                f"{self.settings.label} (calendars: {names}); fix the calendar setting."
            )
        for cal in calendars:
            with self._talking("read the calendar's settings"):
                try:
                    kinds = cal.get_supported_components()
                except (KeyError, dav_error.DAVError):
                    kinds = []  # the property is optional: such a calendar takes anything
            if not kinds or "VEVENT" in kinds:
                return cal
        with self._talking(f"create the calendar '{DEFAULT_NAME}'"):
            try:
                return principal.make_calendar(
                    name=DEFAULT_NAME,
                    cal_id="secretary",
                    supported_calendar_component_set=["VEVENT"],
                )
            except dav_error.MkcalendarError:
                # Another process may have just made it; use it if it is there now.
                for cal in principal.calendars():
                    if str(cal.url).rstrip("/").endswith("/secretary"):
                        return cal
                raise

    def _name_of(self, cal: caldav.Calendar) -> str:
        with self._talking("read the calendar's name"):
            return str(cal.get_display_name() or "")

    def _request(
        self,
        method: str,
        url: str,
        what: str,
        body: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> DAVResponse:
        with self._talking(what):
            return self._client().request(url, method, body, dict(headers or {}))

    def _check(self, resp: DAVResponse, what: str, ok: tuple[int, ...] = _OK) -> None:
        if resp.status in ok:
            return
        if resp.status == 412:
            raise ProviderError(
                f"The event changed on {self.settings.label} while trying to {what}, so "
                "nothing was overwritten; read it again and retry."
            )
        if resp.status == 404:
            raise ProviderError(
                f"{self.settings.label} has no such calendar or event (404) while trying to "
                f"{what}; check the calendar setting of the principal's accounts.calendar."
            )
        raise ProviderError(
            self._scrub(
                f"The CalDAV server {self.settings.label} refused to {what} "
                f"({resp.status} {resp.reason}); try again later."
            )
        )

    def _talking(self, what: str) -> _Talking:
        return _Talking(self, what)

    def _error(self, exc: BaseException, what: str) -> ProviderError:
        """A sentence for a failure while talking to the server (never with the password)."""
        where = self.settings.label
        user = self.settings.username
        if isinstance(exc, dav_error.AuthorizationError):
            if "forbidden" in str(exc.reason).lower():
                text = (
                    f"The CalDAV server {where} does not let {user} {what}; check the "
                    "calendar setting and the user's rights on the server."
                )
            else:
                text = (
                    f"The CalDAV server {where} refused the login of {user}: the user name "
                    "or password is wrong. Check the username and the password "
                    "(password_env or password_file) of the principal's accounts.calendar."
                )
        elif isinstance(exc, dav_error.NotFoundError):
            text = (
                f"The CalDAV server {where} has nothing at the account's url while trying to "
                f"{what}; check the url of the principal's accounts.calendar."
            )
        elif isinstance(exc, requests.exceptions.SSLError):
            text = (
                f"Cannot make a secure connection to {where} ({_reason(exc)}). If the server "
                "uses a private CA, set ca_file to its certificate (PEM)."
            )
        elif isinstance(exc, requests.exceptions.Timeout):
            text = (
                f"The CalDAV server {where} did not answer within "
                f"{self.settings.timeout:g} seconds while trying to {what}; try again later."
            )
        elif isinstance(exc, requests.exceptions.ConnectionError):
            text = (
                f"Cannot connect to the CalDAV server {where} to {what} ({_reason(exc)}); "
                "check the account's url and that the server is running."
            )
        elif isinstance(exc, dav_error.DAVError):
            text = (
                f"The CalDAV server {where} refused to {what} ({exc.reason}); "
                "try again later or check the principal's accounts.calendar."
            )
        else:
            text = (
                f"Talking to the CalDAV server {where} failed while trying to {what} "
                f"({type(exc).__name__}); try again later."
            )
        return ProviderError(self._scrub(text))

    def _scrub(self, text: str) -> str:
        password = self.settings.password
        if password:
            text = text.replace(password, "***").replace(quote(password, safe=""), "***")
        return text

    def _not_found(self, event_id: str) -> NotFound:
        return NotFound(
            f"No event with id '{event_id}' in the calendar on {self.settings.label}. "
            "List the agenda to find the event's id."
        )

    # ------------------------------------------------------------- resources

    def _report(self, query: str, what: str) -> list[_Resource]:
        base = self._url()
        resp = self._request(
            "REPORT",
            base,
            what,
            query,
            {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"},
        )
        self._check(resp, what, ok=(207,))
        with self._talking(what):
            found = resp.expand_simple_props([cdav.CalendarData(), dav.GetEtag()])
        out: list[_Resource] = []
        for href, props in found.items():
            data = props.get(cdav.CalendarData.tag)
            if not data:
                continue
            url = str(URL.objectify(base).join(quote(href)))
            if url.rstrip("/") == base.rstrip("/"):
                continue  # some servers list the collection itself
            try:
                parsed = icalendar.Calendar.from_ical(data)
            except ValueError as exc:
                log.warning("Skipping %s: not readable as iCalendar (%s)", href, exc)
                continue
            res = _Resource(url, str(props.get(dav.GetEtag.tag) or ""), parsed)
            for comp in res.events:
                self._hrefs[str(comp.get("UID", ""))] = url
            out.append(res)
        return out

    def _fetch(self, href: str) -> _Resource | None:
        """The resource at ``href``, or None when there is none."""
        resp = self._request("GET", href, "read the event", headers={"Accept": "text/calendar"})
        if resp.status == 404:
            return None
        self._check(resp, "read the event", ok=(200,))
        try:
            parsed = icalendar.Calendar.from_ical(_bytes(resp))
        except ValueError:
            raise ProviderError(
                f"The event at {href} on {self.settings.label} is not valid iCalendar; "
                "fix or remove it with another calendar client."
            ) from None
        return _Resource(href, _etag(resp), parsed)

    def _find(self, uid: str) -> _Resource:
        """The resource holding the event with this UID; raises NotFound."""
        if not uid:
            raise self._not_found(uid)
        for href in dict.fromkeys(
            [h for h in (self._hrefs.get(uid), self._own_href(uid)) if h is not None]
        ):
            res = self._fetch(href)
            if res is not None and any(str(c.get("UID", "")) == uid for c in res.events):
                self._hrefs[uid] = href
                return res
        query = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            "<D:prop><D:getetag/><C:calendar-data/></D:prop>"
            '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
            '<C:prop-filter name="UID"><C:text-match collation="i;octet">'
            f"{escape(uid)}</C:text-match></C:prop-filter>"
            "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
        )
        for res in self._report(query, "look the event up"):
            if any(str(c.get("UID", "")) == uid for c in res.events):
                return res
        raise self._not_found(uid)

    def _update(self, res: _Resource, what: str) -> None:
        headers = {"Content-Type": "text/calendar; charset=utf-8"}
        if res.etag:
            headers["If-Match"] = res.etag
        resp = self._request("PUT", res.href, what, res.cal.to_ical().decode(), headers)
        self._check(resp, what)
        res.etag = _etag(resp)

    def _names_for(self, idempotency_key: str) -> tuple[str, str]:
        """The UID and the resource name for an event created with this key."""
        if idempotency_key:
            seed = f"{self.principal.id}\0{idempotency_key}".encode()
            digest = hashlib.sha256(seed).hexdigest()[:32]
        else:
            digest = uuid.uuid4().hex
        return f"evt-{digest}@secretary.local", f"evt-{digest}.ics"

    def _own_href(self, uid: str) -> str | None:
        m = re.fullmatch(r"(evt-[0-9a-f]{32})@secretary\.local", uid)
        return self._url(f"{m.group(1)}.ics") if m else None

    # ------------------------------------------------------------- events

    def _occurrences(self, start: datetime, end: datetime) -> list[_Occurrence]:
        _aware_or_fail(start)
        _aware_or_fail(end)
        if end <= start:
            return []
        lo, hi = start - _MARGIN, end + _MARGIN
        query = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            "<D:prop><D:getetag/><C:calendar-data/></D:prop>"
            '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
            f'<C:time-range start="{_utc_text(lo)}" end="{_utc_text(hi)}"/>'
            "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
        )
        out: list[_Occurrence] = []
        for res in self._report(query, "list the events"):
            try:
                instances = list(recurring_ical_events.of(res.cal).between(lo, hi))
                events = [(self._event(c, res), c) for c in instances]
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                log.warning("Skipping %s: its events cannot be read (%s)", res.href, exc)
                continue
            for ev, comp in events:
                zero = ev.start == ev.end
                if ev.start < end and (ev.end > start or (zero and ev.start >= start)):
                    out.append(_Occurrence(ev, self._blocks(ev, comp)))
        out.sort(key=lambda o: (o.event.start, o.event.end, o.event.id))
        return out

    def _blocks(self, ev: Event, comp: icalendar.Event) -> bool:
        if ev.status == "cancelled" or str(comp.get("TRANSP", "")).upper() == "TRANSPARENT":
            return False
        me = (self.settings.address.lower(), self.principal.email.lower())
        return not any(ev.attendance.get(who) == "declined" for who in me)

    def _instance(self, res: _Resource, uid: str, rid: str, event_id: str) -> icalendar.Event:
        """The component of one occurrence: its override, or the series' expansion at ``rid``."""
        for comp in res.events:
            if "RECURRENCE-ID" in comp and _rid_text(_dt(comp, "RECURRENCE-ID"), self.tz) == rid:
                return comp
        if not res.recurring:
            raise self._not_found(event_id)
        at = _rid_datetime(rid)
        try:
            found = recurring_ical_events.of(res.cal).between(at - _MARGIN, at + _MARGIN)
        except (ValueError, TypeError, KeyError) as exc:
            raise ProviderError(
                f"The series {uid} on {self.settings.label} cannot be expanded ({exc})."
            ) from None
        for comp in found:
            if "RECURRENCE-ID" in comp and _rid_text(_dt(comp, "RECURRENCE-ID"), self.tz) == rid:
                return cast(icalendar.Event, comp)
        raise self._not_found(event_id)

    def _own_instance(
        self, res: _Resource, comp: icalendar.Event, rid: str | None
    ) -> icalendar.Event:
        """``comp`` as a component of ``res`` (an expanded occurrence becomes an override)."""
        if rid is None or any(comp is c for c in res.events):
            return comp
        override = copy.deepcopy(comp)
        for name in (*RECURRENCE, "SEQUENCE"):
            override.pop(name, None)
        master = res.master
        override.add("SEQUENCE", _sequence(master) if master is not None else 0)
        res.cal.add_component(override)
        return override

    def _my_lines(self, comp: icalendar.Event) -> list[Any]:
        me = {self.settings.address.lower(), self.principal.email.lower()}
        return [a for a in _as_list(comp.get("ATTENDEE")) if _address(a).lower() in me]

    def _series_event(self, res: _Resource) -> Event:
        comp = res.master or (res.events[0] if res.events else None)
        if comp is None:
            raise ProviderError(f"The resource {res.href} on {self.settings.label} holds no event.")
        return self._event(comp, res, series=True)

    def _event(self, comp: icalendar.Event, res: _Resource, series: bool = False) -> Event:
        """``comp`` as an Event, in the principal's zone."""
        uid = str(comp.get("UID", ""))
        if "DTSTART" not in comp:
            raise ValueError(f"event {uid} has no DTSTART")
        raw_start = _dt(comp, "DTSTART")
        all_day = not isinstance(raw_start, datetime)
        zone = _zone_name(raw_start, self.tz) if isinstance(raw_start, datetime) else self.tz.key
        start = _local(raw_start, self.tz)
        end = _local(_end_of(comp), self.tz)
        event_id, recurring_id, recurrence = uid, "", []
        original: datetime | None = None
        master = res.master
        if res.recurring:
            recurrence = _recurrence_lines(master) if master is not None else []
            if not series and "RECURRENCE-ID" in comp:
                rid = _dt(comp, "RECURRENCE-ID")
                event_id = f"{uid}/{_rid_text(rid, self.tz)}"
                recurring_id = uid
                original = _local(rid, self.tz)
        attendance: dict[str, PartStat] = {}
        attendees: list[str] = []
        for line in _as_list(comp.get("ATTENDEE")):
            who = _address(line)
            if not who:
                continue
            attendees.append(who)
            answer = _PARTSTAT.get(str(line.params.get("PARTSTAT", "NEEDS-ACTION")).upper())
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
            organizer=_address(organizer) if organizer is not None else "",
            status=_status(comp),
            attendance=attendance,
            recurrence=recurrence,
            recurring_id=recurring_id,
            uid=uid,
            recurrence_id=original,
            sequence=_sequence(comp),
        )

    def _new_calendar(self, uid: str, event: NewEvent) -> icalendar.Calendar:
        tz = _zone(event.timezone)
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
            if event.end <= event.start:
                raise ProviderError("An event must end after it starts.")
            comp.add("DTSTART", event.start.astimezone(tz).replace(microsecond=0))
            comp.add("DTEND", event.end.astimezone(tz).replace(microsecond=0))
            span = (event.start.astimezone(tz).date(), event.end.astimezone(tz).date())
        comp.add("SUMMARY", event.title)
        if event.location:
            comp.add("LOCATION", event.location)
        if event.description:
            comp.add("DESCRIPTION", event.description)
        if event.attendees:
            organizer = icalendar.vCalAddress(f"mailto:{self.settings.address}")
            organizer.params["CN"] = self.principal.name
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

    # ------------------------------------------------------------- free/busy of others

    def _others_busy(
        self, start: datetime, end: datetime, others: list[str]
    ) -> dict[str, list[Busy]]:
        """Free/busy of other people from the scheduling outbox, when the server has one."""
        try:
            if self._can_schedule is None:
                resp = self._request("OPTIONS", self._url(), "ask what the server offers")
                self._can_schedule = "calendar-auto-schedule" in str(resp.headers.get("DAV", ""))
            if not self._can_schedule:
                return {}
            with self._talking("find the scheduling outbox"):
                outbox = str(self._client().principal().schedule_outbox().url)
            body = _freebusy_request(self.settings.address, others, start, end)
            resp = self._request(
                "POST",
                outbox,
                "ask for free/busy times",
                body,
                {"Content-Type": "text/calendar; charset=utf-8"},
            )
            self._check(resp, "ask for free/busy times", ok=(200,))
            return parse_schedule_response(_bytes(resp), others, self.tz)
        except ProviderError as exc:
            # Others' free/busy is a bonus: the principal's own answer still stands.
            log.warning("Free/busy of other attendees is not available: %s", exc)
            return {}


class _Talking:
    """Turns the library's and the network's exceptions into ProviderError sentences."""

    def __init__(self, owner: CalDAVCalendar, what: str) -> None:
        self.owner = owner
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        if isinstance(
            exc, (dav_error.DAVError, requests.exceptions.RequestException, etree.LxmlError)
        ):
            raise self.owner._error(exc, self.what) from None


# ------------------------------------------------------------------ helpers


def _bytes(resp: DAVResponse) -> bytes:
    raw = resp._raw  # the body as received (``raw`` would re-serialise parsed XML)
    return raw if isinstance(raw, bytes) else str(raw).encode()


def _etag(resp: DAVResponse) -> str:
    return str(resp.headers.get("ETag", "") or "")


def _reason(exc: BaseException) -> str:
    text = str(exc)
    for known, short in (
        ("Connection refused", "connection refused"),
        ("Name or service not known", "unknown host"),
        ("nodename nor servname", "unknown host"),
        ("No route to host", "no route to host"),
        ("CERTIFICATE_VERIFY_FAILED", "certificate not trusted"),
    ):
        if known in text:
            return short
    return type(exc).__name__


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ProviderError(
            f"'{name}' is not an IANA time zone name (e.g. Europe/Berlin)."
        ) from None


def _aware_or_fail(dt: datetime) -> None:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ProviderError("Calendar times must carry a time zone; got a naive datetime.")


def _utc_text(dt: datetime) -> str:
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


def _dt(comp: icalendar.Component, name: str) -> date | datetime:
    """The date or date-time value of property ``name`` (which must be there)."""
    return cast(date | datetime, _get(comp, name).dt)


def _end_of(comp: icalendar.Event) -> date | datetime:
    start = _dt(comp, "DTSTART")
    if "DTEND" in comp:
        return _dt(comp, "DTEND")
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


def _status(comp: icalendar.Event) -> Status:
    return _STATUS.get(str(comp.get("STATUS", "CONFIRMED")).upper(), "confirmed")


def _rid_text(value: date | datetime, tz: ZoneInfo) -> str:
    """The id part of an occurrence: its original start in UTC, or its date."""
    if isinstance(value, datetime):
        return _utc_text(_local(value, tz))
    return value.strftime("%Y%m%d")


def _rid_datetime(rid: str) -> datetime:
    if "T" in rid:
        return datetime.strptime(rid, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return datetime.strptime(rid, "%Y%m%d").replace(tzinfo=UTC)


def _split_id(event_id: str) -> tuple[str, str | None]:
    """``uid`` or ``uid/recurrence-id`` -> (uid, recurrence-id or None)."""
    m = _RID_RE.fullmatch(event_id.strip())
    if m:
        return m.group("uid"), m.group("rid")
    return event_id.strip(), None


def _first_occurrence_id(res: _Resource, tz: ZoneInfo) -> str:
    master = res.master
    if master is None or "DTSTART" not in master:
        return "<uid>/<recurrence-id>"
    return f"{master.get('UID', '')}/{_rid_text(_dt(master, 'DTSTART'), tz)}"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _address(value: Any) -> str:
    text = str(value).strip()
    return text[7:] if text.lower().startswith("mailto:") else text


def _recurrence_lines(master: icalendar.Event) -> list[str]:
    lines: list[str] = []
    for name in RECURRENCE:
        for value in _as_list(master.get(name)):
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


def _set_times(
    comp: icalendar.Event, start: date | datetime, end: date | datetime, tz: ZoneInfo
) -> None:
    """New DTSTART and DTEND (or DURATION), written in the component's own zone."""
    old = _dt(comp, "DTSTART")
    if isinstance(start, datetime):
        start = _like(old, start, tz)
        end = _like(_dt(comp, "DTEND") if "DTEND" in comp else old, cast(datetime, end), tz)
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


def _sequence(comp: icalendar.Event) -> int:
    try:
        return int(_get(comp, "SEQUENCE") or 0)
    except (TypeError, ValueError):
        return 0


def _touch(comp: icalendar.Event) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    for name in ("DTSTAMP", "LAST-MODIFIED"):
        comp.pop(name, None)
        comp.add(name, now)


def _bump(comp: icalendar.Event) -> None:
    """Record an organizer's change: a higher SEQUENCE tells attendees' clients it is newer."""
    sequence = _sequence(comp) + 1
    comp.pop("SEQUENCE", None)
    comp.add("SEQUENCE", sequence)
    _touch(comp)


def _freebusy_request(organizer: str, attendees: list[str], start: datetime, end: datetime) -> str:
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
        who = _address((href.text if href is not None else recipient.text) or "").lower()
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
            for prop in _as_list(fb.get("FREEBUSY")):
                kind = str(prop.params.get("FBTYPE", "BUSY")).upper()
                if kind not in _BUSY_TYPES:
                    continue
                for period in _as_list(prop.dts if hasattr(prop, "dts") else prop):
                    value = getattr(period, "dt", period)
                    if not isinstance(value, tuple):
                        continue
                    first, second = value
                    begin = _local(first, tz)
                    finish = begin + second if isinstance(second, timedelta) else _local(second, tz)
                    busy.append(Busy(start=begin, end=finish))
        out[wanted[who]] = sorted(busy, key=lambda b: (b.start, b.end))
    return out
