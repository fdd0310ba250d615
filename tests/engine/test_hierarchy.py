"""Intermediate CAs (issue 6): root → intermediate → leaf chains as openssl, cryptography's verifier,
Python's ssl module and keytool see them; re-keying and renewing an intermediate; issuer errors.

Every check reads the files apply wrote, with the tools a user would run on them.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import textwrap
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import verification

import mtlsgen
from mtlsgen import SpecError, load_spec
from tests.helpers.common import run_cli
from tests.helpers.tls import handshake

HIERARCHY = """
version: 1
defaults: {key: ecdsa-p256, subject: {O: Example Corp}}
ca: {cn: Test Root CA, key: ecdsa-p256, validity: 10y}
intermediates:
  services-ca:
    cn: Test Services CA
    issuer: ca
    path_length: 0
    validity: 2y
    crl: {validity: 7d, url: "http://pki.example.com/services-ca.crl"}
servers:
  orders:
    issuer: services-ca
    sans: [orders.example.com, localhost, 127.0.0.1]
    validity: 90d
    keystore: {formats: [pkcs12]}
    truststore: {formats: [pkcs12]}
  edge:
    sans: [edge.example.com]
    validity: 90d
clients:
  billing:
    issuer: services-ca
    sans: ["spiffe://example.com/billing"]
    validity: 90d
