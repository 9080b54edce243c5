"""The SQLite store the local providers share: one file, one locked connection."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class SQLiteStore:
    """One SQLite database under a principal's directory, created on first open."""

    def __init__(self, path: Path, schema: str) -> None:
        """Open (and create if needed) the database and apply ``schema``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # Tools may run on worker threads; one connection guarded by a lock is enough.
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(schema)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (the caller holds ``self._lock``)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()
