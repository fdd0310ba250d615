"""The release artefacts: an sdist whose tests run, a wheel with the schema, LICENSE and metadata."""

from __future__ import annotations

import email
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.helpers.common import REPO

pytestmark = pytest.mark.interop  # builds in an isolated environment: a few seconds, and the index


@pytest.fixture(scope="module")
def sdist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    build = subprocess.run([sys.executable, "-m", "build", "--sdist", "--outdir", str(out), str(REPO)],
                           capture_output=True, text=True, timeout=600, check=False)
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    archive = next(out.glob("mtlsgen-*.tar.gz"))
    with tarfile.open(archive) as tar:
        tar.extractall(out, filter="data")
    return next(p for p in out.iterdir() if p.is_dir() and p.name.startswith("mtlsgen-"))


def test_sdist_carries_the_tests_their_helpers_docs_examples_and_schema(sdist: Path) -> None:
    for needed in ("LICENSE", "CHANGELOG.md", "CONTRIBUTING.md", "tests/conftest.py", "tests/helpers/common.py",
                   "tests/helpers/tls.py", "tests/export/test_k8s.py", "docs/testing.md", "examples/pki.yaml",
                   "schema/pki.schema.json", "mtlsgen/spec/pki.schema.json"):
        assert (sdist / needed).is_file(), f"{needed} is not in the sdist"
    assert not list(sdist.rglob("__pycache__"))


def test_the_sdists_own_tests_pass(sdist: Path) -> None:
    # From the unpacked folder, `python -m pytest` imports that folder's mtlsgen and tests.
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not interop",
                          "tests/spec/test_schema.py", "tests/spec/test_idna.py", "tests/spec/test_names.py"],
                         cwd=sdist, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and str(sdist) in subprocess.run(
        [sys.executable, "-c", "import mtlsgen; print(mtlsgen.__file__)"], cwd=sdist, capture_output=True,
        text=True, check=True).stdout


def test_wheel_from_the_sdist_has_schema_license_and_metadata(sdist: Path, tmp_path: Path) -> None:
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(sdist)],
                           capture_output=True, text=True, timeout=600, check=False)
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = zipfile.ZipFile(next(tmp_path.glob("mtlsgen-*.whl")))
    names = wheel.namelist()
    assert "mtlsgen/spec/pki.schema.json" in names and "mtlsgen/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    metadata = email.message_from_bytes(wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA"))))
    assert metadata["License-Expression"] == "MIT"
    classifiers = metadata.get_all("Classifier") or []
    for version in ("3.10", "3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {version}" in classifiers
    assert {"Operating System :: POSIX", "Typing :: Typed"} <= set(classifiers)
    assert any(dep.startswith("idna") for dep in metadata.get_all("Requires-Dist") or [])
    assert metadata.get_all("Project-URL")
