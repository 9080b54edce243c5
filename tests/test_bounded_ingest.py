"""Bounded memory for ingest: archives are read one message at a time and embedded in bounded steps.

The peak memory itself is measured by ``evals/bench_ingest.py`` (100 MB and 1 GB
archives through the real ``secretary ingest``); these tests check the shapes
that keep it bounded: what is held, how much at once, and that nothing is lost.
"""

from __future__ import annotations

import mailbox
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent.ingest import count_messages, iter_source, run_ingest
from tools.providers.memory import embeddings as emb
from tools.providers.memory import store as memory_module
from tools.providers.memory.embeddings import TOKENS_PER_BATCH, WINDOW, OnnxMiniLM
from tools.providers.memory.store import chunk

HEAD = (
    b"From: Dana <dana@acme.com>\nTo: ada@example.com\nSubject: s%d\nMessage-ID: <b%d@acme.com>\n"
)


def _msg(i: int, body: bytes = b"Thursday works for the budget review.\n") -> bytes:
    return HEAD % (i, i) + b"\n" + body


def _stdlib(path: Path) -> list[bytes]:
    box = mailbox.mbox(path, create=False)
    try:
        return [box.get_bytes(key) for key in box.iterkeys()]
    finally:
        box.close()


def test_mbox_messages_are_the_bytes_the_standard_library_gives(tmp_path: Path) -> None:
    """Same bytes as ``mailbox.mbox``, so messages without a Message-ID keep their content id."""
    path = tmp_path / "a.mbox"
    junk = bytes(range(256)).replace(b"\n", b"") * 1200  # 300 kB without a newline
    path.write_bytes(
        b"From a@x Mon Nov 23 08:00:00 2026\n" + _msg(1) + b"\n\n\n"
        b"From b@x Mon Nov 23 08:00:00 2026\n" + _msg(2, b"no blank line before the next\n")
        + b"From c@x Mon Nov 23 08:00:00 2026\r\nX: 1\r\n\r\ncrlf\r\n\r\n"
        b"From d@x " + b"y" * 200_000 + b"\n" + _msg(4, junk + b"\n") + b"\n"
        b"From e@x\n\n"
    )  # fmt: skip
    ours = [raw.data for raw in iter_source(path)]
    assert ours == _stdlib(path)
    assert count_messages([path]) == 5


def test_a_message_over_the_limit_is_reported_by_size_and_the_next_is_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.mbox"
    big = _msg(2, (b"z" * 75 + b"\n") * 2000)
    path.write_bytes(b"".join(b"From x\n" + m + b"\n" for m in (_msg(1), big, _msg(3))))
    raws = list(iter_source(path, max_bytes=100_000))
    assert [r.ref.rsplit("#", 1)[1] for r in raws] == ["1", "2", "3"]
    assert raws[1].data is None and raws[1].problem.startswith("too large (0.2 MB")
    assert raws[0].data == _stdlib(path)[0] and raws[2].data == _stdlib(path)[2]


def test_model_batches_hold_at_most_the_token_budget_and_keep_the_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(emb.ENV_MODEL_DIR, raising=False)
    ef = OnnxMiniLM().load()
    runtime = ef._runtime()
    shapes: list[tuple[int, int]] = []
    real = runtime.embed_ids

    def recording(ids: Any, pad_to: int | None = None) -> Any:
        shapes.append((len(ids), max(len(row) for row in ids)))
        return real(ids, pad_to)

    long_text = " ".join(f"word{i}" for i in range(400))  # truncated at 256 tokens
    texts = [f"note {i} about the budget" if i % 7 else long_text for i in range(WINDOW + 9)]
    monkeypatch.setattr(runtime, "embed_ids", recording)
    together = ef(texts)
    monkeypatch.undo()
    assert all(n == 1 or n * width <= TOKENS_PER_BATCH for n, width in shapes)
    assert max(n for n, _ in shapes) <= ef.batch_size and sum(n for n, _ in shapes) == len(texts)
    alone = [ef([t])[0] for t in (texts[0], texts[1], texts[WINDOW + 8])]
    for got, want in zip((together[0], together[1], together[WINDOW + 8]), alone, strict=True):
        assert np.allclose(got, want, atol=1e-5)


class _Recording:
    """A real Chroma collection whose upserts are counted (and one can be made to fail)."""

    def __init__(self, collection: Any, fail_at: int = 0) -> None:
        self.collection = collection
        self.sizes: list[int] = []
        self.fail_at = fail_at

    def upsert(self, **kwargs: Any) -> Any:
        if self.fail_at and len(self.sizes) + 1 == self.fail_at:
            self.fail_at = 0
            raise RuntimeError("killed mid-ingest")
        self.sizes.append(len(kwargs["ids"]))
        return self.collection.upsert(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.collection, name)


def _memory(make_secretary: Any) -> Any:
    sec = make_secretary(None)
    return sec.workspace(sec.principal("ada")).memory


def test_embedding_hands_chroma_bounded_steps_and_an_interrupted_run_resumes(
    make_secretary: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memory_module, "CHUNKS_PER_UPSERT", 8)  # small steps, a fast test
    memory = _memory(make_secretary)
    text = " ".join(f"review{i}" for i in range(200))  # 2 chunks
    for i in range(30):
        memory.add(item_id=f"<n{i}@acme.com>", kind="mail", text=text, subject=f"s{i}")
    recording = _Recording(memory.collection, fail_at=2)
    memory._collection = recording
    with pytest.raises(RuntimeError, match="killed"):
        memory.embed_pending()
    per_item = len(chunk(f"s0\n{text}"))
    first = recording.sizes[0] // per_item
    assert memory.pending_embeddings() == 30 - first  # what reached Chroma is marked, only that
    assert memory.embed_pending() == 30 - first
    assert max(recording.sizes) < 8 + per_item
    assert memory.pending_embeddings() == 0 and recording.count() == 30 * per_item


def test_a_long_item_is_embedded_up_to_its_limit_and_found_by_words_in_full(
    make_secretary: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit = 3_000
    monkeypatch.setattr(memory_module, "EMBED_CHARS", limit)  # the same cut, fewer chunks
    memory = _memory(make_secretary)
    words = " ".join(f"log{i}" for i in range(5_000))
    memory.add(item_id="<log@acme.com>", kind="mail", text=words + " LATEWORD-4711", subject="Log")
    memory.embed_pending()
    assert memory.collection.count() == len(chunk("Log\n" + words[:limit]))
    [hit] = memory.recall("LATEWORD-4711", mode="keyword")
    assert hit.id == "<log@acme.com>"


def test_ingest_of_an_mbox_keeps_every_message_when_read_in_one_pass(
    make_secretary: Any, tmp_path: Path
) -> None:
    path = tmp_path / "a.mbox"
    path.write_bytes(b"".join(b"From x\n" + _msg(i) + b"\n" for i in range(50)))
    memory = _memory(make_secretary)
    report = run_ingest(memory, [path], embed=False)
    assert (report.ingested, len(report.unreadable)) == (50, 0)
    assert all(memory.has(f"<b{i}@acme.com>") for i in range(50))
