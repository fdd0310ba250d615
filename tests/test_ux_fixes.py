"""User-reported rough edges, each reproduced with real files in tmp_path and checked as a user sees it.

SANs that cannot be stored or are mistyped addresses, an output folder of `~/…` or one holding the
project, `init -`, exit codes of command-line usage errors, the top-level help, plan warnings on
stderr, the status of a revoked entry that has no files, and verify's words for an Ed25519 CA.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO, line_of, one_error_line, run_cli
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import mtlsgen
from mtlsgen import load_spec
from mtlsgen.cli import main
from mtlsgen.cli.starter import STARTER_SPEC
from mtlsgen.errors import SpecError
from mtlsgen.spec.names import San, parse_san

SMALL = """
version: 1
ca: {cn: UX CA, key: ecdsa-p256, validity: 5y}
defaults: {key: ecdsa-p256, validity: 30d}
servers:
  api: {sans: [api.test]}
clients:
  bob: {}
"""


def tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# --- 1, 2: SANs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["fe80::1%eth0", "IP:fe80::1%eth0", "ip:fe80::1%2"])
def test_ipv6_zone_id_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"zone id \(%\w+\) .*cannot be in a certificate; write fe80::1$"):
        parse_san(text)


@pytest.mark.parametrize("text", ["999.1.1.1", "256.256.256.256", "1.2.3", "10.0.0.300", "8443"])
def test_mistyped_address_is_not_taken_for_a_dns_name(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(
            f"{text!r} is not a valid IP address, and a DNS name cannot end in a number")):
        parse_san(text)


def test_forced_dns_prefix_still_takes_a_numeric_name() -> None:
    assert parse_san("DNS:1.2.3.4") == San("DNS", "1.2.3.4")
    assert parse_san("DNS:1.2.3") == San("DNS", "1.2.3")
    assert parse_san("a1.example.com2") == San("DNS", "a1.example.com2")


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


# --- 3: output folder -----------------------------------------------------------------------------


def test_output_under_home_is_expanded(tmp_path: Path) -> None:
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir()
    home.mkdir()
    spec = project / "pki.yaml"
    spec.write_text(SMALL.replace("version: 1\n", "version: 1\noutput: ~/certs\n"), encoding="utf-8")
    result = run_cli("apply", spec, cwd=project, env={"HOME": str(home)})
    assert result.returncode == 0, result.stderr
    assert (home / "certs" / "api" / "tls.crt").is_file()
    assert os.listdir(project) == ["pki.yaml"]  # no literal `~` folder next to the spec


@pytest.mark.parametrize("output", [".", "..", "/", "./certs/..", "'~/'", "{project}", "{parent}"])
def test_output_that_holds_the_spec_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               output: str) -> None:
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.setenv("HOME", str(tmp_path))
    written = output.format(project=project, parent=tmp_path)
    spec = project / "pki.yaml"
    spec.write_text(SMALL.replace("version: 1\n", f"version: 1\noutput: {written}\n"), encoding="utf-8")
    before = tree(tmp_path)
    value = written.strip("'")
    with pytest.raises(SpecError, match=re.escape(
            f"pki.yaml:{line_of(spec, 'output:')}: output: {value!r} is the spec's own folder (or holds it); "
            "use a subfolder like certs")):
        load_spec(spec)
    line = one_error_line(run_cli("apply", "--prune", spec, cwd=project, env={"HOME": str(tmp_path)}))
    assert "is the spec's own folder (or holds it); use a subfolder like certs" in line
    assert tree(tmp_path) == before  # no .gitignore of `*` in the project, nothing pruned


def test_output_in_a_subfolder_or_beside_is_fine(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    spec = project / "pki.yaml"
    for output, expected in (("build/pki", project / "build" / "pki"), ("../pki-out", tmp_path / "pki-out")):
        spec.write_text(f"version: 1\noutput: {output}\n", encoding="utf-8")
        assert load_spec(spec).output.resolve() == expected


# --- 4: init - ------------------------------------------------------------------------------------


def test_init_dash_prints_the_starter_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["init", "-"])
    assert result.exit_code == 0, result.output
    assert result.stdout == STARTER_SPEC
    assert os.listdir(tmp_path) == []
    proc = run_cli("init", "-", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stderr == ""
    assert os.listdir(tmp_path) == []
    (tmp_path / "mine.yaml").write_text(proc.stdout, encoding="utf-8")  # `mtlsgen init - > mine.yaml`
    assert run_cli("validate", "mine.yaml", cwd=tmp_path).returncode == 0


# --- 5: usage errors exit 1 -----------------------------------------------------------------------


USAGE_ERRORS = [
    (["--bogus"], "No such option"),
    (["bogus"], "No such command"),
    (["plan", "--bogus"], "No such option"),
    (["status", "--fail-within"], "requires an argument"),
    (["validate", "{dir}"], "is a directory"),
]


@pytest.mark.parametrize(("args", "message"), USAGE_ERRORS)
def test_usage_error_exits_1_with_clicks_message(tmp_path: Path, args: list[str], message: str) -> None:
    argv = [a.format(dir=tmp_path) for a in args]
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1  # one line, like every other error
    assert result.stdout == ""
    proc = run_cli(*argv, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith("error: ") and message in proc.stderr and proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr


def test_help_still_exits_0_and_detailed_exitcode_still_2(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(SMALL)
    assert CliRunner().invoke(main, ["--help"]).exit_code == 0
    assert CliRunner().invoke(main, ["plan", "--help"]).exit_code == 0
    assert run_cli("--help").returncode == 0
    assert CliRunner().invoke(main, ["plan", "--detailed-exitcode", str(spec)]).exit_code == 2
    assert run_cli("plan", "--detailed-exitcode", spec).returncode == 2
    assert run_cli("apply", spec).returncode == 0
    assert run_cli("plan", "--detailed-exitcode", spec).returncode == 0


# --- 6: top-level help ----------------------------------------------------------------------------


@pytest.mark.parametrize("columns", ["80", "100"])
def test_top_level_help_lists_every_command_in_full(columns: str) -> None:
    proc = run_cli("--help", env={"COLUMNS": columns})
    assert proc.returncode == 0
    commands = proc.stdout.split("Commands:\n", 1)[1].splitlines()
    assert len(commands) == len(main.commands)
    for row, (name, command) in zip(commands, sorted(main.commands.items()), strict=True):
        short = command.get_short_help_str(limit=1000)
        assert not short.endswith("...")
        assert row.split() == [name, *short.split()], row


# --- 7: plan warnings on stderr -------------------------------------------------------------------


LITERAL = """
version: 1
ca: {cn: Literal CA, key: ecdsa-p256}
servers:
  web:
    sans: [web.test]
    keystore: {formats: [pkcs12], password: "literal-secret-5521"}
