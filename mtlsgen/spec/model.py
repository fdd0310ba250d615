"""The spec file format (version 1) as strict pydantic models: the JSON Schema comes from here.

These models check the shape of each field; rules that span fields (issuers, names, validity
against the issuer's) live in spec.py, which turns a SpecFile into the resolved Spec.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
    field_validator,
)

from .names import crl_url, parse_duration, parse_san

KeyType = Literal["rsa-2048", "rsa-3072", "rsa-4096", "ecdsa-p256", "ecdsa-p384", "ed25519"]
Usage = Literal["serverAuth", "clientAuth"]
StoreFormat = Literal["pkcs12", "jks"]
Profile = Literal["modern", "legacy"]
KeyRotation = Literal["always", "never"]


def _duration(text: str) -> str:
    parse_duration(text)
    return text


def _renew_before(text: str) -> str:
    if text.strip().endswith("%"):
        number = text.strip()[:-1]
        try:
            share = float(number)
        except ValueError:
            raise ValueError(f"{text!r} is not a percentage like 33%") from None
        if not 0 < share < 100:
            raise ValueError(f"{text!r}: a share of the lifetime must be between 0% and 100%")
        return text
    try:
        parse_duration(text)
    except ValueError:
        raise ValueError(f"{text!r} is neither a duration like 30d nor a share like 33%") from None
    return text


KEY_TYPES: tuple[str, ...] = get_args(KeyType)


def _key(text: str) -> str:
    if text in KEY_TYPES:
        return text
    match = re.match(r"^rsa-?([0-9]+)$", text.lower())
    if match and int(match.group(1)) < 2048:
        raise ValueError(f"{text!r}: RSA keys below 2048 bits are refused")
    raise ValueError(f"{text!r} is not a key type; use one of {', '.join(KEY_TYPES)}")


def _alias(text: str) -> str:
    if text != text.lower():
        raise ValueError(f"{text!r}: Java lowercases aliases, so write it as {text.lower()!r}")
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,62}", text):
        raise ValueError(f"{text!r} is not an alias (lowercase letters, digits, . _ -)")
    return text


# cert-manager's PKCS#12 profile names (spec.keystores.pkcs12.profile) for the same algorithms. Its
# Modern2023 (go-pkcs12) is PBES2/PBKDF2-HMAC-SHA256/AES-256-CBC with a SHA-256 MAC, as `modern`; it
# encrypts with 2,048 PBKDF2 iterations where mtlsgen uses 10,000 (crypto/stores.py; the MAC has 2,048 in
# both). Each file records its counts, and readers follow them. LegacyDES is 3DES with a SHA-1 MAC, as
# `legacy`. LegacyRC2 encrypts certificates with RC2-40, which mtlsgen never writes.
PROFILE_ALIASES: dict[str, str] = {"Modern2023": "modern", "LegacyDES": "legacy"}
PROFILES: tuple[str, ...] = (*get_args(Profile), *PROFILE_ALIASES)


def _profile(text: str) -> str:
    if text in get_args(Profile):
        return text
    if text in PROFILE_ALIASES:
        return PROFILE_ALIASES[text]
    if text == "LegacyRC2":
        raise ValueError("'LegacyRC2': mtlsgen does not write RC2-40 stores (weak, and OpenSSL 3 needs -legacy "
                         "to read them); use legacy (LegacyDES: 3DES, read by Java 8 and OpenSSL alike)")
    raise ValueError(f"{text!r} is not a store profile: use 'modern' or 'legacy' (cert-manager's names "
                     f"{' and '.join(PROFILE_ALIASES)} are accepted too)")


def _country(text: str) -> str:
    if not re.fullmatch(r"[A-Z]{2}", text):
        raise ValueError(f"{text!r} is not a two-letter country code in capitals, like US")
    return text


# The patterns below only feed the JSON Schema (editors); the validators give the errors.
Duration = Annotated[str, AfterValidator(_duration), WithJsonSchema({
    "type": "string", "pattern": r"^[1-9][0-9]{0,6}[hdwy]$",
    "description": "<n>h, <n>d, <n>w or <n>y (365 days)"})]
RenewBefore = Annotated[str, AfterValidator(_renew_before), WithJsonSchema({
    "type": "string", "pattern": r"^([1-9][0-9]{0,6}[hdwy]|[0-9]+(\.[0-9]+)?%)$",
    "description": "a duration before expiry, or a share of the lifetime like 33%"})]
Key = Annotated[str, AfterValidator(_key), WithJsonSchema({"enum": list(KEY_TYPES)})]
Alias = Annotated[str, AfterValidator(_alias), WithJsonSchema({
    "type": "string", "pattern": r"^[a-z0-9][a-z0-9._-]{0,62}$",
    "description": "default: the entry's name; lowercase, as Java stores it"})]
Country = Annotated[str, AfterValidator(_country), WithJsonSchema({
    "type": "string", "pattern": r"^[A-Z]{2}$", "description": "two-letter country code"})]
StoreProfile = Annotated[str, AfterValidator(_profile), WithJsonSchema({
    "enum": list(PROFILES),
    "description": "modern (= cert-manager's Modern2023): PBES2/PBKDF2-HMAC-SHA256 (10,000 rounds)/AES-256-CBC "
                   "with a SHA-256 MAC (2,048 iterations); legacy (= LegacyDES): 3DES with a SHA-1 MAC, for Java "
                   "before 8u301. LegacyRC2 is refused",
    "default": "modern"})]
SanText = Annotated[str, AfterValidator(lambda s: str(parse_san(s))), Field(
    description="DNS name, IP address, URI (with ://) or e-mail; DNS:, IP:, URI:, email: force the type")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)


class EnvPassword(_Strict):
    env: str = Field(min_length=1, description="name of an environment variable holding the password")


class FilePassword(_Strict):
    file: str = Field(min_length=1, description="file holding the password (relative to the spec)")


class GeneratePassword(_Strict):
    generate: Literal[True] = Field(description="generate once, save as <store>.password (0600)")


def _password_tag(value: Any) -> str | None:
    if isinstance(value, str):
        return "literal"
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        return key if key in ("env", "file", "generate") else None
    if isinstance(value, (EnvPassword, FilePassword, GeneratePassword)):
        return next(iter(type(value).model_fields))
    return None


PasswordSource = Annotated[
    Annotated[str, Tag("literal"), Field(min_length=1)]
    | Annotated[EnvPassword, Tag("env")]
    | Annotated[FilePassword, Tag("file")]
    | Annotated[GeneratePassword, Tag("generate")],
    Discriminator(_password_tag, custom_error_type="password_source",
                  custom_error_message="a password is a string, {env: NAME}, {file: path} or {generate: true}"),
]


# One sentence per field: editors show it on hover (docs/spec.md says the same at length).
_KEY = "key type; inherited from defaults.key, else ecdsa-p256. RSA below 2048 bits is refused"
_VALIDITY = "lifetime: <n>h, <n>d, <n>w or <n>y (365 days); default: root 10y, intermediates 5y, leaves 365d"
_RENEW = "renew this long before expiry (30d) or at this share of the lifetime left (33%, the default)"
_SUBJECT = "subject attributes (C, ST, L, O, OU), merged attribute by attribute over defaults.subject"
_CN = "common name; default: root 'mtlsgen Root CA', servers their first DNS SAN, others the entry's name"
_PATH_LENGTH = "basicConstraints pathLenConstraint: how many CAs may sit below this one"
_CRL = "write ca.crl for this CA ({validity, url}); url goes into every leaf it issues"
_ISSUER = "name of the issuing CA: ca (the root, default) or an intermediate"
_ROTATION = "always: a new key whenever the certificate is reissued (default); never: keep the key"


class Subject(_Strict):
    """Subject attributes besides the CN."""

    C: Country | None = Field(None, description="country: two capital letters, like US (quote NO)")
    ST: str | None = Field(None, min_length=1, max_length=128, description="state or province")
    L: str | None = Field(None, min_length=1, max_length=128, description="locality (city)")
    O: str | None = Field(None, min_length=1, max_length=64,  # noqa: E741 - X.500 attribute name
                          description="organisation")
    OU: str | None = Field(None, min_length=1, max_length=64, description="organisational unit")


class Store(_Strict):
    """A PKCS#12 and/or JKS store; its password is generated unless given."""

    formats: list[StoreFormat] = Field(default=["pkcs12"], min_length=1, description=(
        "pkcs12 (keystore.p12) and/or jks (keystore.jks; needs mtlsgen[jks])"))
    password: PasswordSource | None = Field(None, description="default: {generate: true}")
    alias: Alias | None = Field(None, description="the key's alias (keystores); default: the entry's name")
    profile: StoreProfile = "modern"


