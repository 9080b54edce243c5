"""Where memory's vectors live: embedded Chroma in the data directory, or a Chroma server.

One client per data directory (or server address) and process. A server that does not
answer is one clear :class:`VectorStoreUnreachable` sentence, whether it is down when the
memory is opened or goes away later (:class:`ServerCollection`), so recall by words keeps
working meanwhile.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tools.foundation.errors import SecretaryError


class VectorStoreUnreachable(SecretaryError):
    """The Chroma server holding memory's vectors cannot be reached."""


_CLIENTS: dict[str, Any] = {}
_CLIENTS_LOCK = threading.Lock()


def chroma_client(path: Path) -> Any:
    """One embedded Chroma client per data directory and process."""
    key = str(path)
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(key)
        if client is None:
            import chromadb
            from chromadb.config import Settings as ChromaSettings

            client = chromadb.PersistentClient(
                path=key, settings=ChromaSettings(anonymized_telemetry=False)
            )
            _CLIENTS[key] = client
        return client


def unreachable(url: str, exc: BaseException) -> VectorStoreUnreachable:
    """The sentence for a Chroma server that does not answer, and what to do."""
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return VectorStoreUnreachable(
        f"Cannot reach the Chroma server at {url} ({reason}); start it (`chroma run --path DIR"
        f" --host HOST --port PORT`) or correct SECRETARY_CHROMA_URL (empty keeps the vectors"
        f" in the data directory); recall by words works meanwhile."
    )


def is_connection_error(exc: BaseException) -> bool:
    """Whether an exception from a Chroma HTTP client means the server is not there."""
    import httpx

    if isinstance(exc, (httpx.TransportError, ConnectionError, TimeoutError)):
        return True
    return isinstance(exc, ValueError) and "could not connect" in str(exc).lower()


def _server_address(url: str) -> tuple[str, int, bool]:
    """Host, port and TLS of a Chroma server URL (``http://host:port`` or ``https://...``)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise VectorStoreUnreachable(
            f"The Chroma URL {url!r} is not an http://host:port address; set "
            "SECRETARY_CHROMA_URL to the server's address, or leave it empty to keep the "
            "vectors in the data directory."
        )
    tls = parts.scheme == "https"
    try:
        port = parts.port or (443 if tls else 8000)
    except ValueError:
        raise VectorStoreUnreachable(
            f"The Chroma URL {url!r} has an invalid port; set SECRETARY_CHROMA_URL to "
            "http://host:port."
        ) from None
    return parts.hostname, port, tls


def chroma_server(url: str) -> Any:
    """One client per Chroma server URL and process (``chromadb.HttpClient``).

    Raises:
        VectorStoreUnreachable: The URL is not usable or nothing answers there.
    """
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(url)
        if client is None:
            import chromadb
            from chromadb.config import Settings as ChromaSettings

            host, port, tls = _server_address(url)
            try:
                client = chromadb.HttpClient(
                    host=host,
                    port=port,
                    ssl=tls,
                    settings=ChromaSettings(anonymized_telemetry=False),
                )
                client.heartbeat()
            except Exception as exc:  # noqa: BLE001 - every way of not answering
                if is_connection_error(exc) or not isinstance(exc, ValueError):
                    raise unreachable(url, exc) from None
                raise
            _CLIENTS[url] = client
        return client


class ServerCollection:
    """A collection on a Chroma server whose lost connection is a clear error."""

    def __init__(self, collection: Any, url: str) -> None:
        self._collection = collection
        self._url = url

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._collection, name)
        if not callable(value):
            return value
        url = self._url

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return value(*args, **kwargs)
            except Exception as exc:
                if is_connection_error(exc):
                    raise unreachable(url, exc) from None
                raise

        return call
