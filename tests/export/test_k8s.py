"""`mtlsgen export k8s`: Secrets as kubectl makes them, byte for byte, passwords apart, CA key only on request."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from mtlsgen import load_spec
from mtlsgen.engine.layout import Layout
from tests.helpers.common import one_error_line, run_cli

SPEC = """\
version: 1
ca: {cn: K8s CA, key: ecdsa-p256}
defaults: {key: ecdsa-p256, validity: 30d}
servers:
  api:
    sans: [api.test]
    keystore: {formats: [pkcs12, jks], password: {env: API_KS_PASS}}
    truststore: {formats: [pkcs12, jks]}
clients:
  bob: {}
"""
ENV = {"API_KS_PASS": "ks-secret-value-1"}


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("k8s")
    spec = folder / "pki.yaml"
    spec.write_text(SPEC)
    result = run_cli("apply", spec, env=ENV)
    assert result.returncode == 0, result.stderr
    return spec


def export(spec: Path, *args: str) -> list[dict[str, Any]]:
    result = run_cli("export", "k8s", spec, *args, env=ENV)
    assert result.returncode == 0, result.stderr
    return list(yaml.safe_load_all(result.stdout))


def by_name(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f"{d['kind']}/{d['metadata']['name']}": d for d in docs}


def kubectl(*args: str | Path) -> dict[str, Any]:
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl is missing: apt-get install kubernetes-client (.ci/run does)")
    out = subprocess.run(["kubectl", *map(str, args), "--dry-run=client", "-o", "yaml"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    loaded: dict[str, Any] = yaml.safe_load(out)
    return loaded


def folder_of(spec: Path, name: str) -> Path:
    return Layout(load_spec(spec).output).folder(name)


@pytest.mark.interop
def test_tls_secret_is_what_kubectl_makes_from_the_same_files(applied: Path) -> None:
    folder = folder_of(applied, "api")
    ours = by_name(export(applied))["Secret/api"]
    tls = kubectl("create", "secret", "tls", "api", "--cert", folder / "tls.crt", "--key", folder / "tls.key")
    assert ours["type"] == tls["type"] == "kubernetes.io/tls"
    assert {k: ours["data"][k] for k in tls["data"]} == tls["data"]
    extras = ["ca.crt", "keystore.p12", "keystore.jks", "truststore.p12", "truststore.jks"]
    generic = kubectl("create", "secret", "generic", "api", *(f"--from-file={k}={folder / k}" for k in extras))
    assert sorted(ours["data"]) == sorted([*tls["data"], *generic["data"]])
    assert {k: ours["data"][k] for k in generic["data"]} == generic["data"]


@pytest.mark.interop
def test_ca_secret_with_key_is_what_kubectl_makes_and_the_issuer_names_it(applied: Path) -> None:
    folder = folder_of(applied, "ca")
    docs = by_name(export(applied, "--include-ca-key", "--issuer", "--namespace", "pki", "--name-prefix", "team-"))
    tls = kubectl("create", "secret", "tls", "team-ca", "--cert", folder / "ca.crt", "--key", folder / "ca.key")
    ca = docs["Secret/team-ca"]
    assert (ca["type"], ca["data"]) == (tls["type"], tls["data"])
    assert docs["Issuer/team-ca"]["apiVersion"] == "cert-manager.io/v1"
    assert docs["Issuer/team-ca"]["spec"] == {"ca": {"secretName": "team-ca"}}
    assert {d["metadata"]["namespace"] for d in docs.values()} == {"pki"}


def test_yaml_round_trip_gives_every_file_back_byte_for_byte(applied: Path) -> None:
    docs = by_name(export(applied))
    assert set(docs) == {"Secret/api", "Secret/api-passwords", "Secret/bob"}
    for name in ("api", "bob"):
        folder = folder_of(applied, name)
        data = docs[f"Secret/{name}"]["data"]
        assert data, name
        for key, value in data.items():
            assert base64.b64decode(value, validate=True) == (folder / key).read_bytes(), (name, key)


def test_store_passwords_are_in_their_own_secret_only(applied: Path) -> None:
    result = run_cli("export", "k8s", applied, env=ENV)
    docs = by_name(list(yaml.safe_load_all(result.stdout)))
    generated = (folder_of(applied, "api") / "truststore.password").read_text().strip()
    passwords = docs["Secret/api-passwords"]
    assert passwords["type"] == "Opaque"
    assert {k: base64.b64decode(v).decode() for k, v in passwords["data"].items()} == {
        "keystore.password": ENV["API_KS_PASS"], "truststore.password": generated}
    others = yaml.safe_dump([d for n, d in docs.items() if n != "Secret/api-passwords"])
    for secret in (ENV["API_KS_PASS"], generated):
        assert secret not in result.stdout
        assert base64.b64encode(secret.encode()).decode() not in others


def test_the_ca_key_is_printed_only_when_asked(applied: Path) -> None:
    ca_key = (folder_of(applied, "ca") / "ca.key").read_bytes()
    encoded = base64.b64encode(ca_key).decode()
    plain = run_cli("export", "k8s", applied, env=ENV).stdout
    assert encoded not in plain and "PRIVATE KEY" not in plain
    assert encoded in run_cli("export", "k8s", applied, "--include-ca-key", env=ENV).stdout


def test_issuer_without_the_ca_key_is_refused_with_the_reason(applied: Path) -> None:
    result = run_cli("export", "k8s", applied, "--issuer", env=ENV)
    assert "--issuer needs --include-ca-key" in one_error_line(result)
    assert result.stdout == ""


def test_entry_chooses_what_is_exported_and_an_unknown_one_is_refused(applied: Path) -> None:
    assert set(by_name(export(applied, "--entry", "bob"))) == {"Secret/bob"}
    line = one_error_line(run_cli("export", "k8s", applied, "--entry", "nobody", env=ENV))
    assert "--entry nobody: not in the spec" in line and "api, bob" in line


def test_files_not_yet_applied_are_refused_in_one_line(write_spec: Any) -> None:
    spec = write_spec(SPEC)
    line = one_error_line(run_cli("export", "k8s", spec, env=ENV))
    assert line.endswith("does not exist; run mtlsgen apply first"), line


def test_a_shared_ca_key_is_not_exported_in_the_clear(tmp_path: Path) -> None:
    spec = tmp_path / "pki.yaml"
    spec.write_text("version: 1\nca: {key: ecdsa-p256, shared: {folder: pki-ca, passphrase: {env: CA_PASS}}}\n"
                    "servers:\n  api: {sans: [api.example.com]}\n")
    env = {"CA_PASS": "a-team-passphrase-9"}
    assert run_cli("apply", spec, env=env).returncode == 0
    result = run_cli("export", "k8s", spec, "--include-ca-key", "--issuer", env=env)
    assert "the CA is shared" in one_error_line(result) and "pki-ca/ca.key" in one_error_line(result)
    assert result.stdout == ""
    # Without the key, its leaves are exported as always.
    assert run_cli("export", "k8s", spec, env=env).returncode == 0
