"""apply carries out the plan and nothing else: for each kind of change, the files apply writes,
chmods and removes are exactly those the plan listed, and every other file keeps its bytes and mtime."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import mtlsgen
from tests.helpers.engine import STORES_AND_CRL_SPEC, snapshot, spec_at, write

SPEC = STORES_AND_CRL_SPEC


def _edit(old: str, new: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        spec = folder / "pki.yaml"
        write(spec, spec.read_text().replace(old, new))
    return edit


def _unlink(rel: str) -> Callable[[Path], None]:
    return lambda folder: (folder / "certs" / rel).unlink()


def _chmod(rel: str, mode: int) -> Callable[[Path], None]:
    return lambda folder: (folder / "certs" / rel).chmod(mode)


CASES: dict[str, Callable[[Path], None]] = {
    "san-added": _edit("sans: [api.example.com]", "sans: [api.example.com, new.example.com]"),
    "key-type": _edit("  alice: {}", "  alice: {key: ecdsa-p384}"),
    "key-password-added": _edit("  bob: {key_rotation: never}",
                                "  bob: {key_rotation: never, key_password: {generate: true}}"),
    "store-dropped": _edit("    truststore: {formats: [pkcs12]}\n", ""),
    "store-password-lost": _unlink("api/keystore.password"),
    "bundle-deleted": _unlink("alice/ca.crt"),
    "mode-loosened": _chmod("bob/tls.key", 0o644),
    "revoked": _edit("  alice: {}", "  alice: {revoked: true}"),
    "gitignore-deleted": _unlink(".gitignore"),
    "crl-deleted": _unlink("ca/ca.crl"),
}


@pytest.mark.parametrize("case", CASES)
def test_apply_touches_exactly_the_files_the_plan_lists(tmp_path: Path, case: str) -> None:
    mtlsgen.apply(spec_at(tmp_path, SPEC))
    CASES[case](tmp_path)
    _apply_is_the_plan(tmp_path)


ROTATING = SPEC.replace("crl: {validity: 30d}}", "crl: {validity: 30d}, rollover: {trust_first: 7d, overlap: 30d}}")
T0 = datetime.now(timezone.utc) - timedelta(days=60)
# A rotation's steps: (what apply is asked, at what time), each after the ones before it.
STEPS: list[tuple[str, datetime, tuple[str, ...]]] = [
    ("start", T0 + timedelta(days=1), ("ca",)),
    ("move", T0 + timedelta(days=9), ()),
    ("finish", T0 + timedelta(days=40), ()),
]


@pytest.mark.parametrize("step", [name for name, _, _ in STEPS])
def test_each_step_of_a_rotation_touches_exactly_the_files_the_plan_lists(tmp_path: Path, step: str) -> None:
    spec = spec_at(tmp_path, ROTATING)
    mtlsgen.apply(spec, now=T0)
    for name, now, rotate in STEPS:
        if name == step:
            _apply_is_the_plan(tmp_path, now=now, rotate=rotate)
            return
        mtlsgen.apply(spec, now=now, rotate=rotate)


def _apply_is_the_plan(tmp_path: Path, *, now: datetime | None = None, rotate: tuple[str, ...] = ()) -> None:
    out = tmp_path / "certs"
    spec = mtlsgen.load_spec(tmp_path / "pki.yaml")
    before = snapshot(out)
    plan = mtlsgen.plan(spec, now=now, rotate=rotate)
    assert plan.pending, "the case must plan a change"

    def at(change: mtlsgen.Change, name: str) -> str:
        folder = "" if change.scope == "output" else f"{change.name}/"
        return f"{folder}{name}".rstrip("/")

    planned_writes = {at(c, f) for c in plan.pending for f in c.files}
    planned_removals = {at(c, f) for c in plan.pending for f in c.remove}
    planned_chmods = {at(c, f) for c in plan.pending for f in c.chmod}

    _, result = mtlsgen.apply(spec, now=now, rotate=rotate)
    written = {p.relative_to(out).as_posix() for p in result.written}
    assert written == planned_writes
    after = snapshot(out)
    files_changed = {rel for rel in before.keys() | after.keys()
                     if not (before.get(rel) and before[rel].is_dir) and not (after.get(rel) and after[rel].is_dir)
                     and (rel not in before or rel not in after or before[rel].data != after[rel].data
                          or before[rel].mtime_ns != after[rel].mtime_ns)}
    assert files_changed == planned_writes | planned_removals
    modes_changed = {rel for rel in before.keys() & after.keys() if before[rel].mode != after[rel].mode}
    assert modes_changed <= planned_chmods | planned_writes
    assert planned_chmods <= modes_changed | planned_writes
    assert mtlsgen.plan(spec, now=now).pending == ()  # and the folder is settled
    for rel, node in after.items():
        if not node.is_dir:
            expected = 0o644 if rel.endswith((".crt", ".crl")) or rel == ".gitignore" else 0o600
            assert node.mode == expected, rel
    assert not any(name.endswith(".tmp") for _, _, names in os.walk(out) for name in names)
