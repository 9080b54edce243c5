"""Memory with its items in PostgreSQL and its vectors on a Chroma server.

Everything here is real: the session's PostgreSQL server (a fresh database
per test) and the session's Chroma server (``chroma run`` on loopback), with
the shipped MiniLM making the vectors on this side.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from chroma_server import ChromaServer, _free_port, unique_principal

from tools.foundation.db import Storage
from tools.providers.memory.chroma import VectorStoreUnreachable
from tools.providers.memory.chroma import chroma_server as server_client
from tools.providers.memory.store import EmbeddingModelChanged, Memory, open_memory

BERLIN = ZoneInfo("Europe/Berlin")

MAIL = [
    (
        "Budget review",
        "dana@acme.com",
        "Can we move the budget review to Thursday at 10? The Q3 numbers are ready.",
    ),
    (
        "Invoice INV-2231",
        "billing@cleanco.de",
        "Please find invoice INV-2231 for the October office cleaning at Hauptstraße 12, "
        "10827 Berlin, due in 14 days.",
    ),
    (
        "Flight to Lisbon",
        "noreply@lufthansa.com",
        "Your flight LH1234 to Lisbon on 4 December is confirmed. Seat 3A.",
    ),
    ("Dinner", "rosa@example.org", "Shall we have dinner at Rosa's on Friday? My treat."),
]


OPENED: list[Memory] = []


@pytest.fixture(autouse=True)
def close_memories() -> Iterator[None]:
    """Close every memory a test opened (their database connections)."""
    yield
    while OPENED:
        OPENED.pop().close()


def machine(home: Path, principal: str, pg_url: str, chroma_url: str, **kw: Any) -> Memory:
    """A principal's memory as one machine with data directory ``home`` opens it."""
    root = home / "principals" / principal
    root.mkdir(parents=True, exist_ok=True)
    storage = Storage.for_principal(root, principal, pg_url)
    model = kw.pop("embedding_model", None)
    memory = open_memory(home, principal, root, model, storage=storage, chroma_url=chroma_url)
    OPENED.append(memory)
    return memory


def fill(memory: Memory) -> None:
    for i, (subject, sender, text) in enumerate(MAIL):
        memory.add(
            item_id=f"<m{i}@{memory.principal}>",
            kind="mail",
            text=text,
            message_id=f"<m{i}@{memory.principal}>",
            thread_id=f"t{i}",
            sender=f"Sender {i} <{sender}>",
            recipients=["ada@example.com"],
            subject=subject,
            date=datetime(2026, 10, 1 + i, 9, 0, tzinfo=BERLIN),
        )


def subjects(hits: list[Any]) -> list[str]:
    return [h.subject for h in hits]


