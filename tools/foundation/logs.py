"""The secretary's log (``secretary.log``) and the filter that keeps secrets out of it.

Text reaches the log from many hands: a model server's error that echoes the
API key, an IMAP server's refusal, a library's repr of a request. So the
masking happens where the lines are written, in a :class:`logging.Filter` on
every handler the secretary sets up, instead of at each call site. It masks,
in the message, its arguments, the traceback and the stack:

* every secret the process has read: the configured model API key
  (:mod:`tools.foundation.settings`) and each account secret (passwords, client
  secrets, API keys read by :func:`tools.providers.accounts.account_secret`),
  registered with :func:`remember_secret`;
* what looks like a secret by its form: ``Bearer``/``Basic`` credentials,
  ``sk-...`` API keys, the API's own ``sec_...`` tokens, Slack ``xox?-`` and
  ``xapp-`` tokens, Google ``ya29.`` tokens, the password of a URL
  (``postgresql://user:***@host``), the signature of an approval token
  (``[SEC <id> ****************]``), the value of ``password=``, ``api_key:``,
  ``"secret": "..."`` and similar, and a long hex or base64 run after words
  such as key, secret, token or signature.

Kept readable: the proposal id of an approval token, names of settings
(``password_env = "ADA_IMAP"``), and every other word of the line.
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import Any

MASK = "***"
_MIN_SECRET = 4
"""Shorter values are not masked by value (they would blot out ordinary words)."""

_secrets: set[str] = set()
_secrets_lock = threading.Lock()

_KEYWORDS = (
    r"api[_-]?key|apikey|x-api-key|password|passwd|passphrase|pwd|secret|client[_-]?secret"
    r"|signing[_-]?secret|signing[_-]?key|access[_-]?token|refresh[_-]?token|id[_-]?token"
    r"|auth[_-]?token|bot[_-]?token|app[_-]?token|token|authorization"
)
# Left: not preceded by a letter or digit, so smtp_password and openai_api_key match.
# Right: not followed by a word character, so password_env and token_path do not.
_KEY_VALUE = re.compile(
    rf"(?i)(?<![A-Za-z0-9])({_KEYWORDS})(?![A-Za-z0-9_])"
    r"([\"']?\s*[:=]\s*)"
    r"(?:\"(?!\*\*\*\")(?!(?:bearer|basic)\s)[^\"]*\"|'(?!\*\*\*')(?!(?:bearer|basic)\s)[^']*'"
    r"|(?!(?:bearer|basic)\s)(?!\*\*\*)[^\s\"',;&}\])]+)"
)


def _mask_value(found: re.Match[str]) -> str:
    """Keyword and separator as they were, the value masked (its quotes kept)."""
    value = found.group(0)[found.end(2) - found.start(0) :]
    quote = value[0] if value[0] in "\"'" else ""
    return f"{found.group(1)}{found.group(2)}{quote}{MASK}{quote}"


_PATTERNS: tuple[tuple[re.Pattern[str], Any], ...] = (
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{6,}"), rf"\1\2{MASK}"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{12,}"), f"sk-{MASK}"),
    (re.compile(r"\bsec_[A-Za-z0-9_-]{16,}"), f"sec_{MASK}"),
    (re.compile(r"\bxox[a-z]-[A-Za-z0-9-]{8,}"), f"xox-{MASK}"),
    (re.compile(r"\bxapp-[A-Za-z0-9-]{8,}"), f"xapp-{MASK}"),
    (re.compile(r"\bya29\.[A-Za-z0-9._-]{16,}"), f"ya29.{MASK}"),
    (re.compile(r"\b([a-z][a-z0-9+.-]*://[^\s/:@]+:)[^\s@/]+@"), rf"\1{MASK}@"),
    (re.compile(r"\[SEC ([0-9a-f]{8}) [0-9a-f]{16}\]"), r"[SEC \1 ****************]"),
    (_KEY_VALUE, _mask_value),
    (
        re.compile(
            r"(?i)\b(key|secret|token|signature|hmac|digest)(\W{1,3})"
            r"(?:[A-Fa-f0-9]{32,}|[A-Za-z0-9+/_-]{32,}={0,2})"
        ),
        rf"\1\2{MASK}",
    ),
)


def remember_secret(value: str | None) -> None:
    """Mask ``value`` wherever it appears in the log from now on (in this process)."""
    if not value or len(value.strip()) < _MIN_SECRET:
        return
    with _secrets_lock:
        _secrets.add(value)
        if value.strip() != value:
            _secrets.add(value.strip())


def redact(text: str) -> str:
    """``text`` with every remembered secret and every secret-looking value masked."""
    with _secrets_lock:
        known = sorted(_secrets, key=len, reverse=True)  # longest first: no partial leftovers
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Masks secrets in a record before any handler writes it (see the module docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message (arguments merged in), traceback and stack; keep it."""
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format: logging itself reports it
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def protect(*handlers: logging.Handler) -> None:
    """Put the redacting filter on handlers (once each)."""
    for handler in handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def protect_loggers(*names: str) -> None:
    """Put the redacting filter on every handler of the named loggers (e.g. uvicorn's own)."""
    for name in names:
        protect(*logging.getLogger(name).handlers)


def log_to_file(home: Path | None) -> None:
    """Send diagnostics to ``home/secretary.log`` (0600, secrets masked), not onto the screen.

    Without a folder (``None``), or when it cannot be written, diagnostics are
    dropped rather than shown: the command itself says in a sentence what went
    wrong.
    """
    import os

    handler: logging.Handler = logging.NullHandler()
    if home is not None:
        try:
            home.mkdir(parents=True, exist_ok=True, mode=0o700)
            path = home / "secretary.log"
            handler = logging.FileHandler(path, encoding="utf-8")
            os.chmod(path, 0o600)
        except OSError:
            handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    protect(handler)
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
