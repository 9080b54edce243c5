"""Invoice tools: capture invoices from mail or files, and track them until paid.

``capture_invoice`` reads an invoice from a message (its PDF attachments and its
body) or from a file, with the deterministic parser of :mod:`tools.invoice_parse`;
each field on the card shows where it was read and how sure the reading is, and
what could not be read is listed, never guessed. Capturing, approving, marking
paid and disputing are ``write`` tools: each goes through the gate. The ledger
lives in ``Workspace.invoices`` (:mod:`tools.providers.local.invoices`).

Optional model pass: when ``Workspace.extract_model`` holds a chat model, or a
callable returning one or None (absent by default; the runtime may put the principal's
model there), fields the
parser left empty are asked of it (:func:`tools.invoice_parse.extract_with_model`)
and marked with the source ``model``. Its reading is remembered per document
text, so the approved capture stores exactly what the card showed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any, Literal

from tools import outbound
from tools.base import Preview, ToolError, tool
from tools.context import ToolContext
from tools.dates import read_when
from tools.invoice_parse import (
    FIELDS,
    LABELS,
    Found,
    UnreadableDocument,
    combine,
    complete,
    display,
    extract_with_model,
    parse_document,
    pdf_text,
    text_hash,
    validate_fields,
)
from tools.paths import read_allowed
from tools.providers.base import NotFound, OutgoingMessage
from tools.providers.local.invoices import Invoice, LocalInvoices, invoice_id_for
from tools.providers.mime import attachments_of, bare_address, parse_rfc822

if TYPE_CHECKING:
    from pydantic import BaseModel

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_OPEN = ("received", "approved")
_MAX_FILE = 30 * 1024 * 1024


# ------------------------------------------------------------------ helpers


def _ledger(ctx: ToolContext) -> LocalInvoices:
    store: LocalInvoices | None = ctx.workspace.invoices
    if store is None:
        raise ToolError("The invoice ledger is not open for this principal; ask an administrator.")
    return store


def _day(d: date | None) -> str:
    return f"{_DAYS[d.weekday()]} {d:%d %b %Y}" if d else "no date"


def money(amount: Decimal | None, currency: str | None) -> str:
    """``EUR 1,234.56``: the exact Decimal with thousands separators (no rounding)."""
    if amount is None:
        return "amount unknown"
    return f"{currency or '???'} {amount:,}"


def _get_invoice(ctx: ToolContext, invoice_id: str) -> Invoice:
    try:
        return _ledger(ctx).get(invoice_id.strip())
    except NotFound:
        raise ToolError(
            f"No invoice with id '{invoice_id}'. Use list_invoices to find the right id."
        ) from None


def _label(inv: Invoice) -> str:
    number = f" {inv.number}" if inv.number else ""
    return f"invoice{number} from {inv.vendor or 'an unknown vendor'} ({inv.id})"


def _invoice_dict(ctx: ToolContext, inv: Invoice) -> dict[str, Any]:
    data = inv.model_dump(mode="json")
    today = ctx.now().date()
    data["days"] = None if inv.due is None else (inv.due - today).days
    data["overdue"] = inv.status in _OPEN and inv.due is not None and inv.due < today
    data["amount"] = money(inv.total, inv.currency)
    return data


# ------------------------------------------------------------------ capture


@dataclass
class _Source:
    """Where an invoice is read from: a sender, a body text and PDF files."""

    sender: str = ""
    message_id: str = ""
    body: str = ""
    body_source: str = "body"
    pdfs: list[tuple[str, bytes]] = field(default_factory=list)
    label: str = ""
    allowed_by: str = ""
    """Why a file given by path may be read (shown on the card)."""


@dataclass
class _Capture:
    invoice: Invoice
    fields: dict[str, Found | None]
    unreadable: list[str]
    warnings: list[str]
    similar: list[Invoice]
    read: list[str]
    allowed_by: str = ""


def _is_pdf(name: str, content_type: str, data: bytes) -> bool:
    return (
        name.lower().endswith(".pdf") or content_type == "application/pdf" or data[:5] == b"%PDF-"
    )


def _from_raw(ctx: ToolContext, raw: bytes, folder: str = "inbox") -> _Source:
    message = parse_rfc822(raw, folder, ctx.principal.tz)
    pdfs = [
        (a.filename, a.data)
        for a in attachments_of(raw)
        if _is_pdf(a.filename, a.content_type, a.data)
    ]
    return _Source(
        sender=message.sender,
        message_id=message.message_id,
        body=message.body,
        pdfs=pdfs,
        label=f"mail '{message.subject}' from {message.sender}",
    )


def _from_message(ctx: ToolContext, message_id: str) -> _Source:
    try:
        message = ctx.mail.get_message(message_id.strip())
    except NotFound:
        raise ToolError(
            f"No message with id '{message_id}'. Search the mailbox to find the invoice mail."
        ) from None
    get_raw = getattr(ctx.mail, "get_raw", None)
    if callable(get_raw):
        source = _from_raw(ctx, get_raw(message.message_id), message.folder)
        source.message_id = message.message_id
        return source
    return _Source(
        sender=message.sender,
        message_id=message.message_id,
        body=message.body,
        label=f"mail '{message.subject}' from {message.sender}",
    )


def _from_file(ctx: ToolContext, path: str) -> _Source:
    # Confined before anything is opened: never the secretary's own files or another
    # principal's, only what this principal allows (tools.paths).
    allowed, data = read_allowed(ctx, path, limit=_MAX_FILE)
    file = allowed.path
    suffix = file.suffix.lower()
    if suffix == ".eml":
        source = _from_raw(ctx, data)
        source.label = f"file {file.name} ({source.label})"
    elif suffix == ".pdf" or data[:5] == b"%PDF-":
        source = _Source(pdfs=[(file.name, data)], label=f"file {file.name}")
    elif suffix in (".txt", ".text", ".md"):
        source = _Source(
            body=data.decode("utf-8", "replace"),
            body_source=f"file:{file.name}",
            label=f"file {file.name}",
        )
    else:
        raise ToolError(f"path: '{file.name}' is not a PDF, .eml or text file; save it as one.")
    source.allowed_by = allowed.allowed_by
    return source


def _vendor_from_sender(ctx: ToolContext, sender: str) -> tuple[Found | None, Found | None]:
    """The vendor as the address book names the sender, and the sender's own display name."""
    if not sender:
        return None, None
    name, addr = parseaddr(sender)
    contact = ctx.contacts.by_email(bare_address(addr)) if addr else None
    known = None
    if contact is not None:
        known = Found(contact.organisation or contact.name, "contact", 0.95, contact.name)
    shown = name.strip() or (addr.split("@", 1)[1] if "@" in addr else "")
    return known, Found(shown, "sender", 0.5, sender) if shown else None


