"""The comment block every snippet opens with: what it is for, where its paths start, and how its
password variables get their values (sources only; `mtlsgen env` is the one command that prints values)."""

from __future__ import annotations

import shlex
from collections.abc import Iterable

from .material import Material, Secret


def header(m: Material, comment: str, used: Iterable[Secret | None] = (), *, shell: bool = False) -> list[str]:
    """Comment lines (each starting with `comment`) naming what this is and how the passwords it `used`
    get their values; for shell snippets those lines follow as commands, so that it runs as printed."""
    lines = [f"{comment} mtlsgen: {m.request.target} configuration for the {m.side} {m.name} of {m.spec_shown}"]
    if not m.request.absolute:
        lines.append(f"{comment} Paths are relative to the folder this was printed in (--absolute for absolute ones).")
    secrets = list({s.var: s for s in used if s is not None}.values())
    if not secrets:
        return lines
    if shell:
        lines.append(f"{comment} The passwords come from these variables (never written here):")
        return lines + [s.shell_line for s in secrets]
    env = f"mtlsgen env {shlex.quote(m.name)} {shlex.quote(m.spec_shown)}"
    lines.append(f"{comment} Passwords come from the environment (never written here); before starting, set:")
    lines += [f"{comment}   {s.comment_line}" for s in secrets]
    lines.append(f'{comment}   (or all at once: eval "$({env})")')
    return lines
