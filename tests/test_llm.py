"""The chat-model factory, its plain-sentence errors, and the scripted doubles."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage, HumanMessage

from tools.foundation.settings import Settings
from tools.providers.llm import (
    NO_MODEL_HINT,
    ModelNotConfigured,
    describe_model_error,
    is_model_error,
    make_chat_model,
)
from tools.providers.scripted import ScriptedChatModel, ScriptedOpenAIServer, main

SECRET = "sk-test-1234567890-very-secret"

SEND_EMAIL_TOOL = {
    "type": "function",
    "function": {
        "name": "send_email",
        "description": "Send an e-mail.",
        "parameters": {
            "type": "object",
            "properties": {"to": {"type": "string"}, "subject": {"type": "string"}},
            "required": ["to", "subject"],
        },
    },
}


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Never read the user's config or keys, whatever the shell exports."""
    monkeypatch.setenv("SECRETARY_HOME", str(tmp_path))
    monkeypatch.setenv("SECRETARY_CONFIG", str(tmp_path / "absent.toml"))
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE", "SECRETARY_MODEL"):
        monkeypatch.delenv(name, raising=False)


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "model": "gpt-test",
        "openai_api_key": SECRET,
        "model_timeout": 5.0,
        "model_max_retries": 0,
        "home": tmp_path,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def server():
    with ScriptedOpenAIServer() as srv:
        yield srv


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------ factory


def test_no_model_raises_not_configured_with_hint(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, model="")
    with pytest.raises(ModelNotConfigured) as err:
        make_chat_model(settings)
    assert str(err.value) == NO_MODEL_HINT
    assert "SECRETARY_MODEL" in NO_MODEL_HINT and "OPENAI_BASE_URL" in NO_MODEL_HINT


def test_hosted_model_without_key_raises_not_configured(tmp_path: Path) -> None:
    with pytest.raises(ModelNotConfigured, match="OPENAI_API_KEY"):
        make_chat_model(make_settings(tmp_path, openai_api_key=None))


def test_local_server_needs_no_key(tmp_path: Path, server: ScriptedOpenAIServer) -> None:
    server.enqueue("hi")
    settings = make_settings(tmp_path, openai_api_key=None, openai_base_url=server.base_url)
    assert make_chat_model(settings).invoke("hello").content == "hi"
    assert server.chat_requests[0].headers["authorization"] == "Bearer not-needed"


def test_factory_passes_timeout_retries_and_temperature(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, openai_base_url="http://127.0.0.1:9/v1", model_max_retries=2, temperature=0.2
    )
    model: Any = make_chat_model(settings)
    assert model.model_name == "gpt-test"
    assert model.request_timeout == 5.0 and model.max_retries == 2
    assert model.temperature == 0.2 and model.use_responses_api is False


def test_scripted_model_name_gives_scripted_chat_model(tmp_path: Path) -> None:
    assert isinstance(make_chat_model(make_settings(tmp_path, model="scripted")), ScriptedChatModel)


