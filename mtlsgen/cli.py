"""Thin commands: parse the arguments, call the library, render. User errors → one line, exit 1."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__
from .console import make_console
from .errors import MtlsgenError

F = TypeVar("F", bound=Callable[..., Any])
SPEC_ARG = click.argument("spec", type=click.Path(path_type=Path, dir_okay=False), default="pki.yaml")


def user_errors(func: F) -> F:
    """MtlsgenError → `error: …` on stderr and exit 1; any other exception is a bug and keeps its trace."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MtlsgenError as exc:
            make_console(stderr=True, no_color=_no_color()).print(f"error: {exc}", style="red",
                                                                    overflow="ignore", crop=False)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def _no_color() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().params.get("no_color"))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mtlsgen")
@click.option("--no-color", is_flag=True, help="No colour (also: NO_COLOR, or output to a pipe).")
def main(no_color: bool) -> None:
    """Declarative PKI for mutual TLS: one pki.yaml in, CA, certificates, keystores and truststores out."""


@main.command()
@SPEC_ARG
@user_errors
def init(spec: Path) -> None:
    """Write a commented starter spec to SPEC (default ./pki.yaml); never overwrites."""
    from .starter import STARTER_SPEC

    try:
        with spec.open("x", encoding="utf-8") as handle:
            handle.write(STARTER_SPEC)
    except FileExistsError:
        raise MtlsgenError(f"{spec} already exists; init never overwrites a spec") from None
    except OSError as exc:
        raise MtlsgenError(f"cannot write {spec}: {exc.strerror}") from None
    make_console(no_color=_no_color()).print(f"wrote {spec}; next: mtlsgen plan {spec}")


@main.command()
@SPEC_ARG
@user_errors
def validate(spec: Path) -> None:
    """Check SPEC only (no files read or written); exit 0 when valid, 1 with the first problem."""
    from .spec import load_spec

    loaded = load_spec(spec)
    leaves = sum(1 for e in loaded.entries if not e.is_ca)
    cas = len(loaded.entries) - leaves
    make_console(no_color=_no_color()).print(
        f"{spec}: valid ({cas} CA{'s' if cas != 1 else ''}, {leaves} certificate{'s' if leaves != 1 else ''})")


@main.command()
def schema() -> None:
    """Print the JSON Schema of the spec format."""
    from .model import json_schema

    click.echo(json.dumps(json_schema(), indent=2, sort_keys=False))
