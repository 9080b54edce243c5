"""Calling Google APIs: one retry loop and one thread-safe transport for Gmail and Calendar.

Rate limits (429, or 403 with a rate reason) and server errors are retried
with the wait Google asks for (Retry-After) or a jittered backoff; a wait
longer than ``MAX_WAIT`` is not sat out. Everything else becomes the
provider's own :class:`ProviderError` sentence.

google-api-python-client sends through ``httplib2.Http``, which is not
thread-safe (its docs: each thread needs its own), while one provider serves
the mail desk, Slack DMs and the web inbox at once. :class:`ThreadHttp` gives
every thread its own authorized ``Http`` for the same credentials.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import google.auth.exceptions
import google_auth_httplib2
import httplib2
from googleapiclient.errors import HttpError
from googleapiclient.http import build_http

from tools.providers.base import ProviderError

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


def retry_after(exc: HttpError) -> float | None:
    """The Retry-After seconds of an error answer, if given in seconds."""
    value = exc.resp.get("retry-after") if exc.resp is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:  # an HTTP date: rare from Google; fall back to backoff
        return None


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
    """The retry loop shared by the Google providers.

    A provider sets ``label`` ("Gmail"), ``access`` ("Gmail"), ``rate_reasons``,
    and has ``_retries``, ``_sleep``, ``_connect``, ``_keep_token()`` and
    ``_translate(exc, what)``.
    """

    label = "Google"
    """How the service is named in messages ("Gmail", "Google Calendar")."""
    access = "the account"
    """What access is renewed ("Gmail", "the calendar")."""
    rate_reasons: frozenset[str] = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
    _retries: int
    _sleep: Callable[[float], None]
    _connect: str

    def _keep_token(self) -> None:
        raise NotImplementedError

    def _translate(self, exc: HttpError, what: str) -> ProviderError:
        raise NotImplementedError

    def _rate_limited(self, exc: HttpError) -> bool:
        status = exc.resp.status if exc.resp is not None else 0
        return status == 429 or (status == 403 and bool(reasons(exc) & self.rate_reasons))

    def _retrying(self, attempt: Callable[[], T], what: str) -> T:
        """Run ``attempt`` until it succeeds, retrying what is worth retrying."""
        for n in range(self._retries + 1):
            wait: float | None = None
            try:
                result = attempt()
            except HttpError as exc:
                status = exc.resp.status if exc.resp is not None else 0
                if not (self._rate_limited(exc) or status >= 500):
                    raise self._translate(exc, what) from None
                failure = self._translate(exc, what)
                wait = retry_after(exc)
            except google.auth.exceptions.RefreshError:
                raise ProviderError(
                    f"Google refused to renew access to {self.access} (the permission was "
                    f"revoked or has expired); run `{self._connect}` to connect again."
                ) from None
            except (OSError, httplib2.HttpLib2Error, google.auth.exceptions.TransportError):
                failure = ProviderError(
                    f"Cannot reach {self.label} to {what}; check the network connection and "
                    "try again."
                )
            else:
                self._keep_token()
                return result
            if n == self._retries:
                break
            delay = wait if wait is not None else min(2.0**n, 30.0) * (0.5 + random.random() / 2)
            if delay > MAX_WAIT:
                raise ProviderError(
                    f"{self.label} asks to wait {delay:.0f} seconds before the next request; "
                    "try again later."
                )
            log.info(
                "%s could not %s (attempt %d); retrying in %.1f s", self.label, what, n + 1, delay
            )
            self._sleep(delay)
        raise failure
