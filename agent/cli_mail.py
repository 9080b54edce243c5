"""``secretary triage`` and ``secretary mail-agent``: the e-mail commands.

Registered on the main command group by :mod:`agent.cli`; kept apart so that
module stays readable. Imports stay lazy for a fast ``--help``.
"""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Any

import click

from agent.cli import JSON, PRINCIPAL, _consoles, _guard, _secretary, cli


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--no-model", is_flag=True, help="Use the model-free rules only.")
@click.option("-n", "--limit", default=50, show_default=True, help="Unread messages to look at.")
@PRINCIPAL
@JSON
@_guard
def triage(
    paths: tuple[Path, ...], no_model: bool, limit: int, principal: str | None, as_json: bool
) -> None:
    """Say what the secretary would do with each message, without doing anything.

    PATHS are mbox files, Maildir folders, .eml files or folders of them; with
    none, the unread messages of the principal's inbox are triaged. Messages
    the rules cannot decide go to the model when one is configured (else they
    are marked 'undecided').

    \b
    Examples:
      secretary triage ~/Downloads/inbox.mbox
      secretary triage --json message.eml | jq .action
    """
    from agent.ingest import iter_source
    from agent.triage import History, Incoming, Verdict, unreadable
    from agent.triage import triage as run_triage
    from tools.providers.base import ProviderError

    out, err = _consoles()
    with _secretary() as sec:
        p = sec.principal(principal)
        ws = sec.workspace(p)
        account = p.accounts.get("mail", {})
        own = tuple(a for a in [str(account.get("address", "")).lower()] if a)
        history = History.of(ws, own)
        model = None if no_model or not sec.model_configured else sec.model()
        if model is None and not no_model:
            err.print("[dim]No model configured: only the model-free rules decide.[/]")

        def items() -> Any:
            if paths:
                for path in paths:
                    for raw in iter_source(path.expanduser()):
                        yield raw.ref, raw.data, raw.problem
                return
            unread = getattr(ws.mail, "unread", None)
            if not callable(unread):
                raise click.ClickException(
                    "This mail provider cannot list unread mail; give files or folders to triage."
                )
            try:
                for r in unread(limit=limit):
                    yield f"{r.folder}/{r.uid}", r.raw, ""
            except ProviderError as exc:
                raise click.ClickException(str(exc)) from None

        verdicts: list[Verdict] = []
        for ref, data, problem in items():
            if data is None:
                verdict = unreadable(ref, problem)
            else:
                try:
                    mail = Incoming.from_raw(data, p, source=ref)
                except ValueError as exc:
                    verdict = unreadable(ref, str(exc))
                else:
                    verdict = run_triage(mail, p, history, model, sec.settings)
            verdicts.append(verdict)
            if as_json:
                click.echo(json.dumps(verdict.to_json(), ensure_ascii=False))
    if as_json:
        return
    if not verdicts:
        err.print("No messages to triage.")
        return
    from rich.table import Table

    table = Table(show_lines=False)
    for col in ("#", "from", "subject", "category", "action", "why"):
        table.add_column(col, overflow="fold")
    for i, v in enumerate(verdicts, 1):
        flags = " ".join(f for f, on in (("SPAM", v.spam), ("PHISHING", v.phishing)) if on)
        who = v.sender or v.source
        model_mark = " (model)" if v.used_model else ""
        table.add_row(
            str(i),
            who[:40],
            v.subject[:60],
            f"{v.category} {flags}".strip(),
            v.action + model_mark,
            v.reason,
        )
    out.print(table)
    decided = sum(v.decided for v in verdicts)
    err.print(
        f"{len(verdicts)} messages: {decided} decided "
        f"({sum(v.decided and not v.used_model for v in verdicts)} by rules), "
        f"{len(verdicts) - decided} undecided."
    )


