"""Whatever the output folder holds, nothing outside it is written, chmod-ed or deleted: a symbolic
link where mtlsgen keeps its own file or folder is refused with one line (the link and its target
untouched); temporary files an interrupted run left are reported by plan and removed by apply."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import mtlsgen
from mtlsgen import PlanError
from tests.helpers.common import run_cli
from tests.helpers.engine import BASE_SPEC, snapshot, spec_at


def _outside(tmp_path: Path) -> Path:
    """A folder beside the project holding an app's files, which a link will point at."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "tls.key").write_text("the app's own key\n")
    (app / "tls.key").chmod(0o640)
    (app / "config.yaml").write_text("port: 8443\n")
    return app


@pytest.mark.parametrize("planted", ["entry-folder", "ca-folder", "tls.key", "ca.key", "keystore.password",
                                     "gitignore"])
def test_a_link_planted_in_the_output_is_refused_and_nothing_outside_changes(tmp_path: Path, planted: str) -> None:
    project = tmp_path / "project"
    spec = spec_at(project, BASE_SPEC.replace("  alice: {}", "  alice: {keystore: {formats: [pkcs12]}}"))
    mtlsgen.apply(spec)
    app = _outside(tmp_path)
    out = project / "certs"
    link, target = {
        "entry-folder": (out / "alice", app),
        "ca-folder": (out / "ca", app),
        "tls.key": (out / "alice" / "tls.key", app / "tls.key"),
        "ca.key": (out / "ca" / "ca.key", app / "tls.key"),
        "keystore.password": (out / "alice" / "keystore.password", app / "tls.key"),
        "gitignore": (out / ".gitignore", app / "config.yaml"),
    }[planted]
    os.rename(link, tmp_path / "moved-away")
    link.symlink_to(target)
    before_app = snapshot(app)
    before_link = os.readlink(link)
    for command in ("plan", "apply"):
        result = run_cli(command, spec.path)
        assert result.returncode == 1, result.stdout
        [line] = result.stderr.splitlines()
        assert line.startswith("error: ") and "link" in line and "Traceback" not in result.stderr
        assert str(link.relative_to(project)) in line
    with pytest.raises(mtlsgen.MtlsgenError):
        mtlsgen.apply(spec)
    assert snapshot(app) == before_app  # bytes, mtime and mode of every file outside
    assert os.readlink(link) == before_link  # the link itself is left for the user to remove
    link.unlink()
    os.rename(tmp_path / "moved-away", link)  # once the user puts things back, all is as before
    assert mtlsgen.plan(spec).pending == ()


def test_a_fifo_where_a_key_should_be_is_refused_without_hanging(tmp_path: Path) -> None:
    spec = spec_at(tmp_path)
    mtlsgen.apply(spec)
    key = tmp_path / "certs" / "bob" / "tls.key"
    key.unlink()
    os.mkfifo(key)
    result = run_cli("apply", spec.path, timeout=30)
    assert result.returncode == 1 and "FIFO" in result.stderr and len(result.stderr.splitlines()) == 1


def test_an_output_that_is_a_link_to_nothing_is_one_line(tmp_path: Path) -> None:
    spec = spec_at(tmp_path)
    (tmp_path / "certs").symlink_to(tmp_path / "certs")  # a loop
    result = run_cli("apply", spec.path)
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


def test_an_output_folder_the_user_linked_elsewhere_is_followed(tmp_path: Path) -> None:
    """`output:` itself is the user's setting: a link there is where they want the files."""
    real = tmp_path / "shared" / "pki"
    real.mkdir(parents=True)
    spec = spec_at(tmp_path / "project")
    (tmp_path / "project" / "certs").symlink_to(real)
    mtlsgen.apply(spec)
    assert (real / "bob" / "tls.crt").is_file()


def test_temporary_files_left_by_a_kill_are_reported_and_removed(tmp_path: Path) -> None:
    spec = spec_at(tmp_path)
    mtlsgen.apply(spec)
    out = tmp_path / "certs"
    left = [out / "..gitignore.0ipczbzm.tmp", out / "alice" / ".tls.key.a1b2c3d4.tmp",
            out / "ca" / ".ca.key.0f0f0f0f.tmp"]
    for path in left:
        path.write_text("half a key")
    plan = mtlsgen.plan(spec)
    assert {(c.name, r.kind.value, r.file) for c in plan.pending for r in c.reasons} == {
        ("certs/", "temp", "..gitignore.0ipczbzm.tmp"), ("alice", "temp", ".tls.key.a1b2c3d4.tmp"),
        ("ca", "temp", ".ca.key.0f0f0f0f.tmp")}
    _, result = mtlsgen.apply(spec)
    assert set(result.removed) == set(left) and not any(p.exists() for p in left)
    assert mtlsgen.plan(spec).pending == ()


def test_a_first_apply_killed_before_its_first_rename_does_not_brick_the_folder(tmp_path: Path) -> None:
    spec = spec_at(tmp_path)
    out = tmp_path / "certs"
    out.mkdir(mode=0o700)
    (out / "..gitignore.0ipczbzm.tmp").write_text("*\n")  # what 0.1 left when killed there
    result = run_cli("apply", spec.path)
    assert result.returncode == 0, result.stderr
    assert not (out / "..gitignore.0ipczbzm.tmp").exists() and (out / ".gitignore").read_text() == "*\n"


def test_a_revoked_entrys_folder_goes_with_its_temporary_files(tmp_path: Path) -> None:
    spec = spec_at(tmp_path)
    mtlsgen.apply(spec)
    (tmp_path / "certs" / "bob" / ".tls.crt.deadbeef.tmp").write_text("half")
    spec = spec_at(tmp_path, BASE_SPEC.replace("  bob: {}", "  bob: {revoked: true}"))
    mtlsgen.apply(spec)
    assert not (tmp_path / "certs" / "bob").exists()


def test_links_are_refused_by_the_library_too(tmp_path: Path) -> None:
    spec = spec_at(tmp_path)
    mtlsgen.apply(spec)
    (tmp_path / "certs" / "bob" / "ca.crt").unlink()
    (tmp_path / "certs" / "bob" / "ca.crt").symlink_to("/etc/hostname")
    with pytest.raises(PlanError, match=r"certs/bob/ca\.crt is a symbolic link"):
        mtlsgen.plan(spec)


def test_gitignore_opened_to_everyone_is_restored(tmp_path: Path) -> None:
    spec = spec_at(tmp_path)
    mtlsgen.apply(spec)
    gitignore = tmp_path / "certs" / ".gitignore"
    gitignore.chmod(0o666)
    before = gitignore.stat().st_mtime_ns
    assert [r.kind.value for r in mtlsgen.plan(spec)["certs/"].reasons] == ["mode"]
    mtlsgen.apply(spec)
    assert gitignore.stat().st_mode & 0o777 == 0o644 and gitignore.stat().st_mtime_ns == before


def test_parents_of_a_nested_output_get_the_usual_mode_under_umask_000(tmp_path: Path) -> None:
    (tmp_path / "pki.yaml").write_text("version: 1\noutput: build/deep/certs\nca: {key: ecdsa-p256}\n"
                                       "clients:\n  bob: {}\n")
    from tests.helpers.engine import run_umask0

    result = run_umask0("apply", "pki.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "build").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "build" / "deep").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "build" / "deep" / "certs").stat().st_mode & 0o777 == 0o700
