"""What triage reads and what it says: the message with its headers, the history, the verdict."""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from email.message import Message as PyMessage
from typing import TYPE_CHECKING, Any, Literal

from tools.providers.mime import (
    bare_address,
    decode_text,
    decode_words,
    parse_mime,
    parse_rfc822,
    part_payload,
)

if TYPE_CHECKING:
    from tools.context import Workspace
    from tools.foundation.principals import Principal
    from tools.providers.base import Contact, Message

Category = Literal["urgent", "needs-response", "fyi", "promotional", "personal", "undecided"]
Action = Literal["ignore", "file", "notify", "respond", "undecided"]
CATEGORIES: tuple[str, ...] = ("urgent", "needs-response", "fyi", "promotional", "personal")
ACTIONS: tuple[str, ...] = ("ignore", "file", "notify", "respond")


def new_text(body: str) -> str:
    """The text a message adds: quotes, forwarded history and signatures taken out."""
    from tools.providers.memory.store import new_text as strip

    return strip(body)


_DOMAINS: weakref.WeakKeyDictionary[Any, tuple[float, set[str]]] = weakref.WeakKeyDictionary()
"""The domains of each address book, read at most once a minute (the desk triages mail one
message at a time, and the look-alike check compares every sender with them)."""
_DOMAINS_TTL = 60.0


@dataclass
class Verdict:
    """What triage says about one message."""

    message_id: str
    sender: str
    subject: str
    category: Category
    action: Action
    reason: str
    used_model: bool = False
    spam: bool = False
    phishing: bool = False
    no_auto_reply: bool = False
    """Bulk, list, auto-submitted, no-reply or own mail: never answered automatically."""
    source: str = ""
    warnings: list[str] = field(default_factory=list)
    """What could be read only by a fallback (a charset, damaged base64), for the report."""
    signs: list[str] = field(default_factory=list)
    """Phishing signs the rules saw that were not enough to decide (for the model and the
    report): a reply-to elsewhere, a shortened link, a request for a log-in."""

    def to_json(self) -> dict[str, Any]:
        """The stable ``secretary triage --json`` object."""
        return asdict(self)

    @property
    def decided(self) -> bool:
        """Whether a category and action were found."""
        return self.action != "undecided"


@dataclass
class Incoming:
    """One raw message with both views triage needs: every header, and the text."""

    message: Message
    headers: PyMessage
    """The whole MIME structure as parsed (headers, parts)."""
    size: int
    source: str = ""
    raw: bytes = b""
    notes: list[str] = field(default_factory=list)
    """How the text was read where it needed a fallback (see :mod:`tools.providers.mime`)."""

    @classmethod
    def from_raw(cls, raw: bytes, principal: Principal, source: str = "") -> Incoming:
        """Parse the bytes (raises ValueError when they are not an e-mail, or nest too deep)."""
        notes: list[str] = []
        message = parse_rfc822(raw, "inbox", principal.tz, notes=notes)
        headers = parse_mime(raw)
        return cls(
            message=message, headers=headers, size=len(raw), source=source, raw=raw, notes=notes
        )

    def parts(self) -> list[tuple[str, PyMessage]]:
        """(content type, part) of every leaf part; empty when the structure is broken."""
        try:
            return [
                (part.get_content_type(), part)
                for part in self.headers.walk()
                if not part.is_multipart()
            ]
        except Exception:  # noqa: BLE001 - a broken structure has no parts to look at
            return []

    def part_text(self, ctype: str) -> str:
        """The decoded text of the first part of that type ('' when none)."""
        for found, part in self.parts():
            if found == ctype:
                try:
                    charset = part.get_content_charset()
                except Exception:  # noqa: BLE001 - an undecodable parameter names no charset
                    charset = None
                return decode_text(part_payload(part), charset)
        return ""

    def header(self, name: str) -> str:
        """All values of a header, decoded and joined (empty when absent)."""
        values = self.headers.get_all(name) or []
        return " ".join(decode_words(str(v)) for v in values).strip()

    @property
    def address(self) -> str:
        """The sender's bare address, lower case."""
        return bare_address(self.message.sender).lower()


# --------------------------------------------------------------- history


class History:
    """What the secretary knows about a sender and a thread (contacts, sent mail, paid invoices)."""

    def __init__(
        self,
        contact: Callable[[str], Contact | None] = lambda _addr: None,
        wrote: Callable[[str], bool] = lambda _mid: False,
        own_addresses: tuple[str, ...] = (),
        named: Callable[[str], Contact | None] = lambda _name: None,
        ibans: Callable[[str], set[str]] = lambda _addr: set(),
        domains: Callable[[], set[str]] = set,
    ) -> None:
        """Create from lookups.

        Args:
            contact: The principal's contact with that address, if any.
            wrote: Whether the principal wrote the message with that Message-ID.
            own_addresses: Addresses the secretary sends from (besides the principal's).
            named: The principal's contact with exactly that name, if any (to see a known
                person's name on a stranger's address).
            ibans: The IBANs (compact, upper case) on earlier invoices from that sender's
                address or domain (to see changed bank details).
            domains: The domains of the principal's contacts (to see look-alikes of them).
        """
        self.contact = contact
        self.wrote = wrote
        self.own_addresses = tuple(a.lower() for a in own_addresses)
        self.named = named
        self.ibans = ibans
        self._domains = domains
        self._known: set[str] | None = None

    def domains(self) -> set[str]:
        """The domains of the principal's contacts (looked up once)."""
        if self._known is None:
            self._known = {d.lower() for d in self._domains()}
        return self._known

    @classmethod
    def of(cls, workspace: Workspace, own_addresses: tuple[str, ...] = ()) -> History:
        """Lookups on a principal's contacts, mailbox and invoice ledger."""
        from tools.providers.base import ProviderError

        me = workspace.principal.email.lower()

        def contact(addr: str) -> Contact | None:
            try:
                return workspace.contacts.by_email(addr)
            except ProviderError:
                return None

        def named(name: str) -> Contact | None:
            wanted = " ".join(name.casefold().split())
            if len(wanted) < 5 or " " not in wanted:
                return None
            try:
                found = workspace.contacts.find(query=name, limit=5)
            except ProviderError:
                return None
            return next((c for c in found if " ".join(c.name.casefold().split()) == wanted), None)

        def wrote(message_id: str) -> bool:
            try:
                found = workspace.mail.get_message(message_id)
            except ProviderError:
                return False
            return bare_address(found.sender).lower() in (me, *own_addresses)

        def ibans(addr: str) -> set[str]:
            ledger = workspace.invoices
            if ledger is None or "@" not in addr:
                return set()
            domain = addr.rpartition("@")[2].lower()
            try:
                known = ledger.invoices(None)
            except Exception:  # noqa: BLE001 - an unreadable ledger knows no bank details
                return set()
            return {
                inv.iban.replace(" ", "").upper()
                for inv in known
                if inv.iban
                and inv.vendor_email
                and inv.vendor_email.lower().rpartition("@")[2] == domain
            }

        def domains() -> set[str]:
            book = workspace.contacts
            cached = _DOMAINS.get(book)
            if cached is not None and time.monotonic() - cached[0] < _DOMAINS_TTL:
                return cached[1]
            try:
                found = book.find(limit=5000)
            except (ProviderError, TypeError):
                return set()
            known = {c.email.rpartition("@")[2].lower() for c in found if "@" in c.email}
            try:
                _DOMAINS[book] = (time.monotonic(), known)
            except TypeError:  # a provider that cannot be weakly referenced is asked each time
                pass
            return known

        return cls(contact, wrote, own_addresses, named, ibans, domains)
