"""People who call or come by: phone messages, callbacks and expected visitors."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Literal

from tools import outbound
from tools.base import Preview, ToolError, tool
from tools.context import ToolContext
from tools.dates import Reading, read_when, zone_label
from tools.foundation.principals import WEEKDAYS
from tools.providers.base import NewEvent, NotFound, OutgoingMessage
from tools.providers.local.desk import LocalDesk, PhoneMessage, Visit

if TYPE_CHECKING:
    from pydantic import BaseModel


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


# ------------------------------------------------------------------ helpers


def _desk(ctx: ToolContext) -> LocalDesk:
    desk: LocalDesk | None = ctx.workspace.desk
    if desk is None:
        raise ToolError("The desk records are not open for this principal; ask an administrator.")
    return desk


def _read(ctx: ToolContext, text: str, name: str) -> Reading:
    try:
        return read_when(text, ctx.principal.tz, ctx.reference_now())
    except ValueError as exc:
        raise ToolError(f"{name}: {exc}") from None


def _when(ctx: ToolContext, dt: datetime) -> str:
    """``Tue 24 Nov 2026 10:00 CET`` in the principal's zone."""
    local = dt.astimezone(ctx.principal.tz)
    return f"{_DAYS[local.weekday()]} {local:%d %b %Y %H:%M} {zone_label(local)}"


def _day(d: date) -> str:
    return f"{_DAYS[d.weekday()]} {d:%d %b %Y}"


# ----------------------------------------------------------- phone messages


def _planned_message(
    ctx: ToolContext, caller: str, number: str, company: str, reason: str, callback: str
) -> tuple[PhoneMessage, str]:
    """The message take_message would record, and how the callback window was read."""
    if not caller.strip():
        raise ToolError("caller is empty. Give the caller's name (or 'unknown caller').")
    start = end = None
    note = ""
    if callback.strip():
        try:
            reading = read_when(callback, ctx.principal.tz, ctx.reference_now())
        except ValueError:
            # Callers say things like "any time before Friday"; keep their words as given.
            note = f"'{callback.strip()}' kept as written (not read as a time)"
        else:
            start, end, note = reading.start, reading.end, reading.note()
    message = PhoneMessage(
        caller=caller.strip(),
        number=number.strip(),
        company=company.strip(),
        reason=reason.strip(),
        callback=callback.strip(),
        callback_start=start,
        callback_end=end,
        taken_at=ctx.reference_now(),
    )
    return message, note


def _preview_message(ctx: ToolContext, args: BaseModel) -> Preview:
    message, note = _planned_message(ctx, **args.model_dump())
    who = f"{message.caller} ({message.company})" if message.company else message.caller
    details = {"Number": message.number or "(none given)"}
    if message.callback:
        details["Call back"] = message.callback
    if note:
        details["Read as"] = note
    return Preview(summary=f"Take a phone message from {who}", details=details, body=message.reason)


def _message_dict(ctx: ToolContext, m: PhoneMessage) -> dict[str, Any]:
    data = m.model_dump(mode="json")
    data["taken"] = _when(ctx, m.taken_at)
    return data


@tool(effect="write", duty="desk", preview=_preview_message, title="Take phone message")
def take_message(
    ctx: ToolContext,
    caller: str,
    number: str = "",
    company: str = "",
    reason: str = "",
    callback: str = "",
) -> dict[str, Any]:
    """Record a phone message for the principal (from notes or a call transcript).

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        caller: Who called, e.g. "Dana Smith".
        number: Number to call back, ideally international (+49 30 1234567).
        company: The caller's company or institution.
        reason: What the call was about, in a sentence or two.
        callback: When to call back, as the caller said it ("tomorrow 2-4pm", "after 3pm").
    """
    message, _ = _planned_message(ctx, caller, number, company, reason, callback)
    return _message_dict(ctx, _desk(ctx).add_message(message, ctx.idempotency_key))


