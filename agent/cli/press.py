"""``secretary press``: journalists, the press policy and open press enquiries, without a model.

Added to the main command group by :mod:`agent.cli.app`. The command reads
through the same tool functions the model uses, so what it prints matches what
the secretary sees; nothing here changes a record or sends anything.
"""

from __future__ import annotations

import json
from typing import Any

import click

from agent.cli.common import JSON, PRINCIPAL, _consoles, _guard, command, print_table, run_read_tool


def _print_policy(policy: dict[str, Any]) -> None:
    out, _ = _consoles()

    def section(title: str, items: list[str]) -> None:
        out.print(f"[bold]{title}[/bold]")
        for item in items or ["(none)"]:
            out.print(f"  - {item}", markup=False, highlight=False)

    section("Talking points", policy["talking_points"])
    section("Decline topics", policy["decline_topics"])
    section(
        "Embargoes",
        [
            f"{e['fact']} - {e['state'].upper()} "
            f"({'until' if e['state'] == 'active' else 'since'} {e['until_text']})"
            + (f"; keywords: {', '.join(e['keywords'])}" if e["keywords"] else "")
            for e in policy["embargoes"]
        ],
    )
    section("Approvers besides the principal", policy["approvers"])
    out.print(f"[bold]Spokesperson[/bold]: {policy['spokesperson'] or '(the principal)'}")


@command()
@click.option("--policy", "show_policy", is_flag=True, help="Show the press policy instead.")
@click.option(
    "--enquiries", "show_enquiries", is_flag=True, help="Show unanswered press mail instead."
)
@click.option(
    "-d", "--days", default=7, show_default=True, help="With --enquiries: how many days back."
)
@PRINCIPAL
@JSON
@_guard
def press(
    show_policy: bool, show_enquiries: bool, days: int, principal: str | None, as_json: bool
) -> None:
    """List journalists; or the press policy (--policy); or open press enquiries (--enquiries).

    \b
    Examples:
      secretary press
      secretary press --policy
      secretary press --enquiries --days 14 --json
    """
    from tools.press import find_journalist, press_enquiries, press_policy

    if show_policy and show_enquiries:
        raise click.UsageError("Choose one of --policy and --enquiries.")
    if show_policy:
        policy = run_read_tool(principal, press_policy)
        if as_json:
            click.echo(json.dumps(policy, indent=2, ensure_ascii=False))
        else:
            _print_policy(policy)
        return
    if show_enquiries:
        found = run_read_tool(principal, lambda ctx: press_enquiries(ctx, days))
        if as_json:
            click.echo(json.dumps(found, indent=2, ensure_ascii=False))
            return
        if not found:
            _consoles()[1].print(f"No unanswered press enquiries in the last {days} days.")
            return
        print_table(
            ("date", "from", "subject", "message id"),
            [
                (
                    (m["date"] or "")[:16].replace("T", " "),
                    f"{m['sender']}\n{m['outlet']}" if m["outlet"] else m["sender"],
                    m["subject"],
                    m["message_id"],
                )
                for m in found
            ],
        )
        return
    journalists = run_read_tool(principal, find_journalist)
    if as_json:
        click.echo(json.dumps(journalists, indent=2, ensure_ascii=False))
        return
    if not journalists:
        _consoles()[1].print("No press contacts yet (ask the secretary to add a journalist).")
        return
    print_table(
        ("name", "e-mail", "outlet", "beat", "last contact"),
        [
            (j["name"], j["email"], j["outlet"], j["beat"], (j["last_contact"] or "-")[:10])
            for j in journalists
        ],
    )
