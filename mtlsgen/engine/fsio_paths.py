"""The output folder by path, for systems without descriptor-relative calls or O_NOFOLLOW (Windows).

fsio.Folder opens every folder relative to its parent's descriptor with O_NOFOLLOW, so a link planted
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

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from ..errors import OutputError
from .fsio import POSIX_MODES, Folder
from .layout import DIR_MODE, temp_name

_BINARY = getattr(os, "O_BINARY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # 0 on Windows; on a POSIX system forced onto this path, kept
_MOUNT_POINT = 0xA0000003  # IO_REPARSE_TAG_MOUNT_POINT (a junction); typeshed has stat's only on win32


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
    """A folder of the output, by path; `fd` is -1 (there is no descriptor to hold)."""

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
        if POSIX_MODES and st.st_mode & 0o777 != DIR_MODE:
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
            if POSIX_MODES:
                os.chmod(path, mode)  # the umask narrowed os.open's mode; no fchmod on this path
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
