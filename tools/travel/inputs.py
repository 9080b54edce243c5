"""What every travel tool reads first: the trip records, the booking service, its arguments."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from tools.base import ToolError
from tools.context import ToolContext
from tools.dates import read_when
from tools.providers.base import NotFound
from tools.providers.local.trips import LocalTrips
from tools.providers.travel.base import (
    Booking,
    Money,
    Segment,
    TravelProvider,
    airport_zone,
    local_at,
)
from tools.providers.travel.local import LocalTravel
from tools.travel.texts import _day

_IATA = re.compile(r"^[A-Z]{3}$")
_FLIGHT = re.compile(r"^([A-Z0-9]{2})\s?(\d{1,4}[A-Z]?)$")


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


def _get_booking(ctx: ToolContext, booking_id: str) -> Booking:
    try:
        return _trips(ctx).get_booking(booking_id.strip())
    except NotFound:
        raise ToolError(
            f"No booking with id '{booking_id}'. Use show_trip to find the right id."
        ) from None


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
