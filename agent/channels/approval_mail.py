"""Approval requests by e-mail: the request a principal reads, and who a reply is from.

The request shows the whole action (every recipient, the full text in a draft block,
attachments, every warning of the card and where each argument came from) and how to
answer it (``agent.channels.decisions``). It is marked as machine mail (RFC 3834
``Auto-Submitted`` and Exchange's ``X-Auto-Response-Suppress``) so out-of-office
programs leave it alone, and its Message-ID cannot be guessed from the proposal.

A reply is from the principal only when it carries the request's signed token, or when
the operator named the authserv-id of the principal's own receiving server
(``accounts.mail.authserv_id``, RFC 8601) and that server's header - the topmost
``Authentication-Results`` - says DMARC passed for the From domain. Headers from
anywhere else are the sender's word and count for nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from agent.approval import APPROVAL_TOKEN
from agent.channels.decisions import DRAFT_BEGIN, DRAFT_END, REQUEST_OPENING
from tools.providers.base import OutgoingMessage

if TYPE_CHECKING:
    from agent.ledger import Proposal
    from tools.foundation.principals import Principal

Verdict = Literal["pass", "fail", "none"]

TOKEN_RE = APPROVAL_TOKEN
"""The token in a request's subject: proposal id and its signature."""

OWN_HEADERS = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}
"""What every message the desk writes on its own carries (no auto-reply may answer it)."""


def token(key: bytes, principal: str, proposal_id: str) -> str:
    """The signature of one proposal's approval request."""
    msg = f"{principal}:{proposal_id}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()[:16]


def request_key(key: bytes, principal: str, proposal_id: str) -> str:
    """The idempotency key of a request: stable for retries, unguessable without the key.

    The mail providers derive the Message-ID from it, so nobody can forge a reply
    "In-Reply-To" a request they have not seen.
    """
    secret = hmac.new(key, f"request:{principal}:{proposal_id}".encode(), hashlib.sha256)
    return f"approval-request:{principal}:{proposal_id}:{secret.hexdigest()[:24]}"


# ----------------------------------------------------------------- the request


def _value(value: object) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "(none)"
    return str(value)


def request_text(p: Proposal, principal: Principal) -> str:
    """The body of the approval request for one proposal (pure: rendered from the ledger)."""
    from agent.approval import origin

    preview = p.preview
    args = p.effective_args
    draft = args.get("body") if isinstance(args.get("body"), str) else None
    first = principal.name.split()[0] if principal.name.strip() else "Hello"
    out = [f"{first}, {REQUEST_OPENING}:", "", f"  {preview.get('summary') or p.tool}", ""]
    warnings = list(preview.get("warnings") or [])
    if warnings:
        out.append("WARNINGS")
        out += [f"  ! {w}" for w in warnings]
        out.append("")
    out += [
        "Reply to this message with one line:",
        "  approve          (or: yes, ok, send it / godkend, ja / genehmigt, ja)",
        "  reject: reason   (or: no, don't send / afvis, nej / ablehnen, nein)",
    ]
    if draft is not None:
        out += [
            "  edit: new text   (the new text replaces the whole draft below)",
            f"or change the text between the {DRAFT_BEGIN} and {DRAFT_END} lines and send "
            "it back.",
        ]
    out += [
        "Anything else is not a decision: your words go to the secretary as a message and "
        "nothing is sent.",
        "",
    ]
    details = preview.get("details") or {}
    if details:
        out.append("WHAT WILL HAPPEN")
        out += [f"  {label}: {value}" for label, value in details.items()]
        out.append("")
    out.append("WHERE EACH PART CAME FROM")
    for name, value in args.items():
        if value in (None, "", [], {}):
            continue
        shown = "(the draft below)" if name == "body" and draft is not None else _value(value)
        if "\n" in shown:
            shown = "\n    ".join(["", *shown.splitlines()])
        out.append(f"  {name.replace('_', ' ')}: {shown}  [{origin(p, name)}]")
    for ref in preview.get("citations") or []:
        out.append(f"  draws on: {ref}")
    out.append("")
    body = preview.get("body")
    if isinstance(body, str) and body.strip() and (draft is None or body.strip() != draft.strip()):
        out += ["THE WHOLE TEXT AS IT WILL BE SENT", body.rstrip(), ""]
    if draft is not None:
        out += [DRAFT_BEGIN, draft.rstrip("\n"), DRAFT_END, ""]
    out.append(
        f"Proposal {p.id}. From a terminal: secretary approve {p.id}  |  "
        f"secretary reject {p.id} --reason TEXT"
    )
    return "\n".join(out)


