"""``secretary vendors``: the vendor directory and the requests waiting for an answer, no model.

Added to the main command group by :mod:`agent.cli.app`. The command reads
through the same tool functions the model uses (``find_vendor``,
``vendor_followups``), so the lists match what the secretary sees; nothing
here changes a record.
"""

from __future__ import annotations

import json

import click

from agent.cli.common import JSON, PRINCIPAL, _consoles, _guard, command, print_table, run_read_tool


@command()
@click.argument("query", required=False, default="")
@click.option("--followups", is_flag=True, help="List requests waiting for a vendor's answer.")
@click.option(
    "--days",
    type=click.IntRange(min=0),
    default=0,
    help="With --followups: days without an answer (0: the vendor_followup_days preference, 3).",
)
@PRINCIPAL
@JSON
@_guard
def vendors(query: str, followups: bool, days: int, principal: str | None, as_json: bool) -> None:
    """List vendors (category, payment terms, preferred channel), or requests to follow up.

    \b
    Examples:
      secretary vendors
      secretary vendors catering --json
      secretary vendors --followups --days 5
    """
    if followups:
        from tools.vendors import vendor_followups

        waiting = run_read_tool(principal, lambda ctx: vendor_followups(ctx, days))
        if as_json:
            click.echo(json.dumps(waiting, indent=2, ensure_ascii=False))
            return
        if not waiting:
            _consoles()[1].print("No vendor requests need a follow-up.")
            return
        print_table(
            ("id", "vendor", "request", "waiting", "to do"),
            [
                (
                    r["id"],
                    r["vendor"],
                    f"{r['kind']}: {r['subject']}",
                    f"{r['days_waiting']} d"
                    + (f", expected {r['expected_by']}" if r["expected_by"] else ""),
                    r["suggestion"]
                    if r["status"] == "awaiting"
                    else f"{r['status']}: {r['suggestion']}",
                )
                for r in waiting
            ],
            whole_ids=True,
        )
        return

    from tools.vendors import find_vendor

    found = run_read_tool(principal, lambda ctx: find_vendor(ctx, query))
    if as_json:
        click.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    if not found:
        _consoles()[1].print("No vendors yet. Ask the secretary to add one (add_vendor).")
        return
    print_table(
        ("name", "e-mail", "category", "terms", "channel", "accounts"),
        [
            (
                v["name"],
                v["email"],
                v["category"] or "-",
                v["payment_terms"] or "-",
                v["channel"] + (f" {v['phone']}" if v["channel"] == "phone" else ""),
                ", ".join(v["accounts"]) or "-",
            )
            for v in found
        ],
    )
