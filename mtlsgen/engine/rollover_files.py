"""Planner steps for the files of a CA's rotation: next.* and previous.*, their CRLs, and what a
server's ca.crl and a leaf's trust hold while a CA rotates (rollover.py decides the phases).

docs/spec.md, "Rotating a CA": while revocation is active every generation that peers trust
publishes a CRL, as the current CA does, and the old CA's CRL is kept fresh while previous.* exist.
"""

from __future__ import annotations

from dataclasses import replace
from typing import cast

from cryptography import x509

from ..crypto.crl import crl_signed_by
from ..crypto.keys import key_matches
from ..spec.entries import Entry
from .changes import CrlContent, GenerationMaterials
from .decisions import FileDecision, Inputs
from .layout import CA_CRL, CA_CRT, CA_KEY, Generation, generation_files
from .loaded import Loaded
from .reasons import Kind, Reason, file_problem
from .revocation import Pruned, next_number, revocation_active
from .rollover import generation_ref
from .state import GenerationState


def ca_rollover_files(inputs: Inputs, entry: Entry, pruned: Pruned,
                      crl_written: bool) -> tuple[FileDecision, tuple[GenerationMaterials, ...]]:
    """The CA folder's files this plan writes or removes for the rotation, and what apply needs for
    them; `crl_written`: ca.crl is already rewritten by the revocation step."""
    r = inputs.rollover(entry.name)
    active = revocation_active(inputs, inputs.spec.root_of(entry.name).name, pruned)
    s = inputs[entry.name]
    decision = FileDecision(reasons=r.reasons, remove=r.remove)
    out: list[GenerationMaterials] = []
    if r.start:
        crt, key, crl = generation_files("next")
        content = CrlContent((), 1, entry.crl_validity) if active else None
        decision += FileDecision((key, crt, *([crl] if content else [])))
        out.append(GenerationMaterials("next", crl=content, start=True))
    elif r.keeps("next"):
        decision += _kept(inputs, entry, s.incoming, "next", active, out)
    if r.move:
        # The moved state's current files are the incoming CA's: ca.key and ca.crt take them (apply
        # stages the key as ca.key.next first), ca.crl the incoming CRL; the old CA goes to previous.*.
        keep_crl = s.crl.value is not None and not crl_written
        decision += FileDecision((CA_KEY, CA_CRT, *([CA_CRL] if keep_crl else [])))
    if r.keeps("previous"):  # written at the move (the moved state's outgoing CA)
        decision += _kept(inputs, entry, s.outgoing, "previous", active, out, copied=r.move)
    if r.keeps("retired"):  # written at the finish, from previous.*
        decision += _kept(inputs, entry, s.outgoing if r.finish else s.retired, "retired", active, out,
                          copied=r.finish)
    # A file written now is never also removed (a finish replaces an older retired.*).
    written = set(decision.files)
    return replace(decision, remove=tuple(f for f in decision.remove if f not in written)), tuple(out)


def _kept(inputs: Inputs, entry: Entry, g: GenerationState, which: Generation, active: bool,
          out: list[GenerationMaterials], *, copied: bool = False) -> FileDecision:
    """A generation kept on disk: its CRL kept fresh; `copied`, its files written under `which`'s names
    (a move's previous.*, a finish's retired.*) — the key only when there is one to write."""
    if g.key.value is not None and (g.cert is None or not key_matches(g.cert, g.key.value)):
        g = replace(g, key=Loaded(problem="unreadable: not the key of its certificate"))  # never signs for it
    files, content = _generation_crl(inputs, entry, g, which, active, moved=copied)
    if copied:
        crt, key, _ = generation_files(which)
        files += FileDecision((crt, *([key] if g.key.value is not None else [])))
    out.append(GenerationMaterials(which, g.key.value, g.cert, content, g.crl.value))
    return files


def _generation_crl(inputs: Inputs, entry: Entry, g: GenerationState, which: Generation, active: bool,
                    moved: bool = False) -> tuple[FileDecision, CrlContent | None]:
    """A generation's CRL: written (its number grown, its serials kept) when missing while revocation
    is active, not signed by the generation's key, or a third of its validity remains; at a move the
    old ca.crl is copied to previous.crl as it is."""
    file = generation_files(which)[2]
    current = g.crl.value
    if current is None:
        if not active:
            return FileDecision(), None
        why = file_problem(file, g.crl.problem)
    elif g.key.value is None or not crl_signed_by(current, g.key.value.public_key()):
        why = Reason(Kind.CRL_FOREIGN, file, names=(entry.name,))
    elif (due := current.next_update_utc) is None or due - entry.crl_validity / 3 <= inputs.now:
        why = Reason(Kind.CRL_DUE, file, when=due)
    else:
        return FileDecision((file,) if moved else ()), None
    if g.key.value is None or g.cert is None:
        return FileDecision(), None  # nothing to sign it with: the rotation's own reasons say why
    kept = tuple((rc.serial_number, rc.revocation_date_utc) for rc in current or ())
    return FileDecision((file,), (why,)), CrlContent(kept, next_number(current), entry.crl_validity)


def bundle_refs(inputs: Inputs, cas: tuple[str, ...]) -> tuple[str, ...]:
    """A server's CRL list (`cas`: revocation is active in their trees) with each rotating CA's other
    trusted generation after the CA itself: servers check the CRL of every CA on a client's chain."""
    out: list[str] = []
    for ca in cas:
        out.append(ca)
        which = inputs.rollover(ca).trusted()
        if which is not None:
            out.append(generation_ref(ca, which))
    return tuple(out)


def crl_on_disk(inputs: Inputs, ref: str) -> x509.CertificateRevocationList | None:
    """The CRL a bundle reference names, as it is on disk (in the moved state: after the move)."""
    ca, _, which = ref.partition("/")
    if not which:
        return inputs[ca].crl.value
    return inputs[ca].generation(cast(Generation, which)).crl.value
