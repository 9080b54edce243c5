"""The shared calendar preconditions: one rule, one sentence, whichever calendar holds the event."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from tools.providers.base import NotFound, ProviderError
from tools.providers.calendar_rules import (
    all_day_dates,
    no_such_event,
    not_invited,
    own_event,
    require_movable,
    require_span,
    require_zone,
)

BERLIN = ZoneInfo("Europe/Berlin")


def test_naive_times_are_refused() -> None:
    with pytest.raises(ProviderError, match="naive"):
        require_span(datetime(2026, 10, 1, 9), datetime(2026, 10, 1, 10, tzinfo=BERLIN))


def test_a_timed_event_must_end_after_it_starts() -> None:
    at = datetime(2026, 10, 1, 9, tzinfo=BERLIN)
    with pytest.raises(ProviderError, match="must end after it starts"):
        require_span(at, at)
    require_span(at, at.replace(hour=10))


def test_an_all_day_span_is_never_refused_for_its_order() -> None:
    at = datetime(2026, 10, 1, tzinfo=BERLIN)
    require_span(at, at, all_day=True)
    assert all_day_dates(at, at, BERLIN) == (date(2026, 10, 1), date(2026, 10, 2))


def test_unknown_zone_names_are_refused() -> None:
    assert require_zone("Europe/Berlin") == BERLIN
    with pytest.raises(ProviderError, match="IANA time zone"):
        require_zone("Mars/Olympus")


def test_a_cancelled_event_cannot_be_moved() -> None:
    require_movable("Standup", "confirmed")
    with pytest.raises(ProviderError, match="is cancelled; create a new event"):
        require_movable("Standup", "cancelled")


def test_refusals_name_the_event() -> None:
    assert "own meeting" in str(own_event("Board", "meeting"))
    assert "not an attendee of 'Board'" in str(not_invited("Board", "ada@example.com"))
    missing = no_such_event("evt-1", "dav.example.com:443")
    assert isinstance(missing, NotFound)
    assert "on dav.example.com:443" in str(missing)
