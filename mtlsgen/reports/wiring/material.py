"""What one entry's configuration points at: its files as the user will type them, its stores, and
its passwords as *sources* (a variable and the line that sets it), never as values.

Every file name comes from engine.layout; this module only decides how a path is shown (relative to
the folder the user runs the snippet in, or absolute) and what a password's variable is called.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ...engine.layout import Layout, StoreFormat
from ...errors import MtlsgenError
from ...spec.entries import Entry, Password, Spec, StoreSpec

Side = Literal["server", "client"]
STORE_TYPES: dict[StoreFormat, str] = {"pkcs12": "PKCS12", "jks": "JKS"}  # Java's KeyStore type names
DEFAULT_PORT = 8443


@dataclass(frozen=True)
class Request:
    """How the user asked for a snippet (the CLI's options)."""

    target: str
    absolute: bool = False
    cwd: Path | None = None  # None: the process's current folder
    listen: str | None = None  # servers: "[ADDRESS:]PORT"
    url: str | None = None  # clients: the server to call
    store_format: StoreFormat | None = None  # None: the first format the spec lists


@dataclass(frozen=True)
class Secret:
    """A password as a snippet names it: `${var}`, set by `shell_line` (runnable) or `comment_line`
    (for a configuration file's header, where a `:` guard would read oddly)."""

    var: str
    shell_line: str
    comment_line: str


@dataclass(frozen=True)
class Store:
    path: str
    type: str  # PKCS12 or JKS
    alias: str
    password: Secret


@dataclass(frozen=True)
class Listen:
    address: str | None
    port: int


@dataclass(frozen=True)
class Url:
    text: str
    host: str
    port: int

    @property
    def is_ip(self) -> bool:
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return False
        return True


@dataclass(frozen=True)
class Material:
    """Everything a target needs for one entry, paths already shown as the user will use them."""

    spec: Spec
    entry: Entry
    side: Side
    request: Request
    cert: str
    key: str
    ca: str
    keystore: Store | None
    truststore: Store | None
    key_password: Secret | None

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def spec_shown(self) -> str:
        return show_path(self.spec.path, self.request)

    @property
    def chain_depth(self) -> int:
        """How many CAs stand above the peers this entry verifies (nginx's ssl_verify_depth,
        openssl's -Verify): the longest chain of any entry on the other side, at least 1."""
        peer = "client" if self.side == "server" else "server"
        return max((len(self.spec.chain(e.name)) for e in self.spec.entries if e.role == peer), default=1)

    @property
    def depth_note(self) -> str:
        """An imported root may itself sit under CAs (its cert file holds them): the spec cannot count
        those without reading the file, which snippets never do."""
        if self.spec.root_of(self.name).imported is None:
            return ""
        return "add the CAs above your imported CA (in its cert file) to this depth"

    @property
    def has_intermediates(self) -> bool:
        return len(self.spec.chain(self.name)) > 1


def show_path(path: Path, request: Request) -> str:
    """A path relative to where the user runs the snippet, or absolute (links kept: not resolved)."""
    absolute = Path(os.path.abspath(path))
    if request.absolute:
        return str(absolute)
    return os.path.relpath(absolute, request.cwd or Path.cwd())


def variable(entry: str, what: str) -> str:
    """`api-server` + `keystore` → API_SERVER_KEYSTORE_PASSWORD (a valid shell name whatever the entry)."""
    base = re.sub(r"[^A-Z0-9]+", "_", entry.upper()).strip("_")
    return f"{'_' if base[:1].isdigit() else ''}{base}_{what.upper()}_PASSWORD"


_WORDS = {"keystore": "key store password", "truststore": "trust store password", "key": "tls.key password"}


def secret(spec: Spec, entry: Entry, password: Password, what: str, generated: Path, request: Request) -> Secret:
    """The variable a snippet uses for one password, and the one line that sets it from its source."""
    words = _WORDS[what]
    if password.source == "env":
        var = password.ref
        where = _safe(password.where)
        return Secret(var, f': "${{{var}:?set it first: {where} reads the {words} from it}}"',
                      f"{var}: yours already ({where} reads the {words} from it)")
    var = variable(entry.name, what)
    if password.source == "literal":
        where = _safe(password.where)
        env = f"mtlsgen env {entry.name} {_safe(show_path(spec.path, request))}"
        return Secret(var, f': "${{{var}:?set it to the {words} written in {where} ({env} prints it)}}"',
                      f"export {var}=…  # the {words} is written in {where}; `{env}` prints it")
    source = Path(password.ref) if password.source == "file" else generated
    line = f'export {var}="$(cat {shlex.quote(show_path(source, request))})"'
    return Secret(var, line, line)


def _safe(text: str) -> str:
    """Text that may stand inside `"${VAR:?…}"` in a shell: no quote, brace, dollar or backquote."""
    return re.sub(r'["`$\\{}]', "", text)


def store(spec: Spec, entry: Entry, spec_store: StoreSpec | None, request: Request) -> Store | None:
    if spec_store is None:
        return None
    fmt = request.store_format or spec_store.formats[0]
    if fmt not in spec_store.formats:
        listed = ", ".join(spec_store.formats)
        raise MtlsgenError(f"{entry.name}'s {spec_store.kind} is made as {listed}, not {fmt}: "
                           f"drop --format or add {fmt} to its formats in {spec.path.name}")
    layout = Layout.of(spec)
    kind = spec_store.kind
    password = secret(spec, entry, spec_store.password, kind, layout.password_file(entry.name, kind), request)
    return Store(show_path(layout.store(entry.name, kind, fmt), request), STORE_TYPES[fmt], spec_store.alias,
                 password)


def material(spec: Spec, entry: Entry, side: Side, request: Request) -> Material:
    layout = Layout.of(spec)
    key_password = None
    if entry.key_password is not None:
        key_password = secret(spec, entry, entry.key_password, "key", layout.key_password_file(entry.name), request)
    return Material(
        spec, entry, side, request,
        cert=show_path(layout.cert(entry.name, is_ca=False), request),
        key=show_path(layout.key(entry.name, is_ca=False), request),
        ca=show_path(layout.ca_bundle(entry.name), request),
        keystore=store(spec, entry, entry.keystore, request),
        truststore=store(spec, entry, entry.truststore, request),
        key_password=key_password)


def listen(request: Request) -> Listen:
    """`--listen [ADDRESS:]PORT`: where a server snippet listens (default: every address, port 8443)."""
    text = request.listen or str(DEFAULT_PORT)
    address, _, port = text.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise MtlsgenError(f"--listen: {text!r} is not [ADDRESS:]PORT, like 8443 or 127.0.0.1:8443")
    return Listen(address.strip("[]") or None, int(port))


def url(spec: Spec, request: Request) -> Url:
    """`--url`, or https:// the first server of the spec on port 8443: where a client snippet calls."""
    from urllib.parse import urlsplit

    text = request.url or _default_url(spec)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme != "https" or not parts.hostname:
        raise MtlsgenError(f"--url: {text!r} is not an https:// URL with a host")
    return Url(text, parts.hostname, port or 443)


def _default_url(spec: Spec) -> str:
    for entry in spec.entries:
        if entry.role == "server" and not entry.revoked:
            names = [s.value for s in entry.sans if s.kind == "DNS" and not s.value.startswith("*")]
            ips = [s.value for s in entry.sans if s.kind == "IP"]
            host = names[0] if names else (f"[{ips[0]}]" if ips and ":" in ips[0] else ips[0] if ips else None)
            if host:
                return f"https://{host}:{DEFAULT_PORT}/"
    return f"https://server.example.com:{DEFAULT_PORT}/"


def needs(m: Material, *, keystore: bool = False, truststore: bool = False, why: str) -> None:
    """A one-line error naming what the spec lacks and how to add it, when a target needs stores."""
    missing = [kind for kind, wanted, have in (("keystore", keystore, m.keystore), ("truststore", truststore,
                                                                                     m.truststore))
               if wanted and have is None]
    if not missing:
        return
    section = "servers" if m.entry.role == "server" else "clients"
    lines = ", ".join(f"{kind}: {{formats: [pkcs12]}}" for kind in missing)
    raise MtlsgenError(f"{m.name} has no {' and no '.join(missing)}: {why}; add `{lines}` under "
                       f"{section}.{m.name} in {m.spec.path.name}, then run mtlsgen apply")