def _model_fields(ctx: ToolContext, text: str, missing: list[str]) -> dict[str, Any]:
    """The model's reading of ``text`` (asked once per text), limited to ``missing`` fields."""
    model = ctx.workspace.extract_model
    if model is not None and not hasattr(model, "invoke") and callable(model):
        model = model()  # a lazy hook: the runtime's model() method, built on first use
    if model is None or not missing or not text.strip():
        return {}
    store = _ledger(ctx)
    key = text_hash(text)
    remembered = store.model_reading(key)
    if remembered is None:
        found = extract_with_model(text, model)
        remembered = {name: display(value) for name, value in found.items()}
        store.remember_model_reading(key, remembered)
    valid = validate_fields(remembered)
    return {name: valid[name] for name in missing if name in valid}


def _planned_capture(ctx: ToolContext, message_id: str, path: str, notes: str) -> _Capture:
    """Read the invoice the capture would store, with what could not be read."""
    if bool(message_id.strip()) == bool(path.strip()):
        raise ToolError("Give either message_id (an invoice mail) or path (a PDF or .eml file).")
    source = _from_message(ctx, message_id) if message_id.strip() else _from_file(ctx, path)
    parts: list[dict[str, Found]] = []
    texts: list[str] = []
    problems: list[str] = []
    read: list[str] = []
    for name, data in source.pdfs:
        try:
            text = pdf_text(data, name)
        except UnreadableDocument as exc:
            problems.append(str(exc))
            continue
        parts.append(parse_document(text, f"pdf:{name}", header_vendor=True))
        texts.append(text)
        read.append(name)
    if source.body.strip():
        parts.append(parse_document(source.body, source.body_source))
        texts.append(source.body)
        read.append("mail body" if source.body_source == "body" else source.body_source[5:])
    known, shown = _vendor_from_sender(ctx, source.sender)
    got = combine(parts, known)
    if "vendor" not in got and shown is not None:
        got["vendor"] = shown
    fields, _, _ = complete(got)
    missing = [name for name in FIELDS if fields[name] is None]
    for name, answer in _model_fields(ctx, "\n\n".join(texts), missing).items():
        got[name] = Found(answer, "model", 0.5)
    fields, unreadable, warnings = complete(got)
    if fields["number"] is None and fields["total"] is None:
        raise ToolError(
            f"Neither an invoice number nor an amount could be read from the "
            f"{source.label or 'input'}{': ' + '; '.join(problems) if problems else ''}. "
            "Check that it is an invoice, or ask the vendor for a PDF with text."
        )

    def value(name: str) -> Any:
        found = fields[name]
        return None if found is None else found.value

    sender_email = bare_address(parseaddr(source.sender)[1]) if source.sender else ""
    invoice = Invoice(
        vendor=value("vendor"),
        vendor_email=sender_email,
        number=value("number"),
        issued=value("issued"),
        due=value("due"),
        due_computed=fields["due"] is not None and fields["due"].source == "computed",
        currency=value("currency"),
        net=value("net"),
        tax=value("tax"),
        total=value("total"),
        iban=value("iban"),
        bic=value("bic"),
        reference=value("reference"),
        source_message_id=source.message_id,
        file_name=", ".join(name for name, _ in source.pdfs),
        notes=notes.strip(),
        provenance={name: f.to_dict() for name, f in fields.items() if f is not None},
        unreadable=[*problems, *unreadable],
        created_at=ctx.reference_now(),
    )
    exact, similar = _ledger(ctx).duplicates(invoice)
    if exact is not None:
        raise ToolError(
            f"This invoice is already in the ledger as {exact.id} ({exact.vendor}, no. "
            f"{exact.number}, {exact.status}); nothing was captured."
        )
    return _Capture(invoice, fields, invoice.unreadable, warnings, similar, read, source.allowed_by)


