"""What real peers think of the files: openssl, cryptography's verifier, an ssl mTLS handshake;
plus the file modes and the certificate extensions a user would inspect with `openssl x509 -text`."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import stat
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError
from engine_helpers import assert_verifies, cert, certs_in, openssl_verify, run_umask0, spec_at, utcnow

import mtlsgen

PEERS_SPEC = """
version: 1
ca: {key: ecdsa-p256, cn: Engine Test Root}
defaults: {key: ecdsa-p256, subject: {O: Engine Test, C: US}}
servers:
  api:
    sans: [api.example.com, localhost, 127.0.0.1, "::1"]
  web:
    sans: [web.example.com, 10.1.2.3]
clients:
  alice:
    sans: ["spiffe://example.com/alice", alice@example.com]
  bob: {}
"""
SERVERS = {"api": (["api.example.com", "localhost"], ["127.0.0.1", "::1"]),
           "web": (["web.example.com"], ["10.1.2.3"])}
CLIENTS = ("alice", "bob")
TIMEOUT = 10


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The PEERS_SPEC applied once; returns the output folder."""
    folder = tmp_path_factory.mktemp("peers")
    mtlsgen.apply(spec_at(folder, PEERS_SPEC))
    return folder / "certs"


# -- openssl and cryptography's verifier ---------------------------------------------------------


def test_openssl_verify_accepts_every_leaf_with_its_purpose(pki: Path) -> None:
    for name in [*SERVERS, *CLIENTS]:
        assert_verifies(pki / name / "ca.crt", pki / name / "tls.crt")
    for name in SERVERS:
        result = openssl_verify(pki / name / "ca.crt", pki / name / "tls.crt", purpose="sslserver")
        assert result.returncode == 0, result.stdout + result.stderr
    for name in CLIENTS:
        result = openssl_verify(pki / name / "ca.crt", pki / name / "tls.crt", purpose="sslclient")
        assert result.returncode == 0, result.stdout + result.stderr
    # A client certificate is not a server certificate (EKU by role).
    wrong = openssl_verify(pki / "alice" / "ca.crt", pki / "alice" / "tls.crt", purpose="sslserver")
    assert wrong.returncode != 0


def _builder(pki: Path, name: str) -> PolicyBuilder:
    roots = certs_in(pki / name / "ca.crt")
    return PolicyBuilder().store(Store(roots)).time(utcnow())


def test_cryptography_server_verifier_accepts_every_dns_and_ip_san(pki: Path) -> None:
    for name, (dns_names, ips) in SERVERS.items():
        chain = certs_in(pki / name / "tls.crt")
        subjects: list[x509.GeneralName] = [x509.DNSName(d) for d in dns_names]
        subjects += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
        for subject in subjects:
            verifier = _builder(pki, name).build_server_verifier(subject)
            verified = verifier.verify(chain[0], chain[1:])
            assert verified[-1] == certs_in(pki / name / "ca.crt")[0]
        # A name not in the certificate is refused, so the checks above mean something.
        with pytest.raises(VerificationError):
            _builder(pki, name).build_server_verifier(x509.DNSName("other.example.com")).verify(
                chain[0], chain[1:])


def test_cryptography_client_verifier_accepts_every_client(pki: Path) -> None:
    expected_sans = {"alice": [x509.UniformResourceIdentifier("spiffe://example.com/alice"),
                               x509.RFC822Name("alice@example.com")],
                     "bob": [x509.DNSName("bob")]}
    for name in CLIENTS:
        chain = certs_in(pki / name / "tls.crt")
        verified = _builder(pki, name).build_client_verifier().verify(chain[0], chain[1:])
        assert list(verified.subjects or []) == expected_sans[name]
    # A server certificate (serverAuth only) is not accepted as a client's.
    server = certs_in(pki / "api" / "tls.crt")
    with pytest.raises(VerificationError):
        _builder(pki, "api").build_client_verifier().verify(server[0], server[1:])


