"""Entry names for shell completion, read cheaply: a TAB must answer before the user notices.

A TAB runs the whole CLI in a new process, so this reads the spec with PyYAML alone (no pydantic, no
cryptography, no rich: ~0.5 s less) and trusts only the shape of the top-level sections. The names it
offers are a convenience, never a check: a broken, huge or unreadable spec gives no completions and
never an error (a traceback on a TAB would garble the user's command line).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import click
from click.shell_completion import CompletionItem

_MAX_BYTES = 4 * 1024 * 1024  # the spec loader's cap (spec/yamlsrc.py): what it would refuse, offers nothing
_SECTIONS = (("intermediates", "intermediate"), ("servers", "server"), ("clients", "client"))


def entry_names(spec: Path, *, leaves_only: bool) -> list[tuple[str, str]]:
    """(name, role) of every entry not revoked: the root `ca` and intermediates unless leaves_only."""
    document = _read(spec)
    if not isinstance(document, dict):
        return []
    names = [] if leaves_only else [("ca", "ca")]
    for section, role in _SECTIONS:
        if leaves_only and role == "intermediate":
            continue
        entries = document.get(section)
        if not isinstance(entries, dict):
            continue
        for name, body in entries.items():
            revoked = isinstance(body, dict) and body.get("revoked") is True
            if isinstance(name, str) and not revoked:
                names.append((name, role))
    return names


def _read(spec: Path) -> Any:
    try:
        # A FIFO or a device at SPEC would block the TAB or never end: only a regular file is read.
        info = os.stat(spec)
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_BYTES:
            return None
        import yaml

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        with open(spec, "rb") as handle:
            return yaml.load(handle.read(_MAX_BYTES), Loader=loader)
    except Exception:  # any failure means "no completions", see the module's docstring
        return None


def _spec_of(ctx: click.Context) -> Path:
    """SPEC as the command line gives it, else MTLSGEN_SPEC, else ./pki.yaml (-C DIR has already run)."""
    from click.core import ParameterSource

    if ctx.get_parameter_source("spec") is not ParameterSource.COMMANDLINE:
        # When the line ends in an option waiting for its value (`plan x.yaml --replace <TAB>`), click
        # stops parsing there and leaves the positional arguments unassigned in ctx.args, in order.
        positional = [p.name for p in ctx.command.params if isinstance(p, click.Argument)]
        if "spec" in positional and len(ctx.args) > positional.index("spec"):
            return Path(ctx.args[positional.index("spec")])
    return Path(ctx.params.get("spec") or os.environ.get("MTLSGEN_SPEC") or "pki.yaml")


def complete_entries(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Every entry (`--replace` takes CAs too)."""
    return [CompletionItem(name, help=role) for name, role in entry_names(_spec_of(ctx), leaves_only=False)
            if name.startswith(incomplete)]


def complete_leaves(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Servers and clients (snippet, env, export k8s --entry)."""
    return [CompletionItem(name, help=role) for name, role in entry_names(_spec_of(ctx), leaves_only=True)
            if name.startswith(incomplete)]
