"""Key stores and trust stores as bytes: PKCS#12 (cryptography) and JKS (pyjks, imported lazily).

Stores are compared by what they hold once read back (StoreContent), never by bytes: both
formats carry random salts and IVs, so their bytes change on every write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from ..errors import MissingExtraError
from .keys import PrivateKey, public_der
from .pem import Unreadable, fingerprint

# Set explicitly so that a change of cryptography's defaults cannot change what we write.
PBKDF2_ROUNDS = 10_000  # what keytool uses for PKCS#12 (JDK 17 keystore.pkcs12.keyPbeIterationCount)
# DER of the algorithm OIDs that tell the profiles apart. cryptography reads PKCS#12 files but
# does not say how they were encrypted, so the profile is recognised by these identifiers.
_OID_PBES2 = bytes.fromhex("06092a864886f70d01050d")            # 1.2.840.113549.1.5.13
_OID_AES256_CBC = bytes.fromhex("060960864801650304012a")     # 2.16.840.1.101.3.4.1.42
_OID_3DES_PBE = bytes.fromhex("060a2a864886f70d010c0103")        # pbeWithSHAAnd3-KeyTripleDES-CBC


@dataclass(frozen=True)
class StoreContent:
    """What a store holds, in comparable form: aliases, the key's public half, cert fingerprints."""

    key_aliases: tuple[str, ...] = ()
    public_key: bytes | None = None
    chain: tuple[bytes, ...] = ()
    trusted: frozenset[tuple[str, bytes]] = frozenset()
    profile: str | None = None


def jks_module() -> ModuleType:
    """pyjks, imported only when a JKS file is read or written (it costs ~110 ms and needs gcc)."""
    try:
        import jks  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        raise MissingExtraError("the spec asks for JKS stores, but pyjks is not installed: "
                                "pip install 'mtlsgen[jks]'") from None
    return jks  # type: ignore[no-any-return]


def _encryption(password: str, profile: str) -> serialization.KeySerializationEncryption:
    builder = serialization.PrivateFormat.PKCS12.encryption_builder()
    if profile == "legacy":
        # For Java before 8u301, which cannot read PBES2: 3DES and a SHA-1 MAC.
        builder = builder.key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC).hmac_hash(hashes.SHA1())
    else:
        builder = builder.kdf_rounds(PBKDF2_ROUNDS).key_cert_algorithm(
            pkcs12.PBES.PBESv2SHA256AndAES256CBC).hmac_hash(hashes.SHA256())
    return builder.build(password.encode())


def keystore_p12(key: PrivateKey, chain: Sequence[x509.Certificate], alias: str, password: str,
                 profile: str) -> bytes:
    return pkcs12.serialize_key_and_certificates(alias.encode(), key, chain[0], list(chain[1:]),
                                                 _encryption(password, profile))


def truststore_p12(trusted: Sequence[tuple[str, x509.Certificate]], password: str, profile: str) -> bytes:
    # Java sees only certificates carrying Oracle's trusted-key-usage attribute as trusted entries.
    certs = [pkcs12.PKCS12Certificate(cert, alias.encode()) for alias, cert in trusted]
    return pkcs12.serialize_java_truststore(certs, _encryption(password, profile))


def _p12_profile(data: bytes) -> str | None:
    if _OID_3DES_PBE in data:
        return "legacy"
    if _OID_PBES2 in data and _OID_AES256_CBC in data:
        return "modern"
    return None


def read_p12(data: bytes, password: str) -> StoreContent:
    try:
        loaded = pkcs12.load_pkcs12(data, password.encode())
    except ValueError as exc:
        raise Unreadable("does not open with the password the spec gives (changed?), or is damaged") from exc
    certs = list(loaded.additional_certs)
    chain: tuple[bytes, ...] = ()
    aliases: tuple[str, ...] = ()
    public = None
    if loaded.key is not None and loaded.cert is not None:
        public = public_der(loaded.key.public_key())
        chain = (fingerprint(loaded.cert.certificate), *(fingerprint(c.certificate) for c in certs))
        aliases = ((loaded.cert.friendly_name or b"").decode(),)
        certs = []
    trusted = frozenset(((c.friendly_name or b"").decode(), fingerprint(c.certificate)) for c in certs)
    return StoreContent(aliases, public, chain, trusted, _p12_profile(data))


def keystore_jks(key: PrivateKey, chain: Sequence[x509.Certificate], alias: str, password: str) -> bytes:
    jks = jks_module()
    pkcs8 = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    ders = [c.public_bytes(serialization.Encoding.DER) for c in chain]
    entry = jks.PrivateKeyEntry.new(alias, ders, pkcs8, "pkcs8")
    return bytes(jks.KeyStore.new("jks", [entry]).saves(password))


def truststore_jks(trusted: Sequence[tuple[str, x509.Certificate]], password: str) -> bytes:
    jks = jks_module()
    entries = [jks.TrustedCertEntry.new(alias, cert.public_bytes(serialization.Encoding.DER))
               for alias, cert in trusted]
    return bytes(jks.KeyStore.new("jks", entries).saves(password))


def read_jks(data: bytes, password: str) -> StoreContent:
    jks = jks_module()
    try:
        store: Any = jks.KeyStore.loads(data, password)
    except Exception as exc:
        raise Unreadable("does not open with the password the spec gives (changed?), or is damaged") from exc
    aliases = tuple(sorted(store.private_keys))
    public = None
    chain: tuple[bytes, ...] = ()
    if len(aliases) == 1:
        entry = store.private_keys[aliases[0]]
        key = serialization.load_der_private_key(entry.pkey_pkcs8, None, unsafe_skip_rsa_key_validation=True)
        public = public_der(key.public_key())
        chain = tuple(fingerprint(x509.load_der_x509_certificate(der)) for _, der in entry.cert_chain)
    trusted = frozenset((alias, fingerprint(x509.load_der_x509_certificate(entry.cert)))
                        for alias, entry in store.certs.items())
    return StoreContent(aliases, public, chain, trusted, None)
