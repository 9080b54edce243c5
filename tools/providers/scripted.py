"""Scripted chat models for tests and walkthroughs: in process, and as a loopback OpenAI server.

Two stand-ins for a real model, both fed from a queue of scripted replies, one
reply per model call:

- :class:`ScriptedChatModel` is a LangChain chat model living in the process
  (``SECRETARY_MODEL=scripted`` gives one). It records every call's messages
  in ``.calls`` and the tools last bound in ``.bound_tools``.
- :class:`ScriptedOpenAIServer` is an OpenAI-compatible HTTP server on
  127.0.0.1, so the real ``ChatOpenAI`` client, its retries and its error
  handling are exercised without leaving the machine.

Reply items (the same kinds for both, and for the script file below):

- ``"Hello"``: a text reply.
- ``{"tool_calls": [{"name": "send_email", "args": {"to": "a@b.c"}, "id": "call_x"}]}``:
  tool calls; ``args`` defaults to ``{}`` and ``id`` to ``call_1``, ``call_2``, ...
  in the order replies are given. An optional ``"content"`` adds text.
- An ``AIMessage`` (Python only), returned as is apart from missing tool-call ids.
- A callable (Python only): called with the request (the message list for the
  model, the JSON body for the server) and returning one of the other kinds.
- An exception instance (model only): raised, to simulate a failing model.
- Server only, a failure answered with that HTTP status and an OpenAI-shaped
  error body: ``{"status": 429, "retry_after": 0}``, ``{"status": 500}``,
  ``{"status": 401}``; optional ``"message"``, ``"code"`` (e.g.
  ``"insufficient_quota"``), ``"retry_after_ms"`` and ``"headers"``.
- Any dict item may carry ``"delay": seconds`` to answer late (server only).

When the queue is empty the model raises ``AssertionError`` and the server
answers HTTP 500 ``scripted server: no reply left``, so an unexpected model
call fails loudly.

For a walkthrough, run the server in the foreground::

    python -m tools.providers.scripted serve --port 8765 --script replies.json

where ``replies.json`` is a JSON list of the items above, for example::

    ["Let me check your calendar.",
     {"tool_calls": [{"name": "send_email",
                      "args": {"to": "ana@example.com", "subject": "Lunch"}}]},
     {"status": 429, "retry_after": 1},
     "Done: the e-mail is waiting for your approval."]

then point the secretary at the printed ``OPENAI_BASE_URL``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field, PrivateAttr

__all__ = ["RecordedRequest", "ScriptedChatModel", "ScriptedOpenAIServer", "main"]

EXHAUSTED = "ScriptedChatModel: no scripted reply left"
# How often the serving loop checks for shutdown; the default 0.5 s slows every test.
_POLL = 0.05
_TEXT_KEYS = {"content", "tool_calls", "delay"}
_FAILURE_KEYS = {"status", "message", "code", "retry_after", "retry_after_ms", "headers", "delay"}


@dataclass
class _ToolCall:
    name: str
    args: dict[str, Any]
    id: str | None = None


@dataclass
class _Reply:
    """One scripted reply, validated; ids are filled in only when it is used."""

    text: str = ""
    tool_calls: list[_ToolCall] = field(default_factory=list)
    status: int | None = None
    message: str | None = None
    code: str | None = None
    retry_after: float | None = None
    retry_after_ms: float | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def _parse_item(item: Any) -> _Reply:
    """Validate one non-callable reply item, raising ValueError with what is wrong."""
    if isinstance(item, str):
        return _Reply(text=item)
    if isinstance(item, AIMessage):
        calls = [_ToolCall(c["name"], dict(c["args"]), c.get("id")) for c in item.tool_calls]
        return _Reply(text=item.text, tool_calls=calls)
    if not isinstance(item, Mapping):
        raise ValueError(f"a scripted reply must be text, a dict or an AIMessage, not {item!r}")
    allowed = _FAILURE_KEYS if "status" in item else _TEXT_KEYS
    unknown = set(item) - allowed
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)} in scripted reply {dict(item)!r}")
    delay = float(item.get("delay", 0))
    if "status" in item:
        status = int(item["status"])
        if not 400 <= status <= 599:
            raise ValueError(f"a failure reply needs an HTTP error status, not {status}")
        ra, ra_ms = item.get("retry_after"), item.get("retry_after_ms")
        return _Reply(
            status=status,
            message=item.get("message"),
            code=item.get("code"),
            retry_after=None if ra is None else float(ra),
            retry_after_ms=None if ra_ms is None else float(ra_ms),
            headers={str(k): str(v) for k, v in dict(item.get("headers", {})).items()},
            delay=delay,
        )
    calls = []
    for spec in item.get("tool_calls", []):
        if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
            raise ValueError(f"a tool call needs a 'name', got {spec!r}")
        args = spec.get("args", {})
        if not isinstance(args, Mapping):
            raise ValueError(f"tool call '{spec['name']}' needs 'args' as a dict, got {args!r}")
        calls.append(_ToolCall(spec["name"], dict(args), spec.get("id")))
    content = item.get("content", "")
    if not isinstance(content, str):
        raise ValueError(f"'content' must be text, got {content!r}")
    return _Reply(text=content, tool_calls=calls, delay=delay)


class _Ids:
    """Deterministic ``call_1``, ``call_2``, ... shared by everything one double answers."""

    def __init__(self) -> None:
        self._count = itertools.count(1)
        self._lock = threading.Lock()

    def fill(self, calls: Iterable[_ToolCall]) -> None:
        with self._lock:
            for call in calls:
                if not call.id:
                    call.id = f"call_{next(self._count)}"


class ScriptedChatModel(BaseChatModel):
    """A chat model whose replies are enqueued by the test, one per call."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    calls: list[list[BaseMessage]] = Field(default_factory=list)
    """The input messages of every call, in order."""
    bound_tools: list[dict[str, Any]] | None = None
    """The tools of the last ``bind_tools``, in OpenAI function format."""
    bind_kwargs: dict[str, Any] = Field(default_factory=dict)
    """The keyword arguments of the last ``bind_tools`` (e.g. ``tool_choice``)."""

    _queue: deque[Any] = PrivateAttr(default_factory=deque)
    _ids: _Ids = PrivateAttr(default_factory=_Ids)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, replies: Iterable[Any] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.enqueue(*replies)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def remaining(self) -> int:
        """How many scripted replies are still queued."""
        return len(self._queue)

    @property
    def tool_names(self) -> list[str]:
        """Names of the tools last bound, for short assertions."""
        return [t["function"]["name"] for t in self.bound_tools or []]

    def enqueue(self, *items: Any) -> ScriptedChatModel:
        """Queue replies (validated now, so a typo fails where it is written)."""
        for item in items:
            if not callable(item) and not isinstance(item, BaseException):
                reply = _parse_item(item)
                if reply.status is not None:
                    raise ValueError(
                        "HTTP failure replies are for ScriptedOpenAIServer; "
                        "enqueue an exception instance to make ScriptedChatModel fail"
                    )
        with self._lock:
            self._queue.extend(items)
        return self

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: str | None = None, **kwargs: Any
    ) -> ScriptedChatModel:
        """Record the tools and return this same model, so queue and records are shared."""
        self.bound_tools = [convert_to_openai_tool(t) for t in tools]
        self.bind_kwargs = {"tool_choice": tool_choice, **kwargs} if tool_choice else kwargs
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with self._lock:
            self.calls.append(list(messages))
            if not self._queue:
                raise AssertionError(EXHAUSTED)
            item = self._queue.popleft()
        if callable(item) and not isinstance(item, BaseException):
            item = item(list(messages))
        if isinstance(item, BaseException):
            raise item
        return ChatResult(generations=[ChatGeneration(message=self._to_message(item))])

    def _to_message(self, item: Any) -> AIMessage:
        reply = _parse_item(item)
        if reply.status is not None:
            raise ValueError("HTTP failure replies are for ScriptedOpenAIServer")
        self._ids.fill(reply.tool_calls)
        calls = [
            {"name": c.name, "args": c.args, "id": c.id, "type": "tool_call"}
            for c in reply.tool_calls
        ]
        if isinstance(item, AIMessage):
            return item.model_copy(update={"tool_calls": calls})
        return AIMessage(
            content=reply.text, tool_calls=calls, response_metadata={"model_name": "scripted"}
        )


