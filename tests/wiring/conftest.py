"""The PKIs the wiring tests configure real servers with: a root with a CRL (flat), or an issuing CA
with a CRL under a root (hierarchy); each with a server holding key and trust stores, a client with a
PKCS#12 key store and trust store, and a client that was issued, copied away, then revoked — its copy
must be refused by every server snippet, which loads the server's ca.crl (the CRLs of every CA)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import mtlsgen
from mtlsgen.reports.wiring import Request, snippet

FLAT = """\
version: 1
ca: {cn: Wiring Test Root, key: ecdsa-p256, validity: 1y, crl: {validity: 30d}}
defaults: {key: ecdsa-p256, validity: 30d}
servers:
  api-server:
    sans: [api.wiring.test, localhost, 127.0.0.1]
    keystore: {formats: [jks, pkcs12]}
    truststore: {formats: [jks, pkcs12]}
clients:
  client:
    keystore: {formats: [pkcs12]}
    truststore: {formats: [pkcs12]}
  gone: {issuer: ca}
"""
HIERARCHY = """\
version: 1
ca: {cn: Wiring Test Root, key: ecdsa-p256, validity: 1y}
intermediates:
  issuing: {cn: Wiring Issuing CA, validity: 180d, crl: {validity: 30d}}
defaults: {key: ecdsa-p256, validity: 30d}
servers:
  api-server:
    issuer: issuing
    sans: [api.wiring.test, localhost, 127.0.0.1]
    keystore: {formats: [pkcs12]}
    truststore: {formats: [pkcs12]}
clients:
  client:
    issuer: issuing
    keystore: {formats: [pkcs12]}
    truststore: {formats: [pkcs12]}
  gone: {issuer: issuing}
"""
SPECS = {"flat": FLAT, "hierarchy": HIERARCHY}


@dataclass(frozen=True)
class Wired:
    folder: Path  # holds pki.yaml and certs/; snippets are printed and run from here
    spec: mtlsgen.Spec
    revoked: Path  # a copy of `gone`'s files, taken before it was revoked

    def snippet(self, name: str, target: str, **options: Any) -> str:
        """What `mtlsgen snippet NAME --for TARGET` prints when run in `folder`."""
        return snippet(self.spec, name, Request(target, cwd=self.folder, **options))

    def password(self, name: str, kind: str) -> str:
        return (self.folder / "certs" / name / f"{kind}.password").read_text().strip()


def _wire(folder: Path, text: str) -> Wired:
    """Apply `text` with `gone` issued, copy gone's files away, revoke it, apply again."""
    spec_file = folder / "pki.yaml"
    spec_file.write_text(text)
    mtlsgen.apply(mtlsgen.load_spec(spec_file))
    revoked = folder / "gone-copy"
    shutil.copytree(folder / "certs" / "gone", revoked)
    spec_file.write_text(text.replace("  gone: {", "  gone: {revoked: true, "))
    spec = mtlsgen.load_spec(spec_file)
    mtlsgen.apply(spec)
    assert not (folder / "certs" / "gone").exists()
    return Wired(folder, spec, revoked)


@pytest.fixture(scope="session")
def wired_pki(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Wired]:
    """`wired_pki("flat" | "hierarchy")`: each made once per session, when first asked for."""
    made: dict[str, Wired] = {}

    def make(kind: str) -> Wired:
        if kind not in made:
            made[kind] = _wire(tmp_path_factory.mktemp(f"wired-{kind}"), SPECS[kind])
        return made[kind]

    return make


@pytest.fixture(scope="session")
def wired(wired_pki: Callable[[str], Wired]) -> Wired:
    return wired_pki("flat")
