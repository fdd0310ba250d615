"""Damaged folders: plan names each problem, apply repairs it; a lost CA key needs --replace ca."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509

import mtlsgen
from mtlsgen import PlanError
from tests.helpers.common import run_cli, texts
from tests.helpers.engine import (
    BASE_SPEC,
    assert_verifies,
    changed,
    pending_names,
    snapshot,
    spec_at,
    utcnow,
)

LEAVES = ("api", "alice", "bob")


def _delete_key(out: Path, tmp: Path) -> None:
    (out / "api" / "tls.key").unlink()


def _truncate_cert(out: Path, tmp: Path) -> None:
    path = out / "alice" / "tls.crt"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _empty_cert(out: Path, tmp: Path) -> None:
    (out / "alice" / "tls.crt").write_bytes(b"")


def _garbage_key(out: Path, tmp: Path) -> None:
    (out / "bob" / "tls.key").write_text("not a key\n")


def _swap_keys(out: Path, tmp: Path) -> None:
    a, b = out / "alice" / "tls.key", out / "bob" / "tls.key"
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(data_b)
    b.write_bytes(data_a)


def _foreign_ca(out: Path, tmp: Path) -> None:
    """The certificate and key of a same-named entry of another PKI (another spec, another CA)."""
    other = spec_at(tmp / "other")
    mtlsgen.apply(other)
    for name in ("tls.crt", "tls.key"):
        shutil.copyfile(tmp / "other" / "certs" / "api" / name, out / "api" / name)


def _foreign_root(out: Path, tmp: Path) -> None:
    """ca/ca.crt overwritten by another PKI's root (same CN); our ca.key is still there."""
    other = spec_at(tmp / "other")
    mtlsgen.apply(other)
    shutil.copyfile(tmp / "other" / "certs" / "ca" / "ca.crt", out / "ca" / "ca.crt")


def _delete_bundle(out: Path, tmp: Path) -> None:
    (out / "bob" / "ca.crt").unlink()


def _delete_folder(out: Path, tmp: Path) -> None:
    shutil.rmtree(out / "alice")


