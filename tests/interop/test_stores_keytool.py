"""Key stores and trust stores as Java and OpenSSL read them: keytool and `openssl pkcs12`, real files.

One spec is applied once for the module: three servers with RSA-2048, ECDSA P-256 and Ed25519 leaf keys
(all four store kinds each), one server with the legacy PKCS#12 profile, and a client under an
intermediate CA with a custom alias. Every assertion is on what keytool or openssl print.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from tests.helpers.common import run_cli

pytestmark = pytest.mark.interop

KS_PASS = "keystore-pass-5829"
TS_PASS = "truststore-pass-7714"
ENV = {"KS_PASS": KS_PASS, "TS_PASS": TS_PASS}
STORE_PASS = {"keystore": KS_PASS, "truststore": TS_PASS}

SPEC = """\
version: 1
defaults: {key: ecdsa-p256, validity: 30d, renew_before: 10d, subject: {O: Keytool Test}}
ca: {cn: Keytool Test CA, key: ecdsa-p256, validity: 1y}
intermediates:
  clients-ca: {cn: Keytool Clients CA, issuer: ca, validity: 180d}
servers:
  srv-rsa:
    key: rsa-2048
    sans: [srv-rsa.test]
    keystore: {formats: [pkcs12, jks], password: {env: KS_PASS}}
    truststore: {formats: [pkcs12, jks], password: {env: TS_PASS}}
  srv-ec:
    key: ecdsa-p256
    sans: [srv-ec.test]
    keystore: {formats: [pkcs12, jks], password: {env: KS_PASS}}
    truststore: {formats: [pkcs12, jks], password: {env: TS_PASS}}
  srv-ed:
    key: ed25519
    sans: [srv-ed.test]
    keystore: {formats: [pkcs12, jks], password: {env: KS_PASS}}
    truststore: {formats: [pkcs12, jks], password: {env: TS_PASS}}
  srv-legacy:
    sans: [srv-legacy.test]
    keystore: {formats: [pkcs12], password: {env: KS_PASS}, profile: legacy}
    truststore: {formats: [pkcs12], password: {env: TS_PASS}, profile: legacy}
clients:
  cli:
    issuer: clients-ca
    keystore: {formats: [pkcs12, jks], password: {env: KS_PASS}, alias: my-alias}