def test_importing_llm_does_not_import_the_sdk() -> None:
    code = (
        "import sys, tools.providers.llm; "
        "print('langchain_openai' in sys.modules, 'openai' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# --------------------------------------------------- ChatOpenAI on loopback


def test_text_reply_comes_back_over_chat_completions(
    tmp_path: Path, server: ScriptedOpenAIServer
) -> None:
    server.enqueue("Your Tuesday is free.")
    model = make_chat_model(make_settings(tmp_path, openai_base_url=server.base_url))
    reply = model.invoke([HumanMessage(content="Am I free on Tuesday?")])
    assert reply.content == "Your Tuesday is free."
    (request,) = server.requests
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.json["model"] == "gpt-test"
    assert request.json["messages"][-1] == {"role": "user", "content": "Am I free on Tuesday?"}
    assert reply.usage_metadata and reply.usage_metadata["total_tokens"] > 0


def test_tool_call_round_trip(tmp_path: Path, server: ScriptedOpenAIServer) -> None:
    args = {"to": "ana@example.com", "subject": "Lunch on Friday"}
    server.enqueue({"tool_calls": [{"name": "send_email", "args": args}]})
    model = make_chat_model(make_settings(tmp_path, openai_base_url=server.base_url))
    reply = model.bind_tools([SEND_EMAIL_TOOL]).invoke("Ask Ana to lunch on Friday.")
    assert isinstance(reply, AIMessage)
    assert reply.tool_calls == [
        {"name": "send_email", "args": args, "id": "call_1", "type": "tool_call"}
    ]
    body = server.chat_requests[0].json
    assert [t["function"]["name"] for t in body["tools"]] == ["send_email"]
    assert reply.response_metadata["finish_reason"] == "tool_calls"


def test_streamed_tool_call_is_assembled(tmp_path: Path, server: ScriptedOpenAIServer) -> None:
    args = {"to": "ana@example.com", "subject": "Lunch"}
    server.enqueue(
        {"content": "Drafting it.", "tool_calls": [{"name": "send_email", "args": args}]}
    )
    model = make_chat_model(make_settings(tmp_path, openai_base_url=server.base_url))
    chunks = list(model.bind_tools([SEND_EMAIL_TOOL]).stream("Ask Ana to lunch."))
    whole: Any = chunks[0]
    for chunk in chunks[1:]:
        whole = whole + chunk
    assert len(chunks) > 3
    assert whole.content == "Drafting it."
    assert whole.tool_calls == [
        {"name": "send_email", "args": args, "id": "call_1", "type": "tool_call"}
    ]
    assert server.chat_requests[0].json["stream"] is True


def test_rate_limit_is_retried_then_succeeds(tmp_path: Path, server: ScriptedOpenAIServer) -> None:
    server.enqueue({"status": 429, "retry_after": 0}, "After the wait.")
    settings = make_settings(tmp_path, openai_base_url=server.base_url, model_max_retries=2)
    started = time.monotonic()
    assert make_chat_model(settings).invoke("hello").content == "After the wait."
    # Retry-After: 0 is not taken literally: the SDK falls back to ~0.5 s backoff.
    assert time.monotonic() - started < 3
    first, second = server.chat_requests
    assert first.headers["x-stainless-retry-count"] == "0"
    assert second.headers["x-stainless-retry-count"] == "1"


def test_rate_limit_after_retries_says_try_later(
    tmp_path: Path, server: ScriptedOpenAIServer
) -> None:
    server.enqueue({"status": 429, "retry_after_ms": 1}, {"status": 429, "retry_after_ms": 1})
    settings = make_settings(tmp_path, openai_base_url=server.base_url, model_max_retries=1)
    with pytest.raises(Exception) as err:
        make_chat_model(settings).invoke("hello")
    assert is_model_error(err.value)
    sentence = describe_model_error(err.value, settings)
    assert "rate limited" in sentence and "after 1 retry" in sentence
    assert len(server.chat_requests) == 2


def test_bad_key_sentence_never_shows_the_key(tmp_path: Path, server: ScriptedOpenAIServer) -> None:
    server.enqueue({"status": 401, "message": f"Incorrect API key provided: {SECRET}."})
    settings = make_settings(tmp_path, openai_base_url=server.base_url)
    with pytest.raises(Exception) as err:
        make_chat_model(settings).invoke("hello")
    sentence = describe_model_error(err.value, settings)
    assert "OPENAI_API_KEY" in sentence and "wrong or expired" in sentence
    assert SECRET not in sentence
    assert len(server.chat_requests) == 1  # 401 is never retried


@pytest.mark.parametrize(
    ("failure", "words"),
    [
        ({"status": 404}, "check SECRETARY_MODEL"),
        ({"status": 403}, "not allowed"),
        ({"status": 400, "message": "tools are not supported"}, "tools are not supported"),
        ({"status": 503}, "HTTP 503"),
        ({"status": 429, "code": "insufficient_quota"}, "no quota left"),
    ],
)
def test_http_failures_become_plain_sentences(
    tmp_path: Path, server: ScriptedOpenAIServer, failure: dict[str, Any], words: str
) -> None:
    server.enqueue(failure)
    settings = make_settings(tmp_path, openai_base_url=server.base_url)
    with pytest.raises(Exception) as err:
        make_chat_model(settings).invoke("hello")
    sentence = describe_model_error(err.value, settings)
    assert words in sentence and SECRET not in sentence


def test_unreachable_endpoint_says_cannot_reach(tmp_path: Path) -> None:
    base_url = f"http://127.0.0.1:{closed_port()}/v1"
    settings = make_settings(tmp_path, openai_base_url=base_url, model_timeout=1.0)
    with pytest.raises(Exception) as err:
        make_chat_model(settings).invoke("hello")
    assert is_model_error(err.value)
    assert describe_model_error(err.value, settings) == (
        f"Cannot reach the model endpoint at {base_url}; is the server running?"
    )


def test_slow_endpoint_says_raise_timeout(tmp_path: Path, server: ScriptedOpenAIServer) -> None:
    server.enqueue({"content": "too late", "delay": 1.0})
    settings = make_settings(tmp_path, openai_base_url=server.base_url, model_timeout=0.2)
    with pytest.raises(Exception) as err:
        make_chat_model(settings).invoke("hello")
    sentence = describe_model_error(err.value, settings)
    assert "within 0.2 s" in sentence and "SECRETARY_MODEL_TIMEOUT" in sentence


def test_unrelated_errors_are_not_model_errors() -> None:
    assert not is_model_error(KeyError("x"))
    assert is_model_error(ModelNotConfigured(NO_MODEL_HINT))


# ------------------------------------------------------ the scripted server


def test_server_without_replies_fails_loudly(server: ScriptedOpenAIServer) -> None:
    answer = httpx.post(f"{server.base_url}/chat/completions", json={"messages": []})
    assert answer.status_code == 500
    assert answer.json()["error"]["message"] == "scripted server: no reply left"


def test_server_lists_its_model_and_uses_the_responder() -> None:
    def responder(body: dict[str, Any]) -> str:
        return f"you said {body['messages'][-1]['content']}"

    with ScriptedOpenAIServer(responder=responder, model="demo") as srv, httpx.Client() as client:
        models = client.get(f"{srv.base_url}/models").json()
        assert [m["id"] for m in models["data"]] == ["demo"]
        body = {"model": "demo", "messages": [{"role": "user", "content": "hi"}]}
        answer = client.post(f"{srv.base_url}/chat/completions", json=body).json()
        assert answer["object"] == "chat.completion"
        assert answer["choices"][0]["message"]["content"] == "you said hi"
        assert answer["choices"][0]["finish_reason"] == "stop"


def test_server_cli_serves_a_script_file_until_sigterm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "replies.json"
    script.write_text(json.dumps(["From the file.", {"status": 429}]))
    port = closed_port()
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    answers: list[httpx.Response] = []

    def walk_through() -> None:
        # The port is listening before main() starts serving, so no wait is needed.
        try:
            with httpx.Client(trust_env=False) as client:
                answers.append(client.post(url, json={"messages": []}))
                answers.append(client.post(url, json={"messages": []}))
        finally:
            os.kill(os.getpid(), signal.SIGTERM)

    before = signal.getsignal(signal.SIGTERM)
    argv = ["serve", "--port", str(port), "--script", str(script)]
    walker = threading.Timer(0.1, walk_through)
    walker.start()
    assert main(argv) == 0
    walker.join()
    assert signal.getsignal(signal.SIGTERM) == before
    assert answers[0].json()["choices"][0]["message"]["content"] == "From the file."
    assert answers[1].status_code == 429
    err = capsys.readouterr().err
    assert f"OPENAI_BASE_URL=http://127.0.0.1:{port}/v1" in err and "Stopped" in err


def test_server_cli_rejects_a_bad_script(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "replies.json"
    script.write_text(json.dumps(["fine", {"tool_calls": [{"args": {}}]}]))
    assert main(["serve", "--port", "0", "--script", str(script)]) == 2
    assert "reply 2" in capsys.readouterr().err


# ------------------------------------------------------- the scripted model


def test_scripted_model_replies_in_order_and_records_calls() -> None:
    model = ScriptedChatModel(
        [
            "first",
            {"tool_calls": [{"name": "send_email", "args": {"to": "ana@example.com"}}]},
            lambda messages: f"saw {len(messages)} messages",
            AIMessage(content="", tool_calls=[{"name": "noop", "args": {}, "id": None}]),
        ]
    )
    bound = model.bind_tools([SEND_EMAIL_TOOL], tool_choice="auto")
    assert bound is model and model.tool_names == ["send_email"]
    assert model.bind_kwargs == {"tool_choice": "auto"}
    assert model.invoke("one").content == "first"
    call = model.invoke("two")
    assert isinstance(call, AIMessage)
    assert call.tool_calls == [
        {
            "name": "send_email",
            "args": {"to": "ana@example.com"},
            "id": "call_1",
            "type": "tool_call",
        }
    ]
    assert model.invoke([HumanMessage(content="a"), HumanMessage(content="b")]).content == (
        "saw 2 messages"
    )
    last = model.invoke("four")
    assert isinstance(last, AIMessage) and last.tool_calls[0]["id"] == "call_2"
    assert [m[-1].content for m in model.calls] == ["one", "two", "b", "four"]
    assert model.remaining == 0


def test_scripted_model_raises_when_exhausted() -> None:
    model = ScriptedChatModel().enqueue("only")
    model.invoke("hi")
    with pytest.raises(AssertionError, match="no scripted reply left"):
        model.invoke("again")


async def _ainvoke(model: ScriptedChatModel, text: str) -> Any:
    return await model.ainvoke(text)


def test_scripted_model_works_async_and_can_fail_on_purpose() -> None:
    import asyncio

    model = ScriptedChatModel(["async hello", ConnectionError("boom")])
    assert asyncio.run(_ainvoke(model, "hi")).content == "async hello"
    with pytest.raises(ConnectionError):
        model.invoke("hi")


def test_scripted_items_are_validated_when_enqueued() -> None:
    with pytest.raises(ValueError, match="unknown keys"):
        ScriptedChatModel().enqueue({"tool_call": []})
    with pytest.raises(ValueError, match="ScriptedOpenAIServer"):
        ScriptedChatModel().enqueue({"status": 429})
