"""Natural date phrases read in the principal's zone against a pinned 'now' (Mon 23 Nov 2026)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tools.dates import read_when, zone_label

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)  # a Monday


def read(text: str, tz: ZoneInfo = BERLIN, now: datetime = NOW):  # type: ignore[no-untyped-def]
    return read_when(text, tz, now)


def at(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("tomorrow at 10", at(11, 24, 10)),
        ("tomorrow 10am", at(11, 24, 10)),
        ("next Tuesday at 10", at(12, 1, 10)),
        ("Tuesday at 10", at(11, 24, 10)),
        ("Friday 3pm", at(11, 27, 15)),
        ("friday at 3", at(11, 27, 15)),
        ("friday 15h", at(11, 27, 15)),
        ("24.11. 14:00", at(11, 24, 14)),
        ("24.11.2026 14:00", at(11, 24, 14)),
        ("Dec 1 at 9", at(12, 1, 9)),
        ("10 o'clock tomorrow", at(11, 24, 10)),
        ("tomorrow at noon", at(11, 24, 12)),
        ("at 10", at(11, 23, 10)),
        ("at 8", at(11, 24, 8)),
        ("in 2 hours", at(11, 23, 11)),
        ("in 30 minutes", at(11, 23, 9, 30)),
        ("next tuesday 14:30", at(12, 1, 14, 30)),
    ],
)
def test_phrases_naming_a_moment_give_that_instant(text: str, start: datetime) -> None:
    r = read(text)
    assert r.kind == "instant" and r.exact
    assert r.start == start and r.start.utcoffset() == start.utcoffset()
    assert r.end == r.start


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("next Tuesday afternoon", at(12, 1, 13), at(12, 1, 17)),
        ("tomorrow morning", at(11, 24, 9), at(11, 24, 12)),
        ("this afternoon", at(11, 23, 13), at(11, 23, 17)),
        ("tonight", at(11, 23, 17), at(11, 23, 21)),
        ("tomorrow 10-11", at(11, 24, 10), at(11, 24, 11)),
        ("tomorrow 2-4pm", at(11, 24, 14), at(11, 24, 16)),
        ("between 2 and 4pm on friday", at(11, 27, 14), at(11, 27, 16)),
        ("next Tuesday", at(12, 1), at(12, 2)),
        ("Tuesday", at(11, 24), at(11, 25)),
        ("monday", at(11, 30), at(12, 1)),
        ("this coming tuesday", at(11, 24), at(11, 25)),
        ("tuesday next week", at(12, 1), at(12, 2)),
        ("monday after next", at(12, 7), at(12, 8)),
        ("last friday", at(11, 20), at(11, 21)),
        ("in two weeks", at(12, 7), at(12, 8)),
        ("in a couple of days", at(11, 25), at(11, 26)),
        ("1 December", at(12, 1), at(12, 2)),
        ("tuesday 1 december", at(12, 1), at(12, 2)),
        ("1.12.", at(12, 1), at(12, 2)),
        ("3 janvier", at(1, 3, year=2027), at(1, 4, year=2027)),
        ("next week", at(11, 30), at(12, 7)),
        ("this week", at(11, 23), at(11, 30)),
        ("weekend", at(11, 28), at(11, 30)),
        ("next month", at(12, 1), at(1, 1, year=2027)),
    ],
)
def test_phrases_naming_a_span_give_the_whole_window(
    text: str, start: datetime, end: datetime
) -> None:
    r = read(text)
    assert (r.start, r.end) == (start, end)
    assert not r.exact


def test_interpretation_is_the_sentence_the_card_shows() -> None:
    assert read("next Tuesday afternoon").interpretation() == (
        "Tuesday 1 December 2026, 13:00–17:00 CET"
    )
    assert read("next Tuesday at 10").note() == (
        "'next Tuesday at 10' read as Tuesday 1 December 2026, 10:00 CET"
    )
    assert read("next week").interpretation() == "Monday 30 November – Sunday 6 December 2026"
    assert read("in two weeks").interpretation() == "Monday 7 December 2026 (whole day)"
    summer = read("next tuesday at 10", now=datetime(2026, 6, 1, 9, tzinfo=BERLIN))
    assert summer.interpretation() == "Tuesday 9 June 2026, 10:00 CEST"


def test_iso_input_is_exact_and_needs_no_explanation() -> None:
    r = read("2026-11-24T10:00")
    assert (r.kind, r.start, r.phrase, r.note()) == ("instant", at(11, 24, 10), False, "")
    day = read("2026-11-24")
    assert (day.kind, day.start, day.end) == ("day", at(11, 24), at(11, 25))
    assert read("2026-11-24T09:00Z").start == at(11, 24, 10)


def test_phrases_use_the_principal_zone_and_now_not_the_machine_clock() -> None:
    ny_now = datetime(2026, 11, 23, 20, 0, tzinfo=NEW_YORK)  # already Tuesday in Berlin
    r = read("tomorrow at 10", tz=NEW_YORK, now=ny_now)
    assert r.start == datetime(2026, 11, 24, 10, tzinfo=NEW_YORK)
    assert r.start.utcoffset() == timedelta(hours=-5)
    assert r.interpretation() == "Tuesday 24 November 2026, 10:00 EST"


def test_slashed_dates_are_day_month_except_in_the_americas() -> None:
    assert read("11/12").start == at(12, 11)
    assert read("12/11", tz=NEW_YORK).start == datetime(2026, 12, 11, tzinfo=NEW_YORK)
    assert read("24/11").start == at(11, 24)
    assert read("12/24").start == at(12, 24)  # no month 24: month/day wherever


def test_a_date_without_year_that_has_passed_means_next_year() -> None:
    assert read("1.3.").start == at(3, 1, year=2027)


def test_hour_skipped_by_daylight_saving_is_refused() -> None:
    with pytest.raises(ValueError, match="does not exist in Europe/Berlin"):
        read("29.3.2026 2:30")


def test_hour_that_occurs_twice_is_the_first_and_says_so() -> None:
    r = read("25.10.2026 02:30")
    assert r.start.utcoffset() == timedelta(hours=2)
    assert "occurs twice" in r.interpretation() and "CEST" in r.interpretation()


def test_weekday_that_does_not_match_the_date_is_refused() -> None:
    with pytest.raises(ValueError, match="1 December 2026 is a Tuesday, not a Wednesday"):
        read("wednesday 1 december")


@pytest.mark.parametrize("text", ["", "blah", "someday soon", "next blursday", "the 45th"])
def test_unreadable_text_says_what_to_write_instead(text: str) -> None:
    with pytest.raises(ValueError, match=r"such as 2026-11-24T10:00, 'tomorrow at 10'"):
        read(text)


def test_a_time_with_a_multi_day_window_is_refused() -> None:
    with pytest.raises(ValueError, match="no single day"):
        read("next week at 10")


def test_part_of_day_with_a_week_is_kept_as_a_preference() -> None:
    r = read("next week mornings")
    assert (r.kind, r.part) == ("days", "morning")
    assert r.interpretation().endswith(", mornings")


def test_zone_label_falls_back_to_an_offset() -> None:
    kolkata = datetime(2026, 11, 24, 10, tzinfo=ZoneInfo("Asia/Kolkata"))
    assert zone_label(kolkata) == "IST"
    dubai = datetime(2026, 11, 24, 10, tzinfo=ZoneInfo("Asia/Dubai"))
    assert zone_label(dubai) == "UTC+04:00"