def _shown(found: Found) -> str:
    how = found.source if not found.note else f"{found.source}: {found.note}"
    if found.source in ("contact", "sender"):
        how = found.source
    return f"{display(found.value)} ({how}, {round(found.confidence * 100)}%)"


def _changed_bank_details(ctx: ToolContext, inv: Invoice) -> list[str]:
    """A warning when the vendor's earlier invoices named another IBAN (a common fraud)."""
    if not inv.iban or not inv.vendor:
        return []
    vendor = inv.vendor.casefold()
    before = {
        o.iban.replace(" ", "").upper()
        for o in _ledger(ctx).invoices(None)
        if o.iban and o.vendor and o.vendor.casefold() == vendor
    }
    mine = inv.iban.replace(" ", "").upper()
    if not before or mine in before:
        return []
    return [
        f"The IBAN {inv.iban} differs from the one on {inv.vendor}'s earlier invoices "
        f"({', '.join(sorted(before))}); confirm the change with the vendor by phone before paying"
    ]


def _preview_capture(ctx: ToolContext, args: BaseModel) -> Preview:
    plan = _planned_capture(ctx, **args.model_dump())
    inv = plan.invoice
    details = {"Read from": ", ".join(plan.read) or "nothing readable"}
    if plan.allowed_by:
        details["Path allowed"] = plan.allowed_by
    for name in FIELDS:
        found = plan.fields[name]
        if found is not None:
            details[LABELS[name][0].upper() + LABELS[name][1:]] = _shown(found)
    if plan.unreadable:
        details["Not read"] = "; ".join(plan.unreadable)
    warnings = [u for u in plan.unreadable if ": no text could be read" in u]
    warnings += [
        f"possible duplicate of {o.id} ({o.vendor or 'no vendor'}, no. {o.number or '-'}, "
        f"{money(o.total, o.currency)}, issued {display(o.issued) or '-'})"
        for o in plan.similar
    ]
    warnings += plan.warnings
    warnings += _changed_bank_details(ctx, inv)
    by_model = [LABELS[n] for n in FIELDS if (f := plan.fields[n]) and f.source == "model"]
    if by_model:
        warnings.append(f"Read by the model, please check: {', '.join(by_model)}")
    if inv.due_computed:
        warnings.append("The due date is computed from the payment terms")
    due = f", due {_day(inv.due)}" if inv.due else ""
    return Preview(
        summary=f"Capture invoice {inv.number or '(no number)'} from "
        f"{inv.vendor or 'an unknown vendor'}: {money(inv.total, inv.currency)}{due}",
        details=details,
        body=inv.notes or None,
        warnings=warnings,
    )


