"""The store cache saves decryptions and never changes a decision (mtlsgen/engine/store_cache.py).

Each case does something to the cache, or to the stores behind its back, then compares the plan and
every store's content read with the cache to those read with the cache moved away; then apply
converges: the next plan is empty, every store opens, and a no-op decrypts nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import jks
import pytest
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import load_pem_x509_certificate

import mtlsgen
from mtlsgen.crypto.stores import StoreContent
from mtlsgen.engine.state import State, read_state
from tests.helpers.common import run_cli
from tests.helpers.engine import spec_at

CACHE = ".mtlsgen-stores.json"
TRUST_PASS = "cache-test-trust-Pa55"
SPEC = """
version: 1
ca: {key: ecdsa-p256}
defaults: {key: ecdsa-p256}
servers:
  api:
    sans: [api.example.com]
    keystore: {formats: [pkcs12, jks]}
    truststore: {formats: [pkcs12, jks], password: {env: CACHE_TEST_TRUST_PASS}}
clients:
  alice:
    keystore: {formats: [pkcs12]}
    truststore: {formats: [pkcs12]}
  bob:
    keystore: {formats: [pkcs12], profile: legacy}
    truststore: {formats: [pkcs12], password: {env: CACHE_TEST_TRUST_PASS}}
"""
STORES = 8  # api: 2 × 2 formats; alice: 2; bob: 2


@pytest.fixture
def applied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> mtlsgen.Spec:
    monkeypatch.setenv("CACHE_TEST_TRUST_PASS", TRUST_PASS)
    spec = spec_at(tmp_path, SPEC)
    mtlsgen.apply(spec)
    return spec


Decisions = list[tuple[str, str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]]


def decisions(spec: mtlsgen.Spec) -> Decisions:
    return [(c.name, c.action.value, c.files, c.remove, tuple(r.kind.value for r in c.reasons))
            for c in mtlsgen.plan(spec).changes]


def contents(state: State) -> dict[str, object]:
    return {f"{name}/{s.file_name}": (s.content.value, s.content.problem, s.opens_with_generated)
            for name, entry in state.entries.items() for s in entry.stores}


def check(spec: mtlsgen.Spec) -> Decisions:
    """The plan and every store's content, with the cache as it is, equal those without any cache
    (the cache's own line aside: without a cache, apply writes one)."""
    with_cache, read_with = decisions(spec), contents(read_state(spec))
    path = spec.output / CACHE
    aside = spec.output.parent / "cache-aside"
    moved = os.path.lexists(path)
    if moved:
        os.rename(path, aside)  # a link or a FIFO moves as itself
    try:
        state = read_state(spec)
        assert state.store_cache.decrypted == sum(1 for c in contents(state).values() if c[0] is not None)
        assert (_but_the_cache(decisions(spec)), contents(state)) == (_but_the_cache(with_cache), read_with)
    finally:
        if moved:
            os.rename(aside, path)
    return with_cache


def _but_the_cache(decided: Decisions) -> Decisions:
    out = []
    for name, action, files, remove, kinds in decided:
        if name == "certs/" and action == "repack":
            files, kinds = tuple(f for f in files if f != CACHE), tuple(k for k in kinds if k != "store_cache")
            if not (files or remove or kinds):
                continue
        out.append((name, action, files, remove, kinds))
    return out


def cache_line(decided: Decisions) -> tuple[str, ...]:
    """The files of the output folder's change (the cache is listed there when apply writes it)."""
    return next((files for name, _, files, _, _ in decided if name == "certs/"), ())


def changed(decided: Decisions) -> set[str]:
    return {name for name, action, *_ in decided if action != "unchanged" and name != "certs/"}


def passwords(spec: mtlsgen.Spec) -> dict[str, str]:
    """Each store's password by "entry/kind", from its source as the spec gives it."""
    found = {}
    for entry in spec.entries:
        for store in (entry.keystore, entry.truststore):
            if store is not None and not entry.revoked:
                source = store.password
                found[f"{entry.name}/{store.kind}"] = os.environ[source.ref] if source.source == "env" else \
                    (spec.output / entry.name / f"{store.kind}.password").read_text().strip()
    return found


def converges(spec: mtlsgen.Spec) -> None:
    """apply once; then the folder is settled, the cache saves every decryption, and every store opens."""
    mtlsgen.apply(spec)
    assert mtlsgen.plan(spec).pending == ()
    state = read_state(spec)
    assert state.store_cache.decrypted == 0 and state.store_cache.current
    path = spec.output / CACHE
    assert not path.is_symlink() and path.is_file() and path.stat().st_mode & 0o777 == 0o600
    pw = passwords(spec)
    for store in sorted(p for p in spec.output.glob("*/*store.*") if p.suffix in (".p12", ".jks")):
        entry, kind = store.parent.name, store.stem
        password = pw[f"{entry}/{kind}"]
        leaf = load_pem_x509_certificate((store.parent / "tls.crt").read_bytes())
        if store.suffix == ".p12":
            loaded = pkcs12.load_pkcs12(store.read_bytes(), password.encode())
            if kind == "keystore":
                assert loaded.cert is not None and loaded.cert.certificate == leaf
            else:
                assert len(loaded.additional_certs) == 1
        else:
            keystore = jks.KeyStore.loads(store.read_bytes(), password)
            assert len(keystore.private_keys if kind == "keystore" else keystore.certs) == 1


def test_a_no_op_decrypts_nothing_and_the_cache_holds_no_password(applied: mtlsgen.Spec) -> None:
    path = applied.output / CACHE
    assert path.stat().st_mode & 0o777 == 0o600
    state = read_state(applied)
    assert state.store_cache.decrypted == 0 and len(state.store_cache.records) == STORES
    text = path.read_bytes()
    values = set(passwords(applied).values())
    assert len(values) == 5  # api's keystore, alice's two, bob's keystore: generated; the shared truststore one
    for value in values:
        assert value.encode() not in text
    before = (text, path.stat().st_mtime_ns)
    plan, result = mtlsgen.apply(applied)
    assert plan.pending == () and result.written == ()
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before  # a no-op writes nothing, the cache included
    assert run_cli("plan", cwd=applied.output.parent, env={"CACHE_TEST_TRUST_PASS": TRUST_PASS}).stdout == \
        "No changes: 4 up to date.\n"


def test_records_apply_wrote_equal_the_stores_decrypted(applied: mtlsgen.Spec) -> None:
    """apply describes each store it writes from what it put in; that must be what decryption finds."""
    assert changed(check(applied)) == set()
    assert all(value is not None for value, _, _ in contents(read_state(applied)).values())


def test_a_deleted_cache_is_listed_by_plan_and_rewritten_by_apply(applied: mtlsgen.Spec) -> None:
    (applied.output / CACHE).unlink()
    decided = check(applied)
    assert cache_line(decided) == (CACHE,) and changed(decided) == set()
    assert ("certs/", "repack", (CACHE,), (), ("store_cache",)) in decided
    result = run_cli("plan", cwd=applied.output.parent, env={"CACHE_TEST_TRUST_PASS": TRUST_PASS})
    assert result.stdout == "  ~ certs/  repack    .mtlsgen-stores.json: store cache missing\n" \
                            "Plan: 1 to repack. 4 unchanged.\n"
    assert not (applied.output / CACHE).exists()  # plan never writes it
    state = read_state(applied)
    assert state.store_cache.decrypted == STORES
    converges(applied)


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _corrupted(data: bytes) -> bytes:
    return b"\x00garbage{" + data[9:]


def _emptied(data: bytes) -> bytes:
    return b""


def _edited(field: str, value: object) -> Callable[[bytes], bytes]:
    """Every record's content says something else (the tag no longer vouches for it)."""
    def edit(data: bytes) -> bytes:
        doc = json.loads(data)
        for record in doc["stores"].values():
            record["content"][field] = value
        return json.dumps(doc).encode()
    return edit


def _salt_swapped(data: bytes) -> bytes:
    return json.dumps({**json.loads(data), "salt": "AAAAAAAAAAAAAAAAAAAAAA=="}).encode()


def _tags_dropped(data: bytes) -> bytes:
    doc = json.loads(data)
    for record in doc["stores"].values():
        record["tag"] = "0" * 64
    return json.dumps(doc).encode()


@pytest.mark.parametrize("damage", [_truncated, _corrupted, _emptied, _edited("profile", "other"),
                                    _edited("aliases", ["other"]), _salt_swapped, _tags_dropped],
                         ids=["truncated", "corrupted", "emptied", "profile-edited", "alias-edited", "salt-swapped",
                              "tags-dropped"])
def test_a_damaged_cache_is_no_cache(applied: mtlsgen.Spec, damage: Callable[[bytes], bytes]) -> None:
    path = applied.output / CACHE
    path.write_bytes(damage(path.read_bytes()))
    decided = check(applied)
    assert changed(decided) == set() and cache_line(decided) == (CACHE,)
    assert read_state(applied).store_cache.decrypted == STORES  # nothing it says is believed
    converges(applied)


def test_a_cache_that_says_what_the_spec_wants_is_not_believed(applied: mtlsgen.Spec) -> None:
    """bob's keystore is legacy; the spec now wants modern, and the cache is edited to claim modern."""
    path = applied.output / CACHE
    doc = json.loads(path.read_bytes())
    doc["stores"]["bob/keystore.p12"]["content"]["profile"] = "modern"
    path.write_text(json.dumps(doc))
    spec_file = applied.output.parent / "pki.yaml"
    spec_file.write_text(SPEC.replace("profile: legacy", "profile: modern"))
    spec = mtlsgen.load_spec(spec_file)
    decided = check(spec)
    assert changed(decided) == {"bob"}
    assert next(kinds for name, *_, kinds in decided if name == "bob") == ("store_profile",)
    converges(spec)


def test_a_store_edited_behind_its_back(applied: mtlsgen.Spec) -> None:
    out = applied.output
    store = out / "alice" / "keystore.p12"
    store.write_bytes(store.read_bytes()[:-7] + b"\x00" * 7)
    decided = check(applied)
    assert changed(decided) == {"alice"} and cache_line(decided) == (CACHE,)
    converges(applied)
    # Replaced by a valid store of the same password holding something else: bob's truststore.
    (out / "api" / "truststore.p12").write_bytes((out / "api" / "keystore.p12").read_bytes())
    (out / "api" / "keystore.p12").write_bytes((out / "bob" / "truststore.p12").read_bytes())
    decided = check(applied)
    assert changed(decided) == {"api"}
    converges(applied)


def test_two_stores_swapped(applied: mtlsgen.Spec) -> None:
    out = applied.output
    a, b = out / "alice" / "keystore.p12", out / "bob" / "keystore.p12"
    pa, pb = out / "alice" / "keystore.password", out / "bob" / "keystore.password"
    data_a, data_b, pass_a, pass_b = a.read_bytes(), b.read_bytes(), pa.read_bytes(), pb.read_bytes()
    a.write_bytes(data_b)
    b.write_bytes(data_a)
    assert changed(check(applied)) == {"alice", "bob"}  # neither opens with its own password
    pa.write_bytes(pass_b)
    pb.write_bytes(pass_a)
    assert changed(check(applied)) == {"alice", "bob"}  # each opens, and holds the other's key
    converges(applied)
    # Two truststores sharing one password swapped: they hold the same roots, only the cache is stale.
    ta, tb = out / "api" / "truststore.p12", out / "bob" / "truststore.p12"
    data_ta, data_tb = ta.read_bytes(), tb.read_bytes()
    ta.write_bytes(data_tb)
    tb.write_bytes(data_ta)
    decided = check(applied)
    assert changed(decided) == set() and cache_line(decided) == (CACHE,)
    converges(applied)


def test_the_password_source_changed(applied: mtlsgen.Spec, monkeypatch: pytest.MonkeyPatch) -> None:
    out = applied.output
    # The environment gives another value: the truststores no longer open with it.
    monkeypatch.setenv("CACHE_TEST_TRUST_PASS", "another-password")
    assert changed(check(applied)) == {"api", "bob"}
    monkeypatch.setenv("CACHE_TEST_TRUST_PASS", TRUST_PASS)
    # alice's keystore password moves from generated to the environment, first with the generated value.
    spec_file = out.parent / "pki.yaml"
    spec_file.write_text(SPEC.replace("    keystore: {formats: [pkcs12]}\n    truststore: {formats: [pkcs12]}",
                                      "    keystore: {formats: [pkcs12], password: {env: CACHE_TEST_ALICE}}\n"
                                      "    truststore: {formats: [pkcs12]}"))
    moved = mtlsgen.load_spec(spec_file)
    monkeypatch.setenv("CACHE_TEST_ALICE", (out / "alice" / "keystore.password").read_text().strip())
    decided = check(moved)  # the same value, now keyed as a chosen password: PBKDF2, not HMAC
    assert changed(decided) == {"alice"}  # the generated password file goes
    monkeypatch.setenv("CACHE_TEST_ALICE", "not-the-generated-one")
    assert changed(check(moved)) == {"alice"}
    converges(moved)
    # Back to generated (alice's password file went with the move: repacked), and bob's file edited.
    spec_file.write_text(SPEC)
    (out / "bob" / "keystore.password").write_text("edited\n")
    assert changed(check(applied)) == {"alice", "bob"}
    converges(applied)


@pytest.mark.parametrize("plant", ["symlink", "fifo"])
def test_a_link_or_a_fifo_as_the_cache_is_never_read(applied: mtlsgen.Spec, tmp_path: Path, plant: str) -> None:
    path = applied.output / CACHE
    valid = tmp_path / "elsewhere.json"
    valid.write_bytes(path.read_bytes())  # a cache that would vouch for every store, if it were read
    path.unlink()
    if plant == "symlink":
        path.symlink_to(valid)
    else:
        os.mkfifo(path)
    decided = check(applied)  # a FIFO read would block here: it is opened non-blocking, then refused
    assert changed(decided) == set() and cache_line(decided) == (CACHE,)
    assert read_state(applied).store_cache.decrypted == STORES
    converges(applied)
    assert valid.read_bytes() != path.read_bytes() or plant == "fifo"  # the link itself was replaced
    assert not path.is_symlink()


def test_a_folder_as_the_cache_is_refused_in_one_line(applied: mtlsgen.Spec) -> None:
    path = applied.output / CACHE
    path.unlink()
    path.mkdir()
    result = run_cli("apply", cwd=applied.output.parent, env={"CACHE_TEST_TRUST_PASS": TRUST_PASS})
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"error: certs/{CACHE} is a folder, where mtlsgen keeps its own file")
    assert path.is_dir()


