"""Errors a user can cause, all rooted in one class so the CLI catches exactly these.

    MtlsgenError                 anything a user can cause and fix; the CLI prints it on one line
    ├── SpecError                the spec file is unreadable or invalid ("pki.yaml:14: field: reason")
    ├── PlanError                the spec is valid but cannot be carried out on what is on disk
    │   └── MissingExtraError    an optional dependency (pyjks for JKS) is not installed
    └── LockError                another apply holds the lock

Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class MtlsgenError(Exception):
    """Root of every error a user can cause; its message is one sentence."""


class SpecError(MtlsgenError):
    """The spec file cannot be read or does not follow the format."""


class PlanError(MtlsgenError):
    """The spec cannot be reconciled with the files on disk."""


class MissingExtraError(PlanError):
    """An optional dependency the spec needs is not installed."""


class LockError(MtlsgenError):
    """Another apply holds the lock on the spec."""
