"""Client-side snippets: curl, Python (ssl, requests, httpx), a plain JVM's -Djavax.net.ssl flags,
`openssl s_client`. Shell snippets run as printed: the lines setting their password variables come first."""

from __future__ import annotations

import shlex

from .material import Material, needs, url
from .notes import header

JAVA_PROGRAM = "-jar your-client.jar"  # the placeholder the java snippet ends with


def curl(m: Material) -> str:
    target = url(m.spec, m.request)
    q = shlex.quote
    pem = [f"--cacert {q(m.ca)}", f"--cert {q(m.cert)} --key {q(m.key)}"]
    if m.key_password is not None:
        pem.append(f'--pass "${{{m.key_password.var}}}"')
    p12 = m.keystore if m.keystore is not None and m.keystore.type == "PKCS12" else None
    lines = [*header(m, "#", [m.key_password, p12.password if p12 else None], shell=True),
             "# With the PEM files:", _command("curl", [*pem, q(target.text)])]
    if p12 is not None:
        # --pass rather than `--cert FILE:PASSWORD`, which a colon in the path or the password would split.
        args = [f"--cacert {q(m.ca)}", f"--cert-type P12 --cert {q(p12.path)}",
                f'--pass "${{{p12.password.var}}}"', q(target.text)]
        lines += ["# With the PKCS#12 key store:", _command("curl", args)]
    return "\n".join(lines) + "\n"


def _command(program: str, args: list[str]) -> str:
    return f"{program} " + " \\\n    ".join(args)


def java(m: Material) -> str:
    needs(m, keystore=True, truststore=True,
          why="a JVM client reads its certificate from a key store and trusts servers through a trust store")
    assert m.keystore is not None and m.truststore is not None
    q = shlex.quote
    flags = [f"-Djavax.net.ssl.keyStore={q(m.keystore.path)}",
             f"-Djavax.net.ssl.keyStoreType={m.keystore.type}",
             f'-Djavax.net.ssl.keyStorePassword="${{{m.keystore.password.var}}}"',
             f"-Djavax.net.ssl.trustStore={q(m.truststore.path)}",
             f"-Djavax.net.ssl.trustStoreType={m.truststore.type}",
             f'-Djavax.net.ssl.trustStorePassword="${{{m.truststore.password.var}}}"',
             JAVA_PROGRAM]
    lines = [*header(m, "#", [m.keystore.password, m.truststore.password], shell=True),
             "# Flags for any JVM client using the default SSLContext (HttpClient, HttpsURLConnection);",
             f"# replace the last line with your program, which calls {url(m.spec, m.request).text}",
             _command("java", flags)]
    return "\n".join(lines) + "\n"


def openssl_client(m: Material) -> str:
    target = url(m.spec, m.request)
    q = shlex.quote
    check = f"-verify_ip {q(target.host)}" if target.is_ip else f"-verify_hostname {q(target.host)}"
    args = [f"-connect {q(_host_port(target.host, target.port))}"]
    if not target.is_ip:
        args.append(f"-servername {q(target.host)}")
    args += [f"{check} -verify_return_error", f"-CAfile {q(m.ca)}", f"-cert {q(m.cert)} -key {q(m.key)}"]
    if m.has_intermediates:
        args.append(f"-cert_chain {q(m.cert)}")  # -cert sends the leaf alone: add its intermediates
    if m.key_password is not None:
        args.append(f"-pass env:{m.key_password.var}")
    args.append("-brief -ign_eof")
    request = f"GET {_path(target.text)} HTTP/1.0\\r\\nHost: {target.host}\\r\\n\\r\\n"
    lines = [*header(m, "#", [m.key_password], shell=True),
             "# One HTTP request over mTLS; -brief prints the verified session, then the server's answer.",
             f"printf {q(request)} | openssl s_client " + " \\\n    ".join(args)]
    return "\n".join(lines) + "\n"


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _path(text: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(text)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def python(m: Material) -> str:
    target = url(m.spec, m.request)
    lines = [*header(m, "#", [m.key_password]),
             '"""mTLS client: the standard library, requests and httpx, on the same files."""',
             *(["import os"] if m.key_password is not None else []), "import ssl", "",
             f"URL = {target.text!r}",
             f"CA = {m.ca!r}  # the root the server's chain ends in",
             f"CERT = {m.cert!r}  # this client's certificate, then its intermediates",
             f"KEY = {m.key!r}"]
    password = ""
    if m.key_password is not None:
        lines.append(f"KEY_PASSWORD = os.environ[{m.key_password.var!r}]  # tls.key is encrypted")
        password = ", password=KEY_PASSWORD"
    lines += ["", "",
              "def context() -> ssl.SSLContext:",
              '    """Verifies the server against CA (name and chain) and presents CERT; urllib, http.client,',
              '    asyncio and httpx all take it."""',
              "    ctx = ssl.create_default_context(cafile=CA)",
              f"    ctx.load_cert_chain(CERT, KEY{password})",
              "    return ctx",
              "", "",
              "def get_with_urllib(url: str = URL) -> int:",
              "    import urllib.request",
              "",
              "    with urllib.request.urlopen(url, context=context(), timeout=10) as response:",
              "        return int(response.status)",
              "", ""]
    if m.key_password is None:
        lines += ["def get_with_requests(url: str = URL) -> int:",
                  "    import requests  # takes the files, not a context",
                  "",
                  "    return requests.get(url, cert=(CERT, KEY), verify=CA, timeout=10).status_code",
                  "", ""]
    else:
        lines += ["# requests cannot read an encrypted tls.key: use urllib or httpx with context().", "", ""]
    lines += ["def get_with_httpx(url: str = URL) -> int:",
              "    import httpx",
              "",
              "    return httpx.get(url, verify=context(), timeout=10).status_code",
              "", "",
              'if __name__ == "__main__":',
              "    print(get_with_urllib())"]
    return "\n".join(lines) + "\n"