"""

SERVICES_CA_LEAVES = ("orders", "billing")


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def write_spec_file(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pki.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def certs_in(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def cn_of(cert: x509.Certificate) -> str:
    return str(cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value)


def openssl_verify(root: Path, leaf_chain: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """What the issue tells users to run: the root as the trust anchor, intermediates from tls.crt."""
    return subprocess.run(["openssl", "verify", *extra, "-CAfile", str(root), "-untrusted", str(leaf_chain),
                           str(leaf_chain)], capture_output=True, text=True, timeout=30, check=False)


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under `root`: relative path → (bytes, mtime in ns)."""
    return {p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def server_context(folder: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(folder / "tls.crt", folder / "tls.key")
    ctx.load_verify_locations(cafile=str(folder / "ca.crt"))
    ctx.verify_mode = ssl.CERT_REQUIRED  # client-auth: need
    return ctx


def client_context(folder: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_cert_chain(folder / "tls.crt", folder / "tls.key")
    ctx.load_verify_locations(cafile=str(folder / "ca.crt"))
    return ctx


# -- a root → services-ca → leaves PKI, built once for the read-only checks --------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output folder of an applied HIERARCHY spec."""
    folder = tmp_path_factory.mktemp("hierarchy")
    result = run_cli("apply", write_spec_file(folder, HIERARCHY))
    assert result.returncode == 0, result.stderr
    return folder / "certs"


@pytest.mark.parametrize("leaf", SERVICES_CA_LEAVES)
def test_openssl_verifies_leaf_through_the_intermediate(pki: Path, leaf: str) -> None:
    result = openssl_verify(pki / "ca" / "ca.crt", pki / leaf / "tls.crt")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith(": OK")


@pytest.mark.parametrize("leaf", SERVICES_CA_LEAVES)
def test_openssl_needs_the_intermediate_from_tls_crt(pki: Path, leaf: str, tmp_path: Path) -> None:
    """The leaf alone does not verify against the root: tls.crt carries the missing link."""
    leaf_only = tmp_path / "leaf.pem"
    leaf_only.write_bytes(certs_in(pki / leaf / "tls.crt")[0].public_bytes(serialization.Encoding.PEM))
    result = openssl_verify(pki / "ca" / "ca.crt", leaf_only)
    assert result.returncode != 0
    assert "unable to get local issuer certificate" in result.stdout + result.stderr


@pytest.mark.parametrize("leaf", SERVICES_CA_LEAVES)
def test_tls_crt_is_leaf_then_intermediate_and_ca_crt_is_the_root(pki: Path, leaf: str) -> None:
    chain = certs_in(pki / leaf / "tls.crt")
    root = certs_in(pki / "ca" / "ca.crt")
    intermediate = certs_in(pki / "services-ca" / "ca.crt")
    assert len(root) == 1 and len(intermediate) == 1
    assert len(chain) == 2, "tls.crt must hold the leaf and the intermediate, not the root"
    assert der(chain[1]) == der(intermediate[0])
    assert chain[0].issuer == intermediate[0].subject
    assert intermediate[0].issuer == root[0].subject
    assert [der(c) for c in certs_in(pki / leaf / "ca.crt")] == [der(root[0])]


def test_intermediate_is_a_ca_with_its_path_length(pki: Path) -> None:
    cert = certs_in(pki / "services-ca" / "ca.crt")[0]
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca is True
    assert constraints.value.path_length == 0
    assert cn_of(cert) == "Test Services CA"
    assert (pki / "services-ca" / "ca.key").stat().st_mode & 0o777 == 0o600


def test_leaf_issued_by_the_root_has_no_intermediate(pki: Path) -> None:
    chain = certs_in(pki / "edge" / "tls.crt")
    assert len(chain) == 1
    assert chain[0].issuer == certs_in(pki / "ca" / "ca.crt")[0].subject
    assert openssl_verify(pki / "ca" / "ca.crt", pki / "edge" / "tls.crt").returncode == 0


def test_cryptography_server_verifier_accepts_the_chain(pki: Path) -> None:
    root = certs_in(pki / "ca" / "ca.crt")
    leaf, *intermediates = certs_in(pki / "orders" / "tls.crt")
    verifier = (verification.PolicyBuilder().store(verification.Store(root)).time(utcnow())
                .build_server_verifier(x509.DNSName("orders.example.com")))
    built = verifier.verify(leaf, intermediates)
    assert [cn_of(c) for c in built] == ["orders.example.com", "Test Services CA", "Test Root CA"]
    with pytest.raises(verification.VerificationError):
        verifier.verify(leaf, [])  # without the intermediate there is no path to the root


def test_cryptography_client_verifier_accepts_the_client_chain(pki: Path) -> None:
    root = certs_in(pki / "ca" / "ca.crt")
    leaf, *intermediates = certs_in(pki / "billing" / "tls.crt")
    verifier = verification.PolicyBuilder().store(verification.Store(root)).time(utcnow()).build_client_verifier()
    verified = verifier.verify(leaf, intermediates)
    assert len(verified.chain) == 3


def test_mtls_handshake_between_leaves_of_the_intermediate(pki: Path) -> None:
    result = handshake(server_context(pki / "orders"), client_context(pki / "billing"))
    assert result.server_error is None and result.client_error is None, result
    assert result.received == b"hello"
    assert result.client_cn == "billing"


def test_mtls_handshake_by_ip_address(pki: Path) -> None:
    result = handshake(server_context(pki / "orders"), client_context(pki / "billing"), server_hostname="127.0.0.1")
    assert result.received == b"hello", result


def test_mtls_server_refuses_a_client_without_certificate(pki: Path) -> None:
    anonymous = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    anonymous.load_verify_locations(cafile=str(pki / "orders" / "ca.crt"))
    result = handshake(server_context(pki / "orders"), anonymous)
    assert result.server_error is not None
    assert result.received == b""


@pytest.mark.interop  # starts keytool
@pytest.mark.skipif(shutil.which("keytool") is None, reason="keytool not installed")
def test_keytool_sees_a_chain_of_three_in_the_keystore(pki: Path) -> None:
    password = (pki / "orders" / "keystore.password").read_text().strip()
    result = subprocess.run(["keytool", "-list", "-v", "-keystore", str(pki / "orders" / "keystore.p12"),
                             "-storetype", "PKCS12", "-storepass", password],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Your keystore contains 1 entry" in result.stdout
    assert "Certificate chain length: 3" in result.stdout
    owners = [line.split(":", 1)[1].strip() for line in result.stdout.splitlines() if line.startswith("Owner:")]
    assert [o.split(",")[0] for o in owners] == ["CN=orders.example.com", "CN=Test Services CA", "CN=Test Root CA"]


def test_depth_two_chain_verifies(tmp_path: Path) -> None:
    # team-b is listed before its issuer team-a: order in the file does not matter.
    spec = write_spec_file(tmp_path, """
        version: 1
        defaults: {key: ecdsa-p256}
        ca: {cn: Depth Root, key: ecdsa-p256}
        intermediates:
          team-b: {cn: Team B CA, issuer: team-a, validity: 2y, path_length: 0}
          team-a: {cn: Team A CA, validity: 3y, path_length: 1}
        servers:
          deep: {issuer: team-b, sans: [deep.example.com, localhost], validity: 30d}
        clients:
          probe: {issuer: team-b, sans: ["spiffe://example.com/probe"], validity: 30d}
        """)
    result = run_cli("apply", spec)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "certs"
    chain = certs_in(out / "deep" / "tls.crt")
    assert [cn_of(c) for c in chain] == ["deep.example.com", "Team B CA", "Team A CA"]
    assert [der(c) for c in chain[1:]] == [der(certs_in(out / "team-b" / "ca.crt")[0]),
                                           der(certs_in(out / "team-a" / "ca.crt")[0])]
    assert [cn_of(c) for c in certs_in(out / "deep" / "ca.crt")] == ["Depth Root"]
    verified = openssl_verify(out / "ca" / "ca.crt", out / "deep" / "tls.crt")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    root = certs_in(out / "ca" / "ca.crt")
    built = (verification.PolicyBuilder().store(verification.Store(root)).time(utcnow())
             .build_server_verifier(x509.DNSName("deep.example.com")).verify(chain[0], chain[1:]))
    assert len(built) == 4
    result = handshake(server_context(out / "deep"), client_context(out / "probe"))
    assert result.received == b"hello", result


# -- re-keying and renewing the intermediate ------------------------------------------------------


def serial(path: Path) -> int:
    return certs_in(path)[0].serial_number


def test_replace_intermediate_rekeys_only_its_subtree(tmp_path: Path) -> None:
    spec = write_spec_file(tmp_path, HIERARCHY)
    mtlsgen.apply(load_spec(spec))
    out = tmp_path / "certs"
    before = snapshot(out)
    old_serials = {leaf: serial(out / leaf / "tls.crt") for leaf in SERVICES_CA_LEAVES}

    result = run_cli("apply", "--replace", "services-ca", spec)
    assert result.returncode == 0, result.stderr
    after = snapshot(out)

    subtree = ("services-ca/", *(f"{leaf}/" for leaf in SERVICES_CA_LEAVES))
    outside = {rel for rel in before if not rel.startswith(subtree)}
    assert {"ca/ca.crt", "ca/ca.key", "edge/tls.crt", "edge/tls.key", "edge/ca.crt"} <= outside
    # edge's CRL file holds services-ca's CRL, which the re-key re-signs: it is the one file outside that changes,
    # with the store cache, which records the subtree's stores rewritten.
    unchanged = outside - {"edge/ca.crl", ".mtlsgen-stores.json"}
    assert {rel: after.get(rel) for rel in unchanged} == {rel: before[rel] for rel in unchanged}, \
        "files outside the services-ca subtree changed"
    assert set(after) == set(before)

    assert after["services-ca/ca.key"][0] != before["services-ca/ca.key"][0]
    assert after["services-ca/ca.crt"][0] != before["services-ca/ca.crt"][0]
    for leaf in SERVICES_CA_LEAVES:
        assert serial(out / leaf / "tls.crt") != old_serials[leaf]
        assert after[f"{leaf}/tls.key"][0] != before[f"{leaf}/tls.key"][0]
        assert after[f"{leaf}/ca.crt"][0] == before[f"{leaf}/ca.crt"][0]  # still the same root
        verified = openssl_verify(out / "ca" / "ca.crt", out / leaf / "tls.crt")
        assert verified.returncode == 0, verified.stdout + verified.stderr
    # The new intermediate's certificate carries its new key; the old leaves would not chain to it.
    new_ca = certs_in(out / "services-ca" / "ca.crt")[0]
    new_key = serialization.load_pem_private_key((out / "services-ca" / "ca.key").read_bytes(), None)
    assert new_ca.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo) == \
        new_key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    assert not mtlsgen.plan(load_spec(spec)).pending, "a second apply would change more"


RENEWABLE = """
version: 1
defaults: {key: ecdsa-p256}
ca: {cn: Test Root CA, key: ecdsa-p256, validity: 10y}
intermediates:
  services-ca: {cn: Test Services CA, validity: 100d, renew_before: 50d}
servers:
  orders:
    issuer: services-ca
    sans: [orders.example.com, localhost]
    validity: 90d
    renew_before: 10d
    keystore: {formats: [pkcs12]}
clients:
  billing: {issuer: services-ca, sans: ["spiffe://example.com/billing"], validity: 90d, renew_before: 10d}
"""


def test_renewing_intermediate_with_same_key_reissues_nothing_under_it(tmp_path: Path) -> None:
    spec = load_spec(write_spec_file(tmp_path, RENEWABLE))
    start = utcnow()
    mtlsgen.apply(spec, now=start)
    out = tmp_path / "certs"
    before = snapshot(out)
    old_ca = certs_in(out / "services-ca" / "ca.crt")[0]
    old_leaves = {leaf: certs_in(out / leaf / "tls.crt")[0] for leaf in SERVICES_CA_LEAVES}

    # Day 55: past services-ca's renewal time (100d − 50d), well before the leaves' (90d − 10d).
    later = start + timedelta(days=55)
    mtlsgen.apply(spec, now=later)
    after = snapshot(out)

    new_ca = certs_in(out / "services-ca" / "ca.crt")[0]
    assert new_ca.serial_number != old_ca.serial_number
    assert new_ca.not_valid_after_utc > old_ca.not_valid_after_utc
    assert after["services-ca/ca.key"] == before["services-ca/ca.key"], "renewal must keep the CA key"
    assert after["ca/ca.crt"] == before["ca/ca.crt"] and after["ca/ca.key"] == before["ca/ca.key"]
    attime = str(int((later + timedelta(minutes=1)).timestamp()))
    for leaf in SERVICES_CA_LEAVES:
        chain = certs_in(out / leaf / "tls.crt")
        assert der(chain[0]) == der(old_leaves[leaf]), f"{leaf} was reissued"
        assert after[f"{leaf}/tls.key"] == before[f"{leaf}/tls.key"]
        assert len(chain) == 2 and der(chain[1]) == der(new_ca), f"{leaf}/tls.crt still has the old intermediate"
        verified = openssl_verify(out / "ca" / "ca.crt", out / leaf / "tls.crt", "-attime", attime)
        assert verified.returncode == 0, verified.stdout + verified.stderr
    # The keystore follows the chain without a new key.
    password = (out / "orders" / "keystore.password").read_text().strip()
    store = pkcs12.load_pkcs12((out / "orders" / "keystore.p12").read_bytes(), password.encode())
    assert store.cert is not None and der(store.cert.certificate) == der(old_leaves["orders"])
    assert [der(c.certificate) for c in store.additional_certs][:1] == [der(new_ca)]

    # Nothing is left to do at that time.
    assert not mtlsgen.plan(spec, now=later).pending


def test_intermediate_renewed_when_a_new_leaf_would_outlive_it(tmp_path: Path) -> None:
    """No certificate outlives its issuer: at day 20 the 100-day intermediate has 80 days left, too few
    for a new 90-day leaf, so it is renewed (same key) and the existing leaves keep their certificates."""
    spec_path = write_spec_file(tmp_path, RENEWABLE)
    start = utcnow()
    mtlsgen.apply(load_spec(spec_path), now=start)
    out = tmp_path / "certs"
    old_billing = (out / "billing" / "tls.key").read_bytes(), certs_in(out / "billing" / "tls.crt")[0]
    old_ca_key = (out / "services-ca" / "ca.key").read_bytes()

    spec_path.write_text(spec_path.read_text() + '  newcomer: {issuer: services-ca, sans: ["spiffe://example.com/n"],'
                         ' validity: 90d, renew_before: 10d}\n')
    later = start + timedelta(days=20)
    mtlsgen.apply(load_spec(spec_path), now=later)

    ca_cert = certs_in(out / "services-ca" / "ca.crt")[0]
    newcomer = certs_in(out / "newcomer" / "tls.crt")[0]
    assert newcomer.not_valid_after_utc <= ca_cert.not_valid_after_utc
    assert (out / "services-ca" / "ca.key").read_bytes() == old_ca_key
    assert (out / "billing" / "tls.key").read_bytes() == old_billing[0]
    assert der(certs_in(out / "billing" / "tls.crt")[0]) == der(old_billing[1])
    attime = str(int((later + timedelta(minutes=1)).timestamp()))
    for leaf in ("billing", "newcomer", "orders"):
        verified = openssl_verify(out / "ca" / "ca.crt", out / leaf / "tls.crt", "-attime", attime)
        assert verified.returncode == 0, leaf + verified.stdout + verified.stderr


# -- issuer errors in the spec -------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("""
     version: 1
     intermediates:
       team-a: {issuer: team-b}
       team-b: {issuer: team-a}
     servers:
       api: {issuer: team-a, sans: [api.example.com]}
     """, ["intermediates.team-a.issuer", "cycle", "team-a", "team-b"]),
    ("""
     version: 1
     intermediates:
       loop-ca: {issuer: loop-ca}
     """, ["intermediates.loop-ca.issuer", "cycle", "loop-ca"]),
    ("""
     version: 1
     servers:
       api: {issuer: nowhere-ca, sans: [api.example.com]}
     """, ["servers.api.issuer", "nowhere-ca", "not defined"]),
    ("""
     version: 1
     intermediates:
       team-a: {issuer: ghost-ca}
     """, ["intermediates.team-a.issuer", "ghost-ca"]),
    ("""
     version: 1
     servers:
       api: {sans: [api.example.com]}
     clients:
       bob: {issuer: api}
     """, ["clients.bob.issuer", "'api'", "not a CA"]),
], ids=["cycle", "self-cycle", "unknown-issuer-leaf", "unknown-issuer-intermediate", "leaf-as-issuer"])
def test_issuer_errors_name_the_entry(write_spec: Callable[..., Path], text: str, expected: list[str]) -> None:
    spec = write_spec(text)
    result = run_cli("validate", spec)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: pki.yaml:")
    for word in expected:
        assert word in lines[0]
    assert "Traceback" not in result.stderr
    # The library refuses the same spec with the same message, before anything is written.
    with pytest.raises(SpecError) as raised:
        load_spec(spec)
    assert lines[0] == f"error: {raised.value}"
    assert not (spec.parent / "certs").exists()


def test_path_length_zero_forbids_an_intermediate_under_it(write_spec: Callable[..., Path]) -> None:
    spec = write_spec("""
        version: 1
        intermediates:
          services-ca: {path_length: 0}
          team-ca: {issuer: services-ca}
        """)
    result = run_cli("validate", spec)
    assert result.returncode == 1
    assert "team-ca" in result.stderr and "path_length" in result.stderr
