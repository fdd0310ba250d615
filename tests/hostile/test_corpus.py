"""The hostile-input corpus (issue 10): every case through `validate`, `plan` and `apply` as a user runs them.

For each case (tests/hostile/cases.py) and each command: the exit code the case expects (1 with
exactly one `error: ` line, or 0 where only the disk shows the problem and the command is validate),
no traceback, no password on stdout or stderr, and no path under tmp_path created, changed,
chmod-ed or deleted — except, for apply, inside the output folder. validate and plan change nothing
at all, output folder included.

Every case runs `validate` as a subprocess. A spec that validate refuses (apply must then write nothing
either) goes through `plan` and `apply` in-process with click's CliRunner when it is plain text —
the same `main`, exit code and stderr, at a hundredth of the cost of starting Python with every
module again (about 0.3 s) — and as subprocesses when a special file is involved (a FIFO, a device),
where a hang must end in a timeout. Otherwise validate and plan run side by side as subprocesses
(neither may change anything), then apply alone.
"""

from __future__ import annotations

import os
import subprocess
import traceback
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from mtlsgen.cli import main
from tests.hostile.cases import CASES, FAIL, GOLDEN_SPEC, IMPORT_SPEC, OK, Case
from tests.hostile.harness import (
    COMMANDS,
    ENV,
    SECRETS,
    TIMEOUT,
    World,
    contract_problems,
    differences,
    generated_passwords,
    run_hostile,
    snapshot,
)

Result = subprocess.CompletedProcess[str] | str


def _run(command: str, world: World) -> Result:
    try:
        return run_hostile(command, world.spec, cwd=world.project, env=world.env)
    except subprocess.TimeoutExpired:
        return f"no answer after {TIMEOUT:g} s (killed): it hangs"


def _run_in_process(command: str, world: World) -> Result:
    """The command through click's CliRunner, its result shaped as a subprocess's: an exception
    other than SystemExit is what a traceback would have been."""
    result = CliRunner().invoke(main, [command, str(world.spec)], env={"NO_COLOR": "1", "COLUMNS": "120",
                                                                        **world.env})
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "Traceback (in process):\n" + "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess([command], result.exit_code, result.stdout, stderr)


def _run_together(commands: tuple[str, ...], world: World) -> dict[str, Result]:
    with ThreadPoolExecutor(max_workers=len(commands)) as pool:
        futures = {command: pool.submit(_run, command, world) for command in commands}
        return {command: future.result() for command, future in futures.items()}


def _world(case: Case, tmp_path: Path, cas: Mapping[str, tuple[bytes, bytes]], golden: Path) -> World:
    world = World(tmp_path, cas, golden)
    for name in case.unset:
        world.env.pop(name, None)
    if case.spec is not None:
        world.write("pki.yaml", case.spec)
    if case.setup is not None:
        case.setup(world)
    return world


