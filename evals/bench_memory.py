"""Benchmark of memory: ingest rate, recall latency at 10k and 100k messages, recall quality.

Run with ``.venv/bin/python -m evals.bench_memory`` (``--help`` for options).
It generates the archive of :mod:`evals.corpus`, ingests it end to end through
``run_ingest`` (parsing, quote stripping, chunking, FTS, embedding) into a
fresh memory, then measures recall latency (merged, dense, keyword) and
recall@5 / MRR@10 over the labelled queries, and finally grows the memory of
the same principal to ``--scale`` messages and measures latency again.

At the 100k point the extra messages are parsed and word-indexed for real,
but by default their vectors are *not* computed by the model (that takes
hours on two cores): each extra chunk gets the vector of a random real chunk
of the first corpus plus small noise. The bench says so in its output;
``--scale-embeddings real`` embeds them for real instead.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from evals.corpus import generate
from evals.corpus_archive import Corpus, Query

MODES = ("merged", "dense", "keyword")


# --------------------------------------------------------------------------- metrics


def recall_at(ranking: Sequence[str], answers: Sequence[str], k: int = 5) -> float:
    """Share of a query's answers found among the first ``k`` results."""
    if not answers:
        return 0.0
    top = set(ranking[:k])
    return sum(1 for a in answers if a in top) / len(answers)


def reciprocal_rank(ranking: Sequence[str], answers: Sequence[str], k: int = 10) -> float:
    """1 / position of the first answer within the first ``k`` results (0 when none)."""
    wanted = set(answers)
    for i, item in enumerate(ranking[:k], 1):
        if item in wanted:
            return 1.0 / i
    return 0.0


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def score(
    rankings: dict[str, list[str]], queries: Sequence[Query]
) -> dict[str, float | dict[str, float]]:
    """recall@5 and MRR@10 over ``queries`` (by query id), overall and per query kind."""
    out: dict[str, float | dict[str, float]] = {}
    r5 = [recall_at(rankings[q.id], q.answers) for q in queries]
    rr = [reciprocal_rank(rankings[q.id], q.answers) for q in queries]
    out["recall@5"] = statistics.fmean(r5) if r5 else math.nan
    out["mrr"] = statistics.fmean(rr) if rr else math.nan
    for kind in sorted({q.kind for q in queries}):
        idx = [i for i, q in enumerate(queries) if q.kind == kind]
        out[kind] = {
            "recall@5": statistics.fmean(r5[i] for i in idx),
            "mrr": statistics.fmean(rr[i] for i in idx),
            "n": float(len(idx)),
        }
    return out


# --------------------------------------------------------------------------- helpers


def rss_mb() -> tuple[float, float]:
    """Current and peak resident memory of this process, in MB."""
    current = math.nan
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    current = int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return current, peak


def say(text: str) -> None:
    """Progress and results go to stderr, so --json output on stdout stays clean."""
    print(text, file=sys.stderr, flush=True)


class Ticker:
    """Prints rate and ETA every few seconds, as the CLI's progress bar would show them."""

    def __init__(self, label: str, every: float = 15.0) -> None:
        self.label, self.every = label, every
        self.total = 0
        self.done = 0
        self.t0 = self.last = time.perf_counter()

    def set_total(self, total: int) -> None:
        """Start counting towards ``total``."""
        self.total, self.done = total, 0
        self.t0 = self.last = time.perf_counter()

    def __call__(self, n: int) -> None:
        """Count ``n`` more done."""
        self.done += n
        now = time.perf_counter()
        if now - self.last >= self.every:
            self.last = now
            rate = self.done / max(now - self.t0, 1e-9)
            eta = (self.total - self.done) / rate if rate and self.total else math.nan
            say(f"  {self.label}: {self.done}/{self.total or '?'}  {rate:,.0f}/s  ETA {eta:,.0f} s")


def rankings_and_latency(
    memory: Any, queries: Sequence[Query], k: int = 10
) -> tuple[dict[str, dict[str, list[str]]], dict[str, list[float]]]:
    """Each mode's ranking of each query, and each call's latency in milliseconds."""
    rankings: dict[str, dict[str, list[str]]] = {m: {} for m in MODES}
    latency: dict[str, list[float]] = {m: [] for m in MODES}
    memory.recall("warm up the model", k=k)  # the first call loads the model
    for q in queries:
        for mode in MODES:
            t0 = time.perf_counter()
            hits = memory.recall(q.text, k=k, mode=mode)
            latency[mode].append((time.perf_counter() - t0) * 1000)
            rankings[mode][q.id] = [h.message_id for h in hits]
    return rankings, latency


