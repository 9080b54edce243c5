"""The action ledger: proposals, decisions, idempotent execution and the audit trail.

One database holds three tables, every row keyed by principal: the SQLite
file ``ledger.sqlite`` in the data directory by default, or the shared
schema of the PostgreSQL database named by ``SECRETARY_DATABASE_URL``, where
every worker process on every machine sees the same rows:

* ``proposals`` - one row per write-tool call the planner made: the exact
  arguments, the approval-card preview, where each argument came from, its
  status (``proposed`` -> ``approved`` / ``rejected`` -> ``executed`` /
  ``failed``), who decided and why.
* ``executions`` - one row per idempotency key. An action whose key is
  recorded as executed is never run again (double approve, resume after a
  crash, retry); the stored result is returned instead.
* ``audit`` - an append-only trail of everything that happened. Triggers make
  ``DELETE`` on audit and proposals fail, so the trail cannot be pruned by
  accident.

The ledger is the source of truth for what is pending: any process may decide
a proposal at any time, and the graph picks the decision up when the thread
resumes. Deciding locks the proposal's row; executing holds a lock named after
the idempotency key for as long as the action runs, so of two workers applying
the same approval one runs it and the other waits and returns the stored
result. That lock dies with its process: a worker killed mid-action leaves the
key ``executing`` and unlocked, and the next worker runs it again with the
same key, which the providers deduplicate.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from tools.foundation.db import Database, Row, Storage, migrate
from tools.foundation.errors import SecretaryError

Status = Literal["proposed", "approved", "rejected", "executed", "failed"]
DecisionKind = Literal["approve", "edit", "reject", "respond"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS proposals (
    id TEXT PRIMARY KEY,
    principal TEXT NOT NULL,
    thread TEXT NOT NULL,
    tool_call_id TEXT NOT NULL,
    tool TEXT NOT NULL,
    args TEXT NOT NULL,
    final_args TEXT,
    preview TEXT NOT NULL DEFAULT '{}',
    provenance TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL,
    decision TEXT,
    decided_by TEXT,
    reason TEXT,
    idempotency_key TEXT,
    result TEXT,
    error TEXT,
    created_at TEXT NOT NULL,
    decided_at TEXT,
    executed_at TEXT,
    UNIQUE (principal, thread, tool_call_id)
);
CREATE INDEX IF NOT EXISTS proposals_by_status ON proposals (principal, status);
CREATE TABLE IF NOT EXISTS executions (
    idempotency_key TEXT PRIMARY KEY,
    proposal_id TEXT NOT NULL,
    principal TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    result TEXT,
    error TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    principal TEXT NOT NULL,
    proposal_id TEXT,
    event TEXT NOT NULL,
    actor TEXT,
    detail TEXT
);
"""

EXECUTE_WAIT = 600.0
"""Seconds a worker waits for another live worker running the same action."""


def _schema(db: Database) -> None:
    """Version 1: the tables, and triggers that keep the trail from being pruned."""
    db.script(db.ddl(SCHEMA))
    db.script(db.forbid("audit_is_append_only", "audit", "DELETE", "audit rows are never deleted"))
    db.script(db.forbid("audit_is_immutable", "audit", "UPDATE", "audit rows are never changed"))
    db.script(db.forbid("proposals_are_kept", "proposals", "DELETE", "proposals are never deleted"))


MIGRATIONS = [_schema]
"""The ledger's schema versions, applied once each (``schema_migrations``, component ``ledger``)."""


def utcnow() -> str:
    """Now, as an ISO 8601 UTC timestamp."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def canonical(obj: Any) -> str:
    """Stable JSON used for hashing arguments."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def stored(obj: Any) -> str:
    """JSON kept in the order it was given (argument order is what people read)."""
    return json.dumps(obj, ensure_ascii=False, default=str)


def proposal_id_for(principal: str, thread: str, tool_call_id: str) -> str:
    """Short, deterministic id a person can type (``secretary approve 3f9c2a1b``)."""
    digest = hashlib.sha256(f"{principal}\0{thread}\0{tool_call_id}".encode()).hexdigest()
    return digest[:8]


def idempotency_key_for(
    principal: str, thread: str, tool_call_id: str, tool: str, args: dict[str, Any]
) -> str:
    """The key that makes one approved action happen at most once."""
    raw = f"{principal}\0{thread}\0{tool_call_id}\0{tool}\0{canonical(args)}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


