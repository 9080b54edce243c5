"""The terminal front door: an interactive chat with approval cards and slash commands.

Slash commands need no model, so a secretary without one still shows the
agenda, the pending approvals and the audit trail, and can decide proposals.
With no terminal attached (a pipe), lines are read from standard input and
decisions are left pending instead of being asked for.

No line ends the session but ``/quit`` or the end of input: a line that is not
UTF-8 text is refused with a sentence (nothing is sent), and a failure while
handling a line is logged and reported in one sentence, then the chat goes on.
"""

from __future__ import annotations

import logging
import re
import shlex
import sys
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from agent.approval import Decision, coerce_edit, parse_assignments
from agent.channels.render import agenda_table, card, proposals_table, show_reply
from agent.runtime import Reply, SecretaryError, new_thread_id
from tools.foundation.errors import clip_words

if TYPE_CHECKING:
    from agent.ledger import Proposal
    from agent.runtime import Secretary
    from tools.foundation.principals import Principal

HELP = """\
Talk in plain words; the secretary proposes actions and waits for your approval.
  /pending                 actions waiting for a decision
  /approve ID              run a proposal (once)
  /reject ID [reason]      refuse it; the reason goes back to the secretary
  /edit ID FIELD=VALUE ... change arguments, then run it
  /respond ID TEXT         do not run it; tell the secretary something instead
  /agenda [YYYY-MM-DD] [N] the calendar for a day (or N days)
  /audit                   everything proposed and done
  /thread [ID]             show the thread id, or switch to another thread
  /new                     start a new thread
  /help, /quit"""

log = logging.getLogger(__name__)

_SURROGATES = re.compile("[\ud800-\udfff]")
"""Bytes that were not UTF-8, as Python keeps them (surrogate escapes)."""


def agenda_events(
    sec: Secretary, p: Principal, day: str | None, days: int
) -> tuple[list[Any], str]:
    """Events of ``days`` days from ``day`` (default today) in the principal's zone."""
    try:
        first = date.fromisoformat(day) if day else p.now().date()
    except ValueError:
        from tools.dates import read_when

        try:
            first = read_when(day or "", p.tz, p.now()).start.date()
        except ValueError:
            raise SecretaryError(
                f"'{day}' is not a date; write 2026-11-24, 'tomorrow' or 'next Tuesday'."
            ) from None
    if days < 1 or days > 366:
        raise SecretaryError("Give between 1 and 366 days.")
    start = datetime.combine(first, datetime.min.time(), tzinfo=p.tz)
    end = datetime.combine(first + timedelta(days=days), datetime.min.time(), tzinfo=p.tz)
    events = sec.workspace(p).calendar.list_events(start, end)
    title = f"Agenda {first:%a %d %b %Y}" + (f" + {days - 1} days" if days > 1 else "")
    return events, f"{title} ({p.timezone})"


