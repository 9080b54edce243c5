"""The CalDAV calendar provider against a real Radicale server on loopback."""

from __future__ import annotations

import logging
import socket
import sys
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import caldav
import icalendar
import pytest
from radicale_server import Radicale

from tools.foundation.principals import Principal
from tools.providers.base import CalendarProvider, NewEvent, NotFound, ProviderError
from tools.providers.caldav import (
    CalDAVCalendar,
    open_calendar,
    parse_schedule_response,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
UTC = ZoneInfo("UTC")

Factory = Callable[..., tuple[CalDAVCalendar, str]]


@pytest.fixture
def make_calendar(radicale_server: Radicale, tmp_path: Path) -> Iterator[Factory]:
    """Providers for fresh Radicale users (each test sees only its own calendars)."""
    opened: list[CalDAVCalendar] = []

    def make(
        zone: str = "Europe/Berlin", user: str | None = None, **account: Any
    ) -> tuple[CalDAVCalendar, str]:
        login = user or radicale_server.new_user()
        principal = Principal(
            id=login, name=login.title(), email=f"{login}@example.test", timezone=zone
        )
        provider = open_calendar(radicale_server.account(login, **account), principal, tmp_path)
        opened.append(provider)
        return provider, login

    yield make
    for provider in opened:
        provider.close()


def raw_client(server: Radicale, user: str) -> caldav.DAVClient:
    """Another CalDAV client of the same user (a phone, a desktop calendar)."""
    return caldav.DAVClient(server.url, username=user, password=server.users[user], timeout=10)


def put_raw(server: Radicale, user: str, name: str, ics: str) -> None:
    """PUT an iCalendar object as another client would, into the user's first calendar."""
    with raw_client(server, user) as client:
        principal = client.principal()
        calendars = principal.calendars() or [principal.make_calendar(name="Phone")]
        url = str(calendars[0].url.join(name))
        resp = client.put(url, ics.replace("\n", "\r\n"), {"Content-Type": "text/calendar"})
        assert resp.status in (201, 204), resp.status


def stored(server: Radicale, user: str) -> list[icalendar.Calendar]:
    """Every object in the user's calendars, exactly as the server keeps it."""
    with raw_client(server, user) as client:
        out = []
        for cal in client.principal().calendars():
            for obj in cal.objects():
                obj.load()
                out.append(icalendar.Calendar.from_ical(obj.data))
        return out


def new(title: str, start: datetime, end: datetime, zone: str = "Europe/Berlin", **kw: Any):
    return NewEvent(title=title, start=start, end=end, timezone=zone, **kw)


def vevents(cal: icalendar.Calendar) -> list[Any]:
    return list(cal.walk("VEVENT"))


# ------------------------------------------------------------------- basics


def test_provider_satisfies_the_calendar_protocol(make_calendar: Factory) -> None:
    provider, _ = make_calendar()
    assert isinstance(provider, CalendarProvider)


def test_create_then_list_then_get_returns_the_same_event(
    make_calendar: Factory, radicale_server: Radicale
) -> None:
    cal, user = make_calendar()
    made = cal.create_event(
        new(
            "Board review",
            datetime(2026, 11, 24, 14, tzinfo=BERLIN),
            datetime(2026, 11, 24, 15, 30, tzinfo=BERLIN),
            location="Room 4",
            description="Q4 numbers",
            attendees=["dana@acme.test"],
        ),
        "key-create",
    )
    assert made.title == "Board review"
    assert made.uid and made.id == made.uid
    assert made.organizer.endswith("@example.test")
    assert made.attendance == {"dana@acme.test": "needs-action"}
    assert made.sequence == 0 and made.recurrence_id is None

    listed = cal.list_events(
        datetime(2026, 11, 24, tzinfo=BERLIN), datetime(2026, 11, 25, tzinfo=BERLIN)
    )
    assert [e.id for e in listed] == [made.id]
    got = cal.get_event(made.id)
    assert got == listed[0] == made
    assert got.start == datetime(2026, 11, 24, 14, tzinfo=BERLIN)
    assert got.start.tzinfo == BERLIN and got.timezone == "Europe/Berlin"
    assert (got.location, got.description, got.attendees) == (
        "Room 4",
        "Q4 numbers",
        ["dana@acme.test"],
    )
    outside = cal.list_events(
        datetime(2026, 11, 24, 15, 30, tzinfo=BERLIN), datetime(2026, 11, 25, tzinfo=BERLIN)
    )
    assert outside == []
    (comp,) = vevents(stored(radicale_server, user)[0])
    assert comp["UID"] == made.uid and comp["DTSTART"].params["TZID"] == "Europe/Berlin"
    # The tools mail the invitation: a scheduling server must not send one too.
    assert comp["ATTENDEE"].params["SCHEDULE-AGENT"] == "CLIENT"


def test_first_use_creates_a_secretary_calendar_when_the_user_has_none(
    make_calendar: Factory, radicale_server: Radicale
) -> None:
    cal, user = make_calendar()
    cal.list_events(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC))
    with raw_client(radicale_server, user) as client:
        names = [c.get_display_name() for c in client.principal().calendars()]
    assert names == ["Secretary"]


