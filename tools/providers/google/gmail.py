"""Gmail: a principal's mailbox through the Gmail API (google-api-python-client).

Implements :class:`~tools.providers.base.MailProvider` and
:class:`~tools.providers.base.MailSync`. The client is built from the static
discovery document that ships with the library, so building it needs no network.

Decisions worth knowing:

* Tools see RFC Message-IDs (``<abc@host>``); Gmail's own ids stay inside. A
  message is found with the ``rfc822msgid:`` search, spam and trash included.
  ``thread_id`` in results is Gmail's thread id (Gmail's own conversation).
* Exactly once: a send or draft gets the Message-ID derived from its
  idempotency key. Before writing, the provider searches for that Message-ID
  and returns the existing copy (with the SENT or DRAFT label) as the receipt.
  After a server error or a dropped connection the check runs again before the
  retry, because Gmail may have sent the message before failing. (Gmail's search
  index can lag a send by a few seconds; a retry inside that window is not caught.)
* Bcc: the Gmail API has no separate envelope; blind recipients travel in a
  ``Bcc`` header of the raw message, Gmail delivers to them and strips the
  header from the copies other recipients get (the principal's sent copy keeps it).
* A reply carries the Gmail thread id of the message it answers, so Gmail files
  it in the same conversation (Gmail also wants the ``Re:`` subject it gets).
* Sync cursors are Gmail history ids. A first sync (cursor ``''``) lists the
  folder oldest first; while that listing spans several calls the cursor is
  ``<history id>:<last Gmail id returned>``, and the history id taken before
  the listing then catches whatever arrived meanwhile. An expired history id
  (HTTP 404) starts a full listing again (consumers deduplicate), or with
  ``on_reset="raise"`` raises ``SyncReset``; ``list_ids`` then lists the folder
  by Message-ID alone (one ``format=metadata`` request per message, no bodies).
* One provider serves several threads: each sends on its own ``httplib2.Http``
  (``ThreadHttp``), since httplib2 is not thread-safe.
* Rate limits (429, 403 rate-limit reasons) and server errors are retried a few
  times with exponential backoff, honouring ``Retry-After``; then they become a
  :class:`~tools.providers.base.ProviderError`. 401/403 ask to connect again.
"""

from __future__ import annotations

import base64
import html
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from email.utils import getaddresses
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from tools.providers.accounts import GoogleAccount
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
from tools.providers.google.auth import connect_command, load_credentials
from tools.providers.google.calls import GoogleCalls, ThreadHttp, reasons
from tools.providers.local.mail import normalize_message_id
from tools.providers.mime import (
    bare_address,
    build_mime,
    message_id_for_key,
    parse_addresses,
    parse_rfc822,
)

if TYPE_CHECKING:
    from google.oauth2.credentials import Credentials

    from tools.foundation.principals import Principal

log = logging.getLogger(__name__)

T = TypeVar("T")

SCOPES = ["https://www.googleapis.com/auth/gmail.modify"]
"""Read, send, draft and label mail; never delete it permanently."""

LABELS = {"inbox": "INBOX", "sent": "SENT", "drafts": "DRAFT"}
SUMMARY_HEADERS = ["From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To", "References"]
RETRIES = 4
PAGE = 500


