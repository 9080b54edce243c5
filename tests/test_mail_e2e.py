"""The autoresponder end to end on real servers: Dovecot (IMAP), aiosmtpd (SMTP), the CLI.

A message arrives in the IMAP inbox -> `secretary mail-agent --once` triages it and
proposes a reply -> the approval request is mailed to the principal -> the principal
answers "approve" by e-mail -> exactly one threaded reply is delivered and visible over
IMAP. Forged approvals, bulk mail, auto-replies, malformed mail and a killed loop too.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from mailfactory import eml

from tools.foundation.principals import Principal
from tools.foundation.settings import save_principal
from tools.providers.mime import parse_rfc822
from tools.providers.scripted import ScriptedOpenAIServer

ORIGINAL = "<q-e2e@example.test>"


def planner(delay: float = 0.0) -> list[Any]:
    first: dict[str, Any] = {
        "tool_calls": [{"name": "read_thread", "args": {"message_id": ORIGINAL}}]
    }
    if delay:
        first["delay"] = delay
    body = "Dear Dana,\n\nThe report follows on Friday.\n\nBest, Ada"
    return [
        first,
        {
            "tool_calls": [
                {"name": "reply_to_message", "args": {"message_id": ORIGINAL, "body": body}}
            ]
        },  # fmt: skip
        "Reply sent.",
        "Noted.",
    ]


class Desk:
    """A principal on Dovecot + SMTP, and the CLI pointed at them."""

    def __init__(self, home: Path, dovecot: Any, smtp: Any, server: ScriptedOpenAIServer):
        self.dovecot, self.smtp, self.server = dovecot, smtp, server
        self.ada = dovecot.new_user("ada")
        self.dana = dovecot.new_user("dana")
        account = dovecot.account(self.ada) | smtp.settings()
        principal = Principal(
            id="ada",
            name="Ada Lovelace",
            email=self.ada,
            timezone="Europe/Berlin",
            policy={"approval_channel": "email"},
            accounts={"mail": account},
        )
        save_principal(principal, home / "secretary.toml")
        self.env = {
            **os.environ,
            "SECRETARY_HOME": str(home),
            "SECRETARY_CONFIG": str(home / "secretary.toml"),
            "SECRETARY_MODEL": "gpt-test",
            "OPENAI_BASE_URL": server.base_url,
            "OPENAI_API_KEY": "sk-loopback",
            "SECRETARY_MODEL_MAX_RETRIES": "0",
        }
        self._add_contact()

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "agent.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check:
            assert done.returncode == 0, done.stderr
        return done

    def _add_contact(self) -> None:
        from tools.foundation.settings import load_settings
        from tools.providers.base import Contact
        from tools.providers.local.contacts import LocalContacts

        home = Path(self.env["SECRETARY_HOME"])
        settings = load_settings()
        p = next(x for x in settings.principals if x.id == "ada")
        book = LocalContacts(p.workdir(home))
        book.upsert(Contact(name="Dana Smith", email=self.dana, role="client"))
        book.close()

    def once(self) -> list[str]:
        done = self.cli("mail-agent", "--once", "--json")
        report = json.loads(done.stdout.strip().splitlines()[-1])
        assert report["errors"] == [], report
        return list(report["handled"])

    def inbox(self, user: str) -> list[Any]:
        return [parse_rfc822(raw, "inbox") for raw, _ in self.dovecot.messages(user)]

    def replies_to_dana(self) -> list[Any]:
        return [m for m in self.inbox(self.dana) if m.in_reply_to == ORIGINAL]

    def request(self) -> Any:
        [req] = [m for m in self.inbox(self.ada) if m.headers.get("X-Secretary-Proposal")]
        return req

    def answer(self, request: Any, text: str, sender: str) -> bytes:
        quoted = "\n".join("> " + ln for ln in request.body.splitlines())
        return eml(
            sender,
            to=self.ada,
            subject="Re: " + request.subject,
            body=f"{text}\n\nOn Monday the secretary wrote:\n{quoted}",
            in_reply_to=request.message_id,
        )


@pytest.fixture
def desk(isolated_home: Path, dovecot: Any, smtp_server: Any, monkeypatch: Any) -> Any:
    with ScriptedOpenAIServer(planner()) as server:
        monkeypatch.setenv("SECRETARY_HOME", str(isolated_home))
        d = Desk(isolated_home, dovecot, smtp_server, server)
        assert d.once() == []  # first start: notes where the inbox is
        yield d


def test_reply_is_delivered_once_after_an_emailed_approval(desk: Desk) -> None:
    question = "Hi Ada,\n\nCould you send me the Q3 report?\n\nDana"
    desk.dovecot.deliver(desk.ada, eml(f"Dana <{desk.dana}>", to=desk.ada, body=question,
                                       message_id=ORIGINAL))  # fmt: skip
    desk.dovecot.deliver(
        desk.ada, eml(subject="Sale!", headers={"List-Unsubscribe": "<mailto:u@x>"})
    )
    desk.dovecot.deliver(desk.ada, eml(f"Dana <{desk.dana}>", to=desk.ada,
                                       subject="Automatic reply: away",
                                       headers={"Auto-Submitted": "auto-replied"}))  # fmt: skip
    handled = desk.once()
    assert len(handled) == 3
    assert sum("reply proposed" in line for line in handled) == 1
    request = desk.request()
    assert request.headers["Auto-Submitted"] == "auto-generated"
    assert desk.replies_to_dana() == []

    # Someone else answering the request with the right token is refused.
    desk.dovecot.deliver(desk.ada, desk.answer(request, "approve", f"Dana <{desk.dana}>"))
    handled = desk.once()  # also the request itself, arrived in the principal's inbox
    assert sum("approval refused" in line for line in handled) == 1, handled
    assert any("the secretary's own message; filed in Secretary" in line for line in handled)
    assert desk.replies_to_dana() == []

    desk.dovecot.deliver(desk.ada, desk.answer(request, "Approve", f"Ada <{desk.ada}>"))
    handled = desk.once()
    assert any("now executed" in line for line in handled), handled
    [reply] = desk.replies_to_dana()
    assert reply.subject == "Re: Hello" and reply.references[-1] == ORIGINAL
    assert "The report follows on Friday" in reply.body and "> Could you send" in reply.body
    inbox = [m for m in desk.inbox(desk.ada)]  # the principal's own copy is in Sent, not here
    assert all(m.message_id != reply.message_id for m in inbox)
    # The request and the principal's answer were filed out of the inbox; Dana's refused
    # attempt stays there for the principal to see.
    ours = [m.sender for m in inbox if "[SEC " in m.subject]
    assert len(ours) == 1 and desk.dana in ours[0], ours

    # A replay of the same approval, and another round: nothing more is sent.
    desk.dovecot.deliver(desk.ada, desk.answer(request, "approve", f"Ada <{desk.ada}>"))
    handled = desk.once()
    assert any("no longer waiting" in line for line in handled), handled
    assert len(desk.replies_to_dana()) == 1
    to_dana = [e for e in desk.smtp.envelopes if desk.dana in e.rcpt_tos]
    assert len(to_dana) == 1


def _malformed() -> list[bytes]:
    big = EmailMessage()
    big["From"] = "Big <big@files.test>"
    big["To"] = "ada@example.test"
    big["Subject"] = "The scans"
    big["Message-ID"] = "<big@files.test>"
    big.set_content("Scans attached.")
    big.add_attachment(os.urandom(25 * 1024 * 1024), maintype="application",
                       subtype="octet-stream", filename="scans.bin")  # fmt: skip
    return [
        b"From: Broken <b@x.test>\r\nSubject: broken\r\nMessage-ID: <broken@x.test>\r\n"
        b'Content-Type: multipart/mixed; boundary="nope"\r\n\r\nno parts at all\r\n',
        b"From: K <k@x.test>\r\nSubject: charset\r\nMessage-ID: <cs@x.test>\r\n"
        b"Content-Type: text/plain; charset=x-klingon\r\n\r\nQapla\xff\r\n",
        b"From: =?utf-8?q?J=C3=BCrgen?= <j@x.test>\r\nSubject: Gr\xc3\xbc\xc3\x9fe 8-bit\r\n"
        b"Message-ID: <8bit@x.test>\r\n\r\nHallo\r\n",
        b"From: E <e@x.test>\r\nSubject: empty\r\nMessage-ID: <empty@x.test>\r\n\r\n",
        big.as_bytes(),
    ]


def test_malformed_mail_is_handled_and_the_loop_goes_on(desk: Desk) -> None:
    for raw in _malformed():
        desk.dovecot.deliver(desk.ada, raw)
    desk.dovecot.deliver(
        desk.ada, eml(subject="Sale!", headers={"List-Unsubscribe": "<mailto:u@x>"})
    )
    handled = desk.once()
    assert len(handled) == 6, handled
    status = json.loads(desk.cli("mail-agent", "--status", "--json").stdout)
    ids = {r["message_id"] for r in status}
    assert {"<broken@x.test>", "<cs@x.test>", "<8bit@x.test>", "<empty@x.test>",
            "<big@files.test>"} <= ids  # fmt: skip
    assert all(r["status"] in ("done", "unreadable") for r in status)
    assert len(desk.dovecot.messages(desk.ada)) >= 6  # nothing removed from the server


def test_killed_loop_loses_nothing_and_sends_once(
    isolated_home: Path, dovecot: Any, smtp_server: Any, monkeypatch: Any
) -> None:
    with ScriptedOpenAIServer(planner(delay=30)) as server:
        monkeypatch.setenv("SECRETARY_HOME", str(isolated_home))
        d = Desk(isolated_home, dovecot, smtp_server, server)
        d.once()
        d.dovecot.deliver(d.ada, eml(f"Dana <{d.dana}>", to=d.ada, message_id=ORIGINAL,
                                     body="Could you send me the Q3 report?"))  # fmt: skip
        loop = subprocess.Popen(
            [sys.executable, "-m", "agent.cli", "mail-agent", "--poll", "1"],
            env=d.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while not server.chat_requests and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.chat_requests, "the loop never asked the model"
        loop.send_signal(signal.SIGKILL)  # killed while the model is drafting
        loop.wait(10)
        handled = d.once()  # the restarted desk picks the message up again
        assert any("reply proposed" in line for line in handled), handled
        request = d.request()
        d.dovecot.deliver(d.ada, d.answer(request, "approve", f"Ada <{d.ada}>"))
        d.once()
        d.once()
        assert len(d.replies_to_dana()) == 1


def test_ingest_reads_an_imap_folder_incrementally(tmp_path: Path, dovecot: Any) -> None:
    from agent.ingest import iter_mailbox, run_ingest
    from tools.providers.imap_smtp import open_mail
    from tools.providers.memory.store import Memory

    user = dovecot.new_user("arch")
    for i in range(5):
        dovecot.deliver(user, eml(subject=f"Invoice INV-{i:04d}", body=f"Amount {i}00 EUR"))
    p = Principal(id="arch", name="Arch", email=user, timezone="Europe/Berlin")
    mail = open_mail(dovecot.account(user), p, tmp_path)
    memory = Memory(tmp_path, "arch", None)
    state = tmp_path / "cursors.json"
    first = run_ingest(
        memory, [], embed=False, mailboxes=[iter_mailbox(mail, "inbox", state, batch=2)]
    )
    assert first.ingested == 5
    dovecot.deliver(user, eml(subject="Invoice INV-0099", body="Amount 9900 EUR"))
    again = run_ingest(memory, [], embed=False, mailboxes=[iter_mailbox(mail, "inbox", state)])
    assert (again.ingested, again.duplicates) == (1, 0)
    try:
        [hit] = memory.recall("INV-0099", k=1, mode="keyword")
        assert hit.subject == "Invoice INV-0099"
    finally:
        mail.close()
        memory.close()


def test_connect_commands_store_accounts_and_check_them(
    isolated_home: Path, dovecot: Any, smtp_server: Any, radicale_server: Any
) -> None:
    import tomllib

    from click.testing import CliRunner

    from agent.cli import cli

    runner = CliRunner()
    init = ["init", "--id", "ada", "--name", "Ada", "--email", "ada@example.test",
            "--timezone", "Europe/Berlin"]  # fmt: skip
    assert runner.invoke(cli, init).exit_code == 0
    user = dovecot.new_user("conn")
    dovecot.deliver(user, eml(subject="Welcome aboard"))
    r = runner.invoke(
        cli,
        [
            "connect",
            "imap",
            "--imap-host",
            "127.0.0.1",
            "--imap-port",
            str(dovecot.imap_port),
            "--imap-security",
            "starttls",
            "--smtp-host",
            "127.0.0.1",
            "--smtp-port",
            str(smtp_server.port),
            "--username",
            user,
            "--password-env",
            "CONN_PW",
            "--ca-file",
            str(dovecot.ca_file),
        ],  # fmt: skip
        env={"CONN_PW": dovecot.users[user]},
    )
    assert r.exit_code == 0, r.output
    assert "Connected" in r.output and "Welcome aboard" in r.output
    saved = tomllib.loads((isolated_home / "secretary.toml").read_text())
    mail = saved["principals"][0]["accounts"]["mail"]
    assert mail["password_env"] == "CONN_PW" and "password" not in mail
    bad = runner.invoke(
        cli,
        [
            "connect",
            "imap",
            "--imap-host",
            "127.0.0.1",
            "--imap-port",
            str(dovecot.imap_port),
            "--imap-security",
            "starttls",
            "--smtp-host",
            "127.0.0.1",
            "--username",
            user,
            "--password-env",
            "CONN_PW",
            "--ca-file",
            str(dovecot.ca_file),
        ],  # fmt: skip
        env={"CONN_PW": "wrong-password-123"},
    )
    assert bad.exit_code == 1 and "Not connected; the previous settings are kept" in bad.output
    assert tomllib.loads((isolated_home / "secretary.toml").read_text()) == saved
    assert "wrong-password-123" not in bad.output and "Traceback" not in bad.output

    cal_user = radicale_server.new_user()
    account = radicale_server.account(cal_user)
    r = runner.invoke(
        cli,
        [
            "connect",
            "caldav",
            "--url",
            account["url"],
            "--username",
            cal_user,
            "--password-env",
            "CAL_PW",
        ],  # fmt: skip
        env={"CAL_PW": radicale_server.users[cal_user], "CONN_PW": dovecot.users[user]},
    )
    assert r.exit_code == 0, r.output
    assert "events this week" in r.output
