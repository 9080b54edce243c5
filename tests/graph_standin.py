"""A loopback Microsoft 365 tenant: sign-in (OIDC, tokens, device code) and Graph mail in memory.

An HTTPS server on 127.0.0.1 (certificate from a ``trustme`` CA written to
``ca_file``) answers what msal and the Graph mail provider use:

* ``/{tenant}/v2.0/.well-known/openid-configuration``, ``/{tenant}/oauth2/v2.0/token``
  (client credentials, device code, refresh token) and ``/{tenant}/oauth2/v2.0/devicecode``;
* ``/v1.0/me/...`` and ``/v1.0/users/{upn}/...``: well-known mail folders, message
  listings with ``$filter`` / ``$search`` / ``$select`` / ``$top`` and ``$skip`` paging,
  ``$value`` (MIME), ``sendMail`` and draft creation from base64 MIME, and the
  ``messages/delta`` query with next and delta links.

All mailboxes share one store, so a message sent by one user lands in the
inboxes of the recipients. Knobs for tests: ``throttle(n)`` (answer 429 with
Retry-After), ``revoke_access_tokens()``, ``expire_delta_tokens()``,
``device_pending`` (authorization_pending answers before success). Every
request is recorded in ``seen``.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import re
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, make_msgid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import trustme

FOLDERS = ("inbox", "sentitems", "drafts")
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
RESERVED_SCOPES = {"openid", "profile", "offline_access"}


@dataclass
class Seen:
    """One request as the stand-in received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    form: dict[str, str] = field(default_factory=dict)


@dataclass
class Stored:
    """One message in one mailbox folder."""

    id: str
    mailbox: str
    folder: str
    raw: bytes
    seq: int
    received: datetime
    conversation_id: str
    is_draft: bool = False

    @property
    def mime(self) -> EmailMessage:
        msg = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        return msg

    def header(self, name: str) -> str:
        value = self.mime.get(name)
        return str(value) if value is not None else ""

    @property
    def internet_message_id(self) -> str:
        return self.header("Message-ID").strip()

    def body_text(self) -> str:
        part = self.mime.get_body(preferencelist=("plain", "html"))
        return str(part.get_content()) if part is not None else ""

    def as_json(self) -> dict[str, Any]:
        def people(name: str) -> list[dict[str, Any]]:
            return [
                {"emailAddress": {"name": n or a, "address": a}}
                for n, a in getaddresses([self.header(name)])
                if a
            ]

        sender = people("From")
        stamp = self.received.strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "id": self.id,
            "internetMessageId": self.internet_message_id,
            "subject": self.header("Subject"),
            "from": sender[0] if sender else None,
            "sender": sender[0] if sender else None,
            "toRecipients": people("To"),
            "ccRecipients": people("Cc"),
            "bccRecipients": people("Bcc"),
            "receivedDateTime": stamp,
            "sentDateTime": stamp,
            "bodyPreview": " ".join(self.body_text().split())[:255],
            "conversationId": self.conversation_id,
            "parentFolderId": folder_id(self.mailbox, self.folder),
            "isDraft": self.is_draft,
        }


def folder_id(mailbox: str, folder: str) -> str:
    return f"folder-{folder}-{uuid.uuid5(uuid.NAMESPACE_URL, mailbox).hex[:12]}"


