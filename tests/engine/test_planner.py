"""The planner as a pure function of (spec, state, now): docs/spec.md "When apply regenerates", one
case a row, and the cascade rules, driven with State values built in memory — no disk, no subprocess.

Expected outcomes are written out by hand from the spec's rules, never computed by the planner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa
from cryptography.x509.oid import NameOID

from mtlsgen import Action, Kind, Plan, PlanError, make_plan
from mtlsgen.crypto.crl import issue_crl
from mtlsgen.crypto.keys import generate_key
from mtlsgen.crypto.stores import StoreContent
from mtlsgen.engine.changes import CertRef
from mtlsgen.engine.layout import STORE_CACHE
from mtlsgen.engine.loaded import Loaded
from mtlsgen.engine.state import State
from tests.helpers.engine import ca_key_usage
from tests.helpers.world import PASSWORD, World, fresh, spec_of, with_entry

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)

FLAT = """
version: 1
ca: {key: ecdsa-p256}
defaults: {key: ecdsa-p256}
servers:
  api:
    cn: api.example.com
    sans: [api.example.com, 127.0.0.1]
    validity: 90d
    keystore: {formats: [pkcs12]}
    truststore: {formats: [pkcs12]}
clients:
  alice: {}
  bob: {key_rotation: never}
"""

TREE = """
version: 1
ca: {key: ecdsa-p256, crl: {validity: 30d}}
defaults: {key: ecdsa-p256}
intermediates:
  services: {}
servers:
  api: {issuer: services, sans: [api.example.com]}
clients:
  alice: {issuer: services}
  rooted: {}
"""


def plan_of(text: str, state: State | None = None, *, now: datetime = NOW, **options: object) -> Plan:
    spec = spec_of(text)
    return make_plan(spec, state if state is not None else World(spec, NOW).state(), now=now, **options)  # type: ignore[arg-type]


def world(text: str = FLAT) -> World:
    return World(spec_of(text), NOW)


def kinds(plan: Plan, name: str) -> list[Kind]:
    return [r.kind for r in plan[name].reasons]


def pending(plan: Plan) -> dict[str, Action]:
    """The pending changes, less the output folder's when it only records the stores written (its own test)."""
    return {c.name: c.action for c in plan.pending
            if not (c.scope == "output" and c.action is Action.REPACK and c.files == (STORE_CACHE,)
                    and not c.chmod and not c.remove)}


# -- nothing to do, and everything to do ---------------------------------------------------------


def test_a_settled_world_plans_nothing() -> None:
    assert pending(plan_of(FLAT)) == {}


def test_a_settled_world_a_day_later_plans_nothing() -> None:
    assert pending(plan_of(FLAT, now=NOW + DAY)) == {}


def test_an_empty_folder_creates_every_entry_and_the_output_folder() -> None:
    spec = spec_of(FLAT)
    plan = make_plan(spec, fresh(spec), now=NOW)
    assert pending(plan) == {"certs/": Action.CREATE, "ca": Action.CREATE, "api": Action.CREATE,
                             "alice": Action.CREATE, "bob": Action.CREATE}
    assert all(c.new_key and c.new_cert for c in plan.changes if c.scope == "entry")
    assert plan["certs/"].files == (".gitignore", STORE_CACHE)  # the stores apply writes are recorded
    assert plan["ca"].files == ("ca.key", "ca.crt")
    # Every file apply writes is listed, the generated passwords included.
    assert set(plan["api"].files) == {"tls.crt", "tls.key", "ca.crt", "keystore.p12", "truststore.p12",
                                      "keystore.password", "truststore.password"}
    assert set(plan["alice"].files) == {"tls.crt", "tls.key", "ca.crt"}


# -- "missing or unreadable files are made" ------------------------------------------------------


def test_missing_leaf_certificate_is_reissued() -> None:
    w = world()
    plan = plan_of(FLAT, with_entry(w.state(), "alice", certs=Loaded(problem="missing")))
    assert pending(plan) == {"alice": Action.REISSUE}
    assert (plan["alice"].reasons[0].kind, plan["alice"].reasons[0].file) == (Kind.MISSING, "tls.crt")


