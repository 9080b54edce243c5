"""The CalDAV calendar provider: reading, creating, moving, cancelling and answering events.

:class:`CalDAVCalendar` is the :class:`~tools.providers.base.CalendarProvider`
on a CalDAV account. It asks :class:`~tools.providers.caldav.client.CalDAVClient`
(its base) for the calendar's resources, reads and writes them with
:mod:`tools.providers.caldav.mapping`, and checks every change against the
shared :mod:`tools.providers.calendar_rules`. The behaviour is described in
:mod:`tools.providers.caldav`.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from tools.providers.accounts import Account, as_table
from tools.providers.base import Busy, Event, NewEvent, PartStat, ProviderError
from tools.providers.caldav.client import CalDAVClient, CalDAVSettings, body_of, etag_of
from tools.providers.caldav.mapping import (
    MARGIN,
    PARTSTAT,
    RECURRENCE,
    Resource,
    address,
    as_list,
    bump,
    date_value,
    first_occurrence_id,
    freebusy_request,
    new_calendar,
    parse_schedule_response,
    rid_datetime,
    rid_text,
    sequence_of,
    set_times,
    split_id,
    status_of,
    to_event,
    touch,
    utc_text,
)
from tools.providers.calendar_rules import (
    all_day_dates,
    not_invited,
    require_aware,
    require_movable,
    require_span,
)

if TYPE_CHECKING:
    from tools.foundation.principals import Principal

log = logging.getLogger(__name__)


def open_calendar(
    account: Account | Mapping[str, Any], principal: Principal, root: Path
) -> CalDAVCalendar:
    """The CalDAV calendar provider for a principal's account settings (connects on first use).

    Args:
        account: The principal's ``accounts.calendar`` table (keys: :mod:`tools.providers.caldav`).
        principal: Whose calendar it is (time zone, address).
        root: The principal's data directory (nothing is kept there: the server is the record).
    """
    return CalDAVCalendar(CalDAVSettings.from_account(as_table(account), principal), principal)


@dataclass
class _Occurrence:
    """An event as listed, and whether it blocks the principal's time."""

    event: Event
    blocks: bool


