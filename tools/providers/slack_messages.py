"""Direct messages to staff on Slack, for actions such as delegating a task.

The bot token is the one the Slack bot runs with (``SLACK_BOT_TOKEN``);
``SLACK_API_URL`` points the client at another Web API base (a loopback
stand-in in tests). Without a token there is no messenger, and tools that need
one say how to connect Slack.

Slack has no idempotency key for ``chat.postMessage``. Each message therefore
carries the action's key in its message metadata, and before posting the
messenger looks for that key among the recent messages of the conversation, so
a retried action finds the message it posted the first time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tools.providers.base import ProviderError

if TYPE_CHECKING:
    from slack_sdk import WebClient

EVENT_TYPE = "secretary_action"
_LOOKBACK = 100


class SlackMessenger:
    """Posts direct messages as the Secretary's bot user, at most once per key."""

    def __init__(self, token: str, base_url: str = "") -> None:
        """Prepare a Web API client (nothing is sent until the first message).

        Args:
            token: The bot token (``xoxb-...``).
            base_url: Web API base URL; default Slack's own.
        """
        self._token = token
        self._base_url = base_url
        self._client: WebClient | None = None

    def _web(self) -> WebClient:
        if self._client is None:
            from slack_sdk import WebClient

            kwargs: dict[str, Any] = {"token": self._token, "timeout": 15}
            if self._base_url:
                kwargs["base_url"] = self._base_url
            self._client = WebClient(**kwargs)
        return self._client

    def _call(self, method: str, **params: Any) -> dict[str, Any]:
        from slack_sdk.errors import SlackApiError, SlackClientError

        try:
            response = self._web().api_call(method, json=params)
        except SlackApiError as exc:
            error = exc.response.get("error", "unknown error") if exc.response else "unknown"
            raise ProviderError(
                f"Slack refused {method} ({error}); check the bot's scopes (chat:write, "
                "im:write, im:history) and that the user id is right."
            ) from None
        except (SlackClientError, OSError) as exc:
            raise ProviderError(f"Slack could not be reached ({exc}); try again later.") from None
        return dict(response.data) if isinstance(response.data, dict) else {}

    def direct_message(self, user_id: str, text: str, idempotency_key: str) -> str:
        """Send ``text`` to ``user_id`` in a DM, once per key; returns the message's ``ts``.

        Raises:
            ProviderError: Slack refused the call or could not be reached.
        """
        opened = self._call("conversations.open", users=user_id)
        channel = str((opened.get("channel") or {}).get("id") or "")
        if not channel:
            raise ProviderError(f"Slack opened no conversation with {user_id}; check the user id.")
        if idempotency_key:
            history = self._call(
                "conversations.history",
                channel=channel,
                limit=_LOOKBACK,
                include_all_metadata=True,
            )
            for message in history.get("messages") or []:
                meta = message.get("metadata") or {}
                payload = meta.get("event_payload") or {}
                if meta.get("event_type") == EVENT_TYPE and payload.get("key") == idempotency_key:
                    return str(message.get("ts") or "")
        posted = self._call(
            "chat.postMessage",
            channel=channel,
            text=text,
            metadata={"event_type": EVENT_TYPE, "event_payload": {"key": idempotency_key}},
        )
        return str(posted.get("ts") or "")


def open_slack(token: str | None, api_url: str | None = None) -> SlackMessenger | None:
    """The messenger for the bot token (``Settings.slack_bot_token``), or None without one."""
    token = (token or "").strip()
    if not token:
        return None
    return SlackMessenger(token, (api_url or "").strip())
