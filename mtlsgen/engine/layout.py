"""Where each artifact lives: the only module that spells file names.

The names follow cert-manager's Secret keys (tls.crt, tls.key, ca.crt) so that moving to
Kubernetes changes no application path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..spec.entries import ROOT, Entry, Spec

StoreKind = Literal["keystore", "truststore"]
StoreFormat = Literal["pkcs12", "jks"]
EXTENSIONS: dict[StoreFormat, str] = {"pkcs12": "p12", "jks": "jks"}
GITIGNORE = ".gitignore"
GITIGNORE_TEXT = b"*\n"  # nothing in the output folder is ever committed; the spec is
# What each store held when mtlsgen last read or wrote it (engine/store_cache.py); a dot-file, so that
# `ls` of the output shows only entries, and covered by the .gitignore's `*` like everything else.
STORE_CACHE = ".mtlsgen-stores.json"
DIR_MODE = 0o700
SECRET_MODE = 0o600
PUBLIC_MODE = 0o644
TLS_CRT, TLS_KEY, CA_CRT, CA_KEY, CA_CRL = "tls.crt", "tls.key", "ca.crt", "ca.key", "ca.crl"
# A CA's rotation (docs/spec.md, "Rotating a CA"): the incoming CA lives in next.* while every peer
# learns to trust it; after the move the outgoing one lives in previous.*, still trusted; once the
# rotation finishes it is renamed retired.*, trusted by no bundle, kept to sign its CRL.
Generation = Literal["next", "previous", "retired"]
GENERATIONS: tuple[Generation, ...] = ("next", "previous", "retired")


def generation_files(generation: Generation) -> tuple[str, str, str]:
    """The certificate, key and CRL file names of a CA's next, previous or retired generation."""
    return f"{generation}.crt", f"{generation}.key", f"{generation}.crl"


CA_FILES = (CA_CRT, CA_KEY, CA_CRL, *(f for g in GENERATIONS for f in generation_files(g)))
# A CA's new key while it is re-keyed: written first, then ca.crt, then renamed to ca.key, so that a
# run killed at any point leaves the old CA or the new one (docs/spec.md, "Interrupted runs").
CA_KEY_NEXT = "ca.key.next"


@dataclass(frozen=True)
class Layout:
    """`root` is the output folder; `ca_home` the root CA's folder when it lives outside it
    (`ca.shared.folder`, committed beside the spec): every file of the root CA follows `folder`."""

    root: Path
    ca_home: Path | None = None

    @classmethod
    def of(cls, spec: Spec) -> Layout:
        return cls(spec.output, spec.shared.folder if spec.shared is not None else None)

    def folder(self, name: str) -> Path:
        return self.ca_home if name == ROOT and self.ca_home is not None else self.root / name

    def cert(self, name: str, *, is_ca: bool) -> Path:
        return self.folder(name) / (CA_CRT if is_ca else TLS_CRT)

    def key(self, name: str, *, is_ca: bool) -> Path:
        return self.folder(name) / (CA_KEY if is_ca else TLS_KEY)

    def ca_bundle(self, name: str) -> Path:
        """A leaf's ca.crt: the roots its chain ends in."""
        return self.folder(name) / CA_CRT

    def crl(self, name: str) -> Path:
        return self.folder(name) / CA_CRL

    def store(self, name: str, kind: StoreKind, fmt: StoreFormat) -> Path:
        return self.folder(name) / f"{kind}.{EXTENSIONS[fmt]}"

    def password_file(self, name: str, kind: StoreKind) -> Path:
        return self.folder(name) / password_file_name(kind)

    def key_password_file(self, name: str) -> Path:
        """Where a generated key_password is kept (a `{generate: true}` key_password)."""
        return self.folder(name) / password_file_name(TLS_KEY)

    @property
    def gitignore(self) -> Path:
        return self.root / GITIGNORE

    @property
    def store_cache(self) -> Path:
        return self.root / STORE_CACHE


def temp_name(file_name: str, token: str) -> str:
    """A temporary file beside `file_name` while it is written: `.NAME.XXXXXXXX.tmp` (8 characters)."""
    return f".{file_name}.{token}.tmp"


def is_temp(name: str) -> bool:
    """Whether `name` is one of mtlsgen's temporary files (0.1 wrote mkstemp's 8 characters of [a-z0-9_])."""
    return bool(_TEMP_NAME.match(name))


_TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")


def file_mode(file_name: str) -> int:
    """Certificates and CRLs are public; keys, stores and passwords are for the owner only."""
    return PUBLIC_MODE if file_name.endswith((".crt", ".crl")) or file_name == GITIGNORE else SECRET_MODE


def store_file_name(kind: StoreKind, fmt: StoreFormat) -> str:
    return f"{kind}.{EXTENSIONS[fmt]}"


def password_file_name(kind: str) -> str:
    """Where a generated password is kept: beside its store, or beside tls.key."""
    return f"{kind}.password"


STORE_FILES: dict[str, tuple[StoreKind, StoreFormat]] = {
    store_file_name(kind, fmt): (kind, fmt) for kind in ("keystore", "truststore") for fmt in EXTENSIONS}


def leaf_files(entry: Entry) -> list[str]:
    names = [TLS_CRT, TLS_KEY, CA_CRT]
    for store in (entry.keystore, entry.truststore):
        if store is not None:
            names += [store_file_name(store.kind, fmt) for fmt in store.formats]
    return names


def password_files(entry: Entry) -> list[str]:
    """The generated-password files the entry keeps (only `{generate: true}` sources have one)."""
    names = [password_file_name(s.kind) for s in (entry.keystore, entry.truststore)
             if s is not None and s.password.source == "generate"]
    if entry.key_password is not None and entry.key_password.source == "generate":
        names.append(password_file_name(TLS_KEY))
    return names


# Files an entry may have had under an earlier spec; any of them the spec no longer asks for is removed.
OPTIONAL_LEAF_FILES = (*STORE_FILES, *(password_file_name(kind) for kind in ("keystore", "truststore", TLS_KEY)),
                       CA_CRL)  # a server's CRL file, while anything its clients' CAs issue can be revoked

# Every file name mtlsgen writes in an entry's folder: an orphan folder is one holding some of these,
# and pruning deletes only these (a file of the user's keeps the folder).
MANAGED_FILES = frozenset({TLS_CRT, TLS_KEY, *CA_FILES, CA_KEY_NEXT, *OPTIONAL_LEAF_FILES})
