"""Gmail provider and Google OAuth: exact requests (mocked transport) and a loopback stand-in."""

from __future__ import annotations

import base64
import json
import logging
import stat
import threading
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from google.oauth2.credentials import Credentials
from google_standin import GoogleStandIn
from googleapiclient.http import HttpMockSequence

from tools.foundation.principals import Principal
from tools.providers.base import MailProvider, MailSync, NotFound, OutgoingMessage, ProviderError
from tools.providers.google import gmail as gmail_module
from tools.providers.google.auth import authorize, load_credentials
from tools.providers.google.gmail import SCOPES, GmailMail, open_mail
from tools.providers.mime import compose_reply, message_id_for_key

TZ = ZoneInfo("Europe/Berlin")
NOW = datetime(2024, 6, 3, 9, 30, tzinfo=TZ)
RECONNECT = "secretary connect gmail --principal ada"


@pytest.fixture
def principal() -> Principal:
    return Principal(id="ada", name="Ada Lovelace", email="ada@example.com", timezone=TZ.key)


def eml(
    msg_id: str,
    subject: str = "Budget",
    sender: str = "Dana Smith <dana@acme.com>",
    date: str = "Mon, 03 Jun 2024 08:00:00 +0200",
    body: str = "Hello Ada,\nthe budget is attached.\n",
    extra: str = "",
) -> bytes:
    head = (
        f"From: {sender}\nTo: Ada Lovelace <ada@example.com>\nSubject: {subject}\n"
        f"Date: {date}\nMessage-ID: <{msg_id}>\n{extra}"
    )
    return (head + "\n" + body).encode()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


def ok(payload: dict[str, Any]) -> tuple[dict[str, str], str]:
    return {"status": "200"}, json.dumps(payload)


def err(status: int, reason: str = "", **headers: str) -> tuple[dict[str, str], str]:
    errors = [{"reason": reason, "message": "x"}] if reason else []
    body = {"error": {"code": status, "message": f"status {status}", "errors": errors}}
    return {"status": str(status), **headers}, json.dumps(body)


def meta(gid: str, headers: dict[str, str], labels: list[str], **more: Any) -> dict[str, Any]:
    return {
        "id": gid,
        "threadId": more.pop("threadId", "t-" + gid),
        "labelIds": labels,
        "payload": {"headers": [{"name": k, "value": v} for k, v in headers.items()]},
        **more,
    }


class Recorder:
    """A mocked transport plus the sleeps a provider asked for."""

    def __init__(self, responses: list[tuple[dict[str, str], str]]) -> None:
        self.http = HttpMockSequence(responses)
        self.sleeps: list[float] = []

    def mail(self, principal: Principal, **kw: Any) -> GmailMail:
        return GmailMail(
            principal, http=self.http, clock=lambda: NOW, sleep=self.sleeps.append, **kw
        )

    def calls(self) -> list[tuple[str, str, dict[str, list[str]], Any]]:
        """(method, path, query, json body) of every request made."""
        out = []
        for uri, method, body, _ in self.http.request_sequence:
            parts = urlsplit(uri)
            out.append((method, parts.path, parse_qs(parts.query), json.loads(body or "null")))
        return out


# ---------------------------------------------------------- exact requests


def test_gmail_implements_the_mail_protocols(principal: Principal) -> None:
    mail = Recorder([]).mail(principal)
    assert isinstance(mail, MailProvider)
    assert isinstance(mail, MailSync)


def test_search_asks_gmail_for_folder_label_sender_since_and_words(principal: Principal) -> None:
    since = datetime(2024, 6, 1, 0, 0, tzinfo=TZ)
    head = {
        "From": "Dana Smith <dana@acme.com>",
        "To": "ada@example.com",
        "Subject": "Budget",
        "Date": "Mon, 03 Jun 2024 08:00:00 +0200",
        "Message-ID": "<b1@acme.com>",
    }
    rec = Recorder(
        [
            ok({"messages": [{"id": "m1", "threadId": "t1"}], "resultSizeEstimate": 1}),
            ok(meta("m1", head, ["INBOX"], threadId="t1", snippet="Ada&#39;s budget")),
        ]
    )
    hits = rec.mail(principal).search("budget  2024", sender="Dana Smith", since=since, limit=5)

    (m1, p1, q1, _), (m2, p2, q2, _) = rec.calls()
    assert (m1, p1) == ("GET", "/gmail/v1/users/me/messages")
    assert q1["q"] == [f'from:"Dana Smith" after:{int(since.timestamp())} budget 2024']
    assert q1["labelIds"] == ["INBOX"] and q1["maxResults"] == ["5"]
    assert (m2, p2, q2["format"]) == ("GET", "/gmail/v1/users/me/messages/m1", ["metadata"])
    assert "Message-ID" in q2["metadataHeaders"]
    [hit] = hits
    assert hit.message_id == "<b1@acme.com>" and hit.thread_id == "t1"
    assert hit.sender == "Dana Smith <dana@acme.com>" and hit.subject == "Budget"
    assert hit.snippet == "Ada's budget" and hit.folder == "inbox"
    assert hit.date == datetime(2024, 6, 3, 8, 0, tzinfo=TZ)


