"""File-system primitives for the output folder: atomic writes with exact modes, never through a link.

Every folder below the output is opened relative to its parent's descriptor with O_NOFOLLOW, and
every file is created with O_NOFOLLOW|O_EXCL in it, so a symbolic link planted in the output can
never redirect a write, a chmod or a delete outside it (the planner refuses such links before apply
runs; this is the second line). A file is written whole or not at all: a temporary file
`.NAME.XXXXXXXX.tmp` in the same folder, fsync, chmod, rename; one fsync of each folder at the end.
`Batch` does the same for many files in fewer round trips: every temporary file is written first,
then all are fsynced at once (threads: fsync releases the GIL, and the disk sees them together),
then the renames and the other operations run in the order they were asked for, then each folder is
fsynced. The guarantee is the same: a file is renamed into place only once its bytes are durable, and
when apply returns every rename is.
Modes are set explicitly, so the umask never leaks a key to other users. An interrupted run leaves at
most temporary files of that name, which the next plan reports and the next apply removes.

Where the OS has no descriptor-relative calls or no O_NOFOLLOW (Windows), `Folder.open_root` returns a
`fsio_paths.PathFolder` instead, chosen once at import (`BY_DESCRIPTOR`): same operations, same
temporary names and order, but by path, with a link check before each one (weaker: see there).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

from ..errors import OutputError
from .layout import DIR_MODE, temp_name

PARENT_MODE = 0o755  # folders above the output are the user's: the usual mode, less the umask
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
# Decided once: every call below that takes dir_fd must support it, and O_NOFOLLOW must exist; true on
# Linux, macOS and the BSDs, false on Windows (os.supports_dir_fd is empty there).
BY_DESCRIPTOR = ({os.open, os.mkdir, os.rename, os.unlink, os.rmdir} <= os.supports_dir_fd
                 and hasattr(os, "O_NOFOLLOW") and hasattr(os, "O_DIRECTORY") and hasattr(os, "fchmod"))
# Windows has no POSIX permission bits (os.chmod only toggles read-only): there a file's "mode" is
# neither read nor restored (docs/spec.md, "What the output folder may hold").
POSIX_MODES = os.name != "nt"


def ensure_output(root: Path) -> None:
    """Create the output folder (0700) and its missing parents (0755 less the umask)."""
    missing = [folder for folder in (*reversed(root.parents), root) if not folder.is_dir()]
    try:
        for folder in missing:  # one by one: Path.mkdir(parents=True) gives parents 0777 less the umask
            folder.mkdir(mode=DIR_MODE if folder == root else PARENT_MODE, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create folder {root}: {exc.strerror}") from exc


class Folder:
    """A folder of the output, held open by descriptor; names are single path components."""

    def __init__(self, fd: int, path: Path) -> None:
        self.fd, self.path = fd, path

    @classmethod
    def open_root(cls, root: Path) -> Folder:
        """The output folder itself (the spec's `output:` may be a link the user made; what is in it may not)."""
        if not BY_DESCRIPTOR:
            from .fsio_paths import PathFolder  # here: fsio_paths builds on this module
            return PathFolder.open_root(root)
        try:
            return cls(os.open(root, os.O_RDONLY | _DIRECTORY | _CLOEXEC), root)
        except OSError as exc:
            raise OutputError(f"cannot open the output folder {root}: {exc.strerror}") from exc

    def child(self, name: str) -> Folder:
        """The sub-folder `name`, made 0700 if missing; a link or a file there is an error, never followed."""
        path = self.path / name
        try:
            os.mkdir(name, DIR_MODE, dir_fd=self.fd)
        except FileExistsError:
            pass
        except OSError as exc:
            raise OutputError(f"cannot create folder {path}: {exc.strerror}") from exc
        try:
            fd = os.open(name, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=self.fd)
        except OSError as exc:
            raise OutputError(f"{path} is not a folder mtlsgen can write into ({exc.strerror}); "
                              "it never writes through a link") from exc
        folder = Folder(fd, path)
        if os.fstat(fd).st_mode & 0o777 != DIR_MODE:
            folder.chmod("", DIR_MODE)
        return folder

    def stage(self, name: str, data: bytes, *, mode: int) -> str:
        """Write `data` to a new temporary file for `name` (not yet synced, not yet renamed); its name."""
        tmp = temp_name(name, secrets.token_hex(4))
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, mode, dir_fd=self.fd)
        except OSError as exc:
            raise OutputError(f"cannot write {self.path / name}: {exc.strerror}") from exc
        try:
            try:
                os.fchmod(fd, mode)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=self.fd)
            if isinstance(exc, OSError):
                raise OutputError(f"cannot write {self.path / name}: {exc.strerror}") from exc
            raise
        return tmp

    def sync_file(self, name: str) -> None:
        """Make the bytes of the file `name` durable (opened again, never through a link)."""
        try:
            fd = os.open(name, os.O_RDONLY | _NOFOLLOW | _CLOEXEC, dir_fd=self.fd)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise OutputError(f"cannot write {self.path / name}: {exc.strerror}") from exc

    def rename(self, old: str, new: str) -> None:
        try:
            os.rename(old, new, src_dir_fd=self.fd, dst_dir_fd=self.fd)
        except OSError as exc:
            raise OutputError(f"cannot rename {self.path / old} to {new}: {exc.strerror}") from exc

    def chmod(self, name: str, mode: int) -> None:
        """Set `name`'s mode ("" is this folder), opening it without following a link."""
        try:
            if not name:
                os.fchmod(self.fd, mode)
                return
            fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | _NOFOLLOW | _CLOEXEC, dir_fd=self.fd)
            try:
                os.fchmod(fd, mode)
            finally:
                os.close(fd)
        except OSError as exc:
            raise OutputError(f"cannot change the mode of {self.path / name}: {exc.strerror}") from exc

    def remove(self, name: str) -> bool:
        """Delete the file `name` (a link is removed itself, never its target); False if it was not there."""
        try:
            os.unlink(name, dir_fd=self.fd)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise OutputError(f"cannot delete {self.path / name}: {exc.strerror}") from exc
        return True

    def remove_folder_if_empty(self, name: str) -> bool:
        """Remove the sub-folder `name` if it is empty; a folder still holding someone's files stays."""
        try:
            os.rmdir(name, dir_fd=self.fd)
        except OSError:
            return False
        return True

    def sync(self) -> None:
        """Make the renames in this folder durable."""
        with contextlib.suppress(OSError):  # some file systems cannot fsync a folder; its files were synced
            os.fsync(self.fd)

    def drop_temp(self, tmp: str) -> None:
        """Remove a temporary file of this run that was never renamed; quietly, as it may be gone."""
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=self.fd)

    def close(self) -> None:
        os.close(self.fd)

    def __enter__(self) -> Folder:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class Batch:
    """Writes and other operations on the output, carried out together by `commit` (see the docstring above).

    Until `commit`, nothing but temporary files is on disk. If anything fails or is interrupted
    (Ctrl-C included), the temporary files not yet renamed are removed; the renames already done
    each put a whole, synced file in place.
    """

    def __init__(self) -> None:
        self._ops: list[Callable[[], object]] = []
        self._staged: list[tuple[Folder, str]] = []  # temporary files written, not yet renamed
        self._done: set[tuple[int, str]] = set()

    def write(self, folder: Folder, name: str, data: bytes, *, mode: int) -> None:
        """Stage `data` for `name` now; it replaces `name` at commit, in the order of the operations."""
        try:
            tmp = folder.stage(name, data, mode=mode)
        except BaseException:
            self.discard()
            raise
        self._staged.append((folder, tmp))

        def install() -> None:
            folder.rename(tmp, name)  # replaces whatever entry `name` is, a link included, never following it
            self._done.add((id(folder), tmp))

        self._ops.append(install)

    def then(self, operation: Callable[[], object]) -> None:
        """Run `operation` at commit, after the renames and operations asked for before it."""
        self._ops.append(operation)

    def commit(self, workers: int) -> None:
        try:
            if len(self._staged) > 1:
                with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
                    for _ in pool.map(lambda item: item[0].sync_file(item[1]), self._staged):
                        pass
            else:
                for folder, tmp in self._staged:
                    folder.sync_file(tmp)
            for operation in self._ops:
                operation()
        except BaseException:
            self.discard()
            raise
        self._ops, self._staged = [], []

    def discard(self) -> None:
        """Remove the temporary files not renamed into place (a failure, a Ctrl-C)."""
        for folder, tmp in self._staged:
            if (id(folder), tmp) not in self._done:
                folder.drop_temp(tmp)
        self._ops, self._staged = [], []
