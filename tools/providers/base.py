"""The small Protocols every provider of a duty implements, and their data types.

The local providers (SQLite, Maildir) implement them first; Google, Microsoft
365, IMAP/SMTP and CalDAV implement the same Protocols later, so the tools and
the planner never know which backend they talk to.

Write methods take an ``idempotency_key``: a provider that can make the
operation idempotent on its backend does so (a deterministic Message-ID or
event id derived from the key), so a retried action lands once even if the
process died between doing it and recording it.

All datetimes are timezone-aware; naive datetimes are rejected.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.parser import BytesParser
from email.policy import compat32
from typing import Literal, Protocol, runtime_checkable

from pydantic import AwareDatetime, BaseModel, Field


class UnknownProvider(Exception):
    """A principal's settings name a provider this installation does not have."""


class ProviderError(Exception):
    """A backend failed in an expected way (unreachable, refused, not found).

    The message is a sentence for a person: what went wrong and what to do.
    """


class NotFound(ProviderError):
    """The requested object does not exist for this principal."""


# ----------------------------------------------------------------- calendar

PartStat = Literal["needs-action", "accepted", "declined", "tentative"]


class Event(BaseModel):
    """A calendar event as every calendar provider returns it."""

    id: str
    title: str
    start: AwareDatetime
    end: AwareDatetime
    timezone: str = Field(description="IANA zone the event was created in.")
    end_timezone: str = Field(
        "", description="IANA zone of the end when it differs (a flight's arrival); empty: same."
    )
    all_day: bool = False
    location: str = ""
    description: str = ""
    attendees: list[str] = Field(default_factory=list)
    organizer: str = ""
    status: Literal["confirmed", "tentative", "cancelled"] = "confirmed"
    attendance: dict[str, PartStat] = Field(
        default_factory=dict, description="Attendee address -> their answer, where known."
    )
    recurrence: list[str] = Field(
        default_factory=list, description="RRULE/EXDATE lines of the series this belongs to."
    )
    recurring_id: str = Field("", description="For an occurrence: the series' event id.")
    uid: str = Field("", description="The iCalendar UID (shared with invitations).")
    recurrence_id: AwareDatetime | None = Field(
        None, description="For an occurrence: its original start (iCalendar RECURRENCE-ID)."
    )
    sequence: int = Field(0, description="iCalendar SEQUENCE: raised by every change of time.")
    unverified: list[str] = Field(
        default_factory=list,
        description="Whose part came by e-mail without passing authentication: the organizer "
        "of a filed invitation, attendees whose answer is recorded. Shown, never trusted.",
    )


class NewEvent(BaseModel):
    """What is needed to create an event."""

    title: str
    start: AwareDatetime
    end: AwareDatetime
    timezone: str
    end_timezone: str = Field(
        "", description="IANA zone of the end when it differs (a flight's arrival); empty: same."
    )
    all_day: bool = False
    location: str = ""
    description: str = ""
    attendees: list[str] = Field(default_factory=list)
    recurrence: list[str] = Field(
        default_factory=list, description='RRULE/EXDATE lines, e.g. ["RRULE:FREQ=WEEKLY;COUNT=4"].'
    )


class Busy(BaseModel):
    """One busy interval (free/busy answers)."""

    start: AwareDatetime
    end: AwareDatetime
    title: str = ""


@runtime_checkable
class CalendarProvider(Protocol):
    """A principal's calendar."""

    def list_events(self, start: datetime, end: datetime) -> list[Event]:
        """Events overlapping [start, end), recurring ones expanded, sorted by start."""
        ...

    def get_event(self, event_id: str) -> Event:
        """One event; raises NotFound."""
        ...

    def free_busy(
        self, start: datetime, end: datetime, attendees: list[str] | None = None
    ) -> dict[str, list[Busy]]:
        """Busy intervals per calendar ('me' is the principal; others where known)."""
        ...

    def create_event(self, event: NewEvent, idempotency_key: str) -> Event:
        """Create an event (once per key)."""
        ...

    def move_event(
        self, event_id: str, start: datetime, end: datetime, idempotency_key: str
    ) -> Event:
        """Give an event new start and end."""
        ...

    def cancel_event(self, event_id: str, idempotency_key: str) -> Event:
        """Cancel an event (kept with status 'cancelled')."""
        ...

    def respond(self, event_id: str, answer: PartStat, idempotency_key: str) -> Event:
        """Record the principal's answer to an invitation (once per key).

        Providers whose server mails the organizer themselves (Google, Microsoft
        365, CalDAV with scheduling) do so here and set a class attribute
        ``sends_invitations = True``; otherwise the tools mail an iTIP REPLY
        (and REQUEST/CANCEL for the principal's own events) through the mail
        provider.
        """
        ...


