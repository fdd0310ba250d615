"""Planner step for a server's `ca.crl`: the CRLs of every CA that can issue the clients it trusts,
in one PEM file, as nginx `ssl_crl`, Tomcat `certificateRevocationListFile` and OpenSSL's
`-crl_check_all` want them. They check the whole client chain and refuse every client when one CA
of it has no CRL (measured: docs/PITFALLS), so the file holds the root's CRL and every intermediate's.
"""

from __future__ import annotations

from collections.abc import Collection

from ..crypto.pem import crl_der
from ..spec.entries import Entry
from .decisions import Inputs
from .layout import CA_CRL
from .reasons import Kind, Reason, file_problem
from .revocation import Pruned, revocation_active, tree
from .rollover_files import bundle_refs, crl_on_disk


def bundle_cas(inputs: Inputs, entry: Entry, pruned: Pruned) -> tuple[str, ...]:
    """The CAs whose CRLs a server's ca.crl holds (none for a client, or while nothing can be revoked)."""
    if entry.role != "server" or entry.revoked:
        return ()
    cas = tuple(ca.name for root in inputs.spec.trusted_roots(entry.name)
                if revocation_active(inputs, root, pruned) for ca in tree(inputs, root) if ca.is_ca)
    return bundle_refs(inputs, cas)


def bundle_reason(inputs: Inputs, entry: Entry, cas: tuple[str, ...], rewritten: Collection[str]) -> Reason | None:
    """Why the server's ca.crl must be written: a CRL in it is renewed, or it does not hold the CRLs on disk."""
    if not cas:
        return None
    renewed = tuple(ca for ca in cas if ca in rewritten)
    if renewed:
        return Reason(Kind.CRL_BUNDLE_RENEWED, CA_CRL, names=renewed)
    current = inputs[entry.name].crl_bundle
    if current.value is None:
        return file_problem(CA_CRL, current.problem)
    on_disk = [crl_der(c) for c in current.value]
    wanted = [crl_der(c) for ref in cas if (c := crl_on_disk(inputs, ref)) is not None]
    return None if on_disk == wanted else Reason(Kind.CRL_BUNDLE_STALE, CA_CRL, names=cas)
