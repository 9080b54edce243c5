"""The ledger and the database layer on SQLite and on a real PostgreSQL server.

Each test runs on both backends. Races use separate ``Ledger`` objects (one
connection each, like separate worker processes); the crash test kills a real
process holding an action's lock.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.ledger import Ledger, LedgerError
from tools.foundation.db import Database, applied_versions, migrate, open_database, translate

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the ledger lives: a SQLite file or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "ledger.sqlite")
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def ledgers(target: str) -> Iterator[Any]:
    made: list[Ledger] = []

    def make() -> Ledger:
        ledger = Ledger(open_database(target))
        made.append(ledger)
        return ledger

    yield make
    for ledger in made:
        ledger.close()


def propose(ledger: Ledger, call: str = "c1", thread: str = "t1") -> Any:
    return ledger.propose(
        principal="ada",
        thread=thread,
        tool_call_id=call,
        tool="send_email",
        args={"to": ["dana@acme.com"], "subject": "Hi"},
        preview={"summary": "E-mail Dana"},
        provenance={},
    )


def test_translate_rewrites_placeholders_outside_quotes_only() -> None:
    assert translate("SELECT * FROM t WHERE a = ? AND b LIKE ? || '%'") == (
        "SELECT * FROM t WHERE a = %s AND b LIKE %s || '%%'"
    )
    assert translate("SELECT '?' , \"x?\" , ?") == "SELECT '?' , \"x?\" , %s"


def test_propose_is_idempotent_and_audited_once(ledgers: Any) -> None:
    a, b = ledgers(), ledgers()
    first = propose(a)
    again = propose(b)
    assert first.id == again.id and again.status == "proposed"
    assert [e["event"] for e in a.trail("ada")] == ["proposed"]
    assert a.get(first.id[:4]).id == first.id
    with pytest.raises(LedgerError, match="No proposal"):
        a.get("zz")


def test_two_workers_deciding_at_once_change_it_once(ledgers: Any) -> None:
    for round_ in range(20):
        workers = [ledgers(), ledgers()]
        p = propose(workers[0], call=f"c{round_}")
        results: list[bool] = []
        barrier = threading.Barrier(2)

        def decide(
            ledger: Ledger,
            kind: str,
            pid: str = p.id,
            barrier: threading.Barrier = barrier,
            results: list[bool] = results,
        ) -> None:
            barrier.wait()
            results.append(ledger.decide(pid, kind, f"worker-{kind}")[1])  # type: ignore[arg-type]

        threads = [
            threading.Thread(target=decide, args=(w, k))
            for w, k in zip(workers, ["approve", "reject"], strict=True)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [False, True]
        events = [e["event"] for e in workers[0].trail("ada", p.id)]
        assert events.count("approved") + events.count("rejected") == 1


def test_two_workers_executing_one_approval_run_it_once(ledgers: Any) -> None:
    runs: list[str] = []
    lock = threading.Lock()
    for round_ in range(20):
        workers = [ledgers(), ledgers()]
        p = propose(workers[0], call=f"x{round_}")
        approved, _ = workers[0].decide(p.id, "approve", "terminal:ada")
        outcomes: list[Any] = []
        barrier = threading.Barrier(2)

        def execute(
            ledger: Ledger,
            proposal: Any = approved,
            barrier: threading.Barrier = barrier,
            outcomes: list[Any] = outcomes,
        ) -> None:
            def run(key: str) -> dict[str, str]:
                with lock:
                    runs.append(key)
                time.sleep(0.02)  # long enough for the other worker to arrive meanwhile
                return {"message_id": "<m@x>"}

            barrier.wait()
            outcomes.append(ledger.execute(proposal, run))

        threads = [threading.Thread(target=execute, args=(w,)) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(o.ran for o in outcomes) == [False, True]
        assert all(o.ok and o.result == {"message_id": "<m@x>"} for o in outcomes)
        assert workers[1].get(p.id).status == "executed"
    assert len(runs) == len(set(runs)) == 20


def test_audit_and_proposals_cannot_be_pruned(ledgers: Any) -> None:
    ledger = ledgers()
    propose(ledger)
    db: Database = ledger.database
    for sql in ("DELETE FROM audit", "UPDATE audit SET event = 'x'", "DELETE FROM proposals"):
        with pytest.raises(Exception, match="never"):
            db.execute(sql)
    assert [e["event"] for e in ledger.trail()] == ["proposed"]


def test_schema_is_versioned(ledgers: Any) -> None:
    ledger = ledgers()
    ledgers()  # a second process opening it changes nothing
    assert applied_versions(ledger.database, "ledger") == {1}
    rows = ledger.database.fetchall("SELECT component, version FROM schema_migrations")
    assert [(r["component"], r["version"]) for r in rows] == [("ledger", 1)]


def test_migrations_run_once_when_many_start_together(target: str) -> None:
    made: list[str] = []

    def step(db: Database) -> None:
        made.append("step")
        db.execute("CREATE TABLE things (name TEXT)")

    errors: list[BaseException] = []

    def start() -> None:
        db = open_database(target)
        try:
            migrate(db, "things", [step])
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and made == ["step"]


def test_old_sqlite_ledger_is_adopted_with_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE proposals (id TEXT PRIMARY KEY, principal TEXT NOT NULL, thread TEXT NOT NULL,
          tool_call_id TEXT NOT NULL, tool TEXT NOT NULL, args TEXT NOT NULL, final_args TEXT,
          preview TEXT NOT NULL DEFAULT '{}', provenance TEXT NOT NULL DEFAULT '{}',
          status TEXT NOT NULL, decision TEXT, decided_by TEXT, reason TEXT, idempotency_key TEXT,
          result TEXT, error TEXT, created_at TEXT NOT NULL, decided_at TEXT, executed_at TEXT,
          UNIQUE (principal, thread, tool_call_id));
        INSERT INTO proposals (id, principal, thread, tool_call_id, tool, args, status, created_at)
          VALUES ('abcd1234', 'ada', 't0', 'c0', 'send_email', '{}', 'proposed', '2026-01-01');
        """
    )
    old.commit()
    old.close()
    ledger = Ledger(open_database(path))
    try:
        assert ledger.get("abcd").status == "proposed"
        assert applied_versions(ledger.database, "ledger") == {1}
        with pytest.raises(sqlite3.DatabaseError, match="never"):
            ledger.database.execute("DELETE FROM proposals")
    finally:
        ledger.close()


