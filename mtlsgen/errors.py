"""Errors a user can cause, all rooted in one class so the CLI catches exactly these.

    MtlsgenError                 anything a user can cause and fix; the CLI prints it on one line, exit 1
    ├── SpecError                the spec file is unreadable or invalid ("pki.yaml:14: field: reason")
    ├── SecretError              a password source gives no password (unset variable, unreadable file)
    ├── PlanError                the spec is valid but cannot be reconciled with what is on disk
    │   └── BlockedError         apply refuses a plan that holds a blocked change
    ├── OutputError              the output folder cannot be read or written (permissions, full disk)
    │   └── LockError            another apply holds the lock on the output folder
    ├── MissingExtraError        an optional dependency (pyjks for JKS) is not installed
    └── DamagedKeyError          a key on disk made a signature that does not verify; nothing was written

Each class is raised for its one meaning only, and the CLI maps them to exit codes in one place
(mtlsgen/cli/commands.py, `user_errors`). Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class MtlsgenError(Exception):
    """Root of every error a user can cause; its message is one sentence."""


class SpecError(MtlsgenError):
    """The spec file cannot be read or does not follow the format."""


class SecretError(MtlsgenError):
    """A password's source (an environment variable, a file) gives no usable password."""


class PlanError(MtlsgenError):
    """The spec cannot be reconciled with the files on disk (the planner's decision)."""


class BlockedError(PlanError):
    """The plan holds a change that only an explicit request (`--replace`) may carry out."""


class OutputError(MtlsgenError):
    """A file or folder of the output cannot be read, written, or removed."""


class LockError(OutputError):
    """Another apply holds the lock on the output folder."""


class MissingExtraError(MtlsgenError):
    """An optional dependency the spec needs is not installed."""


class DamagedKeyError(MtlsgenError):
    """A key on disk signed something that does not verify with its own public key."""
