"""Labelled sets of incoming e-mail for measuring triage, read from ``evals/data/triage*/``.

There are three sets, each a folder with a ``set.toml`` (its name, its role,
the principal the mail is addressed to, when it was frozen):

* ``original`` (``evals/data/triage/``, 425 messages): written with the first
  rules, and the rules were shaped on it; a tuning set.
* ``dev`` (``evals/data/triage_dev/``): written later, by writers who never
  saw the rules, for a CFO's inbox; the rules are tuned on it.
* ``held-out`` (``evals/data/triage_heldout/``): written the same way for a
  law-firm partner's inbox, frozen before any rule was tuned, and never tuned
  on; its figures are the ones that say how triage does on mail nobody here
  wrote.

In every set, every item is one raw message (RFC 5322 bytes, a ``.eml`` file) of a
principal's inbox with the label a careful human assistant would give it:
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

Run ``python -m evals.triage_set`` for a summary of every set, ``--set NAME``
for one, ``--out set.jsonl`` to write its items as JSON lines for review.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.foundation.principals import Principal
    from tools.triage import History, Incoming

DATA = Path(__file__).resolve().parent / "data" / "triage"
"""Where the original set's messages (``<id>.eml``) and labels (``labels.jsonl``) live."""
FOLDERS: dict[str, Path] = {
    "original": DATA,
    "dev": DATA.parent / "triage_dev",
    "held-out": DATA.parent / "triage_heldout",
    "fresh": DATA.parent / "triage_fresh",
    "fresh2": DATA.parent / "triage_fresh2",
    "fresh3": DATA.parent / "triage_fresh3",
}
"""Every set by name, in the order reports show them."""

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


_ROLES = {"client", "vendor", "press", "staff", "family", "colleague", "visitor", "other"}
_ROLE_OF = {"assistant": "staff", "friend": "other"}
"""Writers' roles that the address book has no field for, as it would store them."""


def _role(role: str) -> Any:
    role = role.strip().lower()
    return role if role in _ROLES else _ROLE_OF.get(role, "other")


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
    action: str = ""
    """What a careful assistant would do: ignore, file, notify, respond ('' where not given)."""
    lang: str = ""
    headers: str = ""
    """``full`` or ``minimal`` (exported mail without list or authentication headers)."""
    set: str = "original"
    principal: Principal | None = None

    @property
    def quiet_ok(self) -> bool:
        """Whether filing or ignoring it without telling anyone would be right."""
        if self.label in ("phishing", "urgent"):
            return False
        if self.action:
            return self.action in ("ignore", "file")
        return self.label in ("fyi", "promotional")

    def history(self) -> History:
        """The triage history of this item: contact lookups and the principal's own messages."""
        from tools.providers.base import Contact
        from tools.triage import History

        book = {
            c["email"].lower(): Contact(name=c["name"], email=c["email"], role=_role(c["role"]))
            for c in self.contacts
        }
        named = {c.name.casefold(): c for c in book.values()}
        wrote = set(self.wrote)
        return History(
            contact=lambda a: book.get(a.lower()),
            wrote=lambda mid: mid in wrote,
            named=lambda n: named.get(" ".join(n.casefold().split())),
            domains=lambda: {c.email.rpartition("@")[2].lower() for c in book.values()},
        )

    def incoming(self, principal: Principal | None = None) -> Incoming:
        """The parsed message."""
        from tools.triage import Incoming

        who = principal or self.principal or principal_of_set()
        return Incoming.from_raw(self.raw, who, source=self.id)

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
            "action": self.action,
            "lang": self.lang,
            "headers": self.headers,
            "set": self.set,
            "raw": self.raw.decode("utf-8", "replace"),
        }


@dataclass
class TriageSet:
    """One labelled set: its items and what ``set.toml`` says about it."""

    name: str
    role: str
    """``tuning`` (rules were shaped on it) or ``held-out`` (never tuned on)."""
    description: str
    frozen: str
    digest: str
    """The :func:`digest` recorded when the set was frozen ('' for a set still growing)."""
    principal: Principal
    items: list[TriageItem]


