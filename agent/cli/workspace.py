"""``secretary agenda``, ``export-calendar``, ``mail``, ``contacts``, ``ingest`` and ``recall``.

The principal's calendar, mail, contacts and correspondence memory, read (and, for
``ingest``, filled) without the model.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click

from agent.cli.common import (
    JSON,
    PRINCIPAL,
    _consoles,
    _guard,
    _secretary,
    cells,
    command,
)


@command()
@click.option(
    "-d", "--date", "day", default=None, help="First day: 2026-11-24, tomorrow, next Tuesday..."
)
@click.option("-n", "--days", default=1, show_default=True, help="How many days.")
@PRINCIPAL
@JSON
@_guard
def agenda(day: str | None, days: int, principal: str | None, as_json: bool) -> None:
    """Show the calendar for a day or a range of days."""
    from agent.channels.terminal import agenda_events

    with _secretary() as sec:
        p = sec.principal(principal)
        events, title = agenda_events(sec, p, day, days)
    if as_json:
        click.echo(json.dumps([e.model_dump(mode="json") for e in events], indent=2))
        return
    from agent.channels.render import agenda_table

    out, err = _consoles()
    if not events:
        err.print(f"{title}: nothing scheduled.")
        return
    out.print(agenda_table(events, p.tz, title))


@command("export-calendar")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), default="-", help="File (- = stdout)."
)
@PRINCIPAL
@_guard
def export_calendar(output: str, principal: str | None) -> None:
    """Export the calendar as iCalendar (.ics)."""
    with _secretary() as sec:
        p = sec.principal(principal)
        data = sec.workspace(p).calendar.export_ics()  # type: ignore[attr-defined]
    if output == "-":
        sys.stdout.buffer.write(data)
    else:
        try:
            with open(output, "wb") as fh:
                fh.write(data)
        except OSError as exc:
            from pathlib import Path

            folder = Path(output).expanduser().parent
            why = (
                f"the folder {folder} does not exist; create it first or choose another file"
                if not folder.is_dir()
                else f"{exc.strerror or exc}; choose another file"
            )
            raise click.ClickException(f"Cannot write {output}: {why}.") from None
        click.echo(f"Wrote {output}", err=True)


@command()
@click.option(
    "-f",
    "--folder",
    type=click.Choice(["inbox", "sent", "drafts"]),
    default="inbox",
    show_default=True,
    help="Which folder.",
)
@click.option("-q", "--query", default="", help="Words to look for.")
@click.option("-n", "--limit", default=20, show_default=True, help="How many.")
@PRINCIPAL
@JSON
@_guard
def mail(folder: str, query: str, limit: int, principal: str | None, as_json: bool) -> None:
    """List messages in the local mailbox (drop .eml files into its inbox/new)."""
    with _secretary() as sec:
        p = sec.principal(principal)
        ws = sec.workspace(p)
        rows = ws.mail.search(query=query, folder=folder, limit=limit)
        root = ws.root
    if as_json:
        click.echo(json.dumps([m.model_dump(mode="json") for m in rows], indent=2))
        return
    from rich.table import Table

    out, err = _consoles()
    if not rows:
        err.print(f"No messages in {folder}" + (f" matching '{query}'." if query else "."))
        return
    t = Table(title=f"{folder} ({root / 'mail' / folder})", title_justify="left")
    for col in ("date", "from", "to", "subject", "message id"):
        t.add_column(col, overflow="fold")
    for m in rows:
        when = m.date.astimezone(p.tz).strftime("%Y-%m-%d %H:%M") if m.date else ""
        t.add_row(*cells(when, m.sender, ", ".join(m.to), m.subject, m.message_id))
    out.print(t)


@command()
@click.argument("query", required=False, default="")
@click.option("-r", "--role", default=None, help="Only this role (vendor, press, staff...).")
@PRINCIPAL
@JSON
@_guard
def contacts(query: str, role: str | None, principal: str | None, as_json: bool) -> None:
    """List or search the principal's contacts."""
    with _secretary() as sec:
        p = sec.principal(principal)
        rows = sec.workspace(p).contacts.find(query, role=role, limit=200)
    if as_json:
        click.echo(json.dumps([c.model_dump(mode="json") for c in rows], indent=2))
        return
    from rich.table import Table

    out, err = _consoles()
    if not rows:
        err.print("No contacts match." if query or role else "No contacts yet.")
        return
    t = Table(title="Contacts", title_justify="left")
    for col in ("name", "e-mail", "organisation", "role", "notes", "id"):
        t.add_column(col, overflow="fold")
    for c in rows:
        t.add_row(*cells(c.name, c.email, c.organisation, c.role, c.notes, c.id))
    out.print(t)


