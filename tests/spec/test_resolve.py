"""Valid specs resolve to one effective value per entry: defaults applied, CNs and SANs filled in."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from mtlsgen import Entry, Spec, load_spec
from tests.helpers.common import REPO, SMALL_SPEC, run_cli


def _load(tmp_path: Path, text: str) -> Spec:
    path = tmp_path / "pki.yaml"
    path.write_text(text, encoding="utf-8")
    return load_spec(path)


def _sans(entry: Entry) -> list[str]:
    return [str(s) for s in entry.sans]


def test_minimal_spec_is_a_root_ca_with_builtin_defaults(tmp_path: Path) -> None:
    spec = _load(tmp_path, "version: 1\n")
    assert [e.name for e in spec.entries] == ["ca"]
    ca = spec["ca"]
    assert ca.role == "ca" and ca.is_ca and ca.issuer is None
    assert ca.key == "ecdsa-p256"
    assert ca.validity == timedelta(days=3650)
    assert ca.renew_before.text == "33%"
    assert spec.output == tmp_path / "certs"


def test_defaults_reach_every_entry(tmp_path: Path) -> None:
    spec = _load(tmp_path, """\
version: 1
defaults:
  key: rsa-3072
  validity: 200d
  renew_before: 20d
  subject: {O: Example Corp, C: US}
  key_rotation: never
ca:
  validity: 10y
intermediates:
  sub: {validity: 5y}
servers:
  api: {sans: [api.example.com]}
clients:
  bob: {}
""")
    for name in ("sub", "api", "bob"):
        entry = spec[name]
        assert entry.key == "rsa-3072"
        assert entry.renew_before.duration == timedelta(days=20)
        assert entry.subject == (("C", "US"), ("O", "Example Corp"))
    for name in ("api", "bob"):
        assert spec[name].validity == timedelta(days=200)
        assert spec[name].key_rotation == "never"
    assert spec["ca"].key == "rsa-3072"


def test_an_entrys_own_values_win_over_defaults(tmp_path: Path) -> None:
    spec = _load(tmp_path, """\
version: 1
defaults:
  key: rsa-3072
  validity: 200d
  renew_before: 20d
  key_rotation: never
servers:
  api:
    sans: [api.example.com]
    key: ed25519
    validity: 30d
    renew_before: 10%
    key_rotation: always
""")
    api = spec["api"]
    assert api.key == "ed25519"
    assert api.validity == timedelta(days=30)
    assert api.renew_before.share == pytest.approx(0.10) and api.renew_before.duration is None
    assert api.key_rotation == "always"


def test_subject_is_merged_key_by_key(tmp_path: Path) -> None:
    spec = _load(tmp_path, """\
version: 1
defaults:
  subject: {O: Example Corp, C: US, L: Oslo}
servers:
  api:
    sans: [api.example.com]
    subject: {O: Other Corp, OU: Platform, C: "NO"}
clients:
  bob: {subject: {ST: Viken}}
""")
    # the entry's O and C win, L is inherited, OU is added; the order is fixed, not the file's
    assert spec["api"].subject == (("C", "NO"), ("L", "Oslo"), ("O", "Other Corp"), ("OU", "Platform"))
    assert spec["bob"].subject == (("C", "US"), ("ST", "Viken"), ("L", "Oslo"), ("O", "Example Corp"))


def test_entry_names_yaml_would_type_stay_text(tmp_path: Path) -> None:
    # `8080:` would be an int and `on:` a bool to YAML; as entry names they are folder names.
    spec = _load(tmp_path, "version: 1\nservers:\n  8080: {}\nclients:\n  on: {}\n  1.5: {}\n")
    assert {e.name for e in spec.entries} == {"ca", "8080", "on", "1.5"}
    assert _sans(spec["8080"]) == ["DNS:8080"]


def test_builtin_validity_defaults_per_role(tmp_path: Path) -> None:
    spec = _load(tmp_path, "version: 1\nintermediates:\n  sub: {}\nservers:\n  api: {}\n"
                           "clients:\n  bob: {}\n")
    assert spec["ca"].validity_text == "10y"
    assert spec["sub"].validity_text == "5y"
    assert spec["api"].validity == spec["bob"].validity == timedelta(days=365)


@pytest.mark.parametrize(("section", "body", "cn", "sans"), [
    pytest.param("servers", "{sans: ['*.example.com', api.example.com, 10.0.0.1]}", "api.example.com",
                 ["DNS:*.example.com", "DNS:api.example.com", "IP:10.0.0.1"],
                 id="server-first-non-wildcard-dns"),
    pytest.param("servers", "{sans: [10.0.0.1, '::1']}", "my-svc", ["IP:10.0.0.1", "IP:::1"],
                 id="server-only-ips-gets-entry-name"),
    pytest.param("servers", "{cn: svc.example.com}", "svc.example.com", ["DNS:svc.example.com"],
                 id="server-cn-without-sans-becomes-the-san"),
    pytest.param("servers", "{}", "my-svc", ["DNS:my-svc"], id="server-nothing-uses-entry-name"),
    pytest.param("clients", "{sans: [alice.example.com]}", "my-svc", ["DNS:alice.example.com"],
                 id="client-cn-is-entry-name-not-san"),
    pytest.param("clients", "{sans: ['spiffe://example.com/alice', alice@example.com]}", "my-svc",
                 ["URI:spiffe://example.com/alice", "email:alice@example.com"], id="client-uri-and-email"),
    pytest.param("clients", "{}", "my-svc", ["DNS:my-svc"], id="client-no-sans-gets-dns-of-name"),
    pytest.param("clients", "{cn: Alice Liddell, sans: [alice@example.com]}", "Alice Liddell",
                 ["email:alice@example.com"], id="client-explicit-cn"),
])
def test_cn_and_san_defaults(tmp_path: Path, section: str, body: str, cn: str, sans: list[str]) -> None:
    spec = _load(tmp_path, f"version: 1\n{section}:\n  my-svc: {body}\n")
    assert spec["my-svc"].cn == cn
    assert _sans(spec["my-svc"]) == sans


def test_intermediate_and_root_cn_defaults(tmp_path: Path) -> None:
    spec = _load(tmp_path, "version: 1\nintermediates:\n  services-ca: {}\n  named: {cn: Named CA}\n")
    assert spec["services-ca"].cn == "services-ca"
    assert spec["named"].cn == "Named CA"
    assert spec["ca"].cn == "mtlsgen Root CA"
    assert spec["services-ca"].sans == () and spec["services-ca"].issuer == "ca"


def test_usages_default_by_role_and_can_be_overridden(tmp_path: Path) -> None:
    spec = _load(tmp_path, """\
