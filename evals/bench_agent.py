"""Benchmark: the agent's own overhead per task, with a model that answers instantly.

    python -m evals.bench_agent [--tasks 50] [--warmup 3] [--json FILE]

One task is the secretary's whole approval round trip for one e-mail, each in
a fresh thread of one ``Secretary`` (SQLite checkpointer, ledger, local Maildir
mail provider, memory):

1. ``Secretary.ask``: *plan* (the model node: system prompt, every tool schema
   bound, the scripted model proposes ``send_email``), *gate* (validation,
   preview rendering, provenance tracing, a ledger row, the interrupt);
2. ``Secretary.decide(approve)``: the decision is recorded, the thread resumes,
   *act* runs the action once through the ledger (idempotency key, audit
   events) and the local mail provider writes the message to ``sent``, then
   *plan* again and the model's closing text.

The model is :class:`tools.providers.scripted.ScriptedChatModel`, so model time is ~0
and every millisecond is the agent's. Per-node times come from timing wrappers
around the graph's ``plan``/``gate``/``act`` nodes; the rest of each call
(checkpoint writes and reads, graph scheduling, the facade's ledger queries
and memory notes) is reported as "framework and facade".

For comparison the same task runs on LangGraph's prebuilt ReAct agent
(``langgraph.prebuilt.create_react_agent``) with the same tool functions
wrapped as LangChain tools, the same scripted model and the same kind of
checkpointer (``SqliteSaver`` on a file). That agent has no gate: its
``send_email`` sends at once, with no proposal, approval, ledger row, audit
trail, provenance or preview, so it does strictly less work per task.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import sqlite3
import statistics
import tempfile
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
REQUEST = "E-mail dana@acme.example that I'm running ten minutes late."


def send_call(i: int) -> dict[str, Any]:
    """The scripted model's first answer of task ``i``: one send_email call."""
    args = {
        "to": ["dana@acme.example"],
        "subject": f"Running late ({i})",
        "body": "Hi Dana,\n\nI'm running ten minutes late, sorry.\n\nAda",
    }
    return {"tool_calls": [{"name": "send_email", "args": args, "id": f"call_{i}"}]}


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(values: Sequence[float]) -> dict[str, float]:
    """Median, p90 and mean of millisecond values."""
    return {
        "median_ms": statistics.median(values),
        "p90_ms": percentile(values, 90),
        "mean_ms": statistics.fmean(values),
    }


# --------------------------------------------------------------------------- the secretary