class Defaults(_Strict):
    """Inherited by every entry (the CA too) unless it sets its own."""

    key: Key | None = Field(None, description=_KEY)
    validity: Duration | None = Field(None, description=_VALIDITY)
    renew_before: RenewBefore | None = Field(None, description=_RENEW)
    subject: Subject | None = Field(None, description=_SUBJECT)
    key_rotation: KeyRotation | None = Field(None, description=_ROTATION)


class Import(_Strict):
    """An existing CA to issue with; mtlsgen never writes, moves or renews its files."""

    cert: str = Field(min_length=1, description="PEM certificate of an existing CA (relative to the spec)")
    key: str = Field(min_length=1, description="its PEM private key")
    password: PasswordSource | None = Field(None, description="the key's password, if it is encrypted")


class Crl(_Strict):
    """A certificate revocation list for this CA."""

    validity: Duration = Field("30d", description="how long each CRL is valid; rewritten when a third remains")
    url: Annotated[str, AfterValidator(crl_url)] | None = Field(
        None, description="written into leaves as their CRL distribution point")


class Rollover(_Strict):
    """How `apply --rotate NAME` replaces this CA's key without an outage (docs/spec.md, "Rotating a CA")."""

    trust_first: Duration = Field("7d", description="how long every bundle trusts both CAs before leaves move "
                                  "to the new one: the time every peer has to reload its trust")
    overlap: Duration = Field("30d", description="how long bundles keep trusting the old CA after the move: the "
                              "time every peer has to reload its new certificate")


