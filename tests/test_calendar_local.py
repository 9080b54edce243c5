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
from agent.principals import Principal
from tools.base import ToolError, registry
from tools.context import ToolContext, Workspace
from tools.providers.base import CalendarProvider, NewEvent, NotFound, ProviderError
from tools.providers.local.calendar import LocalCalendar
from tools.providers.local.contacts import LocalContacts
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
    ws = Workspace(
        principal=principal, root=tmp_path, calendar=calendar, mail=object(), contacts=contacts
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
    with pytest.raises(ToolError, match="ISO 8601"):
        cal_tools.agenda(ctx, start="next tuesday")
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
        ({"start": "Tuesday 10am"}, r"start: .*Use ISO 8601 like 2026-11-24T10:00"),
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
