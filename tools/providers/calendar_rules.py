"""The checks every calendar provider makes before it writes, in one place.

A create, move, cancel or answer is refused for the same reasons whichever
calendar holds the event (the embedded one, CalDAV, Google, Microsoft 365):
times without a zone, a zone that is not an IANA name, an end before the
start, moving a cancelled event, answering one's own event or one the
principal is not invited to. Each provider decides *whether* a rule applies
from what its server knows (Google's guest list, Graph's organiser flag, a
CalDAV ATTENDEE line); the rule and the sentence the person reads are here.

The all-day span and the recurrence lines are read here too, so that every
provider turns "all day from Monday to Wednesday" and ``RRULE:...`` lines into
the same days and the same checked rules.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tools.providers.base import NotFound, ProviderError

NAIVE_TIME = "Calendar times must carry a time zone; got a naive datetime."
END_BEFORE_START = "An event must end after it starts; give a later end time."


def require_aware(*values: datetime) -> None:
    """Refuse a datetime without a time zone (it would mean a different moment to each server).

    Raises:
        ProviderError: One of ``values`` is naive.
    """
    for value in values:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ProviderError(NAIVE_TIME)


def require_zone(name: str) -> ZoneInfo:
    """The time zone with this IANA name.

    Raises:
        ProviderError: ``name`` is not a zone the tz database knows.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ProviderError(
            f"'{name}' is not an IANA time zone name (e.g. Europe/Berlin)."
        ) from None


def require_span(start: datetime, end: datetime, *, all_day: bool = False) -> None:
    """Refuse naive times, and a timed event that does not end after it starts.

    An all-day span is rounded to whole days (see :func:`all_day_dates`), so it
    always covers at least one day and is never refused for its order.

    Raises:
        ProviderError: A naive time, or a timed event whose end is not after its start.
    """
    require_aware(start, end)
    if not all_day and end <= start:
        raise ProviderError(END_BEFORE_START)


def require_movable(title: str, status: str) -> None:
    """Refuse to move a cancelled event: moving it would not bring it back.

    Raises:
        ProviderError: The event is cancelled.
    """
    if status == "cancelled":
        raise ProviderError(
            f"Event '{title}' is cancelled; create a new event instead of moving it."
        )


def own_event(title: str, kind: str = "event") -> ProviderError:
    """The refusal to answer an event the principal organised (``kind``: event or meeting)."""
    return ProviderError(
        f"'{title}' is the principal's own {kind}; there is no invitation to answer."
    )


def not_invited(title: str, who: str = "The principal") -> ProviderError:
    """The refusal to answer an event ``who`` is not an attendee of."""
    return ProviderError(
        f"{who} is not an attendee of '{title}', so there is no invitation to answer; only "
        "events others invited the principal to can be answered."
    )


def no_such_event(event_id: str, where: str = "") -> NotFound:
    """The refusal for an event id the calendar (on server ``where``) does not hold."""
    place = f"the calendar on {where}" if where else "the calendar"
    return NotFound(
        f"No event with id '{event_id}' in {place}. List the agenda to find the event's id."
    )


def all_day_dates(start: datetime, end: datetime, tz: ZoneInfo) -> tuple[date, date]:
    """The [first day, day after last) an all-day span covers in zone ``tz``.

    An end at local midnight is exclusive; any other end time still covers its
    day, and an empty span becomes one day.
    """
    first = start.astimezone(tz).date()
    local_end = end.astimezone(tz)
    stop = local_end.date()
    if local_end.time() != time(0) or stop <= first:
        stop += timedelta(days=1)
    if stop <= first:
        stop = first + timedelta(days=1)
    return first, stop


def normalize_recurrence(lines: list[str], tz: ZoneInfo, start: datetime) -> list[str]:
    """Checked RRULE/EXDATE/RDATE lines, floating times pinned to ``tz``.

    Raises:
        ProviderError: A line is not a recurrence rule or date list iCalendar accepts.
    """
    import icalendar
    from dateutil.rrule import rrulestr

    from tools.providers.ical import recurrence_properties

    out: list[str] = []
    example = "RRULE:FREQ=WEEKLY;COUNT=4 or EXDATE:20261201T100000"
    for raw in lines:
        line = raw.strip()
        name = line.split(":", 1)[0].split(";", 1)[0].upper()
        if name not in ("RRULE", "EXDATE", "RDATE") or ":" not in line:
            raise ProviderError(f"'{raw}' is not a recurrence line; write e.g. {example}.")
        if name == "RRULE":
            rule = line.split(":", 1)[1].upper()
            try:
                icalendar.vRecur.from_ical(rule)
                rrulestr(rule, dtstart=start.astimezone(UTC), forceset=True)
            except (ValueError, TypeError) as exc:
                raise ProviderError(f"'{raw}' is not a valid RRULE ({exc}).") from None
            out.append(f"RRULE:{rule}")
            continue
        try:
            props = recurrence_properties([line], tz)
        except ValueError as exc:
            raise ProviderError(f"'{raw}' is not a valid {name} line ({exc}).") from None
        holder = icalendar.Event()
        for prop, value, params in props:
            holder.add(prop, value, parameters=params)
        text = holder.to_ical().decode().replace("\r\n ", "")
        out += [x for x in text.split("\r\n") if x.split(":", 1)[0].split(";")[0] == name]
    if out and not any(x.startswith("RRULE:") or x.startswith("RDATE") for x in out):
        raise ProviderError("EXDATE lines need an RRULE or RDATE to exclude dates from.")
    return out
