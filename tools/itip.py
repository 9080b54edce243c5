"""Meeting invitations by e-mail (iTIP, RFC 5546): requests and cancellations out, replies in.

Attendees who cannot see the principal's calendar (the local calendar, or a
server that does not schedule by itself) learn about a meeting the way every
mail client understands (iMIP, RFC 6047): a message whose text has an inline
``text/calendar; method=REQUEST`` (or ``CANCEL``, ``REPLY``) alternative, the
part Outlook and Gmail show Accept/Decline for, plus the same object as an
``.ics`` attachment (the MIME is written by :func:`tools.providers.mime.build_mime`
from :class:`~tools.providers.base.CalendarPart`). The event carries its UID,
SEQUENCE, ORGANIZER, ATTENDEEs and DTSTART/DTEND in the event's zone, with a
VTIMEZONE holding that zone's transitions from the year before the event until
years after it (decades for a repeating event), so a client that reads times
from the VTIMEZONE alone places an occurrence years out correctly. Each change
of time raises SEQUENCE, so clients replace the old version instead of adding
a second event.

Attendees' answers come back as ``METHOD:REPLY``. :func:`apply_reply` reads
one (a bare .ics or a whole e-mail) and records the attendee's PARTSTAT in the
event's ``attendance``; the mail desk calls :func:`handle_incoming` for every
incoming message, which ignores everything that is not an iTIP reply.
Invitations from other organizers can be filed in such a calendar with
:func:`file_invitation` and answered with the ``respond_to_invite`` tool,
which mails the organizer a REPLY.

Sending goes through ``MailProvider.send`` under a key derived from the
approved action's idempotency key, so a retried action mails each invitation
once.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

import icalendar
from pydantic import BaseModel

from tools.providers.base import (
    CalendarPart,
    Event,
    NewEvent,
    NotFound,
    OutgoingMessage,
    PartStat,
    ProviderError,
    SentReceipt,
)
from tools.providers.ical import address as _address
from tools.providers.ical import (
    calendar_of,
    event_component,
    ical_time,
)

if TYPE_CHECKING:
    from tools.foundation.principals import Principal
    from tools.providers.base import MailProvider

log = logging.getLogger(__name__)

_PARTSTATS: dict[str, PartStat] = {
    "NEEDS-ACTION": "needs-action",
    "ACCEPTED": "accepted",
    "DECLINED": "declined",
    "TENTATIVE": "tentative",
}
_ANSWER_WORDS = {
    "accepted": "accepted",
    "declined": "declined",
    "tentative": "tentatively accepted",
    "needs-action": "not yet answered",
}


# ------------------------------------------------------------- outgoing


def _when_text(event: Event, tz: ZoneInfo) -> str:
    a, b = event.start.astimezone(tz), event.end.astimezone(tz)
    if event.all_day:
        last = (event.end - timedelta(days=1)).date()
        first = event.start.date()
        if last <= first:
            return f"{first:%A} {first.day} {first:%B %Y} (all day)"
        return f"{first:%A} {first.day} {first:%B} - {last:%A} {last.day} {last:%B %Y} (all day)"
    label = a.tzname() or tz.key
    if a.date() == b.date():
        return f"{a:%A} {a.day} {a:%B %Y}, {a:%H:%M}-{b:%H:%M} {label} ({tz.key})"
    return f"{a:%A} {a.day} {a:%B %Y} {a:%H:%M} - {b:%A} {b.day} {b:%B} {b:%H:%M} ({tz.key})"


def invitation(
    event: Event,
    principal: Principal,
    method: Literal["REQUEST", "CANCEL"],
    recipients: list[str],
    now: datetime,
) -> OutgoingMessage:
    """The e-mail that invites ``recipients`` to ``event`` (or tells them it is cancelled).

    Args:
        event: The event as the calendar now holds it (its SEQUENCE already raised).
        principal: The organizer.
        method: REQUEST for a new or changed event, CANCEL for a cancellation.
        recipients: The attendees to mail.
        now: DTSTAMP of this version.
    """
    tz = ZoneInfo(event.timezone)
    status = "CANCELLED" if method == "CANCEL" else None
    component = event_component(event, stamp=now, organizer_name=principal.name, status=status)
    data = calendar_of([component], method).to_ical()
    when = _when_text(event, tz)
    if method == "CANCEL":
        subject = f"Cancelled: {event.title}"
        lead = f"{principal.name} has cancelled this meeting."
    elif event.sequence > 0:
        subject = f"Updated invitation: {event.title}"
        lead = f"{principal.name} has changed this meeting."
    else:
        subject = f"Invitation: {event.title}"
        lead = f"{principal.name} invites you to this meeting."
    lines = [lead, "", f"What:  {event.title}", f"When:  {when}"]
    if event.recurrence and event.recurrence_id is None:
        lines.append(f"Repeats: {describe_recurrence(event.recurrence)}")
    if event.recurrence_id is not None:
        lines.append("(This concerns one occurrence of a repeating meeting.)")
    if event.location:
        lines.append(f"Where: {event.location}")
    others = [a for a in event.attendees if _address(a) != _address(principal.email)]
    lines.append(f"Who:   {', '.join([principal.email, *others])}")
    if event.description:
        lines += ["", event.description]
    if method == "REQUEST":
        lines += ["", "Your calendar program can accept or decline with the attached invitation."]
    return OutgoingMessage(
        to=recipients,
        subject=subject,
        body="\n".join(lines) + "\n",
        calendar=CalendarPart(
            method=method,
            data=bytes(data),
            filename="cancel.ics" if method == "CANCEL" else "invite.ics",
        ),
    )


def reply(
    event: Event, principal: Principal, answer: PartStat, now: datetime, note: str = ""
) -> OutgoingMessage:
    """The METHOD:REPLY e-mail telling the organizer of ``event`` the principal's answer."""
    tz = ZoneInfo(event.timezone)
    me = _address(principal.email)
    component = event_component(event, stamp=now, partstats={me: answer})
    # A reply names only the replying attendee (RFC 5546, 3.2.3).
    del component["ATTENDEE"]
    attendee = icalendar.vCalAddress(f"mailto:{principal.email}")
    attendee.params["CN"] = principal.name
    attendee.params["PARTSTAT"] = answer.upper()
    component.add("attendee", attendee)
    if note.strip():
        component.add("comment", note.strip())
    data = calendar_of([component], "REPLY").to_ical()
    word = _ANSWER_WORDS[answer]
    body = f"{principal.name} has {word}: {event.title}\nWhen: {_when_text(event, tz)}\n"
    if note.strip():
        body += f"\n{note.strip()}\n"
    titles = {"accepted": "Accepted", "declined": "Declined", "tentative": "Tentative"}
    return OutgoingMessage(
        to=[event.organizer],
        subject=f"{titles.get(answer, 'Reply')}: {event.title}",
        body=body,
        calendar=CalendarPart(method="REPLY", data=bytes(data), filename="reply.ics"),
    )


