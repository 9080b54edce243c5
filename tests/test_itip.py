"""iTIP by e-mail: invitations, updates and cancellations out; replies in; sent exactly once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from imip import imip_calendar
from toolkit import preview, run

from tools import itip
from tools.context import ToolContext, Workspace
from tools.foundation.principals import Principal
from tools.providers.base import Contact, NewEvent
from tools.providers.local.calendar import LocalCalendar
from tools.providers.local.contacts import LocalContacts
from tools.providers.local.mail import LocalMail
from tools.providers.mime import build_mime

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)


@pytest.fixture
def principal() -> Principal:
    return Principal(
        id="ada", name="Ada Lovelace", email="ada@example.com", timezone="Europe/Berlin"
    )


@pytest.fixture
def ctx(tmp_path: Path, principal: Principal) -> Iterator[ToolContext]:
    calendar = LocalCalendar(tmp_path, principal)
    contacts = LocalContacts(tmp_path)
    mail = LocalMail(tmp_path, principal, clock=lambda: NOW)
    ws = Workspace(
        principal=principal, root=tmp_path, calendar=calendar, mail=mail, contacts=contacts
    )
    yield ToolContext(principal=principal, workspace=ws, clock=lambda: NOW)
    calendar.close()
    contacts.close()


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BERLIN)


def sent(ctx: ToolContext) -> list[tuple[Any, icalendar.Calendar | None]]:
    """Every message in the local Maildir ``sent`` folder, in the order written, with its
    parsed text/calendar part."""
    box = ctx.workspace.root / "mail" / "sent"
    files = sorted(
        (f for sub in ("new", "cur") for f in (box / sub).iterdir()),
        key=lambda f: f.stat().st_mtime_ns,
    )
    out: list[tuple[Any, icalendar.Calendar | None]] = []
    for path in files:
        raw = path.read_bytes()
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        if any(p.get_content_type() == "text/calendar" for p in msg.walk()):
            out.append(imip_calendar(raw))
        else:
            out.append((msg, None))
    return out


def vevent(cal: icalendar.Calendar) -> Any:
    [item] = cal.walk("VEVENT")
    return item


def attendees(item: Any) -> dict[str, str]:
    found = item.get("ATTENDEE")
    found = found if isinstance(found, list) else [found]
    return {str(a).removeprefix("mailto:"): str(a.params["PARTSTAT"]) for a in found}


# ------------------------------------------------------------------ outgoing


def test_creating_an_event_mails_a_request_with_uid_sequence_and_zone(ctx: ToolContext) -> None:
    p = preview(
        ctx, "create_event", title="Budget", start="2026-11-24T10:00",
        attendees=["dana@acme.com", "ada@example.com"],
    )  # fmt: skip
    assert p.details["Invitations"] == "an invitation (.ics) is e-mailed to dana@acme.com"
    assert sent(ctx) == []
    out = run(
        ctx, "create_event", "ledger-key-1", title="Budget", start="2026-11-24T10:00",
        attendees=["dana@acme.com", "ada@example.com"], location="Room 1",
    )  # fmt: skip
    assert out["invitation"]["sent_to"] == ["dana@acme.com"]
    [(msg, cal)] = sent(ctx)
    assert msg["To"] == "dana@acme.com"
    assert msg["Subject"] == "Invitation: Budget"
    assert (
        msg.get_body(("plain",))
        .get_content()
        .startswith("Ada Lovelace invites you to this meeting.")
    )
    assert cal is not None and str(cal["METHOD"]) == "REQUEST"
    item = vevent(cal)
    event = ctx.calendar.get_event(out["id"])
    assert str(item["UID"]) == event.uid
    assert int(item["SEQUENCE"]) == 0
    assert str(item["ORGANIZER"]) == "mailto:ada@example.com"
    assert item["ORGANIZER"].params["CN"] == "Ada Lovelace"
    assert attendees(item) == {"dana@acme.com": "NEEDS-ACTION", "ada@example.com": "NEEDS-ACTION"}
    assert item["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert item["DTSTART"].dt == at(24, 10) and item["DTEND"].dt == at(24, 11)
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]
    assert str(item["LOCATION"]) == "Room 1"


def test_a_retried_action_sends_the_invitation_once(ctx: ToolContext) -> None:
    args = {"title": "Budget", "start": "2026-11-24T10:00", "attendees": ["dana@acme.com"]}
    first = run(ctx, "create_event", "same-key", **args)
    second = run(ctx, "create_event", "same-key", **args)
    assert first["id"] == second["id"]
    assert first["invitation"]["message_id"] == second["invitation"]["message_id"]
    assert len(sent(ctx)) == 1


def test_moving_raises_the_sequence_and_cancelling_sends_cancel(ctx: ToolContext) -> None:
    made = run(
        ctx, "create_event", "c", title="Budget", start="2026-11-24T10:00",
        attendees=["dana@acme.com"],
    )  # fmt: skip
    p = preview(ctx, "move_event", event_id=made["id"], start="Thursday at 15:00")
    assert p.details["Invitations"] == "an invitation (.ics) is e-mailed to dana@acme.com"
    run(ctx, "move_event", "m", event_id=made["id"], start="Thursday at 15:00")
    run(ctx, "move_event", "m", event_id=made["id"], start="Thursday at 15:00")
    assert preview(ctx, "cancel_event", event_id=made["id"]).details["Invitations"] == (
        "a cancellation (.ics) is e-mailed to dana@acme.com"
    )
    run(ctx, "cancel_event", "x", event_id=made["id"])
    run(ctx, "cancel_event", "x", event_id=made["id"])
    messages = sent(ctx)
    assert [m["Subject"] for m, _ in messages] == [
        "Invitation: Budget",
        "Updated invitation: Budget",
        "Cancelled: Budget",
    ]
    uids = {str(vevent(c)["UID"]) for _, c in messages if c is not None}
    assert len(uids) == 1
    moved, cancelled = (vevent(c) for _, c in messages[1:] if c is not None)
    assert int(moved["SEQUENCE"]) == 1 and moved["DTSTART"].dt == at(26, 15)
    assert str(messages[2][1]["METHOD"]) == "CANCEL"  # type: ignore[index]
    assert int(cancelled["SEQUENCE"]) == 2 and str(cancelled["STATUS"]) == "CANCELLED"


def test_moving_one_occurrence_sends_a_request_for_just_that_occurrence(
    ctx: ToolContext,
) -> None:
    made = run(
        ctx, "create_event", "c", title="1:1", start="2026-11-24T10:00", duration_minutes=30,
        attendees=["dana@acme.com"], repeat="weekly, 3 times",
    )  # fmt: skip
    [(_, first)] = sent(ctx)
    assert first is not None and vevent(first)["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=3"
    occurrence = f"{made['id']}_20261201T090000Z"
    run(ctx, "move_event", "m", event_id=occurrence, start="2026-12-01T15:00")
    _, update = sent(ctx)[1]
    assert update is not None
    item = vevent(update)
    assert item["RECURRENCE-ID"].dt == datetime(2026, 12, 1, 10, tzinfo=BERLIN)
    assert item["DTSTART"].dt == datetime(2026, 12, 1, 15, tzinfo=BERLIN)
    assert "RRULE" not in item and int(item["SEQUENCE"]) == 1


def test_no_mail_when_the_calendar_service_invites_attendees_itself(ctx: ToolContext) -> None:
    calendar = ctx.workspace.calendar
    calendar.sends_invitations = True  # type: ignore[attr-defined]
    p = preview(
        ctx, "create_event", title="Budget", start="2026-11-24T10:00", attendees=["dana@acme.com"]
    )
    assert p.details["Invitations"] == "sent by your calendar service"
    out = run(
        ctx, "create_event", "k", title="Budget", start="2026-11-24T10:00",
        attendees=["dana@acme.com"],
    )  # fmt: skip
    assert "invitation" not in out and sent(ctx) == []


# ------------------------------------------------------------------ incoming


def _invitation(ctx: ToolContext) -> tuple[dict[str, Any], bytes]:
    made = run(
        ctx, "create_event", "c", title="Budget", start="2026-11-24T10:00",
        attendees=["dana@acme.com", "eve@acme.com"],
    )  # fmt: skip
    [(_, cal)] = sent(ctx)
    assert cal is not None
    return made, cal.to_ical()


def _reply_from(attendee: str, invitation: bytes, answer: str, sender: str = "") -> bytes:
    """What a mail client sends back: the invitation turned into METHOD:REPLY."""
    cal = icalendar.Calendar.from_ical(invitation)
    out = icalendar.Calendar()
    out.add("prodid", "-//Other client//EN")
    out.add("version", "2.0")
    out.add("method", "REPLY")
    item = vevent(cal)
    answer_item = icalendar.Event()
    for key in ("UID", "SEQUENCE", "DTSTART", "DTEND", "SUMMARY", "ORGANIZER"):
        answer_item[key] = item[key]
    who = icalendar.vCalAddress(f"mailto:{attendee}")
    who.params["PARTSTAT"] = answer
    answer_item.add("attendee", who)
    out.add_component(answer_item)
    body = out.to_ical()
    return (
        (
            f"From: {sender or attendee}\r\nTo: ada@example.com\r\nSubject: Accepted: Budget\r\n"
            "Message-ID: <reply-1@acme.com>\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
            "--b\r\nContent-Type: text/plain\r\n\r\nDana accepted.\r\n"
            '--b\r\nContent-Type: text/calendar; method=REPLY; charset="utf-8"\r\n\r\n'
        ).encode()
        + body
        + b"\r\n--b--\r\n"
    )


def test_a_reply_updates_the_attendees_answer(ctx: ToolContext) -> None:
    made, invitation = _invitation(ctx)
    outcome = itip.apply_reply(ctx.calendar, _reply_from("dana@acme.com", invitation, "ACCEPTED"))
    assert outcome.applied and outcome.answer == "accepted"
    assert outcome.reason == "dana@acme.com accepted 'Budget'"
    assert ctx.calendar.get_event(made["id"]).attendance == {"dana@acme.com": "accepted"}
    # A bare .ics works too, and a later answer replaces the earlier one.
    bare = _reply_from("dana@acme.com", invitation, "DECLINED").split(b"method=REPLY")[1]
    bare = bare[bare.index(b"BEGIN:VCALENDAR") : bare.index(b"\r\n--b--")]
    assert itip.apply_reply(ctx.calendar, bare).applied
    assert ctx.calendar.get_event(made["id"]).attendance["dana@acme.com"] == "declined"
    # The organizer's next invitation carries the answers.
    run(ctx, "move_event", "m", event_id=made["id"], start="2026-11-24T11:00")
    update = sent(ctx)[1][1]
    assert update is not None
    assert attendees(vevent(update)) == {
        "dana@acme.com": "DECLINED",
        "eve@acme.com": "NEEDS-ACTION",
    }


def test_a_reply_for_someone_else_or_a_stranger_changes_nothing(ctx: ToolContext) -> None:
    made, invitation = _invitation(ctx)
    spoofed = itip.apply_reply(
        ctx.calendar, _reply_from("dana@acme.com", invitation, "DECLINED", sender="eve@acme.com")
    )
    assert not spoofed.applied and "answers for dana@acme.com" in spoofed.reason
    stranger = itip.apply_reply(
        ctx.calendar, _reply_from("mallory@evil.example", invitation, "ACCEPTED")
    )
    assert not stranger.applied and "not invited" in stranger.reason
    assert ctx.calendar.get_event(made["id"]).attendance == {}


def test_a_reply_to_an_outdated_version_is_ignored(ctx: ToolContext) -> None:
    made, invitation = _invitation(ctx)
    run(ctx, "move_event", "m", event_id=made["id"], start="2026-11-24T15:00")
    outcome = itip.apply_reply(ctx.calendar, _reply_from("dana@acme.com", invitation, "ACCEPTED"))
    assert not outcome.applied and "changed since" in outcome.reason


def test_the_desk_hook_ignores_ordinary_mail_and_applies_replies(ctx: ToolContext) -> None:
    made, invitation = _invitation(ctx)
    plain = b"From: dana@acme.com\r\nSubject: hi\r\nMessage-ID: <x@y>\r\n\r\nHello\r\n"
    assert itip.handle_incoming(ctx.calendar, plain) is None
    assert itip.handle_incoming(ctx.calendar, b"\x00\xff not mail at all") is None
    assert (
        itip.handle_incoming(object(), _reply_from("dana@acme.com", invitation, "TENTATIVE"))
        is None
    )
    outcome = itip.handle_incoming(
        ctx.calendar, _reply_from("eve@acme.com", invitation, "TENTATIVE")
    )
    assert outcome is not None and outcome.applied
    assert ctx.calendar.get_event(made["id"]).attendance == {"eve@acme.com": "tentative"}


# --------------------------------------------------------- answering invites


def _received(ctx: ToolContext) -> Any:
    """An invitation from an outside organizer, filed in the local calendar."""
    calendar: LocalCalendar = ctx.workspace.calendar  # type: ignore[assignment]
    return calendar.store_invitation(
        NewEvent(
            title="Vendor pitch",
            start=at(25, 14),
            end=at(25, 15),
            timezone="Europe/Berlin",
            attendees=["ada@example.com", "sam@vendor.example"],
        ),
        uid="pitch-42@vendor.example",
        organizer="sam@vendor.example",
        sequence=3,
    )


def test_answering_an_outside_invitation_mails_the_organizer_a_reply(ctx: ToolContext) -> None:
    ev = _received(ctx)
    p = preview(ctx, "respond_to_invite", event_id=ev.id, answer="declined", note="Travelling.")
    assert p.summary == "Decline 'Vendor pitch' on Wed 25 Nov 14:00-15:00 (Europe/Berlin)"
    assert p.details["Reply"] == "an iCalendar reply is e-mailed to sam@vendor.example"
    assert p.body == "Travelling."
    out = run(ctx, "respond_to_invite", "r", event_id=ev.id, answer="declined", note="Travelling.")
    run(ctx, "respond_to_invite", "r", event_id=ev.id, answer="declined", note="Travelling.")
    assert out["attendance"] == {"ada@example.com": "declined"}
    [(msg, cal)] = sent(ctx)
    assert msg["To"] == "sam@vendor.example" and msg["Subject"] == "Declined: Vendor pitch"
    assert cal is not None and str(cal["METHOD"]) == "REPLY"
    item = vevent(cal)
    assert str(item["UID"]) == "pitch-42@vendor.example" and int(item["SEQUENCE"]) == 3
    assert attendees(item) == {"ada@example.com": "DECLINED"}
    assert str(item["COMMENT"]) == "Travelling."
    # A declined meeting no longer blocks the principal's time.
    assert ctx.calendar.free_busy(at(25, 0), at(26, 0))["me"] == []


def test_accepting_warns_about_a_clash_and_own_events_send_nothing(ctx: ToolContext) -> None:
    ev = _received(ctx)
    run(ctx, "create_event", "own", title="Gym", start="2026-11-25T14:30", duration_minutes=30)
    p = preview(ctx, "respond_to_invite", event_id=ev.id, answer="accepted")
    assert "Overlaps 'Gym' 14:30-15:00" in p.warnings
    own = ctx.calendar.list_events(at(25, 14, 30), at(25, 15))
    gym = next(e for e in own if e.title == "Gym")
    mine = preview(ctx, "respond_to_invite", event_id=gym.id, answer="tentative")
    assert mine.warnings[0].startswith("You organise this event yourself")
    run(ctx, "respond_to_invite", "t", event_id=gym.id, answer="tentative")
    assert sent(ctx) == []


def test_an_updated_invitation_replaces_the_stored_one_and_an_older_is_ignored(
    ctx: ToolContext,
) -> None:
    ev = _received(ctx)
    calendar: LocalCalendar = ctx.workspace.calendar  # type: ignore[assignment]
    moved = NewEvent(
        title="Vendor pitch", start=at(26, 9), end=at(26, 10), timezone="Europe/Berlin",
        attendees=["ada@example.com"],
    )  # fmt: skip
    newer = calendar.store_invitation(moved, uid=ev.uid, organizer=ev.organizer, sequence=4)
    assert (newer.id, newer.start, newer.sequence) == (ev.id, at(26, 9), 4)
    older = calendar.store_invitation(
        moved.model_copy(update={"start": at(27, 9), "end": at(27, 10)}),
        uid=ev.uid,
        organizer=ev.organizer,
        sequence=2,
    )
    assert older.start == at(26, 9)


# ------------------------------------------------------------------ end to end


def test_find_time_then_invite_through_the_gate_lands_once(make_secretary: Any) -> None:
    from agent.approval import Decision
    from tools.providers.scripted import ScriptedChatModel

    def book_first_slot(messages: list[Any]) -> dict[str, Any]:
        found = json.loads(messages[-1].content)
        slot = found["slots"][0]
        return {
            "tool_calls": [
                {
                    "name": "create_event",
                    "args": {
                        "title": "Budget review",
                        "start": slot["start"],
                        "duration_minutes": 45,
                        "attendees": ["dana@acme.com"],
                    },
                }
            ]
        }

    model = ScriptedChatModel(
        [
            {
                "tool_calls": [
                    {
                        "name": "find_free_slots",
                        "args": {
                            "duration_minutes": 45,
                            "start": "next week",
                            "attendees": ["dana@acme.com"],
                        },
                    }
                ]
            },
            book_first_slot,
            "Booked; Dana has the invitation.",
        ]
    )
    sec = make_secretary(model)
    ws = sec.workspace(sec.principal("ada"))
    ws.contacts.upsert(Contact(name="Dana", email="dana@acme.com", timezone="America/New_York"))
    reply = sec.ask("find 45 minutes with dana@acme.com next week", principal="ada", thread="t1")
    [proposal] = reply.pending
    assert proposal.tool == "create_event"
    assert proposal.preview["summary"] == (
        "Create event 'Budget review' on Mon 30 Nov 14:00-14:45 (Europe/Berlin)"
    )
    assert proposal.preview["details"]["For dana@acme.com"] == (
        "Mon 30 Nov 08:00-08:45 EST (America/New_York)"
    )
    assert ws.calendar.list_events(at(30, 0), at(30, 23)) == []
    done = sec.decide(proposal.id, Decision(kind="approve"))
    assert [p.status for p in done.executed] == ["executed"]
    again = sec.decide(proposal.id, Decision(kind="approve"))
    assert "already executed" in (again.notice or "")
    events = ws.calendar.list_events(at(30, 0), at(30, 23))
    assert [(e.title, e.start, e.attendees) for e in events] == [
        ("Budget review", at(30, 14), ["dana@acme.com"])
    ]
    invitations = ws.mail.search(folder="sent", query="Invitation")
    assert [m.subject for m in invitations] == ["Invitation: Budget review"]


def _sams_demo(uid: str) -> tuple[Principal, Any]:
    """An outside organizer and the meeting they invite Ada to."""
    from tools.providers.base import Event

    sam = Principal(
        id="sam", name="Sam Vendor", email="sam@vendor.example", timezone="America/New_York"
    )
    ny = ZoneInfo("America/New_York")
    theirs = Event(
        id="x", uid=uid, title="Demo", timezone="America/New_York",
        start=datetime(2026, 11, 25, 9, tzinfo=ny), end=datetime(2026, 11, 25, 10, tzinfo=ny),
        organizer="sam@vendor.example", attendees=["ada@example.com"], sequence=1,
    )  # fmt: skip
    return sam, theirs


def test_an_e_mailed_invitation_is_filed_from_its_organizer_only(
    ctx: ToolContext, principal: Principal
) -> None:
    sam, theirs = _sams_demo("demo-7@vendor.example")
    # The whole e-mail as this project's providers send it (inline part and .ics file).
    message = itip.invitation(theirs, sam, "REQUEST", ["ada@example.com"], NOW)
    raw = build_mime(message, sam, message_id="<i-1@vendor.example>", date=NOW).as_bytes()
    spoofed = raw.replace(b"From: Sam Vendor <sam@vendor.example>", b"From: eve@else.example")
    assert itip.file_invitation(ctx.calendar, spoofed, principal) is None
    filed = itip.file_invitation(ctx.calendar, raw, principal)
    assert filed is not None
    assert (filed.uid, filed.organizer, filed.sequence) == (
        "demo-7@vendor.example",
        "sam@vendor.example",
        1,
    )
    assert filed.start == at(25, 15) and filed.timezone == "America/New_York"
    assert filed.attendance == {"ada@example.com": "needs-action"}
    run(ctx, "respond_to_invite", "r", event_id=filed.id, answer="accepted")
    [(msg, cal)] = sent(ctx)
    assert msg["To"] == "sam@vendor.example" and cal is not None
    assert vevent(cal)["DTSTART"].params["TZID"] == "America/New_York"
    cancel = itip.invitation(
        theirs.model_copy(update={"sequence": 2}), sam, "CANCEL", ["ada@example.com"], NOW
    )
    raw_cancel = build_mime(cancel, sam, message_id="<c-1@vendor.example>", date=NOW).as_bytes()
    gone = itip.file_invitation(ctx.calendar, raw_cancel, principal)
    assert gone is not None and gone.status == "cancelled" and gone.id == filed.id


# --------------------------------------------------------- unauthenticated iTIP


def test_an_unverified_reply_is_recorded_marked_and_never_replaces_a_verified_one(
    ctx: ToolContext,
) -> None:
    made, invitation = _invitation(ctx)
    unverified = itip.apply_reply(
        ctx.calendar, _reply_from("eve@acme.com", invitation, "ACCEPTED"), verified=False
    )
    assert unverified.applied and not unverified.verified and "unverified" in unverified.reason
    ev = ctx.calendar.get_event(made["id"])
    assert ev.attendance == {"eve@acme.com": "accepted"} and ev.unverified == ["eve@acme.com"]
    shown = run(ctx, "agenda", "a", days=14)
    assert "without passing authentication: eve@acme.com" in json.dumps(shown)
    # A verified answer clears the mark; a spoofed one afterwards cannot overwrite it.
    itip.apply_reply(ctx.calendar, _reply_from("eve@acme.com", invitation, "TENTATIVE"))
    assert ctx.calendar.get_event(made["id"]).unverified == []
    spoof = itip.apply_reply(
        ctx.calendar, _reply_from("eve@acme.com", invitation, "DECLINED"), verified=False
    )
    assert not spoof.applied and "verified one" in spoof.reason
    assert ctx.calendar.get_event(made["id"]).attendance["eve@acme.com"] == "tentative"


def test_an_unverified_invitation_is_filed_marked_and_cannot_move_a_verified_one(
    ctx: ToolContext, principal: Principal
) -> None:
    sam, theirs = _sams_demo("demo-9@vendor.example")
    ny = ZoneInfo("America/New_York")

    def mail(event: Any, n: int) -> bytes:
        message = itip.invitation(event, sam, "REQUEST", ["ada@example.com"], NOW)
        return build_mime(message, sam, message_id=f"<i-{n}@vendor.example>", date=NOW).as_bytes()

    filed = itip.file_invitation(ctx.calendar, mail(theirs, 1), principal, verified=False)
    assert filed is not None and filed.unverified == ["sam@vendor.example"]
    card = preview(ctx, "respond_to_invite", event_id=filed.id, answer="accepted")
    assert any("without passing authentication" in w for w in card.warnings)
    verified = itip.file_invitation(ctx.calendar, mail(theirs, 2), principal)
    assert verified is not None and verified.unverified == []
    moved = theirs.model_copy(
        update={"sequence": 2, "start": datetime(2026, 11, 26, 9, tzinfo=ny),
                "end": datetime(2026, 11, 26, 10, tzinfo=ny)}
    )  # fmt: skip
    held = itip.file_invitation(ctx.calendar, mail(moved, 3), principal, verified=False)
    assert held is not None and held.start == at(25, 15)  # the spoofed update moved nothing
