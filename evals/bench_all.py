"""Run every benchmark and print one table of results with the machine they ran on.

    python -m evals.bench_all [--quick] [--only NAME ...] [--json FILE]

Each benchmark runs as its own process (``python -m evals.<name>``), with
``--json`` into a temporary directory where it has that option (the output
of the others is read instead), so one crash or slow import cannot skew the
others. ``--quick`` uses small parameters and keeps the whole run to about
three minutes on two cores; without it the run takes about ten (the memory
benchmark is run at 2,000 messages grown to 20,000, not its own default of
10,000 grown to 100,000; run ``python -m evals.bench_memory`` for that; the
ingest benchmark reads a 100 MB mbox, 20 MB with ``--quick``; run
``python -m evals.bench_ingest`` for 100 MB and 1 GB).

The table has one row per number: what was measured, the result and its
unit. ``--json FILE`` writes the table, the machine and every benchmark's own
numbers.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
Row = tuple[str, float, str]


@dataclass
class Bench:
    """One benchmark: its arguments (full and quick) and how to read its numbers."""

    name: str
    full: list[str]
    quick: list[str]
    rows: Callable[[dict[str, Any], str], list[Row]]
    json: bool = True
    """Whether it writes ``--json FILE``; otherwise its output is parsed."""
    timeout: float = 900.0
    optional: bool = False
    """Skipped (not failed) when its module is absent."""
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- readers


def _cli(d: dict[str, Any], _out: str) -> list[Row]:
    c = d["commands"]
    return [
        ("CLI cold start `secretary --help`, median", c["help"]["median_ms"], "ms"),
        ("CLI cold start `secretary --help`, p90", c["help"]["p90_ms"], "ms"),
        ("CLI cold start `secretary pending`, median", c["pending"]["median_ms"], "ms"),
        ("CLI cold start `secretary pending`, p90", c["pending"]["p90_ms"], "ms"),
    ]


def _agent(d: dict[str, Any], _out: str) -> list[Row]:
    s, p = d["secretary"], d["prebuilt"]
    return [
        ("agent task (ask+approve+act), median", s["task_ms"]["median_ms"], "ms"),
        ("agent task, p90", s["task_ms"]["p90_ms"], "ms"),
        ("  of which in plan node (2 turns)", s["plan_ms"]["median_ms"], "ms"),
        ("  of which in gate node", s["gate_ms"]["median_ms"], "ms"),
        ("  of which in act node", s["act_ms"]["median_ms"], "ms"),
        ("  of which framework and facade", s["framework_ms"]["median_ms"], "ms"),
        ("prebuilt ReAct agent task (no gate), median", p["task_ms"]["median_ms"], "ms"),
        ("agent task ratio secretary / prebuilt", d["ratio_median"], "x"),
    ]


def _prompt(d: dict[str, Any], _out: str) -> list[Row]:
    key = "o200k_base" if not d["tokenizer"].startswith("none") else "est_tokens"
    unit = "tokens (o200k)" if key == "o200k_base" else "tokens (chars/4)"
    out: list[Row] = []
    for label, v in d["variants"].items():
        rows = v["rows"]
        tools_key = next(k for k in rows if k.startswith("tools: all"))
        suffix = "" if label == "general" else f", {label} pack"
        out.append((f"planner system prompt{suffix}", rows["system prompt"][key], unit))
        if label == "general":
            out.append((f"planner tool schemas ({v['tools']} tools)", rows[tools_key][key], unit))
        out.append(
            (
                f"planner prompt, everyday request{suffix}",
                rows["total, everyday request"][key],
                unit,
            )
        )
        out.append(
            (f"planner prompt, every duty offered{suffix}",
             rows["total, every duty offered"][key], unit)
        )  # fmt: skip
    return out


def _autoresponder(d: dict[str, Any], _out: str) -> list[Row]:
    r = d["rule_decided"]
    out: list[Row] = [
        (f"mail desk end to end, {r['messages']} rule-decided", r["end_to_end_per_min"], "msg/min"),
        ("triage rules only (parsed mail)", r["triage_per_s"], "msg/s"),
        ("model calls for rule-decided mail", float(r["model_calls"]), "calls"),
    ]
    m = d.get("mixed")
    if m:
        out.append(
            (f"model calls per message, mixed {m['messages']}", m["model_calls_per_message"],
             "calls/msg")
        )  # fmt: skip
    return out


def _memory(d: dict[str, Any], _out: str) -> list[Row]:
    ing = d["ingest"]
    lat = d["latency_10k"]
    n = ing["ingested"]
    out: list[Row] = [
        ("memory ingest end to end (with embedding)", ing["msg_per_s"], "msg/s"),
        ("memory ingest parse+store", ing["parse_store_msg_per_s"], "msg/s"),
        (f"memory recall merged p50 at {n:,} messages", lat["merged"]["p50_ms"], "ms"),
        (f"memory recall keyword p50 at {n:,} messages", lat["keyword"]["p50_ms"], "ms"),
        ("memory recall@5 merged", d["quality"]["merged"]["recall@5"], "share"),
    ]
    if d.get("latency_scale") and d.get("scale"):
        items = d["scale"]["items"]
        out.append((f"memory recall merged p50 at {items:,} items",
                    d["latency_scale"]["merged"]["p50_ms"], "ms"))  # fmt: skip
    return out


def _ingest(d: dict[str, Any], _out: str) -> list[Row]:
    out: list[Row] = []
    for r in d["runs"]:
        size = f"{r['size_mb']:g} MB mbox"
        out += [
            (f"`secretary ingest` {size}, end to end", r["msg_per_s"], "msg/s"),
            (f"`secretary ingest` {size}, reading", r["read_msg_per_s"], "msg/s"),
            (f"`secretary ingest` {size}, embedding", r["embed_chunks_per_s"], "chunks/s"),
            (f"`secretary ingest` {size}, peak RSS (limit {d['limit_mb']:.0f})",
             r["peak_rss_mb"], "MB"),
        ]  # fmt: skip
    return [(w, v, u) for w, v, u in out if math.isfinite(v)]  # nan: a phase too short to time


def _triage(d: dict[str, Any], _out: str) -> list[Row]:
    rows: list[Row] = []
    for name, r in d["sets"].items():
        rules = r["rules"]
        rows += [
            (f"triage rules coverage ({name} set, {r['role']})", rules["coverage"], "share"),
            (f"triage rules precision where decided ({name} set)", rules["accuracy_decided"],
             "share"),
            (f"triage phishing recall ({name} set)", rules["per_label"]["phishing"]["recall"],
             "share"),
            (f"triage false phishing ({name} set)", float(len(rules["false_phishing"])),
             "messages"),
        ]  # fmt: skip
    speeds = [r["speed"]["rules_messages_per_second"] for r in d["sets"].values()]
    rows.append(("triage rules speed (slowest set)", min(speeds), "msg/s"))
    return rows


def _workers(d: dict[str, Any], _out: str) -> list[Row]:
    out: list[Row] = [
        (f"mail-agent on PostgreSQL, {w['workers']} worker(s), {w['messages']} rule-decided",
         w["per_min"], "msg/min")
        for w in d["workers"]
    ]  # fmt: skip
    for name in ("postgres", "sqlite"):
        a = d.get("approval", {}).get(name)
        if a:
            out.append((f"approval to action on {name}, p50", a["p50_ms"], "ms"))
            out.append((f"approval to action on {name}, p95", a["p95_ms"], "ms"))
    return out


def _number(pattern: str, text: str) -> float | None:
    m = re.search(pattern, text)
    return float(m.group(1).replace(",", "")) if m else None


def _scheduling(_d: dict[str, Any], out: str) -> list[Row]:
    median = _number(r"median ([\d.,]+) ms", out)
    worst = _number(r"worst ([\d.,]+) ms", out)
    rows: list[Row] = []
    if median is not None:
        rows.append(("slot ranking, 10 attendees, 31 days, median", median, "ms"))
    if worst is not None:
        rows.append(("slot ranking, worst", worst, "ms"))
    return rows


def _embeddings(_d: dict[str, Any], out: str) -> list[Row]:
    found = [
        ("embedding model load", _number(r"(?m)^load:.*= ([\d.,]+) ms", out), "ms"),
        ("embedding short query p50", _number(r"calls: p50 ([\d.,]+) ms", out), "ms"),
        ("embedding batch throughput", _number(r"([\d.,]+) texts/s", out), "texts/s"),
    ]
    return [(w, v, u) for w, v, u in found if v is not None]


def benches() -> list[Bench]:
    """Every benchmark with its full and quick arguments."""
    return [
        Bench("bench_cli", ["--runs", "15"], ["--runs", "5", "--no-importtime"], _cli),
        Bench("bench_agent", ["--tasks", "50"], ["--tasks", "15", "--warmup", "2"], _agent),
        Bench("bench_prompt", [], [], _prompt),
        Bench(
            "bench_autoresponder",
            ["--messages", "500", "--mixed", "120"],
            ["--messages", "200", "--mixed", "40"],
            _autoresponder,
        ),  # fmt: skip
        Bench(
            "bench_memory",
            ["--messages", "2000", "--scale", "20000", "--queries", "100", "--no-huge"],
            ["--messages", "300", "--scale", "0", "--queries", "30", "--no-huge"],
            _memory,
            timeout=1800,
        ),
        Bench("bench_ingest", ["--sizes", "100"], ["--quick"], _ingest, timeout=1800),
        Bench(
            "bench_workers",
            ["--messages", "400", "--workers", "1,2,4", "--repeat", "3", "--proposals", "30"],
            ["--messages", "100", "--workers", "1,2", "--repeat", "1", "--proposals", "10"],
            _workers,
        ),
        Bench("bench_triage", [], ["--repeat", "1"], _triage, optional=True),
        Bench("bench_scheduling", ["--runs", "20"], ["--runs", "5"], _scheduling, json=False),
        Bench(
            "bench_embeddings",
            [],
            ["--queries", "50", "--emails", "64", "--no-reference", "--no-chroma"],
            _embeddings,
            json=False,
        ),
    ]


# --------------------------------------------------------------------------- machine


def machine() -> dict[str, Any]:
    """CPU model, cores, RAM and Python of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb: float | None = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = int(line.split()[1]) / 1024 / 1024
                break
    except OSError:
        pass
    if ram_gb is None and hasattr(os, "sysconf"):
        try:
            ram_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
        except (ValueError, OSError):
            ram_gb = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(ram_gb, 1) if ram_gb is not None else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


