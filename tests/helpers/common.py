"""Helpers every test folder uses: the CLI run as a real subprocess, spec lines, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mtlsgen import Plan

REPO = Path(__file__).resolve().parents[2]

# A small ECDSA spec: a root CA, one server, one client.
SMALL_SPEC = """
version: 1
ca: {cn: UX CA, key: ecdsa-p256, validity: 5y}
defaults: {key: ecdsa-p256, validity: 30d}
servers:
  api: {sans: [api.test]}
clients:
  bob: {}
"""


def key_keeping_spec(extra: str = "") -> str:
    """A client that keeps its key, with `extra` lines under it."""
    return "version: 1\nca: {key: ecdsa-p256}\nclients:\n  alice:\n    key_rotation: never\n" + extra + "\n"


def line_of(spec: Path, text: str) -> int:
    """The 1-based line of the spec that contains `text`."""
    return next(i for i, line in enumerate(spec.read_text().splitlines(), start=1) if text in line)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single `error: …` line a failed command printed, after checking it is exactly that."""
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in result.stderr
    return lines[0]


def public_key_of(key_file: Path, password: bytes | None = None) -> bytes:
    """The SubjectPublicKeyInfo of a PEM private key file: the same key, whatever its encryption."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(key_file.read_bytes(), password)
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def run_cli(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`python -m mtlsgen ARGS` in a subprocess: stdout, stderr and exit code as a user sees them."""
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120", **(env or {})}
    return subprocess.run([sys.executable, "-m", "mtlsgen", *map(str, args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def texts(plan: Plan, name: str) -> tuple[str, ...]:
    """The words `plan` prints for one change's reasons (the CLI's rendering of the typed reasons)."""
    from mtlsgen.cli.render import reason_texts

    return tuple(reason_texts(plan, plan[name]))
