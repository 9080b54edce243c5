"""The IMAP connection pool of one account, and the folders it finds there.

An IMAP connection carries one command at a time and the provider is shared
by threads, so each operation borrows a connection of its own through
:meth:`ImapConnections._imap`: opened on first need, kept open and reused,
reconnected once when the server dropped it, at most ``max_connections`` at
once. Failures become sentences that say what to check, never with a password.
"""

from __future__ import annotations

import imaplib
import logging
import re
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import CapabilityError, IMAPClientAbortError, IMAPClientError, LoginError

from tools.providers.base import ProviderError
from tools.providers.imap_smtp.settings import FOLDERS, ImapSmtpSettings, scrub

log = logging.getLogger(__name__)

T = TypeVar("T")

SPECIAL_USE = {"sent": rb"\Sent", "drafts": rb"\Drafts"}
BUSY_WAIT = 120.0
"""Seconds an operation waits for a free IMAP connection before it gives up."""
_BYTES_REPR = re.compile(r"""^b(['"])(.*)\1$""")


class ImapConnections:
    """Borrowed IMAP connections to one account's server, and its folder names."""

    def __init__(self, settings: ImapSmtpSettings) -> None:
        """Keep the settings; nothing connects until the first operation.

        Args:
            settings: The checked account settings.
        """
        self.settings = settings
        self._slots = threading.BoundedSemaphore(settings.max_connections)
        self._guard = threading.Lock()
        self._free: list[IMAPClient] = []
        """Open connections no operation is using."""
        self._generation = 0
        """Raised by close(): connections borrowed before it are logged out when returned."""
        self._folders: dict[str, str] | None = None
        self._tls: ssl.SSLContext | None = None

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
        return scrub(self.settings, text)

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

    def _select_existing(self, client: IMAPClient, folder: str) -> bool:
        """Select ``folder`` read-only; False when it does not exist (yet)."""
        try:
            self._select(client, folder)
        except ProviderError:
            if client.folder_exists(self._server_folder(client, folder)):
                raise
            return False
        return True


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