def test_search_of_sent_and_drafts_uses_gmail_labels(principal: Principal) -> None:
    rec = Recorder([ok({}), ok({})])
    mail = rec.mail(principal)
    assert mail.search(folder="sent") == [] and mail.search(folder="drafts") == []
    assert [c[2]["labelIds"] for c in rec.calls()] == [["SENT"], ["DRAFT"]]
    assert all("q" not in c[2] for c in rec.calls())
    with pytest.raises(ProviderError, match="no mail folder 'spam'"):
        mail.search(folder="spam")


def test_send_reply_carries_threading_headers_thread_id_and_key_message_id(
    principal: Principal,
) -> None:
    original = {
        "message_id": "<b1@acme.com>",
        "folder": "inbox",
        "sender": "Dana Smith <dana@acme.com>",
        "to": ["ada@example.com"],
        "subject": "Budget",
        "references": ["<a0@acme.com>"],
        "in_reply_to": "<a0@acme.com>",
        "body": "Numbers?",
    }
    from tools.providers.base import Message

    reply = compose_reply(Message.model_validate(original), "Here they are.", principal)
    reply.bcc = ["boss@example.com"]
    rec = Recorder(
        [
            ok({"resultSizeEstimate": 0}),  # no earlier send with this key
            ok({"messages": [{"id": "m1", "threadId": "t-budget"}]}),  # the original's thread
            ok({"id": "s1", "threadId": "t-budget", "labelIds": ["SENT"]}),
        ]
    )
    receipt = rec.mail(principal).send(reply, "key-1")

    expected_id = message_id_for_key("key-1", "ada@example.com")
    lookup, thread, send = rec.calls()
    assert lookup[2]["q"] == [f"rfc822msgid:{expected_id.strip('<>')}"]
    assert lookup[2]["includeSpamTrash"] == ["true"]
    assert thread[2]["q"] == ["rfc822msgid:b1@acme.com"]
    assert (send[0], send[1]) == ("POST", "/gmail/v1/users/me/messages/send")
    assert send[3]["threadId"] == "t-budget"
    raw = BytesParser(policy=policy.default).parsebytes(base64.urlsafe_b64decode(send[3]["raw"]))
    assert raw["Message-ID"] == expected_id
    assert raw["In-Reply-To"] == "<b1@acme.com>"
    assert raw["References"] == "<a0@acme.com> <b1@acme.com>"
    assert raw["Subject"] == "Re: Budget"
    assert raw["From"] == "Ada Lovelace <ada@example.com>"
    assert raw["To"] == "Dana Smith <dana@acme.com>"
    # Gmail learns blind recipients from this header and strips it for the others.
    assert raw["Bcc"] == "boss@example.com"
    assert receipt.message_id == expected_id and receipt.folder == "sent"
    assert receipt.recipients == ["dana@acme.com", "boss@example.com"]


def test_second_send_with_same_key_makes_no_send_request(principal: Principal) -> None:
    msg = OutgoingMessage(to=["dana@acme.com"], subject="Hi", body="Hello")
    mid = message_id_for_key("key-2", "ada@example.com")
    found = meta("s1", {"To": "dana@acme.com", "Message-ID": mid}, ["SENT"])
    rec = Recorder(
        [
            ok({}),
            ok({"id": "s1", "threadId": "s1", "labelIds": ["SENT"]}),
            ok({"messages": [{"id": "s1", "threadId": "s1"}]}),
            ok(found),
        ]
    )
    mail = rec.mail(principal)
    first = mail.send(msg, "key-2")
    second = mail.send(msg, "key-2")

    assert first == second
    paths = [c[1] for c in rec.calls()]
    assert paths.count("/gmail/v1/users/me/messages/send") == 1
    assert paths[-1] == "/gmail/v1/users/me/messages/s1"
    assert rec.calls()[-1][2]["format"] == ["metadata"]


