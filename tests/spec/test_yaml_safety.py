"""A spec is data from a repository: hostile YAML must fail fast and cleanly, useful YAML must work."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mtlsgen import SpecError, load_spec


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pki.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _laughs(levels: int = 9, width: int = 9) -> str:
    lines = ["version: 1", "l0: &l0 [" + ", ".join(['"lol"'] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_fails_fast(tmp_path: Path) -> None:
    path = _write(tmp_path, _laughs())  # 9**9 = 387 million strings if expanded
    start = time.monotonic()
    with pytest.raises(SpecError, match=r"^pki\.yaml:\d+: the document expands to more than"):
        load_spec(path)
    assert time.monotonic() - start < 2.0


def test_billion_laughs_through_merge_keys_fails_fast(tmp_path: Path) -> None:
    # Merging empty mappings builds no values, so only counting every merge stops this one.
    lines = ["version: 1", "m0: &m0 {}"]
    for i in range(1, 10):
        lines.append(f"m{i}: &m{i} {{<<: [" + ", ".join([f"*m{i - 1}"] * 9) + "]}")
    path = _write(tmp_path, "\n".join(lines) + "\n")
    start = time.monotonic()
    with pytest.raises(SpecError, match=r"^pki\.yaml:\d+: "):
        load_spec(path)
    assert time.monotonic() - start < 2.0


@pytest.mark.parametrize("text", [
    pytest.param("version: 1\nloop: &a [*a]\n", id="sequence"),
    pytest.param("version: 1\nservers:\n  api: &a\n    sans: [*a]\n", id="mapping"),
])
def test_recursive_alias_fails_cleanly(tmp_path: Path, text: str) -> None:
    with pytest.raises(SpecError, match=r"^pki\.yaml:\d+: nesting deeper than 32 levels"):
        load_spec(_write(tmp_path, text))


def _block_sequences(depth: int) -> str:
    return "version: 1\nx:\n" + "".join(" " * i + "- \n" for i in range(1, depth)) + " " * depth + "- 1\n"


@pytest.mark.parametrize("text", [
    pytest.param("version: 1\nx: " + "[" * 1000 + "]" * 1000 + "\n", id="flow-sequences-1000"),
    pytest.param("version: 1\nx: " + "{a: " * 1000 + "1" + "}" * 1000 + "\n", id="flow-mappings-1000"),
    pytest.param("version: 1\nx: " + "[" * 40 + "]" * 40 + "\n", id="flow-sequences-40"),
    pytest.param(_block_sequences(60), id="block-sequences-60"),
    pytest.param(_block_sequences(1500), id="block-sequences-1500"),
])
def test_absurd_nesting_fails_cleanly(tmp_path: Path, text: str) -> None:
    with pytest.raises(SpecError, match=r"^pki\.yaml:\d+: .*nesting") as info:
        load_spec(_write(tmp_path, text))
    assert "\n" not in str(info.value)


def test_merge_keys_work_and_explicit_keys_override(tmp_path: Path) -> None:
    text = """\
version: 1
servers:
  api: &base
    sans: [api.example.com]
    validity: 90d
    key: rsa-2048
    keystore: {formats: [pkcs12]}
  web:
    <<: *base
    sans: [web.example.com]
    key: ecdsa-p384
"""
    spec = load_spec(_write(tmp_path, text))
    web = spec["web"]
    assert [str(s) for s in web.sans] == ["DNS:web.example.com"]
    assert web.key == "ecdsa-p384"
    assert web.validity_text == "90d"  # from the merged mapping
    assert web.keystore is not None and web.keystore.alias == "web"
    assert web.cn == "web.example.com"
    assert spec["api"].key == "rsa-2048"


def test_merge_of_several_mappings_first_wins(tmp_path: Path) -> None:
    text = """\
version: 1
servers:
  a: &a {sans: [a.example.com], validity: 30d}
  b: &b {sans: [b.example.com], validity: 60d, key: ed25519}
  c:
    <<: [*a, *b]
    sans: [c.example.com]
"""
    spec = load_spec(_write(tmp_path, text))
    assert spec["c"].validity_text == "30d"
    assert spec["c"].key == "ed25519"


def test_anchor_reused_twice_in_a_normal_spec(tmp_path: Path) -> None:
    text = """\
version: 1
servers:
  api:
    sans: [api.example.com]
    keystore: &stores {formats: [pkcs12, jks], password: {env: STORE_PASS}}
    truststore: *stores
clients:
  bob:
    keystore: *stores
"""
    spec = load_spec(_write(tmp_path, text))
    api, bob = spec["api"], spec["bob"]
    assert api.keystore is not None and api.truststore is not None and bob.keystore is not None
    for store in (api.keystore, api.truststore, bob.keystore):
        assert store.formats == ("pkcs12", "jks")
        assert store.password.source == "env" and store.password.ref == "STORE_PASS"
    assert api.keystore.alias == "api" and bob.keystore.alias == "bob"


def test_error_inside_an_alias_still_fails_with_a_line(tmp_path: Path) -> None:
    text = "version: 1\nservers:\n  api: &s\n    validity: 90 days\n  web: *s\n"
    with pytest.raises(SpecError, match=r"^pki\.yaml:4: servers\.api\.validity: '90 days'"):
        load_spec(_write(tmp_path, text))


def test_python_tags_are_refused_and_never_run(tmp_path: Path) -> None:
    text = "version: 1\noutput: !!python/name:os.system\n"
    with pytest.raises(SpecError, match=r"^pki\.yaml:2: invalid YAML value: could not determine"):
        load_spec(_write(tmp_path, text))
    marker = tmp_path / "pwned"
    text = f"version: 1\noutput: !!python/object/apply:os.mkdir [{str(marker)!r}]\n"
    with pytest.raises(SpecError, match=r"^pki\.yaml:2: output: "):
        load_spec(_write(tmp_path, text))
    assert not marker.exists()
