"""Revocation that reaches real servers: nginx (`ssl_crl`) and Tomcat 10 (`certificateRevocationListFile`,
with the JKS and the PKCS#12 stores) load the server's own ca.crl as mtlsgen writes it, for a flat PKI
and under an intermediate: the valid client gets in; a revoked client (a copy of its files kept from
before `revoked: true`), a pruned one (a copy kept from before `apply --prune`) and one without a
certificate are refused."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import mtlsgen
from tests.helpers.engine import write
from tests.wiring.peers import FAST_JVM, NGINX, TOMCAT_HOME, background, clean_env, free_port, nginx

pytestmark = [pytest.mark.interop,
              pytest.mark.skipif(not Path(NGINX).exists() or not (TOMCAT_HOME / "bin").is_dir(),
                                 reason="needs nginx and tomcat10 (.ci/run installs them)")]

FLAT = """
version: 1
defaults: {key: ecdsa-p256, validity: 30d}
ca: {cn: Revocation Root, validity: 1y}
servers:
  api:
    sans: [api.example.com]
    keystore: {formats: [pkcs12, jks]}
    truststore: {formats: [pkcs12, jks]}
clients:
  good: {}
  laptop: {}
  old: {}
"""
TREE = FLAT.replace("ca: {cn: Revocation Root, validity: 1y}",
                    "ca: {cn: Revocation Root, validity: 1y}\nintermediates:\n  services-ca: {validity: 1y}") \
    .replace("    sans: [api.example.com]", "    issuer: services-ca\n    sans: [api.example.com]") \
    .replace("  good: {}\n  laptop: {}\n  old: {}",
             "  good: {issuer: services-ca}\n  laptop: {issuer: services-ca}\n  old: {issuer: services-ca}")
HOST = "api.example.com"


@dataclass(frozen=True)
class Pki:
    out: Path
    kept: Path  # copies of laptop/ and old/ taken before they were revoked and pruned


def _make(folder: Path, text: str) -> Pki:
    spec_file = write(folder / "pki.yaml", text)
    mtlsgen.apply(mtlsgen.load_spec(spec_file))
    out, kept = folder / "certs", folder / "kept"
    for name in ("laptop", "old"):
        shutil.copytree(out / name, kept / name)
    write(spec_file, text.replace("  laptop: {", "  laptop: {revoked: true, ").replace("  laptop: {revoked: true, }",
                                                                                       "  laptop: {revoked: true}")
          .replace("  old: {issuer: services-ca}\n", "").replace("  old: {}\n", ""))
    mtlsgen.apply(mtlsgen.load_spec(spec_file), prune=True)
    assert not (out / "laptop").exists() and not (out / "old").exists()
    assert (out / "api" / "ca.crl").is_file()
    return Pki(out, kept)


@pytest.fixture(scope="module", params=["flat", "intermediate"])
def pki(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return _make(tmp_path_factory.mktemp(request.param), FLAT if request.param == "flat" else TREE)


def _password(pki: Pki, kind: str) -> str:
    return (pki.out / "api" / f"{kind}.password").read_text().strip()


@pytest.fixture(scope="module", params=["nginx", "tomcat-jks", "tomcat-pkcs12"])
def server(request: pytest.FixtureRequest, pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = free_port()
    api = pki.out / "api"
    place = tmp_path_factory.mktemp(request.param)
    if request.param == "nginx":
        block = (f"  server {{\n    listen 127.0.0.1:{port} ssl;\n    server_name {HOST};\n"
                 f"    ssl_certificate {api / 'tls.crt'};\n    ssl_certificate_key {api / 'tls.key'};\n"
                 f"    ssl_client_certificate {api / 'ca.crt'};\n    ssl_verify_client on;\n"
                 f"    ssl_verify_depth 3;\n    ssl_crl {api / 'ca.crl'};\n  }}\n")
        with nginx(block, place, port):
            yield port
        return
    fmt = request.param.removeprefix("tomcat-")
    ext, store_type = ("jks", "JKS") if fmt == "jks" else ("p12", "PKCS12")
    connector = (
        f'    <Connector port="{port}" address="127.0.0.1" protocol="org.apache.coyote.http11.Http11NioProtocol"\n'
        f'               SSLEnabled="true" scheme="https" secure="true">\n'
        f'      <SSLHostConfig certificateVerification="required" truststoreFile="{api / f"truststore.{ext}"}"\n'
        f'                     truststoreType="{store_type}" truststorePassword="{_password(pki, "truststore")}"\n'
        f'                     certificateRevocationListFile="{api / "ca.crl"}">\n'
        f'        <Certificate certificateKeystoreFile="{api / f"keystore.{ext}"}"\n'
        f'                     certificateKeystoreType="{store_type}"\n'
        f'                     certificateKeystorePassword="{_password(pki, "keystore")}" certificateKeyAlias="api"/>\n'
        f"      </SSLHostConfig>\n    </Connector>\n")
    for sub in ("conf", "logs", "temp", "work", "webapps/ROOT"):
        (place / sub).mkdir(parents=True, exist_ok=True)
    shutil.copy(TOMCAT_HOME / "etc" / "web.xml", place / "conf" / "web.xml")
    (place / "webapps" / "ROOT" / "index.html").write_text("hello\n")
    (place / "conf" / "server.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<Server port="-1" shutdown="SHUTDOWN">\n  <Service name="Catalina">\n'
        + connector + '    <Engine name="Catalina" defaultHost="localhost">\n'
        '      <Host name="localhost" appBase="webapps" unpackWARs="false" autoDeploy="false"/>\n'
        "    </Engine>\n  </Service>\n</Server>\n")
    env = clean_env(CATALINA_HOME=str(TOMCAT_HOME), CATALINA_BASE=str(place), JAVA_OPTS=f"-Xmx128m {FAST_JVM}")
    with background([str(TOMCAT_HOME / "bin" / "catalina.sh"), "run"], port, place / "catalina.out", env=env):
        yield port


def _get(port: int, ca: Path, client: Path | None) -> tuple[int, str]:
    """curl as the client would call the server: exit code and HTTP status ("000" when refused in TLS)."""
    args = ["curl", "-sS", "--max-time", "20", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", str(ca),
            "--resolve", f"{HOST}:{port}:127.0.0.1"]
    if client is not None:
        args += ["--cert", str(client / "tls.crt"), "--key", str(client / "tls.key")]
    result = subprocess.run([*args, f"https://{HOST}:{port}/"], capture_output=True, text=True, timeout=60,
                            check=False, stdin=subprocess.DEVNULL)
    return result.returncode, result.stdout.strip()


def _refused(outcome: tuple[int, str]) -> bool:
    # Tomcat refuses in the handshake (curl fails); nginx completes it and answers 400 (docs/PITFALLS).
    code, status = outcome
    return code != 0 or status == "400"


def test_the_valid_client_gets_in(server: int, pki: Pki) -> None:
    assert _get(server, pki.out / "good" / "ca.crt", pki.out / "good") == (0, "200")


def test_a_revoked_client_is_refused(server: int, pki: Pki) -> None:
    assert _refused(_get(server, pki.out / "good" / "ca.crt", pki.kept / "laptop"))


def test_a_pruned_client_is_refused(server: int, pki: Pki) -> None:
    assert _refused(_get(server, pki.out / "good" / "ca.crt", pki.kept / "old"))


def test_a_client_without_a_certificate_is_refused(server: int, pki: Pki) -> None:
    assert _refused(_get(server, pki.out / "good" / "ca.crt", None))
