"""The Slack front door: a bolt app that talks to the secretary and carries approval cards.

What it does, for the people mapped to principals in the settings
(``identities`` with channel ``slack``, address = Slack user id):

- A direct message or a mention in a channel is one turn of a secretary
  thread. A Slack thread is a secretary thread (``slack-<channel>-<ts>``), so
  the terminal can continue it (``secretary chat -t ...``); writing
  ``thread <id>`` in a Slack thread continues a terminal thread there instead.
- Every proposal becomes a Block Kit card (what will happen, every argument
  and where it came from, warnings) with Approve / Edit / Reject buttons.
  Edit opens a modal with the arguments, Reject a modal asking for a reason.
  After a decision, from Slack or any other channel, the card is updated in
  place to show who decided and what happened.
- Approval requests made elsewhere (the mail desk, the terminal) are posted
  to the principal's DM when their ``policy.approval_channel`` is ``slack``.
- ``/secretary agenda|pending|brief`` answers without a model.

Only a principal (or staff the principal allowed for that tool) can decide;
everyone else gets a polite refusal and nothing changes. bolt verifies the
signature and timestamp of every HTTP request (401 for a forged or a replayed
one older than five minutes). Events are acknowledged at once and the work
runs on bolt's worker threads, so a slow model never misses Slack's
three-second limit. Tokens stay in :class:`SlackSettings` and are never logged.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from agent.approval import Decision, apply_edit, card_lines, coerce_edit, origin
from tools.foundation.db import Storage
from tools.foundation.errors import SecretaryError
from tools.providers.base import ProviderError
from tools.providers.local.store import LocalStore

if TYPE_CHECKING:
    from slack_bolt import App
    from slack_sdk import WebClient

    from agent.ledger import Proposal
    from agent.runtime import Reply, Secretary
    from tools.foundation.principals import Principal, Role

log = logging.getLogger(__name__)

APPROVE = "secretary_approve"
EDIT = "secretary_edit"
REJECT = "secretary_reject"
EDIT_VIEW = "secretary_edit_view"
REJECT_VIEW = "secretary_reject_view"
MAX_INPUT = 3000
"""Slack's limit for a text input; longer arguments are edited from the terminal."""
MAX_BODY = 1_000_000
"""The largest HTTP request the HTTP mode reads (Slack's payloads are far smaller)."""
FINAL = ("executed", "rejected", "failed")
THREAD_RE = re.compile(r"thread\s+([A-Za-z0-9][A-Za-z0-9._:-]{0,80})")
MENTION_RE = re.compile(r"<@[A-Z0-9]+>")

SCHEMA = """
CREATE TABLE IF NOT EXISTS cards (
    proposal_id TEXT NOT NULL,
    principal TEXT NOT NULL,
    channel TEXT NOT NULL,
    ts TEXT NOT NULL,
    thread_ts TEXT NOT NULL DEFAULT '',
    shown_status TEXT NOT NULL DEFAULT 'proposed',
    posted_at TEXT NOT NULL,
    PRIMARY KEY (proposal_id, channel, ts)
);
CREATE TABLE IF NOT EXISTS threads (
    slack_key TEXT NOT NULL,
    principal TEXT NOT NULL,
    thread TEXT NOT NULL,
    PRIMARY KEY (slack_key, principal)
);
CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, at TEXT NOT NULL);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# ------------------------------------------------------------------ settings


@dataclass(frozen=True)
class SlackSettings:
    """The app's credentials; ``repr`` never shows them."""

    bot_token: str = field(repr=False)
    signing_secret: str = field(repr=False)
    app_token: str = field(default="", repr=False)

    @classmethod
    def from_env(cls, *, socket_mode: bool = True) -> SlackSettings:
        """Read ``SLACK_BOT_TOKEN``, ``SLACK_SIGNING_SECRET`` and (Socket Mode) ``SLACK_APP_TOKEN``.

        Raises:
            SecretaryError: naming the variables that are missing.
        """
        bot = os.environ.get("SLACK_BOT_TOKEN", "").strip()
        secret = os.environ.get("SLACK_SIGNING_SECRET", "").strip()
        app = os.environ.get("SLACK_APP_TOKEN", "").strip()
        needed = {"SLACK_BOT_TOKEN": bot}
        if socket_mode:
            needed["SLACK_APP_TOKEN"] = app
        else:
            needed["SLACK_SIGNING_SECRET"] = secret
        missing = [name for name, value in needed.items() if not value]
        if missing:
            raise SecretaryError(
                f"Set {' and '.join(missing)} (from the Slack app's settings pages) "
                "before starting the Slack bot; see the README section 'Slack'."
            )
        # Socket Mode requests are not signed; bolt still wants a secret to exist.
        return cls(bot_token=bot, signing_secret=secret or "socket-mode", app_token=app)


