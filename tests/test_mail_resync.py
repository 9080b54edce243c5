"""The mail desk never answers old mail twice, whatever the provider forgets.

After a mailbox reset (IMAP UIDVALIDITY changed), an expired Gmail history id
(404) or an expired Graph delta link (410), and after a local first start with
files inside the Maildir's rescan window, the desk handles exactly the mail
that is genuinely new. Real parts: Dovecot, the Gmail and Graph loopback
stand-ins, a Maildir. No model: the desk's report lines and rows tell what it
handled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import NOW
from google.oauth2.credentials import Credentials
from google_standin import GoogleStandIn
from graph_standin import GraphStandIn
from mailfactory import eml
from servers import Dovecot

from agent.channels.email import MailDesk
from agent.runtime import Secretary
from tools.foundation.principals import Principal
from tools.foundation.settings import Settings
from tools.providers.base import MailResync, SyncReset
from tools.providers.google.gmail import SCOPES


@pytest.fixture
def open_desk(isolated_home: Path) -> Iterator[Callable[[dict[str, Any], str], MailDesk]]:
    """A desk for principal ada whose mail account is ``account`` (no model)."""
    made: list[Secretary] = []

    def make(account: dict[str, Any], email: str = "ada@example.com") -> MailDesk:
        ada = Principal(
            id="ada",
            name="Ada Lovelace",
            email=email,
            timezone="Europe/Berlin",
            accounts={"mail": account} if account else {},
        )
        sec = Secretary(Settings(home=isolated_home, principals=[ada]), clock=lambda: NOW)
        made.append(sec)
        return MailDesk(sec, "ada")

    yield make
    for sec in made:
        sec.close()


def handled(report: Any) -> list[str]:
    """The Message-IDs a round handled, from its report lines."""
    assert report.errors == []
    return sorted(line.split()[0].rstrip(":") for line in report.handled)


def first_start(desk: MailDesk, expected_history: int) -> None:
    report = desk.run_round()
    assert report.handled == [] and report.errors == []
    assert any("First start" in note for note in report.notes)
    assert len(desk.state.rows("history", 1000)) == expected_history


# ------------------------------------------------------------------- IMAP


def test_after_a_uidvalidity_change_only_the_new_message_is_handled(
    dovecot: Dovecot, open_desk: Callable[..., MailDesk]
) -> None:
    ada = dovecot.new_user("ada")
    for n in range(3):
        dovecot.deliver(ada, eml(message_id=f"<old{n}@acme.test>"))
    desk = open_desk(dovecot.account(ada), ada)
    assert isinstance(desk.workspace.mail, MailResync)
    first_start(desk, 3)
    dovecot.deliver(ada, eml(message_id="<before@acme.test>"))
    assert handled(desk.run_round()) == ["<before@acme.test>"]

    dovecot.renumber(ada)  # the server forgets every UID the desk's cursor names
    dovecot.deliver(ada, eml(message_id="<after@acme.test>"))

    assert handled(desk.run_round()) == ["<after@acme.test>"]
    assert handled(desk.run_round()) == []
    dovecot.deliver(ada, eml(message_id="<later@acme.test>"))
    assert handled(desk.run_round()) == ["<later@acme.test>"]  # the rebuilt cursor works
    statuses = {r["message_id"]: r["status"] for r in desk.state.rows(limit=100)}
    assert set(statuses) == {"<before@acme.test>", "<after@acme.test>", "<later@acme.test>"}


def test_a_recreated_folder_is_listed_by_message_id_without_bodies(
    dovecot: Dovecot, open_desk: Callable[..., MailDesk]
) -> None:
    ada = dovecot.new_user("ada")
    no_id = b"From: dana@acme.test\r\nSubject: no id\r\n\r\nbody\r\n"
    dovecot.append(ada, "Archive", eml(message_id="<a1@acme.test>"))
    dovecot.append(ada, "Archive", no_id)
    desk = open_desk(dovecot.account(ada), ada)
    mail = desk.workspace.mail
    _, cursor = mail.fetch_new("", folder="Archive")  # type: ignore[attr-defined]
    with dovecot.imap(ada) as client:  # recreating a folder gives it a new UIDVALIDITY
        client.delete_folder("Archive")
        client.create_folder("Archive")
        client.append("Archive", eml(message_id="<a1@acme.test>"))
        client.append("Archive", no_id)
        client.append("Archive", eml(message_id="<a2@acme.test>"))

    with pytest.raises(SyncReset):
        mail.fetch_new(cursor, folder="Archive", on_reset="raise")  # type: ignore[attr-defined]
    refs, start = mail.list_ids("Archive")  # type: ignore[attr-defined]

    assert [r.message_id for r in refs] == ["<a1@acme.test>", "", "<a2@acme.test>"]
    assert start.split(":")[1] == refs[-1].uid.split(":")[1]
    [raw] = mail.fetch_raw([refs[1].uid], "Archive")  # type: ignore[attr-defined]
    assert raw.raw.replace(b"\r\n", b"\n") == no_id.replace(b"\r\n", b"\n")
    assert mail.fetch_new(start, folder="Archive", on_reset="raise") == ([], start)  # type: ignore[attr-defined]


# ------------------------------------------------------------------ Gmail


def gmail_account(standin: GoogleStandIn, tmp_path: Path) -> dict[str, Any]:
    access, refresh = standin.issue_tokens()
    creds = Credentials(
        token=access,
        refresh_token=refresh,
        token_uri=standin.token_uri,
        client_id=standin.client_id,
        client_secret=standin.client_secret,
        scopes=SCOPES,
        expiry=datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1),
    )
    token_file = tmp_path / "google.json"
    token_file.write_text(creds.to_json(), encoding="utf-8")
    return {
        "provider": "gmail",
        "token_file": str(token_file),
        "api_endpoint": standin.url,
        "token_uri": standin.token_uri,
    }


def test_after_gmail_history_expired_only_the_new_message_is_handled(
    tmp_path: Path, open_desk: Callable[..., MailDesk]
) -> None:
    with GoogleStandIn("ada@example.com") as standin:
        for n in range(3):
            standin.deliver(eml(message_id=f"<old{n}@acme.test>"))
        desk = open_desk(gmail_account(standin, tmp_path))
        first_start(desk, 3)
        assert {fmt for _, fmt in standin.reads} == {"metadata"}  # no body was read
        standin.deliver(eml(message_id="<before@acme.test>"))
        assert handled(desk.run_round()) == ["<before@acme.test>"]

        standin.expire_history()  # the desk's history id now answers 404
        new_id = standin.deliver(eml(message_id="<after@acme.test>"))
        standin.reads.clear()

        assert handled(desk.run_round()) == ["<after@acme.test>"]
        assert [gid for gid, fmt in standin.reads if fmt == "raw"] == [new_id]
        standin.deliver(eml(message_id="<later@acme.test>"))
        assert handled(desk.run_round()) == ["<later@acme.test>"]


# ------------------------------------------------------------------ Graph


def test_after_a_graph_delta_link_expired_only_the_new_message_is_handled(
    tmp_path: Path, open_desk: Callable[..., MailDesk]
) -> None:
    standin = GraphStandIn(tmp_path).start()
    try:
        account = {
            "provider": "microsoft",
            "client_id": standin.client_id,
            "authority": standin.authority,
            "graph_url": standin.graph_url,
            "ca_file": str(standin.ca_file),
            "client_secret": standin.client_secret,
            "user": "ada@example.com",
        }
        for n in range(3):
            standin.deliver("ada@example.com", eml(message_id=f"<old{n}@acme.test>"))
        desk = open_desk(account)
        first_start(desk, 3)
        standin.deliver("ada@example.com", eml(message_id="<before@acme.test>"))
        assert handled(desk.run_round()) == ["<before@acme.test>"]

        standin.expire_delta_tokens()  # the stored delta link now answers 410
        new = standin.deliver("ada@example.com", eml(message_id="<after@acme.test>"))
        mark = len(standin.seen)

        assert handled(desk.run_round()) == ["<after@acme.test>"]
        bodies = [s.path for s in standin.seen[mark:] if s.path.endswith("/$value")]
        assert len(bodies) == 1 and new.id in bodies[0]
        standin.deliver("ada@example.com", eml(message_id="<later@acme.test>"))
        assert handled(desk.run_round()) == ["<later@acme.test>"]
    finally:
        standin.close()


# ------------------------------------------------------------------ local


def test_local_first_start_leaves_files_in_the_rescan_window_alone(
    open_desk: Callable[..., MailDesk],
) -> None:
    desk = open_desk({})
    box = desk.workspace.mail
    for n in range(3):
        box.import_eml(eml(message_id=f"<old{n}@acme.test>"))  # type: ignore[attr-defined]

    first_start(desk, 3)
    # Same second as the cursor: fetch_new hands these files back again.
    again, _ = box.fetch_new(desk.state.cursor("inbox") or "")  # type: ignore[attr-defined]
    assert len(again) == 3
    assert handled(desk.run_round()) == []
    assert desk.state.rows() == []  # history rows stay out of the status listing

    box.import_eml(eml(message_id="<new@acme.test>"))  # type: ignore[attr-defined]
    assert handled(desk.run_round()) == ["<new@acme.test>"]
    assert handled(desk.run_round()) == []


def test_local_first_start_records_mail_without_message_id_by_its_content(
    open_desk: Callable[..., MailDesk],
) -> None:
    desk = open_desk({})
    inbox = desk.workspace.root / "mail" / "inbox" / "new"
    (inbox / "bare.eml").write_bytes(b"From: dana@acme.test\nSubject: no id\n\nhello\n")

    first_start(desk, 1)
    [row] = desk.state.rows("history")
    assert row["message_id"].endswith("@local.invalid>")  # the content hash the desk keys by
    assert handled(desk.run_round()) == []
