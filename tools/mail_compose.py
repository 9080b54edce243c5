"""Provider-independent e-mail helpers: addresses, subjects, replies, and RFC 5322 in and out.

Every mail provider (the local Maildir today; IMAP/SMTP, Gmail and Graph later)
shares these, so a reply is threaded and quoted the same way whichever backend
sends it, and a raw message is read into a :class:`Message` the same way
wherever it came from.

Addresses are handled in display form (``Dana Smith <dana@acme.com>`` or just
``dana@acme.com``); :func:`bare_address` gives the lowercase address used for
comparisons. Message ids always carry their angle brackets (``<abc@host>``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import UTC, datetime, tzinfo
from email import policy
from email.errors import HeaderParseError
from email.header import decode_header
from email.message import EmailMessage
from email.message import Message as PyMessage
from email.parser import BytesParser
from email.utils import format_datetime, getaddresses, parseaddr, parsedate_to_datetime
from html.parser import HTMLParser
from typing import TYPE_CHECKING

from tools.providers.base import Attachment, CalendarPart, Message, OutgoingMessage

if TYPE_CHECKING:
    from agent.principals import Principal

# Reply prefixes in the languages mail clients commonly write, with counters like "Re[2]:".
_REPLY_RE = re.compile(r"^\s*(?:re|aw|sv|antw|odp|rif|ref|réf)\s*(?:\[\d+\]|\(\d+\))?\s*:\s*", re.I)
_FORWARD_RE = re.compile(r"^\s*(?:fwd?|wg|tr)\s*:\s*", re.I)
_TAG_RE = re.compile(r"^\s*\[[^\]]{1,40}\]\s*")
_ID_RE = re.compile(r"<([^<>]+)>")
_ADDR_RE = re.compile(
    r"^[^@\s<>()\[\],;:\"\\]+@([A-Za-z0-9\u00a0-\uffff-]+(?:\.[A-Za-z0-9\u00a0-\uffff-]+)*)$"
)
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
# METHOD of a VCALENDAR (a short property: never folded in practice).
_METHOD_RE = re.compile(rb"^METHOD:([A-Za-z-]+)\s*$", re.M | re.I)
_SPECIALS = set('()<>@,;:\\".[]')
# Headers a caller may not override through extra_headers: they define the message itself.
_PROTECTED = {
    "from", "to", "cc", "bcc", "subject", "date", "message-id", "in-reply-to",
    "references", "mime-version", "content-type", "content-transfer-encoding",
}  # fmt: skip
# Transport noise: long, useless to a reader, and costly to show a model.
_NOISY = ("received", "dkim-signature", "arc-", "authentication-results", "x-received")
SNIPPET_CHARS = 160


# ---------------------------------------------------------------- subjects


def normalize_subject(subject: str) -> str:
    """The subject without reply/forward prefixes or list tags, whitespace collapsed.

    Case is kept; compare with ``.casefold()``. ``"RE: Aw: [team] Fwd: Budget"`` -> ``"Budget"``.
    """
    text = " ".join(subject.split())
    while True:
        stripped = _TAG_RE.sub("", _FORWARD_RE.sub("", _REPLY_RE.sub("", text)))
        if stripped == text:
            return text.strip()
        text = stripped


def reply_subject(subject: str) -> str:
    """``"Re: "`` plus the subject, without stacking reply prefixes (forward ones stay)."""
    text = " ".join(subject.split())
    while (stripped := _REPLY_RE.sub("", text)) != text:
        text = stripped
    return f"Re: {text}".strip()


# --------------------------------------------------------------- addresses


def format_address(name: str, addr: str) -> str:
    """``Name <addr>`` (quoting the name when needed), or just ``addr`` without a name."""
    name = " ".join(name.split())
    if not name or name.casefold() == addr.casefold():
        return addr
    if any(c in _SPECIALS for c in name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{addr}>"


def bare_address(value: str) -> str:
    """The lowercase address inside a display form (``"Dana <D@x.com>"`` -> ``"d@x.com"``)."""
    return parseaddr(value)[1].strip().lower() or value.strip().lower()


def _split_addresses(text: str) -> list[str]:
    """Split on commas/semicolons that are outside quotes and angle brackets."""
    parts: list[str] = []
    current: list[str] = []
    quoted = angled = False
    for ch in text:
        if ch == '"' and not angled:
            quoted = not quoted
        elif ch == "<" and not quoted:
            angled = True
        elif ch == ">" and not quoted:
            angled = False
        if ch in ",;" and not quoted and not angled:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def is_valid_address(addr: str) -> bool:
    """Whether ``addr`` looks like a deliverable address (``name@example.com``)."""
    m = _ADDR_RE.match(addr)
    if not m:
        return False
    domain = m.group(1)
    return ("." in domain or domain.lower() == "localhost") and ".." not in addr


def parse_addresses(value: str | Iterable[str]) -> list[str]:
    """Validate and normalise addresses given as one string or a list of strings.

    Each item may hold several addresses separated by commas or semicolons, in
    ``Name <addr>`` or bare form. Duplicates (same address) are dropped.

    Raises:
        ValueError: naming the first item that is not an e-mail address.
    """
    items = [value] if isinstance(value, str) else list(value)
    out: list[str] = []
    seen: set[str] = set()
    for item in items:
        for chunk in _split_addresses(str(item)):
            name, addr = parseaddr(chunk)
            addr = addr.strip()
            if not is_valid_address(addr) or ("<" in chunk and ">" not in chunk):
                raise ValueError(
                    f"'{chunk}' is not an e-mail address; write it like name@example.com "
                    "or Name <name@example.com>."
                )
            if addr.lower() not in seen:
                seen.add(addr.lower())
                out.append(format_address(name, addr))
    return out


def _lenient_addresses(values: Iterable[str]) -> list[str]:
    """Addresses from headers we received: keep what parses, never raise."""
    return [format_address(n, a) for n, a in getaddresses(list(values)) if "@" in a]


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
        to = _lenient_addresses([reply_to])
    elif bare_address(original.sender) == own:
        to = list(original.to)
    else:
        to = _lenient_addresses([original.sender])
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


# ----------------------------------------------------------- reading MIME


class _HTMLText(HTMLParser):
    """Collects the readable text of an HTML body."""

    _BLOCK = {
        "p", "div", "br", "li", "tr", "table", "ul", "ol", "blockquote", "pre", "hr",
        "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "header", "footer",
    }  # fmt: skip
    _HIDDEN = {"script", "style", "head", "title", "template"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag in self._BLOCK:
            self.parts.append("\n- " if tag == "li" else "\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """Readable plain text from an HTML body (tags dropped, blocks on their own lines)."""
    parser = _HTMLText()
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def decode_text(data: bytes, charset: str | None) -> str:
    """Bytes to text: the declared charset, else UTF-8; never raises.

    An unknown or non-text charset name falls back to UTF-8 with replacement.
    """
    for name in (charset, "utf-8"):
        if not name:
            continue
        try:
            return data.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    try:
        return data.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def _clean(text: str) -> str:
    """Repair undecodable leftovers (lone surrogates), which would break JSON later.

    Raw 8-bit header bytes arrive as surrogate escapes; they are nearly always UTF-8.
    """
    if not _SURROGATE_RE.search(text):
        return text
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return _SURROGATE_RE.sub("\ufffd", text)


def decode_words(raw: str) -> str:
    """A header value with RFC 2047 encoded words decoded, whitespace collapsed; never raises."""
    raw = _clean(raw)
    try:
        chunks = decode_header(raw)
    except (HeaderParseError, ValueError):
        return " ".join(raw.split())
    text = "".join(
        chunk
        if isinstance(chunk, str)
        # decode_header hands back plain runs as raw-unicode-escape bytes; undo exactly that.
        else chunk.decode("raw-unicode-escape")
        if charset is None
        else decode_text(chunk, charset)
        for chunk, charset in chunks
    )
    return _clean(" ".join(text.split()))


# Headers are read from their raw text (not through policy.default's structured header
# classes): several times faster on a large mailbox, and it cannot raise on odd syntax.
def _raw_header(msg: PyMessage, name: str) -> list[str]:
    return [str(v) for k, v in msg.raw_items() if k.lower() == name.lower()]


def _header(msg: PyMessage, name: str) -> str:
    raw = _raw_header(msg, name)
    return decode_words(raw[0]) if raw else ""


def _addresses(msg: PyMessage, name: str) -> list[str]:
    return [
        format_address(decode_words(n), _clean(a.strip()))
        for n, a in getaddresses(_raw_header(msg, name))
        if "@" in a
    ]


def _ids(text: str) -> list[str]:
    return [f"<{''.join(m.split())}>" for m in _ID_RE.findall(text)]


def _date(msg: PyMessage, tz: tzinfo | None) -> datetime | None:
    raw = _raw_header(msg, "Date")
    if not raw:
        return None
    try:
        when = parsedate_to_datetime(" ".join(raw[0].split()))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC with an unknown origin zone
        when = when.replace(tzinfo=UTC)
    return when.astimezone(tz) if tz else when


def _body_and_attachments(msg: PyMessage) -> tuple[str, list[str]]:
    plain: str | None = None
    html: str | None = None
    attachments: list[str] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        try:
            filename = part.get_filename()
            disposition = part.get_content_disposition()
        except Exception:  # a broken Content-Disposition: treat the part as inline text
            filename, disposition = None, None
        if filename or disposition == "attachment":
            attachments.append(decode_words(filename or "(unnamed attachment)"))
            continue
        ctype = part.get_content_type()
        if ctype not in ("text/plain", "text/html") or (ctype == "text/plain" and plain):
            continue
        if ctype == "text/html" and html:
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            payload = str(part.get_payload()).encode("utf-8", "replace")
        text = decode_text(payload, part.get_content_charset())
        if ctype == "text/plain":
            plain = text
        else:
            html = text
    body = plain if plain is not None else html_to_text(html) if html is not None else ""
    return _clean(body.replace("\r\n", "\n").replace("\r", "\n")), attachments


def attachments_of(raw: bytes) -> list[Attachment]:
    """The attached files of a raw message, with their bytes (for forwarding)."""
    msg = BytesParser(policy=policy.compat32).parsebytes(raw)
    out: list[Attachment] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        try:
            filename = part.get_filename()
            disposition = part.get_content_disposition()
        except Exception:  # noqa: BLE001 - a broken header: not an attachment we can name
            continue
        if not (filename or disposition == "attachment"):
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        out.append(
            Attachment(
                filename=decode_words(filename or "attachment"),
                content_type=part.get_content_type(),
                data=data,
            )
        )
    return out


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


def snippet(body: str, chars: int = SNIPPET_CHARS) -> str:
    """The first ``chars`` characters of a body on one line."""
    text = " ".join(body.split())
    return text if len(text) <= chars else text[: chars - 1].rstrip() + "…"


def parse_rfc822(raw: bytes, folder: str, tz: tzinfo | None = None) -> Message:
    """Read one raw message into a :class:`Message` (dates shown in ``tz``).

    A message without a Message-ID gets a stable one derived from its content.

    Raises:
        ValueError: when the bytes are empty or carry no header at all (not an e-mail).
    """
    if not raw.strip():
        raise ValueError("the file is empty")
    msg = BytesParser(policy=policy.compat32).parsebytes(raw)
    if not msg.keys():
        raise ValueError("no e-mail headers found")
    own_ids = _ids(_header(msg, "Message-ID"))
    message_id = (
        own_ids[0] if own_ids else (f"<{hashlib.sha256(raw).hexdigest()[:24]}@local.invalid>")
    )
    references = _ids(_header(msg, "References"))
    reply_ids = _ids(_header(msg, "In-Reply-To"))
    in_reply_to = reply_ids[0] if reply_ids else ""
    body, attachments = _body_and_attachments(msg)
    senders = _addresses(msg, "From")
    headers: dict[str, str] = {}
    for name in msg.keys():
        if name.lower().startswith(_NOISY) or name in headers:
            continue
        headers[name] = _header(msg, name)[:500]
    return Message(
        message_id=message_id,
        folder=folder,
        sender=senders[0] if senders else _header(msg, "From"),
        to=_addresses(msg, "To"),
        cc=_addresses(msg, "Cc"),
        subject=_header(msg, "Subject"),
        date=_date(msg, tz),
        snippet=snippet(body),
        thread_id=(references or [in_reply_to or message_id])[0],
        in_reply_to=in_reply_to,
        references=references,
        body=body,
        attachments=attachments,
        headers=headers,
    )
