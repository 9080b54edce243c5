"""Block Kit for Slack: approval cards, their buttons, and the edit and reject modals.

Everything here is pure: a proposal (and its tool's argument schema) in, Slack's
JSON out. Text from proposals is escaped for mrkdwn, so no content can mention
``@channel`` or fake a link; long values are clipped to Slack's block limits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from agent.approval import card_lines, coerce_edit, origin

if TYPE_CHECKING:
    from agent.ledger import Proposal

APPROVE = "secretary_approve"
EDIT = "secretary_edit"
REJECT = "secretary_reject"
EDIT_VIEW = "secretary_edit_view"
REJECT_VIEW = "secretary_reject_view"
MAX_INPUT = 3000
"""Slack's limit for a text input; longer arguments are edited from the terminal."""


def escape(text: str) -> str:
    """Escape text for Slack mrkdwn, so no content can mention @channel or fake a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters (ending in "...") when it is longer."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def who(actor: str | None) -> str:
    """A ledger actor (``slack:U123``, ``terminal:ada``) as Slack mrkdwn."""
    if not actor:
        return "someone"
    channel, _, address = actor.partition(":")
    if channel == "slack" and re.fullmatch(r"[A-Z0-9]+", address):
        return f"<@{address}>"
    label = {"terminal": "the terminal", "email": "e-mail"}.get(channel, channel)
    return f"{escape(address)} ({label})" if address else escape(label)


def _when(iso: str | None) -> str:
    """A ledger time shown in each reader's own time zone by Slack."""
    if not iso:
        return ""
    try:
        at = datetime.fromisoformat(iso)
    except ValueError:
        return escape(iso)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    fallback = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def outcome(p: Proposal) -> str:
    """One line saying who decided a proposal and what became of it."""
    by, at = who(p.decided_by), _when(p.executed_at or p.decided_at)
    edited = " (edited)" if p.decision == "edit" else ""
    if p.status == "executed":
        return f":white_check_mark: Approved{edited} by {by}; done {at}."
    if p.status == "failed":
        return f":warning: Approved{edited} by {by}, but it failed: {escape(p.error or '?')}"
    if p.status == "approved":
        return f":hourglass_flowing_sand: Approved{edited} by {by}; running."
    if p.status == "rejected":
        verb = "Answered instead" if p.decision == "respond" else "Rejected"
        why = f": {escape(p.reason)}" if p.reason else "."
        return f":x: {verb} by {by} {at}{why}"
    return ""


def card_text(p: Proposal) -> str:
    """The plain notification text of a card (also what screen readers get)."""
    summary = p.preview.get("summary") or p.tool
    if p.status == "proposed":
        return f"Approve? {summary}"
    return f"{summary}: {p.status}"