class CalDAVCalendar(CalDAVClient):
    """A principal's calendar on a CalDAV server."""

    sends_invitations = False
    """Invitations and answers go out as iTIP mail from the tools, never from the server."""

    def __init__(self, settings: CalDAVSettings, principal: Principal) -> None:
        """Prepare the provider; nothing is sent before the first call.

        Args:
            settings: The checked account settings.
            principal: Whose calendar it is.
        """
        super().__init__(settings)
        self.principal = principal
        self.tz = ZoneInfo(principal.timezone)
        self._can_schedule: bool | None = None

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
        uid, rid = split_id(event_id)
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
        cal = new_calendar(uid, event, self.settings.address, self.principal.name)
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
        res = Resource(href, etag_of(resp), cal)
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
        require_aware(start)
        require_aware(end)
        uid, rid = split_id(event_id)
        res = self._find(uid)
        if rid is None and res.recurring:
            first = self._series_event(res)
            raise ProviderError(
                f"'{first.title}' is a recurring series; move one occurrence by its id "
                f"(like {first_occurrence_id(res, self.tz)}) or cancel the series and "
                "create a new one."
            )
        comp = self._instance(res, uid, rid, event_id) if rid else res.master
        if comp is None:
            raise self._not_found(event_id)
        require_movable(str(comp.get("SUMMARY", "")), status_of(comp))
        before = self._event(comp, res)
        if before.all_day:
            first_day, stop = all_day_dates(start, end, self.tz)
            new_start: date | datetime = first_day
            new_end: date | datetime = stop
            unchanged = (before.start.date(), before.end.date()) == (first_day, stop)
        else:
            require_span(start, end)
            new_start, new_end = start, end
            unchanged = (before.start, before.end) == (start, end)
        if unchanged:
            return before
        comp = self._own_instance(res, comp, rid)
        set_times(comp, new_start, new_end, self.tz)
        bump(comp)
        self._update(res, "move the event")
        return self._event(comp, res)

    def cancel_event(self, event_id: str, idempotency_key: str) -> Event:
        """Cancel an event, a whole series, or one occurrence (kept with STATUS:CANCELLED)."""
        uid, rid = split_id(event_id)
        res = self._find(uid)
        if rid is None:
            targets = res.events
        else:
            targets = [self._instance(res, uid, rid, event_id)]
        if all(status_of(c) == "cancelled" for c in targets):
            return self._event(targets[0], res) if rid else self._series_event(res)
        if rid is not None:
            targets = [self._own_instance(res, targets[0], rid)]
        for comp in targets:
            if status_of(comp) != "cancelled":
                comp.pop("STATUS", None)
                comp.add("STATUS", "CANCELLED")
                bump(comp)
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
        if value not in PARTSTAT:
            raise ProviderError(
                f"'{answer}' is not an answer to an invitation; use accepted, declined, "
                "tentative or needs-action."
            )
        uid, rid = split_id(event_id)
        res = self._find(uid)
        if rid is None:
            targets = res.events
        else:
            targets = [self._instance(res, uid, rid, event_id)]
        mine = [(c, a) for c in targets for a in self._my_lines(c)]
        if not mine:
            title = str(targets[0].get("SUMMARY", "")) if targets else uid
            raise not_invited(title, self.settings.address)
        if any(str(a.params.get("PARTSTAT", "NEEDS-ACTION")).upper() != value for _, a in mine):
            if rid is not None:
                comp = self._own_instance(res, targets[0], rid)
                mine = [(comp, a) for a in self._my_lines(comp)]
            for comp, line in mine:
                line.params["PARTSTAT"] = value
                line.params.pop("RSVP", None)
                touch(comp)
            self._update(res, "answer the invitation")
        return self._event(mine[0][0], res) if rid else self._series_event(res)

    # ------------------------------------------------------------- resources

    def _find(self, uid: str) -> Resource:
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
        require_aware(start)
        require_aware(end)
        if end <= start:
            return []
        lo, hi = start - MARGIN, end + MARGIN
        query = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            "<D:prop><D:getetag/><C:calendar-data/></D:prop>"
            '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
            f'<C:time-range start="{utc_text(lo)}" end="{utc_text(hi)}"/>'
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

    def _instance(self, res: Resource, uid: str, rid: str, event_id: str) -> icalendar.Event:
        """The component of one occurrence: its override, or the series' expansion at ``rid``."""
        for comp in res.events:
            if (
                "RECURRENCE-ID" in comp
                and rid_text(date_value(comp, "RECURRENCE-ID"), self.tz) == rid
            ):
                return comp
        if not res.recurring:
            raise self._not_found(event_id)
        at = rid_datetime(rid)
        try:
            found = recurring_ical_events.of(res.cal).between(at - MARGIN, at + MARGIN)
        except (ValueError, TypeError, KeyError) as exc:
            raise ProviderError(
                f"The series {uid} on {self.settings.label} cannot be expanded ({exc})."
            ) from None
        for comp in found:
            if (
                "RECURRENCE-ID" in comp
                and rid_text(date_value(comp, "RECURRENCE-ID"), self.tz) == rid
            ):
                return cast(icalendar.Event, comp)
        raise self._not_found(event_id)

    def _own_instance(
        self, res: Resource, comp: icalendar.Event, rid: str | None
    ) -> icalendar.Event:
        """``comp`` as a component of ``res`` (an expanded occurrence becomes an override)."""
        if rid is None or any(comp is c for c in res.events):
            return comp
        override = copy.deepcopy(comp)
        for name in (*RECURRENCE, "SEQUENCE"):
            override.pop(name, None)
        master = res.master
        override.add("SEQUENCE", sequence_of(master) if master is not None else 0)
        res.cal.add_component(override)
        return override

    def _my_lines(self, comp: icalendar.Event) -> list[Any]:
        me = {self.settings.address.lower(), self.principal.email.lower()}
        return [a for a in as_list(comp.get("ATTENDEE")) if address(a).lower() in me]

    def _series_event(self, res: Resource) -> Event:
        comp = res.master or (res.events[0] if res.events else None)
        if comp is None:
            raise ProviderError(f"The resource {res.href} on {self.settings.label} holds no event.")
        return self._event(comp, res, series=True)

    def _event(self, comp: icalendar.Event, res: Resource, series: bool = False) -> Event:
        """``comp`` as an Event, in the principal's zone."""
        return to_event(comp, res, self.tz, series)

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
            body = freebusy_request(self.settings.address, others, start, end)
            resp = self._request(
                "POST",
                outbox,
                "ask for free/busy times",
                body,
                {"Content-Type": "text/calendar; charset=utf-8"},
            )
            self._check(resp, "ask for free/busy times", ok=(200,))
            return parse_schedule_response(body_of(resp), others, self.tz)
        except ProviderError as exc:
            # Others' free/busy is a bonus: the principal's own answer still stands.
            log.warning("Free/busy of other attendees is not available: %s", exc)
            return {}
