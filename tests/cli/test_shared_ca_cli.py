"""`ca.shared` as a user types it: init --shared-ca, apply in two clones, wrong and missing passphrases,
status, verify and plan --json naming the shared folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers.common import line_of, one_error_line, run_cli
from tests.helpers.engine import assert_verifies, snapshot

ENV = {"PKI_CA_PASSPHRASE": "cli-Team-pass-4r5t"}


def first_checkout(tmp_path: Path) -> Path:
    """`mtlsgen init --shared-ca` then apply: what the first person does."""
    folder = tmp_path / "first"
    folder.mkdir()
    result = run_cli("init", "--shared-ca", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "PKI_CA_PASSPHRASE" in result.stdout and "mtlsgen apply pki.yaml" in result.stdout
    assert "git add pki.yaml pki-ca" in result.stdout
    applied = run_cli("apply", cwd=folder, env=ENV)
    assert applied.returncode == 0, applied.stderr
    assert "ca (pki-ca/)" in applied.stdout
    return folder


def clone(origin: Path, to: Path) -> Path:
    to.mkdir()
    shutil.copy(origin / "pki.yaml", to / "pki.yaml")
    shutil.copytree(origin / "pki-ca", to / "pki-ca")
    for file in (to / "pki-ca").iterdir():
        file.chmod(0o644)  # git keeps no modes beyond the executable bit
    return to


def test_init_shared_ca_then_two_clones_trust_each_other(tmp_path: Path) -> None:
    first = first_checkout(tmp_path)
    key = first / "pki-ca" / "ca.key"
    count = subprocess.run(["grep", "-c", "BEGIN PRIVATE KEY", key], capture_output=True, text=True, check=False)
    assert count.stdout.strip() == "0"
    opened = subprocess.run(["openssl", "pkey", "-in", key, "-passin", "env:PKI_CA_PASSPHRASE", "-noout"],
                            env={**os.environ, **ENV}, capture_output=True, text=True, check=False)
    assert opened.returncode == 0, opened.stderr
    a, b = clone(first, tmp_path / "a"), clone(first, tmp_path / "b")
    for folder in (a, b):
        result = run_cli("apply", cwd=folder, env=ENV)
        assert result.returncode == 0, result.stderr
        again = run_cli("apply", cwd=folder, env=ENV)
        assert again.stdout.strip() == "Nothing to do: every file is up to date."
    assert_verifies(b / "pki-ca" / "ca.crt", a / "certs" / "my-server" / "tls.crt")
    assert_verifies(a / "pki-ca" / "ca.crt", b / "certs" / "my-client" / "tls.crt")
    status = run_cli("status", cwd=a, env=ENV)
    assert status.returncode == 0, status.stdout + status.stderr
    verify = run_cli("verify", cwd=b, env=ENV)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_wrong_or_missing_passphrase_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    first = first_checkout(tmp_path)
    (first / "certs" / "my-client" / "tls.crt").unlink()  # apply would have work to do
    spec = first / "pki.yaml"
    line = line_of(spec, "passphrase:")
    before = (snapshot(first / "pki-ca"), snapshot(first / "certs"))
    for command in ("plan", "apply", "status"):
        wrong = one_error_line(run_cli(command, cwd=first, env={"PKI_CA_PASSPHRASE": "wrong"}))
        assert wrong == f"error: pki.yaml:{line}: ca.shared.passphrase: does not open pki-ca/ca.key (wrong passphrase?)"
        unset = one_error_line(run_cli(command, cwd=first, env={"PKI_CA_PASSPHRASE": ""}))
        assert unset.startswith(f"error: pki.yaml:{line}: ca.shared.passphrase: environment variable "
                                "PKI_CA_PASSPHRASE is")
    assert (snapshot(first / "pki-ca"), snapshot(first / "certs")) == before


def test_a_colleague_without_the_passphrase_gets_no_new_root(tmp_path: Path) -> None:
    first = first_checkout(tmp_path)
    colleague = clone(first, tmp_path / "colleague")
    env = {k: v for k, v in os.environ.items() if k != "PKI_CA_PASSPHRASE"}
    result = subprocess.run([sys.executable, "-m", "mtlsgen", "apply"], cwd=colleague, env={**env, "NO_COLOR": "1"},
                            capture_output=True, text=True, check=False)
    assert one_error_line(result).endswith("ca.shared.passphrase: environment variable PKI_CA_PASSPHRASE is not set")
    assert not (colleague / "certs").exists()
    assert sorted(os.listdir(colleague / "pki-ca")) == ["ca.crt", "ca.key"]


def test_plan_json_names_the_shared_folder(tmp_path: Path) -> None:
    first = first_checkout(tmp_path)
    colleague = clone(first, tmp_path / "colleague")
    doc = json.loads(run_cli("plan", "--json", cwd=colleague, env=ENV).stdout)
    changes = {c["name"]: c for c in doc["changes"]}
    assert changes["ca"]["folder"] == "pki-ca"
    assert changes["ca"]["chmod"] == ["ca.key"]  # a clone's 0644 (git keeps no modes), restored to 0600
    assert changes["my-server"]["folder"] == "certs/my-server"
    assert changes["certs/"]["folder"] == "certs"
    text = run_cli("plan", cwd=colleague, env=ENV).stdout
    assert "ca (pki-ca/)  repack    ca.key: mode 0644 → 0600" in text


def test_the_default_starter_mentions_sharing_and_validates(tmp_path: Path) -> None:
    result = run_cli("init", "-", cwd=tmp_path)
    assert "# shared: {folder: pki-ca, passphrase: {env: PKI_CA_PASSPHRASE}}" in result.stdout
    shared = run_cli("init", "--shared-ca", "-", cwd=tmp_path)
    (tmp_path / "pki.yaml").write_text(shared.stdout, encoding="utf-8")
    assert run_cli("validate", cwd=tmp_path).returncode == 0
