"""read_state(spec) → what is on disk for every entry, parsed. Reads only, and decides nothing.

An unreadable or damaged file of the output is a state (`Loaded.problem`), not an error; the planner
decides what it means. Files of the output are read only when they are regular files, never through
a symbolic link, and up to a size cap; links and special files where mtlsgen keeps its own files are
reported (`State.unsafe`), as are the temporary files an interrupted run left (`temps`). A store is
looked up in the store cache (store_cache.py) before it is decrypted; `State.store_cache` says what
the cache should now hold, which the planner compares, never trusts. Errors raised
here are about reading itself: a password source that gives no password (SecretError), an output
folder that is a file or cannot be listed (OutputError).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from cryptography import x509

from ..crypto.keys import PrivateKey
from ..crypto.pem import read_certs, read_crl, read_crls, read_key
from ..crypto.stores import StoreContent, read_jks, read_p12
from ..errors import OutputError, SecretError
from ..spec.entries import ROOT, Entry, Spec, StoreSpec
from .layout import (
    CA_KEY_NEXT,
    GITIGNORE,
    MANAGED_FILES,
    STORE_CACHE,
    Generation,
    Layout,
    generation_files,
    is_temp,
    store_file_name,
)
from .listing import listing
from .loaded import Loaded, load
from .secrets import resolve_password
from .shared_folder import read_shared_key, shared_folder_problems
from .store_cache import CacheState, StoreCache

T = TypeVar("T")


MISSING_CRLS: Loaded[tuple[x509.CertificateRevocationList, ...]] = Loaded(problem="missing")


@dataclass(frozen=True)
class GenerationState:
    """A CA generation beside the current one: incoming (next.*), outgoing (previous.*) or retired (retired.*)."""

    certs: Loaded[tuple[x509.Certificate, ...]] = Loaded(problem="missing")
    key: Loaded[PrivateKey] = Loaded(problem="missing")
    crl: Loaded[x509.CertificateRevocationList] = Loaded(problem="missing")

    @property
    def cert(self) -> x509.Certificate | None:
        return self.certs.value[0] if self.certs.value else None

    @property
    def present(self) -> bool:
        """Whether any of its files exists, readable or not."""
        return not (self.certs.missing and self.key.missing and self.crl.missing)


NO_GENERATION = GenerationState()


@dataclass(frozen=True)
class StoreState:
    spec: StoreSpec
    fmt: str
    file_name: str
    content: Loaded[StoreContent]
    password: str | None = field(default=None, repr=False)  # None: to be generated
    # It does not open with the spec's password but with the one mtlsgen generated for it before:
    # the spec changed the password's source.
    opens_with_generated: bool = False


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
    next_key: Loaded[PrivateKey] = Loaded(problem="missing")  # a CA's new key staged by an interrupted re-key
    temps: tuple[str, ...] = ()  # temporary files an interrupted apply left in the folder
    crl_bundle: Loaded[tuple[x509.CertificateRevocationList, ...]] = Loaded(problem="missing")  # a server's ca.crl
    incoming: GenerationState = NO_GENERATION  # a CA's next.* while it rotates
    outgoing: GenerationState = NO_GENERATION  # a CA's previous.* after the move
    retired: GenerationState = NO_GENERATION  # a CA's retired.* once its rotation finished

    def generation(self, which: Generation) -> GenerationState:
        return {"next": self.incoming, "previous": self.outgoing, "retired": self.retired}[which]

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
    temps: tuple[str, ...] = ()  # temporary files an interrupted apply left in the output folder
    gitignore_mode: int | None = None
    unsafe: tuple[tuple[str, str], ...] = ()  # (path in the output, what it is) where mtlsgen keeps its own
    orphan_certs: Mapping[str, x509.Certificate] = field(default_factory=dict)  # an orphan's tls.crt, if readable
    store_cache: CacheState = field(default_factory=CacheState)

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


def _read_stores(entry: Entry, layout: Layout, cache: StoreCache) -> tuple[StoreState, ...]:
    out = []
    for store in (entry.keystore, entry.truststore):
        if store is None:
            continue
        password = resolve_password(store.password, layout.password_file(entry.name, store.kind))
        for fmt in store.formats:
            path = layout.store(entry.name, store.kind, fmt)
            reader = read_p12 if fmt == "pkcs12" else read_jks
            if password is None:
                content: Loaded[StoreContent] = Loaded(problem="missing") if not os.path.lexists(path) else \
                    Loaded(problem="unreadable: its generated password file is missing")
            else:
                content = load(path, _cached(cache, f"{entry.name}/{path.name}", reader, password,
                                              store.password.source == "generate"))
            generated = False
            if content.value is None and not content.missing and store.password.source != "generate":
                old = load(layout.password_file(entry.name, store.kind), lambda data: data.decode().strip())
                if old.value and old.value != password:
                    retry = load(path, lambda data, r=reader, p=old.value: r(data, p))  # type: ignore[misc]
                    generated = retry.value is not None
            out.append(StoreState(store, fmt, store_file_name(store.kind, fmt), content, password, generated))
    return tuple(out)


def _cached(cache: StoreCache, where: str, reader: Callable[[bytes, str], StoreContent], password: str,
            generated: bool) -> Callable[[bytes], StoreContent]:
    """`reader` behind the store cache: what a record vouches for these bytes and this password holds,
    else the store decrypted (and remembered). A store that does not open is not remembered."""
    def read(data: bytes) -> StoreContent:
        hit = cache.lookup(where, data, password, generated)
        if hit is not None:
            return hit
        content = reader(data, password)
        cache.remember(where, data, password, generated, content)
        return content
    return read


def read_entry(entry: Entry, layout: Layout, cache: StoreCache) -> EntryState:
    if entry.imported is None and os.path.islink(layout.folder(entry.name)):
        return EntryState(entry.name, False)  # never read through it; State.unsafe names it
    state = _read_entry(entry, layout, cache)
    if entry.imported is None and state.folder_exists:
        held = listing(layout.folder(entry.name))
        return replace(state, modes=held.modes, temps=held.temps)
    return state


def _read_entry(entry: Entry, layout: Layout, cache: StoreCache) -> EntryState:
    if entry.imported is not None:
        imp = entry.imported
        password = resolve_password(imp.password, None) if imp.password else None
        return EntryState(entry.name, True, imported=True, key=load(imp.key, lambda data: read_key(
                              data, password, password_field="ca.import.password")[0], own=False),
                          certs=load(imp.cert, read_certs, own=False),
                          crl=load(layout.crl(entry.name), read_crl))
    folder = layout.folder(entry.name)
    certs = load(layout.cert(entry.name, is_ca=entry.is_ca), read_certs)
    if entry.revoked:  # only its serial matters now: no key, no password
        return EntryState(entry.name, folder.is_dir(), certs=certs)
    key_password = None
    if entry.key_password is not None:
        key_password = resolve_password(entry.key_password, layout.key_password_file(entry.name))
    if entry.shared is not None:
        key_password = resolve_password(entry.shared.passphrase, None)
        key, encrypted, opened_with = read_shared_key(entry.shared, layout, key_password)
    else:
        key, encrypted, opened_with = _read_key(entry, layout, key_password)
    if entry.is_ca:
        staged = load(layout.folder(entry.name) / CA_KEY_NEXT, lambda data: read_key(data, key_password)[0])
        return EntryState(entry.name, folder.is_dir(), key, encrypted, certs,
                          crl=load(layout.crl(entry.name), read_crl), next_key=staged,
                          key_password=opened_with, wanted_key_password=key_password,
                          incoming=_read_generation(entry, folder, "next", key_password),
                          outgoing=_read_generation(entry, folder, "previous", key_password),
                          retired=_read_generation(entry, folder, "retired", key_password))
    return EntryState(entry.name, folder.is_dir(), key, encrypted, certs,
                      bundle=load(layout.ca_bundle(entry.name), read_certs),
                      stores=_read_stores(entry, layout, cache), key_password=opened_with,
                      wanted_key_password=key_password,
                      crl_bundle=load(layout.crl(entry.name), read_crls) if entry.role == "server" else MISSING_CRLS)


def _read_generation(entry: Entry, folder: Path, which: Generation, password: str | None) -> GenerationState:
    """A rotating CA's next.*, previous.* or retired.*. A shared CA's key that its passphrase does not
    open is an error, as its ca.key's is (docs: changing the passphrase re-encrypts every key there)."""
    crt, key, crl = generation_files(which)
    field = "ca.shared.passphrase" if entry.shared is not None else "key_password"
    loaded_key = load(folder / key, lambda data: read_key(data, password, password_field=field)[0])
    if entry.shared is not None and loaded_key.problem == f"unreadable: does not open with {field}":
        raise SecretError(f"{entry.shared.passphrase.where}: does not open {entry.shared.label}/{key} "
                          "(wrong passphrase?)")
    return GenerationState(load(folder / crt, read_certs), loaded_key, load(folder / crl, read_crl))