def send_once(
    mail: MailProvider, message: OutgoingMessage, action_key: str, purpose: str
) -> SentReceipt:
    """Send ``message`` under a key derived from the action's key (so a retry sends nothing)."""
    key = f"{action_key}:itip:{purpose}" if action_key else ""
    return mail.send(message, key)


def describe_recurrence(lines: list[str]) -> str:
    """``weekly on Tuesday, 6 times`` for an RRULE (the raw rule when it is unusual)."""
    rule = next((x for x in lines if x.upper().startswith("RRULE")), "")
    if not rule:
        return "on extra dates"
    try:
        parts = icalendar.vRecur.from_ical(rule.split(":", 1)[1])
    except ValueError:
        return rule
    freq = str(parts.get("FREQ", [""])[0]).lower()
    interval = int(parts.get("INTERVAL", [1])[0])
    unit = {"daily": "day", "weekly": "week", "monthly": "month", "yearly": "year"}.get(freq)
    if unit is None:
        return rule
    text = freq if interval == 1 else f"every {interval} {unit}s"
    days = [str(d) for d in parts.get("BYDAY", [])]
    names = {
        "MO": "Monday", "TU": "Tuesday", "WE": "Wednesday", "TH": "Thursday",
        "FR": "Friday", "SA": "Saturday", "SU": "Sunday",
    }  # fmt: skip
    if days and all(d in names for d in days):
        if days == ["MO", "TU", "WE", "TH", "FR"]:
            text += " on weekdays"
        else:
            text += " on " + ", ".join(names[d] for d in days)
    if "COUNT" in parts:
        text += f", {int(parts['COUNT'][0])} times"
    if "UNTIL" in parts:
        until = parts["UNTIL"][0]
        text += f", until {until:%d %b %Y}" if isinstance(until, date) else ""
    return text


