"""Reading a principal's account settings: secrets and token files.

A principal's ``accounts`` table in ``secretary.toml`` names a provider per
duty and its settings. Secrets may be written there (the file is 0600), or,
better, named by environment variable (``password_env = "ADA_IMAP_PASSWORD"``)
or file (``password_file = "/run/secrets/ada-imap"``). Secrets are never put
in an error message, a log line or a repr.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tools.foundation.logs import remember_secret
from tools.foundation.settings import env_value
from tools.providers.base import ProviderError


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
