"""Mail as it is sent: replies threaded and quoted, forwards, and the RFC 5322 message.

Every mail provider builds its messages here, so a reply is threaded and
quoted the same way whichever backend sends it, and a send with the same
idempotency key always carries the same Message-ID.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import datetime, tzinfo
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING

from tools.providers.base import CalendarPart, Message, OutgoingMessage
from tools.providers.mail_addresses import (
    bare_address,
    format_address,
    lenient_addresses,
    parse_addresses,
    reply_subject,
)

if TYPE_CHECKING:
    from tools.foundation.principals import Principal

# METHOD of a VCALENDAR (a short property: never folded in practice).
_METHOD_RE = re.compile(rb"^METHOD:([A-Za-z-]+)\s*$", re.M | re.I)
# Headers a caller may not override through extra_headers: they define the message itself.
_PROTECTED = {
    "from", "to", "cc", "bcc", "subject", "date", "message-id", "in-reply-to",
    "references", "mime-version", "content-type", "content-transfer-encoding",
}  # fmt: skip


# ----------------------------------------------------------------- replies


def quote_original(original: Message, tz: tzinfo | None = None) -> str:
    """``On <date>, <sender> wrote:`` followed by the original body as ``> `` lines."""
    when = original.date.astimezone(tz) if original.date and tz else original.date
    stamp = when.strftime("%a, %d %b %Y at %H:%M") if when else "an earlier date"
    lines = original.body.rstrip().splitlines() or [""]
    quoted = "\n".join(f"> {line}" if line.strip() else ">" for line in lines)
    return f"On {stamp}, {original.sender or 'someone'} wrote:\n{quoted}\n"


def compose_reply(
    original: Message, body: str, principal: Principal, reply_all: bool = False
) -> OutgoingMessage:
    """A threaded reply to ``original`` from ``principal``, quoting the original below.

    Recipients are the original Reply-To (or sender); when the principal wrote the
    original, the reply goes to its recipients again. ``reply_all`` adds the
    original To and Cc, never the principal's own address.
    """
    own = principal.email.strip().lower()
    reply_to = header_value(original, "Reply-To")
    if reply_to:
        to = lenient_addresses([reply_to])
    elif bare_address(original.sender) == own:
        to = list(original.to)
    else:
        to = lenient_addresses([original.sender])
    cc: list[str] = []
    if reply_all:
        to += original.to
        cc += original.cc
    to = _dedupe(to, exclude={own})
    cc = _dedupe(cc, exclude={own} | {bare_address(a) for a in to})
    references = list(original.references)
    if not references and original.in_reply_to:
        references = [original.in_reply_to]
    if original.message_id and original.message_id not in references:
        references.append(original.message_id)
    text = f"{body.rstrip()}\n\n{quote_original(original, principal.tz)}"
    return OutgoingMessage(
        to=to,
        cc=cc,
        subject=reply_subject(original.subject),
        body=text,
        in_reply_to=original.message_id,
        references=references,
    )


def header_value(message: Message, name: str) -> str:
    """A header of a parsed message by case-insensitive name ("" when absent)."""
    wanted = name.lower()
    return next((v for k, v in message.headers.items() if k.lower() == wanted), "")


def _dedupe(addresses: Iterable[str], exclude: set[str]) -> list[str]:
    out: list[str] = []
    seen = set(exclude)
    for a in addresses:
        key = bare_address(a)
        if key and key not in seen:
            seen.add(key)
            out.append(a)
    return out


# ------------------------------------------------------------ building MIME


def message_id_for_key(idempotency_key: str, sender_email: str) -> str:
    """The Message-ID a send with this key always gets, so a retry is recognisable."""
    domain = sender_email.rpartition("@")[2].strip().lower() or "localhost"
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:24]
    return f"<{digest}@{domain}>"


def build_mime(
    message: OutgoingMessage, principal: Principal, *, message_id: str, date: datetime
) -> EmailMessage:
    """A complete RFC 5322 message as recipients see it (Bcc is deliberately absent).

    A message with a ``calendar`` part becomes an iMIP message (see :func:`_add_calendar`).

    Raises:
        ValueError: for a naive date, an invalid address, a protected extra header,
            or a calendar part whose METHOD disagrees with its object.
    """
    if date.tzinfo is None:
        raise ValueError("the Date of a message must be timezone-aware")
    msg = EmailMessage(policy=policy.default)
    msg["From"] = format_address(principal.name, principal.email)
    if message.to:
        msg["To"] = ", ".join(parse_addresses(message.to))
    if message.cc:
        msg["Cc"] = ", ".join(parse_addresses(message.cc))
    # A stray newline from the model must not become a header injection or an error.
    msg["Subject"] = " ".join(message.subject.split())
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    if message.in_reply_to:
        msg["In-Reply-To"] = message.in_reply_to
    if message.references:
        msg["References"] = " ".join(message.references)
    for name, value in message.extra_headers.items():
        if name.strip().lower() in _PROTECTED:
            raise ValueError(f"extra header '{name}' would override the message's own {name}")
        msg[name] = " ".join(value.split())
    msg.set_content(message.body, charset="utf-8")
    if message.calendar is not None:
        _add_calendar(msg, message.calendar)
    for att in message.attachments:
        maintype, _, subtype = att.content_type.partition("/")
        msg.add_attachment(
            att.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=att.filename,
            params=att.params,
        )
    return msg


def _add_calendar(msg: EmailMessage, part: CalendarPart) -> None:
    """The iMIP shape (RFC 6047) that Outlook, Gmail and Thunderbird act on.

    The object goes inline as an alternative of the text, ``text/calendar`` with
    the ``method`` parameter (clients show Accept/Decline from this part), and
    again as an ``application/ics`` attachment, the type Google and Thunderbird
    use for the file: a second ``text/calendar`` part would be a second
    scheduling message to some clients. ``build_mime`` then wraps both in
    ``multipart/mixed``.

    Raises:
        ValueError: the METHOD inside the object is not ``part.method`` (Outlook
            rejects such a message as a mismatch).
    """
    found = _METHOD_RE.search(part.data)
    inside = found.group(1).decode("ascii").upper() if found else ""
    if inside != part.method:
        raise ValueError(
            f"the calendar object says METHOD:{inside or '(none)'} but is sent as {part.method}"
        )
    # base64: the object's CRLF line ends and any UTF-8 arrive exactly as written.
    msg.add_alternative(
        part.data,
        maintype="text",
        subtype="calendar",
        params={"method": part.method, "charset": "UTF-8"},
    )
    msg.add_attachment(
        part.data,
        maintype="application",
        subtype="ics",
        filename=part.filename,
        params={"name": part.filename},
    )


def forward_body(original: Message, note: str, tz: tzinfo | None = None) -> str:
    """The text of a forward: the note, then the original's headers and text."""
    when = original.date.astimezone(tz) if original.date and tz else original.date
    head = [
        "---------- Forwarded message ----------",
        f"From: {original.sender}",
        f"Date: {format_datetime(when) if when else '-'}",
        f"Subject: {original.subject}",
        f"To: {', '.join(original.to)}",
    ]
    if original.cc:
        head.append(f"Cc: {', '.join(original.cc)}")
    return "\n".join([note.rstrip(), "", *head, "", original.body]).lstrip("\n")
