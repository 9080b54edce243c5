"""Memory of past correspondence: exact terms in a full-text index, meaning in Chroma.

Each principal has its own memory: items with a full-text index where the
principal's tables live (a SQLite file in the principal's directory with an
FTS5 index, or the principal's schema in PostgreSQL with a ``tsvector``
column under a GIN index) and its own Chroma collection (``mem-<principal>``,
embedded in the data directory or on a Chroma server), so one principal's
recall cannot even address another's documents.

An item is stored in SQLite first, so it is found by exact terms (names,
invoice numbers, addresses) at once; embeddings follow in batches and are
marked done per item, so an interrupted ingest continues where it stopped.
``recall`` merges both rankings with reciprocal-rank fusion.

What is embedded is the *new* text of a message - quoted history and
signatures are stripped (kept for display) - split into overlapping chunks;
of a very long item only the first :data:`EMBED_CHARS` characters are embedded.

The vectors of a collection are only comparable with vectors of the same
model, so the model that made them is recorded with the items; opening
the memory with another model configured is refused with what to do
(re-embed, or configure the old model again).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tools.foundation.db import Storage
from tools.foundation.errors import SecretaryError
from tools.providers.local.store import LocalStore
from tools.providers.memory.chroma import (
    ServerCollection,
    chroma_client,
    chroma_server,
    is_connection_error,
    unreachable,
)

if TYPE_CHECKING:
    from tools.providers.base import Message

Kind = Literal["mail", "sent", "chat", "draft", "note", "document", "preference"]

_ITEMS = """
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    message_id TEXT,
    thread_id TEXT,
    sender TEXT NOT NULL DEFAULT '',
    recipients TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL DEFAULT '',
    date TEXT,
    text TEXT NOT NULL,
    display TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT '',
    embedded INTEGER NOT NULL DEFAULT 0{search}
);
CREATE INDEX IF NOT EXISTS items_pending ON items (embedded);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

SCHEMA = (
    _ITEMS.format(search="")
    + """
CREATE VIRTUAL TABLE IF NOT EXISTS items_fts USING fts5(
    subject, sender, recipients, text, content='items', content_rowid='rowid',
    tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS items_ai AFTER INSERT ON items BEGIN
    INSERT INTO items_fts(rowid, subject, sender, recipients, text)
    VALUES (new.rowid, new.subject, new.sender, new.recipients, new.text);
END;
"""
)
"""The memory's tables on SQLite: items with an FTS5 index kept by a trigger."""

EMBED_CHARS = 100_000
"""How much of an item's text is embedded (about 110 chunks); all of it is found by words.
It bounds the work and memory one item can take (a 30 MB log pasted into a message)."""

CHUNKS_PER_UPSERT = 256
"""Chunks handed to Chroma (and so to the embedding model) in one upsert, about."""

SEARCH_CHARS = 100_000
"""How much of an item's text PostgreSQL indexes (a ``tsvector`` holds at most 1 MB)."""


def _lexemes(column: str, weight: str) -> str:
    """SQL for a weighted ``tsvector`` of a column.

    Its words as PostgreSQL parses them (e-mail addresses, host names and
    hyphenated words whole and in parts), plus every run of letters and
    digits, so a part of an address is found as FTS5 finds it.
    """
    return (
        f"setweight(to_tsvector('simple'::regconfig, {column} || ' ' || "
        f"regexp_replace({column}, '[^[:alnum:]]+', ' ', 'g')), '{weight}')"
    )


POSTGRES_SCHEMA = (
    _ITEMS.format(
        search=",\n    search tsvector GENERATED ALWAYS AS ("
        + " || ".join(
            [
                _lexemes("subject", "A"),
                _lexemes("sender", "B"),
                _lexemes("recipients", "C"),
                _lexemes(f"left(text, {SEARCH_CHARS})", "D"),
            ]
        )
        + ") STORED"
    )
    + """
CREATE INDEX IF NOT EXISTS items_search ON items USING GIN (search);
"""
)
"""The memory's tables on PostgreSQL: a generated ``tsvector`` ('simple'
configuration: no stemming, no stop words) under a GIN index."""


