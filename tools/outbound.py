"""Outbound mail: the one way a duty writes, threads, signs, marks and sends an e-mail.

Every duty that mails someone builds the message here and hands it to :func:`send`
(or :func:`save_draft`), so the rules that protect the principal hold for all of them:

- addresses are checked and written one way (:func:`addresses`, :func:`one_address`);
- a reply keeps its thread (``In-Reply-To``, ``References``, ``Re:`` subject);
- the sign-off is written once (:func:`signed`): the principal's signature, or a
  closing and the name when no signature is set;
- mail sent on a standing policy, without a person's decision, is marked
  ``Auto-Submitted`` (RFC 3834) so no autoresponder answers it and no loop starts;
- each backend call of one approved action gets its own key derived from the
  action's key (:func:`sub_key`), so a retried action sends nothing twice;
- the card warns about recipients outside the contacts and, for an industry
  pack, about mail leaving the organisation (:func:`recipient_warnings`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Literal

from tools.base import ToolError
from tools.context import ToolContext
from tools.providers.base import Message, OutgoingMessage, SentReceipt
from tools.providers.mime import bare_address, compose_reply, parse_addresses

log = logging.getLogger(__name__)

AUTO_SUBMITTED = "Auto-Submitted"
"""The RFC 3834 header; its value says whether the mail answers one (``auto-replied``)."""

Kind = Literal["new", "reply"]


# ------------------------------------------------------------------ addresses


def addresses(values: str | Iterable[str], label: str) -> list[str]:
    """Checked addresses (``Name <addr>`` kept, duplicates dropped), or a ToolError.

    Args:
        values: One string (commas or semicolons allowed) or a list of them.
        label: The field the model filled in ("To", "cc"), named in the error.
    """
    try:
        return parse_addresses(values)
    except ValueError as exc:
        raise ToolError(f"{label}: {exc}") from None


def one_address(value: str, label: str, example: str = "dana@acme.com") -> str:
    """Exactly one checked address, as written (``Name <addr>`` or ``addr``).

    Compare or store it with :func:`~tools.providers.mime.bare_address`, which gives
    the lowercase address alone.
    """
    found = addresses(value, label)
    if len(found) != 1:
        raise ToolError(f"{label}: give exactly one e-mail address, like {example}.")
    return found[0]


# -------------------------------------------------------------------- compose


def signed(ctx: ToolContext, text: str, closing: str = "") -> str:
    """``text``, a blank line and the sign-off, written once.

    The principal's signature is the whole sign-off (it carries its own closing,
    "Kind regards, Ada"); without one, ``closing`` (if any) and the principal's name.
    """
    signature = ctx.principal.signature.strip()
    if not signature:
        signature = f"{closing}\n{ctx.principal.name}" if closing else ctx.principal.name
    return f"{text.rstrip()}\n\n{signature}\n"


def compose(
    to: str | Iterable[str],
    subject: str,
    body: str,
    cc: Iterable[str] = (),
    bcc: Iterable[str] = (),
    *,
    answering: Message | None = None,
) -> OutgoingMessage:
    """A new message with checked addresses and a one-line subject.

    With ``answering``, the message joins that message's thread (``In-Reply-To`` and
    ``References``); the subject is kept as given.
    """
    message = OutgoingMessage(
        to=addresses(to, "To"),
        cc=addresses(list(cc), "Cc"),
        bcc=addresses(list(bcc), "Bcc"),
        subject=" ".join(subject.split()),
        body=body,
    )
    return threaded(message, answering) if answering is not None else message


def threaded(message: OutgoingMessage, original: Message) -> OutgoingMessage:
    """``message`` placed in ``original``'s conversation (In-Reply-To, References)."""
    return message.model_copy(
        update={
            "in_reply_to": original.message_id,
            "references": [*original.references, original.message_id],
        }
    )


