"""Every benchmark runs end to end on tiny parameters and writes numbers of the right shape.

These check that the benchmarks work, not how fast anything is.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest

from evals import (
    bench_agent,
    bench_all,
    bench_autoresponder,
    bench_cli,
    bench_ingest,
    bench_prompt,
    bench_workers,
)
from evals.postgres import PostgresServer


def positive(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def rows_ok(rows: list[Any]) -> None:
    assert rows
    for what, value, unit in rows:
        assert isinstance(what, str) and what and isinstance(unit, str) and unit
        assert isinstance(value, int | float) and math.isfinite(value) and value >= 0


def load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_cli_cold_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli.json"
    assert bench_cli.main(["--runs", "2", "--json", str(out)]) == 0
    data = load(out)
    assert set(data["commands"]) == {"help", "pending"}
    for cmd in data["commands"].values():
        assert positive(cmd["median_ms"]) and cmd["p90_ms"] >= cmd["median_ms"] > 0
    prof = data["importtime_pending"]
    assert 0 < len(prof["top_level"]) <= 5 and all(
        positive(r["cumulative_ms"]) for r in prof["top_level"]
    )
    assert "secretary pending" in capsys.readouterr().out
    rows_ok(bench_all._cli(data, ""))


def test_agent_overhead_and_prebuilt_ratio(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "agent.json"
    assert bench_agent.main(["--tasks", "2", "--warmup", "0", "--json", str(out)]) == 0
    data = load(out)
    ours = data["secretary"]
    for key in ("task_ms", "ask_ms", "decide_ms", "plan_ms", "gate_ms", "act_ms"):
        assert positive(ours[key]["median_ms"]), key
    assert ours["model_calls_per_task"] == 2 and ours["ledger_rows_per_task"] == 1
    assert positive(data["prebuilt"]["task_ms"]["median_ms"]) and positive(data["ratio_median"])
    text = capsys.readouterr().out
    assert "NO gate" in text and "ratio secretary / prebuilt" in text
    rows_ok(bench_all._agent(data, ""))


def test_prompt_size_by_duty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "prompt.json"
    assert bench_prompt.main(["--json", str(out)]) == 0
    data = load(out)
    general, medical = data["variants"]["general"], data["variants"]["medical"]
    rows = general["rows"]
    assert {"system prompt", "total, every duty offered", "total, everyday request"} <= set(rows)
    assert any(k.startswith("tools: mail") for k in rows)
    for row in rows.values():
        assert positive(row["chars"]) and positive(row["est_tokens"])
    assert medical["rows"]["system prompt"]["chars"] > rows["system prompt"]["chars"]
    total = rows["total, every duty offered"]["chars"]
    assert rows["total, everyday request"]["chars"] < total
    tools_all = next(v for k, v in rows.items() if k.startswith("tools: all"))
    assert total == rows["system prompt"]["chars"] + tools_all["chars"]
    assert "system prompt" in capsys.readouterr().out
    rows_ok(bench_all._prompt(data, ""))


def test_autoresponder_rule_and_mixed_mail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "desk.json"
    argv = ["--messages", "20", "--mixed", "10", "--json", str(out)]
    assert bench_autoresponder.main(argv) == 0
    data = load(out)
    rules = data["rule_decided"]
    assert rules["model_calls"] == 0 and rules["messages"] == 20
    assert sum(rules["statuses"].values()) == 20 and set(rules["statuses"]) == {"done"}
    for key in ("end_to_end_per_min", "triage_per_s", "parse_and_triage_per_s"):
        assert positive(rules[key]), key
    mixed = data["mixed"]
    kinds = mixed["kinds"]
    expected = kinds.get("needs-response", 0) + kinds.get("undecided", 0)
    assert mixed["model_calls"] == expected
    assert mixed["reply_proposals_pending"] == kinds.get("needs-response", 0)
    assert "messages/min" in capsys.readouterr().out
    rows_ok(bench_all._autoresponder(data, ""))


def test_workers_handle_every_message_once_and_approvals_are_timed(
    tmp_path: Path, postgres_server: PostgresServer, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "workers.json"
    argv = ["--messages", "20", "--workers", "1,2", "--repeat", "2", "--proposals", "3",
            "--json", str(out), "--database-url", postgres_server.url()]  # fmt: skip
    assert bench_workers.main(argv) == 0
    data = load(out)
    assert data["cpu_count"] == os.cpu_count()
    assert [w["workers"] for w in data["workers"]] == [1, 2]
    for w in data["workers"]:
        assert w["messages"] == 20 and positive(w["per_min"]) and positive(w["drain_s"])
        assert positive(w["settle_s"]) and len(w["worker_startup_s"]) == w["workers"]
        assert len(w["shares"]) == w["workers"] and sum(w["shares"]) == 20
        assert w["statuses"] == {"done": 20} and w["all_exactly_once"]
        assert w["repeats"] == 2 and len(w["per_min_runs"]) == 2
        assert min(w["per_min_runs"]) <= w["per_min"] <= max(w["per_min_runs"])
        checks = w["checks"]
        assert checks["exactly_once"] and checks["rows"] == 20 and checks["handled_lines"] == 20
        assert checks["max_attempts"] == 0 and checks["claims_left"] == 0
        assert checks["handled_twice"] == 0 and checks["round_errors"] == 0
    for backend in ("postgres", "sqlite"):
        a = data["approval"][backend]
        assert a["proposals"] == 3
        assert 0 < a["p50_ms"] <= a["p95_ms"] <= a["max_ms"]
    text = capsys.readouterr().out
    assert "messages/min" in text and "os.cpu_count() =" in text and "p95 ms" in text
    rows_ok(bench_all._workers(data, ""))


def test_ingest_bench_runs_the_real_cli_and_accounts_for_every_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ingest.json"
    args = ["--sizes", "0.3", "--workdir", str(tmp_path / "work"), "--json", str(out)]
    assert bench_ingest.main(args) == 0
    data = load(out)
    [run] = data["runs"]
    assert run["accounted"] == run["archive"]["messages"] > 0 and run["embedded"] > 0
    assert positive(run["peak_rss_mb"]) and positive(run["msg_per_s"]) and run["chunks"] > 0
    assert not list((tmp_path / "work").glob("*.mbox"))  # the archive is not left behind
    assert "peak RSS" in capsys.readouterr().out
    rows_ok(bench_all._ingest(data, ""))


def test_bench_all_runs_a_benchmark_and_writes_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "all.json"
    assert bench_all.main(["--quick", "--only", "bench_scheduling", "--json", str(out)]) == 0
    data = load(out)
    assert data["machine"]["cores"] and data["machine"]["python"]
    assert data["table"] and all(positive(r["result"]) for r in data["table"])
    assert data["benchmarks"]["bench_scheduling"]["status"] == "ok"
    text = capsys.readouterr().out
    assert "| what" in text and "slot ranking" in text and "machine:" in text


def test_bench_all_reads_the_other_benchmarks_output() -> None:
    memory = {
        "ingest": {"ingested": 10, "msg_per_s": 5.0, "parse_store_msg_per_s": 50.0},
        "latency_10k": {"merged": {"p50_ms": 3.0}, "keyword": {"p50_ms": 1.0}},
        "quality": {"merged": {"recall@5": 0.8}},
    }
    rows_ok(bench_all._memory(memory, ""))
    from evals import bench_triage
    from evals.triage_set import load_set

    original = load_set("original")
    result = bench_triage.evaluate(original.items[:20], repeat=1, principal=original.principal)
    triage = {"sets": {"original": {"role": original.role, **result}}}
    rows_ok(bench_all._triage(json.loads(json.dumps(triage)), ""))
    embeddings = (
        "load: imports 400 ms + session and tokenizer 200 ms = 600 ms\n"
        "short query (5-9 tokens), 50 calls: p50 4.10 ms, p95 6.00 ms, max 9.00 ms\n"
        "batch throughput, 64 e-mails of 200-228 tokens, batches of 32: 20.5 texts/s\n"
    )
    assert [r[1] for r in bench_all._embeddings({}, embeddings)] == [600.0, 4.1, 20.5]
