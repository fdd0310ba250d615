"""apply_plan(plan) carries a plan out: keys, certificates, files. It decides nothing and prints nothing.

Everything it writes, chmods or removes is named by the plan's changes, and everything it needs
(kept keys and certificates, chains, trusted roots, passwords, CRL contents, the time) comes with
them: it reads no file, no password source and no clock. Keys are generated first, in parallel
threads (cryptography releases the GIL while it searches for RSA primes), then certificates issuers
first, then files, each written atomically, all in one fsio.Batch: every temporary file written,
then all fsynced together in threads, then the renames (and chmods and deletions) in the order the
plan's changes ask for, then one fsync per folder. When the plan lists the store cache, it is written
last: the records read (the plan's), less the stores removed, plus those written, each described from
what was put in (engine/store_cache.py).
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
from ..crypto.keys import PrivateKey, generate_key, public_der
from ..crypto.pem import certs_pem, crl_pem, crls_pem, fingerprint, key_pem
from ..crypto.stores import (
    StoreContent,
    _p12_profile,
    keystore_jks,
    keystore_p12,
    read_jks,
    truststore_jks,
    truststore_p12,
)
from ..errors import BlockedError, DamagedKeyError
from ..spec.entries import Entry
from .changes import Action, CertRef, Change, CrlContent, Plan, Secret
from .fsio import Batch, Folder, ensure_output
from .layout import (
    CA_CRL,
    CA_CRT,
    CA_KEY,
    CA_KEY_NEXT,
    DIR_MODE,
    GITIGNORE,
    GITIGNORE_TEXT,
    STORE_CACHE,
    STORE_FILES,
    TLS_CRT,
    TLS_KEY,
    Generation,
    Layout,
    file_mode,
    generation_files,
)
from .rollover import generation_ref
from .secrets import new_password
from .store_cache import SALT_BYTES, Keys, Record, document

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
        self.layout = Layout.of(plan.spec)
        self.progress = progress or (lambda what, done, total: None)
        self.workers = workers
        self.keys: dict[str, PrivateKey] = {}
        self.certs: dict[str, x509.Certificate] = {}
        self.crls: dict[str, x509.CertificateRevocationList] = {}
        self.passwords: dict[tuple[str, str], str] = {}
        self.written: list[Path] = []
        self.removed: list[Path] = []
        self.folders: dict[str, Folder] = {}
        # Every write and removal goes through one batch: temporary files first, one parallel fsync,
        # then the renames, chmods and deletions in the order asked for (fsio.Batch).
        self.batch = Batch()
        # The store cache as apply leaves it: "entry/file" → record (None: not written this run).
        self.cache_records: dict[str, Record] | None = None
        self.cache_keys: Keys | None = None

    def run(self) -> ApplyResult:
        pending = self.plan.pending
        if not pending:
            return ApplyResult((), (), ())
        for change in self.plan.changes:  # what the plan keeps, or adopts: keys and certificates on disk
            if change.materials.key is not None:
                self.keys[change.name] = change.materials.key
            if change.materials.cert is not None and not change.new_cert:
                self.certs[change.name] = change.materials.cert
            if change.materials.kept_crl is not None:
                self.crls[change.name] = change.materials.kept_crl
            for g in change.materials.generations:  # a rotating CA's next.* and previous.*
                ref = generation_ref(change.name, g.which)
                if g.key is not None:
                    self.keys[ref] = g.key
                if g.cert is not None:
                    self.certs[ref] = g.cert
                if g.kept_crl is not None:
                    self.crls[ref] = g.kept_crl
        starting = {c.name for c in pending if c.materials.rotation_starts}
        self.generate_keys([(c.name, self.spec[c.name].key) for c in pending if c.new_key and c.materials.key is None]
                           + [(generation_ref(name, "next"), self.spec[name].key) for name in starting])
        self.issue([c for c in self.plan.changes if c.new_cert or c.name in starting])
        ensure_output(self.layout.root)
        self.folders[""] = Folder.open_root(self.layout.root)
        try:
            self.stage(pending)
            self.batch.commit(max(4, self.workers * 4))  # fsync waits on the disk, not the CPU
            for folder in self.folders.values():
                folder.sync()  # makes the renames in it durable
        finally:
            for folder in self.folders.values():
                folder.close()
        return ApplyResult(pending, tuple(self.written), tuple(self.removed))

    def stage(self, pending: tuple[Change, ...]) -> None:
        """Every change into the batch: files written to temporary files, the rest queued in order."""
        try:
            for change in pending:
                if change.scope == "output":
                    self.write_output(change)
                elif change.scope == "orphan" or change.action is Action.REVOKE:
                    self.remove(change)
                else:
                    self.write_entry(change)
            if self.cache_records is not None:
                assert self.cache_keys is not None
                self.write(self.folders[""], STORE_CACHE, document(self.cache_keys, self.cache_records))
        except BaseException:  # Ctrl-C too: no temporary file is left behind
            self.batch.discard()
            raise

    def folder(self, name: str) -> Folder:
        if name not in self.folders:
            home = self.layout.folder(name)
            if home.parent == self.layout.root:
                self.folders[name] = self.folders[""].child(name)
            else:  # a shared CA's folder, beside the spec: opened like the output's, never through a link
                ensure_output(home.parent)
                with Folder.open_root(home.parent) as parent:
                    self.folders[name] = parent.child(home.name)
        return self.folders[name]

    def write_output(self, change: Change) -> None:
        root = self.folders[""]
        if STORE_CACHE in change.files:  # written last (stage), once every store is
            cache = change.materials.store_cache
            self.cache_records = dict(cache.records) if cache is not None else {}
            self.cache_keys = cache.keys if cache is not None and cache.keys is not None else \
                Keys(os.urandom(SALT_BYTES))
        for name in change.chmod:
            self.chmod(root, name)
        if GITIGNORE in change.files:
            self.write(root, GITIGNORE, GITIGNORE_TEXT)
        for name in change.remove:
            self.delete(root, name)

    def remove(self, change: Change) -> None:
        """Delete mtlsgen's files in an entry's folder, then the folder if nothing of the user's is left."""
        root = self.folders[""]
        if not os.path.isdir(root.path / change.name):  # nothing left to remove; never create it
            return
        folder = self.folder(change.name)
        for name in change.remove:
            self.delete(folder, name)

        def remove_folder() -> None:
            if root.remove_folder_if_empty(change.name):
                self.removed.append(folder.path)

        self.batch.then(remove_folder)

    def chmod(self, folder: Folder, name: str) -> None:
        mode = file_mode(name) if name else DIR_MODE
        self.batch.then(lambda: folder.chmod(name, mode))

    def delete(self, folder: Folder, name: str) -> None:
        self.batch.then(lambda: folder.remove(name))
        self.removed.append(folder.path / name)
        if self.cache_records is not None and folder is not self.folders[""]:
            self.cache_records.pop(f"{folder.path.name}/{name}", None)

    def generate_keys(self, wanted: list[tuple[str, str]]) -> None:
        """New keys for (name, key type) pairs: entries, or a rotating CA's incoming generation."""
        total = len(wanted)
        self.progress("generating keys", 0, total)
        # Slowest first, so that the RSA-4096 keys do not wait behind the cheap ones.
        ordered = sorted(wanted, key=lambda pair: _RSA_COST.get(pair[1], 0), reverse=True)
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            futures = {pool.submit(generate_key, kind): name for name, kind in ordered}
            for done, future in enumerate(as_completed(futures), start=1):
                self.keys[futures[future]] = future.result()
                self.progress("generating keys", done, total)

    def issue(self, changes: list[Change]) -> None:
        """Issue the planned certificates, issuers first (the plan lists entries in that order)."""
        for change in changes:
            entry = self.spec[change.name]
            issuer_cert = self.certs[entry.issuer] if entry.issuer else None
            if change.new_cert:
                self.certs[entry.name] = self.sign(entry, entry.name, issuer_cert)
            if change.materials.rotation_starts:
                incoming = generation_ref(entry.name, "next")
                self.certs[incoming] = self.sign(entry, incoming, issuer_cert)

    def sign(self, entry: Entry, name: str, issuer_cert: x509.Certificate | None) -> x509.Certificate:
        """Issue `entry`'s certificate for the key apply holds as `name` (the entry, or `ca/next`)."""
        public = self.keys[name].public_key()
        issuer_key = self.keys[entry.issuer or name]
        if entry.is_ca:
            cert = issue_ca(entry, public, issuer_cert=issuer_cert, issuer_key=issuer_key, now=self.plan.now)
        else:
            assert issuer_cert is not None
            cert = issue_leaf(entry, public, issuer_cert=issuer_cert, issuer_key=issuer_key,
                              now=self.plan.now, crl_url=self.spec.crl_url(entry.name))
        if not signed_by(cert, issuer_key.public_key()):
            raise DamagedKeyError(f"{entry.issuer or entry.name}'s key made a signature that does not verify; "
                                  "its key file may be damaged; nothing was written")
        return cert

    def cert(self, ref: CertRef) -> x509.Certificate:
        if ref.cert is not None:
            return ref.cert
        assert ref.entry is not None
        return self.certs[ref.entry]

    def write(self, folder: Folder, name: str, data: bytes) -> None:
        self.batch.write(folder, name, data, mode=file_mode(name))
        self.written.append(folder.path / name)

    def secret(self, change: Change, purpose: str) -> str:
        """A password's value as planned; one the plan says to generate is made once and saved."""
        key = (change.name, purpose)
        if key not in self.passwords:
            planned = change.materials.secret(purpose)
            value = planned.value
            if value is None:
                assert planned.file is not None and planned.file in change.files
                value = new_password()
                self.write(self.folder(change.name), planned.file, (value + "\n").encode())
            self.passwords[key] = value
        return self.passwords[key]

    def write_entry(self, change: Change) -> None:
        entry = self.spec[change.name]
        folder = self.folder(entry.name)
        for name in change.chmod:
            self.chmod(folder, name)
        if entry.is_ca:
            self.write_ca(change, folder)
        else:
            self.write_leaf(change, folder)
        for name in change.remove:  # after the writes: a staged CA key goes once ca.key is in place
            self.delete(folder, name)

    def write_leaf(self, change: Change, folder: Folder) -> None:
        entry = self.spec[change.name]
        cert = self.certs[entry.name]
        chain = [self.cert(ref) for ref in change.materials.chain]
        anchor = change.materials.anchor
        assert anchor is not None
        for name in change.files:
            if name == TLS_CRT:
                self.write(folder, name, certs_pem([cert, *chain]))  # the anchor stays out of tls.crt
            elif name == TLS_KEY:
                password = self.secret(change, TLS_KEY) if entry.key_password else None
                self.write(folder, name, key_pem(self.keys[entry.name], password))
            elif name == CA_CRT:  # while its root rotates, the root's other generation too
                self.write(folder, name, certs_pem([self.cert(anchor),
                                                    *(self.cert(ref) for ref in change.materials.also_trusted)]))
            elif name in STORE_FILES:
                self.write_store(change, folder, name, [cert, *chain, self.cert(anchor)])
            elif name == CA_CRL:  # a server's: its clients' CAs' CRLs, written (CAs come first) or kept
                self.write(folder, name, crls_pem([self.crls[ca] for ca in change.materials.crl_bundle]))
            # password files are written by `secret` when a file that needs them is

    def write_ca(self, change: Change, folder: Folder) -> None:
        name = change.name
        # A shared CA's keys are committed: always encrypted with its passphrase (PKCS#8, key_pem).
        passphrase = dict(change.materials.secrets).get(CA_KEY, Secret()).value
        # A move writes the outgoing CA to previous.* before ca.* take the incoming one: killed at any
        # point, the folder still holds both CAs and the next plan finishes the move (rollover.py).
        self.write_generation(change, folder, "previous", passphrase)
        if CA_KEY in change.files and CA_CRT in change.files:
            # A new key is staged beside the old one, then the certificate, then the key renamed into
            # place: killed at any point, the folder holds the old CA or the new one, and the next plan
            # finishes or undoes the re-key (docs/spec.md, "Interrupted runs").
            # In a batch the renames keep this order; every file is synced before the first of them.
            self.batch.write(folder, CA_KEY_NEXT, key_pem(self.keys[name], passphrase), mode=file_mode(CA_KEY))
            self.write(folder, CA_CRT, certs_pem([self.certs[name]]))
            self.batch.then(lambda: folder.rename(CA_KEY_NEXT, CA_KEY))
            self.written.append(folder.path / CA_KEY)
        elif CA_KEY in change.files:  # adopting the key an interrupted re-key staged
            self.write(folder, CA_KEY, key_pem(self.keys[name], passphrase))
        elif CA_CRT in change.files:
            self.write(folder, CA_CRT, certs_pem([self.certs[name]]))
        if CA_CRL in change.files:
            self.write_crl(folder, CA_CRL, name, change.materials.crl)
        self.write_generation(change, folder, "next", passphrase)
        self.write_generation(change, folder, "retired", passphrase)  # a finish: previous.* are removed after

    def write_crl(self, folder: Folder, file_name: str, ref: str, content: CrlContent | None) -> None:
        """A CRL issued now with `content`, or (None) the one kept for `ref` copied into place."""
        if content is not None:
            self.crls[ref] = issue_crl(self.certs[ref], self.keys[ref], number=content.number,
                                       revoked=content.revoked, now=self.plan.now, validity=content.validity)
        self.write(folder, file_name, crl_pem(self.crls[ref]))

    def write_generation(self, change: Change, folder: Folder, which: Generation, passphrase: str | None) -> None:
        """A rotating CA's next.*, previous.* or retired.* files, as far as the plan names them."""
        ref = generation_ref(change.name, which)
        crt, key, crl = generation_files(which)
        for g in change.materials.generations:
            if g.which != which:
                continue
            if key in change.files:
                self.write(folder, key, key_pem(self.keys[ref], passphrase))
            if crt in change.files:
                self.write(folder, crt, certs_pem([self.certs[ref]]))
            if crl in change.files:
                self.write_crl(folder, crl, ref, g.crl)

    def write_store(self, change: Change, folder: Folder, file_name: str, chain: list[x509.Certificate]) -> None:
        kind, fmt = STORE_FILES[file_name]
        entry = self.spec[change.name]
        store = entry.keystore if kind == "keystore" else entry.truststore
        assert store is not None
        password = self.secret(change, kind)
        trusted = [(alias, self.cert(ref)) for alias, ref in change.materials.trusted]
        if kind == "keystore":
            key = self.keys[entry.name]
            data = (keystore_p12(key, chain, store.alias, password, store.profile) if fmt == "pkcs12"
                    else keystore_jks(key, chain, store.alias, password))
        else:
            data = (truststore_p12(trusted, password, store.profile) if fmt == "pkcs12"
                    else truststore_jks(trusted, password))
        self.write(folder, file_name, data)
        if self.cache_records is None or self.cache_keys is None:
            return
        # What the store holds, as read_p12 reads it back, from what was put in: decrypting what was just
        # written would cost what the cache saves. JKS is cheap to read back, and pyjks lowercases aliases.
        if fmt != "pkcs12":
            content = read_jks(data, password)
        elif kind == "keystore":
            content = StoreContent((store.alias,), public_der(self.keys[entry.name].public_key()),
                                   tuple(fingerprint(c) for c in chain), frozenset(), _p12_profile(data))
        else:
            content = StoreContent((), None, (), frozenset((alias, fingerprint(c)) for alias, c in trusted),
                                   _p12_profile(data))
        self.cache_records[f"{entry.name}/{file_name}"] = self.cache_keys.record(
            data, password, store.password.source == "generate", content)
