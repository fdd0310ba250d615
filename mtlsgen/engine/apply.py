"""apply_plan(plan, state) carries a plan out: keys, certificates, files. It decides nothing and prints nothing.

Keys are generated first, in parallel threads (cryptography releases the GIL while it searches
for RSA primes), then certificates issuers first, then files, each written atomically.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from ..crypto.certs import issue_ca, issue_leaf, signed_by
from ..crypto.crl import issue_crl
from ..crypto.keys import PrivateKey, generate_key
from ..crypto.pem import certs_pem, crl_pem, key_pem
from ..crypto.stores import keystore_jks, keystore_p12, truststore_jks, truststore_p12
from ..errors import PlanError
from ..spec.entries import Entry, Password
from .changes import Action, Change, Plan
from .fsio import atomic_write, chmod, ensure_dir, remove_empty_dir, remove_file, sync_dir
from .layout import (
    CA_CRL,
    CA_CRT,
    CA_KEY,
    DIR_MODE,
    GITIGNORE,
    GITIGNORE_TEXT,
    STORE_FILES,
    TLS_CRT,
    TLS_KEY,
    Layout,
    file_mode,
)
from .secrets import new_password, resolve_password
from .state import State, anchor_of, issuer_chain

Progress = Callable[[str, int, int], None]  # (what, done, total)
_RSA_COST = {"rsa-4096": 3, "rsa-3072": 2, "rsa-2048": 1}  # ECDSA and Ed25519 keys cost ~0.1 ms


@dataclass(frozen=True)
class ApplyResult:
    changes: tuple[Change, ...]
    written: tuple[Path, ...]
    removed: tuple[Path, ...]


def apply_plan(plan: Plan, state: State, *, progress: Progress | None = None,
               workers: int | None = None) -> ApplyResult:
    """Make the files match `plan`; files not named by the plan are not touched."""
    if plan.blocked:
        first = plan.blocked[0]
        raise PlanError(f"{first.name}: {'; '.join(first.reasons)}")
    return _Executor(plan, state, progress, workers or os.cpu_count() or 2).run()


class _Executor:
    def __init__(self, plan: Plan, state: State, progress: Progress | None, workers: int) -> None:
        self.plan, self.state, self.spec = plan, state, plan.spec
        self.layout: Layout = state.layout
        self.progress = progress or (lambda what, done, total: None)
        self.workers = workers
        self.keys: dict[str, PrivateKey] = {}
        self.certs: dict[str, x509.Certificate] = {}
        self.passwords: dict[Path, str] = {}
        self.written: list[Path] = []
        self.removed: list[Path] = []

    def run(self) -> ApplyResult:
        pending = self.plan.pending
        if not pending:
            return ApplyResult((), (), ())
        ensure_dir(self.layout.root)
        # A new output folder gets its .gitignore with its first files; an existing one when the plan says.
        if not self.state.output_exists or any(GITIGNORE in c.files for c in pending if c.scope == "output"):
            self.write(self.layout.gitignore, GITIGNORE_TEXT)
        self.generate_keys([c for c in pending if c.new_key])
        self.issue()
        for change in pending:
            if change.action in (Action.REVOKE, Action.PRUNE):
                self.remove(self.layout.folder(change.name), change.remove)
            elif change.scope == "entry":
                self.write_entry(self.spec[change.name], change)
        for folder in {self.layout.root, *(path.parent for path in self.written)}:
            sync_dir(folder)  # makes the renames in it durable
        return ApplyResult(pending, tuple(self.written), tuple(self.removed))

    def remove(self, folder: Path, files: tuple[str, ...]) -> None:
        """Delete mtlsgen's files in `folder`, then the folder if nothing of the user's is left in it."""
        for name in files:
            remove_file(folder / name)
            self.removed.append(folder / name)
        if remove_empty_dir(folder):
            self.removed.append(folder)

    def generate_keys(self, changes: list[Change]) -> None:
        total = len(changes)
        self.progress("generating keys", 0, total)
        # Slowest first, so that the RSA-4096 keys do not wait behind the cheap ones.
        ordered = sorted(changes, key=lambda c: _RSA_COST.get(self.spec[c.name].key, 0), reverse=True)
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            futures = {pool.submit(generate_key, self.spec[c.name].key): c.name for c in ordered}
            for done, future in enumerate(as_completed(futures), start=1):
                self.keys[futures[future]] = future.result()
                self.progress("generating keys", done, total)

    def key_of(self, name: str) -> PrivateKey:
        key = self.keys.get(name) or self.state[name].key.value
        if key is None:  # the planner never lets this happen; a bug if it does
            raise AssertionError(f"no key for {name}")
        return key

    def issue(self) -> None:
        for entry in self.spec.entries:
            change = self.plan[entry.name]
            current = self.state[entry.name].cert
            if not change.new_cert:
                if current is not None:
                    self.certs[entry.name] = current
                continue
            public = self.key_of(entry.name).public_key()
            issuer_cert = self.certs[entry.issuer] if entry.issuer else None
            issuer_key = self.key_of(entry.issuer or entry.name)
            if entry.is_ca:
                cert = issue_ca(entry, public, issuer_cert=issuer_cert, issuer_key=issuer_key,
                                now=self.plan.now)
            else:
                assert issuer_cert is not None
                cert = issue_leaf(entry, public, issuer_cert=issuer_cert, issuer_key=issuer_key,
                                  now=self.plan.now, crl_url=self.spec.crl_url(entry.name))
            if not signed_by(cert, issuer_key.public_key()):
                raise PlanError(f"{entry.issuer or entry.name}'s key made a signature that does not verify; "
                                "its key file may be damaged; nothing was written")
            self.certs[entry.name] = cert

    def write(self, path: Path, data: bytes) -> None:
        atomic_write(path, data, mode=file_mode(path.name))
        self.written.append(path)

    def secret(self, source: Password, path: Path) -> str:
        """A password's value: from its source, or generated once and saved at `path` (0600)."""
        if path not in self.passwords:
            value = resolve_password(source, path)
            if value is None:
                value = new_password()
                self.write(path, (value + "\n").encode())
            self.passwords[path] = value
        return self.passwords[path]

    def write_entry(self, entry: Entry, change: Change) -> None:
        folder = self.layout.folder(entry.name)
        ensure_dir(folder)
        for name in change.chmod:
            chmod(folder / name, file_mode(name) if name else DIR_MODE)
        for name in change.remove:
            remove_file(folder / name)
            self.removed.append(folder / name)
        if entry.is_ca:
            self.write_ca(entry, change)
            return
        cert = self.certs[entry.name]
        intermediates, anchor = issuer_chain(self.spec, self.state, entry.name, self.certs.get)
        chain = [c for c in (*intermediates, anchor) if c is not None]
        for name in change.files:
            path = folder / name
            if name == TLS_CRT:
                self.write(path, certs_pem([cert, *chain[:-1]]))  # the anchor stays out of tls.crt
            elif name == TLS_KEY:
                password = (self.secret(entry.key_password, self.layout.key_password_file(entry.name))
                            if entry.key_password else None)
                self.write(path, key_pem(self.key_of(entry.name), password))
            elif name == CA_CRT:
                self.write(path, certs_pem(chain[-1:]))
            else:
                self.write(path, self.store_bytes(entry, name, [cert, *chain]))

    def write_ca(self, entry: Entry, change: Change) -> None:
        folder = self.layout.folder(entry.name)
        # The key first: a crash between the two leaves a key without a certificate, which the next
        # apply completes, rather than a certificate without its key, which blocks until --replace.
        for name in sorted(change.files, key=lambda name: name != CA_KEY):
            if name == CA_CRT:
                self.write(folder / name, certs_pem([self.certs[entry.name]]))
            elif name == CA_KEY:
                self.write(folder / name, key_pem(self.key_of(entry.name)))
            elif name == CA_CRL:
                self.write(folder / name, crl_pem(self.crl(entry, change)))

    def store_bytes(self, entry: Entry, file_name: str, chain: list[x509.Certificate]) -> bytes:
        kind, fmt = STORE_FILES[file_name]
        store = entry.keystore if kind == "keystore" else entry.truststore
        assert store is not None
        password = self.secret(store.password, self.layout.password_file(entry.name, store.kind))
        if kind == "keystore":
            key = self.key_of(entry.name)
            if fmt == "pkcs12":
                return keystore_p12(key, chain, store.alias, password, store.profile)
            return keystore_jks(key, chain, store.alias, password)
        trusted = [(root, anchor) for root in self.spec.trusted_roots(entry.name)
                   if (anchor := anchor_of(self.state, root, self.certs.get)) is not None]
        if fmt == "pkcs12":
            return truststore_p12(trusted, password, store.profile)
        return truststore_jks(trusted, password)

    def crl(self, entry: Entry, change: Change) -> x509.CertificateRevocationList:
        return issue_crl(self.certs[entry.name], self.key_of(entry.name), number=change.crl_number,
                         revoked=change.revoked_serials, now=self.plan.now, validity=entry.crl_validity)
