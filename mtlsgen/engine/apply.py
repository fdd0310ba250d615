"""apply_plan(plan) carries a plan out: keys, certificates, files. It decides nothing and prints nothing.

Everything it writes, chmods or removes is named by the plan's changes, and everything it needs
(kept keys and certificates, chains, trusted roots, passwords, CRL contents, the time) comes with
them: it reads no file, no password source and no clock. Keys are generated first, in parallel
threads (cryptography releases the GIL while it searches for RSA primes), then certificates issuers
first, then files, each written atomically.
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
from ..errors import BlockedError, DamagedKeyError
from .changes import Action, CertRef, Change, Plan
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
from .secrets import new_password

Progress = Callable[[str, int, int], None]  # (what, done, total)
_RSA_COST = {"rsa-4096": 3, "rsa-3072": 2, "rsa-2048": 1}  # ECDSA and Ed25519 keys cost ~0.1 ms


@dataclass(frozen=True)
class ApplyResult:
    changes: tuple[Change, ...]
    written: tuple[Path, ...]
    removed: tuple[Path, ...]


def apply_plan(plan: Plan, *, progress: Progress | None = None, workers: int | None = None) -> ApplyResult:
    """Make the files match `plan`; files not named by the plan are not touched.

    A plan with a blocked change is refused whole (BlockedError): carrying out the rest would leave
    a folder that is neither the old state nor the planned one.
    """
    if plan.blocked:
        name = plan.blocked[0].name
        raise BlockedError(f"{name} is blocked: its key is never replaced implicitly; apply --replace {name} "
                           "makes a new one and reissues everything under it; nothing was written")
    return _Executor(plan, progress, workers or os.cpu_count() or 2).run()


class _Executor:
    def __init__(self, plan: Plan, progress: Progress | None, workers: int) -> None:
        self.plan, self.spec = plan, plan.spec
        self.layout = Layout(plan.spec.output)
        self.progress = progress or (lambda what, done, total: None)
        self.workers = workers
        self.keys: dict[str, PrivateKey] = {}
        self.certs: dict[str, x509.Certificate] = {}
        self.passwords: dict[tuple[str, str], str] = {}
        self.written: list[Path] = []
        self.removed: list[Path] = []

    def run(self) -> ApplyResult:
        pending = self.plan.pending
        if not pending:
            return ApplyResult((), (), ())
        for change in self.plan.changes:  # what is kept: every entry's key and certificate on disk
            if change.materials.key is not None and not change.new_key:
                self.keys[change.name] = change.materials.key
            if change.materials.cert is not None and not change.new_cert:
                self.certs[change.name] = change.materials.cert
        ensure_dir(self.layout.root)
        self.generate_keys([c for c in pending if c.new_key])
        self.issue([c for c in self.plan.changes if c.new_cert])
        for change in pending:
            if change.scope == "output":
                self.write_output(change)
            elif change.scope == "orphan" or change.action is Action.REVOKE:
                self.remove(self.layout.folder(change.name), change.remove)
            else:
                self.write_entry(change)
        for folder in {self.layout.root, *(path.parent for path in self.written)}:
            sync_dir(folder)  # makes the renames in it durable
        return ApplyResult(pending, tuple(self.written), tuple(self.removed))

    def write_output(self, change: Change) -> None:
        if "" in change.chmod:
            chmod(self.layout.root, DIR_MODE)
        if GITIGNORE in change.files:
            self.write(self.layout.gitignore, GITIGNORE_TEXT)

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

    def issue(self, changes: list[Change]) -> None:
        """Issue the planned certificates, issuers first (the plan lists entries in that order)."""
        for change in changes:
            entry = self.spec[change.name]
            public = self.keys[entry.name].public_key()
            issuer_cert = self.certs[entry.issuer] if entry.issuer else None
            issuer_key = self.keys[entry.issuer or entry.name]
            if entry.is_ca:
                cert = issue_ca(entry, public, issuer_cert=issuer_cert, issuer_key=issuer_key, now=self.plan.now)
            else:
                assert issuer_cert is not None
                cert = issue_leaf(entry, public, issuer_cert=issuer_cert, issuer_key=issuer_key,
                                  now=self.plan.now, crl_url=self.spec.crl_url(entry.name))
            if not signed_by(cert, issuer_key.public_key()):
                raise DamagedKeyError(f"{entry.issuer or entry.name}'s key made a signature that does not verify; "
                                      "its key file may be damaged; nothing was written")
            self.certs[entry.name] = cert

    def cert(self, ref: CertRef) -> x509.Certificate:
        if ref.cert is not None:
            return ref.cert
        assert ref.entry is not None
        return self.certs[ref.entry]

    def write(self, path: Path, data: bytes) -> None:
        atomic_write(path, data, mode=file_mode(path.name))
        self.written.append(path)

    def secret(self, change: Change, purpose: str) -> str:
        """A password's value as planned; one the plan says to generate is made once and saved."""
        key = (change.name, purpose)
        if key not in self.passwords:
            planned = change.materials.secret(purpose)
            value = planned.value
            if value is None:
                assert planned.file is not None and planned.file in change.files
                value = new_password()
                self.write(self.layout.folder(change.name) / planned.file, (value + "\n").encode())
            self.passwords[key] = value
        return self.passwords[key]

    def write_entry(self, change: Change) -> None:
        entry = self.spec[change.name]
        folder = self.layout.folder(entry.name)
        ensure_dir(folder)
        for name in change.chmod:
            chmod(folder / name, file_mode(name) if name else DIR_MODE)
        for name in change.remove:
            remove_file(folder / name)
            self.removed.append(folder / name)
        if entry.is_ca:
            self.write_ca(change)
            return
        cert = self.certs[entry.name]
        chain = [self.cert(ref) for ref in change.materials.chain]
        anchor = change.materials.anchor
        assert anchor is not None
        for name in change.files:
            path = folder / name
            if name == TLS_CRT:
                self.write(path, certs_pem([cert, *chain]))  # the anchor stays out of tls.crt
            elif name == TLS_KEY:
                password = self.secret(change, TLS_KEY) if entry.key_password else None
                self.write(path, key_pem(self.keys[entry.name], password))
            elif name == CA_CRT:
                self.write(path, certs_pem([self.cert(anchor)]))
            elif name in STORE_FILES:
                self.write(path, self.store_bytes(change, name, [cert, *chain, self.cert(anchor)]))
            # password files are written by `secret` when a file that needs them is

    def write_ca(self, change: Change) -> None:
        folder = self.layout.folder(change.name)
        # The key first: a crash between the two leaves a key without a certificate, which the next
        # apply completes, rather than a certificate without its key, which blocks until --replace.
        for name in sorted(change.files, key=lambda name: name != CA_KEY):
            if name == CA_CRT:
                self.write(folder / name, certs_pem([self.certs[change.name]]))
            elif name == CA_KEY:
                self.write(folder / name, key_pem(self.keys[change.name]))
            elif name == CA_CRL:
                content = change.materials.crl
                assert content is not None
                self.write(folder / name, crl_pem(issue_crl(
                    self.certs[change.name], self.keys[change.name], number=content.number,
                    revoked=content.revoked, now=self.plan.now, validity=content.validity)))

    def store_bytes(self, change: Change, file_name: str, chain: list[x509.Certificate]) -> bytes:
        kind, fmt = STORE_FILES[file_name]
        entry = self.spec[change.name]
        store = entry.keystore if kind == "keystore" else entry.truststore
        assert store is not None
        password = self.secret(change, kind)
        if kind == "keystore":
            key = self.keys[entry.name]
            if fmt == "pkcs12":
                return keystore_p12(key, chain, store.alias, password, store.profile)
            return keystore_jks(key, chain, store.alias, password)
        trusted = [(alias, self.cert(ref)) for alias, ref in change.materials.trusted]
        if fmt == "pkcs12":
            return truststore_p12(trusted, password, store.profile)
        return truststore_jks(trusted, password)
