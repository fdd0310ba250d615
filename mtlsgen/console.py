"""The one rich Console pair every command prints through.

markup, highlighting and emoji are off so that a CN like `[ops]` or `:smile:` prints as written.
Colour follows rich's own rules (off on a pipe, off with NO_COLOR) unless --no-color forces it off.
"""

from __future__ import annotations

from rich.console import Console


def make_console(*, stderr: bool = False, no_color: bool = False, width: int | None = None) -> Console:
    return Console(stderr=stderr, markup=False, highlight=False, emoji=False,
                   no_color=no_color or None, width=width, soft_wrap=True)
