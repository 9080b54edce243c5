"""Travel tools: search flights and hotels, book them, and keep the itinerary.

Searches start from the principal's travel preferences (home airport, cabin,
preferred airlines and hotel chains first) and keep what they found, so the
approval card of a booking can show the *current* price next to the one the
search showed. Booking, cancelling, confirming an agent's booking and
recording a delay are ``write`` tools: each becomes a proposal, and only an
approved action runs, once per idempotency key.

Every flight time is shown in the local zone of its airport with the zone's
name ("dep 10:00 CET Berlin BER -> arr 13:00 EST New York JFK"), plus the
principal's own time when that differs. An approved booking files into a trip
(``Workspace.trips``) and puts each flight on the calendar from
departure (origin zone) to arrival, and each hotel stay as an all-day span
from the check-in day through the check-out day.

With the local provider (no booking API) nothing is searched live: a search
returns the request's shape, and booking e-mails the request to the travel
agent in ``principal.travel.travel_agent``; the booking stays ``requested``
until ``confirm_booking`` records the agent's answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from tools import outbound
from tools.base import Preview, ToolError, tool
from tools.context import ToolContext
from tools.dates import read_when, zone_label
from tools.providers.base import NewEvent, NotFound, OutgoingMessage
from tools.providers.local.trips import LocalTrips, Trip
from tools.providers.travel.base import (
    Booking,
    Cabin,
    FareRules,
    FlightOffer,
    HotelOffer,
    Money,
    Segment,
    Traveller,
    TravelProvider,
    airport_city,
    airport_zone,
    key_id,
    local_at,
)
from tools.providers.travel.local import LocalTravel, cancel_mail, request_mail

if TYPE_CHECKING:
    from pydantic import BaseModel

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_IATA = re.compile(r"^[A-Z]{3}$")
_FLIGHT = re.compile(r"^([A-Z0-9]{2})\s?(\d{1,4}[A-Z]?)$")

# ------------------------------------------------------------------ helpers


def _trips(ctx: ToolContext) -> LocalTrips:
    trips: LocalTrips | None = ctx.workspace.trips
    if trips is None:
        raise ToolError("The trip records are not open for this principal; ask an administrator.")
    return trips


def _provider(ctx: ToolContext) -> TravelProvider:
    provider: TravelProvider | None = ctx.workspace.travel
    return provider if provider is not None else LocalTravel()


def _provider_for(ctx: ToolContext, booking: Booking) -> TravelProvider:
    provider = _provider(ctx)
    return provider if provider.name == booking.provider else LocalTravel()


def _sub_key(ctx: ToolContext, part: str) -> str:
    return outbound.sub_key(ctx, part)


def _date(ctx: ToolContext, text: str, name: str, *, future: bool = True) -> date:
    """A day from ISO (2026-12-01) or a phrase ("next Monday"), in the principal's zone."""
    raw = text.strip()
    if not raw:
        raise ToolError(f"{name} is empty. Give a date such as 2026-12-01 or 'next Monday'.")
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        try:
            reading = read_when(raw, ctx.principal.tz, ctx.reference_now())
        except ValueError as exc:
            raise ToolError(f"{name}: {exc}") from None
        day = reading.start.astimezone(ctx.principal.tz).date()
    if future and day < ctx.reference_now().date():
        raise ToolError(f"{name}: {_day(day)} is in the past. Give a date from today on.")
    return day


def _iata(value: str, name: str) -> str:
    code = value.strip().upper()
    if not _IATA.match(code):
        raise ToolError(
            f"{name}: '{value}' is not an IATA airport code; give three letters like BER or JFK."
        )
    return code


def _day(d: date) -> str:
    return f"{_DAYS[d.weekday()]} {d:%d %b %Y}"


def _clock(dt: datetime, code: str, city: str) -> str:
    """``10:00 CET Berlin BER``."""
    place = " ".join(x for x in (city or airport_city(code), code) if x)
    return f"{dt:%H:%M} {zone_label(dt)} {place}"


def _segment_line(ctx: ToolContext, s: Segment) -> str:
    """``LH400 Tue 01 Dec 2026: dep 10:00 CET Berlin BER -> arr 13:00 EST New York JFK``."""
    dep, arr = s.departure, s.arrival
    line = (
        f"{s.flight} {_day(dep.date())}: dep {_clock(dep, s.origin, s.origin_city)} -> "
        f"arr {_clock(arr, s.destination, s.destination_city)}"
    )
    if arr.date() != dep.date():
        line += f" ({_DAYS[arr.weekday()]} {arr:%d %b})"
    tz = ctx.principal.tz
    mine = []
    for word, dt in (("dep", dep), ("arr", arr)):
        local = dt.astimezone(tz)
        if local.utcoffset() != dt.utcoffset() or zone_label(local) != zone_label(dt):
            mine.append(f"{word} {_DAYS[local.weekday()]} {local:%H:%M} {zone_label(local)}")
    if mine:
        line += f" [your time: {', '.join(mine)}]"
    if s.status != "scheduled":
        line += f" - {s.status.upper()}" + (f": {s.note}" if s.note else "")
    return line


def _flight_lines(ctx: ToolContext, offer: FlightOffer) -> list[str]:
    if offer.segments:
        return [_segment_line(ctx, s) for s in offer.segments]
    lines = [f"Request: {offer.origin} -> {offer.destination} on {_day(offer.departure_date)}"]
    if offer.return_date:
        lines.append(f"Request: {offer.destination} -> {offer.origin} on {_day(offer.return_date)}")
    return lines