@tool(effect="read", duty="desk", title="List phone messages")
def list_messages(
    ctx: ToolContext, status: Literal["new", "done", "all"] = "new"
) -> list[dict[str, Any]]:
    """List phone messages taken for the principal, oldest first.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        status: ``new`` (not yet dealt with), ``done``, or ``all``.
    """
    found = _desk(ctx).messages(None if status == "all" else status)
    return [_message_dict(ctx, m) for m in found]


def _get_message(ctx: ToolContext, message_id: str) -> PhoneMessage:
    try:
        return _desk(ctx).get_message(message_id.strip())
    except NotFound:
        raise ToolError(
            f"No phone message with id '{message_id}'. Use list_messages to find it."
        ) from None


def _planned_callback(
    ctx: ToolContext, message_id: str, start: str, duration_minutes: int
) -> tuple[PhoneMessage, datetime, datetime, str]:
    """The message, the slot the callback would hold, and how the slot was chosen."""
    message = _get_message(ctx, message_id)
    if duration_minutes <= 0:
        raise ToolError("duration_minutes must be positive (e.g. 15).")
    length = timedelta(minutes=duration_minutes)
    now = ctx.now()
    if start.strip():
        reading = _read(ctx, start, "start")
        if reading.kind != "instant":
            raise ToolError(
                f"start: '{start}' is a span ({reading.interpretation()}); give a time such as "
                "'tomorrow at 14:30'."
            )
        begin = reading.start
        how = reading.note() or "as given"
        if begin < now:
            raise ToolError(f"start: {_when(ctx, begin)} is in the past. Give a time from now on.")
    else:
        if message.callback_start is None or message.callback_end is None:
            raise ToolError(
                f"The message from {message.caller} has no callback window I could read "
                f"('{message.callback or 'none given'}'). Give start, e.g. 'tomorrow at 10'."
            )
        first = max(message.callback_start, now)
        if message.callback_end - length < first:
            raise ToolError(
                f"The callback window of {message.caller} ('{message.callback}') has passed "
                "or is too short. Give start for another time."
            )
        from tools.scheduling import find_slots

        busy = ctx.calendar.free_busy(first, message.callback_end).get("me", [])
        # Callers give their own window; it may lie outside the principal's working hours.
        anytime = ctx.principal.model_copy(
            update={
                "working_hours": ctx.principal.working_hours.model_copy(
                    update={"start": time(0), "end": time(23, 59, 59), "days": list(WEEKDAYS)}
                )
            }
        )
        slots = find_slots(
            anytime, busy, first, message.callback_end, length, step=timedelta(minutes=5), limit=1
        )
        if not slots:
            raise ToolError(
                f"The calendar is full during {message.caller}'s callback window "
                f"('{message.callback}'). Give start for another time."
            )
        begin = slots[0].start.astimezone(ctx.principal.tz)
        how = f"first free time in the caller's window ('{message.callback}')"
    end = (begin.astimezone(UTC) + length).astimezone(ctx.principal.tz)
    return message, begin, end, how


def _callback_event(ctx: ToolContext, m: PhoneMessage, start: datetime, end: datetime) -> NewEvent:
    who = f"{m.caller} ({m.company})" if m.company else m.caller
    lines = [f"Call back {who}", f"Number: {m.number or '(none given)'}"]
    if m.reason:
        lines.append(f"About: {m.reason}")
    lines.append(f"Message taken {_when(ctx, m.taken_at)} (id {m.id})")
    return NewEvent(
        title=f"Call back {m.caller}" + (f" {m.number}" if m.number else ""),
        start=start,
        end=end,
        timezone=ctx.principal.timezone,
        description="\n".join(lines),
    )


