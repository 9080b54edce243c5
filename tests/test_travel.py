"""Travel: searches from preferences, Duffel through recorded HTTP, itinerary, agent requests.

The Duffel cassettes in tests/cassettes/duffel/ were written by hand from
Duffel's documented request/response shapes (no live account was reachable).
Re-record them against Duffel's test mode with

    DUFFEL_TOKEN=duffel_test_... SECRETARY_RECORD=1 pytest tests/test_travel.py

(vcrpy record_mode "once", the Authorization header filtered out; delete a
cassette to record it anew).
"""

from __future__ import annotations

import json
import os
import socket
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import vcr
from click.testing import CliRunner
from conftest import NOW
from toolkit import preview, run

from agent.approval import Decision
from tools.base import ToolError
from tools.context import ToolContext
from tools.foundation.principals import Principal, TravelPreferences
from tools.providers.local.trips import LocalTrips, Trip
from tools.providers.scripted import ScriptedChatModel
from tools.providers.travel import open_travel
from tools.providers.travel.base import Booking, Money, Segment, Traveller
from tools.providers.travel.duffel import DuffelTravel
from tools.providers.travel.local import LocalTravel
from tools.travel import upcoming_travel

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
RECORD = os.environ.get("SECRETARY_RECORD") == "1"
_REAL_CONNECT = socket.socket.connect
CASSETTES = vcr.VCR(
    cassette_library_dir=str(Path(__file__).parent / "cassettes" / "duffel"),
    record_mode="once" if RECORD else "none",
    filter_headers=["authorization"],
    match_on=("method", "scheme", "host", "port", "path", "query"),
)
LH_OFFER = "off_0000AUde3KY1SptM6ABSfT_0"
DL_OFFER = "off_0000AUde3KY1SptM6ABSfT_1"
DEC_1 = datetime(2026, 12, 1, tzinfo=BERLIN)


@pytest.fixture(autouse=True)
def _allow_duffel_when_recording(no_network: None, monkeypatch: pytest.MonkeyPatch) -> None:
    if RECORD:  # recording talks to api.duffel.com for real
        monkeypatch.setattr(socket.socket, "connect", _REAL_CONNECT)


def watch(travel: DuffelTravel) -> list[Any]:
    """The requests the provider really sends (the cassette's own list holds recorded ones)."""
    seen: list[Any] = []
    travel._http().event_hooks["request"].append(seen.append)
    return seen


def prefs(**extra: Any) -> TravelPreferences:
    base: dict[str, Any] = {
        "home_airport": "BER",
        "airlines": ["LH"],
        "hotel_chains": ["Marriott"],
        "loyalty": {"LH": "992001234567", "Marriott": "MR-1234"},
        "currency": "EUR",
        "max_flight_price": Decimal("400"),
        "max_hotel_night": Decimal("250"),
        "given_name": "Ada",
        "family_name": "Lovelace",
        "born_on": "1985-12-10",
        "gender": "f",
        "title": "ms",
        "phone": "+4930123456",
        "travel_agent": "agent@travel.example",
    }
    base.update(extra)
    return TravelPreferences(**base)


def make_ctx(duty_context: Any, root: Path, provider: str) -> ToolContext:
    accounts = {}
    if provider == "duffel":
        accounts = {"travel": {"provider": "duffel", "token_env": "DUFFEL_TOKEN"}}
    p = Principal(
        id="ada",
        name="Ada Lovelace",
        email="ada@example.com",
        timezone="Europe/Berlin",
        travel=prefs(),
        accounts=accounts,
    )
    travel = open_travel(p, root)
    if isinstance(travel, DuffelTravel):
        travel.sleep = lambda s: None
    c: ToolContext = duty_context(p, root=root, trips=LocalTrips(root), travel=travel)
    return c


@pytest.fixture
def ctx(tmp_path: Path, duty_context: Any) -> ToolContext:
    return make_ctx(duty_context, tmp_path, "local")


@pytest.fixture
def dctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, duty_context: Any) -> ToolContext:
    if not RECORD:
        monkeypatch.setenv("DUFFEL_TOKEN", "duffel_test_replayed")
    return make_ctx(duty_context, tmp_path, "duffel")


