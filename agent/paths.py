"""Where the data directory is (kept free of heavy imports: the CLI reads it at start)."""

from __future__ import annotations

import os
from pathlib import Path


def default_home() -> Path:
    """The per-user data directory (``SECRETARY_HOME`` overrides it)."""
    env = os.environ.get("SECRETARY_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "secretary"
