"""Stores are derived files: a changed password, profile or alias, a lost generated password, or a
damaged or foreign store is repaired by repacking it — never by reissuing the certificate.

Each test applies a small spec, changes one thing, and checks the plan (action "repack" naming the
store and why), then what Java and OpenSSL read after apply, and that tls.crt and tls.key kept their
bytes. A final plan must be empty: a repack that does not settle would repeat on every apply.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

import mtlsgen
from tests.helpers.common import run_cli

FAST_JVM = ("-J-XX:TieredStopAtLevel=1", "-J-XX:+UseSerialGC")

SPEC = """\
version: 1
ca: {{cn: Repack CA, key: ecdsa-p256}}
servers:
  web:
    sans: [web.test]
    keystore: {{formats: [pkcs12, jks], password: {{env: KS_PASS}}{keystore_extra}}}
    truststore: {{formats: [pkcs12, jks], password: {{env: TS_PASS}}}}
clients:
  app: {{}}
"""


def write(folder: Path, keystore_extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / "pki.yaml"
    spec.write_text(SPEC.format(keystore_extra=keystore_extra), encoding="utf-8")
    return spec


def apply(spec: Path) -> None:
    """Apply through the library (the CLI is a thin layer over it); passwords come from os.environ."""
    mtlsgen.apply(mtlsgen.load_spec(spec))


def plan_json(spec: Path) -> dict[str, Any]:
    """`mtlsgen plan --json`, as a user or CI runs it: entry name → change."""
    result = run_cli("plan", "--json", spec)
    assert result.returncode == 0, result.stderr
    changes: dict[str, Any] = {c["name"]: c for c in json.loads(result.stdout)["changes"]}
    return changes


def assert_settled(spec: Path) -> None:
    """Nothing left to do: a repack that did not take would show up again here."""
    plan = mtlsgen.plan(mtlsgen.load_spec(spec))
    assert not plan.pending, [(c.name, c.reasons) for c in plan.pending]


def keytool_list(store: Path, password: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["keytool", *FAST_JVM, "-list", "-v", "-keystore", str(store),
                           "-storepass", password], capture_output=True, text=True, timeout=60, check=False)


def keytool_ok(store: Path, password: str) -> str:
    result = keytool_list(store, password)
    assert result.returncode == 0, f"{store.name}: {result.stdout}{result.stderr}"
    return result.stdout


def snapshot(folder: Path, *names: str) -> dict[str, tuple[bytes, int]]:
    return {name: ((folder / name).read_bytes(), (folder / name).stat().st_mtime_ns) for name in names}


def sha256_of(pem: Path) -> str:
    """The first certificate's SHA-256 fingerprint, as keytool -v prints it."""
    cert = x509.load_pem_x509_certificate(pem.read_bytes())
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def serial(folder: Path) -> int:
    return x509.load_pem_x509_certificate((folder / "tls.crt").read_bytes()).serial_number


ENV = {"KS_PASS": "ks-first-3381", "TS_PASS": "ts-pass-9270"}


@pytest.fixture(autouse=True)
def passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


