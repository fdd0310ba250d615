"""The CLI contract for scripts: global options anywhere, `-C DIR`, MTLSGEN_SPEC, bare `mtlsgen`,
`validate --json`, exit codes 0/1/2, and shell completion that answers without the heavy imports.

Every command runs as a real subprocess (run_cli), in tmp_path, as a script or a shell would run it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.common import SMALL_SPEC, line_of, one_error_line, run_cli

ANSI = "\x1b["
HEAVY = ("cryptography", "pydantic", "rich")


def _coloured(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The CLI with colour forced on (FORCE_COLOR, no NO_COLOR), as on a terminal."""
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update(FORCE_COLOR="1", COLUMNS="120")
    return subprocess.run([sys.executable, "-m", "mtlsgen", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


# --- global options after the command ----------------------------------------------------------


def test_no_color_works_after_the_command_as_before_it(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(SMALL_SPEC)
    folder = spec.parent
    coloured = _coloured("plan", spec, cwd=folder)
    assert coloured.returncode == 0, coloured.stderr
    assert ANSI in coloured.stdout  # the check below means something: colour is on without the flag
    before = _coloured("--no-color", "plan", spec, cwd=folder)
    after = _coloured("plan", "--no-color", spec, cwd=folder)
    last = _coloured("plan", spec, "--no-color", cwd=folder)
    assert before.returncode == after.returncode == last.returncode == 0, after.stderr
    assert ANSI not in before.stdout
    assert after.stdout == before.stdout == last.stdout
    # Errors too: the one `error:` line loses its colour whichever side the flag is on.
    error = _coloured("validate", "--no-color", "absent.yaml", cwd=folder)
    assert error.returncode == 1 and error.stderr.startswith("error: ") and ANSI not in error.stderr
    assert ANSI in _coloured("validate", "absent.yaml", cwd=folder).stderr


def test_no_color_after_a_subcommand_of_a_subgroup(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(SMALL_SPEC)
    assert run_cli("apply", spec).returncode == 0
    result = run_cli("export", "k8s", "--no-color", "--entry", "api", spec)
    assert result.returncode == 0, result.stderr
    assert "kind: Secret" in result.stdout


# --- bare mtlsgen ----------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [(), ("export",)])
def test_bare_command_prints_its_help_on_stdout_and_exits_0(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith("Usage: ") and "Commands:" in result.stdout
    assert result.stdout == run_cli(*args, "--help", cwd=tmp_path).stdout
    assert os.listdir(tmp_path) == []


# --- validate --json -------------------------------------------------------------------------------


def test_validate_json_of_a_valid_spec(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(SMALL_SPEC)
    result = run_cli("validate", "--json", spec)
    assert result.returncode == 0 and result.stderr == ""
    document = json.loads(result.stdout)
    assert document["format_version"] == 1 and document["valid"] is True
    assert document["spec"] == str(spec)
    assert (document["cas"], document["certificates"]) == (1, 2)
    entries = {e["name"]: e for e in document["entries"]}
    assert {n: e["role"] for n, e in entries.items()} == {"ca": "ca", "api": "server", "bob": "client"}
    assert entries["api"]["sans"] == ["DNS:api.test"] and entries["api"]["issuer"] == "ca"
    assert entries["bob"]["key"] == "ecdsa-p256" and entries["bob"]["validity"] == "30d"
    assert entries["api"]["line"] == line_of(spec, "api:")


def test_validate_json_of_an_invalid_spec_names_file_line_and_field(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(SMALL_SPEC.replace("[api.test]", "[api.test, exa mple.com]"))
    result = run_cli("validate", "--json", spec)
    line = one_error_line(result)  # exit 1, one line on stderr, as without --json
    document = json.loads(result.stdout)
    assert document["format_version"] == 1 and document["valid"] is False
    error = document["error"]
    assert error["file"] == "pki.yaml" and error["line"] == line_of(spec, "exa mple.com")
    assert error["field"] == "servers.api.sans[1]"
    assert "'exa mple.com' is not a DNS name" in error["message"]
    assert line == f"error: {error['file']}:{error['line']}: {error['field']}: {error['message']}"


@pytest.mark.parametrize(("text", "field", "fragment"), [
    (None, None, "no such file"),                              # no file at all: no line
    ("version: 1\nservers: [\n", None, "invalid YAML"),          # a line, no field
])
def test_validate_json_of_an_unreadable_spec(tmp_path: Path, text: str | None, field: str | None,
                                             fragment: str) -> None:
    if text is not None:
        (tmp_path / "pki.yaml").write_text(text, encoding="utf-8")
    result = run_cli("validate", "--json", cwd=tmp_path)
    one_error_line(result)
    error = json.loads(result.stdout)["error"]
    assert error["file"] == "pki.yaml" and error["field"] == field and fragment in error["message"]
    assert (error["line"] is None) == (text is None)


def test_validate_json_loads_no_rich(write_spec: Callable[..., Path]) -> None:
    # `validate` is the pre-commit hook's command: its JSON must not cost more imports than its text.
    spec = write_spec(SMALL_SPEC)
    code = ("import sys; from mtlsgen.cli import main; sys.argv = ['mtlsgen', 'validate', '--json', sys.argv[1]]\n"
            "try:\n    main()\nfinally:\n    print('rich' in sys.modules, file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", code, str(spec)], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0 and json.loads(result.stdout)["valid"] is True
    assert result.stderr.strip() == "False"


# --- exit codes ------------------------------------------------------------------------------------


def test_status_exits_0_ok_2_needs_attention_1_error(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(SMALL_SPEC)
    assert run_cli("apply", spec).returncode == 0
    assert run_cli("status", spec).returncode == 0
    assert run_cli("status", "--json", spec).returncode == 0

    # Needs attention: the report is complete on stdout; stderr says why, and it is not an error.
    within = run_cli("status", "--fail-within", "60d", spec)  # the leaves live 30 days
    assert within.returncode == 2 and "renew due" in within.stdout
    assert not within.stderr.startswith("error:") and "need attention" in within.stderr
    (spec.parent / "certs" / "bob" / "tls.key").unlink()
    missing = run_cli("status", "--json", spec)
    assert missing.returncode == 2 and missing.stderr == ""
    assert json.loads(missing.stdout)["ok"] is False

    # An error: the spec is broken, or an option is; the same `error:` line as everywhere, exit 1.
    assert "--fail-within" in one_error_line(run_cli("status", "--fail-within", "soon", spec))
    spec.write_text(SMALL_SPEC + "  extra: [\n", encoding="utf-8")
    assert one_error_line(run_cli("status", spec)).startswith("error: pki.yaml:")
    broken_json = run_cli("status", "--json", spec)
    line = one_error_line(broken_json)
    # With --json, stdout still holds one document: the same error, located (docs/json.md).
    document = json.loads(broken_json.stdout)
    assert document["format_version"] == 1 and document["error"]["file"] == "pki.yaml"
    assert line == f"error: pki.yaml:{document['error']['line']}: {document['error']['message']}"


def test_plan_detailed_exitcode_is_2_only_while_changes_are_pending(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(SMALL_SPEC)
    assert run_cli("plan", "--detailed-exitcode", spec).returncode == 2
    assert run_cli("plan", spec).returncode == 0  # without the flag, pending changes are no signal
    assert run_cli("apply", spec).returncode == 0
    assert run_cli("plan", "--detailed-exitcode", spec).returncode == 0


# --- -C DIR and MTLSGEN_SPEC -----------------------------------------------------------------------


def test_dash_c_runs_in_dir_before_or_after_the_command(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pki.yaml").write_text(SMALL_SPEC, encoding="utf-8")
    assert run_cli("-C", "project", "validate", cwd=tmp_path).stdout == "pki.yaml: valid (1 CA, 2 certificates)\n"
    applied = run_cli("apply", "-C", "project", "--output", "out", cwd=tmp_path)  # --output: relative to DIR
    assert applied.returncode == 0, applied.stderr
    assert (project / "out" / "api" / "tls.crt").is_file()
    assert sorted(os.listdir(tmp_path)) == ["project"]
    assert run_cli("-C", str(project), "status", "--output", "out", cwd=tmp_path).returncode == 0


@pytest.mark.parametrize("where", ["missing", "pki.yaml"])
def test_dash_c_to_a_missing_folder_is_one_error_line(write_spec: Callable[..., Path], where: str) -> None:
    spec = write_spec(SMALL_SPEC)
    for args in (("-C", where, "apply"), ("apply", "-C", where)):
        line = one_error_line(run_cli(*args, cwd=spec.parent))
        assert line.startswith(f"error: -C {where}: no")
    assert os.listdir(spec.parent) == ["pki.yaml"]  # nothing written


def test_mtlsgen_spec_is_the_default_spec(tmp_path: Path) -> None:
    (tmp_path / "pki.yaml").write_text(SMALL_SPEC, encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "other.yaml").write_text(SMALL_SPEC.replace("bob: {}", "bob: {}\n  carol: {}"),
                                                 encoding="utf-8")
    env = {"MTLSGEN_SPEC": "sub/other.yaml"}
    assert run_cli("validate", cwd=tmp_path, env=env).stdout == "sub/other.yaml: valid (1 CA, 3 certificates)\n"
    # An argument wins over the variable; an empty variable means unset.
    assert run_cli("validate", "pki.yaml", cwd=tmp_path, env=env).stdout.startswith("pki.yaml: valid")
    assert run_cli("validate", cwd=tmp_path, env={"MTLSGEN_SPEC": ""}).stdout.startswith("pki.yaml: valid")
    # Under -C the variable is relative to DIR, like an argument.
    under = run_cli("-C", "sub", "validate", cwd=tmp_path, env={"MTLSGEN_SPEC": "other.yaml"})
    assert under.stdout == "other.yaml: valid (1 CA, 3 certificates)\n"
    missing = one_error_line(run_cli("plan", cwd=tmp_path, env={"MTLSGEN_SPEC": "gone.yaml"}))
    assert "gone.yaml: no such file" in missing


# --- shell completion ------------------------------------------------------------------------------

COMPLETION_SPEC = """\
version: 1
ca: {key: ecdsa-p256}
intermediates:
  issuing: {}
servers:
  api: {issuer: issuing}
  web: {}
clients:
  alice: {}
  gone: {revoked: true}
"""

# The CLI as the shell's TAB runs it (prog name `mtlsgen`), reporting afterwards which heavy modules loaded.
COMPLETE = """\
import atexit, sys
atexit.register(lambda: print("loaded:", *[m for m in {heavy!r} if m in sys.modules], file=sys.stderr))
from mtlsgen.cli import main
main(prog_name="mtlsgen")
"""


def _complete(words: str, cwd: Path, shell: str = "bash", env: dict[str, str] | None = None
              ) -> tuple[list[str], str]:
    """The completions for the command line `words` (the cursor at its end), and the heavy modules loaded."""
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    full_env = {**os.environ, "_MTLSGEN_COMPLETE": f"{shell}_complete", "COMP_WORDS": words,
                "COMP_CWORD": str(cword), **(env or {})}
    result = subprocess.run([sys.executable, "-c", COMPLETE.format(heavy=HEAVY)], cwd=cwd, env=full_env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    loaded = result.stderr.strip().splitlines()[-1]
    return [line for line in result.stdout.splitlines() if line], loaded  # none: one empty line


def test_replace_completes_every_entry_without_loading_heavy_modules(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(COMPLETION_SPEC)
    lines, loaded = _complete("mtlsgen apply --replace ", spec.parent)
    assert lines == ["plain,ca", "plain,issuing", "plain,api", "plain,web", "plain,alice"]  # not revoked `gone`
    assert loaded == "loaded:"  # none of cryptography, pydantic, rich
    assert _complete("mtlsgen plan --replace a", spec.parent)[0] == ["plain,api", "plain,alice"]


def test_snippet_env_and_export_complete_servers_and_clients(write_spec: Callable[..., Path]) -> None:
    spec = write_spec(COMPLETION_SPEC)
    for words in ("mtlsgen snippet ", "mtlsgen env ", "mtlsgen export k8s --entry "):
        lines, loaded = _complete(words, spec.parent)
        assert lines == ["plain,api", "plain,web", "plain,alice"], words
        assert loaded == "loaded:", words
    # zsh shows each name's role beside it.
    assert _complete("mtlsgen env w", spec.parent, shell="zsh")[0] == ["plain", "web", "server"]


def test_completion_reads_the_spec_named_on_the_line_under_dash_c_or_in_mtlsgen_spec(tmp_path: Path) -> None:
    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "mine.yaml").write_text(COMPLETION_SPEC, encoding="utf-8")
    expected = ["plain,api", "plain,web", "plain,alice"]
    assert _complete("mtlsgen snippet ", tmp_path)[0] == []  # no ./pki.yaml: nothing to offer
    assert _complete("mtlsgen -C team snippet ", tmp_path, env={"MTLSGEN_SPEC": "mine.yaml"})[0] == expected
    assert _complete("mtlsgen plan team/mine.yaml --replace w", tmp_path)[0] == ["plain,web"]


@pytest.mark.parametrize(("text", "expected"), [
    ("version: 1\nservers: [\n", []),          # invalid YAML
    ("- a list\n", []),                        # not a mapping
    ("\0binary", []),                          # not text
    ("servers: 3\nclients: {bob: {}}\n", ["plain,ca", "plain,bob"]),  # what is readable still helps
])
def test_completion_on_a_broken_spec_never_fails(tmp_path: Path, text: str, expected: list[str]) -> None:
    (tmp_path / "pki.yaml").write_text(text, encoding="utf-8")
    assert _complete("mtlsgen apply --replace ", tmp_path)[0] == expected


def test_completion_scripts_of_the_readme_are_printed(tmp_path: Path) -> None:
    for shell in ("bash", "zsh", "fish"):
        result = subprocess.run([sys.executable, "-c", "from mtlsgen.cli import main; main(prog_name='mtlsgen')"],
                                cwd=tmp_path, env={**os.environ, "_MTLSGEN_COMPLETE": f"{shell}_source"},
                                capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0 and f"_MTLSGEN_COMPLETE={shell}_complete" in result.stdout, shell


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", [("status",), ("plan", "--json")])
def test_a_report_that_cannot_be_written_is_one_error_line(write_spec: Callable[..., Path],
                                                           args: tuple[str, ...]) -> None:
    spec = write_spec(SMALL_SPEC)
    assert run_cli("apply", spec).returncode == 0
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "mtlsgen", *args, str(spec)], stdout=full,
                                stderr=subprocess.PIPE, text=True, timeout=60, check=False,
                                env={**os.environ, "NO_COLOR": "1"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["error: cannot write the output: No space left on device"]
