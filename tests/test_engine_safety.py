"""What apply must never lose, and what it must not leave wrong: the user's files, keys behind a
changed key_password, CRLs after their CA changed, the output folder's own mode, shared folders."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import public_key_of, run_cli
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from engine_helpers import BASE_SPEC, spec_at

import mtlsgen
from mtlsgen import LockError, PlanError
from mtlsgen.engine.fsio import apply_lock


def test_prune_deletes_only_what_mtlsgen_wrote(tmp_path: Path) -> None:
    spec = spec_at(tmp_path)
    mtlsgen.apply(spec)
    out = tmp_path / "certs"
    (out / "bob" / "notes.txt").write_text("mine")
    (out / "backup").mkdir()
    (out / "backup" / "old.tar").write_text("mine too")
    spec = spec_at(tmp_path, BASE_SPEC.replace("  bob: {}\n", ""))

    the_plan = mtlsgen.plan(spec, prune=True)
    assert [c.name for c in the_plan.pending] == ["bob"]  # backup/ holds nothing of mtlsgen's
    assert the_plan["bob"].reasons == ("not in the spec; deletes certs/bob/ (keeps notes.txt, which mtlsgen "
                                       "did not write)",)
    mtlsgen.apply(spec, prune=True)
    assert sorted(p.name for p in (out / "bob").iterdir()) == ["notes.txt"]
    assert (out / "backup" / "old.tar").read_text() == "mine too"


def test_prune_of_a_folder_with_only_mtlsgen_files_removes_it(tmp_path: Path) -> None:
    spec = spec_at(tmp_path)
    mtlsgen.apply(spec)
    spec = spec_at(tmp_path, BASE_SPEC.replace("  bob: {}\n", ""))
    mtlsgen.apply(spec, prune=True)
    assert not (tmp_path / "certs" / "bob").exists()


def test_revoking_keeps_a_file_of_the_user_in_the_folder(tmp_path: Path) -> None:
    spec = spec_at(tmp_path)
    mtlsgen.apply(spec)
    (tmp_path / "certs" / "bob" / "README").write_text("mine")
    spec = spec_at(tmp_path, BASE_SPEC.replace("  bob: {}\n", "  bob: {revoked: true}\n"))
    mtlsgen.apply(spec)
    assert [p.name for p in (tmp_path / "certs" / "bob").iterdir()] == ["README"]


def _crl_verifies(out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", "crl", "-in", str(out / "ca" / "ca.crl"), "-CAfile",
                           str(out / "ca" / "ca.crt"), "-noout"], capture_output=True, text=True, check=False)


@pytest.mark.parametrize("change", ["replace-ca", "ca-subject"])
def test_the_crl_follows_its_ca(tmp_path: Path, change: str) -> None:
    spec = spec_at(tmp_path)
    mtlsgen.apply(spec)
    revoked = BASE_SPEC.replace("  bob: {}\n", "  bob: {revoked: true}\n")
    spec = spec_at(tmp_path, revoked)
    mtlsgen.apply(spec)
    out = tmp_path / "certs"
    assert "verify OK" in _crl_verifies(out).stderr
    if change == "replace-ca":
        mtlsgen.apply(spec, replace=["ca"])
    else:
        spec = spec_at(tmp_path, revoked.replace("ca: {key: ecdsa-p256}", "ca: {key: ecdsa-p256, cn: Renamed CA}"))
        mtlsgen.apply(spec)
    checked = _crl_verifies(out)
    assert "verify OK" in checked.stderr, checked.stderr
    crl = x509.load_pem_x509_crl((out / "ca" / "ca.crl").read_bytes())
    root = x509.load_pem_x509_certificate((out / "ca" / "ca.crt").read_bytes())
    assert crl.issuer == root.subject
    assert mtlsgen.plan(spec).pending == ()


def test_a_crl_signed_by_someone_else_is_rewritten(tmp_path: Path) -> None:
    spec = spec_at(tmp_path, BASE_SPEC.replace("ca: {key: ecdsa-p256}", "ca: {key: ecdsa-p256, crl: {}}"))
    mtlsgen.apply(spec)
    other = spec_at(tmp_path / "other", BASE_SPEC.replace("ca: {key: ecdsa-p256}", "ca: {key: ecdsa-p256, crl: {}}"))
    mtlsgen.apply(other)
    (tmp_path / "certs" / "ca" / "ca.crl").write_bytes((tmp_path / "other" / "certs" / "ca" / "ca.crl").read_bytes())
    assert "ca.crl: not issued by ca's current certificate and key" in mtlsgen.plan(spec)["ca"].reasons
    mtlsgen.apply(spec)
    assert "verify OK" in _crl_verifies(tmp_path / "certs").stderr


def test_removing_key_password_keeps_the_key(tmp_path: Path) -> None:
    with_password = BASE_SPEC.replace("  alice: {}\n",
                                      "  alice: {key_rotation: never, key_password: {generate: true}}\n")
    spec = spec_at(tmp_path, with_password)
    mtlsgen.apply(spec)
    folder = tmp_path / "certs" / "alice"
    password = (folder / "tls.key.password").read_text().strip().encode()
    before = public_key_of(folder / "tls.key", password)

    spec = spec_at(tmp_path, BASE_SPEC.replace("  alice: {}\n", "  alice: {key_rotation: never}\n"))
    change = mtlsgen.plan(spec)["alice"]
    assert change.action.value == "repack", change
    assert "tls.key: decrypt (key_password removed)" in change.reasons
    mtlsgen.apply(spec)
    assert public_key_of(folder / "tls.key") == before  # readable without a password, same key
    assert not (folder / "tls.key.password").exists()
    assert mtlsgen.plan(spec).pending == ()


def test_a_new_key_password_re_encrypts_the_same_key(tmp_path: Path) -> None:
    spec = spec_at(tmp_path, BASE_SPEC.replace("  alice: {}\n", "  alice: {key_password: {generate: true}}\n"))
    mtlsgen.apply(spec)
    folder = tmp_path / "certs" / "alice"
    before = public_key_of(folder / "tls.key", (folder / "tls.key.password").read_text().strip().encode())
    serial = x509.load_pem_x509_certificate((folder / "tls.crt").read_bytes()).serial_number

    spec = spec_at(tmp_path, BASE_SPEC.replace("  alice: {}\n", "  alice: {key_password: {env: ALICE_KP}}\n"))
    result = run_cli("apply", cwd=tmp_path, env={"ALICE_KP": "a-new-secret"})
    assert result.returncode == 0, result.stderr
    assert "tls.key: re-encrypt with the new key_password" in result.stdout
    assert public_key_of(folder / "tls.key", b"a-new-secret") == before
    assert x509.load_pem_x509_certificate((folder / "tls.crt").read_bytes()).serial_number == serial


def test_the_output_folders_own_mode_is_reported_and_restored(tmp_path: Path) -> None:
    spec = spec_at(tmp_path)
    mtlsgen.apply(spec)
    out = tmp_path / "certs"
    out.chmod(0o755)
    change = mtlsgen.plan(spec)["certs/"]
    assert change.reasons == ("mode 0755 → 0700",)
    mtlsgen.apply(spec)
    assert out.stat().st_mode & 0o777 == 0o700
    assert mtlsgen.plan(spec).pending == ()


def test_two_specs_sharing_an_output_folder_share_the_lock(tmp_path: Path) -> None:
    first = spec_at(tmp_path / "team")
    copy = tmp_path / "team" / "pki-copy.yaml"
    copy.write_text(first.path.read_text())
    with apply_lock(first.output):
        result = run_cli("apply", copy, timeout=60)
        assert result.returncode == 1
        assert "lock" in result.stderr and "certs" in result.stderr
        with pytest.raises(LockError):
            mtlsgen.apply(first, lock_timeout=0.2)
    assert not (tmp_path / "team" / "certs").exists()


def test_a_damaged_ca_key_never_yields_a_certificate_that_does_not_verify(tmp_path: Path) -> None:
    # Keys are loaded without RSA validation (for speed); a CA key whose CRT parameters are damaged
    # must then either still sign correctly or stop apply: never a leaf that fails to verify.
    from cryptography.hazmat.primitives.asymmetric import rsa

    spec = spec_at(tmp_path, BASE_SPEC.replace("ca: {key: ecdsa-p256}", "ca: {key: rsa-2048}"))
    mtlsgen.apply(spec)
    ca_key = tmp_path / "certs" / "ca" / "ca.key"
    numbers = serialization.load_pem_private_key(ca_key.read_bytes(), None).private_numbers()  # type: ignore[union-attr]
    damaged = rsa.RSAPrivateNumbers(numbers.p, numbers.q, numbers.d, numbers.dmp1 ^ 2, numbers.dmq1, numbers.iqmp,
                                    numbers.public_numbers).private_key(unsafe_skip_rsa_key_validation=True)
    ca_key.write_bytes(damaged.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))
    spec = spec_at(tmp_path, BASE_SPEC.replace("ca: {key: ecdsa-p256}", "ca: {key: rsa-2048}")
                   .replace("  bob: {}\n", "  bob: {}\n  carol: {}\n"))
    try:
        mtlsgen.apply(spec)
    except PlanError as exc:  # the clear refusal is one acceptable outcome
        assert "does not verify" in str(exc)
        assert not (tmp_path / "certs" / "carol").exists()
        return
    out = tmp_path / "certs"
    checked = subprocess.run(["openssl", "verify", "-CAfile", str(out / "ca" / "ca.crt"),
                              str(out / "carol" / "tls.crt")], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
