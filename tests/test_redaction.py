"""Secrets never reach secretary.log: keys, bearer tokens, passwords, approval tokens.

End to end, the real ``secretary`` entry point runs in a subprocess against
loopback servers that misbehave the way real ones do: a model server that
echoes the API key in its error, an IMAP server that echoes the password in
its refusal. The filter itself is checked on the shapes secrets come in.
"""

from __future__ import annotations

import logging
import os
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.foundation.logs import MASK, RedactingFilter, protect, redact, remember_secret
from tools.foundation.principals import Principal
from tools.foundation.settings import Settings, save_principal
from tools.providers.accounts import account_secret
from tools.providers.scripted import ScriptedOpenAIServer


def secretary(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    "key",
    ["sk-proj-Zq81vB7xLmN3pQ0rT5uW9yA2", "local-vllm-key-7f3a9c2e1b"],
    ids=["openai-style", "any-string"],
)
def test_a_model_server_echoing_the_key_leaves_no_key_in_the_log(
    isolated_home: Path, key: str
) -> None:
    echo = {"status": 401, "message": f"Incorrect API key provided: {key}. Check it."}
    with ScriptedOpenAIServer([echo] * 3) as srv:
        env = {
            **os.environ,
            "SECRETARY_MODEL": "m",
            "OPENAI_BASE_URL": srv.base_url,
            "OPENAI_API_KEY": key,
            "SECRETARY_MODEL_MAX_RETRIES": "0",
        }
        r = secretary(env, "ask", "hello")
        assert srv.chat_requests, "the model server was never asked"
    assert r.returncode == 1
    log = (isolated_home / "secretary.log").read_text()
    assert "model call failed" in log and "Incorrect API key provided" in log
    assert key not in log and key not in r.stderr and key not in r.stdout
    assert MASK in log


class EchoingImap(socketserver.StreamRequestHandler):
    """An IMAP server that refuses every login and repeats the credentials it got."""

    def handle(self) -> None:
        self.wfile.write(b"* OK [CAPABILITY IMAP4rev1 LOGIN] loopback ready\r\n")
        for raw in self.rfile:
            line = raw.decode(errors="replace").rstrip("\r\n")
            tag, _, rest = line.partition(" ")
            command = rest.split(" ", 1)[0].upper()
            if command == "CAPABILITY":
                self.wfile.write(
                    b"* CAPABILITY IMAP4rev1 LOGIN\r\n" + tag.encode() + b" OK done\r\n"
                )
            elif command == "LOGIN":
                said = rest[len("LOGIN ") :]
                self.wfile.write(
                    f"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials: {said}\r\n".encode()
                )
            elif command == "LOGOUT":
                self.wfile.write(b"* BYE\r\n" + tag.encode() + b" OK bye\r\n")
                return
            else:
                self.wfile.write(tag.encode() + b" BAD unknown\r\n")


@pytest.fixture
def echoing_imap() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), EchoingImap)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_an_imap_refusal_echoing_the_password_leaves_it_out_of_the_log(
    isolated_home: Path, echoing_imap: int
) -> None:
    password = "correct-horse-battery-4419"
    account = {
        "provider": "imap", "imap_host": "127.0.0.1", "imap_port": echoing_imap,
        "imap_security": "none", "smtp_host": "127.0.0.1", "smtp_port": echoing_imap,
        "username": "ada", "password": password, "timeout": 5,
    }  # fmt: skip
    ada = Principal(
        id="ada", name="Ada", email="ada@example.com", timezone="Europe/Berlin",
        accounts={"mail": account},
    )  # fmt: skip
    save_principal(ada, isolated_home / "secretary.toml")
    r = secretary(dict(os.environ), "mail-agent", "--once", "--no-model")
    assert r.returncode == 1
    log = (isolated_home / "secretary.log").read_text()
    assert "refused the login for ada" in log
    assert password not in log and password not in r.stderr


