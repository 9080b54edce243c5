"""The front desk: phone messages, visitors and staff tasks, from tools, gate and CLI."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from conftest import NOW
from toolkit import preview, run

from agent.approval import Decision
from tools.base import ToolError
from tools.context import ToolContext
from tools.foundation.principals import Identity, Principal
from tools.providers.local.desk import LocalDesk, PhoneMessage, Task, Visit
from tools.providers.scripted import ScriptedChatModel

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def ctx(tmp_path: Path, duty_context: Any) -> ToolContext:
    p = Principal(
        id="ada",
        name="Ada Lovelace",
        email="ada@example.com",
        timezone="Europe/Berlin",
        organisation="Analytical Engines Ltd",
        identities=[Identity(channel="email", address="sam@example.com", role="staff")],
    )
    c: ToolContext = duty_context(p, desk=LocalDesk(tmp_path))
    return c


def sent(ctx: ToolContext) -> list[Any]:
    return ctx.mail.search(folder="sent", limit=50)


# ------------------------------------------------------------ phone messages


def test_take_message_reads_the_callback_window_and_lands_once_per_key(ctx: ToolContext) -> None:
    args = {
        "caller": "Dana Smith",
        "number": "+1 555 0100",
        "company": "Acme",
        "reason": "Budget for Q1",
        "callback": "tomorrow 2-4pm",
    }
    card = preview(ctx, "take_message", **args)
    assert card.summary == "Take a phone message from Dana Smith (Acme)"
    assert "Tuesday 24 November 2026" in card.details["Read as"]
    first = run(ctx, "take_message", "key-1", **args)
    again = run(ctx, "take_message", "key-1", **args)
    assert first == again
    assert first["callback_start"] == "2026-11-24T14:00:00+01:00"
    assert first["callback_end"] == "2026-11-24T16:00:00+01:00"
    assert first["status"] == "new"
    assert [m["caller"] for m in run(ctx, "list_messages")] == ["Dana Smith"]


def test_take_message_keeps_unreadable_callback_words_and_needs_a_caller(
    ctx: ToolContext,
) -> None:
    taken = run(ctx, "take_message", "k", caller="Sam", callback="whenever suits")
    assert taken["callback"] == "whenever suits" and taken["callback_start"] is None
    with pytest.raises(ToolError, match="caller is empty"):
        preview(ctx, "take_message", caller="  ", reason="?")
    with pytest.raises(ToolError, match="caller"):
        run(ctx, "take_message", "k2", reason="no caller given")


def test_message_becomes_a_callback_slot_in_the_callers_window(ctx: ToolContext) -> None:
    msg = run(ctx, "take_message", "k", caller="Dana Smith", number="+1 555 0100",
              company="Acme", reason="Budget", callback="tomorrow 2-4pm")  # fmt: skip
    # The first half hour of the window is taken already.
    from tools.providers.base import NewEvent

    ctx.calendar.create_event(
        NewEvent(
            title="Board call",
            start=datetime(2026, 11, 24, 14, 0, tzinfo=BERLIN),
            end=datetime(2026, 11, 24, 14, 30, tzinfo=BERLIN),
            timezone="Europe/Berlin",
        ),
        "seed",
    )
    card = preview(ctx, "schedule_callback", message_id=msg["id"])
    assert card.summary == "Block Tue 24 Nov 2026 14:30 CET-14:45 to call back Dana Smith"
    assert "caller's window" in card.details["Chosen"]
    assert card.warnings == []
    done = run(ctx, "schedule_callback", "cb-1", message_id=msg["id"])
    again = run(ctx, "schedule_callback", "cb-1", message_id=msg["id"])
    assert done["event_id"] == again["event_id"]
    [event] = [e for e in ctx.calendar.list_events(
        datetime(2026, 11, 24, tzinfo=BERLIN), datetime(2026, 11, 25, tzinfo=BERLIN)
    ) if e.title.startswith("Call back")]  # fmt: skip
    assert event.title == "Call back Dana Smith +1 555 0100"
    assert event.start == datetime(2026, 11, 24, 14, 30, tzinfo=BERLIN)
    assert "About: Budget" in event.description
    assert run(ctx, "list_messages") == []


def test_callback_needs_a_window_or_a_time_and_refuses_the_past(ctx: ToolContext) -> None:
    vague = run(ctx, "take_message", "k1", caller="Sam", callback="whenever suits")
    with pytest.raises(ToolError, match="no callback window I could read"):
        preview(ctx, "schedule_callback", message_id=vague["id"])
    card = preview(ctx, "schedule_callback", message_id=vague["id"], start="tomorrow at 11:00")
    assert card.summary.startswith("Block Tue 24 Nov 2026 11:00 CET")
    with pytest.raises(ToolError, match="in the past"):
        preview(ctx, "schedule_callback", message_id=vague["id"], start="2026-11-20T10:00")
    with pytest.raises(ToolError, match="No phone message with id 'nope'"):
        preview(ctx, "schedule_callback", message_id="nope")


def test_message_turned_into_a_task_is_marked_done(ctx: ToolContext) -> None:
    msg = run(ctx, "take_message", "k", caller="Dana", reason="Call back about budget")
    card = preview(ctx, "add_task", title="Call Dana back", message_id=msg["id"])
    assert "marked done" in card.details["From message"]
    run(ctx, "add_task", "t", title="Call Dana back", message_id=msg["id"])
    assert run(ctx, "list_messages") == []
    assert [m["status"] for m in run(ctx, "list_messages", status="all")] == ["done"]
    with pytest.raises(ToolError, match="No phone message with id 'nope'"):
        preview(ctx, "add_task", title="x", message_id="nope")


# ------------------------------------------------------------------ visitors

VISIT = {
    "name": "Dana Smith",
    "start": "tomorrow at 3pm",
    "email": "Dana Smith <dana@acme.com>",
    "company": "Acme",
    "instructions": "Reception on the 2nd floor; bring photo ID.",
}


def test_schedule_visit_preview_shows_the_event_and_the_mail(ctx: ToolContext) -> None:
    card = preview(ctx, "schedule_visit", **VISIT)
    assert card.summary == "Schedule a visit by Dana Smith on Tue 24 Nov 2026 15:00 CET"
    assert card.details["Calendar"] == "Create event 'Visit: Dana Smith (Acme)'"
    assert card.details["E-mail to"] == "Dana Smith <dana@acme.com>"
    assert card.details["Host"] == "Ada Lovelace"
    assert card.body is not None and "bring photo ID" in card.body
    assert card.warnings == []


def test_schedule_visit_books_the_calendar_mails_the_visitor_once_and_logs_it(
    ctx: ToolContext,
) -> None:
    first = run(ctx, "schedule_visit", "visit-key", **VISIT)
    again = run(ctx, "schedule_visit", "visit-key", **VISIT)
    assert first == again
    day = datetime(2026, 11, 24, tzinfo=BERLIN)
    [event] = ctx.calendar.list_events(day, day + timedelta(days=1))
    assert event.id == first["event_id"]
    assert event.start == datetime(2026, 11, 24, 15, 0, tzinfo=BERLIN)
    assert "Arrival instructions: Reception" in event.description
    [mail] = sent(ctx)
    assert "dana@acme.com" in str(mail.to)
    full = ctx.mail.get_message(mail.message_id)
    assert "Tue 24 Nov 2026 15:00 CET" in full.body and "bring photo ID" in full.body
    log = run(ctx, "visitor_log", day="tomorrow")
    assert [(v["name"], v["when"]) for v in log] == [("Dana Smith", "Tue 24 Nov 2026 15:00 CET")]
    assert run(ctx, "visitor_log") == []


def test_schedule_visit_without_email_warns_and_sends_nothing(ctx: ToolContext) -> None:
    args = {"name": "Courier", "start": "2026-11-24T10:00"}
    assert "No e-mail address" in preview(ctx, "schedule_visit", **args).warnings[0]
    run(ctx, "schedule_visit", "k", **args)
    assert sent(ctx) == []


def test_a_task_is_delegated_by_slack_dm_once_per_key(ctx: ToolContext) -> None:
    from slack_standin import TOKEN, running

    from tools.providers.slack_messages import SlackMessenger

    ctx.principal.identities.append(Identity(channel="slack", address="U0LIN", name="Lin"))
    with running() as slack:
        ctx.workspace.slack = SlackMessenger(TOKEN, slack.api_url)
        card = preview(ctx, "delegate_task", to="Lin", title="Book the boardroom",
                       due="Friday", via="slack")  # fmt: skip
        assert card.summary == "Delegate 'Book the boardroom' to Lin on Slack"
        assert card.details["Slack DM to"] == "Lin (U0LIN)" and card.warnings == []
        first = run(ctx, "delegate_task", "s1", to="Lin", title="Book the boardroom",
                    due="Friday", via="slack")  # fmt: skip
        again = run(ctx, "delegate_task", "s1", to="U0LIN", title="Book the boardroom",
                    due="Friday", via="slack")  # fmt: skip
        [posted] = slack.of("chat.postMessage")
        assert posted["channel"] == "D0LIN"
        assert "Book the boardroom" in posted["text"] and "Fri 27 Nov 2026" in posted["text"]
        assert first["id"] == again["id"] and first["owner"] == "Lin"
        assert first["delegated_via"].startswith("slack U0LIN ")
        with pytest.raises(ToolError, match="not a Slack identity"):
            preview(ctx, "delegate_task", to="Sam", title="x", via="slack")
    ctx.workspace.slack = None
    with pytest.raises(ToolError, match="Slack is not connected"):
        run(ctx, "delegate_task", "s2", to="Lin", title="Water plants", via="slack")


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ({"name": "", "start": "tomorrow at 3pm"}, "name is empty"),
        ({"name": "Dana", "start": "yesterday at 3pm"}, "in the past"),
        ({"name": "Dana", "start": "tomorrow afternoon"}, "is a span"),
        ({"name": "Dana", "start": "whenever"}, "start: "),
        ({"name": "Dana", "start": "tomorrow at 3pm", "email": "dana at acme"}, "email: "),
    ],
)
def test_schedule_visit_refuses_bad_input_with_a_sentence(
    ctx: ToolContext, args: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ToolError, match=problem):
        preview(ctx, "schedule_visit", **args)
    with pytest.raises(ToolError, match=problem):
        run(ctx, "schedule_visit", "k", **args)
    assert sent(ctx) == []


# --------------------------------------------------------------------- tasks


def test_add_delegate_complete_and_list_tasks(ctx: ToolContext) -> None:
    mine = run(ctx, "add_task", "a", title="Sign contracts", due="Friday")
    assert mine["owner"] == "principal" and mine["due"] == "2026-11-27"
    card = preview(ctx, "delegate_task", to="Sam <sam@example.com>", task_id=mine["id"])
    assert card.summary == "Delegate 'Sign contracts' to Sam <sam@example.com> by e-mail"
    assert card.warnings == []  # Sam is staff in the profile
    handed = run(ctx, "delegate_task", "d", to="Sam <sam@example.com>", task_id=mine["id"])
    again = run(ctx, "delegate_task", "d", to="Sam <sam@example.com>", task_id=mine["id"])
    assert handed == again and handed["id"] == mine["id"]
    assert handed["owner"] == "Sam <sam@example.com>"
    assert handed["delegated_via"].startswith("mail <")
    [mail] = sent(ctx)
    assert mail.subject == "Task: Sign contracts"
    assert "by Fri 27 Nov 2026" in ctx.mail.get_message(mail.message_id).body
    assert [t["id"] for t in run(ctx, "list_tasks", owner="sam@example.com")] == [mine["id"]]

    new = run(ctx, "delegate_task", "n", to="eve@outside.example", title="Order flowers")
    assert new["owner"] == "eve@outside.example" and len(sent(ctx)) == 2
    outsider = preview(ctx, "delegate_task", to="eve@outside.example", title="x")
    assert "not listed as staff" in outsider.warnings[0]

    done = run(ctx, "complete_task", "c", task_id=mine["id"], note="Signed and sent")
    assert done["status"] == "done" and "Signed and sent" in done["notes"]
    assert run(ctx, "complete_task", "c2", task_id=mine["id"])["done_at"] == done["done_at"]
    assert "Already done" in preview(ctx, "complete_task", task_id=mine["id"]).warnings[0]
    assert [t["title"] for t in run(ctx, "list_tasks")] == ["Order flowers"]
    assert len(run(ctx, "list_tasks", status="all")) == 2


def test_overdue_tasks_are_marked_and_listed(ctx: ToolContext) -> None:
    desk: LocalDesk = ctx.workspace.desk
    desk.add_task(Task(title="Late", due=date(2026, 11, 20), created_at=NOW))
    desk.add_task(Task(title="Soon", due=date(2026, 11, 25), created_at=NOW))
    desk.add_task(Task(title="Whenever", created_at=NOW))
    listed = run(ctx, "list_tasks")
    assert [(t["title"], t["overdue"]) for t in listed] == [
        ("Late", True),
        ("Soon", False),
        ("Whenever", False),
    ]
    assert [t["title"] for t in run(ctx, "list_tasks", overdue_only=True)] == ["Late"]


@pytest.mark.parametrize(
    ("tool", "args", "problem"),
    [
        ("add_task", {"title": " "}, "title is empty"),
        ("add_task", {"title": "x", "due": "last Friday"}, "in the past"),
        ("add_task", {"title": "x", "owner": "sam@"}, "owner: "),
        ("delegate_task", {"to": "Sam", "title": "x"}, "to: "),
        ("delegate_task", {"to": "sam@example.com"}, "Give the task's title"),
        ("delegate_task", {"to": "sam@example.com", "task_id": "task-0"}, "No task with id"),
        ("complete_task", {"task_id": "task-0"}, "No task with id 'task-0'"),
    ],
)
def test_task_tools_refuse_bad_input_with_a_sentence(
    ctx: ToolContext, tool: str, args: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ToolError, match=problem):
        preview(ctx, tool, **args)
    with pytest.raises(ToolError, match=problem):
        run(ctx, tool, "k", **args)
    assert sent(ctx) == []


def test_delegating_a_done_task_is_refused(ctx: ToolContext) -> None:
    task = run(ctx, "add_task", "a", title="Done already")
    run(ctx, "complete_task", "c", task_id=task["id"])
    with pytest.raises(ToolError, match="already done"):
        run(ctx, "delegate_task", "d", to="sam@example.com", task_id=task["id"])


# ---------------------------------------------------------------- the gate


def test_schedule_visit_waits_for_approval_and_lands_once_when_approved_twice(
    make_secretary: Any,
) -> None:
    call = {"tool_calls": [{"name": "schedule_visit", "args": VISIT}]}
    model = ScriptedChatModel([call, "Dana is expected tomorrow at 15:00."])
    sec = make_secretary(model)
    reply = sec.ask("Dana from Acme visits tomorrow at 3pm", principal="ada", thread="t1")
    [proposal] = reply.pending
    assert proposal.tool == "schedule_visit"
    ws = sec.workspace(sec.principal("ada"))
    day = datetime(2026, 11, 24, tzinfo=BERLIN)
    assert ws.calendar.list_events(day, day + timedelta(days=1)) == []
    assert ws.mail.search(folder="sent") == []

    done = sec.decide(proposal.id, Decision(kind="approve"))
    assert [p.status for p in done.executed] == ["executed"]
    again = make_secretary(model).decide(proposal.id, Decision(kind="approve"))
    assert "already executed" in (again.notice or "")
    assert len(ws.calendar.list_events(day, day + timedelta(days=1))) == 1
    assert len(ws.mail.search(folder="sent")) == 1
    assert len(ws.desk.visits(day, day + timedelta(days=1))) == 1


# ----------------------------------------------------------------------- CLI


def cli(*args: str) -> Any:
    from agent.cli import cli as main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cli_lists_messages_visitors_and_overdue_tasks(isolated_home: Path) -> None:
    r = cli("init", "--name", "Ada", "--email", "ada@example.com", "--timezone", "Europe/Berlin")
    assert r.exit_code == 0, r.output
    desk = LocalDesk(isolated_home / "principals" / "me")
    now = datetime.now(BERLIN)
    desk.add_message(PhoneMessage(caller="Dana Smith", reason="Budget", taken_at=now))
    soon = now.replace(minute=0, second=0, microsecond=0) + timedelta(minutes=1)
    desk.add_visit(Visit(name="Eve", host="Ada", start=soon, end=soon + timedelta(hours=1)))
    desk.add_task(Task(title="Late report", due=now.date() - timedelta(days=2), created_at=now))
    desk.add_task(Task(title="Future", due=now.date() + timedelta(days=2), created_at=now))
    desk.close()

    r = cli("messages", "--json")
    assert r.exit_code == 0, r.output
    assert [m["caller"] for m in json.loads(r.stdout)] == ["Dana Smith"]
    r = cli("messages")
    assert "Dana Smith" in r.stdout

    r = cli("visitors", "--json", "--date", soon.date().isoformat())
    assert [v["name"] for v in json.loads(r.stdout)] == ["Eve"]
    r = cli("visitors", "--date", soon.date().isoformat())
    assert "Eve" in r.stdout

    r = cli("tasks", "--overdue", "--json")
    assert [t["title"] for t in json.loads(r.stdout)] == ["Late report"]
    r = cli("tasks")
    assert "Late report" in r.stdout and "Future" in r.stdout and "OVERDUE" in r.stdout


def test_cli_visitors_explains_an_unreadable_date(isolated_home: Path) -> None:
    cli("init", "--name", "Ada", "--email", "ada@example.com", "--timezone", "Europe/Berlin")
    r = cli("visitors", "--date", "someday")
    assert r.exit_code != 0 and "day:" in r.output and "Traceback" not in r.output
