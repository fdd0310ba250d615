"""Planner steps for a leaf's files derived from certificates: tls.crt's chain, ca.crt, tls.key's
protection, key stores and trust stores; and the certificates each of them is to hold.

docs/spec.md: stores are rebuilt, without reissuing, when they no longer open with their password,
or what they hold (alias, key, chain, trusted roots) or their profile differs — read back, never
compared by bytes.
"""

from __future__ import annotations

from cryptography import x509

from ..crypto.keys import public_der
from ..crypto.pem import fingerprint
from ..crypto.stores import StoreContent
from ..errors import PlanError
from ..spec.entries import Entry
from .changes import CertRef
from .decisions import Decided, FileDecision, Inputs, kept_cert
from .layout import CA_CRT, TLS_CRT, TLS_KEY, leaf_files
from .reasons import Kind, Reason, file_problem
from .rollover import Trusted, trusted_generation
from .state import EntryState, StoreState, anchor_of, issuer_chain


def chain_refs(inputs: Inputs, entry: Entry) -> tuple[tuple[CertRef, ...], CertRef]:
    """What follows the leaf in tls.crt (its issuers up to the anchor) and the anchor itself (ca.crt)."""
    names = [e.name for e in inputs.spec.chain(entry.name)]
    refs = [*(CertRef(entry=n) for n in names), *(CertRef(cert=c) for c in inputs[names[-1]].above)]
    return tuple(refs[:-1]), refs[-1]


def trusted_refs(inputs: Inputs, entry: Entry) -> tuple[tuple[str, CertRef], ...]:
    """A truststore's entries: each trusted root's anchor, named after the root entry."""
    out = []
    for root in inputs.spec.trusted_roots(entry.name):
        above = inputs[root].above
        out.append((root, CertRef(cert=above[-1]) if above else CertRef(entry=root)))
        other = trusted_generation(inputs.rollovers, inputs.state, root)
        if other is not None:
            out.append((other.alias, other.ref))
    return tuple(out)


def also_trusted(inputs: Inputs, entry: Entry) -> tuple[CertRef, ...]:
    """What a leaf's ca.crt holds after its root's anchor while the root rotates."""
    other = trusted_generation(inputs.rollovers, inputs.state, inputs.spec.root_of(entry.name).name)
    return (other.ref,) if other is not None else ()


def key_protection(entry: Entry, s: EntryState) -> Reason | None:
    """Whether tls.key must be rewritten to be protected as the spec says (key_password added,
    changed or removed); the key itself is kept."""
    if s.key.value is None:
        return None
    if entry.key_password is not None and not s.key_encrypted:
        return Reason(Kind.KEY_PROTECTION, TLS_KEY, detail="encrypt")
    if s.key_encrypted and s.key_password != s.wanted_key_password:
        return Reason(Kind.KEY_PROTECTION, TLS_KEY, detail="decrypt" if entry.key_password is None else "re-encrypt")
    return None


def leaf_derived(inputs: Inputs, decided: Decided, entry: Entry) -> FileDecision:
    """The leaf's files to write, each only when its content changes: a reissue rewrites tls.crt and
    the key stores (they hold the certificate), tls.key when the key is new or re-protected; ca.crt and
    trust stores only when what they trust changes; on a kept certificate, each derived file whose
    content is not what it should be."""
    s = inputs[entry.name]
    d = decided[entry.name]
    protection = key_protection(entry, s)
    _check_store_passwords(s)
    derived = [_bundle_reason(inputs, decided, entry),
               *(store_reason(inputs, decided, entry, store) for store in s.stores
                 if store.spec.kind == "truststore" or not d.new_cert)]
    if d.new_cert:
        files = {TLS_CRT, *([TLS_KEY] if d.new_key or protection else []),
                 *(store.file_name for store in s.stores if store.spec.kind == "keystore")}
        reasons = [r for r in (protection if not d.new_key else None, *derived) if r is not None]
        files |= {r.file for r in reasons}
        return FileDecision(tuple(f for f in leaf_files(entry) if f in files), tuple(reasons))
    reasons = [r for r in (_chain_reason(inputs, decided, entry), protection, *derived) if r is not None]
    return FileDecision(tuple(r.file for r in reasons), tuple(reasons))


def _check_store_passwords(s: EntryState) -> None:
    """Java (17) opens an encrypted PKCS#12 file only with a printable-ASCII password, in either
    profile ("Password is not ASCII"); refuse at plan time rather than write a store Java rejects."""
    for store in s.stores:
        if store.fmt == "pkcs12" and store.password is not None \
                and not all(" " <= char <= "~" for char in store.password):
            raise PlanError(f"{store.spec.password.where}: Java opens a PKCS#12 store only with a password of "
                            "printable ASCII characters; choose another, or use formats: [jks]")


