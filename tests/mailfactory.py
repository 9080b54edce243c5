"""Build raw e-mails for tests: realistic headers, any extra header, any body."""

from __future__ import annotations

import itertools
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from zoneinfo import ZoneInfo

_seq = itertools.count(1)


def eml(
    sender: str = "Dana Smith <dana@acme.test>",
    to: str = "Ada Lovelace <ada@example.com>",
    subject: str = "Hello",
    body: str = "Hi Ada,\n\nCould you send me the report?\n\nDana",
    *,
    message_id: str | None = None,
    in_reply_to: str = "",
    references: str = "",
    html: str | None = None,
    headers: dict[str, str] | None = None,
    date: datetime | None = None,
) -> bytes:
    """One RFC 5322 message as bytes."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    when = date or datetime(2026, 11, 23, 8, next(_seq) % 60, tzinfo=ZoneInfo("Europe/Berlin"))
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = message_id or f"<m{next(_seq)}.{id(msg)}@acme.test>"
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references or in_reply_to:
        msg["References"] = references or in_reply_to
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg.as_bytes()
