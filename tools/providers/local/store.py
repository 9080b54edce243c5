"""The store the local providers share: a SQLite file per store, or PostgreSQL.

A :class:`LocalStore` is given a file name in the principal's folder and the
schema it needs. Where its tables live is the principal's
:class:`~tools.foundation.db.Storage`: by default a SQLite file of that name, and with
``SECRETARY_DATABASE_URL`` set, the principal's own schema in PostgreSQL
(every store of a principal shares one connection per thread there).

The schema is applied as versioned migrations (``schema_migrations``): step
1 is the script given, later steps are ``upgrades``; each runs once per
database, whichever process gets there first.

Subclasses write SQL once, with ``?`` placeholders, and read rows by column
name; ``self._db`` runs a statement, ``self.transaction()`` groups several
(with ``BEGIN IMMEDIATE`` on SQLite, so a read-then-write inside it is safe;
on PostgreSQL lock the rows read with ``self.database.for_update``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tools.foundation.db import Database, Step, Storage, migrate


class LocalStore:
    """One store of a principal: its tables, created and migrated on first open."""

    def __init__(
        self,
        path: Path,
        schema: str,
        *,
        storage: Storage | None = None,
        upgrades: Sequence[Step] = (),
    ) -> None:
        """Open (and create or migrate if needed) the store.

        Args:
            path: The SQLite file (its folder is the principal's; its stem
                names the store in ``schema_migrations``).
            schema: The tables, in the portable DDL of :meth:`Database.ddl`.
            storage: Where the principal's tables live; default from the
                folder and ``SECRETARY_DATABASE_URL``.
            upgrades: Later schema versions (2, 3, ...), applied once each: SQL
                scripts (in the same portable DDL) or functions of the Database.
        """
        self.path = Path(path)
        self.storage = storage or Storage.default(self.path.parent)
        self.database: Database = self.storage.database(self.path.name)
        self._db = self.database
        # Kept for the subclasses' read-modify-write sections within one process.
        self._lock = threading.RLock()
        steps = [schema, *upgrades]
        migrate(
            self.database,
            self.path.stem,
            [self.database.ddl(step) if isinstance(step, str) else step for step in steps],
        )

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """One write transaction; nested calls join it."""
        with self.database.transaction() as db:
            yield db

    def close(self) -> None:
        """Close this store's connections (they reopen on next use)."""
        self.database.close()
