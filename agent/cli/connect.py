"""``secretary connect ...``: a principal's real accounts, checked before they are saved.

Every command first proves the new settings work: it signs in (Google's
browser consent, Microsoft's device code) and then uses the account the way
the secretary will (reads the inbox; for IMAP also logs in to SMTP; lists the
week's events). Only then are the settings written to ``secretary.toml``. A
mistyped port, a wrong password or a sign-in that was not finished therefore
leaves the set-up that worked before exactly as it was, and the error names
what failed (IMAP or SMTP, mail or calendar) and what to change.

Added to the main command group by :mod:`agent.cli.app`; imports stay lazy
for a fast ``--help``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from agent.cli.common import PRINCIPAL, _consoles, _guard, _secretary, group

if TYPE_CHECKING:
    from tools.foundation.principals import Principal

_KEPT = "Not connected; the previous settings are kept."
_MAIL = {"imap": "IMAP", "gmail": "Gmail", "microsoft": "Microsoft 365 mail"}
_CALENDAR = {"caldav": "CalDAV", "google": "Google", "microsoft": "Microsoft 365"}


def _principal(principal: str | None) -> tuple[Principal, Path]:
    """The principal as saved now, and their data directory (tokens live there)."""
    with _secretary() as sec:
        p = sec.principal(principal)
        return p, p.workdir(sec.settings.home)


def _with(p: Principal, accounts: dict[str, dict[str, Any]]) -> Principal:
    return p.model_copy(update={"accounts": {**p.accounts, **accounts}})


def _save(principal: str | None, accounts: dict[str, dict[str, Any]]) -> None:
    """Write the checked accounts into the principal's settings (read afresh: a sign-in is slow)."""
    from tools.foundation.settings import config_path, save_principal

    p, _ = _principal(principal)
    save_principal(_with(p, accounts), config_path())


def _refused(failures: list[tuple[str, Exception]]) -> click.ClickException:
    said = " ".join(f"{what} did not work: {exc}" for what, exc in failures)
    return click.ClickException(f"{_KEPT} {said}")


def _close(provider: object) -> None:
    close = getattr(provider, "close", None)
    if callable(close):
        close()


def _check_mail(candidate: Principal, root: Path) -> str:
    """Read the inbox of the candidate's mail account (and log in to SMTP where it has one).

    Returns:
        The line to print once the account is saved.

    Raises:
        click.ClickException: naming each part that failed; nothing is saved.
    """
    from tools.providers.base import ProviderError
    from tools.workspace import open_mail

    kind = str(candidate.accounts["mail"].get("provider", ""))
    label = _MAIL.get(kind, kind)
    try:
        mail = open_mail(candidate, root)
    except ProviderError as exc:
        raise _refused([(label, exc)]) from None
    failures: list[tuple[str, Exception]] = []
    found: list[Any] = []
    try:
        try:
            found = mail.search(folder="inbox", limit=1)
        except ProviderError as exc:
            failures.append((label, exc))
        # Sending is half of the account: a dead SMTP port must not pass as connected.
        check_smtp = getattr(mail, "check_smtp", None)
        if callable(check_smtp):
            try:
                check_smtp()
            except ProviderError as exc:
                failures.append(("SMTP", exc))
    finally:
        _close(mail)
    if failures:
        raise _refused(failures)
    from rich.markup import escape

    checked = " (IMAP and SMTP logins checked)" if kind == "imap" else ""
    # A subject like "[team] Budget" is text, not console markup.
    newest = f"; newest: '{escape(found[0].subject)}'" if found else ""
    return f"[green]Connected[/] the mail of {escape(candidate.name)}{checked}{newest}."


def _check_calendar(candidate: Principal, root: Path) -> str:
    """List the coming week of the candidate's calendar account; the line to print once saved.

    Raises:
        click.ClickException: saying what failed; nothing is saved.
    """
    from datetime import timedelta

    from tools.providers.base import ProviderError
    from tools.workspace import open_calendar

    kind = str(candidate.accounts["calendar"].get("provider", ""))
    label = f"The {_CALENDAR.get(kind, kind)} calendar"
    calendar = None
    try:
        calendar = open_calendar(candidate, root)
        now = candidate.now()
        events = calendar.list_events(now, now + timedelta(days=7))
    except ProviderError as exc:
        raise _refused([(label, exc)]) from None
    finally:
        _close(calendar)
    from rich.markup import escape

    name = escape(candidate.name)
    return f"[green]Connected[/] the calendar of {name}: {len(events)} events this week."


def _check(principal: str | None, accounts: dict[str, dict[str, Any]]) -> list[str]:
    """Check every duty's new account (nothing is saved); the lines to print once saved."""
    p, root = _principal(principal)
    candidate = _with(p, accounts)
    lines = []
    if "mail" in accounts:
        lines.append(_check_mail(candidate, root))
    if "calendar" in accounts:
        lines.append(_check_calendar(candidate, root))
    return lines


def _saved(principal: str | None, accounts: dict[str, dict[str, Any]], lines: list[str]) -> None:
    _save(principal, accounts)
    _, err = _consoles()
    for line in lines:
        err.print(line, soft_wrap=True)  # one line each, whatever the terminal's width


