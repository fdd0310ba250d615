"""Session fixtures of the hostile corpus: imported-CA files made once, an applied output to copy."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa
from cryptography.x509.oid import NameOID

from tests.hostile.cases import GOLDEN_SPEC
from tests.hostile.harness import ENV, FILE_PW, IMPORT_PW, run_hostile

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | dsa.DSAPrivateKey


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Hostile Corp"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _usage(*, cert_sign: bool, digital_signature: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=digital_signature, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=cert_sign, crl_sign=True,
                         encipher_only=False, decipher_only=False)


def _cert(key: PrivateKey, cn: str, *, ca: bool | None = True, cert_sign: bool = True,
          start: timedelta = timedelta(hours=-1), days: float = 5 * 365,
          issuer: tuple[x509.Name, PrivateKey] | None = None) -> bytes:
    now = datetime.now(timezone.utc)
    issuer_name, issuer_key = issuer or (_name(cn), key)
    builder = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(issuer_name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now + start).not_valid_after(now + timedelta(days=days))
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    if ca:
        builder = builder.add_extension(_usage(cert_sign=cert_sign, digital_signature=not cert_sign), critical=True)
    cert = builder.sign(issuer_key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: PrivateKey, password: str | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def _sha1_ca(folder: Path) -> tuple[bytes, bytes]:
    """A CA signed with ECDSA-SHA1, which cryptography refuses to make: the openssl command makes it."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(folder / "sha1.key"), "-out", str(folder / "sha1.crt"), "-sha1", "-days", "365",
                    "-subj", "/O=Hostile Corp/CN=Hostile SHA-1 CA",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                   check=True, capture_output=True, timeout=60)
    return (folder / "sha1.crt").read_bytes(), (folder / "sha1.key").read_bytes()


@pytest.fixture(scope="session")
def corp_cas(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[bytes, bytes]]:
    """Imported-CA files by name: (certificate PEM, key PEM). `good` and `encrypted` are valid CAs
    (the controls); every other one is something a plan must refuse."""
    good = ec.generate_private_key(ec.SECP256R1())
    other = ec.generate_private_key(ec.SECP256R1())
    leaf = ec.generate_private_key(ec.SECP256R1())
    dsa_key = dsa.generate_private_key(2048)
    rsa_1024 = rsa.generate_private_key(65537, 1024)
    rsa_2048 = rsa.generate_private_key(65537, 2048)
    good_cert = _cert(good, "Hostile Corp CA")
    garbage = b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGUgYXQgYWxs!!\n-----END CERTIFICATE-----\n"
    garbage_key = b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"
    cas = {
        "good": (good_cert, _key_pem(good)),
        "encrypted": (good_cert, _key_pem(good, IMPORT_PW)),
        "rsa-2048": (_cert(rsa_2048, "Hostile RSA CA"), _key_pem(rsa_2048)),
        "not-a-ca": (_cert(leaf, "leaf.hostile.test", ca=False, issuer=(_name("Hostile Corp CA"), good)),
                     _key_pem(leaf)),
        "no-basic-constraints": (_cert(leaf, "Hostile V1-style CA", ca=None), _key_pem(leaf)),
        "wrong-key": (good_cert, _key_pem(other)),
        "dsa": (_cert(dsa_key, "Hostile DSA CA"), _key_pem(dsa_key)),
        "rsa-1024": (_cert(rsa_1024, "Hostile RSA-1024 CA"), _key_pem(rsa_1024)),
        "no-keycertsign": (_cert(other, "Hostile CA without keyCertSign", cert_sign=False), _key_pem(other)),
        "expired": (_cert(other, "Hostile expired CA", start=timedelta(days=-400), days=-30), _key_pem(other)),
        "not-yet-valid": (_cert(other, "Hostile future CA", start=timedelta(days=30)), _key_pem(other)),
        "expiring": (_cert(other, "Hostile CA ending in 2 days", days=2), _key_pem(other)),
        "sha1": _sha1_ca(tmp_path_factory.mktemp("sha1")),
        "garbage-cert": (garbage, _key_pem(good)),
        "garbage-key": (good_cert, garbage_key),
        "empty-cert": (b"", _key_pem(good)),
        "truncated-cert": (good_cert[: len(good_cert) // 2], _key_pem(good)),
        "swapped": (_key_pem(good), good_cert),
        "key-only-public": (good_cert, good.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)),
        "binary-cert": (os.urandom(700), _key_pem(good)),
    }
    return cas


@pytest.fixture(scope="session")
def golden(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An output folder applied from GOLDEN_SPEC, in a project laid out as every case's is."""
    project = tmp_path_factory.mktemp("golden") / "project"
    project.mkdir()
    (project / "store.pw").write_text(FILE_PW + "\n", encoding="utf-8")
    spec = project / "pki.yaml"
    spec.write_text(GOLDEN_SPEC, encoding="utf-8")
    result = run_hostile("apply", spec, cwd=project, env=ENV)
    assert result.returncode == 0, result.stderr
    again = run_hostile("plan", spec, cwd=project, env=ENV)
    assert again.returncode == 0 and "No changes" in again.stdout, again.stdout + again.stderr
    saved = project.parent / "certs"
    shutil.copytree(project / "certs", saved, symlinks=True)
    return saved
