"""status: every certificate and store with its expiry and state. Reads only; shares the plan's rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..crypto.keys import key_matches, key_type_of
from ..engine.changes import Action, Plan
from ..engine.layout import STORE_FILES
from ..engine.rules import cert_sans, days_left
from ..engine.state import State
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
    detail: str = ""


@dataclass(frozen=True)
class StoreStatus:
    name: str
    file: str
    format: str
    alias: str
    opens: bool
    state: str
    detail: str = ""


@dataclass(frozen=True)
class StatusReport:
    now: datetime
    certificates: tuple[CertStatus, ...]
    stores: tuple[StoreStatus, ...]

    @property
    def problems(self) -> list[str]:
        """One phrase per certificate or store that needs attention, e.g. `bob: renew due`."""
        return [f"{c.name}: {c.state}" for c in self.certificates if c.state not in GOOD] + [
            f"{s.name}/{s.file}: {s.state}" for s in self.stores if s.state != "ok"]

    @property
    def failing(self) -> bool:
        return bool(self.problems)


def _cert_state(state: State, plan: Plan, entry: Entry, now: datetime,
                fail_within: timedelta | None) -> tuple[str, str]:
    """The entry's state, read off the plan (one copy of the rules) plus the facts of its files."""
    s = state[entry.name]
    cert = s.cert
    change = plan[entry.name]
    if entry.revoked:
        if change.action is Action.REVOKE:  # apply has yet to carry the revocation out
            return "drifted", "revoked in the spec; apply adds it to its issuer's CRL and removes its files"
        # With the files gone the serial is unknown: it is in the issuer's CRL only if it was ever issued.
        return "revoked", "revoked in the spec; no files"
    if cert is None:
        return ("missing" if s.certs.missing else "invalid"), str(s.certs.problem)
    if entry.imported is None:
        if s.key.value is None:
            return ("missing" if s.key.missing else "invalid"), f"key {s.key.problem}"
        if not key_matches(cert, s.key.value):
            return "invalid", "certificate does not match its key"
    if cert.not_valid_after_utc <= now:
        return "expired", f"expired {cert.not_valid_after_utc:%Y-%m-%d}"
    # Stores have rows of their own; what is left is about the certificate and its PEM files.
    reasons = [r for r in change.reasons if r.partition(":")[0] not in STORE_FILES]
    if change.action is Action.RENEW:
        return "renew due", "; ".join(reasons)
    if any("not signed by" in r for r in reasons):
        return "invalid", "; ".join(reasons)
    if change.action is not Action.UNCHANGED and reasons:
        return "drifted", "; ".join(reasons)
    if fail_within is not None and cert.not_valid_after_utc - now <= fail_within:
        return "renew due", f"expires within {fail_within.days} days"
    return "ok", ""


def store_problems(plan: Plan, state: State, entry: Entry) -> list[tuple[str, str]]:
    """Each store file of the entry with what is wrong with it ("" when it is right), as the plan sees it."""
    reasons = dict(r.split(": ", 1) for r in plan[entry.name].reasons if ": " in r)
    out = []
    for store in state[entry.name].stores:
        if store.content.value is None:
            out.append((store.file_name, str(store.content.problem)))
        else:
            out.append((store.file_name, reasons.get(store.file_name, "")))
    return out


def make_status(spec: Spec, state: State, plan: Plan, *, now: datetime,
                fail_within: timedelta | None = None) -> StatusReport:
    certs = []
    for entry in spec.entries:
        cert = state[entry.name].cert
        st, detail = _cert_state(state, plan, entry, now, fail_within)
        certs.append(CertStatus(
            entry.name, entry.role, entry.cn,
            tuple(cert_sans(cert)) if cert is not None and not entry.is_ca else tuple(map(str, entry.sans)),
            key_type_of(cert.public_key()) if cert is not None else entry.key,
            entry.issuer or "self", cert.not_valid_after_utc if cert is not None else None,
            days_left(cert, now) if cert is not None else None, st, detail))
    stores = []
    for entry in spec.entries:
        if entry.revoked:
            continue
        for store, (file_name, problem) in zip(state[entry.name].stores, store_problems(plan, state, entry),
                                               strict=True):
            opens = store.content.value is not None
            stores.append(StoreStatus(entry.name, file_name, store.fmt,
                                      store.spec.alias if store.spec.kind == "keystore" else "-", opens,
                                      "ok" if not problem else ("stale" if opens else "invalid"), problem))
    return StatusReport(now, tuple(certs), tuple(stores))
