"""Google Calendar provider: exact requests (mocked transport) and a loopback stand-in."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from gcal_standin import CalendarStandIn
from google.oauth2.credentials import Credentials
from googleapiclient.http import HttpMockSequence

from tools.foundation.principals import Principal
from tools.providers.base import CalendarProvider, NewEvent, NotFound, ProviderError
from tools.providers.google.calendar import (
    SCOPES,
    GoogleCalendar,
    event_id_for_key,
    open_calendar,
)
from tools.providers.google.gmail import SCOPES as GMAIL_SCOPES

TZ = ZoneInfo("Europe/Berlin")
EVENTS = "/calendar/v3/calendars/primary/events"
RECONNECT = "secretary connect google --principal ada"


@pytest.fixture
def principal() -> Principal:
    return Principal(id="ada", name="Ada Lovelace", email="ada@example.com", timezone=TZ.key)


def ok(payload: dict[str, Any]) -> tuple[dict[str, str], str]:
    return {"status": "200"}, json.dumps(payload)


def err(status: int, reason: str = "", **headers: str) -> tuple[dict[str, str], str]:
    errors = [{"reason": reason, "message": "x"}] if reason else []
    body = {"error": {"code": status, "message": f"status {status}", "errors": errors}}
    return {"status": str(status), **headers}, json.dumps(body)


def resource(event_id: str = "ev1", **more: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "status": "confirmed",
        "summary": "Budget review",
        "start": {"dateTime": "2026-10-15T10:00:00+02:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-10-15T11:00:00+02:00", "timeZone": "Europe/Berlin"},
        "organizer": {"email": "ada@example.com", "self": True},
        "iCalUID": f"{event_id}@google.com",
        "sequence": 0,
        **more,
    }


class Recorder:
    """A mocked transport plus the sleeps a provider asked for."""

    def __init__(self, responses: list[tuple[dict[str, str], str]]) -> None:
        self.http = HttpMockSequence(responses)
        self.sleeps: list[float] = []

    def calendar(self, principal: Principal, **kw: Any) -> GoogleCalendar:
        return GoogleCalendar(principal, http=self.http, sleep=self.sleeps.append, **kw)

    def calls(self) -> list[tuple[str, str, dict[str, list[str]], Any]]:
        """(method, path, query, json body) of every request made."""
        out = []
        for uri, method, body, _ in self.http.request_sequence:
            parts = urlsplit(uri)
            out.append((method, parts.path, parse_qs(parts.query), json.loads(body or "null")))
        return out


def meeting(**more: Any) -> NewEvent:
    base: dict[str, Any] = {
        "title": "Budget review",
        "start": datetime(2026, 10, 15, 10, 0, tzinfo=TZ),
        "end": datetime(2026, 10, 15, 11, 0, tzinfo=TZ),
        "timezone": "Europe/Berlin",
        "attendees": ["Dana Smith <dana@acme.com>", "bo@example.org"],
        "location": "Room 4",
    }
    return NewEvent(**{**base, **more})


# ---------------------------------------------------------- exact requests


def test_google_calendar_implements_the_protocol_and_sends_invitations_itself(
    principal: Principal,
) -> None:
    cal = Recorder([]).calendar(principal)
    assert isinstance(cal, CalendarProvider)
    assert cal.sends_invitations is True


def test_event_id_from_key_is_stable_base32hex_google_accepts() -> None:
    first = event_id_for_key("principal/thread/call-1")
    assert first == event_id_for_key("principal/thread/call-1")
    assert first != event_id_for_key("principal/thread/call-2")
    assert re.fullmatch(r"[a-v0-9]{5,1024}", first)
    assert "call" not in first


def test_create_sends_attendees_iana_zone_rrule_and_send_updates_all(
    principal: Principal,
) -> None:
    key = "ada/t1/call-1"
    made = resource(
        event_id_for_key(key),
        attendees=[
            {
                "email": "dana@acme.com",
                "displayName": "Dana Smith",
                "responseStatus": "needsAction",
            },
            {"email": "bo@example.org", "responseStatus": "needsAction"},
        ],
        recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"],
        location="Room 4",
    )
    rec = Recorder([ok(made)])

    event = rec.calendar(principal).create_event(
        meeting(recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"]), key
    )

    [(method, path, query, body)] = rec.calls()
    assert (method, path) == ("POST", EVENTS)
    assert query["sendUpdates"] == ["all"]
    assert body["id"] == event_id_for_key(key)
    assert body["start"] == {"dateTime": "2026-10-15T10:00:00", "timeZone": "Europe/Berlin"}
    assert body["end"] == {"dateTime": "2026-10-15T11:00:00", "timeZone": "Europe/Berlin"}
    assert body["attendees"] == [
        {"email": "dana@acme.com", "displayName": "Dana Smith"},
        {"email": "bo@example.org"},
    ]
    assert body["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=4"]
    assert body["summary"] == "Budget review" and body["location"] == "Room 4"
    assert event.id == event_id_for_key(key) and event.attendees == [
        "dana@acme.com",
        "bo@example.org",
    ]
    assert event.attendance == {"dana@acme.com": "needs-action", "bo@example.org": "needs-action"}
    assert event.start == datetime(2026, 10, 15, 10, 0, tzinfo=TZ) and event.timezone == TZ.key
    assert event.recurrence == ["RRULE:FREQ=WEEKLY;COUNT=4"]


def test_create_retried_with_the_same_key_returns_the_existing_event_on_409(
    principal: Principal,
) -> None:
    key = "ada/t1/call-1"
    rec = Recorder([err(409, "duplicate"), ok(resource(event_id_for_key(key)))])

    event = rec.calendar(principal).create_event(meeting(attendees=[]), key)

    (m1, p1, _, b1), (m2, p2, _, _) = rec.calls()
    assert (m1, p1) == ("POST", EVENTS) and "attendees" not in b1
    assert (m2, p2) == ("GET", f"{EVENTS}/{event_id_for_key(key)}")
    assert event.id == event_id_for_key(key) and event.title == "Budget review"


def test_create_after_a_server_error_that_landed_returns_the_first_event(
    principal: Principal,
) -> None:
    key = "ada/t1/call-9"
    rec = Recorder([err(503), err(409, "duplicate"), ok(resource(event_id_for_key(key)))])

    event = rec.calendar(principal).create_event(meeting(), key)

    assert [c[0] for c in rec.calls()] == ["POST", "POST", "GET"]
    assert event.id == event_id_for_key(key) and len(rec.sleeps) == 1


def test_all_day_create_sends_dates_and_reads_back_local_midnight(principal: Principal) -> None:
    made = resource(
        "ev2", start={"date": "2026-10-25"}, end={"date": "2026-10-26"}, summary="Holiday"
    )
    rec = Recorder([ok(made)])
    event = rec.calendar(principal).create_event(
        meeting(
            title="Holiday",
            all_day=True,
            start=datetime(2026, 10, 25, tzinfo=TZ),
            end=datetime(2026, 10, 26, tzinfo=TZ),
            attendees=[],
        ),
        "k",
    )
    [(_, _, _, body)] = rec.calls()
    assert body["start"] == {"date": "2026-10-25"} and body["end"] == {"date": "2026-10-26"}
    assert event.all_day and event.start == datetime(2026, 10, 25, tzinfo=TZ)
    # The day the clocks go back has 25 hours (same-zone subtraction would say 24).
    assert event.end.astimezone(UTC) - event.start.astimezone(UTC) == timedelta(hours=25)


def test_rate_limit_429_is_retried_after_retry_after_then_succeeds(principal: Principal) -> None:
    rec = Recorder([err(429, "rateLimitExceeded", **{"retry-after": "3"}), ok({"items": []})])
    start = datetime(2026, 10, 12, tzinfo=TZ)
    assert rec.calendar(principal).list_events(start, start + timedelta(days=7)) == []
    assert rec.sleeps == [3.0] and len(rec.calls()) == 2


def test_rate_limit_that_persists_becomes_a_sentence(principal: Principal) -> None:
    rec = Recorder([err(403, "rateLimitExceeded")] * 3)
    with pytest.raises(ProviderError, match="limiting how many requests"):
        rec.calendar(principal, retries=2).get_event("ev1")
    assert len(rec.sleeps) == 2


def test_unknown_event_is_not_found_and_401_asks_to_connect(principal: Principal) -> None:
    rec = Recorder([err(404, "notFound"), err(401, "authError")])
    cal = rec.calendar(principal)
    with pytest.raises(NotFound, match="list the agenda"):
        cal.get_event("nope")
    with pytest.raises(ProviderError, match=RECONNECT):
        cal.get_event("ev1")


def test_list_asks_for_expanded_events_in_range_and_follows_pages(principal: Principal) -> None:
    start = datetime(2026, 10, 12, tzinfo=TZ)
    end = start + timedelta(days=7)
    occurrence = resource(
        "ser_20261015T080000Z",
        recurringEventId="ser",
        originalStartTime={"dateTime": "2026-10-15T10:00:00+02:00", "timeZone": "Europe/Berlin"},
    )
    all_day = resource("day1", start={"date": "2026-10-16"}, end={"date": "2026-10-17"})
    outside = resource(
        "late",
        start={"dateTime": "2026-10-19T10:00:00+02:00"},
        end={"dateTime": "2026-10-19T11:00:00+02:00"},
    )
    rec = Recorder(
        [
            ok({"timeZone": "Europe/Berlin", "items": [occurrence], "nextPageToken": "p2"}),
            ok(resource("ser", recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"])),
            ok({"timeZone": "Europe/Berlin", "items": [all_day, outside]}),
        ]
    )

    events = rec.calendar(principal).list_events(start, end)

    (m1, p1, q1, _), (_, p2, _, _), (_, _, q3, _) = rec.calls()
    assert (m1, p1) == ("GET", EVENTS)
    assert q1["singleEvents"] == ["true"] and q1["orderBy"] == ["startTime"]
    # One day wider on each side: all-day events sit in the calendar's own zone.
    assert q1["timeMin"] == ["2026-10-10T22:00:00Z"] and q1["timeMax"] == ["2026-10-19T22:00:00Z"]
    assert p2 == f"{EVENTS}/ser" and q3["pageToken"] == ["p2"]
    assert [e.id for e in events] == ["ser_20261015T080000Z", "day1"]
    first, day = events
    assert first.recurring_id == "ser" and first.recurrence == ["RRULE:FREQ=WEEKLY;COUNT=4"]
    assert first.recurrence_id == datetime(2026, 10, 15, 10, 0, tzinfo=TZ)
    assert day.all_day and day.start == datetime(2026, 10, 16, tzinfo=TZ)
    assert day.end == datetime(2026, 10, 17, tzinfo=TZ)


def test_move_patches_times_in_the_event_zone_with_send_updates(principal: Principal) -> None:
    moved = resource(
        "ev1",
        start={"dateTime": "2026-10-16T14:00:00+02:00", "timeZone": "Europe/Berlin"},
        end={"dateTime": "2026-10-16T15:00:00+02:00", "timeZone": "Europe/Berlin"},
        sequence=1,
    )
    rec = Recorder([ok(resource("ev1")), ok(moved), ok(moved)])
    cal = rec.calendar(principal)
    new_start = datetime(2026, 10, 16, 12, 0, tzinfo=UTC)

    event = cal.move_event("ev1", new_start, new_start + timedelta(hours=1), "k-move")
    again = cal.move_event("ev1", new_start, new_start + timedelta(hours=1), "k-move")

    (_, _, _, _), (m2, p2, q2, b2), (m3, _, _, _) = rec.calls()
    assert (m2, p2, q2["sendUpdates"]) == ("PATCH", f"{EVENTS}/ev1", ["all"])
    assert b2["start"] == {"dateTime": "2026-10-16T14:00:00", "timeZone": "Europe/Berlin"}
    assert m3 == "GET"  # the retry found it in place and patched nothing
    assert event.start == new_start and event.sequence == 1 and again == event


def test_cancel_deletes_with_send_updates_and_returns_it_cancelled(principal: Principal) -> None:
    gone = resource("ev1", status="cancelled")
    rec = Recorder([ok(resource("ev1")), ({"status": "204"}, ""), ok(gone), ok(gone)])
    cal = rec.calendar(principal)

    event = cal.cancel_event("ev1", "k-cancel")
    again = cal.cancel_event("ev1", "k-cancel")

    methods = [(m, q.get("sendUpdates")) for m, _, q, _ in rec.calls()]
    assert methods == [("GET", None), ("DELETE", ["all"]), ("GET", None), ("GET", None)]
    assert event.status == "cancelled" and again.status == "cancelled"


# ---------------------------------------------------------- loopback stand-in


@pytest.fixture
def standin() -> Iterator[CalendarStandIn]:
    with CalendarStandIn("ada@example.com") as server:
        yield server


def write_token(standin: CalendarStandIn, path: Path, scopes: list[str]) -> None:
    access, refresh = standin.issue_tokens()
    creds = Credentials(
        token=access,
        refresh_token=refresh,
        token_uri=standin.token_uri,
        client_id=standin.client_id,
        client_secret=standin.client_secret,
        scopes=scopes,
        expiry=datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(creds.to_json(), encoding="utf-8")


@pytest.fixture
def account(standin: CalendarStandIn, tmp_path: Path) -> dict[str, Any]:
    write_token(standin, tmp_path / "tokens" / "google.json", [*GMAIL_SCOPES, *SCOPES])
    return {
        "provider": "google",
        "client_secrets": str(tmp_path / "client.json"),
        "api_endpoint": standin.url,
        "token_uri": standin.token_uri,
    }


@pytest.fixture
def cal(account: dict[str, Any], principal: Principal, tmp_path: Path) -> Iterator[GoogleCalendar]:
    with open_calendar(account, principal, tmp_path) as calendar:
        yield calendar


def test_weekly_series_keeps_its_local_time_across_the_eu_dst_switch(
    cal: GoogleCalendar, standin: CalendarStandIn
) -> None:
    standin.page_size = 3  # the listing has to follow a page
    made = cal.create_event(
        meeting(recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"], attendees=[]), "ada/t1/weekly"
    )
    standin.add_event(summary="Holiday", start={"date": "2026-10-25"}, end={"date": "2026-10-26"})

    events = cal.list_events(datetime(2026, 10, 12, tzinfo=TZ), datetime(2026, 11, 9, tzinfo=TZ))

    weekly = [e for e in events if e.recurring_id == made.id]
    assert [e.start.astimezone(TZ).strftime("%m-%d %H:%M") for e in weekly] == [
        "10-15 10:00",
        "10-22 10:00",
        "10-29 10:00",
        "11-05 10:00",
    ]
    # The same wall time is an hour later in UTC once summer time ends on 25 October.
    assert [e.start.astimezone(UTC).hour for e in weekly] == [8, 8, 9, 9]
    assert all(e.recurrence == ["RRULE:FREQ=WEEKLY;COUNT=4"] for e in weekly)
    assert weekly[2].recurrence_id == datetime(2026, 10, 29, 10, 0, tzinfo=TZ)
    [holiday] = [e for e in events if e.title == "Holiday"]
    assert holiday.all_day and holiday.start == datetime(2026, 10, 25, tzinfo=TZ)
    assert holiday.end.astimezone(UTC) - holiday.start.astimezone(UTC) == timedelta(hours=25)
    assert [e.start for e in events] == sorted(e.start for e in events)


def test_create_over_http_lands_once_per_key_and_google_invites(
    cal: GoogleCalendar, standin: CalendarStandIn
) -> None:
    first = cal.create_event(meeting(), "ada/t2/call-1")
    again = cal.create_event(meeting(), "ada/t2/call-1")

    assert again.id == first.id and len(standin.calendar("primary")) == 1
    assert standin.notifications == [("insert", first.id, "all")]
    assert first.organizer == "ada@example.com"
    assert cal.get_event(first.id).attendees == ["dana@acme.com", "bo@example.org"]


def test_free_busy_for_me_and_attendees_leaves_out_unknown_calendars(
    cal: GoogleCalendar, standin: CalendarStandIn
) -> None:
    standin.add_event(
        summary="Dentist",
        start={"dateTime": "2026-10-26T09:00:00+01:00"},
        end={"dateTime": "2026-10-26T10:00:00+01:00"},
    )
    standin.add_event(
        "dana@acme.com",
        summary="Board",
        start={"dateTime": "2026-10-26T14:00:00+01:00"},
        end={"dateTime": "2026-10-26T16:00:00+01:00"},
    )
    day = datetime(2026, 10, 26, tzinfo=TZ)

    busy = cal.free_busy(day, day + timedelta(days=1), ["Dana <dana@acme.com>", "x@elsewhere.net"])

    assert set(busy) == {"me", "Dana <dana@acme.com>"}
    [mine] = busy["me"]
    assert (mine.start, mine.end) == (day.replace(hour=9), day.replace(hour=10))
    [hers] = busy["Dana <dana@acme.com>"]
    assert hers.start == day.replace(hour=14) and hers.start.tzinfo == TZ


def test_respond_changes_only_the_principals_answer_once(
    cal: GoogleCalendar, standin: CalendarStandIn
) -> None:
    invite = standin.add_event(
        summary="Supplier call",
        start={"dateTime": "2026-10-27T10:00:00+01:00"},
        end={"dateTime": "2026-10-27T11:00:00+01:00"},
        organizer={"email": "dana@acme.com"},
        attendees=[
            {"email": "dana@acme.com", "responseStatus": "accepted", "organizer": True},
            {"email": "ada@example.com"},
            {"email": "bo@example.org", "responseStatus": "declined"},
        ],
    )

    answered = cal.respond(invite["id"], "tentative", "ada/t3/answer")
    again = cal.respond(invite["id"], "tentative", "ada/t3/answer")

    assert answered.attendance == {
        "dana@acme.com": "accepted",
        "ada@example.com": "tentative",
        "bo@example.org": "declined",
    }
    assert again == answered
    assert standin.notifications == [("patch", invite["id"], "all")]
    with pytest.raises(ProviderError, match="own event"):
        cal.respond(cal.create_event(meeting(attendees=[]), "mine").id, "accepted", "k2")


def test_move_and_cancel_over_http_tell_guests_and_keep_the_event(
    cal: GoogleCalendar, standin: CalendarStandIn
) -> None:
    made = cal.create_event(meeting(), "ada/t4/create")
    later = datetime(2026, 10, 16, 15, 0, tzinfo=TZ)

    moved = cal.move_event(made.id, later, later + timedelta(hours=1), "ada/t4/move")
    cancelled = cal.cancel_event(made.id, "ada/t4/cancel")
    cal.cancel_event(made.id, "ada/t4/cancel")

    assert moved.start == later and moved.sequence == 1
    assert cancelled.status == "cancelled" and cal.get_event(made.id).status == "cancelled"
    assert [n[0] for n in standin.notifications] == ["insert", "patch", "delete"]
    assert {n[2] for n in standin.notifications} == {"all"}
    start = datetime(2026, 10, 12, tzinfo=TZ)
    assert cal.list_events(start, start + timedelta(days=7)) == []


def test_rate_limit_over_http_waits_and_succeeds(
    standin: CalendarStandIn, account: dict[str, Any], principal: Principal, tmp_path: Path
) -> None:
    cal = open_calendar(account, principal, tmp_path)
    sleeps: list[float] = []
    cal._sleep = sleeps.append
    standin.fail_next(429, headers={"Retry-After": "2"})
    standin.fail_next(503)
    with cal:
        assert (
            cal.list_events(datetime(2026, 1, 1, tzinfo=TZ), datetime(2026, 2, 1, tzinfo=TZ)) == []
        )
    assert sleeps[0] == 2.0 and len(sleeps) == 2


def test_token_without_calendar_scope_asks_to_connect(
    standin: CalendarStandIn, tmp_path: Path, principal: Principal
) -> None:
    token_file = tmp_path / "gmail-only.json"
    write_token(standin, token_file, GMAIL_SCOPES)
    with pytest.raises(ProviderError, match=RECONNECT):
        open_calendar({"token_file": str(token_file)}, principal, tmp_path)
    with pytest.raises(ProviderError, match="not connected yet"):
        open_calendar({}, principal, tmp_path / "empty")
