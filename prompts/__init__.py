"""Prompt text lives here as files; this module only loads and fills them."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any


@cache
def load(name: str) -> str:
    """The text of ``prompts/<name>.md``."""
    return resources.files(__package__).joinpath(f"{name}.md").read_text(encoding="utf-8")


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def render(prompt: str, /, **values: Any) -> str:
    """Fill ``{placeholders}`` in a prompt; unknown ones become empty."""
    return load(prompt).format_map(_Blank(values))
