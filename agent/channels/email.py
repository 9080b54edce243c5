"""The e-mail front door: the autoresponder loop (``secretary mail-agent``).

For one principal, each round:

1. **fetch** new mail incrementally from the mail provider (``MailSync``);
   each message is stored in the desk's own SQLite file together with the
   provider cursor, in one transaction, so a message is never lost and never
   handled twice, even when the process is killed;
2. **handle** each stored message once: an approval reply from the principal
   is checked and applied; anything else is triaged (``tools.triage``), kept
   in memory, and for "respond" handed to the planner, which proposes a reply
   through the gate like any other action;
3. **ask for approvals** by e-mail when the principal chose that channel
   (``policy.approval_channel = "email"``): one request per waiting proposal,
   showing the whole action and carrying a signed token
   (``agent.channels.approval_mail``; the answers are read in
   ``agent.channels.mail_approvals``).

An answer to a request decides only in the fixed grammar of
``agent.channels.decisions`` (approve / reject / an explicit edit); anything else
the principal writes goes to the planner as their message while the proposal
keeps waiting, and free text never becomes an action. An answer counts only when
it comes from the principal's address (or staff allowed for that tool), carries
the request's signed token or is vouched for by the principal's own receiving
server, and names a proposal still waiting. Everything else is refused and logged.

Loop prevention (RFC 3834): automatic replies, bounces, bulk, list, no-reply and
own messages are never answered and never decide (``tools.autoreply`` is asked
before anything else), and what the desk sends on its own carries
``Auto-Submitted: auto-generated`` and ``X-Auto-Response-Suppress: All``. The
desk's own traffic (requests, notices, the principal's answers) is filed out of
the inbox where the provider can, and never enters memory as correspondence.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.channels import approval_mail
from agent.channels.approval_mail import OWN_HEADERS
from agent.channels.mail_approvals import EmailApprovals
from tools.foundation.errors import SecretaryError
from tools.providers.base import OutgoingMessage, ProviderError
from tools.providers.local.mail_desk import (
    LEASE,
    MAX_ATTEMPTS,
    OWN_FOLDER,
    DeskState,
)
from tools.providers.mime import normalize_subject

if TYPE_CHECKING:
    from agent.runtime import Secretary
    from tools.foundation.principals import Principal
    from tools.triage import Incoming, Verdict

log = logging.getLogger(__name__)


@dataclass
class RoundReport:
    """What one round of the desk did."""

    fetched: int = 0
    handled: list[str] = field(default_factory=list)
    """One line per message handled, for the log and the terminal."""
    requests_sent: int = 0
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class MailDesk:
    """The autoresponder of one principal."""

    def __init__(
        self,
        secretary: Secretary,
        principal: str | None = None,
        *,
        folder: str = "inbox",
        use_model: bool = True,
        lease: float = LEASE,
    ) -> None:
        """Prepare the desk (nothing is fetched until :meth:`run_round`).

        Args:
            secretary: The runtime facade (settings, ledger, workspaces, model).
            principal: Whose mail; default the only or default principal.
            folder: The folder to watch.
            use_model: Triage and draft with the configured model (when there is one).
            lease: Seconds a claim on a message lasts without being renewed.
        """
        self.sec = secretary
        self.lease = lease
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        """This worker's name in the claims it makes (host, process, a random tag)."""
        self.principal: Principal = secretary.principal(principal)
        self.workspace = secretary.workspace(self.principal)
        self.root = self.workspace.root
        self.folder = folder
        self.state = DeskState(self.root, storage=self.workspace.storage)
        self.use_model = use_model and secretary.model_configured
        self.signing_key = (
            self.state.signing_key() if self.state.storage.is_postgres else _desk_key(self.root)
        )
        account = self.principal.accounts.get("mail", {})
        own = str(account.get("address", "") or "").lower()
        self.own_addresses = tuple(a for a in (own,) if a)
        self._alive_depth = 0
        self.approvals = EmailApprovals(self)
        """Approval requests by e-mail and the answers to them."""

    # ------------------------------------------------------------ the loop

    @contextmanager
    def alive(self) -> Iterator[None]:
        """Hold this worker's liveness lock and renew its claims while the block runs.

        Other workers serving the same principal take over a message claimed
        by a worker whose liveness lock is free (the process died) at once,
        and one whose lease ran out (the worker hangs, or lost the database)
        after ``lease`` seconds. Re-entering (a round inside ``run``) is free.
        """
        if self._alive_depth:
            self._alive_depth += 1
            try:
                yield
            finally:
                self._alive_depth -= 1
            return
        name = f"mail-worker:{self.worker}"
        with self.state.database.hold(name, timeout=5, exact=True):
            stop = threading.Event()
            beat = threading.Thread(
                target=self._renew_claims, args=(stop,), name="mail-desk-lease", daemon=True
            )
            beat.start()
            self._alive_depth = 1
            try:
                yield
            finally:
                self._alive_depth = 0
                stop.set()
                beat.join()

    def _renew_claims(self, stop: threading.Event) -> None:
        while not stop.wait(self.lease / 3):
            try:
                self.state.renew(self.worker, self.lease)
            except Exception as exc:  # noqa: BLE001 - the next beat tries again
                log.warning("mail-desk %s: renewing claims failed: %s", self.principal.id, exc)

    def _gone(self, worker: str) -> bool:
        """Whether the worker that claimed a message has died (its liveness lock is free)."""
        return not self.state.database.is_held(f"mail-worker:{worker}", exact=True)

    def run_round(self) -> RoundReport:
        """Fetch, handle and ask for approvals once.

        Several workers may run rounds for the same principal at the same time
        (on one machine or several sharing the database): one fetches at a
        time, each message is claimed by exactly one of them, and approval
        requests are sent by one at a time.
        """
        with self.alive():
            return self._round()

    def _round(self) -> RoundReport:
        report = RoundReport()
        first = self.state.cursor(self.folder) is None
        try:
            with self.state.database.hold(
                f"mail-fetch:{self.principal.id}:{self.folder}", timeout=0
            ) as fetching:
                # Busy: another worker is fetching; what it stores is claimable below.
                report.fetched = self.fetch() if fetching else 0
            if first and fetching:
                report.notes.append(
                    f"First start for {self.principal.id}: mail already in {self.folder} is "
                    "left as it is (add it to memory with `secretary ingest --mailbox "
                    f"{self.folder}`); new mail from now on is handled."
                )
        except ProviderError as exc:
            report.errors.append(f"fetching mail failed: {exc}")
            log.warning("mail-desk %s: fetching failed: %s", self.principal.id, exc)
        self._finish_interrupted()
        while (row := self.state.claim_next(self.worker, self.lease, self._gone)) is not None:
            line = self._handle_row(row)
            report.handled.append(line)
            log.info("mail-desk %s: %s", self.principal.id, line)
        self._settle_proposed()
        if self.principal.policy.approval_channel == "email":
            try:
                report.requests_sent = self.approvals.request_all()
            except ProviderError as exc:
                report.errors.append(f"sending approval requests failed: {exc}")
        return report

    def run(
        self,
        *,
        once: bool = False,
        poll: float = 60.0,
        stop: threading.Event | None = None,
        on_round: Callable[[RoundReport], None] | None = None,
    ) -> None:
        """Run rounds until ``stop`` is set (or once); waits with IMAP IDLE where offered."""
        stop = stop or threading.Event()
        with self.alive():
            while True:
                report = self.run_round()
                if on_round is not None:
                    on_round(report)
                if once or stop.is_set():
                    return
                self._wait(poll, stop)
                if stop.is_set():
                    return

    def _wait(self, poll: float, stop: threading.Event) -> None:
        idle = getattr(self.workspace.mail, "idle", None)
        if callable(idle):
            try:
                if idle(timeout=poll, folder=self.folder):
                    return
            except ProviderError as exc:
                log.warning("mail-desk %s: IDLE failed (%s); polling", self.principal.id, exc)
            else:
                return
        stop.wait(poll)

    # ------------------------------------------------------------ fetching

    def fetch(self) -> int:
        """Store what arrived since the last round; returns how many are new.

        The first start records the mail already there as seen (history: ingest it
        into memory with `secretary ingest`), not something to answer now; after a
        provider lost its position, only mail never seen is stored (see mail_fetch).
        """
        from agent.channels import mail_fetch

        mail = self.workspace.mail
        if not callable(getattr(mail, "fetch_new", None)):
            raise ProviderError(
                f"The mail provider of {self.principal.id} cannot fetch new mail incrementally."
            )
        return mail_fetch.fetch(self.state, mail, self.folder)

    # ------------------------------------------------------------ handling

    def _handle_row(self, row: dict[str, Any]) -> str:
        from tools.triage import Incoming

        mid = row["message_id"]
        raw = row["raw"] or b""
        try:
            mail = Incoming.from_raw(raw, self.principal, source=row["uid"])
        except Exception as exc:  # noqa: BLE001 - any unreadable message is reported, kept
            self.state.update(mid, status="unreadable", error=f"not a readable e-mail: {exc}")
            return f"{mid}: unreadable ({exc}); kept in the desk's store, not answered"
        try:
            return self._handle(mid, mail)
        except Exception as exc:  # noqa: BLE001 - one message must not stop the loop
            attempts = int(row["attempts"]) + 1
            status = "failed" if attempts >= MAX_ATTEMPTS else "retry"
            self.state.update(mid, status=status, attempts=attempts, error=str(exc)[:500])
            log.exception("mail-desk %s: handling %s failed", self.principal.id, mid)
            again = "will retry" if status == "retry" else "gave up; see secretary.log"
            return f"{mid}: handling failed ({exc}); {again}"

    def _handle(self, mid: str, mail: Incoming) -> str:
        from tools.autoreply import automatic
        from tools.triage import History, triage

        if self._is_own(mail):
            # A request or notice of ours that came back into the inbox we read.
            self.mark_done(mid, mail, "own", "file", "the secretary's own message")
            return f"{mid}: the secretary's own message{self.file_away(mail)}"
        proposal_id = self.approvals.target(mail)
        if proposal_id is not None:
            machine = automatic(mail)
            if machine is not None:
                # Checked before any decision: an out-of-office answering the request
                # must neither decide it nor be answered.
                self.mark_done(mid, mail, "approval", "ignore", f"not a decision: {machine}")
                self.sec.ledger.note(
                    self.principal.id, "approval_ignored", f"email:{mail.address}",
                    {"message_id": mail.message.message_id, "why": machine}, proposal_id,
                )  # fmt: skip
                return (
                    f"{mid} from {mail.address}: an automatic message about proposal "
                    f"{proposal_id} ({machine}); not a decision, not answered"
                    f"{self.file_away(mail)}"
                )
            return self.approvals.apply(mid, mail, proposal_id)
        calendar_note = self._calendar_mail(mail)
        if calendar_note is not None:
            self.state.update(
                mid,
                status="done",
                category="fyi",
                action="file",
                reason=calendar_note,
                sender=mail.message.sender,
                subject=mail.message.subject,
            )
            return f"{mid} from {mail.address}: {calendar_note}"
        history = History.of(self.workspace, self.own_addresses)
        model = self.sec.model() if self.use_model else None
        verdict = triage(mail, self.principal, history, model, self.sec.settings)
        base = {
            "category": verdict.category,
            "action": verdict.action,
            "reason": verdict.reason,
            "used_model": int(verdict.used_model),
            "sender": mail.message.sender,
            "subject": mail.message.subject,
        }
        if not (verdict.spam or verdict.phishing) and self.workspace.memory is not None:
            self.workspace.memory.add_message(mail.message, source=f"mail-agent:{mail.source}")
        head = f"{mid} from {mail.address}: {verdict.category}/{verdict.action} ({verdict.reason})"
        if verdict.action == "respond" and not verdict.no_auto_reply:
            return self._draft_reply(mid, mail, verdict, base, head)
        if (
            verdict.action == "notify"
            and self.principal.policy.approval_channel == "email"
            and automatic(mail) is None  # a notice about a bounce can bounce: a loop
        ):
            self._notify(mail, verdict)
        if verdict.action == "undecided":
            self.state.update(mid, status="done", **base)
            return f"{head}; left for you (no model configured)"
        self.state.update(mid, status="done", **base)
        return head

    def _calendar_mail(self, mail: Incoming) -> str | None:
        """Apply an attendee's iTIP reply; file an invitation into a local calendar.

        Returns a line when the message was an answer to one of the principal's
        invitations (nothing else to do with it), None otherwise.
        """
        from tools import itip

        if "text/calendar" not in {t for t, _ in mail.parts()}:
            return None
        raw = mail.raw
        # Calendar mail changes the calendar only as far as it is authenticated, by the
        # same rule as an e-mailed approval; anything else is filed marked unverified.
        verified = self.approvals.auth(mail)[0] == "pass"
        outcome = itip.handle_incoming(self.workspace.calendar, raw, verified=verified)
        if outcome is not None:
            if outcome.applied:
                mark = "" if outcome.verified else " (unverified sender: recorded, marked so)"
                return f"{outcome.attendee} answered '{outcome.title}': {outcome.answer}{mark}"
            return f"an invitation reply not applied: {outcome.reason}"
        if callable(getattr(self.workspace.calendar, "store_invitation", None)):
            try:
                event = itip.file_invitation(
                    self.workspace.calendar, raw, self.principal, verified=verified
                )
            except ProviderError as exc:
                log.info("mail-desk %s: invitation not filed: %s", self.principal.id, exc)
            else:
                if event is not None:
                    log.info("mail-desk %s: filed invitation %s", self.principal.id, event.id)
        return None  # an invitation still goes through triage (it needs a decision)

    def _draft_reply(
        self, mid: str, mail: Incoming, verdict: Verdict, base: dict[str, Any], head: str
    ) -> str:
        from agent.runtime import Actor
        from prompts import render

        if not self.use_model:
            self.state.update(mid, status="done", **base)
            return f"{head}; no model configured to draft the reply, left for you"
        root = (mail.message.references or [mail.message.message_id])[0]
        thread = "mail-" + hashlib.sha256(root.encode()).hexdigest()[:10]
        text = render(
            "mail_desk",
            name=self.principal.name,
            message_id=mail.message.message_id,
            sender=mail.address,
            reason=verdict.reason,
        )
        from tools.context import ToolContext
        from tools.press import is_press_enquiry

        ctx = ToolContext(principal=self.principal, workspace=self.workspace)
        if is_press_enquiry(ctx, mail.address):
            text += (
                "\n\nThis is a press enquiry: read press_policy and press_history first, and "
                "answer only with reply_to_press."
            )
        # The desk's note is the secretary's voice, not the principal's; the sender and the
        # triage reason in it are the sender's content (a reason can paraphrase a request).
        reply = self.sec.ask(
            text,
            principal=self.principal.id,
            thread=thread,
            actor=Actor("email", "mail-desk"),
            role="secretary",
            ref="the mail desk",
            remember=False,
            outside=[
                {
                    "who": mail.address,
                    "text": f"{mail.message.sender}\n{mail.message.subject}\n{verdict.reason}",
                    "ref": f"the triage of {mail.message.message_id}",
                }
            ],
        )
        if reply.error:
            raise RuntimeError(reply.error)
        ids = ",".join(p.id for p in reply.pending)
        status = "proposed" if reply.pending else "done"
        self.state.update(mid, status=status, thread=thread, proposals=ids, **base)
        if reply.pending:
            return f"{head}; reply proposed ({ids}), waiting for approval"
        return f"{head}; the secretary answered without proposing: {(reply.text or '')[:80]}"

    def _finish_interrupted(self, grace: float = 10.0) -> None:
        """Run approved actions a killed process left unfinished (once, by the ledger)."""
        from agent.approval import Decision
        from agent.runtime import Actor

        now = datetime.now(UTC)
        for p in self.sec.ledger.query(self.principal.id, "approved"):
            try:
                decided = datetime.fromisoformat(p.decided_at or "")
            except ValueError:
                continue
            if decided.tzinfo is None:
                decided = decided.replace(tzinfo=UTC)
            if (now - decided).total_seconds() < grace:
                continue  # probably still running in the process that decided it
            if self.sec.ledger.database.is_held(f"thread:{p.principal}/{p.thread}"):
                continue  # a live worker is driving that thread right now
            channel, _, address = (p.decided_by or "").partition(":")
            try:
                self.sec.decide(
                    p.id,
                    Decision(kind="approve"),
                    actor=Actor(channel, address),
                    principal=self.principal.id,
                )
                log.info("mail-desk %s: finished interrupted action %s", self.principal.id, p.id)
            except SecretaryError as exc:
                log.warning("mail-desk %s: cannot finish %s: %s", self.principal.id, p.id, exc)

    def _settle_proposed(self) -> None:
        """Mark messages done once every proposal made for them is decided."""
        for row in self.state.proposed():
            ids = [i for i in row["proposals"].split(",") if i]
            try:
                states = [self.sec.ledger.get(i, self.principal.id).status for i in ids]
            except Exception:  # noqa: BLE001 - a missing proposal: leave the row as it is
                continue
            if all(s != "proposed" for s in states):
                self.state.update(row["message_id"], status="done")

    # ------------------------------------------------------------ own mail

    def _tag(self, subject: str) -> str:
        """A mark only this desk can put on its own mail (signed over the subject)."""
        return approval_mail.token(
            self.signing_key, self.principal.id, "own:" + " ".join(subject.split())
        )

    def own_message(self, subject: str, body: str, **fields: Any) -> OutgoingMessage:
        """A message the desk writes to the principal on its own (never answered by a machine)."""
        headers = {
            **OWN_HEADERS,
            "X-Secretary-Principal": self.principal.id,
            "X-Secretary-Tag": self._tag(subject),
        }
        headers.update(fields.pop("extra_headers", {}))
        return OutgoingMessage(
            to=[self.principal.email], subject=subject, body=body, extra_headers=headers, **fields
        )

    def _is_own(self, mail: Incoming) -> bool:
        """Whether the desk itself wrote this message (a request or a notice coming back)."""
        tag = mail.header("X-Secretary-Tag")
        return bool(tag) and tag == self._tag(mail.message.subject)

    def file_away(self, mail: Incoming) -> str:
        """Take the desk's own traffic out of the inbox where the provider can ('' if not)."""
        box = self.workspace.mail
        try:
            move = getattr(box, "move", None)
            if callable(move) and mail.source:
                move(mail.source, OWN_FOLDER, folder=self.folder)
                return f"; filed in {OWN_FOLDER}"
            archive = getattr(box, "archive", None)
            if callable(archive):
                archive(mail.message.message_id)
                return "; archived"
            seen = getattr(box, "mark_seen", None)
            if callable(seen) and mail.source:
                seen(mail.source, folder=self.folder)
                return "; marked read"
        except ProviderError as exc:
            log.info("mail-desk %s: not filed away: %s", self.principal.id, exc)
        return ""

    def mark_done(self, mid: str, mail: Incoming, category: str, action: str, reason: str) -> None:
        """Record a message as handled, with what was made of it."""
        self.state.update(
            mid,
            status="done",
            category=category,
            action=action,
            reason=reason,
            sender=mail.message.sender,
            subject=mail.message.subject,
        )

    def token(self, proposal_id: str) -> str:
        """The signed token of one proposal's approval request."""
        return self.approvals.token(proposal_id)

    def _notify(self, mail: Incoming, verdict: Verdict) -> None:
        """Tell the principal by e-mail about an urgent message, once per message."""
        m = mail.message
        flag = "Possible phishing" if verdict.phishing else verdict.category.capitalize()
        body = (
            f"{flag}: {m.subject}\nFrom: {m.sender}\n"
            f"Received: {m.date.isoformat() if m.date else '-'}\n\n"
            f"Why: {verdict.reason}\n\n{m.snippet}"
        )
        note = self.own_message(f"[{flag}] {normalize_subject(m.subject)[:100]}", body)
        receipt = self.workspace.mail.send(note, f"notice:{self.principal.id}:{m.message_id}")
        self.sec.ledger.note(
            self.principal.id,
            "notice_sent",
            "email:mail-desk",
            {"to": self.principal.email, "about": m.message_id, "message_id": receipt.message_id},
        )


def _desk_key(root: Path) -> bytes:
    """The secret that signs approval tokens (created once, owner-only)."""
    path = Path(root) / "mail-desk.key"
    try:
        return bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError):
        pass
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it meanwhile: use theirs
        time.sleep(0.05)
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as fh:
        fh.write(key.hex())
    return key
