"""Microsoft 365 mail through Microsoft Graph: a MailProvider and MailSync on a real mailbox.

Messages go out as MIME (``POST /sendMail`` with the base64 message as
``text/plain``), built by the same :func:`~tools.providers.mime.build_mime` as
every provider, so Message-ID, In-Reply-To and References are exactly ours;
messages are read back as MIME (``/messages/{id}/$value``) and parsed by
:func:`~tools.providers.mime.parse_rfc822`.

Decisions worth knowing:

* Exactly once: a send gets the Message-ID derived from its idempotency key;
  before sending, Sent Items is searched for that ``internetMessageId`` and a
  copy found there is reported instead of sending again. Graph files the sent
  copy a moment after accepting the message, so a retry within seconds of a
  crash could still send twice; the ledger's retry comes much later.
* Invitations (iMIP, :class:`~tools.providers.base.CalendarPart`) go out as the
  same MIME as everywhere: Graph's JSON message can carry a ``.ics`` only as a
  file attachment, with no inline ``text/calendar; method=...`` alternative,
  which is the part Outlook and Gmail turn into Accept/Decline.
* Bcc recipients travel in the MIME ``Bcc`` header, which Exchange uses to
  route and strips from what recipients get; the sent copy keeps it.
* ``thread_id`` is Graph's ``conversationId``, the conversation
  :meth:`GraphMail.get_thread` returns.
* Ids are requested as immutable ids, so a message's uid stays the same when
  it is moved between folders.
* The sync cursor is a Graph delta (or next-page) link. An expired one (410)
  or one from elsewhere starts the folder over (consumers deduplicate), or with
  ``on_reset="raise"`` raises ``SyncReset``; ``list_ids`` then reads a fresh
  delta round for ids and ``internetMessageId`` only, no bodies.
* One ``httpx.Client`` serves every thread: httpx documents it as shareable,
  and msal's token cache is read and written under the sign-in's lock.
"""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from tools.providers.accounts import MicrosoftAccount
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
    message_id_in,
)
from tools.providers.local.mail import normalize_message_id
from tools.providers.microsoft.auth import MicrosoftAuth
from tools.providers.microsoft.graph import (
    GRAPH_URL,
    GraphClient,
    GraphError,
    GraphNotFound,
    odata_quote,
)
from tools.providers.mime import (
    bare_address,
    build_mime,
    format_address,
    is_valid_address,
    message_id_for_key,
    parse_addresses,
    parse_rfc822,
    snippet,
)

if TYPE_CHECKING:
    from tools.foundation.principals import Principal

log = logging.getLogger(__name__)

FOLDERS = {"inbox": "inbox", "sent": "sentitems", "drafts": "drafts"}
"""The project's folder names and Graph's well-known names for them."""
IMMUTABLE_IDS = 'IdType="ImmutableId"'
SUMMARY_FIELDS = (
    "id,internetMessageId,subject,from,toRecipients,ccRecipients,receivedDateTime,"
    "sentDateTime,bodyPreview,conversationId,parentFolderId"
)
LOCATE_FIELDS = (
    "id,internetMessageId,parentFolderId,conversationId,receivedDateTime,"
    "toRecipients,ccRecipients,bccRecipients"
)
PAGE = 50
THREAD_LIMIT = 100
DELTA_PAGE = 100
# "since the beginning": a lower bound on receivedDateTime lets Graph sort by it.
_EPOCH = datetime(1900, 1, 1, tzinfo=UTC)
# Characters with a meaning in Graph's search syntax (KQL) or its quoting.
_KQL_SPECIAL = str.maketrans({c: " " for c in '"\\()*'})


def open_mail(
    account: MicrosoftAccount | Mapping[str, Any],
    principal: Principal,
    root: Path,
    *,
    auth: MicrosoftAuth | None = None,
    client: GraphClient | None = None,
    clock: Callable[[], datetime] | None = None,
) -> GraphMail:
    """The principal's Microsoft 365 mailbox from their ``accounts`` settings.

    Args:
        account: The mail account settings (see :mod:`tools.providers.microsoft.auth`),
            plus ``graph_url`` (default ``https://graph.microsoft.com/v1.0``).
        principal: Whose mailbox it is (From address, time zone).
        root: The principal's data directory (token cache).
        auth: A ready sign-in (default: built from ``account``).
        client: A ready Graph client (default: built from ``account`` and ``auth``).
        clock: Returns 'now' for Date headers; tests pin it.
    """
    account = MicrosoftAccount.of(account)
    auth = auth or MicrosoftAuth(account, principal.id, root)
    if client is None:
        client = GraphClient(
            auth,
            base_url=account.graph_url or GRAPH_URL,
            verify=auth.verify,
        )
    return GraphMail(principal, client, auth.mailbox_path, clock=clock, auth=auth)


