"""Offering meeting times by e-mail, each in the recipient's zone and the principal's."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tools import outbound
from tools.base import Preview, ToolError, tool
from tools.calendar.agenda import _attendee_info, _limits, _search_window
from tools.calendar.checks import _warnings, _zone_of
from tools.calendar.inputs import _instant, _read, _read_as
from tools.calendar.texts import _span
from tools.context import ToolContext
from tools.dates import Reading, zone_label
from tools.providers.base import OutgoingMessage
from tools.providers.mime import bare_address, format_address, parse_addresses
from tools.scheduling import (
    Preference,
    RankedSlot,
    rank_slots,
)

if TYPE_CHECKING:
    from pydantic import BaseModel


def _recipients(to: list[str]) -> list[str]:
    try:
        people = parse_addresses(to)
    except ValueError as exc:
        raise ToolError(f"to: {exc}") from None
    if not people:
        raise ToolError("to: give at least one address, e.g. ['dana@acme.com'].")
    return people


def _offer(
    ctx: ToolContext,
    to: list[str],
    duration_minutes: int,
    start: str,
    end: str,
    times: list[str],
    prefer: Preference,
    count: int,
) -> tuple[list[str], list[RankedSlot], list[Reading], list[str]]:
    """Recipients, the slots to offer, phrase readings and warnings (preview and execution)."""
    _limits(duration_minutes, 0, 0)
    if not 2 <= count <= 4:
        raise ToolError("count must be between 2 and 4 options.")
    people = _recipients(to)
    addresses = [bare_address(p) for p in people]
    length = timedelta(minutes=duration_minutes)
    warnings: list[str] = []
    if times:
        readings = []
        slots: list[RankedSlot] = []
        for i, text in enumerate(times, 1):
            reading = _read(ctx, text, f"times[{i - 1}]")
            readings.append(reading)
            begin, _ = _instant(ctx, reading, f"times[{i - 1}]")
            slots.append(RankedSlot(start=begin, end=begin + length, rank=i))
        if not 1 <= len(slots) <= 4:
            raise ToolError("times: offer between 1 and 4 times.")
        for s in slots:
            warnings += [
                f"{_span(s.start, s.end, False, ctx.principal.tz, ctx.now())}: {w}"
                for w in _warnings(ctx, s.start, s.end, False)
            ]
        return people, slots, readings, warnings
    begin, finish, readings, part = _search_window(ctx, start, end)
    if prefer == "any" and part in ("morning", "afternoon"):
        prefer = "morning" if part == "morning" else "afternoon"
    guests, busy, _unknown, _zones = _attendee_info(ctx, addresses, begin, finish)
    ranked = rank_slots(
        ctx.principal,
        busy,
        begin,
        finish,
        length,
        now=ctx.now(),
        attendees=guests,
        prefer=prefer,
        limit=count,
    )
    if not ranked:
        raise ToolError(
            f"No free {duration_minutes}-minute slot in working hours from "
            f"{_span(begin, finish, False, ctx.principal.tz, ctx.now())}. "
            "Try a wider window (end) or a shorter meeting."
        )
    for s in ranked:
        if s.outside_hours:
            warnings.append(
                f"Option {s.rank} is outside working hours for {', '.join(s.outside_hours)}"
            )
    return people, ranked, readings, warnings


def _option_line(ctx: ToolContext, i: int, slot: RankedSlot, zones: list[ZoneInfo]) -> str:
    tz = ctx.principal.tz
    parts: list[str] = []
    for zone in [*[z for z in zones if z.key != tz.key], tz]:
        a, b = slot.start.astimezone(zone), slot.end.astimezone(zone)
        parts.append(f"{a:%A} {a.day} {a:%B}, {a:%H:%M}-{b:%H:%M} {zone_label(a)} ({zone.key})")
    return f"{i}. " + "\n   = ".join(parts)


def _offer_body(
    ctx: ToolContext,
    people: list[str],
    topic: str,
    duration_minutes: int,
    slots: list[RankedSlot],
    note: str,
) -> str:
    zones: list[ZoneInfo] = []
    for who in people:
        zone = _zone_of(ctx, who)
        if zone is not None and zone.key not in {z.key for z in zones}:
            zones.append(zone)
    lines: list[str] = []
    if note.strip():
        lines += [note.strip(), ""]
    lines.append(f"Would one of these times suit you for {topic} ({duration_minutes} minutes)?")
    lines.append("")
    for i, slot in enumerate(slots, 1):
        lines.append(_option_line(ctx, i, slot, zones))
    lines += ["", "Just reply with the number that works best, or suggest another time."]
    return outbound.signed(ctx, "\n".join(lines))


def _offer_message(
    ctx: ToolContext,
    to: list[str],
    subject: str,
    duration_minutes: int,
    start: str,
    end: str,
    times: list[str] | None,
    prefer: Preference,
    note: str,
    count: int,
    draft: bool,
) -> tuple[OutgoingMessage, list[RankedSlot], list[Reading], list[str]]:
    if not subject.strip():
        raise ToolError("subject is empty. Name the meeting, e.g. 'Budget review'.")
    people, slots, readings, warnings = _offer(
        ctx, to, duration_minutes, start, end, times or [], prefer, count
    )
    topic = f"'{subject.strip()}'"
    body = _offer_body(ctx, people, topic, duration_minutes, slots, note)
    message = OutgoingMessage(to=people, subject=" ".join(subject.split()), body=body)
    return message, slots, readings, warnings


def _preview_offer(ctx: ToolContext, args: BaseModel) -> Preview:
    data = args.model_dump()
    message, slots, readings, warnings = _offer_message(ctx, **data)
    tz, now = ctx.principal.tz, ctx.now()
    details = {
        "From": format_address(ctx.principal.name, ctx.principal.email),
        "To": ", ".join(message.to),
        "Subject": message.subject,
        "Times": "; ".join(
            f"{i}. {_span(s.start, s.end, False, tz, now)}" for i, s in enumerate(slots, 1)
        ),
    }
    if slots and slots[0].reasons:
        details["Why"] = " | ".join(f"{i}. {s.explanation}" for i, s in enumerate(slots, 1))
    if _read_as(readings):
        details["Read as"] = _read_as(readings)
    verb = "Save a draft to" if data.get("draft") else "E-mail"
    who = ", ".join(bare_address(a) for a in message.to)
    return Preview(
        summary=f"{verb} {who} offering {len(slots)} times for '{message.subject}'",
        details=details,
        body=message.body,
        warnings=warnings,
    )


@tool(effect="write", duty="calendar", preview=_preview_offer, title="Offer meeting times")
def propose_times(
    ctx: ToolContext,
    to: list[str],
    subject: str,
    duration_minutes: int,
    start: str = "",
    end: str = "",
    times: list[str] | None = None,
    prefer: Preference = "any",
    note: str = "",
    count: int = 3,
    draft: bool = False,
) -> dict[str, Any]:
    """E-mail someone 2 to 4 meeting times to choose from (the principal approves it first).

    Each time is written in the recipient's time zone (when their contact has one) and in the
    principal's. Without `times` the best free times in the window are chosen by the same
    ranking as find_free_slots; pass the times from find_free_slots to offer exactly those.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        to: Recipient addresses, for example ["dana@acme.com"].
        subject: The meeting's name, used as the subject ("Budget review").
        duration_minutes: Length of the meeting in minutes.
        start: Earliest day or period to offer, ISO 8601 or a phrase ("next week").
        end: Latest day (inclusive). Empty means the period in start, else 7 days.
        times: Exact start times to offer (ISO 8601 or phrases); empty chooses them.
        prefer: Part of the day the principal prefers.
        note: Opening lines of the e-mail, including the greeting ("Hi Dana, ...").
        count: How many times to offer when choosing them (2 to 4).
        draft: True keeps the e-mail in drafts instead of sending it.
    """
    message, slots, _readings, _warnings = _offer_message(
        ctx, to, subject, duration_minutes, start, end, times, prefer, note, count, draft
    )
    receipt = (outbound.save_draft if draft else outbound.send)(ctx, message)
    tz = ctx.principal.tz
    return {
        **receipt.model_dump(mode="json"),
        "offered": [
            {"start": s.start.astimezone(tz).isoformat(), "end": s.end.astimezone(tz).isoformat()}
            for s in slots
        ],
    }