# --------------------------------------------------------------------- mail


class MessageSummary(BaseModel):
    """A message in a listing."""

    message_id: str
    folder: str
    sender: str
    to: list[str] = Field(default_factory=list)
    subject: str = ""
    date: AwareDatetime | None = None
    snippet: str = ""
    thread_id: str = ""


class Message(MessageSummary):
    """A full message: headers for threading and the text body."""

    cc: list[str] = Field(default_factory=list)
    in_reply_to: str = ""
    references: list[str] = Field(default_factory=list)
    body: str = ""
    attachments: list[str] = Field(default_factory=list, description="File names.")
    headers: dict[str, str] = Field(default_factory=dict)


class Attachment(BaseModel):
    """A file sent along with a message (a forwarded attachment, a PDF)."""

    filename: str
    content_type: str = "application/octet-stream"
    data: bytes
    params: dict[str, str] = Field(
        default_factory=dict, description="Extra Content-Type parameters (e.g. method=REQUEST)."
    )


ItipMethod = Literal[
    "PUBLISH", "REQUEST", "REPLY", "ADD", "CANCEL", "REFRESH", "COUNTER", "DECLINECOUNTER"
]


class CalendarPart(BaseModel):
    """An iCalendar object sent by e-mail as a scheduling message (iMIP, RFC 6047).

    Every provider writes it the way Outlook and Gmail act on it: inline as a
    ``text/calendar; method=...`` alternative of the text body, and once more
    as an ``.ics`` attachment (``application/ics``) for people who want a file.
    """

    method: ItipMethod = Field(description="The METHOD inside the object; they must agree.")
    data: bytes = Field(description="The VCALENDAR, as bytes (UTF-8).")
    filename: str = "invite.ics"


class OutgoingMessage(BaseModel):
    """A message to send (or keep as a draft)."""

    to: list[str]
    subject: str
    body: str
    cc: list[str] = Field(default_factory=list)
    bcc: list[str] = Field(default_factory=list)
    in_reply_to: str = ""
    references: list[str] = Field(default_factory=list)
    extra_headers: dict[str, str] = Field(default_factory=dict)
    attachments: list[Attachment] = Field(default_factory=list)
    calendar: CalendarPart | None = Field(
        default=None,
        description="An iTIP message (invitation, cancellation, reply) carried as RFC 6047 says.",
    )


class SentReceipt(BaseModel):
    """What a provider reports after sending."""

    message_id: str
    folder: str = "sent"
    recipients: list[str] = Field(default_factory=list)


@runtime_checkable
class MailProvider(Protocol):
    """A principal's mailbox."""

    def search(
        self,
        query: str = "",
        sender: str = "",
        since: datetime | None = None,
        folder: str = "inbox",
        limit: int = 20,
    ) -> list[MessageSummary]:
        """Newest first. ``query`` matches subject, sender and body words."""
        ...

    def get_message(self, message_id: str) -> Message:
        """One message by Message-ID; raises NotFound."""
        ...

    def get_thread(self, message_id: str) -> list[Message]:
        """The conversation a message belongs to, oldest first."""
        ...

    def send(self, message: OutgoingMessage, idempotency_key: str) -> SentReceipt:
        """Send (once per key) and keep a copy in the sent folder."""
        ...

    def save_draft(self, message: OutgoingMessage, idempotency_key: str) -> SentReceipt:
        """Keep a message in the drafts folder without sending it."""
        ...


class RawMail(BaseModel):
    """One message exactly as the server holds it (for sync, triage and ingest)."""

    uid: str = Field(description="The provider's own stable id for it in that folder.")
    raw: bytes = Field(description="The complete RFC 5322 bytes.")
    folder: str = "inbox"


@runtime_checkable
class MailSync(Protocol):
    """Incremental fetching, for the autoresponder and for ingest.

    A cursor is an opaque string owned by the provider (IMAP: UIDVALIDITY and
    last UID; Gmail: a history id; Graph: a delta link). Consumers store it and
    hand it back; they also deduplicate by Message-ID, so a provider that has
    to start over (UIDVALIDITY changed, history expired) may return old
    messages again but must never skip new ones. Consumers that keep a seen
    set can avoid that re-download with :class:`MailResync`.
    """

    def fetch_new(
        self, cursor: str = "", folder: str = "inbox", limit: int = 200
    ) -> tuple[list[RawMail], str]:
        """Messages after ``cursor`` ('' = from the oldest), oldest first, at most ``limit``.

        Returns the messages and the cursor to pass next time (the same cursor
        when nothing is new). Call again while it returns ``limit`` messages.
        """
        ...

    def current_cursor(self, folder: str = "inbox") -> str:
        """A cursor positioned after everything already in ``folder``."""
        ...


