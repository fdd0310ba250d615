"""A pytest plugin in the spirit of trustme: a real mTLS PKI for your tests, from a small spec.

Installed with mtlsgen (entry point `pytest11`), it offers one session-scoped fixture, `mtlsgen_pki`:

    def test_my_client(mtlsgen_pki):
        pki = mtlsgen_pki({"servers": {"api": {"sans": ["localhost"]}}, "clients": {"bob": {}}})
        server_ctx = pki.ssl_context("api")          # requires a client certificate from this PKI
        client_ctx = pki.ssl_context("bob")          # verifies the server, presents bob's certificate
        pki.path("bob", "tls.crt"), pki.password("bob", "keystore")

The spec is a dict or YAML text (`version: 1` may be left out). Each distinct spec is applied once per
session into its own temporary folder, whatever its `output:` says, and the same `Pki` is handed to
every test asking for it again. `{env: NAME}` passwords read the environment at that first apply.
Nothing of mtlsgen is imported until a test asks for a PKI, so the plugin costs pytest nothing.
"""

from __future__ import annotations

import hashlib
import json
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytest

if TYPE_CHECKING:
    from .spec.entries import Entry, Spec

SpecInput = str | Mapping[str, Any]
PasswordKind = Literal["keystore", "truststore", "key"]


@dataclass(frozen=True)
class Pki:
    """An applied PKI: the resolved spec, and its files and passwords by entry."""

    spec: Spec
    folder: Path  # the temporary folder holding pki.yaml and the output

    @property
    def output(self) -> Path:
        return self.spec.output

    def _entry(self, name: str) -> Entry:
        if name not in self.spec.by_name:
            raise KeyError(f"no entry {name!r} in this PKI (entries: {', '.join(self.spec.by_name)})")
        return self.spec[name]

    def path(self, entry: str, file: str) -> Path:
        """The file `file` (tls.crt, tls.key, ca.crt, keystore.p12, ca.crl, …) of `entry`; it must exist."""
        self._entry(entry)
        from .engine.layout import Layout

        found = Layout.of(self.spec).folder(entry) / file
        if not found.is_file():
            have = sorted(p.name for p in found.parent.iterdir()) if found.parent.is_dir() else []
            raise FileNotFoundError(f"{entry} has no {file} (it has: {', '.join(have) or 'nothing'})")
        return found

    def password(self, entry: str, kind: PasswordKind = "keystore") -> str:
        """The password of the entry's key store, trust store, or encrypted tls.key (`key`)."""
        from .engine.layout import Layout
        from .engine.secrets import resolve_password

        spec_entry = self._entry(entry)
        layout = Layout.of(self.spec)
        if kind == "key":
            source, generated = spec_entry.key_password, layout.key_password_file(entry)
        else:
            store = spec_entry.keystore if kind == "keystore" else spec_entry.truststore
            source, generated = (store.password if store else None), layout.password_file(entry, kind)
        if source is None:
            raise KeyError(f"{entry} has no {'key_password' if kind == 'key' else kind} in its spec")
        value = resolve_password(source, generated)
        assert value is not None, f"{generated} was not written"
        return value

    def ssl_context(self, entry: str) -> ssl.SSLContext:
        """A context for `entry` as the mTLS peer it is: a server requiring client certificates from
        this PKI, or a client verifying servers against it; both present the entry's chain."""
        spec_entry = self._entry(entry)
        if spec_entry.role == "server":
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.verify_mode = ssl.CERT_REQUIRED
        else:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies names and chains
        ctx.load_verify_locations(cafile=self.path(entry, "ca.crt"))
        password = self.password(entry, "key") if spec_entry.key_password is not None else None
        ctx.load_cert_chain(self.path(entry, "tls.crt"), self.path(entry, "tls.key"), password=password)
        return ctx


def _canonical(spec: SpecInput) -> str:
    """YAML text the fixture writes: dicts as JSON (valid YAML), `version: 1` added when left out."""
    import yaml

    data = yaml.safe_load(spec) if isinstance(spec, str) else dict(spec)
    if not isinstance(data, dict):
        raise TypeError("mtlsgen_pki takes a mapping or YAML text holding one")
    if isinstance(spec, str) and "version" in data:
        return spec  # keep the text as written: errors then point at the user's own lines
    return json.dumps({"version": 1, **data}, indent=2, sort_keys=True, default=str)


@pytest.fixture(scope="session")
def mtlsgen_pki(tmp_path_factory: pytest.TempPathFactory) -> Callable[[SpecInput], Pki]:
    """A factory: `mtlsgen_pki(spec) -> Pki`, applied once per distinct spec in the session."""
    made: dict[str, Pki] = {}

    def make(spec: SpecInput) -> Pki:
        text = _canonical(spec)
        digest = hashlib.sha256(text.encode()).hexdigest()
        if digest not in made:
            made[digest] = _apply(text, tmp_path_factory.mktemp(f"mtlsgen-{digest[:8]}"))
        return made[digest]

    return make


def _apply(text: str, folder: Path) -> Pki:
    from ._api import apply
    from .spec.load import load_spec

    path = folder / "pki.yaml"
    path.write_text(text, encoding="utf-8")
    spec = replace(load_spec(path), output=folder / "certs")
    apply(spec)
    return Pki(spec, folder)
