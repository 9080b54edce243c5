"""A principal's account settings: one typed model per provider, secrets and token files.

A principal's ``accounts`` table in ``secretary.toml`` names a provider per
duty and its settings. :func:`parse_account` checks a table once, against the
model of its provider (:class:`ImapAccount`, :class:`CalDAVAccount`,
:class:`GoogleAccount`, :class:`MicrosoftAccount`, :class:`DuffelAccount`,
:class:`LocalAccount`), and a wrong type becomes one sentence naming the
setting; the provider receives the model. Keys a model does not know are kept,
so a table read and written again keeps its shape.

Secrets may be written there (the file is 0600), or, better, named by
environment variable (``password_env = "ADA_IMAP_PASSWORD"``) or file
(``password_file = "/run/secrets/ada-imap"``). Secrets are never put in an
error message, a log line or a repr.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, StrictInt, ValidationError

from tools.foundation.logs import remember_secret
from tools.foundation.settings import env_value
from tools.providers.base import ProviderError

Secret = str | None
"""A secret written inline; ``<name>_env`` and ``<name>_file`` name where it is instead."""


class Account(BaseModel):
    """The settings every account table has: which provider serves the duty."""

    model_config = ConfigDict(extra="allow", frozen=True, hide_input_in_errors=True)

    provider: str = "local"

    def __repr__(self) -> str:
        # Secrets live among the fields: a repr names only the provider.
        return f"{type(self).__name__}(provider={self.provider!r})"

    __str__ = __repr__

    @classmethod
    def of(cls, account: Account | Mapping[str, Any], duty: str = "") -> Self:
        """``account`` as this model: a model is kept, a table is checked (see parse_account)."""
        if isinstance(account, cls):
            return account
        table = account.table() if isinstance(account, Account) else dict(account)
        try:
            return cls.model_validate(table)
        except ValidationError as exc:
            raise _invalid(exc, duty) from None

    def table(self) -> dict[str, Any]:
        """The settings as written in ``secretary.toml`` (unknown keys included)."""
        return self.model_dump(exclude_unset=True)

    def secret(self, name: str, *, required: bool = True) -> str:
        """The secret ``name``: inline, from ``<name>_env`` or from ``<name>_file``."""
        return account_secret(self.table(), name, required=required)


class LocalAccount(Account):
    """The embedded default: everything under the principal's own directory."""


class ImapAccount(Account):
    """Mail on an IMAP server, sent through SMTP (keys in :mod:`tools.providers.imap_smtp`)."""

    imap_host: str | None = None
    imap_port: StrictInt | str | None = None
    imap_security: str | None = None
    username: str | None = None
    password: Secret = None
    password_env: str | None = None
    password_file: str | None = None
    smtp_host: str | None = None
    smtp_port: StrictInt | str | None = None
    smtp_security: str | None = None
    smtp_username: str | None = None
    smtp_password: Secret = None
    smtp_password_env: str | None = None
    smtp_password_file: str | None = None
    address: str | None = None
    folders: dict[str, Any] | None = None
    ca_file: str | None = None
    timeout: StrictInt | float | str | None = None
    max_connections: StrictInt | None = None


class CalDAVAccount(Account):
    """A calendar on a CalDAV server (keys in :mod:`tools.providers.caldav_calendar`)."""

    url: str | None = None
    username: str | None = None
    password: Secret = None
    password_env: str | None = None
    password_file: str | None = None
    calendar: str | None = None
    address: str | None = None
    ca_file: str | None = None
    verify: bool | None = None
    timeout: StrictInt | float | str | None = None


class GoogleAccount(Account):
    """Gmail (``provider = "gmail"``) or Google Calendar (``provider = "google"``).

    Attributes:
        client_secrets: The OAuth client's JSON file (used by the connect command).
        token_file: Where the token is kept (default ``<root>/tokens/google.json``).
        address: The account's address (default the principal's e-mail).
        calendar_id: The calendar to use (default ``primary``).
        api_endpoint: Another API base URL (a stand-in server).
        token_uri: Another token endpoint (a stand-in server).
    """

    client_secrets: str | None = None
    token_file: str | None = None
    address: str = ""
    calendar_id: str = ""
    api_endpoint: str | None = None
    token_uri: str | None = None

    def token_path(self, root: Path) -> Path:
        """The token file: the configured one, else ``<root>/tokens/google.json``."""
        if self.token_file:
            return Path(self.token_file).expanduser()
        return token_path(root, "google.json")