class _Issuing(_Strict):
    cn: str | None = Field(None, min_length=1, max_length=64, description=_CN)
    key: Key | None = Field(None, description=_KEY)
    validity: Duration | None = Field(None, description=_VALIDITY)
    renew_before: RenewBefore | None = Field(None, description=_RENEW)
    subject: Subject | None = Field(None, description=_SUBJECT)
    path_length: int | None = Field(None, ge=0, le=16, description=_PATH_LENGTH)
    crl: Crl | None = Field(None, description=_CRL)
    rollover: Rollover | None = Field(None, description="{trust_first: 7d, overlap: 30d}: the phases of a rotation "
                                      "that `apply --rotate NAME` starts")


def _passphrase_tag(value: Any) -> str | None:
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("env", "file"):
        return str(next(iter(value)))
    if isinstance(value, (EnvPassword, FilePassword)):
        return next(iter(type(value).model_fields))
    return None


# Only a source outside the spec: the spec and the folder are committed, so a literal passphrase would
# sit in git beside the key it opens, and a generated one would live in the ignored output folder only.
Passphrase = Annotated[
    Annotated[EnvPassword, Tag("env")] | Annotated[FilePassword, Tag("file")],
    Discriminator(_passphrase_tag, custom_error_type="passphrase_source",
                  custom_error_message="a shared CA's passphrase is {env: NAME} or {file: path}: never written "
                                       "in the spec, which is committed beside the key it opens"),
]


class SharedCa(_Strict):
    """The root CA kept in a folder committed with the spec, its key encrypted with a passphrase."""

    folder: str = Field(min_length=1, description="the CA's folder, relative to the spec; commit it (ca.key is "
                        "encrypted); not the spec's folder, nor the output folder or anything in it")
    passphrase: Passphrase = Field(description="encrypts ca.key (PKCS#8, PBES2/AES-256-CBC): {env: NAME} or "
                                   "{file: path}, never a literal")


