"""Deterministic scheduling helpers: free-slot finding and strict date parsing.

No model is involved: the same calendar and the same question always give the
same slots. Slot starts are aligned in the principal's wall-clock time (09:00,
09:15, ...) while durations are real elapsed time, so a 60-minute slot on a
daylight-saving switch day is still 60 minutes long.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, Field

from tools.foundation.principals import WEEKDAYS, WorkingHours

if TYPE_CHECKING:
    from tools.foundation.principals import Principal
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


# ------------------------------------------------------------------ ranking

DAY_PARTS: dict[str, tuple[time, time]] = {
    "morning": (time(9), time(12)),
    "lunchtime": (time(12), time(13)),
    "afternoon": (time(13), time(17)),
    "evening": (time(17), time(21)),
}
"""Parts of the day as local wall-clock windows (used by preferences and by phrases)."""

Preference = Literal["any", "morning", "afternoon"]

ATTENDEE_HOURS = WorkingHours(start=time(8), end=time(18), days=list(WEEKDAYS[:5]))
"""Working hours assumed for an attendee whose zone is known but whose hours are not."""


@dataclass(frozen=True)
class Attendee:
    """Someone to meet, as far as the principal's side knows them."""

    email: str
    tz: ZoneInfo | None = None
    """Their time zone, when known (contacts carry one)."""
    hours: WorkingHours | None = None
    """Their working hours in their zone; None means 08:00-18:00 on weekdays."""
    busy: list[Busy] | None = None
    """Their busy intervals from free/busy; None when their calendar cannot be seen."""


class RankedSlot(BaseModel):
    """A free slot with its place in the ranking and the reasons for it."""

    start: AwareDatetime
    end: AwareDatetime
    rank: int = Field(description="1 is the best option.")
    reasons: list[str] = Field(default_factory=list)
    local_times: dict[str, str] = Field(
        default_factory=dict, description="Attendee -> the slot on their own clock."
    )
    outside_hours: list[str] = Field(
        default_factory=list, description="Attendees for whom the slot is outside working hours."
    )

    @property
    def explanation(self) -> str:
        """``inside everyone's working hours; morning as preferred; 2 days out``."""
        return "; ".join(self.reasons)


def inside_hours(hours: WorkingHours, tz: ZoneInfo, start: datetime, end: datetime) -> bool:
    """Whether [start, end) lies within one of the working days of ``hours`` in ``tz``."""
    local = start.astimezone(tz)
    if WEEKDAYS[local.weekday()] not in hours.days:
        return False
    opens = datetime.combine(local.date(), hours.start, tzinfo=tz).astimezone(UTC)
    closes = datetime.combine(local.date(), hours.end, tzinfo=tz).astimezone(UTC)
    return opens <= start.astimezone(UTC) and end.astimezone(UTC) <= closes


