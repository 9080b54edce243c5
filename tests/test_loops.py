"""Loop protection holds: machine-made mail is never answered, people's mail still is.

The messages are data (``tests/data/loops``): must-not-answer mail (bounces,
automatic replies in many languages, lists, bulk, no-reply senders) and
controls written by people. Each goes through :func:`tools.autoreply.automatic`
and through the real mail desk with a model that always wants to answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from agent.channels.email import MailDesk
from tools.autoreply import automatic
from tools.foundation.principals import Principal
from tools.providers.base import Contact
from tools.providers.mime import parse_rfc822
from tools.providers.scripted import ScriptedChatModel
from tools.triage import Incoming

LOOPS = Path(__file__).parent / "data" / "loops"
MUST_NOT_ANSWER = sorted((LOOPS / "must-not-answer").glob("*.eml"))
ANSWER = sorted((LOOPS / "answer").glob("*.eml"))


def _id(path: Path) -> str:
    return path.stem


@pytest.fixture
def ada(request: pytest.FixtureRequest) -> Principal:
    """Ada, deciding in the terminal (default) or by e-mail (``indirect`` parameter)."""
    channel = getattr(request, "param", "terminal")
    return Principal(
        id="ada",
        name="Ada Lovelace",
        email="ada@example.com",
        timezone="Europe/Berlin",
        policy={"approval_channel": channel},
    )


def test_the_suite_covers_enough_mail() -> None:
    assert len(MUST_NOT_ANSWER) >= 50 and len(ANSWER) >= 20
    ids = [parse_rfc822(p.read_bytes(), "inbox").message_id for p in MUST_NOT_ANSWER + ANSWER]
    assert len(set(ids)) == len(ids), "every message needs its own Message-ID"


@pytest.mark.parametrize("path", MUST_NOT_ANSWER, ids=_id)
def test_machine_mail_is_recognised(path: Path, ada: Principal) -> None:
    assert automatic(Incoming.from_raw(path.read_bytes(), ada)), path.name


@pytest.mark.parametrize("path", ANSWER, ids=_id)
def test_people_are_not_taken_for_machines(path: Path, ada: Principal) -> None:
    assert automatic(Incoming.from_raw(path.read_bytes(), ada)) is None


def _always_reply(messages: list[BaseMessage]) -> Any:
    """A model that answers everything: triage says respond, the planner proposes a reply."""
    humans = [i for i, m in enumerate(messages) if isinstance(m, HumanMessage)]
    last = messages[humans[-1]] if humans else None
    text = str(last.content) if last is not None else ""
    if text.startswith("Triage this message."):
        verdict = {"category": "needs-response", "action": "respond", "reason": "wants an answer"}
        return json.dumps(verdict)
    after = messages[humans[-1] + 1 :] if humans else []
    if any(isinstance(m, AIMessage | ToolMessage) for m in after):
        return "The reply waits for Ada's approval."
    found = re.search(r"Message id: (<[^>\s]+>)", text)
    assert found, f"the desk's request names no message: {text[:200]}"
    body = "Thank you for your message; I will come back to you shortly.\n\nAda"
    return {"tool_calls": [{"name": "reply_to_message",
                            "args": {"message_id": found.group(1), "body": body}}]}  # fmt: skip


def _sent(desk: MailDesk) -> list[Any]:
    root = desk.workspace.root / "mail"
    files = [p for box in ("sent", "outbox") for p in sorted((root / box).glob("*/*"))]
    return [parse_rfc822(p.read_bytes(), "sent") for p in files if p.is_file()]


@pytest.mark.parametrize("ada", ["terminal", "email"], indirect=True)
def test_the_desk_answers_people_and_never_machines(
    make_secretary: Callable[..., Any],
    ada: Principal,
    record_property: Callable[[str, Any], None],
) -> None:
    files = MUST_NOT_ANSWER + ANSWER
    model = ScriptedChatModel([_always_reply] * (4 * len(files)))
    desk = MailDesk(make_secretary(model), "ada")
    for entry in json.loads((LOOPS / "contacts.json").read_text("utf-8")):
        desk.workspace.contacts.upsert(Contact(**entry))
    desk.run_round()  # first start: only notes where the inbox stands
    ids: dict[Path, str] = {}
    for path in files:
        ids[path] = desk.workspace.mail.import_eml(path.read_bytes())  # type: ignore[attr-defined]
    report = desk.run_round()
    assert not report.errors
    assert len(report.handled) == len(files), report.handled

    rows = {r["message_id"]: r for r in desk.state.rows(limit=10 * len(files))}
    proposals: dict[str, list[Any]] = {}
    for p in desk.sec.pending("ada"):
        proposals.setdefault(p.effective_args.get("message_id", ""), []).append(p)

    def why(path: Path) -> str:
        return f"{path.parent.name}/{path.name}: {rows[ids[path]]['reason']}"

    answered = [p for p in MUST_NOT_ANSWER if proposals.get(ids[p]) or rows[ids[p]]["proposals"]]
    asked_model = [p for p in MUST_NOT_ANSWER if rows[ids[p]]["used_model"]]
    unanswered = [
        p for p in ANSWER if [q.tool for q in proposals.get(ids[p], [])] != ["reply_to_message"]
    ]
    flagged = sum(bool(automatic(Incoming.from_raw(p.read_bytes(), ada))) for p in MUST_NOT_ANSWER)
    spared = sum(automatic(Incoming.from_raw(p.read_bytes(), ada)) is None for p in ANSWER)
    summary = (
        f"loop suite: automatic() flagged {flagged}/{len(MUST_NOT_ANSWER)} must-not-answer and "
        f"passed {spared}/{len(ANSWER)} controls; the desk left "
        f"{len(MUST_NOT_ANSWER) - len(answered)}/{len(MUST_NOT_ANSWER)} unanswered and proposed "
        f"a reply to {len(ANSWER) - len(unanswered)}/{len(ANSWER)} controls; "
        f"{len(asked_model)} machine messages went to the model"
    )
    print(summary)
    record_property("loop_suite", summary)

    assert answered == [], "\n".join(map(why, answered))
    # What the rules cannot place (a notice that says nothing they can read) may be asked of
    # the model, whose "respond" still cannot answer a machine: the verdict keeps
    # no_auto_reply. Most are decided by the rules alone.
    assert len(asked_model) <= len(MUST_NOT_ANSWER) // 3, "\n".join(map(why, asked_model))
    assert unanswered == [], "\n".join(map(why, unanswered))
    sent = _sent(desk)
    if ada.policy.approval_channel == "terminal":
        assert sent == []  # nothing leaves before a person approves it
    else:
        # Only the desk's own mail to Ada (approval requests, notices of bounces), marked
        # as automatic so that it is never answered in turn; never a word to a sender.
        assert {tuple(m.to) for m in sent} == {(ada.email,)}
        assert {m.headers.get("Auto-Submitted") for m in sent} == {"auto-generated"}
        requests = [m for m in sent if m.headers.get("X-Secretary-Proposal")]
        assert len(requests) == len(ANSWER)
