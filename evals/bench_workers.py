"""Benchmark: several mail-agent workers on one PostgreSQL database, and approval latency.

    python -m evals.bench_workers [--messages 400] [--workers 1,2,4] [--repeat 3]
                                  [--proposals 30] [--database-url URL] [--json FILE]

Part 1, workers: for each worker count W, a fresh database and a fresh data
directory hold one principal whose mail is a local Maildir. A first desk round
in this process notes where the inbox stands; then W real worker processes
(``python -m agent.cli mail-agent --no-model --poll 0.2 --json``) start and
the run waits until each has finished its first round (the settle time,
reported apart). Then ``--messages`` rule-decided messages (the corpus of
``evals.bench_autoresponder``) are put into the inbox at once: the delivery
holds the desk's fetch lock, so no worker reads a half-filled inbox, and the
clock starts when it lets go. It stops when the ``messages`` table in the
principal's schema shows every message handled. Each W runs ``--repeat``
times on fresh databases (a drain of a few hundred messages takes about a
second, so one run is at the mercy of whatever else the machine does).
Reported per W: the median run's messages per minute, the range over the
runs, and the checks: one row per message, every status ``done``, no
attempt counted twice, no claim left, and each message named by exactly one
worker's round report (which also gives each worker's share).

Part 2, approval to action: a Secretary in this process, with a scripted
model, proposes ``--proposals`` e-mails (``send_email``); each approval is
timed from ``Secretary.decide`` until it returns with the proposal executed
(the local Maildir send ran and the scripted model wrote its closing line).
It runs once on the PostgreSQL server and once on SQLite files.

Numbers are from this machine; the workers, PostgreSQL and this process
share its cores (``os.cpu_count()`` is printed), so more workers than cores
mostly measure contention.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
PRINCIPAL = "ada"
READY_TIMEOUT = 120.0
"""Seconds each worker may take to start and finish its first round."""


def principal() -> Any:
    """The benchmark's one principal (local Maildir mail: no account configured)."""
    from tools.foundation.principals import Principal

    return Principal(
        id=PRINCIPAL, name="Ada Lovelace", email="ada@example.com", timezone="Europe/Berlin"
    )


def secretary(home: Path, url: str | None, model: Any) -> Any:
    """A Secretary on ``home`` whose tables live at ``url`` (None: SQLite files)."""
    from agent.runtime import Secretary
    from tools.foundation.settings import Settings

    from .bench_autoresponder import NOW

    settings = Settings(home=home, principals=[principal()], database_url=url)
    return Secretary(settings, model=model, clock=lambda: NOW)


# --------------------------------------------------------------------------- databases


DatabaseMaker = Callable[[str], str]
"""Makes a fresh empty database whose name starts with the given prefix; returns its URL."""


@contextmanager
def databases(url: str | None) -> Iterator[DatabaseMaker]:
    """Fresh databases on a throwaway server, or on the server of ``url``.

    Databases made on a given server are dropped when the block ends; its
    user needs the CREATEDB privilege.
    """
    if url is None:
        from .postgres import throwaway_postgres

        with throwaway_postgres() as server:
            yield server.create_database
        return
    import psycopg

    made: list[str] = []
    numbers = iter(range(1, 1_000_000))

    def make(prefix: str) -> str:
        name = f"{prefix}_{os.getpid()}_{next(numbers)}"
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
        except psycopg.Error as exc:
            why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RuntimeError(
                f"Cannot create a database for the benchmark on {_redact(url)} ({why}); "
                "check the URL and that its user has the CREATEDB privilege, or leave "
                "--database-url out to use a throwaway server."
            ) from None
        made.append(name)
        parts = urlsplit(url)
        return urlunsplit(parts._replace(path=f"/{name}"))

    try:
        yield make
    finally:
        for name in made:
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except psycopg.Error as exc:
                print(f"could not drop database {name}: {exc}", file=sys.stderr)


def _redact(url: str) -> str:
    from tools.foundation.db import redact

    return redact(url)


# --------------------------------------------------------------------------- workers