version: 1
servers:
  api: {}
  both: {usages: [serverAuth, clientAuth]}
clients:
  bob: {}
  proxy: {usages: [clientAuth, serverAuth, clientAuth]}
""")
    assert spec["api"].usages == ("serverAuth",)
    assert spec["bob"].usages == ("clientAuth",)
    assert spec["both"].usages == ("serverAuth", "clientAuth")
    assert spec["proxy"].usages == ("clientAuth", "serverAuth")  # duplicates dropped, order kept


def test_store_defaults(tmp_path: Path) -> None:
    spec = _load(tmp_path, """\
version: 1
servers:
  api:
    keystore: {}
    truststore: {formats: [jks, pkcs12, jks], alias: trust, profile: legacy}
""")
    api = spec["api"]
    assert api.keystore is not None and api.truststore is not None
    assert api.keystore.formats == ("pkcs12",)
    assert api.keystore.password.source == "generate"
    assert api.keystore.alias == "api"
    assert api.keystore.profile == "modern"
    assert api.truststore.formats == ("jks", "pkcs12")
    assert api.truststore.alias == "trust"
    assert api.truststore.profile == "legacy"


def test_password_sources(tmp_path: Path) -> None:
    spec = _load(tmp_path, """\
version: 1
servers:
  api:
    keystore: {password: {env: API_KS}}
    truststore: {password: {file: secrets/trust.pass}}
    key_password: not-secret-demo
clients:
  bob:
    keystore: {password: {generate: true}}
""")
    api, bob = spec["api"], spec["bob"]
    assert api.keystore is not None and api.truststore is not None and bob.keystore is not None
    assert (api.keystore.password.source, api.keystore.password.ref) == ("env", "API_KS")
    assert api.truststore.password.source == "file"
    assert Path(api.truststore.password.ref) == tmp_path / "secrets" / "trust.pass"
    assert api.key_password is not None and api.key_password.source == "literal"
    assert "not-secret-demo" not in repr(api.key_password)
    assert bob.keystore.password.source == "generate"
    assert bob.key_password is None


def test_output_is_relative_to_the_spec_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    project.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    (project / "pki.yaml").write_text("version: 1\noutput: build/pki\n", encoding="utf-8")
    assert load_spec("../project/pki.yaml").output.resolve() == project / "build" / "pki"
    (project / "abs.yaml").write_text(f"version: 1\noutput: {tmp_path / 'abs-out'}\n", encoding="utf-8")
    assert load_spec(project / "abs.yaml").output == tmp_path / "abs-out"


def test_output_under_home_is_expanded(tmp_path: Path) -> None:
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir()
    home.mkdir()
    spec = project / "pki.yaml"
    spec.write_text(SMALL_SPEC.replace("version: 1\n", "version: 1\noutput: ~/certs\n"), encoding="utf-8")
    result = run_cli("apply", spec, cwd=project, env={"HOME": str(home)})
    assert result.returncode == 0, result.stderr
    assert (home / "certs" / "api" / "tls.crt").is_file()
    assert os.listdir(project) == ["pki.yaml"]  # no literal `~` folder next to the spec


def test_output_in_a_subfolder_or_beside_is_fine(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    spec = project / "pki.yaml"
    for output, expected in (("build/pki", project / "build" / "pki"), ("../pki-out", tmp_path / "pki-out")):
        spec.write_text(f"version: 1\noutput: {output}\n", encoding="utf-8")
        assert load_spec(spec).output.resolve() == expected


def test_entries_are_ordered_issuers_first(tmp_path: Path) -> None:
    spec = _load(tmp_path, """\
