"""Invitations as Outlook and Gmail understand them, through every kind of mail server.

What is checked is what was actually sent: the bytes in the local Maildir, in an
attendee's Dovecot inbox after aiosmtpd relayed them, and in a mailbox of the
loopback Microsoft 365 tenant. Each is an iMIP message (RFC 6047): an inline
``text/calendar; method=...`` alternative whose METHOD matches, and an ``.ics``
file. Its VTIMEZONE alone places events years out at the right UTC offset.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from dateutil.tz import tzical
from graph_standin import GraphStandIn
from imip import imip_calendar
from servers import SENT, Dovecot, SmtpServer

from tools import itip
from tools.foundation.principals import Principal
from tools.providers.base import CalendarPart, Event, NewEvent, OutgoingMessage
from tools.providers.imap_smtp import open_mail as open_imap
from tools.providers.local.calendar import LocalCalendar
from tools.providers.local.mail import LocalMail
from tools.providers.microsoft.mail import open_mail as open_graph
from tools.providers.mime import build_mime
from tools.triage import History, Incoming, rules

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)


def person(pid: str, email: str, zone: str = "Europe/Berlin") -> Principal:
    return Principal(id=pid, name=pid.title(), email=email, timezone=zone)


def meeting(zone: str, start: datetime, attendee: str = "dana@acme.com", **over: Any) -> Event:
    fields: dict[str, Any] = {
        "id": "evt-1",
        "uid": "budget-1@secretary.local",
        "title": "Budget",
        "timezone": zone,
        "start": start,
        "end": start + timedelta(hours=1),
        "organizer": "ada@example.com",
        "attendees": [attendee],
    }
    return Event(**(fields | over))


def vevent(cal: icalendar.Calendar) -> Any:
    [item] = [c for c in cal.walk("VEVENT") if "RECURRENCE-ID" not in c]
    return item


def offset_from_vtimezone(cal: icalendar.Calendar, wall: datetime) -> timedelta | None:
    """The UTC offset of the naive local time ``wall`` by the VTIMEZONE alone (no tz database)."""
    [vtz] = cal.walk("VTIMEZONE")
    own = vtz.to_tz(lookup_tzid=False)
    # A second, independent reader of the same rules.
    theirs = tzical(io.StringIO(vtz.to_ical().decode())).get()
    offsets = {wall.replace(tzinfo=own).utcoffset(), wall.replace(tzinfo=theirs).utcoffset()}
    assert len(offsets) == 1, offsets
    return offsets.pop()


# ------------------------------------------------------------------ the local Maildir


@pytest.fixture
def ada_local(tmp_path: Path) -> Iterator[LocalMail]:
    yield LocalMail(tmp_path / "ada", person("ada", "ada@example.com"), clock=lambda: NOW)


def test_request_cancel_and_reply_carry_an_inline_part_whose_method_matches(
    ada_local: LocalMail,
) -> None:
    ada = person("ada", "ada@example.com")
    ev = meeting("Europe/Berlin", datetime(2026, 11, 24, 10, tzinfo=BERLIN))
    theirs = ev.model_copy(update={"organizer": "sam@vendor.example", "attendees": [ada.email]})
    messages = [
        ("REQUEST", "invite.ics", itip.invitation(ev, ada, "REQUEST", ev.attendees, NOW)),
        ("CANCEL", "cancel.ics", itip.invitation(ev, ada, "CANCEL", ev.attendees, NOW)),
        ("REPLY", "reply.ics", itip.reply(theirs, ada, "accepted", NOW)),
    ]
    for method, filename, message in messages:
        receipt = itip.send_once(ada_local, message, "key", method.lower())
        msg, cal = imip_calendar(ada_local.get_raw(receipt.message_id))
        assert str(cal["METHOD"]) == method
        assert [p.get_filename() for p in msg.iter_attachments()] == [filename]
        assert msg.get_body(("plain",)).get_content().strip()  # type: ignore[union-attr]


def test_a_calendar_part_whose_method_disagrees_is_refused(ada_local: LocalMail) -> None:
    ada = person("ada", "ada@example.com")
    ev = meeting("Europe/Berlin", datetime(2026, 11, 24, 10, tzinfo=BERLIN))
    good = itip.invitation(ev, ada, "REQUEST", ev.attendees, NOW)
    assert good.calendar is not None
    wrong = good.model_copy(
        update={"calendar": CalendarPart(method="CANCEL", data=good.calendar.data)}
    )
    with pytest.raises(ValueError, match="METHOD:REQUEST but is sent as CANCEL"):
        build_mime(wrong, ada, message_id="<x@example.com>", date=NOW)


def test_an_ordinary_message_keeps_its_plain_shape() -> None:
    ada = person("ada", "ada@example.com")
    msg = build_mime(
        OutgoingMessage(to=["dana@acme.com"], subject="Hi", body="Hello"),
        ada,
        message_id="<x@example.com>",
        date=NOW,
    )
    assert msg.get_content_type() == "text/plain"


# ------------------------------------------------------------------ SMTP and IMAP


def test_an_invitation_over_smtp_arrives_in_the_imip_shape_and_its_answer_comes_back(
    dovecot: Dovecot, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    ada_addr, dana_addr = dovecot.new_user("ada"), dovecot.new_user("dana")
    ada, dana = person("ada", ada_addr), person("dana", dana_addr, "America/New_York")
    ada_mail = open_imap(dovecot.account(ada_addr) | smtp_server.settings(), ada, tmp_path)
    dana_mail = open_imap(dovecot.account(dana_addr) | smtp_server.settings(), dana, tmp_path)
    ada_cal = LocalCalendar(tmp_path / "ada", ada)
    dana_cal = LocalCalendar(tmp_path / "dana", dana)
    try:
        start = datetime(2026, 11, 24, 10, tzinfo=BERLIN)
        made = ada_cal.create_event(
            NewEvent(title="Budget", start=start, end=start + timedelta(hours=1),
                     timezone="Europe/Berlin", attendees=[dana_addr]),
            "create-1",
        )  # fmt: skip
        sent = itip.send_once(
            ada_mail, itip.invitation(made, ada, "REQUEST", [dana_addr], NOW), "k1", "request"
        )
        [(raw, _)] = dovecot.messages(dana_addr)
        msg, cal = imip_calendar(raw)
        assert msg["Message-ID"] == sent.message_id and str(cal["METHOD"]) == "REQUEST"
        assert str(vevent(cal)["UID"]) == made.uid
        [(copy, _)] = dovecot.messages(ada_addr, SENT)
        assert imip_calendar(copy)[1].to_ical() == cal.to_ical()

        # The attendee's side reads the new shape: triage, filing, answering.
        verdict = rules(Incoming.from_raw(raw, dana), dana, History())
        assert (verdict.category, verdict.action) == ("needs-response", "notify")
        filed = itip.file_invitation(dana_cal, raw, dana)
        assert filed is not None and filed.start == start and filed.uid == made.uid
        itip.send_once(dana_mail, itip.reply(filed, dana, "accepted", NOW), "k2", "reply")
        [(answer, _)] = dovecot.messages(ada_addr)
        assert str(imip_calendar(answer)[1]["METHOD"]) == "REPLY"
        outcome = itip.handle_incoming(ada_cal, answer)
        assert outcome is not None and outcome.applied, outcome
        assert ada_cal.get_event(made.id).attendance == {dana_addr: "accepted"}
    finally:
        for thing in (ada_mail, dana_mail, ada_cal, dana_cal):
            thing.close()


# ------------------------------------------------------------------ Microsoft Graph


def test_graph_sends_the_same_mime_so_exchange_sees_a_meeting_request(
    tmp_path: Path,
) -> None:
    # Graph's JSON message has no place for an inline text/calendar alternative
    # (attachments are files only); the provider posts our MIME to sendMail instead.
    standin = GraphStandIn(tmp_path).start()
    root = tmp_path / "ada"
    root.mkdir()
    account = {
        "provider": "microsoft",
        "client_id": standin.client_id,
        "client_secret": standin.client_secret,
        "user": "ada@example.com",
        "authority": standin.authority,
        "graph_url": standin.graph_url,
        "ca_file": str(standin.ca_file),
    }
    ada = person("ada", "ada@example.com")
    mail = open_graph(account, ada, root, clock=lambda: NOW)
    try:
        ev = meeting("Europe/Berlin", datetime(2026, 11, 24, 10, tzinfo=BERLIN))
        itip.send_once(mail, itip.invitation(ev, ada, "REQUEST", ev.attendees, NOW), "k", "r")
        [delivered] = standin.messages("dana@acme.com", "inbox")
        _, cal = imip_calendar(delivered.raw)
        assert str(vevent(cal)["UID"]) == ev.uid
    finally:
        mail.close()
        standin.close()


# ------------------------------------------------------------------ VTIMEZONE


@pytest.mark.parametrize(
    ("zone", "summer", "winter"), [("Europe/Berlin", 2, 1), ("America/New_York", -4, -5)]
)
def test_an_event_five_years_out_resolves_from_the_vtimezone_alone(
    zone: str, summer: int, winter: int
) -> None:
    tz = ZoneInfo(zone)
    ada = person("ada", "ada@example.com")
    for day, hours in ((date(2031, 7, 15), summer), (date(2031, 1, 14), winter)):
        ev = meeting(zone, datetime.combine(day, time(10), tz))
        message = itip.invitation(ev, ada, "REQUEST", ev.attendees, NOW)
        raw = build_mime(message, ada, message_id="<i@example.com>", date=NOW).as_bytes()
        _, cal = imip_calendar(raw)
        item = vevent(cal)
        assert item["DTSTART"].params["TZID"] == zone
        assert [str(t["TZID"]) for t in cal.walk("VTIMEZONE")] == [zone]
        wall = item["DTSTART"].dt.replace(tzinfo=None)
        assert wall == datetime.combine(day, time(10))
        assert offset_from_vtimezone(cal, wall) == timedelta(hours=hours)


@pytest.mark.parametrize(("zone", "summer"), [("Europe/Berlin", 2), ("America/New_York", -4)])
def test_a_weekly_meeting_still_resolves_fourteen_years_on(zone: str, summer: int) -> None:
    tz = ZoneInfo(zone)
    ada = person("ada", "ada@example.com")
    ev = meeting(zone, datetime(2026, 11, 24, 10, tzinfo=tz), recurrence=["RRULE:FREQ=WEEKLY"])
    message = itip.invitation(ev, ada, "REQUEST", ev.attendees, NOW)
    assert message.calendar is not None
    cal = icalendar.Calendar.from_ical(message.calendar.data)
    # Past 2038 (icalendar's default horizon) and far past the old two-to-five years.
    later = recurring_ical_events.of(cal).at((2040, 7))
    assert later, "the series has occurrences in July 2040"
    for occurrence in later:
        wall = occurrence["DTSTART"].dt.replace(tzinfo=None)
        assert wall.time() == time(10)
        assert offset_from_vtimezone(cal, wall) == timedelta(hours=summer)