def _chain_reason(inputs: Inputs, decided: Decided, entry: Entry) -> Reason | None:
    chain = [e.name for e in inputs.spec.chain(entry.name)]
    root = chain[-1]
    renewed = [n for n in chain if decided[n].new_cert]
    if renewed and renewed != [root]:
        return Reason(Kind.CHAIN_RENEWED, TLS_CRT, names=tuple(n for n in renewed if n != root))
    intermediates, _ = issuer_chain(inputs.spec, inputs.state, entry.name, lambda n: kept_cert(inputs, decided, n))
    certs = inputs[entry.name].certs.value or ()
    if [fingerprint(c) for c in certs[1:]] != [fingerprint(c) for c in intermediates if c]:
        return Reason(Kind.CHAIN_STALE, TLS_CRT)
    return None


def _bundle_reason(inputs: Inputs, decided: Decided, entry: Entry) -> Reason | None:
    s = inputs[entry.name]
    root = inputs.spec.root_of(entry.name).name
    _, anchor = issuer_chain(inputs.spec, inputs.state, entry.name, lambda n: kept_cert(inputs, decided, n))
    if anchor is None:
        return Reason(Kind.ROOT_RENEWED, CA_CRT, names=(root,))
    other = trusted_generation(inputs.rollovers, inputs.state, root)
    wanted = [anchor, *([other.cert] if other is not None else [])]
    if None not in wanted and [fingerprint(c) for c in s.bundle.value or ()] == [fingerprint(c) for c in wanted
                                                                                 if c is not None]:
        return None
    if s.bundle.problem:
        return file_problem(CA_CRT, s.bundle.problem)
    return _rotation_trust(inputs, root, CA_CRT, other) or Reason(Kind.ROOT_STALE, CA_CRT)


def _rotation_trust(inputs: Inputs, root: str, file: str, other: Trusted | None) -> Reason | None:
    """Why a bundle changes because its root rotates: it trusts the other generation now, or no more."""
    if other is not None:
        return Reason(Kind.ROLLOVER_TRUST, file, names=(other.alias,))
    if inputs.rollover(root).finish:
        return Reason(Kind.ROLLOVER_TRUST, file, detail=f"{root}-previous")
    return None


def store_reason(inputs: Inputs, decided: Decided, entry: Entry, store: StoreState) -> Reason | None:
    """Why a store must be rebuilt: it does not open, or what it holds or its profile differs."""
    content, file = store.content.value, store.file_name
    if content is None:
        if store.opens_with_generated:
            return Reason(Kind.STORE_PASSWORD_SOURCE, file, new=store.spec.password.source)
        if store.password is None and not store.content.missing:
            return Reason(Kind.STORE_PASSWORD_LOST, file)
        return file_problem(file, store.content.problem)
    chain = [e.name for e in inputs.spec.chain(entry.name)]
    if store.spec.kind == "keystore":
        if any(decided[n].new_cert for n in chain):
            return Reason(Kind.STORE_CHAIN_RENEWED, file)
        why = _keystore_differs(inputs, decided, entry, store, content)
    else:
        why = _truststore_differs(inputs, decided, entry, store, content)
    if why is not None:
        return why
    if store.fmt == "pkcs12" and content.profile != store.spec.profile:
        return Reason(Kind.STORE_PROFILE, file, old=content.profile or "unknown", new=store.spec.profile)
    return None


def _keystore_differs(inputs: Inputs, decided: Decided, entry: Entry, store: StoreState,
                      content: StoreContent) -> Reason | None:
    s = inputs[entry.name]
    intermediates, anchor = issuer_chain(inputs.spec, inputs.state, entry.name,
                                         lambda n: kept_cert(inputs, decided, n))
    certs: list[x509.Certificate | None] = [s.cert, *intermediates, anchor]
    if content.key_aliases != (store.spec.alias,):
        return Reason(Kind.STORE_ALIAS, store.file_name, old=", ".join(content.key_aliases) or "none",
                      new=store.spec.alias)
    public = public_der(s.key.value.public_key()) if s.key.value else None
    if content.public_key != public or content.chain != tuple(fingerprint(c) for c in certs if c is not None):
        return Reason(Kind.STORE_KEY_OR_CHAIN, store.file_name)
    return None


def _truststore_differs(inputs: Inputs, decided: Decided, entry: Entry, store: StoreState,
                        content: StoreContent) -> Reason | None:
    roots = inputs.spec.trusted_roots(entry.name)
    if any(decided[r].new_cert for r in roots):
        return Reason(Kind.STORE_TRUST_RENEWED, store.file_name)
    trusted = {(r, fingerprint(c)) for r in roots
               if (c := anchor_of(inputs.state, r, lambda n: kept_cert(inputs, decided, n)))}
    others = {r: trusted_generation(inputs.rollovers, inputs.state, r) for r in roots}
    trusted |= {(o.alias, fingerprint(o.cert)) for o in others.values() if o is not None and o.cert is not None}
    if content.trusted == trusted and all(o is None or o.cert is not None for o in others.values()):
        return None
    rotating = [why for r, o in others.items() if (why := _rotation_trust(inputs, r, store.file_name, o))]
    return rotating[0] if rotating else Reason(Kind.STORE_TRUST_DIFFERS, store.file_name)
