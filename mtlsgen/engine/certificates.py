"""Planner steps for keys and certificates: each entry after its issuer, then CA lifetimes.

docs/spec.md, "When apply regenerates": a certificate is reissued when its subject, SANs, usages,
key type, issuer, validity, path length or CRL URL differ from the spec, when it does not match its
key, when it is not signed by its issuer's current key, or when its renewal time has come.
"""

from __future__ import annotations

from dataclasses import replace

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ..crypto.certs import signed_by, subject_name
from ..crypto.keys import MIN_RSA_BITS, key_matches, key_type_of
from ..errors import PlanError
from ..spec.entries import Entry
from .changes import Action
from .decisions import CertDecision, Decided, Inputs
from .layout import CA_CRT, CA_KEY, CA_KEY_NEXT, TLS_CRT, TLS_KEY
from .reasons import Kind, Reason, file_problem
from .rollover import Phase
from .rules import drift, expiry_reason
from .state import EntryState


def decide_certificates(inputs: Inputs) -> dict[str, CertDecision]:
    """Pass 1, issuers first (a re-keyed issuer reissues what it issues); then pass 2, deepest CA first
    (a CA renewed because of its child may in turn outlive its own issuer)."""
    decided: dict[str, CertDecision] = {}
    for entry in inputs.spec.entries:
        if entry.revoked:
            decided[entry.name] = CertDecision()
        elif entry.imported is not None:
            check_imported(inputs, entry)
            decided[entry.name] = CertDecision()
        else:
            decided[entry.name] = certificate(inputs, decided, entry)
    for entry in reversed(inputs.spec.entries):
        if entry.is_ca:
            decided[entry.name] = ca_lifetime(inputs, decided, entry)
    return decided


def certificate(inputs: Inputs, decided: Decided, entry: Entry) -> CertDecision:
    """SPEC: missing files are made; a CA key is never replaced implicitly; a changed key type or an
    unreadable leaf key means a new key; otherwise reissue or renew (key_rotation: always re-keys)."""
    s = inputs[entry.name]
    key_file, cert_file = (CA_KEY, CA_CRT) if entry.is_ca else (TLS_KEY, TLS_CRT)
    if entry.name in inputs.replace:
        return CertDecision(Action.REPLACE, True, True, (Reason(Kind.REPLACE_REQUESTED, key_file),))
    if entry.is_ca and _rekey_interrupted(s):
        # ca.crt is already the new certificate: finish the re-key, and what the CA issued follows.
        return CertDecision(Action.REPLACE, True, False, (Reason(Kind.REKEY_FINISH, CA_KEY_NEXT, new=CA_KEY),),
                            adopt_staged=True)
    if s.key.missing and s.certs.missing:
        return CertDecision(Action.CREATE, True, True)
    # A CA whose key type the spec changed keeps its key while a rotation brings one of the new type
    # (rollover.py makes the incoming key from the spec): no outage, and nothing to block.
    rekeying = entry.is_ca and inputs.rollover(entry.name).phase is Phase.TRUST_FIRST
    if s.key.value is None or (key_type_of(s.key.value) != entry.key and not rekeying):
        why = (Reason(Kind.KEY_TYPE, key_file, old=key_type_of(s.key.value), new=entry.key)
               if s.key.value is not None else file_problem(key_file, s.key.problem))
        if entry.is_ca:
            return _blocked(why)
        return CertDecision(Action.REPLACE, True, True, (why,))
    if entry.is_ca and s.cert is not None and not key_matches(s.cert, s.key.value) \
            and not _issued_with(inputs, entry, s):
        # Re-signing the CA with whatever key now sits in ca.key would change its identity,
        # unless what it issued proves that this key is the CA's.
        return _blocked(Reason(Kind.CA_KEY_NOT_OF_CERT, key_file, new=cert_file))
    reasons = reissue_reasons(inputs, decided, entry, s, cert_file)
    if rekeying:  # the certificate keeps its key, of the old type, until the move
        reasons = tuple(r for r in reasons if r.kind is not Kind.KEY_TYPE)
    expiring = expiry_reason(s.cert, entry, inputs.now) if s.cert is not None and not reasons else None
    if not reasons and expiring is None:
        return CertDecision()
    rotate = not entry.is_ca and entry.key_rotation == "always"
    new_key = (Reason(Kind.NEW_KEY, key_file, detail="key_rotation: always"),) if rotate else ()
    if reasons:
        return CertDecision(Action.REISSUE, rotate, True, (*reasons, *new_key))
    assert expiring is not None
    return CertDecision(Action.RENEW, rotate, True, (expiring, *new_key))


