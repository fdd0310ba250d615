"""The apply lock: one apply at a time per output folder; the others wait for it.

The lock is flock on the output folder itself, opened read-only: it writes nothing (a no-op apply
stays a no-op), it is released by the kernel when its holder exits or is killed, and two specs
writing the same folder share it while specs writing different folders never wait on each other.

Without fcntl (Windows) it is msvcrt.locking on one byte of a lock file named after the output
folder's resolved path, in the user's temporary folder: Windows cannot lock a folder, and a file in
the output would be a file mtlsgen does not manage there (and a write on every no-op apply). It too
is released by the OS when its holder exits. Two users of one output folder have two temporary
folders, so they do not exclude each other there (the folder is its owner's anyway). No new
dependency: filelock or portalocker would add a package for these few lines.
"""

from __future__ import annotations

import contextlib
import errno
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
        flock = True
    except ImportError:  # no flock (Windows): msvcrt's byte-range lock on a file of the temporary folder
        flock = False
    if flock:
        path, flags = output, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    else:
        path, flags = lock_file(output), os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        raise LockError(f"cannot open {path} to lock {output}: {exc.strerror}") from exc
    locked = False
    try:
        deadline = None if timeout is None else time.monotonic() + timeout
        told = False
        while True:
            try:
                if flock:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                else:
                    _byte_lock(fd, wanted=True)
                locked = True
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
        if locked and not flock:  # msvcrt asks for an unlock before the close; flock goes with the close
            with contextlib.suppress(OSError):
                _byte_lock(fd, wanted=False)
        os.close(fd)

def lock_file(output: Path) -> Path:
    """Where the lock for `output` is taken where folders cannot be locked: one file per output folder,
    named by a digest of its resolved, case-folded path (two spellings of one folder share it)."""
    import hashlib  # only where there is no flock: kept off every other apply's start-up
    import tempfile

    key = os.path.normcase(os.path.realpath(output)).encode("utf-8", "surrogatepass")
    return Path(tempfile.gettempdir()) / f"mtlsgen-{hashlib.sha256(key).hexdigest()[:32]}.lock"


def _byte_lock(fd: int, *, wanted: bool) -> None:
    """msvcrt.locking on the file's first byte: take it without waiting (the caller polls, as with
    flock; BlockingIOError while another process holds it), or give it back."""
    import msvcrt  # Windows only; reached only where fcntl is missing

    os.lseek(fd, 0, os.SEEK_SET)
    try:
        msvcrt.locking(fd, msvcrt.LK_NBLCK if wanted else msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
    except OSError as exc:
        if wanted and exc.errno in (errno.EACCES, errno.EDEADLK):  # "held by another process", in msvcrt's words
            raise BlockingIOError(exc.errno, "locked") from None
        raise
