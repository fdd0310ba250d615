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
SanText = Annotated[str, AfterValidator(lambda s: str(parse_san(s))), Field(
    description="DNS name, IP address, URI (with ://) or e-mail; DNS:, IP:, URI:, email: force the type")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


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


class Subject(_Strict):
    C: Country | None = None
    ST: str | None = Field(None, min_length=1, max_length=128)
    L: str | None = Field(None, min_length=1, max_length=128)
    O: str | None = Field(None, min_length=1, max_length=64)  # noqa: E741 - X.500 attribute name
    OU: str | None = Field(None, min_length=1, max_length=64)


class Store(_Strict):
    formats: list[StoreFormat] = Field(default=["pkcs12"], min_length=1)
    password: PasswordSource | None = Field(None, description="default: {generate: true}")
    alias: Alias | None = None
    profile: Profile = "modern"


class Defaults(_Strict):
    key: Key | None = None
    validity: Duration | None = None
    renew_before: RenewBefore | None = None
    subject: Subject | None = None
    key_rotation: KeyRotation | None = None


class Import(_Strict):
    cert: str = Field(min_length=1, description="PEM certificate of an existing CA (relative to the spec)")
    key: str = Field(min_length=1, description="its PEM private key")
    password: PasswordSource | None = None


class Crl(_Strict):
    validity: Duration = "30d"
    url: Annotated[str, AfterValidator(crl_url)] | None = Field(
        None, description="written into leaves as their CRL distribution point")


class _Issuing(_Strict):
    cn: str | None = Field(None, min_length=1, max_length=64)
    key: Key | None = None
    validity: Duration | None = None
    renew_before: RenewBefore | None = None
    subject: Subject | None = None
    path_length: int | None = Field(None, ge=0, le=16)
    crl: Crl | None = None


class Ca(_Issuing):
    import_: Import | None = Field(None, alias="import")


class Intermediate(_Issuing):
    issuer: str = "ca"


class Leaf(_Strict):
    cn: str | None = Field(None, min_length=1, max_length=64)
    sans: list[SanText] | None = None
    key: Key | None = None
    validity: Duration | None = None
    renew_before: RenewBefore | None = None
    subject: Subject | None = None
    usages: list[Usage] | None = Field(None, min_length=1)
    issuer: str = "ca"
    key_rotation: KeyRotation | None = None
    key_password: PasswordSource | None = None
    revoked: bool = False
    keystore: Store | None = None
    truststore: Store | None = None


class SpecFile(_Strict):
    """mtlsgen spec, version 1: a CA, optional intermediates, servers and clients."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True,
                              title="mtlsgen spec", populate_by_name=True)

    version: Literal[1]
    output: str = Field("certs", min_length=1, description="relative to the spec file")
    defaults: Defaults = Field(default_factory=Defaults)
    ca: Ca = Field(default_factory=Ca)
    intermediates: dict[str, Intermediate] = {}
    servers: dict[str, Leaf] = {}
    clients: dict[str, Leaf] = {}

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


def json_schema() -> dict[str, Any]:
    """The JSON Schema editors use to validate and complete spec files."""
    schema = SpecFile.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
