"""The one rich Console pair every command prints through.

markup, highlighting and emoji are off so that a CN like `[ops]` or `:smile:` prints as written.
Colour follows rich's own rules (off on a pipe, off with NO_COLOR) unless --no-color forces it off.
"""

from __future__ import annotations

import os

from rich.console import Console

PIPE_WIDTH = 200  # a log or a pipe has no width; rich's 80 would fold every table row


def make_console(*, stderr: bool = False, no_color: bool = False) -> Console:
    console = Console(stderr=stderr, markup=False, highlight=False, emoji=False,
                      no_color=no_color or None, soft_wrap=True)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = PIPE_WIDTH
    return console
