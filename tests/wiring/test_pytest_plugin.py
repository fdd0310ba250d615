"""The `mtlsgen_pki` fixture as a test suite of a user's would use it: installed through the pytest11
entry point, a PKI from a dict or YAML text, made once per spec, with paths, passwords and ssl contexts."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12

from mtlsgen.pytest_plugin import Pki
from tests.helpers.tls import handshake

SPEC_TEXT = """\
version: 1
ca: {cn: Plugin Root, key: ecdsa-p256}
servers:
  web: {sans: [localhost]}
clients:
  alice:
    keystore: {formats: [pkcs12]}
"""
MakePki = Callable[[Any], Pki]


def test_the_plugin_is_installed_as_a_pytest11_entry_point() -> None:
    assert any(ep.value == "mtlsgen.pytest_plugin" for ep in entry_points(group="pytest11"))


def test_a_yaml_spec_gives_files_passwords_and_contexts_that_shake_hands(mtlsgen_pki: MakePki) -> None:
    pki = mtlsgen_pki(SPEC_TEXT)
    assert pki.path("alice", "tls.crt").read_text().startswith("-----BEGIN CERTIFICATE-----")
    store = pkcs12.load_pkcs12(pki.path("alice", "keystore.p12").read_bytes(), pki.password("alice").encode())
    assert store.cert is not None and store.key is not None
    result = handshake(pki.ssl_context("web"), pki.ssl_context("alice"), server_hostname="localhost")
    assert (result.client_error, result.server_error, result.client_cn) == (None, None, "alice")
    assert result.received == b"hello"


def test_each_spec_is_made_once_per_session(mtlsgen_pki: MakePki) -> None:
    as_dict = {"ca": {"key": "ecdsa-p256"}, "clients": {"bob": {}}}
    first = mtlsgen_pki(as_dict)
    assert mtlsgen_pki(dict(as_dict)) is first  # same content, same PKI
    assert mtlsgen_pki(SPEC_TEXT) is not first
    assert first.output.parent == first.folder  # a temporary folder, whatever `output:` says


def test_asking_for_what_is_not_there_names_what_is(mtlsgen_pki: MakePki) -> None:
    pki = mtlsgen_pki(SPEC_TEXT)
    with pytest.raises(FileNotFoundError, match=r"web has no keystore.p12 \(it has: ca.crt, tls.crt, tls.key\)"):
        pki.path("web", "keystore.p12")
    with pytest.raises(KeyError, match="no entry 'carol'"):
        pki.password("carol")
    with pytest.raises(KeyError, match="web has no keystore in its spec"):
        pki.password("web")


def test_a_users_test_suite_gets_the_fixture_without_configuration(tmp_path: Path) -> None:
    """A fresh pytest run, in a folder with no conftest: the entry point alone brings the fixture."""
    (tmp_path / "test_user.py").write_text(textwrap.dedent("""
        import ssl

        def test_client_context(mtlsgen_pki):
            pki = mtlsgen_pki({"ca": {"key": "ecdsa-p256"}, "clients": {"me": {}}})
            assert isinstance(pki.ssl_context("me"), ssl.SSLContext)
            assert pki.path("me", "tls.key").stat().st_mode & 0o777 == 0o600
    """))
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_the_readme_example_runs(mtlsgen_pki: MakePki) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    example = next(block for block in readme.split("```python\n")[1:] if "mtlsgen_pki" in block).split("```")[0]
    namespace: dict[str, Any] = {}
    exec(example, namespace)  # defines the README's test function
    namespace["test_my_client_sends_its_certificate"](mtlsgen_pki)
