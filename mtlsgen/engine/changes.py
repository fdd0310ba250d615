"""What a plan is made of: the closed set of actions (as terraform's) and one Change per entry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Literal

from ..spec.entries import Spec


class Action(str, Enum):
    CREATE = "create"
    REISSUE = "reissue"
    RENEW = "renew"
    REPLACE = "replace"
    REPACK = "repack"
    REVOKE = "revoke"
    ORPHAN = "orphan"
    PRUNE = "prune"
    UNCHANGED = "unchanged"
    BLOCKED = "blocked"


SYMBOLS = {Action.CREATE: "+", Action.REISSUE: "~", Action.RENEW: "~", Action.REPLACE: "±",
           Action.REPACK: "~", Action.REVOKE: "-", Action.ORPHAN: "?", Action.PRUNE: "-",
           Action.UNCHANGED: " ", Action.BLOCKED: "!"}


@dataclass(frozen=True)
class Change:
    """One entry's action with its reasons; `files` are the file names apply (re)writes in its folder."""

    name: str
    action: Action
    reasons: tuple[str, ...] = ()
    new_key: bool = False
    new_cert: bool = False
    files: tuple[str, ...] = ()
    revoked_serials: tuple[tuple[int, datetime], ...] = ()  # a CA's CRL content, when it is written
    crl_number: int = 0
    chmod: tuple[str, ...] = ()  # files whose permission bits apply restores ("" = the folder)
    remove: tuple[str, ...] = ()  # files of the entry the spec no longer asks for
    scope: Literal["entry", "output", "orphan"] = "entry"  # what `name` is: an entry, the output folder, …

    @property
    def symbol(self) -> str:
        return SYMBOLS[self.action]


@dataclass(frozen=True)
class Plan:
    spec: Spec
    now: datetime
    changes: tuple[Change, ...]
    warnings: tuple[str, ...] = ()

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
