"""Every registered write tool reaches the world only through gate and act."""

from __future__ import annotations

from typing import Any

import pytest

from tools.base import ToolSpec, registry
from tools.providers.scripted import ScriptedChatModel

# Valid arguments for each write tool. A new write tool without an entry here
# fails test_every_write_tool_has_sample_arguments, so none escapes the check.
SAMPLES: dict[str, dict[str, Any]] = {
    "send_email": {"to": ["dana@acme.com"], "subject": "Hello", "body": "Hi Dana"},
    "reply_to_message": {"message_id": "<m1@acme.com>", "body": "Thanks!"},
    "save_draft": {"to": ["dana@acme.com"], "subject": "Draft", "body": "Hi"},
    "forward_message": {"message_id": "<m1@acme.com>", "to": ["eve@acme.com"], "note": "FYI"},
    "create_event": {"title": "Review", "start": "2026-11-24T10:00", "duration_minutes": 30},
    "move_event": {"event_id": "EVENT", "start": "2026-11-25T11:00"},
    "cancel_event": {"event_id": "EVENT"},
    "respond_to_invite": {"event_id": "EVENT", "answer": "accepted"},
    "propose_times": {"to": ["dana@acme.com"], "subject": "Budget", "duration_minutes": 45},
    "add_contact": {"name": "Dana Scully", "email": "dana@acme.com"},
    "update_contact": {"contact_id": "CONTACT", "notes": "prefers phone"},
    "take_message": {"caller": "Dana Smith", "number": "+1 555 0100", "reason": "Budget"},
    "schedule_visit": {"name": "Dana Smith", "start": "2026-11-24T15:00", "email": "dana@acme.com"},
    "add_task": {"title": "Book the board room", "due": "2026-11-27"},
    "delegate_task": {"to": "sam@example.com", "title": "Order flowers"},
    "complete_task": {"task_id": "TASK"},
    "schedule_callback": {"message_id": "PHONE", "start": "2026-11-24T11:00"},
    # -- vendors --
    "add_vendor": {"name": "Acme Catering", "email": "orders@acme.example", "category": "catering"},
    "request_quote": {"vendor": "Acme Catering", "what": "lunches", "quantity": "40"},
    "place_order": {
        "vendor": "Acme Catering",
        "items": [{"item": "lunch box", "quantity": "40"}],
        "delivery_address": "Main St 1, 10115 Berlin",
    },
    "chase_delivery": {"order_id": "VENDOR_ORDER"},
    "record_vendor_answer": {"request_id": "VENDOR_ORDER", "summary": "Delivery on Friday"},
    # -- travel --
    "book_flight": {"offer_id": "FLIGHT_OFFER"},
    "book_hotel": {"offer_id": "HOTEL_OFFER"},
    "cancel_booking": {"booking_id": "BOOKED"},
    "confirm_booking": {
        "booking_id": "REQUESTED",
        "reference": "ABC123",
        "price": "389.00",
        "flight": "LH400",
        "departure": "2026-12-01T10:00",
        "arrival": "2026-12-01T13:00",
    },
    "update_trip_segment": {"booking_id": "BOOKED", "status": "delayed", "new_departure": "11:30"},
    # -- press --
    "add_journalist": {"name": "Lee Park", "email": "lee@wire.example", "outlet": "Tech Wire"},
    "reply_to_press": {"message_id": "<m1@acme.com>", "body": "Thank you; no comment."},
    # -- invoices --
    "capture_invoice": {"message_id": "<inv1@acme.com>"},
    "approve_invoice": {"invoice_id": "INVOICE"},
    "mark_invoice_paid": {"invoice_id": "INVOICE", "paid_on": "2026-11-20"},
    "dispute_invoice": {"invoice_id": "INVOICE", "reason": "Wrong quantity"},
    # -- filing --
    "file_document": {"type": "correspondence", "note": "Call notes", "counterparty": "Acme"},
    "refile_document": {"document_id": "FILED", "type": "contract"},
}

WRITE_TOOLS = sorted(name for name, spec in registry().items() if spec.effect == "write")


def test_every_write_tool_has_sample_arguments() -> None:
    assert WRITE_TOOLS, "no write tools registered"
    assert set(WRITE_TOOLS) <= set(SAMPLES), set(WRITE_TOOLS) - set(SAMPLES)