_QUOTE_HEADER = re.compile(
    r"^(on .{0,200}wrote:|am .{0,200}schrieb .{0,80}:|le .{0,200}a écrit ?:"
    r"|-{2,}\s*original message\s*-{2,}|-{2,}\s*forwarded message\s*-{2,}"
    r"|from:\s.+\n(sent|date):\s)",
    re.IGNORECASE | re.MULTILINE,
)
_SIGNATURE = re.compile(r"^(-- ?|__+|sent from my \w+.*)$", re.IGNORECASE | re.MULTILINE)


class EmbeddingModelChanged(SecretaryError):
    """The memory's vectors were made by another embedding model than the configured one."""


def new_text(body: str) -> str:
    """The part of a message its author wrote: no quoted history, no signature."""
    text = body.replace("\r\n", "\n")
    m = _QUOTE_HEADER.search(text)
    if m:
        text = text[: m.start()]
    lines = [ln for ln in text.split("\n") if not ln.lstrip().startswith(">")]
    text = "\n".join(lines)
    m = _SIGNATURE.search(text)
    if m and m.start() > 0:
        text = text[: m.start()]
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def chunk(text: str, words: int = 160, overlap: int = 32) -> list[str]:
    """Overlapping word windows, so long messages are embedded in full."""
    parts = text.split()
    if len(parts) <= words:
        return [" ".join(parts)] if parts else []
    out, step = [], words - overlap
    for i in range(0, len(parts), step):
        out.append(" ".join(parts[i : i + words]))
        if i + words >= len(parts):
            break
    return out


