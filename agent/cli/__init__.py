"""The ``secretary`` command.

Heavy libraries (LangGraph, LangChain, the model client) are imported inside
the commands that need them, so ``secretary --help`` and the ledger commands
start fast. Results go to stdout (``--json`` for scripts); status lines and
approval cards go to stderr.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from tools.foundation.errors import SecretaryError, clip_words

if TYPE_CHECKING:
    from rich.text import Text

    from agent.runtime import Secretary

PRINCIPAL = click.option(
    "-p",
    "--principal",
    envvar="SECRETARY_PRINCIPAL",
    default=None,
    help="Which principal (default: the only or first one).",
)
JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def _secretary() -> Secretary:
    from agent.runtime import Secretary

    try:
        return Secretary()
    except Exception as exc:  # settings errors are user mistakes: say which
        from pydantic import ValidationError

        if isinstance(exc, ValidationError):
            raise click.ClickException(f"Settings are invalid: {_pydantic_msg(exc)}") from None
        raise


def _settings() -> Any:
    """The settings, or one sentence when they are invalid (for commands without a Secretary)."""
    from pydantic import ValidationError

    from tools.foundation.settings import load_settings

    try:
        return load_settings()
    except ValidationError as exc:
        raise click.ClickException(f"Settings are invalid: {_pydantic_msg(exc)}") from None


def _config_problem() -> str | None:
    """Why the settings file cannot be read, as a sentence (None: it reads, or is absent)."""
    import tomllib

    from tools.foundation.settings import config_path

    path = config_path()
    fix = "fix it, or point SECRETARY_CONFIG at another file"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"The settings file {path} cannot be read ({exc.strerror or exc}); {fix}."
    try:
        tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        return f"The settings file {path} is not UTF-8 text; save it as UTF-8, or {fix[8:]}."
    except tomllib.TOMLDecodeError as exc:
        return f"The settings file {path} is not valid TOML ({exc}); {fix}."
    return None


_SURROGATES = re.compile("[\ud800-\udfff]")
"""Bytes of an argument that were not UTF-8, as Python keeps them (surrogate escapes)."""


def _undecodable(value: Any) -> str | None:
    """The first text in a parameter's value that holds bytes that were not UTF-8."""
    values = value if isinstance(value, tuple | list) else (value,)
    return next((v for v in values if isinstance(v, str) and _SURROGATES.search(v)), None)


class _Command(click.Command):
    """A command whose expected failures are one sentence, exit status 1 (2: bad input).

    Text arguments are checked before the command runs: a terminal in another encoding
    passes bytes that are not UTF-8, which Python keeps as surrogate escapes and which
    would fail deep inside (a model request, the database) with a traceback. Paths are
    left alone, as a file name may be any bytes. A broken settings file, a
    SecretaryError and a message quoting something huge are handled here too.
    """

    def invoke(self, ctx: click.Context) -> Any:
        for param in self.params:
            if isinstance(param.type, click.Path | click.File | click.types.UnprocessedParamType):
                continue
            bad = _undecodable(ctx.params.get(param.name or ""))
            if bad is not None:
                shown = bad.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                raise click.BadParameter(
                    f"{clip_words(shown)!r} holds bytes that are not UTF-8 text (shown as "
                    "\ufffd); type it again in a UTF-8 terminal (a locale like LANG=C.UTF-8).",
                    ctx=ctx,
                    param=param,
                )
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            if type(exc) is not click.ClickException or clip_words(exc.message) == exc.message:
                raise
            raise click.ClickException(clip_words(exc.message)) from None
        except SecretaryError as exc:
            raise click.ClickException(clip_words(str(exc))) from None
        except (ValueError, OSError) as exc:  # TOMLDecodeError is a ValueError
            problem = _config_problem()
            if problem is None:
                raise
            raise click.ClickException(problem) from exc


class _Group(click.Group):
    """The command group: its commands, and those of its subgroups, are :class:`_Command`."""

    command_class = _Command
    group_class = type


