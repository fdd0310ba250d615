"""A CA rotation driven from the command line, its clock moved by faketime (Debian `faketime`), as a
user would rehearse one: `apply --rotate ca` now, then `plan`, `apply` and `status` 8 and 40 days on.

openssl judges the files at each date (`-attime`): under the moved clock the new certificates are
not valid yet at the real one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.common import run_cli
from tests.helpers.engine import write

pytestmark = pytest.mark.skipif(shutil.which("faketime") is None, reason="needs faketime (.ci/run installs it)")

SPEC = """\
version: 1
ca: {key: ecdsa-p256, rollover: {trust_first: 7d, overlap: 30d}}
defaults: {key: ecdsa-p256}
servers:
  api: {sans: [api.example.com], truststore: {formats: [pkcs12]}}
clients:
  alice: {}
"""
DAY = 86400


def at(days: int, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """`mtlsgen ARGS` with the clock `days` ahead (0: the real clock)."""
    command = [sys.executable, "-m", "mtlsgen", *map(str, args)]
    if days:
        command = ["faketime", "-f", f"+{days}d", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"})


def certs_in(path: Path) -> int:
    return path.read_text().count("BEGIN CERTIFICATE")


def verifies(ca: Path, leaf: Path, days: int) -> bool:
    """openssl verify, as of `days` from now."""
    when = str(int(time.time()) + days * DAY + 3600)
    result = subprocess.run(["openssl", "verify", "-attime", when, "-CAfile", str(ca), str(leaf)],
                            capture_output=True, text=True, check=False)
    return result.returncode == 0


def test_a_rotation_through_its_phases_with_a_moved_clock(tmp_path: Path) -> None:
    spec = tmp_path / "pki.yaml"
    write(spec, SPEC)
    out = tmp_path / "certs"
    assert run_cli("apply", spec).returncode == 0
    old_leaf = (out / "alice" / "tls.crt").read_bytes()
    (tmp_path / "old-ca.crt").write_bytes((out / "ca" / "ca.crt").read_bytes())

    started = at(0, "apply", "--rotate", "ca", spec)
    assert started.returncode == 0, started.stderr
    assert "rotate" in started.stdout and "next.crt" in started.stdout
    assert certs_in(out / "alice" / "ca.crt") == 2  # trust first: both CAs
    assert (out / "alice" / "tls.crt").read_bytes() == old_leaf  # leaves untouched
    status = json.loads(at(1, "status", "--json", spec).stdout)
    assert [(r["ca"], r["phase"], r["next_step"]) for r in status["rotations"]] == [("ca", "trust_first", "move")]
    assert at(1, "plan", "--detailed-exitcode", spec).returncode == 0  # nothing to do before trust_first

    planned = at(8, "plan", spec)
    assert "rotate" in planned.stdout and "moves to ca's new CA" in planned.stdout, planned.stdout
    assert at(8, "apply", spec).returncode == 0
    assert (out / "ca" / "previous.crt").read_bytes() == (tmp_path / "old-ca.crt").read_bytes()
    assert not (out / "ca" / "next.crt").exists()
    assert verifies(out / "ca" / "ca.crt", out / "alice" / "tls.crt", 8)
    assert not verifies(tmp_path / "old-ca.crt", out / "alice" / "tls.crt", 8)
    assert certs_in(out / "api" / "ca.crt") == 2  # overlap: still both
    status = json.loads(at(9, "status", "--json", spec).stdout)
    assert [(r["phase"], r["next_step"]) for r in status["rotations"]] == [("overlap", "finish")]
    assert at(9, "plan", "--detailed-exitcode", spec).returncode == 0

    assert at(40, "apply", spec).returncode == 0
    assert certs_in(out / "api" / "ca.crt") == 1  # finished: only the new CA
    status = json.loads(at(40, "status", "--json", spec).stdout)
    assert [r["phase"] for r in status["rotations"]] == ["finished"]
    assert at(41, "plan", "--detailed-exitcode", spec).returncode == 0


def test_rotate_refuses_a_leaf_and_an_unknown_name(tmp_path: Path) -> None:
    spec = tmp_path / "pki.yaml"
    write(spec, SPEC)
    for name, words in (("alice", "only a CA rotates"), ("nobody", "no such entry")):
        result = run_cli("apply", "--rotate", name, spec)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 1 and len(lines) == 1, result.stderr
        assert lines[0].startswith(f"error: --rotate {name}: ") and words in lines[0]
    assert not (tmp_path / "certs").exists()
