"""The local SQLite calendar, its iCalendar export, and the calendar tools."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from toolkit import preview, run

import tools.calendar as cal_tools
from tools.base import ToolError, registry
from tools.context import ToolContext, Workspace
from tools.foundation.principals import Principal
from tools.providers.base import CalendarProvider, NewEvent, NotFound, ProviderError
from tools.providers.local.calendar import LocalCalendar
from tools.providers.local.contacts import LocalContacts
from tools.providers.local.mail import LocalMail
from tools.scheduling import find_slots

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)  # a Monday


@pytest.fixture
def principal() -> Principal:
    return Principal(id="ada", name="Ada", email="ada@example.com", timezone="Europe/Berlin")


@pytest.fixture
def calendar(tmp_path: Path, principal: Principal) -> Iterator[LocalCalendar]:
    c = LocalCalendar(tmp_path, principal)
    yield c
    c.close()


@pytest.fixture
def ctx(tmp_path: Path, principal: Principal, calendar: LocalCalendar) -> Iterator[ToolContext]:
    contacts = LocalContacts(tmp_path)
    mail = LocalMail(tmp_path, principal, clock=lambda: NOW)
    ws = Workspace(
        principal=principal, root=tmp_path, calendar=calendar, mail=mail, contacts=contacts
    )
    yield ToolContext(principal=principal, workspace=ws, clock=lambda: NOW)
    contacts.close()


def at(day: int, hour: int, minute: int = 0, tz: ZoneInfo = BERLIN) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=tz)


def new(title: str, start: datetime, end: datetime, **kw: Any) -> NewEvent:
    return NewEvent(title=title, start=start, end=end, timezone="Europe/Berlin", **kw)


# ----------------------------------------------------------------- provider


def test_local_calendar_satisfies_the_protocol(calendar: LocalCalendar) -> None:
    assert isinstance(calendar, CalendarProvider)


def test_create_is_idempotent_per_key(calendar: LocalCalendar) -> None:
    first = calendar.create_event(new("Board call", at(24, 10), at(24, 11)), "key-1")
    again = calendar.create_event(new("Board call", at(24, 10), at(24, 11)), "key-1")
    other = calendar.create_event(new("Board call", at(24, 10), at(24, 11)), "key-2")
    assert again.id == first.id
    assert other.id != first.id
    assert len(calendar.list_events(at(24, 0), at(25, 0))) == 2


def test_events_come_back_in_their_zone_after_reopening(
    tmp_path: Path, principal: Principal
) -> None:
    c = LocalCalendar(tmp_path, principal)
    made = c.create_event(
        NewEvent(
            title="NY lunch",
            start=at(24, 12, tz=NEW_YORK),
            end=at(24, 13, tz=NEW_YORK),
            timezone="America/New_York",
            attendees=["dana@acme.com"],
        ),
        "k",
    )
    c.close()
    c = LocalCalendar(tmp_path, principal)
    got = c.get_event(made.id)
    c.close()
    assert got.start == at(24, 18)  # the same instant as 18:00 in Berlin
    assert got.start.tzinfo == NEW_YORK and got.start.hour == 12
    assert got.attendees == ["dana@acme.com"] and got.organizer == "ada@example.com"


def test_all_day_event_is_dates_at_local_midnight(calendar: LocalCalendar) -> None:
    ev = calendar.create_event(new("Offsite", at(26, 0), at(28, 0), all_day=True), "k")
    assert ev.all_day
    assert ev.start == at(26, 0) and ev.end == at(28, 0)
    assert ev.start.tzinfo == BERLIN
    # An all-day span given with clock times still covers whole days.
    ev2 = calendar.create_event(new("Trip", at(26, 15), at(26, 16), all_day=True), "k2")
    assert (ev2.start, ev2.end) == (at(26, 0), at(27, 0))


def test_all_day_event_blocks_the_day(calendar: LocalCalendar, principal: Principal) -> None:
    calendar.create_event(new("Offsite", at(24, 0), at(25, 0), all_day=True), "k")
    busy = calendar.free_busy(at(23, 0), at(26, 0))["me"]
    slots = find_slots(principal, busy, at(23, 0), at(26, 0), timedelta(minutes=30), limit=200)
    assert slots
    assert not [s for s in slots if s.start.date() == date(2026, 11, 24)]


def test_list_events_overlap_order_and_cancelled_hidden(calendar: LocalCalendar) -> None:
    late = calendar.create_event(new("Late", at(24, 15), at(24, 16)), "a")
    early = calendar.create_event(new("Early", at(24, 9), at(24, 10)), "b")
    calendar.create_event(new("Tomorrow", at(25, 9), at(25, 10)), "c")
    assert [e.id for e in calendar.list_events(at(24, 9, 30), at(24, 15, 30))] == [
        early.id,
        late.id,
    ]
    assert calendar.list_events(at(24, 10), at(24, 15)) == []  # end is exclusive
    calendar.cancel_event(late.id, "cancel-1")
    assert [e.id for e in calendar.list_events(at(24, 0), at(25, 0))] == [early.id]
    everything = calendar.list_events(at(24, 0), at(25, 0), include_cancelled=True)
    assert [e.status for e in everything] == ["confirmed", "cancelled"]


def test_move_and_cancel_unknown_id_raise_not_found(calendar: LocalCalendar) -> None:
    with pytest.raises(NotFound, match="No event with id 'nope'"):
        calendar.move_event("nope", at(24, 10), at(24, 11), "k")
    with pytest.raises(NotFound, match="agenda"):
        calendar.cancel_event("nope", "k")


def test_repeated_move_with_the_same_key_is_a_no_op(calendar: LocalCalendar) -> None:
    ev = calendar.create_event(new("Call", at(24, 10), at(24, 11)), "create")
    calendar.move_event(ev.id, at(24, 14), at(24, 15), "move-1")
    calendar.move_event(ev.id, at(24, 16), at(24, 17), "move-2")
    replay = calendar.move_event(ev.id, at(24, 14), at(24, 15), "move-1")
    assert replay.start == at(24, 16)
    assert calendar.cancel_event(ev.id, "cancel").status == "cancelled"
    assert calendar.cancel_event(ev.id, "cancel").status == "cancelled"
    with pytest.raises(ProviderError, match="cancelled"):
        calendar.move_event(ev.id, at(24, 9), at(24, 10), "move-3")


def test_free_busy_knows_only_the_principal(calendar: LocalCalendar) -> None:
    calendar.create_event(new("Call", at(24, 10), at(24, 11)), "k")
    answer = calendar.free_busy(at(24, 0), at(25, 0), ["dana@acme.com", "ADA@example.com"])
    assert set(answer) == {"me", "ADA@example.com"}
    assert [(b.start, b.end, b.title) for b in answer["me"]] == [(at(24, 10), at(24, 11), "Call")]


def test_naive_and_backwards_times_are_refused(calendar: LocalCalendar) -> None:
    ev = calendar.create_event(new("Call", at(24, 10), at(24, 11)), "k")
    with pytest.raises(ProviderError, match="time zone"):
        calendar.move_event(ev.id, datetime(2026, 11, 24, 12), datetime(2026, 11, 24, 13), "m")
    with pytest.raises(ProviderError, match="end after it starts"):
        calendar.move_event(ev.id, at(24, 12), at(24, 12), "m2")


def test_ics_export_parses_back_with_tzids_dates_and_status(calendar: LocalCalendar) -> None:
    timed = calendar.create_event(
        new(
            "Board call",
            at(24, 10),
            at(24, 11),
            location="Room 1",
            description="Q4",
            attendees=["dana@acme.com"],
        ),
        "a",
    )
    calendar.create_event(new("Offsite", at(26, 0), at(28, 0), all_day=True), "b")
    calendar.create_event(
        NewEvent(
            title="NY lunch",
            start=at(25, 12, tz=NEW_YORK),
            end=at(25, 13, tz=NEW_YORK),
            timezone="America/New_York",
        ),
        "c",
    )
    gone = calendar.create_event(new("Dropped", at(27, 9), at(27, 10)), "d")
    calendar.cancel_event(gone.id, "e")

    parsed = icalendar.Calendar.from_ical(calendar.export_ics())
    assert "Secretary" in str(parsed["PRODID"])
    assert {tz["TZID"] for tz in parsed.walk("VTIMEZONE")} == {
        "Europe/Berlin",
        "America/New_York",
    }
    events = {str(e["SUMMARY"]): e for e in parsed.walk("VEVENT")}
    board = events["Board call"]
    assert str(board["UID"]).startswith(timed.id)
    assert board["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert board["DTSTART"].dt == at(24, 10)
    assert board["DTEND"].dt == at(24, 11)
    assert str(board["LOCATION"]) == "Room 1" and str(board["DESCRIPTION"]) == "Q4"
    assert str(board["ATTENDEE"]) == "mailto:dana@acme.com"
    assert str(board["STATUS"]) == "CONFIRMED"
    offsite = events["Offsite"]
    assert offsite["DTSTART"].params["VALUE"] == "DATE"
    assert (offsite["DTSTART"].dt, offsite["DTEND"].dt) == (date(2026, 11, 26), date(2026, 11, 28))
    assert events["NY lunch"]["DTSTART"].params["TZID"] == "America/New_York"
    assert str(events["Dropped"]["STATUS"]) == "CANCELLED"


def test_ics_export_can_be_limited_to_a_window(calendar: LocalCalendar) -> None:
    calendar.create_event(new("Mon", at(23, 10), at(23, 11)), "a")
    calendar.create_event(new("Tue", at(24, 10), at(24, 11)), "b")
    parsed = icalendar.Calendar.from_ical(calendar.export_ics(at(24, 0), at(25, 0)))
    assert [str(e["SUMMARY"]) for e in parsed.walk("VEVENT")] == ["Tue"]


# -------------------------------------------------------------------- tools


def test_calendar_tools_declare_their_effects() -> None:
    tools = registry()
    assert {n: tools[n].effect for n in ("agenda", "find_free_slots")} == {
        "agenda": "read",
        "find_free_slots": "read",
    }
    for name in ("create_event", "move_event", "cancel_event"):
        assert tools[name].effect == "write" and tools[name].preview is not None
        assert tools[name].duty == "calendar"
    assert (
        "ctx" not in tools["create_event"].openai_schema()["function"]["parameters"]["properties"]
    )


def test_agenda_defaults_to_today_in_the_principal_zone(
    ctx: ToolContext, calendar: LocalCalendar
) -> None:
    calendar.create_event(new("Standup", at(23, 9, 30), at(23, 10)), "a")
    calendar.create_event(new("Tomorrow", at(24, 9), at(24, 10)), "b")
    out = cal_tools.agenda(ctx)
    assert out["from"] == "2026-11-23T00:00:00+01:00"
    assert [e["title"] for e in out["events"]] == ["Standup"]
    assert out["events"][0]["when"] == "Mon 23 Nov 09:30-10:00"


def test_agenda_date_end_is_inclusive_and_all_day_shows_dates(
    ctx: ToolContext, calendar: LocalCalendar
) -> None:
    calendar.create_event(new("Offsite", at(25, 0), at(27, 0), all_day=True), "a")
    out = cal_tools.agenda(ctx, start="2026-11-24", end="2026-11-25")
    (ev,) = out["events"]
    assert (ev["start"], ev["last_day"]) == ("2026-11-25", "2026-11-26")
    assert ev["when"] == "Wed 25 Nov - Thu 26 Nov (all day)"


def test_agenda_bad_input_is_a_tool_error(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="start: .*Write a date or time such as 2026-11-24T10:00"):
        cal_tools.agenda(ctx, start="next blursday")
    with pytest.raises(ToolError, match="days must be between"):
        cal_tools.agenda(ctx, days=0)


def test_find_free_slots_tool_avoids_busy_and_the_past(
    ctx: ToolContext, calendar: LocalCalendar
) -> None:
    calendar.create_event(new("Block", at(23, 10), at(23, 12)), "a")
    out = cal_tools.find_free_slots(ctx, 60, start="2026-11-20", end="2026-11-23")
    starts = [s["start"] for s in out["slots"]]
    assert starts == [
        "2026-11-23T09:00:00+01:00",
        "2026-11-23T12:00:00+01:00",
        "2026-11-23T13:00:00+01:00",
        "2026-11-23T14:00:00+01:00",
        "2026-11-23T15:00:00+01:00",
    ]
    with pytest.raises(ToolError, match="already over"):
        cal_tools.find_free_slots(ctx, 30, start="2026-11-01", end="2026-11-02")


def test_find_free_slots_explains_when_nothing_fits(ctx: ToolContext) -> None:
    out = cal_tools.find_free_slots(ctx, 600, start="2026-11-24", end="2026-11-24")
    assert out["slots"] == [] and "Try a wider window" in out["note"]


def test_create_preview_summarises_and_flags_conflicts(
    ctx: ToolContext, calendar: LocalCalendar
) -> None:
    calendar.create_event(new("Board call", at(24, 10, 30), at(24, 11, 30)), "a")
    p = preview(
        ctx,
        "create_event",
        title="Budget",
        start="2026-11-24T10:00",
        attendees=["dana@acme.com"],
        location="Room 1",
    )
    assert p.summary == "Create event 'Budget' on Tue 24 Nov 10:00-11:00 (Europe/Berlin)"
    assert p.details == {
        "When": "Tue 24 Nov 10:00-11:00 (Europe/Berlin)",
        "Attendees": "dana@acme.com",
        "Where": "Room 1",
        "Invitations": "an invitation (.ics) is e-mailed to dana@acme.com",
    }
    assert p.warnings == ["Overlaps 'Board call' 10:30-11:30"]
    # Previewing changes nothing.
    assert len(calendar.list_events(at(24, 0), at(25, 0))) == 1


def test_preview_warns_about_evenings_and_the_past(ctx: ToolContext) -> None:
    evening = preview(ctx, "create_event", title="Dinner", start="2026-11-24T19:00")
    assert evening.warnings == ["Outside working hours (09:00-17:00 mon-fri)"]
    past = preview(ctx, "create_event", title="Oops", start="2026-11-20T10:00")
    assert "Starts in the past" in past.warnings


def test_create_in_the_past_is_a_tool_error(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="in the past"):
        run(ctx, "create_event", "k", title="Oops", start="2026-11-20T10:00")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"start": "someday soon"}, r"start: .*Write a date or time such as 2026-11-24T10:00"),
        ({"start": "Tuesday afternoon"}, r"start: .*is a span .*find_free_slots"),
        ({"start": "2026-11-24T10:00", "end": "2026-11-24T09:00"}, "must be after start"),
        ({"start": "2026-11-24T10:00", "attendees": ["Dana"]}, "find_contact"),
        ({"start": "2026-11-24T10:00", "duration_minutes": 0}, "duration_minutes"),
    ],
)
def test_bad_create_arguments_give_a_helpful_tool_error(
    ctx: ToolContext, args: dict[str, Any], message: str
) -> None:
    with pytest.raises(ToolError, match=message):
        preview(ctx, "create_event", title="Meeting", **args)
    with pytest.raises(ToolError, match=message):
        run(ctx, "create_event", "k", title="Meeting", **args)


def test_create_tool_runs_once_per_idempotency_key(
    ctx: ToolContext, calendar: LocalCalendar
) -> None:
    a = run(ctx, "create_event", "ledger-1", title="Budget", start="2026-11-24T10:00")
    b = run(ctx, "create_event", "ledger-1", title="Budget", start="2026-11-24T10:00")
    assert a["id"] == b["id"]
    assert a["start"] == "2026-11-24T10:00:00+01:00" and a["end"] == "2026-11-24T11:00:00+01:00"
    assert len(calendar.list_events(at(24, 0), at(25, 0))) == 1


def test_create_all_day_tool_takes_the_last_day_inclusive(ctx: ToolContext) -> None:
    out = run(
        ctx,
        "create_event",
        "k",
        title="Offsite",
        start="2026-11-26",
        end="2026-11-27",
        all_day=True,
    )
    assert (out["start"], out["end"], out["last_day"]) == ("2026-11-26", "2026-11-28", "2026-11-27")


def test_move_keeps_duration_and_preview_ignores_the_event_itself(
    ctx: ToolContext, calendar: LocalCalendar
) -> None:
    ev = calendar.create_event(new("Call", at(24, 10), at(24, 10, 45)), "a")
    calendar.create_event(new("Lunch", at(24, 12), at(24, 13)), "b")
    p = preview(ctx, "move_event", event_id=ev.id, start="2026-11-24T10:30")
    assert p.summary == (
        "Move 'Call' from Tue 24 Nov 10:00-10:45 to Tue 24 Nov 10:30-11:15 (Europe/Berlin)"
    )
    assert p.warnings == []
    clash = preview(ctx, "move_event", event_id=ev.id, start="2026-11-24T12:30")
    assert clash.warnings == ["Overlaps 'Lunch' 12:00-13:00"]
    out = run(ctx, "move_event", "m", event_id=ev.id, start="2026-11-24T15:00")
    assert (out["start"], out["end"]) == ("2026-11-24T15:00:00+01:00", "2026-11-24T15:45:00+01:00")


def test_move_or_cancel_unknown_event_is_a_tool_error(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="Use agenda"):
        preview(ctx, "move_event", event_id="evt-missing", start="2026-11-24T10:00")
    with pytest.raises(ToolError, match="Use agenda"):
        run(ctx, "move_event", "k", event_id="evt-missing", start="2026-11-24T10:00")
    with pytest.raises(ToolError, match="Use agenda"):
        preview(ctx, "cancel_event", event_id="evt-missing")
    with pytest.raises(ToolError, match="Use agenda"):
        run(ctx, "cancel_event", "k", event_id="evt-missing")


def test_cancel_preview_shows_the_event_and_run_cancels_it(
    ctx: ToolContext, calendar: LocalCalendar
) -> None:
    ev = calendar.create_event(
        new("Call", at(24, 10), at(24, 11), attendees=["dana@acme.com"]), "a"
    )
    p = preview(ctx, "cancel_event", event_id=ev.id)
    assert p.summary == "Cancel event 'Call' on Tue 24 Nov 10:00-11:00 (Europe/Berlin)"
    assert p.details["Attendees"] == "dana@acme.com"
    assert run(ctx, "cancel_event", "c", event_id=ev.id)["status"] == "cancelled"
    assert cal_tools.agenda(ctx, start="2026-11-24")["events"] == []
    assert preview(ctx, "cancel_event", event_id=ev.id).warnings == ["Already cancelled"]


# ---------------------------------------------------------------- recurring


def weekly(title: str, start: datetime, end: datetime, rule: str, **kw: Any) -> NewEvent:
    return new(title, start, end, recurrence=[rule], **kw)


def oct_(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=BERLIN)


def test_series_expands_in_its_own_zone_across_daylight_saving(
    tmp_path: Path, principal: Principal
) -> None:
    c = LocalCalendar(tmp_path, principal)
    series = c.create_event(
        weekly("Jour fixe", oct_(20, 10), oct_(20, 11), "RRULE:FREQ=WEEKLY;COUNT=4"), "k"
    )
    window = (oct_(1, 0), at(30, 0))
    got = c.list_events(*window)
    assert [e.start.strftime("%d %H:%M %Z") for e in got] == [
        "20 10:00 CEST",
        "27 10:00 CET",
        "03 10:00 CET",
        "10 10:00 CET",
    ]
    assert all(e.recurring_id == series.id and e.uid == series.uid for e in got)
    assert got[1].id == f"{series.id}_20261027T090000Z"
    assert got[1].recurrence_id == got[1].start
    c.close()
    reopened = LocalCalendar(tmp_path, principal)
    assert [e.id for e in reopened.list_events(*window)] == [e.id for e in got]
    assert reopened.get_event(got[2].id).start == got[2].start
    reopened.close()


def test_exdate_and_free_busy_of_a_series(calendar: LocalCalendar) -> None:
    series = calendar.create_event(
        new(
            "Standup",
            at(23, 9, 30),
            at(23, 9, 45),
            recurrence=["RRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", "EXDATE:20261125T093000"],
        ),
        "k",
    )
    assert series.recurrence[1] == "EXDATE;TZID=Europe/Berlin:20261125T093000"
    busy = calendar.free_busy(at(23, 0), at(28, 0))["me"]
    assert [b.start.day for b in busy] == [23, 24, 26, 27]
    with pytest.raises(NotFound, match="no occurrence"):
        calendar.get_event(f"{series.id}_20261125T083000Z")


def test_one_occurrence_moves_or_is_cancelled_alone_once_per_key(
    calendar: LocalCalendar,
) -> None:
    series = calendar.create_event(
        weekly("1:1", at(24, 10), at(24, 10, 30), "RRULE:FREQ=WEEKLY;COUNT=3"), "k"
    )
    second = calendar.list_events(at(30, 0), datetime(2026, 12, 5, tzinfo=BERLIN))[0]
    moved = calendar.move_event(second.id, at(30, 15), at(30, 15, 30), "m1")
    assert (moved.id, moved.start, moved.sequence) == (second.id, at(30, 15), 1)
    assert moved.recurrence_id == datetime(2026, 12, 1, 10, tzinfo=BERLIN)
    again = calendar.move_event(second.id, at(30, 16), at(30, 16, 30), "m1")
    assert again.start == at(30, 15)
    third = calendar.list_events(
        datetime(2026, 12, 8, tzinfo=BERLIN), datetime(2026, 12, 9, tzinfo=BERLIN)
    )[0]
    assert calendar.cancel_event(third.id, "c1").status == "cancelled"
    window = (at(23, 0), datetime(2026, 12, 31, tzinfo=BERLIN))
    assert [(e.start, e.status) for e in calendar.list_events(*window)] == [
        (at(24, 10), "confirmed"),
        (at(30, 15), "confirmed"),
    ]
    assert len(calendar.list_events(*window, include_cancelled=True)) == 3
    assert calendar.get_event(series.id).sequence == 0
    with pytest.raises(ProviderError, match="move single occurrences"):
        calendar.move_event(series.id, at(24, 11), at(24, 11, 30), "m2")


def test_a_whole_series_moves_and_cancels(calendar: LocalCalendar) -> None:
    series = calendar.create_event(
        weekly("Review", at(24, 10), at(24, 11), "RRULE:FREQ=WEEKLY;COUNT=2"), "k"
    )
    calendar.move_event(series.id, at(25, 14), at(25, 15), "m")
    window = (at(23, 0), datetime(2026, 12, 31, tzinfo=BERLIN))
    assert [e.start for e in calendar.list_events(*window)] == [
        at(25, 14),
        datetime(2026, 12, 2, 14, tzinfo=BERLIN),
    ]
    calendar.cancel_event(series.id, "c")
    assert calendar.list_events(*window) == []
    assert {e.status for e in calendar.list_events(*window, include_cancelled=True)} == {
        "cancelled"
    }


def test_all_day_yearly_series_blocks_each_day(
    calendar: LocalCalendar, principal: Principal
) -> None:
    calendar.create_event(
        new("Holiday", at(24, 0), at(25, 0), all_day=True, recurrence=["RRULE:FREQ=DAILY;COUNT=2"]),
        "k",
    )
    events = calendar.list_events(at(23, 0), at(28, 0))
    assert [(e.start, e.end, e.id[-8:]) for e in events] == [
        (at(24, 0), at(25, 0), "20261124"),
        (at(25, 0), at(26, 0), "20261125"),
    ]
    busy = calendar.free_busy(at(23, 0), at(28, 0))["me"]
    slots = find_slots(principal, busy, at(23, 0), at(28, 0), timedelta(minutes=30), limit=500)
    assert {s.start.day for s in slots} == {23, 26, 27}


@pytest.mark.parametrize(
    "lines",
    [["FREQ=WEEKLY"], ["RRULE:FREQ=SOMETIMES"], ["EXDATE:20261201T100000"], ["DTSTART:20261201"]],
)
def test_bad_recurrence_lines_are_refused(calendar: LocalCalendar, lines: list[str]) -> None:
    with pytest.raises(ProviderError):
        calendar.create_event(new("X", at(24, 10), at(24, 11), recurrence=lines), "k")


def test_export_keeps_rrule_and_changed_occurrences(calendar: LocalCalendar) -> None:
    series = calendar.create_event(
        weekly("1:1", at(24, 10), at(24, 10, 30), "RRULE:FREQ=WEEKLY;UNTIL=20261231T230000Z"),
        "k",
    )
    second = f"{series.id}_20261201T090000Z"
    calendar.move_event(second, at(30, 15), at(30, 15, 30), "m")
    parsed = icalendar.Calendar.from_ical(calendar.export_ics())
    items = parsed.walk("VEVENT")
    assert len(items) == 2
    main, changed = items
    assert main["RRULE"].to_ical() == b"FREQ=WEEKLY;UNTIL=20261231T230000Z"
    assert str(changed["UID"]) == str(main["UID"]) == series.uid
    assert changed["RECURRENCE-ID"].dt == datetime(2026, 12, 1, 10, tzinfo=BERLIN)
    assert changed["RECURRENCE-ID"].params["TZID"] == "Europe/Berlin"
    assert int(changed["SEQUENCE"]) == 1


def test_respond_records_the_answer_once_and_a_declined_event_is_not_busy(
    calendar: LocalCalendar,
) -> None:
    ev = calendar.create_event(new("Pitch", at(24, 10), at(24, 11)), "k")
    assert calendar.respond(ev.id, "declined", "r1").attendance == {"ada@example.com": "declined"}
    assert calendar.respond(ev.id, "accepted", "r1").attendance["ada@example.com"] == "declined"
    assert calendar.free_busy(at(24, 0), at(25, 0))["me"] == []
    calendar.respond(ev.id, "tentative", "r2")
    assert len(calendar.free_busy(at(24, 0), at(25, 0))["me"]) == 1


def test_a_calendar_file_from_before_recurrence_still_opens(
    tmp_path: Path, principal: Principal
) -> None:
    import sqlite3

    from tools.foundation.db import Storage

    db = sqlite3.connect(tmp_path / "calendar.sqlite")
    db.executescript(
        "CREATE TABLE events (id TEXT PRIMARY KEY, title TEXT NOT NULL, start_utc TEXT NOT NULL,"
        " end_utc TEXT NOT NULL, start_date TEXT, end_date TEXT, timezone TEXT NOT NULL,"
        " all_day INTEGER NOT NULL DEFAULT 0, location TEXT NOT NULL DEFAULT '',"
        " description TEXT NOT NULL DEFAULT '', attendees TEXT NOT NULL DEFAULT '[]',"
        " organizer TEXT NOT NULL DEFAULT '', status TEXT NOT NULL DEFAULT 'confirmed',"
        " sequence INTEGER NOT NULL DEFAULT 0, last_key TEXT NOT NULL DEFAULT '',"
        " created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
        "INSERT INTO events VALUES ('evt-old', 'Old', '2026-11-24T09:00:00.000000Z',"
        " '2026-11-24T10:00:00.000000Z', NULL, NULL, 'Europe/Berlin', 0, '', '', '[]',"
        " 'ada@example.com', 'confirmed', 0, '', '2026-11-01T00:00:00.000000Z',"
        " '2026-11-01T00:00:00.000000Z');"
    )
    db.commit()
    db.close()
    # The file is SQLite by nature, so it is opened as one whichever backend the run uses.
    c = LocalCalendar(tmp_path, principal, storage=Storage(tmp_path))
    [old] = c.list_events(at(24, 0), at(25, 0))
    assert (old.id, old.start, old.uid, old.recurrence) == (
        "evt-old",
        at(24, 10),
        "evt-old@secretary.local",
        [],
    )
    c.close()


# ------------------------------------------------------ tools with phrases


def add_contact(ctx: ToolContext, email: str, zone: str) -> None:
    from tools.providers.base import Contact

    ctx.contacts.upsert(Contact(name=email.split("@")[0].title(), email=email, timezone=zone))


def test_agenda_reads_a_period_phrase_and_says_how(
    ctx: ToolContext, calendar: LocalCalendar
) -> None:
    calendar.create_event(
        weekly("Jour fixe", at(24, 10), at(24, 11), "RRULE:FREQ=WEEKLY;COUNT=3"), "k"
    )
    out = cal_tools.agenda(ctx, start="next week")
    assert (out["from"], out["until"]) == ("2026-11-30T00:00:00+01:00", "2026-12-07T00:00:00+01:00")
    assert out["read_as"] == "'next week' read as Monday 30 November – Sunday 6 December 2026"
    [occurrence] = out["events"]
    assert occurrence["when"] == "Tue 1 Dec 10:00-11:00"
    assert occurrence["repeats"] == "weekly, 3 times" and occurrence["recurring_id"]
    assert cal_tools.agenda(ctx, start="tomorrow", days=2)["until"] == "2026-11-26T00:00:00+01:00"


def test_find_free_slots_ranks_for_an_attendee_in_another_zone(ctx: ToolContext) -> None:
    add_contact(ctx, "dana@acme.com", "America/New_York")
    out = cal_tools.find_free_slots(
        ctx, 45, start="next week", attendees=["dana@acme.com"], limit=3
    )
    assert out["read_as"].startswith("'next week' read as Monday 30 November")
    first = out["slots"][0]
    assert first["start"] == "2026-11-30T14:00:00+01:00"
    assert first["why"] == "inside everyone's working hours; 7 days out"
    assert first["their_time"] == {"dana@acme.com": "Mon 30 Nov 08:00-08:45 America/New_York"}
    assert [s["rank"] for s in out["slots"]] == [1, 2, 3]
    # The local calendar cannot see Dana's calendar; the answer says so.
    assert out["unknown_calendars"] == ["dana@acme.com"]


def test_find_free_slots_searches_just_the_window_a_phrase_names(ctx: ToolContext) -> None:
    out = cal_tools.find_free_slots(ctx, 60, start="next Tuesday afternoon", limit=10)
    starts = [s["start"][11:16] for s in out["slots"]]
    assert starts == ["13:00", "14:00", "15:00", "16:00"]
    assert all(s["start"].startswith("2026-12-01") for s in out["slots"])
    morning = cal_tools.find_free_slots(ctx, 60, start="next week mornings", limit=2)
    assert all("morning as preferred" in s["why"] for s in morning["slots"])


def test_create_preview_shows_how_a_phrase_was_read(
    ctx: ToolContext, calendar: LocalCalendar
) -> None:
    p = preview(ctx, "create_event", title="Budget", start="next Tuesday at 10")
    assert p.summary == "Create event 'Budget' on Tue 1 Dec 10:00-11:00 (Europe/Berlin)"
    assert p.details["Read as"] == "'next Tuesday at 10' read as Tuesday 1 December 2026, 10:00 CET"
    out = run(ctx, "create_event", "k", title="Budget", start="next Tuesday at 10")
    assert out["start"] == "2026-12-01T10:00:00+01:00"
    assert out["read_as"] == p.details["Read as"]
    ranged = run(ctx, "create_event", "k2", title="Call", start="tomorrow 14:00-14:30")
    assert (ranged["start"], ranged["end"]) == (
        "2026-11-24T14:00:00+01:00",
        "2026-11-24T14:30:00+01:00",
    )


def test_create_repeating_event_previews_the_rule_and_conflicting_occurrences(
    ctx: ToolContext, calendar: LocalCalendar
) -> None:
    calendar.create_event(
        new(
            "Board",
            datetime(2026, 12, 8, 10, tzinfo=BERLIN),
            datetime(2026, 12, 8, 11, tzinfo=BERLIN),
        ),
        "b",
    )
    args = {
        "title": "1:1",
        "start": "2026-11-24T10:00",
        "duration_minutes": 30,
        "repeat": "weekly, 4 times",
    }
    p = preview(ctx, "create_event", **args)
    assert p.details["Repeats"] == "weekly, 4 times"
    assert p.warnings == ["Overlaps 'Board' Tue 8 Dec 10:00-11:00"]
    run(ctx, "create_event", "k", **args)
    out = cal_tools.agenda(ctx, start="2026-11-23", end="2026-12-31")
    assert [e["when"] for e in out["events"] if e["title"] == "1:1"] == [
        "Tue 24 Nov 10:00-10:30",
        "Tue 1 Dec 10:00-10:30",
        "Tue 8 Dec 10:00-10:30",
        "Tue 15 Dec 10:00-10:30",
    ]
    with pytest.raises(ToolError, match="repeat: 'now and then'"):
        preview(ctx, "create_event", title="X", start="2026-11-24T10:00", repeat="now and then")


def test_create_preview_gives_the_attendees_clock_and_daylight_saving_notes(
    ctx: ToolContext,
) -> None:
    add_contact(ctx, "dana@acme.com", "America/New_York")
    p = preview(
        ctx, "create_event", title="Sync", start="2027-03-16T15:00", attendees=["dana@acme.com"]
    )
    assert p.details["For dana@acme.com"] == "Tue 16 Mar 2027 10:00-11:00 EDT (America/New_York)"
    assert (
        "America/New_York is 5 h behind Europe/Berlin on that day (6 h today) "
        "because of daylight saving"
    ) in p.warnings
    early = preview(
        ctx, "create_event", title="Early", start="2027-03-16T09:00", attendees=["dana@acme.com"]
    )
    assert "Outside working hours for dana@acme.com (04:00 America/New_York)" in early.warnings
    switch = preview(ctx, "create_event", title="Sunday", start="2027-03-28T15:00")
    assert any(
        w.startswith("Clocks change in Europe/Berlin that day (CET to CEST)")
        for w in switch.warnings
    )


def test_series_across_the_switch_stays_local_and_warns_about_the_shift(ctx: ToolContext) -> None:
    add_contact(ctx, "dana@acme.com", "America/New_York")
    p = preview(
        ctx, "create_event", title="Weekly", start="2027-03-09T15:00",
        attendees=["dana@acme.com"], repeat="weekly, 4 times",
    )  # fmt: skip
    assert (
        "Clocks change in Europe/Berlin on Sun 28 Mar 2027 (CET to CEST); "
        "the series stays at 15:00 Europe/Berlin"
    ) in p.warnings
    assert any("the series shifts by an hour" in w for w in p.warnings)


def test_move_tool_on_an_occurrence_moves_only_it(
    ctx: ToolContext, calendar: LocalCalendar
) -> None:
    series = calendar.create_event(
        weekly("1:1", at(24, 10), at(24, 10, 30), "RRULE:FREQ=WEEKLY;COUNT=3"), "k"
    )
    occurrence = f"{series.id}_20261201T090000Z"
    p = preview(ctx, "move_event", event_id=occurrence, start="next Tuesday at 15:00")
    assert p.details["Repeats"] == "only this occurrence moves; the rest of the series stays"
    assert p.summary == (
        "Move '1:1' from Tue 1 Dec 10:00-10:30 to Tue 1 Dec 15:00-15:30 (Europe/Berlin)"
    )
    run(ctx, "move_event", "m", event_id=occurrence, start="next Tuesday at 15:00")
    whens = [
        e["when"] for e in cal_tools.agenda(ctx, start="2026-11-23", end="2026-12-31")["events"]
    ]
    assert whens == ["Tue 24 Nov 10:00-10:30", "Tue 1 Dec 15:00-15:30", "Tue 8 Dec 10:00-10:30"]


def sent_mail(ctx: ToolContext) -> list[Any]:
    return ctx.mail.search(folder="sent", limit=50)


def test_propose_times_previews_and_sends_ranked_times_in_both_zones(
    ctx: ToolContext, calendar: LocalCalendar
) -> None:
    add_contact(ctx, "dana@acme.com", "America/New_York")
    calendar.create_event(new("Busy", at(30, 14), at(30, 15)), "b")
    args = {
        "to": ["Dana <dana@acme.com>"],
        "subject": "Budget review",
        "duration_minutes": 45,
        "start": "next week",
        "note": "Hi Dana,",
    }
    p = preview(ctx, "propose_times", **args)
    assert p.summary == "E-mail dana@acme.com offering 3 times for 'Budget review'"
    assert p.details["Times"] == (
        "1. Mon 30 Nov 15:00-15:45; 2. Tue 1 Dec 14:00-14:45; 3. Wed 2 Dec 14:00-14:45"
    )
    assert p.details["Read as"].startswith("'next week' read as")
    assert p.body is not None
    assert "1. Monday 30 November, 09:00-09:45 EST (America/New_York)\n" in p.body
    assert "   = Monday 30 November, 15:00-15:45 CET (Europe/Berlin)" in p.body
    assert p.body.startswith("Hi Dana,\n\nWould one of these times suit you for 'Budget review'")
    assert sent_mail(ctx) == []
    out = run(ctx, "propose_times", "k", **args)
    again = run(ctx, "propose_times", "k", **args)
    assert out["message_id"] == again["message_id"]
    [mail] = sent_mail(ctx)
    message = ctx.mail.get_message(mail.message_id)
    assert message.body.strip() == p.body.strip()
    assert out["offered"][0] == {
        "start": "2026-11-30T15:00:00+01:00",
        "end": "2026-11-30T15:45:00+01:00",
    }


def test_propose_times_with_given_times_warns_about_a_conflict(
    ctx: ToolContext, calendar: LocalCalendar
) -> None:
    calendar.create_event(new("Dentist", at(24, 10), at(24, 11)), "b")
    p = preview(
        ctx, "propose_times", to=["eve@example.org"], subject="Coffee", duration_minutes=30,
        times=["tomorrow at 10", "Wednesday 14:00"], draft=True,
    )  # fmt: skip
    assert p.summary == "Save a draft to eve@example.org offering 2 times for 'Coffee'"
    assert p.warnings == ["Tue 24 Nov 10:00-10:30: Overlaps 'Dentist' 10:00-11:00"]
    run(
        ctx, "propose_times", "k", to=["eve@example.org"], subject="Coffee", duration_minutes=30,
        times=["tomorrow at 10", "Wednesday 14:00"], draft=True,
    )  # fmt: skip
    assert sent_mail(ctx) == [] and len(ctx.mail.search(folder="drafts")) == 1


def test_phrase_is_read_against_when_the_action_was_proposed(ctx: ToolContext) -> None:
    # Proposed on Monday 23 Nov; approved (and run) early on Tuesday 24 Nov.
    ctx.clock = lambda: at(24, 8)
    ctx.reference_time = at(23, 9)
    run(ctx, "create_event", "k-ref", title="Review", start="tomorrow at 10",
        duration_minutes=30)  # fmt: skip
    [event] = ctx.calendar.list_events(at(23, 0), at(30, 0))
    assert event.start == at(24, 10)  # "tomorrow" of the card, not of the approval


def test_an_event_can_end_in_another_zone_and_exports_both(calendar: LocalCalendar) -> None:
    # A flight: it leaves Berlin at 10:00 local and lands in New York at 13:00 local.
    flight = calendar.create_event(
        NewEvent(
            title="LH 400 BER-JFK",
            start=datetime(2026, 12, 3, 10, 0, tzinfo=BERLIN),
            end=datetime(2026, 12, 3, 13, 0, tzinfo=NEW_YORK),
            timezone="Europe/Berlin",
            end_timezone="America/New_York",
        ),
        "k-flight",
    )
    again = calendar.get_event(flight.id)
    assert again.start.tzinfo == BERLIN and again.start.hour == 10
    assert again.end.tzinfo == NEW_YORK and again.end.hour == 13
    assert again.end_timezone == "America/New_York"
    assert again.end - again.start == timedelta(hours=9)
    cal = icalendar.Calendar.from_ical(calendar.export_ics())
    [vevent] = [c for c in cal.walk("VEVENT") if "BER-JFK" in str(c["summary"])]
    assert vevent["dtstart"].params["TZID"] == "Europe/Berlin"
    assert vevent["dtend"].params["TZID"] == "America/New_York"
    assert vevent["dtend"].dt.hour == 13
