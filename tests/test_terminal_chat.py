"""The terminal chat's slash commands that need no model: ``/new`` starts a fresh thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tools.providers.scripted import ScriptedChatModel


def test_new_starts_a_fresh_thread_the_model_sees_without_the_earlier_turns(
    make_secretary: Callable[..., Any], capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.channels.terminal import Chat

    model = ScriptedChatModel(["Noted the budget.", "Hello again."])
    sec = make_secretary(model)
    threads: list[str] = []
    ask = sec.ask

    def recording(text: str, **kwargs: Any) -> Any:
        threads.append(kwargs["thread"])
        return ask(text, **kwargs)

    monkeypatch.setattr(sec, "ask", recording)
    lines = iter(["the budget meeting moved to Friday", "/new", "hello", "/thread"])
    Chat(sec, sec.principal("ada"), "t1", lambda _prompt: next(lines, None), False).run()
    err = " ".join(capsys.readouterr().err.split())

    first, second = threads
    assert first == "t1" and second != "t1"
    assert f"New thread {second}" in err and f"Thread {second}" in err
    # The new thread starts empty: the second turn carries nothing of the first.
    assert "budget" in str(model.calls[0]) and "budget" not in str(model.calls[1])
