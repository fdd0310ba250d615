"""make_plan(spec, state, now) → Plan: what apply must do, and why. Pure: reads no file, writes none.

Decisions follow SPEC.md "When apply regenerates", issuers first. Three passes:
1. keys and certificates, each entry after its issuer (a re-keyed issuer reissues its subtree);
2. CA lifetimes, deepest first: a managed CA is renewed with its key when a certificate it must
   issue now would outlive it (an imported one is an error instead);
3. derived files (chains, ca.crt, stores, CRLs), compared by content with what they should hold.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509

from ..crypto.certs import signed_by, subject_name
from ..crypto.crl import crl_signed_by
from ..crypto.keys import key_matches, key_type_of, public_der
from ..crypto.pem import fingerprint
from ..crypto.stores import StoreContent
from ..errors import PlanError
from ..spec.entries import Entry, Spec
from .changes import Action, Change, Plan
from .layout import (
    CA_CRL,
    CA_CRT,
    CA_FILES,
    CA_KEY,
    DIR_MODE,
    GITIGNORE,
    GITIGNORE_TEXT,
    MANAGED_FILES,
    OPTIONAL_LEAF_FILES,
    TLS_CRT,
    TLS_KEY,
    file_mode,
    leaf_files,
    password_files,
)
from .rules import drift, expiry_reason
from .state import EntryState, State, StoreState, anchor_of, issuer_chain


@dataclass
class _Decision:
    entry: Entry
    new_key: bool = False
    new_cert: bool = False
    action: Action | None = None
    reasons: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    chmod: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)


def make_plan(spec: Spec, state: State, *, now: datetime, replace_names: Iterable[str] = (),
              prune: bool = False) -> Plan:
    """Compare `spec` with `state` at `now`; `replace_names` are entries to re-key and reissue."""
    return _Planner(spec, state, now, set(replace_names), prune).plan()


class _Planner:
    def __init__(self, spec: Spec, state: State, now: datetime, replace_names: set[str], prune: bool):
        unknown = sorted(replace_names - set(spec.by_name))
        if unknown:
            raise PlanError(f"--replace {unknown[0]}: no such entry in {spec.path.name}")
        self.spec, self.state, self.now, self.replace, self.prune = spec, state, now, replace_names, prune
        self.d: dict[str, _Decision] = {}
        self.crl_content: dict[str, tuple[tuple[tuple[int, datetime], ...], int]] = {}
        # How the output folder is named in messages: as the spec writes it, relative to the spec.
        self.label = os.path.relpath(spec.output, spec.path.parent)

    def plan(self) -> Plan:
        for entry in self.spec.entries:
            if entry.revoked:
                self.d[entry.name] = _Decision(entry)
            elif entry.imported is not None:
                self.d[entry.name] = self.imported(entry)
            else:
                self.d[entry.name] = self.certificate(entry)
        for entry in reversed(self.spec.entries):
            if entry.is_ca:
                self.lifetime(entry)
        for entry in self.spec.entries:
            if entry.is_ca:
                self.crl(entry)
            elif entry.revoked:
                self.revoked(entry)
            else:
                self.derived(entry)
            if not entry.revoked and entry.imported is None:
                self.modes(entry)
                self.leftovers(entry)
        changes = [self.change(self.d[e.name]) for e in self.spec.entries]
        output = self.output_folder()
        if output is not None:
            changes.insert(0, output)
        changes += [self.orphan(name, files) for name, files in self.state.orphans.items()]
        return Plan(self.spec, self.now, tuple(changes), self.warnings())

    def output_folder(self) -> Change | None:
        """The output folder's own files: its .gitignore, and its mode."""
        if not self.state.output_exists:
            return None  # made whole by the first apply
        if self.state.gitignore != GITIGNORE_TEXT and self.state.foreign:
            # Not a folder mtlsgen made (its .gitignore says "*"): someone's home, or a shared folder.
            # Writing a .gitignore or changing its mode there would damage it.
            shown = ", ".join(self.state.foreign[:3]) + (", …" if len(self.state.foreign) > 3 else "")
            raise PlanError(f"the output folder {self.label}/ already holds files mtlsgen did not write "
                            f"({shown}); point `output:` at a new or empty folder")
        reasons, files, chmod = [], [], []
        if self.state.gitignore != GITIGNORE_TEXT:
            what = "missing" if self.state.gitignore is None else "does not say *"
            reasons.append(f"{GITIGNORE} {what}: keys could be committed")
            files.append(GITIGNORE)
        if self.state.output_mode is not None and self.state.output_mode != DIR_MODE:
            reasons.append(f"mode {self.state.output_mode:04o} → {DIR_MODE:04o}")
            chmod.append("")
        if not reasons:
            return None
        return Change(f"{self.label}/", Action.REPACK, tuple(reasons), files=tuple(files), chmod=tuple(chmod),
                      scope="output")

    def orphan(self, name: str, files: tuple[str, ...]) -> Change:
        """A folder of an entry no longer in the spec; pruning deletes mtlsgen's files, never the user's."""
        folder = f"{self.label}/{name}/"
        theirs = [f for f in files if f not in MANAGED_FILES]
        kept = f" (keeps {', '.join(theirs)}, which mtlsgen did not write)" if theirs else ""
        if self.prune:
            return Change(name, Action.PRUNE, (f"not in the spec; deletes {folder}{kept}",),
                          remove=tuple(f for f in files if f in MANAGED_FILES), scope="orphan")
        return Change(name, Action.ORPHAN, (f"not in the spec; apply --prune deletes {folder}{kept}",),
                      scope="orphan")

    # -- pass 1: keys and certificates ---------------------------------------------------------

    def issuer_of(self, entry: Entry) -> tuple[EntryState, _Decision] | None:
        if entry.issuer is None:
            return None
        return self.state[entry.issuer], self.d[entry.issuer]

    def expected_issuer_name(self, entry: Entry) -> x509.Name | None:
        if entry.issuer is None:
            return subject_name(entry)
        issuer_entry = self.spec[entry.issuer]
        issuer_cert = self.state[entry.issuer].cert
        if issuer_entry.imported is not None or (issuer_cert is not None and not self.d[entry.issuer].new_cert):
            return issuer_cert.subject if issuer_cert is not None else None
        return subject_name(issuer_entry)

    def certificate(self, entry: Entry) -> _Decision:
        s = self.state[entry.name]
        d = _Decision(entry)
        key_file = CA_KEY if entry.is_ca else TLS_KEY
        cert_file = CA_CRT if entry.is_ca else TLS_CRT
        where = f"{entry.name}/" if entry.is_ca else ""
        fresh = s.key.missing and s.certs.missing
        if entry.name in self.replace:
            d.new_key, d.action = True, Action.REPLACE
            d.reasons.append("--replace" + (": new key; what it issues is reissued" if entry.is_ca else ""))
        elif fresh:
            d.new_key, d.action = True, Action.CREATE
        elif s.key.value is None or key_type_of(s.key.value) != entry.key:
            why = (f"key: {key_type_of(s.key.value)} → {entry.key}" if s.key.value is not None
                   else f"{where}{key_file} {s.key.problem}")
            if entry.is_ca:
                return self.blocked(d, why)
            d.new_key, d.action = True, Action.REPLACE
            d.reasons.append(why)
        elif entry.is_ca and s.cert is not None and not key_matches(s.cert, s.key.value) \
                and not self.issued_with(entry, s):
            # Re-signing the CA with whatever key now sits in ca.key would change its identity,
            # unless what it issued proves that this key is the CA's.
            return self.blocked(d, f"{where}{key_file} is not the key of {where}{cert_file}")
        if d.new_key:
            d.new_cert = True
            return d
        d.new_cert, d.action = self.reissue_reasons(entry, s, d.reasons, cert_file)
        if d.new_cert and not entry.is_ca and entry.key_rotation == "always":
            d.new_key = True
        return d

    def issued_with(self, entry: Entry, s: EntryState) -> bool:
        """Whether a certificate on disk that the CA issued was signed by the key in its key file."""
        assert s.key.value is not None
        public = s.key.value.public_key()
        return any(cert is not None and signed_by(cert, public)
                   for child in self.spec.children(entry.name) if (cert := self.state[child.name].cert))

    def blocked(self, d: _Decision, why: str) -> _Decision:
        d.action = Action.BLOCKED
        d.reasons.append(f"{why}; a CA key is never replaced implicitly: apply --replace "
                         f"{d.entry.name} makes a new one and reissues everything under it")
        return d

    def reissue_reasons(self, entry: Entry, s: EntryState, reasons: list[str],
                        cert_file: str) -> tuple[bool, Action | None]:
        cert = s.cert
        if cert is None:
            reasons.append(f"{cert_file} {s.certs.problem}")
            return True, Action.REISSUE
        assert s.key.value is not None
        if not key_matches(cert, s.key.value):
            reasons.append(f"{cert_file} does not match its key")
        issuer = self.issuer_of(entry)
        if issuer is not None:
            issuer_state, issuer_decision = issuer
            if issuer_decision.new_key:
                new = issuer_decision.action is Action.CREATE
                reasons.append(f"issuer {entry.issuer} {'is new' if new else 're-keyed'}")
            elif issuer_state.key.value is not None and not signed_by(
                    cert, issuer_state.key.value.public_key()):
                reasons.append(f"not signed by {entry.issuer}'s current key")
        reasons += drift(entry, cert, issuer_name=self.expected_issuer_name(entry), crl=self.spec.crl_url(entry.name))
        if reasons:
            return True, Action.REISSUE
        expiring = expiry_reason(cert, entry, self.now)
        if expiring:
            reasons.append(expiring)
            return True, Action.RENEW
        return False, None

    def imported(self, entry: Entry) -> _Decision:
        s, imp = self.state[entry.name], entry.imported
        assert imp is not None
        if entry.name in self.replace:
            raise PlanError(f"--replace {entry.name}: the CA is imported from {imp.cert.name}; mtlsgen never "
                            "re-keys it (replace its files, or --replace the entries it issues)")
        if s.cert is None:
            raise PlanError(f"ca.import.cert: {imp.cert} {s.certs.problem}")
        if s.key.value is None:
            raise PlanError(f"ca.import.key: {imp.key} {s.key.problem}")
        if not key_matches(s.cert, s.key.value):
            raise PlanError(f"ca.import: the key {imp.key.name} does not belong to the certificate "
                            f"{imp.cert.name}")
        try:
            constraints = s.cert.extensions.get_extension_for_class(x509.BasicConstraints).value
            is_ca = constraints.ca
        except x509.ExtensionNotFound:
            is_ca = False
        if not is_ca:
            raise PlanError(f"ca.import.cert: {imp.cert.name} is not a CA certificate "
                            "(no basicConstraints CA:TRUE)")
        return _Decision(entry)

    # -- pass 2: no certificate outlives its issuer ---------------------------------------------

    def lifetime(self, entry: Entry) -> None:
        d, cert = self.d[entry.name], self.state[entry.name].cert
        if d.new_cert or d.action is Action.BLOCKED or cert is None:
            return
        issued = [self.d[c.name].entry for c in self.spec.children(entry.name)
                  if self.d[c.name].new_cert]
        too_long = [c for c in issued if self.now + c.validity > cert.not_valid_after_utc]
        if not too_long:
            return
        longest = max(too_long, key=lambda c: c.validity)
        ends = (self.now + longest.validity).strftime("%Y-%m-%d")
        expires = cert.not_valid_after_utc.strftime("%Y-%m-%d")
        if entry.imported is not None:
            raise PlanError(f"the imported CA expires {expires}, before {longest.name} "
                            f"({longest.validity_text}, until {ends}) would; shorten its validity "
                            "or import a CA that lives longer")
        d.new_cert, d.action = True, Action.RENEW
        d.reasons.append(f"expires {expires}, before {longest.name} issued now would ({ends})")

    # -- pass 3: files derived from certificates ------------------------------------------------

    def current_cert(self, name: str) -> x509.Certificate | None:
        return None if self.d[name].new_cert else self.state[name].cert

    def chain_names(self, entry: Entry) -> list[str]:
        return [e.name for e in self.spec.chain(entry.name)]

    def derived(self, entry: Entry) -> None:
        d, s = self.d[entry.name], self.state[entry.name]
        if d.new_cert:
            # A kept key is rewritten only when its protection changes (key_password).
            keep_key_file = not d.new_key and not s.key_rewrite
            d.files = [f for f in leaf_files(entry) if not (keep_key_file and f == TLS_KEY)]
            return
        chain = self.chain_names(entry)
        root = chain[-1]
        renewed = [n for n in chain if self.d[n].new_cert]
        certs = s.certs.value or ()
        intermediates, anchor = issuer_chain(self.spec, self.state, entry.name, self.current_cert)
        if renewed and renewed != [root]:
            d.files.append(TLS_CRT)
            d.reasons.append(f"{TLS_CRT}: chain updated ({', '.join(n for n in renewed if n != root)} renewed)")
        elif [fingerprint(c) for c in certs[1:]] != [fingerprint(c) for c in intermediates if c]:
            d.files.append(TLS_CRT)
            d.reasons.append(f"{TLS_CRT}: chain out of date")
        if anchor is None:
            d.files.append(CA_CRT)
            d.reasons.append(f"{CA_CRT}: {root} renewed")
        elif [fingerprint(c) for c in s.bundle.value or ()] != [fingerprint(anchor)]:
            d.files.append(CA_CRT)
            d.reasons.append(f"{CA_CRT} {s.bundle.problem}" if s.bundle.problem else f"{CA_CRT}: not the current root")
        if s.key_rewrite:
            d.files.append(TLS_KEY)
            d.reasons.append(f"{TLS_KEY}: {s.key_rewrite}")
        for store in s.stores:
            reason = self.store_reason(entry, s, store, chain)
            if reason:
                d.files.append(store.file_name)
                d.reasons.append(f"{store.file_name}: {reason}")
        if d.files:
            d.action = Action.REPACK

    def store_reason(self, entry: Entry, s: EntryState, store: StoreState, chain: list[str]) -> str | None:
        content = store.content.value
        if content is None:
            return "missing" if store.content.missing else str(store.content.problem)
        if store.spec.kind == "keystore":
            if any(self.d[n].new_cert for n in chain):
                return "chain updated"
            intermediates, anchor = issuer_chain(self.spec, self.state, entry.name, self.current_cert)
            certs = [s.cert, *intermediates, anchor]
            wanted = StoreContent((store.spec.alias,),
                                  public_der(s.key.value.public_key()) if s.key.value else None,
                                  tuple(fingerprint(c) for c in certs if c is not None))
            if content.key_aliases != wanted.key_aliases:
                return f"alias {', '.join(content.key_aliases) or 'none'} → {store.spec.alias}"
            if content.public_key != wanted.public_key or content.chain != wanted.chain:
                return "key or chain differs"
        else:
            roots = self.spec.trusted_roots(entry.name)
            if any(self.d[r].new_cert for r in roots):
                return "trusted CA renewed"
            trusted = {(r, fingerprint(c)) for r in roots if (c := anchor_of(self.state, r, self.current_cert))}
            if content.trusted != trusted:
                return "trusted CAs differ"
        if store.fmt == "pkcs12" and content.profile != store.spec.profile:
            return f"profile {content.profile or 'unknown'} → {store.spec.profile}"
        return None

    def revoked(self, entry: Entry) -> None:
        d, s = self.d[entry.name], self.state[entry.name]
        remove = sorted(name for name in s.modes if name in MANAGED_FILES)
        if remove:  # a folder left holding only the user's files has nothing more to revoke
            d.action = Action.REVOKE
            d.remove = remove
            if s.cert is None:  # no serial to revoke: say so rather than claim it is in the CRL
                d.reasons.append(f"{TLS_CRT} {s.certs.problem}: its serial is unknown and cannot be added to "
                                 f"{entry.issuer}/ca.crl; files removed")
            else:
                d.reasons.append(f"added to {entry.issuer}/ca.crl; files removed")

    def crl(self, entry: Entry) -> None:
        d, s = self.d[entry.name], self.state[entry.name]
        if d.action is Action.BLOCKED:
            return
        kept: dict[int, datetime] = {}
        if s.crl.value is not None and not d.new_key:
            kept = {r.serial_number: r.revocation_date_utc for r in s.crl.value}
        revoked_leaves = [c for c in self.spec.children(entry.name) if c.revoked]
        new = {}
        for leaf in revoked_leaves:
            cert = self.state[leaf.name].cert
            if cert is not None and cert.serial_number not in kept and not d.new_key:
                new[cert.serial_number] = self.now
        # A CRL once written stays, re-signed if its CA is re-keyed: relying parties may fetch it.
        wanted = entry.crl is not None or bool(revoked_leaves) or s.crl.value is not None
        if not wanted:
            self.ca_files(d)
            return
        reasons = []
        if new:
            names = [leaf.name for leaf in revoked_leaves if (c := self.state[leaf.name].cert) is not None
                     and c.serial_number in new]
            reasons.append(f"{CA_CRL}: revokes {', '.join(names)}")
        elif s.crl.value is None:
            reasons.append(f"{CA_CRL} {s.crl.problem}")
        elif d.new_key:
            reasons.append(f"{CA_CRL}: signed by the new key")
        elif d.new_cert:
            reasons.append(f"{CA_CRL}: re-signed for the reissued {entry.name} certificate")
        elif not self.crl_matches(entry, s.crl.value):
            reasons.append(f"{CA_CRL}: not issued by {entry.name}'s current certificate and key")
        else:
            window = entry.crl_validity / 3
            next_update = s.crl.value.next_update_utc
            if next_update is None or next_update - window <= self.now:
                reasons.append(f"{CA_CRL}: next update {next_update:%Y-%m-%d}" if next_update
                               else f"{CA_CRL}: no next update")
        self.ca_files(d)
        if reasons:
            number = 1
            # RFC 5280 5.2.3: the number only grows for a CRL issuer (its name), even under a new key.
            if s.crl.value is not None:
                try:
                    number = s.crl.value.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number + 1
                except x509.ExtensionNotFound:
                    number = 1
            d.files.append(CA_CRL)
            d.reasons += reasons
            d.action = d.action or Action.REPACK
            self.crl_content[entry.name] = (tuple(sorted({**kept, **new}.items())), number)

    def crl_matches(self, entry: Entry, crl: x509.CertificateRevocationList) -> bool:
        cert, key = self.state[entry.name].cert, self.state[entry.name].key.value
        if cert is None or key is None or crl.issuer != cert.subject:
            return False
        return crl_signed_by(crl, key.public_key())

    def ca_files(self, d: _Decision) -> None:
        if d.new_cert:
            d.files = [CA_CRT, CA_KEY] if d.new_key else [CA_CRT]

    # -- output --------------------------------------------------------------------------------

    def modes(self, entry: Entry) -> None:
        """Permission bits a chmod changed are restored, without rewriting the files."""
        d, modes = self.d[entry.name], self.state[entry.name].modes
        managed = list(CA_FILES) if entry.is_ca else [*leaf_files(entry), *password_files(entry)]
        wanted = {"": DIR_MODE, **{name: file_mode(name) for name in managed if name not in d.files}}
        for name, mode in wanted.items():
            if name in modes and modes[name] != mode:
                d.chmod.append(name)
                d.reasons.append(f"{name or entry.name + '/'}: mode {modes[name]:04o} → {mode:04o}")
                d.action = d.action or Action.REPACK

    def leftovers(self, entry: Entry) -> None:
        """Stores and password files the spec dropped would go stale at the next reissue: remove them."""
        if entry.is_ca:
            return
        d, modes = self.d[entry.name], self.state[entry.name].modes
        wanted = set(leaf_files(entry)) | set(password_files(entry))
        for name in sorted(set(OPTIONAL_LEAF_FILES) - wanted):
            if name in modes:
                d.remove.append(name)
                d.reasons.append(f"{name}: no longer in the spec; removed")
                d.action = d.action or Action.REPACK

    def change(self, d: _Decision) -> Change:
        action = d.action or Action.UNCHANGED
        reasons = tuple(d.reasons)
        if action is Action.CREATE:
            reasons = (" ".join(d.files),)
        serials, number = self.crl_content.get(d.entry.name, ((), 0))
        return Change(d.entry.name, action, reasons, d.new_key, d.new_cert, tuple(d.files), serials, number,
                      tuple(d.chmod), tuple(d.remove))

    def warnings(self) -> tuple[str, ...]:
        out = []
        for entry in self.spec.entries:
            passwords = [entry.key_password, *(s.password for s in (entry.keystore, entry.truststore) if s)]
            if entry.imported and entry.imported.password:
                passwords.append(entry.imported.password)
            out += [f"{p.where} is a literal password in the spec; prefer {{env: NAME}} or {{file: path}}"
                    for p in passwords if p is not None and p.source == "literal"]
            if entry.is_ca and entry.key == "ed25519" and entry.imported is None:
                out.append(f"{self.spec.path.name}:{entry.line}: {entry.name}: an Ed25519 CA key is refused by "
                           "some verifiers (cryptography's among them, so `mtlsgen verify`); prefer ecdsa-p256")
        return tuple(out)
