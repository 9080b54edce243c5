"""The Slack front door: what the bot does with messages, button clicks, modals and commands.

What it does, for the people mapped to principals in the settings
(``identities`` with channel ``slack``, address = Slack user id):

- A direct message or a mention in a channel is one turn of a secretary
  thread. A Slack thread is a secretary thread (``slack-<channel>-<ts>``), so
  the terminal can continue it (``secretary chat -t ...``); writing
  ``thread <id>`` in a Slack thread continues a terminal thread there instead.
- Every proposal becomes a Block Kit card (:mod:`agent.channels.slack_blocks`)
  with Approve / Edit / Reject buttons. Edit opens a modal with the arguments,
  Reject a modal asking for a reason. After a decision, from Slack or any other
  channel, the card is updated in place to show who decided and what happened.
- Approval requests made elsewhere (the mail desk, the terminal) are posted
  to the principal's DM when their ``policy.approval_channel`` is ``slack``.
- ``/secretary agenda|pending|brief`` answers without a model.

Only a principal (or staff the principal allowed for that tool) can decide;
everyone else gets a polite refusal and nothing changes. The bolt app that
delivers Slack's events here, over Socket Mode or HTTP, is built in
:mod:`agent.channels.slack_app`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agent.approval import Decision, apply_edit
from agent.channels.slack_blocks import (
    EDIT,
    card_blocks,
    card_text,
    clip,
    edit_view,
    edited_args,
    escape,
    reject_view,
    who,
)
from agent.channels.slack_state import FINAL, SlackState
from tools.foundation.errors import SecretaryError
from tools.providers.base import ProviderError

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from agent.ledger import Proposal
    from agent.runtime import Reply, Secretary
    from tools.foundation.principals import Principal, Role

__all__ = ["SlackDesk", "SlackState"]

log = logging.getLogger(__name__)

THREAD_RE = re.compile(r"thread\s+([A-Za-z0-9][A-Za-z0-9._:-]{0,80})")
MENTION_RE = re.compile(r"<@[A-Z0-9]+>")


# ------------------------------------------------------------------ the desk


class SlackDesk:
    """What the bot does with messages, clicks and commands, over one Secretary."""

    def __init__(self, secretary: Secretary, client: WebClient) -> None:
        """Prepare the desk.

        Args:
            secretary: The runtime facade (the only way into the secretary).
            client: A Web API client carrying the bot token.
        """
        self.sec = secretary
        self.client = client
        self.state = SlackState(secretary.home, storage=secretary.settings.storage())

    def close(self) -> None:
        """Close the desk's own database."""
        self.state.close()

    # ---------------------------------------------------------- who is who

    def speaker(self, user: str) -> tuple[Principal | None, Role]:
        """The principal a Slack user speaks for, and in which role.

        The principal of exactly one principal speaks for them; staff of
        exactly one principal speak to that principal's secretary as staff;
        everyone else is an outsider, who speaks for no one.
        """
        found: dict[str, list[Principal]] = {"principal": [], "staff": []}
        for p in self.sec.settings.principals:
            role = p.role_of("slack", user)
            if role in found:
                found[role].append(p)
        if len(found["principal"]) == 1:
            return found["principal"][0], "principal"
        if not found["principal"] and len(found["staff"]) == 1:
            return found["staff"][0], "staff"
        return None, "outsider"

    @staticmethod
    def slack_user_of(p: Principal) -> str | None:
        """The Slack user id of the principal themself, if configured."""
        for ident in p.identities:
            if ident.channel == "slack" and ident.role == "principal":
                return ident.address
        return None

    # ---------------------------------------------------------- Web API

    def _api(self, method: str, **kwargs: Any) -> dict[str, Any]:
        """Call a Web API method; failures become ProviderError with a sentence."""
        from slack_sdk.errors import SlackApiError, SlackClientError

        try:
            if method in ("conversations.open",):
                response = self.client.api_call(method, params=kwargs)
            else:
                response = self.client.api_call(method, json=kwargs)
        except SlackApiError as exc:
            code = exc.response.get("error", "unknown_error") if exc.response else "no answer"
            raise ProviderError(
                f"Slack refused {method} ({code}); check the bot token, the app's scopes and "
                "that the bot is in the conversation."
            ) from None
        except (SlackClientError, OSError) as exc:
            raise ProviderError(
                f"Slack could not be reached for {method} ({type(exc).__name__}); "
                "check the network and try again."
            ) from None
        return dict(response.data) if isinstance(response.data, dict) else {}

    def post(self, channel: str, text: str, thread_ts: str = "", **extra: Any) -> str:
        """Post a message (in a thread when ``thread_ts`` is given); returns its ts."""
        kwargs: dict[str, Any] = {"channel": channel, "text": text, **extra}
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        return str(self._api("chat.postMessage", **kwargs).get("ts", ""))

    def _safe_post(self, channel: str, text: str, thread_ts: str = "") -> None:
        try:
            self.post(channel, text, thread_ts)
        except ProviderError as exc:
            log.warning("slack: could not post to %s: %s", channel, exc)

    def post_card(self, p: Proposal, channel: str, thread_ts: str = "") -> str:
        """Post a proposal's card and remember where it is."""
        ts = self.post(channel, card_text(p), thread_ts, blocks=card_blocks(p))
        self.state.add_card(p, channel, ts, thread_ts)
        return ts

    def refresh(self, proposal_id: str) -> int:
        """Update every card of a proposal in place to show its state; returns how many."""
        from agent.ledger import LedgerError

        try:
            p = self.sec.ledger.get(proposal_id)
        except LedgerError:
            return 0
        done = 0
        for row in self.state.cards(proposal_id):
            if row["shown_status"] == p.status and p.status in FINAL:
                continue
            try:
                self._api(
                    "chat.update",
                    channel=row["channel"],
                    ts=row["ts"],
                    text=card_text(p),
                    blocks=card_blocks(p),
                )
            except ProviderError as exc:
                log.warning("slack: card of %s not updated: %s", proposal_id, exc)
                continue
            self.state.shown(proposal_id, row["channel"], row["ts"], p.status)
            done += 1
        return done

    def refresh_cards(self) -> int:
        """Update cards whose proposal was decided elsewhere (terminal, e-mail)."""
        from agent.ledger import LedgerError

        updated = 0
        for row in self.state.cards():
            try:
                status = self.sec.ledger.get(row["proposal_id"]).status
            except LedgerError:
                continue
            if status != row["shown_status"]:
                updated += self.refresh(row["proposal_id"])
        return updated

    def route_approvals(self, principal: str | None = None, *, force: bool = False) -> int:
        """Post a card to the principal's DM for every waiting proposal without one.

        Only principals whose ``policy.approval_channel`` is ``slack`` (or any
        principal with ``force``) and who have a Slack identity are served.
        Returns how many cards were posted; the mail desk or a loop calls this.
        """
        posted = 0
        for p in self.sec.settings.principals:
            if principal is not None and p.id != principal:
                continue
            if not force and p.policy.approval_channel != "slack":
                continue
            user = self.slack_user_of(p)
            if user is None:
                continue
            waiting = [q for q in self.sec.pending(p.id) if not self.state.cards(q.id)]
            if not waiting:
                continue
            channel = str(self._api("conversations.open", users=user)["channel"]["id"])
            for q in waiting:
                self.post_card(q, channel)
                self.sec.ledger.note(
                    p.id, "approval_requested", "slack:desk", {"channel": channel}, q.id
                )
                posted += 1
        return posted

    def sync(self) -> None:
        """One round of the background loop: route new approvals, refresh decided cards."""
        try:
            self.route_approvals()
            self.refresh_cards()
        except ProviderError as exc:
            log.warning("slack: sync failed: %s", exc)

    # ---------------------------------------------------------- messages

    def on_message(self, event: dict[str, Any], event_id: str = "") -> None:
        """One DM or mention: a turn of the Slack thread's secretary thread."""
        user = str(event.get("user") or "")
        channel = str(event.get("channel") or "")
        ts = str(event.get("ts") or "")
        if not user or not channel or event.get("bot_id"):
            return
        if not self.state.first_time(event_id or f"msg:{channel}:{ts}"):
            return  # a retry of an event already being answered
        thread_ts = str(event.get("thread_ts") or ts)
        text = MENTION_RE.sub("", str(event.get("text") or "")).strip()
        p, role = self.speaker(user)
        if p is None:
            log.info("slack: message from unmapped user %s not passed on", user)
            self._safe_post(
                channel,
                "Hello! I take instructions only from the people I work for, so I have not "
                "passed this on. Please contact them directly.",
                thread_ts,
            )
            return
        key = f"{channel}:{thread_ts}"
        bound = THREAD_RE.fullmatch(text)
        if bound is not None:
            self.state.bind(key, p.id, bound.group(1))
            self._safe_post(
                channel,
                f"This Slack thread now continues thread `{escape(bound.group(1))}` "
                f"of {escape(p.name)}.",
                thread_ts,
            )
            return
        thread = self.state.thread_for(key, p.id)
        first = thread is None
        if thread is None:
            thread = f"slack-{channel}-{thread_ts}"
            self.state.bind(key, p.id, thread)
        from agent.runtime import Actor

        try:
            reply = self.sec.ask(
                text, principal=p.id, thread=thread, actor=Actor("slack", user), role=role
            )
        except SecretaryError as exc:
            self._safe_post(channel, escape(str(exc)), thread_ts)
            return
        except Exception:  # noqa: BLE001 - the person gets a sentence, the log the details
            log.exception("slack: answering %s failed", key)
            self._safe_post(
                channel,
                "Sorry, something went wrong while answering; the details are in "
                "secretary.log. Your message is kept in the thread; try again.",
                thread_ts,
            )
            return
        self.show_reply(reply, channel, thread_ts, first=first)

    def show_reply(
        self, reply: Reply, channel: str, thread_ts: str, *, first: bool = False
    ) -> None:
        """Post what a call produced: notices, results, the answer, and a card per proposal."""
        lines: list[str] = []
        if reply.notice:
            lines.append(f"_{escape(reply.notice)}_")
        for p in reply.settled:
            summary = escape(p.preview.get("summary") or p.tool)
            if p.status == "executed":
                lines.append(f":white_check_mark: Done: {summary}")
            elif p.status == "failed":
                lines.append(f":warning: Failed: {summary}: {escape(p.error or '?')}")
        if reply.text:
            lines.append(escape(reply.text))
        if reply.error:
            lines.append(f":warning: {escape(reply.error)}")
        if first:
            lines.append(
                f"_Thread `{reply.thread}`; continue it in a terminal with "
                f"`secretary chat -t {reply.thread}`._"
            )
        try:
            if lines:
                self.post(channel, "\n\n".join(lines), thread_ts)
            for p in reply.pending:
                if not self.state.cards(p.id):
                    self.post_card(p, channel, thread_ts)
        except ProviderError as exc:
            log.warning("slack: could not post the answer in %s: %s", channel, exc)

    # ---------------------------------------------------------- decisions

    def _proposal(self, proposal_id: str) -> Proposal | None:
        from agent.ledger import LedgerError

        try:
            return self.sec.ledger.get(proposal_id)
        except LedgerError:
            return None

    def _may_decide(self, p: Proposal, user: str) -> str | None:
        """None when ``user`` may decide ``p``; else the polite refusal (and an audit note)."""
        principal = self.sec.principal(p.principal)
        role = principal.role_of("slack", user)
        if principal.may_approve(role, p.tool, user):
            return None
        self.sec.ledger.note(
            principal.id, "decision_refused", f"slack:{user}", {"role": role}, p.id
        )
        return (
            f"Sorry, only {escape(principal.name)} (or staff they allowed) can decide this "
            "action; nothing was changed."
        )

    def _where(self, proposal_id: str) -> tuple[str, str]:
        """The channel and thread where follow-ups about a proposal go."""
        rows = self.state.cards(proposal_id)
        if not rows:
            return "", ""
        row = rows[0]
        return row["channel"], row["thread_ts"] or row["ts"]

    def remember_clicked(self, body: dict[str, Any], p: Proposal) -> None:
        """Record the card that was clicked, so it is updated even if posted elsewhere."""
        container = body.get("container") or {}
        channel, ts = container.get("channel_id"), container.get("message_ts")
        if channel and ts:
            thread_ts = (body.get("message") or {}).get("thread_ts") or ""
            self.state.add_card(p, str(channel), str(ts), str(thread_ts), status="proposed")

    def decide(
        self,
        proposal_id: str,
        decision: Decision,
        user: str,
        tell: Callable[[str], None],
    ) -> None:
        """Apply a decision made in Slack, update the cards, post what followed."""
        from agent.runtime import Actor

        p = self._proposal(proposal_id)
        if p is None:
            tell(f"Proposal {proposal_id} no longer exists.")
            return
        try:
            reply = self.sec.decide(
                p.id, decision, actor=Actor("slack", user), principal=p.principal
            )
        except SecretaryError as exc:
            tell(escape(str(exc)))
            return
        except Exception:  # noqa: BLE001 - the person gets a sentence, the log the details
            log.exception("slack: deciding %s failed", p.id)
            tell("Sorry, something went wrong; the details are in secretary.log.")
            self.refresh(p.id)
            return
        self.refresh(p.id)
        for other in reply.settled:
            if other.id != p.id:
                self.refresh(other.id)
        if reply.notice and not reply.settled:
            tell(escape(reply.notice))  # decided before: say so, nothing else
            return
        channel, thread_ts = self._where(p.id)
        if channel:
            # The card itself shows this proposal's outcome; post only what followed.
            reply.settled = [s for s in reply.settled if s.id != p.id]
            self.show_reply(reply, channel, thread_ts)

    def on_approve(self, body: dict[str, Any], tell: Callable[[str], None]) -> None:
        """The Approve button."""
        proposal_id = str(body["actions"][0]["value"])
        p = self._proposal(proposal_id)
        if p is not None:
            self.remember_clicked(body, p)
        self.decide(proposal_id, Decision(kind="approve"), body["user"]["id"], tell)

    def open_modal(self, body: dict[str, Any], kind: str, tell: Callable[[str], None]) -> None:
        """The Edit or Reject button: open the modal (after the checks a click needs)."""
        from tools.base import registry

        proposal_id = str(body["actions"][0]["value"])
        user = str(body["user"]["id"])
        p = self._proposal(proposal_id)
        if p is None:
            tell(f"Proposal {proposal_id} no longer exists.")
            return
        self.remember_clicked(body, p)
        refusal = self._may_decide(p, user)
        if refusal is not None:
            tell(refusal)
            return
        if p.status != "proposed":
            tell(f"Proposal {p.id} was already {p.status} by {who(p.decided_by)}; nothing to do.")
            self.refresh(p.id)
            return
        if kind == EDIT:
            spec = registry().get(p.tool)
            if spec is None:
                tell(f"The tool {escape(p.tool)} no longer exists.")
                return
            view = edit_view(p, spec.args_model.model_json_schema())
        else:
            view = reject_view(p)
        try:
            self._api("views.open", trigger_id=body["trigger_id"], view=view)
        except ProviderError as exc:
            tell(escape(str(exc)))

    def check_edit(self, body: dict[str, Any]) -> tuple[str, dict[str, Any] | None, dict[str, str]]:
        """Read a submitted edit modal: (proposal id, new arguments, errors per block)."""
        from tools.base import ToolError, registry

        view = body["view"]
        proposal_id = str(json.loads(view.get("private_metadata") or "{}").get("proposal", ""))
        p = self._proposal(proposal_id)
        first = next(iter(view["state"]["values"]), "arg:")
        if p is None:
            return proposal_id, None, {first: "This proposal no longer exists."}
        spec = registry().get(p.tool)
        if spec is None:
            return p.id, None, {first: f"The tool {p.tool} no longer exists."}
        schema = spec.args_model.model_json_schema()
        try:
            args, changed = edited_args(p, schema, view["state"]["values"])
        except ValueError as exc:
            return p.id, None, {first: str(exc)}
        if not changed:
            return p.id, None, {first: "Nothing was changed; close this and press Approve."}
        from tools.context import ToolContext

        principal = self.sec.principal(p.principal)
        # The same checks the runtime makes (schema, then the preview: addresses,
        # times), here so a mistake is shown in the modal, next to its field.
        ctx = ToolContext(principal=principal, workspace=self.sec.workspace(principal))
        try:
            apply_edit(spec, p, args, ctx)
        except ToolError as exc:
            named = [n for n in changed if n in str(exc)] or changed
            return p.id, None, {f"arg:{named[0]}": clip(str(exc), 2000)}
        return p.id, args, {}

    # ---------------------------------------------------------- /secretary

    def command(self, body: dict[str, Any]) -> str:
        """The answer to ``/secretary agenda|pending|brief`` (mrkdwn)."""
        p, _role = self.speaker(str(body.get("user_id") or ""))
        if p is None:
            return "Sorry, I work only for the people I was set up for; I cannot answer you."
        words = str(body.get("text") or "").split()
        verb = words[0].lower() if words else "brief"
        try:
            if verb == "agenda":
                return self._agenda(p, words[1] if len(words) > 1 else None, words[2:3])
            if verb == "pending":
                return self._pending(p)
            if verb == "brief":
                return self._brief(p)
        except (SecretaryError, ProviderError) as exc:
            return escape(str(exc))
        return (
            "Try `/secretary agenda [date] [days]`, `/secretary pending` or `/secretary brief`; "
            "or just write to me."
        )

    def _agenda(self, p: Principal, day: str | None, days: list[str]) -> str:
        from agent.channels.terminal import agenda_events

        try:
            n = int(days[0]) if days else 1
        except ValueError:
            n = 1
        if day is not None and day.isdigit() and not days:
            n, day = int(day), None  # `/secretary agenda 3`: three days from today
        events, title = agenda_events(self.sec, p, day, n)
        lines = [f"*{escape(title)}*"]
        lines += [self._event_line(e, p) for e in events] or ["Nothing scheduled."]
        return "\n".join(lines)

    @staticmethod
    def _event_line(e: Any, p: Principal) -> str:
        start = e.start.astimezone(p.tz)
        if e.all_day:
            when = f"{start:%a %d %b} (all day)"
        else:
            when = f"{start:%a %d %b %H:%M}-{e.end.astimezone(p.tz):%H:%M}"
        where = f" · {escape(e.location)}" if e.location else ""
        return f"• {when}  *{escape(e.title)}*{where}"

    def _pending(self, p: Principal) -> str:
        rows = self.sec.pending(p.id)
        if not rows:
            return "Nothing is waiting for approval."
        lines = [f"*{len(rows)} action(s) waiting for a decision:*"]
        lines += [f"• `{q.id}` {escape(q.preview.get('summary') or q.tool)}" for q in rows]
        try:
            posted = self.route_approvals(p.id, force=True)
        except ProviderError as exc:
            log.warning("slack: cards for %s not posted: %s", p.id, exc)
            posted = 0
        if posted:
            lines.append(f"I posted {posted} card(s) with buttons in our direct messages.")
        else:
            lines.append("Their cards, with buttons, are in the threads where they came up.")
        return "\n".join(lines)

    def _brief(self, p: Principal) -> str:
        """The daily briefing (the same one `secretary brief` prints), in mrkdwn."""
        from tools.briefing import build_briefing
        from tools.context import ToolContext

        ctx = ToolContext(principal=p, workspace=self.sec.workspace(p), clock=self.sec._clock)
        briefing = build_briefing(ctx)
        name = escape(p.name.split()[0] if p.name else p.id)
        lines = [f"*Brief for {name}, {briefing.day:%A %d %B} ({p.timezone})*"]
        for section in briefing.sections:
            if not section.lines and not section.note:
                continue
            lines.append(f"*{escape(section.title)}* ({len(section.lines)})")
            if section.note:
                lines.append(f"_{escape(section.note)}_")
            lines += [f"• {escape(line)}" for line in section.lines[:10]]
            if len(section.lines) > 10:
                lines.append(f"• … and {len(section.lines) - 10} more (`secretary brief`)")
        if len(lines) == 1:
            lines.append("Nothing on the agenda and nothing waiting for you.")
        return "\n".join(lines)