def test_items_in_postgres_and_vectors_on_the_server_recall_by_meaning_and_by_term(
    tmp_path: Path, pg_url: str, chroma_url: str
) -> None:
    pid = unique_principal("ada")
    memory = machine(tmp_path / "home", pid, pg_url, chroma_url)
    fill(memory)
    assert memory.database.dialect == "postgres"
    assert not (tmp_path / "home" / "principals" / pid / "memory.sqlite").exists()
    assert memory.embed_pending() == 4 and memory.pending_embeddings() == 0
    assert not (tmp_path / "home" / "chroma").exists()  # nothing embedded locally
    names = {c.name for c in server_client(chroma_url).list_collections()}
    assert f"mem-{pid}" in names and memory.collection.count() == 4

    assert subjects(memory.recall("trip to Portugal", k=1, mode="dense")) == ["Flight to Lisbon"]
    assert subjects(memory.recall("when is the meeting about money", k=1)) == ["Budget review"]
    for term, subject in [
        ("INV-2231", "Invoice INV-2231"),
        ("inv-2231", "Invoice INV-2231"),
        ("2231", "Invoice INV-2231"),
        ("LH1234", "Flight to Lisbon"),
        ("billing@cleanco.de", "Invoice INV-2231"),
        ("cleanco", "Invoice INV-2231"),
        ("Hauptstraße 12", "Invoice INV-2231"),
        ("10827", "Invoice INV-2231"),
        ("Rosa's", "Dinner"),
    ]:
        hits = memory.recall(term, k=1, mode="keyword")
        assert subjects(hits) == [subject], term
        assert hits[0].matched_by == ["words"]
    # Query syntax in the words is only words.
    assert memory.recall("budget & !review | (x", k=1, mode="keyword")[0].subject == "Budget review"
    assert memory.recall("-- ' ; DROP TABLE items", mode="keyword") == []
    # Subject weighs more than text; more matching words rank higher.
    assert subjects(memory.recall("invoice cleaning", k=2, mode="keyword")) == ["Invoice INV-2231"]
    since = datetime(2026, 10, 3, tzinfo=BERLIN)
    assert set(subjects(memory.recall("dinner budget flight", since=since))) == {
        "Flight to Lisbon",
        "Dinner",
    }
    assert subjects(memory.recall("review", sender="dana@acme.com")) == ["Budget review"]
    assert memory.add(item_id=f"<m0@{pid}>", kind="mail", text="again") is False
    assert memory.count() == 4


def test_two_machines_sharing_postgres_and_chroma_see_the_same_memory(
    tmp_path: Path, pg_url: str, chroma_url: str
) -> None:
    pid = unique_principal("ada")
    first = machine(tmp_path / "machine-a", pid, pg_url, chroma_url)
    fill(first)
    first.embed_pending()
    second = machine(tmp_path / "machine-b", pid, pg_url, chroma_url)
    assert second.count() == 4 and second.pending_embeddings() == 0
    assert second.embedding_model() == first.embedding_model() != ""
    assert subjects(second.recall("trip to Portugal", k=1, mode="dense")) == ["Flight to Lisbon"]
    assert subjects(second.recall("LH1234", k=1, mode="keyword")) == ["Flight to Lisbon"]

    note = second.add_note("Ada prefers aisle seats on flights to Lisbon", kind="preference")
    assert first.has(note) and first.preferences() == [
        "Ada prefers aisle seats on flights to Lisbon"
    ]
    [hit] = first.recall("which seat does Ada like", k=1, mode="dense")
    assert hit.id == note  # embedded by the first machine on recall, stored on the server
    assert second.pending_embeddings() == 0


def test_two_principals_cannot_recall_each_others_items(
    tmp_path: Path, pg_url: str, chroma_url: str
) -> None:
    home = tmp_path / "home"
    ada = machine(home, unique_principal("ada"), pg_url, chroma_url)
    bob = machine(home, unique_principal("bob"), pg_url, chroma_url)
    fill(ada)
    ada.embed_pending()
    bob.add_note("Bob's dentist appointment is on Tuesday")
    for mode in ("merged", "dense", "keyword"):
        # Recall by meaning always returns the nearest: here only bob's own note.
        seen_by_bob = bob.recall("invoice INV-2231 cleaning", k=10, mode=mode)
        assert {h.kind for h in seen_by_bob} <= {"note"}
        seen_by_ada = ada.recall("dentist appointment Tuesday", k=10, mode=mode)
        assert {h.kind for h in seen_by_ada} <= {"mail"}
    assert bob.recall("INV-2231", mode="keyword") == []
    assert ada.recall("dentist", mode="keyword") == []
    assert ada.collection.name != bob.collection.name
    assert ada.database.schema != bob.database.schema
    assert (ada.count(), bob.count()) == (4, 1)


