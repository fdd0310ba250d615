"""`mtlsgen verify`: key pairs, chains, stores and real mutual-TLS handshakes on 127.0.0.1.

A healthy PKI passes with the full server × client matrix. Then files are tampered with the way
things go wrong in real life — a certificate from another CA, a truststore rebuilt without the CA,
a server certificate for another name, a client certificate without clientAuth — and verify must
exit 1 and say which entry is at fault. Replacement files are made here with cryptography, signed
with the real CA key, so each case breaks exactly one thing. Last, what verify says when it cannot
check: a key_password change still pending, and CA keys cryptography's verifier refuses (Ed25519, P-224).
"""

from __future__ import annotations

import shutil
import ssl
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import mtlsgen
from mtlsgen import load_spec
from mtlsgen.reports.verify import verifier_detail
from tests.helpers.common import SMALL_SPEC, key_keeping_spec, one_error_line, run_cli
from tests.helpers.engine import ca_key_usage

TS_PASSWORD = "truststore-secret"
ENV = {"MTLSGEN_VERIFY_TS": TS_PASSWORD, "COLUMNS": "240"}

SPEC = """
version: 1
ca: {key: ecdsa-p256, validity: 5y}
defaults: {key: ecdsa-p256, validity: 30d}
servers:
  api:
    sans: [api.example.com, localhost, 127.0.0.1]
    truststore: {formats: [pkcs12], password: {env: MTLSGEN_VERIFY_TS}}
  web:
    sans: [web.example.com, 127.0.0.1]
clients:
  alice: {sans: [alice.example.com]}
  bob: {}
"""
SERVERS = ("api", "web")
CLIENTS = ("alice", "bob")


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MTLSGEN_VERIFY_TS", TS_PASSWORD)


@pytest.fixture
def pki(write_spec: Callable[..., Path]) -> Path:
    """The spec above, applied; returns the spec path (its output is next to it in certs/)."""
    spec = write_spec(SPEC)
    mtlsgen.apply(load_spec(spec))
    return spec


def verify_cli(spec: Path) -> tuple[int, str, str]:
    result = run_cli("verify", spec, env=ENV)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stdout, result.stderr


def failed(spec: Path) -> list[tuple[str, str]]:
    """(kind, subject) of every failed check, through the library."""
    return [(c.kind, c.subject) for c in mtlsgen.verify(load_spec(spec)).failed]


def assert_fails_naming(spec: Path, culprit: str) -> str:
    """`mtlsgen verify` exits 2 (needs attention, docs/cli.md) with one line on stderr that names
    `culprit`; returns that line."""
    code, stdout, stderr = verify_cli(spec)
    assert code == 2, stdout + stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert culprit in lines[0], lines[0]
    # The table on stdout shows the failure too.
    assert any(" FAIL " in line and culprit in line for line in stdout.splitlines()), stdout
    return lines[0]


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def new_ca(cn: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = utcnow()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + 365 * timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return cert, key


def reissue_with_real_ca(out: Path, name: str, *, sans: list[x509.GeneralName],
                         usages: list[x509.ObjectIdentifier]) -> None:
    """Replace out/name/tls.crt with a certificate for the same key and subject, signed by the real CA
    key in out/ca/, but with the given SANs and extended key usages; tls.key is kept."""
    ca_cert = x509.load_pem_x509_certificate((out / "ca" / "ca.crt").read_bytes())
    ca_key = serialization.load_pem_private_key((out / "ca" / "ca.key").read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    leaf_key = serialization.load_pem_private_key((out / name / "tls.key").read_bytes(), password=None)
    assert isinstance(leaf_key, ec.EllipticCurvePrivateKey)
    old = x509.load_pem_x509_certificate((out / name / "tls.crt").read_bytes())
    now = utcnow()
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (x509.CertificateBuilder().subject_name(old.subject).issuer_name(ca_cert.subject)
            .public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=20))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (out / name / "tls.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


# --- a healthy PKI --------------------------------------------------------------------------------


def test_verify_after_apply_passes_with_the_full_handshake_matrix(pki: Path) -> None:
    code, stdout, stderr = verify_cli(pki)
    assert code == 0, stdout + stderr
    assert stderr == ""
    lines = stdout.splitlines()
    handshakes = [line for line in lines if "handshake" in line]
    assert len(handshakes) == 4, stdout
    for server in SERVERS:
        for client in CLIENTS:
            pair = [line for line in handshakes if client in line and server in line]
            assert len(pair) == 1, (client, server, stdout)
            assert " ok " in pair[0] and " FAIL " not in pair[0]
        refusals = [line for line in lines if "refusal" in line and server in line]
        assert len(refusals) == 2, stdout
        assert all(" ok " in line for line in refusals)
    assert " FAIL " not in stdout
    assert "passed" in lines[-1]

    report = mtlsgen.verify(load_spec(pki))
    assert report.failed == ()
    kinds = [c.kind for c in report.checks]
    assert kinds.count("handshake") == 4
    assert kinds.count("refusal") == 4
    for server in SERVERS:
        refusals = [c for c in report.checks if c.kind == "refusal" and c.subject.endswith(server)]
        assert len(refusals) == 2
        # One attempt without a client certificate, one with a certificate from another CA.
        assert any("no client certificate" in c.subject for c in refusals)
        assert any("foreign" in c.subject for c in refusals)
    # Every entry's key pair and chain are checked, and the store.
    for name in (*SERVERS, *CLIENTS):
        assert any(c.kind == "key pair" and c.subject == name and c.ok for c in report.checks)
        assert any(c.kind == "chain" and c.subject == name and c.ok for c in report.checks)
    assert any(c.kind == "store" and "truststore.p12" in c.subject for c in report.checks)


def test_verify_reads_only(pki: Path) -> None:
    out = pki.parent / "certs"
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(out.rglob("*")) if p.is_file()}
    mtlsgen.verify(load_spec(pki))
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(out.rglob("*")) if p.is_file()}
    assert before == after
    assert sorted(p.name for p in pki.parent.iterdir()) == ["certs", "pki.yaml"]