class Chat:
    """One interactive session on one thread."""

    def __init__(
        self,
        sec: Secretary,
        principal: Principal,
        thread: str,
        read: Callable[[str], str | None],
        interactive: bool,
    ) -> None:
        self.sec, self.p, self.thread = sec, principal, thread
        self.interactive = interactive
        self.out, self.err = Console(), Console(stderr=True)
        self._read_raw = read

    def read(self, prompt: str) -> str | None:
        """The next line that is text; a line with bytes that are not UTF-8 is refused."""
        while True:
            line = self._read_raw(prompt)
            if line is None or not _SURROGATES.search(line):
                return line
            # Sent on, such a line would fail in the model request and in the checkpoint.
            self.err.print(
                "[red]That line holds bytes that are not UTF-8 text; nothing was sent. "
                "Type or paste it again from a UTF-8 terminal (e.g. LANG=C.UTF-8).[/]"
            )

    # ------------------------------------------------------------ loop
    def run(self) -> None:
        """Read lines until /quit or end of input."""
        self.err.print(
            f"[bold]Secretary[/] for {self.p.name} ({self.p.timezone}), thread {self.thread}. "
            "Type /help for commands."
        )
        if not self.sec.settings.principals:
            self.err.print(
                "[dim]Tip: tell me who you are with `secretary init --name ... --email ... "
                "--timezone ...`.[/]"
            )
        if not self.sec.model_configured:
            from tools.providers.llm import NO_MODEL_HINT

            self.err.print(f"[yellow]{NO_MODEL_HINT}[/]")
        waiting = self.sec.pending(self.p.id)
        if waiting:
            self.err.print(f"[yellow]{len(waiting)} action(s) waiting: /pending to see them.[/]")
        while True:
            line = self.read("you> ")
            if line is None:
                break
            line = line.strip()
            if not line:
                continue
            try:
                if line.startswith("/"):
                    if self.slash(line) == "quit":
                        break
                else:
                    self.handle(self.sec.ask(line, principal=self.p.id, thread=self.thread))
            except SecretaryError as exc:
                self.err.print(f"[red]{escape(clip_words(str(exc)))}[/]")
            except Exception as exc:  # noqa: BLE001 - no line may end the session
                log.exception("chat %s/%s: a line failed", self.p.id, self.thread)
                self.err.print(
                    f"[red]That did not work ({escape(clip_words(type(exc).__name__))}); the "
                    "chat goes on, and the details are in secretary.log.[/]"
                )

    def handle(self, reply: Reply) -> None:
        """Show a reply, then ask for a decision on each new proposal."""
        show_reply(self.out, self.err, reply, cards=True, hint=not self.interactive)
        if not self.interactive:
            return
        for proposal in list(reply.pending):
            next_reply = self.ask_decision(proposal)
            if next_reply is not None:
                self.handle(next_reply)

    def ask_decision(self, p: Proposal) -> Reply | None:
        """Approve / edit / reject / respond / later for one proposal."""
        while True:
            answer = self.read(f"[{p.id}] (a)pprove, (e)dit, (r)eject, re(s)pond, (l)ater? ")
            if answer is None:
                return None
            choice = answer.strip().lower()[:1]
            if choice == "a":
                return self._decide(p.id, Decision(kind="approve"))
            if choice == "r":
                reason = self.read("reason (optional): ") or None
                return self._decide(p.id, Decision(kind="reject", text=reason))
            if choice == "s":
                text = self.read("message to the secretary: ")
                if text:
                    return self._decide(p.id, Decision(kind="respond", text=text))
            if choice == "e":
                try:
                    return self._edit(p, self._read_assignments())
                except (ValueError, SecretaryError) as exc:
                    self.err.print(f"[red]{exc}[/]")
                    continue
            if choice == "l" or choice == "":
                self.err.print(f"Left pending: /approve {p.id} when ready.")
                return None

    def _decide(self, proposal_id: str, decision: Decision) -> Reply:
        reply = self.sec.decide(proposal_id, decision, principal=self.p.id)
        lost = lost_decision(self.sec, proposal_id, decision, reply)
        if lost:
            reply.error = " ".join(filter(None, [reply.error, lost]))
        return reply

    def _read_assignments(self) -> list[str]:
        self.err.print("Enter FIELD=VALUE lines (lists by comma); an empty line ends.")
        lines: list[str] = []
        while True:
            line = self.read("  ")
            if not line:
                return lines
            lines.append(line)

    def _edit(self, p: Proposal, pairs: list[str]) -> Reply:
        from tools.base import registry

        spec = registry().get(p.tool)
        if spec is None:
            raise SecretaryError(f"The tool {p.tool} no longer exists.")
        args = coerce_edit(spec.args_model.model_json_schema(), p.args, parse_assignments(pairs))
        return self._decide(p.id, Decision(kind="edit", args=args))

    # ------------------------------------------------------------ slash commands
    def slash(self, line: str) -> str | None:
        """Run one slash command; returns 'quit' to end the chat."""
        try:
            parts = shlex.split(line[1:])
        except ValueError as exc:
            raise SecretaryError(f"Could not read that command: {exc}.") from None
        if not parts:
            return None
        cmd, args = parts[0].lower(), parts[1:]
        if cmd in ("quit", "exit", "q"):
            return "quit"
        if cmd == "help":
            from rich.markup import escape

            self.err.print(escape(HELP))
        elif cmd == "pending":
            rows = self.sec.pending(self.p.id)
            if not rows:
                self.err.print("Nothing is waiting for approval.")
            for p in rows:
                self.out.print(card(p))
        elif cmd in ("approve", "reject", "respond", "edit"):
            if not args:
                raise SecretaryError(f"Usage: /{cmd} ID ...")
            pid, rest = args[0], args[1:]
            if cmd == "approve":
                reply = self._decide(pid, Decision(kind="approve"))
            elif cmd == "reject":
                reason = " ".join(rest) or None
                reply = self._decide(pid, Decision(kind="reject", text=reason))
            elif cmd == "respond":
                if not rest:
                    raise SecretaryError("Usage: /respond ID what to tell the secretary")
                reply = self._decide(pid, Decision(kind="respond", text=" ".join(rest)))
            else:
                try:
                    proposal = self.sec.ledger.get(pid, self.p.id)
                    reply = self._edit(proposal, rest)
                except ValueError as exc:
                    raise SecretaryError(str(exc)) from None
            self.handle(reply)
        elif cmd == "agenda":
            day = args[0] if args else None
            try:
                days = int(args[1]) if len(args) > 1 else 1
            except ValueError:
                raise SecretaryError("Usage: /agenda [YYYY-MM-DD] [days]") from None
            events, title = agenda_events(self.sec, self.p, day, days)
            if events:
                self.out.print(agenda_table(events, self.p.tz, title))
            else:
                self.err.print(f"{title}: nothing scheduled.")
        elif cmd == "audit":
            rows = self.sec.audit(self.p.id)
            if rows:
                self.out.print(proposals_table(rows, title="Audit"))
            else:
                self.err.print("Nothing has been proposed yet.")
        elif cmd == "thread":
            if args:
                self.thread = args[0]
            self.err.print(f"Thread {self.thread}")
        elif cmd == "new":
            self.thread = new_thread_id()
            self.err.print(f"New thread {self.thread}")
        else:
            raise SecretaryError(f"Unknown command /{cmd}; /help lists them.")
        return None


