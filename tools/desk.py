"""Front-desk tools: phone messages, expected visitors, and tasks for the principal and staff.

Taking a message, scheduling a visit and adding, delegating or completing a
task are ``write`` tools: they change the principal's records (and, for visits
and delegation, the calendar and the outbox), so each goes through the gate.
Times are ISO 8601 or phrases ("tomorrow at 3pm"), read in the principal's zone
against the moment the action was proposed, so an approval a day later still
lands where the card said. The records live in the desk store
(``Workspace.desk``, see :mod:`tools.providers.local.desk`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Literal

from tools import outbound
from tools.base import Preview, ToolError, tool
from tools.context import ToolContext
from tools.dates import Reading, read_when, zone_label
from tools.foundation.principals import WEEKDAYS
from tools.providers.base import NewEvent, NotFound, OutgoingMessage
from tools.providers.local.desk import LocalDesk, PhoneMessage, Task, Visit
from tools.providers.mime import bare_address

if TYPE_CHECKING:
    from pydantic import BaseModel

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_PRINCIPAL_WORDS = {"", "principal", "me", "myself"}


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


# --------------------------------------------------------------------- tasks


def _due(ctx: ToolContext, text: str) -> date | None:
    """The due day a phrase names; a span ("next week") is due on its last day."""
    if not text.strip():
        return None
    reading = _read(ctx, text, "due")
    tz = ctx.principal.tz
    if reading.kind == "days":
        day = (reading.end.astimezone(tz) - timedelta(seconds=1)).date()
    else:
        day = reading.start.astimezone(tz).date()
    if day < ctx.now().date():
        raise ToolError(f"due: {_day(day)} is in the past. Give a due date from today on.")
    return day


def _owner(value: str) -> str:
    name = " ".join(value.split())
    if name.lower() in _PRINCIPAL_WORDS:
        return "principal"
    return outbound.one_address(name, "owner") if "@" in name else name


def _same_owner(a: str, b: str) -> bool:
    if a.casefold() == b.casefold():
        return True
    return "@" in a and "@" in b and bare_address(a) == bare_address(b)


def _get_task(ctx: ToolContext, task_id: str) -> Task:
    try:
        return _desk(ctx).get_task(task_id.strip())
    except NotFound:
        raise ToolError(
            f"No task with id '{task_id}'. Use list_tasks to find the right id."
        ) from None


def _task_dict(ctx: ToolContext, t: Task) -> dict[str, Any]:
    data = t.model_dump(mode="json")
    data["overdue"] = t.status == "open" and t.due is not None and t.due < ctx.now().date()
    return data


def _planned_task(
    ctx: ToolContext, title: str, due: str, owner: str, notes: str, message_id: str
) -> tuple[Task, PhoneMessage | None]:
    if not title.strip():
        raise ToolError("title is empty. Say in a few words what has to be done.")
    message = None
    if message_id.strip():
        message = _get_message(ctx, message_id)
    task = Task(
        title=" ".join(title.split()),
        owner=_owner(owner),
        due=_due(ctx, due),
        notes=notes.strip(),
        created_at=ctx.reference_now(),
    )
    return task, message


def _preview_add_task(ctx: ToolContext, args: BaseModel) -> Preview:
    task, message = _planned_task(ctx, **args.model_dump())
    details = {"Owner": task.owner, "Due": _day(task.due) if task.due else "no date"}
    if message is not None:
        details["From message"] = f"{message.caller}: {message.reason} (marked done)"
    return Preview(summary=f"Add task '{task.title}'", details=details, body=task.notes or None)


@tool(effect="write", duty="desk", preview=_preview_add_task, title="Add task")
def add_task(
    ctx: ToolContext,
    title: str,
    due: str = "",
    owner: str = "principal",
    notes: str = "",
    message_id: str = "",
) -> dict[str, Any]:
    """Add a task to the principal's list (or a staff member's), without telling anyone.

    To hand a task to staff with a message, use delegate_task instead.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        title: What has to be done, e.g. "Call back Dana Smith".
        due: Due day: ISO date (2026-11-24) or a phrase ("Friday", "next week"); empty for none.
        owner: "principal", or the staff member's name or e-mail address.
        notes: Details worth keeping with the task.
        message_id: A phone message this task comes from; it is marked done.
    """
    task, message = _planned_task(ctx, title, due, owner, notes, message_id)
    desk = _desk(ctx)
    saved = desk.add_task(task, ctx.idempotency_key)
    if message is not None:
        desk.mark_message(message.id, "done")
    return _task_dict(ctx, saved)


def _slack_staff(ctx: ToolContext, to: str) -> tuple[str, str]:
    """(Slack user id, display name) of the staff member ``to`` names, or a ToolError."""
    wanted = " ".join(to.split()).lstrip("@").casefold()
    people = [i for i in ctx.principal.identities if i.channel == "slack" and i.role != "outsider"]
    for ident in people:
        if wanted in (ident.address.casefold(), ident.name.casefold()):
            return ident.address, ident.name or ident.address
    known = ", ".join(f"{i.name or i.address} ({i.address})" for i in people) or "none"
    raise ToolError(
        f"to: '{to}' is not a Slack identity of this principal's staff (known: {known}). "
        "Add them to the principal's identities, or delegate by e-mail."
    )


def _planned_delegation(
    ctx: ToolContext, to: str, title: str, task_id: str, due: str, notes: str, via: str
) -> tuple[Task, OutgoingMessage, str]:
    """The task as it will be, the message text (as a mail), and the Slack user id (if any)."""
    if via == "slack":
        slack_id, name = _slack_staff(ctx, to)
        owner = name
    else:
        slack_id, owner = "", outbound.one_address(to, "to")
    if task_id.strip():
        old = _get_task(ctx, task_id)
        if old.status == "done":
            raise ToolError(f"Task '{old.title}' is already done; there is nothing to delegate.")
        task = old.model_copy(
            update={
                "owner": owner,
                "title": " ".join(title.split()) or old.title,
                "due": _due(ctx, due) if due.strip() else old.due,
                "notes": notes.strip() or old.notes,
            }
        )
    else:
        if not title.strip():
            raise ToolError("Give the task's title, or task_id to delegate an existing task.")
        task = Task(
            title=" ".join(title.split()),
            owner=owner,
            due=_due(ctx, due),
            notes=notes.strip(),
            created_at=ctx.reference_now(),
        )
    when = f" by {_day(task.due)}" if task.due else ""
    text = f"Hello,\n\ncould you please take care of this{when}:\n\n{task.title}"
    if task.notes:
        text += f"\n\n{task.notes}"
    text += "\n\nThank you,"
    mail = OutgoingMessage(
        to=[owner] if not slack_id else [],
        subject=f"Task: {task.title}",
        body=outbound.signed(ctx, text),
    )
    return task, mail, slack_id


def _preview_delegate(ctx: ToolContext, args: BaseModel) -> Preview:
    task, mail, slack_id = _planned_delegation(ctx, **args.model_dump())
    warnings = []
    if slack_id:
        details = {"Slack DM to": f"{task.owner} ({slack_id})"}
        summary = f"Delegate '{task.title}' to {task.owner} on Slack"
        if ctx.workspace.slack is None:
            warnings.append("Slack is not connected (SLACK_BOT_TOKEN); this will fail")
    else:
        details = {"To": mail.to[0], "Subject": mail.subject}
        summary = f"Delegate '{task.title}' to {mail.to[0]} by e-mail"
        if ctx.principal.role_of("email", bare_address(mail.to[0])) != "staff":
            warnings.append(f"{mail.to[0]} is not listed as staff in the principal's profile")
    details["Due"] = _day(task.due) if task.due else "no date"
    if task.id:
        details["Task"] = task.id
    return Preview(summary=summary, details=details, body=mail.body, warnings=warnings)


@tool(effect="write", duty="desk", preview=_preview_delegate, title="Delegate task")
def delegate_task(
    ctx: ToolContext,
    to: str,
    title: str = "",
    task_id: str = "",
    due: str = "",
    notes: str = "",
    via: Literal["email", "slack"] = "email",
) -> dict[str, Any]:
    """Hand a task to a staff member: they get an e-mail or a Slack DM, and the task becomes theirs.

    Give task_id to hand over an existing task, or title (and due, notes) for a new one.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        to: For e-mail, the staff member's address ("Sam <sam@example.com>"); for Slack, their
            name or Slack user id as listed in the principal's identities.
        title: What has to be done (for a new task, or to reword an existing one).
        task_id: The id of an open task, as shown by list_tasks.
        due: Due day: ISO date or a phrase ("Friday"); empty keeps the task's own.
        notes: Details for the staff member.
        via: ``email`` (default) or ``slack`` (a direct message from the secretary's bot).
    """
    task, mail, slack_id = _planned_delegation(ctx, to, title, task_id, due, notes, via)
    if slack_id:
        messenger = ctx.workspace.slack
        if messenger is None:
            raise ToolError(
                "Slack is not connected: set SLACK_BOT_TOKEN (see the README section 'Slack'), "
                "or delegate by e-mail."
            )
        ts = messenger.direct_message(slack_id, mail.body, outbound.sub_key(ctx, "slack"))
        handed = f"slack {slack_id} {ts}"
    else:
        handed = f"mail {outbound.send(ctx, mail, 'mail').message_id}"
    task = task.model_copy(update={"delegated_via": handed})
    desk = _desk(ctx)
    saved = desk.update_task(task) if task.id else desk.add_task(task, ctx.idempotency_key)
    return _task_dict(ctx, saved)


def _preview_complete(ctx: ToolContext, args: BaseModel) -> Preview:
    values = args.model_dump()
    task = _get_task(ctx, values["task_id"])
    warnings = ["Already done; nothing changes"] if task.status == "done" else []
    return Preview(
        summary=f"Mark task '{task.title}' done",
        details={"Owner": task.owner, "Due": _day(task.due) if task.due else "no date"},
        body=values["note"] or None,
        warnings=warnings,
    )


@tool(effect="write", duty="desk", preview=_preview_complete, title="Complete task")
def complete_task(ctx: ToolContext, task_id: str, note: str = "") -> dict[str, Any]:
    """Mark a task done.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        task_id: The task's id, as shown by list_tasks.
        note: How it was done, added to the task's notes.
    """
    task = _get_task(ctx, task_id)
    if task.status == "done":
        return _task_dict(ctx, task)
    notes = "\n".join(n for n in (task.notes, note.strip()) if n)
    done = task.model_copy(update={"status": "done", "done_at": ctx.now(), "notes": notes})
    return _task_dict(ctx, _desk(ctx).update_task(done))


@tool(effect="read", duty="desk", title="List tasks")
def list_tasks(
    ctx: ToolContext,
    owner: str = "",
    status: Literal["open", "done", "all"] = "open",
    overdue_only: bool = False,
) -> list[dict[str, Any]]:
    """List tasks by due date, each marked overdue when its day has passed and it is open.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        owner: Only this owner's tasks ("principal", a staff name or e-mail); empty for all.
        status: ``open``, ``done`` or ``all``.
        overdue_only: Only open tasks whose due day has passed.
    """
    found = _desk(ctx).tasks(None if status == "all" else status)
    if owner.strip():
        # Match "sam@example.com" to a task owned by "Sam <sam@example.com>" too.
        who = _owner(owner)
        found = [t for t in found if _same_owner(t.owner, who)]
    out = [_task_dict(ctx, t) for t in found]
    return [t for t in out if t["overdue"]] if overdue_only else out
