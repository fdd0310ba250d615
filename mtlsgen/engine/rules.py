"""The renewal and drift rules shared by plan, status and verify: one copy of "is this expiring".

Each function compares one certificate with the spec and returns the typed reasons to reissue it
(mtlsgen/cli/render.py words them: `SANs: +DNS:new.example.com -DNS:old.example.com`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from ..crypto.certs import CLOCK_SKEW, subject_name
from ..crypto.keys import key_type_of
from ..spec.entries import Entry
from ..spec.names import format_duration, san_of
from .reasons import Kind, Reason

_USAGE_NAMES = {ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth", ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth"}
# Lifetimes are compared with some slack: a certificate's dates are whole seconds.
_SLACK = timedelta(minutes=1)


def lifetime(cert: x509.Certificate) -> timedelta:
    return cert.not_valid_after_utc - cert.not_valid_before_utc


def renewal_time(cert: x509.Certificate, entry: Entry) -> datetime:
    """When `cert` is due: not_after − renew_before, or − the share of its lifetime."""
    return cert.not_valid_after_utc - entry.renew_before.before(lifetime(cert) - CLOCK_SKEW)


def expiry_reason(cert: x509.Certificate, entry: Entry, now: datetime) -> Reason | None:
    """Why `cert` must be renewed at `now` (SPEC: "its renewal time has come"), or None while it is good."""
    not_after = cert.not_valid_after_utc
    if not_after <= now:
        return Reason(Kind.EXPIRED, when=not_after)
    if renewal_time(cert, entry) <= now:
        return Reason(Kind.EXPIRING, when=not_after, days=days_left(cert, now), detail=entry.renew_before.text)
    return None


def days_left(cert: x509.Certificate, now: datetime) -> int:
    return (cert.not_valid_after_utc - now).days


def _extension(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.ExtensionType | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def cert_sans(cert: x509.Certificate) -> list[str]:
    ext = _extension(cert, x509.SubjectAlternativeName)
    return [str(san_of(g)) for g in ext] if isinstance(ext, x509.SubjectAlternativeName) else []


def cert_usages(cert: x509.Certificate) -> list[str]:
    ext = _extension(cert, x509.ExtendedKeyUsage)
    return [_USAGE_NAMES.get(oid, oid.dotted_string) for oid in ext] if isinstance(
        ext, x509.ExtendedKeyUsage) else []


def crl_url(cert: x509.Certificate) -> str | None:
    ext = _extension(cert, x509.CRLDistributionPoints)
    if not isinstance(ext, x509.CRLDistributionPoints):
        return None
    for point in ext:
        for name in point.full_name or ():
            if isinstance(name, x509.UniformResourceIdentifier):
                return name.value
    return None


def _diff(kind: Kind, old: list[str], new: list[str]) -> Reason | None:
    added = [f"+{x}" for x in new if x not in old]
    removed = [f"-{x}" for x in old if x not in new]
    return Reason(kind, names=(*added, *removed)) if added or removed else None


def drift(entry: Entry, cert: x509.Certificate, *, issuer_name: x509.Name | None,
          crl: str | None) -> list[Reason]:
    """How `cert` differs from what `entry` asks for (SPEC: subject, SANs, usages, key type, issuer,
    validity, path length or CRL URL); empty when it matches."""
    reasons: list[Reason] = []
    wanted = subject_name(entry)
    if cert.subject != wanted:
        old_cn = [str(a.value) for a in cert.subject if a.oid == x509.NameOID.COMMON_NAME]
        if old_cn and old_cn[0] != entry.cn:
            reasons.append(Reason(Kind.CN, old=old_cn[0], new=entry.cn))
        else:
            reasons.append(Reason(Kind.SUBJECT, old=cert.subject.rfc4514_string(), new=wanted.rfc4514_string()))
    if not entry.is_ca:
        sans = _diff(Kind.SANS, cert_sans(cert), [str(s) for s in entry.sans])
        usages = _diff(Kind.USAGES, cert_usages(cert), list(entry.usages))
        reasons += [r for r in (sans, usages) if r]
    have_key = key_type_of(cert.public_key())
    if have_key != entry.key:
        reasons.append(Reason(Kind.KEY_TYPE, old=have_key, new=entry.key))
    if abs(lifetime(cert) - CLOCK_SKEW - entry.validity) > _SLACK:
        reasons.append(Reason(Kind.VALIDITY, old=format_duration(lifetime(cert) - CLOCK_SKEW),
                              new=entry.validity_text))
    if entry.is_ca:
        constraints = _extension(cert, x509.BasicConstraints)
        if isinstance(constraints, x509.BasicConstraints) and constraints.path_length != entry.path_length:
            reasons.append(Reason(Kind.PATH_LENGTH, old=str(constraints.path_length), new=str(entry.path_length)))
    elif crl_url(cert) != crl:
        reasons.append(Reason(Kind.CRL_URL, old=crl_url(cert) or "", new=crl or ""))
    if issuer_name is not None and cert.issuer != issuer_name:
        reasons.append(Reason(Kind.ISSUER_NAME, old=cert.issuer.rfc4514_string(), new=issuer_name.rfc4514_string()))
    return reasons
