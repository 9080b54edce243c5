"""Reading mail archives into memory: mbox files, Maildir folders, .eml files and folders.

Sources are read lazily, one message at a time, so a 10k-message mbox never
sits in memory whole. Every message is either stored, skipped as a duplicate
(same Message-ID, or same content when it has none), or reported unreadable
with the reason (too large, not an e-mail, broken MIME, empty body); one bad
message never stops the run. Messages stored with a caveat (an unknown
charset read as UTF-8, an attachment's text cut at the limit) are listed as
warnings.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from email import errors as email_errors
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from email.message import Message as PyMessage

    from tools.providers.base import Message

MAX_BYTES = 30_000_000
"""Messages larger than this are skipped (reported), not parsed: 30 MB, as the README and
the messages say (sizes are printed in decimal megabytes)."""

ATTACHMENT_TEXT_CHARS = 20_000
"""Text taken from a message's text attachments, in all; binary ones count by name only."""

# application/ics: how Google, Thunderbird and this project attach an invitation's .ics file.
_TEXT_ATTACHMENTS = (
    "text/plain", "text/csv", "text/markdown", "text/x-log", "text/calendar", "application/ics",
)  # fmt: skip
_CHARSET = re.compile(rb"charset\s*=\s*\"?([^\"';\s]+)", re.IGNORECASE)
_BROKEN_MIME = (
    email_errors.StartBoundaryNotFoundDefect,
    email_errors.NoBoundaryInMultipartDefect,
    email_errors.MultipartInvariantViolationDefect,
)


@dataclass
class Raw:
    """One message's bytes and where they came from."""

    ref: str
    data: bytes | None
    problem: str = ""


@dataclass
class IngestReport:
    """What an ingest run did."""

    ingested: int = 0
    duplicates: int = 0
    own: int = 0
    """The approval desk's own traffic (requests, notices, answers), left out of memory."""
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    """Skipped messages: (where, why)."""
    embedded: int = 0
    warnings: list[tuple[str, str]] = field(default_factory=list)
    """Stored messages with a caveat: (where, what)."""

    def summary(self) -> str:
        """One line for a person."""
        line = (
            f"ingested {self.ingested}, skipped {self.duplicates} as duplicates, "
            f"{len(self.unreadable)} unreadable, embedded {self.embedded}"
        )
        if self.warnings:
            line += f", {len(self.warnings)} stored with warnings"
        if self.own:
            line += f", {self.own} of the secretary's own approval mails left out"
        return line


def count_messages(paths: list[Path]) -> int:
    """How many messages ``paths`` hold, by a quick scan (for a progress bar's total)."""
    total = 0
    for path in paths:
        if not path.exists():
            continue
        if path.is_dir():
            if _is_maildir(path):
                total += sum(1 for sub in ("cur", "new") for _ in (path / sub).iterdir())
                continue
            for child in path.rglob("*"):
                if child.is_file() and child.suffix.lower() == ".eml":
                    total += 1
                elif child.is_dir() and _is_maildir(child):
                    total += count_messages([child])
            continue
        with open(path, "rb") as fh:
            if fh.read(5) != b"From ":
                total += 1
                continue
            fh.seek(0)
            # mbox: a message starts at each line beginning with "From " (body lines are escaped).
            total += sum(1 for piece, first in _pieces(fh) if first and piece.startswith(b"From "))
    return total


_PIECE = 1 << 16
"""Bytes of a line read at once: a 'line' of binary junk without newlines never sits whole."""


def _pieces(fh: BinaryIO) -> Iterator[tuple[bytes, bool]]:
    """A file's lines, in pieces of at most :data:`_PIECE` bytes; True where a line begins."""
    first = True
    while piece := fh.readline(_PIECE):
        yield piece, first
        first = piece.endswith(b"\n")


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"


def _too_large(size: int, limit: int) -> str:
    return f"too large ({_size(size)}; the limit is {_size(limit)}), not read"


def _is_maildir(path: Path) -> bool:
    return all((path / d).is_dir() for d in ("cur", "new"))


def iter_source(path: Path, max_bytes: int = MAX_BYTES) -> Iterator[Raw]:
    """Every message in an mbox file, a Maildir, an .eml file or a folder of them."""
    if not path.exists():
        yield Raw(str(path), None, "no such file or folder")
        return
    if path.is_dir():
        if _is_maildir(path):
            yield from _iter_maildir(path, max_bytes)
            return
        for child in sorted(path.rglob("*")):
            if child.is_file() and child.suffix.lower() == ".eml":
                yield _read_file(child, max_bytes)
            elif child.is_dir() and _is_maildir(child):
                yield from _iter_maildir(child, max_bytes)
        return
    with open(path, "rb") as fh:
        head = fh.read(5)
    if head == b"From ":
        yield from _iter_mbox(path, max_bytes)
    else:
        yield _read_file(path, max_bytes)


