"""Reading the files a spec names — the spec itself, password files, an imported CA — safely.

Only regular files are read, and only up to a size cap: a FIFO would hang the run, `/dev/zero` would
fill memory, and a path with a NUL byte would crash the system call. The file is opened without
blocking (O_NONBLOCK, so a FIFO without a writer returns at once) and checked with fstat before a
byte is read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

KIB = 1024
MIB = 1024 * KIB


class FileProblem(Exception):
    """Why a file cannot be read, as the end of a sentence: `does not exist`, `is a FIFO, not a file`."""


_KINDS = {stat.S_ISDIR: "a folder", stat.S_ISFIFO: "a FIFO", stat.S_ISCHR: "a character device",
          stat.S_ISBLK: "a block device", stat.S_ISSOCK: "a socket"}


def read_regular(path: Path, *, limit: int, follow_symlinks: bool = True) -> bytes:
    """The bytes of `path`, a regular file of at most `limit` bytes; FileProblem otherwise.

    `follow_symlinks=False` refuses a symbolic link itself (for files inside the output folder,
    which mtlsgen owns and never reads or writes through a link).
    """
    if "\0" in str(path):
        raise FileProblem("has a NUL character in its name")
    # Windows has neither O_NONBLOCK nor O_NOFOLLOW (there is no FIFO to hang on, and a link is checked
    # by lstat below), and needs O_BINARY, or its C runtime reads "\r\n" as "\n" and stops at Ctrl-Z.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
        if not hasattr(os, "O_NOFOLLOW") and path.is_symlink():
            raise FileProblem("is a symbolic link")
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise FileProblem("does not exist") from None
    except OSError as exc:
        if not follow_symlinks and path.is_symlink():
            raise FileProblem("is a symbolic link") from None
        raise FileProblem(f"cannot be read: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS.items() if test(mode)), "not a regular file")
            raise FileProblem(f"is {kind}, not a file")
        data = b""
        while len(data) <= limit:
            chunk = os.read(fd, limit + 1 - len(data))
            if not chunk:
                break
            data += chunk
    except OSError as exc:
        raise FileProblem(f"cannot be read: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise FileProblem(f"is larger than {_size(limit)}")
    return data


def _size(limit: int) -> str:
    return f"{limit // MIB} MiB" if limit >= MIB else f"{limit // KIB} KiB"
