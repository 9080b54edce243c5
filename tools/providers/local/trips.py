"""Trips: bookings and the itinerary they make, in one SQLite file per principal.

A trip is a title and an id; its bookings (flights and hotel stays, booked or
requested) hold the segments, prices and the ids of the calendar events they
made. Offers found by searches are kept too, with the price last shown on an
approval card, so a price change between search, card and booking is noticed.
Booking ids are derived from the approved action's idempotency key, so a
retried action finds its own row.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import AwareDatetime, BaseModel

from tools.providers.base import NotFound
from tools.providers.local.store import LocalStore
from tools.providers.travel.base import Booking, FlightOffer, HotelOffer

if TYPE_CHECKING:
    from tools.foundation.db import Storage

_SCHEMA = """
CREATE TABLE IF NOT EXISTS offers (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    data        TEXT NOT NULL,
    searched_at TEXT NOT NULL,
    seen_amount TEXT,
    seen_currency TEXT
);
CREATE TABLE IF NOT EXISTS trips (
    id         TEXT PRIMARY KEY,
    title      TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS bookings (
    id         TEXT PRIMARY KEY,
    trip_id    TEXT NOT NULL,
    status     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS bookings_trip ON bookings (trip_id);
"""


class Trip(BaseModel):
    """A journey: a title and the bookings filed under it."""

    id: str
    title: str
    created_at: AwareDatetime


class LocalTrips(LocalStore):
    """A principal's records in ``root/trips.sqlite``."""

    def __init__(self, root: Path, *, storage: Storage | None = None) -> None:
        """Open (and create if needed) the database under the principal's directory.

        Args:
            root: The principal's workspace directory.
            storage: Where the principal's tables live; default from ``root``
                and ``SECRETARY_DATABASE_URL``.
        """
        super().__init__(root / "trips.sqlite", _SCHEMA, storage=storage)

    # --------------------------------------------------------------- offers

    def remember_offers(self, offers: list[FlightOffer] | list[HotelOffer], at: datetime) -> None:
        """Keep searched offers (a new search of the same offer replaces the old one)."""
        with self._lock, self.transaction():
            for offer in offers:
                self._db.execute(
                    "INSERT INTO offers (id, kind, data, searched_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT(id) DO UPDATE SET data = excluded.data,"
                    " searched_at = excluded.searched_at, seen_amount = NULL,"
                    " seen_currency = NULL",
                    (
                        offer.id,
                        "flight" if isinstance(offer, FlightOffer) else "hotel",
                        offer.model_dump_json(),
                        at.isoformat(),
                    ),
                )

    def offer(self, offer_id: str) -> FlightOffer | HotelOffer | None:
        """The offer as the search found it, if it was searched here."""
        with self._lock:
            row = self._db.execute("SELECT * FROM offers WHERE id = ?", (offer_id,)).fetchone()
        if row is None:
            return None
        if row["kind"] == "flight":
            return FlightOffer.model_validate_json(row["data"])
        return HotelOffer.model_validate_json(row["data"])

    # ---------------------------------------------------------------- trips

    def add_trip(self, trip: Trip) -> Trip:
        """Create a trip (a repeated id keeps the first) and return it as stored."""
        with self._lock, self.transaction():
            self._db.execute(
                "INSERT INTO trips (id, title, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT(id) DO NOTHING",
                (trip.id, trip.title, trip.created_at.isoformat()),
            )
        return self.get_trip(trip.id)

    def get_trip(self, trip_id: str) -> Trip:
        """One trip; raises NotFound."""
        with self._lock:
            row = self._db.execute("SELECT * FROM trips WHERE id = ?", (trip_id,)).fetchone()
        if row is None:
            raise NotFound(f"No trip with id '{trip_id}'. Use list_trips to find the right id.")
        return Trip(**dict(row))

    def trips(self) -> list[Trip]:
        """All trips, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM trips ORDER BY created_at, id").fetchall()
        return [Trip(**dict(r)) for r in rows]

    # ------------------------------------------------------------- bookings

    def add_booking(self, booking: Booking) -> Booking:
        """Store a booking (once per id) and return it as stored."""
        if not booking.trip_id:
            raise ValueError("a booking must belong to a trip")
        with self._lock, self.transaction():
            self._db.execute(
                "INSERT INTO bookings (id, trip_id, status, kind, data, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
                (
                    booking.id,
                    booking.trip_id,
                    booking.status,
                    booking.kind,
                    booking.model_dump_json(),
                    (booking.created_at.isoformat() if booking.created_at else ""),
                ),
            )
        return self.get_booking(booking.id)

    def find_booking(self, booking_id: str) -> Booking | None:
        """A booking, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM bookings WHERE id = ?", (booking_id,)
            ).fetchone()
        return None if row is None else Booking.model_validate_json(row["data"])

    def get_booking(self, booking_id: str) -> Booking:
        """One booking; raises NotFound."""
        found = self.find_booking(booking_id)
        if found is None:
            raise NotFound(
                f"No booking with id '{booking_id}'. Use show_trip to find the right id."
            )
        return found

    def update_booking(self, booking: Booking) -> Booking:
        """Replace a stored booking (same id); raises NotFound."""
        self.get_booking(booking.id)
        with self._lock, self.transaction():
            self._db.execute(
                "UPDATE bookings SET status = ?, trip_id = ?, data = ? WHERE id = ?",
                (booking.status, booking.trip_id, booking.model_dump_json(), booking.id),
            )
        return self.get_booking(booking.id)

    def bookings(self, trip_id: str | None = None) -> list[Booking]:
        """Bookings of one trip (all when None), in the order they were made."""
        sql, params = "SELECT data FROM bookings", []
        if trip_id is not None:
            sql, params = sql + " WHERE trip_id = ?", [trip_id]
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY created_at, id", params).fetchall()
        return [Booking.model_validate_json(r["data"]) for r in rows]
