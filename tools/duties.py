"""Which tools the planner sees: the everyday duties always, the others when the work needs them.

Every plan call sends the tool schemas to the model, and they are most of the
prompt. The everyday duties (mail, calendar, contacts, memory, the front desk,
the briefing) are always offered. The others (vendors, travel, press, invoices,
filing) are offered when the conversation is about them: a word of theirs in
what the principal wrote, one of their tools already used in the thread, or the
model asking for them with :func:`open_duty`. Which tools may *run* does not
change: every call still goes through the same gate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

from tools.base import registry, tool
from tools.context import ToolContext

CORE_DUTIES = frozenset({"mail", "calendar", "contacts", "memory", "desk", "briefing", "duties"})
OptionalDuty = Literal["vendors", "travel", "press", "invoices", "filing"]
OPTIONAL_DUTIES: tuple[str, ...] = ("vendors", "travel", "press", "invoices", "filing")

_WORDS: dict[str, re.Pattern[str]] = {
    "vendors": re.compile(
        r"\b(vendors?|suppliers?|quotes?|quotations?|orders?|ordering|deliver(y|ies|ed)?|"
        r"caterers?|catering|purchase|lieferant\w*|angebot\w*|bestell\w*)\b",
        re.I,
    ),
    "travel": re.compile(
        r"\b(flights?|fly|flying|hotels?|trips?|travel\w*|airports?|airlines?|itinerar\w*|"
        r"boarding|train|reise\w*|flug|flüge)\b",
        re.I,
    ),
    "press": re.compile(
        r"\b(press|journalists?|reporters?|media|embargo\w*|interviews?|newspapers?|"
        r"statements?|presse|comment)\b",
        re.I,
    ),
    "invoices": re.compile(
        r"\b(invoices?|bills?|billing|payments?|paid|pay|iban|rechnung\w*|receipts?|"
        r"overdue|remittance|dispute\w*)\b",
        re.I,
    ),
    "filing": re.compile(
        r"\b(file|filing|filed|documents?|contracts?|folders?|archive\w*|paperwork|"
        r"scans?|attachments?|ablage|vertrag\w*)\b",
        re.I,
    ),
}


def duty_of(tool_name: str) -> str:
    """The duty a tool belongs to ('' for an unknown name)."""
    spec = registry().get(tool_name)
    return spec.duty if spec is not None else ""


def wanted_duties(texts: Iterable[str], used_tools: Iterable[str]) -> set[str]:
    """The optional duties a conversation needs: named in its text, or already in use."""
    out: set[str] = set()
    blob = "\n".join(texts)
    for duty, words in _WORDS.items():
        if words.search(blob):
            out.add(duty)
    for name in used_tools:
        duty = duty_of(name)
        if duty in OPTIONAL_DUTIES:
            out.add(duty)
    return out


def tools_for(duties: Iterable[str]) -> list[str]:
    """Names of the tools to offer: the everyday duties plus ``duties``."""
    keep = CORE_DUTIES | set(duties)
    return sorted(name for name, spec in registry().items() if spec.duty in keep)


@tool(effect="read", duty="duties", title="Open a duty")
def open_duty(ctx: ToolContext, duty: OptionalDuty) -> dict[str, Any]:
    """Make the tools of another duty available (they are offered from the next step on).

    Use it when the request concerns vendors (quotes, orders, deliveries), travel (flights,
    hotels, trips), press (journalists, statements, embargoes), invoices (bills, payments) or
    filing (documents, contracts, folders) and their tools are not offered yet.

    Args:
        ctx: Injected by the runtime; not an argument the model gives.
        duty: vendors, travel, press, invoices or filing.
    """
    names = [n for n, s in registry().items() if s.duty == duty]
    return {"duty": duty, "tools": sorted(names)}