def test_unreachable_postgres_is_one_clear_sentence() -> None:
    from tools.foundation.db import DatabaseError

    db = open_database("postgresql://nobody:secret@127.0.0.1:1/nothing")
    with pytest.raises(DatabaseError) as err:
        db.fetchone("SELECT 1")
    text = str(err.value)
    assert "127.0.0.1:1" in text and "SECRETARY_DATABASE_URL" in text
    assert "secret" not in text  # the password is never shown


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from tools.foundation.db import open_database
    from agent.ledger import Ledger
    ledger = Ledger(open_database(sys.argv[1]))
    proposal = ledger.get(sys.argv[2])
    def run(key):
        print("running", flush=True)
        time.sleep(60)
    ledger.execute(proposal, run)
    """
)


def test_worker_killed_mid_action_lets_another_finish_it_once(ledgers: Any, target: str) -> None:
    ledger = ledgers()
    p = propose(ledger)
    approved, _ = ledger.decide(p.id, "approve", "terminal:ada")
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, target, p.id],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "running"
        # While the other worker is alive and running it, this one waits.
        other = ledgers()
        blocked: list[Any] = []
        waiter = threading.Thread(
            target=lambda: blocked.append(other.execute(approved, lambda key: {"by": "second"}))
        )
        waiter.start()
        time.sleep(0.5)
        assert blocked == [] and waiter.is_alive()
        holder.kill()  # SIGKILL: no cleanup runs in the holder
        holder.wait()
        waiter.join(timeout=30)
        assert not waiter.is_alive()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    (outcome,) = blocked
    assert outcome.ran and outcome.ok and outcome.result == {"by": "second"}
    row = ledger.database.fetchone(
        "SELECT status, attempts FROM executions WHERE idempotency_key = ?",
        (approved.idempotency_key,),
    )
    assert row is not None and (row["status"], row["attempts"]) == ("executed", 2)
    events = [e["event"] for e in ledger.trail("ada", p.id)]
    assert events.count("executed") == 1
    detail = [e["detail"] for e in ledger.trail("ada", p.id) if e["event"] == "executing"]
    assert json.dumps(detail[-1]).find('"retry": true') >= 0
