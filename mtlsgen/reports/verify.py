"""verify: will these files work together? Key pairs, chains (cryptography's verifier), stores, and
real TLS handshakes on 127.0.0.1 between every server and every client, plus two that must fail."""

from __future__ import annotations

import re
import ssl
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from ipaddress import ip_address
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import verification

from ..crypto.certs import issue_ca, issue_leaf
from ..crypto.keys import generate_key, key_matches
from ..crypto.pem import certs_pem, key_pem
from ..engine.changes import Plan
from ..engine.reasons import Reason
from ..engine.state import State, anchor_of
from ..spec.entries import Entry, RenewBefore, Role, Spec
from ..spec.names import San
from . import tls
from .status import store_problems


@dataclass(frozen=True)
class Check:
    kind: str
    subject: str
    ok: bool
    detail: str = ""  # what verify saw; a store's problem is the plan's `reason` instead
    reason: Reason | None = None


@dataclass(frozen=True)
class VerifyReport:
    checks: tuple[Check, ...]

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.ok)


def _verifier_name(san: San) -> x509.DNSName | x509.IPAddress:
    if san.kind == "IP":
        return x509.IPAddress(ip_address(san.value))
    # A wildcard is checked with one concrete name it must cover.
    return x509.DNSName(san.value.replace("*", "mtlsgen-verify", 1))


def chain_checks(spec: Spec, state: State, entry: Entry, now: datetime) -> list[Check]:
    """Key pair, then the chain to its root with cryptography's verifier, per SAN for servers."""
    s = state[entry.name]
    if not s.certs.value:
        return [Check("certificate", entry.name, False, f"tls.crt {s.certs.problem}")]
    if s.key.value is None:
        return [Check("key pair", entry.name, False, f"tls.key {s.key.problem}")]
    leaf, intermediates = s.certs.value[0], list(s.certs.value[1:])
    matches = key_matches(leaf, s.key.value)
    out = [Check("key pair", entry.name, matches, "" if matches else "tls.crt does not match tls.key")]
    root_name = spec.root_of(entry.name).name
    root = anchor_of(state, root_name, lambda name: state[name].cert)
    if root is None:
        return [*out, Check("chain", entry.name, False, f"{root_name}'s certificate is missing")]
    builder = verification.PolicyBuilder().store(verification.Store([root])).time(now)
    verifiers: list[tuple[str, verification.ServerVerifier | verification.ClientVerifier]]
    if entry.role == "server":
        verifiers = [(f"as {san}", builder.build_server_verifier(_verifier_name(san)))
                     for san in entry.sans if san.kind in ("DNS", "IP")]
    else:
        verifiers = [("as a client", builder.build_client_verifier())]
    for label, verifier in verifiers:
        try:
            verifier.verify(leaf, intermediates)
            out.append(Check("chain", entry.name, True, f"{label}, to {root_name}"))
        except verification.VerificationError as exc:
            out.append(Check("chain", entry.name, False, f"{label}: {verifier_detail(str(exc))}"))
    return out


ED25519_CA = ("cryptography's X.509 verifier does not accept Ed25519 CA keys (use ecdsa-p256 or rsa for CAs); "
              "TLS peers may still accept it")
_ALGORITHM_PARAMS = re.compile(r"AlgorithmIdentifier \{[^{}]*?params: ([A-Za-z0-9_]+)"
                               r"(?:\(NamedCurve\(ObjectIdentifier \{ oid: ([0-9.]+) \}\)\))?")
_DEBUG_BLOCK = re.compile(r"\s*\{[^{}]*\}")  # `Name { field: value, … }`, Rust's Debug formatting


