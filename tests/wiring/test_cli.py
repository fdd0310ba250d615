"""`mtlsgen snippet`, `mtlsgen env` and `--output` as a user types them (the CLI as a subprocess)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from mtlsgen.cli.wiring import TARGET_NAMES
from mtlsgen.reports.wiring import TARGETS
from tests.helpers.common import REPO, SMALL_SPEC, one_error_line, run_cli

from .conftest import Wired
from .peers import run_shell

# The installed command: click names its completion variable after the program (_MTLSGEN_COMPLETE).
MTLSGEN = str(Path(sys.executable).parent / "mtlsgen")


def test_the_cli_prints_exactly_the_snippet(wired: Wired) -> None:
    for name, target in (("api-server", "nginx"), ("client", "curl")):
        result = run_cli("snippet", name, "--for", target, cwd=wired.folder)
        assert result.returncode == 0, result.stderr
        assert result.stdout == wired.snippet(name, target)
        assert result.stderr == ""


def test_the_cli_knows_every_target() -> None:
    assert set(TARGET_NAMES) == set(TARGETS)


def test_errors_are_one_line_exit_1(wired: Wired) -> None:
    cases = {("client", "--for", "tomcat"): "error: client is a client; --for tomcat configures a server",
             ("api-server", "--for", "kubernetes"): "error: Invalid value for '--for'",
             ("api-server",): "error: --for TARGET is required: spring, tomcat, nginx, curl, python, java, openssl",
             ("client", "--for", "curl", "--url", "http://x/"): "error: --url: 'http://x/' is not an https:// URL",
             ("api-server", "--for", "nginx", "--listen", "eighty"): "error: --listen: 'eighty' is not [ADDRESS:]PORT"}
    for args, words in cases.items():
        line = one_error_line(run_cli("snippet", *args, cwd=wired.folder))
        assert line.startswith(words), line


def test_env_prints_the_passwords_the_snippets_name(wired: Wired) -> None:
    result = run_cli("env", "api-server", cwd=wired.folder)
    assert result.returncode == 0, result.stderr
    keystore, truststore = wired.password("api-server", "keystore"), wired.password("api-server", "truststore")
    assert result.stdout == (f"export API_SERVER_KEYSTORE_PASSWORD={shlex.quote(keystore)}\n"
                             f"export API_SERVER_TRUSTSTORE_PASSWORD={shlex.quote(truststore)}\n")
    # eval'd by a shell, the variables hold the values the snippet's own lines would set
    check = run_shell(f'eval "$({shlex.quote(sys.executable)} -m mtlsgen env api-server)"\n'
                      'printf "%s %s" "$API_SERVER_KEYSTORE_PASSWORD" "$API_SERVER_TRUSTSTORE_PASSWORD"',
                      wired.folder)
    assert check.stdout == f"{keystore} {truststore}", check.stderr
    assert "prints secrets" in run_cli("env", "--help").stdout
    assert "prints secrets" in run_cli("--help").stdout


def test_env_before_apply_says_to_apply(tmp_path: Path) -> None:
    (tmp_path / "pki.yaml").write_text(SMALL_SPEC.replace("bob: {}", "bob: {keystore: {formats: [pkcs12]}}"))
    line = one_error_line(run_cli("env", "bob", cwd=tmp_path))
    assert line.endswith("bob/keystore.password does not exist yet: run mtlsgen apply first")


def test_output_overrides_the_specs_folder_for_every_command(tmp_path: Path) -> None:
    (tmp_path / "pki.yaml").write_text(SMALL_SPEC.replace("bob: {}", "bob: {keystore: {formats: [pkcs12]}}"))
    elsewhere = tmp_path / "elsewhere"
    assert run_cli("apply", "--output", "elsewhere", cwd=tmp_path).returncode == 0
    assert (elsewhere / "bob" / "tls.crt").is_file() and not (tmp_path / "certs").exists()
    for command in ("plan", "status", "verify"):  # each reads the files apply wrote there: all in order
        result = run_cli(command, "--output", str(elsewhere), "--json", cwd=tmp_path)
        assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
        assert command != "plan" or '"pending": 0' in result.stdout
    curl = run_cli("snippet", "bob", "--for", "curl", "--output", "elsewhere", cwd=tmp_path).stdout
    assert "--cert elsewhere/bob/tls.crt" in curl
    password = (elsewhere / "bob" / "keystore.password").read_text().strip()
    assert password in run_cli("env", "bob", "--output", "elsewhere", cwd=tmp_path).stdout
    # without it, the spec's own output: nothing there yet
    assert '"pending": 0' not in run_cli("plan", "--json", cwd=tmp_path).stdout


@pytest.mark.parametrize("folder", [".", ".."])
def test_output_may_not_be_the_specs_folder_or_above(tmp_path: Path, folder: str) -> None:
    (tmp_path / "pki.yaml").write_text(SMALL_SPEC)
    line = one_error_line(run_cli("apply", "--output", folder, cwd=tmp_path))
    assert line == f"error: --output: '{folder}' is the spec's own folder (or holds it); use a subfolder like certs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pki.yaml"]


def test_shell_completion_offers_commands_and_entry_names(wired: Wired) -> None:
    def complete(words: str) -> str:
        env = {**os.environ, "_MTLSGEN_COMPLETE": "bash_complete", "COMP_WORDS": words,
               "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1))}
        return subprocess.run([MTLSGEN], cwd=wired.folder, env=env, capture_output=True, text=True, timeout=60,
                              check=False).stdout

    assert "plain,snippet" in complete("mtlsgen sni").splitlines()
    assert complete("mtlsgen snippet ").splitlines() == ["plain,api-server", "plain,client"]
    assert complete("mtlsgen snippet client --for ja").splitlines() == ["plain,java"]
    script = subprocess.run([MTLSGEN], env={**os.environ, "_MTLSGEN_COMPLETE": "bash_source"},
                            capture_output=True, text=True, timeout=60, check=False).stdout
    assert "_mtlsgen_completion" in script


def test_the_readme_quick_start_shows_what_snippet_prints() -> None:
    """The README's quick start ends with the example's snippets: they must be what mtlsgen prints."""
    readme = (REPO / "README.md").read_text()
    shown = readme.split("$ mtlsgen snippet client --for curl examples/pki.yaml\n", 1)[1].split("\n\n$ ", 1)[0]
    result = run_cli("snippet", "client", "--for", "curl", "examples/pki.yaml", cwd=REPO)  # prints; reads no cert
    assert result.stdout == shown + "\n"
    spring = run_cli("snippet", "api-server", "--for", "spring", "examples/pki.yaml", cwd=REPO).stdout
    second = readme.split("# three alternatives; the second:\n…\n", 1)[1].split("…\n```", 1)[0]
    assert second in spring