def test_create_twice_with_one_key_makes_one_event_even_from_a_new_process(
    make_calendar: Factory, radicale_server: Radicale
) -> None:
    cal, user = make_calendar()
    event = new(
        "Dentist",
        datetime(2026, 11, 25, 8, tzinfo=BERLIN),
        datetime(2026, 11, 25, 9, tzinfo=BERLIN),
    )
    first = cal.create_event(event, "key-once")
    again = cal.create_event(event, "key-once")
    fresh, _ = make_calendar(user=user)  # a new process: nothing cached
    third = fresh.create_event(event, "key-once")
    assert first.id == again.id == third.id
    assert len(stored(radicale_server, user)) == 1
    other = cal.create_event(event, "key-other")
    assert other.id != first.id
    assert len(stored(radicale_server, user)) == 2


def test_unknown_event_id_raises_not_found(make_calendar: Factory) -> None:
    cal, _ = make_calendar()
    with pytest.raises(NotFound, match="No event with id 'nope@x'"):
        cal.get_event("nope@x")
    with pytest.raises(NotFound):
        cal.cancel_event("nope@x/20261101T090000Z", "k")


# ----------------------------------------------------------------- changes


def test_move_sets_new_times_in_the_events_zone_and_a_retry_writes_nothing(
    make_calendar: Factory, radicale_server: Radicale
) -> None:
    cal, user = make_calendar()
    made = cal.create_event(
        new(
            "Call",
            datetime(2026, 11, 24, 9, tzinfo=NEW_YORK),
            datetime(2026, 11, 24, 9, 30, tzinfo=NEW_YORK),
            zone="America/New_York",
        ),
        "key-call",
    )
    target = datetime(2026, 11, 26, 17, tzinfo=BERLIN)  # 11:00 in New York
    moved = cal.move_event(made.id, target, target + timedelta(minutes=45), "key-move")
    assert moved.id == made.id
    assert (moved.start, moved.end) == (target, target + timedelta(minutes=45))
    assert moved.timezone == "America/New_York"
    (raw,) = stored(radicale_server, user)
    (comp,) = vevents(raw)
    assert comp["DTSTART"].params["TZID"] == "America/New_York"
    assert comp["DTSTART"].dt.replace(tzinfo=None) == datetime(2026, 11, 26, 11)
    assert comp["SEQUENCE"] == 1 and moved.sequence == 1

    again = cal.move_event(made.id, target, target + timedelta(minutes=45), "key-move")
    assert again == moved
    (raw,) = stored(radicale_server, user)
    assert vevents(raw)[0]["SEQUENCE"] == 1
    assert cal.get_event(made.id) == moved


def test_move_keeps_a_duration_written_event_on_duration(
    make_calendar: Factory, radicale_server: Radicale
) -> None:
    cal, user = make_calendar()
    cal.list_events(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC))
    put_raw(
        radicale_server,
        user,
        "dur.ics",
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Phone//EN\nBEGIN:VEVENT\nUID:dur-1\n"
        "DTSTAMP:20261101T000000Z\nDTSTART:20261124T090000Z\nDURATION:PT30M\n"
        "SUMMARY:Standup\nEND:VEVENT\nEND:VCALENDAR\n",
    )
    start = datetime(2026, 11, 24, 12, tzinfo=BERLIN)
    moved = cal.move_event("dur-1", start, start + timedelta(hours=1), "k")
    assert (moved.start, moved.end) == (start, start + timedelta(hours=1))
    comp = vevents(stored(radicale_server, user)[0])[0]
    assert "DTEND" not in comp and comp["DURATION"].dt == timedelta(hours=1)
    assert comp["DTSTART"].dt == datetime(2026, 11, 24, 11, tzinfo=UTC)  # still UTC


