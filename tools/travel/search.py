"""Searching flights and hotels from the principal's preferences."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from tools.base import ToolError, tool
from tools.context import ToolContext
from tools.providers.travel.base import (
    Cabin,
    FlightOffer,
    HotelOffer,
)
from tools.travel.inputs import _date, _iata, _provider, _trips
from tools.travel.offers import _live_offer, _offer_price
from tools.travel.texts import (
    _budget_warning,
    _day,
    _flight_lines,
    _hotel_line,
    _preferred_flight,
    _preferred_hotel,
    _price,
)


def _flight_card(ctx: ToolContext, offer: FlightOffer) -> dict[str, Any]:
    warnings = [
        w
        for w in (
            _budget_warning(
                ctx, offer.price, ctx.principal.travel.max_flight_price, "for a flight"
            ),
            "Non-refundable fare" if offer.rules.refundable is False else "",
        )
        if w
    ]
    return {
        "offer_id": offer.id,
        "price": _price(offer.price),
        "fare": offer.rules.label(),
        "cabin": offer.cabin,
        "flights": _flight_lines(ctx, offer),
        "preferred_airline": _preferred_flight(ctx, offer),
        "warnings": warnings,
    }


@tool(effect="read", duty="travel", title="Search flights")
def search_flights(
    ctx: ToolContext,
    destination: str,
    departure_date: str,
    origin: str = "",
    return_date: str = "",
    cabin: Literal["", "economy", "premium_economy", "business", "first"] = "",
    passengers: int = 1,
) -> dict[str, Any]:
    """Search flights; preferred airlines first, then by price. Times are local at each airport.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        destination: IATA airport code, e.g. JFK.
        departure_date: Outbound day: ISO date (2026-12-01) or a phrase ("next Monday").
        origin: IATA airport code; empty for the principal's home airport.
        return_date: Return day for a round trip; empty for one way.
        cabin: economy, premium_economy, business or first; empty for the preferred cabin.
        passengers: Number of adult travellers.
    """
    prefs = ctx.principal.travel
    if not origin.strip() and not prefs.home_airport:
        raise ToolError("origin is empty and no home airport is set; give an IATA code like BER.")
    start = _iata(origin or prefs.home_airport, "origin")
    end = _iata(destination, "destination")
    if start == end:
        raise ToolError("origin and destination are the same airport; give two different ones.")
    out_day = _date(ctx, departure_date, "departure_date")
    back = _date(ctx, return_date, "return_date") if return_date.strip() else None
    if back is not None and back < out_day:
        raise ToolError(
            f"return_date {_day(back)} is before departure_date {_day(out_day)}; swap or fix them."
        )
    if not 1 <= passengers <= 9:
        raise ToolError("passengers must be between 1 and 9.")
    wanted: Cabin = cabin or prefs.cabin
    provider = _provider(ctx)
    offers = provider.search_flights(start, end, out_day, back, wanted, passengers)
    offers.sort(
        key=lambda o: (
            not _preferred_flight(ctx, o),
            o.price.amount if o.price else Decimal("Infinity"),
            o.segments[0].departure if o.segments else datetime.max.replace(tzinfo=ZoneInfo("UTC")),
        )
    )
    _trips(ctx).remember_offers(offers, ctx.now())
    result: dict[str, Any] = {
        "provider": provider.name,
        "live": provider.live,
        "offers": [_flight_card(ctx, o) for o in offers[:10]],
    }
    if not provider.live:
        agent = prefs.travel_agent or "(no travel agent e-mail set)"
        result["note"] = (
            "No booking service is connected, so flights cannot be searched live. "
            f"book_flight with this offer_id e-mails the request to the travel agent {agent}; "
            "the price and times come with their answer."
        )
    elif not offers:
        result["note"] = "No flights found for that day; try another day or airport."
    return result


def _hotel_card(ctx: ToolContext, offer: HotelOffer) -> dict[str, Any]:
    limit = ctx.principal.travel.max_hotel_night
    warnings = [
        w
        for w in (
            _budget_warning(ctx, offer.rate_per_night, limit, "for a hotel night"),
            "Non-refundable rate"
            if offer.cancellation_policy
            and offer.refundable_until is None
            and "non-refundable" in offer.cancellation_policy.lower()
            else "",
        )
        if w
    ]
    return {
        "offer_id": offer.id,
        "hotel": _hotel_line(offer),
        "rate_per_night": _price(offer.rate_per_night),
        "total": _price(offer.total),
        "cancellation": offer.cancellation_policy
        or (
            f"refundable until {offer.refundable_until:%d %b %Y %H:%M}"
            if offer.refundable_until
            else "not known"
        ),
        "preferred_chain": _preferred_hotel(ctx, offer),
        "warnings": warnings,
    }


def _stay(ctx: ToolContext, check_in: str, check_out: str) -> tuple[date, date]:
    first = _date(ctx, check_in, "check_in")
    last = _date(ctx, check_out, "check_out")
    if last <= first:
        raise ToolError(
            f"check_out {_day(last)} is not after check_in {_day(first)}; a stay needs at "
            "least one night."
        )
    return first, last


@tool(effect="read", duty="travel", title="Search hotels")
def search_hotels(
    ctx: ToolContext, city: str, check_in: str, check_out: str, guests: int = 1
) -> dict[str, Any]:
    """Search hotel rooms in a city; preferred chains first, then by nightly rate.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        city: City or area, e.g. "New York, Midtown".
        check_in: Arrival day: ISO date or a phrase ("next Monday").
        check_out: Departure day: ISO date or a phrase; after check_in.
        guests: Number of guests.
    """
    if not city.strip():
        raise ToolError("city is empty. Give the city or area to stay in.")
    first, last = _stay(ctx, check_in, check_out)
    if not 1 <= guests <= 9:
        raise ToolError("guests must be between 1 and 9.")
    provider = _provider(ctx)
    offers = provider.search_hotels(" ".join(city.split()), first, last, guests)
    offers.sort(
        key=lambda o: (
            not _preferred_hotel(ctx, o),
            o.rate_per_night.amount if o.rate_per_night else Decimal("Infinity"),
        )
    )
    _trips(ctx).remember_offers(offers, ctx.now())
    result: dict[str, Any] = {
        "provider": provider.name,
        "offers": [_hotel_card(ctx, o) for o in offers[:10]],
    }
    if all(o.request_only for o in offers):
        agent = ctx.principal.travel.travel_agent or "(no travel agent e-mail set)"
        result["note"] = (
            "Hotels cannot be searched live here. book_hotel with this offer_id e-mails the "
            f"request to the travel agent {agent}; hotel, rate and terms come with their answer."
        )
    return result


@tool(effect="read", duty="travel", title="Price offer")
def price_offer(ctx: ToolContext, offer_id: str) -> dict[str, Any]:
    """Ask the booking service for an offer's price and terms now, just before booking it.

    Give the price it answers to book_flight or book_hotel (price="431.20 EUR"): the
    approval card shows that price, and the booking is refused if the price is higher
    when it runs. A request to the travel agent has no price until they answer.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        offer_id: The offer_id from search_flights or search_hotels.
    """
    offer = _live_offer(ctx, offer_id)
    if isinstance(offer, FlightOffer):
        card = _flight_card(ctx, offer)
    else:
        card = _hotel_card(ctx, offer)
    now = _offer_price(offer)
    card["price"] = _price(now)
    if offer.request_only:
        card["note"] = (
            "A request to the travel agent: book it with this offer_id and no price; the "
            "price comes with their answer."
        )
        return card
    if isinstance(offer, FlightOffer) and offer.expires_at is not None:
        card["valid_until"] = offer.expires_at.astimezone(ctx.principal.tz).isoformat()
    searched = _offer_price(_trips(ctx).offer(offer.id))
    if now is not None and searched is not None and searched != now:
        card["searched_price"] = searched.label()
        card["note"] = f"The price changed since the search: {searched.label()} -> {now.label()}."
    return card
