"""Benchmark of ``secretary ingest`` on large mbox archives: messages per second and peak memory.

Run with ``.venv/bin/python -m evals.bench_ingest`` (``--help`` for options;
``--quick`` for a 20 MB archive). For each size (by default 100 MB and 1 GB)
it writes an mbox into a temporary directory, message by message, and runs the
installed ``secretary ingest --json`` on it as its own process, with a data
directory of its own (made by ``secretary init``). Nothing leaves the machine.

The archive is the mail of :mod:`evals.corpus` (threads, quotes, signatures,
HTML-only, German and French mail, a share of deliberately broken messages)
made from seeds round after round, so it never sits in memory. With the
default ``--mix realistic``, a quarter of the messages also carry one or two
binary attachments (PDF, JPEG, DOCX, XLSX: random bytes, as incompressible as
real ones) of a log-normal size with a median of 60 kB (at most 12 MB), 3 % carry a
CSV whose text is remembered, and one message in each 250 MB (the first at
half the archive, from 60 MB up) carries a 20 MB scan, which is parsed (it is
under the 30 MB limit). That gives about 60 kB a message (16,459 in 1 GB),
near what mail archives with attachments average. ``--mix text`` leaves the attachments out
(about 2.5 kB a message): the same bytes then hold some 25 times as many
messages to embed, which measures what grows with the number of chunks.

Measured: wall time, messages/s and MB/s end to end; the reading phase (until the
number of stored items stops growing, polled read-only from the memory's
SQLite file: every message is stored before the first is embedded) and the
embedding phase (loading the model included) with their rates; the peak resident memory of the
ingest process (``ru_maxrss`` from ``wait4``) and the highest RSS sampled in
each phase; stored + reported against the messages written.

What the peak is made of: a bounded working set (one message at a time, at
most 64 items and about 256 chunks per embedding step, model batches of at
most 512 tokens), plus Chroma's vector index of the principal, which
embedded Chroma keeps in memory whole: about 2.5 kB per chunk. That term
grows with what is stored, not with how it is read; the bench reports the
chunk count so it can be told apart (a Chroma server, ``SECRETARY_CHROMA_URL``,
keeps it out of the process).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from evals.bench_cli import environment, prepare, secretary_script
from evals.corpus import generate
from evals.corpus_archive import Attachment, Mail, render

Mix = Literal["realistic", "text"]

LIMIT_MB = 400.0
"""The promised bound on the peak resident memory of ``secretary ingest``."""

_BINARY = (
    ("scan.pdf", "application/pdf", b"%PDF-1.7\n"),
    ("photo.jpg", "image/jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"),
    (
        "report.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        b"PK\x03\x04",
    ),
    ("figures.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK"),
)
BIG_BYTES = 20_000_000
"""The scan attached once per :data:`BIG_EVERY` bytes (about 27 MB once encoded)."""
BIG_EVERY = 250_000_000


def say(text: str) -> None:
    """Progress goes to stderr; the results are printed to stdout."""
    print(text, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the archive


def _csv(rnd: random.Random) -> Attachment:
    rows = ["date,item,quantity,amount_eur"]
    for _ in range(rnd.randint(100, 1500)):
        day = f"2026-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
        item = rnd.choice(["chairs", "desks", "toner", "catering", "travel", "licences"])
        rows.append(
            f"{day},{item},{rnd.randint(1, 40)},{rnd.randint(10, 9000)}.{rnd.randint(0, 99):02d}"
        )
    return Attachment("orders.csv", "text/plain", ("\n".join(rows) + "\n").encode())


def _binary(rnd: random.Random, size: int) -> Attachment:
    name, ctype, magic = rnd.choice(_BINARY)
    return Attachment(name, ctype, magic + rnd.randbytes(max(0, size - len(magic))))


def _mails(seed: int) -> Iterator[Mail]:
    """Corpus mail without end: rounds of 1,000 from successive seeds, ids made unique."""
    for n in range(1_000_000):
        corpus = generate(1000, seed * 1_000_003 + n, queries=0, huge_bytes=0)
        tag = f".r{n}@"
        for m in corpus.mails:
            m.message_id = m.message_id.replace("@", tag, 1)
            m.thread_id = m.thread_id.replace("@", tag, 1)
            m.parents = [p.replace("@", tag, 1) for p in m.parents]
            yield m


def _entry(m: Mail) -> bytes:
    """One mbox entry: the From line, the message with body lines escaped, a blank line."""
    stamp = m.date.astimezone(ZoneInfo("UTC")).strftime("%a %b %d %H:%M:%S %Y")
    data = re.sub(rb"(?m)^From ", b">From ", render(m))
    end = b"\n" if data.endswith(b"\n") else b"\n\n"
    return f"From {m.sender[1]} {stamp}\n".encode() + data + end


def write_archive(
    path: Path, target_bytes: int, seed: int = 7, mix: Mix = "realistic"
) -> dict[str, int]:
    """Write an mbox of about ``target_bytes`` to ``path``, one message at a time.

    Returns:
        What was written: messages, bytes, attachments and 20 MB scans.
    """
    rnd = random.Random(seed)
    counts = {"messages": 0, "bytes": 0, "binary_attachments": 0, "csv": 0, "scans": 0}
    # The first scan at half the archive (or at 125 MB), then one every 250 MB.
    next_big = min(BIG_EVERY // 2, target_bytes // 2) if target_bytes >= 60_000_000 else math.inf
    with open(path, "wb") as fh:
        for m in _mails(seed):
            if counts["bytes"] >= target_bytes:
                break
            if mix == "realistic" and not m.bad:
                if counts["bytes"] >= next_big:
                    m.attachments.append(_binary(rnd, BIG_BYTES))
                    counts["scans"] += 1
                    next_big += BIG_EVERY
                elif rnd.random() < 0.25:
                    for _ in range(rnd.choice((1, 1, 1, 2))):
                        size = int(rnd.lognormvariate(math.log(60_000), 1.2))
                        m.attachments.append(_binary(rnd, min(size, 12_000_000)))
                        counts["binary_attachments"] += 1
                if rnd.random() < 0.03:
                    m.attachments.append(_csv(rnd))
                    counts["csv"] += 1
            entry = _entry(m)
            fh.write(entry)
            counts["bytes"] += len(entry)
            counts["messages"] += 1
    return counts


# --------------------------------------------------------------------------- one run


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _embedded(home: Path) -> tuple[int, int] | None:
    """Items stored and items embedded so far, read from the memory's SQLite file."""
    found = sorted(home.glob("principals/*/memory.sqlite"))
    if not found:
        return None
    try:
        db = sqlite3.connect(f"file:{found[0]}?mode=ro", uri=True, timeout=1)
    except sqlite3.Error:
        return None
    try:
        row = db.execute("SELECT count(*), coalesce(sum(embedded), 0) FROM items").fetchone()
    except sqlite3.Error:
        return None  # not created yet, or busy: ask again at the next poll
    finally:
        db.close()
    return int(row[0]), int(row[1])