def _damage_root_cert(out: Path, tmp: Path) -> None:
    (out / "ca" / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")


# (id, tamper, {entry: (action, fragment of its reasons)})
CASES: list[tuple[str, Callable[[Path, Path], None], dict[str, tuple[str, str]]]] = [
    ("deleted-key", _delete_key, {"api": ("replace", "tls.key missing")}),
    ("truncated-cert", _truncate_cert, {"alice": ("reissue", "tls.crt unreadable")}),
    ("empty-cert", _empty_cert, {"alice": ("reissue", "tls.crt unreadable: empty file")}),
    ("garbage-key", _garbage_key, {"bob": ("replace", "tls.key unreadable")}),
    ("swapped-keys", _swap_keys, {"alice": ("reissue", "tls.crt does not match its key"),
                                  "bob": ("reissue", "tls.crt does not match its key")}),
    ("foreign-ca", _foreign_ca, {"api": ("reissue", "not signed by ca's current key")}),
    # The root is re-signed with the key on disk; its leaves stay valid and only get the new ca.crt.
    ("foreign-root", _foreign_root, {"ca": ("reissue", "ca.crt does not match its key"),
                                     **dict.fromkeys(LEAVES, ("repack", "ca.crt"))}),
    ("deleted-ca-bundle", _delete_bundle, {"bob": ("repack", "ca.crt missing")}),
    ("deleted-folder", _delete_folder, {"alice": ("create", "tls.crt tls.key ca.crt")}),
]


@pytest.mark.parametrize(("tamper", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_plan_names_the_damage_and_apply_repairs_it(tmp_path: Path, tamper, expected) -> None:
    spec = spec_at(tmp_path / "pki")
    mtlsgen.apply(spec)
    out = tmp_path / "pki" / "certs"
    tamper(out, tmp_path)
    before = snapshot(out)

    the_plan = mtlsgen.plan(spec)
    assert pending_names(the_plan) == {name: action for name, (action, _) in expected.items()}
    for name, (_, fragment) in expected.items():
        assert any(fragment in r for r in texts(the_plan, name)), (name, texts(the_plan, name))

    now = utcnow()
    mtlsgen.apply(spec, now=now)
    after = snapshot(out)
    untouched = [n for n in ("ca", *LEAVES) if n not in expected]
    assert {p for p in changed(before, after) if p.split("/")[0] in untouched} == set()
    for name, (action, _) in expected.items():
        if action == "repack":  # a repack never reissues the certificate or its key
            for rel in (f"{name}/tls.crt", f"{name}/tls.key"):
                assert after[rel] == before[rel], rel
    for name in LEAVES:
        assert_verifies(out / name / "ca.crt", out / name / "tls.crt")
    assert mtlsgen.plan(spec, now=now + timedelta(seconds=1)).pending == ()


def test_damaged_root_certificate_is_reissued_with_the_same_key(tmp_path: Path) -> None:
    spec = spec_at(tmp_path)
    mtlsgen.apply(spec)
    out = tmp_path / "certs"
    ca_key = (out / "ca" / "ca.key").read_bytes()
    leaf_certs = {n: (out / n / "tls.crt").read_bytes() for n in LEAVES}
    _damage_root_cert(out, tmp_path)

    the_plan = mtlsgen.plan(spec)
    assert the_plan["ca"].action.value == "reissue"
    assert any("ca.crt unreadable" in r for r in texts(the_plan, "ca")), texts(the_plan, "ca")
    mtlsgen.apply(spec)
    assert (out / "ca" / "ca.key").read_bytes() == ca_key
    for name in LEAVES:
        assert (out / name / "tls.crt").read_bytes() == leaf_certs[name]
        assert_verifies(out / name / "ca.crt", out / name / "tls.crt")
    assert mtlsgen.plan(spec, now=utcnow() + timedelta(seconds=1)).pending == ()


@pytest.mark.parametrize("damage", ["deleted", "spec-asks-another-type"])
def test_ca_key_problem_blocks_until_replace_ca(tmp_path: Path, damage: str) -> None:
    spec_file = tmp_path / "pki.yaml"
    spec = spec_at(tmp_path)
    mtlsgen.apply(spec)
    out = tmp_path / "certs"
    if damage == "deleted":
        (out / "ca" / "ca.key").unlink()
        fragment = "ca/ca.key missing"
    else:
        spec = spec_at(tmp_path, BASE_SPEC.replace("ca: {key: ecdsa-p256}", "ca: {key: ecdsa-p384}"))
        fragment = "key: ecdsa-p256 → ecdsa-p384"
    before = snapshot(out)

    the_plan = mtlsgen.plan(spec)
    assert [c.name for c in the_plan.blocked] == ["ca"]
    assert the_plan["ca"].action.value == "blocked"
    assert fragment in texts(the_plan, "ca")[0] and "--replace ca" in "; ".join(texts(the_plan, "ca"))
    with pytest.raises(PlanError, match="--replace ca"):
        mtlsgen.apply(spec)
    assert changed(before, snapshot(out), files_only=False) == set()

    result = run_cli("apply", spec_file)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "--replace ca" in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert changed(before, snapshot(out), files_only=False) == set()

    fixed = run_cli("apply", "--replace", "ca", spec_file)
    assert fixed.returncode == 0, fixed.stderr
    for name in LEAVES:
        assert_verifies(out / name / "ca.crt", out / name / "tls.crt")
    assert mtlsgen.plan(spec, now=utcnow() + timedelta(seconds=1)).pending == ()
    if damage == "spec-asks-another-type":
        root = x509.load_pem_x509_certificate((out / "ca" / "ca.crt").read_bytes())
        assert root.public_key().curve.name == "secp384r1"  # type: ignore[union-attr]


def test_gitignore_is_restored_by_apply(tmp_path: Path) -> None:
    spec = spec_at(tmp_path)
    mtlsgen.apply(spec)
    gitignore = tmp_path / "certs" / ".gitignore"
    gitignore.unlink()
    the_plan = mtlsgen.plan(spec)
    reasons = [r for c in the_plan.pending if c.name == "certs/" for r in texts(the_plan, c.name)]
    assert any(".gitignore missing" in r for r in reasons)
    mtlsgen.apply(spec)
    assert gitignore.read_text() == "*\n"  # else the keys in certs/ can be committed
    gitignore.write_text("!*.key\n")
    mtlsgen.apply(spec)
    assert gitignore.read_text() == "*\n"


def test_permissions_a_chmod_loosened_are_restored_without_rewriting(tmp_path: Path) -> None:
    spec = spec_at(tmp_path)
    mtlsgen.apply(spec)
    key = tmp_path / "certs" / "alice" / "tls.key"
    folder = key.parent
    content = key.read_bytes()
    key.chmod(0o644)
    folder.chmod(0o755)
    the_plan = mtlsgen.plan(spec)
    assert {c.name for c in the_plan.pending} == {"alice"}
    assert "tls.key: mode 0644 → 0600" in texts(the_plan, "alice")
    mtlsgen.apply(spec)
    assert (key.stat().st_mode & 0o777, folder.stat().st_mode & 0o777) == (0o600, 0o700)
    assert key.read_bytes() == content
    assert mtlsgen.plan(spec).pending == ()


def test_a_ca_key_swapped_for_another_blocks_instead_of_changing_the_ca(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    spec = spec_at(tmp_path)
    mtlsgen.apply(spec)
    ca_key = tmp_path / "certs" / "ca" / "ca.key"
    ca_key.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    before = snapshot(tmp_path / "certs")
    the_plan = mtlsgen.plan(spec)
    assert the_plan["ca"].action.value == "blocked"
    assert "--replace ca" in "; ".join(texts(the_plan, "ca"))
    with pytest.raises(PlanError):
        mtlsgen.apply(spec)
    assert changed(before, snapshot(tmp_path / "certs")) == set()
