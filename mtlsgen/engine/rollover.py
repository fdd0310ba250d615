"""Planner step 0 for a CA's rotation: which phase each managed CA is in, and what this plan moves.

docs/spec.md, "Rotating a CA": `apply --rotate NAME` writes the incoming CA (next.crt, next.key);
every bundle that trusted the CA trusts both (*trust first*). Once `trust_first` has passed since the
incoming certificate's notBefore, the next apply *moves*: next.* becomes ca.*, the outgoing CA goes
to previous.*, and everything the CA issued is reissued under the new key; bundles still trust both.
Once `overlap` more has passed, bundles trust only the new CA (*finished*); previous.* stay, out of
every bundle, to sign the old CA's CRL until its certificate expires (renamed retired.*), then removed.

The phase is read from the CA folder's files and the clock alone: next.* present → trust first;
previous.* present → overlap; retired.* present → finished. The overlap counts from the move as the
certificates the CA issued under its new key record it. Nothing else records a phase, so no lost file
can make it lie (a lost next.key restarts the rotation; a lost record of the move can only delay it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from typing import NamedTuple, cast

from cryptography import x509

from ..crypto.certs import CLOCK_SKEW, signed_by
from ..crypto.keys import PublicKey, key_matches, key_type_of, public_der
from ..errors import PlanError
from ..spec.entries import Entry
from .changes import CertRef
from .layout import GENERATIONS, Generation, generation_files
from .reasons import Kind, Reason
from .state import NO_GENERATION, EntryState, GenerationState, State


class Phase(str, Enum):
    NONE = "none"
    TRUST_FIRST = "trust_first"  # next.* exist: peers learn to trust the incoming CA
    OVERLAP = "overlap"          # previous.* exist: leaves are under the new CA, bundles still trust the old one
    FINISHED = "finished"        # only retired.* exist: bundles trust only the new CA; the old one signs its CRL


@dataclass(frozen=True)
class Rollover:
    """One CA's rotation as this plan leaves it."""

    ca: str
    phase: Phase = Phase.NONE
    start: bool = False   # this plan writes next.* (a new key and certificate)
    move: bool = False    # this plan moves: next.* → ca.*, ca.* → previous.*, the CA's leaves reissued
    finish: bool = False  # this plan renames previous.* to retired.*: bundles stop trusting the old CA
    move_at: datetime | None = None
    finish_at: datetime | None = None
    retired_until: datetime | None = None  # retired.* are kept (out of every bundle) until then, if any
    reasons: tuple[Reason, ...] = ()
    remove: tuple[str, ...] = ()  # generation files to delete (leftovers of a move, a finish, an expiry)
    warning: str = ""  # said beside the plan (a --rotate that changes nothing)

    def keeps(self, which: Generation) -> bool:
        """Whether the generation's files exist after this plan (so its CRL is kept fresh)."""
        if which == "retired":
            return self.retired_until is not None
        return self.phase is (Phase.TRUST_FIRST if which == "next" else Phase.OVERLAP)

    def trusted(self) -> Generation | None:
        """The generation every bundle trusts besides the current CA, after this plan."""
        return "next" if self.phase is Phase.TRUST_FIRST else "previous" if self.phase is Phase.OVERLAP else None


Rollovers = Mapping[str, Rollover]


def assess(spec_entries: tuple[Entry, ...], state: State, now: datetime, rotate: frozenset[str],
           replace_names: frozenset[str]) -> dict[str, Rollover]:
    """Each managed CA's rotation: phase, and what this plan starts, moves or finishes."""
    out = {}
    for entry in spec_entries:
        if entry.is_ca and entry.imported is None and not entry.revoked:
            children = tuple(e.name for e in spec_entries if e.issuer == entry.name)
            out[entry.name] = _one(entry, children, state, now, entry.name in rotate, entry.name in replace_names)
    return out


def check_rotate(entries: Mapping[str, Entry], rotate: frozenset[str], replace_names: frozenset[str],
                 path_name: str) -> None:
    for name in sorted(rotate):
        if name not in entries:
            raise PlanError(f"--rotate {name}: no such entry in {path_name}")
        entry = entries[name]
        if not entry.is_ca:
            raise PlanError(f"--rotate {name}: only a CA rotates; --replace {name} makes a new key and certificate")
        if entry.imported is not None:
            raise PlanError(f"--rotate {name}: the CA is imported; mtlsgen never writes its files (rotate it "
                            "where it lives, then point `import` at the new one)")
        if name in replace_names:
            raise PlanError(f"--rotate {name} and --replace {name}: choose one — --rotate re-keys without an "
                            "outage over days, --replace re-keys now and every peer must reload at once")


def _present(g: GenerationState, which: Generation) -> tuple[str, ...]:
    missing = (g.certs.missing, g.key.missing, g.crl.missing)
    return tuple(f for f, gone in zip(generation_files(which), missing, strict=True) if not gone)