"""

STORES = ("keystore.p12", "keystore.jks", "truststore.p12", "truststore.jks")
# leaf key in the spec → server entry, and how keytool -v names the public key
KEYS = {"rsa-2048": ("srv-rsa", "2048-bit RSA key"),
        "ecdsa-p256": ("srv-ec", "256-bit EC (secp256r1) key"),
        "ed25519": ("srv-ed", "Ed25519 key")}


@dataclass(frozen=True)
class KeytoolEntry:
    alias: str
    kind: str
    chain_length: int | None
    owners: tuple[str, ...]
    sha256: tuple[str, ...]
    key_algorithms: tuple[str, ...]


# JVM start-up flags only (C1 compiler, serial GC): keytool reads stores the same, about twice as fast.
FAST_JVM = ("-J-XX:TieredStopAtLevel=1", "-J-XX:+UseSerialGC")
_listed: dict[tuple[Path, str], subprocess.CompletedProcess[str]] = {}


def keytool_list(store: Path, password: str) -> subprocess.CompletedProcess[str]:
    """`keytool -list -v` of one store, run once per (store, password) in this module."""
    key = (store, password)
    if key not in _listed:
        _listed[key] = subprocess.run(["keytool", *FAST_JVM, "-list", "-v", "-keystore", str(store),
                                       "-storepass", password],
                                      capture_output=True, text=True, timeout=60, check=False)
    return _listed[key]


def keytool_entries(store: Path, password: str) -> list[KeytoolEntry]:
    """The entries `keytool -list -v` shows; fails the test if keytool cannot open the store."""
    result = keytool_list(store, password)
    assert result.returncode == 0, f"keytool cannot read {store.name}: {result.stdout}{result.stderr}"
    count = re.search(r"Your keystore contains (\d+) entr", result.stdout)
    assert count, result.stdout
    entries = []
    for block in result.stdout.split("Alias name: ")[1:]:
        kind = re.search(r"^Entry type: (\S+)", block, re.M)
        chain = re.search(r"^Certificate chain length: (\d+)", block, re.M)
        entries.append(KeytoolEntry(
            alias=block.splitlines()[0].strip(),
            kind=kind.group(1) if kind else "",
            chain_length=int(chain.group(1)) if chain else None,
            owners=tuple(re.findall(r"^Owner: (.*)$", block, re.M)),
            sha256=tuple(re.findall(r"SHA256: ([0-9A-F:]+)", block)),
            key_algorithms=tuple(re.findall(r"^Subject Public Key Algorithm: (.*)$", block, re.M))))
    assert len(entries) == int(count.group(1))
    return entries


def sha256_of(pem_file: Path) -> str:
    cert = x509.load_pem_x509_certificate(pem_file.read_bytes())
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def openssl_info(p12: Path, password: str) -> subprocess.CompletedProcess[str]:
    # No -legacy: both profiles must open with OpenSSL 3's default provider.
    return subprocess.run(["openssl", "pkcs12", "-info", "-noout", "-in", str(p12),
                           "-passin", f"pass:{password}"],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The module's spec, applied once; returns the output folder."""
    folder = tmp_path_factory.mktemp("keytool")
    (folder / "pki.yaml").write_text(SPEC, encoding="utf-8")
    result = run_cli("apply", folder / "pki.yaml", env=ENV)
    assert result.returncode == 0, result.stderr
    certs = folder / "certs"
    # Every keytool run the tests below make, started together: a JVM start costs ~0.5 s.
    runs = [(certs / name / store, STORE_PASS[store.partition(".")[0]])
            for name, _ in KEYS.values() for store in STORES]
    runs += [(certs / "srv-ec" / store, "not-the-password") for store in STORES]
    runs += [(certs / "srv-legacy" / store, STORE_PASS[store.partition(".")[0]])
             for store in ("keystore.p12", "truststore.p12")]
    runs += [(certs / "cli" / store, KS_PASS) for store in ("keystore.p12", "keystore.jks")]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda run: keytool_list(*run), runs))
    return certs


@pytest.mark.parametrize("store", STORES)
@pytest.mark.parametrize("key", list(KEYS))
def test_keytool_reads_every_store_with_its_password(pki: Path, key: str, store: str) -> None:
    name, key_text = KEYS[key]
    entries = keytool_entries(pki / name / store, STORE_PASS[store.partition(".")[0]])
    assert len(entries) == 1
    entry = entries[0]
    if store.startswith("keystore"):
        assert entry.alias == name  # the default alias is the entry's name
        assert entry.kind == "PrivateKeyEntry"
        assert entry.chain_length == 2
        assert entry.owners[0].startswith(f"CN={name}.test,")
        assert entry.owners[1].startswith("CN=Keytool Test CA,")
        assert key_text in entry.key_algorithms[0]
        assert entry.sha256 == (sha256_of(pki / name / "tls.crt"), sha256_of(pki / "ca" / "ca.crt"))
    else:
        # A server trusts the root its clients' chains end in (cli is under clients-ca, under ca).
        assert (entry.alias, entry.kind) == ("ca", "trustedCertEntry")
        assert entry.sha256 == (sha256_of(pki / "ca" / "ca.crt"),)


@pytest.mark.parametrize("store", STORES)
def test_keytool_refuses_a_wrong_password(pki: Path, store: str) -> None:
    result = keytool_list(pki / "srv-ec" / store, "not-the-password")
    assert result.returncode != 0
    assert "password was incorrect" in result.stdout + result.stderr


@pytest.mark.parametrize("store", ["keystore.p12", "truststore.p12"])
def test_keytool_reads_legacy_profile_stores(pki: Path, store: str) -> None:
    entries = keytool_entries(pki / "srv-legacy" / store, STORE_PASS[store.partition(".")[0]])
    wanted = "PrivateKeyEntry" if store.startswith("keystore") else "trustedCertEntry"
    assert [e.kind for e in entries] == [wanted]


