"""Where the data directory is, and keeping it private (no heavy imports: the CLI reads it first).

Private by construction: the data directory and everything in it are readable
by the owner only (directories 0700, files 0600), whatever existed before.
Two things make it so:

* :func:`private_umask` at the entry point (``secretary`` itself, so also
  ``serve`` and ``mail-agent``): every file and folder the process creates
  later is private, including those third-party code writes (SQLite journals,
  Chroma's files).
* :func:`secure_home` when a process first uses a data directory: it is
  created 0700, or, when it already exists, the group and other bits are
  removed from it and from everything under it (symbolic links are left alone
  and not followed). When that cannot be done (an entry belongs to another
  user), the secretary refuses to start with a sentence naming the entry, so
  nothing private is written into a folder others can read.

The owner's own bits are kept as they are (a folder the owner made read-only
stays read-only).
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from pathlib import Path

from tools.foundation.errors import SecretaryError

PRIVATE_UMASK = 0o077
"""New files 0600 and folders 0700: nothing for group or others."""

_OTHERS = stat.S_IRWXG | stat.S_IRWXO

_secured: set[str] = set()
_lock = threading.Lock()

log = logging.getLogger(__name__)


class NotPrivateError(SecretaryError):
    """The data directory cannot be made private; the message says what to do."""


def default_home() -> Path:
    """The per-user data directory (``SECRETARY_HOME`` overrides it)."""
    env = os.environ.get("SECRETARY_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "secretary"


def private_umask() -> int:
    """Make every file and folder this process creates from now on private; returns the old mask."""
    return os.umask(PRIVATE_UMASK)


def secure_home(home: Path) -> Path:
    """Create the data directory, or make an existing one private (once per process).

    Raises:
        NotPrivateError: when the folder is not one the secretary may take over
            (a filesystem root, the user's home folder, a file) or an entry in it
            cannot be made private (it belongs to another user).
    """
    home = Path(home)
    key = os.path.abspath(home)
    if key in _secured:
        return home
    with _lock:
        if key in _secured:
            return home
        check_not_shared(home)
        try:
            home.mkdir(parents=True, exist_ok=True, mode=0o700)
        except FileExistsError:
            raise NotPrivateError(
                f"The data directory {home} is a file, not a folder; "
                "set SECRETARY_HOME to a folder of its own."
            ) from None
        except OSError as exc:
            raise NotPrivateError(
                f"Cannot create the data directory {home} ({exc.strerror or exc}); "
                "set SECRETARY_HOME to a folder you can write."
            ) from None
        fixed = make_private(home)
        if fixed:
            # Said once, in the log: the folder was readable by others until now.
            log.warning(
                "made %d entries of the data directory %s private (they were readable by "
                "group or others), e.g. %s",
                len(fixed),
                home,
                ", ".join(str(p) for p in fixed[:5]),
            )
        _secured.add(key)
    return home


def make_private(root: Path) -> list[Path]:
    """Remove group and other permissions from ``root`` and everything under it.

    Symbolic links are neither changed nor followed (the top folder itself may
    be one). Entries that vanish meanwhile are skipped.

    Returns:
        The entries whose mode was changed.

    Raises:
        NotPrivateError: when an entry that others can read cannot be changed.
    """
    fixed: list[Path] = []
    _fix(Path(root), os.stat(root), fixed, top=True)
    stack = [os.fspath(root)]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            continue
        except PermissionError:
            # A folder its owner closed even to themselves: its group/other bits are
            # already gone (fixed above), and the secretary cannot have written into it.
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISLNK(info.st_mode):
                continue
            _fix(Path(entry.path), info, fixed)
            if stat.S_ISDIR(info.st_mode):
                stack.append(entry.path)
    return fixed


def _fix(path: Path, info: os.stat_result, fixed: list[Path], *, top: bool = False) -> None:
    """Strip group/other bits of one entry, or refuse with a sentence."""
    mode = stat.S_IMODE(info.st_mode)
    if not mode & _OTHERS:
        return
    try:
        os.chmod(path, mode & ~_OTHERS)  # never a link: links are skipped before
    except FileNotFoundError:
        return
    except OSError as exc:
        owner = "another user" if info.st_uid != os.geteuid() else "you"
        what = f"The data directory {path}" if top else f"{path} in the data directory"
        raise NotPrivateError(
            f"{what} is readable by others "
            f"(mode {mode:04o}, owned by {owner}) and cannot be made private "
            f"({exc.strerror or exc}); run `chmod -R go= {path}` as its owner, or set "
            "SECRETARY_HOME to a folder of your own."
        ) from None
    fixed.append(path)


def check_not_shared(home: Path) -> None:
    """Refuse a data directory that holds far more than the secretary's data.

    Raises:
        NotPrivateError: for a filesystem root or the user's home folder.
    """
    where = Path(os.path.abspath(home.expanduser()))
    shared = {Path(where.anchor)}
    try:
        shared.add(Path(os.path.abspath(Path.home())))
    except RuntimeError:  # no home folder known: nothing to compare with
        pass
    if where in shared:
        raise NotPrivateError(
            f"The data directory {home} would be {where}, a folder with much more in it: "
            "the secretary makes everything in its data directory private, so set "
            "SECRETARY_HOME to a folder of its own (e.g. ~/.local/share/secretary)."
        )
