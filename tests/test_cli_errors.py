"""Every expected failure at the command line is one sentence with exit status 1 or 2.

One test per traceback found by probing the CLI (bytes that are not UTF-8 in an argument
or a chat line, a bad principal id, a missing output folder, a broken settings file), and
the smaller promises: a decision that lost a race says who won and exits non-zero, an
empty response is refused, a huge id is not echoed back, the size limit reads as in the
README, and text from mail cannot break the tables.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from agent.cli import cli
from tools.providers.scripted import ScriptedChatModel, ScriptedOpenAIServer

NOT_UTF8 = "caf\udce9 \udcff"
"""What Python makes of the bytes b'caf\\xe9 \\xff' in argv (surrogate escapes)."""
EMAIL = {"to": ["dana@acme.com"], "subject": "Running late", "body": "Ten minutes late."}


def run(*args: str, **kwargs: Any) -> Result:
    return CliRunner().invoke(cli, list(args), **kwargs)


def one_sentence(r: Result, status: int) -> str:
    assert r.exit_code == status, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output
    return r.output


@pytest.fixture
def principals(settings: Any) -> None:
    """The principals of the `settings` fixture written where the CLI reads them."""
    from tools.foundation.settings import save_principal

    for p in settings.principals:
        save_principal(p)


def proposal(make_secretary: Callable[..., Any], subject: str = "Running late") -> Any:
    sec = make_secretary(ScriptedChatModel([_send(subject)]))
    reply = sec.ask("E-mail dana@acme.com that I'm late", principal="ada")
    [p] = reply.pending
    return p


def _send(subject: str) -> dict[str, Any]:
    return {"tool_calls": [{"name": "send_email", "args": {**EMAIL, "subject": subject}}]}


# ------------------------------------------------------------------ the seven tracebacks


def test_recall_with_bytes_that_are_not_utf8_is_one_sentence() -> None:
    out = one_sentence(run("recall", NOT_UTF8), 2)
    assert "not UTF-8 text" in out and "'QUERY'" in out and "UTF-8 terminal" in out


def test_ask_with_bytes_that_are_not_utf8_is_refused_before_the_model_is_called() -> None:
    with ScriptedOpenAIServer(["never"]) as srv:
        env = {"SECRETARY_MODEL": "m", "OPENAI_BASE_URL": srv.base_url}
        out = one_sentence(run("ask", NOT_UTF8, env=env), 2)
        assert srv.chat_requests == []
    assert "not UTF-8 text" in out and "'TEXT'" in out


def test_edit_set_with_bytes_that_are_not_utf8_is_refused_and_changes_nothing(
    principals: None, make_secretary: Callable[..., Any]
) -> None:
    p = proposal(make_secretary)
    out = one_sentence(run("edit", p.id, "--set", f"subject={NOT_UTF8}"), 2)
    assert "not UTF-8 text" in out and "--set" in out
    [still] = make_secretary(None).pending("ada")
    assert still.id == p.id and still.args["subject"] == "Running late"


def test_a_chat_line_that_is_not_utf8_is_refused_and_the_session_goes_on() -> None:
    r = run("chat", input=b"hello caf\xe9 \xff\n/pending\n/quit\n")
    out = one_sentence(r, 0)
    assert "not UTF-8 text; nothing was sent" in out
    assert "Nothing is waiting for approval" in out  # the next line still ran


def test_a_chat_line_that_is_not_utf8_never_reaches_the_model(
    make_secretary: Callable[..., Any], capsys: Any
) -> None:
    from agent.channels.terminal import Chat

    model = ScriptedChatModel(["Noted."])
    sec = make_secretary(model)
    lines = iter([NOT_UTF8, "hello"])
    Chat(sec, sec.principal("ada"), "t1", lambda _prompt: next(lines, None), False).run()
    assert "nothing was sent" in capsys.readouterr().err
    [call] = model.calls
    assert "hello" in str(call[-1].content) and "\udce9" not in str(call)


def test_a_line_that_fails_inside_does_not_end_the_chat(
    make_secretary: Callable[..., Any], capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.channels.terminal import Chat

    sec = make_secretary(None)
    calls: list[str] = []

    def broken(text: str, **kwargs: Any) -> Any:
        calls.append(text)
        raise RuntimeError("something inside broke")

    monkeypatch.setattr(sec, "ask", broken)
    lines = iter(["first", "second", "/pending"])
    Chat(sec, sec.principal("ada"), "t1", lambda _prompt: next(lines, None), False).run()
    err = capsys.readouterr().err
    assert calls == ["first", "second"]
    assert err.count("That did not work (RuntimeError); the chat goes on") == 2
    assert "Nothing is waiting for approval" in err


def test_init_with_a_bad_id_is_one_sentence_not_a_pydantic_error() -> None:
    out = one_sentence(run("init", "--id", "Bad Id", "--name", "X"), 2)
    assert "Invalid value for '--id': principal id 'Bad Id' must be lowercase" in out
    assert "pydantic" not in out and "type=value_error" not in out


def test_export_calendar_into_a_missing_folder_is_one_sentence(tmp_path: Path) -> None:
    target = tmp_path / "nowhere" / "cal.ics"
    out = one_sentence(run("export-calendar", "-o", str(target)), 1)
    assert f"the folder {target.parent} does not exist; create it first" in out


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"principals = [\n", "is not valid TOML"),
        (b'[[principals]]\nid = "ada"\nname = "caf\xe9"\n', "is not UTF-8 text"),
    ],
)
@pytest.mark.parametrize("command", [["status"], ["pending"], ["init", "--name", "Ada"]])
def test_a_broken_settings_file_is_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes, says: str, command: list[str]
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_bytes(content)
    monkeypatch.setenv("SECRETARY_CONFIG", str(broken))
    out = one_sentence(run(*command), 1)
    assert f"The settings file {broken} {says}" in out and "SECRETARY_CONFIG" in out
    assert broken.read_bytes() == content  # nothing was overwritten


# ------------------------------------------------------------------ the smaller ones


def test_a_reject_that_lost_the_race_exits_nonzero_and_says_who_decided(
    principals: None, make_secretary: Callable[..., Any]
) -> None:
    from agent.approval import Decision
    from agent.runtime import Actor

    p = proposal(make_secretary)
    winner = make_secretary(ScriptedChatModel(["Sent."]))
    winner.decide(p.id, Decision(kind="approve"), actor=Actor(address="someone-else"))
    out = one_sentence(run("reject", p.id, "--reason", "no"), 1)
    said = f"Your reject was not applied: proposal {p.id} was already approved by"
    assert f"{said} terminal:someone-else at " in " ".join(out.split())
    assert make_secretary(None).ledger.get(p.id).status == "executed"


def test_an_edit_that_lost_the_race_exits_nonzero(
    principals: None, make_secretary: Callable[..., Any]
) -> None:
    from agent.approval import Decision

    p = proposal(make_secretary)
    make_secretary(None).decide(p.id, Decision(kind="reject", text="not now"))
    out = one_sentence(run("edit", p.id, "--set", "subject=Later"), 1)
    assert f"Your edit was not applied: proposal {p.id} was already rejected" in out


def test_a_second_approval_of_an_approved_action_still_exits_zero(
    principals: None, make_secretary: Callable[..., Any]
) -> None:
    from agent.approval import Decision

    p = proposal(make_secretary)
    make_secretary(ScriptedChatModel(["Sent."])).decide(p.id, Decision(kind="approve"))
    out = one_sentence(run("approve", p.id), 0)
    assert "already executed" in out and "not applied" not in out


def test_a_chat_decision_that_lost_says_so(
    principals: None, make_secretary: Callable[..., Any], capsys: Any
) -> None:
    from agent.approval import Decision
    from agent.channels.terminal import Chat

    p = proposal(make_secretary)
    make_secretary(ScriptedChatModel(["Sent."])).decide(p.id, Decision(kind="approve"))
    sec = make_secretary(None)
    lines = iter([f"/reject {p.id} too late"])
    Chat(sec, sec.principal("ada"), "t1", lambda _prompt: next(lines, None), False).run()
    assert "Your reject was not applied" in capsys.readouterr().err


def test_respond_with_an_empty_message_is_refused(
    principals: None, make_secretary: Callable[..., Any]
) -> None:
    p = proposal(make_secretary)
    for empty in ("", "   "):
        out = one_sentence(run("respond", p.id, "-m", empty), 2)
        assert "the message is empty" in out
    assert [q.id for q in make_secretary(None).pending("ada")] == [p.id]


def test_a_huge_id_is_not_echoed_back_in_full() -> None:
    huge = "a" * 100_000
    out = one_sentence(run("approve", huge), 1)
    assert len(out) < 500 and "No proposal 'aaaa" in out and "(100,000 characters)'." in out


def test_a_huge_id_in_the_chat_is_not_echoed_back_in_full(
    make_secretary: Callable[..., Any], capsys: Any
) -> None:
    from agent.channels.terminal import Chat

    sec = make_secretary(None)
    lines = iter(["/approve " + "b" * 100_000])
    Chat(sec, sec.principal("ada"), "t1", lambda _prompt: next(lines, None), False).run()
    err = capsys.readouterr().err
    assert len(err) < 2000 and "(100,000 characters)" in err


def test_the_size_limit_reads_as_in_the_readme(tmp_path: Path) -> None:
    from agent.ingest import MAX_BYTES, iter_source

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    stated = re.search(r"too large \(over (\d+) MB\)", readme)
    assert stated is not None
    big = tmp_path / "big.eml"
    with open(big, "wb") as fh:
        fh.truncate(MAX_BYTES + 1)  # sparse: nothing is written, nothing read
    [raw] = iter_source(big)
    assert raw.data is None and f"the limit is {stated.group(1)}.0 MB" in raw.problem


def test_brackets_in_mail_do_not_break_the_triage_table(tmp_path: Path) -> None:
    from mailfactory import eml

    run("init", "--id", "ada", "--name", "Ada", "--email", "ada@example.com")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.eml").write_bytes(eml(subject="Offer [/] [bold]now[/bold]"))
    out = one_sentence(run("triage", "--no-model", str(folder), env={"COLUMNS": "300"}), 0)
    assert "Offer [/] [bold]now[/bold]" in out


def test_brackets_in_mail_do_not_break_the_mail_listing(
    principals: None, make_secretary: Callable[..., Any]
) -> None:
    from mailfactory import eml

    sec = make_secretary(None)
    sec.workspace(sec.principal("ada")).mail.import_eml(eml(subject="[/] closing [bold]"))
    out = one_sentence(run("mail", "-p", "ada", env={"COLUMNS": "300"}), 0)
    assert "[/] closing [bold]" in out


def test_a_reply_with_markup_characters_is_printed_as_written() -> None:
    import io

    from rich.console import Console

    from agent.channels.render import show_reply
    from agent.runtime import Reply

    out, err = io.StringIO(), io.StringIO()
    reply = Reply(principal="ada", thread="t1", text="See [/] and [bold]x[/bold]")
    reply.notice = "Subject was '[red]alert[/]'"
    show_reply(Console(file=out, width=120), Console(file=err, width=120), reply)
    assert "See [/] and [bold]x[/bold]" in out.getvalue()
    assert "[red]alert[/]" in err.getvalue()