"""


def test_plan_warnings_go_to_stderr(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(LITERAL)
    where = f"pki.yaml:{line_of(spec, 'literal-secret-5521')}"
    plan = run_cli("plan", spec)
    assert plan.returncode == 0, plan.stderr
    assert "warning" not in plan.stdout
    assert plan.stdout.splitlines()[-1] == "Plan: 2 to create. 0 unchanged."
    [warning] = plan.stderr.splitlines()
    assert warning.startswith(f"warning: {where}") and "literal password" in warning

    as_json = run_cli("plan", "--json", spec)
    document = json.loads(as_json.stdout)  # stdout is exactly one JSON document
    assert [w for w in document["warnings"] if where in w]
    assert as_json.stderr == ""

    applied = run_cli("apply", spec)
    assert applied.returncode == 0, applied.stderr
    assert "warning" not in applied.stdout
    assert applied.stderr.splitlines() == [warning]
    for result in (plan, as_json, applied):
        assert "literal-secret-5521" not in result.stdout + result.stderr


# --- 8: a revoked entry without files -------------------------------------------------------------


def test_revoked_entry_never_issued_does_not_claim_a_crl(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(SMALL.replace("  bob: {}", "  bob: {revoked: true}"))
    assert run_cli("apply", spec).returncode == 0
    assert not (spec.parent / "certs" / "bob").exists()
    result = run_cli("status", spec, env={"COLUMNS": "240"})
    assert result.returncode == 0, result.stdout + result.stderr
    [row] = [line for line in result.stdout.splitlines() if line.startswith("│ bob ")]
    assert "revoked: revoked in the spec; no files" in row and "CRL" not in row
    document = json.loads(run_cli("status", "--json", spec).stdout)
    [bob] = [c for c in document["certificates"] if c["name"] == "bob"]
    assert (bob["state"], bob["detail"]) == ("revoked", "revoked in the spec; no files")


def test_hierarchy_example_says_what_happens_to_old_laptop(tmp_path: Path) -> None:
    shutil.copy(REPO / "examples" / "hierarchy.yaml", tmp_path / "hierarchy.yaml")
    spec = tmp_path / "hierarchy.yaml"
    comment = " ".join(line.split("#", 1)[1].strip() for line in spec.read_text().splitlines()
                       [line_of(spec, "revoked: true") - 1:][:2])
    assert comment == ("if it was ever issued, its serial goes into certs-hierarchy/services-ca/ca.crl "
                       "and its files are removed")
    assert run_cli("apply", spec).returncode == 0
    crl = x509.load_pem_x509_crl((tmp_path / "certs-hierarchy" / "services-ca" / "ca.crl").read_bytes())
    assert list(crl) == []  # never issued, so nothing to revoke: the comment's "if" is needed
    assert not (tmp_path / "certs-hierarchy" / "old-laptop").exists()
    [laptop] = [c for c in mtlsgen.status(load_spec(spec)).certificates if c.name == "old-laptop"]
    assert laptop.state == "revoked" and "CRL" not in laptop.detail


# --- 9: verify's words for what cryptography's verifier refuses -----------------------------------


def test_verify_explains_an_ed25519_ca(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(SMALL.replace("key: ecdsa-p256, validity: 5y", "key: ed25519, validity: 5y"))
    assert run_cli("apply", spec).returncode == 0
    result = run_cli("verify", spec, env={"COLUMNS": "240"})
    line = one_error_line(result)
    assert line.endswith("cryptography's X.509 verifier does not accept Ed25519 CA keys (use ecdsa-p256 "
                         "or rsa for CAs); TLS peers may still accept it")
    for junk in ("AlgorithmIdentifier", "PhantomData", "{"):
        assert junk not in result.stdout + result.stderr
    checks = mtlsgen.verify(load_spec(spec)).checks
    chains = [c for c in checks if c.kind == "chain"]
    assert chains and all(not c.ok and "does not accept Ed25519 CA keys" in c.detail for c in chains)
    handshakes = [c for c in checks if c.kind == "handshake"]
    assert handshakes and all(c.ok for c in handshakes)  # "TLS peers may still accept it": OpenSSL does


def _p224_ca(folder: Path) -> tuple[Path, Path]:
    """A root CA on curve P-224, which cryptography's verifier does not allow."""
    key = ec.generate_private_key(ec.SECP224R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "P-224 Root")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                                         key_cert_sign=True, crl_sign=True, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "p224.crt", folder / "p224.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_other_verifier_errors_read_as_one_line(write_spec: Callable[..., Path]) -> None:
    spec = write_spec("""
        version: 1
        ca: {import: {cert: p224.crt, key: p224.key}}
        servers:
          api: {sans: [api.test], key: ecdsa-p256, validity: 30d}
        """)
    _p224_ca(spec.parent)
    assert run_cli("apply", spec).returncode == 0
    [chain] = [c for c in mtlsgen.verify(load_spec(spec)).checks if c.kind == "chain"]
    assert not chain.ok
    assert chain.detail.startswith("as DNS:api.test: ")
    assert chain.detail.endswith("Forbidden public key algorithm: Ec (curve secp224r1)")
    for junk in ("AlgorithmIdentifier", "PhantomData", "DefinedByMarker", "{", "}", "\n", "::"):
        assert junk not in chain.detail, chain.detail
    line = one_error_line(run_cli("verify", spec))
    assert line.endswith(chain.detail)


def test_python_m_and_the_script_entry_agree_on_usage_exit_code(tmp_path: Path) -> None:
    # The console script calls main() just as `python -m mtlsgen` does.
    code = "import sys; from mtlsgen.cli import main; sys.argv = ['mtlsgen', 'plan', '--bogus']; main()"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          check=False, cwd=tmp_path)
    assert proc.returncode == 1 and "No such option" in proc.stderr
