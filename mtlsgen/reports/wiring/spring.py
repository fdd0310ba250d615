"""Spring Boot application.yml: `server.ssl.*` and SSL bundles (`spring.ssl.bundle.jks|pem.*`, 3.1+).

The alternatives are separate YAML documents, each a complete application.yml on its own: paste one.
Values are written by PyYAML, so any path is quoted correctly; `${VAR}` is Spring's own placeholder,
which it fills from the environment.
"""

from __future__ import annotations

from typing import Any

import yaml

from .material import Material, Store, listen, show_path, url
from .notes import header
from .servers import crl_file


def _dump(document: dict[str, Any]) -> str:
    return str(yaml.safe_dump(document, sort_keys=False, default_flow_style=False, allow_unicode=True))


def _var(store: Store) -> str:
    return f"${{{store.password.var}}}"


def _pem_bundle(m: Material) -> dict[str, Any]:
    keystore: dict[str, Any] = {"certificate": f"file:{m.cert}", "private-key": f"file:{m.key}"}
    if m.key_password is not None:
        keystore["private-key-password"] = f"${{{m.key_password.var}}}"
    return {"pem": {m.name: {"keystore": keystore, "truststore": {"certificate": f"file:{m.ca}"}}}}


def _jks_bundle(m: Material) -> dict[str, Any]:
    assert m.keystore is not None and m.truststore is not None
    return {"jks": {m.name: {
        "key": {"alias": m.keystore.alias},
        "keystore": {"location": f"file:{m.keystore.path}", "password": _var(m.keystore), "type": m.keystore.type},
        "truststore": {"location": f"file:{m.truststore.path}", "password": _var(m.truststore),
                       "type": m.truststore.type}}}}


def _server_part(m: Material, ssl: dict[str, Any]) -> dict[str, Any]:
    where = listen(m.request)
    server: dict[str, Any] = {"port": where.port}
    if where.address:
        server["address"] = where.address
    server["ssl"] = ssl
    return server


def server(m: Material) -> str:
    docs: list[tuple[str, dict[str, Any]]] = []
    if m.keystore is not None:
        ssl: dict[str, Any] = {"enabled": True, "client-auth": "need",
                               "key-store": f"file:{m.keystore.path}", "key-store-type": m.keystore.type,
                               "key-store-password": _var(m.keystore), "key-alias": m.keystore.alias}
        if m.truststore is not None:
            ssl |= {"trust-store": f"file:{m.truststore.path}", "trust-store-type": m.truststore.type,
                    "trust-store-password": _var(m.truststore)}
        else:  # no trust store in the spec: the PEM root does the same job (Spring Boot 2.7+)
            ssl["trust-certificate"] = f"file:{m.ca}"
        docs.append(("1. server.ssl with the key store (any Spring Boot 2.7+/3.x)", {"server": _server_part(m, ssl)}))
    bundle_ssl = {"bundle": m.name, "client-auth": "need"}
    docs.append((f"{len(docs) + 1}. Spring Boot 3.1+: an SSL bundle read from the PEM files (no store password)",
                 {"server": _server_part(m, dict(bundle_ssl)), "spring": {"ssl": {"bundle": _pem_bundle(m)}}}))
    if m.keystore is not None and m.truststore is not None:
        docs.append((f"{len(docs) + 1}. Spring Boot 3.1+: an SSL bundle read from the key store and trust store",
                     {"server": _server_part(m, dict(bundle_ssl)), "spring": {"ssl": {"bundle": _jks_bundle(m)}}}))
    crl = crl_file(m)
    usage = () if crl is None else (
        f"Spring Boot has no property for a CRL: to refuse revoked clients, load {show_path(crl, m.request)}",
        "with a Tomcat connector customizer (SSLHostConfig certificateRevocationListFile).")
    return _documents(m, docs, "Server", usage)


def client(m: Material) -> str:
    docs: list[tuple[str, dict[str, Any]]] = [
        ("1. Spring Boot 3.1+: an SSL bundle read from the PEM files (no store password)",
         {"spring": {"ssl": {"bundle": _pem_bundle(m)}}})]
    if m.keystore is not None and m.truststore is not None:
        docs.append(("2. Spring Boot 3.1+: an SSL bundle read from the key store and trust store",
                     {"spring": {"ssl": {"bundle": _jks_bundle(m)}}}))
    target = url(m.spec, m.request).text
    usage = (f"Use the bundle {m.name!r} for the calls to {target}:",
             f'  RestClient (3.2+): restClientBuilder.apply(restClientSsl.fromBundle("{m.name}")).build()',
             f'  WebClient:         webClientBuilder.apply(webClientSsl.fromBundle("{m.name}")).build()',
             "  (RestClient.Builder, RestClientSsl, WebClient.Builder and WebClientSsl are injected beans.)")
    return _documents(m, docs, "Client", usage)


def _documents(m: Material, docs: list[tuple[str, dict[str, Any]]], what: str,
               usage: tuple[str, ...] = ()) -> str:
    # The store passwords matter only when a document reads a store (a client's bundle needs both stores).
    both = m.keystore is not None and m.truststore is not None
    stores = [s.password for s in (m.keystore, m.truststore) if s is not None and (m.side == "server" or both)]
    lines = header(m, "#", [*stores, m.key_password])
    choice = "Paste ONE of the documents below into application.yml" if len(docs) > 1 else \
        "Paste into application.yml"
    lines.append(f"# {what} side for Spring Boot. {choice}.")
    lines += [f"# {line}" for line in usage]
    out = "\n".join(lines) + "\n"
    for title, document in docs:
        out += f"---\n# {title}\n{_dump(document)}"
    return out
