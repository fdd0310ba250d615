"""Planner steps for revocation: a CA's files and CRL, the entries marked `revoked`, and orphans
whose certificates --prune revokes.

docs/spec.md: once anything under a root can be revoked (a `crl:` on a CA of its tree, a revoked
entry, a CRL already written, or an orphan being pruned), every CA of that tree publishes a CRL, so
that servers checking the whole chain (nginx, Tomcat, OpenSSL) find one for each CA. A CRL is
rewritten when the revoked set changes, when its CA's certificate or key changes, when it is not
signed by its CA, or when a third of its validity remains. A CRL once written stays.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from cryptography import x509

from ..crypto.certs import CLOCK_SKEW, signed_by
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


Pruned = Mapping[str, Mapping[int, str]]  # CA → serial → the orphan folder whose certificate it is


def orphan_issuers(inputs: Inputs) -> dict[str, str]:
    """Each orphan whose still-valid certificate a managed CA of the spec issued, with that CA."""
    out = {}
    for name, cert in inputs.state.orphan_certs.items():
        if cert.not_valid_after_utc <= inputs.now:
            continue  # expired: nobody accepts it any more, nothing to revoke
        for ca in inputs.spec.entries:
            s = inputs[ca.name] if ca.is_ca else None
            if s is not None and s.cert is not None and s.key.value is not None and cert.issuer == s.cert.subject \
                    and signed_by(cert, s.key.value.public_key()):
                out[name] = ca.name
                break
    return out


def pruned_serials(inputs: Inputs, issuers: Mapping[str, str]) -> dict[str, dict[int, str]]:
    """With --prune, the serials each CA revokes before the orphans' files are deleted."""
    out: dict[str, dict[int, str]] = {}
    if inputs.prune:
        for orphan, ca in issuers.items():
            out.setdefault(ca, {})[inputs.state.orphan_certs[orphan].serial_number] = orphan
    return out


def tree(inputs: Inputs, root: str) -> list[Entry]:
    """The root and everything under it, issuers first."""
    return [e for e in inputs.spec.entries if inputs.spec.root_of(e.name).name == root]


def revocation_active(inputs: Inputs, root: str, pruned: Pruned) -> bool:
    """Whether anything under `root` can be revoked, so that every CA of its tree publishes a CRL."""
    members = tree(inputs, root)
    return any(e.crl is not None or e.revoked or e.name in pruned for e in members) or any(
        inputs[e.name].crl.value is not None for e in members if e.is_ca)


def crl(inputs: Inputs, d: CertDecision, entry: Entry, pruned: Pruned) -> tuple[FileDecision, CrlContent | None]:
    """The CA's CRL: whether to write it, why, and what it then holds."""
    s = inputs[entry.name]
    if not revocation_active(inputs, inputs.spec.root_of(entry.name).name, pruned):
        return FileDecision(), None
    revoked_leaves = [c for c in inputs.spec.children(entry.name) if c.revoked]
    kept = _kept_serials(s.crl.value, d)
    new = _new_serials(inputs, revoked_leaves, kept, d)
    pruning = {} if d.new_key else {serial: name for serial, name in pruned.get(entry.name, {}).items()
                                    if serial not in kept}
    reason = _crl_reason(inputs, d, entry, new, revoked_leaves, tuple(pruning.values()))
    if reason is None:
        return FileDecision(), None
    new.update(dict.fromkeys(pruning, inputs.now - CLOCK_SKEW))
    content = CrlContent(tuple(sorted({**kept, **new}.items())), next_number(s.crl.value), entry.crl_validity)
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


def _crl_reason(inputs: Inputs, d: CertDecision, entry: Entry, new: Serials, revoked_leaves: list[Entry],
                pruned: tuple[str, ...]) -> Reason | None:
    s = inputs[entry.name]
    if new or pruned:
        names = tuple(leaf.name for leaf in revoked_leaves
                      if (c := inputs[leaf.name].cert) is not None and c.serial_number in new)
        return Reason(Kind.CRL_REVOKES, CA_CRL, names=(*names, *pruned))
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


def next_number(current: x509.CertificateRevocationList | None) -> int:
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
