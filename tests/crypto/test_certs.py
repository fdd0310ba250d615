"""The certificates' extensions, as a user would inspect them with `openssl x509 -text`: basic
constraints, key usage by key type, extended key usage by role, SANs, key identifiers, serials and dates."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

import mtlsgen
from tests.helpers.engine import PEERS_SPEC, assert_verifies, cert, certs_in, spec_at, utcnow


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The PEERS_SPEC applied once; returns the output folder."""
    folder = tmp_path_factory.mktemp("certs")
    mtlsgen.apply(spec_at(folder, PEERS_SPEC))
    return folder / "certs"


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
