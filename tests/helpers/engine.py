"""Helpers shared by the reconcile-engine tests (tests/engine/) and those that read its output.

Everything here looks at the output folder the way a user would: file bytes, modification times,
modes, and certificates parsed with cryptography or checked with the openssl command.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cryptography import x509

from mtlsgen import Plan, Spec, load_spec

# A small spec: one server with DNS and IP SANs, two clients; ECDSA everywhere to stay fast.
BASE_SPEC = """
version: 1
ca: {key: ecdsa-p256}
defaults: {key: ecdsa-p256}
servers:
  api:
    cn: api.example.com
    sans: [api.example.com, localhost, 127.0.0.1]
    validity: 90d
clients:
  alice: {}
  bob: {}
"""

# Two servers with DNS and IP SANs, a client with URI and email SANs and one with none; a subject.
PEERS_SPEC = """
version: 1
ca: {key: ecdsa-p256, cn: Engine Test Root}
defaults: {key: ecdsa-p256, subject: {O: Engine Test, C: US}}
servers:
  api:
    sans: [api.example.com, localhost, 127.0.0.1, "::1"]
  web:
    sans: [web.example.com, 10.1.2.3]
clients:
  alice:
    sans: ["spiffe://example.com/alice", alice@example.com]
  bob: {}
"""


# A CA with a CRL, a server with both stores, two clients: every kind of file apply writes.
STORES_AND_CRL_SPEC = """
version: 1
ca: {key: ecdsa-p256, crl: {validity: 30d}}
defaults: {key: ecdsa-p256}
servers:
  api:
    sans: [api.example.com]
    keystore: {formats: [pkcs12]}
    truststore: {formats: [pkcs12]}
clients:
  alice: {}
  bob: {key_rotation: never}
"""


def ca_key_usage(*, key_cert_sign: bool = True) -> x509.KeyUsage:
    """A CA's keyUsage, for CA certificates tests make outside mtlsgen (a company's CA, a P-224 one)."""
    return x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=key_cert_sign, crl_sign=True,
                         encipher_only=False, decipher_only=False)


def utcnow() -> datetime:
    """Now, in whole seconds (certificates keep whole seconds, so date arithmetic stays exact)."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def spec_at(folder: Path, text: str = BASE_SPEC) -> Spec:
    """Write `text` to folder/pki.yaml and load it."""
    folder.mkdir(parents=True, exist_ok=True)
    return load_spec(write(folder / "pki.yaml", text))


@dataclass(frozen=True)
class Node:
    is_dir: bool
    data: bytes | None
    mtime_ns: int
    mode: int


def snapshot(root: Path) -> dict[str, Node]:
    """Every folder and file under `root` (relative path → bytes, mtime, mode)."""
    out: dict[str, Node] = {}
    if not root.exists():
        return out
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        rel = path.relative_to(root).as_posix()
        is_dir = path.is_dir()
        out[rel] = Node(is_dir, None if is_dir else path.read_bytes(), st.st_mtime_ns, st.st_mode & 0o777)
    return out


def changed(before: dict[str, Node], after: dict[str, Node], *, files_only: bool = True) -> set[str]:
    """Paths added, removed, or whose bytes or mtime differ."""
    out = set()
    for rel in before.keys() | after.keys():
        a, b = before.get(rel), after.get(rel)
        if files_only and ((a and a.is_dir) or (b and b.is_dir)):
            continue
        if a is None or b is None or a.data != b.data or a.mtime_ns != b.mtime_ns:
            out.add(rel)
    return out


def differing_bytes(before: dict[str, Node], after: dict[str, Node]) -> set[str]:
    """Files added, removed, or whose bytes differ (mtime ignored)."""
    return {rel for rel in before.keys() | after.keys()
            if not (before.get(rel) and after.get(rel) and before[rel].data == after[rel].data)
            and not ((before.get(rel) or after[rel]).is_dir)}


def certs_in(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def cert(path: Path) -> x509.Certificate:
    return certs_in(path)[0]


def openssl_verify(ca_file: Path, cert_file: Path, *, at: datetime | None = None,
                   purpose: str | None = None) -> subprocess.CompletedProcess[str]:
    """`openssl verify -CAfile ca.crt tls.crt`, with the chain's intermediates (if any) untrusted."""
    args = ["openssl", "verify", "-CAfile", str(ca_file)]
    if at is not None:
        args += ["-attime", str(int(at.timestamp()))]
    if purpose is not None:
        args += ["-purpose", purpose]
    return subprocess.run([*args, str(cert_file)], capture_output=True, text=True, timeout=30, check=False)


def assert_verifies(ca_file: Path, cert_file: Path, *, at: datetime | None = None) -> None:
    result = openssl_verify(ca_file, cert_file, at=at)
    assert result.returncode == 0, f"openssl verify {cert_file}: {result.stdout}{result.stderr}"
    assert result.stdout.strip().endswith(": OK"), result.stdout


def pending_names(the_plan: Plan) -> dict[str, str]:
    return {c.name: c.action.value for c in the_plan.pending}


def run_umask0(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m mtlsgen ARGS` with umask 000, as a user with a permissive shell would run it."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    return subprocess.run([sys.executable, "-m", "mtlsgen", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False,
                          preexec_fn=lambda: os.umask(0))
