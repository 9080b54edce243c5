"""Several mail-agent workers on one PostgreSQL database, racing on one inbox and one approval.

Real parts only: PostgreSQL (initdb fixture), Dovecot (IMAP) for the inbox,
aiosmtpd delivering into Dovecot, the loopback OpenAI-compatible server for
the model, and the workers are real ``secretary mail-agent`` processes, each
with its own data directory, like two machines sharing the database.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from imapclient.exceptions import IMAPClientError
from mailfactory import eml

from agent.approval import Decision
from agent.runtime import Actor, Secretary
from tools.foundation.principals import Principal
from tools.foundation.settings import Settings, save_principal
from tools.providers.local.mail_desk import OWN_FOLDER
from tools.providers.mime import parse_rfc822
from tools.providers.scripted import ScriptedOpenAIServer

ROOT = Path(__file__).resolve().parents[1]
REPLY = "Dear Dana,\n\nThank you; I will come back to you on this.\n\nBest, Ada"


def responder(body: dict[str, Any]) -> Any:
    """The model: propose a reply to the message named in the desk's request, then confirm."""
    messages = body.get("messages", [])
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        return "Done."
    text = str(last.get("content") or "")
    found = re.search(r"Message id: (<[^>]+>)", text)
    if found is None:
        return "Nothing to do."
    call = {"name": "reply_to_message", "args": {"message_id": found.group(1), "body": REPLY}}
    return {"tool_calls": [call]}


class Cluster:
    """One principal on Dovecot + SMTP, served by worker processes on a shared database."""

    def __init__(
        self, tmp: Path, dovecot: Any, smtp: Any, server: Any, database: str, channel: str
    ) -> None:
        self.dovecot, self.smtp, self.server, self.database = dovecot, smtp, server, database
        self.ada = dovecot.new_user("ada")
        self.dana = dovecot.new_user("dana")
        self.principal = Principal(
            id="ada",
            name="Ada Lovelace",
            email=self.ada,
            timezone="Europe/Berlin",
            policy={"approval_channel": channel},
            accounts={"mail": dovecot.account(self.ada) | smtp.settings()},
        )
        self.homes = [tmp / f"machine{n}" for n in (1, 2)]
        for home in self.homes:
            home.mkdir(parents=True)
            save_principal(self.principal, home / "secretary.toml")
        self.workers: list[subprocess.Popen[bytes]] = []
        with self.secretary(0) as sec:
            from tools.providers.base import Contact

            sec.workspace(self.principal).contacts.upsert(
                Contact(name="Dana Smith", email=self.dana, role="client")
            )
            from agent.channels.email import MailDesk

            MailDesk(sec, "ada", use_model=False).run_round()  # first start: notes the inbox

    def env(self, n: int) -> dict[str, str]:
        home = self.homes[n]
        return {
            **os.environ,
            "SECRETARY_HOME": str(home),
            "SECRETARY_CONFIG": str(home / "secretary.toml"),
            "SECRETARY_DATABASE_URL": self.database,
            "SECRETARY_MODEL": "gpt-test",
            "OPENAI_BASE_URL": self.server.base_url,
            "OPENAI_API_KEY": "sk-loopback",
            "SECRETARY_MODEL_MAX_RETRIES": "0",
        }

    def secretary(self, n: int) -> Secretary:
        home = self.homes[n]
        settings = Settings(
            home=home,
            principals=[self.principal],
            database_url=self.database,
            model="gpt-test",
            openai_base_url=self.server.base_url,
            openai_api_key="sk-loopback",
            model_max_retries=0,
        )
        return Secretary(settings)

    def start(self, n: int) -> subprocess.Popen[bytes]:
        log = open(self.homes[n] / f"worker-{len(self.workers)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "agent.cli", "mail-agent", "--poll", "0.5"],
            env=self.env(n),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        self.workers.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.workers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace") for home in self.homes for p in home.glob("worker-*.log")
        )

    def rows(self) -> list[dict[str, Any]]:
        from tools.foundation.db import Database, schema_name

        db = Database(self.database, schema_name("ada"))
        try:
            return db.fetchall(
                "SELECT message_id, status, claimed_by, attempts, proposals FROM messages"
            )
        finally:
            db.close()

    def wait(self, done: Any, what: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}\n{self.logs()[-4000:]}", pytrace=False)
            time.sleep(0.2)

    def inbox(self, user: str) -> list[Any]:
        return [parse_rfc822(raw, "inbox") for raw, _ in self.dovecot.messages(user)]

    def requests(self, user: str) -> list[Any]:
        """The approval requests mailed to ``user``: in the inbox until a desk files them away."""
        found = self.inbox(user)
        try:
            filed = self.dovecot.messages(user, OWN_FOLDER)
        except IMAPClientError:  # the folder is made when the first message is filed there
            filed = []
        found += [parse_rfc822(raw, OWN_FOLDER) for raw, _ in filed]
        return [m for m in found if m.headers.get("X-Secretary-Proposal")]

    def replies(self) -> list[Any]:
        return [m for m in self.inbox(self.dana) if m.subject.startswith("Re:")]


@pytest.fixture
def cluster(
    tmp_path: Path, dovecot: Any, smtp_server: Any, pg_url: str, request: Any
) -> Iterator[Any]:
    def make(channel: str = "terminal") -> Cluster:
        made = Cluster(tmp_path, dovecot, smtp_server, server, pg_url, channel)
        clusters.append(made)
        return made

    clusters: list[Cluster] = []
    with ScriptedOpenAIServer(responder=responder) as server:
        yield make
        for c in clusters:
            c.stop()


