"""A labelled set of incoming e-mail for measuring triage, read from ``evals/data/triage/``.

Every item is one raw message (RFC 5322 bytes, a ``.eml`` file) of a
consultant's inbox with the label a careful human assistant would give it:
``urgent``, ``needs-response``, ``fyi``, ``promotional``, ``personal`` or
``phishing``. ``labels.jsonl`` lists the items in the set's order, one line
each: the id (also the file name), the label, the kind of message it is
(``template``), whether it is ambiguous on purpose (``hard``: wording that
could go either way, no header that helps), why the label is what it is where
that is not obvious (``note``), and the context triage needs to rebuild the
history: which senders are the principal's contacts (with their role) and
which Message-IDs the principal wrote (the threads she is in).

The messages cover invoices, meeting requests, calendar invitations,
newsletters, shipping notices, auto-replies, bounces, bank phishing with
look-alike domains, display-name spoofing, deceptive links, family mail, an
urgent boss, client questions, cc'd threads and more, with varied headers
(``Authentication-Results``, ``List-Id``, ``List-Unsubscribe``,
``Precedence``, ``Auto-Submitted``, ``Reply-To``, ``X-Spam-Flag``), plain and
HTML bodies, German and French text, signatures and quoted history.

The labels describe the message, not what the rules happen to do. To change
the set, edit or add a ``.eml`` file and its line in ``labels.jsonl``.

Run ``python -m evals.triage_set`` for a summary, ``--out set.jsonl`` to write
the items as JSON lines for review.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.foundation.principals import Principal
    from tools.triage import History, Incoming

DATA = Path(__file__).resolve().parent / "data" / "triage"
"""Where the messages (``<id>.eml``) and their labels (``labels.jsonl``) live."""

LABELS: tuple[str, ...] = (
    "urgent",
    "needs-response",
    "fyi",
    "promotional",
    "personal",
    "phishing",
)
SEED = 11
"""The seed the set was first generated from; reports name it so older figures can be matched."""

ME = ("Ada Lovelace", "ada@lovelace-partners.com")
"""The principal the mail is addressed to."""


@dataclass
class TriageItem:
    """One labelled message with the context triage needs to judge it."""

    id: str
    label: str
    template: str
    raw: bytes
    contacts: list[dict[str, str]] = field(default_factory=list)
    """The principal's contacts among the people involved: name, email, role."""
    wrote: list[str] = field(default_factory=list)
    """Message-IDs the principal wrote (threads she is in)."""
    hard: bool = False
    note: str = ""
    """Why the label is what it is, where that is not obvious."""

    def history(self) -> History:
        """The triage history of this item: contact lookups and the principal's own messages."""
        from tools.providers.base import Contact
        from tools.triage import History

        book = {
            c["email"].lower(): Contact(name=c["name"], email=c["email"], role=c["role"])
            for c in self.contacts
        }
        wrote = set(self.wrote)
        return History(contact=lambda a: book.get(a.lower()), wrote=lambda mid: mid in wrote)

    def incoming(self, principal: Principal | None = None) -> Incoming:
        """The parsed message."""
        from tools.triage import Incoming

        return Incoming.from_raw(self.raw, principal or principal_of_set(), source=self.id)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the raw message as text)."""
        return {
            "id": self.id,
            "label": self.label,
            "template": self.template,
            "hard": self.hard,
            "note": self.note,
            "contacts": self.contacts,
            "wrote": self.wrote,
            "raw": self.raw.decode("utf-8", "replace"),
        }


def principal_of_set() -> Principal:
    """The principal the set is written for."""
    from tools.foundation.principals import Principal

    return Principal(
        id="ada",
        name=ME[0],
        email=ME[1],
        timezone="Europe/Berlin",
        organisation="Lovelace Partners",
    )


def load(data: Path = DATA) -> list[TriageItem]:
    """The labelled set, in the order of ``labels.jsonl``.

    Args:
        data: The folder holding ``labels.jsonl`` and one ``<id>.eml`` per item.

    Returns:
        The items.
    """
    items: list[TriageItem] = []
    with open(data / "labels.jsonl", encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            items.append(
                TriageItem(
                    id=row["id"],
                    label=row["label"],
                    template=row["template"],
                    raw=(data / f"{row['id']}.eml").read_bytes(),
                    contacts=row["contacts"],
                    wrote=row["wrote"],
                    hard=row["hard"],
                    note=row["note"],
                )
            )
    return items


def main(argv: list[str] | None = None) -> int:
    """Print a summary of the set; optionally write it as JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the items as JSON lines")
    args = parser.parse_args(argv)
    items = load()
    counts = Counter(i.label for i in items)
    hard = Counter(i.label for i in items if i.hard)
    kinds = {label: len({i.template for i in items if i.label == label}) for label in LABELS}
    print(f"{len(items)} items, seed {SEED}, {sum(hard.values())} hard")
    for label in LABELS:
        print(
            f"  {label:<15} {counts[label]:>4} items  {kinds[label]:>3} templates"
            f"  {hard[label]:>3} hard"
        )
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            for item in items:
                fh.write(json.dumps(item.to_json(), ensure_ascii=False) + "\n")
        print(f"written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
