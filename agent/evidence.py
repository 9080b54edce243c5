"""What the planner has seen, piece by piece, with who wrote each piece (for provenance).

* The principal's (and staff's) messages in the thread are the principal's words.
* A channel's own note to the planner (the mail desk's) is the secretary's voice and
  proves nothing; what it repeats of an incoming message (the sender, the triage reason)
  is that sender's content.
* A read tool's result is split into its records, and each record's author is read from
  the record itself, whichever tool returned it: a message's sender, an event's
  organiser, a document's outside author (``filed_from``), a recalled item's sender. A
  record with none of these takes the tool's declared trust. In each record, ids become
  identifier evidence, and every other text, the author's own address included (an
  outsider writes their own From line), is the author's content.
* A read whose lookup was chosen by outside content (a destination, a name) returns
  outside content, or a search could launder it into "your own data".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage

from agent.provenance import ID_ARGS, TRUSTED, Evidence, canon
from tools.providers.mime import bare_address

if TYPE_CHECKING:
    from tools.foundation.principals import Principal

ROLE_KEY = "secretary_role"
"""HumanMessage.additional_kwargs key: principal / staff / outsider / secretary."""
OUTSIDE_KEY = "secretary_outside"
"""HumanMessage.additional_kwargs key: outside content a channel's note repeats."""

_AUTHOR_KEYS = ("sender", "from", "organizer", "filed_from", "author")
_QUIET = frozenset({"score", "matched_by", "size", "sha256", "kind", "status", "folder"})


@dataclass(frozen=True)
class Author:
    """Who wrote a record: the principal's side, or an outsider (with their address)."""

    outsider: bool
    who: str = ""


PRINCIPAL = Author(False)


class Attribution:
    """Decides authorship for one principal (their own addresses, their staff)."""

    def __init__(self, principal: Principal, own: tuple[str, ...] = ()) -> None:
        """Create for a principal.

        Args:
            principal: Whose conversation it is.
            own: Other addresses the secretary sends from for them.
        """
        self.own = {principal.email.lower(), *(a.lower() for a in own if a)}
        account = principal.accounts.get("mail", {})
        if account.get("address"):
            self.own.add(str(account["address"]).lower())
        self.staff = {
            i.address.lower() for i in principal.identities if i.role in ("principal", "staff")
        }

    def of_address(self, value: str) -> Author | None:
        """The author a sender/organiser field names (None when it names no address)."""
        addr = bare_address(value).lower()
        if "@" not in addr:
            return None
        if addr in self.own or addr in self.staff:
            return PRINCIPAL
        return Author(True, addr)

    def of_record(self, record: dict[str, Any]) -> Author | None:
        """The author a record names about itself, if any."""
        if record.get("kind") in ("sent", "chat", "note", "preference", "draft"):
            return PRINCIPAL
        for key in _AUTHOR_KEYS:
            value = record.get(key)
            if key in record and isinstance(value, str):
                if not value.strip():
                    if key in ("organizer", "filed_from", "author"):
                        return PRINCIPAL  # nobody else: the principal's own entry
                    continue
                found = self.of_address(value)
                if found is not None:
                    return found
        return None


def _ref(record: dict[str, Any], fallback: str) -> str:
    mid = record.get("message_id")
    if isinstance(mid, str) and mid and record.get("sender"):
        return f"{mid} from {record['sender']}"
    if isinstance(mid, str) and mid:
        return f"message {mid}"
    title = record.get("title") or record.get("subject")
    if isinstance(title, str) and title:
        kind = "event" if "start" in record else "item"
        return f"{kind} '{title[:60]}' ({fallback})"
    return fallback


