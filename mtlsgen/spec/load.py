"""load_spec(path) → Spec: the spec file validated and resolved to one effective value per entry.

Pydantic checks each field's shape (model.py); the rules that span fields are checked here, each
failure a SpecError `pki.yaml:14: servers.api.sans[2]: reason` pointing at the line to fix.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from ..errors import SpecError
from . import model
from .entries import (
    ROOT,
    CrlSpec,
    Entry,
    ImportSpec,
    Password,
    RenewBefore,
    Role,
    RolloverSpec,
    SharedSpec,
    Spec,
    StoreSpec,
)
from .names import San, dns_name, parse_duration, parse_san
from .parse import parse_file
from .yamlsrc import PathKey, Source, format_path, load_yaml, parse_yaml

NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")  # fullmatch: `$` would let "api\n" through
DEFAULT_VALIDITY = {"ca": "10y", "intermediate": "5y", "server": "365d", "client": "365d"}
DEFAULT_KEY = "ecdsa-p256"
DEFAULT_RENEW_BEFORE = "33%"
MAX_VALIDITY = timedelta(days=100 * 365)
SUBJECT_ORDER = ("C", "ST", "L", "O", "OU")


def load_spec(path: str | Path) -> Spec:
    """Read, validate and resolve a spec file; every problem is one SpecError naming file and line."""
    spec_path = Path(path)
    source = load_yaml(spec_path)
    return _Resolver(source, parse_file(source)).resolve()


def load_spec_text(text: str, path: str | Path = "pki.yaml") -> Spec:
    """A spec given as text, as if it were the file `path` (relative paths in it resolve from
    there); nothing is read. For tests and tools that build specs in memory."""
    source = parse_yaml(text, Path(path))
    return _Resolver(source, parse_file(source)).resolve()


class _Resolver:
    def __init__(self, source: Source, raw: model.SpecFile) -> None:
        self.src = source
        self.raw = raw
        self.base = source.path.parent
        self.defaults = raw.defaults

    def fail(self, path: PathKey, reason: str) -> SpecError:
        return self.src.error(path, reason)

    def resolve(self) -> Spec:
        raw = self.raw
        sections: list[tuple[str, dict[str, Any]]] = [
            ("intermediates", raw.intermediates), ("servers", raw.servers), ("clients", raw.clients)]
        seen: dict[str, str] = {ROOT: "ca"}
        for section, items in sections:
            for name in items:
                if not NAME.fullmatch(name):
                    raise self.fail((section, name), f"{name!r} is not an entry name (lowercase "
                                    "letters, digits, . _ -; starting with a letter or digit; at most 63)")
                if name in seen:
                    other = "the root CA's name" if name == ROOT else f"already used in {seen[name]}"
                    raise self.fail((section, name), f"{name!r} is {other}; entry names are unique")
                seen[name] = section
        entries = {ROOT: self.ca()}
        for name, inter in raw.intermediates.items():
            entries[name] = self.intermediate(name, inter)
        for role, section in (("server", "servers"), ("client", "clients")):
            leaves: dict[str, model.Leaf] = getattr(raw, section)
            for name, leaf in leaves.items():
                entries[name] = self.leaf(name, leaf, role, section)  # type: ignore[arg-type]
        ordered = self.order(entries)
        return Spec(self.src.path, self.output(), tuple(ordered), self.src)

    def output(self) -> Path:
        """The output folder: `~` expanded, relative to the spec's folder, never that folder or above it.

        apply writes a `.gitignore` of `*` there and `--prune` deletes folders in it, so a folder holding
        the spec would hide the project from git or lose it.
        """
        written = self.raw.output
        output = Path(os.path.expanduser(written))
        if not output.is_absolute():
            output = self.base / output
        # realpath, not Path.resolve: a symlink loop is the engine's to report (OutputError), not a crash here
        spec_folder = Path(os.path.realpath(self.base))
        resolved = Path(os.path.realpath(output))
        if resolved == spec_folder or resolved in spec_folder.parents:
            raise self.fail(("output",), f"{written!r} is the spec's own folder (or holds it); "
                            "use a subfolder like certs")
        return output

    def section_of(self, entry: Entry) -> PathKey:
        section = {"ca": (), "intermediate": ("intermediates",), "server": ("servers",),
                   "client": ("clients",)}[entry.role]
        return ("ca",) if entry.role == "ca" else (*section, entry.name)

    def order(self, entries: dict[str, Entry]) -> list[Entry]:
        # Every issuer must exist before any chain is walked.
        for entry in entries.values():
            issuer = entries.get(entry.issuer) if entry.issuer is not None else None
            if entry.issuer is not None and (issuer is None or not issuer.is_ca):
                cas = ", ".join(n for n, e in entries.items() if e.is_ca)
                what = "is not a CA" if issuer else "is not defined"
                raise self.fail((*self.section_of(entry), "issuer"), f"issuer {entry.issuer!r} {what} (CAs: {cas})")
        for entry in entries.values():
            here = self.section_of(entry)
            if entry.issuer is None:
                continue
            issuer = entries[entry.issuer]
            seen = [entry.name]
            walker: Entry | None = issuer
            while walker is not None:
                if walker.name in seen:
                    cycle = " → ".join([*seen, walker.name])
                    raise self.fail((*here, "issuer"), f"issuer cycle: {cycle}")
                seen.append(walker.name)
                walker = entries[walker.issuer] if walker.issuer else None
            if entry.validity > issuer.validity and issuer.imported is None:
                raise self.fail((*here, "validity"), f"{entry.validity_text} is longer than its issuer "
                                f"{issuer.name}'s validity ({issuer.validity_text})")
            if entry.role == "intermediate":
                # RFC 5280 4.2.1.9: path_length counts the intermediates that may follow a CA.
                for below, ancestor in enumerate(_issuers(entries, entry), start=1):
                    if ancestor.path_length is not None and below > ancestor.path_length:
                        raise self.fail((*here, "issuer"), f"{ancestor.name}'s path_length "
                                        f"{ancestor.path_length} does not allow {entry.name} under it")
        depth = {name: len(_issuers(entries, e)) for name, e in entries.items()}
        return sorted(entries.values(), key=lambda e: (depth[e.name], not e.is_ca))

    def common(self, path: PathKey, raw: Any, role: Role) -> dict[str, Any]:
        d = self.defaults
        validity_text = raw.validity or d.validity or DEFAULT_VALIDITY[role]
        validity = parse_duration(validity_text)
        if validity > MAX_VALIDITY:
            raise self.fail((*path, "validity"), f"{validity_text!r} is longer than 100 years")
        renew_text = (raw.renew_before or d.renew_before or DEFAULT_RENEW_BEFORE).strip()
        if renew_text.endswith("%"):
            renew = RenewBefore(renew_text, share=float(renew_text[:-1]) / 100)
        else:
            renew = RenewBefore(renew_text, duration=parse_duration(renew_text))
            if renew.duration is not None and renew.duration >= validity:
                where = "renew_before" if raw.renew_before else "validity"
                raise self.fail((*path, where), f"renew_before {renew_text} is not shorter than "
                                f"validity {validity_text}; apply would renew on every run")
        subject = {**(d.subject.model_dump(exclude_none=True) if d.subject else {}),
                   **(raw.subject.model_dump(exclude_none=True) if raw.subject else {})}
        return {"key": raw.key or d.key or DEFAULT_KEY,
                "validity": validity, "renew_before": renew, "line": self.src.line_of(path),
                "subject": tuple((k, subject[k]) for k in SUBJECT_ORDER if k in subject)}

    def ca(self) -> Entry:
        raw = self.raw.ca
        common = self.common(("ca",), raw, "ca")
        imported = None
        if raw.import_ is not None:
            if raw.rollover is not None:
                raise self.fail(("ca", "rollover"), "an imported CA is never rotated by mtlsgen (it does not "
                                "write its files); rotate it where it lives, then point `import` at the new one")
            imp = raw.import_
            imported = ImportSpec(self.base / imp.cert, self.base / imp.key,
                                  self.password(("ca", "import", "password"), imp.password))
        return Entry(ROOT, "ca", raw.cn or "mtlsgen Root CA", sans=(), usages=(), issuer=None,
                     key_rotation="never", path_length=raw.path_length, crl=self.crl(raw.crl),
                     imported=imported, rollover=self.rollover(raw.rollover), shared=self.shared(raw),
                     **common)

    def shared(self, raw: model.Ca) -> SharedSpec | None:
        """`ca.shared`: a folder beside the spec that is committed, so never one git ignores or one
        apply prunes (the output folder, inside it, around it), nor the spec's own folder or above."""
        shared = raw.shared
        if shared is None:
            return None
        if raw.import_ is not None:
            raise self.fail(("ca", "shared"), "cannot be combined with ca.import: an imported CA's files are "
                            "yours and never written by mtlsgen; drop one of the two")
        folder = Path(os.path.expanduser(shared.folder))
        folder = folder if folder.is_absolute() else self.base / folder
        resolved, output = Path(os.path.realpath(folder)), Path(os.path.realpath(self.output()))
        spec_folder = Path(os.path.realpath(self.base))
        where = ("ca", "shared", "folder")
        if resolved == spec_folder or resolved in spec_folder.parents:
            raise self.fail(where, f"{shared.folder!r} is the spec's own folder (or holds it); use a subfolder "
                            "like pki-ca")
        if resolved == output or output in resolved.parents or resolved in output.parents:
            raise self.fail(where, f"{shared.folder!r} is the output folder {self.raw.output!r}, inside it or "
                            "around it: the output is git-ignored, the shared CA is committed; use a folder "
                            "beside it like pki-ca")
        source = shared.passphrase
        path: PathKey = ("ca", "shared", "passphrase")
        passphrase = self.password(path, source)
        assert passphrase is not None
        if isinstance(source, model.FilePassword):  # `~/.config/pki/ca-passphrase`: outside every clone
            passphrase = Password("file", str(self.base / os.path.expanduser(source.file)), where=passphrase.where)
        return SharedSpec(folder, passphrase, os.path.relpath(folder, self.base))

    def intermediate(self, name: str, raw: model.Intermediate) -> Entry:
        common = self.common(("intermediates", name), raw, "intermediate")
        return Entry(name, "intermediate", raw.cn or name, sans=(), usages=(), issuer=raw.issuer,
                     key_rotation="never", path_length=raw.path_length, crl=self.crl(raw.crl),
                     rollover=self.rollover(raw.rollover), **common)

    def rollover(self, raw: model.Rollover | None) -> RolloverSpec:
        if raw is None:
            return RolloverSpec()
        return RolloverSpec(parse_duration(raw.trust_first), parse_duration(raw.overlap))

    def crl(self, raw: model.Crl | None) -> CrlSpec | None:
        return CrlSpec(parse_duration(raw.validity), raw.url) if raw else None

    def leaf(self, name: str, raw: model.Leaf, role: Role, section: str) -> Entry:
        path: PathKey = (section, name)
        common = self.common(path, raw, role)
        sans = tuple(parse_san(s) for s in raw.sans or ())
        dup = [s for i, s in enumerate(sans) if s in sans[:i]]
        if dup:
            raise self.fail((*path, "sans", sans.index(dup[0], sans.index(dup[0]) + 1)),
                            f"{dup[0]} is listed twice")
        cn = raw.cn
        if cn is None:
            dns = [s.value for s in sans if s.kind == "DNS" and not s.value.startswith("*")]
            cn = dns[0] if role == "server" and dns else name
        if not sans:
            # Every leaf carries a SAN: verifiers (cryptography's among them) reject one without.
            try:
                sans = (San("DNS", dns_name(cn)),)
            except ValueError:
                raise self.fail(path, f"no sans, and the CN {cn!r} is not a DNS name to use "
                                "as one; add `sans:`") from None
        usages = tuple(dict.fromkeys(raw.usages)) if raw.usages else (
            ("serverAuth",) if role == "server" else ("clientAuth",))
        return Entry(name, role, cn, sans=sans, usages=usages, issuer=raw.issuer,
                     key_rotation=raw.key_rotation or self.defaults.key_rotation or "always",
                     key_password=self.password((*path, "key_password"), raw.key_password),
                     revoked=raw.revoked, keystore=self.store(path, name, "keystore", raw.keystore),
                     truststore=self.store(path, name, "truststore", raw.truststore), **common)

    def store(self, path: PathKey, name: str, kind: Literal["keystore", "truststore"],
              raw: model.Store | None) -> StoreSpec | None:
        if raw is None:
            return None
        formats = tuple(dict.fromkeys(raw.formats))
        password = self.password((*path, kind, "password"), raw.password) or Password(
            "generate", where=f"{self.src.name}:{self.src.line_of((*path, kind))}: "
                              f"{format_path((*path, kind))}")
        profile: Literal["modern", "legacy"] = "legacy" if raw.profile == "legacy" else "modern"  # aliases resolved
        return StoreSpec(kind, formats, password, raw.alias or name, profile)

    def password(self, path: PathKey, raw: Any) -> Password | None:
        where = f"{self.src.name}:{self.src.line_of(path)}: {format_path(path)}"
        if raw is None:
            return None
        if isinstance(raw, str):
            return Password("literal", value=raw, where=where)
        if isinstance(raw, model.EnvPassword):
            return Password("env", raw.env, where=where)
        if isinstance(raw, model.FilePassword):
            return Password("file", str(self.base / raw.file), where=where)
        return Password("generate", where=where)


def _issuers(entries: dict[str, Entry], entry: Entry) -> list[Entry]:
    out = []
    while entry.issuer is not None:
        entry = entries[entry.issuer]
        out.append(entry)
    return out
