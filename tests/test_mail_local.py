"""Local Maildir mail provider, reply composition and the mail tools."""

from __future__ import annotations

import logging
from datetime import datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tools import mail as mail_tools
from tools.base import _REGISTRY, ToolError
from tools.context import ToolContext, Workspace
from tools.foundation.principals import Principal
from tools.providers.base import Contact, MailProvider, NotFound, OutgoingMessage
from tools.providers.local.mail import LocalMail
from tools.providers.mime import (
    compose_reply,
    normalize_subject,
    parse_addresses,
    reply_subject,
)

TZ = ZoneInfo("Europe/Berlin")
NOW = datetime(2024, 6, 3, 9, 30, tzinfo=TZ)


@pytest.fixture
def principal() -> Principal:
    return Principal(id="ada", name="Ada Lovelace", email="ada@example.com", timezone=TZ.key)


@pytest.fixture
def box(tmp_path: Path, principal: Principal) -> LocalMail:
    return LocalMail(tmp_path, principal, clock=lambda: NOW)


class FakeContacts:
    """Knows exactly one person."""

    def by_email(self, email: str) -> Contact | None:
        if email.lower() == "dana@acme.com":
            return Contact(name="Dana", email="dana@acme.com")
        return None


@pytest.fixture
def ctx(box: LocalMail, principal: Principal, tmp_path: Path) -> ToolContext:
    ws = Workspace(
        principal=principal,
        root=tmp_path,
        calendar=object(),  # type: ignore[arg-type]
        mail=box,
        contacts=FakeContacts(),  # type: ignore[arg-type]
    )
    return ToolContext(principal=principal, workspace=ws, clock=lambda: NOW)


def eml(
    msg_id: str,
    subject: str = "Budget",
    sender: str = "Dana Smith <dana@acme.com>",
    to: str = "Ada Lovelace <ada@example.com>",
    date: str = "Mon, 03 Jun 2024 08:00:00 +0200",
    body: str = "Hello Ada,\nthe budget is attached.\n",
    extra: str = "",
) -> bytes:
    head = f"From: {sender}\nTo: {to}\nSubject: {subject}\nDate: {date}\nMessage-ID: <{msg_id}>\n"
    return (head + extra + "\n" + body).encode()


def drop(box: LocalMail, name: str, data: bytes, sub: str = "new", folder: str = "inbox") -> Path:
    path = box.path / folder / sub / name
    path.write_bytes(data)
    return path


def call(ctx: ToolContext, name: str, **args: Any) -> Any:
    spec = _REGISTRY[name]
    return spec.run(ctx, spec.validate(args))


def preview(ctx: ToolContext, name: str, **args: Any) -> Any:
    spec = _REGISTRY[name]
    return spec.render_preview(ctx, spec.validate(args))


# ------------------------------------------------------------------ provider


def test_local_mail_satisfies_the_provider_protocol(box: LocalMail) -> None:
    assert isinstance(box, MailProvider)
    for folder in ("inbox", "sent", "drafts"):
        assert (box.path / folder / "new").is_dir() and (box.path / folder / "tmp").is_dir()


def test_dropped_eml_is_searchable(box: LocalMail) -> None:
    drop(box, "budget.eml", eml("a1@acme.com"))
    drop(box, "lunch.eml:2,S", eml("a2@acme.com", subject="Lunch"), sub="cur")
    assert [h.message_id for h in box.search(query="lunch")] == ["<a2@acme.com>"]
    hits = box.search(query="attached", sender="dana")
    assert len(hits) == 2
    assert hits[0].sender == "Dana Smith <dana@acme.com>"
    assert hits[0].snippet.startswith("Hello Ada, the budget")
    assert hits[0].date == datetime(2024, 6, 3, 8, 0, tzinfo=TZ)
    assert len(box.search()) == 2


