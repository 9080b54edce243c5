"""Vendors: the directory, quote requests, orders, chases, answers and follow-ups."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from conftest import NOW
from toolkit import preview, run

from agent.approval import Decision
from tools.base import ToolError
from tools.context import ToolContext
from tools.foundation.principals import Principal
from tools.providers.base import Contact
from tools.providers.local.contacts import LocalContacts
from tools.providers.local.vendors import LocalVendors, VendorDetails, VendorRequest
from tools.providers.scripted import ScriptedChatModel
from tools.vendors import vendor_followups

BERLIN = ZoneInfo("Europe/Berlin")
ACME = {
    "name": "Acme Catering",
    "email": "orders@acme-catering.example",
    "category": "catering",
    "account_numbers": ["C-4711"],
    "payment_terms": "net 30",
}


@pytest.fixture
def ctx(tmp_path: Path, duty_context: Any) -> ToolContext:
    p = Principal(
        id="ada",
        name="Ada Lovelace",
        email="ada@example.com",
        timezone="Europe/Berlin",
        organisation="Analytical Engines Ltd",
        preferences={"delivery_address": "Analytical Engines Ltd\nMain St 1\n10115 Berlin"},
    )
    c: ToolContext = duty_context(p, mail_clock=True, vendors=LocalVendors(tmp_path))
    return c


@pytest.fixture
def acme(ctx: ToolContext) -> dict[str, Any]:
    out: dict[str, Any] = run(ctx, "add_vendor", "add-acme", **ACME)
    return out


def sent(ctx: ToolContext) -> list[Any]:
    return ctx.mail.search(folder="sent", limit=50)


def at(ctx: ToolContext, when: datetime) -> ToolContext:
    """The same workspace seen at another moment."""
    return ToolContext(principal=ctx.principal, workspace=ctx.workspace, clock=lambda: when)


# ----------------------------------------------------------------- directory


def test_add_vendor_makes_a_vendor_contact_with_details_and_find_vendor_finds_it(
    ctx: ToolContext,
) -> None:
    card = preview(ctx, "add_vendor", **ACME)
    assert card.summary == "Add vendor Acme Catering <orders@acme-catering.example>"
    assert card.details["Category"] == "catering"
    assert card.details["Accounts"] == "C-4711"
    assert card.details["Payment terms"] == "net 30"
    assert card.details["Preferred channel"] == "email"
    first = run(ctx, "add_vendor", "k", **ACME)
    assert first == run(ctx, "add_vendor", "k", **ACME)
    contact = ctx.contacts.by_email("orders@acme-catering.example")
    assert contact is not None and contact.role == "vendor" and contact.id == first["id"]

    assert [v["name"] for v in run(ctx, "find_vendor", query="acme")] == ["Acme Catering"]
    [found] = run(ctx, "find_vendor", category="Catering")
    assert found["accounts"] == ["C-4711"] and found["payment_terms"] == "net 30"
    assert [v["name"] for v in run(ctx, "find_vendor")] == ["Acme Catering"]

    # Updating keeps what is not given and adds a second account number.
    card = preview(ctx, "add_vendor", name="Acme Catering", email=ACME["email"], channel="phone")
    assert card.summary.startswith("Update vendor")
    assert "no phone number" in card.warnings[0]
    run(
        ctx,
        "add_vendor",
        "k2",
        name="Acme Catering",
        email=ACME["email"],
        account_numbers=["C-9"],
        channel="phone",
        phone="+49 30 555",
    )
    [found] = run(ctx, "find_vendor", query="catering")
    assert found["accounts"] == ["C-4711", "C-9"] and found["channel"] == "phone"
    assert found["category"] == "catering" and found["phone"] == "+49 30 555"


def test_a_contact_with_another_role_becomes_a_vendor_with_a_warning(ctx: ToolContext) -> None:
    ctx.contacts.upsert(Contact(name="Dana", email="dana@it.example", role="client"))
    card = preview(ctx, "add_vendor", name="Dana IT", email="dana@it.example", category="IT")
    assert "listed as client" in card.warnings[0]
    with pytest.raises(ToolError, match="as client, not as a vendor"):
        preview(ctx, "request_quote", vendor="dana@it.example", what="laptops")
    run(ctx, "add_vendor", "k", name="Dana IT", email="dana@it.example", category="IT")
    assert ctx.contacts.by_email("dana@it.example").role == "vendor"  # type: ignore[union-attr]


def test_unknown_vendor_suggests_add_vendor_or_find_contact(
    ctx: ToolContext, acme: dict[str, Any]
) -> None:
    with pytest.raises(ToolError, match="No vendor matches 'Globex'.*add_vendor.*find_contact"):
        run(ctx, "find_vendor", query="Globex")
    with pytest.raises(ToolError, match="add_vendor"):
        preview(ctx, "request_quote", vendor="Globex", what="paper")
    with pytest.raises(ToolError, match="add_vendor"):
        run(ctx, "find_vendor", category="plumbing")


def test_ambiguous_vendor_name_asks_for_the_address(ctx: ToolContext) -> None:
    run(ctx, "add_vendor", "a", name="Acme Catering", email="orders@acme-catering.example")
    run(ctx, "add_vendor", "b", name="Acme Office", email="shop@acme-office.example")
    with pytest.raises(ToolError, match="matches several vendors"):
        preview(ctx, "request_quote", vendor="Acme", what="paper")
    card = preview(ctx, "request_quote", vendor="Acme Office", what="paper")
    assert card.details["To"] == "Acme Office <shop@acme-office.example>"


# ------------------------------------------------------------------ requests


def test_request_quote_previews_the_exact_mail_and_sends_it_once_per_key(
    ctx: ToolContext, acme: dict[str, Any]
) -> None:
    args = {"vendor": "Acme Catering", "what": "lunches", "quantity": "40", "needed_by": "Friday"}
    card = preview(ctx, "request_quote", **args)
    assert card.summary == "Ask Acme Catering for a quote: 40 lunches"
    assert card.details["To"] == "Acme Catering <orders@acme-catering.example>"
    assert card.details["Subject"] == "Request for quote: 40 lunches"
    assert card.details["Needed by"] == "Fri 27 Nov 2026"
    assert card.body is not None
    assert "40 x lunches" in card.body and "Our account number: C-4711" in card.body
    assert card.warnings == []

    first = run(ctx, "request_quote", "quote-key", **args)
    again = run(ctx, "request_quote", "quote-key", **args)
    assert first == again
    [mail] = sent(ctx)
    assert mail.message_id == first["message_id"]
    assert ctx.mail.get_message(mail.message_id).body.strip() == card.body.strip()
    assert first["kind"] == "quote" and first["status"] == "awaiting"
    assert first["vendor_email"] == "orders@acme-catering.example"
    assert first["sent"] == "2026-11-23" and first["expected_by"] == ""
    [listed] = run(ctx, "list_vendor_requests")
    assert listed["id"] == first["id"]


def test_place_order_uses_the_account_on_file_and_references_the_quote(
    ctx: ToolContext, acme: dict[str, Any]
) -> None:
    args = {
        "vendor": "orders@acme-catering.example",
        "items": [{"item": "lunch box", "quantity": "40"}, {"item": "vegan lunch box"}],
        "delivery_date": "2026-11-27",
        "quote_number": "Q-118",
    }
    card = preview(ctx, "place_order", **args)
    assert card.summary == "Order 2 items from Acme Catering by e-mail"
    assert card.details["Subject"] == "Order: 40 x lunch box and 1 more (your quote Q-118)"
    assert card.details["Account"] == "C-4711"
    assert card.details["Payment terms"] == "net 30"
    assert card.details["Answer expected by"] == "Fri 27 Nov 2026"
    assert card.body is not None
    for text in ("40 x lunch box", "1 x vegan lunch box", "Main St 1", "Your quote: Q-118"):
        assert text in card.body
    order = run(ctx, "place_order", "order-key", **args)
    assert run(ctx, "place_order", "order-key", **args) == order
    assert len(sent(ctx)) == 1
    assert order["expected_by"] == "2026-11-27"
    assert order["details"]["account_number"] == "C-4711"

    other = preview(ctx, "place_order", **{**args, "account_number": "X-1"})
    assert "not on file" in other.warnings[0]


def test_chase_delivery_replies_in_the_order_thread(ctx: ToolContext, acme: dict[str, Any]) -> None:
    order = run(
        ctx,
        "place_order",
        "o",
        vendor="Acme Catering",
        items=[{"item": "toner", "quantity": "3"}],
        delivery_date="tomorrow",
    )
    later = at(ctx, NOW + timedelta(days=3))
    card = preview(later, "chase_delivery", order_id=order["id"])
    assert card.details["Subject"] == "Re: Order: 3 x toner"
    assert card.details["Delivery was due"] == "Tue 24 Nov 2026"
    assert card.body is not None
    assert "on Mon 23 Nov 2026 we ordered from you" in card.body
    assert "3 x toner" in card.body and "has not arrived yet" in card.body
    chase = run(later, "chase_delivery", "c", order_id=order["id"])
    assert run(later, "chase_delivery", "c", order_id=order["id"]) == chase
    assert chase["kind"] == "chase" and chase["refers_to"] == order["id"]
    mail = ctx.mail.get_message(chase["message_id"])
    assert mail.in_reply_to == order["message_id"]
    assert len(sent(ctx)) == 2


def test_phone_preferring_vendor_gets_a_warning_on_the_card(ctx: ToolContext) -> None:
    run(
        ctx,
        "add_vendor",
        "k",
        name="Bob's Bakery",
        email="bob@bakery.example",
        channel="phone",
        phone="+49 30 1234",
    )
    card = preview(ctx, "request_quote", vendor="Bob's Bakery", what="cakes")
    assert card.warnings == [
        "Bob's Bakery prefers phone (+49 30 1234); consider calling instead of e-mailing"
    ]


# ------------------------------------------------------------------- answers


def test_record_vendor_answer_marks_the_request_answered(
    ctx: ToolContext, acme: dict[str, Any]
) -> None:
    quote = run(ctx, "request_quote", "q", vendor="Acme Catering", what="lunches", quantity="40")
    args = {
        "request_id": quote["id"],
        "summary": "Quote Q-118: 40 lunches at 12 EUR",
        "amount": "480.00",
        "currency": "eur",
        "delivery_date": "Friday",
    }
    card = preview(ctx, "record_vendor_answer", **args)
    assert card.details["Amount"] == "480.00 EUR"
    assert card.details["Status"] == "awaiting -> answered"
    assert card.details["Delivery"] == "Fri 27 Nov 2026"
    done = run(ctx, "record_vendor_answer", "a", **args)
    assert done["status"] == "answered" and done["answer_currency"] == "EUR"
    stored = ctx.workspace.vendors.get_request(quote["id"])
    assert stored.answer_amount == Decimal("480.00")
    assert "replaces it" in preview(ctx, "record_vendor_answer", **args).warnings[0]
    closed = run(ctx, "record_vendor_answer", "b", **{**args, "close": True})
    assert closed["status"] == "closed"
    assert run(ctx, "list_vendor_requests") == []
    assert len(run(ctx, "list_vendor_requests", status="all")) == 1


# ---------------------------------------------------------------- follow-ups


def test_followups_list_requests_waiting_longer_than_n_days(
    ctx: ToolContext, acme: dict[str, Any]
) -> None:
    quote = run(ctx, "request_quote", "q", vendor="Acme Catering", what="lunches")
    assert vendor_followups(at(ctx, NOW + timedelta(days=2))) == []
    [item] = vendor_followups(at(ctx, NOW + timedelta(days=4)))
    assert item["id"] == quote["id"] and item["days_waiting"] == 4
    assert item["vendor"] == "Acme Catering"
    assert item["vendor_email"] == "orders@acme-catering.example"
    assert item["kind"] == "quote" and item["sent"] == "2026-11-23"
    assert item["expected_by"] == "" and item["status"] == "awaiting"
    assert item["suggestion"] == "send a reminder about the quote"
    assert vendor_followups(at(ctx, NOW + timedelta(days=2)), days=1)[0]["days_waiting"] == 2

    # The principal's preference sets the default wait.
    patient = ctx.principal.model_copy(update={"preferences": {"vendor_followup_days": 7}})
    later = ToolContext(
        principal=patient, workspace=ctx.workspace, clock=lambda: NOW + timedelta(days=4)
    )
    assert vendor_followups(later) == []
    assert len(vendor_followups(later, days=3)) == 1
    with pytest.raises(ToolError, match="days must be"):
        vendor_followups(later, days=-1)

    run(ctx, "record_vendor_answer", "a", request_id=quote["id"], summary="Sent quote")
    assert vendor_followups(at(ctx, NOW + timedelta(days=10))) == []


def test_followups_list_orders_past_their_date_and_prefer_the_newest_chase(
    ctx: ToolContext, acme: dict[str, Any]
) -> None:
    order = run(
        ctx,
        "place_order",
        "o",
        vendor="Acme Catering",
        items=[{"item": "toner", "quantity": "3"}],
        delivery_date="tomorrow",
    )
    [item] = vendor_followups(at(ctx, NOW + timedelta(days=2)))
    assert item["id"] == order["id"] and item["suggestion"] == "chase delivery"
    assert item["expected_by"] == "2026-11-24"

    # Confirmed for Thursday: not a follow-up until Thursday has passed.
    run(ctx, "record_vendor_answer", "a", request_id=order["id"], summary="ok",
        delivery_date="2026-11-26")  # fmt: skip
    assert vendor_followups(at(ctx, NOW + timedelta(days=3))) == []
    [item] = vendor_followups(at(ctx, NOW + timedelta(days=4)))
    assert item["suggestion"] == "chase delivery (due Thu 26 Nov 2026)"

    later = at(ctx, NOW + timedelta(days=4))
    chase = run(later, "chase_delivery", "c", order_id=order["id"])
    assert vendor_followups(later) == []  # the reminder is new; the order is covered by it
    [item] = vendor_followups(at(ctx, NOW + timedelta(days=8)))
    assert item["id"] == chase["id"] and "call them" in item["suggestion"]


def _reply(ctx: ToolContext, sender: str, in_reply_to: str, day: int) -> str:
    mid = f"<reply-{day}-{abs(hash(sender))}@example.net>"
    ctx.mail.import_eml(  # type: ignore[attr-defined]
        f"From: {sender}\r\nTo: ada@example.com\r\nSubject: Re: Request for quote: lunches\r\n"
        f"Message-ID: {mid}\r\nIn-Reply-To: {in_reply_to}\r\nReferences: {in_reply_to}\r\n"
        f"Date: {day} Nov 2026 10:00:00 +0100\r\n\r\nOur quote is attached.\r\n".encode()
    )
    return mid


def test_a_reply_in_the_thread_from_the_vendor_counts_as_answered_by_mail(
    ctx: ToolContext, acme: dict[str, Any]
) -> None:
    quote = run(ctx, "request_quote", "q", vendor="Acme Catering", what="lunches")
    tomorrow = at(ctx, NOW + timedelta(days=1))
    _reply(ctx, "someone@else.example", quote["message_id"], 24)
    assert vendor_followups(tomorrow) == []  # not from the vendor
    mid = _reply(ctx, "Acme Catering <orders@acme-catering.example>", quote["message_id"], 24)
    [item] = vendor_followups(tomorrow)
    assert item["status"] == "answered by mail, not yet recorded"
    assert item["answered_by_mail"] is True and item["reply_message_id"] == mid
    assert "record" in item["suggestion"]
    run(ctx, "record_vendor_answer", "a", request_id=quote["id"], summary="Quote", message_id=mid)
    assert vendor_followups(tomorrow) == []


# ----------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("tool", "args", "problem"),
    [
        ("add_vendor", {"name": " ", "email": "x@y.example"}, "name is empty"),
        ("add_vendor", {"name": "X", "email": "orders@"}, "email: "),
        ("request_quote", {"vendor": "Acme Catering", "what": " "}, "what is empty"),
        (
            "request_quote",
            {"vendor": "Acme Catering", "what": "lunches", "needed_by": "last Friday"},
            "needed_by: .* is in the past",
        ),
        ("request_quote", {"vendor": "orders@acme", "what": "lunches"}, "vendor: "),
        ("request_quote", {"vendor": "", "what": "lunches"}, "vendor is empty"),
        ("place_order", {"vendor": "Acme Catering", "items": []}, "items is empty"),
        (
            "place_order",
            {"vendor": "Acme Catering", "items": [{"item": "x", "quantity": " "}]},
            "has no quantity",
        ),
        (
            "place_order",
            {"vendor": "Acme Catering", "items": [{"item": "x"}], "delivery_address": "here"},
            "is not a postal address",
        ),
        (
            "place_order",
            {"vendor": "Acme Catering", "items": [{"item": "x"}], "delivery_date": "yesterday"},
            "in the past",
        ),
        ("chase_delivery", {"order_id": "vreq-0"}, "No vendor request with id 'vreq-0'"),
        ("record_vendor_answer", {"request_id": "vreq-0", "summary": "x"}, "No vendor request"),
    ],
)
def test_vendor_tools_refuse_bad_input_with_a_sentence(
    ctx: ToolContext, acme: dict[str, Any], tool: str, args: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ToolError, match=problem):
        preview(ctx, tool, **args)
    with pytest.raises(ToolError, match=problem):
        run(ctx, tool, "k", **args)
    assert sent(ctx) == []


def test_answers_and_chases_refuse_what_does_not_fit(
    ctx: ToolContext, acme: dict[str, Any]
) -> None:
    quote = run(ctx, "request_quote", "q", vendor="Acme Catering", what="lunches")
    with pytest.raises(ToolError, match="is a quote request, not an order"):
        preview(ctx, "chase_delivery", order_id=quote["id"])
    base = {"request_id": quote["id"], "summary": "Quote"}
    with pytest.raises(ToolError, match="currency: "):
        preview(ctx, "record_vendor_answer", **base, amount="12", currency="euro")
    with pytest.raises(ToolError, match="currency is given without amount"):
        preview(ctx, "record_vendor_answer", **base, currency="EUR")
    with pytest.raises(ToolError, match="amount: "):
        preview(ctx, "record_vendor_answer", **base, amount="-3", currency="EUR")
    with pytest.raises(ToolError, match="summary is empty"):
        preview(ctx, "record_vendor_answer", request_id=quote["id"], summary="")
    with pytest.raises(ToolError, match="No mail with id"):
        preview(ctx, "record_vendor_answer", **base, message_id="<nope@x>")
    order = run(ctx, "place_order", "o", vendor="Acme Catering", items=[{"item": "x"}])
    run(ctx, "record_vendor_answer", "a", request_id=order["id"], summary="arrived", close=True)
    with pytest.raises(ToolError, match="closed"):
        preview(ctx, "chase_delivery", order_id=order["id"])


def test_order_without_any_delivery_address_asks_for_one(tmp_path: Path, duty_context: Any) -> None:
    p = Principal(id="bo", name="Bo", email="bo@example.com", timezone="Europe/Berlin")
    ctx = duty_context(p, vendors=LocalVendors(tmp_path))
    run(ctx, "add_vendor", "a", name="Acme", email="orders@acme.example")
    with pytest.raises(ToolError, match="delivery_address is empty"):
        preview(ctx, "place_order", vendor="Acme", items=[{"item": "x"}])


# ---------------------------------------------------------------- the gate


def test_quote_request_waits_for_approval_and_sends_exactly_one_mail(make_secretary: Any) -> None:
    sec = make_secretary(None)
    ws = sec.workspace(sec.principal("ada"))
    acme = ws.contacts.upsert(
        Contact(name="Acme Catering", email="orders@acme-catering.example", role="vendor")
    )
    ws.vendors.save_details(
        VendorDetails(contact_id=acme.id, category="catering", accounts=["C-4711"]), NOW
    )
    model = ScriptedChatModel(
        [
            {"tool_calls": [{"name": "find_vendor", "args": {"query": "Acme Catering"}}]},
            {
                "tool_calls": [
                    {
                        "name": "request_quote",
                        "args": {"vendor": "Acme Catering", "what": "lunches", "quantity": "40"},
                    }
                ]
            },
            "I asked Acme Catering for a quote for 40 lunches.",
        ]
    )
    sec._model = model
    reply = sec.ask("ask Acme Catering for a quote for 40 lunches", principal="ada", thread="t1")
    [proposal] = reply.pending
    assert proposal.tool == "request_quote"
    assert "40 x lunches" in (proposal.preview["body"] or "")
    assert ws.mail.search(folder="sent") == []
    assert ws.vendors.requests() == []

    done = sec.decide(proposal.id, Decision(kind="approve"))
    assert [p.status for p in done.executed] == ["executed"]
    again = make_secretary(model).decide(proposal.id, Decision(kind="approve"))
    assert "already executed" in (again.notice or "")
    [mail] = ws.mail.search(folder="sent")
    assert mail.subject == "Request for quote: 40 lunches"
    [request] = ws.vendors.requests()
    assert request.message_id == mail.message_id and request.status == "awaiting"


# ----------------------------------------------------------------------- CLI


def cli(*args: str) -> Any:
    from agent.cli import cli as main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cli_lists_vendors_and_followups(isolated_home: Path) -> None:
    r = cli("init", "--name", "Ada", "--email", "ada@example.com", "--timezone", "Europe/Berlin")
    assert r.exit_code == 0, r.output
    root = isolated_home / "principals" / "me"
    book, store = LocalContacts(root), LocalVendors(root)
    acme = book.upsert(Contact(name="Acme Catering", email="orders@acme.example", role="vendor"))
    store.save_details(
        VendorDetails(contact_id=acme.id, category="catering", payment_terms="net 30"), NOW
    )
    bits = book.upsert(
        Contact(name="Bits & Bytes", email="sales@bits.example", role="vendor", phone="+1 555")
    )
    store.save_details(VendorDetails(contact_id=bits.id, category="IT", channel="phone"), NOW)
    long_ago = datetime.now(BERLIN) - timedelta(days=5)
    store.add_request(
        VendorRequest(
            kind="quote",
            vendor_id=acme.id,
            vendor="Acme Catering",
            vendor_email="orders@acme.example",
            subject="Request for quote: 40 lunches",
            message_id="<q1@example.com>",
            sent_at=long_ago,
        )
    )
    book.close()
    store.close()

    r = cli("vendors", "--json")
    assert r.exit_code == 0, r.output
    assert [(v["name"], v["category"]) for v in json.loads(r.stdout)] == [
        ("Acme Catering", "catering"),
        ("Bits & Bytes", "IT"),
    ]
    r = cli("vendors", "catering")
    assert "Acme Catering" in r.stdout and "net 30" in r.stdout and "Bits" not in r.stdout

    r = cli("vendors", "--followups", "--json")
    [item] = json.loads(r.stdout)
    assert item["subject"] == "Request for quote: 40 lunches" and item["days_waiting"] == 5
    assert json.loads(cli("vendors", "--followups", "--days", "6", "--json").stdout) == []
    r = cli("vendors", "--followups")
    assert item["id"] in r.stdout and "5 d" in r.stdout and "reminder" in r.stdout

    r = cli("vendors", "plumbing")
    assert r.exit_code != 0 and "add_vendor" in r.output and "Traceback" not in r.output
