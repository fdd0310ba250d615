"""What real peers think of the files: openssl, cryptography's verifier, an ssl mTLS handshake.

The file modes are checked in tests/engine/test_safety.py, the certificate extensions in
tests/crypto/test_certs.py."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

import mtlsgen
from tests.helpers.engine import PEERS_SPEC, assert_verifies, certs_in, openssl_verify, spec_at, utcnow

pytestmark = pytest.mark.interop

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
