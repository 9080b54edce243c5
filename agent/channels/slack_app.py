"""How Slack's requests reach the desk: the bolt app, its settings, and the HTTP route.

:func:`build_app` wires a bolt ``App`` to a :class:`~agent.channels.slack.SlackDesk`.
Socket Mode hands that app to bolt's own ``SocketModeHandler``; HTTP mode puts
it on the HTTP API's FastAPI app (:func:`add_slack_route`), so Slack's events,
interactivity and slash commands arrive at ``/slack/events`` of the same web
server, on the same port, as ``/v1``. bolt verifies the signature and timestamp
of every HTTP request (401 for a forged one, or a replay older than five
minutes). Events are acknowledged at once and the work runs on bolt's worker
threads, so a slow model never misses Slack's three-second limit. Tokens come
from :class:`~tools.foundation.settings.Settings`, stay in :class:`SlackSettings`
and are never logged.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent.approval import Decision
from agent.channels.slack import SlackDesk
from agent.channels.slack_blocks import APPROVE, EDIT, EDIT_VIEW, REJECT, REJECT_VIEW
from tools.foundation.errors import SecretaryError
from tools.providers.base import ProviderError

if TYPE_CHECKING:
    from fastapi import FastAPI
    from slack_bolt import App
    from slack_sdk import WebClient

    from agent.runtime import Secretary
    from tools.foundation.settings import Settings

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
"""Where Slack sends events, interactivity and slash commands in HTTP mode (the Request URL)."""


@dataclass(frozen=True)
class SlackSettings:
    """The app's credentials; ``repr`` never shows them."""

    bot_token: str = field(repr=False)
    signing_secret: str = field(repr=False)
    app_token: str = field(default="", repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, *, socket_mode: bool = True) -> SlackSettings:
        """The credentials a mode needs: the bot token, and the app token or the signing secret.

        Args:
            settings: Where ``SLACK_BOT_TOKEN``, ``SLACK_APP_TOKEN`` and
                ``SLACK_SIGNING_SECRET`` were read.
            socket_mode: Socket Mode (needs the app token) or HTTP (needs the signing secret).

        Raises:
            SecretaryError: naming the variables that are missing.
        """

        def value(secret: Any) -> str:
            return secret.get_secret_value().strip() if secret is not None else ""

        bot = value(settings.slack_bot_token)
        secret = value(settings.slack_signing_secret)
        app = value(settings.slack_app_token)
        needed = {"SLACK_BOT_TOKEN": bot}
        if socket_mode:
            needed["SLACK_APP_TOKEN"] = app
        else:
            needed["SLACK_SIGNING_SECRET"] = secret
        missing = [name for name, found in needed.items() if not found]
        if missing:
            raise SecretaryError(
                f"Set {' and '.join(missing)} (from the Slack app's settings pages) "
                "before starting the Slack bot; see the README section 'Slack'."
            )
        # Socket Mode requests are not signed; bolt still wants a secret to exist.
        return cls(bot_token=bot, signing_secret=secret or "socket-mode", app_token=app)

    @staticmethod
    def http_configured(settings: Settings) -> bool:
        """Whether the settings hold what HTTP mode needs (bot token and signing secret)."""
        return settings.slack_bot_token is not None and settings.slack_signing_secret is not None