def test_search_needs_every_word_and_lists_newest_first(box: LocalMail) -> None:
    drop(
        box, "1.eml", eml("old@x.com", body="quarterly budget", date="Sat, 1 Jun 2024 10:00 +0000")
    )
    drop(
        box, "2.eml", eml("new@x.com", body="Quarterly BUDGET", date="Sun, 2 Jun 2024 10:00 +0000")
    )
    drop(box, "3.eml", eml("other@x.com", subject="Hi", body="quarterly only"))
    hits = box.search(query="budget quarterly")
    assert [h.message_id for h in hits] == ["<new@x.com>", "<old@x.com>"]
    assert [h.message_id for h in box.search(limit=1)] == ["<other@x.com>"]


def test_search_filters_by_sender_and_since(box: LocalMail) -> None:
    drop(box, "1.eml", eml("a@x.com", date="Sat, 1 Jun 2024 10:00 +0000"))
    drop(box, "2.eml", eml("b@x.com", sender="Bob <bob@other.org>"))
    assert [h.message_id for h in box.search(sender="other.org")] == ["<b@x.com>"]
    since = datetime(2024, 6, 2, tzinfo=TZ)
    assert [h.message_id for h in box.search(since=since)] == ["<b@x.com>"]


def test_malformed_file_is_skipped_not_fatal(
    box: LocalMail, caplog: pytest.LogCaptureFixture
) -> None:
    drop(box, "good.eml", eml("good@x.com"))
    drop(box, "empty.eml", b"")
    drop(box, "garbage.bin", bytes(range(256)) * 4)
    drop(
        box,
        "broken-mime.eml",
        b"From: x@y.com\nSubject: broken\nContent-Type: multipart/mixed; boundary=\n"
        b"Content-Transfer-Encoding: base64\n\n--\n=?=?\xff\xfe",
    )
    drop(box, ".DS_Store", b"\x00\x01")
    with caplog.at_level(logging.WARNING):
        ids = {h.message_id for h in box.search()}
    assert "<good@x.com>" in ids
    warned = caplog.text
    assert "empty.eml" in warned and "garbage.bin" in warned
    assert ".DS_Store" not in warned


def test_unknown_charset_decodes(box: LocalMail) -> None:
    raw = (
        b"From: =?x-unknown?q?J=FCrgen?= <j@x.de>\nTo: Zo\xc3\xab <z@x.de>, ada@example.com\n"
        b"Subject: =?x-unknown?q?Gr=FC=DFe?=\nMessage-ID: <cs@x.de>\n"
        b"Content-Type: text/plain; charset=x-made-up\n\nGr\xc3\xbc\xc3\x9fe aus K\xf6ln\n"
    )
    drop(box, "cs.eml", raw)
    msg = box.get_message("cs@x.de")
    assert msg.body.startswith("Grüße aus K")
    assert msg.to == ["Zoë <z@x.de>", "ada@example.com"]  # raw 8-bit UTF-8 header
    assert msg.sender.endswith("<j@x.de>")
    assert "\ufffd" in msg.body  # the stray latin-1 byte is replaced, not fatal
    msg.model_dump_json()  # no lone surrogates left for JSON to choke on


def test_html_only_body_reads_as_text_and_attachments_are_listed(box: LocalMail) -> None:
    raw = (
        b"From: a@x.com\nTo: ada@example.com\nSubject: Invite\nMessage-ID: <h@x.com>\n"
        b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"\n\n'
        b"--B\nContent-Type: text/html; charset=utf-8\n\n"
        b"<html><head><style>p{color:red}</style></head><body><p>Dear Ada,</p>"
        b"<p>See &amp; sign<br>the <b>contract</b>.</p></body></html>\n"
        b"--B\nContent-Type: application/pdf\nContent-Disposition: attachment; "
        b'filename="contract.pdf"\nContent-Transfer-Encoding: base64\n\nJVBERi0=\n--B--\n'
    )
    drop(box, "h.eml", raw)
    msg = box.get_message("<h@x.com>")
    assert msg.body == "Dear Ada,\n\nSee & sign\nthe contract."
    assert msg.attachments == ["contract.pdf"]


