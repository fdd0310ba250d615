"""Renewal with an injected clock: leaves renew on time, a CA renews with its key, and nothing loops.

Setups are applied in the past (now − N days) and the scenario runs at the real now, so that the
files left on disk are valid today and `openssl verify` (which uses the real clock) can check them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

import mtlsgen
from mtlsgen import Spec
from tests.helpers.common import texts
from tests.helpers.engine import (
    assert_verifies,
    cert,
    changed,
    differing_bytes,
    pending_names,
    snapshot,
    spec_at,
    utcnow,
)

DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


def _settled(spec: Spec, at: datetime) -> None:
    """Right after an apply at `at`, a plan one second later has nothing to do (no renewal loop)."""
    the_plan = mtlsgen.plan(spec, now=at + SECOND)
    assert the_plan.pending == (), [(c.name, c.action.value, c.reasons) for c in the_plan.pending]


def _public(path: Path) -> bytes:
    return cert(path).public_key().public_bytes(serialization.Encoding.DER,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)


def test_leaf_past_its_renewal_time_renews_and_the_ca_does_not(tmp_path: Path) -> None:
    spec = spec_at(tmp_path, """
        version: 1
        ca: {key: ecdsa-p256}
        servers:
          api: {sans: [api.example.com], key: ecdsa-p256, validity: 90d}
        clients:
          alice: {key: ecdsa-p256}
        """)
    now = utcnow()
    start = now - 70 * DAY
    mtlsgen.apply(spec, now=start)
    _settled(spec, start)
    out = tmp_path / "certs"
    # 90d with renew_before 33%: due 29.7 days before it expires, i.e. 60.3 days after issue.
    assert mtlsgen.plan(spec, now=start + 60 * DAY).pending == ()
    assert pending_names(mtlsgen.plan(spec, now=start + 61 * DAY)) == {"api": "renew"}

    the_plan = mtlsgen.plan(spec, now=now)
    assert pending_names(the_plan) == {"api": "renew"}
    expires = (start + 90 * DAY).strftime("%Y-%m-%d")
    assert texts(the_plan, "api") == (f"expires {expires}, in 20 days (renew_before 33%)",
                                      "new key (key_rotation: always)")
    assert the_plan["ca"].action.value == "unchanged"

    before = snapshot(out)
    mtlsgen.apply(spec, now=now)
    after = snapshot(out)
    assert differing_bytes(before, after) == {"api/tls.crt", "api/tls.key"}
    assert {p for p in changed(before, after) if not p.startswith("api/")} == set()
    renewed = cert(out / "api" / "tls.crt")
    assert renewed.not_valid_after_utc == now + 90 * DAY
    assert_verifies(out / "api" / "ca.crt", out / "api" / "tls.crt")
    _settled(spec, now)


def test_expired_leaf_is_renewed_with_reason_expired(tmp_path: Path) -> None:
    spec = spec_at(tmp_path, """
        version: 1
        ca: {key: ecdsa-p256}
        clients:
          alice: {key: ecdsa-p256, validity: 10d}
        """)
    now = utcnow()
    start = now - 30 * DAY
    mtlsgen.apply(spec, now=start)
    the_plan = mtlsgen.plan(spec, now=now)
    assert pending_names(the_plan) == {"alice": "renew"}
    assert texts(the_plan, "alice") == (f"expired {(start + 10 * DAY):%Y-%m-%d}", "new key (key_rotation: always)")
    mtlsgen.apply(spec, now=now)
    assert_verifies(tmp_path / "certs" / "alice" / "ca.crt", tmp_path / "certs" / "alice" / "tls.crt")
    _settled(spec, now)


def test_ca_past_its_renewal_time_keeps_its_key_and_its_leaves(tmp_path: Path) -> None:
    spec = spec_at(tmp_path, """
        version: 1
        ca: {key: ecdsa-p256, validity: 100d, renew_before: 10d}
        defaults: {key: ecdsa-p256, validity: 100d, renew_before: 1d}
        servers:
          api: {sans: [api.example.com]}
        clients:
          alice: {}
        """)
    now = utcnow()
    start = now - 91 * DAY
    mtlsgen.apply(spec, now=start)
    _settled(spec, start)
    out = tmp_path / "certs"
    before = snapshot(out)
    old_root_public = _public(out / "ca" / "ca.crt")

    the_plan = mtlsgen.plan(spec, now=now)
    assert pending_names(the_plan) == {"ca": "renew", "api": "repack", "alice": "repack"}
    expires = f"{(start + 100 * DAY):%Y-%m-%d}"
    assert texts(the_plan, "ca") == (f"expires {expires}, in 9 days (renew_before 10d)",)
    assert any("ca.crt" in r for r in texts(the_plan, "api"))

    mtlsgen.apply(spec, now=now)
    after = snapshot(out)
    # Same CA key, new CA certificate; leaves keep certificate and key, only their ca.crt follows.
    assert differing_bytes(before, after) == {"ca/ca.crt", "api/ca.crt", "alice/ca.crt"}
    for rel in ("ca/ca.key", "api/tls.crt", "api/tls.key", "alice/tls.crt", "alice/tls.key"):
        assert before[rel] == after[rel], rel
    assert _public(out / "ca" / "ca.crt") == old_root_public
    new_root = cert(out / "ca" / "ca.crt")
    assert new_root.not_valid_after_utc == now + 100 * DAY
    for name in ("api", "alice"):
        assert (out / name / "ca.crt").read_bytes() == (out / "ca" / "ca.crt").read_bytes()
        assert_verifies(out / name / "ca.crt", out / name / "tls.crt")
    _settled(spec, now)


def test_ca_with_too_little_life_left_is_renewed_before_it_issues_a_leaf(tmp_path: Path) -> None:
    spec_text = """
        version: 1
        ca: {key: ecdsa-p256, validity: 100d, renew_before: 5d}
        servers:
          api: {sans: [api.example.com], key: ecdsa-p256, validity: 100d, renew_before: 1d}
        """
    spec = spec_at(tmp_path, spec_text)
    now = utcnow()
    start = now - 60 * DAY  # the CA has 40 days left today
    mtlsgen.apply(spec, now=start)
    out = tmp_path / "certs"
    assert mtlsgen.plan(spec, now=now).pending == ()  # nothing asks the CA for more than 40 days
    ca_key = (out / "ca" / "ca.key").read_bytes()
    api_crt = (out / "api" / "tls.crt").read_bytes()

    late = "        clients:\n          late: {key: ecdsa-p256, validity: 90d}\n"
    spec = spec_at(tmp_path, spec_text.rstrip(" ") + late)
    the_plan = mtlsgen.plan(spec, now=now)
    assert pending_names(the_plan) == {"ca": "renew", "late": "create", "api": "repack"}
    (reason,) = texts(the_plan, "ca")
    assert f"expires {(start + 100 * DAY):%Y-%m-%d}" in reason and "late" in reason
    assert f"{(now + 90 * DAY):%Y-%m-%d}" in reason

    mtlsgen.apply(spec, now=now)
    root, late = cert(out / "ca" / "ca.crt"), cert(out / "late" / "tls.crt")
    assert late.not_valid_after_utc == now + 90 * DAY
    assert late.not_valid_after_utc <= root.not_valid_after_utc
    assert root.not_valid_after_utc == now + 100 * DAY
    assert (out / "ca" / "ca.key").read_bytes() == ca_key
    assert (out / "api" / "tls.crt").read_bytes() == api_crt
    for name in ("api", "late"):
        assert_verifies(out / name / "ca.crt", out / name / "tls.crt")
    _settled(spec, now)


def test_replace_ca_reissues_everything_with_new_keys(tmp_path: Path) -> None:
    spec = spec_at(tmp_path)
    now = utcnow()
    mtlsgen.apply(spec, now=now)
    out = tmp_path / "certs"
    leaves = ("api", "alice", "bob")
    serials = {n: cert(out / n / "tls.crt").serial_number for n in leaves}
    keys = {n: (out / n / "tls.key").read_bytes() for n in leaves}
    publics = {n: _public(out / n / "tls.crt") for n in leaves}
    ca_key = (out / "ca" / "ca.key").read_bytes()

    the_plan, _ = mtlsgen.apply(spec, now=now + SECOND, replace=["ca"])
    assert pending_names(the_plan) == {
        "ca": "replace", "api": "reissue", "alice": "reissue", "bob": "reissue"}
    assert (out / "ca" / "ca.key").read_bytes() != ca_key
    for name in leaves:
        assert cert(out / name / "tls.crt").serial_number != serials[name], name
        assert (out / name / "tls.key").read_bytes() != keys[name], name
        assert _public(out / name / "tls.crt") != publics[name], name
        assert (out / name / "ca.crt").read_bytes() == (out / "ca" / "ca.crt").read_bytes()
        assert_verifies(out / name / "ca.crt", out / name / "tls.crt")
    _settled(spec, now + SECOND)


@pytest.mark.parametrize(("ca_renew", "leaf_renew"), [("33%", "33%"), ("2d", "10d"), ("10d", "2d")])
def test_leaf_validity_equal_to_ca_validity_never_loops(tmp_path: Path, ca_renew: str,
                                                        leaf_renew: str) -> None:
    spec = spec_at(tmp_path, f"""
        version: 1
        ca: {{key: ecdsa-p256, validity: 30d, renew_before: "{ca_renew}"}}
        servers:
          api: {{sans: [api.example.com], key: ecdsa-p256, validity: 30d, renew_before: "{leaf_renew}"}}
        clients:
          alice: {{key: ecdsa-p256, validity: 20d}}
        """)
    out = tmp_path / "certs"
    at = utcnow() - 120 * DAY
    renewals = {"certs/": 0, "ca": 0, "api": 0, "alice": 0}
    for _ in range(25):  # 120 days in steps of 5
        the_plan, _ = mtlsgen.apply(spec, now=at)
        for name, action in pending_names(the_plan).items():
            if action in ("renew", "create"):
                renewals[name] += 1
        root, api = cert(out / "ca" / "ca.crt"), cert(out / "api" / "tls.crt")
        assert api.not_valid_after_utc <= root.not_valid_after_utc
        assert api.not_valid_after_utc > at and root.not_valid_after_utc > at
        for name in ("api", "alice"):
            assert_verifies(out / name / "ca.crt", out / name / "tls.crt", at=at)
        _settled(spec, at)
        at += 5 * DAY
    # Over 120 days, 30-day certificates were renewed several times, the CA included.
    assert renewals["ca"] >= 3 and renewals["api"] >= 3 and renewals["alice"] >= 4, renewals
