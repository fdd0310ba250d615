"""The python snippet against a Python HTTPS server requiring client certificates (the server's
context comes from the mtlsgen_pki fixture), and the openssl snippets against each other: s_client's
request, run as printed, gets the answer of s_server run as printed; no certificate or a revoked one gets none."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mtlsgen.pytest_plugin import Pki
from mtlsgen.reports.wiring import Request, snippet

from .conftest import Wired
from .peers import background, clean_env, free_port, python_https_server, run_shell

SPEC = {
    "ca": {"cn": "Python Wiring Root", "key": "ecdsa-p256"},
    "servers": {"api": {"sans": ["localhost", "127.0.0.1"]}},
    "clients": {"py-client": {}, "locked": {"key_password": {"generate": True}}},
}


@pytest.fixture(scope="module")
def pki(mtlsgen_pki: Callable[[dict[str, object]], Pki]) -> Pki:
    return mtlsgen_pki(SPEC)


@pytest.fixture(scope="module")
def https_url(pki: Pki) -> Iterator[str]:
    with python_https_server(pki.ssl_context("api")) as port:
        yield f"https://localhost:{port}/"


def _python_with(module: str) -> str | None:
    """An interpreter that can import `module`: this one, or the system's python3."""
    for python in (sys.executable, shutil.which("python3")):
        if python and subprocess.run([python, "-c", f"import {module}"], capture_output=True,
                                     check=False).returncode == 0:
            return python
    return None


@pytest.mark.parametrize("client", ["py-client", "locked"])
def test_the_python_snippet_run_as_a_script_gets_200(pki: Pki, https_url: str, client: str) -> None:
    text = snippet(pki.spec, client, Request("python", url=https_url, cwd=pki.folder))
    script = pki.folder / f"{client}_client.py"
    script.write_text(text)
    env = {}
    if client == "locked":  # its tls.key is encrypted: the snippet reads the password's variable
        assert "os.environ['LOCKED_KEY_PASSWORD']" in text
        env["LOCKED_KEY_PASSWORD"] = pki.password("locked", "key")
    result = subprocess.run([sys.executable, script.name], cwd=pki.folder, env=clean_env(**env),
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "200\n"


@pytest.mark.parametrize("library", ["requests", "httpx"])
def test_the_python_snippets_library_functions_get_200(pki: Pki, https_url: str, library: str) -> None:
    python = _python_with(library)
    assert python is not None, f"{library} is not installed: the test extra brings it (pip install -e '.[test]')"
    script = pki.folder / "py_client_lib.py"
    script.write_text(snippet(pki.spec, "py-client", Request("python", url=https_url, cwd=pki.folder)))
    result = subprocess.run([python, "-c", f"import py_client_lib as s; print(s.get_with_{library}())"],
                            cwd=pki.folder, env=clean_env(), capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "200\n"


# -- openssl s_server and s_client -----------------------------------------------------------

needs_openssl = pytest.mark.skipif(not shutil.which("openssl"), reason="needs the openssl command")


@pytest.fixture(scope="module", params=["flat", "hierarchy"])
def s_server(request: pytest.FixtureRequest, wired_pki: Callable[[str], Wired],
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Wired]]:
    pki = wired_pki(request.param)
    port = free_port()
    text = pki.snippet("api-server", "openssl", listen=f"127.0.0.1:{port}")
    assert "certs/api-server/ca.crl) -crl_check_all" in text  # s_server checks clients against the CRLs
    log = tmp_path_factory.mktemp("s_server") / "s_server.log"
    with background(["bash", "-e", "-c", text], port, log, cwd=pki.folder, env=clean_env()):
        yield f"https://localhost:{port}/", pki


def _s_client(pki: Wired, url: str, cert: Path | None = None) -> subprocess.CompletedProcess[str]:
    text = pki.snippet("client", "openssl", url=url)
    if cert is not None:  # the same command with another client's files
        text = text.replace("certs/client/tls.crt", str(cert / "tls.crt")).replace("certs/client/tls.key",
                                                                                 str(cert / "tls.key"))
    return run_shell(text, pki.folder, timeout=30)


@needs_openssl
def test_s_client_snippet_gets_the_answer_of_the_s_server_snippet(s_server: tuple[str, Wired]) -> None:
    url, pki = s_server
    result = _s_client(pki, url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("HTTP/1.0 200 ok")
    assert "Verification: OK" in result.stderr and "Verified peername: localhost" in result.stderr


@needs_openssl
def test_s_server_snippet_refuses_no_certificate_and_a_revoked_one(s_server: tuple[str, Wired]) -> None:
    url, pki = s_server
    port = url.rsplit(":", 1)[1].strip("/")
    request = b"GET / HTTP/1.0\r\n\r\n"
    bare = subprocess.run(["openssl", "s_client", "-connect", f"localhost:{port}", "-CAfile",
                           str(pki.folder / "certs" / "client" / "ca.crt"), "-brief", "-ign_eof"],
                          input=request, capture_output=True, timeout=30, check=False)
    assert b"200 ok" not in bare.stdout and b"certificate required" in bare.stderr
    revoked = _s_client(pki, url, cert=pki.revoked)
    assert "200 ok" not in revoked.stdout and "certificate revoked" in revoked.stderr
