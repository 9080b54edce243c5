"""Filing tools: documents kept in the principal's folder scheme, with metadata, and found again.

Every document lands at ``<principal directory>/files/<type>/<counterparty>/<year>/<name>``.
The type is one of a fixed list (contract, invoice, receipt, correspondence,
report, legal, medical, travel, hr, tax, other) plus the filing categories of
the principal's industry pack, if any; the counterparty folder is a slug of the
organisation or person; the year comes from the document's date.

``file_document`` and ``refile_document`` are ``write`` tools: the approval
card shows the exact destination path, the metadata and any warnings (the same
bytes already filed, a PDF whose text cannot be read). Filing never loses an
original: a file from a path is copied, a mail attachment stays in the mailbox,
and there is no tool that deletes a filed document. The text of each document
(PDF, text files, notes, .eml bodies) is kept with its record and added to the
principal's memory, so ``find_documents`` finds it by words and by meaning as
well as by type, counterparty, year, month and tags.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.base import Preview, ToolError, tool
from tools.context import ToolContext
from tools.dates import read_when
from tools.paths import read_allowed
from tools.providers.base import NotFound
from tools.providers.local.filing import (
    FiledDocument,
    HistoryEntry,
    LocalFiling,
    document_id_for,
)
from tools.providers.mime import attachments_of, bare_address, parse_rfc822

if TYPE_CHECKING:
    from pydantic import BaseModel

    from tools.foundation.principals import Principal

log = logging.getLogger(__name__)

BASE_TYPES: tuple[str, ...] = (
    "contract",
    "invoice",
    "receipt",
    "correspondence",
    "report",
    "legal",
    "medical",
    "travel",
    "hr",
    "tax",
    "other",
)
"""Document types every principal can file under."""

MAX_TEXT = 200_000
"""Characters of a document's text kept and indexed."""

_MONTHS = (
    "january february march april may june july august september october november december"
).split()
_STOPWORDS = set(
    "the a an of from for in on at to and or by with my our me find show document documents"
    " file files filed please".split()
)
_TEXT_SUFFIXES = {".txt", ".md", ".csv", ".tsv", ".json", ".xml", ".log", ".ics", ".vcf"}
_FREEMAIL = {
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "yahoo.com",
    "icloud.com", "me.com", "gmx.de", "gmx.net", "web.de", "proton.me", "protonmail.com",
    "aol.com", "mail.com",
}  # fmt: skip
_SECOND_LEVEL = {"co", "com", "org", "net", "ac", "gov", "edu"}


# ------------------------------------------------------------------ names


def slug(text: str) -> str:
    """A folder name for a counterparty or type: lowercase words joined by '-', unicode kept.

    ``"Müller & Söhne GmbH"`` -> ``"müller-söhne-gmbh"``; empty when nothing is left.
    """
    norm = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\W_]+", "-", norm).strip("-")[:60].strip("-")


def safe_name(name: str, fallback: str = "document") -> str:
    """A file name that stays in its folder: no separators, no '..', no control characters.

    Path parts are joined with '-' (``"../../etc/passwd"`` -> ``"etc-passwd"``);
    letters of any script are kept.
    """
    text = unicodedata.normalize("NFC", name)
    text = "".join(" " if unicodedata.category(c).startswith("C") else c for c in text)
    parts = [p.strip() for p in re.split(r"[/\\]+", text)]
    text = "-".join(p for p in parts if p and p not in (".", ".."))
    text = re.sub(r'[<>:"|?*]', "-", text)
    text = " ".join(text.split()).lstrip(".- ").rstrip(". ")
    if not text:
        text = fallback
    if len(text.encode()) > 180:
        stem, dot, ext = text.rpartition(".")
        if not dot or len(ext) > 10:
            stem, ext = text, ""
        while len(stem.encode()) > 170:
            stem = stem[:-1]
        text = f"{stem.rstrip()}.{ext}" if ext else stem.rstrip()
    return text


def _numbered(name: str, n: int) -> str:
    """``report.pdf`` -> ``report (2).pdf``."""
    p = Path(name)
    return f"{p.stem} ({n}){p.suffix}" if p.stem else f"{name} ({n})"


# ------------------------------------------------------------------ types