def verifier_detail(text: str) -> str:
    """cryptography's VerificationError text as one readable line, without Rust Debug structures."""
    line = " ".join(text.split())
    forbidden = "Forbidden public key algorithm" in line or "Forbidden signature algorithm" in line
    if forbidden and re.search(r"\bEd25519\b", line):
        return ED25519_CA
    algorithms = iter([_algorithm(*found) for found in _ALGORITHM_PARAMS.findall(line)])
    while True:  # innermost first, so nested structures go too
        shorter = _DEBUG_BLOCK.sub("", line)
        if shorter == line:
            break
        line = shorter
    # "Forbidden … algorithm: AlgorithmIdentifier { oid: …, params: Dsa(…) }" → "…: Dsa"
    line = re.sub(r"\bAlgorithmIdentifier\b", lambda m: next(algorithms, m.group(0)), line)
    return re.sub(r"\([^()]*PhantomData[^()]*\)", "", line).strip()


def _algorithm(params: str, curve_oid: str) -> str:
    """The readable part of a Debug AlgorithmIdentifier: `Ec` and its curve's name, `Rsa`, `Dsa`…"""
    if not curve_oid:
        return params
    try:
        curve = ec.get_curve_for_oid(x509.ObjectIdentifier(curve_oid))().name
    except (LookupError, ValueError):
        curve = curve_oid
    return f"{params} (curve {curve})"


def handshake_checks(spec: Spec, state: State, now: datetime) -> list[Check]:
    """Every client against every server, then the clients each server must refuse. A server with a
    CRL file (ca.crl) loads it and checks whole chains, as it would be deployed."""
    layout = state.layout

    def trusted(entry: Entry) -> bytes:
        return certs_pem([c for r in spec.trusted_roots(entry.name)
                          if (c := anchor_of(state, r, lambda name: state[name].cert)) is not None])

    def usable(entry: Entry) -> bool:
        # Files ssl could not load (a key that is not the certificate's, a missing root) would raise;
        # the key pair and chain checks already report them, so they sit out the handshakes.
        s = state[entry.name]
        return (not entry.revoked and s.cert is not None and s.key.value is not None
                and key_matches(s.cert, s.key.value)
                and all(state[r].cert is not None for r in spec.trusted_roots(entry.name)))

    def own(entry: Entry, side: ssl._SSLMethod) -> ssl.SSLContext:
        ctx = tls.context(side, trusted(entry), layout.cert(entry.name, is_ca=False),
                          layout.key(entry.name, is_ca=False), state[entry.name].key_password)
        if side == ssl.PROTOCOL_TLS_SERVER and state[entry.name].crl_bundle.value is not None:
            ctx = tls.with_crls(ctx, layout.crl(entry.name))
        return ctx

    servers = [e for e in spec.entries if e.role == "server" and usable(e)]
    clients = [e for e in spec.entries if e.role == "client" and usable(e)]
    out = []
    with tempfile.TemporaryDirectory(prefix="mtlsgen-verify-") as tmp:
        folder = Path(tmp)
        foreign_cert, foreign_key = _foreign_client(folder, now)
        for server in servers:
            # A concrete name first; a server with only wildcards is reached as one name they cover.
            names = sorted((s for s in server.sans if s.kind in ("DNS", "IP")), key=lambda s: s.value.startswith("*"))
            name = str(_verifier_name(names[0]).value) if names else server.cn
            server_ctx = own(server, ssl.PROTOCOL_TLS_SERVER)
            for client in clients:
                outcome = tls.handshake(server_ctx, own(client, ssl.PROTOCOL_TLS_CLIENT), name)
                out.append(Check("handshake", f"{client.name} → {server.name}", outcome.ok,
                                 f"as {name}" if outcome.ok else outcome.detail))
            refused = [("no client certificate",
                        tls.context(ssl.PROTOCOL_TLS_CLIENT, trusted(server), None, None, None)),
                       ("client from a foreign CA",
                        tls.context(ssl.PROTOCOL_TLS_CLIENT, trusted(server), foreign_cert, foreign_key, None))]
            for label, (cert_file, key_file) in _revoked_clients(spec, state, server, folder, now):
                refused.append((label, tls.context(ssl.PROTOCOL_TLS_CLIENT, trusted(server), cert_file, key_file,
                                                   None)))
            for label, client_ctx in refused:
                outcome = tls.handshake(server_ctx, client_ctx, name)
                detail = (f"refused ({outcome.detail})" if outcome.refused_by_server else
                          "ACCEPTED: the server lets it in" if outcome.ok else
                          f"not tested: the connection failed on the client's side ({outcome.detail})")
                kind = "revocation" if label.startswith("revoked") else "refusal"
                out.append(Check(kind, f"{label} → {server.name}", outcome.refused_by_server, detail))
    return out