def _b64decode(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def _folder_of(labels: Iterable[str]) -> str:
    names = set(labels)
    for label, folder in (("DRAFT", "drafts"), ("INBOX", "inbox"), ("SENT", "sent")):
        if label in names:
            return folder
    if "TRASH" in names:
        return "trash"
    return "spam" if "SPAM" in names else "archive"


def _quoted(text: str) -> str:
    """A value for a Gmail search operator (quotes inside would end the phrase)."""
    text = " ".join(text.replace('"', " ").split())
    return f'"{text}"' if " " in text else text


def _recipients(values: Iterable[str]) -> list[str]:
    out: list[str] = []
    for _, addr in getaddresses(list(values)):
        addr = bare_address(addr)
        if addr and addr not in out:
            out.append(addr)
    return out


def _headers(meta: Mapping[str, Any]) -> dict[str, str]:
    """The metadata headers of a message, by lowercase name (first wins)."""
    out: dict[str, str] = {}
    for h in meta.get("payload", {}).get("headers", []):
        out.setdefault(str(h.get("name", "")).lower(), str(h.get("value", "")))
    return out


class GmailMail(GoogleCalls):
    """A :class:`~tools.providers.base.MailProvider` and ``MailSync`` on a Gmail account."""

    label = "Gmail"
    access = "Gmail"

    def __init__(
        self,
        principal: Principal,
        *,
        service: Any = None,
        http: Any = None,
        credentials: Credentials | None = None,
        address: str = "",
        api_endpoint: str | None = None,
        token_file: Path | None = None,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        retries: int = RETRIES,
    ) -> None:
        """Wrap a Gmail API client.

        Args:
            principal: Whose mailbox this is (name, time zone, id for hints).
            service: A ready ``gmail`` v1 client (tests); else one is built.
            http: An ``httplib2.Http``-like transport to build the client on (tests).
            credentials: Google credentials to build the client with.
            address: The account's address (default: the principal's e-mail).
            api_endpoint: Another API base URL (a stand-in server).
            token_file: Where renewed tokens are saved again (0600).
            clock: Returns 'now' for Date headers; tests pin it.
            sleep: Waits between retries; tests record instead of sleeping.
            retries: How many times a rate-limited or failed request is retried.
        """
        self.principal = principal
        self.address = address or principal.email
        self._sender = (
            principal
            if bare_address(self.address) == bare_address(principal.email)
            else principal.model_copy(update={"email": self.address})
        )
        self._connect = connect_command("gmail", principal.id)
        per_thread = None
        if service is None:
            options = {"api_endpoint": api_endpoint} if api_endpoint else None
            common: dict[str, Any] = {
                "static_discovery": True,
                "cache_discovery": False,
                "client_options": options,
            }
            if http is not None:
                service = build("gmail", "v1", http=http, **common)
            elif credentials is not None:
                service = build("gmail", "v1", credentials=credentials, **common)
                per_thread = credentials
            else:
                raise ValueError("GmailMail needs a service, an http transport or credentials")
        self._service = service
        self._users = service.users()
        self._keep_credentials(credentials, token_file)
        # httplib2 is not thread-safe: each thread sends on its own Http (see calls.py).
        self._transport = ThreadHttp(per_thread)
        self._clock = clock
        self._sleep = sleep
        self._retries = max(0, retries)
        self._listing: tuple[str, str, list[str]] | None = None

    def close(self) -> None:
        """Close the client's HTTP connections."""
        self._transport.close()
        close = getattr(self._service, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> GmailMail:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --------------------------------------------------------- requests

    def _run(self, make: Callable[[], Any], what: str) -> dict[str, Any]:
        """Execute the request ``make()`` builds, retrying rate limits and server errors."""
        return self._retrying(lambda: self._transport.execute(make()), what)

    def _translate(self, exc: HttpError, what: str) -> ProviderError:
        status = exc.resp.status if exc.resp is not None else 0
        if status == 401:
            return ProviderError(
                f"Gmail did not accept the stored access while trying to {what}; "
                f"run `{self._connect}` to connect the account again."
            )
        if status == 429 or (status == 403 and reasons(exc) & self.rate_reasons):
            return ProviderError(
                "Gmail is limiting how many requests Secretary may make; "
                "wait a minute and try again."
            )
        if status == 403:
            return ProviderError(
                f"Gmail did not allow Secretary to {what} (access was not granted or was "
                f"narrowed); run `{self._connect}` to connect the account again."
            )
        if status == 404:
            return NotFound(f"Gmail could not find what was needed to {what}.")
        if status >= 500:
            return ProviderError(
                f"Gmail had a server error (HTTP {status}) while trying to {what}; "
                "try again in a few minutes."
            )
        # Gmail's own message (e.g. "Invalid To header") helps; it never carries a secret.
        reason = " ".join(str(exc.reason or "").split())[:200] or f"HTTP {status}"
        return ProviderError(f"Gmail refused to {what}: {reason}.")

    # --------------------------------------------------------- lookups

    def _label(self, folder: str) -> str:
        try:
            return LABELS[folder]
        except KeyError:
            raise ProviderError(
                f"There is no mail folder '{folder}'; use inbox, sent or drafts."
            ) from None

    def _hits(self, message_id: str) -> list[dict[str, Any]]:
        """Gmail's ``{id, threadId}`` of each copy of a Message-ID, spam and trash included."""
        bare = normalize_message_id(message_id).strip("<>")
        if not bare:
            return []
        resp = self._run(
            lambda: self._users.messages().list(
                userId="me", q=f"rfc822msgid:{bare}", includeSpamTrash=True, maxResults=10
            ),
            "look up a message",
        )
        return list(resp.get("messages", []))

    def _first_hit(self, message_id: str) -> dict[str, Any]:
        hits = self._hits(message_id)
        if not hits:
            raise NotFound(
                f"No message with id {normalize_message_id(message_id) or repr(message_id)} "
                "in Gmail. Search mail to find the right message id."
            )
        return hits[0]

    def _get(self, gmail_id: str, fmt: str, headers: list[str] | None = None) -> dict[str, Any]:
        extra = {"metadataHeaders": headers} if headers else {}
        return self._run(
            lambda: self._users.messages().get(userId="me", id=gmail_id, format=fmt, **extra),
            "read a message",
        )

    def _parse(self, meta: Mapping[str, Any], folder: str = "") -> Message:
        """A raw-format Gmail message as a :class:`Message`."""
        try:
            message = parse_rfc822(
                _b64decode(meta["raw"]),
                folder or _folder_of(meta.get("labelIds", [])),
                self.principal.tz,
            )
        except (KeyError, ValueError):
            raise ProviderError(
                f"Gmail returned message {meta.get('id', '?')} in a form that cannot be read."
            ) from None
        return message.model_copy(update=self._extras(meta, message.date))

    def _extras(self, meta: Mapping[str, Any], date: datetime | None) -> dict[str, Any]:
        update: dict[str, Any] = {"thread_id": str(meta.get("threadId", ""))}
        if date is None and meta.get("internalDate"):
            stamp = int(meta["internalDate"]) / 1000
            update["date"] = datetime.fromtimestamp(stamp, UTC).astimezone(self.principal.tz)
        return update

    def _summary(self, meta: Mapping[str, Any], folder: str) -> MessageSummary:
        # Reuse the RFC 5322 reader on the metadata headers: same addresses, dates, ids.
        head = "".join(
            f"{h['name']}: {' '.join(str(h['value']).split())}\r\n"
            for h in meta.get("payload", {}).get("headers", [])
            if h.get("name")
        )
        message = parse_rfc822(
            (head + "\r\n").encode("utf-8", "surrogateescape"), folder, self.principal.tz
        )
        fields = set(MessageSummary.model_fields)
        summary = MessageSummary.model_validate(message.model_dump(include=fields))
        update = self._extras(meta, summary.date)
        update["snippet"] = html.unescape(str(meta.get("snippet", "")))
        return summary.model_copy(update=update)

    # ------------------------------------------------------------ reading

    def search(
        self,
        query: str = "",
        sender: str = "",
        since: datetime | None = None,
        folder: str = "inbox",
        limit: int = 20,
    ) -> list[MessageSummary]:
        """Newest first, with Gmail's search (``query`` may use Gmail operators too)."""
        if since is not None and since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        label = self._label(folder)
        if limit <= 0:
            return []
        parts = []
        if sender.strip():
            parts.append(f"from:{_quoted(sender)}")
        if since is not None:
            parts.append(f"after:{int(since.timestamp())}")
        if query.strip():
            parts.append(" ".join(query.split()))
        params: dict[str, Any] = {"labelIds": [label], "maxResults": min(limit, PAGE)}
        if parts:
            params["q"] = " ".join(parts)
        resp = self._run(lambda: self._users.messages().list(userId="me", **params), "search mail")
        out: list[MessageSummary] = []
        for hit in resp.get("messages", [])[:limit]:
            try:
                meta = self._get(hit["id"], "metadata", SUMMARY_HEADERS)
            except NotFound:  # deleted between the listing and now
                continue
            out.append(self._summary(meta, folder))
        return out

    def get_message(self, message_id: str) -> Message:
        """One message from any folder, by Message-ID with or without angle brackets."""
        hit = self._first_hit(message_id)
        return self._parse(self._get(hit["id"], "raw"))

    def get_thread(self, message_id: str) -> list[Message]:
        """Gmail's conversation of the message, oldest first (trash and spam left out)."""
        hit = self._first_hit(message_id)
        thread = self._run(
            lambda: self._users.threads().get(userId="me", id=hit["threadId"], format="minimal"),
            "read a conversation",
        )
        items = sorted(thread.get("messages", []), key=lambda m: int(m.get("internalDate", 0)))
        out: list[Message] = []
        for item in items:
            if item["id"] != hit["id"] and {"TRASH", "SPAM"} & set(item.get("labelIds", [])):
                continue
            try:
                out.append(self._parse(self._get(item["id"], "raw")))
            except NotFound:
                continue
        return out

    # ------------------------------------------------------------ writing

    def _now(self) -> datetime:
        now = self._clock() if self._clock is not None else self.principal.now()
        return now.astimezone(self.principal.tz)

    def _existing(self, message_id: str, label: str, folder: str) -> SentReceipt | None:
        """The receipt of an earlier write with this Message-ID, if Gmail holds one."""
        for hit in self._hits(message_id):
            try:
                meta = self._get(hit["id"], "metadata", ["To", "Cc", "Bcc"])
            except NotFound:
                continue
            if label in meta.get("labelIds", []):
                heads = _headers(meta)
                return SentReceipt(
                    message_id=normalize_message_id(message_id),
                    folder=folder,
                    recipients=_recipients(heads.get(k, "") for k in ("to", "cc", "bcc")),
                )
        return None

    def _thread_of(self, message: OutgoingMessage) -> str:
        """Gmail's thread id of the message this one answers ('' when unknown)."""
        for ref in [message.in_reply_to, *reversed(message.references)]:
            if ref:
                hits = self._hits(ref)
                if hits:
                    return str(hits[0]["threadId"])
        return ""

    def _deliver(self, message: OutgoingMessage, key: str, folder: str) -> SentReceipt:
        # Without a key a retry cannot be recognised; the ledger always supplies one.
        key = key or uuid.uuid4().hex
        message_id = message_id_for_key(key, self.address)
        label = LABELS[folder]
        existing = self._existing(message_id, label, folder)
        if existing is not None:
            return existing
        if folder == "sent" and not (message.to or message.cc or message.bcc):
            raise ProviderError("A message needs at least one recipient in To, Cc or Bcc.")
        try:
            mime = build_mime(message, self._sender, message_id=message_id, date=self._now())
            bcc = parse_addresses(message.bcc) if message.bcc else []
            if bcc:
                mime["Bcc"] = ", ".join(bcc)
        except ValueError as exc:
            raise ProviderError(f"Cannot build the message: {exc}.") from None
        body: dict[str, Any] = {"raw": base64.urlsafe_b64encode(mime.as_bytes()).decode("ascii")}
        thread = self._thread_of(message)
        if thread:
            body["threadId"] = thread
        receipt = SentReceipt(
            message_id=message_id,
            folder=folder,
            recipients=_recipients([*message.to, *message.cc, *bcc]),
        )
        tries = 0

        def attempt() -> SentReceipt:
            nonlocal tries
            tries += 1
            if tries > 1:  # the failed try may have landed before the error came back
                again = self._existing(message_id, label, folder)
                if again is not None:
                    return again
            if folder == "sent":
                self._transport.execute(self._users.messages().send(userId="me", body=body))
            else:
                drafts = self._users.drafts()
                self._transport.execute(drafts.create(userId="me", body={"message": body}))
            return receipt

        what = "send the message" if folder == "sent" else "save the draft"
        return self._retrying(attempt, what)

    def send(self, message: OutgoingMessage, idempotency_key: str) -> SentReceipt:
        """Send through Gmail (once per key); Gmail keeps the copy in Sent."""
        return self._deliver(message, idempotency_key, "sent")

    def save_draft(self, message: OutgoingMessage, idempotency_key: str) -> SentReceipt:
        """Create a Gmail draft (once per key)."""
        return self._deliver(message, idempotency_key, "drafts")

    # ------------------------------------------------------------ labels

    def _label_ids(self, names: Iterable[str]) -> list[str]:
        """Label ids for label names or ids; user labels that do not exist are created."""
        existing = self._run(lambda: self._users.labels().list(userId="me"), "list labels").get(
            "labels", []
        )
        by_name = {str(lab["name"]).casefold(): str(lab["id"]) for lab in existing}
        ids = {str(lab["id"]) for lab in existing}
        out: list[str] = []
        for name in names:
            name = " ".join(name.split())
            if not name:
                continue
            if name in ids:
                out.append(name)
            elif name.casefold() in by_name:
                out.append(by_name[name.casefold()])
            else:
                body = {"name": name, "labelListVisibility": "labelShow"}
                made = self._run(
                    partial(self._users.labels().create, userId="me", body=body),
                    "create a label",
                )
                by_name[name.casefold()] = str(made["id"])
                out.append(str(made["id"]))
        return out

    def _modify(self, message_id: str, add: list[str], remove: list[str]) -> None:
        hit = self._first_hit(message_id)
        body = {"addLabelIds": add, "removeLabelIds": remove}
        self._run(
            lambda: self._users.messages().modify(userId="me", id=hit["id"], body=body),
            "change the message's labels",
        )

    def add_labels(self, message_id: str, labels: list[str]) -> None:
        """Put labels (names or ids) on a message; missing user labels are created."""
        self._modify(message_id, self._label_ids(labels), [])

    def archive(self, message_id: str) -> None:
        """Take a message out of the inbox (it stays in All Mail)."""
        self._modify(message_id, [], ["INBOX"])

    # --------------------------------------------------------------- sync

    def current_cursor(self, folder: str = "inbox") -> str:
        """The mailbox's current history id (one history covers every folder)."""
        self._label(folder)
        profile = self._run(lambda: self._users.getProfile(userId="me"), "read the mailbox")
        return str(profile["historyId"])

    def fetch_new(
        self,
        cursor: str = "",
        folder: str = "inbox",
        limit: int = 200,
        *,
        on_reset: OnReset = "restart",
    ) -> tuple[list[RawMail], str]:
        """Messages added to ``folder`` after ``cursor`` ('' = from the oldest), oldest first.

        Raises:
            SyncReset: with ``on_reset="raise"``, when the history id has expired.
            ProviderError: the cursor is not one this provider returned, or Gmail failed.
        """
        label = self._label(folder)
        if limit <= 0:
            return [], cursor
        start, _, after = cursor.partition(":")
        if cursor and not start.isdigit():
            raise ProviderError(
                f"'{cursor}' is not a Gmail sync cursor; start again with an empty cursor."
            )
        if start and not after:
            try:
                return self._from_history(start, label, folder, limit)
            except NotFound:
                if on_reset == "raise":
                    raise SyncReset(
                        f"Gmail no longer keeps the mailbox history since {start}; "
                        f"list {folder} again."
                    ) from None
                log.info("Gmail history %s has expired; listing %s again", start, folder)
                start = ""
        if not start:
            # Taken before listing: whatever arrives during the listing is in later history.
            start = self.current_cursor(folder)
        return self._from_listing(start, after, label, folder, limit)

    def list_ids(self, folder: str = "inbox") -> tuple[list[MailRef], str]:
        """Every message in ``folder`` by Gmail id and Message-ID (metadata only), oldest first.

        The cursor is the history id taken before the listing, so a message
        arriving meanwhile comes again from history (consumers deduplicate).
        """
        label = self._label(folder)
        start = self.current_cursor(folder)
        refs: list[MailRef] = []
        for gid in self._list_all(label):
            try:
                meta = self._get(gid, "metadata", ["Message-ID"])
            except NotFound:  # deleted since it was listed
                continue
            refs.append(
                MailRef(uid=gid, message_id=message_id_in(_headers(meta).get("message-id", "")))
            )
        return refs, start

    def fetch_raw(self, uids: list[str], folder: str = "inbox") -> list[RawMail]:
        """The bytes of messages by Gmail id (those deleted meanwhile are left out)."""
        self._label(folder)
        return [m for gid in uids if (m := self._raw_mail(gid, folder)) is not None]

    def _raw_mail(self, gmail_id: str, folder: str) -> RawMail | None:
        try:
            meta = self._get(gmail_id, "raw")
        except NotFound:  # deleted since it was listed
            return None
        return RawMail(uid=gmail_id, raw=_b64decode(meta["raw"]), folder=folder)

    def _list_all(self, label: str) -> list[str]:
        """Every Gmail id in ``label``, oldest first (Gmail lists newest first)."""
        ids: list[str] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"labelIds": [label], "maxResults": PAGE}
            if token:
                params["pageToken"] = token
            resp = self._run(
                partial(self._users.messages().list, userId="me", **params),
                "list the mailbox",
            )
            ids.extend(str(m["id"]) for m in resp.get("messages", []))
            token = resp.get("nextPageToken")
            if not token:
                ids.reverse()
                return ids

    def _from_listing(
        self, start: str, after: str, label: str, folder: str, limit: int
    ) -> tuple[list[RawMail], str]:
        # One listing serves the calls of a sync loop; only a new process lists again.
        if self._listing is not None and self._listing[:2] == (label, start):
            ids = self._listing[2]
        else:
            ids = self._list_all(label)
            self._listing = (label, start, ids)
        position = {gid: i for i, gid in enumerate(ids)}
        # A vanished last message restarts from the oldest: repeats are fine, skips are not.
        pos = position[after] + 1 if after in position else 0
        found: list[RawMail] = []
        last = after
        while pos < len(ids) and len(found) < limit:
            mail = self._raw_mail(ids[pos], folder)
            if mail is not None:
                found.append(mail)
            last = ids[pos]
            pos += 1
        if pos < len(ids):
            return found, f"{start}:{last}"
        self._listing = None
        return found, start

    def _from_history(
        self, start: str, label: str, folder: str, limit: int
    ) -> tuple[list[RawMail], str]:
        found: list[RawMail] = []
        seen: set[str] = set()
        done = start
        token: str | None = None
        while True:
            params: dict[str, Any] = {
                "startHistoryId": start,
                "historyTypes": ["messageAdded"],
                "labelId": label,
                "maxResults": PAGE,
            }
            if token:
                params["pageToken"] = token
            resp = self._run(
                partial(self._users.history().list, userId="me", **params),
                "read the mailbox history",
            )
            for record in resp.get("history", []):
                added = [
                    str(a["message"]["id"])
                    for a in record.get("messagesAdded", [])
                    if str(a["message"]["id"]) not in seen
                ]
                # Whole records only, so the cursor can point between them; a lone
                # oversized record is taken whole rather than never advancing.
                if found and len(found) + len(added) > limit:
                    return found, done
                for gid in added:
                    seen.add(gid)
                    mail = self._raw_mail(gid, folder)
                    if mail is not None:
                        found.append(mail)
                done = str(record["id"])
            token = resp.get("nextPageToken")
            if not token:
                # The mailbox's own history id: later calls scan less and expire later.
                return found, str(resp.get("historyId") or done)


def open_mail(
    account: GoogleAccount | Mapping[str, Any], principal: Principal, root: Path
) -> GmailMail:
    """Open a principal's Gmail from their ``accounts.mail`` settings.

    Settings: ``client_secrets`` (used by the connect command), ``token_file``
    (default ``<root>/tokens/google.json``), ``address`` (default the
    principal's e-mail), and for a stand-in server ``api_endpoint`` and ``token_uri``.

    Raises:
        ProviderError: the account is not connected or its access was revoked.
    """
    account = GoogleAccount.of(account, "mail")
    token_file = account.token_path(root)
    credentials = load_credentials(
        token_file,
        SCOPES,
        token_uri=account.token_uri or None,
        connect=connect_command("gmail", principal.id),
    )
    return GmailMail(
        principal,
        credentials=credentials,
        address=account.address,
        api_endpoint=account.api_endpoint or None,
        token_file=token_file,
    )