@dataclass
class RecordedRequest:
    """One request the scripted server received."""

    method: str
    path: str
    headers: dict[str, str]
    """Header names in lower case."""
    json: Any


_ERROR_KINDS = {
    400: ("invalid_request_error", None, "Scripted bad request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", "permission_denied", "You are not allowed to do this."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached (scripted)."),
}


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: ScriptedOpenAIServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (its own timeout) is expected, not a server fault.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silence the default access log; the owner logs a summary when verbose."""

    def _send_json(
        self, status: int, payload: Any, headers: Mapping[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, status: int, message: str) -> None:
        kind = "server_error" if status >= 500 else "invalid_request_error"
        error = {"message": message, "type": kind, "param": None, "code": None}
        self._send_json(status, {"error": error})

    def _record(self, body: Any) -> None:
        self.server.owner._record(
            RecordedRequest(
                self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
            )
        )

    def do_GET(self) -> None:  # noqa: N802
        """Serve ``/v1/models``."""
        self._record(None)
        owner = self.server.owner
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            card = {"id": owner.model, "object": "model", "created": 0, "owned_by": "scripted"}
            self._send_json(200, {"object": "list", "data": [card]})
        else:
            self._send_error(404, f"scripted server: nothing at GET {self.path}")

    def do_POST(self) -> None:  # noqa: N802
        """Serve ``/v1/chat/completions``, plain or streamed."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            self._record(raw.decode(errors="replace"))
            self._send_error(400, "scripted server: the request body is not JSON")
            return
        self._record(body)
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            self._send_error(404, f"scripted server: only /v1/chat/completions, not {self.path}")
            return
        owner = self.server.owner
        try:
            reply = owner._next_reply(body)
        except Exception as exc:  # a broken script must reach the test as a loud 500
            owner._log(f"POST {self.path} -> HTTP 500 ({exc})")
            self._send_error(500, f"scripted server: {exc}")
            return
        if reply.delay:
            time.sleep(reply.delay)
        if reply.status is not None:
            self._answer_failure(reply)
        elif body.get("stream"):
            self._answer_stream(reply, body)
        else:
            self._send_json(200, owner._completion(reply, body))

    def _answer_failure(self, reply: _Reply) -> None:
        assert reply.status is not None
        fallback = "server_error" if reply.status >= 500 else "invalid_request_error"
        kind, code, message = _ERROR_KINDS.get(
            reply.status, (fallback, None, f"Scripted error (HTTP {reply.status}).")
        )
        headers = dict(reply.headers)
        if reply.retry_after is not None:
            headers["Retry-After"] = _seconds(reply.retry_after)
        if reply.retry_after_ms is not None:
            headers["retry-after-ms"] = _seconds(reply.retry_after_ms)
        error = {
            "message": reply.message or message,
            "type": kind,
            "param": None,
            "code": reply.code or code,
        }
        self._send_json(reply.status, {"error": error}, headers)

    def _answer_stream(self, reply: _Reply, body: Mapping[str, Any]) -> None:
        owner = self.server.owner
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        for chunk in owner._chunks(reply, body):
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


class ScriptedOpenAIServer:
    """An OpenAI-compatible Chat Completions server on 127.0.0.1 answering scripted replies.

    Use it as a context manager (it serves from a background thread), or call
    :meth:`serve_forever` to serve in the foreground. Each chat request takes
    the next queued reply; once the queue is empty, ``responder`` (if given) is
    called with the request's JSON body and returns a reply item.
    """

    def __init__(
        self,
        replies: Iterable[Any] = (),
        *,
        responder: Callable[[Any], Any] | None = None,
        model: str = "scripted-openai",
        port: int = 0,
        verbose: bool = False,
    ) -> None:
        self.model = model
        self.responder = responder
        self.verbose = verbose
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Any] = deque()
        self._lock = threading.Lock()
        self._ids = _Ids()
        self._completions = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._httpd = _HTTPServer(("127.0.0.1", port), _Handler)
        self._httpd.owner = self
        self.enqueue(*replies)

    @property
    def port(self) -> int:
        """The TCP port actually bound."""
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """What to give ``OPENAI_BASE_URL``."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def remaining(self) -> int:
        """How many scripted replies are still queued."""
        return len(self._queue)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """Only the chat-completion requests, in order."""
        return [r for r in self.requests if r.path.rstrip("/").endswith("/chat/completions")]

    def enqueue(self, *items: Any) -> ScriptedOpenAIServer:
        """Queue replies (validated now, so a typo fails where it is written)."""
        for item in items:
            if not callable(item):
                _parse_item(item)
        with self._lock:
            self._queue.extend(items)
        return self

    def start(self) -> ScriptedOpenAIServer:
        """Serve from a background thread."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": _POLL},
                name="scripted-openai",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted."""
        try:
            self._httpd.serve_forever(poll_interval=_POLL)
        finally:
            self._httpd.server_close()

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> ScriptedOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _log(self, line: str) -> None:
        if self.verbose:
            print(line, file=sys.stderr, flush=True)

    def _next_reply(self, body: Any) -> _Reply:
        with self._lock:
            item = self._queue.popleft() if self._queue else None
        if item is None:
            if self.responder is None:
                raise LookupError("no reply left")
            item = self.responder(body)
        elif callable(item):
            item = item(body)
        reply = _parse_item(item)
        self._ids.fill(reply.tool_calls)
        if reply.status is not None:
            self._log(f"POST /v1/chat/completions -> HTTP {reply.status}")
        elif reply.tool_calls:
            names = ", ".join(c.name for c in reply.tool_calls)
            self._log(f"POST /v1/chat/completions -> tool calls: {names}")
        else:
            self._log(f"POST /v1/chat/completions -> text: {reply.text[:60]!r}")
        return reply

    def _usage(self, reply: _Reply, body: Mapping[str, Any]) -> dict[str, int]:
        prompt = _tokens(json.dumps(body.get("messages", [])))
        answer = reply.text + "".join(json.dumps(c.args) for c in reply.tool_calls)
        completion = _tokens(answer)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    def _envelope(self, body: Mapping[str, Any], kind: str) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-scripted-{next(self._completions)}",
            "object": kind,
            "created": int(time.time()),
            "model": body.get("model") or self.model,
            "system_fingerprint": None,
        }

    def _completion(self, reply: _Reply, body: Mapping[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": json.dumps(c.args)},
                }
                for c in reply.tool_calls
            ]
        elif message["content"] is None:
            message["content"] = ""
        finish = "tool_calls" if reply.tool_calls else "stop"
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
        return {
            **self._envelope(body, "chat.completion"),
            "choices": [choice],
            "usage": self._usage(reply, body),
        }

    def _chunks(self, reply: _Reply, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        head = self._envelope(body, "chat.completion.chunk")

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return {**head, "choices": [choice]}

        chunks = [chunk({"role": "assistant", "content": ""})]
        chunks += [chunk({"content": piece}) for piece in re.findall(r"\s*\S+", reply.text)]
        for index, c in enumerate(reply.tool_calls):
            name = {"name": c.name, "arguments": ""}
            start = {"index": index, "id": c.id, "type": "function", "function": name}
            chunks.append(chunk({"tool_calls": [start]}))
            args = {"index": index, "function": {"arguments": json.dumps(c.args)}}
            chunks.append(chunk({"tool_calls": [args]}))
        chunks.append(chunk({}, "tool_calls" if reply.tool_calls else "stop"))
        options = body.get("stream_options") or {}
        if options.get("include_usage"):
            chunks.append({**head, "choices": [], "usage": self._usage(reply, body)})
        return chunks


def load_script(path: Path) -> list[Any]:
    """Read and validate a script file: a JSON list of reply items.

    Raises:
        ValueError: The file is not a JSON list of valid reply items.
    """
    try:
        items = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the script {path}: {exc}") from exc
    if not isinstance(items, list):
        raise ValueError(f"the script {path} must hold a JSON list of replies")
    for number, item in enumerate(items, 1):
        try:
            _parse_item(item)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"reply {number} in {path}: {exc}") from exc
    return items


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m tools.providers.scripted serve --port 8766 --script FILE``."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.providers.scripted",
        description="Scripted OpenAI-compatible model server.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="Serve scripted replies on 127.0.0.1.")
    serve.add_argument("-p", "--port", type=int, default=8765, help="TCP port (0 = any free).")
    serve.add_argument(
        "-s", "--script", type=Path, help="JSON list of replies, one used per request."
    )
    serve.add_argument("-m", "--model", default="scripted-openai", help="Model name to list.")
    args = parser.parse_args(argv)
    if args.model == "scripted":
        # That name makes the secretary use the in-process model, never this server.
        print(
            "Error: choose another --model; 'scripted' means the in-process model.", file=sys.stderr
        )
        return 2

    try:
        items = load_script(args.script) if args.script else []
        server = ScriptedOpenAIServer(items, model=args.model, port=args.port, verbose=True)
    except ValueError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(
            f"Error: cannot listen on port {args.port} ({exc.strerror}); try --port.",
            file=sys.stderr,
        )
        return 1

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    print(f"Scripted model server on {server.base_url} with {len(items)} replies.", file=sys.stderr)
    print(
        f"Use it with: SECRETARY_MODEL={args.model} OPENAI_BASE_URL={server.base_url}",
        file=sys.stderr,
    )
    print("Press Ctrl-C to stop.", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print(f"Stopped; {server.remaining} scripted replies unused.", file=sys.stderr)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


if __name__ == "__main__":
    sys.exit(main())
