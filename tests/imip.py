"""The shape of a scheduling e-mail (iMIP, RFC 6047) as Outlook and Gmail expect it, checked."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import icalendar


def leaves(msg: EmailMessage) -> list[EmailMessage]:
    return [p for p in msg.walk() if not p.is_multipart()]  # type: ignore[misc]


def imip_calendar(raw: bytes) -> tuple[EmailMessage, icalendar.Calendar]:
    """Parse ``raw`` and check it is an iMIP message; return it and its calendar.

    multipart/mixed holding a multipart/alternative of text/plain and an inline
    ``text/calendar; method=M; charset=UTF-8`` whose METHOD is M, and the same
    object again as an ``.ics`` attachment.
    """
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    assert msg.get_content_type() == "multipart/mixed", msg.get_content_type()
    alternative, *files = msg.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    inner = list(alternative.iter_parts())
    assert [p.get_content_type() for p in inner] == ["text/plain", "text/calendar"]
    inline = inner[1]
    assert inline.get_content_disposition() is None and inline.get_filename() is None
    assert inline.get_param("charset") == "UTF-8"
    data = inline.get_payload(decode=True)
    assert isinstance(data, bytes)
    cal = icalendar.Calendar.from_ical(data)
    assert inline.get_param("method") == str(cal["METHOD"])
    [attached] = files
    assert attached.get_content_type() == "application/ics"
    assert attached.get_content_disposition() == "attachment"
    assert str(attached.get_filename()).endswith(".ics")
    assert attached.get_payload(decode=True) == data
    calendars = [p for p in leaves(msg) if p.get_content_type() == "text/calendar"]
    assert calendars == [inline], "one scheduling part only, or clients see two invitations"
    return msg, cal
