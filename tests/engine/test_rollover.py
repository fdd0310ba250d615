"""A CA's rotation as a user checks it after each apply (docs/spec.md, "Rotating a CA"): library calls
with an injected clock on real folders, the files read back and judged by `openssl verify`.

Setups start 60 days in the past (tests/helpers/rollover.py's timeline) so that every file is still
valid at the real clock that `openssl verify` uses.
"""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

import mtlsgen
from mtlsgen import Plan, Spec
from mtlsgen.engine.reasons import Kind
from mtlsgen.errors import PlanError
from tests.helpers.common import one_error_line, public_key_of, run_cli, texts
from tests.helpers.engine import (
    Node,
    assert_verifies,
    certs_in,
    differing_bytes,
    openssl_verify,
    snapshot,
    spec_at,
    utcnow,
)
from tests.helpers.rollover import DAY, HOUR, INTERMEDIATE_SPEC, OVERLAP, TRUST_FIRST, Timeline, timeline

SPEC = """
version: 1
ca: {cn: Rotating Root, key: ecdsa-p256, rollover: {trust_first: 7d, overlap: 30d}}
defaults: {key: ecdsa-p256}
servers:
  api:
    sans: [api.example.com, localhost]
    truststore: {formats: [pkcs12]}
clients:
  alice: {}
  bob: {key_rotation: never}
"""
LEAVES = ("api", "alice", "bob")
CA_FILES = ("ca.crt", "ca.key")
NEXT = ("next.crt", "next.key")
PREVIOUS = ("previous.crt", "previous.key")
RETIRED = ("retired.crt", "retired.key")


def kinds(the_plan: Plan, name: str) -> set[Kind]:
    return {reason.kind for reason in the_plan[name].reasons}


def _ca_files(out: Path) -> set[str]:
    return {p.name for p in (out / "ca").iterdir()}


def _truststore(entry: Path) -> list[x509.Certificate]:
    password = (entry / "truststore.password").read_text().strip().encode()
    loaded = pkcs12.load_pkcs12((entry / "truststore.p12").read_bytes(), password)
    return [c.certificate for c in loaded.additional_certs]


def changed_files(before: dict[str, Node], out: Path) -> set[str]:
    return differing_bytes(before, snapshot(out))


