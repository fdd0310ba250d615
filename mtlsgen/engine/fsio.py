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
`PathFolder` instead, chosen once at import (`BY_DESCRIPTOR`): same operations, same temporary names
and order, but by path, with a link check before each one (weaker: see its docstring).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
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
_BINARY = getattr(os, "O_BINARY", 0)  # Windows: without it the C runtime turns "\n" into "\r\n"
_MOUNT_POINT = 0xA0000003  # IO_REPARSE_TAG_MOUNT_POINT (a junction); typeshed has stat's only on win32


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



def _is_link(path: Path) -> bool:
    """Whether `path` is a symbolic link or a Windows junction (both redirect a write); False if absent."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise OutputError(f"cannot look at {path}: {exc.strerror}") from exc
    # A junction is a "mount point" reparse point, which lstat does not report as S_ISLNK.
    return stat.S_ISLNK(st.st_mode) or getattr(st, "st_reparse_tag", 0) == _MOUNT_POINT


class PathFolder(Folder):
    """A folder of the output by path, for systems without descriptor-relative calls or O_NOFOLLOW.

    Folder opens every folder relative to its parent's descriptor with O_NOFOLLOW, so a link planted
    in the output can never redirect a write. Windows offers neither (`os.supports_dir_fd` is empty, there
    is no O_NOFOLLOW), so this fallback works by path and, before each write, rename, chmod and removal,
    checks with `os.lstat` that neither the entry's folder nor the file is a symbolic link or a junction.
    That is weaker: a link swapped in between the check and the call (a race that needs write access to
    the output folder, which only its owner has) would be followed. The planner refuses links at plan as
    everywhere; this is the second line, as fsio's descriptors are on POSIX.

    Everything else is as in fsio: the same temporary names, the same order (stage, fsync, rename), files
    created with O_EXCL (which never opens an existing entry, a link included). Files are opened with
    O_BINARY: without it Windows' C runtime would turn "\\n" into "\\r\\n" in a key store.
    """

    def __init__(self, path: Path, *, root: bool = False) -> None:
        super().__init__(-1, path)
        self.root = root

    @classmethod
    def open_root(cls, root: Path) -> Folder:
        if not root.is_dir():  # the output itself may be a link the user made, as with descriptors
            raise OutputError(f"cannot open the output folder {root}: not a folder")
        return cls(root, root=True)

    def _path(self, name: str, doing: str) -> Path:
        """`name` in this folder, once this folder and `name` are known not to be links."""
        if not self.root and _is_link(self.path):
            raise OutputError(f"{self.path} has become a link; mtlsgen never writes through a link")
        path = self.path / name if name else self.path
        if name and _is_link(path):
            raise OutputError(f"cannot {doing} {path}: it is a link, and mtlsgen never writes through a link")
        return path

    def child(self, name: str) -> Folder:
        path = self._path(name, "write into")
        try:
            os.mkdir(path, DIR_MODE)
        except FileExistsError:
            pass
        except OSError as exc:
            raise OutputError(f"cannot create folder {path}: {exc.strerror}") from exc
        st = os.lstat(path)
        if not stat.S_ISDIR(st.st_mode) or _is_link(path):
            raise OutputError(f"{path} is not a folder mtlsgen can write into; it never writes through a link")
        folder = PathFolder(path)
        if st.st_mode & 0o777 != DIR_MODE:  # on Windows a harmless no-op: 0700 keeps it writable
            folder.chmod("", DIR_MODE)
        return folder

    def stage(self, name: str, data: bytes, *, mode: int) -> str:
        tmp = temp_name(name, secrets.token_hex(4))
        path = self._path(tmp, "write")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY | _CLOEXEC, mode)
        except OSError as exc:
            raise OutputError(f"cannot write {self.path / name}: {exc.strerror}") from exc
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
            os.chmod(path, mode)  # the umask narrowed os.open's mode; no fchmod here (Windows: stays writable)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(path)
            if isinstance(exc, OSError):
                raise OutputError(f"cannot write {self.path / name}: {exc.strerror}") from exc
            raise
        return tmp

    def sync_file(self, name: str) -> None:
        path = self._path(name, "write")
        try:
            # Write access: Windows' FlushFileBuffers refuses a handle opened read-only.
            fd = os.open(path, os.O_WRONLY | _NOFOLLOW | _BINARY | _CLOEXEC)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror}") from exc

    def rename(self, old: str, new: str) -> None:
        source, target = self._path(old, "rename"), self._path(new, "replace")
        try:
            os.replace(source, target)  # os.rename refuses an existing target on Windows
        except OSError as exc:
            raise OutputError(f"cannot rename {source} to {new}: {exc.strerror}") from exc

    def chmod(self, name: str, mode: int) -> None:
        path = self._path(name, "change the mode of")
        try:
            os.chmod(path, mode)
        except OSError as exc:
            raise OutputError(f"cannot change the mode of {path}: {exc.strerror}") from exc

    def remove(self, name: str) -> bool:
        path = self.path / name
        if not self.root and _is_link(self.path):
            raise OutputError(f"{self.path} has become a link; mtlsgen never deletes through a link")
        try:
            os.unlink(path)  # a link is removed itself, never its target
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise OutputError(f"cannot delete {path}: {exc.strerror}") from exc
        return True

    def remove_folder_if_empty(self, name: str) -> bool:
        path = self.path / name
        if _is_link(path) or (not self.root and _is_link(self.path)):
            return False
        try:
            os.rmdir(path)
        except OSError:
            return False
        return True

    def sync(self) -> None:
        # POSIX can fsync a folder opened read-only; Windows cannot open one, and commits renames itself.
        with contextlib.suppress(OSError):
            fd = os.open(self.path, os.O_RDONLY | _CLOEXEC)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def drop_temp(self, tmp: str) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.path / tmp)

    def close(self) -> None:
        pass


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
