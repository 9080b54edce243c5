"""After a booking: the travel agent's confirmation, and delays, changes or cancellations."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from tools import outbound
from tools.base import Preview, ToolError, tool
from tools.context import ToolContext
from tools.providers.base import NotFound
from tools.providers.travel.base import (
    Booking,
    FareRules,
    Money,
    Segment,
    local_at,
)
from tools.travel.inputs import (
    _get_booking,
    _money_arg,
    _segment_from,
    _trips,
)
from tools.travel.itinerary import _make_events
from tools.travel.texts import (
    _booking_dict,
    _booking_title,
    _budget_warning,
    _conflicts,
    _flight_lines,
    _hotel_line,
    _price,
    _segment_line,
)

if TYPE_CHECKING:
    from pydantic import BaseModel


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
                ctx.calendar.cancel_event(event_id, outbound.sub_key(ctx, "event"))
            else:
                ctx.calendar.move_event(
                    event_id, new.departure, new.arrival, outbound.sub_key(ctx, "event")
                )
        except NotFound:
            pass
    segments = list(b.flight.segments)
    segments[index] = new
    updated = b.model_copy(update={"flight": b.flight.model_copy(update={"segments": segments})})
    return _booking_dict(ctx, _trips(ctx).update_booking(updated))
