"""The IMAP/SMTP mailbox: searching, reading threads, sending once, drafts, sync and flags.

:class:`ImapSmtpMail` borrows connections from its base,
:class:`~tools.providers.imap_smtp.connections.ImapConnections`, and sends
through :func:`~tools.providers.imap_smtp.smtp.submit`. How sending stays
exactly-once is described in :mod:`tools.providers.imap_smtp`.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imapclient import IMAPClient

from tools.providers.accounts import Account, as_table
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
from tools.providers.imap_smtp.connections import ImapConnections
from tools.providers.imap_smtp.settings import FOLDERS, ImapSmtpSettings
from tools.providers.imap_smtp.smtp import envelope, refusals, submit
from tools.providers.local.mail import normalize_message_id
from tools.providers.mime import (
    bare_address,
    build_mime,
    message_id_for_key,
    parse_addresses,
    parse_rfc822,
)

if TYPE_CHECKING:
    from tools.foundation.principals import Principal

log = logging.getLogger(__name__)

SEEN = b"\\Seen"
HEADER_BATCH = 500
"""UIDs per FETCH when a folder is listed by Message-ID."""
SYNTHETIC_DOMAIN = "local.invalid"
"""parse_rfc822 gives a message without a Message-ID an id in this domain."""
LISTING_BYTES = 256 * 1024
"""How much of each message a listing reads: headers and the first text part fit."""
THREAD_ROUNDS = 6
THREAD_MAX = 200
SEARCH_BATCH = 50
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def open_mail(
    account: Account | Mapping[str, Any], principal: Principal, root: Path
) -> ImapSmtpMail:
    """The IMAP/SMTP mail provider for a principal's account settings (connects on first use).

    Args:
        account: The principal's ``accounts.mail`` table (keys in :mod:`tools.providers.imap_smtp`).
        principal: Whose mailbox it is (From name, time zone).
        root: The principal's data directory.
    """
    return ImapSmtpMail(
        ImapSmtpSettings.from_account(as_table(account), principal), principal, root
    )


class ImapSmtpMail(ImapConnections):
    """A :class:`~tools.providers.base.MailProvider` and ``MailSync`` on IMAP + SMTP."""

    def __init__(
        self,
        settings: ImapSmtpSettings,
        principal: Principal,
        root: Path | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """Keep the settings; nothing connects until the first call.

        Args:
            settings: The checked account settings.
            principal: Whose mailbox this is.
            root: The principal's data directory (unused for now; kept for caches).
            clock: Returns 'now' for Date headers; tests pin it. Default: wall clock.
        """
        super().__init__(settings)
        self.principal = principal
        self.root = root
        self._clock = clock
        self._sender = principal.model_copy(update={"email": settings.address})

    def __repr__(self) -> str:
        imap = self.settings.imap
        return f"ImapSmtpMail({imap.username}@{imap.label})"

    def __enter__(self) -> ImapSmtpMail:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ reading

    def _parse(self, uid: int, item: Mapping[bytes, Any], folder: str) -> Message | None:
        raw = _body(item)
        if raw is None:
            return None
        try:
            message = parse_rfc822(raw, folder, self.principal.tz)
        except Exception as exc:  # one bad message on the server must not break the mailbox
            log.warning(
                "Skipping message UID %s in %s on %s: not a readable e-mail (%s)",
                uid,
                folder,
                self.settings.imap.label,
                exc,
            )
            return None
        arrived = item.get(b"INTERNALDATE")
        if message.date is None and isinstance(arrived, datetime) and arrived.tzinfo:
            message = message.model_copy(update={"date": arrived.astimezone(self.principal.tz)})
        return message

    def _fetch(
        self, client: IMAPClient, uids: list[int], folder: str, full: bool
    ) -> list[tuple[int, Message]]:
        """Parsed messages for ``uids`` of the selected folder, in the order given.

        Listings (``full=False``) read only the first part of each message.
        """
        if not uids:
            return []
        part = "BODY.PEEK[]" if full else f"BODY.PEEK[]<0.{LISTING_BYTES}>"
        data = client.fetch(uids, [part, "INTERNALDATE"])
        out: list[tuple[int, Message]] = []
        for uid in uids:
            item = data.get(uid)
            if item is None:  # expunged meanwhile
                continue
            message = self._parse(uid, item, folder)
            if message is not None:
                out.append((uid, message))
        return out

    def _criteria(self, query: str, sender: str, since: datetime | None) -> list[Any]:
        criteria: list[Any] = []
        for word in query.split():
            criteria += ["TEXT", word]
        if sender.strip():
            criteria += ["FROM", sender.strip()]
        if since is not None:
            # SINCE/SENTSINCE compare whole days in unknown zones: ask early, filter exactly.
            day = since.date() - timedelta(days=2)
            criteria += ["OR", "SINCE", day, "SENTSINCE", day]
        return criteria or ["ALL"]

    def search(
        self,
        query: str = "",
        sender: str = "",
        since: datetime | None = None,
        folder: str = "inbox",
        limit: int = 20,
    ) -> list[MessageSummary]:
        """Newest first; every word of ``query`` must occur in the headers or body (IMAP TEXT)."""
        if since is not None and since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        if limit <= 0:
            return []
        criteria = self._criteria(query, sender, since)
        charset = None if all(str(c).isascii() for c in criteria) else "UTF-8"
        fields = set(MessageSummary.model_fields)

        def op(client: IMAPClient) -> list[MessageSummary]:
            self._select(client, folder)
            if client.has_capability("SORT"):
                uids = list(client.sort(["REVERSE", "DATE"], criteria, charset or "UTF-8"))
            else:
                uids = sorted(client.search(criteria, charset), reverse=True)
            hits: list[Message] = []
            for start in range(0, len(uids), max(limit, 10)):
                chunk = uids[start : start + max(limit, 10)]
                for _, m in self._fetch(client, chunk, folder, full=False):
                    if since is None or (m.date is not None and m.date >= since):
                        hits.append(m)
                if len(hits) >= limit:
                    break
            hits.sort(key=_when, reverse=True)
            return [
                MessageSummary.model_validate(m.model_dump(include=fields)) for m in hits[:limit]
            ]

        return self._imap(op, f"search {folder}")

    def _find_in(
        self, client: IMAPClient, folder: str, message_id: str
    ) -> tuple[int, Message] | None:
        """UID and message with this Message-ID in ``folder`` (left selected), if any."""
        if not self._select_existing(client, folder):
            return None
        uids = client.search(["HEADER", "Message-ID", message_id])
        for uid, m in self._fetch(client, sorted(uids), folder, full=True):
            if m.message_id == message_id:
                return uid, m
        if uids or not message_id.endswith(f"@{SYNTHETIC_DOMAIN}>"):
            return None
        # parse_rfc822 made this id up (from the bytes a listing read) for a message
        # without one: look among those, the way the listing saw them.
        bare = client.search(["NOT", "HEADER", "Message-ID", ""])
        for uid, m in self._fetch(client, sorted(bare), folder, full=False):
            if m.message_id == message_id:
                whole = self._fetch(client, [uid], folder, full=True)
                if whole:
                    update = {"message_id": message_id, "thread_id": message_id}
                    return uid, whole[0][1].model_copy(update=update)
        return None

    def _find(self, message_id: str, raw: bool) -> tuple[Message, bytes]:
        """A message from inbox, sent or drafts (with its bytes when ``raw``); raises NotFound."""
        wanted = normalize_message_id(message_id)
        if not wanted:
            raise NotFound("A message id is empty; search mail to find the right message id.")

        def op(client: IMAPClient) -> tuple[Message, bytes] | None:
            for folder in FOLDERS:
                found = self._find_in(client, folder, wanted)
                if found is None:
                    continue
                uid, message = found
                if not raw:
                    return message, b""
                data = _body(client.fetch([uid], ["BODY.PEEK[]"]).get(uid, {}))
                if data is not None:
                    return message, data
            return None

        found = self._imap(op, "find a message")
        if found is None:
            raise NotFound(
                f"No message with id {wanted} in inbox, sent or drafts. "
                "Search mail to find the right message id."
            )
        return found

    def get_message(self, message_id: str) -> Message:
        """One message from inbox, sent or drafts, by Message-ID with or without angle brackets."""
        return self._find(message_id, raw=False)[0]

    def get_raw(self, message_id: str) -> bytes:
        """The message's bytes as the server holds them (for forwarding with attachments)."""
        return self._find(message_id, raw=True)[1]

    def get_thread(self, message_id: str) -> list[Message]:
        """The conversation across inbox, sent and drafts, oldest first.

        Starting from the message, messages are collected whose Message-ID is
        referenced or whose References / In-Reply-To name a collected one, until
        nothing new turns up.
        """
        target = self.get_message(message_id)

        def op(client: IMAPClient) -> list[Message]:
            found: dict[str, Message] = {target.message_id: target}
            ids = {target.message_id, target.in_reply_to, *target.references} - {""}
            asked: set[str] = set()
            for _ in range(THREAD_ROUNDS):
                new = sorted(ids - asked)
                if not new or len(found) >= THREAD_MAX:
                    break
                asked.update(new)
                for folder in FOLDERS:
                    if not self._select_existing(client, folder):
                        continue
                    uids: set[int] = set()
                    for start in range(0, len(new), SEARCH_BATCH):
                        terms = [
                            ["HEADER", name, mid]
                            for mid in new[start : start + SEARCH_BATCH]
                            for name in ("Message-ID", "References", "In-Reply-To")
                        ]
                        uids.update(client.search(_any_of(terms)))
                    for _, m in self._fetch(client, sorted(uids), folder, full=True):
                        linked = {m.message_id, m.in_reply_to, *m.references} - {""}
                        # Header search matches substrings; keep only real links.
                        if linked & ids and m.message_id not in found:
                            found[m.message_id] = m
                            ids |= linked
            return sorted(found.values(), key=_when)

        return self._imap(op, "read a conversation")

    # ------------------------------------------------------------ writing

    def _now(self) -> datetime:
        now = self._clock() if self._clock is not None else self.principal.now()
        return now.astimezone(self.principal.tz)

    def _build(self, message: OutgoingMessage, message_id: str, bcc_header: bool) -> bytes:
        try:
            mime = build_mime(message, self._sender, message_id=message_id, date=self._now())
            if bcc_header and message.bcc:
                mime["Bcc"] = ", ".join(parse_addresses(message.bcc))
        except ValueError as exc:
            raise ProviderError(f"Cannot build the message: {str(exc).rstrip('.')}.") from None
        # CRLF bytes: exactly what SMTP transmits and what IMAP stores.
        return mime.as_bytes(policy=policy.SMTP)

    def _append_once(
        self, folder: str, message_id: str, data: bytes, flags: Iterable[bytes]
    ) -> None:
        def op(client: IMAPClient) -> None:
            name = self._server_folder(client, folder)
            self._ensure_folder(client, name)
            # After a reconnect the first APPEND may have landed; never store it twice.
            if self._find_in(client, folder, message_id) is None:
                client.append(name, data, flags=tuple(flags), msg_time=self._now())

        self._imap(op, f"store the message in {folder}")

    def send(self, message: OutgoingMessage, idempotency_key: str) -> SentReceipt:
        """Send over SMTP (once per key) and keep the exact bytes in Sent.

        Raises:
            ProviderError: when the SMTP server refuses (nothing was sent), or when
                it refused some recipients (sent to the others; the message says which).
        """
        key = idempotency_key or uuid.uuid4().hex
        message_id = message_id_for_key(key, self.settings.address)
        try:
            recipients = envelope(message)
        except ValueError as exc:
            raise ProviderError(f"Cannot send the message: {exc}") from None
        if not recipients:
            raise ProviderError("A message needs at least one recipient in To, Cc or Bcc.")
        existing = self._imap(lambda c: self._find_in(c, "sent", message_id), "look in Sent")
        if existing is not None:
            log.info("Message %s is already in Sent; not sending it again", message_id)
            return _receipt(existing[1], "sent")
        data = self._build(message, message_id, bcc_header=False)
        refused = self._smtp_send(recipients, data)
        try:
            self._append_once("sent", message_id, data, [SEEN])
        except ProviderError as exc:
            # It went out; failing now would make a retry send it again.
            log.warning("Message %s was sent but not stored in Sent: %s", message_id, exc)
        accepted = [r for r in recipients if r not in refused]
        if refused:
            raise ProviderError(
                f"The message went to {', '.join(accepted)}, but the SMTP server "
                f"{self.settings.smtp.label} refused {refusals(refused)}. Check those "
                "addresses and send them a new message."
            )
        return SentReceipt(message_id=message_id, folder="sent", recipients=accepted)

    def save_draft(self, message: OutgoingMessage, idempotency_key: str) -> SentReceipt:
        """Keep the message in Drafts (once per key), flagged ``\\Draft``."""
        key = idempotency_key or uuid.uuid4().hex
        message_id = message_id_for_key(key, self.settings.address)
        try:
            recipients = envelope(message)
        except ValueError as exc:
            raise ProviderError(f"Cannot save the draft: {exc}") from None
        data = self._build(message, message_id, bcc_header=True)
        self._append_once("drafts", message_id, data, [b"\\Draft", SEEN])
        return SentReceipt(message_id=message_id, folder="drafts", recipients=recipients)

    def check_smtp(self) -> None:
        """Log in to the SMTP server as a send would (EHLO, STARTTLS or TLS, AUTH), send nothing.

        ``secretary connect imap`` calls it, so a dead or refusing SMTP server is
        found before the account is saved rather than at the first reply.

        Raises:
            ProviderError: naming the SMTP server and what to change.
        """
        self._smtp_send([], b"")

    def _smtp_send(self, recipients: list[str], data: bytes) -> dict[str, tuple[int, bytes]]:
        """Submit ``data``; the recipients the server refused (the others got it)."""
        return submit(self.settings, self._tls_context, recipients, data)

    # --------------------------------------------------------------- sync

    def fetch_new(
        self,
        cursor: str = "",
        folder: str = "inbox",
        limit: int = 200,
        *,
        on_reset: OnReset = "restart",
    ) -> tuple[list[RawMail], str]:
        """Messages after ``cursor`` ('' = from the oldest), oldest first, at most ``limit``.

        The cursor is ``UIDVALIDITY:LASTUID``; when the folder's UIDVALIDITY
        changed (the folder was recreated) or the cursor is not one of ours, it
        starts over from the oldest, or raises :class:`SyncReset` with
        ``on_reset="raise"``.
        """

        def op(client: IMAPClient) -> tuple[list[RawMail], str]:
            validity = _uidvalidity(self._select(client, folder))
            last = _cursor_uid(cursor, validity, folder)
            if last is None:
                if on_reset == "raise":
                    raise SyncReset(
                        f"The IMAP folder {folder} on {self.settings.imap.label} was recreated "
                        "or its sync position is unknown; list it again."
                    )
                last = 0
            if limit <= 0:
                return [], f"{validity}:{last}"
            # "n:*" always matches the newest message, even when its UID is below n.
            uids = sorted(u for u in client.search(["UID", f"{last + 1}:*"]) if u > last)[:limit]
            if not uids:
                return [], f"{validity}:{last}"
            data = client.fetch(uids, ["BODY.PEEK[]"])
            out = [
                RawMail(uid=f"{validity}:{uid}", raw=raw, folder=folder)
                for uid in uids
                if (raw := _body(data.get(uid, {})))
            ]
            return out, f"{validity}:{uids[-1]}"

        return self._imap(op, f"fetch new mail from {folder}")

    def current_cursor(self, folder: str = "inbox") -> str:
        """A cursor positioned after everything already in ``folder``."""

        def op(client: IMAPClient) -> str:
            info = self._select(client, folder)
            validity = _uidvalidity(info)
            uidnext = info.get(b"UIDNEXT")
            if isinstance(uidnext, int) and uidnext > 0:
                return f"{validity}:{uidnext - 1}"
            uids = client.search(["ALL"])
            return f"{validity}:{max(uids, default=0)}"

        return self._imap(op, f"read the state of {folder}")

    def list_ids(self, folder: str = "inbox") -> tuple[list[MailRef], str]:
        """Every message in ``folder`` by UID and Message-ID, reading only that header.

        Returns the listing (oldest first) and the cursor after its newest UID.
        """

        def op(client: IMAPClient) -> tuple[list[MailRef], str]:
            info = self._select(client, folder)
            validity = _uidvalidity(info)
            uids = sorted(client.search(["ALL"]))
            refs: list[MailRef] = []
            for start in range(0, len(uids), HEADER_BATCH):
                chunk = uids[start : start + HEADER_BATCH]
                data = client.fetch(chunk, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
                for uid in chunk:
                    if uid not in data:  # expunged meanwhile
                        continue
                    head = _header_part(data[uid])
                    refs.append(MailRef(uid=f"{validity}:{uid}", message_id=message_id_of(head)))
            uidnext = info.get(b"UIDNEXT")
            floor = uidnext - 1 if isinstance(uidnext, int) and uidnext > 0 else 0
            # UIDs only grow: whatever arrives after the SEARCH has a higher one.
            return refs, f"{validity}:{max([floor, *uids])}"

        return self._imap(op, f"list the messages of {folder}")

    def fetch_raw(self, uids: list[str], folder: str = "inbox") -> list[RawMail]:
        """The bytes of messages by ``UIDVALIDITY:UID`` (from list_ids or fetch_new).

        Raises:
            SyncReset: the folder was recreated since those uids were listed.
        """
        numbers: list[int] = []
        for uid in uids:
            validity, _, number = uid.partition(":")
            if not (validity.isdigit() and number.isdigit()):
                raise ProviderError(f"'{uid}' is not a message uid from this provider.")
            numbers.append(int(number))

        def op(client: IMAPClient) -> list[RawMail]:
            validity = _uidvalidity(self._select(client, folder))
            if any(int(uid.partition(":")[0]) != validity for uid in uids):
                raise SyncReset(
                    f"The IMAP folder {folder} on {self.settings.imap.label} was recreated "
                    "while it was being read; list it again."
                )
            data = client.fetch(numbers, ["BODY.PEEK[]"]) if numbers else {}
            return [
                RawMail(uid=f"{validity}:{n}", raw=raw, folder=folder)
                for n in numbers
                if (raw := _body(data.get(n, {})))
            ]

        return self._imap(op, f"fetch mail from {folder}")

    def unread(self, folder: str = "inbox", limit: int = 200) -> list[RawMail]:
        """The newest ``limit`` messages not flagged ``\\Seen``, oldest first (left unseen)."""

        def op(client: IMAPClient) -> list[RawMail]:
            validity = _uidvalidity(self._select(client, folder))
            uids = sorted(client.search(["UNSEEN"]))[-limit:] if limit > 0 else []
            data = client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
            return [
                RawMail(uid=f"{validity}:{uid}", raw=raw, folder=folder)
                for uid in uids
                if (raw := _body(data.get(uid, {})))
            ]

        return self._imap(op, f"list unread mail in {folder}")

    def idle(self, timeout: float, folder: str = "inbox") -> bool:
        """Wait up to ``timeout`` seconds for new mail in ``folder`` (IMAP IDLE).

        Returns:
            True when a message arrived; False after the timeout, and at once
            when the server cannot IDLE (the caller then polls with ``fetch_new``).
        """

        def op(client: IMAPClient) -> bool:
            if not client.has_capability("IDLE"):
                return False
            exists = int(self._select(client, folder).get(b"EXISTS", 0))
            deadline = time.monotonic() + max(0.0, timeout)
            client.idle()
            try:
                while (left := deadline - time.monotonic()) > 0:
                    for response in client.idle_check(timeout=left):
                        if len(response) < 2 or not isinstance(response[0], int):
                            continue
                        if response[1] == b"EXISTS" and response[0] > exists:
                            return True
                        if response[1] == b"EXPUNGE":
                            exists -= 1
                return False
            finally:
                client.idle_done()

        return self._imap(op, f"wait for mail in {folder}")

    # ------------------------------------------------------------- flags

    def _locate(self, client: IMAPClient, uid: str, folder: str) -> int:
        """Select ``folder`` for writing and check that ``uid`` (from fetch_new) belongs to it."""
        validity, _, number = uid.partition(":")
        if not (validity.isdigit() and number.isdigit()):
            raise ProviderError(f"'{uid}' is not a message uid from fetch_new (UIDVALIDITY:UID).")
        if int(validity) != _uidvalidity(self._select(client, folder, readonly=False)):
            raise NotFound(
                f"The folder {folder} was recreated since message {uid} was fetched; "
                "fetch new mail again."
            )
        return int(number)

    def set_flags(self, uid: str, flags: Iterable[str], folder: str = "inbox") -> None:
        """Replace the flags of a message (``uid`` as in :class:`RawMail`), e.g. ``["\\Seen"]``."""
        wanted = [f.encode("ascii") for f in flags]
        self._imap(
            lambda c: c.set_flags([self._locate(c, uid, folder)], wanted), f"set flags in {folder}"
        )

    def mark_seen(self, uid: str, folder: str = "inbox") -> None:
        """Flag a message as read."""
        self._imap(
            lambda c: c.add_flags([self._locate(c, uid, folder)], [SEEN]),
            f"mark mail read in {folder}",
        )

    def move(self, uid: str, to_folder: str, folder: str = "inbox") -> None:
        """Move a message to another folder (created when missing)."""

        def op(client: IMAPClient) -> None:
            number = self._locate(client, uid, folder)
            target = self._server_folder(client, to_folder)
            self._ensure_folder(client, target)
            if client.has_capability("MOVE"):
                client.move([number], target)
                return
            client.copy([number], target)
            client.delete_messages([number])
            if client.has_capability("UIDPLUS"):
                client.uid_expunge([number])
            else:
                client.expunge()

        self._imap(op, f"move mail from {folder} to {to_folder}")


def _body(item: Mapping[bytes, Any]) -> bytes | None:
    """The message bytes of a FETCH answer (full or the partial listing fetch)."""
    for key, value in item.items():
        if isinstance(key, bytes) and key.startswith(b"BODY[]") and isinstance(value, bytes):
            return value
    return None


def _when(m: Message) -> datetime:
    return m.date or _EPOCH


def _any_of(terms: list[list[str]]) -> list[Any]:
    """IMAP OR over search keys, as a balanced tree (deep chains overflow some parsers)."""
    if len(terms) == 1:
        return terms[0]
    mid = len(terms) // 2
    return ["OR", _any_of(terms[:mid]), _any_of(terms[mid:])]


def _receipt(m: Message, folder: str) -> SentReceipt:
    recipients: list[str] = []
    for a in [*m.to, *m.cc]:
        addr = bare_address(a)
        if addr and addr not in recipients:
            recipients.append(addr)
    return SentReceipt(message_id=m.message_id, folder=folder, recipients=recipients)


def _uidvalidity(info: Mapping[bytes, Any]) -> int:
    value = info.get(b"UIDVALIDITY")
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ProviderError(
            "The IMAP server did not report the folder's UIDVALIDITY; it cannot be synced."
        ) from None


def _cursor_uid(cursor: str, validity: int, folder: str) -> int | None:
    """The last UID a cursor covers: 0 for '', None when it cannot be continued."""
    if not cursor:
        return 0
    old, _, last = cursor.partition(":")
    if not (old.isdigit() and last.isdigit()):
        log.warning("Sync cursor %r for %s is not an IMAP cursor; starting over", cursor, folder)
        return None
    if int(old) != validity:
        log.info("UIDVALIDITY of %s changed (%s -> %s); starting over", folder, old, validity)
        return None
    return int(last)


def _header_part(item: Mapping[bytes, Any]) -> bytes:
    """The header bytes of a ``BODY.PEEK[HEADER.FIELDS (...)]`` FETCH answer."""
    for key, value in item.items():
        if isinstance(key, bytes) and key.startswith(b"BODY[HEADER") and isinstance(value, bytes):
            return value
    return b""
