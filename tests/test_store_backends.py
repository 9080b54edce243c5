"""The local stores and the channel stores on both backends.

* A SQLite file made before schema versioning opens with the current code,
  keeps its rows and gets its ``schema_migrations`` rows.
* On PostgreSQL each principal's stores live in the principal's own schema,
  and one principal's connection cannot see another's rows.
* The Slack event de-duplication gives each event to exactly one of several
  processes sharing one PostgreSQL database.

The last two use the session's PostgreSQL server directly (``pg_url``), so
they run in both passes of the suite.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from agent.channels.slack import SlackState
from tools.foundation.db import Storage
from tools.foundation.principals import Principal
from tools.providers.base import Contact
from tools.providers.local.calendar import LocalCalendar
from tools.providers.local.contacts import LocalContacts
from tools.providers.local.desk import LocalDesk, Visit

BERLIN = ZoneInfo("Europe/Berlin")

# The desk's schema as the release before versioning wrote it (``end`` unquoted).
OLD_DESK = """
CREATE TABLE phone_messages (
    id TEXT PRIMARY KEY, caller TEXT NOT NULL, number TEXT NOT NULL DEFAULT '',
    company TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '',
    callback TEXT NOT NULL DEFAULT '', callback_start TEXT, callback_end TEXT,
    taken_at TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'new'
);
CREATE TABLE visitors (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, company TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '', host TEXT NOT NULL DEFAULT '',
    instructions TEXT NOT NULL DEFAULT '', event_id TEXT NOT NULL DEFAULT '',
    start TEXT NOT NULL, end TEXT NOT NULL
);
CREATE INDEX visitors_start ON visitors (start);
CREATE TABLE tasks (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, owner TEXT NOT NULL DEFAULT 'principal',
    due TEXT, status TEXT NOT NULL DEFAULT 'open', delegated_via TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL, done_at TEXT
);
INSERT INTO visitors (id, name, company, start, end) VALUES
    ('vis-old', 'Grace Hopper', 'Navy', '2026-11-24T10:00:00+01:00', '2026-11-24T11:00:00+01:00');
