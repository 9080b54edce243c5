"""The Slack front door: signed requests in, Web API calls out, decisions through the ledger.

The bolt app runs for real; the Slack Web API is a loopback stand-in
(``tests/slack_standin.py``) and every request to the app is signed with the
signing secret exactly as Slack signs it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import pytest
import uvicorn
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier
from slack_standin import TOKEN, SlackStandIn, running

from agent.approval import Decision
from agent.channels.api import create_app
from agent.channels.slack import SlackDesk
from agent.channels.slack_app import SlackSettings, build_app
from tools.foundation.principals import Principal
from tools.providers.scripted import ScriptedChatModel

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
ADA, SAM, EVE = "UADA", "USAM", "UEVE"  # ada's own account, her staff, a stranger
DM = "DADA"


@pytest.fixture
def ada() -> Principal:
    return Principal(
        id="ada",
        name="Ada Lovelace",
        email="ada@example.com",
        timezone="Europe/Berlin",
        policy={"approval_channel": "slack"},
        identities=[
            {"channel": "slack", "address": ADA, "role": "principal"},
            {"channel": "slack", "address": SAM, "role": "staff"},
        ],
    )


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with running() as s:
        yield s


class Bot:
    """The app under test, with helpers that send Slack's signed requests."""

    def __init__(self, sec: Any, standin: SlackStandIn) -> None:
        self.sec = sec
        self.standin = standin
        self.client = WebClient(token=TOKEN, base_url=standin.api_url)
        self.desk = SlackDesk(sec, self.client)
        self.app = build_app(
            sec,
            SlackSettings(bot_token=TOKEN, signing_secret=SECRET),
            desk=self.desk,
            client=self.client,
        )
        self._n = 0

    def dispatch(self, body: str, content_type: str, *, ts: int | None = None) -> Any:
        return self.app.dispatch(BoltRequest(body=body, headers=signed(body, content_type, ts)))

    def dm(self, text: str, user: str = ADA, thread_ts: str | None = None) -> Any:
        self._n += 1
        event: dict[str, Any] = {
            "type": "message",
            "channel_type": "im",
            "channel": DM,
            "user": user,
            "text": text,
            "ts": f"1700000000.{self._n:06d}",
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        body = {
            "type": "event_callback",
            "team_id": "T1",
            "api_app_id": "A1",
            "event_id": f"Ev{self._n}",
            "event_time": 1700000000,
            "event": event,
        }
        return self.dispatch(json.dumps(body), "application/json")

    def click(self, action: str, proposal_id: str, user: str = ADA) -> tuple[Any, str]:
        card = self.card_of(proposal_id)
        response_url = self.standin.response_url()
        payload = {
            "type": "block_actions",
            "user": {"id": user},
            "team": {"id": "T1"},
            "api_app_id": "A1",
            "trigger_id": f"trigger-{action}",
            "container": {
                "type": "message",
                "channel_id": card["channel"],
                "message_ts": card["ts"],
            },
            "channel": {"id": card["channel"]},
            "message": {"ts": card["ts"]},
            "response_url": response_url,
            "actions": [
                {
                    "type": "button",
                    "action_id": f"secretary_{action}",
                    "block_id": f"decide:{proposal_id}",
                    "value": proposal_id,
                }
            ],
        }
        return self.interact(payload), response_url

    def submit(self, view: dict[str, Any], values: dict[str, str], user: str = ADA) -> Any:
        state = {
            block: {"value": {"type": "plain_text_input", "value": value}}
            for block, value in values.items()
        }
        payload = {
            "type": "view_submission",
            "user": {"id": user},
            "team": {"id": "T1"},
            "api_app_id": "A1",
            "view": {
                "id": "V1",
                "type": "modal",
                "callback_id": view["callback_id"],
                "private_metadata": view["private_metadata"],
                "state": {"values": state},
            },
        }
        return self.interact(payload)

    def interact(self, payload: dict[str, Any]) -> Any:
        body = urlencode({"payload": json.dumps(payload)})
        return self.dispatch(body, "application/x-www-form-urlencoded")

    def card_of(self, proposal_id: str) -> dict[str, Any]:
        post = self.standin.wait_for(
            "chat.postMessage", lambda p: f"`{proposal_id}`" in json.dumps(p.get("blocks"))
        )
        deadline = time.monotonic() + 10
        while not self.desk.state.cards(proposal_id) and time.monotonic() < deadline:
            time.sleep(0.01)  # the card is recorded once Slack has answered the post
        ts = self.desk.state.cards(proposal_id)[0]["ts"]
        return {"channel": post["channel"], "ts": ts, "thread_ts": post.get("thread_ts")}

    def drain(self) -> None:
        """Wait for the work bolt runs after acknowledging."""
        self.app.listener_runner.listener_executor.shutdown(wait=True)


def signed(body: str, content_type: str, ts: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if ts is None else ts)
    digest = hmac.new(SECRET.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256)
    signature = "v0=" + digest.hexdigest()
    # The same signature Slack's own verifier expects (checked at the current time only).
    if ts is None:
        assert SignatureVerifier(SECRET).is_valid(body, stamp, signature)
    return {
        "content-type": content_type,
        "x-slack-request-timestamp": stamp,
        "x-slack-signature": signature,
    }


@pytest.fixture
def bot(make_secretary: Callable[..., Any], standin: SlackStandIn) -> Iterator[Callable[..., Bot]]:
    made: list[Bot] = []

    def make(model: Any = None) -> Bot:
        b = Bot(make_secretary(model), standin)
        made.append(b)
        return b

    yield make
    for b in made:
        b.drain()
        b.desk.close()


def send(to: str = "dana@acme.com", body: str = "Ten minutes late.") -> dict[str, Any]:
    args = {"to": [to], "subject": "Running late", "body": body}
    return {"tool_calls": [{"name": "send_email", "args": args}]}


def sent(sec: Any) -> list[Any]:
    return sec.workspace(sec.principal("ada")).mail.search(folder="sent", limit=100)


def blocks_text(call: dict[str, Any]) -> str:
    return json.dumps(call.get("blocks"), ensure_ascii=False)


def proposal_with_card(b: Bot) -> Any:
    assert b.dm("E-mail dana@acme.com: Ten minutes late.").status == 200
    b.standin.wait_for("chat.postMessage", lambda p: "Approve" in blocks_text(p))
    [p] = b.sec.pending("ada")
    return p


# --------------------------------------------------------------------------- talking


def test_dm_is_answered_in_its_thread_for_the_users_principal(bot: Callable[..., Bot]) -> None:
    model = ScriptedChatModel(["Your afternoon is free."])
    b = bot(model)
    response = b.dm("What does my afternoon look like?")
    assert response.status == 200
    answer = b.standin.wait_for("chat.postMessage", lambda p: "afternoon is free" in p["text"])
    assert answer["channel"] == DM and answer["thread_ts"] == "1700000000.000001"
    thread = f"slack-{DM}-1700000000.000001"
    assert thread in answer["text"]  # the terminal can continue it
    assert [m.content for m in b.sec.history("ada", thread)][0] == (
        "What does my afternoon look like?"
    )


def test_thread_command_continues_a_terminal_thread_in_slack(bot: Callable[..., Bot]) -> None:
    model = ScriptedChatModel(["Noted: the board meets on Friday.", "On Friday."])
    b = bot(model)
    b.sec.ask("Remember: the board meets on Friday.", principal="ada", thread="t1")  # terminal

    assert b.dm("thread t1").status == 200  # ts 1700000000.000001 starts the Slack thread
    bound = b.standin.wait_for("chat.postMessage", lambda p: "now continues" in p["text"])
    assert bound["thread_ts"] == "1700000000.000001"
    assert "thread `t1` of Ada Lovelace" in bound["text"]

    assert b.dm("When does the board meet?", thread_ts="1700000000.000001").status == 200
    answer = b.standin.wait_for("chat.postMessage", lambda p: p["text"].startswith("On Fri"))
    assert answer["thread_ts"] == "1700000000.000001"
    b.drain()
    assert len(model.calls) == 2  # the terminal's turn and this one: binding is not a turn
    said = [m.content for m in b.sec.history("ada", "t1")]
    assert said[0] == "Remember: the board meets on Friday."
    assert "When does the board meet?" in said and "On Friday." in said
    assert b.sec.history("ada", f"slack-{DM}-1700000000.000001") == []
    # The model saw the terminal's earlier turn when it answered in Slack.
    earlier = model.calls[1][:-1]
    assert any("the board meets on Friday" in str(m.content) for m in earlier)


def test_slow_model_is_acknowledged_before_it_answers(bot: Callable[..., Bot]) -> None:
    release = threading.Event()

    def slow(_messages: Any) -> str:
        release.wait(10)
        return "Thought it over."

    b = bot(ScriptedChatModel([slow]))
    started = time.monotonic()
    response = b.dm("Think hard about my week")
    elapsed = time.monotonic() - started
    assert response.status == 200 and elapsed < 3.0
    assert not [p for p in b.standin.of("chat.postMessage") if "Thought" in p["text"]]
    release.set()
    b.standin.wait_for("chat.postMessage", lambda p: "Thought it over." in p["text"])


# --------------------------------------------------------------------------- deciding


def test_proposal_card_approved_runs_once_and_card_is_updated(bot: Callable[..., Bot]) -> None:
    b = bot(ScriptedChatModel([send(), "Sent it."]))
    p = proposal_with_card(b)
    card = b.standin.wait_for("chat.postMessage", lambda c: "Approve" in blocks_text(c))
    shown = blocks_text(card)
    assert "dana@acme.com" in shown and "Ten minutes late." in shown
    assert "[from your request]" in shown  # where each argument came from
    assert "not in your contacts" in shown  # the warning travels with the card
    assert sent(b.sec) == []  # nothing before the click

    response, _ = b.click("approve", p.id)
    assert response.status == 200
    update = b.standin.wait_for("chat.update", lambda c: "Approved" in blocks_text(c))
    assert update["ts"] == b.card_of(p.id)["ts"] and "secretary_approve" not in blocks_text(update)
    assert f"<@{ADA}>" in blocks_text(update)
    b.standin.wait_for("chat.postMessage", lambda c: "Sent it." in c["text"])
    assert b.sec.ledger.get(p.id).status == "executed"
    assert len(sent(b.sec)) == 1
    assert b.sec.ledger.get(p.id).decided_by == f"slack:{ADA}"


def test_edit_modal_changes_the_arguments_then_runs(bot: Callable[..., Bot]) -> None:
    b = bot(ScriptedChatModel([send(), "Sent the edited one."]))
    p = proposal_with_card(b)
    b.click("edit", p.id)
    opened = b.standin.wait_for("views.open")
    assert opened["trigger_id"] == "trigger-edit"
    view = opened["view"]
    inputs = {
        blk["block_id"]: blk["element"].get("initial_value")
        for blk in view["blocks"]
        if blk["type"] == "input"
    }
    assert inputs["arg:to"] == "dana@acme.com" and inputs["arg:body"] == "Ten minutes late."

    bad = b.submit(view, {**inputs, "arg:to": "not an address"})
    assert bad.status == 200 and json.loads(bad.body)["response_action"] == "errors"
    assert list(json.loads(bad.body)["errors"]) == ["arg:to"]  # shown next to the field
    assert b.sec.ledger.get(p.id).status == "proposed"

    ok = b.submit(view, {**inputs, "arg:body": "Twenty minutes late, sorry."})
    assert ok.status == 200 and not ok.body
    b.standin.wait_for("chat.update", lambda c: "Approved (edited)" in blocks_text(c))
    [mail] = sent(b.sec)
    after = b.sec.ledger.get(p.id)
    assert after.status == "executed" and after.decision == "edit"
    assert after.effective_args["body"] == "Twenty minutes late, sorry."


def test_reject_modal_asks_for_a_reason_that_is_kept(bot: Callable[..., Bot]) -> None:
    b = bot(ScriptedChatModel([send(), "Understood, not sending."]))
    p = proposal_with_card(b)
    b.click("reject", p.id)
    view = b.standin.wait_for("views.open")["view"]
    assert view["callback_id"] == "secretary_reject_view"
    assert b.submit(view, {"reason": "Dana knows already"}).status == 200
    update = b.standin.wait_for("chat.update", lambda c: "Rejected" in blocks_text(c))
    assert "Dana knows already" in blocks_text(update)
    after = b.sec.ledger.get(p.id)
    assert after.status == "rejected" and after.reason == "Dana knows already"
    assert sent(b.sec) == []


def test_second_click_on_a_decided_card_only_says_so(bot: Callable[..., Bot]) -> None:
    model = ScriptedChatModel([send(), "Sent it."])
    b = bot(model)
    p = proposal_with_card(b)
    b.click("approve", p.id)
    b.standin.wait_for("chat.update", lambda c: "Approved" in blocks_text(c))
    b.standin.wait_for("chat.postMessage", lambda c: "Sent it." in c["text"])
    calls = len(model.calls)

    _, url = b.click("approve", p.id)
    notice = b.standin.wait_for("response_url", lambda c: c["url"] in url)
    assert "already executed" in notice["text"] and notice["response_type"] == "ephemeral"
    _, url = b.click("reject", p.id)
    assert (
        "already executed" in b.standin.wait_for("response_url", lambda c: c["url"] in url)["text"]
    )
    b.drain()
    assert len(sent(b.sec)) == 1 and len(model.calls) == calls
    assert b.standin.of("views.open") == []


@pytest.mark.parametrize("user", [EVE, SAM], ids=["stranger", "staff-not-allowed"])
def test_non_approver_click_is_refused_politely_and_changes_nothing(
    bot: Callable[..., Bot], user: str
) -> None:
    b = bot(ScriptedChatModel([send()]))
    p = proposal_with_card(b)
    for action in ("approve", "edit", "reject"):
        _, url = b.click(action, p.id, user=user)
        refusal = b.standin.wait_for("response_url", lambda c, u=url: c["url"] in u)
        assert refusal["text"].startswith("Sorry") and refusal["response_type"] == "ephemeral"
    b.drain()
    assert b.sec.ledger.get(p.id).status == "proposed" and sent(b.sec) == []
    assert b.standin.of("views.open") == [] and b.standin.of("chat.update") == []
    refused = [e for e in b.sec.trail("ada", p.id) if e["event"] == "decision_refused"]
    assert len(refused) == 3 and refused[0]["actor"] == f"slack:{user}"


def test_mention_in_a_channel_is_answered_in_its_thread(bot: Callable[..., Bot]) -> None:
    model = ScriptedChatModel(["Noted."])
    b = bot(model)
    event = {
        "type": "app_mention",
        "channel": "C1",
        "user": ADA,
        "ts": "1700000001.000001",
        "text": "<@UBOT> remember the board meets on Friday",
    }
    body = {"type": "event_callback", "team_id": "T1", "event_id": "EvM", "event": event}
    assert b.dispatch(json.dumps(body), "application/json").status == 200
    answer = b.standin.wait_for("chat.postMessage", lambda p: "Noted." in p["text"])
    assert answer["channel"] == "C1" and answer["thread_ts"] == "1700000001.000001"
    assert model.calls[0][-1].content == "remember the board meets on Friday"


def test_stranger_dm_is_not_passed_to_any_principal(bot: Callable[..., Bot]) -> None:
    model = ScriptedChatModel([])
    b = bot(model)
    b.dm("Send me Ada's calendar", user=EVE)
    answer = b.standin.wait_for("chat.postMessage")
    assert "only from the people I work for" in answer["text"]
    b.drain()
    assert model.calls == []


# --------------------------------------------------------------------------- other channels


def test_approvals_asked_elsewhere_reach_the_dm_and_cards_follow_terminal_decisions(
    bot: Callable[..., Bot],
) -> None:
    b = bot(ScriptedChatModel([send(), "Sent."]))
    [p] = b.sec.ask("E-mail Dana", principal="ada", thread="t1").pending  # from the terminal
    assert b.desk.route_approvals() == 1
    assert b.desk.route_approvals() == 0  # posted once
    assert b.standin.of("conversations.open")[0]["users"] == ADA
    card = b.standin.wait_for("chat.postMessage", lambda c: "Approve" in blocks_text(c))
    assert card["channel"] == "DADA"

    b.sec.decide(p.id, Decision(kind="approve"))  # decided in the terminal
    b.desk.sync()
    update = b.standin.wait_for("chat.update")
    assert "Approved by" in blocks_text(update) and "(the terminal)" in blocks_text(update)


def test_slash_command_lists_pending_actions(bot: Callable[..., Bot]) -> None:
    b = bot(ScriptedChatModel([send()]))
    p = proposal_with_card(b)
    url = b.standin.response_url()
    body = urlencode(
        {
            "command": "/secretary",
            "text": "pending",
            "user_id": ADA,
            "channel_id": "C1",
            "team_id": "T1",
            "response_url": url,
            "trigger_id": "t",
        }
    )
    assert b.dispatch(body, "application/x-www-form-urlencoded").status == 200
    answer = b.standin.wait_for("response_url", lambda c: c["url"] in url)
    assert p.id in answer["text"] and answer["response_type"] == "ephemeral"


def test_slash_brief_is_the_daily_briefing(bot: Callable[..., Bot]) -> None:
    b = bot(ScriptedChatModel([send()]))
    p = proposal_with_card(b)
    url = b.standin.response_url()
    body = urlencode(
        {
            "command": "/secretary",
            "text": "brief",
            "user_id": ADA,
            "channel_id": "C1",
            "team_id": "T1",
            "response_url": url,
            "trigger_id": "t",
        }
    )
    assert b.dispatch(body, "application/x-www-form-urlencoded").status == 200
    answer = b.standin.wait_for("response_url", lambda c: c["url"] in url)
    assert "*Brief for Ada" in answer["text"]
    assert "*Waiting for your approval* (1)" in answer["text"] and p.id in answer["text"]


# --------------------------------------------------------------------------- security


@contextmanager
def served(b: Bot) -> Iterator[str]:
    """The bolt app on the HTTP API's FastAPI app, under uvicorn on a loopback port (its URL)."""
    api = create_app(b.sec, slack=b.app)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(api, log_level="warning", access_log=False, lifespan="off")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        api.state.tokens.close()


def test_signed_events_and_the_api_share_one_server_and_port(bot: Callable[..., Bot]) -> None:
    b = bot(ScriptedChatModel(["Your afternoon is free."]))
    event = {
        "type": "message",
        "channel_type": "im",
        "channel": DM,
        "user": ADA,
        "text": "What does my afternoon look like?",
        "ts": "1700000002.000001",
    }
    body = json.dumps(
        {"type": "event_callback", "team_id": "T1", "event_id": "EvH", "event": event}
    )
    with served(b) as base:
        request = urllib.request.Request(
            f"{base}/slack/events", body.encode(), signed(body, "application/json"), method="POST"
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as health:
            assert json.loads(health.read()) == {"status": "ok"}
        answer = b.standin.wait_for("chat.postMessage", lambda p: "afternoon is free" in p["text"])
    assert answer["channel"] == DM and answer["thread_ts"] == "1700000002.000001"


def test_forged_signature_is_refused_with_401(bot: Callable[..., Bot]) -> None:
    model = ScriptedChatModel([])
    b = bot(model)
    with served(b) as base:
        body = json.dumps(
            {
                "type": "event_callback",
                "event_id": "EvX",
                "team_id": "T1",
                "event": {
                    "type": "message",
                    "channel_type": "im",
                    "channel": DM,
                    "user": ADA,
                    "text": "send everything",
                    "ts": "1.1",
                },
            }
        )
        headers = signed(body, "application/json")
        headers["x-slack-signature"] = "v0=" + "0" * 64
        url = f"{base}/slack/events"
        request = urllib.request.Request(url, body.encode(), headers, method="POST")
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=5)
        assert caught.value.code == 401
        caught.value.close()
    b.drain()
    assert model.calls == [] and b.standin.of("chat.postMessage") == []


def test_stale_timestamp_is_refused(bot: Callable[..., Bot]) -> None:
    b = bot(ScriptedChatModel([send()]))
    p = proposal_with_card(b)
    payload = {
        "type": "block_actions",
        "user": {"id": ADA},
        "team": {"id": "T1"},
        "actions": [{"action_id": "secretary_approve", "value": p.id}],
        "response_url": b.standin.response_url(),
        "trigger_id": "t",
    }
    body = urlencode({"payload": json.dumps(payload)})
    # A genuine signature, replayed six minutes later.
    response = b.dispatch(body, "application/x-www-form-urlencoded", ts=int(time.time()) - 360)
    assert response.status == 401
    b.drain()
    assert b.sec.ledger.get(p.id).status == "proposed" and sent(b.sec) == []


# --------------------------------------------------------------------------- settings


def test_tokens_come_from_settings_and_missing_ones_are_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tools.foundation.errors import SecretaryError
    from tools.foundation.settings import load_settings

    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", " xoxb-test-token ")
    with pytest.raises(SecretaryError, match="Set SLACK_APP_TOKEN"):
        SlackSettings.from_settings(load_settings(), socket_mode=True)
    with pytest.raises(SecretaryError, match="Set SLACK_SIGNING_SECRET"):
        SlackSettings.from_settings(load_settings(), socket_mode=False)
    assert not SlackSettings.http_configured(load_settings())

    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    settings = load_settings()
    assert SlackSettings.http_configured(settings)
    http = SlackSettings.from_settings(settings, socket_mode=False)
    assert (http.bot_token, http.signing_secret) == ("xoxb-test-token", SECRET)
    assert "xoxb" not in repr(http) and SECRET not in repr(settings)


def test_the_api_alone_serves_no_slack_route(make_secretary: Callable[..., Any]) -> None:
    from fastapi.testclient import TestClient

    api = create_app(make_secretary())
    try:
        with TestClient(api) as client:
            assert client.post("/slack/events", content=b"{}").status_code == 404
            assert client.get("/healthz").status_code == 200
    finally:
        api.state.tokens.close()
