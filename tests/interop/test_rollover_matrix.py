"""The rotation's guarantee, with real handshakes: at every phase a peer still holding the previous
phase's files and a peer holding the current ones complete mTLS, in both directions; a peer two phases
behind gets exactly the outcome docs/spec.md ("Rotating a CA") gives.

Two scenarios, each built once (tests/helpers/rollover.py: P0 before, P1 trust first, P2 moved, P3
finished, the output folder copied after each): a root that rotates, and an intermediate that rotates
under a fixed root with revocation active, its server checking a CRL for every CA of a client's chain.
The server is `api` from phase i, the client `alice` from phase j. Judges: Python ssl on loopback, and
the JDK server (tests/interop/java/MtlsServer.java) on the JKS and PKCS#12 stores with curl as client.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes

from tests.helpers.engine import certs_in, utcnow
from tests.helpers.java import compile_server, java_server
from tests.helpers.rollover import (
    CLIENT_REFUSES,
    INTERMEDIATE_SPEC,
    OK,
    ROOT_SPEC,
    SERVER_REFUSES,
    Phases,
    build_phases,
    crls_in,
    curl_outcome,
    outcome,
    python_mtls,
)

pytestmark = pytest.mark.interop

ADJACENT = [(0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2)]  # (server's phase, client's phase)
TWO_BEHIND = [(0, 2), (2, 0), (1, 3), (3, 1)]

# What a peer two phases behind meets (server's phase, client's phase) → outcome.
ROOT_TWO_BEHIND = {
    (0, 2): SERVER_REFUSES,  # P0 trusts only the old root; the P2 client's leaf is under the new one
    (2, 0): CLIENT_REFUSES,  # same, the other way round
    (1, 3): CLIENT_REFUSES,  # P3 trusts only the new root; the P1 server's leaf is still under the old one
    (3, 1): SERVER_REFUSES,
}
UNKNOWN_ROOT = ("self-signed certificate in certificate chain", "unable to get local issuer certificate")
# Under a fixed root every chain ends in the same trust anchor: without CRL checking, all get in.
INTERMEDIATE_TWO_BEHIND = dict.fromkeys(TWO_BEHIND, OK)
# With CRL checking only the server looks at CRLs, and it needs one for the client's intermediate:
# a P0 server has no CRL of the new intermediate, a P3 server no longer has the old one's.
INTERMEDIATE_CRL_TWO_BEHIND = {(0, 2): SERVER_REFUSES, (2, 0): OK, (1, 3): OK, (3, 1): SERVER_REFUSES}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Phases:
    return build_phases(tmp_path_factory.mktemp("root"), ROOT_SPEC, "ca")


@pytest.fixture(scope="module")
def intermediate(tmp_path_factory: pytest.TempPathFactory) -> Phases:
    return build_phases(tmp_path_factory.mktemp("intermediate"), INTERMEDIATE_SPEC, "services-ca")


# -- the snapshots are the phases they claim to be ------------------------------------------------

def test_root_phases_hold_what_each_phase_promises(root: Phases) -> None:
    p0, p1, p2, p3 = (root.entry(i, "ca") for i in range(4))
    old, new = certs_in(p0 / "ca.crt")[0], certs_in(p1 / "next.crt")[0]
    for moved, old_file in ((p2, "previous.crt"), (p3, "retired.crt")):
        assert certs_in(moved / "ca.crt") == [new] and certs_in(moved / old_file) == [old]
    # Bundles: the old root, both, both, the new root; leaves: under the old root until the move.
    fp = {c: c.fingerprint(hashes.SHA256()) for c in (old, new)}
    trust = [{c.fingerprint(hashes.SHA256()) for c in certs_in(root.entry(i, "alice") / "ca.crt")}
             for i in range(4)]
    assert trust == [{fp[old]}, {fp[old], fp[new]}, {fp[old], fp[new]}, {fp[new]}]
    for phase, signer in ((0, old), (1, old), (2, new), (3, new)):
        leaf = certs_in(root.entry(phase, "api") / "tls.crt")[0]
        leaf.verify_directly_issued_by(signer)  # raises if that root's key did not sign the leaf


def test_intermediate_server_crl_bundle_follows_the_phases(intermediate: Phases) -> None:
    """P1: the root's, the old and the new intermediate's CRLs; P2: the root's, the new (current) and
    the previous one's; P3: the root's and the new one's. All still fresh at the real clock."""
    ca = [intermediate.entry(i, "services-ca") for i in range(4)]
    root_key = certs_in(intermediate.entry(0, "ca") / "ca.crt")[0].public_key()
    old_key = certs_in(ca[0] / "ca.crt")[0].public_key()
    new_key = certs_in(ca[1] / "next.crt")[0].public_key()
    names = {0: "root", 1: "old", 2: "new"}
    now = utcnow()
    signers = []
    for phase in range(4):
        crls = crls_in(intermediate.entry(phase, "api") / "ca.crl")
        signed = []
        for crl in crls:
            assert crl.next_update_utc is not None and crl.next_update_utc > now, (phase, crl.next_update_utc)
            signed.append(next(names[i] for i, key in enumerate((root_key, old_key, new_key))
                               if crl.is_signature_valid(key)))  # type: ignore[arg-type]
        signers.append(sorted(signed))
    assert signers == [["old", "root"], ["new", "old", "root"], ["new", "old", "root"], ["new", "root"]]
    # The chain a leaf presents: leaf + old intermediate until the move, leaf + new one after.
    chains = [certs_in(intermediate.entry(i, "alice") / "tls.crt") for i in range(4)]
    assert [len(c) for c in chains] == [2, 2, 2, 2]
    old_cert, new_cert = certs_in(ca[0] / "ca.crt")[0], certs_in(ca[1] / "next.crt")[0]
    assert [c[1] for c in chains] == [old_cert, old_cert, new_cert, new_cert]