def _preview_callback(ctx: ToolContext, args: BaseModel) -> Preview:
    message, begin, end, how = _planned_callback(ctx, **args.model_dump())
    event = _callback_event(ctx, message, begin, end)
    warnings = [
        f"Overlaps '{ev.title}'"
        for ev in ctx.calendar.list_events(begin, end)
        if ev.status != "cancelled"
    ]
    return Preview(
        summary=f"Block {_when(ctx, begin)}-{end:%H:%M} to call back {message.caller}",
        details={
            "Calendar": f"Create event '{event.title}'",
            "Chosen": how,
            "Message": f"{message.reason or '(no reason given)'} (marked done)",
        },
        warnings=warnings,
    )


@tool(effect="write", duty="desk", preview=_preview_callback, title="Schedule callback")
def schedule_callback(
    ctx: ToolContext, message_id: str, start: str = "", duration_minutes: int = 15
) -> dict[str, Any]:
    """Turn a phone message into a callback slot on the principal's calendar; the message is done.

    Without start, the first free time inside the caller's callback window is taken.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        message_id: The phone message's id, as shown by list_messages.
        start: When to call: ISO 8601 or a phrase ("tomorrow at 14:30"); empty for the first
            free time in the caller's window.
        duration_minutes: How long to block for the call.
    """
    message, begin, end, _ = _planned_callback(ctx, message_id, start, duration_minutes)
    event = ctx.calendar.create_event(
        _callback_event(ctx, message, begin, end), outbound.sub_key(ctx, "event")
    )
    _desk(ctx).mark_message(message.id, "done")
    return {
        "event_id": event.id,
        "when": f"{_when(ctx, begin)}-{end.astimezone(ctx.principal.tz):%H:%M}",
        "message": _message_dict(ctx, _desk(ctx).get_message(message.id)),
    }


# ------------------------------------------------------------------ visitors


def _planned_visit(
    ctx: ToolContext,
    name: str,
    start: str,
    email: str,
    company: str,
    host: str,
    instructions: str,
    duration_minutes: int,
) -> tuple[Visit, Reading]:
    """The visit schedule_visit would record (its event id still empty)."""
    if not name.strip():
        raise ToolError("name is empty. Give the visitor's name.")
    if duration_minutes <= 0:
        raise ToolError("duration_minutes must be positive (e.g. 30 or 60).")
    reading = _read(ctx, start, "start")
    if reading.kind == "instant":
        begin = reading.start
        finish = (begin.astimezone(UTC) + timedelta(minutes=duration_minutes)).astimezone(
            ctx.principal.tz
        )
    elif reading.kind == "window" and not reading.part:
        begin, finish = reading.start, reading.end
    else:
        raise ToolError(
            f"start: '{start}' is a span ({reading.interpretation()}), not a time. "
            f"Give a time such as '{start} at 10' or 2026-11-24T10:00."
        )
    if begin < ctx.now():
        raise ToolError(
            f"start: {_when(ctx, begin)} is in the past. Schedule the visit from now on."
        )
    visit = Visit(
        name=" ".join(name.split()),
        company=company.strip(),
        email=outbound.one_address(email, "email") if email.strip() else "",
        host=host.strip() or ctx.principal.name,
        instructions=instructions.strip(),
        start=begin,
        end=finish,
    )
    return visit, reading


def _visit_event(ctx: ToolContext, visit: Visit) -> NewEvent:
    who = f"{visit.name} ({visit.company})" if visit.company else visit.name
    lines = [f"Visitor: {who}", f"Host: {visit.host}"]
    if visit.email:
        lines.append(f"E-mail: {visit.email}")
    if visit.instructions:
        lines.append(f"Arrival instructions: {visit.instructions}")
    return NewEvent(
        title=f"Visit: {who}",
        start=visit.start,
        end=visit.end,
        timezone=ctx.principal.timezone,
        location=ctx.principal.organisation,
        description="\n".join(lines),
    )


