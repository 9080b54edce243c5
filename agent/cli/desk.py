"""``secretary messages``, ``visitors`` and ``tasks``: the front desk's lists, without a model.

Added to the main command group by :mod:`agent.cli.app`. Each command reads
through the same tool functions the model uses, so the lists match what the
secretary sees; nothing here changes a record.
"""

from __future__ import annotations

import json
from typing import Any

import click

from agent.cli.common import (
    JSON,
    PRINCIPAL,
    _consoles,
    _guard,
    _secretary,
    command,
    print_table,
    run_read_tool,
)


@command()
@click.option("-a", "--all", "show_all", is_flag=True, help="Include messages already dealt with.")
@PRINCIPAL
@JSON
@_guard
def messages(show_all: bool, principal: str | None, as_json: bool) -> None:
    """List phone messages taken for the principal (new ones unless --all).

    \b
    Examples:
      secretary messages
      secretary messages --all --json | jq '.[].caller'
    """
    from tools.desk import list_messages

    found = run_read_tool(principal, lambda ctx: list_messages(ctx, "all" if show_all else "new"))
    if as_json:
        click.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    if not found:
        _consoles()[1].print("No phone messages.")
        return
    print_table(
        ("id", "taken", "caller", "number", "reason", "call back", "status"),
        [
            (
                m["id"],
                m["taken"],
                f"{m['caller']} ({m['company']})" if m["company"] else m["caller"],
                m["number"],
                m["reason"],
                m["callback"],
                m["status"],
            )
            for m in found
        ],
    )


@command()
@click.option(
    "-d", "--date", "day", default="today", show_default=True, help="Day: ISO date or phrase."
)
@PRINCIPAL
@JSON
@_guard
def visitors(day: str, principal: str | None, as_json: bool) -> None:
    """Show the visitor log: who is expected on a day, by arrival time.

    \b
    Examples:
      secretary visitors
      secretary visitors --date tomorrow --json
    """
    from tools.desk import visitor_log

    found = run_read_tool(principal, lambda ctx: visitor_log(ctx, day))
    if as_json:
        click.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    if not found:
        _consoles()[1].print(f"No visitors expected ({day}).")
        return
    print_table(
        ("time", "visitor", "host", "e-mail", "instructions"),
        [
            (
                f"{v['start'][11:16]}-{v['end'][11:16]}",
                f"{v['name']} ({v['company']})" if v["company"] else v["name"],
                v["host"],
                v["email"],
                v["instructions"],
            )
            for v in found
        ],
    )


@command()
@click.option("--overdue", is_flag=True, help="Only open tasks whose due day has passed.")
@click.option("-o", "--owner", default="", help="Only this owner's tasks (name or e-mail).")
@click.option("-a", "--all", "show_all", is_flag=True, help="Include tasks already done.")
@PRINCIPAL
@JSON
@_guard
def tasks(overdue: bool, owner: str, show_all: bool, principal: str | None, as_json: bool) -> None:
    """List tasks of the principal and staff by due date (open ones unless --all).

    \b
    Examples:
      secretary tasks --overdue
      secretary tasks --owner sam@example.com --json
    """
    from tools.desk import list_tasks

    found = run_read_tool(
        principal,
        lambda ctx: list_tasks(ctx, owner, "all" if show_all else "open", overdue_only=overdue),
    )
    if as_json:
        click.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    if not found:
        _consoles()[1].print("No overdue tasks." if overdue else "No tasks.")
        return
    print_table(
        ("id", "due", "title", "owner", "status"),
        [
            (
                t["id"],
                (t["due"] or "-") + (" OVERDUE" if t["overdue"] else ""),
                t["title"],
                t["owner"],
                t["status"],
            )
            for t in found
        ],
    )


@command()
@click.option(
    "-d", "--date", "day", default="today", show_default=True, help="Day: ISO date or phrase."
)
@click.option("--summary", is_flag=True, help="Add a few sentences from the model on top.")
@PRINCIPAL
@JSON
@_guard
def brief(day: str, summary: bool, principal: str | None, as_json: bool) -> None:
    """The daily briefing; needs no model (--summary adds a few sentences from one).

    Agenda with travel notes, visitors, travel, approvals, mail needing an answer,
    follow-ups, invoices due, tasks due, phone messages and press enquiries.

    \b
    Examples:
      secretary brief
      secretary brief --date tomorrow
      secretary brief --json | jq '.sections[] | select(.key=="invoices")'
    """
    from tools.base import ToolError
    from tools.briefing import daily_briefing
    from tools.context import ToolContext

    with _secretary() as sec:
        p = sec.principal(principal)
        ctx = ToolContext(principal=p, workspace=sec.workspace(p))
        try:
            found = daily_briefing(ctx, day)
        except ToolError as exc:
            raise click.ClickException(str(exc)) from None
        if summary:
            found["summary"] = _summary(sec, found["text"])
    if as_json:
        click.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    if found.get("summary"):
        click.echo(found["summary"].strip() + "\n")
    click.echo(found["text"], nl=False)


def _summary(sec: Any, text: str) -> str:
    """A few sentences on top of the briefing, from the configured model."""
    model = sec.model()
    if model is None:
        raise click.ClickException(
            "No model is configured, so there is no summary; the briefing itself needs none "
            "(run without --summary, or see the README section 'Attach a model')."
        )
    from langchain_core.messages import HumanMessage, SystemMessage

    from tools.providers.llm import describe_model_error, is_model_error

    prompt = (
        "Summarise this briefing for the principal in at most four short sentences: what "
        "matters most today and what needs their decision. Only use facts from the briefing."
    )
    try:
        answer = model.invoke([SystemMessage(prompt), HumanMessage(text)])
    except Exception as exc:
        if not is_model_error(exc):
            raise
        raise click.ClickException(describe_model_error(exc, sec.settings)) from None
    return str(answer.content)