def reply(
    ctx: ToolContext,
    original: Message,
    body: str,
    reply_all: bool = False,
    otherwise: str = "use send_email with an explicit recipient.",
) -> OutgoingMessage:
    """A threaded ``Re:`` reply from the principal with the original quoted below.

    Raises:
        ToolError: when the original has no address to answer; ``otherwise`` says
            what the model can do instead.
    """
    message = compose_reply(original, body, ctx.principal, reply_all=reply_all)
    if not (message.to or message.cc):
        raise ToolError(
            f"Message {original.message_id} has no sender address to reply to; {otherwise}"
        )
    return message


# ------------------------------------------------------------------- warnings

_CONFIDENTIAL = {
    "medical": "Leaves the practice ({who}): it must not carry patient details unless you "
    "name the patient and the recipient when approving.",
    "legal": "Leaves the firm ({who}): check it carries no privileged client information "
    "meant only for the client.",
}


def contact_warnings(ctx: ToolContext, recipients: Iterable[str]) -> list[str]:
    """One line per recipient who is not in the principal's contacts."""
    warnings: list[str] = []
    for addr in recipients:
        try:
            known = ctx.contacts.by_email(bare_address(addr)) is not None
        except Exception:  # the warning is a courtesy; no contacts backend means no warning
            log.debug("contact lookup failed for %s", addr, exc_info=True)
            continue
        if not known:
            warnings.append(f"{bare_address(addr)} is not in your contacts.")
    return warnings


def pack_warnings(ctx: ToolContext, recipients: Iterable[str]) -> list[str]:
    """Industry packs: mail leaving the principal's organisation gets the pack's warning."""
    rule = _CONFIDENTIAL.get(ctx.principal.domain_pack or "")
    if rule is None:
        return []
    home = ctx.principal.email.rpartition("@")[2].lower()
    outside = [bare_address(a) for a in recipients if bare_address(a).rpartition("@")[2] != home]
    return [rule.format(who=", ".join(outside))] if outside else []


def recipient_warnings(ctx: ToolContext, message: OutgoingMessage) -> list[str]:
    """What the card says about a message's recipients: unknown people, then the pack's rule."""
    everyone = [*message.to, *message.cc, *message.bcc]
    return contact_warnings(ctx, everyone) + pack_warnings(ctx, everyone)


# ----------------------------------------------------------------------- send


def sub_key(ctx: ToolContext, part: str = "") -> str:
    """The key for one backend call of the running action.

    Each call of one action gets its own key derived from the action's key, so a retried
    action finds the event and the mail it made the first time. Empty without an action
    key (nothing to deduplicate against), and the action's own key for ``part=""``.
    """
    if not ctx.idempotency_key:
        return ""
    return f"{ctx.idempotency_key}:{part}" if part else ctx.idempotency_key


def marked(ctx: ToolContext, message: OutgoingMessage, kind: Kind = "new") -> OutgoingMessage:
    """``message`` with ``Auto-Submitted`` when it goes out on a standing policy.

    A person's approval leaves the mail unmarked: it is the principal writing.
    """
    if not ctx.approved_by_policy:
        return message
    value = "auto-replied" if kind == "reply" else "auto-generated"
    return message.model_copy(
        update={"extra_headers": {**message.extra_headers, AUTO_SUBMITTED: value}}
    )


def send(
    ctx: ToolContext, message: OutgoingMessage, part: str = "", kind: Kind = "new"
) -> SentReceipt:
    """Send ``message`` once for this action (``part`` names the call within it).

    Raises:
        ProviderError: when the mail service refuses; the tool reports its sentence.
    """
    return ctx.mail.send(marked(ctx, message, kind), sub_key(ctx, part))


def save_draft(
    ctx: ToolContext, message: OutgoingMessage, part: str = "", kind: Kind = "new"
) -> SentReceipt:
    """Keep ``message`` in the drafts folder, once for this action.

    The draft carries the same marks a sent message would, so a draft the principal
    sends later unchanged is no different from one sent here.
    """
    return ctx.mail.save_draft(marked(ctx, message, kind), sub_key(ctx, part))
