"""Provider-independent e-mail: RFC 5322 read into a Message, and the names to write one.

Every mail provider shares these, so a raw message is read into a
:class:`Message` the same way wherever it came from. Subjects and addresses
live in :mod:`tools.providers.mail_addresses` and the messages that are sent
(replies, forwards, the RFC 5322 bytes) in :mod:`tools.providers.mime_build`;
their names are importable from here too (see ``__all__``). Message ids always carry their angle
brackets (``<abc@host>``).

Reading what others sent never fails on the text itself, and never stores it
unreadable without saying so. :func:`decode_text` turns a body's bytes into text
in this order, and each step past the first adds a note for the caller to
report (``parse_rfc822(..., notes=...)``; ``secretary ingest`` lists them as
warnings, ``secretary triage`` with the verdict):

1. The declared charset, cleaned: quotes, spaces, NUL and other junk around or
   after the name are dropped (``"utf-8\\0"`` is read as ``utf-8``).
2. A 16- or 32-bit charset (UTF-16, UTF-32) declared on bytes without a byte
   order mark and without a single NUL byte is not believed: such bytes are
   8-bit text (real UTF-16/32 of any text with a space, digit or Latin letter
   holds NUL bytes), so the declaration is dropped.
3. UTF-8, strictly.
4. The declared charset when it is known, else UTF-8, with undecodable bytes
   replaced by U+FFFD.

Transfer encodings are undone leniently: base64 that was cut short or has
padding in the middle is decoded as far as it goes (never stored as base64
text). A message nested more than :data:`MAX_MIME_DEPTH` levels deep (a MIME
bomb) is refused with a ValueError that says so, instead of exhausting the
stack.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import re
from datetime import UTC, datetime, tzinfo
from email import policy
from email.errors import HeaderParseError
from email.header import decode_header
from email.message import Message as PyMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

from tools.providers.base import Attachment, Message
from tools.providers.mail_addresses import (
    bare_address,
    format_address,
    is_valid_address,
    normalize_subject,
    parse_addresses,
    reply_subject,
)
from tools.providers.mime_build import (
    build_mime,
    compose_reply,
    forward_body,
    header_value,
    message_id_for_key,
    quote_original,
)

_ID_RE = re.compile(r"<([^<>]+)>")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
# Transport noise: long, useless to a reader, and costly to show a model.
_NOISY = ("received", "dkim-signature", "arc-", "authentication-results", "x-received")
SNIPPET_CHARS = 160
MAX_MIME_DEPTH = 100
"""MIME parts nested deeper than this are refused (real mail nests a handful of levels)."""
ADDRESS_CHARS = 50_000
"""An address header is read up to this many characters (about two thousand addresses)."""
HEADER_CHARS = 20_000
"""Any other header is read up to this many characters (a subject, a thread's references)."""
_CHARSET_NAME = re.compile(r"[a-z0-9][a-z0-9._:+-]{0,39}")
_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_B64_JUNK = re.compile(r"[^A-Za-z0-9+/=]")


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


def clean_charset(declared: str | None) -> str | None:
    """The charset name inside a declared value (lower case), without junk; None when none.

    ``'"UTF-8"'``, ``"utf-8\\0"`` and ``" utf-8; "`` are all ``"utf-8"``.
    """
    if not declared:
        return None
    found = _CHARSET_NAME.match(declared.strip().strip("\"'").strip().lower())
    return found.group(0) if found else None


def _codec(name: str | None) -> str | None:
    """The codec's canonical name, or None when Python has no text codec of that name."""
    if not name:
        return None
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    try:
        b"a".decode(info.name)  # bytes-to-bytes codecs (base64, hex) are not text encodings
    except LookupError:
        return None
    except (UnicodeError, ValueError):
        pass  # a text encoding that cannot read this one byte (UTF-16)
    return info.name


def decode_text(data: bytes, charset: str | None, notes: list[str] | None = None) -> str:
    """Bytes to text in the order of the module docstring; never raises.

    Args:
        data: The decoded payload (transfer encoding already undone).
        charset: The charset as declared (``None`` when none was).
        notes: Where to add a sentence for each fallback taken (None: not reported).
    """
    found: list[str] = []
    name = clean_charset(charset)
    if charset and name != charset.strip().strip("\"'").strip().lower():
        found.append(f"the charset {_shown(charset)} was read as {name or 'UTF-8'}")
    codec = _codec(name)
    if name and codec is None:
        # The same words as ingest's own charset scan, so the two notes are one.
        found.append(f"unknown charset {name}: read as UTF-8, undecodable bytes replaced")
    elif (
        codec
        and codec.startswith(("utf-16", "utf-32"))
        and data
        and b"\x00" not in data
        and not data.startswith(_BOMS)
    ):
        found.append(f"declared {name} but the text is 8-bit (no NUL bytes); read as UTF-8")
        codec = None
    text: str | None = None
    for attempt in dict.fromkeys(c for c in (codec, "utf-8") if c):
        try:
            text = data.decode(attempt)
            break
        except (UnicodeError, LookupError, ValueError):
            continue
    if text is None:
        attempt = codec or "utf-8"
        try:
            text = data.decode(attempt, errors="replace")
        except (UnicodeError, LookupError, ValueError):
            attempt, text = "utf-8", data.decode("utf-8", errors="replace")
        if not any(n.startswith("unknown charset") for n in found):
            found.append(f"some bytes are not valid {attempt} and were replaced by U+FFFD")
    if notes is not None:
        notes.extend(n for n in found if n not in notes)
    return text


def _shown(value: str, limit: int = 40) -> str:
    """A received value as it may be quoted in a note: escaped, and cut when long."""
    text = repr(value[:limit])
    return text if len(value) <= limit else f"{text[:-1]}...{text[-1]}"


def decode_base64(text: str) -> tuple[bytes, bool]:
    """The bytes of a base64 payload, decoded as far as it goes; never raises.

    Returns:
        The bytes, and whether the text was damaged (cut short, or padding inside):
        the decoded bytes then end where the damage starts or skip over it.
    """
    chars = _B64_JUNK.sub("", text)
    try:
        return base64.b64decode(chars, validate=True), False
    except (binascii.Error, ValueError):
        pass
    # Padding inside (several encoded pieces joined) or a cut end: decode each piece on
    # its own; a last group of one character holds less than a byte and is dropped.
    out = bytearray()
    for piece in chars.split("="):
        piece = piece[: len(piece) - len(piece) % 4] if len(piece) % 4 == 1 else piece
        if piece:
            out += base64.b64decode(piece + "=" * (-len(piece) % 4))
    return bytes(out), True


def part_payload(part: PyMessage, notes: list[str] | None = None) -> bytes:
    """A leaf part's bytes with its transfer encoding undone, leniently; never raises."""
    cte = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if cte == "base64":
        raw = part.get_payload()
        if isinstance(raw, str):
            data, damaged = decode_base64(raw)
            if damaged and notes is not None:
                note = "a part's base64 text is cut short or damaged; decoded as far as it goes"
                if note not in notes:
                    notes.append(note)
            return data
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - a payload the library cannot undo is read as it is
        payload = None
    return payload if isinstance(payload, bytes) else b""


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


def _addresses(msg: PyMessage, name: str, notes: list[str] | None = None) -> list[str]:
    values = _raw_header(msg, name)
    if sum(map(len, values)) > ADDRESS_CHARS:
        # Address parsing is slow in pure Python: a 1 MB Cc would take seconds per message.
        values = [v[:ADDRESS_CHARS] for v in values][:1]
        if notes is not None:
            notes.append(f"the {name} header was read up to {ADDRESS_CHARS:,} characters")
    return [
        format_address(decode_words(n), _clean(a.strip()))
        for n, a in getaddresses(values)
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


def _body_and_attachments(msg: PyMessage, notes: list[str] | None = None) -> tuple[str, list[str]]:
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
        try:
            charset = part.get_content_charset()
        except Exception:  # noqa: BLE001 - an undecodable RFC 2231 parameter names no charset
            charset = None
        text = decode_text(part_payload(part, notes), charset, notes)
        if ctype == "text/plain":
            plain = text
        else:
            html = text
    body = plain if plain is not None else _html_body(html, notes) if html is not None else ""
    return _clean(body.replace("\r\n", "\n").replace("\r", "\n")), attachments


def _html_body(html: str, notes: list[str] | None) -> str:
    try:
        return html_to_text(html)
    except Exception:  # noqa: BLE001 - markup the parser rejects: keep the words, drop tags
        if notes is not None:
            notes.append("the HTML body could not be parsed; its tags were stripped")
        return re.sub(r"<[^>]*>", " ", html)


def mime_depth(msg: PyMessage, limit: int = MAX_MIME_DEPTH) -> int:
    """How many levels of parts a parsed message nests (0: not multipart); stops past ``limit``.

    Counted without recursion, so a MIME bomb cannot exhaust the stack here.
    """
    deepest = 0
    stack: list[tuple[PyMessage, int]] = [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            break
        if part.is_multipart():  # its payload is the list of parts, not text to decode
            payload = part.get_payload()
            stack.extend((sub, depth + 1) for sub in payload if isinstance(sub, PyMessage))
    return deepest


def parse_mime(raw: bytes) -> PyMessage:
    """Parse raw bytes (compat32), refusing a structure too deep to walk safely.

    Raises:
        ValueError: the parts nest more than :data:`MAX_MIME_DEPTH` levels deep.
    """
    too_deep = (
        f"its MIME parts are nested more than {MAX_MIME_DEPTH} levels deep (a structure "
        "no mail program writes), so it was not read"
    )
    try:
        msg = BytesParser(policy=policy.compat32).parsebytes(raw)
    except RecursionError:
        raise ValueError(too_deep) from None
    if mime_depth(msg) > MAX_MIME_DEPTH:
        raise ValueError(too_deep)
    return msg


def attachments_of(raw: bytes) -> list[Attachment]:
    """The attached files of a raw message, with their bytes (for forwarding).

    Raises:
        ValueError: the parts nest too deeply to read (see :func:`parse_mime`).
    """
    msg = parse_mime(raw)
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
        data = part_payload(part)  # damaged base64 as far as it goes, not as base64 text
        out.append(
            Attachment(
                filename=decode_words(filename or "attachment"),
                content_type=part.get_content_type(),
                data=data,
            )
        )
    return out


def snippet(body: str, chars: int = SNIPPET_CHARS) -> str:
    """The first ``chars`` characters of a body on one line."""
    text = " ".join(body.split())
    return text if len(text) <= chars else text[: chars - 1].rstrip() + "…"


def parse_rfc822(
    raw: bytes, folder: str, tz: tzinfo | None = None, *, notes: list[str] | None = None
) -> Message:
    """Read one raw message into a :class:`Message` (dates shown in ``tz``).

    A message without a Message-ID gets a stable one derived from its content.
    What could only be read with a fallback (see the module docstring) is added
    to ``notes`` as sentences, so the caller can report it.

    Raises:
        ValueError: when the bytes are empty or carry no header at all (not an e-mail),
            or nest their parts too deeply to read.
    """
    if not raw.strip():
        raise ValueError("the file is empty")
    msg = parse_mime(raw)
    if not msg.keys():
        raise ValueError("no e-mail headers found")
    # One pass over the headers: a message with many thousands of header lines must not
    # cost a scan of all of them per header name.
    first: dict[str, str] = {}
    for name, value in msg.raw_items():
        first.setdefault(name.lower(), str(value))

    def header(name: str) -> str:
        value = first.get(name.lower())
        if value is None:
            return ""
        if len(value) > HEADER_CHARS:
            # Decoding is linear but slow in pure Python: a 1 MB header costs seconds.
            if notes is not None:
                notes.append(f"the {name} header was read up to {HEADER_CHARS:,} characters")
            value = value[:HEADER_CHARS]
        return decode_words(value)

    own_ids = _ids(header("Message-ID"))
    message_id = (
        own_ids[0] if own_ids else (f"<{hashlib.sha256(raw).hexdigest()[:24]}@local.invalid>")
    )
    references = _ids(header("References"))
    reply_ids = _ids(header("In-Reply-To"))
    in_reply_to = reply_ids[0] if reply_ids else ""
    body, attachments = _body_and_attachments(msg, notes)
    senders = _addresses(msg, "From", notes)
    headers: dict[str, str] = {}
    for name, value in msg.raw_items():
        if name.lower().startswith(_NOISY) or name in headers:
            continue
        # Kept to 500 characters: decoding 8,000 raw ones gives those even in encoded words.
        headers[name] = decode_words(first.get(name.lower(), str(value))[:8000])[:500]
    return Message(
        message_id=message_id,
        folder=folder,
        sender=senders[0] if senders else header("From"),
        to=_addresses(msg, "To", notes),
        cc=_addresses(msg, "Cc", notes),
        subject=header("Subject"),
        date=_date(msg, tz),
        snippet=snippet(body),
        thread_id=(references or [in_reply_to or message_id])[0],
        in_reply_to=in_reply_to,
        references=references,
        body=body,
        attachments=attachments,
        headers=headers,
    )


__all__ = [
    "ADDRESS_CHARS",
    "attachments_of",
    "bare_address",
    "build_mime",
    "clean_charset",
    "compose_reply",
    "decode_base64",
    "decode_text",
    "decode_words",
    "format_address",
    "forward_body",
    "HEADER_CHARS",
    "header_value",
    "html_to_text",
    "is_valid_address",
    "MAX_MIME_DEPTH",
    "message_id_for_key",
    "mime_depth",
    "normalize_subject",
    "parse_addresses",
    "parse_mime",
    "parse_rfc822",
    "part_payload",
    "quote_original",
    "reply_subject",
    "snippet",
    "SNIPPET_CHARS",
]