def pack_categories(pack: str | None) -> list[str]:
    """The filing categories an industry pack lists ("File paperwork under: ..."), as slugs."""
    if not pack:
        return []
    import prompts

    try:
        text = prompts.load(f"domains/{pack}")
    except (FileNotFoundError, OSError):
        return []
    m = re.search(r"file paperwork under:(.*?)(?=\n\s*-\s|\Z)", text, re.I | re.S)
    if not m:
        return []
    listed = re.sub(r"\([^)]*\)", "", " ".join(m.group(1).split())).rstrip(". ")
    return [s for s in (slug(part) for part in listed.split(",")) if s]


def filing_types(principal: Principal) -> list[str]:
    """The types this principal files under: the fixed list plus the industry pack's."""
    out = list(BASE_TYPES)
    for extra in pack_categories(principal.domain_pack):
        if extra not in out:
            out.append(extra)
    return out


def _type(ctx: ToolContext, value: str) -> str:
    known = filing_types(ctx.principal)
    wanted = slug(value)
    if wanted in known:
        return wanted
    if wanted.endswith("s") and wanted[:-1] in known:
        return wanted[:-1]
    shown = f"'{value}' is not" if value.strip() else "No type given; it must be"
    raise ToolError(f"{shown} a filing type. Use one of: {', '.join(known)}.")


# ------------------------------------------------------------------ helpers


def _filing(ctx: ToolContext) -> LocalFiling:
    store: LocalFiling | None = ctx.workspace.filing
    if store is None:
        raise ToolError("The filing records are not open for this principal; ask an administrator.")
    return store


def _read_date(ctx: ToolContext, text: str, name: str) -> date:
    raw = text.strip()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        pass
    try:
        reading = read_when(raw, ctx.principal.tz, ctx.reference_now())
    except ValueError as exc:
        raise ToolError(f"{name}: {exc}") from None
    return reading.start.astimezone(ctx.principal.tz).date()


def _tags(tags: list[str]) -> list[str]:
    out: list[str] = []
    for t in tags:
        tag = " ".join(t.split()).lower()
        if tag and tag not in out:
            out.append(tag)
    return out


def _counterparty_of_sender(sender: str) -> str:
    """The organisation a sender writes for (the mail domain), or the person at a freemail."""
    from email.utils import parseaddr

    name, addr = parseaddr(sender)
    domain = addr.rpartition("@")[2].lower()
    if not domain or domain in _FREEMAIL:
        return name.strip() or addr.partition("@")[0]
    labels = domain.split(".")
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL:
        return labels[-3]
    return labels[-2] if len(labels) >= 2 else labels[0]


def extract_text(data: bytes, filename: str, content_type: str) -> tuple[str, str]:
    """The text of a document and how reading went: ``read``, ``unreadable`` or ``none``.

    PDFs are read with pypdf (a PDF without a text layer, or a broken one, is
    ``unreadable``); text files and .eml messages are decoded; other formats
    (images, office files) carry no text here (``none``).
    """
    suffix = Path(filename).suffix.lower()
    if suffix == ".pdf" or content_type == "application/pdf":
        return _pdf_text(data)
    if suffix == ".eml" or content_type == "message/rfc822":
        try:
            msg = parse_rfc822(data, "inbox")
        except ValueError:
            return "", "unreadable"
        text = f"{msg.subject}\nFrom: {msg.sender}\n\n{msg.body}".strip()
        return text[:MAX_TEXT], "read"
    if suffix in _TEXT_SUFFIXES or content_type.startswith("text/"):
        text = data.decode("utf-8", errors="replace").strip()
        return text[:MAX_TEXT], "read" if text else "none"
    return "", "none"


def _pdf_text(data: bytes) -> tuple[str, str]:
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except Exception:  # noqa: BLE001 - a broken PDF fails in many ways; it is still filed
        return "", "unreadable"
    text = "\n".join(p.strip() for p in pages if p.strip())
    return (text[:MAX_TEXT], "read") if text else ("", "unreadable")


# ------------------------------------------------------------------ sources


@dataclass
class _Source:
    data: bytes
    filename: str
    content_type: str
    label: str
    title: str
    doc_date: date | None = None
    counterparty: str = ""
    author: str = ""
    """Who wrote it, when someone outside did (the sender of the mail it came in)."""
    allowed_by: str = ""
    """Why a file given by path may be read (shown on the card)."""


