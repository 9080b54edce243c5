"""Serving a web app from the command line: the socket, uvicorn, and what to warn about.

Shared by ``secretary serve`` (the HTTP API, with Slack's events when configured)
and ``secretary slack --http``, which run the same FastAPI app on one port.
"""

from __future__ import annotations

import socket
from typing import Any

import click

from agent.cli.common import _consoles

LOOPBACK_NAMES = {"localhost", "ip6-localhost"}


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, or a sentence saying why there is none."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise click.ClickException(
            f"Cannot listen on {host}:{port} ({exc.strerror}); choose another --host or --port."
        ) from None
    return sock


def run_web(app: Any, sock: socket.socket) -> None:
    """Serve a FastAPI app with uvicorn on ``sock`` until Ctrl-C or SIGTERM."""
    import uvicorn

    from tools.foundation.logs import protect_loggers

    config = uvicorn.Config(app, log_level="warning", access_log=False)
    # uvicorn writes its own lines to stderr: they are masked like secretary.log's.
    protect_loggers("uvicorn", "uvicorn.error", "uvicorn.access")
    uvicorn.Server(config).run(sockets=[sock])


def warn_if_remote(host: str) -> None:
    """Say on stderr that tokens travel in clear text when ``host`` is not loopback."""
    if not is_loopback(host):
        _, err = _consoles()
        err.print(
            "[yellow]Listening beyond this machine: without a TLS proxy in front, tokens "
            "travel in clear text.[/]"
        )


def shown_host(host: str) -> str:
    """``host`` as it appears in a URL (IPv6 addresses in brackets)."""
    return f"[{host}]" if ":" in host else host