@pytest.mark.interop  # starts keytool
def test_changed_store_password_repacks_only_that_store(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    spec = write(tmp_path)
    apply(spec)
    web = tmp_path / "certs" / "web"
    pem_before = snapshot(web, "tls.crt", "tls.key", "ca.crt")
    trust_before = snapshot(web, "truststore.p12", "truststore.jks")
    serial_before = serial(web)

    monkeypatch.setenv("KS_PASS", "ks-second-6027")  # only the variable changes, not the spec
    text = run_cli("plan", spec)
    (line,) = [line for line in text.stdout.splitlines() if " web " in line]
    assert "repack" in line and "keystore.p12" in line and "keystore.jks" in line
    changes = plan_json(spec)
    assert changes["web"]["action"] == "repack"
    assert sorted(changes["web"]["files"]) == ["keystore.jks", "keystore.p12"]
    assert {changes[n]["action"] for n in ("ca", "app")} == {"unchanged"}

    applied = run_cli("apply", spec)
    assert applied.returncode == 0, applied.stderr
    for store in ("keystore.p12", "keystore.jks"):
        assert "PrivateKeyEntry" in keytool_ok(web / store, "ks-second-6027")
        assert keytool_list(web / store, "ks-first-3381").returncode != 0
    assert snapshot(web, "tls.crt", "tls.key", "ca.crt") == pem_before
    assert snapshot(web, "truststore.p12", "truststore.jks") == trust_before
    assert serial(web) == serial_before
    assert_settled(spec)


def openssl_info(p12: Path, password: str) -> str:
    result = subprocess.run(["openssl", "pkcs12", "-info", "-noout", "-in", str(p12),
                             "-passin", f"pass:{password}"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


@pytest.mark.interop  # starts keytool
def test_profile_modern_to_legacy_repacks_the_p12(tmp_path: Path) -> None:
    spec = write(tmp_path)
    apply(spec)
    web = tmp_path / "certs" / "web"
    assert "AES-256-CBC" in openssl_info(web / "keystore.p12", ENV["KS_PASS"])
    kept = snapshot(web, "tls.crt", "tls.key", "keystore.jks", "truststore.p12")
    serial_before = serial(web)

    write(tmp_path, ", profile: legacy")
    change = plan_json(spec)["web"]
    assert change["action"] == "repack"
    assert change["files"] == ["keystore.p12"]  # a JKS file has no profile
    assert any(r["kind"] == "store_profile" and r["file"] == "keystore.p12" and "legacy" in r["text"]
               for r in change["reasons"])

    apply(spec)
    info = openssl_info(web / "keystore.p12", ENV["KS_PASS"])
    assert "pbeWithSHA1And3-KeyTripleDES-CBC" in info and "MAC: sha1" in info and "AES" not in info
    assert "PrivateKeyEntry" in keytool_ok(web / "keystore.p12", ENV["KS_PASS"])
    assert snapshot(web, "tls.crt", "tls.key", "keystore.jks", "truststore.p12") == kept
    assert serial(web) == serial_before
    assert_settled(spec)


@pytest.mark.interop  # starts keytool
def test_alias_change_repacks_with_the_new_alias(tmp_path: Path) -> None:
    spec = write(tmp_path)
    apply(spec)
    web = tmp_path / "certs" / "web"
    kept = snapshot(web, "tls.crt", "tls.key")

    write(tmp_path, ", alias: web-tls")
    change = plan_json(spec)["web"]
    assert change["action"] == "repack"
    assert sorted(change["files"]) == ["keystore.jks", "keystore.p12"]
    assert any(r["kind"] == "store_alias" and "web-tls" in r["text"] for r in change["reasons"])

    apply(spec)
    for store in ("keystore.p12", "keystore.jks"):
        listing = keytool_ok(web / store, ENV["KS_PASS"])
        assert "Alias name: web-tls\n" in listing and "Alias name: web\n" not in listing
    assert snapshot(web, "tls.crt", "tls.key") == kept
    assert_settled(spec)


@pytest.mark.interop  # starts keytool
def test_lost_generated_password_makes_a_new_one_and_repacks(tmp_path: Path) -> None:
    (tmp_path / "pki.yaml").write_text("""\
version: 1
ca: {cn: Repack CA, key: ecdsa-p256}
clients:
  app:
    keystore: {formats: [pkcs12]}
""", encoding="utf-8")
    spec = tmp_path / "pki.yaml"
    apply(spec)
    app = tmp_path / "certs" / "app"
    old_password = (app / "keystore.password").read_text().strip()
    kept = snapshot(app, "tls.crt", "tls.key")
    (app / "keystore.password").unlink()

    change = plan_json(spec)["app"]
    # The plan lists the new password file too: apply writes it.
    assert change["action"] == "repack" and change["files"] == ["keystore.p12", "keystore.password"]
    assert [(r["kind"], r["file"]) for r in change["reasons"]] == [("store_password_lost", "keystore.p12")]
    apply(spec)
    new_password = (app / "keystore.password").read_text().strip()
    assert new_password and new_password != old_password
    assert "PrivateKeyEntry" in keytool_ok(app / "keystore.p12", new_password)
    assert snapshot(app, "tls.crt", "tls.key") == kept
    assert_settled(spec)


@pytest.mark.interop  # starts keytool
def test_damaged_or_foreign_stores_are_repacked(tmp_path: Path) -> None:
    spec = write(tmp_path / "mine")
    other = write(tmp_path / "other")
    apply(spec)
    apply(other)  # another PKI, same passwords: its stores open, but hold the wrong things
    web, foreign = tmp_path / "mine" / "certs" / "web", tmp_path / "other" / "certs" / "web"
    kept = snapshot(web, "tls.crt", "tls.key", "keystore.p12")
    for name in ("keystore.jks", "truststore.p12"):
        (web / name).write_bytes((foreign / name).read_bytes())
    (web / "truststore.jks").write_bytes((web / "truststore.jks").read_bytes()[:100])  # truncated

    change = plan_json(spec)["web"]
    assert change["action"] == "repack"
    assert sorted(change["files"]) == ["keystore.jks", "truststore.jks", "truststore.p12"]
    assert {(r["file"], r["kind"]) for r in change["reasons"]} == {
        ("keystore.jks", "store_key_or_chain"), ("truststore.p12", "store_trust_differs"),
        ("truststore.jks", "unreadable")}
    reasons = " | ".join(r["text"] for r in change["reasons"])
    assert "keystore.jks: key or chain differs" in reasons
    assert "truststore.p12: trusted CAs differ" in reasons
    assert "truststore.jks unreadable:" in reasons and "damaged" in reasons

    apply(spec)
    for name in ("truststore.p12", "truststore.jks"):
        assert sha256_of(web / "ca.crt") in keytool_ok(web / name, ENV["TS_PASS"])
    assert sha256_of(web / "tls.crt") in keytool_ok(web / "keystore.jks", ENV["KS_PASS"])
    assert snapshot(web, "tls.crt", "tls.key", "keystore.p12") == kept
    assert_settled(spec)


def test_store_files_dropped_from_the_spec_are_removed(tmp_path: Path) -> None:
    spec = write(tmp_path)
    apply(spec)
    web = tmp_path / "certs" / "web"
    spec.write_text("""\
version: 1
ca: {cn: Repack CA, key: ecdsa-p256}
servers:
  web:
    sans: [web.test]
    keystore: {formats: [pkcs12], password: {env: KS_PASS}}
clients:
  app: {}
""", encoding="utf-8")
    change = plan_json(spec)["web"]
    assert change["action"] != "unchanged"
    assert ("dropped", "keystore.jks") in {(r["kind"], r["file"]) for r in change["reasons"]}
    apply(spec)
    assert sorted(p.name for p in web.iterdir()) == ["ca.crt", "keystore.p12", "tls.crt", "tls.key"]
