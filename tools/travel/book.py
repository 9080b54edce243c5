"""Booking an offer (or requesting it from the travel agent) and cancelling a booking."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from tools import outbound
from tools.base import Preview, ToolError, tool
from tools.context import ToolContext
from tools.dates import zone_label
from tools.providers.base import NotFound, OutgoingMessage
from tools.providers.local.trips import Trip
from tools.providers.travel.base import (
    Booking,
    FlightOffer,
    HotelOffer,
    Money,
    Traveller,
    airport_city,
    key_id,
)
from tools.providers.travel.local import cancel_mail, request_mail
from tools.travel.inputs import _get_booking, _provider, _provider_for, _trips
from tools.travel.itinerary import _make_events
from tools.travel.offers import (
    _approved_price,
    _known_offer,
    _live_offer,
    _offer_price,
    _price_rise,
)
from tools.travel.texts import (
    _booking_dict,
    _booking_title,
    _budget_warning,
    _conflicts,
    _day,
    _display_status,
    _flight_lines,
    _hotel_line,
    _price,
)

if TYPE_CHECKING:
    from pydantic import BaseModel


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
            return _TripChoice(key_id("trip", outbound.sub_key(ctx, "trip")), wanted, True)
        return _TripChoice(found.id, found.title, False)
    for t in store.trips():
        spans = [_span(b) for b in store.bookings(t.id) if b.status != "cancelled"]
        if not spans:
            continue
        begin = min(s[0] for s in spans) - timedelta(days=1)
        end = max(s[1] for s in spans) + timedelta(days=1)
        if begin <= first <= end or begin <= last <= end:
            return _TripChoice(t.id, t.title, False)
    return _TripChoice(key_id("trip", outbound.sub_key(ctx, "trip")), title, True)


def _send(ctx: ToolContext, message: OutgoingMessage, part: str) -> str:
    if not message.to or not message.to[0]:
        # No travel agent on file: keep the request as a draft the principal can forward.
        message = message.model_copy(update={"to": [ctx.principal.email]})
        return outbound.save_draft(ctx, message, part).message_id
    return outbound.send(ctx, message, part).message_id


# ------------------------------------------------------------------ booking


@dataclass
class _Plan:
    offer: FlightOffer | HotelOffer
    price: Money | None
    """What the booking costs on the card: the approved price, or the request's (none yet)."""
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