@cli.command("mail-agent")
@click.option("--once", is_flag=True, help="One round, then exit (for cron).")
@click.option(
    "--poll",
    default=60.0,
    show_default=True,
    help="Seconds between rounds when the server offers no IMAP IDLE.",
)
@click.option("--status", "show_status", is_flag=True, help="Show what the desk handled lately.")
@click.option("--no-model", is_flag=True, help="Triage by rules only; draft nothing.")
@PRINCIPAL
@JSON
@_guard
def mail_agent(
    once: bool,
    poll: float,
    show_status: bool,
    no_model: bool,
    principal: str | None,
    as_json: bool,
) -> None:
    """Answer e-mail: fetch, triage, propose replies, ask for approval, send once.

    The first start only notes where the inbox is: mail already there is
    history (add it to memory with `secretary ingest`), later mail is handled.
    Replies are proposals; they are sent only after approval (from `secretary
    pending`, or by answering the approval e-mail when the principal's
    policy.approval_channel is "email").

    \b
    Examples:
      secretary mail-agent            # run until Ctrl-C
      secretary mail-agent --once     # one round, for cron
      secretary mail-agent --status
    """
    from agent.channels.email import MailDesk

    out, err = _consoles()
    with _secretary() as sec:
        desk = MailDesk(sec, principal, use_model=not no_model)
        if show_status:
            rows = desk.state.rows()
            if as_json:
                click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
                return
            if not rows:
                err.print("The mail desk has handled nothing yet.")
            for r in rows:
                out.print(
                    f"{r['updated_at'][:16]}  {r['status']:<9} {r['category'] or '-':<14} "
                    f"{r['action'] or '-':<9} {r['sender'][:30]:<30} {r['subject'][:50]}"
                )
            return
        stop = threading.Event()

        def on_signal(_sig: int, _frame: Any) -> None:
            stop.set()

        previous = signal.signal(signal.SIGTERM, on_signal)

        def show(report: Any) -> None:
            if as_json:
                click.echo(
                    json.dumps(
                        {
                            "fetched": report.fetched,
                            "handled": report.handled,
                            "requests_sent": report.requests_sent,
                            "errors": report.errors,
                            "notes": report.notes,
                        },
                        ensure_ascii=False,
                    )
                )
                return
            for line in [*report.notes, *report.handled]:
                err.print(line)
            for line in report.errors:
                err.print(f"[red]{line}[/]")
            if report.requests_sent:
                err.print(f"Sent {report.requests_sent} approval request(s) by e-mail.")
            if once and not (report.notes or report.handled or report.errors):
                err.print("No new mail.")

        if not once:
            err.print(
                f"Mail desk for {desk.principal.name} running (Ctrl-C to stop). "
                "Decisions: secretary pending."
            )
        try:
            desk.run(once=once, poll=poll, stop=stop, on_round=show)
        except KeyboardInterrupt:
            err.print("Stopped.")
        finally:
            signal.signal(signal.SIGTERM, previous)


# ------------------------------------------------------------------ accounts


def _save_account(principal: str | None, duty: str, account: dict[str, Any]) -> Any:
    """Store ``account`` as the principal's ``accounts.<duty>`` and return the principal."""
    from agent.settings import config_path, save_principal

    with _secretary() as sec:
        p = sec.principal(principal)
    updated = p.model_copy(update={"accounts": {**p.accounts, duty: account}})
    save_principal(updated, config_path())
    return updated


def _check_mail(principal: str | None) -> None:
    """Open the new mail account and say what is there (or what went wrong)."""
    from tools.providers.base import ProviderError

    _, err = _consoles()
    with _secretary() as sec:
        p = sec.principal(principal)
        try:
            mail = sec.workspace(p).mail
            found = mail.search(folder="inbox", limit=1)
        except ProviderError as exc:
            raise click.ClickException(f"Saved, but the account does not work yet: {exc}") from None
        newest = f"; newest: '{found[0].subject}'" if found else ""
        err.print(f"[green]Connected[/] the mail of {p.name}{newest}.")


@cli.group()
def connect() -> None:
    """Connect a principal's real accounts (stored in secretary.toml, 0600).

    \b
    Examples:
      secretary connect imap --imap-host imap.example.com --smtp-host smtp.example.com \\
          --username ada@example.com --password-env ADA_MAIL_PASSWORD
      secretary connect gmail --client-secrets ~/Downloads/client_secret.json
      secretary connect microsoft --client-id 00000000-0000-0000-0000-000000000000
    """


@connect.command("imap")
@click.option("--imap-host", required=True, help="IMAP server name.")
@click.option("--imap-port", type=int, default=None, help="Default 993 (ssl) or 143.")
@click.option("--imap-security", type=click.Choice(["ssl", "starttls", "none"]), default="ssl",
              show_default=True, help="How to protect the IMAP connection.")  # fmt: skip