def latency_line(latency: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """p50/p95 per mode."""
    return {
        m: {"p50_ms": percentile(v, 50), "p95_ms": percentile(v, 95)} for m, v in latency.items()
    }


def fill_vectors_from_sample(memory: Any, seed: int, noise: float = 0.02) -> int:
    """Give every not-yet-embedded item vectors copied from real chunks, plus noise.

    A shortcut for the scale test only: the vectors come from the model (they
    are real chunks of the first corpus) but do not belong to these texts. The
    items are chunked and stored by the memory's own embedding loop; only the
    vectors are made here.

    Returns:
        The number of items filled.
    """
    import numpy as np

    sample = memory.collection.get(include=["embeddings"])
    base = np.asarray(sample["embeddings"], dtype=np.float32)
    rng = np.random.default_rng(seed)

    def sampled(docs: list[str]) -> Any:
        vectors = base[rng.integers(0, len(base), len(docs))]
        vectors = vectors + rng.normal(0, noise, vectors.shape).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    return int(memory.embed_pending(batch=1000, vectors=sampled))


# --------------------------------------------------------------------------- the bench


def run(
    messages: int = 10_000,
    scale: int = 100_000,
    queries: int = 150,
    seed: int = 7,
    workdir: Path | None = None,
    scale_embeddings: str = "reuse",
    huge: bool = True,
    log: Callable[[str], None] = say,
) -> dict[str, Any]:
    """Run the benchmark; returns every number (also logged as it is measured)."""
    from agent.ingest import ATTACHMENT_TEXT_CHARS, run_ingest
    from tools.providers.memory.store import open_memory

    work = workdir or Path(tempfile.mkdtemp(prefix="bench-memory-"))
    work.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"messages": messages, "seed": seed, "workdir": str(work)}

    t0 = time.perf_counter()
    corpus: Corpus = generate(messages, seed, queries, huge_bytes=(31 << 20) if huge else 0)
    mbox = corpus.write_mbox(work / "corpus.mbox")
    corpus.write_queries(work / "corpus.queries.jsonl")
    result["generate_s"] = time.perf_counter() - t0
    log(
        f"corpus: {len(corpus.mails)} messages, {mbox.stat().st_size / 1e6:.1f} MB, "
        f"{len(corpus.queries)} queries, generated and written in {result['generate_s']:.1f} s"
    )

    memory = open_memory(work / "home", "bench", work / "home" / "bench", None)
    ticker = Ticker("reading")
    marks: dict[str, float] = {}

    def before_embedding(pending: int) -> None:
        marks["read"] = time.perf_counter()
        ticker.label = "embedding"
        ticker.set_total(pending)

    t0 = time.perf_counter()
    report = run_ingest(
        memory,
        [mbox],
        on_total=ticker.set_total,
        on_read=ticker,
        on_embedded=ticker,
        before_embedding=before_embedding,
    )
    t_end = time.perf_counter()
    read_s, embed_s = marks["read"] - t0, t_end - marks["read"]
    chunks = memory.collection.count()
    result["ingest"] = {
        "ingested": report.ingested,
        "unreadable": report.unreadable,
        "warnings": len(report.warnings),
        "total_s": t_end - t0,
        "msg_per_s": len(corpus.mails) / (t_end - t0),
        "parse_store_s": read_s,
        "parse_store_msg_per_s": len(corpus.mails) / read_s,
        "embed_s": embed_s,
        "embed_msg_per_s": report.embedded / embed_s if embed_s else math.nan,
        "chunks": chunks,
        "embed_chunks_per_s": chunks / embed_s if embed_s else math.nan,
    }
    ing = result["ingest"]
    log(
        f"ingest: {report.summary()}\n"
        f"  end to end {ing['total_s']:.0f} s = {ing['msg_per_s']:.1f} msg/s; "
        f"parse+store {ing['parse_store_s']:.1f} s ({ing['parse_store_msg_per_s']:,.0f} msg/s), "
        f"embedding {ing['embed_s']:.0f} s ({ing['embed_msg_per_s']:.1f} msg/s, "
        f"{chunks} chunks, {ing['embed_chunks_per_s']:.1f} chunks/s)"
    )
    for ref, why in report.unreadable:
        log(f"  unreadable {ref}: {why}")
    log(
        f"  {len(report.warnings)} stored with warnings (unknown charset, attachment text "
        f"cut at {ATTACHMENT_TEXT_CHARS:,} characters)"
    )

    rankings, latency = rankings_and_latency(memory, corpus.queries)
    result["latency_10k"] = latency_line(latency)
    result["quality"] = {m: score(rankings[m], corpus.queries) for m in MODES}
    _log_latency(log, f"recall latency at {memory.count()} items", result["latency_10k"])
    _log_quality(log, result["quality"], corpus.queries)
    result["rss_mb_after_10k"] = rss_mb()

    if scale > messages:
        result.update(grow(memory, corpus, scale, seed, work, scale_embeddings, log))
    current, peak = rss_mb()
    result["rss_mb"] = {"current": current, "peak": peak}
    log(f"memory: RSS {current:,.0f} MB now, {peak:,.0f} MB peak")
    memory.close()
    return result


