"""The terminal chat: approval cards and decisions typed at the prompt."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent.channels.terminal import Chat
from tools.providers.scripted import ScriptedChatModel


def reader(lines: list[str]) -> Callable[[str], str | None]:
    queue = list(lines)

    def read(prompt: str) -> str | None:
        return queue.pop(0) if queue else None

    return read


def proposal(subject: str) -> dict[str, Any]:
    args = {"to": ["dana@acme.com"], "subject": subject, "body": "Ten minutes late."}
    return {"tool_calls": [{"name": "send_email", "args": args}]}


def sent(sec: Any) -> list[Any]:
    return sec.workspace(sec.principal("ada")).mail.search(folder="sent")


def test_approving_at_the_prompt_sends_once(make_secretary: Any, capsys: Any) -> None:
    sec = make_secretary(ScriptedChatModel([proposal("Late"), "Sent it."]))
    chat = Chat(sec, sec.principal("ada"), "t1", reader(["E-mail dana@acme.com", "a"]), True)
    chat.run()
    out = capsys.readouterr()
    assert "Send e-mail to dana@acme.com" in out.err  # the card
    assert "your request" in out.err  # provenance of 'to'
    assert "Sent it." in out.out
    assert len(sent(sec)) == 1


def test_edit_at_the_prompt_changes_the_message(make_secretary: Any) -> None:
    sec = make_secretary(ScriptedChatModel([proposal("Late"), "Sent."]))
    lines = [
        "E-mail Dana",
        "e",
        "subject=Very late",
        "",
    ]
    Chat(sec, sec.principal("ada"), "t1", reader(lines), True).run()
    assert [m.subject for m in sent(sec)] == ["Very late"]


def test_reject_at_the_prompt_tells_the_model_why(make_secretary: Any) -> None:
    model = ScriptedChatModel([proposal("Late"), "OK, not sending."])
    sec = make_secretary(model)
    Chat(sec, sec.principal("ada"), "t1", reader(["E-mail Dana", "r", "she knows"]), True).run()
    assert sent(sec) == []
    assert any("she knows" in str(m.content) for m in model.calls[-1])


def test_later_leaves_it_pending_and_slash_approve_runs_it(make_secretary: Any) -> None:
    sec = make_secretary(ScriptedChatModel([proposal("Late"), "Sent."]))
    chat = Chat(sec, sec.principal("ada"), "t1", reader(["E-mail Dana", "l"]), True)
    chat.run()
    [p] = sec.pending("ada")
    assert sent(sec) == []
    Chat(sec, sec.principal("ada"), "t1", reader([f"/approve {p.id}"]), True).run()
    assert len(sent(sec)) == 1


def test_unknown_slash_command_is_a_sentence(make_secretary: Any, capsys: Any) -> None:
    sec = make_secretary(None)
    Chat(sec, sec.principal("ada"), "t1", reader(["/frobnicate", "/approve"]), True).run()
    err = capsys.readouterr().err
    assert "Unknown command /frobnicate" in err and "Usage: /approve" in err


def test_edit_of_an_unknown_id_is_a_sentence_not_a_crash(make_secretary: Any, capsys: Any) -> None:
    sec = make_secretary(None)
    Chat(sec, sec.principal("ada"), "t1", reader(["/edit abc subject=x", "/help"]), True).run()
    err = capsys.readouterr().err
    assert "No proposal 'abc'" in err and "/reject ID [reason]" in err
