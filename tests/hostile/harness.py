"""The hostile corpus's machinery: a world of folders, snapshots of it, the CLI run with caps.

A world is tmp_path holding `project/` (the spec, password files, an imported CA; the output folder is
`project/certs`) and a sibling `outside/` with files a planted symlink may point at. A snapshot records
every path under tmp_path with lstat (never following a link): type, mode, mtime, and the bytes of
regular files, so that a write, chmod, delete or creation anywhere shows as a difference.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# Recognisable passwords: none may ever appear on stdout or stderr, whole or by their middle part.
LITERAL_PW = "lit-Q7x9Lm2p-pw"
ENV_PW = "env-K3m8Vd5q-pw"
FILE_PW = "file-Z5r2Hs8w-pw"
IMPORT_PW = "imp-W4t6Jc1n-pw"
NON_ASCII_PW = "pässwört-N8v1Gx4b"
SECRETS = (LITERAL_PW, ENV_PW, FILE_PW, IMPORT_PW, NON_ASCII_PW)
ENV = {"HOSTILE_ENV_PW": ENV_PW, "HOSTILE_IMPORT_PW": IMPORT_PW, "HOSTILE_NON_ASCII": NON_ASCII_PW}

COMMANDS = ("validate", "plan", "apply")
TIMEOUT = 20.0  # a hang (a FIFO read without a writer) becomes a failure, not a stuck suite
MEMORY_KIB = 1024 * 1024  # 1 GiB of address space: reading /dev/zero fails in the child, not the machine

# The files of `outside/`: (path, bytes, mode). Symlinks planted in the output point at them.
OUTSIDE_FILES = (
    ("app/tls.key", b"outside: the application's own key\n", 0o644),
    ("app/tls.crt", b"outside: the application's certificate\n", 0o644),
    ("app/ca.crt", b"outside: the application's CA\n", 0o644),
    ("app/notes.txt", b"outside: notes\n", 0o664),
    ("ca/ca.key", b"outside: another CA's key\n", 0o640),
    ("ca/ca.crt", b"outside: another CA's certificate\n", 0o644),
    ("secret.txt", b"outside: a secret\n", 0o600),
    ("public.txt", b"outside: public\n", 0o644),
    ("keystore.password", b"outside: someone's password\n", 0o644),
    ("empty/.keep", b"", 0o644),
)


@dataclass
class World:
    """The folders of one case; `setup` functions plant their hostility here."""

    root: Path
    cas: Mapping[str, tuple[bytes, bytes]]
    golden: Path
    spec: Path = field(init=False)
    env: dict[str, str] = field(default_factory=lambda: dict(ENV))

    def __post_init__(self) -> None:
        self.project.mkdir()
        self.spec = self.project / "pki.yaml"
        (self.project / "store.pw").write_text(FILE_PW + "\n", encoding="utf-8")
        (self.project / "nonascii.pw").write_text(NON_ASCII_PW + "\n", encoding="utf-8")
        for name, data, mode in OUTSIDE_FILES:
            path = self.outside / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            path.chmod(mode)
        (self.outside / "app").chmod(0o755)

    @property
    def project(self) -> Path:
        return self.root / "project"

    @property
    def outside(self) -> Path:
        return self.root / "outside"

    @property
    def output(self) -> Path:
        return self.project / "certs"

    def write(self, name: str, data: str | bytes) -> Path:
        path = self.project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_bytes(data)
        return path

    def install_golden(self) -> None:
        """The output folder as an apply of GOLDEN_SPEC made it (copied, modes and all)."""
        shutil.copytree(self.golden, self.output, symlinks=True)

    def import_ca(self, name: str, *, cert: str = "corp.crt", key: str = "corp.key") -> None:
        cert_pem, key_pem = self.cas[name]
        self.write(cert, cert_pem)
        self.write(key, key_pem).chmod(0o600)

    def relink(self, inside: str, target: Path) -> None:
        """Replace `inside` (a path in the output folder) with a symlink to `target`, relative."""
        path = self.output / inside
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif os.path.lexists(path):
            path.unlink()
        path.symlink_to(os.path.relpath(target, path.parent))


Entry = tuple[str, ...]


def snapshot(root: Path, output: Path | None) -> dict[str, Entry]:
    """Every path under `root`, by lstat. With `output`, the output folder's contents are left out
    (apply may write there) — unless it is not a folder (a file, a link), which is then recorded —
    and so is the modification time of the folder holding it (creating the output changes that)."""
    out: dict[str, Entry] = {}

    def visit(path: Path) -> None:
        st = os.lstat(path)
        rel = path.relative_to(root).as_posix()
        mode = oct(stat.S_IMODE(st.st_mode))
        if stat.S_ISDIR(st.st_mode):
            if output is not None and path == output:
                return  # the output folder: its contents are apply's to change
            mtime = "" if output is not None and path == output.parent else str(st.st_mtime_ns)
            out[rel] = ("dir", mode, mtime)
            for child in sorted(os.listdir(path)):
                visit(path / child)
        elif stat.S_ISLNK(st.st_mode):
            out[rel] = ("link", os.readlink(path), str(st.st_mtime_ns))
        elif stat.S_ISREG(st.st_mode):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            out[rel] = ("file", mode, str(st.st_mtime_ns), digest)
        else:  # a FIFO or socket a case planted: never opened
            out[rel] = ("special", mode, str(st.st_mtime_ns), oct(stat.S_IFMT(st.st_mode)))

    visit(root)
    return out


def differences(before: dict[str, Entry], after: dict[str, Entry]) -> list[str]:
    lines = []
    for path in sorted(before.keys() | after.keys()):
        old, new = before.get(path), after.get(path)
        if old == new:
            continue
        if old is None:
            lines.append(f"{path}: created")
        elif new is None:
            lines.append(f"{path}: deleted")
        else:
            lines.append(f"{path}: changed {old} → {new}")
    return lines


def run_hostile(command: str, spec: Path, *, cwd: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -m mtlsgen COMMAND SPEC` as tests.helpers.common.run_cli runs it, plus two caps: a
    timeout (TimeoutExpired, reported by the caller) and 1 GiB of address space (`ulimit -v`), so a
    read of /dev/zero ends in the child instead of taking the machine's memory. No HOSTILE_ variable
    is inherited: each case says which ones are set."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("HOSTILE_")}
    full_env = {**base, "NO_COLOR": "1", "COLUMNS": "120", **env}
    argv = ["sh", "-c", f'ulimit -v {MEMORY_KIB} 2>/dev/null; exec "$0" "$@"', sys.executable, "-m", "mtlsgen",
            command, str(spec)]
    return subprocess.run(argv, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=TIMEOUT,
                          check=False)


def generated_passwords(output: Path) -> list[str]:
    """The passwords mtlsgen generated into the output folder (regular files only, links not followed)."""
    found: list[str] = []
    if not output.is_dir() or output.is_symlink():
        return found
    for folder, _dirs, files in os.walk(output):
        for name in files:
            path = Path(folder) / name
            if name.endswith(".password") and stat.S_ISREG(os.lstat(path).st_mode):
                text = path.read_text(encoding="utf-8", errors="replace").strip()
                if len(text) >= 8:
                    found.append(text)
    return found


def leaked(text: str, secrets: list[str]) -> list[str]:
    """The secrets (or their 8-character middle part) that `text` shows."""
    out = []
    for secret in secrets:
        middle = secret[len(secret) // 2 - 4: len(secret) // 2 + 4]
        if secret in text or middle in text:
            out.append(secret)
    return out


def contract_problems(command: str, expected: str, result: subprocess.CompletedProcess[str] | str,
                      secrets: list[str], match: str = "") -> list[str]:
    """What is wrong with one command's result, as lines naming the command; [] when all holds.

    `expected` "fail": exit 1, exactly one stderr line starting with `error: ` (holding `match`).
    `expected` "ok": exit 0. Both: no traceback, no password on stdout or stderr.
    """
    if isinstance(result, str):  # the run did not finish
        return [f"{command}: {result}"]
    problems = []
    both = result.stdout + result.stderr
    first = result.stderr.strip().splitlines()[:1]
    said = f" (stderr: {first[0][:160]!r})" if first else " (stderr empty)"
    if "Traceback" in both:
        last = [ln for ln in result.stderr.strip().splitlines() if ln.strip()][-1:] or [""]
        problems.append(f"{command}: Traceback: {last[0][:200]}")
    if expected == "fail":
        lines = result.stderr.strip().splitlines()
        if result.returncode != 1:
            problems.append(f"{command}: exit {result.returncode}, expected 1{said}")
        elif len(lines) != 1:
            problems.append(f"{command}: {len(lines)} stderr lines, expected 1: {result.stderr[:300]!r}")
        elif not lines[0].startswith("error: "):
            problems.append(f"{command}: stderr does not start with 'error: ': {lines[0][:200]!r}")
        elif match and match not in lines[0]:
            problems.append(f"{command}: {match!r} not in {lines[0][:200]!r}")
    elif result.returncode != 0:
        problems.append(f"{command}: exit {result.returncode}, expected 0{said}")
    for secret in leaked(both, secrets):
        problems.append(f"{command}: a password is in the output ({secret[:3]}…)")
    return problems
