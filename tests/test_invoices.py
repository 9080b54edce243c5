"""Invoices: reading real PDFs and mails, the ledger, the gate, the model pass and the CLI."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import invoice_docs as docs
import pytest
from click.testing import CliRunner
from conftest import NOW
from toolkit import preview, run

from agent.approval import Decision
from tools.base import ToolError
from tools.context import ToolContext
from tools.invoice_parse import (
    complete,
    extract_with_model,
    iban_valid,
    parse_amount,
    parse_date,
    parse_document,
    pdf_text,
)
from tools.invoices import invoices_due
from tools.providers.base import Contact
from tools.providers.local.invoices import Invoice, LocalInvoices
from tools.providers.local.mail import LocalMail
from tools.providers.scripted import ScriptedChatModel

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def ctx(tmp_path: Path, duty_context: Any) -> ToolContext:
    c: ToolContext = duty_context(invoices=LocalInvoices(tmp_path))
    return c


def ledger(ctx: ToolContext) -> LocalInvoices:
    store: LocalInvoices = ctx.workspace.invoices
    return store


def deliver(ctx: ToolContext, raw: bytes) -> str:
    mail: LocalMail = ctx.workspace.mail  # type: ignore[assignment]
    return mail.import_eml(raw)


# ------------------------------------------------------------- the parser


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1.234,56 €", "1234.56"),
        ("$1,234.56", "1234.56"),
        ("CHF 1'234.50", "1234.50"),
        ("zzgl. 19 % MwSt.: 197,11 €", "197.11"),
        ("EUR 0,10", "0.10"),
        ("GBP 12", "12"),
        ("1.000.000,00", "1000000.00"),
    ],
)
def test_amounts_in_both_formats_are_exact_decimals(text: str, amount: str) -> None:
    value = parse_amount(text)
    assert isinstance(value, Decimal) and value == Decimal(amount)


def test_sums_are_exact_where_floats_are_not() -> None:
    body = "Net: EUR 0,10\nVAT: EUR 0,20\nTotal: EUR 0,30\n"
    fields, unreadable, warnings = complete(parse_document(body, "body"))
    assert 0.1 + 0.2 != 0.3  # what floats would have done
    assert fields["net"] and fields["tax"] and fields["total"]
    assert fields["net"].value + fields["tax"].value == fields["total"].value == Decimal("0.30")
    assert warnings == []
    wrong = "Net: 100.00 EUR\nVAT: 19.00 EUR\nTotal: 120.00 EUR\n"
    assert "check the amounts" in complete(parse_document(wrong, "body"))[2][0]


def test_iban_checksum() -> None:
    assert iban_valid(docs.IBAN_DE) and iban_valid(docs.IBAN_GB)
    assert iban_valid("de89370400440532013000")
    assert not iban_valid("DE89 3704 0044 0532 0130 01")
    assert not iban_valid("DE00")
    bad = parse_document("IBAN: DE89 3704 0044 0532 0130 01\nTotal: 5 EUR", "body")
    fields, unreadable, _ = complete(bad)
    assert fields["iban"] is None
    assert "IBAN DE89 3704 0044 0532 0130 01 failed the checksum (not used)" in unreadable


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20", date(2026, 11, 20)),
        ("18.11.2026", date(2026, 11, 18)),
        ("20. November 2026", date(2026, 11, 20)),
        ("3. März 2026", date(2026, 3, 3)),
        ("November 20, 2026", date(2026, 11, 20)),
        ("Dec 1st, 2026", date(2026, 12, 1)),
        ("25/11/2026", date(2026, 11, 25)),
    ],
)
def test_dates_in_english_and_german(text: str, expected: date) -> None:
    found = parse_date(text)
    assert found is not None and found[0] == expected


def test_english_table_pdf_is_read_with_sources() -> None:
    text = pdf_text(docs.english_invoice(), "acme.pdf")
    fields, unreadable, warnings = complete(
        parse_document(text, "pdf:acme.pdf", header_vendor=True)
    )
    values = {k: (f.value if f else None) for k, f in fields.items()}
    assert values == {
        "vendor": "Acme Widgets Ltd",
        "number": "INV-2026-0117",
        "issued": date(2026, 11, 20),
        "due": date(2026, 12, 20),
        "currency": "USD",
        "net": Decimal("1134.56"),
        "tax": Decimal("100.00"),
        "total": Decimal("1234.56"),
        "iban": "GB29 NWBK 6016 1331 9268 19",
        "bic": "NWBKGB2L",
        "reference": "INV-2026-0117",
    }
    assert unreadable == [] and warnings == []
    assert {f.source for f in fields.values() if f} == {"pdf:acme.pdf"}


def test_german_pdf_with_right_aligned_labels_and_payment_terms() -> None:
    text = pdf_text(
        docs.german_invoice(due=None, terms="Zahlbar innerhalb 14 Tagen ohne Abzug."), "re.pdf"
    )
    fields, unreadable, _ = complete(parse_document(text, "pdf:re.pdf", header_vendor=True))
    assert fields["vendor"] and fields["vendor"].value == "Müller Bürobedarf GmbH"
    assert fields["number"] and fields["number"].value == "RE-2026-0042"
    assert fields["total"] and fields["total"].value == Decimal("1234.56")
    assert fields["net"] and fields["net"].value == Decimal("1037.45")
    assert fields["tax"] and fields["tax"].value == Decimal("197.11")
    assert fields["currency"] and fields["currency"].value == "EUR"
    due = fields["due"]
    assert due is not None and due.value == date(2026, 12, 2) and due.source == "computed"
    assert "14 Tagen" in due.note
    assert unreadable == []


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (docs.encrypted_invoice, "password-protected"),
        (docs.corrupt_invoice, "damaged"),
        (docs.scanned_invoice, "scanned image?"),
    ],
)
def test_unreadable_pdfs_say_why(make: Any, why: str) -> None:
    from tools.invoice_parse import UnreadableDocument

    with pytest.raises(UnreadableDocument, match=rf"invoice\.pdf: no text could be read .*{why}"):
        pdf_text(make(), "invoice.pdf")


# ----------------------------------------------------------------- capture


def test_capture_from_a_mail_with_a_pdf_reads_every_field_and_lands_once(
    ctx: ToolContext,
) -> None:
    ctx.contacts.upsert(
        Contact(name="Acme Billing", email="billing@acme.example", organisation="Acme Widgets")
    )
    mid = deliver(
        ctx, docs.invoice_mail(attachments=(("INV-2026-0117.pdf", docs.english_invoice()),))
    )
    card = preview(ctx, "capture_invoice", message_id=mid)
    assert card.summary == (
        "Capture invoice INV-2026-0117 from Acme Widgets: USD 1,234.56, due Sun 20 Dec 2026"
    )
    assert card.details["Vendor"] == "Acme Widgets (contact, 95%)"
    assert card.details["Total amount"] == "1234.56 (pdf:INV-2026-0117.pdf, 90%)"
    assert card.details["Read from"] == "INV-2026-0117.pdf, mail body"
    assert "Not read" not in card.details and card.warnings == []

    first = run(ctx, "capture_invoice", "cap-1", message_id=mid)
    again = run(ctx, "capture_invoice", "cap-1", message_id=mid)
    assert first["id"] == again["id"] and first["id"].startswith("INV-")
    assert first["total"] == "1234.56" and first["currency"] == "USD"
    assert first["vendor_email"] == "billing@acme.example"
    assert first["source_message_id"] == mid and first["file_name"] == "INV-2026-0117.pdf"
    assert first["provenance"]["due"]["source"] == "pdf:INV-2026-0117.pdf"
    [stored] = ledger(ctx).invoices()
    assert stored.total == Decimal("1234.56") and stored.status == "received"
    assert [h.to_status for h in ledger(ctx).history(stored.id)] == ["received"]


def test_capture_from_a_mail_body_computes_the_due_date_and_names_the_gaps(
    ctx: ToolContext,
) -> None:
    mid = deliver(
        ctx,
        docs.invoice_mail(
            sender="Lena Graf <lena@grafdesign.example>",
            subject="Rechnung / invoice November",
            body=docs.BODY_INVOICE,
            message_id="<body-118@grafdesign.example>",
        ),
    )
    card = preview(ctx, "capture_invoice", message_id=mid)
    assert card.details["Vendor"] == "Lena Graf (sender, 50%)"
    assert card.details["Due date"].startswith("2026-12-21 (computed: issue date + 30 days")
    assert "The due date is computed from the payment terms" in card.warnings
    saved = run(ctx, "capture_invoice", "k", message_id=mid)
    assert saved["due"] == "2026-12-21" and saved["due_computed"] is True
    assert saved["total"] == "480.00" and saved["net"] == "400.00" and saved["tax"] == "80.00"
    assert saved["iban"] == "DE89 3704 0044 0532 0130 00"


def test_a_scanned_pdf_is_still_captured_from_the_body(ctx: ToolContext) -> None:
    body = "Invoice number: 7\nTotal: 500.00 EUR\n"
    mid = deliver(
        ctx, docs.invoice_mail(body=body, attachments=(("invoice.pdf", docs.scanned_invoice()),))
    )
    card = preview(ctx, "capture_invoice", message_id=mid)
    assert "invoice.pdf: no text could be read (scanned image?)" in card.warnings
    assert "due date not found" in card.details["Not read"]
    assert "issue date not found" in card.details["Not read"]
    saved = run(ctx, "capture_invoice", "k", message_id=mid)
    assert saved["number"] == "7" and saved["total"] == "500.00" and saved["due"] is None
    assert saved["unreadable"][0] == "invoice.pdf: no text could be read (scanned image?)"
    assert "due date not found" in saved["unreadable"]


def test_capture_from_files_pdf_and_eml(ctx: ToolContext, tmp_path_factory: Any) -> None:
    # Outside the principal's own folder, in a folder the principal named (tools.paths).
    incoming = tmp_path_factory.mktemp("incoming")
    ctx.principal_words = (f"Capture the invoices in {incoming}",)
    pdf = incoming / "rechnung.pdf"
    pdf.write_bytes(docs.german_invoice())
    card = preview(ctx, "capture_invoice", path=str(pdf))
    assert (
        card.details["Vendor"] == "Müller Bürobedarf GmbH (pdf:rechnung.pdf: document header, 60%)"
    )
    assert card.details["Due date"] == "2026-12-02 (pdf:rechnung.pdf, 90%)"
    assert card.details["Path allowed"] == f"it is in {incoming}, a folder you named"
    saved = run(ctx, "capture_invoice", "p", path=str(pdf))
    assert saved["total"] == "1234.56" and saved["vendor_email"] == ""

    eml = incoming / "acme.eml"
    eml.write_bytes(docs.invoice_mail(attachments=(("a.pdf", docs.english_invoice()),)))
    assert run(ctx, "capture_invoice", "e", path=str(eml))["number"] == "INV-2026-0117"


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ({}, "Give either message_id"),
        ({"message_id": "<a@b>", "path": "/x.pdf"}, "Give either message_id"),
        ({"message_id": "<nope@x>"}, "No message with id"),
        ({"path": "/no/such/file.pdf"}, "is not in a folder you allow"),
    ],
)
def test_capture_refuses_bad_input_with_a_sentence(
    ctx: ToolContext, args: dict[str, str], problem: str
) -> None:
    with pytest.raises(ToolError, match=problem):
        preview(ctx, "capture_invoice", **args)
    with pytest.raises(ToolError, match=problem):
        run(ctx, "capture_invoice", "k", **args)
    assert ledger(ctx).invoices() == []


def test_capture_refuses_a_mail_without_a_number_or_an_amount(ctx: ToolContext) -> None:
    mid = deliver(
        ctx,
        docs.invoice_mail(
            sender="<x@y.example>",
            body="See attached.",
            attachments=(("invoice.pdf", docs.encrypted_invoice()),),
        ),
    )
    with pytest.raises(ToolError, match=r"invoice\.pdf: no text could be read \(the PDF is pass"):
        preview(ctx, "capture_invoice", message_id=mid)
    assert ledger(ctx).invoices() == []


def test_duplicates_are_refused_or_flagged(ctx: ToolContext) -> None:
    pdf = docs.english_invoice()
    first_mail = deliver(ctx, docs.invoice_mail(attachments=(("a.pdf", pdf),)))
    second_mail = deliver(
        ctx, docs.invoice_mail(attachments=(("a.pdf", pdf),), message_id="<again@acme.example>")
    )
    first = run(ctx, "capture_invoice", "one", message_id=first_mail)
    with pytest.raises(ToolError, match=f"already in the ledger as {first['id']}"):
        preview(ctx, "capture_invoice", message_id=second_mail)
    with pytest.raises(ToolError, match=f"already in the ledger as {first['id']}"):
        run(ctx, "capture_invoice", "two", message_id=second_mail)

    # Another document with the same amount and issue date, but no number: only a warning.
    body = "Invoice date: November 20, 2026\nTotal due: $1,234.56\n"
    other = deliver(
        ctx, docs.invoice_mail(sender="Other <o@other.example>", body=body, message_id="<o@o>")
    )
    card = preview(ctx, "capture_invoice", message_id=other)
    assert any(w.startswith(f"possible duplicate of {first['id']}") for w in card.warnings)
    saved = run(ctx, "capture_invoice", "three", message_id=other)
    assert saved["warnings"] == [f"possible duplicate of {first['id']}"]


# ---------------------------------------------------------- status changes


def _seed(ctx: ToolContext, **values: Any) -> Invoice:
    base: dict[str, Any] = {
        "vendor": "Acme",
        "vendor_email": "billing@acme.example",
        "number": "A-1",
        "currency": "EUR",
        "total": Decimal("100.00"),
        "created_at": NOW,
    }
    return ledger(ctx).add(Invoice(**{**base, **values}))


def test_invoices_due_and_overdue_with_a_pinned_clock(ctx: ToolContext) -> None:
    today = NOW.date()
    late = _seed(ctx, number="L", due=today - timedelta(days=3))
    soon = _seed(ctx, number="S", due=today + timedelta(days=5), status="approved")
    _seed(ctx, number="F", due=today + timedelta(days=30))
    _seed(ctx, number="P", due=today - timedelta(days=1), status="paid")
    _seed(ctx, number="D", due=today - timedelta(days=1), status="disputed")
    _seed(ctx, number="N")
    due = invoices_due(ctx)
    assert due == [
        {
            "id": late.id, "vendor": "Acme", "number": "L", "total": "100.00",
            "currency": "EUR", "due": "2026-11-20", "overdue": True, "days": -3,
            "status": "received",
        },
        {
            "id": soon.id, "vendor": "Acme", "number": "S", "total": "100.00",
            "currency": "EUR", "due": "2026-11-28", "overdue": False, "days": 5,
            "status": "approved",
        },
    ]  # fmt: skip
    assert [i["number"] for i in invoices_due(ctx, within_days=60)] == ["L", "S", "F"]
    assert [i["number"] for i in run(ctx, "list_invoices", overdue_only=True)] == ["L"]
    assert [i["number"] for i in run(ctx, "list_invoices", due_within_days=7)] == ["L", "S"]
    assert [i["number"] for i in run(ctx, "list_invoices")] == ["L", "S", "F", "N"]
    assert [i["number"] for i in run(ctx, "list_invoices", status="all")][-1] == "N"
    assert len(run(ctx, "list_invoices", status="all")) == 6


def test_approve_pay_and_history(ctx: ToolContext) -> None:
    inv = _seed(ctx, due=date(2026, 12, 1), iban="DE89 3704 0044 0532 0130 00")
    card = preview(ctx, "approve_invoice", invoice_id=inv.id)
    assert card.summary == f"Approve the invoice A-1 from Acme ({inv.id}) for payment: EUR 100.00"
    assert card.details["Pay to"] == "IBAN DE89 3704 0044 0532 0130 00"
    approved = run(ctx, "approve_invoice", "a", invoice_id=inv.id, note="ok by Sam")
    again = run(ctx, "approve_invoice", "a", invoice_id=inv.id, note="ok by Sam")
    assert approved["status"] == again["status"] == "approved"
    assert "Already approved" in preview(ctx, "approve_invoice", invoice_id=inv.id).warnings[0]

    pay = preview(ctx, "mark_invoice_paid", invoice_id=inv.id, paid_on="yesterday", reference="TX1")
    assert pay.details["Paid on"] == "Sun 22 Nov 2026" and pay.warnings == []
    paid = run(
        ctx, "mark_invoice_paid", "p", invoice_id=inv.id, paid_on="yesterday", reference="TX1"
    )
    assert paid["status"] == "paid" and paid["paid_on"] == "2026-11-22"
    assert paid["paid_reference"] == "TX1" and paid["overdue"] is False
    assert run(ctx, "mark_invoice_paid", "p2", invoice_id=inv.id)["paid_on"] == "2026-11-22"
    history = ledger(ctx).history(inv.id)
    assert [(h.from_status, h.to_status, h.note) for h in history] == [
        ("", "received", "captured"),
        ("received", "approved", "ok by Sam"),
        ("approved", "paid", "TX1"),
    ]
    with pytest.raises(ToolError, match="already paid"):
        preview(ctx, "approve_invoice", invoice_id=inv.id)
    with pytest.raises(ToolError, match="already paid"):
        preview(ctx, "dispute_invoice", invoice_id=inv.id, reason="x")
    with pytest.raises(ToolError, match="in the future"):
        preview(ctx, "mark_invoice_paid", invoice_id=_seed(ctx, number="B").id, paid_on="tomorrow")
    with pytest.raises(ToolError, match="No invoice with id 'INV-0'"):
        preview(ctx, "approve_invoice", invoice_id="INV-0")


def test_dispute_with_a_draft_to_the_vendor(ctx: ToolContext) -> None:
    inv = _seed(ctx, issued=date(2026, 11, 20))
    card = preview(
        ctx, "dispute_invoice", invoice_id=inv.id, reason="We ordered 10, not 12.", draft_mail=True
    )
    assert card.summary.endswith("and save a draft to the vendor")
    assert card.details["Draft to"] == "billing@acme.example"
    assert card.body is not None and "We ordered 10, not 12." in card.body
    first = run(
        ctx,
        "dispute_invoice",
        "d",
        invoice_id=inv.id,
        reason="We ordered 10, not 12.",
        draft_mail=True,
    )
    again = run(
        ctx,
        "dispute_invoice",
        "d",
        invoice_id=inv.id,
        reason="We ordered 10, not 12.",
        draft_mail=True,
    )
    assert first["status"] == "disputed" and first["dispute_reason"] == "We ordered 10, not 12."
    assert first["draft_message_id"] == again["draft_message_id"]
    assert len(ctx.mail.search(folder="drafts")) == 1 and ctx.mail.search(folder="sent") == []
    with pytest.raises(ToolError, match="is disputed"):
        preview(ctx, "mark_invoice_paid", invoice_id=inv.id)
    assert "ends the dispute" in preview(ctx, "approve_invoice", invoice_id=inv.id).warnings[0]
    nomail = _seed(ctx, number="X", vendor_email="")
    with pytest.raises(ToolError, match="no vendor e-mail address"):
        preview(ctx, "dispute_invoice", invoice_id=nomail.id, reason="r", draft_mail=True)
    with pytest.raises(ToolError, match="reason is empty"):
        preview(ctx, "dispute_invoice", invoice_id=nomail.id, reason=" ")


# ------------------------------------------------------------------- model


def test_extract_with_model_keeps_only_valid_fields() -> None:
    answer = json.dumps(
        {
            "vendor": "Scan Corp", "number": "SC-9", "issued": "2026-11-01", "due": "soon",
            "currency": "eur", "net": "100.10", "tax": 19.02, "total": "119,12",
            "iban": "DE89 3704 0044 0532 0130 01", "bic": "COBADEFFXXX", "reference": None,
        }
    )  # fmt: skip
    model = ScriptedChatModel([f"```json\n{answer}\n```"])
    got = extract_with_model("INVOICE text", model)
    assert got == {
        "vendor": "Scan Corp",
        "number": "SC-9",
        "issued": date(2026, 11, 1),
        "currency": "EUR",
        "net": Decimal("100.10"),
        "tax": Decimal("19.02"),
        "total": Decimal("119.12"),
        "bic": "COBADEFFXXX",
    }
    assert "untrusted data" in str(model.calls[0][-1].content)
    assert extract_with_model("x", ScriptedChatModel(["I cannot read this, sorry."])) == {}
    assert extract_with_model("x", ScriptedChatModel([RuntimeError("model down")])) == {}


def test_the_model_fills_only_empty_fields_and_the_card_matches_the_action(
    ctx: ToolContext,
) -> None:
    body = "Invoice number: 55\nTotal: 200.00 EUR\nPlease pay within 14 days of receipt.\n"
    mid = deliver(ctx, docs.invoice_mail(sender="Scan Corp <a@scan.example>", body=body))
    reply = json.dumps({"number": "WRONG", "issued": "2026-11-19", "total": "999.00"})
    model = ScriptedChatModel([reply])  # one reply: the action reuses the card's reading
    ctx.workspace.extract_model = model
    card = preview(ctx, "capture_invoice", message_id=mid)
    assert card.details["Invoice number"] == "55 (body, 90%)"
    assert card.details["Issue date"] == "2026-11-19 (model, 50%)"
    assert card.details["Due date"].startswith("2026-12-03 (computed")
    assert "Read by the model, please check: issue date" in card.warnings
    saved = run(ctx, "capture_invoice", "m", message_id=mid)
    assert saved["issued"] == "2026-11-19" and saved["number"] == "55"
    assert saved["total"] == "200.00" and saved["provenance"]["issued"]["source"] == "model"
    assert len(model.calls) == 1


def test_garbage_from_the_model_leaves_fields_unread(ctx: ToolContext) -> None:
    mid = deliver(ctx, docs.invoice_mail(body="Invoice number: 56\nTotal: 10.00 EUR\n"))
    ctx.workspace.extract_model = ScriptedChatModel(["{not json at all"])
    saved = run(ctx, "capture_invoice", "g", message_id=mid)
    assert saved["issued"] is None and "issue date not found" in saved["unreadable"]
    assert all(p["source"] != "model" for p in saved["provenance"].values())


# ---------------------------------------------------------------- the gate

_LEDGER_ROOT: list[LocalInvoices] = []


def _only_invoice_id(messages: Any) -> str:
    [inv] = _LEDGER_ROOT[0].invoices()
    return inv.id


def test_capture_through_the_secretary_then_approve_then_mark_paid(make_secretary: Any) -> None:
    mid = "<inv-0117@acme.example>"
    model = ScriptedChatModel(
        [
            {"tool_calls": [{"name": "capture_invoice", "args": {"message_id": mid}}]},
            "The invoice is ready to be captured once you approve.",
            lambda messages: {
                "tool_calls": [
                    {
                        "name": "mark_invoice_paid",
                        "args": {"invoice_id": _only_invoice_id(messages), "reference": "TX-9"},
                    }
                ]
            },
            "Marked paid once approved.",
        ]
    )
    sec = make_secretary(model)
    ws = sec.workspace(sec.principal("ada"))
    ws.mail.import_eml(
        docs.invoice_mail(attachments=(("INV-2026-0117.pdf", docs.english_invoice()),))
    )
    reply = sec.ask("capture the invoice in Acme's last mail", principal="ada", thread="t1")
    [proposal] = reply.pending
    assert proposal.tool == "capture_invoice"
    card = proposal.preview
    assert card["details"]["Invoice number"].startswith("INV-2026-0117")
    assert card["details"]["Vendor"].startswith("Acme Widgets Ltd (pdf:INV-2026-0117.pdf")
    assert "Not read" not in card["details"]
    assert ws.invoices.invoices() == []

    done = sec.decide(proposal.id, Decision(kind="approve"))
    assert [p.status for p in done.executed] == ["executed"]
    again = make_secretary(model).decide(proposal.id, Decision(kind="approve"))
    assert "already executed" in (again.notice or "")
    [inv] = ws.invoices.invoices()
    _LEDGER_ROOT[:] = [ws.invoices]
    assert inv.total == Decimal("1234.56") and inv.status == "received"

    reply = sec.ask("I paid the Acme invoice today", principal="ada", thread="t2")
    [pay] = reply.pending
    assert ws.invoices.get(inv.id).status == "received"
    sec.decide(pay.id, Decision(kind="approve"))
    paid = ws.invoices.get(inv.id)
    assert paid.status == "paid" and paid.paid_on == NOW.date() and paid.paid_reference == "TX-9"


# ----------------------------------------------------------------------- CLI


def cli(*args: str) -> Any:
    from agent.cli import cli as main

    # A wide terminal, so table cells are not folded across lines.
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env={"COLUMNS": "160"})


def test_cli_lists_with_totals_and_exports_csv(isolated_home: Path, tmp_path: Path) -> None:
    r = cli("init", "--name", "Ada", "--email", "ada@example.com", "--timezone", "Europe/Berlin")
    assert r.exit_code == 0, r.output
    store = LocalInvoices(isolated_home / "principals" / "me")
    now = datetime.now(BERLIN)
    today = now.date()
    common = {"created_at": now, "vendor_email": "b@acme.example"}
    store.add(
        Invoice(
            vendor="Acme",
            number="1",
            currency="EUR",
            total=Decimal("0.10"),
            due=today - timedelta(days=2),
            **common,
        )
    )
    store.add(
        Invoice(
            vendor="Müller GmbH",
            number="2",
            currency="EUR",
            total=Decimal("0.20"),
            net=Decimal("0.17"),
            tax=Decimal("0.03"),
            due=today + timedelta(days=3),
            **common,
        )
    )
    store.add(
        Invoice(
            vendor="Widgets Inc",
            number="3",
            currency="USD",
            total=Decimal("1234.56"),
            due=today + timedelta(days=40),
            **common,
        )
    )
    store.add(
        Invoice(
            vendor="Paid Ltd",
            number="4",
            currency="EUR",
            total=Decimal("5"),
            status="paid",
            paid_on=today,
            **common,
        )
    )
    store.close()  # fmt: skip

    r = cli("invoices")
    assert r.exit_code == 0, r.output
    assert "OVERDUE" in r.stdout and "Müller GmbH" in r.stdout and "Paid Ltd" not in r.stdout
    assert "Total EUR 0.30 (2 invoices)" in r.stdout
    assert "Total USD 1,234.56 (1 invoice)" in r.stdout

    r = cli("invoices", "--due", "--json")
    assert [i["number"] for i in json.loads(r.stdout)] == ["1", "2"]
    r = cli("invoices", "--due", "60", "--json")
    assert [i["number"] for i in json.loads(r.stdout)] == ["1", "2", "3"]
    r = cli("invoices", "--overdue", "--json")
    assert [i["number"] for i in json.loads(r.stdout)] == ["1"]
    r = cli("invoices", "--status", "paid")
    assert "Paid Ltd" in r.stdout

    target = tmp_path / "out.csv"
    r = cli("invoices", "--export", str(target))
    assert r.exit_code == 0, r.output
    with target.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4
    assert sum(Decimal(row["total"]) for row in rows if row["currency"] == "EUR") == Decimal("5.30")
    muller = next(row for row in rows if row["number"] == "2")
    assert muller["vendor"] == "Müller GmbH" and muller["net"] == "0.17"
    assert date.fromisoformat(muller["due"]) == today + timedelta(days=3)
    assert muller["paid_on"] == "" and muller["status"] == "received"

    r = cli("invoices", "--export", "-", "--status", "paid")
    stdout_rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [row["vendor"] for row in stdout_rows] == ["Paid Ltd"]
    assert stdout_rows[0]["paid_on"] == today.isoformat()


def test_cli_without_invoices_and_bad_days(isolated_home: Path) -> None:
    cli("init", "--name", "Ada", "--email", "ada@example.com", "--timezone", "Europe/Berlin")
    r = cli("invoices")
    assert r.exit_code == 0 and "No invoices." in r.output
    r = cli("invoices", "--due", "-3")
    assert r.exit_code != 0 and "Traceback" not in r.output


def test_a_new_iban_for_a_known_vendor_is_warned_on_the_card(ctx: ToolContext) -> None:
    def body(number: str, iban: str) -> str:
        return (
            f"Invoice number: {number}\nInvoice date: 2026-11-20\nDue date: 2026-12-20\n"
            f"Total: 480.00 EUR\nIBAN: {iban}\n"
        )

    first = deliver(ctx, docs.invoice_mail(body=body("A-1", "DE89 3704 0044 0532 0130 00"),
                                           message_id="<a1@acme.example>"))  # fmt: skip
    run(ctx, "capture_invoice", "c1", message_id=first)
    same = deliver(ctx, docs.invoice_mail(body=body("A-2", "DE89 3704 0044 0532 0130 00"),
                                          message_id="<a2@acme.example>"))  # fmt: skip
    same_card = preview(ctx, "capture_invoice", message_id=same)
    assert not any("differs" in w for w in same_card.warnings)
    other = deliver(ctx, docs.invoice_mail(body=body("A-3", "GB29 NWBK 6016 1331 9268 19"),
                                           message_id="<a3@acme.example>"))  # fmt: skip
    card = preview(ctx, "capture_invoice", message_id=other)
    [warning] = [w for w in card.warnings if "differs" in w]
    assert "DE89370400440532013000" in warning and "by phone" in warning
