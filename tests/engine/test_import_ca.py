"""Bring your own CA (issue 6): `ca: {import: {cert, key, password}}` issues leaves from an existing CA,
never touches the imported files, and refuses a wrong key, a non-CA certificate, a CA that would
expire before a leaf it must issue, and a missing password variable, each with one clear line.

The corporate CA is made here with cryptography, as a security team would hand it over.
"""

from __future__ import annotations

import subprocess
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.helpers.common import run_cli

PASSWORD = "corp-ca-s3cret"
ENV = {"CORP_CA_PASS": PASSWORD}
CORP_CN = "Corp Issuing CA"

SPEC = """
version: 1
defaults: {key: ecdsa-p256, validity: 30d}
ca:
  import: {cert: corp-ca.crt, key: corp-ca.key, password: {env: CORP_CA_PASS}}
servers:
  api:
    sans: [api.example.com, localhost, 127.0.0.1]
clients:
  alice:
    sans: ["spiffe://example.com/alice"]
"""


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def make_ca(folder: Path, *, days: int = 365, basic_constraints: bool | None = True,
            key: ec.EllipticCurvePrivateKey | None = None,
            written_key: ec.EllipticCurvePrivateKey | None = None) -> x509.Certificate:
    """Write corp-ca.crt and an encrypted corp-ca.key (PKCS#8, PASSWORD) to `folder`.

    basic_constraints: True → CA:TRUE, False → CA:FALSE, None → no extension at all.
    written_key: the key to save in corp-ca.key, if not the certificate's own.
    """
    key = key or ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Corp"),
                      x509.NameAttribute(NameOID.COMMON_NAME, CORP_CN)])
    now = utcnow()
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=days))
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if basic_constraints is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=basic_constraints, path_length=None), critical=True)
    if basic_constraints:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
            critical=True)
    cert = builder.sign(key, hashes.SHA256())
    (folder / "corp-ca.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "corp-ca.key").write_bytes((written_key or key).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSWORD.encode())))
    (folder / "corp-ca.key").chmod(0o600)
    return cert


def write(folder: Path, text: str = SPEC) -> Path:
    path = folder / "pki.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def tree(folder: Path, *, skip: str = "certs") -> dict[str, tuple[bytes, int, int]]:
    """Every file under `folder` except the output folder: path → (bytes, mtime in ns, mode)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if rel.parts[0] == skip:
            continue
        st = path.stat()
        out[rel.as_posix()] = (b"" if path.is_dir() else path.read_bytes(), st.st_mtime_ns, st.st_mode)
    return out


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def certs_in(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def openssl_verify(ca_file: Path, cert: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", "verify", "-CAfile", str(ca_file), str(cert)],
                          capture_output=True, text=True, timeout=30, check=False)


@pytest.fixture(autouse=True)
def _no_inherited_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test says whether CORP_CA_PASS is set; none inherits it from the shell."""
    monkeypatch.delenv("CORP_CA_PASS", raising=False)


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, x509.Certificate, dict, dict]:
    """A folder with the corp CA and a spec importing it, applied twice: (folder, CA cert, tree before, after)."""
    folder = tmp_path_factory.mktemp("import")
    cert = make_ca(folder)
    spec = write(folder)
    before = tree(folder)
    first = run_cli("apply", spec, env=ENV)
    assert first.returncode == 0, first.stderr
    after_first = tree(folder)
    second = run_cli("apply", spec, env=ENV)
    assert second.returncode == 0, second.stderr
    assert "Nothing to do" in second.stdout
    assert after_first == tree(folder)
    return folder, cert, before, tree(folder)


@pytest.mark.parametrize("leaf", ["api", "alice"])
def test_leaves_are_issued_by_the_imported_ca(applied: tuple[Path, x509.Certificate, dict, dict],
                                              leaf: str) -> None:
    folder, corp, _, _ = applied
    result = openssl_verify(folder / "corp-ca.crt", folder / "certs" / leaf / "tls.crt")
    assert result.returncode == 0, result.stdout + result.stderr
    chain = certs_in(folder / "certs" / leaf / "tls.crt")
    assert len(chain) == 1, "no intermediates: tls.crt is the leaf alone"
    assert chain[0].issuer == corp.subject
    # the trust anchor handed to applications is the imported CA itself
    bundle = certs_in(folder / "certs" / leaf / "ca.crt")
    assert [c.public_bytes(serialization.Encoding.DER) for c in bundle] == \
        [corp.public_bytes(serialization.Encoding.DER)]


def test_imported_files_are_untouched(applied: tuple[Path, x509.Certificate, dict, dict]) -> None:
    _, _, before, after = applied
    assert after == before, "apply changed, added or removed a file outside its output folder"
    assert sorted(after) == ["corp-ca.crt", "corp-ca.key", "pki.yaml"]


