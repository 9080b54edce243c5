"""The local embedding model once loaded: tokenizer, forward pass, and batching.

One :class:`Runtime` per model and process, shared by every
:class:`~tools.providers.memory.embeddings.OnnxMiniLM` (see :func:`load_runtime`). The
forward pass is ONNX Runtime on the CPU, or the fp32 BERT encoder in plain NumPy where
no ONNX graph is installed. Texts are tokenized in windows of :data:`WINDOW`, sorted by
length, and run in batches of at most :data:`TOKENS_PER_BATCH` tokens; the module
docstring of :mod:`tools.providers.memory.embeddings` says why memory stays bounded.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tools.foundation.settings import environment

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from tools.providers.memory.embeddings import ModelFiles

    Vector = NDArray[np.float32]
    IntMatrix = NDArray[np.int64]

TOKENS_PER_BATCH = 512
"""Most tokens (texts x padded length) run through the model at once: 2 x 256 or 16 x 32.
A batch's tensors then add about 40 MB at their peak (80 MB at 1,024 tokens, 160 MB at
2,048), and embedding is no slower: the matrices are large enough for two cores."""
WINDOW = 256
"""Texts tokenized (and sorted by length) at once; a longer input is embedded window by window."""


class Runtime:
    """A loaded tokenizer and forward pass, shared by every instance using that model."""

    def __init__(self, files: ModelFiles, backend: Literal["onnx", "numpy"], max_length: int):
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(files.tokenizer))
        # The Hub's tokenizer.json pads every text to 128 tokens and truncates there;
        # this pads nothing (batches are padded here) and truncates at max_length.
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=max_length)
        self.tokenizer = tokenizer
        self.pad_id = tokenizer.token_to_id("[PAD]") or 0
        self.max_length = max_length
        self.backend = backend
        _return_large_blocks()
        self._forward: Callable[[IntMatrix, IntMatrix, IntMatrix], Vector]
        if backend == "onnx":
            assert files.onnx is not None
            self._forward = onnx_forward(files.onnx)
        else:
            assert files.safetensors is not None
            self._forward = NumpyBert(files.safetensors)

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, with [CLS]/[SEP], truncated, not padded."""
        return [e.ids for e in self.tokenizer.encode_batch(list(texts))]

    def embed_ids(self, ids: Sequence[Sequence[int]], pad_to: int | None = None) -> Vector:
        """Embed one batch of token id lists: pad, run, mean-pool, L2-normalise.

        Args:
            ids: Token ids per text.
            pad_to: Pad to this many tokens instead of to the longest text.

        Returns:
            A float32 array of shape ``(len(ids), 384)`` with unit rows.
        """
        import numpy as np

        width = max(len(row) for row in ids) if pad_to is None else pad_to
        input_ids = np.full((len(ids), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for i, row in enumerate(ids):
            input_ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        hidden = self._forward(input_ids, mask, np.zeros_like(input_ids))
        if hidden.ndim == 2:  # a graph that pools by itself
            pooled = hidden.astype(np.float32)
        else:
            weights = mask[:, :, None].astype(np.float32)
            summed = (hidden * weights).sum(axis=1)
            pooled = summed / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)

    def embed(
        self, texts: Sequence[str], batch_size: int, tokens: int = TOKENS_PER_BATCH
    ) -> list[Vector]:
        """Embed texts in batches of similar length; results keep the input order.

        Args:
            texts: The texts.
            batch_size: Most texts per batch.
            tokens: Most tokens per batch (texts times the longest one's length);
                a single longer text still runs, alone.
        """
        out: list[Vector] = []
        for start in range(0, len(texts), WINDOW):
            out.extend(self._embed_window(texts[start : start + WINDOW], batch_size, tokens))
        return out

    def _embed_window(self, texts: Sequence[str], batch_size: int, tokens: int) -> list[Vector]:
        ids = self.tokenize(texts)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out: list[Vector | None] = [None] * len(ids)
        start = 0
        while start < len(order):
            end = start + 1
            # Sorted by length, so the text at ``end`` is the longest of the grown batch.
            while (
                end < len(order)
                and end - start < batch_size
                and (end + 1 - start) * len(ids[order[end]]) <= tokens
            ):
                end += 1
            batch = order[start:end]
            vectors = self.embed_ids([ids[i] for i in batch])
            for i, vector in zip(batch, vectors, strict=True):
                out[i] = vector
            start = end
        return [v for v in out if v is not None]


def onnx_forward(path: Path) -> Callable[[IntMatrix, IntMatrix, IntMatrix], Vector]:
    """An ONNX Runtime session on the CPU, as a function of (ids, mask, token types)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    # Shapes change with every batch: an arena or a memory pattern would keep the
    # largest tensors ever seen (see the module's docstring).
    options.enable_cpu_mem_arena = False
    options.enable_mem_pattern = False
    threads = environment().embedding_threads
    if threads.isdigit():
        options.intra_op_num_threads = int(threads)
    session = ort.InferenceSession(
        str(path), sess_options=options, providers=["CPUExecutionProvider"]
    )
    names = {i.name for i in session.get_inputs()}
    outputs = [o.name for o in session.get_outputs()]
    output = "last_hidden_state" if "last_hidden_state" in outputs else outputs[0]

    def forward(ids: IntMatrix, mask: IntMatrix, types: IntMatrix) -> Vector:
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        result = session.run([output], {k: v for k, v in feed.items() if k in names})
        return result[0]

    return forward


_MMAP_THRESHOLD = 128 * 1024
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
_MALLOPT_DONE = False


def _return_large_blocks() -> None:
    """Make glibc serve allocations above 128 kB by ``mmap``, so freeing returns them.

    glibc starts so, but raises the threshold to the size of each large block
    freed (up to 32 MB); after the first batch, the model's tensors then come
    from the heap, whose freed middle is never given back, and the process
    grows by hundreds of megabytes. Fixing the threshold keeps it at 128 kB.
    Elsewhere (musl, macOS, Windows) nothing is changed. Once per process.
    """
    global _MALLOPT_DONE
    if _MALLOPT_DONE:
        return
    _MALLOPT_DONE = True
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return
    import ctypes

    try:
        ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
    except (OSError, AttributeError):
        pass  # not glibc after all: its own allocator decides


class NumpyBert:
    """The BERT encoder of MiniLM-L6 in plain NumPy, in fp32, from safetensors weights.

    It computes what sentence-transformers computes, in fp32, so it serves as the
    reference the int8 graph is measured against, and as the embedder where no
    ONNX graph is installed (three to four times slower than ONNX Runtime).
    """

    def __init__(self, path: Path):
        import json

        import numpy as np
        from safetensors.numpy import load_file

        config_file = path.parent / "config.json"
        config = json.loads(config_file.read_text()) if config_file.is_file() else {}
        self.heads = int(config.get("num_attention_heads", 12))
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        w = {k.removeprefix("bert."): v for k, v in load_file(str(path)).items()}
        self.word = w["embeddings.word_embeddings.weight"]
        self.position = w["embeddings.position_embeddings.weight"]
        self.token_type = w["embeddings.token_type_embeddings.weight"]
        self.ln = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers: list[dict[str, Any]] = []
        i = 0
        while f"encoder.layer.{i}.attention.self.query.weight" in w:
            p = f"encoder.layer.{i}."

            def lin(name: str, p: str = p) -> tuple[Any, Any]:
                return (np.ascontiguousarray(w[p + name + ".weight"].T), w[p + name + ".bias"])

            q, k, v = (
                lin("attention.self.query"),
                lin("attention.self.key"),
                lin("attention.self.value"),
            )
            self.layers.append(
                {
                    "qkv": (
                        np.concatenate([q[0], k[0], v[0]], axis=1),
                        np.concatenate([q[1], k[1], v[1]]),
                    ),
                    "attn_out": lin("attention.output.dense"),
                    "ln1": (
                        w[p + "attention.output.LayerNorm.weight"],
                        w[p + "attention.output.LayerNorm.bias"],
                    ),
                    "inter": lin("intermediate.dense"),
                    "out": lin("output.dense"),
                    "ln2": (w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]),
                }
            )
            i += 1

    def _layer_norm(self, x: Vector, wb: tuple[Any, Any]) -> Vector:
        import numpy as np

        mean = x.mean(axis=-1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        return ((x - mean) / np.sqrt(var + self.eps) * wb[0] + wb[1]).astype(np.float32)

    @staticmethod
    def _gelu(x: Vector) -> Vector:
        """Exact (erf) GELU; erf by Abramowitz-Stegun 7.1.26 (error below 1.5e-7)."""
        import numpy as np

        z = x / math.sqrt(2.0)
        a = np.abs(z)
        t = 1.0 / (1.0 + 0.3275911 * a)
        poly = t * (
            0.254829592
            + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
        )
        erf = np.sign(z) * (1.0 - poly * np.exp(-a * a))
        return (0.5 * x * (1.0 + erf)).astype(np.float32)

    def __call__(self, ids: IntMatrix, mask: IntMatrix, types: IntMatrix) -> Vector:
        """The last hidden state of a padded batch, like the ONNX graph's output."""
        import numpy as np

        batch, length = ids.shape
        hidden = self.word.shape[1]
        head = hidden // self.heads
        x = self.word[ids] + self.position[:length][None] + self.token_type[types]
        x = self._layer_norm(x, self.ln)
        bias = np.where(mask[:, None, None, :] > 0, 0.0, -1e30).astype(np.float32)
        for layer in self.layers:
            qkv = x @ layer["qkv"][0] + layer["qkv"][1]
            qkv = qkv.reshape(batch, length, 3, self.heads, head).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = (q @ k.transpose(0, 1, 3, 2)) / np.float32(math.sqrt(head)) + bias
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            probs = scores / scores.sum(axis=-1, keepdims=True)
            context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
            attn = context @ layer["attn_out"][0] + layer["attn_out"][1]
            x = self._layer_norm(attn + x, layer["ln1"])
            inter = self._gelu(x @ layer["inter"][0] + layer["inter"][1])
            x = self._layer_norm(inter @ layer["out"][0] + layer["out"][1] + x, layer["ln2"])
        return x.astype(np.float32)


_RUNTIMES: dict[tuple[str, str, str, int], Runtime] = {}
_RUNTIMES_LOCK = threading.Lock()


def load_runtime(files: ModelFiles, backend: Literal["onnx", "numpy"], max_length: int) -> Runtime:
    """The shared runtime of one model, backend and length, loaded the first time."""
    weights = files.onnx if backend == "onnx" else files.safetensors
    key = (backend, str(weights), str(files.tokenizer), max_length)
    with _RUNTIMES_LOCK:
        runtime = _RUNTIMES.get(key)
        if runtime is None:
            runtime = Runtime(files, backend, max_length)
            _RUNTIMES[key] = runtime
        return runtime
