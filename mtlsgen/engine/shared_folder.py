"""A shared root CA's folder beside the spec (`ca.shared`): its encrypted key read with the passphrase,
what is unsafe in the folder, and a root left in the output from before."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..crypto.keys import PrivateKey
from ..crypto.pem import read_key
from ..errors import PlanError, SecretError
from ..spec.entries import ROOT, SharedSpec, Spec
from .layout import CA_FILES, CA_KEY, Layout
from .listing import kind, listing
from .loaded import Loaded, load


def read_shared_key(shared: SharedSpec, layout: Layout,
                     passphrase: str | None) -> tuple[Loaded[PrivateKey], bool, str | None]:
    """A shared CA's key: one the passphrase does not open is an error, never a reason for a new root
    (every clone would then issue under a different one); one in the clear is refused: it is committed."""
    shown = f"{shared.label}/{CA_KEY}"
    loaded = load(layout.key(ROOT, is_ca=True),
                   lambda data: read_key(data, passphrase, password_field="ca.shared.passphrase"))
    if loaded.value is not None:
        key, encrypted = loaded.value
        if not encrypted:
            raise PlanError(f"{shown} is not encrypted, and {shared.label}/ is meant to be committed: encrypt it "
                            f"with `openssl pkcs8 -topk8 -v2 aes-256-cbc -in {shown} -out {shown}.enc "
                            f"-passout {openssl_pass(shared)}`, then `mv {shown}.enc {shown}`")
        return Loaded(key), True, passphrase
    if loaded.problem == "unreadable: does not open with ca.shared.passphrase":
        raise SecretError(f"{shared.passphrase.where}: does not open {shown} (wrong passphrase?)")
    return Loaded(problem=loaded.problem), False, None


def openssl_pass(shared: SharedSpec) -> str:
    """The passphrase's source as openssl's -passin/-passout names it."""
    source = shared.passphrase
    return f"env:{source.ref}" if source.source == "env" else f"file:{source.ref}"


def shared_folder_problems(spec: Spec, shared: SharedSpec, output: Path) -> list[tuple[str, str]]:
    """What is unsafe in a shared CA's folder (paths relative to the output folder, as `unsafe` has
    them), and a root left in <output>/ca/ from before `ca.shared`, which is refused rather than
    replaced by a new root or silently abandoned."""
    home = os.path.relpath(shared.folder, output)
    try:
        mode = os.lstat(shared.folder).st_mode
    except OSError:
        mode = None
    unsafe: list[tuple[str, str]] = []
    if mode is not None and not stat.S_ISDIR(mode):
        unsafe.append((home, "a file" if stat.S_ISREG(mode) else kind(mode)))
    elif mode is not None:
        unsafe += [(f"{home}/{file}", what) for file, what in listing(shared.folder).unsafe]
    old = output / ROOT
    left = [f for f in CA_FILES if os.path.isfile(old / f) and not os.path.islink(old / f)] \
        if os.path.isdir(old) and not os.path.islink(old) else []
    if left:
        label, shown = os.path.relpath(old, spec.path.parent), shared.label
        held = mode is not None and any(os.path.lexists(shared.folder / f) for f in CA_FILES)
        if held:
            raise PlanError(f"{label}/ still holds a root CA ({', '.join(left)}), but ca.shared keeps the root in "
                            f"{shown}/: delete {label}/ once nothing needs that root")
        moves = " ".join(f"{label}/{f}" for f in left if f != CA_KEY)
        raise PlanError(f"{label}/ holds the root CA, and ca.shared keeps it in {shown}/ now: move it there, "
                        f"its key encrypted: `mkdir -p {shown} && openssl pkcs8 -topk8 -v2 aes-256-cbc -in "
                        f"{label}/{CA_KEY} -out {shown}/{CA_KEY} -passout {openssl_pass(shared)} && mv {moves} "
                        f"{shown}/ && rm -r {label}`, then apply again (or delete {label}/ for a new root)")
    return unsafe