def test_removed_stores_leave_the_cache(applied: mtlsgen.Spec) -> None:
    """A store the spec drops, or a revoked entry's, is removed with its record: one apply settles."""
    spec_file = applied.output.parent / "pki.yaml"
    api_truststore = "    truststore: {formats: [pkcs12, jks], password: {env: CACHE_TEST_TRUST_PASS}}\n"
    spec_file.write_text(SPEC.replace(api_truststore, "")
                         .replace("  alice:\n    keystore", "  alice:\n    revoked: true\n    keystore"))
    spec = mtlsgen.load_spec(spec_file)
    decided = check(spec)
    assert changed(decided) == {"ca", "api", "alice"} and cache_line(decided) == (CACHE,)  # ca: its CRL
    converges(spec)
    records = json.loads((spec.output / CACHE).read_bytes())["stores"]
    assert sorted(records) == ["api/keystore.jks", "api/keystore.p12", "bob/keystore.p12", "bob/truststore.p12"]


def test_records_of_stores_under_an_intermediate_equal_the_stores_decrypted(tmp_path: Path) -> None:
    """A longer chain, both formats and both profiles: apply's description of each store, in order."""
    spec = spec_at(tmp_path, """
version: 1
ca: {key: ecdsa-p256}
defaults: {key: ecdsa-p256}
intermediates:
  services-ca: {issuer: ca}
servers:
  orders:
    issuer: services-ca
    sans: [orders.example.com]
    keystore: {formats: [pkcs12, jks], alias: orders-key}
    truststore: {formats: [pkcs12, jks]}
clients:
  billing:
    issuer: services-ca
    keystore: {formats: [pkcs12], profile: legacy}
""")
    mtlsgen.apply(spec)
    state = read_state(spec)
    assert state.store_cache.decrypted == 0 and len(state.store_cache.records) == 5
    assert changed(check(spec)) == set()
    chain = contents(state)["orders/keystore.p12"][0]
    assert isinstance(chain, StoreContent) and len(chain.chain) == 3 and chain.key_aliases == ("orders-key",)
