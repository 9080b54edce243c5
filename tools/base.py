"""Typed tool functions: the declaration every duty uses, and the registry.

A tool is a plain function whose first parameter is the :class:`ToolContext`
(injected, never shown to the model) and whose other parameters are typed and
documented in a Google-style docstring. The decorator turns the signature into
a pydantic model (the JSON schema the model sees and the validator every call
passes through) and records the tool's declared **effect**:

* ``read``  - no side effect; the gate lets it run at once.
* ``write`` - changes something in the world or in the workspace; the gate
  turns every call into a proposal that waits for a human decision, and only
  ``act`` (through the ledger) may run it.

Write tools may also declare a ``preview`` function that renders the exact
action for the approval card (summary, recipients, time, warnings such as a
calendar conflict), and their approval rule: ``auto_approve=False`` for a tool no
standing policy may ever approve, ``approvers`` for which staff may decide it. The
gate and the principal's approval check read these declarations; no duty is named
in the core.

A service's expected failure (:class:`~tools.providers.base.ProviderError`) leaves a
tool, or its preview, as the :class:`ToolError` sentence it carries; duties never
translate it themselves.
"""

from __future__ import annotations

import copy
import functools
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from tools.foundation.principals import ApprovalRule, StaffApprovers, use_approval_rules
from tools.providers.base import ProviderError

if TYPE_CHECKING:
    from tools.context import ToolContext

Effect = Literal["read", "write"]
Trust = Literal["workspace", "memory", "untrusted"]
"""Where a read tool's output comes from, for argument provenance:
``workspace`` is the principal's own data (calendar, contacts), ``memory`` is
recalled past correspondence, ``untrusted`` is content written by outsiders
(incoming mail bodies, web pages)."""


class ToolError(Exception):
    """An expected, recoverable failure: the message goes back to the model.

    Raise it with a sentence that says what went wrong and what to do
    ("No contact named 'Dana'. Search contacts or give an e-mail address.").
    """


@dataclass
class Preview:
    """The human-readable face of a proposed action, shown on approval cards."""

    summary: str
    """One line: what will happen ("Send e-mail to dana@acme.com: 'Budget'")."""
    details: dict[str, str] = field(default_factory=dict)
    """Labelled facts: To, When, Where, Price... in display order."""
    body: str | None = None
    """Long text the human must read before approving (e-mail body, etc.)."""
    warnings: list[str] = field(default_factory=list)
    """Conflicts and risks ("Overlaps 'Board call' 10:00-11:00")."""

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form stored with the proposal."""
        return {
            "summary": self.summary,
            "details": dict(self.details),
            "body": self.body,
            "warnings": list(self.warnings),
        }


_T = TypeVar("_T")
PreviewFn = Callable[["ToolContext", BaseModel], Preview]


@dataclass
class ToolSpec:
    """A registered tool: its function, schema, effect and presentation."""

    name: str
    fn: Callable[..., Any]
    effect: Effect
    duty: str
    description: str
    args_model: type[BaseModel]
    trust: Trust = "workspace"
    preview: PreviewFn | None = None
    title: str = ""
    auto_approve: bool = True
    """Whether the principal's ``policy.auto_approve`` may ever approve this tool."""
    approvers: StaffApprovers = "staff_may_approve"
    """Which staff, besides the principal, may decide its proposals."""
    _schema: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def approval_rule(self) -> ApprovalRule:
        """The declared approval rule, as the principal's approval check reads it."""
        return ApprovalRule(auto_approve=self.auto_approve, staff=self.approvers)

    def validate(self, args: dict[str, Any]) -> BaseModel:
        """Validate raw arguments; raise ToolError with a readable message."""
        try:
            return self.args_model.model_validate(args)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ToolError(f"Invalid arguments for {self.name}: {problems}") from None

    def run(self, ctx: ToolContext, args: BaseModel) -> Any:
        """Call the function with validated arguments."""
        return self.fn(ctx, **{k: getattr(args, k) for k in self.args_model.model_fields})

    def render_preview(self, ctx: ToolContext, args: BaseModel) -> Preview:
        """The approval-card preview, or a generic one listing the arguments."""
        if self.preview is not None:
            return _as_tool_error(self.preview)(ctx, args)
        return Preview(summary=f"{self.title or self.name}")

    def openai_schema(self) -> dict[str, Any]:
        """The Chat Completions ``tools`` entry for this tool (built once; callers get a copy)."""
        if self._schema is None:
            self._schema = self._build_schema()
        return copy.deepcopy(self._schema)

    def _build_schema(self) -> dict[str, Any]:
        params = self.args_model.model_json_schema()
        params.pop("title", None)
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": params,
            },
        }


