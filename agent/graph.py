"""build_graph(): plan -> gate -> act -> plan, as a LangGraph StateGraph.

``plan`` asks the chat model; ``gate`` turns write-tool calls into proposals
and waits for a human in ``interrupt()``; ``act`` runs read tools and approved
actions through the ledger. No edge reaches ``act`` except through ``gate``.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

from agent.nodes import act, gate, plan
from agent.state import AgentContext, State, current_calls


def after_plan(state: State) -> str:
    """Tool calls go to the gate; a text answer ends the turn."""
    return "gate" if current_calls(state.get("messages", [])) else END


def after_act(state: State) -> str:
    """Back to the gate while calls of the latest turn wait; else plan again."""
    return "gate" if current_calls(state.get("messages", [])) else "plan"


def build_graph(checkpointer: Any = None) -> Any:
    """The compiled secretary graph (pass a checkpointer for durable threads)."""
    g = StateGraph(State, context_schema=AgentContext)
    g.add_node("plan", plan)
    g.add_node("gate", gate)
    g.add_node("act", act)
    g.add_edge(START, "plan")
    g.add_conditional_edges("plan", after_plan, ["gate", END])
    g.add_edge("gate", "act")
    g.add_conditional_edges("act", after_act, ["gate", "plan"])
    return g.compile(checkpointer=checkpointer)
