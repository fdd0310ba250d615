"""Shared test helpers: spec files in tmp_path and the CLI run as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


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


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[..., Path]:
    """Write a dedented spec to tmp_path/pki.yaml (or `name`) and return its path."""

    def write(text: str, name: str = "pki.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write
