"""The settings of an IMAP/SMTP mail account, read from the principal's ``accounts.mail`` table.

The keys are listed in :mod:`tools.providers.imap_smtp`. Secrets are read with
:func:`~tools.providers.accounts.account_secret` and never appear in a repr or
in a message (:func:`scrub`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tools.providers.accounts import account_secret
from tools.providers.base import ProviderError
from tools.providers.mime import bare_address, parse_addresses

if TYPE_CHECKING:
    from tools.foundation.principals import Principal

Security = Literal["ssl", "starttls", "none"]

FOLDERS = ("inbox", "sent", "drafts")
DEFAULT_TIMEOUT = 30.0
DEFAULT_CONNECTIONS = 4


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


def scrub(settings: ImapSmtpSettings, text: str) -> str:
    """``text`` with the account's passwords replaced by ``***``."""
    for secret in {settings.imap.password, settings.smtp.password}:
        if secret:
            text = text.replace(secret, "***")
    return text