def test_two_workers_race_on_one_inbox_and_its_approvals(cluster: Any) -> None:
    c: Cluster = cluster()
    c.start(0)
    c.start(1)
    rounds, questions, bulk = 5, 4, 4
    for r in range(rounds):
        ids = []
        for n in range(questions):
            mid = f"<q{r}-{n}@acme.test>"
            ids.append(mid)
            c.dovecot.deliver(
                c.ada,
                eml(f"Dana <{c.dana}>", to=c.ada, subject=f"Question {r}.{n}", message_id=mid,
                    body=f"Hi Ada,\n\nCould you tell me about item {r}.{n}?\n\nDana"),
            )  # fmt: skip
        for n in range(bulk):
            c.dovecot.deliver(
                c.ada,
                eml("News <news@shop.test>", to=c.ada, subject=f"Sale {r}.{n}",
                    message_id=f"<b{r}-{n}@shop.test>", body="Everything must go.",
                    headers={"List-Unsubscribe": "<mailto:u@shop.test>", "Precedence": "bulk"}),
            )  # fmt: skip
        expected = (r + 1) * (questions + bulk)

        def settled(expected: int = expected) -> bool:
            rows = c.rows()
            return len(rows) == expected and all(
                row["status"] in ("done", "proposed") for row in rows
            )

        c.wait(settled, f"round {r}: every message handled")
        rows = c.rows()
        assert len({row["message_id"] for row in rows}) == expected  # 0 lost, none twice
        proposed = [row for row in rows if row["status"] == "proposed"]
        assert len(proposed) == questions, rows
        assert all(len(row["proposals"].split(",")) == 1 for row in proposed)

        # Two machines approve every waiting reply at the same moment, in opposite orders.
        secs = [c.secretary(0), c.secretary(1)]
        pending = [p.id for p in secs[0].pending("ada")]
        assert len(pending) == questions
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def approve(
            sec: Secretary,
            order: list[str],
            barrier: threading.Barrier = barrier,
            errors: list[BaseException] = errors,
        ) -> None:
            barrier.wait()
            for pid in order:
                try:
                    sec.decide(pid, Decision(kind="approve"), actor=Actor("terminal", "ada"))
                except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                    errors.append(exc)

        threads = [
            threading.Thread(target=approve, args=(secs[0], pending)),
            threading.Thread(target=approve, args=(secs[1], pending[::-1])),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for sec in secs:
            sec.close()
        assert errors == []
        c.wait(lambda r=r: len(c.replies()) >= (r + 1) * questions, "the replies to arrive")
    replies = c.replies()
    assert len(replies) == rounds * questions
    assert len({m.in_reply_to for m in replies}) == rounds * questions  # one reply per question
    with c.secretary(0) as sec:
        audit = sec.audit("ada")
        assert [p.status for p in audit] == ["executed"] * (rounds * questions)
        for p in audit:
            events = [e["event"] for e in sec.trail("ada", p.id)]
            assert events.count("executing") == 1 and events.count("executed") == 1
    assert all(row["attempts"] == 0 for row in c.rows())  # no message needed a second go


def test_worker_killed_mid_action_is_finished_by_the_other_once(cluster: Any) -> None:
    c: Cluster = cluster("email")
    c.start(0)
    c.start(1)
    original = "<kill-1@acme.test>"
    c.dovecot.deliver(
        c.ada,
        eml(f"Dana <{c.dana}>", to=c.ada, subject="Report", message_id=original,
            body="Hi Ada,\n\nCould you send me the Q3 report?\n\nDana"),
    )  # fmt: skip
    c.wait(lambda: bool(c.requests(c.ada)), "the approval request")
    [request] = c.requests(c.ada)
    proposal = request.headers["X-Secretary-Proposal"]
    # The next SMTP transaction (the approved reply) stalls at RCPT: the action is under way.
    c.smtp.hold_rcpt, c.smtp.hold_seconds = 1, 20.0
    quoted = "\n".join("> " + line for line in request.body.splitlines())
    c.dovecot.deliver(
        c.ada,
        eml(f"Ada <{c.ada}>", to=c.ada, subject="Re: " + request.subject,
            body=f"approve\n\n{quoted}", in_reply_to=request.message_id,
            message_id="<approve-1@acme.test>"),
    )  # fmt: skip
    c.wait(lambda: bool(c.smtp.held), "the reply's SMTP transaction to start")
    [busy] = [row for row in c.rows() if row["message_id"] == "<approve-1@acme.test>"]
    assert busy["status"] == "working", busy
    pid = int(busy["claimed_by"].split(":")[1])
    victim = next(p for p in c.workers if p.pid == pid)
    victim.send_signal(signal.SIGKILL)  # in the middle of sending the approved reply
    victim.wait(10)
    c.wait(lambda: len(c.replies()) == 1, "the surviving worker to send the reply", timeout=120)
    time.sleep(2)  # anything duplicated would show up now
    assert len(c.replies()) == 1
    with c.secretary(0) as sec:
        p = sec.ledger.get(proposal)
        assert p.status == "executed"
        events = [e["event"] for e in sec.trail("ada", p.id)]
        assert events.count("executed") == 1 and events.count("executing") == 2
        # Whichever worker signed the request, the other accepts its token (one shared key).
        assert "approval_refused" not in events
        row = sec.ledger.database.fetchone(
            "SELECT attempts FROM executions WHERE idempotency_key = ?", (p.idempotency_key,)
        )
        assert row is not None and row["attempts"] == 2
    assert json.dumps([r["status"] for r in c.rows()]).count("working") == 0