def events(ctx: ToolContext, days: int = 40) -> list[Any]:
    return [e for e in ctx.calendar.list_events(NOW, NOW + timedelta(days=days))]


def sent(ctx: ToolContext, folder: str = "sent") -> list[Any]:
    return ctx.mail.search(folder=folder, limit=50)


# ----------------------------------------------------------------- searching


def test_local_search_uses_preferences_and_says_it_cannot_search_live(ctx: ToolContext) -> None:
    found = run(ctx, "search_flights", destination="jfk", departure_date="2026-12-01")
    assert found["provider"] == "local" and found["live"] is False
    assert "cannot be searched live" in found["note"] and "agent@travel.example" in found["note"]
    [offer] = found["offers"]
    assert offer["flights"] == ["Request: BER -> JFK on Tue 01 Dec 2026"]
    assert offer["cabin"] == "economy"
    business = run(
        ctx, "search_flights", destination="JFK", departure_date="next Tuesday", cabin="business"
    )
    assert business["offers"][0]["cabin"] == "business"
    assert "Tue 01 Dec 2026" in business["offers"][0]["flights"][0]


def test_duffel_search_ranks_preferred_airline_first_and_marks_budget(dctx: ToolContext) -> None:
    sent_ = watch(dctx.workspace.travel)
    with CASSETTES.use_cassette("search.yaml") as cass:
        found = run(dctx, "search_flights", destination="JFK", departure_date="2026-12-01")
        body = json.loads(sent_[-1].content)
        assert sent_[-1].headers["Duffel-Version"] == "v2"
        assert sent_[-1].url.params["return_offers"] == "true"
        assert "authorization" not in {k.lower() for k in cass.requests[0].headers}
    assert body["data"]["slices"] == [
        {"origin": "BER", "destination": "JFK", "departure_date": "2026-12-01"}
    ]
    assert body["data"]["cabin_class"] == "economy"
    lh, dl = found["offers"]
    assert lh["offer_id"] == LH_OFFER and lh["preferred_airline"] is True
    assert lh["price"] == "412.80 EUR"
    assert lh["flights"] == [
        "LH400 Tue 01 Dec 2026: dep 10:00 CET Berlin BER -> arr 13:00 EST New York JFK "
        "[your time: arr Tue 19:00 CET]"
    ]
    assert lh["fare"] == "refundable (penalty 100.00 EUR); changeable (penalty 50.00 EUR)"
    assert lh["warnings"] == ["Over budget: 412.80 EUR is more than the 400 EUR limit for a flight"]
    assert dl["offer_id"] == DL_OFFER and dl["price"] == "380.00 EUR"
    assert dl["warnings"] == ["Non-refundable fare"]


def test_duffel_429_is_retried_after_the_time_it_asks(dctx: ToolContext) -> None:
    waits: list[float] = []
    travel: DuffelTravel = dctx.workspace.travel
    travel.sleep = waits.append
    with CASSETTES.use_cassette("retry_429.yaml"):
        offers = travel.search_flights("BER", "JFK", date(2026, 12, 1), None, "economy", 1)
    assert waits == [2.0]
    assert [o.segments[0].flight for o in offers] == ["DL87", "LH400"]


# ------------------------------------------------------------ Duffel booking


def _book_lh(dctx: ToolContext, key: str) -> tuple[Any, dict[str, Any], Any]:
    sent_ = watch(dctx.workspace.travel)
    with CASSETTES.use_cassette("book.yaml") as cass:
        run(dctx, "search_flights", destination="JFK", departure_date="2026-12-01")
        quoted = run(dctx, "price_offer", offer_id=LH_OFFER)
        assert quoted["price"] == "431.20 EUR" and quoted["searched_price"] == "412.80 EUR"
        card = preview(dctx, "book_flight", offer_id=LH_OFFER, price=quoted["price"])
        booked = run(dctx, "book_flight", key, offer_id=LH_OFFER, price=quoted["price"])
        again = run(dctx, "book_flight", key, offer_id=LH_OFFER, price=quoted["price"])
        [order] = [r for r in sent_ if (r.method, r.url.path) == ("POST", "/air/orders")]
        order_body = json.loads(order.content)
        assert cass.all_played
    assert again == booked
    return card, booked, order_body


