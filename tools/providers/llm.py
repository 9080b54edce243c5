"""Chat-model factory (OpenAI or any OpenAI-compatible server) and plain-sentence model errors.

``make_chat_model(settings)`` builds the one chat model the planner talks to.
It speaks the Chat Completions API, which every OpenAI-compatible server
implements (Ollama, vLLM, llama.cpp server, LM Studio), rather than the newer
Responses API, which most of them do not. The model name ``scripted`` gives
the built-in :class:`tools.providers.scripted.ScriptedChatModel` instead, for tests and
walkthroughs.

``describe_model_error(exc, settings)`` turns whatever the model call raised
into one sentence a person can act on; it never repeats the API key.

Importing this module is cheap: ``langchain_openai`` (about two seconds) and
``openai`` are imported only when a model is built or an error is described.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from tools.foundation.settings import Settings

__all__ = [
    "DEFAULT_BASE_URL",
    "LOCAL_KEY_PLACEHOLDER",
    "NO_KEY_HINT",
    "NO_MODEL_HINT",
    "SCRIPTED_MODEL",
    "ModelError",
    "ModelNotConfigured",
    "describe_model_error",
    "is_model_error",
    "make_chat_model",
]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
SCRIPTED_MODEL = "scripted"
# Local servers ignore the key, but the OpenAI client refuses to start without one.
LOCAL_KEY_PLACEHOLDER = "not-needed"

NO_MODEL_HINT = (
    "Planning and answering need a chat model: set SECRETARY_MODEL and OPENAI_API_KEY, "
    "and also OPENAI_BASE_URL for a local server such as Ollama (http://localhost:11434/v1), "
    "vLLM, LM Studio or llama.cpp."
)
NO_KEY_HINT = (
    "SECRETARY_MODEL is set but there is no API key: set OPENAI_API_KEY, or set "
    "OPENAI_BASE_URL to a local OpenAI-compatible server that needs no key."
)


class ModelNotConfigured(Exception):
    """No chat model is attached; the message says how to attach one."""


class ModelError(Exception):
    """A model call failed; the message is one plain sentence saying what to do."""


def make_chat_model(settings: Settings) -> BaseChatModel:
    """Build the chat model the settings describe.

    Args:
        settings: Model name, key, base URL, timeout, retries and temperature.

    Returns:
        A ``ChatOpenAI`` on the Chat Completions API, or a ``ScriptedChatModel``
        when the model name is ``scripted``.

    Raises:
        ModelNotConfigured: No model name, or a hosted endpoint without a key.
    """
    if not settings.model:
        raise ModelNotConfigured(NO_MODEL_HINT)
    if settings.model == SCRIPTED_MODEL:
        from tools.providers.scripted import ScriptedChatModel

        return ScriptedChatModel()

    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
    if not key:
        if not settings.openai_base_url:
            raise ModelNotConfigured(NO_KEY_HINT)
        key = LOCAL_KEY_PLACEHOLDER

    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    # The base URL is always explicit so the endpoint is decided by Settings
    # alone, never by other environment variables ChatOpenAI would consult.
    options: dict[str, object] = {
        "model": settings.model,
        "api_key": SecretStr(key),
        "base_url": settings.openai_base_url or DEFAULT_BASE_URL,
        "timeout": settings.model_timeout,
        "max_retries": settings.model_max_retries,
        "use_responses_api": False,
    }
    if settings.temperature is not None:
        options["temperature"] = settings.temperature
    return ChatOpenAI(**options)


def _endpoint(settings: Settings) -> str:
    """The base URL to show a person, without any credentials in it."""
    url = settings.openai_base_url or DEFAULT_BASE_URL
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        url = urlunsplit(parts._replace(netloc=netloc))
    return url


def _redact(text: str, settings: Settings) -> str:
    """Remove the API key from text that came from elsewhere."""
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
    if key and key != LOCAL_KEY_PLACEHOLDER:
        text = text.replace(key, "***")
    return text


def _after_retries(settings: Settings) -> str:
    """Words saying how many retries already happened, empty when none did."""
    n = settings.model_max_retries
    if n <= 0:
        return ""
    return f" even after {n} {'retry' if n == 1 else 'retries'}"


def _server_detail(exc: BaseException, settings: Settings) -> str:
    """The server's own short explanation, if it gave one, redacted."""
    message = getattr(exc, "message", None)
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            message = inner["message"]
        elif isinstance(body.get("message"), str):
            message = body["message"]
    if not isinstance(message, str) or not message.strip():
        return ""
    message = " ".join(_redact(message, settings).split())
    if len(message) > 200:
        message = message[:197] + "..."
    return f' (the server said: "{message}")'


