"""Revocation (issue 6): `revoked: true` puts a client's serial in its issuer's CRL and removes its files;
openssl and a TLS server that load the CRL refuse it; the serial stays in later CRLs even after the
entry leaves the spec; CRL numbers only grow; leaves carry the CRL URL; status says `revoked`; a revoked
entry's folder that keeps a user's file settles; examples/hierarchy.yaml says what its revoked entry does.

A copy of the client's certificate and key is kept before revoking it, as a thief would keep them.
"""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509

import mtlsgen
from mtlsgen import load_spec
from mtlsgen.cli.render import status_detail
from tests.helpers.common import REPO, line_of, run_cli
from tests.helpers.tls import handshake

CRL_URL = "http://pki.example.com/services-ca.crl"
CLIENTS = {
    "billing": '{issuer: services-ca, sans: ["spiffe://example.com/billing"]}',
    "laptop": '{issuer: services-ca, sans: ["spiffe://example.com/laptop"]}',
    "tablet": '{issuer: services-ca, sans: ["spiffe://example.com/tablet"]}',
    "kiosk": '{sans: ["spiffe://example.com/kiosk"]}',  # issued by the root, which has no crl section
}


def spec_text(revoked: tuple[str, ...] = (), deleted: tuple[str, ...] = ()) -> str:
    clients = "".join(f"  {name}: {body[:-1]}{', revoked: true' if name in revoked else ''}}}\n"
                      for name, body in CLIENTS.items() if name not in deleted)
    return f"""\
version: 1
defaults: {{key: ecdsa-p256, validity: 90d}}
ca: {{cn: Test Root CA, key: ecdsa-p256, validity: 10y}}
intermediates:
  services-ca:
    cn: Test Services CA
    validity: 2y
    crl: {{validity: 7d, url: "{CRL_URL}"}}
servers:
  orders: {{issuer: services-ca, sans: [orders.example.com, localhost, 127.0.0.1]}}
clients:
{clients}"""


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def load_crl(path: Path) -> x509.CertificateRevocationList:
    return x509.load_pem_x509_crl(path.read_bytes())


def crl_number(path: Path) -> int:
    return load_crl(path).extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


def revoked_serials(path: Path) -> set[int]:
    return {r.serial_number for r in load_crl(path)}


def leaf_of(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificates(path.read_bytes())[0]


def keep_copy(out: Path, name: str, dest: Path) -> Path:
    """What a user (or thief) keeps of an entry before it is revoked: its tls.crt and tls.key."""
    dest.mkdir(parents=True, exist_ok=True)
    for file in ("tls.crt", "tls.key"):
        shutil.copy2(out / name / file, dest / file)
    return dest


def openssl_crl_check(out: Path, crl: Path, chain: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", "verify", "-crl_check", "-CRLfile", str(crl), "-CAfile",
                           str(out / "ca" / "ca.crt"), "-untrusted", str(chain), str(chain)],
                          capture_output=True, text=True, timeout=30, check=False)


