"""Where each argument of a proposed action came from: who wrote it, not which tool returned it.

Everything the planner has seen is :class:`Evidence` with an author (``agent.evidence``
builds it): the principal's own words and the data they authored (their calendar
entries, contacts, sent mail, notes, documents of their own), the mailbox's bookkeeping
(which message, which event), the address of whoever wrote a message, and content
outsiders wrote (incoming mail, invitations from outside organisers, attachments filed
from their mail, ingested correspondence, API text) wherever it is later read from.

An argument is traced by value, after normalising both sides (Unicode NFKC, case,
whitespace, zero-width characters, "name (at) domain (dot) com" and split quoted
pieces), and ends in one of these sources:

* ``principal`` / ``workspace`` / ``memory``: the value is in the principal's words, their
  data, or their own past correspondence;
* ``identifier``: an id argument (which message to answer) taken from a listing; an id
  is never evidence for an address or a text;
* ``untrusted``: the value is copied from content an outsider wrote;
* ``steered``: the turn had read outsider content, and the value chooses something (a
  recipient, amount, destination, time or file) or carries something that can do harm
  (an address, a link, a long number) found nowhere the principal wrote;
* ``model``: the secretary wrote it and nothing outside could have steered it.

Free text (a body, a subject) is judged by what it carries, not by its words: a reply the
secretary writes in its own words is ``model`` even after reading the mail it answers,
while a copied run of an outsider's text, or an address or code that only they wrote,
is flagged. Flagging every reply would teach the approver to ignore the flag.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Source = Literal[
    "principal", "workspace", "memory", "identifier", "untrusted", "steered", "model"
]
EvidenceSource = Literal["principal", "workspace", "memory", "identifier", "untrusted"]
Author = Literal["principal", "staff", "secretary", "outsider"]

TRUSTED: frozenset[str] = frozenset({"principal", "workspace", "memory"})
"""Sources that are the principal's own: the only ones auto-approval may rely on."""
FLAGGED: frozenset[str] = frozenset({"untrusted", "steered"})
"""Sources that put a warning on the card."""

_RANK: dict[str, int] = {
    "principal": 0, "workspace": 1, "memory": 2, "identifier": 3, "untrusted": 5
}

LABELS: dict[str, str] = {
    "principal": "from your request",
    "workspace": "from your own data",
    "memory": "from your past correspondence",
    "identifier": "the item it refers to",
    "untrusted": "from UNTRUSTED content",
    "steered": "written after reading outside content (possibly steered)",
    "model": "written by the secretary",
}

ID_ARGS = frozenset(
    {"id", "message_id", "thread_id", "in_reply_to", "event_id", "uid", "invoice_id",
     "offer_id", "booking_id", "task_id", "order_id", "request_id", "contact_id",
     "document_id", "proposal_id", "trip", "quote_number"}
)  # fmt: skip
"""Arguments that name a record: traced to listings, never to free text."""
CHOOSING_ARGS = frozenset(
    {"to", "cc", "bcc", "attendees", "email", "phone", "number", "host", "vendor", "amount",
     "price", "account_numbers", "account_number", "reference", "delivery_address",
     "location", "hotel_address", "path", "attachment", "flight", "return_flight",
     "hotel_name"}
)  # fmt: skip
"""Arguments that choose who, how much, where or which file: a value the principal did not
write, chosen after reading outside content, is flagged as possibly steered."""
TIME_ARGS = frozenset(
    {"start", "end", "due", "times", "departure", "arrival", "return_departure",
     "return_arrival", "delivery_date", "needed_by", "reply_by", "paid_on", "new_departure",
     "new_arrival", "callback", "document_date"}
)  # fmt: skip
"""Arguments that choose when. A time is rarely written the way it was asked for
("Thursday at 9" becomes 2026-11-26T09:00), so it is matched by its day and hour as people
write them (see :func:`_time_forms`)."""