def test_an_unreachable_chroma_server_is_a_clear_sentence_and_words_still_work(
    tmp_path: Path, pg_url: str
) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    memory = machine(tmp_path / "home", unique_principal("ada"), pg_url, url)
    fill(memory)  # storing never needs the vectors
    assert subjects(memory.recall("LH1234", k=1, mode="keyword")) == ["Flight to Lisbon"]
    for call in (
        lambda: memory.recall("trip to Portugal"),
        lambda: memory.recall("trip to Portugal", mode="dense"),
        memory.embed_pending,
    ):
        with pytest.raises(VectorStoreUnreachable) as caught:
            call()
        message = str(caught.value)
        assert f"Cannot reach the Chroma server at {url}" in message
        assert "SECRETARY_CHROMA_URL" in message and "chroma run" in message
        assert "\n" not in message
    assert memory.pending_embeddings() == 4  # kept for when the server is back

    bad = machine(tmp_path / "home", unique_principal("bob"), pg_url, "ftp://somewhere")
    with pytest.raises(VectorStoreUnreachable, match="not an http://host:port address"):
        bad.recall("anything", mode="dense")


def test_reopening_with_another_embedding_model_is_refused(
    tmp_path: Path, pg_url: str, chroma_url: str
) -> None:
    from tools.providers.memory.embeddings import OnnxMiniLM, for_chroma

    pid = unique_principal("ada")
    memory = machine(tmp_path / "machine-a", pid, pg_url, chroma_url)
    fill(memory)
    memory.embed_pending()
    assert memory.embedding_model() == OnnxMiniLM().model_id

    # Another machine configured with another model: refused before anything is contacted.
    other = machine(
        tmp_path / "machine-b", pid, pg_url, chroma_url, embedding_model="text-embedding-3-small"
    )
    with pytest.raises(EmbeddingModelChanged, match="secretary ingest --reembed"):
        other.recall("trip to Portugal", mode="dense")
    assert subjects(other.recall("LH1234", k=1, mode="keyword")) == ["Flight to Lisbon"]

    # The fp32 model over the same server collection: refused too, and re-embedding works.
    client = server_client(chroma_url)
    fp32 = OnnxMiniLM(backend="numpy")
    root = tmp_path / "machine-b" / "principals" / pid

    def collection(name: str) -> Any:
        return client.get_or_create_collection(name, embedding_function=for_chroma(fp32))

    def drop(name: str) -> None:
        client.delete_collection(name)

    storage = Storage.for_principal(root, pid, pg_url)
    fp = Memory(root, pid, collection, fp32.model_id, drop, storage=storage)
    OPENED.append(fp)
    with pytest.raises(EmbeddingModelChanged):
        fp.recall("trip to Portugal", mode="dense")
    assert fp.reset_embeddings() == 4 and fp.embed_pending() == 4
    assert fp.embedding_model() == fp32.model_id
    assert subjects(fp.recall("trip to Portugal", k=1, mode="dense")) == ["Flight to Lisbon"]
    with pytest.raises(EmbeddingModelChanged):
        machine(tmp_path / "machine-a", pid, pg_url, chroma_url).recall("x", mode="dense")


def test_the_schema_is_migrated_once_with_a_gin_index(tmp_path: Path, pg_url: str) -> None:
    pid = unique_principal("ada")
    first = machine(tmp_path / "home", pid, pg_url, "http://127.0.0.1:9")
    again = machine(tmp_path / "other", pid, pg_url, "http://127.0.0.1:9")
    rows = again.database.fetchall(
        "SELECT version FROM schema_migrations WHERE component = 'memory'"
    )
    assert [r["version"] for r in rows] == [1]
    index = first.database.fetchone(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()"
        " AND indexname = 'items_search'"
    )
    assert index is not None and "gin" in index["indexdef"].lower()
    assert "PRAGMA" not in str(first.database.tables())


def test_the_chroma_server_started_quickly(chroma_server: ChromaServer) -> None:
    """The session server is up (its start time is reported with -s)."""
    start = time.monotonic()
    assert server_client(chroma_server.url).heartbeat() > 0
    print(f"\nChroma server started in {chroma_server.started_in:.2f} s", end="")
    assert chroma_server.started_in < 60 and time.monotonic() - start < 5
