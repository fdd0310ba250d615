"""What apply must never lose, and what it must not leave wrong: the user's files, keys behind a
changed key_password, CRLs after their CA changed, the output folder's own mode, shared folders,
an output folder that holds someone else's files or is a file, and file modes under any umask."""

from __future__ import annotations

import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

import mtlsgen
from mtlsgen import DamagedKeyError, load_spec
from tests.helpers.common import key_keeping_spec, public_key_of, run_cli, texts
from tests.helpers.engine import BASE_SPEC, run_umask0, spec_at


def test_prune_deletes_only_what_mtlsgen_wrote(tmp_path: Path) -> None:
    spec = spec_at(tmp_path)
    mtlsgen.apply(spec)
    out = tmp_path / "certs"
    (out / "bob" / "notes.txt").write_text("mine")
    (out / "backup").mkdir()
    (out / "backup" / "old.tar").write_text("mine too")
    spec = spec_at(tmp_path, BASE_SPEC.replace("  bob: {}\n", ""))

    the_plan = mtlsgen.plan(spec, prune=True)
    # backup/ holds nothing of mtlsgen's. bob's certificate is still valid: pruning revokes it first, so
    # the CA publishes a CRL and the server gets the CRL file its clients are checked against.
    assert [c.name for c in the_plan.pending] == ["ca", "api", "bob"]
    assert texts(the_plan, "bob") == ("not in the spec; revokes its certificate in ca/ca.crl and deletes certs/bob/ "
                                      "(keeps notes.txt, which mtlsgen did not write)",)
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
    the_plan = mtlsgen.plan(spec)
    assert "ca.crl: not issued by ca's current certificate and key" in texts(the_plan, "ca")
    mtlsgen.apply(spec)
    assert "verify OK" in _crl_verifies(tmp_path / "certs").stderr


def test_replacing_the_ca_re_signs_its_crl_at_once(write_spec: Callable[..., Path]) -> None:
    spec = write_spec("version: 1\nca: {key: ecdsa-p256}\nclients:\n  bob: {}\n  carol: {}\n")
    mtlsgen.apply(load_spec(spec))
    spec = write_spec("version: 1\nca: {key: ecdsa-p256}\nclients:\n  bob: {revoked: true}\n  carol: {}\n")
    mtlsgen.apply(load_spec(spec))
    spec = write_spec("version: 1\nca: {key: ecdsa-p384}\nclients:\n  carol: {}\n")  # bob deleted too
    mtlsgen.apply(load_spec(spec), replace=["ca"])
    out = spec.parent / "certs" / "ca"
    crl = x509.load_pem_x509_crl((out / "ca.crl").read_bytes())
    root = x509.load_pem_x509_certificate((out / "ca.crt").read_bytes())
    assert crl.is_signature_valid(root.public_key())  # type: ignore[arg-type]
    assert mtlsgen.plan(load_spec(spec)).pending == ()


def test_removing_key_password_keeps_the_key(tmp_path: Path) -> None:
    with_password = BASE_SPEC.replace("  alice: {}\n",
                                      "  alice: {key_rotation: never, key_password: {generate: true}}\n")
    spec = spec_at(tmp_path, with_password)
    mtlsgen.apply(spec)
    folder = tmp_path / "certs" / "alice"
    password = (folder / "tls.key.password").read_text().strip().encode()
    before = public_key_of(folder / "tls.key", password)

    spec = spec_at(tmp_path, BASE_SPEC.replace("  alice: {}\n", "  alice: {key_rotation: never}\n"))
    the_plan = mtlsgen.plan(spec)
    assert the_plan["alice"].action.value == "repack", the_plan["alice"]
    assert "tls.key: decrypt (key_password removed)" in texts(the_plan, "alice")
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


