"""What a folder holds, looked at without following any link: kinds, modes, mtlsgen's temporary files,
and mtlsgen's own file names held by a link or a special file."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .layout import GITIGNORE, MANAGED_FILES, file_mode, is_temp

# Windows has no POSIX permission bits (os.chmod only toggles read-only): there modes are neither read
# nor restored (docs/spec.md, "What the output folder may hold").
POSIX_MODES = os.name != "nt"


@dataclass(frozen=True)
class Listing:
    kinds: dict[str, str]          # name → "file", "folder", "a symbolic link", "a FIFO", …
    modes: dict[str, int]          # permission bits of the folder ("") and of its regular files
    temps: tuple[str, ...]         # mtlsgen's temporary files
    unsafe: tuple[tuple[str, str], ...]  # mtlsgen's file names held by a link or a special file


def listing(folder: Path) -> Listing:
    """What a folder holds, looked at without following any link."""
    kinds: dict[str, str] = {}
    modes: dict[str, int] = {}
    try:
        if POSIX_MODES:
            modes[""] = os.stat(folder).st_mode & 0o777
        with os.scandir(folder) as it:
            for item in it:
                mode = item.stat(follow_symlinks=False).st_mode
                kinds[item.name] = kind(mode)
                if stat.S_ISREG(mode):
                    # Without POSIX modes (Windows) there is no mode to compare: a file counts as having
                    # the one mtlsgen gives it, so no plan promises a chmod that cannot happen.
                    modes[item.name] = mode & 0o777 if POSIX_MODES else file_mode(item.name)
    except OSError:
        return Listing({}, {}, (), ())
    temps = tuple(sorted(n for n, k in kinds.items() if k == "file" and is_temp(n)))
    unsafe = tuple((n, k) for n, k in sorted(kinds.items()) if n in MANAGED_FILES | {GITIGNORE} and k != "file")
    return Listing(kinds, modes, temps, unsafe)


def kind(mode: int) -> str:
    for test, name in ((stat.S_ISREG, "file"), (stat.S_ISDIR, "folder"), (stat.S_ISLNK, "a symbolic link"),
                       (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device")):
        if test(mode):
            return name
    return "a special file"
