"""What every snippet says, without starting a server: no password value anywhere, password *sources*
that set the right values, paths that exist, Spring Boot's own property names, one-line errors for a
wrong role or a missing store, and the variants an intermediate CA brings."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from mtlsgen import MtlsgenError
from mtlsgen.pytest_plugin import Pki
from mtlsgen.reports.wiring import TARGETS, Request, environment, snippet

from .conftest import Wired
from .peers import run_shell

# Every password source, a key_password, and an entry whose name starts with a digit.
SOURCES = """\
version: 1
ca: {key: ecdsa-p256}
servers:
  api:
    sans: [api.test]
    keystore: {formats: [pkcs12, jks], password: {env: API_KS_PASSWORD}}
    truststore: {formats: [jks], password: {file: trust.pass}}
clients:
  lit:
    keystore: {formats: [pkcs12], password: "literal-secret-4711"}
    truststore: {formats: [pkcs12]}
  7k:
    key_password: {generate: true}
    keystore: {formats: [pkcs12]}
"""
ENV_PASSWORD = "env-secret-0815"
FILE_PASSWORD = "file-secret-2342"


@pytest.fixture(scope="module")
def sources(mtlsgen_pki: Callable[[str], Pki], tmp_path_factory: pytest.TempPathFactory) -> Pki:
    # The file source is relative to the spec, which the fixture writes in its own folder: give it an
    # absolute path instead, and the env source its variable for the one apply.
    pass_file = tmp_path_factory.mktemp("pass") / "trust.pass"
    pass_file.write_text(FILE_PASSWORD + "\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("API_KS_PASSWORD", ENV_PASSWORD)
        return mtlsgen_pki(SOURCES.replace("file: trust.pass", f"file: {pass_file}"))


def every_snippet(spec: Any, cwd: Path) -> dict[tuple[str, str], str]:
    """Every (entry, target) pair that prints something; the others must be one-line errors."""
    out = {}
    for entry in spec.entries:
        if entry.is_ca or entry.revoked:
            continue
        for target in TARGETS:
            try:
                out[entry.name, target] = snippet(spec, entry.name, Request(target, cwd=cwd))
            except MtlsgenError as exc:
                assert "\n" not in str(exc)
    return out


def all_passwords(pki_spec: Any) -> list[str]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("API_KS_PASSWORD", ENV_PASSWORD)
        return [value for e in pki_spec.entries if not e.is_ca and not e.revoked
                for _, value in environment(pki_spec, e.name)]


def test_no_snippet_holds_a_password_value(wired: Wired, sources: Pki) -> None:
    for spec, cwd in ((wired.spec, wired.folder), (sources.spec, sources.folder)):
        passwords = all_passwords(spec)
        assert len(passwords) >= 4
        snippets = every_snippet(spec, cwd)
        assert len(snippets) >= 9  # four server targets, five client ones
        for (name, target), text in snippets.items():
            for password in passwords:
                assert password not in text, f"{name} --for {target} prints a password"


def test_each_password_source_is_named_and_set_right(sources: Pki) -> None:
    spec, folder = sources.spec, sources.folder
    server = snippet(spec, "api", Request("spring", cwd=folder))
    # {env: API_KS_PASSWORD}: the user's own variable, named, not invented
    assert "key-store-password: ${API_KS_PASSWORD}" in server
    assert "API_KS_PASSWORD: yours already (pki.yaml:" in server
    # {file: …}: read from that file by the line printed
    file_line = next(line.removeprefix("#   ") for line in server.splitlines() if "API_TRUSTSTORE_PASSWORD=" in line)
    assert run_shell(f'{file_line}\nprintf %s "$API_TRUSTSTORE_PASSWORD"', folder).stdout == FILE_PASSWORD
    # a literal: a variable of its own, and where the value is written
    lit = snippet(spec, "lit", Request("curl", cwd=folder))
    assert '--pass "${LIT_KEYSTORE_PASSWORD}"' in lit
    assert "the key store password written in pki.yaml:" in lit and "mtlsgen env lit" in lit
    # generated, with a name starting with a digit: a valid shell name, set from the generated file
    seven = snippet(spec, "7k", Request("curl", cwd=folder))
    assert '--pass "${_7K_KEY_PASSWORD}"' in seven
    printed = run_shell(seven.split("# With the PEM files:")[0] + 'printf %s "$_7K_KEY_PASSWORD"', folder)
    assert printed.stdout == sources.password("7k", "key")


def test_a_snippet_whose_variable_is_unset_stops_with_its_source(sources: Pki) -> None:
    text = snippet(sources.spec, "lit", Request("curl", cwd=sources.folder))
    result = run_shell(text, sources.folder)
    assert result.returncode != 0
    assert "LIT_KEYSTORE_PASSWORD: set it to the key store password written in pki.yaml" in result.stderr


def test_env_prints_every_password_as_eval_able_exports(sources: Pki) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("API_KS_PASSWORD", ENV_PASSWORD)
        assignments = dict(environment(sources.spec, "api"))
    assert assignments == {"API_KS_PASSWORD": ENV_PASSWORD, "API_TRUSTSTORE_PASSWORD": FILE_PASSWORD}
    assert dict(environment(sources.spec, "lit")) == {"LIT_KEYSTORE_PASSWORD": "literal-secret-4711",
                                                       "LIT_TRUSTSTORE_PASSWORD": sources.password("lit",
                                                                                                   "truststore")}


def test_paths_are_relative_to_the_current_folder_unless_absolute(wired: Wired) -> None:
    below = wired.folder / "certs"
    assert "--cacert certs/client/ca.crt" in wired.snippet("client", "curl")
    assert "--cacert client/ca.crt" in snippet(wired.spec, "client", Request("curl", cwd=below))
    absolute = wired.snippet("client", "curl", absolute=True)
    assert f"--cacert {wired.folder}/certs/client/ca.crt" in absolute
    assert f'"$(cat {wired.folder}/certs/client/keystore.password)"' in absolute
    # daemons resolve relative paths against their own folders: always absolute
    for target in ("nginx", "tomcat"):
        text = wired.snippet("api-server", target)
        assert text.count("certs/") == text.count(f"{wired.folder}/certs/") > 3, text


# Spring Boot's property names, from https://docs.spring.io/spring-boot/appendix/application-properties/index.html
# (server.* in "Server Properties", spring.ssl.* in "Core Properties"); checked against Spring Boot's
# Ssl, JksSslBundleProperties, PemSslBundleProperties and SslBundleProperties classes. <name> is a bundle name.
SPRING_KEYS = {
    "server.port", "server.address",
    *(f"server.ssl.{key}" for key in (
        "bundle", "certificate", "certificate-private-key", "ciphers", "client-auth", "enabled",
        "enabled-protocols", "key-alias", "key-password", "key-store", "key-store-password", "key-store-provider",
        "key-store-type", "protocol", "server-name-bundles", "trust-certificate", "trust-certificate-private-key",
        "trust-store", "trust-store-password", "trust-store-provider", "trust-store-type")),
    *(f"spring.ssl.bundle.{kind}.<name>.{key}" for kind in ("jks", "pem") for key in (
        "key.alias", "key.password", "options.ciphers", "options.enabled-protocols", "protocol", "reload-on-update")),
    *(f"spring.ssl.bundle.jks.<name>.{store}.{key}" for store in ("keystore", "truststore")
      for key in ("location", "password", "provider", "type")),
    *(f"spring.ssl.bundle.pem.<name>.{store}.{key}" for store in ("keystore", "truststore")
      for key in ("certificate", "private-key", "private-key-password", "type")),
    "spring.ssl.bundle.pem.<name>.verify-keys",
}


def _flatten(document: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in document.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out |= _flatten(value, path + ".")
        else:
            out[path] = value
    return out


@pytest.mark.parametrize("name", ["api-server", "client"])
def test_spring_snippet_is_yaml_with_springs_keys_and_existing_paths(wired: Wired, name: str) -> None:
    text = wired.snippet(name, "spring")
    documents = [d for d in yaml.safe_load_all(text) if d is not None]
    assert len(documents) == (3 if name == "api-server" else 2)
    set_by_header = set(re.findall(r"export ([A-Z_]+)=", text))
    for document in documents:
        properties = _flatten(document)
        generic = {re.sub(rf"^(spring\.ssl\.bundle\.(?:jks|pem))\.{re.escape(name)}\.", r"\1.<name>.", key)
                   for key in properties}
        assert generic <= SPRING_KEYS, generic - SPRING_KEYS
        for value in properties.values():
            if isinstance(value, str) and value.startswith("file:"):
                assert (wired.folder / value.removeprefix("file:")).is_file(), value
            for var in re.findall(r"\$\{([A-Z_]+)\}", str(value)):
                assert var in set_by_header, var
    if name == "api-server":
        assert _flatten(documents[0])["server.ssl.client-auth"] == "need"
        assert all(_flatten(d).get("server.ssl.client-auth") == "need" for d in documents)
        # the first format the spec lists, unless --format picks the other
        assert _flatten(documents[0])["server.ssl.key-store"] == "file:certs/api-server/keystore.jks"
        pkcs12 = yaml.safe_load_all(wired.snippet(name, "spring", store_format="pkcs12"))
        assert _flatten(next(d for d in pkcs12 if d))["server.ssl.key-store-type"] == "PKCS12"


def test_a_wrong_role_or_a_missing_store_is_one_line_naming_the_fix(wired: Wired, sources: Pki) -> None:
    errors = {
        ("client", "nginx"): "client is a client; --for nginx configures a server (targets for a client: ",
        ("api-server", "curl"): "api-server is a server; --for curl configures a client",
        ("ca", "curl"): "ca is a CA; snippets configure a server or a client",
        ("nobody", "curl"): "pki.yaml has no entry 'nobody' (servers and clients: api-server, client)",
    }
    for (name, target), words in errors.items():
        with pytest.raises(MtlsgenError, match=re.escape(words)):
            wired.snippet(name, target)
    with pytest.raises(MtlsgenError) as missing:
        snippet(sources.spec, "7k", Request("java", cwd=sources.folder))
    assert str(missing.value) == ("7k has no truststore: a JVM client reads its certificate from a key store and "
                                  "trusts servers through a trust store; add `truststore: {formats: [pkcs12]}` "
                                  "under clients.7k in pki.yaml, then run mtlsgen apply")
    with pytest.raises(MtlsgenError, match=r"client's keystore is made as pkcs12, not jks"):
        wired.snippet("client", "java", store_format="jks")


HIERARCHY = {
    "ca": {"key": "ecdsa-p256"},
    "intermediates": {"issuing": {"issuer": "ca"}},
    "servers": {"svc": {"issuer": "issuing", "sans": ["svc.test"]}},
    "clients": {"app": {"issuer": "issuing"}},
}


def test_under_an_intermediate_both_sides_send_their_chains(mtlsgen_pki: Callable[[dict[str, Any]], Pki]) -> None:
    pki = mtlsgen_pki(HIERARCHY)
    request = Request("openssl", cwd=pki.folder)
    s_server, s_client = snippet(pki.spec, "svc", request), snippet(pki.spec, "app", request)
    # openssl's -cert sends the leaf alone: the intermediate must go with it, or the peer cannot verify
    assert "-cert_chain certs/svc/tls.crt" in s_server and "-Verify 2" in s_server
    assert "-cert_chain certs/app/tls.crt" in s_client
    assert "ssl_verify_depth        2;" in snippet(pki.spec, "svc", Request("nginx"))


def test_without_anything_revocable_no_crl_is_loaded(mtlsgen_pki: Callable[[dict[str, Any]], Pki]) -> None:
    pki = mtlsgen_pki(HIERARCHY)  # no `crl:` and nothing revoked: mtlsgen writes no CRL, so none is named
    assert not (pki.output / "svc" / "ca.crl").exists()
    for target in ("nginx", "tomcat", "openssl", "spring"):
        try:
            text = snippet(pki.spec, "svc", Request(target, cwd=pki.folder))
        except MtlsgenError:
            continue  # tomcat: svc has no stores
        assert "ca.crl" not in text and "CRL" not in text, target