# ------------------------------------------------------------------ rendering


def escape(text: str) -> str:
    """Escape text for Slack mrkdwn, so no content can mention @channel or fake a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def who(actor: str | None) -> str:
    """A ledger actor (``slack:U123``, ``terminal:ada``) as Slack mrkdwn."""
    if not actor:
        return "someone"
    channel, _, address = actor.partition(":")
    if channel == "slack" and re.fullmatch(r"[A-Z0-9]+", address):
        return f"<@{address}>"
    label = {"terminal": "the terminal", "email": "e-mail"}.get(channel, channel)
    return f"{escape(address)} ({label})" if address else escape(label)


def _when(iso: str | None) -> str:
    """A ledger time shown in each reader's own time zone by Slack."""
    if not iso:
        return ""
    try:
        at = datetime.fromisoformat(iso)
    except ValueError:
        return escape(iso)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    fallback = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def outcome(p: Proposal) -> str:
    """One line saying who decided a proposal and what became of it."""
    by, at = who(p.decided_by), _when(p.executed_at or p.decided_at)
    edited = " (edited)" if p.decision == "edit" else ""
    if p.status == "executed":
        return f":white_check_mark: Approved{edited} by {by}; done {at}."
    if p.status == "failed":
        return f":warning: Approved{edited} by {by}, but it failed: {escape(p.error or '?')}"
    if p.status == "approved":
        return f":hourglass_flowing_sand: Approved{edited} by {by}; running."
    if p.status == "rejected":
        verb = "Answered instead" if p.decision == "respond" else "Rejected"
        why = f": {escape(p.reason)}" if p.reason else "."
        return f":x: {verb} by {by} {at}{why}"
    return ""


def card_text(p: Proposal) -> str:
    """The plain notification text of a card (also what screen readers get)."""
    summary = p.preview.get("summary") or p.tool
    if p.status == "proposed":
        return f"Approve? {summary}"
    return f"{summary}: {p.status}"


