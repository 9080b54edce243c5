"""Finding filed documents again: by words and meaning, by type, counterparty, date and tags."""

from __future__ import annotations

import logging
import re
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.base import ToolError, tool
from tools.context import ToolContext
from tools.filing.cabinet import _doc_dict, _get_doc
from tools.filing.sources import _MONTHS, _STOPWORDS, _filing, _tags, _type, slug
from tools.providers.local.filing import (
    FiledDocument,
)

if TYPE_CHECKING:
    pass


log = logging.getLogger(__name__)


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
