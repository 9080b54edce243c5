"""Industry packs: terminology and rules in the planner's prompt, warnings on the card."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from tools.foundation.principals import Principal, domain_packs
from tools.providers.scripted import ScriptedChatModel


def test_medical_and_legal_packs_ship() -> None:
    assert {"legal", "medical"} <= set(domain_packs())


def test_unknown_pack_is_refused_with_the_choices() -> None:
    with pytest.raises(ValidationError, match="legal, medical"):
        Principal(id="x", name="X", email="x@example.com", timezone="UTC", domain_pack="astro")


@pytest.fixture
def ada() -> Principal:
    return Principal(
        id="ada",
        name="Dr Ada Lovelace",
        email="ada@practice.example",
        timezone="Europe/Berlin",
        domain_pack="medical",
    )


def test_pack_reaches_the_planner_and_mail_leaving_the_practice_is_flagged(
    make_secretary: Callable[..., Any],
) -> None:
    send = {"to": ["lab@other.example", "nurse@practice.example"], "subject": "Results",
            "body": "Please send the results."}  # fmt: skip
    model = ScriptedChatModel([{"tool_calls": [{"name": "send_email", "args": send}]}])
    sec = make_secretary(model)
    reply = sec.ask("Ask the lab for the results", principal="ada")
    system = model.calls[0][0].content
    assert "Patient details" in system and "referral" in system
    [p] = reply.pending
    warnings = " ".join(p.preview.get("warnings", []))
    assert "Leaves the practice (lab@other.example)" in warnings
    assert "nurse@practice.example" not in warnings.split("Leaves the practice")[1]


def test_init_chooses_a_pack_and_refuses_unknown_ones() -> None:
    from click.testing import CliRunner

    from agent.cli import cli

    base = ["init", "--id", "eve", "--name", "Eve", "--email", "eve@firm.example",
            "--timezone", "Europe/London"]  # fmt: skip
    ok = CliRunner().invoke(cli, [*base, "--domain", "legal"])
    assert ok.exit_code == 0, ok.output
    bad = CliRunner().invoke(cli, [*base, "--domain", "astrology"])
    assert bad.exit_code == 1 and "legal, medical" in bad.output