def public_key_of_cert(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _settled(spec: Spec, at: datetime, out: Path) -> None:
    """A plan a minute after `at` has nothing to do, and an apply then writes nothing."""
    later = at + timedelta(minutes=1)
    the_plan = mtlsgen.plan(spec, now=later)
    assert the_plan.pending == (), [(c.name, c.action.value, c.reasons) for c in the_plan.pending]
    before = snapshot(out)
    mtlsgen.apply(spec, now=later)
    assert differing_bytes(before, snapshot(out)) == set()


@pytest.fixture
def rotating(tmp_path: Path) -> tuple[Spec, Path, Timeline]:
    """SPEC applied at t0 and rotated at t0 + 1 day (trust first)."""
    spec = spec_at(tmp_path, SPEC)
    when = timeline()
    mtlsgen.apply(spec, now=when.t0)
    (tmp_path / "P0").mkdir()
    for name in ("ca.crt", "ca.key"):
        (tmp_path / "P0" / name).write_bytes((tmp_path / "certs" / "ca" / name).read_bytes())
    for leaf in LEAVES:
        (tmp_path / "P0" / f"{leaf}.crt").write_bytes((tmp_path / "certs" / leaf / "tls.crt").read_bytes())
    mtlsgen.apply(spec, now=when.rotate, rotate=["ca"])
    return spec, tmp_path / "certs", when


def test_rotate_makes_every_leaf_trust_both_cas_and_leaves_stay(tmp_path: Path) -> None:
    spec = spec_at(tmp_path, SPEC)
    when = timeline()
    mtlsgen.apply(spec, now=when.t0)
    out = tmp_path / "certs"
    old_ca = (out / "ca" / "ca.crt").read_bytes()
    before = snapshot(out)

    the_plan, _ = mtlsgen.apply(spec, now=when.rotate, rotate=["ca"])
    assert Kind.ROLLOVER_START in kinds(the_plan, "ca")
    for leaf in LEAVES:
        assert Kind.ROLLOVER_TRUST in kinds(the_plan, leaf)
    assert _ca_files(out) == {*CA_FILES, *NEXT}
    assert (out / "ca" / "ca.crt").read_bytes() == old_ca
    assert (out / "ca" / "next.key").stat().st_mode & 0o777 == 0o600
    incoming = certs_in(out / "ca" / "next.crt")[0]
    assert public_key_of(out / "ca" / "next.key") != public_key_of(out / "ca" / "ca.key")
    for leaf in LEAVES:
        trusted = certs_in(out / leaf / "ca.crt")
        assert len(trusted) == 2
        assert {c.subject.rfc4514_string() for c in trusted} == {"CN=Rotating Root"}
        assert set(trusted) == {x509.load_pem_x509_certificate(old_ca), incoming}
        assert_verifies(out / leaf / "ca.crt", out / leaf / "tls.crt")  # the old leaves, unchanged
    assert set(_truststore(out / "api")) == {x509.load_pem_x509_certificate(old_ca), incoming}
    # Only the incoming CA and the bundles are written: no leaf's certificate or key, no current CA file.
    assert differing_bytes(before, snapshot(out)) == {
        "ca/next.crt", "ca/next.key", "api/ca.crt", "api/truststore.p12", "alice/ca.crt", "bob/ca.crt",
        ".mtlsgen-stores.json"}  # the store cache learns the truststore apply wrote
    _settled(spec, when.rotate, out)


def test_plain_apply_during_trust_first_is_a_noop(rotating: tuple[Spec, Path, Timeline]) -> None:
    spec, out, when = rotating
    for at in (when.rotate + DAY, when.rotate + TRUST_FIRST - HOUR):
        assert mtlsgen.plan(spec, now=at).pending == ()
    before = snapshot(out)
    mtlsgen.apply(spec, now=when.rotate + TRUST_FIRST - HOUR)
    assert differing_bytes(before, snapshot(out)) == set()


def test_move_reissues_every_leaf_under_the_new_key(rotating: tuple[Spec, Path, Timeline]) -> None:
    spec, out, when = rotating
    old_ca = (out / "ca" / "ca.crt").read_bytes()
    old_key = public_key_of(out / "ca" / "ca.key")
    incoming, incoming_key = (out / "ca" / "next.crt").read_bytes(), public_key_of(out / "ca" / "next.key")

    the_plan, _ = mtlsgen.apply(spec, now=when.move)
    assert Kind.ROLLOVER_MOVE in kinds(the_plan, "ca")
    for leaf in LEAVES:
        assert Kind.ROLLOVER_MOVED in kinds(the_plan, leaf)
    assert _ca_files(out) == {*CA_FILES, *PREVIOUS}
    assert (out / "ca" / "previous.crt").read_bytes() == old_ca
    assert public_key_of(out / "ca" / "previous.key") == old_key
    assert (out / "ca" / "ca.crt").read_bytes() == incoming
    assert public_key_of(out / "ca" / "ca.key") == incoming_key
    for leaf in LEAVES:
        assert_verifies(out / "ca" / "ca.crt", out / leaf / "tls.crt")
        assert openssl_verify(out / "ca" / "previous.crt", out / leaf / "tls.crt").returncode != 0
        assert len(certs_in(out / leaf / "ca.crt")) == 2  # still both during the overlap
        assert_verifies(out / leaf / "ca.crt", out / leaf / "tls.crt")
    # A client that kept the old CA's leaf is still trusted by the moved server (and the other way).
    assert_verifies(out / "api" / "ca.crt", out.parent / "P0" / "alice.crt")
    assert len(_truststore(out / "api")) == 2
    _settled(spec, when.move, out)


def test_finish_leaves_only_the_new_ca_in_every_bundle(rotating: tuple[Spec, Path, Timeline]) -> None:
    spec, out, when = rotating
    mtlsgen.apply(spec, now=when.move)
    before_finish = snapshot(out)
    assert mtlsgen.plan(spec, now=when.finish - DAY).pending == ()  # overlap not over yet

    the_plan, _ = mtlsgen.apply(spec, now=when.finish)
    assert {c.name for c in the_plan.pending} == {"ca", *LEAVES, "certs/"}  # certs/: the store cache
    assert Kind.ROLLOVER_FINISH in kinds(the_plan, "ca")
    assert all(the_plan[leaf].action.value == "repack" for leaf in LEAVES)
    current = certs_in(out / "ca" / "ca.crt")
    for leaf in LEAVES:
        assert certs_in(out / leaf / "ca.crt") == current
        assert_verifies(out / leaf / "ca.crt", out / leaf / "tls.crt")
        assert openssl_verify(out / leaf / "ca.crt", out.parent / "P0" / f"{leaf}.crt").returncode != 0
    assert _truststore(out / "api") == current
    # The leaves themselves were not touched; the old CA is renamed retired.*, out of the way (its CRL).
    assert {p for p in differing_bytes(before_finish, snapshot(out)) if p.endswith(("tls.crt", "tls.key"))} == set()
    assert _ca_files(out) == {*CA_FILES, *RETIRED}
    assert before_finish["ca/previous.crt"].data == (out / "ca" / "retired.crt").read_bytes()
    _settled(spec, when.finish, out)


def test_overlap_counts_from_the_move_that_happened(rotating: tuple[Spec, Path, Timeline]) -> None:
    """Nobody applied during the whole schedule (a weekly CI job that was paused): the late apply moves,
    and peers still get `overlap` to pick up the moved files before the old CA leaves the bundles.
    Finishing a day after that move would strand every peer still on the old leaves (P1 files facing
    P3 files: refused, see tests/interop/test_rollover_matrix.py)."""
    spec, out, when = rotating
    late = when.rotate + TRUST_FIRST + OVERLAP + 3 * DAY
    the_plan, _ = mtlsgen.apply(spec, now=late)
    assert Kind.ROLLOVER_MOVE in kinds(the_plan, "ca")
    assert _ca_files(out) == {*CA_FILES, *PREVIOUS}
    day_after = mtlsgen.plan(spec, now=late + DAY)
    assert day_after.pending == (), [(c.name, c.action.value, c.reasons) for c in day_after.pending]
    for leaf in LEAVES:
        assert len(certs_in(out / leaf / "ca.crt")) == 2


def test_rotate_during_the_overlap_is_one_clear_error(tmp_path: Path) -> None:
    """Library and CLI (real clock): a rotation moved 3 days ago is in its overlap for ~27 days more."""
    spec = spec_at(tmp_path, SPEC)
    now = utcnow()
    start = now - 11 * DAY
    mtlsgen.apply(spec, now=start)
    mtlsgen.apply(spec, now=start + DAY, rotate=["ca"])
    mtlsgen.apply(spec, now=start + DAY + TRUST_FIRST + HOUR)
    out = tmp_path / "certs"
    before = snapshot(out)
    with pytest.raises(PlanError, match="overlap"):
        mtlsgen.apply(spec, now=now, rotate=["ca"])
    line = one_error_line(run_cli("apply", tmp_path / "pki.yaml", "--rotate", "ca"))
    assert "--rotate ca" in line and "overlap" in line
    assert changed_files(before, out) == set()
    # After the overlap, a new rotation starts.
    the_plan = mtlsgen.plan(spec, now=start + DAY + TRUST_FIRST + OVERLAP + 2 * HOUR, rotate=["ca"])
    assert Kind.ROLLOVER_START in kinds(the_plan, "ca")


@pytest.mark.parametrize(("name", "words"), [("alice", "only a CA rotates"), ("nobody", "no such entry")])
def test_rotate_of_a_leaf_or_an_unknown_name_is_an_error(tmp_path: Path, name: str, words: str) -> None:
    spec = spec_at(tmp_path, SPEC)
    mtlsgen.apply(spec, now=timeline().t0)
    out = tmp_path / "certs"
    before = snapshot(out)
    with pytest.raises(PlanError, match=words):
        mtlsgen.plan(spec, rotate=[name])
    line = one_error_line(run_cli("apply", tmp_path / "pki.yaml", "--rotate", name))
    assert f"--rotate {name}" in line and words in line
    assert changed_files(before, out) == set()


@pytest.mark.parametrize(("text", "ca"), [(SPEC, "ca"), (INTERMEDIATE_SPEC, "services-ca")],
                         ids=["root", "intermediate"])
def test_every_phase_settles(tmp_path: Path, text: str, ca: str) -> None:
    """A second apply right after each phase's apply does nothing (under an intermediate with CRLs too)."""
    spec = spec_at(tmp_path, text)
    when = timeline()
    out = tmp_path / "certs"
    for phase in range(4):
        mtlsgen.apply(spec, now=when.at(phase), rotate=[ca] if phase == 1 else [])
        _settled(spec, when.at(phase), out)


def test_lost_next_key_restarts_trust_first(rotating: tuple[Spec, Path, Timeline]) -> None:
    spec, out, when = rotating
    abandoned = certs_in(out / "ca" / "next.crt")[0]
    (out / "ca" / "next.key").unlink()
    restart = when.rotate + 2 * DAY

    the_plan, _ = mtlsgen.apply(spec, now=restart)
    assert Kind.ROLLOVER_RESTART in kinds(the_plan, "ca")
    assert _ca_files(out) == {*CA_FILES, *NEXT}
    incoming = certs_in(out / "ca" / "next.crt")[0]
    assert incoming != abandoned
    assert public_key_of(out / "ca" / "next.key") == public_key_of_cert(incoming)
    for leaf in LEAVES:
        trusted = certs_in(out / leaf / "ca.crt")
        assert incoming in trusted and abandoned not in trusted and len(trusted) == 2
    # Trust first runs again in full from the restart: no move at the first rotation's move time.
    assert mtlsgen.plan(spec, now=when.move).pending == ()
    assert Kind.ROLLOVER_MOVE in kinds(mtlsgen.plan(spec, now=restart + TRUST_FIRST + HOUR), "ca")
    _settled(spec, restart, out)


@pytest.mark.parametrize("phase", ["trust_first", "overlap"])
def test_replace_during_a_rotation_drops_it(rotating: tuple[Spec, Path, Timeline], phase: str) -> None:
    spec, out, when = rotating
    at = when.rotate + DAY
    if phase == "overlap":
        mtlsgen.apply(spec, now=when.move)
        at = when.move + DAY
    gone = NEXT if phase == "trust_first" else PREVIOUS

    the_plan, _ = mtlsgen.apply(spec, now=at, replace=["ca"])
    assert Kind.ROLLOVER_DROPPED in kinds(the_plan, "ca")
    assert _ca_files(out) == set(CA_FILES)
    assert not any((out / "ca" / name).exists() for name in gone)
    current = certs_in(out / "ca" / "ca.crt")
    for leaf in LEAVES:
        assert certs_in(out / leaf / "ca.crt") == current
        assert_verifies(out / leaf / "ca.crt", out / leaf / "tls.crt")
    _settled(spec, at, out)


# -- damaged or interrupted rotations, and rotations of two CAs (a review's findings) --------------

def test_a_finish_with_the_old_key_lost_still_finishes_without_it(rotating: tuple[Spec, Path, Timeline]) -> None:
    spec, out, when = rotating
    mtlsgen.apply(spec, now=when.move)
    (out / "ca" / "previous.key").unlink()  # lost during the overlap: nothing can sign the old CA's CRL
    assert mtlsgen.plan(spec, now=when.move + DAY).pending == ()  # the overlap goes on: peers still trust it
    the_plan, _ = mtlsgen.apply(spec, now=when.finish)
    assert Kind.ROLLOVER_FINISH in kinds(the_plan, "ca")
    assert _ca_files(out) == {*CA_FILES, "retired.crt"}
    for leaf in LEAVES:
        assert certs_in(out / leaf / "ca.crt") == certs_in(out / "ca" / "ca.crt")
    _settled(spec, when.finish, out)


@pytest.mark.parametrize("left", [("previous.crt",), ("previous.key",)])
def test_a_finish_killed_between_its_deletions_keeps_the_retired_ca(rotating: tuple[Spec, Path, Timeline],
                                                                     left: tuple[str, ...]) -> None:
    """The finish writes retired.* then deletes previous.*; whatever a kill leaves of previous.*, the
    next apply ends finished with retired.* intact (never taken for an expired CA)."""
    spec, out, when = rotating
    mtlsgen.apply(spec, now=when.move)
    ca = out / "ca"
    for name in ("crt", "key"):
        (ca / f"retired.{name}").write_bytes((ca / f"previous.{name}").read_bytes())
        (ca / f"retired.{name}").chmod(0o600 if name == "key" else 0o644)
    retired = (ca / "retired.crt").read_bytes()
    for name in ("previous.crt", "previous.key"):
        if name not in left:
            (ca / name).unlink()
    the_plan, _ = mtlsgen.apply(spec, now=when.finish)
    assert Kind.PREVIOUS_EXPIRED not in kinds(the_plan, "ca")
    assert _ca_files(out) == {*CA_FILES, *RETIRED} and (ca / "retired.crt").read_bytes() == retired
    assert [r.phase for r in mtlsgen.plan(spec, now=when.finish).rotations] == ["finished"]
    _settled(spec, when.finish, out)


INTERMEDIATE_AND_ROOT = INTERMEDIATE_SPEC.replace(
    "ca: {cn: Rollover Root, key: ecdsa-p256, crl: {validity: 90d}}",
    "ca: {cn: Rollover Root, key: ecdsa-p256, crl: {validity: 90d}, rollover: {trust_first: 7d, overlap: 30d}}")


def test_an_intermediate_trusting_first_is_not_restarted_by_its_root_moving(tmp_path: Path) -> None:
    assert INTERMEDIATE_AND_ROOT != INTERMEDIATE_SPEC
    spec = spec_at(tmp_path, INTERMEDIATE_AND_ROOT)
    when = timeline()
    out = tmp_path / "certs"
    mtlsgen.apply(spec, now=when.t0)
    mtlsgen.apply(spec, now=when.rotate, rotate=["ca"])
    mtlsgen.apply(spec, now=when.rotate + 3 * DAY, rotate=["services-ca"])
    incoming = (out / "services-ca" / "next.key").read_bytes()
    the_plan, _ = mtlsgen.apply(spec, now=when.move)  # the root moves; the intermediate still trusts first
    assert Kind.ROLLOVER_MOVE in kinds(the_plan, "ca")
    assert Kind.ROLLOVER_RESTART not in kinds(the_plan, "services-ca")
    assert (out / "services-ca" / "next.key").read_bytes() == incoming
    _settled(spec, when.move, out)
    # Its own move, three days later: the incoming intermediate, certified by the root's new key.
    later = when.move + 3 * DAY
    the_plan, _ = mtlsgen.apply(spec, now=later)
    assert Kind.ROLLOVER_MOVE in kinds(the_plan, "services-ca")
    assert public_key_of(out / "services-ca" / "ca.key") == public_key_of_cert(
        x509.load_pem_x509_certificate((out / "services-ca" / "ca.crt").read_bytes()))
    chain = out / "api" / "tls.crt"
    untrusted = subprocess.run(["openssl", "verify", "-attime", str(int(later.timestamp()) + 60), "-CAfile",
                                str(out / "ca" / "ca.crt"), "-untrusted", str(chain), str(chain)],
                               capture_output=True, text=True, check=False)
    assert untrusted.returncode == 0, untrusted.stdout + untrusted.stderr
    _settled(spec, later, out)


def test_the_retired_ca_keeps_its_crl_fresh_during_the_next_rotation(tmp_path: Path) -> None:
    spec = spec_at(tmp_path, SPEC.replace("rollover: {", "crl: {validity: 9d}, rollover: {"))
    when = timeline()
    out = tmp_path / "certs"
    for now, rotate in ((when.t0, ()), (when.rotate, ("ca",)), (when.move, ()), (when.finish, ()),
                        (when.finish + HOUR, ("ca",))):
        mtlsgen.apply(spec, now=now, rotate=rotate)
    assert {"retired.crt", "retired.key", "retired.crl", "next.crt", "next.key"} <= _ca_files(out)
    due = when.finish + 7 * DAY  # a third of the retired CRL's 9 days left
    the_plan = mtlsgen.plan(spec, now=due)
    assert any(r.kind is Kind.CRL_DUE and r.file == "retired.crl" for r in the_plan["ca"].reasons)


def test_rotate_and_replace_of_one_ca_are_refused_together(tmp_path: Path) -> None:
    spec = spec_at(tmp_path, SPEC)
    mtlsgen.apply(spec)
    with pytest.raises(PlanError, match="choose one"):
        mtlsgen.plan(spec, rotate=["ca"], replace=["ca"])


def test_rotate_again_during_trust_first_warns_and_changes_nothing(rotating: tuple[Spec, Path, Timeline]) -> None:
    spec, _, when = rotating
    again = mtlsgen.plan(spec, now=when.rotate + DAY, rotate=["ca"])
    assert again.pending == ()
    assert any("already rotating" in w for w in again.warnings)


def test_a_new_key_type_comes_through_a_rotation_without_blocking(tmp_path: Path) -> None:
    """The spec moves the root from P-256 to P-384: a plain plan is blocked (as any CA key change) and
    says --rotate does it without an outage; the rotation's incoming key has the new type, the CA keeps
    working with the old one until the move."""
    spec_file = tmp_path / "pki.yaml"
    spec = spec_at(tmp_path, SPEC)
    when = timeline()
    out = tmp_path / "certs"
    mtlsgen.apply(spec, now=when.t0)
    spec_file.write_text(SPEC.replace("Rotating Root, key: ecdsa-p256", "Rotating Root, key: ecdsa-p384"))
    spec = mtlsgen.load_spec(spec_file)
    blocked = mtlsgen.plan(spec, now=when.rotate)
    assert [c.name for c in blocked.blocked] == ["ca"]
    assert any("--rotate ca" in text for text in texts(blocked, "ca"))
    the_plan, _ = mtlsgen.apply(spec, now=when.rotate, rotate=["ca"])
    assert the_plan.blocked == () and Kind.ROLLOVER_START in kinds(the_plan, "ca")
    shown = subprocess.run(["openssl", "pkey", "-in", str(out / "ca" / "next.key"), "-noout", "-text"],
                           capture_output=True, text=True, check=True).stdout
    assert "NIST CURVE: P-384" in shown
    _settled(spec, when.rotate, out)  # no reissue of the old CA under its old key type, no block
    mtlsgen.apply(spec, now=when.move)
    assert x509.load_pem_x509_certificate((out / "ca" / "ca.crt").read_bytes()).public_key().key_size == 384
    for leaf in LEAVES:
        assert_verifies(out / "ca" / "ca.crt", out / leaf / "tls.crt")
    _settled(spec, when.move, out)