class MicrosoftAccount(Account):
    """Microsoft 365 mail or calendar on Graph (keys in :mod:`tools.providers.microsoft.auth`)."""

    client_id: str = ""
    tenant: str = ""
    authority: str | None = None
    user: str = ""
    scopes: list[str] | str | None = None
    ca_file: str = ""
    client_secret: Secret = None
    client_secret_env: str | None = None
    client_secret_file: str | None = None
    graph_url: str | None = None


class DuffelAccount(Account):
    """Flights through Duffel (``token``, ``token_env`` or ``token_file``; ``base_url``)."""

    token: Secret = None
    token_env: str | None = None
    token_file: str | None = None
    base_url: str | None = None


MODELS: dict[str, type[Account]] = {
    "local": LocalAccount,
    "imap": ImapAccount,
    "caldav": CalDAVAccount,
    "gmail": GoogleAccount,
    "google": GoogleAccount,
    "microsoft": MicrosoftAccount,
    "duffel": DuffelAccount,
}
"""The model of each provider's account table, by ``provider`` name."""


def parse_account(duty: str, table: Mapping[str, Any] | None) -> Account:
    """A principal's ``accounts.<duty>`` table, checked against its provider's model.

    An unknown provider name gets the plain :class:`Account` (the caller says
    which names it knows).

    Raises:
        ProviderError: a setting has the wrong type (the sentence names it).
    """
    table = dict(table or {})
    model = MODELS.get(str(table.get("provider", "local")), Account)
    return model.of(table, duty)


def as_table(account: Account | Mapping[str, Any]) -> Mapping[str, Any]:
    """An account as the table it was read from (for providers that read it key by key)."""
    return account.table() if isinstance(account, Account) else account


def _invalid(exc: ValidationError, duty: str) -> ProviderError:
    """One sentence for the first wrong setting of an account table."""
    error = exc.errors()[0]
    # The first part names the setting; the rest are union members and nested keys.
    where = str(error["loc"][0]) if error["loc"] else "table"
    message = str(error["msg"]).rstrip(".")
    message = message[:1].lower() + message[1:]
    whose = f"The {duty} account's" if duty else "The account's"
    return ProviderError(
        f"{whose} setting {where} is not valid ({message}); correct it in the "
        "principal's accounts in secretary.toml."
    )


def account_secret(account: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    """The secret ``name`` of an account: inline, from ``<name>_env`` or ``<name>_file``.

    Raises:
        ProviderError: when required and not set (the message names the setting
            to add, never a value).
    """
    value = _read_secret(account, name, required)
    remember_secret(value)  # whatever echoes it later (a server's refusal) is masked in the log
    return value


def _read_secret(account: Mapping[str, Any], name: str, required: bool) -> str:
    value = account.get(name)
    if isinstance(value, str) and value:
        return value
    env = account.get(f"{name}_env")
    if isinstance(env, str) and env:
        if env_value(env):
            return env_value(env)
        if required:
            raise ProviderError(
                f"The environment variable {env} (the account's {name}) is not set; "
                "export it and try again."
            )
    path = account.get(f"{name}_file")
    if isinstance(path, str) and path:
        try:
            return Path(path).expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ProviderError(
                f"Cannot read the account's {name} from {path}: {exc.strerror or exc}."
            ) from None
    if required:
        raise ProviderError(
            f"The account has no {name}: set {name}_env (an environment variable name) "
            f"or {name}_file in the principal's accounts settings."
        )
    return ""


def token_path(root: Path, name: str) -> Path:
    """Where a provider keeps its OAuth token or token cache (owner-only directory)."""
    folder = Path(root) / "tokens"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder / name


def write_private(path: Path, data: str) -> None:
    """Write ``data`` to ``path`` readable by the owner only (0600), atomically."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(data)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
