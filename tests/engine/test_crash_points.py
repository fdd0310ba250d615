"""A run killed at any point is finished by the next plain `apply`.

strace kills `mtlsgen apply` exactly before its K-th rename (every file lands by a rename), for every K
until the run completes — a first run, a reissue, `--replace ca` and a revocation — and after each
kill a plain apply must converge: exit 0, then nothing left to plan, every chain and store good, no
temporary file left, and the CA key either the old one or the new one (never a third, never lost).
Random-timed kills almost never land in the ~0.2 s write phase (docs: PITFALLS), hence strace.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12

import mtlsgen
from tests.helpers.common import public_key_of
from tests.helpers.engine import STORES_AND_CRL_SPEC, assert_verifies, cert, write

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace (.ci/run installs it)")

SPEC = STORES_AND_CRL_SPEC
MAX_RENAMES = 80  # far more than any scenario makes; reaching it means the run never completed


RENAMES = "rename,renameat,renameat2"


def _apply_killed_at(folder: Path, k: int, args: tuple[str, ...], sig: str,
                     syscalls: str = RENAMES) -> subprocess.CompletedProcess[str]:
    """`mtlsgen apply ARGS` with `sig` delivered just before the k-th call of each of `syscalls`."""
    command = ["strace", "-f", "-qq", "-o", os.devnull, "-e", f"inject={syscalls}:signal={sig}:when={k}",
               sys.executable, "-m", "mtlsgen", "apply", *args, str(folder / "pki.yaml")]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "NO_COLOR": "1"})


def _check_converged(folder: Path, ca_keys: set[bytes] | None) -> None:
    """A plain apply finishes the job; `ca_keys` are the CA keys allowed then (None: any, a first run)."""
    spec = mtlsgen.load_spec(folder / "pki.yaml")
    recovery = subprocess.run([sys.executable, "-m", "mtlsgen", "apply", str(folder / "pki.yaml")],
                              capture_output=True, text=True, timeout=120, check=False)
    assert recovery.returncode == 0, recovery.stderr
    assert mtlsgen.plan(spec).pending == ()
    out = folder / "certs"
    leftovers = [p.relative_to(out).as_posix() for p in out.rglob("*") if p.name.endswith((".tmp", ".next"))]
    assert leftovers == []
    assert ca_keys is None or public_key_of(out / "ca" / "ca.key") in ca_keys
    for entry in spec.entries:
        if entry.is_ca or entry.revoked:
            continue
        assert_verifies(out / entry.name / "ca.crt", out / entry.name / "tls.crt")
    password = (out / "api" / "keystore.password").read_text().strip().encode()
    store = pkcs12.load_pkcs12((out / "api" / "keystore.p12").read_bytes(), password)
    assert store.cert is not None and store.cert.certificate == cert(out / "api" / "tls.crt")


def _applied(folder: Path, then: str | None = None) -> None:
    """SPEC applied in `folder`; then the spec edited to `then` (the change the killed run carries out)."""
    folder.mkdir(parents=True)
    write(folder / "pki.yaml", SPEC)
    mtlsgen.apply(mtlsgen.load_spec(folder / "pki.yaml"))
    if then is not None:
        assert then != SPEC, "the edit must change the spec"
        write(folder / "pki.yaml", then)


def _first_run(folder: Path) -> tuple[str, ...]:
    folder.mkdir(parents=True)
    write(folder / "pki.yaml", SPEC)
    return ()


def _reissue(folder: Path) -> tuple[str, ...]:
    _applied(folder, SPEC.replace("sans: [api.example.com]", "sans: [api.example.com, new.example.com]"))
    return ()


def _replace_ca(folder: Path) -> tuple[str, ...]:
    _applied(folder)
    return ("--replace", "ca")


def _revoke(folder: Path) -> tuple[str, ...]:
    _applied(folder, SPEC.replace("  bob: {key_rotation: never}", "  bob: {revoked: true}"))
    return ()


ROTATING = SPEC.replace("crl: {validity: 30d}}", "crl: {validity: 30d}, rollover: {trust_first: 1h, overlap: 1d}}")


def _rotation_started(folder: Path, started: timedelta) -> None:
    """ROTATING applied two days ago, and a rotation of its root started `started` ago."""
    assert ROTATING != SPEC
    folder.mkdir(parents=True)
    write(folder / "pki.yaml", ROTATING)
    spec = mtlsgen.load_spec(folder / "pki.yaml")
    now = datetime.now(timezone.utc)
    mtlsgen.apply(spec, now=now - timedelta(days=2))
    mtlsgen.apply(spec, now=now - started, rotate=["ca"])


def _rotate_start(folder: Path) -> tuple[str, ...]:
    folder.mkdir(parents=True)
    write(folder / "pki.yaml", ROTATING)
    mtlsgen.apply(mtlsgen.load_spec(folder / "pki.yaml"), now=datetime.now(timezone.utc) - timedelta(days=1))
    return ("--rotate", "ca")


def _rotate_move(folder: Path) -> tuple[str, ...]:
    _rotation_started(folder, timedelta(hours=2))  # trust_first (1h) has passed: this apply moves
    return ()


def _rotate_finish(folder: Path) -> tuple[str, ...]:
    _rotation_started(folder, timedelta(hours=30))
    # Moved 27 hours ago: the overlap (1 day) is over, this apply renames previous.* to retired.*.
    mtlsgen.apply(mtlsgen.load_spec(folder / "pki.yaml"), now=datetime.now(timezone.utc) - timedelta(hours=27))
    return ()


SCENARIOS: dict[str, Callable[[Path], tuple[str, ...]]] = {
    "first-run": _first_run, "reissue": _reissue, "replace-ca": _replace_ca, "revocation": _revoke,
    "rotate-start": _rotate_start, "rotate-move": _rotate_move, "rotate-finish": _rotate_finish}
# A revocation writes one CRL and deletes files: kill it before deletions as well as renames.
SYSCALLS = {"revocation": f"{RENAMES},unlink,unlinkat,rmdir", "rotate-move": f"{RENAMES},unlink,unlinkat",
            "rotate-finish": f"{RENAMES},unlink,unlinkat"}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_kill_before_any_rename_is_finished_by_a_plain_apply(tmp_path: Path, scenario: str) -> None:
    template = tmp_path / "template"
    args = SCENARIOS[scenario](template)
    ca_key = template / "certs" / "ca" / "ca.key"
    old_keys = {public_key_of(ca_key)} if ca_key.exists() else set()
    tried = 0
    for k in range(1, MAX_RENAMES):
        folder = tmp_path / f"k{k}"
        shutil.copytree(template, folder, symlinks=True)
        killed = _apply_killed_at(folder, k, args, "SIGKILL", SYSCALLS.get(scenario, RENAMES))
        if killed.returncode == 0:
            break  # fewer than k renames: the run completed
        assert killed.returncode in (-signal.SIGKILL, 128 + signal.SIGKILL, 137), killed.stderr
        tried += 1
        new_key = folder / "certs" / "ca" / "ca.key"
        staged = folder / "certs" / "ca" / "ca.key.next"
        # Whatever the kill left, the CA key ends as the old one or as the new one the run made.
        made = {public_key_of(p) for p in (new_key, staged) if p.exists()} if scenario == "replace-ca" else set()
        if scenario == "rotate-move":  # the move is due: the CA key ends as the incoming one, whatever the kill
            _check_converged(folder, {public_key_of(template / "certs" / "ca" / "next.key")})
        else:
            _check_converged(folder, (old_keys | made) or None)
        shutil.rmtree(folder)
    else:
        pytest.fail(f"the run never completed within {MAX_RENAMES} renames")
    assert tried >= 3, f"only {tried} crash points: the scenario writes too little to test"


@pytest.mark.parametrize("k", [1, 4, 9])
def test_ctrl_c_during_apply_is_one_line_and_the_next_apply_finishes(tmp_path: Path, k: int) -> None:
    folder = tmp_path / "pki"
    _first_run(folder)
    interrupted = _apply_killed_at(folder, k, (), "SIGINT")
    assert interrupted.returncode == 130, interrupted.stderr
    lines = interrupted.stderr.strip().splitlines()
    assert lines[-1].startswith("error: interrupted") and "Traceback" not in interrupted.stderr
    assert list((folder / "certs").rglob("*.tmp")) == []  # the interrupted write removed its temporary file
    _check_converged(folder, None)
