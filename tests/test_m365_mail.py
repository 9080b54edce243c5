"""Microsoft 365 mail through Graph, against a loopback tenant (real msal, real HTTPS)."""

from __future__ import annotations

import json
import logging
import stat
from collections.abc import Iterator
from datetime import datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from graph_standin import GraphStandIn

from tools.foundation.principals import Principal
from tools.providers.base import (
    MailProvider,
    MailSync,
    NotFound,
    OutgoingMessage,
    ProviderError,
)
from tools.providers.microsoft.auth import MicrosoftAuth
from tools.providers.microsoft.graph import MAX_RETRIES, GraphClient, retry_after
from tools.providers.microsoft.mail import GraphMail, open_mail
from tools.providers.mime import message_id_for_key

TZ = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)


@pytest.fixture
def standin(tmp_path: Path) -> Iterator[GraphStandIn]:
    server = GraphStandIn(tmp_path).start()
    yield server
    for thing in reversed(OPENED):
        thing.close()
    OPENED.clear()
    server.close()


OPENED: list[Any] = []
"""Providers and sign-ins a test opened; closed after it (their sockets must not leak)."""


def opened(thing: Any) -> Any:
    OPENED.append(thing)
    return thing


@pytest.fixture
def principal() -> Principal:
    return Principal(id="ada", name="Ada Lovelace", email="ada@example.com", timezone=TZ.key)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "ada"
    path.mkdir()
    return path


def person_account(standin: GraphStandIn) -> dict[str, Any]:
    return {
        "provider": "microsoft",
        "client_id": standin.client_id,
        "authority": standin.authority,
        "graph_url": standin.graph_url,
        "ca_file": str(standin.ca_file),
    }


def app_account(standin: GraphStandIn, secret: str | None = None) -> dict[str, Any]:
    return {
        **person_account(standin),
        "client_secret": secret or standin.client_secret,
        "user": "ada@example.com",
    }


