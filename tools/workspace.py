"""Opening a principal's workspace: the providers behind each duty.

The principal's ``accounts`` choose a provider per duty; ``local`` (the
embedded default, no account needed) keeps everything under the principal's
own directory in the data directory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tools.context import Workspace

if TYPE_CHECKING:
    from agent.principals import Principal
    from agent.settings import Settings


class UnknownProvider(Exception):
    """A principal's settings name a provider this installation does not have."""


def open_workspace(settings: Settings, principal: Principal) -> Workspace:
    """Build the principal's providers (local by default)."""
    from tools.providers.local.calendar import LocalCalendar
    from tools.providers.local.contacts import LocalContacts
    from tools.providers.local.mail import LocalMail

    root = principal.workdir(settings.home)
    for duty in ("calendar", "mail", "contacts"):
        kind = principal.accounts.get(duty, {}).get("provider", "local")
        if kind != "local":
            raise UnknownProvider(
                f"{principal.id}: the {duty} provider '{kind}' is not available; "
                "use 'local' or install the provider."
            )
    from agent.memory import open_memory

    return Workspace(
        principal=principal,
        root=root,
        calendar=LocalCalendar(root, principal),
        mail=LocalMail(root, principal),
        contacts=LocalContacts(root),
        memory=open_memory(settings.home, principal.id, root, settings.embedding_model),
    )
