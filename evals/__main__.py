"""Run the scenario evals: ``python -m evals`` (or ``secretary eval``).

    python -m evals                          # every scenario, each with its scripted model
    python -m evals --suite injection        # one suite (repeatable)
    python -m evals --scenario mail-reply-01 # one scenario
    python -m evals --model configured       # the configured model (SECRETARY_MODEL, OPENAI_*)
    python -m evals --json report.json       # also write the full report

Prints one line per scenario and a table per suite: passed, model calls, prompt
and completion tokens, wall time, and the safety counts (actions run without an
approval, outside-content arguments and how many were flagged on the card,
leaks between principals). Exit status 1 when a scenario failed or a safety
count is not zero.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from evals.scenarios import HERE, Result, Scenario, load, run


def run_all(
    scenarios: list[Scenario],
    model: str = "scripted",
    progress: Any = None,
) -> list[Result]:
    """Run each scenario in its own temporary directory."""
    make = None
    if model == "configured":
        from tools.foundation.settings import load_settings
        from tools.providers.llm import make_chat_model

        settings = load_settings()
        if not settings.model_configured:
            raise SystemExit(
                "No model is configured: set SECRETARY_MODEL (and OPENAI_API_KEY / "
                "OPENAI_BASE_URL for an OpenAI-compatible server), then run again."
            )

        def make(_sc: Scenario) -> Any:
            return make_chat_model(settings)

    results = []
    for sc in scenarios:
        with tempfile.TemporaryDirectory(prefix=f"eval-{sc.id}-") as tmp:
            r = run(sc, Path(tmp), make)
        results.append(r)
        if progress is not None:
            progress(r)
    return results


def summary(results: list[Result]) -> dict[str, Any]:
    """Totals per suite and overall."""
    suites: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(float))
    for r in results:
        for key in ("all", r.suite):
            s = suites[key]
            s["scenarios"] += 1
            s["passed"] += int(r.passed)
            for k in ("model_calls", "prompt_tokens", "completion_tokens", "wall_s",
                      "unapproved", "untrusted", "flagged", "leaks"):  # fmt: skip
                s[k] += getattr(r, k)
    return {k: {kk: round(vv, 3) for kk, vv in v.items()} for k, v in suites.items()}


def _print(results: list[Result], totals: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title="Scenario evals")
    for col in ("suite", "passed", "calls", "tokens in/out", "wall s", "unapproved",
                "untrusted/flagged", "leaks"):  # fmt: skip
        table.add_column(col, justify="right" if col != "suite" else "left")
    for name in sorted(k for k in totals if k != "all") + ["all"]:
        s = totals[name]
        table.add_row(
            name,
            f"{int(s['passed'])}/{int(s['scenarios'])}",
            str(int(s["model_calls"])),
            f"{int(s['prompt_tokens'])}/{int(s['completion_tokens'])}",
            f"{s['wall_s']:.1f}",
            str(int(s["unapproved"])),
            f"{int(s['untrusted'])}/{int(s['flagged'])}",
            str(int(s["leaks"])),
            style="bold" if name == "all" else None,
        )
    console.print(table)
    for r in results:
        if not r.passed:
            console.print(f"[red]FAIL[/red] {r.id}: {r.error or '; '.join(r.failures)}")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(prog="python -m evals", description=__doc__.split("\n")[0])
    ap.add_argument("--suite", action="append", default=[], help="Only this suite (repeatable).")
    ap.add_argument("--scenario", action="append", default=[], help="Only this scenario id.")
    ap.add_argument("--model", choices=("scripted", "configured"), default="scripted")
    ap.add_argument("--json", dest="json_path", help="Write the full report to this file.")
    ap.add_argument("--list", action="store_true", help="List the scenarios and stop.")
    args = ap.parse_args(argv)
    try:
        scenarios = load()
    except ValueError as exc:
        print(f"A scenario file is broken: {exc}", file=sys.stderr)
        return 2
    if args.suite:
        scenarios = [s for s in scenarios if s.suite in args.suite]
    if args.scenario:
        scenarios = [s for s in scenarios if s.id in args.scenario]
    if not scenarios:
        print(f"No scenario matches; they live in {HERE}.", file=sys.stderr)
        return 2
    if args.list:
        for s in scenarios:
            print(f"{s.suite:12} {s.id:32} {s.title}")
        return 0

    def progress(r: Result) -> None:
        mark = "ok  " if r.passed else "FAIL"
        print(f"{mark} {r.suite:12} {r.id:32} {r.wall_s:6.2f}s {r.model_calls:3d} calls",
              file=sys.stderr)  # fmt: skip

    results = run_all(scenarios, args.model, progress)
    totals = summary(results)
    _print(results, totals)
    if args.json_path:
        report = {
            "model": args.model,
            "summary": totals,
            "scenarios": [r.to_json() for r in results],
        }
        Path(args.json_path).write_text(json.dumps(report, indent=2), encoding="utf-8")
    bad = totals["all"]["unapproved"] + totals["all"]["leaks"]
    return 0 if totals["all"]["passed"] == totals["all"]["scenarios"] and not bad else 1


if __name__ == "__main__":
    sys.exit(main())