def test_unreadable_leaf_certificate_is_reissued_saying_why() -> None:
    w = world()
    plan = plan_of(FLAT, with_entry(w.state(), "alice", certs=Loaded(problem="unreadable: no PEM certificate in it")))
    reason, new_key = plan["alice"].reasons
    assert (reason.kind, reason.file, reason.detail) == (Kind.UNREADABLE, "tls.crt", "no PEM certificate in it")
    assert (new_key.kind, new_key.detail) == (Kind.NEW_KEY, "key_rotation: always")  # the plan says why


def test_missing_leaf_key_means_a_new_key() -> None:
    w = world()
    plan = plan_of(FLAT, with_entry(w.state(), "alice", key=Loaded(problem="missing")))
    assert pending(plan) == {"alice": Action.REPLACE}
    assert plan["alice"].new_key and kinds(plan, "alice") == [Kind.MISSING]


def test_unreadable_leaf_key_means_a_new_key() -> None:
    w = world()
    plan = plan_of(FLAT, with_entry(w.state(), "bob", key=Loaded(problem="unreadable: not a PEM private key")))
    assert pending(plan) == {"bob": Action.REPLACE} and plan["bob"].new_key


def test_missing_ca_bundle_is_rewritten_alone() -> None:
    plan = plan_of(FLAT, with_entry(world().state(), "alice", bundle=Loaded(problem="missing")))
    assert pending(plan) == {"alice": Action.REPACK}
    assert plan["alice"].files == ("ca.crt",) and not plan["alice"].new_cert


def test_missing_store_is_rebuilt_without_reissuing() -> None:
    w = world()
    state = w.state()
    stores = tuple(replace(s, content=Loaded(problem="missing")) if s.file_name == "keystore.p12" else s
                   for s in state["api"].stores)
    plan = plan_of(FLAT, with_entry(state, "api", stores=stores))
    assert pending(plan) == {"api": Action.REPACK} and plan["api"].files == ("keystore.p12",)
    # apply records the store it writes in the store cache: the output folder's change says so.
    assert plan["certs/"].files == (STORE_CACHE,) and kinds(plan, "certs/") == [Kind.STORE_CACHE]


def test_a_store_whose_generated_password_is_lost_gets_a_new_one() -> None:
    state = world().state()
    stores = tuple(replace(s, password=None, content=Loaded(problem="unreadable: its generated password file "
                                                                     "is missing"))
                   if s.file_name == "keystore.p12" else s for s in state["api"].stores)
    plan = plan_of(FLAT, with_entry(state, "api", stores=stores))
    assert kinds(plan, "api") == [Kind.STORE_PASSWORD_LOST]
    assert set(plan["api"].files) == {"keystore.p12", "keystore.password"}
    assert plan["api"].materials.secret("keystore").value is None  # apply generates it


# -- "a certificate is reissued when …" ----------------------------------------------------------


@pytest.mark.parametrize(("edit", "kind", "names"), [
    (("sans: [api.example.com, 127.0.0.1]", "sans: [api.example.com, new.example.com, 127.0.0.1]"),
     Kind.SANS, ("+DNS:new.example.com",)),
    (("sans: [api.example.com, 127.0.0.1]", "sans: [api.example.com]"), Kind.SANS, ("-IP:127.0.0.1",)),
    (("validity: 90d", "validity: 90d\n    usages: [serverAuth, clientAuth]"), Kind.USAGES, ("+clientAuth",)),
], ids=["san-added", "san-removed", "usage-added"])
def test_drift_in_a_list_reissues_with_the_difference(edit: tuple[str, str], kind: Kind,
                                                      names: tuple[str, ...]) -> None:
    state = world().state()
    plan = plan_of(FLAT.replace(*edit), state)
    assert pending(plan) == {"api": Action.REISSUE}
    (reason,) = [r for r in plan["api"].reasons if r.kind is kind]
    assert reason.names == names
    assert plan["api"].new_key  # key_rotation: always