def _about(data: Path) -> dict[str, Any]:
    path = data / "set.toml"
    return tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def principal_of_set(data: Path = DATA) -> Principal:
    """The principal a set is written for (its ``set.toml``)."""
    from tools.foundation.principals import Principal

    about = _about(data).get("principal", {})
    return Principal(
        id=about.get("id", "ada"),
        name=about.get("name", ME[0]),
        email=about.get("email", ME[1]),
        timezone=about.get("timezone", "Europe/Berlin"),
        organisation=about.get("organisation", "Lovelace Partners"),
    )


def load(data: Path = DATA) -> list[TriageItem]:
    """The labelled items of one set folder, in the order of its labels.

    Args:
        data: The folder holding the labels (``labels.jsonl``, or one ``labels-<part>.jsonl``
            per writer) and one ``<id>.eml`` per item.

    Returns:
        The items.
    """
    about = _about(data)
    principal = principal_of_set(data)
    items: list[TriageItem] = []
    lines = [
        line
        for path in sorted(data.glob("labels*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    for line in lines:
        row = json.loads(line)
        items.append(
            TriageItem(
                id=row["id"],
                label=row["label"],
                template=row.get("template", ""),
                raw=(data / f"{row['id']}.eml").read_bytes(),
                contacts=row.get("contacts", []),
                wrote=row.get("wrote", []),
                hard=bool(row.get("hard", False)),
                note=row.get("note", ""),
                action=row.get("action", ""),
                lang=row.get("lang", ""),
                headers=row.get("headers", ""),
                set=about.get("name", data.name),
                principal=principal,
            )
        )
    return items


def load_set(name: str) -> TriageSet:
    """One set by name (``original``, ``dev``, ``held-out``)."""
    if name not in FOLDERS:
        raise ValueError(f"no triage set {name!r}; there are {', '.join(FOLDERS)}")
    data = FOLDERS[name]
    about = _about(data)
    return TriageSet(
        name=name,
        role=about.get("role", "tuning"),
        description=about.get("description", ""),
        frozen=about.get("frozen", ""),
        digest=about.get("digest", ""),
        principal=principal_of_set(data),
        items=load(data),
    )


def digest(data: Path) -> str:
    """The SHA-256 of a set's messages and labels, in name order (``set.toml`` left out).

    A held-out set's ``set.toml`` records it when the set is frozen; the tests
    check it still holds, so a later edit to the set cannot go unnoticed.
    """
    h = hashlib.sha256()
    for path in sorted(data.iterdir()):
        if path.is_file() and path.name != "set.toml":
            h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def sets() -> list[TriageSet]:
    """Every set whose folder exists, in report order."""
    return [load_set(n) for n, d in FOLDERS.items() if any(d.glob("labels*.jsonl"))]


def main(argv: list[str] | None = None) -> int:
    """Print a summary of the sets; optionally write one as JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=list(FOLDERS), help="only this set")
    parser.add_argument("--out", type=Path, help="write the items as JSON lines")
    args = parser.parse_args(argv)
    chosen = [load_set(args.set)] if args.set else sets()
    for found in chosen:
        items = found.items
        counts = Counter(i.label for i in items)
        hard = Counter(i.label for i in items if i.hard)
        print(
            f"{found.name} ({found.role}): {len(items)} items for {found.principal.email}, "
            f"{sum(hard.values())} hard" + (f"; frozen {found.frozen}" if found.frozen else "")
        )
        for label in LABELS:
            print(f"  {label:<15} {counts[label]:>4} items  {hard[label]:>3} hard")
        langs = Counter(i.lang for i in items if i.lang)
        if langs:
            print("  languages: " + ", ".join(f"{k} {v}" for k, v in langs.most_common()))
        heads = Counter(i.headers for i in items if i.headers)
        if heads:
            print("  headers: " + ", ".join(f"{k} {v}" for k, v in heads.most_common()))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            for found in chosen:
                for item in found.items:
                    fh.write(json.dumps(item.to_json(), ensure_ascii=False) + "\n")
        print(f"written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
