"""``secretary slack``: run the Slack bot (Socket Mode, or HTTP with ``--http``).

Registered on the main command group by :mod:`agent.cli`; kept apart so that
module stays readable. Imports stay lazy for a fast ``--help``.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

import click

from agent.cli.common import _consoles, _guard, _secretary, command


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
    by their `identities` (channel "slack", address = Slack user id).

    \b
    Examples:
      secretary slack                      # Socket Mode: no public URL needed
      secretary slack --http --port 3000   # Request URL: https://<host>/slack/events
    """
    from agent.channels.slack import SlackDesk, SlackSettings, build_app, serve_http
    from tools.providers.base import ProviderError

    # The Web API client logs requests at DEBUG; keep it quiet whatever the root level.
    for name in ("slack_sdk", "slack_bolt"):
        logging.getLogger(name).setLevel(logging.INFO)
    settings = SlackSettings.from_env(socket_mode=not use_http)
    _, err = _consoles()
    stop = threading.Event()

    def on_signal(_sig: int, _frame: Any) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    with _secretary() as sec:
        from slack_sdk import WebClient

        client = WebClient(token=settings.bot_token)
        desk = SlackDesk(sec, client)
        try:
            app = build_app(sec, settings, client=client, desk=desk)
        except ProviderError as exc:
            desk.close()
            raise click.ClickException(str(exc)) from None
        mapped = [p.id for p in sec.settings.principals if desk.slack_user_of(p)]
        if not mapped:
            err.print(
                "[yellow]No principal has a Slack identity yet; everyone will be treated as "
                'an outsider. Add one under [[principals.identities]] (channel = "slack", '
                'address = the Slack user id, role = "principal").[/]'
            )

        def loop() -> None:
            while not stop.is_set():
                desk.sync()
                stop.wait(poll)

        syncer = threading.Thread(target=loop, name="slack-sync", daemon=True)
        server = None
        handler: Any = None
        try:
            if use_http:
                try:
                    server = serve_http(app, host, port)
                except OSError as exc:
                    raise click.ClickException(
                        f"Cannot listen on {host}:{port} ({exc.strerror}); choose another --port."
                    ) from None
                threading.Thread(target=server.serve_forever, daemon=True).start()
                err.print(
                    f"Slack bot listening on http://{host}:{port}/slack/events (Ctrl-C to stop)."
                )
            else:
                from slack_bolt.adapter.socket_mode import SocketModeHandler

                handler = SocketModeHandler(app, settings.app_token)
                try:
                    handler.connect()
                except Exception as exc:  # noqa: BLE001 - any failure here is a setup problem
                    raise click.ClickException(
                        f"Could not open the Socket Mode connection ({type(exc).__name__}); "
                        "check SLACK_APP_TOKEN (xapp-..., scope connections:write) and that "
                        "Socket Mode is enabled for the app."
                    ) from None
                err.print("Slack bot connected in Socket Mode (Ctrl-C to stop).")
            syncer.start()
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            err.print("Stopped.")
        finally:
            stop.set()
            signal.signal(signal.SIGTERM, previous)
            if server is not None:
                server.shutdown()
                server.server_close()
            if handler is not None:
                handler.close()
            if syncer.is_alive():
                syncer.join(timeout=5)
            desk.close()
