"""Filing: documents filed into the principal's folder scheme, with metadata.

Each filed document is a file under ``root/files/<type>/<counterparty>/<year>/``
and a row in ``root/filing.sqlite`` with its metadata (title, type,
counterparty, document date, tags, where it came from, SHA-256, size) and the
text read from it, so it is found by words even when the memory is closed.
Moves are recorded in a history table; nothing is ever deleted.

A document written by an approved action gets an id derived from the action's
idempotency key. The bytes go to a temporary file named after that id first,
the row is committed, and only then is the file renamed into place, so a
retried action (a crash anywhere in between) completes the same filing
instead of making a second copy.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import AwareDatetime, BaseModel, Field

from tools.providers.base import NotFound, ProviderError
from tools.providers.local.store import LocalStore

if TYPE_CHECKING:
    from tools.foundation.db import Storage

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id           TEXT PRIMARY KEY,
    title        TEXT NOT NULL,
    type         TEXT NOT NULL,
    counterparty TEXT NOT NULL DEFAULT '',
    folder       TEXT NOT NULL,
    doc_date     TEXT NOT NULL,
    tags         TEXT NOT NULL DEFAULT '[]',
    source       TEXT NOT NULL DEFAULT '',
    sha256       TEXT NOT NULL,
    size         INTEGER NOT NULL,
    content_type TEXT NOT NULL DEFAULT '',
    path         TEXT NOT NULL UNIQUE,
    text         TEXT NOT NULL DEFAULT '',
    text_status  TEXT NOT NULL DEFAULT 'none',
    filed_at     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_sha ON documents (sha256);
CREATE TABLE IF NOT EXISTS document_history (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id TEXT NOT NULL,
    action_key  TEXT UNIQUE,
    at          TEXT NOT NULL,
    action      TEXT NOT NULL,
    from_path   TEXT NOT NULL DEFAULT '',
    to_path     TEXT NOT NULL DEFAULT '',
    changes     TEXT NOT NULL DEFAULT '{}',
    note        TEXT NOT NULL DEFAULT ''
);
"""


class FiledDocument(BaseModel):
    """One filed document's metadata; ``path`` is relative to the principal's directory."""

    id: str = ""
    title: str
    type: str
    counterparty: str = ""
    """The organisation or person, as written ("Acme GmbH")."""
    folder: str
    """The counterparty's folder name (a slug, "acme-gmbh")."""
    doc_date: date
    tags: list[str] = Field(default_factory=list)
    source: str = ""
    """``mail <message-id> attachment X``, ``path /...`` or ``note``."""
    author: str = ""
    """The outside author's address (the sender of the mail it came in); '' for the principal."""
    sha256: str
    size: int
    content_type: str = ""
    path: str
    text: str = ""
    text_status: str = "none"
    """``read`` (text indexed), ``unreadable`` (a PDF without readable text), ``none``."""
    filed_at: AwareDatetime


class HistoryEntry(BaseModel):
    """One thing that happened to a filed document."""

    at: AwareDatetime
    action: str
    from_path: str = ""
    to_path: str = ""
    changes: dict[str, Any] = Field(default_factory=dict)
    note: str = ""


def document_id_for(key: str) -> str:
    """The id a filing with this idempotency key gets (random without a key)."""
    if not key:
        return f"doc-{uuid.uuid4().hex[:12]}"
    return f"doc-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


_AUTHOR = "ALTER TABLE documents ADD COLUMN author TEXT NOT NULL DEFAULT '';"
"""Version 2: who wrote a document filed from outside (provenance travels with it)."""


def _row_doc(row: Any) -> FiledDocument:
    data = dict(row)
    data["tags"] = json.loads(data["tags"] or "[]")
    return FiledDocument(**data)


