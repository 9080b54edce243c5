"""Travel providers: search, price, book and cancel flights and hotels.

``accounts.travel`` chooses the provider: ``local`` (the default: requests
e-mailed to the principal's human travel agent) or ``duffel`` (flights through
Duffel's API; see :mod:`tools.providers.travel.duffel`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tools.foundation.principals import Principal
    from tools.providers.travel.base import TravelProvider

TRAVEL_PROVIDERS = ("local", "duffel")


def open_travel(principal: Principal, root: Path) -> TravelProvider:
    """The principal's travel provider, from ``accounts.travel`` (local by default)."""
    from tools.providers.accounts import parse_account

    account = parse_account("travel", principal.accounts.get("travel"))
    kind = account.provider
    if kind == "duffel":
        from tools.providers.travel.duffel import DuffelTravel

        return DuffelTravel(account)
    if kind != "local":
        from tools.providers.base import UnknownProvider

        raise UnknownProvider(
            f"{principal.id}: the travel provider '{kind}' is not known; "
            f"use one of: {', '.join(TRAVEL_PROVIDERS)}."
        )
    from tools.providers.travel.local import LocalTravel

    return LocalTravel()
