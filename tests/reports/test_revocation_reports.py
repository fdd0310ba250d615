"""status and verify see revocation: every CRL with its next update (a lapsed CRL locks every client
out), orphans, and real handshakes whose server loads its ca.crl and must refuse revoked serials."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import mtlsgen
from mtlsgen.cli.render import status_detail
from mtlsgen.crypto.pem import crls_pem, read_crls
from tests.helpers.common import run_cli
from tests.helpers.engine import spec_at

TREE = """
version: 1
defaults: {key: ecdsa-p256, validity: 90d}
ca: {cn: Report Root, validity: 10y}
intermediates:
  services-ca: {cn: Report Services CA, validity: 2y, crl: {validity: 9d}}
servers:
  orders: {issuer: services-ca, sans: [orders.example.com, 127.0.0.1]}
clients:
  shop: {issuer: services-ca}
  laptop: {issuer: services-ca}
"""


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def _revoked_laptop(tmp_path: Path) -> mtlsgen.Spec:
    mtlsgen.apply(spec_at(tmp_path, TREE))
    revoked = TREE.replace("  laptop: {issuer: services-ca}", "  laptop: {issuer: services-ca, revoked: true}")
    spec = spec_at(tmp_path, revoked)
    mtlsgen.apply(spec)
    return spec


def test_status_lists_every_crl_with_its_next_update(tmp_path: Path) -> None:
    spec = _revoked_laptop(tmp_path)
    report = mtlsgen.status(spec)
    crls = {c.name: c for c in report.crls}
    assert set(crls) == {"ca", "services-ca"}  # the root publishes too: servers check whole chains
    assert crls["services-ca"].revoked == 1 and crls["ca"].revoked == 0
    assert crls["services-ca"].state == "ok" and crls["services-ca"].days_left in (8, 9)
    assert crls["services-ca"].number is not None and crls["services-ca"].number >= 2
    assert not report.failing


def test_status_fail_within_flags_a_crl_about_to_lapse(tmp_path: Path) -> None:
    spec = _revoked_laptop(tmp_path)
    report = mtlsgen.status(spec, fail_within=timedelta(days=10))
    crl = next(c for c in report.crls if c.name == "services-ca")
    assert crl.state == "renew due" and "expires within 10 days" in status_detail(crl)
    assert report.failing
    result = run_cli("status", "--fail-within", "10d", spec.path)
    assert result.returncode == 2 and "services-ca/ca.crl: renew due" in result.stderr
    document = json.loads(run_cli("status", "--json", "--fail-within", "10d", spec.path).stdout)
    assert {c["name"]: c["state"] for c in document["crls"]}["services-ca"] == "renew due"


def test_a_crl_past_two_thirds_of_its_life_is_renewed_and_an_expired_one_is_flagged(tmp_path: Path) -> None:
    spec = _revoked_laptop(tmp_path)
    later = _now() + timedelta(days=7)  # 9-day CRLs are renewed with a third of their validity left
    plan = mtlsgen.plan(spec, now=later)
    assert [r.kind.value for r in plan["services-ca"].reasons] == ["crl_due"]
    assert "orders" in {c.name for c in plan.pending}  # the server's ca.crl follows
    expired = mtlsgen.status(spec, now=_now() + timedelta(days=10))
    assert next(c for c in expired.crls if c.name == "services-ca").state == "expired"
    mtlsgen.apply(spec, now=later)
    crls = read_crls((tmp_path / "certs" / "orders" / "ca.crl").read_bytes())
    assert all(c.next_update_utc is not None and c.next_update_utc > later for c in crls)


def test_status_lists_orphans_without_failing(tmp_path: Path) -> None:
    mtlsgen.apply(spec_at(tmp_path, TREE))
    spec = spec_at(tmp_path, TREE.replace("  shop: {issuer: services-ca}\n", ""))
    report = mtlsgen.status(spec)
    assert report.orphans == ("shop",) and not report.failing
    result = run_cli("status", spec.path)
    assert result.returncode == 0 and "shop/" in result.stdout


def test_verify_proves_the_crl_file_refuses_revoked_serials_and_accepts_valid_clients(tmp_path: Path) -> None:
    spec = _revoked_laptop(tmp_path)
    report = mtlsgen.verify(spec)
    revocations = [c for c in report.checks if c.kind == "revocation"]
    assert len(revocations) == 1 and revocations[0].ok, revocations
    assert revocations[0].subject.startswith("revoked serial") and "services-ca → orders" in revocations[0].subject
    handshakes = {c.subject: c.ok for c in report.checks if c.kind == "handshake"}
    assert handshakes == {"shop → orders": True}
    assert not report.failed
    document = json.loads(run_cli("verify", "--json", spec.path).stdout)
    assert document["ok"] is True and any(c["kind"] == "revocation" and c["ok"] for c in document["checks"])


def test_verify_fails_when_the_crl_file_lacks_the_roots_crl(tmp_path: Path) -> None:
    """nginx, Tomcat and OpenSSL want a CRL for every CA of the chain: with only the intermediate's,
    every client is refused. verify sees it as a real server would."""
    spec = _revoked_laptop(tmp_path)
    bundle = tmp_path / "certs" / "orders" / "ca.crl"
    only_intermediate = [c for c in read_crls(bundle.read_bytes()) if "Services" in c.issuer.rfc4514_string()]
    bundle.write_bytes(crls_pem(only_intermediate))
    report = mtlsgen.verify(spec)
    failed = [c for c in report.failed if c.kind == "handshake"]
    assert failed and "shop → orders" in failed[0].subject
    assert "CRL" in failed[0].detail or "crl" in failed[0].detail.lower()
    assert [r.kind.value for r in mtlsgen.plan(spec)["orders"].reasons] == ["crl_bundle_stale"]  # and apply repairs it
