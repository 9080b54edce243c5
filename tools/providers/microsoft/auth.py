"""Signing in to Microsoft 365 with msal, shared by the Graph mail and calendar providers.

Two kinds of account, chosen by whether a client secret is configured:

* **A person** (no secret): a public client signs in once with the device-code
  flow (``secretary connect microsoft --principal ID`` prints a code to enter
  at a Microsoft page); afterwards tokens come silently from the cache and the
  refresh token. Graph paths start with ``/me``.
* **A service** (``client_secret``, ``client_secret_env`` or
  ``client_secret_file``): a confidential client uses the client-credentials
  flow with the ``https://graph.microsoft.com/.default`` scope and acts on the
  mailbox named by ``user`` (Graph paths ``/users/{user}``). The tenant must
  be named, because an app token is issued by one directory.

Account keys: ``client_id`` (required), ``tenant`` (default ``organizations``),
``authority`` (default ``https://login.microsoftonline.com/<tenant>``),
``user``, ``scopes`` (delegated scopes of a person), ``ca_file`` (a CA bundle
to trust, e.g. for a private sign-in endpoint).

The msal token cache is kept in ``tokens/microsoft.json`` in the principal's
directory, owner-only (0600), and rewritten only when it changed. Tokens never
appear in messages, log lines or reprs.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import msal
import requests
from msal.authority import WELL_KNOWN_AUTHORITY_HOSTS

from tools.providers.accounts import MicrosoftAccount, token_path, write_private
from tools.providers.base import ProviderError

log = logging.getLogger(__name__)

CACHE_FILE = "microsoft.json"
APP_SCOPE = "https://graph.microsoft.com/.default"
# One consent covers mail and calendar, so adding the calendar later needs no new sign-in.
# msal adds openid, profile and offline_access (the refresh token) itself.
DEFAULT_SCOPES = ("Mail.ReadWrite", "Mail.Send", "Calendars.ReadWrite")
# An app token belongs to one directory; these multi-tenant names cannot issue one.
_SHARED_TENANTS = {"common", "organizations", "consumers"}
_OPENID_SCOPES = {"openid", "profile", "offline_access"}


class MicrosoftAuth:
    """Access tokens for Microsoft Graph for one principal's Microsoft 365 account."""

    def __init__(
        self, account: MicrosoftAccount | Mapping[str, Any], principal_id: str, root: Path
    ) -> None:
        """Read the account settings; nothing is contacted until a token is needed.

        Args:
            account: The principal's account settings for this provider.
            principal_id: Whose account it is (named in the messages that say what to run).
            root: The principal's data directory (the token cache lives under ``tokens/``).

        Raises:
            ProviderError: when a required setting is missing.
        """
        self.principal_id = principal_id
        account = MicrosoftAccount.of(account)
        client_id = account.client_id.strip()
        if not client_id:
            raise ProviderError(
                "The Microsoft 365 account has no client_id: register an app in Microsoft "
                "Entra and put its Application (client) ID in the principal's accounts settings."
            )
        self.client_id = client_id
        self.tenant = (account.tenant or "organizations").strip()
        self.authority = (
            account.authority or f"https://login.microsoftonline.com/{self.tenant}"
        ).rstrip("/")
        self.user = account.user.strip()
        ca_file = account.ca_file.strip()
        self.ca_file = str(Path(ca_file).expanduser()) if ca_file else ""
        self._secret = account.secret("client_secret", required=False)
        self.is_app = bool(self._secret)
        if self.is_app:
            if not self.user:
                raise ProviderError(
                    "The Microsoft 365 account uses an app secret but names no mailbox: set "
                    "user (the mailbox's address, e.g. ada@contoso.com) in its settings."
                )
            if account.authority is None and self.tenant.lower() in _SHARED_TENANTS:
                raise ProviderError(
                    "An app with a client secret signs in to one directory: set tenant to your "
                    "Microsoft Entra tenant ID or domain (e.g. contoso.onmicrosoft.com)."
                )
        scopes = account.scopes or DEFAULT_SCOPES
        if isinstance(scopes, str):
            scopes = scopes.split()
        # msal adds the OpenID scopes itself and refuses them when they are passed in.
        delegated = [str(s) for s in scopes if str(s) not in _OPENID_SCOPES]
        self.scopes = [APP_SCOPE] if self.is_app else delegated
        self.cache_path = token_path(Path(root), CACHE_FILE)
        self._cache = msal.SerializableTokenCache()
        self._cache_stamp: tuple[int, int] | None = None
        self._app: msal.ClientApplication | None = None
        self._http: _SignInHttp | None = None
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        kind = "app" if self.is_app else "delegated"
        return (
            f"MicrosoftAuth(principal={self.principal_id!r}, client_id={self.client_id!r}, {kind})"
        )

    def close(self) -> None:
        """Close the sign-in service's pooled connections."""
        if self._http is not None:
            self._http.close()

    # ------------------------------------------------------------ settings

    @property
    def mailbox_path(self) -> str:
        """The Graph path prefix of the mailbox: ``/me`` or ``/users/{user}``."""
        return f"/users/{quote(self.user, safe='@')}" if self.is_app else "/me"

    @property
    def verify(self) -> ssl.SSLContext | bool:
        """What HTTPS clients should trust: the configured CA bundle, else the system's."""
        if not self.ca_file:
            return True
        try:
            return ssl.create_default_context(cafile=self.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ProviderError(
                f"Cannot read the CA file {self.ca_file} of the Microsoft 365 account: "
                f"{getattr(exc, 'strerror', None) or exc}."
            ) from None

    @property
    def signin_hint(self) -> str:
        """What a person should do when Microsoft refuses the sign-in."""
        if self.is_app:
            return (
                "Check the app's client secret and that an administrator granted it the "
                "Mail.ReadWrite, Mail.Send and Calendars.ReadWrite application permissions."
            )
        return (
            f"Run `secretary connect microsoft --principal {self.principal_id}` to sign in again."
        )

    # --------------------------------------------------------------- cache

    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = self.cache_path.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _load_cache(self) -> None:
        """Read the cache file when another process (a sign-in) changed it since we last did."""
        stamp = self._stamp()
        if stamp is None or stamp == self._cache_stamp:
            return
        try:
            self._cache.deserialize(self.cache_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            # A broken cache only costs a new sign-in; it must not stop the provider.
            log.warning("Ignoring the unreadable token cache %s (%s)", self.cache_path, exc)
            self._cache = msal.SerializableTokenCache()
            self._app = None
        self._cache_stamp = stamp

    def _save_cache(self) -> None:
        if self._cache.has_state_changed:
            write_private(self.cache_path, self._cache.serialize())
            self._cache.has_state_changed = False
            self._cache_stamp = self._stamp()

    # ----------------------------------------------------------------- msal

    def _application(self) -> msal.ClientApplication:
        if self._app is not None:
            return self._app
        host = (urlparse(self.authority).hostname or "").lower()
        # Only Microsoft's own sign-in hosts can be checked against Microsoft's instance
        # list; any other authority (a private or test tenant) is found by OIDC discovery.
        known = host in WELL_KNOWN_AUTHORITY_HOSTS
        options: dict[str, Any] = {
            "authority": self.authority,
            "token_cache": self._cache,
            "http_client": self._http or _SignInHttp(self.ca_file or True),
        }
        self._http = options["http_client"]
        if not known:
            options.update(validate_authority=False, instance_discovery=False)
        try:
            if self.is_app:
                app: msal.ClientApplication = msal.ConfidentialClientApplication(
                    self.client_id, client_credential=self._secret, **options
                )
            else:
                app = msal.PublicClientApplication(self.client_id, **options)
        except ValueError as exc:
            reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            raise ProviderError(
                f"The Microsoft sign-in service at {self.authority} did not accept the "
                f"account's tenant or authority ({reason}). Check tenant and authority."
            ) from None
        except OSError as exc:
            raise _unreachable(self.authority, exc) from None
        self._app = app
        return app

    def acquire_token(self) -> str:
        """An access token for Graph: from the cache, refreshed silently when expired.

        Raises:
            ProviderError: when nobody signed in yet, the sign-in expired, or Microsoft
                refused or could not be reached.
        """
        with self._lock:
            self._load_cache()
            app = self._application()
            try:
                if isinstance(app, msal.ConfidentialClientApplication):
                    # msal looks in the cache first and only asks the token endpoint on a miss.
                    result = app.acquire_token_for_client(scopes=self.scopes)
                else:
                    result = self._silent(app)
            except OSError as exc:
                raise _unreachable(self.authority, exc) from None
            finally:
                self._save_cache()
            token = result.get("access_token") if result else None
            if not isinstance(token, str) or not token:
                raise ProviderError(
                    f"Microsoft refused to issue a token ({_refusal(result or {})}). "
                    f"{self.signin_hint}"
                )
            return token

    def _silent(self, app: msal.ClientApplication) -> dict[str, Any] | None:
        accounts = app.get_accounts(username=self.user or None)
        if not accounts:
            raise ProviderError(
                f"Microsoft 365 is not connected for {self.principal_id}{_who(self.user)}: run "
                f"`secretary connect microsoft --principal {self.principal_id}` and sign in."
            )
        result = app.acquire_token_silent_with_error(self.scopes, accounts[0])
        if result is None:
            raise ProviderError(
                f"The Microsoft 365 sign-in of {self.principal_id} has expired. {self.signin_hint}"
            )
        return dict(result)

    def invalidate(self, token: str) -> None:
        """Forget an access token Graph refused, so the next one is fetched anew."""
        with self._lock:
            self._load_cache()
            # A list first: removing while msal's search generator runs breaks its iteration.
            for item in list(self._cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
                if item.get("secret") == token:
                    self._cache.remove_at(item)
            self._save_cache()

    def device_login(self, print_fn: Callable[[str], None] = print) -> str:
        """Sign a person in with the device-code flow; blocks until done or expired.

        Args:
            print_fn: Shows the instructions (the page to open and the code to enter).

        Returns:
            The signed-in user name (usually the e-mail address).

        Raises:
            ProviderError: for a service account (it needs no sign-in) or when the sign-in
                was declined, expired or Microsoft could not be reached.
        """
        if self.is_app:
            raise ProviderError(
                "This Microsoft 365 account signs in with its app secret; no interactive "
                "sign-in is needed."
            )
        with self._lock:
            self._load_cache()
            app = self._application()
            assert isinstance(app, msal.PublicClientApplication)
            try:
                flow = app.initiate_device_flow(scopes=self.scopes)
                if "user_code" not in flow:
                    raise ProviderError(
                        f"Microsoft did not start the sign-in ({_refusal(flow)}). Check the "
                        "app registration allows public client flows."
                    )
                print_fn(str(flow.get("message") or _instructions(flow)))
                result = app.acquire_token_by_device_flow(flow)
            except OSError as exc:
                raise _unreachable(self.authority, exc) from None
            finally:
                self._save_cache()
            if "access_token" not in result:
                raise ProviderError(
                    f"The Microsoft sign-in did not complete ({_refusal(result)}). "
                    "Run the command again and enter the code before it expires."
                )
            claims = result.get("id_token_claims") or {}
            return str(claims.get("preferred_username") or claims.get("upn") or self.user or "")


class _SignInHttp:
    """The HTTP client msal uses: requests, with our CA bundle and timeout on every call.

    A session-wide ``verify`` (what msal sets itself) loses to the ``REQUESTS_CA_BUNDLE``
    environment variable; a per-request one wins, so a configured ``ca_file`` is honoured.
    """

    def __init__(self, verify: str | bool, timeout: float = 30.0) -> None:
        self._session = requests.Session()
        self._verify = verify
        self._timeout = timeout

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("verify", self._verify)
        kwargs.setdefault("timeout", self._timeout)
        return self._session.post(url, **kwargs)

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("verify", self._verify)
        kwargs.setdefault("timeout", self._timeout)
        return self._session.get(url, **kwargs)

    def close(self) -> None:
        self._session.close()


def _who(user: str) -> str:
    return f" ({user})" if user else ""


def _instructions(flow: Mapping[str, Any]) -> str:
    return f"Open {flow.get('verification_uri')} and enter the code {flow.get('user_code')}."


def _refusal(result: Mapping[str, Any]) -> str:
    """``code: first line of the description``; Microsoft appends trace ids on later lines."""
    code = str(result.get("error") or "no token in the answer")
    description = str(result.get("error_description") or "").strip()
    first = description.splitlines()[0][:300] if description else ""
    return f"{code}: {first}" if first else code


def _unreachable(authority: str, exc: OSError) -> ProviderError:
    host = urlparse(authority).netloc or authority
    reason = type(exc).__name__
    return ProviderError(
        f"Cannot reach the Microsoft sign-in service at {host} ({reason}); "
        "check the network connection and try again."
    )
