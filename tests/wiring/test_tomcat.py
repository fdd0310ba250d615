"""The tomcat snippet in a real Tomcat 10 (Debian's tomcat10, its own CATALINA_BASE on 127.0.0.1),
with the JKS and with the PKCS#12 stores, and under an intermediate CA: the client's curl snippet gets
in, a client without a certificate and a revoked client are refused in the handshake, and the java
snippet's JVM client gets 200."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mtlsgen.reports.wiring.clients import JAVA_PROGRAM

from .conftest import Wired
from .peers import FAST_JVM, INDEX, TOMCAT_HOME, curl, free_port, run_shell, tomcat

pytestmark = [pytest.mark.interop,
              pytest.mark.skipif(not (TOMCAT_HOME / "bin" / "catalina.sh").exists() or not shutil.which("curl")
                                 or not shutil.which("java"), reason="needs tomcat10 (apt), a JDK and curl")]

CLIENT_JAVA = Path(__file__).parent / "java" / "Client.java"


@dataclass(frozen=True)
class Running:
    url: str
    pki: Wired


@pytest.fixture(scope="module", params=[("flat", "jks"), ("flat", "pkcs12"), ("hierarchy", "pkcs12")],
                ids=["jks", "pkcs12", "intermediate"])
def server(request: pytest.FixtureRequest, wired_pki: Callable[[str], Wired],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """Tomcat configured by nothing but the tomcat snippet of api-server."""
    kind, fmt = request.param
    pki = wired_pki(kind)
    port = free_port()
    connector = pki.snippet("api-server", "tomcat", listen=f"127.0.0.1:{port}", store_format=fmt)
    assert f"keystore.{'jks' if fmt == 'jks' else 'p12'}" in connector
    assert f'certificateRevocationListFile="{pki.folder}/certs/api-server/ca.crl"' in connector
    with tomcat(connector, tmp_path_factory.mktemp(f"tomcat-{kind}-{fmt}"), port):
        yield Running(f"https://localhost:{port}/", pki)


def test_the_curl_snippet_gets_in_with_pem_and_with_pkcs12(server: Running) -> None:
    result = run_shell(server.pki.snippet("client", "curl", url=server.url), server.pki.folder)
    assert result.returncode == 0, result.stderr
    assert result.stdout == INDEX * 2  # both commands of the snippet: PEM files, then the PKCS#12 store


def test_a_client_without_a_certificate_is_refused(server: Running) -> None:
    response = curl(server.url, "--cacert", server.pki.folder / "certs" / "client" / "ca.crt")
    assert response.exit_code != 0 and response.status == "000", response  # refused in the handshake


def test_a_revoked_client_is_refused(server: Running) -> None:
    gone, client = server.pki.revoked, server.pki.folder / "certs" / "client"
    ok = curl(server.url, "--cacert", gone / "ca.crt", "--cert", client / "tls.crt", "--key", client / "tls.key")
    assert ok.status == "200", ok  # the same command with a valid client: only the certificate differs
    response = curl(server.url, "--cacert", gone / "ca.crt", "--cert", gone / "tls.crt", "--key", gone / "tls.key")
    assert response.exit_code != 0 and response.status == "000", response


def test_the_java_snippet_gets_200(server: Running) -> None:
    text = server.pki.snippet("client", "java", url=server.url)
    assert text.count(JAVA_PROGRAM) == 1
    result = run_shell(text.replace(JAVA_PROGRAM, f"{CLIENT_JAVA} {server.url}"), server.pki.folder, timeout=120,
                       JDK_JAVA_OPTIONS=FAST_JVM)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"200\n{INDEX}"