# -- Python ssl ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("server", "client"), ADJACENT)
def test_root_adjacent_phases_complete_mtls(root: Phases, server: int, client: int) -> None:
    result = python_mtls(root.entry(server, "api"), root.entry(client, "alice"))
    assert outcome(result) == OK, result
    assert result.client_cn == "alice"


@pytest.mark.parametrize(("server", "client"), TWO_BEHIND)
def test_root_two_phases_behind(root: Phases, server: int, client: int) -> None:
    result = python_mtls(root.entry(server, "api"), root.entry(client, "alice"))
    assert outcome(result) == ROOT_TWO_BEHIND[(server, client)], result
    refuser = result.server_error if ROOT_TWO_BEHIND[(server, client)] == SERVER_REFUSES else result.client_error
    # OpenSSL finds a root of the same name in the trust store, whose key did not sign the leaf.
    assert refuser is not None and any(why in refuser for why in UNKNOWN_ROOT), result


@pytest.mark.parametrize("check_crls", [True, False], ids=["crl-check", "no-crl-check"])
@pytest.mark.parametrize(("server", "client"), ADJACENT)
def test_intermediate_adjacent_phases_complete_mtls(intermediate: Phases, server: int, client: int,
                                                    check_crls: bool) -> None:
    result = python_mtls(intermediate.entry(server, "api"), intermediate.entry(client, "alice"),
                         check_crls=check_crls)
    assert outcome(result) == OK, result
    assert result.client_cn == "alice"


@pytest.mark.parametrize("check_crls", [True, False], ids=["crl-check", "no-crl-check"])
@pytest.mark.parametrize(("server", "client"), TWO_BEHIND)
def test_intermediate_two_phases_behind(intermediate: Phases, server: int, client: int, check_crls: bool) -> None:
    expected = (INTERMEDIATE_CRL_TWO_BEHIND if check_crls else INTERMEDIATE_TWO_BEHIND)[(server, client)]
    result = python_mtls(intermediate.entry(server, "api"), intermediate.entry(client, "alice"),
                         check_crls=check_crls)
    assert outcome(result) == expected, result
    if expected == SERVER_REFUSES:
        assert result.server_error is not None and "unable to get certificate CRL" in result.server_error, result


# -- the JDK server on the JKS and PKCS#12 stores, curl as the client ------------------------------

@pytest.fixture(scope="module")
def server_classes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not all(shutil.which(t) for t in ("java", "javac", "curl")):
        pytest.skip("needs a JDK (java, javac) and curl")
    return compile_server(tmp_path_factory.mktemp("classes"))


def _neighbours(phase: int, reach: int) -> list[int]:
    return [j for j in range(4) if 0 < abs(j - phase) <= reach]


@pytest.fixture(params=["jks", "p12"])
def ext(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=range(4), ids=lambda i: f"server-P{i}")
def java_root(request: pytest.FixtureRequest, root: Phases, server_classes: Path, ext: str,
              tmp_path: Path) -> Iterator[tuple[int, int]]:
    phase = int(request.param)
    with java_server(server_classes, root.entry(phase, "api"), ext, tmp_path / "server.log") as port:
        yield phase, port


def test_jdk_root_server_and_curl_across_phases(root: Phases, java_root: tuple[int, int]) -> None:
    """The JDK server with phase i's stores; curl with the client's files of every phase within two:
    neighbours get in both ways round (the server's phase before or after the client's), and a client
    two phases away meets what the Python ssl matrix says."""
    phase, port = java_root
    got = {(phase, j): curl_outcome(port, root.entry(j, "alice")) for j in _neighbours(phase, 2)}
    expected = {(phase, j): OK if abs(j - phase) == 1 else ROOT_TWO_BEHIND[(phase, j)] for j in _neighbours(phase, 2)}
    assert got == expected


def test_jdk_intermediate_server_and_curl_across_phases(intermediate: Phases, server_classes: Path, ext: str,
                                                        tmp_path: Path) -> None:
    """The same under the rotating intermediate (the JDK server checks no CRLs): every phase within two
    of the server's gets in, since all chains end in the one root."""
    for phase in range(4):
        with java_server(server_classes, intermediate.entry(phase, "api"), ext, tmp_path / f"P{phase}.log") as port:
            got = {j: curl_outcome(port, intermediate.entry(j, "alice")) for j in _neighbours(phase, 2)}
        assert got == dict.fromkeys(_neighbours(phase, 2), OK), phase
