"""One spec change at a time: only that entry is reissued, with the reason the plan shows for it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import mtlsgen
from tests.helpers.common import texts
from tests.helpers.engine import assert_verifies, cert, changed, differing_bytes, snapshot, spec_at, utcnow

SPEC = """
version: 1
ca: {key: ecdsa-p256}
servers:
  api:
    cn: a.example.com
    sans: [api.example.com, 127.0.0.1]
    key: ecdsa-p256
    validity: 90d
    usages: [serverAuth]
clients:
  alice:
    key: ecdsa-p256
  bob:
    key: ecdsa-p256
"""


def _sans(c: x509.Certificate) -> list[str]:
    ext = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(v) for v in ext.get_values_for_type(x509.DNSName)] + [
        str(v) for v in ext.get_values_for_type(x509.IPAddress)]


def _eku(c: x509.Certificate) -> set[x509.ObjectIdentifier]:
    return set(c.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def _lifetime(c: x509.Certificate) -> timedelta:
    return c.not_valid_after_utc - c.not_valid_before_utc


# (id, old text, new text, entry, action, reason, check on the new certificate)
CASES = [
    ("san-added", "sans: [api.example.com, 127.0.0.1]", "sans: [api.example.com, new.example.com, 127.0.0.1]",
     "api", "reissue", "SANs: +DNS:new.example.com",
     lambda c: _sans(c) == ["api.example.com", "new.example.com", "127.0.0.1"]),
    ("san-removed", "sans: [api.example.com, 127.0.0.1]", "sans: [api.example.com]",
     "api", "reissue", "SANs: -IP:127.0.0.1", lambda c: _sans(c) == ["api.example.com"]),
    ("cn", "cn: a.example.com", "cn: b.example.com", "api", "reissue", "CN: a.example.com → b.example.com",
     lambda c: c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "b.example.com"),
    ("key-type", "    key: ecdsa-p256\n    validity: 90d", "    key: ecdsa-p384\n    validity: 90d",
     "api", "replace", "key: ecdsa-p256 → ecdsa-p384",
     lambda c: isinstance(c.public_key(), ec.EllipticCurvePublicKey)
     and c.public_key().curve.name == "secp384r1"),
    ("validity", "validity: 90d", "validity: 30d", "api", "reissue", "validity: 90d → 30d",
     lambda c: timedelta(days=30) <= _lifetime(c) <= timedelta(days=30, minutes=10)),
    ("usages", "usages: [serverAuth]", "usages: [serverAuth, clientAuth]", "api", "reissue",
     "usages: +clientAuth",
     lambda c: _eku(c) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}),
    ("client-validity", "  alice:\n    key: ecdsa-p256", "  alice:\n    key: ecdsa-p256\n    validity: 30d",
     "alice", "reissue", "validity: 1y → 30d",
     lambda c: timedelta(days=30) <= _lifetime(c) <= timedelta(days=30, minutes=10)),
]


@pytest.mark.parametrize(("old", "new", "name", "action", "reason", "check"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_one_change_reissues_only_that_entry(tmp_path: Path, old, new, name, action, reason, check) -> None:
    mtlsgen.apply(spec_at(tmp_path, SPEC))
    out = tmp_path / "certs"
    before = snapshot(out)
    old_cert = cert(out / name / "tls.crt")
    assert SPEC.count(old) == 1
    spec = spec_at(tmp_path, SPEC.replace(old, new))

    the_plan = mtlsgen.plan(spec)
    assert {c.name: c.action.value for c in the_plan.pending} == {name: action}
    new_key = () if action == "replace" else ("new key (key_rotation: always)",)  # the plan says why
    assert texts(the_plan, name) == (reason, *new_key)

    _, result = mtlsgen.apply(spec)
    after = snapshot(out)
    # Only this entry's certificate and key have new bytes; every other file is untouched.
    assert differing_bytes(before, after) == {f"{name}/tls.crt", f"{name}/tls.key"}
    assert {p for p in changed(before, after) if not p.startswith(f"{name}/")} == set()
    assert all(p.parent == out / name for p in result.written)
    new_cert = cert(out / name / "tls.crt")
    assert check(new_cert)
    assert new_cert.serial_number != old_cert.serial_number
    assert_verifies(out / name / "ca.crt", out / name / "tls.crt")
    assert mtlsgen.plan(spec, now=utcnow() + timedelta(seconds=1)).pending == ()


def test_ca_validity_change_keeps_its_key_and_its_leaves(tmp_path: Path) -> None:
    mtlsgen.apply(spec_at(tmp_path, SPEC))
    out = tmp_path / "certs"
    before = snapshot(out)
    spec = spec_at(tmp_path, SPEC.replace("ca: {key: ecdsa-p256}", "ca: {key: ecdsa-p256, validity: 5y}"))
    the_plan = mtlsgen.plan(spec)
    assert the_plan["ca"].action.value == "reissue"
    assert texts(the_plan, "ca") == ("validity: 10y → 5y",)
    # The leaves are not reissued; their ca.crt follows the new root.
    assert {c.name: c.action.value for c in the_plan.pending} == {
        "ca": "reissue", "api": "repack", "alice": "repack", "bob": "repack"}
    mtlsgen.apply(spec)
    after = snapshot(out)
    assert differing_bytes(before, after) == {"ca/ca.crt", "api/ca.crt", "alice/ca.crt", "bob/ca.crt"}
    for name in ("api", "alice", "bob"):
        assert_verifies(out / name / "ca.crt", out / name / "tls.crt")
    assert mtlsgen.plan(spec, now=utcnow() + timedelta(seconds=1)).pending == ()
