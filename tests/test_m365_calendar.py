"""Microsoft 365 calendars through Graph, against a loopback tenant (real msal, real HTTPS)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from graph_calendar_standin import GraphCalendarStandIn

from tools.foundation.principals import Principal
from tools.providers.base import CalendarProvider, NewEvent, NotFound, ProviderError
from tools.providers.microsoft.auth import MicrosoftAuth
from tools.providers.microsoft.calendar import (
    GraphCalendar,
    graph_recurrence,
    open_calendar,
    rrule_lines,
)
from tools.providers.microsoft.graph import GraphClient

TZ = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")
OPENED: list[Any] = []


@pytest.fixture
def standin(tmp_path: Path) -> Iterator[GraphCalendarStandIn]:
    server = GraphCalendarStandIn(tmp_path).start()
    yield server
    for thing in reversed(OPENED):
        thing.close()
    OPENED.clear()
    server.close()


class Sleeper:
    """Records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def account(standin: GraphCalendarStandIn, user: str = "ada@example.com") -> dict[str, Any]:
    return {
        "provider": "microsoft",
        "client_id": standin.client_id,
        "authority": standin.authority,
        "graph_url": standin.graph_url,
        "ca_file": str(standin.ca_file),
        "client_secret": standin.client_secret,
        "user": user,
    }


def person(user: str) -> Principal:
    name = user.split("@")[0]
    return Principal(id=name, name=name.title(), email=user, timezone=TZ.key)


def provider(
    standin: GraphCalendarStandIn,
    root: Path,
    user: str = "ada@example.com",
    sleeper: Sleeper | None = None,
) -> GraphCalendar:
    folder = root / user.split("@")[0]
    folder.mkdir(parents=True, exist_ok=True)
    settings = account(standin, user)
    auth = MicrosoftAuth(settings, user.split("@")[0], folder)
    client = GraphClient(
        auth, base_url=standin.graph_url, verify=auth.verify, sleep=sleeper or Sleeper()
    )
    cal = open_calendar(settings, person(user), folder, auth=auth, client=client)
    OPENED.append(cal)
    return cal


@pytest.fixture
def cal(standin: GraphCalendarStandIn, tmp_path: Path) -> GraphCalendar:
    return provider(standin, tmp_path)


def meeting(**changes: Any) -> NewEvent:
    base: dict[str, Any] = {
        "title": "Budget review",
        "start": datetime(2026, 11, 24, 10, 0, tzinfo=TZ),
        "end": datetime(2026, 11, 24, 11, 0, tzinfo=TZ),
        "timezone": TZ.key,
        "location": "Room 4",
        "description": "Numbers for Q1.",
        "attendees": ["Bob Baker <bob@example.com>"],
    }
    return NewEvent(**{**base, **changes})


DAY = (datetime(2026, 11, 24, tzinfo=TZ), datetime(2026, 11, 25, tzinfo=TZ))


def test_created_event_is_listed_and_read_back_in_its_zone(
    cal: GraphCalendar, standin: GraphCalendarStandIn
) -> None:
    assert isinstance(cal, CalendarProvider) and cal.sends_invitations
    created = cal.create_event(meeting(), "key-1")
    assert created.start == datetime(2026, 11, 24, 10, 0, tzinfo=TZ)
    assert created.timezone == "Europe/Berlin"  # Exchange said "W. Europe Standard Time"
    assert created.start.utcoffset() == timedelta(hours=1)
    assert (created.title, created.location, created.description) == (
        "Budget review",
        "Room 4",
        "Numbers for Q1.",
    )
    assert created.attendees == ["bob@example.com"] and created.organizer == "ada@example.com"
    assert created.attendance == {"bob@example.com": "needs-action"} and created.uid
    [listed] = cal.list_events(*DAY)
    assert listed == created == cal.get_event(created.id)
    [invite] = standin.calendar("bob@example.com")  # Exchange delivered the invitation
    assert invite.ical_uid == created.uid
    posted = [s for s in standin.graph_requests() if s.method == "POST"]
    assert posted[0].path.endswith("/users/ada@example.com/events")
    view = [s for s in standin.graph_requests() if s.path.endswith("/calendarView")]
    assert view[0].query["startDateTime"] == "2026-11-23T23:00:00Z"
    assert 'outlook.timezone="UTC"' in view[0].headers["prefer"]


def test_all_day_event_is_a_local_day(cal: GraphCalendar) -> None:
    day = cal.create_event(
        meeting(
            title="Offsite",
            start=DAY[0],
            end=DAY[1],
            all_day=True,
            attendees=[],
        ),
        "all-day",
    )
    assert day.all_day and (day.start, day.end) == DAY
    assert [e.title for e in cal.list_events(*DAY)] == ["Offsite"]


