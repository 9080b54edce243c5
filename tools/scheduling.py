"""Deterministic scheduling helpers: free-slot finding and strict date parsing.

No model is involved: the same calendar and the same question always give the
same slots. Slot starts are aligned in the principal's wall-clock time (09:00,
09:15, ...) while durations are real elapsed time, so a 60-minute slot on a
daylight-saving switch day is still 60 minutes long.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel

if TYPE_CHECKING:
    from agent.principals import Principal
    from tools.providers.base import Busy


class Slot(BaseModel):
    """A free interval, in the principal's time zone."""

    start: AwareDatetime
    end: AwareDatetime


def _merge(intervals: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Sorted, non-overlapping UTC intervals."""
    out: list[tuple[datetime, datetime]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _exists(local: datetime) -> bool:
    """Whether a wall-clock time really occurs (it does not inside a spring-forward gap)."""
    back = local.astimezone(UTC).astimezone(local.tzinfo)
    return back.replace(tzinfo=None) == local.replace(tzinfo=None)


def find_slots(
    principal: Principal,
    busy: list[Busy],
    start: datetime,
    end: datetime,
    duration: timedelta,
    *,
    buffer: timedelta = timedelta(0),
    step: timedelta = timedelta(minutes=15),
    not_before: datetime | None = None,
    limit: int = 10,
) -> list[Slot]:
    """Free slots of ``duration`` inside the principal's working hours.

    Args:
        principal: Whose working hours and time zone apply.
        busy: Busy intervals (any zone); a slot keeps ``buffer`` clear of each.
        start: Earliest instant to consider.
        end: Latest instant a slot may end.
        duration: Real elapsed length of each slot.
        buffer: Gap to keep before and after every busy interval.
        step: Slot starts fall on multiples of this from local midnight.
        not_before: Minimum notice: no slot starts before this instant.
        limit: At most this many slots, earliest first.

    Returns:
        Slots in chronological order, expressed in the principal's zone.

    Raises:
        ValueError: A naive datetime, or a non-positive duration or step.
    """
    for label, dt in (("start", start), ("end", end), ("not_before", not_before)):
        if dt is not None and dt.utcoffset() is None:
            raise ValueError(f"{label} must carry a time zone")
    if duration <= timedelta(0):
        raise ValueError("duration must be positive")
    if step <= timedelta(0):
        raise ValueError("step must be positive")
    tz = principal.tz
    # All comparisons happen in UTC: aware datetimes that share a tzinfo compare
    # by wall clock in Python, which is wrong across a daylight-saving change.
    lower = start.astimezone(UTC)
    if not_before is not None:
        lower = max(lower, not_before.astimezone(UTC))
    upper = end.astimezone(UTC)
    if limit <= 0 or upper <= lower:
        return []
    # Buffers are added in UTC so they are real minutes, not wall-clock minutes.
    blocked = _merge(
        [(b.start.astimezone(UTC) - buffer, b.end.astimezone(UTC) + buffer) for b in busy]
    )
    slots: list[Slot] = []
    cursor = 0
    for w_start, w_end in principal.working_windows(lower, upper):
        a, b = w_start.astimezone(UTC), w_end.astimezone(UTC)
        midnight = datetime.combine(w_start.astimezone(tz).date(), time(0))
        # First wall-clock multiple of step at or after the window opens.
        opens = w_start.astimezone(tz).replace(tzinfo=None)
        k = -(-(opens - midnight) // step)
        while True:
            wall = midnight + k * step
            k += 1
            local = wall.replace(tzinfo=tz)
            if not _exists(local):
                continue
            s = local.astimezone(UTC)
            e = s + duration
            if e > b or wall.date() != midnight.date():
                break
            if s < a:
                continue
            while cursor < len(blocked) and blocked[cursor][1] <= s:
                cursor += 1
            if cursor < len(blocked) and blocked[cursor][0] < e:
                continue
            slots.append(Slot(start=s.astimezone(tz), end=e.astimezone(tz)))
            if len(slots) >= limit:
                return slots
    return slots


_ISO_HINT = re.compile(r"^\d{4}-?\d{2}-?\d{2}([T ].*)?$")


def is_date_only(text: str) -> bool:
    """Whether ``text`` names a calendar day without a time (``2026-11-24``)."""
    return re.fullmatch(r"\d{4}-\d{2}-\d{2}|\d{8}", text.strip()) is not None


def parse_when(text: str, tz: ZoneInfo) -> datetime:
    """Parse an ISO 8601 date or date-time into an aware datetime in ``tz``.

    A date alone means local midnight; a time without offset is wall-clock
    time in ``tz``; ``Z`` or an explicit offset is honoured and converted.

    Args:
        text: ``2026-11-24T10:00``, ``2026-11-24 10:00``, ``2026-11-24``,
            ``2026-11-24T09:00Z`` or ``2026-11-24T10:00+01:00``.
        tz: The principal's time zone.

    Raises:
        ValueError: With a sentence naming the expected format.
    """
    raw = text.strip()
    hint = f"Use ISO 8601 like 2026-11-24T10:00 (time zone {tz.key} assumed)."
    if not raw:
        raise ValueError(f"No date or time given. {hint}")
    if not _ISO_HINT.match(raw):
        raise ValueError(f"'{text}' is not a date or time I can read. {hint}")
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"'{text}' is not a valid date or time. {hint}") from None
    if parsed.tzinfo is not None:
        return parsed.astimezone(tz)
    local = parsed.replace(tzinfo=tz)
    if not _exists(local):
        raise ValueError(
            f"{parsed:%Y-%m-%d %H:%M} does not exist in {tz.key}: the clocks skip that hour "
            "for daylight saving. Pick a time outside the change."
        )
    return local