def test_duffel_booking_card_shows_the_repriced_offer_and_lands_in_the_right_zones(
    dctx: ToolContext,
) -> None:
    card, booked, order = _book_lh(dctx, "key-book")
    assert card.summary == "Book flight BER -> JFK on Tue 01 Dec 2026 for 431.20 EUR"
    assert card.details["Price"] == "431.20 EUR"
    assert card.details["Refundable"] == "yes"
    assert "refundable (penalty 100.00 EUR)" in card.details["Fare"]
    assert card.details["Flight 1"].startswith("LH400 Tue 01 Dec 2026: dep 10:00 CET Berlin BER")
    assert card.details["Loyalty"] == "LH 992001234567"
    assert "Price changed since search: 412.80 EUR -> 431.20 EUR" in card.warnings
    assert any(w.startswith("Over budget: 431.20 EUR") for w in card.warnings)

    data = order["data"]
    assert data["type"] == "instant" and data["selected_offers"] == [LH_OFFER]
    assert data["payments"] == [{"type": "balance", "amount": "431.20", "currency": "EUR"}]
    assert data["metadata"] == {"secretary_key": "key-book"}
    [pax] = data["passengers"]
    assert pax["id"] == "pas_0000AUde3KY1SptM6ABSfU" and pax["born_on"] == "1985-12-10"
    assert pax["loyalty_programme_accounts"] == [
        {"airline_iata_code": "LH", "account_number": "992001234567"}
    ]

    assert booked["status"] == "booked" and booked["reference"] == "RZPNX8"
    assert booked["price"] == "431.20 EUR"
    [event] = events(dctx)
    assert event.id == booked["event_ids"][0]
    assert event.title == "Flight LH400 BER -> JFK"
    assert event.timezone == "Europe/Berlin"
    assert event.start == datetime(2026, 12, 1, 10, 0, tzinfo=BERLIN)
    assert event.end == datetime(2026, 12, 1, 13, 0, tzinfo=NEW_YORK)
    assert "RZPNX8" in event.description


def test_duffel_order_with_the_same_key_is_found_not_booked_twice(dctx: ToolContext) -> None:
    travel: DuffelTravel = dctx.workspace.travel
    with CASSETTES.use_cassette("book.yaml"):
        offer = travel.search_flights("BER", "JFK", date(2026, 12, 1), None, "economy", 1)[1]
    offer = offer.model_copy(update={"price": Money(amount=Decimal("431.20"), currency="EUR")})
    who = Traveller(given_name="Ada", family_name="Lovelace", born_on="1985-12-10")
    sent_ = watch(travel)
    with CASSETTES.use_cassette("book_once.yaml") as cass:
        first = travel.book(offer, who, "key-1")
        second = travel.book(offer, who, "key-1")
        assert cass.all_played
    methods = [(r.method, r.url.path) for r in sent_]
    assert first.provider_ref == second.provider_ref == "ord_0000AUde4Ehq3ptZPJQ2WX"
    assert first.id == second.id
    assert methods.count(("POST", "/air/orders")) == 1


def test_duffel_cancel_refunds_and_removes_the_event(dctx: ToolContext) -> None:
    _, booked, _ = _book_lh(dctx, "key-book")
    card = preview(dctx, "cancel_booking", booking_id=booked["id"])
    assert card.summary.startswith("Cancel flight BER -> JFK on Tue 01 Dec 2026")
    assert card.details["Reference"] == "RZPNX8"
    assert card.details["Calendar"] == "cancel 1 event"
    with CASSETTES.use_cassette("cancel.yaml") as cass:
        done = run(dctx, "cancel_booking", "key-cancel", booking_id=booked["id"])
        again = run(dctx, "cancel_booking", "key-cancel", booking_id=booked["id"])
        assert cass.all_played
    assert done == again
    assert done["status"] == "cancelled" and done["refund"] == "331.20 EUR"
    assert [e.status for e in events(dctx)] in ([], ["cancelled"])
    trip = run(dctx, "show_trip", trip_id=booked["trip_id"])
    assert trip["status"] == "cancelled" and trip["totals"] == {}


