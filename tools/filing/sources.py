"""Reading a document to file (a mail attachment, an allowed path, a note); its name and type."""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from tools.base import ToolError
from tools.context import ToolContext
from tools.dates import read_when
from tools.paths import read_allowed
from tools.providers.local.filing import (
    LocalFiling,
)
from tools.providers.mime import attachments_of, bare_address, parse_rfc822

if TYPE_CHECKING:
    from tools.foundation.principals import Principal


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