def test_no_copy_of_the_imported_key_in_the_output(applied: tuple[Path, x509.Certificate, dict, dict]) -> None:
    out = applied[0] / "certs"
    key_files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.key"))
    assert key_files == ["alice/tls.key", "api/tls.key"]
    for path in out.rglob("*"):
        if path.is_file():
            assert b"ENCRYPTED PRIVATE KEY" not in path.read_bytes()
    assert not (out / "ca" / "ca.key").exists()


def test_status_and_verify_accept_the_imported_pki(applied: tuple[Path, x509.Certificate, dict, dict]) -> None:
    folder = applied[0]
    result = run_cli("verify", folder / "pki.yaml", env=ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    status = run_cli("status", "--json", folder / "pki.yaml", env=ENV)
    assert status.returncode == 0, status.stdout + status.stderr
    assert '"state": "ok"' in status.stdout and '"state": "invalid"' not in status.stdout


def test_wrong_key_is_one_clear_error(tmp_path: Path) -> None:
    make_ca(tmp_path, written_key=ec.generate_private_key(ec.SECP256R1()))
    line = one_line_error(run_cli("plan", write(tmp_path), env=ENV))
    assert "corp-ca.key" in line and "corp-ca.crt" in line
    assert "does not belong" in line or "does not match" in line
    assert one_line_error(run_cli("apply", tmp_path / "pki.yaml", env=ENV)) == line
    assert not (tmp_path / "certs").exists()


@pytest.mark.parametrize("constraints", [False, None], ids=["CA-false", "no-basic-constraints"])
def test_a_non_ca_certificate_is_refused(tmp_path: Path, constraints: bool | None) -> None:
    make_ca(tmp_path, basic_constraints=constraints)
    line = one_line_error(run_cli("apply", write(tmp_path), env=ENV))
    assert "corp-ca.crt" in line
    assert "not a CA" in line
    assert not (tmp_path / "certs").exists()


def test_imported_ca_expiring_before_a_leaf_is_a_plan_error_naming_both_dates(tmp_path: Path) -> None:
    corp = make_ca(tmp_path, days=10)
    spec = write(tmp_path)  # leaves: validity 30d
    start = utcnow()
    result = run_cli("plan", spec, env=ENV)
    end = utcnow()
    line = one_line_error(result)
    assert corp.not_valid_after_utc.strftime("%Y-%m-%d") in line, line
    leaf_ends = {(t + timedelta(days=30)).strftime("%Y-%m-%d") for t in (start, end)}
    assert any(day in line for day in leaf_ends), line
    assert one_line_error(run_cli("apply", spec, env=ENV))
    assert not (tmp_path / "certs").exists()


def test_a_leaf_that_fits_in_the_imported_ca_is_issued(tmp_path: Path) -> None:
    """The same 10-day CA is fine for a 5-day leaf."""
    make_ca(tmp_path, days=10)
    spec = write(tmp_path, SPEC.replace("validity: 30d", "validity: 5d"))
    result = run_cli("apply", spec, env=ENV)
    assert result.returncode == 0, result.stderr
    assert openssl_verify(tmp_path / "corp-ca.crt", tmp_path / "certs" / "api" / "tls.crt").returncode == 0


def test_missing_password_variable_is_named(tmp_path: Path) -> None:
    make_ca(tmp_path)
    spec = write(tmp_path)
    for command in ("plan", "apply"):
        line = one_line_error(run_cli(command, spec))
        assert "CORP_CA_PASS" in line
        assert "not set" in line
    assert not (tmp_path / "certs").exists()


def test_wrong_password_is_one_clear_error(tmp_path: Path) -> None:
    make_ca(tmp_path)
    line = one_line_error(run_cli("plan", write(tmp_path), env={"CORP_CA_PASS": "not-the-password"}))
    assert "corp-ca.key" in line
    assert "ca.import.password" in line, line
    assert "not-the-password" not in line


def test_encrypted_key_without_password_in_the_spec_names_the_right_field(tmp_path: Path) -> None:
    make_ca(tmp_path)
    spec = write(tmp_path, SPEC.replace(", password: {env: CORP_CA_PASS}", ""))
    line = one_line_error(run_cli("plan", spec, env=ENV))
    assert "corp-ca.key" in line and "encrypted" in line
    # `key_password` is a leaf's field; ca.import takes `password`
    assert "key_password" not in line, line
    assert "password" in line


def test_a_key_in_openssls_traditional_encrypted_format_is_accepted(tmp_path: Path) -> None:
    """`openssl ec -aes256` (and genrsa -aes256 before OpenSSL 3) write `Proc-Type: 4,ENCRYPTED` PEM."""
    corp = make_ca(tmp_path)
    pkcs8 = tmp_path / "pkcs8.key"
    (tmp_path / "corp-ca.key").rename(pkcs8)
    converted = subprocess.run(["openssl", "ec", "-in", str(pkcs8), "-passin", f"pass:{PASSWORD}", "-aes256",
                                "-passout", f"pass:{PASSWORD}", "-out", str(tmp_path / "corp-ca.key")],
                               capture_output=True, text=True, timeout=30, check=False)
    assert converted.returncode == 0, converted.stderr
    pkcs8.unlink()
    assert b"Proc-Type: 4,ENCRYPTED" in (tmp_path / "corp-ca.key").read_bytes()
    result = run_cli("apply", write(tmp_path), env=ENV)
    assert result.returncode == 0, result.stderr
    assert openssl_verify(tmp_path / "corp-ca.crt", tmp_path / "certs" / "api" / "tls.crt").returncode == 0
    assert certs_in(tmp_path / "certs" / "api" / "tls.crt")[0].issuer == corp.subject


def test_replace_of_an_imported_ca_is_refused_not_ignored(applied: tuple[Path, x509.Certificate, dict, dict]) -> None:
    folder = applied[0]
    before = tree(folder, skip="")
    line = one_line_error(run_cli("apply", "--replace", "ca", folder / "pki.yaml", env=ENV))
    assert "--replace ca" in line and "imported" in line
    assert tree(folder, skip="") == before, "a refused apply wrote something"


def test_a_revoked_leaf_goes_into_a_crl_signed_by_the_imported_ca(tmp_path: Path) -> None:
    corp = make_ca(tmp_path)
    spec = write(tmp_path)
    assert run_cli("apply", spec, env=ENV).returncode == 0
    alice = certs_in(tmp_path / "certs" / "alice" / "tls.crt")[0]
    kept = tmp_path / "kept-alice.crt"
    kept.write_bytes((tmp_path / "certs" / "alice" / "tls.crt").read_bytes())
    before = tree(tmp_path)

    spec.write_text(spec.read_text().replace('sans: ["spiffe://example.com/alice"]',
                                             'sans: ["spiffe://example.com/alice"]\n    revoked: true'))
    result = run_cli("apply", spec, env=ENV)
    assert result.returncode == 0, result.stderr
    crl_path = tmp_path / "certs" / "ca" / "ca.crl"
    crl = x509.load_pem_x509_crl(crl_path.read_bytes())
    assert crl.is_signature_valid(corp.public_key())  # type: ignore[arg-type]
    assert [r.serial_number for r in crl] == [alice.serial_number]
    checked = subprocess.run(["openssl", "verify", "-crl_check", "-CRLfile", str(crl_path), "-CAfile",
                              str(tmp_path / "corp-ca.crt"), str(kept)], capture_output=True, text=True,
                             timeout=30, check=False)
    assert "certificate revoked" in checked.stdout + checked.stderr
    after = tree(tmp_path)
    assert {k: v for k, v in after.items() if k != "pki.yaml"} == {k: v for k, v in before.items() if k != "pki.yaml"}


def test_an_imported_sub_ca_keeps_its_chain_to_the_corporate_root(tmp_path: Path) -> None:
    """Security teams hand out an issuing CA under an offline root, with the chain in one PEM file.
    SPEC: tls.crt is the leaf then the intermediates up to (not including) the root; ca.crt the root."""
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = make_ca(tmp_path, days=3000, key=root_key)
    (tmp_path / "corp-root.crt").write_bytes((tmp_path / "corp-ca.crt").read_bytes())
    sub_key = ec.generate_private_key(ec.SECP256R1())
    now = utcnow()
    sub = (x509.CertificateBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Corp Issuing Sub CA")]))
           .issuer_name(root.subject).public_key(sub_key.public_key()).serial_number(x509.random_serial_number())
           .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1000))
           .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
           .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                        data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                        crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
           .add_extension(x509.SubjectKeyIdentifier.from_public_key(sub_key.public_key()), critical=False)
           .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
           .sign(root_key, hashes.SHA256()))
    (tmp_path / "corp-ca.crt").write_bytes(sub.public_bytes(serialization.Encoding.PEM)
                                           + root.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "corp-ca.key").write_bytes(sub_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSWORD.encode())))
    result = run_cli("apply", write(tmp_path), env=ENV)
    assert result.returncode == 0, result.stderr

    leaf = tmp_path / "certs" / "api"
    verified = subprocess.run(["openssl", "verify", "-CAfile", str(tmp_path / "corp-root.crt"), "-untrusted",
                               str(leaf / "tls.crt"), str(leaf / "tls.crt")],
                              capture_output=True, text=True, timeout=30, check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert [c.subject for c in certs_in(leaf / "ca.crt")] == [root.subject]
