"""The local travel provider: requests to the principal's human travel agent.

For a principal without a booking API nothing can be searched live. A search
returns the *shape* of the request (route, dates, cabin, or city and nights)
as an offer marked ``request_only``, with no price; booking it records a
booking *request* (status ``requested``) and the tools e-mail the travel agent
named in ``principal.travel.travel_agent``. When the agent answers, the
``confirm_booking`` tool records their reference, final price and times.

Offer ids encode the request itself, so pricing an offer needs no storage and
the same request always has the same id.
"""

from __future__ import annotations

import base64
import json
from datetime import date
from typing import TYPE_CHECKING

from tools.providers.base import NotFound, OutgoingMessage
from tools.providers.travel.base import (
    Booking,
    Cabin,
    Cancellation,
    FlightOffer,
    HotelOffer,
    Traveller,
    airport_city,
    key_id,
)

if TYPE_CHECKING:
    from tools.foundation.principals import Principal

_PREFIX = "local-"


def _encode(data: dict[str, object]) -> str:
    raw = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    return _PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(offer_id: str) -> dict[str, object]:
    if not offer_id.startswith(_PREFIX):
        raise NotFound(f"'{offer_id}' is not a travel request id; search again to get one.")
    body = offer_id[len(_PREFIX) :]
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        raise NotFound(
            f"'{offer_id}' is not a travel request id; search again to get one."
        ) from None
    if not isinstance(data, dict):
        raise NotFound(f"'{offer_id}' is not a travel request id; search again to get one.")
    return data


class LocalTravel:
    """Travel by request to a human agent: no live inventory, no prices until they confirm."""

    name = "local"
    live = False

    def search_flights(
        self,
        origin: str,
        destination: str,
        departure_date: date,
        return_date: date | None,
        cabin: Cabin,
        passengers: int,
    ) -> list[FlightOffer]:
        """The request itself, as one unpriced offer the travel agent will fill in."""
        data: dict[str, object] = {
            "k": "flight",
            "o": origin,
            "d": destination,
            "dep": departure_date.isoformat(),
            "ret": return_date.isoformat() if return_date else "",
            "c": cabin,
            "n": passengers,
        }
        return [self._flight(_encode(data), data)]

    def search_hotels(
        self, city: str, check_in: date, check_out: date, guests: int
    ) -> list[HotelOffer]:
        """The request itself, as one unpriced room the travel agent will find."""
        data: dict[str, object] = {
            "k": "hotel",
            "city": city,
            "in": check_in.isoformat(),
            "out": check_out.isoformat(),
            "n": guests,
        }
        return [self._hotel(_encode(data), data)]

    def price(self, offer_id: str) -> FlightOffer | HotelOffer:
        """The request behind an id (requests have no price until the agent confirms)."""
        data = _decode(offer_id)
        if data.get("k") == "flight":
            return self._flight(offer_id, data)
        if data.get("k") == "hotel":
            return self._hotel(offer_id, data)
        raise NotFound(f"'{offer_id}' is not a travel request id; search again to get one.")

    def book(
        self, offer: FlightOffer | HotelOffer, traveller: Traveller, idempotency_key: str
    ) -> Booking:
        """A booking request (status ``requested``); the tool mails it to the agent."""
        kind = "flight" if isinstance(offer, FlightOffer) else "hotel"
        return Booking(
            id=key_id("bkg", idempotency_key),
            kind=kind,
            provider=self.name,
            status="requested",
            flight=offer if isinstance(offer, FlightOffer) else None,
            hotel=offer if isinstance(offer, HotelOffer) else None,
            traveller=traveller,
        )

    def cancel(self, booking: Booking, idempotency_key: str) -> Cancellation:
        """Cancellation is asked of the agent by mail; any refund is theirs to state."""
        return Cancellation(booking_id=booking.id, confirmed=False)

    # ------------------------------------------------------------ helpers

    def _flight(self, offer_id: str, data: dict[str, object]) -> FlightOffer:
        ret = str(data.get("ret") or "")
        return FlightOffer(
            id=offer_id,
            provider=self.name,
            origin=str(data["o"]),
            destination=str(data["d"]),
            departure_date=date.fromisoformat(str(data["dep"])),
            return_date=date.fromisoformat(ret) if ret else None,
            cabin=str(data.get("c") or "economy"),
            passengers=int(str(data.get("n") or 1)),
            request_only=True,
        )

    def _hotel(self, offer_id: str, data: dict[str, object]) -> HotelOffer:
        return HotelOffer(
            id=offer_id,
            provider=self.name,
            city=str(data["city"]),
            check_in=date.fromisoformat(str(data["in"])),
            check_out=date.fromisoformat(str(data["out"])),
            guests=int(str(data.get("n") or 1)),
            request_only=True,
        )


