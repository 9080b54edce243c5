"""The HTTP API: tokens per principal, pending proposals, decisions that run once.

The real app runs under uvicorn on a loopback port in a thread; requests go
through httpx; proposals come from the Secretary with a scripted model.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from click.testing import CliRunner

import agent.cli.serve  # noqa: F401 - registers `secretary serve` on the command group
from agent.channels.api import create_app, issue_token, token_digest
from agent.cli import cli
from tools.foundation.principals import Principal
from tools.foundation.settings import save_principal
from tools.providers.scripted import ScriptedChatModel

SAM = "sam@example.com"  # ada's assistant: may approve drafts, not sends


@pytest.fixture
def ada() -> Principal:
    return Principal(
        id="ada",
        name="Ada Lovelace",
        email="ada@example.com",
        timezone="Europe/Berlin",
        policy={"staff_may_approve": ["save_draft"]},
        identities=[{"channel": "email", "address": SAM, "role": "staff", "name": "Sam"}],
    )


def send(subject: str = "Running late") -> dict[str, Any]:
    return {
        "tool_calls": [
            {
                "name": "send_email",
                "args": {"to": ["dana@acme.com"], "subject": subject, "body": "Ten minutes late."},
            }
        ]
    }


def sent(sec: Any, pid: str = "ada") -> list[Any]:
    return sec.workspace(sec.principal(pid)).mail.search(folder="sent", limit=100)


class Served:
    """The app under uvicorn on 127.0.0.1, in a thread."""

    def __init__(self, sec: Any) -> None:
        self.sec = sec
        self.app = create_app(sec)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(
            uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off")
        )
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "the API did not start"
            time.sleep(0.02)
        self.clients: list[httpx.Client] = []

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        c = httpx.Client(base_url=self.url, headers=headers, timeout=60)
        self.clients.append(c)
        return c

    def token(self, principal: str = "ada", address: str | None = None) -> str:
        return issue_token(self.sec, principal, address, "test")[1]

    def stop(self) -> None:
        for c in self.clients:
            c.close()
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()
        self.app.state.tokens.close()


@pytest.fixture
def serve(make_secretary: Callable[..., Any]) -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def start(sec: Any) -> Served:
        s = Served(sec)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def propose(make_secretary: Callable[..., Any], *replies: Any) -> tuple[Any, str]:
    """A secretary whose scripted model proposes one e-mail, and that proposal's id."""
    sec = make_secretary(ScriptedChatModel([send(), *replies]))
    reply = sec.ask("E-mail dana that I'm late", principal="ada", thread="t1")
    [p] = reply.pending
    return sec, p.id


def test_pending_lists_the_principals_proposals_and_health_needs_no_token(
    make_secretary: Callable[..., Any], serve: Callable[..., Served]
) -> None:
    sec, pid = propose(make_secretary)
    api = serve(sec)
    assert api.client().get("/healthz").json() == {"status": "ok"}
    ada = api.client(api.token())
    [item] = ada.get("/v1/pending").json()
    assert item["id"] == pid and item["tool"] == "send_email" and item["status"] == "proposed"
    assert item["args"]["to"] == ["dana@acme.com"] and item["may_decide"] is True
    assert ada.get("/v1/me").json()["role"] == "principal"
    detail = ada.get(f"/v1/proposals/{pid}").json()
    assert detail["card"].startswith("**") and pid in detail["card"]
    assert [e["event"] for e in detail["events"]] == ["proposed"]