def _hotel_line(h: HotelOffer) -> str:
    name = h.name or f"Hotel in {h.city}"
    if h.chain and h.chain.lower() not in name.lower():
        name += f" ({h.chain})"
    where = f", {h.address}" if h.address else ""
    return f"{name}{where}: {_day(h.check_in)} - {_day(h.check_out)}, {h.nights} nights"


def _price(m: Money | None) -> str:
    return m.label() if m is not None else "not priced yet (the agent's answer sets it)"


def _budget_warning(ctx: ToolContext, price: Money | None, limit: Decimal | None, what: str) -> str:
    if price is None or limit is None:
        return ""
    currency = ctx.principal.travel.currency
    if price.currency != currency:
        return (
            f"Priced in {price.currency}; the {what} budget ({limit} {currency}) could not be "
            "compared"
        )
    if price.amount > limit:
        return f"Over budget: {price.label()} is more than the {limit} {currency} limit {what}"
    return ""


def _conflicts(ctx: ToolContext, segments: list[Segment], own: list[str]) -> list[str]:
    out = []
    for s in segments:
        for ev in ctx.calendar.list_events(s.departure, s.arrival):
            if ev.status != "cancelled" and ev.id not in own:
                local = ev.start.astimezone(ctx.principal.tz)
                out.append(
                    f"{s.flight} overlaps '{ev.title}' ({_day(local.date())} {local:%H:%M} "
                    f"{zone_label(local)})"
                )
    return out


def _preferred_flight(ctx: ToolContext, offer: FlightOffer) -> bool:
    wanted = {a.upper() for a in ctx.principal.travel.airlines}
    carriers = set(offer.carriers) or ({offer.owner} if offer.owner else set())
    return bool(wanted and carriers and carriers <= wanted)


def _preferred_hotel(ctx: ToolContext, offer: HotelOffer) -> bool:
    chains = {c.casefold() for c in ctx.principal.travel.hotel_chains}
    return bool(offer.chain and offer.chain.casefold() in chains)


def _traveller(ctx: ToolContext, live: bool) -> Traveller:
    prefs = ctx.principal.travel
    parts = ctx.principal.name.split()
    given = prefs.given_name or (" ".join(parts[:-1]) if len(parts) > 1 else ctx.principal.name)
    family = prefs.family_name or (parts[-1] if len(parts) > 1 else "")
    if live:
        missing = [
            name
            for name, value in (
                ("given_name", prefs.given_name),
                ("family_name", prefs.family_name),
                ("born_on", prefs.born_on),
                ("gender", prefs.gender),
                ("title", prefs.title),
                ("phone", prefs.phone),
            )
            if not value
        ]
        if missing:
            raise ToolError(
                "An airline booking needs the traveller's "
                + ", ".join(missing)
                + " in the principal's travel preferences; add them and propose again."
            )
        if prefs.gender == "x":
            raise ToolError("The airline accepts gender 'm' or 'f' only; update the preferences.")
    return Traveller(
        given_name=given,
        family_name=family,
        born_on=prefs.born_on,
        gender=prefs.gender,
        title=prefs.title,
        email=ctx.principal.email,
        phone=prefs.phone,
        loyalty=dict(prefs.loyalty),
    )


def _priced(ctx: ToolContext, offer_id: str) -> FlightOffer | HotelOffer:
    if not offer_id.strip():
        raise ToolError("offer_id is empty. Search first and give one of the offer ids found.")
    try:
        return _provider(ctx).price(offer_id.strip())
    except NotFound:
        raise ToolError(
            f"No offer with id '{offer_id}' (offers expire after a while). Search again and "
            "use a fresh offer id."
        ) from None


def _flight_span(f: FlightOffer) -> tuple[date, date]:
    if f.segments:
        return f.segments[0].departure.date(), f.segments[-1].arrival.date()
    return f.departure_date, f.return_date or f.departure_date


def _span(b: Booking) -> tuple[date, date]:
    if b.flight is not None:
        return _flight_span(b.flight)
    assert b.hotel is not None
    return b.hotel.check_in, b.hotel.check_out


@dataclass
class _TripChoice:
    id: str
    title: str
    new: bool


def _planned_trip(ctx: ToolContext, trip: str, first: date, last: date, title: str) -> _TripChoice:
    """The trip a booking files into: the one named, one it overlaps, or a new one."""
    store = _trips(ctx)
    wanted = trip.strip()
    if wanted:
        try:
            found = store.get_trip(wanted)
        except NotFound:
            return _TripChoice(key_id("trip", _sub_key(ctx, "trip")), wanted, True)
        return _TripChoice(found.id, found.title, False)
    for t in store.trips():
        spans = [_span(b) for b in store.bookings(t.id) if b.status != "cancelled"]
        if not spans:
            continue
        begin = min(s[0] for s in spans) - timedelta(days=1)
        end = max(s[1] for s in spans) + timedelta(days=1)
        if begin <= first <= end or begin <= last <= end:
            return _TripChoice(t.id, t.title, False)
    return _TripChoice(key_id("trip", _sub_key(ctx, "trip")), title, True)


def _flight_events(ctx: ToolContext, b: Booking) -> list[NewEvent]:
    assert b.flight is not None
    out = []
    ref = f"Booking reference: {b.reference}\n" if b.reference else ""
    for s in b.flight.segments:
        extra: dict[str, Any] = {}
        if "end_timezone" in NewEvent.model_fields:
            extra["end_timezone"] = s.destination_zone
        out.append(
            NewEvent(
                title=f"Flight {s.flight} {s.origin} -> {s.destination}",
                start=s.departure,
                end=s.arrival,
                timezone=s.origin_zone,
                location=" ".join(
                    x for x in (s.origin_city or airport_city(s.origin), s.origin) if x
                ),
                description=(
                    f"{ref}dep {_clock(s.departure, s.origin, s.origin_city)} -> "
                    f"arr {_clock(s.arrival, s.destination, s.destination_city)}\n"
                    f"Booking: {b.id}"
                ),
                **extra,
            )
        )
    return out


