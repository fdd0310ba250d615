"""Kubernetes manifests for an applied spec: cert-manager's Secret layout, built from the files on disk.

For each leaf: a `kubernetes.io/tls` Secret holding `tls.crt`, `tls.key`, `ca.crt` and the entry's store
files under their own names (cert-manager's keys), and, when the entry has stores, their passwords in a
separate Opaque Secret (cert-manager's `passwordSecretRef` idea: the stores and what opens them apart).
With `issuer`, the root CA as a `kubernetes.io/tls` Secret and a cert-manager CA `Issuer` naming it —
which needs the CA key, so only when `include_ca_key` is given too.

Every value is the base64 of the file's exact bytes; nothing is re-encoded.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..engine.layout import TLS_CRT, TLS_KEY, Layout, leaf_files, password_file_name
from ..engine.secrets import resolve_password
from ..errors import MtlsgenError
from ..spec.entries import ROOT, Entry, Spec
from ..spec.files import MIB, FileProblem, read_regular

# A Secret's name is a DNS subdomain (RFC 1123): lower case, digits, '-' and '.', at most 253 characters.
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
ISSUER_NEEDS_KEY = ("--issuer needs --include-ca-key: a cert-manager CA Issuer signs with the CA key, "
                    "so the CA Secret must hold it")


@dataclass(frozen=True)
class ExportOptions:
    """What to export: `entries` empty means every leaf that is not revoked."""

    entries: tuple[str, ...] = ()
    namespace: str | None = None
    name_prefix: str = ""
    include_ca_key: bool = False
    issuer: bool = False


def manifests(spec: Spec, options: ExportOptions) -> list[dict[str, Any]]:
    """The manifests, in order: per entry its TLS Secret then its password Secret; then the CA and Issuer."""
    if options.issuer and not options.include_ca_key:
        raise MtlsgenError(ISSUER_NEEDS_KEY)
    if options.namespace is not None and not _LABEL.fullmatch(options.namespace):
        raise MtlsgenError(f"--namespace: {options.namespace!r} is not a Kubernetes namespace name "
                           "(lower case letters, digits and '-', at most 63)")
    layout = Layout.of(spec)
    docs: list[dict[str, Any]] = []
    for entry in _chosen(spec, options.entries):
        docs += _leaf(spec, layout, entry, options)
    if options.include_ca_key:
        docs += _ca(spec, layout, options)
    return docs


def render(docs: list[dict[str, Any]]) -> str:
    """The manifests as one YAML stream (`---` between documents), as `kubectl apply -f -` reads it."""
    return yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False, explicit_start=True)


def _chosen(spec: Spec, names: tuple[str, ...]) -> list[Entry]:
    leaves = [e for e in spec.entries if not e.is_ca and not e.revoked]
    if not names:
        return leaves
    by_name = {e.name: e for e in leaves}
    for name in names:
        if name not in by_name:
            what = ("a CA (export it with --include-ca-key)" if name in spec.by_name and spec[name].is_ca
                    else "revoked" if name in spec.by_name else "not in the spec")
            raise MtlsgenError(f"--entry {name}: {what}; leaves: {', '.join(sorted(by_name)) or 'none'}")
    return [by_name[n] for n in dict.fromkeys(names)]


def _name(options: ExportOptions, base: str) -> str:
    name = options.name_prefix + base.replace("_", "-")
    if len(name) > 253 or not _SUBDOMAIN.fullmatch(name):
        raise MtlsgenError(f"{name!r} is not a Kubernetes object name (lower case letters, digits, '-' and '.'); "
                           "change --name-prefix")
    return name


def _metadata(options: ExportOptions, name: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if options.namespace is not None:
        meta["namespace"] = options.namespace
    meta["labels"] = {"app.kubernetes.io/managed-by": "mtlsgen"}
    return meta


def _secret(options: ExportOptions, name: str, kind: str, data: dict[str, bytes]) -> dict[str, Any]:
    encoded = {key: base64.b64encode(value).decode("ascii") for key, value in sorted(data.items())}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": _metadata(options, name), "type": kind,
            "data": encoded}


def _read(path: Path, label: str) -> bytes:
    try:
        return read_regular(path, limit=MIB, follow_symlinks=False)
    except FileProblem as exc:
        hint = "; run mtlsgen apply first" if str(exc) == "does not exist" else ""
        raise MtlsgenError(f"{label}: {path} {exc}{hint}") from None


def _leaf(spec: Spec, layout: Layout, entry: Entry, options: ExportOptions) -> list[dict[str, Any]]:
    if entry.key_password is not None:
        raise MtlsgenError(f"{entry.name}: tls.key is encrypted (key_password), and a kubernetes.io/tls Secret "
                           "needs an unencrypted key; export entries without key_password")
    folder = layout.folder(entry.name)
    data = {file: _read(folder / file, entry.name) for file in leaf_files(entry)}
    name = _name(options, entry.name)
    docs = [_secret(options, name, "kubernetes.io/tls", data)]
    passwords: dict[str, bytes] = {}
    for store in (entry.keystore, entry.truststore):
        if store is None:
            continue
        key = password_file_name(store.kind)
        value = resolve_password(store.password, layout.password_file(entry.name, store.kind))
        if value is None:
            raise MtlsgenError(f"{entry.name}: {folder / key} does not exist; run mtlsgen apply first")
        passwords[key] = value.encode("utf-8")
    if passwords:
        docs.append(_secret(options, f"{name}-passwords", "Opaque", passwords))
    return docs


def _ca(spec: Spec, layout: Layout, options: ExportOptions) -> list[dict[str, Any]]:
    root = spec[ROOT]
    if root.imported is not None:
        raise MtlsgenError("the CA is imported (ca.import): mtlsgen does not hand out a key it does not own; "
                           "make its Secret with kubectl create secret tls from your own files")
    if root.shared is not None:
        # Its key is committed encrypted; cert-manager reads tls.key in the clear. Decrypting it here
        # would put the team's root key in clear text on a terminal or in a file by default.
        raise MtlsgenError(f"--include-ca-key: the CA is shared (ca.shared), its key encrypted in "
                           f"{root.shared.label}/ca.key, and a Secret holds it in the clear: make that one yourself "
                           f"(openssl pkey -in {root.shared.label}/ca.key, then kubectl create secret tls)")
    data = {TLS_CRT: _read(layout.cert(ROOT, is_ca=True), ROOT),
            TLS_KEY: _read(layout.key(ROOT, is_ca=True), ROOT)}
    name = _name(options, ROOT)
    docs = [_secret(options, name, "kubernetes.io/tls", data)]
    if options.issuer:
        docs.append({"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": _metadata(options, name),
                     "spec": {"ca": {"secretName": name}}})
    return docs
