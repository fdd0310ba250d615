"""make_plan(spec, state, now) → Plan: what apply must do, and why. Pure: no file, no clock, no environment.

The steps, in the order their decisions depend on each other:
1. keys and certificates, each entry after its issuer, then CA lifetimes deepest first
   (certificates.py) — everything after reads these decisions;
2. revocation: which orphans --prune revokes, then each CA's files and CRL (revocation.py) — the
   servers' CRL files need to know which CRLs are rewritten;
3. per entry, the files derived from them: a revoked entry's removal (revocation.py); a leaf's
   chain, ca.crt, key protection and stores (derived.py) and a server's ca.crl (crl_bundle.py);
4. per entry, what is not content: password files to generate, modes to restore, files the spec
   dropped, temporary files (housekeeping.py) — these need the file list of step 3;
5. the output folder and orphan folders (housekeeping.py);
each change carrying the materials apply needs (keys and certificates kept, chains, secrets, CRLs).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from ..errors import PlanError
from ..spec.entries import Entry, Spec
from . import housekeeping
from .certificates import decide_certificates
from .changes import Action, Change, CrlContent, Materials, Plan
from .crl_bundle import bundle_cas, bundle_reason
from .decisions import CertDecision, Decided, FileDecision, Inputs
from .derived import chain_refs, leaf_derived, trusted_refs
from .layout import CA_CRL
from .reasons import Kind, Reason
from .revocation import ca_files, crl, orphan_issuers, pruned_serials, revoked_entry
from .state import State


@dataclass(frozen=True)
class _Revocation:
    """Step 2's decisions, read by the entries' changes."""

    crls: Mapping[str, tuple[FileDecision, CrlContent | None]]  # each CA's CRL decision
    pruned: Mapping[str, Mapping[int, str]]

    @property
    def rewritten(self) -> frozenset[str]:
        return frozenset(ca for ca, (files, _) in self.crls.items() if CA_CRL in files.files)


def make_plan(spec: Spec, state: State, *, now: datetime, replace_names: Iterable[str] = (),
              prune: bool = False) -> Plan:
    """Compare `spec` with `state` at `now`; `replace_names` are entries to re-key and reissue."""
    replace_set = frozenset(replace_names)
    unknown = sorted(replace_set - set(spec.by_name))
    if unknown:
        raise PlanError(f"--replace {unknown[0]}: no such entry in {spec.path.name}")
    inputs = Inputs(spec, state, now, replace_set, prune)
    housekeeping.refuse_unsafe(inputs)
    decided = decide_certificates(inputs)
    issuers = orphan_issuers(inputs)
    pruned = pruned_serials(inputs, issuers)
    revocation = _Revocation({e.name: crl(inputs, decided[e.name], e, pruned) for e in spec.entries
                              if e.is_ca and decided[e.name].action is not Action.BLOCKED}, pruned)
    changes = [entry_change(inputs, decided, e, revocation) for e in spec.entries]
    output = housekeeping.output_folder(inputs, changes)
    orphans = [housekeeping.orphan(inputs, name, files, issuers.get(name)) for name, files in state.orphans.items()]
    return Plan(spec, now, (*([output] if output else []), *changes, *orphans), housekeeping.warnings(inputs))


def entry_change(inputs: Inputs, decided: Decided, entry: Entry, revocation: _Revocation) -> Change:
    """One entry's change: its certificate decision, the files that follow from it, and the materials."""
    d = decided[entry.name]
    if entry.revoked:
        removal = revoked_entry(inputs, entry) + housekeeping.temps(inputs[entry.name].temps)
        return Change(entry.name, Action.REVOKE if removal.remove else Action.UNCHANGED, removal.reasons,
                      remove=removal.remove)
    if d.action is Action.BLOCKED:
        return Change(entry.name, Action.BLOCKED, d.reasons)
    materials = _materials(inputs, d, entry)
    wanted: tuple[str, ...] = ()
    if entry.is_ca:
        crl_files, crl_content = revocation.crls[entry.name]
        content = ca_files(inputs, d, entry) + crl_files  # an imported CA's own files are never written
        materials = replace(materials, crl=crl_content, kept_crl=inputs[entry.name].crl.value)
    else:
        content = leaf_derived(inputs, decided, entry)
        cas = bundle_cas(inputs, entry, revocation.pruned)
        bundle = bundle_reason(inputs, entry, cas, revocation.rewritten)
        if bundle is not None:
            content += FileDecision((CA_CRL,), (bundle,))
        content += FileDecision(files=housekeeping.new_password_files(entry, content.files, materials.secrets))
        materials = replace(materials, crl_bundle=cas)
        wanted = (CA_CRL,) if cas else ()
    rest = FileDecision()
    if entry.imported is None:  # an imported CA's files are not ours to chmod or clean
        rest = (housekeeping.modes(inputs, entry, content.files, wanted)
                + housekeeping.leftovers(inputs, entry, wanted) + housekeeping.temps(inputs[entry.name].temps))
    remove = content.remove + rest.remove
    action = d.action or (Action.REPACK if content.files or rest.chmod or remove else Action.UNCHANGED)
    head = (Reason(Kind.CREATE, names=content.files),) if action is Action.CREATE else (*d.reasons, *content.reasons)
    return Change(entry.name, action, (*head, *rest.reasons), d.new_key, d.new_cert, content.files, rest.chmod,
                  remove, materials=materials)


def _materials(inputs: Inputs, d: CertDecision, entry: Entry) -> Materials:
    """What apply needs besides the decision: the key it uses (None: it generates one), the
    certificate on disk (used when kept), and for a leaf its chain, anchor, trusted roots and passwords."""
    s = inputs[entry.name]
    key = s.next_key.value if d.adopt_staged else None if d.new_key else s.key.value
    if entry.is_ca:
        return Materials(key, s.cert)
    chain, anchor = chain_refs(inputs, entry)
    trusted = trusted_refs(inputs, entry) if entry.truststore is not None else ()
    return Materials(key, s.cert, chain, anchor, trusted, housekeeping.secrets(inputs, entry))