@pytest.mark.parametrize("store", ["keystore.p12", "keystore.jks"])
def test_custom_alias_and_intermediate_chain(pki: Path, store: str) -> None:
    (entry,) = keytool_entries(pki / "cli" / store, KS_PASS)
    assert entry.alias == "my-alias"
    assert entry.kind == "PrivateKeyEntry"
    assert entry.chain_length == 3
    owners = [o.split(",")[0] for o in entry.owners]
    assert owners == ["CN=cli", "CN=Keytool Clients CA", "CN=Keytool Test CA"]


# -- openssl pkcs12, both profiles --------------------------------------------------------------

MODERN = ("MAC: sha256", "PBES2, PBKDF2, AES-256-CBC", "hmacWithSHA256")
LEGACY = ("MAC: sha1", "pbeWithSHA1And3-KeyTripleDES-CBC")


@pytest.mark.parametrize("store", ["keystore.p12", "truststore.p12"])
@pytest.mark.parametrize(("name", "profile"), [("srv-ec", "modern"), ("srv-legacy", "legacy")])
def test_openssl_reads_p12_without_legacy_flag(pki: Path, name: str, profile: str, store: str) -> None:
    result = openssl_info(pki / name / store, STORE_PASS[store.partition(".")[0]])
    assert result.returncode == 0, result.stderr
    info = result.stdout + result.stderr
    wanted, unwanted = (MODERN, LEGACY) if profile == "modern" else (LEGACY, MODERN)
    for text in wanted:
        assert text in info, info
    for text in unwanted:
        assert text not in info, info
    if profile == "legacy":
        assert "AES" not in info
    else:
        assert "TripleDES" not in info and "des-ede3" not in info.lower()
    bags = info.count("Shrouded Keybag")
    assert bags == (1 if store.startswith("keystore") else 0)  # a truststore holds no key
    assert info.count("Certificate bag") == (2 if store.startswith("keystore") else 1)


def test_openssl_refuses_a_wrong_password(pki: Path) -> None:
    assert openssl_info(pki / "srv-ec" / "keystore.p12", "not-the-password").returncode != 0


# -- JKS needs pyjks, and says so -------------------------------------------------------------

BLOCK_JKS = textwrap.dedent("""
    import sys

    class BlockJks:
        def find_spec(self, name, path=None, target=None):
            if name == "jks" or name.startswith("jks."):
                raise ImportError("No module named 'jks' (blocked by the test)")
            return None

    sys.meta_path.insert(0, BlockJks())
    sys.modules.pop("jks", None)
    from mtlsgen.cli import main
    main(sys.argv[1:])
    """)


def run_without_pyjks(*args: str | Path, cwd: Path,
                      env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """mtlsgen's CLI in a Python where `import jks` fails, as when the [jks] extra is not installed."""
    return subprocess.run([sys.executable, "-c", BLOCK_JKS, *map(str, args)], cwd=cwd,
                          env={**os.environ, "NO_COLOR": "1", **(env or {})},
                          capture_output=True, text=True, timeout=60, check=False)


def test_jks_without_pyjks_names_the_extra(write_spec, tmp_path: Path) -> None:
    spec = write_spec("""
        version: 1
        ca: {cn: No JKS CA, key: ecdsa-p256}
        servers:
          web:
            sans: [web.test]
            keystore: {formats: [pkcs12, jks]}
        """)
    for command in ("plan", "apply"):
        result = run_without_pyjks(command, spec, cwd=tmp_path)
        assert result.returncode == 1, result.stdout + result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert "pip install 'mtlsgen[jks]'" in lines[0]
    assert not (tmp_path / "certs").exists()
    valid = run_without_pyjks("validate", spec, cwd=tmp_path)
    assert valid.returncode == 0, valid.stderr


def test_pkcs12_only_spec_works_without_pyjks(write_spec, tmp_path: Path) -> None:
    spec = write_spec("""
        version: 1
        ca: {cn: No JKS CA, key: ecdsa-p256}
        servers:
          web:
            sans: [web.test]
            keystore: {formats: [pkcs12], password: {env: KS_PASS}}
        """)
    result = run_without_pyjks("apply", spec, cwd=tmp_path, env={"KS_PASS": KS_PASS})
    assert result.returncode == 0, result.stderr
    (entry,) = keytool_entries(tmp_path / "certs" / "web" / "keystore.p12", KS_PASS)
    assert (entry.alias, entry.kind, entry.chain_length) == ("web", "PrivateKeyEntry", 2)
