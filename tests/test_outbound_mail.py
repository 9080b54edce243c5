"""Every write tool that mails someone goes out through tools.outbound, marked and signed once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import NOW
from test_write_tools import SAMPLES, WRITE_TOOLS, _seed

from tools import outbound
from tools.base import ToolError, registry
from tools.context import ToolContext

MakeCtx = Callable[..., ToolContext]

SIGNATURE = "Kind regards,\nAda Lovelace"

# Tools whose mail the duty writes itself: each must carry the sign-off exactly once.
SIGNED_BY_THE_DUTY = {
    "propose_times",
    "schedule_visit",
    "delegate_task",
    "request_quote",
    "place_order",
    "chase_delivery",
    "dispute_invoice",
}

# Arguments (beyond the gate's samples) under which these tools mail someone too.
MAILING_SAMPLES: dict[str, dict[str, Any]] = {
    "create_event": {
        "title": "Budget review",
        "start": "2026-11-24T14:00",
        "duration_minutes": 30,
        "attendees": ["dana@acme.com"],
    },
    "dispute_invoice": {
        "invoice_id": "BILLED",
        "reason": "Two licences too many",
        "draft_mail": True,
    },
}

# Tools known to mail someone when they run; the check below finds any others too.
KNOWN_TO_MAIL = {
    "send_email",
    "reply_to_message",
    "forward_message",
    "save_draft",
    "reply_to_press",
    "book_flight",
    "cancel_booking",
    *MAILING_SAMPLES,
} | SIGNED_BY_THE_DUTY


@pytest.fixture
def ada() -> object:
    from tools.foundation.principals import Principal

    return Principal(
        id="ada",
        name="Ada Lovelace",
        email="ada@example.com",
        timezone="Europe/Berlin",
        signature=SIGNATURE,
    )


def _outgoing(ctx: ToolContext) -> dict[str, Any]:
    found = [
        *ctx.mail.search(folder="sent", limit=500),
        *ctx.mail.search(folder="drafts", limit=500),
    ]
    return {m.message_id: m for m in found}


def _invoice_with_a_vendor_address(ws: Any) -> str:
    from datetime import datetime
    from decimal import Decimal
    from zoneinfo import ZoneInfo

    from tools.providers.local.invoices import Invoice

    bill = Invoice(
        vendor="Graf Design",
        vendor_email="lena@grafdesign.example",
        number="118",
        total=Decimal("1200.00"),
        created_at=datetime(2026, 11, 20, 9, tzinfo=ZoneInfo("Europe/Berlin")),
    )
    return str(ws.invoices.add(bill).id)


def _mail_of_every_write_tool(sec: Any) -> dict[str, list[Any]]:
    """Run each write tool on a standing policy; the messages each one sent or drafted."""
    ids = _seed(sec)
    principal = sec.principal("ada")
    ids["BILLED"] = _invoice_with_a_vendor_address(sec.workspace(principal))
    mailed: dict[str, list[Any]] = {}
    runs = [(name, SAMPLES[name]) for name in WRITE_TOOLS] + list(MAILING_SAMPLES.items())
    for i, (name, sample) in enumerate(runs):
        ctx = ToolContext(
            principal=principal,
            workspace=sec.workspace(principal),
            idempotency_key=f"policy-{i}-{name}",
            approved_by_policy=True,
            clock=sec._clock,  # noqa: SLF001 - the secretary's fixed test clock
        )
        args = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in sample.items()}
        spec = registry()[name]
        before = _outgoing(ctx)
        try:
            spec.run(ctx, spec.validate(args))
        except ToolError as exc:  # this seeded world does not suit every tool
            mailed.setdefault("(refused)", []).append(f"{name}: {exc}")
            continue
        new = [ctx.mail.get_message(key) for key in _outgoing(ctx) if key not in before]
        mailed.setdefault(name, []).extend(new)
    mailed = {name: messages for name, messages in mailed.items() if messages}
    return mailed


def test_every_mailing_write_tool_marks_its_mail_auto_submitted_and_signs_off_once(
    make_secretary: Any,
) -> None:
    mailed = _mail_of_every_write_tool(make_secretary(None))
    refused = mailed.pop("(refused)", [])

    assert set(mailed) >= KNOWN_TO_MAIL, (KNOWN_TO_MAIL - set(mailed), refused)
    for name, messages in mailed.items():
        for m in messages:
            assert m.headers.get("Auto-Submitted", "").startswith("auto-"), (name, m.headers)
            assert m.body.count("Kind regards") <= 1, (name, m.body)
            if name in SIGNED_BY_THE_DUTY:
                assert m.body.count(SIGNATURE) == 1, (name, m.body)
    replies = {"reply_to_message", "reply_to_press"}
    for name in replies:
        assert {m.headers["Auto-Submitted"] for m in mailed[name]} == {"auto-replied"}
    for name in set(mailed) - replies - {"respond_to_invite"}:
        assert {m.headers["Auto-Submitted"] for m in mailed[name]} == {"auto-generated"}, name


# ------------------------------------------------------------ tools.outbound


@pytest.fixture
def make_ctx(tmp_path: Path) -> Iterator[MakeCtx]:
    """Tool contexts on local providers; ``principal=`` changes Ada's profile."""
    from tools.context import Workspace
    from tools.foundation.principals import Principal
    from tools.providers.local.calendar import LocalCalendar
    from tools.providers.local.contacts import LocalContacts
    from tools.providers.local.mail import LocalMail

    made: list[Workspace] = []

    def make(**changes: Any) -> ToolContext:
        fields = {"id": "ada", "name": "Ada Lovelace", "email": "ada@example.com"}
        fields.update(changes.pop("principal", {}))
        p = Principal(timezone="Europe/Berlin", **fields)
        root = tmp_path / str(len(made))
        ws = Workspace(
            principal=p,
            root=root,
            calendar=LocalCalendar(root, p),
            mail=LocalMail(root, p, clock=lambda: NOW),
            contacts=LocalContacts(root),
        )
        made.append(ws)
        return ToolContext(principal=p, workspace=ws, clock=lambda: NOW, **changes)

    yield make
    for ws in made:
        ws.close()


