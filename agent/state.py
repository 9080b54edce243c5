"""Graph state and the runtime context the graph's nodes receive.

The state is only the conversation (LangGraph messages) and a step counter;
what is pending lives in the ledger, and clients and stores live on the
context, which is built at the entry point and never checkpointed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langgraph.graph.message import add_messages

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from agent.ledger import Ledger
    from tools.base import ToolSpec
    from tools.context import Workspace
    from tools.foundation.principals import Principal
    from tools.foundation.settings import Settings


class State(TypedDict, total=False):
    """What the graph checkpoints for one thread."""

    messages: Annotated[list[AnyMessage], add_messages]
    steps: int
    """Plan steps taken since the last human input (bounded by Settings.max_steps)."""


@dataclass
class AgentContext:
    """Everything a node needs for one run; passed as LangGraph runtime context."""

    settings: Settings
    principal: Principal
    thread: str
    ledger: Ledger
    workspace: Workspace
    tools: dict[str, ToolSpec]
    model: BaseChatModel | None = None
    actor: str = "terminal"
    clock: Callable[[], datetime] | None = None
    principal_words: tuple[str, ...] = ()
    """The principal's own messages in this thread (a file path in them may be read)."""

    def tool_context(
        self,
        idempotency_key: str = "",
        *,
        by_policy: bool = False,
        reference_time: datetime | None = None,
    ) -> Any:
        """A ToolContext for one tool call.

        ``by_policy``: approved by a standing policy; ``reference_time``: when the
        action was proposed (relative dates are read against it).
        """
        from tools.context import ToolContext

        return ToolContext(
            principal=self.principal,
            workspace=self.workspace,
            idempotency_key=idempotency_key,
            clock=self.clock,
            principal_words=self.principal_words,
            approved_by_policy=by_policy,
            # A pinned clock (tests, evals) already fixes 'now' for previews and runs alike.
            reference_time=reference_time if self.clock is None else None,
        )

    def now(self) -> datetime:
        """Now in the principal's zone (pinned in tests)."""
        if self.clock is not None:
            return self.clock().astimezone(self.principal.tz)
        return self.principal.now()


def open_calls(messages: list[AnyMessage]) -> list[dict[str, Any]]:
    """Tool calls in the whole thread that have no result yet, oldest first."""
    answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    out: list[dict[str, Any]] = []
    for m in messages:
        if isinstance(m, AIMessage):
            out.extend(dict(c) for c in m.tool_calls if c["id"] not in answered)
    return out


def principal_words(messages: list[AnyMessage]) -> tuple[str, ...]:
    """The texts the principal wrote themselves in a thread, oldest first.

    Staff, outsiders and a channel's own note (role ``secretary``) are left out; a message
    without a role is the principal's desk (the same default provenance uses).
    """
    from agent.evidence import ROLE_KEY

    out: list[str] = []
    for m in messages:
        if isinstance(m, HumanMessage) and m.additional_kwargs.get(ROLE_KEY, "principal") == (
            "principal"
        ):
            out.append(m.content if isinstance(m.content, str) else m.text)
    return tuple(out)


def current_calls(messages: list[AnyMessage]) -> list[dict[str, Any]]:
    """Unanswered tool calls of the latest model turn."""
    for m in reversed(messages):
        if isinstance(m, AIMessage):
            answered = {x.tool_call_id for x in messages if isinstance(x, ToolMessage)}
            return [dict(c) for c in m.tool_calls if c["id"] not in answered]
    return []
