"""One small database layer over SQLite (the default) and PostgreSQL.

``open_database(url_or_path)`` gives a :class:`Database` for a file path (or a
``sqlite:///`` URL) or a ``postgresql://`` URL. Code above it writes SQL once,
with ``?`` placeholders, and gets rows as plain dicts on both backends:

* ``execute`` / ``fetchone`` / ``fetchall`` run one statement; ``?`` becomes
  ``%s`` on PostgreSQL (and a literal ``%`` is escaped), never inside quotes.
* ``transaction()`` is ``BEGIN IMMEDIATE`` on SQLite (one writer at a time, so
  read-then-write is safe) and a normal transaction on PostgreSQL, where
  :attr:`Database.for_update` (``" FOR UPDATE"``) locks the rows a
  read-then-write depends on.
* ``hold(name)`` is a lock on a name that lives exactly as long as its holder:
  a session advisory lock on PostgreSQL, an ``flock`` on a file beside the
  SQLite database. A process that dies lets go of it, so work it left half
  done can be told apart from work another live process is doing.
* ``migrate(db, component, steps)`` applies versioned schema steps once each,
  recorded in ``schema_migrations``, safe when several processes start at once.

Each thread gets its own connection (opened on first use). The dialect
differences schemas need are explicit here: :meth:`Database.ddl` (types) and
:meth:`Database.forbid` (a trigger that refuses ``DELETE``/``UPDATE``).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from tools.foundation.errors import SecretaryError

Row = dict[str, Any]
Dialect = Literal["sqlite", "postgres"]
Step = str | Callable[["Database"], None]
"""A migration step: a SQL script, or a function doing the work on the database."""

HOLD_POLL = 0.02
"""Seconds between attempts to take a held lock."""
LOCK_BUCKETS = 256
"""SQLite holds share this many lock files (a collision only makes one wait)."""


class DatabaseError(SecretaryError):
    """The database cannot be opened or reached; the message says which and why."""


def is_postgres_url(target: str | Path) -> bool:
    """Whether ``target`` names a PostgreSQL database."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def translate(sql: str) -> str:
    """SQL with ``?`` placeholders rewritten for psycopg (``%s``, literal ``%`` doubled).

    Question marks and percent signs inside quoted strings or identifiers stay
    text (percent signs doubled, as psycopg reads them everywhere).
    """
    out: list[str] = []
    quote: str | None = None
    for ch in sql:
        if quote is not None:
            out.append("%%" if ch == "%" else ch)
            if ch == quote:
                quote = None  # a doubled quote re-opens at once on the next char
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    return "".join(out)


def _split_sqlite_script(script: str) -> list[str]:
    """Statements of a SQLite script (trigger bodies with their inner ``;`` kept whole)."""
    statements, buf = [], ""
    for piece in script.split(";"):
        buf += piece + ";"
        if sqlite3.complete_statement(buf):
            if buf.strip(" \t\r\n;"):
                statements.append(buf.strip())
            buf = ""
    if buf.strip(" \t\r\n;"):
        statements.append(buf.strip())
    return statements


