"""read_state(spec) → what is on disk for every entry, parsed. Reads only, and decides nothing.

An unreadable or damaged file of the output is a state (`Loaded.problem`), not an error; the planner
decides what it means. Errors raised here are about reading itself: a password source that gives
no password (SecretError), an output folder that is a file or cannot be listed (OutputError).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Generic, TypeVar

from cryptography import x509

from ..crypto.keys import PrivateKey
from ..crypto.pem import Unreadable, read_certs, read_crl, read_key
from ..crypto.stores import StoreContent, read_jks, read_p12
from ..errors import OutputError
from ..spec.entries import Entry, Spec, StoreSpec
from .layout import GITIGNORE, MANAGED_FILES, Layout, store_file_name
from .secrets import resolve_password

T = TypeVar("T")


@dataclass(frozen=True)
class Loaded(Generic[T]):
    """A parsed file, or why there is none: `missing` or `unreadable: …`."""

    value: T | None = None
    problem: str | None = None

    @property
    def missing(self) -> bool:
        return self.problem == "missing"


@dataclass(frozen=True)
class StoreState:
    spec: StoreSpec
    fmt: str
    file_name: str
    content: Loaded[StoreContent]
    password: str | None = field(default=None, repr=False)  # None: to be generated


@dataclass(frozen=True)
class EntryState:
    name: str
    folder_exists: bool
    key: Loaded[PrivateKey] = Loaded(problem="missing")
    key_encrypted: bool = False
    certs: Loaded[tuple[x509.Certificate, ...]] = Loaded(problem="missing")
    bundle: Loaded[tuple[x509.Certificate, ...]] = Loaded(problem="missing")
    crl: Loaded[x509.CertificateRevocationList] = Loaded(problem="missing")
    stores: tuple[StoreState, ...] = ()
    key_password: str | None = field(default=None, repr=False)  # what opens tls.key as it is now
    wanted_key_password: str | None = field(default=None, repr=False)  # the spec's; None: to be generated
    modes: Mapping[str, int] = field(default_factory=dict)  # "" is the folder itself
    imported: bool = False

    @property
    def above(self) -> tuple[x509.Certificate, ...]:
        """The issuers an imported CA's certificate file carries after the CA itself."""
        return self.certs.value[1:] if self.imported and self.certs.value else ()

    @property
    def cert(self) -> x509.Certificate | None:
        return self.certs.value[0] if self.certs.value else None


@dataclass(frozen=True)
class State:
    layout: Layout
    entries: Mapping[str, EntryState]
    orphans: Mapping[str, tuple[str, ...]]  # folder name → the files in it (mtlsgen's and others)
    output_exists: bool
    gitignore: bytes | None = None
    output_mode: int | None = None
    foreign: tuple[str, ...] = ()  # what the output folder holds that is not mtlsgen's

    def __getitem__(self, name: str) -> EntryState:
        return self.entries[name]


CertOf = Callable[[str], "x509.Certificate | None"]


def anchor_of(state: State, root: str, cert_of: CertOf) -> x509.Certificate | None:
    """The trust anchor a root entry stands for: its certificate, or, for an imported CA whose file
    carries its own issuers (a corporate sub-CA, then its root), the last certificate of that file."""
    above = state[root].above
    return above[-1] if above else cert_of(root)


def issuer_chain(spec: Spec, state: State, name: str,
                 cert_of: CertOf) -> tuple[list[x509.Certificate | None], x509.Certificate | None]:
    """What follows a leaf in tls.crt (its issuers up to, not including, the trust anchor), and the
    anchor itself; `cert_of` gives each CA's certificate (None for one about to be issued)."""
    names = [e.name for e in spec.chain(name)]
    root = names[-1]
    top: list[x509.Certificate | None] = [*(cert_of(n) for n in names), *state[root].above]
    return top[:-1], top[-1]


def _load(path: Path, parse: Callable[[bytes], T]) -> Loaded[T]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Loaded(problem="missing")
    except OSError as exc:
        return Loaded(problem=f"unreadable: {exc.strerror}")
    if not data:
        return Loaded(problem="unreadable: empty file")
    try:
        return Loaded(parse(data))
    except Unreadable as exc:
        return Loaded(problem=f"unreadable: {exc}")