def cells(*values: Any) -> list[Text]:
    """Table cells shown as written, never read as rich markup.

    Text from mail or documents may hold [brackets]; a stray ``[/]`` read as markup
    would stop the command.
    """
    from rich.text import Text

    return [v if isinstance(v, Text) else Text(str(v)) for v in values]


def _pydantic_msg(exc: Any) -> str:
    parts = []
    for e in exc.errors():
        msg = str(e["msg"]).removeprefix("Value error, ")
        loc = ".".join(str(x) for x in e["loc"])
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def _consoles() -> tuple[Any, Any]:
    from rich.console import Console

    return Console(), Console(stderr=True)


def run_read_tool(principal: str | None, read: Callable[[Any], Any]) -> Any:
    """Run one read tool for the principal (``read(ctx)``); a tool's sentence becomes a CLI error.

    The duty commands read through the same tool functions the model uses, so
    what they list matches what the secretary sees.
    """
    from tools.base import ToolError
    from tools.context import ToolContext

    with _secretary() as sec:
        p = sec.principal(principal)
        ctx = ToolContext(principal=p, workspace=sec.workspace(p))
        try:
            return read(ctx)
        except ToolError as exc:
            raise click.ClickException(str(exc)) from None


def print_table(
    columns: tuple[str, ...], rows: list[tuple[str, ...]], *, whole_ids: bool = False
) -> None:
    """A plain table on stdout; long cells fold.

    With ``whole_ids`` an ``id`` column is never folded (for ids copied into
    other commands), at the cost of narrower other columns.
    """
    from rich.table import Table

    out, _ = _consoles()
    table = Table(show_lines=False)
    for col in columns:
        if col == "id" and whole_ids:
            table.add_column(col, no_wrap=True, min_width=max((len(r[0]) for r in rows), default=2))
        else:
            table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*cells(*row))
    out.print(table)


def _guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn expected failures into one-sentence errors instead of tracebacks."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from agent.runtime import SecretaryError

        try:
            return fn(*args, **kwargs)
        except SecretaryError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="secretary")
def cli() -> None:
    """Secretary: an AI personal secretary that never acts without your approval.

    \b
    Start here:
      secretary init --name "Ada Lovelace" --email ada@example.com --timezone Europe/London
      secretary chat
      secretary ask "E-mail dana@acme.com that I'll be 10 minutes late"
      secretary pending
      secretary approve 3f9c2a1b

    The data directory is $SECRETARY_HOME (default ~/.local/share/secretary).
    A model is attached with SECRETARY_MODEL, OPENAI_API_KEY and OPENAI_BASE_URL.
    """


# ------------------------------------------------------------------ profile


