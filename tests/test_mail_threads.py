"""One mail provider, many threads: the desk, Slack DMs and the web inbox share it.

Every answer must be the right one and no call may fail, against real Dovecot,
the Gmail loopback stand-in (real google-api-python-client and httplib2) and
the Graph one (real httpx and msal).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from google.oauth2.credentials import Credentials
from google_standin import GoogleStandIn
from graph_standin import GraphStandIn
from mailfactory import eml
from servers import Dovecot

from tools.foundation.principals import Principal
from tools.providers.google.gmail import SCOPES, GmailMail
from tools.providers.imap_smtp import ImapSmtpMail, open_mail
from tools.providers.microsoft import mail as graph_mail

TZ = ZoneInfo("Europe/Berlin")
TOPICS = 8


def hammer(
    calls: Callable[[int, int], tuple[Any, Any]], threads: int, rounds: int
) -> tuple[list[str], list[str], int]:
    """Run ``calls(thread, round)`` -> (got, expected) from several threads at once.

    Returns the wrong answers, the exceptions, and how many calls were made.
    """
    wrong: list[str] = []
    errors: list[str] = []
    done = [0]
    start = threading.Barrier(threads)

    def work(n: int) -> None:
        start.wait()
        for k in range(rounds):
            try:
                got, expected = calls(n, k)
            except Exception as exc:  # noqa: BLE001 - every failure is the finding
                errors.append(f"{type(exc).__name__}: {exc}")
            else:
                if got != expected:
                    wrong.append(f"{got!r} instead of {expected!r}")
            done[0] += 1

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    return wrong, errors, done[0]


def searches_and_reads(mail: Any) -> Callable[[int, int], tuple[Any, Any]]:
    """Alternate a word search and a read by Message-ID; each names one topic's message."""

    def call(n: int, k: int) -> tuple[Any, Any]:
        i = (n * 3 + k) % TOPICS
        if k % 2:
            return [m.message_id for m in mail.search(query=f"word{i}x")], [f"<t{i}@acme.test>"]
        return mail.get_message(f"t{i}@acme.test").subject, f"Topic {i}"

    return call


def topic(i: int) -> bytes:
    return eml(subject=f"Topic {i}", body=f"About word{i}x.\n", message_id=f"<t{i}@acme.test>")


# ------------------------------------------------------------------- IMAP


@pytest.fixture
def imap(dovecot: Dovecot, tmp_path: Path) -> Iterator[tuple[str, ImapSmtpMail]]:
    user = dovecot.new_user("ada")
    for i in range(TOPICS):
        dovecot.deliver(user, topic(i))
    principal = Principal(id="ada", name="Ada Lovelace", email=user, timezone=TZ.key)
    with open_mail(dovecot.account(user), principal, tmp_path) as mail:
        yield user, mail


def test_imap_answers_four_threads_at_once_correctly(imap: tuple[str, ImapSmtpMail]) -> None:
    _, mail = imap
    wrong, errors, calls = hammer(searches_and_reads(mail), threads=4, rounds=30)
    assert (wrong, errors, calls) == ([], [], 120)


def test_a_burst_of_twelve_threads_stays_within_the_servers_connection_limit(
    imap: tuple[str, ImapSmtpMail],
) -> None:
    # Dovecot refuses an 11th connection of one user from one address; a thread
    # pool larger than that (12 Slack DMs at once) must queue, not fail.
    _, mail = imap
    wrong, errors, calls = hammer(searches_and_reads(mail), threads=12, rounds=4)
    assert (wrong, errors, calls) == ([], [], 48)


def test_idle_in_one_thread_does_not_hold_up_the_others(
    dovecot: Dovecot, imap: tuple[str, ImapSmtpMail]
) -> None:
    user, mail = imap
    woke: list[bool] = []
    idler = threading.Thread(target=lambda: woke.append(mail.idle(30)))
    idler.start()
    time.sleep(0.3)  # IDLE is waiting on its connection
    started = time.monotonic()
    wrong, errors, _ = hammer(searches_and_reads(mail), threads=3, rounds=6)
    assert (wrong, errors) == ([], [])
    assert time.monotonic() - started < 15 and idler.is_alive()
    dovecot.deliver(user, eml(subject="Wake up"))
    idler.join(timeout=10)
    assert woke == [True]


# ------------------------------------------------------------------ Gmail


@pytest.fixture
def gmail() -> Iterator[GmailMail]:
    with GoogleStandIn("ada@example.com") as standin:
        for i in range(TOPICS):
            standin.deliver(topic(i))
        access, refresh = standin.issue_tokens()
        creds = Credentials(
            token=access,
            refresh_token=refresh,
            token_uri=standin.token_uri,
            client_id=standin.client_id,
            client_secret=standin.client_secret,
            scopes=SCOPES,
            expiry=datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1),
        )
        principal = Principal(
            id="ada", name="Ada Lovelace", email="ada@example.com", timezone=TZ.key
        )
        with GmailMail(
            principal, credentials=creds, api_endpoint=standin.url, sleep=lambda s: None
        ) as mail:
            yield mail


def test_gmail_answers_four_threads_at_once_correctly(gmail: GmailMail) -> None:
    wrong, errors, calls = hammer(searches_and_reads(gmail), threads=4, rounds=30)
    assert (wrong, errors, calls) == ([], [], 120)


# ------------------------------------------------------------------ Graph


def test_graph_answers_four_threads_at_once_correctly(tmp_path: Path) -> None:
    # httpx.Client is documented as shareable between threads; this checks the provider.
    standin = GraphStandIn(tmp_path).start()
    try:
        for i in range(TOPICS):
            standin.deliver("ada@example.com", topic(i))
        account = {
            "client_id": standin.client_id,
            "authority": standin.authority,
            "graph_url": standin.graph_url,
            "ca_file": str(standin.ca_file),
            "client_secret": standin.client_secret,
            "user": "ada@example.com",
        }
        principal = Principal(
            id="ada", name="Ada Lovelace", email="ada@example.com", timezone=TZ.key
        )
        mail = graph_mail.open_mail(account, principal, tmp_path)
        try:
            wrong, errors, calls = hammer(searches_and_reads(mail), threads=4, rounds=30)
        finally:
            mail.close()
        assert (wrong, errors, calls) == ([], [], 120)
    finally:
        standin.close()