def _rekey_interrupted(s: EntryState) -> bool:
    """Whether ca.crt certifies the key staged in ca.key.next rather than the one in ca.key."""
    staged, cert = s.next_key.value, s.cert
    return staged is not None and cert is not None and key_matches(cert, staged) and not (
        s.key.value is not None and key_matches(cert, s.key.value))


def _blocked(why: Reason) -> CertDecision:
    # A new key type can come through a rotation, with the old key working until the move.
    return CertDecision(Action.BLOCKED, reasons=(why, Reason(Kind.CA_KEY_KEPT,
                                                             detail="rotate" if why.kind is Kind.KEY_TYPE else "")))


def _issued_with(inputs: Inputs, entry: Entry, s: EntryState) -> bool:
    """Whether a certificate on disk that the CA issued was signed by the key in its key file."""
    assert s.key.value is not None
    public = s.key.value.public_key()
    return any(cert is not None and signed_by(cert, public)
               for child in inputs.spec.children(entry.name) if (cert := inputs[child.name].cert))


def reissue_reasons(inputs: Inputs, decided: Decided, entry: Entry, s: EntryState,
                    cert_file: str) -> tuple[Reason, ...]:
    """Why the certificate must be reissued now (its key is kept and usable); empty when it need not."""
    cert = s.cert
    if cert is None:
        return (file_problem(cert_file, s.certs.problem),)
    assert s.key.value is not None
    reasons: list[Reason] = []
    if not key_matches(cert, s.key.value):
        reasons.append(Reason(Kind.KEY_MISMATCH, cert_file))
    if entry.issuer is not None:
        issuer_state, issuer_decision = inputs[entry.issuer], decided[entry.issuer]
        if issuer_decision.new_key:
            new = issuer_decision.action is Action.CREATE
            reasons.append(Reason(Kind.ISSUER_NEW if new else Kind.ISSUER_REKEYED, names=(entry.issuer,)))
        elif inputs.rollover(entry.issuer).move:
            reasons.append(Reason(Kind.ROLLOVER_MOVED, names=(entry.issuer,)))
        elif issuer_state.key.value is not None and not signed_by(cert, issuer_state.key.value.public_key()):
            reasons.append(Reason(Kind.NOT_SIGNED_BY_ISSUER, cert_file, names=(entry.issuer,)))
    reasons += drift(entry, cert, issuer_name=_expected_issuer_name(inputs, decided, entry),
                     crl=inputs.spec.crl_url(entry.name))
    return tuple(reasons)


def _expected_issuer_name(inputs: Inputs, decided: Decided, entry: Entry) -> x509.Name | None:
    if entry.issuer is None:
        return subject_name(entry)
    issuer_entry = inputs.spec[entry.issuer]
    issuer_cert = inputs[entry.issuer].cert
    if issuer_entry.imported is not None or (issuer_cert is not None and not decided[entry.issuer].new_cert):
        return issuer_cert.subject if issuer_cert is not None else None
    return subject_name(issuer_entry)


