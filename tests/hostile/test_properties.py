"""Property: whatever a valid spec is mutated into, `validate` accepts it or says why on one line.

Valid specs are mutated as data (keys dropped, renamed or retyped, values replaced with random text,
numbers, lists, mappings or nothing, control characters put into strings), dumped as YAML, and then
as text (a line duplicated or dropped, a character inserted). `mtlsgen validate` runs in-process
through click's CliRunner: it exits 0, or 1 with exactly one `error: pki.yaml:<line>: …` line whose
line exists in the file; never a traceback, never another exception.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtlsgen.cli import main

VALID_SPECS: list[dict[str, Any]] = [yaml.safe_load(text) for text in (
    """
    version: 1
    output: certs
    defaults: {key: ecdsa-p256, validity: 90d, renew_before: 33%, subject: {O: Example, C: US}, key_rotation: always}
    ca: {cn: Example Root, key: ecdsa-p384, validity: 10y, path_length: 2, crl: {validity: 7d,
         url: "http://pki.example.com/root.crl"}}
    intermediates:
      services: {validity: 5y, crl: {url: "ldap://ldap.example.com/cn=services"}}
      people: {issuer: services, cn: People CA, subject: {OU: People}}
    servers:
      api:
        sans: [api.example.com, "*.api.example.com", 10.0.0.1, "::1", "spiffe://example.com/api", bücher.example]
        usages: [serverAuth, clientAuth]
        issuer: services
        keystore: {formats: [pkcs12], password: {env: KS_PASS}, alias: api, profile: modern}
        truststore: {password: {file: trust.pw}, profile: legacy}
      web: {cn: web.example.com, renew_before: 10d, key_rotation: never, key_password: {generate: true}}
    clients:
      alice: {sans: ["alice@example.com"], issuer: people, key_password: literal-password}
      bob: {revoked: true}
      carol: {}
    """,
    """
    version: 1
    ca:
      import: {cert: corp.crt, key: corp.key, password: {env: CORP_PASS}}
    servers:
      gw: {sans: [gw.example.com, "DNS:gw-alt.example.com", "IP:192.0.2.1", "URI:urn:example:gw"]}
    clients:
      robot: {sans: ["email:robot@example.com"], keystore: {}, truststore: {formats: [pkcs12]}}
    """,
    """
    version: 1
    ca: {key: rsa-2048}
    servers:
      api: {sans: [api.test]}
    """,
)]

CONTROL = st.sampled_from(["\0", "\t", "\n", "\r", "\x1b", "\x7f", "\x85", "\x9b", "\x01", "\u2028"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
                    st.sampled_from(["", "ca", "1", "30d", "33%", "rsa-1024", "xn--zz", "http://", "~", "../..",
                                     "*", "api", "pkcs12", "{env: X}", "yes", "null", "0x10"]))
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3),
                   st.dictionaries(st.text(max_size=8), SCALARS, max_size=3))

Path_ = tuple[Any, ...]


def _paths(node: Any, path: Path_ = ()) -> list[Path_]:
    """Every path to a value inside the document (the root excluded)."""
    out: list[Path_] = []
    if isinstance(node, dict):
        items: list[tuple[Any, Any]] = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    else:
        return out
    for key, value in items:
        out.append((*path, key))
        out += _paths(value, (*path, key))
    return out


def _parent(doc: Any, path: Path_) -> Any:
    for part in path[:-1]:
        doc = doc[part]
    return doc


@st.composite
def mutated_specs(draw: st.DrawFn) -> str:
    doc = copy.deepcopy(draw(st.sampled_from(VALID_SPECS)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = _paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, last = _parent(doc, path), path[-1]
        operation = draw(st.sampled_from(["drop", "retype", "retype", "control", "rename", "copy"]))
        if operation == "drop":
            del parent[last]
        elif operation == "retype":
            parent[last] = draw(VALUES)
        elif operation == "control" and isinstance(parent[last], str):
            text = parent[last]
            at = draw(st.integers(min_value=0, max_value=len(text)))
            parent[last] = text[:at] + draw(CONTROL) + text[at:]
        elif operation == "rename" and isinstance(parent, dict):
            new_key = draw(st.one_of(st.text(max_size=12), st.sampled_from(
                ["validty", "sans", "cn", "CN", "password", "import", "issuer", "version", "a\0b", "x\ny"])))
            parent[new_key] = parent.pop(last)
        elif operation == "copy" and isinstance(parent, dict) and isinstance(parent[last], (dict, list)):
            other = draw(st.sampled_from(paths))
            _parent(doc, other)[other[-1]] = copy.deepcopy(parent[last])
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, default_flow_style=draw(st.booleans()))
    lines = text.splitlines(keepends=True)
    edit = draw(st.sampled_from(["none", "none", "duplicate-line", "drop-line", "insert-char"]))
    if edit != "none" and lines:
        at = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        if edit == "duplicate-line":  # a duplicate key, most of the time
            lines.insert(at, lines[at])
        elif edit == "drop-line":
            del lines[at]
        else:
            column = draw(st.integers(min_value=0, max_value=len(lines[at])))
            char = draw(st.one_of(CONTROL, st.sampled_from([":", "-", "[", "{", "&a", "*a", "'", '"', "#", "\t"])))
            lines[at] = lines[at][:column] + char + lines[at][column:]
    return "".join(lines)


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("properties") / "pki.yaml"


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=mutated_specs())
def test_validate_accepts_or_names_one_line(spec_file: Path, text: str) -> None:
    spec_file.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(spec_file)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    assert result.exit_code in (0, 1), (result.exit_code, result.stderr)
    if result.exit_code == 0:
        assert result.stderr == ""
        return
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    match = re.match(r"error: pki\.yaml:(\d+): \S", lines[0])
    assert match, lines[0]
    assert 1 <= int(match.group(1)) <= len(re.findall(r"\r\n|\r|\n", text)) + 1, (lines[0], text)


@pytest.mark.parametrize("index", range(len(VALID_SPECS)))
def test_the_specs_mutated_start_valid(spec_file: Path, index: int) -> None:
    spec_file.write_text(yaml.safe_dump(VALID_SPECS[index], allow_unicode=True, sort_keys=False), encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(spec_file)])
    assert result.exit_code == 0, result.stderr
