"""A real Chroma server on loopback for the tests, from the ``chromadb`` package.

``chroma_server`` (one per test session) runs ``chroma run`` with its data in
a temporary directory on a free port of 127.0.0.1, with anonymous telemetry
off, waits until its heartbeat answers and stops it at the end. A server
that is missing or does not start fails the tests with its output; it never
skips them.

Tests sharing the server keep apart by their collection names: give each
test its own principal id (:func:`unique_principal`).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

HOST = "127.0.0.1"
START_TIMEOUT = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _chroma_program() -> Path:
    """The ``chroma`` command installed beside this Python."""
    return Path(sys.executable).parent / "chroma"


@dataclass
class ChromaServer:
    """One running Chroma server: its URL, folder and how long it took to start."""

    url: str
    dir: Path
    started_in: float

    def log(self) -> str:
        path = self.dir / "chroma.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="session")
def chroma_server() -> Iterator[ChromaServer]:
    program = _chroma_program()
    if not program.exists():
        pytest.fail(
            f"{program} is missing: the chromadb package (which brings `chroma run`) is not "
            "installed in this environment.",
            pytrace=False,
        )
    folder = Path(tempfile.mkdtemp(prefix="secretary-chroma-"))
    port = _free_port()
    url = f"http://{HOST}:{port}"
    env = {
        **os.environ,
        "ANONYMIZED_TELEMETRY": "False",
        "CHROMA_ANONYMIZED_TELEMETRY": "False",
        "NO_COLOR": "1",
    }
    for var in ("OTEL_EXPORTER_OTLP_ENDPOINT", "HTTP_PROXY", "HTTPS_PROXY"):
        env.pop(var, None)
    log = open(folder / "chroma.log", "wb")  # noqa: SIM115 - closed at teardown
    started = time.monotonic()
    proc = subprocess.Popen(
        [str(program), "run", "--path", str(folder / "data"), "--host", HOST, "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        cwd=folder,
        env=env,
    )
    try:
        while not _answers(url):
            if proc.poll() is not None or time.monotonic() - started > START_TIMEOUT:
                log.flush()
                pytest.fail(
                    f"The Chroma server did not start (exit code {proc.poll()}):\n"
                    + ChromaServer(url, folder, 0.0).log(),
                    pytrace=False,
                )
            time.sleep(0.05)
        yield ChromaServer(url=url, dir=folder, started_in=time.monotonic() - started)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def chroma_url(chroma_server: ChromaServer) -> str:
    """The URL of the session's Chroma server."""
    return chroma_server.url


def unique_principal(prefix: str = "p") -> str:
    """A principal id no other test uses (its collection is ``mem-<id>``)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