def card_blocks(p: Proposal) -> list[dict[str, Any]]:
    """The Block Kit approval card of a proposal, with buttons while it waits."""
    summary = p.preview.get("summary") or p.tool
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(summary, 150)}}
    ]
    lines = [f"*{escape(label)}:* {escape(value)}" for label, value in card_lines(p)[1:]]
    chunk: list[str] = []
    for line in lines:
        # A section holds at most 3000 characters: split long cards over several.
        if chunk and len("\n".join([*chunk, line])) > 2900:
            blocks.append(_section("\n".join(chunk)))
            chunk = []
        chunk.append(_clip(line, 2900))
    if chunk:
        blocks.append(_section("\n".join(chunk)))
    body = p.preview.get("body")
    if body:
        where = f" [{origin(p, 'body')}]" if "body" in p.effective_args else ""
        blocks.append(_section(f"*Text{escape(where)}:*\n```{escape(_clip(body, 2800))}```"))
    for warning in p.preview.get("warnings") or []:
        blocks.append(_section(f":warning: *{escape(_clip(str(warning), 2800))}*"))
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"Proposal `{p.id}` · tool `{escape(p.tool)}` · for {p.principal}"
                    f" · terminal: `secretary approve {p.id}`",
                }
            ],
        }
    )
    if p.status == "proposed":
        blocks.append(
            {
                "type": "actions",
                "block_id": f"decide:{p.id}",
                "elements": [
                    _button("Approve", APPROVE, p.id, "primary"),
                    _button("Edit", EDIT, p.id),
                    _button("Reject", REJECT, p.id, "danger"),
                ],
            }
        )
    else:
        blocks.append(_section(outcome(p)))
    return blocks


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _button(label: str, action: str, value: str, style: str = "") -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _shown(value: Any) -> str:
    """An argument as the text a person edits (lists comma-separated)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _types(prop: dict[str, Any]) -> set[str]:
    found = {prop.get("type")} | {s.get("type") for s in prop.get("anyOf", [])}
    return {t for t in found if isinstance(t, str)}


def edit_view(p: Proposal, schema: dict[str, Any]) -> dict[str, Any]:
    """The modal that edits a proposal's arguments (one text input per argument)."""
    blocks: list[dict[str, Any]] = [_section(f"*{escape(card_text(p))}*")]
    for name, prop in schema.get("properties", {}).items():
        text = _shown(p.effective_args.get(name))
        label = _clip(name.replace("_", " ").capitalize(), 2000)
        if len(text) > MAX_INPUT:
            blocks.append(
                _section(f"*{escape(label)}* is too long to edit here: `secretary edit {p.id}`.")
            )
            continue
        element: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": "value",
            "multiline": name == "body" or "\n" in text or len(text) > 150,
            "max_length": MAX_INPUT,
        }
        if text:
            element["initial_value"] = text
        block: dict[str, Any] = {
            "type": "input",
            "block_id": f"arg:{name}",
            "optional": True,
            "label": {"type": "plain_text", "text": label},
            "element": element,
        }
        hint = "Several values: separate with commas." if "array" in _types(prop) else ""
        if hint or prop.get("description"):
            block["hint"] = {
                "type": "plain_text",
                "text": _clip(" ".join(filter(None, [prop.get("description", ""), hint])), 2000),
            }
        blocks.append(block)
    return {
        "type": "modal",
        "callback_id": EDIT_VIEW,
        "private_metadata": json.dumps({"proposal": p.id}),
        "title": {"type": "plain_text", "text": "Edit, then run"},
        "submit": {"type": "plain_text", "text": "Run edited"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks[:100],
    }


def reject_view(p: Proposal) -> dict[str, Any]:
    """The modal asking why a proposal is rejected (the reason goes to the secretary)."""
    return {
        "type": "modal",
        "callback_id": REJECT_VIEW,
        "private_metadata": json.dumps({"proposal": p.id}),
        "title": {"type": "plain_text", "text": "Reject"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _section(f"*{escape(card_text(p))}*"),
            {
                "type": "input",
                "block_id": "reason",
                "optional": True,
                "label": {"type": "plain_text", "text": "Why? The secretary is told."},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "multiline": True,
                    "max_length": MAX_INPUT,
                },
            },
        ],
    }


