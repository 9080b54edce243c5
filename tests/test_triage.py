"""Triage: the model-free rules decide what headers and history tell; the model the rest."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mailfactory import eml

from tools.foundation.principals import Principal
from tools.foundation.settings import Settings
from tools.providers.base import Contact
from tools.providers.scripted import ScriptedChatModel
from tools.triage import History, Incoming, rules, triage


@pytest.fixture
def ada() -> Principal:
    return Principal(
        id="ada", name="Ada Lovelace", email="ada@example.com", timezone="Europe/Berlin"
    )


def verdict(ada: Principal, raw: bytes, history: History | None = None) -> Any:
    return rules(Incoming.from_raw(raw, ada), ada, history or History())


def known(*contacts: Contact, wrote: tuple[str, ...] = ()) -> History:
    by = {c.email: c for c in contacts}
    return History(contact=lambda a: by.get(a), wrote=lambda mid: mid in wrote)


DANA = Contact(name="Dana Smith", email="dana@acme.test", role="client")


def test_newsletter_is_promotional_and_never_answered(ada: Principal) -> None:
    v = verdict(
        ada,
        eml(
            "Shop <news@shop.test>",
            subject="Black Friday: 40% off everything",
            body="Our biggest sale of the year. Unsubscribe below.",
            headers={"List-Unsubscribe": "<mailto:u@shop.test>", "Precedence": "bulk"},
        ),
    )
    assert (v.category, v.action, v.no_auto_reply) == ("promotional", "ignore", True)


def test_mailing_list_post_is_filed(ada: Principal) -> None:
    v = verdict(
        ada,
        eml(
            "Bob <bob@lists.test>",
            subject="[board] minutes of Tuesday",
            body="Minutes attached.",
            headers={
                "List-Id": "Board <board.lists.test>",
                "List-Post": "<mailto:board@lists.test>",
            },
        ),
    )
    assert (v.category, v.action, v.no_auto_reply) == ("fyi", "file", True)
    assert "board.lists.test" in v.reason


def test_out_of_office_reply_is_ignored(ada: Principal) -> None:
    v = verdict(
        ada,
        eml(
            subject="Automatic reply: Thursday",
            body="I am out of the office until Monday?",
            headers={"Auto-Submitted": "auto-replied"},
        ),
        known(DANA),
    )
    assert (v.action, v.no_auto_reply) == ("ignore", True)


def test_auto_generated_confirmation_is_filed(ada: Principal) -> None:
    v = verdict(
        ada,
        eml(
            "Build <ci@acme.test>",
            subject="Your order #4411 has shipped",
            body="Tracking number 00340434.",
            headers={"Auto-Submitted": "auto-generated"},
        ),
    )
    assert (v.category, v.action, v.no_auto_reply) == ("fyi", "file", True)


def test_machine_mail_that_says_nothing_clear_is_left_undecided(ada: Principal) -> None:
    v = verdict(
        ada,
        eml(
            "Build <ci@acme.test>",
            body="Build 118 ran.",
            headers={"Auto-Submitted": "auto-generated"},
        ),
    )
    assert (v.action, v.no_auto_reply) == ("undecided", True)


def test_bounce_is_reported_not_answered(ada: Principal) -> None:
    v = verdict(ada, eml("Mail Delivery System <MAILER-DAEMON@mx.test>", subject="Undelivered"))
    assert (v.action, v.no_auto_reply) == ("notify", True)


def test_no_reply_receipt_is_filed(ada: Principal) -> None:
    v = verdict(
        ada,
        eml("Shop <no-reply@shop.test>", subject="Receipt for your order", body="Total EUR 12."),
    )
    assert (v.action, v.no_auto_reply) == ("file", True)


def test_no_reply_mail_that_obliges_is_brought_up_not_filed(ada: Principal) -> None:
    v = verdict(
        ada,
        eml(
            "Club <no-reply@club.test>",
            subject="Membership",
            body="Please confirm by Wednesday or your membership is suspended.",
        ),
    )
    assert (v.category, v.action, v.no_auto_reply) == ("needs-response", "notify", True)


def test_own_messages_are_ignored(ada: Principal) -> None:
    v = verdict(ada, eml("Ada Lovelace <ada@example.com>", subject="Can we talk?"))
    assert (v.action, v.no_auto_reply) == ("ignore", True)


def test_spam_verdict_of_the_host_is_respected(ada: Principal) -> None:
    v = verdict(ada, eml("x@y.test", headers={"X-Spam-Flag": "YES"}))
    assert v.spam and v.action == "ignore"


def test_lookalike_domain_asking_for_payment_is_phishing(ada: Principal) -> None:
    v = verdict(
        ada,
        eml(
            "Accounts <accounts@examp1e.com>",
            subject="Urgent: bank details have changed",
            body="Please update payment to our new account today. Click here to confirm.",
        ),
    )
    assert v.phishing and v.action == "notify" and v.no_auto_reply
    assert "examp1e.com" in v.reason


def test_deceptive_link_is_phishing(ada: Principal) -> None:
    v = verdict(
        ada,
        eml(
            "IT <it@helpdesk.test>",
            subject="Mailbox full",
            body="Log in to keep your mail.",
            html='<p>Log in at <a href="http://evil.test/x">https://example.com/login</a></p>',
        ),
    )
    assert v.phishing and "evil.test" in v.reason


def test_failed_dmarc_from_unknown_sender_is_phishing(ada: Principal) -> None:
    v = verdict(
        ada,
        eml(
            "CEO <ceo@example.org>",
            subject="Quick favour",
            body="Buy gift cards and send me the codes.",
            headers={"Authentication-Results": "mx.test; dmarc=fail; spf=fail"},
        ),
    )
    assert v.phishing


def test_invitation_needs_a_decision(ada: Principal) -> None:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = "Dana <dana@acme.test>"
    msg["To"] = "ada@example.com"
    msg["Subject"] = "Invitation: Review"
    msg["Message-ID"] = "<inv1@acme.test>"
    msg.set_content("You are invited.")
    msg.add_attachment(
        b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n",
        maintype="text",
        subtype="calendar",
        filename="invite.ics",
    )
    v = verdict(ada, msg.as_bytes())
    assert (v.category, v.action) == ("needs-response", "notify")


def test_known_contact_asking_directly_needs_a_response(ada: Principal) -> None:
    v = verdict(ada, eml(body="Hi Ada,\n\nCould you send me the Q3 report?\n\nDana"), known(DANA))
    assert (v.category, v.action, v.no_auto_reply) == ("needs-response", "respond", False)


def test_urgent_from_known_contact_notifies(ada: Principal) -> None:
    v = verdict(ada, eml(subject="URGENT: contract needs signature today"), known(DANA))
    assert (v.category, v.action) == ("urgent", "notify")


def test_family_is_personal(ada: Principal) -> None:
    mum = Contact(name="Anne", email="anne@home.test", role="family")
    v = verdict(ada, eml("Anne <anne@home.test>", body="Dinner on Sunday?"), known(mum))
    assert (v.category, v.action) == ("personal", "notify")


def test_reply_in_principals_thread_with_a_question_needs_response(ada: Principal) -> None:
    raw = eml(
        "Stranger <s@new.test>",
        subject="Re: offsite",
        body="Which date works for you?\n\nOn Mon, Ada wrote:\n> Shall we meet?",
        in_reply_to="<ada-1@example.com>",
    )
    v = verdict(ada, raw, known(wrote=("<ada-1@example.com>",)))
    assert v.action == "respond"


def test_unknown_sender_is_left_to_the_model(ada: Principal) -> None:
    v = verdict(ada, eml("Stranger <s@new.test>", body="Hello, are you hiring?"))
    assert (v.category, v.action) == ("undecided", "undecided")


def test_model_decides_the_rest_and_its_answer_is_validated(ada: Principal) -> None:
    mail = Incoming.from_raw(eml("Stranger <s@new.test>", body="Are you hiring?"), ada)
    model = ScriptedChatModel(
        ['{"category": "needs-response", "action": "respond", "reason": "job enquiry"}']
    )
    v = triage(mail, ada, History(), model, Settings(principals=[ada]))
    assert (v.category, v.action, v.used_model) == ("needs-response", "respond", True)
    bad = ScriptedChatModel(['{"category": "whatever", "action": "send money"}'])
    v = triage(mail, ada, History(), bad, Settings(principals=[ada]))
    assert (v.action, v.used_model) == ("undecided", True)
    assert "could not be read" in v.reason


def test_model_cannot_make_phishing_respond(ada: Principal) -> None:
    mail = Incoming.from_raw(eml("Stranger <s@new.test>", body="Send the codes"), ada)
    model = ScriptedChatModel(
        ['{"category": "urgent", "action": "respond", "reason": "x", "phishing": true}']
    )
    v = triage(mail, ada, History(), model, Settings(principals=[ada]))
    assert v.phishing and v.action == "notify" and v.no_auto_reply


def test_cli_triage_json_without_model(tmp_path: Path, isolated_home: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.eml").write_bytes(
        eml(
            "Shop <news@shop.test>",
            subject="Sale: 40% off",
            headers={"List-Unsubscribe": "<mailto:u@s>"},
        )
    )
    (folder / "b.eml").write_bytes(eml("Stranger <s@new.test>", body="Are you hiring?"))
    (folder / "c.eml").write_bytes(b"")
    env_home = str(isolated_home)
    init = [sys.executable, "-m", "agent.cli", "init", "--id", "ada", "--name", "Ada L",
            "--email", "ada@example.com", "--timezone", "Europe/Berlin"]  # fmt: skip
    # A home folder of its own: the data folder may not be the user's home itself.
    env = {"SECRETARY_HOME": env_home, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    subprocess.run(init, check=True, env=env, capture_output=True)
    done = subprocess.run(
        [sys.executable, "-m", "agent.cli", "triage", "--json", str(folder)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    by_subject = {r["subject"]: r for r in rows}
    assert by_subject["Sale: 40% off"]["category"] == "promotional"
    assert by_subject["Hello"]["action"] == "undecided"
    assert all({"message_id", "category", "action", "reason", "used_model"} <= set(r) for r in rows)
    assert any(r["reason"].startswith("unreadable") for r in rows)
