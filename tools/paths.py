"""Path confinement: which files on this computer a tool may read for a principal.

A tool argument that names a local file (``file_document``'s and ``capture_invoice``'s
``path``) is checked here before anything is opened, so neither an approval card nor an
error message can carry what such a file holds. After ``~``, ``..`` and every symbolic link
are resolved, a path is accepted only when:

1. it is not part of the secretary's own data: the data directory (every principal's
   folder, the ledger, the checkpoints, the API tokens, the log), the settings file, any file
   an account names for a secret (``password_file``, ``token_file``...), and the system's
   ``/proc``, ``/sys`` and ``/dev`` (``/proc/self/environ`` holds the model key). Nothing
   allows these;
2. it is not in a folder another principal imports from, unless the principal's own
   ``import_folders`` name that folder (or one inside it that holds the file): a folder both
   principals list is shared, one only the other lists is theirs, whatever was typed;
3. it is in one of the principal's ``policy.import_folders``, or it is a file or a folder the
   principal wrote in their own messages of this conversation. Staff, a channel's note (the
   mail desk) and anything read from mail, memory or a document never count as the
   principal's words, so an outside text can never pick a file to read.

``import_folders`` is empty by default, on purpose: several principals served from one
account share one home folder, and a default such as ``~/Downloads`` would be everybody's.
A principal who writes "file ~/Downloads/lease.pdf as a contract" is served; a model that
comes up with a path by itself is refused with a sentence that says how to allow it.

Limits: the check names files by path, so a hard link made into the data directory by
someone with a shell on this machine is not recognised; such a person can read the files
anyway. Paths are POSIX paths.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.base import ToolError

if TYPE_CHECKING:
    from tools.context import ToolContext
    from tools.foundation.principals import Principal
    from tools.foundation.settings import Settings

SYSTEM = (Path("/proc"), Path("/sys"), Path("/dev"))
"""System trees that are never a document (process environments, devices)."""

_SHOWN = 200
"""Characters of a refused path echoed in a sentence (a 100 KB argument is not repeated)."""
_MAX_PATH = 4096
_HOW_TO_ALLOW = (
    "write the file's full path in your own message, or add its folder to import_folders "
    "under [principals.policy] in secretary.toml"
)
# Where a path written in running text ends: a space, a quote, a closing bracket, or
# punctuation at the end of a sentence.
_END = set("\"'`”’»)]}>,;:!?")
_BARE = re.compile(r"(?<![\w/.~-])((?:~[\w.-]*)?/[^\s\"'`<>|]*)")
_QUOTED = re.compile(r"[\"'`“‘«]((?:~[\w.-]*)?/[^\"'`”’»\n]+)[\"'`”’»]")


@dataclass(frozen=True)
class Confinement:
    """What no path argument may reach, whoever allows it, and the folders others import from.

    Built by :func:`tools.workspace.open_workspace` from the settings, which know every
    principal; a workspace built without it (tests, tools) still keeps out the data
    directory and settings file the environment names, and its own folder.
    """

    private: tuple[Path, ...] = ()
    """The data directory, the settings file and every account's secret files."""
    others: tuple[tuple[str, Path], ...] = ()
    """(principal id, import folder) of every other principal."""

    @classmethod
    def of(cls, settings: Settings, principal: Principal) -> Confinement:
        """The confinement of ``principal``'s tools among all principals of ``settings``."""
        from tools.foundation.settings import config_path

        private = [Path(settings.home), config_path()]
        others: list[tuple[str, Path]] = []
        for p in settings.principals:
            private.extend(_secret_files(p.accounts))
            if p.id != principal.id:
                others.extend((p.id, Path(f).expanduser()) for f in p.policy.import_folders)
        return cls(tuple(private), tuple(others))


@dataclass(frozen=True)
class AllowedFile:
    """A file a tool may read, and why (shown on the approval card)."""

    path: Path
    """The resolved path: no symbolic link, no ``..``."""
    given: str
    """The path as it was given."""
    allowed_by: str
    """Why it may be read: "you wrote this path in this conversation", "your import folder
    ~/Scans"..."""