def test_get_message_accepts_id_with_or_without_brackets(box: LocalMail) -> None:
    drop(box, "1.eml", eml("a1@acme.com"))
    assert box.get_message("a1@acme.com").message_id == "<a1@acme.com>"
    assert box.get_message(" <a1@acme.com> ").subject == "Budget"
    with pytest.raises(NotFound, match="Search mail"):
        box.get_message("<nope@acme.com>")


def test_send_writes_one_complete_message_per_key(box: LocalMail) -> None:
    out = OutgoingMessage(
        to=["Dana Smith <dana@acme.com>"],
        cc=["carl@acme.com"],
        bcc=["boss@example.com"],
        subject="Budget",
        body="Grüße, the numbers are in.\n",
        extra_headers={"X-Priority": "3"},
    )
    first = box.send(out, "key-1")
    again = box.send(out, "key-1")
    assert first == again
    files = list((box.path / "sent" / "new").iterdir())
    assert len(files) == 1
    assert first.recipients == ["dana@acme.com", "carl@acme.com", "boss@example.com"]
    assert first.message_id.startswith("<") and first.message_id.endswith("@example.com>")
    parsed = BytesParser(policy=policy.default).parsebytes(files[0].read_bytes())
    assert parsed["From"] == "Ada Lovelace <ada@example.com>"
    assert parsed["To"] == "Dana Smith <dana@acme.com>"
    assert parsed["Cc"] == "carl@acme.com"
    assert parsed["Bcc"] is None
    assert parsed["X-Secretary-Bcc"] == "boss@example.com"
    assert parsed["Message-ID"] == first.message_id
    assert parsed["MIME-Version"] == "1.0"
    assert parsed["X-Priority"] == "3"
    assert parsed["Date"].datetime == NOW
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content_charset() == "utf-8"
    assert parsed.get_content() == "Grüße, the numbers are in.\n"
    assert not list((box.path / "sent" / "tmp").iterdir())
    assert box.search(folder="sent")[0].subject == "Budget"


def test_send_with_another_key_writes_another_message(box: LocalMail) -> None:
    out = OutgoingMessage(to=["dana@acme.com"], subject="Hi", body="Hi")
    assert box.send(out, "k1").message_id != box.send(out, "k2").message_id
    assert len(box.search(folder="sent")) == 2


def test_draft_is_kept_in_drafts_not_sent(box: LocalMail) -> None:
    receipt = box.save_draft(OutgoingMessage(to=[], subject="Later", body="..."), "d1")
    assert receipt.folder == "drafts"
    assert [m.subject for m in box.search(folder="drafts")] == ["Later"]
    assert box.search(folder="sent") == []


def test_import_eml_is_idempotent(box: LocalMail, tmp_path: Path) -> None:
    path = tmp_path / "in.eml"
    path.write_bytes(eml("imp@x.com"))
    assert box.import_eml(path) == "<imp@x.com>"
    assert box.import_eml(path.read_bytes()) == "<imp@x.com>"
    assert len(box.search()) == 1
    no_id = b"From: a@x.com\nSubject: no id\n\nbody\n"
    mid = box.import_eml(no_id)
    assert box.get_message(mid).subject == "no id"


def test_thread_follows_references_across_folders(box: LocalMail) -> None:
    drop(box, "1.eml", eml("root@acme.com", date="Sat, 1 Jun 2024 10:00 +0000"))
    original = box.get_message("root@acme.com")
    box.send(compose_reply(original, "Thanks!", box.principal), "reply-1")
    sent_id = box.search(folder="sent")[0].message_id
    drop(
        box,
        "3.eml",
        eml(
            "third@acme.com",
            subject="Re: Re: Budget",
            date="Tue, 4 Jun 2024 10:00 +0000",
            extra=f"In-Reply-To: {sent_id}\nReferences: <root@acme.com> {sent_id}\n",
        ),
    )
    drop(box, "4.eml", eml("unrelated@acme.com", subject="Budget 2025"))
    for any_id in ("<root@acme.com>", sent_id, "third@acme.com"):
        thread = box.get_thread(any_id)
        assert [m.message_id for m in thread] == ["<root@acme.com>", sent_id, "<third@acme.com>"]
    assert box.search(query="re budget")[0].thread_id == "<root@acme.com>"