@dataclass
class Worker:
    """One ``secretary mail-agent`` process and what its round reports said."""

    proc: subprocess.Popen[str]
    started: float
    rounds: list[dict[str, Any]] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    first_round_at: float | None = None
    _reader: threading.Thread | None = None

    def read(self) -> None:
        """Collect the JSON round reports from stdout (runs in a thread)."""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            text = line.strip()
            if not text:
                continue
            try:
                report = json.loads(text)
            except ValueError:
                self.other.append(text)
                continue
            if self.first_round_at is None:
                self.first_round_at = time.perf_counter()
            self.rounds.append(report)

    def handled(self) -> list[str]:
        """The Message-IDs this worker handled, one per handled line."""
        return [line.split(" ", 1)[0].rstrip(":") for r in self.rounds for line in r["handled"]]


def start_worker(home: Path, url: str, poll: float, log: Path) -> Worker:
    """Start one mail-agent worker process for the benchmark's principal."""
    env = {
        **os.environ,
        "SECRETARY_HOME": str(home),
        "SECRETARY_CONFIG": str(home / "secretary.toml"),
        "SECRETARY_DATABASE_URL": url,
        "PYTHONUNBUFFERED": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    env.pop("SECRETARY_CHROMA_URL", None)
    cmd = [sys.executable, "-m", "agent.cli", "mail-agent", "--no-model", "--poll", str(poll)]
    with open(log, "ab") as err:
        proc = subprocess.Popen(
            [*cmd, "--principal", PRINCIPAL, "--json"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    worker = Worker(proc=proc, started=time.perf_counter())
    worker._reader = threading.Thread(target=worker.read, daemon=True)
    worker._reader.start()
    return worker


def stop_workers(workers: list[Worker]) -> None:
    """Ask every worker to stop (SIGTERM ends its loop after the round), then wait."""
    for w in workers:
        if w.proc.poll() is None:
            w.proc.send_signal(signal.SIGTERM)
    for w in workers:
        try:
            w.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            w.proc.kill()
            w.proc.wait()
        if w._reader is not None:
            w._reader.join(timeout=5)
        if w.proc.stdout is not None:
            w.proc.stdout.close()


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def message_rows(url: str) -> list[dict[str, Any]]:
    """Every row of the desk's ``messages`` table in the principal's schema."""
    from tools.foundation.db import Database, schema_name

    db = Database(url, schema_name(PRINCIPAL))
    try:
        return [
            dict(r)
            for r in db.fetchall(
                "SELECT message_id, status, attempts, claimed_by, error FROM messages"
            )
        ]
    finally:
        db.close()


def bench_workers(
    make_db: DatabaseMaker, tmp: Path, n: int, count: int, seed: int, poll: float
) -> dict[str, Any]:
    """``count`` worker processes drain ``n`` rule-decided messages; numbers and checks."""
    from agent.channels.email import MailDesk
    from tools.foundation.db import Database, schema_name
    from tools.foundation.settings import save_principal
    from tools.providers.local.mail_desk import DONE_STATES
    from tools.providers.scripted import ScriptedChatModel

    from .bench_autoresponder import rule_decided

    url = make_db("bench_workers")
    home = tmp / f"workers-{count}"
    home.mkdir(parents=True)
    save_principal(principal(), home / "secretary.toml")
    rng = random.Random(seed)
    mails = [rule_decided(i, rng) for i in range(n)]
    sec = secretary(home, url, ScriptedChatModel())  # no reply queued: a call would fail
    workers: list[Worker] = []
    logs = home / "workers.log"
    try:
        desk = MailDesk(sec, PRINCIPAL, use_model=False)
        desk.run_round()  # first start: notes where the inbox stands
        t_spawn = time.perf_counter()
        workers = [start_worker(home, url, poll, logs) for _ in range(count)]
        deadline = time.monotonic() + READY_TIMEOUT
        while not all(w.first_round_at is not None for w in workers):
            dead = [w for w in workers if w.proc.poll() is not None]
            if dead or time.monotonic() > deadline:
                why = (
                    "a worker exited"
                    if dead
                    else f"not every worker ran a round in {READY_TIMEOUT:.0f} s"
                )
                raise RuntimeError(f"The mail-agent workers did not start ({why}):\n{_tail(logs)}")
            time.sleep(0.02)
        settle_s = max(w.first_round_at or 0 for w in workers) - t_spawn
        startup = [round((w.first_round_at or 0) - w.started, 3) for w in workers]

        # Deliver while holding the fetch lock: the workers skip fetching meanwhile,
        # so they find every message in the inbox at once when it is let go.
        t0 = time.perf_counter()
        with desk.state.database.hold(f"mail-fetch:{PRINCIPAL}:inbox", timeout=30) as held:
            if not held:
                raise RuntimeError("could not take the desk's fetch lock to deliver the mail")
            for _, raw in mails:
                desk.workspace.mail.import_eml(raw)  # type: ignore[attr-defined]
        t1 = time.perf_counter()

        watch = Database(url, schema_name(PRINCIPAL))
        limit = max(120.0, n * 1.0)
        marks = ", ".join(f"'{s}'" for s in DONE_STATES)
        try:
            while True:
                row = watch.fetchone(
                    f"SELECT count(*) AS n FROM messages WHERE status IN ({marks})"  # noqa: S608
                )
                finished = int(row["n"]) if row is not None else 0
                if finished >= n:
                    break
                if time.perf_counter() - t1 > limit:
                    raise RuntimeError(
                        f"only {finished} of {n} messages were handled in {limit:.0f} s:\n"
                        f"{_tail(logs)}"
                    )
                if any(w.proc.poll() is not None for w in workers):
                    raise RuntimeError(f"a mail-agent worker stopped:\n{_tail(logs)}")
                time.sleep(0.05)
        finally:
            watch.close()
        t2 = time.perf_counter()
        memory = desk.workspace.memory
        kept = memory.count() if memory is not None and hasattr(memory, "count") else None
    finally:
        stop_workers(workers)
        sec.close()
    rows = message_rows(url)
    handled = [w.handled() for w in workers]
    named = Counter(m for h in handled for m in h)
    expected = {_mid(raw) for _, raw in mails}
    statuses = Counter(r["status"] for r in rows)
    errors = [ln for w in workers for r in w.rounds for ln in r.get("errors", [])]
    checks = {
        "rows": len(rows),
        "rows_match_messages": {r["message_id"] for r in rows} == expected,
        "all_done": set(statuses) == {"done"},
        "max_attempts": max((int(r["attempts"]) for r in rows), default=0),
        "claims_left": sum(1 for r in rows if r["claimed_by"]),
        "handled_lines": sum(named.values()),
        "handled_twice": sum(1 for c in named.values() if c > 1),
        "handled_set_matches": set(named) == expected,
        "round_errors": len(errors),
    }
    checks["exactly_once"] = (
        checks["rows"] == n
        and checks["rows_match_messages"]
        and checks["all_done"]
        and checks["max_attempts"] == 0
        and checks["claims_left"] == 0
        and checks["handled_lines"] == n
        and checks["handled_twice"] == 0
        and checks["handled_set_matches"]
        and not errors
    )
    drain_s = t2 - t1
    shutil.rmtree(home, ignore_errors=True)
    return {
        "workers": count,
        "messages": n,
        "settle_s": settle_s,
        "worker_startup_s": startup,
        "deliver_s": t1 - t0,
        "drain_s": drain_s,
        "per_min": n / drain_s * 60,
        "shares": sorted((len(h) for h in handled), reverse=True),
        "rounds_per_worker": [len(w.rounds) for w in workers],
        "statuses": dict(statuses),
        "memory_items": kept,
        "checks": checks,
        "errors": errors[:5],
    }


def _mid(raw: bytes) -> str:
    from tools.providers.base import message_id_of

    return message_id_of(raw)


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median rate, with every run's rate and the checks of all."""
    ordered = sorted(runs, key=lambda r: r["per_min"])
    middle = dict(ordered[(len(ordered) - 1) // 2])
    middle["repeats"] = len(runs)
    middle["per_min_runs"] = [r["per_min"] for r in runs]
    middle["all_exactly_once"] = all(r["checks"]["exactly_once"] for r in runs)
    middle["failed_checks"] = [r["checks"] for r in runs if not r["checks"]["exactly_once"]]
    return middle


# --------------------------------------------------------------------------- approvals


def _send(i: int) -> dict[str, Any]:
    args = {
        "to": [f"client{i}@client.example"],
        "subject": f"Contract {i}",
        "body": f"Dear client,\n\nThe signed contract {i} is attached.\n\nBest, Ada",
    }
    return {"tool_calls": [{"name": "send_email", "args": args}]}


def bench_approvals(home: Path, url: str | None, k: int, warmup: int) -> dict[str, Any]:
    """``k`` proposals approved one by one; milliseconds from decide to executed."""
    from agent.approval import Decision
    from tools.providers.scripted import ScriptedChatModel

    total = k + warmup
    model = ScriptedChatModel([_send(i) for i in range(total)])
    sec = secretary(home, url, model)
    times: list[float] = []
    try:
        ids = []
        for i in range(total):
            reply = sec.ask(f"E-mail client {i} the contract", principal=PRINCIPAL, thread=f"t{i}")
            if [p.tool for p in reply.pending] != ["send_email"]:
                raise RuntimeError(f"proposal {i} was not made: {reply.error or reply.text}")
            ids.append(reply.pending[0].id)
        model.enqueue(*(["Sent."] * total))
        for n, pid in enumerate(ids):
            t0 = time.perf_counter()
            done = sec.decide(pid, Decision(kind="approve"), principal=PRINCIPAL)
            took = (time.perf_counter() - t0) * 1000
            if [p.status for p in done.executed] != ["executed"]:
                raise RuntimeError(f"approving {pid} did not execute it: {done.error or done.text}")
            if n >= warmup:
                times.append(took)
        sent = sec.workspace(sec.principal(PRINCIPAL)).mail.search(folder="sent", limit=total + 10)
        if len(sent) != total:
            raise RuntimeError(f"{len(sent)} e-mails were sent for {total} approvals")
    finally:
        sec.close()
    return {"proposals": k, "warmup": warmup, **_stats(times)}


def _stats(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]

    return {
        "p50_ms": statistics.median(ordered),
        "p95_ms": pct(0.95),
        "max_ms": ordered[-1],
        "mean_ms": statistics.fmean(ordered),
    }


# --------------------------------------------------------------------------- run


def run(
    n: int,
    counts: list[int],
    k: int,
    url: str | None,
    seed: int = 3,
    poll: float = 0.2,
    warmup: int = 2,
    repeat: int = 3,
) -> dict[str, Any]:
    """Every part on fresh databases and data directories."""
    result: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "database": "given server" if url else "throwaway PostgreSQL (fsync off)",
        "seed": seed,
        "poll_s": poll,
        "repeat": repeat,
        "load_before": os.getloadavg()[0],
        "workers": [],
    }
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp, databases(url) as make_db:
        base = Path(tmp)
        for count in counts:
            print(f"{count} worker(s) ...", file=sys.stderr, flush=True)
            runs = [
                bench_workers(make_db, base / f"run{r}", n, count, seed, poll)
                for r in range(repeat)
            ]
            result["workers"].append(_median_run(runs))
        if k:
            print("approval latency ...", file=sys.stderr, flush=True)
            result["approval"] = {
                "postgres": bench_approvals(
                    base / "approve-pg", make_db("bench_approve"), k, warmup
                ),
                "sqlite": bench_approvals(base / "approve-sqlite", None, k, warmup),
            }
    return result


def report(result: dict[str, Any]) -> None:
    """Print the numbers as tables."""
    print(
        f"machine: os.cpu_count() = {result['cpu_count']} (workers, PostgreSQL and this "
        f"process share them; load average {result['load_before']:.2f} at the start); "
        f"database: {result['database']}; poll {result['poll_s']} s"
    )
    print(
        f"each worker count: {result['repeat']} run(s) on fresh databases; the row shows the "
        "median run, range: the slowest and fastest run"
    )
    print()
    shares = ["/".join(str(s) for s in w["shares"]) for w in result["workers"]]
    sw = max([len("shares"), *map(len, shares)])
    spans = [
        f"{min(w['per_min_runs']):,.0f}-{max(w['per_min_runs']):,.0f}" for w in result["workers"]
    ]
    rw = max([len("range"), *map(len, spans)])
    print(
        f"| workers | messages | messages/min | {'range':<{rw}} | drain s | settle s "
        f"| {'shares':<{sw}} | once |"
    )
    print(
        f"|--------:|---------:|-------------:|{'-' * (rw + 2)}|--------:|---------:"
        f"|{'-' * (sw + 2)}|:----:|"
    )
    for w, share, span in zip(result["workers"], shares, spans, strict=True):
        ok = "yes" if w["all_exactly_once"] else "NO"
        print(
            f"| {w['workers']:>7} | {w['messages']:>8} | {w['per_min']:>12,.0f} | "
            f"{span:<{rw}} | {w['drain_s']:>7.2f} | {w['settle_s']:>8.2f} | {share:<{sw}} "
            f"| {ok:^4} |"
        )
    first = result["workers"][0] if result["workers"] else None
    if first:
        print(
            "\ndrain: from the filled inbox until the last message was done (delivery into the "
            f"Maildir, {first['deliver_s']:.2f} s, not counted); settle: from starting the "
            "workers until each finished its first round; shares: messages each worker "
            "handled; once: every message handled exactly once (rows, statuses, attempts, "
            f"claims, round reports); memory items after the run: {first['memory_items']}"
        )
    for w in result["workers"]:
        for c in w["failed_checks"]:
            print(f"  {w['workers']} worker(s): checks failed: {c}")
    appr = result.get("approval")
    if appr:
        k = appr["postgres"]["proposals"]
        print(f"\napproval to action, {k} send_email proposals (decide -> executed):")
        print("| backend    | p50 ms | p95 ms | max ms |")
        print("|------------|-------:|-------:|-------:|")
        for name in ("postgres", "sqlite"):
            a = appr[name]
            print(
                f"| {name:<10} | {a['p50_ms']:>6.1f} | {a['p95_ms']:>6.1f} | {a['max_ms']:>6.1f} |"
            )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark from the command line; exit 1 when a check failed."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--messages", "-n", type=int, default=400, help="Rule-decided messages.")
    ap.add_argument("--workers", default="1,2,4", help="Worker counts, comma-separated.")
    ap.add_argument("--proposals", "-k", type=int, default=30,
                    help="Approvals timed per backend (0: skip).")  # fmt: skip
    ap.add_argument("--database-url", help="A PostgreSQL server to use (its user needs CREATEDB).")
    ap.add_argument("--poll", type=float, default=0.2, help="Seconds between a worker's rounds.")
    ap.add_argument("--repeat", type=int, default=3, help="Runs per worker count (median shown).")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--json", type=Path, metavar="FILE", help="Also write the numbers here.")
    args = ap.parse_args(argv)
    try:
        counts = [int(c) for c in args.workers.split(",") if c.strip()]
    except ValueError:
        ap.error("--workers must be comma-separated numbers, e.g. 1,2,4")
    if args.messages < 1 or args.proposals < 0 or args.repeat < 1 or not counts or min(counts) < 1:
        ap.error(
            "--messages, --repeat and every worker count must be at least 1, --proposals at least 0"
        )
    url = args.database_url
    if url is not None and not url.startswith(("postgresql://", "postgres://")):
        ap.error("--database-url must be a postgresql://user@host:port/database URL")
    try:
        result = run(
            args.messages, counts, args.proposals, url, args.seed, args.poll, repeat=args.repeat
        )
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0 if all(w["all_exactly_once"] for w in result["workers"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
