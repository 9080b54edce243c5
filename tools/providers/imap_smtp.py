"""Mail over IMAP and SMTP: any standard mailbox (Dovecot, Fastmail, a company server).

Reading, drafts and the sent copy go through IMAP; sending goes through SMTP
submission. An IMAP connection carries one command at a time, and the
provider is shared by threads (the mail desk, Slack DMs, the web inbox), so it
keeps a small pool: each operation borrows a connection of its own (opened on
first need, kept open and reused, reconnected once when the server dropped
it), and at most ``max_connections`` are open, because servers cap
connections per user (Dovecot allows 10 from one address). IDLE holds one
connection while it waits; the others keep serving.

Account settings (the principal's ``accounts.mail`` table):

* ``imap_host`` (required); ``imap_port`` (993 for ``ssl``, else 143);
  ``imap_security``: ``"ssl"`` (default), ``"starttls"`` or ``"none"``.
* ``smtp_host`` (default: ``imap_host``); ``smtp_port`` (587 for ``starttls``,
  465 for ``ssl``, 25 for ``none``); ``smtp_security``: ``"starttls"`` (default),
  ``"ssl"`` or ``"none"``.
* ``username`` (required) and ``password``, better ``password_env`` (an
  environment variable name) or ``password_file`` (a file holding it).
* ``smtp_username`` and ``smtp_password`` / ``smtp_password_env`` /
  ``smtp_password_file`` when SMTP logs in differently (default: the IMAP
  login); ``smtp_username = ""`` sends without AUTH (a trusted relay).
* ``address``: the From address (default: the principal's e-mail).
* ``folders``: server folder names, e.g. ``{inbox = "INBOX", sent = "Sent",
  drafts = "Drafts"}``. Unset ones are discovered by SPECIAL-USE (``\\Sent``,
  ``\\Drafts``) or common names, else ``Sent`` / ``Drafts``, created when first
  written to.
* ``ca_file``: a CA bundle (PEM) to trust, for servers with a private CA.
* ``timeout``: seconds to wait for a server (default 30).
* ``max_connections``: how many IMAP connections the provider may keep open
  at once (default 4); an operation waits for a free one.

Exactly once when sending: SMTP cannot deduplicate, so the Message-ID is
derived from the idempotency key and the Sent folder is the record. Before
sending, Sent is searched for that Message-ID; when it is there, its receipt
is returned and nothing is sent. After the server accepted the message, the
exact bytes are appended to Sent (flagged ``\\Seen``). The window that remains:
if the process dies (or IMAP fails) after the SMTP server accepted the message
but before the APPEND, a retry with the same key sends it a second time.

Bcc recipients are only in the SMTP envelope, never in the headers (the Sent
copy is exactly what recipients got); a draft keeps its Bcc header, as mail
clients do, so it can be finished later. Messages on the server that cannot be
read as e-mail are skipped with a warning, never breaking a listing.
"""

from __future__ import annotations

import imaplib
import logging
import re
import smtplib
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import CapabilityError, IMAPClientAbortError, IMAPClientError, LoginError

from tools.providers.accounts import Account, account_secret, as_table
from tools.providers.base import (
    MailRef,
    Message,
    MessageSummary,
    NotFound,
    OnReset,
    OutgoingMessage,
    ProviderError,
    RawMail,
    SentReceipt,
    SyncReset,
    message_id_of,
)
from tools.providers.local.mail import normalize_message_id
from tools.providers.mime import (
    bare_address,
    build_mime,
    message_id_for_key,
    parse_addresses,
    parse_rfc822,
)

if TYPE_CHECKING:
    from tools.foundation.principals import Principal

log = logging.getLogger(__name__)

Security = Literal["ssl", "starttls", "none"]
T = TypeVar("T")

FOLDERS = ("inbox", "sent", "drafts")
SEEN = b"\\Seen"
SPECIAL_USE = {"sent": rb"\Sent", "drafts": rb"\Drafts"}
DEFAULT_TIMEOUT = 30.0
DEFAULT_CONNECTIONS = 4
BUSY_WAIT = 120.0
"""Seconds an operation waits for a free IMAP connection before it gives up."""
HEADER_BATCH = 500
"""UIDs per FETCH when a folder is listed by Message-ID."""
SYNTHETIC_DOMAIN = "local.invalid"
"""parse_rfc822 gives a message without a Message-ID an id in this domain."""
LISTING_BYTES = 256 * 1024
"""How much of each message a listing reads: headers and the first text part fit."""
THREAD_ROUNDS = 6
THREAD_MAX = 200
SEARCH_BATCH = 50
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_BYTES_REPR = re.compile(r"""^b(['"])(.*)\1$""")


# ------------------------------------------------------------------ settings