version: 1
clients:
  bob: {issuer: leaf-ca}
servers:
  api: {}
intermediates:
  leaf-ca: {issuer: mid-ca}
  mid-ca: {}
""")
    names = [e.name for e in spec.entries]
    assert names[0] == "ca"
    assert sorted(names) == ["api", "bob", "ca", "leaf-ca", "mid-ca"]
    for entry in spec.entries:
        if entry.issuer is not None:
            assert names.index(entry.issuer) < names.index(entry.name)
    assert [e.name for e in spec.chain("bob")] == ["leaf-ca", "mid-ca", "ca"]
    assert spec.root_of("bob").name == "ca"
    assert {e.name for e in spec.children("ca")} == {"mid-ca", "api"}


def test_renew_before_as_share_or_duration(tmp_path: Path) -> None:
    spec = _load(tmp_path, """\
version: 1
servers:
  share: {validity: 90d}
  fixed: {validity: 90d, renew_before: 2w}
  half: {validity: 90d, renew_before: 50%}
""")
    lifetime = timedelta(days=90)
    assert spec["share"].renew_before.before(lifetime) == lifetime * 0.33
    assert spec["fixed"].renew_before.before(lifetime) == timedelta(days=14)
    assert spec["half"].renew_before.before(lifetime) == timedelta(days=45)


def test_renew_before_share_never_conflicts_with_a_short_validity(tmp_path: Path) -> None:
    spec = _load(tmp_path, "version: 1\ndefaults:\n  renew_before: 50%\nclients:\n  bob: {validity: 1h}\n")
    assert spec["bob"].renew_before.before(spec["bob"].validity) == timedelta(minutes=30)


def test_a_percentage_with_a_trailing_space_is_read(write_spec: Callable[..., Path]) -> None:
    spec = load_spec(write_spec('version: 1\nclients:\n  bob: {renew_before: "33% "}\n'))
    assert spec["bob"].renew_before.share == pytest.approx(0.33)


def test_validity_equal_to_issuers_is_allowed(tmp_path: Path) -> None:
    spec = _load(tmp_path, "version: 1\nca: {validity: 1y}\nservers:\n  api: {validity: 365d}\n")
    assert spec["api"].validity == spec["ca"].validity


def test_path_length_allows_what_it_counts(tmp_path: Path) -> None:
    spec = _load(tmp_path, """\
version: 1
ca: {path_length: 1}
intermediates:
  sub: {path_length: 0}
servers:
  api: {issuer: sub}
""")
    assert spec["ca"].path_length == 1 and spec["sub"].path_length == 0
    assert spec["api"].issuer == "sub"


def test_revoked_and_entry_lines(tmp_path: Path) -> None:
    spec = _load(tmp_path, "version: 1\nclients:\n  alice: {}\n  old-laptop:\n    revoked: true\n")
    assert spec["old-laptop"].revoked and not spec["alice"].revoked
    assert spec["alice"].line == 3 and spec["old-laptop"].line == 4


def test_example_spec_loads() -> None:
    spec = load_spec(REPO / "examples" / "pki.yaml")
    assert spec.output == REPO / "examples" / "certs"
    assert {e.name for e in spec.entries} == {"ca", "api-server", "client"}
    ca, api, client = spec["ca"], spec["api-server"], spec["client"]
    assert ca.key == "rsa-4096" and ca.validity_text == "10y"
    assert api.cn == "api-server.example.com"
    assert _sans(api) == ["DNS:api-server.example.com", "DNS:localhost", "IP:127.0.0.1"]
    assert api.keystore is not None and api.keystore.formats == ("jks", "pkcs12")
    assert api.subject == (("C", "US"), ("O", "Example Corp"))
    assert client.cn == "client" and client.usages == ("clientAuth",)
    assert client.keystore is not None and client.keystore.password.source == "generate"


def test_an_entry_with_nothing_after_it_takes_every_default(write_spec: Callable[..., Path]) -> None:
    # `bob:` alone is null in YAML; it means "bob, with all defaults", not an error.
    spec = load_spec(write_spec("version: 1\nclients:\n  bob:\n"))
    bob = spec["bob"]
    assert (bob.cn, [str(s) for s in bob.sans], bob.usages) == ("bob", ["DNS:bob"], ("clientAuth",))


def test_a_section_left_empty_has_no_entries(write_spec: Callable[..., Path]) -> None:
    spec = load_spec(write_spec("version: 1\nservers:\n  api: {sans: [api.example.com]}\nclients:\n"))
    assert [e.name for e in spec.entries] == ["ca", "api"]
