"""A realistic mail archive of one principal, generated from a seed, with labelled recall queries.

The archive imitates a consultant's business mail: threads of one to eight
messages with Message-ID / In-Reply-To / References, ``Re:`` subjects, quoted
history, signatures, attachments (text and PDF), HTML-only mail, German and
French mail with encoded-word headers, and a small share of deliberately bad
messages (broken MIME, unknown charset, empty body, no headers, a huge
attachment) for the bad-input path of the ingest.

Every thread carries one planted fact (an invoice, a catering quote, a flight,
a meeting, a new address, a contract term, an appointment, a press request, an
order in an attachment). The labelled queries are built from those facts:
``exact`` queries name a unique term (``INV-2026-0417``), ``semantic`` ones
paraphrase the fact with few shared words, ``mixed`` ones combine both. A
query's answers are the messages whose *own* text (not a quote of it) holds
the fact; semantic queries are only asked where their description fits one
thread of the whole archive.

Run ``python -m evals.corpus --messages 10000 --out corpus.mbox --seed 7``; it
writes the mbox and, next to it, the queries as JSON lines. The words the mail is
made of are in ``evals/data/corpus_words.toml``.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from evals.corpus_archive import Attachment, Corpus, Mail, Query, QueryKind

PRINCIPAL = ("Ada Lovelace", "ada@lovelace-partners.com")
TZ = ZoneInfo("Europe/Berlin")
START = datetime(2025, 1, 6, 8, 0, tzinfo=TZ)
HUGE_BYTES = 31 * 1024 * 1024
"""Size of the one huge attachment: above the ingest's per-message limit."""


def _load_words(path: Path) -> dict[str, list[Any]]:
    """The word lists of ``corpus_words.toml``; a pair is a tuple, as the generator unpacks it."""
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    return {k: [tuple(x) if isinstance(x, list) else x for x in v] for k, v in raw.items()}


_WORDS = _load_words(Path(__file__).resolve().parent / "data" / "corpus_words.toml")
FIRST: list[str] = _WORDS["first"]
LAST: list[str] = _WORDS["last"]
ORGS: list[tuple[str, str]] = _WORDS["orgs"]
CATERERS: list[str] = _WORDS["caterers"]
MONTHS: list[str] = _WORDS["months"]
WEEKDAYS: list[str] = _WORDS["weekdays"]
SERVICES: list[tuple[str, str]] = _WORDS["services"]
EVENTS: list[tuple[str, str]] = _WORDS["events"]
VENUES: list[str] = _WORDS["venues"]
CITIES: list[tuple[str, str]] = _WORDS["cities"]
TOPICS: list[tuple[str, str]] = _WORDS["topics"]
CONTRACTS: list[tuple[str, str]] = _WORDS["contracts"]
SPECIALISTS: list[tuple[str, str]] = _WORDS["specialists"]
STORIES: list[tuple[str, str]] = _WORDS["stories"]
STREETS: list[str] = _WORDS["streets"]
ROOMS: list[str] = _WORDS["rooms"]
FILLER: list[str] = _WORDS["filler"]
CHATTER: list[str] = _WORDS["chatter"]
GERMAN: list[str] = _WORDS["german"]
FRENCH: list[str] = _WORDS["french"]


@dataclass
class _Fact:
    kind: str
    message_id: str
    fact: str
    key: tuple[str, ...]
    queries: dict[QueryKind, str]


# --------------------------------------------------------------------------- generation