def _read_file(path: Path, max_bytes: int = MAX_BYTES) -> Raw:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return Raw(str(path), None, _too_large(size, max_bytes))
        return Raw(str(path), path.read_bytes())
    except OSError as exc:
        return Raw(str(path), None, f"cannot read: {exc.strerror or exc}")


def _iter_maildir(path: Path, max_bytes: int = MAX_BYTES) -> Iterator[Raw]:
    for sub in ("cur", "new"):
        for f in sorted((path / sub).iterdir()):
            if f.is_file() and not f.name.startswith("."):
                yield _read_file(f, max_bytes)


def _iter_mbox(path: Path, max_bytes: int = MAX_BYTES) -> Iterator[Raw]:
    """The messages of an mbox file, read in one pass and held one at a time.

    The standard library's ``mailbox.mbox`` first builds a table of every
    message's offsets (memory growing with the archive) and reads lines whole;
    this reads pieces of lines and keeps only the message at hand, and of a
    message above ``max_bytes`` only its size. The bytes are what
    ``mailbox.mbox.get_bytes`` returns (the ``From`` line left out, and a
    last blank line, the separator), so a message without a Message-ID keeps
    the id derived from its content across versions.
    """
    number = 0
    buf = bytearray()
    size = 0
    in_from_line = False
    last_blank = False

    def entry() -> Raw:
        ref = f"{path}#{number}"
        # mailbox.mbox drops a message's last line when it is blank (the separator).
        length = size - 1 if last_blank else size
        if length > max_bytes:
            return Raw(ref, None, _too_large(length, max_bytes))
        return Raw(ref, bytes(buf) if length == len(buf) else bytes(buf[:length]))

    try:
        with open(path, "rb") as fh:
            for piece, first in _pieces(fh):
                if first and piece.startswith(b"From "):
                    if number:
                        yield entry()
                    number += 1
                    buf.clear()
                    size, in_from_line, last_blank = 0, True, False
                elif in_from_line:
                    pass  # the rest of a very long From line
                else:
                    size += len(piece)
                    if size <= max_bytes + 1:  # + 1: the separating newline may come off
                        buf += piece
                    elif buf:
                        buf = bytearray()  # too large: only its size is kept
                    last_blank = first and piece == b"\n"
                if piece.endswith(b"\n"):
                    in_from_line = False
            if number:
                yield entry()
    except OSError as exc:
        # The message being read when the file failed (what came before was yielded).
        yield Raw(f"{path}#{max(number, 1)}", None, f"cannot read: {exc.strerror or exc}")


def _unknown_charsets(data: bytes) -> list[str]:
    from tools.providers.mime import clean_charset

    names: list[str] = []
    for m in _CHARSET.finditer(data[:200_000]):
        # Junk around a name ("utf-8\0") is cleaned by the decoder, which notes it itself.
        name = clean_charset(m.group(1).decode("ascii", "replace")) or ""
        if not name or name in names:
            continue
        try:
            codecs.lookup(name)
        except LookupError:
            names.append(name)
    return names


def _parse_mime(data: bytes) -> PyMessage:
    return BytesParser(policy=policy.compat32).parsebytes(data)


def _why_empty(data: bytes) -> str:
    """Why a message yielded no text: broken MIME structure, or simply an empty body."""
    for part in _parse_mime(data).walk():
        broken = [d for d in part.defects if isinstance(d, _BROKEN_MIME)]
        if broken:
            return f"broken MIME: {type(broken[0]).__name__.removesuffix('Defect')}"
    return "empty body: no text and no attachments"


def attachment_text(data: bytes, limit: int = ATTACHMENT_TEXT_CHARS) -> tuple[str, list[str]]:
    """The text of a message's text attachments, at most ``limit`` characters in all.

    Returns:
        The text (each attachment under its name) and a note per attachment cut short.
    """
    from tools.providers.mime import decode_text

    out: list[str] = []
    notes: list[str] = []
    left = limit
    for part in _parse_mime(data).walk():
        if part.is_multipart() or left <= 0:
            continue
        try:
            name = part.get_filename()
            disposition = part.get_content_disposition()
        except Exception:  # noqa: BLE001 - a broken header: not an attachment we can name
            continue
        if not (name or disposition == "attachment"):
            continue
        if part.get_content_type() not in _TEXT_ATTACHMENTS:
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        text = decode_text(payload, part.get_content_charset()).replace("\r\n", "\n")
        label = name or "attachment"
        if len(text) > left:
            notes.append(f"text of attachment {label} cut to its first {left:,} characters")
            text = text[:left]
        left -= len(text)
        out.append(f"[{label}]\n{text.strip()}")
    return "\n\n".join(out), notes


