"""Wiring: configuration for one entry, per target (Spring Boot, Tomcat, nginx, curl, Python, a JVM,
OpenSSL), and its passwords as environment assignments.

    snippet(spec, "api-server", Request("nginx"))   # text to paste; passwords appear as ${VARIABLES}
    environment(spec, "api-server")                 # [(variable, value)]: the one place values come out

Snippets are text from the resolved Spec and engine.layout (no file is read; servers.crl_file looks
whether a server's ca.crl exists); only `environment` reads password files.
"""

from __future__ import annotations

from collections.abc import Callable

from ...engine.layout import Layout
from ...engine.secrets import resolve_password
from ...errors import MtlsgenError
from ...spec.entries import Entry, Spec
from . import clients, servers, spring
from .material import Material, Request, Side, material

__all__ = ["TARGETS", "Request", "environment", "snippet", "targets_for"]

Render = Callable[[Material], str]

# Each target, for the sides where it makes sense.
TARGETS: dict[str, dict[Side, Render]] = {
    "spring": {"server": spring.server, "client": spring.client},
    "tomcat": {"server": servers.tomcat},
    "nginx": {"server": servers.nginx},
    "curl": {"client": clients.curl},
    "python": {"client": clients.python},
    "java": {"client": clients.java},
    "openssl": {"server": servers.openssl_server, "client": clients.openssl_client},
}


def _entry(spec: Spec, name: str) -> Entry:
    if name not in spec.by_name:
        leaves = ", ".join(e.name for e in spec.entries if not e.is_ca and not e.revoked) or "none"
        raise MtlsgenError(f"{spec.path.name} has no entry {name!r} (servers and clients: {leaves})")
    entry = spec[name]
    if entry.is_ca:
        raise MtlsgenError(f"{name} is a CA; snippets configure a server or a client")
    if entry.revoked:
        raise MtlsgenError(f"{name} is revoked in {spec.path.name}; it has no files to configure")
    return entry


def _sides(entry: Entry) -> list[Side]:
    """The sides an entry can play: its own, then the other one when its usages allow it
    (a server with clientAuth also calls other servers)."""
    own: Side = "server" if entry.role == "server" else "client"
    other: Side = "client" if own == "server" else "server"
    return [own, *([other] if f"{other}Auth" in entry.usages else [])]


def targets_for(side: Side) -> list[str]:
    return [name for name, sides in TARGETS.items() if side in sides]


def snippet(spec: Spec, name: str, request: Request) -> str:
    """Configuration for entry `name` and `request.target`; never holds a password value."""
    entry = _entry(spec, name)
    renders = TARGETS.get(request.target)
    if renders is None:
        raise MtlsgenError(f"no target {request.target!r}; targets: {', '.join(TARGETS)}")
    side = next((s for s in _sides(entry) if s in renders), None)
    if side is None:
        wanted = " or ".join(renders)
        raise MtlsgenError(f"{name} is a {entry.role}; --for {request.target} configures a {wanted} "
                           f"(targets for a {entry.role}: {', '.join(targets_for(_sides(entry)[0]))})")
    return renders[side](material(spec, entry, side, request))


def environment(spec: Spec, name: str) -> list[tuple[str, str]]:
    """The entry's passwords as (variable, value), variables named as the snippets name them."""
    entry = _entry(spec, name)
    m = material(spec, entry, _sides(entry)[0], Request("env"))
    layout = Layout.of(spec)
    sources = [(s.password, m_store.password.var, layout.password_file(name, s.kind))
               for s, m_store in ((entry.keystore, m.keystore), (entry.truststore, m.truststore))
               if s is not None and m_store is not None]
    if entry.key_password is not None and m.key_password is not None:
        sources.append((entry.key_password, m.key_password.var, layout.key_password_file(name)))
    out: dict[str, str] = {}
    for password, var, generated in sources:
        value = resolve_password(password, generated)
        if value is None:
            raise MtlsgenError(f"{generated} does not exist yet: run mtlsgen apply first")
        out.setdefault(var, value)
    return list(out.items())
