"""mtlsgen where POSIX is missing (issue 15, item 2), simulated on Linux: nothing here runs Windows.

Every command runs the real CLI in a subprocess whose startup (a sitecustomize.py on PYTHONPATH)
takes away what Windows lacks: `fcntl` is blocked, `os.supports_dir_fd` is empty, and O_NOFOLLOW,
O_DIRECTORY, O_NONBLOCK and fchmod are gone. fsio then picks its by-path fallback (fsio.PathFolder) and the
lock its msvcrt path. Linux has no msvcrt, so the startup provides one with msvcrt.locking's contract
(one byte from the current position, LK_NBLCK fails at once with EDEADLOCK while another process holds
it), built on a real kernel lock (lockf): a stand-in for the missing OS call, not for the file system.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.helpers.common import REPO, one_error_line
from tests.helpers.engine import assert_verifies, snapshot

WINDOWS_LIKE = '''
import errno, os, sys, types
import fcntl as _fcntl  # the stand-in msvcrt below needs the real one; mtlsgen must not see it

sys.modules["fcntl"] = None  # `import fcntl` now raises ImportError, as on Windows
os.supports_dir_fd = set()
for _name in ("O_NOFOLLOW", "O_DIRECTORY", "O_NONBLOCK", "fchmod"):
    delattr(os, _name)

def _locking(fd, mode, nbytes):
    start = os.lseek(fd, 0, os.SEEK_CUR)
    if mode == 0:  # LK_UNLCK
        _fcntl.lockf(fd, _fcntl.LOCK_UN, nbytes, start)
        return
    try:
        _fcntl.lockf(fd, _fcntl.LOCK_EX | _fcntl.LOCK_NB, nbytes, start)
    except OSError:
        raise OSError(errno.EDEADLK, "Resource deadlock avoided") from None

_msvcrt = types.ModuleType("msvcrt")
_msvcrt.LK_UNLCK, _msvcrt.LK_LOCK, _msvcrt.LK_NBLCK, _msvcrt.LK_RLCK, _msvcrt.LK_NBRLCK = range(5)
_msvcrt.locking = _locking
sys.modules["msvcrt"] = _msvcrt
'''

SPEC = """
version: 1
ca: {cn: Portable CA, key: ecdsa-p256, validity: 5y}
defaults: {key: ecdsa-p256, validity: 30d}
servers:
  api:
    sans: [api.test]
    keystore: {formats: [pkcs12], password: {generate: true}}
clients:
  bob: {}