def _one(entry: Entry, children: tuple[str, ...], state: State, now: datetime, rotate: bool,
         replacing: bool) -> Rollover:
    s = state[entry.name]
    if replacing:  # --replace re-keys at once: a rotation in progress is abandoned
        every = tuple(f for which in GENERATIONS for f in _present(s.generation(which), which))
        return Rollover(entry.name, reasons=_said(Kind.ROLLOVER_DROPPED, every), remove=every)
    if s.cert is None or s.key.value is None:
        if rotate:
            raise PlanError(f"--rotate {entry.name}: the CA has no usable certificate and key yet; apply first")
        return Rollover(entry.name)
    incoming, outgoing = s.incoming, s.outgoing
    moved = incoming.cert is not None and public_der(incoming.cert.public_key()) == public_der(s.cert.public_key())
    if incoming.present and not moved:
        r = _trust_first(entry, state, now)
        if rotate and not r.start:
            r = replace(r, warning=f"--rotate {entry.name}: already rotating; its leaves move on "
                                   f"{r.move_at:%Y-%m-%d %H:%M} UTC")
    elif outgoing.cert is not None:
        r = _after_move(entry, children, state, now, rotate)
    elif rotate:
        r = _start(entry, now, _start_reason(entry, now))
    else:
        r = Rollover(entry.name)
    # Files a kill left behind: next.* once ca.* took the incoming CA; previous.* without a certificate
    # (a finish interrupted between its deletions, or a lost file: the overlap cannot go on without it).
    leftovers = (*(_present(incoming, "next") if moved else ()),
                 *(_present(outgoing, "previous") if outgoing.cert is None else ()))
    r = replace(r, reasons=(*_said(Kind.ROLLOVER_LEFTOVER, leftovers), *r.reasons), remove=(*leftovers, *r.remove))
    return _with_retired(r, s, now)


def _with_retired(r: Rollover, s: EntryState, now: datetime) -> Rollover:
    """retired.* (an older rotation's CA, or this one's once it finishes) are kept, out of every bundle, to
    sign that CA's CRL until its certificate expires; then removed."""
    if r.finish:  # previous.* become retired.*, replacing an older rotation's (not this one's, half-renamed)
        assert s.outgoing.cert is not None
        older = s.retired.cert is not None and s.retired.cert != s.outgoing.cert
        return replace(r, phase=Phase.FINISHED if r.phase is Phase.NONE else r.phase,
                       retired_until=s.outgoing.cert.not_valid_after_utc,
                       remove=(*r.remove, *(_present(s.retired, "retired") if older else ())))
    retired = s.retired
    if not retired.present or any(f in r.remove for f in _present(retired, "retired")):
        return r
    until = retired.cert.not_valid_after_utc if retired.cert else None
    if until is None or until <= now:  # expired (or its certificate lost): nothing it signed is valid any more
        gone = _present(retired, "retired")
        return replace(r, reasons=(*r.reasons, *_said(Kind.PREVIOUS_EXPIRED, gone)), remove=(*r.remove, *gone))
    return replace(r, phase=Phase.FINISHED if r.phase is Phase.NONE else r.phase, retired_until=until)


def _trust_first(entry: Entry, state: State, now: datetime) -> Rollover:
    """next.* present: trust first until `trust_first` has passed since next.crt's notBefore, then move."""
    s, timeline = state[entry.name], entry.rollover
    incoming = s.incoming
    wrong_type = incoming.cert is not None and key_type_of(incoming.cert.public_key()) != entry.key
    if not _usable(incoming) or wrong_type:
        # A file lost or damaged, or the spec asks for another key type: trust first again, with a new CA.
        lost = _present(incoming, "next")
        return _start(entry, now, Reason(Kind.ROLLOVER_RESTART, names=lost, detail=_what_is_wrong(entry, incoming)),
                      lost)
    assert incoming.cert is not None and s.cert is not None
    move_at = incoming.cert.not_valid_before_utc + CLOCK_SKEW + timeline.trust_first
    if now < move_at:
        return Rollover(entry.name, Phase.TRUST_FIRST, move_at=move_at, finish_at=move_at + timeline.overlap)
    finish_at = now + timeline.overlap  # the overlap counts from the move, however late it comes
    return Rollover(entry.name, Phase.OVERLAP, move=True, move_at=now, finish_at=finish_at,
                    reasons=(Reason(Kind.ROLLOVER_MOVE, when=finish_at),), remove=_present(incoming, "next"))