def _b64url(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class GraphStandIn:
    """The tenant and its Graph mail endpoints (``start()`` serves, ``close()`` stops)."""

    def __init__(
        self,
        tmp_path: Path,
        *,
        tenant: str = "loopback-tenant",
        client_id: str = "secretary-test-app",
        client_secret: str = "s3cret-value",
        device_user: str = "ada@example.com",
    ) -> None:
        self.tenant = tenant
        self.tenant_id = str(uuid.uuid5(uuid.NAMESPACE_DNS, tenant))
        self.client_id = client_id
        self.client_secret = client_secret
        self.device_user = device_user
        self.device_pending = 1
        self.device_interval = 0
        self.token_lifetime = 3600
        self.seen: list[Seen] = []
        self.issued: list[str] = []  # every access and refresh token handed out
        self._lock = threading.RLock()
        self._messages: list[Stored] = []
        self._seq = itertools.count(1)
        self._clock = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
        self._access: dict[str, tuple[str | None, float]] = {}  # token -> (user or app, expiry)
        self._refresh: dict[str, str] = {}  # refresh token -> user
        self._devices: dict[str, list[Any]] = {}  # device code -> [pending answers left, scope]
        self._throttle_left = 0
        self._retry_after = "1"
        self._throttle_status = 429
        self._delta_epoch = 0
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_file = tmp_path / "loopback-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(context)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._server.standin = self  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]
        self.base = f"https://127.0.0.1:{self.port}"
        self.authority = f"{self.base}/{tenant}"
        self.graph_url = f"{self.base}/v1.0"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> GraphStandIn:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ------------------------------------------------------------- knobs

    def throttle(self, requests: int, retry_after: str = "1", status: int = 429) -> None:
        """Answer the next ``requests`` Graph requests with ``status`` and this Retry-After."""
        with self._lock:
            self._throttle_left = requests
            self._retry_after = retry_after
            self._throttle_status = status

    def revoke_access_tokens(self) -> None:
        """Every access token issued so far is refused from now on (refresh tokens stay)."""
        with self._lock:
            self._access.clear()

    def expire_delta_tokens(self) -> None:
        """Delta and next links issued so far answer 410 (sync state gone)."""
        with self._lock:
            self._delta_epoch += 1

    def token_grants(self) -> list[str]:
        """The grant types of every token request, in order."""
        return [s.form.get("grant_type", "") for s in self.seen if s.path.endswith("/token")]

    def graph_requests(self) -> list[Seen]:
        return [s for s in self.seen if s.path.startswith("/v1.0/")]

    # ---------------------------------------------------------- mailboxes

    def _tick(self) -> datetime:
        self._clock += timedelta(minutes=1)
        return self._clock

    def _conversation(self, mailbox: str, mime: EmailMessage) -> str:
        refs = re.findall(
            r"<[^<>]+>", f"{mime.get('In-Reply-To', '')} {mime.get('References', '')}"
        )
        for m in self._messages:
            if m.mailbox == mailbox and m.internet_message_id in refs:
                return m.conversation_id
        return "conv-" + uuid.uuid4().hex

    def deliver(
        self,
        mailbox: str,
        raw: bytes,
        folder: str = "inbox",
        received: datetime | None = None,
        is_draft: bool = False,
    ) -> Stored:
        """Store a message in a mailbox folder as Exchange would (new id, conversation)."""
        with self._lock:
            mime = message_from_bytes(raw, policy=policy.default)
            assert isinstance(mime, EmailMessage)
            if mime.get("Message-ID") is None:
                mime["Message-ID"] = make_msgid(domain="standin.invalid")
                raw = mime.as_bytes()
            stored = Stored(
                id="AAMk" + uuid.uuid4().hex,
                mailbox=mailbox.lower(),
                folder=folder,
                raw=raw,
                seq=next(self._seq),
                received=received or self._tick(),
                conversation_id=self._conversation(mailbox.lower(), mime),
                is_draft=is_draft,
            )
            self._messages.append(stored)
            return stored

    def messages(self, mailbox: str, folder: str | None = None) -> list[Stored]:
        with self._lock:
            return [
                m
                for m in self._messages
                if m.mailbox == mailbox.lower() and (folder is None or m.folder == folder)
            ]

    def remove(self, message_id: str) -> None:
        with self._lock:
            self._messages = [m for m in self._messages if m.id != message_id]

    # --------------------------------------------------------------- auth

    def _issue(self, user: str | None, scope: str) -> dict[str, Any]:
        token = "at-" + uuid.uuid4().hex
        self._access[token] = (user, time.time() + self.token_lifetime)
        self.issued.append(token)
        answer: dict[str, Any] = {
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
            "ext_expires_in": self.token_lifetime,
            "access_token": token,
        }
        if user is None:
            return answer
        refresh = "rt-" + uuid.uuid4().hex
        self._refresh[refresh] = user
        self.issued.append(refresh)
        oid = str(uuid.uuid5(uuid.NAMESPACE_URL, user))
        now = int(time.time())
        claims = {
            "iss": f"{self.authority}/v2.0",
            "sub": oid,
            "oid": oid,
            "tid": self.tenant_id,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 3600,
            "preferred_username": user,
            "name": user.split("@")[0].title(),
        }
        answer.update(
            scope=" ".join(s for s in scope.split() if s not in RESERVED_SCOPES),
            refresh_token=refresh,
            id_token=f"{_b64url({'alg': 'none', 'typ': 'JWT'})}.{_b64url(claims)}.",
            client_info=_b64url({"uid": oid, "utid": self.tenant_id}),
        )
        return answer

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if form.get("client_id") != self.client_id:
                return 400, {"error": "unauthorized_client", "error_description": "Unknown app."}
            grant = form.get("grant_type", "")
            scope = form.get("scope", "")
            if grant == "client_credentials":
                if form.get("client_secret") != self.client_secret:
                    return 401, {
                        "error": "invalid_client",
                        "error_description": "AADSTS7000215: Invalid client secret provided.\n"
                        "Trace ID: 0000",
                    }
                return 200, self._issue(None, scope)
            if grant == DEVICE_GRANT:
                code = form.get("device_code", "")
                if code not in self._devices:
                    return 400, {"error": "expired_token", "error_description": "Unknown code."}
                if self._devices[code][0] > 0:
                    self._devices[code][0] -= 1
                    return 400, {
                        "error": "authorization_pending",
                        "error_description": "The user has not yet finished signing in.",
                    }
                # The scope was fixed when the code was issued, as Entra does.
                _, granted = self._devices.pop(code)
                return 200, self._issue(self.device_user, granted)
            if grant == "refresh_token":
                user = self._refresh.get(form.get("refresh_token", ""))
                if user is None:
                    return 400, {"error": "invalid_grant", "error_description": "Bad token."}
                return 200, self._issue(user, scope)
            return 400, {"error": "unsupported_grant_type", "error_description": grant}

    def device_code(self, form: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            code = "dc-" + uuid.uuid4().hex
            self._devices[code] = [self.device_pending, form.get("scope", "")]
            user_code = uuid.uuid4().hex[:8].upper()
            page = f"{self.base}/devicelogin"
            return {
                "device_code": code,
                "user_code": user_code,
                "verification_uri": page,
                "expires_in": 900,
                "interval": self.device_interval,
                "message": f"To sign in, open {page} and enter the code {user_code}.",
            }

    def openid_configuration(self) -> dict[str, Any]:
        root = f"{self.authority}/oauth2/v2.0"
        return {
            "issuer": f"{self.authority}/v2.0",
            "authorization_endpoint": f"{root}/authorize",
            "token_endpoint": f"{root}/token",
            "device_authorization_endpoint": f"{root}/devicecode",
        }

    # -------------------------------------------------------------- graph

    def graph(self, req: Seen, body: bytes) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            if self._throttle_left > 0:
                self._throttle_left -= 1
                return _json_answer(
                    self._throttle_status,
                    {"error": {"code": "TooManyRequests", "message": "Please retry later."}},
                    {"Retry-After": self._retry_after},
                )
            try:
                return self._route(req, body)
            except GraphError as exc:
                return _json_answer(
                    exc.status, {"error": {"code": exc.code, "message": exc.message}}
                )

    def _caller(self, req: Seen) -> str | None:
        auth = req.headers.get("authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else ""
        grant = self._access.get(token)
        if grant is None or grant[1] < time.time():
            raise GraphError(
                401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid."
            )
        return grant[0]

    def _route(self, req: Seen, body: bytes) -> tuple[int, dict[str, str], bytes]:
        user = self._caller(req)
        parts = [unquote(p) for p in req.path.split("/")[2:]]  # after /v1.0
        if parts[:1] == ["me"]:
            if user is None:
                raise GraphError(
                    400, "BadRequest", "/me request is only valid with delegated authentication."
                )
            mailbox, rest = user, parts[1:]
        elif parts[:1] == ["users"] and len(parts) >= 2:
            mailbox, rest = parts[1].lower(), parts[2:]
            if user is not None and user != mailbox:
                raise GraphError(403, "ErrorAccessDenied", "Access is denied.")
        else:
            raise GraphError(400, "BadRequest", "Resource not found for the segment.")
        method = req.method
        if method == "GET" and len(rest) == 2 and rest[0] == "mailFolders":
            folder = self._folder(rest[1])
            return _json_answer(
                200, _select({"id": folder_id(mailbox, folder), "displayName": folder}, req)
            )
        if method == "GET" and rest[:1] == ["mailFolders"] and rest[2:] == ["messages"]:
            return self._list(req, mailbox, self._folder(rest[1]))
        if method == "GET" and rest[:1] == ["mailFolders"] and rest[2:] == ["messages", "delta"]:
            return self._delta(req, mailbox, self._folder(rest[1]))
        if method == "GET" and rest == ["messages"]:
            return self._list(req, mailbox, None)
        if method == "GET" and rest[:1] == ["messages"] and len(rest) in (2, 3):
            found = [m for m in self.messages(mailbox) if m.id == rest[1]]
            if not found:
                raise GraphError(404, "ErrorItemNotFound", "The specified object was not found.")
            if rest[2:] == ["$value"]:
                return 200, {"Content-Type": "text/plain"}, found[0].raw
            return _json_answer(200, _select(found[0].as_json(), req))
        if method == "POST" and rest == ["sendMail"]:
            self._send(mailbox, self._mime_body(req, body))
            return 202, {}, b""
        if method == "POST" and rest == ["messages"]:
            draft = self.deliver(mailbox, self._mime_body(req, body), "drafts", is_draft=True)
            return _json_answer(201, draft.as_json())
        raise GraphError(400, "BadRequest", "Resource not found for the segment.")

    @staticmethod
    def _folder(name: str) -> str:
        if name.lower() not in FOLDERS:
            raise GraphError(404, "ErrorInvalidIdMalformed", f"Folder {name} not found.")
        return name.lower()

    @staticmethod
    def _mime_body(req: Seen, body: bytes) -> bytes:
        if not req.headers.get("content-type", "").startswith("text/plain"):
            raise GraphError(400, "BadRequest", "Expected a base64 MIME body as text/plain.")
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise GraphError(
                400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME."
            ) from None
        if not raw.strip():
            raise GraphError(400, "ErrorMimeContentInvalid", "The MIME content is empty.")
        return raw

    def _send(self, mailbox: str, raw: bytes) -> None:
        mime = message_from_bytes(raw, policy=policy.default)
        assert isinstance(mime, EmailMessage)
        recipients = [
            a.lower()
            for _, a in getaddresses(
                mime.get_all("To", []) + mime.get_all("Cc", []) + mime.get_all("Bcc", [])
            )
            if a
        ]
        if not recipients:
            raise GraphError(400, "ErrorInvalidRecipients", "At least one recipient is required.")
        sent = self.deliver(mailbox, raw, "sentitems")
        del mime["Bcc"]  # recipients never see Bcc
        delivered = mime.as_bytes()
        for addr in dict.fromkeys(recipients):
            self.deliver(addr, delivered, "inbox", received=sent.received)

    def _matches(self, m: Stored, clauses: list[tuple[str, str, str]], search: str) -> bool:
        data = m.as_json()
        for prop, _op, value in clauses:
            if prop == "receivedDateTime":
                if m.received < datetime.fromisoformat(value):
                    return False
            elif prop == "from/emailAddress/address":
                if (
                    (data["from"] or {}).get("emailAddress", {}).get("address", "")
                ).lower() != value.lower():
                    return False
            elif str(data.get(prop) or "") != value:
                return False
        if search:
            people = " ".join(
                f"{p['emailAddress']['name']} {p['emailAddress']['address']}"
                for p in [data["from"] or {"emailAddress": {"name": "", "address": ""}}]
                + data["toRecipients"]
                + data["ccRecipients"]
            )
            haystack = f"{data['subject']} {people} {m.body_text()}".casefold()
            for term in search.replace(" AND ", " ").split():
                if term.startswith("from:"):
                    sender = data["from"]["emailAddress"] if data["from"] else {}
                    who = f"{sender.get('name', '')} {sender.get('address', '')}".casefold()
                    if term[5:].casefold() not in who:
                        return False
                elif term.startswith("received>="):
                    if m.received.date().isoformat() < term[len("received>=") :]:
                        return False
                elif term.casefold() not in haystack:
                    return False
        return True

    def _list(
        self, req: Seen, mailbox: str, folder: str | None
    ) -> tuple[int, dict[str, str], bytes]:
        query = req.query
        if "$filter" in query and "$search" in query:
            raise GraphError(400, "BadRequest", "$filter is not supported with $search.")
        clauses = _parse_filter(query.get("$filter", ""))
        search = query.get("$search", "")
        if search and not (search.startswith('"') and search.endswith('"')):
            raise GraphError(400, "BadRequest", "Syntax error: $search must be quoted.")
        if "$orderby" in query and query["$orderby"] != "receivedDateTime desc":
            raise GraphError(400, "BadRequest", "Unsupported $orderby.")
        if "$orderby" in query and clauses and clauses[0][0] != "receivedDateTime":
            raise GraphError(
                400, "InefficientFilter", "The restriction or sort order is too complex."
            )
        hits = [
            m
            for m in self.messages(mailbox, folder)
            if self._matches(m, clauses, search.strip('"'))
        ]
        hits.sort(key=lambda m: (m.received, m.seq), reverse=True)
        top = int(query.get("$top", "10"))
        skip = int(query.get("$skip", "0"))
        page = hits[skip : skip + top]
        answer: dict[str, Any] = {"value": [_select(m.as_json(), req) for m in page]}
        if skip + top < len(hits):
            following = dict(query, **{"$skip": str(skip + top)})
            link = urlencode(following, quote_via=quote, safe="$,")
            answer["@odata.nextLink"] = f"{self.base}{req.path}?{link}"
        return _json_answer(200, answer)

    def _delta(self, req: Seen, mailbox: str, folder: str) -> tuple[int, dict[str, str], bytes]:
        query = dict(req.query)
        top_seq = max((m.seq for m in self._messages), default=0)
        since, upto, offset = 0, top_seq, 0
        token = query.pop("$deltatoken", "") or query.pop("$skiptoken", "")
        if token:
            epoch, _, rest = token.partition(".")
            if epoch != f"e{self._delta_epoch}":
                raise GraphError(410, "SyncStateNotFound", "The sync state is no longer valid.")
            numbers = [int(n) for n in rest.split(".")]
            if len(numbers) == 1:
                since = numbers[0]
            else:
                since, upto, offset = numbers
        size = 10
        found = re.search(r"odata\.maxpagesize=(\d+)", req.headers.get("prefer", ""))
        if found:
            size = int(found.group(1))
        # Graph hands delta rounds back newest first; consumers must order them.
        items = sorted(
            (m for m in self.messages(mailbox, folder) if since < m.seq <= upto),
            key=lambda m: m.seq,
            reverse=True,
        )
        page = items[offset : offset + size]
        answer: dict[str, Any] = {"value": [_select(m.as_json(), req) for m in page]}
        link = f"{self.base}{req.path}?"
        if offset + size < len(items):
            skiptoken = f"e{self._delta_epoch}.{since}.{upto}.{offset + size}"
            answer["@odata.nextLink"] = link + urlencode(
                dict(query, **{"$skiptoken": skiptoken}), quote_via=quote, safe="$,"
            )
        else:
            deltatoken = f"e{self._delta_epoch}.{upto}"
            answer["@odata.deltaLink"] = link + urlencode(
                dict(query, **{"$deltatoken": deltatoken}), quote_via=quote, safe="$,"
            )
        return _json_answer(200, answer)


def _parse_filter(text: str) -> list[tuple[str, str, str]]:
    clauses: list[tuple[str, str, str]] = []
    if not text:
        return clauses
    for clause in re.split(r"\s+and\s+(?=(?:[^']*'[^']*')*[^']*$)", text.strip()):
        m = re.fullmatch(r"(\S+)\s+(eq|ge)\s+(.+)", clause.strip())
        if not m:
            raise GraphError(400, "BadRequest", f"Invalid filter clause: {clause}")
        prop, op, value = m.groups()
        if prop == "receivedDateTime" and op == "ge":
            try:
                datetime.fromisoformat(value)
            except ValueError:
                raise GraphError(400, "BadRequest", f"Bad date {value}") from None
            clauses.append((prop, op, value))
            continue
        if op != "eq" or prop not in (
            "internetMessageId",
            "conversationId",
            "from/emailAddress/address",
        ):
            raise GraphError(400, "BadRequest", f"Unsupported filter on {prop}.")
        if not (value.startswith("'") and value.endswith("'")):
            raise GraphError(400, "BadRequest", f"Expected a string literal: {value}")
        clauses.append((prop, op, value[1:-1].replace("''", "'")))
    return clauses


def _select(data: dict[str, Any], req: Seen) -> dict[str, Any]:
    wanted = req.query.get("$select")
    if not wanted:
        return data
    keep = {"id", *wanted.split(",")}
    return {k: v for k, v in data.items() if k in keep}


def _json_answer(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(body).encode(),
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        standin: GraphStandIn = self.server.standin  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        form: dict[str, str] = {}
        if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        req = Seen(self.command, parts.path, query, headers, form)
        standin.seen.append(req)
        oidc = f"/{standin.tenant}"
        if parts.path == f"{oidc}/v2.0/.well-known/openid-configuration":
            self._answer(*_json_answer(200, standin.openid_configuration()))
        elif parts.path == f"{oidc}/oauth2/v2.0/token" and self.command == "POST":
            status, answer = standin.token(form)
            self._answer(*_json_answer(status, answer))
        elif parts.path == f"{oidc}/oauth2/v2.0/devicecode" and self.command == "POST":
            self._answer(*_json_answer(200, standin.device_code(form)))
        elif parts.path.startswith("/v1.0/"):
            self._answer(*standin.graph(req, body))
        else:
            self._answer(*_json_answer(404, {"error": "not_found"}))

    do_GET = _handle
    do_POST = _handle