def run_ingest(mbox: Path, home: Path, *, embed: bool = True, tick: float = 0.25) -> dict:
    """Run ``secretary ingest --json MBOX`` as its own process; measure it while it runs."""
    env = environment(home)
    prepare(home, env)
    cmd = [str(secretary_script()), "ingest", "--json", str(mbox)]
    if not embed:
        cmd.append("--no-embed")
    out_file, err_file = home / "ingest.out", home / "ingest.err"
    t0 = time.perf_counter()
    with open(out_file, "wb") as out, open(err_file, "wb") as err:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err)
        samples: list[tuple[float, float, int]] = []  # (seconds, RSS MB, items stored)
        last_say = t0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            now = time.perf_counter()
            rss = _rss_mb(proc.pid)
            counts = _embedded(home)
            stored = counts[0] if counts else (samples[-1][2] if samples else 0)
            samples.append((now - t0, rss, stored))
            if now - last_say >= 15 and counts:
                last_say = now
                say(
                    f"  {now - t0:5.0f} s: {counts[0]} stored, {counts[1]} embedded, "
                    f"RSS {rss:.0f} MB"
                )
            time.sleep(tick)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4 above
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(
            f"secretary ingest failed ({proc.returncode}): {err_file.read_text(errors='replace')}"
        )
    report = json.loads(out_file.read_text())
    # Every message is stored before the first is embedded: reading ends when the count stops.
    final = max((n for _, _, n in samples), default=0)
    read_s = next((t for t, _, n in samples if n >= final), wall) if embed else wall
    read_rss = max((r for t, r, _ in samples if t <= read_s), default=0.0)
    embed_rss = max((r for t, r, _ in samples if t > read_s), default=0.0)
    return {
        "wall_s": wall,
        "read_s": read_s,
        "embed_s": wall - read_s,
        "peak_rss_mb": usage.ru_maxrss / 1024,  # kB on Linux
        "read_phase_rss_mb": read_rss,
        "embed_phase_rss_mb": embed_rss,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "ingested": report["ingested"],
        "duplicates": report["duplicates"],
        "embedded": report["embedded"],
        "unreadable": len(report["unreadable"]),
        "warnings": len(report["warnings"]),
    }


def _chunks(home: Path) -> int:
    """Chunks in the principal's vector collection (opened after the ingest ended)."""
    from tools.providers.memory.store import open_memory

    roots = sorted(home.glob("principals/*/memory.sqlite"))
    if not roots:
        return 0
    root = roots[0].parent
    memory = open_memory(home, root.name, root, None)
    try:
        return int(memory.collection.count())
    finally:
        memory.close()


