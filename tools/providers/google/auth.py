"""OAuth for Google accounts: the installed-app consent flow and the stored token.

Gmail uses it today and Google Calendar will share it, so the scopes are always
a parameter. The token is google-auth's "authorized user" JSON (access and
refresh token, client id and secret) written 0600 with
:func:`~tools.providers.accounts.write_private`; it is never logged, printed or
put in an error message.

Problems a person can fix (no token yet, a revoked grant, a broken client
secrets file) become :class:`~tools.providers.base.ProviderError` sentences that
say what to do, usually to run ``secretary connect gmail --principal ID`` again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import google.auth.exceptions
import google.auth.transport.requests
import requests
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import InstalledAppFlow, WSGITimeoutError
from oauthlib.oauth2.rfc6749.errors import OAuth2Error
from requests.exceptions import RequestException

from tools.providers.accounts import write_private
from tools.providers.base import ProviderError

log = logging.getLogger(__name__)

PROMPT = (
    "To connect the Google account, open this address in a browser and allow access "
    "(waiting for the answer):\n{url}\n"
)


def connect_command(service: str = "gmail", principal_id: str = "") -> str:
    """The command a person runs to (re)connect an account, for error messages."""
    return f"secretary connect {service} --principal {principal_id or 'ID'}"


# These log whole token responses (and the client secret as Basic auth) at DEBUG.
_CHATTY_LOGGERS = ("requests_oauthlib", "oauthlib")


@contextlib.contextmanager
def _quiet_token_logs() -> Iterator[None]:
    """Keep OAuth libraries from logging tokens, even when the app logs at DEBUG."""
    loggers = [logging.getLogger(name) for name in _CHATTY_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.INFO)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _client_config(client_secrets: Path) -> dict[str, Any]:
    """The parsed client secrets file (as downloaded from the Google Cloud console)."""
    try:
        config = json.loads(Path(client_secrets).expanduser().read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProviderError(
            f"Cannot read the Google client secrets file {client_secrets}: "
            f"{exc.strerror or exc}. Download it from the Google Cloud console "
            "(OAuth client of type 'Desktop app') and set client_secrets to its path."
        ) from None
    except ValueError:
        raise ProviderError(
            f"{client_secrets} is not JSON; download the OAuth client's secrets file "
            "from the Google Cloud console again."
        ) from None
    section = config.get("installed") or config.get("web") if isinstance(config, dict) else None
    needed = ("client_id", "client_secret", "auth_uri", "token_uri")
    if not isinstance(section, dict) or not all(section.get(k) for k in needed):
        raise ProviderError(
            f"{client_secrets} is not an OAuth client secrets file (it needs an 'installed' "
            "section with client_id, client_secret, auth_uri and token_uri); create an OAuth "
            "client of type 'Desktop app' in the Google Cloud console and download its JSON."
        )
    return dict(config)


def save_credentials(credentials: Credentials, token_file: Path) -> None:
    """Store ``credentials`` as authorized-user JSON readable by the owner only."""
    token_file = Path(token_file)
    token_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_private(token_file, credentials.to_json())


def authorize(
    client_secrets: Path,
    token_file: Path,
    scopes: list[str],
    *,
    open_browser: bool = True,
    port: int = 0,
    timeout_seconds: float | None = 300,
) -> Credentials:
    """Run Google's consent flow for an installed app and store the token.

    A small web server on the loopback interface receives the browser's
    redirect (Google's "loopback IP address" flow, with PKCE). The address to
    open is printed on stderr, so stdout stays free for scripts.

    Args:
        client_secrets: The OAuth client's JSON file (type "Desktop app").
        token_file: Where to keep the token (written 0600).
        scopes: The OAuth scopes to ask for.
        open_browser: Open the consent page in the default browser as well.
        port: Loopback port for the redirect (0: any free port).
        timeout_seconds: How long to wait for the browser (None: forever).

    Returns:
        The new credentials (already saved to ``token_file``).

    Raises:
        ProviderError: the client secrets file is unusable, the person refused,
            the browser did not come back in time, or Google could not be reached.
    """
    config = _client_config(client_secrets)
    flow = InstalledAppFlow.from_client_config(config, scopes=list(scopes))
    try:
        # The library prints the prompt on stdout; meta output belongs on stderr.
        with contextlib.redirect_stdout(sys.stderr), _quiet_token_logs():
            credentials = flow.run_local_server(
                host="localhost",
                port=port,
                open_browser=open_browser,
                authorization_prompt_message=PROMPT,
                success_message="Secretary is connected. You may close this window.",
                timeout_seconds=timeout_seconds,
                # Without a fresh consent Google omits the refresh token on a second connect.
                prompt="consent",
            )
    except WSGITimeoutError:
        raise ProviderError(
            f"No answer came from the browser within {timeout_seconds:.0f} seconds; "
            "run the connect command again and approve access in the browser."
        ) from None
    except OAuth2Error as exc:
        # exc.error is a short code (access_denied, invalid_grant, ...), never a secret.
        raise ProviderError(
            f"Google did not grant access ({exc.error or 'authorization failed'}); "
            "run the connect command again and approve access in the browser."
        ) from None
    except RequestException:
        raise ProviderError(
            "Cannot reach Google's token endpoint to finish connecting; check the network "
            "and run the connect command again."
        ) from None
    except OSError as exc:
        raise ProviderError(
            f"Cannot listen on the loopback port for Google's answer ({exc.strerror or exc}); "
            "choose another port or close the program using it."
        ) from None
    if not credentials.refresh_token:
        log.warning("Google issued no refresh token; access will end when the token expires.")
    save_credentials(credentials, token_file)
    return credentials


def load_credentials(
    token_file: Path,
    scopes: list[str],
    *,
    token_uri: str | None = None,
    connect: str = "",
) -> Credentials:
    """The stored credentials, refreshed (and saved again) when expired.

    Args:
        token_file: The authorized-user JSON written by :func:`authorize`.
        scopes: The scopes the caller needs; the stored grant must cover them.
        token_uri: Another token endpoint (a stand-in). google-auth ignores the one
            stored in the file and always renews at Google's.
        connect: The command to suggest when the account must be connected again.

    Raises:
        ProviderError: no token, an unreadable token, missing scopes, a revoked
            grant, or Google unreachable while refreshing.
    """
    hint = connect or connect_command()
    token_file = Path(token_file)
    try:
        info = json.loads(token_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProviderError(
            f"The Google account is not connected yet (no token in {token_file}); run `{hint}`."
        ) from None
    except (OSError, ValueError):
        raise ProviderError(
            f"The Google token in {token_file} cannot be read; run `{hint}` to connect again."
        ) from None
    granted = info.get("scopes") if isinstance(info, dict) else None
    if isinstance(granted, list) and granted and not set(scopes) <= set(granted):
        raise ProviderError(
            f"The Google token in {token_file} lacks access this provider needs; "
            f"run `{hint}` to grant it."
        )
    try:
        credentials = Credentials.from_authorized_user_info(info, scopes=list(scopes))
    except (ValueError, TypeError, KeyError):
        raise ProviderError(
            f"The Google token in {token_file} is incomplete; run `{hint}` to connect again."
        ) from None
    if token_uri:
        expiry = credentials.expiry
        credentials = credentials.with_token_uri(token_uri)
        credentials.expiry = expiry  # the copy forgets it, and would then never refresh
    if credentials.valid:
        return credentials
    if not credentials.refresh_token:
        raise ProviderError(
            f"The Google access in {token_file} has expired and cannot be renewed; "
            f"run `{hint}` to connect again."
        )
    refresh(credentials, connect=hint)
    save_credentials(credentials, token_file)
    return credentials


def refresh(credentials: Credentials, *, connect: str = "") -> None:
    """Get a new access token with the refresh token.

    Raises:
        ProviderError: the grant was revoked or expired (connect again), or the
            token endpoint could not be reached (try again).
    """
    hint = connect or connect_command()
    try:
        with requests.Session() as session:
            credentials.refresh(google.auth.transport.requests.Request(session))
    except google.auth.exceptions.RefreshError:
        raise ProviderError(
            "Google refused to renew access (the permission was revoked or has expired); "
            f"run `{hint}` to connect again."
        ) from None
    except google.auth.exceptions.TransportError:
        raise ProviderError(
            "Cannot reach Google to renew access; check the network and try again."
        ) from None