def test_send_retried_after_server_error_checks_gmail_before_sending_again(
    principal: Principal,
) -> None:
    msg = OutgoingMessage(to=["dana@acme.com"], subject="Hi", body="Hello")
    mid = message_id_for_key("key-3", "ada@example.com")
    rec = Recorder(
        [
            ok({}),
            err(503, "backendError"),  # Gmail sent it, then failed to answer
            ok({"messages": [{"id": "s1", "threadId": "s1"}]}),
            ok(meta("s1", {"To": "dana@acme.com", "Message-ID": mid}, ["SENT"])),
        ]
    )
    receipt = rec.mail(principal).send(msg, "key-3")

    assert receipt.message_id == mid
    paths = [c[1] for c in rec.calls()]
    assert paths.count("/gmail/v1/users/me/messages/send") == 1
    assert len(rec.sleeps) == 1


def test_draft_with_same_key_lands_once_as_gmail_draft(principal: Principal) -> None:
    msg = OutgoingMessage(to=["dana@acme.com"], subject="Draft", body="Later")
    rec = Recorder(
        [ok({}), ok({"id": "r1", "message": {"id": "d1", "threadId": "d1", "labelIds": ["DRAFT"]}})]
    )
    receipt = rec.mail(principal).save_draft(msg, "key-4")
    method, path, _, body = rec.calls()[-1]
    assert (method, path) == ("POST", "/gmail/v1/users/me/drafts")
    assert "raw" in body["message"] and receipt.folder == "drafts"


def test_rate_limit_429_is_retried_after_retry_after_then_succeeds(principal: Principal) -> None:
    rec = Recorder([err(429, "rateLimitExceeded", **{"retry-after": "3"}), ok({})])
    assert rec.mail(principal).search("x") == []
    assert rec.sleeps == [3.0]
    assert len(rec.calls()) == 2


def test_403_rate_limit_reason_is_retried_with_backoff(principal: Principal) -> None:
    rec = Recorder([err(403, "userRateLimitExceeded"), err(500), ok({})])
    assert rec.mail(principal).search("x") == []
    assert len(rec.sleeps) == 2 and 0 < rec.sleeps[0] <= 1 and 0 < rec.sleeps[1] <= 2


def test_rate_limit_that_persists_becomes_a_sentence(principal: Principal) -> None:
    rec = Recorder([err(429, "rateLimitExceeded", **{"retry-after": "0"})] * 3)
    with pytest.raises(ProviderError, match="limiting how many requests"):
        rec.mail(principal, retries=2).search("x")
    assert rec.sleeps == [0.0, 0.0]


def test_long_retry_after_is_not_waited_out(principal: Principal) -> None:
    rec = Recorder([err(429, "rateLimitExceeded", **{"retry-after": "3600"})])
    with pytest.raises(ProviderError, match="wait 3600 seconds"):
        rec.mail(principal).search("x")
    assert rec.sleeps == []


def test_401_asks_to_connect_again(principal: Principal) -> None:
    rec = Recorder([err(401, "authError")])
    with pytest.raises(ProviderError, match=RECONNECT) as info:
        rec.mail(principal).search("x")
    assert not isinstance(info.value, NotFound)


def test_403_without_rate_reason_asks_to_connect_again(principal: Principal) -> None:
    rec = Recorder([err(403, "insufficientPermissions")])
    with pytest.raises(ProviderError, match=RECONNECT):
        rec.mail(principal).search("x")
    assert rec.sleeps == []


def test_unknown_message_id_is_not_found(principal: Principal) -> None:
    rec = Recorder([ok({"resultSizeEstimate": 0})])
    with pytest.raises(NotFound, match="<nope@x.com>"):
        rec.mail(principal).get_message("nope@x.com")


def test_gmail_404_becomes_not_found(principal: Principal) -> None:
    rec = Recorder([ok({"messages": [{"id": "m1", "threadId": "t1"}]}), err(404, "notFound")])
    with pytest.raises(NotFound):
        rec.mail(principal).get_message("<b1@acme.com>")


def test_unreachable_gmail_is_retried_then_a_sentence(principal: Principal) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps: list[float] = []
    creds = Credentials(token="t-unused")
    endpoint = f"http://127.0.0.1:{port}/"
    with GmailMail(
        principal, credentials=creds, api_endpoint=endpoint, sleep=sleeps.append, retries=1
    ) as mail:
        with pytest.raises(ProviderError, match="Cannot reach Gmail"):
            mail.search("x")
    assert len(sleeps) == 1