def _hotel_event(ctx: ToolContext, b: Booking) -> NewEvent:
    assert b.hotel is not None
    h = b.hotel
    tz = ctx.principal.tz
    ref = f"Confirmation: {b.reference}\n" if b.reference else ""
    return NewEvent(
        title=f"Hotel: {h.name or h.city}",
        start=datetime.combine(h.check_in, time(0), tzinfo=tz),
        end=datetime.combine(h.check_out + timedelta(days=1), time(0), tzinfo=tz),
        timezone=ctx.principal.timezone,
        all_day=True,
        location=h.address or h.city,
        description=f"{ref}Check-in {_day(h.check_in)}, check-out {_day(h.check_out)}\n"
        f"Booking: {b.id}",
    )


def _make_events(ctx: ToolContext, b: Booking, part: str) -> list[str]:
    """Put a booked flight's segments or a hotel stay on the calendar; the new event ids."""
    events = _flight_events(ctx, b) if b.kind == "flight" else [_hotel_event(ctx, b)]
    ids = []
    for i, ev in enumerate(events):
        ids.append(ctx.calendar.create_event(ev, _sub_key(ctx, f"{part}-{i}")).id)
    return ids


def _send(ctx: ToolContext, message: OutgoingMessage, part: str) -> str:
    if not message.to or not message.to[0]:
        # No travel agent on file: keep the request as a draft the principal can forward.
        message = message.model_copy(update={"to": [ctx.principal.email]})
        return outbound.save_draft(ctx, message, part).message_id
    return outbound.send(ctx, message, part).message_id


def _get_booking(ctx: ToolContext, booking_id: str) -> Booking:
    try:
        return _trips(ctx).get_booking(booking_id.strip())
    except NotFound:
        raise ToolError(
            f"No booking with id '{booking_id}'. Use show_trip to find the right id."
        ) from None


def _display_status(b: Booking) -> str:
    if b.status == "booked" and b.flight is not None:
        states = {s.status for s in b.flight.segments}
        for word in ("cancelled", "delayed", "changed"):
            if word in states:
                return word if word != "cancelled" else "flight cancelled"
    return b.status


def _booking_title(b: Booking) -> str:
    if b.flight is not None:
        f = b.flight
        flights = ", ".join(s.flight for s in f.segments)
        text = f"flight {f.origin} -> {f.destination} on {_day(f.departure_date)}"
        if f.return_date:
            text += f", back {_day(f.return_date)}"
        return text + (f" ({flights})" if flights else "")
    assert b.hotel is not None
    return f"hotel {b.hotel.name or 'in ' + b.hotel.city}, {_day(b.hotel.check_in)}"


def _booking_dict(ctx: ToolContext, b: Booking) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": b.id,
        "trip_id": b.trip_id,
        "kind": b.kind,
        "status": _display_status(b),
        "provider": b.provider,
        "reference": b.reference,
        "price": _price(b.price) if b.price else "",
        "summary": _booking_title(b),
        "event_ids": list(b.event_ids),
    }
    if b.flight is not None:
        out["flights"] = _flight_lines(ctx, b.flight)
        if b.flight.segments:
            out["fare"] = b.flight.rules.label()
    if b.hotel is not None:
        out["hotel"] = _hotel_line(b.hotel)
        out["cancellation"] = b.hotel.cancellation_policy
    if b.refund is not None:
        out["refund"] = b.refund.label()
    return out


# ------------------------------------------------------------------ search


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


# ------------------------------------------------------------------ booking


@dataclass
class _Plan:
    offer: FlightOffer | HotelOffer
    searched: Money | None
    traveller: Traveller
    trip: _TripChoice
    warnings: list[str] = field(default_factory=list)
    mail: OutgoingMessage | None = None


def _check_offer_dates(ctx: ToolContext, offer: FlightOffer | HotelOffer) -> None:
    today = ctx.reference_now().date()
    first = offer.departure_date if isinstance(offer, FlightOffer) else offer.check_in
    if first < today:
        raise ToolError(f"The offer starts {_day(first)}, in the past; search again.")


