"""Proposals and decisions: the approval card, the interrupt payload, and edits.

A write-tool call becomes a :class:`~agent.ledger.Proposal`. This module turns
proposals into what people and tools see - a plain-text / Markdown approval
card, and the Agent Inbox ``HumanInterrupt`` payload that LangGraph tooling
can display - and turns human answers back into :class:`Decision` data.

Decisions are data: ``approve``, ``edit`` (new arguments, validated against
the tool's schema), ``reject`` (the reason goes back to the planner) and
``respond`` (a message back to the planner; the action does not run).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from agent.ledger import Proposal

# Importing the registry also hands the tools' declared approval rules to the principal's
# checks (who may decide, what standing policy may approve), in every process with a gate.
from tools.base import ToolSpec

if TYPE_CHECKING:
    from tools.context import ToolContext
    from tools.foundation.principals import Policy
    from tools.providers.base import Message

APPROVAL_TOKEN = re.compile(r"\[SEC ([0-9a-f]{8}) ([0-9a-f]{16})\]")
"""The token an approval request carries in its subject: proposal id and signature."""


def secretary_traffic(message: Message) -> bool:
    """Whether a message is the approval desk's own: a request, a notice, an answer to one.

    Such mail is bookkeeping, not correspondence: it never enters memory.
    """
    headers = {k.lower() for k in message.headers}
    if headers & {"x-secretary-principal", "x-secretary-tag", "x-secretary-proposal"}:
        return True
    return bool(APPROVAL_TOKEN.search(message.subject))


def policy_approves(spec: ToolSpec, policy: Policy) -> bool:
    """Whether the principal's standing policy approves a call of ``spec`` without asking.

    The tool's declaration comes first: a tool declared ``auto_approve=False`` (a reply to
    the press) is never approved by policy, whatever the settings list.
    """
    return spec.auto_approve and spec.name in policy.auto_approve


DecisionKind = Literal["approve", "edit", "reject", "respond"]


class Decision(BaseModel):
    """A human's answer to one proposal."""

    kind: DecisionKind
    args: dict[str, Any] | None = Field(None, description="New arguments, for 'edit'.")
    text: str | None = Field(None, description="Reason (reject) or message (respond).")


def interrupt_payload(proposals: list[Proposal]) -> list[dict[str, Any]]:
    """Agent Inbox ``HumanInterrupt`` objects, one per waiting proposal.

    The four standard keys are ``action_request``, ``config`` and
    ``description``; ``proposal_id``, ``preview`` and ``provenance`` are extra
    keys for richer front ends.
    """
    return [
        {
            "action_request": {"action": p.tool, "args": p.args},
            "config": {
                "allow_accept": True,
                "allow_edit": True,
                "allow_respond": True,
                "allow_ignore": True,
            },
            "description": card_markdown(p),
            "proposal_id": p.id,
            "preview": p.preview,
            "provenance": p.provenance,
        }
        for p in proposals
    ]


