"""Fetching for the mail desk: the provider's cursor plus a seen set, so nothing is answered twice.

The desk keeps one row per Message-ID (a content hash for a message without
one) for every message it stored, and at its first start one row with status
``history`` (no bytes) for every message it found there and left alone. That
seen set is what makes a provider's start-over harmless:

* the first start records what is already in the folder, so a provider that
  hands some of it back later (the local Maildir's rescan window, a client
  moving files from ``new/`` to ``cur/``) gets nothing handled;
* when a provider cannot continue its cursor (IMAP UIDVALIDITY changed, Gmail
  history expired, a Graph delta link expired) it says so with
  :class:`~tools.providers.base.SyncReset`; the folder is then listed by
  Message-ID from headers alone, only the messages never seen are downloaded
  and stored, and the new cursor is kept once they are. New mail is never
  skipped: a crash in between repeats the catch-up rather than losing it.

Providers without :class:`~tools.providers.base.MailResync` start over on
their own and send everything again; the seen set still keeps old mail from
being handled, at the cost of the download.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, Protocol

from tools.providers.base import MailResync, ProviderError, SyncReset, message_id_of

log = logging.getLogger(__name__)

BATCH = 100
"""Messages per provider call and per stored transaction."""


class SeenStore(Protocol):
    """What the desk's state offers this module (``DeskState``)."""

    def cursor(self, folder: str) -> str | None:
        """The stored provider cursor (None before the first start)."""
        ...

    def store(
        self,
        folder: str,
        cursor: str,
        items: list[tuple[str, str, bytes | None]],
        *,
        status: str = "new",
    ) -> int:
        """Keep messages (id, uid, raw) not seen before and the cursor, atomically."""
        ...

    def seen(self) -> set[str]:
        """Every Message-ID the desk has a row for."""
        ...


def message_key(raw: bytes) -> str:
    """How the desk keys a message: its Message-ID, else a hash of its bytes."""
    return message_id_of(raw) or f"<{hashlib.sha256(raw).hexdigest()[:24]}@local.invalid>"


def fetch(state: SeenStore, mail: Any, folder: str) -> int:
    """Store what arrived in ``folder`` since the last call; returns how many are new.

    Raises:
        ProviderError: the provider cannot sync, or failed (what was stored stays).
    """
    fetch_new = getattr(mail, "fetch_new", None)
    if not callable(fetch_new):
        raise ProviderError("This mail provider cannot fetch new mail incrementally.")
    cursor = state.cursor(folder)
    if cursor is None:
        first_start(state, mail, folder)
        return 0
    resync = isinstance(mail, MailResync)
    caught_up = False
    added = 0
    while True:
        try:
            if resync:
                batch, new_cursor = mail.fetch_new(
                    cursor, folder=folder, limit=BATCH, on_reset="raise"
                )
            else:
                batch, new_cursor = fetch_new(cursor, folder=folder, limit=BATCH)
        except SyncReset as exc:
            if caught_up:  # a fresh position failed at once: let the next round try
                raise
            log.info("%s Rebuilding the position in %s from the mail already seen.", exc, folder)
            more, cursor = catch_up(state, mail, folder, cursor)
            added += more
            caught_up = True
            continue
        items: list[tuple[str, str, bytes | None]] = [
            (message_key(r.raw), r.uid, r.raw) for r in batch
        ]
        added += state.store(folder, new_cursor, items)
        if len(batch) < BATCH or new_cursor == cursor:
            return added
        cursor = new_cursor


def first_start(state: SeenStore, mail: Any, folder: str) -> int:
    """Put the cursor after the mail already in ``folder`` and record that mail as seen.

    Returns:
        How many messages were recorded (status ``history``, not handled).
    """
    if not isinstance(mail, MailResync):
        state.store(folder, mail.current_cursor(folder), [])
        return 0
    refs, start = mail.list_ids(folder)
    known = [(r.message_id, r.uid) for r in refs if r.message_id]
    # Without a Message-ID the key is a hash of the bytes, so those few are read whole.
    bare = [r.uid for r in refs if not r.message_id]
    for i in range(0, len(bare), BATCH):
        known += [(message_key(r.raw), r.uid) for r in mail.fetch_raw(bare[i : i + BATCH], folder)]
    state.store(folder, start, [(mid, uid, None) for mid, uid in known], status="history")
    return len(known)


def catch_up(state: SeenStore, mail: MailResync, folder: str, cursor: str) -> tuple[int, str]:
    """After the provider lost its position: store the mail never seen, then the new cursor.

    Returns:
        How many new messages were stored, and the cursor to continue from.
    """
    refs, start = mail.list_ids(folder)
    seen = state.seen()
    unseen = [r.uid for r in refs if not r.message_id or r.message_id not in seen]
    added = 0
    for i in range(0, len(unseen), BATCH):
        batch = mail.fetch_raw(unseen[i : i + BATCH], folder)
        # The old cursor stays until all of them are kept: a crash repeats this, never skips.
        added += state.store(folder, cursor, [(message_key(r.raw), r.uid, r.raw) for r in batch])
    state.store(folder, start, [])
    log.info(
        "Listed %d messages in %s after a reset: %d not seen before, %d new stored",
        len(refs),
        folder,
        len(unseen),
        added,
    )
    return added, start
