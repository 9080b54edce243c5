"""Local mail: Maildir folders (inbox, sent, drafts) in the principal's data directory.

The embedded default needs no account. A person adds mail by dropping ``.eml``
files into ``mail/inbox/new/`` (or ``cur/``) or through :meth:`LocalMail.import_eml`.
"Sending" writes the finished message into the ``sent`` Maildir; nothing leaves
the machine (providers with real accounts deliver).

Decisions worth knowing:

* Bcc recipients are not in the headers recipients would see; the sent copy
  records them in an ``X-Secretary-Bcc`` header so the principal keeps a trace.
* A send or draft gets a Message-ID derived from its idempotency key and a file
  name derived from that id; a second call with the same key finds the first
  copy and writes nothing, and a concurrent one loses the exclusive link.
* Files are parsed once and cached by path, mtime and size; files that are not
  e-mail (empty, binary, broken) are skipped with a warning naming the file.
"""

from __future__ import annotations

import hashlib
import logging
import mailbox
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.utils import getaddresses
from pathlib import Path
from typing import TYPE_CHECKING

from tools.providers.base import (
    MailRef,
    Message,
    MessageSummary,
    NotFound,
    OnReset,
    OutgoingMessage,
    ProviderError,
    RawMail,
    SentReceipt,
    SyncReset,
    message_id_of,
)
from tools.providers.mime import (
    bare_address,
    build_mime,
    header_value,
    message_id_for_key,
    normalize_subject,
    parse_addresses,
    parse_rfc822,
)

if TYPE_CHECKING:
    from tools.foundation.principals import Principal

log = logging.getLogger(__name__)

FOLDERS = ("inbox", "sent", "drafts")
BCC_HEADER = "X-Secretary-Bcc"


@dataclass(frozen=True)
class _Entry:
    """A parsed message with what listing needs precomputed."""

    message: Message
    when: datetime
    """Sort instant: the Date header, else the file's modification time."""
    haystack: str
    """Casefolded subject, addresses and body, for word search."""


def normalize_message_id(message_id: str) -> str:
    """``abc@host`` or ``<abc@host>`` -> ``<abc@host>``."""
    text = "".join(message_id.split()).strip("<>")
    return f"<{text}>" if text else ""


RESCAN_NS = 1_000_000_000
"""How far before its cursor ``fetch_new`` looks again for late-visible files (1 s)."""


