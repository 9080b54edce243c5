"""A real PostgreSQL server on loopback for the tests, from Debian's packages.

``postgres_server`` (one per test session) is :func:`evals.postgres.throwaway_postgres`:
``initdb`` into a temporary directory, ``postgres`` on a free port of
127.0.0.1 with trust authentication for loopback only and durability switched
off (the tests never need to survive a power cut, and it makes them several
times faster). As root it runs as the ``postgres`` system user (PostgreSQL
refuses root).

``pg_url`` gives each test its own, empty database (``CREATE DATABASE`` takes
a few milliseconds from ``template0``'s copy), so tests never see each
other's rows. A missing server fails the tests with what to install; it never
skips them. Debian's ``postgresql`` package provides it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from evals.postgres import PostgresServer, throwaway_postgres

__all__ = ["PostgresServer", "pg_url", "postgres_server"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole test session."""
    with ExitStack() as stack:
        try:
            server = stack.enter_context(throwaway_postgres())
        except RuntimeError as exc:
            pytest.fail(str(exc), pytrace=False)
        yield server


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database for this test."""
    return postgres_server.create_database()
