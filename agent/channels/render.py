"""Rich rendering shared by the terminal chat and the CLI commands."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from agent.approval import card_lines, origin

if TYPE_CHECKING:
    from agent.ledger import Proposal
    from agent.runtime import Reply

STATUS_STYLE = {
    "proposed": "yellow",
    "approved": "cyan",
    "executed": "green",
    "rejected": "red",
    "failed": "bold red",
}


def card(p: Proposal) -> Panel:
    """The approval card: what will happen, every argument and where it came from."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for label, value in card_lines(p)[1:]:
        style = "red" if "UNTRUSTED" in value else ""
        table.add_row(label, Text(value, style=style))
    parts: list[Any] = [table]
    body = p.preview.get("body")
    if body:
        where = f" [{origin(p, 'body')}]" if "body" in p.effective_args else ""
        parts.append(
            Panel(Text(body), title=escape(f"text{where}"), title_align="left", border_style="dim")
        )
    for w in p.preview.get("warnings") or []:
        parts.append(Text(f"! {w}", style="bold red"))
    title = f"[bold]{escape(_summary(p))}[/]"
    return Panel(
        Group(*parts),
        title=title,
        subtitle=f"proposal {p.id} - {p.status}",
        border_style=STATUS_STYLE.get(p.status, "white"),
    )


def proposals_table(rows: list[Proposal], *, title: str) -> Table:
    """A compact table of proposals (pending / audit)."""
    t = Table(title=title, title_justify="left")
    t.add_column("id", no_wrap=True)
    t.add_column("who/thread", overflow="fold")
    t.add_column("action", overflow="fold", ratio=3)
    t.add_column("status", no_wrap=True)
    t.add_column("decided by", overflow="fold", ratio=1)
    t.add_column("when (UTC)", no_wrap=True)
    for p in rows:
        t.add_row(
            p.id,
            f"{p.principal}/{p.thread}",
            p.preview.get("summary", "") or p.tool,
            Text(p.status, style=STATUS_STYLE.get(p.status, "")),
            p.decided_by or "",
            (p.executed_at or p.decided_at or p.created_at or "").replace("T", " ")[5:16],
        )
    return t


def _summary(p: Proposal) -> str:
    return str(p.preview.get("summary") or p.tool)


def show_reply(
    console: Console, err: Console, reply: Reply, *, cards: bool = True, hint: bool = True
) -> None:
    """Print a reply: the answer on stdout, meta (notices, approvals) on stderr."""
    if reply.notice:
        err.print(f"[cyan]{escape(reply.notice)}[/]")
    for p in reply.settled:
        if p.status == "executed":
            err.print(f"[green]Done:[/] {escape(_summary(p))} (proposal {p.id})")
        elif p.status == "failed":
            err.print(f"[red]Failed:[/] {escape(_summary(p))}: {escape(p.error or '')}")
        elif p.status == "rejected":
            err.print(f"[red]Not done:[/] {escape(_summary(p))} ({p.decision})")
    if reply.text:
        console.print(reply.text, markup=False, highlight=False)
    if reply.error:
        err.print(f"[yellow]{escape(reply.error)}[/]")
    if reply.pending:
        err.print(f"[yellow]{len(reply.pending)} action(s) waiting for your approval:[/]")
        for p in reply.pending:
            if cards:
                err.print(card(p))
            else:
                err.print(f"  {p.id}  {escape(_summary(p))}")
        if hint:
            first = reply.pending[0].id
            err.print(f"[dim]Decide with: secretary approve {first}[/]")
            err.print(f"[dim]         or: secretary reject {first} --reason TEXT[/]")
            err.print(f"[dim]         or: secretary edit {first} --set FIELD=VALUE[/]")


def agenda_table(events: list[Any], tz: Any, title: str) -> Table:
    """Events as a table in the principal's zone."""
    t = Table(title=title, title_justify="left")
    for col in ("when", "title", "where", "with", "id"):
        t.add_column(col, overflow="fold")
    for e in events:
        if e.all_day:
            when = f"{e.start.astimezone(tz):%a %d %b} (all day)"
        else:
            when = f"{e.start.astimezone(tz):%a %d %b %H:%M}-{e.end.astimezone(tz):%H:%M}"
        t.add_row(when, e.title, e.location, ", ".join(e.attendees), e.id)
    return t