# --- tampered files -------------------------------------------------------------------------------


def test_leaf_from_another_ca_fails_naming_it(pki: Path) -> None:
    # Another project's PKI, with a client of the same name (and a root of the same default CN).
    other = pki.parent / "other"
    other.mkdir()
    (other / "pki.yaml").write_text(SPEC, encoding="utf-8")
    mtlsgen.apply(load_spec(other / "pki.yaml"))
    for file_name in ("tls.crt", "tls.key"):
        shutil.copy(other / "certs" / "alice" / file_name, pki.parent / "certs" / "alice" / file_name)

    line = assert_fails_naming(pki, "alice")
    assert "chain" in line or "handshake" in line
    failures = failed(pki)
    assert ("chain", "alice") in failures
    # The pair itself still matches; alice's handshakes fail, bob's still work.
    assert ("key pair", "alice") not in failures
    handshakes = [subject for kind, subject in failures if kind == "handshake"]
    assert len(handshakes) == 2 and all("alice" in s for s in handshakes)
    assert all(subject == "alice" or "alice" in subject for _, subject in failures)


def test_truststore_without_the_ca_fails_naming_it(pki: Path) -> None:
    foreign, _ = new_ca("Somebody Else's CA")
    store = pki.parent / "certs" / "api" / "truststore.p12"
    store.write_bytes(pkcs12.serialize_java_truststore(
        [pkcs12.PKCS12Certificate(foreign, b"foreign")],
        serialization.BestAvailableEncryption(TS_PASSWORD.encode())))
    # The store still opens with its password (what Java would do): only its content is wrong.
    loaded = pkcs12.load_pkcs12(store.read_bytes(), TS_PASSWORD.encode())
    assert [c.certificate.subject for c in loaded.additional_certs] == [foreign.subject]

    line = assert_fails_naming(pki, "truststore.p12")
    assert "api" in line
    assert failed(pki) == [("store", "api/truststore.p12")]


def test_server_certificate_without_the_name_clients_use_fails_naming_it(pki: Path) -> None:
    out = pki.parent / "certs"
    reissue_with_real_ca(out, "api", sans=[x509.DNSName("elsewhere.example.com")],
                         usages=[ExtendedKeyUsageOID.SERVER_AUTH])
    # Sanity: still a good certificate from the real CA, for the same key; only the name is wrong.
    ca = x509.load_pem_x509_certificate((out / "ca" / "ca.crt").read_bytes())
    x509.load_pem_x509_certificate((out / "api" / "tls.crt").read_bytes()).verify_directly_issued_by(ca)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(out / "api" / "tls.crt", out / "api" / "tls.key")

    line = assert_fails_naming(pki, "api")
    assert "chain" in line or "handshake" in line
    failures = failed(pki)
    assert ("chain", "api") in failures
    handshakes = [subject for kind, subject in failures if kind == "handshake"]
    assert sorted(handshakes) == sorted(f"{client} → api" for client in CLIENTS)
    assert not any("web" in subject for _, subject in failures)