# ------------------------------------------------------------- incoming


@runtime_checkable
class AttendanceBook(Protocol):
    """What a calendar offers so attendees' e-mailed replies can be recorded.

    The local calendar implements it; calendars whose server processes
    replies itself (Google, Microsoft 365) need not.
    """

    def get_by_uid(self, uid: str, recurrence_id: datetime | None = None) -> Event:
        """The event (or one occurrence of it) with this iCalendar UID; raises NotFound."""
        ...

    def set_attendance(
        self, event_id: str, attendee: str, answer: PartStat, *, verified: bool = True
    ) -> Event:
        """Record one attendee's answer (``verified=False``: marked as unauthenticated)."""
        ...


class ReplyOutcome(BaseModel):
    """What an incoming iTIP reply did."""

    applied: bool
    reason: str = ""
    """Why it was not applied, or a summary of what changed."""
    event_id: str = ""
    title: str = ""
    attendee: str = ""
    answer: PartStat | None = None
    verified: bool = True
    """Whether the mail it came in passed authentication (an unverified answer is marked)."""


def calendar_part(raw: bytes | str) -> tuple[bytes, str]:
    """The iCalendar bytes in ``raw`` and the e-mail's sender ('' for a bare .ics).

    ``raw`` is an .ics file or an e-mail with a text/calendar part.

    Raises:
        ProviderError: There is no calendar data in it.
    """
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    if data.lstrip().upper().startswith(b"BEGIN:VCALENDAR"):
        return data, ""
    msg = BytesParser(policy=policy.default).parsebytes(data)
    sender = ""
    from_header = msg.get("From")
    if from_header:
        found = getaddresses([str(from_header)])
        sender = found[0][1].strip().lower() if found else ""
    for part in msg.walk():
        if part.get_content_type() in ("text/calendar", "application/ics"):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and payload.strip():
                return payload, sender
    raise ProviderError("The message carries no calendar data (no text/calendar part).")


def apply_reply(calendar: object, raw: bytes | str, *, verified: bool = True) -> ReplyOutcome:
    """Record an attendee's METHOD:REPLY (a bare .ics or a whole e-mail) in the calendar.

    The event is found by UID (and RECURRENCE-ID for one occurrence). The
    answer is applied only when the replying address is an attendee of the
    event and, for an e-mail, is also the sender: anyone else cannot change
    someone's answer. A reply to a version older than the event's current
    SEQUENCE is ignored, since it answers a time that has changed.

    Args:
        calendar: The principal's calendar; it must implement :class:`AttendanceBook`.
        raw: The .ics text/bytes, or the RFC 5322 bytes of the e-mail carrying it.
        verified: Whether the e-mail passed authentication; an unverified answer is
            recorded marked so, and never replaces a verified one.

    Returns:
        Whether the answer was recorded, and why not when it was not.

    Raises:
        ProviderError: The data is not iCalendar, or the calendar cannot record replies.
    """
    if not isinstance(calendar, AttendanceBook):
        raise ProviderError(
            "This calendar records attendees' replies itself; there is nothing to apply."
        )
    data, sender = calendar_part(raw)
    try:
        cal = icalendar.Calendar.from_ical(data)
    except ValueError as exc:
        raise ProviderError(f"The calendar data cannot be read ({exc}).") from None
    method = str(cal.get("METHOD", "")).upper()
    if method != "REPLY":
        return ReplyOutcome(applied=False, reason=f"not a reply (METHOD:{method or 'none'})")
    outcomes: list[ReplyOutcome] = []
    for item in cal.walk("VEVENT"):
        outcomes.append(_apply_one(calendar, item, sender, verified))  # type: ignore[arg-type]
    if not outcomes:
        return ReplyOutcome(applied=False, reason="the reply holds no event")
    applied = [o for o in outcomes if o.applied]
    return applied[0] if applied else outcomes[0]


