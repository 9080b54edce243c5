"""``secretary trip list`` and ``secretary trip show ID``: the itinerary, without a model.

Added to the main command group by :mod:`agent.cli.app`. Both read through
the same tool functions the model uses (list_trips, show_trip); nothing here
books or changes anything.
"""

from __future__ import annotations

import json
from typing import Any

import click

from agent.cli.common import JSON, PRINCIPAL, _consoles, _guard, cells, group, run_read_tool


def _totals(trip: dict[str, Any]) -> str:
    parts = [f"{amount} {currency}" for currency, amount in trip["totals"].items()]
    if trip.get("not_priced"):
        parts.append(f"{trip['not_priced']} not priced yet")
    return ", ".join(parts) or "-"


@group()
def trip() -> None:
    """Trips: the itinerary of booked and requested flights and hotels.

    \b
    Examples:
      secretary trip list
      secretary trip show trip-1a2b3c4d5e6f
      secretary trip show trip-1a2b3c4d5e6f --json
    """


@trip.command("list")
@click.option("-a", "--all", "show_all", is_flag=True, help="Include trips that have ended.")
@PRINCIPAL
@JSON
@_guard
def trip_list(show_all: bool, principal: str | None, as_json: bool) -> None:
    """List trips, soonest first (upcoming ones unless --all)."""
    from tools.travel import list_trips

    found = run_read_tool(principal, lambda ctx: list_trips(ctx, include_past=show_all))
    if as_json:
        click.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    if not found:
        _consoles()[1].print("No trips.")
        return
    from rich.table import Table

    table = Table()
    for col in ("id", "from", "to", "title", "status", "total"):
        table.add_column(col, overflow="fold")
    for t in found:
        table.add_row(
            *cells(
                t["id"],
                t["first_day"] or "-",
                t["last_day"] or "-",
                t["title"],
                t["status"],
                _totals(t),
            )
        )
    _consoles()[0].print(table)


@trip.command("show")
@click.argument("trip_id")
@PRINCIPAL
@JSON
@_guard
def trip_show(trip_id: str, principal: str | None, as_json: bool) -> None:
    """Print a trip's itinerary: each day, each flight in local times, hotels, references."""
    from tools.travel import show_trip

    found = run_read_tool(principal, lambda ctx: show_trip(ctx, trip_id))
    if as_json:
        click.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    lines = [f"{found['title']}  ({found['id']}, {found['status']})", ""]
    for day in found["days"]:
        lines.append(day["label"])
        for item in day["items"]:
            lines.append(f"  [{item['status']}] {item['line']}")
        lines.append("")
    lines.append("Bookings:")
    for b in found["bookings"]:
        ref = f" ref {b['reference']}" if b["reference"] else ""
        price = f", {b['price']}" if b["price"] else ""
        lines.append(f"  {b['id']} [{b['status']}] {b['summary']}{ref}{price}")
        if b.get("fare"):
            lines.append(f"      fare: {b['fare']}")
        if b.get("cancellation"):
            lines.append(f"      cancellation: {b['cancellation']}")
        if b.get("refund"):
            lines.append(f"      refund: {b['refund']}")
    lines.append("")
    lines.append(f"Total: {_totals(found)}")
    click.echo("\n".join(lines))
