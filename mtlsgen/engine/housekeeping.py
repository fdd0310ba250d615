"""Planner steps for what is not a certificate: password files, file modes, files the spec dropped,
the output folder's own .gitignore and mode, orphan folders, and the plan's warnings.

docs/spec.md: file modes that a chmod changed are restored without rewriting the files; store and
password files the spec no longer asks for are removed; folders of entries no longer in the spec are
orphans, which only --prune deletes (mtlsgen's files only; the folder only if nothing else is left).
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence

from ..errors import PlanError
from ..spec.entries import Entry, Password
from .changes import Action, Change, Materials, Secret
from .decisions import FileDecision, Inputs
from .layout import (
    CA_FILES,
    DIR_MODE,
    GITIGNORE,
    GITIGNORE_TEXT,
    MANAGED_FILES,
    OPTIONAL_LEAF_FILES,
    STORE_CACHE,
    STORE_FILES,
    TLS_KEY,
    file_mode,
    is_temp,
    leaf_files,
    password_file_name,
    password_files,
)
from .reasons import Kind, Reason
from .revocation import revocation_active


def secrets(inputs: Inputs, entry: Entry) -> tuple[tuple[str, Secret], ...]:
    """The passwords apply uses for the entry, by what they protect; a generated one not yet on disk
    is made by apply and kept in its password file."""
    s = inputs[entry.name]
    out: list[tuple[str, Secret]] = []
    for store in s.stores:
        if store.spec.kind not in dict(out):
            out.append((store.spec.kind, _secret(store.spec.password, store.password, store.spec.kind)))
    if entry.key_password is not None:
        out.append((TLS_KEY, _secret(entry.key_password, s.wanted_key_password, TLS_KEY)))
    return tuple(out)


def _secret(source: Password, value: str | None, purpose: str) -> Secret:
    return Secret(value, password_file_name(purpose) if source.source == "generate" else None)


def new_password_files(entry: Entry, files: tuple[str, ...], entry_secrets: tuple[tuple[str, Secret], ...]) -> \
        tuple[str, ...]:
    """The password files apply writes because a file it writes needs a password not generated yet."""
    needs = {STORE_FILES[f][0] if f in STORE_FILES else f for f in files}
    return tuple(secret.file for purpose, secret in entry_secrets
                 if purpose in needs and secret.value is None and secret.file is not None)


def modes(inputs: Inputs, entry: Entry, rewritten: tuple[str, ...], extra: tuple[str, ...] = ()) -> FileDecision:
    """Permission bits a chmod changed are restored (files apply rewrites get theirs anyway); `extra`
    are files the entry has beyond what its spec names (a server's ca.crl)."""
    current = inputs[entry.name].modes
    managed = list(CA_FILES) if entry.is_ca else [*leaf_files(entry), *password_files(entry), *extra]
    wanted = {"": DIR_MODE, **{name: file_mode(name) for name in managed if name not in rewritten}}
    changed = [(name, mode) for name, mode in wanted.items() if name in current and current[name] != mode]
    return FileDecision(reasons=tuple(Reason(Kind.MODE, name, old=f"{current[name]:04o}", new=f"{mode:04o}")
                                      for name, mode in changed),
                        chmod=tuple(name for name, _ in changed))


def leftovers(inputs: Inputs, entry: Entry, extra: tuple[str, ...] = ()) -> FileDecision:
    """Stores, password files and a CRL file the spec no longer asks for would go stale: remove them."""
    if entry.is_ca:
        return FileDecision()
    current = inputs[entry.name].modes
    wanted = set(leaf_files(entry)) | set(password_files(entry)) | set(extra)
    gone = tuple(name for name in sorted(set(OPTIONAL_LEAF_FILES) - wanted) if name in current)
    return FileDecision(reasons=tuple(Reason(Kind.DROPPED, name) for name in gone), remove=gone)


def refuse_unsafe(inputs: Inputs) -> None:
    """A symbolic link or a special file where mtlsgen keeps its own file or folder is refused, never
    followed or replaced: writing through `certs/alice -> ../app` would overwrite the app's files, and
    replacing the link would silently undo what someone set up on purpose."""
    if inputs.state.unsafe:
        path, what = inputs.state.unsafe[0]
        shown = posixpath.normpath(f"{inputs.spec.output_label}/{path}")  # a shared CA's: "pki-ca/ca.key"
        kind = 'folder' if '/' not in path.removeprefix('../') and path not in (GITIGNORE, STORE_CACHE) else 'file'
        raise PlanError(f"{shown} is {what}, where mtlsgen keeps its own {kind}; it never writes through a link "
                        f"or into a special file: remove {shown} and apply again")


def temps(names: tuple[str, ...]) -> FileDecision:
    """Temporary files an interrupted apply left (a kill between writing and renaming): removed."""
    return FileDecision(reasons=tuple(Reason(Kind.TEMP, name) for name in names), remove=names)


def store_cache(inputs: Inputs, changes: Sequence[Change]) -> str | None:
    """Why apply writes the store cache (engine/store_cache.py), if it does: it writes or removes a store
    anyway ("stores"), or the cache does not hold exactly the stores that opened ("missing", …). A plain
    no-op with a valid cache writes nothing."""
    for change in changes:
        if change.action not in (Action.UNCHANGED, Action.ORPHAN, Action.BLOCKED) and \
                any(name in STORE_FILES for name in (*change.files, *change.remove)):
            return "stores"
    cache = inputs.state.store_cache
    return None if cache.current else cache.problem


def output_folder(inputs: Inputs, changes: Sequence[Change] = ()) -> Change | None:
    """The output folder's own files: its .gitignore (written with the folder's first files), its mode,
    temporary files an interrupted apply left in it, and the store cache when `changes` (the entries')
    or a missing or stale cache call for it."""
    state, label = inputs.state, inputs.spec.output_label
    cache = store_cache(inputs, changes)
    materials = Materials(store_cache=state.store_cache)
    if not state.output_exists:
        names = (GITIGNORE, *([STORE_CACHE] if cache else []))
        return Change(f"{label}/", Action.CREATE, (Reason(Kind.CREATE, names=names),), files=names,
                      scope="output", materials=materials)
    if state.gitignore != GITIGNORE_TEXT and state.foreign:
        # Not a folder mtlsgen made (its .gitignore says "*"): someone's home, or a shared folder.
        # Writing a .gitignore or changing its mode there would damage it.
        shown = ", ".join(state.foreign[:3]) + (", …" if len(state.foreign) > 3 else "")
        raise PlanError(f"the output folder {label}/ already holds files mtlsgen did not write "
                        f"({shown}); point `output:` at a new or empty folder")
    reasons, files, chmod = [], [], []
    if state.gitignore != GITIGNORE_TEXT:
        reasons.append(Reason(Kind.GITIGNORE, GITIGNORE, detail="missing" if state.gitignore is None else "wrong"))
        files.append(GITIGNORE)
    elif state.gitignore_mode is not None and state.gitignore_mode != file_mode(GITIGNORE):
        reasons.append(Reason(Kind.MODE, GITIGNORE, old=f"{state.gitignore_mode:04o}",
                              new=f"{file_mode(GITIGNORE):04o}"))
        chmod.append(GITIGNORE)
    if state.output_mode is not None and state.output_mode != DIR_MODE:
        reasons.append(Reason(Kind.MODE, "", old=f"{state.output_mode:04o}", new=f"{DIR_MODE:04o}"))
        chmod.append("")
    if cache:
        reasons.append(Reason(Kind.STORE_CACHE, STORE_CACHE, detail=cache))
        files.append(STORE_CACHE)
    leftovers = temps(state.temps)
    if not reasons and not leftovers.remove:
        return None
    return Change(f"{label}/", Action.REPACK, (*reasons, *leftovers.reasons), files=tuple(files),
                  chmod=tuple(chmod), remove=leftovers.remove, scope="output", materials=materials)


def orphan(inputs: Inputs, name: str, files: tuple[str, ...], issuer: str | None) -> Change:
    """A folder of an entry no longer in the spec; pruning revokes its still-valid certificate in
    `issuer`'s CRL (revocation.py), then deletes mtlsgen's files, never the user's."""
    ours = tuple(f for f in files if f in MANAGED_FILES or is_temp(f))
    theirs = tuple(f for f in files if f not in ours)
    kind = Kind.PRUNE if inputs.prune else Kind.ORPHAN
    reason = Reason(kind, f"{name}/", names=theirs, detail=issuer or "")
    if inputs.prune:
        return Change(name, Action.PRUNE, (reason,), remove=ours, scope="orphan")
    return Change(name, Action.ORPHAN, (reason,), scope="orphan")


def warnings(inputs: Inputs) -> tuple[str, ...]:
    out = []
    for entry in inputs.spec.entries:
        passwords = [entry.key_password, *(s.password for s in (entry.keystore, entry.truststore) if s)]
        if entry.imported and entry.imported.password:
            passwords.append(entry.imported.password)
        out += [f"{p.where} is a literal password in the spec; prefer {{env: NAME}} or {{file: path}}"
                for p in passwords if p is not None and p.source == "literal"]
        if entry.imported is not None and inputs[entry.name].above and revocation_active(inputs, entry.name, {}):
            out.append(f"{inputs.spec.path.name}:{entry.line}: {entry.name}: servers' ca.crl cannot hold the CRLs "
                       "of the CAs above the imported one (mtlsgen does not hold their keys); servers checking "
                       "whole chains refuse every client until you append them (docs/revocation.md)")
        if entry.is_ca and entry.key == "ed25519" and entry.imported is None:
            out.append(f"{inputs.spec.path.name}:{entry.line}: {entry.name}: an Ed25519 CA key is refused by "
                       "some verifiers (cryptography's among them, so `mtlsgen verify`); prefer ecdsa-p256")
    return tuple(out)
