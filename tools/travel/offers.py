"""What the tools know about an offer: read live from the booking service, or as last read.

Only two places ask the booking service for a price: ``price_offer`` (a read tool the
planner calls just before proposing a booking) and the booking itself when it runs.
An approval card is drawn from what was already read (the offer a search kept, or a
request id, which carries the whole request) and from the proposal's own arguments,
so drawing it again, or after an edit, shows the same thing and changes nothing.

The price the principal approves is an argument of the booking (``price="431.20 EUR"``).
When the approved booking runs it prices the offer again and refuses if the price rose
above the approved one, so nothing is ever bought for more than the card said.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from tools.base import ToolError
from tools.context import ToolContext
from tools.providers.base import NotFound
from tools.providers.travel.base import FlightOffer, HotelOffer, Money
from tools.providers.travel.local import LocalTravel
from tools.travel.inputs import _provider, _trips

Offer = FlightOffer | HotelOffer

_MONEY = re.compile(r"^(?:([A-Za-z]{3})\s*)?(\d[\d,]*(?:\.\d+)?)\s*(?:([A-Za-z]{3}))?$")


def _gone(offer_id: str) -> ToolError:
    return ToolError(
        f"No offer with id '{offer_id}' (offers expire after a while). Search again and "
        "use a fresh offer id."
    )


def _offer_id(offer_id: str) -> str:
    wanted = offer_id.strip()
    if not wanted:
        raise ToolError("offer_id is empty. Search first and give one of the offer ids found.")
    return wanted


def _live_offer(ctx: ToolContext, offer_id: str) -> Offer:
    """The offer as the booking service prices it now (a network call for a live service)."""
    wanted = _offer_id(offer_id)
    try:
        return _provider(ctx).price(wanted)
    except NotFound:
        raise _gone(offer_id) from None


def _known_offer(ctx: ToolContext, offer_id: str) -> Offer:
    """The offer as already read here, without asking the booking service.

    A search keeps the offers it found; a request to the travel agent carries the whole
    request in its id, so it is read from the id itself.
    """
    wanted = _offer_id(offer_id)
    stored = _trips(ctx).offer(wanted)
    if stored is not None:
        return stored
    try:
        return LocalTravel().price(wanted)
    except NotFound:
        raise _gone(offer_id) from None


def _offer_price(offer: Offer | None) -> Money | None:
    """What booking the offer costs in all: a flight's price, a stay's total."""
    if offer is None:
        return None
    return offer.price if isinstance(offer, FlightOffer) else offer.total


def _approved_price(offer: Offer, text: str) -> Money | None:
    """The price the booking's ``price`` argument approves; None for a request to the agent.

    A live offer needs one: it is what the card shows and the most the booking may cost.
    """
    if offer.request_only:
        return None
    raw = " ".join(text.split())
    if not raw:
        raise ToolError(
            f"price is empty. Call price_offer for '{offer.id}' just before booking and give "
            'the price it answers (price="431.20 EUR"); a higher price when the booking '
            "runs refuses it."
        )
    found = _MONEY.match(raw)
    current = _offer_price(offer)
    if found is None or (found.group(1) and found.group(3)):
        raise ToolError(f"price: '{text}' is not a price; write it like 431.20 EUR.")
    try:
        amount = Decimal(found.group(2).replace(",", ""))
    except InvalidOperation:
        raise ToolError(f"price: '{text}' is not a price; write it like 431.20 EUR.") from None
    code = (found.group(1) or found.group(3) or (current.currency if current else "")).upper()
    if not code:
        raise ToolError(f"price: '{text}' has no currency; write it like 431.20 EUR.")
    return Money(amount=amount, currency=code)


def _price_rise(approved: Money | None, live: Money | None) -> str:
    """Why a booking must not run at ``live`` after ``approved``; empty when it may."""
    if approved is None or live is None:
        return ""
    if live.currency == approved.currency and live.amount <= approved.amount:
        return ""
    return (
        f"The price rose from {approved.label()} (on the approved card) to {live.label()}; "
        "nothing was booked. Propose the booking again to approve the new price."
    )