def test_cancel_keeps_the_event_with_status_cancelled(make_calendar: Factory) -> None:
    cal, _ = make_calendar()
    start = datetime(2026, 11, 27, 10, tzinfo=BERLIN)
    made = cal.create_event(new("Lunch", start, start + timedelta(hours=1)), "key-lunch")
    cancelled = cal.cancel_event(made.id, "key-cancel")
    assert cancelled.status == "cancelled"
    assert cal.cancel_event(made.id, "key-cancel") == cancelled
    day = (datetime(2026, 11, 27, tzinfo=BERLIN), datetime(2026, 11, 28, tzinfo=BERLIN))
    assert cal.list_events(*day) == []
    assert [e.id for e in cal.list_events(*day, include_cancelled=True)] == [made.id]
    assert cal.get_event(made.id).status == "cancelled"
    assert cal.free_busy(*day)["me"] == []
    with pytest.raises(ProviderError, match="cancelled"):
        cal.move_event(made.id, start, start + timedelta(hours=2), "key-move")


def test_a_change_made_elsewhere_in_between_is_not_overwritten(
    make_calendar: Factory, radicale_server: Radicale
) -> None:
    cal, user = make_calendar()
    start = datetime(2026, 11, 27, 10, tzinfo=BERLIN)
    made = cal.create_event(new("Sync", start, start + timedelta(hours=1)), "key-sync")
    seen = cal._find(made.uid)  # what the provider read before writing
    other, _ = make_calendar(user=user)
    other.move_event(made.id, start + timedelta(hours=1), start + timedelta(hours=2), "elsewhere")
    with pytest.raises(ProviderError, match="changed on 127.0.0.1:") as err:
        cal._update(seen, "move the event")
    assert "retry" in str(err.value)
    assert cal.get_event(made.id).start == start + timedelta(hours=1)


# --------------------------------------------------------------- recurrence


def weekly(cal: CalDAVCalendar, zone: str, key: str) -> str:
    tz = ZoneInfo(zone)
    made = cal.create_event(
        new(
            "Weekly sync",
            datetime(2026, 10, 8, 10, tzinfo=tz),
            datetime(2026, 10, 8, 11, tzinfo=tz),
            zone=zone,
            recurrence=["RRULE:FREQ=WEEKLY;COUNT=6", f"EXDATE;TZID={zone}:20261015T100000"],
        ),
        key,
    )
    return made.id


def test_weekly_series_stays_at_ten_local_across_the_european_dst_switch(
    make_calendar: Factory,
) -> None:
    cal, _ = make_calendar("Europe/Berlin")
    series = weekly(cal, "Europe/Berlin", "key-weekly")
    events = cal.list_events(
        datetime(2026, 10, 1, tzinfo=BERLIN), datetime(2026, 12, 1, tzinfo=BERLIN)
    )
    days = [e.start.date() for e in events]
    # Oct 15 is excluded; Oct 25 is the switch from CEST to CET.
    assert days == [date(2026, 10, d) for d in (8, 22, 29)] + [date(2026, 11, d) for d in (5, 12)]
    assert all((e.start.hour, e.end.hour) == (10, 11) for e in events)
    assert all(e.start.tzinfo == BERLIN for e in events)
    assert [e.start.utcoffset() for e in events] == [timedelta(hours=2)] * 2 + [
        timedelta(hours=1)
    ] * 3
    assert {e.recurring_id for e in events} == {series}
    assert len({e.id for e in events}) == 5
    assert events[2].id == f"{series}/20261029T090000Z"
    assert events[2].recurrence_id == datetime(2026, 10, 29, 10, tzinfo=BERLIN)
    assert events[0].recurrence == [
        "RRULE:FREQ=WEEKLY;COUNT=6",
        "EXDATE;TZID=Europe/Berlin:20261015T100000",
    ]
    assert cal.get_event(events[2].id) == events[2]
    whole = cal.get_event(series)
    assert whole.id == series and whole.recurring_id == "" and whole.recurrence
    with pytest.raises(NotFound):
        cal.get_event(f"{series}/20261015T080000Z")  # the excluded date


