"""Fixtures for every test folder; plain helpers live in tests/helpers/."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[..., Path]:
    """Write a dedented spec to tmp_path/pki.yaml (or `name`) and return its path."""

    def write(text: str, name: str = "pki.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write