def test_removing_key_password_with_a_reissue_keeps_the_key(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(key_keeping_spec("    key_password: {generate: true}"))
    mtlsgen.apply(load_spec(spec))
    folder = spec.parent / "certs" / "alice"
    before = public_key_of(folder / "tls.key", (folder / "tls.key.password").read_text().strip().encode())
    # In one edit: the password goes, and a SAN change reissues the certificate.
    spec = write_spec(key_keeping_spec("    sans: [alice.example.com]"))
    mtlsgen.apply(load_spec(spec))
    assert public_key_of(folder / "tls.key") == before
    assert mtlsgen.plan(load_spec(spec)).pending == ()


def test_adding_key_password_with_a_reissue_encrypts_at_once(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(key_keeping_spec())
    mtlsgen.apply(load_spec(spec))
    folder = spec.parent / "certs" / "alice"
    before = public_key_of(folder / "tls.key")
    spec = write_spec(key_keeping_spec("    key_password: {generate: true}\n    sans: [alice.example.com]"))
    mtlsgen.apply(load_spec(spec))
    assert b"ENCRYPTED PRIVATE KEY" in (folder / "tls.key").read_bytes()
    assert public_key_of(folder / "tls.key", (folder / "tls.key.password").read_text().strip().encode()) == before
    assert mtlsgen.plan(load_spec(spec)).pending == ()


def test_the_output_folders_own_mode_is_reported_and_restored(tmp_path: Path) -> None:
    spec = spec_at(tmp_path)
    mtlsgen.apply(spec)
    out = tmp_path / "certs"
    out.chmod(0o755)
    the_plan = mtlsgen.plan(spec)
    assert texts(the_plan, "certs/") == ("mode 0755 → 0700",)
    mtlsgen.apply(spec)
    assert out.stat().st_mode & 0o777 == 0o700
    assert mtlsgen.plan(spec).pending == ()


def test_an_output_folder_holding_someone_elses_files_is_refused(write_spec: Callable[..., Path]) -> None:
    root = write_spec("version: 1\n").parent
    shared = root / "shared"
    shared.mkdir()
    (shared / ".gitignore").write_text("node_modules/\n")
    (shared / "README").write_text("ours")
    shared.chmod(0o755)
    (root / "team").mkdir()
    spec_file = root / "team" / "pki.yaml"
    spec_file.write_text("version: 1\noutput: ../shared\nca: {key: ecdsa-p256}\nclients:\n  c: {}\n")
    result = run_cli("apply", spec_file)
    assert result.returncode == 1
    assert "already holds files mtlsgen did not write (README)" in result.stderr
    assert sorted(p.name for p in shared.iterdir()) == [".gitignore", "README"]
    assert (shared / ".gitignore").read_text() == "node_modules/\n"
    assert shared.stat().st_mode & 0o777 == 0o755


def test_an_output_that_is_a_file_is_a_clear_error(write_spec: Callable[..., Path]) -> None:
    spec = write_spec("version: 1\noutput: notes.txt\nclients:\n  c: {}\n")
    (spec.parent / "notes.txt").write_text("mine")
    result = run_cli("plan", spec)
    assert result.returncode == 1 and "is a file" in result.stderr and result.stderr.count("\n") == 1


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
    except DamagedKeyError as exc:  # the clear refusal is one acceptable outcome
        assert "does not verify" in str(exc)
        assert not (tmp_path / "certs" / "carol").exists()
        return
    out = tmp_path / "certs"
    checked = subprocess.run(["openssl", "verify", "-CAfile", str(out / "ca" / "ca.crt"),
                              str(out / "carol" / "tls.crt")], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


# -- modes under a permissive umask -----------------------------------------------------------

MODES_SPEC = """
version: 1
ca: {key: ecdsa-p256}
defaults: {key: ecdsa-p256}
servers:
  api:
    sans: [api.example.com]
    keystore: {formats: [pkcs12, jks]}
    truststore: {formats: [pkcs12, jks]}
clients:
  alice:
    keystore: {formats: [pkcs12]}
    key_password: {generate: true}
"""


def _expected_mode(path: Path) -> int:
    if path.is_dir():
        return 0o700
    if path.suffix == ".crt" or path.name == ".gitignore":
        return 0o644
    return 0o600  # .key, .p12, .jks, .password


def _assert_modes(out: Path) -> int:
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    count = 0
    for path in out.rglob("*"):
        assert not path.name.endswith(".tmp"), f"temporary file left behind: {path}"
        assert stat.S_IMODE(path.lstat().st_mode) == _expected_mode(path), (
            f"{path.relative_to(out)}: {oct(stat.S_IMODE(path.lstat().st_mode))}")
        count += 1
    return count


def test_modes_ignore_a_permissive_umask(tmp_path: Path) -> None:
    spec_at(tmp_path, MODES_SPEC)
    result = run_umask0("apply", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "certs"
    assert (out / ".gitignore").read_text().strip() == "*"
    for rel in ("ca/ca.key", "api/keystore.jks", "api/truststore.p12", "api/keystore.password",
                "api/truststore.password", "alice/tls.key.password", "alice/keystore.p12"):
        assert stat.S_IMODE((out / rel).stat().st_mode) == 0o600, rel
    for rel in ("ca/ca.crt", "api/tls.crt", "api/ca.crt", "alice/tls.crt"):
        assert stat.S_IMODE((out / rel).stat().st_mode) == 0o644, rel
    assert _assert_modes(out) >= 18

    # Files rewritten by a repair get the same modes.
    (out / "api" / "tls.key").unlink()
    (out / "alice" / "keystore.p12").unlink()
    result = run_umask0("apply", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE((out / "api" / "tls.key").stat().st_mode) == 0o600
    _assert_modes(out)
