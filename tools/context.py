"""The context every tool receives: who it works for and the providers to use.

Built once per request by the runtime (never at import time) and injected as
the first argument of each tool function; the model never sees it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.foundation.db import Storage
    from tools.foundation.principals import Principal
    from tools.paths import Confinement
    from tools.providers.base import CalendarProvider, ContactsProvider, MailProvider


@dataclass
class Workspace:
    """One principal's providers. Nothing in it can reach another principal's data."""

    principal: Principal
    root: Path
    calendar: CalendarProvider
    mail: MailProvider
    contacts: ContactsProvider
    memory: Any = None
    """The principal's correspondence memory (tools.providers.memory.store.Memory), when open."""
    extra: dict[str, Any] = field(default_factory=dict)
    storage: Storage | None = None
    """Where the principal's tables live (SQLite files in ``root``, or a PostgreSQL schema)."""
    confinement: Confinement | None = None
    """What a path argument may never reach, among all principals (tools.paths)."""

    def close(self) -> None:
        """Release connections held by the providers."""
        for p in (self.calendar, self.mail, self.contacts, self.memory, *self.extra.values()):
            close = getattr(p, "close", None)
            if callable(close):
                close()
        if self.storage is not None:
            self.storage.close()


@dataclass
class ToolContext:
    """What a tool may use while it runs."""

    principal: Principal
    workspace: Workspace
    idempotency_key: str = ""
    """Set by the ledger when a write tool executes; empty for reads and previews."""
    clock: Any = None
    """Optional callable returning 'now' (tests pin time); default is the wall clock."""
    reference_time: datetime | None = None
    """When the action was proposed: relative phrases ("tomorrow at 10") are read
    against it when the approved action runs, so it lands where the card showed."""
    principal_words: tuple[str, ...] = ()
    """What the principal wrote in this conversation (their own messages only): a file path
    in it may be read by a tool (tools.paths); nothing read from mail or memory counts."""
    approved_by_policy: bool = False
    """True when the action runs on a standing policy, without a person's decision.

    Mail sent that way is marked ``Auto-Submitted`` (RFC 3834), so other
    autoresponders never answer it and no mail loop can start.
    """

    def now(self) -> datetime:
        """The current instant in the principal's time zone."""
        if self.clock is not None:
            return self.clock().astimezone(self.principal.tz)
        return self.principal.now()

    def reference_now(self) -> datetime:
        """The 'now' relative phrases are read against.

        The runtime pins it to when an action was proposed (``reference_time``),
        so "tomorrow" means the same day on the card and when the approved
        action runs; otherwise it is :meth:`now`.
        """
        if self.reference_time is not None:
            return self.reference_time.astimezone(self.principal.tz)
        return self.now()

    @property
    def calendar(self) -> CalendarProvider:
        """The principal's calendar provider."""
        return self.workspace.calendar

    @property
    def mail(self) -> MailProvider:
        """The principal's mail provider."""
        return self.workspace.mail

    @property
    def contacts(self) -> ContactsProvider:
        """The principal's contacts provider."""
        return self.workspace.contacts
