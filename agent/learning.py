"""What the secretary keeps from what happens: sent mail, chat turns, and preferences.

* Sent mail and saved drafts enter the principal's memory when they are executed;
  meetings arranged, moved, cancelled or answered enter it as meeting notes.
* Each chat turn (the request and the answer) enters memory as a note.
* When the principal edits or rejects a proposal, the difference becomes a
  preference note ("changed the sign-off to 'Best, A.'", "rejected: never
  before 9:00"), which the planner is shown on every later request.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.ledger import Proposal
    from tools.context import Workspace

log = logging.getLogger(__name__)

MAIL_TOOLS = {
    "send_email": "sent",
    "reply_to_message": "sent",
    "forward_message": "sent",
    "propose_times": "sent",
    "save_draft": "draft",
}
CALENDAR_TOOLS = {
    "create_event": "Meeting arranged",
    "move_event": "Meeting moved",
    "cancel_event": "Meeting cancelled",
    "respond_to_invite": "Invitation answered",
}


def remember_executed(ws: Workspace, proposal: Proposal) -> None:
    """Put a sent message, a saved draft or a calendar change into memory."""
    if proposal.tool in CALENDAR_TOOLS and ws.memory is not None:
        _remember_meeting(ws, proposal)
        return
    kind = MAIL_TOOLS.get(proposal.tool)
    if kind is None or ws.memory is None or not isinstance(proposal.result, dict):
        return
    message_id = proposal.result.get("message_id")
    if not message_id:
        return
    try:
        message = ws.mail.get_message(message_id)
    except Exception:  # noqa: BLE001 - memory is best effort; the action already happened
        log.warning("could not read back %s for memory", message_id, exc_info=True)
        return
    ws.memory.add_message(message, kind=kind, source=f"proposal {proposal.id}")


def _remember_meeting(ws: Workspace, proposal: Proposal) -> None:
    """A meeting note: what was arranged, when, with whom (so it can be recalled later)."""
    result: dict[str, Any] = proposal.result if isinstance(proposal.result, dict) else {}
    inner = result.get("event")
    event: dict[str, Any] = inner if isinstance(inner, dict) else result
    title = str(event.get("title") or proposal.effective_args.get("title") or "")
    lines = [f"{CALENDAR_TOOLS[proposal.tool]}: {title}".rstrip(": ")]
    fields = (
        ("When", "start"), ("Until", "end"), ("Where", "location"),
        ("With", "attendees"), ("Notes", "description"), ("Answer", "answer"),
    )  # fmt: skip
    for label, key in fields:
        value = event.get(key) or proposal.effective_args.get(key)
        if value:
            lines.append(f"{label}: {', '.join(value) if isinstance(value, list) else value}")
    ws.memory.add_note(
        "\n".join(lines), kind="note", ref=f"proposal {proposal.id}", subject=title[:80]
    )


def remember_turn(ws: Workspace, thread: str, request: str, answer: str | None) -> None:
    """Keep a chat turn, so later requests can recall what was asked and said."""
    if ws.memory is None:
        return
    text = f"Principal asked: {request}" + (f"\nSecretary answered: {answer}" if answer else "")
    ws.memory.add_note(text, kind="chat", ref=thread, subject=request[:80])


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= 80 else text[:77] + "..."


def _changed_lines(old: str, new: str) -> list[str]:
    old_lines = {ln.strip() for ln in old.splitlines() if ln.strip()}
    return [ln.strip() for ln in new.splitlines() if ln.strip() and ln.strip() not in old_lines]


def preference_from_decision(proposal: Proposal) -> str | None:
    """A preference note from an edit or a rejection (None when nothing was learned)."""
    summary = proposal.preview.get("summary") or proposal.tool
    if proposal.decision == "reject":
        if not proposal.reason:
            return None
        return f"Rejected '{summary}' ({proposal.tool}) because: {proposal.reason}"
    if proposal.decision == "respond" and proposal.reason:
        return f"Instead of '{summary}' ({proposal.tool}) the principal said: {proposal.reason}"
    if proposal.decision != "edit" or proposal.final_args is None:
        return None
    notes = []
    for name, new in proposal.final_args.items():
        old = proposal.args.get(name)
        if new == old:
            continue
        if isinstance(new, str) and isinstance(old, str) and ("\n" in new or len(new) > 80):
            added = _changed_lines(old, new)
            if added:
                notes.append(f"{name}: wrote {' / '.join(repr(a) for a in added[-3:])}")
        else:
            notes.append(f"{name}: {_short(old)!r} -> {_short(new)!r}")
    if not notes:
        return None
    return f"Edited {proposal.tool} before approving: " + "; ".join(notes)


def learn_from_decision(ws: Workspace, proposal: Proposal) -> str | None:
    """Store the preference a decision teaches, and return it."""
    note = preference_from_decision(proposal)
    if note and ws.memory is not None:
        ws.memory.add_note(note, kind="preference", ref=proposal.id)
    return note
