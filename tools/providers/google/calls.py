"""Calling Google APIs: retries, the token keeper and a thread-safe transport per thread.

Rate limits (429, or 403 with a rate reason) and server errors go through the
shared retry policy (:mod:`tools.providers.http`: Retry-After or a jittered
backoff, a bounded budget); a wait longer than ``MAX_WAIT`` is not sat out.
Everything else becomes the provider's own :class:`ProviderError` sentence.
A token the client library renewed on its own is saved again (0600).

google-api-python-client sends through ``httplib2.Http``, which is not
thread-safe (its docs: each thread needs its own), while one provider serves
the mail desk, Slack DMs and the web inbox at once. :class:`ThreadHttp` gives
every thread its own authorized ``Http`` for the same credentials.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import google.auth.exceptions
import google_auth_httplib2
import httplib2
from google.oauth2.credentials import Credentials
from googleapiclient.errors import HttpError
from googleapiclient.http import build_http

from tools.providers.base import ProviderError
from tools.providers.google.auth import save_credentials
from tools.providers.http import Retry, RetryPolicy, retry_after, worth_retrying

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_WAIT = 60.0
"""Longest Retry-After (seconds) worth waiting for inside one request."""


def reasons(exc: HttpError) -> set[str]:
    """The ``reason`` codes of a Google error answer."""
    try:
        data = json.loads(exc.content.decode("utf-8"))
        return {str(e.get("reason", "")) for e in data["error"].get("errors", [])}
    except (ValueError, KeyError, TypeError, AttributeError):
        return set()


def _retry_after(exc: HttpError) -> float | None:
    """The wait a Google error answer asks for (``Retry-After``), if any."""
    return retry_after(exc.resp.get("retry-after") if exc.resp is not None else None)


class ThreadHttp:
    """Executes API requests on an ``httplib2.Http`` of the calling thread's own.

    With credentials, each thread gets an authorized ``Http`` (kept for its
    later requests, so connections are reused; closed once the thread has
    ended). A transport handed over whole (a test's mock, a service built
    elsewhere) cannot be copied; requests on it take turns instead.
    """

    def __init__(self, credentials: Any = None) -> None:
        """Serve ``credentials`` (None: use each request's own transport, one at a time)."""
        self._credentials = credentials
        self._turn = threading.Lock()
        self._by_thread: dict[threading.Thread, Any] = {}

    def execute(self, request: Any) -> Any:
        """``request.execute()`` once (retries are the caller's), on this thread's transport."""
        if self._credentials is None:
            with self._turn:
                return request.execute(num_retries=0)
        return request.execute(num_retries=0, http=self._http())

    def _http(self) -> Any:
        me = threading.current_thread()
        http = self._by_thread.get(me)
        if http is not None:
            return http
        http = google_auth_httplib2.AuthorizedHttp(self._credentials, http=build_http())
        with self._turn:
            # Threads come and go (pools shrink): close what the ended ones left open.
            ended = [self._by_thread.pop(t) for t in list(self._by_thread) if not t.is_alive()]
            self._by_thread[me] = http
        for old in ended:
            old.close()
        return http

    def close(self) -> None:
        """Close the connections of every thread's transport (they reconnect when used again)."""
        with self._turn:
            https, self._by_thread = list(self._by_thread.values()), {}
        for http in https:
            http.close()


class GoogleCalls:
    """What the Google providers share: the retry policy and the token keeper.

    A provider sets ``label`` ("Gmail"), ``access`` ("Gmail"), ``rate_reasons``,
    calls :meth:`_keep_credentials` in its constructor, and has ``_retries``,
    ``_sleep``, ``_connect`` and ``_translate(exc, what)``.
    """

    label = "Google"
    """How the service is named in messages ("Gmail", "Google Calendar")."""
    access = "the account"
    """What access is renewed ("Gmail", "the calendar")."""
    rate_reasons: frozenset[str] = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
    _retries: int
    _sleep: Callable[[float], None]
    _connect: str
    _credentials: Credentials | None
    _token_file: Path | None
    _saved_token: str | None

    def _translate(self, exc: HttpError, what: str) -> ProviderError:
        raise NotImplementedError

    def _keep_credentials(self, credentials: Credentials | None, token_file: Path | None) -> None:
        """Remember the credentials and where a renewed token is saved again."""
        self._credentials = credentials
        self._token_file = token_file
        self._saved_token = credentials.token if credentials is not None else None

    def _keep_token(self) -> None:
        """Save a token the client library renewed on its own, so the next run starts valid."""
        creds = self._credentials
        if creds is None or self._token_file is None or creds.token == self._saved_token:
            return
        self._saved_token = creds.token
        try:
            save_credentials(creds, self._token_file)
        except OSError as exc:
            log.warning("Could not save the renewed Google token: %s", exc.strerror or exc)

    def _rate_limited(self, exc: HttpError) -> bool:
        status = exc.resp.status if exc.resp is not None else 0
        return status == 429 or (status == 403 and bool(reasons(exc) & self.rate_reasons))

    def _retrying(self, attempt: Callable[[], T], what: str) -> T:
        """Run ``attempt`` under the shared retry policy (:mod:`tools.providers.http`).

        Every Google request is safe to repeat: reads are reads, and writes carry
        ids chosen here or look for their own earlier result before sending again.
        """

        def once() -> T:
            try:
                result = attempt()
            except HttpError as exc:
                status = exc.resp.status if exc.resp is not None else 0
                if self._rate_limited(exc):
                    status = 429  # Google's 403 with a rate reason means the same
                if not worth_retrying(status):
                    raise self._translate(exc, what) from None
                raise Retry(self._translate(exc, what), wait=_retry_after(exc)) from None
            except google.auth.exceptions.RefreshError:
                raise ProviderError(
                    f"Google refused to renew access to {self.access} (the permission was "
                    f"revoked or has expired); run `{self._connect}` to connect again."
                ) from None
            except (OSError, httplib2.HttpLib2Error, google.auth.exceptions.TransportError):
                raise Retry(
                    ProviderError(
                        f"Cannot reach {self.label} to {what}; check the network connection "
                        "and try again."
                    )
                ) from None
            self._keep_token()
            return result

        policy = RetryPolicy(self.label, attempts=self._retries + 1, max_wait=MAX_WAIT)
        return policy.call(once, what, sleep=self._sleep)
