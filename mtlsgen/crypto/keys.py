"""Private keys: generation, the spec's name for a key's type, and comparing keys. No I/O."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

_CURVES = {"ecdsa-p256": ec.SECP256R1, "ecdsa-p384": ec.SECP384R1}
MIN_RSA_BITS = 2048  # NIST SP 800-131A; what browsers, Java and OpenSSL's default security level accept


def generate_key(key_type: str) -> PrivateKey:
    if key_type.startswith("rsa-"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[4:]))
    if key_type in _CURVES:
        return ec.generate_private_key(_CURVES[key_type]())
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(f"unknown key type {key_type!r}")


def key_type_of(key: PrivateKey | PublicKey | object) -> str:
    """The spec's name for a key's algorithm and size, e.g. `rsa-4096`, or a description if none."""
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return f"rsa-{key.key_size}"
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        for name, curve in _CURVES.items():
            if isinstance(key.curve, curve):
                return name
        return f"ecdsa-{key.curve.name}"
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return "ed25519"
    return type(key).__name__


def key_matches(cert: x509.Certificate, key: PrivateKey) -> bool:
    """Whether `key` is the private half of the key `cert` certifies."""
    return public_der(cert.public_key()) == public_der(key.public_key())


def public_der(key: PublicKeyTypes) -> bytes:
    """A public key's SubjectPublicKeyInfo, to compare keys whatever their type."""
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
