"""What a plan is made of: the closed set of actions (as terraform's), one Change per entry, and what
apply needs to carry each change out (Materials), decided once by the planner."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Literal

from cryptography import x509

from ..crypto.keys import PrivateKey
from ..spec.entries import Spec
from .layout import Generation
from .reasons import Reason
from .store_cache import CacheState


class Action(str, Enum):
    CREATE = "create"
    REISSUE = "reissue"
    RENEW = "renew"
    REPLACE = "replace"
    REPACK = "repack"
    ROTATE = "rotate"
    REVOKE = "revoke"
    ORPHAN = "orphan"
    PRUNE = "prune"
    UNCHANGED = "unchanged"
    BLOCKED = "blocked"


SYMBOLS = {Action.CREATE: "+", Action.REISSUE: "~", Action.RENEW: "~", Action.REPLACE: "±",
           Action.REPACK: "~", Action.ROTATE: "~", Action.REVOKE: "-", Action.ORPHAN: "?", Action.PRUNE: "-",
           Action.UNCHANGED: " ", Action.BLOCKED: "!"}


@dataclass(frozen=True)
class CertRef:
    """A certificate apply will hold: one on disk now (`cert`), or the one it issues for `entry`."""

    entry: str | None = None
    cert: x509.Certificate | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Secret:
    """A password apply uses: its value, or None to generate one and keep it in `file` (0600).
    The value is never printed: it is out of repr and out of every document."""

    value: str | None = field(default=None, repr=False)
    file: str | None = None


@dataclass(frozen=True)
class CrlContent:
    """What a CA's CRL will hold (RFC 5280 5.2.3: the number only grows)."""

    revoked: tuple[tuple[int, datetime], ...]
    number: int
    validity: timedelta


@dataclass(frozen=True)
class GenerationMaterials:
    """A rotating CA's incoming (`next`), outgoing (`previous`) or retired generation as apply writes
    it: its key and certificate (made by apply when `start`), its CRL to issue or the one kept."""

    which: Generation
    key: PrivateKey | None = field(default=None, repr=False)
    cert: x509.Certificate | None = field(default=None, repr=False)
    crl: CrlContent | None = None
    kept_crl: x509.CertificateRevocationList | None = field(default=None, repr=False)
    start: bool = False  # a rotation starts: apply makes the key and issues the certificate


@dataclass(frozen=True)
class Materials:
    """Everything apply needs for one entry's files; apply reads nothing else.

    `key`/`cert` are what is kept from disk (None: made new); `chain` is what follows the leaf in
    tls.crt, `anchor` the root in ca.crt, `trusted` a truststore's (alias, certificate) pairs;
    `secrets` are keyed by what they protect: "keystore", "truststore", "tls.key"; a CA's CRL is
    `crl` when apply writes it, else `kept_crl`; a server's ca.crl holds the CRLs of `crl_bundle`.
    The output folder's change carries the store cache as read (`store_cache`), which apply completes
    with the stores it writes when the change lists the cache file.
    """

    key: PrivateKey | None = field(default=None, repr=False)
    cert: x509.Certificate | None = field(default=None, repr=False)
    chain: tuple[CertRef, ...] = ()
    anchor: CertRef | None = None
    trusted: tuple[tuple[str, CertRef], ...] = ()
    secrets: tuple[tuple[str, Secret], ...] = ()
    crl: CrlContent | None = None  # a CA's CRL to write
    kept_crl: x509.CertificateRevocationList | None = field(default=None, repr=False)  # a CA's CRL on disk
    crl_bundle: tuple[str, ...] = ()  # a server's ca.crl: the CAs (or `ca/next`…) whose CRLs it holds, in order
    generations: tuple[GenerationMaterials, ...] = ()  # a rotating CA's next.*, previous.*, retired.*
    also_trusted: tuple[CertRef, ...] = ()  # a leaf's ca.crt: the rotating root's other certificate
    store_cache: CacheState | None = field(default=None, repr=False)

    def secret(self, purpose: str) -> Secret:
        return dict(self.secrets)[purpose]

    @property
    def rotation_starts(self) -> bool:
        """A CA's rotation starts: apply makes its incoming key and certificate (next.*)."""
        return any(g.start for g in self.generations)


@dataclass(frozen=True)
class Change:
    """One entry's action with its reasons. `files` are every file apply writes in its folder
    (password files and, for the output folder, .gitignore included); `chmod` those whose mode it
    restores ("" is the folder); `remove` those it deletes."""

    name: str
    action: Action
    reasons: tuple[Reason, ...] = ()
    new_key: bool = False
    new_cert: bool = False
    files: tuple[str, ...] = ()
    chmod: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    scope: Literal["entry", "output", "orphan"] = "entry"  # what `name` is: an entry, the output folder, …
    materials: Materials = field(default_factory=Materials, repr=False, compare=False)

    @property
    def symbol(self) -> str:
        return SYMBOLS[self.action]


@dataclass(frozen=True)
class Rotation:
    """A CA's rotation as the plan leaves it (docs/spec.md, "Rotating a CA"): its phase
    (trust_first, overlap, finished) and the dates of its steps."""

    ca: str
    phase: str
    move_at: datetime | None
    finish_at: datetime | None
    retired_until: datetime | None  # retired.* (kept for the old CA's CRL) are removed then

    def next_step(self) -> tuple[str, datetime | None]:
        """What the next apply after its date does: move, finish, or remove retired.*."""
        if self.phase == "trust_first":
            return "move", self.move_at
        if self.phase == "overlap":
            return "finish", self.finish_at
        return "remove retired", self.retired_until


@dataclass(frozen=True)
class Plan:
    spec: Spec
    now: datetime
    changes: tuple[Change, ...]
    warnings: tuple[str, ...] = ()
    rotations: tuple[Rotation, ...] = ()  # the CAs that rotate, after this plan

    @property
    def pending(self) -> tuple[Change, ...]:
        """The changes apply would carry out (orphans are only reported, unless pruned)."""
        return tuple(c for c in self.changes if c.action not in (Action.UNCHANGED, Action.ORPHAN))

    @property
    def blocked(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action is Action.BLOCKED)

    def __getitem__(self, name: str) -> Change:
        return next(c for c in self.changes if c.name == name)

    def counts(self) -> dict[Action, int]:
        out = dict.fromkeys(Action, 0)
        for change in self.changes:
            out[change.action] += 1
        return out