@tool(effect="write", duty="invoices", preview=_preview_capture, title="Capture invoice")
def capture_invoice(
    ctx: ToolContext, message_id: str = "", path: str = "", notes: str = ""
) -> dict[str, Any]:
    """Add an invoice to the ledger, read from a mail (its PDF attachments and text) or a file.

    The card lists every field with where it was read, and the fields that could not be
    read. An invoice already in the ledger (same vendor and number) is refused.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        message_id: The message_id of the invoice e-mail.
        path: Instead of a mail: the full path of a PDF, .eml or text file.
        notes: Anything worth keeping with the invoice ("cost centre 4711").
    """
    store = _ledger(ctx)
    if ctx.idempotency_key:
        done = store.find(invoice_id_for(ctx.idempotency_key))
        if done is not None:  # a retried action: the invoice is already captured
            return _invoice_dict(ctx, done)
    plan = _planned_capture(ctx, message_id, path, notes)
    saved = store.add(plan.invoice, ctx.idempotency_key)
    out = _invoice_dict(ctx, saved)
    out["warnings"] = plan.warnings + [f"possible duplicate of {o.id}" for o in plan.similar]
    return out


# -------------------------------------------------------------------- lists


@tool(effect="read", duty="invoices", trust="untrusted", title="List invoices")
def list_invoices(
    ctx: ToolContext,
    status: Literal["open", "received", "approved", "paid", "disputed", "all"] = "open",
    due_within_days: int | None = None,
    overdue_only: bool = False,
    vendor: str = "",
) -> list[dict[str, Any]]:
    """List invoices in the ledger by due date, each marked overdue when unpaid past its due day.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        status: ``open`` (received or approved, not yet paid), ``received``, ``approved``,
            ``paid``, ``disputed`` or ``all``.
        due_within_days: Only invoices due within this many days from today (overdue included).
        overdue_only: Only unpaid invoices whose due day has passed.
        vendor: Only invoices whose vendor contains these words.
    """
    if due_within_days is not None and due_within_days < 0:
        raise ToolError("due_within_days must be 0 or more (e.g. 7 for the coming week).")
    found = _ledger(ctx).invoices(None if status in ("open", "all") else status)
    if status == "open":
        found = [i for i in found if i.status in _OPEN]
    if vendor.strip():
        found = [i for i in found if vendor.strip().casefold() in (i.vendor or "").casefold()]
    today = ctx.now().date()
    if due_within_days is not None:
        limit = today + timedelta(days=due_within_days)
        found = [i for i in found if i.due is not None and i.due <= limit]
    out = [_invoice_dict(ctx, i) for i in found]
    return [i for i in out if i["overdue"]] if overdue_only else out


@tool(effect="read", duty="invoices", trust="untrusted", title="Invoices due")
def invoices_due(ctx: ToolContext, within_days: int = 7) -> list[dict[str, Any]]:
    """Unpaid invoices due within the coming days, overdue ones included, earliest first.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        within_days: How many days ahead to look (7 = the coming week).
    """
    today = ctx.now().date()
    limit = today + timedelta(days=max(within_days, 0))
    out = []
    for inv in _ledger(ctx).invoices():
        if inv.status not in _OPEN or inv.due is None or inv.due > limit:
            continue
        out.append(
            {
                "id": inv.id,
                "vendor": inv.vendor or "",
                "number": inv.number or "",
                "total": "" if inv.total is None else str(inv.total),
                "currency": inv.currency or "",
                "due": inv.due.isoformat(),
                "overdue": inv.due < today,
                "days": (inv.due - today).days,
                "status": inv.status,
            }
        )
    return out


