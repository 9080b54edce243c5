"""The generated mail corpus and its labelled queries: realistic, deterministic, honest labels."""

from __future__ import annotations

import mailbox
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from agent.ingest import attachment_text, run_ingest
from tools.providers.memory.store import new_text
from tools.providers.mime import parse_rfc822

# evals/ is not an installed package; it is imported from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from evals.bench_memory import percentile, recall_at, reciprocal_rank, score  # noqa: E402
from evals.corpus import generate  # noqa: E402
from evals.corpus_archive import Corpus, Query, load_queries, render  # noqa: E402


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return generate(300, seed=11, queries=20, huge_bytes=0)


def test_the_corpus_is_the_same_for_the_same_seed(corpus: Corpus) -> None:
    again = generate(300, seed=11, queries=20, huge_bytes=0)
    assert [render(m) for m in again.mails] == [render(m) for m in corpus.mails]
    assert again.queries == corpus.queries
    other = generate(300, seed=12, queries=20, huge_bytes=0)
    assert [render(m) for m in other.mails] != [render(m) for m in corpus.mails]


def test_the_corpus_has_threads_quotes_signatures_attachments_and_bad_mail(
    corpus: Corpus,
) -> None:
    mails = corpus.mails
    assert len(mails) == 300
    threads = Counter(m.thread_id for m in mails)
    assert max(threads.values()) >= 4 and len(threads) > 60
    replies = [m for m in mails if m.parents]
    assert all(m.subject.startswith(("Re: ", "AW: ", "RE: ")) for m in replies)
    assert all(m.thread_id == m.parents[0] for m in replies)
    assert all(" wrote:\n> " in m.quote or "schrieb" in m.quote or "a écrit" in m.quote
               for m in replies)  # fmt: skip
    assert any(m.signature.startswith("-- \n") for m in mails)
    assert any(m.signature and not m.signature.startswith("-- ") for m in mails)
    kinds = Counter(a.ctype for m in mails for a in m.attachments)
    assert kinds["text/plain"] and kinds["application/pdf"]
    assert any(m.html_only for m in mails) and any(m.lang == "de" for m in mails)
    assert any(b"=?utf-8?" in render(m) for m in mails)  # encoded-word headers
    assert {m.bad for m in mails} >= {
        "broken boundary", "unknown charset", "empty body", "no headers", "big text attachment"
    }  # fmt: skip
    assert Counter(q.kind for q in corpus.queries).keys() == {"exact", "semantic", "mixed"}


def own_text(data: bytes) -> str:
    """What a message's author wrote, as the ingest sees it: new text plus attachment text."""
    message = parse_rfc822(data, "archive")
    return new_text(message.body) + "\n" + attachment_text(data)[0]


def test_every_label_is_a_message_whose_own_text_holds_the_fact(
    corpus: Corpus, tmp_path: Path
) -> None:
    path = corpus.write_mbox(tmp_path / "c.mbox")
    texts: dict[str, str] = {}
    box = mailbox.mbox(path, create=False)
    try:
        for key in box.iterkeys():
            data = box.get_bytes(key)
            try:
                texts[parse_rfc822(data, "x").message_id] = own_text(data)
            except ValueError:
                continue
    finally:
        box.close()
    assert corpus.queries == load_queries(corpus.write_queries(tmp_path / "q.jsonl"))
    for q in corpus.queries:
        assert q.answers and all(q.fact in texts[a] for a in q.answers), q
        if q.kind == "exact":
            # Quoted copies in later replies do not count: only the answers say it themselves.
            holders = {mid for mid, text in texts.items() if q.text in text}
            assert holders == set(q.answers), q


def test_ingesting_the_corpus_reports_every_bad_message_and_keeps_the_rest(
    make_secretary: Any, tmp_path: Path
) -> None:
    big = generate(300, seed=11, queries=0, huge_bytes=2_000_000)
    path = big.write_mbox(tmp_path / "c.mbox")
    sec = make_secretary(None)
    memory = sec.workspace(sec.principal("ada")).memory
    report = run_ingest(memory, [path], embed=False, max_bytes=1_000_000)
    why = Counter(reason.split(":")[0].split(" (")[0] for _, reason in report.unreadable)
    bad = Counter(m.bad for m in big.mails)
    assert why == {
        "broken MIME": bad["broken boundary"],
        "empty body": bad["empty body"],
        "not a readable e-mail": bad["no headers"],
        "too large": 1,
    }
    notes = Counter(note.split(" ")[0] for _, note in report.warnings)
    assert notes == {"unknown": bad["unknown charset"], "text": bad["big text attachment"]}
    kept = [m for m in big.mails if m.bad in ("", "unknown charset", "big text attachment")]
    assert report.ingested == len(kept) and all(memory.has(m.message_id) for m in kept)


def test_metrics_on_a_toy_ranking() -> None:
    assert recall_at(["a", "b", "c", "d", "e", "f"], ["f"]) == 0.0
    assert recall_at(["a", "b", "x"], ["x", "y"]) == 0.5
    assert reciprocal_rank(["a", "b", "x"], ["x"]) == pytest.approx(1 / 3)
    assert reciprocal_rank(["a"] * 10 + ["x"], ["x"]) == 0.0
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0
    assert percentile(list(map(float, range(1, 101))), 95) == 95.0
    queries = [
        Query("q1", "exact", "t", ["x"], "f", "k"),
        Query("q2", "semantic", "t", ["y"], "f", "k"),
    ]
    s = score({"q1": ["x", "a"], "q2": ["a", "b", "y"]}, queries)
    assert s["recall@5"] == 1.0 and s["mrr"] == pytest.approx((1 + 1 / 3) / 2)
    assert s["semantic"] == {"recall@5": 1.0, "mrr": pytest.approx(1 / 3), "n": 1.0}


def test_the_scale_shortcut_fills_vectors_through_the_memorys_own_loop(tmp_path: Path) -> None:
    from evals.bench_memory import fill_vectors_from_sample
    from tools.providers.memory.store import open_memory

    memory = open_memory(tmp_path / "home", "bench", tmp_path / "home" / "bench", None)
    memory.add_note("Invoice INV-2026-0417 for the office cleaning is due on Friday.")
    assert memory.embed_pending() == 1
    long = " ".join(f"word{n}" for n in range(400))  # more than one chunk
    for n in range(3):
        memory.add_note(f"Budget review note {n}: {long}")
    assert memory.pending_embeddings() == 3
    assert fill_vectors_from_sample(memory, seed=1) == 3
    assert memory.pending_embeddings() == 0
    stored = memory.collection.get(include=["embeddings", "metadatas"])
    assert len(stored["ids"]) > 4  # the long notes were chunked as the memory chunks them
    assert {m["kind"] for m in stored["metadatas"]} == {"note"}
    norms = [sum(x * x for x in v) ** 0.5 for v in stored["embeddings"]]
    assert all(abs(n - 1) < 1e-4 for n in norms)
    memory.close()
