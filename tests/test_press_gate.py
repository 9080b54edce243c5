"""Press replies always need a person: no standing policy approves them, and only the
principal or the staff the press policy names may decide them."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from tools.foundation.principals import Identity, Policy, PressPolicy, Principal


def test_press_tools_cannot_be_auto_approved() -> None:
    with pytest.raises(ValidationError, match="always needs a person's approval"):
        Policy(auto_approve=["save_draft", "reply_to_press"])
    assert Policy(auto_approve=["save_draft"]).auto_approve == ["save_draft"]


def test_every_press_tool_is_covered_by_the_rule() -> None:
    from tools.base import registry

    press = {name for name, spec in registry().items() if spec.duty == "press"}
    writes = {name for name in press if registry()[name].effect == "write"}
    assert "reply_to_press" in writes
    # Replies that speak for the principal are in the rule; other press writes (adding a
    # journalist to the contacts) are ordinary records.
    declared = {
        n for n in writes
        if not registry()[n].auto_approve and registry()[n].approvers == "press_approvers"
    }  # fmt: skip
    assert {n for n in writes if "reply" in n or "statement" in n} <= declared


def test_only_the_principal_and_named_staff_decide_press_replies() -> None:
    p = Principal(
        id="ada",
        name="Ada",
        email="ada@example.com",
        timezone="Europe/Berlin",
        identities=[
            Identity(channel="email", address="comms@example.com", role="staff"),
            Identity(channel="email", address="sam@example.com", role="staff"),
        ],
        policy=Policy(staff_may_approve=["reply_to_press", "send_email"]),
        press=PressPolicy(approvers=["Comms@example.com"]),
    )
    assert p.may_approve("principal", "reply_to_press")
    assert p.may_approve("staff", "reply_to_press", "comms@example.com")
    # staff_may_approve does not open press replies to every assistant.
    assert not p.may_approve("staff", "reply_to_press", "sam@example.com")
    assert not p.may_approve("outsider", "reply_to_press", "comms@example.com")
    assert p.may_approve("staff", "send_email", "sam@example.com")


def test_a_press_reply_waits_and_only_the_principal_or_a_press_approver_decides(
    ada: Any, make_secretary: Any
) -> None:
    from agent.approval import Decision
    from agent.runtime import Actor, SecretaryError
    from tools.providers.scripted import ScriptedChatModel

    ada.policy.staff_may_approve = ["reply_to_press"]  # does not open press replies to staff
    ada.identities = [
        Identity(channel="email", address="sam@example.com", role="staff"),
        Identity(channel="email", address="kim@example.com", role="staff"),
    ]
    ada.press.approvers = ["sam@example.com"]
    sec = make_secretary(None)
    ws = sec.workspace(sec.principal("ada"))
    ws.mail.import_eml(
        b"From: Dana <dana@ledger.example>\r\nTo: ada@example.com\r\nSubject: Q\r\n"
        b"Message-ID: <q@ledger.example>\r\nDate: Mon, 23 Nov 2026 08:00:00 +0100\r\n\r\n"
        b"Comment?\r\n"
    )
    call = {"name": "reply_to_press",
            "args": {"message_id": "<q@ledger.example>", "body": "No comment."}}  # fmt: skip
    sec._model = ScriptedChatModel([{"tool_calls": [call]}, "Sent."])
    [p] = sec.ask("answer Dana", principal="ada", thread="t1").pending
    assert p.status == "proposed" and ws.mail.search(folder="sent") == []
    for who in ("kim@example.com", "dana@ledger.example"):
        with pytest.raises(SecretaryError, match="may not decide"):
            sec.decide(p.id, Decision(kind="approve"), actor=Actor("email", who))
    assert ws.mail.search(folder="sent") == []
    done = sec.decide(p.id, Decision(kind="approve"), actor=Actor("email", "sam@example.com"))
    assert [x.status for x in done.executed] == ["executed"]
    assert len(ws.mail.search(folder="sent")) == 1
