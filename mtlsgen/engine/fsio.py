"""File-system primitives: atomic writes with exact modes, folders, and the apply lock.

Every file is written whole or not at all: a temporary file in the same folder (so the rename
stays on one file system), fsync, chmod, rename, then one fsync of the folder per batch.
Modes are set explicitly, so the umask never leaks a key to other users.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from ..errors import LockError, OutputError
from .layout import DIR_MODE


def ensure_parent(path: Path) -> None:
    """Create `path` (the folder holding the output) with the user's usual permissions."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LockError(f"cannot create folder {path}: {exc.strerror}") from exc


def ensure_dir(path: Path) -> None:
    """Create `path` (and parents) and give it mode 0700 if it is ours to create."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    except OSError as exc:
        raise OutputError(f"cannot create folder {path}: {exc.strerror}") from exc
    if path.stat().st_mode & 0o777 != DIR_MODE:
        chmod(path, DIR_MODE)


def atomic_write(path: Path, data: bytes, *, mode: int) -> None:
    """Replace `path` by `data` with permission bits `mode`; readers see old or new, never half."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise OutputError(f"cannot write {path}: {exc.strerror}") from exc


def chmod(path: Path, mode: int) -> None:
    try:
        path.chmod(mode)
    except OSError as exc:
        raise OutputError(f"cannot change the mode of {path}: {exc.strerror}") from exc


def sync_dir(path: Path) -> None:
    """Make the renames in `path` durable."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_file(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise OutputError(f"cannot delete {path}: {exc.strerror}") from exc


def remove_empty_dir(path: Path) -> bool:
    """Remove `path` if it is empty; a folder still holding someone's files stays."""
    try:
        path.rmdir()
    except OSError:
        return False
    return True


@contextlib.contextmanager
def apply_lock(output: Path, *, timeout: float = 5.0) -> Iterator[None]:
    """Hold an exclusive lock on the folder that holds `output`, so a second apply waits, then fails.

    Two specs sharing an output folder take the same lock. flock on the folder itself (opened
    read-only) writes nothing, which keeps a no-op apply a true no-op.
    """
    folder = output.parent
    # Made first, so that every apply of this output locks the same folder.
    ensure_parent(folder)
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise LockError(f"cannot open {folder} to lock it: {exc.strerror}") from exc
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockError(f"another mtlsgen apply is writing {output} (it holds the lock on "
                                    f"{folder}; waited {timeout:g}s); try again when it has finished") from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)
