"""One principal's thread can never read or act on another principal's data."""

from __future__ import annotations

from typing import Any

import pytest

from agent.approval import Decision
from agent.runtime import SecretaryError
from tools.providers.scripted import ScriptedChatModel

SECRET = (
    b"From: Lawyer <counsel@firm.example>\r\nTo: ada@example.com\r\nSubject: Merger terms\r\n"
    b"Message-ID: <secret1@firm.example>\r\nDate: Mon, 23 Nov 2026 08:00:00 +0100\r\n\r\n"
    b"The price is 42 million.\r\n"
)


def test_a_thread_of_bob_cannot_read_adas_mail(make_secretary: Any) -> None:
    model = ScriptedChatModel(
        [
            {"tool_calls": [{"name": "search_mail", "args": {"query": "merger"}}]},
            {
                "tool_calls": [
                    {"name": "read_message", "args": {"message_id": "<secret1@firm.example>"}}
                ]
            },
            "Nothing found.",
        ]
    )
    sec = make_secretary(model)
    sec.workspace(sec.principal("ada")).mail.import_eml(SECRET)
    sec.ask("Find the merger mail", principal="bob", thread="same-name")
    seen = " ".join(str(m.content) for call in model.calls for m in call)
    assert "42 million" not in seen
    assert "Merger terms" not in seen


def test_same_thread_name_is_a_different_thread_per_principal(make_secretary: Any) -> None:
    model = ScriptedChatModel(["noted", "hello bob"])
    sec = make_secretary(model)
    sec.ask("The code word is swordfish", principal="ada", thread="t1")
    sec.ask("What is the code word?", principal="bob", thread="t1")
    assert "swordfish" not in " ".join(str(m.content) for m in model.calls[-1])


def test_proposals_are_listed_and_decided_per_principal(make_secretary: Any) -> None:
    model = ScriptedChatModel(
        [
            {
                "tool_calls": [
                    {"name": "send_email", "args": {"to": ["x@y.com"], "subject": "s", "body": "b"}}
                ]
            }
        ]
    )
    sec = make_secretary(model)
    [p] = sec.ask("send", principal="ada", thread="t1").pending
    assert sec.pending("bob") == []
    with pytest.raises(SecretaryError, match="No proposal"):
        sec.decide(p.id, Decision(kind="approve"), principal="bob")
    assert sec.ledger.get(p.id).status == "proposed"


def test_outsider_cannot_approve(make_secretary: Any) -> None:
    from agent.runtime import Actor

    model = ScriptedChatModel(
        [
            {
                "tool_calls": [
                    {"name": "send_email", "args": {"to": ["x@y.com"], "subject": "s", "body": "b"}}
                ]
            }
        ]
    )
    sec = make_secretary(model)
    [p] = sec.ask("send", principal="ada", thread="t1").pending
    with pytest.raises(SecretaryError, match="may not decide"):
        sec.decide(p.id, Decision(kind="approve"), actor=Actor("email", "stranger@evil.example"))
    assert sec.ledger.get(p.id).status == "proposed"
    assert any(e["event"] == "decision_refused" for e in sec.trail("ada"))


def test_each_principal_has_its_own_workspace_directory(make_secretary: Any) -> None:
    sec = make_secretary(None)
    a = sec.workspace(sec.principal("ada")).root
    b = sec.workspace(sec.principal("bob")).root
    assert a != b and not str(a).startswith(str(b)) and not str(b).startswith(str(a))