# ------------------------------------------------------------ status changes


def _summary_details(inv: Invoice) -> dict[str, str]:
    return {
        "Vendor": inv.vendor or "(unknown)",
        "Number": inv.number or "(none)",
        "Amount": money(inv.total, inv.currency),
        "Due": _day(inv.due) + (" (computed from payment terms)" if inv.due_computed else ""),
        "Status": inv.status,
    }


def _planned_approval(ctx: ToolContext, invoice_id: str, note: str) -> tuple[Invoice, list[str]]:
    inv = _get_invoice(ctx, invoice_id)
    if inv.status == "paid":
        raise ToolError(f"The {_label(inv)} is already paid (on {display(inv.paid_on)}).")
    warnings = []
    if inv.status == "approved":
        warnings.append("Already approved; nothing changes")
    if inv.status == "disputed":
        warnings.append(f"It is disputed ({inv.dispute_reason}); approving ends the dispute")
    if inv.unreadable:
        warnings.append("Not read at capture: " + "; ".join(inv.unreadable))
    return inv, warnings


def _preview_approve(ctx: ToolContext, args: BaseModel) -> Preview:
    values = args.model_dump()
    inv, warnings = _planned_approval(ctx, **values)
    details = _summary_details(inv)
    if inv.iban:
        details["Pay to"] = f"IBAN {inv.iban}" + (f", BIC {inv.bic}" if inv.bic else "")
    if inv.reference:
        details["Reference"] = inv.reference
    return Preview(
        summary=f"Approve the {_label(inv)} for payment: {money(inv.total, inv.currency)}",
        details=details,
        body=values["note"] or None,
        warnings=warnings,
    )


@tool(effect="write", duty="invoices", preview=_preview_approve, title="Approve invoice")
def approve_invoice(ctx: ToolContext, invoice_id: str, note: str = "") -> dict[str, Any]:
    """Approve an invoice for payment (it does not pay it; mark_invoice_paid records payment).

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        invoice_id: The invoice's id (INV-...), as shown by list_invoices.
        note: Why or on what condition it is approved; kept in its history.
    """
    inv, _ = _planned_approval(ctx, invoice_id, note)
    saved = _ledger(ctx).set_status(inv.id, "approved", ctx.now(), note.strip())
    return _invoice_dict(ctx, saved)


def _planned_payment(
    ctx: ToolContext, invoice_id: str, paid_on: str, reference: str
) -> tuple[Invoice, date, list[str]]:
    inv = _get_invoice(ctx, invoice_id)
    if inv.status == "disputed":
        raise ToolError(
            f"The {_label(inv)} is disputed ({inv.dispute_reason}); approve it first if it is to "
            "be paid."
        )
    try:
        reading = read_when(paid_on or "today", ctx.principal.tz, ctx.reference_now())
    except ValueError as exc:
        raise ToolError(f"paid_on: {exc}") from None
    day = reading.start.astimezone(ctx.principal.tz).date()
    if day > ctx.reference_now().date():
        raise ToolError(f"paid_on: {_day(day)} is in the future. Give the day it was paid.")
    warnings = []
    if inv.status == "paid":
        warnings.append(f"Already marked paid on {display(inv.paid_on)}; nothing changes")
    elif inv.status != "approved":
        warnings.append("Not approved before; it is marked paid directly")
    return inv, day, warnings


def _preview_paid(ctx: ToolContext, args: BaseModel) -> Preview:
    values = args.model_dump()
    inv, day, warnings = _planned_payment(ctx, **values)
    details = {**_summary_details(inv), "Paid on": _day(day)}
    if values["reference"]:
        details["Payment reference"] = values["reference"]
    return Preview(
        summary=f"Mark the {_label(inv)} paid on {_day(day)}: {money(inv.total, inv.currency)}",
        details=details,
        warnings=warnings,
    )