def _lock_number(name: str) -> int:
    """A signed 64-bit number for a lock name (PostgreSQL advisory lock key)."""
    digest = hashlib.sha256(f"secretary:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


_HELD: dict[tuple[str, int, int], int] = {}
"""SQLite lock files held by this process: (file, thread, Database) -> depth, for re-entry.

Like a PostgreSQL session, one Database on one thread may re-take what it holds;
another Database object (a separate worker, in tests) has to wait for it."""
_HELD_GUARD = threading.Lock()


@dataclass
class _Local:
    generation: int
    conn: Any
    depth: int = 0


class Database:
    """A SQLite file or a PostgreSQL database, one connection per thread."""

    def __init__(self, target: str | Path, schema: str | None = None) -> None:
        """Open lazily (connections are made on first use, one per thread).

        Args:
            target: A SQLite path or ``sqlite:///`` URL, or a ``postgresql://`` URL.
            schema: PostgreSQL only: the schema holding (and searched for) the
                tables; created on first connection. Ignored for SQLite, where
                each file is already its own namespace.
        """
        self.schema: str | None = None
        if is_postgres_url(target):
            self.dialect: Dialect = "postgres"
            self.url = str(target)
            self.path: Path | None = None
            if schema is not None:
                if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", schema):
                    raise ValueError(f"'{schema}' is not a plain schema name")
                self.schema = schema
        else:
            text = str(target)
            if text.startswith("sqlite:///"):
                text = text[len("sqlite:///") :]
            self.dialect = "sqlite"
            self.path = Path(text).expanduser()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.url = f"sqlite:///{self.path}"
        self._local = threading.local()
        self._generation = 0
        self._open: list[Any] = []
        self._guard = threading.Lock()

    def __repr__(self) -> str:
        where = f", schema={self.schema!r}" if self.schema else ""
        return f"Database({redact(self.url)!r}{where})"

    @property
    def for_update(self) -> str:
        """Row-lock suffix for a ``SELECT`` inside a transaction (empty on SQLite)."""
        return " FOR UPDATE" if self.dialect == "postgres" else ""

    # ------------------------------------------------------------ connections
    def _connect(self) -> Any:
        if self.dialect == "sqlite":
            assert self.path is not None
            conn = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout=30000")
            _wal(conn)
            return conn
        import psycopg
        from psycopg.rows import dict_row

        try:
            pg = psycopg.connect(
                self.url, autocommit=True, row_factory=dict_row, connect_timeout=10
            )
        except psycopg.OperationalError as exc:
            lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
            # "connection failed: connection to server at ... failed: Connection refused"
            reason = lines[0].rsplit(": ", 1)[-1] if lines else type(exc).__name__
            raise DatabaseError(
                f"Cannot reach the database at {redact(self.url)} ({reason}); "
                "check SECRETARY_DATABASE_URL and that the server is running."
            ) from None
        if self.schema is not None:
            try:
                pg.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
            except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateSchema):
                pass  # another process created it at the same moment
            pg.execute(f"SET search_path TO {self.schema}")
        return pg

    def _state(self) -> _Local:
        state: _Local | None = getattr(self._local, "state", None)
        if state is None or state.generation != self._generation:
            conn = self._connect()
            with self._guard:
                self._open.append(conn)
                state = _Local(self._generation, conn)
            self._local.state = state
        return state

    def connection(self) -> Any:
        """This thread's raw connection (``sqlite3.Connection`` or ``psycopg.Connection``)."""
        return self._state().conn

    def close(self) -> None:
        """Close every connection this object opened; later use opens new ones."""
        with self._guard:
            conns, self._open = self._open, []
            self._generation += 1
        for conn in conns:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
        self._local = threading.local()

    # ------------------------------------------------------------ statements
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement with ``?`` placeholders; returns the cursor."""
        conn = self.connection()
        if self.dialect == "sqlite":
            return conn.execute(sql, tuple(params))
        return conn.execute(translate(sql), tuple(params))

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of a query as a dict, or None."""
        row = self.execute(sql, params).fetchone()
        return dict(row) if row is not None else None

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Every row of a query as dicts."""
        return [dict(r) for r in self.execute(sql, params).fetchall()]

    def script(self, sql: str) -> None:
        """Run several statements (no parameters), inside the current transaction if any."""
        if self.dialect == "sqlite":
            conn = self.connection()
            for statement in _split_sqlite_script(sql):
                conn.execute(statement)
        else:
            self.connection().execute(sql)  # no parameters: psycopg sends the text as is

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """One transaction on this thread's connection; nested calls join the outer one.

        SQLite: ``BEGIN IMMEDIATE`` (the write lock is taken at once).
        PostgreSQL: ``BEGIN`` (read committed); lock rows with :attr:`for_update`.
        """
        state = self._state()
        if state.depth:
            state.depth += 1
            try:
                yield self
            finally:
                state.depth -= 1
            return
        state.conn.execute("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN")
        state.depth = 1
        try:
            yield self
        except BaseException:
            state.depth = 0
            try:
                state.conn.execute("ROLLBACK")
            except Exception:  # noqa: BLE001 - the connection may be gone; the error matters
                pass
            raise
        else:
            state.depth = 0
            state.conn.execute("COMMIT")

    # ------------------------------------------------------------ locks
    @contextmanager
    def hold(self, name: str, timeout: float = 300.0, *, exact: bool = False) -> Iterator[bool]:
        """Hold a named lock while the block runs; yields False if ``timeout`` passed first.

        The lock belongs to this connection (PostgreSQL) or open file (SQLite),
        so a process that dies releases it. A thread may take a lock it already
        holds through this object (it does not wait for itself).

        On SQLite, names share 256 lock files (two names in one file only make
        one wait); ``exact=True`` gives the name a file of its own, for locks
        whose being free must mean exactly that nobody holds that name (such as
        a worker's liveness lock). Use it for few, long-lived names only.
        """
        if self.dialect == "postgres":
            number = _lock_number(name)
            conn = self.connection()
            got = self._poll(
                lambda: bool(
                    conn.execute("SELECT pg_try_advisory_lock(%s) AS got", (number,)).fetchone()[
                        "got"
                    ]
                ),
                timeout,
            )
            try:
                yield got
            finally:
                if got:
                    try:
                        conn.execute("SELECT pg_advisory_unlock(%s)", (number,))
                    except Exception:  # noqa: BLE001 - a closed connection released it already
                        pass
            return
        assert self.path is not None
        folder = self.path.with_name(self.path.name + "-locks")
        folder.mkdir(exist_ok=True)
        if exact:
            lockfile = str(folder / f"{hashlib.sha256(name.encode()).hexdigest()[:32]}.lock")
        else:
            bucket = int(hashlib.sha256(name.encode()).hexdigest(), 16) % LOCK_BUCKETS
            lockfile = str(folder / f"{bucket:03d}.lock")
        mine = (lockfile, threading.get_ident(), id(self))
        with _HELD_GUARD:
            again = mine in _HELD
            if again:
                # This thread already holds the file (the same name, or another
                # name in the same bucket): re-entering must not wait for itself.
                _HELD[mine] += 1
        if again:
            try:
                yield True
            finally:
                with _HELD_GUARD:
                    _HELD[mine] -= 1
            return
        fd = os.open(lockfile, os.O_RDWR | os.O_CREAT, 0o600)
        try:

            def attempt() -> bool:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return False
                return True

            got = self._poll(attempt, timeout)
            if got:
                with _HELD_GUARD:
                    _HELD[mine] = 1
            try:
                yield got
            finally:
                if got:
                    with _HELD_GUARD:
                        del _HELD[mine]
                    fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def is_held(self, name: str, *, exact: bool = False) -> bool:
        """Whether another connection or process holds ``name`` right now.

        A lock this thread holds itself counts as free (it may re-enter it).
        """
        with self.hold(name, timeout=0, exact=exact) as got:
            return not got

    @staticmethod
    def _poll(attempt: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if attempt():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(HOLD_POLL)

    # ------------------------------------------------------------ dialect helpers
    def forbid(
        self, trigger: str, table: str, operation: Literal["DELETE", "UPDATE"], message: str
    ) -> str:
        """DDL for a trigger that makes ``operation`` on ``table`` fail with ``message``.

        SQLite: a ``BEFORE`` trigger with ``RAISE(ABORT, ...)``. PostgreSQL: a
        plpgsql function raising an exception, fired per statement (so even a
        ``DELETE`` matching no rows fails); forbidding ``DELETE`` there also
        forbids ``TRUNCATE``, which skips delete triggers.
        """
        if "'" in message or not re.fullmatch(r"[a-z_][a-z0-9_]*", trigger + table):
            raise ValueError("trigger and table are plain identifiers; the message has no quote")
        if self.dialect == "sqlite":
            return (
                f"CREATE TRIGGER IF NOT EXISTS {trigger} BEFORE {operation} ON {table}\n"
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END;\n"
            )
        events = "DELETE OR TRUNCATE" if operation == "DELETE" else operation
        return (
            f"CREATE OR REPLACE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS\n"
            f"$fn$ BEGIN RAISE EXCEPTION '{message}'; END $fn$;\n"
            f"DROP TRIGGER IF EXISTS {trigger} ON {table};\n"
            f"CREATE TRIGGER {trigger} BEFORE {events} ON {table}\n"
            f"FOR EACH STATEMENT EXECUTE FUNCTION {trigger}();\n"
        )

    def ddl(self, script: str) -> str:
        """A schema script written for SQLite, in this database's dialect.

        The project's schemas use a small portable subset of SQLite's DDL; on
        PostgreSQL the types are mapped (``BLOB`` -> ``BYTEA``, ``INTEGER`` ->
        ``BIGINT``, ``REAL`` -> ``DOUBLE PRECISION``, ``INTEGER PRIMARY KEY
        AUTOINCREMENT`` -> an identity column) and every table gets a
        ``rowid`` identity column, so ``ORDER BY rowid`` (insertion order)
        means the same on both.
        """
        if self.dialect == "sqlite":
            return script
        out = re.sub(
            r"\bINTEGER\s+PRIMARY\s+KEY\s+AUTOINCREMENT\b",
            "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
            script,
            flags=re.I,
        )
        out = re.sub(r"\bBLOB\b", "BYTEA", out, flags=re.I)
        out = re.sub(r"\bINTEGER\b", "BIGINT", out, flags=re.I)
        out = re.sub(r"\bREAL\b", "DOUBLE PRECISION", out, flags=re.I)
        return re.sub(
            r"(CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?\w+\s*\()",
            r"\1 rowid BIGINT GENERATED BY DEFAULT AS IDENTITY,",
            out,
            flags=re.I,
        )

    def tables(self) -> set[str]:
        """Names of the tables in the database (the current schema on PostgreSQL)."""
        if self.dialect == "sqlite":
            rows = self.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
        else:
            rows = self.fetchall(
                "SELECT table_name AS name FROM information_schema.tables"
                " WHERE table_schema = current_schema()"
            )
        return {r["name"] for r in rows}


def open_database(target: str | Path, schema: str | None = None) -> Database:
    """A :class:`Database` for a SQLite path / ``sqlite:///`` URL or a ``postgresql://`` URL."""
    return Database(target, schema)


def schema_name(name: str) -> str:
    """A PostgreSQL schema name for a principal id or folder name (stable, unique)."""
    slug = re.sub(r"[^a-z0-9_]", "_", name.lower())[:40]
    if slug != name:
        slug += "_" + hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"principal_{slug}"


def _url_from_env() -> str | None:
    """``SECRETARY_DATABASE_URL`` for code built without settings (tests, tools)."""
    from tools.foundation.settings import environment

    return environment().database_url


class Storage:
    """Where one principal's tables (or the shared ones) live.

    Without a database URL each store keeps its own SQLite file in
    ``folder`` (the default). With a ``postgresql://`` URL every store of
    the principal shares one :class:`Database` whose tables live in the
    principal's own schema (``principal_<id>``), so one principal's rows
    cannot even be named from another's connection; the shared tables
    (``schema=None``) live in the database's default schema.
    """

    def __init__(self, folder: Path, url: str | None = None, schema: str | None = None) -> None:
        self.folder = Path(folder)
        self.url = url or None
        self.schema = schema
        self._shared: Database | None = None
        self._files: dict[str, Database] = {}
        self._guard = threading.Lock()

    @classmethod
    def for_principal(cls, folder: Path, principal: str, url: str | None) -> Storage:
        """A principal's storage: SQLite files in ``folder`` or schema ``principal_<id>``."""
        return cls(folder, url, schema_name(principal) if url else None)

    @classmethod
    def default(cls, folder: Path) -> Storage:
        """A principal's storage for code that was given only the principal's folder.

        Uses ``SECRETARY_DATABASE_URL`` when set (the principal's schema is
        named after the folder, which is the principal's id under the data
        directory), SQLite files in ``folder`` otherwise.
        """
        return cls.for_principal(folder, Path(folder).name, _url_from_env())

    @classmethod
    def shared_default(cls, folder: Path) -> Storage:
        """The shared tables' storage for code given only the data directory (see default)."""
        return cls(folder, _url_from_env())

    @property
    def is_postgres(self) -> bool:
        """Whether the tables live in PostgreSQL."""
        return self.url is not None

    def database(self, filename: str) -> Database:
        """The database of one store (``filename`` names its SQLite file)."""
        with self._guard:
            if self.url is not None:
                if self._shared is None:
                    self._shared = Database(self.url, self.schema)
                return self._shared
            db = self._files.get(filename)
            if db is None:
                db = self._files[filename] = Database(self.folder / filename)
            return db

    def close(self) -> None:
        """Close every connection this storage opened."""
        with self._guard:
            for db in [*self._files.values(), *([self._shared] if self._shared else [])]:
                db.close()


# ---------------------------------------------------------------- migrations

_MIGRATIONS_DDL = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " component TEXT NOT NULL,"
    " version INTEGER NOT NULL,"
    " applied_at TEXT NOT NULL,"
    " PRIMARY KEY (component, version))"
)