def server_context(out: Path, *, crl: Path | None) -> ssl.SSLContext:
    """A server with client-auth: need, trusting the root; with `crl`, it checks the client against it."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(out / "orders" / "tls.crt", out / "orders" / "tls.key")
    ctx.load_verify_locations(cafile=str(out / "orders" / "ca.crt"))
    ctx.verify_mode = ssl.CERT_REQUIRED
    if crl is not None:
        ctx.load_verify_locations(cafile=str(crl))
        ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    return ctx


def client_context(out: Path, chain: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_cert_chain(chain, key)
    ctx.load_verify_locations(cafile=str(out / "ca" / "ca.crt"))
    return ctx


# -- one PKI: applied, then `laptop` revoked with the CLI ------------------------------------------


@dataclass
class Revoked:
    folder: Path
    out: Path
    crl: Path
    kept: Path                 # laptop's tls.crt and tls.key, copied before the revocation
    serial: int                # laptop's serial
    numbers: tuple[int, int]   # CRL number before and after the revocation
    apply_stdout: str


@pytest.fixture(scope="module")
def revoked(tmp_path_factory: pytest.TempPathFactory) -> Revoked:
    folder = tmp_path_factory.mktemp("revocation")
    spec = folder / "pki.yaml"
    spec.write_text(spec_text())
    mtlsgen.apply(load_spec(spec))
    out = folder / "certs"
    crl = out / "services-ca" / "ca.crl"
    first_number = crl_number(crl)
    assert revoked_serials(crl) == set()
    kept = keep_copy(out, "laptop", folder / "kept-laptop")
    serial = leaf_of(kept / "tls.crt").serial_number

    spec.write_text(spec_text(revoked=("laptop",)))
    result = run_cli("apply", spec)
    assert result.returncode == 0, result.stderr
    return Revoked(folder, out, crl, kept, serial, (first_number, crl_number(crl)), result.stdout)


def test_apply_says_what_it_revokes(revoked: Revoked) -> None:
    line = next(line for line in revoked.apply_stdout.splitlines() if "laptop" in line)
    assert "revoke" in line
    assert "services-ca" in line


def test_the_revoked_clients_folder_is_removed(revoked: Revoked) -> None:
    assert not (revoked.out / "laptop").exists()
    assert (revoked.out / "billing" / "tls.crt").exists()


def test_the_crl_lists_the_serial_and_is_signed_by_the_intermediate(revoked: Revoked) -> None:
    crl = load_crl(revoked.crl)
    intermediate = leaf_of(revoked.out / "services-ca" / "ca.crt")
    assert revoked_serials(revoked.crl) == {revoked.serial}
    assert crl.issuer == intermediate.subject
    assert crl.is_signature_valid(intermediate.public_key())  # type: ignore[arg-type]
    assert crl.next_update_utc is not None and crl.next_update_utc > utcnow()
    # The root revoked nothing, but servers checking the whole chain need its CRL too (nginx, Tomcat).
    assert revoked_serials(revoked.out / "ca" / "ca.crl") == set()
    # A revocation is never dated after the CRL that lists it (RFC 5280 5.3.x: pkilint flags it).
    assert all(r.revocation_date_utc <= crl.last_update_utc for r in crl)


def test_the_crl_number_increases(revoked: Revoked) -> None:
    before, after = revoked.numbers
    assert after > before


def test_openssl_rejects_the_revoked_client(revoked: Revoked) -> None:
    result = openssl_crl_check(revoked.out, revoked.crl, revoked.kept / "tls.crt")
    assert result.returncode != 0
    assert "certificate revoked" in result.stdout + result.stderr


@pytest.mark.parametrize("leaf", ["billing", "tablet", "orders"])
def test_openssl_accepts_the_others(revoked: Revoked, leaf: str) -> None:
    result = openssl_crl_check(revoked.out, revoked.crl, revoked.out / leaf / "tls.crt")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith(": OK")


def test_a_tls_server_with_the_crl_refuses_the_revoked_client(revoked: Revoked) -> None:
    out = revoked.out
    laptop = client_context(out, revoked.kept / "tls.crt", revoked.kept / "tls.key")
    # Control: without the CRL the stolen certificate still gets in; the CRL is what stops it.
    assert handshake(server_context(out, crl=None), laptop).received == b"hello"

    refused = handshake(server_context(out, crl=revoked.crl), laptop)
    assert refused.received == b""
    assert refused.server_error is not None and "certificate revoked" in refused.server_error, refused
    assert refused.client_cn is None


def test_a_tls_server_with_the_crl_accepts_another_client(revoked: Revoked) -> None:
    out = revoked.out
    billing = client_context(out, out / "billing" / "tls.crt", out / "billing" / "tls.key")
    result = handshake(server_context(out, crl=revoked.crl), billing)
    assert result.server_error is None and result.client_error is None, result
    assert result.received == b"hello"
    assert result.client_cn == "billing"


def test_leaves_of_the_intermediate_carry_the_crl_url(revoked: Revoked) -> None:
    for leaf in ("orders", "billing", "tablet"):
        points = leaf_of(revoked.out / leaf / "tls.crt").extensions.get_extension_for_class(
            x509.CRLDistributionPoints).value
        urls = [n.value for p in points for n in p.full_name or () if isinstance(n, x509.UniformResourceIdentifier)]
        assert urls == [CRL_URL], leaf
    with pytest.raises(x509.ExtensionNotFound):  # the root has no crl.url: no distribution point
        leaf_of(revoked.out / "kiosk" / "tls.crt").extensions.get_extension_for_class(x509.CRLDistributionPoints)


def test_status_shows_the_entry_as_revoked(revoked: Revoked) -> None:
    result = run_cli("status", "--json", revoked.folder / "pki.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    states = {c["name"]: c["state"] for c in json.loads(result.stdout)["certificates"]}
    assert states["laptop"] == "revoked"
    assert {states[n] for n in ("billing", "tablet", "orders", "services-ca", "ca")} == {"ok"}
    table = run_cli("status", revoked.folder / "pki.yaml")
    assert table.returncode == 0
    assert any("laptop" in line and "revoked" in line for line in table.stdout.splitlines())


def test_a_second_apply_changes_nothing(revoked: Revoked) -> None:
    crl_bytes = revoked.crl.read_bytes()
    plan = mtlsgen.plan(load_spec(revoked.folder / "pki.yaml"))
    assert not plan.pending, [(c.name, c.action, c.reasons) for c in plan.pending]
    assert revoked.crl.read_bytes() == crl_bytes


# -- the serial outlives the entry ----------------------------------------------------------------


@pytest.fixture
def laptop_revoked(tmp_path: Path) -> tuple[Path, int, datetime]:
    """A PKI in tmp_path whose `laptop` was applied, then revoked: (spec, laptop's serial, revocation time)."""
    spec = tmp_path / "pki.yaml"
    spec.write_text(spec_text())
    start = utcnow()
    mtlsgen.apply(load_spec(spec), now=start)
    serial = leaf_of(tmp_path / "certs" / "laptop" / "tls.crt").serial_number
    spec.write_text(spec_text(revoked=("laptop",)))
    mtlsgen.apply(load_spec(spec), now=start + timedelta(minutes=1))
    assert revoked_serials(tmp_path / "certs" / "services-ca" / "ca.crl") == {serial}
    return spec, serial, start + timedelta(minutes=1)


def test_deleted_entry_stays_in_the_crl_when_another_is_revoked(laptop_revoked: tuple[Path, int, datetime]) -> None:
    spec, laptop_serial, _ = laptop_revoked
    out = spec.parent / "certs"
    crl = out / "services-ca" / "ca.crl"
    number = crl_number(crl)
    kept_tablet = keep_copy(out, "tablet", spec.parent / "kept-tablet")
    tablet_serial = leaf_of(kept_tablet / "tls.crt").serial_number

    spec.write_text(spec_text(revoked=("tablet",), deleted=("laptop",)))
    result = run_cli("apply", spec)
    assert result.returncode == 0, result.stderr

    assert revoked_serials(crl) == {laptop_serial, tablet_serial}
    assert crl_number(crl) > number
    assert not (out / "tablet").exists()
    rejected = openssl_crl_check(out, crl, kept_tablet / "tls.crt")
    assert "certificate revoked" in rejected.stdout + rejected.stderr


def test_deleted_entry_stays_in_the_crl_when_it_is_renewed(laptop_revoked: tuple[Path, int, datetime]) -> None:
    spec, laptop_serial, revoked_at = laptop_revoked
    crl = spec.parent / "certs" / "services-ca" / "ca.crl"
    before = load_crl(crl)
    number = crl_number(crl)

    spec.write_text(spec_text(deleted=("laptop",)))
    assert not mtlsgen.plan(load_spec(spec), now=revoked_at + timedelta(days=1)).pending, \
        "deleting a revoked entry alone changes nothing"
    # Day 6 of a 7-day CRL: inside its renewal window, so the CRL is rewritten.
    later = revoked_at + timedelta(days=6)
    mtlsgen.apply(load_spec(spec), now=later)

    after = load_crl(crl)
    assert after.next_update_utc is not None and before.next_update_utc is not None
    assert after.next_update_utc > before.next_update_utc
    assert crl_number(crl) > number
    entry = after.get_revoked_certificate_by_serial_number(laptop_serial)
    assert entry is not None, "the serial left the CRL with the entry"
    assert abs(entry.revocation_date_utc - revoked_at) < timedelta(minutes=10), "the revocation date moved"
    assert after.is_signature_valid(leaf_of(spec.parent / "certs" / "services-ca" / "ca.crt").public_key())  # type: ignore[arg-type]


def test_every_crl_rewrite_increases_the_number(tmp_path: Path) -> None:
    spec = tmp_path / "pki.yaml"
    spec.write_text(spec_text())
    now = utcnow()
    crl = tmp_path / "certs" / "services-ca" / "ca.crl"
    numbers = []
    for step, revoked in enumerate([(), ("laptop",), ("laptop", "tablet"), ("laptop", "tablet")]):
        spec.write_text(spec_text(revoked=revoked))
        mtlsgen.apply(load_spec(spec), now=now + timedelta(days=5 * step))  # step 3: renewal by clock only
        numbers.append(crl_number(crl))
    assert numbers == sorted(set(numbers)), f"CRL numbers {numbers} must strictly increase"


def test_revoking_a_client_of_the_root_writes_the_roots_crl(tmp_path: Path) -> None:
    spec = tmp_path / "pki.yaml"
    spec.write_text(spec_text())
    mtlsgen.apply(load_spec(spec))
    out = tmp_path / "certs"
    kept = keep_copy(out, "kiosk", tmp_path / "kept-kiosk")

    spec.write_text(spec_text(revoked=("kiosk",)))
    result = run_cli("apply", spec)
    assert result.returncode == 0, result.stderr

    assert not (out / "kiosk").exists()
    assert revoked_serials(out / "ca" / "ca.crl") == {leaf_of(kept / "tls.crt").serial_number}
    rejected = openssl_crl_check(out, out / "ca" / "ca.crl", kept / "tls.crt")
    assert "certificate revoked" in rejected.stdout + rejected.stderr
    assert revoked_serials(out / "services-ca" / "ca.crl") == set()


def test_an_entry_revoked_before_it_was_ever_issued(tmp_path: Path) -> None:
    spec = tmp_path / "pki.yaml"
    spec.write_text(spec_text(revoked=("laptop",)))
    result = run_cli("apply", spec)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "certs"
    assert not (out / "laptop").exists()
    assert revoked_serials(out / "services-ca" / "ca.crl") == set()
    status = run_cli("status", "--json", spec)
    assert status.returncode == 0, status.stdout + status.stderr
    states = {c["name"]: c["state"] for c in json.loads(status.stdout)["certificates"]}
    assert states["laptop"] == "revoked"


def test_a_revoked_entry_whose_folder_keeps_a_user_file_settles(write_spec: Callable[..., Path]) -> None:
    spec = write_spec("version: 1\nca: {key: ecdsa-p256}\nclients:\n  bob: {}\n")
    mtlsgen.apply(load_spec(spec))
    (spec.parent / "certs" / "bob" / "notes.txt").write_text("mine")
    spec = write_spec("version: 1\nca: {key: ecdsa-p256}\nclients:\n  bob: {revoked: true}\n")
    mtlsgen.apply(load_spec(spec))
    assert mtlsgen.plan(load_spec(spec)).pending == ()
    assert {c.name: c.state for c in mtlsgen.status(load_spec(spec)).certificates}["bob"] == "revoked"


def test_hierarchy_example_says_what_happens_to_old_laptop(tmp_path: Path) -> None:
    shutil.copy(REPO / "examples" / "hierarchy.yaml", tmp_path / "hierarchy.yaml")
    spec = tmp_path / "hierarchy.yaml"
    comment = " ".join(line.split("#", 1)[1].strip() for line in spec.read_text().splitlines()
                       [line_of(spec, "revoked: true") - 1:][:2])
    assert comment == ("if it was ever issued, its serial goes into certs-hierarchy/services-ca/ca.crl "
                       "and its files are removed")
    assert run_cli("apply", spec).returncode == 0
    crl = x509.load_pem_x509_crl((tmp_path / "certs-hierarchy" / "services-ca" / "ca.crl").read_bytes())
    assert list(crl) == []  # never issued, so nothing to revoke: the comment's "if" is needed
    assert not (tmp_path / "certs-hierarchy" / "old-laptop").exists()
    [laptop] = [c for c in mtlsgen.status(load_spec(spec)).certificates if c.name == "old-laptop"]
    assert laptop.state == "revoked" and "CRL" not in status_detail(laptop)


def test_crl_number_keeps_increasing_when_the_intermediate_is_rekeyed(
        laptop_revoked: tuple[Path, int, datetime]) -> None:
    """RFC 5280 5.2.3: the number grows for a given CRL issuer (its name), whatever key signs it."""
    spec = laptop_revoked[0]
    out = spec.parent / "certs"
    crl = out / "services-ca" / "ca.crl"
    number = crl_number(crl)
    result = run_cli("apply", "--replace", "services-ca", spec)
    assert result.returncode == 0, result.stderr
    new_ca = leaf_of(out / "services-ca" / "ca.crt")
    assert load_crl(crl).is_signature_valid(new_ca.public_key())  # type: ignore[arg-type]
    assert crl_number(crl) > number
    for leaf in ("billing", "tablet", "orders"):
        accepted = openssl_crl_check(out, crl, out / leaf / "tls.crt")
        assert accepted.returncode == 0, accepted.stdout + accepted.stderr


def test_revoking_an_entry_whose_certificate_is_gone_does_not_claim_it_is_in_the_crl(tmp_path: Path) -> None:
    spec = tmp_path / "pki.yaml"
    spec.write_text(spec_text())
    mtlsgen.apply(load_spec(spec))
    out = tmp_path / "certs"
    (out / "laptop" / "tls.crt").unlink()
    spec.write_text(spec_text(revoked=("laptop",)))
    result = run_cli("plan", spec)
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if "laptop" in line)
    assert "revoke" in line
    reasons = line.split("revoke", 1)[1].strip()
    assert not reasons.startswith("added to"), line
    assert "tls.crt missing" in line and "services-ca/ca.crl" in line
    assert run_cli("apply", spec).returncode == 0
    assert not (out / "laptop").exists()
    assert revoked_serials(out / "services-ca" / "ca.crl") == set()
