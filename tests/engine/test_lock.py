"""The apply lock: one apply at a time per output folder; a second one waits (saying once for whom),
or gives up after --lock-timeout; applies of different folders never wait on each other."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

import mtlsgen
from mtlsgen import LockError, PlanError, load_spec
from mtlsgen.engine.fsio import ensure_output
from mtlsgen.engine.lock import output_lock
from tests.helpers.common import run_cli
from tests.helpers.engine import spec_at


def test_two_specs_sharing_an_output_folder_share_the_lock(tmp_path: Path) -> None:
    first = spec_at(tmp_path / "team")
    copy = tmp_path / "team" / "pki-copy.yaml"
    copy.write_text(first.path.read_text())
    ensure_output(first.output)
    with output_lock(first.output):
        result = run_cli("apply", "--lock-timeout", "1s", copy, timeout=60)
        assert result.returncode == 1
        assert "another mtlsgen apply" in result.stderr and "certs" in result.stderr
        with pytest.raises(LockError):
            mtlsgen.apply(first, lock_timeout=0.2)
    assert list(first.output.iterdir()) == []  # nothing was written while the other held the lock


def test_an_apply_waits_for_the_other_says_so_once_and_then_finishes(tmp_path: Path) -> None:
    spec = spec_at(tmp_path)
    ensure_output(spec.output)
    holding = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with output_lock(spec.output):
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(10)
    waiter = subprocess.Popen([sys.executable, "-m", "mtlsgen", "apply", str(spec.path)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env={**os.environ, "NO_COLOR": "1"})
    # Released only once it says it waits: a loaded machine may take seconds to get that far.
    assert waiter.stderr is not None
    said, _, _ = select.select([waiter.stderr], [], [], 60)
    assert said, "apply never said that it waits"
    first = waiter.stderr.readline()
    assert waiter.poll() is None  # still waiting, not failed
    release.set()
    holder.join(10)
    out, err = waiter.communicate(timeout=60)
    assert waiter.returncode == 0, err
    assert [first.rstrip("\n"), *err.splitlines()] == [
        f"waiting for another mtlsgen apply (pid {os.getpid()}) to finish writing {spec.output}"]
    assert "Applied" in out and mtlsgen.plan(spec).pending == ()


def test_applies_of_different_folders_never_wait_on_each_other(tmp_path: Path) -> None:
    one = spec_at(tmp_path / "one")
    two = spec_at(tmp_path / "two")
    ensure_output(one.output)
    with output_lock(one.output):
        mtlsgen.apply(two, lock_timeout=0.2)  # would raise LockError if it waited on `one`
    assert mtlsgen.plan(two).pending == ()


def test_a_plan_error_on_a_first_apply_creates_nothing(write_spec: Callable[..., Path]) -> None:
    spec = load_spec(write_spec("version: 1\noutput: build/certs\nca: {key: ecdsa-p256}\nclients:\n  bob: {}\n"))
    with pytest.raises(PlanError):
        mtlsgen.apply(spec, replace=["nosuch"])
    assert not spec.output.parent.exists()
