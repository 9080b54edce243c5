"""A loopback Slack Web API stand-in: the methods the bot calls, recorded for the tests.

``WebClient(base_url=standin.api_url)`` talks to it. It answers ``auth.test``,
``chat.postMessage``, ``chat.update``, ``views.open``, ``conversations.open``
and ``conversations.history`` like Slack does (``ok``, a ``ts`` per message), checks
the bearer token, and takes ``response_url`` POSTs on ``/respond/<n>``.
Every call is kept in ``calls`` as (method, payload).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

BOT_USER = "UBOT"
TOKEN = "xoxb-test-token"


class SlackStandIn:
    """The recorded Web API; start with :func:`running`."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.history: dict[str, list[dict[str, Any]]] = {}
        """Messages posted per channel, newest first (``conversations.history``)."""
        self._cond = threading.Condition()
        self._ts = itertools.count(1)
        self._respond = itertools.count(1)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.api_url = self.url + "api/"

    def response_url(self) -> str:
        """A fresh response_url for one interaction payload."""
        return f"{self.url}respond/{next(self._respond)}"

    # ------------------------------------------------------------ queries
    def of(self, method: str) -> list[dict[str, Any]]:
        """The payloads of every call of ``method`` so far."""
        with self._cond:
            return [p for m, p in self.calls if m == method]

    def wait_for(
        self,
        method: str,
        match: Callable[[dict[str, Any]], bool] = lambda _p: True,
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """The first call of ``method`` that matches, waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for m, p in self.calls:
                    if m == method and match(p):
                        return p
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [m for m, _ in self.calls]
                    raise AssertionError(f"no matching {method} within {timeout}s; saw {seen}")
                self._cond.wait(left)

    # ------------------------------------------------------------ server
    def _record(self, method: str, payload: dict[str, Any]) -> None:
        with self._cond:
            self.calls.append((method, payload))
            self._cond.notify_all()

    def _answer(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "user_id": BOT_USER,
                "bot_id": "BBOT",
                "team_id": "T1",
                "user": "secretary",
                "team": "Test",
                "url": "https://test.slack.com/",
            }
        if method == "chat.postMessage":
            ts = f"1800000000.{next(self._ts):06d}"
            channel = str(payload.get("channel"))
            message = {"text": payload.get("text"), "ts": ts}
            if payload.get("metadata"):
                message["metadata"] = payload["metadata"]
            self.history.setdefault(channel, []).insert(0, message)
            return {
                "ok": True,
                "channel": payload.get("channel"),
                "ts": ts,
                "message": {"text": payload.get("text"), "ts": ts},
            }
        if method == "chat.update":
            return {"ok": True, "channel": payload.get("channel"), "ts": payload.get("ts")}
        if method == "views.open":
            return {"ok": True, "view": {"id": "V1", **(payload.get("view") or {})}}
        if method == "conversations.history":
            found = self.history.get(str(payload.get("channel")), [])
            if not payload.get("include_all_metadata"):
                found = [{k: v for k, v in m.items() if k != "metadata"} for m in found]
            return {"ok": True, "messages": found[: int(payload.get("limit") or 100)]}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(payload.get("users", "X"))[1:]}}
        return {"ok": False, "error": "unknown_method"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                url = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if "json" in (self.headers.get("Content-Type") or ""):
                    payload = json.loads(raw or "{}")
                else:
                    payload = {k: v[0] for k, v in parse_qs(raw).items()}
                    payload.update({k: v[0] for k, v in parse_qs(url.query).items()})
                    for key in ("blocks", "view"):
                        if isinstance(payload.get(key), str):
                            payload[key] = json.loads(payload[key])
                if url.path.startswith("/respond/"):
                    standin._record("response_url", {"url": url.path, **payload})
                    self._send({"ok": True})
                    return
                method = url.path.removeprefix("/api/")
                if self.headers.get("Authorization") != f"Bearer {standin.token}":
                    self._send({"ok": False, "error": "invalid_auth"})
                    return
                standin._record(method, payload)
                self._send(standin._answer(method, payload))

            def _send(self, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        return Handler


@contextmanager
def running(token: str = TOKEN) -> Iterator[SlackStandIn]:
    """A stand-in serving on a free loopback port for the duration of the block."""
    standin = SlackStandIn(token)
    thread = threading.Thread(
        target=standin.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield standin
    finally:
        standin.server.shutdown()
        standin.server.server_close()
        thread.join(timeout=5)