def _apply_one(
    calendar: AttendanceBook, item: icalendar.Event, sender: str, verified: bool
) -> ReplyOutcome:
    uid = str(item.get("UID", "")).strip()
    if not uid:
        return ReplyOutcome(applied=False, reason="the reply has no UID")
    rid = ical_time(item, "RECURRENCE-ID")
    if rid is not None and not isinstance(rid, datetime):
        rid = datetime(rid.year, rid.month, rid.day, tzinfo=UTC)
    try:
        event = calendar.get_by_uid(uid, rid)
    except NotFound:
        return ReplyOutcome(applied=False, reason=f"no event with UID {uid} in the calendar")
    attendees = item.get("ATTENDEE")
    if attendees is None:
        return ReplyOutcome(applied=False, reason="the reply names no attendee", event_id=event.id)
    first = attendees[0] if isinstance(attendees, list) else attendees
    who = _address(str(first))
    answer = _PARTSTATS.get(str(first.params.get("PARTSTAT", "")).upper())
    base = {"event_id": event.id, "title": event.title, "attendee": who}
    invited = {_address(a) for a in event.attendees}
    if who not in invited:
        return ReplyOutcome(applied=False, reason=f"{who} is not invited to it", **base)
    if sender and sender != who:
        return ReplyOutcome(
            applied=False, reason=f"sent by {sender}, but it answers for {who}", **base
        )
    if answer is None:
        return ReplyOutcome(applied=False, reason="the reply has no PARTSTAT", **base)
    sequence = int(item.get("SEQUENCE", 0))
    if sequence < event.sequence:
        return ReplyOutcome(
            applied=False,
            reason=f"answers version {sequence}, but the event has changed since "
            f"(version {event.sequence})",
            **base,
        )
    try:
        updated = calendar.set_attendance(event.id, who, answer, verified=verified)
    except ProviderError as exc:
        return ReplyOutcome(applied=False, reason=str(exc), verified=verified, **base)
    mark = "" if verified else " (unverified: the mail passed no authentication)"
    return ReplyOutcome(
        applied=True,
        reason=f"{who} {_ANSWER_WORDS[answer]} '{updated.title}'{mark}",
        answer=answer,
        verified=verified,
        **base,
    )


def handle_incoming(
    calendar: object, raw: bytes, *, verified: bool = True
) -> ReplyOutcome | None:
    """The mail desk's hook: apply ``raw`` if it is an iTIP reply, else do nothing.

    Never raises for ordinary mail, malformed calendar data or calendars that
    keep replies themselves; those return None (logged at debug level).

    Args:
        calendar: The principal's calendar provider.
        raw: The RFC 5322 bytes of an incoming message.
        verified: Whether the message passed authentication (see :func:`apply_reply`).
    """
    try:
        data, _ = calendar_part(raw)
    except ProviderError:
        return None
    except Exception:  # noqa: BLE001 - a broken message must not stop the desk
        log.debug("unreadable message passed to the iTIP hook", exc_info=True)
        return None
    if b"METHOD:REPLY" not in data.upper().replace(b"\r\n ", b""):
        return None
    try:
        outcome = apply_reply(calendar, raw, verified=verified)
    except ProviderError as exc:
        log.debug("iTIP reply not applied: %s", exc)
        return None
    log.info("iTIP reply: %s", outcome.reason)
    return outcome