def test_weekly_series_stays_at_ten_local_across_the_us_dst_switch(
    make_calendar: Factory,
) -> None:
    cal, _ = make_calendar("America/New_York")
    weekly(cal, "America/New_York", "key-weekly-us")
    events = cal.list_events(
        datetime(2026, 10, 1, tzinfo=NEW_YORK), datetime(2026, 12, 1, tzinfo=NEW_YORK)
    )
    # Nov 1 is the switch from EDT to EST.
    assert [e.start.date() for e in events] == [
        date(2026, 10, 8), date(2026, 10, 22), date(2026, 10, 29), date(2026, 11, 5),
        date(2026, 11, 12),
    ]  # fmt: skip
    assert all(e.start.hour == 10 and e.start.tzinfo == NEW_YORK for e in events)
    assert [e.start.utcoffset() for e in events] == [timedelta(hours=-4)] * 3 + [
        timedelta(hours=-5)
    ] * 2


def test_berlin_series_seen_from_new_york_moves_an_hour_in_the_week_between_switches(
    make_calendar: Factory, radicale_server: Radicale
) -> None:
    organiser, user = make_calendar("Europe/Berlin")
    weekly(organiser, "Europe/Berlin", "key-weekly-eu")
    viewer, _ = make_calendar("America/New_York", user=user)
    events = viewer.list_events(
        datetime(2026, 10, 20, tzinfo=NEW_YORK), datetime(2026, 11, 7, tzinfo=NEW_YORK)
    )
    # 10:00 Berlin is 04:00 in New York, except from Oct 25 to Nov 1 (only Europe switched).
    assert [(e.start.date(), e.start.hour) for e in events] == [
        (date(2026, 10, 22), 4), (date(2026, 10, 29), 5), (date(2026, 11, 5), 4),
    ]  # fmt: skip
    assert all(e.timezone == "Europe/Berlin" for e in events)


def test_moving_one_occurrence_writes_an_override_and_leaves_the_series(
    make_calendar: Factory, radicale_server: Radicale
) -> None:
    cal, user = make_calendar()
    series = weekly(cal, "Europe/Berlin", "key-series")
    occurrence = f"{series}/20261029T090000Z"
    start = datetime(2026, 10, 30, 15, tzinfo=BERLIN)
    moved = cal.move_event(occurrence, start, start + timedelta(hours=1), "key-move-one")
    assert moved.id == occurrence and moved.recurring_id == series
    assert moved.start == start

    (raw,) = stored(radicale_server, user)
    comps = vevents(raw)
    master = next(c for c in comps if "RECURRENCE-ID" not in c)
    (override,) = [c for c in comps if "RECURRENCE-ID" in c]
    assert master["DTSTART"].dt == datetime(2026, 10, 8, 10, tzinfo=BERLIN)  # untouched
    assert override["RECURRENCE-ID"].dt == datetime(2026, 10, 29, 10, tzinfo=BERLIN)
    assert override["DTSTART"].dt == start

    events = cal.list_events(
        datetime(2026, 10, 26, tzinfo=BERLIN), datetime(2026, 11, 2, tzinfo=BERLIN)
    )
    assert [(e.id, e.start) for e in events] == [(occurrence, start)]
    assert cal.get_event(occurrence) == events[0]
    with pytest.raises(ProviderError, match="recurring series"):
        cal.move_event(series, start, start + timedelta(hours=1), "key-move-all")


def test_cancelling_one_occurrence_keeps_the_others(make_calendar: Factory) -> None:
    cal, _ = make_calendar()
    series = weekly(cal, "Europe/Berlin", "key-series-cancel")
    gone = cal.cancel_event(f"{series}/20261105T090000Z", "key-cancel-one")
    assert gone.status == "cancelled" and gone.recurring_id == series
    window = (datetime(2026, 10, 1, tzinfo=BERLIN), datetime(2026, 12, 1, tzinfo=BERLIN))
    assert [e.start.day for e in cal.list_events(*window)] == [8, 22, 29, 12]
    everything = cal.list_events(*window, include_cancelled=True)
    assert [e.status for e in everything].count("cancelled") == 1
    whole = cal.cancel_event(series, "key-cancel-all")
    assert whole.status == "cancelled"
    assert cal.list_events(*window) == []


