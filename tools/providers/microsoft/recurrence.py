"""Graph's time zone names, and iCalendar recurrence rules to Graph's pattern and range and back.

RRULEs with FREQ DAILY, WEEKLY, MONTHLY or YEARLY and INTERVAL, COUNT, UNTIL,
BYDAY, BYMONTHDAY, BYMONTH, BYSETPOS, WKST have a Graph equivalent; anything
Graph cannot express (EXDATE, RDATE, BYHOUR...) is refused with a sentence
rather than approximated.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from tools.providers.base import ProviderError

_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_INDEX = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
_RULE_PARTS = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS"}


def iana_zone(name: str, fallback: ZoneInfo) -> ZoneInfo:
    """The zone Graph named (IANA or Windows name); ``fallback`` for unknown or custom ones."""
    name = name.strip()
    for candidate in (name, WINDOWS_TO_OLSON.get(name, "")):
        if not candidate:
            continue
        try:
            zone = ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        return ZoneInfo("UTC") if candidate in ("Etc/UTC", "UTC") else zone
    return fallback


def graph_recurrence(lines: list[str], start: datetime, tz: ZoneInfo) -> dict[str, Any]:
    """Graph's ``patternedRecurrence`` for one RRULE line.

    Raises:
        ProviderError: for more than one rule, EXDATE/RDATE lines or rule parts Graph
            cannot express.
    """
    rules = [x.strip() for x in lines if x.strip()]
    example = "e.g. RRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10"
    if len(rules) != 1 or not rules[0].upper().startswith("RRULE:"):
        raise ProviderError(
            "Microsoft 365 takes exactly one RRULE line for a series (no EXDATE or RDATE); "
            f"write one rule, {example}, and cancel single occurrences afterwards."
        )
    text = rules[0].split(":", 1)[1].upper()
    try:
        rule = icalendar.vRecur.from_ical(text)
    except ValueError as exc:
        raise ProviderError(f"'{rules[0]}' is not a valid RRULE ({exc}).") from None
    extra = set(rule) - _RULE_PARTS - {"WKST"}
    if extra:
        raise ProviderError(
            f"Microsoft 365 cannot repeat by {', '.join(sorted(extra))}; use FREQ with "
            f"INTERVAL, COUNT, UNTIL, BYDAY, BYMONTHDAY or BYMONTH ({example})."
        )
    local = start.astimezone(tz)
    freq = str(_one(rule, "FREQ", "")).upper()
    interval = int(_one(rule, "INTERVAL", 1))
    days = [str(d).upper() for d in rule.get("BYDAY", [])]
    setpos = rule.get("BYSETPOS", [])
    pattern: dict[str, Any] = {"interval": interval}
    if freq == "DAILY" and not days:
        pattern["type"] = "daily"
    elif freq in ("DAILY", "WEEKLY"):
        if freq == "DAILY" and interval != 1:
            raise ProviderError("A daily rule with BYDAY must have INTERVAL=1 on Microsoft 365.")
        pattern.update(
            type="weekly",
            daysOfWeek=[_day_name(d) for d in days] or [_DAY_NAMES[local.weekday()]],
            firstDayOfWeek=_day_name(str(_one(rule, "WKST", "SU"))),
        )
    elif freq in ("MONTHLY", "YEARLY"):
        yearly = freq == "YEARLY"
        if yearly:
            pattern["month"] = int(_one(rule, "BYMONTH", local.month))
        if days:
            index, weekdays = _relative(days, setpos)
            pattern.update(
                type="relativeYearly" if yearly else "relativeMonthly",
                daysOfWeek=weekdays,
                index=index,
            )
        else:
            pattern.update(
                type="absoluteYearly" if yearly else "absoluteMonthly",
                dayOfMonth=int(_one(rule, "BYMONTHDAY", local.day)),
            )
    else:
        raise ProviderError(
            f"Microsoft 365 repeats daily, weekly, monthly or yearly, not {freq or 'without FREQ'}."
        )
    span: dict[str, Any] = {"startDate": local.date().isoformat(), "recurrenceTimeZone": tz.key}
    if "COUNT" in rule:
        span.update(type="numbered", numberOfOccurrences=int(_one(rule, "COUNT", 1)))
    elif "UNTIL" in rule:
        until = _one(rule, "UNTIL", None)
        last = (
            until.astimezone(tz).date()
            if isinstance(until, datetime) and until.tzinfo
            else (until.date() if isinstance(until, datetime) else until)
        )
        span.update(type="endDate", endDate=last.isoformat())
    else:
        span["type"] = "noEnd"
    return {"pattern": pattern, "range": span}


def _one(rule: Mapping[str, Any], name: str, default: Any) -> Any:
    values = rule.get(name)
    return values[0] if values else default


def _day_name(code: str) -> str:
    try:
        return _DAY_NAMES[_DAYS.index(code.strip().upper()[-2:])]
    except ValueError:
        raise ProviderError(f"'{code}' is not a weekday (MO, TU, WE, TH, FR, SA, SU).") from None


def _relative(days: list[str], setpos: list[Any]) -> tuple[str, list[str]]:
    """Graph's ``index`` and weekdays from ``BYDAY=2TU`` or ``BYDAY=TU;BYSETPOS=2``."""
    numbers = {int(d[:-2]) for d in days if d[:-2]}
    if setpos:
        numbers |= {int(p) for p in setpos}
    if len(numbers) != 1 or next(iter(numbers)) not in _INDEX:
        raise ProviderError(
            "Microsoft 365 repeats on one position in the month (1 to 4, or -1 for the last), "
            "e.g. BYDAY=2TU; write one rule per position."
        )
    return _INDEX[next(iter(numbers))], [_day_name(d) for d in days]