class LocalMail:
    """A :class:`~tools.providers.base.MailProvider` on local Maildir folders."""

    def __init__(
        self,
        root: Path,
        principal: Principal,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """Open (creating if needed) ``root/mail/{inbox,sent,drafts}``.

        Args:
            root: The principal's data directory.
            principal: Whose mailbox this is (From address, time zone).
            clock: Returns 'now' for Date headers; tests pin it. Default: wall clock.
        """
        self.principal = principal
        self.path = Path(root) / "mail"
        self._clock = clock
        # Mail is private: owner-only, like the Maildir subfolders the stdlib creates.
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name in FOLDERS:
            mailbox.Maildir(self.path / name, create=True)
        self._cache: dict[Path, tuple[tuple[int, int], _Entry | None]] = {}

    # ------------------------------------------------------------ reading

    def _files(self, folder: str) -> Iterator[tuple[Path, os.stat_result]]:
        for sub in ("new", "cur"):
            try:
                entries = list(os.scandir(self.path / folder / sub))
            except FileNotFoundError:
                continue
            for de in entries:
                # Dot files are client/OS litter (.DS_Store, editor swap files), not mail.
                if de.name.startswith(".") or not de.is_file():
                    continue
                try:
                    yield Path(de.path), de.stat()
                except FileNotFoundError:  # moved new/ -> cur/ by a client meanwhile
                    continue

    def _load(self, path: Path, folder: str, mtime: float) -> _Entry | None:
        tz = self.principal.tz
        try:
            message = parse_rfc822(path.read_bytes(), folder, tz)
        except FileNotFoundError:
            raise
        except Exception as exc:  # any file a person drops in must not break the mailbox
            log.warning("Skipping %s: not a readable e-mail (%s)", path, exc)
            return None
        when = message.date or datetime.fromtimestamp(mtime, tz)
        text = " ".join([message.subject, message.sender, *message.to, *message.cc, message.body])
        return _Entry(message=message, when=when, haystack=text.casefold())

    def _entries(self, folder: str) -> list[_Entry]:
        if folder not in FOLDERS:
            raise ProviderError(f"There is no mail folder '{folder}'; use inbox, sent or drafts.")
        out: list[_Entry] = []
        seen: set[Path] = set()
        for path, st in self._files(folder):
            seen.add(path)
            stamp = (st.st_mtime_ns, st.st_size)
            cached = self._cache.get(path)
            if cached is not None and cached[0] == stamp:
                entry = cached[1]
            else:
                try:
                    entry = self._load(path, folder, st.st_mtime)
                except FileNotFoundError:
                    continue
                # Unreadable files are cached too, so each is warned about once per change.
                self._cache[path] = (stamp, entry)
            if entry is not None:
                out.append(entry)
        base = self.path / folder
        for gone in [p for p in self._cache if p.parent.parent == base and p not in seen]:
            del self._cache[gone]
        return out

    def _all(self) -> list[_Entry]:
        """Every message once (a copy sent to oneself is in inbox and sent)."""
        out: dict[str, _Entry] = {}
        for folder in FOLDERS:
            for entry in self._entries(folder):
                out.setdefault(entry.message.message_id, entry)
        return list(out.values())

    def _find(self, folder: str, message_id: str) -> _Entry | None:
        for entry in self._entries(folder):
            if entry.message.message_id == message_id:
                return entry
        return None

    def search(
        self,
        query: str = "",
        sender: str = "",
        since: datetime | None = None,
        folder: str = "inbox",
        limit: int = 20,
    ) -> list[MessageSummary]:
        """Newest first; every word of ``query`` must occur in subject, addresses or body."""
        if since is not None and since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        words = query.casefold().split()
        who = sender.strip().casefold()
        hits = [
            e
            for e in self._entries(folder)
            if all(w in e.haystack for w in words)
            and (not who or who in e.message.sender.casefold())
            and (since is None or e.when >= since)
        ]
        hits.sort(key=lambda e: e.when, reverse=True)
        fields = set(MessageSummary.model_fields)
        return [
            MessageSummary.model_validate(e.message.model_dump(include=fields))
            for e in hits[: max(0, limit)]
        ]

    def get_message(self, message_id: str) -> Message:
        """One message from any folder, by Message-ID with or without angle brackets."""
        wanted = normalize_message_id(message_id)
        for folder in FOLDERS:
            entry = self._find(folder, wanted)
            if entry is not None:
                return entry.message
        raise NotFound(
            f"No message with id {wanted or repr(message_id)} in inbox, sent or drafts. "
            "Search mail to find the right message id."
        )

    def get_raw(self, message_id: str) -> bytes:
        """The message's bytes as stored (for forwarding with attachments); raises NotFound."""
        wanted = self.get_message(message_id).message_id  # raises NotFound; fills the cache
        for path, (_stamp, entry) in list(self._cache.items()):
            if entry is not None and entry.message.message_id == wanted:
                try:
                    return path.read_bytes()
                except FileNotFoundError:
                    continue
        raise NotFound(f"Message {wanted} vanished from the mailbox meanwhile; try again.")

    def get_thread(self, message_id: str) -> list[Message]:
        """The conversation across folders, oldest first.

        Messages are linked by In-Reply-To/References; a reply that lacks those
        headers joins messages with the same normalised subject that share a
        participant other than the principal.
        """
        target = self.get_message(message_id)
        entries = self._all()
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            parent.setdefault(x, x)
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        def union(a: str, b: str) -> None:
            parent[find(a)] = find(b)

        own = self.principal.email.strip().lower()
        by_subject: dict[str, list[_Entry]] = {}
        for e in entries:
            m = e.message
            for ref in [m.in_reply_to, *m.references]:
                if ref:
                    union(m.message_id, ref)
            by_subject.setdefault(normalize_subject(m.subject).casefold(), []).append(e)
        for e in entries:
            m = e.message
            key = normalize_subject(m.subject).casefold()
            # Only an answer (prefixed subject) attaches by subject; two first messages never do.
            is_reply = key != " ".join(m.subject.split()).casefold()
            if m.in_reply_to or m.references or not key or not is_reply:
                continue
            people = _participants(m) - {own}
            for other in by_subject[key]:
                if other is not e and people & (_participants(other.message) - {own}):
                    union(m.message_id, other.message.message_id)
        root = find(target.message_id)
        thread = [e for e in entries if find(e.message.message_id) == root]
        thread.sort(key=lambda e: e.when)
        return [e.message for e in thread]

    # ------------------------------------------------------------ writing

    def _now(self) -> datetime:
        now = self._clock() if self._clock is not None else self.principal.now()
        return now.astimezone(self.principal.tz)

    def _write(self, folder: str, message_id: str, data: bytes) -> None:
        """Atomically place ``data`` in ``folder/new`` (tmp -> new, as Maildir requires)."""
        box = self.path / folder
        name = hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:32] + ".eml"
        target = box / "new" / name
        tmp = box / "tmp" / f"{name}.{os.getpid()}.{uuid.uuid4().hex}"
        with open(tmp, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            # link() is exclusive: of two concurrent writers of one message, one wins.
            os.link(tmp, target)
        except FileExistsError:
            pass
        except OSError:  # file systems without hard links
            if not target.exists():
                os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def _deliver(self, message: OutgoingMessage, key: str, folder: str) -> SentReceipt:
        # Without a key a retry cannot be recognised; the ledger always supplies one.
        key = key or uuid.uuid4().hex
        message_id = message_id_for_key(key, self.principal.email)
        existing = self._find(folder, message_id)
        if existing is not None:
            return _receipt(existing.message, folder)
        if folder == "sent" and not (message.to or message.cc or message.bcc):
            raise ProviderError("A message needs at least one recipient in To, Cc or Bcc.")
        try:
            mime = build_mime(message, self.principal, message_id=message_id, date=self._now())
            if message.bcc:
                mime[BCC_HEADER] = ", ".join(parse_addresses(message.bcc))
        except ValueError as exc:
            raise ProviderError(f"Cannot build the message: {exc}.") from None
        self._write(folder, message_id, mime.as_bytes())
        stored = self._find(folder, message_id)
        if stored is None:  # pragma: no cover - only if the file vanished at once
            raise ProviderError(f"The message could not be stored in {self.path / folder}.")
        return _receipt(stored.message, folder)

    def send(self, message: OutgoingMessage, idempotency_key: str) -> SentReceipt:
        """Send locally: file the complete message in ``sent`` (once per key)."""
        return self._deliver(message, idempotency_key, "sent")

    def save_draft(self, message: OutgoingMessage, idempotency_key: str) -> SentReceipt:
        """Keep the message in ``drafts`` (once per key)."""
        return self._deliver(message, idempotency_key, "drafts")

    # ------------------------------------------------------------ syncing

    def _arrivals(self, folder: str) -> list[tuple[tuple[int, str], Path]]:
        """Files in arrival order: (inode change time, name) is when it entered the folder."""
        if folder not in FOLDERS:
            raise ProviderError(f"There is no mail folder '{folder}'; use inbox, sent or drafts.")
        found = [((st.st_ctime_ns, path.name), path) for path, st in self._files(folder)]
        return sorted(found)

    def fetch_new(
        self,
        cursor: str = "",
        folder: str = "inbox",
        limit: int = 200,
        *,
        on_reset: OnReset = "restart",
    ) -> tuple[list[RawMail], str]:
        """Messages that entered ``folder`` after ``cursor`` (``"<ns>:<file name>"``).

        A file a mail client moves from ``new/`` to ``cur/`` counts as arriving
        again; consumers deduplicate by Message-ID. So do files that arrived
        within :data:`RESCAN_NS` before the cursor: they are returned again
        (without counting towards ``limit``), because the kernel stamps files
        with a coarse clock, and a file renamed into place in the same tick as
        the cursor's but sorting before it would otherwise never be seen.
        An unreadable cursor starts over, or raises ``SyncReset`` with
        ``on_reset="raise"``.
        """
        after: tuple[int, str] = (-1, "")
        if cursor:
            stamp, _, name = cursor.partition(":")
            try:
                after = (int(stamp), name)
            except ValueError:
                if on_reset == "raise":
                    raise SyncReset(
                        f"The mail cursor {cursor!r} is unreadable; list again."
                    ) from None
                log.warning("Ignoring an unreadable mail cursor %r; starting over", cursor)
        out: list[RawMail] = []
        last = after
        counted = 0
        for key, path in self._arrivals(folder):
            again = key <= after
            if again and key[0] < after[0] - RESCAN_NS:
                continue
            try:
                raw = path.read_bytes()
            except FileNotFoundError:  # moved by a client meanwhile; seen again under cur/
                continue
            out.append(RawMail(uid=path.name, raw=raw, folder=folder))
            if again:
                continue
            last = key
            counted += 1
            if counted >= limit:
                break
        return out, (f"{last[0]}:{last[1]}" if last[0] >= 0 else cursor)

    def current_cursor(self, folder: str = "inbox") -> str:
        """A cursor after everything now in ``folder``."""
        arrivals = self._arrivals(folder)
        if not arrivals:
            return ""
        stamp, name = arrivals[-1][0]
        return f"{stamp}:{name}"

    def list_ids(self, folder: str = "inbox") -> tuple[list[MailRef], str]:
        """Every file in ``folder`` by name and Message-ID, in arrival order, and the cursor.

        The cursor is the last file listed: files arriving later, and those the
        rescan window of :meth:`fetch_new` returns again, come from fetch_new.
        """
        refs: list[MailRef] = []
        last = ""
        for (stamp, name), path in self._arrivals(folder):
            try:
                raw = path.read_bytes()  # local: the whole file costs no more than its head
            except FileNotFoundError:  # moved by a client meanwhile; seen again under cur/
                continue
            refs.append(MailRef(uid=name, message_id=message_id_of(raw)))
            last = f"{stamp}:{name}"
        return refs, last

    def fetch_raw(self, uids: list[str], folder: str = "inbox") -> list[RawMail]:
        """The bytes of files by name (from list_ids or fetch_new); vanished ones are left out."""
        if folder not in FOLDERS:
            raise ProviderError(f"There is no mail folder '{folder}'; use inbox, sent or drafts.")
        out: list[RawMail] = []
        for name in uids:
            if "/" in name or name.startswith("."):
                raise ProviderError(f"'{name}' is not a message file name of this mailbox.")
            for sub in ("new", "cur"):
                try:
                    raw = (self.path / folder / sub / name).read_bytes()
                except FileNotFoundError:
                    continue
                out.append(RawMail(uid=name, raw=raw, folder=folder))
                break
        return out

    def move(self, uid: str, to_folder: str, folder: str = "inbox") -> None:
        """Move a message file (``uid`` as in :class:`RawMail`) into another Maildir folder.

        The folder is created when missing (the mail desk files its own traffic into
        ``Secretary``); the message keeps its file name, so moving twice is harmless.
        """
        if "/" in uid or uid.startswith(".") or not uid:
            raise ProviderError(f"'{uid}' is not a message file name of this mailbox.")
        target = to_folder.strip().lower()
        if not target or "/" in target or target.startswith("."):
            raise ProviderError(f"'{to_folder}' is not a folder name.")
        mailbox.Maildir(self.path / target, create=True)
        for sub in ("new", "cur"):
            source = self.path / folder / sub / uid
            try:
                os.replace(source, self.path / target / "cur" / uid)
            except FileNotFoundError:
                continue
            return
        if not any((self.path / target / sub / uid).exists() for sub in ("new", "cur")):
            raise NotFound(f"There is no message '{uid}' in {folder}.")

    def unread(self, folder: str = "inbox", limit: int = 200) -> list[RawMail]:
        """Messages not marked seen (in ``new/``, or in ``cur/`` without the S flag)."""
        out: list[RawMail] = []
        for _key, path in self._arrivals(folder):
            seen = path.parent.name == "cur" and "S" in path.name.rpartition(":2,")[2]
            if seen:
                continue
            try:
                out.append(RawMail(uid=path.name, raw=path.read_bytes(), folder=folder))
            except FileNotFoundError:
                continue
        return out[-limit:]

    def import_eml(self, source: str | Path | bytes) -> str:
        """Store an RFC 5322 message (a file path or its bytes) in the inbox.

        Importing the same message again stores nothing new.

        Returns:
            The message's Message-ID (with angle brackets).
        """
        label = "the given bytes" if isinstance(source, bytes) else str(source)
        try:
            raw = source if isinstance(source, bytes) else Path(source).read_bytes()
            message = parse_rfc822(raw, "inbox", self.principal.tz)
        except OSError as exc:
            raise ProviderError(f"Cannot read {label}: {exc.strerror or exc}.") from None
        except ValueError as exc:
            raise ProviderError(f"Cannot import {label}: {exc}.") from None
        if self._find("inbox", message.message_id) is None:
            self._write("inbox", message.message_id, raw)
        return message.message_id


def _participants(m: Message) -> set[str]:
    return {bare_address(a) for a in [m.sender, *m.to, *m.cc] if a}


def _receipt(m: Message, folder: str) -> SentReceipt:
    bcc = [a for _, a in getaddresses([header_value(m, BCC_HEADER)]) if a]
    recipients: list[str] = []
    for a in [*m.to, *m.cc, *bcc]:
        addr = bare_address(a)
        if addr and addr not in recipients:
            recipients.append(addr)
    return SentReceipt(message_id=m.message_id, folder=folder, recipients=recipients)