def _planned_booking(ctx: ToolContext, offer_id: str, trip: str, notes: str, kind: str) -> _Plan:
    offer = _priced(ctx, offer_id)
    if kind == "flight" and not isinstance(offer, FlightOffer):
        raise ToolError(f"'{offer_id}' is a hotel offer; use book_hotel for it.")
    if kind == "hotel" and not isinstance(offer, HotelOffer):
        raise ToolError(f"'{offer_id}' is a flight offer; use book_flight for it.")
    _check_offer_dates(ctx, offer)
    live = not offer.request_only
    if isinstance(offer, FlightOffer) and live and len(offer.passenger_ids) > 1:
        raise ToolError("Only the principal can be booked here; search again with passengers=1.")
    traveller = _traveller(ctx, live)
    stored = _trips(ctx).offer(offer.id)
    searched = (
        getattr(stored, "price", None)
        if isinstance(stored, FlightOffer)
        else (stored.total if isinstance(stored, HotelOffer) else None)
    )
    warnings: list[str] = []
    if isinstance(offer, FlightOffer):
        first, last = _flight_span(offer)
        dest = offer.segments[0].destination_city if offer.segments else ""
        title = f"Trip to {dest or airport_city(offer.destination) or offer.destination}"
        price = offer.price
        warnings += [
            _budget_warning(ctx, price, ctx.principal.travel.max_flight_price, "for a flight"),
            "Non-refundable fare" if offer.rules.refundable is False else "",
        ]
        warnings += _conflicts(ctx, offer.segments, [])
    else:
        first, last = offer.check_in, offer.check_out
        title = f"Trip to {offer.city}"
        price = offer.total
        warnings += [
            _budget_warning(
                ctx, offer.rate_per_night, ctx.principal.travel.max_hotel_night, "for a hotel night"
            )
        ]
    if price is not None and searched is not None and searched != price:
        warnings.append(f"Price changed since search: {searched.label()} -> {price.label()}")
    plan = _Plan(
        offer=offer,
        searched=searched,
        traveller=traveller,
        trip=_planned_trip(ctx, trip, first, last, f"{title} ({_day(first)})"),
        warnings=[w for w in warnings if w],
    )
    if offer.request_only:
        draft = Booking(
            id=key_id("bkg", ctx.idempotency_key)
            if ctx.idempotency_key
            else "(assigned on approval)",
            kind="flight" if isinstance(offer, FlightOffer) else "hotel",
            provider="local",
            status="requested",
            flight=offer if isinstance(offer, FlightOffer) else None,
            hotel=offer if isinstance(offer, HotelOffer) else None,
            traveller=traveller,
        )
        plan.mail = request_mail(ctx.principal, draft, notes)
        if not ctx.principal.travel.travel_agent:
            plan.warnings.append(
                "No travel agent e-mail in the travel preferences: the request is saved as a "
                "draft for you to forward"
            )
    return plan


def _booking_preview(ctx: ToolContext, plan: _Plan, kind: str) -> Preview:
    offer = plan.offer
    details: dict[str, str] = {}
    if isinstance(offer, FlightOffer):
        what = f"flight {offer.origin} -> {offer.destination} on {_day(offer.departure_date)}"
        if offer.return_date:
            what += f", back {_day(offer.return_date)}"
        details["Price"] = _price(offer.price)
        if not offer.request_only:
            details["Fare"] = offer.rules.label()
            details["Refundable"] = {True: "yes", False: "no", None: "unknown"}[
                offer.rules.refundable
            ]
        details["Cabin"] = offer.cabin.replace("_", " ")
        for i, line in enumerate(_flight_lines(ctx, offer), 1):
            details[f"Flight {i}"] = line
        if offer.expires_at is not None:
            details["Offer valid until"] = (
                f"{offer.expires_at.astimezone(ctx.principal.tz):%d %b %H:%M} "
                f"{zone_label(offer.expires_at.astimezone(ctx.principal.tz))}"
            )
        loyalty = [f"{k} {v}" for k, v in sorted(plan.traveller.loyalty.items()) if len(k) == 2]
    else:
        what = f"hotel in {offer.city}, {_day(offer.check_in)} - {_day(offer.check_out)}"
        details["Hotel"] = _hotel_line(offer)
        details["Rate per night"] = _price(offer.rate_per_night)
        details["Total"] = _price(offer.total)
        details["Cancellation"] = offer.cancellation_policy or (
            f"refundable until {offer.refundable_until:%d %b %Y}"
            if offer.refundable_until
            else "the agent's answer sets it"
            if offer.request_only
            else "not known"
        )
        loyalty = [
            f"{k} {v}"
            for k, v in sorted(plan.traveller.loyalty.items())
            if offer.chain and k.casefold() == offer.chain.casefold()
        ]
    details["Traveller"] = f"{plan.traveller.given_name} {plan.traveller.family_name}".strip()
    if loyalty:
        details["Loyalty"] = ", ".join(loyalty)
    details["Trip"] = (
        f"new trip '{plan.trip.title}'"
        if plan.trip.new
        else f"'{plan.trip.title}' ({plan.trip.id})"
    )
    body = None
    if plan.mail is not None:
        details["Request to"] = plan.mail.to[0] or "(draft: no travel agent set)"
        details["Subject"] = plan.mail.subject
        details["Calendar"] = "events are added when the agent confirms"
        body = plan.mail.body
        summary = f"Ask the travel agent to book a {what}"
    else:
        n = len(offer.segments) if isinstance(offer, FlightOffer) else 1
        details["Calendar"] = f"add {n} event{'s' if n != 1 else ''}"
        price = offer.price if isinstance(offer, FlightOffer) else offer.total
        summary = f"Book {what} for {_price(price)}"
    return Preview(summary=summary, details=details, body=body, warnings=plan.warnings)


def _preview_book(kind: str) -> Any:
    def render(ctx: ToolContext, args: BaseModel) -> Preview:
        values = args.model_dump()
        plan = _planned_booking(ctx, values["offer_id"], values["trip"], values["notes"], kind)
        offer = plan.offer
        price = offer.price if isinstance(offer, FlightOffer) else offer.total
        if price is not None:
            _trips(ctx).note_seen_price(offer.id, price, kind, offer.model_dump_json(), ctx.now())
        return _booking_preview(ctx, plan, kind)

    return render


