"""The embedded default calendar: one SQLite file per principal, exportable as iCalendar.

Timed events are stored as UTC instants plus the IANA zone they were created
in, so they come back in that zone and survive daylight-saving changes. All-day
events are stored as dates (start inclusive, end exclusive), because an all-day
event is a calendar day, not a span of hours; they are returned as aware
datetimes at local midnight of the event's zone.

Writes are idempotent per key: a create with a key already used returns the
event it made, and a move or cancel whose key was already applied returns the
event unchanged, so a retried action never lands twice.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tools.providers.base import Busy, Event, NewEvent, NotFound, ProviderError
from tools.providers.local.sqlite import SQLiteStore

if TYPE_CHECKING:
    from agent.principals import Principal

PRODID = "-//Secretary//Local calendar//EN"
_UTC_FMT = "%Y-%m-%dT%H:%M:%S.%fZ"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    start_utc   TEXT NOT NULL,
    end_utc     TEXT NOT NULL,
    start_date  TEXT,
    end_date    TEXT,
    timezone    TEXT NOT NULL,
    all_day     INTEGER NOT NULL DEFAULT 0,
    location    TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    attendees   TEXT NOT NULL DEFAULT '[]',
    organizer   TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT 'confirmed',
    sequence    INTEGER NOT NULL DEFAULT 0,
    last_key    TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_span ON events (start_utc, end_utc);
CREATE TABLE IF NOT EXISTS changes (
    idempotency_key TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL,
    kind            TEXT NOT NULL,
    applied_at      TEXT NOT NULL
);
"""


