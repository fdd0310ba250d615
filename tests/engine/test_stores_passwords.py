"""Password sources for stores and keys: env, file, generate, literal, and key_password.

What a user sees: an unset variable fails `plan` with one line naming it; a password file is read
relative to the spec with its trailing newline stripped; a generated password is made once and kept;
a literal works but draws a warning; and no password value ever reaches any output.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.common import line_of, one_error_line, run_cli

FAST_JVM = ("-J-XX:TieredStopAtLevel=1", "-J-XX:+UseSerialGC")


def keytool_list(store: Path, password: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["keytool", *FAST_JVM, "-list", "-keystore", str(store), "-storepass", password],
                          capture_output=True, text=True, timeout=60, check=False)


def assert_opens(store: Path, password: str, kind: str = "PrivateKeyEntry") -> None:
    result = keytool_list(store, password)
    assert result.returncode == 0, f"{store.name}: {result.stdout}{result.stderr}"
    assert "contains 1 entry" in result.stdout and kind in result.stdout, result.stdout


# -- {env: NAME} -------------------------------------------------------------------------------

def test_unset_env_password_fails_plan_naming_variable_and_line(write_spec, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MTLSGEN_TEST_UNSET_PASS", raising=False)
    spec = write_spec("""
        version: 1
        ca: {cn: Env CA, key: ecdsa-p256}
        servers:
          web:
            sans: [web.test]
            keystore:
              formats: [pkcs12]
              password: {env: MTLSGEN_TEST_UNSET_PASS}
        """)
    for args in (("plan", "--json"), ("apply",)):
        result = run_cli(*args, spec)
        line = one_error_line(result)
        if "--json" in args:  # the same error, as a document (docs/json.md)
            assert "MTLSGEN_TEST_UNSET_PASS" in json.loads(result.stdout)["error"]["message"]
        else:
            assert result.stdout == ""
        assert "MTLSGEN_TEST_UNSET_PASS" in line
        assert f"pki.yaml:{line_of(spec, 'MTLSGEN_TEST_UNSET_PASS')}:" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pki.yaml"]  # nothing written


# -- {file: path} ------------------------------------------------------------------------------

@pytest.mark.interop  # starts keytool
def test_file_password_is_relative_to_the_spec_and_newline_stripped(tmp_path: Path) -> None:
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    (project / "secrets").mkdir(parents=True)
    elsewhere.mkdir()
    (project / "secrets" / "store.pass").write_text("from-a-file-6641\n", encoding="utf-8")
    (project / "pki.yaml").write_text("""\
version: 1
ca: {cn: File CA, key: ecdsa-p256}
servers:
  web:
    sans: [web.test]
    keystore: {formats: [pkcs12, jks], password: {file: secrets/store.pass}}
    truststore: {formats: [pkcs12], password: {file: secrets/store.pass}}
