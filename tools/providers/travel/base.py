"""The travel provider Protocol and the data every travel provider returns.

A provider searches flights and hotels, re-prices an offer just before it is
booked, books it once per idempotency key and cancels a booking. Money is a
``Decimal`` with an ISO 4217 currency; every flight time is an aware datetime
in the *local zone of its airport* (``Europe/Berlin`` for BER), because that is
how airlines print them and how travellers read them.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, Field, model_validator

Cabin = Literal["economy", "premium_economy", "business", "first"]
BookingStatus = Literal["requested", "booked", "cancelled"]
SegmentStatus = Literal["scheduled", "delayed", "changed", "cancelled"]


class Money(BaseModel):
    """An amount in one currency."""

    amount: Decimal
    currency: str = Field(description="ISO 4217 code, e.g. EUR.")

    def label(self) -> str:
        """``412.80 EUR``."""
        return f"{self.amount:.2f} {self.currency}"


class Segment(BaseModel):
    """One flight: a take-off and a landing, each in its airport's local zone."""

    origin: str = Field(description="IATA airport code, e.g. BER.")
    destination: str
    departure: AwareDatetime = Field(description="Local time at the origin airport.")
    arrival: AwareDatetime = Field(description="Local time at the destination airport.")
    origin_zone: str = Field(description="IANA zone of the origin airport.")
    destination_zone: str
    carrier: str = Field(description="Marketing carrier, IATA code (LH).")
    flight_number: str = Field(description="Without the carrier code (400).")
    carrier_name: str = ""
    origin_city: str = ""
    destination_city: str = ""
    status: SegmentStatus = "scheduled"
    note: str = ""

    @model_validator(mode="after")
    def _in_airport_zones(self) -> Segment:
        # Stored as ISO with an offset; put each time back into its airport's named zone.
        self.departure = self.departure.astimezone(ZoneInfo(self.origin_zone))
        self.arrival = self.arrival.astimezone(ZoneInfo(self.destination_zone))
        return self

    @property
    def flight(self) -> str:
        """``LH400``."""
        return f"{self.carrier}{self.flight_number}"


class FareRules(BaseModel):
    """What may be changed or refunded after booking, and at what cost (None: not known)."""

    refundable: bool | None = None
    changeable: bool | None = None
    refund_penalty: Money | None = None
    change_penalty: Money | None = None

    def label(self) -> str:
        """``refundable (penalty 50.00 EUR); changeable (free)``."""

        def part(word: str, allowed: bool | None, penalty: Money | None) -> str:
            if allowed is None:
                return f"{word}: unknown"
            if not allowed:
                return f"not {word}"
            if penalty is None:
                return word
            if penalty.amount == 0:
                return f"{word} (free)"
            return f"{word} (penalty {penalty.label()})"

        return "; ".join(
            (
                part("refundable", self.refundable, self.refund_penalty),
                part("changeable", self.changeable, self.change_penalty),
            )
        )


class FlightOffer(BaseModel):
    """A priced set of flights, or (local provider) the shape of a flight request."""

    id: str
    provider: str
    origin: str
    destination: str
    departure_date: date
    return_date: date | None = None
    cabin: Cabin = "economy"
    passengers: int = 1
    price: Money | None = Field(None, description="None when the provider cannot price it.")
    segments: list[Segment] = Field(default_factory=list)
    rules: FareRules = Field(default_factory=FareRules)
    owner: str = Field("", description="The selling airline, IATA code.")
    passenger_ids: list[str] = Field(default_factory=list)
    expires_at: AwareDatetime | None = None
    request_only: bool = Field(
        False, description="True when this is a request for a human agent, not live inventory."
    )

    @property
    def carriers(self) -> list[str]:
        """Marketing carriers of the segments, in order."""
        return [s.carrier for s in self.segments]


class HotelOffer(BaseModel):
    """A room for a stay, or (local provider) the shape of a hotel request."""

    id: str
    provider: str
    name: str = ""
    chain: str = ""
    address: str = ""
    city: str
    check_in: date
    check_out: date
    guests: int = 1
    rate_per_night: Money | None = None
    total: Money | None = None
    refundable_until: AwareDatetime | None = None
    cancellation_policy: str = ""
    request_only: bool = False

    @property
    def nights(self) -> int:
        """Number of nights."""
        return (self.check_out - self.check_in).days


class Traveller(BaseModel):
    """The person who travels, as the airline or hotel needs them."""

    given_name: str
    family_name: str
    born_on: str = ""
    gender: str = ""
    title: str = ""
    email: str = ""
    phone: str = ""
    loyalty: dict[str, str] = Field(default_factory=dict)


class Booking(BaseModel):
    """A flight or hotel booking (or a request for one) and where it sits in a trip."""

    id: str
    kind: Literal["flight", "hotel"]
    provider: str
    status: BookingStatus
    provider_ref: str = Field("", description="The provider's own id (a Duffel order id).")
    reference: str = Field("", description="Booking reference (PNR) or confirmation number.")
    price: Money | None = None
    flight: FlightOffer | None = None
    hotel: HotelOffer | None = None
    traveller: Traveller | None = None
    trip_id: str = ""
    event_ids: list[str] = Field(default_factory=list)
    refund: Money | None = None
    notes: str = ""
    created_at: AwareDatetime | None = None


class Cancellation(BaseModel):
    """What a cancellation gave back."""

    booking_id: str
    provider_ref: str = ""
    refund: Money | None = None
    confirmed: bool = True


