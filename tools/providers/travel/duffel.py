"""Flights through Duffel's HTTP API (https://api.duffel.com, ``Duffel-Version: v2``).

* Search: ``POST /air/offer_requests?return_offers=true`` with one slice (two
  with a return date), one adult passenger entry per traveller and the cabin.
* Re-price: ``GET /air/offers/{id}`` (the offer's current ``total_amount``).
* Book: ``POST /air/orders`` of type ``instant``, paid from the Duffel balance
  with the offer's ``total_amount``/``total_currency``; the passenger entry
  carries the offer's passenger id and the traveller's details and loyalty
  accounts. Duffel has no idempotency header for orders, so the order carries
  our idempotency key in ``metadata`` and, before booking, ``GET /air/orders``
  is searched for an order with that key: a retried action returns it instead
  of booking twice.
* Cancel: ``POST /air/order_cancellations`` (quotes the refund) and
  ``POST /air/order_cancellations/{id}/actions/confirm``; an existing
  cancellation of the order (``GET /air/order_cancellations?order_id=``) is
  reused, so a retried cancel does not fail.

Duffel gives segment times as local times without offset plus each airport's
``time_zone``; they become aware datetimes in that zone.

Hotels are not booked through Duffel Stays here: hotel searches and bookings
of a Duffel principal go to the local provider (a request e-mailed to the
human travel agent).

The token comes from the principal's ``accounts.travel``
(``{"provider": "duffel", "token_env": "DUFFEL_TOKEN"}``; ``token`` and
``token_file`` work too). Requests time out after 30 s (search: 60 s); 429 and
server errors are retried under the shared policy (:mod:`tools.providers.http`,
honouring ``Retry-After``; a POST only on 429/503); a 4xx becomes a
ProviderError quoting Duffel's own error message.

The test cassettes in ``tests/cassettes/duffel/`` were written by hand from
Duffel's documented request and response shapes (no live account was used).
To re-record them against Duffel's test mode::

    DUFFEL_TOKEN=duffel_test_... SECRETARY_RECORD=1 pytest tests/test_travel.py

which records with vcrpy ``record_mode="once"`` and
``filter_headers=["authorization"]`` (delete a cassette first to record it anew).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from tools.providers.accounts import Account, DuffelAccount
from tools.providers.base import NotFound, ProviderError
from tools.providers.http import Retry, RetryPolicy, retry_after, worth_retrying
from tools.providers.travel.base import (
    Booking,
    Cabin,
    Cancellation,
    FareRules,
    FlightOffer,
    HotelOffer,
    Money,
    Segment,
    Traveller,
    key_id,
    local_at,
)
from tools.providers.travel.local import LocalTravel

BASE_URL = "https://api.duffel.com"
METADATA_KEY = "secretary_key"
POLICY = RetryPolicy("Duffel", attempts=4, max_wait=30.0)
"""Duffel's share of the retry policy: four tries, waits of at most 30 s."""


def _money(amount: Any, currency: Any) -> Money | None:
    if amount in (None, "") or not currency:
        return None
    return Money(amount=Decimal(str(amount)), currency=str(currency))


def _condition(cond: Mapping[str, Any] | None) -> tuple[bool | None, Money | None]:
    if not cond:
        return None, None
    allowed = cond.get("allowed")
    return (
        None if allowed is None else bool(allowed),
        _money(cond.get("penalty_amount"), cond.get("penalty_currency")),
    )


def _segment(seg: Mapping[str, Any]) -> Segment:
    origin, dest = seg["origin"], seg["destination"]
    carrier = seg.get("marketing_carrier") or seg.get("operating_carrier") or {}
    return Segment(
        origin=origin["iata_code"],
        destination=dest["iata_code"],
        departure=local_at(seg["departing_at"], origin["time_zone"]),
        arrival=local_at(seg["arriving_at"], dest["time_zone"]),
        origin_zone=origin["time_zone"],
        destination_zone=dest["time_zone"],
        carrier=carrier.get("iata_code", ""),
        carrier_name=carrier.get("name", ""),
        flight_number=str(
            seg.get("marketing_carrier_flight_number")
            or seg.get("operating_carrier_flight_number")
            or ""
        ),
        origin_city=origin.get("city_name") or "",
        destination_city=dest.get("city_name") or "",
    )