# -- a real mTLS handshake on loopback -----------------------------------------------------------


def _server_context(pki: Path, name: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki / name / "tls.crt", pki / name / "tls.key")
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(pki / name / "ca.crt")
    return ctx


def _client_context(pki: Path, server: str, client: str | None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # check_hostname and CERT_REQUIRED by default
    assert ctx.check_hostname
    ctx.load_verify_locations(pki / server / "ca.crt")
    if client is not None:
        ctx.load_cert_chain(pki / client / "tls.crt", pki / client / "tls.key")
    return ctx


def _handshake(pki: Path, server: str, client: str | None, hostname: str) -> dict[str, Any]:
    """One connection: the server answers `ok:<what it read>`; returns what both sides saw."""
    seen: dict[str, Any] = {}
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)
    port = listener.getsockname()[1]
    server_ctx = _server_context(pki, server)

    def serve() -> None:
        try:
            conn, _ = listener.accept()
            conn.settimeout(TIMEOUT)
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                seen["server_peer"] = tls.getpeercert()
                data = tls.recv(64)
                tls.sendall(b"ok:" + data)
        except (OSError, ssl.SSLError) as exc:
            seen["server_error"] = exc

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw, \
                _client_context(pki, server, client).wrap_socket(raw, server_hostname=hostname) as tls:
            seen["client_peer"] = tls.getpeercert()
            tls.sendall(b"hello")
            seen["reply"] = tls.recv(64)
    except (OSError, ssl.SSLError) as exc:
        seen["client_error"] = exc
    finally:
        thread.join(TIMEOUT)
        listener.close()
    assert not thread.is_alive(), "the server thread hung"
    return seen


def _cn(peer: dict[str, Any]) -> str:
    return next(value for rdn in peer["subject"] for key, value in rdn if key == "commonName")


@pytest.mark.parametrize(("server", "client", "hostname"), [
    ("api", "alice", "api.example.com"), ("api", "bob", "localhost"), ("api", "bob", "127.0.0.1"),
    ("web", "alice", "web.example.com")])
def test_mtls_handshake_between_server_and_client(pki: Path, server: str, client: str, hostname: str) -> None:
    seen = _handshake(pki, server, client, hostname)
    assert "client_error" not in seen and "server_error" not in seen, seen
    assert seen["reply"] == b"ok:hello"
    assert _cn(seen["server_peer"]) == client
    assert _cn(seen["client_peer"]) == f"{server}.example.com"


def test_mtls_handshake_fails_without_a_client_certificate(pki: Path) -> None:
    seen = _handshake(pki, "api", None, "api.example.com")
    assert isinstance(seen.get("server_error"), ssl.SSLError), seen
    assert seen.get("reply") in (None, b""), seen  # the client never gets an answer
    assert "client_error" in seen or seen.get("reply") == b""


def test_client_refuses_a_server_name_not_in_its_certificate(pki: Path) -> None:
    seen = _handshake(pki, "web", "alice", "api.example.com")
    assert isinstance(seen.get("client_error"), ssl.SSLCertVerificationError), seen


# -- modes -------------------------------------------------------------------------------------

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


# -- extensions --------------------------------------------------------------------------------