@command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "--mailbox",
    "folders",
    multiple=True,
    help="A folder of the principal's mail account (inbox, sent, ...); repeatable.",
)
@click.option("--no-embed", is_flag=True, help="Only index words now; embed on a later run.")
@click.option(
    "--reembed",
    is_flag=True,
    help="Embed everything again with the configured model (after changing it).",
)
@PRINCIPAL
@JSON
@_guard
def ingest(
    paths: tuple[str, ...],
    folders: tuple[str, ...],
    no_embed: bool,
    reembed: bool,
    principal: str | None,
    as_json: bool,
) -> None:
    """Read past correspondence into memory: mbox, Maildir, .eml, or the mail account.

    Account folders (--mailbox) come from IMAP, Gmail or Microsoft 365 as connected.
    Re-running ingests only what is new; an interrupted run continues where it stopped.

    \b
    Examples:
      secretary ingest ~/Mail/archive.mbox ~/Maildir/.Sent
      secretary ingest --mailbox inbox --mailbox sent
      secretary ingest --reembed
    """
    if not (paths or folders or reembed):
        raise click.UsageError("Give files or folders to read, --mailbox FOLDER, or --reembed.")
    from pathlib import Path

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    from agent.ingest import run_ingest

    out, err = _consoles()
    with _secretary() as sec:
        p = sec.principal(principal)
        ws = sec.workspace(p)
        memory = ws.memory
        from agent.ingest import iter_mailbox

        state = ws.root / "ingest-cursors.json"
        mailboxes = [iter_mailbox(ws.mail, folder, state) for folder in folders]
        columns = (
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=err, transient=False) as bar:
            reading = bar.add_task("reading", total=None, rate="")
            embedding = bar.add_task("embedding", total=0, rate="", visible=False)

            def tick(task: Any) -> Callable[[int], None]:
                def advance(n: int) -> None:
                    bar.advance(task, n)
                    t = bar.tasks[task]
                    if t.speed:
                        bar.update(task, rate=f"{t.speed:,.0f} msg/s")

                return advance

            def start_embedding(total: int) -> None:
                bar.update(reading, total=bar.tasks[reading].completed)
                bar.update(embedding, total=total, visible=True)

            def total(n: int) -> None:
                if not folders:  # an account's size is unknown until it is read
                    bar.update(reading, total=n)

            report = run_ingest(
                memory,
                [Path(x).expanduser() for x in paths],
                embed=not no_embed,
                reembed=reembed,
                mailboxes=mailboxes,
                on_total=total,
                on_read=tick(reading),
                on_embedded=tick(embedding),
                before_embedding=start_embedding,
            )
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ingested": report.ingested,
                    "duplicates": report.duplicates,
                    "own": report.own,
                    "embedded": report.embedded,
                    "unreadable": [{"ref": r, "reason": why} for r, why in report.unreadable],
                    "warnings": [{"ref": r, "note": n} for r, n in report.warnings],
                },
                indent=2,
            )
        )
    else:
        from rich.markup import escape

        err.print(f"Memory of {escape(p.name)}: {report.summary()}.")
        for ref, why in report.unreadable[:20]:
            err.print(f"  [yellow]unreadable[/] {escape(ref)}: {escape(why)}")
        for ref, note in report.warnings[:20]:
            err.print(f"  [dim]warning[/] {escape(ref)}: {escape(note)}")
        if len(report.unreadable) > 20:
            err.print(f"  ... and {len(report.unreadable) - 20} more (see --json)")


@command()
@click.argument("query")
@click.option("--from", "sender", default="", help="Only from this address or name.")
@click.option("--since", default="", help="Only on or after this date (YYYY-MM-DD).")
@click.option("-n", "--limit", default=5, show_default=True, help="How many results.")
@click.option(
    "--mode",
    type=click.Choice(["merged", "dense", "keyword"]),
    default="merged",
    show_default=True,
    help="By meaning and words (merged), meaning only, or exact words only.",
)
@PRINCIPAL
@JSON
@_guard
def recall(
    query: str,
    sender: str,
    since: str,
    limit: int,
    mode: str,
    principal: str | None,
    as_json: bool,
) -> None:
    """Search past correspondence by meaning and by exact words.

    \b
    Example:
      secretary recall "what did Dana say about the budget" --since 2026-01-01
    """
    from agent.runtime import SecretaryError

    with _secretary() as sec:
        p = sec.principal(principal)
        when = None
        if since:
            from tools.scheduling import parse_when

            try:
                when = parse_when(since, p.tz)
            except ValueError as exc:
                raise SecretaryError(str(exc)) from None
        hits = sec.workspace(p).memory.recall(query, k=limit, sender=sender, since=when, mode=mode)
    if as_json:
        click.echo(json.dumps([h.to_json() for h in hits], indent=2, ensure_ascii=False))
        return
    out, err = _consoles()
    if not hits:
        err.print("Nothing in memory matches. Add mail with `secretary ingest PATH`.")
        return
    from rich.markup import escape

    for i, h in enumerate(hits, 1):
        subject = escape(h.subject or "(no subject)")
        out.print(f"[bold]{i}. {subject}[/]  [dim]{escape(h.message_id)}[/]")
        out.print(
            f"   from {escape(h.sender)}  {(h.date or '')[:10]}  thread {escape(h.thread_id)}"
        )
        out.print(f"   {escape(h.snippet)}")