def _read_one(ref: str, data: bytes, memory: Any, report: IngestReport) -> None:
    """Parse, check and store one message; every problem lands in ``report``."""
    from tools.providers.mime import parse_rfc822

    decoded: list[str] = []  # what the decoder could read only by a fallback
    try:
        message: Message = parse_rfc822(data, "archive", notes=decoded)
    except Exception as exc:  # noqa: BLE001 - any parse failure is reported
        report.unreadable.append((ref, f"not a readable e-mail: {exc}"))
        return
    if not message.body.strip() and not message.attachments:
        report.unreadable.append((ref, _why_empty(data)))
        return
    from agent.approval import secretary_traffic

    if secretary_traffic(message):
        report.own += 1
        return
    extra = ""
    if message.attachments:
        extra, notes = attachment_text(data)
        report.warnings.extend((ref, note) for note in notes)
    for name in _unknown_charsets(data):
        decoded.append(f"unknown charset {name}: read as UTF-8, undecodable bytes replaced")
    report.warnings.extend((ref, note) for note in dict.fromkeys(decoded))
    if memory.add_message(message, source=ref, attachment_text=extra):
        report.ingested += 1
    else:
        report.duplicates += 1


def run_ingest(
    memory: Any,
    paths: list[Path],
    *,
    embed: bool = True,
    reembed: bool = False,
    max_bytes: int = MAX_BYTES,
    on_total: Callable[[int], None] | None = None,
    on_read: Callable[[int], None] | None = None,
    on_embedded: Callable[[int], None] | None = None,
    before_embedding: Callable[[int], None] | None = None,
    mailboxes: Iterable[Iterator[Raw]] = (),
) -> IngestReport:
    """Read every message of ``paths`` into ``memory``; then embed what is new.

    Re-running skips what is stored; an interrupted run leaves every stored
    message findable by words and is finished (embedded) by the next run.

    Args:
        memory: The principal's :class:`tools.providers.memory.store.Memory`.
        paths: mbox files, Maildir folders, .eml files or folders of them.
        embed: Embed after reading (else only the word index is built now).
        reembed: Drop every vector first and embed everything again with the
            configured model (after the embedding model changed).
        max_bytes: Messages larger than this are reported and skipped.
        on_total: Called once, before reading, with the number of messages found
            (a quick scan), so a progress bar can show an ETA.
        on_read: Called with 1 per message read (stored, duplicate or unreadable).
        on_embedded: Called with the number of items of each embedded batch.
        before_embedding: Called with the number of items to embed, before embedding.
        mailboxes: Messages of mail accounts (:func:`iter_mailbox`), read after ``paths``.

    Returns:
        What was stored, skipped and embedded, and every problem with its reason.
    """
    report = IngestReport()
    if reembed:
        memory.reset_embeddings()
    if on_total:
        on_total(count_messages(paths))
    sources = [iter_source(path, max_bytes) for path in paths]
    for raws in [*sources, *mailboxes]:
        for raw in raws:
            if raw.data is None:
                report.unreadable.append((raw.ref, raw.problem))
            else:
                try:
                    _read_one(raw.ref, raw.data, memory, report)
                except Exception as exc:  # noqa: BLE001 - one bad message never stops the run
                    report.unreadable.append((raw.ref, f"could not be stored: {exc}"))
            if on_read:
                on_read(1)
    if embed:
        if before_embedding:
            before_embedding(memory.pending_embeddings())
        report.embedded = memory.embed_pending(progress=on_embedded)
    return report


def iter_mailbox(
    provider: Any, folder: str, state_file: Path, *, max_bytes: int = MAX_BYTES, batch: int = 200
) -> Iterator[Raw]:
    """Every message of a mail account's folder (IMAP, Gmail, Microsoft 365, local).

    Resumable: the provider's sync cursor is saved in ``state_file`` after each
    batch has been consumed, so an interrupted ingest continues after the last
    stored batch (and messages stored twice are skipped as duplicates anyway).

    Raises:
        ProviderError: the provider cannot list mail incrementally, or the server failed.
    """
    import json

    from tools.providers.base import ProviderError

    fetch_new = getattr(provider, "fetch_new", None)
    if not callable(fetch_new):
        raise ProviderError("This mail account cannot be read folder by folder.")
    try:
        saved = json.loads(state_file.read_text())
    except (OSError, ValueError):
        saved = {}
    cursor = str(saved.get(folder, ""))
    while True:
        messages, new_cursor = fetch_new(cursor, folder=folder, limit=batch)
        for m in messages:
            ref = f"{folder}/{m.uid}"
            if len(m.raw) > max_bytes:
                size, limit = len(m.raw) / 1e6, max_bytes / 1e6
                yield Raw(ref, None, f"too large ({size:.1f} MB; the limit is {limit:.1f} MB)")
            else:
                yield Raw(ref, m.raw)
        saved[folder] = new_cursor
        tmp = state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(saved))
        tmp.replace(state_file)
        if len(messages) < batch or new_cursor == cursor:
            return
        cursor = new_cursor
