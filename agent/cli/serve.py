"""``secretary serve``: the HTTP API for other front ends, and its tokens.

Registered on the main command group by :mod:`agent.cli`. Imports stay lazy
for a fast ``--help``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import click

from agent.cli.common import _consoles, _guard, _secretary, group
from agent.cli.web import bind, is_loopback, run_web, shown_host, warn_if_remote

_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_LONGEST = 10 * 365 * 86400  # ten years: beyond that, leave the expiry out


def parse_lifetime(text: str) -> timedelta:
    """How long a token lasts: ``90m``, ``12h``, ``30d`` or ``8w``.

    Raises:
        ValueError: with a sentence, for anything else, zero, or more than ten years.
    """
    found = re.fullmatch(r"\s*(\d{1,6})\s*([mhdw])\s*", text.lower())
    if found is None:
        raise ValueError(
            f"'{text}' is not a lifetime; write a number and a unit: 90m, 12h, 30d or 8w."
        )
    seconds = int(found.group(1)) * _UNITS[found.group(2)]
    if seconds <= 0 or seconds > _LONGEST:
        raise ValueError(
            f"A token lasts between a minute and ten years, not '{text}'; leave --expires "
            "out for a token that lasts until it is revoked."
        )
    return timedelta(seconds=seconds)


@group("serve", invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (loopback unless --allow-remote).")  # fmt: skip
@click.option("--port", default=8765, show_default=True, help="Port to listen on.")
@click.option("--allow-remote", is_flag=True,
              help="Allow a non-loopback --host. Tokens then cross the network in clear "
              "text: put a TLS-terminating proxy in front.")  # fmt: skip
@click.option("--no-slack", is_flag=True,
              help="Do not take Slack's requests at /slack/events even when "
              "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are set.")  # fmt: skip
@click.pass_context
@_guard
def serve(ctx: click.Context, host: str, port: int, allow_remote: bool, no_slack: bool) -> None:
    """Run the HTTP API: list what waits for approval, and decide it.

    Every /v1 request needs a token (Authorization: Bearer ...) made with
    `secretary serve token create`. The OpenAPI description is at
    /openapi.json, interactive docs at /docs (served locally, no CDN).
    Browser pages of other origins may call the API only when listed in
    api_cors_origins (SECRETARY_API_CORS_ORIGINS, commas between).
    When SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are set, the Slack bot's
    requests are taken at /slack/events on the same port (signed by Slack).

    \b
    Examples:
      secretary serve token create --principal ada --label phone
      secretary serve --port 8765
      curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8765/v1/pending
    """
    if ctx.invoked_subcommand is not None:
        return
    if not is_loopback(host) and not allow_remote:
        raise click.ClickException(
            f"{host} is reachable from other machines, and the API's tokens would travel in "
            "clear text without TLS; listen on 127.0.0.1 behind a TLS proxy, or pass "
            "--allow-remote if that proxy is on another machine."
        )
    from agent.channels.api import create_app
    from agent.channels.slack_app import CardSync, SlackSettings, open_bot
    from tools.providers.base import ProviderError

    _, err = _consoles()
    sock = bind(host, port)
    with _secretary() as sec:
        bolt, sync = None, None
        if not no_slack and SlackSettings.http_configured(sec.settings):
            try:
                desk, bolt = open_bot(
                    sec, SlackSettings.from_settings(sec.settings, socket_mode=False)
                )
            except ProviderError as exc:
                sock.close()
                raise click.ClickException(f"{exc} (or pass --no-slack)") from None
            sync = CardSync(desk)
        app = create_app(sec, slack=bolt)
        warn_if_remote(host)
        url = f"http://{shown_host(host)}:{port}"
        err.print(f"Secretary API on {url} (docs at /docs; Ctrl-C to stop).")
        if sync is not None:
            err.print(f"Slack's Request URL is served at {url}/slack/events.")
            sync.start()
        try:
            run_web(app, sock)
        finally:
            if sync is not None:
                sync.stop()
                sync.desk.close()
            app.state.tokens.close()
            sock.close()


@serve.group("token")
def token() -> None:
    """Create, list and revoke the API's bearer tokens."""


