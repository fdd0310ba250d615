"""Regressions found in review: each test is a user's sequence that once lost a key, printed a
traceback, echoed a secret, or let two applies write at once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import public_key_of, run_cli
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import mtlsgen
from mtlsgen import LockError, load_spec
from mtlsgen.engine.fsio import apply_lock

SERVER = "servers:\n  api: {sans: [localhost]}\n"


def base(extra: str = "") -> str:
    """A client that keeps its key, with `extra` lines under it."""
    return "version: 1\nca: {key: ecdsa-p256}\nclients:\n  alice:\n    key_rotation: never\n" + extra + "\n"


def test_removing_key_password_with_a_reissue_keeps_the_key(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(base("    key_password: {generate: true}"))
    mtlsgen.apply(load_spec(spec))
    folder = spec.parent / "certs" / "alice"
    before = public_key_of(folder / "tls.key", (folder / "tls.key.password").read_text().strip().encode())
    # In one edit: the password goes, and a SAN change reissues the certificate.
    spec = write_spec(base("    sans: [alice.example.com]"))
    mtlsgen.apply(load_spec(spec))
    assert public_key_of(folder / "tls.key") == before
    assert mtlsgen.plan(load_spec(spec)).pending == ()


def test_adding_key_password_with_a_reissue_encrypts_at_once(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(base())
    mtlsgen.apply(load_spec(spec))
    folder = spec.parent / "certs" / "alice"
    before = public_key_of(folder / "tls.key")
    spec = write_spec(base("    key_password: {generate: true}\n    sans: [alice.example.com]"))
    mtlsgen.apply(load_spec(spec))
    assert b"ENCRYPTED PRIVATE KEY" in (folder / "tls.key").read_bytes()
    assert public_key_of(folder / "tls.key", (folder / "tls.key.password").read_text().strip().encode()) == before
    assert mtlsgen.plan(load_spec(spec)).pending == ()


def test_verify_with_a_key_password_change_pending_reports_instead_of_crashing(
        write_spec: Callable[..., Path]) -> None:
    spec = write_spec(base("    key_password: {generate: true}") + SERVER)
    mtlsgen.apply(load_spec(spec))
    spec = write_spec(base("    key_password: {env: NEW_KP}") + SERVER)
    result = run_cli("verify", spec, env={"NEW_KP": "another-password"})
    assert "Traceback" not in result.stderr
    assert result.returncode == 0, result.stdout + result.stderr  # the files still work together


def test_an_issuer_whose_own_issuer_is_undefined_is_a_spec_error(write_spec: Callable[..., Path]) -> None:
    spec = write_spec("""
        version: 1
        intermediates:
          a: {issuer: b}
          b: {issuer: nope}
        """)
    result = run_cli("validate", spec)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "intermediates.b.issuer: issuer 'nope' is not defined" in result.stderr


def test_a_percentage_with_a_trailing_space_is_read(write_spec: Callable[..., Path]) -> None:
    spec = load_spec(write_spec('version: 1\nclients:\n  bob: {renew_before: "33% "}\n'))
    assert spec["bob"].renew_before.share == pytest.approx(0.33)


def test_a_generate_value_is_never_echoed(write_spec: Callable[..., Path]) -> None:
    spec = write_spec('version: 1\nclients:\n  bob: {keystore: {password: {generate: "S3cr3t-Pw-881"}}}\n')
    result = run_cli("validate", spec)
    assert result.returncode == 1
    assert "generate: can only be true" in result.stderr
    assert "S3cr3t-Pw-881" not in result.stderr + result.stdout


def test_two_applies_of_an_output_whose_parent_is_missing_take_one_lock(write_spec: Callable[..., Path]) -> None:
    spec = load_spec(write_spec("version: 1\noutput: build/certs\nca: {key: ecdsa-p256}\nclients:\n  bob: {}\n"))
    assert not spec.output.parent.exists()
    with apply_lock(spec.output), pytest.raises(LockError):
        mtlsgen.apply(spec, lock_timeout=0.2)
    assert not spec.output.exists()


def _corporate_chain(folder: Path) -> None:
    """corp-ca.crt = an issuing CA then the corporate root that signed it; corp-ca.key its key."""
    now = dt.datetime.now(dt.timezone.utc)
    root_key, sub_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())

    def cert(name: str, key: ec.EllipticCurvePrivateKey, issuer: str, signer: ec.EllipticCurvePrivateKey,
             path_length: int | None) -> x509.Certificate:
        return (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
                .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(signer, hashes.SHA256()))

    root = cert("Corp Root", root_key, "Corp Root", root_key, None)
    sub = cert("Corp Issuing CA", sub_key, "Corp Root", root_key, 0)
    (folder / "corp-ca.crt").write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (sub, root)))
    (folder / "corp-ca.key").write_bytes(sub_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def test_status_accepts_an_imported_sub_ca(write_spec: Callable[..., Path]) -> None:
    spec = write_spec("version: 1\nca: {import: {cert: corp-ca.crt, key: corp-ca.key}}\n"
                      "clients:\n  bob: {}\n")
    _corporate_chain(spec.parent)
    mtlsgen.apply(load_spec(spec))
    result = run_cli("status", spec)
    assert result.returncode == 0, result.stdout + result.stderr
    assert {c.name: c.state for c in mtlsgen.status(load_spec(spec)).certificates} == {"ca": "ok", "bob": "ok"}


def test_status_says_on_stderr_why_it_exits_1(write_spec: Callable[..., Path]) -> None:
    spec = write_spec("version: 1\nca: {key: ecdsa-p256}\nclients:\n  bob: {}\n")
    mtlsgen.apply(load_spec(spec))
    (spec.parent / "certs" / "bob" / "tls.key").unlink()
    result = run_cli("status", spec)
    assert result.returncode == 1
    assert result.stderr == "error: 1 need attention: bob: missing\n"


def test_status_agrees_with_plan_after_the_ca_is_renamed(write_spec: Callable[..., Path]) -> None:
    spec = write_spec("version: 1\nca: {key: ecdsa-p256}\nclients:\n  bob: {}\n")
    mtlsgen.apply(load_spec(spec))
    renamed = load_spec(write_spec("version: 1\nca: {key: ecdsa-p256, cn: Renamed CA}\nclients:\n  bob: {}\n"))
    pending = {c.name for c in mtlsgen.plan(renamed).pending}
    states = {c.name: c.state for c in mtlsgen.status(renamed).certificates}
    assert pending == {"ca", "bob"}
    assert states == {"ca": "drifted", "bob": "drifted"}


@pytest.mark.parametrize("san", ["a@b@c", "email:a@b@c", "ü@b.com", "http://münchen.de/", "http://[::1"])
def test_a_san_a_certificate_cannot_hold_is_a_spec_error(write_spec: Callable[..., Path], san: str) -> None:
    spec = write_spec(f'version: 1\nca: {{key: ecdsa-p256}}\nclients:\n  c: {{sans: ["{san}"]}}\n')
    for command in ("validate", "apply"):
        result = run_cli(command, spec)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.startswith("error: pki.yaml:4: clients.c.sans[0]: ") and result.stderr.count("\n") == 1
    assert not (spec.parent / "certs").exists()


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


def test_a_revoked_entry_whose_folder_keeps_a_user_file_settles(write_spec: Callable[..., Path]) -> None:
    spec = write_spec("version: 1\nca: {key: ecdsa-p256}\nclients:\n  bob: {}\n")
    mtlsgen.apply(load_spec(spec))
    (spec.parent / "certs" / "bob" / "notes.txt").write_text("mine")
    spec = write_spec("version: 1\nca: {key: ecdsa-p256}\nclients:\n  bob: {revoked: true}\n")
    mtlsgen.apply(load_spec(spec))
    assert mtlsgen.plan(load_spec(spec)).pending == ()
    assert {c.name: c.state for c in mtlsgen.status(load_spec(spec)).certificates}["bob"] == "revoked"


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


def test_a_typo_is_reported_before_the_key_it_hides(write_spec: Callable[..., Path]) -> None:
    result = run_cli("validate", write_spec("versoin: 1\n"))
    assert result.stderr == "error: pki.yaml:1: versoin: unknown key; did you mean 'version'?\n"


def test_a_section_left_empty_has_no_entries(write_spec: Callable[..., Path]) -> None:
    spec = load_spec(write_spec("version: 1\nservers:\n  api: {sans: [api.example.com]}\nclients:\n"))
    assert [e.name for e in spec.entries] == ["ca", "api"]