class NodeClock:
    """Accumulates the time spent inside each graph node."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` timed under ``name`` (signature kept, so LangGraph passes the runtime)."""

        @functools.wraps(fn)
        def timed(state: Any, runtime: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(state, runtime)
            finally:
                self.spent[name] += (time.perf_counter() - t0) * 1000

        return timed

    def take(self) -> dict[str, float]:
        """The times since the last call, then reset."""
        out = dict(self.spent)
        self.spent.clear()
        return out


def bench_secretary(home: Path, tasks: int, warmup: int) -> dict[str, Any]:
    """Run ``warmup + tasks`` approval round trips on one Secretary; time the last ``tasks``."""
    import agent.graph as graph_module
    from agent.approval import Decision
    from agent.runtime import Secretary
    from tools.foundation.principals import Principal
    from tools.foundation.settings import Settings
    from tools.providers.scripted import ScriptedChatModel

    clock = NodeClock()
    originals = {n: getattr(graph_module, n) for n in ("plan", "gate", "act")}
    for name, fn in originals.items():
        setattr(graph_module, name, clock.wrap(name, fn))
    ada = Principal(
        id="ada", name="Ada Lovelace", email="ada@example.com", timezone="Europe/Berlin"
    )
    model = ScriptedChatModel()
    sec = Secretary(Settings(home=home, principals=[ada]), model=model, clock=lambda: NOW)
    rows: list[dict[str, float]] = []
    try:
        for i in range(warmup + tasks):
            model.enqueue(send_call(i), "Done: the e-mail to Dana is sent.")
            t0 = time.perf_counter()
            reply = sec.ask(REQUEST, principal="ada", thread=f"bench-{i}")
            t1 = time.perf_counter()
            asked = clock.take()
            [proposal] = reply.pending
            done = sec.decide(proposal.id, Decision(kind="approve"))
            t2 = time.perf_counter()
            decided = clock.take()
            if [p.status for p in done.executed] != ["executed"] or not done.text:
                raise RuntimeError(f"task {i} did not run to the end: {done}")
            if i < warmup:
                continue
            ask_ms, decide_ms = (t1 - t0) * 1000, (t2 - t1) * 1000
            nodes = sum(asked.values()) + sum(decided.values())
            rows.append(
                {
                    "task_ms": ask_ms + decide_ms,
                    "ask_ms": ask_ms,
                    "decide_ms": decide_ms,
                    "plan_ms": asked.get("plan", 0.0) + decided.get("plan", 0.0),
                    "gate_ms": asked.get("gate", 0.0) + decided.get("gate", 0.0),
                    "act_ms": asked.get("act", 0.0) + decided.get("act", 0.0),
                    "framework_ms": ask_ms + decide_ms - nodes,
                }
            )
        sent = sec.workspace(ada).mail.search(folder="sent", limit=10_000)
        ledger_rows = len(sec.audit("ada"))
        events = len(sec.trail("ada"))
    finally:
        sec.close()
        for name, fn in originals.items():
            setattr(graph_module, name, fn)
    if len(sent) != warmup + tasks:
        raise RuntimeError(f"expected {warmup + tasks} sent messages, found {len(sent)}")
    out: dict[str, Any] = {k: summary([r[k] for r in rows]) for k in rows[0]}
    out["model_calls_per_task"] = len(model.calls) / (warmup + tasks)
    out["ledger_rows_per_task"] = ledger_rows / (warmup + tasks)
    out["audit_events_per_task"] = events / (warmup + tasks)
    out["tools_bound"] = len(model.bound_tools or [])
    return out


# --------------------------------------------------------------------------- the prebuilt agent


def langchain_tools(ctx_for: Callable[[str], Any]) -> list[Any]:
    """Every registered tool function as a LangChain tool, running at once (no gate)."""
    from langchain_core.tools import StructuredTool

    from tools.base import ToolSpec, registry

    def make(spec: ToolSpec) -> Any:
        def call(**kwargs: Any) -> Any:
            # The prebuilt agent gives no call id to a plain function, so a fresh
            # key per call stands in for the ledger's idempotency key.
            result = spec.fn(ctx_for(spec.name), **kwargs)
            return json.dumps(result, default=str)

        return StructuredTool.from_function(
            func=call, name=spec.name, description=spec.description, args_schema=spec.args_model
        )

    return [make(spec) for spec in registry().values()]


def bench_prebuilt(home: Path, tasks: int, warmup: int) -> dict[str, Any]:
    """The same task on ``create_react_agent`` with a SqliteSaver; time the last ``tasks``."""
    import itertools

    from langchain_core.messages import AIMessage, HumanMessage
    from langgraph.checkpoint.sqlite import SqliteSaver

    from tools.context import ToolContext
    from tools.foundation.principals import Principal
    from tools.providers.scripted import ScriptedChatModel
    from tools.workspace import open_workspace

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # create_react_agent is marked deprecated
        from langgraph.prebuilt import create_react_agent

    from tools.foundation.settings import Settings

    ada = Principal(
        id="ada", name="Ada Lovelace", email="ada@example.com", timezone="Europe/Berlin"
    )
    settings = Settings(home=home, principals=[ada])
    settings.ensure_home()
    ws = open_workspace(settings, ada)
    keys = itertools.count(1)

    def ctx_for(_tool: str) -> ToolContext:
        return ToolContext(
            principal=ada, workspace=ws, idempotency_key=f"prebuilt-{next(keys)}", clock=lambda: NOW
        )

    conn = sqlite3.connect(home / "prebuilt-checkpoints.sqlite", check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    model = ScriptedChatModel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        agent = create_react_agent(
            model,
            langchain_tools(ctx_for),
            prompt="You are the executive assistant of Ada Lovelace.",
            checkpointer=SqliteSaver(conn),
        )
    times = []
    try:
        for i in range(warmup + tasks):
            model.enqueue(send_call(i), "Done: the e-mail to Dana is sent.")
            config: Any = {"configurable": {"thread_id": f"prebuilt-{i}"}}
            t0 = time.perf_counter()
            state = agent.invoke({"messages": [HumanMessage(content=REQUEST)]}, config)
            took = (time.perf_counter() - t0) * 1000
            last = state["messages"][-1]
            if not isinstance(last, AIMessage) or last.tool_calls:
                raise RuntimeError(f"prebuilt task {i} did not finish: {last!r}")
            if i >= warmup:
                times.append(took)
        sent = ws.mail.search(folder="sent", limit=10_000)
    finally:
        ws.close()
        conn.close()
    if len(sent) != warmup + tasks:
        raise RuntimeError(f"expected {warmup + tasks} sent messages, found {len(sent)}")
    return {
        "task_ms": summary(times),
        "model_calls_per_task": len(model.calls) / (warmup + tasks),
        "tools_bound": len(model.bound_tools or []),
    }


# --------------------------------------------------------------------------- report


def run(tasks: int, warmup: int) -> dict[str, Any]:
    """Both agents on fresh data directories; every number."""
    with tempfile.TemporaryDirectory(prefix="bench-agent-") as tmp:
        ours = bench_secretary(Path(tmp) / "secretary", tasks, warmup)
        prebuilt = bench_prebuilt(Path(tmp) / "prebuilt", tasks, warmup)
    ratio = ours["task_ms"]["median_ms"] / prebuilt["task_ms"]["median_ms"]
    return {"tasks": tasks, "warmup": warmup, "secretary": ours, "prebuilt": prebuilt,
            "ratio_median": ratio}  # fmt: skip


def report(result: dict[str, Any]) -> None:
    """Print the numbers."""
    ours, pre = result["secretary"], result["prebuilt"]
    print(
        f"agent overhead per task, scripted model (answers instantly), "
        f"{result['tasks']} tasks after {result['warmup']} warm-up, fresh thread each"
    )
    print(
        "task: request -> model proposes send_email -> gate -> approve -> act "
        "(local Maildir send) -> model's closing text"
    )
    print(f"\nsecretary (plan/gate/act graph, SqliteSaver, {ours['tools_bound']} tools bound):")
    labels = [
        ("task_ms", "whole task (ask + decide)"),
        ("ask_ms", "  Secretary.ask: plan + gate"),
        ("decide_ms", "  Secretary.decide: act + plan"),
        ("plan_ms", "  in node plan (2 model turns)"),
        ("gate_ms", "  in node gate (proposal, preview)"),
        ("act_ms", "  in node act (ledger execute, send)"),
        ("framework_ms", "  framework and facade"),
    ]
    for key, label in labels:
        s = ours[key]
        print(f"  {label:38} median {s['median_ms']:7.2f} ms   p90 {s['p90_ms']:7.2f} ms")
    print(
        f"  per task: {ours['model_calls_per_task']:.0f} model calls, "
        f"{ours['ledger_rows_per_task']:.0f} ledger row, "
        f"{ours['audit_events_per_task']:.0f} audit events, provenance traced, preview rendered"
    )
    s = pre["task_ms"]
    print(
        f"\nLangGraph prebuilt ReAct agent (create_react_agent, SqliteSaver, "
        f"{pre['tools_bound']} tools bound, NO gate: sends at once, no ledger/audit/preview):"
    )
    label = "whole task (one invoke)"
    print(f"  {label:38} median {s['median_ms']:7.2f} ms   p90 {s['p90_ms']:7.2f} ms")
    print(f"  per task: {pre['model_calls_per_task']:.0f} model calls")
    print(
        f"\nratio secretary / prebuilt (median per task): {result['ratio_median']:.2f}x "
        "(the secretary's task is two invocations with an approval in between)"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark from the command line."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--tasks", "--runs", type=int, default=50, help="Timed tasks per agent.")
    ap.add_argument("--warmup", type=int, default=3, help="Untimed tasks first.")
    ap.add_argument("--json", type=Path, metavar="FILE", help="Also write the numbers here.")
    args = ap.parse_args(argv)
    if args.tasks < 1 or args.warmup < 0:
        ap.error("--tasks must be at least 1 and --warmup at least 0")
    result = run(args.tasks, args.warmup)
    report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