def parse_offer(data: Mapping[str, Any], offer_id: str = "") -> FlightOffer:
    """A Duffel offer (or order: same slices and conditions) as a FlightOffer."""
    slices = data.get("slices") or []
    if not slices or not slices[0].get("segments"):
        raise ProviderError("Duffel returned an offer without flights; search again.")
    segments = [_segment(s) for sl in slices for s in sl.get("segments", [])]
    first = slices[0]["segments"][0]
    cabin = "economy"
    for p in first.get("passengers") or []:
        cabin = p.get("cabin_class") or cabin
    conditions = data.get("conditions") or {}
    refundable, refund_penalty = _condition(conditions.get("refund_before_departure"))
    changeable, change_penalty = _condition(conditions.get("change_before_departure"))
    return_date = None
    if len(slices) > 1:
        return_date = _segment(slices[-1]["segments"][0]).departure.date()
    last_out = slices[0]["segments"][-1]
    return FlightOffer(
        id=offer_id or str(data["id"]),
        provider="duffel",
        origin=first["origin"]["iata_code"],
        destination=last_out["destination"]["iata_code"],
        departure_date=segments[0].departure.date(),
        return_date=return_date,
        cabin=cabin,
        passengers=max(1, len(data.get("passengers") or [])),
        price=_money(data.get("total_amount"), data.get("total_currency")),
        segments=segments,
        rules=FareRules(
            refundable=refundable,
            changeable=changeable,
            refund_penalty=refund_penalty,
            change_penalty=change_penalty,
        ),
        owner=(data.get("owner") or {}).get("iata_code", ""),
        passenger_ids=[str(p["id"]) for p in data.get("passengers") or [] if p.get("id")],
        expires_at=data.get("expires_at"),
    )


def _busy(status: int) -> ProviderError:
    """The sentence for a retried answer, raised when no retry succeeds."""
    if status == 429:
        return ProviderError(
            "Duffel keeps answering 'too many requests' (HTTP 429); wait a minute and try again."
        )
    return ProviderError(f"Duffel had a server error (HTTP {status}); try again later.")


def _error_sentence(status: int, body: Any) -> str:
    messages: list[str] = []
    if isinstance(body, Mapping):
        for err in body.get("errors") or []:
            text = err.get("message") or err.get("title") or ""
            if text and text not in messages:
                messages.append(str(text).rstrip("."))
    said = "; ".join(messages) or f"HTTP {status}"
    return f"Duffel refused the request (HTTP {status}): {said}."


