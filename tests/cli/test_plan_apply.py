"""plan / apply as a user runs them: the exact text, --json, exit codes, --replace, the lock, orphans."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import mtlsgen
from mtlsgen import load_spec
from mtlsgen.engine.fsio import ensure_output
from mtlsgen.engine.lock import output_lock
from tests.helpers.common import line_of, run_cli
from tests.helpers.engine import assert_verifies, changed, snapshot, write

SPEC = """
version: 1
ca: {key: ecdsa-p256}
defaults: {key: ecdsa-p256}
servers:
  api-server:
    sans: [api-server.example.com, localhost, 127.0.0.1]
    keystore: {formats: [pkcs12]}
    truststore: {formats: [pkcs12]}
clients:
  alice: {sans: [alice.example.com]}
  bob: {}
  dave: {}
"""

FRESH_PLAN = (  # every file apply writes, the folder's .gitignore, store cache and generated passwords included
    "  + certs/      create    .gitignore .mtlsgen-stores.json\n"
    "  + ca          create    ca.key ca.crt\n"
    "  + api-server  create    tls.crt tls.key ca.crt keystore.p12 truststore.p12 keystore.password "
    "truststore.password\n"
    "  + alice       create    tls.crt tls.key ca.crt\n"
    "  + bob         create    tls.crt tls.key ca.crt\n"
    "  + dave        create    tls.crt tls.key ca.crt\n"
    "Plan: 6 to create. 0 unchanged.\n"
)
ANSI = "\x1b["


def _setup(tmp_path: Path, text: str = SPEC) -> Path:
    return write(tmp_path / "pki.yaml", text)


def _apply(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = run_cli("apply", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return result


def _one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_plan_text_of_a_fresh_spec(tmp_path: Path) -> None:
    _setup(tmp_path)
    result = run_cli("plan", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == FRESH_PLAN
    assert result.stderr == ""
    dry = run_cli("apply", "--dry-run", cwd=tmp_path)
    assert dry.stdout == FRESH_PLAN and dry.returncode == 0

    applied = _apply(tmp_path)
    # .gitignore and the store cache + CA 2 + api-server 5 and its 2 generated passwords + 3 × 3 for the clients.
    assert applied.stdout == FRESH_PLAN + "Applied 6 changes: 20 files written.\n"
    assert run_cli("plan", cwd=tmp_path).stdout == "No changes: 5 up to date.\n"


def test_plan_text_after_changes(tmp_path: Path) -> None:
    mtlsgen.apply(load_spec(_setup(tmp_path)))
    _setup(tmp_path, SPEC.replace("alice: {sans: [alice.example.com]}",
                                  "alice: {sans: [alice.example.com, alice2.example.com]}"))
    result = run_cli("plan", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "  ~ alice  reissue   SANs: +DNS:alice2.example.com; new key (key_rotation: always)\n"
        "Plan: 1 to reissue. 4 unchanged.\n")

    # Several kinds at once: a key change, a SAN change, a new entry, a damaged file, an orphan.
    (tmp_path / "certs" / "dave" / "ca.crt").unlink()
    _setup(tmp_path, SPEC
           .replace("alice: {sans: [alice.example.com]}",
                    "alice: {sans: [alice.example.com, alice2.example.com]}")
           .replace("  bob: {}\n", "  carol: {}\n")
           .replace("    sans: [api-server.example.com",
                    "    key: ecdsa-p384\n    sans: [api-server.example.com"))
    result = run_cli("plan", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "  ~ certs/      repack    .mtlsgen-stores.json: store cache updated for the stores written\n"
        "  ± api-server  replace   key: ecdsa-p256 → ecdsa-p384\n"
        "  ~ alice       reissue   SANs: +DNS:alice2.example.com; new key (key_rotation: always)\n"
        "  + carol       create    tls.crt tls.key ca.crt\n"
        "  ~ dave        repack    ca.crt missing\n"
        "  ? bob         orphan    not in the spec; apply --prune revokes its certificate in ca/ca.crl and "
        "deletes certs/bob/\n"
        "Plan: 1 to create, 1 to reissue, 1 to replace, 2 to repack. 1 unchanged. 1 orphaned.\n")


def test_piped_output_has_no_colour_even_without_no_color(tmp_path: Path) -> None:
    _setup(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env.update(TERM="xterm-256color", COLUMNS="120")
    result = subprocess.run([sys.executable, "-m", "mtlsgen", "apply"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "+ api-server  create" in result.stdout  # the plan is printed before apply
    assert ANSI not in result.stdout and ANSI not in result.stderr
    result = subprocess.run([sys.executable, "-m", "mtlsgen", "plan", "--replace", "nosuch"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1 and result.stderr.startswith("error: ")
    assert ANSI not in result.stderr


def _by_name(doc: dict) -> dict[str, dict]:
    return {c["name"]: c for c in doc["changes"]}


def test_plan_and_apply_json(tmp_path: Path) -> None:
    _setup(tmp_path)
    result = run_cli("plan", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    changes = _by_name(doc)
    assert doc["format_version"] == 1
    assert [c["name"] for c in doc["changes"]] == ["certs/", "ca", "api-server", "alice", "bob", "dave"]
    assert {n: c["action"] for n, c in changes.items()} == dict.fromkeys(changes, "create")
    assert {c["symbol"] for c in doc["changes"]} == {"+"}
    assert changes["certs/"]["files"] == [".gitignore", ".mtlsgen-stores.json"]
    assert changes["ca"]["files"] == ["ca.key", "ca.crt"]
    assert changes["api-server"]["files"] == [
        "tls.crt", "tls.key", "ca.crt", "keystore.p12", "truststore.p12", "keystore.password", "truststore.password"]
    assert changes["bob"]["files"] == ["tls.crt", "tls.key", "ca.crt"]
    assert doc["summary"]["create"] == 6 and doc["summary"]["unchanged"] == 0
    assert sum(doc["summary"].values()) == 6
    assert doc["pending"] == 6
    assert doc["warnings"] == []
    assert doc["spec"].endswith("pki.yaml") and doc["output"].endswith("certs")

    result = run_cli("apply", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert set(doc) == {"plan", "result"}
    assert doc["plan"]["pending"] == 6 and doc["result"]["format_version"] == 1
    assert doc["result"]["applied"] == ["certs/", "ca", "api-server", "alice", "bob", "dave"]
    assert doc["result"]["removed"] == []
    written = {(tmp_path / p).resolve().relative_to((tmp_path / "certs").resolve()).as_posix()
               for p in doc["result"]["written"]}
    # apply writes exactly the files the plan listed
    planned = {f"{c['name'].rstrip('/')}/{f}" if c["name"] != "certs/" else f
               for c in doc["plan"]["changes"] for f in c["files"]}
    assert written == planned
    assert written == {".gitignore", ".mtlsgen-stores.json", "ca/ca.crt", "ca/ca.key",
                       "api-server/tls.crt", "api-server/tls.key", "api-server/ca.crt",
                       "api-server/keystore.p12", "api-server/truststore.p12",
                       "api-server/keystore.password", "api-server/truststore.password",
                       "alice/tls.crt", "alice/tls.key", "alice/ca.crt",
                       "bob/tls.crt", "bob/tls.key", "bob/ca.crt",
                       "dave/tls.crt", "dave/tls.key", "dave/ca.crt"}

    # A change: the reasons and the files to rewrite, field by field.
    _setup(tmp_path, SPEC.replace("alice: {sans: [alice.example.com]}",
                                  "alice: {sans: [alice2.example.com]}"))
    doc = json.loads(run_cli("plan", "--json", cwd=tmp_path).stdout)
    changes = _by_name(doc)
    assert changes["alice"]["action"] == "reissue" and changes["alice"]["symbol"] == "~"
    assert changes["alice"]["reasons"] == [
        {"kind": "sans", "file": None, "text": "SANs: +DNS:alice2.example.com -DNS:alice.example.com"},
        {"kind": "new_key", "file": "tls.key", "text": "new key (key_rotation: always)"}]
    assert changes["alice"]["files"] == ["tls.crt", "tls.key"]  # ca.crt holds the same root: kept
    assert changes["bob"] == {"name": "bob", "folder": "certs/bob", "action": "unchanged", "symbol": " ",
                              "reasons": [], "files": [], "chmod": [], "remove": []}
    assert doc["summary"]["reissue"] == 1 and doc["summary"]["unchanged"] == 4 and doc["pending"] == 1

    result = run_cli("apply", "--json", cwd=tmp_path)
    doc = json.loads(result.stdout)
    assert doc["result"]["applied"] == ["alice"]
    assert sorted(Path(p).name for p in doc["result"]["written"]) == ["tls.crt", "tls.key"]
    assert {Path(p).parent.name for p in doc["result"]["written"]} == {"alice"}

    # Nothing to do: still one JSON document.
    doc = json.loads(run_cli("apply", "--json", cwd=tmp_path).stdout)
    assert doc["plan"]["pending"] == 0
    assert doc["result"] == {"format_version": 1, "applied": [], "written": [], "removed": []}


def test_detailed_exitcode(tmp_path: Path) -> None:
    spec_file = _setup(tmp_path)
    assert run_cli("plan", "--detailed-exitcode", "--json", cwd=tmp_path).returncode == 2
    mtlsgen.apply(load_spec(spec_file))
    result = run_cli("plan", "--detailed-exitcode", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout == "No changes: 5 up to date.\n"
    (tmp_path / "certs" / "bob" / "tls.key").unlink()
    assert run_cli("plan", "--detailed-exitcode", cwd=tmp_path).returncode == 2


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
    assert plan.stdout.splitlines()[-1] == "Plan: 3 to create. 0 unchanged."
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


def test_replace_unknown_name_is_a_one_line_error(tmp_path: Path) -> None:
    _setup(tmp_path)
    for command in ("plan", "apply"):
        result = run_cli(command, "--replace", "nosuch", cwd=tmp_path)
        _one_line_error(result, "nosuch")
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "certs").exists()


def test_second_apply_gives_up_clearly_after_its_lock_timeout(tmp_path: Path) -> None:
    spec_file = _setup(tmp_path)
    output = load_spec(spec_file).output
    ensure_output(output)
    with output_lock(output):
        started = time.monotonic()
        result = run_cli("apply", "--lock-timeout", "2s", cwd=tmp_path, timeout=30)
        elapsed = time.monotonic() - started
    assert 2 <= elapsed < 12, elapsed
    assert result.returncode == 1
    *waiting, error = result.stderr.splitlines()
    assert waiting == [f"waiting for another mtlsgen apply (pid {os.getpid()}) to finish writing certs"]
    assert error.startswith("error: another mtlsgen apply is writing") and "--lock-timeout" in error
    assert list(output.iterdir()) == []
    # Once the lock is free, apply runs.
    _apply(tmp_path)
    assert_verifies(tmp_path / "certs" / "bob" / "ca.crt", tmp_path / "certs" / "bob" / "tls.crt")


def test_orphans_are_reported_and_only_pruned_on_request(tmp_path: Path) -> None:
    mtlsgen.apply(load_spec(_setup(tmp_path)))
    out = tmp_path / "certs"
    _setup(tmp_path, SPEC.replace("  bob: {}\n", ""))
    before = snapshot(out)

    result = run_cli("plan", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout == ("  ? bob  orphan    not in the spec; apply --prune revokes its certificate in "
                             "ca/ca.crl and deletes certs/bob/\n"
                             "No changes: 4 up to date. 1 orphaned.\n")
    assert run_cli("plan", "--detailed-exitcode", cwd=tmp_path).returncode == 0  # reported, not pending

    kept = _apply(tmp_path)
    assert "orphan" in kept.stdout or "Nothing to do" in kept.stdout
    assert changed(before, snapshot(out), files_only=False) == set()
    assert (out / "bob" / "tls.crt").exists()

    planned = run_cli("plan", "--prune", cwd=tmp_path)
    # bob's certificate is still valid: pruning revokes it first, and the server gets the CRL file.
    assert planned.stdout.splitlines() == [
        "  ~ ca          repack    ca.crl: revokes bob",
        "  ~ api-server  repack    ca.crl: ca CRL renewed",
        "  - bob         prune     not in the spec; revokes its certificate in ca/ca.crl and deletes certs/bob/",
        "Plan: 2 to repack, 1 to prune. 2 unchanged."]
    assert (out / "bob").is_dir()
    pruned = _apply(tmp_path, "--prune")
    # tls.crt, tls.key, ca.crt, then the emptied folder.
    assert pruned.stdout.endswith("Applied 3 changes: 2 files written, 4 removed.\n")
    assert not (out / "bob").exists()
    after = snapshot(out)
    # Besides bob's folder: the CRL that revokes it and the server's CRL file (and their folders' mtimes).
    assert {p for p in changed(before, after, files_only=False) if not p.startswith("bob")} == {
        "ca", "ca/ca.crl", "api-server", "api-server/ca.crl"}
    assert mtlsgen.plan(load_spec(tmp_path / "pki.yaml")).changes[-1].name == "dave"  # no orphan left