class _Generator:
    """Builds threads; every choice comes from one seeded random generator."""

    def __init__(self, seed: int, huge_bytes: int) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.huge_bytes = huge_bytes
        self.mails: list[Mail] = []
        self.facts: list[_Fact] = []
        self.serial = 0
        self.used: set[str] = set()
        rng = self.rng
        self.people: list[tuple[str, str, str, str]] = []  # name, address, org, title
        for _ in range(180):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            org, domain = rng.choice(ORGS)
            local = re.sub(r"[^a-z.]", "", f"{first}.{last}".lower().replace(" ", ""))
            title = rng.choice(["Account Manager", "Partner", "Office Manager", "Consultant"])
            self.people.append((f"{first} {last}", f"{local}@{domain}", org, title))
        self.colleagues = [
            ("Omar Haddad", "omar@lovelace-partners.com"),
            ("Priya Shah", "priya@lovelace-partners.com"),
            ("Jonas Becker", "jonas@lovelace-partners.com"),
        ]

    # ------------------------------------------------------------ helpers
    def unique(self, make: Callable[[], str]) -> str:
        """A value never produced before (invoice numbers, references)."""
        for _ in range(50):
            value = make()
            if value not in self.used:
                self.used.add(value)
                return value
        # The value space is nearly used up (a very large archive): a serial keeps it unique.
        value = f"{make()}-{len(self.used)}"
        self.used.add(value)
        return value

    def person_of(self, org: str | None = None) -> tuple[str, str, str, str]:
        pool = [p for p in self.people if org is None or p[2] == org]
        if not pool:
            name = f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}"
            domain = dict(ORGS)[org] if org else "example.org"
            local = re.sub(r"[^a-z]", "", name.split()[0].lower()) or "info"
            person = (name, f"{local}@{domain}", org or "", "Account Manager")
            self.people.append(person)
            return person
        return self.rng.choice(pool)

    def signature(self, person: tuple[str, str, str, str], lang: str = "en") -> str:
        name, addr, org, title = person
        r = self.rng.random()
        if r < 0.45:
            phone = f"+49 30 {self.rng.randint(1000000, 9999999)}"
            return f"-- \n{name}\n{title}, {org}\n{phone}\nwww.{addr.split('@')[1]}"
        if r < 0.7:
            closing = {"de": "Viele Grüße", "fr": "Cordialement"}.get(lang, "Best")
            return f"{closing},\n{name.split()[0]}"
        if r < 0.8:
            return "Sent from my iPhone"
        return ""

    def fill(self, template: str) -> str:
        rng = self.rng
        return template.format(
            first=rng.choice(FIRST),
            other=rng.choice(FIRST),
            weekday=rng.choice(WEEKDAYS),
            topic=rng.choice(TOPICS)[0],
        )

    def chatter(self) -> str:
        return self.rng.choice(CHATTER) if self.rng.random() < 0.35 else ""

    def money(self, lo: int, hi: int) -> str:
        return f"{self.rng.randint(lo, hi):,}.{self.rng.choice(['00', '50', '90'])}"

    def new_id(self, domain: str) -> str:
        self.serial += 1
        tag = f"{self.seed:x}.{self.serial:06d}.{self.rng.getrandbits(32):08x}"
        return f"<{tag}@{domain}>"

    # ------------------------------------------------------------ threads
    def thread(self, when: datetime, length: int) -> None:
        kind = self.rng.choices(
            ["invoice", "catering", "travel", "meeting", "address", "legal", "medical", "press",
             "order", "german", "french"],
            weights=[16, 10, 12, 16, 6, 8, 7, 6, 7, 6, 6],
        )[0]  # fmt: skip
        plan = getattr(self, f"_{kind}")(when)
        self._emit(plan, when, length)

    def _emit(self, plan: dict[str, object], when: datetime, length: int) -> None:
        """Turn a plan (subject, outsider, opening texts, fact) into a thread of messages."""
        rng = self.rng
        outsider: tuple[str, str, str, str] = plan["outsider"]  # type: ignore[assignment]
        opening: list[tuple[str, str]] = plan["opening"]  # type: ignore[assignment]
        lang = str(plan.get("lang", "en"))
        fact_at = int(plan.get("fact_at", 0))  # type: ignore[call-overload]
        length = max(length, len(opening))
        ada = PRINCIPAL
        them = (outsider[0], outsider[1])
        cc = [rng.choice(self.colleagues)] if rng.random() < 0.15 else []
        ids: list[str] = []
        previous: Mail | None = None
        at = when
        for i in range(length):
            if i < len(opening):
                who, text = opening[i]
            else:
                who = "ada" if (previous and previous.sender != ada) else "them"
                pool = GERMAN if lang == "de" else FRENCH if lang == "fr" else FILLER
                text = self.fill(rng.choice(pool))
            if i >= len(opening) and (extra := self.chatter()):
                text += "\n\n" + extra
            sender = ada if who == "ada" else them
            to = [them if who == "ada" else ada, *cc]
            person = (ada[0], ada[1], "Lovelace Partners", "Managing Director")
            sig = self.signature(outsider if who != "ada" else person, lang)
            domain = sender[1].split("@")[1]
            mid = self.new_id(domain)
            subject = str(plan["subject"])
            if i:
                prefix = {"de": "AW: ", "fr": "RE: "}.get(lang, "Re: ")
                subject = prefix + subject
            quote = ""
            if previous is not None:
                quote = self.quote(previous, lang)
            mail = Mail(
                message_id=mid,
                thread_id=ids[0] if ids else mid,
                sender=sender,
                to=to,
                subject=subject,
                date=at,
                text=text,
                signature=sig,
                quote=quote,
                parents=list(ids),
                lang=lang,
                charset="iso-8859-1" if lang == "fr" and rng.random() < 0.5 else "utf-8",
            )
            if i == fact_at and "attachment" in plan:
                mail.attachments.append(plan["attachment"])  # type: ignore[arg-type]
            elif rng.random() < 0.06:
                mail.attachments.append(self.pdf())
            elif rng.random() < 0.03:
                mail.attachments.append(self.notes_txt())
            if not mail.attachments and rng.random() < 0.05:
                mail.html_only = True
            if i == fact_at and "fact" in plan:
                fact, key, queries = plan["fact"]  # type: ignore[misc]
                self.facts.append(_Fact(str(plan["kind"]), mid, fact, key, queries))
            self.mails.append(mail)
            ids.append(mid)
            previous = mail
            at += timedelta(minutes=rng.randint(20, 60 * 52))

    def quote(self, previous: Mail, lang: str) -> str:
        date = format_datetime(previous.date)
        name, addr = previous.sender
        header = {
            "de": f"Am {date} schrieb {name} <{addr}>:",
            "fr": f"Le {date}, {name} <{addr}> a écrit :",
        }.get(lang, f"On {date}, {name} <{addr}> wrote:")
        lines = previous.body.rstrip("\n").split("\n")[:60]
        return (
            header
            + "\n"
            + "\n".join(">" + (" " + ln if ln and ln[0] != ">" else ln) for ln in lines)
        )

    def pdf(self) -> Attachment:
        size = self.rng.randint(2_000, 8_000)
        data = b"%PDF-1.4\n" + self.rng.randbytes(size) + b"\n%%EOF\n"
        name = self.rng.choice(["contract.pdf", "scan.pdf", "offer.pdf", "brochure.pdf"])
        return Attachment(name, "application/pdf", data)

    def notes_txt(self) -> Attachment:
        lines = [self.fill(self.rng.choice(FILLER)) for _ in range(self.rng.randint(3, 12))]
        return Attachment("notes.txt", "text/plain", ("\n".join(lines) + "\n").encode())

    # ------------------------------------------------------------ fact kinds
    def _invoice(self, when: datetime) -> dict[str, object]:
        rng = self.rng
        org = rng.choice([o for o, _ in ORGS if o not in CATERERS])
        person = self.person_of(org)
        service, para = rng.choice(SERVICES)
        month = MONTHS[(when.month - 2) % 12]
        inv = self.unique(lambda: f"INV-{when.year}-{rng.randint(1, 9999):04d}")
        amount = self.money(180, 9000)
        iban = self.unique(lambda: f"DE{rng.randint(10, 99)} 1001 0010 {rng.randint(1000, 9999)}")
        text = (
            f"Dear Ada,\n\nplease find below our invoice {inv} for {service} in {month}. "
            f"The total from {org} is EUR {amount} including VAT, payable within "
            f"{rng.choice([14, 21, 30])} days to IBAN {iban}.\n\n{self.chatter()}"
        ).strip()
        subject = rng.choice([f"Invoice {inv}", f"{org}: invoice for {month}", "Your invoice"])
        queries: dict[QueryKind, str] = {
            "exact": inv,
            "semantic": f"how much do we owe for {para} in {month}",
            "mixed": f"{org} bill for {service} {month}",
        }
        return {
            "kind": "invoice",
            "subject": subject,
            "outsider": person,
            "opening": [("them", text)],
            "fact": (inv, ("invoice", service, month), queries),
        }

    def _catering(self, when: datetime) -> dict[str, object]:
        rng = self.rng
        org = rng.choice(CATERERS)
        person = self.person_of(org)
        event, para = rng.choice(EVENTS)
        month = MONTHS[(when.month + 1) % 12]
        guests = rng.randint(12, 120)
        total = self.money(800, 14000)
        qno = self.unique(lambda: f"Q-{rng.randint(1000, 9999)}")
        venue = rng.choice(VENUES)
        ask = (
            f"Hello {person[0].split()[0]},\n\ncould you send us a quote for catering at our "
            f"{event} in {month} at {venue}? We expect about {guests} people, "
            "with vegetarian options please."
        )
        quote = (
            f"Dear Ada,\n\nthank you for your request. For your {event} in {month} we can offer "
            f"a buffet for {guests} guests at EUR {total} in total, drinks included "
            f"(our quote {qno}). Setup starts two hours before the first guests arrive."
        )
        queries: dict[QueryKind, str] = {
            "exact": qno,
            "semantic": f"what will the food for the {para} in {month} cost",
            "mixed": f"what did the caterer quote for the {event} in {month}",
        }
        return {
            "kind": "catering",
            "subject": f"Catering for our {event}",
            "outsider": person,
            "opening": [("ada", ask), ("them", quote)],
            "fact_at": 1,
            "fact": (f"EUR {total} in total", ("catering", event, month), queries),
        }

    def _travel(self, when: datetime) -> dict[str, object]:
        rng = self.rng
        person = self.person_of(rng.choice(["Sunrise Travel", "Skyway Airlines"]))
        city, country = rng.choice(CITIES)
        day = when + timedelta(days=rng.randint(5, 40))
        flight = self.unique(
            lambda: f"{rng.choice(['SK', 'LH', 'AF', 'BA'])}{rng.randint(100, 9999)}"
        )
        ref = self.unique(
            lambda: "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6))
        )
        seat = f"{rng.randint(1, 38)}{rng.choice('ACDF')}"
        text = (
            f"Dear Ms Lovelace,\n\nyour flight {flight} from Berlin to {city} on "
            f"{day.day} {MONTHS[day.month - 1]} at {day:%H:%M} is confirmed, seat {seat}. "
            f"Booking reference {ref}. One checked bag of 23 kg is included."
        )
        month = MONTHS[day.month - 1]
        queries: dict[QueryKind, str] = {
            "exact": ref,
            "semantic": f"when do I fly to {country} in {month}",
            "mixed": f"seat number for the {city} flight in {month}",
        }
        return {
            "kind": "travel",
            "subject": f"Booking confirmation {ref}",
            "outsider": person,
            "opening": [("them", text)],
            "fact": (f"Booking reference {ref}", ("travel", city, month), queries),
        }

    def _meeting(self, when: datetime) -> dict[str, object]:
        rng = self.rng
        person = self.person_of()
        topic, para = rng.choice(TOPICS)
        day = when + timedelta(days=rng.randint(2, 20))
        weekday = WEEKDAYS[day.weekday() % 5]
        room = rng.choice(ROOMS)
        hour = rng.choice(["9:00", "10:30", "14:00", "15:30", "16:00"])
        first = person[0].split()[0]
        ask = f"Hi {first},\n\ncould we find a slot for the {topic} in the next two weeks?"
        answer = (
            f"Hi Ada,\n\nlet's do the {topic} on {weekday}, {day.day} {MONTHS[day.month - 1]} "
            f"at {hour} in {room}. I'll bring the latest figures."
        )
        name = person[0]
        queries: dict[QueryKind, str] = {
            "semantic": f"when am I meeting {first} about {para}",
            "mixed": f"{topic} with {name} date and room",
        }
        return {
            "kind": "meeting",
            "subject": f"{topic.capitalize()}",
            "outsider": person,
            "opening": [("ada", ask), ("them", answer)],
            "fact_at": 1,
            # The semantic query names the first name only, so that is what must be unique.
            "fact": (f"{topic} on {weekday}", ("meeting", first, topic), queries),
        }

    def _address(self, when: datetime) -> dict[str, object]:
        rng = self.rng
        org = rng.choice([o for o, _ in ORGS])
        person = self.person_of(org)
        street = self.unique(lambda: f"{rng.choice(STREETS)} {rng.randint(1, 180)}")
        zipcode = rng.randint(10115, 14199)
        text = (
            f"Dear customers and partners,\n\nfrom 1 {MONTHS[when.month % 12]} {org} has moved. "
            f"Our new address is {street}, {zipcode} Berlin. Phone numbers and e-mail "
            "addresses stay the same."
        )
        queries: dict[QueryKind, str] = {
            "exact": street,
            "semantic": f"where is {org} based now that they relocated",
            "mixed": f"{org} new address",
        }
        return {
            "kind": "address",
            "subject": f"{org} has moved",
            "outsider": person,
            "opening": [("them", text)],
            "fact": (f"Our new address is {street}", ("address", org), queries),
        }

    def _legal(self, when: datetime) -> dict[str, object]:
        rng = self.rng
        person = self.person_of("Blue Harbour Legal")
        contract, para = rng.choice(CONTRACTS)
        party = rng.choice([o for o, _ in ORGS if o != "Blue Harbour Legal"])
        ref = self.unique(lambda: f"BHL-{rng.randint(100, 999)}/{when.year % 100}")
        notice = rng.choice(["three months", "six weeks", "six months", "one month"])
        cap = self.money(20000, 500000)
        text = (
            f"Dear Ada,\n\nI have reviewed the {contract} with {party}. The notice period is "
            f"{notice}, and termination is only possible at the end of a calendar quarter. "
            f"Liability is capped at EUR {cap}; the indemnity clause is unusually broad and I "
            f"suggest we push back on it. Our file reference is {ref}."
        )
        queries: dict[QueryKind, str] = {
            "exact": ref,
            "semantic": f"how long in advance can we cancel the {para} with {party}",
            "mixed": f"notice period {contract} {party}",
        }
        return {
            "kind": "legal",
            "subject": f"Review: {contract} {party}",
            "outsider": person,
            "opening": [("them", text)],
            "fact": (f"The notice period is {notice}", ("legal", contract, party), queries),
        }

    def _medical(self, when: datetime) -> dict[str, object]:
        rng = self.rng
        person = self.person_of(rng.choice(["Praxis am Park", "City Dental Clinic"]))
        spec, para = rng.choice(SPECIALISTS)
        doctor = f"Dr. {rng.choice(LAST)}"
        day = when + timedelta(days=rng.randint(3, 30))
        month = MONTHS[day.month - 1]
        text = (
            f"Dear Ms Lovelace,\n\nyour appointment with {doctor} ({spec}) has been moved to "
            f"{WEEKDAYS[day.weekday() % 5]}, {day.day} {month} at 8:30. Please come fasting for "
            "the blood test and bring your insurance card and the referral."
        )
        queries: dict[QueryKind, str] = {
            "semantic": f"when is my visit to the {para} in {month}",
            "mixed": f"{spec} appointment {month} moved",
        }
        return {
            "kind": "medical",
            "subject": "Your appointment",
            "outsider": person,
            "opening": [("them", text)],
            "fact": (f"appointment with {doctor} ({spec})", ("medical", spec, month), queries),
        }

    def _press(self, when: datetime) -> dict[str, object]:
        rng = self.rng
        paper = rng.choice(["Daily Ledger", "Handelsblatt Digital", "Tech Weekly"])
        person = self.person_of(paper)
        story, para = rng.choice(STORIES)
        text = (
            f"Dear Ms Lovelace,\n\nI'm writing a piece for {paper} about {story} and would love "
            "a short interview with you. Twenty minutes by phone would be enough; my deadline "
            f"is {rng.choice(WEEKDAYS)} noon."
        )
        queries: dict[QueryKind, str] = {
            "semantic": f"which reporter wanted to talk to me about {para}",
            "mixed": f"{paper} interview request {story}",
        }
        return {
            "kind": "press",
            "subject": "Interview request",
            "outsider": person,
            "opening": [("them", text)],
            "fact": (f"a piece for {paper} about {story}", ("press", story), queries),
        }

    def _order(self, when: datetime) -> dict[str, object]:
        rng = self.rng
        org = rng.choice(["Umbrella Office Supply", "Stark Printing", "Vandelay Imports"])
        person = self.person_of(org)
        po = self.unique(lambda: f"PO-{rng.randint(10000, 99999)}")
        qty = rng.randint(2, 40)
        item = rng.choice(["ergonomic chairs", "standing desks", "toner cartridges", "monitors"])
        body = (
            f"ORDER CONFIRMATION {org}\n\nPurchase order {po}\n{qty} x {item}\n"
            f"Delivery: week {rng.randint(1, 52)}\nPayment: 30 days net\n"
        )
        text = "Dear Ada,\n\nthank you for your order; the confirmation is attached."
        queries: dict[QueryKind, str] = {"exact": po}
        return {
            "kind": "order",
            "subject": f"Order confirmation {org}",
            "outsider": person,
            "opening": [("them", text)],
            "attachment": Attachment("order.txt", "text/plain", body.encode()),
            "fact": (f"Purchase order {po}", ("order", po), queries),
        }

    def _german(self, when: datetime) -> dict[str, object]:
        rng = self.rng
        person = self.person_of(rng.choice(["Kastanie Steuerberatung", "Greenleaf Plant Care"]))
        ref = self.unique(lambda: f"RE-{when.year}-{rng.randint(100, 999)}")
        text = (
            f"Sehr geehrte Frau Lovelace,\n\nanbei unsere Rechnung {ref} über "
            f"{self.money(90, 3000)} € für die Beratung im {MONTHS[when.month - 1]}. "
            "Bitte überweisen Sie den Betrag innerhalb von 14 Tagen. Für Rückfragen stehen wir "
            "Ihnen gerne zur Verfügung."
        )
        return {
            "kind": "german",
            "subject": f"Rechnung {ref} – Beratungsleistungen",
            "outsider": person,
            "lang": "de",
            "opening": [("them", text)],
            "fact": (f"Rechnung {ref}", ("german", ref), {"exact": ref}),
        }

    def _french(self, when: datetime) -> dict[str, object]:
        rng = self.rng
        person = self.person_of(rng.choice(["Le Petit Four Traiteur", "Atelier Lumière"]))
        ref = self.unique(lambda: f"FA-{rng.randint(10000, 99999)}")
        text = (
            f"Chère Madame Lovelace,\n\nveuillez trouver notre facture {ref} d'un montant de "
            f"{self.money(90, 3000)} € pour la séance photo réalisée à Paris. Le règlement est "
            "à effectuer sous trente jours. Bien cordialement."
        )
        return {
            "kind": "french",
            "subject": f"Facture {ref} – séance photo à l'atelier",
            "outsider": person,
            "lang": "fr",
            "opening": [("them", text)],
            "fact": (f"facture {ref}", ("french", ref), {"exact": ref}),
        }

    # ------------------------------------------------------------ bad input
    def bad(self, reason: str, when: datetime) -> None:
        person = self.person_of()
        mid = self.new_id(person[1].split("@")[1])
        mail = Mail(
            message_id=mid,
            thread_id=mid,
            sender=(person[0], person[1]),
            to=[PRINCIPAL],
            subject=f"Scan {self.serial}",
            date=when,
            text="Please see the attached document.",
            bad=reason,
        )
        if reason == "unknown charset":
            mail.charset = "x-unknown-2026"
            mail.text = "Bitte beachten: die Lieferung kommt später. Grüße"
        elif reason == "no headers":
            mail.text = "garbage line without any header\nmore garbage"
        elif reason == "big text attachment":
            line = "2026-03-01T12:00:00Z INFO backup job finished without errors\n"
            mail.attachments.append(Attachment("backup.log", "text/plain", (line * 4000).encode()))
        elif reason == "huge attachment":
            data = random.Random(self.seed).randbytes(self.huge_bytes * 3 // 4)
            mail.attachments.append(Attachment("archive.zip", "application/zip", data))
        self.mails.append(mail)


BAD_KINDS = [
    "broken boundary",
    "unknown charset",
    "empty body",
    "no headers",
    "big text attachment",
]
"""Deliberately bad messages repeated through the archive (plus one huge attachment)."""


def generate(
    messages: int = 10_000, seed: int = 7, queries: int = 150, huge_bytes: int = HUGE_BYTES
) -> Corpus:
    """Generate an archive of about ``messages`` messages and up to ``queries`` labelled queries.

    Args:
        messages: How many messages (the last thread may stop early).
        seed: Everything follows from it: the same seed gives the same bytes.
        queries: How many queries to label (fewer when the facts run out).
        huge_bytes: Size of the one message with a huge attachment (0: none).

    Returns:
        The corpus.
    """
    gen = _Generator(seed, huge_bytes)
    rng = gen.rng
    # Half a percent of a large archive is deliberately bad; a small one still gets every kind.
    bad_every = max(20, min(200, messages // 12))
    at = START
    step = timedelta(days=650) / max(1, messages)
    huge_done = huge_bytes <= 0
    bad_done = 0
    while len(gen.mails) < messages:
        n = len(gen.mails)
        if (n + bad_every // 2) // bad_every > bad_done:
            gen.bad(BAD_KINDS[bad_done % len(BAD_KINDS)], at)
            bad_done += 1
            continue
        if not huge_done and n >= messages // 2:
            gen.bad("huge attachment", at)
            huge_done = True
            continue
        length = rng.choices(range(1, 9), weights=[25, 30, 18, 10, 7, 5, 3, 2])[0]
        length = min(length, messages - n)
        gen.thread(at, length)
        at += step * length
    del gen.mails[messages:]
    return Corpus(seed, gen.mails, _queries(gen, queries))


def _queries(gen: _Generator, wanted: int) -> list[Query]:
    """Pick queries whose labels are honest: every answer holds the fact, no other thread fits."""
    present = {m.message_id: m for m in gen.mails}
    facts = [f for f in gen.facts if f.message_id in present]
    keys = Counter(f.key for f in facts)
    rng = random.Random(gen.seed * 7919 + 1)
    by_topic: dict[str, list[_Fact]] = {}
    for f in facts:
        by_topic.setdefault(f.kind, []).append(f)
    for group in by_topic.values():
        rng.shuffle(group)
    topics = sorted(by_topic)
    rng.shuffle(topics)
    kinds: list[QueryKind] = ["exact", "semantic", "mixed"]
    out: list[Query] = []
    used: set[str] = set()

    def take(kind: QueryKind, topic: str) -> bool:
        for f in by_topic[topic]:
            if f.message_id in used or kind not in f.queries:
                continue
            if kind != "exact" and keys[f.key] > 1:
                continue  # another thread fits the description too: no honest single label
            if f.fact not in present[f.message_id].own_text():
                continue
            used.add(f.message_id)
            text = f.queries[kind]
            out.append(Query(f"q{len(out) + 1:03d}", kind, text, [f.message_id], f.fact, f.kind))
            return True
        return False

    # A third of the queries per kind, round robin over fact topics within a kind, so no
    # kind or topic dominates the score; a kind that runs out leaves its share to the others.
    for n, kind in enumerate(kinds):
        quota = (wanted - len(out)) // (len(kinds) - n)
        got, progress = 0, True
        while progress and got < quota:
            progress = False
            for topic in topics:
                if got < quota and take(kind, topic):
                    got += 1
                    progress = True
    return out


def main(argv: list[str] | None = None) -> int:
    """Write a corpus and its queries (``--help`` for options)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--messages", type=int, default=10_000, help="Messages in the archive.")
    ap.add_argument("--seed", type=int, default=7, help="Seed: same seed, same archive.")
    ap.add_argument("--queries", type=int, default=150, help="Labelled queries to write.")
    ap.add_argument("--out", type=Path, default=Path("corpus.mbox"), help="The mbox to write.")
    ap.add_argument("--no-huge", action="store_true", help="Leave out the 31 MB message.")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    corpus = generate(args.messages, args.seed, args.queries, 0 if args.no_huge else HUGE_BYTES)
    corpus.write_mbox(args.out)
    qpath = corpus.write_queries(args.out.with_suffix(".queries.jsonl"))
    took = time.perf_counter() - t0
    kinds = Counter(q.kind for q in corpus.queries)
    print(
        f"{len(corpus.mails)} messages -> {args.out} ({args.out.stat().st_size / 1e6:.1f} MB), "
        f"{len(corpus.queries)} queries -> {qpath} ({dict(kinds)}), {took:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
