"""The package's shape: one sorted public API, and modules importing only those below them."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import mtlsgen

PACKAGE = Path(mtlsgen.__file__).parent

# Lower layers first; a module may import only modules listed before it (ARCHITECTURE.md).
LAYERS = ["errors", "yamlsrc", "names", "model", "entries", "spec", "layout", "pki", "formats", "secrets", "stores",
          "state", "rules", "changes", "plan", "fsio", "apply", "status", "verify", "reconcile", "console", "render",
          "starter", "cli"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_every_module_is_placed_in_a_layer() -> None:
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__", "__main__"}
    assert modules == set(LAYERS)


def test_modules_import_only_lower_layers() -> None:
    for name in LAYERS:
        allowed = set(LAYERS[: LAYERS.index(name)])
        upward = _imports(PACKAGE / f"{name}.py") - allowed
        assert not upward, f"{name}.py imports {sorted(upward)}, which sit above it"


def test_public_api_is_sorted_and_complete() -> None:
    assert mtlsgen.__all__ == sorted(mtlsgen.__all__)
    for name in mtlsgen.__all__:
        assert hasattr(mtlsgen, name), name
    # The operations are functions even though modules of the same names exist.
    for name in ("plan", "apply", "status", "verify", "load_spec"):
        assert callable(getattr(mtlsgen, name)), name


def test_operations_stay_functions_after_their_modules_are_imported() -> None:
    code = ("import mtlsgen.plan, mtlsgen.apply, mtlsgen.status, mtlsgen.verify, mtlsgen; "
            "print(all(callable(getattr(mtlsgen, n)) for n in ('plan', 'apply', 'status', 'verify')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_pyjks_is_not_imported_by_the_package() -> None:
    code = "import mtlsgen, mtlsgen.cli, sys; print('jks' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
