"""Planner step 0 for a CA's rotation: which phase each managed CA is in, and what this plan moves.

docs/spec.md, "Rotating a CA": `apply --rotate NAME` writes the incoming CA (next.crt, next.key);
every bundle that trusted the CA trusts both (*trust first*). Once `trust_first` has passed since the
incoming certificate's notBefore, the next apply *moves*: next.* becomes ca.*, the outgoing CA goes
to previous.*, and everything the CA issued is reissued under the new key; bundles still trust both.
Once `overlap` more has passed, bundles trust only the new CA (*finished*); previous.* stay, out of
every bundle, to sign the old CA's CRL until its certificate expires, then they are removed.

The phase is read from the CA folder's files and the clock alone: next.* present → trust first;
previous.* present → overlap, then finished. Nothing else records it, so no lost file can make it lie.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from cryptography import x509

from ..crypto.certs import CLOCK_SKEW, signed_by
from ..crypto.keys import key_matches, public_der
from ..errors import PlanError
from ..spec.entries import Entry
from .changes import CertRef
from .layout import Generation, generation_files
from .reasons import Kind, Reason
from .state import NO_GENERATION, EntryState, GenerationState, State


class Phase(str, Enum):
    NONE = "none"
    TRUST_FIRST = "trust_first"  # next.* exist: peers learn to trust the incoming CA
    OVERLAP = "overlap"          # moved: leaves are under the new CA, bundles still trust the old one
    FINISHED = "finished"        # bundles trust only the new CA; previous.* kept for the old CA's CRL


@dataclass(frozen=True)
class Rollover:
    """One CA's rotation as this plan leaves it."""

    ca: str
    phase: Phase = Phase.NONE
    start: bool = False  # this plan writes next.* (a new key and certificate)
    move: bool = False   # this plan moves: next.* → ca.*, ca.* → previous.*, the CA's leaves reissued
    started: datetime | None = None  # the incoming certificate's notBefore: the timeline's origin
    move_at: datetime | None = None
    finish_at: datetime | None = None
    previous_until: datetime | None = None  # previous.* are removed then (its certificate's expiry)
    reasons: tuple[Reason, ...] = ()
    remove: tuple[str, ...] = ()  # generation files to delete (leftovers of a move, an expired previous)
    outgoing: GenerationState = NO_GENERATION  # at a move: the CA as it was, written to previous.*
    keeps_previous: bool = False  # previous.* exist after this plan (its CRL is kept fresh)

    def keeps(self, which: Generation) -> bool:
        """Whether the generation's files exist after this plan."""
        return self.phase is Phase.TRUST_FIRST if which == "next" else self.keeps_previous

    def trusted(self) -> Generation | None:
        """The generation every bundle trusts besides the current CA, after this plan."""
        return "next" if self.phase is Phase.TRUST_FIRST else "previous" if self.phase is Phase.OVERLAP else None


Rollovers = Mapping[str, Rollover]


def assess(spec_entries: tuple[Entry, ...], state: State, now: datetime, rotate: frozenset[str],
           replace_names: frozenset[str]) -> dict[str, Rollover]:
    """Each managed CA's rotation: phase, and what this plan starts or moves."""
    out = {}
    for entry in spec_entries:
        if entry.is_ca and entry.imported is None and not entry.revoked:
            out[entry.name] = _one(entry, state, now, entry.name in rotate, entry.name in replace_names)
    return out


def check_rotate(entries: Mapping[str, Entry], rotate: frozenset[str], path_name: str) -> None:
    for name in sorted(rotate):
        if name not in entries:
            raise PlanError(f"--rotate {name}: no such entry in {path_name}")
        entry = entries[name]
        if not entry.is_ca:
            raise PlanError(f"--rotate {name}: only a CA rotates; --replace {name} makes a new key and certificate")
        if entry.imported is not None:
            raise PlanError(f"--rotate {name}: the CA is imported; mtlsgen never writes its files (rotate it "
                            "where it lives, then point `import` at the new one)")


def _present(g: GenerationState, which: Generation) -> tuple[str, ...]:
    missing = (g.certs.missing, g.key.missing, g.crl.missing)
    return tuple(f for f, gone in zip(generation_files(which), missing, strict=True) if not gone)


