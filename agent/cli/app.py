"""The ``secretary`` command group: the profile commands, the entry point, and every command module.

Heavy libraries (LangGraph, LangChain, the model client) are imported inside
the commands that need them, so ``secretary --help`` and the ledger commands
start fast. Results go to stdout (``--json`` for scripts); status lines and
approval cards go to stderr.
"""

from __future__ import annotations

import json
import sys

import click

from agent.cli.common import (
    JSON,
    _Group,
    _pydantic_msg,
    _settings,
)


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


def _add_commands() -> None:
    """Hang every command module's commands on the group."""
    from agent.cli import (
        connect,
        conversation,
        db,
        desk,
        filing,
        invoices,
        mail_desk,
        press,
        serve,
        slack,
        travel,
        vendors,
        workspace,
    )

    for cmd in (
        conversation.ask, conversation.chat, conversation.pending, conversation.approve,
        conversation.reject, conversation.respond, conversation.edit, conversation.audit,
        workspace.agenda, workspace.export_calendar, workspace.mail, workspace.contacts,
        workspace.ingest, workspace.recall,
        connect.connect, db.db, desk.messages, desk.visitors, desk.tasks, desk.brief,
        filing.files, invoices.invoices, mail_desk.triage, mail_desk.mail_agent, press.press,
        serve.serve, slack.slack, travel.trip, vendors.vendors,
    ):  # fmt: skip
        cli.add_command(cmd)


_add_commands()