def test_series_from_another_client_with_an_override_and_exdate_expands(
    make_calendar: Factory, radicale_server: Radicale
) -> None:
    cal, user = make_calendar("America/New_York")
    put_raw(
        radicale_server,
        user,
        "phone-series.ics",
        """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Phone//EN
BEGIN:VEVENT
UID:phone-series-1
DTSTAMP:20261001T000000Z
DTSTART;TZID=America/New_York:20261030T090000
DTEND;TZID=America/New_York:20261030T093000
RRULE:FREQ=DAILY;COUNT=5
EXDATE;TZID=America/New_York:20261031T090000
SUMMARY:Run
END:VEVENT
BEGIN:VEVENT
UID:phone-series-1
DTSTAMP:20261001T000000Z
RECURRENCE-ID;TZID=America/New_York:20261102T090000
DTSTART;TZID=America/New_York:20261102T180000
DTEND;TZID=America/New_York:20261102T183000
SUMMARY:Run (evening)
END:VEVENT
END:VCALENDAR
""",
    )
    events = cal.list_events(
        datetime(2026, 10, 30, tzinfo=NEW_YORK), datetime(2026, 11, 4, tzinfo=NEW_YORK)
    )
    assert [(e.start.day, e.start.hour, e.title) for e in events] == [
        (30, 9, "Run"), (1, 9, "Run"), (2, 18, "Run (evening)"), (3, 9, "Run"),
    ]  # fmt: skip
    assert events[2].id == "phone-series-1/20261102T140000Z"  # its original start, in UTC
    assert cal.get_event(events[2].id).title == "Run (evening)"


# ---------------------------------------------------------------- all day


def test_all_day_event_runs_from_local_midnight_to_midnight_even_on_a_25_hour_day(
    make_calendar: Factory, radicale_server: Radicale
) -> None:
    cal, user = make_calendar()
    made = cal.create_event(
        new(
            "Offsite",
            datetime(2026, 10, 25, tzinfo=BERLIN),
            datetime(2026, 10, 26, tzinfo=BERLIN),
            all_day=True,
        ),
        "key-offsite",
    )
    assert made.all_day
    assert made.start == datetime(2026, 10, 25, tzinfo=BERLIN)
    assert made.end == datetime(2026, 10, 26, tzinfo=BERLIN)
    assert made.end.astimezone(UTC) - made.start.astimezone(UTC) == timedelta(hours=25)
    comp = vevents(stored(radicale_server, user)[0])[0]
    assert comp["DTSTART"].dt == date(2026, 10, 25) and comp["DTEND"].dt == date(2026, 10, 26)

    listed = cal.list_events(
        datetime(2026, 10, 25, 12, tzinfo=BERLIN), datetime(2026, 10, 25, 13, tzinfo=BERLIN)
    )
    assert [e.id for e in listed] == [made.id] and listed[0].all_day
    assert (
        cal.list_events(
            datetime(2026, 10, 26, tzinfo=BERLIN), datetime(2026, 10, 27, tzinfo=BERLIN)
        )
        == []
    )

    moved = cal.move_event(
        made.id,
        datetime(2026, 10, 27, 9, tzinfo=BERLIN),
        datetime(2026, 10, 28, 17, tzinfo=BERLIN),
        "k",
    )
    assert moved.all_day
    assert (moved.start, moved.end) == (
        datetime(2026, 10, 27, tzinfo=BERLIN),
        datetime(2026, 10, 29, tzinfo=BERLIN),
    )
    viewer, _ = make_calendar("America/New_York", user=user)
    (seen,) = viewer.list_events(
        datetime(2026, 10, 27, tzinfo=NEW_YORK), datetime(2026, 10, 28, tzinfo=NEW_YORK)
    )
    assert seen.start == datetime(2026, 10, 27, tzinfo=NEW_YORK)  # a date is local everywhere


# --------------------------------------------------------- other clients


