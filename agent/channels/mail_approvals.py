"""Approvals by e-mail: the requests the mail desk sends, and the answers that come back.

The desk mails the principal one request per waiting proposal, carrying a
signed token (:mod:`agent.channels.approval_mail`). An answer decides only in
the fixed grammar of :mod:`agent.channels.decisions`, only from the principal's
address (or staff allowed for that tool), and only with the request's token or
the principal's own receiving server vouching for the sender; it must name a
proposal still waiting. Anything else is refused and written to the audit
trail, or (free text) handed to the planner while the proposal keeps waiting.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from agent.channels import approval_mail
from agent.channels.approval_mail import TOKEN_RE
from agent.channels.decisions import Reading, read_reply
from tools.foundation.errors import SecretaryError
from tools.providers.mime import reply_subject

if TYPE_CHECKING:
    from agent.channels.email import MailDesk
    from agent.ledger import Proposal
    from tools.triage import Incoming

log = logging.getLogger("agent.channels.email")


class EmailApprovals:
    """The approval side of one principal's mail desk."""

    def __init__(self, desk: MailDesk) -> None:
        """Serve ``desk`` (its secretary, principal, state, mailbox and signing key)."""
        self.desk = desk

    def token(self, proposal_id: str) -> str:
        """The signed token of one proposal's approval request."""
        return approval_mail.token(self.desk.signing_key, self.desk.principal.id, proposal_id)

    def request_all(self) -> int:
        """Mail the principal one approval request per waiting proposal not yet asked.

        One worker at a time sends them (the others skip this step meanwhile),
        so no request goes out twice.
        """
        name = f"mail-approval-requests:{self.desk.principal.id}"
        with self.desk.state.database.hold(name, timeout=0) as mine:
            return self._request_all() if mine else 0

    def _request_all(self) -> int:
        sent = 0
        for proposal in self.desk.sec.pending(self.desk.principal.id):
            if self.desk.state.requested(proposal.id) is not None:
                continue
            request = approval_mail.request_message(
                proposal, self.desk.principal, self.token(proposal.id)
            )
            message = self.desk.own_message(
                request.subject, request.body, extra_headers=request.extra_headers
            )
            key = approval_mail.request_key(
                self.desk.signing_key, self.desk.principal.id, proposal.id
            )
            receipt = self.desk.workspace.mail.send(message, key)
            self.desk.state.record_request(proposal.id, receipt.message_id)
            self.desk.sec.ledger.note(
                self.desk.principal.id,
                "approval_requested",
                "email:mail-desk",
                {"to": self.desk.principal.email, "message_id": receipt.message_id},
                proposal.id,
            )
            sent += 1
        return sent

    def target(self, mail: Incoming) -> str | None:
        """The proposal an incoming message answers, if it is an approval reply."""
        m = mail.message
        if mail.header("X-Secretary-Principal"):
            return None  # our own request (sent to an inbox we also read)
        found = TOKEN_RE.search(m.subject) or TOKEN_RE.search(m.body[:4000])
        if found:
            return found.group(1)
        return self.desk.state.proposal_for_request([m.in_reply_to, *m.references])

    def _refuse(self, mid: str, mail: Incoming, proposal_id: str, why: str) -> str:
        self.desk.state.update(
            mid,
            status="refused",
            category="approval",
            action="refused",
            reason=why,
            sender=mail.message.sender,
            subject=mail.message.subject,
        )
        self.desk.sec.ledger.note(
            self.desk.principal.id,
            "approval_refused",
            f"email:{mail.address}",
            {"reason": why, "message_id": mail.message.message_id},
            proposal_id,
        )
        log.warning("mail-desk %s: refused approval mail %s: %s", self.desk.principal.id, mid, why)
        return f"{mid} from {mail.address}: approval refused ({why})"

    def _authenticated(self, mail: Incoming, proposal: Proposal) -> str | None:
        """Why the answer cannot be trusted to come from who it says (None: it can)."""
        found = TOKEN_RE.search(mail.message.subject) or TOKEN_RE.search(mail.message.body[:4000])
        token_ok = False
        if found is not None:
            if found.group(1) != proposal.id or not hmac_equal(
                found.group(2), self.token(proposal.id)
            ):
                return "the approval token does not match"
            token_ok = True
        verdict, why = self.auth(mail)
        if verdict == "fail":
            return f"the sender failed authentication ({why})"
        if not token_ok and verdict != "pass":
            return (
                "neither the request's token nor authentication by your own mail server "
                f"({why}); answer the request itself so its subject keeps the token"
            )
        return None

    def auth(self, mail: Incoming) -> tuple[str, str]:
        """What the principal's own receiving server says about the sender (RFC 8601)."""
        account = self.desk.principal.accounts.get("mail", {})
        return approval_mail.authentication_verdict(
            [str(v) for v in mail.headers.get_all("Authentication-Results") or []],
            account.get("authserv_id"),
            mail.address.rpartition("@")[2],
        )

    def apply(self, mid: str, mail: Incoming, proposal_id: str) -> str:
        """Check an answer to the request for ``proposal_id`` and decide by it, or refuse it."""
        from agent.approval import Decision
        from agent.ledger import LedgerError
        from agent.runtime import Actor

        try:
            proposal = self.desk.sec.ledger.get(proposal_id, self.desk.principal.id)
        except LedgerError:
            return self._refuse(mid, mail, proposal_id, "it names no proposal of this principal")
        role = self.desk.principal.role_of("email", mail.address)
        if not self.desk.principal.may_approve(role, proposal.tool, mail.address):
            return self._refuse(mid, mail, proposal.id, f"{mail.address} may not approve this")
        problem = self._authenticated(mail, proposal)
        if problem is not None:
            return self._refuse(mid, mail, proposal.id, problem)
        if proposal.status == "approved" and self.desk.sec.ledger.database.is_held(
            f"thread:{proposal.principal}/{proposal.thread}"
        ):
            raise RuntimeError(f"proposal {proposal.id} is being carried out by another worker")
        if proposal.status not in ("proposed", "approved"):
            return self._refuse(
                mid, mail, proposal.id, f"the proposal is no longer waiting ({proposal.status})"
            )
        draft = proposal.effective_args.get("body")
        reading = read_reply(
            mail.message.body,
            draft if isinstance(draft, str) else None,
            signer=self.desk.principal.name,
        )
        if reading.kind in ("message", "empty"):
            return self._not_a_decision(mid, mail, proposal, reading, role)
        if reading.kind == "approve" or proposal.status == "approved":
            if proposal.status == "approved" and reading.kind == "reject":
                return self._refuse(mid, mail, proposal.id, "it was approved already")
            # Approved already (by this answer, in a worker that stopped before the
            # action ran, or elsewhere): finishing it runs the action once at most.
            decision = Decision(kind="approve")
        elif reading.kind == "reject":
            decision = Decision(kind="reject", text=reading.text or "rejected by e-mail")
        else:
            decision = Decision(kind="edit", args={"body": reading.text})
        try:
            reply = self.desk.sec.decide(
                proposal.id,
                decision,
                actor=Actor("email", mail.address),
                principal=self.desk.principal.id,
            )
        except SecretaryError as exc:
            return self._refuse(mid, mail, proposal.id, str(exc))
        after = self.desk.sec.ledger.get(proposal.id, self.desk.principal.id)
        self.desk.mark_done(
            mid, mail, "approval", decision.kind, f"{decision.kind} of {proposal.id} by e-mail"
        )
        filed = self.desk.file_away(mail)
        extra = f"; {reply.error}" if reply.error else ""
        return (
            f"{mid} from {mail.address}: {decision.kind} of proposal {proposal.id} "
            f"accepted ({reading.why}); it is now {after.status}{extra}{filed}"
        )

    def _not_a_decision(
        self, mid: str, mail: Incoming, proposal: Proposal, reading: Reading, role: str
    ) -> str:
        """An answer that decides nothing: the planner hears it; the proposal keeps waiting."""
        from agent.runtime import Actor

        head = f"{mid} from {mail.address}: not a decision on {proposal.id} ({reading.why})"
        answer = ""
        if reading.kind == "message" and self.desk.use_model:
            reply = self.desk.sec.ask(
                reading.text,
                principal=self.desk.principal.id,
                thread=proposal.thread,
                actor=Actor("email", mail.address),
                role="staff" if role == "staff" else "principal",
                ref="your e-mail reply",
            )
            answer = reply.text or reply.error or ""
            new = [p.id for p in reply.pending if p.id != proposal.id]
            if new:
                answer += (
                    f"\n\nI proposed {len(new)} new action(s) ({', '.join(new)}); a separate "
                    "request for each follows."
                )
        elif self._explained(proposal.id):
            self.desk.mark_done(mid, mail, "approval", "ignored", reading.why)
            self.desk.sec.ledger.note(
                self.desk.principal.id, "approval_not_understood", f"email:{mail.address}",
                {"message_id": mail.message.message_id, "why": reading.why}, proposal.id,
            )  # fmt: skip
            return f"{head}; explained once already, nothing sent"
        else:
            answer = "Your reply did not say approve, reject or edit, so I did nothing."
        summary = proposal.preview.get("summary") or proposal.tool
        body = "\n".join(
            [
                answer.strip(),
                "",
                f"Still waiting for your decision: {summary} (proposal {proposal.id}).",
                "Reply to the request with one line: approve / reject: reason / "
                "edit: new text. Nothing is sent until you do.",
            ]
        )
        message = self.desk.own_message(
            reply_subject(mail.message.subject),
            body,
            in_reply_to=mail.message.message_id,
            references=[*mail.message.references, mail.message.message_id],
        )
        self.desk.workspace.mail.send(
            message, f"approval-answer:{self.desk.principal.id}:{mail.message.message_id}"
        )
        self.desk.sec.ledger.note(
            self.desk.principal.id,
            "approval_message",
            f"email:{mail.address}",
            {"message_id": mail.message.message_id, "why": reading.why, "answered": True},
            proposal.id,
        )
        self.desk.mark_done(mid, mail, "approval", "message", reading.why)
        return f"{head}; answered, the proposal keeps waiting{self.desk.file_away(mail)}"

    def _explained(self, proposal_id: str) -> bool:
        """Whether the desk already told the principal how to answer this proposal."""
        return any(
            e["event"] == "approval_message"
            for e in self.desk.sec.trail(self.desk.principal.id, proposal_id)
        )


def hmac_equal(a: str, b: str) -> bool:
    """Compare two tokens in constant time."""
    import hmac

    return hmac.compare_digest(a, b)
