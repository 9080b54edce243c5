"""The daily briefing: every section from the records, without a model, from tool, CLI and Slack."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from conftest import NOW
from mailfactory import eml
from toolkit import run

from tools.briefing import Briefing, build_briefing
from tools.context import ToolContext
from tools.providers.base import Contact, NewEvent, ProviderError
from tools.providers.local.contacts import LocalContacts
from tools.providers.local.desk import LocalDesk, PhoneMessage, Task, Visit
from tools.providers.local.mail import LocalMail

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def ctx(duty_context: Any) -> ToolContext:
    c: ToolContext = duty_context(wired=True)  # the real wiring, every store included
    return c


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BERLIN)


def section(b: Briefing, key: str) -> list[str]:
    [found] = [s for s in b.sections if s.key == key]
    assert found.note == "", found.note
    return found.lines


def event(ctx: ToolContext, title: str, start: datetime, minutes: int, where: str = "") -> None:
    ctx.calendar.create_event(
        NewEvent(
            title=title,
            start=start,
            end=start + timedelta(minutes=minutes),
            timezone="Europe/Berlin",
            location=where,
        ),  # fmt: skip
        f"seed-{title}",
    )


def test_an_empty_day_has_every_section_and_says_nothing(ctx: ToolContext) -> None:
    b = build_briefing(ctx)
    assert [s.key for s in b.sections] == [
        "agenda", "visitors", "travel", "approvals", "mail", "followups", "invoices", "tasks",
        "phone", "press",
    ]  # fmt: skip
    assert all(s.lines == [] and s.note == "" for s in b.sections)
    text = b.text("Ada Lovelace")
    assert text.startswith("Briefing for Ada Lovelace, Mon 23 November 2026 (Europe/Berlin)")
    assert "Agenda\n  nothing" in text


def test_agenda_notes_a_tight_change_of_place(ctx: ToolContext) -> None:
    event(ctx, "Board meeting", at(23, 10), 60, "Head office, Unter den Linden 1")
    event(ctx, "Lunch with Dana", at(23, 11, 15), 60, "Restaurant Tim Raue")
    event(ctx, "Call with Lin", at(23, 14), 30)
    event(ctx, "Tomorrow's thing", at(24, 9), 30)
    lines = section(build_briefing(ctx), "agenda")
    assert lines[0] == "10:00-11:00  Board meeting @ Head office, Unter den Linden 1"
    assert lines[1].startswith("travel: 15 min from Head office")
    assert "less than 30 min" in lines[1]
    assert lines[2].startswith("11:15-12:15  Lunch with Dana")
    assert lines[3] == "14:00-14:30  Call with Lin"
    assert len(lines) == 4
    ctx.principal.preferences["travel_buffer_minutes"] = 10
    assert not any(x.startswith("travel:") for x in section(build_briefing(ctx), "agenda"))


def test_a_flight_shows_its_arrival_in_the_arrival_zone(ctx: ToolContext) -> None:
    ny = ZoneInfo("America/New_York")
    ctx.calendar.create_event(
        NewEvent(
            title="LH 400 FRA-JFK",
            start=at(23, 13),
            end=datetime(2026, 11, 23, 16, 0, tzinfo=ny),
            timezone="Europe/Berlin",
            end_timezone="America/New_York",
        ),  # fmt: skip
        "flight",
    )
    [line] = section(build_briefing(ctx), "agenda")
    assert line.startswith("13:00-22:00 (16:00 EST at arrival)  LH 400 FRA-JFK")


def test_desk_sections_visitors_tasks_and_phone_messages(ctx: ToolContext) -> None:
    desk: LocalDesk = ctx.workspace.desk
    desk.add_visit(Visit(name="Fox Mulder", company="FBI", host="Ada", start=at(23, 15),
                         end=at(23, 16)))  # fmt: skip
    desk.add_visit(Visit(name="Tomorrow Visitor", start=at(24, 15), end=at(24, 16)))
    desk.add_message(PhoneMessage(caller="Dana Smith", company="Acme", number="+1 555 0100",
                                  reason="Budget", callback="after 3pm", taken_at=NOW))  # fmt: skip
    desk.add_task(Task(title="Sign the lease", due=NOW.date() - timedelta(days=2), created_at=NOW))
    desk.add_task(Task(title="Book the boardroom", owner="Lin", due=NOW.date(), created_at=NOW))
    desk.add_task(Task(title="Later", due=NOW.date() + timedelta(days=3), created_at=NOW))
    desk.add_task(
        Task(
            title="Order flowers",
            owner="sam@example.com",
            due=NOW.date() - timedelta(days=1),
            delegated_via="mail <x@y>",
            created_at=NOW,
        )  # fmt: skip
    )
    b = build_briefing(ctx)
    assert section(b, "visitors") == ["15:00  Fox Mulder (FBI), host Ada"]
    [phone] = section(b, "phone")
    assert phone.startswith("Dana Smith (Acme) +1 555 0100: Budget; call back after 3pm [msg-")
    assert section(b, "tasks") == [
        "Sign the lease: OVERDUE since Sat 21 Nov",
        "Order flowers [sam@example.com]: OVERDUE since Sun 22 Nov",
        "Book the boardroom [Lin]: due today",
    ]
    assert section(b, "followups") == [
        "sam@example.com: 'Order flowers' was due Sun 22 Nov (delegated; ask how it stands)"
    ]


def test_mail_needing_an_answer_leaves_out_bulk_and_answered_mail(ctx: ToolContext) -> None:
    mail: LocalMail = ctx.workspace.mail  # type: ignore[assignment]
    contacts: LocalContacts = ctx.workspace.contacts  # type: ignore[assignment]
    contacts.upsert(Contact(name="Dana Smith", email="dana@acme.com", role="client"))

    def arrives(subject: str, body: str, mid: str, when: datetime, **kw: Any) -> None:
        sender = kw.pop("sender", "Dana Smith <dana@acme.com>")
        mail.import_eml(eml(sender=sender, to="ada@example.com", subject=subject, body=body,
                            message_id=mid, date=when, **kw))  # fmt: skip

    arrives("Budget", "Could you send me the Q1 figures?", "<q1@acme.com>", at(22, 10))
    arrives("URGENT: contract", "Please call me.", "<u1@acme.com>", at(23, 8))
    arrives("Lunch?", "Shall we have lunch on Friday?", "<l1@acme.com>", at(22, 9))
    bulk = {"List-Unsubscribe": "<mailto:u@shop.example>", "Precedence": "bulk"}
    arrives("Sale! Can you believe it?", "50% off. Unsubscribe here.", "<n1@shop.example>",
            at(22, 9), sender="Shop <news@shop.example>", headers=bulk)  # fmt: skip
    # The lunch question was answered already.
    run(ctx, "reply_to_message", "r1", message_id="<l1@acme.com>", body="Friday works.")
    lines = section(build_briefing(ctx), "mail")
    assert lines[0].startswith("URGENT Dana Smith <dana@acme.com>: URGENT: contract (today;")
    assert lines[1].startswith("Dana Smith <dana@acme.com>: Budget (1 day ago;")
    assert len(lines) == 2


def test_pending_approvals_come_from_the_ledger(make_secretary: Any) -> None:
    from tools.providers.scripted import ScriptedChatModel

    send = {"to": ["dana@acme.com"], "subject": "Budget", "body": "Hi"}
    sec = make_secretary(
        ScriptedChatModel([{"tool_calls": [{"name": "send_email", "args": send}]}])
    )
    [p] = sec.ask("send it", principal="ada", thread="t1").pending
    ada = sec.principal("ada")
    ctx = ToolContext(principal=ada, workspace=sec.workspace(ada), clock=lambda: NOW)
    lines = section(build_briefing(ctx), "approvals")
    assert lines == [f"{p.id}  {p.preview['summary']}"]


def test_a_failing_source_is_noted_and_the_rest_still_comes(ctx: ToolContext) -> None:
    def broken(*_a: Any, **_k: Any) -> Any:
        raise ProviderError("The mail server did not answer; try again later.")

    ctx.workspace.mail.search = broken  # type: ignore[method-assign]
    ctx.workspace.desk.add_message(PhoneMessage(caller="Sam", taken_at=NOW))
    b = build_briefing(ctx)
    [mail] = [s for s in b.sections if s.key == "mail"]
    assert mail.note == "could not be read: The mail server did not answer; try again later."
    assert len(section(b, "phone")) == 1
    assert "! could not be read" in b.text()


def test_brief_command_prints_without_a_model_and_summary_needs_one(isolated_home: Path) -> None:
    import json

    from agent.cli import cli

    runner = CliRunner()
    r = runner.invoke(
        cli,
        [
            "init",
            "--name",
            "Ada Lovelace",
            "--email",
            "ada@example.com",
            "--timezone",
            "Europe/Berlin",
        ],  # fmt: skip
    )
    assert r.exit_code == 0, r.output
    desk = LocalDesk(isolated_home / "principals" / "me")
    desk.add_message(
        PhoneMessage(caller="Dana Smith", reason="Budget", taken_at=datetime.now(BERLIN))
    )
    desk.close()
    out = runner.invoke(cli, ["brief"])
    assert out.exit_code == 0, out.output
    assert "Briefing for Ada Lovelace" in out.output
    assert "Phone messages (1)" in out.output and "Dana Smith: Budget" in out.output
    as_json = runner.invoke(cli, ["brief", "--json", "--date", "tomorrow"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output)
    assert data["day"] == (datetime.now(BERLIN).date() + timedelta(days=1)).isoformat()
    bad = runner.invoke(cli, ["brief", "--date", "the day after never"])
    assert bad.exit_code == 1 and "day:" in bad.output and "Traceback" not in bad.output
    no_model = runner.invoke(cli, ["brief", "--summary"])
    assert no_model.exit_code == 1 and "No model is configured" in no_model.output
