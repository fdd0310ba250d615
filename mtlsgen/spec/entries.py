"""The resolved spec: one Entry per certificate with every default applied, and the Spec holding them.

Everything after load_spec works on these frozen values, never on the raw YAML or pydantic models.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Literal

from .names import San, format_duration
from .yamlsrc import PathKey, Source

Role = Literal["ca", "intermediate", "server", "client"]
ROOT = "ca"


@dataclass(frozen=True)
class Password:
    """Where a password comes from; `value` is only set for literals and never printed."""

    source: Literal["env", "file", "generate", "literal"]
    ref: str = ""
    value: str = field(default="", repr=False)
    where: str = ""  # "pki.yaml:12: servers.api.keystore.password", for error messages


@dataclass(frozen=True)
class RenewBefore:
    """`renew_before` as a fixed duration, or a share (0–1) of the certificate's lifetime."""

    text: str
    duration: timedelta | None = None
    share: float | None = None

    def before(self, lifetime: timedelta) -> timedelta:
        return self.duration if self.duration is not None else lifetime * (self.share or 0.0)


@dataclass(frozen=True)
class StoreSpec:
    kind: Literal["keystore", "truststore"]
    formats: tuple[Literal["pkcs12", "jks"], ...]
    password: Password
    alias: str
    profile: Literal["modern", "legacy"]


@dataclass(frozen=True)
class ImportSpec:
    cert: Path
    key: Path
    password: Password | None


@dataclass(frozen=True)
class SharedSpec:
    """A root CA kept beside the spec (`ca.shared`): its folder, and the passphrase of its ca.key."""

    folder: Path
    passphrase: Password
    label: str  # the folder as the spec writes it, for messages: "pki-ca"


@dataclass(frozen=True)
class CrlSpec:
    validity: timedelta
    url: str | None


@dataclass(frozen=True)
class RolloverSpec:
    """The phases of a CA's rotation: trust both CAs for `trust_first`, move the leaves, and keep
    trusting the old CA for `overlap` more."""

    trust_first: timedelta = timedelta(days=7)
    overlap: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class Entry:
    """One certificate to manage, with every default applied."""

    name: str
    role: Role
    cn: str
    subject: tuple[tuple[str, str], ...]
    sans: tuple[San, ...]
    key: str
    validity: timedelta
    renew_before: RenewBefore
    usages: tuple[str, ...]
    issuer: str | None
    key_rotation: Literal["always", "never"]
    line: int
    key_password: Password | None = None
    revoked: bool = False
    keystore: StoreSpec | None = None
    truststore: StoreSpec | None = None
    path_length: int | None = None
    crl: CrlSpec | None = None
    imported: ImportSpec | None = None
    rollover: RolloverSpec = RolloverSpec()
    shared: SharedSpec | None = None

    @property
    def is_ca(self) -> bool:
        return self.role in ("ca", "intermediate")

    @property
    def crl_validity(self) -> timedelta:
        return self.crl.validity if self.crl is not None else timedelta(days=30)

    @property
    def rollover_text(self) -> str:
        r = self.rollover
        return f"trust_first {format_duration(r.trust_first)}, overlap {format_duration(r.overlap)}"

    @property
    def validity_text(self) -> str:
        return format_duration(self.validity)


@dataclass(frozen=True)
class Spec:
    """A resolved spec: entries ordered so that every issuer comes before what it issues."""

    path: Path
    output: Path
    entries: tuple[Entry, ...]
    source: Source = field(repr=False, compare=False)

    @cached_property
    def by_name(self) -> dict[str, Entry]:
        return {e.name: e for e in self.entries}

    def __getitem__(self, name: str) -> Entry:
        return self.by_name[name]

    def children(self, name: str) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.issuer == name)

    def chain(self, name: str) -> tuple[Entry, ...]:
        """The entry's issuers, nearest first, ending with the root."""
        out: list[Entry] = []
        issuer = self[name].issuer
        while issuer is not None:
            out.append(self[issuer])
            issuer = self[issuer].issuer
        return tuple(out)

    def trusted_roots(self, name: str) -> tuple[str, ...]:
        """What the entry's truststore holds: the roots of its peers' chains (servers trust the
        clients' roots and clients the servers'), or its own root when it has no peers."""
        peer = "client" if self[name].role == "server" else "server"
        roots = {self.root_of(e.name).name for e in self.entries if e.role == peer and not e.revoked}
        return tuple(sorted(roots or {self.root_of(name).name}))

    def crl_url(self, name: str) -> str | None:
        """The CRL distribution point the entry's certificate carries: its issuer's `crl.url`."""
        issuer = self[name].issuer
        crl = self[issuer].crl if issuer is not None else None
        return crl.url if crl is not None else None

    def root_of(self, name: str) -> Entry:
        chain = self.chain(name)
        return chain[-1] if chain else self[name]

    @property
    def output_label(self) -> str:
        """The output folder as messages name it: relative to the spec's folder, as the spec writes it."""
        return os.path.relpath(self.output, self.path.parent)

    @property
    def shared(self) -> SharedSpec | None:
        """Where the root CA lives when it is shared (`ca.shared`); None: in the output folder."""
        return self.by_name[ROOT].shared

    def line_of(self, path: PathKey) -> int:
        return self.source.line_of(path)