def test_duffel_422_becomes_a_sentence_and_nothing_is_stored(dctx: ToolContext) -> None:
    with CASSETTES.use_cassette("order_422.yaml"):
        with pytest.raises(ToolError, match=r"HTTP 422\): The phone number must be in E.164"):
            run(dctx, "book_flight", "key-x", offer_id=LH_OFFER, price="412.80 EUR")
    assert dctx.workspace.trips.bookings() == []
    assert events(dctx) == []


def test_duffel_needs_the_travellers_passport_details(tmp_path: Path, duty_context: Any) -> None:
    c = make_ctx(duty_context, tmp_path, "duffel")
    c.principal.travel.born_on = ""
    with pytest.raises(ToolError, match="needs the traveller's born_on"):
        from tools.travel.book import _traveller

        _traveller(c, live=True)
    c.workspace.close()


# ------------------------------------------------ the price on the approved card


REFUSED = (
    "The price rose from 412.80 EUR (on the approved card) to 431.20 EUR; nothing was "
    "booked. Propose the booking again to approve the new price."
)


def _files(root: Path) -> dict[str, bytes]:
    """Every stored byte under a workspace (SQLite's shared-memory index aside)."""
    return {
        str(f.relative_to(root)): f.read_bytes()
        for f in sorted(root.rglob("*"))
        if f.is_file() and not f.name.endswith("-shm")
    }


def test_a_booking_card_makes_no_network_call_and_writes_nothing(
    dctx: ToolContext, tmp_path: Path
) -> None:
    sent_ = watch(dctx.workspace.travel)
    with CASSETTES.use_cassette("book.yaml"):
        run(dctx, "search_flights", destination="JFK", departure_date="2026-12-01")
        quoted = run(dctx, "price_offer", offer_id=LH_OFFER)
        asked, before = len(sent_), _files(tmp_path)
        first = preview(dctx, "book_flight", offer_id=LH_OFFER, price=quoted["price"])
        second = preview(dctx, "book_flight", offer_id=LH_OFFER, price=quoted["price"])
        edited = preview(
            dctx, "book_flight", offer_id=LH_OFFER, price=quoted["price"], notes="Aisle seat"
        )
    assert len(sent_) == asked, [str(r.url) for r in sent_[asked:]]
    assert _files(tmp_path) == before
    assert first == second
    assert edited.details["Price"] == first.details["Price"] == "431.20 EUR"


def test_a_price_rise_after_approval_refuses_the_booking_and_books_nothing(
    dctx: ToolContext,
) -> None:
    sent_ = watch(dctx.workspace.travel)
    with CASSETTES.use_cassette("book.yaml"):
        run(dctx, "search_flights", destination="JFK", departure_date="2026-12-01")
        # Approved at the search's price; the offer costs more when the booking runs.
        card = preview(dctx, "book_flight", offer_id=LH_OFFER, price="412.80 EUR")
        assert card.summary == "Book flight BER -> JFK on Tue 01 Dec 2026 for 412.80 EUR"
        with pytest.raises(ToolError) as refused:
            run(dctx, "book_flight", "key-rise", offer_id=LH_OFFER, price="412.80 EUR")
    assert str(refused.value) == REFUSED
    assert [r for r in sent_ if (r.method, r.url.path) == ("POST", "/air/orders")] == []
    assert dctx.workspace.trips.bookings() == [] and dctx.workspace.trips.trips() == []
    assert events(dctx) == [] and sent(dctx) == []


def test_a_live_booking_needs_the_price_it_approves(dctx: ToolContext) -> None:
    sent_ = watch(dctx.workspace.travel)
    with CASSETTES.use_cassette("search.yaml"):
        run(dctx, "search_flights", destination="JFK", departure_date="2026-12-01")
    asked = len(sent_)
    with pytest.raises(ToolError, match="price is empty. Call price_offer"):
        preview(dctx, "book_flight", offer_id=LH_OFFER)
    with pytest.raises(ToolError, match="not a price"):
        preview(dctx, "book_flight", offer_id=LH_OFFER, price="cheap")
    assert len(sent_) == asked