@click.option("--smtp-host", required=True, help="SMTP server name.")
@click.option("--smtp-port", type=int, default=None, help="Default 587 (starttls) or 465 (ssl).")
@click.option("--smtp-security", type=click.Choice(["starttls", "ssl", "none"]),
              default="starttls", show_default=True, help="How to protect SMTP.")  # fmt: skip
@click.option("--username", required=True, help="Login name (often the address).")
@click.option("--password-env", default=None, help="Environment variable holding the password.")
@click.option("--password-file", default=None, help="File holding the password.")
@click.option("--address", default=None, help="From address (default: the principal's).")
@click.option("--ca-file", default=None, help="CA bundle to trust (self-signed servers).")
@PRINCIPAL
@_guard
def connect_imap(
    imap_host: str,
    imap_port: int | None,
    imap_security: str,
    smtp_host: str,
    smtp_port: int | None,
    smtp_security: str,
    username: str,
    password_env: str | None,
    password_file: str | None,
    address: str | None,
    ca_file: str | None,
    principal: str | None,
) -> None:
    """Any mail host: IMAP for reading, SMTP for sending.

    Without --password-env or --password-file the password is asked for and
    stored in secretary.toml (owner-only), never shown again.
    """
    account: dict[str, Any] = {
        "provider": "imap",
        "imap_host": imap_host,
        "imap_security": imap_security,
        "smtp_host": smtp_host,
        "smtp_security": smtp_security,
        "username": username,
    }
    if imap_port:
        account["imap_port"] = imap_port
    if smtp_port:
        account["smtp_port"] = smtp_port
    if address:
        account["address"] = address
    if ca_file:
        account["ca_file"] = str(Path(ca_file).expanduser().resolve())
    if password_env:
        account["password_env"] = password_env
    elif password_file:
        account["password_file"] = str(Path(password_file).expanduser().resolve())
    else:
        account["password"] = click.prompt("Password", hide_input=True, err=True)
    _save_account(principal, "mail", account)
    _check_mail(principal)


def _google(
    client_secrets: str, address: str | None, no_browser: bool, use_for: str, principal: str | None
) -> None:
    """Sign in to Google once (Gmail and Calendar scopes) and store the accounts."""
    from tools.providers.accounts import token_path
    from tools.providers.base import ProviderError
    from tools.providers.google import calendar as gcal
    from tools.providers.google import gmail
    from tools.providers.google.auth import authorize

    secrets_path = Path(client_secrets).expanduser().resolve()
    with _secretary() as sec:
        p = sec.principal(principal)
        root = p.workdir(sec.settings.home)
    token = token_path(root, "google.json")
    # One token serves both duties: always ask for both scopes, so connecting one
    # never takes the other's access away.
    scopes = list(dict.fromkeys([*gmail.SCOPES, *gcal.SCOPES]))
    try:
        authorize(secrets_path, token, scopes, open_browser=not no_browser)
    except ProviderError as exc:
        raise click.ClickException(str(exc)) from None
    duties = ["mail", "calendar"] if use_for == "both" else [use_for]
    if "mail" in duties:
        account: dict[str, Any] = {"provider": "gmail", "client_secrets": str(secrets_path)}
        if address:
            account["address"] = address
        _save_account(principal, "mail", account)
    if "calendar" in duties:
        _save_account(
            principal, "calendar", {"provider": "google", "client_secrets": str(secrets_path)}
        )
    if "mail" in duties:
        _check_mail(principal)


_GOOGLE_OPTIONS = [
    click.option(
        "--client-secrets",
        required=True,
        type=click.Path(exists=True, dir_okay=False),
        help="OAuth client file (Desktop app) from the Google Cloud console.",
    ),
    click.option("--address", default=None, help="The Gmail address (default: the principal's)."),
    click.option(
        "--no-browser", is_flag=True, help="Print the sign-in link instead of opening it."
    ),
    click.option(
        "--use-for",
        type=click.Choice(["mail", "calendar", "both"]),
        default="both",
        show_default=True,
        help="Which duties this account serves.",
    ),
    PRINCIPAL,
]


def _with_google_options(fn: Any) -> Any:
    for option in reversed(_GOOGLE_OPTIONS):
        fn = option(fn)
    return fn