class GraphMail:
    """A :class:`~tools.providers.base.MailProvider` and ``MailSync`` on a Graph mailbox."""

    def __init__(
        self,
        principal: Principal,
        client: GraphClient,
        mailbox: str = "/me",
        *,
        clock: Callable[[], datetime] | None = None,
        auth: MicrosoftAuth | None = None,
    ) -> None:
        """Use ``client`` for the mailbox at ``mailbox`` (``/me`` or ``/users/{upn}``).

        ``auth``, when given, is closed with the provider.
        """
        self.principal = principal
        self._auth = auth
        self.client = client
        self.mailbox = "/" + mailbox.strip("/")
        self._clock = clock
        self._folder_ids: dict[str, str] | None = None

    def __repr__(self) -> str:
        return f"GraphMail({self.principal.id!r}, {self.mailbox!r})"

    def close(self) -> None:
        """Close the connections to Graph and to the sign-in service."""
        self.client.close()
        if self._auth is not None:
            self._auth.close()

    # ------------------------------------------------------------ helpers

    def _path(self, tail: str) -> str:
        return f"{self.mailbox}/{tail.lstrip('/')}"

    def _get(self, path: str, params: Mapping[str, str | int] | None = None) -> dict[str, Any]:
        return self.client.get_json(path, params, headers={"Prefer": IMMUTABLE_IDS})

    def _items(
        self, path: str, params: Mapping[str, str | int], limit: int
    ) -> list[dict[str, Any]]:
        return list(self.client.items(path, params, limit, headers={"Prefer": IMMUTABLE_IDS}))

    def _mime(self, item: Mapping[str, Any]) -> bytes:
        return self.client.get_bytes(
            self._path(f"messages/{quote(str(item['id']), safe='')}/$value")
        )

    def _folder_name(self, item: Mapping[str, Any]) -> str:
        """The project's folder name for a message's parent folder ('other' for the rest)."""
        if self._folder_ids is None:
            ids: dict[str, str] = {}
            for name, well_known in FOLDERS.items():
                try:
                    folder = self._get(self._path(f"mailFolders/{well_known}"), {"$select": "id"})
                except NotFound:
                    continue
                if folder.get("id"):
                    ids[str(folder["id"])] = name
            self._folder_ids = ids
        return self._folder_ids.get(str(item.get("parentFolderId") or ""), "other")

    def _summary(self, item: Mapping[str, Any], folder: str) -> MessageSummary | None:
        message_id = normalize_message_id(str(item.get("internetMessageId") or ""))
        if not message_id:  # cannot be read back by id, so it is not worth listing
            return None
        return MessageSummary(
            message_id=message_id,
            folder=folder,
            sender=_address(item.get("from")),
            to=_addresses(item.get("toRecipients")),
            subject=str(item.get("subject") or ""),
            date=self._when(item),
            snippet=snippet(str(item.get("bodyPreview") or "")),
            thread_id=str(item.get("conversationId") or ""),
        )

    def _when(self, item: Mapping[str, Any]) -> datetime | None:
        for key in ("receivedDateTime", "sentDateTime"):
            value = item.get(key)
            if isinstance(value, str) and value:
                try:
                    when = datetime.fromisoformat(value)
                except ValueError:
                    continue
                if when.tzinfo is None:  # Graph's times are UTC
                    when = when.replace(tzinfo=UTC)
                return when.astimezone(self.principal.tz)
        return None

    def _full(self, item: Mapping[str, Any]) -> Message:
        folder = self._folder_name(item)
        raw = self._mime(item)
        try:
            message = parse_rfc822(raw, folder, self.principal.tz)
        except ValueError as exc:
            raise ProviderError(
                f"Microsoft 365 returned message {item.get('internetMessageId') or item['id']} "
                f"in a form that is not e-mail ({exc})."
            ) from None
        update: dict[str, Any] = {"thread_id": str(item.get("conversationId") or "")}
        if message.date is None:
            update["date"] = self._when(item)
        return message.model_copy(update=update)

    def _locate(self, message_id: str, folder: str | None = None) -> dict[str, Any] | None:
        """The Graph message with this Message-ID, preferring inbox, sent, drafts."""
        wanted = normalize_message_id(message_id)
        if not wanted:
            return None
        path = self._path(
            "messages" if folder is None else f"mailFolders/{FOLDERS[folder]}/messages"
        )
        params: dict[str, str | int] = {
            "$filter": f"internetMessageId eq {odata_quote(wanted)}",
            "$select": LOCATE_FIELDS,
            "$top": 10,
        }
        found = self._items(path, params, limit=10)
        if not found:
            return None
        if folder is None and len(found) > 1:
            order = list(FOLDERS)
            found.sort(key=lambda i: _rank(order, self._folder_name(i)))
        return found[0]

    def _now(self) -> datetime:
        now = self._clock() if self._clock is not None else self.principal.now()
        return now.astimezone(self.principal.tz)

    # ------------------------------------------------------------ reading

    def search(
        self,
        query: str = "",
        sender: str = "",
        since: datetime | None = None,
        folder: str = "inbox",
        limit: int = 20,
    ) -> list[MessageSummary]:
        """Newest first; every word of ``query`` must occur in subject, addresses or body.

        Words (and a partial sender) go to Graph's ``$search``; a full sender address
        and ``since`` alone use ``$filter``. Results are checked again here, because
        search matches words loosely.
        """
        if since is not None and since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        if limit <= 0:
            return []
        path = self._path(f"mailFolders/{_graph_folder(folder)}/messages")
        words = query.translate(_KQL_SPECIAL).casefold().split()
        who = sender.strip()
        params: dict[str, str | int] = {"$select": SUMMARY_FIELDS, "$top": min(limit, PAGE)}
        if words or (who and not is_valid_address(who)):
            terms = list(words)
            if who:
                terms.append("from:" + "".join(who.translate(_KQL_SPECIAL).split()))
            if since is not None:
                # Search compares whole days; a day early, then the exact check below.
                day = (since.astimezone(UTC) - timedelta(days=1)).date()
                terms.append(f"received>={day.isoformat()}")
            params["$search"] = '"' + " AND ".join(terms) + '"'
            scan = max(4 * limit, 100)
        else:
            clauses = [f"receivedDateTime ge {_utc(since or _EPOCH)}"]
            if who:
                clauses.append(f"from/emailAddress/address eq {odata_quote(who.lower())}")
            params["$filter"] = " and ".join(clauses)
            params["$orderby"] = "receivedDateTime desc"
            scan = limit
        wanted = who.casefold()
        hits: list[MessageSummary] = []
        for item in self.client.items(path, params, scan, headers={"Prefer": IMMUTABLE_IDS}):
            summary = self._summary(item, folder)
            if summary is None:
                continue
            if since is not None and (summary.date is None or summary.date < since):
                continue
            if wanted and wanted not in summary.sender.casefold():
                continue
            hits.append(summary)
            if len(hits) >= limit:
                break
        far_past = datetime.min.replace(tzinfo=UTC)
        hits.sort(key=lambda s: s.date or far_past, reverse=True)
        return hits

    def get_message(self, message_id: str) -> Message:
        """One message from any folder, by Message-ID with or without angle brackets."""
        item = self._locate(message_id)
        if item is None:
            raise NotFound(
                f"No message with id {normalize_message_id(message_id) or repr(message_id)} "
                "in the Microsoft 365 mailbox. Search mail to find the right message id."
            )
        return self._full(item)

    def get_thread(self, message_id: str) -> list[Message]:
        """The Graph conversation of a message across folders, oldest first."""
        target = self._locate(message_id)
        if target is None:
            raise NotFound(
                f"No message with id {normalize_message_id(message_id) or repr(message_id)} "
                "in the Microsoft 365 mailbox. Search mail to find the right message id."
            )
        conversation = str(target.get("conversationId") or "")
        if not conversation:
            return [self._full(target)]
        params: dict[str, str | int] = {
            "$filter": f"conversationId eq {odata_quote(conversation)}",
            "$select": LOCATE_FIELDS,
            "$top": PAGE,
        }
        items = self._items(self._path("messages"), params, THREAD_LIMIT)
        order = list(FOLDERS)
        # A message sent to oneself is in inbox and sent; show it once, from the inbox.
        items.sort(key=lambda i: _rank(order, self._folder_name(i)))
        thread: dict[str, tuple[datetime, Message]] = {}
        for item in items:
            try:
                message = self._full(item)
            except GraphNotFound:  # deleted while we were reading
                continue
            if message.message_id not in thread:
                # The server's arrival time orders a conversation; a Date header may lie.
                when = self._when(item) or message.date or datetime.min.replace(tzinfo=UTC)
                thread[message.message_id] = (when, message)
        return [m for _, m in sorted(thread.values(), key=lambda pair: pair[0])]

    # ------------------------------------------------------------ writing

    def _deliver(self, message: OutgoingMessage, key: str, folder: str) -> SentReceipt:
        # Without a key a retry cannot be recognised; the ledger always supplies one.
        key = key or uuid.uuid4().hex
        message_id = message_id_for_key(key, self.principal.email)
        existing = self._locate(message_id, folder)
        if existing is not None:
            log.info("Message %s is already in %s; not sending it again", message_id, folder)
            return SentReceipt(
                message_id=message_id, folder=folder, recipients=_receipt_recipients(existing)
            )
        if folder == "sent" and not (message.to or message.cc or message.bcc):
            raise ProviderError("A message needs at least one recipient in To, Cc or Bcc.")
        try:
            mime = build_mime(message, self.principal, message_id=message_id, date=self._now())
            bcc = parse_addresses(message.bcc) if message.bcc else []
            recipients = [bare_address(a) for a in parse_addresses([*message.to, *message.cc])]
        except ValueError as exc:
            raise ProviderError(f"Cannot build the message: {exc}.") from None
        if bcc:
            # Exchange routes to Bcc from the MIME header and removes it from delivered copies.
            mime["Bcc"] = ", ".join(bcc)
        payload = _base64_mime(mime)
        headers = {"Content-Type": "text/plain", "Prefer": IMMUTABLE_IDS}
        target = "sendMail" if folder == "sent" else "messages"
        self.client.request("POST", self._path(target), content=payload, headers=headers)
        for addr in bcc:
            if bare_address(addr) not in recipients:
                recipients.append(bare_address(addr))
        return SentReceipt(message_id=message_id, folder=folder, recipients=recipients)

    def send(self, message: OutgoingMessage, idempotency_key: str) -> SentReceipt:
        """Send through Microsoft 365 (once per key); Exchange keeps the copy in Sent Items."""
        return self._deliver(message, idempotency_key, "sent")

    def save_draft(self, message: OutgoingMessage, idempotency_key: str) -> SentReceipt:
        """Keep the message in Drafts (once per key)."""
        return self._deliver(message, idempotency_key, "drafts")

    # --------------------------------------------------------------- sync

    def _delta_start(self, folder: str) -> str:
        url = httpx.URL(
            self.client.url(self._path(f"mailFolders/{_graph_folder(folder)}/messages/delta")),
            params={"changeType": "created", "$select": "id,internetMessageId,receivedDateTime"},
        )
        return str(url)

    def _delta_page(self, url: str, size: int) -> dict[str, Any]:
        prefer = f"{IMMUTABLE_IDS}, odata.maxpagesize={size}"
        return self.client.get_json(url, headers={"Prefer": prefer})

    def fetch_new(
        self,
        cursor: str = "",
        folder: str = "inbox",
        limit: int = 200,
        *,
        on_reset: OnReset = "restart",
    ) -> tuple[list[RawMail], str]:
        """Messages new since ``cursor`` ('' = the whole folder), oldest first, at most ``limit``.

        The cursor is the link of the next page to read (the delta link once a round
        is complete). A page that would not fit in ``limit`` is left for the next call.

        Raises:
            SyncReset: with ``on_reset="raise"``, when the link expired (410) or is
                not a link to this Graph endpoint.
        """
        if limit <= 0:
            return [], cursor
        start = self._delta_start(folder)
        url = cursor
        if cursor and not cursor.startswith(self.client.base_url + "/"):
            if on_reset == "raise":
                raise SyncReset("The mail sync cursor is not a Microsoft Graph link; list again.")
            log.warning("The mail sync cursor is not a Microsoft Graph link; starting over")
            url = ""
        try:
            return self._fetch(url or start, folder, limit)
        except GraphError as exc:
            if exc.status != 410 or not url:
                raise
            if on_reset == "raise":
                raise SyncReset(
                    f"The Microsoft 365 sync state of {folder} expired; list it again."
                ) from None
            # The sync state expired on Graph's side: start over; consumers deduplicate.
            log.info("The Microsoft 365 sync state of %s expired; starting over", folder)
            return self._fetch(start, folder, limit)

    def _fetch(self, url: str, folder: str, limit: int) -> tuple[list[RawMail], str]:
        taken: dict[str, dict[str, Any]] = {}
        while True:
            page = self._delta_page(url, min(limit, DELTA_PAGE))
            fresh = [
                i
                for i in page.get("value") or []
                if isinstance(i, dict) and i.get("id") and "@removed" not in i
            ]
            if taken and len(taken) + len(fresh) > limit:
                cursor = url  # this page does not fit: read it again next time
                break
            for item in fresh:
                taken.setdefault(str(item["id"]), item)
            delta = page.get("@odata.deltaLink")
            following = page.get("@odata.nextLink")
            if isinstance(delta, str) and delta:
                cursor = delta
                break
            if not (isinstance(following, str) and following):
                raise ProviderError(
                    "Microsoft Graph ended a mail sync page without a link to continue; "
                    "try again later."
                )
            url = following
            if len(taken) >= limit:
                cursor = url
                break
        far_past = datetime.min.replace(tzinfo=UTC)
        ordered = sorted(taken.values(), key=lambda i: self._when(i) or far_past)
        out: list[RawMail] = []
        for item in ordered:
            try:
                raw = self._mime(item)
            except GraphNotFound:  # deleted since it was listed
                continue
            out.append(RawMail(uid=str(item["id"]), raw=raw, folder=folder))
        return out, cursor

    def current_cursor(self, folder: str = "inbox") -> str:
        """The delta link after everything already in ``folder`` (bodies are not fetched)."""
        return self.list_ids(folder)[1]

    def list_ids(self, folder: str = "inbox") -> tuple[list[MailRef], str]:
        """Every message in ``folder`` by Graph id and Message-ID, oldest first, and the delta link.

        One delta round reads ids, ``internetMessageId`` and arrival times only.
        """
        url = self._delta_start(folder)
        items: dict[str, dict[str, Any]] = {}
        while True:
            page = self._delta_page(url, DELTA_PAGE)
            for item in page.get("value") or []:
                if isinstance(item, dict) and item.get("id") and "@removed" not in item:
                    items.setdefault(str(item["id"]), item)
            delta = page.get("@odata.deltaLink")
            if isinstance(delta, str) and delta:
                far_past = datetime.min.replace(tzinfo=UTC)
                ordered = sorted(items.values(), key=lambda i: self._when(i) or far_past)
                refs = [
                    MailRef(
                        uid=str(i["id"]),
                        message_id=message_id_in(str(i.get("internetMessageId") or "")),
                    )
                    for i in ordered
                ]
                return refs, delta
            following = page.get("@odata.nextLink")
            if not (isinstance(following, str) and following):
                raise ProviderError(
                    "Microsoft Graph ended a mail sync page without a link to continue; "
                    "try again later."
                )
            url = following

    def fetch_raw(self, uids: list[str], folder: str = "inbox") -> list[RawMail]:
        """The MIME bytes of messages by Graph id (those deleted meanwhile are left out)."""
        out: list[RawMail] = []
        for uid in uids:
            try:
                out.append(RawMail(uid=uid, raw=self._mime({"id": uid}), folder=folder))
            except GraphNotFound:
                continue
        return out