def test_event_from_another_client_with_a_tzid_shows_at_the_right_instant(
    make_calendar: Factory, radicale_server: Radicale
) -> None:
    cal, user = make_calendar("Europe/Berlin")
    put_raw(
        radicale_server,
        user,
        "nyc.ics",
        """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Desktop//EN
BEGIN:VTIMEZONE
TZID:America/New_York
BEGIN:DAYLIGHT
DTSTART:20070311T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
TZNAME:EDT
END:DAYLIGHT
BEGIN:STANDARD
DTSTART:20071104T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
TZNAME:EST
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
UID:desktop-nyc-1
DTSTAMP:20261001T000000Z
DTSTART;TZID=America/New_York:20261029T090000
DTEND;TZID=America/New_York:20261029T100000
SUMMARY:New York call
END:VEVENT
END:VCALENDAR
""",
    )
    put_raw(
        radicale_server,
        user,
        "outlook.ics",
        """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Outlook//EN
BEGIN:VTIMEZONE
TZID:W. Europe Standard Time
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
UID:outlook-1
DTSTAMP:20261001T000000Z
DTSTART;TZID=W. Europe Standard Time:20261029T160000
DTEND;TZID=W. Europe Standard Time:20261029T170000
SUMMARY:Outlook meeting
END:VEVENT
END:VCALENDAR
""",
    )
    events = cal.list_events(
        datetime(2026, 10, 29, tzinfo=BERLIN), datetime(2026, 10, 30, tzinfo=BERLIN)
    )
    assert [(e.title, e.start, e.timezone) for e in events] == [
        # 09:00 EDT (UTC-4) is 14:00 CET (UTC+1): Europe already left summer time.
        ("New York call", datetime(2026, 10, 29, 14, tzinfo=BERLIN), "America/New_York"),
        ("Outlook meeting", datetime(2026, 10, 29, 16, tzinfo=BERLIN), "Europe/Berlin"),
    ]
    assert events[0].id == "desktop-nyc-1" and events[0].recurring_id == ""
    assert cal.get_event("desktop-nyc-1") == events[0]


# ----------------------------------------------------------- invitations


INVITATION = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Acme//EN
BEGIN:VEVENT
UID:acme-invite-1
DTSTAMP:20261101T000000Z
DTSTART:20261124T130000Z
DTEND:20261124T140000Z
SUMMARY:Acme kickoff
ORGANIZER;CN=Dana:mailto:dana@acme.test
ATTENDEE;CN=Dana;PARTSTAT=ACCEPTED:mailto:dana@acme.test
ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{me}
SEQUENCE:2
END:VEVENT
END:VCALENDAR
"""


def test_respond_sets_the_principals_partstat_and_nothing_else(
    make_calendar: Factory, radicale_server: Radicale
) -> None:
    cal, user = make_calendar()
    put_raw(radicale_server, user, "invite.ics", INVITATION.format(me=f"{user}@example.test"))
    me = f"{user}@example.test"
    assert cal.get_event("acme-invite-1").attendance[me] == "needs-action"
    answered = cal.respond("acme-invite-1", "accepted", "key-answer")
    assert answered.attendance == {"dana@acme.test": "accepted", me: "accepted"}
    comp = vevents(stored(radicale_server, user)[0])[0]
    lines = {str(a).lower(): a.params for a in comp["ATTENDEE"]}
    assert lines[f"mailto:{me}"]["PARTSTAT"] == "ACCEPTED"
    assert "RSVP" not in lines[f"mailto:{me}"]
    assert lines["mailto:dana@acme.test"]["PARTSTAT"] == "ACCEPTED"
    assert comp["SEQUENCE"] == 2  # an attendee's answer is not a new version
    assert cal.respond("acme-invite-1", "accepted", "key-answer") == answered

    declined = cal.respond("acme-invite-1", "declined", "key-answer-2")
    assert declined.attendance[me] == "declined"
    day = (datetime(2026, 11, 24, tzinfo=BERLIN), datetime(2026, 11, 25, tzinfo=BERLIN))
    assert cal.free_busy(*day)["me"] == []  # a declined invitation does not block time
    assert [e.id for e in cal.list_events(*day)] == ["acme-invite-1"]


def test_respond_to_an_event_without_the_principal_is_refused(make_calendar: Factory) -> None:
    cal, _ = make_calendar()
    start = datetime(2026, 11, 24, 9, tzinfo=BERLIN)
    made = cal.create_event(
        new("Mine", start, start + timedelta(hours=1), attendees=["x@acme.test"]), "k"
    )
    with pytest.raises(ProviderError, match="not an attendee"):
        cal.respond(made.id, "accepted", "k2")
    with pytest.raises(ProviderError, match="not an answer"):
        cal.respond(made.id, "maybe", "k3")  # type: ignore[arg-type]


# -------------------------------------------------------------- free/busy


def test_free_busy_has_the_principals_busy_times_and_nothing_invented_for_others(
    make_calendar: Factory, radicale_server: Radicale
) -> None:
    cal, user = make_calendar()
    start = datetime(2026, 11, 24, 9, tzinfo=BERLIN)
    cal.create_event(new("Busy", start, start + timedelta(hours=1)), "k1")
    cal.create_event(new("Later", start + timedelta(hours=5), start + timedelta(hours=6)), "k2")
    put_raw(
        radicale_server,
        user,
        "free.ics",
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Phone//EN\nBEGIN:VEVENT\nUID:transp-1\n"
        "DTSTAMP:20261101T000000Z\nDTSTART:20261124T100000Z\nDTEND:20261124T110000Z\n"
        "TRANSP:TRANSPARENT\nSUMMARY:Reminder\nEND:VEVENT\nEND:VCALENDAR\n",
    )
    me = f"{user}@example.test"
    answer = cal.free_busy(start, start + timedelta(hours=8), [me, "dana@acme.test"])
    assert [(b.start, b.end, b.title) for b in answer["me"]] == [
        (start, start + timedelta(hours=1), "Busy"),
        (start + timedelta(hours=5), start + timedelta(hours=6), "Later"),
    ]
    assert answer[me] == answer["me"]
    assert "dana@acme.test" not in answer  # Radicale has no scheduling outbox


def test_schedule_response_is_read_into_busy_periods() -> None:
    data = b"""<?xml version="1.0" encoding="utf-8"?>