class Sleeper:
    """Records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def provider(
    standin: GraphStandIn,
    principal: Principal,
    root: Path,
    account: dict[str, Any] | None = None,
    sleeper: Sleeper | None = None,
) -> GraphMail:
    account = account or app_account(standin)
    auth = auth_for(account, principal.id, root)
    client = GraphClient(
        auth, base_url=standin.graph_url, verify=auth.verify, sleep=sleeper or Sleeper()
    )
    box = open_mail(account, principal, root, auth=auth, client=client, clock=lambda: NOW)
    return opened(box)


@pytest.fixture
def mail(standin: GraphStandIn, principal: Principal, root: Path) -> GraphMail:
    return provider(standin, principal, root)


def auth_for(account: dict[str, Any], principal_id: str, root: Path) -> MicrosoftAuth:
    return opened(MicrosoftAuth(account, principal_id, root))


def eml(
    msg_id: str,
    subject: str = "Budget",
    sender: str = "Dana Smith <dana@acme.com>",
    to: str = "Ada Lovelace <ada@example.com>",
    body: str = "Hello Ada,\nthe budget is attached.\n",
    extra: str = "",
) -> bytes:
    head = (
        f"From: {sender}\nTo: {to}\nSubject: {subject}\n"
        f"Date: Fri, 20 Nov 2026 09:00:00 +0100\nMessage-ID: <{msg_id}>\n"
    )
    return (head + extra + "\n" + body).encode()


def login(standin: GraphStandIn, principal: Principal, root: Path) -> tuple[MicrosoftAuth, str]:
    printed: list[str] = []
    auth = auth_for(person_account(standin), principal.id, root)
    user = auth.device_login(printed.append)
    return auth, printed[0] if printed else user


# ------------------------------------------------------------------ sign-in


def test_client_credentials_token_is_cached_owner_only_and_reused_without_a_request(
    standin: GraphStandIn, principal: Principal, root: Path
) -> None:
    first = auth_for(app_account(standin), principal.id, root)
    token = first.acquire_token()
    assert standin.token_grants() == ["client_credentials"]
    assert first.mailbox_path == "/users/ada@example.com"
    cache = root / "tokens" / "microsoft.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600

    second = auth_for(app_account(standin), principal.id, root)
    assert second.acquire_token() == token
    assert standin.token_grants() == ["client_credentials"]


def test_device_login_polls_past_pending_then_later_instances_sign_in_silently(
    standin: GraphStandIn, principal: Principal, root: Path
) -> None:
    standin.device_pending = 1
    auth, printed = login(standin, principal, root)
    assert "enter the code" in printed and "/devicelogin" in printed
    assert standin.token_grants() == [
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:device_code",
    ]
    assert auth.mailbox_path == "/me"
    cache = root / "tokens" / "microsoft.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600

    token = auth_for(person_account(standin), principal.id, root).acquire_token()
    assert token.startswith("at-")
    assert len(standin.token_grants()) == 2  # straight from the cache


def test_expired_access_token_is_renewed_with_the_refresh_token(
    standin: GraphStandIn, principal: Principal, root: Path
) -> None:
    auth, _ = login(standin, principal, root)
    old = auth.acquire_token()
    cache = root / "tokens" / "microsoft.json"
    data = json.loads(cache.read_text())
    for entry in data["AccessToken"].values():
        entry["expires_on"] = entry["extended_expires_on"] = "1000"
    cache.write_text(json.dumps(data))

    fresh = auth_for(person_account(standin), principal.id, root).acquire_token()
    assert fresh != old
    assert standin.token_grants()[-1] == "refresh_token"


def test_without_a_sign_in_the_error_says_which_command_to_run(
    standin: GraphStandIn, principal: Principal, root: Path
) -> None:
    auth = auth_for(person_account(standin), principal.id, root)
    with pytest.raises(ProviderError, match="secretary connect microsoft --principal ada"):
        auth.acquire_token()


def test_a_wrong_client_secret_is_reported_without_revealing_it(
    standin: GraphStandIn, principal: Principal, root: Path
) -> None:
    secret = "wrong-secret-1234"
    auth = auth_for(app_account(standin, secret), principal.id, root)
    with pytest.raises(ProviderError) as caught:
        auth.acquire_token()
    text = str(caught.value)
    assert "invalid_client" in text and "Trace ID" not in text
    assert secret not in text and secret not in repr(auth)


def test_an_unreachable_sign_in_service_is_a_sentence(principal: Principal, root: Path) -> None:
    account = {"client_id": "x", "authority": "https://127.0.0.1:9/tenant"}
    auth = auth_for(account, principal.id, root)
    with pytest.raises(ProviderError, match="Cannot reach the Microsoft sign-in service"):
        auth.acquire_token()


def test_account_settings_mistakes_are_sentences(principal: Principal, root: Path) -> None:
    with pytest.raises(ProviderError, match="client_id"):
        auth_for({}, principal.id, root)
    with pytest.raises(ProviderError, match="set user"):
        auth_for({"client_id": "x", "client_secret": "y"}, principal.id, root)
    with pytest.raises(ProviderError, match="set tenant"):
        auth_for({"client_id": "x", "client_secret": "y", "user": "a@b.com"}, principal.id, root)


# ---------------------------------------------------------------- sending


def test_send_lands_in_sent_items_and_the_inboxes_with_our_headers(
    mail: GraphMail, standin: GraphStandIn
) -> None:
    assert isinstance(mail, MailProvider) and isinstance(mail, MailSync)
    message = OutgoingMessage(
        to=["Dana Smith <dana@acme.com>"],
        bcc=["boss@example.com"],
        subject="Re: Budget",
        body="Thanks, Dana.",
        in_reply_to="<orig-1@acme.com>",
        references=["<root@acme.com>", "<orig-1@acme.com>"],
    )
    receipt = mail.send(message, "key-1")
    expected_id = message_id_for_key("key-1", "ada@example.com")
    assert receipt.message_id == expected_id
    assert receipt.recipients == ["dana@acme.com", "boss@example.com"]

    [sent] = standin.messages("ada@example.com", "sentitems")
    headers = sent.mime
    assert headers["Message-ID"] == expected_id
    assert headers["In-Reply-To"] == "<orig-1@acme.com>"
    assert headers["References"] == "<root@acme.com> <orig-1@acme.com>"
    assert headers["Bcc"] == "boss@example.com"
    assert b"\r\n" in sent.raw  # RFC 5322 line ends on the wire

    [delivered] = standin.messages("dana@acme.com", "inbox")
    assert delivered.internet_message_id == expected_id
    assert delivered.mime["Bcc"] is None
    assert [m.internet_message_id for m in standin.messages("boss@example.com")] == [expected_id]
    send = [s for s in standin.graph_requests() if s.path.endswith("/sendMail")]
    assert send[0].headers["content-type"] == "text/plain"


def test_send_with_the_same_key_from_a_fresh_provider_sends_once(
    mail: GraphMail, standin: GraphStandIn, principal: Principal, root: Path
) -> None:
    message = OutgoingMessage(to=["dana@acme.com"], subject="Hello", body="Hi")
    first = mail.send(message, "key-once")
    again = provider(standin, principal, root).send(message, "key-once")
    assert again == first
    assert len(standin.messages("ada@example.com", "sentitems")) == 1
    assert len(standin.messages("dana@acme.com", "inbox")) == 1


def test_save_draft_keeps_one_draft_per_key(mail: GraphMail, standin: GraphStandIn) -> None:
    message = OutgoingMessage(to=["dana@acme.com"], subject="Draft", body="Later")
    first = mail.save_draft(message, "draft-1")
    assert mail.save_draft(message, "draft-1") == first
    [draft] = standin.messages("ada@example.com", "drafts")
    assert draft.internet_message_id == first.message_id and draft.is_draft
    assert standin.messages("dana@acme.com") == []
    assert mail.get_message(first.message_id).folder == "drafts"


def test_send_without_recipients_is_refused(mail: GraphMail) -> None:
    with pytest.raises(ProviderError, match="recipient"):
        mail.send(OutgoingMessage(to=[], subject="x", body="y"), "k")


# -------------------------------------------------------------- throttling


@pytest.mark.parametrize("status", [429, 503])
def test_throttled_request_waits_the_advertised_retry_after_then_succeeds(
    standin: GraphStandIn, principal: Principal, root: Path, status: int
) -> None:
    sleeper = Sleeper()
    box = provider(standin, principal, root, sleeper=sleeper)
    standin.deliver("ada@example.com", eml("m1@acme.com"))
    standin.throttle(1, retry_after="1", status=status)
    hits = box.search()
    assert [h.message_id for h in hits] == ["<m1@acme.com>"]
    assert sleeper.waits == [1.0]


def test_throttling_that_never_ends_gives_up_after_bounded_retries(
    standin: GraphStandIn, principal: Principal, root: Path
) -> None:
    sleeper = Sleeper()
    box = provider(standin, principal, root, sleeper=sleeper)
    standin.throttle(1000, retry_after="1")
    with pytest.raises(ProviderError, match="try again"):
        box.search()
    assert sleeper.waits == [1.0] * MAX_RETRIES


def test_retry_after_may_be_seconds_or_an_http_date() -> None:
    now = datetime(2015, 10, 21, 7, 27, 58, tzinfo=ZoneInfo("UTC"))
    assert retry_after("2") == 2.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 2.0
    assert retry_after("") is None and retry_after("soon") is None


def test_a_retry_after_too_long_to_wait_fails_at_once(
    standin: GraphStandIn, principal: Principal, root: Path
) -> None:
    sleeper = Sleeper()
    box = provider(standin, principal, root, sleeper=sleeper)
    standin.throttle(1, retry_after="3600")
    with pytest.raises(ProviderError, match="asked to wait 3600 s"):
        box.search()
    assert sleeper.waits == []


# ---------------------------------------------------------------- reading


def test_listings_follow_next_links_and_a_missing_object_is_not_found(
    mail: GraphMail, standin: GraphStandIn
) -> None:
    for n in range(5):
        standin.deliver("ada@example.com", eml(f"p{n}@acme.com"))
    items = list(mail.client.items(mail._path("messages"), {"$top": 2}))
    assert len(items) == 5
    assert sum("$skip" in s.query for s in standin.graph_requests()) == 2
    with pytest.raises(NotFound, match="no such object"):
        mail.client.get_json(mail._path("messages/AAMk-missing"))


def test_search_filters_by_words_sender_and_date_newest_first(
    mail: GraphMail, standin: GraphStandIn
) -> None:
    standin.deliver("ada@example.com", eml("a@acme.com", subject="Budget Q3"))
    standin.deliver(
        "ada@example.com", eml("b@x.org", subject="Lunch", sender="Bob <bob@x.org>", body="Pizza?")
    )
    standin.deliver("ada@example.com", eml("c@acme.com", subject="Budget Q4", body="Numbers."))

    assert [h.message_id for h in mail.search()] == ["<c@acme.com>", "<b@x.org>", "<a@acme.com>"]
    assert [h.message_id for h in mail.search(query="budget")] == ["<c@acme.com>", "<a@acme.com>"]
    assert [h.message_id for h in mail.search(sender="bob@x.org")] == ["<b@x.org>"]
    assert [h.message_id for h in mail.search(sender="acme")] == ["<c@acme.com>", "<a@acme.com>"]
    assert [h.message_id for h in mail.search(query="pizza", sender="Bob")] == ["<b@x.org>"]
    [newest] = mail.search(limit=1)
    assert newest.message_id == "<c@acme.com>"
    assert newest.sender == "Dana Smith <dana@acme.com>"
    assert newest.to == ["Ada Lovelace <ada@example.com>"]
    assert newest.date is not None and newest.date.tzinfo is not None
    assert newest.snippet == "Numbers."
    assert newest.folder == "inbox" and newest.thread_id.startswith("conv-")
    since = standin.messages("ada@example.com")[1].received
    assert [h.message_id for h in mail.search(since=since)] == ["<c@acme.com>", "<b@x.org>"]
    with pytest.raises(ProviderError, match="no mail folder"):
        mail.search(folder="archive")


def test_get_message_reads_the_mime_by_message_id(mail: GraphMail, standin: GraphStandIn) -> None:
    standin.deliver("ada@example.com", eml("m1@acme.com", extra="Cc: Eve <eve@acme.com>\n"))
    message = mail.get_message("m1@acme.com")
    assert message.message_id == "<m1@acme.com>"
    assert message.folder == "inbox"
    assert message.body == "Hello Ada,\nthe budget is attached.\n"
    assert message.cc == ["Eve <eve@acme.com>"]
    with pytest.raises(NotFound, match="Search mail"):
        mail.get_message("<nobody@nowhere.org>")


def test_get_thread_follows_the_conversation_across_folders_oldest_first(
    mail: GraphMail, standin: GraphStandIn
) -> None:
    standin.deliver("ada@example.com", eml("t1@acme.com", subject="Plan"))
    standin.deliver("ada@example.com", eml("other@acme.com", subject="Unrelated"))
    original = mail.get_message("<t1@acme.com>")
    reply = OutgoingMessage(
        to=["dana@acme.com"],
        subject="Re: Plan",
        body="Agreed.",
        in_reply_to=original.message_id,
        references=[original.message_id],
    )
    sent = mail.send(reply, "reply-1")
    standin.deliver(
        "ada@example.com",
        eml(
            "t3@acme.com",
            subject="Re: Plan",
            extra=f"In-Reply-To: {sent.message_id}\nReferences: <t1@acme.com> {sent.message_id}\n",
        ),
    )
    thread = mail.get_thread("<t3@acme.com>")
    assert [m.message_id for m in thread] == ["<t1@acme.com>", sent.message_id, "<t3@acme.com>"]
    assert [m.folder for m in thread] == ["inbox", "sent", "inbox"]
    assert len({m.thread_id for m in thread}) == 1


# ------------------------------------------------------------------- sync


def test_fetch_new_reads_the_folder_in_rounds_then_only_what_is_new(
    mail: GraphMail, standin: GraphStandIn
) -> None:
    for n in range(5):
        standin.deliver("ada@example.com", eml(f"s{n}@acme.com", subject=f"Msg {n}"))
    seen: list[str] = []
    cursor = ""
    for _ in range(10):
        batch, cursor = mail.fetch_new(cursor, limit=2)
        assert len(batch) <= 2
        ids = [message_from_bytes(r.raw, policy=policy.default)["Message-ID"] for r in batch]
        assert ids == sorted(ids)  # oldest first within a batch (ids number the order)
        seen += ids
        if len(batch) < 2:
            break
    assert sorted(seen) == [f"<s{n}@acme.com>" for n in range(5)]
    assert "$deltatoken" in cursor

    batch, same = mail.fetch_new(cursor)
    assert batch == [] and same == cursor
    stored = standin.deliver("ada@example.com", eml("new@acme.com"))
    batch, cursor = mail.fetch_new(cursor)
    assert [(r.uid, r.folder) for r in batch] == [(stored.id, "inbox")]
    assert batch[0].raw == stored.raw


def test_current_cursor_starts_after_the_existing_mail(
    mail: GraphMail, standin: GraphStandIn
) -> None:
    for n in range(3):
        standin.deliver("ada@example.com", eml(f"old{n}@acme.com"))
    cursor = mail.current_cursor()
    standin.deliver("ada@example.com", eml("fresh@acme.com"))
    batch, _ = mail.fetch_new(cursor)
    assert [message_from_bytes(r.raw)["Message-ID"] for r in batch] == ["<fresh@acme.com>"]


def test_an_expired_delta_link_starts_the_folder_over(
    mail: GraphMail, standin: GraphStandIn
) -> None:
    standin.deliver("ada@example.com", eml("one@acme.com"))
    _, cursor = mail.fetch_new("")
    standin.expire_delta_tokens()
    standin.deliver("ada@example.com", eml("two@acme.com"))
    batch, cursor = mail.fetch_new(cursor)
    ids = [message_from_bytes(r.raw)["Message-ID"] for r in batch]
    assert ids == ["<one@acme.com>", "<two@acme.com>"]  # old ones again, new never skipped
    assert "$deltatoken=e1." in cursor


def test_a_cursor_pointing_elsewhere_never_receives_the_token(
    mail: GraphMail, standin: GraphStandIn
) -> None:
    standin.deliver("ada@example.com", eml("one@acme.com"))
    batch, cursor = mail.fetch_new("https://elsewhere.example/v1.0/me/delta?$deltatoken=1")
    assert len(batch) == 1 and cursor.startswith(standin.graph_url)


# ------------------------------------------------------------- 401 and logs


def test_a_revoked_token_is_replaced_once_on_401(
    standin: GraphStandIn, principal: Principal, root: Path
) -> None:
    login(standin, principal, root)
    box = provider(standin, principal, root, account=person_account(standin))
    standin.deliver("ada@example.com", eml("m1@acme.com"))
    assert len(box.search()) == 1
    standin.revoke_access_tokens()
    assert len(box.search()) == 1
    assert standin.token_grants()[-1] == "refresh_token"


def test_401_after_a_fresh_token_is_a_sentence_with_what_to_do(
    standin: GraphStandIn, principal: Principal, root: Path
) -> None:
    standin.token_lifetime = -60  # every token is dead on arrival at Graph
    box = provider(standin, principal, root)
    with pytest.raises(ProviderError, match="HTTP 401.*client secret"):
        box.search()
    assert standin.token_grants() == ["client_credentials", "client_credentials"]


def test_tokens_and_secrets_stay_out_of_logs_and_reprs(
    standin: GraphStandIn,
    principal: Principal,
    root: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, msal and urllib3 included
    app = provider(standin, principal, root)
    standin.deliver("ada@example.com", eml("m1@acme.com"))
    standin.throttle(1)
    app.search()
    app.send(OutgoingMessage(to=["dana@acme.com"], subject="s", body="b"), "k")
    login(standin, principal, root / "person")
    person = provider(standin, principal, root / "person", account=person_account(standin))
    standin.revoke_access_tokens()
    person.search()  # refreshes with the refresh token
    shown = [caplog.text, repr(app), repr(app.client), repr(app._auth), repr(person._auth)]
    assert len(standin.issued) >= 4
    for secret in [*standin.issued, standin.client_secret]:
        assert not any(secret in text for text in shown)
    assert "Graph GET" in caplog.text  # the debug log is there, just without secrets


def test_open_mail_builds_from_account_settings_alone(
    standin: GraphStandIn, principal: Principal, root: Path
) -> None:
    standin.deliver("ada@example.com", eml("m1@acme.com"))
    box = opened(open_mail(app_account(standin), principal, root))
    assert [h.message_id for h in box.search()] == ["<m1@acme.com>"]