def _utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _wal(conn: sqlite3.Connection, patience: float = 30.0) -> None:
    """Switch a connection to WAL, waiting while another connection is switching a new file.

    Changing the journal mode needs the database to itself and does not wait on the busy
    timeout: several processes opening one new database at once get "database is locked".
    """
    deadline = time.monotonic() + patience
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _lock_for_migrations(db: Database, component: str) -> None:
    """Inside a transaction: make concurrent migrators of ``component`` wait (PostgreSQL).

    SQLite needs nothing more: ``BEGIN IMMEDIATE`` already lets one writer in.
    """
    if db.dialect == "postgres":
        db.execute("SELECT pg_advisory_xact_lock(?)", (_lock_number(f"migrate:{component}"),))


def applied_versions(db: Database, component: str) -> set[int]:
    """Versions of ``component`` recorded in ``schema_migrations`` (empty if none)."""
    if "schema_migrations" not in db.tables():
        return set()
    rows = db.fetchall("SELECT version FROM schema_migrations WHERE component = ?", (component,))
    return {int(r["version"]) for r in rows}


def migrate(
    db: Database,
    component: str,
    steps: Sequence[Step],
    *,
    adopt: Callable[[Database], int] | None = None,
) -> list[int]:
    """Apply the steps of ``component`` not applied yet; returns the versions applied now.

    Step ``i`` (from 0) is version ``i + 1``. Each runs in its own transaction
    together with its ``schema_migrations`` row, so a failed step leaves
    nothing behind and is tried again next time. Two processes migrating at
    once are serialised (advisory transaction lock on PostgreSQL, ``BEGIN
    IMMEDIATE`` on SQLite); the second finds the version recorded and skips it.

    ``adopt`` handles databases made before versioning: called (in the first
    transaction) when ``component`` has no recorded version, it returns the
    version the existing tables already correspond to (0 = none), and those
    versions are recorded without running their steps.
    """
    want = set(range(1, len(steps) + 1))
    if want <= applied_versions(db, component):
        return []  # the common case: nothing to do, no write lock taken
    with db.transaction():
        _lock_for_migrations(db, "schema_migrations")
        db.execute(_MIGRATIONS_DDL)
    if adopt is not None:
        with db.transaction():
            _lock_for_migrations(db, component)
            if not applied_versions(db, component):
                for version in range(1, min(adopt(db), len(steps)) + 1):
                    db.execute(
                        "INSERT INTO schema_migrations (component, version, applied_at)"
                        " VALUES (?, ?, ?)",
                        (component, version, _utcnow()),
                    )
    applied: list[int] = []
    for version, step in enumerate(steps, start=1):
        with db.transaction():
            _lock_for_migrations(db, component)
            done = db.fetchone(
                "SELECT 1 AS done FROM schema_migrations WHERE component = ? AND version = ?",
                (component, version),
            )
            if done is not None:
                continue
            if isinstance(step, str):
                db.script(step)
            else:
                step(db)
            db.execute(
                "INSERT INTO schema_migrations (component, version, applied_at) VALUES (?, ?, ?)",
                (component, version, _utcnow()),
            )
            applied.append(version)
    return applied
