"""Benchmark: cold start of the ``secretary`` command line.

    python -m evals.bench_cli [--runs 15] [--no-importtime] [--json FILE]

Each run starts a fresh process of the installed ``secretary`` script (the one
next to this Python interpreter), so every number includes the interpreter's
start, the imports and the command's own work. Measured commands:

- ``secretary --help``: start-up and the command table only;
- ``secretary pending``: reads the settings and the approval ledger of a data
  directory prepared once with ``secretary init`` (in a temporary
  ``SECRETARY_HOME``, so your own data is never touched).

Prints median and p90 wall time per command over ``--runs`` runs (after one
warm-up run each, so the file cache is warm), and the five modules that take
longest to import for ``pending`` (``python -X importtime``, cumulative).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

COMMANDS: dict[str, list[str]] = {"help": ["--help"], "pending": ["pending"]}


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def secretary_script() -> Path:
    """The ``secretary`` console script installed beside this interpreter."""
    script = Path(sys.executable).parent / "secretary"
    if not script.exists():
        raise SystemExit(f"no secretary script at {script}; install the project first")
    return script


def environment(home: Path) -> dict[str, str]:
    """The environment of every run: a private data directory, no model configured."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SECRETARY_MODEL", "OPENAI_API_KEY", "OPENAI_BASE_URL", "SECRETARY_PRINCIPAL")
    }
    env["SECRETARY_HOME"] = str(home)
    env["SECRETARY_CONFIG"] = str(home / "secretary.toml")
    return env


def prepare(home: Path, env: dict[str, str]) -> None:
    """Create the principal the ``pending`` runs read."""
    cmd = [str(secretary_script()), "init", "--name", "X", "--email", "x@example.com"]
    subprocess.run(
        [*cmd, "--timezone", "UTC"], env=env, check=True, capture_output=True, timeout=120
    )
    if not (home / "secretary.toml").exists():
        raise SystemExit("secretary init did not write a configuration")


def time_command(args: list[str], env: dict[str, str], runs: int) -> list[float]:
    """Wall times in ms of ``runs`` fresh processes (after one warm-up)."""
    script = str(secretary_script())
    out = []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        done = subprocess.run([script, *args], env=env, capture_output=True, timeout=120)
        took = (time.perf_counter() - t0) * 1000
        if done.returncode != 0:
            raise SystemExit(
                f"secretary {' '.join(args)} failed ({done.returncode}): {done.stderr.decode()}"
            )
        if i:  # the first run only warms the file cache
            out.append(took)
    return out


def import_times(
    args: list[str], env: dict[str, str], top: int = 5
) -> dict[str, list[dict[str, Any]]]:
    """The slowest imports of a command (``python -X importtime``).

    ``top_level``: the ``top`` imports the command itself triggers, by cumulative
    time (these add up without double counting); ``self``: the ``top`` modules by
    their own time (excluding what they import in turn).
    """
    code = "import sys; from agent.cli import main; sys.argv = ['secretary', *sys.argv[1:]]; main()"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    rows = []
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)", line)
        if m:
            rows.append((int(m.group(1)), int(m.group(2)), len(m.group(3)), m.group(4)))
    if not rows:
        return {"top_level": [], "self": []}
    level = min(r[2] for r in rows)
    outer = sorted((r for r in rows if r[2] == level), key=lambda r: -r[1])[:top]
    own = sorted(rows, key=lambda r: -r[0])[:top]
    return {
        "top_level": [{"module": r[3], "cumulative_ms": r[1] / 1000} for r in outer],
        "self": [{"module": r[3], "self_ms": r[0] / 1000} for r in own],
    }


def run(runs: int, importtime: bool = True) -> dict[str, Any]:
    """Time the commands and return every number."""
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        home = Path(tmp) / "home"
        env = environment(home)
        prepare(home, env)
        result: dict[str, Any] = {"runs": runs, "commands": {}}
        for name, args in COMMANDS.items():
            times = time_command(args, env, runs)
            result["commands"][name] = {
                "argv": ["secretary", *args],
                "median_ms": statistics.median(times),
                "p90_ms": percentile(times, 90),
                "min_ms": min(times),
                "max_ms": max(times),
            }
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], env=env, check=True, timeout=60)
        result["bare_python_ms"] = (time.perf_counter() - t0) * 1000
        result["importtime_pending"] = import_times(["pending"], env) if importtime else {}
    return result


def report(result: dict[str, Any]) -> None:
    """Print the numbers."""
    print(f"CLI cold start, fresh process each, {result['runs']} runs (after 1 warm-up)")
    for data in result["commands"].values():
        print(
            f"  {' '.join(data['argv']):20} median {data['median_ms']:6.0f} ms, "
            f"p90 {data['p90_ms']:6.0f} ms (min {data['min_ms']:.0f}, max {data['max_ms']:.0f})"
        )
    print(f"  (a bare `python -c pass` takes {result['bare_python_ms']:.0f} ms here)")
    prof = result["importtime_pending"]
    if prof:
        print("  slowest imports of `secretary pending` (python -X importtime):")
        print("    top level, cumulative:")
        for row in prof["top_level"]:
            print(f"      {row['cumulative_ms']:7.1f} ms  {row['module']}")
        print("    any module, own time only:")
        for row in prof["self"]:
            print(f"      {row['self_ms']:7.1f} ms  {row['module']}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark from the command line."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--runs", type=int, default=15, help="Timed runs per command.")
    ap.add_argument("--no-importtime", action="store_true", help="Skip the import profile.")
    ap.add_argument("--json", type=Path, metavar="FILE", help="Also write the numbers here.")
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    result = run(args.runs, not args.no_importtime)
    report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