def _from_mail(ctx: ToolContext, message_id: str, attachment: str) -> _Source:
    message = ctx.mail.get_message(message_id.strip())
    get_raw = getattr(ctx.mail, "get_raw", None)
    if not callable(get_raw):
        raise ToolError(
            "This mail account cannot hand over attachments; save the file and give path."
        )
    files = attachments_of(get_raw(message.message_id))
    if not files:
        raise ToolError(
            f"The message '{message.subject}' has no attachments. File its text as a note instead."
        )
    names = ", ".join(f"'{f.filename}'" for f in files)
    wanted = attachment.strip()
    if not wanted:
        if len(files) > 1:
            raise ToolError(f"The message has {len(files)} attachments ({names}); name one.")
        chosen = files[0]
    else:
        matches = [f for f in files if f.filename == wanted] or [
            f for f in files if f.filename.casefold() == wanted.casefold()
        ]
        if not matches:
            raise ToolError(f"The message has no attachment '{wanted}'. Its attachments: {names}.")
        chosen = matches[0]
    when = message.date.astimezone(ctx.principal.tz).date() if message.date else None
    return _Source(
        data=chosen.data,
        filename=chosen.filename,
        content_type=chosen.content_type,
        label=f"mail {message.message_id} attachment {chosen.filename}",
        title=Path(chosen.filename).stem or message.subject,
        doc_date=when,
        counterparty=_counterparty_of_sender(message.sender),
        author=_outside_author(ctx, message.sender),
    )


def _outside_author(ctx: ToolContext, sender: str) -> str:
    """The sender's address, unless the principal sent it themselves ('' then)."""
    addr = bare_address(sender).lower()
    account = ctx.principal.accounts.get("mail", {})
    mine = {ctx.principal.email.lower(), str(account.get("address") or "").lower()}
    return "" if not addr or addr in mine else addr


def _from_path(ctx: ToolContext, path: str) -> _Source:
    import mimetypes

    # Confined before anything is opened: never the secretary's own files or another
    # principal's, only what this principal allows (tools.paths).
    allowed, data = read_allowed(ctx, path)
    real = allowed.path
    return _Source(
        data=data,
        filename=real.name,
        content_type=mimetypes.guess_type(real.name)[0] or "application/octet-stream",
        label=f"path {real}",
        title=real.stem,
        allowed_by=allowed.allowed_by,
    )


def _from_note(note: str, title: str) -> _Source:
    text = note.strip()
    first = text.splitlines()[0] if text else ""
    heading = " ".join(title.split()) or " ".join(first.split())[:80] or "Note"
    return _Source(
        data=(text + "\n").encode("utf-8"),
        filename=f"{heading}.txt",
        content_type="text/plain",
        label="note",
        title=heading,
    )


def _source(
    ctx: ToolContext, message_id: str, attachment: str, path: str, note: str, title: str
) -> _Source:
    given = [bool(message_id.strip()), bool(path.strip()), bool(note.strip())]
    if sum(given) != 1:
        if attachment.strip() and not message_id.strip():
            raise ToolError("attachment needs message_id: give the message the attachment is in.")
        raise ToolError(
            "Give exactly one of: message_id (with attachment) for a mail attachment, path for a "
            "file on this computer, or note for text to keep."
        )
    if message_id.strip():
        return _from_mail(ctx, message_id, attachment)
    if path.strip():
        return _from_path(ctx, path)
    return _from_note(note, title)


# ------------------------------------------------------------------ planning


@dataclass
class _Plan:
    doc: FiledDocument
    data: bytes
    destination: Path
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    allowed_by: str = ""


def _free_path(store: LocalFiling, folder: Path, name: str, own: str = "") -> str:
    """A path under ``folder`` for ``name`` that no other file or document uses."""
    relative = (folder / name).as_posix()
    n = 1
    while relative != own and store.path_taken(relative):
        n += 1
        relative = (folder / _numbered(name, n)).as_posix()
    return relative