def check_imported(inputs: Inputs, entry: Entry) -> None:
    """SPEC `ca.import`: mtlsgen never writes these files; a key that does not match or a certificate
    that is not a CA is an error, not a change."""
    s, imp = inputs[entry.name], entry.imported
    assert imp is not None
    if entry.name in inputs.replace:
        raise PlanError(f"--replace {entry.name}: the CA is imported from {imp.cert.name}; mtlsgen never "
                        "re-keys it (replace its files, or --replace the entries it issues)")
    if s.cert is None:
        raise PlanError(f"ca.import.cert: {imp.cert} {s.certs.problem}")
    if s.key.value is None:
        raise PlanError(f"ca.import.key: {imp.key} {s.key.problem}")
    if not key_matches(s.cert, s.key.value):
        raise PlanError(f"ca.import: the key {imp.key.name} does not belong to the certificate {imp.cert.name}")
    try:
        is_ca = s.cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise PlanError(f"ca.import.cert: {imp.cert.name} is not a CA certificate (no basicConstraints CA:TRUE)")
    starts = s.cert.not_valid_before_utc
    if starts > inputs.now:
        raise PlanError(f"ca.import.cert: {imp.cert.name} is not valid before {starts:%Y-%m-%d %H:%M} UTC; "
                        "what it issued now would be refused until then")
    _lint_imported(imp.cert.name, imp.key.name, s.cert, s.key.value)


_VERIFIABLE_CURVES = (ec.SECP256R1, ec.SECP384R1, ec.SECP521R1)


def _lint_imported(cert_name: str, key_name: str, cert: x509.Certificate, key: object) -> None:
    """An imported CA must be one that peers and `verify` accept: checked now, before anything is
    written, rather than found when apply signs or when a server refuses what it signed."""
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise PlanError(f"ca.import.key: {key_name} is an RSA-{key.key_size} key; a CA key needs at least "
                            f"{MIN_RSA_BITS} bits (import a stronger CA)")
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, _VERIFIABLE_CURVES):
            raise PlanError(f"ca.import.key: {key_name} is on the curve {key.curve.name}, which TLS peers and "
                            "verifiers refuse; use P-256, P-384 or P-521")
    elif not isinstance(key, ed25519.Ed25519PrivateKey):
        kind = type(key).__name__.removeprefix("_").replace("PrivateKey", "")
        raise PlanError(f"ca.import.key: {key_name} is a {kind} key; mtlsgen signs with RSA (2048 bits or more), "
                        "ECDSA or Ed25519 CA keys")
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        signs = usage.key_cert_sign
    except x509.ExtensionNotFound:
        signs = False
    if not signs:
        raise PlanError(f"ca.import.cert: {cert_name} does not allow signing certificates (keyUsage without "
                        "keyCertSign, which RFC 5280 4.2.1.3 requires and verifiers check)")
    digest = cert.signature_hash_algorithm
    if isinstance(digest, (hashes.MD5, hashes.SHA1)):
        raise PlanError(f"ca.import.cert: {cert_name} is signed with {digest.name.upper()}, which verifiers "
                        "refuse; import a CA certificate signed with SHA-256 or better")


def ca_lifetime(inputs: Inputs, decided: Decided, entry: Entry) -> CertDecision:
    """SPEC: a managed CA is renewed with its key when a certificate it must issue now would outlive it
    (checked only at issue time, which keeps leaf validity == CA validity from renewing every run);
    an imported CA that would be outlived is an error."""
    d, cert = decided[entry.name], inputs[entry.name].cert
    if d.new_cert or d.action is Action.BLOCKED or cert is None:
        return d
    issued = [c for c in inputs.spec.children(entry.name) if decided[c.name].new_cert]
    too_long = [c for c in issued if inputs.now + c.validity > cert.not_valid_after_utc]
    if not too_long:
        return d
    longest = max(too_long, key=lambda c: c.validity)
    ends = inputs.now + longest.validity
    if entry.imported is not None:
        raise PlanError(f"the imported CA expires {cert.not_valid_after_utc:%Y-%m-%d}, before {longest.name} "
                        f"({longest.validity_text}, until {ends:%Y-%m-%d}) would; shorten its validity "
                        "or import a CA that lives longer")
    outlived = Reason(Kind.OUTLIVED, when=cert.not_valid_after_utc, names=(longest.name,),
                      detail=f"{ends:%Y-%m-%d}")
    return replace(d, action=Action.RENEW, new_cert=True, reasons=(*d.reasons, outlived))