@dataclass(frozen=True)
class Endpoint:
    """One server and how to log in to it (the password never appears in a repr)."""

    host: str
    port: int
    security: Security
    username: str
    password: str = field(repr=False)

    @property
    def label(self) -> str:
        """``host:port``, for messages."""
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class ImapSmtpSettings:
    """An account's settings, checked."""

    imap: Endpoint
    smtp: Endpoint
    address: str
    folders: Mapping[str, str] = field(default_factory=dict)
    """Folder names the account names explicitly (inbox/sent/drafts -> server name)."""
    ca_file: str = ""
    timeout: float = DEFAULT_TIMEOUT
    max_connections: int = DEFAULT_CONNECTIONS

    @classmethod
    def from_account(cls, account: Mapping[str, Any], principal: Principal) -> ImapSmtpSettings:
        """Read and check the account table; secrets via :func:`account_secret`.

        Raises:
            ProviderError: naming the first setting that is missing or wrong.
        """
        imap_host = _text(account, "imap_host")
        if not imap_host:
            raise ProviderError(
                "The mail account has no imap_host; add it (e.g. imap.example.com) "
                "to the principal's accounts.mail settings."
            )
        username = _text(account, "username")
        if not username:
            raise ProviderError(
                "The mail account has no username; add the IMAP login name to the "
                "principal's accounts.mail settings."
            )
        password = account_secret(account, "password")
        imap_security = _security(account, "imap_security", "ssl")
        imap = Endpoint(
            imap_host,
            _port(account, "imap_port", 993 if imap_security == "ssl" else 143),
            imap_security,
            username,
            password,
        )
        smtp_security = _security(account, "smtp_security", "starttls")
        smtp_user = _text(account, "smtp_username") if "smtp_username" in account else username
        own_secret = any(
            account.get(k) for k in ("smtp_password", "smtp_password_env", "smtp_password_file")
        )
        if not smtp_user:
            smtp_password = ""
        elif own_secret:
            smtp_password = account_secret(account, "smtp_password")
        else:
            smtp_password = password
        smtp = Endpoint(
            _text(account, "smtp_host") or imap_host,
            _port(account, "smtp_port", {"starttls": 587, "ssl": 465, "none": 25}[smtp_security]),
            smtp_security,
            smtp_user,
            smtp_password,
        )
        address = _text(account, "address") or principal.email
        try:
            address = bare_address(parse_addresses(address)[0])
        except (ValueError, IndexError):
            raise ProviderError(
                f"The mail account's address '{address}' is not an e-mail address; "
                "write it like name@example.com."
            ) from None
        folders = account.get("folders") or {}
        if not isinstance(folders, Mapping) or any(
            k not in FOLDERS or not isinstance(v, str) or not v.strip() for k, v in folders.items()
        ):
            raise ProviderError(
                "The mail account's folders setting must map inbox, sent and drafts to "
                'folder names, e.g. folders = {sent = "Sent Items"}.'
            )
        ca_file = _text(account, "ca_file")
        if ca_file and not Path(ca_file).expanduser().is_file():
            raise ProviderError(
                f"The mail account's ca_file {ca_file} does not exist; point it at a PEM CA bundle."
            )
        raw_timeout = account.get("timeout", DEFAULT_TIMEOUT)
        try:
            timeout = float(raw_timeout)
            if timeout <= 0:
                raise ValueError
        except (TypeError, ValueError):
            raise ProviderError(
                f"The mail account's timeout {raw_timeout!r} must be a positive number of seconds."
            ) from None
        raw_connections = account.get("max_connections", DEFAULT_CONNECTIONS)
        if (
            isinstance(raw_connections, bool)
            or not isinstance(raw_connections, int)
            or not 1 <= raw_connections <= 50
        ):
            raise ProviderError(
                f"The mail account's max_connections {raw_connections!r} must be a whole "
                "number from 1 to 50."
            )
        return cls(
            imap=imap,
            smtp=smtp,
            address=address,
            folders={k: v.strip() for k, v in folders.items()},
            ca_file=str(Path(ca_file).expanduser()) if ca_file else "",
            timeout=timeout,
            max_connections=raw_connections,
        )


def _text(account: Mapping[str, Any], key: str) -> str:
    value = account.get(key, "")
    return value.strip() if isinstance(value, str) else ""


def _security(account: Mapping[str, Any], key: str, default: Security) -> Security:
    value = _text(account, key).lower() or default
    if value == "ssl":
        return "ssl"
    if value == "starttls":
        return "starttls"
    if value == "none":
        return "none"
    raise ProviderError(
        f'The mail account\'s {key} is \'{value}\'; use "ssl", "starttls" or "none".'
    )


def _port(account: Mapping[str, Any], key: str, default: int) -> int:
    value = account.get(key, default)
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = 0
    if isinstance(value, bool) or not 0 < port < 65536:
        raise ProviderError(f"The mail account's {key} {value!r} is not a port number (1-65535).")
    return port


def open_mail(
    account: Account | Mapping[str, Any], principal: Principal, root: Path
) -> ImapSmtpMail:
    """The IMAP/SMTP mail provider for a principal's account settings (connects on first use).

    Args:
        account: The principal's ``accounts.mail`` table (keys in the module docstring).
        principal: Whose mailbox it is (From name, time zone).
        root: The principal's data directory.
    """
    return ImapSmtpMail(
        ImapSmtpSettings.from_account(as_table(account), principal), principal, root
    )


# ------------------------------------------------------------------ provider