def _walk(
    value: Any,
    author: Author,
    ref: str,
    tool: str,
    people: Attribution | None,
    out: list[Evidence],
) -> None:
    """Evidence of a result; ``people`` None: every record is ``author``'s (a steered read)."""
    if isinstance(value, list):
        for item in value:
            _walk(item, author, ref, tool, people, out)
        return
    if not isinstance(value, dict):
        _piece(str(value), author, ref, tool, out)
        return
    mine = (people.of_record(value) if people is not None else None) or author
    here = _ref(value, ref)
    texts: list[str] = []
    for key, field_value in value.items():
        if key in _QUIET:
            continue
        if key in ID_ARGS and isinstance(field_value, str) and people is not None:
            # Which record a listing names is bookkeeping, unless outside content chose
            # the lookup: then picking one of its offers is their choice too.
            if field_value.strip():
                out.append(Evidence("identifier", field_value, here))
            continue
        if isinstance(field_value, dict | list):
            _walk(field_value, mine, here, tool, people, out)
        elif isinstance(field_value, str | int | float) and not isinstance(field_value, bool):
            texts.append(str(field_value))
    _piece("\n".join(t for t in texts if t.strip()), mine, here, tool, out)


def _piece(text: str, author: Author, ref: str, tool: str, out: list[Evidence]) -> None:
    if not text.strip():
        return
    if author.outsider:
        out.append(Evidence("untrusted", text, ref, who=author.who or "someone outside"))
    else:
        out.append(Evidence("memory" if tool == "recall" else "workspace", text, ref))
    out[-1].tool = tool


def read_result(
    tool: str, content: str, trust: str, people: Attribution, steered_by: str = ""
) -> list[Evidence]:
    """The evidence of one read tool's result."""
    default = Author(True, steered_by or f"whoever wrote what {tool} returned")
    author = default if steered_by or trust == "untrusted" else PRINCIPAL
    try:
        data = json.loads(content)
    except ValueError:
        data = content
    out: list[Evidence] = []
    _walk(data, author, f"{tool} result", tool, None if steered_by else people, out)
    return out


def evidence(messages: list[AnyMessage], people: Attribution) -> list[Evidence]:
    """Everything the planner has seen, with its author, for provenance."""
    out: list[Evidence] = []
    calls: dict[str, dict[str, Any]] = {}
    for m in messages:
        text = m.content if isinstance(m.content, str) else json.dumps(m.content)
        if isinstance(m, AIMessage):
            for c in m.tool_calls:
                calls[c.get("id") or ""] = dict(c.get("args") or {})
        elif isinstance(m, HumanMessage):
            role = m.additional_kwargs.get(ROLE_KEY, "principal")
            ref = str(m.additional_kwargs.get("secretary_ref") or "")
            if role == "outsider":
                who = str(m.additional_kwargs.get("secretary_who") or ref or "an outsider")
                out.append(Evidence("untrusted", text, ref or "their message", who=who))
            elif role == "secretary":
                # A channel's note is not the principal's voice; what it repeats is theirs.
                for item in m.additional_kwargs.get(OUTSIDE_KEY) or []:
                    out.append(
                        Evidence(
                            "untrusted",
                            str(item.get("text", "")),
                            str(item.get("ref", ref)),
                            who=str(item.get("who", "someone outside")),
                        )
                    )
            else:
                out.append(Evidence("principal", text, "your message"))
        elif isinstance(m, ToolMessage):
            artifact = m.artifact if isinstance(m.artifact, dict) else {}
            if artifact.get("error") or "proposal" in artifact:
                continue  # an error text or the outcome of our own action
            trust = str(artifact.get("trust", "workspace"))
            if m.name == "recall":
                trust = "memory"
            steer = _steered(calls.get(m.tool_call_id, {}), out)
            out.extend(read_result(m.name or "tool", text, trust, people, steer))
    return out


def _steered(args: dict[str, Any], seen: list[Evidence]) -> str:
    """Who, if anyone outside, chose what a read tool looked up (copied from their text)."""
    for key, value in args.items():
        if key in ID_ARGS or not isinstance(value, str) or len(value.strip()) < 3:
            continue
        wanted = canon(value)
        holders = [e for e in seen if e.source != "identifier" and e.contains(wanted)]
        if holders and not any(e.source in TRUSTED for e in holders):
            outside = [e for e in holders if e.source == "untrusted"]
            if outside:
                return outside[0].who
    return ""
