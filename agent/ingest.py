"""Reading mail archives into memory: mbox files, Maildir folders, .eml files and folders.

Sources are read lazily, one message at a time, so a 10k-message mbox never
sits in memory whole. Every message is either stored, skipped as a duplicate
(same Message-ID, or same content when it has none), or reported unreadable
with the reason; one bad message never stops the run.
"""

from __future__ import annotations

import mailbox
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_BYTES = 30 * 1024 * 1024
"""Messages larger than this are skipped (reported), not parsed."""


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
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    embedded: int = 0

    def summary(self) -> str:
        """One line for a person."""
        return (
            f"ingested {self.ingested}, skipped {self.duplicates} as duplicates, "
            f"{len(self.unreadable)} unreadable, embedded {self.embedded}"
        )


def _is_maildir(path: Path) -> bool:
    return all((path / d).is_dir() for d in ("cur", "new"))


def iter_source(path: Path) -> Iterator[Raw]:
    """Every message in an mbox file, a Maildir, an .eml file or a folder of them."""
    if not path.exists():
        yield Raw(str(path), None, "no such file or folder")
        return
    if path.is_dir():
        if _is_maildir(path):
            yield from _iter_maildir(path)
            return
        for child in sorted(path.rglob("*")):
            if child.is_file() and child.suffix.lower() == ".eml":
                yield _read_file(child)
            elif child.is_dir() and _is_maildir(child):
                yield from _iter_maildir(child)
        return
    with open(path, "rb") as fh:
        head = fh.read(5)
    if head == b"From ":
        yield from _iter_mbox(path)
    else:
        yield _read_file(path)


def _read_file(path: Path) -> Raw:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            return Raw(str(path), None, f"too large ({size // 1_000_000} MB)")
        return Raw(str(path), path.read_bytes())
    except OSError as exc:
        return Raw(str(path), None, f"cannot read: {exc.strerror or exc}")


def _iter_maildir(path: Path) -> Iterator[Raw]:
    for sub in ("cur", "new"):
        for f in sorted((path / sub).iterdir()):
            if f.is_file() and not f.name.startswith("."):
                yield _read_file(f)


def _iter_mbox(path: Path) -> Iterator[Raw]:
    box = mailbox.mbox(path, create=False)
    try:
        for i, key in enumerate(box.iterkeys()):
            ref = f"{path}#{i + 1}"
            try:
                data = box.get_bytes(key)
            except Exception as exc:  # noqa: BLE001 - a broken entry is reported, not fatal
                yield Raw(ref, None, f"cannot read: {exc}")
                continue
            if len(data) > MAX_BYTES:
                yield Raw(ref, None, f"too large ({len(data) // 1_000_000} MB)")
            else:
                yield Raw(ref, data)
    finally:
        box.close()


def run_ingest(
    memory: Any,
    paths: list[Path],
    *,
    embed: bool = True,
    on_read: Callable[[int], None] | None = None,
    on_embedded: Callable[[int], None] | None = None,
    before_embedding: Callable[[int], None] | None = None,
) -> IngestReport:
    """Read every message of ``paths`` into ``memory``; then embed what is new.

    Re-running skips what is stored; an interrupted run leaves every stored
    message findable by words and is finished (embedded) by the next run.
    """
    from tools.mail_compose import parse_rfc822

    report = IngestReport()
    for path in paths:
        for raw in iter_source(path):
            if raw.data is None:
                report.unreadable.append((raw.ref, raw.problem))
            else:
                try:
                    message = parse_rfc822(raw.data, "archive")
                except Exception as exc:  # noqa: BLE001 - any parse failure is reported
                    report.unreadable.append((raw.ref, f"not a readable e-mail: {exc}"))
                else:
                    if memory.add_message(message, source=raw.ref):
                        report.ingested += 1
                    else:
                        report.duplicates += 1
            if on_read:
                on_read(1)
    if embed:
        if before_embedding:
            before_embedding(memory.pending_embeddings())
        report.embedded = memory.embed_pending(progress=on_embedded)
    return report
