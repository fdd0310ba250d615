"""PEM bytes in and out: keys, certificates, chains and CRLs. Parsing failures become reasons."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization

from .keys import PrivateKey

PEM_CERT = b"-----BEGIN CERTIFICATE-----"


class Unreadable(Exception):
    """A file exists but cannot be used; the message says why, for the plan's reasons."""


def key_pem(key: PrivateKey, password: str | None = None) -> bytes:
    """PKCS#8 PEM; with a password, PBES2/AES-256-CBC (what BestAvailableEncryption picks)."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode()) if password
        else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def read_key(data: bytes, password: str | None = None, *,
             password_field: str = "key_password") -> tuple[PrivateKey, bool]:
    """The private key in `data`, and whether the file was encrypted (PKCS#8, or OpenSSL's
    traditional `Proc-Type: 4,ENCRYPTED` PEM); `password_field` is the spec field named in errors."""
    encrypted = b"ENCRYPTED" in data.split(b"\n", 1)[0] or b"Proc-Type: 4,ENCRYPTED" in data
    if encrypted and not password:
        raise Unreadable(f"encrypted, and the spec gives no {password_field}")
    try:
        # RSA validation costs ~130 ms per 4096-bit key on every no-op run; apply checks every
        # signature it makes instead (a damaged key cannot sign unnoticed), and plan checks key/cert pairs.
        key = serialization.load_pem_private_key(data, password.encode() if encrypted and password else None,
                                                 unsafe_skip_rsa_key_validation=True)
    except ValueError as exc:
        raise Unreadable(f"does not open with {password_field}" if encrypted else "not a PEM private key") from exc
    except (TypeError, UnsupportedAlgorithm) as exc:
        raise Unreadable(f"not a usable private key ({type(exc).__name__})") from exc
    return key, encrypted  # type: ignore[return-value]


def certs_pem(certs: Sequence[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def read_certs(data: bytes) -> tuple[x509.Certificate, ...]:
    if PEM_CERT not in data:
        raise Unreadable("no PEM certificate in it")
    try:
        return tuple(x509.load_pem_x509_certificates(data))
    except ValueError as exc:
        raise Unreadable("a PEM certificate in it is damaged") from exc


def crl_pem(crl: x509.CertificateRevocationList) -> bytes:
    return crl.public_bytes(serialization.Encoding.PEM)


def crl_der(crl: x509.CertificateRevocationList) -> bytes:
    return crl.public_bytes(serialization.Encoding.DER)


def crls_pem(crls: Sequence[x509.CertificateRevocationList]) -> bytes:
    """Several CRLs in one PEM file, as nginx `ssl_crl`, Tomcat and OpenSSL's -CRLfile read them."""
    return b"".join(crl_pem(crl) for crl in crls)


_PEM_CRL_END = b"-----END X509 CRL-----"


def read_crls(data: bytes) -> tuple[x509.CertificateRevocationList, ...]:
    """Every CRL of a PEM file holding one or more."""
    blocks = [block + _PEM_CRL_END for block in data.split(_PEM_CRL_END)[:-1]]
    if not blocks:
        raise Unreadable("no PEM CRL in it")
    return tuple(read_crl(block.strip()) for block in blocks)


def read_crl(data: bytes) -> x509.CertificateRevocationList:
    try:
        return x509.load_pem_x509_crl(data)
    except ValueError as exc:
        raise Unreadable("not a PEM CRL") from exc


def fingerprint(cert: x509.Certificate) -> bytes:
    return cert.fingerprint(hashes.SHA256())