def _planned_filing(
    ctx: ToolContext,
    type: str,
    message_id: str,
    attachment: str,
    path: str,
    note: str,
    title: str,
    counterparty: str,
    document_date: str,
    tags: list[str] | None,
    name: str,
) -> _Plan:
    """What file_document would file, where, with which metadata and warnings."""
    store = _filing(ctx)
    kind = _type(ctx, type)
    src = _source(ctx, message_id, attachment, path, note, title)
    warnings: list[str] = []
    who = " ".join(counterparty.split()) or src.counterparty
    folder_name = slug(who)
    if not folder_name:
        folder_name = "unknown"
        warnings.append("No counterparty given: filed under 'unknown'")
    if document_date.strip():
        when = _read_date(ctx, document_date, "document_date")
    else:
        when = src.doc_date or ctx.reference_now().date()
    suffix = Path(src.filename).suffix
    file_name = safe_name(name.strip() or src.filename)
    if name.strip() and suffix and not file_name.lower().endswith(suffix.lower()):
        file_name = safe_name(file_name + suffix)
    folder = Path("files") / kind / folder_name / f"{when.year:04d}"
    relative = _free_path(store, folder, file_name)
    text, status = extract_text(src.data, src.filename, src.content_type)
    notes = []
    if status == "unreadable":
        warnings.append(
            "The text of this file could not be read: it is filed with its metadata only"
        )
    elif status == "none":
        notes.append(f"No text is read from {suffix or 'this kind of'} files; metadata only")
    import hashlib

    digest = hashlib.sha256(src.data).hexdigest()
    for dup in store.by_sha256(digest):
        warnings.append(f"Already filed as {store.absolute(dup.path)} ({dup.id})")
    if relative != (folder / file_name).as_posix():
        notes.append(f"A file named '{file_name}' is already there; this one gets a number")
    doc = FiledDocument(
        title=" ".join(title.split()) or src.title,
        type=kind,
        counterparty=who or "unknown",
        folder=folder_name,
        doc_date=when,
        tags=_tags(tags or []),
        source=src.label,
        author=src.author,
        sha256=digest,
        size=len(src.data),
        content_type=src.content_type,
        path=relative,
        text=text,
        text_status=status,
        filed_at=ctx.reference_now(),
    )
    return _Plan(doc, src.data, store.absolute(relative), warnings, notes, src.allowed_by)


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} bytes"


def _card_body(destination: Path, text: str) -> str:
    """The full destination (never cut on a narrow screen), then the start of the text."""
    body = f"Destination:\n{destination}"
    if text:
        body += "\n\n" + text[:1500] + ("…" if len(text) > 1500 else "")
    return body


def _preview_file(ctx: ToolContext, args: BaseModel) -> Preview:
    plan = _planned_filing(ctx, **args.model_dump())
    doc = plan.doc
    details = {
        "Destination": str(plan.destination),
        "Title": doc.title,
        "Type": doc.type,
        "Counterparty": doc.counterparty,
        "Folder": doc.folder,
        "Document date": doc.doc_date.isoformat(),
        "Tags": ", ".join(doc.tags) or "-",
        "Source": doc.source,
        "Size": _size(doc.size),
        "SHA-256": doc.sha256,
        "Text": {
            "read": f"read ({len(doc.text)} characters), indexed for search",
            "unreadable": "could not be read",
            "none": "not read",
        }[doc.text_status],
    }
    if doc.source.startswith("path "):
        details["Original"] = "copied; the original stays where it is"
        details["Path allowed"] = plan.allowed_by
    elif doc.source.startswith("mail "):
        details["Original"] = "the mail and its attachment stay in the mailbox"
    if plan.notes:
        details["Note"] = "; ".join(plan.notes)
    return Preview(
        summary=f"File '{doc.title}' as {doc.type} of {doc.counterparty} ({doc.doc_date.year})",
        details=details,
        body=_card_body(plan.destination, doc.text),
        warnings=plan.warnings,
    )


def _day_start(ctx: ToolContext, d: date) -> datetime:
    return datetime.combine(d, time(0, 0), tzinfo=ctx.principal.tz)


def _index(ctx: ToolContext, doc: FiledDocument) -> bool:
    """Add the document to the principal's memory; False when memory is closed or failed."""
    memory = ctx.workspace.memory
    if memory is None:
        return False
    head = f"{doc.title}\n{doc.type} {doc.counterparty} {' '.join(doc.tags)}".strip()
    try:
        memory.add(
            item_id=f"document:{doc.id}",
            kind="document",
            text=f"{head}\n\n{doc.text}".strip(),
            subject=doc.title,
            date=_day_start(ctx, doc.doc_date),
            # Who wrote it decides how far it is trusted when recalled later.
            sender=doc.author or doc.counterparty,
            source=str(_filing(ctx).absolute(doc.path)),
        )
    except Exception as exc:  # noqa: BLE001 - the document is filed; search by metadata works
        log.warning("could not index %s in memory: %s", doc.id, exc)
        return False
    return True