@token.command("create")
@click.option("-p", "--principal", envvar="SECRETARY_PRINCIPAL", default=None,
              help="Whose proposals the token sees (default: the first principal).")  # fmt: skip
@click.option("--as", "address", default=None,
              help="The address the token acts as: a staff identity's address (decides with "
              "that staff's role). Default: the principal's own e-mail.")  # fmt: skip
@click.option("--label", default="", help="A note to tell tokens apart, e.g. 'phone'.")
@click.option("--expires", "lifetime", default=None, metavar="LIFETIME",
              help="Refuse the token after this long: 90m, 12h, 30d or 8w "
              "(default: it lasts until revoked).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@_guard
def token_create(
    principal: str | None, address: str | None, label: str, lifetime: str | None, as_json: bool
) -> None:
    """Make a new token and print it once (only its SHA-256 is kept).

    \b
    Examples:
      secretary serve token create --principal ada --label phone
      secretary serve token create --as sam@example.com --expires 30d
    """
    from agent.channels.api import api_role, issue_token

    expires_at = None
    if lifetime is not None:
        try:
            expires_at = datetime.now(UTC) + parse_lifetime(lifetime)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--expires") from None
    with _secretary() as sec:
        record, secret = issue_token(sec, principal, address, label, expires_at)
        role = api_role(sec.principal(record.principal), record.address)
    if as_json:
        click.echo(json.dumps({**record.to_json(), "role": role, "token": secret}, indent=2))
        return
    _, err = _consoles()
    click.echo(secret)
    until = f" It expires at {record.expires_at}." if record.expires_at else ""
    err.print(
        f"Token {record.id} for {record.principal}, acting as {record.address} ({role}).{until} "
        "It is shown only now: keep it like a password. "
        f"Revoke it with `secretary serve token revoke {record.id}`."
    )


@token.command("list")
@click.option("-p", "--principal", envvar="SECRETARY_PRINCIPAL", default=None,
              help="Only this principal's tokens.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@_guard
def token_list(principal: str | None, as_json: bool) -> None:
    """List the tokens (never the tokens themselves): id, principal, address, use."""
    from agent.channels.api import open_token_store

    with _secretary() as sec:
        pid = principal and sec.principal(principal).id
        store = open_token_store(sec)
        try:
            rows = store.list(pid)
        finally:
            store.close()
    if as_json:
        click.echo(json.dumps([r.to_json() for r in rows], indent=2))
        return
    out, err = _consoles()
    if not rows:
        err.print("No tokens yet. Make one with `secretary serve token create`.")
        return
    from rich.table import Table

    table = Table(title="API tokens")
    columns = ("id", "principal", "acts as", "label", "created", "last used", "expires", "revoked")
    for col in columns:
        table.add_column(col)
    for r in rows:
        expires = r.expires_at or "-"
        if r.expired():
            expires += " (expired)"
        table.add_row(
            r.id,
            r.principal,
            r.address,
            r.label,
            r.created_at,
            r.last_used_at or "-",
            expires,
            r.revoked_at or "-",
        )
    out.print(table)


@token.command("revoke")
@click.argument("token_id")
@_guard
def token_revoke(token_id: str) -> None:
    """Revoke a token at once (requests with it answer 401 from now on)."""
    from agent.channels.api import open_token_store

    with _secretary() as sec:
        store = open_token_store(sec)
        try:
            record = store.revoke(token_id)
        finally:
            store.close()
    if record is None:
        raise click.ClickException(
            f"No token '{token_id}'; see `secretary serve token list` for ids."
        )
    _, err = _consoles()
    err.print(f"Token {record.id} ({record.principal}, {record.address}) is revoked.")