def duffel_ada(monkeypatch: pytest.MonkeyPatch) -> Principal:
    """Ada with Duffel as her travel provider (its cassettes replay unless recording)."""
    if not RECORD:
        monkeypatch.setenv("DUFFEL_TOKEN", "duffel_test_replayed")
    return Principal(
        id="ada",
        name="Ada Lovelace",
        email="ada@example.com",
        timezone="Europe/Berlin",
        travel=prefs(),
        accounts={"travel": {"provider": "duffel", "token_env": "DUFFEL_TOKEN"}},
    )

def test_a_second_card_or_an_edit_does_not_move_the_approved_price(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.runtime import Secretary
    from tools.base import registry
    from tools.foundation.settings import Settings

    ada = duffel_ada(monkeypatch)
    search = {
        "name": "search_flights",
        "args": {"destination": "JFK", "departure_date": "2026-12-01"},
    }
    book = {"name": "book_flight", "args": {"offer_id": LH_OFFER, "price": "412.80 EUR"}}
    model = ScriptedChatModel(
        [
            {"tool_calls": [search]},
            {"tool_calls": [book]},
            "Waiting for your approval.",
            "The price rose; nothing was booked.",
        ]
    )
    with CASSETTES.use_cassette("book.yaml"):
        sec = Secretary(
            Settings(home=isolated_home, principals=[ada]), model=model, clock=lambda: NOW
        )
        try:
            ws = sec.workspace(sec.principal("ada"))
            sent_ = watch(ws.travel)
            reply = sec.ask("Book the Lufthansa flight to New York", principal="ada", thread="t1")
            [proposal] = reply.pending
            assert proposal.preview["details"]["Price"] == "412.80 EUR"
            # The same proposal drawn a second time (another channel, a reload) reads no price.
            spec = registry()["book_flight"]
            ctx = ToolContext(principal=ws.principal, workspace=ws, clock=lambda: NOW)
            asked = len(sent_)
            again = spec.render_preview(ctx, spec.validate(proposal.args))
            assert again.details == proposal.preview["details"] and len(sent_) == asked
            done = sec.decide(
                proposal.id, Decision(kind="edit", args={"notes": "Aisle seat, please"})
            )
            [settled] = done.settled
            assert settled.status == "failed" and settled.error == REFUSED
            assert settled.effective_args["notes"] == "Aisle seat, please"
            assert [r for r in sent_ if (r.method, r.url.path) == ("POST", "/air/orders")] == []
            assert ws.trips.bookings() == [] and ws.trips.trips() == []
        finally:
            sec.close()


# ---------------------------------------------- local provider and itinerary


def _request_flight(ctx: ToolContext, key: str = "req-1") -> dict[str, Any]:
    found = run(ctx, "search_flights", destination="JFK", departure_date="2026-12-01")
    offer_id = found["offers"][0]["offer_id"]
    card = preview(ctx, "book_flight", offer_id=offer_id, notes="Aisle seat, morning flight")
    assert card.summary == "Ask the travel agent to book a flight BER -> JFK on Tue 01 Dec 2026"
    assert card.details["Request to"] == "agent@travel.example"
    assert card.body is not None and "Loyalty numbers: LH 992001234567" in card.body
    assert "Aisle seat, morning flight" in card.body
    first = run(ctx, "book_flight", key, offer_id=offer_id, notes="Aisle seat, morning flight")
    again = run(ctx, "book_flight", key, offer_id=offer_id, notes="Aisle seat, morning flight")
    assert first == again
    return first


def test_local_flight_request_mails_the_agent_once_then_confirm_delay_and_cancel(
    ctx: ToolContext,
) -> None:
    req = _request_flight(ctx)
    assert req["status"] == "requested" and req["event_ids"] == []
    [mail] = sent(ctx)
    assert mail.to == ["agent@travel.example"]
    body = ctx.mail.get_message(mail.message_id).body
    assert f"Our reference: {req['id']}" in body and "Route: Berlin (BER) -> New York (JFK)" in body

    args = {
        "booking_id": req["id"],
        "reference": "ABC123",
        "price": "389.00",
        "flight": "LH 400",
        "departure": "2026-12-01T10:00",
        "arrival": "2026-12-01T13:00",
        "refundable": False,
    }
    card = preview(ctx, "confirm_booking", **args)
    assert card.details["Flight 1"].startswith("LH400 Tue 01 Dec 2026: dep 10:00 CET Berlin BER")
    confirmed = run(ctx, "confirm_booking", "conf-1", **args)
    assert confirmed["status"] == "booked" and confirmed["reference"] == "ABC123"
    [event] = events(ctx)
    assert (event.start, event.end) == (
        datetime(2026, 12, 1, 10, tzinfo=BERLIN),
        datetime(2026, 12, 1, 13, tzinfo=NEW_YORK),
    )
    with pytest.raises(ToolError, match="not a pending request"):
        preview(ctx, "confirm_booking", **args)

    delay = {
        "booking_id": req["id"],
        "status": "delayed",
        "new_departure": "11:30",
        "note": "Late inbound aircraft",
    }
    card = preview(ctx, "update_trip_segment", **delay)
    assert card.details["Now"].startswith("LH400 Tue 01 Dec 2026: dep 11:30 CET Berlin BER")
    assert card.details["Calendar"] == "move the flight's event"
    moved = run(ctx, "update_trip_segment", "delay-1", **delay)
    assert moved["status"] == "delayed"
    [event] = events(ctx)
    assert event.start == datetime(2026, 12, 1, 11, 30, tzinfo=BERLIN)
    assert event.end == datetime(2026, 12, 1, 14, 30, tzinfo=NEW_YORK)
    trip = run(ctx, "show_trip", trip_id=req["trip_id"])
    assert trip["status"] == "delayed"
    assert "DELAYED: Late inbound aircraft" in trip["days"][0]["items"][0]["line"]

    run(ctx, "cancel_booking", "cancel-1", booking_id=req["id"], reason="Meeting moved")
    run(ctx, "cancel_booking", "cancel-1", booking_id=req["id"], reason="Meeting moved")
    assert [e.status for e in events(ctx)] in ([], ["cancelled"])
    mails = sent(ctx)
    assert len(mails) == 2 and any(m.subject.startswith("Cancellation: flight") for m in mails)


def test_hotel_request_confirmed_becomes_an_all_day_span_and_joins_the_trip(
    ctx: ToolContext,
) -> None:
    flight = _request_flight(ctx)
    found = run(
        ctx, "search_hotels", city="New York", check_in="2026-12-01", check_out="2026-12-04"
    )
    offer_id = found["offers"][0]["offer_id"]
    card = preview(ctx, "book_hotel", offer_id=offer_id)
    assert card.details["Trip"].endswith(f"({flight['trip_id']})")
    hotel = run(ctx, "book_hotel", "hotel-1", offer_id=offer_id)
    run(ctx, "book_hotel", "hotel-1", offer_id=offer_id)
    assert hotel["trip_id"] == flight["trip_id"] and hotel["status"] == "requested"
    assert len(sent(ctx)) == 2

    confirm = {
        "booking_id": hotel["id"],
        "reference": "MAR-77",
        "price": "780.00",
        "currency": "USD",
        "hotel_name": "New York Marriott Marquis",
        "hotel_address": "1535 Broadway, New York, NY 10036",
        "cancellation_policy": "Free cancellation until 30 Nov 2026 18:00",
    }
    card = preview(ctx, "confirm_booking", **confirm)
    assert "could not be compared" in card.warnings[0]
    run(ctx, "confirm_booking", "hc-1", **confirm)
    [event] = [e for e in events(ctx) if e.all_day]
    assert event.title == "Hotel: New York Marriott Marquis"
    assert event.start.astimezone(BERLIN).date() == date(2026, 12, 1)
    assert event.end.astimezone(BERLIN).date() == date(2026, 12, 5)  # through check-out day

    trip = run(ctx, "show_trip", trip_id=flight["trip_id"])
    assert trip["totals"] == {"USD": "780.00"} and trip["not_priced"] == 1
    lines = [i["line"] for d in trip["days"] for i in d["items"]]
    assert any("1535 Broadway" in line and "ref MAR-77" in line for line in lines)
    assert [d["date"] for d in trip["days"]] == ["2026-12-01", "2026-12-04"]


def test_upcoming_travel_and_list_trips(ctx: ToolContext) -> None:
    req = _request_flight(ctx)
    assert upcoming_travel(ctx, days=2) == []
    soon = upcoming_travel(ctx, days=9)
    assert [t["trip_id"] for t in soon] == [req["trip_id"]]
    assert soon[0]["summary"].startswith("Trip to New York")
    [listed] = run(ctx, "list_trips")
    assert listed["status"] == "requested" and listed["first_day"] == "2026-12-01"


def test_no_travel_agent_keeps_the_request_as_a_draft(ctx: ToolContext) -> None:
    ctx.principal.travel.travel_agent = ""
    found = run(ctx, "search_flights", destination="LHR", departure_date="2026-12-02")
    offer_id = found["offers"][0]["offer_id"]
    assert "No travel agent" in preview(ctx, "book_flight", offer_id=offer_id).warnings[-1]
    run(ctx, "book_flight", "k", offer_id=offer_id)
    assert sent(ctx) == [] and len(sent(ctx, "drafts")) == 1


@pytest.mark.parametrize(
    ("tool", "args", "problem"),
    [
        ("search_flights", {"destination": "JFK", "departure_date": "2026-11-01"}, "in the past"),
        ("search_flights", {"destination": "Berlin", "departure_date": "2026-12-01"}, "IATA"),
        ("search_flights", {"destination": "BER", "departure_date": "2026-12-01"}, "same airport"),
        (
            "search_flights",
            {"destination": "JFK", "departure_date": "2026-12-05", "return_date": "2026-12-01"},
            "before departure_date",
        ),
        (
            "search_hotels",
            {"city": "Paris", "check_in": "2026-12-05", "check_out": "2026-12-03"},
            "not after check_in",
        ),
        (
            "search_hotels",
            {"city": " ", "check_in": "2026-12-05", "check_out": "2026-12-06"},
            "city",
        ),
        ("show_trip", {"trip_id": "trip-nope"}, "No trip with id"),
    ],
)
def test_read_tools_refuse_bad_input(
    ctx: ToolContext, tool: str, args: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ToolError, match=problem):
        run(ctx, tool, **args)


@pytest.mark.parametrize(
    ("tool", "args", "problem"),
    [
        ("cancel_booking", {"booking_id": "bkg-nope"}, "No booking with id 'bkg-nope'"),
        ("update_trip_segment", {"booking_id": "bkg-nope", "status": "delayed"}, "No booking"),
        (
            "confirm_booking",
            {"booking_id": "bkg-nope", "reference": "X", "price": "1"},
            "No booking",
        ),
        ("book_flight", {"offer_id": "off_unknown"}, "No offer with id"),
        ("book_flight", {"offer_id": ""}, "offer_id is empty"),
    ],
)
def test_write_tools_refuse_bad_input(
    ctx: ToolContext, tool: str, args: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ToolError, match=problem):
        preview(ctx, tool, **args)
    with pytest.raises(ToolError, match=problem):
        run(ctx, tool, "k", **args)
    assert sent(ctx) == []


def test_update_and_confirm_refuse_bad_times(ctx: ToolContext) -> None:
    req = _request_flight(ctx)
    base = {"booking_id": req["id"], "reference": "R", "price": "10", "flight": "LH400"}
    with pytest.raises(ToolError, match="arrival must be after"):
        preview(
            ctx, "confirm_booking", **base, departure="2026-12-01T10:00", arrival="2026-12-01T03:00"
        )
    with pytest.raises(ToolError, match="not a flight number"):
        preview(
            ctx,
            "confirm_booking",
            **{**base, "flight": "Lufthansa"},
            departure="2026-12-01T10:00",
            arrival="2026-12-01T13:00",
        )
    with pytest.raises(ToolError, match="no confirmed flights"):
        preview(
            ctx,
            "update_trip_segment",
            booking_id=req["id"],
            status="delayed",
            new_departure="11:00",
        )


# ------------------------------------------------------------ the gate


def test_book_flight_through_the_secretary_waits_for_approval_then_orders_once(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.runtime import Secretary
    from tools.foundation.settings import Settings

    ada = duffel_ada(monkeypatch)
    settings = Settings(home=isolated_home, principals=[ada])
    search = {
        "name": "search_flights",
        "args": {"destination": "JFK", "departure_date": "2026-12-01"},
    }
    quote = {"name": "price_offer", "args": {"offer_id": LH_OFFER}}
    book = {"name": "book_flight", "args": {"offer_id": LH_OFFER, "price": "431.20 EUR"}}
    model = ScriptedChatModel(
        [
            {"tool_calls": [search]},
            {"tool_calls": [quote]},
            {"tool_calls": [book]},
            "Waiting for your approval.",
            "Booked.",
        ]
    )
    with CASSETTES.use_cassette("book.yaml"):
        sec = Secretary(settings, model=model, clock=lambda: NOW)
        try:
            sent_ = watch(sec.workspace(sec.principal("ada")).travel)
            reply = sec.ask(
                "Book me the Lufthansa flight to New York on 1 December",
                principal="ada",
                thread="t1",
            )
            [proposal] = reply.pending
            assert proposal.tool == "book_flight"
            assert proposal.preview["details"]["Price"] == "431.20 EUR"
            assert proposal.preview["details"]["Refundable"] == "yes"
            ws = sec.workspace(sec.principal("ada"))
            assert ws.trips.bookings() == []
            done = sec.decide(proposal.id, Decision(kind="approve"))
            assert [p.status for p in done.executed] == ["executed"]
            again = sec.decide(proposal.id, Decision(kind="approve"))
            assert "already executed" in (again.notice or "")
            orders = [r for r in sent_ if (r.method, r.url.path) == ("POST", "/air/orders")]
            assert len(orders) == 1
            [booking] = ws.trips.bookings()
            assert booking.status == "booked" and booking.reference == "RZPNX8"
            day = datetime(2026, 12, 1, tzinfo=BERLIN)
            [event] = ws.calendar.list_events(day, day + timedelta(days=1))
            assert event.start == datetime(2026, 12, 1, 10, tzinfo=BERLIN)
        finally:
            sec.close()


# ----------------------------------------------------------------------- CLI


def cli(*args: str) -> Any:
    from agent.cli import cli as main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cli_trip_list_and_show(isolated_home: Path) -> None:
    r = cli("init", "--name", "Ada", "--email", "ada@example.com", "--timezone", "Europe/Berlin")
    assert r.exit_code == 0, r.output
    store = LocalTrips(isolated_home / "principals" / "me")
    now = datetime.now(BERLIN)
    dep = (now + timedelta(days=3)).replace(hour=8, minute=5, second=0, microsecond=0)
    london = ZoneInfo("Europe/London")
    arr = dep.replace(hour=9, minute=20).replace(tzinfo=london)
    flight = LocalTravel().search_flights("BER", "LHR", dep.date(), None, "economy", 1)[0]
    seg = Segment(
        origin="BER",
        destination="LHR",
        departure=dep,
        arrival=arr,
        origin_zone="Europe/Berlin",
        destination_zone="Europe/London",
        carrier="BA",
        flight_number="981",
    )
    flight = flight.model_copy(update={"segments": [seg]})
    trip = store.add_trip(Trip(id="trip-cli", title="London board meeting", created_at=now))
    store.add_booking(
        Booking(
            id="bkg-cli",
            kind="flight",
            provider="local",
            status="booked",
            reference="XY12Z3",
            price=Money(amount=Decimal("199.00"), currency="EUR"),
            flight=flight,
            trip_id=trip.id,
            created_at=now,
        )
    )
    store.close()

    r = cli("trip", "list", "--json")
    assert r.exit_code == 0, r.output
    assert [t["id"] for t in json.loads(r.stdout)] == ["trip-cli"]
    r = cli("trip", "list")
    assert "trip-cli" in r.stdout and "London" in r.stdout
    r = cli("trip", "show", "trip-cli")
    assert r.exit_code == 0, r.output
    assert "dep 08:05" in r.stdout and "Berlin BER" in r.stdout and "London LHR" in r.stdout
    assert "ref XY12Z3" in r.stdout and "Total: 199.00 EUR" in r.stdout and "[booked]" in r.stdout
    r = cli("trip", "show", "trip-cli", "--json")
    assert json.loads(r.stdout)["totals"] == {"EUR": "199.00"}
    r = cli("trip", "show", "nope")
    assert r.exit_code != 0 and "No trip with id 'nope'" in r.output