@pytest.fixture
def logfile(tmp_path: Path) -> Iterator[tuple[logging.Logger, Path]]:
    """A logger writing through a protected handler, as the secretary's own handlers do."""
    path = tmp_path / "test.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    protect(handler)
    logger = logging.getLogger("secretary.test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    yield logger, path
    logger.removeHandler(handler)
    handler.close()


def test_secrets_the_process_read_are_masked_in_messages_arguments_and_tracebacks(
    logfile: tuple[logging.Logger, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    logger, path = logfile
    monkeypatch.setenv("ADA_CALDAV_SECRET", "plain words no shape 42")
    from_env = account_secret({"password_env": "ADA_CALDAV_SECRET"}, "password")
    inline = account_secret({"client_secret": "Gq~8Q~tenant.secret_v4lue"}, "client_secret")
    key = Settings(openai_api_key="ollama-key-not-shaped-like-one").openai_api_key
    assert key is not None
    logger.warning("caldav said: wrong password %s", from_env)
    logger.info("token request sent %r", {"client": "x", "cs": inline})
    try:
        raise RuntimeError(f"server rejected {key.get_secret_value()}")
    except RuntimeError:
        logger.exception("model call failed")
    text = path.read_text()
    for secret in (from_env, inline, key.get_secret_value()):
        assert secret not in text
    assert "caldav said: wrong password ***" in text
    assert "RuntimeError: server rejected ***" in text


@pytest.mark.parametrize(
    ("line", "secret", "kept"),
    [
        ("POST /v1 Authorization: Bearer sec_Qm9vYmFyYmF6cXV4MTIzNDU2Nzg5", "sec_Qm9v", "Bearer"),
        ("headers={'authorization': 'Bearer ya29.a0AfH6SMBx-long-google'}", "ya29.a0", "Bearer"),
        ("Incorrect API key provided: sk-live-4eC39HqLyjWDarjtT1zdp7dc", "4eC39Hq", "provided:"),
        ("connect(api_key=abc123SECRETxyz, timeout=5)", "abc123SECRET", "timeout=5"),
        ('{"password": "p@ss word", "user": "ada"}', "p@ss word", '"user": "ada"'),
        ("smtp_password=Summer2026! for relay", "Summer2026!", "for relay"),
        ("X-Api-Key: 0f8e7d6c5b4a", "0f8e7d6c5b4a", "X-Api-Key"),
        ("postgresql://ada:s3cr3tPw@db.internal:5432/sec", "s3cr3tPw", "db.internal:5432"),
        ("Approve? Lunch [SEC 1a2b3c4d 0123456789abcdef]", "0123456789abcdef", "1a2b3c4d"),
        ("approval signing key " + "3f" * 32, "3f3f3f3f3f3f3f3f", "signing key"),
        ("slack auth with xoxb-1234567890-0987654321-AbCdEfGh", "AbCdEfGh", "slack auth"),
    ],
    ids=[
        "bearer-api-token", "bearer-google", "openai-key", "api_key=", "json-password",
        "smtp_password=", "x-api-key", "url-password", "approval-token", "signing-key",
        "slack-token",
    ],
)  # fmt: skip
def test_secret_shapes_are_masked_and_the_rest_of_the_line_kept(
    logfile: tuple[logging.Logger, Path], line: str, secret: str, kept: str
) -> None:
    logger, path = logfile
    logger.warning("%s", line)
    text = path.read_text()
    assert secret not in text and kept in text and MASK in text


def test_names_of_settings_and_ordinary_words_are_not_masked() -> None:
    for line in (
        'password_env = "ADA_IMAP_PASSWORD" in the account',
        "token_path /home/ada/tokens, proposal 1a2b3c4d approved",
        "Bearer of good news: the meeting moved",
        "refused approval mail <m1@acme.com>: wrong token",
    ):
        assert redact(line) == line


def test_short_values_are_not_remembered_as_secrets() -> None:
    remember_secret("pw")
    remember_secret("")
    remember_secret(None)
    assert redact("pw is a word in upward") == "pw is a word in upward"


def test_a_record_with_a_bad_format_still_reaches_the_handler() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d items", ("many",), None)
    assert RedactingFilter().filter(record) is True