@pytest.mark.parametrize(("edit", "kind", "old", "new"), [
    (("cn: api.example.com", "cn: web.example.com"), Kind.CN, "api.example.com", "web.example.com"),
    (("validity: 90d", "validity: 30d"), Kind.VALIDITY, "90d", "30d"),
], ids=["cn", "validity"])
def test_drift_in_a_value_reissues_with_old_and_new(edit: tuple[str, str], kind: Kind, old: str, new: str) -> None:
    plan = plan_of(FLAT.replace(*edit), world().state())
    assert pending(plan) == {"api": Action.REISSUE}
    reason, new_key = plan["api"].reasons
    assert (reason.kind, reason.old, reason.new) == (kind, old, new)
    assert new_key.kind is Kind.NEW_KEY


def test_a_subject_attribute_change_is_a_subject_reason() -> None:
    text = FLAT.replace("defaults: {key: ecdsa-p256}", "defaults: {key: ecdsa-p256, subject: {O: Acme}}")
    plan = plan_of(text, World(spec_of(FLAT), NOW).state())
    # Every certificate's subject changes, the CA's too: the CA is reissued with its key, the leaves under it.
    assert Kind.SUBJECT in kinds(plan, "ca") and not plan["ca"].new_key
    assert Kind.SUBJECT in kinds(plan, "alice")


def test_key_type_change_of_a_leaf_means_a_new_key() -> None:
    plan = plan_of(FLAT.replace("  alice: {}", "  alice: {key: ecdsa-p384}"), world().state())
    assert pending(plan) == {"alice": Action.REPLACE}
    (reason,) = plan["alice"].reasons
    assert (reason.kind, reason.old, reason.new) == (Kind.KEY_TYPE, "ecdsa-p256", "ecdsa-p384")


def test_a_certificate_that_does_not_match_its_key_is_reissued() -> None:
    w = world()
    plan = plan_of(FLAT, with_entry(w.state(), "bob", key=Loaded(generate_key("ecdsa-p256"))))
    assert pending(plan) == {"bob": Action.REISSUE}
    assert kinds(plan, "bob") == [Kind.KEY_MISMATCH]
    assert not plan["bob"].new_key  # key_rotation: never keeps the key on disk


def test_a_certificate_not_signed_by_its_issuers_key_is_reissued() -> None:
    w = world()
    spec = spec_of(FLAT)
    forged = w.issue(spec["alice"], signer=generate_key("ecdsa-p256"))
    plan = plan_of(FLAT, with_entry(w.state(), "alice", certs=Loaded((forged,))))
    assert pending(plan) == {"alice": Action.REISSUE}
    assert kinds(plan, "alice") == [Kind.NOT_SIGNED_BY_ISSUER, Kind.NEW_KEY]


def test_a_crl_url_added_to_the_ca_reissues_every_leaf_it_issues() -> None:
    text = FLAT.replace("ca: {key: ecdsa-p256}", "ca: {key: ecdsa-p256, crl: {url: 'http://pki.example/ca.crl'}}")
    plan = plan_of(text, world().state())
    for name in ("api", "alice", "bob"):
        assert Kind.CRL_URL in kinds(plan, name)
        assert [r.new for r in plan[name].reasons if r.kind is Kind.CRL_URL] == ["http://pki.example/ca.crl"]
    assert Kind.MISSING in kinds(plan, "ca")  # its CRL is written now


# -- "… or when its renewal time has come" --------------------------------------------------------


def test_a_leaf_within_renew_before_is_renewed_with_a_new_key() -> None:
    # api: 90d, renew_before 33% → due after ~60.3 days
    assert pending(plan_of(FLAT, now=NOW + 60 * DAY)) == {}
    plan = plan_of(FLAT, now=NOW + 61 * DAY)
    assert pending(plan) == {"api": Action.RENEW}
    reason, new_key = plan["api"].reasons
    assert new_key.kind is Kind.NEW_KEY
    assert (reason.kind, reason.days, reason.detail) == (Kind.EXPIRING, 29, "33%")
    assert plan["api"].new_key


def test_key_rotation_never_renews_with_the_same_key() -> None:
    plan = plan_of(FLAT, now=NOW + 250 * DAY)  # clients: 365d, due after ~244.6 days
    assert pending(plan) == {"alice": Action.RENEW, "bob": Action.RENEW, "api": Action.RENEW}
    assert plan["alice"].new_key and not plan["bob"].new_key