@dataclass
class Hit:
    """One recalled item with what a person (or the planner) needs to cite it."""

    id: str
    kind: str
    sender: str
    date: str | None
    subject: str
    thread_id: str
    message_id: str
    snippet: str
    score: float
    matched_by: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain data for --json and the planner."""
        return dict(self.__dict__)


MAX_TERMS = 64
"""Words of a keyword query beyond this many are ignored."""


def _terms(text: str) -> list[str]:
    """The words of a query: names, numbers, addresses (punctuation at the ends dropped)."""
    words = re.findall(r"[\w@.+-]+", text.lower())
    terms = [w.strip(".-") for w in words if len(w.strip(".-")) > 1]
    return list(dict.fromkeys(terms))[:MAX_TERMS]


def _fts_query(text: str) -> str:
    """A forgiving FTS5 query: every word as a quoted term, OR-ed (bm25 ranks)."""
    return " OR ".join(f'"{t}"' for t in _terms(text))


def _tsquery(terms: list[str]) -> str:
    """SQL for a PostgreSQL ``tsquery`` of the terms, OR-ed; each term is a parameter.

    ``plainto_tsquery`` parses a term as the index parsed the text (an address
    or ``INV-2231`` whole and in parts), and never reads it as query syntax.
    """
    return " || ".join("plainto_tsquery('simple'::regconfig, ?)" for _ in terms)


class Memory(LocalStore):
    """One principal's memory.

    Args:
        root: The principal's directory (``memory.sqlite`` lives there on SQLite).
        principal: The principal's id; names the Chroma collection.
        collection_factory: Opens a collection by name, with the embedding function
            passed; None for keyword recall only.
        model_id: What makes the vectors (e.g. ``all-MiniLM-L6-v2/onnx-int8``), or a
            function returning it; recorded with the memory and checked on opening.
        drop_collection: Deletes a collection by name (for re-embedding).
        storage: Where the principal's tables live; default from ``root`` and
            ``SECRETARY_DATABASE_URL``.
    """

    def __init__(
        self,
        root: Path,
        principal: str,
        collection_factory: Callable[[str], Any] | None,
        model_id: str | Callable[[], str] = "",
        drop_collection: Callable[[str], None] | None = None,
        *,
        storage: Storage | None = None,
    ) -> None:
        """Open the principal's item store; the Chroma collection opens on first use."""
        self.principal = principal
        storage = storage or Storage.default(root)
        schema = POSTGRES_SCHEMA if storage.is_postgres else SCHEMA
        super().__init__(root / "memory.sqlite", schema, storage=storage)
        self._postgres = self.database.dialect == "postgres"
        if not self._postgres:
            # WAL with NORMAL sync: an item survives a crash of the process, and
            # ingesting thousands of messages does not wait for a disk flush each.
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._collection_factory = collection_factory
        self._model_id = model_id
        self._drop_collection = drop_collection
        self._collection: Any = None

    @property
    def collection_name(self) -> str:
        """The name of the principal's Chroma collection."""
        return f"mem-{self.principal}"

    @property
    def collection(self) -> Any:
        """The principal's own Chroma collection (None when dense recall is off).

        Raises:
            EmbeddingModelChanged: The vectors were made by another model.
        """
        if self._collection is None and self._collection_factory is not None:
            configured = self.configured_model()
            self._check_model(configured)
            try:
                self._collection = self._collection_factory(self.collection_name)
            except ValueError as exc:
                # Chroma refuses a function other than the one it stored with the collection.
                if "embedding function" not in str(exc).lower():
                    raise
                raise self._changed(self.embedding_model() or "another model", configured) from None
            if configured and not self.embedding_model():
                self._set_meta("embedding_model", configured)
        return self._collection

    # ------------------------------------------------------------ embedding model
    def configured_model(self) -> str:
        """The id of the configured embedding model ('' when unknown)."""
        return self._model_id() if callable(self._model_id) else self._model_id

    def embedding_model(self) -> str:
        """The id of the model that made the stored vectors ('' before the first)."""
        row = self._db.fetchone("SELECT value FROM meta WHERE key = 'embedding_model'")
        return str(row["value"]) if row else ""

    def _set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def _check_model(self, configured: str) -> None:
        stored = self.embedding_model()
        if stored and configured and stored != configured:
            raise self._changed(stored, configured)

    def _changed(self, stored: str, configured: str) -> EmbeddingModelChanged:
        return EmbeddingModelChanged(
            f"The memory of {self.principal} was built with the embedding model {stored}, but "
            f"{configured or 'another model'} is configured; re-embed it with "
            f"`secretary ingest --reembed` (words stay searchable meanwhile), or configure "
            f"{stored} again."
        )

    def reset_embeddings(self) -> int:
        """Forget every vector so the configured model embeds everything again.

        The collection is dropped (its stored embedding function goes with it),
        every item is marked not embedded, and the configured model is recorded.
        ``embed_pending`` then rebuilds the vectors, resumably.

        Returns:
            How many items now wait for embedding.
        """
        if self._drop_collection is not None:
            self._drop_collection(self.collection_name)
        self._collection = None
        with self._lock:
            self._db.execute("UPDATE items SET embedded = 0")
            self._db.execute("DELETE FROM meta WHERE key = 'embedding_model'")
        configured = self.configured_model()
        if configured:
            self._set_meta("embedding_model", configured)
        return self.pending_embeddings()

    # ------------------------------------------------------------ writing
    def has(self, item_id: str) -> bool:
        """Whether an item with that id is stored."""
        return (
            self._db.fetchone("SELECT 1 AS found FROM items WHERE id = ?", (item_id,)) is not None
        )

    def add(
        self,
        *,
        item_id: str,
        kind: Kind,
        text: str,
        display: str = "",
        message_id: str = "",
        thread_id: str = "",
        sender: str = "",
        recipients: Iterable[str] = (),
        subject: str = "",
        date: datetime | None = None,
        source: str = "",
    ) -> bool:
        """Store one item (found by words at once). False if it was already there."""
        when = date.astimezone(UTC).isoformat() if date else None
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO items (id, kind, message_id, thread_id, sender, recipients,"
                " subject, date, text, display, source) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT (id) DO NOTHING",
                (
                    item_id,
                    kind,
                    message_id,
                    thread_id,
                    sender,
                    ", ".join(recipients),
                    subject,
                    when,
                    text,
                    display or text,
                    source,
                ),
            )
        return cur.rowcount == 1

    def add_message(
        self, m: Message, kind: Kind = "mail", source: str = "", attachment_text: str = ""
    ) -> bool:
        """Store a mail message by its Message-ID (a repeat is skipped).

        Args:
            m: The message.
            kind: ``mail`` for received, ``sent`` for the principal's own.
            source: Where it came from (a file and position), for a person to look up.
            attachment_text: Text of its attachments, already cut to a limit; found
                by words and by meaning with the message.
        """
        text = new_text(m.body) or m.subject
        extra = f"\nAttachments: {', '.join(m.attachments)}" if m.attachments else ""
        if attachment_text.strip():
            extra += "\n\n" + attachment_text.strip()
        return self.add(
            item_id=m.message_id,
            kind=kind,
            text=text + extra,
            display=m.body,
            message_id=m.message_id,
            thread_id=m.thread_id,
            sender=m.sender,
            recipients=[*m.to, *m.cc],
            subject=m.subject,
            date=m.date,
            source=source,
        )

    def add_note(self, text: str, kind: Kind = "note", ref: str = "", subject: str = "") -> str:
        """Store a chat turn, a meeting note, a preference (id from its content)."""
        digest = hashlib.sha256((ref + "\0" + text).encode()).hexdigest()[:24]
        item_id = f"{kind}:{digest}"
        self.add(
            item_id=item_id,
            kind=kind,
            text=text,
            subject=subject,
            date=datetime.now(UTC),
            source=ref,
            thread_id=ref,
        )
        return item_id

    def pending_embeddings(self) -> int:
        """Items stored but not yet embedded."""
        row = self._db.fetchone("SELECT count(*) AS n FROM items WHERE embedded = 0")
        return int(row["n"]) if row else 0

    def embed_pending(
        self,
        batch: int = 64,
        progress: Callable[[int], None] | None = None,
        vectors: Callable[[list[str]], Any] | None = None,
    ) -> int:
        """Embed items not yet in Chroma, in bounded batches; resumable at any point.

        At most ``batch`` items are read at a time, only the first
        :data:`EMBED_CHARS` characters of each, and they go to Chroma (which
        runs the model on them) about :data:`CHUNKS_PER_UPSERT` chunks at a
        time, so the memory used does not grow with the archive or with one
        long item. An item is marked embedded once all its chunks are stored.
        ``vectors``, when given, makes the vectors of a list of chunks instead
        of the collection's model (a benchmark filling a large memory quickly).
        """
        coll = self.collection
        if coll is None:
            return 0
        done = 0
        while True:
            rows = self._db.fetchall(
                "SELECT id, kind, sender, subject, date,"
                f" substr(text, 1, {EMBED_CHARS}) AS text FROM items"
                " WHERE embedded = 0 ORDER BY rowid LIMIT ?",
                (batch,),
            )
            if not rows:
                return done
            ids: list[str] = []
            docs: list[str] = []
            metas: list[dict[str, Any]] = []
            items: list[str] = []
            for r in rows:
                for n, piece in enumerate(chunk(f"{r['subject']}\n{r['text']}")):
                    ids.append(f"{r['id']}#{n}")
                    docs.append(piece)
                    metas.append(
                        {
                            "item": r["id"],
                            "kind": r["kind"],
                            "sender": (r["sender"] or "").lower(),
                            "ts": _ts(r["date"]),
                        }
                    )
                items.append(r["id"])
                if len(ids) >= CHUNKS_PER_UPSERT or r is rows[-1]:
                    given = vectors(docs) if vectors and ids else None
                    self._store_chunks(coll, ids, docs, metas, items, given)
                    done += len(items)
                    if progress:
                        progress(len(items))
                    ids, docs, metas, items = [], [], [], []

    def _store_chunks(
        self,
        coll: Any,
        ids: list[str],
        docs: list[str],
        metas: list[dict[str, Any]],
        items: list[str],
        embeddings: Any = None,
    ) -> None:
        """Upsert chunks (Chroma embeds them unless given), then mark their items embedded."""
        if ids:
            coll.upsert(ids=ids, documents=docs, metadatas=metas, embeddings=embeddings)
        with self._lock:
            marks = ", ".join("?" for _ in items)
            self._db.execute(f"UPDATE items SET embedded = 1 WHERE id IN ({marks})", items)

    # ------------------------------------------------------------ reading
    def count(self) -> int:
        """Items stored."""
        row = self._db.fetchone("SELECT count(*) AS n FROM items")
        return int(row["n"]) if row else 0

    def keyword(
        self, query: str, k: int = 20, sender: str = "", since: datetime | None = None
    ) -> list[str]:
        """Item ids ranked by relevance over subject, people and text.

        SQLite ranks with FTS5's BM25, PostgreSQL with ``ts_rank``; both weigh
        the subject most, then the sender, then recipients and text alike, and
        an item matching more of the words ranks higher.
        """
        terms = _terms(query)
        if not terms:
            return []
        params: list[Any]
        if self._postgres:
            sql = (
                f"SELECT items.id FROM items, (SELECT {_tsquery(terms)} AS query) AS q"
                " WHERE items.search @@ q.query"
            )
            params = list(terms)
            rank = "ts_rank('{0.1, 0.1, 0.2, 0.3}'::float4[], items.search, q.query) DESC"
        else:
            sql = (
                "SELECT items.id FROM items_fts JOIN items ON items.rowid = items_fts.rowid"
                " WHERE items_fts MATCH ?"
            )
            params = [_fts_query(query)]
            rank = "bm25(items_fts, 3.0, 2.0, 1.0, 1.0)"
        if sender:
            sql += " AND lower(items.sender) LIKE ?"
            params.append(f"%{sender.lower()}%")
        if since:
            sql += " AND items.date >= ?"
            params.append(since.astimezone(UTC).isoformat())
        sql += f" ORDER BY {rank}, items.rowid LIMIT ?"
        params.append(k)
        return [r["id"] for r in self._db.fetchall(sql, params)]

    def dense(
        self, query: str, k: int = 20, sender: str = "", since: datetime | None = None
    ) -> list[str]:
        """Item ids ranked by meaning (best chunk per item)."""
        coll = self.collection
        if coll is None or not query.strip():
            return []
        if 0 < self.pending_embeddings() <= 256:
            # Recent sent mail, chat turns and notes: small enough to embed now.
            self.embed_pending()
        where: dict[str, Any] | None = None
        conds: list[dict[str, Any]] = []
        if sender and "@" in sender:
            conds.append({"sender": {"$eq": sender.lower()}})
        if since:
            conds.append({"ts": {"$gte": int(since.timestamp())}})
        if len(conds) == 1:
            where = conds[0]
        elif conds:
            where = {"$and": conds}
        n = min(k * 3, max(1, coll.count()))
        res = coll.query(query_texts=[query], n_results=n, where=where, include=["metadatas"])
        out: list[str] = []
        for meta in res["metadatas"][0]:
            item = meta["item"]
            if item not in out:
                out.append(item)
        if sender and "@" not in sender:
            out = [i for i in out if sender.lower() in self._sender(i)]
        return out[:k]

    def _sender(self, item_id: str) -> str:
        row = self._db.fetchone("SELECT sender FROM items WHERE id = ?", (item_id,))
        return str(row["sender"] if row else "").lower()

    def recall(
        self,
        query: str,
        k: int = 5,
        sender: str = "",
        since: datetime | None = None,
        mode: Literal["merged", "dense", "keyword"] = "merged",
    ) -> list[Hit]:
        """Best matches by meaning and by words, merged with reciprocal-rank fusion."""
        rankings: dict[str, list[str]] = {}
        if mode in ("merged", "keyword"):
            rankings["words"] = self.keyword(query, 20, sender, since)
        if mode in ("merged", "dense"):
            rankings["meaning"] = self.dense(query, 20, sender, since)
        scores: dict[str, float] = {}
        how: dict[str, list[str]] = {}
        for name, ids in rankings.items():
            for rank, item in enumerate(ids):
                scores[item] = scores.get(item, 0.0) + 1.0 / (60 + rank + 1)
                how.setdefault(item, []).append(name)
        best = sorted(scores, key=lambda i: -scores[i])[:k]
        return [self._hit(i, scores[i], how[i]) for i in best]

    def _hit(self, item_id: str, score: float, how: list[str]) -> Hit:
        r = self._db.fetchone("SELECT * FROM items WHERE id = ?", (item_id,))
        assert r is not None, item_id
        text = " ".join(r["text"].split())
        return Hit(
            id=r["id"],
            kind=r["kind"],
            sender=r["sender"],
            date=r["date"],
            subject=r["subject"],
            thread_id=r["thread_id"] or "",
            message_id=r["message_id"] or "",
            snippet=text if len(text) <= 240 else text[:239] + "…",
            score=round(score, 5),
            matched_by=how,
        )

    def preferences(self, limit: int = 20) -> list[str]:
        """Preference notes learned from decisions, newest first."""
        rows = self._db.fetchall(
            "SELECT text FROM items WHERE kind = 'preference' ORDER BY date DESC LIMIT ?",
            (limit,),
        )
        return [r["text"] for r in rows]