class LocalFiling(LocalStore):
    """A principal's filed documents: files under ``root/files``, records in ``filing.sqlite``."""

    def __init__(self, root: Path, *, storage: Storage | None = None) -> None:
        """Open (and create if needed) the filing database under the principal's directory.

        Args:
            root: The principal's workspace directory.
            storage: Where the principal's tables live; default from ``root``
                and ``SECRETARY_DATABASE_URL``.
        """
        super().__init__(root / "filing.sqlite", _SCHEMA, storage=storage, upgrades=[_AUTHOR])
        self.root = root

    @property
    def files_dir(self) -> Path:
        """Where the folder scheme starts: ``root/files``."""
        return self.root / "files"

    def absolute(self, relative: str) -> Path:
        """The absolute path of a stored relative path."""
        return self.root / relative

    def _inside(self, path: Path) -> str:
        """``path`` relative to the root, refusing anything outside ``root/files``."""
        resolved = path.resolve()
        base = self.files_dir.resolve()
        if resolved != base and base not in resolved.parents:
            raise ProviderError(f"{path} is outside the filing folder; refusing to write there.")
        return resolved.relative_to(self.root.resolve()).as_posix()

    # ------------------------------------------------------------- reading

    def get(self, document_id: str) -> FiledDocument:
        """One filed document; raises NotFound."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM documents WHERE id = ?", (document_id,)
            ).fetchone()
        if row is None:
            raise NotFound(f"No filed document with id '{document_id}'.")
        return _row_doc(row)

    def find(self, document_id: str) -> FiledDocument | None:
        """One filed document, or None."""
        try:
            return self.get(document_id)
        except NotFound:
            return None

    def by_sha256(self, sha256: str) -> list[FiledDocument]:
        """Documents with exactly these bytes."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM documents WHERE sha256 = ? ORDER BY filed_at", (sha256,)
            ).fetchall()
        return [_row_doc(r) for r in rows]

    def documents(self) -> list[FiledDocument]:
        """Every filed document, newest document date first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM documents ORDER BY doc_date DESC, filed_at DESC, id"
            ).fetchall()
        return [_row_doc(r) for r in rows]

    def history(self, document_id: str) -> list[HistoryEntry]:
        """What happened to a document, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM document_history WHERE document_id = ? ORDER BY seq",
                (document_id,),
            ).fetchall()
        return [
            HistoryEntry(
                at=r["at"],
                action=r["action"],
                from_path=r["from_path"],
                to_path=r["to_path"],
                changes=json.loads(r["changes"] or "{}"),
                note=r["note"],
            )
            for r in rows
        ]

    def action_done(self, idempotency_key: str) -> bool:
        """Whether an action with this key already changed a document."""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM document_history WHERE action_key = ?", (idempotency_key,)
            ).fetchone()
        return row is not None

    def path_taken(self, relative: str) -> bool:
        """Whether a file exists at ``relative`` or a document record claims it."""
        if self.absolute(relative).exists():
            return True
        with self._lock:
            row = self._db.execute("SELECT 1 FROM documents WHERE path = ?", (relative,)).fetchone()
        return row is not None

    # ------------------------------------------------------------- writing

    def add(self, doc: FiledDocument, data: bytes, idempotency_key: str = "") -> FiledDocument:
        """File ``data`` at ``doc.path`` with its record (once per key) and return the record.

        Raises:
            ProviderError: The path is outside the filing folder, taken by another
                document, or the disk refused the write.
        """
        new_id = doc.id or document_id_for(idempotency_key)
        existing = self.find(new_id)
        if existing is not None:
            self._finish_placement(existing)
            return existing
        target = self.absolute(doc.path)
        relative = self._inside(target)
        tmp = target.parent / f".{new_id}.filing"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
        except OSError as exc:
            raise ProviderError(f"Cannot write {target}: {exc.strerror or exc}.") from None
        stored = doc.model_copy(update={"id": new_id, "path": relative})
        with self._lock, self.transaction():
            taken = self._db.execute(
                "SELECT id FROM documents WHERE path = ?", (relative,)
            ).fetchone()
            if taken is not None or target.exists():
                tmp.unlink(missing_ok=True)
                raise ProviderError(
                    f"{target} was taken meanwhile by another document; file it again."
                )
            self._db.execute(
                "INSERT INTO documents (id, title, type, counterparty, folder, doc_date, tags,"
                " source, sha256, size, content_type, path, text, text_status, filed_at, author)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new_id,
                    stored.title,
                    stored.type,
                    stored.counterparty,
                    stored.folder,
                    stored.doc_date.isoformat(),
                    json.dumps(stored.tags, ensure_ascii=False),
                    stored.source,
                    stored.sha256,
                    stored.size,
                    stored.content_type,
                    relative,
                    stored.text,
                    stored.text_status,
                    stored.filed_at.isoformat(),
                    stored.author,
                ),
            )
            self._db.execute(
                "INSERT INTO document_history (document_id, action_key, at, action, to_path,"
                " note) VALUES (?, ?, ?, 'filed', ?, ?)",
                (
                    new_id,
                    idempotency_key or None,
                    stored.filed_at.isoformat(),
                    relative,
                    stored.source,
                ),
            )
        self._finish_placement(stored)
        return self.get(new_id)

    def _finish_placement(self, doc: FiledDocument) -> None:
        """Rename the temporary copy into place if a crash left it there."""
        target = self.absolute(doc.path)
        tmp = target.parent / f".{doc.id}.filing"
        if tmp.exists() and not target.exists():
            os.replace(tmp, target)

    def move(
        self,
        document_id: str,
        updated: FiledDocument,
        at: datetime,
        idempotency_key: str = "",
        note: str = "",
    ) -> FiledDocument:
        """Move a document to ``updated.path`` with its new metadata (once per key).

        The move is recorded in the document's history with what changed.

        Raises:
            NotFound: No such document.
            ProviderError: The new path is outside the filing folder or taken.
        """
        old = self.get(document_id)
        if idempotency_key:
            with self._lock:
                done = self._db.execute(
                    "SELECT from_path, to_path FROM document_history WHERE action_key = ?",
                    (idempotency_key,),
                ).fetchone()
            if done is not None:
                self._finish_move(done["from_path"], done["to_path"])
                return self.get(document_id)
        target = self.absolute(updated.path)
        relative = self._inside(target)
        fields = ("title", "type", "counterparty", "folder", "doc_date", "tags", "path")
        changes = {
            f: {"from": _plain(getattr(old, f)), "to": _plain(getattr(updated, f))}
            for f in fields
            if getattr(old, f) != getattr(updated, f)
        }
        with self._lock, self.transaction():
            if relative != old.path:
                taken = self._db.execute(
                    "SELECT id FROM documents WHERE path = ?", (relative,)
                ).fetchone()
                if taken is not None or target.exists():
                    raise ProviderError(f"{target} is taken by another file; refile it again.")
            self._db.execute(
                "UPDATE documents SET title = ?, type = ?, counterparty = ?, folder = ?,"
                " doc_date = ?, tags = ?, path = ? WHERE id = ?",
                (
                    updated.title,
                    updated.type,
                    updated.counterparty,
                    updated.folder,
                    updated.doc_date.isoformat(),
                    json.dumps(updated.tags, ensure_ascii=False),
                    relative,
                    document_id,
                ),
            )
            self._db.execute(
                "INSERT INTO document_history (document_id, action_key, at, action, from_path,"
                " to_path, changes, note) VALUES (?, ?, ?, 'refiled', ?, ?, ?, ?)",
                (
                    document_id,
                    idempotency_key or None,
                    at.isoformat(),
                    old.path,
                    relative,
                    json.dumps(changes, ensure_ascii=False),
                    note,
                ),
            )
        self._finish_move(old.path, relative)
        return self.get(document_id)

    def _finish_move(self, from_path: str, to_path: str) -> None:
        source, target = self.absolute(from_path), self.absolute(to_path)
        if source == target or not source.exists() or target.exists():
            return
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
        except OSError as exc:
            raise ProviderError(
                f"Cannot move {source} to {target}: {exc.strerror or exc}."
            ) from None


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value