def test_an_expired_leaf_says_expired() -> None:
    plan = plan_of(FLAT, now=NOW + 91 * DAY)
    reason = plan["api"].reasons[0]
    assert reason.kind is Kind.EXPIRED
    assert reason.when is not None and reason.when < NOW + 91 * DAY


LONG_ROOT = FLAT.replace("ca: {key: ecdsa-p256}", "ca: {key: ecdsa-p256, validity: 400d, renew_before: 10d}").replace(
    "defaults: {key: ecdsa-p256}", "defaults: {key: ecdsa-p256, validity: 398d, renew_before: 2d}").replace(
    "validity: 90d", "validity: 398d")


def test_a_ca_past_its_renewal_time_is_renewed_with_its_key_and_leaves_get_the_new_root() -> None:
    plan = plan_of(LONG_ROOT, World(spec_of(LONG_ROOT), NOW).state(), now=NOW + 391 * DAY)
    assert plan["ca"].action is Action.RENEW and not plan["ca"].new_key
    assert plan["ca"].files == ("ca.crt",)
    # The leaves are not due: they keep their certificates and get the renewed root.
    assert plan["bob"].action is Action.REPACK and plan["bob"].files == ("ca.crt",) and not plan["bob"].new_cert


def test_a_ca_that_a_leaf_issued_now_would_outlive_is_renewed_first() -> None:
    text = FLAT.replace("ca: {key: ecdsa-p256}", "ca: {key: ecdsa-p256, validity: 100d}")
    text = text.replace("defaults: {key: ecdsa-p256}", "defaults: {key: ecdsa-p256, validity: 90d}")
    w = World(spec_of(text), NOW)
    state = with_entry(w.state(), "alice", certs=Loaded(problem="missing"))
    plan = plan_of(text, state, now=NOW + 20 * DAY)  # alice (90d from now) would end after the CA (100d from NOW)
    assert plan["ca"].action is Action.RENEW and not plan["ca"].new_key
    outlived = [r for r in plan["ca"].reasons if r.kind is Kind.OUTLIVED]
    assert outlived and outlived[0].names == ("alice",)


def test_a_leaf_living_as_long_as_its_ca_does_not_renew_the_ca_every_run() -> None:
    text = FLAT.replace("ca: {key: ecdsa-p256}", "ca: {key: ecdsa-p256, validity: 365d}")
    assert pending(plan_of(text, World(spec_of(text), NOW).state(), now=NOW + 5 * DAY)) == {}


# -- CA keys are never replaced implicitly --------------------------------------------------------


def test_a_missing_ca_key_blocks() -> None:
    plan = plan_of(FLAT, with_entry(world().state(), "ca", key=Loaded(problem="missing")))
    assert plan["ca"].action is Action.BLOCKED
    assert kinds(plan, "ca") == [Kind.MISSING, Kind.CA_KEY_KEPT]


def test_a_ca_key_type_change_blocks() -> None:
    plan = plan_of(FLAT.replace("ca: {key: ecdsa-p256}", "ca: {key: ecdsa-p384}"), world().state())
    assert plan["ca"].action is Action.BLOCKED and kinds(plan, "ca")[0] is Kind.KEY_TYPE


def test_a_ca_key_swapped_for_another_blocks() -> None:
    plan = plan_of(FLAT, with_entry(world().state(), "ca", key=Loaded(generate_key("ecdsa-p256"))))
    assert plan["ca"].action is Action.BLOCKED and kinds(plan, "ca")[0] is Kind.CA_KEY_NOT_OF_CERT


def test_a_swapped_ca_certificate_is_repaired_when_what_it_issued_proves_the_key() -> None:
    w = world()
    stranger = w.issue(spec_of(FLAT)["ca"], key=generate_key("ecdsa-p256"), signer=generate_key("ecdsa-p256"))
    plan = plan_of(FLAT, with_entry(w.state(), "ca", certs=Loaded((stranger,))))
    assert plan["ca"].action is Action.REISSUE and not plan["ca"].new_key