def _doc_dict(ctx: ToolContext, doc: FiledDocument, history: bool = False) -> dict[str, Any]:
    store = _filing(ctx)
    data: dict[str, Any] = {
        "id": doc.id,
        "title": doc.title,
        "type": doc.type,
        "counterparty": doc.counterparty,
        "document_date": doc.doc_date.isoformat(),
        "tags": doc.tags,
        "path": str(store.absolute(doc.path)),
        "source": doc.source,
        "filed_from": doc.author,
        "sha256": doc.sha256,
        "size": doc.size,
        "content_type": doc.content_type,
        "text": doc.text_status,
        "filed_at": doc.filed_at.astimezone(ctx.principal.tz).isoformat(),
    }
    if history:
        data["history"] = [_history_dict(ctx, h) for h in store.history(doc.id)]
    return data


def _history_dict(ctx: ToolContext, h: HistoryEntry) -> dict[str, Any]:
    store = _filing(ctx)
    out = h.model_dump(mode="json")
    out["at"] = h.at.astimezone(ctx.principal.tz).isoformat()
    for key in ("from_path", "to_path"):
        out[key] = str(store.absolute(out[key])) if out[key] else ""
    return out


@tool(effect="write", duty="filing", preview=_preview_file, title="File document")
def file_document(
    ctx: ToolContext,
    type: str,
    message_id: str = "",
    attachment: str = "",
    path: str = "",
    note: str = "",
    title: str = "",
    counterparty: str = "",
    document_date: str = "",
    tags: list[str] | None = None,
    name: str = "",
) -> dict[str, Any]:
    """File a document into the principal's folders: a mail attachment, a file, or a note.

    It lands at files/<type>/<counterparty>/<year>/<name> with its metadata, and its
    text is indexed so find_documents finds it. The original is kept (a file is copied;
    the mail stays in the mailbox). Give exactly one of message_id (+ attachment),
    path, or note.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        type: contract, invoice, receipt, correspondence, report, legal, medical, travel,
            hr, tax or other (plus the categories of the principal's industry pack).
        message_id: The mail whose attachment to file (its Message-ID).
        attachment: The attachment's file name; may be empty when the mail has only one.
        path: Absolute path of a file on this computer to file (it is copied).
        note: Text to file as a note (saved as a .txt file).
        title: What the document is ("Acme service agreement"); default: the file name.
        counterparty: The organisation or person it concerns ("Acme GmbH"); default for a
            mail attachment: the sender's organisation.
        document_date: The document's own date: ISO (2026-03-14) or a phrase; default: the
            mail's date, or today.
        tags: Keywords to find it by ("nda", "q1").
        name: File name to use instead of the original one.
    """
    key = ctx.idempotency_key
    store = _filing(ctx)
    done = store.find(document_id_for(key)) if key else None
    if done is None:
        plan = _planned_filing(
            ctx, type, message_id, attachment, path, note, title, counterparty,
            document_date, tags, name,
        )  # fmt: skip
        done = store.add(plan.doc, plan.data, key)
        warnings = plan.warnings
    else:
        warnings = []
    out = _doc_dict(ctx, done)
    out["indexed"] = _index(ctx, done)
    if warnings:
        out["warnings"] = warnings
    return out


# ------------------------------------------------------------------ refiling


def _get_doc(ctx: ToolContext, document_id: str) -> FiledDocument:
    try:
        return _filing(ctx).get(document_id.strip())
    except NotFound:
        raise ToolError(
            f"No filed document with id '{document_id}'. Use find_documents or list_filed to "
            "find its id."
        ) from None


def _planned_refile(
    ctx: ToolContext,
    document_id: str,
    type: str,
    counterparty: str,
    year: int,
    document_date: str,
    title: str,
    tags: list[str] | None,
) -> tuple[FiledDocument, FiledDocument]:
    """The document as it is, and as refile_document would leave it."""
    store = _filing(ctx)
    old = _get_doc(ctx, document_id)
    kind = _type(ctx, type) if type.strip() else old.type
    who, folder_name = old.counterparty, old.folder
    if counterparty.strip():
        who = " ".join(counterparty.split())
        folder_name = slug(who) or "unknown"
    when = old.doc_date
    if document_date.strip():
        when = _read_date(ctx, document_date, "document_date")
    elif year:
        if not 1900 <= year <= 2200:
            raise ToolError(f"year: {year} is not a plausible year; give four digits, e.g. 2026.")
        day = min(when.day, 28) if when.month == 2 and when.day == 29 else when.day
        when = when.replace(year=year, day=day)
    new = old.model_copy(
        update={
            "type": kind,
            "counterparty": who,
            "folder": folder_name,
            "doc_date": when,
            "title": " ".join(title.split()) or old.title,
            "tags": old.tags if tags is None else _tags(tags),
        }
    )
    folder = Path("files") / kind / folder_name / f"{when.year:04d}"
    name = Path(old.path).name
    new.path = _free_path(store, folder, name, own=old.path)
    if new == old:
        raise ToolError(
            "Nothing would change: give a new type, counterparty, year, document_date, title "
            "or tags."
        )
    return old, new


