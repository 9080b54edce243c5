"""The daily briefing: one page of what the principal's day holds and what waits for them.

Built without a model from the records every duty keeps: the agenda (with a
note where consecutive meetings are in different places with little time
between them), expected visitors, actions waiting for approval, mail that needs
an answer, requests to vendors and staff still without one, invoices due,
tasks due, phone messages, press enquiries and travel. A model may add a
summary on top (``secretary brief --summary``), never replace it.

Each section is gathered on its own: when one source fails (a mail server that
does not answer), that section says so and the rest of the briefing still
comes.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.utils import parseaddr
from typing import Any

from tools.base import ToolError, tool
from tools.context import ToolContext
from tools.dates import read_when, zone_label
from tools.foundation.errors import SecretaryError
from tools.providers.base import Event, ProviderError

log = logging.getLogger(__name__)

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MAIL_DAYS = 7
"""How far back the briefing looks for mail that still needs an answer."""
MAIL_LIMIT = 60
TRAVEL_BUFFER_MINUTES = 30
"""Default minimum gap between meetings in different places (preference
``travel_buffer_minutes`` overrides it)."""


@dataclass
class Section:
    """One part of the briefing: a title, its lines, and a note when its source failed."""

    key: str
    title: str
    lines: list[str] = field(default_factory=list)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {"key": self.key, "title": self.title, "lines": self.lines, "note": self.note}


@dataclass
class Briefing:
    """The whole briefing for one principal and one day."""

    principal: str
    day: date
    timezone: str
    sections: list[Section]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json`` and the tool's result."""
        return {
            "principal": self.principal,
            "day": self.day.isoformat(),
            "timezone": self.timezone,
            "sections": [s.to_dict() for s in self.sections],
        }

    def text(self, name: str = "") -> str:
        """The briefing as plain text (terminal, e-mail)."""
        head = f"Briefing for {name or self.principal}, {_DAYS[self.day.weekday()]} "
        out = [head + f"{self.day:%d %B %Y} ({self.timezone})", ""]
        for s in self.sections:
            count = f" ({len(s.lines)})" if s.lines else ""
            out.append(f"{s.title}{count}")
            if s.note:
                out.append(f"  ! {s.note}")
            out += [f"  - {line}" for line in s.lines] or ["  nothing"]
            out.append("")
        return "\n".join(out).rstrip() + "\n"


# ---------------------------------------------------------------- sections


def _hm(dt: datetime, ctx: ToolContext) -> str:
    return f"{dt.astimezone(ctx.principal.tz):%H:%M}"


