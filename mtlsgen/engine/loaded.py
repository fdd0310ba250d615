"""A file of the output (or an imported CA's), parsed: its value, or why there is none.

An unreadable or damaged file is a state, not an error; the planner decides what it means. Files are
read only when they are regular files, never through a symbolic link when they are mtlsgen's own, and
up to a size cap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from ..crypto.pem import Unreadable
from ..spec.files import MIB, FileProblem, read_regular

FILE_LIMIT = MIB  # the largest certificate, key, CRL or store file read; real ones are a few KiB

T = TypeVar("T")


@dataclass(frozen=True)
class Loaded(Generic[T]):
    """A parsed file, or why there is none: `missing` or `unreadable: …`."""

    value: T | None = None
    problem: str | None = None

    @property
    def missing(self) -> bool:
        return self.problem == "missing"


def load(path: Path, parse: Callable[[bytes], T], *, own: bool = True) -> Loaded[T]:
    """Read and parse `path`; an `own` file (in the output folder) is never read through a link."""
    try:
        data = read_regular(path, limit=FILE_LIMIT, follow_symlinks=not own)
    except FileProblem as exc:
        return Loaded(problem="missing" if str(exc) == "does not exist" else f"unreadable: {exc}")
    if not data:
        return Loaded(problem="unreadable: empty file")
    try:
        return Loaded(parse(data))
    except Unreadable as exc:
        return Loaded(problem=f"unreadable: {exc}")