def test_replace_ca_rekeys_it_and_reissues_everything_under_it() -> None:
    plan = plan_of(FLAT, replace_names=["ca"])
    assert pending(plan) == {"ca": Action.REPLACE, "api": Action.REISSUE, "alice": Action.REISSUE,
                             "bob": Action.REISSUE}
    assert plan["ca"].new_key and plan["ca"].files == ("ca.key", "ca.crt")
    assert all(Kind.ISSUER_REKEYED in kinds(plan, n) for n in ("api", "alice", "bob"))


def test_replace_a_leaf_touches_only_that_leaf() -> None:
    plan = plan_of(FLAT, replace_names=["bob"])
    assert pending(plan) == {"bob": Action.REPLACE} and plan["bob"].new_key


def test_replace_an_unknown_entry_is_an_error() -> None:
    with pytest.raises(PlanError, match="--replace carol: no such entry"):
        plan_of(FLAT, replace_names=["carol"])


# -- cascades through a hierarchy -----------------------------------------------------------------


def test_replacing_an_intermediate_reissues_only_its_subtree() -> None:
    plan = plan_of(TREE, replace_names=["services"])
    assert pending(plan) == {"services": Action.REPLACE, "api": Action.REISSUE, "alice": Action.REISSUE}


def test_a_renewed_intermediate_updates_its_leaves_chains_without_reissuing_them() -> None:
    text = TREE.replace("  services: {}", "  services: {validity: 100d, renew_before: 10d}")
    text = text.replace("defaults: {key: ecdsa-p256}", "defaults: {key: ecdsa-p256, validity: 95d, renew_before: 2d}")
    text = text.replace("ca: {key: ecdsa-p256,", "ca: {key: ecdsa-p256, validity: 10y, renew_before: 33%,")
    plan = plan_of(text, World(spec_of(text), NOW).state(), now=NOW + 91 * DAY)
    # The root's CRL (30d) is long due by then too.
    assert pending(plan) == {"ca": Action.REPACK, "services": Action.RENEW, "api": Action.REPACK,
                             "alice": Action.REPACK}
    assert kinds(plan, "ca") == [Kind.CRL_DUE] and not plan["services"].new_key
    for name in ("api", "alice"):
        assert plan[name].reasons[0].kind is Kind.CHAIN_RENEWED and plan[name].reasons[0].names == ("services",)
        assert plan[name].files[0] == "tls.crt" and not plan[name].new_cert
    # The server's CRL file holds both CRLs, and both are renewed: it is rewritten too.
    assert (plan["api"].reasons[1].kind, plan["api"].reasons[1].names) == (Kind.CRL_BUNDLE_RENEWED, ("ca", "services"))
    assert plan["api"].files == ("tls.crt", "ca.crl") and plan["alice"].files == ("tls.crt",)


def test_a_renewed_root_gives_leaves_a_new_ca_crt_and_truststores() -> None:
    plan = plan_of(LONG_ROOT, World(spec_of(LONG_ROOT), NOW).state(), now=NOW + 391 * DAY)
    assert plan["ca"].action is Action.RENEW
    assert {(r.kind, r.file) for r in plan["api"].reasons} == {
        (Kind.ROOT_RENEWED, "ca.crt"), (Kind.STORE_CHAIN_RENEWED, "keystore.p12"),
        (Kind.STORE_TRUST_RENEWED, "truststore.p12")}


def test_a_stale_chain_in_tls_crt_is_rewritten() -> None:
    w = World(spec_of(TREE), NOW)
    state = w.state()
    leaf = state["alice"].certs.value
    assert leaf is not None
    plan = plan_of(TREE, with_entry(state, "alice", certs=Loaded((leaf[0],))))  # the intermediate dropped
    assert kinds(plan, "alice") == [Kind.CHAIN_STALE] and plan["alice"].files == ("tls.crt",)


def test_a_foreign_root_in_ca_crt_is_rewritten() -> None:
    other = World(spec_of(FLAT), NOW)
    plan = plan_of(FLAT, with_entry(world().state(), "alice", bundle=Loaded((other.certs["ca"],))))
    assert kinds(plan, "alice") == [Kind.ROOT_STALE]


def test_apply_gets_the_chain_and_anchor_decided_by_the_plan() -> None:
    plan = plan_of(TREE, replace_names=["services"])
    materials = plan["api"].materials
    assert materials.chain == (CertRef(entry="services"),) and materials.anchor == CertRef(entry="ca")
    assert plan_of(TREE)["rooted"].materials.chain == ()


