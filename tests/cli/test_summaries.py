"""What the plan and apply say agrees with what they list and do: counts, revoked entries, orphans,
a changed password source read as a decision, and `apply --json` printing its document whatever happens."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.common import run_cli
from tests.helpers.engine import write

SPEC = """
version: 1
ca: {key: ecdsa-p256}
defaults: {key: ecdsa-p256}
servers:
  api:
    sans: [api.example.com]
    keystore: {formats: [pkcs12]}
clients:
  alice: {}
  bob: {}
"""


def _setup(tmp_path: Path, text: str = SPEC) -> Path:
    return write(tmp_path / "pki.yaml", text)


def test_a_never_issued_revoked_entry_counts_as_revoked_not_unchanged(tmp_path: Path) -> None:
    spec = _setup(tmp_path, SPEC.replace("  bob: {}", "  bob: {revoked: true}"))
    assert run_cli("apply", spec).returncode == 0
    result = run_cli("plan", spec)
    assert result.stdout == "No changes: 3 up to date. 1 revoked.\n"  # ca, api, alice; bob


def test_apply_with_an_orphan_says_it_kept_it(tmp_path: Path) -> None:
    spec = _setup(tmp_path)
    run_cli("apply", spec)
    _setup(tmp_path, SPEC.replace("  bob: {}\n", ""))
    result = run_cli("apply", spec)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == ("Nothing to do: every file is up to date. 1 orphaned folder kept: "
                                              "apply --prune revokes and deletes it.")


def test_a_changed_password_source_reads_as_a_decision_not_as_damage(tmp_path: Path) -> None:
    spec = _setup(tmp_path)
    run_cli("apply", spec)
    _setup(tmp_path, SPEC.replace("keystore: {formats: [pkcs12]}",
                                  "keystore: {formats: [pkcs12], password: {env: API_KS_PASSWORD}}"))
    env = {"API_KS_PASSWORD": "from-the-vault-2291"}
    result = run_cli("plan", "--json", spec, env=env)
    change = next(c for c in json.loads(result.stdout)["changes"] if c["name"] == "api")
    assert [(r["kind"], r["file"]) for r in change["reasons"]] == [
        ("store_password_source", "keystore.p12"), ("dropped", "keystore.password")]
    assert "password source changed to env" in change["reasons"][0]["text"]
    assert "damaged" not in result.stdout and "from-the-vault-2291" not in result.stdout
    assert run_cli("apply", spec, env=env).returncode == 0
    assert run_cli("plan", spec, env=env).stdout.startswith("No changes")


def test_apply_json_prints_its_document_when_the_plan_fails(tmp_path: Path) -> None:
    spec = _setup(tmp_path)
    result = run_cli("apply", "--json", "--replace", "nosuch", spec)
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document["result"] is None and document["plan"] is None
    assert "nosuch" in document["error"] and result.stderr.startswith("error: ")


def test_apply_json_prints_the_blocked_plan(tmp_path: Path) -> None:
    spec = _setup(tmp_path)
    run_cli("apply", spec)
    (tmp_path / "certs" / "ca" / "ca.key").unlink()
    result = run_cli("apply", "--json", spec)
    assert result.returncode == 1
    document = json.loads(result.stdout)
    ca = next(c for c in document["plan"]["changes"] if c["name"] == "ca")
    assert ca["action"] == "blocked" and document["result"] is None and "blocked" in document["error"]