"""


def _migrations(path: Path) -> list[tuple[str, int]]:
    db = sqlite3.connect(path)
    try:
        rows = db.execute(
            "SELECT component, version FROM schema_migrations ORDER BY component, version"
        ).fetchall()
    finally:
        db.close()
    return [(str(c), int(v)) for c, v in rows]


def test_a_desk_file_from_before_versioning_opens_and_keeps_its_rows(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "desk.sqlite")
    db.executescript(OLD_DESK)
    db.commit()
    db.close()

    # A SQLite file by nature: opened as one whichever backend the run uses.
    desk = LocalDesk(tmp_path, storage=Storage(tmp_path))
    try:
        [visit] = desk.visits(
            datetime(2026, 11, 24, tzinfo=BERLIN), datetime(2026, 11, 25, tzinfo=BERLIN)
        )
        assert (visit.id, visit.name, visit.company) == ("vis-old", "Grace Hopper", "Navy")
        assert visit.end == datetime(2026, 11, 24, 11, tzinfo=BERLIN)
        # The store still writes to the old table (its column ``end`` is quoted now).
        start = datetime(2026, 11, 24, 15, tzinfo=BERLIN)
        desk.add_visit(Visit(name="Alan Kay", start=start, end=start + timedelta(hours=1)), "k1")
        later = desk.visits(start, start + timedelta(hours=1))
        assert [(v.name, v.end) for v in later] == [("Alan Kay", start + timedelta(hours=1))]
    finally:
        desk.close()
    assert _migrations(tmp_path / "desk.sqlite") == [("desk", 1)]


def test_an_old_calendar_file_gets_its_upgrades_once(tmp_path: Path) -> None:
    ada = Principal(id="ada", name="Ada", email="ada@example.com", timezone="Europe/Berlin")
    first = LocalCalendar(tmp_path, ada, storage=Storage(tmp_path))
    first.close()
    steps = [("calendar", 1), ("calendar", 2), ("calendar", 3)]
    assert _migrations(tmp_path / "calendar.sqlite") == steps
    # The upgrade adds what is missing and nothing twice: a second open changes nothing.
    again = LocalCalendar(tmp_path, ada, storage=Storage(tmp_path))
    again.close()
    assert _migrations(tmp_path / "calendar.sqlite") == steps


def test_two_principals_stores_live_in_separate_schemas(tmp_path: Path, pg_url: str) -> None:
    ann = Storage.for_principal(tmp_path / "ann", "ann", pg_url)
    bob = Storage.for_principal(tmp_path / "bob", "bob", pg_url)
    try:
        ann_book = LocalContacts(tmp_path / "ann", storage=ann)
        bob_book = LocalContacts(tmp_path / "bob", storage=bob)
        ann_book.upsert(Contact(name="Dana Ortiz", email="dana@acme.com"), "k-ann")
        bob_book.upsert(Contact(name="Eve Stone", email="eve@globex.com"), "k-bob")

        assert [c.name for c in ann_book.find()] == ["Dana Ortiz"]
        assert [c.name for c in bob_book.find()] == ["Eve Stone"]
        ann_db, bob_db = ann_book.database, bob_book.database
        assert (ann_db.schema, bob_db.schema) == ("principal_ann", "principal_bob")
        where = ann_db.fetchall(
            "SELECT table_schema FROM information_schema.tables"
            " WHERE table_name = 'contacts' ORDER BY table_schema"
        )
        assert [r["table_schema"] for r in where] == ["principal_ann", "principal_bob"]
        # Unqualified names resolve in one's own schema only; the other's rows stay out.
        names = {r["name"] for r in bob_db.fetchall("SELECT name FROM contacts")}
        assert names == {"Eve Stone"}
        assert bob_book.by_email("dana@acme.com") is None
        assert not (tmp_path / "ann" / "contacts.sqlite").exists()
    finally:
        ann.close()
        bob.close()


def _race(states: list[tuple[str, SlackState]], key: str) -> dict[str, bool]:
    """``first_time(key)`` on every state at the same moment, one thread each."""
    start = threading.Barrier(len(states))
    results: dict[str, bool] = {}
    errors: list[BaseException] = []

    def claim(name: str, state: SlackState) -> None:
        try:
            start.wait(timeout=10)
            results[name] = state.first_time(key)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=claim, args=pair) for pair in states]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    return results


def test_each_slack_event_is_claimed_by_exactly_one_process(tmp_path: Path, pg_url: str) -> None:
    # Two desks as on two machines: separate objects, separate connections, one database.
    one = SlackState(tmp_path / "one", storage=Storage(tmp_path / "one", pg_url))
    two = SlackState(tmp_path / "two", storage=Storage(tmp_path / "two", pg_url))
    assert one.database is not two.database
    old = (datetime.now(UTC) - timedelta(days=2)).isoformat(timespec="seconds")
    try:
        for round_ in range(50):
            key = f"event-{round_}"
            # Stale keys to forget, so both callers also race on the clean-up.
            for n in range(3):
                one.database.execute(
                    "INSERT INTO seen (key, at) VALUES (?, ?)", (f"stale-{round_}-{n}", old)
                )
            results = _race([("one", one), ("two", two)], key)
            assert sorted(results.values()) == [False, True], (round_, results)
            # A retry later is not new either.
            assert not one.first_time(key) and not two.first_time(key)
        stale = one.database.fetchone("SELECT count(*) AS n FROM seen WHERE at <= ?", (old,))
        assert stale is not None and stale["n"] == 0
    finally:
        one.close()
        two.close()


def test_the_briefing_reads_the_mail_desk_through_its_store(tmp_path: Path) -> None:
    from tools.briefing import _verdicts
    from tools.context import ToolContext
    from tools.foundation.settings import Settings
    from tools.providers.local.mail_desk import DeskState
    from tools.workspace import open_workspace

    ada = Principal(id="ada", name="Ada", email="ada@example.com", timezone="Europe/Berlin")
    ws = open_workspace(Settings(home=tmp_path, principals=[ada]), ada)
    ctx = ToolContext(principal=ada, workspace=ws)
    try:
        assert _verdicts(ctx) == {}  # no desk yet, and none made by asking
        assert not (ws.root / "mail-desk.sqlite").exists()

        desk = DeskState(ws.root, storage=ws.storage)
        desk.store("inbox", "cursor-1", [("<m1@example.com>", "1", b"From: x\r\n\r\nhi\xff")])
        claimed = desk.claim_next("worker-1", 60.0, lambda worker: False)
        assert claimed is not None and claimed["raw"] == b"From: x\r\n\r\nhi\xff"
        assert type(claimed["raw"]) is bytes
        desk.update("<m1@example.com>", status="done", category="respond", reason="a question")
        assert _verdicts(ctx) == {"<m1@example.com>": ("respond", "a question")}
    finally:
        ws.close()
