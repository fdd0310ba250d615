"""The `mtlsgen-validate` hook of .pre-commit-hooks.yaml, run the way pre-commit runs it: its entry,
split like a shell would, with every changed file whose path matches `files` appended."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from tests.helpers.common import REPO, SMALL_SPEC

HOOKS = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())


def test_the_hook_is_declared_for_spec_files() -> None:
    (hook,) = HOOKS
    assert (hook["id"], hook["language"]) == ("mtlsgen-validate", "python")
    matches = [path for path in ("pki.yaml", "infra/pki.yml", "pki.yaml.bak", "mypki.yaml", "other.yaml")
               if re.search(hook["files"], path)]  # pre-commit matches `files` with re.search
    assert matches == ["pki.yaml", "infra/pki.yml"]


def test_the_hook_checks_every_file_and_fails_on_any_invalid_one(tmp_path: Path) -> None:
    (hook,) = HOOKS
    good, bad = tmp_path / "pki.yaml", tmp_path / "infra" / "pki.yml"
    bad.parent.mkdir()
    good.write_text(SMALL_SPEC)
    bad.write_text(SMALL_SPEC.replace("validity: 30d", "validty: 30d"))
    env = {**os.environ, "NO_COLOR": "1", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

    def run(*files: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*shlex.split(hook["entry"]), *map(str, files)], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60, check=False)

    assert run(good).returncode == 0
    both = run(bad, good)  # the bad one first: the good one is still checked
    assert both.returncode == 1
    assert "pki.yml:4: defaults.validty" in both.stderr and "did you mean 'validity'" in both.stderr
    assert f"{good}: valid (1 CA, 2 certificates)" in both.stdout
