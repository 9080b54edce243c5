"""``secretary slack``: run the Slack bot (Socket Mode, or HTTP with ``--http``).

Registered on the main command group by :mod:`agent.cli`; kept apart so that
module stays readable. Imports stay lazy for a fast ``--help``. In HTTP mode
the bot is the HTTP API's FastAPI app with Slack's route on it (the same app
``secretary serve`` runs), so one web server answers both.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

import click

from agent.cli.common import _consoles, _guard, _secretary, _settings, command
from agent.cli.web import bind, run_web, shown_host, warn_if_remote


@command("slack")
@click.option("--http", "use_http", is_flag=True,
              help="Take Slack's requests over HTTP (Events API), not Socket Mode.")  # fmt: skip
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on in HTTP mode (put a TLS proxy in front).")  # fmt: skip
@click.option("--port", default=3000, show_default=True, help="Port to listen on in HTTP mode.")
@click.option("--poll", default=15.0, show_default=True,
              help="Seconds between posting approvals asked elsewhere and updating "
              "cards decided elsewhere.")  # fmt: skip
@_guard
def slack(use_http: bool, host: str, port: int, poll: float) -> None:
    """Run the Slack bot: chat in DMs or by mention, approve with cards.

    Tokens come from the environment, never from the command line:
    SLACK_BOT_TOKEN (xoxb-...), and SLACK_APP_TOKEN (xapp-..., Socket Mode)
    or SLACK_SIGNING_SECRET (HTTP mode). Slack users are mapped to principals
    by their `identities` (channel "slack", address = Slack user id). In HTTP
    mode the HTTP API (/v1, see `secretary serve`) answers on the same port.

    \b
    Examples:
      secretary slack                      # Socket Mode: no public URL needed
      secretary slack --http --port 3000   # Request URL: https://<host>/slack/events
    """
    from agent.channels.slack_app import CardSync, SlackSettings, open_bot
    from tools.providers.base import ProviderError

    # The Web API client logs requests at DEBUG; keep it quiet whatever the root level.
    for name in ("slack_sdk", "slack_bolt"):
        logging.getLogger(name).setLevel(logging.INFO)
    settings = SlackSettings.from_settings(_settings(), socket_mode=not use_http)
    _, err = _consoles()
    sock = bind(host, port) if use_http else None
    with _secretary() as sec:
        try:
            desk, app = open_bot(sec, settings)
        except ProviderError as exc:
            if sock is not None:
                sock.close()
            raise click.ClickException(str(exc)) from None
        if not any(desk.slack_user_of(p) for p in sec.settings.principals):
            err.print(
                "[yellow]No principal has a Slack identity yet; everyone will be treated as "
                'an outsider. Add one under [[principals.identities]] (channel = "slack", '
                'address = the Slack user id, role = "principal").[/]'
            )
        sync = CardSync(desk, poll)
        try:
            if sock is not None:
                from agent.channels.api import create_app

                api = create_app(sec, slack=app)
                warn_if_remote(host)
                err.print(
                    f"Slack bot listening on http://{shown_host(host)}:{port}/slack/events "
                    "(Ctrl-C to stop)."
                )
                sync.start()
                try:
                    run_web(api, sock)  # uvicorn stops on Ctrl-C and SIGTERM
                finally:
                    api.state.tokens.close()
            else:
                _socket_mode(app, settings.app_token, sync)
        finally:
            sync.stop()
            if sock is not None:
                sock.close()
            desk.close()


def _socket_mode(app: Any, app_token: str, sync: Any) -> None:
    """Hold a Socket Mode connection open until Ctrl-C or SIGTERM."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    _, err = _consoles()
    stop = threading.Event()

    def on_signal(_sig: int, _frame: Any) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    handler = SocketModeHandler(app, app_token)
    try:
        try:
            handler.connect()
        except Exception as exc:  # noqa: BLE001 - any failure here is a setup problem
            raise click.ClickException(
                f"Could not open the Socket Mode connection ({type(exc).__name__}); "
                "check SLACK_APP_TOKEN (xapp-..., scope connections:write) and that "
                "Socket Mode is enabled for the app."
            ) from None
        err.print("Slack bot connected in Socket Mode (Ctrl-C to stop).")
        sync.start()
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        err.print("Stopped.")
    finally:
        signal.signal(signal.SIGTERM, previous)
        handler.close()