def _after_move(entry: Entry, children: tuple[str, ...], state: State, now: datetime, rotate: bool) -> Rollover:
    """previous.* present: the overlap, until `overlap` has passed since the move; then the finish."""
    s = state[entry.name]
    outgoing = s.outgoing
    assert outgoing.cert is not None
    if outgoing.cert.not_valid_after_utc <= now:  # the old CA expired: nothing it signed is valid any more
        gone = _present(outgoing, "previous")
        expired = Rollover(entry.name, reasons=_said(Kind.PREVIOUS_EXPIRED, gone), remove=gone)
        return _starting(expired, entry, now) if rotate else expired
    finish_at = _overlap_end(entry, children, state, now)
    if now < finish_at:
        if rotate:
            raise PlanError(f"--rotate {entry.name}: its last rotation is still in its overlap (until "
                            f"{finish_at:%Y-%m-%d %H:%M} UTC); rotate again after that")
        return Rollover(entry.name, Phase.OVERLAP, finish_at=finish_at)
    # Finished: previous.* become retired.*, which no bundle trusts (written first, then removed, the
    # certificate last: a kill in between leaves either previous.crt, or retired.* and no previous.crt).
    files = _present(outgoing, "previous")
    finished = Rollover(entry.name, finish=True, finish_at=finish_at,
                        reasons=(Reason(Kind.ROLLOVER_FINISH, names=(f"{entry.name}-previous",)),),
                        remove=tuple(sorted(files, key=lambda f: f.endswith(".crt"))))
    return _starting(finished, entry, now) if rotate else finished


def _starting(r: Rollover, entry: Entry, now: datetime) -> Rollover:
    """`r` with a rotation started in the same plan (`--rotate` once the last one is over)."""
    started = _start(entry, now, _start_reason(entry, now))
    return replace(r, phase=Phase.TRUST_FIRST, start=True, move_at=started.move_at, finish_at=started.finish_at,
                   reasons=(*r.reasons, *started.reasons))


def _start(entry: Entry, now: datetime, why: Reason, remove: tuple[str, ...] = ()) -> Rollover:
    move_at = now + entry.rollover.trust_first
    return Rollover(entry.name, Phase.TRUST_FIRST, start=True, move_at=move_at,
                    finish_at=move_at + entry.rollover.overlap, reasons=(why,), remove=remove)


def _start_reason(entry: Entry, now: datetime) -> Reason:
    return Reason(Kind.ROLLOVER_START, when=now + entry.rollover.trust_first, detail=entry.rollover_text)


def _overlap_end(entry: Entry, children: tuple[str, ...], state: State, now: datetime) -> datetime:
    """`overlap` after the move. The move is when the CA's certificates moved to its new key (the one
    ca.crt certifies): the earliest notBefore among what it issued under that key (a later renewal can
    only delay the finish, the safe side). When what it issued has not moved yet (a move interrupted,
    finished by this plan) the move is now; a CA that issued nothing follows its schedule."""
    s = state[entry.name]
    assert s.cert is not None
    public = cast(PublicKey, s.cert.public_key())  # signed_by refuses any other kind of key
    issued = [c for name in children if (c := state[name].cert) is not None]
    moved = [c.not_valid_before_utc + CLOCK_SKEW for c in issued if signed_by(c, public)]
    if moved:
        start = min(moved)
    else:
        start = now if issued else s.cert.not_valid_before_utc + CLOCK_SKEW + entry.rollover.trust_first
    return start + entry.rollover.overlap


def _said(kind: Kind, files: tuple[str, ...]) -> tuple[Reason, ...]:
    return (Reason(kind, names=files),) if files else ()


def _usable(g: GenerationState) -> bool:
    """An incoming CA that can take over: a certificate and the key it certifies. (Its signature is not
    checked: an intermediate's incoming certificate was signed by its root's key of the day, which may
    have rotated since; the move reissues it under the current one.)"""
    return g.cert is not None and g.key.value is not None and key_matches(g.cert, g.key.value)


def _what_is_wrong(entry: Entry, g: GenerationState) -> str:
    crt, key, _ = generation_files("next")
    for name, loaded in ((crt, g.certs), (key, g.key)):
        if loaded.value is None:
            return f"{name} {loaded.problem or 'missing'}"
    if g.key.value is not None and key_type_of(g.key.value) != entry.key:
        return f"{key} is {key_type_of(g.key.value)}, the spec asks for {entry.key}"
    return f"{key} is not the key of {crt}"


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


class Trusted(NamedTuple):
    """A rotating root's other trusted certificate: its trust store alias, what apply holds it as, and
    the certificate on disk (None when apply issues it now)."""

    alias: str
    ref: CertRef
    cert: x509.Certificate | None


def trusted_generation(rollovers: Rollovers, state: State, root: str) -> Trusted | None:
    """The root's other trusted certificate after this plan; None outside trust-first and overlap."""
    r = rollovers.get(root)
    which = r.trusted() if r is not None else None
    if r is None or which is None:
        return None
    alias = f"{root}-{which}"
    if which == "next" and r.start:
        return Trusted(alias, CertRef(entry=generation_ref(root, "next")), None)
    cert = state[root].generation(which).cert
    assert cert is not None
    return Trusted(alias, CertRef(cert=cert), cert)
