"""Vendor tools: the vendor directory, requests mailed to vendors, their answers and follow-ups.

A vendor is a contact with role ``vendor``; the vendor store
(``Workspace.vendors``, see :mod:`tools.providers.local.vendors`)
keeps its category, the principal's account numbers with it, payment terms and
preferred channel. Quote requests, orders and delivery chases are ``write``
tools: each mails the vendor (the approval card shows the exact mail) and
records the request with the Message-ID of that mail, so an answer arriving in
the same thread is recognised by :func:`vendor_followups`. Dates are ISO 8601
or phrases ("Friday", "next week"), read in the principal's zone against the
moment the action was proposed.

- :mod:`tools.vendors.directory`: who the vendors are (find_vendor, add_vendor);
- :mod:`tools.vendors.requests`: the mail to them (request_quote, place_order, chase_delivery);
- :mod:`tools.vendors.answers`: what they said and what waits (record_vendor_answer,
  vendor_followups, list_vendor_requests).
"""

from __future__ import annotations

from tools.vendors.answers import list_vendor_requests, record_vendor_answer, vendor_followups
from tools.vendors.directory import DEFAULT_FOLLOWUP_DAYS, OrderItem, add_vendor, find_vendor
from tools.vendors.requests import chase_delivery, place_order, request_quote

__all__ = [
    "DEFAULT_FOLLOWUP_DAYS",
    "OrderItem",
    "find_vendor",
    "add_vendor",
    "request_quote",
    "place_order",
    "chase_delivery",
    "record_vendor_answer",
    "vendor_followups",
    "list_vendor_requests",
]
