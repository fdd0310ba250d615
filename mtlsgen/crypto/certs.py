"""Certificates built from resolved entries: the CA and leaf profiles, and signature checks. No I/O.

One builder skeleton (serial, validity, SKI, AKI) with the role's extensions on top, as trustme
does; every KeyUsage flag is written out so the choice is visible.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..spec.entries import Entry
from ..spec.names import general_name
from .keys import PrivateKey, PublicKey

# Back-dated so that a peer whose clock runs a little behind still accepts a fresh certificate.
CLOCK_SKEW = timedelta(minutes=5)
_NAME_OIDS = {"C": NameOID.COUNTRY_NAME, "ST": NameOID.STATE_OR_PROVINCE_NAME,
              "L": NameOID.LOCALITY_NAME, "O": NameOID.ORGANIZATION_NAME,
              "OU": NameOID.ORGANIZATIONAL_UNIT_NAME, "CN": NameOID.COMMON_NAME}
_USAGE_OIDS = {"serverAuth": ExtendedKeyUsageOID.SERVER_AUTH,
               "clientAuth": ExtendedKeyUsageOID.CLIENT_AUTH}


def subject_name(entry: Entry) -> x509.Name:
    attrs = [*entry.subject, ("CN", entry.cn)]
    return x509.Name([x509.NameAttribute(_NAME_OIDS[k], v) for k, v in attrs])


def hash_for(key: PrivateKey) -> hashes.SHA256 | None:
    # Ed25519 signs the message itself; passing a hash is an error.
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def _skeleton(subject: x509.Name, public: PublicKey, issuer: x509.Name, now: datetime,
              validity: timedelta, serial: int | None = None) -> x509.CertificateBuilder:
    return (x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public)
            # RFC 5280 4.1.2.2: positive, at most 20 octets; 159 random bits satisfies both.
            .serial_number(serial or x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(now + validity)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False))


def authority_key_id(issuer_cert: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    try:
        ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer_cert.public_key())  # type: ignore[arg-type]


def issue_ca(entry: Entry, public: PublicKey, *, issuer_cert: x509.Certificate | None,
             issuer_key: PrivateKey, now: datetime) -> x509.Certificate:
    """A root (issuer_cert None: self-signed) or intermediate CA certificate."""
    subject = subject_name(entry)
    builder = _skeleton(subject, public, issuer_cert.subject if issuer_cert else subject, now, entry.validity)
    builder = builder.add_extension(
        x509.BasicConstraints(ca=True, path_length=entry.path_length), critical=True
    ).add_extension(x509.KeyUsage(
        digital_signature=False, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False,
        key_cert_sign=True,   # issues certificates
        crl_sign=True,        # signs its CRL
        encipher_only=False, decipher_only=False), critical=True)
    if issuer_cert is not None:
        builder = builder.add_extension(authority_key_id(issuer_cert), critical=False)
    return builder.sign(issuer_key, hash_for(issuer_key))


def issue_leaf(entry: Entry, public: PublicKey, *, issuer_cert: x509.Certificate,
               issuer_key: PrivateKey, now: datetime, crl_url: str | None = None,
               serial: int | None = None) -> x509.Certificate:
    """A server or client certificate with the extensions its role needs; `serial` only for verify's
    probes of a CRL (a certificate of its own always gets a fresh random serial)."""
    is_rsa = isinstance(public, rsa.RSAPublicKey)
    builder = _skeleton(subject_name(entry), public, issuer_cert.subject, now, entry.validity, serial)
    builder = builder.add_extension(
        x509.BasicConstraints(ca=False, path_length=None), critical=True
    ).add_extension(x509.KeyUsage(
        digital_signature=True,  # TLS 1.2 ECDHE and TLS 1.3 sign the handshake
        content_commitment=False,
        key_encipherment=is_rsa,  # TLS 1.2 RSA key transport; meaningless for EC/Ed25519 keys
        data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
        encipher_only=False, decipher_only=False), critical=True
    ).add_extension(
        x509.ExtendedKeyUsage([_USAGE_OIDS[u] for u in entry.usages]), critical=False
    ).add_extension(
        # Always present, clients too: cryptography's verifier rejects leaves without a SAN.
        x509.SubjectAlternativeName([general_name(s) for s in entry.sans]), critical=False
    ).add_extension(authority_key_id(issuer_cert), critical=False)
    if crl_url:
        builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(crl_url)], relative_name=None,
            reasons=None, crl_issuer=None)]), critical=False)
    return builder.sign(issuer_key, hash_for(issuer_key))


def signed_by(cert: x509.Certificate, issuer_public: PublicKey) -> bool:
    """Whether `cert`'s signature verifies with `issuer_public` (names are checked elsewhere)."""
    digest = cert.signature_hash_algorithm
    try:
        if isinstance(issuer_public, rsa.RSAPublicKey) and digest is not None:
            issuer_public.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), digest)
        elif isinstance(issuer_public, ec.EllipticCurvePublicKey) and digest is not None:
            issuer_public.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(digest))
        elif isinstance(issuer_public, ed25519.Ed25519PublicKey) and digest is None:
            issuer_public.verify(cert.signature, cert.tbs_certificate_bytes)
        else:
            return False
    except InvalidSignature:
        return False
    return True


