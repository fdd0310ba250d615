"""`mtlsgen status`: every certificate and store with its expiry and state, read from real files.

Each test applies a small ECDSA spec in tmp_path, then breaks or ages it the way it happens to users
(a deleted key, a SAN edited in the spec, a truncated file, a changed password, time passing) and
checks what `status` says and its exit code. Expected values come from the files themselves, read
with cryptography, or from the dates the test chose; never from mtlsgen's own helpers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import mtlsgen
from mtlsgen import load_spec
from mtlsgen.cli.render import status_detail
from tests.helpers.common import SMALL_SPEC, run_cli
from tests.helpers.engine import ca_key_usage

DAY = timedelta(days=1)

# Leaves live 30 days (renew_before defaults to 33%, so they are due ~20 days in); the CA 5 years.
SPEC = """
version: 1
ca: {key: ecdsa-p256, validity: 5y}
defaults: {key: ecdsa-p256, validity: 30d}
servers:
  api:
    cn: api.example.com
    sans: [api.example.com, localhost, 127.0.0.1]
    keystore: {formats: [pkcs12, jks], alias: api-key, password: {env: MTLSGEN_TEST_KS}}
    truststore: {formats: [pkcs12], password: {env: MTLSGEN_TEST_TS}}
clients:
  alice:
    sans: [alice.example.com]
    keystore: {formats: [pkcs12]}
  bob: {}
