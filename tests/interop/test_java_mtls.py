"""The seed article's flow for real: a Java HTTPS server with `client-auth: need`, and curl as client.

`mtlsgen apply` runs once on a copy of examples/pki.yaml. tests/interop/java/MtlsServer.java (JDK only, what
a Spring Boot server with server.ssl.client-auth=need does) is compiled at test time and started with
the api-server's keystore and truststore — the JKS pair, then the PKCS#12 pair — and curl calls it:
with the client's PEM files, with its PKCS#12 key store, with no certificate, and with a certificate
from another CA. Only the first two may get in.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from tests.helpers.common import REPO, run_cli
from tests.helpers.java import FAST_JVM, compile_server, java_server

HOST = "api-server.example.com"

pytestmark = [pytest.mark.interop,
              pytest.mark.skipif(not all(shutil.which(t) for t in ("java", "javac", "keytool", "curl")),
                                 reason="needs a JDK (java, javac, keytool) and curl")]


@pytest.fixture(scope="module")
def server_classes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_server(tmp_path_factory.mktemp("classes"))


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/pki.yaml copied to a fresh folder and applied once; returns its certs/ folder."""
    folder = tmp_path_factory.mktemp("example")
    shutil.copy(REPO / "examples" / "pki.yaml", folder / "pki.yaml")
    result = run_cli("apply", folder / "pki.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    return folder / "certs"


OTHER_SPEC = """\
# Another, unrelated PKI: its "client" has the example client's name and CN, but not its CA.
version: 1
ca: {cn: Foreign Root CA, key: ecdsa-p256}
servers:
  api-server:
    cn: api-server.example.com
    sans: [api-server.example.com]
    keystore: {formats: [pkcs12]}
    truststore: {formats: [pkcs12]}
clients:
  client: {}
  locked:
    key_password: {env: KP}
"""
KEY_PASSWORD = "key-pass-5190"


@pytest.fixture(scope="module")
def other(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("other")
    (folder / "pki.yaml").write_text(OTHER_SPEC, encoding="utf-8")
    result = run_cli("apply", folder / "pki.yaml", env={"KP": KEY_PASSWORD})
    assert result.returncode == 0, result.stdout + result.stderr
    return folder / "certs"


def _log(certs: Path, ext: str) -> Path:
    """Beside the output folder, never in it."""
    return certs.parent / f"server-api-server-{ext}.log"


@pytest.fixture(scope="module", params=["jks", "p12"])
def server(request: pytest.FixtureRequest, server_classes: Path, example: Path) -> Iterator[int]:
    """The example's api-server, as Spring Boot would run it, from its JKS or its PKCS#12 stores."""
    with java_server(server_classes, example / "api-server", request.param, _log(example, request.param)) as port:
        yield port


@dataclass(frozen=True)
class Response:
    exit_code: int
    status: str
    body: str
    error: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.status == "200"


def curl(port: int, *args: str | Path, host: str = HOST) -> Response:
    url = f"https://{host}:{port}/"
    result = subprocess.run(["curl", "-sS", "--max-time", "20", "-w", "\n%{http_code}",
                             "--resolve", f"{HOST}:{port}:127.0.0.1", *map(str, args), url],
                            capture_output=True, text=True, timeout=60, check=False,
                            stdin=subprocess.DEVNULL, start_new_session=True)  # never a passphrase prompt
    body, _, status = result.stdout.rpartition("\n")
    return Response(result.returncode, status, body, result.stderr)


# -- the seed's curl calls ---------------------------------------------------------------------

@pytest.mark.parametrize("host", [HOST, "localhost", "127.0.0.1"])
def test_client_with_pem_files_gets_in(server: int, example: Path, host: str) -> None:
    client = example / "client"
    response = curl(server, "--cacert", client / "ca.crt", "--cert", client / "tls.crt",
                    "--key", client / "tls.key", host=host)
    assert response.ok, response
    assert response.body.strip() == "hello client"


def refused_in_handshake(response: Response) -> bool:
    """Turned away by TLS itself: curl fails and no HTTP status came back. (A server that lets the
    handshake through and answers 403 has client auth off — the HttpsParameters pitfall.)"""
    return response.exit_code != 0 and response.status == "000" and "hello" not in response.body


def test_client_without_certificate_is_refused(server: int, example: Path) -> None:
    response = curl(server, "--cacert", example / "client" / "ca.crt")
    assert refused_in_handshake(response), response


def test_client_from_a_foreign_ca_is_refused(server: int, example: Path, other: Path) -> None:
    foreign = other / "client"
    response = curl(server, "--cacert", example / "client" / "ca.crt",
                    "--cert", foreign / "tls.crt", "--key", foreign / "tls.key")
    assert refused_in_handshake(response), response


def test_client_with_its_pkcs12_keystore_gets_in(server: int, example: Path) -> None:
    client = example / "client"
    password = (client / "keystore.password").read_text().strip()
    response = curl(server, "--cacert", client / "ca.crt", "--cert-type", "P12",
                    "--cert", f"{client / 'keystore.p12'}:{password}")
    assert response.ok, response
    assert response.body.strip() == "hello client"


def test_server_is_verified_against_the_ca(server: int, example: Path, other: Path) -> None:
    client = example / "client"
    pem = ("--cert", client / "tls.crt", "--key", client / "tls.key")
    assert not curl(server, *pem).ok  # no --cacert: the system CAs do not know this root
    assert not curl(server, "--cacert", other / "ca" / "ca.crt", *pem).ok


# -- key_password: an encrypted tls.key, as in the seed's `curl --key client.key --pass 12345678` ---

def test_encrypted_client_key_works_with_curl_pass(server_classes: Path, other: Path) -> None:
    locked = other / "locked"
    assert "ENCRYPTED PRIVATE KEY" in (locked / "tls.key").read_text()
    pem = ("--cacert", locked / "ca.crt", "--cert", locked / "tls.crt", "--key", locked / "tls.key")
    with java_server(server_classes, other / "api-server", "p12", _log(other, "p12")) as port:
        response = curl(port, *pem, "--pass", KEY_PASSWORD)
        assert response.ok, response
        assert response.body.strip() == "hello locked"
        assert not curl(port, *pem, "--pass", "wrong-password").ok


# -- what the stores hold ----------------------------------------------------------------------

def keytool_list(store: Path, password: str) -> str:
    result = subprocess.run(["keytool", *(f"-J{flag}" for flag in FAST_JVM), "-list", "-v", "-keystore",
                             str(store), "-storepass", password],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def sha256_of(pem: Path) -> str:
    return x509.load_pem_x509_certificate(pem.read_bytes()).fingerprint(hashes.SHA256()).hex(":").upper()


@pytest.mark.parametrize("fmt", ["jks", "p12"])
def test_example_stores_hold_what_spring_boot_needs(example: Path, fmt: str) -> None:
    api = example / "api-server"
    trust = keytool_list(api / f"truststore.{fmt}", (api / "truststore.password").read_text().strip())
    assert "Your keystore contains 1 entry" in trust
    assert re.findall(r"Alias name: (\S+)", trust) == ["ca"]
    assert re.findall(r"Entry type: (\S+)", trust) == ["trustedCertEntry"]
    assert sha256_of(example / "ca" / "ca.crt") in trust  # the root the client's chain ends in
    keys = keytool_list(api / f"keystore.{fmt}", (api / "keystore.password").read_text().strip())
    assert re.findall(r"Alias name: (\S+)", keys) == ["api-server"]  # server.ssl.key-alias
    assert re.findall(r"Entry type: (\S+)", keys) == ["PrivateKeyEntry"]
    assert "Certificate chain length: 2" in keys


def test_example_files_and_modes(example: Path) -> None:
    api, client = example / "api-server", example / "client"
    assert sorted(p.name for p in api.iterdir()) == [
        "ca.crt", "keystore.jks", "keystore.p12", "keystore.password", "tls.crt", "tls.key",
        "truststore.jks", "truststore.p12", "truststore.password"]
    assert sorted(p.name for p in client.iterdir()) == [
        "ca.crt", "keystore.p12", "keystore.password", "tls.crt", "tls.key"]
    for secret in ("keystore.jks", "keystore.p12", "keystore.password", "tls.key", "truststore.password"):
        assert (api / secret).stat().st_mode & 0o777 == 0o600, secret
    assert os.stat(example / "ca" / "ca.key").st_mode & 0o777 == 0o600
