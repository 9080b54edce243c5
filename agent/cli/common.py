"""What every ``secretary`` command shares: options, consoles, the guard, tables, the secretary.

The command modules (:mod:`agent.cli.desk`, :mod:`agent.cli.connect`, ...) import only
this module and declare their commands with :func:`command` and :func:`group`;
:mod:`agent.cli.app` adds them to the ``secretary`` group. Heavy libraries are imported
inside the functions that need them, so ``secretary --help`` starts fast.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from tools.foundation.errors import SecretaryError, clip_words

if TYPE_CHECKING:
    from rich.text import Text

    from agent.runtime import Secretary

PRINCIPAL = click.option(
    "-p",
    "--principal",
    envvar="SECRETARY_PRINCIPAL",
    default=None,
    help="Which principal (default: the only or first one).",
)
JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def _secretary() -> Secretary:
    from agent.runtime import Secretary

    try:
        return Secretary()
    except Exception as exc:  # settings errors are user mistakes: say which
        from pydantic import ValidationError

        if isinstance(exc, ValidationError):
            raise click.ClickException(f"Settings are invalid: {_pydantic_msg(exc)}") from None
        raise


def _settings() -> Any:
    """The settings, or one sentence when they are invalid (for commands without a Secretary)."""
    from pydantic import ValidationError

    import tools.base  # noqa: F401 - the tools' declared approval rules, which settings check
    from tools.foundation.settings import load_settings

    try:
        return load_settings()
    except ValidationError as exc:
        raise click.ClickException(f"Settings are invalid: {_pydantic_msg(exc)}") from None


def _config_problem() -> str | None:
    """Why the settings file cannot be read, as a sentence (None: it reads, or is absent)."""
    import tomllib

    from tools.foundation.settings import config_path

    path = config_path()
    fix = "fix it, or point SECRETARY_CONFIG at another file"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"The settings file {path} cannot be read ({exc.strerror or exc}); {fix}."
    try:
        tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        return f"The settings file {path} is not UTF-8 text; save it as UTF-8, or {fix[8:]}."
    except tomllib.TOMLDecodeError as exc:
        return f"The settings file {path} is not valid TOML ({exc}); {fix}."
    return None


_SURROGATES = re.compile("[\ud800-\udfff]")
"""Bytes of an argument that were not UTF-8, as Python keeps them (surrogate escapes)."""


def _undecodable(value: Any) -> str | None:
    """The first text in a parameter's value that holds bytes that were not UTF-8."""
    values = value if isinstance(value, tuple | list) else (value,)
    return next((v for v in values if isinstance(v, str) and _SURROGATES.search(v)), None)


class _Command(click.Command):
    """A command whose expected failures are one sentence, exit status 1 (2: bad input).

    Text arguments are checked before the command runs: a terminal in another encoding
    passes bytes that are not UTF-8, which Python keeps as surrogate escapes and which
    would fail deep inside (a model request, the database) with a traceback. Paths are
    left alone, as a file name may be any bytes. A broken settings file, a
    SecretaryError and a message quoting something huge are handled here too.
    """

    def invoke(self, ctx: click.Context) -> Any:
        for param in self.params:
            if isinstance(param.type, click.Path | click.File | click.types.UnprocessedParamType):
                continue
            bad = _undecodable(ctx.params.get(param.name or ""))
            if bad is not None:
                shown = bad.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                raise click.BadParameter(
                    f"{clip_words(shown)!r} holds bytes that are not UTF-8 text (shown as "
                    "\ufffd); type it again in a UTF-8 terminal (a locale like LANG=C.UTF-8).",
                    ctx=ctx,
                    param=param,
                )
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            if type(exc) is not click.ClickException or clip_words(exc.message) == exc.message:
                raise
            raise click.ClickException(clip_words(exc.message)) from None
        except SecretaryError as exc:
            raise click.ClickException(clip_words(str(exc))) from None
        except (ValueError, OSError) as exc:  # TOMLDecodeError is a ValueError
            problem = _config_problem()
            if problem is None:
                raise
            raise click.ClickException(problem) from exc


class _Group(click.Group):
    """The command group: its commands, and those of its subgroups, are :class:`_Command`."""

    command_class = _Command
    group_class = type


def cells(*values: Any) -> list[Text]:
    """Table cells shown as written, never read as rich markup.

    Text from mail or documents may hold [brackets]; a stray ``[/]`` read as markup
    would stop the command.
    """
    from rich.text import Text

    return [v if isinstance(v, Text) else Text(str(v)) for v in values]


def _pydantic_msg(exc: Any) -> str:
    parts = []
    for e in exc.errors():
        msg = str(e["msg"]).removeprefix("Value error, ")
        loc = ".".join(str(x) for x in e["loc"])
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def _consoles() -> tuple[Any, Any]:
    from rich.console import Console

    return Console(), Console(stderr=True)


def run_read_tool(principal: str | None, read: Callable[[Any], Any]) -> Any:
    """Run one read tool for the principal (``read(ctx)``); a tool's sentence becomes a CLI error.

    The duty commands read through the same tool functions the model uses, so
    what they list matches what the secretary sees.
    """
    from tools.base import ToolError
    from tools.context import ToolContext

    with _secretary() as sec:
        p = sec.principal(principal)
        ctx = ToolContext(principal=p, workspace=sec.workspace(p))
        try:
            return read(ctx)
        except ToolError as exc:
            raise click.ClickException(str(exc)) from None


def print_table(
    columns: tuple[str, ...], rows: list[tuple[str, ...]], *, whole_ids: bool = False
) -> None:
    """A plain table on stdout; long cells fold.

    With ``whole_ids`` an ``id`` column is never folded (for ids copied into
    other commands), at the cost of narrower other columns.
    """
    from rich.table import Table

    out, _ = _consoles()
    table = Table(show_lines=False)
    for col in columns:
        if col == "id" and whole_ids:
            table.add_column(col, no_wrap=True, min_width=max((len(r[0]) for r in rows), default=2))
        else:
            table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*cells(*row))
    out.print(table)


def _guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn expected failures into one-sentence errors instead of tracebacks."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from agent.runtime import SecretaryError

        try:
            return fn(*args, **kwargs)
        except SecretaryError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


def command(*args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], click.Command]:
    """Declare a top-level command (its expected failures are one sentence, see ``_Command``)."""
    return click.command(*args, cls=_Command, **kwargs)


def group(*args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], click.Group]:
    """Declare a top-level command group; its subcommands are ``_Command`` too."""
    return click.group(*args, cls=_Group, **kwargs)
