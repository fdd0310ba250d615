"""Certificate revocation lists: issuing one, and checking who signed it. No I/O."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from .certs import CLOCK_SKEW, authority_key_id, hash_for
from .keys import PrivateKey


def issue_crl(issuer_cert: x509.Certificate, issuer_key: PrivateKey, *, number: int,
              revoked: Sequence[tuple[int, datetime]], now: datetime,
              validity: timedelta) -> x509.CertificateRevocationList:
    builder = (x509.CertificateRevocationListBuilder()
               .issuer_name(issuer_cert.subject)
               .last_update(now - CLOCK_SKEW)
               .next_update(now + validity)
               .add_extension(x509.CRLNumber(number), critical=False)
               .add_extension(authority_key_id(issuer_cert), critical=False))
    for serial, when in sorted(revoked):
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build())
    return builder.sign(issuer_key, hash_for(issuer_key))


def crl_signed_by(crl: x509.CertificateRevocationList, issuer_public: PublicKeyTypes) -> bool:
    if not isinstance(issuer_public, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey)):
        return False
    return crl.is_signature_valid(issuer_public)