def _ts(date: str | None) -> int:
    if not date:
        return 0
    return int(datetime.fromisoformat(date).timestamp())


def dumps(hits: list[Hit]) -> str:
    """Hits as JSON text for a tool result."""
    return json.dumps([h.to_json() for h in hits], ensure_ascii=False)


def open_memory(
    home: Path,
    principal_id: str,
    root: Path,
    embedding_model: str | None,
    *,
    storage: Storage | None = None,
    chroma_url: str | None = None,
) -> Memory:
    """A principal's memory: items where its tables live, vectors in Chroma.

    Args:
        home: The data directory (embedded Chroma keeps its files in ``home/chroma``).
        principal_id: The principal's id; names the collection (``mem-<id>``).
        root: The principal's directory.
        embedding_model: The configured embedding model (None: the shipped MiniLM).
        storage: Where the principal's tables live (default: from ``root`` and
            ``SECRETARY_DATABASE_URL``).
        chroma_url: ``http://host:port`` of a Chroma server for the vectors; None
            keeps them in embedded Chroma in ``home``.

    The embedding function is passed every time the collection is opened, so
    Chroma never falls back to its own (downloading) default; on a server the
    vectors are made here and only stored there. Nothing is contacted until
    the first recall by meaning or embedding, so a server that is down leaves
    recall by words working.
    """

    def client() -> Any:
        return chroma_server(chroma_url) if chroma_url else chroma_client(home / "chroma")

    def collection(name: str) -> Any:
        from tools.providers.memory.embeddings import for_chroma, make_embedding_function

        ef = for_chroma(make_embedding_function(embedding_model))
        if not chroma_url:
            return client().get_or_create_collection(name, embedding_function=ef)
        try:
            found = client().get_or_create_collection(name, embedding_function=ef)
        except Exception as exc:
            if is_connection_error(exc):
                raise unreachable(chroma_url, exc) from None
            raise
        return ServerCollection(found, chroma_url)

    def model_id() -> str:
        from tools.providers.memory.embeddings import make_embedding_function

        return make_embedding_function(embedding_model).model_id

    def drop(name: str) -> None:
        try:
            found = client()
            names = {c if isinstance(c, str) else c.name for c in found.list_collections()}
            if name in names:
                found.delete_collection(name)
        except Exception as exc:
            if chroma_url and is_connection_error(exc):
                raise unreachable(chroma_url, exc) from None
            raise

    return Memory(root, principal_id, collection, model_id, drop, storage=storage)
