"""A loopback stand-in for the Gmail API and Google's OAuth endpoints, for tests.

It speaks the real wire protocol closely enough that the real client libraries
talk to it unchanged: google-api-python-client builds its URLs from the
static discovery document (``/gmail/v1/users/me/...``), google-auth refreshes
tokens with a form POST to ``/token``, and google-auth-oauthlib's installed-app
flow is sent to ``/o/oauth2/auth``, which redirects the "browser" back to the
flow's loopback server with a code (PKCE S256 is checked).

The mailbox lives in memory: messages (raw bytes, labels, thread), a history
of ``messageAdded`` records, and the tokens issued. Tests may make requests
fail (``fail_next``), expire access tokens or history, and revoke the grant.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import secrets
import shlex
import threading
import time
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

SYSTEM_LABELS = ["INBOX", "SENT", "DRAFT", "SPAM", "TRASH", "UNREAD", "STARRED", "IMPORTANT"]


@dataclass
class StoredMessage:
    """One message as the stand-in keeps it."""

    id: str
    thread_id: str
    raw: bytes
    labels: list[str]
    internal_ms: int
    history_id: int
    headers: list[tuple[str, str]] = field(default_factory=list)

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class GoogleStandIn:
    """Gmail API + OAuth token endpoint on 127.0.0.1, on a free port, in a thread."""

    def __init__(
        self,
        address: str = "ada@example.com",
        *,
        client_id: str = "standin-client.apps.example",
        client_secret: str = "standin-client-secret-6f1e",
        token_lifetime: int = 3600,
    ) -> None:
        self.address = address
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_lifetime = token_lifetime
        self.lock = threading.RLock()
        self.messages: dict[str, StoredMessage] = {}
        self.history: list[dict[str, Any]] = []
        self.history_id = 1000
        self.oldest_history = 0
        self.labels: dict[str, str] = {name: name for name in SYSTEM_LABELS}
        self.access_tokens: dict[str, float] = {}
        self.refresh_tokens: set[str] = set()
        self.codes: dict[str, dict[str, str]] = {}
        self.requests: list[tuple[str, str]] = []
        self.reads: list[tuple[str, str]] = []
        """(Gmail id, format) of every messages.get, to tell header reads from body reads."""
        self.refreshes = 0
        self.outbox: list[dict[str, Any]] = []
        self.send_bodies: list[dict[str, Any]] = []
        self._failures: list[tuple[int, dict[str, str]]] = []
        self._ids = itertools.count(0x18C0_0000_0000_0000)
        self._clock_ms = 1_717_000_000_000
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    # ------------------------------------------------------------ control

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    @property
    def token_uri(self) -> str:
        return self.url + "token"

    @property
    def auth_uri(self) -> str:
        return self.url + "o/oauth2/auth"

    def __enter__(self) -> GoogleStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def write_client_secrets(self, path: Path) -> Path:
        """A client secrets file (type installed) whose endpoints point here."""
        path.write_text(
            json.dumps(
                {
                    "installed": {
                        "client_id": self.client_id,
                        "client_secret": self.client_secret,
                        "auth_uri": self.auth_uri,
                        "token_uri": self.token_uri,
                        "redirect_uris": ["http://localhost"],
                    }
                }
            ),
            encoding="utf-8",
        )
        return path

    def issue_tokens(self, lifetime: int | None = None) -> tuple[str, str]:
        """An access and a refresh token, as if the principal had consented."""
        with self.lock:
            access = "ya29.standin-" + secrets.token_hex(8)
            refresh = "1//standin-" + secrets.token_hex(8)
            life = self.token_lifetime if lifetime is None else lifetime
            self.access_tokens[access] = time.time() + life
            self.refresh_tokens.add(refresh)
            return access, refresh

    def expire_access_tokens(self) -> None:
        with self.lock:
            self.access_tokens.clear()

    def revoke(self) -> None:
        """The principal removed the app's access: every token stops working."""
        with self.lock:
            self.access_tokens.clear()
            self.refresh_tokens.clear()

    def expire_history(self) -> None:
        """History older than now is gone (Gmail keeps it about a week)."""
        with self.lock:
            self.oldest_history = self.history_id

    def fail_next(self, status: int, count: int = 1, headers: dict[str, str] | None = None) -> None:
        """The next ``count`` Gmail API requests answer ``status``."""
        with self.lock:
            self._failures.extend([(status, dict(headers or {}))] * count)

    def api_requests(self) -> list[tuple[str, str]]:
        """(method, path) of the Gmail API requests received so far."""
        with self.lock:
            return [r for r in self.requests if r[1].startswith("/gmail/")]

    # ------------------------------------------------------------ mailbox

    def _next_history(self) -> int:
        self.history_id += 1
        return self.history_id

    def _store(
        self, raw: bytes, labels: list[str], thread_id: str = "", *, incoming: bool = False
    ) -> StoredMessage:
        with self.lock:
            parsed = BytesParser(policy=policy.default).parsebytes(raw)
            headers = [(k, " ".join(str(v).split())) for k, v in parsed.items()]
            try:
                internal = int(parsedate_to_datetime(str(parsed["Date"])).timestamp() * 1000)
            except (TypeError, ValueError):
                self._clock_ms += 1000
                internal = self._clock_ms
            gid = f"{next(self._ids):016x}"
            if thread_id and not any(m.thread_id == thread_id for m in self.messages.values()):
                thread_id = ""
            # Like Gmail: incoming mail joins a conversation by its headers; what the
            # API sends or drafts joins one only when the request names the threadId.
            if not thread_id:
                thread_id = (self._thread_by_headers(parsed) if incoming else "") or gid
            msg = StoredMessage(
                id=gid,
                thread_id=thread_id,
                raw=raw,
                labels=list(labels),
                internal_ms=internal,
                history_id=self._next_history(),
                headers=headers,
            )
            self.messages[gid] = msg
            self.history.append(
                {
                    "id": str(msg.history_id),
                    "messages": [{"id": gid, "threadId": thread_id}],
                    "messagesAdded": [{"message": self._minimal(msg)}],
                }
            )
            return msg

    def _thread_by_headers(self, parsed: Any) -> str:
        refs = f"{parsed.get('In-Reply-To', '')} {parsed.get('References', '')}".split()
        for m in self.messages.values():
            if m.header("Message-ID") and m.header("Message-ID") in refs:
                return m.thread_id
        return ""

    def deliver(self, raw: bytes, labels: tuple[str, ...] = ("INBOX", "UNREAD")) -> str:
        """Mail arriving from outside; returns its Gmail id."""
        return self._store(raw, list(labels), incoming=True).id

    def _minimal(self, m: StoredMessage) -> dict[str, Any]:
        return {"id": m.id, "threadId": m.thread_id, "labelIds": list(m.labels)}

    def _resource(self, m: StoredMessage, fmt: str, wanted: list[str]) -> dict[str, Any]:
        body_start = m.raw.find(b"\n\n")
        text = m.raw[body_start:].decode("utf-8", "replace") if body_start >= 0 else ""
        out: dict[str, Any] = {
            **self._minimal(m),
            "snippet": " ".join(text.split())[:100].replace("'", "&#39;"),
            "historyId": str(m.history_id),
            "internalDate": str(m.internal_ms),
            "sizeEstimate": len(m.raw),
        }
        if fmt == "raw":
            out["raw"] = _b64(m.raw)
        elif fmt in ("metadata", "full"):
            names = {w.lower() for w in wanted}
            out["payload"] = {
                "headers": [
                    {"name": k, "value": v}
                    for k, v in m.headers
                    if fmt == "full" or not names or k.lower() in names
                ]
            }
        return out

    def _matches(self, m: StoredMessage, q: str, include_spam_trash: bool) -> bool:
        try:
            terms = shlex.split(q)
        except ValueError:
            terms = q.split()
        hidden = {"SPAM", "TRASH"} & set(m.labels)
        haystack = m.raw.decode("utf-8", "replace").casefold()
        for term in terms:
            op, _, value = term.partition(":")
            op = op.lower()
            if op == "rfc822msgid" and value:
                if m.header("Message-ID").strip("<>") != value.strip("<>"):
                    return False
            elif op == "from" and value:
                if value.casefold() not in m.header("From").casefold():
                    return False
            elif op == "after" and value:
                if m.internal_ms < int(value) * 1000:
                    return False
            elif op == "in" and value:
                if value.lower() == "anywhere":
                    include_spam_trash = True
                elif value.upper().rstrip("S") not in [lab.rstrip("S") for lab in m.labels]:
                    return False
            elif term.casefold() not in haystack:
                return False
        return include_spam_trash or not hidden

    # ------------------------------------------------------------ HTTP

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def _send(
                self, status: int, payload: Any, headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(payload).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _error(self, status: int, message: str, reason: str = "", **headers: str) -> None:
                errors = [{"reason": reason, "message": message}] if reason else []
                self._send(
                    status,
                    {"error": {"code": status, "message": message, "errors": errors}},
                    headers,
                )

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def do_GET(self) -> None:  # noqa: N802
                self._dispatch("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._dispatch("POST")

            def _dispatch(self, method: str) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                with standin.lock:
                    standin.requests.append((method, parts.path))
                try:
                    if parts.path == "/o/oauth2/auth":
                        return self._authorize(query)
                    if parts.path == "/token" and method == "POST":
                        return self._token()
                    if parts.path.startswith("/gmail/v1/users/me/"):
                        return self._gmail(method, parts.path[len("/gmail/v1/users/me/") :], query)
                    self._error(404, "Not Found")
                except Exception as exc:  # a stand-in bug must show up as a 500, not a hang
                    self._error(500, f"stand-in failure: {exc!r}")

            # ------------------------------------------------ OAuth

            def _authorize(self, q: dict[str, list[str]]) -> None:
                one = {k: v[0] for k, v in q.items()}
                if one.get("client_id") != standin.client_id:
                    return self._error(400, "invalid_client")
                code = "4/standin-" + secrets.token_hex(8)
                with standin.lock:
                    standin.codes[code] = one
                target = (
                    one["redirect_uri"]
                    + "?"
                    + urlencode(
                        {"state": one.get("state", ""), "code": code, "scope": one.get("scope", "")}
                    )
                )
                self.send_response(302)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _client_ok(self, form: dict[str, str]) -> bool:
                cid, secret = form.get("client_id"), form.get("client_secret")
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
                return cid == standin.client_id and secret == standin.client_secret

            def _token(self) -> None:
                form = {k: v[0] for k, v in parse_qs(self._body().decode()).items()}
                if not self._client_ok(form):
                    return self._send(401, {"error": "invalid_client"})
                grant = form.get("grant_type")
                with standin.lock:
                    if grant == "authorization_code":
                        asked = standin.codes.pop(form.get("code", ""), None)
                        verifier = form.get("code_verifier", "")
                        digest = hashlib.sha256(verifier.encode()).digest()
                        challenge = base64.urlsafe_b64encode(digest).decode().rstrip("=")
                        if (
                            asked is None
                            or asked.get("redirect_uri") != form.get("redirect_uri")
                            or asked.get("code_challenge") != challenge
                        ):
                            return self._send(400, {"error": "invalid_grant"})
                        access, refresh = standin.issue_tokens()
                        return self._send(
                            200,
                            {
                                "access_token": access,
                                "refresh_token": refresh,
                                "expires_in": standin.token_lifetime,
                                "scope": asked.get("scope", ""),
                                "token_type": "Bearer",
                            },
                        )
                    if grant == "refresh_token":
                        if form.get("refresh_token") not in standin.refresh_tokens:
                            return self._send(
                                400,
                                {"error": "invalid_grant", "error_description": "Token revoked"},
                            )
                        standin.refreshes += 1
                        access = "ya29.standin-" + secrets.token_hex(8)
                        standin.access_tokens[access] = time.time() + standin.token_lifetime
                        return self._send(
                            200,
                            {
                                "access_token": access,
                                "expires_in": standin.token_lifetime,
                                "token_type": "Bearer",
                            },
                        )
                self._send(400, {"error": "unsupported_grant_type"})

            # ------------------------------------------------ Gmail

            def _gmail(self, method: str, path: str, q: dict[str, list[str]]) -> None:
                bearer = self.headers.get("Authorization", "").removeprefix("Bearer ")
                with standin.lock:
                    expiry = standin.access_tokens.get(bearer)
                    if expiry is None or expiry < time.time():
                        return self._error(
                            401, "Request had invalid authentication credentials.", "authError"
                        )
                    if standin._failures:
                        status, headers = standin._failures.pop(0)
                        reason = "rateLimitExceeded" if status == 429 else "backendError"
                        return self._error(status, "Injected failure", reason, **headers)
                body = json.loads(self._body() or b"{}") if method == "POST" else {}
                one = {k: v[0] for k, v in q.items()}
                seg = path.split("/")
                with standin.lock:
                    if path == "profile":
                        return self._send(
                            200,
                            {
                                "emailAddress": standin.address,
                                "messagesTotal": len(standin.messages),
                                "historyId": str(standin.history_id),
                            },
                        )
                    if path == "messages" and method == "GET":
                        return self._list(one, q.get("labelIds", []))
                    if path == "messages/send" and method == "POST":
                        return self._send_message(body)
                    if path == "drafts" and method == "POST":
                        msg = standin._store(
                            _unb64(body["message"]["raw"]),
                            ["DRAFT"],
                            body["message"].get("threadId", ""),
                        )
                        return self._send(
                            200, {"id": "r" + msg.id, "message": standin._minimal(msg)}
                        )
                    if seg[0] == "messages" and len(seg) == 2 and method == "GET":
                        m = standin.messages.get(seg[1])
                        if m is None:
                            return self._error(404, "Requested entity was not found.", "notFound")
                        fmt = one.get("format", "full")
                        standin.reads.append((m.id, fmt))
                        return self._send(
                            200, standin._resource(m, fmt, q.get("metadataHeaders", []))
                        )
                    if seg[0] == "messages" and len(seg) == 3 and seg[2] == "modify":
                        m = standin.messages.get(seg[1])
                        if m is None:
                            return self._error(404, "Requested entity was not found.", "notFound")
                        removed = set(body.get("removeLabelIds", []))
                        m.labels = [lab for lab in m.labels if lab not in removed]
                        m.labels += [
                            lab for lab in body.get("addLabelIds", []) if lab not in m.labels
                        ]
                        standin._next_history()
                        return self._send(200, standin._minimal(m))
                    if seg[0] == "threads" and len(seg) == 2 and method == "GET":
                        members = [m for m in standin.messages.values() if m.thread_id == seg[1]]
                        if not members:
                            return self._error(404, "Requested entity was not found.", "notFound")
                        members.sort(key=lambda m: m.internal_ms)
                        fmt = one.get("format", "full")
                        return self._send(
                            200,
                            {
                                "id": seg[1],
                                "historyId": str(standin.history_id),
                                "messages": [standin._resource(m, fmt, []) for m in members],
                            },
                        )
                    if path == "history" and method == "GET":
                        return self._history(one)
                    if path == "labels" and method == "GET":
                        labels = [{"id": i, "name": n} for i, n in standin.labels.items()]
                        return self._send(200, {"labels": labels})
                    if path == "labels" and method == "POST":
                        lid = f"Label_{len(standin.labels)}"
                        standin.labels[lid] = body["name"]
                        return self._send(200, {"id": lid, "name": body["name"]})
                self._error(404, "Not Found", "notFound")

            def _page(self, items: list[Any], one: dict[str, str], default: int) -> dict[str, Any]:
                start = int(one.get("pageToken") or 0)
                size = int(one.get("maxResults") or default)
                out: dict[str, Any] = {}
                if start + size < len(items):
                    out["nextPageToken"] = str(start + size)
                out["items"] = items[start : start + size]
                return out

            def _list(self, one: dict[str, str], label_ids: list[str]) -> None:
                spam_trash = one.get("includeSpamTrash") == "true"
                hits = [
                    m
                    for m in standin.messages.values()
                    if all(lab in m.labels for lab in label_ids)
                    and standin._matches(m, one.get("q", ""), spam_trash)
                ]
                hits.sort(key=lambda m: (m.internal_ms, m.id), reverse=True)
                page = self._page([{"id": m.id, "threadId": m.thread_id} for m in hits], one, 100)
                out: dict[str, Any] = {"resultSizeEstimate": len(hits)}
                if page["items"]:
                    out["messages"] = page["items"]
                if "nextPageToken" in page:
                    out["nextPageToken"] = page["nextPageToken"]
                self._send(200, out)

            def _send_message(self, body: dict[str, Any]) -> None:
                standin.send_bodies.append(body)
                raw = _unb64(body["raw"])
                parsed = BytesParser(policy=policy.default).parsebytes(raw)
                rcpt = [
                    a
                    for _, a in getaddresses(
                        [str(parsed.get(h, "")) for h in ("To", "Cc", "Bcc") if parsed.get(h)]
                    )
                    if a
                ]
                if not rcpt:
                    return self._error(400, "Recipient address required", "invalidArgument")
                labels = ["SENT"]
                if standin.address.lower() in (a.lower() for a in rcpt):
                    labels.append("INBOX")
                msg = standin._store(raw, labels, body.get("threadId", ""))
                # What recipients receive: the Bcc header stripped, as Gmail does.
                del parsed["Bcc"]
                standin.outbox.append({"recipients": rcpt, "raw": parsed.as_bytes()})
                self._send(200, standin._minimal(msg))

            def _history(self, one: dict[str, str]) -> None:
                start = int(one["startHistoryId"])
                if start < standin.oldest_history:
                    return self._error(404, "Requested entity was not found.", "notFound")
                label = one.get("labelId", "")
                records = []
                for rec in standin.history:
                    if int(rec["id"]) <= start:
                        continue
                    added = [
                        a
                        for a in rec["messagesAdded"]
                        if not label
                        or label in standin.messages.get(a["message"]["id"], _GONE).labels
                    ]
                    if added:
                        records.append({**rec, "messagesAdded": added})
                page = self._page(records, one, 100)
                out: dict[str, Any] = {"historyId": str(standin.history_id)}
                if page["items"]:
                    out["history"] = page["items"]
                if "nextPageToken" in page:
                    out["nextPageToken"] = page["nextPageToken"]
                self._send(200, out)

        return Handler


_GONE = StoredMessage(id="", thread_id="", raw=b"", labels=[], internal_ms=0, history_id=0)