def _planned_booking(
    ctx: ToolContext, offer: FlightOffer | HotelOffer, price: str, trip: str, notes: str, kind: str
) -> _Plan:
    """What booking ``offer`` at the approved ``price`` does; shared by the card and the run.

    The card passes the offer as already read, the run the offer as priced live.
    """
    if kind == "flight" and not isinstance(offer, FlightOffer):
        raise ToolError(f"'{offer.id}' is a hotel offer; use book_hotel for it.")
    if kind == "hotel" and not isinstance(offer, HotelOffer):
        raise ToolError(f"'{offer.id}' is a flight offer; use book_flight for it.")
    _check_offer_dates(ctx, offer)
    live = not offer.request_only
    if isinstance(offer, FlightOffer) and live and len(offer.passenger_ids) > 1:
        raise ToolError("Only the principal can be booked here; search again with passengers=1.")
    traveller = _traveller(ctx, live)
    approved = _approved_price(offer, price)
    searched = _offer_price(_trips(ctx).offer(offer.id))
    cost = approved if approved is not None else _offer_price(offer)
    warnings: list[str] = []
    if isinstance(offer, FlightOffer):
        first, last = _flight_span(offer)
        dest = offer.segments[0].destination_city if offer.segments else ""
        title = f"Trip to {dest or airport_city(offer.destination) or offer.destination}"
        warnings += [
            _budget_warning(ctx, cost, ctx.principal.travel.max_flight_price, "for a flight"),
            "Non-refundable fare" if offer.rules.refundable is False else "",
        ]
        warnings += _conflicts(ctx, offer.segments, [])
    else:
        first, last = offer.check_in, offer.check_out
        title = f"Trip to {offer.city}"
        warnings += [
            _budget_warning(
                ctx, offer.rate_per_night, ctx.principal.travel.max_hotel_night, "for a hotel night"
            )
        ]
    if cost is not None and searched is not None and searched != cost:
        warnings.append(f"Price changed since search: {searched.label()} -> {cost.label()}")
    plan = _Plan(
        offer=offer,
        price=cost,
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
        details["Price"] = _price(plan.price)
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
        details["Total"] = _price(plan.price)
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
        summary = f"Book {what} for {_price(plan.price)}"
    return Preview(summary=summary, details=details, body=body, warnings=plan.warnings)


def _preview_book(kind: str) -> Any:
    def render(ctx: ToolContext, args: BaseModel) -> Preview:
        # Drawn from the offer as already read and the proposal's own price: no network
        # call and no write, so a second card or an edit never moves what was approved.
        v = args.model_dump()
        offer = _known_offer(ctx, v["offer_id"])
        plan = _planned_booking(ctx, offer, v["price"], v["trip"], v["notes"], kind)
        return _booking_preview(ctx, plan, kind)

    return render


def _book(
    ctx: ToolContext, offer_id: str, price: str, trip: str, notes: str, kind: str
) -> dict[str, Any]:
    store = _trips(ctx)
    if ctx.idempotency_key:
        done = store.find_booking(key_id("bkg", ctx.idempotency_key))
        if done is not None:
            return _booking_dict(ctx, done)
    plan = _planned_booking(ctx, _live_offer(ctx, offer_id), price, trip, notes, kind)
    offer = plan.offer
    if not offer.request_only and (rise := _price_rise(plan.price, _offer_price(offer))):
        raise ToolError(rise)
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
def book_flight(
    ctx: ToolContext, offer_id: str, price: str = "", trip: str = "", notes: str = ""
) -> dict[str, Any]:
    """Book a flight offer found by search_flights (or, without a booking service, request it).

    With a booking service, call price_offer first and give the price it answers: the card
    shows it with the fare rules and every time in its airport's zone, and the booking is
    refused if the price is higher when it runs. Loyalty numbers from the travel
    preferences go into the booking.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        offer_id: The offer_id from search_flights.
        price: The price price_offer answered, e.g. "431.20 EUR"; the most the booking may
            cost. Empty for a request to the travel agent (no booking service).
        trip: A trip id to add it to, or a title for a new trip; empty to file it with an
            overlapping trip or start a new one.
        notes: Wishes for the travel agent (seat, times), kept with the booking.
    """
    return _book(ctx, offer_id, price, trip, notes, "flight")


@tool(effect="write", duty="travel", preview=_preview_book("hotel"), title="Book hotel")
def book_hotel(
    ctx: ToolContext, offer_id: str, price: str = "", trip: str = "", notes: str = ""
) -> dict[str, Any]:
    """Book a hotel offer found by search_hotels (or, without a booking service, request it).

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        offer_id: The offer_id from search_hotels.
        price: For a live offer, the total price_offer answered, e.g. "780.00 USD"; the most
            the stay may cost. Empty for a request to the travel agent.
        trip: A trip id to add it to, or a title for a new trip; empty to file it with an
            overlapping trip or start a new one.
        notes: Wishes for the travel agent (area, room type), kept with the booking.
    """
    return _book(ctx, offer_id, price, trip, notes, "hotel")


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
    result = _provider_for(ctx, b).cancel(b, outbound.sub_key(ctx, "cancel"))
    for i, event_id in enumerate(b.event_ids):
        try:
            ctx.calendar.cancel_event(event_id, outbound.sub_key(ctx, f"cancel-event-{i}"))
        except NotFound:
            continue
    if b.provider == "local":
        _send(ctx, cancel_mail(ctx.principal, b, reason), "agent-mail")
    notes = "\n".join(
        x for x in (b.notes, f"Cancelled: {reason.strip()}" if reason.strip() else "") if x
    )
    done = b.model_copy(update={"status": "cancelled", "refund": result.refund, "notes": notes})
    return _booking_dict(ctx, _trips(ctx).update_booking(done))
