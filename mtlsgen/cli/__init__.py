"""The command line: thin commands over the library, rendering (the only place reasons become words)."""

from .commands import main

__all__ = ["main"]
