"""The hostile corpus: each case is a spec (and what a setup plants on disk) and which commands must fail.

`expect` gives validate, plan and apply each "fail" (exit 1, one `error:` line) or "ok" (exit 0).
validate only checks the spec, so a problem that only the disk shows (a special file as a password
file, a symlink in the output, an imported CA) passes validate and must fail plan and apply. Nothing
may change outside the output folder, and validate and plan change nothing at all.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.hostile.harness import LITERAL_PW, NON_ASCII_PW, World

OK, FAIL = "ok", "fail"
SPEC_ERROR = (FAIL, FAIL, FAIL)
AT_PLAN = (OK, FAIL, FAIL)

Setup = Callable[[World], None]


@dataclass(frozen=True)
class Case:
    id: str
    spec: str | bytes | None  # the text of project/pki.yaml; None: the setup provides the spec
    expect: tuple[str, str, str]
    setup: Setup | None = None
    match: str = ""  # a fragment each failing command's error line must hold
    unset: tuple[str, ...] = ()  # HOSTILE_ variables this case leaves unset


def spec_error(case_id: str, spec: str | bytes, match: str = "") -> Case:
    return Case(case_id, spec, SPEC_ERROR, match=match)


def at_plan(case_id: str, spec: str | None, setup: Setup | None = None, match: str = "",
            unset: tuple[str, ...] = ()) -> Case:
    return Case(case_id, spec, AT_PLAN, setup, match, unset)


# The output every symlink case starts from: applied once per session (conftest.golden), then copied.
GOLDEN_SPEC = """\
version: 1
ca: {cn: Hostile Root, key: ecdsa-p256, validity: 5y, crl: {validity: 7d}}
defaults: {key: ecdsa-p256, validity: 30d}
intermediates:
  sub: {validity: 1y}
servers:
  api:
    sans: [api.test]
    keystore: {password: {env: HOSTILE_ENV_PW}}
    truststore: {password: {file: store.pw}}
clients:
  bob:
    issuer: sub
    key_password: {generate: true}
    keystore: {}
"""

# A valid spec carrying every kind of password source (the literal one only where validate fails).
PASSWORDS = """\
version: 1
ca: {key: ecdsa-p256}
servers:
  api:
    sans: [api.test]
    keystore: {password: {env: HOSTILE_ENV_PW}}
    truststore: {password: {file: store.pw}}
"""

IMPORT_SPEC = """\
version: 1
ca:
  import: {cert: corp.crt, key: corp.key}
defaults: {key: ecdsa-p256, validity: 30d}
servers:
  api:
    sans: [api.test]
    keystore: {password: {env: HOSTILE_ENV_PW}}
