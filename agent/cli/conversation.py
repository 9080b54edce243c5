"""``secretary ask`` and ``chat``, and the approvals: ``pending``, ``approve`` ... ``audit``.

Results go to stdout (``--json`` for scripts); status lines and approval cards go to stderr.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from agent.cli.common import (
    JSON,
    PRINCIPAL,
    _consoles,
    _guard,
    _secretary,
    command,
)


@command()
@click.argument("text")
@click.option("-t", "--thread", help="Continue this thread (default: a new one).")
@PRINCIPAL
@JSON
@_guard
def ask(text: str, thread: str | None, principal: str | None, as_json: bool) -> None:
    """One turn, without waiting for input: print the reply and what awaits approval.

    \b
    Example:
      secretary ask "Move my 3pm with Dana to tomorrow" --thread 20261123-4f2a
    """
    from agent.channels.render import show_reply

    with _secretary() as sec:
        reply = sec.ask(text, principal=principal, thread=thread)
    if as_json:
        click.echo(json.dumps(reply.to_json(), indent=2, default=str))
    else:
        out, err = _consoles()
        show_reply(out, err, reply)
        err.print(f"[dim]thread {reply.thread} (continue it with --thread {reply.thread})[/]")
    if reply.error:
        sys.exit(1)


@command()
@click.option("-t", "--thread", help="Continue this thread.")
@PRINCIPAL
@_guard
def chat(thread: str | None, principal: str | None) -> None:
    """Talk with the secretary; approve, edit or reject its proposals as they come.

    Slash commands work without a model: /pending, /approve ID, /reject ID,
    /agenda, /audit, /help.
    """
    from agent.channels.terminal import run_chat

    with _secretary() as sec:
        run_chat(sec, principal=principal, thread=thread)


# ------------------------------------------------------------------ approvals


@command()
@PRINCIPAL
@JSON
@_guard
def pending(principal: str | None, as_json: bool) -> None:
    """List actions waiting for a decision.

    --json prints an array of objects with id, principal, thread, tool, args,
    status (and more); that shape is a stable contract.
    """
    with _secretary() as sec:
        rows = sec.pending(principal and sec.principal(principal).id)
    if as_json:
        click.echo(json.dumps([p.to_json() for p in rows], indent=2, default=str))
        return
    from agent.channels.render import card

    out, err = _consoles()
    if not rows:
        err.print("Nothing is waiting for approval.")
    for p in rows:
        out.print(card(p))


def _decide(proposal_id: str, decision: Any, principal: str | None, as_json: bool) -> None:
    from agent.channels.render import show_reply
    from agent.channels.terminal import lost_decision

    with _secretary() as sec:
        reply = sec.decide(proposal_id, decision, principal=principal)
        # Someone decided first: exit 1 and say who, so a script never takes it for done.
        lost = lost_decision(sec, proposal_id, decision, reply)
        if lost:
            reply.error = " ".join(filter(None, [reply.error, lost]))
    if as_json:
        click.echo(json.dumps(reply.to_json(), indent=2, default=str))
    else:
        out, err = _consoles()
        show_reply(out, err, reply, cards=False)
    if reply.error:
        sys.exit(1)


@command()
@click.argument("proposal_id")
@PRINCIPAL
@JSON
@_guard
def approve(proposal_id: str, principal: str | None, as_json: bool) -> None:
    """Approve a proposal: it runs now, exactly once."""
    from agent.approval import Decision

    _decide(proposal_id, Decision(kind="approve"), principal, as_json)


@command()
@click.argument("proposal_id")
@click.option("-r", "--reason", default=None, help="Why; the secretary is told.")
@PRINCIPAL
@JSON
@_guard
def reject(proposal_id: str, reason: str | None, principal: str | None, as_json: bool) -> None:
    """Reject a proposal (the reason goes back to the secretary)."""
    from agent.approval import Decision

    _decide(proposal_id, Decision(kind="reject", text=reason), principal, as_json)


@command()
@click.argument("proposal_id")
@click.option("-m", "--message", required=True, help="What to tell the secretary instead.")
@PRINCIPAL
@JSON
@_guard
def respond(proposal_id: str, message: str, principal: str | None, as_json: bool) -> None:
    """Do not run the action; send a message back to the secretary instead."""
    from agent.approval import Decision

    if not message.strip():
        raise click.BadParameter(
            "the message is empty; say what the secretary should do instead.",
            param_hint="'-m' / '--message'",
        )
    _decide(proposal_id, Decision(kind="respond", text=message), principal, as_json)


@command()
@click.argument("proposal_id")
@click.option(
    "-s",
    "--set",
    "assignments",
    multiple=True,
    required=True,
    help="FIELD=VALUE; repeat for several. JSON values allowed; lists by comma.",
)
@PRINCIPAL
@JSON
@_guard
def edit(
    proposal_id: str, assignments: tuple[str, ...], principal: str | None, as_json: bool
) -> None:
    """Change a proposal's arguments, then run it (approval with edits).

    \b
    Example:
      secretary edit 3f9c2a1b --set subject="Budget, revised" --set to=a@x.com,b@y.com
    """
    from agent.approval import Decision, coerce_edit, parse_assignments
    from agent.runtime import SecretaryError
    from tools.base import registry

    with _secretary() as sec:
        try:
            proposal = sec.ledger.get(proposal_id, principal)
        except Exception as exc:
            raise SecretaryError(str(exc)) from None
    spec = registry().get(proposal.tool)
    if spec is None:
        raise click.ClickException(f"The tool {proposal.tool} no longer exists.")
    try:
        changes = parse_assignments(list(assignments))
        args = coerce_edit(spec.args_model.model_json_schema(), proposal.args, changes)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    _decide(proposal.id, Decision(kind="edit", args=args), principal, as_json)


@command()
@PRINCIPAL
@click.option("--events", is_flag=True, help="Show the raw audit events instead.")
@JSON
@_guard
def audit(principal: str | None, events: bool, as_json: bool) -> None:
    """Every proposal and action: who decided, idempotency key, result, times."""
    with _secretary() as sec:
        pid = principal and sec.principal(principal).id
        if events:
            trail = sec.trail(pid)
            if as_json:
                click.echo(json.dumps(trail, indent=2, default=str))
            else:
                for e in trail:
                    detail = json.dumps(e["detail"]) if e["detail"] else ""
                    click.echo(
                        f"{e['at']}  {e['principal']:<10} {e['proposal_id'] or '-':<9} "
                        f"{e['event']:<18} {e['actor'] or '':<22} {detail}"
                    )
            return
        rows = sec.audit(pid)
    if as_json:
        click.echo(json.dumps([p.to_json() for p in rows], indent=2, default=str))
        return
    from agent.channels.render import proposals_table

    out, err = _consoles()
    if not rows:
        err.print("Nothing has been proposed yet.")
        return
    out.print(proposals_table(rows, title="Audit"))