def test_thread_falls_back_to_subject_and_participants(box: LocalMail) -> None:
    drop(box, "1.eml", eml("q1@x.com", subject="Venue", date="Sat, 1 Jun 2024 10:00 +0000"))
    drop(
        box,
        "2.eml",
        eml(
            "q2@x.com",
            subject="AW: Venue",
            sender="Ada <ada@example.com>",
            to="dana@acme.com",
            date="Sun, 2 Jun 2024 10:00 +0000",
        ),
    )
    drop(box, "3.eml", eml("q3@x.com", subject="RE: Venue", sender="eve@elsewhere.org"))
    assert [m.message_id for m in box.get_thread("q2@x.com")] == ["<q1@x.com>", "<q2@x.com>"]


def test_listing_parses_each_file_once(box: LocalMail, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(50):
        drop(box, f"{i}.eml", eml(f"m{i}@x.com"))
    box.search()
    calls: list[int] = []
    import tools.providers.local.mail as local_mail

    real = local_mail.parse_rfc822

    def counting(*args: Any) -> Any:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(local_mail, "parse_rfc822", counting)
    box.search(query="budget")
    assert calls == []
    drop(box, "new.eml", eml("fresh@x.com"))
    assert len(box.search(limit=100)) == 51
    assert calls == [1]


# ---------------------------------------------------------------- composing


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Budget", "Re: Budget"),
        ("Re: Budget", "Re: Budget"),
        ("RE: re: Budget", "Re: Budget"),
        ("Aw: Budget", "Re: Budget"),
        ("Re[2]: Budget", "Re: Budget"),
        ("Fwd: Budget", "Re: Fwd: Budget"),
    ],
)
def test_reply_subject_is_not_doubled(subject: str, expected: str) -> None:
    assert reply_subject(subject) == expected


def test_normalize_subject_strips_prefixes_and_tags() -> None:
    assert normalize_subject("RE: Aw:  [team] Fwd: Budget  2024") == "Budget 2024"


def test_reply_threads_headers_and_quotes(box: LocalMail, principal: Principal) -> None:
    drop(
        box,
        "1.eml",
        eml(
            "child@acme.com",
            subject="Re: Budget",
            to="ada@example.com, Carl <carl@acme.com>",
            extra="Cc: Ada <ADA@example.com>, eve@acme.com\nReferences: <root@acme.com>\n"
            "In-Reply-To: <root@acme.com>\n",
        ),
    )
    original = box.get_message("child@acme.com")
    reply = compose_reply(original, "Agreed.\n", principal)
    assert reply.to == ["Dana Smith <dana@acme.com>"] and reply.cc == []
    assert reply.subject == "Re: Budget"
    assert reply.in_reply_to == "<child@acme.com>"
    assert reply.references == ["<root@acme.com>", "<child@acme.com>"]
    assert reply.body == (
        "Agreed.\n\nOn Mon, 03 Jun 2024 at 08:00, Dana Smith <dana@acme.com> wrote:\n"
        "> Hello Ada,\n> the budget is attached.\n"
    )
    everyone = compose_reply(original, "Agreed.", principal, reply_all=True)
    assert everyone.to == ["Dana Smith <dana@acme.com>", "Carl <carl@acme.com>"]
    assert everyone.cc == ["eve@acme.com"]


def test_reply_goes_to_reply_to_when_given(box: LocalMail, principal: Principal) -> None:
    drop(box, "1.eml", eml("r@x.com", extra="Reply-To: Desk <desk@acme.com>\n"))
    reply = compose_reply(box.get_message("r@x.com"), "ok", principal)
    assert reply.to == ["Desk <desk@acme.com>"]