def grow(
    memory: Any,
    corpus: Corpus,
    scale: int,
    seed: int,
    work: Path,
    scale_embeddings: str,
    log: Callable[[str], None] = say,
) -> dict[str, Any]:
    """Grow ``memory`` (holding ``corpus``) to ``scale`` messages; measure latency again."""
    from agent.ingest import run_ingest

    result: dict[str, Any] = {}
    extra = scale - len(corpus.mails)
    t0 = time.perf_counter()
    more = generate(extra, seed + 1, 0, huge_bytes=0)
    more_box = more.write_mbox(work / "more.mbox")
    del more
    t1 = time.perf_counter()
    ticker = Ticker("reading (scale)")
    rep = run_ingest(
        memory,
        [more_box],
        embed=scale_embeddings == "real",
        on_total=ticker.set_total,
        on_read=ticker,
        on_embedded=ticker,
    )
    t2 = time.perf_counter()
    filled = 0
    if scale_embeddings != "real":
        filled = fill_vectors_from_sample(memory, seed)
    t3 = time.perf_counter()
    how = (
        "embedded by the model"
        if scale_embeddings == "real"
        else f"NOT embedded by the model: {filled} items got copies of real chunk vectors "
        "of the first corpus plus noise (the words index is real)"
    )
    result["scale"] = {
        "items": memory.count(),
        "chunks": memory.collection.count(),
        "vectors": how,
        "generate_s": t1 - t0,
        "ingest_s": t2 - t1,
        "ingest_msg_per_s": extra / (t2 - t1),
        "vector_fill_s": t3 - t2,
        "ingested": rep.ingested,
    }
    sc = result["scale"]
    log(
        f"scale: +{extra} messages generated in {sc['generate_s']:.0f} s, read "
        f"in {sc['ingest_s']:.0f} s ({sc['ingest_msg_per_s']:,.0f} msg/s); vectors {how}"
        + (f" ({sc['vector_fill_s']:.0f} s)" if filled else "")
    )
    rankings, latency = rankings_and_latency(memory, corpus.queries)
    result["latency_scale"] = latency_line(latency)
    _log_latency(
        log,
        f"recall latency at {sc['items']} items ({sc['chunks']} chunks)",
        result["latency_scale"],
    )
    kw = score(rankings["keyword"], corpus.queries)
    result["keyword_quality_scale"] = kw
    log(
        f"  keyword quality at scale: recall@5 {kw['recall@5']:.3f}, MRR {kw['mrr']:.3f} "
        "(dense/merged quality at scale not reported: the extra vectors are not real)"
        if scale_embeddings != "real"
        else f"  keyword quality at scale: recall@5 {kw['recall@5']:.3f}, MRR {kw['mrr']:.3f}"
    )
    return result


def _log_latency(log: Callable[[str], None], title: str, lat: dict[str, dict[str, float]]) -> None:
    parts = [f"{m} p50 {v['p50_ms']:.1f} ms / p95 {v['p95_ms']:.1f} ms" for m, v in lat.items()]
    log(f"{title}: " + "; ".join(parts))


def _log_quality(
    log: Callable[[str], None], quality: dict[str, Any], queries: Sequence[Query]
) -> None:
    kinds = sorted({q.kind for q in queries})
    counts = ", ".join(f"{sum(q.kind == k for q in queries)} {k}" for k in kinds)
    log(f"quality over {len(queries)} labelled queries ({counts}): recall@5 / MRR@10")
    for mode, s in quality.items():
        per = "  ".join(f"{k} {s[k]['recall@5']:.2f}/{s[k]['mrr']:.2f}" for k in kinds)
        log(f"  {mode:8} all {s['recall@5']:.3f}/{s['mrr']:.3f}   {per}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark from the command line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--messages", type=int, default=10_000, help="Messages in the corpus.")
    ap.add_argument(
        "--scale", type=int, default=100_000, help="Grow to this many messages (0: skip)."
    )
    ap.add_argument("--queries", type=int, default=150, help="Labelled queries to ask.")
    ap.add_argument("--seed", type=int, default=7, help="Corpus seed.")
    ap.add_argument(
        "--scale-embeddings",
        choices=["reuse", "real"],
        default="reuse",
        help="At scale: reuse real vectors with noise (fast) or embed every message (hours).",
    )
    ap.add_argument("--workdir", type=Path, help="Keep the corpus and memory here.")
    ap.add_argument("--no-huge", action="store_true", help="Leave out the 31 MB message.")
    ap.add_argument("--json", type=Path, help="Also write every number to this file.")
    args = ap.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    result = run(
        args.messages,
        args.scale,
        args.queries,
        args.seed,
        args.workdir,
        args.scale_embeddings,
        not args.no_huge,
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