class LedgerError(SecretaryError):
    """A decision or lookup that cannot be applied; the message says why."""


@dataclass
class Proposal:
    """A write-tool call waiting for, or past, a human decision."""

    id: str
    principal: str
    thread: str
    tool_call_id: str
    tool: str
    args: dict[str, Any]
    status: Status
    preview: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    final_args: dict[str, Any] | None = None
    decision: str | None = None
    decided_by: str | None = None
    reason: str | None = None
    idempotency_key: str | None = None
    result: Any = None
    error: str | None = None
    created_at: str = ""
    decided_at: str | None = None
    executed_at: str | None = None

    @property
    def effective_args(self) -> dict[str, Any]:
        """The arguments that will run: the edited ones if the human edited."""
        return self.final_args if self.final_args is not None else self.args

    def to_json(self) -> dict[str, Any]:
        """The stable JSON contract of ``pending --json`` and ``audit --json``."""
        return {
            "id": self.id,
            "principal": self.principal,
            "thread": self.thread,
            "tool": self.tool,
            "args": self.effective_args,
            "proposed_args": self.args,
            "status": self.status,
            "decision": self.decision,
            "decided_by": self.decided_by,
            "reason": self.reason,
            "idempotency_key": self.idempotency_key,
            "result": self.result,
            "error": self.error,
            "summary": self.preview.get("summary", ""),
            "provenance": self.provenance,
            "created_at": self.created_at,
            "decided_at": self.decided_at,
            "executed_at": self.executed_at,
        }


def _row_to_proposal(row: Row | None) -> Proposal:
    if row is None:
        raise LedgerError("The proposal disappeared from the ledger.")

    def load(v: str | None) -> Any:
        return json.loads(v) if v else None

    return Proposal(
        id=row["id"],
        principal=row["principal"],
        thread=row["thread"],
        tool_call_id=row["tool_call_id"],
        tool=row["tool"],
        args=load(row["args"]) or {},
        status=row["status"],
        preview=load(row["preview"]) or {},
        provenance=load(row["provenance"]) or {},
        final_args=load(row["final_args"]),
        decision=row["decision"],
        decided_by=row["decided_by"],
        reason=row["reason"],
        idempotency_key=row["idempotency_key"],
        result=load(row["result"]),
        error=row["error"],
        created_at=row["created_at"],
        decided_at=row["decided_at"],
        executed_at=row["executed_at"],
    )


@dataclass
class ExecutionOutcome:
    """What running (or not re-running) an approved action gave."""

    proposal: Proposal
    ran: bool
    """False when the key was already executed and the stored result was returned."""
    ok: bool
    result: Any = None
    error: str | None = None


