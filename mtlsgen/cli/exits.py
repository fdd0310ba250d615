"""Exit codes, and the one boundary where errors become them (the error tree: mtlsgen/errors.py).

Terraform-style, for scripts (docs/cli.md): 0 done or nothing to do; 1 an error, one `error: …` line
on stderr; 2 the command ran and reports something that needs attention (`plan --detailed-exitcode`:
changes pending; `status`: a certificate, store or CRL is not ok); 130 interrupted by Ctrl-C.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from ..errors import MtlsgenError

if TYPE_CHECKING:
    from rich.console import Console

F = TypeVar("F", bound=Callable[..., Any])

OK = 0
ERROR = 1
NEEDS_ATTENTION = 2
INTERRUPTED = 130  # as a shell reports a command ended by Ctrl-C

# Every error a user can cause exits 1: scripts tell "broken" (1) from "needs attention" (2).
EXIT_CODES: dict[type[MtlsgenError], int] = {MtlsgenError: ERROR}

NO_COLOR_KEY = "mtlsgen.no_color"  # in click's ctx.meta, which every context of one run shares


def exit_code(exc: MtlsgenError) -> int:
    return next(code for cls, code in EXIT_CODES.items() if isinstance(exc, cls))


def no_color() -> bool:
    """--no-color was given, before or after the command (group.py records it in ctx.meta)."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.meta.get(NO_COLOR_KEY))


def make_console(*, stderr: bool = False, no_color: bool = False) -> Console:
    """cli/console.py's, imported on first use: `--version`, `--help` and `validate` never load rich."""
    from .console import make_console as make

    return make(stderr=stderr, no_color=no_color)


def say(line: str, *, style: str | None = None) -> None:
    """One line on stderr, never wrapped or cut (scripts grep it)."""
    make_console(stderr=True, no_color=no_color()).print(line, style=style, overflow="ignore", crop=False)


def fail(message: str, code: int = ERROR) -> NoReturn:
    say(f"error: {message}", style="red")
    sys.exit(code)


class Documented(MtlsgenError):
    """An error whose `--json` document a command printed itself (apply's, with the plan)."""


def json_errors(func: F) -> F:
    """With `--json`, an error also prints a document on stdout, `{"format_version": 1, "error": {file,
    line, field, message}}`, so that `mtlsgen plan --json | jq` never reads nothing (docs/json.md)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Documented:
            raise
        except MtlsgenError as exc:
            if kwargs.get("as_json"):
                import json

                from .documents import error_json

                click.echo(json.dumps(error_json(kwargs.get("spec"), str(exc)), indent=2))
            raise

    return wrapper  # type: ignore[return-value]


def user_errors(func: F) -> F:
    """MtlsgenError → `error: …` on stderr and its exit code; any other exception is a bug and keeps its trace."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MtlsgenError as exc:
            fail(str(exc), exit_code(exc))
        except KeyboardInterrupt:
            # Every file is written whole or not at all; the next run removes what was half-made.
            fail("interrupted; no file is half-written: run the same command again to finish", INTERRUPTED)
        except OSError as exc:
            # The engine reports its own file errors as MtlsgenError; what is left is the report itself
            # not reaching stdout (`> /dev/full`). A closed pipe (`| head`) is click's: a quiet exit 1.
            if exc.errno not in _OUTPUT_ERRORS:
                raise
            fail(f"cannot write the output: {exc.strerror}")

    return wrapper  # type: ignore[return-value]


_OUTPUT_ERRORS = frozenset({errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EFBIG})