def lost_decision(sec: Secretary, proposal_id: str, decision: Decision, reply: Reply) -> str:
    """The sentence for a decision that came too late (someone decided first), else "".

    A second approval of an approved action (a double click) or the same rejection
    again loses nothing; any other decision that was not recorded is said, so the
    person does not take the result for theirs.
    """
    from agent.ledger import LedgerError

    if not reply.superseded:
        return ""
    try:
        p = sec.ledger.get(proposal_id, reply.principal)
    except LedgerError:
        return ""
    if decision.kind == "approve" and p.decision in ("approve", "auto"):
        return ""
    if decision.kind == "reject" == p.decision and (decision.text or "") == (p.reason or ""):
        return ""
    verb = {
        "approve": "approved",
        "auto": "approved automatically",
        "edit": "edited and approved",
        "reject": "rejected",
        "respond": "answered with a message",
    }.get(p.decision or "", p.status)
    who = f" by {p.decided_by}" if p.decided_by else ""
    when = f" at {p.decided_at[:16].replace('T', ' ')} UTC" if p.decided_at else ""
    return f"Your {decision.kind} was not applied: proposal {p.id} was already {verb}{who}{when}."


def _line_reader(history_path: Any) -> tuple[Callable[[str], str | None], bool]:
    """prompt-toolkit with history on a terminal; plain stdin lines otherwise."""
    if sys.stdin.isatty():
        import os

        from prompt_toolkit import PromptSession

        # What was typed may be private: keep the history readable by the owner only.
        os.close(os.open(history_path, os.O_CREAT | os.O_APPEND, 0o600))
        os.chmod(history_path, 0o600)
        from prompt_toolkit.history import FileHistory

        session: PromptSession[str] = PromptSession(history=FileHistory(str(history_path)))

        def read_tty(prompt: str) -> str | None:
            try:
                return session.prompt(prompt)
            except (EOFError, KeyboardInterrupt):
                return None

        return read_tty, True

    # Bytes, decoded here: a text stdin in strict mode would raise on a pasted line that
    # is not UTF-8 and end the session; surrogate escapes let Chat.read refuse just it.
    stdin = getattr(sys.stdin, "buffer", None)

    def read_pipe(prompt: str) -> str | None:
        if stdin is None:
            line = sys.stdin.readline()
        else:
            data = stdin.readline()
            line = data.decode(sys.stdin.encoding or "utf-8", "surrogateescape")
        return None if line == "" else line.rstrip("\r\n")

    return read_pipe, False


def run_chat(sec: Secretary, *, principal: str | None, thread: str | None) -> None:
    """Start the chat for one principal."""
    p = sec.principal(principal)
    read, interactive = _line_reader(sec.home / "chat_history")
    Chat(sec, p, thread or new_thread_id(), read, interactive).run()