""", encoding="utf-8")
    result = run_cli("apply", "../project/pki.yaml", cwd=elsewhere)  # the file is found from the spec
    assert result.returncode == 0, result.stderr
    web = project / "certs" / "web"
    assert_opens(web / "keystore.p12", "from-a-file-6641")
    assert_opens(web / "keystore.jks", "from-a-file-6641")
    assert_opens(web / "truststore.p12", "from-a-file-6641", "trustedCertEntry")
    assert not (web / "keystore.password").exists()  # only generated passwords are saved
    assert list(elsewhere.iterdir()) == []
    assert "from-a-file-6641" not in result.stdout + result.stderr


def test_missing_password_file_is_one_error_line(write_spec, tmp_path: Path) -> None:
    spec = write_spec("""
        version: 1
        ca: {cn: File CA, key: ecdsa-p256}
        servers:
          web:
            sans: [web.test]
            keystore: {formats: [pkcs12], password: {file: nowhere/store.pass}}
        """)
    line = one_error_line(run_cli("plan", spec))
    assert f"pki.yaml:{line_of(spec, 'nowhere/store.pass')}:" in line and "store.pass" in line
    assert not (tmp_path / "certs").exists()


# -- literal -----------------------------------------------------------------------------------

@pytest.mark.interop  # starts keytool
def test_literal_password_works_and_plan_warns(write_spec) -> None:
    spec = write_spec("""
        version: 1
        ca: {cn: Literal CA, key: ecdsa-p256}
        servers:
          web:
            sans: [web.test]
            keystore: {formats: [pkcs12, jks], password: "literal-secret-3390"}
        """)
    where = f"pki.yaml:{line_of(spec, 'literal-secret-3390')}"
    plan = run_cli("plan", spec)
    assert plan.returncode == 0, plan.stderr
    warnings = [line for line in (plan.stdout + plan.stderr).splitlines() if "warning" in line]
    assert len(warnings) == 1 and where in warnings[0] and "literal password" in warnings[0]
    plan_json = run_cli("plan", "--json", spec)
    assert any(where in w for w in json.loads(plan_json.stdout)["warnings"])
    applied = run_cli("apply", spec)
    assert applied.returncode == 0, applied.stderr
    web = spec.parent / "certs" / "web"
    assert_opens(web / "keystore.p12", "literal-secret-3390")
    assert_opens(web / "keystore.jks", "literal-secret-3390")
    for result in (plan, plan_json, applied):
        assert "literal-secret-3390" not in result.stdout + result.stderr


def test_numeric_literal_password_error_does_not_echo_it(write_spec) -> None:
    # The seed's password, unquoted: YAML reads it as a number, which is not a password.
    spec = write_spec("""
        version: 1
        ca: {cn: Literal CA, key: ecdsa-p256}
        servers:
          web:
            sans: [web.test]
            keystore: {formats: [pkcs12], password: 12345678}
        """)
    line = one_error_line(run_cli("validate", spec))
    assert "pki.yaml:6:" in line and "password" in line and "quote" in line
    assert "12345678" not in line


def test_a_generate_value_is_never_echoed(write_spec: Callable[..., Path]) -> None:
    spec = write_spec('version: 1\nclients:\n  bob: {keystore: {password: {generate: "S3cr3t-Pw-881"}}}\n')
    result = run_cli("validate", spec)
    assert result.returncode == 1
    assert "generate: can only be true" in result.stderr
    assert "S3cr3t-Pw-881" not in result.stderr + result.stdout


def test_non_ascii_pkcs12_password_is_refused_at_plan(write_spec, tmp_path: Path) -> None:
    # Java 17 cannot open an encrypted PKCS#12 file whose password is not printable ASCII
    # ("getSecretKey failed: Password is not ASCII"), whichever profile: say so before writing it.
    spec = write_spec("""
        version: 1
        ca: {cn: Ascii CA, key: ecdsa-p256}
        servers:
          web:
            sans: [web.test]
            keystore: {formats: [pkcs12], password: {env: STORE_PASS}}
        """)
    for args in (("plan",), ("apply",)):
        line = one_error_line(run_cli(*args, spec, env={"STORE_PASS": "pässwörd-€-4410"}))
        assert f"pki.yaml:{line_of(spec, 'STORE_PASS')}:" in line and "ASCII" in line
        assert "pässwörd" not in line
    assert not (tmp_path / "certs").exists()


# -- {generate: true} --------------------------------------------------------------------------

@pytest.mark.interop  # starts keytool
def test_generated_password_is_kept_across_applies(write_spec) -> None:
    spec = write_spec("""
        version: 1
        ca: {cn: Generate CA, key: ecdsa-p256}
        servers:
          web:
            sans: [web.test]
            keystore: {formats: [pkcs12, jks]}           # no password: generated
            truststore: {formats: [jks], password: {generate: true}}
        """)
    assert run_cli("apply", spec).returncode == 0
    web = spec.parent / "certs" / "web"
    files = {name: web / name for name in ("keystore.password", "truststore.password", "keystore.p12",
                                           "keystore.jks", "truststore.jks")}
    before = {name: (path.read_bytes(), path.stat().st_mtime_ns) for name, path in files.items()}
    for name in ("keystore.password", "truststore.password"):
        assert stat.S_IMODE(files[name].stat().st_mode) == 0o600
        assert len(before[name][0].decode().strip()) >= 20

    again = run_cli("apply", spec)
    assert again.returncode == 0, again.stderr
    assert "Nothing to do" in again.stdout
    assert {name: (path.read_bytes(), path.stat().st_mtime_ns) for name, path in files.items()} == before
    password = files["keystore.password"].read_text().strip()
    assert_opens(web / "keystore.p12", password)
    assert_opens(web / "keystore.jks", password)
    assert_opens(web / "truststore.jks", files["truststore.password"].read_text().strip(), "trustedCertEntry")
    assert password not in again.stdout + again.stderr


# -- key_password ------------------------------------------------------------------------------

def openssl_pkey(key: Path, *passin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", "pkey", "-in", str(key), "-noout", *passin], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=30, check=False,
                          env={**os.environ, "KP": "key-secret-8812"})


@pytest.mark.interop  # starts keytool
def test_key_password_encrypts_tls_key(write_spec) -> None:
    spec = write_spec("""
        version: 1
        ca: {cn: Key CA, key: ecdsa-p256}
        clients:
          locked:
            key_password: {env: KP}
            keystore: {formats: [pkcs12], password: "store-pass-3321"}
        """)
    result = run_cli("apply", spec, env={"KP": "key-secret-8812"})
    assert result.returncode == 0, result.stderr
    key = spec.parent / "certs" / "locked" / "tls.key"
    assert key.read_text().startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    assert openssl_pkey(key, "-passin", "env:KP").returncode == 0
    assert openssl_pkey(key, "-passin", "pass:wrong-password").returncode != 0
    assert openssl_pkey(key, "-passin", "pass:").returncode != 0
    # The key store protects the key with the store password, as Spring Boot's key-password default expects.
    assert_opens(key.parent / "keystore.p12", "store-pass-3321")
    again = run_cli("plan", spec, env={"KP": "key-secret-8812"})
    assert "No changes" in again.stdout, again.stdout  # the encrypted key is read back with KP
    assert "key-secret-8812" not in result.stdout + result.stderr + again.stdout + again.stderr


# -- no output ever shows a password -----------------------------------------------------------

def test_password_values_never_appear_in_any_output(tmp_path: Path) -> None:
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    (secrets_dir / "trust.pass").write_text("file-secret-4471\n", encoding="utf-8")
    spec = tmp_path / "pki.yaml"
    spec.write_text("""\