def _read_stores(entry: Entry, layout: Layout) -> tuple[StoreState, ...]:
    out = []
    for store in (entry.keystore, entry.truststore):
        if store is None:
            continue
        password = resolve_password(store.password, layout.password_file(entry.name, store.kind))
        for fmt in store.formats:
            path = layout.store(entry.name, store.kind, fmt)
            reader = read_p12 if fmt == "pkcs12" else read_jks
            if password is None:
                content: Loaded[StoreContent] = Loaded(problem="missing") if not path.exists() else \
                    Loaded(problem="unreadable: its generated password file is missing")
            else:
                content = _load(path, lambda data, r=reader, p=password: r(data, p))  # type: ignore[misc]
            out.append(StoreState(store, fmt, store_file_name(store.kind, fmt), content, password))
    return tuple(out)


def read_entry(entry: Entry, layout: Layout) -> EntryState:
    state = _read_entry(entry, layout)
    if entry.imported is None and state.folder_exists:
        return replace(state, modes=_modes(layout.folder(entry.name)))
    return state


def _read_entry(entry: Entry, layout: Layout) -> EntryState:
    if entry.imported is not None:
        imp = entry.imported
        password = resolve_password(imp.password, None) if imp.password else None
        return EntryState(entry.name, True, imported=True, key=_load(imp.key, lambda data: read_key(
                              data, password, password_field="ca.import.password")[0]),
                          certs=_load(imp.cert, read_certs),
                          crl=_load(layout.crl(entry.name), read_crl))
    folder = layout.folder(entry.name)
    certs = _load(layout.cert(entry.name, is_ca=entry.is_ca), read_certs)
    if entry.revoked:  # only its serial matters now: no key, no password
        return EntryState(entry.name, folder.is_dir(), certs=certs)
    key_password = None
    if entry.key_password is not None:
        key_password = resolve_password(entry.key_password, layout.key_password_file(entry.name))
    key, encrypted, opened_with = _read_key(entry, layout, key_password)
    if entry.is_ca:
        return EntryState(entry.name, folder.is_dir(), key, encrypted, certs,
                          crl=_load(layout.crl(entry.name), read_crl))
    return EntryState(entry.name, folder.is_dir(), key, encrypted, certs,
                      bundle=_load(layout.ca_bundle(entry.name), read_certs),
                      stores=_read_stores(entry, layout), key_password=opened_with,
                      wanted_key_password=key_password)


def _read_key(entry: Entry, layout: Layout,
              password: str | None) -> tuple[Loaded[PrivateKey], bool, str | None]:
    """The entry's private key, whether its file is encrypted, and the password that opens it now."""
    path = layout.key(entry.name, is_ca=entry.is_ca)
    loaded = _load(path, lambda data: read_key(data, password))
    if loaded.value is not None:
        key, encrypted = loaded.value
        return Loaded(key), encrypted, password if encrypted else None
    # A key_password taken out of the spec, or changed, must not cost the key: the password mtlsgen
    # generated for it earlier may still be beside it.
    old = _load(layout.key_password_file(entry.name), lambda data: data.decode(errors="replace").strip()).value
    if old and old != password:
        retry = _load(path, lambda data: read_key(data, old))
        if retry.value is not None:
            return Loaded(retry.value[0]), True, old
    return Loaded(problem=loaded.problem), False, None


def read_state(spec: Spec) -> State:
    """Everything the planner needs to know about the output folder, read without writing."""
    layout = Layout(spec.output)
    entries = {e.name: read_entry(e, layout) for e in spec.entries}
    orphans: dict[str, tuple[str, ...]] = {}
    if layout.root.exists() and not layout.root.is_dir():
        raise OutputError(f"the output folder {layout.root} is a file; set `output:` to a folder")
    try:
        folders = sorted(layout.root.iterdir()) if layout.root.is_dir() else []
    except OSError as exc:
        raise OutputError(f"cannot read the output folder {layout.root}: {exc.strerror}") from exc
    foreign = []
    for folder in folders:
        if folder.name in entries or folder.name == GITIGNORE:
            continue
        if not folder.is_dir() or folder.is_symlink():
            foreign.append(folder.name)
            continue
        try:
            files = tuple(sorted(p.name for p in folder.iterdir()))
        except OSError:
            continue
        # Only a folder holding files mtlsgen writes is one of its old entries.
        if MANAGED_FILES.intersection(files):
            orphans[folder.name] = files
        else:
            foreign.append(folder.name)
    gitignore = _load(layout.gitignore, lambda data: data).value
    modes = _modes(layout.root)
    return State(layout, entries, orphans, layout.root.is_dir(), gitignore, modes.get(""), tuple(foreign))


def _modes(folder: Path) -> dict[str, int]:
    """Permission bits of the folder ("") and of each file in it, to repair what a chmod undid."""
    try:
        modes = {"": folder.stat().st_mode & 0o777}
        modes.update({p.name: p.stat().st_mode & 0o777 for p in folder.iterdir() if p.is_file()})
    except OSError:
        return {}
    return modes