def test_client_certificate_for_servers_only_fails_naming_it(pki: Path) -> None:
    out = pki.parent / "certs"
    reissue_with_real_ca(out, "bob", sans=[x509.DNSName("bob")], usages=[ExtendedKeyUsageOID.SERVER_AUTH])

    line = assert_fails_naming(pki, "bob")
    assert "chain" in line or "handshake" in line
    failures = failed(pki)
    assert ("chain", "bob") in failures or any(k == "handshake" and "bob" in s for k, s in failures)
    assert all("bob" in subject for _, subject in failures), failures
    assert not any("alice" in subject for _, subject in failures)


def test_key_that_is_not_the_certificates_fails_without_a_traceback(pki: Path) -> None:
    # Bob's tls.key overwritten with alice's: ssl cannot even load the pair.
    out = pki.parent / "certs"
    shutil.copy(out / "alice" / "tls.key", out / "bob" / "tls.key")
    line = assert_fails_naming(pki, "bob")
    assert "key pair" in line
    assert ("key pair", "bob") in failed(pki)


def test_missing_root_certificate_fails_without_a_traceback(pki: Path) -> None:
    (pki.parent / "certs" / "ca" / "ca.crt").unlink()
    code, stdout, stderr = verify_cli(pki)
    assert code == 2, stdout  # the checks ran: the root's is the one that fails
    assert len(stderr.strip().splitlines()) == 1
    assert "ca" in stderr


