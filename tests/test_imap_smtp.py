"""The IMAP/SMTP mail provider against a real Dovecot and a real SMTP submission server."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from email import message_from_bytes
from email.header import Header
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from servers import DRAFTS, SENT, Dovecot, SmtpServer, free_port

from tools.foundation.principals import Principal
from tools.providers.base import MailProvider, MailSync, NotFound, OutgoingMessage, ProviderError
from tools.providers.imap_smtp import ImapSmtpMail, open_mail
from tools.providers.mime import compose_reply

TZ = ZoneInfo("Europe/Berlin")


def eml(
    msg_id: str,
    subject: str = "Budget",
    sender: str = "Dana Smith <dana@acme.test>",
    to: str = "ada@example.test",
    date: str = "Mon, 03 Jun 2024 08:00:00 +0200",
    body: str = "Hello Ada,\nthe budget is attached.\n",
    extra: str = "",
) -> bytes:
    head = f"From: {sender}\nTo: {to}\nSubject: {subject}\nDate: {date}\nMessage-ID: <{msg_id}>\n"
    return (head + extra + "\n" + body).replace("\n", "\r\n").encode()


@pytest.fixture
def opened() -> Iterator[list[ImapSmtpMail]]:
    made: list[ImapSmtpMail] = []
    yield made
    for mail in made:
        mail.close()


@pytest.fixture
def connect(
    dovecot: Dovecot, tmp_path: Path, opened: list[ImapSmtpMail]
) -> Callable[..., ImapSmtpMail]:
    """Open a provider for a user, like a separate process would."""

    def make(user: str, **over: Any) -> ImapSmtpMail:
        principal = Principal(id="ada", name="Ada Lovelace", email=user, timezone=TZ.key)
        mail = open_mail(dovecot.account(user, **over), principal, tmp_path)
        opened.append(mail)
        return mail

    return make


# ------------------------------------------------------------------ reading


def test_search_lists_delivered_mail_newest_first_with_filters(
    dovecot: Dovecot, connect: Callable[..., ImapSmtpMail]
) -> None:
    ada = dovecot.new_user("ada")
    dovecot.deliver(ada, eml("a@acme.test", "Budget 2024", date="Mon, 03 Jun 2024 08:00:00 +0200"))
    dovecot.deliver(
        ada,
        eml(
            "b@acme.test",
            "Lunch",
            sender="Bob <bob@other.test>",
            date="Tue, 04 Jun 2024 08:00:00 +0200",
            body="Pizza on Friday?\n",
        ),
    )
    dovecot.deliver(
        ada, eml("c@acme.test", "Budget follow-up", date="Wed, 05 Jun 2024 08:00:00 +0200")
    )
    mail = connect(ada)

    assert isinstance(mail, MailProvider) and isinstance(mail, MailSync)
    assert [m.message_id for m in mail.search()] == [
        "<c@acme.test>",
        "<b@acme.test>",
        "<a@acme.test>",
    ]
    assert [m.message_id for m in mail.search(query="budget")] == ["<c@acme.test>", "<a@acme.test>"]
    assert [m.message_id for m in mail.search(query="pizza friday")] == ["<b@acme.test>"]
    assert [m.message_id for m in mail.search(sender="bob@other.test")] == ["<b@acme.test>"]
    since = datetime(2024, 6, 4, 8, 0, tzinfo=TZ)
    assert [m.message_id for m in mail.search(since=since)] == ["<c@acme.test>", "<b@acme.test>"]
    assert [m.message_id for m in mail.search(limit=1)] == ["<c@acme.test>"]
    first = mail.search(query="lunch")[0]
    assert first.folder == "inbox" and first.sender == "Bob <bob@other.test>"
    assert first.date == datetime(2024, 6, 4, 8, 0, tzinfo=TZ)
    assert first.snippet == "Pizza on Friday?"


def test_search_finds_non_ascii_subjects_and_words(
    dovecot: Dovecot, connect: Callable[..., ImapSmtpMail]
) -> None:
    ada = dovecot.new_user("ada")
    subject = Header("Größe der Präsentation", "utf-8").encode()
    raw = eml(
        "umlaut@acme.test",
        subject,
        body="Die Änderungen sind fertig.\n",
        extra="MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n",
    )
    dovecot.deliver(ada, raw)
    dovecot.deliver(ada, eml("plain@acme.test", "Other"))
    mail = connect(ada)

    hits = mail.search(query="Größe")
    assert [m.subject for m in hits] == ["Größe der Präsentation"]
    assert [m.message_id for m in mail.search(query="Änderungen")] == ["<umlaut@acme.test>"]


def test_broken_and_unknown_charset_mail_do_not_break_search(
    dovecot: Dovecot, connect: Callable[..., ImapSmtpMail], caplog: pytest.LogCaptureFixture
) -> None:
    ada = dovecot.new_user("ada")
    dovecot.deliver(ada, eml("good@acme.test", "Readable"))
    dovecot.deliver(
        ada,
        eml(
            "broken@acme.test",
            "Broken MIME",
            body="--nowhere\nnot really a part\n",
            extra='MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="missing"\n',
        ),
    )
    dovecot.deliver(
        ada,
        eml(
            "charset@acme.test",
            "=?x-klingon?q?Qapla=27?=",
            body="caf\xe9\n",
            extra="Content-Type: text/plain; charset=x-klingon\n",
        ),
    )
    # Not e-mail at all: no header line. Only an IMAP APPEND can put this in a mailbox.
    dovecot.append(ada, "INBOX", b"\x00\x01 binary junk without any header\r\n")
    mail = connect(ada)

    with caplog.at_level(logging.WARNING, logger="tools.providers.imap_smtp"):
        hits = mail.search()
    assert {m.message_id for m in hits} == {
        "<good@acme.test>",
        "<broken@acme.test>",
        "<charset@acme.test>",
    }
    assert "not a readable e-mail" in caplog.text
    assert mail.get_message("charset@acme.test").body.startswith("caf")


def test_get_message_by_id_from_inbox_sent_or_drafts(
    dovecot: Dovecot, connect: Callable[..., ImapSmtpMail]
) -> None:
    ada = dovecot.new_user("ada")
    dovecot.deliver(ada, eml("in@acme.test", "Incoming"))
    dovecot.append(ada, SENT, eml("out@example.test", "Outgoing", sender=ada, to="dana@acme.test"))
    mail = connect(ada)

    incoming = mail.get_message("in@acme.test")
    assert incoming.subject == "Incoming" and incoming.folder == "inbox"
    assert incoming.body == "Hello Ada,\nthe budget is attached.\n"
    outgoing = mail.get_message("<out@example.test>")
    assert outgoing.folder == "sent" and outgoing.to == ["dana@acme.test"]
    with pytest.raises(NotFound, match="No message with id <nope@acme.test>"):
        mail.get_message("nope@acme.test")


def test_messages_without_message_id_open_from_a_listing(
    dovecot: Dovecot, connect: Callable[..., ImapSmtpMail]
) -> None:
    ada = dovecot.new_user("ada")
    head = "From: dana@acme.test\r\nSubject: {}\r\nDate: Mon, 03 Jun 2024 08:00:00 +0200\r\n\r\n"
    dovecot.append(ada, "INBOX", (head.format("Small") + "no id here\r\n").encode())
    big = "x" * 100 + "\r\n"
    dovecot.append(ada, "INBOX", (head.format("Large") + big * 3000).encode())  # > a listing read
    mail = connect(ada)

    for summary in mail.search():
        assert summary.message_id.endswith("@local.invalid>")
        message = mail.get_message(summary.message_id)
        assert (message.message_id, message.subject) == (summary.message_id, summary.subject)
    assert len(mail.get_message(mail.search(query="Large")[0].message_id).body) > 300_000


def test_get_thread_follows_references_across_folders_oldest_first(
    dovecot: Dovecot, connect: Callable[..., ImapSmtpMail]
) -> None:
    ada = dovecot.new_user("ada")
    dovecot.deliver(ada, eml("t1@acme.test", "Budget", date="Mon, 03 Jun 2024 08:00:00 +0200"))
    dovecot.append(
        ada,
        SENT,
        eml(
            "t2@example.test",
            "Re: Budget",
            sender=ada,
            to="dana@acme.test",
            date="Mon, 03 Jun 2024 09:00:00 +0200",
            extra="In-Reply-To: <t1@acme.test>\nReferences: <t1@acme.test>\n",
        ),
    )
    dovecot.deliver(
        ada,
        eml(
            "t3@acme.test",
            "Re: Budget",
            date="Mon, 03 Jun 2024 10:00:00 +0200",
            extra="In-Reply-To: <t2@example.test>\nReferences: <t1@acme.test> <t2@example.test>\n",
        ),
    )
    # Same subject, no references: a different conversation.
    dovecot.deliver(ada, eml("other@acme.test", "Budget", date="Tue, 04 Jun 2024 08:00:00 +0200"))
    mail = connect(ada)

    for start in ("t1@acme.test", "t2@example.test", "t3@acme.test"):
        thread = mail.get_thread(start)
        assert [m.message_id for m in thread] == [
            "<t1@acme.test>",
            "<t2@example.test>",
            "<t3@acme.test>",
        ]
    assert [m.folder for m in mail.get_thread("t3@acme.test")] == ["inbox", "sent", "inbox"]
    assert [m.message_id for m in mail.get_thread("other@acme.test")] == ["<other@acme.test>"]


# ------------------------------------------------------------------ sending


def test_send_over_starttls_lands_once_in_inbox_and_sent(
    dovecot: Dovecot, smtp_server: SmtpServer, connect: Callable[..., ImapSmtpMail]
) -> None:
    ada, bob = dovecot.new_user("ada"), dovecot.new_user("bob")
    mail = connect(ada, **smtp_server.settings())

    receipt = mail.send(OutgoingMessage(to=[f"Bob <{bob}>"], subject="Hello", body="Hi Bob!"), "k1")

    assert receipt.folder == "sent" and receipt.recipients == [bob]
    assert [(e.mail_from, e.rcpt_tos) for e in smtp_server.envelopes] == [(ada, [bob])]
    inbox = dovecot.messages(bob)
    assert len(inbox) == 1
    got = message_from_bytes(inbox[0][0])
    assert got["Message-ID"] == receipt.message_id and got["Subject"] == "Hello"
    sent = dovecot.messages(ada, SENT)
    assert len(sent) == 1
    assert sent[0][0] == smtp_server.envelopes[0].data  # the exact bytes that went out
    assert b"\\Seen" in sent[0][1]
    assert mail.get_message(receipt.message_id).folder == "sent"


def test_reply_keeps_threading_headers(
    dovecot: Dovecot, smtp_server: SmtpServer, connect: Callable[..., ImapSmtpMail]
) -> None:
    ada, dana = dovecot.new_user("ada"), dovecot.new_user("dana")
    dovecot.deliver(ada, eml("q1@acme.test", "Budget", sender=f"Dana <{dana}>", to=ada))
    mail = connect(ada, **smtp_server.settings())
    original = mail.get_message("q1@acme.test")

    receipt = mail.send(compose_reply(original, "Agreed.", mail.principal), "reply-1")

    got = message_from_bytes(dovecot.messages(dana)[0][0])
    assert got["Subject"] == "Re: Budget"
    assert got["In-Reply-To"] == "<q1@acme.test>"
    assert got["References"] == "<q1@acme.test>"
    thread = mail.get_thread("q1@acme.test")
    assert [m.message_id for m in thread] == ["<q1@acme.test>", receipt.message_id]


def test_bcc_is_delivered_but_never_in_headers(
    dovecot: Dovecot, smtp_server: SmtpServer, connect: Callable[..., ImapSmtpMail]
) -> None:
    ada, bob, carol = (dovecot.new_user(n) for n in ("ada", "bob", "carol"))
    mail = connect(ada, **smtp_server.settings())

    receipt = mail.send(OutgoingMessage(to=[bob], bcc=[carol], subject="Quiet", body="x"), "bcc-1")

    assert receipt.recipients == [bob, carol]
    assert smtp_server.envelopes[0].rcpt_tos == [bob, carol]
    for user, folder in ((bob, "INBOX"), (carol, "INBOX"), (ada, SENT)):
        [(raw, _)] = dovecot.messages(user, folder)
        assert message_from_bytes(raw)["Bcc"] is None
    # What went out (and what Sent keeps) never names the Bcc recipient.
    assert carol.encode() not in smtp_server.envelopes[0].data
    assert dovecot.messages(ada, SENT)[0][0] == smtp_server.envelopes[0].data


def test_sending_twice_with_one_key_delivers_once_even_from_a_new_process(
    dovecot: Dovecot, smtp_server: SmtpServer, connect: Callable[..., ImapSmtpMail]
) -> None:
    ada, bob = dovecot.new_user("ada"), dovecot.new_user("bob")
    message = OutgoingMessage(to=[bob], subject="Once", body="only once")

    first = connect(ada, **smtp_server.settings()).send(message, "same-key")
    again = connect(ada, **smtp_server.settings()).send(message, "same-key")
    third = connect(ada, **smtp_server.settings()).send(message, "same-key")

    assert first.message_id == again.message_id == third.message_id
    assert again.recipients == [bob]
    assert len(smtp_server.envelopes) == 1
    assert len(dovecot.messages(bob)) == 1
    assert len(dovecot.messages(ada, SENT)) == 1


def test_save_draft_appends_to_drafts_once(
    dovecot: Dovecot, connect: Callable[..., ImapSmtpMail]
) -> None:
    ada = dovecot.new_user("ada")
    mail = connect(ada)
    draft = OutgoingMessage(
        to=["dana@acme.test"], bcc=["boss@acme.test"], subject="Draft", body="…"
    )

    receipt = mail.save_draft(draft, "draft-1")
    mail.save_draft(draft, "draft-1")

    assert receipt.folder == "drafts"
    [(raw, flags)] = dovecot.messages(ada, DRAFTS)
    got = message_from_bytes(raw)
    assert got["Message-ID"] == receipt.message_id and got["Bcc"] == "boss@acme.test"
    assert b"\\Draft" in flags
    assert mail.get_message(receipt.message_id).folder == "drafts"


# --------------------------------------------------------------------- sync


def test_fetch_new_is_incremental_oldest_first_and_pages(
    dovecot: Dovecot, connect: Callable[..., ImapSmtpMail]
) -> None:
    ada = dovecot.new_user("ada")
    for i in range(5):
        dovecot.deliver(ada, eml(f"s{i}@acme.test", f"Message {i}"))
    mail = connect(ada)

    page, cursor = mail.fetch_new("", limit=2)
    assert [message_from_bytes(m.raw)["Subject"] for m in page] == ["Message 0", "Message 1"]
    assert all(m.folder == "inbox" and m.uid.split(":")[0] == cursor.split(":")[0] for m in page)
    page, cursor = mail.fetch_new(cursor, limit=2)
    assert [message_from_bytes(m.raw)["Subject"] for m in page] == ["Message 2", "Message 3"]
    # A new provider (another process) carries on from the stored cursor.
    page, cursor = connect(ada).fetch_new(cursor, limit=2)
    assert [message_from_bytes(m.raw)["Subject"] for m in page] == ["Message 4"]
    assert mail.fetch_new(cursor) == ([], cursor)
    dovecot.deliver(ada, eml("s5@acme.test", "Message 5"))
    page, cursor = mail.fetch_new(cursor)
    assert [message_from_bytes(m.raw)["Subject"] for m in page] == ["Message 5"]


def test_current_cursor_skips_mail_already_there(
    dovecot: Dovecot, connect: Callable[..., ImapSmtpMail]
) -> None:
    ada = dovecot.new_user("ada")
    dovecot.deliver(ada, eml("old@acme.test", "Old"))
    mail = connect(ada)
    cursor = mail.current_cursor()
    assert mail.fetch_new(cursor) == ([], cursor)
    dovecot.deliver(ada, eml("new@acme.test", "New"))

    page, _ = mail.fetch_new(cursor)
    assert [message_from_bytes(m.raw)["Message-ID"] for m in page] == ["<new@acme.test>"]


def test_fetch_new_starts_over_when_uidvalidity_changes(
    dovecot: Dovecot, connect: Callable[..., ImapSmtpMail]
) -> None:
    ada = dovecot.new_user("ada")
    dovecot.append(ada, "Archive", eml("a1@acme.test", "First"))
    mail = connect(ada)
    page, cursor = mail.fetch_new("", folder="Archive")
    assert len(page) == 1 and page[0].folder == "Archive"
    with dovecot.imap(ada) as client:  # recreating a folder gives it a new UIDVALIDITY
        client.delete_folder("Archive")
        client.create_folder("Archive")
        client.append("Archive", eml("b1@acme.test", "Second"))
        client.append("Archive", eml("b2@acme.test", "Third"))

    page, new_cursor = mail.fetch_new(cursor, folder="Archive")

    assert [message_from_bytes(m.raw)["Subject"] for m in page] == ["Second", "Third"]
    assert new_cursor.split(":")[0] != cursor.split(":")[0]


def test_idle_returns_true_when_mail_arrives(
    dovecot: Dovecot, connect: Callable[..., ImapSmtpMail]
) -> None:
    ada = dovecot.new_user("ada")
    mail = connect(ada)
    started = time.monotonic()
    assert mail.idle(0.3) is False
    assert 0.25 <= time.monotonic() - started < 3

    timer = threading.Timer(0.3, dovecot.deliver, (ada, eml("idle@acme.test", "Wake up")))
    timer.start()
    try:
        started = time.monotonic()
        assert mail.idle(10) is True
        assert time.monotonic() - started < 5
    finally:
        timer.join()
    page, _ = mail.fetch_new("")
    assert len(page) == 1


def test_mark_seen_and_move_act_on_fetched_uids(
    dovecot: Dovecot, connect: Callable[..., ImapSmtpMail]
) -> None:
    ada = dovecot.new_user("ada")
    dovecot.deliver(ada, eml("m1@acme.test", "Flag me"))
    mail = connect(ada)
    [raw], _ = mail.fetch_new("")

    mail.mark_seen(raw.uid)
    assert b"\\Seen" in dovecot.messages(ada)[0][1]
    mail.set_flags(raw.uid, ["\\Flagged"])
    assert dovecot.messages(ada)[0][1] == (b"\\Flagged",)
    mail.move(raw.uid, "Done")
    assert dovecot.messages(ada) == []
    assert len(dovecot.messages(ada, "Done")) == 1
    with pytest.raises(ProviderError):
        mail.mark_seen("not-a-uid")


def test_unread_lists_unseen_mail_and_leaves_it_unseen(
    dovecot: Dovecot, connect: Callable[..., ImapSmtpMail]
) -> None:
    ada = dovecot.new_user("ada")
    dovecot.append(ada, "INBOX", eml("read@acme.test", "Read"), flags=(b"\\Seen",))
    dovecot.deliver(ada, eml("u1@acme.test", "First"))
    dovecot.deliver(ada, eml("u2@acme.test", "Second"))
    mail = connect(ada)

    assert [message_from_bytes(m.raw)["Subject"] for m in mail.unread()] == ["First", "Second"]
    assert [message_from_bytes(m.raw)["Subject"] for m in mail.unread(limit=1)] == ["Second"]
    assert len(mail.unread()) == 2


def test_get_raw_returns_the_bytes_the_server_holds(
    dovecot: Dovecot, connect: Callable[..., ImapSmtpMail]
) -> None:
    ada = dovecot.new_user("ada")
    raw = eml("raw@acme.test", "Attachment inside")
    dovecot.append(ada, "INBOX", raw)
    mail = connect(ada)

    assert mail.get_raw("<raw@acme.test>") == raw
    with pytest.raises(NotFound):
        mail.get_raw("missing@acme.test")


# ----------------------------------------------------------- connections


def test_imaps_with_the_test_ca_works_like_starttls(
    dovecot: Dovecot, connect: Callable[..., ImapSmtpMail]
) -> None:
    ada = dovecot.new_user("ada")
    dovecot.deliver(ada, eml("tls@acme.test", "Over TLS"))
    mail = connect(ada, imap_port=dovecot.imaps_port, imap_security="ssl")

    assert [m.subject for m in mail.search()] == ["Over TLS"]


def test_certificate_from_an_unknown_ca_is_refused_clearly(
    dovecot: Dovecot, connect: Callable[..., ImapSmtpMail]
) -> None:
    ada = dovecot.new_user("ada")
    mail = connect(ada, imap_port=dovecot.imaps_port, imap_security="ssl", ca_file="")

    with pytest.raises(
        ProviderError, match=f"certificate of the IMAP server 127.0.0.1:{dovecot.imaps_port}"
    ):
        mail.search()


def test_wrong_password_is_an_error_that_does_not_contain_it(
    dovecot: Dovecot, connect: Callable[..., ImapSmtpMail], caplog: pytest.LogCaptureFixture
) -> None:
    ada = dovecot.new_user("ada")
    secret = "wrong-horse-battery-staple"
    mail = connect(ada, password=secret)

    with caplog.at_level(logging.DEBUG), pytest.raises(ProviderError) as err:
        mail.search()

    text = str(err.value)
    assert f"127.0.0.1:{dovecot.imap_port}" in text and ada in text and "password" in text
    assert secret not in text and secret not in caplog.text and secret not in repr(mail)


def test_server_not_listening_is_an_error_naming_host_and_port(
    dovecot: Dovecot, connect: Callable[..., ImapSmtpMail]
) -> None:
    ada = dovecot.new_user("ada")
    port = free_port()
    mail = connect(ada, imap_port=port)

    with pytest.raises(ProviderError, match=f"127.0.0.1:{port}: connection refused"):
        mail.search()


def test_smtp_not_listening_is_an_error_and_nothing_is_stored(
    dovecot: Dovecot, connect: Callable[..., ImapSmtpMail]
) -> None:
    ada = dovecot.new_user("ada")
    port = free_port()
    mail = connect(ada, smtp_host="127.0.0.1", smtp_port=port)

    with pytest.raises(ProviderError, match=f"SMTP server 127.0.0.1:{port}: connection refused"):
        mail.send(OutgoingMessage(to=["x@acme.test"], subject="s", body="b"), "k")
    assert dovecot.messages(ada, SENT) == []


def test_reconnects_once_when_the_connection_dropped(
    dovecot: Dovecot, connect: Callable[..., ImapSmtpMail], caplog: pytest.LogCaptureFixture
) -> None:
    ada = dovecot.new_user("ada")
    dovecot.deliver(ada, eml("r@acme.test", "Still here"))
    mail = connect(ada)
    assert len(mail.search()) == 1
    dovecot.kick(ada)  # the server drops the connection, as on a restart or idle logout

    with caplog.at_level(logging.INFO, logger="tools.providers.imap_smtp"):
        assert [m.subject for m in mail.search()] == ["Still here"]
    assert "reconnecting" in caplog.text


def test_smtp_refusing_every_recipient_is_an_error_and_nothing_is_stored(
    dovecot: Dovecot, smtp_server: SmtpServer, connect: Callable[..., ImapSmtpMail]
) -> None:
    ada = dovecot.new_user("ada")
    smtp_server.refuse.add("nobody@acme.test")
    mail = connect(ada, **smtp_server.settings())

    with pytest.raises(ProviderError, match=r"refused nobody@acme.test \(550 5.1.1"):
        mail.send(OutgoingMessage(to=["nobody@acme.test"], subject="s", body="b"), "k")
    assert smtp_server.envelopes == [] and dovecot.messages(ada, SENT) == []


def test_smtp_refusing_one_recipient_names_it_and_keeps_the_sent_copy(
    dovecot: Dovecot, smtp_server: SmtpServer, connect: Callable[..., ImapSmtpMail]
) -> None:
    ada, bob = dovecot.new_user("ada"), dovecot.new_user("bob")
    smtp_server.refuse.add("nobody@acme.test")
    mail = connect(ada, **smtp_server.settings())
    message = OutgoingMessage(to=[bob, "nobody@acme.test"], subject="s", body="b")

    with pytest.raises(ProviderError, match=f"went to {bob}, but .* refused nobody@acme.test"):
        mail.send(message, "partial")
    assert len(dovecot.messages(bob)) == 1 and len(dovecot.messages(ada, SENT)) == 1
    # The retry finds it in Sent and sends nothing more.
    mail.send(message, "partial")
    assert len(smtp_server.envelopes) == 1


def test_smtp_temporary_failure_sends_nothing_and_a_retry_sends_once(
    dovecot: Dovecot, smtp_server: SmtpServer, connect: Callable[..., ImapSmtpMail]
) -> None:
    ada, bob = dovecot.new_user("ada"), dovecot.new_user("bob")
    smtp_server.fail_data = "451 4.3.0 Mail server temporarily rejected message"
    mail = connect(ada, **smtp_server.settings())
    message = OutgoingMessage(to=[bob], subject="Later", body="b")

    with pytest.raises(ProviderError, match="451 4.3.0 .* nothing was sent. Try again later"):
        mail.send(message, "retry-me")
    assert dovecot.messages(ada, SENT) == [] and dovecot.messages(bob) == []

    smtp_server.fail_data = ""
    mail.send(message, "retry-me")
    assert len(dovecot.messages(bob)) == 1 and len(smtp_server.envelopes) == 1


def test_smtp_wrong_password_is_an_error_that_does_not_contain_it(
    dovecot: Dovecot, smtp_server: SmtpServer, connect: Callable[..., ImapSmtpMail]
) -> None:
    ada = dovecot.new_user("ada")
    secret = "smtp-only-secret-123"
    mail = connect(ada, smtp_password=secret, **smtp_server.settings())

    with pytest.raises(ProviderError) as err:
        mail.send(OutgoingMessage(to=["x@acme.test"], subject="s", body="b"), "k")
    assert f"SMTP server 127.0.0.1:{smtp_server.port} refused the login for {ada}" in str(err.value)
    assert secret not in str(err.value)


# ----------------------------------------------------------------- settings


def test_settings_are_checked_with_sentences(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    who = Principal(id="ada", name="Ada", email="ada@example.test", timezone=TZ.key)
    base = {"imap_host": "imap.example.test", "username": "ada", "password_env": "ADA_IMAP"}
    monkeypatch.setenv("ADA_IMAP", "s3cret")

    mail = open_mail(base, who, tmp_path)
    assert (mail.settings.imap.port, mail.settings.imap.security) == (993, "ssl")
    assert (mail.settings.smtp.host, mail.settings.smtp.port) == ("imap.example.test", 587)
    assert mail.settings.smtp.password == "s3cret" and mail.settings.address == "ada@example.test"
    assert "s3cret" not in repr(mail) and "s3cret" not in repr(mail.settings)
    own = open_mail(base | {"smtp_username": "relay", "smtp_password": "other"}, who, tmp_path)
    assert (own.settings.smtp.username, own.settings.smtp.password) == ("relay", "other")
    assert open_mail(base | {"smtp_username": ""}, who, tmp_path).settings.smtp.username == ""

    for bad, phrase in [
        ({"imap_host": ""}, "no imap_host"),
        ({"imap_security": "tls"}, 'use "ssl", "starttls" or "none"'),
        ({"imap_port": "x"}, "not a port number"),
        ({"folders": {"trash": "Bin"}}, "folders setting"),
        ({"ca_file": str(tmp_path / "missing.pem")}, "does not exist"),
        ({"password_env": "NOT_SET_ANYWHERE"}, "NOT_SET_ANYWHERE"),
    ]:
        with pytest.raises(ProviderError, match=phrase):
            open_mail(base | bad, who, tmp_path)


def test_explicit_folder_names_win_and_are_created_when_first_used(
    dovecot: Dovecot, connect: Callable[..., ImapSmtpMail]
) -> None:
    ada = dovecot.new_user("ada")
    mail = connect(ada, folders={"drafts": "Notes/Drafts"})
    with pytest.raises(NotFound):  # a folder that does not exist yet holds nothing
        mail.get_message("nothing@acme.test")

    mail.save_draft(OutgoingMessage(to=[], subject="Idea", body="..."), "d1")

    assert len(dovecot.messages(ada, "Notes/Drafts")) == 1
    assert dovecot.messages(ada, DRAFTS) == []


def test_smtp_over_implicit_tls_works_like_starttls(
    dovecot: Dovecot, smtps_server: SmtpServer, connect: Callable[..., ImapSmtpMail]
) -> None:
    ada, bob = dovecot.new_user("ada"), dovecot.new_user("bob")
    mail = connect(ada, **smtps_server.settings())

    mail.send(OutgoingMessage(to=[bob], subject="Over SSL", body="b"), "ssl-1")

    assert [(e.mail_from, e.rcpt_tos) for e in smtps_server.envelopes] == [(ada, [bob])]
    assert len(dovecot.messages(bob)) == 1