def _secret_files(accounts: Mapping[str, Any]) -> Iterable[Path]:
    """Every ``*_file`` an account setting names (passwords, tokens, certificates)."""
    for key, value in accounts.items():
        if isinstance(value, Mapping):
            yield from _secret_files(value)
        elif isinstance(key, str) and key.endswith("_file") and isinstance(value, str) and value:
            yield Path(value).expanduser()


def _real(path: Path | str) -> Path:
    return Path(os.path.realpath(os.path.expanduser(path)))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def shown(text: str) -> str:
    """A path as it may be repeated in a sentence: printable, at most 200 characters."""
    clean = "".join(c if c.isprintable() else "?" for c in text)
    clean = clean.encode("utf-8", "backslashreplace").decode("utf-8")
    return clean if len(clean) <= _SHOWN else clean[: _SHOWN - 1] + "…"


def _private(ctx: ToolContext) -> list[Path]:
    """Resolved places no path may reach (the environment's data directory at least)."""
    from tools.foundation.paths import default_home
    from tools.foundation.settings import config_path

    conf: Confinement | None = getattr(ctx.workspace, "confinement", None)
    places = [default_home(), config_path(), ctx.workspace.root, *SYSTEM]
    if conf is not None:
        places.extend(conf.private)
    return list(dict.fromkeys(_real(p) for p in places))


def _mentions(text: str, wanted: str) -> bool:
    """Whether ``text`` contains ``wanted`` as a whole path (not as part of a longer one)."""
    start = text.find(wanted)
    while start >= 0:
        end = start + len(wanted)
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        whole_before = not (before.isalnum() or before in "/.~-_")
        sentence_end = after == "." and (end + 1 == len(text) or text[end + 1].isspace())
        if whole_before and (after.isspace() or after in _END or sentence_end):
            return True
        start = text.find(wanted, start + 1)
    return False


def _spellings(path: str) -> list[str]:
    """The ways a principal may have written a path: as given, expanded, or with ``~``."""
    expanded = os.path.expanduser(path)
    out = [path, expanded, os.path.normpath(expanded)]
    home = os.path.expanduser("~")
    for p in list(out):
        if p.startswith(home + "/"):
            out.append("~" + p[len(home) :])
    return [p for p in dict.fromkeys(out) if p and p != "/"]


def typed_paths(words: Iterable[str]) -> list[Path]:
    """The absolute paths (files or folders) written in the principal's own words, resolved.

    A path is a run starting at ``/`` or ``~/`` up to a space, or anything between quotes
    starting so (for names with spaces). A lone ``/`` is no folder anyone means.
    """
    found: list[Path] = []
    for text in words:
        runs = [m.group(1) for m in _QUOTED.finditer(text)]
        runs += [m.group(1).rstrip(".,;:!?)]}>") for m in _BARE.finditer(text)]
        for run in runs:
            expanded = os.path.expanduser(run.strip())
            if not os.path.isabs(expanded) or os.path.normpath(expanded) in ("/", "//"):
                continue
            found.append(_real(expanded))
    return list(dict.fromkeys(found))


def _deepest(path: Path, folders: Iterable[Path]) -> int:
    """Depth of the deepest folder holding ``path`` (-1 when none does)."""
    return max((len(f.parts) for f in folders if _inside(path, f)), default=-1)


def _where_to_put(principal: Principal) -> str:
    folders = principal.policy.import_folders
    if folders:
        return f"put the file in one of your import folders ({', '.join(folders)}), or "
    return ""


