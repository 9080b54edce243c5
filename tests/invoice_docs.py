"""Realistic invoice documents for tests: PDFs drawn with fpdf2 and invoice e-mails.

Two layouts on purpose: an English invoice with the figures in tables, and a
German one with right-aligned labels, "1.234,56 €" amounts and payment terms.
Also the awkward cases a mailbox really holds: an encrypted PDF, a corrupt one
and a scanned (image-only) one.
"""

from __future__ import annotations

import io
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from fpdf import FPDF

_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")

# Valid test IBANs (published examples; their checksums hold).
IBAN_DE = "DE89 3704 0044 0532 0130 00"
IBAN_GB = "GB29 NWBK 6016 1331 9268 19"


def _pdf() -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    regular = _FONT_DIR / "DejaVuSans.ttf"
    if regular.exists():
        pdf.add_font("DejaVu", "", str(regular))
        pdf.add_font("DejaVu", "B", str(_FONT_DIR / "DejaVuSans-Bold.ttf"))
        pdf.set_font("DejaVu", size=10)
    else:  # core font: no euro sign, so amounts say EUR
        pdf.set_font("Helvetica", size=10)
    return pdf


def _euro(pdf: FPDF) -> str:
    return "€" if pdf.font_family == "dejavu" else "EUR"


def english_invoice(
    *,
    vendor: str = "Acme Widgets Ltd",
    number: str = "INV-2026-0117",
    issued: str = "November 20, 2026",
    due: str = "December 20, 2026",
    items: tuple[tuple[str, str, str], ...] = (
        ("Widget, blue", "10", "$100.00"),
        ("Installation", "1", "$134.56"),
    ),
    subtotal: str = "$1,134.56",
    tax: str = "$100.00",
    total: str = "$1,234.56",
    iban: str = IBAN_GB,
    bic: str = "NWBKGB2L",
    reference: str = "INV-2026-0117",
) -> bytes:
    """An English invoice laid out in tables: header facts, line items, totals."""
    pdf = _pdf()
    pdf.set_font(size=16)
    pdf.cell(0, 10, vendor, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(size=9)
    pdf.cell(0, 5, "12 Market Street, London EC1A 1BB", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font(size=14)
    pdf.cell(0, 8, "INVOICE", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(size=10)
    with pdf.table(col_widths=(45, 60), width=105, align="LEFT", first_row_as_headings=False) as t:
        for label, value in (
            ("Invoice Number:", number),
            ("Invoice Date:", issued),
            ("Due Date:", due),
            ("Bill To:", "Ada Lovelace"),
        ):
            row = t.row()
            row.cell(label)
            row.cell(value)
    pdf.ln(6)
    with pdf.table(col_widths=(90, 30, 50), text_align=("LEFT", "RIGHT", "RIGHT")) as t:
        head = t.row()
        for title in ("Description", "Qty", "Amount"):
            head.cell(title)
        for desc, qty, amount in items:
            row = t.row()
            row.cell(desc)
            row.cell(qty)
            row.cell(amount)
    pdf.ln(4)
    with pdf.table(
        col_widths=(40, 40),
        width=80,
        align="RIGHT",
        first_row_as_headings=False,
        text_align=("LEFT", "RIGHT"),
    ) as t:
        for label, value in (
            ("Subtotal", subtotal),
            ("Sales Tax (10%)", tax),
            ("Total Due", total),
        ):
            row = t.row()
            row.cell(label)
            row.cell(value)
    pdf.ln(6)
    if iban:
        pdf.multi_cell(
            0,
            5,
            f"Please pay by bank transfer.\nIBAN: {iban}\nBIC: {bic}\nReference: {reference}",
        )
    return bytes(pdf.output())


def german_invoice(
    *,
    vendor: str = "Müller Bürobedarf GmbH",
    number: str = "RE-2026-0042",
    issued: str = "18.11.2026",
    due: str | None = "02.12.2026",
    terms: str = "",
    net: str = "1.037,45",
    tax: str = "197,11",
    total: str = "1.234,56",
    iban: str = IBAN_DE,
    bic: str = "COBADEFFXXX",
) -> bytes:
    """A German invoice: right-aligned labels, comma decimals and a euro sign after the amount."""
    pdf = _pdf()
    eur = _euro(pdf)
    pdf.set_font(style="B", size=15)
    pdf.cell(0, 9, vendor, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(style="", size=9)
    pdf.cell(0, 5, "Hauptstraße 5, 10115 Berlin", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    pdf.set_font(size=10)
    pdf.cell(0, 5, "Frau Ada Lovelace", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font(style="B", size=14)
    pdf.cell(0, 8, "Rechnung", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(style="", size=10)
    facts = [("Rechnungsnummer:", number), ("Rechnungsdatum:", issued)]
    if due:
        facts.append(("Fällig am:", due))
    for label, value in facts:
        pdf.cell(140, 6, label, align="R")
        pdf.cell(0, 6, value, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.cell(0, 6, "Pos. 1  Druckerpapier A4, 20 Kartons", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    for label, value in (
        ("Nettobetrag:", f"{net} {eur}"),
        ("zzgl. 19 % MwSt.:", f"{tax} {eur}"),
        ("Gesamtbetrag:", f"{total} {eur}"),
    ):
        pdf.cell(140, 6, label, align="R")
        pdf.cell(0, 6, value, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    if terms:
        pdf.cell(0, 6, terms, new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(
        0,
        5,
        f"Bankverbindung: Commerzbank\nIBAN: {iban}\nBIC: {bic}\nVerwendungszweck: {number}",
    )
    return bytes(pdf.output())


def encrypted_invoice() -> bytes:
    """An invoice that opens only with a password."""
    pdf = _pdf()
    pdf.cell(0, 10, "Invoice Number: SECRET-1", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 10, "Total: EUR 99.00", new_x="LMARGIN", new_y="NEXT")
    pdf.set_encryption(owner_password="owner-secret", user_password="user-secret")
    return bytes(pdf.output())


def corrupt_invoice() -> bytes:
    """Bytes that start like a PDF and then break off."""
    return english_invoice()[:400] + b"\x00garbage\x00" * 20


def scanned_invoice() -> bytes:
    """A PDF holding only a picture of an invoice: no text to extract."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (600, 300), "white")
    ImageDraw.Draw(image).text((20, 20), "INVOICE 7 - Total 500.00 EUR", fill="black")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    pdf = FPDF()
    pdf.add_page()
    pdf.image(io.BytesIO(buffer.getvalue()), x=10, y=10, w=180)
    return bytes(pdf.output())


def invoice_mail(
    *,
    sender: str = "Acme Billing <billing@acme.example>",
    to: str = "ada@example.com",
    subject: str = "Invoice INV-2026-0117",
    body: str = "Hello Ada,\n\nplease find our invoice attached.\n\nKind regards,\nAcme Billing",
    attachments: tuple[tuple[str, bytes], ...] = (),
    message_id: str = "<inv-0117@acme.example>",
    date: datetime | None = None,
) -> bytes:
    """An invoice e-mail (RFC 5322 bytes), with PDF attachments if given."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    msg["Date"] = format_datetime(date or datetime.fromisoformat("2026-11-20T10:00:00+01:00"))
    msg.set_content(body)
    for name, data in attachments:
        msg.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return bytes(msg)


BODY_INVOICE = """Dear Ada,

this is your invoice for November.

Invoice no.: 2026-118
Invoice date: 21 November 2026
Amount due: EUR 480.00 (net 400.00, VAT 80.00)
Payment terms: net 30

Bank details
IBAN: DE89 3704 0044 0532 0130 00
BIC: COBADEFFXXX
Reference: 2026-118

Thanks,
Lena Graf
Graf Design Studio
"""