def _visit_mail(ctx: ToolContext, visit: Visit) -> OutgoingMessage:
    local = visit.start.astimezone(ctx.principal.tz)
    text = (
        f"Dear {visit.name},\n\n"
        f"This confirms your visit with {visit.host} on {_when(ctx, visit.start)} "
        f"({ctx.principal.timezone}).\n\n"
        "Arrival instructions:\n"
        f"{visit.instructions or 'Please report to reception when you arrive.'}"
    )
    return OutgoingMessage(
        to=[visit.email],
        subject=f"Your visit on {_DAYS[local.weekday()]} {local:%d %b} at {local:%H:%M}",
        body=outbound.signed(ctx, text),
    )


def _preview_visit(ctx: ToolContext, args: BaseModel) -> Preview:
    visit, reading = _planned_visit(ctx, **args.model_dump())
    event = _visit_event(ctx, visit)
    details = {
        "When": f"{_when(ctx, visit.start)} - {visit.end.astimezone(ctx.principal.tz):%H:%M}",
        "Host": visit.host,
        "Calendar": f"Create event '{event.title}'",
    }
    if reading.note():
        details["Read as"] = reading.note()
    warnings: list[str] = []
    for ev in ctx.calendar.list_events(visit.start, visit.end):
        if ev.status != "cancelled":
            warnings.append(f"Overlaps '{ev.title}'")
    body = None
    if visit.email:
        mail = _visit_mail(ctx, visit)
        details["E-mail to"] = visit.email
        details["Subject"] = mail.subject
        body = mail.body
    else:
        warnings.append("No e-mail address: the arrival instructions are not sent")
    return Preview(
        summary=f"Schedule a visit by {visit.name} on {_when(ctx, visit.start)}",
        details=details,
        body=body,
        warnings=warnings,
    )


def _visit_dict(ctx: ToolContext, v: Visit) -> dict[str, Any]:
    data = v.model_dump(mode="json")
    data["start"] = v.start.astimezone(ctx.principal.tz).isoformat()
    data["end"] = v.end.astimezone(ctx.principal.tz).isoformat()
    data["when"] = _when(ctx, v.start)
    return data


@tool(effect="write", duty="desk", preview=_preview_visit, title="Schedule visit")
def schedule_visit(
    ctx: ToolContext,
    name: str,
    start: str,
    email: str = "",
    company: str = "",
    host: str = "",
    instructions: str = "",
    duration_minutes: int = 60,
) -> dict[str, Any]:
    """Schedule a visitor: a calendar event with their details, and arrival instructions by mail.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        name: The visitor's full name.
        start: Arrival time in the principal's zone: ISO 8601 (2026-11-24T10:00) or a phrase
            ("tomorrow at 3pm", "Friday 10-11").
        email: The visitor's e-mail address; the arrival instructions go there.
        company: The visitor's company.
        host: Who receives them (default: the principal).
        instructions: How to arrive: address, entrance, parking, ID to bring.
        duration_minutes: Length of the visit when start is a single time.
    """
    visit, _ = _planned_visit(
        ctx, name, start, email, company, host, instructions, duration_minutes
    )
    event = ctx.calendar.create_event(_visit_event(ctx, visit), outbound.sub_key(ctx, "event"))
    out: dict[str, Any] = {}
    if visit.email:
        out["mail_message_id"] = outbound.send(ctx, _visit_mail(ctx, visit), "mail").message_id
    booked = visit.model_copy(update={"event_id": event.id})
    saved = _desk(ctx).add_visit(booked, ctx.idempotency_key)
    return {**_visit_dict(ctx, saved), **out}


@tool(effect="read", duty="desk", title="Visitor log")
def visitor_log(ctx: ToolContext, day: str = "today") -> list[dict[str, Any]]:
    """List the visitors expected on one day (today by default), by arrival time.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        day: The day: ISO date (2026-11-24) or a phrase ("today", "tomorrow", "Friday").
    """
    reading = _read(ctx, day, "day")
    tz = ctx.principal.tz
    first = datetime.combine(reading.start.astimezone(tz).date(), datetime.min.time(), tzinfo=tz)
    last = datetime.combine(first.date() + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    return [_visit_dict(ctx, v) for v in _desk(ctx).visits(first, last)]