def edited_args(
    p: Proposal, schema: dict[str, Any], values: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """The arguments after a submitted edit modal, and the names that changed.

    Raises:
        ValueError: when a field cannot be read (an unknown name, bad JSON).
    """
    props = schema.get("properties", {})
    changes: dict[str, Any] = {}
    for block_id, inputs in values.items():
        if not block_id.startswith("arg:"):
            continue
        name = block_id[4:]
        raw = (inputs.get("value") or {}).get("value")
        if (raw or "") == _shown(p.effective_args.get(name)):
            continue
        kinds = _types(props.get(name, {}))
        if raw is None or raw == "":
            changes[name] = [] if "array" in kinds else None
        elif "string" not in kinds and kinds & {"integer", "number", "boolean", "object"}:
            try:
                changes[name] = json.loads(raw)
            except json.JSONDecodeError:
                raise ValueError(f"'{raw}' is not a valid value for {name}.") from None
        else:
            changes[name] = raw
    return coerce_edit(schema, p.effective_args, changes), list(changes)


# ------------------------------------------------------------------ state


class SlackState(LocalStore):
    """Posted cards, bound threads and handled events, kept across restarts."""

    def __init__(self, home: Path, *, storage: Storage | None = None) -> None:
        """Open ``home/slack.sqlite``, or the shared tables in PostgreSQL.

        Args:
            home: The data directory (the SQLite file lives there).
            storage: The storage shared by every principal (``Settings.storage()``),
                so several Slack processes see the same cards and handled events;
                default: ``SECRETARY_DATABASE_URL``'s shared tables, else the
                SQLite file in ``home``.
        """
        if storage is None:
            storage = Storage.shared_default(Path(home))
        super().__init__(Path(home) / "slack.sqlite", SCHEMA, storage=storage)

    def first_time(self, key: str) -> bool:
        """True once per key, across every process sharing the storage.

        Slack retries an event it thinks was missed, and may deliver it to
        another process; the single ``INSERT`` that adds the key decides which
        handles it (a concurrent one finds the key and gets False).
        """
        # Slack gives up retrying within minutes; a day of keys is plenty.
        old = (datetime.now(UTC) - timedelta(days=1)).isoformat(timespec="seconds")
        db = self.database
        with self._lock:
            # Forgetting old keys is its own statement; on PostgreSQL rows another
            # process is deleting right now are skipped, so neither waits nor deadlocks.
            if db.dialect == "postgres":
                db.execute(
                    "DELETE FROM seen WHERE key IN (SELECT key FROM seen WHERE at < ?"
                    " ORDER BY key FOR UPDATE SKIP LOCKED)",
                    (old,),
                )
            else:
                db.execute("DELETE FROM seen WHERE at < ?", (old,))
            cur = db.execute(
                "INSERT INTO seen (key, at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                (key, _now()),
            )
            return cur.rowcount == 1

    def add_card(
        self, p: Proposal, channel: str, ts: str, thread_ts: str = "", status: str = ""
    ) -> None:
        """Remember where a proposal's card is (clicking an unknown card also records it)."""
        with self._lock, self.transaction() as db:
            db.execute(
                "INSERT INTO cards (proposal_id, principal, channel, ts, thread_ts,"
                " shown_status, posted_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (proposal_id, channel, ts) DO NOTHING",
                (p.id, p.principal, channel, ts, thread_ts, status or p.status, _now()),
            )

    def cards(self, proposal_id: str | None = None) -> list[dict[str, Any]]:
        """Cards of one proposal, or every card still showing an open state."""
        with self._lock:
            if proposal_id is not None:
                rows = self._db.execute(
                    "SELECT * FROM cards WHERE proposal_id=? ORDER BY posted_at", (proposal_id,)
                )
            else:
                rows = self._db.execute(
                    "SELECT * FROM cards WHERE shown_status NOT IN (?, ?, ?)", FINAL
                )
            return [dict(r) for r in rows.fetchall()]

    def shown(self, proposal_id: str, channel: str, ts: str, status: str) -> None:
        """Record the state a card now shows."""
        with self._lock, self.transaction() as db:
            db.execute(
                "UPDATE cards SET shown_status=? WHERE proposal_id=? AND channel=? AND ts=?",
                (status, proposal_id, channel, ts),
            )

    def thread_for(self, slack_key: str, principal: str) -> str | None:
        """The secretary thread a Slack thread was bound to, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT thread FROM threads WHERE slack_key=? AND principal=?",
                (slack_key, principal),
            ).fetchone()
        return None if row is None else str(row["thread"])

    def bind(self, slack_key: str, principal: str, thread: str) -> None:
        """Continue ``thread`` in this Slack thread from now on."""
        with self._lock, self.transaction() as db:
            db.execute(
                "INSERT INTO threads (slack_key, principal, thread) VALUES (?, ?, ?) "
                "ON CONFLICT(slack_key, principal) DO UPDATE SET thread=excluded.thread",
                (slack_key, principal, thread),
            )


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
            return p.id, None, {f"arg:{named[0]}": _clip(str(exc), 2000)}
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


# ------------------------------------------------------------------ the app


def build_app(
    secretary: Secretary,
    settings: SlackSettings,
    *,
    client: WebClient | None = None,
    desk: SlackDesk | None = None,
) -> App:
    """The bolt App: event, action, view and command handlers over a :class:`SlackDesk`.

    Args:
        secretary: The runtime facade.
        settings: Tokens and signing secret.
        client: A Web API client (tests point one at a loopback stand-in with
            ``base_url``); by default one for slack.com with the bot token.
        desk: The desk to use (default: a new one over ``secretary``).

    Raises:
        ProviderError: when Slack does not accept the bot token.
    """
    from slack_bolt import Ack, App, Respond
    from slack_bolt.error import BoltError
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackClientError

    if client is None:
        client = WebClient(token=settings.bot_token)
    elif not client.token:
        client.token = settings.bot_token
    try:
        app = App(
            client=client,
            signing_secret=settings.signing_secret,
            logger=logging.getLogger("agent.channels.slack.bolt"),
        )
    except BoltError:
        raise ProviderError(
            "Slack did not accept the bot token (auth.test failed); copy the Bot User OAuth "
            "Token (xoxb-...) from the app's 'OAuth & Permissions' page into SLACK_BOT_TOKEN."
        ) from None
    except (SlackClientError, OSError) as exc:
        raise ProviderError(
            f"Slack could not be reached to check the bot token ({type(exc).__name__}); "
            "check the network connection and try again."
        ) from None
    the_desk = desk or SlackDesk(secretary, client)

    def teller(respond: Respond) -> Callable[[str], None]:
        def tell(text: str) -> None:
            try:
                respond(text=text, response_type="ephemeral", replace_original=False)
            except Exception as exc:  # noqa: BLE001 - a lost notice must not break the handler
                log.warning("slack: could not answer by response_url: %s", type(exc).__name__)

        return tell

    @app.event("message")
    def on_dm(body: dict[str, Any], event: dict[str, Any]) -> None:
        # Edits, deletions, joins and bot posts are message subtypes: not instructions.
        if event.get("channel_type") != "im" or event.get("subtype"):
            return
        the_desk.on_message(event, str(body.get("event_id") or ""))

    @app.event("app_mention")
    def on_mention(body: dict[str, Any], event: dict[str, Any]) -> None:
        if event.get("subtype"):
            return
        the_desk.on_message(event, str(body.get("event_id") or ""))

    @app.action(APPROVE)
    def on_approve(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()  # within Slack's three seconds; the action runs afterwards
        the_desk.on_approve(body, teller(respond))

    @app.action(EDIT)
    def on_edit(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        the_desk.open_modal(body, EDIT, teller(respond))

    @app.action(REJECT)
    def on_reject(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        the_desk.open_modal(body, REJECT, teller(respond))

    def thread_teller(proposal_id: str, user: str) -> Callable[[str], None]:
        # A modal has no response_url: notices go to the card's thread.
        def tell(text: str) -> None:
            channel, thread_ts = the_desk._where(proposal_id)
            if channel:
                the_desk._safe_post(channel, f"<@{user}> {text}", thread_ts)

        return tell

    @app.view(EDIT_VIEW)
    def on_edit_submit(ack: Ack, body: dict[str, Any]) -> None:
        proposal_id, args, errors = the_desk.check_edit(body)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        user = str(body["user"]["id"])
        the_desk.decide(
            proposal_id, Decision(kind="edit", args=args), user, thread_teller(proposal_id, user)
        )

    @app.view(REJECT_VIEW)
    def on_reject_submit(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        view = body["view"]
        proposal_id = str(json.loads(view.get("private_metadata") or "{}").get("proposal", ""))
        reason = ((view["state"]["values"].get("reason") or {}).get("value") or {}).get("value")
        user = str(body["user"]["id"])
        decision = Decision(kind="reject", text=(reason or "").strip() or "rejected in Slack")
        the_desk.decide(proposal_id, decision, user, thread_teller(proposal_id, user))

    @app.command("/secretary")
    def on_command(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()  # the calendar may be remote: answer through response_url when ready
        text = the_desk.command(body)
        teller(respond)(text)

    return app


# ------------------------------------------------------------------ HTTP mode


def serve_http(
    app: App, host: str = "127.0.0.1", port: int = 3000, path: str = "/slack/events"
) -> ThreadingHTTPServer:
    """An HTTP server handing Slack's POSTs to ``app`` (bolt checks each signature).

    The caller runs ``serve_forever()`` and ``shutdown()``; port 0 picks a free one.
    """
    from slack_bolt.request import BoltRequest

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server naming
            url = urlsplit(self.path)
            if url.path != path:
                self._send(404, b"not found")
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY:
                self._send(413, b"request too large")
                return
            raw = self.rfile.read(length).decode("utf-8", errors="replace")
            request = BoltRequest(
                body=raw,
                query=url.query,
                headers={k.lower(): v for k, v in self.headers.items()},
            )
            response = app.dispatch(request)
            self.send_response(response.status)
            for name, values in response.headers.items():
                for value in values:
                    self.send_header(name, value)
            data = (response.body or "").encode()
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _send(self, status: int, data: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
            log.debug("slack http: " + format, *args)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server