@tool(effect="write", duty="invoices", preview=_preview_paid, title="Mark invoice paid")
def mark_invoice_paid(
    ctx: ToolContext, invoice_id: str, paid_on: str = "today", reference: str = ""
) -> dict[str, Any]:
    """Record that an invoice has been paid.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        invoice_id: The invoice's id (INV-...), as shown by list_invoices.
        paid_on: The day it was paid: ISO date (2026-11-23) or a phrase ("today", "yesterday").
        reference: The bank transfer's reference or transaction id.
    """
    inv, day, _ = _planned_payment(ctx, invoice_id, paid_on, reference)
    saved = _ledger(ctx).set_status(
        inv.id,
        "paid",
        ctx.now(),
        reference.strip(),
        paid_on=day,
        paid_reference=reference.strip(),
    )
    return _invoice_dict(ctx, saved)


def _planned_dispute(
    ctx: ToolContext, invoice_id: str, reason: str, draft_mail: bool, message: str
) -> tuple[Invoice, OutgoingMessage | None, list[str]]:
    inv = _get_invoice(ctx, invoice_id)
    if not reason.strip():
        raise ToolError("reason is empty. Say what is wrong with the invoice.")
    if inv.status == "paid":
        raise ToolError(
            f"The {_label(inv)} is already paid; write to the vendor to ask for a refund instead."
        )
    warnings = []
    if inv.status == "disputed":
        warnings.append(f"Already disputed ({inv.dispute_reason}); nothing changes")
    mail = None
    if draft_mail:
        if not inv.vendor_email:
            raise ToolError(
                f"The {_label(inv)} has no vendor e-mail address; dispute it without draft_mail "
                "and write with send_email."
            )
        number = f" {inv.number}" if inv.number else ""
        text = message.strip() or (
            f"Hello,\n\nwe have received your invoice{number}"
            f"{' dated ' + _day(inv.issued) if inv.issued else ''} over "
            f"{money(inv.total, inv.currency)}, and we cannot pay it as it stands:\n\n"
            f"{reason.strip()}\n\nPlease send a corrected invoice or get in touch."
        )
        mail = OutgoingMessage(
            to=[inv.vendor_email],
            subject=f"Your invoice{number}",
            body=outbound.signed(ctx, text),
            in_reply_to=inv.source_message_id,
            references=[inv.source_message_id] if inv.source_message_id else [],
        )
    return inv, mail, warnings


def _preview_dispute(ctx: ToolContext, args: BaseModel) -> Preview:
    values = args.model_dump()
    inv, mail, warnings = _planned_dispute(ctx, **values)
    details = {**_summary_details(inv), "Reason": values["reason"].strip()}
    if mail is not None:
        details["Draft to"] = mail.to[0]
        details["Subject"] = mail.subject
    return Preview(
        summary=f"Dispute the {_label(inv)}"
        + (" and save a draft to the vendor" if mail is not None else ""),
        details=details,
        body=None if mail is None else mail.body,
        warnings=warnings,
    )


@tool(effect="write", duty="invoices", preview=_preview_dispute, title="Dispute invoice")
def dispute_invoice(
    ctx: ToolContext,
    invoice_id: str,
    reason: str,
    draft_mail: bool = False,
    message: str = "",
) -> dict[str, Any]:
    """Mark an invoice disputed (not to be paid), optionally with a draft e-mail to the vendor.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        invoice_id: The invoice's id (INV-...), as shown by list_invoices.
        reason: What is wrong ("charged 12 licences, we have 10").
        draft_mail: Also save a draft e-mail to the vendor in the drafts folder.
        message: The draft's text (default: a short note stating the reason).
    """
    inv, mail, _ = _planned_dispute(ctx, invoice_id, reason, draft_mail, message)
    out: dict[str, Any] = {}
    if mail is not None:
        out["draft_message_id"] = outbound.save_draft(ctx, mail, "draft").message_id
    saved = _ledger(ctx).set_status(
        inv.id, "disputed", ctx.now(), reason.strip(), dispute_reason=reason.strip()
    )
    return {**_invoice_dict(ctx, saved), **out}