def _one(entry: Entry, state: State, now: datetime, rotate: bool, replacing: bool) -> Rollover:
    s = state[entry.name]
    incoming, outgoing = s.incoming, s.outgoing
    both = (*_present(incoming, "next"), *_present(outgoing, "previous"))
    if replacing:  # --replace re-keys at once: a rotation in progress is abandoned
        return Rollover(entry.name, reasons=_dropped(both), remove=both)
    if s.cert is None or s.key.value is None:
        if rotate:
            raise PlanError(f"--rotate {entry.name}: the CA has no usable certificate and key yet; apply first")
        return Rollover(entry.name)
    timeline = entry.rollover
    leftovers: tuple[str, ...] = ()
    reasons: list[Reason] = []
    if incoming.present:
        if incoming.cert is not None and public_der(incoming.cert.public_key()) == public_der(s.cert.public_key()):
            # A move was interrupted after ca.crt became the incoming certificate: next.* are leftovers.
            leftovers = _present(incoming, "next")
            reasons.append(Reason(Kind.ROLLOVER_LEFTOVER, names=leftovers))
        elif _usable(entry, state, incoming):
            assert incoming.cert is not None
            started = incoming.cert.not_valid_before_utc + CLOCK_SKEW
            move_at = started + timeline.trust_first
            finish_at = move_at + timeline.overlap
            if now < move_at:
                return Rollover(entry.name, Phase.TRUST_FIRST, started=started, move_at=move_at, finish_at=finish_at)
            return Rollover(entry.name, Phase.OVERLAP, move=True, started=started, move_at=move_at,
                            finish_at=finish_at, previous_until=s.cert.not_valid_after_utc,
                            reasons=(Reason(Kind.ROLLOVER_MOVE, when=finish_at),), remove=_present(incoming, "next"),
                            outgoing=GenerationState(s.certs, s.key, s.crl), keeps_previous=True)
        else:
            # An unusable incoming CA (a file lost or damaged): trust first again with a new one.
            return _start(entry, now, Reason(Kind.ROLLOVER_RESTART, names=_present(incoming, "next")))
    if rotate:
        if outgoing.present and _phase_after_move(entry, s, now) is Phase.OVERLAP:
            raise PlanError(f"--rotate {entry.name}: its last rotation is still in its overlap (until "
                            f"{_finish_of(entry, s):%Y-%m-%d %H:%M} UTC); rotate again after that")
        return replace(_start(entry, now, Reason(Kind.ROLLOVER_START, when=now + timeline.trust_first,
                                                 detail=entry.rollover_text), remove=leftovers),
                       keeps_previous=outgoing.present)
    if not outgoing.present:
        return Rollover(entry.name, reasons=tuple(reasons), remove=leftovers)
    expired = outgoing.cert is None or outgoing.cert.not_valid_after_utc <= now
    if expired:
        gone = _present(outgoing, "previous")
        return Rollover(entry.name, reasons=(*reasons, Reason(Kind.PREVIOUS_EXPIRED, names=gone)),
                        remove=(*leftovers, *gone))
    started = s.cert.not_valid_before_utc + CLOCK_SKEW
    return Rollover(entry.name, _phase_after_move(entry, s, now), started=started,
                    move_at=started + timeline.trust_first, finish_at=_finish_of(entry, s),
                    previous_until=outgoing.cert.not_valid_after_utc if outgoing.cert else None,
                    reasons=tuple(reasons), remove=leftovers, keeps_previous=True)


def _start(entry: Entry, now: datetime, why: Reason, remove: tuple[str, ...] = ()) -> Rollover:
    move_at = now + entry.rollover.trust_first
    return Rollover(entry.name, Phase.TRUST_FIRST, start=True, started=now, move_at=move_at,
                    finish_at=move_at + entry.rollover.overlap, reasons=(why,), remove=remove)


def _finish_of(entry: Entry, s: EntryState) -> datetime:
    assert s.cert is not None
    return s.cert.not_valid_before_utc + CLOCK_SKEW + entry.rollover.trust_first + entry.rollover.overlap


def _phase_after_move(entry: Entry, s: EntryState, now: datetime) -> Phase:
    return Phase.OVERLAP if now < _finish_of(entry, s) else Phase.FINISHED


def _dropped(files: tuple[str, ...]) -> tuple[Reason, ...]:
    return (Reason(Kind.ROLLOVER_DROPPED, names=files),) if files else ()


def _usable(entry: Entry, state: State, g: GenerationState) -> bool:
    """An incoming CA that can take over: its key matches, it has the CA's name and is signed by its
    issuer's current key (itself for a root)."""
    cert, key = g.cert, g.key.value
    if cert is None or key is None or not key_matches(cert, key):
        return False
    issuer_key = key if entry.issuer is None else state[entry.issuer].key.value
    return issuer_key is not None and signed_by(cert, issuer_key.public_key())


def moved_state(state: State, rollovers: Rollovers) -> State:
    """The state as the rest of the planner sees it when a CA moves: its incoming certificate, key and
    CRL are its current ones, so every check below (signed by the issuer's key, bundles, CRLs) is
    made against the CA the leaves move to."""
    moving = {name: r for name, r in rollovers.items() if r.move}
    if not moving:
        return state
    entries = dict(state.entries)
    for name in moving:
        s = entries[name]
        entries[name] = replace(s, certs=s.incoming.certs, key=s.incoming.key, crl=s.incoming.crl,
                                incoming=NO_GENERATION, outgoing=GenerationState(s.certs, s.key, s.crl))
    return replace(state, entries=entries)


def generation_ref(ca: str, which: Generation) -> str:
    """How apply names a CA generation's certificate, key and CRL among the entries' (`ca/next`)."""
    return f"{ca}/{which}"


def trusted_generation(rollovers: Rollovers, state: State, root: str) -> tuple[str, CertRef, x509.Certificate | None]\
        | None:
    """The root's other trusted certificate after this plan, as (alias, reference, certificate on disk
    or None when apply issues it now); None outside trust-first and overlap."""
    r = rollovers.get(root)
    which = r.trusted() if r is not None else None
    if r is None or which is None:
        return None
    alias = f"{root}-{which}"
    if which == "next" and r.start:
        return alias, CertRef(entry=generation_ref(root, "next")), None
    cert = state[root].generation(which).cert
    assert cert is not None
    return alias, CertRef(cert=cert), cert