"""

ENCRYPTED_IMPORT_SPEC = IMPORT_SPEC.replace("key: corp.key}", "key: corp.key, password: {env: HOSTILE_IMPORT_PW}}")


def _leaf(field: str, value: str, section: str = "servers", name: str = "api") -> str:
    """A spec whose one leaf sets `field: value` (value written as given: quote it yourself)."""
    sans = "" if field == "sans" else "    sans: [api.test]\n"
    return f"version: 1\nca: {{key: ecdsa-p256}}\n{section}:\n  {name}:\n{sans}    {field}: {value}\n"


# --- broken YAML: syntax, tabs, duplicates, aliases, nesting, types, unknown keys, versions ---------

def _laughs(levels: int = 9, width: int = 9) -> str:
    lines = ["version: 1", 'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def _merge_laughs() -> str:
    lines = ["version: 1", "m0: &m0 {}"]
    lines += [f"m{i}: &m{i} {{<<: [" + ", ".join([f"*m{i - 1}"] * 9) + "]}" for i in range(1, 10)]
    return "\n".join(lines) + "\n"


def _deep_blocks(depth: int) -> str:
    return "version: 1\nx:\n" + "".join(" " * i + "- \n" for i in range(1, depth)) + " " * depth + "- 1\n"


def _deep_maps(depth: int) -> str:
    return "version: 1\n" + "".join(" " * (2 * i) + f"k{i}:\n" for i in range(depth)) + " " * (2 * depth) + "v: 1\n"


YAML_CASES = [
    spec_error("yaml-unclosed-flow-mapping", "version: 1\nservers:\n  api: {sans: [api.test]\nclients: {}\n",
               "invalid YAML"),
    spec_error("yaml-unclosed-flow-sequence", "version: 1\nservers:\n  api:\n    sans: [api.test\n", "invalid YAML"),
    spec_error("yaml-unclosed-double-quote", 'version: 1\nca:\n  cn: "Root\n', "invalid YAML"),
    spec_error("yaml-unclosed-single-quote", "version: 1\nca:\n  cn: 'Root\n", "invalid YAML"),
    spec_error("yaml-bad-indent", "version: 1\nservers:\n  api:\n    cn: x\n   sans: [a]\n", "pki.yaml:5:"),
    spec_error("yaml-mapping-in-plain-scalar", "version: 1\nca: a: b\n", "pki.yaml:2: invalid YAML"),
    spec_error("yaml-stray-closing-bracket", "version: 1\nservers: ]\n", "pki.yaml:2: invalid YAML"),
    spec_error("yaml-tab-indent", "version: 1\nservers:\n\tapi: {}\n", "pki.yaml:3: invalid YAML"),
    spec_error("yaml-tab-in-flow", "version: 1\nca: {cn: Root,\tkey: ecdsa-p256}\n", "pki.yaml:2: invalid YAML"),
    spec_error("yaml-tab-before-key", "version: 1\nca:\n  cn: Root\n\t\n  key: ecdsa-p256\n", "invalid YAML"),
    spec_error("yaml-duplicate-top", "version: 1\noutput: a\noutput: b\n", "pki.yaml:3: output: duplicate key"),
    spec_error("yaml-duplicate-version", "version: 1\nversion: 1\n", "pki.yaml:2: version: duplicate key"),
    spec_error("yaml-duplicate-entry", "version: 1\nservers:\n  api: {}\n  api: {}\n", "pki.yaml:4:"),
    spec_error("yaml-duplicate-password-key",
               "version: 1\nservers:\n  api:\n    sans: [api.test]\n    keystore:\n"
               f"      password: {LITERAL_PW}\n      password: {{env: HOSTILE_ENV_PW}}\n", "pki.yaml:7:"),
    spec_error("yaml-duplicate-in-flow", "version: 1\nca: {cn: a, cn: b}\n", "pki.yaml:2: ca.cn: duplicate key"),
    spec_error("yaml-billion-laughs", _laughs(), "expands to more than"),
    spec_error("yaml-billion-laughs-merge", _merge_laughs(), "pki.yaml:"),
    spec_error("yaml-recursive-alias-sequence", "version: 1\nloop: &a [*a]\n", "nesting deeper than"),
    spec_error("yaml-recursive-alias-mapping", "version: 1\nservers:\n  api: &a\n    sans: [*a]\n",
               "nesting deeper than"),
    spec_error("yaml-undefined-alias", "version: 1\nca: *nowhere\n", "pki.yaml:2: invalid YAML"),
    spec_error("yaml-alias-of-wrong-type", "version: 1\nx: &s text\nservers: *s\n", "pki.yaml:"),
    spec_error("yaml-deep-flow-sequences", "version: 1\nx: " + "[" * 5000 + "]" * 5000 + "\n", "nesting"),
    spec_error("yaml-deep-flow-mappings", "version: 1\nx: " + "{a: " * 2000 + "1" + "}" * 2000 + "\n", "nesting"),
    spec_error("yaml-deep-block-sequences", _deep_blocks(2000), "nesting"),
    spec_error("yaml-deep-block-mappings", _deep_maps(200), "nesting"),
    spec_error("yaml-python-object-apply", "version: 1\noutput: !!python/object/apply:os.system ['touch pwned']\n",
               "pki.yaml:2:"),
    spec_error("yaml-python-name", "version: 1\noutput: !!python/name:os.system\n", "pki.yaml:2: invalid YAML"),
    spec_error("yaml-unknown-tag", "version: 1\nca: !vault |\n  $ANSIBLE_VAULT;1.1\n", "pki.yaml:2:"),
    spec_error("yaml-binary-cn", "version: 1\nca:\n  cn: !!binary aGVsbG8=\n", "pki.yaml:3: ca.cn"),
    spec_error("yaml-two-documents", "version: 1\n---\nversion: 1\n", "invalid YAML"),
    spec_error("yaml-complex-key", "version: 1\n? [a, b]\n: c\n", "pki.yaml:2: mapping keys must be plain strings"),
    spec_error("yaml-null-key", "version: 1\n~: 1\n", "unknown key"),
    spec_error("yaml-merge-of-scalar", "version: 1\nservers:\n  api:\n    <<: 5\n", "pki.yaml:4:"),
    spec_error("yaml-document-scalar", "just some text\n", "the spec must be a mapping"),
    spec_error("yaml-document-list", "- version: 1\n", "the spec must be a mapping"),
    spec_error("yaml-empty", "", "the file is empty"),
    spec_error("yaml-only-comments", "# nothing\n\n# here\n", "the file is empty"),
    spec_error("yaml-not-utf8", b"version: 1\nca:\n  cn: caf\xe9\n", "pki.yaml:3: not UTF-8 text"),
    spec_error("yaml-utf16", "version: 1\n".encode("utf-16"), "pki.yaml:1: not UTF-8 text"),
    spec_error("yaml-too-large", "version: 1\n" + ("# " + "x" * 1022 + "\n") * 4200, "larger than"),
    spec_error("yaml-huge-value", "version: 1\nca:\n  cn: " + "x" * 1_000_000 + "\n", "pki.yaml:3: ca.cn"),
    spec_error("yaml-many-entries", "version: 1\nservers:\n" + "".join(f"  s{i}: x\n" for i in range(20000)),
               "pki.yaml:3: servers.s0"),
    spec_error("yaml-timestamp-validity", "version: 1\ndefaults:\n  validity: 2030-01-01\n", "pki.yaml:3:"),
    spec_error("version-missing", "output: certs\n", "version: required"),
    spec_error("version-2", "version: 2\n", "pki.yaml:1: version: must be 1"),
    spec_error("version-string", 'version: "1"\n', "pki.yaml:1: version: must be 1"),
    spec_error("version-float", "version: 1.0\n", "pki.yaml:1: version: must be 1"),
    spec_error("version-bool", "version: true\n", "pki.yaml:1: version: must be 1"),
    spec_error("version-null", "version:\n", "pki.yaml:1: version"),
    spec_error("version-huge", "version: 99999999999999999999999999\n", "pki.yaml:1: version"),
    spec_error("version-list", "version: [1]\n", "pki.yaml:1: version"),
    spec_error("unknown-top-key", "version: 1\nservres: {}\n", "did you mean 'servers'?"),
    spec_error("unknown-entry-key", _leaf("validty", "10d"), "pki.yaml:6: servers.api.validty: unknown key"),
    spec_error("unknown-password-source", _leaf("key_password", f"{{vault: {LITERAL_PW}}}", "clients", "bob"),
               "pki.yaml:6: clients.bob.key_password: a password is a string"),
    spec_error("unknown-import-key", "version: 1\nca:\n  import: {cert: a, key: b, pass: x}\n", "ca.import.pass"),
    spec_error("type-servers-list", "version: 1\nservers: [api]\n", "pki.yaml:2: servers: expected a mapping"),
    spec_error("type-entry-string", "version: 1\nclients:\n  bob: yes\n", "pki.yaml:3: clients.bob"),
    spec_error("type-sans-string", _leaf("sans", "api.test"), "servers.api.sans: input should be a valid list"),
    spec_error("type-sans-mapping", _leaf("sans", "{a: b}"), "servers.api.sans"),
    spec_error("type-cn-int", _leaf("cn", "42"), "servers.api.cn"),
    spec_error("type-cn-list", _leaf("cn", "[a, b]"), "servers.api.cn"),
    spec_error("type-revoked-string", _leaf("revoked", '"yes"'), "servers.api.revoked"),
    spec_error("type-path-length-string", "version: 1\nca:\n  path_length: '3'\n", "ca.path_length"),
    spec_error("type-path-length-huge", "version: 1\nca:\n  path_length: 100000000000000000000\n", "ca.path_length"),
    spec_error("type-usages-mapping", _leaf("usages", "{serverAuth: true}"), "servers.api.usages"),
    spec_error("type-keystore-list", _leaf("keystore", "[pkcs12]"), "servers.api.keystore"),
    spec_error("type-password-int", _leaf("keystore", "{password: 123456}"), "quote it"),
    spec_error("type-password-list", _leaf("keystore", f"{{password: [{LITERAL_PW}]}}"),
               "servers.api.keystore.password: a password is a string"),
    spec_error("type-password-generate-string", _leaf("truststore", f"{{password: {{generate: {LITERAL_PW}}}}}"),
               "can only be true"),
    spec_error("type-password-env-and-literal", _leaf("keystore", f"{{password: {{env: X, file: {LITERAL_PW}}}}}"),
               "a password is a string"),
    spec_error("type-output-list", "version: 1\noutput: [a, b]\n", "pki.yaml:2: output"),
    spec_error("type-output-empty", "version: 1\noutput: ''\n", "pki.yaml:2: output"),
    spec_error("value-key-dsa", "version: 1\nca: {key: dsa}\n", "ca.key: 'dsa' is not a key type"),
    spec_error("value-key-rsa-1024", "version: 1\ndefaults: {key: rsa-1024}\n", "below 2048 bits"),
    spec_error("value-validity-negative", "version: 1\nca: {validity: -1d}\n", "ca.validity"),
    spec_error("value-validity-1000y", "version: 1\nca: {validity: 1000y}\n", "ca.validity"),
    spec_error("value-validity-huge-number", "version: 1\nca: {validity: 99999999999999d}\n", "ca.validity"),
    spec_error("value-renew-nan", _leaf("renew_before", "nan%"), "servers.api.renew_before"),
    spec_error("value-renew-inf", _leaf("renew_before", "inf%"), "servers.api.renew_before"),
    spec_error("value-entry-name-dotdot", "version: 1\nservers:\n  ..: {}\n", "is not an entry name"),
    spec_error("value-entry-name-slash", "version: 1\nservers:\n  ../../outside/app: {}\n", "is not an entry name"),
    spec_error("value-entry-name-long", "version: 1\nclients:\n  " + "a" * 1000 + ": {}\n", "is not an entry name"),
    spec_error("value-entry-key-too-long-for-yaml", "version: 1\nclients:\n  " + "a" * 5000 + ": {}\n",
               "pki.yaml:3: invalid YAML"),
    spec_error("value-issuer-cycle", "version: 1\nintermediates:\n  a: {issuer: b}\n  b: {issuer: a}\n",
               "issuer cycle"),
    spec_error("value-output-spec-folder", "version: 1\noutput: .\n", "is the spec's own folder"),
    spec_error("value-output-parent", "version: 1\noutput: ..\n", "is the spec's own folder"),
    spec_error("value-output-root", "version: 1\noutput: /\n", "is the spec's own folder"),
    spec_error("value-output-dotdot-trick", "version: 1\noutput: certs/../..\n", "is the spec's own folder"),
]


# --- NULs and control characters in every string field (task 1: all spec errors) -------------------

def _ctl(case_id: str, spec: str, line: int, field: str) -> Case:
    return spec_error(f"control-{case_id}", spec, f"pki.yaml:{line}: {field}")


CONTROL_CASES = [
    _ctl("cn-ca-nul", 'version: 1\nca:\n  cn: "a\\0b"\n', 3, "ca.cn: 'a\\x00b' holds a control character"),
    _ctl("cn-intermediate-esc", 'version: 1\nintermediates:\n  sub: {cn: "x\\e[2J"}\n', 3, "intermediates.sub.cn"),
    _ctl("cn-server-newline", _leaf("cn", '"api\\nx"'), 6, "servers.api.cn"),
    _ctl("cn-client-cr", _leaf("cn", '"bob\\r"', "clients", "bob"), 6, "clients.bob.cn"),
    _ctl("cn-tab", _leaf("cn", '"a\\tb"'), 6, "servers.api.cn"),
    _ctl("cn-del", 'version: 1\nca:\n  cn: "Root\\x7f"\n', 3, "ca.cn"),
    _ctl("cn-c1-nel", 'version: 1\nca:\n  cn: "Root\\N"\n', 3, "ca.cn"),
    _ctl("cn-c1-9f", 'version: 1\nca:\n  cn: "Root\\x9f"\n', 3, "ca.cn"),
    _ctl("cn-block-scalar", "version: 1\nca:\n  cn: |\n    Root\n", 3, "ca.cn"),
    _ctl("subject-c", 'version: 1\ndefaults:\n  subject: {C: "U\\0"}\n', 3, "defaults.subject.C"),
    _ctl("subject-st", 'version: 1\ndefaults:\n  subject: {ST: "x\\x01"}\n', 3, "defaults.subject.ST"),
    _ctl("subject-l", 'version: 1\nca:\n  subject: {L: "x\\x1f"}\n', 3, "ca.subject.L"),
    _ctl("subject-o", _leaf("subject", '{O: "Ex\\0ample"}'), 6, "servers.api.subject.O"),
    _ctl("subject-ou", 'version: 1\nintermediates:\n  sub:\n    subject: {OU: "a\\x85"}\n', 4,
         "intermediates.sub.subject.OU"),
    _ctl("san-dns", _leaf("sans", '["a\\0.test"]'), 5, "servers.api.sans[0]"),
    _ctl("san-dns-newline", _leaf("sans", '[ok.test, "b\\n.test"]'), 5, "servers.api.sans[1]"),
    _ctl("san-ip", _leaf("sans", '["10.0.0.1\\0"]'), 5, "servers.api.sans[0]"),
    _ctl("san-uri", _leaf("sans", '["spiffe://x.test/a\\0b"]', "clients", "bob"), 5, "clients.bob.sans[0]"),
    _ctl("san-email", _leaf("sans", '["bob\\x7f@x.test"]', "clients", "bob"), 5, "clients.bob.sans[0]"),
    _ctl("san-forced-dns", _leaf("sans", '["DNS:a\\tb.test"]'), 5, "servers.api.sans[0]"),
    _ctl("crl-url-nul", 'version: 1\nca:\n  crl: {url: "http://pki.test/\\0"}\n', 3, "ca.crl.url"),
    _ctl("crl-url-newline", 'version: 1\nca:\n  crl:\n    url: "http://pki.test/ca.crl\\nInjected: 1"\n', 4,
         "ca.crl.url"),
    _ctl("crl-url-intermediate", 'version: 1\nintermediates:\n  sub:\n    crl: {url: "http://p.test/\\x9b"}\n', 4,
         "intermediates.sub.crl.url"),
    _ctl("output-nul", 'version: 1\noutput: "certs\\0"\n', 2, "output: 'certs\\x00'"),
    _ctl("output-newline", 'version: 1\noutput: "certs\\nx"\n', 2, "output"),
    _ctl("output-esc", 'version: 1\noutput: "\\e]0;pwned\\a"\n', 2, "output"),
    _ctl("password-file-nul", _leaf("key_password", '{file: "store\\0.pw"}', "clients", "bob"), 6,
         "clients.bob.key_password.file"),
    _ctl("password-file-newline", _leaf("keystore", '{password: {file: "store.pw\\n"}}'), 6,
         "servers.api.keystore.password.file"),
    _ctl("password-file-truststore", _leaf("truststore", '{password: {file: "a\\x1bb"}}'), 6,
         "servers.api.truststore.password.file"),
    _ctl("password-env-nul", _leaf("keystore", '{password: {env: "HOSTILE_ENV_PW\\0"}}'), 6,
         "servers.api.keystore.password.env"),
    _ctl("password-literal-nul", _leaf("keystore", f'{{password: "{LITERAL_PW}\\0"}}'), 6,
         "servers.api.keystore.password: the password holds a control character"),
    _ctl("password-literal-newline", _leaf("key_password", f'"{LITERAL_PW}\\n"', "clients", "bob"), 6,
         "clients.bob.key_password: the password holds"),
    _ctl("password-literal-block", f"version: 1\nclients:\n  bob:\n    key_password: |\n      {LITERAL_PW}\n", 4,
         "clients.bob.key_password: the password holds"),
    _ctl("import-cert-nul", 'version: 1\nca:\n  import: {cert: "corp.crt\\0", key: corp.key}\n', 3,
         "ca.import.cert"),
    _ctl("import-key-nul", 'version: 1\nca:\n  import:\n    cert: corp.crt\n    key: "corp\\0.key"\n', 5,
         "ca.import.key"),
    _ctl("import-password-file", 'version: 1\nca:\n  import: {cert: c, key: k, password: {file: "p\\0w"}}\n', 3,
         "ca.import.password.file"),
    _ctl("import-password-literal", f'version: 1\nca:\n  import: {{cert: c, key: k, password: "{LITERAL_PW}\\t"}}\n',
         3, "ca.import.password: the password holds"),
    _ctl("entry-name-server", 'version: 1\nservers:\n  "api\\0": {}\n', 3, "servers.'api\\x00': the key holds"),
    _ctl("entry-name-client", 'version: 1\nclients:\n  "bob\\n": {}\n', 3, "clients.'bob\\n': the key holds"),
    _ctl("entry-name-intermediate", 'version: 1\nintermediates:\n  "sub\\x80": {}\n', 3, "intermediates."),
    _ctl("alias", _leaf("keystore", '{alias: "api\\n"}'), 6, "servers.api.keystore.alias"),
    _ctl("issuer", _leaf("issuer", '"ca\\0"'), 6, "servers.api.issuer"),
    _ctl("key", 'version: 1\nca: {key: "ecdsa-p256\\n"}\n', 2, "ca.key"),
    _ctl("validity", 'version: 1\ndefaults: {validity: "30d\\0"}\n', 2, "defaults.validity"),
    _ctl("renew-before", _leaf("renew_before", '"33%\\n"'), 6, "servers.api.renew_before"),
    _ctl("usage", _leaf("usages", '["serverAuth\\0"]'), 6, "servers.api.usages[0]"),
    _ctl("format", _leaf("keystore", '{formats: ["pkcs12\\n"]}'), 6, "servers.api.keystore.formats[0]"),
    _ctl("profile", _leaf("truststore", '{profile: "modern\\r"}'), 6, "servers.api.truststore.profile"),
    _ctl("key-rotation", _leaf("key_rotation", '"never\\0"'), 6, "servers.api.key_rotation"),
    _ctl("unknown-key", 'version: 1\n"out\\0put": certs\n', 2, "'out\\x00put': the key holds"),
    spec_error("control-raw-nul-line-2", b"version: 1\nca: {cn: a\x00b}\n", "pki.yaml:2: invalid YAML"),
    spec_error("control-raw-nul-line-4", b"version: 1\nca:\n  key: ecdsa-p256\n  cn: x\x00\n", "pki.yaml:4: invalid"),
    spec_error("control-raw-nul-in-comment", b"version: 1\n# \x00\n", "pki.yaml:2: invalid YAML"),
    spec_error("control-raw-esc", b"version: 1\nca:\n  cn: \x1b[31mRoot\n", "pki.yaml:3: invalid YAML"),
    spec_error("control-raw-del", b"version: 1\noutput: certs\x7f\n", "pki.yaml:2: invalid YAML"),
    spec_error("control-raw-c1", "version: 1\nca:\n  cn: Root\x9b\n".encode(), "pki.yaml:3: invalid YAML"),
    spec_error("control-raw-nel", "version: 1\nca:\n  cn: Root\x85CA\n".encode(), "pki.yaml:3: invalid YAML"),
    spec_error("control-raw-line-separator", "version: 1\nca:\n  cn: Root\u2028  key: ed25519\n".encode(),
               "pki.yaml:3: invalid YAML"),
    spec_error("control-raw-nul-crlf", b"version: 1\r\nca:\r\n  cn: a\x00\r\n", "pki.yaml:3: invalid YAML"),
    spec_error("control-spec-all-nul", b"\x00" * 4096, "pki.yaml:1: invalid YAML"),
]


# --- bad SANs and URLs ---------------------------------------------------------------------------

def _san(case_id: str, san: str, match: str = "servers.api.sans[0]") -> Case:
    return spec_error(f"san-{case_id}", _leaf("sans", f"['{san}']"), match)


def _crl(case_id: str, url: str) -> Case:
    return spec_error(f"crl-url-{case_id}", f"version: 1\nca:\n  crl:\n    url: '{url}'\nservers:\n  api: {{}}\n",
                      "pki.yaml:4: ca.crl.url")


SAN_URL_CASES = [
    _san("space", "exa mple.test"),
    _san("empty", ""),
    _san("bad-punycode", "xn--zz.example", "not valid punycode"),
    _san("punycode-controls", "xn--abc.example", "decodes to a label holding"),
    _san("punycode-upper", "xn--bcher-2pa.example", "decodes to a label holding"),
    _san("double-wildcard", "*.*.test"),
    _san("wildcard-tld", "*.test"),
    _san("wildcard-middle", "a.*.test"),
    _san("zone-id", "fe80::1%eth0"),
    _san("bad-ip", "999.1.1.1"),
    _san("forced-ip", "IP:not-an-ip"),
    _san("uri-no-host", "http://"),
    _san("uri-non-ascii", "http://münchen.test/"),
    _san("uri-space", "spiffe://x.test/a b"),
    _san("email-two-at", "a@b@c.test"),
    _san("email-non-ascii-local", "ü@x.test"),
    _san("label-too-long", "a" * 64 + ".test"),
    _san("name-too-long", ".".join(["a" * 60] * 5)),
    _san("underscore", "a_b.test"),
    _san("leading-dash", "-a.test"),
    _san("dotdot", "a..test"),
    _san("shell", "$(touch pwned).test"),
    _san("path", "../../etc/passwd"),
    spec_error("san-duplicate", _leaf("sans", "[a.test, A.TEST]"), "servers.api.sans[1]: DNS:a.test is listed twice"),
    _crl("not-a-url", "not a url"),
    _crl("relative", "pki.test/ca.crl"),
    _crl("ftp", "ftp://pki.test/ca.crl"),
    _crl("file", "file:///etc/passwd"),
    _crl("javascript", "javascript:alert(1)"),
    _crl("no-host", "http://"),
    _crl("ldap-no-host", "ldap:///cn=Root"),
    _crl("space", "http://pki.test/ca crl"),
    _crl("non-ascii", "http://pki.tést/ca.crl"),
    _crl("bad-port", "http://pki.test:99999/ca.crl"),
    _crl("wildcard-host", "http://*.pki.test/ca.crl"),
    _crl("bad-punycode-host", "http://xn--zz.test/ca.crl"),
    _crl("unclosed-ipv6", "http://[::1/ca.crl"),
    spec_error("crl-url-int", "version: 1\nca:\n  crl: {url: 80}\n", "pki.yaml:3: ca.crl.url"),
]


# --- special files as the spec, a password file, an imported CA (plan/apply must fail) -------------

def _spec_at(path: str) -> Setup:
    def setup(world: World) -> None:
        world.spec = Path(path)
    return setup


def _spec_fifo(world: World) -> None:
    world.spec = world.project / "pki.fifo"
    os.mkfifo(world.spec)


def _spec_folder(world: World) -> None:
    world.spec = world.project / "specdir"
    world.spec.mkdir()


def _spec_link_to_zero(world: World) -> None:
    world.spec = world.project / "pki-link.yaml"
    world.spec.symlink_to("/dev/zero")


def _spec_missing(world: World) -> None:
    world.spec = world.project / "absent.yaml"


def _fifo(name: str) -> Setup:
    def setup(world: World) -> None:
        os.mkfifo(world.project / name)
    return setup


def _folder(name: str) -> Setup:
    def setup(world: World) -> None:
        (world.project / name).mkdir()
    return setup


def _file(name: str, data: bytes) -> Setup:
    def setup(world: World) -> None:
        world.write(name, data)
    return setup


def _link(name: str, target: str) -> Setup:
    def setup(world: World) -> None:
        path = world.project / name
        if os.path.lexists(path):
            path.unlink()
        path.symlink_to(target)
    return setup


def _with_ca(name: str, then: Setup | None = None, **paths: str) -> Setup:
    def setup(world: World) -> None:
        world.import_ca(name, **paths)
        if then is not None:
            then(world)
    return setup


def _import_paths(cert: str = "corp.crt", key: str = "corp.key", password: str = "") -> str:
    password = f", password: {password}" if password else ""
    return IMPORT_SPEC.replace("{cert: corp.crt, key: corp.key}", f"{{cert: '{cert}', key: '{key}'{password}}}")


def _store_password(source: str) -> str:
    return PASSWORDS.replace("{password: {file: store.pw}}", f"{{password: {source}}}")


SPECIAL_FILE_CASES = [
    Case("special-spec-fifo", None, SPEC_ERROR, _spec_fifo, "FIFO"),
    Case("special-spec-dev-zero", None, SPEC_ERROR, _spec_at("/dev/zero"), "character device"),
    Case("special-spec-dev-urandom", None, SPEC_ERROR, _spec_at("/dev/urandom"), "character device"),
    Case("special-spec-dev-null", None, SPEC_ERROR, _spec_at("/dev/null"), "character device"),
    Case("special-spec-folder", None, SPEC_ERROR, _spec_folder),
    Case("special-spec-link-to-dev-zero", None, SPEC_ERROR, _spec_link_to_zero, "character device"),
    Case("special-spec-missing", None, SPEC_ERROR, _spec_missing, "no such file"),
    at_plan("special-password-fifo", _store_password("{file: pw.fifo}"), _fifo("pw.fifo"), "truststore.password"),
    at_plan("special-password-dev-zero", _store_password("{file: /dev/zero}"), match="truststore.password"),
    at_plan("special-password-dev-urandom", _store_password("{file: /dev/urandom}"), match="truststore.password"),
    at_plan("special-password-dev-null", _store_password("{file: /dev/null}"), match="truststore.password"),
    at_plan("special-password-folder", _store_password("{file: pwdir}"), _folder("pwdir"), "truststore.password"),
    at_plan("special-password-huge", _store_password("{file: huge.pw}"), _file("huge.pw", b"x" * (8 << 20)),
            "truststore.password"),
    at_plan("special-key-password-fifo", _leaf("key_password", "{file: key.fifo}", "clients", "bob"),
            _fifo("key.fifo"), "clients.bob.key_password"),
    at_plan("special-key-password-dev-zero", _leaf("key_password", "{file: /dev/zero}", "clients", "bob"),
            match="clients.bob.key_password"),
    at_plan("special-import-password-fifo", _import_paths(password="{file: import.fifo}"),
            _with_ca("encrypted", _fifo("import.fifo")), "ca.import.password"),
    at_plan("special-import-password-dev-urandom", _import_paths(password="{file: /dev/urandom}"),
            _with_ca("encrypted"), "ca.import.password"),
    at_plan("special-import-cert-dev-zero", _import_paths(cert="/dev/zero"), _with_ca("good")),
    at_plan("special-import-cert-dev-urandom", _import_paths(cert="/dev/urandom"), _with_ca("good")),
    at_plan("special-import-cert-fifo", _import_paths(cert="ca.fifo"), _with_ca("good", _fifo("ca.fifo"))),
    at_plan("special-import-cert-folder", _import_paths(cert="cadir"), _with_ca("good", _folder("cadir"))),
    at_plan("special-import-cert-missing", _import_paths(cert="absent.crt"), _with_ca("good")),
    at_plan("special-import-cert-huge", _import_paths(cert="huge.crt"),
            _with_ca("good", _file("huge.crt", b"A" * (4 << 20)))),
    at_plan("special-import-key-dev-zero", _import_paths(key="/dev/zero"), _with_ca("good")),
    at_plan("special-import-key-dev-urandom", _import_paths(key="/dev/urandom"), _with_ca("good")),
    at_plan("special-import-key-fifo", _import_paths(key="key.fifo"), _with_ca("good", _fifo("key.fifo"))),
    at_plan("special-import-key-missing", _import_paths(key="absent.key"), _with_ca("good")),
]


# --- bad imported CAs -----------------------------------------------------------------------------

IMPORT_CASES = [
    at_plan(f"import-{name}", IMPORT_SPEC, _with_ca(name)) for name in (
        "not-a-ca", "no-basic-constraints", "wrong-key", "dsa", "rsa-1024", "no-keycertsign", "expired",
        "not-yet-valid", "expiring", "sha1", "garbage-cert", "garbage-key", "empty-cert", "truncated-cert",
        "swapped", "key-only-public", "binary-cert")
] + [
    at_plan("import-encrypted-no-password", IMPORT_SPEC, _with_ca("encrypted"), "ca.import.password"),
    at_plan("import-encrypted-env-unset", ENCRYPTED_IMPORT_SPEC, _with_ca("encrypted"), "HOSTILE_IMPORT_PW",
            unset=("HOSTILE_IMPORT_PW",)),
    at_plan("import-encrypted-wrong-password", ENCRYPTED_IMPORT_SPEC.replace("HOSTILE_IMPORT_PW", "HOSTILE_ENV_PW"),
            _with_ca("encrypted"), "ca.import.password"),
    at_plan("import-cert-is-a-link-to-dev-zero", IMPORT_SPEC, _with_ca("good", _link("corp.crt", "/dev/zero"))),
]


# --- symlinks planted in the output (plan must refuse; nothing outside may change) -----------------

def _golden(*links: tuple[str, str]) -> Setup:
    """The golden output, then each (path in the output, target under outside/) made a symlink."""
    def setup(world: World) -> None:
        world.install_golden()
        for inside, target in links:
            world.relink(inside, world.outside / target)
    return setup


def _golden_then(step: Callable[[World], None]) -> Setup:
    def setup(world: World) -> None:
        world.install_golden()
        step(world)
    return setup


def _output_loop(world: World) -> None:
    world.output.symlink_to("certs")


def _loop_inside(world: World) -> None:
    world.install_golden()
    world.relink("api", world.output / "api")  # api -> api


def _fresh_output_with_link(world: World) -> None:
    world.output.mkdir()
    (world.output / "api").symlink_to(os.path.relpath(world.outside / "app", world.output))


def _fifo_in_output(world: World) -> None:
    world.install_golden()
    (world.output / "api" / "tls.crt").unlink()
    os.mkfifo(world.output / "api" / "tls.crt")


SYMLINK_CASES = [
    at_plan("symlink-server-folder", GOLDEN_SPEC, _golden(("api", "app"))),
    at_plan("symlink-client-folder", GOLDEN_SPEC, _golden(("bob", "app"))),
    at_plan("symlink-intermediate-folder", GOLDEN_SPEC, _golden(("sub", "ca"))),
    at_plan("symlink-ca-folder", GOLDEN_SPEC, _golden(("ca", "ca"))),
    at_plan("symlink-folder-dangling", GOLDEN_SPEC, _golden(("api", "newdir"))),
    at_plan("symlink-folder-to-empty", GOLDEN_SPEC, _golden(("api", "empty"))),
    at_plan("symlink-tls-key", GOLDEN_SPEC, _golden(("api/tls.key", "secret.txt"))),
    at_plan("symlink-tls-crt", GOLDEN_SPEC, _golden(("api/tls.crt", "public.txt"))),
    at_plan("symlink-leaf-ca-crt", GOLDEN_SPEC, _golden(("bob/ca.crt", "public.txt"))),
    at_plan("symlink-ca-key", GOLDEN_SPEC, _golden(("ca/ca.key", "ca/ca.key"))),
    at_plan("symlink-ca-crt", GOLDEN_SPEC, _golden(("ca/ca.crt", "ca/ca.crt"))),
    at_plan("symlink-ca-crl", GOLDEN_SPEC, _golden(("ca/ca.crl", "public.txt"))),
    at_plan("symlink-keystore-p12", GOLDEN_SPEC, _golden(("api/keystore.p12", "public.txt"))),
    at_plan("symlink-truststore-p12", GOLDEN_SPEC, _golden(("api/truststore.p12", "secret.txt"))),
    at_plan("symlink-generated-password", GOLDEN_SPEC, _golden(("bob/keystore.password", "keystore.password"))),
    at_plan("symlink-key-password", GOLDEN_SPEC, _golden(("bob/tls.key.password", "secret.txt"))),
    at_plan("symlink-gitignore", GOLDEN_SPEC, _golden((".gitignore", "public.txt"))),
    at_plan("symlink-key-dangling", GOLDEN_SPEC, _golden(("api/tls.key", "app/new.key"))),
    at_plan("symlink-several", GOLDEN_SPEC, _golden(("api/tls.key", "secret.txt"), ("bob", "app"), ("ca", "ca"))),
    at_plan("symlink-output-loop", GOLDEN_SPEC, _output_loop),
    at_plan("symlink-output-through-loop", GOLDEN_SPEC.replace("version: 1\n", "version: 1\noutput: loop/certs\n"),
            _link("loop", "loop")),
    at_plan("symlink-folder-loop", GOLDEN_SPEC, _loop_inside),
    at_plan("symlink-in-fresh-output", GOLDEN_SPEC, _fresh_output_with_link),
    at_plan("fifo-in-output", GOLDEN_SPEC, _fifo_in_output),
]


# --- an output that cannot be written --------------------------------------------------------------

def _output_file(world: World) -> None:
    world.output.write_text("a file where the output folder should be\n", encoding="utf-8")


def _output_fifo(world: World) -> None:
    os.mkfifo(world.output)


def _output_parent_file(world: World) -> None:
    world.write("notadir", "a regular file\n")


OUTPUT_CASES = [
    at_plan("output-is-a-file", PASSWORDS, _output_file),
    at_plan("output-parent-is-a-file", PASSWORDS.replace("version: 1\n", "version: 1\noutput: notadir/certs\n"),
            _output_parent_file),
    at_plan("output-is-dev-null", PASSWORDS.replace("version: 1\n", "version: 1\noutput: /dev/null\n")),
    at_plan("output-under-dev-null", PASSWORDS.replace("version: 1\n", "version: 1\noutput: /dev/null/certs\n")),
    at_plan("output-is-a-fifo", PASSWORDS, _output_fifo),
    at_plan("output-name-too-long", PASSWORDS.replace("version: 1\n", f"version: 1\noutput: {'c' * 300}\n")),
]


# --- passwords: unset variables, missing files, non-ASCII PKCS#12 passwords -----------------------

PASSWORD_CASES = [
    at_plan("password-env-unset-keystore", PASSWORDS, match="HOSTILE_ENV_PW", unset=("HOSTILE_ENV_PW",)),
    at_plan("password-env-unset-truststore", _store_password("{env: HOSTILE_UNSET}"), match="HOSTILE_UNSET"),
    at_plan("password-env-unset-key", _leaf("key_password", "{env: HOSTILE_UNSET}", "clients", "bob"),
            match="HOSTILE_UNSET"),
    at_plan("password-env-with-equals", _store_password("{env: 'HOSTILE_ENV_PW=x'}"), match="truststore.password"),
    at_plan("password-file-missing", _store_password("{file: absent.pw}"), match="truststore.password"),
    at_plan("password-file-missing-folder", _store_password("{file: nowhere/absent.pw}"), match="truststore.password"),
    at_plan("password-file-empty", _store_password("{file: empty.pw}"), _file("empty.pw", b""),
            "truststore.password"),
    at_plan("password-file-newline-only", _store_password("{file: nl.pw}"), _file("nl.pw", b"\n"),
            "truststore.password"),
    at_plan("password-file-not-utf8", _store_password("{file: bin.pw}"), _file("bin.pw", b"\xff\xfe\x00pw\n"),
            "truststore.password"),
    at_plan("password-file-dangling-link", _store_password("{file: link.pw}"), _link("link.pw", "absent.pw"),
            "truststore.password"),
    at_plan("password-file-link-loop", _store_password("{file: loop.pw}"), _link("loop.pw", "loop.pw"),
            "truststore.password"),
    at_plan("password-non-ascii-literal", _store_password(f"'{NON_ASCII_PW}'"), match="truststore.password"),
    at_plan("password-non-ascii-env", _store_password("{env: HOSTILE_NON_ASCII}"), match="truststore.password"),
    at_plan("password-non-ascii-file", _store_password("{file: nonascii.pw}"), match="truststore.password"),
    at_plan("password-non-ascii-keystore", PASSWORDS.replace("{env: HOSTILE_ENV_PW}", f"'{NON_ASCII_PW}'"),
            match="keystore.password"),
]


# --- a shared CA (ca.shared): where its folder may be, what its passphrase may be, what is planted there ----

def _shared(folder: str = "pki-ca", passphrase: str = "{env: HOSTILE_ENV_PW}", extra: str = "") -> str:
    return (f"version: 1\nca:\n  key: ecdsa-p256\n{extra}  shared:\n    folder: '{folder}'\n"
            f"    passphrase: {passphrase}\nclients:\n  bob: {{}}\n")


def _in_shared(name: str, setup: Setup) -> Setup:
    def planted(world: World) -> None:
        (world.project / "pki-ca").mkdir()
        setup(world)
    return planted


SHARED_CASES = [
    spec_error("shared-literal-passphrase", _shared(passphrase=f"'{LITERAL_PW}'"),
               "pki.yaml:6: ca.shared.passphrase: a shared CA's passphrase is {env: NAME} or {file: path}"),
    spec_error("shared-generated-passphrase", _shared(passphrase="{generate: true}"),
               "pki.yaml:6: ca.shared.passphrase"),
    spec_error("shared-no-passphrase", _shared().replace("    passphrase: {env: HOSTILE_ENV_PW}\n", ""),
               "pki.yaml:4: ca.shared.passphrase: required"),
    spec_error("shared-folder-is-spec-folder", _shared(folder="."), "pki.yaml:5: ca.shared.folder"),
    spec_error("shared-folder-above-spec", _shared(folder=".."), "pki.yaml:5: ca.shared.folder"),
    spec_error("shared-folder-is-output", _shared(folder="certs"), "pki.yaml:5: ca.shared.folder"),
    spec_error("shared-folder-in-output", _shared(folder="certs/ca"), "pki.yaml:5: ca.shared.folder"),
    spec_error("shared-folder-holds-output", "version: 1\noutput: pki/certs\n" + _shared(folder="pki")[11:],
               "pki.yaml:6: ca.shared.folder"),
    spec_error("shared-with-import", _shared(extra="  import: {cert: corp.crt, key: corp.key}\n"),
               "pki.yaml:5: ca.shared: cannot be combined with ca.import"),
    at_plan("shared-passphrase-env-unset", _shared(passphrase="{env: HOSTILE_UNSET}"), match="HOSTILE_UNSET"),
    at_plan("shared-passphrase-file-missing", _shared(passphrase="{file: absent.pw}"), match="ca.shared.passphrase"),
    at_plan("shared-folder-is-a-link", _shared(), _link("pki-ca", "../outside/ca"), "pki-ca is a symbolic link"),
    at_plan("shared-folder-is-a-file", _shared(), _file("pki-ca", b"not a folder\n"), "pki-ca is a file"),
    at_plan("shared-key-is-a-link", _shared(), _in_shared("pki-ca", _link("pki-ca/ca.key", "../../outside/ca/ca.key")),
            "pki-ca/ca.key is a symbolic link"),
    at_plan("shared-cert-is-a-fifo", _shared(), _in_shared("pki-ca", _fifo("pki-ca/ca.crt")),
            "pki-ca/ca.crt is a FIFO"),
]

CASES: list[Case] = [*YAML_CASES, *CONTROL_CASES, *SAN_URL_CASES, *SPECIAL_FILE_CASES, *IMPORT_CASES,
                     *SYMLINK_CASES, *OUTPUT_CASES, *PASSWORD_CASES, *SHARED_CASES]