def bench_size(size_mb: float, work: Path, seed: int, mix: Mix, embed: bool) -> dict[str, Any]:
    """Write one archive, ingest it, and return every number."""
    mbox = work / f"archive-{size_mb:g}MB-{mix}.mbox"
    t0 = time.perf_counter()
    written = write_archive(mbox, int(size_mb * 1_000_000), seed, mix)
    gen_s = time.perf_counter() - t0
    mb = written["bytes"] / 1e6
    say(
        f"archive {size_mb:g} MB ({mix}): {written['messages']:,} messages, {mb:,.1f} MB, "
        f"{written['binary_attachments']:,} binary attachments, {written['csv']} CSV, "
        f"{written['scans']} scans of 20 MB; written in {gen_s:.0f} s"
    )
    home = work / f"home-{size_mb:g}"
    shutil.rmtree(home, ignore_errors=True)
    run = run_ingest(mbox, home, embed=embed)
    run["chunks"] = _chunks(home) if embed else 0
    total = written["messages"]
    accounted = run["ingested"] + run["duplicates"] + run["unreadable"]
    result = {
        "size_mb": size_mb,
        "mix": mix,
        "archive": written,
        "generate_s": gen_s,
        **run,
        "accounted": accounted,
        "msg_per_s": total / run["wall_s"],
        "mb_per_s": mb / run["wall_s"],
        "read_msg_per_s": total / run["read_s"] if run["read_s"] else math.nan,
        "embed_items_per_s": run["embedded"] / run["embed_s"] if run["embed_s"] else math.nan,
        "embed_chunks_per_s": run["chunks"] / run["embed_s"] if run["embed_s"] else math.nan,
        "within_limit": run["peak_rss_mb"] < LIMIT_MB,
    }
    if mbox.exists():
        mbox.unlink()  # a 1 GB file is not left behind
    return result


def report_line(r: dict[str, Any]) -> str:
    """What one size measured, for a person."""
    verdict = "under" if r["within_limit"] else "OVER"
    lines = [
        f"ingest {r['size_mb']:g} MB ({r['mix']}): {r['archive']['messages']:,} messages in "
        f"{r['wall_s']:.0f} s = {r['msg_per_s']:.1f} msg/s, {r['mb_per_s']:.2f} MB/s "
        f"(CPU {r['cpu_s']:.0f} s)",
        f"  reading {r['read_s']:.0f} s ({r['read_msg_per_s']:,.0f} msg/s); embedding "
        f"{r['embed_s']:.0f} s ({r['embed_items_per_s']:.1f} items/s, {r['chunks']:,} chunks, "
        f"{r['embed_chunks_per_s']:.1f} chunks/s)",
        f"  stored {r['ingested']:,} + duplicates {r['duplicates']} + reported unreadable "
        f"{r['unreadable']} = {r['accounted']:,} of {r['archive']['messages']:,}; "
        f"{r['warnings']} stored with warnings",
        f"  peak RSS {r['peak_rss_mb']:.0f} MB ({verdict} the {LIMIT_MB:.0f} MB limit); highest "
        f"sampled while reading {r['read_phase_rss_mb']:.0f} MB, while loading the model and "
        f"embedding {r['embed_phase_rss_mb']:.0f} MB",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark from the command line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument(
        "--sizes", default="100,1000", help="Archive sizes in MB, comma-separated (100,1000)."
    )
    ap.add_argument("--quick", action="store_true", help="One 20 MB archive (for bench_all).")
    ap.add_argument(
        "--mix",
        choices=["realistic", "text"],
        default="realistic",
        help="Messages with attachments as archives have them, or text-only mail.",
    )
    ap.add_argument("--seed", type=int, default=7, help="Archive seed.")
    ap.add_argument("--no-embed", action="store_true", help="Only read and index words.")
    ap.add_argument("--workdir", type=Path, help="Write archives and data directories here.")
    ap.add_argument("--json", type=Path, help="Also write every number to this file.")
    args = ap.parse_args(argv)
    sizes = [20.0] if args.quick else [float(s) for s in args.sizes.split(",") if s.strip()]
    owned = args.workdir is None
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(work).free / 1e9
    say(f"working in {work} ({free:,.0f} GB free)")
    if free * 1000 < max(sizes) * 2.5:
        raise SystemExit(
            f"{work} has {free:.1f} GB free; an archive of {max(sizes):g} MB needs "
            f"about {max(sizes) * 2.5 / 1000:.1f} GB with its data directory."
        )
    results = []
    try:
        for size in sizes:
            r = bench_size(size, work, args.seed, args.mix, not args.no_embed)
            results.append(r)
            print(report_line(r), flush=True)
    finally:
        if owned:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        data = {"limit_mb": LIMIT_MB, "runs": results}
        args.json.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