# --------------------------------------------------------- agent e-mails


def _place(code: str) -> str:
    city = airport_city(code)
    return f"{city} ({code})" if city else code


def _traveller_lines(principal: Principal, t: Traveller) -> list[str]:
    prefs = principal.travel
    name = " ".join(x for x in (t.title.capitalize(), t.given_name, t.family_name) if x)
    lines = [f"Traveller: {name}"]
    if t.born_on:
        lines.append(f"Date of birth: {t.born_on}")
    if t.phone:
        lines.append(f"Phone: {t.phone}")
    if t.email:
        lines.append(f"E-mail: {t.email}")
    if t.loyalty:
        lines.append(
            "Loyalty numbers: " + ", ".join(f"{k} {v}" for k, v in sorted(t.loyalty.items()))
        )
    budget = []
    if prefs.max_flight_price is not None:
        budget.append(f"flights up to {prefs.max_flight_price} {prefs.currency}")
    if prefs.max_hotel_night is not None:
        budget.append(f"hotels up to {prefs.max_hotel_night} {prefs.currency} a night")
    if budget:
        lines.append("Budget: " + ", ".join(budget))
    return lines


def request_mail(principal: Principal, booking: Booking, notes: str = "") -> OutgoingMessage:
    """The e-mail asking the travel agent to book a requested flight or hotel."""
    prefs = principal.travel
    lines: list[str] = []
    if booking.flight is not None:
        f = booking.flight
        subject = (
            f"Booking request: flight {f.origin}-{f.destination} on {f.departure_date:%d %b %Y}"
        )
        lines += [
            "Hello,",
            "",
            "please book the following flight and reply with the booking reference, the final "
            "price and the flight times:",
            "",
            f"Route: {_place(f.origin)} -> {_place(f.destination)}",
            f"Departure: {f.departure_date:%a %d %b %Y}",
        ]
        if f.return_date:
            lines.append(f"Return: {f.return_date:%a %d %b %Y}")
        lines.append(f"Cabin: {f.cabin.replace('_', ' ')}")
        if prefs.seat != "any":
            lines.append(f"Seat: {prefs.seat}")
        if prefs.airlines:
            lines.append(f"Preferred airlines: {', '.join(prefs.airlines)}")
    else:
        h = booking.hotel
        assert h is not None
        subject = f"Booking request: hotel in {h.city}, {h.check_in:%d %b} - {h.check_out:%d %b %Y}"
        lines += [
            "Hello,",
            "",
            "please book the following hotel stay and reply with the confirmation number, the "
            "hotel's name and address, the rate and the cancellation terms:",
            "",
            f"City: {h.city}",
            f"Check-in: {h.check_in:%a %d %b %Y}",
            f"Check-out: {h.check_out:%a %d %b %Y} ({h.nights} nights)",
            f"Guests: {h.guests}",
        ]
        if h.name:
            lines.append(f"Hotel: {h.name}")
        if prefs.hotel_chains:
            lines.append(f"Preferred chains: {', '.join(prefs.hotel_chains)}")
    if booking.traveller is not None:
        lines += _traveller_lines(principal, booking.traveller)
    if notes.strip():
        lines += ["", notes.strip()]
    lines += ["", f"Our reference: {booking.id}", "", "Thank you,"]
    sign = principal.signature.strip() or principal.name
    return OutgoingMessage(
        to=[prefs.travel_agent],
        subject=subject,
        body="\n".join(lines) + f"\n\n{sign}\n",
        extra_headers={"X-Secretary-Booking": booking.id},
    )


def cancel_mail(principal: Principal, booking: Booking, reason: str = "") -> OutgoingMessage:
    """The e-mail asking the travel agent to cancel a booking (or a pending request)."""
    what = "request" if booking.status == "requested" else "booking"
    if booking.flight is not None:
        f = booking.flight
        item = f"flight {f.origin}-{f.destination} on {f.departure_date:%d %b %Y}"
    else:
        assert booking.hotel is not None
        h = booking.hotel
        item = f"hotel in {h.city}, {h.check_in:%d %b} - {h.check_out:%d %b %Y}"
    lines = [
        "Hello,",
        "",
        f"please cancel the {what} for the {item}"
        + (f" (reference {booking.reference})" if booking.reference else "")
        + " and let me know of any refund or fee.",
    ]
    if reason.strip():
        lines += ["", f"Reason: {reason.strip()}"]
    lines += ["", f"Our reference: {booking.id}", "", "Thank you,"]
    sign = principal.signature.strip() or principal.name
    return OutgoingMessage(
        to=[principal.travel.travel_agent],
        subject=f"Cancellation: {item}",
        body="\n".join(lines) + f"\n\n{sign}\n",
        extra_headers={"X-Secretary-Booking": booking.id},
    )
