"""cert-manager's PKCS#12 profile names: Modern2023 and LegacyDES write mtlsgen's modern and legacy stores."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.helpers.common import line_of, one_error_line, run_cli

SPEC = """\
version: 1
ca: {key: ecdsa-p256}
servers:
  api:
    key: ecdsa-p256
    keystore: {profile: Modern2023, password: pw-for-tests}
    truststore: {profile: LegacyDES, password: pw-for-tests}
"""


def p12_info(path: Path) -> str:
    return subprocess.run(["openssl", "pkcs12", "-info", "-noout", "-in", str(path), "-passin", "pass:pw-for-tests"],
                          capture_output=True, text=True, check=True).stderr


def test_aliases_write_the_algorithms_cert_manager_names(write_spec: Callable[[str], Path]) -> None:
    spec = write_spec(SPEC)
    assert run_cli("apply", spec).returncode == 0
    modern = p12_info(spec.parent / "certs/api/keystore.p12")
    assert "PBES2, PBKDF2, AES-256-CBC, Iteration 10000, PRF hmacWithSHA256" in modern
    assert "MAC: sha256, Iteration 2048" in modern
    legacy = p12_info(spec.parent / "certs/api/truststore.p12")
    assert "pbeWithSHA1And3-KeyTripleDES-CBC" in legacy and "MAC: sha1" in legacy
    # the alias is the same profile: a plain `modern`/`legacy` spec has nothing to rebuild
    spec.write_text(SPEC.replace("Modern2023", "modern").replace("LegacyDES", "legacy"))
    assert "Nothing to do" in run_cli("apply", spec).stdout


def test_legacy_rc2_is_refused_on_its_line(write_spec: Callable[[str], Path]) -> None:
    spec = write_spec(SPEC.replace("LegacyDES", "LegacyRC2"))
    line = one_error_line(run_cli("validate", spec))
    assert line.startswith(f"error: pki.yaml:{line_of(spec, 'LegacyRC2')}: servers.api.truststore.profile: ")
    assert "does not write RC2-40 stores" in line
