"""Benchmark: what making the data directory private costs at start.

    python -m evals.bench_private [--files 10000 100000] [--json FILE]

Every process that opens a data directory walks it once and removes group and
other permissions (:func:`tools.foundation.paths.make_private`). For each size, a
temporary tree of that many small files (a thousand per folder, like a
Maildir) is made readable by all, then timed twice: the first walk, which
changes every entry, and a walk over the tree already private, which is what
every later command pays.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tools.foundation.paths import make_private

PER_FOLDER = 1000


def build(root: Path, files: int) -> None:
    """``files`` one-byte files in folders of a thousand, all 0644 in 0755 folders."""
    for start in range(0, files, PER_FOLDER):
        folder = root / f"mail{start // PER_FOLDER:04d}" / "cur"
        folder.mkdir(parents=True)
        for i in range(start, min(start + PER_FOLDER, files)):
            path = folder / f"{i}.eml"
            path.write_bytes(b"x")
            os.chmod(path, 0o644)
        os.chmod(folder, 0o755)
        os.chmod(folder.parent, 0o755)
    os.chmod(root, 0o755)


def measure(files: int) -> dict[str, Any]:
    """Times of the first and of a clean walk over a tree of ``files`` files."""
    with tempfile.TemporaryDirectory(prefix="bench-private-") as tmp:
        root = Path(tmp) / "home"
        root.mkdir()
        build(root, files)
        started = time.perf_counter()
        fixed = make_private(root)
        first = time.perf_counter() - started
        started = time.perf_counter()
        again = make_private(root)
        clean = time.perf_counter() - started
    return {
        "files": files,
        "changed_first": len(fixed),
        "changed_again": len(again),
        "first_walk_s": round(first, 4),
        "clean_walk_s": round(clean, 4),
        "clean_us_per_entry": round(clean / max(len(fixed), 1) * 1e6, 2),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print one line per size (and write ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--json", type=Path, default=None, help="Write the numbers here.")
    args = parser.parse_args(argv)
    results = []
    for files in args.files:
        r = measure(files)
        results.append(r)
        print(
            f"{r['files']:>8} files: first walk {r['first_walk_s']:.3f} s "
            f"({r['changed_first']} entries made private), clean walk "
            f"{r['clean_walk_s']:.3f} s ({r['clean_us_per_entry']} us per entry)"
        )
        if r["changed_again"]:
            print(f"error: the second walk still changed {r['changed_again']} entries")
            return 1
    if args.json:
        args.json.write_text(json.dumps({"sizes": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