<C:schedule-response xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <C:response>
    <C:recipient><D:href>mailto:Dana@acme.test</D:href></C:recipient>
    <C:request-status>2.0;Success</C:request-status>
    <C:calendar-data>BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Server//EN
METHOD:REPLY
BEGIN:VFREEBUSY
UID:fb-1
DTSTAMP:20261101T000000Z
DTSTART:20261124T000000Z
DTEND:20261125T000000Z
FREEBUSY;FBTYPE=BUSY:20261124T090000Z/20261124T100000Z,20261124T140000Z/PT30M
FREEBUSY;FBTYPE=FREE:20261124T110000Z/20261124T120000Z
FREEBUSY;FBTYPE=BUSY-TENTATIVE:20261124T160000Z/PT1H
END:VFREEBUSY
END:VCALENDAR
</C:calendar-data>
  </C:response>
  <C:response>
    <C:recipient><D:href>mailto:nobody@acme.test</D:href></C:recipient>
    <C:request-status>3.7;Invalid calendar user</C:request-status>
  </C:response>
</C:schedule-response>"""
    answer = parse_schedule_response(data, ["dana@acme.test", "nobody@acme.test"], BERLIN)
    assert list(answer) == ["dana@acme.test"]
    assert [(b.start.hour, b.end.hour, b.end.minute) for b in answer["dana@acme.test"]] == [
        (10, 11, 0), (15, 15, 30), (17, 18, 0),
    ]  # fmt: skip
    assert all(b.start.tzinfo == BERLIN for b in answer["dana@acme.test"])


# ---------------------------------------------------------------- settings


def test_calendar_setting_picks_a_calendar_by_name_or_path(
    make_calendar: Factory, radicale_server: Radicale
) -> None:
    user = radicale_server.new_user()
    with raw_client(radicale_server, user) as client:
        principal = client.principal()
        principal.make_calendar(name="Home", cal_id="home")
        principal.make_calendar(name="Work", cal_id="work")
    start = datetime(2026, 11, 24, 9, tzinfo=BERLIN)
    by_name, _ = make_calendar(user=user, calendar="work")
    made = by_name.create_event(new("At work", start, start + timedelta(hours=1)), "k")
    by_path, _ = make_calendar(user=user, calendar=f"/{user}/work/")
    assert by_path.get_event(made.id) == made
    home, _ = make_calendar(user=user, calendar="Home")
    with pytest.raises(NotFound):
        home.get_event(made.id)
    missing, _ = make_calendar(user=user, calendar="Holidays")
    with pytest.raises(ProviderError, match="no calendar named 'Holidays'.*'Home'"):
        missing.list_events(start, start + timedelta(hours=1))
    wrong_path, _ = make_calendar(user=user, calendar=f"/{user}/nothing/")
    with pytest.raises(ProviderError, match="no calendar at"):
        wrong_path.list_events(start, start + timedelta(hours=1))


def test_wrong_password_is_an_error_that_does_not_contain_it(
    make_calendar: Factory, radicale_server: Radicale, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "hunter2-not-this-one"
    cal, _ = make_calendar(password=secret)
    with pytest.raises(ProviderError) as err:
        cal.list_events(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC))
    text = str(err.value)
    assert "refused the login" in text and f"127.0.0.1:{radicale_server.port}" in text
    assert secret not in text and secret not in repr(cal.settings)
    assert secret not in caplog.text
    assert err.value.__cause__ is None and secret not in str(err.value.__context__)


def test_another_users_calendar_is_forbidden_with_a_clear_error(
    make_calendar: Factory, radicale_server: Radicale
) -> None:
    cal, _ = make_calendar(calendar="/bob/")
    with pytest.raises(ProviderError, match="does not let"):
        cal.list_events(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC))


def test_https_with_the_servers_ca_works_and_an_unknown_ca_is_refused_clearly(
    radicale_tls_server: Radicale, tmp_path: Path
) -> None:
    user = radicale_tls_server.new_user()
    who = Principal(id=user, email=f"{user}@example.test", timezone="Europe/Berlin")
    start = datetime(2026, 11, 24, 9, tzinfo=BERLIN)
    trusted = open_calendar(radicale_tls_server.account(user), who, tmp_path)
    made = trusted.create_event(new("Secure", start, start + timedelta(hours=1)), "k")
    assert [e.id for e in trusted.list_events(start, start + timedelta(hours=1))] == [made.id]
    trusted.close()

    account = radicale_tls_server.account(user)
    del account["ca_file"]
    untrusted = open_calendar(account, who, tmp_path)
    with pytest.raises(ProviderError, match="secure connection.*certificate not trusted.*ca_file"):
        untrusted.get_event(made.id)
    untrusted.close()


def test_server_down_is_an_error_naming_host_and_port(make_calendar: Factory) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but not listening: connections are refused
        cal, _ = make_calendar(url=f"http://127.0.0.1:{port}/")
        with pytest.raises(ProviderError, match=f"127.0.0.1:{port}.*connection refused"):
            cal.list_events(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC))


def test_missing_settings_are_named(radicale_server: Radicale, tmp_path: Path) -> None:
    who = Principal(id="ada", email="ada@example.test", timezone="Europe/Berlin")
    with pytest.raises(ProviderError, match="url"):
        open_calendar({"username": "ada", "password": "x"}, who, tmp_path)
    with pytest.raises(ProviderError, match="username"):
        open_calendar({"url": radicale_server.url, "password": "x"}, who, tmp_path)
    with pytest.raises(ProviderError, match="password_env"):
        open_calendar({"url": radicale_server.url, "username": "ada"}, who, tmp_path)
    cal = open_calendar(
        {"url": "http://ada:inline-secret@127.0.0.1:1/dav", "username": "ada", "password": "p"},
        who,
        tmp_path,
    )
    assert "inline-secret" not in cal.settings.url


def test_naive_datetimes_are_refused(make_calendar: Factory) -> None:
    cal, _ = make_calendar()
    with pytest.raises(ProviderError, match="time zone"):
        cal.list_events(datetime(2026, 1, 1), datetime(2026, 1, 2))


# -------------------------------------------------------------- packaging


def test_real_urllib3_is_kept() -> None:
    """caldav 1.x runs on requests; urllib3-future (from caldav 2+) must not replace urllib3."""
    installed = {(d.metadata["Name"] or "").lower() for d in metadata.distributions()}
    assert "urllib3-future" not in installed
    assert "niquests" not in installed
    assert metadata.packages_distributions()["urllib3"] == ["urllib3"]

    import urllib3

    dist = metadata.distribution("urllib3")
    files = {Path(str(dist.locate_file(f))).resolve() for f in dist.files or []}
    assert Path(urllib3.__file__).resolve() in files
    assert urllib3.__version__ == dist.version
    assert int(metadata.version("caldav").split(".")[0]) < 2

    import google.auth.transport.requests
    import msal
    import requests

    for module in (requests.adapters, google.auth.transport.requests, msal, caldav.davclient):
        assert module.__name__ in sys.modules
    assert sys.modules["urllib3"] is urllib3
    assert requests.adapters.PoolManager.__module__.startswith("urllib3.")
    assert (
        Path(sys.modules[requests.adapters.PoolManager.__module__].__file__ or "").resolve()
        in files
    )
    assert caldav.davclient.requests is requests
