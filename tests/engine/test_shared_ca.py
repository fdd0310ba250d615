"""A CA the team shares (`ca.shared`): the root lives beside the spec, its key encrypted, and every
clone that applies issues under it. Each "clone" is a copy of the spec and the shared folder in its
own tmp dir with its own output, as `git clone` would give a colleague or a CI job."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from mtlsgen import PlanError, SecretError, apply, load_spec, plan
from tests.helpers.engine import assert_verifies, snapshot, write
from tests.helpers.tls import handshake

PASSPHRASE = "team-Passphrase-7q2w"

SHARED_SPEC = """
version: 1
ca:
  cn: Team Root
  key: ecdsa-p256
  shared:
    folder: pki-ca
    passphrase: {file: ca-passphrase}
defaults: {key: ecdsa-p256}
servers:
  api: {sans: [localhost, 127.0.0.1]}
clients:
  alice: {}
"""


def project(folder: Path, spec: str = SHARED_SPEC, passphrase: str = PASSPHRASE) -> Path:
    """A checkout: the spec, and the passphrase file a colleague keeps outside git."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ca-passphrase").write_text(passphrase + "\n", encoding="utf-8")
    return write(folder / "pki.yaml", spec)


def clone(origin: Path, to: Path) -> Path:
    """What `git clone` gives: the spec and the committed shared folder, no output; modes as git sets them."""
    to.mkdir()
    shutil.copy(origin / "pki.yaml", to / "pki.yaml")
    shutil.copy(origin / "ca-passphrase", to / "ca-passphrase")
    shutil.copytree(origin / "pki-ca", to / "pki-ca")
    for file in (to / "pki-ca").iterdir():
        file.chmod(0o644)  # git keeps no modes beyond the executable bit
    return to / "pki.yaml"


@pytest.fixture
def first(tmp_path: Path) -> Path:
    spec = project(tmp_path / "first")
    apply(load_spec(spec))
    return spec.parent


def test_the_root_lives_in_the_shared_folder_with_its_key_encrypted(first: Path) -> None:
    assert sorted(os.listdir(first / "pki-ca")) == ["ca.crt", "ca.key"]
    assert not (first / "certs" / "ca").exists()  # nothing of the root stays in the output
    key = (first / "pki-ca" / "ca.key").read_bytes()
    assert b"BEGIN PRIVATE KEY" not in key and key.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert (first / "pki-ca" / "ca.key").stat().st_mode & 0o777 == 0o600
    assert (first / "pki-ca" / "ca.crt").stat().st_mode & 0o777 == 0o644
    assert not (first / "pki-ca" / ".gitignore").exists()  # it is meant to be committed
    assert (first / "certs" / ".gitignore").read_bytes() == b"*\n"  # the output still is not
    opened = subprocess.run(["openssl", "pkey", "-in", first / "pki-ca" / "ca.key", "-passin",
                             f"file:{first / 'ca-passphrase'}", "-noout"], capture_output=True, text=True, check=False)
    assert opened.returncode == 0, opened.stderr
    asn1 = subprocess.run(["openssl", "asn1parse", "-in", first / "pki-ca" / "ca.key"], capture_output=True,
                          text=True, check=True).stdout
    # What docs/spec.md states: PBES2, PBKDF2 with HMAC-SHA256, AES-256-CBC.
    assert ":PBES2" in asn1 and ":PBKDF2" in asn1 and ":hmacWithSHA256" in asn1 and ":aes-256-cbc" in asn1
    assert_verifies(first / "pki-ca" / "ca.crt", first / "certs" / "api" / "tls.crt")
    assert (first / "certs" / "api" / "ca.crt").read_bytes() == (first / "pki-ca" / "ca.crt").read_bytes()


def test_two_clones_issue_under_the_same_root_and_talk_mtls(first: Path, tmp_path: Path) -> None:
    a, b = clone(first, tmp_path / "a"), clone(first, tmp_path / "b")
    for spec in (a, b):
        _, done = apply(load_spec(spec))
        assert "ca" in {c.name for c in done.changes}  # only the modes git lost: 0644 → 0600
        assert not any(p.parent.name == "pki-ca" and p.name == "ca.key" for p in done.written)
    ca_a, ca_b = a.parent / "pki-ca" / "ca.crt", b.parent / "pki-ca" / "ca.crt"
    assert ca_a.read_bytes() == ca_b.read_bytes() == (first / "pki-ca" / "ca.crt").read_bytes()
    out_a, out_b = a.parent / "certs", b.parent / "certs"
    assert (out_a / "api" / "tls.key").read_bytes() != (out_b / "api" / "tls.key").read_bytes()  # own leaves
    assert_verifies(ca_b, out_a / "api" / "tls.crt")
    assert_verifies(ca_a, out_b / "alice" / "tls.crt")
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(out_a / "api" / "tls.crt", out_a / "api" / "tls.key")
    server.verify_mode = ssl.CERT_REQUIRED
    server.load_verify_locations(out_a / "api" / "ca.crt")
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(out_b / "alice" / "ca.crt")
    client.load_cert_chain(out_b / "alice" / "tls.crt", out_b / "alice" / "tls.key")
    result = handshake(server, client)
    assert (result.server_error, result.client_error) == (None, None)
    assert result.client_cn == "alice" and result.received == b"hello"


