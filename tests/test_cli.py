"""The `secretary` command: what a person and a script see."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agent.cli import cli
from tools.providers.scripted import ScriptedOpenAIServer

CONTRACT = {"id", "principal", "thread", "tool", "args", "status"}


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result


def test_init_with_flags_writes_a_principal(isolated_home: Path) -> None:
    r = run(
        "init",
        "--name",
        "Ada Lovelace",
        "--email",
        "ada@example.com",
        "--timezone",
        "Europe/Berlin",
        "--hours",
        "08:30-18:00",
    )
    assert r.exit_code == 0, r.output
    r = run("status", "--json")
    info = json.loads(r.stdout)
    assert info["principals"] == [
        {
            "id": "me",
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "timezone": "Europe/Berlin",
        }
    ]
    assert oct((isolated_home / "secretary.toml").stat().st_mode & 0o777) == "0o600"


def test_init_refuses_a_bad_time_zone_with_a_sentence() -> None:
    r = run("init", "--timezone", "PST")
    assert r.exit_code != 0
    assert "IANA" in r.output and "Traceback" not in r.output


def test_init_without_flags_and_without_terminal_says_what_to_pass() -> None:
    r = run("init")
    assert r.exit_code != 0 and "--name" in r.output


def test_pending_json_is_an_empty_array_before_anything() -> None:
    r = run("pending", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout) == []


def test_unknown_proposal_is_a_clear_error() -> None:
    r = run("approve", "deadbeef")
    assert r.exit_code == 1
    assert "No proposal 'deadbeef'" in r.output and "Traceback" not in r.output


def test_ask_without_model_explains_and_exits_nonzero() -> None:
    r = run("ask", "hello", "--json")
    assert r.exit_code == 1
    assert "SECRETARY_MODEL" in json.loads(r.stdout)["error"]


def test_chat_slash_commands_work_without_a_model() -> None:
    r = CliRunner().invoke(
        cli, ["chat"], input="/help\n/pending\n/agenda 2026-11-24\n/audit\n/quit\n"
    )
    assert r.exit_code == 0, r.output
    assert "SECRETARY_MODEL" in r.output  # says what needs a model
    assert "Nothing is waiting" in r.output
    assert "Agenda Tue 24 Nov 2026" in r.output


def test_agenda_rejects_a_bad_date() -> None:
    r = run("agenda", "--date", "next tuesdayish")
    assert r.exit_code == 1 and "is not a date" in r.output


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_walkthrough_over_real_http_across_processes(isolated_home: Path) -> None:
    """ask -> proposal -> nothing sent -> exit -> approve elsewhere -> sent once -> no-op."""
    email = {"to": ["dana@acme.com"], "subject": "Running late", "body": "Ten minutes late."}
    with ScriptedOpenAIServer(
        [{"tool_calls": [{"name": "send_email", "args": email}]}, "Sent."]
    ) as srv:
        env = {
            **os.environ,
            "SECRETARY_MODEL": "gpt-test",
            "OPENAI_BASE_URL": srv.base_url,
            "OPENAI_API_KEY": "sk-loopback",
        }
        asked = _cli(env, "ask", "E-mail dana@acme.com that I'm late", "--json")
        assert asked.returncode == 0, asked.stderr
        [proposal] = json.loads(asked.stdout)["pending"]
        assert CONTRACT <= set(proposal)
        assert proposal["args"]["to"] == ["dana@acme.com"]
        assert json.loads(_cli(env, "mail", "--folder", "sent", "--json").stdout) == []

        pending = json.loads(_cli(env, "pending", "--json").stdout)
        assert [p["id"] for p in pending] == [proposal["id"]] and CONTRACT <= set(pending[0])

        approved = _cli(env, "approve", proposal["id"])
        assert approved.returncode == 0, approved.stderr
        assert "Sent." in approved.stdout
        again = _cli(env, "approve", proposal["id"])
        assert again.returncode == 0 and "nothing to do" in again.stderr

        sent = json.loads(_cli(env, "mail", "--folder", "sent", "--json").stdout)
        assert len(sent) == 1 and sent[0]["to"] == ["dana@acme.com"]
        audit = json.loads(_cli(env, "audit", "--json").stdout)
        assert [a["status"] for a in audit] == ["executed"]
        assert CONTRACT | {"decided_by", "idempotency_key", "result"} <= set(audit[0])
        # The model was called over Chat Completions with the tools attached.
        first = srv.chat_requests[0]
        assert first.path == "/v1/chat/completions"
        assert any(t["function"]["name"] == "send_email" for t in first.json["tools"])
        assert first.headers["authorization"] == "Bearer sk-loopback"


def test_edit_from_the_command_line(isolated_home: Path) -> None:
    email = {"to": ["dana@acme.com"], "subject": "Running late", "body": "Ten minutes late."}
    with ScriptedOpenAIServer(
        [{"tool_calls": [{"name": "send_email", "args": email}]}, "Done."]
    ) as srv:
        env = {**os.environ, "SECRETARY_MODEL": "m", "OPENAI_BASE_URL": srv.base_url}
        [p] = json.loads(_cli(env, "ask", "mail dana", "--json").stdout)["pending"]
        bad = _cli(env, "edit", p["id"], "--set", "colour=blue")
        assert bad.returncode == 1 and "not an argument" in bad.stderr
        ok = _cli(
            env,
            "edit",
            p["id"],
            "--set",
            "to=dana@acme.com,fox@fbi.example",
            "--set",
            "subject=Late again",
        )
        assert ok.returncode == 0, ok.stderr
        [sent] = json.loads(_cli(env, "mail", "--folder", "sent", "--json").stdout)
        assert sent["to"] == ["dana@acme.com", "fox@fbi.example"]
        assert sent["subject"] == "Late again"


@pytest.mark.parametrize("status", [401, 500])
def test_model_endpoint_failures_are_one_sentence(isolated_home: Path, status: int) -> None:
    with ScriptedOpenAIServer([{"status": status}] * 5) as srv:
        env = {
            **os.environ,
            "SECRETARY_MODEL": "m",
            "OPENAI_BASE_URL": srv.base_url,
            "OPENAI_API_KEY": "sk-secret-value",
            "SECRETARY_MODEL_MAX_RETRIES": "0",
        }
        r = _cli(env, "ask", "hello")
        assert r.returncode == 1
        assert "Traceback" not in r.stderr and "sk-secret-value" not in r.stderr
        assert r.stderr.strip()


def test_help_starts_without_heavy_imports(isolated_home: Path) -> None:
    code = (
        "import sys\n"
        "sys.argv = ['secretary', '--help']\n"
        "import agent.cli\n"
        "try:\n    agent.cli.main()\nexcept SystemExit:\n    pass\n"
        "heavy = {'pydantic', 'langgraph', 'langchain_core', 'openai', 'chromadb', 'rich'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