def _book(ctx: ToolContext, offer_id: str, trip: str, notes: str, kind: str) -> dict[str, Any]:
    store = _trips(ctx)
    if ctx.idempotency_key:
        done = store.find_booking(key_id("bkg", ctx.idempotency_key))
        if done is not None:
            return _booking_dict(ctx, done)
    plan = _planned_booking(ctx, offer_id, trip, notes, kind)
    offer = plan.offer
    price = offer.price if isinstance(offer, FlightOffer) else offer.total
    seen = store.seen_price(offer.id)
    if (
        price is not None
        and seen is not None
        and (price.currency != seen.currency or price.amount > seen.amount)
    ):
        raise ToolError(
            f"The price rose from {seen.label()} (on the approved card) to {price.label()}; "
            "nothing was booked. Propose the booking again to approve the new price."
        )
    booking = _provider(ctx).book(offer, plan.traveller, ctx.idempotency_key)
    record = store.add_trip(Trip(id=plan.trip.id, title=plan.trip.title, created_at=ctx.now()))
    booking = booking.model_copy(
        update={"trip_id": record.id, "notes": notes.strip(), "created_at": ctx.now()}
    )
    if booking.status == "booked":
        booking.event_ids = _make_events(ctx, booking, "event")
    if plan.mail is not None:
        plan.mail.body = plan.mail.body.replace("(assigned on approval)", booking.id)
        _send(ctx, plan.mail, "agent-mail")
    return _booking_dict(ctx, store.add_booking(booking))


@tool(effect="write", duty="travel", preview=_preview_book("flight"), title="Book flight")
def book_flight(ctx: ToolContext, offer_id: str, trip: str = "", notes: str = "") -> dict[str, Any]:
    """Book a flight offer found by search_flights (or, without a booking service, request it).

    The card shows the current price (re-priced now), the fare rules and every time in
    its airport's zone. Loyalty numbers from the travel preferences go into the booking.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        offer_id: The offer_id from search_flights.
        trip: A trip id to add it to, or a title for a new trip; empty to file it with an
            overlapping trip or start a new one.
        notes: Wishes for the travel agent (seat, times), kept with the booking.
    """
    return _book(ctx, offer_id, trip, notes, "flight")


@tool(effect="write", duty="travel", preview=_preview_book("hotel"), title="Book hotel")
def book_hotel(ctx: ToolContext, offer_id: str, trip: str = "", notes: str = "") -> dict[str, Any]:
    """Book a hotel offer found by search_hotels (or, without a booking service, request it).

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        offer_id: The offer_id from search_hotels.
        trip: A trip id to add it to, or a title for a new trip; empty to file it with an
            overlapping trip or start a new one.
        notes: Wishes for the travel agent (area, room type), kept with the booking.
    """
    return _book(ctx, offer_id, trip, notes, "hotel")


# ------------------------------------------------------------------- cancel


def _preview_cancel(ctx: ToolContext, args: BaseModel) -> Preview:
    values = args.model_dump()
    b = _get_booking(ctx, values["booking_id"])
    details = {"Booking": b.id, "Status": _display_status(b)}
    if b.reference:
        details["Reference"] = b.reference
    if b.price is not None:
        details["Price"] = b.price.label()
    warnings: list[str] = []
    if b.flight is not None:
        details["Fare"] = b.flight.rules.label()
        if b.flight.rules.refundable is False:
            warnings.append("Non-refundable fare: the refund may be only taxes, or nothing")
    if b.hotel is not None:
        details["Cancellation"] = b.hotel.cancellation_policy or "not known"
    live = [e for e in b.event_ids]
    details["Calendar"] = f"cancel {len(live)} event{'s' if len(live) != 1 else ''}"
    body = None
    if b.provider == "local":
        mail = cancel_mail(ctx.principal, b, values["reason"])
        details["Request to"] = mail.to[0] or "(draft: no travel agent set)"
        body = mail.body
    if b.status == "cancelled":
        warnings.append("Already cancelled; nothing changes")
    return Preview(
        summary=f"Cancel {_booking_title(b)}", details=details, body=body, warnings=warnings
    )


@tool(effect="write", duty="travel", preview=_preview_cancel, title="Cancel booking")
def cancel_booking(ctx: ToolContext, booking_id: str, reason: str = "") -> dict[str, Any]:
    """Cancel a flight or hotel booking (or a pending request) and remove its calendar events.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        booking_id: The booking's id, as shown by show_trip.
        reason: Why, for the travel agent and the records.
    """
    b = _get_booking(ctx, booking_id)
    if b.status == "cancelled":
        return _booking_dict(ctx, b)
    result = _provider_for(ctx, b).cancel(b, _sub_key(ctx, "cancel"))
    for i, event_id in enumerate(b.event_ids):
        try:
            ctx.calendar.cancel_event(event_id, _sub_key(ctx, f"cancel-event-{i}"))
        except NotFound:
            continue
    if b.provider == "local":
        _send(ctx, cancel_mail(ctx.principal, b, reason), "agent-mail")
    notes = "\n".join(
        x for x in (b.notes, f"Cancelled: {reason.strip()}" if reason.strip() else "") if x
    )
    done = b.model_copy(update={"status": "cancelled", "refund": result.refund, "notes": notes})
    return _booking_dict(ctx, _trips(ctx).update_booking(done))


# ----------------------------------------------------- confirm a request


def _money_arg(ctx: ToolContext, amount: str, currency: str) -> Money:
    try:
        value = Decimal(amount.strip().replace(",", ""))
    except (InvalidOperation, AttributeError):
        raise ToolError(f"price: '{amount}' is not an amount; write it like 412.80.") from None
    if value < 0:
        raise ToolError("price must not be negative.")
    code = (currency.strip() or ctx.principal.travel.currency).upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise ToolError(f"currency: '{currency}' is not an ISO currency code like EUR.")
    return Money(amount=value, currency=code)


def _airport_time(value: str, code: str, name: str) -> datetime:
    zone = airport_zone(code)
    if not zone:
        raise ToolError(
            f"The time zone of airport {code} is not known here; this booking cannot be "
            "confirmed with local times. Ask an administrator to add the airport."
        )
    try:
        return local_at(value.strip(), zone)
    except ValueError:
        raise ToolError(
            f"{name}: '{value}' is not a time; give the local time at {code} like 2026-12-01T10:00."
        ) from None


