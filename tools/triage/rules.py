"""The model-free layer: what headers, history and unambiguous words decide.

A rule decides only where its evidence is strong; everything else is left
``undecided`` (for the model, or shown to the principal as such: never
dropped). In order:

1. the secretary's and the principal's own messages (ignored: loop prevention);
2. phishing and fraud (:mod:`tools.triage.phishing`), before anything that
   trusts the sender: a no-reply address or a list header never clears bait;
3. the host's spam verdict;
4. machine-made mail (:func:`tools.autoreply.detect`): delivery reports are
   reported, automatic replies ignored; any machine mail that obliges the
   principal to act by a date is brought to her (never filed quietly);
   receipts and confirmations are filed, bulk marketing ignored, list
   discussion filed; other machine mail is left to the model;
5. invitations (a decision to make) and answers to them (filed);
6. people she knows or threads she is in: urgency and deadlines within hours
   (outside negations), family and friends, questions and requests (polite
   closers are not requests), replies that ask nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from tools.autoreply import Finding, detect
from tools.providers.mime import bare_address
from tools.triage import language as words
from tools.triage.mail import Action, Category, Verdict, new_text
from tools.triage.phishing import assess

if TYPE_CHECKING:
    from tools.foundation.principals import Principal
    from tools.providers.base import Contact
    from tools.triage.mail import History, Incoming

_PRIVATE_ROLES = ("family", "friend")
_WORK_ROLES = ("colleague", "client", "vendor", "press", "staff", "visitor")
"""Roles whose questions are business: a request from someone with another role (or none) is
as likely private, and left to the model."""


def rules(mail: Incoming, principal: Principal, history: History) -> Verdict:
    """The model-free layer: a decided verdict, or one with action ``undecided``."""
    m = mail.message
    addr = mail.address

    hints: list[str] = []

    def verdict(category: Category, action: Action, reason: str, **flags: bool) -> Verdict:
        return Verdict(
            message_id=m.message_id,
            sender=m.sender,
            subject=m.subject,
            category=category,
            action=action,
            reason=reason,
            source=mail.source,
            warnings=list(mail.notes),
            signs=[] if flags.get("phishing") else hints,
            **flags,
        )

    own = bool(addr) and (addr == principal.email.lower() or addr in history.own_addresses)
    if mail.header("X-Secretary-Principal"):
        return verdict("fyi", "ignore", "sent by the secretary itself", no_auto_reply=True)
    found = detect(mail)
    signs = assess(mail, principal, history, report=found is not None and found.kind == "bounce")
    hints.extend(signs.reasons()[:4])
    if own:
        # Her own address is loop prevention, unless the message is bait she never wrote
        # (sextortion and "your account" mail forge the recipient as the sender).
        scam = [b for b in signs.bait if b.startswith(("promises", "asks for a"))]
        if not (scam and not history.wrote(m.message_id)):
            return verdict(
                "fyi", "ignore", "sent from the principal's own address", no_auto_reply=True
            )
        signs.support.append("it claims to come from your own address")

    spam_flag = mail.header("X-Spam-Flag").lower().startswith("yes") or mail.header(
        "X-Spam-Status"
    ).lower().startswith("yes")
    if signs.phishing:
        return verdict(
            "fyi",
            "notify",
            "possible phishing: "
            + "; ".join(signs.reasons()[:3])
            + ". Do not click, pay or reply.",
            phishing=True,
            spam=spam_flag,
            no_auto_reply=True,
        )
    if spam_flag:
        return verdict(
            "promotional", "ignore", "the mail host marked it as spam",
            spam=True, no_auto_reply=True,
        )  # fmt: skip

    new = new_text(m.body)
    reply = re.match(r"^\s*((re|aw|sv|vs|fwd?|wg|antw|ant)\s*(\[\d+\])?\s*:\s*)+", m.subject, re.I)
    subject = m.subject[reply.end() :] if reply else m.subject
    # A reply inherits its subject's words ("RE: URGENT ..."): only the new text speaks for it.
    text = words.prepare(f"{'' if reply else subject}\n{new[:3000]}")
    if any(b.startswith("announces new bank details") for b in signs.bait):
        return verdict(
            "undecided", "undecided",
            "it announces new bank details: confirm the change by phone, on a number you "
            "already have, before paying anything", no_auto_reply=True,
        )  # fmt: skip
    if found is not None:
        return _automatic(mail, found, text, verdict)

    parts = {t for t, _ in mail.parts()}
    calendar = mail.part_text("text/calendar")
    method = re.search(r"^METHOD:(\w+)", calendar, re.M)
    if "text/calendar" in parts and method and method.group(1).upper() == "REQUEST":
        return _invitation(mail, calendar, history, verdict)
    if "text/calendar" in parts and method and method.group(1).upper() in ("REPLY", "CANCEL"):
        return verdict("fyi", "file", "an answer to or cancellation of a meeting invitation")

    contact = history.contact(addr) or _colleague(mail, principal)
    refs = [r for r in [m.in_reply_to, *reversed(m.references)] if r][:5]
    in_thread = any(history.wrote(r) for r in dict.fromkeys(refs))
    if contact is None and not in_thread:
        return _stranger(mail, text, verdict)

    who = contact.name if contact is not None else "someone in your thread"
    urgent = words.urgency(text) or (
        "" if reply else words.found("today", words.prepare(subject))
    )  # a new mail about today: "Syg i dag - mine patienter i eftermiddag"
    asks = words.request(words.prepare(new[:3000]))
    private = contact is not None and contact.role in _PRIVATE_ROLES
    to_me = principal.email.lower() in {bare_address(a).lower() for a in m.to}
    work = contact is None or contact.role.lower() in _WORK_ROLES
    if contact is not None and contact.role == "other":
        # The book's default role: business when written from a company's domain, open
        # when from free mail (friends write from there).
        from tools.triage.domains import brands

        work = not brands().shared_host(addr.rpartition("@")[2])
    if urgent and work:
        return verdict("urgent", "notify", f"{who} needs it soon ('{urgent}'): {m.subject[:60]}")
    if private:
        if urgent:
            return verdict("undecided", "undecided", f"{who} writes privately and it sounds urgent")
        return verdict("personal", "notify", f"from {who} ({contact.role if contact else ''})")
    if not work:
        return verdict("undecided", "undecided", f"{who} is neither family nor a business contact")
    if (words.fyi_subject(m.subject) or words.found("no_action", text)) and not (
        asks and not words.found("no_action", text)
    ):
        return verdict("fyi", "file", f"{who} sends it for information and asks nothing")
    if asks and (in_thread or to_me) and work and not words.found("private_life", text):
        why = "replies in a thread you wrote in" if in_thread else f"{who} writes to you"
        return verdict("needs-response", "respond", f"{why} and asks something")
    if in_thread and not asks:
        # Shown, not filed: a reply that asks nothing the rules can see may still matter.
        return verdict("fyi", "notify", "a reply in your thread that asks nothing")
    return verdict("undecided", "undecided", "no rule applies; needs the model")


def _automatic(
    mail: Incoming, found: Finding, text: str, verdict: Callable[..., Verdict]
) -> Verdict:
    """Machine-made mail: reported, ignored or filed, never answered; obligations brought up."""

    def machine(category: Category, action: Action, reason: str) -> Verdict:
        return verdict(category, action, reason, no_auto_reply=True)

    if found.kind == "bounce":
        return machine("fyi", "notify", found.reason)
    if found.kind == "auto-reply":
        gone = words.found("gone", words.prepare(mail.message.body[:3000]))
        if gone:
            return machine("fyi", "notify", f"{found.reason}: your mail reached nobody ('{gone}')")
        return machine("fyi", "ignore", found.reason)
    notice = words.found("security_notice", text)
    if notice:
        return machine("fyi", "notify", f"{found.reason}: a notice about your account ('{notice}')")
    duty = words.found("obligation", words.calm(text))
    selling = words.found("commerce", text)
    soon = words.deadline(text)
    broke = words.found("disruption", text)
    if broke:
        if soon or words.found("today", text):
            return machine("urgent", "notify", f"{found.reason}: '{broke}', and it is today")
        return machine("undecided", "undecided", f"{found.reason}: '{broke}'; needs the model")
    if found.kind in ("list", "bulk"):
        # A newsletter talks of deadlines and offers; only its own headers and plain selling
        # decide it. Anything else is for the model, never filed or dropped unseen.
        if duty:
            return machine(
                "undecided",
                "undecided",
                f"{found.reason}, and it names a date ('{duty}'); needs the model",
            )
        if found.kind == "list" and mail.header("List-Post") and not selling:
            return machine("fyi", "file", f"{found.reason}: the list's discussion")
        if selling:
            return machine("promotional", "ignore", f"{found.reason}, selling ('{selling}')")
        return machine(
            "undecided", "undecided", f"{found.reason}; a newsletter or a notice, for the model"
        )
    if duty and selling:
        return machine(
            "undecided",
            "undecided",
            f"{found.reason}: it sells ('{selling}') and sets a date ('{duty}'); needs the model",
        )
    if duty and soon:
        return machine("urgent", "notify", f"{found.reason}, and it must be done soon ('{soon}')")
    if duty and words.found("private_life", text):
        return machine(
            "personal", "notify", f"{found.reason}: a private matter with a date ('{duty}')"
        )
    if duty:
        return machine(
            "needs-response", "notify", f"{found.reason}, but it asks you to act ('{duty}')"
        )
    waiting = words.found("pickup", text)
    if waiting:
        return machine(
            "fyi", "notify", f"{found.reason}: something waits to be collected ('{waiting}')"
        )
    receipt = words.found("receipt", text)
    if receipt:
        return machine("fyi", "file", f"{found.reason}: a confirmation to keep ('{receipt}')")
    footer = words.found("bulk_footer", words.prepare(mail.message.body[-3000:]))
    if selling and footer:
        return machine("promotional", "ignore", f"{found.reason}, selling ('{selling}')")
    return machine("undecided", "undecided", f"{found.reason}; what it is about needs the model")


def _colleague(mail: Incoming, principal: Principal) -> Contact | None:
    """Someone writing from the principal's own organisation's domain, not yet in her book.

    Phishing that forges the domain is looked for before this; free-mail domains never
    count (everyone at gmail.com is not a colleague).
    """
    from tools.providers.base import Contact
    from tools.triage.domains import brands, registrable

    own = registrable(principal.email.rpartition("@")[2])
    host = mail.address.rpartition("@")[2]
    if not host or registrable(host) != own or brands().shared_host(host):
        return None
    name = mail.message.sender.rpartition("<")[0].strip().strip('"') or mail.address
    try:
        return Contact(name=name, email=mail.address, role="colleague")
    except ValueError:
        return None


def _invitation(
    mail: Incoming, calendar: str, history: History, verdict: Callable[..., Verdict]
) -> Verdict:
    """A meeting invitation: a decision to make; today's is urgent, family's personal."""
    m = mail.message
    event = calendar[calendar.find("BEGIN:VEVENT") :] if "BEGIN:VEVENT" in calendar else calendar
    start = re.search(r"^DTSTART[^:\n]*:(\d{8})", event, re.M)
    sent = m.date.strftime("%Y%m%d") if m.date else ""
    if start and sent and start.group(1) == sent:
        return verdict("urgent", "notify", "an invitation to a meeting today")
    contact = history.contact(mail.address)
    if contact is not None and contact.role in _PRIVATE_ROLES:
        return verdict("personal", "notify", f"an invitation from {contact.name}")
    if contact is not None and contact.role not in _WORK_ROLES:
        return verdict("undecided", "undecided", "an invitation; private or business is unclear")
    return verdict("needs-response", "notify", "a meeting invitation to accept or decline")


def _stranger(mail: Incoming, text: str, verdict: Callable[..., Verdict]) -> Verdict:
    """Mail from someone not in the address book, outside her threads."""
    footer = words.found("bulk_footer", words.prepare(mail.message.body[-3000:]))
    selling = words.found("commerce", text)
    if footer and selling and not words.found("obligation", text):
        return verdict(
            "promotional", "ignore", f"mass mail selling something ('{selling}')",
            no_auto_reply=True,
        )  # fmt: skip
    return verdict("undecided", "undecided", "no rule applies; needs the model")
