"""The itinerary: calendar entries for booked travel, trips day by day, what is coming up."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from tools import outbound
from tools.base import ToolError, tool
from tools.context import ToolContext
from tools.providers.base import NewEvent, NotFound
from tools.providers.local.trips import Trip
from tools.providers.travel.base import (
    Booking,
    airport_city,
)
from tools.travel.inputs import _trips
from tools.travel.texts import _booking_dict, _clock, _day, _display_status, _segment_line


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
        ids.append(ctx.calendar.create_event(ev, outbound.sub_key(ctx, f"{part}-{i}")).id)
    return ids


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