# ----------------------------------------------------------------- normalising

_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_AT = re.compile(r"\s*[\(\[\{<]\s*(?:at|@)\s*[\)\]\}>]\s*|\s+at\s+(?=[\w-]+\s*(?:[\(\[\{<]\s*"
                 r"(?:dot|\.)\s*[\)\]\}>]|\s+dot\s+))", re.I)  # fmt: skip
_DOT = re.compile(r"\s*[\(\[\{<]\s*(?:dot|\.)\s*[\)\]\}>]\s*|(?<=\w)\s+dot\s+(?=\w)", re.I)
_JOINED = re.compile(r"""["']\s*\+\s*["']""")
_WORD = re.compile(r"[\w@.+-]+", re.UNICODE)


def canon(text: str) -> str:
    """Text as compared: compatibility forms, case, invisible characters and obfuscations gone.

    "ｍａｌｌｏｒｙ＠evil", "mal\u200blory@evil", "mallory (at) evil (dot) example" and
    "'mallory' + '@evil.example'" all read as "mallory@evil.example".
    """
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text).casefold()
    text = _JOINED.sub("", text)
    text = _AT.sub("@", text)
    text = _DOT.sub(".", text)
    text = text.replace("\\n", " ").replace("\\t", " ")
    return " ".join(text.split())


def _words(text: str) -> list[str]:
    return [w.strip(".-") for w in _WORD.findall(text) if w.strip(".-")]


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"')\]]+")
_IBAN = re.compile(r"\b[a-z]{2}\d{2}(?:\s?[a-z0-9]{4}){2,7}(?:\s?[a-z0-9]{1,4})?\b")
_DIGITS = re.compile(r"(?<![\w])\+?\d(?:[\d\s./-]{4,}\d)(?![\w])")
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./]\d{1,2}[./]\d{2,4}|\d{1,2}[.:]\d{2}")


def risky_tokens(text: str) -> list[str]:
    """What in a text can do harm if an outsider chose it: addresses, links, IBANs, codes."""
    c = canon(text)
    found = [m.group(0).rstrip(".") for m in _EMAIL.finditer(c)]
    found += [m.group(0).rstrip(".,") for m in _URL.finditer(c)]
    found += [m.group(0).replace(" ", "") for m in _IBAN.finditer(c)]
    for m in _DIGITS.finditer(c):
        if _DATE.fullmatch(m.group(0).strip()):
            continue  # a date or a time is not a code
        digits = re.sub(r"\D", "", m.group(0))
        if len(digits) >= 6:  # one-time codes, account and phone numbers, not years or 4-digit ids
            found.append(digits)
    return list(dict.fromkeys(found))


# ----------------------------------------------------------------- evidence


