"""The Secretary facade: the only thing channels (terminal, Slack, e-mail) talk to.

``ask()`` runs one turn of a thread, ``decide()`` applies a human decision to
a proposal from any process at any time (resuming the thread from its
checkpoint), ``pending()`` and ``audit()`` read the ledger. Expected failures
(no model, model unreachable, unknown proposal, refused approver) come back
as plain sentences on the :class:`Reply` or as :class:`SecretaryError`, never
as tracebacks.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from agent.approval import Decision, apply_edit
from agent.ledger import Ledger, LedgerError, Proposal
from tools.foundation.errors import SecretaryError
from tools.foundation.principals import Principal, Role
from tools.foundation.settings import Settings, load_settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from tools.context import Workspace

log = logging.getLogger(__name__)

THREAD_WAIT = 600.0
"""Seconds to wait for a thread another worker is driving (a model turn can be slow)."""


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "local user"


@dataclass
class Actor:
    """Who is speaking or deciding, on which channel."""

    channel: str = "terminal"
    address: str = field(default_factory=lambda: _os_user())

    def __str__(self) -> str:
        return f"{self.channel}:{self.address}"


@dataclass
class Reply:
    """What one call into the secretary produced."""

    principal: str
    thread: str
    text: str | None = None
    pending: list[Proposal] = field(default_factory=list)
    executed: list[Proposal] = field(default_factory=list)
    settled: list[Proposal] = field(default_factory=list)
    """Proposals decided or run during this call (executed, failed, rejected)."""
    error: str | None = None
    notice: str | None = None
    superseded: bool = False
    """The decision of this call was not recorded: the proposal had been decided already."""

    def to_json(self) -> dict[str, Any]:
        """Stable JSON for ``ask --json``."""
        return {
            "principal": self.principal,
            "thread": self.thread,
            "reply": self.text,
            "error": self.error,
            "notice": self.notice,
            "pending": [p.to_json() for p in self.pending],
            "settled": [p.to_json() for p in self.settled],
        }


def new_thread_id() -> str:
    """A short thread id a person can type: ``20261123-4f2a``."""
    return f"{datetime.now():%Y%m%d}-{secrets.token_hex(2)}"


class Secretary:
    """One secretary over one data directory, serving one or more principals."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        model: BaseChatModel | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings or load_settings()
        self.home = self.settings.ensure_home()
        self.ledger = Ledger(self.settings.storage().database("ledger.sqlite"))
        self._model = model
        self._clock = clock
        self._graph: Any = None
        self._checkpoint_conn: sqlite3.Connection | None = None
        self._checkpoint_pool: Any = None
        self._workspaces: dict[str, Workspace] = {}
        self._model_problem: str | None = None
        # Workspaces, the model and the graph are built on first use and cached;
        # channels serve requests on several threads, so building is serialised.
        self._building = threading.RLock()

    # ------------------------------------------------------------ plumbing
    def principal(self, pid: str | None = None) -> Principal:
        """The principal by id (default: the only or first one)."""
        try:
            return self.settings.principal(pid)
        except KeyError as exc:
            raise SecretaryError(str(exc.args[0])) from None

    def workspace(self, principal: Principal) -> Workspace:
        """The principal's providers (built once per process, thread-safe)."""
        ws = self._workspaces.get(principal.id)
        if ws is not None:
            return ws
        with self._building:
            return self._workspaces.get(principal.id) or self._open_workspace(principal)

    def _open_workspace(self, principal: Principal) -> Workspace:
        from tools.providers.base import ProviderError, UnknownProvider
        from tools.workspace import open_workspace

        try:
            ws = open_workspace(self.settings, principal)
        except (UnknownProvider, ProviderError) as exc:
            raise SecretaryError(f"Cannot open the accounts of {principal.id}: {exc}") from None
        # The briefing lists what waits for approval; tools see it through this view only.
        ws.approvals = lambda pid=principal.id: self.pending(pid)
        # Invoice capture asks the model only for fields the parser left empty (built on use).
        ws.extract_model = self.model
        self._workspaces[principal.id] = ws
        return ws

    @property
    def model_configured(self) -> bool:
        """Whether a chat model is attached."""
        return self._model is not None or self.settings.model_configured

    def model(self) -> BaseChatModel | None:
        """The chat model, built on first use; None when none is configured."""
        if self._model is None and self.settings.model_configured:
            with self._building:
                if self._model is None:
                    self._build_model()
        return self._model

    def _build_model(self) -> None:
        from tools.providers.llm import ModelNotConfigured, make_chat_model

        try:
            self._model = make_chat_model(self.settings)
        except ModelNotConfigured as exc:
            # Decisions and read-only work go on without a model; the
            # planner reports this sentence when it is needed.
            self._model_problem = str(exc)

    def graph(self) -> Any:
        """The compiled graph with its checkpointer (SQLite file, or PostgreSQL)."""
        if self._graph is None:
            with self._building:
                if self._graph is None:
                    from agent.graph import build_graph

                    self._graph = build_graph(self._checkpointer())
        return self._graph

    def _checkpointer(self) -> Any:
        """Where thread state is kept between turns, so any worker can resume any thread."""
        url = self.settings.database_url
        if not url:
            from langgraph.checkpoint.sqlite import SqliteSaver

            self._checkpoint_conn = sqlite3.connect(
                self.home / "checkpoints.sqlite", check_same_thread=False, timeout=30
            )
            self._checkpoint_conn.execute("PRAGMA journal_mode=WAL")
            return SqliteSaver(self._checkpoint_conn)
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        from tools.foundation.db import DatabaseError, redact

        pool: ConnectionPool[Any] = ConnectionPool(
            url,
            min_size=1,
            max_size=8,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
            open=False,
        )
        try:
            pool.open(wait=True, timeout=15)
        except Exception as exc:  # noqa: BLE001 - pool errors carry the server's reason
            pool.close()
            raise DatabaseError(
                f"Cannot reach the database at {redact(url)} for thread checkpoints ({exc}); "
                "check SECRETARY_DATABASE_URL and that the server is running."
            ) from None
        self._checkpoint_pool = pool
        saver = PostgresSaver(pool)
        # Its own versioned migrations (checkpoint_migrations); one process at a time.
        with self.ledger.database.hold("checkpoint-migrations", timeout=120):
            saver.setup()
        return saver

    def close(self) -> None:
        """Release databases and provider connections."""
        for ws in self._workspaces.values():
            ws.close()
        self._workspaces.clear()
        if self._checkpoint_conn is not None:
            self._checkpoint_conn.close()
            self._checkpoint_conn = None
        if self._checkpoint_pool is not None:
            self._checkpoint_pool.close()
            self._checkpoint_pool = None
        self._graph = None
        self.ledger.close()

    def __enter__(self) -> Secretary:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _thread_lock(self, principal: str, thread: str) -> Iterator[None]:
        """One worker at a time drives a thread (two approvals never race).

        The lock lives in the ledger's database (an advisory lock on
        PostgreSQL, a lock file beside SQLite), so it spans every process and
        machine sharing it, and is released if its holder dies.
        """
        with self.ledger.database.hold(f"thread:{principal}/{thread}", THREAD_WAIT) as got:
            if not got:
                raise SecretaryError(
                    f"Thread {thread} has been busy in another worker for {THREAD_WAIT:.0f} s; "
                    "try again in a moment."
                )
            yield

    def _context(
        self, principal: Principal, thread: str, actor: Actor, words: tuple[str, ...] = ()
    ) -> Any:
        from agent.state import AgentContext
        from tools.base import registry

        return AgentContext(
            settings=self.settings,
            principal=principal,
            thread=thread,
            ledger=self.ledger,
            workspace=self.workspace(principal),
            tools=registry(),
            model=self.model(),
            actor=str(actor),
            clock=self._clock,
            principal_words=words,
        )

    @staticmethod
    def _config(principal: Principal, thread: str) -> dict[str, Any]:
        # The checkpoint key carries the principal: a thread id alone can never
        # open another principal's conversation.
        return {"configurable": {"thread_id": f"{principal.id}/{thread}"}, "recursion_limit": 100}

    def _run(
        self,
        principal: Principal,
        thread: str,
        actor: Actor,
        payload: Any,
        before_override: dict[str, Any] | None = None,
    ) -> Reply:
        """Drive the graph once and describe what happened."""
        from tools.providers.llm import ModelNotConfigured, describe_model_error, is_model_error

        before: dict[str, Any] = {
            p.id: p.status for p in self.ledger.query(principal.id, thread=thread)
        }
        before.update(before_override or {})
        graph = self.graph()
        config = self._config(principal, thread)
        earlier = graph.get_state(config).values.get("messages", [])
        start_len = len(earlier)
        reply = Reply(principal=principal.id, thread=thread)
        from agent.state import principal_words

        # A run adds no human message, so the principal's words are known before it starts.
        new = payload.get("messages", []) if isinstance(payload, dict) else []
        words = principal_words([*earlier, *new])
        try:
            context = self._context(principal, thread, actor, words)
            graph.invoke(payload, config, context=context)
        except ModelNotConfigured as exc:
            reply.error = self._model_problem or str(exc)
        except Exception as exc:
            if not is_model_error(exc):
                raise
            log.warning("model call failed: %r", exc)
            reply.error = describe_model_error(exc, self.settings)
        state = graph.get_state(config)
        messages = state.values.get("messages", [])
        from langchain_core.messages import AIMessage

        for m in reversed(messages[start_len:]):
            if isinstance(m, AIMessage) and not m.tool_calls and m.content:
                reply.text = m.content if isinstance(m.content, str) else str(m.content)
                break
        after = self.ledger.query(principal.id, thread=thread)
        reply.pending = [p for p in after if p.status == "proposed"]
        reply.settled = [
            p for p in after if p.status != "proposed" and before.get(p.id) != p.status
        ]
        reply.executed = [p for p in reply.settled if p.status == "executed"]
        from agent.learning import remember_executed

        for done in reply.executed:
            remember_executed(self.workspace(principal), done)
        return reply

    # ------------------------------------------------------------ the API
    def ask(
        self,
        text: str,
        *,
        principal: str | None = None,
        thread: str | None = None,
        actor: Actor | None = None,
        role: Role | Literal["secretary"] = "principal",
        ref: str = "",
        remember: bool = True,
        outside: list[dict[str, str]] | None = None,
    ) -> Reply:
        """One turn: the text goes to the planner; proposals wait in the ledger.

        ``remember=False`` keeps the turn out of memory (a channel's own instruction).
        ``role="secretary"`` is a channel's own note to the planner (never the principal's
        voice); ``outside`` lists what such a note repeats of someone else's message
        (``{"who", "text", "ref"}``), which counts as that person's content.
        """
        from langchain_core.messages import HumanMessage

        p = self.principal(principal)
        thread = thread or new_thread_id()
        actor = actor or Actor()
        if not text.strip():
            raise SecretaryError("Say what you need (the message was empty).")
        if not self.model_configured:
            from tools.providers.llm import NO_MODEL_HINT

            reply = Reply(principal=p.id, thread=thread, error=NO_MODEL_HINT)
            reply.pending = self.ledger.query(p.id, "proposed", thread)
            return reply
        extra: dict[str, Any] = {"secretary_role": role, "secretary_ref": ref or str(actor)}
        if outside:
            extra["secretary_outside"] = outside
        message = HumanMessage(content=text, additional_kwargs=extra)
        with self._thread_lock(p.id, thread):
            reply = self._run(p, thread, actor, {"messages": [message], "steps": 0})
        if role in ("principal", "staff") and remember:
            from agent.learning import remember_turn

            remember_turn(self.workspace(p), thread, text, reply.text)
        return reply

    def decide(
        self,
        proposal_id: str,
        decision: Decision,
        *,
        actor: Actor | None = None,
        principal: str | None = None,
    ) -> Reply:
        """Apply a human decision and resume the proposal's thread.

        Deciding twice is a no-op that says so; an approved action runs once.
        """
        from langgraph.types import Command

        from tools.base import ToolError, registry

        actor = actor or Actor()
        try:
            proposal = self.ledger.get(proposal_id, principal)
        except LedgerError as exc:
            raise SecretaryError(str(exc)) from None
        p = self.principal(proposal.principal)
        role = p.role_of(actor.channel, actor.address)
        if not p.may_approve(role, proposal.tool, actor.address):
            self.ledger.note(p.id, "decision_refused", str(actor), {"role": role}, proposal.id)
            raise SecretaryError(
                f"Sorry, {actor.address} may not decide actions for {p.name}; "
                "only the principal (or staff they allowed) can."
            )
        final_args = None
        new_preview: dict[str, Any] | None = None
        before_status = proposal.status
        if decision.kind == "edit":
            spec = registry().get(proposal.tool)
            if spec is None:
                raise SecretaryError(f"The tool {proposal.tool} no longer exists.")
            from tools.context import ToolContext

            ctx = ToolContext(
                principal=p,
                workspace=self.workspace(p),
                clock=self._clock,
                # The card of an edit is checked as the approved action will run: a file
                # path is allowed by what the principal wrote in the thread.
                principal_words=self.principal_words(p.id, proposal.thread),
            )
            try:
                final_args, new_preview = apply_edit(spec, proposal, decision.args or {}, ctx)
            except ToolError as exc:
                raise SecretaryError(f"{exc}. Nothing was changed.") from None
        kind = decision.kind
        proposal, changed = self.ledger.decide(
            proposal.id,
            kind,
            str(actor),
            final_args=final_args,
            reason=decision.text,
            preview=new_preview,
        )
        if changed:
            from agent.learning import learn_from_decision

            learn_from_decision(self.workspace(p), proposal)
        if not changed and proposal.status != "approved":
            when = proposal.executed_at or proposal.decided_at or ""
            reply = Reply(principal=p.id, thread=proposal.thread)
            reply.notice = (
                f"Proposal {proposal.id} was already {proposal.status}"
                f"{' by ' + proposal.decided_by if proposal.decided_by else ''}"
                f"{' at ' + when if when else ''}; nothing to do."
            )
            reply.pending = self.ledger.query(p.id, "proposed", proposal.thread)
            reply.superseded = True
            return reply
        with self._thread_lock(p.id, proposal.thread):
            graph = self.graph()
            state = graph.get_state(self._config(p, proposal.thread))
            if any(t.interrupts for t in state.tasks):
                payload: Any = Command(resume={"decided": [proposal.id]})
            elif state.next:
                payload = None  # an interrupted run (crash): carry on from the checkpoint
            else:
                payload = Command(goto="act")
            reply = self._run(p, proposal.thread, actor, payload, {proposal.id: before_status})
        if not changed:
            reply.notice = f"Proposal {proposal.id} was approved earlier; finished running it."
            reply.superseded = True
        if reply.error and self._model is None:
            # The decision itself worked; only the follow-up answer needs a model.
            reply.notice = " ".join(filter(None, [reply.notice, reply.error]))
            reply.error = None
        return reply

    def pending(self, principal: str | None = None) -> list[Proposal]:
        """Proposals waiting for a decision (all principals when None)."""
        return self.ledger.query(principal, "proposed")

    def audit(self, principal: str | None = None) -> list[Proposal]:
        """Every proposal and what became of it, oldest first."""
        return self.ledger.query(principal)

    def trail(
        self, principal: str | None = None, proposal_id: str | None = None
    ) -> list[dict[str, Any]]:
        """The append-only audit events."""
        return self.ledger.trail(principal, proposal_id)

    def principal_words(self, principal: str | None, thread: str) -> tuple[str, ...]:
        """What the principal wrote themselves in a thread (for a ToolContext outside a run).

        A channel that checks an edit before deciding it passes these to its ToolContext,
        so a file path the principal wrote in the thread is allowed there as in the run.
        """
        from agent.state import principal_words

        return principal_words(self.history(principal, thread))

    def history(self, principal: str | None, thread: str) -> list[Any]:
        """The messages of a thread (for display)."""
        p = self.principal(principal)
        state = self.graph().get_state(self._config(p, thread))
        return list(state.values.get("messages", []))
