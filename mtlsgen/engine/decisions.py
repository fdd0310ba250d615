"""The values the planner's steps pass along: what they read (Inputs) and what they decide.

Every step is a function of these values that returns a new value; none mutates what it is given,
so the order of the steps in plan.py is the whole story of which decision depends on which.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509

from ..spec.entries import Spec
from .changes import Action
from .reasons import Reason
from .rollover import Rollover, Rollovers
from .state import EntryState, State


@dataclass(frozen=True)
class Inputs:
    """What the planner reads: the spec, the files as they are, the time, and the user's requests."""

    spec: Spec
    state: State
    now: datetime
    replace: frozenset[str] = frozenset()
    prune: bool = False
    rollovers: Rollovers = field(default_factory=dict)  # each managed CA's rotation (rollover.py)

    def __getitem__(self, name: str) -> EntryState:
        return self.state[name]

    def rollover(self, name: str) -> Rollover:
        return self.rollovers.get(name) or Rollover(name)


@dataclass(frozen=True)
class CertDecision:
    """What happens to one entry's key and certificate."""

    action: Action | None = None
    new_key: bool = False
    new_cert: bool = False
    reasons: tuple[Reason, ...] = ()
    adopt_staged: bool = False  # the new key is the one an interrupted re-key staged, not a fresh one


Decided = Mapping[str, CertDecision]


@dataclass(frozen=True)
class FileDecision:
    """What happens to the files derived from certificates, and to modes and leftovers."""

    files: tuple[str, ...] = ()
    reasons: tuple[Reason, ...] = ()
    chmod: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()

    def __add__(self, other: FileDecision) -> FileDecision:
        return FileDecision(self.files + other.files, self.reasons + other.reasons,
                            self.chmod + other.chmod, self.remove + other.remove)


def kept_cert(inputs: Inputs, decided: Decided, name: str) -> x509.Certificate | None:
    """The certificate `name` keeps through apply; None when apply issues it anew."""
    return None if decided[name].new_cert else inputs.state[name].cert