def _segment_from(flight: str, origin: str, dest: str, dep: str, arr: str, tag: str) -> Segment:
    m = _FLIGHT.match(flight.strip().upper())
    if not m:
        raise ToolError(f"{tag}flight: '{flight}' is not a flight number like LH400.")
    start = _airport_time(dep, origin, f"{tag}departure")
    end = _airport_time(arr, dest, f"{tag}arrival")
    if end <= start:
        raise ToolError(f"{tag}arrival must be after {tag}departure.")
    return Segment(
        origin=origin,
        destination=dest,
        departure=start,
        arrival=end,
        origin_zone=airport_zone(origin),
        destination_zone=airport_zone(dest),
        carrier=m.group(1),
        flight_number=m.group(2),
    )


def _planned_confirmation(
    ctx: ToolContext,
    booking_id: str,
    reference: str,
    price: str,
    currency: str,
    flight: str,
    departure: str,
    arrival: str,
    return_flight: str,
    return_departure: str,
    return_arrival: str,
    hotel_name: str,
    hotel_address: str,
    refundable: bool | None,
    cancellation_policy: str,
) -> Booking:
    b = _get_booking(ctx, booking_id)
    if b.status != "requested":
        raise ToolError(
            f"Booking {b.id} is {b.status}, not a pending request; only requests are confirmed."
        )
    if not reference.strip():
        raise ToolError("reference is empty; give the agent's booking reference.")
    money = _money_arg(ctx, price, currency)
    if b.flight is not None:
        f = b.flight
        if not (flight.strip() and departure.strip() and arrival.strip()):
            raise ToolError("A flight confirmation needs flight, departure and arrival.")
        segments = [_segment_from(flight, f.origin, f.destination, departure, arrival, "")]
        if return_flight.strip():
            segments.append(
                _segment_from(
                    return_flight,
                    f.destination,
                    f.origin,
                    return_departure,
                    return_arrival,
                    "return_",
                )
            )
        rules = FareRules(refundable=refundable)
        new_flight = f.model_copy(
            update={
                "segments": segments,
                "price": money,
                "rules": rules,
                "departure_date": segments[0].departure.date(),
            }
        )
        return b.model_copy(
            update={"flight": new_flight, "price": money, "reference": reference.strip()}
        )
    assert b.hotel is not None
    nights = max(1, b.hotel.nights)
    hotel = b.hotel.model_copy(
        update={
            "name": hotel_name.strip() or b.hotel.name,
            "address": hotel_address.strip() or b.hotel.address,
            "total": money,
            "rate_per_night": Money(
                amount=(money.amount / nights).quantize(Decimal("0.01")), currency=money.currency
            ),
            "cancellation_policy": cancellation_policy.strip(),
        }
    )
    return b.model_copy(update={"hotel": hotel, "price": money, "reference": reference.strip()})


def _preview_confirm(ctx: ToolContext, args: BaseModel) -> Preview:
    values = args.model_dump()
    refundable = values["refundable"]
    b = _planned_confirmation(ctx, **values)
    details = {"Reference": b.reference, "Price": _price(b.price)}
    warnings: list[str] = []
    if b.flight is not None:
        for i, line in enumerate(_flight_lines(ctx, b.flight), 1):
            details[f"Flight {i}"] = line
        details["Fare"] = b.flight.rules.label()
        warnings += _conflicts(ctx, b.flight.segments, [])
        if refundable is False:
            warnings.append("Non-refundable fare")
        limit = ctx.principal.travel.max_flight_price
        warnings.append(_budget_warning(ctx, b.price, limit, "for a flight"))
        n = len(b.flight.segments)
    else:
        assert b.hotel is not None
        details["Hotel"] = _hotel_line(b.hotel)
        details["Cancellation"] = b.hotel.cancellation_policy or "not known"
        limit = ctx.principal.travel.max_hotel_night
        warnings.append(_budget_warning(ctx, b.hotel.rate_per_night, limit, "for a hotel night"))
        n = 1
    details["Calendar"] = f"add {n} event{'s' if n != 1 else ''}"
    return Preview(
        summary=f"Record the agent's confirmation of {_booking_title(b)}",
        details=details,
        warnings=[w for w in warnings if w],
    )


@tool(effect="write", duty="travel", preview=_preview_confirm, title="Confirm booking")
def confirm_booking(
    ctx: ToolContext,
    booking_id: str,
    reference: str,
    price: str,
    currency: str = "",
    flight: str = "",
    departure: str = "",
    arrival: str = "",
    return_flight: str = "",
    return_departure: str = "",
    return_arrival: str = "",
    hotel_name: str = "",
    hotel_address: str = "",
    refundable: bool | None = None,
    cancellation_policy: str = "",
) -> dict[str, Any]:
    """Record the travel agent's confirmation of a requested booking and add it to the calendar.

    Times are local at each airport, as on the ticket (2026-12-01T10:00).

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        booking_id: The requested booking's id, as shown by show_trip.
        reference: The agent's booking reference (PNR) or hotel confirmation number.
        price: The final total price, e.g. 412.80.
        currency: ISO currency of the price; empty for the preferences' currency.
        flight: Outbound flight number, e.g. LH400 (flights only).
        departure: Outbound departure, local time at the origin airport.
        arrival: Outbound arrival, local time at the destination airport.
        return_flight: Return flight number, for a round trip.
        return_departure: Return departure, local time at its airport.
        return_arrival: Return arrival, local time at its airport.
        hotel_name: The hotel's name (hotels only).
        hotel_address: The hotel's address (hotels only).
        refundable: Whether the fare can be refunded, if the agent said.
        cancellation_policy: The hotel's cancellation terms, as the agent gave them.
    """
    b = _planned_confirmation(
        ctx,
        booking_id,
        reference,
        price,
        currency,
        flight,
        departure,
        arrival,
        return_flight,
        return_departure,
        return_arrival,
        hotel_name,
        hotel_address,
        refundable,
        cancellation_policy,
    )
    b.status = "booked"
    b.event_ids = _make_events(ctx, b, "event")
    return _booking_dict(ctx, _trips(ctx).update_booking(b))


