"""A small Microsoft Graph HTTP client: bearer tokens, JSON, paging, throttling, plain errors.

Graph throttles with 429 (and sometimes 503) and says how long to wait in
``Retry-After``; the shared retry policy (:mod:`tools.providers.http`) waits
exactly that long, a bounded number of times, then gives up with a sentence.
A 401 gets one fresh token (the cached one may have been revoked) before it
counts as a refused sign-in. Every other failure becomes a
:class:`~tools.providers.base.ProviderError` (404: ``NotFound``).

The bearer token is only ever sent to the configured Graph base URL: paging
links and stored cursors pointing elsewhere are refused.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol
from urllib.parse import urlparse

import httpx

from tools.providers.base import NotFound, ProviderError
from tools.providers.http import Retry, RetryPolicy, retry_after, worth_retrying

log = logging.getLogger(__name__)

GRAPH_URL = "https://graph.microsoft.com/v1.0"
MAX_RETRIES = 4
MAX_WAIT = 120.0
"""Longest single wait (seconds) the client accepts; a longer Retry-After fails at once."""


class TokenSource(Protocol):
    """Where the client gets its bearer tokens (``MicrosoftAuth`` in production)."""

    @property
    def signin_hint(self) -> str:
        """What a person should do when the sign-in is refused."""
        ...

    def acquire_token(self) -> str:
        """A currently valid access token."""
        ...

    def invalidate(self, token: str) -> None:
        """Forget a token the server refused."""
        ...


class GraphError(ProviderError):
    """Graph answered with an error status."""

    def __init__(self, message: str, status: int, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class GraphNotFound(NotFound, GraphError):
    """Graph answered 404: the object does not exist (or is not visible to this app)."""


class GraphClient:
    """Requests to one Graph endpoint with one principal's tokens."""

    def __init__(
        self,
        auth: TokenSource,
        *,
        base_url: str = GRAPH_URL,
        verify: ssl.SSLContext | bool = True,
        timeout: float = 30.0,
        max_retries: int = MAX_RETRIES,
        sleep: Callable[[float], None] = time.sleep,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Prepare the client (connections are opened on first use).

        Args:
            auth: Supplies and invalidates bearer tokens.
            base_url: Graph's versioned root, e.g. ``https://graph.microsoft.com/v1.0``.
            verify: TLS trust for httpx (an SSL context for a private CA).
            timeout: Seconds to wait for connecting and for each answer.
            max_retries: How many failed tries are retried per request (see ``http``).
            sleep: Waits the given seconds; tests inject one that records the waits.
            headers: Sent with every request (a request's own headers win).
        """
        self.base_url = base_url.rstrip("/")
        self._auth = auth
        self._policy = RetryPolicy(
            "Microsoft Graph", attempts=max(0, max_retries) + 1, max_wait=MAX_WAIT
        )
        self._sleep = sleep
        self._timeout = timeout
        self._headers = dict(headers or {})
        self._http = httpx.Client(verify=verify, timeout=timeout, follow_redirects=False)

    def __repr__(self) -> str:
        return f"GraphClient({self.base_url!r})"

    def close(self) -> None:
        """Close pooled connections."""
        self._http.close()

    # ------------------------------------------------------------ requests

    def url(self, path_or_url: str) -> str:
        """An absolute URL under the base URL.

        Raises:
            ProviderError: for an absolute URL elsewhere (the token must not go there).
        """
        if "://" not in path_or_url:
            return self.base_url + "/" + path_or_url.lstrip("/")
        if not (path_or_url == self.base_url or path_or_url.startswith(self.base_url + "/")):
            raise ProviderError(
                f"Refusing to send the Microsoft 365 sign-in to {urlparse(path_or_url).netloc}, "
                f"which is not the configured Graph address {self.base_url}."
            )
        return path_or_url

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One request with retries for throttling and one token refresh for 401.

        Raises:
            ProviderError: for every failure (``NotFound`` for 404, ``GraphError`` for
                other error statuses).
        """
        url = self.url(path)
        where = urlparse(url).path
        refreshed = False

        def once() -> httpx.Response:
            nonlocal refreshed
            token = self._auth.acquire_token()
            sent = {"Accept": "application/json", **self._headers, **(headers or {})}
            sent["Authorization"] = f"Bearer {token}"
            try:
                resp = self._http.request(
                    method, url, params=params, json=json, content=content, headers=sent
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                raise Retry(
                    ProviderError(
                        f"Cannot reach Microsoft Graph at {urlparse(url).netloc} "
                        f"({type(exc).__name__}); check the network connection and try again."
                    )
                ) from None
            except httpx.TimeoutException:
                raise ProviderError(
                    f"Microsoft Graph did not answer within {self._timeout:g} s; "
                    "try again in a moment."
                ) from None
            except httpx.HTTPError as exc:
                raise ProviderError(
                    f"Cannot reach Microsoft Graph at {urlparse(url).netloc} "
                    f"({type(exc).__name__}); check the network connection and try again."
                ) from None
            log.debug("Graph %s %s -> %s", method, where, resp.status_code)
            if resp.status_code == 401 and not refreshed:
                # A cached token may have been revoked early; one fresh token settles it.
                refreshed = True
                self._auth.invalidate(token)
                return once()
            if worth_retrying(resp.status_code, repeatable=method.upper() != "POST"):
                raise Retry(self._busy(resp), wait=retry_after(resp.headers.get("Retry-After")))
            if resp.is_success:
                return resp
            raise self._error(resp, method, where)

        return self._policy.call(once, f"{method} {where}", sleep=self._sleep)

    @staticmethod
    def _busy(resp: httpx.Response) -> GraphError:
        """The sentence for a retried answer, raised when no retry succeeds."""
        status = resp.status_code
        why = "too many requests" if status == 429 else "server busy or failing"
        return GraphError(
            f"Microsoft Graph kept refusing with HTTP {status} ({why}); "
            "wait a few minutes and try again.",
            status,
        )

    def _error(self, resp: httpx.Response, method: str, where: str) -> GraphError:
        code, detail = _error_detail(resp)
        said = f" ({code}: {detail})" if detail else f" ({code})" if code else ""
        status = resp.status_code
        if status == 404:
            return GraphNotFound(
                f"Microsoft Graph has no such object at {where}{said}.", status, code
            )
        if status == 401:
            return GraphError(
                f"Microsoft Graph refused the sign-in (HTTP 401){said}. {self._auth.signin_hint}",
                status,
                code,
            )
        if status == 403:
            return GraphError(
                f"Microsoft Graph denied access to {where} (HTTP 403){said}. The app lacks a "
                f"permission or the mailbox is not shared with it. {self._auth.signin_hint}",
                status,
                code,
            )
        if status >= 500:
            return GraphError(
                f"Microsoft Graph had a server error (HTTP {status}){said}; try again later.",
                status,
                code,
            )
        return GraphError(
            f"Microsoft Graph rejected {method} {where} (HTTP {status}){said}.", status, code
        )

    # -------------------------------------------------------------- helpers

    def get_json(
        self,
        path: str,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """GET a JSON object."""
        return _json(self.request("GET", path, params=params, headers=headers), path)

    def post_json(self, path: str, body: Any) -> dict[str, Any]:
        """POST a JSON body; the JSON answer, or ``{}`` when there is none (202, 204)."""
        resp = self.request("POST", path, json=body)
        return _json(resp, path) if resp.content else {}

    def get_bytes(self, path: str) -> bytes:
        """GET raw bytes (e.g. a message's MIME at ``/messages/{id}/$value``)."""
        return self.request("GET", path, headers={"Accept": "*/*"}).content

    def pages(
        self,
        path: str,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Each page of a collection, following ``@odata.nextLink`` to the end."""
        url: str | None = path
        query = params
        while url:
            page = _json(self.request("GET", url, params=query, headers=headers), path)
            yield page
            link = page.get("@odata.nextLink")
            url = link if isinstance(link, str) and link else None
            query = None  # the next link carries the whole query already

    def items(
        self,
        path: str,
        params: Mapping[str, str | int] | None = None,
        limit: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The ``value`` items of every page, at most ``limit`` of them."""
        count = 0
        for page in self.pages(path, params, headers):
            for item in page.get("value") or []:
                if limit is not None and count >= limit:
                    return
                if isinstance(item, dict):
                    count += 1
                    yield item
            if limit is not None and count >= limit:
                return


def odata_quote(value: str) -> str:
    """A string literal for ``$filter`` (single quotes doubled, as OData escapes them)."""
    return "'" + value.replace("'", "''") + "'"


def _json(resp: httpx.Response, path: str) -> dict[str, Any]:
    try:
        data = resp.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ProviderError(
            f"Microsoft Graph sent an unreadable answer for {urlparse(path).path or path}; "
            "try again later."
        )
    return data


def _error_detail(resp: httpx.Response) -> tuple[str, str]:
    """Graph's ``{"error": {"code", "message"}}``, shortened; empty when absent."""
    try:
        data = resp.json()
    except ValueError:
        return "", ""
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return "", ""
    code = str(error.get("code") or "")
    message = " ".join(str(error.get("message") or "").split())[:300]
    return code, message
