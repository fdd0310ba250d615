"""Invalid specs: each must fail with one SpecError `pki.yaml:<line>: <field>: <reason>`.

The line is the one a user has to edit; the fragments are what tells them what to write instead.
A subset also goes through the CLI, which must print exactly one `error:` line and exit 1.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from mtlsgen import SpecError, load_spec
from mtlsgen.cli import main
from tests.helpers.common import SMALL_SPEC, line_of, one_error_line, run_cli

LONG_NAME = "a" * 64

# (id, spec text or bytes, expected line, fragments the message must contain, also run through the CLI)
CASES: list[tuple[str, str | bytes, int, tuple[str, ...], bool]] = [
    # version
    ("version-missing", "output: certs\n", 1, ("version: required",), True),
    ("version-2", "version: 2\n", 1, ("version: must be 1", "got 2"), True),
    ("version-string", 'version: "1"\n', 1, ("version: must be 1", "without quotes"), True),
    ("version-bool", "version: true\n", 1, ("version: must be 1 (got True)",), False),
    ("version-float", "version: 1.0\n", 1, ("version: must be 1 (got 1.0)",), False),
    ("version-late-line", "# comment\n\nversion: 3\n", 3, ("version: must be 1",), False),
    # unknown keys at every level, with did-you-mean where a key is close
    ("unknown-top", "version: 1\nservres: {}\n", 2,
     ("servres: unknown key", "did you mean 'servers'?"), True),
    ("unknown-defaults", "version: 1\ndefaults:\n  validty: 10d\n", 3,
     ("defaults.validty: unknown key; did you mean 'validity'?",), True),
    ("unknown-ca", "version: 1\nca:\n  cn: Root\n  keysize: 4096\n", 4,
     ("ca.keysize: unknown key; did you mean 'key'?",), False),
    ("unknown-server", "version: 1\nservers:\n  api:\n    sans: [api.example.com]\n    validty: 10d\n", 5,
     ("servers.api.validty: unknown key; did you mean 'validity'?",), True),
    ("unknown-client", "version: 1\nclients:\n  bob:\n    subjet: {O: x}\n", 4,
     ("clients.bob.subjet: unknown key; did you mean 'subject'?",), False),
    ("unknown-intermediate", "version: 1\nintermediates:\n  sub:\n    cn: Sub\n    sans: [x.example]\n", 5,
     ("intermediates.sub.sans: unknown key",), False),
    ("unknown-keystore", "version: 1\nservers:\n  api:\n    keystore:\n      formats: [pkcs12]\n"
     "      passwd: x\n",
     6, ("servers.api.keystore.passwd: unknown key; did you mean 'password'?",), True),
    ("unknown-truststore", "version: 1\nclients:\n  bob:\n    truststore: {format: [jks]}\n", 4,
     ("clients.bob.truststore.format: unknown key; did you mean 'formats'?",), False),
    ("unknown-subject", "version: 1\ndefaults:\n  subject:\n    O: Example\n    CN: x\n", 5,
     ("defaults.subject.CN: unknown key", "`cn`"), False),
    ("unknown-import", "version: 1\nca:\n  import:\n    cert: a.crt\n    key: a.key\n    pass: x\n", 6,
     ("ca.import.pass: unknown key; did you mean 'password'?",), False),
    ("unknown-crl", "version: 1\nca:\n  crl: {validty: 3d}\n", 3,
     ("ca.crl.validty: unknown key; did you mean 'validity'?",), False),
    # duplicate keys: YAML keeps the last silently; we refuse and name the first
    ("duplicate-entry", "version: 1\nservers:\n  api: {}\n  web: {}\n  api: {}\n", 5,
     ("servers.api: duplicate key (first set on line 3)",), True),
    ("duplicate-top", "version: 1\noutput: a\noutput: b\n", 3,
     ("output: duplicate key (first set on line 2)",), False),
    ("duplicate-flow", "version: 1\nservers:\n  api: {cn: a.example, cn: b.example}\n", 3,
     ("servers.api.cn: duplicate key (first set on line 3)",), False),
    # entry names
    ("name-uppercase", "version: 1\nservers:\n  Api: {}\n",
     3, ("servers.Api: 'Api' is not an entry name",), True),
    ("name-leading-dot", "version: 1\nclients:\n  .hidden: {}\n",
     3, ("'.hidden' is not an entry name",), False),
    ("name-leading-dash", "version: 1\nclients:\n  -bob: {}\n", 3, ("'-bob' is not an entry name",), False),
    ("name-too-long", f"version: 1\nservers:\n  {LONG_NAME}: {{}}\n", 3,
     (f"'{LONG_NAME}' is not an entry name", "at most 63"), False),
    ("name-slash", "version: 1\nservers:\n  ../etc: {}\n", 3, ("'../etc' is not an entry name",), False),
    ("name-ca-as-server", "version: 1\nservers:\n  ca: {}\n",
     3, ("servers.ca: 'ca' is the root CA's name",), True),
    ("name-server-and-client", "version: 1\nservers:\n  api: {}\nclients:\n  api: {}\n", 5,
     ("clients.api: 'api' is already used in servers",), True),
    ("name-intermediate-and-server", "version: 1\nintermediates:\n  sub: {}\nservers:\n  sub: {}\n", 5,
     ("servers.sub: 'sub' is already used in intermediates",), False),
    # SANs: the index names the item, the line is the item's own line in a block list
    ("san-space", "version: 1\nservers:\n  api:\n    sans:\n      - a.example.com\n      - b.example.com\n"
     "      - exa mple.com\n", 7, ("servers.api.sans[2]: 'exa mple.com' is not a DNS name",), True),
    ("san-double-wildcard", "version: 1\nservers:\n  api:\n    sans: ['*.*.x']\n", 4,
     ("servers.api.sans[0]: '*.*.x'", "wildcard may only be the whole first label"), False),
    ("san-empty-label", "version: 1\nservers:\n  api:\n    sans: [ok.example, a..b]\n", 4,
     ("servers.api.sans[1]: 'a..b' is not a DNS name",), False),
    ("san-uri-without-host", "version: 1\nservers:\n  api:\n    sans: ['http://']\n", 4,
     ("servers.api.sans[0]: 'http://' is a URI without a host",), False),
    ("san-wildcard-tld", "version: 1\nservers:\n  api:\n    sans: ['*.com']\n", 4,
     ("'*.com': a wildcard needs at least two labels after it",), False),
    ("san-leading-dash", "version: 1\nservers:\n  api:\n    sans: [-a.com]\n", 4,
     ("servers.api.sans[0]: '-a.com' is not a DNS name",), False),
    ("san-forced-ip", "version: 1\nservers:\n  api:\n    sans: ['IP:notanip']\n", 4,
     ("servers.api.sans[0]: 'notanip' is not an IP address",), True),
    ("san-long-label", f"version: 1\nservers:\n  api:\n    sans: [{LONG_NAME}.example]\n", 4,
     ("servers.api.sans[0]", "longer than 63 characters"), False),
    ("san-bad-email", "version: 1\nclients:\n  bob:\n    sans: ['bob@']\n", 4,
     ("clients.bob.sans[0]: 'bob@' is not a valid e-mail address",), False),
    ("san-duplicate", "version: 1\nservers:\n  api:\n    sans:\n      - a.example\n      - b.example\n"
     "      - A.example\n", 7, ("servers.api.sans[2]: DNS:a.example is listed twice",), True),
    ("san-duplicate-ipv6", "version: 1\nservers:\n  api:\n    sans: ['::1', '0:0:0:0:0:0:0:1']\n", 4,
     ("servers.api.sans[1]: IP:::1 is listed twice",), False),
    ("sans-not-a-list", "version: 1\nservers:\n  api:\n    sans: a.example\n", 4,
     ("servers.api.sans: input should be a valid list",), False),
    # durations
    ("duration-bare-number", "version: 1\nservers:\n  api:\n    validity: 90\n", 4,
     ("servers.api.validity: 90 has no unit", "90d"), True),
    ("duration-words", "version: 1\nservers:\n  api:\n    validity: 90 days\n", 4,
     ("servers.api.validity: '90 days' is not a duration like 12h, 90d, 2w or 10y",), False),
    ("duration-zero", "version: 1\nservers:\n  api:\n    validity: 0d\n",
     4, ("'0d' is not a duration",), False),
    ("duration-negative", "version: 1\ndefaults:\n  validity: -1d\n", 3,
     ("defaults.validity: '-1d' is not a duration",), False),
    ("duration-over-100y", "version: 1\nca:\n  validity: 200y\n", 3,
     ("ca.validity: '200y' is longer than 100 years",), False),
    ("renew-equals-validity", "version: 1\nservers:\n  api:\n    validity: 30d\n    renew_before: 30d\n", 5,
     ("servers.api.renew_before: renew_before 30d is not shorter than validity 30d",
      "renew on every run"), True),
    ("renew-from-defaults", "version: 1\ndefaults:\n  renew_before: 60d\nservers:\n  api:\n"
     "    validity: 30d\n",
     6,
     ("servers.api.validity: renew_before 60d is not shorter than validity 30d",), False),
    ("renew-over-100-percent", "version: 1\nservers:\n  api:\n    renew_before: 150%\n", 4,
     ("servers.api.renew_before: '150%'", "between 0% and 100%"), False),
    ("renew-bad-percent", "version: 1\nservers:\n  api:\n    renew_before: abc%\n", 4,
     ("'abc%' is not a percentage like 33%",), False),
    # validity against the issuer's, issuers
    ("validity-over-root", "version: 1\nca:\n  validity: 1y\nservers:\n  api:\n    validity: 2y\n", 6,
     ("servers.api.validity: 2y is longer than its issuer ca's validity (1y)",), True),
    ("validity-over-intermediate", "version: 1\nintermediates:\n  sub: {validity: 30d}\nclients:\n  bob:\n"
     "    issuer: sub\n    validity: 60d\n", 7,
     ("clients.bob.validity: 60d is longer than its issuer sub's validity (30d)",), False),
    ("issuer-unknown", "version: 1\nservers:\n  api:\n    issuer: nope\n", 4,
     ("servers.api.issuer: issuer 'nope' is not defined (CAs: ca)",), True),
    ("issuer-is-server", "version: 1\nservers:\n  api: {}\nclients:\n  bob:\n    issuer: api\n", 6,
     ("clients.bob.issuer: issuer 'api' is not a CA",), False),
    ("issuer-cycle", "version: 1\nintermediates:\n  a: {issuer: b}\n  b: {issuer: a}\n", 3,
     ("intermediates.a.issuer: issuer cycle: a → b → a",), False),
    ("issuer-self", "version: 1\nintermediates:\n  a:\n    issuer: a\n", 4, ("issuer cycle: a → a",), False),
    # keys
    ("key-rsa-1024", "version: 1\ndefaults:\n  key: rsa-1024\n", 3,
     ("defaults.key: 'rsa-1024': RSA keys below 2048 bits are refused",), True),
    ("key-rsa512", "version: 1\nservers:\n  api: {key: rsa512}\n",
     3, ("RSA keys below 2048 bits are refused",), False),
    ("key-unknown", "version: 1\nca:\n  key: dsa\n", 3,
     ("ca.key: 'dsa' is not a key type; use one of rsa-2048, rsa-3072, rsa-4096, ecdsa-p256",), False),
    # usages, stores, passwords, aliases
    ("usage-unknown", "version: 1\nservers:\n  api:\n    usages: [serverAuth, codeSigning]\n", 4,
     ("servers.api.usages[1]:", "'serverAuth' or 'clientAuth'", "got 'codeSigning'"), False),
    ("usages-empty", "version: 1\nservers:\n  api:\n    usages: []\n", 4,
     ("servers.api.usages: list should have at least 1 item",), False),
    ("formats-empty", "version: 1\nservers:\n  api:\n    keystore:\n      formats: []\n", 5,
     ("servers.api.keystore.formats: list should have at least 1 item",), True),
    ("format-unknown", "version: 1\nservers:\n  api:\n    keystore:\n      formats: [pkcs12, pem]\n", 5,
     ("servers.api.keystore.formats[1]:", "'pkcs12' or 'jks'", "got 'pem'"), False),
    ("profile-unknown", "version: 1\nservers:\n  api:\n    keystore: {profile: old}\n", 4,
     ("servers.api.keystore.profile:", "'modern' or 'legacy'"), False),
    ("password-env-and-file", "version: 1\nservers:\n  api:\n    keystore:\n"
     "      password: {env: X, file: Y}\n",
     5,
     ("servers.api.keystore.password: a password is a string, {env: NAME}, {file: path} or "
      "{generate: true}",),
     True),
    ("password-unknown-source", "version: 1\nservers:\n  api:\n    truststore:\n"
     "      password: {foo: 1}\n",
     5,
     ("servers.api.truststore.password: a password is a string",), False),
    ("password-generate-false", "version: 1\nservers:\n  api:\n    keystore:\n"
     "      password: {generate: false}\n",
     5, ("servers.api.keystore.password.generate: can only be true", "{env: NAME}"), False),
    ("password-empty-env", "version: 1\nclients:\n  bob:\n    key_password: {env: ''}\n", 4,
     ("clients.bob.key_password.env: string should have at least 1 character",), False),
    ("alias-mixed-case", "version: 1\nservers:\n  api:\n    keystore:\n      alias: MyKey\n", 5,
     ("servers.api.keystore.alias: 'MyKey': Java lowercases aliases, so write it as 'mykey'",), True),
    # subject
    ("subject-country-3-letters", "version: 1\ndefaults:\n  subject: {C: USA}\n", 3,
     ("defaults.subject.C: 'USA' is not a two-letter country code",), False),
    ("subject-country-lowercase", "version: 1\nca:\n  subject:\n    C: us\n", 4,
     ("ca.subject.C: 'us' is not a two-letter country code in capitals",), False),
    ("subject-country-norway-bool", "version: 1\ndefaults:\n  subject:\n    O: Example\n    C: NO\n", 5,
     ("defaults.subject.C:", "got False", "quote it"), True),
    # path_length
    ("path-length-root-0", "version: 1\nca:\n  path_length: 0\nintermediates:\n  sub: {}\n", 5,
     ("intermediates.sub.issuer: ca's path_length 0 does not allow sub under it",), True),
    ("path-length-intermediate-0", "version: 1\nintermediates:\n  a: {path_length: 0}\n  b:\n    issuer: a\n",
     5,
     ("intermediates.b.issuer: a's path_length 0 does not allow b under it",), False),
    ("path-length-negative", "version: 1\nca:\n  path_length: -1\n", 3,
     ("ca.path_length: input should be greater than or equal to 0",), False),
    # the document itself
    ("document-scalar", "just some text\n",
     1, ("the spec must be a mapping with at least `version: 1`",), True),
    ("document-list", "- version: 1\n", 1, ("the spec must be a mapping",), False),
    ("document-empty", "", 1, ("the file is empty; it needs at least `version: 1`",), True),
    ("document-only-comments", "# nothing yet\n\n", 1, ("the file is empty",), False),
    ("yaml-tab-indent", "version: 1\nservers:\n\tapi: {}\n", 3, ("invalid YAML", "'\\t'"), True),
    ("yaml-bad-indent", "version: 1\nservers:\n  api:\n    cn: x\n   sans: [a]\n",
     5, ("invalid YAML",), False),
    ("yaml-unclosed-flow", "version: 1\nservers:\n  api: {cn: x\nclients: {}\n", 4,
     ("invalid YAML", "flow mapping started on line 3"), False),
    ("yaml-unclosed-quote", 'version: 1\nca:\n  cn: "Root\n', 4,
     ("invalid YAML", "quoted scalar started on line 3"), False),
    ("not-utf8", b"version: 1\nca:\n  cn: caf\xe9\n", 3, ("not UTF-8 text",), True),
    ("merge-of-a-list", "version: 1\nservers:\n  api:\n    <<: [1, 2]\n", 4,
     ("a merge key (<<) needs a mapping",), False),
    # entries that cannot get a SAN, or are not mappings
    ("client-name-not-dns", "version: 1\nclients:\n  bob_1: {}\n", 3,
     ("clients.bob_1: no sans, and the CN 'bob_1' is not a DNS name", "add `sans:`"), True),
    ("client-cn-not-dns", "version: 1\nclients:\n  bob:\n    cn: Bob Smith\n", 3,
     ("clients.bob: no sans, and the CN 'Bob Smith' is not a DNS name",), False),
    ("entry-is-a-list", "version: 1\nclients:\n  bob: [a]\n", 3,
     ("clients.bob: expected a mapping",), True),
    ("section-is-a-list", "version: 1\nservers: [api]\n", 2, ("servers: expected a mapping",), False),
    ("import-missing-key", "version: 1\nca:\n  import: {cert: corp.crt}\n",
     3, ("ca.import.key: required",), False),
    ("output-number", "version: 1\noutput: 5\n",
     2, ("output: input should be a valid string, got 5",), False),
]


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "pki.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_table_is_large_and_ids_unique() -> None:
    ids = [case[0] for case in CASES]
    assert len(ids) >= 45
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(("text", "line", "fragments"),
                         [pytest.param(t, ln, f, id=i) for i, t, ln, f, _ in CASES])
def test_load_spec_names_line_field_and_reason(tmp_path: Path, text: str | bytes, line: int,
                                               fragments: tuple[str, ...]) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    message = str(info.value)
    assert message.startswith(f"pki.yaml:{line}: "), message
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


@pytest.mark.parametrize(("text", "line", "fragments"),
                         [pytest.param(t, ln, f, id=i) for i, t, ln, f, cli in CASES if cli])
def test_cli_validate_prints_one_error_line(tmp_path: Path, text: str | bytes, line: int,
                                            fragments: tuple[str, ...]) -> None:
    path = _write(tmp_path, text)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: pki.yaml:{line}: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.stderr


def test_did_you_mean_only_offers_keys_valid_at_that_place(tmp_path: Path) -> None:
    # `sans` exists on servers, not on intermediates: suggesting it back would be wrong.
    path = _write(tmp_path, "version: 1\nintermediates:\n  sub:\n    sans: [x.example]\n")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert "did you mean" not in str(info.value)
    # `keysize` on the root: `key` is valid there, `keystore` is not.
    path = _write(tmp_path, "version: 1\nca:\n  keysize: 4096\n")
    with pytest.raises(SpecError, match=r"did you mean 'key'\?$"):
        load_spec(path)


def test_duplicate_nested_key_names_both_lines(tmp_path: Path) -> None:
    text = "version: 1\nservers:\n  api:\n    validity: 30d\n    cn: api.example.com\n    validity: 60d\n"
    path = _write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert str(info.value).startswith("pki.yaml:6: servers.api.validity: duplicate key (first set on line 4)")


def test_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such file") as info:
        load_spec(tmp_path / "absent.yaml")
    assert "mtlsgen init" in str(info.value)


@pytest.mark.parametrize(("text", "line", "fragment"), [
    pytest.param("version: 1\nservers:\n  api:\n    sans: ['exa mple.com']\n", 4, "servers.api.sans[0]",
                 id="san"),
    pytest.param(b"version: 1\n\xff\xfe\n", 2, "not UTF-8 text", id="bytes"),
    pytest.param("version: 1\nx: " + "[" * 1000 + "]" * 1000 + "\n", 2, "nesting deeper than", id="nesting"),
])
def test_real_process_exit_1_one_line_no_traceback(tmp_path: Path, text: str | bytes, line: int,
                                                   fragment: str) -> None:
    path = _write(tmp_path, text)
    proc = subprocess.run([sys.executable, "-m", "mtlsgen", "validate", str(path)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert re.fullmatch(rf"error: pki\.yaml:{line}: [^\n]+\n", proc.stderr), proc.stderr
    assert fragment in proc.stderr


def test_a_typo_is_reported_before_the_key_it_hides(write_spec: Callable[..., Path]) -> None:
    result = run_cli("validate", write_spec("versoin: 1\n"))
    assert result.stderr == "error: pki.yaml:1: versoin: unknown key; did you mean 'version'?\n"


def test_an_issuer_whose_own_issuer_is_undefined_is_a_spec_error(write_spec: Callable[..., Path]) -> None:
    spec = write_spec("""
        version: 1
        intermediates:
          a: {issuer: b}
          b: {issuer: nope}
        """)
    result = run_cli("validate", spec)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "intermediates.b.issuer: issuer 'nope' is not defined" in result.stderr


@pytest.mark.parametrize("san", ["a@b@c", "email:a@b@c", "ü@b.com", "http://münchen.de/", "http://[::1"])
def test_a_san_a_certificate_cannot_hold_is_a_spec_error(write_spec: Callable[..., Path], san: str) -> None:
    spec = write_spec(f'version: 1\nca: {{key: ecdsa-p256}}\nclients:\n  c: {{sans: ["{san}"]}}\n')
    for command in ("validate", "apply"):
        result = run_cli(command, spec)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.startswith("error: pki.yaml:4: clients.c.sans[0]: ") and result.stderr.count("\n") == 1
    assert not (spec.parent / "certs").exists()


@pytest.mark.parametrize(("san", "reason"), [
    ("fe80::1%eth0", "a zone id (%eth0) names a local interface and cannot be in a certificate"),
    ("999.1.1.1", "'999.1.1.1' is not a valid IP address, and a DNS name cannot end in a number"),
])
def test_validate_points_at_the_bad_san(write_spec: Callable[..., Path], san: str, reason: str) -> None:
    spec = write_spec(f"""
        version: 1
        servers:
          api:
            sans:
              - api.test
              - "{san}"
        """)
    line = one_error_line(run_cli("validate", spec))
    assert f"pki.yaml:{line_of(spec, san)}: servers.api.sans[1]: " in line
    assert reason in line


def tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("output", [".", "..", "/", "./certs/..", "'~/'", "{project}", "{parent}"])
def test_output_that_holds_the_spec_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               output: str) -> None:
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.setenv("HOME", str(tmp_path))
    written = output.format(project=project, parent=tmp_path)
    spec = project / "pki.yaml"
    spec.write_text(SMALL_SPEC.replace("version: 1\n", f"version: 1\noutput: {written}\n"), encoding="utf-8")
    before = tree(tmp_path)
    value = written.strip("'")
    with pytest.raises(SpecError, match=re.escape(
            f"pki.yaml:{line_of(spec, 'output:')}: output: {value!r} is the spec's own folder (or holds it); "
            "use a subfolder like certs")):
        load_spec(spec)
    line = one_error_line(run_cli("apply", "--prune", spec, cwd=project, env={"HOME": str(tmp_path)}))
    assert "is the spec's own folder (or holds it); use a subfolder like certs" in line
    assert tree(tmp_path) == before  # no .gitignore of `*` in the project, nothing pruned


def test_mixed_case_alias_is_a_spec_error(write_spec, tmp_path: Path) -> None:
    spec = write_spec("""
        version: 1
        ca: {cn: Alias CA, key: ecdsa-p256}
        servers:
          web:
            sans: [web.test]
            keystore:
              formats: [pkcs12]
              alias: My-Alias
        """)
    for command in ("validate", "plan", "apply"):
        result = run_cli(command, spec)
        assert result.returncode == 1, command
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert "pki.yaml:8:" in lines[0] and "alias" in lines[0] and "'my-alias'" in lines[0]
    assert not (tmp_path / "certs").exists()
