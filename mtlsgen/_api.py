"""The operations the CLI offers, as library calls: plan a spec, apply it (under the lock)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone

from .crypto.stores import jks_module
from .engine.apply import ApplyResult, Progress, apply_plan
from .engine.changes import Plan
from .engine.fsio import ensure_output
from .engine.lock import OnWait, output_lock
from .engine.plan import make_plan
from .engine.state import read_state
from .errors import MissingExtraError
from .reports.status import StatusReport, make_status
from .reports.verify import VerifyReport, make_verify
from .spec.entries import Spec


def _require_extras(spec: Spec) -> None:
    """A spec asking for JKS needs pyjks; say so at plan time, before anything is written."""
    users = [(entry, store) for entry in spec.entries if not entry.revoked
             for store in (entry.keystore, entry.truststore) if store is not None and "jks" in store.formats]
    if not users:
        return
    try:
        jks_module()
    except MissingExtraError as exc:
        entry, store = users[0]
        field = f"{'servers' if entry.role == 'server' else 'clients'}.{entry.name}.{store.kind}.formats"
        line = spec.line_of(tuple(field.split(".")))
        raise MissingExtraError(f"{spec.path.name}:{line}: {field}: {exc}") from None


def plan(spec: Spec, *, now: datetime | None = None, replace: Iterable[str] = (),
         prune: bool = False, rotate: Iterable[str] = ()) -> Plan:
    """What apply would do, and why; reads the output folder, writes nothing."""
    _require_extras(spec)
    return make_plan(spec, read_state(spec), now=now or datetime.now(timezone.utc),
                     replace_names=replace, prune=prune, rotate=rotate)


def apply(spec: Spec, *, now: datetime | None = None, replace: Iterable[str] = (), prune: bool = False,
          rotate: Iterable[str] = (), progress: Progress | None = None, on_plan: Callable[[Plan], None] | None = None,
          lock_timeout: float | None = None, on_wait: OnWait | None = None) -> tuple[Plan, ApplyResult]:
    """Make the output folder match `spec`: plan under the lock, then carry the plan out.

    The lock is the output folder's own: another apply of it makes this one wait (forever, or at most
    `lock_timeout` seconds), telling `on_wait` once whom it waits for. `on_plan` sees the plan before
    anything is written (the CLI prints it there).
    """
    _require_extras(spec)
    now = now or datetime.now(timezone.utc)
    # os.path.isdir, not Path.is_dir: it is False for any OSError (a name too long, a loop), which
    # read_state then reports in one line.
    if not os.path.isdir(spec.output):
        # The lock needs the folder; plan first, so that a plan error creates nothing at all.
        make_plan(spec, read_state(spec), now=now, replace_names=replace, prune=prune, rotate=rotate)
        ensure_output(spec.output)
    with output_lock(spec.output, timeout=lock_timeout, on_wait=on_wait):
        the_plan = make_plan(spec, read_state(spec), now=now, replace_names=replace, prune=prune, rotate=rotate)
        if on_plan is not None:
            on_plan(the_plan)
        return the_plan, apply_plan(the_plan, progress=progress)


def status(spec: Spec, *, now: datetime | None = None, fail_within: timedelta | None = None) -> StatusReport:
    """Every certificate and store with its expiry and state; reads only."""
    _require_extras(spec)
    now = now or datetime.now(timezone.utc)
    state = read_state(spec)
    return make_status(spec, state, make_plan(spec, state, now=now), now=now, fail_within=fail_within)


def verify(spec: Spec, *, now: datetime | None = None) -> VerifyReport:
    """Key pairs, chains, stores and loopback mTLS handshakes; reads only."""
    _require_extras(spec)
    now = now or datetime.now(timezone.utc)
    state = read_state(spec)
    return make_verify(spec, state, make_plan(spec, state, now=now), now=now)