def file_invitation(
    calendar: object, raw: bytes | str, principal: Principal, *, verified: bool = True
) -> Event | None:
    """File an invitation (REQUEST) or its cancellation (CANCEL) from another organizer.

    For calendars that only learn of meetings by e-mail (the local one): the
    event is stored under the organizer's UID with the principal's answer
    'needs-action', ready for ``respond_to_invite``. Nothing is filed unless
    the e-mail comes from the organizer and names the principal as attendee;
    an older SEQUENCE than the stored one changes nothing.

    Args:
        calendar: The principal's calendar; it must offer ``store_invitation``.
        raw: The .ics, or the e-mail carrying it.
        principal: Whose calendar it is.
        verified: Whether the e-mail passed authentication; an unverified invitation is
            filed marked so and never changes a verified one.

    Returns:
        The stored event, or None when the data is not an invitation for the principal.

    Raises:
        ProviderError: Unreadable calendar data, or a calendar that files invitations itself.
    """
    store = getattr(calendar, "store_invitation", None)
    if not callable(store):
        raise ProviderError("This calendar receives invitations itself; nothing to file.")
    data, sender = calendar_part(raw)
    try:
        cal = icalendar.Calendar.from_ical(data)
    except ValueError as exc:
        raise ProviderError(f"The calendar data cannot be read ({exc}).") from None
    method = str(cal.get("METHOD", "")).upper()
    items = [c for c in cal.walk("VEVENT") if "RECURRENCE-ID" not in c]
    if method not in ("REQUEST", "CANCEL") or not items:
        return None
    item = items[0]
    organizer = _address(str(item.get("ORGANIZER", "")))
    found = item.get("ATTENDEE") or []
    invited = [_address(str(a)) for a in (found if isinstance(found, list) else [found])]
    if not organizer or (sender and sender != organizer):
        log.info("invitation not filed: sent by %s for organizer %s", sender, organizer)
        return None
    if _address(principal.email) not in invited:
        return None
    start, end = ical_time(item, "DTSTART"), ical_time(item, "DTEND")
    if start is None:
        raise ProviderError("The invitation has no start time (DTSTART).")
    all_day = not isinstance(start, datetime)
    zone = getattr(start.tzinfo, "key", None) if isinstance(start, datetime) else None
    tz = ZoneInfo(zone) if zone else principal.tz
    if isinstance(start, datetime):
        begin = start if start.tzinfo is not None else start.replace(tzinfo=tz)
        finish = end if isinstance(end, datetime) else begin + timedelta(hours=1)
        finish = finish if finish.tzinfo is not None else finish.replace(tzinfo=tz)
    else:
        begin = datetime(start.year, start.month, start.day, tzinfo=tz)
        last = end if isinstance(end, date) and not isinstance(end, datetime) else None
        stop = last or (start + timedelta(days=1))
        finish = datetime(stop.year, stop.month, stop.day, tzinfo=tz)
    holder = icalendar.Event()
    for name in ("RRULE", "EXDATE", "RDATE"):
        if name in item:
            holder[name] = item[name]
    text = holder.to_ical().decode().replace("\r\n ", "")
    rules = [x for x in text.split("\r\n") if x.split(":")[0].split(";")[0] in _RULE_NAMES]
    uid = str(item.get("UID", "")).strip()
    if not uid:
        raise ProviderError("The invitation has no UID, so it could not be matched later.")
    stored: Event = store(
        NewEvent(
            title=str(item.get("SUMMARY", "")) or "(no title)",
            start=begin,
            end=finish,
            timezone=tz.key,
            all_day=all_day,
            location=str(item.get("LOCATION", "")),
            description=str(item.get("DESCRIPTION", "")),
            attendees=invited,
            recurrence=rules,
        ),
        uid=uid,
        organizer=organizer,
        sequence=int(item.get("SEQUENCE", 0)),
        cancelled=method == "CANCEL" or str(item.get("STATUS", "")).upper() == "CANCELLED",
        verified=verified,
    )
    return stored


_RULE_NAMES = ("RRULE", "EXDATE", "RDATE")