def _preview_refile(ctx: ToolContext, args: BaseModel) -> Preview:
    old, new = _planned_refile(ctx, **args.model_dump(exclude={"reason"}))
    store = _filing(ctx)
    details: dict[str, str] = {}
    if new.path != old.path:
        details["From"] = str(store.absolute(old.path))
        details["To"] = str(store.absolute(new.path))
    for label, attr in (
        ("Type", "type"),
        ("Counterparty", "counterparty"),
        ("Document date", "doc_date"),
        ("Title", "title"),
        ("Tags", "tags"),
    ):
        a, b = getattr(old, attr), getattr(new, attr)
        if a != b:
            show = (lambda v: ", ".join(v) or "-") if attr == "tags" else str
            details[label] = f"{show(a)} -> {show(b)}"
    details["History"] = "the move is recorded; nothing is deleted"
    reason = args.model_dump()["reason"]
    return Preview(
        summary=f"Refile '{old.title}' as {new.type} of {new.counterparty} ({new.doc_date.year})",
        details=details,
        body=reason or None,
    )


@tool(effect="write", duty="filing", preview=_preview_refile, title="Refile document")
def refile_document(
    ctx: ToolContext,
    document_id: str,
    type: str = "",
    counterparty: str = "",
    year: int = 0,
    document_date: str = "",
    title: str = "",
    tags: list[str] | None = None,
    reason: str = "",
) -> dict[str, Any]:
    """Move a filed document to another type, counterparty or year, updating its metadata.

    The file moves to its new folder; the move is kept in the document's history.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        document_id: The document's id, as shown by find_documents or list_filed.
        type: The new type (empty keeps the current one).
        counterparty: The new organisation or person (empty keeps the current one).
        year: The new year folder (the document date moves to that year); 0 keeps it.
        document_date: The corrected document date (ISO or phrase); decides the year.
        title: A new title (empty keeps it).
        tags: The new tags, replacing the old ones (omit to keep them).
        reason: Why it is refiled, kept in the history.
    """
    store = _filing(ctx)
    key = ctx.idempotency_key
    if key and store.action_done(key):
        # A retried refile: the move already happened (or is completed now).
        return _doc_dict(
            ctx,
            store.move(document_id.strip(), _get_doc(ctx, document_id), ctx.reference_now(), key),
            history=True,
        )
    old, new = _planned_refile(
        ctx, document_id, type, counterparty, year, document_date, title, tags
    )
    moved = store.move(old.id, new, ctx.reference_now(), key, reason.strip())
    return _doc_dict(ctx, moved, history=True)


# ------------------------------------------------------------------ finding


def _words(query: str) -> list[str]:
    found = re.findall(r"\w+", unicodedata.normalize("NFKC", query).casefold())
    return [w for w in found if len(w) > 2 and w not in _STOPWORDS]


def _haystack(doc: FiledDocument) -> str:
    parts = [
        doc.title,
        doc.type,
        doc.counterparty,
        doc.folder.replace("-", " "),
        " ".join(doc.tags),
        _MONTHS[doc.doc_date.month - 1],
        str(doc.doc_date.year),
        Path(doc.path).name,
        doc.text,
    ]
    return unicodedata.normalize("NFKC", " ".join(parts)).casefold()


def _matches(
    doc: FiledDocument, kind: str, who: str, year: int, month: int, tags: list[str]
) -> bool:
    if kind and doc.type != kind:
        return False
    if who and who not in doc.folder and who not in slug(doc.counterparty):
        return False
    if year and doc.doc_date.year != year:
        return False
    if month and doc.doc_date.month != month:
        return False
    return all(t in doc.tags for t in tags)


