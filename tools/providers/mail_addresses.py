"""Subjects and addresses as people write them in mail headers.

Addresses are handled in display form (``Dana Smith <dana@acme.com>`` or just
``dana@acme.com``); :func:`bare_address` gives the lowercase address used for
comparisons, :func:`parse_addresses` checks what is about to be sent. Reply and
forward prefixes are recognised in the languages mail clients commonly write.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.utils import getaddresses, parseaddr

# Reply prefixes in the languages mail clients commonly write, with counters like "Re[2]:".
_REPLY_RE = re.compile(r"^\s*(?:re|aw|sv|antw|odp|rif|ref|réf)\s*(?:\[\d+\]|\(\d+\))?\s*:\s*", re.I)
_FORWARD_RE = re.compile(r"^\s*(?:fwd?|wg|tr)\s*:\s*", re.I)
_TAG_RE = re.compile(r"^\s*\[[^\]]{1,40}\]\s*")
_ADDR_RE = re.compile(
    r"^[^@\s<>()\[\],;:\"\\]+@([A-Za-z0-9\u00a0-\uffff-]+(?:\.[A-Za-z0-9\u00a0-\uffff-]+)*)$"
)
_SPECIALS = set('()<>@,;:\\".[]')


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


def lenient_addresses(values: Iterable[str]) -> list[str]:
    """Addresses from headers we received: keep what parses, never raise."""
    return [format_address(n, a) for n, a in getaddresses(list(values)) if "@" in a]