version: 1
ca: {cn: Secret CA, key: ecdsa-p256}
servers:
  web:
    sans: [web.test]
    key_password: {env: KEY_PASS}
    keystore: {formats: [pkcs12, jks], password: {env: STORE_PASS}}
    truststore: {formats: [pkcs12], password: {file: secrets/trust.pass}}
clients:
  app:
    keystore: {formats: [pkcs12], password: "literal-secret-9013"}
  gen:
    keystore: {formats: [pkcs12]}
""", encoding="utf-8")
    env1 = {"STORE_PASS": "env-secret-1187", "KEY_PASS": "key-secret-2093"}
    env2 = {"STORE_PASS": "env-secret-CHANGED-5521", "KEY_PASS": "key-secret-2093"}
    outputs: list[subprocess.CompletedProcess[str]] = []

    def run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        result = run_cli(*args, env=env)
        outputs.append(result)
        return result

    run("plan", spec, env=env1)
    assert run("apply", spec, env=env1).returncode == 0
    run("apply", "--json", spec, env=env1)                    # no-op
    run("plan", spec, env=env2)                               # store password changed: repack
    run("plan", "--json", spec, env=env2)
    assert run("apply", "--json", spec, env=env2).returncode == 0
    assert run("verify", spec, env=env2).returncode == 0       # opens every store, shakes hands
    run("status", "--json", spec, env=env1)                   # the old password: stores do not open
    run("plan", spec, env={**env2, "KEY_PASS": "key-secret-WRONG-7730"})   # tls.key does not open
    run("plan", spec, env={"KEY_PASS": "key-secret-2093"})   # STORE_PASS unset: an error
    (secrets_dir / "trust.pass").write_text("\n", encoding="utf-8")
    run("plan", spec, env=env2)                               # empty password file: an error
    assert [r.returncode for r in outputs[-2:]] == [1, 1]

    generated = (tmp_path / "certs" / "gen" / "keystore.password").read_text().strip()
    everything = "\n".join(r.stdout + r.stderr for r in outputs)
    assert "repack" in everything  # the outputs checked do talk about the stores
    for secret in ("file-secret-4471", "literal-secret-9013", "env-secret-1187", "env-secret-CHANGED-5521",
                   "key-secret-2093", "key-secret-WRONG-7730", generated):
        assert secret not in everything, secret