def _filters(
    ctx: ToolContext, type: str, counterparty: str, year: int, month: int
) -> tuple[str, str]:
    if not 0 <= month <= 12:
        raise ToolError(f"month: {month} is not a month; give 1-12 (3 for March), or 0 for any.")
    if year and not 1900 <= year <= 2200:
        raise ToolError(f"year: {year} is not a plausible year; give four digits, e.g. 2026.")
    return (_type(ctx, type) if type.strip() else ""), slug(counterparty)


def _snippet(text: str, words: list[str]) -> str:
    flat = " ".join(text.split())
    low = flat.casefold()
    at = min((i for i in (low.find(w) for w in words) if i >= 0), default=0)
    start = max(0, at - 60)
    piece = flat[start : start + 240]
    return ("…" if start else "") + piece + ("…" if start + 240 < len(flat) else "")


@tool(effect="read", duty="filing", trust="memory", title="Find documents")
def find_documents(
    ctx: ToolContext,
    query: str = "",
    type: str = "",
    counterparty: str = "",
    year: int = 0,
    month: int = 0,
    tags: list[str] | None = None,
    limit: int = 10,
) -> list[dict[str, Any]]:
    """Find filed documents by their words and meaning, narrowed by metadata.

    "The Acme contract from March" is query="Acme contract", or better
    counterparty="Acme", type="contract", month=3. Each result has the file's path.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        query: Words or a description of the content ("termination clause", "Acme NDA").
        type: Only this type (contract, invoice, ...).
        counterparty: Only documents of this organisation or person.
        year: Only documents dated in this year (e.g. 2026); 0 for any.
        month: Only documents dated in this month (1-12, 3 = March); 0 for any.
        tags: Only documents with all of these tags.
        limit: At most this many results.
    """
    kind, who = _filters(ctx, type, counterparty, year, month)
    wanted_tags = _tags(tags or [])
    store = _filing(ctx)
    docs = [d for d in store.documents() if _matches(d, kind, who, year, month, wanted_tags)]
    words = _words(query)
    if not words:
        return [_doc_dict(ctx, d) for d in docs[: max(1, limit)]]
    scores: dict[str, float] = {}
    how: dict[str, list[str]] = {}
    memory = ctx.workspace.memory
    if memory is not None:
        try:
            hits = memory.recall(query, k=50)
        except Exception as exc:  # noqa: BLE001 - metadata and word search still work
            log.warning("memory recall failed: %s", exc)
            hits = []
        for rank, hit in enumerate(h for h in hits if h.kind == "document"):
            doc_id = hit.id.removeprefix("document:")
            scores[doc_id] = scores.get(doc_id, 0.0) + 1.0 / (rank + 2)
            how.setdefault(doc_id, []).extend(hit.matched_by)
    for d in docs:
        hay = _haystack(d)
        share = sum(1 for w in words if w in hay) / len(words)
        if share:
            scores[d.id] = scores.get(d.id, 0.0) + share
            how.setdefault(d.id, []).append("record")
    ranked = sorted((d for d in docs if d.id in scores), key=lambda d: -scores[d.id])
    out = []
    for d in ranked[: max(1, limit)]:
        item = _doc_dict(ctx, d)
        item["score"] = round(scores[d.id], 4)
        item["matched_by"] = sorted(set(how[d.id]))
        if d.text:
            item["snippet"] = _snippet(d.text, words)
        out.append(item)
    return out


@tool(effect="read", duty="filing", title="List filed documents")
def list_filed(
    ctx: ToolContext,
    type: str = "",
    counterparty: str = "",
    year: int = 0,
    tags: list[str] | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """List filed documents with their paths, newest document date first.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        type: Only this type (contract, invoice, ...).
        counterparty: Only documents of this organisation or person.
        year: Only documents dated in this year; 0 for any.
        tags: Only documents with all of these tags.
        limit: At most this many.
    """
    kind, who = _filters(ctx, type, counterparty, year, 0)
    wanted_tags = _tags(tags or [])
    docs = [d for d in _filing(ctx).documents() if _matches(d, kind, who, year, 0, wanted_tags)]
    return [_doc_dict(ctx, d) for d in docs[: max(1, limit)]]


def show_document(ctx: ToolContext, document_id: str) -> dict[str, Any]:
    """One filed document's metadata with its history (for the CLI)."""
    return _doc_dict(ctx, _get_doc(ctx, document_id), history=True)