class Ca(_Issuing):
    """The root CA; its folder is <output>/ca/, or shared.folder."""

    import_: Import | None = Field(None, alias="import", description="use an existing CA: {cert, key, password}")
    shared: SharedCa | None = Field(None, description="keep the CA beside the spec, its key encrypted, so that "
                                    "every clone issues under it: {folder, passphrase}")


class Intermediate(_Issuing):
    """An issuing CA under the root or another intermediate."""

    issuer: str = Field("ca", description=_ISSUER)


class Leaf(_Strict):
    """A server or client certificate; its folder is <output>/<name>/."""

    cn: str | None = Field(None, min_length=1, max_length=64, description=_CN)
    sans: list[SanText] | None = Field(None, description="subjectAltNames; default: [cn]")
    key: Key | None = Field(None, description=_KEY)
    validity: Duration | None = Field(None, description=_VALIDITY)
    renew_before: RenewBefore | None = Field(None, description=_RENEW)
    subject: Subject | None = Field(None, description=_SUBJECT)
    usages: list[Usage] | None = Field(None, min_length=1, description="extended key usage; default: servers "
                                       "[serverAuth], clients [clientAuth]")
    issuer: str = Field("ca", description=_ISSUER)
    key_rotation: KeyRotation | None = Field(None, description=_ROTATION)
    key_password: PasswordSource | None = Field(None, description="encrypt tls.key (PKCS#8, AES-256-CBC) "
                                                "with this password")
    revoked: bool = Field(False, description="put the certificate's serial into its issuer's ca.crl and "
                                            "remove the entry's folder")
    keystore: Store | None = Field(None, description="key + chain under alias: {formats, password, alias, profile}")
    truststore: Store | None = Field(None, description="the roots of the peers' chains: {formats, password, "
                                     "profile}")


class SpecFile(_Strict):
    """mtlsgen spec, version 1: a CA, optional intermediates, servers and clients."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True,
                              title="mtlsgen spec", populate_by_name=True, defer_build=True)

    version: Literal[1] = Field(description="the spec format's version: 1")
    output: str = Field("certs", min_length=1, description="the certificate folder, relative to the spec file")
    defaults: Defaults = Field(default_factory=Defaults, description="inherited by every entry: key, validity, "
                               "renew_before, subject, key_rotation")
    ca: Ca = Field(default_factory=Ca, description="the root CA (or import: an existing one)")
    intermediates: dict[str, Intermediate] = Field({}, description="issuing CAs by name")
    servers: dict[str, Leaf] = Field({}, description="server certificates by name (the folder's name)")
    clients: dict[str, Leaf] = Field({}, description="client certificates by name (the folder's name)")

    @field_validator("intermediates", "servers", "clients", mode="before")
    @classmethod
    def _empty_entry_takes_defaults(cls, value: Any) -> Any:
        # `bob:` with nothing after it reads as null in YAML; users mean "bob, all defaults". Likewise a
        # section whose last entry was deleted (`clients:` alone) means no entries.
        if value is None:
            return {}
        if isinstance(value, dict):
            return {name: {} if entry is None else entry for name, entry in value.items()}
        return value

    @field_validator("version", mode="before")
    @classmethod
    def _version_is_a_number(cls, value: Any) -> Any:
        # Literal[1] alone accepts `true` and `1.0`, which compare equal to 1.
        if type(value) is not int:
            hint = " (a string: write it without quotes)" if isinstance(value, str) else ""
            raise ValueError(f"must be 1 (got {value!r}){hint}")
        return value


# A placeholder until the project has a home: an identifier, never fetched (editors follow the modeline).
SCHEMA_ID = "https://mtlsgen.example/schema/v1/pki.schema.json"
# The schema as shipped in the wheel (mtlsgen/spec/pki.schema.json) and committed (schema/pki.schema.json):
# both are `mtlsgen schema`'s output, which tests/spec/test_schema.py checks.
SCHEMA_FILE = "pki.schema.json"


def json_schema() -> dict[str, Any]:
    """The JSON Schema editors use to validate and complete spec files."""
    schema = SpecFile.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}
