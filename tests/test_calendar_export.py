"""`secretary export-calendar`: the principal's calendar as an .ics file other apps can read."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from click.testing import CliRunner

from tools.foundation.principals import Principal
from tools.providers.base import NewEvent
from tools.providers.local.calendar import LocalCalendar

BERLIN = ZoneInfo("Europe/Berlin")


def cli(*args: str) -> Any:
    from agent.cli import cli as main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _seed(home: Path) -> dict[str, str]:
    """Ada's calendar: a meeting, a weekly series, an all-day day off and a cancelled call."""
    ada = Principal(id="me", name="Ada", email="ada@example.com", timezone="Europe/Berlin")
    cal = LocalCalendar(home / "principals" / "me", ada)
    monday = datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)
    try:
        ids = {
            "review": cal.create_event(
                NewEvent(
                    title="Budget review",
                    start=monday,
                    end=monday + timedelta(hours=1),
                    timezone="Europe/Berlin",
                    location="Room 4",
                    attendees=["dana@acme.com"],
                ),
                "k-review",
            ).id,
            "standup": cal.create_event(
                NewEvent(
                    title="Stand-up",
                    start=monday.replace(hour=9),
                    end=monday.replace(hour=9, minute=15),
                    timezone="Europe/Berlin",
                    recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"],
                ),
                "k-standup",
            ).id,
            "off": cal.create_event(
                NewEvent(
                    title="Day off",
                    start=datetime(2026, 11, 27, tzinfo=BERLIN),
                    end=datetime(2026, 11, 28, tzinfo=BERLIN),
                    timezone="Europe/Berlin",
                    all_day=True,
                ),
                "k-off",
            ).id,
            "call": cal.create_event(
                NewEvent(
                    title="Vendor call",
                    start=monday.replace(hour=15),
                    end=monday.replace(hour=15, minute=30),
                    timezone="Europe/Berlin",
                ),
                "k-call",
            ).id,
        }
        cal.cancel_event(ids["call"], "k-cancel")
    finally:
        cal.close()
    return ids


def test_export_calendar_writes_an_ics_file_with_every_event(
    isolated_home: Path, tmp_path: Path
) -> None:
    r = cli("init", "--name", "Ada", "--email", "ada@example.com", "--timezone", "Europe/Berlin")
    assert r.exit_code == 0, r.output
    _seed(isolated_home)
    out = tmp_path / "calendar.ics"

    r = cli("export-calendar", "-o", str(out))
    assert r.exit_code == 0, r.output
    assert f"Wrote {out}" in r.stderr and r.stdout == ""

    cal = icalendar.Calendar.from_ical(out.read_bytes())
    assert cal["X-WR-TIMEZONE"] == "Europe/Berlin"
    assert {tz["TZID"] for tz in cal.walk("VTIMEZONE")} >= {"Europe/Berlin"}
    events = {str(e["SUMMARY"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {"Budget review", "Stand-up", "Day off", "Vendor call"}

    review = events["Budget review"]
    assert review.decoded("DTSTART") == datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)
    assert review.decoded("DTEND") == datetime(2026, 11, 23, 11, 0, tzinfo=BERLIN)
    assert review["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert str(review["LOCATION"]) == "Room 4"
    assert "dana@acme.com" in str(review["ATTENDEE"]).lower()

    standup = events["Stand-up"]
    assert standup["RRULE"]["FREQ"] == ["WEEKLY"] and standup["RRULE"]["COUNT"] == [4]

    off = events["Day off"]
    assert off.decoded("DTSTART") == date(2026, 11, 27)
    assert off.decoded("DTEND") == date(2026, 11, 28)

    # A cancelled event is exported as cancelled, so a subscribed calendar removes it too.
    assert str(events["Vendor call"]["STATUS"]) == "CANCELLED"


def test_export_calendar_to_stdout_and_into_a_missing_folder(
    isolated_home: Path, tmp_path: Path
) -> None:
    r = cli("init", "--name", "Ada", "--email", "ada@example.com", "--timezone", "Europe/Berlin")
    assert r.exit_code == 0, r.output
    _seed(isolated_home)

    r = cli("export-calendar")
    assert r.exit_code == 0, r.output
    piped = icalendar.Calendar.from_ical(r.stdout_bytes)
    assert len(list(piped.walk("VEVENT"))) == 4

    missing = tmp_path / "no-such-folder" / "calendar.ics"
    r = cli("export-calendar", "-o", str(missing))
    assert r.exit_code != 0
    assert "does not exist; create it first" in r.output
    assert "Traceback" not in r.output and not missing.exists()