"""
ENV = {"MTLSGEN_TEST_KS": "keystore-secret", "MTLSGEN_TEST_TS": "truststore-secret"}
WIDE = {**ENV, "COLUMNS": "240"}  # text output wide enough that no cell is cut
LEAVES = ("api", "alice", "bob")


@pytest.fixture(autouse=True)
def _passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def applied(write_spec: Callable[..., Path], text: str = SPEC) -> Path:
    """Write the spec, apply it (in-process, to keep the suite fast) and return the spec path."""
    spec = write_spec(text)
    mtlsgen.apply(load_spec(spec))
    return spec


def lib_states(spec: Path, **kwargs: object) -> dict[str, str]:
    report = mtlsgen.status(load_spec(spec), **kwargs)  # type: ignore[arg-type]
    return {c.name: c.state for c in report.certificates}


def status_json(spec: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict]:
    result = run_cli("status", spec, "--json", *args, env={**ENV, **(env or {})})
    assert result.stderr == "", result.stderr
    return result.returncode, json.loads(result.stdout)


def states(document: dict) -> dict[str, str]:
    return {c["name"]: c["state"] for c in document["certificates"]}


def row(stdout: str, name: str) -> str:
    """The line of the certificates table for entry `name`."""
    lines = [line for line in stdout.splitlines() if line.strip("│ ").startswith(f"{name} ")]
    assert lines, f"no row for {name} in:\n{stdout}"
    return lines[0]


def read_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificates(path.read_bytes())[0]


def tree(root: Path) -> dict[str, tuple[bool, bytes | None, int, int]]:
    """Every folder and file under root: (is_dir, bytes, mtime_ns, mode)."""
    out = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        out[path.relative_to(root).as_posix()] = (path.is_dir(), None if path.is_dir() else path.read_bytes(),
                                                 st.st_mtime_ns, st.st_mode)
    return out


# --- states ---------------------------------------------------------------------------------------


def test_status_after_apply_is_all_ok_and_exits_0(write_spec: Callable[..., Path]) -> None:
    spec = applied(write_spec)
    result = run_cli("status", spec, env=WIDE)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("ca", *LEAVES):
        line = row(result.stdout, name)
        assert line.rstrip(" │").endswith("ok"), line
    assert "api.example.com" in row(result.stdout, "api")
    # The stores table lists each store file, all opening.
    for file_name in ("keystore.p12", "keystore.jks", "truststore.p12"):
        assert any(file_name in line and "api" in line and "yes" in line for line in result.stdout.splitlines())

    code, document = status_json(spec)
    assert code == 0
    assert states(document) == dict.fromkeys(("ca", *LEAVES), "ok")
    assert {s["state"] for s in document["stores"]} == {"ok"}


def test_renewal_time_reached_with_an_injected_clock_is_renew_due(write_spec: Callable[..., Path]) -> None:
    spec = load_spec(write_spec(SPEC))
    now = utcnow()
    mtlsgen.apply(spec, now=now)

    # 30d with renew_before 33%: due 9.9 days before expiry, i.e. about 20.1 days after issue.
    early = mtlsgen.status(spec, now=now + 19 * DAY)
    assert {c.name: c.state for c in early.certificates} == dict.fromkeys(("ca", *LEAVES), "ok")
    assert not early.failing

    late = mtlsgen.status(spec, now=now + 21 * DAY)
    got = {c.name: c.state for c in late.certificates}
    assert got == {"ca": "ok", **dict.fromkeys(LEAVES, "renew due")}
    assert late.failing
    expires = read_cert(spec.path.parent / "certs" / "api" / "tls.crt").not_valid_after_utc
    api = next(c for c in late.certificates if c.name == "api")
    assert expires == now + 30 * DAY  # issued at the injected clock
    assert api.days_left == 9
    assert f"{expires:%Y-%m-%d}" in status_detail(api)


def test_fail_within_longer_than_the_leaves_life_is_renew_due_and_exits_2(
        write_spec: Callable[..., Path]) -> None:
    spec = applied(write_spec)
    code, document = status_json(spec, "--fail-within", "60d")
    assert code == 2
    assert states(document) == {"ca": "ok", **dict.fromkeys(LEAVES, "renew due")}
    assert document["ok"] is False

    text = run_cli("status", spec, "--fail-within", "60d", env=WIDE)
    assert text.returncode == 2
    assert "renew due" in row(text.stdout, "bob")

    # A window shorter than what is left (29 days) changes nothing.
    assert set(lib_states(spec, fail_within=7 * DAY).values()) == {"ok"}


def test_bad_fail_within_is_a_one_line_error(write_spec: Callable[..., Path]) -> None:
    spec = applied(write_spec)
    result = run_cli("status", spec, "--fail-within", "soon", env=ENV)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--fail-within" in result.stderr
    assert "Traceback" not in result.stderr


def test_deleted_key_is_missing_and_exits_2(write_spec: Callable[..., Path]) -> None:
    spec = applied(write_spec)
    (spec.parent / "certs" / "bob" / "tls.key").unlink()
    result = run_cli("status", spec, env=WIDE)
    assert result.returncode == 2
    assert "missing" in row(result.stdout, "bob")
    assert row(result.stdout, "alice").rstrip(" │").endswith("ok")
    assert lib_states(spec) == {"ca": "ok", "api": "ok", "alice": "ok", "bob": "missing"}


def test_san_edited_in_the_spec_is_drifted_and_names_the_san(write_spec: Callable[..., Path]) -> None:
    spec = applied(write_spec)
    write_spec(SPEC.replace("[api.example.com, localhost, 127.0.0.1]",
                            "[api.example.com, api2.example.com, localhost, 127.0.0.1]"))
    result = run_cli("status", spec, env=WIDE)
    assert result.returncode == 2
    assert "drifted" in row(result.stdout, "api")
    assert "api2.example.com" in row(result.stdout, "api")
    report = mtlsgen.status(load_spec(spec))
    assert {c.name: c.state for c in report.certificates} == {"ca": "ok", "api": "drifted", "alice": "ok",
                                                              "bob": "ok"}
    api = next(c for c in report.certificates if c.name == "api")
    assert "api2.example.com" in status_detail(api)
    # The SANs shown are the certificate's, not the spec's: the file has not changed yet.
    assert api.sans == ("DNS:api.example.com", "DNS:localhost", "IP:127.0.0.1")


def test_truncated_certificate_is_invalid(write_spec: Callable[..., Path]) -> None:
    spec = applied(write_spec)
    crt = spec.parent / "certs" / "alice" / "tls.crt"
    crt.write_bytes(crt.read_bytes()[:200])
    assert lib_states(spec) == {"ca": "ok", "api": "ok", "alice": "invalid", "bob": "ok"}
    result = run_cli("status", spec, env=WIDE)
    assert result.returncode == 2
    assert "invalid" in row(result.stdout, "alice")


def test_clock_past_not_after_is_expired(write_spec: Callable[..., Path]) -> None:
    spec = load_spec(write_spec(SPEC))
    now = utcnow()
    mtlsgen.apply(spec, now=now)
    report = mtlsgen.status(spec, now=now + 31 * DAY)
    assert {c.name: c.state for c in report.certificates} == {"ca": "ok", **dict.fromkeys(LEAVES, "expired")}
    assert report.failing
    bob = next(c for c in report.certificates if c.name == "bob")
    assert bob.days_left is not None and bob.days_left < 0
    # And the root, 5 years on.
    later = mtlsgen.status(spec, now=now + 6 * 365 * DAY)
    assert {c.name: c.state for c in later.certificates}["ca"] == "expired"


# --- --json ---------------------------------------------------------------------------------------


def test_status_json_is_one_document_matching_the_files(write_spec: Callable[..., Path]) -> None:
    spec = applied(write_spec)
    out = spec.parent / "certs"
    before = datetime.now(timezone.utc)
    result = run_cli("status", spec, "--json", env=ENV)
    after = datetime.now(timezone.utc)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    document = json.loads(result.stdout)  # the whole of stdout, nothing before or after

    certs = {c["name"]: c for c in document["certificates"]}
    assert list(certs) == ["ca", "api", "alice", "bob"]
    assert {n: c["role"] for n, c in certs.items()} == {"ca": "ca", "api": "server", "alice": "client",
                                                          "bob": "client"}
    assert {n: c["cn"] for n, c in certs.items()} == {"ca": certs["ca"]["cn"], "api": "api.example.com",
                                                        "alice": "alice", "bob": "bob"}
    assert certs["api"]["sans"] == ["DNS:api.example.com", "DNS:localhost", "IP:127.0.0.1"]
    assert certs["alice"]["sans"] == ["DNS:alice.example.com"]
    assert {c["key"] for c in certs.values()} == {"ecdsa-p256"}
    assert {certs[n]["issuer"] for n in LEAVES} == {"ca"}
    assert certs["ca"]["issuer"] in ("self", "ca")

    for name, c in certs.items():
        path = out / name / ("ca.crt" if name == "ca" else "tls.crt")
        cert = read_cert(path)
        # The CN and SANs are the certificate's, as cryptography reads them.
        cn = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
        assert c["cn"] == cn
        if name != "ca":
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            expected = [f"DNS:{v}" for v in san.get_values_for_type(x509.DNSName)] + [
                f"IP:{v}" for v in san.get_values_for_type(x509.IPAddress)]
            assert c["sans"] == expected
        # not_after: ISO 8601, UTC, exactly the certificate's.
        not_after = datetime.fromisoformat(c["not_after"].replace("Z", "+00:00"))
        assert not_after.utcoffset() == timedelta(0), c["not_after"]
        assert not_after == cert.not_valid_after_utc
        assert (cert.not_valid_after_utc - after).days <= c["days_left"] <= (cert.not_valid_after_utc - before).days
        assert c["state"] == "ok"
    assert certs["bob"]["days_left"] == 29
    assert certs["ca"]["days_left"] in (5 * 365 - 1, 5 * 365)

    stores = {(s["name"], s["file"]): s for s in document["stores"]}
    assert set(stores) == {("api", "keystore.p12"), ("api", "keystore.jks"), ("api", "truststore.p12"),
                           ("alice", "keystore.p12")}
    assert {k: s["format"] for k, s in stores.items()} == {
        ("api", "keystore.p12"): "pkcs12", ("api", "keystore.jks"): "jks",
        ("api", "truststore.p12"): "pkcs12", ("alice", "keystore.p12"): "pkcs12"}
    assert stores["api", "keystore.p12"]["alias"] == "api-key"
    assert stores["api", "keystore.jks"]["alias"] == "api-key"
    assert stores["alice", "keystore.p12"]["alias"] == "alice"
    assert all(s["opens"] is True and s["state"] == "ok" for s in stores.values())
    # Passwords never appear in any output.
    assert ENV["MTLSGEN_TEST_KS"] not in result.stdout
    assert ENV["MTLSGEN_TEST_TS"] not in result.stdout
    generated = (out / "alice" / "keystore.password").read_text().strip()
    assert generated and generated not in result.stdout


def test_store_whose_password_changed_does_not_open(write_spec: Callable[..., Path]) -> None:
    spec = applied(write_spec)
    code, document = status_json(spec, env={"MTLSGEN_TEST_KS": "a-new-password"})
    assert code == 2
    stores = {(s["name"], s["file"]): s for s in document["stores"]}
    for file_name in ("keystore.p12", "keystore.jks"):
        assert stores["api", file_name]["opens"] is False
        assert stores["api", file_name]["state"] != "ok"
    # The other stores are untouched and still fine, and so are the certificates.
    assert stores["api", "truststore.p12"]["opens"] is True
    assert stores["api", "truststore.p12"]["state"] == "ok"
    assert stores["alice", "keystore.p12"]["opens"] is True
    assert set(states(document).values()) == {"ok"}
    assert document["ok"] is False
    assert "a-new-password" not in json.dumps(document)



def test_status_json_error_is_one_line_on_stderr_and_an_error_document_on_stdout(
        write_spec: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    spec = applied(write_spec)
    monkeypatch.delenv("MTLSGEN_TEST_KS")
    result = run_cli("status", spec, "--json", env={"MTLSGEN_TEST_TS": ENV["MTLSGEN_TEST_TS"]})
    assert result.returncode == 1
    assert "MTLSGEN_TEST_KS" in json.loads(result.stdout)["error"]["message"]
    assert len(result.stderr.strip().splitlines()) == 1
    assert "MTLSGEN_TEST_KS" in result.stderr and "Traceback" not in result.stderr


# --- status reads only ----------------------------------------------------------------------------


def test_status_never_writes(write_spec: Callable[..., Path]) -> None:
    spec = applied(write_spec)
    folder = spec.parent
    # Give it reasons to "fix" something: a missing key, a drifted SAN, a store that does not open.
    (folder / "certs" / "bob" / "tls.key").unlink()
    write_spec(SPEC.replace("[alice.example.com]", "[alice.example.org]"))
    before = tree(folder)
    assert run_cli("status", spec, env={**ENV, "MTLSGEN_TEST_TS": "changed"}).returncode == 2
    assert run_cli("status", spec, "--json", "--fail-within", "90d", env=ENV).returncode == 2
    mtlsgen.status(load_spec(spec), now=utcnow() + 40 * DAY)
    assert tree(folder) == before


def test_status_on_a_spec_never_applied_creates_nothing(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(SPEC)
    folder = spec.parent
    before = tree(folder)
    code, document = status_json(spec)
    assert code == 2
    assert states(document) == dict.fromkeys(("ca", *LEAVES), "missing")
    assert all(c["not_after"] is None for c in document["certificates"])
    mtlsgen.status(load_spec(spec))
    assert not (folder / "certs").exists()
    assert tree(folder) == before
    assert os.listdir(folder) == ["pki.yaml"]


# --- revoked --------------------------------------------------------------------------------------


def test_revoked_entry_shows_revoked(write_spec: Callable[..., Path]) -> None:
    spec = applied(write_spec)
    write_spec(SPEC.replace("  bob: {}", "  bob: {revoked: true}"))
    mtlsgen.apply(load_spec(spec))
    assert not (spec.parent / "certs" / "bob" / "tls.crt").exists()
    assert lib_states(spec) == {"ca": "ok", "api": "ok", "alice": "ok", "bob": "revoked"}
    result = run_cli("status", spec, env=WIDE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "revoked" in row(result.stdout, "bob")


def _corporate_chain(folder: Path) -> None:
    """corp-ca.crt = an issuing CA then the corporate root that signed it; corp-ca.key its key."""
    now = datetime.now(timezone.utc)
    root_key, sub_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())

    def cert(name: str, key: ec.EllipticCurvePrivateKey, issuer: str, signer: ec.EllipticCurvePrivateKey,
             path_length: int | None) -> x509.Certificate:
        return (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
                .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
                .add_extension(ca_key_usage(), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(signer, hashes.SHA256()))

    root = cert("Corp Root", root_key, "Corp Root", root_key, None)
    sub = cert("Corp Issuing CA", sub_key, "Corp Root", root_key, 0)
    (folder / "corp-ca.crt").write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (sub, root)))
    (folder / "corp-ca.key").write_bytes(sub_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def test_status_accepts_an_imported_sub_ca(write_spec: Callable[..., Path]) -> None:
    spec = write_spec("version: 1\nca: {import: {cert: corp-ca.crt, key: corp-ca.key}}\n"
                      "clients:\n  bob: {}\n")
    _corporate_chain(spec.parent)
    mtlsgen.apply(load_spec(spec))
    result = run_cli("status", spec)
    assert result.returncode == 0, result.stdout + result.stderr
    assert {c.name: c.state for c in mtlsgen.status(load_spec(spec)).certificates} == {"ca": "ok", "bob": "ok"}


def test_plan_warns_that_a_crl_file_lacks_the_crls_above_an_imported_sub_ca(write_spec: Callable[..., Path]) -> None:
    spec = write_spec("version: 1\nca: {import: {cert: corp-ca.crt, key: corp-ca.key}}\n"
                      "servers:\n  api: {sans: [api.test]}\nclients:\n  bob: {revoked: true}\n")
    _corporate_chain(spec.parent)
    [warning] = mtlsgen.plan(load_spec(spec)).warnings
    assert "cannot hold the CRLs of the CAs above the imported one" in warning and warning.startswith("pki.yaml:2:")


def test_status_says_on_stderr_why_it_exits_2(write_spec: Callable[..., Path]) -> None:
    spec = write_spec("version: 1\nca: {key: ecdsa-p256}\nclients:\n  bob: {}\n")
    mtlsgen.apply(load_spec(spec))
    (spec.parent / "certs" / "bob" / "tls.key").unlink()
    result = run_cli("status", spec)
    assert result.returncode == 2
    assert result.stderr == "1 needs attention: bob: missing\n"  # exit 2 is no error


def test_status_agrees_with_plan_after_the_ca_is_renamed(write_spec: Callable[..., Path]) -> None:
    spec = write_spec("version: 1\nca: {key: ecdsa-p256}\nclients:\n  bob: {}\n")
    mtlsgen.apply(load_spec(spec))
    renamed = load_spec(write_spec("version: 1\nca: {key: ecdsa-p256, cn: Renamed CA}\nclients:\n  bob: {}\n"))
    pending = {c.name for c in mtlsgen.plan(renamed).pending}
    states = {c.name: c.state for c in mtlsgen.status(renamed).certificates}
    assert pending == {"ca", "bob"}
    assert states == {"ca": "drifted", "bob": "drifted"}


def test_revoked_entry_never_issued_does_not_claim_a_crl(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(SMALL_SPEC.replace("  bob: {}", "  bob: {revoked: true}"))
    assert run_cli("apply", spec).returncode == 0
    assert not (spec.parent / "certs" / "bob").exists()
    result = run_cli("status", spec, env={"COLUMNS": "240"})
    assert result.returncode == 0, result.stdout + result.stderr
    [row] = [line for line in result.stdout.splitlines() if line.startswith("│ bob ")]
    assert "revoked: revoked in the spec; no files" in row and "CRL" not in row
    document = json.loads(run_cli("status", "--json", spec).stdout)
    [bob] = [c for c in document["certificates"] if c["name"] == "bob"]
    assert (bob["state"], bob["detail"]) == ("revoked", "revoked in the spec; no files")