class DuffelTravel:
    """Flights through Duffel; hotels through the local provider (requests to the agent)."""

    name = "duffel"
    live = True

    def __init__(
        self,
        account: Account | Mapping[str, Any],
        *,
        base_url: str = "",
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 30.0,
    ) -> None:
        """Set up the client; the token is read on the first request, not here.

        Args:
            account: The principal's ``accounts.travel`` settings.
            base_url: Override of https://api.duffel.com (tests, proxies).
            sleep: How to wait before a retry (tests pass a recorder).
            timeout: Seconds per request (searches get twice as long).
        """
        self.account = DuffelAccount.of(account, "travel")
        self.base_url = (base_url or self.account.base_url or BASE_URL).rstrip("/")
        self.sleep = sleep
        self.timeout = timeout
        self.hotels = LocalTravel()
        self._client: Any = None

    # ----------------------------------------------------------------- http

    def _http(self) -> Any:
        if self._client is None:
            import httpx

            token = self.account.secret("token")
            self._client = httpx.Client(
                base_url=self.base_url,
                timeout=self.timeout,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Duffel-Version": "v2",
                    "Accept": "application/json",
                    "Content-Type": "application/json",
                },
            )
        return self._client

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """One API call; returns the parsed JSON (``{"data": ...}``)."""
        import httpx

        client = self._http()

        def once() -> Any:
            try:
                resp = client.request(
                    method,
                    path,
                    json=None if body is None else {"data": body},
                    params=params,
                    timeout=timeout or self.timeout,
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                raise Retry(
                    ProviderError(
                        f"Cannot reach Duffel ({exc.__class__.__name__}); check the network "
                        "connection and try again."
                    )
                ) from None
            except httpx.TimeoutException:
                raise ProviderError(
                    "Duffel did not answer in time; try again in a minute."
                ) from None
            except httpx.HTTPError as exc:
                raise ProviderError(f"Cannot reach Duffel ({exc.__class__.__name__}).") from None
            # Creating an order is not safe to send twice: 500/502/504 are not retried.
            if worth_retrying(resp.status_code, repeatable=method.upper() != "POST"):
                wait = retry_after(resp.headers.get("retry-after"))
                raise Retry(_busy(resp.status_code), wait=wait)
            try:
                payload = resp.json()
            except ValueError:
                payload = None
            if resp.status_code == 404:
                raise NotFound(_error_sentence(404, payload))
            if 400 <= resp.status_code < 500:
                raise ProviderError(_error_sentence(resp.status_code, payload))
            if resp.status_code >= 500:
                raise ProviderError(
                    f"Duffel had a server error (HTTP {resp.status_code}); try again later."
                )
            return payload

        return POLICY.call(once, f"{method} {path}", sleep=self.sleep)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        if self._client is not None:
            self._client.close()
            self._client = None

    # --------------------------------------------------------------- flights

    def search_flights(
        self,
        origin: str,
        destination: str,
        departure_date: date,
        return_date: date | None,
        cabin: Cabin,
        passengers: int,
    ) -> list[FlightOffer]:
        """Offers from Duffel's airlines for the journey."""
        slices = [
            {"origin": origin, "destination": destination, "departure_date": str(departure_date)}
        ]
        if return_date is not None:
            slices.append(
                {"origin": destination, "destination": origin, "departure_date": str(return_date)}
            )
        payload = self._call(
            "POST",
            "/air/offer_requests",
            params={"return_offers": "true", "supplier_timeout": "20000"},
            body={
                "slices": slices,
                "passengers": [{"type": "adult"} for _ in range(passengers)],
                "cabin_class": cabin,
            },
            timeout=self.timeout * 2,
        )
        offers = (payload.get("data") or {}).get("offers") or []
        return [parse_offer(o) for o in offers]

    def search_hotels(
        self, city: str, check_in: date, check_out: date, guests: int
    ) -> list[HotelOffer]:
        """Hotels go to the travel agent (Duffel Stays is not used)."""
        return self.hotels.search_hotels(city, check_in, check_out, guests)

    def price(self, offer_id: str) -> FlightOffer | HotelOffer:
        """The offer as Duffel prices it now."""
        if offer_id.startswith("local-"):
            return self.hotels.price(offer_id)
        payload = self._call("GET", f"/air/offers/{offer_id}")
        return parse_offer(payload["data"])

    def book(
        self, offer: FlightOffer | HotelOffer, traveller: Traveller, idempotency_key: str
    ) -> Booking:
        """An instant order paid from the Duffel balance, once per key."""
        if isinstance(offer, HotelOffer):
            return self.hotels.book(offer, traveller, idempotency_key)
        if offer.price is None:
            raise ProviderError("The offer has no price; search again.")
        if idempotency_key:
            existing = self._order_with_key(idempotency_key)
            if existing is not None:
                return self._booking(existing, offer, traveller, idempotency_key)
        passengers = []
        for pid in offer.passenger_ids:
            entry: dict[str, Any] = {
                "id": pid,
                "given_name": traveller.given_name,
                "family_name": traveller.family_name,
                "born_on": traveller.born_on,
                "gender": traveller.gender,
                "title": traveller.title,
                "email": traveller.email,
                "phone_number": traveller.phone,
            }
            accounts = [
                {"airline_iata_code": code.upper(), "account_number": number}
                for code, number in sorted(traveller.loyalty.items())
                if len(code) == 2 and code.isalnum()
            ]
            if accounts:
                entry["loyalty_programme_accounts"] = accounts
            passengers.append(entry)
        body: dict[str, Any] = {
            "type": "instant",
            "selected_offers": [offer.id],
            "payments": [
                {
                    "type": "balance",
                    "amount": f"{offer.price.amount:.2f}",
                    "currency": offer.price.currency,
                }
            ],
            "passengers": passengers,
        }
        if idempotency_key:
            body["metadata"] = {METADATA_KEY: idempotency_key}
        payload = self._call("POST", "/air/orders", body=body)
        return self._booking(payload["data"], offer, traveller, idempotency_key)

    def _order_with_key(self, key: str) -> Mapping[str, Any] | None:
        """An order already made with this idempotency key, if any (newest pages first)."""
        params: dict[str, Any] = {"limit": 200}
        for _ in range(5):
            payload = self._call("GET", "/air/orders", params=params)
            for order in payload.get("data") or []:
                if (order.get("metadata") or {}).get(METADATA_KEY) == key:
                    return dict(order)
            after = (payload.get("meta") or {}).get("after")
            if not after:
                return None
            params = {"limit": 200, "after": after}
        return None

    def _booking(
        self, order: Mapping[str, Any], offer: FlightOffer, traveller: Traveller, key: str
    ) -> Booking:
        flight = parse_offer(order, offer_id=offer.id)
        flight = flight.model_copy(update={"cabin": offer.cabin})
        return Booking(
            id=key_id("bkg", key),
            kind="flight",
            provider=self.name,
            status="cancelled" if order.get("cancelled_at") else "booked",
            provider_ref=str(order["id"]),
            reference=str(order.get("booking_reference") or ""),
            price=_money(order.get("total_amount"), order.get("total_currency")) or offer.price,
            flight=flight,
            traveller=traveller,
        )

    def cancel(self, booking: Booking, idempotency_key: str) -> Cancellation:
        """Cancel the order: quote the refund, then confirm (an earlier attempt is reused)."""
        if booking.kind == "hotel" or booking.provider != self.name:
            return self.hotels.cancel(booking, idempotency_key)
        if not booking.provider_ref:
            raise ProviderError("The booking has no Duffel order id; it cannot be cancelled here.")
        listed = self._call(
            "GET", "/air/order_cancellations", params={"order_id": booking.provider_ref}
        )
        found = listed.get("data") or []
        done = [c for c in found if c.get("confirmed_at")]
        if done:
            chosen = done[0]
        else:
            pending = found[0] if found else None
            if pending is None:
                pending = self._call(
                    "POST", "/air/order_cancellations", body={"order_id": booking.provider_ref}
                )["data"]
            chosen = self._call(
                "POST", f"/air/order_cancellations/{pending['id']}/actions/confirm"
            )["data"]
        return Cancellation(
            booking_id=booking.id,
            provider_ref=str(chosen["id"]),
            refund=_money(chosen.get("refund_amount"), chosen.get("refund_currency")),
            confirmed=bool(chosen.get("confirmed_at")),
        )