def allowed_file(ctx: ToolContext, path: str, arg: str = "path") -> AllowedFile:
    """Check that ``path`` may be read for ``ctx``'s principal, before anything is opened.

    Raises:
        ToolError: one sentence that says which folder to use or how to allow one; it
            never says whether the file exists unless it may be read.
    """
    given = path.strip()
    if not given:
        raise ToolError(f"{arg} is empty; give the full path of the file.")
    if "\0" in given or len(given) > _MAX_PATH:
        raise ToolError(f"{arg}: '{shown(given)}' is not a file path; give the full path.")
    expanded = os.path.expanduser(given)
    if not os.path.isabs(expanded):
        raise ToolError(
            f"{arg}: '{shown(given)}' is not an absolute path; give the full path to the file."
        )
    target = _real(expanded)
    hint = _where_to_put(ctx.principal)
    for place in _private(ctx):
        if _inside(target, place):
            what = (
                "the system's files"
                if place in SYSTEM
                else "the secretary's own files (a filed document is changed with "
                "refile_document)"
            )
            raise ToolError(
                f"{arg}: {shown(given)} is inside {what}, which are never read as a document; "
                f"{hint}keep the file outside them and write its full path in your own message."
            )
    mine = [(_real(f), f) for f in ctx.principal.policy.import_folders]
    conf: Confinement | None = getattr(ctx.workspace, "confinement", None)
    theirs = [_real(f) for _, f in (conf.others if conf is not None else ())]
    if _deepest(target, theirs) > _deepest(target, [m for m, _ in mine]):
        raise ToolError(
            f"{arg}: {shown(given)} is in a folder another principal imports from, which only "
            f"they may use; {hint}ask them to share it (the same folder in both import_folders)."
        )
    words = ctx.principal_words
    if any(_mentions(text, s) for text in words for s in _spellings(given)):
        return AllowedFile(target, given, "you wrote this path in this conversation")
    for typed in typed_paths(words):
        if target == typed:
            return AllowedFile(target, given, "you wrote this path in this conversation")
        if _inside(target, typed):
            return AllowedFile(target, given, f"it is in {typed}, a folder you named")
    for real, written in mine:
        if _inside(target, real):
            return AllowedFile(target, given, f"it is in your import folder {written}")
    raise ToolError(f"{arg}: {shown(given)} is not in a folder you allow; {hint}{_HOW_TO_ALLOW}.")


def read_allowed(
    ctx: ToolContext, path: str, *, limit: int | None = None, arg: str = "path"
) -> tuple[AllowedFile, bytes]:
    """Check ``path`` with :func:`allowed_file`, then read the regular file it names.

    The resolved path is opened without following a link, so a link swapped in after the
    check is not followed; a FIFO or device is refused without blocking.

    Raises:
        ToolError: the path is not allowed, there is no such file, it is not a regular
            file, it is larger than ``limit`` bytes, or it cannot be read.
    """
    allowed = allowed_file(ctx, path, arg)
    given = shown(allowed.given)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(allowed.path, flags)
    except FileNotFoundError:
        raise ToolError(
            f"{arg}: there is no file at {given}. Check the path and try again."
        ) from None
    except IsADirectoryError:
        raise ToolError(f"{arg}: {given} is a folder; give the path of one file in it.") from None
    except OSError as exc:
        raise ToolError(f"{arg}: cannot read {given}: {exc.strerror or exc}.") from None
    info = os.fstat(fd)
    problem = ""
    if stat.S_ISDIR(info.st_mode):
        problem = f"{arg}: {given} is a folder; give the path of one file in it."
    elif not stat.S_ISREG(info.st_mode):
        problem = f"{arg}: {given} is not a regular file; save it as a file first."
    elif limit is not None and info.st_size > limit:
        problem = (
            f"{arg}: '{allowed.path.name}' is larger than {limit // (1024 * 1024)} MB, "
            "too large to read here."
        )
    if problem:
        os.close(fd)
        raise ToolError(problem)
    with os.fdopen(fd, "rb") as fh:
        try:
            data = fh.read() if limit is None else fh.read(limit + 1)
        except OSError as exc:
            raise ToolError(f"{arg}: cannot read {given}: {exc.strerror or exc}.") from None
    if limit is not None and len(data) > limit:
        raise ToolError(f"{arg}: '{allowed.path.name}' grew past the size limit while read.")
    return allowed, data
