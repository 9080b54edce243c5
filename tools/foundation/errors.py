"""The one exception type for expected failures: its message is a sentence for a person."""

import re

_LONG_WORD = re.compile(r"[^\s'\"]{201,}")  # inside its quotes, so they stay


class SecretaryError(Exception):
    """An expected failure with a sentence for a person (what happened, what to do)."""


def clip_words(text: str, keep: int = 60) -> str:
    """A message with every run of over 200 characters (no space, no quote) cut to its start.

    Messages quote what was typed (an id, a path); a 100 KB "id" must not come back in
    full, and the sentence around it stays readable.
    """

    def cut(m: re.Match[str]) -> str:
        return f"{m.group(0)[:keep]}... ({len(m.group(0)):,} characters)"

    return _LONG_WORD.sub(cut, text)