def _agenda(ctx: ToolContext, start: datetime, end: datetime) -> list[str]:
    events = [e for e in ctx.calendar.list_events(start, end) if e.status != "cancelled"]
    buffer = timedelta(
        minutes=int(ctx.principal.preferences.get("travel_buffer_minutes", TRAVEL_BUFFER_MINUTES))
    )
    lines: list[str] = []
    previous: Event | None = None
    for e in sorted(events, key=lambda e: (e.all_day, e.start)):
        if e.all_day:
            lines.insert(0, f"all day  {e.title}")
            continue
        if previous is not None and e.location and previous.location:
            gap = e.start - previous.end
            if e.location.strip().lower() != previous.location.strip().lower() and gap < buffer:
                minutes = max(0, int(gap.total_seconds() // 60))
                lines.append(
                    f"travel: {minutes} min from {previous.location} to {e.location} "
                    f"(less than {int(buffer.total_seconds() // 60)} min; check the journey)"
                )
        end_zone = e.end.astimezone(ctx.principal.tz)
        span = f"{_hm(e.start, ctx)}-{end_zone:%H:%M}"
        if e.end_timezone and e.end_timezone != ctx.principal.timezone:
            local_end = e.end.astimezone(e.end.tzinfo)
            span += f" ({local_end:%H:%M} {zone_label(local_end)} at arrival)"
        where = f" @ {e.location}" if e.location else ""
        people = f" with {', '.join(e.attendees[:4])}" if e.attendees else ""
        lines.append(f"{span}  {e.title}{where}{people}")
        previous = e
    return lines


def _visitors(ctx: ToolContext, start: datetime, end: datetime) -> list[str]:
    desk = ctx.workspace.desk
    if desk is None:
        return []
    lines = []
    for v in desk.visits(start, end):
        who = f"{v.name} ({v.company})" if v.company else v.name
        lines.append(f"{_hm(v.start, ctx)}  {who}, host {v.host}")
    return lines


def _approvals(ctx: ToolContext) -> list[str]:
    pending: Callable[[], list[Any]] | None = ctx.workspace.approvals
    if pending is None:
        return []
    lines = []
    for p in pending():
        summary = (p.preview or {}).get("summary") or p.tool
        lines.append(f"{p.id}  {summary}")
    return lines


def _verdicts(ctx: ToolContext) -> dict[str, tuple[str, str]]:
    """What the mail desk decided about each message (category, reason), when it runs.

    Read through the desk's own store, so it works wherever the principal's
    tables live; a principal without a desk gets ``{}`` and nothing is created.
    """
    from tools.foundation.db import Storage, applied_versions
    from tools.providers.local.mail_desk import DeskState

    storage = ctx.workspace.storage
    own = storage is None
    if storage is None:
        storage = Storage.default(ctx.workspace.root)
    try:
        if not storage.is_postgres and not (ctx.workspace.root / "mail-desk.sqlite").exists():
            return {}
        if storage.is_postgres and not applied_versions(
            storage.database("mail-desk.sqlite"), "mail-desk"
        ):
            return {}
        return DeskState(ctx.workspace.root, storage=storage).verdicts()
    except (sqlite3.Error, SecretaryError) as exc:
        log.warning("The mail desk's decisions could not be read (%s); triaging afresh.", exc)
        return {}
    finally:
        if own:
            storage.close()


def _raw_of(ctx: ToolContext, message: Any) -> bytes:
    get_raw = getattr(ctx.mail, "get_raw", None)
    if callable(get_raw):
        try:
            raw = get_raw(message.message_id)
            if isinstance(raw, bytes):
                return raw
        except ProviderError:
            pass
    head = "".join(f"{k}: {v}\r\n" for k, v in message.headers.items())
    if "message-id" not in {k.lower() for k in message.headers}:
        head += f"Message-ID: {message.message_id}\r\nFrom: {message.sender}\r\n"
        head += f"Subject: {message.subject}\r\n"
    return (head + "\r\n" + message.body).encode("utf-8", "replace")


def _answered(ctx: ToolContext, message: Any, me: set[str]) -> bool:
    try:
        thread = ctx.mail.get_thread(message.message_id)
    except ProviderError:
        return False
    after = message.date
    for m in thread:
        if parseaddr(m.sender)[1].lower() in me and (
            after is None or m.date is None or m.date >= after
        ):
            if m.message_id != message.message_id:
                return True
    return False


def _mail(ctx: ToolContext, now: datetime) -> list[str]:
    from tools.triage import History, Incoming, rules

    me = {ctx.principal.email.lower()}
    history = History.of(ctx.workspace)
    known = _verdicts(ctx)
    since = now - timedelta(days=MAIL_DAYS)
    lines: list[str] = []
    for summary in ctx.mail.search(folder="inbox", since=since, limit=MAIL_LIMIT):
        if parseaddr(summary.sender)[1].lower() in me:
            continue
        decided = known.get(summary.message_id)
        if decided is not None:
            category, reason = decided
        else:
            try:
                message = ctx.mail.get_message(summary.message_id)
                verdict = rules(
                    Incoming.from_raw(_raw_of(ctx, message), ctx.principal), ctx.principal, history
                )
            except (ProviderError, ValueError):
                continue
            category, reason = verdict.category, verdict.reason
        if category not in ("urgent", "needs-response"):
            continue
        try:
            full = ctx.mail.get_message(summary.message_id)
        except ProviderError:
            continue
        if _answered(ctx, full, me):
            continue
        age = (
            (now.date() - summary.date.astimezone(ctx.principal.tz).date()).days
            if summary.date
            else 0
        )
        when = "today" if age == 0 else f"{age} day{'s' if age != 1 else ''} ago"
        flag = "URGENT " if category == "urgent" else ""
        lines.append(
            f"{flag}{summary.sender}: {summary.subject or '(no subject)'} ({when}; {reason})"
        )
    return lines


def _followups(ctx: ToolContext) -> list[str]:
    from tools.vendors import vendor_followups

    lines = []
    for f in vendor_followups(ctx):
        if f.get("answered_by_mail"):
            state = "answered by mail, not yet recorded"
        elif f.get("status") == "answered":
            state = "confirmed, delivery overdue"
        else:
            state = f"no answer for {f['days_waiting']} days"
        lines.append(
            f"{f['vendor']}: {f['kind']} '{f['subject']}' sent {f['sent']}, {state} "
            f"({f['suggestion']})"
        )
    desk = ctx.workspace.desk
    if desk is not None:
        today = ctx.now().date()
        for t in desk.tasks("open"):
            if t.owner != "principal" and t.delegated_via and t.due is not None and t.due < today:
                lines.append(
                    f"{t.owner}: '{t.title}' was due {_day(t.due)} (delegated; ask how it stands)"
                )
    return lines


def _day(d: date) -> str:
    return f"{_DAYS[d.weekday()]} {d:%d %b}"


def _invoices(ctx: ToolContext) -> list[str]:
    from tools.invoices import invoices_due

    lines = []
    for i in invoices_due(ctx, 7):
        state = (
            f"OVERDUE by {-i['days']} day{'s' if i['days'] != -1 else ''}"
            if i["overdue"]
            else ("due today" if i["days"] == 0 else f"due in {i['days']} days")
        )
        lines.append(
            f"{i['vendor']} {i['number']}: {i['total']} {i['currency']}, {state} ({i['status']})"
        )
    return lines


def _tasks(ctx: ToolContext, day: date) -> list[str]:
    desk = ctx.workspace.desk
    if desk is None:
        return []
    lines = []
    for t in desk.tasks("open"):
        if t.due is None or t.due > day:
            continue
        owner = "" if t.owner == "principal" else f" [{t.owner}]"
        state = "OVERDUE since " + _day(t.due) if t.due < day else "due today"
        lines.append(f"{t.title}{owner}: {state}")
    return lines


def _phone(ctx: ToolContext) -> list[str]:
    desk = ctx.workspace.desk
    if desk is None:
        return []
    lines = []
    for m in desk.messages("new"):
        who = f"{m.caller} ({m.company})" if m.company else m.caller
        back = f"; call back {m.callback}" if m.callback else ""
        number = f" {m.number}" if m.number else ""
        lines.append(f"{who}{number}: {m.reason or 'no reason given'}{back} [{m.id}]")
    return lines


def _press(ctx: ToolContext) -> list[str]:
    from tools.press import press_enquiries

    return [
        f"{e['journalist']}"
        + (f" ({e['outlet']})" if e["outlet"] else "")
        + f": {e['subject']} ({e['received']}) [{e['message_id']}]"
        for e in press_enquiries(ctx, 7)
    ]


def _travel(ctx: ToolContext) -> list[str]:
    from tools.travel import upcoming_travel

    return [f"{t['summary']} [trip {t['trip_id']}]" for t in upcoming_travel(ctx, 2)]


def build_briefing(ctx: ToolContext, day: date | None = None) -> Briefing:
    """Gather every section for ``day`` (default: today in the principal's zone)."""
    tz = ctx.principal.tz
    now = ctx.now()
    day = day or now.date()
    start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    plan: list[tuple[str, str, Callable[[], list[str]]]] = [
        ("agenda", "Agenda", lambda: _agenda(ctx, start, end)),
        ("visitors", "Visitors", lambda: _visitors(ctx, start, end)),
        ("travel", "Travel (next 2 days)", lambda: _travel(ctx)),
        ("approvals", "Waiting for your approval", lambda: _approvals(ctx)),
        ("mail", f"Mail needing an answer (last {MAIL_DAYS} days)", lambda: _mail(ctx, now)),
        ("followups", "Follow-ups without an answer", lambda: _followups(ctx)),
        ("invoices", "Invoices due (7 days) or overdue", lambda: _invoices(ctx)),
        ("tasks", "Tasks due", lambda: _tasks(ctx, day)),
        ("phone", "Phone messages", lambda: _phone(ctx)),
        ("press", "Press enquiries", lambda: _press(ctx)),
    ]
    sections = []
    for key, title, gather in plan:
        section = Section(key, title)
        try:
            section.lines = gather()
        except (ProviderError, ToolError) as exc:
            section.note = f"could not be read: {exc}"
        sections.append(section)
    return Briefing(ctx.principal.id, day, ctx.principal.timezone, sections)


@tool(effect="read", duty="briefing", trust="untrusted", title="Daily briefing")
def daily_briefing(ctx: ToolContext, day: str = "today") -> dict[str, Any]:
    """The principal's daily briefing, built from their records (no model involved).

    Sections: agenda (with travel notes), visitors, travel, approvals, mail needing an
    answer, follow-ups, invoices due, tasks due, phone messages, press enquiries.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        day: The day: ISO date (2026-11-24) or a phrase ("today", "tomorrow", "Monday").
    """
    try:
        reading = read_when(day, ctx.principal.tz, ctx.now())
    except ValueError as exc:
        raise ToolError(f"day: {exc}") from None
    briefing = build_briefing(ctx, reading.start.astimezone(ctx.principal.tz).date())
    return {**briefing.to_dict(), "text": briefing.text(ctx.principal.name)}
