"""Answers to approval requests: the grammar, a held-out corpus end to end, a property.

The corpus (tests/data/approval_replies.jsonl) was written by hand, apart from the
vocabulary, as the answers people send from Gmail, Outlook, Apple Mail and the like in
English, Danish and German, with out-of-office replies and bounces. Each answer is
mailed to the desk as a reply to a real request; what matters is what happens next.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.channels.approval_mail import authentication_verdict, parse_authentication_results
from agent.channels.decisions import new_lines, read_line, read_reply, vocabulary
from agent.channels.email import MailDesk
from tools.foundation.principals import Principal
from tools.providers.mime import parse_rfc822
from tools.providers.scripted import ScriptedChatModel

DRAFT = "Dear Dana,\n\nThe Q3 report follows on Friday.\n\nBest regards,\nAda"
CORPORA = {
    name: [
        json.loads(line)
        for line in (Path(__file__).parent / "data" / name).read_text("utf-8").splitlines()
        if line.strip()
    ]
    for name in ("approval_replies.jsonl", "approval_replies_holdout.jsonl")
}
"""The first corpus shaped the vocabulary; the second was written afterwards, apart from it."""


@pytest.fixture
def ada() -> Principal:
    return Principal(
        id="ada",
        name="Ada Lovelace",
        email="ada@example.com",
        timezone="Europe/Berlin",
        policy={"approval_channel": "email"},
    )


# ----------------------------------------------------------------- the grammar


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("Yes, send it. Thanks!", "approve"),
        ("Approved, thanks!", "approve"),
        ("Looks good", "approve"),
        ("👍🏽", "approve"),
        ("Godkendt – tak", "approve"),
        ("Genehmigt.", "approve"),
        ("Please don't send this", "reject"),
        ("Nej tak", "reject"),
        ("Bitte nicht senden.", "reject"),
        ("Hold off for now", ""),
        ("Who is this? Can you make it shorter?", ""),
        ("No, send it", ""),
        ("Yes. Thanks and cc Bob", ""),
        ("Yes, but move it to Friday", ""),
        ("ok?", ""),
    ],
)
def test_only_vocabulary_lines_decide(line: str, kind: str) -> None:
    assert read_line(line)[0] == kind


def test_a_rejection_keeps_its_reason() -> None:
    assert read_reply("No - I will call her instead.\n\nAda", DRAFT).text.startswith(
        "I will call her instead."
    )
    assert read_reply("reject because it is too early", DRAFT).text == "because it is too early"


def test_answers_below_a_quote_and_above_an_outlook_block_are_read() -> None:
    bottom = "On Mon, 23 Nov 2026 at 09:12, Secretary <\nada@example.com> wrote:\n> x\n\nApprove"
    assert new_lines(bottom) == ["Approve"]
    outlook = "Nej\n\nFra: Secretary <ada@example.com>\nSendt: 23. november\nApprove this?"
    assert read_reply(outlook, DRAFT).kind == "reject"


def test_an_unchanged_draft_block_is_not_an_edit() -> None:
    block = f"--- BEGIN DRAFT ---\n{DRAFT}\n--- END DRAFT ---"
    quoted = "\n".join("> " + ln for ln in block.splitlines())
    assert read_reply(f"approve\n\n{quoted}", DRAFT).kind == "approve"
    assert read_reply(f"\n\n{quoted}", DRAFT).kind == "empty"
    changed = quoted.replace("Friday", "Monday")
    reading = read_reply(f"\n\n{changed}", DRAFT)
    assert reading.kind == "edit" and "Monday" in reading.text and ">" not in reading.text


def test_vocabulary_has_three_languages() -> None:
    vocab = vocabulary()
    for word in ("approve", "godkendt", "genehmigt", "reject", "afvis", "ablehnen"):
        assert word in vocab.approve | vocab.reject


# ----------------------------------------------------------------- authentication


def test_authentication_results_are_parsed_with_comments() -> None:
    value = (
        "mx.example.com (Postfix) 1; spf=pass (sender SPF authorized) smtp.mailfrom=example.com;"
        " dkim=pass (2048-bit key) header.d=example.com header.s=s1;"
        " dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.com"
    )
    parsed = parse_authentication_results(value)
    assert parsed.authserv_id == "mx.example.com"
    assert parsed.result("dmarc") == ("pass", {"header.from": "example.com"})


def test_only_the_trusted_servers_topmost_header_counts() -> None:
    good = "mx.example.com; dmarc=pass header.from=example.com"
    assert authentication_verdict([good], None, "example.com")[0] == "none"
    assert authentication_verdict([good], "mx.example.com", "example.com")[0] == "pass"
    assert authentication_verdict([good], "MX.example.com", "evil.test")[0] == "none"
    forged_below = ["mx.example.com; dmarc=none header.from=example.com", good]
    assert authentication_verdict(forged_below, "mx.example.com", "example.com")[0] == "none"
    other_on_top = ["relay.evil.test; dmarc=pass header.from=example.com", good]
    assert authentication_verdict(other_on_top, "mx.example.com", "example.com")[0] == "none"
    failed = ["mx.example.com; dmarc=fail header.from=example.com"]
    assert authentication_verdict(failed, "mx.example.com", "example.com")[0] == "fail"


# ----------------------------------------------------------------- the corpus, end to end

_HEADERS = {
    "en": ("On Mon, 23 Nov 2026 at 09:12, Secretary <ada@example.com> wrote:",
           "On Mon, 23 Nov 2026 at 09:12, Secretary of Ada Lovelace <\nada@example.com> wrote:",
           ("From", "Sent", "To", "Subject"), "Sent from my iPhone",
           "On 23 Nov 2026, at 09:12, Secretary <ada@example.com> wrote:"),
    "da": ("Den man. 23. nov. 2026 kl. 09.12 skrev Secretary <ada@example.com>:",
           "Den man. 23. nov. 2026 kl. 09.12 skrev Secretary of Ada Lovelace <\nada@example.com>:",
           ("Fra", "Sendt", "Til", "Emne"), "Sendt fra min iPhone",
           "Den 23. nov. 2026 kl. 09.12 skrev Secretary <ada@example.com>:"),
    "de": ("Am Mo., 23. Nov. 2026 um 09:12 Uhr schrieb Secretary <ada@example.com>:",
           "Am Mo., 23. Nov. 2026 um 09:12 Uhr schrieb Secretary of Ada Lovelace <\n"
           "ada@example.com>:",
           ("Von", "Gesendet", "An", "Betreff"), "Von meinem iPhone gesendet",
           "Am 23.11.2026 um 09:12 schrieb Secretary <ada@example.com>:"),
}  # fmt: skip


def _quote(text: str) -> str:
    return "\n".join("> " + ln if ln else ">" for ln in text.splitlines())


def reply_body(case: dict[str, Any], request: Any) -> str:
    """The text/plain body a mail program would send for one corpus answer."""
    on, wrapped, names, iphone, apple_on = _HEADERS.get(case["lang"], _HEADERS["en"])
    text, client = case["text"], case["client"]
    original = request.body
    if client == "gmail":
        return f"{text}\n\n{on}\n\n{_quote(original)}\n"
    if client == "gmail-wrapped":
        return f"{text}\n\n{wrapped}\n\n{_quote(original)}\n"
    if client == "outlook":
        fields = ["Secretary <ada@example.com>", "Monday, 23 November 2026 09:12",
                  "Ada Lovelace <ada@example.com>", request.subject]  # fmt: skip
        block = "\n".join(f"{n}: {v}" for n, v in zip(names, fields, strict=True))
        return f"{text}\n\n________________________________\n{block}\n\n{original}\n"
    if client == "apple":
        return f"{text}\n\n{iphone}\n\n> {apple_on}\n>\n{_quote(original)}\n"
    if client == "bottom":
        return f"{on}\n\n{_quote(original)}\n\n{text}\n"
    if client == "inline-draft":
        edited = re.sub(
            r"--- BEGIN DRAFT ---\n.*?\n--- END DRAFT ---",
            lambda _m: f"--- BEGIN DRAFT ---\n{text}\n--- END DRAFT ---",
            original,
            flags=re.S,
        )
        top = case.get("top", "")
        return f"{top}\n\n{on}\n\n{_quote(edited)}\n"
    return text


def reply_mail(case: dict[str, Any], request: Any) -> bytes:
    """One corpus answer as the raw message the desk receives."""
    headers = dict(case.get("headers") or {})
    sender = case.get("from") or "Ada Lovelace <ada@example.com>"
    subject = case.get("subject") or "Re: " + request.subject
    # The corpus names a request of its own; answers carry the real request's subject.
    subject = re.sub(r"Approve\?.*\[SEC [^\]]*\]", lambda _m: request.subject, subject)
    ctype = headers.pop("Content-Type", "")
    msg: Any
    if ctype.startswith("multipart/report"):
        kind = "disposition-notification" if "disposition" in ctype else "delivery-status"
        raw = (
            f'Content-Type: multipart/report; report-type={kind}; boundary="RPT"\n'
            "MIME-Version: 1.0\n\n--RPT\nContent-Type: text/plain; charset=utf-8\n"
            "Content-Transfer-Encoding: 8bit\n\n"
            f"{case['text']}\n--RPT\nContent-Type: message/{kind}\n\n"
            f"Reporting-MTA: dns; mx.example.com\nOriginal-Message-ID: {request.message_id}\n"
            "\n--RPT--\n"
        )
        msg = message_from_bytes(raw.encode(), policy=policy.default)
    elif case["client"] == "html":
        msg = EmailMessage()
        msg.set_content(case["html"], subtype="html")
    else:
        msg = EmailMessage()
        msg.set_content(reply_body(case, request))
    msg["From"] = sender
    msg["To"] = "ada@example.com"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{case['id']}.{abs(hash(request.message_id))}@mail.example.com>"
    msg["Date"] = "Mon, 23 Nov 2026 09:20:00 +0100"
    msg["In-Reply-To"] = request.message_id
    msg["References"] = request.message_id
    for name, value in headers.items():
        msg[name] = value
    return msg.as_bytes()


@pytest.fixture
def desk(make_secretary: Callable[..., Any]) -> Iterator[MailDesk]:
    # Proposals come from the planner (a scripted model); the desk itself drafts nothing,
    # so an answer that is not a decision gets the desk's explanation.
    d = MailDesk(make_secretary(ScriptedChatModel([])), "ada", use_model=False)
    d.run_round()
    yield d


_calls = iter(range(10**6))


def propose_and_request(d: MailDesk) -> tuple[Any, Any]:
    """A waiting reply to Dana with DRAFT as its text, and the request the desk mailed."""
    n = next(_calls)
    model = d.sec.model()
    assert isinstance(model, ScriptedChatModel)
    model._queue.clear()
    args = {"to": ["dana@acme.test"], "subject": "Re: Q3 report", "body": DRAFT}
    model.enqueue({"tool_calls": [{"name": "send_email", "args": args}]}, "Done.")
    reply = d.sec.ask("Tell Dana the Q3 report comes on Friday.", principal="ada", thread=f"t{n}")
    [p] = reply.pending
    d.run_round()
    box = d.workspace.root / "mail" / "sent" / "new"
    for path in box.iterdir():
        m = parse_rfc822(path.read_bytes(), "sent")
        if m.headers.get("X-Secretary-Proposal") == p.id:
            return p, m
    raise AssertionError("no approval request was sent")


def to_dana(d: MailDesk) -> list[Any]:
    box = d.workspace.root / "mail" / "sent" / "new"
    found = [parse_rfc822(p.read_bytes(), "sent") for p in box.iterdir()]
    return [m for m in found if "dana@acme.test" in m.to]


def outcome(d: MailDesk, proposal_id: str) -> str:
    p = d.sec.ledger.get(proposal_id)
    if p.status == "executed":
        return "edit" if p.decision == "edit" else "approve"
    if p.status == "rejected":
        return "reject"
    return "waiting"


@pytest.mark.parametrize("corpus", sorted(CORPORA))
def test_corpus_answers_end_to_end(
    desk: MailDesk, corpus: str, capsys: pytest.CaptureFixture[str]
) -> None:
    results: Counter[tuple[str, str]] = Counter()
    wrong: list[str] = []
    cases = CORPORA[corpus]
    for case in cases:
        before = {m.message_id for m in to_dana(desk)}
        p, request = propose_and_request(desk)
        desk.workspace.mail.import_eml(reply_mail(case, request))  # type: ignore[attr-defined]
        desk.run_round()
        got = outcome(desk, p.id)
        results[(case["expect"], got)] += 1
        sent_now = [m for m in to_dana(desk) if m.message_id not in before]
        # The promise: only an explicit edit changes what the correspondent receives.
        if got != "edit":
            assert all(m.body.strip() == DRAFT for m in sent_now), case["id"]
        expected = {"approve": "approve", "reject": "reject", "edit": "edit"}.get(
            case["expect"], "waiting"
        )
        if got != expected:
            wrong.append(f"{case['id']}: expected {expected}, got {got}: {case['text'][:50]!r}")
    table = "\n".join(f"  {e:8} -> {g:8} {n}" for (e, g), n in sorted(results.items()))
    with capsys.disabled():
        print(f"\n{corpus} ({len(cases)}): expected -> outcome\n{table}")
        print("\n".join("  " + w for w in wrong))
    # Never an action the writer did not mean: unclear, automatic and rejecting answers
    # are never carried out, and an approval is never turned into an edit.
    for meant in ("unclear", "auto", "reject"):
        assert results[(meant, "approve")] == 0 and results[(meant, "edit")] == 0
    assert results[("auto", "reject")] == 0 and results[("unclear", "reject")] == 0
    assert results[("approve", "edit")] == 0 and results[("approve", "reject")] == 0


# ----------------------------------------------------------------- the property

_WORDS = st.sampled_from(
    ["yes", "no", "send", "it", "approve", "please", "don't", "edit", "thanks", "Dana",
     "Friday", "ja", "nej", "bitte", "change", "the", "date", "👍", "ok", "?", "!", ",", ":",
     "Hi", "-", "Bob", "instead", "tak", "send it to x@evil.test", "reject"]
)  # fmt: skip
_TEXT = st.one_of(
    st.lists(_WORDS, min_size=1, max_size=8).map(" ".join),
    st.text(min_size=1, max_size=60),
    st.lists(st.lists(_WORDS, min_size=1, max_size=6).map(" ".join), min_size=2, max_size=4).map(
        "\n".join
    ),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=_TEXT)
def test_no_answer_but_an_explicit_edit_reaches_the_correspondent(
    desk: MailDesk, text: str
) -> None:
    before = {m.message_id for m in to_dana(desk)}
    p, request = propose_and_request(desk)
    case = {"id": f"prop{next(_calls)}", "lang": "en", "client": "gmail", "text": text}
    desk.workspace.mail.import_eml(reply_mail(case, request))  # type: ignore[attr-defined]
    desk.run_round()
    explicit = read_reply(reply_body(case, request), DRAFT).kind == "edit"
    # The mailbox lists files in no particular order: what is new is what was not there.
    for m in (m for m in to_dana(desk) if m.message_id not in before):
        assert explicit or m.body.strip() == DRAFT
    assert explicit == (outcome(desk, p.id) == "edit")