# -- stores ---------------------------------------------------------------------------------------


def _with_store(state: State, file_name: str, **content: object) -> State:
    stores = tuple(replace(s, content=Loaded(replace(s.content.value, **content)))  # type: ignore[arg-type]
                   if s.file_name == file_name else s for s in state["api"].stores)
    return with_entry(state, "api", stores=stores)


def test_a_keystore_with_another_alias_is_rebuilt() -> None:
    plan = plan_of(FLAT, _with_store(world().state(), "keystore.p12", key_aliases=("web",)))
    (reason,) = plan["api"].reasons
    assert (reason.kind, reason.old, reason.new) == (Kind.STORE_ALIAS, "web", "api")


def test_a_keystore_holding_another_key_is_rebuilt() -> None:
    plan = plan_of(FLAT, _with_store(world().state(), "keystore.p12", public_key=b"other"))
    assert kinds(plan, "api") == [Kind.STORE_KEY_OR_CHAIN] and plan["api"].files == ("keystore.p12",)


def test_a_truststore_trusting_something_else_is_rebuilt() -> None:
    plan = plan_of(FLAT, _with_store(world().state(), "truststore.p12", trusted=frozenset({("ca", b"x")})))
    assert kinds(plan, "api") == [Kind.STORE_TRUST_DIFFERS]


def test_a_store_of_another_profile_is_rebuilt() -> None:
    plan = plan_of(FLAT, _with_store(world().state(), "keystore.p12", profile="legacy"))
    (reason,) = plan["api"].reasons
    assert (reason.kind, reason.old, reason.new) == (Kind.STORE_PROFILE, "legacy", "modern")


def test_a_non_ascii_pkcs12_password_is_refused_at_plan() -> None:
    state = world().state()
    stores = tuple(replace(s, password="pässword") for s in state["api"].stores)
    with pytest.raises(PlanError, match="printable ASCII"):
        plan_of(FLAT, with_entry(state, "api", stores=stores))


def test_the_store_password_reaches_apply_but_never_repr() -> None:
    plan = plan_of(FLAT)
    secret = plan["api"].materials.secret("keystore")
    assert secret.value == PASSWORD and PASSWORD not in repr(plan)


def test_a_store_dropped_from_the_spec_is_removed() -> None:
    text = FLAT.replace("    truststore: {formats: [pkcs12]}\n", "")
    state = world().state()
    plan = plan_of(text, state)
    assert pending(plan) == {"api": Action.REPACK}
    assert set(plan["api"].remove) == {"truststore.p12", "truststore.password"} and plan["api"].files == ()


# -- key protection -------------------------------------------------------------------------------


def test_a_key_password_added_rewrites_only_tls_key_with_the_same_key() -> None:
    text = FLAT.replace("  bob: {key_rotation: never}", "  bob: {key_rotation: never, key_password: {generate: true}}")
    plan = plan_of(text, world().state())
    assert pending(plan) == {"bob": Action.REPACK}
    assert set(plan["bob"].files) == {"tls.key", "tls.key.password"} and not plan["bob"].new_key
    assert plan["bob"].reasons[0].detail == "encrypt"


def test_a_key_password_removed_decrypts_the_key() -> None:
    state = with_entry(world().state(), "bob", key_encrypted=True, key_password="old")
    plan = plan_of(FLAT, state)
    assert [(r.kind, r.detail) for r in plan["bob"].reasons] == [(Kind.KEY_PROTECTION, "decrypt")]


# -- modes, the output folder, orphans ------------------------------------------------------------


def test_a_loosened_mode_is_restored_without_rewriting() -> None:
    state = world().state()
    plan = plan_of(FLAT, with_entry(state, "alice", modes={**state["alice"].modes, "tls.key": 0o644}))
    assert plan["alice"].chmod == ("tls.key",) and plan["alice"].files == ()
    (reason,) = plan["alice"].reasons
    assert (reason.kind, reason.old, reason.new) == (Kind.MODE, "0644", "0600")