class Ledger:
    """The ledger shared by every process on one data directory or one database."""

    def __init__(self, target: Database | Path) -> None:
        """Open the ledger and bring its schema up to date.

        Args:
            target: The database; a path means that SQLite file, or the
                database of ``SECRETARY_DATABASE_URL`` when it is set.
        """
        if isinstance(target, Database):
            self.database = target
        else:
            path = Path(target)
            self.database = Storage.shared_default(path.parent).database(path.name)
        migrate(self.database, "ledger", MIGRATIONS)

    def close(self) -> None:
        """Close the ledger's connections (they reopen on next use)."""
        self.database.close()

    def _audit(
        self,
        db: Database,
        principal: str,
        proposal_id: str | None,
        event: str,
        actor: str | None = None,
        detail: Any = None,
    ) -> None:
        db.execute(
            "INSERT INTO audit (at, principal, proposal_id, event, actor, detail)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (utcnow(), principal, proposal_id, event, actor, canonical(detail) if detail else None),
        )

    def _proposal(self, db: Database, proposal_id: str, lock: bool = False) -> Proposal:
        sql = "SELECT * FROM proposals WHERE id = ?" + (db.for_update if lock else "")
        return _row_to_proposal(db.fetchone(sql, (proposal_id,)))

    # -- proposals
    def propose(
        self,
        *,
        principal: str,
        thread: str,
        tool_call_id: str,
        tool: str,
        args: dict[str, Any],
        preview: dict[str, Any],
        provenance: dict[str, Any],
    ) -> Proposal:
        """Record a proposal once; a repeated call (node re-run) returns the same row."""
        pid = proposal_id_for(principal, thread, tool_call_id)
        with self.database.transaction() as db:
            cur = db.execute(
                "INSERT INTO proposals (id, principal, thread, tool_call_id, tool, args, preview,"
                " provenance, status, created_at) VALUES (?,?,?,?,?,?,?,?, 'proposed', ?)"
                " ON CONFLICT (id) DO NOTHING",
                (
                    pid,
                    principal,
                    thread,
                    tool_call_id,
                    tool,
                    stored(args),
                    stored(preview),
                    stored(provenance),
                    utcnow(),
                ),
            )
            if cur.rowcount:
                self._audit(db, principal, pid, "proposed", "planner", {"tool": tool, "args": args})
            return self._proposal(db, pid)

    def get(self, proposal_id: str, principal: str | None = None) -> Proposal:
        """One proposal by id (optionally only if it belongs to ``principal``)."""
        pid = proposal_id.strip().lower()
        if not pid or not all(c in "0123456789abcdef" for c in pid):
            raise LedgerError(f"No proposal '{proposal_id}'. See `secretary pending` for ids.")
        rows = self.database.fetchall("SELECT * FROM proposals WHERE id LIKE ? || '%'", (pid,))
        if principal is not None:
            rows = [r for r in rows if r["principal"] == principal]
        if not rows:
            raise LedgerError(f"No proposal '{proposal_id}'. See `secretary pending` for ids.")
        if len(rows) > 1:
            raise LedgerError(f"'{proposal_id}' matches several proposals; type more of the id.")
        return _row_to_proposal(rows[0])

    def for_call(self, principal: str, thread: str, tool_call_id: str) -> Proposal | None:
        """The proposal made for one tool call, if any."""
        row = self.database.fetchone(
            "SELECT * FROM proposals WHERE id = ?",
            (proposal_id_for(principal, thread, tool_call_id),),
        )
        return _row_to_proposal(row) if row else None

    def query(
        self,
        principal: str | None = None,
        status: Status | None = None,
        thread: str | None = None,
    ) -> list[Proposal]:
        """Proposals, oldest first, filtered by principal, status and thread."""
        sql, params = "SELECT * FROM proposals WHERE 1=1", []
        for col, val in (("principal", principal), ("status", status), ("thread", thread)):
            if val is not None:
                sql += f" AND {col} = ?"
                params.append(val)
        rows = self.database.fetchall(sql + " ORDER BY created_at, rowid", params)
        return [_row_to_proposal(r) for r in rows]

    def decide(
        self,
        proposal_id: str,
        kind: DecisionKind | Literal["auto"],
        actor: str,
        *,
        principal: str | None = None,
        final_args: dict[str, Any] | None = None,
        reason: str | None = None,
        preview: dict[str, Any] | None = None,
    ) -> tuple[Proposal, bool]:
        """Record a decision. Returns the proposal and whether this call changed it.

        Deciding an already decided proposal changes nothing (a double click is a
        no-op, reported as such by the caller).
        """
        pid = self.get(proposal_id, principal).id
        with self.database.transaction() as db:
            p = self._proposal(db, pid, lock=True)
            if p.status != "proposed":
                self._audit(db, p.principal, p.id, "decision_ignored", actor, {"kind": kind})
                return p, False
            args = final_args if final_args is not None else p.args
            if kind in ("approve", "edit", "auto"):
                status: Status = "approved"
                key = idempotency_key_for(p.principal, p.thread, p.tool_call_id, p.tool, args)
            else:
                status, key = "rejected", None
            db.execute(
                "UPDATE proposals SET status=?, decision=?, decided_by=?, reason=?, final_args=?,"
                " idempotency_key=?, decided_at=? WHERE id=?",
                (
                    status,
                    kind,
                    actor,
                    reason,
                    stored(final_args) if final_args is not None else None,
                    key,
                    utcnow(),
                    p.id,
                ),
            )
            if preview is not None:
                # The card and the audit describe what will run, not what was first proposed.
                db.execute("UPDATE proposals SET preview = ? WHERE id = ?", (stored(preview), p.id))
            detail: dict[str, Any] = {"reason": reason} if reason else {}
            if final_args is not None:
                detail["args"] = final_args
            event = {"approve": "approved", "auto": "auto_approved", "edit": "edited"}.get(
                kind, "rejected" if kind == "reject" else "responded"
            )
            self._audit(db, p.principal, p.id, event, actor, detail or None)
            return self._proposal(db, p.id), True

    # -- execution
    def execute(self, proposal: Proposal, run: Callable[[str], Any]) -> ExecutionOutcome:
        """Run an approved action once per idempotency key.

        ``run`` receives the key (providers use it to make the backend call
        idempotent too). A key already executed returns the stored result
        without running; a key left ``executing`` by a crashed process is run
        again with the same key, which the providers deduplicate.
        """
        if (
            proposal.status not in ("approved", "executed", "failed")
            or not proposal.idempotency_key
        ):
            raise LedgerError(f"Proposal {proposal.id} is {proposal.status}, not approved.")
        key = proposal.idempotency_key
        with self.database.hold(f"execute:{key}", timeout=EXECUTE_WAIT) as got:
            if not got:
                raise LedgerError(
                    f"Proposal {proposal.id} is still being carried out by another worker; "
                    "its result will show in `secretary audit`."
                )
            return self._execute_held(proposal, key, run)

    def _execute_held(
        self, proposal: Proposal, key: str, run: Callable[[str], Any]
    ) -> ExecutionOutcome:
        """Run the action while holding its key's lock (no live worker runs it meanwhile)."""
        with self.database.transaction() as db:
            row = db.fetchone(
                "SELECT * FROM executions WHERE idempotency_key = ?" + db.for_update, (key,)
            )
            if row is not None and row["status"] in ("executed", "failed"):
                self._audit(
                    db,
                    proposal.principal,
                    proposal.id,
                    "not_rerun",
                    "ledger",
                    {"idempotency_key": key, "status": row["status"]},
                )
                return ExecutionOutcome(
                    self._proposal(db, proposal.id),
                    ran=False,
                    ok=row["status"] == "executed",
                    result=json.loads(row["result"]) if row["result"] else None,
                    error=row["error"],
                )
            if row is None:
                db.execute(
                    "INSERT INTO executions (idempotency_key, proposal_id, principal, status,"
                    " attempts, started_at) VALUES (?, ?, ?, 'executing', 1, ?)",
                    (key, proposal.id, proposal.principal, utcnow()),
                )
            else:
                db.execute(
                    "UPDATE executions SET attempts = attempts + 1, started_at = ?"
                    " WHERE idempotency_key = ?",
                    (utcnow(), key),
                )
            self._audit(
                db,
                proposal.principal,
                proposal.id,
                "executing",
                "ledger",
                {"idempotency_key": key, "retry": row is not None},
            )
        ok, result, error = True, None, None
        try:
            result = run(key)
        except Exception as exc:  # noqa: BLE001 - recorded, then reported to the planner
            ok, error = False, str(exc) or exc.__class__.__name__
        status = "executed" if ok else "failed"
        with self.database.transaction() as db:
            db.execute(
                "UPDATE executions SET status=?, result=?, error=?, finished_at=?"
                " WHERE idempotency_key=?",
                (status, canonical(result) if ok else None, error, utcnow(), key),
            )
            db.execute(
                "UPDATE proposals SET status=?, result=?, error=?, executed_at=? WHERE id=?",
                (status, canonical(result) if ok else None, error, utcnow(), proposal.id),
            )
            self._audit(
                db,
                proposal.principal,
                proposal.id,
                status,
                "ledger",
                {"result": result} if ok else {"error": error},
            )
            fresh = self._proposal(db, proposal.id)
        return ExecutionOutcome(fresh, ran=True, ok=ok, result=result, error=error)

    # -- audit trail
    def trail(
        self, principal: str | None = None, proposal_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Audit events, oldest first."""
        sql, params = "SELECT * FROM audit WHERE 1=1", []
        if principal is not None:
            sql += " AND principal = ?"
            params.append(principal)
        if proposal_id is not None:
            sql += " AND proposal_id = ?"
            params.append(proposal_id)
        rows = self.database.fetchall(sql + " ORDER BY seq", params)
        return [
            {
                "seq": r["seq"],
                "at": r["at"],
                "principal": r["principal"],
                "proposal_id": r["proposal_id"],
                "event": r["event"],
                "actor": r["actor"],
                "detail": json.loads(r["detail"]) if r["detail"] else None,
            }
            for r in rows
        ]

    def note(
        self,
        principal: str,
        event: str,
        actor: str,
        detail: Any = None,
        proposal_id: str | None = None,
    ) -> None:
        """Append a free audit event (refused decisions, channel events)."""
        with self.database.transaction() as db:
            self._audit(db, principal, proposal_id, event, actor, detail)
