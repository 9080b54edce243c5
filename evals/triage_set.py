# ruff: noqa: E501 - the templates are mostly message text, kept one phrase per line
"""A labelled set of incoming e-mail for measuring triage, generated from a seed.

Every item is one raw message (RFC 5322 bytes) of a consultant's inbox with
the label a careful human assistant would give it: ``urgent``,
``needs-response``, ``fyi``, ``promotional``, ``personal`` or ``phishing``.
Each item also carries its context, so the triage history can be rebuilt:
which senders are the principal's contacts (with their role) and which
Message-IDs the principal wrote (the threads she is in).

The messages come from several dozen templates (invoices, meeting requests,
calendar invitations, newsletters, shipping notices, auto-replies, bounces,
bank phishing with look-alike domains, display-name spoofing, deceptive links,
family mail, an urgent boss, client questions, cc'd threads, ...), each with
varied wording, names, headers (``Authentication-Results``, ``List-Id``,
``List-Unsubscribe``, ``Precedence``, ``Auto-Submitted``, ``Reply-To``,
``X-Spam-Flag``), plain and HTML bodies, German and French text, signatures
and quoted history. Items from templates marked ``hard`` are ambiguous on
purpose (wording that could go either way, no header that helps).

The labels describe the message, not what the rules happen to do.

Run ``python -m evals.triage_set`` for a summary, ``--out set.jsonl`` to write
the items as JSON lines for review.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from tools.foundation.principals import Principal
    from tools.triage import History, Incoming

LABELS: tuple[str, ...] = (
    "urgent",
    "needs-response",
    "fyi",
    "promotional",
    "personal",
    "phishing",
)
QUOTAS: dict[str, int] = {
    "urgent": 65,
    "needs-response": 80,
    "fyi": 85,
    "promotional": 70,
    "personal": 60,
    "phishing": 65,
}
DEFAULT_SEED = 11

TZ = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 9, 8, 30, tzinfo=TZ)
"""The morning the inbox is read (a Monday); 'today' in the mail means this day."""

ME = ("Ada Lovelace", "ada@lovelace-partners.com")
MY_DOMAIN = "lovelace-partners.com"
MX = "mx.lovelace-partners.com"

Person = tuple[str, str]

BOSS: Person = ("Charles Babbage", "charles.babbage@lovelace-partners.com")
COLLEAGUES: list[Person] = [
    ("Mary Somerville", "mary.somerville@lovelace-partners.com"),
    ("Omar Haddad", "omar.haddad@lovelace-partners.com"),
    ("Priya Shah", "priya.shah@lovelace-partners.com"),
    ("Jonas Becker", "jonas.becker@lovelace-partners.com"),
]
FAMILY: list[tuple[str, str, str]] = [
    ("William King", "will.king@posteo.de", "husband"),
    ("Anne Milbanke", "anne.milbanke@gmx.de", "mother"),
    ("Annabella King", "annabella.king@gmail.com", "daughter"),
    ("Byron King", "byron.king07@gmail.com", "son"),
]
CLIENTS = [
    ("Globex Consulting", "globex.com", "en"),
    ("Vandelay Imports", "vandelay.com", "en"),
    ("Soylent Foods", "soylent-foods.com", "en"),
    ("Cyberdyne Security", "cyberdyne-sec.com", "en"),
    ("Feinkost Brandt", "feinkost-brandt.de", "de"),
    ("Nordlicht Catering", "nordlicht-catering.de", "de"),
    ("Atelier Lumière", "atelier-lumiere.fr", "fr"),
    ("Le Petit Four Traiteur", "petitfour.fr", "fr"),
]
VENDORS = {
    "accountant": ("Kastanie Steuerberatung", "kastanie-stb.de"),
    "it": ("Initech IT Support", "initech.io"),
    "office": ("Umbrella Office Supply", "umbrella-office.com"),
    "print": ("Stark Printing", "stark-print.de"),
    "cloud": ("Hooli Cloud", "hooli.cloud"),
    "travel": ("Sunrise Travel", "sunrise-travel.com"),
    "landlord": ("Wayne Property Management", "wayne-properties.com"),
    "legal": ("Blue Harbour Legal", "blueharbour-legal.eu"),
}
PRESS = [("Daily Ledger", "dailyledger.news"), ("Handelsblatt Digital", "hb-digital.de")]
FREEMAIL = ["gmail.com", "gmx.de", "web.de", "posteo.de", "outlook.com", "icloud.com"]
FIRST = (
    "Dana Omar Priya Lukas Sofia Mateo Hannah Jonas Amelie Noah Clara Felix Leonie Elias "
    "Marie Paul Emma Ben Mia Luca Chloé Hugo Léa Louis Inès Jules Ava Oliver Isla George "
    "Freya Arthur Maya Ravi Yuki Kenji Amara Tomasz Zofia Nils Astrid Pedro Lucía Marco Giulia"
).split()
LAST = (
    "Fischer Weber Okafor Schneider Müller Dubois Martin Bernard Petit Rossi Bianchi Novak "
    "Kowalski Larsen Nielsen Andersson Costa Silva Murphy Kelly Walsh Patel Shah Tanaka Sato "
    "Haddad Nasser Becker Hoffmann Wagner Lefèvre Moreau Garcia López Jansen Brown Wilson"
).split()
TOPICS = [
    "pricing review", "market entry study", "cost-cutting programme", "supplier audit",
    "org redesign", "due diligence", "customer survey", "warehouse move", "ERP rollout",
    "brand refresh",
]  # fmt: skip
WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday".split()
SHOPS = [
    ("Umbrella Office Supply", "umbrella-office.com"),
    ("Bücherhaus Mitte", "buecherhaus-mitte.de"),
    ("Nordic Home", "nordichome.eu"),
    ("Kaffeerösterei Kranich", "kranich-kaffee.de"),
    ("GadgetHub", "gadgethub.com"),
]


# --------------------------------------------------------------------------- items


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


# --------------------------------------------------------------------------- rendering


@dataclass
class Draft:
    """What a template writes; :func:`render` turns it into bytes."""

    sender: Person
    subject: str
    text: str
    to: list[Person] = field(default_factory=lambda: [ME])
    cc: list[Person] = field(default_factory=list)
    html: str | None = None
    html_only: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    calendar: str = ""
    calendar_method: str = "REQUEST"
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)
    date: datetime = NOW
    message_id: str = ""
    sender_header: str = ""
    """A literal From header (for spoofed display names); empty = formatted sender."""


def _ascii(word: str) -> str:
    """A name as it appears in an address: lower case, no accents or spaces."""
    plain = unicodedata.normalize("NFKD", word.lower().replace("ß", "ss"))
    return "".join(c for c in plain if c.isascii() and c.isalnum())


def _addr(p: Person) -> str:
    return formataddr(p)


def render(d: Draft) -> bytes:
    """The draft as RFC 5322 bytes."""
    msg = EmailMessage(policy=policy.SMTP.clone(linesep="\n"))
    msg["From"] = d.sender_header or _addr(d.sender)
    msg["To"] = ", ".join(_addr(p) for p in d.to)
    if d.cc:
        msg["Cc"] = ", ".join(_addr(p) for p in d.cc)
    msg["Subject"] = d.subject
    msg["Date"] = format_datetime(d.date)
    msg["Message-ID"] = d.message_id
    if d.in_reply_to:
        msg["In-Reply-To"] = d.in_reply_to
        msg["References"] = " ".join(d.references or [d.in_reply_to])
    for name, value in d.headers.items():
        msg[name] = value
    if d.html_only and d.html is not None:
        msg.set_content(d.html, subtype="html")
    else:
        msg.set_content(d.text)
        if d.html is not None:
            msg.add_alternative(d.html, subtype="html")
    if d.calendar:
        if d.html is None and not d.attachments:
            msg.add_alternative(
                d.calendar, subtype="calendar", params={"method": d.calendar_method}
            )
        else:
            msg.add_attachment(
                d.calendar.encode(), maintype="text", subtype="calendar", filename="invite.ics"
            )
    for filename, ctype, data in d.attachments:
        main, _, sub = ctype.partition("/")
        msg.add_attachment(data, maintype=main, subtype=sub, filename=filename)
    # The email package draws boundaries at random; derive them so a seed gives the same bytes.
    tag = hashlib.sha1(d.message_id.encode()).hexdigest()[:20]
    for n, part in enumerate(p for p in msg.walk() if p.is_multipart()):
        part.set_boundary(f"=_{tag}_{n}")
    return msg.as_bytes()


def _bounce(g: Gen, lost_to: str, subject: str, lost_id: str, reason: str) -> bytes:
    """A delivery status notification (multipart/report) as an MTA writes it."""
    boundary = f"{g.rng.getrandbits(40):010x}.{g.rng.randint(1000, 9999)}/{MX}"
    mid = f"<{g.rng.getrandbits(48):012x}.{g.rng.randint(100, 999)}@{MX}>"
    date = format_datetime(g.when())
    return (
        f"Return-Path: <>\nFrom: Mail Delivery System <MAILER-DAEMON@{MX}>\n"
        f"To: {ME[1]}\nSubject: Undelivered Mail Returned to Sender\nDate: {date}\n"
        f"Message-ID: {mid}\nAuto-Submitted: auto-replied\nMIME-Version: 1.0\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\n'
        f"\nThis is a MIME-encapsulated message.\n\n--{boundary}\n"
        f"Content-Description: Notification\nContent-Type: text/plain; charset=us-ascii\n\n"
        f"This is the mail system at host {MX}.\n\nI'm sorry to have to inform you that your "
        f"message could not\nbe delivered to one or more recipients.\n\n"
        f"<{lost_to}>: {reason}\n\n--{boundary}\n"
        f"Content-Description: Delivery report\nContent-Type: message/delivery-status\n\n"
        f"Reporting-MTA: dns; {MX}\n\nFinal-Recipient: rfc822; {lost_to}\nAction: failed\n"
        f"Status: 5.1.1\nDiagnostic-Code: smtp; {reason}\n\n--{boundary}\n"
        f"Content-Description: Undelivered Message Headers\nContent-Type: text/rfc822-headers\n\n"
        f"From: {_addr(ME)}\nTo: {lost_to}\nSubject: {subject}\nMessage-ID: {lost_id}\n\n"
        f"--{boundary}--\n"
    ).encode()


# --------------------------------------------------------------------------- generator


Template = Callable[["Gen"], TriageItem]
_TEMPLATES: dict[str, list[tuple[str, Template, bool]]] = {label: [] for label in LABELS}


def template(label: str, hard: bool = False) -> Callable[[Template], Template]:
    """Register a template for a label (``hard``: its items are ambiguous on purpose)."""

    def register(fn: Template) -> Template:
        _TEMPLATES[label].append((fn.__name__.lstrip("_"), fn, hard))
        return fn

    return register


class Gen:
    """Random choices and building blocks shared by the templates."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.label = ""
        self.name = ""
        self.hard = False
        self.serial = 0

    # ---------------------------------------------------------------- choices
    def pick(self, seq: Any) -> Any:
        """One element."""
        return self.rng.choice(list(seq))

    def chance(self, p: float) -> bool:
        """True with probability p."""
        return self.rng.random() < p

    def when(self, hours: float = 60) -> datetime:
        """A moment in the last ``hours`` before the inbox is read."""
        return NOW - timedelta(minutes=self.rng.randint(3, int(hours * 60)))

    def name_(self) -> str:
        """A random full name."""
        return f"{self.pick(FIRST)} {self.pick(LAST)}"

    def person(self, domain: str | None = None, name: str | None = None) -> Person:
        """Someone at a domain (a free-mail one when none is given)."""
        full = name or self.name_()
        first, _, last = full.partition(" ")
        first_a, last_a = _ascii(first), _ascii(last)
        if domain is None:
            domain = self.pick(FREEMAIL)
            local = self.pick(
                [
                    f"{first_a}.{last_a}",
                    f"{first_a}{last_a[:1]}",
                    f"{first_a}_{last_a}{self.rng.randint(1, 99)}",
                ]
            )
        else:
            local = self.pick([f"{first_a}.{last_a}", f"{first_a[:1]}.{last_a}", first_a])
        return (full, f"{local}@{domain}")

    def client(self, lang: str | None = None) -> tuple[Person, str, str]:
        """A client contact: (person, organisation, language)."""
        pool = [c for c in CLIENTS if lang is None or c[2] == lang]
        org, domain, language = self.pick(pool)
        return self.person(domain), org, language

    def vendor(self, kind: str) -> tuple[Person, str, str]:
        """Someone at one of the principal's vendors: (person, organisation, domain)."""
        org, domain = VENDORS[kind]
        return self.person(domain), org, domain

    def mid(self, domain: str) -> str:
        """A Message-ID in one of the styles real mail programs use."""
        self.serial += 1
        r = self.rng.getrandbits(64)
        style = self.rng.randint(0, 3)
        if style == 0:
            return f"<{r:016x}.{self.serial}@{domain}>"
        if style == 1:
            return f"<CA+{r:016X}{self.serial:04d}w@mail.gmail.com>"
        if style == 2:
            return f"<AM9PR07MB{r % 10**10:010d}.{self.serial:05d}@AM9PR07MB.eurprd07.prod.outlook.com>"
        return f"<{self.serial:05d}-{r:x}@{domain}>"

    def my_mid(self) -> str:
        """A Message-ID of a message the principal wrote."""
        self.serial += 1
        return f"<ada.{self.serial:05d}.{self.rng.getrandbits(32):08x}@lovelace-partners.com>"

    def auth(self, domain: str, result: str = "pass", p: float = 0.75) -> dict[str, str]:
        """An Authentication-Results header (most legitimate mail carries one)."""
        if result == "pass" and not self.chance(p):
            return {}
        if result == "pass":
            dkim = spf = dmarc = "pass"
        elif result == "fail":
            dkim, spf, dmarc = self.pick(["none", "fail"]), "fail", "fail"
        else:  # softfail: spf fails, no dmarc policy
            dkim, spf, dmarc = "none", "softfail", "none"
        return {
            "Authentication-Results": (
                f"{MX}; dkim={dkim} header.d={domain}; spf={spf} smtp.mailfrom={domain}; "
                f"dmarc={dmarc} header.from={domain}"
            )
        }

    def bulk(self, domain: str, list_id: bool = False, precedence: bool = True) -> dict[str, str]:
        """Headers of a bulk sender."""
        h = {
            "List-Unsubscribe": f"<https://{domain}/unsubscribe?u={self.rng.getrandbits(40):x}>, "
            f"<mailto:unsubscribe@{domain}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
        if list_id:
            h["List-Id"] = f"<news.{domain}>"
        if precedence:
            h["Precedence"] = "bulk"
        return {**h, **self.auth(domain, p=0.95)}

    def sig(self, p: Person, org: str = "", title: str = "", lang: str = "en") -> str:
        """A signature block (or a short sign-off)."""
        first = p[0].split()[0]
        r = self.rng.random()
        if r < 0.45 and org:
            phone = f"+49 {self.rng.randint(30, 89)} {self.rng.randint(1000000, 9999999)}"
            role = title or self.pick(
                ["Project Lead", "Head of Operations", "CFO", "Managing Director", "Office Manager"]
            )
            return f"\n\n-- \n{p[0]}\n{role} | {org}\n{phone}"
        if r < 0.75:
            closing = {"de": "Viele Grüße", "fr": "Bien cordialement"}.get(
                lang, self.pick(["Best", "Thanks", "Kind regards", "Cheers"])
            )
            return f"\n\n{closing},\n{first}"
        if r < 0.85:
            return f"\n\n{first}\n\nSent from my iPhone"
        return f"\n\n{first}"

    def quote(self, text: str, date: datetime | None = None, lang: str = "en") -> str:
        """The principal's earlier message, quoted."""
        when = date or (NOW - timedelta(days=self.rng.randint(1, 6)))
        stamp = when.strftime("%a, %d %b %Y at %H:%M")
        head = {
            "de": f"Am {when:%d.%m.%Y} um {when:%H:%M} schrieb Ada Lovelace <{ME[1]}>:",
            "fr": f"Le {when:%d/%m/%Y} à {when:%H:%M}, Ada Lovelace <{ME[1]}> a écrit :",
        }.get(lang, f"On {stamp}, Ada Lovelace <{ME[1]}> wrote:")
        quoted = "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))
        return f"\n\n{head}\n{quoted}"

    def weekday(self) -> str:
        """A weekday name later this week."""
        return self.pick(WEEKDAYS[1:])

    def amount(self, lo: int, hi: int) -> str:
        """A money amount as written in mail."""
        return f"{self.rng.randint(lo, hi):,}.{self.pick(['00', '50', '80'])}"

    def ref(self, prefix: str) -> str:
        """A reference number."""
        return f"{prefix}-{self.rng.randint(2026000, 2026999)}"

    # ---------------------------------------------------------------- output
    def item(
        self,
        d: Draft,
        contacts: list[tuple[Person, str]] = (),  # type: ignore[assignment]
        wrote: list[str] = (),  # type: ignore[assignment]
        note: str = "",
        raw: bytes | None = None,
    ) -> TriageItem:
        """Finish a draft into a labelled item."""
        if not d.message_id:
            d.message_id = self.mid(d.sender[1].rpartition("@")[2])
        if d.date == NOW:
            d.date = self.when()
        return TriageItem(
            id="",
            label=self.label,
            template=self.name,
            raw=raw if raw is not None else render(d),
            contacts=[{"name": p[0], "email": p[1], "role": role} for p, role in contacts],
            wrote=list(wrote),
            hard=self.hard,
            note=note,
        )

    def html_page(
        self, paragraphs: list[str], button: tuple[str, str] | None = None, footer: str = ""
    ) -> str:
        """A marketing-style HTML body."""
        body = "".join(f'<p style="font-size:15px">{p}</p>' for p in paragraphs)
        if button:
            body += (
                f'<table><tr><td style="background:#0a66c2;padding:12px 24px">'
                f'<a href="{button[1]}" style="color:#fff">{button[0]}</a></td></tr></table>'
            )
        if footer:
            body += f'<p style="font-size:11px;color:#888">{footer}</p>'
        return (
            '<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
            f'<body style="font-family:Arial"><div style="max-width:600px">{body}</div></body></html>'
        )


def _ics(
    g: Gen,
    organiser: Person,
    summary: str,
    start: datetime,
    minutes: int = 60,
    method: str = "REQUEST",
    location: str = "",
) -> str:
    uid = f"{g.rng.getrandbits(64):016x}@{organiser[1].rpartition('@')[2]}"
    fmt = "%Y%m%dT%H%M%S"
    end = start + timedelta(minutes=minutes)
    status = "CANCELLED" if method == "CANCEL" else "CONFIRMED"
    attendee = "ACCEPTED" if method == "REPLY" else "NEEDS-ACTION"
    lines = [
        "BEGIN:VCALENDAR", "PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN",
        "VERSION:2.0", f"METHOD:{method}", "BEGIN:VEVENT", f"UID:{uid}",
        f"DTSTAMP:{NOW.astimezone(ZoneInfo('UTC')):%Y%m%dT%H%M%SZ}",
        f"DTSTART;TZID=Europe/Berlin:{start:{fmt}}", f"DTEND;TZID=Europe/Berlin:{end:{fmt}}",
        f"SUMMARY:{summary}", f"ORGANIZER;CN={organiser[0]}:mailto:{organiser[1]}",
        f"ATTENDEE;PARTSTAT={attendee};RSVP=TRUE;CN={ME[0]}:mailto:{ME[1]}",
        f"LOCATION:{location or 'Microsoft Teams'}", f"STATUS:{status}", "END:VEVENT", "END:VCALENDAR",
    ]  # fmt: skip
    return "\r\n".join(lines) + "\r\n"


def _future(g: Gen, days: tuple[int, int] = (1, 9)) -> datetime:
    day = NOW + timedelta(days=g.rng.randint(*days))
    return day.replace(hour=g.pick([9, 10, 11, 14, 15, 16]), minute=g.pick([0, 30]), second=0)


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


# =========================================================================== urgent


@template("urgent")
def _boss_sign_today(g: Gen) -> TriageItem:
    client = g.pick(CLIENTS)[0]
    subject = g.pick([
        f"URGENT: {client} contract needs your signature today",
        f"Urgent – {client} SOW signature by 5pm",
        f"{client}: signature needed today",
    ])  # fmt: skip
    text = g.pick([
        f"Ada,\n\n{client} legal finally approved the SOW. They need it signed back by 17:00 today "
        "or the start date slips a month. It's in DocuSign from their side, check your inbox.",
        f"Ada, the {client} contract has to be countersigned before end of day – their CFO "
        "leaves tonight for two weeks. Can you do it before lunch?",
    ]) + "\n\nCharles"  # fmt: skip
    d = Draft(BOSS, subject, text, headers=g.auth(MY_DOMAIN))
    return g.item(d, [(BOSS, "colleague")])


@template("urgent")
def _client_outage(g: Gen) -> TriageItem:
    p, org, _ = g.client("en")
    subject = g.pick([
        "Checkout failing since 7:40 – need help",
        "Our reporting dashboard is down before the board meeting",
        "Data export broken – board pack due at noon",
        "Production issue after last night's change",
    ])  # fmt: skip
    text = (
        f"Hi Ada,\n\n{g.pick(['Since this morning', 'Since about 7:40', 'For the last hour'])} "
        f"{g.pick(['the pricing model your team delivered throws errors', 'the new report shows no data', 'nobody here can open the forecast workbook'])}. "
        f"Our board meets at {g.pick(['11', '12', '14'])}:00 and we need the numbers. "
        f"{g.pick(['Can someone look at it right away?', 'Please call me as soon as you see this.', 'Who on your side can jump on this immediately?'])}"
        + g.sig(p, org)
    )
    d = Draft(p, subject, text, headers=g.auth(p[1].split("@")[1]))
    return g.item(d, [(p, "client")])


@template("urgent")
def _legal_deadline_de(g: Gen) -> TriageItem:
    p, org, dom = g.vendor("legal")
    subject = g.pick([
        "Fristablauf heute: Stellungnahme zur Abmahnung",
        "Dringend: Unterschrift Vergleich bis heute 16 Uhr",
        "Eilt – Frist Landgericht morgen 10:00",
    ])  # fmt: skip
    text = (
        "Sehr geehrte Frau Lovelace,\n\nwie besprochen läuft die Frist "
        f"{g.pick(['heute um 16:00 Uhr', 'morgen früh um 10:00 Uhr', 'heute Abend'])} ab. Wir "
        "benötigen Ihre Freigabe des beigefügten Entwurfs, sonst können wir die Stellungnahme "
        "nicht fristgerecht einreichen. Bitte melden Sie sich telefonisch."
        + g.sig(p, org, "Rechtsanwältin", "de")
    )
    d = Draft(
        p,
        subject,
        text,
        headers=g.auth(dom),
        attachments=[("Entwurf_Stellungnahme.pdf", "application/pdf", PDF)],
    )
    return g.item(d, [(p, "vendor")])


@template("urgent")
def _final_payment_notice(g: Gen) -> TriageItem:
    kind = g.pick(["cloud", "office", "print"])
    p, org, dom = g.vendor(kind)
    inv = g.ref("INV")
    subject = g.pick([
        f"Final notice: {inv} overdue – service suspension tomorrow",
        f"Letzte Mahnung {inv} – Sperrung ab morgen",
        f"{inv}: payment overdue, account will be suspended",
    ])  # fmt: skip
    text = (
        f"Dear Ms Lovelace,\n\ndespite two reminders, invoice {inv} over EUR {g.amount(800, 9000)} "
        f"is still open (due {NOW - timedelta(days=g.rng.randint(20, 45)):%d %B}). If we do not "
        "receive payment by tomorrow 12:00, we will have to suspend your account and hand the "
        "claim to our collection agency.\n\nIf you have already paid, please disregard this notice."
        + g.sig(p, org, "Accounts Receivable")
    )
    d = Draft(p, subject, text, headers=g.auth(dom))
    return g.item(d, [(p, "vendor")], note="a payment deadline within a day: urgent")


@template("urgent")
def _boss_call_me(g: Gen) -> TriageItem:
    subject = g.pick(
        [
            "call me asap",
            "Need 5 min before 11",
            "Ruf mich bitte sofort an",
            "Quick – before the board call",
        ]
    )
    text = g.pick([
        "Need 5 minutes with you before the board call at 11. Vandelay pulled out of the renewal.",
        "Call me as soon as you see this. The Globex numbers in the deck are wrong and it goes out at 10.",
        "Bitte ruf mich sofort an – Soylent will das Projekt heute stoppen.",
    ]) + "\n\nC."  # fmt: skip
    d = Draft(BOSS, subject, text, headers=g.auth(MY_DOMAIN))
    return g.item(d, [(BOSS, "colleague")])


@template("urgent")
def _meeting_moved_today(g: Gen) -> TriageItem:
    p = g.pick(COLLEAGUES)
    client = g.pick(CLIENTS)[0]
    hour = g.pick(["13:00", "14:00", "15:30", "11:30"])
    subject = g.pick(
        [
            f"{client} meeting moved to {hour} today",
            f"Change: {client} workshop now {hour}",
            "Room + time change for this afternoon",
        ]
    )
    text = (
        f"Hi Ada,\n\n{client} just called: they need to move our meeting to {hour} today, and it's "
        f"now in {g.pick(['room 3.07', 'the Orion room', 'their office at Torstraße'])}. "
        "I've told them you'll be there unless I hear otherwise in the next hour."
        + g.sig(p, "Lovelace Partners")
    )
    d = Draft(p, subject, text, headers=g.auth(MY_DOMAIN))
    return g.item(d, [(p, "colleague")])


@template("urgent")
def _press_quote_today(g: Gen) -> TriageItem:
    outlet, dom = g.pick(PRESS)
    p = g.person(dom)
    subject = g.pick([
        "Quote needed by 4pm for tomorrow's piece",
        "Deadline 15:00 – your comment on the Vandelay insolvency",
        "Re: our interview – one fact check before we go to print tonight",
    ])  # fmt: skip
    text = (
        f"Dear Ada,\n\nwe're running a piece on {g.pick(TOPICS)}s in mid-sized firms in "
        f"tomorrow's edition. Could you give me two sentences on the record by "
        f"{g.pick(['4pm', '15:00', 'early afternoon'])} today? After that the page is closed."
        + g.sig(p, outlet, "Business Reporter")
    )
    d = Draft(p, subject, text, headers=g.auth(dom))
    return g.item(d, [(p, "press")])


@template("urgent")
def _family_emergency(g: Gen) -> TriageItem:
    who = g.pick([f for f in FAMILY if f[2] in ("husband", "daughter")])
    p = (who[0], who[1])
    subject = g.pick(
        [
            "Mum fell – we're at the Charité",
            "Byron hurt at football, we're at A&E",
            "Anne im Krankenhaus",
            "Please call me",
        ]
    )
    text = g.pick([
        "Ada, your mum fell on the stairs this morning. We're in the emergency department at the "
        "Charité, they're doing an X-ray now. Can you come? Phone battery almost dead.",
        "Byron twisted his knee badly at practice, we're at the children's A&E. He's fine but "
        "asking for you. Call me when you can.",
        "Deine Mutter ist heute früh ins Krankenhaus gekommen, sie ist stabil. Ruf mich bitte an, "
        "sobald du das liest.",
    ]) + f"\n\n{p[0].split()[0]}"  # fmt: skip
    d = Draft(p, subject, text, headers=g.auth(p[1].split("@")[1]))
    return g.item(d, [(p, "family")], note="a family emergency: urgent rather than personal")


@template("urgent")
def _school_child_sick(g: Gen) -> TriageItem:
    p = ("Sekretariat Grundschule am Kollwitzplatz", "sekretariat@gs-kollwitzplatz.de")
    subject = g.pick(
        [
            "Ihr Kind Byron – bitte abholen",
            "Byron ist krank – Abholung erbeten",
            "Krankmeldung: Byron King (4b)",
        ]
    )
    text = (
        "Sehr geehrte Frau Lovelace,\n\nByron klagt seit der zweiten Stunde über Bauchschmerzen "
        f"und hat {g.pick(['38,5', '38,9', '39,1'])} Fieber. Bitte holen Sie ihn so bald wie möglich "
        "im Sekretariat ab. Ihr Mann ist telefonisch nicht erreichbar.\n\nMit freundlichen Grüßen\n"
        "Frau Okafor, Sekretariat"
    )
    d = Draft(p, subject, text, headers=g.auth("gs-kollwitzplatz.de"))
    return g.item(d, [])


@template("urgent")
def _it_security_incident(g: Gen) -> TriageItem:
    p, org, dom = g.vendor("it")
    subject = g.pick([
        "Security incident: your mailbox forwarded mail to an external address",
        "Action required today: compromised laptop LP-0117",
        "Ransomware alert on the file server – do not open shared drive",
    ])  # fmt: skip
    text = (
        "Hi Ada,\n\nour monitoring flagged "
        f"{g.pick(['a rule forwarding all your mail to an outside address, created last night', 'malware on laptop LP-0117 (yours)', 'encrypted files appearing on the shared drive'])}. "
        "We've contained it for now, but we need you on a call within the next hour to decide on "
        "the next steps (and whether the clients must be told). I'm at +49 30 5550117."
        + g.sig(p, org, "Security Engineer")
    )
    d = Draft(p, subject, text, headers=g.auth(dom, p=1.0))
    return g.item(d, [(p, "vendor")])


@template("urgent")
def _flight_cancelled(g: Gen) -> TriageItem:
    flight = f"SK{g.rng.randint(100, 2999)}"
    p = ("Skyway Airlines", "no-reply@skyway.aero")
    subject = g.pick(
        [
            f"Your flight {flight} today has been cancelled",
            f"Flight {flight}: cancellation and rebooking options",
            f"Important: {flight} to Lisbon cancelled",
        ]
    )
    text = (
        f"Dear Ms Lovelace,\n\nwe regret to inform you that flight {flight} from Berlin (BER) "
        f"to {g.pick(['Lisbon', 'Paris', 'Vienna', 'Madrid'])} today at {g.pick(['13:05', '15:40', '18:20'])} "
        "has been cancelled due to operational reasons. You have been provisionally rebooked on "
        "tomorrow's 07:10 flight. Please confirm or choose another option in Manage Booking "
        "before 14:00 today, otherwise the seat will be released.\n\nSkyway Airlines Customer Care"
    )
    d = Draft(
        p,
        subject,
        text,
        headers={**g.auth("skyway.aero", p=1.0), "Auto-Submitted": "auto-generated"}
        if g.chance(0.5)
        else g.auth("skyway.aero", p=1.0),
    )
    return g.item(d, [], note="machine-sent, but today's flight and a noon deadline: urgent")


@template("urgent")
def _client_urgent_fr(g: Gen) -> TriageItem:
    p, org, _ = g.client("fr")
    subject = g.pick(
        [
            "Urgent : livraison bloquée à la douane",
            "URGENT – présentation au comité demain 8h",
            "Besoin de vous aujourd'hui",
        ]
    )
    text = (
        "Bonjour Ada,\n\n"
        + g.pick([
            "notre livraison est bloquée à la douane depuis ce matin et le client final menace d'annuler. ",
            "le comité de direction a avancé la présentation à demain 8h. ",
            "notre directeur veut une réponse sur le budget avant ce soir. ",
        ])
        + "Pouvez-vous m'appeler dès que possible ?" + g.sig(p, org, lang="fr")
    )  # fmt: skip
    d = Draft(p, subject, text, headers=g.auth(p[1].split("@")[1]))
    return g.item(d, [(p, "client")])


@template("urgent")
def _accountant_tax_office(g: Gen) -> TriageItem:
    p, org, dom = g.vendor("accountant")
    subject = g.pick(
        [
            "Finanzamt: Unterlagen bis morgen 10 Uhr",
            "Betriebsprüfung – heute noch Rückmeldung nötig",
            "Umsatzsteuer-Voranmeldung: Frist heute",
        ]
    )
    text = (
        "Hallo Frau Lovelace,\n\ndas Finanzamt hat kurzfristig "
        f"{g.pick(['die Belege zur Reisekostenabrechnung 2025', 'die Verträge mit Globex', 'die Kontoauszüge Dezember'])} "
        "angefordert. Die Frist endet morgen um 10 Uhr. Ohne Ihre Unterlagen droht ein "
        "Verspätungszuschlag. Können Sie mir die Dokumente heute noch schicken?"
        + g.sig(p, org, "Steuerberater", "de")
    )
    d = Draft(p, subject, text, headers=g.auth(dom))
    return g.item(d, [(p, "vendor")])


@template("urgent")
def _blocked_driveway(g: Gen) -> TriageItem:
    p = g.person()
    subject = g.pick(
        [
            "Your car is blocking our garage",
            "Blue Volvo B-AL 1815 – please move it",
            "Ihr Auto blockiert die Einfahrt",
        ]
    )
    text = (
        f"Hello,\n\nthe reception gave me your address. Your car (B-AL 1815) is blocking the "
        f"garage exit at {g.pick(['Friedrichstraße 12', 'Torstraße 40', 'Linienstraße 7'])} and "
        "our delivery van cannot leave. Please move it right now, otherwise we have to call the "
        f"towing service in 20 minutes.\n\n{p[0]}"
    )
    d = Draft(p, subject, text)
    return g.item(d, [], note="a stranger, but it needs action within minutes")


@template("urgent")
def _thread_today(g: Gen) -> TriageItem:
    p, org, _ = g.client("en")
    mine = g.my_mid()
    topic = g.pick(TOPICS)
    subject = g.pick(
        [
            f"Re: {topic} – final version today?",
            f"Re: {topic} proposal",
            f"RE: {topic}: board at 3pm",
        ]
    )
    text = (
        f"Ada,\n\nour board moved the decision on the {topic} to this afternoon at 3. We need the "
        f"final version {g.pick(['by 1pm today', 'before lunch', 'within the next two hours'])}, "
        "otherwise it waits until the next quarter."
        + g.sig(p, org)
        + g.quote(
            f"Dear {p[0].split()[0]},\n\nattached the draft for the {topic}. Final version "
            "follows this week.\n\nBest, Ada"
        )
    )
    d = Draft(p, subject, text, in_reply_to=mine, headers=g.auth(p[1].split("@")[1]))
    return g.item(d, [(p, "client")], [mine])


@template("urgent", hard=True)
def _monitoring_down(g: Gen) -> TriageItem:
    p = ("Uptime Monitor", "alerts@uptimebeacon.io")
    site = g.pick(
        ["lovelace-partners.com", "portal.lovelace-partners.com", "clients.lovelace-partners.com"]
    )
    subject = g.pick(
        [
            f"[DOWN] {site} is not responding",
            f"Alert: {site} down for 25 minutes",
            f"🔴 {site} – HTTP 503",
        ]
    )
    text = (
        f"Monitor: {site}\nStatus: DOWN\nSince: {NOW - timedelta(minutes=g.rng.randint(10, 50)):%Y-%m-%d %H:%M} CET\n"
        "Reason: Connection timed out after 30 s (3 locations)\n\nYou will receive another "
        "e-mail when the site is back up.\n\n-- \nUptimeBeacon – manage alerts at https://uptimebeacon.io/account"
    )
    d = Draft(
        p,
        subject,
        text,
        headers={"Auto-Submitted": "auto-generated", **g.auth("uptimebeacon.io", p=1.0)},
    )
    return g.item(d, [], note="machine alert, but the firm's client portal is down: urgent (hard)")


@template("urgent", hard=True)
def _boss_terse_thread(g: Gen) -> TriageItem:
    mine = g.my_mid()
    client = g.pick(CLIENTS)[0]
    text = g.pick([
        f"Where are we on this? {client} is on the phone with me right now.",
        f"Still nothing from you on this. I'm walking into the {client} meeting in 20 minutes.",
        "Did this go out? They say they have nothing.",
    ]) + "\n\nC."  # fmt: skip
    text += g.quote(f"Charles, I'll send {client} the revised numbers this morning.\n\nAda")
    d = Draft(BOSS, f"Re: {client} numbers", text, in_reply_to=mine, headers=g.auth(MY_DOMAIN))
    return g.item(
        d,
        [(BOSS, "colleague")],
        [mine],
        note="no urgent word, but the boss is on the phone with the client now",
    )


@template("urgent", hard=True)
def _bank_card_blocked(g: Gen) -> TriageItem:
    p = ("Nordbank Kartenservice", "kartenservice@nordbank.de")
    amount = g.amount(900, 4000)
    subject = g.pick(
        [
            f"Karte vorsorglich gesperrt – Umsatz über {amount} EUR",
            "Your business card was blocked after an unusual payment",
        ]
    )
    text = (
        "Sehr geehrte Frau Lovelace,\n\nwir haben heute eine ungewöhnliche Zahlung über "
        f"{amount} EUR an einen Händler in Singapur abgelehnt und Ihre Firmenkreditkarte "
        "(endet auf 4417) vorsorglich gesperrt. Bitte rufen Sie unsere Sperrhotline unter der "
        "Nummer auf der Rückseite Ihrer Karte an. Wir fragen Sie niemals per E-Mail nach "
        "PIN oder Passwort.\n\nIhre Nordbank"
    )
    d = Draft(p, subject, text, headers=g.auth("nordbank.de", p=1.0))
    return g.item(
        d,
        [],
        note="a real bank alert (authenticated, no link, asks to call the number on the card)",
    )


@template("urgent")
def _boss_german_eilt(g: Gen) -> TriageItem:
    client = g.pick(CLIENTS)[0]
    subject = g.pick(
        [
            f"Eilt: Angebot {client} muss heute raus",
            f"DRINGEND: {client} wartet auf Rückruf",
            f"Heute noch: Freigabe {client}",
        ]
    )
    text = (
        f"Hallo Ada,\n\n{client} braucht das Angebot heute bis 15 Uhr, sonst geht der Auftrag an "
        "die Konkurrenz. Ich habe die Zahlen im Ordner abgelegt – bitte gib frei oder ruf mich an."
        "\n\nGruß\nCharles"
    )
    d = Draft(BOSS, subject, text, headers=g.auth(MY_DOMAIN))
    return g.item(d, [(BOSS, "colleague")])


@template("urgent")
def _office_water_leak(g: Gen) -> TriageItem:
    p, org, dom = g.vendor("landlord")
    subject = g.pick(
        [
            "Water leak in your office – access needed now",
            "Wasserschaden 3. OG – Zugang sofort erforderlich",
            "Fire alarm test failed – evacuation check this morning",
        ]
    )
    text = (
        "Dear Ms Lovelace,\n\nwater is coming through the ceiling of the floor below your "
        "office. The plumber is on site and needs access to your kitchen within the hour. "
        "Nobody from your team has answered the phone. Please send someone with a key as soon as possible."
        + g.sig(p, org, "Facility Manager")
    )
    d = Draft(p, subject, text, headers=g.auth(dom))
    return g.item(d, [(p, "vendor")])


@template("urgent")
def _client_contract_today_unknown(g: Gen) -> TriageItem:
    org, dom, _ = g.pick(CLIENTS[:4])
    p = g.person(dom)
    subject = g.pick(
        [
            "Signed NDA needed before today's 2pm call",
            "Today: we need your insurance certificate before you start",
            "Access badges – list needed by noon",
        ]
    )
    text = (
        f"Hello Ada,\n\nI'm the new procurement lead at {org}. Before {g.pick(['our call at 2pm today', 'your team arrives this afternoon', 'noon today'])} "
        "we need the signed document from your side, otherwise security will not let your "
        "consultants in. Could you send it right away?" + g.sig(p, org, "Procurement Lead")
    )
    d = Draft(p, subject, text, headers=g.auth(dom))
    return g.item(d, [], note="a new person at a client: not yet a contact")


# =========================================================================== needs-response


@template("needs-response")
def _client_question(g: Gen) -> TriageItem:
    p, org, _ = g.client("en")
    topic = g.pick(TOPICS)
    subject = g.pick(
        [
            f"Question on the {topic} proposal",
            f"{topic}: scope of phase 2",
            "Quick question about your invoice",
            f"{topic} – team for April?",
        ]
    )
    text = (
        f"Hi Ada,\n\nthanks for the proposal on the {topic}. "
        + g.pick([
            "Does the fixed fee include travel, or is that billed separately?",
            "Could you tell me who from your team would lead the workshops?",
            "Would it be possible to split phase 2 into two smaller steps?",
            "Can you confirm the day rate for the junior consultants?",
        ])
        + g.pick(["", " No rush – sometime this week is fine.", " We'd like to decide by end of month."])
        + g.sig(p, org)
    )  # fmt: skip
    d = Draft(p, subject, text, headers=g.auth(p[1].split("@")[1]))
    return g.item(d, [(p, "client")])


@template("needs-response")
def _meeting_request(g: Gen) -> TriageItem:
    who = g.pick(["client", "colleague", "vendor"])
    if who == "client":
        p, org, _ = g.client()
    elif who == "colleague":
        p, org = g.pick(COLLEAGUES), "Lovelace Partners"
    else:
        p, org, _ = g.vendor(g.pick(["print", "travel", "it"]))
    day = g.weekday()
    subject = g.pick(
        [f"Call on {day}?", "Catch-up next week", f"30 minutes {day} afternoon?", "Meeting request"]
    )
    text = (
        f"Hi Ada,\n\n{g.pick(['are you free', 'would you have time', 'could we find half an hour'])} "
        f"on {day} at {g.pick(['10', '11', '14', '16'])}:00 to go through "
        f"{g.pick(['the next steps', 'the renewal', 'the open points from last week', 'the new timeline'])}? "
        "Happy to adapt if that does not suit." + g.sig(p, org)
    )
    d = Draft(p, subject, text, headers=g.auth(p[1].split("@")[1]))
    return g.item(d, [(p, who)])


@template("needs-response")
def _calendar_invite(g: Gen) -> TriageItem:
    known = g.chance(0.6)
    if known:
        p, _, _ = g.client()
    else:
        p = g.person(g.pick(["consulting-circle.de", "ihk-berlin.de", "digital-mittelstand.org"]))
    start = _future(g)
    summary = g.pick(
        [
            "Project steering committee",
            "Kick-off workshop",
            "Quarterly review",
            "Panel prep call",
            "Budget alignment",
        ]
    )
    subject = f"Invitation: {summary} @ {start:%a %d %b %Y %H:%M} (CET)"
    text = (
        f"{p[0]} has invited you to {summary}.\n\nWhen: {start:%A, %d %B %Y %H:%M} – "
        f"{start + timedelta(hours=1):%H:%M} (Europe/Berlin)\nWhere: Microsoft Teams\n\n"
        "Accept | Tentative | Decline"
    )
    d = Draft(
        p, subject, text, calendar=_ics(g, p, summary, start), headers=g.auth(p[1].split("@")[1])
    )
    return g.item(d, [(p, "client")] if known else [])


@template("needs-response")
def _review_request(g: Gen) -> TriageItem:
    p = g.pick(COLLEAGUES)
    client = g.pick(CLIENTS)[0]
    subject = g.pick(
        [
            f"Draft deck for {client} – your review",
            f"Please review: {client} final report",
            f"{client} proposal v3 for your comments",
        ]
    )
    text = (
        f"Hi Ada,\n\nattached the {g.pick(['draft deck', 'final report', 'proposal v3'])} for "
        f"{client}. Could you have a look before {g.weekday()}? Mainly the executive summary and "
        "the pricing page." + g.sig(p, "Lovelace Partners", "Senior Consultant")
    )
    d = Draft(
        p,
        subject,
        text,
        headers=g.auth(MY_DOMAIN),
        attachments=[(f"{client.split()[0]}_v3.pdf", "application/pdf", PDF)],
    )
    return g.item(d, [(p, "colleague")])


@template("needs-response")
def _vendor_quote_confirm(g: Gen) -> TriageItem:
    kind = g.pick(["print", "travel", "office"])
    p, org, dom = g.vendor(kind)
    thing = {
        "print": "500 brochures for the conference",
        "travel": "the hotel block in Lisbon",
        "office": "the new standing desks",
    }[kind]
    subject = g.pick([f"Quote for {thing}", f"Angebot: {thing}", "Your request – quote attached"])
    text = (
        f"Dear Ms Lovelace,\n\nplease find attached our quote for {thing} "
        f"(EUR {g.amount(400, 6000)} net). Please confirm by {g.weekday()} so that we can reserve "
        "the slot; after that we cannot guarantee the price." + g.sig(p, org)
    )
    d = Draft(
        p, subject, text, headers=g.auth(dom), attachments=[("Quote.pdf", "application/pdf", PDF)]
    )
    return g.item(d, [(p, "vendor")])


@template("needs-response")
def _journalist_interview(g: Gen) -> TriageItem:
    outlet, dom = g.pick(PRESS)
    p = g.person(dom)
    known = g.chance(0.5)
    subject = g.pick(
        [
            "Interview request: mid-sized firms and AI",
            "Anfrage: Interview für unsere Serie",
            "Would you comment for a feature next month?",
        ]
    )
    text = (
        f"Dear Ms Lovelace,\n\nI'm preparing a feature on {g.pick(TOPICS)}s for {outlet}, to "
        "appear next month. Would you be available for a 20-minute phone interview in the next "
        "two weeks? Happy to send questions in advance." + g.sig(p, outlet, "Reporter")
    )
    d = Draft(p, subject, text, headers=g.auth(dom))
    return g.item(d, [(p, "press")] if known else [])


@template("needs-response")
def _speaking_invite(g: Gen) -> TriageItem:
    p = g.person(g.pick(["pricing-summit.eu", "consulting-days.de", "women-in-strategy.org"]))
    event = g.pick(["Pricing Summit 2026", "Consulting Days Berlin", "Women in Strategy Forum"])
    subject = g.pick(
        [
            f"Speaker invitation: {event}",
            f"Would you speak at {event}?",
            f"Einladung als Rednerin: {event}",
        ]
    )
    text = (
        f"Dear Ada,\n\nI'm on the programme committee of {event} (June, Berlin). After your talk "
        "last autumn several people suggested you. Would you be willing to give a 25-minute "
        "talk on a pricing topic of your choice? We cover travel and hotel. Could you let me "
        "know by the end of the month?" + g.sig(p, event, "Programme Committee")
    )
    d = Draft(p, subject, text, headers=g.auth(p[1].split("@")[1]))
    return g.item(d, [])


@template("needs-response")
def _introduction(g: Gen) -> TriageItem:
    friend, org, _ = g.client()
    newbie = g.person(g.pick(["startup-hub.io", "brightpath.de", "kleinwerk.com"]))
    subject = g.pick(
        [
            f"Intro: {newbie[0]} <> Ada",
            f"Introduction – {newbie[0].split()[0]} / Ada",
            "Connecting you two",
        ]
    )
    text = (
        f"Ada, {newbie[0].split()[0]} – connecting you as promised.\n\n{newbie[0].split()[0]} runs "
        "operations at a 60-person manufacturer and is looking for help with their pricing. "
        f"Ada is the best person I know for that.\n\nI'll let you two take it from here."
        + g.sig(friend, org)
    )
    d = Draft(friend, subject, text, cc=[newbie], headers=g.auth(friend[1].split("@")[1]))
    return g.item(
        d, [(friend, "client")], note="an introduction: the principal is expected to reply"
    )


@template("needs-response")
def _thread_question(g: Gen) -> TriageItem:
    p, org, lang = g.client()
    mine = g.my_mid()
    topic = g.pick(TOPICS)
    ask = {
        "en": g.pick(
            [
                "Which of the two dates works better for you?",
                "Shall we include the Hamburg site as well?",
                "Do you need anything else from us before you start?",
            ]
        ),
        "de": g.pick(
            [
                "Passt Ihnen der Dienstag oder eher der Donnerstag?",
                "Sollen wir den Standort Hamburg mit aufnehmen?",
            ]
        ),
        "fr": g.pick(
            [
                "Quelle date vous convient le mieux ?",
                "Avez-vous besoin d'autre chose de notre part ?",
            ]
        ),
    }[lang]
    greet = {
        "en": f"Hi Ada,\n\nthanks for the summary. {ask}",
        "de": f"Hallo Frau Lovelace,\n\ndanke für die Zusammenfassung. {ask}",
        "fr": f"Bonjour Ada,\n\nmerci pour le résumé. {ask}",
    }[lang]
    text = (
        greet
        + g.sig(p, org, lang=lang)
        + g.quote(
            f"Hello {p[0].split()[0]},\n\nhere is the summary of our {topic} meeting.\n\nBest regards,\nAda",
            lang=lang,
        )
    )
    d = Draft(
        p, f"Re: {topic} – summary", text, in_reply_to=mine, headers=g.auth(p[1].split("@")[1])
    )
    return g.item(d, [(p, "client")] if g.chance(0.6) else [], [mine])


@template("needs-response")
def _client_question_de(g: Gen) -> TriageItem:
    p, org, _ = g.client("de")
    subject = g.pick(
        [
            "Rückfrage zum Angebot",
            "Frage zu Ihrem Workshop-Konzept",
            "Terminvorschlag für das Auftaktgespräch",
        ]
    )
    text = (
        "Sehr geehrte Frau Lovelace,\n\n"
        + g.pick([
            "könnten Sie uns bitte bis Freitag ein überarbeitetes Angebot ohne Phase 3 schicken?",
            "wir hätten noch eine Frage zum Workshop: Können auch Teilnehmende aus Wien online dazukommen?",
            "wann hätten Sie in der nächsten Woche Zeit für ein Auftaktgespräch?",
        ])
        + g.sig(p, org, lang="de")
    )  # fmt: skip
    d = Draft(p, subject, text, headers=g.auth(p[1].split("@")[1]))
    return g.item(d, [(p, "client")])


@template("needs-response")
def _client_question_fr(g: Gen) -> TriageItem:
    p, org, _ = g.client("fr")
    subject = g.pick(
        ["Question sur votre proposition", "Demande de rendez-vous", "Votre facture de février"]
    )
    text = (
        "Bonjour Madame Lovelace,\n\n"
        + g.pick([
            "pourriez-vous nous envoyer le détail des jours prévus pour la phase 2 ?",
            "seriez-vous disponible la semaine prochaine pour un point téléphonique ?",
            "nous n'arrivons pas à rapprocher votre facture de février de notre bon de commande. Pouvez-vous vérifier le numéro ?",
        ])
        + g.sig(p, org, lang="fr")
    )  # fmt: skip
    d = Draft(p, subject, text, headers=g.auth(p[1].split("@")[1]))
    return g.item(d, [(p, "client")])


@template("needs-response")
def _accountant_documents(g: Gen) -> TriageItem:
    p, org, dom = g.vendor("accountant")
    subject = g.pick(
        [
            "Belege Q4 noch offen",
            "Jahresabschluss 2025: fehlende Unterlagen",
            "Kurze Frage zur Reisekostenabrechnung",
        ]
    )
    text = (
        "Hallo Frau Lovelace,\n\nfür den Jahresabschluss fehlen uns noch "
        f"{g.pick(['die Belege zu den Bewirtungen im Dezember', 'der Leasingvertrag für den Dienstwagen', 'die Rechnung von Stark Printing'])}. "
        f"Können Sie uns diese bis zum {g.rng.randint(18, 31)}. März schicken?"
        + g.sig(p, org, "Steuerberater", "de")
    )
    d = Draft(p, subject, text, headers=g.auth(dom))
    return g.item(d, [(p, "vendor")])


@template("needs-response")
def _new_lead(g: Gen) -> TriageItem:
    org = g.pick(["Brightpath Logistics", "Kleinwerk GmbH", "Havel Brewing Co.", "Marin Textiles"])
    p = g.person(org.lower().split()[0] + g.pick([".de", ".com", ".eu"]))
    subject = g.pick(
        [
            "Consulting enquiry – pricing project",
            "Anfrage Beratung",
            "Do you have capacity in April?",
            "Referral from Dana Fischer",
        ]
    )
    text = (
        f"Dear Ms Lovelace,\n\nI'm the managing director of {org}. We're reviewing our price "
        "list for the first time in six years and a former colleague recommended you. Would you "
        "have capacity for a six-week project starting in April, and what would a first "
        "conversation look like?" + g.sig(p, org, "Managing Director")
    )
    d = Draft(p, subject, text, headers=g.auth(p[1].split("@")[1]))
    return g.item(d, [], note="a prospective client: someone expects an answer")


@template("needs-response", hard=True)
def _doodle_poll(g: Gen) -> TriageItem:
    p = ("Charles Babbage via Doodle", "mailer@doodle.com")
    subject = g.pick(
        [
            "Charles Babbage invited you to a poll: Partner offsite 2026",
            "Reminder: vote for 'Q2 planning day'",
            "Abstimmung: Sommerfest-Termin",
        ]
    )
    text = (
        f"Hi Ada Lovelace,\n\nCharles Babbage has invited you to vote on dates for "
        f'"{g.pick(["Partner offsite 2026", "Q2 planning day", "Sommerfest"])}".\n\n'
        "Participate now: https://doodle.com/meeting/participate/id/bG9"
        + f"{g.rng.getrandbits(24):x}\n\n"
        "The poll closes on Friday.\n\nDoodle AG, Werdstrasse 21, 8021 Zürich"
    )
    d = Draft(
        p,
        subject,
        text,
        headers={"Auto-Submitted": "auto-generated", **g.auth("doodle.com", p=1.0)},
    )
    return g.item(d, [], note="machine-sent, but a colleague waits for her vote (hard)")


@template("needs-response")
def _contract_signature(g: Gen) -> TriageItem:
    p, org, _ = g.client()
    subject = g.pick(
        [
            "Countersigned agreement – one page missing",
            "Contract for signature",
            "Amendment no. 2 for your signature",
        ]
    )
    text = (
        f"Hi Ada,\n\nattached the {g.pick(['framework agreement', 'amendment', 'NDA'])} signed on our side. Could you sign "
        "page 4 and send a scan back when you get a chance? No rush, this week is fine."
        + g.sig(p, org)
    )
    d = Draft(
        p,
        subject,
        text,
        headers=g.auth(p[1].split("@")[1]),
        attachments=[("Agreement_signed.pdf", "application/pdf", PDF)],
    )
    return g.item(d, [(p, "client")])


@template("needs-response")
def _reference_request(g: Gen) -> TriageItem:
    p = g.person()
    subject = g.pick(
        ["Reference letter?", "Would you be a reference for me?", "Small favour – reference"]
    )
    text = (
        f"Dear Ada,\n\nI hope you remember me – I was a working student on the Globex project in "
        "2023. I'm applying for a strategy role at a bank and they ask for a reference. Would "
        f"you be willing to be contacted by them, or write a short letter?\n\nThank you!\n{p[0]}"
    )
    d = Draft(p, subject, text, headers=g.auth(p[1].split("@")[1]))
    return g.item(d, [(p, "other")] if g.chance(0.4) else [])


@template("needs-response")
def _client_html_question(g: Gen) -> TriageItem:
    p, org, _ = g.client("en")
    q = g.pick([
        "Can you send us the slides from Thursday's workshop?",
        "Would it be possible to add two more interviews in week 3?",
        "Could you recommend someone for the data migration part?",
    ])  # fmt: skip
    html = (
        '<html><body><div style="font-family:Calibri,sans-serif;font-size:11pt">'
        f"<p>Hi Ada,</p><p>{q}</p><p>Thanks a lot,<br>{p[0]}</p>"
        f'<p style="color:#777;font-size:9pt">{org} | This e-mail may contain confidential information.</p>'
        "</div></body></html>"
    )
    d = Draft(
        p,
        g.pick(["Workshop follow-up", "Small request", "Next steps"]),
        "",
        html=html,
        html_only=True,
        headers=g.auth(p[1].split("@")[1]),
    )
    return g.item(d, [(p, "client")])


@template("needs-response", hard=True)
def _cc_but_asked(g: Gen) -> TriageItem:
    p = g.pick(COLLEAGUES)
    client, org, _ = g.client("en")
    text = (
        f"Hi {client[0].split()[0]},\n\nthanks for the data. We'll run the analysis this week.\n\n"
        f"Ada – could you confirm the day rate we agreed for the extension? I don't have it in the file."
        + g.sig(p, "Lovelace Partners")
    )
    d = Draft(p, "Re: data delivery", text, to=[client], cc=[ME], headers=g.auth(MY_DOMAIN))
    return g.item(
        d,
        [(p, "colleague"), (client, "client")],
        note="in cc, but one line asks her directly (hard)",
    )


@template("needs-response")
def _job_application(g: Gen) -> TriageItem:
    p = g.person()
    subject = g.pick(
        [
            "Application: Junior Consultant",
            "Bewerbung als Werkstudentin",
            "Initiativbewerbung – Analyst",
        ]
    )
    text = (
        f"Dear Ms Lovelace,\n\nI'm writing to apply for the junior consultant position advertised "
        "on your website. I recently finished my master's in economics at HU Berlin and did an "
        "internship in pricing at a retailer. My CV and certificates are attached. I would be "
        f"glad to introduce myself in an interview.\n\nKind regards,\n{p[0]}"
    )
    d = Draft(
        p,
        subject,
        text,
        headers=g.auth(p[1].split("@")[1]),
        attachments=[("CV.pdf", "application/pdf", PDF)],
    )
    return g.item(d, [])


@template("needs-response")
def _landlord_appointment(g: Gen) -> TriageItem:
    p, org, dom = g.vendor("landlord")
    subject = g.pick(
        [
            "Annual fire safety inspection – appointment",
            "Heizungswartung: Terminabstimmung",
            "Window replacement – which week suits you?",
        ]
    )
    text = (
        "Dear Ms Lovelace,\n\nthe annual inspection of your office unit is due. Our technician "
        f"could come on {g.weekday()} morning or the following Monday. Which would suit you? "
        "Someone needs to be present for about an hour." + g.sig(p, org, "Property Manager")
    )
    d = Draft(p, subject, text, headers=g.auth(dom))
    return g.item(d, [(p, "vendor")])


@template("needs-response")
def _colleague_decision(g: Gen) -> TriageItem:
    p = g.pick(COLLEAGUES)
    subject = g.pick(
        ["Hiring: which candidate?", "Offsite venue – your pick", "Budget for the new CRM"]
    )
    text = (
        "Hi Ada,\n\n"
        + g.pick([
            "we've seen both candidates for the analyst role. I'd go with Leonie, Jonas prefers Felix. You have the final say – who should we make the offer to?",
            "I've shortlisted two venues for the offsite: Villa Borsig (EUR 4,200) and the Spreespeicher (EUR 3,100). Which one do you want?",
            "the CRM vendor wants an answer by next week. Shall I go ahead with the three-year licence?",
        ])
        + g.sig(p, "Lovelace Partners")
    )  # fmt: skip
    d = Draft(p, subject, text, headers=g.auth(MY_DOMAIN))
    return g.item(d, [(p, "colleague")])


# =========================================================================== fyi


@template("fyi")
def _shipping_notice(g: Gen) -> TriageItem:
    shop, dom = g.pick(SHOPS)
    p = (shop, g.pick([f"no-reply@{dom}", f"shipping@{dom}", f"versand@{dom}"]))
    order = g.ref("ORD")
    subject = g.pick(
        [
            f"Your order {order} has shipped",
            f"Ihre Bestellung {order} ist unterwegs",
            f"On its way: order {order}",
        ]
    )
    track = f"00340434{g.rng.randint(10**9, 10**10 - 1)}"
    text = (
        f"Hello Ada,\n\ngood news: your order {order} left our warehouse today.\n\n"
        f"Carrier: DHL\nTracking number: {track}\nExpected delivery: {g.weekday()}\n\n"
        f"Track your parcel: https://www.dhl.de/track?piececode={track}\n\nThanks for shopping with {shop}."
    )
    html = (
        g.html_page(
            ["Hello Ada,", f"Your order <b>{order}</b> has shipped.", f"Tracking number: {track}"],
            ("Track parcel", f"https://www.dhl.de/track?piececode={track}"),
            f"{shop} · customer service: service@{dom}",
        )
        if g.chance(0.6)
        else None
    )
    d = Draft(p, subject, text, html=html, headers=g.auth(dom, p=0.9))
    return g.item(d, [])


@template("fyi")
def _receipt(g: Gen) -> TriageItem:
    kind = g.pick(["cloud", "office"])
    p, org, dom = g.vendor(kind)
    p = (org + " Billing", f"billing@{dom}")
    inv = g.ref("R")
    subject = g.pick(
        [
            f"Receipt for your payment {inv}",
            f"Payment received – thank you ({inv})",
            f"Your {org} receipt",
        ]
    )
    text = (
        f"Hi Ada Lovelace,\n\nwe received your payment of EUR {g.amount(20, 900)} for invoice {inv}. "
        "No action is needed. The receipt is attached for your records.\n\n"
        f"{org}\n{g.pick(['Alexanderplatz 1, 10178 Berlin', '1 Market Street, Dublin 2'])}"
    )
    d = Draft(
        p,
        subject,
        text,
        headers=g.auth(dom, p=1.0),
        attachments=[(f"{inv}.pdf", "application/pdf", PDF)],
    )
    return g.item(d, [])


@template("fyi")
def _invoice_direct_debit(g: Gen) -> TriageItem:
    kind = g.pick(["accountant", "print", "it", "landlord"])
    p, org, dom = g.vendor(kind)
    inv = g.ref("RE")
    subject = g.pick(
        [f"Rechnung {inv}", f"Invoice {inv} – February", f"Ihre Rechnung für Februar 2026 ({inv})"]
    )
    text = g.pick([
        f"Sehr geehrte Frau Lovelace,\n\nanbei erhalten Sie unsere Rechnung {inv} über "
        f"{g.amount(200, 4000)} EUR. Der Betrag wird wie vereinbart per SEPA-Lastschrift eingezogen.",
        f"Dear Ms Lovelace,\n\nplease find attached invoice {inv} (EUR {g.amount(200, 4000)}), "
        "payable within 30 days to the account shown on the invoice.",
    ]) + g.sig(p, org, "Buchhaltung")  # fmt: skip
    d = Draft(
        p, subject, text, headers=g.auth(dom), attachments=[(f"{inv}.pdf", "application/pdf", PDF)]
    )
    return g.item(
        d,
        [(p, "vendor")] if g.chance(0.7) else [],
        note="an ordinary invoice: to file and pay, nobody waits for a reply",
    )


@template("fyi")
def _cc_thread(g: Gen) -> TriageItem:
    p = g.pick(COLLEAGUES)
    client, org, _ = g.client("en")
    subject = g.pick(
        [
            "Minutes – steering committee",
            "Re: interview schedule week 12",
            "Data room access",
            "Workshop photos",
        ]
    )
    text = (
        f"Hi {client[0].split()[0]},\n\n"
        + g.pick([
            "attached the minutes of yesterday's steering committee. Next meeting as planned in four weeks.",
            "the interview schedule for week 12 is final, see attached. Invitations go out today.",
            "you now have access to the data room. The folder structure follows the agreed index.",
        ])
        + g.sig(p, "Lovelace Partners")
    )  # fmt: skip
    d = Draft(p, subject, text, to=[client], cc=[ME, g.pick(COLLEAGUES)], headers=g.auth(MY_DOMAIN))
    return g.item(d, [(p, "colleague"), (client, "client")])


@template("fyi")
def _out_of_office(g: Gen) -> TriageItem:
    lang = g.pick(["en", "de", "fr"])
    if g.chance(0.5):
        p, org, _ = g.client(lang)
        role = "client"
    else:
        p, org, _ = g.vendor(g.pick(["print", "travel", "accountant"]))
        role = "vendor"
    mine = g.my_mid()
    subject, text = {
        "en": (
            f"Automatic reply: {g.pick(TOPICS)}",
            f"Thank you for your message. I am out of the office until {g.weekday()} with limited access to e-mail. For urgent matters please contact office@{p[1].split('@')[1]}.",
        ),
        "de": (
            f"Abwesenheitsnotiz: {g.pick(TOPICS)}",
            f"Vielen Dank für Ihre Nachricht. Ich bin bis einschließlich {g.weekday()} nicht im Büro. In dringenden Fällen wenden Sie sich bitte an info@{p[1].split('@')[1]}.",
        ),
        "fr": (
            f"Réponse automatique : {g.pick(TOPICS)}",
            "Bonjour, je suis absente du bureau jusqu'à lundi. Pour toute urgence, merci de contacter mon assistant.",
        ),
    }[lang]
    headers = (
        {"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"}
        if g.chance(0.8)
        else {}
    )
    d = Draft(p, subject, text, in_reply_to=mine, headers={**headers, **g.auth(p[1].split("@")[1])})
    return g.item(d, [(p, role)], [mine])


@template("fyi")
def _bounce_report(g: Gen) -> TriageItem:
    p, _, _ = g.client()
    lost = g.my_mid()
    subject = g.pick(["Re: proposal", "Invoice February", "Slides from Thursday"])
    reason = g.pick(
        ["550 5.1.1 User unknown", "552 5.2.2 Mailbox full", "550 5.7.1 Message rejected as spam"]
    )
    raw = _bounce(g, p[1], subject, lost, reason)
    d = Draft(("Mail Delivery System", f"MAILER-DAEMON@{MX}"), "", "")
    return g.item(
        d, [], [lost], raw=raw, note="a bounce: information that a message did not arrive"
    )


@template("fyi")
def _calendar_reply(g: Gen) -> TriageItem:
    p, org, _ = g.client()
    start = _future(g)
    summary = g.pick(["Project steering committee", "Interview round 2", "Quarterly review"])
    verb = g.pick(["Accepted", "Tentative"])
    text = f"{p[0]} has {verb.lower()} your invitation.\n"
    d = Draft(
        p,
        f"{verb}: {summary} @ {start:%a %d %b %Y %H:%M}",
        text,
        calendar=_ics(g, p, summary, start, method="REPLY"),
        calendar_method="REPLY",
        headers=g.auth(p[1].split("@")[1]),
    )
    return g.item(d, [(p, "client")])


@template("fyi")
def _calendar_cancel(g: Gen) -> TriageItem:
    p = g.pick(COLLEAGUES + [BOSS])
    start = _future(g)
    summary = g.pick(["Team weekly", "Pipeline review", "1:1 Ada / " + p[0].split()[0]])
    text = f"This meeting has been cancelled.\n\n{summary}\n{start:%A, %d %B %Y %H:%M}\n"
    d = Draft(
        p,
        f"Canceled: {summary}",
        text,
        calendar=_ics(g, p, summary, start, method="CANCEL"),
        calendar_method="CANCEL",
        headers=g.auth(MY_DOMAIN),
    )
    return g.item(d, [(p, "colleague")])


@template("fyi")
def _mailing_list_post(g: Gen) -> TriageItem:
    lst = g.pick(
        [
            ("pricing-practitioners", "lists.pricing-society.org"),
            ("bdu-mitglieder", "lists.bdu.de"),
            ("alumni-strategy", "groups.hu-alumni.de"),
        ]
    )
    p = g.person()
    subject = g.pick(
        [
            f"[{lst[0]}] Minutes of the March meetup",
            f"[{lst[0]}] Anyone using value-based pricing in B2B services?",
            f"[{lst[0]}] Slides from last week's session",
        ]
    )
    text = (
        f"Hi all,\n\n{g.pick(['the minutes of our March meetup are on the wiki.', 'I am collecting experiences with value-based pricing for a talk – replies welcome on list.', 'the slides of last week are now online, thanks to everyone who came.'])}\n\n"
        f"{p[0]}\n\n_______________________________________________\n{lst[0]} mailing list\n"
        f"https://{lst[1]}/mailman/listinfo/{lst[0]}"
    )
    headers = {
        "List-Id": f"{lst[0].title()} <{lst[0]}.{lst[1]}>",
        "List-Unsubscribe": f"<https://{lst[1]}/mailman/options/{lst[0]}>, <mailto:{lst[0]}-request@{lst[1]}?subject=unsubscribe>",
        "List-Post": f"<mailto:{lst[0]}@{lst[1]}>",
        "Precedence": "list",
        "Sender": f"{lst[0]}-bounces@{lst[1]}",
    }
    d = Draft(p, subject, text, to=[(lst[0], f"{lst[0]}@{lst[1]}")], headers=headers)
    return g.item(d, [])


@template("fyi")
def _ci_notification(g: Gen) -> TriageItem:
    repo = g.pick(
        [
            "lovelace-partners/pricing-model",
            "lovelace-partners/website",
            "lovelace-partners/client-portal",
        ]
    )
    p = ("GitHub", "notifications@github.com")
    n = g.rng.randint(12, 480)
    subject = g.pick(
        [
            f"Re: [{repo}] Update price elasticity notebook (PR #{n})",
            f"[{repo}] Run failed: CI - main ({g.rng.getrandbits(28):07x})",
            f"[{repo}] Release v1.{n % 20}.0",
        ]
    )
    text = f"{g.pick(COLLEAGUES)[0]} commented on this pull request.\n\nLooks good to me, merging after lunch.\n\n—\nReply to this email directly or view it on GitHub:\nhttps://github.com/{repo}/pull/{n}\nYou are receiving this because you were mentioned."
    headers = {
        "List-Id": f"{repo.split('/')[1]} <{repo.split('/')[1]}.lovelace-partners.github.com>",
        "List-Unsubscribe": f"<mailto:unsub+{g.rng.getrandbits(32):x}@reply.github.com>",
        "X-GitHub-Reason": "mention",
        **g.auth("github.com", p=1.0),
    }
    d = Draft(p, subject, text, headers=headers)
    return g.item(d, [])


@template("fyi")
def _thanks_received(g: Gen) -> TriageItem:
    p, org, lang = g.client()
    mine = g.my_mid()
    text = (
        {
            "en": g.pick(
                [
                    "Thanks Ada, received. We'll process it this week.",
                    "Perfect, thank you. All clear from our side.",
                    "Got it, thanks – I'll pass it on to finance.",
                ]
            ),
            "de": g.pick(["Vielen Dank, ist angekommen. Wir melden uns.", "Danke, alles klar."]),
            "fr": g.pick(["Merci Ada, bien reçu.", "Parfait, merci beaucoup."]),
        }[lang]
        + g.sig(p, org, lang=lang)
        + g.quote("Please find attached the signed documents.\n\nBest, Ada", lang=lang)
    )
    d = Draft(
        p,
        g.pick(["Re: signed documents", "Re: invoice February", "AW: Unterlagen", "RE: documents"]),
        text,
        in_reply_to=mine,
        headers=g.auth(p[1].split("@")[1]),
    )
    return g.item(d, [(p, "client")] if g.chance(0.7) else [], [mine])


@template("fyi")
def _password_changed(g: Gen) -> TriageItem:
    svc, dom = g.pick(
        [("Hooli Cloud", "hooli.cloud"), ("Slack", "slack.com"), ("Dropbox", "dropbox.com")]
    )
    p = (svc, f"security@{dom}" if g.chance(0.5) else f"no-reply@{dom}")
    subject = g.pick(
        [
            f"Your {svc} password was changed",
            f"New sign-in to your {svc} account",
            "Two-factor authentication enabled",
        ]
    )
    text = (
        f"Hi Ada,\n\nthis is a confirmation that {g.pick(['your password was changed', 'a new device signed in (Firefox on Linux, Berlin)', 'two-factor authentication was turned on'])} "
        f"on {g.when(30):%d %B at %H:%M}.\n\nIf this was you, you don't need to do anything. If not, "
        f"open {svc} directly and review your security settings.\n\nThe {svc} team"
    )
    d = Draft(p, subject, text, headers=g.auth(dom, p=1.0))
    return g.item(d, [])


@template("fyi")
def _bank_statement(g: Gen) -> TriageItem:
    p = ("Nordbank", "noreply@nordbank.de")
    subject = g.pick(
        [
            "Ihr Kontoauszug ist verfügbar",
            "Neues Dokument in Ihrem Postfach",
            "Ihre Kreditkartenabrechnung Februar",
        ]
    )
    text = (
        "Sehr geehrte Frau Lovelace,\n\nin Ihrem Online-Banking-Postfach liegt ein neues "
        "Dokument für Sie bereit. Bitte melden Sie sich wie gewohnt über unsere Website oder "
        "die App an.\n\nDiese E-Mail wurde automatisch erstellt. Bitte antworten Sie nicht darauf.\n\nIhre Nordbank"
    )
    d = Draft(p, subject, text, headers=g.auth("nordbank.de", p=1.0))
    return g.item(d, [])


@template("fyi")
def _travel_itinerary(g: Gen) -> TriageItem:
    p, org, dom = g.vendor("travel")
    city = g.pick(["Lisbon", "Vienna", "Paris", "Madrid", "Copenhagen"])
    start = _future(g, (5, 20))
    subject = g.pick(
        [
            f"Itinerary: Berlin – {city}, {start:%d %b}",
            f"Booking confirmed: {city}",
            f"Reisebestätigung {city}",
        ]
    )
    text = (
        f"Dear Ms Lovelace,\n\nyour trip is booked.\n\nOutbound: {start:%a %d %b} BER 07:10 → {city}\n"
        f"Hotel: {g.pick(['Hotel Avenida', 'Park Inn', 'Hôtel du Louvre'])}, 2 nights\n"
        f"Return: {start + timedelta(days=2):%a %d %b} 19:40 → BER\n\nBooking reference: {g.ref('ST')}"
        + g.sig(p, org, "Travel Consultant")
    )
    d = Draft(
        p,
        subject,
        text,
        headers=g.auth(dom),
        attachments=[("Itinerary.pdf", "application/pdf", PDF)],
    )
    return g.item(d, [(p, "vendor")] if g.chance(0.6) else [])


@template("fyi")
def _doc_shared(g: Gen) -> TriageItem:
    who = g.pick(COLLEAGUES)
    doc = g.pick(
        ["Q2 pipeline.xlsx", "Globex interview notes", "Offsite agenda", "Pricing model v7"]
    )
    p = (f"{who[0]} (via Google Drive)", "drive-shares-dm-noreply@google.com")
    subject = f'{who[0]} shared "{doc}" with you'
    text = f"{who[0]} ({who[1]}) has shared the following document:\n\n{doc}\n\nOpen: https://docs.google.com/document/d/1{g.rng.getrandbits(60):x}/edit\n\nGoogle LLC, 1600 Amphitheatre Parkway"
    html = g.html_page(
        [f"{who[0]} shared a document", doc],
        ("Open", f"https://docs.google.com/document/d/1{g.rng.getrandbits(60):x}/edit"),
    )
    d = Draft(
        p, subject, text, html=html, headers={"Reply-To": _addr(who), **g.auth("google.com", p=1.0)}
    )
    return g.item(d, [])


@template("fyi")
def _internal_announcement(g: Gen) -> TriageItem:
    p = g.pick([BOSS, *COLLEAGUES])
    subject = g.pick(
        [
            "Office closed on Good Friday and Easter Monday",
            "New expense tool from April",
            "Welcome Leonie to the team!",
            "Printer on the 3rd floor is fixed",
        ]
    )
    text = (
        "Hi all,\n\n"
        + g.pick([
            "a reminder that the office is closed on Good Friday and Easter Monday.",
            "from 1 April we'll use the new expense tool. Logins come next week; the old forms are fine until then.",
            "please welcome Leonie, who joins us as an analyst today. She sits next to Jonas.",
            "the printer on the 3rd floor works again.",
        ])
        + g.sig(p, "Lovelace Partners")
    )  # fmt: skip
    d = Draft(p, subject, text, to=[("All staff", f"all@{MY_DOMAIN}")], headers=g.auth(MY_DOMAIN))
    return g.item(d, [(p, "colleague")])


@template("fyi", hard=True)
def _policy_update(g: Gen) -> TriageItem:
    svc, dom = g.pick(
        [("Hooli Cloud", "hooli.cloud"), ("Zoomly", "zoomly.us"), ("PayFlow", "payflow.eu")]
    )
    p = (f"{svc} Legal", f"legal@{dom}")
    subject = g.pick(
        [
            "Updates to our Terms of Service",
            f"Important changes to your {svc} agreement",
            "We're updating our privacy policy",
        ]
    )
    text = (
        f"Dear customer,\n\nwe're updating the {svc} Terms of Service and Data Processing "
        f"Addendum effective {NOW + timedelta(days=30):%d %B %Y}. The main changes concern data "
        "residency and sub-processors. You don't need to take any action; continued use means "
        f"you accept the new terms.\n\n{svc}"
    )
    d = Draft(p, subject, text, headers=g.auth(dom, p=1.0))
    return g.item(d, [], note="a notice to keep, not marketing (hard: reads like a mass mailing)")


@template("fyi", hard=True)
def _fyi_let_me_know(g: Gen) -> TriageItem:
    p = g.pick(COLLEAGUES)
    subject = g.pick(["FYI: revised budget", "Updated staffing plan", "Globex numbers, latest"])
    text = (
        "Hi Ada,\n\nfor your files: revised version attached, incorporating Charles's comments. "
        f"{g.pick(['Let me know if anything jumps out.', 'Shout if you see a problem.', 'Any thoughts welcome, but no action needed.'])}"
        + g.sig(p, "Lovelace Partners")
    )
    d = Draft(
        p,
        subject,
        text,
        headers=g.auth(MY_DOMAIN),
        attachments=[("budget_v4.pdf", "application/pdf", PDF)],
    )
    return g.item(
        d, [(p, "colleague")], note="'let me know if...' is politeness here; nobody waits (hard)"
    )


@template("fyi")
def _delivery_today_de(g: Gen) -> TriageItem:
    p = ("DHL Paket", "noreply@dhl.de")
    track = f"00340434{g.rng.randint(10**9, 10**10 - 1)}"
    subject = g.pick(
        [
            "Ihre Sendung kommt heute",
            f"Ihr Paket {track} wird heute zugestellt",
            "Sendung zugestellt: an Nachbarn übergeben",
        ]
    )
    text = (
        f"Hallo Ada Lovelace,\n\nIhre Sendung {track} von {g.pick(SHOPS)[0]} "
        f"{g.pick(['wird heute zwischen 11:00 und 14:00 Uhr zugestellt.', 'wurde an Ihren Nachbarn (Müller, EG) übergeben.'])}\n\n"
        "Ihr DHL Team"
    )
    d = Draft(p, subject, text, headers=g.auth("dhl.de", p=1.0))
    return g.item(d, [])


@template("fyi")
def _forwarded_article(g: Gen) -> TriageItem:
    p = g.pick([BOSS, *COLLEAGUES])
    subject = g.pick(
        ["Fwd: Pricing in a downturn", "Interesting read", "FW: Marktstudie Beratung 2026"]
    )
    text = (
        f"{g.pick(['Interesting, in case you missed it.', 'Saw this and thought of the Soylent case.', 'FYI'])}\n\n"
        "---------- Forwarded message ---------\nFrom: Tech Weekly <editor@techweekly.com>\n"
        "Subject: Pricing in a downturn\n\nWhen demand slows, many firms reach for discounts. "
        "The better ones go the other way ..."
    )
    d = Draft(p, subject, text, headers=g.auth(MY_DOMAIN))
    return g.item(d, [(p, "colleague")])


@template("fyi")
def _portal_auto_ack(g: Gen) -> TriageItem:
    org, dom = g.pick(
        [
            ("Finanzamt Berlin – ELSTER", "elster.de"),
            ("Vergabeportal Bund", "evergabe-online.de"),
            ("Globex Supplier Portal", "globex.com"),
        ]
    )
    p = (org, f"portal@{dom}")
    subject = g.pick(
        [
            "Eingangsbestätigung Ihrer Übermittlung",
            "Your submission has been received",
            "Confirmation: supplier documents uploaded",
        ]
    )
    text = f"Ihre Übermittlung vom {g.when(20):%d.%m.%Y %H:%M} wurde erfolgreich empfangen.\nTransferticket: {g.rng.getrandbits(40):x}\n\nDiese Nachricht wurde automatisch erzeugt."
    d = Draft(p, subject, text, headers={"Auto-Submitted": "auto-generated", **g.auth(dom, p=1.0)})
    return g.item(d, [])


@template("fyi")
def _conference_ticket(g: Gen) -> TriageItem:
    ev = g.pick(["Pricing Summit 2026", "re:publica 26", "Consulting Days Berlin"])
    p = (f"{ev} Tickets", g.pick(["tickets@eventbrite.de", "orders@pretix.eu"]))
    subject = g.pick([f"Your ticket for {ev}", f"Order confirmation – {ev}", f"Ihr Ticket: {ev}"])
    text = f"Hi Ada,\n\nthanks for your order. Your ticket for {ev} is attached.\n\nOrder: {g.ref('TK')}\nDate: {_future(g, (30, 90)):%d %B %Y}\nVenue: Station Berlin\n\nSee you there!"
    d = Draft(
        p,
        subject,
        text,
        headers=g.auth(p[1].split("@")[1], p=1.0),
        attachments=[("ticket.pdf", "application/pdf", PDF)],
    )
    return g.item(d, [])


@template("fyi")
def _status_update_client(g: Gen) -> TriageItem:
    p, org, _ = g.client("en")
    subject = g.pick(
        ["Weekly status – week 10", "Update: interviews completed", "Data delivery done"]
    )
    text = (
        f"Hi Ada,\n\nquick update from our side: {g.pick(['all 14 interviews are done and the notes are in the shared folder', 'the data extract for Q4 is uploaded to the data room', 'IT has opened the firewall for your team'])}. "
        "Nothing needed from you, just so you know." + g.sig(p, org)
    )
    d = Draft(p, subject, text, headers=g.auth(p[1].split("@")[1]))
    return g.item(d, [(p, "client")])


# =========================================================================== promotional


@template("promotional")
def _newsletter_sale(g: Gen) -> TriageItem:
    shop, dom = g.pick(SHOPS)
    p = (shop, g.pick([f"news@{dom}", f"newsletter@{dom}", f"hello@{dom}", f"angebote@{dom}"]))
    pct = g.pick([15, 20, 25, 30, 40, 50])
    subject = g.pick(
        [
            f"{pct}% off everything this weekend",
            f"Spring Sale: bis zu {pct} % Rabatt",
            f"Only 48 hours: {pct}% off bestsellers",
            f"Ada, your exclusive {pct}% coupon",
        ]
    )
    html = g.html_page(
        [
            f"<b>{subject}</b>",
            "Fresh arrivals for your home office. Use code SPRING at checkout.",
            "Free shipping from EUR 50.",
        ],
        ("Shop now", f"https://{dom}/sale?utm_source=newsletter"),
        f'You receive this because you subscribed at {dom}. <a href="https://{dom}/unsubscribe">Unsubscribe</a>',
    )
    d = Draft(
        p,
        subject,
        f"{subject}\n\nShop now: https://{dom}/sale\n\nUnsubscribe: https://{dom}/unsubscribe",
        html=html,
        headers=g.bulk(dom, list_id=g.chance(0.3), precedence=g.chance(0.6)),
    )
    return g.item(d, [])


@template("promotional")
def _webinar_invite(g: Gen) -> TriageItem:
    org, dom = g.pick(
        [
            ("Hooli Cloud", "hooli.cloud"),
            ("Pricefx Academy", "pricing-academy.com"),
            ("Consultancy.io", "consultancy.io"),
        ]
    )
    p = (f"{org} Events", f"events@{dom}")
    subject = g.pick(
        [
            "Webinar: 5 pricing mistakes consultants make",
            "Join us live: AI for professional services",
            "[Webinar] Kundenbindung 2026 – jetzt anmelden",
        ]
    )
    html = g.html_page(
        [
            subject,
            "Thursday, 16:00 CET · 45 minutes · free",
            "Save your seat today – places are limited.",
        ],
        ("Register now", f"https://{dom}/webinar/register"),
        "Unsubscribe · Privacy",
    )
    d = Draft(
        p,
        subject,
        f"{subject}\nRegister: https://{dom}/webinar/register",
        html=html,
        headers=g.bulk(dom),
    )
    return g.item(d, [])


@template("promotional")
def _cold_outreach(g: Gen) -> TriageItem:
    org = g.pick(["LeadFlow", "Growthly", "SalesRocket", "DataNinja", "OutboundPro"])
    dom = org.lower() + g.pick([".io", ".com", ".ai"])
    p = g.person(dom)
    subject = g.pick(
        [
            "Quick question, Ada",
            "Lovelace Partners + " + org,
            "15 minutes next week?",
            "Idea for Lovelace Partners",
        ]
    )
    text = (
        f"Hi Ada,\n\nI noticed Lovelace Partners has been growing – congrats! {org} helps "
        f"consultancies like yours {g.pick(['book 20+ qualified meetings a month', 'automate proposal writing with AI', 'cut admin time by 30%'])}. "
        f"We recently helped a firm similar to yours {g.pick(['double its pipeline', 'win three new clients in a quarter'])}.\n\n"
        f"Would you be open to a 15-minute call next {g.weekday()}?\n\nBest,\n{p[0]}\n{org} | Head of Growth"
    )
    d = Draft(p, subject, text, headers=g.auth(dom, p=0.5))
    return g.item(d, [], note="cold sales outreach written to look personal")


@template("promotional")
def _cold_followup(g: Gen) -> TriageItem:
    org = g.pick(["LeadFlow", "Growthly", "SalesRocket", "OutboundPro"])
    dom = org.lower() + ".io"
    p = g.person(dom)
    fake = f"<{g.rng.getrandbits(64):x}@{dom}>"
    text = (
        f"Hi Ada,\n\njust bumping this to the top of your inbox in case it got buried. "
        f"Is this something you're looking at this quarter? If not, who would be the right person?\n\n{p[0]}"
        f"\n\nOn {(NOW - timedelta(days=5)):%a, %d %b %Y}, {p[0]} <{p[1]}> wrote:\n> Hi Ada, I noticed Lovelace Partners is growing...\n"
    )
    d = Draft(
        p,
        g.pick(["Re: Quick question", "Re: Idea for Lovelace Partners", "Following up"]),
        text,
        in_reply_to=fake,
    )
    return g.item(d, [], note="a sales follow-up to its own earlier mail, not to the principal's")


@template("promotional")
def _newsletter_de(g: Gen) -> TriageItem:
    org, dom = g.pick(
        [
            ("Handelsblatt Digital", "hb-digital.de"),
            ("Bücherhaus Mitte", "buecherhaus-mitte.de"),
            ("Kaffeerösterei Kranich", "kranich-kaffee.de"),
        ]
    )
    p = (org, f"newsletter@{dom}")
    subject = g.pick(
        [
            "Ihre Frühlingsangebote: 20 % auf alles",
            "Nur heute: Abo zum halben Preis",
            "Neu im Sortiment – jetzt entdecken",
        ]
    )
    html = g.html_page(
        [
            subject,
            "Liebe Frau Lovelace, entdecken Sie unsere neuen Angebote.",
            "Gültig bis Sonntag.",
        ],
        ("Jetzt entdecken", f"https://{dom}/angebote"),
        "Sie erhalten diesen Newsletter, weil Sie sich angemeldet haben. Abmelden | Impressum",
    )
    d = Draft(
        p,
        subject,
        "Liebe Frau Lovelace,\n\nentdecken Sie unsere neuen Angebote.\n\nAbmelden: https://"
        + dom
        + "/abmelden",
        html=html,
        headers=g.bulk(dom),
    )
    return g.item(d, [])


@template("promotional")
def _newsletter_fr(g: Gen) -> TriageItem:
    org, dom = g.pick(
        [("Atelier Lumière", "atelier-lumiere.fr"), ("Le Petit Four Traiteur", "petitfour.fr")]
    )
    p = (org, f"lettre@{dom}")
    subject = g.pick(
        [
            "Nos offres de printemps",
            "-20 % sur votre prochain événement",
            "Découvrez notre nouvelle carte",
        ]
    )
    html = g.html_page(
        [
            subject,
            "Chère cliente, profitez de nos offres jusqu'à dimanche.",
            "Livraison offerte dès 100 €.",
        ],
        ("Je découvre", f"https://{dom}/offres"),
        "Se désinscrire",
    )
    d = Draft(
        p,
        subject,
        "Chère cliente, profitez de nos offres jusqu'à dimanche.",
        html=html,
        headers=g.bulk(dom),
    )
    known = g.chance(0.4)
    return g.item(
        d,
        [(p, "vendor")] if known else [],
        note="a vendor's marketing blast is promotional even when the vendor is known",
    )


@template("promotional")
def _saas_upsell(g: Gen) -> TriageItem:
    p = ("Hooli Cloud", g.pick(["hello@hooli.cloud", "team@hooli.cloud"]))
    subject = g.pick(
        [
            "Upgrade to Pro and save 30%",
            "You're using 92% of your storage",
            "Unlock team features – free for 14 days",
        ]
    )
    text = (
        "Hi Ada,\n\nyour team is growing fast. With Hooli Pro you get unlimited storage, SSO and "
        "priority support. Upgrade this month and save 30% on the first year.\n\n"
        "Upgrade: https://hooli.cloud/pricing\n\nThe Hooli team"
    )
    hdr = g.bulk("hooli.cloud") if g.chance(0.7) else g.auth("hooli.cloud", p=1.0)
    d = Draft(p, subject, text, headers=hdr)
    return g.item(d, [])


@template("promotional")
def _spam_flagged(g: Gen) -> TriageItem:
    p = g.person(g.pick(["bizpromo.xyz", "mailer-best.top", "offers-daily.click"]))
    subject = g.pick(
        [
            "You've been selected for an exclusive offer",
            "Cheap office furniture – container sale",
            "Increase your sales 300% guaranteed",
            "Business loan pre-approved",
        ]
    )
    text = "Dear Sir/Madam,\n\nwe offer the best prices for your business. Reply now for catalogue.\n\nRegards"
    d = Draft(
        p,
        subject,
        text,
        headers={
            "X-Spam-Flag": "YES",
            "X-Spam-Status": f"Yes, score={g.rng.randint(6, 15)}.{g.rng.randint(0, 9)} required=5.0",
            **g.auth(p[1].split("@")[1], "softfail"),
        }
        if g.chance(0.5)
        else {"X-Spam-Flag": "YES"},
    )
    return g.item(d, [], note="junk: promotional with the spam flag")


@template("promotional")
def _survey(g: Gen) -> TriageItem:
    org, dom = g.pick(
        [
            ("Skyway Airlines", "skyway.aero"),
            ("Sunrise Travel", "sunrise-travel.com"),
            ("Park Inn Lisbon", "parkinn-lisbon.com"),
        ]
    )
    p = (org, f"feedback@{dom}")
    subject = g.pick(
        ["How was your trip? 2-minute survey", "Tell us how we did", "Ihre Meinung ist uns wichtig"]
    )
    text = f"Dear Ada,\n\nthank you for travelling with {org}. Would you take 2 minutes to tell us about your experience?\n\nStart survey: https://{dom}/survey\n\nUnsubscribe: https://{dom}/unsubscribe"
    d = Draft(p, subject, text, headers=g.bulk(dom, precedence=False))
    return g.item(d, [])


@template("promotional")
def _event_promo(g: Gen) -> TriageItem:
    ev, dom = g.pick(
        [
            ("FinTech Summit", "fintech-summit.eu"),
            ("Pricing Summit 2026", "pricing-summit.eu"),
            ("Future of Work Berlin", "fowberlin.de"),
        ]
    )
    p = (ev, f"info@{dom}")
    subject = g.pick(
        [
            f"Early bird ends Friday – {ev}",
            f"Last chance: {ev} tickets",
            f"Speakers announced for {ev}",
        ]
    )
    html = g.html_page(
        [subject, "Join 2,000 leaders in Berlin. Early bird price EUR 399 (instead of EUR 699)."],
        ("Get your ticket", f"https://{dom}/tickets"),
        "Unsubscribe",
    )
    d = Draft(
        p, subject, subject + f"\n\nTickets: https://{dom}/tickets", html=html, headers=g.bulk(dom)
    )
    return g.item(d, [])


@template("promotional")
def _loyalty_points(g: Gen) -> TriageItem:
    org, dom = g.pick(
        [
            ("Skyway Miles", "skyway.aero"),
            ("Payback", "payback-mail.de"),
            ("Hotel Rewards", "hotelrewards.com"),
        ]
    )
    p = (org, f"no-reply@{dom}")
    subject = g.pick(
        [
            "2,300 points expire soon – redeem now",
            "Double miles on all flights in April",
            "Your monthly rewards statement + special offers",
        ]
    )
    text = f"Hello Ada,\n\n{subject}. Browse our partner offers and treat yourself.\n\nRedeem: https://{dom}/redeem"
    d = Draft(p, subject, text, headers=g.auth(dom, p=1.0))
    return g.item(d, [])


@template("promotional")
def _digest_newsletter(g: Gen) -> TriageItem:
    org, dom = g.pick(
        [
            ("Tech Weekly", "techweekly.com"),
            ("Daily Ledger Briefing", "dailyledger.news"),
            ("Consulting Insider", "consulting-insider.com"),
        ]
    )
    p = (org, f"editor@{dom}")
    n = g.rng.randint(100, 400)
    subject = g.pick(
        [
            f"{org} #{n}: the week in review",
            f"{org} – issue {n}",
            "This week: layoffs, pricing, AI",
        ]
    )
    text = (
        f"{org} – issue {n}\n\n1. Why mid-sized firms are raising prices\n2. The consultants' AI "
        "dilemma\n3. Berlin's office market in numbers\n\nRead online: https://"
        + dom
        + f"/issues/{n}"
    )
    d = Draft(p, subject, text, headers=g.bulk(dom, list_id=True))
    return g.item(d, [], note="a newsletter: promotional per the triage categories")


@template("promotional")
def _seo_spam(g: Gen) -> TriageItem:
    p = g.person()
    subject = g.pick(
        [
            "Website ranking proposal",
            "Page 1 of Google for lovelace-partners.com",
            "Re: your website",
            "Guest post opportunity",
        ]
    )
    text = (
        "Hello Team,\n\nI was checking your website lovelace-partners.com and noticed it is not "
        "ranking for many important keywords. We can get you on the first page of Google in 90 "
        "days at a very affordable price. Shall I send you our packages?\n\nThanks & regards\n"
        f"{p[0]}\nSEO Consultant"
    )
    d = Draft(p, subject, text)
    return g.item(d, [])


@template("promotional")
def _vendor_product_launch(g: Gen) -> TriageItem:
    p, org, dom = g.vendor(g.pick(["office", "print", "it"]))
    subject = g.pick(
        [
            f"New from {org}: our spring collection",
            f"Introducing {org} Managed Print 2.0",
            f"{org} launches 24/7 support plans",
        ]
    )
    html = g.html_page(
        [
            subject,
            "We're excited to introduce our newest offer – for existing customers 10% off in March.",
        ],
        ("Learn more", f"https://{dom}/new"),
        "Unsubscribe from marketing e-mail",
    )
    d = Draft((org, f"marketing@{dom}"), subject, subject, html=html, headers=g.bulk(dom))
    return g.item(d, [((org, f"marketing@{dom}"), "vendor")] if g.chance(0.5) else [])


@template("promotional", hard=True)
def _recruiter_cold(g: Gen) -> TriageItem:
    p = g.person(g.pick(["executive-search.de", "talentbridge.com", "headhunt-partners.eu"]))
    subject = g.pick(
        [
            "Confidential: Head of Strategy role",
            "Exciting opportunity – Partner, Pricing Practice",
            "Vertrauliche Anfrage",
        ]
    )
    text = (
        f"Dear Ms Lovelace,\n\nI'm retained by a leading consultancy to find a partner for their "
        "pricing practice. Your profile stood out. Would you be open to a confidential conversation?"
        f"\n\nBest regards,\n{p[0]}\nPartner"
    )
    d = Draft(p, subject, text, headers=g.auth(p[1].split("@")[1]))
    return g.item(
        d, [], note="unsolicited recruiter outreach: promotional (hard; some would answer)"
    )


@template("promotional", hard=True)
def _social_digest(g: Gen) -> TriageItem:
    p = (
        "LinkUp",
        g.pick(["notifications@linkup.com", "messages-noreply@linkup.com", "updates@linkup.com"]),
    )
    subject = g.pick(
        [
            f"You appeared in {g.rng.randint(5, 60)} searches this week",
            "Ada, you have 4 new invitations",
            "People you may know at Globex",
        ]
    )
    text = (
        f"Hi Ada,\n\n{subject}.\n\nSee who's looking: https://linkup.com/me\n\nUnsubscribe · Help"
    )
    hdr = (
        {"List-Unsubscribe": "<https://linkup.com/unsub>", **g.auth("linkup.com", p=1.0)}
        if g.chance(0.5)
        else g.auth("linkup.com", p=1.0)
    )
    d = Draft(p, subject, text, headers=hdr)
    return g.item(d, [], note="engagement bait of a social network (hard: fyi or promotional)")


@template("promotional")
def _charity_appeal(g: Gen) -> TriageItem:
    org, dom = g.pick(
        [
            ("Ärzte ohne Grenzen", "aerzte-ohne-grenzen.de"),
            ("WWF Deutschland", "wwf.de"),
            ("Berliner Tafel", "berliner-tafel.de"),
        ]
    )
    p = (org, f"spenden@{dom}")
    subject = g.pick(
        [
            "Ihre Spende hilft – jetzt",
            "Gemeinsam für den Frühling",
            "Frühjahrsaktion: Ihre Unterstützung zählt",
        ]
    )
    text = f"Liebe Frau Lovelace,\n\nmit Ihrer Spende können wir helfen. Jetzt spenden: https://{dom}/spenden\n\nAbmelden"
    d = Draft(p, subject, text, headers=g.bulk(dom))
    return g.item(d, [])


# =========================================================================== personal


def _fam(g: Gen, *relations: str) -> Person:
    f = g.pick([f for f in FAMILY if not relations or f[2] in relations])
    return (f[0], f[1])


@template("personal")
def _family_dinner(g: Gen) -> TriageItem:
    p = _fam(g, "mother")
    subject = g.pick(
        [
            "Sunday lunch?",
            "Ostern bei uns?",
            "Geburtstag von Tante Judith",
            "Photos from the weekend",
        ]
    )
    text = g.pick([
        "Hello darling,\n\nwould you all like to come for lunch on Sunday? I'll make the lamb. Let me know how many of you are coming.\n\nLove, Mum",
        "Liebe Ada,\n\nkommt ihr Ostern zu uns? Papa würde sich sehr freuen. Sag mir bitte bis nächste Woche Bescheid.\n\nDeine Mama",
        "Hi Ada,\n\ndon't forget Aunt Judith turns 70 on the 22nd. Shall we get her something together?\n\nMum",
    ])  # fmt: skip
    d = Draft(p, subject, text, headers=g.auth(p[1].split("@")[1]))
    return g.item(d, [(p, "family")])


@template("personal")
def _husband_errand(g: Gen) -> TriageItem:
    p = _fam(g, "husband")
    subject = g.pick(["bread", "tonight", "Heizung", "Can you pick up Byron?", "weekend plans"])
    text = g.pick([
        "Can you pick up bread on the way home? We're out.",
        "I'll be late tonight, the train is stuck in Spandau. Start dinner without me?",
        "The heating guy comes Thursday between 8 and 12. Can you be home or shall I?",
        "Byron's football finishes at 6 on Wednesday – can you get him? I have the parents' evening.",
    ]) + "\n\nW."  # fmt: skip
    d = Draft(p, subject, text, headers=g.auth(p[1].split("@")[1]))
    return g.item(d, [(p, "family")])


@template("personal")
def _kid_permission(g: Gen) -> TriageItem:
    p = _fam(g, "daughter", "son")
    subject = g.pick(
        ["permission slip!!", "Mum can I go to Lena's on Saturday", "Klassenfahrt Geld", "hi"]
    )
    text = g.pick([
        "Mum you need to sign the permission slip for the museum trip, it's in my bag. Tomorrow latest pls",
        "Can I sleep over at Lena's on Saturday? Her mum says it's fine. Pleeeease",
        "Wir müssen bis Freitag 85 Euro für die Klassenfahrt überweisen, Frau Weber hat gefragt.",
    ])  # fmt: skip
    d = Draft(p, subject, text)
    return g.item(d, [(p, "family")])


@template("personal")
def _friend_drinks(g: Gen) -> TriageItem:
    p = g.person()
    subject = g.pick(
        [
            "Birthday drinks Friday?",
            "Running on Sunday?",
            "Book club – next date",
            "Dinner next week?",
        ]
    )
    text = g.pick([
        f"Hey Ada!\n\nI'm turning 45 (ugh) and doing drinks at Prater on Friday from 7. Would love it if you came! Let me know?\n\n{p[0].split()[0]} x",
        f"Hi Ada,\n\nare you in for our Sunday run at Tempelhof, 9am? Weather looks good.\n\n{p[0].split()[0]}",
        f"Hi lovely,\n\nbook club next time at mine – does the 24th work for you? We're reading 'Tomorrow, and Tomorrow'.\n\n{p[0].split()[0]}",
    ])  # fmt: skip
    d = Draft(p, subject, text, headers=g.auth(p[1].split("@")[1]))
    return g.item(d, [(p, "other")], note="a friend's private invitation: personal, not work")


@template("personal")
def _old_friend_new_address(g: Gen) -> TriageItem:
    p = g.person()
    subject = g.pick(["It's me – new address", "Long time no see!", "Greetings from Lisbon"])
    text = (
        f"Hi Ada,\n\nit's {p[0].split()[0]} from uni! I finally moved back to Berlin and found "
        "your address on your company website – hope that's OK. Would be lovely to have a "
        f"coffee sometime and catch up. How are William and the kids?\n\nHugs,\n{p[0].split()[0]}"
    )
    d = Draft(p, subject, text, headers=g.auth(p[1].split("@")[1]))
    return g.item(d, [])


@template("personal")
def _holiday_photos(g: Gen) -> TriageItem:
    p = _fam(g)
    subject = g.pick(["Photos from Usedom", "Bilder vom Wochenende", "pics!!"])
    text = (
        g.pick(
            [
                "Here are the photos from the weekend. The one with the dog is my favourite.",
                "Anbei die Bilder vom Wochenende – war schön mit euch!",
            ]
        )
        + f"\n\n{p[0].split()[0]}"
    )
    jpg = (
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
        + bytes(g.rng.getrandbits(8) for _ in range(200))
        + b"\xff\xd9"
    )
    d = Draft(
        p, subject, text, attachments=[(f"IMG_{g.rng.randint(1000, 9999)}.jpg", "image/jpeg", jpg)]
    )
    return g.item(d, [(p, "family")])


@template("personal")
def _wedding_invite(g: Gen) -> TriageItem:
    p = g.person()
    couple = f"{p[0].split()[0]} & {g.pick(FIRST)}"
    subject = g.pick(
        [
            f"Save the date: {couple} are getting married!",
            "Wir heiraten!",
            "Invitation – our wedding in August",
        ]
    )
    html = (
        '<html><body style="text-align:center;font-family:Georgia">'
        f"<h1>{couple}</h1><p>are getting married on 22 August 2026</p>"
        "<p>Gut Sternberg, Brandenburg</p><p>Please let us know by 1 May whether you can come.</p>"
        '<p><a href="https://www.withjoy.com/rsvp">RSVP</a></p></body></html>'
    )
    d = Draft(
        p,
        subject,
        f"{couple} are getting married on 22 August 2026. Please RSVP by 1 May.",
        html=html,
    )
    return g.item(d, [(p, "other")] if g.chance(0.6) else [])


@template("personal")
def _neighbour_parcel(g: Gen) -> TriageItem:
    p = g.person()
    subject = g.pick(["Ihr Paket", "Parcel for you", "Paket bei mir (EG links)"])
    text = g.pick([
        f"Hallo Frau Lovelace,\n\nich habe heute ein Paket für Sie angenommen. Sie können es ab 18 Uhr bei mir abholen (EG links).\n\nViele Grüße\n{p[0]}",
        f"Hi Ada,\n\na parcel for you is with us (2nd floor). Drop by any evening.\n\n{p[0].split()[0]}",
    ])  # fmt: skip
    d = Draft(p, subject, text)
    return g.item(d, [])


@template("personal")
def _doctor_reminder(g: Gen) -> TriageItem:
    org, dom = g.pick(
        [("Praxis am Park", "praxis-am-park.de"), ("Zahnarztpraxis Dr. Novak", "zahnarzt-novak.de")]
    )
    p = (org, f"termine@{dom}")
    when = _future(g, (2, 10))
    subject = g.pick(
        ["Terminerinnerung", f"Ihr Termin am {when:%d.%m.}", "Erinnerung: Vorsorgeuntersuchung"]
    )
    text = (
        f"Sehr geehrte Frau Lovelace,\n\nwir erinnern Sie an Ihren Termin am {when:%d.%m.%Y} um "
        f"{when:%H:%M} Uhr. Bitte bringen Sie Ihre Versichertenkarte mit. Falls Sie den Termin "
        f"nicht wahrnehmen können, sagen Sie bitte 24 Stunden vorher ab.\n\nIhr Team der {org}"
    )
    d = Draft(p, subject, text, headers=g.auth(dom, p=0.6))
    return g.item(d, [(p, "other")] if g.chance(0.5) else [], note="a private appointment")


@template("personal")
def _home_landlord(g: Gen) -> TriageItem:
    p = g.person("hausverwaltung-kollwitz.de")
    subject = g.pick(
        [
            "Wohnung 3.OG – Ablesung Heizkosten",
            "Treppenhausreinigung",
            "Your flat: smoke detector check",
        ]
    )
    text = (
        "Sehr geehrte Frau Lovelace,\n\nam "
        f"{g.weekday()} zwischen 8 und 12 Uhr werden in Ihrer Wohnung die Heizkostenverteiler "
        "abgelesen. Falls Sie nicht zu Hause sind, hinterlegen Sie bitte einen Schlüssel beim "
        f"Nachbarn.\n\nMit freundlichen Grüßen\n{p[0]}\nHausverwaltung Kollwitz"
    )
    d = Draft(p, subject, text, headers=g.auth("hausverwaltung-kollwitz.de"))
    return g.item(
        d, [(p, "other")] if g.chance(0.5) else [], note="about her flat: a private matter"
    )


@template("personal")
def _mother_german(g: Gen) -> TriageItem:
    p = _fam(g, "mother")
    text = g.pick([
        "Liebe Ada,\n\nich habe gestern mit Tante Ilse telefoniert, es geht ihr besser. Wie war eure Woche? Ruf doch mal an, wenn du Zeit hast.\n\nDeine Mama",
        "Hallo Schatz,\n\ndas Rezept für den Käsekuchen hängt an. Gib Annabella einen Kuss von mir.\n\nMama",
    ])  # fmt: skip
    d = Draft(p, g.pick(["Hallo", "Neuigkeiten", "Rezept", ""]), text)
    return g.item(d, [(p, "family")])


@template("personal")
def _friend_french(g: Gen) -> TriageItem:
    p = g.person(g.pick(["orange.fr", "free.fr", "gmail.com"]))
    text = g.pick([
        f"Coucou Ada,\n\ntu es dispo samedi pour un brunch ? On pensait aller au marché ensuite.\n\nBisous,\n{p[0].split()[0]}",
        f"Salut Ada,\n\nje passe à Berlin fin mars, on se fait un dîner ?\n\n{p[0].split()[0]}",
    ])  # fmt: skip
    d = Draft(p, g.pick(["Samedi ?", "Berlin fin mars", "coucou"]), text)
    return g.item(d, [(p, "other")] if g.chance(0.5) else [])


@template("personal")
def _tennis_club(g: Gen) -> TriageItem:
    p = g.person(g.pick(["tc-blau-weiss.de", "gmail.com"]))
    subject = g.pick(
        ["Match Saturday – can you play?", "Mannschaftsspiel Sonntag", "Doubles line-up"]
    )
    text = f"Hi Ada,\n\nwe're one short for Saturday's match against Grunewald (10:00, court 3). Can you play? Let me know by Thursday.\n\n{p[0]}\nTeam captain, TC Blau-Weiss"
    d = Draft(p, subject, text)
    return g.item(d, [(p, "other")] if g.chance(0.5) else [])


@template("personal", hard=True)
def _forwarded_chain(g: Gen) -> TriageItem:
    p = g.person("t-online.de")
    subject = g.pick(
        ["Fwd: Fwd: Zum Schmunzeln", "FW: This made me laugh", "Fwd: Wichtig!! Bitte weiterleiten"]
    )
    text = (
        "Hallo zusammen, das musste ich euch schicken :-)\n\nGruß Onkel Otto\n\n"
        "---------- Forwarded message ---------\nSubject: Zum Schmunzeln\n\nWarum nehmen "
        "Programmierer ihre Brille ab, wenn sie duschen? ..."
    )
    d = Draft(
        p,
        subject,
        text,
        to=[ME, ("Anne Milbanke", "anne.milbanke@gmx.de"), ("Judith King", "judith.king@web.de")],
    )
    return g.item(d, [], note="a relative's chain mail from an address not in the book (hard)")


@template("personal", hard=True)
def _client_friend_private(g: Gen) -> TriageItem:
    p, org, _ = g.client("en")
    subject = g.pick(["Personal question", "Off topic – a private one", "Not work :)"])
    text = (
        "Hi Ada,\n\nnothing to do with the project – a private question: you mentioned your "
        "sister is a family lawyer. Would she take on a friend of mine going through a divorce? "
        f"No pressure at all.\n\n{p[0].split()[0]}"
    )
    d = Draft(p, subject, text, headers=g.auth(p[1].split("@")[1]))
    return g.item(d, [(p, "client")], note="from a client's work address but private (hard)")


@template("personal")
def _babysitter(g: Gen) -> TriageItem:
    p = g.person()
    text = g.pick([
        f"Hallo Frau Lovelace,\n\nich könnte am Samstagabend auf Byron und Annabella aufpassen, ab 19 Uhr. Passt das?\n\nLiebe Grüße\n{p[0].split()[0]}",
        f"Hi Ada, I can babysit on Saturday from 7pm if you still need someone. {p[0].split()[0]}",
    ])  # fmt: skip
    d = Draft(p, g.pick(["Babysitting Samstag", "Saturday evening", "Babysitten"]), text)
    return g.item(d, [(p, "other")] if g.chance(0.5) else [])


@template("personal")
def _family_thread(g: Gen) -> TriageItem:
    p = _fam(g, "husband", "mother")
    mine = g.my_mid()
    text = (
        g.pick(
            [
                "Sounds good. I'll book the table for 7.",
                "Ok, dann bringen wir den Kuchen mit.",
                "Great – see you Sunday!",
            ]
        )
        + f"\n\n{p[0].split()[0]}"
    )
    text += g.quote("How about Sunday at Café Einstein?\n\nA.")
    d = Draft(p, g.pick(["Re: Sunday", "Re: Ostern", "Re: dinner"]), text, in_reply_to=mine)
    return g.item(d, [(p, "family")], [mine])


@template("personal")
def _sister_in_law_unknown(g: Gen) -> TriageItem:
    p = ("Judith King", g.pick(["judith.king@web.de", "jking1968@gmail.com"]))
    subject = g.pick(["Christmas photos finally", "Grandma's 90th – plans", "Wie geht's euch?"])
    text = (
        "Dear Ada,\n\nwe're planning grandma's 90th birthday for the first weekend in May at our "
        "place in Potsdam. Would you, William and the kids be able to come? We could use a hand "
        "with the cake too!\n\nLove,\nJudith"
    )
    d = Draft(p, subject, text)
    return g.item(d, [], note="family, but not in the address book")


# =========================================================================== phishing


@template("phishing")
def _lookalike_own_domain(g: Gen) -> TriageItem:
    fake = g.pick(
        [
            "lovelace-partner.com",
            "lovelace-partners.co",
            "lovelace-partmers.com",
            "lovelace-partners.corn",
            "1ovelace-partners.com",
        ]
    )
    p = (
        g.pick(["IT Support", "Helpdesk", "Microsoft 365 Admin"]),
        f"{g.pick(['it-support', 'helpdesk', 'admin'])}@{fake}",
    )
    subject = g.pick(
        [
            "Your mailbox password expires today",
            "Action required: verify your account",
            "Mailbox storage full – messages on hold",
        ]
    )
    text = (
        "Dear Ada,\n\nyour mailbox password expires today. To keep access to your e-mail, "
        f"verify your account within 24 hours:\n\nhttps://{fake}/owa/verify\n\nIT Support\nLovelace Partners"
    )
    d = Draft(p, subject, text, headers=g.auth(fake, p=0.5))
    return g.item(d, [])


@template("phishing")
def _vendor_bank_change(g: Gen) -> TriageItem:
    real, org, dom = g.vendor(g.pick(["accountant", "print", "landlord", "office"]))
    name, _, tld = dom.rpartition(".")
    fake = g.pick(
        [
            f"{name}s.{tld}",
            f"{name}-{tld}.com",
            f"{name.replace('i', 'l', 1)}.{tld}",
            f"{name}.{'com' if tld != 'com' else 'net'}",
        ]
    )
    p = (real[0], real[1].split("@")[0] + "@" + fake)
    subject = g.pick(
        [
            "Änderung unserer Bankverbindung",
            "Important: our bank details have changed",
            "Updated payment instructions for open invoices",
        ]
    )
    text = (
        f"Dear Ms Lovelace,\n\nplease note that our bank details have changed with immediate "
        "effect. Kindly update payment for all open invoices to our new account:\n\n"
        f"IBAN: LT{g.rng.randint(10**17, 10**18 - 1)}\nBIC: REVOLT21\n\n"
        "Please confirm once the change is made. Payments to the old account can no longer be "
        f"processed.{g.sig(real, org)}"
    )
    headers = g.auth(fake, "fail") if g.chance(0.4) else {}
    d = Draft(p, subject, text, headers=headers)
    return g.item(d, [(real, "vendor")], note=f"a look-alike of the vendor's domain {dom}")


@template("phishing")
def _display_name_spoof(g: Gen) -> TriageItem:
    brand, real = g.pick(
        [
            ("PayPal", "service@paypal.com"),
            ("Nordbank", "kundenservice@nordbank.de"),
            ("Microsoft", "account-security-noreply@accountprotection.microsoft.com"),
            ("DHL", "noreply@dhl.de"),
        ]
    )
    bad = g.pick(
        [
            "secure-alert@pp-verify.top",
            "info@account-verify-center.com",
            "support@mail-service-center.net",
        ]
    )
    subject = g.pick(
        [
            "Your account has been limited",
            "Unusual sign-in activity",
            "Ihr Konto wurde eingeschränkt",
        ]
    )
    text = (
        f"Dear customer,\n\nwe detected unusual activity on your account. Your account will be "
        f"suspended unless you confirm your identity within 48 hours.\n\nConfirm now: https://{bad.split('@')[1]}/login\n\n{brand} Security Team"
    )
    d = Draft(
        (brand, bad),
        subject,
        text,
        sender_header=f'"{brand} {real}" <{bad}>',
        headers=g.auth(bad.split("@")[1], p=0.6),
    )
    return g.item(d, [])


@template("phishing")
def _link_mismatch_bank(g: Gen) -> TriageItem:
    brand, dom = g.pick(
        [("Nordbank", "nordbank.de"), ("PayFlow", "payflow.eu"), ("Hooli Cloud", "hooli.cloud")]
    )
    evil = g.pick(
        [
            f"{dom.split('.')[0]}-secure.login-verify.ru",
            "bit-ly.click/x7Hq",
            f"auth.{dom.split('.')[0]}.account-check.info",
        ]
    )
    p = (
        brand,
        g.pick(
            [
                f"security@{dom.split('.')[0]}-online.com",
                f"service@{dom.split('.')[0]}-kundenportal.de",
            ]
        ),
    )
    subject = g.pick(
        [
            "Security notice: confirm your login",
            "Sicherheitshinweis: Bestätigen Sie Ihre Anmeldung",
            "Payment declined – update your card",
        ]
    )
    html = g.html_page(
        ["Dear customer,", "for your security we need you to confirm your login details. Please sign in at:",
         f'<a href="http://{evil}/signin">https://www.{dom}/login</a>', f"{brand} Customer Service"],
    )  # fmt: skip
    d = Draft(
        p,
        subject,
        f"Dear customer, confirm your login at https://www.{dom}/login",
        html=html,
        headers=g.auth(p[1].split("@")[1], p=0.4),
    )
    return g.item(d, [])


@template("phishing")
def _ceo_fraud_spoofed(g: Gen) -> TriageItem:
    reply = g.pick(
        ["charles.babbage.ceo@gmail.com", "cbabbage.office@outlook.com", "c.babbage@protonmail.com"]
    )
    subject = g.pick(["Quick favour", "Are you at your desk?", "Confidential", "Request"])
    text = g.pick([
        "Ada,\n\nI need you to buy 10 Apple gift cards of EUR 100 for a client gift. Scratch the codes and send me photos. I'm in a meeting, can't talk. Keep it between us.\n\nCharles",
        "Ada, are you available? I need a wire transfer processed today for a confidential acquisition. Reply only by e-mail, I'm in meetings all day.\n\nCharles\nSent from my iPhone",
    ])  # fmt: skip
    d = Draft(BOSS, subject, text, headers={"Reply-To": reply, **g.auth(MY_DOMAIN, "fail")})
    return g.item(
        d,
        [(BOSS, "colleague")],
        note="the boss's address spoofed (DMARC fails), replies go to free mail",
    )


@template("phishing", hard=True)
def _ceo_fraud_freemail(g: Gen) -> TriageItem:
    p = (
        BOSS[0],
        g.pick(
            [
                "charles.babbage.office@gmail.com",
                "babbage.charles@outlook.com",
                "c.babbage.private@gmx.de",
            ]
        ),
    )
    subject = g.pick(["Are you available?", "Quick task", "Need your help", "Vertraulich"])
    text = g.pick([
        "Hi Ada,\n\nare you available? I need you to handle something discreetly for me today. Let me know when you see this – e-mail only, I'm in back-to-back meetings.\n\nCharles",
        "Ada, I'm writing from my private address, my phone is dead. Can you take care of a payment for me this morning? I'll explain later.\n\nC.",
    ])  # fmt: skip
    d = Draft(p, subject, text, headers=g.auth(p[1].split("@")[1], p=1.0))
    return g.item(
        d,
        [(BOSS, "colleague")],
        note="the boss's name from a free-mail address, no link, no failed check (hard)",
    )


@template("phishing")
def _parcel_fee(g: Gen) -> TriageItem:
    evil = g.pick(["dhl-zustellung-info.com", "dpd-paket-service.net", "post-paket-gebuehr.de"])
    p = (g.pick(["DHL Express", "DPD Paketservice", "Deutsche Post"]), f"service@{evil}")
    subject = g.pick(
        [
            "Your parcel is on hold – customs fee EUR 1.99",
            "Zustellung fehlgeschlagen – bitte Gebühr zahlen",
            "Action needed: redelivery of your package",
        ]
    )
    html = g.html_page(
        ["Dear customer,", "your parcel could not be delivered because a customs fee of EUR 1.99 is outstanding.",
         f'Pay within 48 hours or it will be returned: <a href="https://{evil}/pay">{g.pick(["https://www.dhl.de/redelivery", "Pay now"])}</a>'],
    )  # fmt: skip
    d = Draft(
        p,
        subject,
        "Your parcel is on hold. Pay the customs fee within 48 hours.",
        html=html,
        headers=g.auth(evil, p=0.5),
    )
    return g.item(d, [])


@template("phishing")
def _m365_quarantine(g: Gen) -> TriageItem:
    evil = g.pick(
        ["m365-secure-mail.com", "office365-quarantine.net", "mail-protection-center.com"]
    )
    p = ("Microsoft 365", f"no-reply@{evil}")
    n = g.rng.randint(3, 9)
    subject = g.pick(
        [
            f"{n} messages held in quarantine",
            f"You have {n} pending messages",
            "Undelivered messages – action required",
        ]
    )
    shown = g.pick(["https://outlook.office.com/quarantine", "Review messages", "Release messages"])
    html = g.html_page(
        [
            f"{n} incoming messages for ada@lovelace-partners.com are held for review.",
            f'<a href="https://{evil}/release?u=ada">{shown}</a>',
            "Messages not released within 72 hours will be deleted.",
        ]
    )
    d = Draft(
        p, subject, f"{n} messages are held for review.", html=html, headers=g.auth(evil, p=0.5)
    )
    return g.item(d, [])


@template("phishing")
def _docusign_fake(g: Gen) -> TriageItem:
    evil = g.pick(["docusign-envelopes.net", "secure-docsign.com", "esign-docs.info"])
    p = ("DocuSign", f"dse@{evil}")
    subject = g.pick(
        [
            "Please review and sign: Lovelace Partners Payment Authorization",
            "Completed: Invoice_0392.pdf – review document",
            "Charles Babbage sent you a document to review",
        ]
    )
    html = g.html_page(
        ["Charles Babbage sent you a document to review and sign.", "Payment_Authorization_Q1.pdf"],
        ("REVIEW DOCUMENT", f"https://{evil}/envelope/{g.rng.getrandbits(40):x}"),
        "Do not share this email. DocuSign Inc.",
    )
    d = Draft(
        p,
        subject,
        "Charles Babbage sent you a document to review and sign.",
        html=html,
        headers=g.auth(evil, p=0.5),
    )
    return g.item(d, [])


@template("phishing")
def _html_attachment_invoice(g: Gen) -> TriageItem:
    p = g.person(
        g.pick(["accounts-payable-mail.com", "invoice-center.biz", "rechnung-online.info"])
    )
    subject = g.pick(
        [
            "Overdue invoice – final reminder",
            "Rechnung offen – bitte prüfen",
            "Remittance advice #88231",
        ]
    )
    text = "Hello,\n\nplease see the attached invoice, payment is overdue. Open the attachment to view and pay.\n\nAccounts Department"
    page = b"<html><body><script>location='https://login-verify.ru/o365'</script></body></html>"
    d = Draft(
        p,
        subject,
        text,
        attachments=[("Invoice_Overdue.html", "text/html", page)],
        headers=g.auth(p[1].split("@")[1], "softfail"),
    )
    return g.item(d, [])


@template("phishing")
def _spam_flagged_credentials(g: Gen) -> TriageItem:
    p = g.person(g.pick(["webmail-upgrade.top", "mailbox-team.click"]))
    subject = g.pick(["Webmail upgrade – verify your account", "Password expires in 24 hours"])
    text = "Dear user,\n\nyour password expires in 24 hours. Click here to keep your current password: https://webmail-upgrade.top/keep\n\nWebmail Admin"
    d = Draft(
        p,
        subject,
        text,
        headers={"X-Spam-Flag": "YES", "X-Spam-Status": "Yes, score=9.1 required=5.0"},
    )
    return g.item(d, [])


@template("phishing")
def _bulk_phish_unsub(g: Gen) -> TriageItem:
    evil = g.pick(["streamflix-account.com", "primevid-billing.net", "spotlist-payments.com"])
    brand = {
        "streamflix-account.com": "Streamflix",
        "primevid-billing.net": "PrimeVid",
        "spotlist-payments.com": "Spotlist",
    }[evil]
    p = (brand, f"billing@{evil}")
    subject = g.pick(
        [
            "Your membership is on hold",
            "Payment failed – update your details",
            "Last reminder: update payment to keep watching",
        ]
    )
    html = g.html_page(
        [
            "We couldn't process your last payment.",
            "Update your payment method within 24 hours to avoid losing access.",
        ],
        ("Update payment", f"https://{evil}/billing"),
        "Unsubscribe",
    )
    d = Draft(
        p,
        subject,
        "Update your payment method within 24 hours.",
        html=html,
        headers=g.bulk(evil, precedence=g.chance(0.5)),
    )
    return g.item(d, [], note="phishing dressed as a bulk mailing (unsubscribe header)")


@template("phishing")
def _reply_to_mismatch(g: Gen) -> TriageItem:
    real, org, dom = g.vendor("landlord")
    reply = g.pick(
        [
            "accounts@wayne-propertles.com",
            "wayne.properties.accounts@gmail.com",
            "finance@wayne-prop.net",
        ]
    )
    p = (org, real[1])
    subject = g.pick(
        [
            "Rent payment – new bank details",
            "Urgent: update payment for April rent",
            "Mietzahlung: neue Bankverbindung",
        ]
    )
    text = (
        "Dear tenant,\n\nplease update payment for the April rent: our bank details have changed. "
        "Reply to this e-mail to receive the new account details.\n\nWayne Property Management"
    )
    d = Draft(p, subject, text, headers={"Reply-To": reply, **g.auth(dom, "softfail")})
    return g.item(
        d, [(real, "vendor")], note="a vendor's address without passing checks, Reply-To elsewhere"
    )


@template("phishing")
def _bank_phish_de(g: Gen) -> TriageItem:
    evil = g.pick(["nordbank-sicherheit.de", "nordbank-kundenservice.com", "nord-bank-online.de"])
    p = ("Nordbank", f"service@{evil}")
    subject = g.pick(
        [
            "Ihr Konto wurde vorübergehend gesperrt",
            "Bestätigen Sie Ihre Identität",
            "Wichtige Mitteilung zu Ihrem Online-Banking",
        ]
    )
    text = (
        "Sehr geehrte Kundin,\n\naufgrund neuer Sicherheitsrichtlinien (PSD2) müssen Sie Ihre "
        "Identität bis zum "
        f"{NOW + timedelta(days=2):%d.%m.%Y} bestätigen. Andernfalls wird Ihr Konto gesperrt.\n\n"
        f"Jetzt bestätigen: https://{evil}/psd2\n\nIhre Nordbank"
    )
    html = (
        g.html_page(
            [
                "Sehr geehrte Kundin,",
                "bitte bestätigen Sie Ihre Identität:",
                f'<a href="https://{evil}/psd2">https://www.nordbank.de/psd2</a>',
            ]
        )
        if g.chance(0.5)
        else None
    )
    d = Draft(p, subject, text, html=html, headers=g.auth(evil, p=0.5))
    return g.item(d, [])


@template("phishing", hard=True)
def _thread_hijack(g: Gen) -> TriageItem:
    real, org, _ = g.client("en")
    dom = real[1].split("@")[1]
    name, _, tld = dom.rpartition(".")
    fake = g.pick([f"{name}-{tld}.com", f"{name}s.{tld}", f"{name}.co"])
    mine = g.my_mid()
    p = (real[0], real[1].split("@")[0] + "@" + fake)
    text = (
        f"Hi Ada,\n\nthanks for the invoice. Our finance team asks you to send us your bank "
        "details again on company letterhead, and please note that going forward all payments "
        "between us go through our new account (details attached).\n\n"
        f"{real[0].split()[0]}"
        + g.quote(
            "Dear "
            + real[0].split()[0]
            + ",\n\nplease find attached our invoice for February.\n\nBest, Ada"
        )
    )
    d = Draft(
        p,
        "Re: Invoice February",
        text,
        in_reply_to=mine,
        cc=[real] if g.chance(0.3) else [],
        attachments=[("new_account.pdf", "application/pdf", PDF)],
    )
    return g.item(
        d, [(real, "client")], [mine], note=f"reply in her thread from a look-alike of {dom} (hard)"
    )


@template("phishing")
def _voicemail(g: Gen) -> TriageItem:
    evil = g.pick(["vm-notify.io", "voicemail-center.net", "teams-voice.app"])
    p = (g.pick(["Voicemail", "Teams Voice", "PBX System"]), f"voicemail@{evil}")
    secs = g.rng.randint(20, 80)
    subject = g.pick(
        [
            f"New voicemail (0:{secs:02d}) from +49 30 ****{g.rng.randint(100, 999)}",
            "You have 1 new voice message",
            "Missed call – audio message attached",
        ]
    )
    html = g.html_page(
        [f"You received a new voicemail ({secs} s).", "Sign in with your work account to listen."],
        ("▶ Listen", f"https://{evil}/play/{g.rng.getrandbits(32):x}"),
    )
    d = Draft(
        p,
        subject,
        f"You received a new voicemail. Sign in to listen: https://{evil}/play",
        html=html,
        headers=g.auth(evil, p=0.5),
    )
    return g.item(d, [], note="credential harvest behind a button")


@template("phishing")
def _shared_doc_phish(g: Gen) -> TriageItem:
    who = g.pick(COLLEAGUES)
    evil = g.pick(
        ["lovelace-partners-sharepoint.com", "sharepoint-docs-view.com", "onedrive-file-share.net"]
    )
    p = (f"{who[0]} via SharePoint", f"no-reply@{evil}")
    doc = g.pick(["Q1 Salaries.xlsx", "Bonus_2026.pdf", "Staff review – confidential.docx"])
    subject = f'{who[0]} shared "{doc}" with you'
    shown = g.pick(["Open", f"https://lovelace-partners.sharepoint.com/{doc.replace(' ', '_')}"])
    html = g.html_page(
        [f"{who[0]} shared a file with you.", doc, f'<a href="https://{evil}/view">{shown}</a>']
    )
    d = Draft(
        p,
        subject,
        f"{who[0]} shared a file with you: {doc}",
        html=html,
        headers=g.auth(evil, p=0.5),
    )
    return g.item(d, [])


@template("phishing")
def _mfa_fr(g: Gen) -> TriageItem:
    fake = g.pick(["lovelace-partners.co", "lovelace-partner.com", "lovelace-partners.net"])
    p = ("Service informatique", f"support@{fake}")
    subject = g.pick(
        ["Votre mot de passe expire aujourd'hui", "Vérification de votre compte requise"]
    )
    text = f"Bonjour,\n\nvotre mot de passe expire aujourd'hui. Pour conserver l'accès à votre messagerie, vérifiez votre compte ici : https://{fake}/verification\n\nService informatique"
    d = Draft(p, subject, text, headers=g.auth(fake, p=0.4))
    return g.item(d, [])


@template("phishing")
def _advance_fee(g: Gen) -> TriageItem:
    p = g.person(g.pick(["barrister-chambers.co", "gmail.com", "consultant.com"]))
    subject = g.pick(
        [
            "Inheritance claim – your surname",
            "Business proposal (confidential)",
            "Unclaimed funds – EUR 4.8 million",
        ]
    )
    text = (
        f"Dear Lovelace,\n\nI am {p[0]}, attorney to a late client who shares your surname and died "
        "without heirs. I propose that we claim the funds of EUR 4,800,000 together. Send me your "
        "full name, bank details and a copy of your passport to proceed.\n\nYours faithfully"
    )
    d = Draft(p, subject, text, headers={"Reply-To": f"claims.{p[1].split('@')[0]}@mail.ru"})
    return g.item(d, [], note="advance-fee fraud asking for bank details")


@template("phishing", hard=True)
def _invoice_portal_plain(g: Gen) -> TriageItem:
    real, org, dom = g.vendor("cloud")
    evil = g.pick(["hooli-billing.com", "hooli-cloud-invoices.com", "hooIi.cloud"])
    p = ("Hooli Cloud Billing", f"billing@{evil}")
    subject = g.pick(
        ["Your invoice is ready", "Payment method expired", "Invoice #HC-29381 – payment failed"]
    )
    text = (
        "Hi Ada,\n\nwe were unable to charge your card for the March subscription. To avoid "
        f"interruption of your workspace, please update your billing information at https://{evil}/billing "
        "within 3 days.\n\nHooli Cloud Billing"
    )
    d = Draft(p, subject, text, headers=g.auth(evil, p=1.0))
    return g.item(
        d, [], note="a plausible billing mail from a domain that is not the vendor's (hard)"
    )


# --------------------------------------------------------------------------- the set


def generate(seed: int = DEFAULT_SEED, quotas: dict[str, int] | None = None) -> list[TriageItem]:
    """The labelled set: the same items for the same seed.

    Args:
        seed: Seed of every random choice.
        quotas: Items per label (default :data:`QUOTAS`).

    Returns:
        The items, ids ``<label>-<n>``, in a seeded mixed order.
    """
    rng = random.Random(seed)
    g = Gen(rng)
    items: list[TriageItem] = []
    for label in LABELS:
        templates = list(_TEMPLATES[label])
        rng.shuffle(templates)
        for i in range((quotas or QUOTAS)[label]):
            name, fn, hard = templates[i % len(templates)]
            g.label, g.name, g.hard = label, name, hard
            item = fn(g)
            item.id = f"{label}-{i + 1:03d}"
            items.append(item)
    rng.shuffle(items)
    return items


def template_counts() -> dict[str, int]:
    """How many templates each label has."""
    return {label: len(ts) for label, ts in _TEMPLATES.items()}


def main(argv: list[str] | None = None) -> int:
    """Print a summary of the set; optionally write it as JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, help="write the items as JSON lines")
    args = parser.parse_args(argv)
    items = generate(args.seed)
    counts = Counter(i.label for i in items)
    hard = Counter(i.label for i in items if i.hard)
    tcount = template_counts()
    print(f"{len(items)} items, seed {args.seed}, {sum(hard.values())} hard")
    for label in LABELS:
        print(
            f"  {label:<15} {counts[label]:>4} items  {tcount[label]:>3} templates  {hard[label]:>3} hard"
        )
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            for item in items:
                fh.write(json.dumps(item.to_json(), ensure_ascii=False) + "\n")
        print(f"written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
