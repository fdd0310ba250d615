"""`--output DIR`: where the files go for this run, instead of the spec's `output:`.

One option and one loader: a command takes `@output_option` and calls `load(spec)` where it would call
load_spec. The option's value rides in click's context (not in the command's parameters), so adding it
to a command changes no signature.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..errors import MtlsgenError

if TYPE_CHECKING:  # the spec's modules (cryptography, yaml) load only when a command reads a spec
    from ..spec.entries import Spec

F = TypeVar("F", bound=Callable[..., Any])
_KEY = "mtlsgen.output"


def _remember(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.meta[_KEY] = value


def output_option(func: F) -> F:
    return click.option("--output", metavar="DIR", expose_value=False, callback=_remember,
                        help="Use DIR for the certificate files instead of the spec's `output:` "
                             "(relative to the current folder; ~ expanded).")(func)


def load(spec: Path) -> Spec:
    """load_spec, then the --output override if given; refused where the spec's own `output:` would be."""
    from ..spec.load import load_spec

    loaded = load_spec(spec)
    ctx = click.get_current_context(silent=True)
    given: str | None = ctx.meta.get(_KEY) if ctx is not None else None
    if given is None:
        return loaded
    output = Path(given).expanduser().absolute()
    # As for `output:` (spec/load.py): apply writes a `.gitignore` of `*` there and --prune deletes
    # folders in it, so the spec's folder or one above it would hide or lose the project.
    spec_folder = Path(os.path.realpath(loaded.path.parent))
    resolved = Path(os.path.realpath(output))
    if resolved == spec_folder or resolved in spec_folder.parents:
        raise MtlsgenError(f"--output: {given!r} is the spec's own folder (or holds it); use a subfolder like certs")
    return dataclasses.replace(loaded, output=output)
