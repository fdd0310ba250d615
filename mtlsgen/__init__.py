"""mtlsgen: a declarative PKI for mutual TLS, as a library (the CLI is a thin layer over it)."""

from __future__ import annotations

from .errors import LockError, MissingExtraError, MtlsgenError, PlanError, SpecError
from .spec import Entry, Spec, load_spec

__version__ = "0.1.0"

__all__ = [
    "Entry",
    "LockError",
    "MissingExtraError",
    "MtlsgenError",
    "PlanError",
    "Spec",
    "SpecError",
    "__version__",
    "load_spec",
]