def build_app(
    secretary: Secretary,
    settings: SlackSettings,
    *,
    client: WebClient | None = None,
    desk: SlackDesk | None = None,
) -> App:
    """The bolt App: event, action, view and command handlers over a :class:`SlackDesk`.

    Args:
        secretary: The runtime facade.
        settings: Tokens and signing secret.
        client: A Web API client (tests point one at a loopback stand-in with
            ``base_url``); by default one for slack.com with the bot token.
        desk: The desk to use (default: a new one over ``secretary``).

    Raises:
        ProviderError: when Slack does not accept the bot token.
    """
    from slack_bolt import Ack, App, Respond
    from slack_bolt.error import BoltError
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackClientError

    if client is None:
        client = WebClient(token=settings.bot_token)
    elif not client.token:
        client.token = settings.bot_token
    try:
        app = App(
            client=client,
            signing_secret=settings.signing_secret,
            logger=logging.getLogger("agent.channels.slack.bolt"),
        )
    except BoltError:
        raise ProviderError(
            "Slack did not accept the bot token (auth.test failed); copy the Bot User OAuth "
            "Token (xoxb-...) from the app's 'OAuth & Permissions' page into SLACK_BOT_TOKEN."
        ) from None
    except (SlackClientError, OSError) as exc:
        raise ProviderError(
            f"Slack could not be reached to check the bot token ({type(exc).__name__}); "
            "check the network connection and try again."
        ) from None
    the_desk = desk or SlackDesk(secretary, client)

    def teller(respond: Respond) -> Callable[[str], None]:
        def tell(text: str) -> None:
            try:
                respond(text=text, response_type="ephemeral", replace_original=False)
            except Exception as exc:  # noqa: BLE001 - a lost notice must not break the handler
                log.warning("slack: could not answer by response_url: %s", type(exc).__name__)

        return tell

    @app.event("message")
    def on_dm(body: dict[str, Any], event: dict[str, Any]) -> None:
        # Edits, deletions, joins and bot posts are message subtypes: not instructions.
        if event.get("channel_type") != "im" or event.get("subtype"):
            return
        the_desk.on_message(event, str(body.get("event_id") or ""))

    @app.event("app_mention")
    def on_mention(body: dict[str, Any], event: dict[str, Any]) -> None:
        if event.get("subtype"):
            return
        the_desk.on_message(event, str(body.get("event_id") or ""))

    @app.action(APPROVE)
    def on_approve(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()  # within Slack's three seconds; the action runs afterwards
        the_desk.on_approve(body, teller(respond))

    @app.action(EDIT)
    def on_edit(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        the_desk.open_modal(body, EDIT, teller(respond))

    @app.action(REJECT)
    def on_reject(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        the_desk.open_modal(body, REJECT, teller(respond))

    def thread_teller(proposal_id: str, user: str) -> Callable[[str], None]:
        # A modal has no response_url: notices go to the card's thread.
        def tell(text: str) -> None:
            channel, thread_ts = the_desk._where(proposal_id)
            if channel:
                the_desk._safe_post(channel, f"<@{user}> {text}", thread_ts)

        return tell

    @app.view(EDIT_VIEW)
    def on_edit_submit(ack: Ack, body: dict[str, Any]) -> None:
        proposal_id, args, errors = the_desk.check_edit(body)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        user = str(body["user"]["id"])
        the_desk.decide(
            proposal_id, Decision(kind="edit", args=args), user, thread_teller(proposal_id, user)
        )

    @app.view(REJECT_VIEW)
    def on_reject_submit(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        view = body["view"]
        proposal_id = str(json.loads(view.get("private_metadata") or "{}").get("proposal", ""))
        reason = ((view["state"]["values"].get("reason") or {}).get("value") or {}).get("value")
        user = str(body["user"]["id"])
        decision = Decision(kind="reject", text=(reason or "").strip() or "rejected in Slack")
        the_desk.decide(proposal_id, decision, user, thread_teller(proposal_id, user))

    @app.command("/secretary")
    def on_command(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()  # the calendar may be remote: answer through response_url when ready
        text = the_desk.command(body)
        teller(respond)(text)

    return app


# ------------------------------------------------------------------ HTTP mode


def add_slack_route(api: FastAPI, app: App, path: str = EVENTS_PATH) -> None:
    """Take Slack's POSTs at ``path`` of ``api`` and hand them to ``app``.

    The request and the answer are translated by slack_bolt's Starlette adapter
    (the one behind ``slack_bolt.adapter.fastapi``); bolt checks each signature.
    The bolt app is synchronous, so its dispatch runs on a worker thread: a
    listener that takes a moment before it acknowledges never stalls the
    event loop that also serves ``/v1``.
    """
    from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import Response

    async def slack_events(request: Request) -> Response:
        body = await request.body()
        answer = await run_in_threadpool(app.dispatch, to_bolt_request(request, body))
        return to_starlette_response(answer)

    # A plain Starlette route: the endpoint takes the raw request, no FastAPI parameters.
    api.add_route(path, slack_events, methods=["POST"], include_in_schema=False)


def open_bot(secretary: Secretary, settings: SlackSettings) -> tuple[SlackDesk, App]:
    """A desk over ``secretary`` and the bolt app delivering to it, with a slack.com client.

    Raises:
        ProviderError: when Slack does not accept the bot token (nothing is left open).
    """
    from slack_sdk import WebClient

    client = WebClient(token=settings.bot_token)
    desk = SlackDesk(secretary, client)
    try:
        return desk, build_app(secretary, settings, client=client, desk=desk)
    except ProviderError:
        desk.close()
        raise


class CardSync:
    """The background loop: post approvals asked elsewhere, update cards decided elsewhere."""

    def __init__(self, desk: SlackDesk, poll: float = 15.0) -> None:
        """Prepare the loop (``start`` runs it).

        Args:
            desk: The desk whose cards are kept up to date.
            poll: Seconds between two rounds.
        """
        self.desk = desk
        self.poll = poll
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="slack-sync", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.desk.sync()
            self._stop.wait(self.poll)

    def start(self) -> None:
        """Run the loop on its own thread."""
        self._thread.start()

    def stop(self) -> None:
        """End the loop, waiting a little for a round in progress."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