def test_create_with_the_same_key_from_a_fresh_provider_creates_once(
    cal: GraphCalendar, standin: GraphCalendarStandIn, tmp_path: Path
) -> None:
    first = cal.create_event(meeting(), "key-once")
    again = provider(standin, tmp_path).create_event(meeting(), "key-once")
    assert again == first
    assert standin.posts == 1 and len(standin.calendar("ada@example.com")) == 1
    [stored] = standin.calendar("ada@example.com")
    assert (
        stored.transaction_id.startswith("secretary-") and "key-once" not in stored.transaction_id
    )


def test_graph_drops_a_repeated_transaction_id_even_without_our_check(
    cal: GraphCalendar, standin: GraphCalendarStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = cal.create_event(meeting(), "crash-window")
    # As if the search ran before the first event became visible.
    monkeypatch.setattr(cal, "_find_transaction", lambda transaction: None)
    assert cal.create_event(meeting(), "crash-window").id == first.id
    assert len(standin.calendar("ada@example.com")) == 1


def test_weekly_series_keeps_its_local_time_across_the_eu_dst_switch(
    cal: GraphCalendar, standin: GraphCalendarStandIn
) -> None:
    series = cal.create_event(
        meeting(
            title="Standup",
            start=datetime(2026, 10, 6, 10, 0, tzinfo=TZ),
            end=datetime(2026, 10, 6, 10, 30, tzinfo=TZ),
            attendees=[],
            recurrence=["RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=12"],
        ),
        "weekly",
    )
    assert series.recurrence == ["RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=12"]
    window = (datetime(2026, 10, 1, tzinfo=TZ), datetime(2027, 1, 31, tzinfo=TZ))
    occurrences = cal.list_events(*window)  # 12 instances: more than one page of 10
    assert len(occurrences) == 12
    pages = [s for s in standin.graph_requests() if s.path.endswith("/calendarView")]
    assert [s.query.get("$skip") for s in pages] == [None, "10"]
    assert all((o.start.hour, o.start.minute) == (10, 0) for o in occurrences)
    before, after = occurrences[2], occurrences[3]  # 20 Oct and 27 Oct, around 25 Oct
    assert before.start.astimezone(UTC).hour == 8 and after.start.astimezone(UTC).hour == 9
    assert {o.recurring_id for o in occurrences} == {series.id}
    assert occurrences[0].recurrence == series.recurrence
    assert after.recurrence_id == datetime(2026, 10, 27, 10, 0, tzinfo=TZ)
    assert cal.get_event(after.id).start == after.start


def test_rrules_become_graph_patterns_and_back() -> None:
    start = datetime(2026, 10, 6, 10, 0, tzinfo=TZ)
    weekly = graph_recurrence(
        ["RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;UNTIL=20261231"], start, TZ
    )
    assert weekly["pattern"] == {
        "interval": 2,
        "type": "weekly",
        "daysOfWeek": ["monday", "wednesday"],
        "firstDayOfWeek": "sunday",
    }
    assert weekly["range"] == {
        "startDate": "2026-10-06",
        "recurrenceTimeZone": "Europe/Berlin",
        "type": "endDate",
        "endDate": "2026-12-31",
    }
    assert rrule_lines(weekly, TZ) == [
        "RRULE:FREQ=WEEKLY;BYDAY=MO,WE;INTERVAL=2;UNTIL=20261231T225959Z"
    ]
    daily = graph_recurrence(["RRULE:FREQ=DAILY;COUNT=5"], start, TZ)
    assert daily["pattern"]["type"] == "daily" and daily["range"]["numberOfOccurrences"] == 5
    monthly = graph_recurrence(["RRULE:FREQ=MONTHLY;BYDAY=-1FR"], start, TZ)
    assert monthly["pattern"]["index"] == "last" and monthly["range"]["type"] == "noEnd"
    with pytest.raises(ProviderError, match="BYHOUR"):
        graph_recurrence(["RRULE:FREQ=DAILY;BYHOUR=9"], start, TZ)
    with pytest.raises(ProviderError, match="EXDATE"):
        graph_recurrence(["RRULE:FREQ=DAILY", "EXDATE:20261007T100000"], start, TZ)


def test_free_busy_comes_from_get_schedule_for_principal_and_attendees(
    cal: GraphCalendar, standin: GraphCalendarStandIn
) -> None:
    cal.create_event(meeting(attendees=[]), "mine")
    standin.add_event(
        "dana@acme.com",
        "Dentist",
        datetime(2026, 11, 24, 14, 0, tzinfo=TZ),
        datetime(2026, 11, 24, 15, 0, tzinfo=TZ),
    )
    standin.add_event(
        "dana@acme.com",
        "Focus (free)",
        datetime(2026, 11, 24, 16, 0, tzinfo=TZ),
        datetime(2026, 11, 24, 17, 0, tzinfo=TZ),
        show_as="free",
    )
    busy = cal.free_busy(*DAY, attendees=["Dana <dana@acme.com>", "stranger@else.org"])
    assert set(busy) == {"me", "Dana <dana@acme.com>"}  # the unknown person is left out
    [mine] = busy["me"]
    assert (mine.start, mine.title) == (datetime(2026, 11, 24, 10, 0, tzinfo=TZ), "Budget review")
    [dana] = busy["Dana <dana@acme.com>"]
    assert dana.start == datetime(2026, 11, 24, 14, 0, tzinfo=TZ) and dana.start.tzinfo == TZ
    [asked] = [s for s in standin.graph_requests() if s.path.endswith("/calendar/getSchedule")]
    assert asked.method == "POST"


def test_move_keeps_the_zone_and_a_repeated_move_sends_nothing(
    cal: GraphCalendar, standin: GraphCalendarStandIn
) -> None:
    event = cal.create_event(meeting(), "to-move")
    new_start = datetime(2026, 11, 26, 15, 0, tzinfo=TZ)
    moved = cal.move_event(event.id, new_start, new_start + timedelta(hours=1), "move-1")
    assert moved.start == new_start and moved.timezone == "Europe/Berlin"
    [invite] = standin.calendar("bob@example.com")
    assert invite.start == new_start.astimezone(UTC)  # the attendee's copy followed
    patches = [s for s in standin.graph_requests() if s.method == "PATCH"]
    cal.move_event(event.id, new_start, new_start + timedelta(hours=1), "move-1")
    assert len([s for s in standin.graph_requests() if s.method == "PATCH"]) == len(patches) == 1
    with pytest.raises(ProviderError, match="end after"):
        cal.move_event(event.id, new_start, new_start, "bad")


def test_cancel_of_own_meeting_tells_attendees_and_a_retry_is_the_same(
    cal: GraphCalendar, standin: GraphCalendarStandIn, tmp_path: Path
) -> None:
    event = cal.create_event(meeting(), "to-cancel")
    cancelled = cal.cancel_event(event.id, "cancel-1")
    assert cancelled.status == "cancelled" and cancelled.id == event.id
    assert standin.calendar("ada@example.com") == []
    [invite] = standin.calendar("bob@example.com")
    assert invite.is_cancelled and invite.cancel_comment
    again = provider(standin, tmp_path).cancel_event(event.id, "cancel-1")
    assert again == cancelled
    assert [s.path.rsplit("/", 1)[-1] for s in standin.graph_requests() if s.method == "POST"][
        -1
    ] == "cancel"
    assert cal.list_events(*DAY) == []


def test_cancel_of_an_event_someone_else_organises_deletes_the_copy(
    standin: GraphCalendarStandIn, tmp_path: Path
) -> None:
    organizer = provider(standin, tmp_path)
    organizer.create_event(meeting(), "invite-bob")
    bob = provider(standin, tmp_path, "bob@example.com")
    [copy] = bob.list_events(*DAY)
    assert bob.cancel_event(copy.id, "bob-cancel").status == "cancelled"
    assert standin.calendar("bob@example.com") == []
    assert [s.method for s in standin.graph_requests()].count("DELETE") == 1
    with pytest.raises(NotFound, match="list the agenda"):
        bob.get_event(copy.id)


def test_respond_answers_the_organizer_once(standin: GraphCalendarStandIn, tmp_path: Path) -> None:
    organizer = provider(standin, tmp_path)
    event = organizer.create_event(meeting(), "invite")
    bob = provider(standin, tmp_path, "bob@example.com")
    [copy] = bob.list_events(*DAY)
    assert copy.organizer == "ada@example.com"
    assert copy.attendance["bob@example.com"] == "needs-action"
    answered = bob.respond(copy.id, "tentative", "r-1")
    assert answered.attendance["bob@example.com"] == "tentative"
    assert bob.respond(copy.id, "tentative", "r-1") == answered
    answers = [s for s in standin.graph_requests() if s.path.endswith("/tentativelyAccept")]
    assert len(answers) == 1 and answers[0].method == "POST"
    accepted = bob.respond(copy.id, "accepted", "r-2")
    assert accepted.attendance["bob@example.com"] == "accepted"
    assert organizer.get_event(event.id).attendance == {"bob@example.com": "accepted"}
    with pytest.raises(ProviderError, match="own meeting"):
        organizer.respond(event.id, "accepted", "r-3")
    with pytest.raises(ProviderError, match="needs-action"):
        bob.respond(copy.id, "needs-action", "r-4")


def test_throttled_calendar_request_waits_retry_after_then_succeeds(
    standin: GraphCalendarStandIn, tmp_path: Path
) -> None:
    sleeper = Sleeper()
    cal = provider(standin, tmp_path, sleeper=sleeper)
    cal.create_event(meeting(), "k")
    standin.throttle(2, retry_after="3")
    assert [e.title for e in cal.list_events(*DAY)] == ["Budget review"]
    assert sleeper.waits == [3.0, 3.0]


def test_errors_are_sentences(cal: GraphCalendar) -> None:
    with pytest.raises(NotFound, match="No event with id"):
        cal.get_event("AAMk-missing")
    with pytest.raises(ProviderError, match="IANA"):
        cal.create_event(meeting(timezone="Mars/Olympus"), "k")
    with pytest.raises(ProviderError, match="naive"):
        cal.list_events(datetime(2026, 11, 24), datetime(2026, 11, 25))
