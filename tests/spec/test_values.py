"""Values checked at `validate` before they reach a certificate, a path or an error line.

Control characters (U+0000–U+001F, U+007F–U+009F) in any string of the spec, the characters YAML
refuses in the file itself (on the right line), `crl.url` as an absolute http/https/ldap URL with a
host, and A-labels (`xn--…`) that are real punycode. Each failure is one SpecError
`pki.yaml:<line>: <field>: <reason>`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from mtlsgen import SpecError, load_spec
from mtlsgen.cli import main
from mtlsgen.spec.load import load_spec_text
from mtlsgen.spec.names import control_character, crl_url, dns_name, parse_san
from tests.helpers.common import one_error_line, run_cli

CONTROL = "holds a control character"

# (id, spec text, line, fragments the message must contain). Escapes are YAML's, in double quotes.
CONTROL_CASES: list[tuple[str, str, int, tuple[str, ...]]] = [
    ("cn-nul", 'version: 1\nca:\n  cn: "a\\0b"\n', 3, ("ca.cn: 'a\\x00b' holds a control character (U+0000)",)),
    ("cn-intermediate-esc", 'version: 1\nintermediates:\n  sub:\n    cn: "Sub\\e[31m"\n', 4,
     ("intermediates.sub.cn: 'Sub\\x1b[31m'", "(U+001B)")),
    ("cn-server-newline", 'version: 1\nservers:\n  api:\n    cn: "api\\nx"\n    sans: [api.test]\n', 4,
     ("servers.api.cn:", "(U+000A)")),
    ("cn-client-tab", 'version: 1\nclients:\n  bob:\n    cn: "Bob\\tSmith"\n    sans: [bob.test]\n', 4,
     ("clients.bob.cn:", "(U+0009)")),
    ("cn-del", 'version: 1\nca:\n  cn: "Root\\x7f"\n', 3, ("ca.cn:", "(U+007F)")),
    ("cn-c1-nel", 'version: 1\nca:\n  cn: "Root\\N"\n', 3, ("ca.cn:", "(U+0085)")),
    ("cn-c1-csi", 'version: 1\nca:\n  cn: "Root\\x9b"\n', 3, ("ca.cn:", "(U+009B)")),
    ("cn-block-scalar", "version: 1\nca:\n  cn: |\n    Root CA\n", 3, ("ca.cn: 'Root CA\\n'", "(U+000A)")),
    ("subject-o", 'version: 1\ndefaults:\n  subject:\n    O: "Ex\\0ample"\n', 4, ("defaults.subject.O:", "(U+0000)")),
    ("subject-ou-ca", 'version: 1\nca:\n  subject: {OU: "a\\rb"}\n', 3, ("ca.subject.OU:", "(U+000D)")),
    ("subject-l-leaf", 'version: 1\nservers:\n  api:\n    subject:\n      L: "x\\x01"\n', 5,
     ("servers.api.subject.L:", "(U+0001)")),
    ("subject-st", 'version: 1\ndefaults:\n  subject: {ST: "\\x80"}\n', 3, ("defaults.subject.ST:", "(U+0080)")),
    ("san-dns-nul", 'version: 1\nservers:\n  api:\n    sans:\n      - ok.test\n      - "a\\0.test"\n', 6,
     ("servers.api.sans[1]: 'a\\x00.test'", "(U+0000)")),
    ("san-dns-newline-label", 'version: 1\nservers:\n  api:\n    sans: ["a\\n.test"]\n', 4,
     ("servers.api.sans[0]:", "(U+000A)")),
    ("san-uri-nul", 'version: 1\nclients:\n  bob:\n    sans: ["spiffe://ex.test/a\\0b"]\n', 4,
     ("clients.bob.sans[0]:", "(U+0000)")),
    ("san-email", 'version: 1\nclients:\n  bob:\n    sans: ["bob\\x1f@ex.test"]\n', 4,
     ("clients.bob.sans[0]:", "(U+001F)")),
    ("san-trailing-newline", 'version: 1\nservers:\n  api:\n    sans: ["api.test\\n"]\n', 4,
     ("servers.api.sans[0]:", "(U+000A)")),
    ("crl-url-newline", 'version: 1\nca:\n  crl:\n    url: "http://pki.test/ca.crl\\nX-Evil: 1"\n', 4,
     ("ca.crl.url:", "(U+000A)")),
    ("crl-url-intermediate", 'version: 1\nintermediates:\n  sub:\n    crl: {url: "http://pki.test/\\0"}\n', 4,
     ("intermediates.sub.crl.url:", "(U+0000)")),
    ("output-nul", 'version: 1\noutput: "certs\\0x"\n', 2, ("output: 'certs\\x00x'", "(U+0000)")),
    ("output-newline", 'version: 1\noutput: "certs\\n"\n', 2, ("output:", "(U+000A)")),
    ("password-file-nul", 'version: 1\nclients:\n  bob:\n    key_password: {file: "pw\\0.txt"}\n', 4,
     ("clients.bob.key_password.file: 'pw\\x00.txt'", "(U+0000)")),
    ("store-password-file", 'version: 1\nservers:\n  api:\n    keystore:\n      password:\n'
     '        file: "a\\x85b"\n', 6, ("servers.api.keystore.password.file:", "(U+0085)")),
    ("password-env-nul", 'version: 1\nservers:\n  api:\n    truststore: {password: {env: "PW\\0X"}}\n', 4,
     ("servers.api.truststore.password.env:", "(U+0000)")),
    ("import-cert-nul", 'version: 1\nca:\n  import:\n    cert: "corp\\0.crt"\n    key: corp.key\n', 4,
     ("ca.import.cert: 'corp\\x00.crt'", "(U+0000)")),
    ("import-key-nul", 'version: 1\nca:\n  import:\n    cert: corp.crt\n    key: "corp\\0.key"\n', 5,
     ("ca.import.key:", "(U+0000)")),
    ("import-password-file", 'version: 1\nca:\n  import:\n    cert: c.crt\n    key: c.key\n'
     '    password: {file: "p\\tw"}\n', 6, ("ca.import.password.file:", "(U+0009)")),
    ("entry-name-newline", 'version: 1\nservers:\n  "api\\n": {}\n', 3,
     ("servers.'api\\n': the key holds a control character (U+000A)",)),
    ("entry-name-nul", 'version: 1\nclients:\n  "bo\\0b": {}\n', 3,
     ("clients.'bo\\x00b': the key holds a control character (U+0000)",)),
    ("intermediate-name", 'version: 1\nintermediates:\n  "sub\\x7f": {}\n', 3,
     ("intermediates.'sub\\x7f': the key", "(U+007F)")),
    ("issuer-nul", 'version: 1\nservers:\n  api:\n    issuer: "ca\\0"\n', 4, ("servers.api.issuer:", "(U+0000)")),
    ("alias-newline", 'version: 1\nservers:\n  api:\n    keystore: {alias: "api\\n"}\n', 4,
     ("servers.api.keystore.alias:", "(U+000A)")),
    ("country-newline", 'version: 1\ndefaults:\n  subject: {C: "US\\n"}\n', 3,
     ("defaults.subject.C:", "(U+000A)")),
    ("validity-newline", 'version: 1\ndefaults:\n  validity: "30d\\n"\n', 3, ("defaults.validity:", "(U+000A)")),
    ("unknown-key-nul", 'version: 1\n"out\\0put": certs\n', 2, ("'out\\x00put': the key holds",)),
]

# Literal passwords: the message says what is wrong without ever echoing the value.
PASSWORD_CASES: list[tuple[str, str, int, str]] = [
    ("store-literal", 'version: 1\nservers:\n  api:\n    keystore: {password: "Hunter2\\0Secret"}\n', 4,
     "servers.api.keystore.password"),
    ("key-literal", 'version: 1\nclients:\n  bob:\n    key_password: "Hunter2\\nSecret"\n', 4,
     "clients.bob.key_password"),
    ("key-literal-block", "version: 1\nclients:\n  bob:\n    key_password: |\n      Hunter2Secret\n", 4,
     "clients.bob.key_password"),
    ("import-literal", 'version: 1\nca:\n  import: {cert: a, key: b, password: "Hunter2\\x9fSecret"}\n', 3,
     "ca.import.password"),
]


def _message(text: str) -> str:
    with pytest.raises(SpecError) as info:
        load_spec_text(text)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(("text", "line", "fragments"),
                         [pytest.param(t, ln, f, id=i) for i, t, ln, f in CONTROL_CASES])
def test_a_control_character_in_a_value_is_a_spec_error(tmp_path: Path, text: str, line: int,
                                                        fragments: tuple[str, ...]) -> None:
    spec = tmp_path / "pki.yaml"
    spec.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    message = str(info.value)
    assert message.startswith(f"pki.yaml:{line}: "), message
    assert "\n" not in message and CONTROL in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


@pytest.mark.parametrize(("text", "line", "field"), [pytest.param(t, ln, f, id=i) for i, t, ln, f in PASSWORD_CASES])
def test_a_control_character_in_a_literal_password_is_refused_without_echoing_it(text: str, line: int,
                                                                                   field: str) -> None:
    message = _message(text)
    assert message.startswith(f"pki.yaml:{line}: {field}: the password holds a control character (U+"), message
    assert "Hunter2" not in message and "Secret" not in message


def test_the_cli_prints_a_control_character_error_on_one_line(tmp_path: Path) -> None:
    spec = tmp_path / "pki.yaml"
    spec.write_text('version: 1\nca: {key: ecdsa-p256}\nservers:\n  api:\n    cn: "a\\0b"\n    sans: [api.test]\n',
                    encoding="utf-8")
    for command in ("validate", "plan", "apply"):
        line = one_error_line(run_cli(command, spec))
        assert line.startswith("error: pki.yaml:5: servers.api.cn: 'a\\x00b' holds a control character (U+0000)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pki.yaml"]


def test_a_nul_in_an_output_path_fails_validate_plan_and_apply_without_a_traceback(tmp_path: Path) -> None:
    spec = tmp_path / "pki.yaml"
    spec.write_text('version: 1\noutput: "ce\\0rts"\nca: {key: ecdsa-p256}\n', encoding="utf-8")
    for command in ("validate", "plan", "apply"):
        assert one_error_line(run_cli(command, spec)).startswith("error: pki.yaml:2: output: 'ce\\x00rts' holds")


# --- characters YAML itself refuses: the error names the line they are on ---------------------------

@pytest.mark.parametrize(("text", "line", "fragment"), [
    pytest.param("version: 1\nca: {cn: a\0b}\n", 2, "column 11 holds a control character (U+0000)", id="nul-line-2"),
    pytest.param("version: 1\nca:\n  key: ecdsa-p256\n\n  cn: x\0\n", 5, "column 8 holds a control character (U+0000)",
                 id="nul-line-5"),
    pytest.param("version: 1\r\nca:\r\n  cn: a\0b\r\n", 3, "(U+0000)", id="nul-crlf"),
    pytest.param("# comment \x1b[31m\nversion: 1\n", 1, "(U+001B)", id="escape-in-comment"),
    pytest.param("version: 1\noutput: certs\x7f\n", 2, "(U+007F)", id="del"),
    pytest.param("version: 1\nca:\n  cn: Root\x9b\n", 3, "(U+009B)", id="c1"),
    pytest.param("version: 1\nca:\n  cn: Root\x85CA\n", 3, "NEL (U+0085)", id="nel-line-break"),
    # a key hidden behind a LINE SEPARATOR: an editor shows `cn: Root  key: ed25519` on one line
    pytest.param("version: 1\nca:\n  cn: Root\u2028  key: ed25519\n", 3, "LINE SEPARATOR (U+2028)",
                 id="line-separator"),
    pytest.param("version: 1\n# note\u2029ca: {}\n", 2, "PARAGRAPH SEPARATOR (U+2029)", id="paragraph-separator"),
    pytest.param("version: 1\nca:\n  cn: Root\ufffe\n", 3, "a character (U+FFFE)", id="non-character"),
])
def test_a_character_yaml_refuses_names_its_own_line(text: str, line: int, fragment: str) -> None:
    message = _message(text)
    assert message.startswith(f"pki.yaml:{line}: invalid YAML: "), message
    assert fragment in message, message


def test_a_nul_on_line_2_is_reported_on_line_2_by_the_cli(tmp_path: Path) -> None:
    spec = tmp_path / "pki.yaml"
    spec.write_bytes(b"version: 1\nca: {cn: a\x00b}\n")
    line = one_error_line(run_cli("validate", spec))
    assert line.startswith("error: pki.yaml:2: invalid YAML: "), line


@pytest.mark.parametrize(("text", "line"), [
    pytest.param("version: 1\rca:\r  cn: 5\r", 3, id="cr-only"),
    pytest.param("version: 1\r\nca:\r\n\r\n  cn: 5\r\n", 4, id="crlf"),
])
def test_lines_are_numbered_as_an_editor_numbers_them(text: str, line: int) -> None:
    assert _message(text).startswith(f"pki.yaml:{line}: ca."), _message(text)


def test_tabs_and_a_byte_order_mark_are_still_fine() -> None:
    spec = load_spec_text("\ufeffversion: 1\nca: {cn: Root, key: ecdsa-p256}  # a\ttab\n# \t\n")
    assert spec["ca"].cn == "Root"


def test_a_key_with_a_newline_in_an_unknown_key_error_stays_on_one_line() -> None:
    message = _message('version: 1\nservers:\n  api:\n    "sa\\u2028ns": []\n')
    assert message.startswith("pki.yaml:4: servers.api.'sa\\u2028ns': unknown key"), message


# --- crl.url --------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "http://pki.example.com/ca.crl",
    "https://pki.example.com:8443/crl/ca.crl",
    "HTTP://PKI.EXAMPLE.COM/CA.CRL",
    "http://10.0.0.1/ca.crl",
    "http://[2001:db8::1]/ca.crl",
    "ldap://ldap.example.com/cn=Root%20CA,dc=example,dc=com?certificateRevocationList;binary",
    "http://xn--bcher-kva.example/ca.crl",
    "http://localhost/ca.crl",
])
def test_a_crl_url_with_a_scheme_and_host_is_kept(url: str) -> None:
    spec = load_spec_text(f'version: 1\nca:\n  crl: {{url: "{url}"}}\nservers:\n  api: {{sans: [api.test]}}\n')
    assert spec.crl_url("api") == url
    assert crl_url(url) == url


@pytest.mark.parametrize(("url", "reason"), [
    ("not a url", "'not a url' is not an absolute http, https or ldap URL"),
    ("pki.example.com/ca.crl", "is not an absolute http, https or ldap URL"),
    ("/ca.crl", "is not an absolute http, https or ldap URL"),
    ("ftp://pki.example.com/ca.crl", "is not an absolute http, https or ldap URL"),
    ("file:///etc/passwd", "is not an absolute http, https or ldap URL"),
    ("javascript:alert(1)", "is not an absolute http, https or ldap URL"),
    ("http:/pki.example.com/ca.crl", "is not an absolute http, https or ldap URL"),
    ("http://", "is a URL without a host"),
    ("http:///ca.crl", "is a URL without a host"),
    ("ldap:///cn=Root", "is a URL without a host"),
    ("http://pki example.com/ca.crl", "must be ASCII, without spaces"),
    ("http://pki.example.com/ca crl", "must be ASCII, without spaces"),
    ("http://bücher.example/ca.crl", "must be ASCII"),
    ("http://pki.example.com:99999/ca.crl", "is not a valid URL"),
    ("http://[::1/ca.crl", "is not a valid URL"),
    ("http://*.example.com/ca.crl", "the host '*.example.com' is not a DNS name or IP address"),
    ("http://pki_ca.example.com/", "is not a DNS name or IP address"),
    ("http://999.1.1.1/ca.crl", "is not a DNS name or IP address"),
    ("http://xn--zz.example/ca.crl", "is not a DNS name or IP address"),
])
def test_a_crl_url_that_is_not_an_absolute_http_https_or_ldap_url_is_a_spec_error(url: str, reason: str) -> None:
    message = _message(f"version: 1\nintermediates:\n  sub:\n    crl:\n      validity: 7d\n      url: '{url}'\n")
    assert message.startswith("pki.yaml:6: intermediates.sub.crl.url: "), message
    assert reason in message, message


def test_a_crl_url_that_is_not_a_string_is_a_spec_error() -> None:
    message = _message("version: 1\nca:\n  crl:\n    url: 5\n")
    assert message.startswith("pki.yaml:4: ca.crl.url: input should be a valid string"), message


# --- A-labels ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "value"), [
    ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ("XN--BCHER-KVA.example", "xn--bcher-kva.example"),
    ("xn--mnchen-3ya.de", "xn--mnchen-3ya.de"),
    ("xn--strae-oqa.de", "xn--strae-oqa.de"),  # straße: IDNA 2008 keeps ß
    ("xn--80ak6aa92e.com", "xn--80ak6aa92e.com"),  # Cyrillic
    ("xn--fiqs8s.cn", "xn--fiqs8s.cn"),  # Chinese
    ("*.xn--bcher-kva.example", "*.xn--bcher-kva.example"),
    ("bücher.example", "xn--bcher-kva.example"),  # what mtlsgen makes from a U-label passes its own check
])
def test_a_real_a_label_is_accepted(name: str, value: str) -> None:
    assert dns_name(name) == value


@pytest.mark.parametrize(("name", "reason"), [
    ("xn--zz.example", "the label 'xn--zz' is not valid punycode"),
    ("api.xn--zz", "the label 'xn--zz' is not valid punycode"),
    ("xn--abc.example", "decodes to a label holding U+0082"),  # C1 control characters
    ("xn--a.example", "decodes to a label holding U+0080"),
    ("xn--ab-yra.example", "decodes to a label holding"),
    ("xn--bcher-kva8445foa.example", "decodes to a label holding"),
    ("xn--99999999.example", "is not valid punycode"),
])
def test_an_a_label_that_is_not_real_punycode_is_refused(name: str, reason: str) -> None:
    with pytest.raises(ValueError, match=r"the label 'xn--") as info:
        dns_name(name)
    assert reason in str(info.value)


@pytest.mark.parametrize(("u_label", "reason"), [
    ("abc", "decodes to an ASCII label"),  # 'xn--abc-' is refused for its trailing hyphen already
    ("ab-c", "decodes to an ASCII label"),
    ("bÜcher", "decodes to a label holding U+00DC"),  # upper case: IDNA never makes it
    ("u\u0308", "not in Unicode normal form C"),  # ü decomposed
    ("ü\u200b", "decodes to a label holding U+200B"),  # a zero-width space
    ("ü!", "decodes to a label holding U+0021"),
])
def test_an_a_label_must_decode_to_a_valid_u_label(u_label: str, reason: str) -> None:
    label = "xn--" + u_label.encode("punycode").decode("ascii")
    with pytest.raises(ValueError) as info:
        dns_name(f"{label}.example")
    if label.endswith("-") or "!" in label:
        assert "is not a DNS name" in str(info.value)
    else:
        assert reason in str(info.value), str(info.value)


@pytest.mark.parametrize(("text", "line", "fragment"), [
    pytest.param("version: 1\nservers:\n  api:\n    sans:\n      - api.test\n      - xn--zz.example\n", 6,
                 "servers.api.sans[1]: 'xn--zz.example': the label 'xn--zz' is not valid punycode", id="dns"),
    pytest.param("version: 1\nservers:\n  api:\n    sans: ['DNS:xn--abc.example']\n", 4,
                 "servers.api.sans[0]: 'xn--abc.example': the label 'xn--abc' decodes", id="forced-dns"),
    pytest.param("version: 1\nclients:\n  bob:\n    sans: [bob@xn--zz.example]\n", 4,
                 "clients.bob.sans[0]: 'bob@xn--zz.example' is not a valid e-mail address", id="email"),
    pytest.param("version: 1\nservers:\n  xn--zz: {}\n", 3, "servers.xn--zz: no sans, and the CN 'xn--zz'",
                 id="cn-as-san"),
])
def test_an_invalid_a_label_is_a_spec_error_on_its_line(text: str, line: int, fragment: str) -> None:
    message = _message(text)
    assert message.startswith(f"pki.yaml:{line}: "), message
    assert fragment in message, message


def test_parse_san_refuses_the_issue_example() -> None:
    with pytest.raises(ValueError, match="xn--zz"):
        parse_san("xn--zz.example")


# --- helpers and smaller fixes -------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "found"), [
    ("plain", None), ("tab\there", "U+0009"), ("nul\0", "U+0000"), ("del\x7f", "U+007F"), ("c1\x80", "U+0080"),
    ("c1\x9f", "U+009F"), ("nbsp\xa0ok", None), ("é ü ß 中", None), ("\u2028", None),
])
def test_control_character_is_c0_del_and_c1(text: str, found: str | None) -> None:
    assert control_character(text) == found


def test_an_output_that_is_a_symlink_loop_passes_validate_without_a_traceback(tmp_path: Path) -> None:
    # validate checks the spec, not the disk: plan and apply report the loop (tests/hostile/)
    os.symlink("loop", tmp_path / "loop")
    spec = tmp_path / "pki.yaml"
    spec.write_text("version: 1\noutput: loop/certs\nca: {key: ecdsa-p256}\n", encoding="utf-8")
    assert load_spec(spec).output == tmp_path / "loop" / "certs"
    result = CliRunner().invoke(main, ["validate", str(spec)])
    assert result.exit_code == 0, result.output


def test_a_spec_file_name_with_a_newline_stays_on_one_line(tmp_path: Path) -> None:
    spec = tmp_path / "pki\n.yaml"
    spec.write_text("version: 2\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(spec)])
    assert result.exit_code == 1
    assert result.stderr == "error: 'pki\\n.yaml':1: version: must be 1 (got 2)\n"
