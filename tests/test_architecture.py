"""The package's shape (docs/architecture.md): layers that import only those before them, a planner
that touches neither the disk nor the clock, one sorted public API, and a wheel that ships every layer."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import mtlsgen

PACKAGE = Path(mtlsgen.__file__).parent

# Lower layers first; a module may import only its own layer and those before it.
LAYERS = ["errors", "spec", "crypto", "engine", "reports", "_api", "cli", "pytest_plugin"]
# Inside the engine, the order the data flows in: apply may use the planner's types, never the reverse.
ENGINE = ["layout", "reasons", "secrets", "store_cache", "loaded", "listing", "shared_folder", "state", "rules",
          "changes", "rollover", "decisions", "certificates", "derived", "revocation", "rollover_files",
          "crl_bundle", "housekeeping", "plan", "fsio", "lock", "apply"]
# Pure modules: decisions from values; no file system, no clock, no environment.
PURE = [f"engine/{name}.py" for name in ("reasons", "rules", "changes", "decisions", "certificates", "derived",
                                        "revocation", "crl_bundle", "housekeeping", "plan", "rollover",
                                        "rollover_files")]


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__main__.py")


def _dotted(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every mtlsgen name `path` imports, in absolute dotted form, whatever the import's form:
    `import mtlsgen.x`, `from mtlsgen.x import y`, `from .x import y`, `from . import x`, `from .. import x`,
    at module level or inside a function. `from .x import y` gives both `….x` and `….x.y`."""
    module = _dotted(path)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "mtlsgen")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            elif node.module and node.module.split(".")[0] == "mtlsgen":
                base = node.module
            else:
                continue
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return found


def _layer(dotted: str) -> int:
    """A module's layer; the package's own names (its public API, __version__) sit with _api."""
    parts = dotted.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else LAYERS.index("_api")


def test_every_module_sits_in_a_layer() -> None:
    for path in _modules():
        dotted = _dotted(path)
        if dotted == "mtlsgen":
            continue
        assert dotted.split(".")[1] in LAYERS, f"{path.relative_to(PACKAGE)} is in no layer"


def test_layers_import_only_themselves_and_layers_before_them() -> None:
    for path in _modules():
        if _dotted(path) == "mtlsgen":
            continue  # the public API imports what it re-exports
        own = _layer(_dotted(path))
        for target in _imports(path):
            theirs = _layer(target)
            assert theirs <= own, (
                f"{path.relative_to(PACKAGE)} imports {target}, which sits above it")


def test_engine_modules_import_only_those_before_them() -> None:
    for path in sorted((PACKAGE / "engine").glob("*.py")):
        if path.name == "__init__.py":
            continue
        own = ENGINE.index(path.stem)
        for target in _imports(path):
            if target.startswith("mtlsgen.engine."):
                stem = target.split(".")[2]
                assert ENGINE.index(stem) <= own, f"engine/{path.name} imports engine/{stem}, which comes after it"


def test_the_checker_sees_every_import_form(tmp_path: Path) -> None:
    probe = PACKAGE / "engine" / "_probe_for_test.py"
    probe.write_text("import mtlsgen.cli.render\nfrom mtlsgen.engine.fsio import atomic_write\n"
                     "from .. import cli\nfrom ..reports import status\n"
                     "def f():\n    from ..cli.console import make_console\n")
    try:
        found = _imports(probe)
    finally:
        probe.unlink()
    assert {"mtlsgen.cli.render", "mtlsgen.engine.fsio", "mtlsgen.cli", "mtlsgen.reports.status",
            "mtlsgen.cli.console"} <= found


_IO_NAMES = {"os", "open", "pathlib", "Path", "time", "shutil", "tempfile", "subprocess", "socket", "random",
             "secrets", "fcntl", "sys", "environ"}
_IO_CALLS = {"now", "today", "utcnow", "read_bytes", "read_text", "write_bytes", "write_text", "exists",
             "is_dir", "is_file", "iterdir", "stat", "lstat", "mkdir", "unlink", "open", "glob", "rglob",
             "getenv", "urandom", "token_urlsafe"}


@pytest.mark.parametrize("module", PURE)
def test_the_planner_and_rules_touch_neither_disk_nor_clock(module: str) -> None:
    tree = ast.parse((PACKAGE / module).read_text())
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = {a.name.split(".")[0] for a in node.names} | ({node.module.split(".")[0]}
                                                                     if isinstance(node, ast.ImportFrom)
                                                                     and node.module and not node.level else set())
            assert not names & _IO_NAMES, f"{module} imports {sorted(names & _IO_NAMES)}"
            if isinstance(node, ast.ImportFrom) and node.level and node.module:
                assert node.module.split(".")[0] not in ("fsio", "apply", "state", "secrets") or \
                    all(a.name[0].isupper() or a.name in ("anchor_of", "issuer_chain") for a in node.names), (
                        f"{module} imports functions from {node.module}")
        elif isinstance(node, ast.Name):
            assert node.id not in {"open", "os", "Path"}, f"{module} uses {node.id}"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in _IO_CALLS, f"{module} calls .{node.func.attr}()"


def test_public_api_is_sorted_and_complete() -> None:
    assert mtlsgen.__all__ == sorted(mtlsgen.__all__)
    for name in mtlsgen.__all__:
        assert hasattr(mtlsgen, name), name
    for name in ("plan", "apply", "status", "verify", "load_spec"):
        assert callable(getattr(mtlsgen, name)), name


def test_operations_stay_functions_after_every_module_is_imported() -> None:
    modules = sorted(_dotted(p) for p in _modules())
    code = (f"import {', '.join(modules)}; import mtlsgen; "
            "print(all(callable(getattr(mtlsgen, n)) for n in ('plan', 'apply', 'status', 'verify')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_pyjks_is_not_imported_by_the_package() -> None:
    code = "import mtlsgen, mtlsgen.cli, sys; print('jks' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_built_wheel_ships_every_subpackage(tmp_path: Path) -> None:
    """A wheel that silently drops a subpackage installs fine and fails at the first import."""
    repo = PACKAGE.parent
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                            "-w", str(tmp_path), str(repo)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    wheel = next(tmp_path.glob("mtlsgen-*.whl"))
    shipped = set(zipfile.ZipFile(wheel).namelist())
    for path in _modules():
        assert path.relative_to(repo).as_posix() in shipped, f"{path.relative_to(repo)} is not in the wheel"
    assert "mtlsgen/py.typed" in shipped
