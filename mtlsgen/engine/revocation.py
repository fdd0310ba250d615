"""Planner steps for revocation: a CA's CA files and CRL, and the entries marked `revoked`.

docs/spec.md: the CRL is rewritten when the revoked set changes, when its CA's certificate or key
changes, when it is not signed by its CA, or when a third of its validity remains. A CRL once
written stays (relying parties may fetch it), re-signed when its CA is re-keyed.
"""

from __future__ import annotations

from datetime import datetime

from cryptography import x509

from ..crypto.certs import CLOCK_SKEW
from ..crypto.crl import crl_signed_by
from ..spec.entries import Entry
from .changes import CrlContent
from .decisions import CertDecision, FileDecision, Inputs
from .layout import CA_CRL, CA_CRT, CA_KEY, CA_KEY_NEXT, MANAGED_FILES, TLS_CRT
from .reasons import Kind, Reason, file_problem

Serials = dict[int, datetime]


def ca_files(inputs: Inputs, d: CertDecision, entry: Entry) -> FileDecision:
    """A CA's certificate is written when (re)issued, its key when new (the key first: apply stages a
    new key as ca.key.next, writes ca.crt, then renames it). A staged key an interrupted re-key left is
    adopted (d.adopt_staged) or, when the re-key stopped before ca.crt, removed: the old CA stays."""
    staged = inputs[entry.name].next_key
    leftover = () if staged.missing else (CA_KEY_NEXT,)
    if d.adopt_staged:
        return FileDecision((CA_KEY,), remove=leftover)
    stale = (Reason(Kind.STAGED_KEY_STALE, CA_KEY_NEXT),) if leftover else ()
    if not d.new_cert:
        return FileDecision(reasons=stale, remove=leftover)
    return FileDecision((CA_KEY, CA_CRT) if d.new_key else (CA_CRT,), stale, remove=leftover)


def crl(inputs: Inputs, d: CertDecision, entry: Entry) -> tuple[FileDecision, CrlContent | None]:
    """The CA's CRL: whether to write it, why, and what it then holds."""
    s = inputs[entry.name]
    revoked_leaves = [c for c in inputs.spec.children(entry.name) if c.revoked]
    if not (entry.crl is not None or revoked_leaves or s.crl.value is not None):
        return FileDecision(), None
    kept = _kept_serials(s.crl.value, d)
    new = _new_serials(inputs, revoked_leaves, kept, d)
    reason = _crl_reason(inputs, d, entry, new, revoked_leaves)
    if reason is None:
        return FileDecision(), None
    content = CrlContent(tuple(sorted({**kept, **new}.items())), _next_number(s.crl.value), entry.crl_validity)
    return FileDecision((CA_CRL,), (reason,)), content


def _kept_serials(current: x509.CertificateRevocationList | None, d: CertDecision) -> Serials:
    """The serials the CRL on disk already revokes; a re-keyed CA starts afresh (its old
    certificates no longer chain to it)."""
    if current is None or d.new_key:
        return {}
    return {r.serial_number: r.revocation_date_utc for r in current}


def _new_serials(inputs: Inputs, revoked_leaves: list[Entry], kept: Serials, d: CertDecision) -> Serials:
    if d.new_key:
        return {}
    # Dated as the CRL's thisUpdate (back-dated like it): a revocation never postdates the CRL listing it.
    return {cert.serial_number: inputs.now - CLOCK_SKEW for leaf in revoked_leaves
            if (cert := inputs[leaf.name].cert) is not None and cert.serial_number not in kept}


def _crl_reason(inputs: Inputs, d: CertDecision, entry: Entry, new: Serials,
                revoked_leaves: list[Entry]) -> Reason | None:
    s = inputs[entry.name]
    if new:
        names = tuple(leaf.name for leaf in revoked_leaves
                      if (c := inputs[leaf.name].cert) is not None and c.serial_number in new)
        return Reason(Kind.CRL_REVOKES, CA_CRL, names=names)
    if s.crl.value is None:
        return file_problem(CA_CRL, s.crl.problem)
    if d.new_key:
        return Reason(Kind.CRL_NEW_KEY, CA_CRL)
    if d.new_cert:
        return Reason(Kind.CRL_RESIGNED, CA_CRL, names=(entry.name,))
    if not _signed_by_ca(inputs, entry, s.crl.value):
        return Reason(Kind.CRL_FOREIGN, CA_CRL, names=(entry.name,))
    next_update = s.crl.value.next_update_utc
    if next_update is None or next_update - entry.crl_validity / 3 <= inputs.now:
        return Reason(Kind.CRL_DUE, CA_CRL, when=next_update)
    return None


def _signed_by_ca(inputs: Inputs, entry: Entry, current: x509.CertificateRevocationList) -> bool:
    cert, key = inputs[entry.name].cert, inputs[entry.name].key.value
    if cert is None or key is None or current.issuer != cert.subject:
        return False
    return crl_signed_by(current, key.public_key())


def _next_number(current: x509.CertificateRevocationList | None) -> int:
    """RFC 5280 5.2.3: the number only grows for a CRL issuer (its name), even under a new key."""
    if current is None:
        return 1
    try:
        return current.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number + 1
    except x509.ExtensionNotFound:
        return 1


def revoked_entry(inputs: Inputs, entry: Entry) -> FileDecision:
    """A revoked entry's serial goes into its issuer's CRL (see crl) and mtlsgen's files in its folder
    are removed; a folder left holding only the user's files has nothing more to revoke."""
    s = inputs[entry.name]
    remove = tuple(sorted(name for name in s.modes if name in MANAGED_FILES))
    if not remove:
        return FileDecision()
    assert entry.issuer is not None
    reason = (Reason(Kind.REVOKED, names=(entry.issuer,)) if s.cert is not None else
              Reason(Kind.REVOKED_UNKNOWN, TLS_CRT, names=(entry.issuer,),
                     detail=str(s.certs.problem)))
    return FileDecision(reasons=(reason,), remove=remove)