@runtime_checkable
class TravelProvider(Protocol):
    """Search, price, book and cancel travel for one principal."""

    name: str
    live: bool
    """True when searches return live, bookable inventory (False: requests to a human agent)."""

    def search_flights(
        self,
        origin: str,
        destination: str,
        departure_date: date,
        return_date: date | None,
        cabin: Cabin,
        passengers: int,
    ) -> list[FlightOffer]:
        """Offers for the journey (one slice, or two with a return date)."""
        ...

    def search_hotels(
        self, city: str, check_in: date, check_out: date, guests: int
    ) -> list[HotelOffer]:
        """Rooms in a city (or near a location) for the nights given."""
        ...

    def price(self, offer_id: str) -> FlightOffer | HotelOffer:
        """The offer as it stands now (its price may have changed since the search)."""
        ...

    def book(
        self, offer: FlightOffer | HotelOffer, traveller: Traveller, idempotency_key: str
    ) -> Booking:
        """Book the offer once per key (a repeated key returns the first booking)."""
        ...

    def cancel(self, booking: Booking, idempotency_key: str) -> Cancellation:
        """Cancel a booking (once per key) and say what is refunded."""
        ...


# ------------------------------------------------------------------ airports

AIRPORTS: dict[str, tuple[str, str]] = {
    "AMS": ("Europe/Amsterdam", "Amsterdam"),
    "ARN": ("Europe/Stockholm", "Stockholm"),
    "ATH": ("Europe/Athens", "Athens"),
    "ATL": ("America/New_York", "Atlanta"),
    "BCN": ("Europe/Madrid", "Barcelona"),
    "BER": ("Europe/Berlin", "Berlin"),
    "BKK": ("Asia/Bangkok", "Bangkok"),
    "BOS": ("America/New_York", "Boston"),
    "BRU": ("Europe/Brussels", "Brussels"),
    "CDG": ("Europe/Paris", "Paris"),
    "CPH": ("Europe/Copenhagen", "Copenhagen"),
    "DEL": ("Asia/Kolkata", "Delhi"),
    "DFW": ("America/Chicago", "Dallas"),
    "DOH": ("Asia/Qatar", "Doha"),
    "DUB": ("Europe/Dublin", "Dublin"),
    "DUS": ("Europe/Berlin", "Düsseldorf"),
    "DXB": ("Asia/Dubai", "Dubai"),
    "EWR": ("America/New_York", "New York"),
    "FCO": ("Europe/Rome", "Rome"),
    "FRA": ("Europe/Berlin", "Frankfurt"),
    "GRU": ("America/Sao_Paulo", "São Paulo"),
    "GVA": ("Europe/Zurich", "Geneva"),
    "HAM": ("Europe/Berlin", "Hamburg"),
    "HEL": ("Europe/Helsinki", "Helsinki"),
    "HKG": ("Asia/Hong_Kong", "Hong Kong"),
    "HND": ("Asia/Tokyo", "Tokyo"),
    "IAD": ("America/New_York", "Washington"),
    "IST": ("Europe/Istanbul", "Istanbul"),
    "JFK": ("America/New_York", "New York"),
    "LAX": ("America/Los_Angeles", "Los Angeles"),
    "LGW": ("Europe/London", "London"),
    "LHR": ("Europe/London", "London"),
    "LIS": ("Europe/Lisbon", "Lisbon"),
    "MAD": ("Europe/Madrid", "Madrid"),
    "MEX": ("America/Mexico_City", "Mexico City"),
    "MUC": ("Europe/Berlin", "Munich"),
    "MXP": ("Europe/Rome", "Milan"),
    "NRT": ("Asia/Tokyo", "Tokyo"),
    "ORD": ("America/Chicago", "Chicago"),
    "OSL": ("Europe/Oslo", "Oslo"),
    "PRG": ("Europe/Prague", "Prague"),
    "SEA": ("America/Los_Angeles", "Seattle"),
    "SFO": ("America/Los_Angeles", "San Francisco"),
    "SIN": ("Asia/Singapore", "Singapore"),
    "STR": ("Europe/Berlin", "Stuttgart"),
    "SYD": ("Australia/Sydney", "Sydney"),
    "TXL": ("Europe/Berlin", "Berlin"),
    "VIE": ("Europe/Vienna", "Vienna"),
    "WAW": ("Europe/Warsaw", "Warsaw"),
    "YUL": ("America/Toronto", "Montreal"),
    "YYZ": ("America/Toronto", "Toronto"),
    "ZRH": ("Europe/Zurich", "Zurich"),
}
"""IATA code -> (IANA zone, city) of common airports, for the local provider's requests."""


def airport_zone(code: str) -> str:
    """The IANA zone of an airport, or '' when it is not in the table."""
    return AIRPORTS.get(code.upper(), ("", ""))[0]


def airport_city(code: str) -> str:
    """The city an airport serves, or '' when it is not in the table."""
    return AIRPORTS.get(code.upper(), ("", ""))[1]


def local_at(value: datetime | str, zone: str) -> datetime:
    """A time at an airport: a naive time is read in ``zone``, an aware one converted to it."""
    dt = datetime.fromisoformat(value) if isinstance(value, str) else value
    tz = ZoneInfo(zone)
    return dt.replace(tzinfo=tz) if dt.tzinfo is None else dt.astimezone(tz)


def key_id(prefix: str, key: str) -> str:
    """An id derived from an idempotency key (random without one), so a retry finds its record."""
    if not key:
        return f"{prefix}-{uuid.uuid4().hex[:12]}"
    return f"{prefix}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
