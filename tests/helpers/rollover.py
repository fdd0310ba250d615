"""A CA's rotation driven through its four phases with the library, and the peers that judge each phase.

docs/spec.md, "Rotating a CA": P0 before; P1 trust first (after `apply --rotate CA`); P2 the move (the
first apply once `trust_first` has passed: leaves reissued under the new CA, bundles trust both); P3
finished (the first apply once `overlap` has passed after the move: bundles trust only the new CA).
The timeline starts 60 days in the past, so that every file of every phase is still valid at the
real clock and real peers (Python ssl, the JDK, curl) can be handed any phase's files.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509

import mtlsgen
from mtlsgen import Plan
from tests.helpers.engine import utcnow, write
from tests.helpers.tls import Handshake, handshake

TRUST_FIRST = timedelta(days=7)
OVERLAP = timedelta(days=30)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

# A root that rotates; the server has both stores in both formats, for the JDK.
ROOT_SPEC = """
version: 1
ca: {cn: Rollover Root, key: ecdsa-p256, rollover: {trust_first: 7d, overlap: 30d}}
defaults: {key: ecdsa-p256}
servers:
  api:
    sans: [localhost, 127.0.0.1]
    keystore: {formats: [pkcs12, jks]}
    truststore: {formats: [pkcs12, jks]}
clients:
  alice:
    truststore: {formats: [pkcs12]}
"""

# An intermediate that rotates under a root that does not, with revocation active in the tree: the
# server's ca.crl holds a CRL for every CA a client's chain can hold.
INTERMEDIATE_SPEC = """
version: 1
ca: {cn: Rollover Root, key: ecdsa-p256, crl: {validity: 90d}}
intermediates:
  services-ca:
    cn: Rollover Services CA
    key: ecdsa-p256
    crl: {validity: 90d}
    rollover: {trust_first: 7d, overlap: 30d}
defaults: {key: ecdsa-p256}
servers:
  api:
    issuer: services-ca
    sans: [localhost, 127.0.0.1]
    keystore: {formats: [pkcs12, jks]}
    truststore: {formats: [pkcs12, jks]}
clients:
  alice:
    issuer: services-ca
    truststore: {formats: [pkcs12]}
"""


@dataclass(frozen=True)
class Timeline:
    """When each phase's apply runs: t0 (P0), the rotation (P1), the move (P2), the finish (P3)."""

    t0: datetime

    @property
    def rotate(self) -> datetime:
        return self.t0 + DAY

    @property
    def move(self) -> datetime:
        return self.rotate + TRUST_FIRST + HOUR

    @property
    def finish(self) -> datetime:
        return self.move + OVERLAP + HOUR

    def at(self, phase: int) -> datetime:
        return (self.t0, self.rotate, self.move, self.finish)[phase]


def timeline() -> Timeline:
    return Timeline(utcnow() - 60 * DAY)


@dataclass(frozen=True)
class Phases:
    """The output folder copied after each phase's apply: snapshots[i] is P<i>'s certs/ folder."""

    ca: str
    snapshots: tuple[Path, ...]
    plans: tuple[Plan, ...]
    timeline: Timeline

    def entry(self, phase: int, name: str) -> Path:
        return self.snapshots[phase] / name


def crls_in(path: Path) -> list[x509.CertificateRevocationList]:
    """Every CRL of a PEM file (a server's ca.crl holds one per CA a client's chain may hold)."""
    end = "-----END X509 CRL-----"
    blocks = [block + end for block in path.read_text().split(end) if "-----BEGIN X509 CRL-----" in block]
    return [x509.load_pem_x509_crl(block.strip().encode()) for block in blocks]


def build_phases(folder: Path, text: str, ca: str) -> Phases:
    """Apply `text` in `folder` at each phase's time, rotating `ca` for P1; copy certs/ to P0..P3."""
    spec = mtlsgen.load_spec(write(folder / "pki.yaml", text))
    when = timeline()
    snapshots, plans = [], []
    for phase in range(4):
        the_plan, _ = mtlsgen.apply(spec, now=when.at(phase), rotate=[ca] if phase == 1 else [])
        plans.append(the_plan)
        snapshot = folder / f"P{phase}"
        shutil.copytree(folder / "certs", snapshot)
        snapshots.append(snapshot)
    return Phases(ca, tuple(snapshots), tuple(plans), when)


# -- Python ssl ------------------------------------------------------------------------------------

def server_context(entry: Path, *, check_crls: bool = False) -> ssl.SSLContext:
    """A server with mandatory client certificates, trusting its ca.crt; with `check_crls`, it also
    loads its ca.crl and checks a CRL for every CA of the client's chain (nginx's `ssl_crl`)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(entry / "tls.crt", entry / "tls.key")
    context.load_verify_locations(cafile=entry / "ca.crt")
    context.verify_mode = ssl.CERT_REQUIRED
    if check_crls:
        context.load_verify_locations(cafile=entry / "ca.crl")
        context.verify_flags |= ssl.VERIFY_CRL_CHECK_CHAIN
    return context


def client_context(entry: Path) -> ssl.SSLContext:
    """A client presenting its tls.crt and verifying the server against its ca.crt."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=entry / "ca.crt")
    context.load_cert_chain(entry / "tls.crt", entry / "tls.key")
    return context


# What a connection came to, in the words the tests expect.
OK = "ok"
SERVER_REFUSES = "server refuses the client"
CLIENT_REFUSES = "client refuses the server"


def outcome(result: Handshake) -> str:
    """OK, or which side's certificate check failed (the other side then only sees an alert)."""
    if result.client_error is None and result.server_error is None and result.received == b"hello":
        return OK
    if result.client_error and "certificate verify failed" in result.client_error:
        return CLIENT_REFUSES
    if result.server_error and "certificate verify failed" in result.server_error:
        return SERVER_REFUSES
    return f"unexpected: {result}"


def python_mtls(server: Path, client: Path, *, check_crls: bool = False) -> Handshake:
    return handshake(server_context(server, check_crls=check_crls), client_context(client))


# -- the JDK server, and curl ----------------------------------------------------------------------

def curl_outcome(port: int, client: Path) -> str:
    """curl with the client's PEM files (ca.crt, tls.crt, tls.key) against https://localhost:PORT/."""
    result = subprocess.run(["curl", "-sS", "--max-time", "20", "-w", "\n%{http_code}",
                             "--cacert", str(client / "ca.crt"), "--cert", str(client / "tls.crt"),
                             "--key", str(client / "tls.key"), f"https://localhost:{port}/"],
                            capture_output=True, text=True, timeout=60, check=False, stdin=subprocess.DEVNULL)
    body, _, status = result.stdout.rpartition("\n")
    if result.returncode == 0 and status == "200" and body.strip() == "hello alice":
        return OK
    if result.returncode == 60:  # "SSL certificate problem": curl's own check of the server failed
        return CLIENT_REFUSES
    if result.returncode != 0 and status == "000":  # the server's alert ended the handshake
        return SERVER_REFUSES
    return f"unexpected: curl exit {result.returncode}, status {status}, {result.stderr.strip()}"
