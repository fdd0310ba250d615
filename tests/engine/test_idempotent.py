"""A second apply is a no-op (same bytes, same mtimes), and plan / apply --dry-run write nothing at all."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import mtlsgen
from tests.helpers.common import run_cli
from tests.helpers.engine import BASE_SPEC, changed, snapshot, spec_at, utcnow

# Every kind of file apply writes: stores (both formats, generated and env passwords), an
# encrypted key with a generated key_password, certificates, CA files, .gitignore.
RICH_SPEC = """
version: 1
ca: {key: ecdsa-p256}
defaults: {key: ecdsa-p256}
servers:
  api:
    sans: [api.example.com, 127.0.0.1]
    keystore: {formats: [pkcs12, jks]}
    truststore: {formats: [pkcs12, jks], password: {env: ENGINE_TEST_TRUST_PASS}}
clients:
  alice:
    keystore: {formats: [pkcs12]}
    key_password: {generate: true}
  bob: {}
"""
ENV = {"ENGINE_TEST_TRUST_PASS": "changeit-trust"}


def test_second_apply_changes_no_byte_and_no_mtime(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ENGINE_TEST_TRUST_PASS", ENV["ENGINE_TEST_TRUST_PASS"])
    spec = spec_at(tmp_path, RICH_SPEC)
    first_plan, _ = mtlsgen.apply(spec)
    assert {c.name for c in first_plan.pending} == {"certs/", "ca", "api", "alice", "bob"}
    out = tmp_path / "certs"
    before = snapshot(out)
    # What a user expects to find after the first apply.
    for rel in (".gitignore", "ca/ca.crt", "ca/ca.key", "api/tls.crt", "api/tls.key", "api/ca.crt",
                "api/keystore.p12", "api/keystore.jks", "api/keystore.password", "api/truststore.p12",
                "api/truststore.jks", "alice/tls.key", "alice/keystore.p12", "alice/keystore.password",
                "alice/tls.key.password", "bob/tls.crt"):
        assert rel in before, rel
    assert not (out / "api" / "truststore.password").exists()  # env password: nothing saved

    second_plan, second = mtlsgen.apply(spec)
    assert second_plan.pending == ()
    assert second.written == () and second.removed == ()
    after = snapshot(out)
    assert changed(before, after, files_only=False) == set()  # folders keep their mtimes too
    # And a third run through the CLI, as a user would type it.
    result = run_cli("apply", tmp_path / "pki.yaml", env=ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Nothing to do: every file is up to date.\n"
    assert changed(before, snapshot(out), files_only=False) == set()
    plan_out = run_cli("plan", tmp_path / "pki.yaml", env=ENV)
    assert plan_out.returncode == 0
    assert plan_out.stdout == "No changes: 4 up to date.\n"


def test_plan_and_dry_run_do_not_create_the_output_folder(tmp_path: Path) -> None:
    spec = spec_at(tmp_path)
    the_plan = mtlsgen.plan(spec)
    assert {c.name: c.action.value for c in the_plan.pending} == {
        "certs/": "create", "ca": "create", "api": "create", "alice": "create", "bob": "create"}
    assert not (tmp_path / "certs").exists()

    for args in (["plan"], ["apply", "--dry-run", "--json"], ["plan", "--detailed-exitcode"]):
        result = run_cli(*args, cwd=tmp_path)
        assert result.returncode == (2 if "--detailed-exitcode" in args else 0), (args, result.stderr)
        assert "create" in result.stdout
        assert not (tmp_path / "certs").exists(), args
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pki.yaml"]


def test_plan_and_dry_run_with_pending_changes_touch_no_file(tmp_path: Path) -> None:
    spec = spec_at(tmp_path)
    mtlsgen.apply(spec)
    out = tmp_path / "certs"
    (out / "bob" / "tls.key").unlink()
    (out / "alice" / "tls.crt").write_bytes(b"")
    spec_at(tmp_path, BASE_SPEC.replace("api.example.com, localhost", "api.example.com, new.example.com"))
    before = snapshot(out)
    for args in (["plan", "--prune"], ["apply", "--dry-run", "--replace", "ca", "--prune"]):
        result = run_cli(*args, cwd=tmp_path)
        assert result.returncode == 0, (args, result.stderr)
        assert "Plan:" in result.stdout
        assert changed(before, snapshot(out), files_only=False) == set(), args
    # The library's plan too, at a time when everything would be renewed.
    later = mtlsgen.plan(spec, now=utcnow() + timedelta(days=20 * 365))
    assert later.pending
    assert changed(before, snapshot(out), files_only=False) == set()