def test_the_corpus_is_large_and_its_ids_unique() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) >= 150
    assert len(set(ids)) == len(ids)
    for case in CASES:
        assert case.expect[2] == FAIL, case.id  # every case is something apply must refuse
        assert case.expect[0] == OK or case.expect[1] == FAIL, case.id  # an invalid spec fails every command


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in CASES])
def test_hostile_input_fails_cleanly_and_touches_nothing_outside(
        case: Case, tmp_path: Path, corp_cas: dict[str, tuple[bytes, bytes]], golden: Path) -> None:
    world = _world(case, tmp_path, corp_cas, golden)
    secrets = [*SECRETS, *generated_passwords(world.output)]
    problems: list[str] = []
    expected = dict(zip(COMMANDS, case.expect, strict=True))
    read_only = COMMANDS if case.expect[0] == FAIL else ("validate", "plan")

    before = snapshot(tmp_path, output=None)
    if case.expect[0] == FAIL and case.setup is None:  # an invalid spec, plain text
        results = {"validate": _run("validate", world)}
        results.update((command, _run_in_process(command, world)) for command in ("plan", "apply"))
    else:
        results = _run_together(read_only, world)
    for command, result in results.items():
        problems += contract_problems(command, expected[command], result, secrets, case.match)
    changed = differences(before, snapshot(tmp_path, output=None))
    if changed:
        problems.append(f"{'/'.join(read_only)} changed files: " + "; ".join(changed[:6]))

    if "apply" not in read_only:
        before = snapshot(tmp_path, output=world.output)
        fresh = not os.path.lexists(world.output)
        result = _run("apply", world)
        secrets += generated_passwords(world.output)
        problems += contract_problems("apply", expected["apply"], result, secrets, case.match)
        changed = differences(before, snapshot(tmp_path, output=world.output))
        if changed:
            problems.append("apply changed files outside the output folder: " + "; ".join(changed[:6]))
        failed = not isinstance(result, subprocess.CompletedProcess) or result.returncode != 0
        if fresh and failed and world.output.is_dir():
            # a plan error creates nothing, not even the output folder (docs/spec.md)
            problems.append("apply failed but created the output folder: "
                            + ", ".join(sorted(p.name for p in world.output.iterdir())[:6]))

    assert not problems, "\n".join(problems)


# --- controls: without the hostile part, the same worlds work, so each failure above is the case's own ---

@pytest.mark.parametrize(("spec", "golden_output", "ca"), [
    pytest.param(GOLDEN_SPEC, True, None, id="golden-output-is-a-no-op"),
    pytest.param(GOLDEN_SPEC, False, None, id="golden-spec-fresh"),
    pytest.param(IMPORT_SPEC, False, "good", id="imported-ecdsa-ca"),
    pytest.param(IMPORT_SPEC, False, "rsa-2048", id="imported-rsa-2048-ca"),
    pytest.param(IMPORT_SPEC.replace("key: corp.key}", "key: corp.key, password: {env: HOSTILE_IMPORT_PW}}"),
                 False, "encrypted", id="imported-encrypted-ca"),
])
def test_controls_pass_every_command(tmp_path: Path, corp_cas: dict[str, tuple[bytes, bytes]], golden: Path,
                                     spec: str, golden_output: bool, ca: str | None) -> None:
    world = World(tmp_path, corp_cas, golden)
    world.write("pki.yaml", spec)
    if golden_output:
        world.install_golden()
    if ca is not None:
        world.import_ca(ca)
    secrets = [*SECRETS, *generated_passwords(world.output)]
    for command in COMMANDS:
        before = snapshot(tmp_path, output=world.output if command == "apply" else None)
        result = _run(command, world)
        problems = contract_problems(command, OK, result, [*secrets, *generated_passwords(world.output)])
        assert not problems, "\n".join(problems)
        assert not differences(before, snapshot(tmp_path, output=world.output if command == "apply" else None))
    assert world.env == ENV


def test_a_hard_link_in_the_output_is_replaced_never_written_through(
        tmp_path: Path, corp_cas: dict[str, tuple[bytes, bytes]], golden: Path) -> None:
    # A hard link is a regular file: nothing tells it from mtlsgen's own but its link count. Not
    # a key, so it is reissued — by a rename, which leaves the other name (outside) as it was.
    world = World(tmp_path, corp_cas, golden)
    world.write("pki.yaml", GOLDEN_SPEC)
    world.install_golden()
    key = world.output / "api" / "tls.key"
    key.unlink()
    os.link(world.outside / "secret.txt", key)
    before = snapshot(tmp_path, output=world.output)
    for command in ("plan", "apply"):
        result = _run(command, world)
        problems = contract_problems(command, OK, result, [*SECRETS, *generated_passwords(world.output)])
        assert not problems, "\n".join(problems)
        assert not differences(before, snapshot(tmp_path, output=world.output))
    assert key.read_bytes() != (world.outside / "secret.txt").read_bytes()
