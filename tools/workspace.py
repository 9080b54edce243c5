"""Opening a principal's workspace: the providers behind each duty.

The principal's ``accounts`` choose a provider per duty; ``local`` (the
embedded default, no account needed) keeps everything under the principal's
own directory in the data directory.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from tools.context import Workspace
from tools.providers.accounts import Account, parse_account
from tools.providers.base import UnknownProvider

if TYPE_CHECKING:
    from tools.foundation.db import Storage
    from tools.foundation.principals import Principal
    from tools.foundation.settings import Settings
    from tools.providers.base import CalendarProvider, MailProvider


MAIL_PROVIDERS = {
    "local": "tools.providers.local.mail",
    "imap": "tools.providers.imap_smtp",
    "gmail": "tools.providers.google.gmail",
    "microsoft": "tools.providers.microsoft.mail",
}
"""Provider name in ``accounts.mail.provider`` -> module with ``open_mail(account, principal,
root)``; ``account`` is the provider's typed model (:mod:`tools.providers.accounts`)."""


def _account(principal: Principal, duty: str, known: Iterable[str]) -> Account:
    """The principal's ``accounts.<duty>`` table, checked once against its provider's model."""
    account = parse_account(duty, principal.accounts.get(duty))
    if account.provider not in known:
        raise UnknownProvider(
            f"{principal.id}: the {duty} provider '{account.provider}' is not known; "
            f"use one of: {', '.join(known)}."
        )
    return account


def open_mail(principal: Principal, root: Path) -> MailProvider:
    """The principal's mail provider, from ``accounts.mail`` (local by default)."""
    account = _account(principal, "mail", MAIL_PROVIDERS)
    if account.provider == "local":
        from tools.providers.local.mail import LocalMail

        return LocalMail(root, principal)
    module = importlib.import_module(MAIL_PROVIDERS[account.provider])
    provider: MailProvider = module.open_mail(account, principal, root)
    return provider


CALENDAR_PROVIDERS = {
    "local": "tools.providers.local.calendar",
    "caldav": "tools.providers.caldav",
    "google": "tools.providers.google.calendar",
    "microsoft": "tools.providers.microsoft.calendar",
}
"""Provider name in ``accounts.calendar.provider`` -> module with ``open_calendar(...)``."""


def open_calendar(
    principal: Principal, root: Path, storage: Storage | None = None
) -> CalendarProvider:
    """The principal's calendar provider, from ``accounts.calendar`` (local by default)."""
    account = _account(principal, "calendar", CALENDAR_PROVIDERS)
    if account.provider == "local":
        from tools.providers.local.calendar import LocalCalendar

        return LocalCalendar(root, principal, storage=storage)
    module = importlib.import_module(CALENDAR_PROVIDERS[account.provider])
    provider: CalendarProvider = module.open_calendar(account, principal, root)
    return provider


def open_workspace(settings: Settings, principal: Principal) -> Workspace:
    """Build the principal's providers (local by default)."""
    from tools.paths import Confinement
    from tools.providers.local.contacts import LocalContacts
    from tools.providers.local.desk import LocalDesk
    from tools.providers.local.filing import LocalFiling
    from tools.providers.local.invoices import LocalInvoices
    from tools.providers.local.press import LocalPress
    from tools.providers.local.trips import LocalTrips
    from tools.providers.local.vendors import LocalVendors
    from tools.providers.slack_messages import open_slack
    from tools.providers.travel import open_travel

    root = principal.workdir(settings.home)
    storage = settings.storage(principal.id)
    _account(principal, "contacts", ("local",))
    from tools.providers.memory.store import open_memory

    return Workspace(
        principal=principal,
        root=root,
        storage=storage,
        confinement=Confinement.of(settings, principal),
        calendar=open_calendar(principal, root, storage),
        mail=open_mail(principal, root),
        contacts=LocalContacts(root, storage=storage),
        memory=open_memory(
            settings.home,
            principal.id,
            root,
            settings.embedding_model,
            storage=storage,
            chroma_url=settings.chroma_url,
        ),
        desk=LocalDesk(root, storage=storage),
        vendors=LocalVendors(root, storage=storage),
        press=LocalPress(root, storage=storage),
        invoices=LocalInvoices(root, storage=storage),
        filing=LocalFiling(root, storage=storage),
        trips=LocalTrips(root, storage=storage),
        travel=open_travel(principal, root),
        slack=open_slack(
            settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None,
            settings.slack_api_url,
        ),
    )
