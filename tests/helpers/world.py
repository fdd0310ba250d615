"""In-memory worlds for the pure planner tests: the State an apply would leave, built without a disk.

Keys and certificates come from mtlsgen's crypto layer (the same profiles apply writes); stores are
described by what they hold (StoreContent), as read_state would report them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from cryptography import x509

from mtlsgen.crypto.certs import issue_ca, issue_leaf
from mtlsgen.crypto.crl import issue_crl
from mtlsgen.crypto.keys import PrivateKey, generate_key, public_der
from mtlsgen.crypto.pem import fingerprint
from mtlsgen.crypto.stores import StoreContent
from mtlsgen.engine.layout import (
    CA_CRL,
    CA_CRT,
    CA_KEY,
    DIR_MODE,
    GITIGNORE_TEXT,
    Layout,
    file_mode,
    leaf_files,
    password_files,
)
from mtlsgen.engine.loaded import Loaded
from mtlsgen.engine.state import EntryState, State, StoreState
from mtlsgen.spec.entries import Entry, Spec
from mtlsgen.spec.load import load_spec_text

PASSWORD = "generated-password-in-memory"
MISSING: Loaded[object] = Loaded(problem="missing")


def spec_of(text: str) -> Spec:
    """A spec from text, as if it sat in /nonexistent/pki.yaml (nothing is read)."""
    return load_spec_text(text, "/nonexistent/project/pki.yaml")


def fresh(spec: Spec) -> State:
    """Nothing on disk yet: what read_state reports for an empty folder (generated passwords not made yet)."""
    entries = {}
    for entry in spec.entries:
        stores = tuple(StoreState(store, fmt, f"{store.kind}.{'p12' if fmt == 'pkcs12' else 'jks'}",
                                  Loaded(problem="missing"), None)
                       for store in (entry.keystore, entry.truststore) if store is not None for fmt in store.formats)
        entries[entry.name] = EntryState(entry.name, False, stores=stores)
    return State(Layout(spec.output), entries, {}, False)


class World:
    """What apply of `spec` at `now` leaves on disk, as a State; `keys`/`certs` are kept for tests to reuse."""

    def __init__(self, spec: Spec, now: datetime) -> None:
        self.spec, self.now = spec, now
        self.keys: dict[str, PrivateKey] = {}
        self.certs: dict[str, x509.Certificate] = {}
        for entry in spec.entries:
            if not entry.revoked:
                self.keys[entry.name] = generate_key(entry.key)
                self.certs[entry.name] = self.issue(entry)

    def issue(self, entry: Entry, *, key: PrivateKey | None = None, signer: PrivateKey | None = None,
              now: datetime | None = None) -> x509.Certificate:
        """A certificate for `entry` as apply would issue it (optionally with another key or signer)."""
        public = (key or self.keys[entry.name]).public_key()
        issuer_key = signer or self.keys[entry.issuer or entry.name]
        issuer_cert = self.certs[entry.issuer] if entry.issuer else None
        if entry.is_ca:
            return issue_ca(entry, public, issuer_cert=issuer_cert, issuer_key=issuer_key, now=now or self.now)
        assert issuer_cert is not None
        return issue_leaf(entry, public, issuer_cert=issuer_cert, issuer_key=issuer_key, now=now or self.now,
                          crl_url=self.spec.crl_url(entry.name))

    def chain(self, name: str) -> list[x509.Certificate]:
        return [self.certs[e.name] for e in self.spec.chain(name)]

    def revocation_active(self, root: str) -> bool:
        """docs/spec.md: a `crl:` or a revoked entry anywhere under the root makes every CA of it publish."""
        tree = [e for e in self.spec.entries if self.spec.root_of(e.name).name == root]
        return any(e.crl is not None or e.revoked for e in tree)

    def crl(self, ca: Entry) -> x509.CertificateRevocationList:
        return issue_crl(self.certs[ca.name], self.keys[ca.name], number=1, revoked=(), now=self.now,
                         validity=ca.crl_validity)

    def entry_state(self, entry: Entry) -> EntryState:
        if entry.revoked:
            return EntryState(entry.name, False)
        key, cert = self.keys[entry.name], self.certs[entry.name]
        if entry.is_ca:
            crl: Loaded[x509.CertificateRevocationList] = Loaded(problem="missing")
            if self.revocation_active(self.spec.root_of(entry.name).name):
                crl = Loaded(self.crl(entry))
            modes = {"": DIR_MODE, **{f: file_mode(f) for f in (CA_CRT, CA_KEY, CA_CRL) if f != CA_CRL or crl.value}}
            return EntryState(entry.name, True, Loaded(key), False, Loaded((cert,)), crl=crl, modes=modes)
        chain = self.chain(entry.name)
        stores = []
        for store in (entry.keystore, entry.truststore):
            if store is None:
                continue
            for fmt in store.formats:
                profile = store.profile if fmt == "pkcs12" else None
                if store.kind == "keystore":
                    content = StoreContent((store.alias,), public_der(key.public_key()),
                                           tuple(fingerprint(c) for c in [cert, *chain]), frozenset(), profile)
                else:
                    trusted = frozenset((r, fingerprint(self.certs[r])) for r in self.spec.trusted_roots(entry.name))
                    content = StoreContent((), None, (), trusted, profile)
                stores.append(StoreState(store, fmt, f"{store.kind}.{'p12' if fmt == 'pkcs12' else 'jks'}",
                                         Loaded(content), PASSWORD))
        files = [*leaf_files(entry), *password_files(entry)]
        bundle: Loaded[tuple[x509.CertificateRevocationList, ...]] = Loaded(problem="missing")
        if entry.role == "server":
            cas = [ca for root in self.spec.trusted_roots(entry.name) if self.revocation_active(root)
                   for ca in self.spec.entries if ca.is_ca and self.spec.root_of(ca.name).name == root]
            if cas:
                bundle = Loaded(tuple(self.crl(ca) for ca in cas))
                files.append("ca.crl")
        return EntryState(entry.name, True, Loaded(key), False, Loaded((cert, *chain[:-1])),
                          bundle=Loaded((chain[-1],)), stores=tuple(stores), crl_bundle=bundle,
                          modes={"": DIR_MODE, **{f: file_mode(f) for f in files}})

    def state(self) -> State:
        return State(Layout(self.spec.output), {e.name: self.entry_state(e) for e in self.spec.entries}, {},
                     True, GITIGNORE_TEXT, DIR_MODE)


def with_entry(state: State, name: str, **changes: object) -> State:
    """`state` with one entry's facts replaced (dataclasses.replace on its EntryState)."""
    return replace(state, entries={**state.entries, name: replace(state[name], **changes)})  # type: ignore[arg-type]
