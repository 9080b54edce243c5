"""The generated mail archive (:mod:`evals.corpus`) as data: messages, labelled queries, files.

A :class:`Corpus` is written as an mbox (every message rendered by
:func:`render`) and its queries as JSON lines (read back by
:func:`load_queries`). The rendering is written by hand rather than with :mod:`email`, so that the
deliberately bad messages (a broken MIME boundary, an unknown charset, no
headers at all) come out exactly as broken as intended.
"""

from __future__ import annotations

import base64
import json
import quopri
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

QueryKind = Literal["exact", "semantic", "mixed"]


@dataclass
class Attachment:
    """A file attached to a generated message."""

    filename: str
    ctype: str
    data: bytes


@dataclass
class Mail:
    """One generated message: what its author wrote and how it is rendered."""

    message_id: str
    thread_id: str
    sender: tuple[str, str]
    to: list[tuple[str, str]]
    subject: str
    date: datetime
    text: str
    signature: str = ""
    quote: str = ""
    parents: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    html_only: bool = False
    charset: str = "utf-8"
    lang: str = "en"
    bad: str = ""
    """Why the message is deliberately bad ('' when it is not)."""

    @property
    def body(self) -> str:
        """The full text body as sent: new text, signature, quoted history."""
        out = self.text
        if self.signature:
            out += "\n\n" + self.signature
        if self.quote:
            out += "\n\n" + self.quote
        return out + "\n"

    def own_text(self) -> str:
        """What the author wrote, plus the text of text attachments (where facts may live)."""
        parts = [self.text]
        parts += [a.data.decode("utf-8") for a in self.attachments if a.ctype == "text/plain"]
        return "\n".join(parts)


@dataclass
class Query:
    """A labelled recall query: the messages whose own text answers it."""

    id: str
    kind: QueryKind
    text: str
    answers: list[str]
    fact: str
    """The planted string every answer's own text contains."""
    topic: str


@dataclass
class Corpus:
    """A generated archive with its labelled queries."""

    seed: int
    mails: list[Mail]
    queries: list[Query]

    def by_id(self) -> dict[str, Mail]:
        """Messages by Message-ID."""
        return {m.message_id: m for m in self.mails}

    def write_mbox(self, path: Path) -> Path:
        """Write every message to an mbox file."""
        with open(path, "wb") as fh:
            for m in self.mails:
                stamp = m.date.astimezone(ZoneInfo("UTC")).strftime("%a %b %d %H:%M:%S %Y")
                fh.write(f"From {m.sender[1]} {stamp}\n".encode())
                data = render(m)
                # mbox: a body line starting with "From " would begin a new message.
                data = re.sub(rb"(?m)^From ", b">From ", data)
                fh.write(data)
                if not data.endswith(b"\n"):
                    fh.write(b"\n")
                fh.write(b"\n")
        return path

    def write_queries(self, path: Path) -> Path:
        """Write the labelled queries as JSON lines."""
        with open(path, "w", encoding="utf-8") as fh:
            for q in self.queries:
                fh.write(json.dumps(asdict(q), ensure_ascii=False) + "\n")
        return path


def load_queries(path: Path) -> list[Query]:
    """Queries written by :meth:`Corpus.write_queries`."""
    with open(path, encoding="utf-8") as fh:
        return [Query(**json.loads(line)) for line in fh if line.strip()]


def _header(text: str) -> str:
    """A header value, as RFC 2047 encoded words when it is not ASCII."""
    if text.isascii():
        return text
    return Header(text, "utf-8").encode()


def _addr(person: tuple[str, str]) -> str:
    return formataddr(person, charset="utf-8")


def _encode_text(text: str, charset: str) -> tuple[bytes, str]:
    """Body bytes and their transfer encoding."""
    if charset.startswith("x-"):
        return text.encode("utf-8"), "8bit"
    data = text.encode(charset, errors="replace")
    if data.isascii():
        return data, "7bit"
    return quopri.encodestring(data), "quoted-printable"


def _html(m: Mail) -> str:
    def paras(text: str) -> str:
        return "".join(f"<p>{p.replace(chr(10), '<br>')}</p>" for p in text.split("\n\n"))

    out = f"<html><head><style>p{{margin:0}}</style></head><body>{paras(m.text)}"
    if m.signature:
        out += "<div>-- </div>" + "".join(f"<div>{s}</div>" for s in m.signature.split("\n")[1:])
    if m.quote:
        head, _, rest = m.quote.partition("\n")
        quoted = "\n".join(line.removeprefix("> ").removeprefix(">") for line in rest.split("\n"))
        out += f"<p>{head}</p><blockquote>{paras(quoted)}</blockquote>"
    return out + "</body></html>"


def render(m: Mail) -> bytes:
    """The message as RFC 5322 bytes."""
    head = [
        f"From: {_addr(m.sender)}",
        f"To: {', '.join(_addr(p) for p in m.to)}",
        f"Subject: {_header(m.subject)}",
        f"Date: {format_datetime(m.date)}",
        f"Message-ID: {m.message_id}",
    ]
    if m.parents:
        head.append(f"In-Reply-To: {m.parents[-1]}")
        head.append(f"References: {' '.join(m.parents[-10:])}")
    head.append("MIME-Version: 1.0")
    if m.bad == "no headers":
        return b"\n" + m.text.encode() + b"\n"
    if m.bad == "empty body":
        return ("\n".join([*head, 'Content-Type: text/plain; charset="utf-8"']) + "\n\n").encode()
    if m.html_only:
        ctype, body = "text/html", _html(m)
    else:
        ctype, body = "text/plain", m.body
    data, cte = _encode_text(body, m.charset)
    text_part = (
        f'Content-Type: {ctype}; charset="{m.charset}"\nContent-Transfer-Encoding: {cte}\n\n'
    ).encode() + data
    if not m.attachments and m.bad != "broken boundary":
        return "\n".join(head).encode() + b"\n" + text_part + b"\n"
    boundary = f"=_part_{m.message_id.strip('<>').split('@')[0]}"
    declared = boundary + ("-missing" if m.bad == "broken boundary" else "")
    out = [
        "\n".join(head).encode(),
        f'\nContent-Type: multipart/mixed; boundary="{declared}"\n\n'.encode(),
        b"This is a multi-part message in MIME format.\n",
        f"--{boundary}\n".encode(),
        text_part,
        b"\n",
    ]
    for a in m.attachments:
        out.append(f"--{boundary}\n".encode())
        disposition = f'Content-Disposition: attachment; filename="{a.filename}"\n'
        if a.ctype == "text/plain":
            payload, cte = _encode_text(a.data.decode("utf-8"), "utf-8")
            out.append(
                f'Content-Type: text/plain; charset="utf-8"; name="{a.filename}"\n'
                f"Content-Transfer-Encoding: {cte}\n{disposition}\n".encode()
            )
            out.append(payload)
        else:
            out.append(
                f'Content-Type: {a.ctype}; name="{a.filename}"\n'
                f"Content-Transfer-Encoding: base64\n{disposition}\n".encode()
            )
            out.append(base64.encodebytes(a.data))
        out.append(b"\n")
    out.append(f"--{boundary}--\n".encode())
    return b"".join(out)
