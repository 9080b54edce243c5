"""Travel tools: search flights and hotels, book them, and keep the itinerary.

Searches start from the principal's travel preferences (home airport, cabin,
preferred airlines and hotel chains first) and keep what they found.
``price_offer`` asks the booking service for an offer's price just before it is
booked; the booking carries that price as an argument, so its approval card is
drawn from data already read (no network call, nothing written) and the booking
refuses to run if the live price has risen above the approved one
(``tools.travel.offers``). Booking, cancelling, confirming an agent's booking and
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

from tools.travel.book import book_flight, book_hotel, cancel_booking
from tools.travel.itinerary import list_trips, show_trip, upcoming_travel
from tools.travel.search import price_offer, search_flights, search_hotels
from tools.travel.updates import confirm_booking, update_trip_segment

__all__ = [
    "book_flight",
    "book_hotel",
    "cancel_booking",
    "confirm_booking",
    "list_trips",
    "price_offer",
    "search_flights",
    "search_hotels",
    "show_trip",
    "upcoming_travel",
    "update_trip_segment",
]