def _error_code(exc: BaseException) -> str:
    """The OpenAI error code (e.g. ``insufficient_quota``), if any."""
    code = getattr(exc, "code", None)
    if isinstance(code, str):
        return code
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("code"), str):
            return str(inner["code"])
    return ""


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes, outermost first."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not s for s in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _describe_openai(exc: BaseException, settings: Settings) -> str | None:
    """Sentence for an ``openai`` exception, or None when it is not one."""
    openai = sys.modules.get("openai")
    if openai is None:
        # If the SDK was never imported, nothing could have raised its errors.
        return None
    model = settings.model or "(none)"
    endpoint = _endpoint(settings)
    if isinstance(exc, openai.APITimeoutError):
        return (
            f"The model at {endpoint} gave no answer within {settings.model_timeout:g} s; "
            "try again, or raise SECRETARY_MODEL_TIMEOUT for a slow or busy server."
        )
    if isinstance(exc, openai.APIConnectionError):
        return f"Cannot reach the model endpoint at {endpoint}; is the server running?"
    if isinstance(exc, openai.AuthenticationError):
        return (
            f"The model endpoint at {endpoint} refused the API key as wrong or expired; "
            "set a valid OPENAI_API_KEY."
        )
    if isinstance(exc, openai.PermissionDeniedError):
        return (
            f"The API key is not allowed to use model '{model}' at {endpoint}"
            f"{_server_detail(exc, settings)}; check the key's project and permissions, "
            "or choose another SECRETARY_MODEL."
        )
    if isinstance(exc, openai.NotFoundError):
        return (
            f"The endpoint at {endpoint} does not know model '{model}'"
            f"{_server_detail(exc, settings)}; check SECRETARY_MODEL (and OPENAI_BASE_URL)."
        )
    if isinstance(exc, openai.RateLimitError):
        if _error_code(exc) == "insufficient_quota":
            return (
                f"The account behind the API key has no quota left at {endpoint}; "
                "check its plan and billing, or use another key."
            )
        return (
            f"The model endpoint at {endpoint} rate limited the request"
            f"{_after_retries(settings)}; try again in a minute."
        )
    if isinstance(exc, openai.BadRequestError | openai.UnprocessableEntityError):
        if "context" in str(exc).lower() and "length" in str(exc).lower():
            return (
                f"The conversation is too long for model '{model}'; "
                "start a new thread or use a model with a larger context window."
            )
        return (
            f"Model '{model}' rejected the request{_server_detail(exc, settings)}; "
            "it may not support tool calling, so choose a model that does."
        )
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status >= 500:
            return (
                f"The model server at {endpoint} failed with HTTP {status}"
                f"{_after_retries(settings)}; try again later, or check the server's log."
            )
        return (
            f"The model endpoint at {endpoint} answered HTTP {status}"
            f"{_server_detail(exc, settings)}; check SECRETARY_MODEL and OPENAI_BASE_URL."
        )
    if isinstance(exc, openai.APIResponseValidationError):
        return (
            f"The endpoint at {endpoint} answered in a shape that is not the OpenAI "
            "Chat Completions format; check that OPENAI_BASE_URL points at its /v1 API."
        )
    if isinstance(exc, openai.OpenAIError):
        return f"The model call failed{_server_detail(exc, settings)}; try again."
    return None


def _describe_transport(exc: BaseException, settings: Settings) -> str | None:
    """Sentence for a network-level error that escaped the SDK, or None."""
    endpoint = _endpoint(settings)
    timeouts: tuple[type[BaseException], ...] = (TimeoutError,)
    connects: tuple[type[BaseException], ...] = (ConnectionError,)
    for name in ("httpx", "httpx2"):
        module = sys.modules.get(name)
        if module is not None:
            timeouts += (module.TimeoutException,)
            connects += (module.TransportError,)
    if isinstance(exc, timeouts):
        return (
            f"The model at {endpoint} gave no answer within {settings.model_timeout:g} s; "
            "try again, or raise SECRETARY_MODEL_TIMEOUT for a slow or busy server."
        )
    if isinstance(exc, connects):
        return f"Cannot reach the model endpoint at {endpoint}; is the server running?"
    return None


def describe_model_error(exc: BaseException, settings: Settings) -> str:
    """One plain sentence saying what went wrong with a model call and what to do.

    Args:
        exc: Whatever the model call raised (``openai``, ``httpx`` or our own errors).
        settings: The settings the model was built from, to name the endpoint.

    Returns:
        A sentence for a person; it never contains the API key.
    """
    if isinstance(exc, ModelNotConfigured | ModelError):
        return _redact(str(exc), settings)
    chain = _chain(exc)
    for describe in (_describe_openai, _describe_transport):
        for link in chain:
            sentence = describe(link, settings)
            if sentence is not None:
                return sentence
    return f"The model call failed unexpectedly ({type(exc).__name__}); see the log for details."


def is_model_error(exc: BaseException) -> bool:
    """Whether ``exc`` came from talking to the model (as opposed to a bug elsewhere)."""
    if isinstance(exc, ModelNotConfigured | ModelError | ConnectionError | TimeoutError):
        return True
    kinds: list[type[BaseException]] = []
    for name, attr in (
        ("openai", "OpenAIError"),
        ("httpx", "HTTPError"),
        ("httpx2", "HTTPError"),
        ("langchain_core.exceptions", "ModelError"),
    ):
        module = sys.modules.get(name)
        kind = getattr(module, attr, None) if module is not None else None
        if isinstance(kind, type) and issubclass(kind, BaseException):
            kinds.append(kind)
    return any(isinstance(link, tuple(kinds)) for link in _chain(exc)) if kinds else False