@dataclass
class Evidence:
    """One piece of text the planner has seen, with who wrote it."""

    source: EvidenceSource
    text: str
    ref: str = ""
    """What it was: 'message <id> from x@y', 'agenda result', 'your message'."""
    who: str = ""
    """The outside author (an address or name), for untrusted pieces."""
    tool: str = ""
    """The read tool that returned it ('' for messages in the thread)."""
    _canon: str = field(default="", repr=False)
    _digits: str = field(default="", repr=False)

    @property
    def canonical(self) -> str:
        """The normalised text (computed once)."""
        if not self._canon and self.text:
            self._canon = canon(self.text)
        return self._canon

    @property
    def digits(self) -> str:
        """Only the digits of the text, for codes and numbers written with separators."""
        if not self._digits and self.text:
            self._digits = re.sub(r"\D", "", self.canonical)
        return self._digits

    def holds_token(self, token: str) -> bool:
        """Whether a risky token occurs here (numbers and IBANs also without their spaces)."""
        if self.contains(token):
            return True
        if token.isdigit():
            return token in self.digits
        return "@" not in token and "/" not in token and token in self.canonical.replace(" ", "")

    def contains(self, value: str) -> bool:
        """Whether the normalised value occurs in this text as a whole term."""
        if not value:
            return False
        hay = self.canonical
        at = hay.find(value)
        while at >= 0:
            before = hay[at - 1] if at else " "
            after = hay[at + len(value)] if at + len(value) < len(hay) else " "
            if not (before.isalnum() or before in "@_") and not (after.isalnum() or after in "@_"):
                return True
            at = hay.find(value, at + 1)
        return False

    def passage(self, value: str = "", width: int = 90) -> str:
        """A short quote of the text around ``value`` (or its start), for the card."""
        text = " ".join(self.text.split())
        at = text.casefold().find(value.casefold()) if value else -1
        if at < 0:
            return text[:width] + ("..." if len(text) > width else "")
        start = max(0, at - width // 2)
        piece = text[start : start + width]
        return ("..." if start else "") + piece + ("..." if start + width < len(text) else "")


def tainted_by(evidence: list[Evidence]) -> list[Evidence]:
    """The outside content in a conversation, newest first (empty: the turn is clean)."""
    return [e for e in reversed(evidence) if e.source == "untrusted"]


# ----------------------------------------------------------------- tracing


def _shingles(words: list[str], n: int = 5) -> set[tuple[str, ...]]:
    if len(words) < n:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _result(source: Source, ev: Evidence | None = None, value: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"source": source, "label": LABELS[source], "ref": ""}
    if ev is not None:
        out["ref"] = ev.ref
        if ev.who:
            out["who"] = ev.who
        if source in FLAGGED:
            out["passage"] = ev.passage(value)
    if source in FLAGGED and out.get("who"):
        out["label"] = (
            f"from UNTRUSTED content by {out['who']}"
            if source == "untrusted"
            else f"written after reading content by {out['who']} (possibly steered)"
        )
    return out


def _best(value: str, evidence: list[Evidence], identifier: bool) -> Evidence | None:
    # Ids prove which record an action is about, never what it says or whom it reaches.
    pool = evidence if identifier else [e for e in evidence if e.source != "identifier"]
    hits = [e for e in pool if e.contains(value)]
    return min(hits, key=lambda e: _RANK[e.source]) if hits else None


def _trace_choice(
    part: str,
    evidence: list[Evidence],
    taint: list[Evidence],
    identifier: bool,
    now: datetime | None = None,
    timed: bool = False,
) -> dict[str, Any]:
    value = canon(part)
    if not value:
        return _result("model")
    found = _best(value, evidence, identifier)
    if found is None and timed:
        found = _time_source(part, evidence, now)
    if found is None and re.fullmatch(r"[\d\s+./-]+", value):
        digits = re.sub(r"\D", "", value)
        if len(digits) >= 6:
            found = min(
                (e for e in evidence if digits in e.digits),
                key=lambda e: _RANK[e.source],
                default=None,
            )
    if found is not None:
        return _result(found.source, found, part)
    if taint:
        return _result("steered", taint[0], part)
    return _result("model")


def _trace_text(part: str, evidence: list[Evidence], taint: list[Evidence]) -> dict[str, Any]:
    words = _words(canon(part))
    if not words:
        return _result("model")
    mine = _shingles(words)
    copied: tuple[float, Evidence] | None = None
    own: tuple[float, Evidence] | None = None
    for ev in evidence:
        if ev.source == "identifier":
            continue
        theirs = _shingles(_words(ev.canonical))
        shared = len(mine & theirs)
        if not mine or not shared:
            continue
        share = shared / len(mine)
        if ev.source in TRUSTED and share >= 0.5 and (own is None or share > own[0]):
            own = (share, ev)
        # A quoted instruction inside a longer body is what must be visible: a few
        # copied five-word runs are enough, not half the text.
        if ev.source == "untrusted" and share >= 0.2 and shared >= 3:
            if copied is None or share > copied[0]:
                copied = (share, ev)
    if copied is not None and (own is None or own[0] < copied[0]):
        out = _result("untrusted", copied[1])
        out["share"] = round(copied[0], 2)
        return out
    for token in risky_tokens(part):
        holders = [e for e in evidence if e.source != "identifier" and e.holds_token(token)]
        if any(e.source in TRUSTED for e in holders):
            continue
        outside = [e for e in holders if e.source == "untrusted"]
        if outside:
            return _result("untrusted", outside[0], token)
        if taint:
            return _result("steered", taint[0], token)
    if own is not None:
        out = _result(own[1].source, own[1])
        if own[0] < 1.0:
            out["share"] = round(own[0], 2)
        return out
    return _result("model")


_WEEKDAYS = (
    ("monday", "mon", "mandag", "montag"), ("tuesday", "tue", "tirsdag", "dienstag"),
    ("wednesday", "wed", "onsdag", "mittwoch"), ("thursday", "thu", "torsdag", "donnerstag"),
    ("friday", "fri", "fredag", "freitag"), ("saturday", "sat", "lørdag", "samstag"),
    ("sunday", "sun", "søndag", "sonntag"),
)  # fmt: skip
_MONTHS = (
    ("january", "jan", "januar"), ("february", "feb", "februar"), ("march", "mar", "marts",
    "märz"), ("april", "apr"), ("may", "maj", "mai"), ("june", "jun", "juni"),
    ("july", "jul", "juli"), ("august", "aug"), ("september", "sep", "sept"),
    ("october", "oct", "oktober", "okt"), ("november", "nov"), ("december", "dec", "dezember",
    "dez"),
)  # fmt: skip
_PARTS = (
    (5, 12, ("morning", "formiddag", "morgen", "vormittag")),
    (12, 18, ("afternoon", "eftermiddag", "nachmittag", "midday", "noon", "lunch")),
    (17, 23, ("evening", "tonight", "aften", "abend")),
)


def _time_forms(value: str, now: datetime | None, loose: bool) -> tuple[list[str], list[str]]:
    """How people write the day and the hour of an ISO time; ([], []) for anything else.

    ``loose`` adds parts of the day ("Thursday afternoon" for 14:00): fair for the
    principal's own words, too vague to call a value copied from someone else's.
    """
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return [], []
    if now is not None and when.tzinfo is not None and now.tzinfo is not None:
        when = when.astimezone(now.tzinfo)
    d = when.date()
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(d.day % 10 if d.day not in (11, 12, 13) else 0, "th")
    days = [*_WEEKDAYS[d.weekday()], d.isoformat(), f"{d.day}{suffix}", f"{d.day}/{d.month}",
            f"{d.month}/{d.day}", f"{d.day}.{d.month}", f"{d.day:02d}.{d.month:02d}"]  # fmt: skip
    days += [f"{d.day} {m}" for m in _MONTHS[d.month - 1]]
    days += [f"{m} {d.day}" for m in _MONTHS[d.month - 1]]
    if now is not None:
        gap = (d - now.date()).days
        days += {0: ["today", "i dag", "heute"], 1: ["tomorrow", "i morgen", "morgen"]}.get(gap, [])
    if len(value.strip()) <= 10:  # a date alone
        return days, []
    h, m = when.hour, when.minute
    h12 = h % 12 or 12
    ampm = "am" if h < 12 else "pm"
    hours = [f"{h}:{m:02d}", f"{h:02d}:{m:02d}", f"{h}.{m:02d}", f"{h12}:{m:02d}{ampm}",
             f"{h12}:{m:02d} {ampm}"]  # fmt: skip
    if m == 0:
        hours += [f"{h12}{ampm}", f"{h12} {ampm}", f"at {h12}", f"at {h}", f"kl. {h}", f"kl {h}",
                  f"um {h}", f"{h} uhr"]  # fmt: skip
    if loose:
        hours += [w for lo, hi, words in _PARTS if lo <= h < hi for w in words]
    return days, hours


def _time_source(value: str, evidence: list[Evidence], now: datetime | None) -> Evidence | None:
    """The best evidence naming this time by its day and hour, if any."""
    best: Evidence | None = None
    for ev in evidence:
        if ev.source == "identifier":
            continue
        days, hours = _time_forms(value, now, loose=ev.source in TRUSTED)
        if not days or not any(ev.contains(canon(x)) for x in days):
            continue
        if hours and not any(ev.contains(canon(x)) for x in hours):
            continue
        if best is None or _RANK[ev.source] < _RANK[best.source]:
            best = ev
    return best


def _flatten(value: Any) -> list[str]:
    if value is None or isinstance(value, bool):
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, int | float):
        return [str(value)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _flatten(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _flatten(v)]
    return [str(value)]


_ORDER: dict[str, float] = {**_RANK, "model": 2.5, "steered": 4.0}


def trace_value(
    value: Any,
    evidence: list[Evidence],
    name: str = "",
    *,
    taint: list[Evidence] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The source of one argument value (a list is as trustworthy as its worst item).

    ``now`` reads "today" and "tomorrow" in the principal's words for time arguments.
    """
    taint = taint if taint is not None else tainted_by(evidence)
    identifier = name in ID_ARGS
    timed = name in TIME_ARGS
    choosing = identifier or timed or name in CHOOSING_ARGS
    worst: dict[str, Any] | None = None
    for part in _flatten(value):
        if choosing:
            found = _trace_choice(part, evidence, taint, identifier, now, timed)
        else:
            found = _trace_text(part, evidence, taint)
        if worst is None or _ORDER[found["source"]] > _ORDER[worst["source"]]:
            worst = found
    return worst or _result("model")


def overlaps(value: Any, ev: Evidence) -> bool:
    """Whether a value shares words with a piece of evidence (for "draws on" citations)."""
    theirs = _shingles(_words(ev.canonical), 4)
    for part in _flatten(value):
        c = canon(part)
        words = _words(c)
        if len(words) < 4:
            if len(c) >= 3 and ev.contains(c):
                return True
        elif _shingles(words, 4) & theirs:
            return True
    return False


def trace_args(
    args: dict[str, Any], evidence: list[Evidence], now: datetime | None = None
) -> dict[str, dict[str, Any]]:
    """Provenance of every argument of a call (``now``: the moment it is proposed)."""
    taint = tainted_by(evidence)
    return {
        name: trace_value(value, evidence, name, taint=taint, now=now)
        for name, value in args.items()
    }


def untrusted_warnings(provenance: dict[str, dict[str, Any]]) -> list[str]:
    """Card warnings for arguments copied from, or steered by, content someone else wrote."""
    out = []
    for name, info in provenance.items():
        source = info.get("source")
        if source not in FLAGGED:
            continue
        who = info.get("who") or "someone outside"
        where = f" ({info['ref']})" if info.get("ref") else ""
        quote = f': "{info["passage"]}"' if info.get("passage") else ""
        if source == "untrusted":
            out.append(
                f"'{name}' comes from untrusted content written by {who}{where}{quote}. "
                "Check it was not planted there."
            )
        else:
            out.append(
                f"'{name}' was written after reading content by {who}{where} and is possibly "
                f"steered by it{quote}. Check it is what you want."
            )
    return out


def trusted_choices(
    provenance: dict[str, dict[str, Any]], args: dict[str, Any], chooses: frozenset[str]
) -> bool:
    """Whether every argument that chooses something comes from the principal or their data.

    Call it for a turn that read nothing from outside: there a value the secretary wrote
    ("Thursday at 9" turned into a time) can only have come from the principal's words.
    """
    for name in args:
        if name in chooses and provenance.get(name, {}).get("source") not in (*TRUSTED, "model"):
            return False
    return True