# --------------------------------------------------------------------------- running


def run_one(bench: Bench, quick: bool, tmp: Path) -> dict[str, Any]:
    """Run one benchmark process; its rows, its numbers, its time, or its error."""
    module = ROOT / "evals" / f"{bench.name}.py"
    if not module.exists():
        return {"status": "absent" if bench.optional else "missing", "rows": [], "seconds": 0.0}
    out_json = tmp / f"{bench.name}.json"
    args = [sys.executable, "-m", f"evals.{bench.name}", *(bench.quick if quick else bench.full)]
    if bench.json:
        args += ["--json", str(out_json)]
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    t0 = time.perf_counter()
    try:
        done = subprocess.run(
            args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=bench.timeout
        )
    except subprocess.TimeoutExpired:
        took = time.perf_counter() - t0
        return {"status": f"timed out after {took:.0f} s", "rows": [], "seconds": took}
    took = time.perf_counter() - t0
    result: dict[str, Any] = {"argv": args[1:], "seconds": took, "stdout": done.stdout}
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        result.update(status=f"failed ({done.returncode}): {' / '.join(tail)}", rows=[])
        return result
    data: dict[str, Any] = {}
    if bench.json:
        data = json.loads(out_json.read_text(encoding="utf-8"))
        result["numbers"] = data
    try:
        rows = bench.rows(data, done.stdout)
    except (KeyError, TypeError, ValueError, StopIteration) as exc:
        result.update(status=f"ran, but its numbers could not be read ({exc!r})", rows=[])
        return result
    result.update(status="ok", rows=[list(r) for r in rows])
    return result


