"""Filing a document in the principal's folder scheme and refiling it, each shown on a card."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.base import Preview, ToolError, tool
from tools.context import ToolContext
from tools.filing.sources import (
    _filing,
    _numbered,
    _read_date,
    _source,
    _tags,
    _type,
    extract_text,
    safe_name,
    slug,
)
from tools.providers.base import NotFound
from tools.providers.local.filing import (
    FiledDocument,
    HistoryEntry,
    LocalFiling,
    document_id_for,
)

if TYPE_CHECKING:
    from pydantic import BaseModel


log = logging.getLogger(__name__)


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