def test_parse_addresses_rejects_bad_address_by_name() -> None:
    assert parse_addresses("Dana <dana@acme.com>; carl@acme.com, dana@ACME.com") == [
        "Dana <dana@acme.com>",
        "carl@acme.com",
    ]
    assert parse_addresses(['"Smith, Dana" <dana@acme.com>']) == ['"Smith, Dana" <dana@acme.com>']
    for bad in ("dana", "dana@", "dana@acme", "Dana Smith", "a@b..com"):
        with pytest.raises(ValueError, match=f"'{bad}' is not an e-mail address"):
            parse_addresses(["ok@acme.com", bad])


# -------------------------------------------------------------------- tools


def test_mail_tools_declare_their_effects() -> None:
    effects = {n: (_REGISTRY[n].effect, _REGISTRY[n].trust) for n in _REGISTRY}
    assert effects["search_mail"] == ("read", "untrusted")
    assert effects["read_message"] == ("read", "untrusted")
    assert effects["read_thread"] == ("read", "untrusted")
    for name in ("send_email", "reply_to_message", "save_draft"):
        assert _REGISTRY[name].effect == "write" and _REGISTRY[name].preview is not None
    assert mail_tools.search_mail is _REGISTRY["search_mail"].fn


def test_search_mail_reads_naive_since_in_principal_zone(ctx: ToolContext, box: LocalMail) -> None:
    drop(box, "1.eml", eml("a@x.com", date="Sun, 2 Jun 2024 23:30 +0200"))
    assert [h["message_id"] for h in call(ctx, "search_mail", since="2024-06-02T23:00")] == [
        "<a@x.com>"
    ]
    assert call(ctx, "search_mail", since="2024-06-03") == []
    with pytest.raises(ToolError, match="ISO date such as 2024-06-01"):
        call(ctx, "search_mail", since="last tuesday")


def test_read_tools_turn_unknown_ids_into_tool_errors(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="No message with id <missing@x.com>"):
        call(ctx, "read_message", message_id="missing@x.com")
    with pytest.raises(ToolError):
        call(ctx, "read_thread", message_id="missing@x.com")
    with pytest.raises(ToolError):
        preview(ctx, "reply_to_message", message_id="missing@x.com", body="hi")


def test_send_email_previews_then_sends_once(ctx: ToolContext) -> None:
    args = {"to": ["dana@acme.com", "Stranger <new@else.org>"], "subject": "Budget", "body": "Hi"}
    card = preview(ctx, "send_email", **args)
    assert card.summary == "Send e-mail to dana@acme.com, new@else.org: 'Budget'"
    assert card.details == {
        "From": "Ada Lovelace <ada@example.com>",
        "To": "dana@acme.com, Stranger <new@else.org>",
        "Subject": "Budget",
    }
    assert card.body == "Hi"
    assert card.warnings == ["new@else.org is not in your contacts."]
    ctx.idempotency_key = "ledger-7"
    result = call(ctx, "send_email", **args)
    assert call(ctx, "send_email", **args) == result
    assert result["recipients"] == ["dana@acme.com", "new@else.org"]
    assert len(call(ctx, "search_mail", folder="sent")) == 1


def test_send_email_rejects_bad_address_with_tool_error(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="'dana' is not an e-mail address"):
        preview(ctx, "send_email", to=["dana"], subject="x", body="y")
    with pytest.raises(ToolError, match="Cc: 'x@' is not"):
        call(ctx, "send_email", to=["dana@acme.com"], cc=["x@"], subject="x", body="y")
    with pytest.raises(ToolError, match="at least one address"):
        call(ctx, "send_email", to=[], subject="x", body="y")


