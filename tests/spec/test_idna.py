"""Internationalised host names follow IDNA 2008 (UTS #46, non-transitional), as browsers and curl do.

IDNA 2003 (Python's "idna" codec) maps ß and ς away and accepts symbols: `straße.de` became the
certificate name `strasse.de`, another host than the `xn--strae-oqa.de` clients look up.
"""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography import x509

import mtlsgen
from mtlsgen import SpecError, load_spec
from mtlsgen.spec.names import parse_san
from tests.helpers.tls import handshake

# (as written, what IDNA 2008 makes of it, what IDNA 2003 made of it)
DIFFER = [
    ("straße.de", "xn--strae-oqa.de", "strasse.de"),
    ("faß.de", "xn--fa-hia.de", "fass.de"),
    ("βόλος.com", "xn--nxasmm1c.com", "xn--nxasmq6b.com"),          # final sigma kept
    ("ශ්\u200dරී.com", "xn--10cl1a0b660p.com", "xn--10cl1a0b.com"),  # ZERO WIDTH JOINER kept where allowed
    ("*.faß.de", "*.xn--fa-hia.de", "*.fass.de"),
]
# Same under both: mapping (case, full width) and plain letters.
SAME = [
    ("Bücher.Example", "xn--bcher-kva.example"),
    ("ＡＢＣ.com", "abc.com"),
    ("日本語.jp", "xn--wgv71a119e.jp"),
    # Mixed scripts within a label (a Cyrillic а in a Latin name): IDNA 2008 has no rule against it
    # (confusables are registries' and browsers' business), so it is accepted, as the idna package does.
    ("pаypal.com", "xn--pypal-4ve.com"),
]
# IDNA 2003 accepted these; IDNA 2008 does not.
REFUSED = [
    ("☃.net", "U+2603 not allowed"),                       # a symbol
    ("😀.com", "U+1F600 not allowed"),                     # an emoji
    ("aא.com", "direction"),                               # Latin and Hebrew in one label: the bidi rule
    ("xn--n3h.net", "U+2603"),                             # the snowman's A-label, written directly
]


@pytest.mark.parametrize(("written", "idna2008", "idna2003"), DIFFER)
def test_names_where_2003_and_2008_differ_take_the_2008_form(written: str, idna2008: str, idna2003: str) -> None:
    assert str(parse_san(written)) == f"DNS:{idna2008}"
    assert written.removeprefix("*.").encode("idna").decode().lower() == idna2003.removeprefix("*.")


@pytest.mark.parametrize(("written", "expected"), SAME)
def test_mapped_and_plain_names(written: str, expected: str) -> None:
    assert str(parse_san(written)) == f"DNS:{expected}"


@pytest.mark.parametrize(("written", "reason"), REFUSED)
def test_disallowed_names_are_one_line_spec_errors_on_their_line(write_spec: Callable[[str], Path], written: str,
                                                                 reason: str) -> None:
    spec = write_spec(f"version: 1\nservers:\n  api:\n    sans:\n      - ok.example.com\n      - {written}\n")
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    message = str(info.value)
    assert message.startswith("pki.yaml:6: servers.api.sans[1]: "), message
    assert "\n" not in message and reason in message
    assert "IDNA 2008" in message or written.startswith("xn--")


@pytest.fixture(scope="module")
def strasse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An applied spec whose server is straße.de (ECDSA); returns the server's folder."""
    folder = tmp_path_factory.mktemp("idna")
    spec = folder / "pki.yaml"
    spec.write_text("version: 1\nca: {key: ecdsa-p256}\nservers:\n  shop: {key: ecdsa-p256, sans: [straße.de]}\n",
                    encoding="utf-8")
    mtlsgen.apply(load_spec(spec))
    return folder / "certs" / "shop"


def _contexts(folder: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(folder / "tls.crt", folder / "tls.key")
    client = ssl.create_default_context(cafile=str(folder / "ca.crt"))
    return server, client


def test_certificate_holds_the_a_label(strasse: Path) -> None:
    cert = x509.load_pem_x509_certificate((strasse / "tls.crt").read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["xn--strae-oqa.de"]


def test_python_ssl_accepts_the_a_label_and_refuses_the_2003_name(strasse: Path) -> None:
    server, client = _contexts(strasse)
    good = handshake(server, client, server_hostname="xn--strae-oqa.de")
    assert good.client_error is None and good.received == b"hello"
    server, client = _contexts(strasse)
    wrong = handshake(server, client, server_hostname="strasse.de")
    assert wrong.client_error is not None and "match" in wrong.client_error


@contextmanager
def https_server(folder: Path) -> Iterator[int]:
    server_ctx, _ = _contexts(folder)
    httpd = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    httpd.socket = server_ctx.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.interop
def test_curl_reaches_the_a_label_host(strasse: Path) -> None:
    assert shutil.which("curl"), "curl is missing (.ci/run installs it)"
    with https_server(strasse) as port:
        def curl(host: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert",
                                   str(strasse / "ca.crt"), "--resolve", f"{host}:{port}:127.0.0.1",
                                   f"https://{host}:{port}/"], capture_output=True, text=True, timeout=30,
                                  check=False)

        ok = curl("xn--strae-oqa.de")
        assert ok.returncode == 0 and ok.stdout in ("200", "404"), ok.stderr
        refused = curl("strasse.de")  # the name IDNA 2003 would have put in the certificate
        assert refused.returncode == 60 and "strasse.de" in refused.stderr, refused.stderr