"""


@pytest.fixture
def windows_like(tmp_path: Path) -> dict[str, str]:
    """The environment of a subprocess started as described above; its temporary folder in tmp_path."""
    startup = tmp_path / "startup"
    startup.mkdir()
    (startup / "sitecustomize.py").write_text(textwrap.dedent(WINDOWS_LIKE))
    temp = tmp_path / "temp"
    temp.mkdir()
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(startup), str(REPO)]), "TMPDIR": str(temp),
            "NO_COLOR": "1", "COLUMNS": "120"}


def run(env: dict[str, str], *args: str | Path, code: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", code] if code else [sys.executable, "-m", "mtlsgen"]
    return subprocess.run([*command, *map(str, args)], env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def spec_in(tmp_path: Path, text: str = SPEC) -> Path:
    path = tmp_path / "pki.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def test_the_startup_really_takes_posix_away(windows_like: dict[str, str]) -> None:
    probe = run(windows_like, code="import os\nfrom mtlsgen.engine import fsio\ntry:\n import fcntl\n"
                                   "except ImportError:\n print('no fcntl')\nprint(fsio.BY_DESCRIPTOR, "
                                   "hasattr(os, 'O_NOFOLLOW'), sorted(os.supports_dir_fd))")
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split("\n")[:2] == ["no fcntl", "False False []"]


def test_version_runs_without_fcntl(windows_like: dict[str, str]) -> None:
    result = run(windows_like, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"mtlsgen, version {version('mtlsgen')}\n" and result.stderr == ""


def test_validate_plan_apply_then_a_noop_apply_and_openssl_accepts_the_chain(
        tmp_path: Path, windows_like: dict[str, str]) -> None:
    spec = spec_in(tmp_path)
    assert run(windows_like, "validate", spec).returncode == 0
    planned = run(windows_like, "plan", spec)
    assert planned.returncode == 0, planned.stderr
    assert "api" in planned.stdout and "bob" in planned.stdout

    applied = run(windows_like, "apply", spec)
    assert applied.returncode == 0, applied.stderr
    out = tmp_path / "certs"
    assert_verifies(out / "ca" / "ca.crt", out / "api" / "tls.crt")
    assert_verifies(out / "ca" / "ca.crt", out / "bob" / "tls.crt")
    password = (out / "api" / "keystore.password").read_text().strip()
    p12 = subprocess.run(["openssl", "pkcs12", "-in", str(out / "api" / "keystore.p12"), "-nokeys",
                          "-passin", f"pass:{password}"], capture_output=True, text=True, timeout=30, check=False)
    assert p12.returncode == 0 and "BEGIN CERTIFICATE" in p12.stdout, p12.stderr
    # The by-path writer gives the same modes the descriptor one does, and leaves no temporary file.
    files = {rel: node.mode for rel, node in snapshot(out).items() if not node.is_dir}
    assert files["api/tls.key"] == 0o600 and files["api/tls.crt"] == 0o644 and files["api/keystore.p12"] == 0o600
    assert not [rel for rel in files if rel.endswith(".tmp")]

    before = snapshot(out)
    again = run(windows_like, "apply", spec)
    assert again.returncode == 0, again.stderr
    assert snapshot(out) == before  # not one byte, mode or mtime changed
    # The lock file lives in the temporary folder, not in the output.
    assert [p.suffix for p in (tmp_path / "temp").iterdir()] == [".lock"]


def test_a_link_where_tls_key_goes_is_refused_and_nothing_is_written_through_it(
        tmp_path: Path, windows_like: dict[str, str]) -> None:
    spec = spec_in(tmp_path)
    assert run(windows_like, "apply", spec).returncode == 0
    target = tmp_path / "elsewhere.key"
    target.write_text("the app's own file\n")
    key = tmp_path / "certs" / "bob" / "tls.key"
    key.unlink()
    key.symlink_to(target)

    for command in ("plan", "apply"):
        line = one_error_line(run(windows_like, command, spec))
        assert "certs/bob/tls.key is a symbolic link" in line
    assert target.read_text() == "the app's own file\n" and key.is_symlink()


def test_a_link_planted_after_plan_is_refused_by_the_writer_itself(tmp_path: Path,
                                                                   windows_like: dict[str, str]) -> None:
    """The second line: the planner has passed, then a link appears where a file is to be renamed."""
    target = tmp_path / "elsewhere.key"
    target.write_text("the app's own file\n")
    code = textwrap.dedent(f"""
        from pathlib import Path
        from mtlsgen.errors import OutputError
        from mtlsgen.engine.fsio import Batch, Folder
        root = Path({str(tmp_path / "out")!r})
        root.mkdir()
        folder = Folder.open_root(root).child("bob")
        batch = Batch()
        batch.write(folder, "tls.key", b"secret", mode=0o600)
        (root / "bob" / "tls.key").symlink_to({str(target)!r})
        try:
            batch.commit(1)
        except OutputError as exc:
            print(type(folder).__name__, exc)
    """)
    result = run(windows_like, code=code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("PathFolder cannot replace ") and "is a link" in result.stdout
    assert target.read_text() == "the app's own file\n"
    assert sorted(p.name for p in (tmp_path / "out" / "bob").iterdir()) == ["tls.key"]  # the temp file is gone


def test_a_second_apply_waits_for_the_lock_and_gives_up_at_its_timeout(tmp_path: Path,
                                                                      windows_like: dict[str, str]) -> None:
    spec = spec_in(tmp_path)
    (tmp_path / "certs").mkdir()
    hold = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from mtlsgen.engine.lock import output_lock
        with output_lock(Path({str(tmp_path / "certs")!r})):
            print("held", flush=True)
            sys.stdin.readline()
    """)
    holder = subprocess.Popen([sys.executable, "-c", hold], env=windows_like, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        waited = run(windows_like, "apply", "--lock-timeout", "1s", spec)
        assert waited.returncode == 1 and "Traceback" not in waited.stderr
        told, error = waited.stderr.splitlines()
        assert told.startswith("waiting for another mtlsgen apply to finish writing ")  # no pid known there
        assert error.startswith("error: another mtlsgen apply is writing ")
        assert list((tmp_path / "certs").iterdir()) == []
    finally:
        holder.communicate("\n", timeout=30)
    assert run(windows_like, "apply", spec).returncode == 0  # released with its holder


def test_without_posix_modes_a_chmod_is_not_reported_forever(tmp_path: Path, windows_like: dict[str, str]) -> None:
    """Where files have no POSIX modes (Windows), plan must not promise `0666 → 0600` on every run."""
    spec = spec_in(tmp_path)
    assert run(windows_like, "apply", spec).returncode == 0
    os.chmod(tmp_path / "certs" / "api" / "tls.key", 0o666)
    os.chmod(tmp_path / "certs", 0o755)
    main = "import sys\nfrom mtlsgen.engine import listing\n{}\nfrom mtlsgen.cli import main\nsys.exit(main())"
    posix = run(windows_like, "plan", spec, code=main.format("sys.argv[0] = 'mtlsgen'"))
    assert "0666" in posix.stdout and "0755" in posix.stdout  # where modes exist, they are restored
    no_modes = run(windows_like, "plan", spec,
                   code=main.format("sys.argv[0] = 'mtlsgen'; listing.POSIX_MODES = False"))
    assert no_modes.returncode == 0, no_modes.stderr
    assert "0666" not in no_modes.stdout and "0755" not in no_modes.stdout
    assert "no changes" in no_modes.stdout.lower() or "up to date" in no_modes.stdout.lower(), no_modes.stdout