@cli.command()
@click.option("--id", "pid", default=None, help="Principal id (lowercase, e.g. 'ada').")
@click.option("--name", help="Full name, as signed in mail.")
@click.option("--email", help="The principal's e-mail address.")
@click.option("--timezone", "tz", help="IANA time zone, e.g. Europe/Berlin.")
@click.option("--hours", help="Working hours, e.g. 09:00-17:00 or '08:30-18:00 mon-fri'.")
@click.option("--organisation", help="Company or practice.")
@click.option(
    "--domain",
    "domain_pack",
    help="Industry pack: legal or medical (terminology, filing, confidentiality rules).",
)
@click.option("--signature", help="Sign-off for e-mails, e.g. 'Best, A.'")
def init(
    pid: str | None,
    name: str | None,
    email: str | None,
    tz: str | None,
    hours: str | None,
    organisation: str | None,
    signature: str | None,
    domain_pack: str | None,
) -> None:
    """Create or update a principal's profile.

    With flags it runs without questions; with none it asks for each value.

    \b
    Example:
      secretary init --name "Ada Lovelace" --email ada@example.com \\
        --timezone Europe/London --hours 09:00-17:30
    """
    from pydantic import ValidationError

    from tools.foundation.principals import Principal, WorkingHours
    from tools.foundation.settings import config_path, save_principal

    settings = _settings()
    existing = {p.id: p for p in settings.principals}
    base_id = pid or (settings.principals[0].id if settings.principals else "me")
    try:
        current = existing.get(base_id) or Principal(id=base_id)
    except ValidationError as exc:
        why = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        raise click.BadParameter(why, param_hint="'--id'") from None
    interactive = not any([pid, name, email, tz, hours, organisation, signature, domain_pack])
    if interactive:
        if not sys.stdin.isatty():
            raise click.ClickException(
                "No flags given and no terminal to ask on; pass --name, --email, "
                "--timezone and --hours."
            )
        name = click.prompt("Name", default=current.name)
        email = click.prompt("E-mail", default=current.email)
        tz = click.prompt("Time zone (IANA)", default=current.timezone)
        hours = click.prompt("Working hours", default=current.working_hours.label())
    data = current.model_dump()
    updates = {
        "name": name,
        "email": email,
        "timezone": tz,
        "organisation": organisation,
        "signature": signature,
        "domain_pack": domain_pack,
    }
    data.update({k: v for k, v in updates.items() if v is not None})
    if email is not None:
        from tools.providers.mime import is_valid_address

        if not is_valid_address(email):
            raise click.ClickException(f"'{email}' is not an e-mail address (name@example.com).")
    if tz is not None:
        from zoneinfo import available_timezones

        match = {z.lower(): z for z in available_timezones()}.get(tz.lower())
        if match and match != tz:
            raise click.ClickException(f"Unknown time zone '{tz}'; did you mean {match}?")
    try:
        if hours:
            data["working_hours"] = WorkingHours.parse(hours).model_dump()
        principal = Principal.model_validate(data)
    except (ValidationError, ValueError) as exc:
        msg = _pydantic_msg(exc) if isinstance(exc, ValidationError) else str(exc)
        raise click.ClickException(msg) from None
    path = save_principal(principal, config_path())
    principal.workdir(settings.home)
    click.echo(
        f"Saved principal '{principal.id}': {principal.name} <{principal.email}>, "
        f"{principal.timezone}, {principal.working_hours.label()} -> {path}",
        err=True,
    )


@cli.command()
@JSON
def status(as_json: bool) -> None:
    """Show the data directory, the principals and whether a model is attached."""
    from tools.foundation.settings import config_path

    s = _settings()
    principals = s.principals or [s.principal()]
    info = {
        "home": str(s.home),
        "config": str(config_path()),
        "model": s.model,
        "base_url": s.openai_base_url,
        "principals": [
            {"id": p.id, "name": p.name, "email": p.email, "timezone": p.timezone}
            for p in principals
        ],
    }
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(f"data directory: {info['home']}\nsettings file:  {info['config']}")
    click.echo(f"model:          {s.model or '(none: set SECRETARY_MODEL)'}")
    for p in principals:
        click.echo(f"principal:      {p.id}: {p.name} <{p.email}> {p.timezone}")


# ------------------------------------------------------------------ conversation


@cli.command()
@click.argument("text")
@click.option("-t", "--thread", help="Continue this thread (default: a new one).")
@PRINCIPAL
@JSON
@_guard
def ask(text: str, thread: str | None, principal: str | None, as_json: bool) -> None:
    """One turn, without waiting for input: print the reply and what awaits approval.

    \b
    Example:
      secretary ask "Move my 3pm with Dana to tomorrow" --thread 20261123-4f2a
    """
    from agent.channels.render import show_reply

    with _secretary() as sec:
        reply = sec.ask(text, principal=principal, thread=thread)
    if as_json:
        click.echo(json.dumps(reply.to_json(), indent=2, default=str))
    else:
        out, err = _consoles()
        show_reply(out, err, reply)
        err.print(f"[dim]thread {reply.thread} (continue it with --thread {reply.thread})[/]")
    if reply.error:
        sys.exit(1)


