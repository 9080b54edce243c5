"""Free-slot finding and strict date parsing, including daylight-saving days."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.foundation.principals import WEEKDAYS, Principal, WorkingHours
from tools.providers.base import Busy
from tools.scheduling import Attendee, Slot, find_slots, is_date_only, parse_when, rank_slots

HOUR = timedelta(hours=1)


def principal(zone: str, hours: str = "09:00-17:00 mon-sun") -> Principal:
    return Principal(timezone=zone, working_hours=WorkingHours.parse(hours))


def day_window(zone: str, y: int, m: int, d: int) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    start = datetime(y, m, d, tzinfo=tz)
    return start, datetime.combine(start.date() + timedelta(days=1), time(0), tzinfo=tz)


def real(slot: Slot) -> timedelta:
    return slot.end.astimezone(UTC) - slot.start.astimezone(UTC)


@pytest.mark.parametrize(
    ("zone", "day", "offset_after"),
    [
        ("Europe/Berlin", (2026, 3, 29), timedelta(hours=2)),
        ("Europe/Berlin", (2026, 10, 25), timedelta(hours=1)),
        ("America/New_York", (2026, 3, 8), timedelta(hours=-4)),
        ("America/New_York", (2026, 11, 1), timedelta(hours=-5)),
    ],
)
def test_working_day_on_dst_switch_starts_at_nine_local_and_slots_last_real_minutes(
    zone: str, day: tuple[int, int, int], offset_after: timedelta
) -> None:
    p = principal(zone)
    start, end = day_window(zone, *day)
    slots = find_slots(p, [], start, end, HOUR, limit=100)
    assert slots[0].start.astimezone(p.tz).time() == time(9, 0)
    assert slots[0].start.utcoffset() == offset_after
    assert slots[-1].end.astimezone(p.tz).time() == time(17, 0)
    # 09:00..16:00 every 15 minutes: the working day is eight real hours on both sides.
    assert len(slots) == 29
    assert all(real(s) == HOUR for s in slots)
    assert all(s.start.astimezone(p.tz).date() == start.date() for s in slots)


def test_slot_across_spring_forward_gap_is_real_minutes_and_skips_missing_times() -> None:
    p = principal("Europe/Berlin", "00:00-06:00 mon-sun")
    start, end = day_window("Europe/Berlin", 2026, 3, 29)
    slots = find_slots(p, [], start, end, HOUR, step=timedelta(minutes=30), limit=100)
    walls = [s.start.astimezone(p.tz).strftime("%H:%M") for s in slots]
    assert "02:00" not in walls and "02:30" not in walls
    by_start = {s.start.astimezone(p.tz).strftime("%H:%M"): s for s in slots}
    assert by_start["01:30"].end.astimezone(p.tz).strftime("%H:%M") == "03:30"
    assert all(real(s) == HOUR for s in slots)
    # Six wall-clock hours are five real hours that day.
    assert slots[-1].end.astimezone(p.tz).time() == time(6, 0)


def test_fall_back_day_offers_the_longer_night() -> None:
    p = principal("America/New_York", "00:00-04:00 mon-sun")
    start, end = day_window("America/New_York", 2026, 11, 1)
    slots = find_slots(p, [], start, end, HOUR, step=HOUR, limit=100)
    assert all(real(s) == HOUR for s in slots)
    assert slots[-1].end.astimezone(p.tz).time() == time(4, 0)
    total = slots[-1].end.astimezone(UTC) - slots[0].start.astimezone(UTC)
    assert total == timedelta(hours=5)


def test_no_slot_overlaps_busy_or_its_buffer() -> None:
    p = principal("Europe/Berlin", "09:00-17:00")
    tz = p.tz
    busy = [
        Busy(
            start=datetime(2026, 11, 24, 10, tzinfo=tz), end=datetime(2026, 11, 24, 11, tzinfo=tz)
        ),
        Busy(
            start=datetime(2026, 11, 24, 13, tzinfo=tz), end=datetime(2026, 11, 24, 15, tzinfo=tz)
        ),
    ]
    start, end = day_window("Europe/Berlin", 2026, 11, 24)
    buffer = timedelta(minutes=15)
    slots = find_slots(p, busy, start, end, timedelta(minutes=30), buffer=buffer, limit=100)
    assert slots
    for s in slots:
        for b in busy:
            assert s.end <= b.start - buffer or s.start >= b.end + buffer
    starts = [s.start.strftime("%H:%M") for s in slots]
    assert starts[:3] == ["09:00", "09:15", "11:15"]


def test_busy_in_another_zone_blocks_the_same_instant() -> None:
    p = principal("Europe/Berlin", "09:00-17:00")
    ny = ZoneInfo("America/New_York")
    # 04:00 in New York is 10:00 in Berlin.
    busy = [
        Busy(start=datetime(2026, 11, 24, 3, tzinfo=ny), end=datetime(2026, 11, 24, 4, tzinfo=ny))
    ]
    start, end = day_window("Europe/Berlin", 2026, 11, 24)
    slots = find_slots(p, busy, start, end, HOUR, step=HOUR, limit=10)
    assert [s.start.hour for s in slots] == [10, 11, 12, 13, 14, 15, 16]


def test_minimum_notice_and_step_alignment() -> None:
    p = principal("Europe/Berlin", "09:00-17:00")
    start, end = day_window("Europe/Berlin", 2026, 11, 24)
    not_before = datetime(2026, 11, 24, 10, 7, tzinfo=p.tz)
    slots = find_slots(p, [], start, end, HOUR, not_before=not_before, limit=2)
    assert [s.start.strftime("%H:%M") for s in slots] == ["10:15", "10:30"]


def test_weekends_and_evenings_are_never_offered() -> None:
    p = principal("Europe/Berlin", "09:00-17:00 mon-fri")
    tz = p.tz
    # Fri 27 Nov 16:30 .. Mon 30 Nov 10:00
    slots = find_slots(
        p,
        [],
        datetime(2026, 11, 27, 16, 30, tzinfo=tz),
        datetime(2026, 11, 30, 10, 0, tzinfo=tz),
        timedelta(minutes=30),
        limit=100,
    )
    assert [s.start.strftime("%a %H:%M") for s in slots] == [
        "Fri 16:30",
        "Mon 09:00",
        "Mon 09:15",
        "Mon 09:30",
    ]


def test_limit_and_impossible_requests() -> None:
    p = principal("Europe/Berlin", "09:00-17:00")
    start, end = day_window("Europe/Berlin", 2026, 11, 24)
    assert len(find_slots(p, [], start, end, HOUR, limit=3)) == 3
    assert find_slots(p, [], start, end, timedelta(hours=9)) == []
    with pytest.raises(ValueError):
        find_slots(p, [], start, end, timedelta(0))
    with pytest.raises(ValueError):
        find_slots(p, [], start.replace(tzinfo=None), end, HOUR)


# ----------------------------------------------------------------- property


ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]


@st.composite
def scenarios(draw: st.DrawFn) -> dict:
    zone = draw(st.sampled_from(ZONES))
    h1 = draw(st.integers(0, 20))
    h2 = draw(st.integers(h1 + 1, 23))
    days = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True))
    days = sorted(days, key=WEEKDAYS.index)
    p = Principal(
        timezone=zone,
        working_hours=WorkingHours(
            start=time(h1, draw(st.sampled_from([0, 30]))), end=time(h2), days=days
        ),
    )
    base = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 365 * 24 * 60)))
    length = timedelta(hours=draw(st.integers(1, 24 * 10)))
    busy = [
        Busy(
            start=base + timedelta(minutes=off),
            end=base + timedelta(minutes=off + dur),
        )
        for off, dur in draw(
            st.lists(st.tuples(st.integers(-600, 14000), st.integers(1, 600)), max_size=10)
        )
    ]
    return {
        "principal": p,
        "busy": busy,
        "start": base,
        "end": base + length,
        "duration": timedelta(minutes=draw(st.integers(5, 300))),
        "buffer": timedelta(minutes=draw(st.sampled_from([0, 5, 15, 60]))),
        "step": timedelta(minutes=draw(st.sampled_from([5, 15, 30, 60]))),
        "not_before": base + timedelta(minutes=draw(st.integers(0, 3000))),
    }


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_property_slots_are_free_inside_working_hours_and_of_requested_length(sc: dict) -> None:
    p: Principal = sc["principal"]
    slots = find_slots(
        p,
        sc["busy"],
        sc["start"],
        sc["end"],
        sc["duration"],
        buffer=sc["buffer"],
        step=sc["step"],
        not_before=sc["not_before"],
        limit=50,
    )
    wh = p.working_hours
    for s in slots:
        assert real(s) == sc["duration"]
        assert s.start >= sc["start"] and s.start >= sc["not_before"] and s.end <= sc["end"]
        for b in sc["busy"]:
            assert s.end <= b.start - sc["buffer"] or s.start >= b.end + sc["buffer"]
        a, e = s.start.astimezone(p.tz), s.end.astimezone(p.tz)
        assert WEEKDAYS[a.weekday()] in wh.days
        assert a.date() == e.date()
        assert wh.start <= a.time() and e.time() <= wh.end
        wall = a.replace(tzinfo=None) - datetime.combine(a.date(), time(0))
        assert wall % sc["step"] == timedelta(0)
    assert slots == sorted(slots, key=lambda s: s.start)


# ------------------------------------------------------------------ parsing

BERLIN = ZoneInfo("Europe/Berlin")


def test_parse_when_reads_naive_times_in_the_principal_zone() -> None:
    dt = parse_when("2026-11-24T10:00", BERLIN)
    assert dt == datetime(2026, 11, 24, 10, tzinfo=BERLIN)
    assert dt.utcoffset() == timedelta(hours=1)
    assert parse_when("2026-11-24 10:00", BERLIN) == dt


def test_parse_when_honours_z_and_offsets() -> None:
    assert parse_when("2026-11-24T09:00Z", BERLIN).hour == 10
    assert parse_when("2026-11-24T04:00-05:00", BERLIN).hour == 10
    assert parse_when("2026-11-24T09:00Z", BERLIN).tzinfo == BERLIN


def test_parse_when_date_means_local_midnight() -> None:
    assert parse_when("2026-07-01", BERLIN) == datetime(2026, 7, 1, tzinfo=BERLIN)
    assert is_date_only("2026-07-01") and not is_date_only("2026-07-01T00:00")


@pytest.mark.parametrize("text", ["tomorrow at 10", "24/11/2026", "2026-13-01", "", "10:00"])
def test_parse_when_rejects_other_formats_with_a_sentence_naming_iso(text: str) -> None:
    with pytest.raises(
        ValueError, match=r"ISO 8601 like 2026-11-24T10:00 \(time zone Europe/Berlin"
    ):
        parse_when(text, BERLIN)


def test_parse_when_rejects_a_time_skipped_by_daylight_saving() -> None:
    with pytest.raises(ValueError, match="does not exist in Europe/Berlin"):
        parse_when("2026-03-29T02:30", BERLIN)


# ------------------------------------------------------------------ ranking

NEW_YORK = ZoneInfo("America/New_York")


def berlin_principal(hours: str = "09:00-17:00 mon-fri") -> Principal:
    return Principal(
        id="ada", email="ada@example.com", timezone="Europe/Berlin",
        working_hours=WorkingHours.parse(hours),
    )  # fmt: skip


def test_rank_prefers_times_inside_every_attendees_own_working_hours() -> None:
    p = berlin_principal()
    start, end = day_window("Europe/Berlin", 2026, 11, 24)
    dana = Attendee(email="dana@acme.com", tz=NEW_YORK)
    now = start - timedelta(hours=15)  # Monday 09:00
    ranked = rank_slots(
        p, [], start, end, timedelta(minutes=45), now=now, attendees=[dana], limit=3
    )
    # 08:00 in New York is 14:00 in Berlin in November (six hours apart).
    assert [s.start.strftime("%H:%M") for s in ranked] == ["14:00", "14:45", "15:30"]
    assert [s.rank for s in ranked] == [1, 2, 3]
    assert ranked[0].explanation == "inside everyone's working hours; tomorrow"
    assert ranked[0].local_times == {"dana@acme.com": "Tue 24 Nov 08:00-08:45 America/New_York"}


def test_rank_still_offers_hours_outside_an_attendees_day_but_last_and_says_so() -> None:
    p = berlin_principal("09:00-12:00 mon-fri")
    start, end = day_window("Europe/Berlin", 2026, 11, 24)
    dana = Attendee(email="dana@acme.com", tz=NEW_YORK)
    ranked = rank_slots(p, [], start, end, HOUR, now=start, attendees=[dana], limit=2)
    assert ranked and ranked[0].outside_hours == ["dana@acme.com"]
    assert ranked[0].explanation.startswith("outside working hours for dana@acme.com")


@pytest.mark.parametrize(
    ("day", "first_joint"),
    [
        ((2026, 3, 3), "14:00"),  # both on winter time: 6 h apart
        ((2026, 3, 8), "13:00"),  # US switch Sunday: New York on summer time, Berlin not yet
        ((2026, 3, 10), "13:00"),
        ((2026, 3, 29), "14:00"),  # European switch Sunday: both on summer time again
        ((2026, 10, 25), "13:00"),  # Europe back on winter time, New York not yet
        ((2026, 10, 27), "13:00"),
        ((2026, 11, 1), "14:00"),  # US switch back: 6 h again
    ],
)
def test_joint_hours_follow_each_zones_own_daylight_saving_switch(
    day: tuple[int, int, int], first_joint: str
) -> None:
    p = berlin_principal("09:00-17:00 mon-sun")
    start, end = day_window("Europe/Berlin", *day)
    everyday = WorkingHours.parse("08:00-18:00 mon-sun")
    dana = Attendee(email="dana@acme.com", tz=NEW_YORK, hours=everyday)
    ranked = rank_slots(
        p, [], start, end, HOUR, now=start - timedelta(days=1), attendees=[dana], limit=1
    )
    assert ranked[0].start.astimezone(p.tz).strftime("%H:%M") == first_joint
    assert ranked[0].local_times["dana@acme.com"].split()[3] == "08:00-09:00"
    assert real(Slot(start=ranked[0].start, end=ranked[0].end)) == HOUR


def test_explanation_mentions_a_gap_changed_by_daylight_saving() -> None:
    p = berlin_principal()
    start, end = day_window("Europe/Berlin", 2026, 3, 10)
    dana = Attendee(email="dana@acme.com", tz=NEW_YORK)
    now = datetime(2026, 3, 2, 9, tzinfo=p.tz)  # a week earlier the zones were 6 h apart
    [slot] = rank_slots(p, [], start, end, HOUR, now=now, attendees=[dana], limit=1)
    assert (
        "America/New_York is 5 h behind Europe/Berlin on that day (6 h today) "
        "because of daylight saving"
    ) in slot.reasons


def test_all_day_event_blocks_the_whole_local_day() -> None:
    p = berlin_principal()
    tz = p.tz
    offsite = Busy(start=datetime(2026, 11, 24, tzinfo=tz), end=datetime(2026, 11, 25, tzinfo=tz))
    start, end = datetime(2026, 11, 24, tzinfo=tz), datetime(2026, 11, 26, tzinfo=tz)
    ranked = rank_slots(p, [offsite], start, end, HOUR, now=start, limit=20)
    assert ranked and all(s.start.astimezone(tz).day == 25 for s in ranked)


def test_preferences_rank_first_and_are_explained() -> None:
    p = berlin_principal()
    now = datetime(2026, 11, 23, 9, tzinfo=p.tz)
    start, end = now, datetime(2026, 11, 28, tzinfo=p.tz)
    dana = Attendee(email="dana@acme.com", tz=ZoneInfo("Europe/London"))
    busy = [
        Busy(
            start=datetime(2026, 11, 24, 9, tzinfo=p.tz),
            end=datetime(2026, 11, 24, 12, tzinfo=p.tz),
        )
    ]
    ranked = rank_slots(
        p, busy, start, end, timedelta(minutes=45), now=now, attendees=[dana],
        prefer="morning", prefer_days=["wed", "thu"], limit=3, notice=timedelta(hours=24),
    )  # fmt: skip
    first = ranked[0]
    # 09:00 in Berlin is 08:00 in London, the start of Dana's day.
    assert first.start.astimezone(p.tz).strftime("%a %H:%M") == "Wed 09:00"
    assert first.explanation == (
        "inside everyone's working hours; morning as preferred; Wed as preferred; 2 days out"
    )
    assert ranked[1].start.astimezone(p.tz).strftime("%a %H:%M") == "Thu 09:00"


def test_options_are_spread_over_days_and_never_overlap() -> None:
    p = berlin_principal()
    now = datetime(2026, 11, 23, 9, tzinfo=p.tz)
    ranked = rank_slots(
        p, [], now, now + timedelta(days=7), HOUR, now=now, limit=4, step=timedelta(minutes=30)
    )
    days = [s.start.astimezone(p.tz).date() for s in ranked]
    assert len(set(days)) == 4
    one_day = rank_slots(p, [], now, datetime(2026, 11, 24, tzinfo=p.tz), HOUR, now=now, limit=4)
    assert [s.start.strftime("%H:%M") for s in one_day] == ["09:00", "10:00", "11:00", "12:00"]


def test_attendee_busy_blocks_and_an_unseen_calendar_does_not() -> None:
    p = berlin_principal()
    start, end = day_window("Europe/Berlin", 2026, 11, 24)
    busy_dana = [Busy(start=start.replace(hour=9), end=start.replace(hour=12))]
    dana = Attendee(email="dana@acme.com", busy=busy_dana)
    eve = Attendee(email="eve@acme.com", busy=None)
    ranked = rank_slots(p, [], start, end, HOUR, now=start, attendees=[dana, eve], limit=1)
    assert ranked[0].start.strftime("%H:%M") == "12:00"
    assert ranked[0].explanation == "inside your working hours; today"


@st.composite
def meetings(draw: st.DrawFn) -> dict:
    sc = draw(scenarios())
    people = []
    for i in range(draw(st.integers(0, 3))):
        zone = draw(st.sampled_from([None, *ZONES]))
        busy = [
            Busy(
                start=sc["start"] + timedelta(minutes=off),
                end=sc["start"] + timedelta(minutes=off + dur),
            )
            for off, dur in draw(
                st.lists(st.tuples(st.integers(-600, 14000), st.integers(1, 600)), max_size=6)
            )
        ]
        people.append(
            Attendee(email=f"p{i}@x.example", tz=ZoneInfo(zone) if zone else None, busy=busy)
        )
    sc["attendees"] = people
    sc["prefer"] = draw(st.sampled_from(["any", "morning", "afternoon"]))
    return sc


@settings(max_examples=150, deadline=None)
@given(meetings())
def test_property_ranked_slots_are_free_for_all_inside_hours_and_of_requested_length(
    sc: dict,
) -> None:
    p: Principal = sc["principal"]
    ranked = rank_slots(
        p, sc["busy"], sc["start"], sc["end"], sc["duration"], now=sc["not_before"],
        attendees=sc["attendees"], buffer=sc["buffer"], step=sc["step"],
        prefer=sc["prefer"], limit=5,
    )  # fmt: skip
    everyone = list(sc["busy"]) + [b for a in sc["attendees"] for b in a.busy]
    wh = p.working_hours
    assert [s.rank for s in ranked] == list(range(1, len(ranked) + 1))
    for i, s in enumerate(ranked):
        assert real(Slot(start=s.start, end=s.end)) == sc["duration"]
        assert s.start >= sc["not_before"] and s.end <= sc["end"]
        for b in everyone:
            assert s.end <= b.start - sc["buffer"] or s.start >= b.end + sc["buffer"]
        a, e = s.start.astimezone(p.tz), s.end.astimezone(p.tz)
        assert WEEKDAYS[a.weekday()] in wh.days
        assert wh.start <= a.time() and e.time() <= wh.end and a.date() == e.date()
        for other in ranked[i + 1 :]:
            assert s.end <= other.start or other.end <= s.start


def test_a_month_of_ten_attendees_gives_free_ranked_slots() -> None:
    """The benchmark's data set (evals/bench_scheduling.py) yields valid slots."""
    from evals.bench_scheduling import month_of_meetings, rank

    p, mine, people, now = month_of_meetings()
    ranked = rank(p, mine, people, now)
    assert ranked and all(s.end - s.start == timedelta(minutes=45) for s in ranked)
    for s in ranked:
        for b in [*mine, *(b for a in people for b in a.busy or [])]:
            assert s.end <= b.start - timedelta(minutes=5) or s.start >= b.end + timedelta(
                minutes=5
            )