def _graph_folder(folder: str) -> str:
    try:
        return FOLDERS[folder]
    except KeyError:
        raise ProviderError(
            f"There is no mail folder '{folder}'; use inbox, sent or drafts."
        ) from None


def _rank(order: list[str], name: str) -> int:
    return order.index(name) if name in order else len(order)


def _utc(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _address(value: Any) -> str:
    """``Name <addr>`` from Graph's ``{"emailAddress": {"name", "address"}}``."""
    email = value.get("emailAddress") if isinstance(value, dict) else None
    if not isinstance(email, dict):
        return ""
    addr = str(email.get("address") or "").strip()
    name = str(email.get("name") or "").strip()
    return format_address(name, addr) if addr else name


def _addresses(values: Any) -> list[str]:
    if not isinstance(values, list):
        return []
    return [a for a in (_address(v) for v in values) if a]


def _receipt_recipients(item: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for key in ("toRecipients", "ccRecipients", "bccRecipients"):
        for addr in _addresses(item.get(key)):
            bare = bare_address(addr)
            if bare and bare not in out:
                out.append(bare)
    return out


def _base64_mime(mime: EmailMessage) -> bytes:
    """The message with CRLF line ends (as RFC 5322 wants), base64-encoded for Graph."""
    data = mime.as_bytes(policy=mime.policy.clone(linesep="\r\n"))
    return base64.b64encode(data)
