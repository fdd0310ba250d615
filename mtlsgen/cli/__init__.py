"""The command line: thin commands over the library, rendering (the only place reasons become words)."""

from . import (
    export,  # noqa: F401  (registers `export k8s` on main)
    wiring,  # noqa: F401  (registers `snippet` and `env` on main)
)
from .commands import main

__all__ = ["main"]
