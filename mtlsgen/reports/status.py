"""status: every certificate and store with its expiry and state. Reads only; shares the plan's rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509

from ..crypto.keys import key_matches, key_type_of
from ..engine.changes import Action, Plan, Rotation
from ..engine.layout import CA_CRL, CA_CRT, CA_KEY, STORE_FILES, TLS_CRT, TLS_KEY
from ..engine.reasons import Kind, Reason, file_problem
from ..engine.rules import cert_sans, days_left
from ..engine.state import State, StoreState
from ..spec.entries import Entry, Spec

# States that need no action; anything else makes `status` exit 1.
GOOD = ("ok", "revoked")


@dataclass(frozen=True)
class CertStatus:
    name: str
    role: str
    cn: str
    sans: tuple[str, ...]
    key: str
    issuer: str
    not_after: datetime | None
    days_left: int | None
    state: str
    reasons: tuple[Reason, ...] = ()  # why it is not ok; mtlsgen/cli/render.py words them


@dataclass(frozen=True)
class StoreStatus:
    name: str
    file: str
    format: str
    alias: str | None  # None for a truststore, which has no key alias
    opens: bool
    state: str
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class CrlStatus:
    """A CA's CRL: servers refuse every client once it lapses, so its next update is watched like an expiry."""

    name: str  # the CA
    file: str  # as the plan names files: CA folder/ca.crl
    number: int | None
    next_update: datetime | None
    days_left: int | None
    revoked: int
    state: str  # ok, renew due, expired, missing, invalid
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class StatusReport:
    now: datetime
    certificates: tuple[CertStatus, ...]
    stores: tuple[StoreStatus, ...]
    crls: tuple[CrlStatus, ...] = ()
    orphans: tuple[str, ...] = ()  # folders of entries no longer in the spec (reported, not failing)
    rotations: tuple[Rotation, ...] = ()  # CAs rotating: phase and next step (reported, not failing)

    @property
    def attention(self) -> tuple[CertStatus | StoreStatus | CrlStatus, ...]:
        """The certificates, stores and CRLs that need attention."""
        return (*(c for c in self.certificates if c.state not in GOOD), *(s for s in self.stores if s.state != "ok"),
                *(c for c in self.crls if c.state != "ok"))

    @property
    def failing(self) -> bool:
        return bool(self.attention)


def _cert_state(state: State, plan: Plan, entry: Entry, now: datetime,
                fail_within: timedelta | None) -> tuple[str, tuple[Reason, ...]]:
    """The entry's state, read off the plan (one copy of the rules) plus the facts of its files."""
    s = state[entry.name]
    cert = s.cert
    change = plan[entry.name]
    cert_file, key_file = (CA_CRT, CA_KEY) if entry.is_ca else (TLS_CRT, TLS_KEY)
    if entry.revoked:
        if change.action is Action.REVOKE:  # apply has yet to carry the revocation out
            return "drifted", change.reasons
        # With the files gone the serial is unknown: it is in the issuer's CRL only if it was ever issued.
        return "revoked", ()
    if cert is None:
        return ("missing" if s.certs.missing else "invalid"), (file_problem(cert_file, s.certs.problem),)
    if entry.imported is None:
        if s.key.value is None:
            return ("missing" if s.key.missing else "invalid"), (file_problem(key_file, s.key.problem),)
        if not key_matches(cert, s.key.value):
            return "invalid", (Reason(Kind.KEY_MISMATCH, cert_file),)
    if cert.not_valid_after_utc <= now:
        return "expired", (Reason(Kind.EXPIRED, cert_file, when=cert.not_valid_after_utc),)
    # Stores have rows of their own; what is left is about the certificate and its PEM files.
    reasons = tuple(r for r in change.reasons if r.file not in STORE_FILES)
    if change.action is Action.RENEW:
        return "renew due", reasons
    if any(r.kind is Kind.NOT_SIGNED_BY_ISSUER for r in reasons):
        return "invalid", reasons
    if change.action is not Action.UNCHANGED and reasons:
        return "drifted", reasons
    if fail_within is not None and cert.not_valid_after_utc - now <= fail_within:
        return "renew due", (Reason(Kind.EXPIRES_WITHIN, cert_file, when=cert.not_valid_after_utc,
                                    days=fail_within.days),)
    return "ok", ()