def _read_key(entry: Entry, layout: Layout,
              password: str | None) -> tuple[Loaded[PrivateKey], bool, str | None]:
    """The entry's private key, whether its file is encrypted, and the password that opens it now."""
    path = layout.key(entry.name, is_ca=entry.is_ca)
    loaded = load(path, lambda data: read_key(data, password))
    if loaded.value is not None:
        key, encrypted = loaded.value
        return Loaded(key), encrypted, password if encrypted else None
    # A key_password taken out of the spec, or changed, must not cost the key: the password mtlsgen
    # generated for it earlier may still be beside it.
    old = load(layout.key_password_file(entry.name), lambda data: data.decode(errors="replace").strip()).value
    if old and old != password:
        retry = load(path, lambda data: read_key(data, old))
        if retry.value is not None:
            return Loaded(retry.value[0]), True, old
    return Loaded(problem=loaded.problem), False, None


def read_state(spec: Spec) -> State:
    """Everything the planner needs to know about the output folder, read without writing."""
    layout = Layout.of(spec)
    root = layout.root
    try:
        is_dir = stat.S_ISDIR(os.stat(root).st_mode)  # the spec's `output:` may itself be a link the user made
    except FileNotFoundError:
        is_dir = False
        if os.path.islink(root):
            raise OutputError(f"the output folder {root} is a link to nothing; point `output:` at a folder") from None
    except OSError as exc:
        raise OutputError(f"the output folder {root} cannot be used: {exc.strerror}") from exc
    if not is_dir and os.path.lexists(root):
        raise OutputError(f"the output folder {root} is a file; set `output:` to a folder")
    shared_unsafe = shared_folder_problems(spec, spec.shared, root) if spec.shared is not None else []
    cache = StoreCache(layout.store_cache)
    entries = {e.name: read_entry(e, layout, cache) for e in spec.entries}
    if not is_dir:
        return State(layout, entries, {}, False, unsafe=tuple(shared_unsafe), store_cache=cache.state())
    top = listing(root)
    orphans: dict[str, tuple[str, ...]] = {}
    orphan_certs: dict[str, x509.Certificate] = {}
    foreign: list[str] = []
    unsafe = [(name, what) for name, what in top.unsafe if name == GITIGNORE]
    if top.kinds.get(STORE_CACHE) == "folder":  # a link or special file there is replaced; a folder cannot be
        unsafe.append((STORE_CACHE, "a folder"))
    for name, kind in sorted(top.kinds.items()):
        if name in (GITIGNORE, STORE_CACHE) or is_temp(name):
            continue
        if name == ROOT and spec.shared is not None:
            continue  # the root lives in the shared folder; a CA left here was refused above
        if name in entries:
            if kind != "folder" and spec[name].imported is None:
                unsafe.append((name, kind))
            continue
        if kind != "folder":
            foreign.append(name)
            continue
        files = tuple(sorted(listing(root / name).kinds))
        # Only a folder holding files mtlsgen writes (or its temporary files) is one of its old entries.
        if MANAGED_FILES.intersection(files) or any(is_temp(f) for f in files):
            orphans[name] = files
            cert = load(layout.cert(name, is_ca=False), read_certs).value
            if cert:
                orphan_certs[name] = cert[0]
        else:
            foreign.append(name)
    for name in entries:
        if spec[name].imported is None and spec[name].shared is None and top.kinds.get(name) == "folder":
            unsafe += [(f"{name}/{file}", what) for file, what in listing(root / name).unsafe]
    unsafe += shared_unsafe
    gitignore = load(layout.gitignore, lambda data: data).value
    # An output folder with nothing in it is a new one: the first apply makes it whole.
    return State(layout, entries, orphans, bool(top.kinds), gitignore, top.modes.get(""), tuple(foreign),
                 top.temps, top.modes.get(GITIGNORE), tuple(unsafe), orphan_certs, cache.state())