@connect.command("google")
@_with_google_options
@_guard
def connect_google(
    client_secrets: str, address: str | None, no_browser: bool, use_for: str, principal: str | None
) -> None:
    """Gmail and Google Calendar: signs in once in the browser; the token is kept 0600."""
    _google(client_secrets, address, no_browser, use_for, principal)


@connect.command("gmail")
@_with_google_options
@_guard
def connect_gmail(
    client_secrets: str, address: str | None, no_browser: bool, use_for: str, principal: str | None
) -> None:
    """The same as `connect google` (Gmail and Google Calendar)."""
    _google(client_secrets, address, no_browser, use_for, principal)


@connect.command("microsoft")
@click.option("--client-id", required=True, help="The app registration's application id.")
@click.option("--tenant", default="organizations", show_default=True,
              help="Directory (tenant) id or domain; 'consumers' for outlook.com.")  # fmt: skip
@click.option("--user", default=None, help="Mailbox to act on (service sign-in only).")
@click.option(
    "--use-for",
    type=click.Choice(["mail", "calendar", "both"]),
    default="both",
    show_default=True,
    help="Which duties this account serves.",
)
@click.option("--client-secret-env", default=None,
              help="Env variable with a client secret: sign in as a service.")  # fmt: skip
@PRINCIPAL
@_guard
def connect_microsoft(
    client_id: str,
    tenant: str,
    user: str | None,
    use_for: str,
    client_secret_env: str | None,
    principal: str | None,
) -> None:
    """Microsoft 365 / Outlook through Microsoft Graph (device-code sign-in for a person)."""
    from tools.providers.base import ProviderError
    from tools.providers.microsoft.auth import MicrosoftAuth

    account: dict[str, Any] = {"provider": "microsoft", "client_id": client_id, "tenant": tenant}
    if client_secret_env:
        if not user:
            raise click.ClickException("A service sign-in needs --user (the mailbox to act on).")
        account.update(client_secret_env=client_secret_env, user=user)
    duties = ["mail", "calendar"] if use_for == "both" else [use_for]
    for duty in duties:
        p = _save_account(principal, duty, account)
    with _secretary() as sec:
        root = p.workdir(sec.settings.home)
    _, err = _consoles()
    if not client_secret_env:
        auth = MicrosoftAuth(account, p.id, root)
        try:
            auth.device_login(lambda text: err.print(text))
        except ProviderError as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            auth.close()
    if "mail" in duties:
        _check_mail(principal)


@connect.command("caldav")
@click.option("--url", required=True, help="CalDAV server or calendar-home URL.")
@click.option("--username", required=True, help="Login name.")
@click.option("--password-env", default=None, help="Environment variable holding the password.")
@click.option("--password-file", default=None, help="File holding the password.")
@click.option("--calendar", "calendar_name", default=None, help="Calendar name or path to use.")
@click.option("--ca-file", default=None, help="CA bundle to trust (self-signed servers).")
@PRINCIPAL
@_guard
def connect_caldav(
    url: str,
    username: str,
    password_env: str | None,
    password_file: str | None,
    calendar_name: str | None,
    ca_file: str | None,
    principal: str | None,
) -> None:
    """A CalDAV calendar (Nextcloud, iCloud, Fastmail, Radicale...)."""
    from datetime import timedelta

    from tools.providers.base import ProviderError

    account: dict[str, Any] = {"provider": "caldav", "url": url, "username": username}
    if calendar_name:
        account["calendar"] = calendar_name
    if ca_file:
        account["ca_file"] = str(Path(ca_file).expanduser().resolve())
    if password_env:
        account["password_env"] = password_env
    elif password_file:
        account["password_file"] = str(Path(password_file).expanduser().resolve())
    else:
        account["password"] = click.prompt("Password", hide_input=True, err=True)
    _save_account(principal, "calendar", account)
    _, err = _consoles()
    with _secretary() as sec:
        p = sec.principal(principal)
        try:
            now = p.now()
            events = sec.workspace(p).calendar.list_events(now, now + timedelta(days=7))
        except ProviderError as exc:
            raise click.ClickException(
                f"Saved, but the calendar does not work yet: {exc}"
            ) from None
    err.print(f"[green]Connected[/] the calendar of {p.name}: {len(events)} events this week.")