def request_message(p: Proposal, principal: Principal, signature: str) -> OutgoingMessage:
    """The approval request mail: to the principal, token in the subject, machine headers."""
    title = " ".join(str(p.preview.get("summary") or p.tool).split())
    return OutgoingMessage(
        to=[principal.email],
        subject=f"Approve? {title[:90]} [SEC {p.id} {signature}]",
        body=request_text(p, principal),
        extra_headers={
            **OWN_HEADERS,
            "X-Secretary-Principal": principal.id,
            "X-Secretary-Proposal": p.id,
        },
    )


# ----------------------------------------------------------------- authentication


@dataclass
class AuthResult:
    """One ``Authentication-Results`` header, parsed (RFC 8601)."""

    authserv_id: str
    results: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    """(method, result, properties) such as ("dmarc", "pass", {"header.from": "x.com"})."""

    def result(self, method: str) -> tuple[str, dict[str, str]] | None:
        """The first result of one method (None when the header does not report it)."""
        for name, value, props in self.results:
            if name == method:
                return value, props
        return None


_COMMENT = re.compile(r"\([^()]*\)")


def parse_authentication_results(value: str) -> AuthResult:
    """Read one header value: ``authserv-id [version]; method=result ptype.prop=value ...``."""
    text = " ".join(value.split())
    while _COMMENT.search(text):  # comments may nest: drop the innermost first
        text = _COMMENT.sub(" ", text)
    pieces = [p.strip() for p in text.split(";")]
    head = pieces[0].split()
    out = AuthResult(authserv_id=head[0].lower() if head else "")
    for piece in pieces[1:]:
        words = piece.split()
        if not words or "=" not in words[0]:
            continue
        method, _, result = words[0].partition("=")
        props: dict[str, str] = {}
        for word in words[1:]:
            name, eq, val = word.partition("=")
            if eq and "." in name:
                props[name.lower()] = val.strip('"').lower()
        out.results.append((method.lower().split("/")[0], result.lower(), props))
    return out


def authentication_verdict(
    headers: list[str], trusted: str | list[str] | None, from_domain: str
) -> tuple[Verdict, str]:
    """Whether the principal's own receiving server vouches for the From domain.

    Args:
        headers: The ``Authentication-Results`` values, topmost (newest) first.
        trusted: The authserv-id(s) of the principal's receiving server; None or empty
            when the operator named none (then no header counts).
        from_domain: The domain of the reply's From address.

    Returns:
        ("pass" | "fail" | "none", why).
    """
    names = [trusted] if isinstance(trusted, str) else list(trusted or [])
    ids = {n.strip().lower() for n in names if n and n.strip()}
    if not ids:
        return "none", "no receiving server is trusted for authentication"
    if not headers:
        return "none", "the message carries no authentication results"
    top = parse_authentication_results(headers[0])
    if top.authserv_id not in ids:
        # Only the header our own server adds on top counts; one lower down (or one
        # with another id) could have been written by the sender.
        return "none", f"the newest authentication header is from {top.authserv_id or '?'}"
    dmarc = top.result("dmarc")
    if dmarc is None:
        return "none", f"{top.authserv_id} reports no DMARC result"
    result, props = dmarc
    aligned = props.get("header.from", "") == from_domain.lower()
    if result == "pass" and aligned:
        return "pass", f"{top.authserv_id}: dmarc=pass for {from_domain}"
    if result == "pass":
        return "none", f"{top.authserv_id}: dmarc passed for another domain than {from_domain}"
    if result in ("fail", "permerror", "reject", "quarantine"):
        return "fail", f"{top.authserv_id}: dmarc={result}"
    return "none", f"{top.authserv_id}: dmarc={result}"