# ------------------------------------------------------ delays and changes


def _planned_update(
    ctx: ToolContext,
    booking_id: str,
    status: str,
    segment: int,
    new_departure: str,
    new_arrival: str,
    note: str,
) -> tuple[Booking, Segment, Segment, int]:
    b = _get_booking(ctx, booking_id)
    if b.flight is None or not b.flight.segments:
        raise ToolError(
            f"Booking {b.id} has no confirmed flights to update; only booked flights have segments."
        )
    if b.status == "cancelled":
        raise ToolError(f"Booking {b.id} is cancelled; there is nothing to update.")
    segs = b.flight.segments
    if not 1 <= segment <= len(segs):
        raise ToolError(f"segment must be between 1 and {len(segs)} for this booking.")
    old = segs[segment - 1]
    if status == "cancelled":
        new = old.model_copy(update={"status": "cancelled", "note": note.strip()})
        return b, old, new, segment - 1
    if not new_departure.strip():
        raise ToolError(
            f"new_departure is empty; give the new local time at {old.origin} "
            "(2026-12-01T11:30 or 11:30)."
        )

    def moved(text: str, code: str, zone: str, base: datetime, name: str) -> datetime:
        raw = text.strip()
        if re.fullmatch(r"\d{1,2}:\d{2}", raw):
            hh, mm = (int(x) for x in raw.split(":"))
            return base.replace(hour=hh, minute=mm)
        try:
            return local_at(raw, zone)
        except ValueError:
            raise ToolError(
                f"{name}: '{text}' is not a time; give the local time at {code} like "
                "2026-12-01T11:30."
            ) from None

    dep = moved(new_departure, old.origin, old.origin_zone, old.departure, "new_departure")
    if new_arrival.strip():
        arr = moved(new_arrival, old.destination, old.destination_zone, old.arrival, "new_arrival")
    else:
        arr = (old.arrival.astimezone(ZoneInfo("UTC")) + (dep - old.departure)).astimezone(
            ZoneInfo(old.destination_zone)
        )
    if arr <= dep:
        raise ToolError("The new arrival must be after the new departure.")
    new = old.model_copy(
        update={"departure": dep, "arrival": arr, "status": status, "note": note.strip()}
    )
    return b, old, new, segment - 1


def _preview_update(ctx: ToolContext, args: BaseModel) -> Preview:
    b, old, new, index = _planned_update(ctx, **args.model_dump())
    details = {"Booking": b.id, "Was": _segment_line(ctx, old), "Now": _segment_line(ctx, new)}
    has_event = index < len(b.event_ids)
    if new.status == "cancelled":
        details["Calendar"] = "cancel the flight's event" if has_event else "no event to change"
    else:
        details["Calendar"] = "move the flight's event" if has_event else "no event to move"
    warnings = _conflicts(ctx, [new] if new.status != "cancelled" else [], list(b.event_ids))
    return Preview(
        summary=f"Record {new.flight} {new.origin} -> {new.destination} as {new.status}",
        details=details,
        body=new.note or None,
        warnings=warnings,
    )


@tool(effect="write", duty="travel", preview=_preview_update, title="Update flight")
def update_trip_segment(
    ctx: ToolContext,
    booking_id: str,
    status: Literal["delayed", "changed", "cancelled", "scheduled"],
    segment: int = 1,
    new_departure: str = "",
    new_arrival: str = "",
    note: str = "",
) -> dict[str, Any]:
    """Record a delay, time change or cancellation of a booked flight; moves its calendar event.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        booking_id: The booking's id, as shown by show_trip.
        status: delayed, changed (new schedule), cancelled (by the airline), or scheduled.
        segment: Which flight of the booking, 1 for the first.
        new_departure: New local time at the origin airport (2026-12-01T11:30, or 11:30 for
            the same day).
        new_arrival: New local time at the destination airport; empty to shift it by the
            same amount as the departure.
        note: What the airline or agent said.
    """
    b, _old, new, index = _planned_update(
        ctx, booking_id, status, segment, new_departure, new_arrival, note
    )
    assert b.flight is not None
    if index < len(b.event_ids):
        event_id = b.event_ids[index]
        try:
            if new.status == "cancelled":
                ctx.calendar.cancel_event(event_id, _sub_key(ctx, "event"))
            else:
                ctx.calendar.move_event(
                    event_id, new.departure, new.arrival, _sub_key(ctx, "event")
                )
        except NotFound:
            pass
    segments = list(b.flight.segments)
    segments[index] = new
    updated = b.model_copy(update={"flight": b.flight.model_copy(update={"segments": segments})})
    return _booking_dict(ctx, _trips(ctx).update_booking(updated))


# -------------------------------------------------------------- itinerary