def fmt(value: float) -> str:
    """A number as the table shows it."""
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.3f}"


def table(results: dict[str, dict[str, Any]]) -> list[list[Any]]:
    """All rows in run order."""
    return [row for r in results.values() for row in r["rows"]]


def print_report(host: dict[str, Any], results: dict[str, dict[str, Any]], quick: bool) -> None:
    """The machine, then one table."""
    print(
        f"machine: {host['cpu']}, {host['cores']} cores, {host['ram_gb']} GB RAM, "
        f"Python {host['python']} ({host['platform']})"
    )
    print(f"mode: {'quick' if quick else 'full'}\n")
    rows = table(results)
    width = max([len(r[0]) for r in rows] + [4])
    uw = max([len(r[2]) for r in rows] + [4])
    print(f"| {'what':{width}} | {'result':>10} | {'unit':{uw}} |")
    print(f"|{'-' * (width + 2)}|{'-' * 12}|{'-' * (uw + 2)}|")
    for what, value, unit in rows:
        print(f"| {what:{width}} | {fmt(value):>10} | {unit:{uw}} |")
    print()
    for name, r in results.items():
        if r["status"] != "ok":
            print(f"{name}: {r['status']}")
    total = sum(r["seconds"] for r in results.values())
    print(
        "times: "
        + ", ".join(f"{n} {r['seconds']:.0f} s" for n, r in results.items() if r["seconds"])
        + f"; total {total:.0f} s"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks from the command line; exit 1 when one failed."""
    names = [b.name for b in benches()]
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="Small parameters (about 3 minutes).")
    ap.add_argument("--only", nargs="+", choices=names, metavar="NAME",
                    help=f"Run only these ({', '.join(names)}).")  # fmt: skip
    ap.add_argument("--json", type=Path, metavar="FILE", help="Also write everything here.")
    args = ap.parse_args(argv)
    host = machine()
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-all-") as tmp:
        for bench in benches():
            if args.only and bench.name not in args.only:
                continue
            print(f"running {bench.name} ...", file=sys.stderr, flush=True)
            results[bench.name] = run_one(bench, args.quick, Path(tmp))
    print_report(host, results, args.quick)
    if args.json:
        payload = {
            "machine": host,
            "mode": "quick" if args.quick else "full",
            "table": [{"what": w, "result": v, "unit": u} for w, v, u in table(results)],
            "benchmarks": results,
        }
        args.json.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    failed = [n for n, r in results.items() if r["status"] not in ("ok", "absent")]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