def test_a_fresh_clone_restores_the_key_mode_then_is_a_no_op(first: Path, tmp_path: Path) -> None:
    spec = load_spec(clone(first, tmp_path / "c"))
    change = plan(spec)["ca"]
    assert change.chmod == ("ca.key",) and change.files == ()
    apply(spec)
    assert (tmp_path / "c" / "pki-ca" / "ca.key").stat().st_mode & 0o777 == 0o600
    before = snapshot(tmp_path / "c")
    assert not plan(spec).pending
    assert apply(spec)[1].changes == ()
    assert snapshot(tmp_path / "c") == before


def test_a_wrong_passphrase_is_an_error_never_a_new_root(first: Path) -> None:
    (first / "ca-passphrase").write_text("not-the-passphrase\n", encoding="utf-8")
    (first / "certs" / "alice" / "tls.crt").unlink()  # something to do, that must not be done
    before = snapshot(first)
    with pytest.raises(SecretError) as caught:
        apply(load_spec(first / "pki.yaml"))
    assert str(caught.value) == "pki.yaml:7: ca.shared.passphrase: does not open pki-ca/ca.key (wrong passphrase?)"
    assert snapshot(first) == before


def test_a_key_changed_to_a_new_passphrase_with_openssl_is_read_and_kept(first: Path) -> None:
    key = first / "pki-ca" / "ca.key"
    (first / "new-passphrase").write_text("a-New-one-9x8c\n", encoding="utf-8")
    subprocess.run(["openssl", "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-iter", "600000", "-in", key,
                    "-passin", f"file:{first / 'ca-passphrase'}", "-out", key.with_suffix(".new"),
                    "-passout", f"file:{first / 'new-passphrase'}"], check=True, capture_output=True)
    key.with_suffix(".new").replace(key)
    key.chmod(0o600)
    shutil.copy(first / "new-passphrase", first / "ca-passphrase")
    spec = load_spec(first / "pki.yaml")
    assert not plan(spec).pending
    (first / "certs" / "alice" / "tls.crt").unlink()
    apply(spec)
    assert_verifies(first / "pki-ca" / "ca.crt", first / "certs" / "alice" / "tls.crt")


def test_a_key_in_the_clear_in_the_shared_folder_is_refused(first: Path) -> None:
    key = first / "pki-ca" / "ca.key"
    subprocess.run(["openssl", "pkey", "-in", key, "-passin", f"file:{first / 'ca-passphrase'}", "-out",
                    key.with_suffix(".clear")], check=True, capture_output=True)
    key.with_suffix(".clear").replace(key)
    with pytest.raises(PlanError, match=r"^pki-ca/ca.key is not encrypted, .*openssl pkcs8 -topk8"):
        plan(load_spec(first / "pki.yaml"))


def test_replace_ca_writes_the_new_key_encrypted_in_the_shared_folder(first: Path) -> None:
    spec = load_spec(first / "pki.yaml")
    old = (first / "pki-ca" / "ca.crt").read_bytes()
    apply(spec, replace=["ca"])
    assert (first / "pki-ca" / "ca.crt").read_bytes() != old
    assert (first / "pki-ca" / "ca.key").read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert sorted(os.listdir(first / "pki-ca")) == ["ca.crt", "ca.key"]
    assert_verifies(first / "pki-ca" / "ca.crt", first / "certs" / "api" / "tls.crt")
    assert not plan(spec).pending


def test_revocation_writes_the_crl_into_the_shared_folder(first: Path) -> None:
    text = SHARED_SPEC.replace("  key: ecdsa-p256\n  shared:", "  key: ecdsa-p256\n  crl: {validity: 7d}\n  shared:")
    spec = load_spec(write(first / "pki.yaml", text.replace("  alice: {}", "  alice: {revoked: true}")))
    apply(spec)
    assert sorted(os.listdir(first / "pki-ca")) == ["ca.crl", "ca.crt", "ca.key"]
    crl = subprocess.run(["openssl", "crl", "-in", first / "pki-ca" / "ca.crl", "-noout", "-text"],
                         capture_output=True, text=True, check=True).stdout
    assert "Serial Number" in crl
    assert (first / "certs" / "api" / "ca.crl").read_bytes() == (first / "pki-ca" / "ca.crl").read_bytes()