def _check_and_save(principal: str | None, accounts: dict[str, dict[str, Any]]) -> None:
    """Check every duty's new account, then save them all at once and say so."""
    _saved(principal, accounts, _check(principal, accounts))


@group()
def connect() -> None:
    """Connect a principal's real accounts (stored in secretary.toml, 0600).

    Each command checks the account first (for IMAP: the IMAP and the SMTP
    login) and saves it only when that worked; a failed check names what
    failed and leaves the previous settings as they were.

    \b
    Examples:
      secretary connect imap --imap-host imap.example.com --smtp-host smtp.example.com \\
          --username ada@example.com --password-env ADA_MAIL_PASSWORD
      secretary connect gmail --client-secrets ~/Downloads/client_secret.json
      secretary connect microsoft --client-id 00000000-0000-0000-0000-000000000000
    """


def _password(account: dict[str, Any], env: str | None, file: str | None) -> None:
    if env:
        account["password_env"] = env
    elif file:
        account["password_file"] = str(Path(file).expanduser().resolve())
    else:
        account["password"] = click.prompt("Password", hide_input=True, err=True)


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
@click.option(
    "--authserv-id",
    default=None,
    help="The authserv-id your receiving server writes into Authentication-Results; "
    "with it, an e-mailed approval that passes DMARC there counts even without the token.",
)
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
    authserv_id: str | None,
    principal: str | None,
) -> None:
    """Any mail host: IMAP for reading, SMTP for sending (both logins are checked).

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
    if authserv_id:
        account["authserv_id"] = authserv_id.strip().lower()
    _password(account, password_env, password_file)
    _check_and_save(principal, {"mail": account})


def _google(
    client_secrets: str, address: str | None, no_browser: bool, use_for: str, principal: str | None
) -> None:
    """Sign in to Google once (Gmail and Calendar scopes), check, then store the accounts."""
    from tools.providers.accounts import token_path
    from tools.providers.base import ProviderError
    from tools.providers.google import calendar as gcal
    from tools.providers.google import gmail
    from tools.providers.google.auth import authorize

    secrets_path = Path(client_secrets).expanduser().resolve()
    _, root = _principal(principal)
    token = token_path(root, "google.json")
    # The new token waits beside the one in use until the account is checked: the
    # token is as much a part of a working set-up as the settings are.
    pending = token.with_name("google.pending.json")
    # One token serves both duties: always ask for both scopes, so connecting one
    # never takes the other's access away.
    scopes = list(dict.fromkeys([*gmail.SCOPES, *gcal.SCOPES]))
    accounts: dict[str, dict[str, Any]] = {}
    if use_for in ("mail", "both"):
        accounts["mail"] = {"provider": "gmail", "client_secrets": str(secrets_path)}
        if address:
            accounts["mail"]["address"] = address
    if use_for in ("calendar", "both"):
        accounts["calendar"] = {"provider": "google", "client_secrets": str(secrets_path)}
    try:
        try:
            authorize(secrets_path, pending, scopes, open_browser=not no_browser)
        except ProviderError as exc:
            raise click.ClickException(f"{_KEPT} The Google sign-in did not work: {exc}") from None
        lines = _check(
            principal, {d: a | {"token_file": str(pending)} for d, a in accounts.items()}
        )
        pending.replace(token)
    finally:
        pending.unlink(missing_ok=True)
    _saved(principal, accounts, lines)


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
@click.option("--authority", default=None,
              help="Sign-in URL for a national cloud or private endpoint "
                   "(default: https://login.microsoftonline.com/TENANT).")  # fmt: skip
@click.option("--graph-url", default=None,
              help="Graph endpoint of a national cloud (default: graph.microsoft.com)")  # fmt: skip
@click.option("--ca-file", default=None, help="CA bundle to trust (a private endpoint).")
@PRINCIPAL
@_guard
def connect_microsoft(
    client_id: str,
    tenant: str,
    user: str | None,
    use_for: str,
    client_secret_env: str | None,
    authority: str | None,
    graph_url: str | None,
    ca_file: str | None,
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
    if authority:
        account["authority"] = authority
    if graph_url:
        account["graph_url"] = graph_url
    if ca_file:
        account["ca_file"] = str(Path(ca_file).expanduser().resolve())
    p, root = _principal(principal)
    _, err = _consoles()
    if not client_secret_env:  # a service proves its secret in the checks below
        try:
            auth = MicrosoftAuth(account, p.id, root)
        except ProviderError as exc:
            raise click.ClickException(f"{_KEPT} {exc}") from None
        try:
            auth.device_login(lambda text: err.print(text))
        except ProviderError as exc:
            raise click.ClickException(
                f"{_KEPT} The Microsoft sign-in did not work: {exc}"
            ) from None
        finally:
            auth.close()
    duties = ["mail", "calendar"] if use_for == "both" else [use_for]
    _check_and_save(principal, {duty: dict(account) for duty in duties})


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
    account: dict[str, Any] = {"provider": "caldav", "url": url, "username": username}
    if calendar_name:
        account["calendar"] = calendar_name
    if ca_file:
        account["ca_file"] = str(Path(ca_file).expanduser().resolve())
    _password(account, password_env, password_file)
    _check_and_save(principal, {"calendar": account})