def test_a_missing_gitignore_and_an_open_output_folder_are_repaired() -> None:
    state = replace(world().state(), gitignore=None, output_mode=0o755)
    plan = plan_of(FLAT, state)
    assert plan["certs/"].files == (".gitignore",) and plan["certs/"].chmod == ("",)
    assert kinds(plan, "certs/") == [Kind.GITIGNORE, Kind.MODE]


def test_an_output_folder_holding_others_files_is_refused() -> None:
    state = replace(world().state(), gitignore=None, foreign=("notes.txt",))
    with pytest.raises(PlanError, match=r"already holds files mtlsgen did not write \(notes\.txt\)"):
        plan_of(FLAT, state)


def test_an_orphan_is_reported_and_pruned_only_on_request() -> None:
    state = replace(world().state(), orphans={"carol": ("notes.txt", "tls.crt", "tls.key")})
    reported = plan_of(FLAT, state)
    assert reported["carol"].action is Action.ORPHAN and "carol" not in pending(reported)
    pruned = plan_of(FLAT, state, prune=True)
    assert pruned["carol"].action is Action.PRUNE
    assert pruned["carol"].remove == ("tls.crt", "tls.key") and pruned["carol"].reasons[0].names == ("notes.txt",)


# -- revocation -----------------------------------------------------------------------------------


def test_revoking_an_entry_puts_its_serial_in_the_crl_and_removes_its_files() -> None:
    w = world()
    serial = w.certs["alice"].serial_number
    text = FLAT.replace("  alice: {}", "  alice: {revoked: true}")
    state = with_entry(w.state(), "alice", key=Loaded(problem="missing"))
    plan = plan_of(text, state)
    # Once something can be revoked, the server gets a CRL file of its clients' CAs.
    assert pending(plan) == {"alice": Action.REVOKE, "ca": Action.REPACK, "api": Action.REPACK}
    assert plan["api"].files == ("ca.crl",) and plan["api"].materials.crl_bundle == ("ca",)
    assert set(plan["alice"].remove) == {"tls.crt", "tls.key", "ca.crt"}
    assert plan["ca"].files == ("ca.crl",) and kinds(plan, "ca") == [Kind.CRL_REVOKES]
    crl = plan["ca"].materials.crl
    assert crl is not None and [s for s, _ in crl.revoked] == [serial] and crl.number == 1


def test_a_revoked_entry_whose_files_are_gone_is_unchanged() -> None:
    text = FLAT.replace("  alice: {}", "  alice: {revoked: true}")
    w = World(spec_of(text), NOW)
    assert "alice" not in pending(plan_of(text, w.state()))


def _tree_with_crl(number: int, next_update_in: timedelta, signer_key: object = None) -> tuple[World, State]:
    w = World(spec_of(TREE), NOW)
    crl = issue_crl(w.certs["ca"], signer_key or w.keys["ca"], number=number, revoked=(), now=NOW,  # type: ignore[arg-type]
                    validity=next_update_in)
    return w, with_entry(w.state(), "ca", crl=Loaded(crl))


def test_a_crl_with_a_third_of_its_validity_left_is_renewed_with_a_higher_number() -> None:
    _, state = _tree_with_crl(7, 30 * DAY)
    assert "ca" not in pending(plan_of(TREE, state, now=NOW + 19 * DAY))
    plan = plan_of(TREE, state, now=NOW + 21 * DAY)
    assert kinds(plan, "ca") == [Kind.CRL_DUE]
    crl = plan["ca"].materials.crl
    assert crl is not None and crl.number == 8


def test_a_crl_signed_by_another_key_is_rewritten() -> None:
    _, state = _tree_with_crl(1, 30 * DAY, generate_key("ecdsa-p256"))
    assert kinds(plan_of(TREE, state), "ca") == [Kind.CRL_FOREIGN]


def test_a_crl_is_resigned_when_its_ca_is_reissued_and_emptied_when_rekeyed() -> None:
    _, state = _tree_with_crl(3, 30 * DAY)
    renamed = TREE.replace("ca: {key: ecdsa-p256, crl", "ca: {key: ecdsa-p256, cn: Renamed Root, crl")
    assert Kind.CRL_RESIGNED in kinds(plan_of(renamed, state), "ca")
    rekeyed = plan_of(TREE, state, replace_names=["ca"])
    assert Kind.CRL_NEW_KEY in kinds(rekeyed, "ca")
    crl = rekeyed["ca"].materials.crl
    assert crl is not None and crl.revoked == () and crl.number == 4


