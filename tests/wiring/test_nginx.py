"""The nginx snippet in a real nginx on 127.0.0.1, for a flat PKI and under an intermediate CA:
`nginx -t` accepts it; the client's curl snippet gets in; no certificate, or a revoked one (the snippet
loads the server's ca.crl), gets HTTP 400 — nginx completes the handshake and refuses at the HTTP layer."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from .conftest import Wired
from .peers import INDEX, NGINX, curl, free_port, nginx, nginx_conf, run_shell

pytestmark = [pytest.mark.interop,
              pytest.mark.skipif(not shutil.which(NGINX) or not shutil.which("curl"),
                                 reason="needs nginx (apt) and curl")]


@dataclass(frozen=True)
class Running:
    url: str
    pki: Wired


@pytest.fixture(scope="module", params=["flat", "hierarchy"])
def server(request: pytest.FixtureRequest, wired_pki: Callable[[str], Wired],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    pki = wired_pki(request.param)
    port = free_port()
    block = pki.snippet("api-server", "nginx", listen=f"127.0.0.1:{port}")
    with nginx(block, tmp_path_factory.mktemp(f"nginx-{request.param}"), port):
        yield Running(f"https://localhost:{port}/", pki)


def test_nginx_t_accepts_the_snippet(wired: Wired, tmp_path_factory: pytest.TempPathFactory) -> None:
    conf = nginx_conf(wired.snippet("api-server", "nginx", listen=f"127.0.0.1:{free_port()}"),
                      tmp_path_factory.mktemp("nginx-t"))
    result = subprocess.run([NGINX, "-t", "-p", str(conf.parent), "-c", str(conf)], capture_output=True, text=True,
                            timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_the_snippet_loads_the_crl_of_every_ca_on_the_chain(server: Running) -> None:
    bundle = server.pki.folder / "certs" / "api-server" / "ca.crl"
    block = server.pki.snippet("api-server", "nginx")
    assert f"ssl_crl                 {bundle};" in block
    cas = [e for e in server.pki.spec.entries if e.is_ca]
    assert bundle.read_text().count("BEGIN X509 CRL") == len(cas)  # the root's, and the intermediate's
    assert f"ssl_verify_depth        {len(cas)};" in block


def test_the_curl_snippet_gets_in(server: Running) -> None:
    result = run_shell(server.pki.snippet("client", "curl", url=server.url), server.pki.folder)
    assert result.returncode == 0, result.stderr
    assert result.stdout == INDEX * 2


def test_a_client_without_a_certificate_gets_400(server: Running) -> None:
    response = curl(server.url, "--cacert", server.pki.folder / "certs" / "client" / "ca.crt")
    assert response.status == "400", response
    assert "No required SSL certificate was sent" in response.body


def test_a_revoked_client_gets_400(server: Running) -> None:
    gone = server.pki.revoked
    response = curl(server.url, "--cacert", gone / "ca.crt", "--cert", gone / "tls.crt", "--key", gone / "tls.key")
    assert response.status == "400", response
    assert "The SSL certificate error" in response.body
