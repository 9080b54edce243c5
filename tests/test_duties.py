"""The planner is shown the everyday tools, plus a duty's tools when the thread needs them."""

from __future__ import annotations

from typing import Any

from tools.base import registry
from tools.duties import OPTIONAL_DUTIES, tools_for, wanted_duties
from tools.providers.scripted import ScriptedChatModel


def names(model: ScriptedChatModel) -> set[str]:
    return {t["function"]["name"] for t in model.bound_tools}


def duty_tools(duty: str) -> set[str]:
    return {n for n, s in registry().items() if s.duty == duty}


def test_every_tool_belongs_to_a_known_duty_and_every_optional_duty_has_tools() -> None:
    everything = set(tools_for(OPTIONAL_DUTIES))
    assert everything == set(registry())
    for duty in OPTIONAL_DUTIES:
        assert duty_tools(duty), duty


def test_words_and_used_tools_choose_the_duties() -> None:
    assert wanted_duties(["Book me a flight to New York"], []) == {"travel"}
    assert wanted_duties(["Capture the invoice in Acme's last mail"], []) == {"invoices"}
    assert wanted_duties(["What's on tomorrow?"], []) == set()
    assert wanted_duties(["Ask Acme about 40 lunches for Friday"], []) == set()
    assert wanted_duties([], ["reply_to_press"]) == {"press"}


def test_an_everyday_request_is_not_sent_every_schema(make_secretary: Any) -> None:
    model = ScriptedChatModel(["Nothing tomorrow."])
    sec = make_secretary(model)
    sec.ask("What's on my calendar tomorrow?", principal="ada", thread="t1")
    shown = names(model)
    assert {"agenda", "send_email", "take_message", "open_duty"} <= shown
    assert not shown & (duty_tools("travel") | duty_tools("invoices"))
    assert len(shown) < len(registry()) * 0.7


def test_open_duty_offers_that_duty_from_the_next_step(make_secretary: Any) -> None:
    model = ScriptedChatModel(
        [
            {"tool_calls": [{"name": "open_duty", "args": {"duty": "vendors"}}]},
            "Which vendor do you mean?",
        ]
    )
    sec = make_secretary(model)
    reply = sec.ask("Ask Acme about 40 lunches for Friday", principal="ada", thread="t1")
    assert reply.text == "Which vendor do you mean?"
    assert duty_tools("vendors") <= names(model)
    assert not names(model) & duty_tools("travel")
