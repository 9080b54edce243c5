"""Tasks for the principal and staff: adding, delegating (by mail or Slack) and completing them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Literal

from tools import outbound
from tools.base import Preview, ToolError, tool
from tools.context import ToolContext
from tools.desk.callers import _day, _desk, _get_message, _read
from tools.providers.base import NotFound, OutgoingMessage
from tools.providers.local.desk import PhoneMessage, Task
from tools.providers.mime import bare_address

if TYPE_CHECKING:
    from pydantic import BaseModel

_PRINCIPAL_WORDS = {"", "principal", "me", "myself"}


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