class ImapSmtpMail:
    """A :class:`~tools.providers.base.MailProvider` and ``MailSync`` on IMAP + SMTP."""

    def __init__(
        self,
        settings: ImapSmtpSettings,
        principal: Principal,
        root: Path | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """Keep the settings; nothing connects until the first call.

        Args:
            settings: The checked account settings.
            principal: Whose mailbox this is.
            root: The principal's data directory (unused for now; kept for caches).
            clock: Returns 'now' for Date headers; tests pin it. Default: wall clock.
        """
        self.settings = settings
        self.principal = principal
        self.root = root
        self._clock = clock
        self._sender = principal.model_copy(update={"email": settings.address})
        self._slots = threading.BoundedSemaphore(settings.max_connections)
        self._guard = threading.Lock()
        self._free: list[IMAPClient] = []
        """Open connections no operation is using."""
        self._generation = 0
        """Raised by close(): connections borrowed before it are logged out when returned."""
        self._folders: dict[str, str] | None = None
        self._tls: ssl.SSLContext | None = None

    def __repr__(self) -> str:
        imap = self.settings.imap
        return f"ImapSmtpMail({imap.username}@{imap.label})"

    def __enter__(self) -> ImapSmtpMail:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Log out of IMAP (errors while leaving are ignored); later use connects again."""
        with self._guard:
            free, self._free = self._free, []
            self._generation += 1
        for client in free:
            _logout(client)

    # -------------------------------------------------------- connections

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            try:
                self._tls = ssl.create_default_context(cafile=self.settings.ca_file or None)
            except (OSError, ssl.SSLError) as exc:
                raise ProviderError(
                    f"Cannot load the CA bundle {self.settings.ca_file} ({exc}); "
                    "point ca_file at a PEM file."
                ) from None
        return self._tls

    def _connect(self) -> IMAPClient:
        ep = self.settings.imap
        client: IMAPClient | None = None
        try:
            client = IMAPClient(
                ep.host,
                ep.port,
                ssl=ep.security == "ssl",
                ssl_context=self._tls_context() if ep.security == "ssl" else None,
                timeout=self.settings.timeout,
            )
            if ep.security == "starttls":
                client.starttls(self._tls_context())
            client.login(ep.username, ep.password)
        except BaseException as exc:
            if client is not None:
                try:
                    client.shutdown()
                except Exception:
                    pass
            if isinstance(exc, Exception):
                raise self._imap_error(exc, "log in") from None
            raise
        # Aware datetimes from INTERNALDATE, not naive local ones.
        client.normalise_times = False
        return client

    def _imap(self, op: Callable[[IMAPClient], T], what: str) -> T:
        """Run ``op`` on a connection of its own; on a dropped one reconnect and retry once.

        The connection goes back to the pool after a clean answer (a refusal
        included) and is closed after anything else, since it may be left
        mid-command. Every ``op`` is written so that running it twice does no
        harm (appends look for the Message-ID first).
        """
        if not self._slots.acquire(timeout=BUSY_WAIT):
            raise ProviderError(
                f"All {self.settings.max_connections} connections to the IMAP server "
                f"{self.settings.imap.label} stayed busy for {BUSY_WAIT:g} seconds while trying "
                f"to {what}; try again later, or raise max_connections in the mail account."
            )
        try:
            with self._guard:
                client = self._free.pop() if self._free else None
                generation = self._generation
            for attempt in (1, 2):
                if client is None:
                    client = self._connect()
                try:
                    result = op(client)
                except ProviderError:  # op's own verdict after a clean answer
                    self._give_back(client, generation)
                    raise
                except (TimeoutError, ssl.SSLError) as exc:
                    self._discard(client)
                    raise self._imap_error(exc, what) from None
                except (IMAPClientAbortError, imaplib.IMAP4.abort, OSError) as exc:
                    self._discard(client)
                    client = None
                    if attempt == 2:
                        raise self._imap_error(exc, what) from None
                    log.info(
                        "IMAP connection to %s dropped (%s); reconnecting",
                        self.settings.imap.label,
                        exc,
                    )
                except IMAPClientError as exc:  # the server said no; the connection is fine
                    self._give_back(client, generation)
                    raise self._imap_error(exc, what) from None
                except BaseException:
                    self._discard(client)
                    raise
                else:
                    self._give_back(client, generation)
                    return result
            raise AssertionError("unreachable")  # pragma: no cover
        finally:
            self._slots.release()

    def _give_back(self, client: IMAPClient, generation: int) -> None:
        with self._guard:
            if generation == self._generation:
                self._free.append(client)
                return
        _logout(client)  # borrowed before close(): do not keep it

    def _discard(self, client: IMAPClient) -> None:
        self._folders = None
        try:
            client.shutdown()
        except Exception:
            pass

    def _scrub(self, text: str) -> str:
        for secret in {self.settings.imap.password, self.settings.smtp.password}:
            if secret:
                text = text.replace(secret, "***")
        return text

    def _imap_error(self, exc: BaseException, what: str) -> ProviderError:
        ep = self.settings.imap
        where = f"the IMAP server {ep.label}"
        detail = self._scrub(_reason(exc))
        if isinstance(exc, LoginError):
            text = (
                f"{where} refused the login for {ep.username} ({detail}); check username and "
                "password (password_env / password_file) in the mail account settings."
            )
        elif isinstance(exc, CapabilityError):
            text = (
                f'{where} does not offer STARTTLS; set imap_security = "ssl" (port 993), '
                'or "none" only on a trusted network.'
            )
        elif isinstance(exc, ssl.SSLCertVerificationError):
            text = (
                f"Cannot trust the certificate of {where} ({exc.verify_message or detail}); "
                "set ca_file to the CA that signed it, or fix the server's certificate."
            )
        elif isinstance(exc, ssl.SSLError):
            text = (
                f"The TLS handshake with {where} failed ({detail}); check imap_security "
                '("ssl" for port 993, "starttls" for port 143).'
            )
        elif isinstance(exc, ConnectionRefusedError):
            text = (
                f"Cannot connect to {where}: connection refused. Check imap_host and imap_port "
                "and that the server is running."
            )
        elif isinstance(exc, socket.gaierror):
            text = f"Cannot find the IMAP server {ep.host} ({detail}); check imap_host."
        elif isinstance(exc, TimeoutError):
            hint = "try again later"
            if what == "log in":  # a TLS mismatch (STARTTLS on an SSL port) looks like this
                hint = "check imap_port and imap_security, or try again later"
            text = (
                f"{where} did not answer within {self.settings.timeout:g} seconds while trying "
                f"to {what}; {hint}."
            )
        elif isinstance(exc, (IMAPClientAbortError, imaplib.IMAP4.abort, OSError)):
            text = f"The connection to {where} failed while trying to {what} ({detail}); try again."
        else:
            text = f"{where} refused to {what} ({detail})."
        return ProviderError(text[0].upper() + text[1:])

    # ------------------------------------------------------------ folders

    def _folder_map(self, client: IMAPClient) -> dict[str, str]:
        if self._folders is None:
            names = {"inbox": "INBOX"}
            for logical, default in (("sent", "Sent"), ("drafts", "Drafts")):
                if logical in self.settings.folders:
                    continue
                found = client.find_special_folder(SPECIAL_USE[logical])
                if not found:
                    prefix = ""
                    if client.has_capability("NAMESPACE"):
                        personal = client.namespace().personal
                        prefix = personal[0][0] if personal else ""
                    found = f"{prefix}{default}"
                names[logical] = found
            names.update(self.settings.folders)
            self._folders = names
        return self._folders

    def _server_folder(self, client: IMAPClient, folder: str) -> str:
        logical = folder.strip().lower()
        if logical in FOLDERS:
            return self._folder_map(client)[logical]
        if not folder.strip():
            raise ProviderError("A mail folder name is empty; use inbox, sent or drafts.")
        return folder

    def _select(self, client: IMAPClient, folder: str, readonly: bool = True) -> dict[bytes, Any]:
        name = self._server_folder(client, folder)
        try:
            return dict(client.select_folder(name, readonly=readonly))
        except imaplib.IMAP4.abort:
            raise  # a dropped connection, not a missing folder: _imap reconnects
        except IMAPClientError as exc:
            raise ProviderError(
                f"Cannot open the mail folder '{folder}' on {self.settings.imap.label} "
                f"({self._scrub(_reason(exc))}); use inbox, sent, drafts or a folder the "
                "server lists."
            ) from None

    def _ensure_folder(self, client: IMAPClient, name: str) -> None:
        if not client.folder_exists(name):
            client.create_folder(name)
            # Most clients only show subscribed folders.
            try:
                client.subscribe_folder(name)
            except IMAPClientError:
                pass

    # ------------------------------------------------------------ reading

    def _parse(self, uid: int, item: Mapping[bytes, Any], folder: str) -> Message | None:
        raw = _body(item)
        if raw is None:
            return None
        try:
            message = parse_rfc822(raw, folder, self.principal.tz)
        except Exception as exc:  # one bad message on the server must not break the mailbox
            log.warning(
                "Skipping message UID %s in %s on %s: not a readable e-mail (%s)",
                uid,
                folder,
                self.settings.imap.label,
                exc,
            )
            return None
        arrived = item.get(b"INTERNALDATE")
        if message.date is None and isinstance(arrived, datetime) and arrived.tzinfo:
            message = message.model_copy(update={"date": arrived.astimezone(self.principal.tz)})
        return message

    def _fetch(
        self, client: IMAPClient, uids: list[int], folder: str, full: bool
    ) -> list[tuple[int, Message]]:
        """Parsed messages for ``uids`` of the selected folder, in the order given.

        Listings (``full=False``) read only the first part of each message.
        """
        if not uids:
            return []
        part = "BODY.PEEK[]" if full else f"BODY.PEEK[]<0.{LISTING_BYTES}>"
        data = client.fetch(uids, [part, "INTERNALDATE"])
        out: list[tuple[int, Message]] = []
        for uid in uids:
            item = data.get(uid)
            if item is None:  # expunged meanwhile
                continue
            message = self._parse(uid, item, folder)
            if message is not None:
                out.append((uid, message))
        return out

    def _criteria(self, query: str, sender: str, since: datetime | None) -> list[Any]:
        criteria: list[Any] = []
        for word in query.split():
            criteria += ["TEXT", word]
        if sender.strip():
            criteria += ["FROM", sender.strip()]
        if since is not None:
            # SINCE/SENTSINCE compare whole days in unknown zones: ask early, filter exactly.
            day = since.date() - timedelta(days=2)
            criteria += ["OR", "SINCE", day, "SENTSINCE", day]
        return criteria or ["ALL"]

    def search(
        self,
        query: str = "",
        sender: str = "",
        since: datetime | None = None,
        folder: str = "inbox",
        limit: int = 20,
    ) -> list[MessageSummary]:
        """Newest first; every word of ``query`` must occur in the headers or body (IMAP TEXT)."""
        if since is not None and since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        if limit <= 0:
            return []
        criteria = self._criteria(query, sender, since)
        charset = None if all(str(c).isascii() for c in criteria) else "UTF-8"
        fields = set(MessageSummary.model_fields)

        def op(client: IMAPClient) -> list[MessageSummary]:
            self._select(client, folder)
            if client.has_capability("SORT"):
                uids = list(client.sort(["REVERSE", "DATE"], criteria, charset or "UTF-8"))
            else:
                uids = sorted(client.search(criteria, charset), reverse=True)
            hits: list[Message] = []
            for start in range(0, len(uids), max(limit, 10)):
                chunk = uids[start : start + max(limit, 10)]
                for _, m in self._fetch(client, chunk, folder, full=False):
                    if since is None or (m.date is not None and m.date >= since):
                        hits.append(m)
                if len(hits) >= limit:
                    break
            hits.sort(key=_when, reverse=True)
            return [
                MessageSummary.model_validate(m.model_dump(include=fields)) for m in hits[:limit]
            ]

        return self._imap(op, f"search {folder}")

    def _select_existing(self, client: IMAPClient, folder: str) -> bool:
        """Select ``folder`` read-only; False when it does not exist (yet)."""
        try:
            self._select(client, folder)
        except ProviderError:
            if client.folder_exists(self._server_folder(client, folder)):
                raise
            return False
        return True

    def _find_in(
        self, client: IMAPClient, folder: str, message_id: str
    ) -> tuple[int, Message] | None:
        """UID and message with this Message-ID in ``folder`` (left selected), if any."""
        if not self._select_existing(client, folder):
            return None
        uids = client.search(["HEADER", "Message-ID", message_id])
        for uid, m in self._fetch(client, sorted(uids), folder, full=True):
            if m.message_id == message_id:
                return uid, m
        if uids or not message_id.endswith(f"@{SYNTHETIC_DOMAIN}>"):
            return None
        # parse_rfc822 made this id up (from the bytes a listing read) for a message
        # without one: look among those, the way the listing saw them.
        bare = client.search(["NOT", "HEADER", "Message-ID", ""])
        for uid, m in self._fetch(client, sorted(bare), folder, full=False):
            if m.message_id == message_id:
                whole = self._fetch(client, [uid], folder, full=True)
                if whole:
                    update = {"message_id": message_id, "thread_id": message_id}
                    return uid, whole[0][1].model_copy(update=update)
        return None

    def _find(self, message_id: str, raw: bool) -> tuple[Message, bytes]:
        """A message from inbox, sent or drafts (with its bytes when ``raw``); raises NotFound."""
        wanted = normalize_message_id(message_id)
        if not wanted:
            raise NotFound("A message id is empty; search mail to find the right message id.")

        def op(client: IMAPClient) -> tuple[Message, bytes] | None:
            for folder in FOLDERS:
                found = self._find_in(client, folder, wanted)
                if found is None:
                    continue
                uid, message = found
                if not raw:
                    return message, b""
                data = _body(client.fetch([uid], ["BODY.PEEK[]"]).get(uid, {}))
                if data is not None:
                    return message, data
            return None

        found = self._imap(op, "find a message")
        if found is None:
            raise NotFound(
                f"No message with id {wanted} in inbox, sent or drafts. "
                "Search mail to find the right message id."
            )
        return found

    def get_message(self, message_id: str) -> Message:
        """One message from inbox, sent or drafts, by Message-ID with or without angle brackets."""
        return self._find(message_id, raw=False)[0]

    def get_raw(self, message_id: str) -> bytes:
        """The message's bytes as the server holds them (for forwarding with attachments)."""
        return self._find(message_id, raw=True)[1]

    def get_thread(self, message_id: str) -> list[Message]:
        """The conversation across inbox, sent and drafts, oldest first.

        Starting from the message, messages are collected whose Message-ID is
        referenced or whose References / In-Reply-To name a collected one, until
        nothing new turns up.
        """
        target = self.get_message(message_id)

        def op(client: IMAPClient) -> list[Message]:
            found: dict[str, Message] = {target.message_id: target}
            ids = {target.message_id, target.in_reply_to, *target.references} - {""}
            asked: set[str] = set()
            for _ in range(THREAD_ROUNDS):
                new = sorted(ids - asked)
                if not new or len(found) >= THREAD_MAX:
                    break
                asked.update(new)
                for folder in FOLDERS:
                    if not self._select_existing(client, folder):
                        continue
                    uids: set[int] = set()
                    for start in range(0, len(new), SEARCH_BATCH):
                        terms = [
                            ["HEADER", name, mid]
                            for mid in new[start : start + SEARCH_BATCH]
                            for name in ("Message-ID", "References", "In-Reply-To")
                        ]
                        uids.update(client.search(_any_of(terms)))
                    for _, m in self._fetch(client, sorted(uids), folder, full=True):
                        linked = {m.message_id, m.in_reply_to, *m.references} - {""}
                        # Header search matches substrings; keep only real links.
                        if linked & ids and m.message_id not in found:
                            found[m.message_id] = m
                            ids |= linked
            return sorted(found.values(), key=_when)

        return self._imap(op, "read a conversation")

    # ------------------------------------------------------------ writing

    def _now(self) -> datetime:
        now = self._clock() if self._clock is not None else self.principal.now()
        return now.astimezone(self.principal.tz)

    def _build(self, message: OutgoingMessage, message_id: str, bcc_header: bool) -> bytes:
        try:
            mime = build_mime(message, self._sender, message_id=message_id, date=self._now())
            if bcc_header and message.bcc:
                mime["Bcc"] = ", ".join(parse_addresses(message.bcc))
        except ValueError as exc:
            raise ProviderError(f"Cannot build the message: {str(exc).rstrip('.')}.") from None
        # CRLF bytes: exactly what SMTP transmits and what IMAP stores.
        return mime.as_bytes(policy=policy.SMTP)

    def _append_once(
        self, folder: str, message_id: str, data: bytes, flags: Iterable[bytes]
    ) -> None:
        def op(client: IMAPClient) -> None:
            name = self._server_folder(client, folder)
            self._ensure_folder(client, name)
            # After a reconnect the first APPEND may have landed; never store it twice.
            if self._find_in(client, folder, message_id) is None:
                client.append(name, data, flags=tuple(flags), msg_time=self._now())

        self._imap(op, f"store the message in {folder}")

    def send(self, message: OutgoingMessage, idempotency_key: str) -> SentReceipt:
        """Send over SMTP (once per key) and keep the exact bytes in Sent.

        Raises:
            ProviderError: when the SMTP server refuses (nothing was sent), or when
                it refused some recipients (sent to the others; the message says which).
        """
        key = idempotency_key or uuid.uuid4().hex
        message_id = message_id_for_key(key, self.settings.address)
        try:
            recipients = _envelope(message)
        except ValueError as exc:
            raise ProviderError(f"Cannot send the message: {exc}") from None
        if not recipients:
            raise ProviderError("A message needs at least one recipient in To, Cc or Bcc.")
        existing = self._imap(lambda c: self._find_in(c, "sent", message_id), "look in Sent")
        if existing is not None:
            log.info("Message %s is already in Sent; not sending it again", message_id)
            return _receipt(existing[1], "sent")
        data = self._build(message, message_id, bcc_header=False)
        refused = self._smtp_send(recipients, data)
        try:
            self._append_once("sent", message_id, data, [SEEN])
        except ProviderError as exc:
            # It went out; failing now would make a retry send it again.
            log.warning("Message %s was sent but not stored in Sent: %s", message_id, exc)
        accepted = [r for r in recipients if r not in refused]
        if refused:
            raise ProviderError(
                f"The message went to {', '.join(accepted)}, but the SMTP server "
                f"{self.settings.smtp.label} refused {_refusals(refused)}. Check those "
                "addresses and send them a new message."
            )
        return SentReceipt(message_id=message_id, folder="sent", recipients=accepted)

    def save_draft(self, message: OutgoingMessage, idempotency_key: str) -> SentReceipt:
        """Keep the message in Drafts (once per key), flagged ``\\Draft``."""
        key = idempotency_key or uuid.uuid4().hex
        message_id = message_id_for_key(key, self.settings.address)
        try:
            recipients = _envelope(message)
        except ValueError as exc:
            raise ProviderError(f"Cannot save the draft: {exc}") from None
        data = self._build(message, message_id, bcc_header=True)
        self._append_once("drafts", message_id, data, [b"\\Draft", SEEN])
        return SentReceipt(message_id=message_id, folder="drafts", recipients=recipients)

    def check_smtp(self) -> None:
        """Log in to the SMTP server as a send would (EHLO, STARTTLS or TLS, AUTH), send nothing.

        ``secretary connect imap`` calls it, so a dead or refusing SMTP server is
        found before the account is saved rather than at the first reply.

        Raises:
            ProviderError: naming the SMTP server and what to change.
        """
        self._smtp_send([], b"")

    def _smtp_send(self, recipients: list[str], data: bytes) -> dict[str, tuple[int, bytes]]:
        """Submit ``data``; the recipients the server refused (the others got it)."""
        ep = self.settings.smtp
        where = f"the SMTP server {ep.label}"
        timeout = self.settings.timeout
        try:
            smtp: smtplib.SMTP
            if ep.security == "ssl":
                smtp = smtplib.SMTP_SSL(
                    ep.host, ep.port, timeout=timeout, context=self._tls_context()
                )
            else:
                smtp = smtplib.SMTP(ep.host, ep.port, timeout=timeout)
            with smtp:
                smtp.ehlo()
                if ep.security == "starttls":
                    if not smtp.has_extn("starttls"):
                        raise ProviderError(
                            f"The SMTP server {ep.label} does not offer STARTTLS; set "
                            'smtp_security = "ssl" (port 465), or "none" only for a trusted relay.'
                        )
                    smtp.starttls(context=self._tls_context())
                    smtp.ehlo()
                if ep.username:
                    smtp.login(ep.username, ep.password)
                if not recipients:  # check_smtp: logging in was all that was asked
                    return {}
                return smtp.sendmail(self.settings.address, recipients, data)
        except ProviderError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            text = (
                f"The SMTP server {ep.label} refused the login for {ep.username} "
                f"({_smtp_reply(exc)}); check the SMTP username and password in the mail "
                "account settings."
            )
        except smtplib.SMTPNotSupportedError as exc:
            text = (
                f"The SMTP server {ep.label} cannot log in this way ({exc}); check smtp_security."
            )
        except smtplib.SMTPRecipientsRefused as exc:
            text = (
                f"The SMTP server {ep.label} refused {_refusals(exc.recipients)}; nothing was "
                "sent. Check the addresses."
            )
        except smtplib.SMTPSenderRefused as exc:
            text = (
                f"The SMTP server {ep.label} refused the sender {self.settings.address} "
                f"({_smtp_reply(exc)}); check the account's address. Nothing was sent."
            )
        except smtplib.SMTPResponseException as exc:
            later = " Try again later." if 400 <= exc.smtp_code < 500 else ""
            text = (
                f"The SMTP server {ep.label} did not take the message ({_smtp_reply(exc)}); "
                f"nothing was sent.{later}"
            )
        except ssl.SSLCertVerificationError as exc:
            text = (
                f"Cannot trust the certificate of {where} ({exc.verify_message or exc}); "
                "set ca_file to the CA that signed it, or fix the server's certificate."
            )
        except ssl.SSLError as exc:
            text = (
                f"The TLS handshake with {where} failed ({_reason(exc)}); check smtp_security "
                '("starttls" for port 587, "ssl" for port 465).'
            )
        except ConnectionRefusedError:
            text = (
                f"Cannot connect to {where}: connection refused. Check smtp_host and smtp_port "
                "and that the server is running."
            )
        except socket.gaierror as exc:
            text = f"Cannot find the SMTP server {ep.host} ({_reason(exc)}); check smtp_host."
        except TimeoutError:
            text = (
                f"The SMTP server {ep.label} did not answer within {timeout:g} seconds; "
                "the message may not have been sent. Try again later."
            )
        except (smtplib.SMTPException, OSError) as exc:
            text = f"Sending through {where} failed ({_reason(exc)}); try again later."
        raise ProviderError(self._scrub(text))

    # --------------------------------------------------------------- sync

    def fetch_new(
        self,
        cursor: str = "",
        folder: str = "inbox",
        limit: int = 200,
        *,
        on_reset: OnReset = "restart",
    ) -> tuple[list[RawMail], str]:
        """Messages after ``cursor`` ('' = from the oldest), oldest first, at most ``limit``.

        The cursor is ``UIDVALIDITY:LASTUID``; when the folder's UIDVALIDITY
        changed (the folder was recreated) or the cursor is not one of ours, it
        starts over from the oldest, or raises :class:`SyncReset` with
        ``on_reset="raise"``.
        """

        def op(client: IMAPClient) -> tuple[list[RawMail], str]:
            validity = _uidvalidity(self._select(client, folder))
            last = _cursor_uid(cursor, validity, folder)
            if last is None:
                if on_reset == "raise":
                    raise SyncReset(
                        f"The IMAP folder {folder} on {self.settings.imap.label} was recreated "
                        "or its sync position is unknown; list it again."
                    )
                last = 0
            if limit <= 0:
                return [], f"{validity}:{last}"
            # "n:*" always matches the newest message, even when its UID is below n.
            uids = sorted(u for u in client.search(["UID", f"{last + 1}:*"]) if u > last)[:limit]
            if not uids:
                return [], f"{validity}:{last}"
            data = client.fetch(uids, ["BODY.PEEK[]"])
            out = [
                RawMail(uid=f"{validity}:{uid}", raw=raw, folder=folder)
                for uid in uids
                if (raw := _body(data.get(uid, {})))
            ]
            return out, f"{validity}:{uids[-1]}"

        return self._imap(op, f"fetch new mail from {folder}")

    def current_cursor(self, folder: str = "inbox") -> str:
        """A cursor positioned after everything already in ``folder``."""

        def op(client: IMAPClient) -> str:
            info = self._select(client, folder)
            validity = _uidvalidity(info)
            uidnext = info.get(b"UIDNEXT")
            if isinstance(uidnext, int) and uidnext > 0:
                return f"{validity}:{uidnext - 1}"
            uids = client.search(["ALL"])
            return f"{validity}:{max(uids, default=0)}"

        return self._imap(op, f"read the state of {folder}")

    def list_ids(self, folder: str = "inbox") -> tuple[list[MailRef], str]:
        """Every message in ``folder`` by UID and Message-ID, reading only that header.

        Returns the listing (oldest first) and the cursor after its newest UID.
        """

        def op(client: IMAPClient) -> tuple[list[MailRef], str]:
            info = self._select(client, folder)
            validity = _uidvalidity(info)
            uids = sorted(client.search(["ALL"]))
            refs: list[MailRef] = []
            for start in range(0, len(uids), HEADER_BATCH):
                chunk = uids[start : start + HEADER_BATCH]
                data = client.fetch(chunk, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
                for uid in chunk:
                    if uid not in data:  # expunged meanwhile
                        continue
                    head = _header_part(data[uid])
                    refs.append(MailRef(uid=f"{validity}:{uid}", message_id=message_id_of(head)))
            uidnext = info.get(b"UIDNEXT")
            floor = uidnext - 1 if isinstance(uidnext, int) and uidnext > 0 else 0
            # UIDs only grow: whatever arrives after the SEARCH has a higher one.
            return refs, f"{validity}:{max([floor, *uids])}"

        return self._imap(op, f"list the messages of {folder}")

    def fetch_raw(self, uids: list[str], folder: str = "inbox") -> list[RawMail]:
        """The bytes of messages by ``UIDVALIDITY:UID`` (from list_ids or fetch_new).

        Raises:
            SyncReset: the folder was recreated since those uids were listed.
        """
        numbers: list[int] = []
        for uid in uids:
            validity, _, number = uid.partition(":")
            if not (validity.isdigit() and number.isdigit()):
                raise ProviderError(f"'{uid}' is not a message uid from this provider.")
            numbers.append(int(number))

        def op(client: IMAPClient) -> list[RawMail]:
            validity = _uidvalidity(self._select(client, folder))
            if any(int(uid.partition(":")[0]) != validity for uid in uids):
                raise SyncReset(
                    f"The IMAP folder {folder} on {self.settings.imap.label} was recreated "
                    "while it was being read; list it again."
                )
            data = client.fetch(numbers, ["BODY.PEEK[]"]) if numbers else {}
            return [
                RawMail(uid=f"{validity}:{n}", raw=raw, folder=folder)
                for n in numbers
                if (raw := _body(data.get(n, {})))
            ]

        return self._imap(op, f"fetch mail from {folder}")

    def unread(self, folder: str = "inbox", limit: int = 200) -> list[RawMail]:
        """The newest ``limit`` messages not flagged ``\\Seen``, oldest first (left unseen)."""

        def op(client: IMAPClient) -> list[RawMail]:
            validity = _uidvalidity(self._select(client, folder))
            uids = sorted(client.search(["UNSEEN"]))[-limit:] if limit > 0 else []
            data = client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
            return [
                RawMail(uid=f"{validity}:{uid}", raw=raw, folder=folder)
                for uid in uids
                if (raw := _body(data.get(uid, {})))
            ]

        return self._imap(op, f"list unread mail in {folder}")

    def idle(self, timeout: float, folder: str = "inbox") -> bool:
        """Wait up to ``timeout`` seconds for new mail in ``folder`` (IMAP IDLE).

        Returns:
            True when a message arrived; False after the timeout, and at once
            when the server cannot IDLE (the caller then polls with ``fetch_new``).
        """

        def op(client: IMAPClient) -> bool:
            if not client.has_capability("IDLE"):
                return False
            exists = int(self._select(client, folder).get(b"EXISTS", 0))
            deadline = time.monotonic() + max(0.0, timeout)
            client.idle()
            try:
                while (left := deadline - time.monotonic()) > 0:
                    for response in client.idle_check(timeout=left):
                        if len(response) < 2 or not isinstance(response[0], int):
                            continue
                        if response[1] == b"EXISTS" and response[0] > exists:
                            return True
                        if response[1] == b"EXPUNGE":
                            exists -= 1
                return False
            finally:
                client.idle_done()

        return self._imap(op, f"wait for mail in {folder}")

    # ------------------------------------------------------------- flags

    def _locate(self, client: IMAPClient, uid: str, folder: str) -> int:
        """Select ``folder`` for writing and check that ``uid`` (from fetch_new) belongs to it."""
        validity, _, number = uid.partition(":")
        if not (validity.isdigit() and number.isdigit()):
            raise ProviderError(f"'{uid}' is not a message uid from fetch_new (UIDVALIDITY:UID).")
        if int(validity) != _uidvalidity(self._select(client, folder, readonly=False)):
            raise NotFound(
                f"The folder {folder} was recreated since message {uid} was fetched; "
                "fetch new mail again."
            )
        return int(number)

    def set_flags(self, uid: str, flags: Iterable[str], folder: str = "inbox") -> None:
        """Replace the flags of a message (``uid`` as in :class:`RawMail`), e.g. ``["\\Seen"]``."""
        wanted = [f.encode("ascii") for f in flags]
        self._imap(
            lambda c: c.set_flags([self._locate(c, uid, folder)], wanted), f"set flags in {folder}"
        )

    def mark_seen(self, uid: str, folder: str = "inbox") -> None:
        """Flag a message as read."""
        self._imap(
            lambda c: c.add_flags([self._locate(c, uid, folder)], [SEEN]),
            f"mark mail read in {folder}",
        )

    def move(self, uid: str, to_folder: str, folder: str = "inbox") -> None:
        """Move a message to another folder (created when missing)."""

        def op(client: IMAPClient) -> None:
            number = self._locate(client, uid, folder)
            target = self._server_folder(client, to_folder)
            self._ensure_folder(client, target)
            if client.has_capability("MOVE"):
                client.move([number], target)
                return
            client.copy([number], target)
            client.delete_messages([number])
            if client.has_capability("UIDPLUS"):
                client.uid_expunge([number])
            else:
                client.expunge()

        self._imap(op, f"move mail from {folder} to {to_folder}")


# ------------------------------------------------------------------- helpers


def _reason(exc: BaseException) -> str:
    """The readable core of an exception: the OS's words, or the server's without b'...'."""
    if isinstance(exc, OSError) and exc.strerror and not isinstance(exc, ssl.SSLError):
        return exc.strerror
    text: Any = exc.args[0] if len(exc.args) == 1 else str(exc)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = _BYTES_REPR.sub(r"\2", " ".join(str(text).split()))
    return text or type(exc).__name__


def _logout(client: IMAPClient) -> None:
    """Leave politely; errors while leaving are ignored (the link may be gone)."""
    try:
        client.logout()
    except Exception:
        try:
            client.shutdown()
        except Exception:
            pass


def _smtp_reply(exc: smtplib.SMTPResponseException) -> str:
    reply = exc.smtp_error
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{exc.smtp_code} {' '.join(text.split())}"


def _refusals(refused: Mapping[str, Any]) -> str:
    """``a@x (550 5.1.1 User unknown), b@y (...)`` from smtplib's refusal dict."""
    parts = []
    for addr, reply in refused.items():
        if not (isinstance(reply, tuple) and len(reply) == 2):
            parts.append(addr)
            continue
        code, text = reply
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        parts.append(f"{addr} ({code} {' '.join(text.split())})")
    return ", ".join(parts)


def _body(item: Mapping[bytes, Any]) -> bytes | None:
    """The message bytes of a FETCH answer (full or the partial listing fetch)."""
    for key, value in item.items():
        if isinstance(key, bytes) and key.startswith(b"BODY[]") and isinstance(value, bytes):
            return value
    return None


def _when(m: Message) -> datetime:
    return m.date or _EPOCH


def _any_of(terms: list[list[str]]) -> list[Any]:
    """IMAP OR over search keys, as a balanced tree (deep chains overflow some parsers)."""
    if len(terms) == 1:
        return terms[0]
    mid = len(terms) // 2
    return ["OR", _any_of(terms[:mid]), _any_of(terms[mid:])]


def _envelope(message: OutgoingMessage) -> list[str]:
    """Every recipient address (To, Cc and Bcc) once, bare and lowercase."""
    out: list[str] = []
    for addr in parse_addresses([*message.to, *message.cc, *message.bcc]):
        bare = bare_address(addr)
        if bare not in out:
            out.append(bare)
    return out


def _receipt(m: Message, folder: str) -> SentReceipt:
    recipients: list[str] = []
    for a in [*m.to, *m.cc]:
        addr = bare_address(a)
        if addr and addr not in recipients:
            recipients.append(addr)
    return SentReceipt(message_id=m.message_id, folder=folder, recipients=recipients)


def _uidvalidity(info: Mapping[bytes, Any]) -> int:
    value = info.get(b"UIDVALIDITY")
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ProviderError(
            "The IMAP server did not report the folder's UIDVALIDITY; it cannot be synced."
        ) from None


def _cursor_uid(cursor: str, validity: int, folder: str) -> int | None:
    """The last UID a cursor covers: 0 for '', None when it cannot be continued."""
    if not cursor:
        return 0
    old, _, last = cursor.partition(":")
    if not (old.isdigit() and last.isdigit()):
        log.warning("Sync cursor %r for %s is not an IMAP cursor; starting over", cursor, folder)
        return None
    if int(old) != validity:
        log.info("UIDVALIDITY of %s changed (%s -> %s); starting over", folder, old, validity)
        return None
    return int(last)


def _header_part(item: Mapping[bytes, Any]) -> bytes:
    """The header bytes of a ``BODY.PEEK[HEADER.FIELDS (...)]`` FETCH answer."""
    for key, value in item.items():
        if isinstance(key, bytes) and key.startswith(b"BODY[HEADER") and isinstance(value, bytes):
            return value
    return b""
