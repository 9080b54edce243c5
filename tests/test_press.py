"""The press desk: journalists, the press policy on every reply, embargoes, enquiries, CLI."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from conftest import NOW
from toolkit import preview, run

from agent.approval import Decision
from tools.base import ToolError, registry
from tools.context import ToolContext, Workspace
from tools.foundation.principals import Embargo, PressPolicy, Principal
from tools.press import is_press_enquiry, press_enquiries
from tools.providers.base import Contact
from tools.providers.local.contacts import LocalContacts
from tools.providers.local.mail import LocalMail
from tools.providers.local.press import LocalPress, PressContact, PressDetails
from tools.providers.memory.store import Memory
from tools.providers.scripted import ScriptedChatModel

BERLIN = ZoneInfo("Europe/Berlin")
LIFT = datetime(2026, 11, 26, 9, 0, tzinfo=BERLIN)
DANA = "dana@ledger.example"
ENQUIRY_ID = "<q1@ledger.example>"
ENQUIRY = (
    b"From: Dana Smith <dana@ledger.example>\r\nTo: ada@example.com\r\n"
    b"Subject: Layoffs at Analytical Engines?\r\nMessage-ID: <q1@ledger.example>\r\n"
    b"Date: Mon, 23 Nov 2026 08:00:00 +0100\r\n\r\n"
    b"Hi Ada, we hear you are planning layoffs. Can you comment? Also, are you hiring "
    b"engineers? My deadline is Friday.\r\n"
)
GOOD_REPLY = (
    "Dear Dana,\n\nWe do not comment on staffing rumours. What I can say is that we are "
    "hiring 200 engineers in Berlin next year.\n\nBest regards,\nAda"
)


def policy() -> PressPolicy:
    return PressPolicy(
        talking_points=[
            "We are hiring 200 engineers in Berlin next year",
            "Our battery plant opens in spring 2027",
        ],
        decline_topics=["layoffs", "the CEO's health"],
        embargoes=[
            Embargo(
                fact="Q4 results: revenue up 40%",
                until=LIFT,
                keywords=["revenue", "Q4 results"],
            )
        ],
        approvers=["sam@example.com"],
        spokesperson="Sam Reed <sam@example.com>",
    )


def principal() -> Principal:
    return Principal(
        id="ada",
        name="Ada Lovelace",
        email="ada@example.com",
        timezone="Europe/Berlin",
        organisation="Analytical Engines Ltd",
        press=policy(),
    )


def deliver(ws: Workspace, raw: bytes) -> None:
    """Put a message in the local inbox."""
    assert isinstance(ws.mail, LocalMail)
    ws.mail.import_eml(raw)


def seed(ws: Workspace) -> None:
    """Dana (press, The Daily Ledger) and her enquiry in the inbox."""
    contact = ws.contacts.upsert(
        Contact(name="Dana Smith", email=DANA, organisation="The Daily Ledger", role="press")
    )
    ws.press.save_details(
        PressDetails(email=DANA, contact_id=contact.id, outlet="The Daily Ledger", beat="energy")
    )
    deliver(ws, ENQUIRY)


@pytest.fixture
def ctx(tmp_path: Path, duty_context: Any) -> ToolContext:
    c: ToolContext = duty_context(principal(), mail_clock=True, press=LocalPress(tmp_path))
    seed(c.workspace)
    return c


def at(ctx: ToolContext, when: datetime) -> ToolContext:
    ctx.clock = lambda: when
    return ctx


def sent(ctx: ToolContext) -> list[Any]:
    return ctx.mail.search(folder="sent", limit=50)


# ------------------------------------------------------------- journalists


def test_add_and_find_journalists_by_name_outlet_and_beat(ctx: ToolContext) -> None:
    args = {
        "name": "Lee Park",
        "email": "Lee Park <lee@wire.example>",
        "outlet": "Tech Wire",
        "beat": "batteries",
        "notes": "Deadline usually 4pm.",
    }
    card = preview(ctx, "add_journalist", **args)
    assert card.summary == "Add journalist Lee Park <lee@wire.example> (Tech Wire)"
    assert card.details["Beat"] == "batteries" and card.body == "Deadline usually 4pm."
    assert card.warnings == []
    first = run(ctx, "add_journalist", "k1", **args)
    again = run(ctx, "add_journalist", "k1", **args)
    assert first == again
    assert ctx.contacts.by_email("lee@wire.example").role == "press"  # type: ignore[union-attr]

    assert [j["name"] for j in run(ctx, "find_journalist")] == ["Dana Smith", "Lee Park"]
    assert [j["name"] for j in run(ctx, "find_journalist", outlet="ledger")] == ["Dana Smith"]
    [lee] = run(ctx, "find_journalist", beat="batter")
    assert (lee["email"], lee["outlet"], lee["notes"]) == (
        "lee@wire.example",
        "Tech Wire",
        "Deadline usually 4pm.",
    )
    assert [j["name"] for j in run(ctx, "find_journalist", query="energy")] == ["Dana Smith"]
    assert run(ctx, "find_journalist", query="nobody") == []


def test_adding_an_existing_contact_as_journalist_warns_and_keeps_one_contact(
    ctx: ToolContext,
) -> None:
    ctx.contacts.upsert(Contact(name="Kim Ode", email="kim@news.example", role="client"))
    card = preview(ctx, "add_journalist", name="Kim Ode", email="kim@news.example", outlet="News")
    assert "already in your contacts as client" in card.warnings[0]
    run(ctx, "add_journalist", "k", name="Kim Ode", email="kim@news.example", outlet="News")
    assert [c.role for c in ctx.contacts.find("Kim")] == ["press"]
    card = preview(ctx, "add_journalist", name="Kim Ode", email="kim@news.example", beat="tech")
    assert "already a press contact" in card.warnings[0]
    assert card.details["Outlet"] == "News"  # kept when not given again


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ({"name": " ", "email": "x@y.example"}, "name is empty"),
        ({"name": "X", "email": ""}, "email is empty"),
        ({"name": "X", "email": "not an address"}, "email: "),
    ],
)
def test_add_journalist_refuses_bad_input(
    ctx: ToolContext, args: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ToolError, match=problem):
        preview(ctx, "add_journalist", **args)
    with pytest.raises(ToolError, match=problem):
        run(ctx, "add_journalist", "k", **args)


# ------------------------------------------------------------------ policy


def test_press_policy_marks_embargoes_active_then_lifted(ctx: ToolContext) -> None:
    before = run(ctx, "press_policy")
    assert before["talking_points"][0].startswith("We are hiring")
    assert before["decline_topics"] == ["layoffs", "the CEO's health"]
    assert before["approvers"] == ["sam@example.com"]
    assert before["spokesperson"] == "Sam Reed <sam@example.com>"
    [embargo] = before["embargoes"]
    assert embargo["state"] == "active"
    assert embargo["until_text"] == "Thu 26 Nov 2026 09:00 CET"
    assert "embargo" in before["guidance"].lower()
    after = run(at(ctx, LIFT + timedelta(minutes=1)), "press_policy")
    assert after["embargoes"][0]["state"] == "lifted"


# ----------------------------------------------------------- press replies


def test_reply_card_lists_the_policy_lines_that_applied(ctx: ToolContext) -> None:
    ctx.workspace.press.record(
        PressContact(
            email=DANA,
            date=datetime(2026, 10, 2, 11, 0, tzinfo=BERLIN),
            direction="out",
            subject="Battery plant visit",
            summary="Invited Dana to the plant opening.",
            message_id="<old1@example.com>",
        )
    )
    card = preview(ctx, "reply_to_press", message_id=ENQUIRY_ID, body=GOOD_REPLY)
    assert card.summary == f"Reply to press: {DANA} 'Re: Layoffs at Analytical Engines?'"
    d = card.details
    assert d["Journalist"] == "Dana Smith (The Daily Ledger, energy)"
    assert d["Talking points used"] == "- We are hiring 200 engineers in Berlin next year"
    assert d["Decline topics"] == "- 'layoffs': touched; the reply declines it"
    assert d["Embargoes"] == (
        "- 'Q4 results: revenue up 40%': active until Thu 26 Nov 2026 09:00 CET; not mentioned"
    )
    assert d["Earlier exchanges"] == "- Fri 02 Oct 2026, to them: 'Battery plant visit'"
    assert d["Approval"] == "Ada Lovelace or sam@example.com"
    assert d["Spokesperson"] == "Sam Reed <sam@example.com>"
    assert d["In-Reply-To"] == ENQUIRY_ID
    assert card.body is not None and card.body.startswith(GOOD_REPLY)
    assert "> Hi Ada, we hear you are planning layoffs" in card.body
    assert card.warnings == []


def test_decline_topic_touched_but_not_declined_is_flagged(ctx: ToolContext) -> None:
    body = "Dear Dana,\n\nWe are restructuring one team; around 30 roles are affected.\n\nAda"
    card = preview(ctx, "reply_to_press", message_id=ENQUIRY_ID, body=body)
    assert card.details["Decline topics"] == "- 'layoffs': touched; the reply does NOT decline it"
    assert card.details["Talking points used"] == "none of the 2 talking points"
    assert card.warnings == [
        "The enquiry touches 'layoffs', a topic to decline, but the reply does not decline it."
    ]


def test_embargoed_words_are_refused_before_the_lift_and_allowed_after(ctx: ToolContext) -> None:
    body = "Dear Dana,\n\nOur Q4 results will be strong.\n\nAda"
    for attempt in (
        lambda: preview(ctx, "reply_to_press", message_id=ENQUIRY_ID, body=body),
        lambda: run(ctx, "reply_to_press", "k", message_id=ENQUIRY_ID, body=body),
    ):
        with pytest.raises(ToolError) as err:
            attempt()
        assert "'Q4 results: revenue up 40%'" in str(err.value)
        assert "before Thu 26 Nov 2026 09:00 CET" in str(err.value)
    # The subject of a new mail is the principal's own words too.
    with pytest.raises(ToolError, match="mentions 'revenue'"):
        preview(ctx, "reply_to_press", to=DANA, subject="Revenue", body="See you soon.")
    assert sent(ctx) == []

    at(ctx, LIFT)  # the moment it lifts
    card = preview(ctx, "reply_to_press", message_id=ENQUIRY_ID, body=body)
    assert (
        "'Q4 results: revenue up 40%': lifted Thu 26 Nov 2026 09:00 CET"
        in (card.details["Embargoes"])
    )
    run(ctx, "reply_to_press", "k", message_id=ENQUIRY_ID, body=body)
    assert len(sent(ctx)) == 1


def test_execution_checks_the_embargo_again(ctx: ToolContext) -> None:
    body = "Dear Dana,\n\nWe will open a second plant in Lisbon.\n\nAda"
    preview(ctx, "reply_to_press", message_id=ENQUIRY_ID, body=body)  # fine when proposed
    ctx.principal.press.embargoes.append(
        Embargo(fact="Lisbon plant", until=NOW + timedelta(days=30), keywords=["Lisbon"])
    )
    with pytest.raises(ToolError, match="'Lisbon plant'"):
        run(ctx, "reply_to_press", "k", message_id=ENQUIRY_ID, body=body)
    assert sent(ctx) == []
    assert ctx.workspace.press.history(DANA) == []


def test_an_approval_before_the_lift_runs_after_it(ctx: ToolContext) -> None:
    # Proposed (and approved) while the embargo is on, with words that are fine then;
    # sending a day after the lift re-checks against the time of sending.
    preview(ctx, "reply_to_press", message_id=ENQUIRY_ID, body=GOOD_REPLY)
    at(ctx, LIFT + timedelta(days=1))
    run(ctx, "reply_to_press", "k", message_id=ENQUIRY_ID, body=GOOD_REPLY)
    assert len(sent(ctx)) == 1


def test_an_embargo_without_keywords_is_left_to_the_approver(ctx: ToolContext) -> None:
    ctx.principal.press.embargoes.append(Embargo(fact="Board changes", until=LIFT))
    card = preview(ctx, "reply_to_press", message_id=ENQUIRY_ID, body=GOOD_REPLY)
    assert (
        "'Board changes': active until Thu 26 Nov 2026 09:00 CET; no keywords"
        in (card.details["Embargoes"])
    )
    assert card.warnings == [
        "The embargo on 'Board changes' has no keywords; check the reply does not reveal it."
    ]


def test_new_mail_to_an_unknown_address_warns(ctx: ToolContext) -> None:
    card = preview(
        ctx,
        "reply_to_press",
        to="Max <max@blog.example>",
        subject="Plant opening",
        body="Dear Max,\n\nOur battery plant opens in spring 2027.\n\nAda",
    )
    assert card.summary == "Mail to press: max@blog.example 'Plant opening'"
    assert card.warnings == ["max@blog.example is not in your press contacts."]
    assert "Journalist" not in card.details
    assert card.details["Talking points used"] == "- Our battery plant opens in spring 2027"
    assert card.details["Earlier exchanges"] == "none on record"


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ({"message_id": ENQUIRY_ID, "body": "  "}, "body is empty"),
        ({"message_id": "<nope@x.example>", "body": "Hi"}, "No message with id '<nope@x"),
        ({"message_id": ENQUIRY_ID, "to": DANA, "body": "Hi"}, "not both"),
        ({"body": "Hi"}, "Give message_id"),
        ({"to": DANA, "body": "Hi"}, "subject is empty"),
        ({"to": "dana at ledger", "subject": "x", "body": "Hi"}, "to: "),
    ],
)
def test_reply_to_press_refuses_bad_input(
    ctx: ToolContext, args: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ToolError, match=problem):
        preview(ctx, "reply_to_press", **args)
    with pytest.raises(ToolError, match=problem):
        run(ctx, "reply_to_press", "k", **args)
    assert sent(ctx) == []


def test_reply_is_sent_and_logged_once_per_key(ctx: ToolContext) -> None:
    first = run(ctx, "reply_to_press", "key-1", message_id=ENQUIRY_ID, body=GOOD_REPLY)
    again = run(ctx, "reply_to_press", "key-1", message_id=ENQUIRY_ID, body=GOOD_REPLY)
    assert first == again
    assert first["talking_points_used"] == ["We are hiring 200 engineers in Berlin next year"]
    assert first["decline_topics_touched"] == ["layoffs"]
    [mail] = sent(ctx)
    full = ctx.mail.get_message(mail.message_id)
    assert full.in_reply_to == ENQUIRY_ID and DANA in str(full.to)
    log = ctx.workspace.press.history(DANA)
    assert [(e.direction, e.subject) for e in log] == [
        ("out", "Re: Layoffs at Analytical Engines?"),
        ("in", "Layoffs at Analytical Engines?"),
    ]
    assert log[0].in_reply_to == ENQUIRY_ID and log[0].message_id == mail.message_id

    history = run(ctx, "press_history", journalist="Dana")
    assert history["journalist"]["outlet"] == "The Daily Ledger"
    assert [e["direction"] for e in history["exchanges"]] == ["out", "in"]
    # A second reply to the same enquiry logs the enquiry once, the new reply once.
    run(ctx, "reply_to_press", "key-2", message_id=ENQUIRY_ID, body="One more thing.")
    assert len(ctx.workspace.press.history(DANA)) == 3


def test_press_history_cites_past_correspondence_from_memory(
    ctx: ToolContext, tmp_path: Path
) -> None:
    memory = Memory(tmp_path / "mem", "ada", None)
    ctx.workspace.memory = memory
    memory.add(
        item_id="<m1@ledger.example>",
        kind="mail",
        text="Could you comment on the battery plant for a feature?",
        message_id="<m1@ledger.example>",
        sender="Dana Smith <dana@ledger.example>",
        recipients=["ada@example.com"],
        subject="Feature on batteries",
        date=datetime(2026, 9, 1, 10, 0, tzinfo=BERLIN),
    )
    memory.add(
        item_id="<s1@example.com>",
        kind="sent",
        text="Happy to talk on Thursday.",
        message_id="<s1@example.com>",
        sender="Ada Lovelace <ada@example.com>",
        recipients=["Dana Smith <dana@ledger.example>"],
        subject="Re: Feature on batteries",
        date=datetime(2026, 9, 2, 10, 0, tzinfo=BERLIN),
    )
    memory.add(
        item_id="<x1@other.example>",
        kind="mail",
        text="Unrelated mail about the ledger.",
        message_id="<x1@other.example>",
        sender="Eve <eve@other.example>",
        subject="Ledger",
        date=datetime(2026, 9, 3, 10, 0, tzinfo=BERLIN),
    )
    history = run(ctx, "press_history", journalist=DANA)
    assert [(e["subject"], e["direction"], e["source"]) for e in history["exchanges"]] == [
        ("Re: Feature on batteries", "out", "memory"),
        ("Feature on batteries", "in", "memory"),
    ]
    assert history["exchanges"][1]["date"] == "2026-09-01T10:00:00+02:00"

    card = preview(ctx, "reply_to_press", message_id=ENQUIRY_ID, body=GOOD_REPLY)
    assert card.details["Earlier exchanges"] == (
        "- Wed 02 Sep 2026, to them: 'Re: Feature on batteries'\n"
        "- Tue 01 Sep 2026, from them: 'Feature on batteries'"
    )
    # Logged exchanges and memory merge; a mail in both is listed once; three at most.
    run(ctx, "reply_to_press", "k", message_id=ENQUIRY_ID, body=GOOD_REPLY)
    [mail] = sent(ctx)
    memory.add_message(ctx.mail.get_message(mail.message_id), kind="sent")
    exchanges = run(ctx, "press_history", journalist=DANA)["exchanges"]
    assert [e["source"] for e in exchanges] == ["press log", "press log", "memory", "memory"]
    later = preview(ctx, "reply_to_press", to=DANA, subject="Follow-up", body="Hello again.")
    assert len(later.details["Earlier exchanges"].splitlines()) == 3
    memory.close()


def test_press_history_of_an_address_outside_the_press_contacts(ctx: ToolContext) -> None:
    assert ctx.workspace.memory is None
    history = run(ctx, "press_history", journalist="max@blog.example")
    assert history == {
        "journalist": {"email": "max@blog.example", "note": "not in your press contacts"},
        "exchanges": [],
    }
    with pytest.raises(ToolError, match="No press contact is named 'Zed'"):
        run(ctx, "press_history", journalist="Zed")


# --------------------------------------------------------------- enquiries


def test_press_enquiries_and_the_sender_check(ctx: ToolContext) -> None:
    assert is_press_enquiry(ctx, "Dana Smith <DANA@ledger.example>")
    assert is_press_enquiry(ctx, "desk@ledger.example")  # a colleague at the same outlet
    assert not is_press_enquiry(ctx, "eve@acme.example")
    ctx.contacts.upsert(Contact(name="Free Lance", email="freelance@gmail.com", role="press"))
    assert is_press_enquiry(ctx, "freelance@gmail.com")
    assert not is_press_enquiry(ctx, "someone@gmail.com")

    deliver(
        ctx.workspace,
        b"From: Desk <desk@ledger.example>\r\nTo: ada@example.com\r\nSubject: Old\r\n"
        b"Message-ID: <old@ledger.example>\r\nDate: Mon, 02 Nov 2026 08:00:00 +0100\r\n\r\nx\r\n",
    )
    deliver(
        ctx.workspace,
        b"From: Eve <eve@acme.example>\r\nTo: ada@example.com\r\nSubject: Lunch\r\n"
        b"Message-ID: <e@acme.example>\r\nDate: Mon, 23 Nov 2026 07:00:00 +0100\r\n\r\nx\r\n",
    )
    [open_one] = press_enquiries(ctx)
    assert open_one["message_id"] == ENQUIRY_ID
    assert (open_one["journalist"], open_one["outlet"], open_one["known"]) == (
        "Dana Smith",
        "The Daily Ledger",
        True,
    )
    assert open_one["received"] == "Mon 23 Nov 2026 08:00 CET"
    assert [m["message_id"] for m in press_enquiries(ctx, days=30)] == [
        ENQUIRY_ID,
        "<old@ledger.example>",
    ]
    run(ctx, "reply_to_press", "k", message_id=ENQUIRY_ID, body=GOOD_REPLY)
    assert press_enquiries(ctx) == []
    [old] = run(ctx, "press_enquiries", days=30)
    assert (old["message_id"], old["journalist"], old["outlet"], old["known"]) == (
        "<old@ledger.example>",
        "Desk <desk@ledger.example>",
        "The Daily Ledger",
        False,
    )


def test_press_replies_are_write_tools_named_for_the_gate() -> None:
    tools = registry()
    declared = {
        n for n, s in tools.items() if not s.auto_approve and s.approvers == "press_approvers"
    }
    assert declared == {"reply_to_press"}  # declared on the tool, the one list the gate reads
    assert all(tools[name].effect == "write" for name in declared)
    assert tools["add_journalist"].effect == "write"
    assert {tools[n].effect for n in ("find_journalist", "press_history", "press_policy")} == {
        "read"
    }


# ---------------------------------------------------------- through the gate


@pytest.fixture
def ada() -> Principal:
    return principal()


def test_journalist_mail_to_an_approved_reply_through_the_secretary(make_secretary: Any) -> None:
    setup = make_secretary(None)
    seed(setup.workspace(setup.principal("ada")))
    model = ScriptedChatModel(
        [
            {"tool_calls": [{"name": "press_enquiries", "args": {}}]},
            {
                "tool_calls": [
                    {
                        "name": "reply_to_press",
                        "args": {"message_id": ENQUIRY_ID, "body": GOOD_REPLY},
                    }
                ]
            },
            "The reply to Dana is waiting for your approval.",
            "Sent.",
        ]
    )
    sec = make_secretary(model)
    reply = sec.ask("Answer the press enquiry from Dana", principal="ada", thread="t1")
    [proposal] = reply.pending
    assert proposal.tool == "reply_to_press"
    details = proposal.preview["details"]
    assert details["Talking points used"] == "- We are hiring 200 engineers in Berlin next year"
    assert details["Decline topics"] == "- 'layoffs': touched; the reply declines it"
    assert "active until Thu 26 Nov 2026 09:00 CET; not mentioned" in details["Embargoes"]
    ws = sec.workspace(sec.principal("ada"))
    assert ws.mail.search(folder="sent") == []

    done = sec.decide(proposal.id, Decision(kind="approve"))
    assert [p.status for p in done.executed] == ["executed"]
    again = make_secretary(model).decide(proposal.id, Decision(kind="approve"))
    assert "already executed" in (again.notice or "")
    [mail] = ws.mail.search(folder="sent")
    assert mail.subject == "Re: Layoffs at Analytical Engines?"
    assert [e.direction for e in ws.press.history(DANA)] == ["out", "in"]


# ----------------------------------------------------------------------- CLI


def cli(*args: str) -> Any:
    from agent.cli import cli as main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cli_lists_journalists_policy_and_enquiries(isolated_home: Path) -> None:
    r = cli("init", "--name", "Ada", "--email", "ada@example.com", "--timezone", "Europe/Berlin")
    assert r.exit_code == 0, r.output
    from tools.foundation.settings import load_settings, save_principal

    me = load_settings().principal()
    far = datetime.now(BERLIN) + timedelta(days=30)
    me.press = PressPolicy(
        talking_points=["We are hiring"],
        embargoes=[
            Embargo(fact="New CEO", until=far, keywords=["CEO"]),
            Embargo(fact="Old news", until=datetime(2020, 1, 1, tzinfo=BERLIN)),
        ],
    )
    save_principal(me)

    r = cli("press")
    assert r.exit_code == 0 and "No press contacts yet" in r.output
    root = isolated_home / "principals" / "me"
    contacts, press = LocalContacts(root), LocalPress(root)
    c = contacts.upsert(Contact(name="Dana Smith", email=DANA, role="press"))
    press.save_details(PressDetails(email=DANA, contact_id=c.id, outlet="Ledger", beat="energy"))
    contacts.close()
    press.close()
    today = datetime.now(BERLIN).strftime("%a, %d %b %Y %H:%M:%S %z")
    mail = LocalMail(root, me)
    mail.import_eml(
        f"From: {DANA}\r\nTo: ada@example.com\r\nSubject: Quick question\r\n"
        f"Message-ID: <cli@ledger.example>\r\nDate: {today}\r\n\r\nHi\r\n".encode()
    )

    r = cli("press", "--json")
    assert [(j["name"], j["outlet"], j["beat"]) for j in json.loads(r.stdout)] == [
        ("Dana Smith", "Ledger", "energy")
    ]
    assert "Dana Smith" in cli("press").stdout

    r = cli("press", "--policy")
    assert r.exit_code == 0, r.output
    assert "We are hiring" in r.stdout
    assert "New CEO - ACTIVE" in r.stdout and "Old news - LIFTED" in r.stdout
    states = [
        e["state"] for e in json.loads(cli("press", "--policy", "--json").stdout)["embargoes"]
    ]
    assert states == ["active", "lifted"]

    r = cli("press", "--enquiries", "--json")
    assert [m["message_id"] for m in json.loads(r.stdout)] == ["<cli@ledger.example>"]
    assert "Quick" in cli("press", "--enquiries").stdout
    from agent.cli import cli as main

    r = CliRunner().invoke(main, ["press", "--policy", "--enquiries"])
    assert r.exit_code != 0 and "Choose one" in r.output