def _clock_label(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    a, b = start.astimezone(tz), end.astimezone(tz)
    day = f"{a:%a} {a.day} {a:%b}"
    if a.date() == b.date():
        return f"{day} {a:%H:%M}-{b:%H:%M} {tz.key}"
    return f"{day} {a:%H:%M} - {b:%a} {b.day} {b:%b} {b:%H:%M} {tz.key}"


def _gap(tz_a: ZoneInfo, tz_b: ZoneInfo, at: datetime) -> timedelta:
    offset_a = at.astimezone(tz_a).utcoffset() or timedelta(0)
    offset_b = at.astimezone(tz_b).utcoffset() or timedelta(0)
    return offset_a - offset_b


def _hours_text(delta: timedelta) -> str:
    minutes = abs(int(delta.total_seconds() // 60))
    hours, rest = divmod(minutes, 60)
    return f"{hours} h" if not rest else f"{hours} h {rest} min"


def dst_note(tz_a: ZoneInfo, tz_b: ZoneInfo, when: datetime, now: datetime) -> str:
    """A sentence when daylight saving makes the gap between two zones differ from today's."""
    then, today = _gap(tz_a, tz_b, when), _gap(tz_a, tz_b, now)
    if then == today or tz_a.key == tz_b.key:
        return ""
    direction = "ahead of" if then < timedelta(0) else "behind"
    return (
        f"{tz_b.key} is {_hours_text(then)} {direction} {tz_a.key} on that day "
        f"({_hours_text(today)} today) because of daylight saving"
    )


def _days_out(start: datetime, now: datetime, tz: ZoneInfo) -> str:
    days = (start.astimezone(tz).date() - now.astimezone(tz).date()).days
    if days <= 0:
        return "today"
    if days == 1:
        return "tomorrow"
    return f"{days} days out"


def rank_slots(
    principal: Principal,
    busy: list[Busy],
    earliest: datetime,
    latest: datetime,
    duration: timedelta,
    *,
    now: datetime,
    attendees: list[Attendee] | None = None,
    buffer: timedelta = timedelta(0),
    notice: timedelta = timedelta(0),
    step: timedelta = timedelta(minutes=15),
    prefer: Preference = "any",
    prefer_days: list[str] | None = None,
    limit: int = 5,
) -> list[RankedSlot]:
    """The best distinct meeting times, ranked and explained.

    A slot must be free for the principal and for every attendee whose
    calendar is known (keeping ``buffer`` around busy time), fall inside the
    principal's working hours, start no sooner than ``now + notice`` and lie
    in [earliest, latest). Among those, slots are ranked by: fewest attendees
    outside their own working hours (08:00-18:00 local when only their zone
    is known), then the preferred part of the day, then preferred weekdays,
    then the earliest. The options offered do not overlap and are spread over
    different days first, so a reply can pick one without a second round.

    Args:
        principal: Whose calendar, working hours and zone apply.
        busy: The principal's busy intervals.
        earliest: The first instant a slot may start.
        latest: The last instant a slot may end.
        duration: Real elapsed length of the meeting.
        now: The principal's current instant (pinned in tests).
        attendees: The other people, with their zones and busy time where known.
        buffer: Gap to keep around every busy interval.
        notice: Minimum notice: no slot starts before ``now + notice``.
        step: Slot starts fall on multiples of this from local midnight.
        prefer: A part of the day the principal prefers.
        prefer_days: Weekdays the principal prefers (``mon`` ... ``sun``).
        limit: How many options to return.

    Returns:
        At most ``limit`` slots, best first, each with its reasons.
    """
    people = attendees or []
    blocked = list(busy)
    for person in people:
        blocked.extend(person.busy or [])
    candidates = find_slots(
        principal,
        blocked,
        earliest,
        latest,
        duration,
        buffer=buffer,
        step=step,
        not_before=now + notice,
        limit=20_000,
    )
    tz = principal.tz
    zoned = [p for p in people if p.tz is not None]
    wanted_days = {d.lower()[:3] for d in prefer_days or []}

    def key(slot: Slot) -> tuple[int, int, int, datetime]:
        outside = sum(not _fits(p, slot) for p in zoned)
        return (
            outside,
            0 if _preferred_part(slot, prefer, tz) else 1,
            0 if not wanted_days or _weekday(slot, tz) in wanted_days else 1,
            slot.start.astimezone(UTC),
        )

    ordered = sorted(candidates, key=key)
    chosen: list[Slot] = []
    days_used: set[object] = set()
    # First one option per day (the best that day), then fill up with the rest.
    for one_per_day in (True, False):
        for slot in ordered:
            if len(chosen) >= limit:
                break
            day = slot.start.astimezone(tz).date()
            if one_per_day and day in days_used:
                continue
            if any(slot.start < c.end and c.start < slot.end for c in chosen):
                continue
            chosen.append(slot)
            days_used.add(day)
    chosen.sort(key=key)
    return [
        _explain(i + 1, s, principal, zoned, prefer, wanted_days, now) for i, s in enumerate(chosen)
    ]


def _fits(person: Attendee, slot: Slot) -> bool:
    """Whether the slot is inside the person's working hours (True when their zone is unknown)."""
    if person.tz is None:
        return True
    return inside_hours(person.hours or ATTENDEE_HOURS, person.tz, slot.start, slot.end)


def _weekday(slot: Slot, tz: ZoneInfo) -> str:
    return WEEKDAYS[slot.start.astimezone(tz).weekday()]


def _preferred_part(slot: Slot, prefer: Preference, tz: ZoneInfo) -> bool:
    if prefer == "any":
        return True
    a, b = DAY_PARTS[prefer]
    local = slot.start.astimezone(tz)
    opens = datetime.combine(local.date(), a, tzinfo=tz).astimezone(UTC)
    closes = datetime.combine(local.date(), b, tzinfo=tz).astimezone(UTC)
    return opens <= slot.start.astimezone(UTC) and slot.end.astimezone(UTC) <= closes


def _explain(
    rank: int,
    slot: Slot,
    principal: Principal,
    zoned: list[Attendee],
    prefer: Preference,
    wanted_days: set[str],
    now: datetime,
) -> RankedSlot:
    tz = principal.tz
    reasons: list[str] = []
    outside = [p.email for p in zoned if not _fits(p, slot)]
    if not zoned:
        reasons.append("inside your working hours")
    elif not outside:
        reasons.append("inside everyone's working hours")
    else:
        reasons.append("outside working hours for " + ", ".join(outside))
    if prefer != "any":
        if _preferred_part(slot, prefer, tz):
            reasons.append(f"{prefer} as preferred")
        else:
            reasons.append(f"not in the {prefer} as preferred (no free {prefer} slot left)")
    if wanted_days:
        day = _weekday(slot, tz)
        reasons.append(
            f"{day.capitalize()} as preferred"
            if day in wanted_days
            else f"not on a preferred day ({day.capitalize()})"
        )
    reasons.append(_days_out(slot.start, now, tz))
    local_times: dict[str, str] = {}
    for p in zoned:
        assert p.tz is not None
        local_times[p.email] = _clock_label(slot.start, slot.end, p.tz)
        note = dst_note(tz, p.tz, slot.start, now)
        if note:
            reasons.append(note)
    return RankedSlot(
        start=slot.start,
        end=slot.end,
        rank=rank,
        reasons=reasons,
        local_times=local_times,
        outside_hours=outside,
    )