def store_problems(plan: Plan, state: State, entry: Entry) -> list[tuple[StoreState, Reason | None]]:
    """Each store of the entry with what is wrong with it (None when it is right), as the plan sees it."""
    reasons = {r.file: r for r in plan[entry.name].reasons if r.file in STORE_FILES}
    out: list[tuple[StoreState, Reason | None]] = []
    for store in state[entry.name].stores:
        if store.content.value is None:
            out.append((store, reasons.get(store.file_name) or file_problem(store.file_name, store.content.problem)))
        else:
            out.append((store, reasons.get(store.file_name)))
    return out


def make_status(spec: Spec, state: State, plan: Plan, *, now: datetime,
                fail_within: timedelta | None = None) -> StatusReport:
    certs = []
    for entry in spec.entries:
        cert = state[entry.name].cert
        st, reasons = _cert_state(state, plan, entry, now, fail_within)
        certs.append(CertStatus(
            entry.name, entry.role, entry.cn,
            tuple(cert_sans(cert)) if cert is not None and not entry.is_ca else tuple(map(str, entry.sans)),
            key_type_of(cert.public_key()) if cert is not None else entry.key,
            entry.issuer or "self", cert.not_valid_after_utc if cert is not None else None,
            days_left(cert, now) if cert is not None else None, st, reasons))
    stores = []
    for entry in spec.entries:
        if entry.revoked:
            continue
        for store, problem in store_problems(plan, state, entry):
            opens = store.content.value is not None
            stores.append(StoreStatus(entry.name, store.file_name, store.fmt,
                                      store.spec.alias if store.spec.kind == "keystore" else None, opens,
                                      "ok" if problem is None else ("stale" if opens else "invalid"),
                                      (problem,) if problem is not None else ()))
    crls = tuple(_crl_status(state, plan, entry, now, fail_within) for entry in spec.entries
                 if entry.is_ca and (state[entry.name].crl.value is not None or CA_CRL in plan[entry.name].files))
    orphans = tuple(c.name for c in plan.changes if c.scope == "orphan")
    return StatusReport(now, tuple(certs), tuple(stores), crls, orphans, plan.rotations)


_CRL_FAULTS = {Kind.CRL_FOREIGN: "invalid", Kind.CRL_DUE: "renew due", Kind.CRL_REVOKES: "drifted",
               Kind.CRL_NEW_KEY: "drifted", Kind.CRL_RESIGNED: "drifted"}


def _crl_status(state: State, plan: Plan, entry: Entry, now: datetime, fail_within: timedelta | None) -> CrlStatus:
    crl = state[entry.name].crl.value
    planned = tuple(r for r in plan[entry.name].reasons if r.file == CA_CRL)
    file = f"{entry.name}/{CA_CRL}"
    if crl is None:
        return CrlStatus(entry.name, file, None, None, None, 0, "missing", planned)
    try:
        number: int | None = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        number = None
    next_update = crl.next_update_utc
    left = (next_update - now).days if next_update is not None else None
    facts = (entry.name, file, number, next_update, left, len(list(crl)))
    if next_update is not None and next_update <= now:
        return CrlStatus(*facts, "expired", (Reason(Kind.EXPIRED, CA_CRL, when=next_update),))
    for reason in planned:
        if reason.kind in _CRL_FAULTS:
            return CrlStatus(*facts, _CRL_FAULTS[reason.kind], planned)
    if fail_within is not None and next_update is not None and next_update - now <= fail_within:
        return CrlStatus(*facts, "renew due", (Reason(Kind.EXPIRES_WITHIN, CA_CRL, when=next_update,
                                                      days=fail_within.days),))
    return CrlStatus(*facts, "ok")
