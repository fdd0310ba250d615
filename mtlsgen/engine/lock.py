"""The apply lock: one apply at a time per output folder; the others wait for it.

The lock is flock on the output folder itself, opened read-only: it writes nothing (a no-op apply
stays a no-op), it is released by the kernel when its holder exits or is killed, and two specs
writing the same folder share it while specs writing different folders never wait on each other.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from ..errors import LockError

OnWait = Callable[[str], None]  # told once, in words, whom the run waits for
_POLL = 0.05


def holder_of(folder_fd: int) -> int | None:
    """The pid holding a flock on the folder, read from /proc/locks (Linux); None where unknown."""
    try:
        inode = os.fstat(folder_fd).st_ino
        with open("/proc/locks", encoding="ascii") as locks:
            for line in locks:
                fields = line.split()
                # "1: FLOCK  ADVISORY  WRITE 4242 08:01:1234567 0 EOF"
                if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5].rsplit(":", 1)[-1] == str(inode):
                    return int(fields[4])
    except (OSError, ValueError):
        return None
    return None


@contextlib.contextmanager
def output_lock(output: Path, *, timeout: float | None = None, on_wait: OnWait | None = None) -> Iterator[None]:
    """Hold an exclusive lock on the output folder (which must exist), waiting for another apply to
    finish: forever by default, at most `timeout` seconds when given."""
    try:
        import fcntl
    except ImportError:  # no flock on this system (Windows): one apply at a time is then the user's care
        yield
        return
    try:
        fd = os.open(output, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as exc:
        raise LockError(f"cannot open {output} to lock it: {exc.strerror}") from exc
    try:
        deadline = None if timeout is None else time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    raise LockError(f"another mtlsgen apply is writing {output} (waited {timeout:g}s; "
                                    "--lock-timeout sets how long); try again when it has finished") from None
                if not told and on_wait is not None:
                    pid = holder_of(fd)
                    who = f"another mtlsgen apply (pid {pid})" if pid else "another mtlsgen apply"
                    on_wait(f"waiting for {who} to finish writing {output}")
                    told = True
                time.sleep(_POLL)
        yield
    finally:
        os.close(fd)