def test_approve_runs_once_and_approving_again_only_says_so(
    make_secretary: Callable[..., Any], serve: Callable[..., Served]
) -> None:
    sec, pid = propose(make_secretary, "Sent.")
    api = serve(sec)
    ada = api.client(api.token())
    r = ada.post(f"/v1/proposals/{pid}/decision", json={"kind": "approve"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "executed" and out["changed"] is True
    assert out["proposal"]["decided_by"] == "api:ada@example.com"
    assert out["reply"] == "Sent." and out["error"] is None and out["result"]
    assert sec.ledger.get(pid).status == "executed"
    assert len(sent(sec)) == 1
    assert ada.get("/v1/pending").json() == []

    again = ada.post(f"/v1/proposals/{pid}/decision", json={"kind": "approve"})
    assert again.status_code == 200
    assert again.json()["changed"] is False
    assert "already executed" in again.json()["notice"]
    assert len(sent(sec)) == 1
    events = [e["event"] for e in sec.trail("ada", pid)]
    assert events.count("executing") == 1 and "decision_ignored" in events
    [row] = ada.get("/v1/audit", params={"limit": 5}).json()
    assert row["id"] == pid and row["status"] == "executed"


def test_two_concurrent_approvals_run_the_action_once(
    make_secretary: Callable[..., Any], serve: Callable[..., Served]
) -> None:
    sec, pid = propose(make_secretary, "Sent.", "Sent.", "Sent.")
    api = serve(sec)
    token = api.token()
    start = threading.Barrier(2)
    answers: list[httpx.Response] = []

    def approve() -> None:
        with httpx.Client(base_url=api.url, timeout=60) as c:
            start.wait()
            answers.append(
                c.post(
                    f"/v1/proposals/{pid}/decision",
                    json={"kind": "approve"},
                    headers={"Authorization": f"Bearer {token}"},
                )
            )

    workers = [threading.Thread(target=approve) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert sorted(a.status_code for a in answers) == [200, 200], [a.text for a in answers]
    assert all(a.json()["status"] == "executed" for a in answers)
    assert len(sent(sec)) == 1
    events = [e["event"] for e in sec.trail("ada", pid)]
    assert events.count("approved") == 1
    assert events.count("executing") == 1 and events.count("executed") == 1


def test_reject_keeps_the_reason_and_runs_nothing(
    make_secretary: Callable[..., Any], serve: Callable[..., Served]
) -> None:
    model = ScriptedChatModel([send(), "Understood, I won't send it."])
    sec = make_secretary(model)
    pid = sec.ask("E-mail dana", principal="ada", thread="t1").pending[0].id
    api = serve(sec)
    ada = api.client(api.token())
    r = ada.post(
        f"/v1/proposals/{pid}/decision", json={"kind": "reject", "reason": "Dana is on leave"}
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "rejected" and out["proposal"]["reason"] == "Dana is on leave"
    assert out["reply"] == "Understood, I won't send it."
    assert sent(sec) == []
    assert any("Dana is on leave" in str(m.content) for m in model.calls[-1])


def test_a_bad_edit_is_422_with_the_sentence_and_a_good_one_runs(
    make_secretary: Callable[..., Any], serve: Callable[..., Served]
) -> None:
    sec, pid = propose(make_secretary, "Sent with your changes.")
    api = serve(sec)
    ada = api.client(api.token())
    url = f"/v1/proposals/{pid}/decision"
    unknown = ada.post(url, json={"kind": "edit", "args": {"colour": "red"}})
    assert unknown.status_code == 422
    assert "'colour' is not an argument" in unknown.json()["detail"]
    bad = ada.post(url, json={"kind": "edit", "args": {"to": 5}})
    assert bad.status_code == 422 and "Nothing was changed" in bad.json()["detail"]
    empty = ada.post(url, json={"kind": "edit"})
    assert empty.status_code == 422 and "needs 'args'" in empty.json()["detail"]
    assert ada.post(url, json={"kind": "maybe"}).status_code == 422  # schema validation
    assert sec.ledger.get(pid).status == "proposed"

    good = ada.post(url, json={"kind": "edit", "args": {"subject": "Late, sorry"}})
    assert good.status_code == 200, good.text
    assert good.json()["proposal"]["args"]["subject"] == "Late, sorry"
    [message] = sent(sec)
    assert message.subject == "Late, sorry"


def test_another_principals_token_cannot_see_or_decide_the_proposal(
    make_secretary: Callable[..., Any], serve: Callable[..., Served]
) -> None:
    sec, pid = propose(make_secretary)
    api = serve(sec)
    bob = api.client(api.token("bob"))
    assert bob.get("/v1/pending").json() == []
    assert bob.get("/v1/audit").json() == []
    seen = bob.get(f"/v1/proposals/{pid}")
    missing = bob.get("/v1/proposals/0000abcd")
    assert seen.status_code == missing.status_code == 404
    assert seen.json()["detail"].replace(pid, "X") == missing.json()["detail"].replace(
        "0000abcd", "X"
    )
    assert bob.get(f"/v1/proposals/{pid[:4]}").status_code == 404  # no prefix probing
    r = bob.post(f"/v1/proposals/{pid}/decision", json={"kind": "approve"})
    assert r.status_code == 404
    assert sec.ledger.get(pid).status == "proposed" and sent(sec) == []


def test_staff_token_is_refused_for_a_tool_staff_may_not_approve(
    make_secretary: Callable[..., Any], serve: Callable[..., Served]
) -> None:
    sec, pid = propose(make_secretary)
    api = serve(sec)
    sam = api.client(api.token("ada", SAM))
    assert sam.get("/v1/me").json()["role"] == "staff"
    [item] = sam.get("/v1/pending").json()
    assert item["may_decide"] is False
    for body in ({"kind": "approve"}, {"kind": "edit", "args": {"colour": "red"}}):
        r = sam.post(f"/v1/proposals/{pid}/decision", json=body)
        assert r.status_code == 403
        assert r.json()["detail"] == (
            f"Sorry, {SAM} may not decide actions for Ada Lovelace; "
            "only the principal (or staff they allowed) can."
        )
    assert sec.ledger.get(pid).status == "proposed" and sent(sec) == []
    refused = [e for e in sec.trail("ada", pid) if e["event"] == "decision_refused"]
    assert refused and refused[0]["actor"] == f"api:{SAM}"


def test_staff_token_decides_what_staff_may_approve(
    make_secretary: Callable[..., Any], serve: Callable[..., Served]
) -> None:
    draft = {
        "tool_calls": [
            {
                "name": "save_draft",
                "args": {"to": ["dana@acme.com"], "subject": "Notes", "body": "Draft."},
            }
        ]
    }
    sec = make_secretary(ScriptedChatModel([draft, "Saved."]))
    pid = sec.ask("Draft a note to dana", principal="ada", thread="t1").pending[0].id
    api = serve(sec)
    sam = api.client(api.token("ada", SAM))
    r = sam.post(f"/v1/proposals/{pid}/decision", json={"kind": "approve"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "executed"
    assert r.json()["proposal"]["decided_by"] == f"api:{SAM}"


def test_missing_unknown_and_revoked_tokens_are_401(
    make_secretary: Callable[..., Any], serve: Callable[..., Served]
) -> None:
    sec, pid = propose(make_secretary)
    api = serve(sec)
    record, token = issue_token(sec, "ada", None, "phone")
    assert api.client(token).get("/v1/pending").status_code == 200
    no_token = api.client().get("/v1/pending")
    assert no_token.status_code == 401 and no_token.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in no_token.json()["detail"]
    assert api.client("sec_forged").get("/v1/pending").status_code == 401
    api.app.state.tokens.revoke(record.id)
    revoked = api.client(token).post(f"/v1/proposals/{pid}/decision", json={"kind": "approve"})
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
    assert sec.ledger.get(pid).status == "proposed"
    stored = api.app.state.tokens.database.fetchall("SELECT token_sha256 FROM api_tokens")
    assert stored == [{"token_sha256": token_digest(token)}]


def test_without_a_model_the_decision_still_runs_and_says_so(
    make_secretary: Callable[..., Any], serve: Callable[..., Served]
) -> None:
    first, pid = propose(make_secretary)
    first.close()
    sec = make_secretary(None)
    api = serve(sec)
    r = api.client(api.token()).post(f"/v1/proposals/{pid}/decision", json={"kind": "approve"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "executed" and out["reply_error"] is None
    assert "SECRETARY_MODEL" in out["notice"]
    assert len(sent(sec)) == 1


def test_openapi_lists_the_endpoints_with_typed_schemas(
    make_secretary: Callable[..., Any], serve: Callable[..., Served]
) -> None:
    api = serve(make_secretary(None))
    spec = api.client().get("/openapi.json").json()
    paths = spec["paths"]
    assert {"/healthz", "/v1/pending", "/v1/proposals/{proposal_id}", "/v1/audit"} <= set(paths)
    decision = paths["/v1/proposals/{proposal_id}/decision"]["post"]
    assert decision["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/DecisionIn"
    )
    assert {"200", "401", "403", "404", "422"} <= set(decision["responses"])
    assert decision["security"] == [{"HTTPBearer": []}]
    schemas = spec["components"]["schemas"]
    assert schemas["DecisionIn"]["properties"]["kind"]["enum"] == ["approve", "reject", "edit"]
    assert schemas["DecisionIn"]["properties"]["reason"]["description"]
    assert {"status", "changed", "result", "error", "notice"} <= set(
        schemas["DecisionOut"]["properties"]
    )
    assert schemas["ProposalOut"]["properties"]["may_decide"]["description"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


# ------------------------------------------------------------------ the commands


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_token_commands_create_list_and_revoke(ada: Principal) -> None:
    save_principal(ada)
    made = run("serve", "token", "create", "--principal", "ada", "--label", "phone", "--json")
    assert made.exit_code == 0, made.output
    info = json.loads(made.stdout)
    assert info["token"].startswith("sec_") and info["role"] == "principal"
    assert info["address"] == "ada@example.com" and info["label"] == "phone"
    staff = run("serve", "token", "create", "-p", "ada", "--as", SAM)
    assert staff.exit_code == 0 and staff.stdout.strip().startswith("sec_")
    listed = json.loads(run("serve", "token", "list", "--json").stdout)
    assert [t["address"] for t in listed] == ["ada@example.com", SAM]
    assert info["token"] not in run("serve", "token", "list").stdout
    assert run("serve", "token", "revoke", info["id"]).exit_code == 0
    listed = json.loads(run("serve", "token", "list", "--json").stdout)
    assert listed[0]["revoked_at"] and listed[1]["revoked_at"] is None
    missing = run("serve", "token", "revoke", "nope")
    assert missing.exit_code != 0 and "No token 'nope'" in missing.output


def test_token_for_a_stranger_address_is_refused_with_a_sentence(ada: Principal) -> None:
    save_principal(ada)
    r = run("serve", "token", "create", "-p", "ada", "--as", "eve@evil.example")
    assert r.exit_code != 0 and "Traceback" not in r.output
    assert "neither Ada Lovelace's e-mail" in r.output


def test_serve_refuses_a_remote_host_without_allow_remote(ada: Principal) -> None:
    save_principal(ada)
    r = run("serve", "--host", "0.0.0.0")
    assert r.exit_code != 0 and "clear text" in r.output and "--allow-remote" in r.output


def test_serve_says_when_the_port_is_taken(ada: Principal, tmp_path: Path) -> None:
    save_principal(ada)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        r = run("serve", "--port", str(taken.getsockname()[1]))
    assert r.exit_code != 0 and "Cannot listen on 127.0.0.1" in r.output


# ------------------------------------------------------------------ docs, CORS, expiry


def test_docs_load_every_script_and_style_from_the_server_itself(
    make_secretary: Callable[..., Any], serve: Callable[..., Served]
) -> None:
    import re

    api = serve(make_secretary(None))
    client = api.client()
    for page in ("/docs", "/redoc"):
        r = client.get(page)
        assert r.status_code == 200 and "text/html" in r.headers["content-type"]
        urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", r.text)
        urls += re.findall(r"""url:\s*['"]([^'"]+)['"]""", r.text)
        urls += re.findall(r"""spec-url=["']([^"']+)["']""", r.text)
        assert urls, f"{page} names no assets"
        assert not [u for u in urls if re.match(r"(?i)(https?:)?//", u)], (page, urls)
        for url in urls:
            asset = client.get(url)
            assert asset.status_code == 200, (page, url)
            assert asset.content, (page, url)
    assert '"validatorUrl": null' in client.get("/docs").text


def preflight(client: httpx.Client, origin: str) -> httpx.Response:
    return client.options(
        "/v1/pending",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )


def test_cors_is_off_by_default(
    make_secretary: Callable[..., Any], serve: Callable[..., Served]
) -> None:
    api = serve(make_secretary(None))
    token = api.token()
    asked = preflight(api.client(), "https://inbox.example.com")
    assert "access-control-allow-origin" not in asked.headers
    r = api.client(token).get("/v1/pending", headers={"Origin": "https://inbox.example.com"})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


def test_cors_answers_only_the_configured_origins(
    settings: Any, ada: Principal, serve: Callable[..., Served]
) -> None:
    from agent.runtime import Secretary

    configured = settings.model_copy(
        update={"api_cors_origins": ["https://inbox.example.com", "http://localhost:3000"]}
    )
    sec = Secretary(configured)
    try:
        api = serve(sec)
        ok = preflight(api.client(), "https://inbox.example.com")
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://inbox.example.com"
        assert "authorization" in ok.headers["access-control-allow-headers"].lower()
        assert "access-control-allow-credentials" not in ok.headers
        other = preflight(api.client(), "https://evil.example")
        assert other.status_code == 400
        assert "access-control-allow-origin" not in other.headers
        token = api.token()
        r = api.client(token).get("/v1/pending", headers={"Origin": "http://localhost:3000"})
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "http://localhost:3000"
        r = api.client(token).get("/v1/pending", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers
    finally:
        sec.close()


@pytest.mark.parametrize(
    ("value", "sentence"),
    [
        ("*", "'*' (every web page) is not allowed"),
        ("https://inbox.example.com/app", "is not a web origin"),
        ("inbox.example.com", "is not a web origin"),
    ],
)
def test_a_bad_cors_origin_is_refused_with_a_sentence(
    ada: Principal, monkeypatch: pytest.MonkeyPatch, value: str, sentence: str
) -> None:
    save_principal(ada)
    monkeypatch.setenv("SECRETARY_API_CORS_ORIGINS", value)
    r = run("serve", "token", "list")
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "Settings are invalid: api_cors_origins:" in r.output and sentence in r.output


def test_an_expired_token_is_refused_with_a_sentence_and_a_live_one_works(
    make_secretary: Callable[..., Any], serve: Callable[..., Served]
) -> None:
    from datetime import UTC, datetime, timedelta

    sec, pid = propose(make_secretary)
    api = serve(sec)
    now = datetime.now(UTC)
    _, old = issue_token(sec, "ada", None, "old", expires_at=now - timedelta(seconds=1))
    live_record, live = issue_token(sec, "ada", None, "live", expires_at=now + timedelta(days=1))
    refused = api.client(old).post(f"/v1/proposals/{pid}/decision", json={"kind": "approve"})
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert refused.json()["detail"].startswith("This token expired at ")
    assert "secretary serve token create" in refused.json()["detail"]
    assert sec.ledger.get(pid).status == "proposed"
    assert api.client(live).get("/v1/pending").status_code == 200
    assert live_record.expires_at is not None
    assert datetime.fromisoformat(live_record.expires_at) > now


def test_tokens_made_before_expiries_existed_keep_working(
    make_secretary: Callable[..., Any], serve: Callable[..., Served]
) -> None:
    from agent.channels.api import MIGRATIONS, TokenStore
    from tools.foundation.db import migrate

    sec = make_secretary(None)
    database = sec.settings.storage(None).database("serve.sqlite")
    migrate(database, "serve", MIGRATIONS[:1])  # the table as the first version made it
    database.execute(
        "INSERT INTO api_tokens (id, principal, address, label, token_sha256, created_at)"
        " VALUES ('0ld70ken', 'ada', 'ada@example.com', '', ?, '2026-01-01T00:00:00+00:00')",
        (token_digest("sec_made-before-expiries-existed-0000"),),
    )
    database.close()
    TokenStore(sec.settings.storage(None).database("serve.sqlite")).close()
    api = serve(sec)
    r = api.client("sec_made-before-expiries-existed-0000").get("/v1/me")
    assert r.status_code == 200 and r.json()["token_id"] == "0ld70ken"
    [record] = api.app.state.tokens.list()
    assert record.expires_at is None and record.active


def test_token_create_with_expires_sets_the_expiry_and_bad_lifetimes_are_refused(
    ada: Principal,
) -> None:
    from datetime import UTC, datetime, timedelta

    save_principal(ada)
    made = run("serve", "token", "create", "--expires", "30d", "--json")
    assert made.exit_code == 0, made.output
    expires = datetime.fromisoformat(json.loads(made.stdout)["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=1)
    [listed] = json.loads(run("serve", "token", "list", "--json").stdout)
    assert listed["expires_at"] == json.loads(made.stdout)["expires_at"]
    forever = json.loads(run("serve", "token", "create", "--json").stdout)
    assert forever["expires_at"] is None
    for bad, sentence in (("soon", "is not a lifetime"), ("0d", "between a minute and ten")):
        r = run("serve", "token", "create", "--expires", bad)
        assert r.exit_code == 2 and "Traceback" not in r.output and sentence in r.output
    assert len(json.loads(run("serve", "token", "list", "--json").stdout)) == 2