def apply_edit(
    spec: ToolSpec, proposal: Proposal, changes: dict[str, Any], ctx: ToolContext
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate an edit and render the card of what will now run.

    Returns the final arguments (only those that differ from the defaults) and
    the new preview. Raises ToolError when the edited arguments are invalid.
    """
    validated = spec.validate({**proposal.args, **changes})
    final = validated.model_dump(mode="json", exclude_defaults=True)
    return final, spec.render_preview(ctx, validated).to_dict()


def decision_from_human_response(response: Any) -> Decision | None:
    """Map an Agent Inbox ``HumanResponse`` dict to a Decision (None if malformed)."""
    if not isinstance(response, dict):
        return None
    kind = response.get("type")
    args = response.get("args")
    if kind == "accept":
        return Decision(kind="approve")
    if kind == "edit" and isinstance(args, dict):
        new = args.get("args", args)
        return Decision(kind="edit", args=new if isinstance(new, dict) else None)
    if kind == "ignore":
        return Decision(kind="reject", text=args if isinstance(args, str) else None)
    if kind == "response" and isinstance(args, str):
        return Decision(kind="respond", text=args)
    return None


def _fmt(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "(none)"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if value is None or value == "":
        return "(empty)"
    return str(value)


def card_lines(p: Proposal) -> list[tuple[str, str]]:
    """Labelled lines of an approval card, in display order (shared by all channels)."""
    lines: list[tuple[str, str]] = [("Action", p.preview.get("summary") or p.tool)]
    body = p.preview.get("body") or ""
    shown: set[str] = set()
    for name, value in p.effective_args.items():
        if value in (None, "", [], {}):
            continue
        text = _fmt(value)
        shown.add(text)
        if "\n" in text or len(text) > 100:
            first = text.strip().splitlines()[0][:60]
            text = f"{first} ... (full text below)" if body else text
        label = name.replace("_", " ").capitalize()
        lines.append((label, f"{text}  [{origin(p, name)}]"))
    for label, value in (p.preview.get("details") or {}).items():
        if str(value) not in shown:
            lines.append((label, str(value)))
    for ref in p.preview.get("citations") or []:
        lines.append(("Draws on", ref))
    return lines


def origin(p: Proposal, name: str) -> str:
    """Where one argument came from, as a short phrase."""
    src = p.provenance.get(name, {})
    text = str(src.get("label") or "source unknown")
    if src.get("ref") and src.get("ref") != "your message":
        text += f": {src['ref']}"
    return text


def card_markdown(p: Proposal) -> str:
    """The approval card as Markdown (Agent Inbox description, e-mail, docs)."""
    out = [f"**{p.preview.get('summary') or p.tool}**  (proposal `{p.id}`, tool `{p.tool}`)", ""]
    for label, value in (p.preview.get("details") or {}).items():
        out.append(f"- **{label}:** {value}")
    out.append("")
    out.append("| argument | value | from |")
    out.append("|---|---|---|")
    for name, value in p.effective_args.items():
        where = origin(p, name)
        cell = _fmt(value).replace("\n", " ").replace("|", "\\|")
        if len(cell) > 120:
            cell = cell[:117] + "..."
        out.append(f"| {name} | {cell} | {where} |")
    cited = p.preview.get("citations") or []
    if cited:
        out += ["", "Draws on: " + "; ".join(cited)]
    body = p.preview.get("body")
    if body:
        out += ["", "```", body, "```"]
    for w in p.preview.get("warnings") or []:
        out.append(f"\n> WARNING: {w}")
    return "\n".join(out)


def parse_assignments(pairs: list[str]) -> dict[str, Any]:
    """Parse ``FIELD=VALUE`` pairs from the command line.

    A value that is valid JSON (a list, a number, ``true``) is taken as such;
    anything else is a string. Raises ValueError naming the bad pair.
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"'{pair}' is not FIELD=VALUE (e.g. --set subject='New subject').")
        name, raw = pair.split("=", 1)
        name = name.strip()
        if not name:
            raise ValueError(f"'{pair}' has no field name.")
        try:
            value: Any = json.loads(raw)
            if isinstance(value, str | int | float | bool | list | dict) or value is None:
                out[name] = value
                continue
        except json.JSONDecodeError:
            pass
        out[name] = raw
    return out


def coerce_edit(
    schema: dict[str, Any], base: dict[str, Any], changes: dict[str, Any]
) -> dict[str, Any]:
    """Merge edits into the proposed arguments, fitting plain strings to list fields.

    ``--set to=a@x.com,b@y.com`` on a list field becomes ``["a@x.com", "b@y.com"]``.
    Unknown field names raise ValueError listing the known ones.
    """
    props = schema.get("properties", {})
    merged = dict(base)
    for name, value in changes.items():
        if name not in props:
            known = ", ".join(props) or "(none)"
            raise ValueError(f"'{name}' is not an argument of this action (arguments: {known}).")
        ptype = props[name].get("type")
        any_of = [s.get("type") for s in props[name].get("anyOf", [])]
        if isinstance(value, str) and (ptype == "array" or "array" in any_of):
            value = [v.strip() for v in value.split(",") if v.strip()]
        elif not isinstance(value, str) and (ptype == "string"):
            value = json.dumps(value) if isinstance(value, list | dict) else str(value)
        merged[name] = value
    return merged