def _items(ctx: ToolContext, b: Booking) -> list[tuple[datetime, str, dict[str, Any]]]:
    """(sort instant, local day ISO, item) for each line of a booking in the itinerary."""
    tz = ctx.principal.tz
    ref = f" - ref {b.reference}" if b.reference else ""
    status = _display_status(b)
    out: list[tuple[datetime, str, dict[str, Any]]] = []
    if b.flight is not None:
        f = b.flight
        if f.segments:
            for s in f.segments:
                out.append(
                    (
                        s.departure,
                        s.departure.date().isoformat(),
                        {
                            "kind": "flight",
                            "booking_id": b.id,
                            "start": s.departure.isoformat(),
                            "end": s.arrival.isoformat(),
                            "line": _segment_line(ctx, s) + ref,
                            "status": s.status if s.status != "scheduled" else status,
                        },
                    )
                )
        else:
            days = [(f.departure_date, f.origin, f.destination)]
            if f.return_date:
                days.append((f.return_date, f.destination, f.origin))
            for d, a, z in days:
                noon = datetime.combine(d, time(12), tzinfo=tz)
                out.append(
                    (
                        noon,
                        d.isoformat(),
                        {
                            "kind": "flight",
                            "booking_id": b.id,
                            "start": d.isoformat(),
                            "line": f"Flight {a} -> {z} ({f.cabin.replace('_', ' ')}), "
                            "awaiting the travel agent",
                            "status": status,
                        },
                    )
                )
    elif b.hotel is not None:
        h = b.hotel
        name = h.name or f"hotel in {h.city}"
        where = f", {h.address}" if h.address else ""
        for d, word, hour in ((h.check_in, "Check in", 15), (h.check_out, "Check out", 11)):
            out.append(
                (
                    datetime.combine(d, time(hour), tzinfo=tz),
                    d.isoformat(),
                    {
                        "kind": "hotel",
                        "booking_id": b.id,
                        "start": d.isoformat(),
                        "line": f"{word}: {name}{where}{ref}",
                        "status": status,
                    },
                )
            )
    return out


def _trip_status(bookings: list[Booking]) -> str:
    live = [b for b in bookings if b.status != "cancelled"]
    if not live:
        return "cancelled"
    states = [_display_status(b) for b in live]
    for word in ("requested", "flight cancelled", "delayed", "changed"):
        if word in states:
            return word
    return "booked"


def _trip_dict(ctx: ToolContext, t: Trip, full: bool) -> dict[str, Any]:
    bookings = _trips(ctx).bookings(t.id)
    items = sorted(
        (i for b in bookings if b.status != "cancelled" for i in _items(ctx, b)),
        key=lambda x: x[0],
    )
    totals: dict[str, Decimal] = {}
    unpriced = 0
    for b in bookings:
        if b.status == "cancelled":
            continue
        if b.price is None:
            unpriced += 1
        else:
            totals[b.price.currency] = totals.get(b.price.currency, Decimal(0)) + b.price.amount
    first = items[0] if items else None
    out: dict[str, Any] = {
        "id": t.id,
        "title": t.title,
        "status": _trip_status(bookings),
        "start": first[2]["start"] if first else "",
        "first_day": first[1] if first else "",
        "last_day": items[-1][1] if items else "",
        "totals": {c: f"{a:.2f}" for c, a in sorted(totals.items())},
        "bookings_count": len(bookings),
    }
    if unpriced:
        out["not_priced"] = unpriced
    if full:
        days: dict[str, list[dict[str, Any]]] = {}
        for _, day, item in items:
            days.setdefault(day, []).append(item)
        out["days"] = [
            {"date": d, "label": _day(date.fromisoformat(d)), "items": v} for d, v in days.items()
        ]
        out["bookings"] = [_booking_dict(ctx, b) for b in bookings]
    return out


@tool(effect="read", duty="travel", title="List trips")
def list_trips(ctx: ToolContext, include_past: bool = False) -> list[dict[str, Any]]:
    """List the principal's trips (upcoming ones unless include_past), soonest first.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        include_past: Also list trips that have ended.
    """
    today = ctx.now().date().isoformat()
    found = [_trip_dict(ctx, t, full=False) for t in _trips(ctx).trips()]
    if not include_past:
        found = [t for t in found if not t["last_day"] or t["last_day"] >= today]
    return sorted(found, key=lambda t: (t["first_day"] or "9999", t["id"]))


@tool(effect="read", duty="travel", title="Show trip")
def show_trip(ctx: ToolContext, trip_id: str) -> dict[str, Any]:
    """Show a trip's itinerary day by day: flights in local times, hotels, references, totals.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        trip_id: The trip's id, as shown by list_trips.
    """
    try:
        trip = _trips(ctx).get_trip(trip_id.strip())
    except NotFound:
        raise ToolError(
            f"No trip with id '{trip_id}'. Use list_trips to find the right id."
        ) from None
    return _trip_dict(ctx, trip, full=True)


def upcoming_travel(ctx: ToolContext, days: int = 2) -> list[dict[str, Any]]:
    """Trips with something starting in the next ``days`` days (for the daily briefing).

    Returns a list of dicts: ``trip_id``, ``title``, ``start`` (ISO, the first
    item in the window) and ``summary`` (one line).
    """
    now = ctx.now()
    until = now + timedelta(days=days)
    out = []
    store = _trips(ctx)
    for t in store.trips():
        items = sorted(
            (i for b in store.bookings(t.id) if b.status != "cancelled" for i in _items(ctx, b)),
            key=lambda x: x[0],
        )
        soon = [i for i in items if now <= i[0] < until]
        if soon:
            _, _, item = soon[0]
            out.append(
                {
                    "trip_id": t.id,
                    "title": t.title,
                    "start": item["start"],
                    "summary": f"{t.title}: {item['line']}",
                }
            )
    return sorted(out, key=lambda x: x["start"])
