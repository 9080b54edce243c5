"""The recall tool: what the principal's past correspondence says about something."""

from __future__ import annotations

from typing import Any

from tools.base import ToolError, tool
from tools.context import ToolContext


@tool(effect="read", duty="memory", trust="memory", title="Recall")
def recall(ctx: ToolContext, query: str, sender: str = "", since: str = "", limit: int = 5) -> Any:
    """Search the memory of past correspondence by meaning and by exact words.

    Use it before drafting to see what was said, promised or agreed before, and
    cite the message ids you drew on.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        query: What to look for, in plain words or exact terms (names, numbers).
        sender: Only messages from this address or name.
        since: Only messages on or after this ISO date, e.g. 2026-01-31.
        limit: How many results (1-20).
    """
    memory = ctx.workspace.memory
    if memory is None:
        raise ToolError("Memory is not available for this principal.")
    when = None
    if since:
        from tools.scheduling import parse_when

        try:
            when = parse_when(since, ctx.principal.tz)
        except ValueError as exc:
            raise ToolError(str(exc)) from None
    from tools.providers.memory.chroma import VectorStoreUnreachable
    from tools.providers.memory.store import EmbeddingModelChanged

    k = max(1, min(limit, 20))
    try:
        hits = memory.recall(query, k=k, sender=sender, since=when)
    except (EmbeddingModelChanged, VectorStoreUnreachable) as exc:
        # Words are still searchable while the vectors wait (rebuilt, or the server back).
        hits = memory.recall(query, k=k, sender=sender, since=when, mode="keyword")
        return {"note": f"Searched by exact words only: {exc}", "hits": [h.to_json() for h in hits]}
    return [h.to_json() for h in hits]
