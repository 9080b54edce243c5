"""Reading the model's time arguments: ISO times and phrases, attendees, repeat rules."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tools.base import ToolError
from tools.context import ToolContext
from tools.dates import Reading, read_when

_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


def _read(ctx: ToolContext, text: str, name: str) -> Reading:
    try:
        return read_when(text, ctx.principal.tz, ctx.reference_now())
    except ValueError as exc:
        raise ToolError(f"{name}: {exc}") from None


def _plus(dt: datetime, minutes: int) -> datetime:
    """Add real minutes (aware arithmetic in one zone would add wall-clock minutes)."""
    return (dt.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(dt.tzinfo)


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def _check_attendees(attendees: list[str]) -> list[str]:
    out: list[str] = []
    for who in attendees:
        addr = who.strip()
        if not _EMAIL.match(addr):
            raise ToolError(
                f"Attendee '{who}' is not an e-mail address like dana@acme.com. "
                "Look the person up with find_contact and pass their address."
            )
        if addr.lower() not in {a.lower() for a in out}:
            out.append(addr)
    return out


def _instant(ctx: ToolContext, reading: Reading, name: str) -> tuple[datetime, datetime | None]:
    """A start instant from a reading, and the end a clock range implies ("10-11")."""
    if reading.kind == "instant":
        return reading.start, None
    if reading.kind == "window" and not reading.part:
        return reading.start, reading.end
    what = reading.interpretation()
    raise ToolError(
        f"{name}: '{reading.text}' is a span ({what}), not a time. Give a time such as "
        f"'{reading.text} at 10' or 2026-11-24T10:00, or call find_free_slots with "
        f"start='{reading.text}' to pick a free time in it."
    )


def _span_for(
    ctx: ToolContext,
    start: str,
    end: str,
    all_day: bool,
    default_minutes: int,
) -> tuple[datetime, datetime, list[Reading]]:
    """Parse a start and optional end into aware instants (midnights for all-day)."""
    tz = ctx.principal.tz
    first_reading = _read(ctx, start, "start")
    readings = [first_reading]
    if all_day:
        first = _midnight(first_reading.start.astimezone(tz).date(), tz)
        if end:
            end_reading = _read(ctx, end, "end")
            readings.append(end_reading)
            stop = _midnight(end_reading.start.astimezone(tz).date() + timedelta(days=1), tz)
        elif first_reading.kind == "days":
            stop = first_reading.end
        else:
            stop = _midnight(first.date() + timedelta(days=1), tz)
        if stop <= first:
            raise ToolError("end: the last day comes before the first day. Give a later end date.")
        return first, stop, readings
    begin, implied_end = _instant(ctx, first_reading, "start")
    if end:
        end_reading = _read(ctx, end, "end")
        readings.append(end_reading)
        finish, _ = _instant(ctx, end_reading, "end")
    elif implied_end is not None:
        finish = implied_end
    else:
        if default_minutes <= 0:
            raise ToolError("duration_minutes must be positive (e.g. 30 or 60).")
        finish = _plus(begin, default_minutes)
    if finish <= begin:
        raise ToolError(
            f"end ({finish:%Y-%m-%d %H:%M}) must be after start ({begin:%Y-%m-%d %H:%M}). "
            "Give a later end or omit it to use the duration."
        )
    return begin, finish, readings


def _read_as(readings: list[Reading]) -> str:
    return "; ".join(r.note() for r in readings if r.note())


_REPEAT_WORDS = {
    "daily": "FREQ=DAILY",
    "every day": "FREQ=DAILY",
    "weekdays": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
    "every weekday": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
    "weekly": "FREQ=WEEKLY",
    "every week": "FREQ=WEEKLY",
    "biweekly": "FREQ=WEEKLY;INTERVAL=2",
    "fortnightly": "FREQ=WEEKLY;INTERVAL=2",
    "every two weeks": "FREQ=WEEKLY;INTERVAL=2",
    "every 2 weeks": "FREQ=WEEKLY;INTERVAL=2",
    "monthly": "FREQ=MONTHLY",
    "every month": "FREQ=MONTHLY",
    "yearly": "FREQ=YEARLY",
    "annually": "FREQ=YEARLY",
    "every year": "FREQ=YEARLY",
}


def _recurrence(ctx: ToolContext, repeat: str) -> list[str]:
    """RRULE lines from ``weekly``, ``weekdays, 10 times``, ``monthly until 2027-06-30``.

    A raw RRULE (``FREQ=WEEKLY;BYDAY=TU``) is passed through for the provider to check.
    """
    text = " ".join(repeat.strip().split())
    if not text:
        return []
    if text.upper().startswith(("RRULE:", "FREQ=")):
        return [text if text.upper().startswith("RRULE:") else f"RRULE:{text}"]
    words = text.lower()
    count = re.search(r",?\s*(?:x\s*(\d+)|(\d+)\s*times)\s*$", words)
    until_text = ""
    if count is None:
        found = re.search(r",?\s*until\s+(.+)$", words)
        if found:
            until_text, words = found.group(1), words[: found.start()]
    else:
        words = words[: count.start()]
    rule = _REPEAT_WORDS.get(words.strip(" ,"))
    if rule is None:
        raise ToolError(
            f"repeat: '{repeat}' is not a repetition I know. Use daily, weekdays, weekly, "
            "biweekly, monthly or yearly, optionally with ', 6 times' or ' until 2027-03-31', "
            "or an RRULE such as FREQ=WEEKLY;BYDAY=TU;COUNT=6."
        )
    if count is not None:
        rule += f";COUNT={int(count.group(1) or count.group(2))}"
    elif until_text:
        last = _read(ctx, until_text, "repeat")
        until = last.end if last.kind != "instant" else last.start
        rule += f";UNTIL={until.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    return [f"RRULE:{rule}"]