# -- imported CAs ---------------------------------------------------------------------------------

IMPORTED = """
version: 1
ca: {import: {cert: corp/ca.crt, key: corp/ca.key}}
defaults: {key: ecdsa-p256}
clients:
  alice: {}
"""


def _imported_state(cert_ok: bool = True, is_ca: bool = True) -> State:
    base = World(spec_of(FLAT), NOW)
    spec = spec_of(IMPORTED)
    w = World.__new__(World)
    w.spec, w.now, w.keys, w.certs = spec, NOW, {"ca": base.keys["ca"]}, {"ca": base.certs["ca"]}
    w.keys["alice"] = generate_key("ecdsa-p256")
    w.certs["alice"] = w.issue(spec["alice"])
    state = w.state()
    ca = replace(state["ca"], imported=True, modes={})
    if not cert_ok:
        ca = replace(ca, key=Loaded(generate_key("ecdsa-p256")))
    if not is_ca:
        ca = replace(ca, certs=Loaded((base.certs["alice"],)), key=Loaded(base.keys["alice"]))
    return replace(state, entries={**state.entries, "ca": ca})


def test_an_imported_ca_is_used_and_never_written() -> None:
    plan = plan_of(IMPORTED, _imported_state())
    assert pending(plan) == {} and plan["ca"].files == ()
    assert plan["ca"].materials.key is not None  # apply signs with it


def test_an_imported_ca_whose_key_does_not_match_is_an_error() -> None:
    with pytest.raises(PlanError, match="does not belong to the certificate"):
        plan_of(IMPORTED, _imported_state(cert_ok=False))


def test_an_imported_certificate_that_is_not_a_ca_is_an_error() -> None:
    with pytest.raises(PlanError, match="is not a CA certificate"):
        plan_of(IMPORTED, _imported_state(is_ca=False))


def test_replace_of_an_imported_ca_is_an_error() -> None:
    with pytest.raises(PlanError, match="mtlsgen never re-keys it"):
        plan_of(IMPORTED, _imported_state(), replace_names=["ca"])


def test_store_content_type_is_what_read_state_reports() -> None:
    # Guards the world builder itself: a truststore's content has no key alias.
    state = world().state()
    trust = next(s for s in state["api"].stores if s.spec.kind == "truststore")
    assert isinstance(trust.content.value, StoreContent) and trust.content.value.key_aliases == ()


def _foreign_ca(key: Any, *, key_cert_sign: bool = True) -> x509.Certificate:
    """A self-signed CA certificate made outside mtlsgen, as a company might hand one over."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Corp CA")])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(1).not_valid_before(NOW - DAY).not_valid_after(NOW + 3650 * DAY)
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(ca_key_usage(key_cert_sign=key_cert_sign), critical=True))
    return builder.sign(key, hashes.SHA256())


def _imported_with(key: Any, cert: x509.Certificate) -> State:
    state = _imported_state()
    ca = replace(state["ca"], key=Loaded(key), certs=Loaded((cert,)))
    return replace(state, entries={**state.entries, "ca": ca})


@pytest.mark.parametrize(("make", "message"), [
    (lambda: dsa.generate_private_key(2048), "is a DSA key"),
    (lambda: rsa.generate_private_key(65537, 1024), "is an RSA-1024 key"),
    (lambda: ec.generate_private_key(ec.SECP224R1()), "curve secp224r1"),
], ids=["dsa", "rsa-1024", "p-224"])
def test_an_imported_ca_with_a_key_peers_refuse_is_a_plan_error(make: Callable[[], object], message: str) -> None:
    key = make()
    with pytest.raises(PlanError, match=message):
        plan_of(IMPORTED, _imported_with(key, _foreign_ca(key)))


def test_an_imported_ca_that_may_not_sign_certificates_is_a_plan_error() -> None:
    key = generate_key("ecdsa-p256")
    with pytest.raises(PlanError, match="keyCertSign"):
        plan_of(IMPORTED, _imported_with(key, _foreign_ca(key, key_cert_sign=False)))