def test_a_root_left_in_the_output_is_refused_with_the_commands_that_move_it(tmp_path: Path) -> None:
    spec_file = project(tmp_path / "p", SHARED_SPEC.replace("  shared:\n    folder: pki-ca\n"
                                                            "    passphrase: {file: ca-passphrase}\n", ""))
    apply(load_spec(spec_file))
    write(spec_file, SHARED_SPEC)
    before = snapshot(tmp_path / "p")
    with pytest.raises(PlanError) as caught:
        apply(load_spec(spec_file))
    message = str(caught.value)
    assert message.startswith("certs/ca/ holds the root CA, and ca.shared keeps it in pki-ca/ now")
    assert snapshot(tmp_path / "p") == before
    command = message.split("`")[1]  # the commands the message gives, run as the user would
    subprocess.run(command, shell=True, cwd=tmp_path / "p", check=True, capture_output=True)
    old_root = (tmp_path / "p" / "pki-ca" / "ca.crt").read_bytes()
    _, done = apply(load_spec(spec_file))
    assert not any(c.new_cert for c in done.changes)  # the same root, now shared: nothing reissued
    assert (tmp_path / "p" / "pki-ca" / "ca.crt").read_bytes() == old_root
    assert_verifies(tmp_path / "p" / "pki-ca" / "ca.crt", tmp_path / "p" / "certs" / "alice" / "tls.crt")


def test_a_shared_ca_rotates_and_every_clone_follows(tmp_path: Path) -> None:
    """The rotation's files live in the shared folder too, their keys encrypted; a colleague who pulls
    the folder at each phase gets the same bundles as the person who ran the step."""
    from datetime import datetime, timedelta, timezone

    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    t0 = datetime.now(timezone.utc) - timedelta(days=60)
    spec_file = project(tmp_path / "first")
    spec = load_spec(spec_file)
    apply(spec, now=t0)
    apply(spec, now=t0 + timedelta(days=1), rotate=["ca"])
    shared = spec_file.parent / "pki-ca"
    for name in ("next.key", "ca.key"):
        data = (shared / name).read_bytes()
        assert data.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        load_pem_private_key(data, PASSPHRASE.encode())  # the team's passphrase opens it
    colleague = load_spec(clone(spec_file.parent, tmp_path / "colleague"))
    apply(colleague, now=t0 + timedelta(days=2))
    both = (spec_file.parent / "certs" / "alice" / "ca.crt").read_bytes()
    assert both.count(b"BEGIN CERTIFICATE") == 2
    assert (tmp_path / "colleague" / "certs" / "alice" / "ca.crt").read_bytes() == both
    apply(spec, now=t0 + timedelta(days=9))  # the move
    assert sorted(os.listdir(shared)) == ["ca.crt", "ca.key", "previous.crt", "previous.key"]
    assert (shared / "previous.key").read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    later = load_spec(clone(spec_file.parent, tmp_path / "later"))
    apply(later, now=t0 + timedelta(days=10))
    assert_verifies(shared / "ca.crt", tmp_path / "later" / "certs" / "alice" / "tls.crt")
    assert plan(later, now=t0 + timedelta(days=10)).pending == ()


def test_a_rotation_key_the_passphrase_does_not_open_is_an_error_not_a_restart(tmp_path: Path) -> None:
    """Re-encrypting ca.key alone for a new passphrase leaves next.key under the old one: that is named,
    never taken for a lost incoming CA (which would start the rotation over with a new key)."""
    from datetime import datetime, timedelta, timezone

    t0 = datetime.now(timezone.utc) - timedelta(days=60)
    spec_file = project(tmp_path / "team")
    apply(load_spec(spec_file), now=t0)
    apply(load_spec(spec_file), now=t0 + timedelta(days=1), rotate=["ca"])
    shared = spec_file.parent / "pki-ca"
    new = "a-new-team-Passphrase-3"
    subprocess.run(["openssl", "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", str(shared / "ca.key"),
                    "-passin", f"pass:{PASSPHRASE}", "-passout", f"pass:{new}", "-out", str(shared / "ca.key.new")],
                   check=True, capture_output=True)
    os.replace(shared / "ca.key.new", shared / "ca.key")
    (spec_file.parent / "ca-passphrase").write_text(new + "\n")
    before = snapshot(shared)
    with pytest.raises(SecretError, match=r"does not open pki-ca/next\.key"):
        plan(load_spec(spec_file), now=t0 + timedelta(days=2))
    assert snapshot(shared) == before