@cli.command()
@click.option("-t", "--thread", help="Continue this thread.")
@PRINCIPAL
@_guard
def chat(thread: str | None, principal: str | None) -> None:
    """Talk with the secretary; approve, edit or reject its proposals as they come.

    Slash commands work without a model: /pending, /approve ID, /reject ID,
    /agenda, /audit, /help.
    """
    from agent.channels.terminal import run_chat

    with _secretary() as sec:
        run_chat(sec, principal=principal, thread=thread)


# ------------------------------------------------------------------ approvals


@cli.command()
@PRINCIPAL
@JSON
@_guard
def pending(principal: str | None, as_json: bool) -> None:
    """List actions waiting for a decision.

    --json prints an array of objects with id, principal, thread, tool, args,
    status (and more); that shape is a stable contract.
    """
    with _secretary() as sec:
        rows = sec.pending(principal and sec.principal(principal).id)
    if as_json:
        click.echo(json.dumps([p.to_json() for p in rows], indent=2, default=str))
        return
    from agent.channels.render import card

    out, err = _consoles()
    if not rows:
        err.print("Nothing is waiting for approval.")
    for p in rows:
        out.print(card(p))


def _decide(proposal_id: str, decision: Any, principal: str | None, as_json: bool) -> None:
    from agent.channels.render import show_reply
    from agent.channels.terminal import lost_decision

    with _secretary() as sec:
        reply = sec.decide(proposal_id, decision, principal=principal)
        # Someone decided first: exit 1 and say who, so a script never takes it for done.
        lost = lost_decision(sec, proposal_id, decision, reply)
        if lost:
            reply.error = " ".join(filter(None, [reply.error, lost]))
    if as_json:
        click.echo(json.dumps(reply.to_json(), indent=2, default=str))
    else:
        out, err = _consoles()
        show_reply(out, err, reply, cards=False)
    if reply.error:
        sys.exit(1)


@cli.command()
@click.argument("proposal_id")
@PRINCIPAL
@JSON
@_guard
def approve(proposal_id: str, principal: str | None, as_json: bool) -> None:
    """Approve a proposal: it runs now, exactly once."""
    from agent.approval import Decision

    _decide(proposal_id, Decision(kind="approve"), principal, as_json)


@cli.command()
@click.argument("proposal_id")
@click.option("-r", "--reason", default=None, help="Why; the secretary is told.")
@PRINCIPAL
@JSON
@_guard
def reject(proposal_id: str, reason: str | None, principal: str | None, as_json: bool) -> None:
    """Reject a proposal (the reason goes back to the secretary)."""
    from agent.approval import Decision

    _decide(proposal_id, Decision(kind="reject", text=reason), principal, as_json)


@cli.command()
@click.argument("proposal_id")
@click.option("-m", "--message", required=True, help="What to tell the secretary instead.")
@PRINCIPAL
@JSON
@_guard
def respond(proposal_id: str, message: str, principal: str | None, as_json: bool) -> None:
    """Do not run the action; send a message back to the secretary instead."""
    from agent.approval import Decision

    if not message.strip():
        raise click.BadParameter(
            "the message is empty; say what the secretary should do instead.",
            param_hint="'-m' / '--message'",
        )
    _decide(proposal_id, Decision(kind="respond", text=message), principal, as_json)


