"""Reading natural date phrases ("next Tuesday afternoon", "tomorrow at 10") for the principal.

Every phrase is read relative to the principal's *now* (``ctx.now()``, pinned in
tests), never the machine clock, and in the principal's IANA zone. The result
is a :class:`Reading`: an instant, a window (a part of a day, a time range, a
whole day, a week) and a sentence saying how the words were understood, which
the approval card shows next to the words themselves.

The common shapes are parsed here, because general parsers get several of them
wrong: "tomorrow at 10" keeps the current minute, "Tuesday at 10" can land in
the past, "afternoon" becomes one arbitrary instant. Explicit calendar dates in
words ("1 December", "Dec 3rd", "3 janvier") go to ``dateparser`` with a future
preference. Conventions, stated so nobody has to guess:

* "next Tuesday" is the Tuesday of next week (Monday-based); "Tuesday" and
  "this Tuesday" are the coming one (today excluded for a bare weekday).
* morning 09:00-12:00, lunchtime 12:00-13:00, afternoon 13:00-17:00,
  evening 17:00-21:00; a bare hour 1-7 without am/pm means the afternoon.
* A time without a day is the next time that clock time occurs.
* 24.11. and 24/11 are day.month; in America/* zones an ambiguous 11/12 is
  month/day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from tools.scheduling import DAY_PARTS, is_date_only, parse_when

Kind = Literal["instant", "window", "day", "days"]
"""``instant``: one moment. ``window``: part of one day (afternoon, 10-11).
``day``: one whole calendar day. ``days``: several whole days (a week, a month)."""

PARTS = DAY_PARTS

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY_RE = (
    r"(?P<wd>mon(?:day)?|tue(?:s|sday)?|wed(?:nesday)?|thu(?:rs|rsday)?|fri(?:day)?"
    r"|sat(?:urday)?|sun(?:day)?)"
)
_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "a couple of": 2, "a few": 3,
}  # fmt: skip
_NUMBER_RE = r"(?P<n>\d{1,3}|a couple of|a few|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"  # noqa: E501
_UNIT_RE = r"(?P<unit>minutes?|mins?|hours?|hrs?|days?|weeks?|months?)"
_CLOCK = r"\d{1,2}(?:[:.h]\d{2})?\s*(?:a\.?m\.?|p\.?m\.?)?"


class _Unreadable(ValueError):
    """The words are not a date or time this module knows (the hint is added)."""


_HINT = (
    "Write a date or time such as 2026-11-24T10:00, 'tomorrow at 10', 'Friday 3pm', "
    "'next Tuesday afternoon', '24.11. 14:00' or 'next week'"
)


@dataclass(frozen=True)
class Reading:
    """How a date phrase was understood."""

    text: str
    """The words as given."""
    kind: Kind
    start: datetime
    """The instant, or the first instant of the window (aware, principal's zone)."""
    end: datetime
    """The end of the window (exclusive); equal to ``start`` for an instant."""
    phrase: bool = True
    """False when the text was plain ISO 8601, which needs no explanation."""
    part: str = ""
    """The part of the day named ("afternoon"): the window itself, or within each day of a
    multi-day window ("next week mornings"). Empty for a clock range such as 10-11."""
    notes: tuple[str, ...] = ()
    """Daylight-saving remarks (an hour that occurs twice, for instance)."""

    @property
    def exact(self) -> bool:
        """Whether a single moment was named."""
        return self.kind == "instant"

    def interpretation(self) -> str:
        """``Tuesday 1 December 2026, 13:00–17:00 CET`` and the like."""
        if self.kind == "instant":
            text = f"{_long_day(self.start.date())}, {self.start:%H:%M} {zone_label(self.start)}"
        elif self.kind == "window":
            if (self.end - timedelta(microseconds=1)).date() == self.start.date():
                text = (
                    f"{_long_day(self.start.date())}, {self.start:%H:%M}–{self.end:%H:%M} "
                    f"{zone_label(self.start)}"
                )
            else:
                text = (
                    f"{_long_day(self.start.date())} {self.start:%H:%M} – "
                    f"{_long_day(self.end.date())} {self.end:%H:%M} {zone_label(self.end)}"
                )
        elif self.kind == "day":
            text = f"{_long_day(self.start.date())} (whole day)"
        else:
            first, last = self.start.date(), (self.end - timedelta(days=1)).date()
            left = _long_day(first, year=first.year != last.year)
            text = f"{left} – {_long_day(last)}"
            if self.part:
                text += f", {self.part}s"
        if self.notes:
            text += f" ({'; '.join(self.notes)})"
        return text

    def note(self) -> str:
        """``'next Tuesday at 10' read as Tuesday 1 December 2026, 10:00 CET`` (empty for ISO)."""
        if not self.phrase:
            return ""
        return f"'{self.text.strip()}' read as {self.interpretation()}"


# ------------------------------------------------------------------ helpers


def zone_label(dt: datetime) -> str:
    """The zone abbreviation in force at ``dt`` (CET, EDT), or ``UTC+05:30`` without one."""
    name = dt.tzname() or ""
    if name and name[0] not in "+-" and not name.isdigit():
        return name
    offset = dt.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds() // 60))
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _long_day(d: date, year: bool = True) -> str:
    text = f"{_WEEKDAYS[d.weekday()].capitalize()} {d.day} {d:%B}"
    return f"{text} {d.year}" if year else text


def local_time(day: date, clock: time, tz: ZoneInfo) -> tuple[datetime, str]:
    """``day`` at ``clock`` in ``tz``, and a note when daylight saving makes it unusual.

    Raises:
        ValueError: The time does not exist that day (the clocks skip it).
    """
    dt = datetime.combine(day, clock, tzinfo=tz)
    back = dt.astimezone(UTC).astimezone(tz)
    if back.replace(tzinfo=None) != dt.replace(tzinfo=None):
        raise ValueError(
            f"{day:%Y-%m-%d} {clock:%H:%M} does not exist in {tz.key}: the clocks skip that "
            "hour for daylight saving. Pick a time outside the change."
        )
    if dt.replace(fold=1).utcoffset() != dt.utcoffset():
        return dt, (
            f"{clock:%H:%M} occurs twice that night as the clocks go back; "
            f"the first one ({zone_label(dt)}) is meant"
        )
    return dt, ""


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def _clock(text: str, default_pm: bool) -> time | None:
    """``10``, ``10:30``, ``3pm``, ``10.30``, ``15h``, ``3 p.m.`` -> a time; None if impossible."""
    m = re.fullmatch(r"(\d{1,2})(?:[:.h](\d{2}))?\s*(a\.?m\.?|p\.?m\.?)?", text.strip())
    if not m:
        return None
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    suffix = (m.group(3) or "").replace(".", "")
    if minute > 59:
        return None
    if suffix:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    elif default_pm and m.group(2) is None and 1 <= hour <= 7:
        # "at 3" in a working context is three in the afternoon, not the night.
        hour += 12
    if hour > 23:
        return None
    return time(hour, minute)


# ------------------------------------------------------------- time of day


@dataclass
class _TimeOfDay:
    start: time | None = None
    end: time | None = None
    part: str = ""


_RANGE_RE = re.compile(
    rf"(?:\b(?:from|between)\s+)?(?<![\d.:/-])(?P<a>{_CLOCK})\s*"
    rf"(?:-|–|\bto\b|\buntil\b|\btill\b|\band\b)\s*(?P<b>{_CLOCK})(?![\d.:/])"
)
_AT_RE = re.compile(
    r"\b(?:at|@|um|by|around|about)\s+(?P<clock>\d{1,2}(?:[:.h]\d{2})?\s*(?:a\.?m\.?|p\.?m\.?)?)"
    r"(?:\s*(?:o'?clock|uhr|h))?(?![\d.:/])"
)
_CLOCK_RE = re.compile(
    r"(?<![\d.:/-])(?P<clock>\d{1,2}[:.h]\d{2}\s*(?:a\.?m\.?|p\.?m\.?)?"
    r"|\d{1,2}\s*(?:a\.?m\.?|p\.?m\.?)|\d{1,2}\s*(?:o'?clock|uhr)|\d{1,2}h)(?![\d.:/a-z])"
)
_PART_RE = re.compile(
    r"\b(?:in the |this |during the |on )?(morning|lunchtime|lunch|afternoon|evening|tonight)s?\b"
)


def _take_time(text: str) -> tuple[str, _TimeOfDay]:
    """Remove the time-of-day words from ``text`` and return what they said."""
    found = _TimeOfDay()
    m = _RANGE_RE.search(text)
    if m:
        a_text, b_text = m.group("a"), m.group("b")
        b_suffix = re.search(r"([ap])\.?m\.?\s*$", b_text)
        if b_suffix and not re.search(r"[ap]\.?m\.?\s*$", a_text):
            # "2-4pm": the second half's am/pm applies to the first when that fits.
            candidate = _clock(f"{a_text}{b_suffix.group(1)}m", False)
            end_clock = _clock(b_text, False)
            if candidate is not None and end_clock is not None and candidate < end_clock:
                a_text = f"{a_text}{b_suffix.group(1)}m"
        start, end = _clock(a_text, True), _clock(b_text, True)
        if start is not None and end is not None:
            if end <= start and end.hour < 12 and time(end.hour + 12, end.minute) > start:
                end = time(end.hour + 12, end.minute)
            if end <= start:
                raise ValueError(f"The time range '{m.group(0).strip()}' ends before it starts.")
            found.start, found.end = start, end
            text = _cut(text, m)
    if found.start is None:
        named = re.search(r"\b(noon|midday|midnight)\b", text)
        m = named or _AT_RE.search(text) or _CLOCK_RE.search(text)
        if m is named and named is not None:
            found.start = time(0) if named.group(1) == "midnight" else time(12)
            text = _cut(text, named)
        elif m is not None:
            raw = re.sub(r"\s*(?:o'?clock|uhr)$|(?<=\d)h$", "", m.group("clock").strip())
            clock = _clock(raw, True)
            if clock is None:
                raise ValueError(f"'{m.group(0).strip()}' is not a time of day.")
            found.start = clock
            text = _cut(text, m)
    part = _PART_RE.search(text)
    if part:
        name = part.group(1)
        if found.start is None:
            found.part = {"lunch": "lunchtime", "tonight": "evening"}.get(name, name)
        text = _cut(text, part, keep="today" if name == "tonight" else "")
    return text, found


def _cut(text: str, m: re.Match[str], keep: str = "") -> str:
    return f"{text[: m.start()]} {keep} {text[m.end() :]}"


# -------------------------------------------------------------------- days


@dataclass
class _Days:
    kind: Literal["none", "day", "days", "instant"]
    first: date | None = None
    stop: date | None = None
    """Exclusive end day for ``days``."""
    instant: datetime | None = None


_SIMPLE_DAYS = {
    "today": 0,
    "tomorrow": 1,
    "tmrw": 1,
    "day after tomorrow": 2,
    "yesterday": -1,
    "day before yesterday": -2,
}
_WEEKS = {"this week": 0, "next week": 1, "last week": -1, "week after next": 2}
_IN_RE = re.compile(rf"in {_NUMBER_RE} {_UNIT_RE}")
_FROM_NOW_RE = re.compile(rf"{_NUMBER_RE} {_UNIT_RE} from (?:now|today)")
_WEEKDAY_PHRASE_RE = re.compile(
    rf"(?:(?P<rel>this|next|coming|last) )?{_WEEKDAY_RE}"
    r"(?: (?P<after>after next|next week|this week|last week))?"
)
_NUMERIC_RE = re.compile(
    rf"(?:{_WEEKDAY_RE} )?(?P<a>\d{{1,2}})(?P<sep>[./])(?P<b>\d{{1,2}})"
    r"(?:[./](?P<year>\d{4}|\d{2})?)?\.?"
)


def _weekday_index(word: str) -> int:
    return next(i for i, name in enumerate(_WEEKDAYS) if name.startswith(word[:3]))


def _week_start(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBERS[word]


def _numeric_date(m: re.Match[str], today: date, tz: ZoneInfo) -> date:
    a, b, year_text = int(m.group("a")), int(m.group("b")), m.group("year")
    day, month = a, b
    if m.group("sep") == "/":
        if b > 12 >= a or (a <= 12 and b <= 12 and tz.key.startswith("America/")):
            day, month = b, a  # month/day, as written in the Americas
    try:
        if year_text:
            year = int(year_text)
            return date(year + 2000 if year < 100 else year, month, day)
        found = date(today.year, month, day)
        # Without a year the next such date is meant.
        return found if found >= today else date(today.year + 1, month, day)
    except ValueError:
        raise ValueError(f"'{m.group(0)}' is not a calendar date.") from None


def _dateparser_day(fragment: str, now: datetime) -> date | None:
    """A date written in words ("1 December", "Dec 3rd", "3 janvier") via dateparser."""
    import dateparser

    settings = {
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": now.replace(tzinfo=None),
        "DATE_ORDER": "DMY",
        "REQUIRE_PARTS": ["day", "month"],
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    found = dateparser.parse(
        fragment, settings=settings, languages=["en", "de", "fr", "es", "it", "nl"]
    )
    return found.date() if found is not None else None


def _take_days(text: str, now: datetime, tz: ZoneInfo) -> _Days:
    """Read the day part of a phrase (what is left once the time of day is removed)."""
    today = now.date()
    words = re.sub(r"[,;]", " ", text)
    words = re.sub(r"\b(on|the|at|for|am|um|coming)\b", " ", words)
    words = " ".join(words.split())
    if not words:
        return _Days("none")
    if words == "now":
        return _Days("instant", instant=now)
    if words in _SIMPLE_DAYS:
        return _Days("day", today + timedelta(days=_SIMPLE_DAYS[words]))
    m = _IN_RE.fullmatch(words) or _FROM_NOW_RE.fullmatch(words)
    if m:
        n, unit = _number(m.group("n")), m.group("unit")[:2]
        if unit in ("mi", "ho", "hr"):
            minutes = n if unit == "mi" else n * 60
            return _Days("instant", instant=now.astimezone(UTC) + timedelta(minutes=minutes))
        if unit == "da":
            return _Days("day", today + timedelta(days=n))
        if unit == "we":
            return _Days("day", today + timedelta(weeks=n))
        return _Days("day", today + relativedelta(months=n))
    if words in _WEEKS:
        first = _week_start(today) + timedelta(weeks=_WEEKS[words])
        return _Days("days", first, first + timedelta(days=7))
    m = re.fullmatch(r"(?:(this|next|last) )?weekend", words)
    if m:
        saturday = _week_start(today) + timedelta(days=5)
        saturday += timedelta(weeks={"next": 1, "last": -1}.get(m.group(1) or "", 0))
        return _Days("days", saturday, saturday + timedelta(days=2))
    m = re.fullmatch(r"(this|next|last) month", words)
    if m:
        shift = {"this": 0, "next": 1, "last": -1}[m.group(1)]
        first = today.replace(day=1) + relativedelta(months=shift)
        return _Days("days", first, first + relativedelta(months=1))
    m = _WEEKDAY_PHRASE_RE.fullmatch(words)
    if m:
        return _Days("day", _weekday(m.group("rel"), m.group("wd"), m.group("after"), today))
    m = _NUMERIC_RE.fullmatch(words)
    if m:
        day = _numeric_date(m, today, tz)
        _check_weekday(m.group("wd"), day, words)
        return _Days("day", day)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", words):
        return _Days("day", date.fromisoformat(words))
    if re.search(r"[a-zà-ÿ]{3}", words):
        wd = re.match(rf"{_WEEKDAY_RE}\b\s*", words)
        rest = words[wd.end() :] if wd else words
        found = _dateparser_day(rest, now) if rest else None
        if found is not None:
            _check_weekday(wd.group("wd") if wd else None, found, words)
            return _Days("day", found)
    raise _Unreadable(f"'{text.strip()}' is not a day I can read.")


def _weekday(rel: str | None, word: str, after: str | None, today: date) -> date:
    target = _weekday_index(word)
    this_week = _week_start(today) + timedelta(days=target)
    if rel == "next" or after == "next week":
        return this_week + timedelta(weeks=1)
    if after == "after next":
        return this_week + timedelta(weeks=2)
    if after == "last week":
        return this_week - timedelta(weeks=1)
    if rel == "last":
        back = (today.weekday() - target) % 7 or 7
        return today - timedelta(days=back)
    if after == "this week":
        return this_week
    ahead = (target - today.weekday()) % 7
    if rel != "this" and ahead == 0:
        ahead = 7
    return today + timedelta(days=ahead)


def _check_weekday(word: str | None, day: date, words: str) -> None:
    if word and _weekday_index(word) != day.weekday():
        raise ValueError(
            f"'{words}': {day.day} {day:%B %Y} is a {_WEEKDAYS[day.weekday()].capitalize()}, "
            f"not a {_WEEKDAYS[_weekday_index(word)].capitalize()}. Check the date."
        )


# ------------------------------------------------------------------ reading


def read_when(text: str, tz: ZoneInfo, now: datetime) -> Reading:
    """Read an ISO 8601 value or a natural phrase in zone ``tz``, relative to ``now``.

    Args:
        text: ``2026-11-24T10:00``, ``tomorrow at 10``, ``next Tuesday afternoon``,
            ``in two weeks``, ``Friday 3pm``, ``24.11. 14:00``, ``next week``...
        tz: The principal's time zone.
        now: The principal's current instant (tests pin it).

    Returns:
        The instant or window, with a human interpretation.

    Raises:
        ValueError: With a sentence saying what to write instead.
    """
    raw = " ".join(text.split())
    if not raw:
        raise ValueError(f"No date or time given. {_HINT} (time zone {tz.key}).")
    now = now.astimezone(tz)
    if re.match(r"^\d{4}-?\d{2}-?\d{2}([T ]\d.*)?$", raw):
        when = parse_when(raw, tz)
        if is_date_only(raw):
            return Reading(raw, "day", when, _day_after(when, tz), phrase=False)
        return Reading(raw, "instant", when, when, phrase=False)
    try:
        return _read_phrase(raw, tz, now)
    except _Unreadable as exc:
        raise ValueError(f"{exc} {_HINT} (time zone {tz.key}).") from None


def _day_after(dt: datetime, tz: ZoneInfo) -> datetime:
    return _midnight(dt.astimezone(tz).date() + timedelta(days=1), tz)


def _read_phrase(raw: str, tz: ZoneInfo, now: datetime) -> Reading:
    lowered = raw.lower().strip().rstrip("!?")
    rest, tod = _take_time(lowered)
    try:
        days = _take_days(rest, now, tz)
    except _Unreadable:
        if rest.strip() == lowered.strip():
            raise _Unreadable(f"'{raw}' is not a date or time I can read.") from None
        raise
    today = now.date()
    notes: list[str] = []

    def at(day: date, clock: time) -> datetime:
        dt, note = local_time(day, clock, tz)
        if note:
            notes.append(note)
        return dt

    if days.kind == "instant":
        if tod.start is not None or tod.part:
            raise ValueError(f"'{raw}' names both a delay and a time of day; give one of them.")
        assert days.instant is not None
        moment = days.instant.astimezone(tz)
        return Reading(raw, "instant", moment, moment)
    if days.kind == "days":
        assert days.first is not None and days.stop is not None
        if tod.start is not None:
            raise ValueError(
                f"'{raw}' gives a time but no single day; name the day, e.g. 'Tuesday at 10'."
            )
        return Reading(
            raw, "days", _midnight(days.first, tz), _midnight(days.stop, tz), part=tod.part
        )
    if days.kind == "none":
        if tod.start is None and not tod.part:
            raise _Unreadable(f"'{raw}' is not a date or time I can read.")
        # No day named: the next time that clock time (or part of the day) comes round.
        day = today
        if tod.start is not None and datetime.combine(today, tod.start, tzinfo=tz) < now:
            day = today + timedelta(days=1)
        elif tod.part and datetime.combine(today, PARTS[tod.part][1], tzinfo=tz) <= now:
            day = today + timedelta(days=1)
    else:
        assert days.first is not None
        day = days.first
    if tod.start is not None and tod.end is not None:
        start, end = at(day, tod.start), at(day, tod.end)
        return Reading(raw, "window", start, end, notes=tuple(notes))
    if tod.start is not None:
        moment = at(day, tod.start)
        return Reading(raw, "instant", moment, moment, notes=tuple(notes))
    if tod.part:
        a, b = PARTS[tod.part]
        return Reading(raw, "window", at(day, a), at(day, b), part=tod.part, notes=tuple(notes))
    return Reading(raw, "day", _midnight(day, tz), _midnight(day + timedelta(days=1), tz))