def _seed(sec: Any) -> dict[str, str]:
    """Objects the sample arguments refer to (an inbox message, an event, a contact, a task)."""
    from tools.providers.base import Contact, NewEvent

    ws = sec.workspace(sec.principal("ada"))
    ws.mail.import_eml(
        b"From: Dana <dana@acme.com>\r\nTo: ada@example.com\r\nSubject: Hello\r\n"
        b"Message-ID: <m1@acme.com>\r\nDate: Mon, 23 Nov 2026 08:00:00 +0100\r\n\r\nHi Ada\r\n"
    )
    from datetime import datetime
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Europe/Berlin")
    event = ws.calendar.create_event(
        NewEvent(
            title="Standup",
            start=datetime(2026, 11, 24, 9, 0, tzinfo=tz),
            end=datetime(2026, 11, 24, 9, 30, tzinfo=tz),
            timezone="Europe/Berlin",
        ),
        "seed-event",
    )
    contact = ws.contacts.upsert(Contact(name="Fox Mulder", email="fox@fbi.example"))
    from tools.providers.local.desk import Task

    task = ws.desk.add_task(Task(title="File receipts", created_at=datetime.now(tz)))
    from tools.providers.local.desk import PhoneMessage

    phone = ws.desk.add_message(PhoneMessage(caller="Dana", taken_at=datetime.now(tz)))
    ids = {"EVENT": event.id, "CONTACT": contact.id, "TASK": task.id, "PHONE": phone.id}
    # -- seed vendors --
    from tools.providers.local.vendors import VendorRequest

    acme = ws.contacts.upsert(
        Contact(name="Acme Catering", email="orders@acme.example", role="vendor")
    )
    order = VendorRequest(
        kind="order",
        vendor_id=acme.id,
        vendor=acme.name,
        vendor_email="orders@acme.example",
        subject="Order: 40 x lunch box",
        message_id="<order-1@example.com>",
        sent_at=datetime.now(tz),
        details={"items": [{"item": "lunch box", "quantity": "40"}]},
    )
    ids["VENDOR_ORDER"] = ws.vendors.add_request(order).id
    # -- seed travel --
    from datetime import date

    from tools.providers.local.trips import Trip
    from tools.providers.travel.base import Booking, Segment
    from tools.providers.travel.local import LocalTravel

    agent, trips = LocalTravel(), ws.trips
    request = agent.search_flights("BER", "JFK", date(2026, 12, 1), None, "economy", 1)[0]
    stay = agent.search_hotels("New York", date(2026, 12, 1), date(2026, 12, 3), 1)[0]
    trip = trips.add_trip(Trip(id="trip-seed", title="New York", created_at=datetime.now(tz)))
    seg = Segment(
        origin="BER",
        destination="JFK",
        departure=datetime(2026, 12, 1, 10, tzinfo=tz),
        arrival=datetime(2026, 12, 1, 13, tzinfo=ZoneInfo("America/New_York")),
        origin_zone="Europe/Berlin",
        destination_zone="America/New_York",
        carrier="LH",
        flight_number="400",
    )
    booked = request.model_copy(update={"segments": [seg]})
    for bid, status, flight in (("bkg-req", "requested", request), ("bkg-on", "booked", booked)):
        trips.add_booking(
            Booking(
                id=bid,
                kind="flight",
                provider="local",
                status=status,
                flight=flight,
                trip_id=trip.id,
            )
        )
    ids.update(FLIGHT_OFFER=request.id, HOTEL_OFFER=stay.id)
    ids.update(REQUESTED="bkg-req", BOOKED="bkg-on")
    # -- seed press --
    # -- seed invoices --
    ws.mail.import_eml(
        b"From: Acme <billing@acme.com>\r\nTo: ada@example.com\r\nSubject: Invoice\r\n"
        b"Message-ID: <inv1@acme.com>\r\nDate: Mon, 23 Nov 2026 08:00:00 +0100\r\n\r\n"
        b"Invoice number: 42\r\nTotal: EUR 10.00\r\n"
    )
    from decimal import Decimal

    from tools.providers.local.invoices import Invoice

    invoice = ws.invoices.add(
        Invoice(vendor="Acme", number="7", total=Decimal("5.00"), created_at=datetime.now(tz))
    )
    ids["INVOICE"] = invoice.id
    # -- seed filing --
    from tools.providers.local.filing import FiledDocument

    filed = ws.filing.add(
        FiledDocument(
            title="Seed",
            type="other",
            folder="acme",
            doc_date=datetime(2026, 1, 5).date(),
            sha256="0" * 64,
            size=4,
            path="files/other/acme/2026/seed.txt",
            filed_at=datetime.now(tz),
        ),
        b"seed",
    )
    ids["FILED"] = filed.id
    return ids


@pytest.mark.parametrize("name", WRITE_TOOLS)
def test_write_tool_cannot_run_without_approval(
    name: str, make_secretary: Any, monkeypatch: Any
) -> None:
    spec: ToolSpec = registry()[name]
    ran: list[Any] = []
    monkeypatch.setattr(spec, "fn", lambda *a, **k: ran.append((a, k)))
    sec = make_secretary(None)
    ids = _seed(sec)
    args = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in SAMPLES[name].items()}
    sec._model = ScriptedChatModel([{"tool_calls": [{"name": name, "args": args}]}])
    reply = sec.ask(f"please {name}", principal="ada", thread="t1")
    assert [p.tool for p in reply.pending] == [name], reply
    assert ran == []

    # Even driving the graph's act node directly does not run it: the ledger
    # refuses to execute anything that is not approved.
    from langgraph.types import Command

    from agent.runtime import Actor

    ctx = sec._context(sec.principal("ada"), "t1", Actor())
    config = {"configurable": {"thread_id": "ada/t1"}}
    sec.graph().invoke(Command(goto="act"), config, context=ctx)
    assert ran == []
    assert sec.ledger.get(reply.pending[0].id).status == "proposed"


def test_ledger_refuses_to_execute_an_unapproved_proposal(make_secretary: Any) -> None:
    from agent.ledger import LedgerError

    sec = make_secretary(
        ScriptedChatModel([{"tool_calls": [{"name": "send_email", "args": SAMPLES["send_email"]}]}])
    )
    [p] = sec.ask("send", principal="ada", thread="t1").pending
    with pytest.raises(LedgerError):
        sec.ledger.execute(p, lambda key: None)
