"""Tests of the local sentence embeddings and their use in a persisted Chroma collection.

Everything runs offline on the model that the installed packages carry; the
OpenAI-compatible path talks to a stub server on loopback.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from tools.providers.memory import embeddings as emb
from tools.providers.memory.embeddings import (
    ENV_MODEL_DIR,
    EmbeddingError,
    EmbeddingModelMissing,
    OnnxMiniLM,
    OpenAIEmbeddings,
)

# The model packages are dependencies of the project: a missing model is a
# failure here, never a skip.
emb.resolve_model_files()

QUERY = "Can we move Tuesday's call with Dana to 3pm?"
PARAPHRASE = "Could the Tuesday meeting with Dana be rescheduled to three in the afternoon?"
UNRELATED = "Attached is invoice 2231 for the October office cleaning."


@pytest.fixture(autouse=True)
def _default_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_MODEL_DIR, raising=False)


@pytest.fixture(scope="module")
def ef() -> OnnxMiniLM:
    return OnnxMiniLM().load()


def test_import_is_cheap() -> None:
    code = (
        "import sys, tools.providers.memory.embeddings\n"
        "heavy = {'numpy', 'onnxruntime', 'tokenizers', 'chromadb', 'openai', 'safetensors'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_shipped_model_is_found_without_network() -> None:
    files = emb.resolve_model_files()
    assert files.tokenizer.name == "tokenizer.json"
    assert files.onnx is not None and files.onnx.name == "model.onnx"
    assert files.variant == "onnx-int8"
    assert "site-packages" in str(emb.default_model_dir())
    assert OnnxMiniLM().model_id == "all-MiniLM-L6-v2/onnx-int8"


def test_missing_model_dir_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_MODEL_DIR, str(tmp_path / "nowhere"))
    with pytest.raises(EmbeddingModelMissing, match=ENV_MODEL_DIR) as info:
        emb.default_model_dir()
    assert "pip install" in str(info.value)
    with pytest.raises(EmbeddingModelMissing):
        OnnxMiniLM()(["hello"])


def test_model_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = emb.resolve_model_files()
    assert shipped.onnx is not None
    expected = OnnxMiniLM()([QUERY])[0]
    (tmp_path / "onnx").mkdir()
    (tmp_path / "tokenizer.json").symlink_to(shipped.tokenizer)
    (tmp_path / "onnx" / "model.onnx").symlink_to(shipped.onnx)
    monkeypatch.setenv(ENV_MODEL_DIR, str(tmp_path))
    files = emb.resolve_model_files()
    assert files.onnx == tmp_path / "onnx" / "model.onnx"
    assert files.safetensors is None
    assert OnnxMiniLM().model_id.startswith("all-MiniLM-L6-v2/onnx:")
    assert np.allclose(OnnxMiniLM()([QUERY])[0], expected, atol=1e-6)
    # The shipped directory itself has no graph: given explicitly, it runs the fp32 weights.
    assert OnnxMiniLM(shipped.tokenizer.parent).model_id == "all-MiniLM-L6-v2/fp32"


def test_shape_dtype_and_unit_length(ef: OnnxMiniLM) -> None:
    texts = [QUERY, "", "x " * 600, "Grüße aus München — café?"]
    vectors = ef(texts)
    assert len(vectors) == len(texts)
    for v in vectors:
        assert v.shape == (384,) and v.dtype == np.float32
        assert abs(float(np.linalg.norm(v)) - 1.0) < 1e-5
    assert ef([]) == []


def test_deterministic_and_order_independent(ef: OnnxMiniLM) -> None:
    texts = [QUERY, UNRELATED, PARAPHRASE, "ok"]
    first, second = np.stack(ef(texts)), np.stack(ef(texts))
    assert np.array_equal(first, second)
    reversed_ = np.stack(ef(texts[::-1]))[::-1]
    assert np.allclose(first, reversed_, atol=1e-5)
    alone = np.stack([ef([t])[0] for t in texts])
    assert np.allclose(first, alone, atol=1e-4)


def test_paraphrase_is_closer_than_unrelated(ef: OnnxMiniLM) -> None:
    q, p, u = ef([QUERY, PARAPHRASE, UNRELATED])
    assert float(q @ p) > 0.6
    assert float(q @ p) > float(q @ u) + 0.3


def test_dynamic_padding_matches_padding_to_256(ef: OnnxMiniLM) -> None:
    runtime = ef._runtime()
    texts = [QUERY, UNRELATED, "Thanks!", PARAPHRASE + " " + UNRELATED * 3]
    ids = runtime.tokenize(texts)
    assert max(len(row) for row in ids) < 256
    dynamic = runtime.embed_ids(ids)
    fixed = runtime.embed_ids(ids, pad_to=256)
    assert np.abs(dynamic - fixed).max() < 1e-4


def test_truncates_at_256_tokens(ef: OnnxMiniLM) -> None:
    runtime = ef._runtime()
    long_text = "please confirm the meeting " * 200
    assert len(runtime.tokenize([long_text])[0]) == 256
    same_start = long_text + " and here is a different ending about invoices " * 50
    a, b = ef([long_text, same_start])
    assert np.allclose(a, b, atol=1e-6)


def test_int8_graph_agrees_with_fp32_reference(ef: OnnxMiniLM) -> None:
    assert emb.resolve_model_files().safetensors is not None
    reference = OnnxMiniLM(backend="numpy")
    assert reference.model_id == "all-MiniLM-L6-v2/fp32"
    texts = [QUERY, PARAPHRASE, UNRELATED, "Thanks, see you then."]
    cos = (np.stack(ef(texts)) * np.stack(reference(texts))).sum(axis=1)
    assert cos.min() > 0.99


def test_instances_share_one_loaded_model(ef: OnnxMiniLM) -> None:
    assert OnnxMiniLM()._runtime() is ef._runtime()


def test_config_round_trip_and_refuses_model_swap() -> None:
    ef = OnnxMiniLM(max_length=128)
    config = json.loads(json.dumps(ef.get_config()))
    again = OnnxMiniLM.build_from_config(config)
    assert again == ef and again.max_length == 128 and not again.is_legacy()
    assert ef.default_space() == "cosine"
    with pytest.raises(ValueError, match="re-embed"):
        ef.validate_config_update(config, OnnxMiniLM(backend="numpy").get_config())


# --------------------------------------------------------------------------- Chroma


@pytest.fixture
def chroma(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    import chromadb
    from chromadb.api.client import SharedSystemClient
    from chromadb.api.types import DefaultEmbeddingFunction

    def refuse(self: object, input: object) -> object:
        raise AssertionError("Chroma's default embedding function (a download) was used")

    monkeypatch.setattr(DefaultEmbeddingFunction, "__call__", refuse)
    yield chromadb
    SharedSystemClient.clear_system_cache()


def _client(chromadb: object, path: Path) -> object:
    from chromadb.config import Settings

    return chromadb.PersistentClient(  # type: ignore[attr-defined]
        path=str(path), settings=Settings(anonymized_telemetry=False)
    )


MAILS = {
    "m1": "Dana: can we push Tuesday's budget review to Thursday morning?",
    "m2": "Your flight LH 1234 to Lisbon on 4 December is confirmed.",
    "m3": "Invoice 2231 for the October office cleaning is attached; due in 14 days.",
    "m4": "Reminder: the dentist appointment is on Friday at 8:30.",
}


def test_chroma_collection_add_query_and_reopen(chroma: object, tmp_path: Path) -> None:
    from chromadb.api.client import SharedSystemClient
    from chromadb.utils.embedding_functions import known_embedding_functions

    path = tmp_path / "memory"
    client = _client(chroma, path)
    col = client.get_or_create_collection(  # type: ignore[attr-defined]
        "ada", embedding_function=emb.for_chroma(OnnxMiniLM())
    )
    col.add(ids=list(MAILS), documents=list(MAILS.values()))
    hit = col.query(query_texts=["when is the budget meeting moved to?"], n_results=2)
    assert hit["ids"][0][0] == "m1"
    assert col.configuration["hnsw"]["space"] == "cosine"

    # As a new process would: no registration left behind, no cached client.
    SharedSystemClient.clear_system_cache()
    known_embedding_functions.pop(OnnxMiniLM.name(), None)
    emb._REGISTERED = False

    client = _client(chroma, path)
    col = client.get_collection(  # type: ignore[attr-defined]
        "ada", embedding_function=emb.for_chroma(OnnxMiniLM())
    )
    assert col.count() == 4
    assert isinstance(col.configuration["embedding_function"], OnnxMiniLM)
    hit = col.query(query_texts=["bill for cleaning the office"], n_results=1)
    assert hit["ids"][0] == ["m3"]
    # With the class registered, Chroma rebuilds the function from the stored config.
    col = client.get_collection("ada")  # type: ignore[attr-defined]
    hit = col.query(query_texts=["trip to Portugal"], n_results=1)
    assert hit["ids"][0] == ["m2"]


def test_chroma_without_registration_cannot_rebuild(chroma: object, tmp_path: Path) -> None:
    from chromadb.api.client import SharedSystemClient
    from chromadb.utils.embedding_functions import known_embedding_functions

    client = _client(chroma, tmp_path / "memory")
    client.create_collection("bob", embedding_function=OnnxMiniLM())  # type: ignore[attr-defined]
    SharedSystemClient.clear_system_cache()
    known_embedding_functions.pop(OnnxMiniLM.name(), None)
    emb._REGISTERED = False
    try:
        client = _client(chroma, tmp_path / "memory")
        col = client.get_collection("bob", embedding_function=OnnxMiniLM())  # type: ignore[attr-defined]
        with pytest.raises(ValueError, match="register_embedding_function"):
            _ = col.configuration
    finally:
        emb.register_with_chroma()


# --------------------------------------------------------------------------- OpenAI-compatible


class _EmbeddingStub(BaseHTTPRequestHandler):
    seen: list[dict[str, object]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _EmbeddingStub.seen.append(
            {"path": self.path, "body": body, "auth": self.headers["Authorization"]}
        )
        texts = body["input"]
        data = [
            {"object": "embedding", "index": i, "embedding": [float(len(t)), 0.0, 3.0, 4.0]}
            for i, t in reversed(list(enumerate(texts)))
        ]
        payload = json.dumps(
            {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def stub_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EmbeddingStub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _EmbeddingStub.seen.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_openai_compatible_endpoint(stub_url: str) -> None:
    ef = OpenAIEmbeddings("nomic-embed-text", base_url=stub_url, batch_size=2)
    vectors = ef(["abc", "", "abcdef"])
    assert [v.shape for v in vectors] == [(4,)] * 3
    assert np.allclose(vectors[0], np.array([3, 0, 3, 4]) / np.sqrt(34), atol=1e-6)
    assert np.allclose(vectors[1], [0, 0, 0.6, 0.8])
    assert len(_EmbeddingStub.seen) == 2
    assert _EmbeddingStub.seen[0]["path"] == "/v1/embeddings"
    assert _EmbeddingStub.seen[0]["auth"] == "Bearer not-needed"
    assert "key" not in json.dumps(ef.get_config()).replace("api_key_env", "")
    assert OpenAIEmbeddings.build_from_config(ef.get_config()) == ef


def test_openai_hosted_without_key_says_what_to_do() -> None:
    with pytest.raises(EmbeddingError, match="OPENAI_API_KEY"):
        OpenAIEmbeddings("text-embedding-3-small")(["hi"])


def test_factory_picks_by_setting() -> None:
    assert isinstance(emb.make_embedding_function(None), OnnxMiniLM)
    assert isinstance(emb.make_embedding_function("local"), OnnxMiniLM)
    remote = emb.make_embedding_function("text-embedding-3-small", base_url="http://127.0.0.1:1/v1")
    assert isinstance(remote, OpenAIEmbeddings) and remote.model == "text-embedding-3-small"
