"""Helpers for tool tests: render a tool's preview or run it with validated arguments."""

from __future__ import annotations

from typing import Any

from tools.base import Preview, registry
from tools.context import ToolContext


def preview(ctx: ToolContext, tool: str, /, **args: Any) -> Preview:
    spec = registry()[tool]
    return spec.render_preview(ctx, spec.validate(args))


def run(ctx: ToolContext, tool: str, key: str = "", /, **args: Any) -> Any:
    spec = registry()[tool]
    ctx.idempotency_key = key
    return spec.run(ctx, spec.validate(args))
