"""A tool's approval rule is declared on the tool and the gate enforces it for any tool.

No duty is named in the gate: a new tool that declares ``auto_approve=False`` is never
approved by standing policy, and one that declares ``approvers="press_approvers"`` is
decided only by the principal or the staff the press policy names.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from agent.approval import Decision
from tools import base
from tools.base import tool
from tools.foundation.principals import Identity, Policy, approval_rule
from tools.providers.scripted import ScriptedChatModel

STATEMENT = "publish_statement_for_test"


@pytest.fixture
def statement_tool(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A write tool no policy may auto-approve, registered for one test only."""
    published: list[str] = []

    def publish_statement_for_test(ctx: Any, text: str) -> str:
        """Publish a statement in the principal's name.

        Args:
            text: The statement.
        """
        published.append(text)
        return "Published."

    tool(
        effect="write",
        duty="mail",
        title="Publish statement",
        auto_approve=False,
        approvers="press_approvers",
    )(publish_statement_for_test)
    spec = base._REGISTRY.pop(STATEMENT)
    monkeypatch.setitem(base._REGISTRY, STATEMENT, spec)
    yield published


def _call(text: str = "We are delighted.") -> dict[str, Any]:
    return {"tool_calls": [{"name": STATEMENT, "args": {"text": text}}]}


def test_a_new_never_auto_approved_tool_is_refused_in_settings(statement_tool: list[str]) -> None:
    assert approval_rule(STATEMENT).auto_approve is False
    with pytest.raises(ValidationError, match="always needs a person's approval"):
        Policy(auto_approve=["save_draft", STATEMENT])


def test_a_new_never_auto_approved_tool_waits_even_when_listed(
    statement_tool: list[str], make_secretary: Any, settings: Any
) -> None:
    # Listed after validation (a profile edited in place): the gate still reads the tool.
    settings.principals[0].policy.auto_approve = ["save_draft", STATEMENT]
    sec = make_secretary(ScriptedChatModel([_call(), "Done."]))
    reply = sec.ask("Publish that we are delighted", principal="ada", thread="t1")
    assert [p.tool for p in reply.pending] == [STATEMENT]
    assert reply.pending[0].status == "proposed"
    assert statement_tool == []
    assert all(e.decided_by != "policy:auto_approve" for e in sec.audit("ada"))
    done = sec.decide(reply.pending[0].id, Decision(kind="approve"))
    assert [x.status for x in done.executed] == ["executed"]
    assert statement_tool == ["We are delighted."]


def test_a_new_tool_declared_for_press_approvers_is_decided_only_by_them(
    statement_tool: list[str], ada: Any
) -> None:
    ada.identities = [
        Identity(channel="email", address="sam@example.com", role="staff"),
        Identity(channel="email", address="kim@example.com", role="staff"),
    ]
    ada.policy.staff_may_approve = [STATEMENT]
    ada.press.approvers = ["sam@example.com"]
    assert ada.may_approve("principal", STATEMENT)
    assert ada.may_approve("staff", STATEMENT, "sam@example.com")
    assert not ada.may_approve("staff", STATEMENT, "kim@example.com")
    assert not ada.may_approve("outsider", STATEMENT, "sam@example.com")
