"""The embedded default calendar: one SQLite file per principal, exportable as iCalendar.

Timed events are stored as UTC instants plus the IANA zone they were created
in, so they come back in that zone and survive daylight-saving changes. All-day
events are stored as dates (start inclusive, end exclusive), because an all-day
event is a calendar day, not a span of hours; they are returned as aware
datetimes at local midnight of the event's zone.

Recurring events keep their RRULE/EXDATE/RDATE lines on the series row and are
expanded with ``recurring_ical_events`` whenever a window is listed, in the
series' own zone (a weekly 10:00 stays at 10:00 across a daylight-saving
change). An occurrence has the stable id ``<series id>_<original start>``
(``evt-1a2b_20261124T090000Z``, or ``_20261124`` for all-day series). Changing
one occurrence (move, cancel, an answer) stores it as an override row with
that id, exported as a VEVENT with RECURRENCE-ID.

Writes are idempotent per key: a create with a key already used returns the
event it made, and a move, cancel or answer whose key was already applied
returns the event unchanged, so a retried action never lands twice.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tools.foundation.db import Database, Row
from tools.providers.base import Busy, Event, NewEvent, NotFound, PartStat, ProviderError
from tools.providers.calendar_rules import (
    all_day_dates,
    no_such_event,
    normalize_recurrence,
    require_aware,
    require_movable,
    require_span,
    require_zone,
)
from tools.providers.local.store import LocalStore

if TYPE_CHECKING:
    import icalendar

    from tools.foundation.db import Storage
    from tools.foundation.principals import Principal

PRODID = "-//Secretary//Local calendar//EN"
_UTC_FMT = "%Y-%m-%dT%H:%M:%S.%fZ"
_RID_FMT = "%Y%m%dT%H%M%SZ"
_NO_RULES = "[]"

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

# Columns added after the first release; older files get them in schema version 2.
_ADDED_COLUMNS = {
    "recurrence": "TEXT NOT NULL DEFAULT '[]'",
    "recurring_id": "TEXT NOT NULL DEFAULT ''",
    "rid": "TEXT NOT NULL DEFAULT ''",
    "uid": "TEXT NOT NULL DEFAULT ''",
    "attendance": "TEXT NOT NULL DEFAULT '{}'",
    "end_timezone": "TEXT NOT NULL DEFAULT ''",
}


def _add_event_columns(db: Database) -> None:
    """Schema version 2: recurrence, iTIP and end-zone columns, and their indexes.

    Files made before versioning may already have some of the columns, so
    only the missing ones are added.
    """
    have = {col[0] for col in db.execute("SELECT * FROM events LIMIT 0").description}
    for column, decl in _ADDED_COLUMNS.items():
        if column not in have:
            db.execute(f"ALTER TABLE events ADD COLUMN {column} {decl}")
    db.execute("CREATE INDEX IF NOT EXISTS events_uid ON events (uid)")
    db.execute("CREATE INDEX IF NOT EXISTS events_series ON events (recurring_id)")


_UNVERIFIED = "ALTER TABLE events ADD COLUMN unverified TEXT NOT NULL DEFAULT '[]';"
"""Schema version 3: who came by e-mail unauthenticated (an invitation's organizer, attendees)."""


def _utc(dt: datetime) -> str:
    """A fixed-width UTC stamp, so string order in SQL is time order."""
    require_aware(dt)
    return dt.astimezone(UTC).strftime(_UTC_FMT)


def _from_utc(text: str) -> datetime:
    return datetime.strptime(text, _UTC_FMT).replace(tzinfo=UTC)


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def _day_of(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _rid_key(original: date | datetime, all_day: bool) -> str:
    """The occurrence part of an occurrence id: its original start in UTC (a date if all-day)."""
    if all_day or not isinstance(original, datetime):
        day = original.date() if isinstance(original, datetime) else original
        return day.strftime("%Y%m%d")
    return original.astimezone(UTC).strftime(_RID_FMT)


class LocalCalendar(LocalStore):
    """A principal's calendar in ``root/calendar.sqlite``."""

    sends_invitations = False
    """Attendees are invited by e-mail (iTIP) by the tools, not by this calendar."""

    def __init__(self, root: Path, principal: Principal, *, storage: Storage | None = None) -> None:
        """Open (and create if needed) the calendar database.

        Args:
            root: The principal's workspace directory.
            principal: Whose calendar it is (organizer address and default zone).
            storage: Where the principal's tables live; default from ``root``
                and ``SECRETARY_DATABASE_URL``.
        """
        self.principal = principal
        super().__init__(
            root / "calendar.sqlite",
            _SCHEMA,
            storage=storage,
            upgrades=[_add_event_columns, _UNVERIFIED],
        )

    # ------------------------------------------------------------- reading

    def list_events(
        self, start: datetime, end: datetime, include_cancelled: bool = False
    ) -> list[Event]:
        """Events overlapping [start, end), recurring ones expanded, sorted by start.

        Cancelled events (and cancelled occurrences) only on request.
        """
        lo, hi = _utc(start), _utc(end)
        with self._lock:
            plain = self._db.execute(
                "SELECT * FROM events WHERE start_utc < ? AND end_utc > ?"
                " AND recurrence = '[]' AND recurring_id = ''",
                (hi, lo),
            ).fetchall()
            series = self._db.execute(
                "SELECT * FROM events WHERE recurrence != '[]' AND start_utc < ?", (hi,)
            ).fetchall()
            overrides = self._overrides([r["id"] for r in series])
        events = [self._event(r) for r in plain]
        for row in series:
            events += self._expand(row, overrides.get(row["id"], []), start, end)
        if not include_cancelled:
            events = [e for e in events if e.status != "cancelled"]
        events.sort(key=lambda e: (e.start.astimezone(UTC), e.end.astimezone(UTC), e.id))
        return events

    def get_event(self, event_id: str) -> Event:
        """One event or occurrence (cancelled ones included); raises NotFound."""
        with self._lock:
            row = self._find(event_id)
            if row is not None:
                return self._event(row)
            return self._occurrence(event_id)

    def get_by_uid(self, uid: str, recurrence_id: datetime | None = None) -> Event:
        """The event (or one occurrence of a series) with this iCalendar UID; raises NotFound."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM events WHERE uid = ? AND recurring_id = '' ORDER BY created_at",
                (uid.strip(),),
            ).fetchone()
            if row is None:
                raise NotFound(f"No event with UID {uid} in the calendar.")
            if recurrence_id is None:
                return self._event(row)
            if recurrence_id.tzinfo is None:
                recurrence_id = recurrence_id.replace(tzinfo=require_zone(row["timezone"]))
            key = _rid_key(recurrence_id, bool(row["all_day"]))
            occurrence_id = f"{row['id']}_{key}"
            found = self._find(occurrence_id)
            return self._event(found) if found is not None else self._occurrence(occurrence_id)

    def free_busy(
        self, start: datetime, end: datetime, attendees: list[str] | None = None
    ) -> dict[str, list[Busy]]:
        """Busy intervals of the principal's events (not cancelled, not declined).

        The local calendar only knows the principal: other attendees are left
        out of the answer (an attendee who is the principal gets the same list).
        """
        me = self.principal.email.lower()
        busy = [
            Busy(start=e.start, end=e.end, title=e.title)
            for e in self.list_events(start, end)
            if e.attendance.get(me) != "declined"
        ]
        out: dict[str, list[Busy]] = {"me": busy}
        for who in attendees or []:
            if who.strip().lower() == me:
                out[who] = list(busy)
        return out

    # ------------------------------------------------------------- writing

    def create_event(self, event: NewEvent, idempotency_key: str) -> Event:
        """Create an event once per key; a repeated key returns the first event."""
        tz = require_zone(event.timezone)
        event_id = self._id_for(idempotency_key)
        start_utc, end_utc, start_date, end_date = self._span(
            event.start, event.end, event.all_day, tz
        )
        rules = normalize_recurrence(event.recurrence, tz, event.start)
        now = _utc(datetime.now(UTC))
        with self._lock:
            existing = self._find(event_id)
            if existing is not None:
                return self._event(existing)
            # Two processes retrying the same key: the first insert wins, the other is a no-op.
            self._db.execute(
                "INSERT INTO events (id, title, start_utc, end_utc, start_date, end_date,"
                " timezone, all_day, location, description, attendees, organizer, status,"
                " last_key, created_at, updated_at, recurrence, uid, end_timezone)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'confirmed', ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO NOTHING",
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
                    json.dumps(rules),
                    f"{event_id}@secretary.local",
                    "" if event.end_timezone == event.timezone else event.end_timezone,
                ),
            )
            row = self._row(event_id)
        return self._event(row)

    def move_event(
        self, event_id: str, start: datetime, end: datetime, idempotency_key: str
    ) -> Event:
        """Give an event, a whole series or one occurrence new start and end.

        A series moves as a whole only while none of its occurrences was
        changed on its own or excluded; otherwise move occurrences one by one.
        """
        with self._lock, self.transaction():
            row = self._materialize(event_id)
            if self._applied(idempotency_key):
                return self._current(event_id)
            require_movable(row["title"], row["status"])
            if row["recurrence"] != _NO_RULES:
                exceptions = self._db.execute(
                    "SELECT 1 FROM events WHERE recurring_id = ? LIMIT 1", (row["id"],)
                ).fetchone()
                if exceptions is not None or "EXDATE" in row["recurrence"]:
                    raise ProviderError(
                        f"'{row['title']}' repeats and some occurrences were changed on their "
                        "own; move single occurrences (their ids are in the agenda) instead."
                    )
            tz = require_zone(row["timezone"])
            span = self._span(start, end, bool(row["all_day"]), tz)
            with self.transaction():
                self._db.execute(
                    "UPDATE events SET start_utc = ?, end_utc = ?, start_date = ?, end_date = ?,"
                    " sequence = sequence + 1, last_key = ?, updated_at = ? WHERE id = ?",
                    (*span, idempotency_key, _utc(datetime.now(UTC)), row["id"]),
                )
                self._record(idempotency_key, row["id"], "move")
            return self._event(self._row(row["id"]))

    def cancel_event(self, event_id: str, idempotency_key: str) -> Event:
        """Mark an event, a series or one occurrence cancelled; rows are kept, never deleted."""
        with self._lock, self.transaction():
            row = self._materialize(event_id)
            if self._applied(idempotency_key):
                return self._current(event_id)
            if row["status"] == "cancelled":
                return self._event(row)
            with self.transaction():
                self._db.execute(
                    "UPDATE events SET status = 'cancelled', sequence = sequence + 1,"
                    " last_key = ?, updated_at = ? WHERE id = ?",
                    (idempotency_key, _utc(datetime.now(UTC)), row["id"]),
                )
                self._record(idempotency_key, row["id"], "cancel")
            return self._event(self._row(row["id"]))

    def respond(self, event_id: str, answer: PartStat, idempotency_key: str) -> Event:
        """Record the principal's own answer (accepted, declined...) once per key.

        A declined event no longer counts as busy time. The organizer is told
        by the tools (an iTIP reply by e-mail); this calendar only records it.
        """
        with self._lock, self.transaction():
            row = self._materialize(event_id)
            if self._applied(idempotency_key):
                return self._current(event_id)
            with self.transaction():
                self._set_answer(row, self.principal.email, answer)
                self._db.execute(
                    "UPDATE events SET last_key = ? WHERE id = ?", (idempotency_key, row["id"])
                )
                self._record(idempotency_key, row["id"], "respond")
            return self._event(self._row(row["id"]))

    def set_attendance(
        self, event_id: str, attendee: str, answer: PartStat, *, verified: bool = True
    ) -> Event:
        """Record an attendee's answer (from an e-mailed iTIP reply).

        An unverified answer (its mail passed no authentication) is recorded and marked
        so; it never replaces an answer that was verified.

        Raises:
            NotFound: No such event.
            ProviderError: ``attendee`` is not invited to it, or an unverified answer
                would replace a verified one.
        """
        who = attendee.strip().lower()
        with self._lock, self.transaction():
            row = self._materialize(event_id)
            invited = {a.lower() for a in json.loads(row["attendees"])}
            if who not in invited:
                raise ProviderError(f"{attendee} is not an attendee of '{row['title']}'.")
            marks = set(json.loads(row["unverified"] or "[]"))
            answered = json.loads(row["attendance"] or "{}").get(who)
            if not verified and answered and who not in marks:
                raise ProviderError(
                    f"An unverified answer from {who} would replace their verified one; kept."
                )
            marks = marks - {who} if verified else marks | {who}
            with self.transaction():
                self._set_answer(row, attendee, answer)
                self._db.execute(
                    "UPDATE events SET unverified = ? WHERE id = ?",
                    (json.dumps(sorted(marks)), row["id"]),
                )
            return self._event(self._row(row["id"]))

    def store_invitation(
        self,
        event: NewEvent,
        *,
        uid: str,
        organizer: str,
        sequence: int = 0,
        cancelled: bool = False,
        verified: bool = True,
    ) -> Event:
        """File an invitation someone else sent (iTIP REQUEST/CANCEL), keyed by its UID.

        A newer SEQUENCE replaces the stored version; an older one is ignored.
        The principal's answer stays 'needs-action' until they respond. An unverified
        invitation (its mail passed no authentication) is filed marked so, and never
        changes one that was verified.
        """
        tz = require_zone(event.timezone)
        span = self._span(event.start, event.end, event.all_day, tz)
        rules = normalize_recurrence(event.recurrence, tz, event.start)
        status = "cancelled" if cancelled else "confirmed"
        now = _utc(datetime.now(UTC))
        digest = hashlib.sha256(f"{self.principal.id}\0uid\0{uid}".encode()).hexdigest()
        event_id = f"evt-{digest[:16]}"
        with self._lock, self.transaction():
            row = self._find(event_id, lock=True)
            if row is not None and row["sequence"] > sequence:
                return self._event(row)
            held = row is not None and organizer.lower() not in json.loads(row["unverified"])
            if row is not None and not verified and held:
                return self._event(row)  # a spoofed update must not move a verified meeting
            marks = json.dumps([] if verified else [organizer.lower()])
            with self.transaction():
                if row is None:
                    self._db.execute(
                        "INSERT INTO events (id, title, start_utc, end_utc, start_date, end_date,"
                        " timezone, all_day, location, description, attendees, organizer,"
                        " status, sequence, created_at, updated_at, recurrence, uid, attendance,"
                        " unverified)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                        " ON CONFLICT (id) DO NOTHING",
                        (
                            event_id, event.title, *span, event.timezone, int(event.all_day),
                            event.location, event.description, json.dumps(event.attendees),
                            organizer, status, sequence, now, now, json.dumps(rules), uid,
                            json.dumps({self.principal.email.lower(): "needs-action"}), marks,
                        ),
                    )  # fmt: skip
                else:
                    self._db.execute(
                        "UPDATE events SET title = ?, start_utc = ?, end_utc = ?, start_date = ?,"
                        " end_date = ?, location = ?, description = ?, attendees = ?,"
                        " status = ?, sequence = ?, recurrence = ?, updated_at = ?, unverified = ?"
                        " WHERE id = ?",
                        (
                            event.title, *span, event.location, event.description,
                            json.dumps(event.attendees), status, sequence, json.dumps(rules),
                            now, marks, event_id,
                        ),
                    )  # fmt: skip
            return self._event(self._row(event_id))

    # ------------------------------------------------------------- export

    def export_ics(self, start: datetime | None = None, end: datetime | None = None) -> bytes:
        """The calendar (or the events overlapping [start, end)) as an iCalendar file.

        Series keep their RRULE/EXDATE lines, changed occurrences follow as
        VEVENTs with RECURRENCE-ID, and cancelled events are included with
        ``STATUS:CANCELLED`` so a subscriber removes them too; VTIMEZONE
        components cover every zone used.
        """
        from tools.providers.ical import calendar_of, event_component

        lo = _utc(start or datetime(1900, 1, 1, tzinfo=UTC))
        hi = _utc(end or datetime(9000, 1, 1, tzinfo=UTC))
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM events WHERE recurring_id = '' AND start_utc < ?"
                " AND (end_utc > ? OR recurrence != '[]')"
                " ORDER BY start_utc, end_utc, id",
                (hi, lo),
            ).fetchall()
            overrides = self._overrides([r["id"] for r in rows if r["recurrence"] != _NO_RULES])
        components = []
        for row in rows:
            for r in [row, *overrides.get(row["id"], [])]:
                ev = self._event(r)
                components.append(event_component(ev, stamp=_from_utc(r["updated_at"])))
        cal = calendar_of(components, None, prodid=PRODID)
        cal.add("x-wr-calname", f"{self.principal.name} (Secretary)")
        cal.add("x-wr-timezone", self.principal.timezone)
        return bytes(cal.to_ical())

    # ------------------------------------------------------------- helpers

    def _span(
        self, start: datetime, end: datetime, all_day: bool, tz: ZoneInfo
    ) -> tuple[str, str, str | None, str | None]:
        """Stored columns (start_utc, end_utc, start_date, end_date) of a span."""
        if all_day:
            first, stop = all_day_dates(start, end, tz)
            return (
                _utc(_midnight(first, tz)),
                _utc(_midnight(stop, tz)),
                first.isoformat(),
                stop.isoformat(),
            )
        require_span(start, end)
        return _utc(start), _utc(end), None, None

    def _id_for(self, idempotency_key: str) -> str:
        if not idempotency_key:
            return f"evt-{uuid.uuid4().hex[:16]}"
        digest = hashlib.sha256(f"{self.principal.id}\0{idempotency_key}".encode()).hexdigest()
        return f"evt-{digest[:16]}"

    def _find(self, event_id: str, *, lock: bool = False) -> Row | None:
        """The event's row; ``lock`` (inside a transaction) locks it until commit."""
        suffix = self._db.for_update if lock else ""
        return self._db.fetchone("SELECT * FROM events WHERE id = ?" + suffix, (event_id,))

    def _row(self, event_id: str) -> Row:
        row = self._find(event_id)
        if row is None:
            raise no_such_event(event_id)
        return row

    def _current(self, event_id: str) -> Event:
        """The event as it is now (for a replayed write)."""
        row = self._find(event_id)
        return self._event(row) if row is not None else self._occurrence(event_id)

    def _overrides(self, series_ids: list[str]) -> dict[str, list[Row]]:
        out: dict[str, list[Row]] = {}
        if not series_ids:
            return out
        marks = ",".join("?" * len(series_ids))
        for row in self._db.fetchall(
            f"SELECT * FROM events WHERE recurring_id IN ({marks}) ORDER BY rid", series_ids
        ):
            out.setdefault(row["recurring_id"], []).append(row)
        return out

    def _expand(
        self, series: Row, overrides: list[Row], start: datetime, end: datetime
    ) -> list[Event]:
        """The occurrences of a series that overlap [start, end), overrides applied."""
        import recurring_ical_events

        from tools.providers.ical import calendar_of, event_component, ical_time

        base = self._event(series)
        stamp = _from_utc(series["updated_at"])
        components = [event_component(base, stamp=stamp)]
        by_rid = {r["rid"]: r for r in overrides}
        components += [event_component(self._event(r), stamp=stamp) for r in overrides]
        cal = calendar_of(components, None)
        out: list[Event] = []
        all_day = bool(series["all_day"])
        tz = require_zone(series["timezone"])
        for item in recurring_ical_events.of(cal).between(start, end):
            original = ical_time(item, "RECURRENCE-ID") or ical_time(item, "DTSTART")
            assert original is not None
            key = _rid_key(original, all_day)
            if key in by_rid:
                out.append(self._event(by_rid[key]))
                continue
            out.append(self._as_occurrence(base, item, key, tz))
        return out

    def _as_occurrence(self, base: Event, item: icalendar.Event, key: str, tz: ZoneInfo) -> Event:
        from tools.providers.ical import ical_time

        s, e = ical_time(item, "DTSTART"), ical_time(item, "DTEND")
        assert s is not None and e is not None
        if isinstance(s, datetime) and isinstance(e, datetime):
            start, end = s.astimezone(tz), e.astimezone(tz)
        else:
            start, end = _midnight(_day_of(s), tz), _midnight(_day_of(e), tz)
        return base.model_copy(
            update={
                "id": f"{base.id}_{key}",
                "start": start,
                "end": end,
                "recurring_id": base.id,
                "recurrence_id": start,
            }
        )

    def _occurrence(self, occurrence_id: str) -> Event:
        """An unchanged occurrence of a series, from its id; raises NotFound."""
        series_id, _, key = occurrence_id.rpartition("_")
        series = self._find(series_id) if series_id else None
        if series is None or series["recurrence"] == _NO_RULES:
            self._row(occurrence_id)  # raises NotFound with the usual sentence
        assert series is not None
        tz = require_zone(series["timezone"])
        try:
            if series["all_day"]:
                original = _midnight(datetime.strptime(key, "%Y%m%d").date(), tz)
            else:
                original = datetime.strptime(key, _RID_FMT).replace(tzinfo=UTC)
        except ValueError:
            raise no_such_event(occurrence_id) from None
        for ev in self._expand(series, [], original, original + timedelta(seconds=1)):
            if ev.id == occurrence_id:
                return ev
        raise NotFound(
            f"'{series['title']}' has no occurrence at {original.astimezone(tz):%Y-%m-%d %H:%M}. "
            "List the agenda to find the event's id."
        )

    def _materialize(self, event_id: str) -> Row:
        """The row of an event, locked until commit (call inside a transaction).

        An unchanged occurrence first becomes an override row.
        """
        row = self._find(event_id, lock=True)
        if row is not None:
            return row
        ev = self._occurrence(event_id)
        series = self._row(ev.recurring_id)
        now = _utc(datetime.now(UTC))
        tz = require_zone(series["timezone"])
        span = self._span(ev.start, ev.end, ev.all_day, tz)
        self._db.execute(
            "INSERT INTO events (id, title, start_utc, end_utc, start_date, end_date, timezone,"
            " all_day, location, description, attendees, organizer, status, sequence,"
            " created_at, updated_at, recurring_id, rid, uid, attendance, unverified)"
            " SELECT ?, title, ?, ?, ?, ?, timezone, all_day, location, description, attendees,"
            " organizer, status, sequence, ?, ?, id, ?, uid, attendance, unverified FROM events"
            " WHERE id = ?"
            " ON CONFLICT (id) DO NOTHING",
            (event_id, *span, now, now, event_id.rpartition("_")[2], series["id"]),
        )
        row = self._find(event_id, lock=True)
        if row is None:
            return self._row(event_id)  # raises NotFound with the usual sentence
        return row

    def _set_answer(self, row: Row, who: str, answer: PartStat) -> None:
        answers = json.loads(row["attendance"] or "{}")
        answers[who.strip().lower()] = answer
        self._db.execute(
            "UPDATE events SET attendance = ?, updated_at = ? WHERE id = ?",
            (json.dumps(answers, sort_keys=True), _utc(datetime.now(UTC)), row["id"]),
        )

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

    def _event(self, row: Row) -> Event:
        tz = require_zone(row["timezone"])
        start: datetime
        end: datetime
        if row["all_day"]:
            start = _midnight(date.fromisoformat(row["start_date"]), tz)
            end = _midnight(date.fromisoformat(row["end_date"]), tz)
        else:
            start = _from_utc(row["start_utc"]).astimezone(tz)
            end = _from_utc(row["end_utc"]).astimezone(
                require_zone(row["end_timezone"] or row["timezone"])
            )
        recurrence_id: datetime | None = None
        if row["rid"]:
            if row["all_day"]:
                recurrence_id = _midnight(datetime.strptime(row["rid"], "%Y%m%d").date(), tz)
            else:
                recurrence_id = (
                    datetime.strptime(row["rid"], _RID_FMT).replace(tzinfo=UTC).astimezone(tz)
                )
        data: dict[str, Any] = {
            "id": row["id"],
            "title": row["title"],
            "start": start,
            "end": end,
            "timezone": row["timezone"],
            "end_timezone": row["end_timezone"],
            "all_day": bool(row["all_day"]),
            "location": row["location"],
            "description": row["description"],
            "attendees": json.loads(row["attendees"]),
            "organizer": row["organizer"],
            "status": row["status"],
            "attendance": json.loads(row["attendance"] or "{}"),
            "recurrence": json.loads(row["recurrence"] or "[]"),
            "recurring_id": row["recurring_id"],
            "recurrence_id": recurrence_id,
            "uid": row["uid"] or f"{row['id']}@secretary.local",
            "sequence": row["sequence"],
            "unverified": json.loads(row["unverified"] or "[]"),
        }
        return Event(**data)