def test_wildcard_only_server_intermediate_and_encrypted_key_pass(
        write_spec: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MTLSGEN_VERIFY_KP", "key-secret")
    spec = write_spec("""
        version: 1
        ca: {key: ecdsa-p256, validity: 5y}
        defaults: {key: ecdsa-p256, validity: 30d}
        intermediates:
          svc-ca: {cn: Services CA, key: ecdsa-p256, validity: 1y}
        servers:
          wild: {sans: ["*.example.com"]}
          sealed: {sans: [sealed.example.com], key_password: {env: MTLSGEN_VERIFY_KP}}
        clients:
          carol: {issuer: svc-ca}
        """)
    mtlsgen.apply(load_spec(spec))
    assert (spec.parent / "certs" / "sealed" / "tls.key").read_text().startswith(
        "-----BEGIN ENCRYPTED PRIVATE KEY-----")
    result = run_cli("verify", spec, env={**ENV, "MTLSGEN_VERIFY_KP": "key-secret"})
    assert result.returncode == 0, result.stdout + result.stderr
    handshakes = [line for line in result.stdout.splitlines() if "handshake" in line]
    assert len(handshakes) == 2 and all(" ok " in line for line in handshakes), result.stdout
    assert any("wild" in line for line in handshakes) and any("sealed" in line for line in handshakes)

    # With the wrong key password the sealed server cannot be used, and verify says so.
    wrong = run_cli("verify", spec, env={**ENV, "MTLSGEN_VERIFY_KP": "not-it"})
    assert wrong.returncode == 2  # the checks ran; the sealed server's fail
    assert "Traceback" not in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1 and "sealed" in wrong.stderr


# --- revoked entries ------------------------------------------------------------------------------


def test_revoked_entry_is_skipped_by_verify(pki: Path) -> None:
    pki.write_text(SPEC.replace("  bob: {}", "  bob: {revoked: true}"), encoding="utf-8")
    spec = load_spec(pki)
    mtlsgen.apply(spec)
    assert {c.name: c.state for c in mtlsgen.status(spec).certificates}["bob"] == "revoked"

    code, stdout, stderr = verify_cli(pki)
    assert code == 0, stdout + stderr
    handshakes = [line for line in stdout.splitlines() if "handshake" in line]
    assert len(handshakes) == 2
    assert all("alice" in line for line in handshakes)
    assert "bob" not in stdout
    assert sum("refusal" in line for line in stdout.splitlines()) == 4


def test_revoked_before_apply_is_skipped_too(pki: Path) -> None:
    # Marked revoked in the spec while its files are still there: verify leaves it out all the same.
    pki.write_text(SPEC.replace("  bob: {}", "  bob: {revoked: true}"), encoding="utf-8")
    report = mtlsgen.verify(load_spec(pki))
    assert report.failed == ()
    assert not any("bob" in c.subject for c in report.checks)
    assert sum(c.kind == "handshake" for c in report.checks) == 2


SERVER = "servers:\n  api: {sans: [localhost]}\n"


def test_verify_with_a_key_password_change_pending_reports_instead_of_crashing(
        write_spec: Callable[..., Path]) -> None:
    spec = write_spec(key_keeping_spec("    key_password: {generate: true}") + SERVER)
    mtlsgen.apply(load_spec(spec))
    spec = write_spec(key_keeping_spec("    key_password: {env: NEW_KP}") + SERVER)
    result = run_cli("verify", spec, env={"NEW_KP": "another-password"})
    assert "Traceback" not in result.stderr
    assert result.returncode == 0, result.stdout + result.stderr  # the files still work together


def test_verify_explains_an_ed25519_ca(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(SMALL_SPEC.replace("key: ecdsa-p256, validity: 5y", "key: ed25519, validity: 5y"))
    assert run_cli("apply", spec).returncode == 0
    result = run_cli("verify", spec, env={"COLUMNS": "240"})
    assert result.returncode == 2, result.stdout + result.stderr  # checks ran; some need attention
    [line] = result.stderr.strip().splitlines()
    assert line.endswith("cryptography's X.509 verifier does not accept Ed25519 CA keys (use ecdsa-p256 "
                         "or rsa for CAs); TLS peers may still accept it")
    for junk in ("AlgorithmIdentifier", "PhantomData", "{"):
        assert junk not in result.stdout + result.stderr
    checks = mtlsgen.verify(load_spec(spec)).checks
    chains = [c for c in checks if c.kind == "chain"]
    assert chains and all(not c.ok and "does not accept Ed25519 CA keys" in c.detail for c in chains)
    handshakes = [c for c in checks if c.kind == "handshake"]
    assert handshakes and all(c.ok for c in handshakes)  # "TLS peers may still accept it": OpenSSL does


def _p224_ca(folder: Path) -> tuple[Path, Path]:
    """A root CA on curve P-224, which cryptography's verifier does not allow."""
    key = ec.generate_private_key(ec.SECP224R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "P-224 Root")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(ca_key_usage(), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "p224.crt", folder / "p224.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_a_p224_ca_is_refused_at_plan_and_verifier_errors_read_as_one_line(write_spec: Callable[..., Path]) -> None:
    spec = write_spec("""
        version: 1
        ca: {import: {cert: p224.crt, key: p224.key}}
        servers:
          api: {sans: [api.test], key: ecdsa-p256, validity: 30d}
        """)
    cert_path, key_path = _p224_ca(spec.parent)
    # Peers refuse a P-224 CA: plan says so before anything is written.
    assert "secp224r1" in one_error_line(run_cli("apply", spec))
    assert not (spec.parent / "certs").exists()
    # The verifier's own words for such a chain, as verify prints them: one readable line.
    ca_cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    ca_key = serialization.load_pem_private_key(key_path.read_bytes(), None)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(timezone.utc)
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "api.test")]))
            .issuer_name(ca_cert.subject).public_key(leaf_key.public_key()).serial_number(2)
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("api.test")]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),  # type: ignore[arg-type]
                           critical=False)
            .sign(ca_key, hashes.SHA256()))  # type: ignore[arg-type]
    verifier = verification.PolicyBuilder().store(verification.Store([ca_cert])).time(now) \
        .build_server_verifier(x509.DNSName("api.test"))
    with pytest.raises(verification.VerificationError) as refused:
        verifier.verify(leaf, [])
    detail = verifier_detail(str(refused.value))
    assert detail.endswith("Forbidden public key algorithm: Ec (curve secp224r1)"), detail
    for junk in ("AlgorithmIdentifier", "PhantomData", "DefinedByMarker", "{", "}", "\n", "::"):
        assert junk not in detail, detail
