"""The context every tool receives: who it works for and the providers to use.

Built once per request by the runtime (never at import time) and injected as
the first argument of each tool function; the model never sees it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.foundation.db import Storage
    from tools.foundation.principals import Principal
    from tools.paths import Confinement
    from tools.providers.base import CalendarProvider, ContactsProvider, MailProvider
    from tools.providers.local.desk import LocalDesk
    from tools.providers.local.filing import LocalFiling
    from tools.providers.local.invoices import LocalInvoices
    from tools.providers.local.press import LocalPress
    from tools.providers.local.trips import LocalTrips
    from tools.providers.local.vendors import LocalVendors
    from tools.providers.slack_messages import SlackMessenger
    from tools.providers.travel.base import TravelProvider


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
    # The duties' own stores and services, typed so that every use is checked.
    desk: LocalDesk | None = None
    """Phone messages, visitors and staff tasks (tools.desk)."""
    vendors: LocalVendors | None = None
    """Vendors, their quotes and orders (tools.vendors)."""
    press: LocalPress | None = None
    """Press contacts and the press log (tools.press)."""
    invoices: LocalInvoices | None = None
    """Invoices and their payment state (tools.invoices)."""
    filing: LocalFiling | None = None
    """Filed documents (tools.filing)."""
    trips: LocalTrips | None = None
    """Trips, proposals and bookings (tools.travel)."""
    travel: TravelProvider | None = None
    """Where flights are searched and booked (Duffel or the offline stand-in)."""
    slack: SlackMessenger | None = None
    """Direct messages to staff on Slack, when a bot token is configured."""
    approvals: Callable[[], list[Any]] | None = None
    """The principal's pending proposals (set by the runtime, read by the briefing)."""
    extract_model: Any = None
    """A chat model for reading documents (invoices), set by the runtime when one is configured."""
    storage: Storage | None = None
    """Where the principal's tables live (SQLite files in ``root``, or a PostgreSQL schema)."""
    confinement: Confinement | None = None
    """What a path argument may never reach, among all principals (tools.paths)."""

    def close(self) -> None:
        """Release connections held by the providers."""
        providers = (self.calendar, self.mail, self.contacts, self.memory, self.travel, self.slack)
        stores = (self.desk, self.vendors, self.press, self.invoices, self.filing, self.trips)
        for p in (*providers, *stores):
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