def card_blocks(p: Proposal) -> list[dict[str, Any]]:
    """The Block Kit approval card of a proposal, with buttons while it waits."""
    summary = p.preview.get("summary") or p.tool
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(summary, 150)}}
    ]
    lines = [f"*{escape(label)}:* {escape(value)}" for label, value in card_lines(p)[1:]]
    chunk: list[str] = []
    for line in lines:
        # A section holds at most 3000 characters: split long cards over several.
        if chunk and len("\n".join([*chunk, line])) > 2900:
            blocks.append(_section("\n".join(chunk)))
            chunk = []
        chunk.append(clip(line, 2900))
    if chunk:
        blocks.append(_section("\n".join(chunk)))
    body = p.preview.get("body")
    if body:
        where = f" [{origin(p, 'body')}]" if "body" in p.effective_args else ""
        blocks.append(_section(f"*Text{escape(where)}:*\n```{escape(clip(body, 2800))}```"))
    for warning in p.preview.get("warnings") or []:
        blocks.append(_section(f":warning: *{escape(clip(str(warning), 2800))}*"))
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"Proposal `{p.id}` · tool `{escape(p.tool)}` · for {p.principal}"
                    f" · terminal: `secretary approve {p.id}`",
                }
            ],
        }
    )
    if p.status == "proposed":
        blocks.append(
            {
                "type": "actions",
                "block_id": f"decide:{p.id}",
                "elements": [
                    _button("Approve", APPROVE, p.id, "primary"),
                    _button("Edit", EDIT, p.id),
                    _button("Reject", REJECT, p.id, "danger"),
                ],
            }
        )
    else:
        blocks.append(_section(outcome(p)))
    return blocks


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _button(label: str, action: str, value: str, style: str = "") -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _shown(value: Any) -> str:
    """An argument as the text a person edits (lists comma-separated)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _types(prop: dict[str, Any]) -> set[str]:
    found = {prop.get("type")} | {s.get("type") for s in prop.get("anyOf", [])}
    return {t for t in found if isinstance(t, str)}


def edit_view(p: Proposal, schema: dict[str, Any]) -> dict[str, Any]:
    """The modal that edits a proposal's arguments (one text input per argument)."""
    blocks: list[dict[str, Any]] = [_section(f"*{escape(card_text(p))}*")]
    for name, prop in schema.get("properties", {}).items():
        text = _shown(p.effective_args.get(name))
        label = clip(name.replace("_", " ").capitalize(), 2000)
        if len(text) > MAX_INPUT:
            blocks.append(
                _section(f"*{escape(label)}* is too long to edit here: `secretary edit {p.id}`.")
            )
            continue
        element: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": "value",
            "multiline": name == "body" or "\n" in text or len(text) > 150,
            "max_length": MAX_INPUT,
        }
        if text:
            element["initial_value"] = text
        block: dict[str, Any] = {
            "type": "input",
            "block_id": f"arg:{name}",
            "optional": True,
            "label": {"type": "plain_text", "text": label},
            "element": element,
        }
        hint = "Several values: separate with commas." if "array" in _types(prop) else ""
        if hint or prop.get("description"):
            block["hint"] = {
                "type": "plain_text",
                "text": clip(" ".join(filter(None, [prop.get("description", ""), hint])), 2000),
            }
        blocks.append(block)
    return {
        "type": "modal",
        "callback_id": EDIT_VIEW,
        "private_metadata": json.dumps({"proposal": p.id}),
        "title": {"type": "plain_text", "text": "Edit, then run"},
        "submit": {"type": "plain_text", "text": "Run edited"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks[:100],
    }


def reject_view(p: Proposal) -> dict[str, Any]:
    """The modal asking why a proposal is rejected (the reason goes to the secretary)."""
    return {
        "type": "modal",
        "callback_id": REJECT_VIEW,
        "private_metadata": json.dumps({"proposal": p.id}),
        "title": {"type": "plain_text", "text": "Reject"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _section(f"*{escape(card_text(p))}*"),
            {
                "type": "input",
                "block_id": "reason",
                "optional": True,
                "label": {"type": "plain_text", "text": "Why? The secretary is told."},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "multiline": True,
                    "max_length": MAX_INPUT,
                },
            },
        ],
    }


def edited_args(
    p: Proposal, schema: dict[str, Any], values: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """The arguments after a submitted edit modal, and the names that changed.

    Raises:
        ValueError: when a field cannot be read (an unknown name, bad JSON).
    """
    props = schema.get("properties", {})
    changes: dict[str, Any] = {}
    for block_id, inputs in values.items():
        if not block_id.startswith("arg:"):
            continue
        name = block_id[4:]
        raw = (inputs.get("value") or {}).get("value")
        if (raw or "") == _shown(p.effective_args.get(name)):
            continue
        kinds = _types(props.get(name, {}))
        if raw is None or raw == "":
            changes[name] = [] if "array" in kinds else None
        elif "string" not in kinds and kinds & {"integer", "number", "boolean", "object"}:
            try:
                changes[name] = json.loads(raw)
            except json.JSONDecodeError:
                raise ValueError(f"'{raw}' is not a valid value for {name}.") from None
        else:
            changes[name] = raw
    return coerce_edit(schema, p.effective_args, changes), list(changes)
