"""Failures are loud: `connect` saves only what was checked, `mail-agent --once` fails visibly.

Through the CLI against real loopback servers (Dovecot, aiosmtpd, Radicale, the
Microsoft 365 stand-in with real msal); a port nothing listens on stands in for
a server that is down.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from graph_calendar_standin import GraphCalendarStandIn
from mailfactory import eml
from servers import Dovecot, SmtpServer, free_port

from agent.cli import cli
from tools.foundation.principals import Principal
from tools.foundation.settings import save_principal

KEPT = "Not connected; the previous settings are kept."


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def flat(text: str) -> str:
    """The text with line wrapping undone (the terminal consoles wrap long lines)."""
    return " ".join(text.split())


def accounts(home: Path) -> dict[str, Any]:
    saved = tomllib.loads((home / "secretary.toml").read_text())
    return dict(saved["principals"][0].get("accounts", {}))


@pytest.fixture
def ada(isolated_home: Path) -> None:
    r = invoke(
        "init", "--id", "ada", "--name", "Ada", "--email", "ada@example.com",
        "--timezone", "Europe/Berlin",
    )  # fmt: skip
    assert r.exit_code == 0, r.output


def connect_imap(
    dovecot: Dovecot, user: str, smtp_port: int, password: str | None = None, **over: str
) -> Result:
    options = {
        "--imap-host": "127.0.0.1",
        "--imap-port": str(dovecot.imap_port),
        "--imap-security": "starttls",
        "--smtp-host": "127.0.0.1",
        "--smtp-port": str(smtp_port),
        "--username": user,
        "--password-env": "MAIL_PW",
        "--ca-file": str(dovecot.ca_file),
    } | over
    args = [x for pair in options.items() for x in pair]
    return invoke("connect", "imap", *args, env={"MAIL_PW": password or dovecot.users[user]})


def connect_caldav(radicale: Any, user: str, url: str | None = None) -> Result:
    return invoke(
        "connect", "caldav", "--url", url or radicale.url, "--username", user,
        "--password-env", "CAL_PW", *(["--ca-file", radicale.ca_file] if radicale.ca_file else []),
        env={"CAL_PW": radicale.users[user]},
    )  # fmt: skip


# ------------------------------------------------------------------ connect imap


@pytest.mark.usefixtures("ada")
def test_connect_imap_checks_the_imap_and_the_smtp_login_before_saying_connected(
    isolated_home: Path, dovecot: Dovecot, smtp_server: SmtpServer
) -> None:
    user = dovecot.new_user("conn")
    dovecot.deliver(user, eml(subject="[team] Welcome aboard"))
    r = connect_imap(dovecot, user, smtp_server.port)
    assert r.exit_code == 0, r.output
    assert r.output == (
        "Connected the mail of Ada (IMAP and SMTP logins checked); "
        "newest: '[team] Welcome aboard'.\n"
    )
    assert accounts(isolated_home)["mail"]["smtp_port"] == smtp_server.port
    assert smtp_server.envelopes == []  # the check logs in; it sends nothing


@pytest.mark.usefixtures("ada")
def test_connect_imap_records_the_receiving_servers_authserv_id(
    isolated_home: Path, dovecot: Dovecot, smtp_server: SmtpServer
) -> None:
    user = dovecot.new_user("auth")
    r = connect_imap(dovecot, user, smtp_server.port, **{"--authserv-id": "MX.Example.com"})
    assert r.exit_code == 0, r.output
    assert accounts(isolated_home)["mail"]["authserv_id"] == "mx.example.com"


@pytest.mark.usefixtures("ada")
def test_a_dead_smtp_port_is_named_and_the_working_account_stays(
    isolated_home: Path, dovecot: Dovecot, smtp_server: SmtpServer
) -> None:
    user = dovecot.new_user("conn")
    assert connect_imap(dovecot, user, smtp_server.port).exit_code == 0
    before = accounts(isolated_home)
    dead = free_port()
    r = connect_imap(dovecot, user, dead)
    assert r.exit_code == 1
    said = flat(r.output)
    assert said.startswith(f"Error: {KEPT} SMTP did not work: Cannot connect to the SMTP server")
    assert f"127.0.0.1:{dead}: connection refused" in said and "IMAP did not work" not in said
    assert "Traceback" not in r.output and "Connected" not in r.output
    assert accounts(isolated_home) == before


@pytest.mark.usefixtures("ada")
def test_a_dead_imap_port_is_named_and_nothing_is_saved(
    isolated_home: Path, dovecot: Dovecot, smtp_server: SmtpServer
) -> None:
    user = dovecot.new_user("conn")
    r = connect_imap(dovecot, user, smtp_server.port, **{"--imap-port": str(free_port())})
    said = flat(r.output)
    assert r.exit_code == 1 and "IMAP did not work: Cannot connect to the IMAP server" in said
    assert "SMTP did not work" not in said
    assert accounts(isolated_home) == {}


@pytest.mark.usefixtures("ada")
def test_a_wrong_password_names_both_logins_and_never_shows_the_password(
    isolated_home: Path, dovecot: Dovecot, smtp_server: SmtpServer
) -> None:
    user = dovecot.new_user("conn")
    r = connect_imap(dovecot, user, smtp_server.port, password="wrong-password-123")
    said = flat(r.output)
    assert r.exit_code == 1, r.output
    assert "IMAP did not work: The IMAP server" in said and "refused the login" in said
    assert "SMTP did not work: The SMTP server" in said
    assert "wrong-password-123" not in r.output and "Traceback" not in r.output
    assert accounts(isolated_home) == {}


# ------------------------------------------------------------------ connect caldav


@pytest.mark.usefixtures("ada")
def test_connect_caldav_that_cannot_be_reached_keeps_the_calendar_that_worked(
    isolated_home: Path, radicale_server: Any
) -> None:
    user = radicale_server.new_user()
    r = connect_caldav(radicale_server, user)
    assert r.exit_code == 0, r.output
    assert "events this week" in r.output
    before = accounts(isolated_home)
    r = connect_caldav(radicale_server, user, url=f"http://127.0.0.1:{free_port()}/")
    assert r.exit_code == 1
    assert flat(r.output).startswith(f"Error: {KEPT} The CalDAV calendar did not work:")
    assert "Traceback" not in r.output
    assert accounts(isolated_home) == before


# ------------------------------------------------------------------ connect microsoft


@pytest.fixture
def tenant(tmp_path: Path) -> Iterator[GraphCalendarStandIn]:
    server = GraphCalendarStandIn(tmp_path).start()
    yield server
    server.close()


def connect_microsoft(tenant: GraphCalendarStandIn, **over: str) -> Result:
    options = {
        "--client-id": tenant.client_id,
        "--tenant": tenant.tenant,
        "--authority": tenant.authority,
        "--graph-url": tenant.graph_url,
        "--ca-file": str(tenant.ca_file),
    } | over
    return invoke("connect", "microsoft", *[x for pair in options.items() for x in pair])


@pytest.mark.usefixtures("ada")
def test_connect_microsoft_signs_in_checks_mail_and_calendar_then_saves(
    isolated_home: Path, tenant: GraphCalendarStandIn
) -> None:
    tenant.deliver("ada@example.com", eml(subject="Hello from Exchange"))
    r = connect_microsoft(tenant)
    assert r.exit_code == 0, r.output
    said = flat(r.output)
    assert "enter the code" in said
    assert "Connected the mail of Ada; newest: 'Hello from Exchange'" in said
    assert "Connected the calendar of Ada: 0 events this week" in said
    saved = accounts(isolated_home)
    assert saved["mail"]["provider"] == saved["calendar"]["provider"] == "microsoft"
    assert saved["mail"]["graph_url"] == tenant.graph_url


@pytest.mark.usefixtures("ada")
def test_a_failed_microsoft_connect_leaves_the_working_imap_and_caldav_set_up(
    isolated_home: Path,
    dovecot: Dovecot,
    smtp_server: SmtpServer,
    radicale_server: Any,
    tenant: GraphCalendarStandIn,
) -> None:
    user = dovecot.new_user("conn")
    dovecot.deliver(user, eml(subject="Still here"))
    assert connect_imap(dovecot, user, smtp_server.port).exit_code == 0
    cal_user = radicale_server.new_user()
    assert connect_caldav(radicale_server, cal_user).exit_code == 0
    before = accounts(isolated_home)
    assert {before["mail"]["provider"], before["calendar"]["provider"]} == {"imap", "caldav"}

    dead = f"https://127.0.0.1:{free_port()}/{tenant.tenant}"
    r = connect_microsoft(tenant, **{"--authority": dead})
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert flat(r.output).startswith(f"Error: {KEPT}")
    assert accounts(isolated_home) == before

    # Signed in, but Graph itself cannot be reached: still nothing is saved.
    r = connect_microsoft(tenant, **{"--graph-url": f"https://127.0.0.1:{free_port()}/v1.0"})
    said = flat(r.output)
    assert r.exit_code == 1
    assert "Microsoft 365 mail did not work: Cannot reach Microsoft Graph" in said
    assert accounts(isolated_home) == before

    # The old set-up still works.
    secrets = {"MAIL_PW": dovecot.users[user], "CAL_PW": radicale_server.users[cal_user]}
    r = invoke("triage", "--no-model", env=secrets)
    assert r.exit_code == 0, r.output
    assert "Still here" in r.output


# ------------------------------------------------------------------ connect google


@pytest.mark.usefixtures("ada")
def test_a_failed_google_sign_in_keeps_the_previous_settings(
    isolated_home: Path, tmp_path: Path, dovecot: Dovecot, smtp_server: SmtpServer
) -> None:
    assert connect_imap(dovecot, dovecot.new_user("conn"), smtp_server.port).exit_code == 0
    before = accounts(isolated_home)
    broken = tmp_path / "client_secret.json"
    broken.write_text('{"web": {}}')
    r = invoke("connect", "google", "--client-secrets", str(broken), "--no-browser")
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert flat(r.output).startswith(f"Error: {KEPT} The Google sign-in did not work:")
    assert accounts(isolated_home) == before
    assert not list((isolated_home / "principals").rglob("google*.json"))


# ------------------------------------------------------------------ mail-agent


def dead_mailbox(home: Path) -> int:
    port = free_port()
    account = {
        "provider": "imap", "imap_host": "127.0.0.1", "imap_port": port,
        "imap_security": "none", "smtp_host": "127.0.0.1", "smtp_port": free_port(),
        "username": "ada", "password": "pw", "timeout": 5,
    }  # fmt: skip
    principal = Principal(
        id="ada", name="Ada", email="ada@example.com", timezone="Europe/Berlin",
        accounts={"mail": account},
    )  # fmt: skip
    save_principal(principal, home / "secretary.toml")
    return port


def test_mail_agent_once_exits_1_with_one_sentence_when_the_server_is_down(
    isolated_home: Path,
) -> None:
    port = dead_mailbox(isolated_home)
    r = invoke("mail-agent", "--once", "--no-model")
    assert r.exit_code == 1
    assert r.stderr.strip() == (
        "Error: The mail round did not complete: fetching mail failed: Cannot connect to the "
        f"IMAP server 127.0.0.1:{port}: connection refused. Check imap_host and imap_port and "
        "that the server is running."
    )
    assert r.stdout == "" and "Traceback" not in r.output

    r = invoke("mail-agent", "--once", "--no-model", "--json")
    assert r.exit_code == 1
    report = json.loads(r.stdout)
    assert report["errors"] == [r.stderr.strip().removeprefix(
        "Error: The mail round did not complete: "
    )]  # fmt: skip


def test_mail_agent_once_exits_0_when_the_round_works(
    isolated_home: Path, dovecot: Dovecot, smtp_server: SmtpServer
) -> None:
    user = dovecot.new_user("ada")
    principal = Principal(
        id="ada", name="Ada", email=user, timezone="Europe/Berlin",
        accounts={"mail": dovecot.account(user) | smtp_server.settings()},
    )  # fmt: skip
    save_principal(principal, isolated_home / "secretary.toml")
    r = invoke("mail-agent", "--once", "--no-model")
    assert r.exit_code == 0, r.output
    assert "Error" not in r.output


def test_mail_agent_keeps_running_and_reports_every_failed_round(isolated_home: Path) -> None:
    dead_mailbox(isolated_home)
    log = isolated_home / "secretary.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "mail-agent", "--no-model", "--poll", "0.2"],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            text = log.read_text() if log.exists() else ""
            if text.count("ERROR agent.cli.mail_desk: mail-agent ada: fetching mail failed") >= 2:
                break
            time.sleep(0.1)
        assert proc.poll() is None, "the desk stopped after a failed round"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    said = flat(stderr)
    assert said.count("fetching mail failed: Cannot connect to the IMAP server") >= 2
    assert "(next round within 0.2 seconds)" in said and "Traceback" not in stderr