class SyncReset(ProviderError):
    """A sync cursor can no longer be continued: the server forgot the position.

    IMAP: the folder's UIDVALIDITY changed (it was recreated or restored);
    Gmail: the history id expired (HTTP 404); Graph: the delta link expired
    (HTTP 410). Raised only by ``fetch_new(..., on_reset="raise")``; the caller
    rebuilds its position with :meth:`MailResync.list_ids` instead of
    downloading the whole folder again.
    """


OnReset = Literal["restart", "raise"]
"""What ``fetch_new`` does with a cursor it cannot continue: start over from the
oldest message (the :class:`MailSync` promise) or raise :class:`SyncReset`."""

_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


def message_id_in(value: str) -> str:
    """The first ``<id>`` in a Message-ID header value, or '' (how consumers key mail)."""
    found = _MESSAGE_ID.search(value)
    return found.group(0) if found else ""


def message_id_of(raw: bytes) -> str:
    """The Message-ID in a message's header block (the whole message or its headers), or ''.

    One reading for every provider and consumer, so an id listed from headers
    alone matches the id a consumer read from the full bytes.
    """
    try:
        head = BytesParser(policy=compat32).parsebytes(raw, headersonly=True)
        return message_id_in(str(head.get("Message-ID", "")))
    except Exception:  # noqa: BLE001 - unreadable headers name no id
        return ""


class MailRef(BaseModel):
    """A message as a headers-only listing sees it."""

    uid: str = Field(description="As in RawMail: the provider's id for it in that folder.")
    message_id: str = Field(
        "", description="As message_id_of reads it; '' when the message has none."
    )


@runtime_checkable
class MailResync(MailSync, Protocol):
    """Sync that tells the consumer when it had to start over, and lists cheaply.

    A consumer that remembers the Message-IDs it has seen asks
    ``fetch_new(..., on_reset="raise")``; on :class:`SyncReset` it calls
    :meth:`list_ids` (headers only, no bodies), fetches with :meth:`fetch_raw`
    just the messages it has not seen, and continues from the cursor
    ``list_ids`` returned: nothing seen comes back, nothing new is skipped.
    """

    def fetch_new(
        self,
        cursor: str = "",
        folder: str = "inbox",
        limit: int = 200,
        *,
        on_reset: OnReset = "restart",
    ) -> tuple[list[RawMail], str]:
        """As :meth:`MailSync.fetch_new`; with ``on_reset="raise"`` raises SyncReset instead."""
        ...

    def list_ids(self, folder: str = "inbox") -> tuple[list[MailRef], str]:
        """Every message now in ``folder`` (uid and Message-ID, from headers only), oldest first.

        Returns the listing and a cursor after it: a message arriving while the
        listing runs is in the listing or after the cursor, never in neither.
        """
        ...

    def fetch_raw(self, uids: list[str], folder: str = "inbox") -> list[RawMail]:
        """The bytes of messages ``list_ids`` named (ones gone meanwhile are left out)."""
        ...


# ----------------------------------------------------------------- contacts

ContactRole = Literal[
    "client", "vendor", "press", "staff", "family", "colleague", "visitor", "other"
]


class Contact(BaseModel):
    """A person or organisation the principal deals with."""

    id: str = ""
    name: str
    email: str = ""
    phone: str = ""
    organisation: str = ""
    role: ContactRole = "other"
    timezone: str = ""
    notes: str = ""


@runtime_checkable
class ContactsProvider(Protocol):
    """A principal's address book."""

    def find(self, query: str = "", role: str | None = None, limit: int = 20) -> list[Contact]:
        """Contacts whose name, e-mail or organisation match ``query``."""
        ...

    def get(self, contact_id: str) -> Contact:
        """One contact; raises NotFound."""
        ...

    def by_email(self, email: str) -> Contact | None:
        """The contact with that address, if any."""
        ...

    def upsert(self, contact: Contact, idempotency_key: str = "") -> Contact:
        """Add a contact or update the one with the same id / e-mail."""
        ...
