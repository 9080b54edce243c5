"""How travel reads on cards and in answers: days, airport times, prices, budgets, bookings."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tools.context import ToolContext
from tools.dates import zone_label
from tools.providers.travel.base import (
    Booking,
    FlightOffer,
    HotelOffer,
    Money,
    Segment,
    airport_city,
)

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


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