def _utc(dt: datetime) -> str:
    """A fixed-width UTC stamp, so string order in SQL is time order."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ProviderError("Calendar times must carry a time zone; got a naive datetime.")
    return dt.astimezone(UTC).strftime(_UTC_FMT)


def _from_utc(text: str) -> datetime:
    return datetime.strptime(text, _UTC_FMT).replace(tzinfo=UTC)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ProviderError(
            f"'{name}' is not an IANA time zone name (e.g. Europe/Berlin)."
        ) from None


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def all_day_dates(start: datetime, end: datetime, tz: ZoneInfo) -> tuple[date, date]:
    """The [first day, day after last) an all-day span covers in zone ``tz``.

    An end at local midnight is exclusive; any other end time still covers its
    day, and an empty span becomes one day.
    """
    first = start.astimezone(tz).date()
    local_end = end.astimezone(tz)
    stop = local_end.date()
    if local_end.time() != time(0) or stop <= first:
        stop += timedelta(days=1)
    if stop <= first:
        stop = first + timedelta(days=1)
    return first, stop


class LocalCalendar(SQLiteStore):
    """A principal's calendar in ``root/calendar.sqlite``."""

    def __init__(self, root: Path, principal: Principal) -> None:
        """Open (and create if needed) the calendar database.

        Args:
            root: The principal's workspace directory.
            principal: Whose calendar it is (organizer address and default zone).
        """
        self.principal = principal
        super().__init__(root / "calendar.sqlite", _SCHEMA)

    # ------------------------------------------------------------- reading

    def list_events(
        self, start: datetime, end: datetime, include_cancelled: bool = False
    ) -> list[Event]:
        """Events overlapping [start, end), sorted by start; cancelled ones only on request."""
        sql = "SELECT * FROM events WHERE start_utc < ? AND end_utc > ?"
        if not include_cancelled:
            sql += " AND status != 'cancelled'"
        with self._lock:
            rows = self._db.execute(
                sql + " ORDER BY start_utc, end_utc, id", (_utc(end), _utc(start))
            ).fetchall()
        return [self._event(r) for r in rows]

    def get_event(self, event_id: str) -> Event:
        """One event (cancelled ones included); raises NotFound."""
        with self._lock:
            row = self._row(event_id)
        return self._event(row)

    def free_busy(
        self, start: datetime, end: datetime, attendees: list[str] | None = None
    ) -> dict[str, list[Busy]]:
        """Busy intervals of the principal's non-cancelled events.

        The local calendar only knows the principal: other attendees are left
        out of the answer (an attendee who is the principal gets the same list).
        """
        busy = [Busy(start=e.start, end=e.end, title=e.title) for e in self.list_events(start, end)]
        out: dict[str, list[Busy]] = {"me": busy}
        me = self.principal.email.lower()
        for who in attendees or []:
            if who.strip().lower() == me:
                out[who] = list(busy)
        return out

    # ------------------------------------------------------------- writing

    def create_event(self, event: NewEvent, idempotency_key: str) -> Event:
        """Create an event once per key; a repeated key returns the first event."""
        tz = _zone(event.timezone)
        event_id = self._id_for(idempotency_key)
        start_date = end_date = None
        if event.all_day:
            first, stop = all_day_dates(event.start, event.end, tz)
            start_utc, end_utc = _utc(_midnight(first, tz)), _utc(_midnight(stop, tz))
            start_date, end_date = first.isoformat(), stop.isoformat()
        else:
            if event.end <= event.start:
                raise ProviderError("An event must end after it starts.")
            start_utc, end_utc = _utc(event.start), _utc(event.end)
        now = _utc(datetime.now(UTC))
        with self._lock:
            existing = self._db.execute("SELECT * FROM events WHERE id = ?", (event_id,)).fetchone()
            if existing is not None:
                return self._event(existing)
            self._db.execute(
                "INSERT INTO events (id, title, start_utc, end_utc, start_date, end_date,"
                " timezone, all_day, location, description, attendees, organizer, status,"
                " last_key, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'confirmed', ?, ?, ?)",
                (
                    event_id,
                    event.title,
                    start_utc,
                    end_utc,
                    start_date,
                    end_date,
                    event.timezone,
                    int(event.all_day),
                    event.location,
                    event.description,
                    json.dumps(event.attendees),
                    self.principal.email,
                    idempotency_key,
                    now,
                    now,
                ),
            )
            row = self._row(event_id)
        return self._event(row)

    def move_event(
        self, event_id: str, start: datetime, end: datetime, idempotency_key: str
    ) -> Event:
        """Give an event new start and end (dates only, for an all-day event)."""
        with self._lock:
            row = self._row(event_id)
            if self._applied(idempotency_key):
                return self._event(row)
            if row["status"] == "cancelled":
                raise ProviderError(
                    f"Event '{row['title']}' is cancelled; create a new event instead of moving it."
                )
            tz = _zone(row["timezone"])
            start_date = end_date = None
            if row["all_day"]:
                first, stop = all_day_dates(start, end, tz)
                start_utc, end_utc = _utc(_midnight(first, tz)), _utc(_midnight(stop, tz))
                start_date, end_date = first.isoformat(), stop.isoformat()
            else:
                if end <= start:
                    raise ProviderError("An event must end after it starts.")
                start_utc, end_utc = _utc(start), _utc(end)
            with self.transaction():
                self._db.execute(
                    "UPDATE events SET start_utc = ?, end_utc = ?, start_date = ?, end_date = ?,"
                    " sequence = sequence + 1, last_key = ?, updated_at = ? WHERE id = ?",
                    (
                        start_utc,
                        end_utc,
                        start_date,
                        end_date,
                        idempotency_key,
                        _utc(datetime.now(UTC)),
                        event_id,
                    ),
                )
                self._record(idempotency_key, event_id, "move")
            row = self._row(event_id)
        return self._event(row)

    def cancel_event(self, event_id: str, idempotency_key: str) -> Event:
        """Mark an event cancelled; the row is kept so the change can be seen and undone."""
        with self._lock:
            row = self._row(event_id)
            if self._applied(idempotency_key) or row["status"] == "cancelled":
                return self._event(row)
            with self.transaction():
                self._db.execute(
                    "UPDATE events SET status = 'cancelled', sequence = sequence + 1,"
                    " last_key = ?, updated_at = ? WHERE id = ?",
                    (idempotency_key, _utc(datetime.now(UTC)), event_id),
                )
                self._record(idempotency_key, event_id, "cancel")
            row = self._row(event_id)
        return self._event(row)

    # ------------------------------------------------------------- export

    def export_ics(self, start: datetime | None = None, end: datetime | None = None) -> bytes:
        """The calendar (or the events overlapping [start, end)) as an iCalendar file.

        Cancelled events are included with ``STATUS:CANCELLED`` so a subscriber
        removes them too; VTIMEZONE components cover every zone used.
        """
        import icalendar

        lo = start or datetime(1900, 1, 1, tzinfo=UTC)
        hi = end or datetime(9000, 1, 1, tzinfo=UTC)
        events = self.list_events(lo, hi, include_cancelled=True)
        cal = icalendar.Calendar()
        cal.add("prodid", PRODID)
        cal.add("version", "2.0")
        cal.add("calscale", "GREGORIAN")
        cal.add("x-wr-calname", f"{self.principal.name} (Secretary)")
        cal.add("x-wr-timezone", self.principal.timezone)
        with self._lock:
            stamps = {
                r["id"]: (r["updated_at"], r["sequence"])
                for r in self._db.execute("SELECT id, updated_at, sequence FROM events")
            }
        for ev in events:
            item = icalendar.Event()
            item.add("uid", f"{ev.id}@secretary.local")
            updated, sequence = stamps.get(ev.id, (_utc(datetime.now(UTC)), 0))
            item.add("dtstamp", _from_utc(updated))
            item.add("sequence", sequence)
            if ev.all_day:
                item.add("dtstart", ev.start.date())
                item.add("dtend", ev.end.date())
            else:
                item.add("dtstart", ev.start)
                item.add("dtend", ev.end)
            item.add("summary", ev.title)
            if ev.location:
                item.add("location", ev.location)
            if ev.description:
                item.add("description", ev.description)
            if ev.organizer:
                item.add("organizer", icalendar.vCalAddress(f"mailto:{ev.organizer}"))
            for who in ev.attendees:
                item.add("attendee", icalendar.vCalAddress(f"mailto:{who}"))
            item.add("status", ev.status.upper())
            cal.add_component(item)
        if events:
            # Bounding the zone rules to the events keeps the file small.
            first = min(e.start for e in events).date() - timedelta(days=366)
            last = max(e.end for e in events).date() + timedelta(days=366)
            cal.add_missing_timezones(first_date=first, last_date=last)
        return bytes(cal.to_ical())

    # ------------------------------------------------------------- helpers

    def _id_for(self, idempotency_key: str) -> str:
        if not idempotency_key:
            return f"evt-{uuid.uuid4().hex[:16]}"
        digest = hashlib.sha256(f"{self.principal.id}\0{idempotency_key}".encode()).hexdigest()
        return f"evt-{digest[:16]}"

    def _row(self, event_id: str) -> sqlite3.Row:
        row: sqlite3.Row | None = self._db.execute(
            "SELECT * FROM events WHERE id = ?", (event_id,)
        ).fetchone()
        if row is None:
            raise NotFound(
                f"No event with id '{event_id}' in the calendar. "
                "List the agenda to find the event's id."
            )
        return row

    def _applied(self, idempotency_key: str) -> bool:
        if not idempotency_key:
            return False
        hit = self._db.execute(
            "SELECT 1 FROM changes WHERE idempotency_key = ?", (idempotency_key,)
        ).fetchone()
        return hit is not None

    def _record(self, idempotency_key: str, event_id: str, kind: str) -> None:
        if idempotency_key:
            self._db.execute(
                "INSERT INTO changes (idempotency_key, event_id, kind, applied_at)"
                " VALUES (?, ?, ?, ?)",
                (idempotency_key, event_id, kind, _utc(datetime.now(UTC))),
            )

    def _event(self, row: sqlite3.Row) -> Event:
        tz = _zone(row["timezone"])
        start: datetime
        end: datetime
        if row["all_day"]:
            start = _midnight(date.fromisoformat(row["start_date"]), tz)
            end = _midnight(date.fromisoformat(row["end_date"]), tz)
        else:
            start = _from_utc(row["start_utc"]).astimezone(tz)
            end = _from_utc(row["end_utc"]).astimezone(tz)
        data: dict[str, Any] = {
            "id": row["id"],
            "title": row["title"],
            "start": start,
            "end": end,
            "timezone": row["timezone"],
            "all_day": bool(row["all_day"]),
            "location": row["location"],
            "description": row["description"],
            "attendees": json.loads(row["attendees"]),
            "organizer": row["organizer"],
            "status": row["status"],
        }
        return Event(**data)