def rrule_lines(recurrence: Any, tz: ZoneInfo) -> list[str]:
    """RRULE lines for Graph's ``patternedRecurrence`` (empty when there is none)."""
    if not isinstance(recurrence, dict):
        return []
    pattern = recurrence.get("pattern") or {}
    span = recurrence.get("range") or {}
    kind = str(pattern.get("type") or "")
    parts: list[str] = []
    codes = [_DAYS[_DAY_NAMES.index(d)] for d in pattern.get("daysOfWeek") or [] if d in _DAY_NAMES]
    index = {v: k for k, v in _INDEX.items()}.get(str(pattern.get("index") or "first"), 1)
    if kind == "daily":
        parts.append("FREQ=DAILY")
    elif kind == "weekly":
        parts += ["FREQ=WEEKLY", "BYDAY=" + ",".join(codes)]
    elif kind == "absoluteMonthly":
        parts += ["FREQ=MONTHLY", f"BYMONTHDAY={pattern.get('dayOfMonth')}"]
    elif kind == "relativeMonthly":
        parts += ["FREQ=MONTHLY", "BYDAY=" + ",".join(codes), f"BYSETPOS={index}"]
    elif kind == "absoluteYearly":
        parts += [
            "FREQ=YEARLY",
            f"BYMONTH={pattern.get('month')}",
            f"BYMONTHDAY={pattern.get('dayOfMonth')}",
        ]
    elif kind == "relativeYearly":
        parts += [
            "FREQ=YEARLY",
            f"BYMONTH={pattern.get('month')}",
            "BYDAY=" + ",".join(codes),
            f"BYSETPOS={index}",
        ]
    else:
        return []
    interval = int(pattern.get("interval") or 1)
    if interval != 1:
        parts.append(f"INTERVAL={interval}")
    if span.get("type") == "numbered":
        parts.append(f"COUNT={int(span.get('numberOfOccurrences') or 1)}")
    elif span.get("type") == "endDate" and span.get("endDate"):
        zone = iana_zone(str(span.get("recurrenceTimeZone") or ""), tz)
        last = date.fromisoformat(str(span["endDate"]))
        # Graph's end date is inclusive: the rule runs to the end of that local day.
        until = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)
        parts.append(
            "UNTIL=" + (until - timedelta(seconds=1)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        )
    return ["RRULE:" + ";".join(parts)]
