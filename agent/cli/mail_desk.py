"""``secretary triage`` and ``secretary mail-agent``: the e-mail commands.

Added to the main command group by :mod:`agent.cli.app`; kept apart so that
module stays readable (``secretary connect`` is in :mod:`agent.cli.connect`).
Imports stay lazy for a fast ``--help``.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from pathlib import Path
from typing import Any

import click

from agent.cli.common import JSON, PRINCIPAL, _consoles, _guard, _secretary, cells, command

log = logging.getLogger(__name__)


@command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--no-model", is_flag=True, help="Use the model-free rules only.")
@click.option("-n", "--limit", default=50, show_default=True, help="Unread messages to look at.")
@PRINCIPAL
@JSON
@_guard
def triage(
    paths: tuple[Path, ...], no_model: bool, limit: int, principal: str | None, as_json: bool
) -> None:
    """Say what the secretary would do with each message, without doing anything.

    PATHS are mbox files, Maildir folders, .eml files or folders of them; with
    none, the unread messages of the principal's inbox are triaged. Messages
    the rules cannot decide go to the model when one is configured (else they
    are marked 'undecided'). A message that cannot be read or triaged is listed
    with the reason, and the run goes on; one read only by a fallback (a bad
    charset, damaged base64) carries warnings.

    \b
    Examples:
      secretary triage ~/Downloads/inbox.mbox
      secretary triage --json message.eml | jq .action
    """
    from agent.ingest import iter_source
    from tools.providers.base import ProviderError
    from tools.triage import History, Incoming, Verdict, not_triaged, unreadable
    from tools.triage import triage as run_triage

    out, err = _consoles()
    with _secretary() as sec:
        p = sec.principal(principal)
        ws = sec.workspace(p)
        account = p.accounts.get("mail", {})
        own = tuple(a for a in [str(account.get("address", "")).lower()] if a)
        history = History.of(ws, own)
        model = None if no_model or not sec.model_configured else sec.model()
        if model is None and not no_model:
            err.print("[dim]No model configured: only the model-free rules decide.[/]")

        def items() -> Any:
            if paths:
                for path in paths:
                    for raw in iter_source(path.expanduser()):
                        yield raw.ref, raw.data, raw.problem
                return
            unread = getattr(ws.mail, "unread", None)
            if not callable(unread):
                raise click.ClickException(
                    "This mail provider cannot list unread mail; give files or folders to triage."
                )
            try:
                for r in unread(limit=limit):
                    yield f"{r.folder}/{r.uid}", r.raw, ""
            except ProviderError as exc:
                raise click.ClickException(str(exc)) from None

        def one(ref: str, data: bytes | None, problem: str) -> Verdict:
            # Each message on its own: whatever one of them does, the run goes on.
            if data is None:
                return unreadable(ref, problem)
            try:
                mail = Incoming.from_raw(data, p, source=ref)
            except ValueError as exc:
                return unreadable(ref, str(exc))
            except Exception as exc:  # noqa: BLE001 - hostile bytes must not end the run
                log.warning("triage: reading %s failed", ref, exc_info=True)
                return unreadable(ref, f"{type(exc).__name__}: {exc}")
            try:
                return run_triage(mail, p, history, model, sec.settings)
            except Exception as exc:  # noqa: BLE001 - reported on its row, logged in full
                log.warning("triage: triaging %s failed", ref, exc_info=True)
                return not_triaged(mail, f"{type(exc).__name__}: {exc}")

        verdicts: list[Verdict] = []
        for ref, data, problem in items():
            verdict = one(ref, data, problem)
            verdicts.append(verdict)
            if as_json:
                click.echo(json.dumps(verdict.to_json(), ensure_ascii=False))
    if as_json:
        return
    if not verdicts:
        err.print("No messages to triage.")
        return
    from rich.table import Table

    table = Table(show_lines=False)
    for col in ("#", "from", "subject", "category", "action", "why"):
        table.add_column(col, overflow="fold")
    for i, v in enumerate(verdicts, 1):
        flags = " ".join(f for f, on in (("SPAM", v.spam), ("PHISHING", v.phishing)) if on)
        who = v.sender or v.source
        model_mark = " (model)" if v.used_model else ""
        why = v.reason + "".join(f" (warning: {w})" for w in v.warnings)
        table.add_row(
            *cells(
                str(i),
                who[:40],
                v.subject[:60],
                f"{v.category} {flags}".strip(),
                v.action + model_mark,
                why,
            )
        )
    out.print(table)
    decided = sum(v.decided for v in verdicts)
    failed = sum(v.reason.startswith(("unreadable:", "not triaged:")) for v in verdicts)
    warned = sum(bool(v.warnings) for v in verdicts)
    err.print(
        f"{len(verdicts)} messages: {decided} decided "
        f"({sum(v.decided and not v.used_model for v in verdicts)} by rules), "
        f"{len(verdicts) - decided} undecided"
        + (f" ({failed} of them unreadable or not triaged, each with its reason)" if failed else "")
        + (f"; {warned} read with warnings" if warned else "")
        + "."
    )


@command("mail-agent")
@click.option("--once", is_flag=True, help="One round, then exit (for cron).")
@click.option(
    "--poll",
    default=60.0,
    show_default=True,
    help="Seconds between rounds when the server offers no IMAP IDLE.",
)
@click.option("--status", "show_status", is_flag=True, help="Show what the desk handled lately.")
@click.option("--no-model", is_flag=True, help="Triage by rules only; draft nothing.")
@PRINCIPAL
@JSON
@_guard
def mail_agent(
    once: bool,
    poll: float,
    show_status: bool,
    no_model: bool,
    principal: str | None,
    as_json: bool,
) -> None:
    """Answer e-mail: fetch, triage, propose replies, ask for approval, send once.

    The first start only notes where the inbox is: mail already there is
    history (add it to memory with `secretary ingest`), later mail is handled.
    Replies are proposals; they are sent only after approval (from `secretary
    pending`, or by answering the approval e-mail when the principal's
    policy.approval_channel is "email").

    With --once the exit status is 1 when the round could not fetch mail or
    send approval requests (the reason on stderr), so cron reports it; running
    on, the desk prints and logs each failed round and tries again.

    \b
    Examples:
      secretary mail-agent            # run until Ctrl-C
      secretary mail-agent --once     # one round, for cron
      secretary mail-agent --status
    """
    from rich.markup import escape

    from agent.channels.email import MailDesk

    out, err = _consoles()
    with _secretary() as sec:
        desk = MailDesk(sec, principal, use_model=not no_model)
        if show_status:
            rows = desk.state.rows()
            if as_json:
                click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
                return
            if not rows:
                err.print("The mail desk has handled nothing yet.")
            for r in rows:
                out.print(
                    f"{r['updated_at'][:16]}  {r['status']:<9} {r['category'] or '-':<14} "
                    f"{r['action'] or '-':<9} {r['sender'][:30]:<30} {r['subject'][:50]}",
                    markup=False,  # senders and subjects are as they arrived
                    highlight=False,
                )
            return
        stop = threading.Event()

        def on_signal(_sig: int, _frame: Any) -> None:
            stop.set()

        previous = signal.signal(signal.SIGTERM, on_signal)

        failed: list[str] = []  # what went wrong in the latest round

        def show(report: Any) -> None:
            for line in report.errors:
                # Cron mails stderr and service managers keep the log: a failing round must
                # stand out in both, not pass as a quiet round.
                log.error("mail-agent %s: %s", desk.principal.id, line)
                if not once:
                    err.print(
                        f"[red]{escape(line)}[/] (next round within {poll:g} seconds)",
                        soft_wrap=True,
                    )
            if failed and not report.errors and not once:
                log.info("mail-agent %s: the round works again", desk.principal.id)
                err.print("[green]The mail round works again.[/]")
            failed[:] = report.errors
            if as_json:
                click.echo(
                    json.dumps(
                        {
                            "fetched": report.fetched,
                            "handled": report.handled,
                            "requests_sent": report.requests_sent,
                            "errors": report.errors,
                            "notes": report.notes,
                        },
                        ensure_ascii=False,
                    )
                )
                return
            for line in [*report.notes, *report.handled]:
                err.print(line, markup=False, highlight=False)  # quotes what arrived
            if report.requests_sent:
                err.print(f"Sent {report.requests_sent} approval request(s) by e-mail.")
            if once and not (report.notes or report.handled or report.errors):
                err.print("No new mail.")

        if not once:
            err.print(
                f"Mail desk for {desk.principal.name} running (Ctrl-C to stop). "
                "Decisions: secretary pending."
            )
        try:
            desk.run(once=once, poll=poll, stop=stop, on_round=show)
        except KeyboardInterrupt:
            err.print("Stopped.")
        finally:
            signal.signal(signal.SIGTERM, previous)
        if once and failed:
            # Exit status 1, so cron (and any scheduler) reports the failed round.
            raise click.ClickException(f"The mail round did not complete: {'; '.join(failed)}")