def _ext(c: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.Extension[Any]:
    return c.extensions.get_extension_for_class(kind)


def _assert_serial_and_dates(c: x509.Certificate) -> None:
    assert c.serial_number > 0
    assert c.serial_number.bit_length() <= 159  # at most 20 octets in DER (RFC 5280 4.1.2.2)
    back = utcnow() - c.not_valid_before_utc
    assert timedelta(minutes=1) <= back <= timedelta(minutes=15), back


def _assert_leaf(c: x509.Certificate, root: x509.Certificate, *, rsa: bool, usage: x509.ObjectIdentifier,
                 sans: list[x509.GeneralName]) -> None:
    bc = _ext(c, x509.BasicConstraints)
    assert bc.critical and bc.value.ca is False
    ku = _ext(c, x509.KeyUsage)
    assert ku.critical
    assert ku.value.digital_signature
    assert ku.value.key_encipherment is rsa
    assert not (ku.value.key_cert_sign or ku.value.crl_sign or ku.value.content_commitment
                or ku.value.data_encipherment or ku.value.key_agreement)
    assert list(_ext(c, x509.ExtendedKeyUsage).value) == [usage]
    assert list(_ext(c, x509.SubjectAlternativeName).value) == sans
    ski = _ext(c, x509.SubjectKeyIdentifier).value
    assert ski.digest == x509.SubjectKeyIdentifier.from_public_key(c.public_key()).digest  # type: ignore[arg-type]
    aki = _ext(c, x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == _ext(root, x509.SubjectKeyIdentifier).value.digest
    assert c.issuer == root.subject
    _assert_serial_and_dates(c)


def test_root_and_leaf_extensions(pki: Path) -> None:
    root = cert(pki / "ca" / "ca.crt")
    assert root.subject.rfc4514_string() == "CN=Engine Test Root,O=Engine Test,C=US"
    assert root.issuer == root.subject
    bc = _ext(root, x509.BasicConstraints)
    assert bc.critical and bc.value.ca is True
    ku = _ext(root, x509.KeyUsage)
    assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign
    assert not ku.value.digital_signature and not ku.value.key_encipherment
    assert _ext(root, x509.SubjectKeyIdentifier).value.digest
    _assert_serial_and_dates(root)
    assert root.not_valid_after_utc - utcnow() > timedelta(days=10 * 365 - 2)  # default 10y

    _assert_leaf(cert(pki / "api" / "tls.crt"), root, rsa=False, usage=ExtendedKeyUsageOID.SERVER_AUTH,
                 sans=[x509.DNSName("api.example.com"), x509.DNSName("localhost"),
                       x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                       x509.IPAddress(ipaddress.ip_address("::1"))])
    _assert_leaf(cert(pki / "alice" / "tls.crt"), root, rsa=False, usage=ExtendedKeyUsageOID.CLIENT_AUTH,
                 sans=[x509.UniformResourceIdentifier("spiffe://example.com/alice"),
                       x509.RFC822Name("alice@example.com")])
    _assert_leaf(cert(pki / "bob" / "tls.crt"), root, rsa=False, usage=ExtendedKeyUsageOID.CLIENT_AUTH,
                 sans=[x509.DNSName("bob")])  # a client gets a SAN even when the spec names none
    assert cert(pki / "api" / "tls.crt").subject.rfc4514_string() == "CN=api.example.com,O=Engine Test,C=US"
    assert cert(pki / "bob" / "tls.crt").subject.rfc4514_string() == "CN=bob,O=Engine Test,C=US"
    # tls.crt holds the leaf only (no intermediates here), ca.crt the root only.
    assert len(certs_in(pki / "api" / "tls.crt")) == 1
    assert certs_in(pki / "api" / "ca.crt") == [root]


def test_rsa_leaf_has_key_encipherment(tmp_path: Path) -> None:
    spec = spec_at(tmp_path, """
        version: 1
        ca: {key: ecdsa-p256}
        servers:
          legacy:
            key: rsa-2048
            sans: [legacy.example.com]
        """)
    mtlsgen.apply(spec)
    out = tmp_path / "certs"
    leaf = cert(out / "legacy" / "tls.crt")
    assert leaf.public_key().key_size == 2048  # type: ignore[union-attr]
    _assert_leaf(leaf, cert(out / "ca" / "ca.crt"), rsa=True, usage=ExtendedKeyUsageOID.SERVER_AUTH,
                 sans=[x509.DNSName("legacy.example.com")])
    assert_verifies(out / "legacy" / "ca.crt", out / "legacy" / "tls.crt")
    assert mtlsgen.plan(spec, now=utcnow() + timedelta(seconds=1)).pending == ()
