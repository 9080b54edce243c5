"""Phishing and fraud: the signs a message carries, and whether they add up to a warning.

A sign is *strong* when it is enough on its own (a look-alike of a brand's
domain, a display name that shows another address, a link whose text names a
bank while it leads elsewhere, changed bank details against the invoice
ledger), *supporting* when it only counts together with bait (a reply-to on
another domain, a shortened link, a free-mail sender that calls itself a
company). *Bait* is what the message wants: a log-in, a code, a payment, gift
cards, new bank details, a prize to claim. A message is phishing when it has a
strong sign, or bait with at least one supporting sign.

Nothing here trusts the sender's own word: a no-reply address, a list header or
a known contact does not clear a message. A contact's address can be hijacked,
so their mail still gets the bait check (a log-in link to somewhere that is not
theirs, gift cards, new bank details).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from tools.invoice_parse import IBAN_RE
from tools.providers.mime import bare_address, decode_words
from tools.triage import language as words
from tools.triage.domains import (
    brands,
    country_trick,
    fold,
    impersonation,
    is_ip,
    known_suffix,
    mixed_script,
    registrable,
    unicode_host,
)
from tools.triage.mail import new_text

if TYPE_CHECKING:
    from tools.foundation.principals import Principal
    from tools.triage.mail import History, Incoming

_RISKY_ATTACHMENTS = re.compile(
    r"\.(html?|shtml|xhtml|svg|iso|img|exe|scr|js|jse|vbs|vbe|wsf|lnk|hta|bat|cmd|ps1|msi|"
    r"jar|docm|xlsm|pptm|one|r\d\d|ace|arj)$",
    re.I,
)
_SERVICE_WORDS = {
    "security", "sikkerhed", "sicherheit", "support", "service", "services", "team", "account",
    "accounts", "konto", "kundeservice", "kundenservice", "customer", "care", "billing", "alert",
    "alerts", "notification", "notifications", "online", "center", "centre", "help", "desk",
    "info", "no-reply", "noreply", "official", "verification", "id", "the", "your", "dit", "din",
    "ihr", "kunde", "kunden", "mail", "email", "e-mail", "inc", "ltd", "gmbh", "a/s", "as", "ag",
    "express", "delivery", "levering", "zustellung", "paket", "pakke", "parcel", "tracking",
    "system", "admin", "administrator", "department", "dept", "payments", "wallet", "business",
}  # fmt: skip
_DOCUMENT = re.compile(
    r"invoice|payment|remittance|advice|document|doc|scan|fax|voice|statement|receipt|order|"
    r"contract|faktura|betaling|kvittering|rechnung|zahlung|beleg|auftrag|lonseddel|payslip",
    re.I,
)
"""Names of attachments that pose as business papers."""


@dataclass
class Assessment:
    """What the phishing check found."""

    strong: list[str] = field(default_factory=list)
    support: list[str] = field(default_factory=list)
    bait: list[str] = field(default_factory=list)

    @property
    def phishing(self) -> bool:
        """Strong evidence, or bait with supporting evidence."""
        return bool(self.strong) or (bool(self.bait) and bool(self.support))

    def reasons(self) -> list[str]:
        """The signs in the order they weigh (for the verdict's reason)."""
        return [*self.strong, *self.support, *(f"it {b}" for b in self.bait)]


class _Links(HTMLParser):
    """Collect (href, visible text) pairs of an HTML body."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, " ".join("".join(self._text).split())))
            self._href = None


def links(html: str, text: str) -> list[tuple[str, str]]:
    """(target URL, shown text) of every link: HTML anchors, then bare URLs in the text."""
    found: list[tuple[str, str]] = []
    if html:
        parser = _Links()
        try:
            parser.feed(html)
        except Exception:  # noqa: BLE001 - broken HTML has no links to judge
            parser.links = parser.links or []
        found.extend((h.strip(), t) for h, t in parser.links if h.strip())
    for m in re.finditer(r"\b(?:https?://|www\.)[^\s<>\"')\]]+", text, re.I):
        url = m.group(0).rstrip(".,;:!")
        found.append((url if "://" in url else "http://" + url, ""))
    return found[:200]


def _host(url: str) -> str:
    try:
        return (urlparse(url).hostname or "").lower()
    except ValueError:
        return ""


def _shown_host(text: str) -> str:
    m = re.match(r"^\s*(?:https?://)?((?:[\w-]+\.)+[a-z]{2,})(?:[/:?#]|\s*$)", text, re.I)
    host = m.group(1).lower() if m else ""
    return host if host and known_suffix(host) else ""  # "plan_v2.docx" is a file, not a site


_FORWARD = re.compile(
    r"^\s*(-{2,}\s*(original message|forwarded message|videresendt (meddelelse|besked)|"
    r"oprindelig (meddelelse|besked)|weitergeleitete nachricht|ursprungliche nachricht|"
    r"urspr.ngliche nachricht|vidarebefordrat meddelande)|begin forwarded message|"
    r"(from|fra|von|fr.n):\s.+\n\s*(sent|sendt|gesendet|date|dato|datum|skickat):)",
    re.I | re.M,
)


def own_words(body: str) -> str:
    """The sender's own text: everything before a forwarded or quoted message's header block."""
    m = _FORWARD.search(body)
    return new_text(body[: m.start()] if m else body)


def _display(mail: Incoming) -> str:
    sender = mail.message.sender
    display = sender.rpartition("<")[0] if "<" in sender else ""
    return decode_words(display).strip().strip('"').strip()


def _names_in(display: str) -> list[str]:
    """The person names a display name may hold, as the address book writes them.

    'Brenner, Klaus' gives 'Klaus Brenner'; 'CleanCph ApS - Dorthe Nielsen' also 'Dorthe Nielsen'.
    """
    names = [display]
    if display.count(",") == 1:
        last, first = (p.strip() for p in display.split(","))
        names.append(f"{first} {last}")
    for part in re.split(r"\s+[-|–/]\s+|[()]", display):
        part = part.strip()
        if part and part != display:
            names.append(part)
    return names


def _bare_brand_name(display: str, brand_names: list[str]) -> bool:
    """Whether a display name is just a brand with service words ('PayPal Security Team')."""
    rest = fold(display)
    for name in sorted(brand_names, key=len, reverse=True):
        rest = rest.replace(fold(name), " ")
    tokens = [t for t in re.split(r"[\s,.:;|()\[\]/&+-]+", rest) if t]
    return all(t in _SERVICE_WORDS or t.isdigit() for t in tokens)


_COUNTRY_OF_TLD = {"uk": "GB", "gr": "GR", "at": "AT", "ch": "CH"}


def _country(domain: str) -> str:
    """The IBAN country code a domain's ending stands for ('' for .com and other generic ones)."""
    tld = domain.rpartition(".")[2].lower()
    if len(tld) != 2:
        return ""
    return _COUNTRY_OF_TLD.get(tld, tld.upper())


def assess(
    mail: Incoming, principal: Principal, history: History, report: bool = False
) -> Assessment:
    """The phishing signs of one message (see the module's docstring for how they weigh).

    Args:
        mail: The message.
        principal: Whose inbox it is.
        history: What is known of the sender and thread.
        report: The message is a mail system's delivery report (a mail server may call
            itself "Microsoft Exchange" and speak of a full mailbox; its links still count).
    """
    out = Assessment()
    catalogue = brands()
    m = mail.message
    addr = mail.address
    host = addr.rpartition("@")[2]
    sender_reg = registrable(host) if host else ""
    contact = history.contact(addr) if addr else None
    display = _display(mail)
    html = mail.part_text("text/html")
    body = m.body or ""
    forwarded = bool(re.match(r"^\s*(fwd?|fw|vs|wg|tr|doorst)\s*:", m.subject, re.I))
    colleague = bool(host) and registrable(host) == registrable(principal.email.rpartition("@")[2])
    if contact is not None or colleague or addr == principal.email.lower():
        # Someone she knows answers for what they wrote, not for what they quote or forward
        # ("is this real?" about a phishing mail is not phishing).
        body = own_words(body)
        if forwarded or _FORWARD.search(mail.message.body or ""):
            html = ""
    reply = re.match(r"^\s*((re|aw|sv|antw|ant)\s*(\[\d+\])?\s*:\s*)+", m.subject, re.I)
    in_her_thread = any(history.wrote(r) for r in [m.in_reply_to, *m.references][:6] if r)
    # A reply in her own thread inherits her subject ("SV: Har I skiftet bank?"): only its
    # new text speaks. A "RE:" outside her threads is the sender's own subject.
    head = f"{'' if reply and in_her_thread else m.subject}\n{body[:6000]}"
    folded = words.prepare(head)
    denial = words.found("not_changed", folded)
    principal_reg = registrable(principal.email.rpartition("@")[2])

    # ---- bait: what the message wants
    for concept, what in (
        ("bait_credentials", "asks for a log-in, a code or account details"),
        ("bait_payment", "asks for a payment, a fee, gift cards or a transfer"),
        ("bank_change", "announces new bank details"),
        ("scam", "promises money or threatens exposure"),
    ):
        phrase = words.found(concept, folded)
        if concept == "bank_change" and denial:
            phrase = ""
        if phrase and not (report and concept == "bait_credentials"):
            out.bait.append(f"{what} ('{phrase}')")
    secrecy = words.found("secrecy", folded)

    # ---- the sender
    known = {principal_reg: principal.organisation or principal_reg}
    for d in sorted(history.domains())[:5000]:
        reg = registrable(d)
        if reg and not catalogue.shared_host(reg):
            known.setdefault(reg, reg)
    for other in [*m.to, *m.cc][:20]:
        d = registrable(bare_address(other).rpartition("@")[2])
        if d and not catalogue.shared_host(d):
            known.setdefault(d, d)
    protected = tuple(sorted(known.items()))  # once: every host is checked against it
    named_brands = catalogue.named_in(f"{display}\n{m.subject}\n{body[:3000]}")
    claimed = catalogue.named_in(display) if display else []
    claimed += [b for b in catalogue.named_in(m.subject) if b not in claimed]

    if contact is None and host:
        pretence = impersonation(host, protected)
        if pretence is not None:
            is_named = any(b.name == pretence.brand for b in named_brands) or (
                pretence.brand == known.get(principal_reg)
            )
            text = f"the sender's domain {pretence.how}"
            if pretence.lookalike or (not pretence.near and (is_named or out.bait)):
                out.strong.append(text)
            elif pretence.near and (is_named or out.bait):
                out.strong.append(text)
            else:
                out.support.append(text)

    if host and contact is None:
        reads_like = country_trick(host)
        if reads_like:
            (out.strong if out.bait else out.support).append(
                f"{sender_reg} reads like {reads_like}, but is not it"
            )
    odd = mixed_script(f"{display} {m.subject}")
    if odd:
        out.strong.append(
            f"'{odd}' mixes letters of different alphabets, to look like another name"
        )

    shown = re.search(r"[\w.+-]+@([\w-]+\.[\w.-]+)", display)
    if shown and registrable(shown.group(1)) != sender_reg and " via " not in f" {display} ":
        out.strong.append(f"the display name shows {shown.group(0)} but it came from {addr}")

    bare_claim = ""
    if contact is None and display and host and sender_reg != principal_reg and not report:
        for brand in catalogue.named_in(display):
            if brand.owns(host) and not catalogue.shared_host(host):
                continue
            bare = _bare_brand_name(display, [*brand.names, *brand.marks])
            if catalogue.shared_host(host):
                out.strong.append(
                    f"it calls itself {brand.name} but writes from a free-mail address"
                )
            elif bare:
                # A brand's own name alone, from a domain that is not the brand's: strong once
                # it wants something or links elsewhere (a brand also mails from domains this
                # list lacks); decided after the links are read.
                bare_claim = f"it calls itself {brand.name} but writes from {sender_reg}"
            else:
                out.support.append(f"its name mentions {brand.name}; it writes from {sender_reg}")
            break

    owned = catalogue.owner(host) if host else None
    impersonated = None
    if display and contact is None and owned is None:
        for name in _names_in(display):
            impersonated = history.named(name)
            if impersonated is not None:
                break
    if impersonated is not None and impersonated.email.lower() != addr:
        text = f"it carries the name of your contact {impersonated.name} but not their address"
        theirs = registrable(impersonated.email.rpartition("@")[2])
        near = impersonation(host, {theirs: theirs}) if host else None
        refs = [r for r in [m.in_reply_to, *m.references] if r][:5]
        threaded = any(history.wrote(r) for r in refs)
        if threaded:
            text += ", answering in your own thread"
        locked = words.found("archive_password", folded)
        strong = out.bait or secrecy or near or threaded or locked
        if words.found("private_channel", folded) and not strong:
            text += " (it says it writes from a private address)"
        (out.strong if strong else out.support).append(text)

    auth = mail.header("Authentication-Results").lower()
    if "dmarc=fail" in auth or ("spf=fail" in auth and "dkim=pass" not in auth):
        text = "the sender's domain failed authentication"
        (out.strong if claimed or out.bait else out.support).append(text)

    reply_to = bare_address(mail.header("Reply-To")).lower()
    reply_reg = registrable(reply_to.rpartition("@")[2]) if "@" in reply_to else ""
    if reply_reg and sender_reg and reply_reg != sender_reg and owned is None:
        out.support.append(f"replies would go to {reply_to}, not to the sender's domain")

    if contact is None and catalogue.shared_host(host) and claimed:
        out.support.append(f"it writes for {claimed[0].name} from a free-mail address")

    # ---- links and attachments
    brand_of_message = claimed[0] if claimed else (named_brands[0] if named_brands else None)
    foreign: list[str] = []
    for url, text in links(html, body):
        target = _host(url)
        if not target:
            continue
        target_reg = registrable(target)
        shown_host = _shown_host(text)
        same_owner = catalogue.owner(shown_host) is not None and (
            catalogue.owner(shown_host) == catalogue.owner(target)
        )
        if shown_host and registrable(shown_host) != target_reg and not same_owner:
            owner = catalogue.owner(shown_host)
            stem = registrable(shown_host).split(".")[0]
            mimic = len(stem) >= 5 and stem.replace("-", "") in target_reg.replace("-", "")
            tracked = target_reg in catalogue.trackers or any(
                target.endswith("." + t) for t in catalogue.trackers
            )
            if (
                owner is not None
                or registrable(shown_host) in (principal_reg, sender_reg)
                or mimic
                or not tracked
            ):
                out.strong.append(f"a link shows {shown_host} but leads to {target}")
            else:
                out.support.append(f"a link shows {shown_host} but leads to {target}")
        pretence = impersonation(target, protected)
        if pretence is not None:
            is_named = any(b.name == pretence.brand for b in named_brands) or (
                pretence.brand in known.values()
                and (
                    catalogue.shared_host(target)
                    or target_reg.rpartition(".")[2] in catalogue.risky_tlds
                )
            )
            text_ = f"a link goes to {unicode_host(target)}, which {pretence.how.split(' ', 1)[1]}"
            if (
                pretence.lookalike
                or (is_named and not pretence.near)
                or (pretence.near and is_named and out.bait)
            ):
                out.strong.append(text_)
            else:
                out.support.append(text_)
        if is_ip(target):
            out.support.append(f"a link goes to a bare IP address ({target})")
        elif target_reg in catalogue.shorteners:
            out.support.append(f"a link is shortened ({target}), hiding where it goes")
        elif target.startswith("xn--") or ".xn--" in target:
            out.support.append(f"a link goes to {unicode_host(target)} (spelled in other letters)")
        elif target_reg.rpartition(".")[2] in catalogue.risky_tlds and target_reg != sender_reg:
            out.support.append(f"a link goes to {target_reg}")
        if (
            target_reg != sender_reg
            and catalogue.owner(target) is None
            and target_reg not in (principal_reg,)
        ):
            foreign.append(target_reg)
    if bare_claim:
        wants = out.bait or secrecy or foreign or m.attachments
        (out.strong if wants else out.support).append(bare_claim)
    if brand_of_message is not None and foreign and out.bait and not brand_of_message.owns(host):
        out.support.append(
            f"it speaks for {brand_of_message.name}, but its links go to {foreign[0]}"
        )
    if contact is not None and foreign and words.found("bait_credentials", folded):
        theirs = registrable(contact.email.rpartition("@")[2])
        others = [f for f in foreign if f != theirs]
        if others:
            out.strong.append(
                f"it comes from your contact's address but asks you to log in at {others[0]}"
                " (their mailbox may be hijacked)"
            )
    for name in m.attachments:
        if _RISKY_ATTACHMENTS.search(name.strip()):
            if re.search(r"\.(s?html?|xhtml|svg)$", name.strip(), re.I) and _DOCUMENT.search(name):
                out.strong.append(
                    f"it attaches {name}: a web page dressed as a document, a log-in trap"
                )
            else:
                out.support.append(f"it attaches {name}, a file type that runs or opens a web page")
            break
        if (
            contact is None
            and re.search(r"\.(zip|7z|rar)$", name.strip(), re.I)
            and _DOCUMENT.search(name)
        ):
            out.support.append(f"it sends {name}: a document packed in an archive")
            break
    locked = words.found("archive_password", folded)
    if locked:
        archive = next(
            (a for a in m.attachments if re.search(r"\.(zip|7z|rar|gz|tgz|iso|img)$", a, re.I)),
            "",
        )
        if archive:
            out.strong.append(
                f"it attaches {archive} locked with a password the mail gives ('{locked}'), "
                "the way malware passes scanners"
            )
        else:
            out.support.append(f"it gives a password for an attachment ('{locked}')")

    # ---- fraud shapes that need no link
    gift = words.found("bait_payment", folded)
    if gift and re.search(r"gift ?card|gavekort|geschenk|gutschein|itunes|google play|steam", gift):
        if secrecy or words.found("gift_codes", folded):
            out.strong.append("it asks for gift cards and their codes, a classic fraud")
    if words.found("bank_change", folded) and not denial:
        ibans = {i.replace(" ", "") for i in IBAN_RE.findall(f"{body[:20000]}".upper())}
        before = history.ibans(addr) if addr else set()
        if before and ibans and not ibans & before:
            out.strong.append(
                "it gives an IBAN the invoice ledger has never seen for this sender; "
                "confirm the change by phone before paying"
            )
        country = _country(sender_reg)
        abroad = sorted({i[:2] for i in ibans if country and i[:2] != country})
        if abroad:
            out.support.append(
                f"the new account is in {', '.join(abroad)}, not where the sender is ({country})"
            )
        if secrecy:
            out.strong.append("it changes where to pay and asks you not to check by phone")
        refs = [r for r in [m.in_reply_to, *m.references] if r][:5]
        if any(history.wrote(r) for r in refs):
            out.support.append(
                "it changes where to pay in the middle of your thread, the way a hijacked "
                "mailbox does"
            )
    private = words.found("private_channel", folded)
    if (secrecy or private) and words.found("bait_payment", folded):
        out.strong.append("it asks for a discreet payment")
    scams = {m.group(0) for m in words.matches("scam", folded)}
    if contact is None and len(scams) >= 2:
        out.strong.append(f"it reads like a known scam ({'; '.join(sorted(scams)[:2])})")
    if host and contact is None and out.bait and owned is None:
        parts = set(re.split(r"[-.]", sender_reg.partition(".")[0]))
        if len(parts) > 1 and parts & {
            "service",
            "support",
            "verify",
            "secure",
            "login",
            "portal",
            "payment",
            "billing",
            "update",
            "kundeservice",
            "konto",
        }:
            out.support.append(f"{sender_reg} is a name with a service word tacked on")
    if (
        contact is None
        and any(b.startswith("promises") for b in out.bait)
        and (catalogue.shared_host(host) or reply_reg or words.found("greeting_generic", folded))
    ):
        out.support.append("an unsolicited offer of money")
    greeting = words.found("greeting_generic", words.prepare(body[:300]))
    if greeting and out.bait and contact is None:
        out.support.append(f"it greets nobody in particular ('{greeting}')")
    if (contact is not None or colleague) and forwarded and words.found("asks_if_real", folded):
        # "Is this real?" about a forwarded message: the question is theirs, the bait is not.
        out.strong, out.support, out.bait = [], [], []
    out.strong = list(dict.fromkeys(out.strong))
    out.support = list(dict.fromkeys(out.support))
    return out
