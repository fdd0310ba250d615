"""make_plan(spec, state, now) → Plan: what apply must do, and why. Pure: no file, no clock, no environment.

The steps, in the order their decisions depend on each other:
0. each CA's rotation phase (rollover.py); a CA that moves now is seen by every later step as the
   CA it moves to (rollover.moved_state);
1. keys and certificates, each entry after its issuer, then CA lifetimes deepest first
   (certificates.py) — everything after reads these decisions;
2. revocation: which orphans --prune revokes, then each CA's files and CRL (revocation.py) and its
   rotation's files (rollover_files.py) — the servers' CRL files need to know which CRLs are rewritten;
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
from .changes import Action, Change, CrlContent, GenerationMaterials, Materials, Plan, Rotation, Secret
from .crl_bundle import bundle_cas, bundle_reason
from .decisions import CertDecision, Decided, FileDecision, Inputs
from .derived import also_trusted, chain_refs, leaf_derived, trusted_refs
from .layout import CA_CRL, CA_KEY
from .reasons import Kind, Reason
from .revocation import ca_files, crl, orphan_issuers, pruned_serials, revoked_entry
from .rollover import Phase, assess, check_rotate, generation_ref, moved_state
from .rollover_files import ca_rollover_files
from .state import State


@dataclass(frozen=True)
class _Revocation:
    """Step 2's decisions, read by the entries' changes."""

    crls: Mapping[str, tuple[FileDecision, CrlContent | None]]  # each CA's CRL decision
    pruned: Mapping[str, Mapping[int, str]]
    rotations: Mapping[str, tuple[FileDecision, tuple[GenerationMaterials, ...]]]  # each CA's rotation files

    @property
    def rewritten(self) -> frozenset[str]:
        """The CRLs (a CA's, or a generation's: `ca/next`) written with new content."""
        ours = {ca for ca, (files, content) in self.crls.items() if content is not None and CA_CRL in files.files}
        generations = {generation_ref(ca, g.which) for ca, (_, gens) in self.rotations.items()
                       for g in gens if g.crl is not None}
        return frozenset(ours | generations)


def make_plan(spec: Spec, state: State, *, now: datetime, replace_names: Iterable[str] = (),
              prune: bool = False, rotate: Iterable[str] = ()) -> Plan:
    """Compare `spec` with `state` at `now`; `replace_names` are entries to re-key and reissue at once,
    `rotate` CAs to re-key without an outage (docs/spec.md, "Rotating a CA")."""
    replace_set, rotate_set = frozenset(replace_names), frozenset(rotate)
    unknown = sorted(replace_set - set(spec.by_name))
    if unknown:
        raise PlanError(f"--replace {unknown[0]}: no such entry in {spec.path.name}")
    check_rotate(spec.by_name, rotate_set, replace_set, spec.path.name)
    housekeeping.refuse_unsafe(Inputs(spec, state, now))
    rollovers = assess(spec.entries, state, now, rotate_set, replace_set)
    inputs = Inputs(spec, moved_state(state, rollovers), now, replace_set, prune, rollovers)
    decided = decide_certificates(inputs)
    issuers = orphan_issuers(inputs)
    pruned = pruned_serials(inputs, issuers)
    cas = [e for e in spec.entries if e.is_ca and decided[e.name].action is not Action.BLOCKED]
    crls = {e.name: crl(inputs, decided[e.name], e, pruned) for e in cas}
    rotations = {e.name: ca_rollover_files(inputs, e, pruned, CA_CRL in crls[e.name][0].files)
                 for e in cas if e.imported is None}
    revocation = _Revocation(crls, pruned, rotations)
    changes = [entry_change(inputs, decided, e, revocation) for e in spec.entries]
    output = housekeeping.output_folder(inputs, changes)
    orphans = [housekeeping.orphan(inputs, name, files, issuers.get(name)) for name, files in state.orphans.items()]
    rotating = tuple(Rotation(r.ca, r.phase.value, r.move_at, r.finish_at, r.retired_until) for r in rollovers.values()
                     if r.phase is not Phase.NONE and decided[r.ca].action is not Action.BLOCKED)
    warnings = (*housekeeping.warnings(inputs), *(r.warning for r in rollovers.values() if r.warning))
    return Plan(spec, now, (*([output] if output else []), *changes, *orphans), warnings, rotating)


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
        rotation, generations = revocation.rotations.get(entry.name, (FileDecision(), ()))
        content = _unique(ca_files(inputs, d, entry) + crl_files + rotation)  # never an imported CA's
        materials = replace(materials, crl=crl_content, kept_crl=inputs[entry.name].crl.value,
                            generations=generations)
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
    r = inputs.rollover(entry.name)
    action = d.action or (Action.ROTATE if r.start or r.move or r.finish else
                          Action.REPACK if content.files or rest.chmod or remove else Action.UNCHANGED)
    head = (Reason(Kind.CREATE, names=content.files),) if action is Action.CREATE else (*d.reasons, *content.reasons)
    return Change(entry.name, action, (*head, *rest.reasons), d.new_key, d.new_cert, content.files, rest.chmod,
                  remove, materials=materials)


def _unique(decision: FileDecision) -> FileDecision:
    """A file two steps both write (a move's ca.crt, reissued too) is written once."""
    return replace(decision, files=tuple(dict.fromkeys(decision.files)))


def _materials(inputs: Inputs, d: CertDecision, entry: Entry) -> Materials:
    """What apply needs besides the decision: the key it uses (None: it generates one), the
    certificate on disk (used when kept), and for a leaf its chain, anchor, trusted roots and passwords."""
    s = inputs[entry.name]
    key = s.next_key.value if d.adopt_staged else None if d.new_key else s.key.value
    if entry.is_ca:  # a shared root's passphrase encrypts its ca.key
        shared = () if entry.shared is None else ((CA_KEY, Secret(s.wanted_key_password)),)
        return Materials(key, s.cert, secrets=shared)
    chain, anchor = chain_refs(inputs, entry)
    trusted = trusted_refs(inputs, entry) if entry.truststore is not None else ()
    return Materials(key, s.cert, chain, anchor, trusted, housekeeping.secrets(inputs, entry),
                     also_trusted=also_trusted(inputs, entry))
