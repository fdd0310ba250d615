"""mtlsgen: a declarative PKI for mutual TLS, as a library (the CLI is a thin layer over it).

    spec = mtlsgen.load_spec("pki.yaml")
    plan = mtlsgen.plan(spec)            # what apply would do, and why; writes nothing
    plan, result = mtlsgen.apply(spec)   # make the output folder match the spec
    report = mtlsgen.status(spec)        # expiry and state of every certificate and store
    report = mtlsgen.verify(spec)        # chains, stores and loopback mTLS handshakes

The functions live in the private module _api; the layers under them are spec/, crypto/,
engine/, reports/ and cli/ (docs/architecture.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._api import apply, plan, status, verify
    from .engine.apply import ApplyResult, apply_plan
    from .engine.changes import Action, Change, Plan
    from .engine.plan import make_plan
    from .engine.reasons import Kind, Reason
    from .engine.state import State, read_state
    from .errors import (
        BlockedError,
        DamagedKeyError,
        LockError,
        MissingExtraError,
        MtlsgenError,
        OutputError,
        PlanError,
        SecretError,
        SpecError,
    )
    from .reports.status import StatusReport
    from .reports.verify import VerifyReport
    from .spec.entries import Entry, Spec
    from .spec.load import load_spec

__version__ = "0.1.0"

# Each public name and the module it lives in, imported on first use (PEP 562): `import mtlsgen` and
# `mtlsgen --version` load none of pydantic, cryptography or rich; `mtlsgen.plan` loads what plan needs.
_HOMES = {
    "apply": "._api", "plan": "._api", "status": "._api", "verify": "._api",
    "ApplyResult": ".engine.apply", "apply_plan": ".engine.apply",
    "Action": ".engine.changes", "Change": ".engine.changes", "Plan": ".engine.changes",
    "make_plan": ".engine.plan",
    "Kind": ".engine.reasons", "Reason": ".engine.reasons",
    "State": ".engine.state", "read_state": ".engine.state",
    **dict.fromkeys(("BlockedError", "DamagedKeyError", "LockError", "MissingExtraError", "MtlsgenError",
                     "OutputError", "PlanError", "SecretError", "SpecError"), ".errors"),
    "StatusReport": ".reports.status",
    "VerifyReport": ".reports.verify",
    "Entry": ".spec.entries", "Spec": ".spec.entries",
    "load_spec": ".spec.load",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'mtlsgen' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value  # once: later look-ups do not come here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "Action",
    "ApplyResult",
    "BlockedError",
    "Change",
    "DamagedKeyError",
    "Entry",
    "Kind",
    "LockError",
    "MissingExtraError",
    "MtlsgenError",
    "OutputError",
    "Plan",
    "PlanError",
    "Reason",
    "SecretError",
    "Spec",
    "SpecError",
    "State",
    "StatusReport",
    "VerifyReport",
    "__version__",
    "apply",
    "apply_plan",
    "load_spec",
    "make_plan",
    "plan",
    "read_state",
    "status",
    "verify",
]