REVOKED_PROBES = 3  # serials tried per CRL: enough to prove the file is read, cheap at any CRL size


def _revoked_clients(spec: Spec, state: State, server: Entry, folder: Path,
                     now: datetime) -> list[tuple[str, tuple[Path, Path]]]:
    """For the CRLs in the server's ca.crl: client certificates carrying revoked serials, signed by the
    CA that revoked them (verify holds its key), which the server must refuse. A revoked client's own
    files are gone after apply; a certificate with its serial from its CA is what a kept copy would be."""
    crls = state[server.name].crl_bundle.value or ()
    out: list[tuple[str, tuple[Path, Path]]] = []
    for ca in (e for e in spec.entries if e.is_ca):
        s = state[ca.name]
        crl = next((c for c in crls if s.cert is not None and c.issuer == s.cert.subject), None)
        if crl is None or s.cert is None or s.key.value is None:
            continue
        # What follows the probe in its chain file: its CA and that CA's issuers, up to (not) the root.
        chain = [c for e in (ca, *spec.chain(ca.name))[:-1] if (c := state[e.name].cert) is not None]
        for revoked in list(crl)[:REVOKED_PROBES]:
            probe = _probe_entry(f"revoked-{revoked.serial_number:x}", ca.name)
            key = generate_key("ecdsa-p256")
            cert = issue_leaf(probe, key.public_key(), issuer_cert=s.cert, issuer_key=s.key.value, now=now,
                              serial=revoked.serial_number)
            cert_file, key_file = folder / f"{probe.name}.crt", folder / f"{probe.name}.key"
            cert_file.write_bytes(certs_pem([cert, *chain]))
            key_file.write_bytes(key_pem(key))
            out.append((f"revoked serial {revoked.serial_number:x} of {ca.name}", (cert_file, key_file)))
    return out


def _probe_entry(name: str, issuer: str | None, role: Role = "client") -> Entry:
    """A throwaway entry for a certificate verify makes to test a server (never written to the output)."""
    return Entry(name, role, f"mtlsgen verify {name}", subject=(), sans=(San("DNS", f"{name}.invalid"),),
                 key="ecdsa-p256", validity=timedelta(days=1), renew_before=RenewBefore("1h", timedelta(hours=1)),
                 usages=("clientAuth",) if role == "client" else (), issuer=issuer, key_rotation="always", line=0)


def _foreign_client(folder: Path, now: datetime) -> tuple[Path, Path]:
    """A throwaway CA and client certificate that no truststore of the spec may accept."""
    ca_entry = _probe_entry("foreign-ca", None, "ca")
    client_entry = _probe_entry("foreign", "foreign-ca")
    ca_key, client_key = generate_key("ecdsa-p256"), generate_key("ecdsa-p256")
    ca_cert = issue_ca(ca_entry, ca_key.public_key(), issuer_cert=None, issuer_key=ca_key, now=now)
    cert = issue_leaf(client_entry, client_key.public_key(), issuer_cert=ca_cert, issuer_key=ca_key, now=now)
    cert_path, key_path = folder / "foreign.crt", folder / "foreign.key"
    cert_path.write_bytes(certs_pem([cert]))
    key_path.write_bytes(key_pem(client_key))
    return cert_path, key_path


def make_verify(spec: Spec, state: State, plan: Plan, *, now: datetime) -> VerifyReport:
    checks: list[Check] = []
    for entry in spec.entries:
        if entry.is_ca or entry.revoked:
            continue
        checks += chain_checks(spec, state, entry, now)
        for store, problem in store_problems(plan, state, entry):
            checks.append(Check("store", f"{entry.name}/{store.file_name}", problem is None,
                                "opens and holds what it should" if problem is None else "", problem))
    checks += handshake_checks(spec, state, now)
    return VerifyReport(tuple(checks))
