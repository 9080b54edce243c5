"""A loopback stand-in for the Google Calendar API (and Google's token endpoint), for tests.

It extends the Gmail stand-in (:mod:`google_standin`, which keeps the OAuth
token endpoint, access tokens and injected failures) with the Calendar v3 paths
google-api-python-client builds from its static discovery document:
``/calendar/v3/calendars/{id}/events`` (list, get, insert, patch, delete) and
``/calendar/v3/freeBusy``.

Events live in memory per calendar as Google resources. Listing with
``singleEvents=true`` expands RRULE series with dateutil in the series' own
zone, so occurrences keep their wall time across DST switches as Google's do;
occurrence ids are ``<series id>_<UTC start>``. Deleting keeps an event with
status ``cancelled`` (HTTP 410 on a second delete). Every write's
``sendUpdates`` is recorded in ``notifications``.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from google_standin import GoogleStandIn

PREFIX = "/calendar/v3/"
_ID = re.compile(r"^[a-v0-9]{5,1024}$")


def _parse(value: dict[str, Any]) -> datetime:
    """An aware start or end of a Google time (a date is midnight UTC, enough for the stand-in)."""
    if "dateTime" in value:
        when = datetime.fromisoformat(value["dateTime"])
        if when.tzinfo is None:
            when = when.replace(tzinfo=ZoneInfo(value["timeZone"]))
        return when
    return datetime.combine(date.fromisoformat(value["date"]), datetime.min.time(), tzinfo=UTC)


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


class CalendarStandIn(GoogleStandIn):
    """Calendar v3 API + OAuth token endpoint on 127.0.0.1, on a free port, in a thread."""

    def __init__(self, address: str = "ada@example.com", **kw: Any) -> None:
        super().__init__(address, **kw)
        self.calendars: dict[str, dict[str, dict[str, Any]]] = {address: {}}
        self.zone = "Europe/Berlin"
        self.notifications: list[tuple[str, str, str]] = []
        self.page_size = 250
        self._event_ids = itertools.count(1)

    def __enter__(self) -> CalendarStandIn:
        super().__enter__()
        return self

    def calendar(self, calendar_id: str) -> dict[str, dict[str, Any]]:
        """The events of a calendar ('primary' is the principal's own)."""
        key = self.address if calendar_id == "primary" else calendar_id
        return self.calendars.setdefault(key, {})

    def add_event(self, calendar_id: str = "primary", **resource: Any) -> dict[str, Any]:
        """Put an event in a calendar as Google would hold it (organizer: the calendar's owner)."""
        with self.lock:
            owner = self.address if calendar_id == "primary" else calendar_id
            event = {
                "kind": "calendar#event",
                "id": resource.pop("id", f"ev{next(self._event_ids):04d}"),
                "status": "confirmed",
                "organizer": {"email": owner, "self": owner == self.address},
                "sequence": 0,
                **resource,
            }
            event.setdefault("iCalUID", f"{event['id']}@google.com")
            for person in event.get("attendees", []):
                person.setdefault("responseStatus", "needsAction")
                if person["email"].lower() == self.address:
                    person["self"] = True
            self.calendar(calendar_id)[event["id"]] = event
            return event

    # ------------------------------------------------------------ expansion

    def instances(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """The event itself, or each occurrence of a series (``singleEvents=true``)."""
        rules = event.get("recurrence") or []
        if not rules:
            return [event]
        start = event["start"]
        all_day = "date" in start
        zone = ZoneInfo(start.get("timeZone") or self.zone)
        first = (
            datetime.combine(date.fromisoformat(start["date"]), datetime.min.time())
            if all_day
            else _parse(start).astimezone(zone).replace(tzinfo=None)
        )
        length = _parse(event["end"]) - _parse(start)
        # Wall-clock recurrence: naive local starts, given the zone afterwards.
        rule = rrulestr("\n".join(rules), dtstart=first, forceset=True)
        out = []
        for local in list(rule)[:500]:
            begin = local.replace(tzinfo=zone)
            occurrence = copy.deepcopy(event)
            del occurrence["recurrence"]
            occurrence["recurringEventId"] = event["id"]
            if all_day:
                occurrence["id"] = f"{event['id']}_{local:%Y%m%d}"
                occurrence["start"] = {"date": local.date().isoformat()}
                occurrence["end"] = {"date": (local.date() + length).isoformat()}
                occurrence["originalStartTime"] = {"date": local.date().isoformat()}
            else:
                occurrence["id"] = f"{event['id']}_{begin.astimezone(UTC):%Y%m%dT%H%M%SZ}"
                occurrence["start"] = {"dateTime": begin.isoformat(), "timeZone": zone.key}
                occurrence["end"] = {"dateTime": (begin + length).isoformat(), "timeZone": zone.key}
                occurrence["originalStartTime"] = occurrence["start"]
            out.append(occurrence)
        return out

    def find(self, calendar_id: str, event_id: str) -> dict[str, Any] | None:
        events = self.calendar(calendar_id)
        if event_id in events:
            return events[event_id]
        series_id, _, _ = event_id.partition("_")
        series = events.get(series_id)
        if series is None:
            return None
        return next((o for o in self.instances(series) if o["id"] == event_id), None)

    def busy(self, calendar_id: str, lo: datetime, hi: datetime) -> list[dict[str, str]]:
        out = []
        for event in self.calendar(calendar_id).values():
            if event["status"] == "cancelled" or event.get("transparency") == "transparent":
                continue
            for item in self.instances(event):
                start, end = _parse(item["start"]), _parse(item["end"])
                if start < hi and end > lo:
                    out.append({"start": _stamp(max(start, lo)), "end": _stamp(min(end, hi))})
        return sorted(out, key=lambda b: b["start"])

    # ------------------------------------------------------------ HTTP

    def _handler(self) -> Any:
        base = super()._handler()
        standin = self

        class Handler(base):  # type: ignore[misc, valid-type]
            def do_PATCH(self) -> None:  # noqa: N802
                self._dispatch("PATCH")

            def do_PUT(self) -> None:  # noqa: N802
                self._dispatch("PUT")

            def do_DELETE(self) -> None:  # noqa: N802
                self._dispatch("DELETE")

            def _dispatch(self, method: str) -> None:
                parts = urlsplit(self.path)
                if not parts.path.startswith(PREFIX):
                    return super()._dispatch(method)
                with standin.lock:
                    standin.requests.append((method, parts.path))
                try:
                    self._calendar(method, parts.path[len(PREFIX) :], parse_qs(parts.query))
                except Exception as exc:  # a stand-in bug must show up as a 500, not a hang
                    self._error(500, f"stand-in failure: {exc!r}")

            def _calendar(self, method: str, path: str, q: dict[str, list[str]]) -> None:
                bearer = self.headers.get("Authorization", "").removeprefix("Bearer ")
                body = json.loads(self._body() or b"{}") if method in ("POST", "PATCH") else {}
                with standin.lock:
                    expiry = standin.access_tokens.get(bearer)
                    if expiry is None or expiry < datetime.now().timestamp():
                        return self._error(401, "Invalid Credentials", "authError")
                    if standin._failures:
                        status, headers = standin._failures.pop(0)
                        reason = "rateLimitExceeded" if status == 429 else "backendError"
                        return self._error(status, "Injected failure", reason, **headers)
                    one = {k: v[0] for k, v in q.items()}
                    if path == "freeBusy" and method == "POST":
                        return self._free_busy(body)
                    seg = [unquote(s) for s in path.split("/")]
                    if len(seg) < 3 or seg[0] != "calendars" or seg[2] != "events":
                        return self._error(404, "Not Found", "notFound")
                    cal = seg[1]
                    if len(seg) == 3 and method == "GET":
                        return self._list(cal, one)
                    if len(seg) == 3 and method == "POST":
                        return self._insert(cal, body, one)
                    if len(seg) == 4:
                        return self._one(method, cal, seg[3], body, one)
                self._error(404, "Not Found", "notFound")

            def _list(self, cal: str, one: dict[str, str]) -> None:
                lo = datetime.fromisoformat(one.get("timeMin", "1970-01-01T00:00:00Z"))
                hi = datetime.fromisoformat(one.get("timeMax", "2100-01-01T00:00:00Z"))
                items = []
                stored = standin.calendar(cal)
                expand = one.get("singleEvents") == "true"
                for event in stored.values():
                    if event["status"] == "cancelled" and one.get("showDeleted") != "true":
                        continue
                    for item in standin.instances(event) if expand else [event]:
                        if item is not event and item["id"] in stored:
                            continue  # an occurrence changed on its own is listed as itself
                        if _parse(item["start"]) < hi and _parse(item["end"]) > lo:
                            items.append(item)
                items.sort(key=lambda e: (_parse(e["start"]), e["id"]))
                start = int(one.get("pageToken") or 0)
                size = min(int(one.get("maxResults") or 250), standin.page_size)
                out: dict[str, Any] = {
                    "kind": "calendar#events",
                    "timeZone": standin.zone,
                    "items": items[start : start + size],
                }
                if start + size < len(items):
                    out["nextPageToken"] = str(start + size)
                self._send(200, out)

            def _insert(self, cal: str, body: dict[str, Any], one: dict[str, str]) -> None:
                event_id = body.get("id") or f"ev{next(standin._event_ids):04d}"
                if not _ID.match(event_id):
                    return self._error(400, "Invalid resource id value.", "invalid")
                if event_id in standin.calendar(cal):
                    return self._error(409, "The requested identifier already exists.", "duplicate")
                start = body.get("start", {})
                if "dateTime" in start and "timeZone" in start:
                    ZoneInfo(start["timeZone"])  # an unknown zone fails like Google's 400
                if body.get("recurrence") and "timeZone" not in start:
                    return self._error(
                        400, "Missing time zone definition for start time.", "invalid"
                    )
                standin.notifications.append(("insert", event_id, one.get("sendUpdates", "")))
                made = standin.add_event(cal, **{**body, "id": event_id})
                self._send(200, made)

            def _one(
                self,
                method: str,
                cal: str,
                event_id: str,
                body: dict[str, Any],
                one: dict[str, str],
            ) -> None:
                found = standin.find(cal, event_id)
                if found is None:
                    return self._error(404, "Not Found", "notFound")
                if method == "GET":
                    return self._send(200, found)
                if method == "DELETE":
                    if found["status"] == "cancelled":
                        return self._error(410, "Resource has been deleted", "deleted")
                    found["status"] = "cancelled"
                    standin.notifications.append(("delete", event_id, one.get("sendUpdates", "")))
                    self.send_response(204)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                if method == "PATCH":
                    if event_id not in standin.calendar(cal):
                        # Patching one occurrence makes it an exception of its own.
                        standin.calendar(cal)[event_id] = found
                    if "start" in body or "end" in body:
                        found["sequence"] = int(found.get("sequence", 0)) + 1
                    found.update(body)
                    standin.notifications.append(("patch", event_id, one.get("sendUpdates", "")))
                    return self._send(200, found)
                self._error(405, "Method not allowed")

            def _free_busy(self, body: dict[str, Any]) -> None:
                lo = datetime.fromisoformat(body["timeMin"])
                hi = datetime.fromisoformat(body["timeMax"])
                calendars: dict[str, Any] = {}
                for item in body.get("items", []):
                    cid = item["id"]
                    known = cid == "primary" or cid in standin.calendars
                    if not known:
                        calendars[cid] = {"errors": [{"domain": "global", "reason": "notFound"}]}
                    else:
                        calendars[cid] = {"busy": standin.busy(cid, lo, hi)}
                self._send(
                    200,
                    {
                        "kind": "calendar#freeBusy",
                        "timeMin": body["timeMin"],
                        "timeMax": body["timeMax"],
                        "calendars": calendars,
                    },
                )

        return Handler