@cli.command()
@click.argument("proposal_id")
@click.option(
    "-s",
    "--set",
    "assignments",
    multiple=True,
    required=True,
    help="FIELD=VALUE; repeat for several. JSON values allowed; lists by comma.",
)
@PRINCIPAL
@JSON
@_guard
def edit(
    proposal_id: str, assignments: tuple[str, ...], principal: str | None, as_json: bool
) -> None:
    """Change a proposal's arguments, then run it (approval with edits).

    \b
    Example:
      secretary edit 3f9c2a1b --set subject="Budget, revised" --set to=a@x.com,b@y.com
    """
    from agent.approval import Decision, coerce_edit, parse_assignments
    from agent.runtime import SecretaryError
    from tools.base import registry

    with _secretary() as sec:
        try:
            proposal = sec.ledger.get(proposal_id, principal)
        except Exception as exc:
            raise SecretaryError(str(exc)) from None
    spec = registry().get(proposal.tool)
    if spec is None:
        raise click.ClickException(f"The tool {proposal.tool} no longer exists.")
    try:
        changes = parse_assignments(list(assignments))
        args = coerce_edit(spec.args_model.model_json_schema(), proposal.args, changes)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    _decide(proposal.id, Decision(kind="edit", args=args), principal, as_json)


@cli.command()
@PRINCIPAL
@click.option("--events", is_flag=True, help="Show the raw audit events instead.")
@JSON
@_guard
def audit(principal: str | None, events: bool, as_json: bool) -> None:
    """Every proposal and action: who decided, idempotency key, result, times."""
    with _secretary() as sec:
        pid = principal and sec.principal(principal).id
        if events:
            trail = sec.trail(pid)
            if as_json:
                click.echo(json.dumps(trail, indent=2, default=str))
            else:
                for e in trail:
                    detail = json.dumps(e["detail"]) if e["detail"] else ""
                    click.echo(
                        f"{e['at']}  {e['principal']:<10} {e['proposal_id'] or '-':<9} "
                        f"{e['event']:<18} {e['actor'] or '':<22} {detail}"
                    )
            return
        rows = sec.audit(pid)
    if as_json:
        click.echo(json.dumps([p.to_json() for p in rows], indent=2, default=str))
        return
    from agent.channels.render import proposals_table

    out, err = _consoles()
    if not rows:
        err.print("Nothing has been proposed yet.")
        return
    out.print(proposals_table(rows, title="Audit"))


# ------------------------------------------------------------------ workspace


@cli.command()
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


@cli.command("export-calendar")
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


@cli.command()
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


@cli.command()
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


@cli.command()
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


@cli.command()
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


def main() -> None:
    """Console-script entry point."""
    from tools.foundation.paths import private_umask

    private_umask()  # every file this process writes (serve, mail-agent too) is 0600
    _log_to_file()
    cli()


def _log_to_file() -> None:
    """Diagnostics go to secretary.log (secrets masked) in the private data directory."""
    from tools.foundation.logs import log_to_file
    from tools.foundation.paths import NotPrivateError, check_not_shared, default_home, secure_home

    home = default_home()
    try:
        check_not_shared(home)
        log_to_file(home)  # first, so what secure_home fixes is logged, not printed
        secure_home(home)
    except NotPrivateError:
        log_to_file(None)  # a command that uses the folder says why, in a sentence


@cli.command(
    "eval",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def eval_(args: tuple[str, ...]) -> None:
    """Run the scenario evals (same options as `python -m evals`; try `secretary eval --help`).

    \b
    Examples:
      secretary eval --suite injection
      secretary eval --model configured --json report.json
    """
    from evals.__main__ import main as run_evals

    sys.exit(run_evals(list(args)))


# The mail commands live in their own module; importing it registers them on `cli`.
from agent.cli import connect as _cli_connect  # noqa: E402, F401
from agent.cli import db as _cli_db  # noqa: E402, F401
from agent.cli import desk as _cli_desk  # noqa: E402, F401
from agent.cli import filing as _cli_filing  # noqa: E402, F401
from agent.cli import invoices as _cli_invoices  # noqa: E402, F401
from agent.cli import mail_desk as _cli_mail_desk  # noqa: E402, F401
from agent.cli import press as _cli_press  # noqa: E402, F401
from agent.cli import serve as _cli_serve  # noqa: E402, F401
from agent.cli import slack as _cli_slack  # noqa: E402, F401
from agent.cli import travel as _cli_travel  # noqa: E402, F401
from agent.cli import vendors as _cli_vendors  # noqa: E402, F401