def test_sub_keys_derive_from_the_action_key_and_stay_empty_without_one(make_ctx: MakeCtx) -> None:
    assert outbound.sub_key(make_ctx(idempotency_key="k1"), "mail") == "k1:mail"
    assert outbound.sub_key(make_ctx(idempotency_key="k1")) == "k1"
    assert outbound.sub_key(make_ctx(), "mail") == ""


def test_one_address_keeps_the_display_form_and_says_how_to_write_one() -> None:
    assert outbound.one_address("Dana Smith <Dana@Acme.com>", "to") == "Dana Smith <Dana@Acme.com>"
    with pytest.raises(ToolError, match="to: give exactly one e-mail address, like x@y.example"):
        outbound.one_address("a@b.com, c@d.com", "to", "x@y.example")
    with pytest.raises(ToolError, match="^cc: 'nobody' is not an e-mail address"):
        outbound.addresses(["nobody"], "cc")


def test_the_sign_off_is_the_signature_or_a_closing_and_the_name(make_ctx: MakeCtx) -> None:
    signed = make_ctx(principal={"signature": "Best,\nAda"})
    assert outbound.signed(signed, "Thanks.", closing="Kind regards,") == "Thanks.\n\nBest,\nAda\n"
    plain = make_ctx()
    assert outbound.signed(plain, "Thanks.", closing="Kind regards,") == (
        "Thanks.\n\nKind regards,\nAda Lovelace\n"
    )
    assert outbound.signed(plain, "Thank you,") == "Thank you,\n\nAda Lovelace\n"


def test_auto_submitted_only_on_a_standing_policy_and_never_in_place(make_ctx: MakeCtx) -> None:
    message = outbound.compose(["dana@acme.com"], "  Budget   review ", "Hi")
    assert message.subject == "Budget review"
    assert outbound.marked(make_ctx(), message).extra_headers == {}
    policy = make_ctx(approved_by_policy=True)
    assert outbound.marked(policy, message).extra_headers == {"Auto-Submitted": "auto-generated"}
    answer = outbound.marked(policy, message, kind="reply")
    assert answer.extra_headers == {"Auto-Submitted": "auto-replied"}
    assert message.extra_headers == {}


def test_send_marks_and_keys_the_mail_once_per_action(make_ctx: MakeCtx) -> None:
    ctx = make_ctx(approved_by_policy=True, idempotency_key="act-1")
    message = outbound.compose(["dana@acme.com"], "Hello", "Hi Dana")
    first = outbound.send(ctx, message, "mail")
    again = outbound.send(ctx, message, "mail")
    assert first.message_id == again.message_id
    [sent] = ctx.mail.search(folder="sent")
    assert ctx.mail.get_message(sent.message_id).headers["Auto-Submitted"] == "auto-generated"


def test_a_reply_keeps_the_thread_and_a_follow_up_joins_it(make_ctx: MakeCtx) -> None:
    ctx = make_ctx()
    ctx.mail.import_eml(
        b"From: Dana <dana@acme.com>\r\nTo: ada@example.com\r\nSubject: Re: Budget\r\n"
        b"Message-ID: <m2@acme.com>\r\nReferences: <m1@acme.com>\r\n"
        b"Date: Mon, 23 Nov 2026 08:00:00 +0100\r\n\r\nHi Ada\r\n"
    )
    original = ctx.mail.get_message("<m2@acme.com>")
    reply = outbound.reply(ctx, original, "Thanks, Dana.")
    assert reply.subject == "Re: Budget"
    assert reply.in_reply_to == "<m2@acme.com>"
    assert reply.references == ["<m1@acme.com>", "<m2@acme.com>"]
    follow = outbound.compose(["dana@acme.com"], "Budget figures", "Here.", answering=original)
    assert (follow.in_reply_to, follow.references) == (reply.in_reply_to, reply.references)


def test_an_industry_pack_warns_about_mail_leaving_the_organisation(make_ctx: MakeCtx) -> None:
    ctx = make_ctx(principal={"domain_pack": "legal"})
    message = outbound.compose(["colleague@example.com", "Dana <dana@acme.com>"], "Brief", "Hi")
    warnings = outbound.recipient_warnings(ctx, message)
    assert "colleague@example.com is not in your contacts." in warnings
    assert warnings[-1].startswith("Leaves the firm (dana@acme.com)")
    assert outbound.pack_warnings(make_ctx(), message.to) == []


def test_a_service_failure_in_a_card_is_the_tool_error_sentence(make_ctx: MakeCtx) -> None:
    from pydantic import BaseModel

    from tools.base import Preview, ToolSpec
    from tools.providers.base import ProviderError

    class NoArgs(BaseModel):
        pass

    def card(ctx: ToolContext, args: BaseModel) -> Preview:
        raise ProviderError("The mail server is unreachable; try again in a minute.")

    spec = ToolSpec("probe", lambda ctx: None, "write", "mail", "", NoArgs, preview=card)
    with pytest.raises(ToolError, match="^The mail server is unreachable; try again"):
        spec.render_preview(make_ctx(), NoArgs())
