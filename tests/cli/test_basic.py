"""The CLI basics: help for every command, version, init/validate round trip, `init -`, one-line errors,
and exit code 1 for every usage error (help still 0, `plan --detailed-exitcode` still 2)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

import mtlsgen
from mtlsgen.cli import main
from mtlsgen.cli.starter import STARTER_SPEC
from tests.helpers.common import SMALL_SPEC, run_cli

COMMANDS = sorted(main.commands)


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mtlsgen", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=60, check=False)


def test_the_documented_commands_exist() -> None:
    assert {"init", "validate", "schema"} <= set(COMMANDS)


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_group_help(flag: str) -> None:
    result = CliRunner().invoke(main, [flag])
    assert result.exit_code == 0
    assert result.output.startswith("Usage: ")
    for name in COMMANDS:
        assert name in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0, result.output
    usage = result.output.splitlines()[0]
    assert usage.startswith("Usage: ") and f" {command}" in usage
    help_text = main.commands[command].help
    assert help_text  # every command explains itself
    assert help_text.split("\n")[0].split(";")[0][:30] in " ".join(result.output.split())


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


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"mtlsgen, version {mtlsgen.__version__}"


def test_init_then_validate(tmp_path: Path) -> None:
    spec = tmp_path / "pki.yaml"
    runner = CliRunner()
    result = runner.invoke(main, ["init", str(spec)])
    assert result.exit_code == 0, result.output
    assert spec.is_file() and "version: 1" in spec.read_text(encoding="utf-8")
    assert f"wrote {spec}" in result.output
    result = runner.invoke(main, ["validate", str(spec)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"{spec}: valid (1 CA, 2 certificates)"
    assert result.stderr == ""
    loaded = mtlsgen.load_spec(spec)
    assert {e.name for e in loaded.entries} == {"ca", "my-server", "my-client"}


def test_init_then_validate_default_path_with_python_m(tmp_path: Path) -> None:
    proc = _run("init", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "pki.yaml").is_file()
    proc = _run("validate", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("pki.yaml: valid")
    assert proc.stderr == ""


def test_init_never_overwrites(tmp_path: Path) -> None:
    spec = tmp_path / "pki.yaml"
    spec.write_text("version: 1\n# mine\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["init", str(spec)])
    assert result.exit_code == 1
    assert spec.read_text(encoding="utf-8") == "version: 1\n# mine\n"
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ") and "already exists" in lines[0]
    assert "Traceback" not in result.output


def test_init_into_missing_folder_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["init", str(tmp_path / "no" / "such" / "pki.yaml")])
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("error: cannot write")


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


def test_validate_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "absent.yaml")])
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "absent.yaml: no such file" in lines[0]
    assert "mtlsgen init" in lines[0]


def test_validate_defaults_to_pki_yaml_in_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 1
    assert result.stderr == "error: pki.yaml: no such file (run `mtlsgen init pki.yaml` to create one)\n"


def test_validate_of_a_directory_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code == 1  # 2 is only for `plan --detailed-exitcode`
    assert "Traceback" not in result.output


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
    spec = write_spec(SMALL_SPEC)
    assert CliRunner().invoke(main, ["--help"]).exit_code == 0
    assert CliRunner().invoke(main, ["plan", "--help"]).exit_code == 0
    assert run_cli("--help").returncode == 0
    assert CliRunner().invoke(main, ["plan", "--detailed-exitcode", str(spec)]).exit_code == 2
    assert run_cli("plan", "--detailed-exitcode", spec).returncode == 2
    assert run_cli("apply", spec).returncode == 0
    assert run_cli("plan", "--detailed-exitcode", spec).returncode == 0


def test_python_m_and_the_script_entry_agree_on_usage_exit_code(tmp_path: Path) -> None:
    # The console script calls main() just as `python -m mtlsgen` does.
    code = "import sys; from mtlsgen.cli import main; sys.argv = ['mtlsgen', 'plan', '--bogus']; main()"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          check=False, cwd=tmp_path)
    assert proc.returncode == 1 and "No such option" in proc.stderr


JKS_SPEC = """\
version: 1
servers:
  api:
    sans: [api.example.com]
    keystore: {formats: [jks, pkcs12]}
    truststore: {formats: [jks]}
"""

BLOCK_JKS = """\
import sys

class BlockJks:
    def find_spec(self, name, path=None, target=None):
        if name == "jks" or name.startswith("jks."):
            raise ImportError("pyjks is not installed (blocked by the test)")
        return None

sys.meta_path.insert(0, BlockJks())
try:
    import jks  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("the blocker does not work")
from mtlsgen.cli import main
sys.argv = ["mtlsgen", *sys.argv[1:]]
main()
"""


def test_validate_jks_spec_without_pyjks(tmp_path: Path) -> None:
    spec = tmp_path / "pki.yaml"
    spec.write_text(JKS_SPEC, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", BLOCK_JKS, "validate", str(spec)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "valid (1 CA, 1 certificate)" in proc.stdout
    assert proc.stderr == ""


def test_load_spec_does_not_import_jks(tmp_path: Path) -> None:
    spec = tmp_path / "pki.yaml"
    spec.write_text(JKS_SPEC, encoding="utf-8")
    code = textwrap.dedent(f"""\
        import sys
        import mtlsgen
        spec = mtlsgen.load_spec({str(spec)!r})
        assert spec["api"].keystore.formats == ("jks", "pkcs12")
        print("jks" in sys.modules)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_every_kind_of_reason_has_words() -> None:
    from datetime import datetime, timezone

    from mtlsgen import Kind, Reason
    from mtlsgen.cli.words import Where, reason_text

    when = datetime(2030, 1, 1, tzinfo=timezone.utc)
    for kind in Kind:
        reason = Reason(kind, "tls.crt", old="a", new="b", names=("x",), detail="encrypt", days=3, when=when)
        text = reason_text(reason, Where("alice", "certs"))
        assert text and "{" not in text and "None" not in text, kind