def test_reply_preview_shows_exactly_what_is_sent(ctx: ToolContext, box: LocalMail) -> None:
    drop(box, "1.eml", eml("orig@acme.com"))
    card = preview(ctx, "reply_to_message", message_id="orig@acme.com", body="Thanks!")
    assert card.details["To"] == "Dana Smith <dana@acme.com>"
    assert card.details["Subject"] == "Re: Budget"
    assert card.details["In-Reply-To"] == "<orig@acme.com>"
    assert card.warnings == []
    ctx.idempotency_key = "reply-key"
    result = call(ctx, "reply_to_message", message_id="orig@acme.com", body="Thanks!")
    sent = ctx.mail.get_message(result["message_id"])
    assert sent.body == card.body
    assert sent.in_reply_to == "<orig@acme.com>"
    assert sent.references == ["<orig@acme.com>"]
    assert [m.message_id for m in ctx.mail.get_thread("orig@acme.com")] == [
        "<orig@acme.com>",
        result["message_id"],
    ]


def test_save_draft_keeps_the_conversation(ctx: ToolContext, box: LocalMail) -> None:
    drop(box, "1.eml", eml("orig@acme.com"))
    ctx.idempotency_key = "draft-key"
    result = call(
        ctx, "save_draft", to=["dana@acme.com"], subject="Re: Budget", body="...",
        in_reply_to="orig@acme.com",
    )  # fmt: skip
    assert result["folder"] == "drafts"
    draft = ctx.mail.get_message(result["message_id"])
    assert draft.folder == "drafts" and draft.references == ["<orig@acme.com>"]


def test_forward_keeps_attachments_and_quotes_the_original(tmp_path: Path) -> None:
    from email.message import EmailMessage

    from toolkit import preview, run

    from tools.providers.local.mail import LocalMail
    from tools.providers.mime import parse_rfc822

    ada = Principal(id="ada", name="Ada", email="ada@example.com", timezone="Europe/Berlin")
    mail = LocalMail(tmp_path, ada)
    src = EmailMessage()
    src["From"] = "Dana <dana@acme.test>"
    src["To"] = "ada@example.com"
    src["Subject"] = "Invoice 2231"
    src["Message-ID"] = "<inv@acme.test>"
    src.set_content("Please find the invoice attached.")
    src.add_attachment(b"%PDF-1.4 invoice", maintype="application", subtype="pdf",
                       filename="invoice-2231.pdf")  # fmt: skip
    mail.import_eml(src.as_bytes())
    ws = Workspace(principal=ada, root=tmp_path, calendar=None, mail=mail, contacts=None)  # type: ignore[arg-type]
    ctx = ToolContext(principal=ada, workspace=ws)

    card = preview(ctx, "forward_message", message_id="<inv@acme.test>", to=["acc@ada.test"])
    assert "invoice-2231.pdf" in " ".join(card.warnings)
    receipt = run(ctx, "forward_message", "k1", message_id="<inv@acme.test>",
                  to=["acc@ada.test"], note="For the books.")  # fmt: skip
    raw = mail.get_raw(receipt["message_id"])
    sent = parse_rfc822(raw, "sent")
    assert sent.subject == "Fwd: Invoice 2231"
    assert sent.attachments == ["invoice-2231.pdf"]
    assert sent.body.startswith("For the books.") and "Please find the invoice" in sent.body
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    [part] = list(parsed.iter_attachments())  # type: ignore[attr-defined]
    assert part.get_content() == b"%PDF-1.4 invoice"


def test_fetch_new_sees_a_file_stamped_in_the_same_tick_as_its_cursor(box: LocalMail) -> None:
    # The kernel stamps files with a coarse clock: a file renamed into new/ in the same
    # tick as the cursor's file, but sorting before it, must still be fetched once.
    path = drop(box, "aaa.eml", eml("late@x", subject="late"))
    stamp = path.stat().st_ctime_ns
    batch, cursor = box.fetch_new(f"{stamp}:zzz.eml")
    assert [m.uid for m in batch] == ["aaa.eml"]
    assert cursor == f"{stamp}:zzz.eml"  # re-seen files never move the cursor
    old = f"{stamp + 2_000_000_000}:zzz.eml"  # long after: not looked at again
    assert box.fetch_new(old)[0] == []