# ---------------------------------------------------------- loopback stand-in


@pytest.fixture
def standin() -> Any:
    with GoogleStandIn("ada@example.com") as server:
        yield server


def write_token(standin: GoogleStandIn, path: Path, *, expired: bool = False) -> Credentials:
    access, refresh = standin.issue_tokens()
    expiry = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=-1 if expired else 1)
    creds = Credentials(
        token=access,
        refresh_token=refresh,
        token_uri=standin.token_uri,
        client_id=standin.client_id,
        client_secret=standin.client_secret,
        scopes=SCOPES,
        expiry=expiry,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(creds.to_json(), encoding="utf-8")
    return creds


@pytest.fixture
def account(standin: GoogleStandIn, tmp_path: Path) -> dict[str, Any]:
    token_file = tmp_path / "tokens" / "google.json"
    write_token(standin, token_file)
    return {
        "provider": "gmail",
        "client_secrets": str(tmp_path / "client.json"),
        "token_file": str(token_file),
        "api_endpoint": standin.url,
        "token_uri": standin.token_uri,
    }


@pytest.fixture
def mail(account: dict[str, Any], principal: Principal, tmp_path: Path) -> Iterator[GmailMail]:
    with open_mail(account, principal, tmp_path) as box:
        yield box


def test_connect_flow_stores_a_private_token_and_prints_no_secret(
    standin: GoogleStandIn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The stand-in speaks plain HTTP on loopback; oauthlib insists on https otherwise.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    caplog.set_level(logging.DEBUG)
    opened: list[str] = []
    pages: list[bytes] = []

    class Browser:
        """Follows the consent URL: the stand-in redirects back to the flow's server."""

        def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
            opened.append(url)

            def visit() -> None:
                with urllib.request.urlopen(url, timeout=10) as resp:
                    pages.append(resp.read())

            threading.Thread(target=visit, daemon=True).start()
            return True

    monkeypatch.setattr("webbrowser.get", lambda using=None: Browser())
    secrets_file = standin.write_client_secrets(tmp_path / "client.json")
    token_file = tmp_path / "tokens" / "google.json"

    creds = authorize(secrets_file, token_file, SCOPES, timeout_seconds=10)

    assert creds.valid and creds.refresh_token in standin.refresh_tokens
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    stored = json.loads(token_file.read_text())
    assert stored["refresh_token"] == creds.refresh_token and stored["scopes"] == SCOPES
    query = parse_qs(urlsplit(opened[0]).query)
    assert query["code_challenge_method"] == ["S256"] and query["prompt"] == ["consent"]
    assert query["redirect_uri"][0].startswith("http://localhost:")
    assert pages and b"connected" in pages[0]
    out = capsys.readouterr()
    assert opened[0] in out.err and out.out == ""
    seen = out.out + out.err + caplog.text
    for secret in (standin.client_secret, creds.token, creds.refresh_token):
        assert secret not in seen


def test_connect_with_broken_client_secrets_says_what_to_download(tmp_path: Path) -> None:
    bad = tmp_path / "client.json"
    bad.write_text('{"something": {}}')
    with pytest.raises(ProviderError, match="Desktop app"):
        authorize(bad, tmp_path / "t.json", SCOPES, open_browser=False)
    with pytest.raises(ProviderError, match="Cannot read"):
        authorize(tmp_path / "missing.json", tmp_path / "t.json", SCOPES, open_browser=False)


def test_expired_token_is_refreshed_at_the_token_endpoint_and_saved_private(
    standin: GoogleStandIn, tmp_path: Path
) -> None:
    token_file = tmp_path / "google.json"
    old = write_token(standin, token_file, expired=True)

    creds = load_credentials(token_file, SCOPES, token_uri=standin.token_uri)

    assert standin.refreshes == 1
    assert creds.valid and creds.token != old.token
    assert json.loads(token_file.read_text())["token"] == creds.token
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    load_credentials(token_file, SCOPES, token_uri=standin.token_uri)  # valid: no refresh
    assert standin.refreshes == 1


def test_missing_token_asks_to_connect(tmp_path: Path, principal: Principal) -> None:
    with pytest.raises(ProviderError, match=RECONNECT):
        open_mail({"client_secrets": "x.json"}, principal, tmp_path)
    (tmp_path / "tokens" / "google.json").write_text("not json")
    with pytest.raises(ProviderError, match=RECONNECT):
        open_mail({}, principal, tmp_path)


def test_token_without_needed_scope_asks_to_connect(standin: GoogleStandIn, tmp_path: Path) -> None:
    token_file = tmp_path / "google.json"
    write_token(standin, token_file)
    with pytest.raises(ProviderError, match="lacks access"):
        load_credentials(token_file, ["https://www.googleapis.com/auth/calendar"])


def test_revoked_grant_asks_to_connect_and_leaks_no_token(
    standin: GoogleStandIn, tmp_path: Path
) -> None:
    token_file = tmp_path / "google.json"
    creds = write_token(standin, token_file, expired=True)
    standin.revoke()
    with pytest.raises(ProviderError, match="secretary connect gmail") as info:
        load_credentials(token_file, SCOPES, token_uri=standin.token_uri)
    assert creds.refresh_token not in str(info.value) and creds.token not in str(info.value)


def test_send_then_fetch_new_sees_the_message(mail: GmailMail, standin: GoogleStandIn) -> None:
    inbox_cursor = mail.current_cursor("inbox")
    sent_cursor = mail.current_cursor("sent")
    standin.deliver(eml("b1@acme.com"))
    receipt = mail.send(
        OutgoingMessage(
            to=["dana@acme.com"], bcc=["boss@example.com"], subject="Plan", body="See you."
        ),
        "send-1",
    )

    sent, next_sent = mail.fetch_new(sent_cursor, "sent")
    [copy] = sent
    assert copy.folder == "sent" and copy.uid in standin.messages
    assert f"Message-ID: {receipt.message_id}".encode() in copy.raw
    inbox, next_inbox = mail.fetch_new(inbox_cursor, "inbox")
    assert [b"<b1@acme.com>" in m.raw for m in inbox] == [True]
    assert mail.fetch_new(next_sent, "sent") == ([], next_sent)
    assert mail.fetch_new(next_inbox, "inbox")[0] == []
    # The Bcc reached Gmail's delivery but not what the other recipients see.
    [out] = standin.outbox
    assert "boss@example.com" in out["recipients"] and b"boss@example.com" not in out["raw"]
    assert receipt.recipients == ["dana@acme.com", "boss@example.com"]
    assert mail.send(OutgoingMessage(to=["x@y.com"], subject="Other", body="."), "send-1") == (
        receipt
    )
    assert len(standin.outbox) == 1


def test_reply_joins_gmail_thread_and_get_thread_reads_it(
    mail: GmailMail, standin: GoogleStandIn, principal: Principal
) -> None:
    standin.deliver(eml("b1@acme.com"))
    later = "Mon, 03 Jun 2024 08:30 +0200"
    standin.deliver(eml("other@acme.com", subject="Lunch", date=later, body="Lunch?\n"))
    original = mail.get_message("b1@acme.com")
    assert original.body.startswith("Hello Ada") and original.folder == "inbox"

    receipt = mail.send(compose_reply(original, "Thanks!", principal), "reply-1")

    assert standin.send_bodies[0]["threadId"] == original.thread_id
    thread = mail.get_thread(receipt.message_id)
    assert [m.message_id for m in thread] == ["<b1@acme.com>", receipt.message_id]
    assert {m.thread_id for m in thread} == {original.thread_id}
    assert thread[1].subject == "Re: Budget" and thread[1].in_reply_to == "<b1@acme.com>"
    assert thread[1].folder == "sent"
    hits = mail.search("budget", sender="dana")
    assert [h.message_id for h in hits] == ["<b1@acme.com>"]


def test_fetch_new_pages_oldest_first_and_resumes_with_its_cursor(
    mail: GmailMail,
    account: dict[str, Any],
    principal: Principal,
    tmp_path: Path,
    standin: GoogleStandIn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gmail_module, "PAGE", 2)  # exercise Gmail's page tokens too
    for i in range(5):
        standin.deliver(eml(f"m{i}@acme.com", date=f"Mon, 03 Jun 2024 0{i}:00:00 +0200"))
    standin.deliver(eml("sent@x.com"), labels=("SENT",))

    first, cursor = mail.fetch_new("", "inbox", limit=2)
    # A new process resumes from the cursor alone (no cached listing).
    with open_mail(account, principal, tmp_path) as again:
        second, cursor = again.fetch_new(cursor, "inbox", limit=2)
        third, cursor = again.fetch_new(cursor, "inbox", limit=2)

    ids = [m.raw.split(b"Message-ID: ")[1].split(b"\n")[0] for m in first + second + third]
    assert ids == [f"<m{i}@acme.com>".encode() for i in range(5)]
    assert len(third) == 1 and cursor.isdigit()
    assert mail.fetch_new(cursor, "inbox") == ([], cursor)

    for i in range(3):
        standin.deliver(eml(f"n{i}@acme.com", date=f"Tue, 04 Jun 2024 0{i}:00:00 +0200"))
    newer, cursor2 = mail.fetch_new(cursor, "inbox", limit=2)
    rest, cursor3 = mail.fetch_new(cursor2, "inbox", limit=2)
    assert [b"<n0@acme.com>" in newer[0].raw, b"<n1@acme.com>" in newer[1].raw] == [True, True]
    assert len(rest) == 1 and b"<n2@acme.com>" in rest[0].raw
    assert mail.fetch_new(cursor3, "inbox") == ([], cursor3)


def test_expired_history_falls_back_to_a_full_listing(
    mail: GmailMail, standin: GoogleStandIn
) -> None:
    standin.deliver(eml("old@acme.com", date="Sun, 02 Jun 2024 08:00:00 +0200"))
    cursor = mail.current_cursor()
    standin.deliver(eml("new@acme.com"))
    standin.expire_history()

    found, after = mail.fetch_new(cursor)

    assert [b"<old@acme.com>" in found[0].raw, b"<new@acme.com>" in found[1].raw] == [True, True]
    assert int(after) >= int(cursor)


def test_access_token_renewed_mid_session_is_saved_again(
    mail: GmailMail, standin: GoogleStandIn, account: dict[str, Any]
) -> None:
    standin.expire_access_tokens()  # Gmail answers 401; the client refreshes and retries

    assert mail.search() == []

    assert standin.refreshes == 1
    token = json.loads(Path(account["token_file"]).read_text())["token"]
    assert token in standin.access_tokens
    assert stat.S_IMODE(Path(account["token_file"]).stat().st_mode) == 0o600


def test_revoked_access_mid_session_asks_to_connect(
    mail: GmailMail, standin: GoogleStandIn
) -> None:
    standin.revoke()
    with pytest.raises(ProviderError, match=RECONNECT):
        mail.search()


def test_rate_limit_over_http_waits_and_succeeds(
    standin: GoogleStandIn, account: dict[str, Any], principal: Principal
) -> None:
    creds = load_credentials(Path(account["token_file"]), SCOPES, token_uri=standin.token_uri)
    sleeps: list[float] = []
    standin.fail_next(429, headers={"Retry-After": "2"})
    standin.fail_next(503)
    standin.deliver(eml("b1@acme.com"))

    with GmailMail(
        principal, credentials=creds, api_endpoint=standin.url, sleep=sleeps.append
    ) as mail:
        assert [h.message_id for h in mail.search()] == ["<b1@acme.com>"]
    assert sleeps[0] == 2.0 and len(sleeps) == 2


def test_draft_lands_once_and_labels_and_archive_work(
    mail: GmailMail, standin: GoogleStandIn
) -> None:
    draft = OutgoingMessage(to=["dana@acme.com"], subject="Later", body="Draft text")
    first = mail.save_draft(draft, "draft-1")
    assert mail.save_draft(draft, "draft-1") == first
    drafts = [m for m in standin.messages.values() if "DRAFT" in m.labels]
    assert len(drafts) == 1 and first.folder == "drafts"
    assert [h.message_id for h in mail.search(folder="drafts")] == [first.message_id]

    standin.deliver(eml("b1@acme.com"))
    mail.add_labels("<b1@acme.com>", ["Follow up", "STARRED"])
    mail.archive("<b1@acme.com>")
    [stored] = [m for m in standin.messages.values() if m.header("Message-ID") == "<b1@acme.com>"]
    follow = next(i for i, n in standin.labels.items() if n == "Follow up")
    assert set(stored.labels) == {"UNREAD", follow, "STARRED"}
    assert mail.search() == []


def test_no_token_reaches_logs_during_a_session(
    mail: GmailMail, standin: GoogleStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    standin.expire_access_tokens()
    standin.deliver(eml("b1@acme.com"))
    mail.get_thread("b1@acme.com")
    for token in [*standin.access_tokens, *standin.refresh_tokens, standin.client_secret]:
        assert token not in caplog.text