_REGISTRY: dict[str, ToolSpec] = {}


def _as_tool_error(fn: Callable[..., _T]) -> Callable[..., _T]:
    """``fn``, raising a service's failure as the ToolError sentence it carries."""

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> _T:
        try:
            return fn(*args, **kwargs)
        except ProviderError as exc:
            raise ToolError(str(exc)) from None

    return call


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into description and per-argument text."""
    doc = inspect.cleandoc(doc or "")
    parts = re.split(r"^\s*(Args|Arguments|Returns|Raises):\s*$", doc, flags=re.M)
    description = parts[0].strip()
    arg_docs: dict[str, str] = {}
    for header, body in zip(parts[1::2], parts[2::2], strict=False):
        if header not in ("Args", "Arguments"):
            continue
        current: str | None = None
        for line in body.splitlines():
            m = re.match(r"^\s{0,8}(\w+)(?:\s*\([^)]*\))?:\s*(.*)$", line)
            if m:
                current = m.group(1)
                arg_docs[current] = m.group(2).strip()
            elif current and line.strip():
                arg_docs[current] += " " + line.strip()
    return description, arg_docs


def tool(
    *,
    effect: Effect,
    duty: str,
    trust: Trust = "workspace",
    preview: PreviewFn | None = None,
    title: str = "",
    auto_approve: bool = True,
    approvers: StaffApprovers = "staff_may_approve",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a typed tool function.

    Args:
        effect: ``read`` (runs at once) or ``write`` (needs an approval).
        duty: The duty the tool belongs to (calendar, mail, contacts...).
        trust: Where a read tool's output comes from (for provenance).
        preview: Renders the approval card of a write tool.
        title: Short human label ("Send e-mail").
        auto_approve: ``False`` when no standing policy may ever approve the tool (a reply
            to the press); settings that list it in ``policy.auto_approve`` are refused.
        approvers: Which staff may decide it: ``staff_may_approve`` (those the principal's
            policy opens the tool to) or ``press_approvers`` (only the press policy's).
    """

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        hints = get_type_hints(fn)
        description, arg_docs = _parse_docstring(fn.__doc__ or "")
        params = list(inspect.signature(fn).parameters.values())
        if not params or params[0].name != "ctx":
            raise TypeError(f"tool {fn.__name__}: first parameter must be 'ctx'")
        fields: dict[str, Any] = {}
        for p in params[1:]:
            default = ... if p.default is inspect.Parameter.empty else p.default
            fields[p.name] = (
                hints[p.name],
                Field(default, description=arg_docs.get(p.name)),
            )
        model = create_model(
            f"{fn.__name__}_args",
            __config__=ConfigDict(extra="forbid"),
            **fields,
        )
        known = _REGISTRY.get(fn.__name__)
        if known is not None and getattr(known.fn, "__wrapped__", known.fn) is not fn:
            raise ValueError(f"duplicate tool name {fn.__name__}")
        run = _as_tool_error(fn)
        _REGISTRY[fn.__name__] = ToolSpec(
            name=fn.__name__,
            fn=run,
            effect=effect,
            duty=duty,
            description=description,
            args_model=model,
            trust=trust,
            preview=preview,
            title=title or fn.__name__.replace("_", " ").capitalize(),
            auto_approve=auto_approve,
            approvers=approvers,
        )
        return run

    return register


def registry() -> dict[str, ToolSpec]:
    """All registered tools, importing every duty module first."""
    import importlib

    from tools import DUTY_MODULES

    for name in DUTY_MODULES:
        importlib.import_module(name)
    return dict(_REGISTRY)


def _approval_rule(tool: str) -> ApprovalRule | None:
    spec = _REGISTRY.get(tool) or registry().get(tool)
    return None if spec is None else spec.approval_rule


use_approval_rules(_approval_rule)
