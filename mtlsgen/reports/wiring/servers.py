"""Server-side snippets for daemons: a Tomcat <Connector>, an nginx server block, `openssl s_server`.

Tomcat and nginx resolve a relative path against their own folders (CATALINA_BASE, nginx's prefix),
never against the user's shell, so their snippets always carry absolute paths.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import replace
from pathlib import Path
from xml.sax.saxutils import quoteattr

from ...engine.layout import Layout
from .material import Material, listen, material, needs, show_path
from .notes import header

TOMCAT_ENV_SOURCE = ("org.apache.tomcat.util.digester.PROPERTY_SOURCE="
                     "org.apache.tomcat.util.digester.EnvironmentPropertySource")


CRL_NOTE = "the CRLs of every CA that issues its clients: revoked clients are refused"


def crl_file(m: Material) -> Path | None:
    """The CRL file a server checks its clients against (one function: the one place to change).

    The server's own ca.crl: mtlsgen writes it, with the CRL of every CA that can issue the clients
    the server trusts (the root's and each intermediate's: nginx, Tomcat and OpenSSL want one for
    every CA on a client's chain), as soon as anything under those roots can be revoked — a `crl:`
    section or a revoked entry in the spec, or a CRL written earlier (then the file is there).
    """
    spec = m.spec
    roots = spec.trusted_roots(m.name)
    revocable = any(e.crl is not None or e.revoked for e in spec.entries if spec.root_of(e.name).name in roots)
    path = Layout.of(spec).crl(m.name)
    return path if revocable or path.is_file() else None


def _absolute(m: Material) -> Material:
    return m if m.request.absolute else material(m.spec, m.entry, m.side, replace(m.request, absolute=True))


def tomcat(m: Material) -> str:
    needs(m, keystore=True, truststore=True, why="a Tomcat connector reads a key store and a trust store")
    m = _absolute(m)
    assert m.keystore is not None and m.truststore is not None
    where = listen(m.request)
    crl = crl_file(m)
    lines = header(m, "  ", [m.keystore.password, m.truststore.password])
    lines = ["<!--", *(_xml_comment(line) for line in lines),
             "  Tomcat reads ${…} from the environment only with (in CATALINA_OPTS, or as a line of",
             "  conf/catalina.properties without the -D):",
             f"    -D{TOMCAT_ENV_SOURCE}",
             "  Paste inside <Service> in conf/server.xml.", "-->"]
    address = f" address={quoteattr(where.address)}" if where.address else ""
    lines += [f'<Connector port="{where.port}"{address} protocol="org.apache.coyote.http11.Http11NioProtocol"',
              '           SSLEnabled="true" scheme="https" secure="true">',
              '  <SSLHostConfig certificateVerification="required"',
              f"                 truststoreFile={quoteattr(m.truststore.path)}",
              f'                 truststoreType="{m.truststore.type}"',
              f'                 truststorePassword="${{{m.truststore.password.var}}}"']
    if crl is not None:
        lines.append(f"                 certificateRevocationListFile={quoteattr(show_path(crl, m.request))}")
    lines[-1] += ">"
    if crl is not None:
        lines.append(f"    <!-- ca.crl: {CRL_NOTE} -->")
    lines += [f"    <Certificate certificateKeystoreFile={quoteattr(m.keystore.path)}",
              f'                 certificateKeystoreType="{m.keystore.type}"',
              f'                 certificateKeystorePassword="${{{m.keystore.password.var}}}"',
              f"                 certificateKeyAlias={quoteattr(m.keystore.alias)}/>",
              "  </SSLHostConfig>",
              "</Connector>"]
    return "\n".join(lines) + "\n"


def _xml_comment(text: str) -> str:
    return text.replace("--", "- -")  # `--` may not appear inside an XML comment


def nginx(m: Material) -> str:
    m = _absolute(m)
    where = listen(m.request)
    crl = crl_file(m)
    address = f"{where.address}:" if where.address and ":" not in where.address else \
        f"[{where.address}]:" if where.address else ""
    names = [s.value for s in m.entry.sans if s.kind == "DNS"]
    # nginx reads no environment: a key password comes from a file, named in the block itself.
    from_env = m.key_password if m.entry.key_password and m.entry.key_password.source in ("env", "literal") \
        else None
    lines = [*header(m, "#", [from_env]),
             "# Paste inside http { }. nginx finishes the handshake, then answers 400 to a client without a",
             "# valid certificate; $ssl_client_s_dn and $ssl_client_verify name the client for your locations.",
             "server {",
             f"    listen {address}{where.port} ssl;"]
    if names:
        lines.append(f"    server_name {' '.join(names)};")
    lines += [f"    ssl_certificate         {_nginx(m.cert)};  # this server, then its intermediates",
              f"    ssl_certificate_key     {_nginx(m.key)};"]
    if m.key_password is not None:
        lines += _nginx_key_password(m)
    lines += [f"    ssl_client_certificate  {_nginx(m.ca)};  # the root clients' chains end in",
              "    ssl_verify_client       on;",
              f"    ssl_verify_depth        {m.chain_depth};" + (f"  # {m.depth_note}" if m.depth_note else "")]
    if crl is not None:
        lines.append(f"    ssl_crl                 {_nginx(show_path(crl, m.request))};  # {CRL_NOTE}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _nginx_key_password(m: Material) -> list[str]:
    """nginx reads no environment: ssl_password_file wants a file holding tls.key's password."""
    assert m.entry.key_password is not None and m.key_password is not None
    password = m.entry.key_password
    if password.source in ("generate", "file"):
        source = Layout.of(m.spec).key_password_file(m.name) if password.source == "generate" \
            else Path(password.ref)
        return [f"    ssl_password_file       {_nginx(show_path(source, m.request))};"]
    return [f"    # tls.key is encrypted and nginx reads no environment: write ${m.key_password.var} to a file",
            "    # (0600) and name it here:",
            "    # ssl_password_file     /path/to/tls.key.password;"]


def _nginx(value: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_./:@+=,-]+", value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def openssl_server(m: Material) -> str:
    where = listen(m.request)
    accept = f"{where.address}:{where.port}" if where.address else str(where.port)
    crl = crl_file(m)
    args = [f"-accept {shlex.quote(accept)}", "-www",
            f"-Verify {m.chain_depth} -verify_return_error",  # -Verify: a client certificate is required
            f"-cert {shlex.quote(m.cert)} -key {shlex.quote(m.key)}"]
    if m.has_intermediates:
        args.append(f"-cert_chain {shlex.quote(m.cert)}")  # send the intermediates too
    if m.key_password is not None:
        args.append(f"-pass env:{m.key_password.var}")
    notes = [m.depth_note and f"-Verify: {m.depth_note}"]
    if crl is None:
        args.append(f"-CAfile {shlex.quote(m.ca)}")
    else:
        # -CRL reads only the first CRL of a file; a CAfile takes certificates and CRLs alike (bash's <(…)).
        args.append(f"-CAfile <(cat {shlex.quote(m.ca)} {shlex.quote(show_path(crl, m.request))}) -crl_check_all")
        notes.insert(0, f"ca.crl: {CRL_NOTE}")
    lines = [*header(m, "#", [m.key_password], shell=True), *(f"# {note}" for note in notes if note)]
    lines.append("# A test server (bash): answers every request with a status page; Ctrl-C stops it.")
    lines.append("openssl s_server " + " \\\n    ".join(args))
    return "\n".join(lines) + "\n"
