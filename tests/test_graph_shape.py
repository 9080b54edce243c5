"""The graph's shape is fixed: plan -> gate -> act -> plan, and act only after gate."""

from __future__ import annotations

from pathlib import Path

from agent.graph import build_graph

SNAPSHOT = Path(__file__).parent / "snapshots" / "graph.mmd"


def test_graph_shape_matches_snapshot() -> None:
    drawn = build_graph().get_graph().draw_mermaid()
    assert drawn.strip() == SNAPSHOT.read_text().strip(), (
        "The graph changed shape. If intended, update tests/snapshots/graph.mmd."
    )


def test_act_is_reached_only_from_gate() -> None:
    graph = build_graph().get_graph()
    into_act = {e.source for e in graph.edges if e.target == "act"}
    assert into_act == {"gate"}
