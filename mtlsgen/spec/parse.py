"""parse_file(source) → model.SpecFile: the YAML value checked against the models, and pydantic's
validation errors turned into one line each (`pki.yaml:14: servers.api.sans[2]: reason`), with a
did-you-mean for unknown keys and never a password echoed back.
"""

from __future__ import annotations

import types
from typing import Any, Union, get_args, get_origin

import pydantic

from . import model
from .names import control_character
from .yamlsrc import PathKey, Source

_ALL_FIELDS = sorted({name for cls in (model.SpecFile, model.Leaf, model.Ca, model.Intermediate,
                                       model.Defaults, model.Store, model.Subject, model.Import,
                                       model.Crl, model.SharedCa, model.Rollover)
                      for name in [f.alias or n for n, f in cls.model_fields.items()]})


def _keys_at(loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed in the mapping holding loc[-1], so that did-you-mean only offers valid ones."""
    node: Any = model.SpecFile
    for part in (*loc[:-1], None):
        args = [a for a in get_args(node) if a is not type(None)]
        if get_origin(node) in (Union, types.UnionType) and len(args) == 1:
            node = args[0]  # X | None
        if isinstance(node, type) and issubclass(node, pydantic.BaseModel):
            if part is None:
                return [f.alias or n for n, f in node.model_fields.items()]
            found = [f.annotation for n, f in node.model_fields.items() if part in (n, f.alias)]
            node = found[0] if found else None
        elif get_origin(node) is dict:
            node = args[1]  # part is an entry's name
        else:
            break
    return _ALL_FIELDS


def _reason(error: Any) -> str:
    kind, message, given = error["type"], error["msg"], error.get("input")
    loc = error["loc"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        if len(loc) > 1 and loc[-2] == "subject" and key.lower() == "cn":
            return "unknown key; the common name is the entry's own `cn`, not part of its subject"
        import difflib  # only for this message: a valid spec never pays its import

        close = difflib.get_close_matches(key, _keys_at(loc), n=1)
        return f"unknown key{f'; did you mean {close[0]!r}?' if close else ''}"
    if kind == "missing":
        return "required"
    if kind == "literal_error" and loc == ("version",):
        return f"must be 1 (got {given!r})"
    if kind == "literal_error" and loc[-1] == "generate":
        got = f" (got {given!r})" if isinstance(given, bool) else ""  # anything else may be a password
        return (f"can only be true{got}; for another password use {{env: NAME}}, "
                "{file: path} or a string")
    if message.startswith("Value error, "):
        return str(message)[len("Value error, "):]
    if kind in ("model_type", "dict_type"):  # pydantic names the class: "instance of Leaf"
        if given is None:
            return "expected a mapping, got an empty value (write {} for an empty mapping)"
        return "expected a mapping (key: value)" + (f", got {given!r}" if _short(given) else "")
    if kind == "string_type" and type(given) in (int, float) and loc[-1] in ("validity", "renew_before"):
        example = f"{given}d" if type(given) is int else "90d"
        return f"{given!r} has no unit; write a duration like {example} (<n>h, <n>d, <n>w or <n>y)"
    if kind == "passphrase_source":  # never echo the value: it may be the passphrase itself
        return str(message)
    if kind == "password_source":  # never echo the value: it may be the password itself
        if isinstance(given, bool):
            return f"{message}; YAML reads yes/no/on/off/true/false as booleans: quote it"
        number = type(given) in (int, float)
        return f"{message}" + ("; YAML reads an unquoted number as a number: quote it" if number else "")
    if isinstance(given, bool) and "string" in message:
        return f"{message[0].lower()}{message[1:]}, got {given!r} (YAML reads yes/no/on/off as booleans: quote it)"
    message = message.replace(" after validation", "")
    if given is None:
        return f"{message[0].lower()}{message[1:]}, got an empty value"
    return f"{message[0].lower()}{message[1:]}" + (f", got {given!r}" if _short(given) else "")


def _short(value: Any) -> bool:
    return isinstance(value, (str, int, float)) and len(repr(value)) <= 60


def _data_path(data: Any, loc: tuple[Any, ...]) -> PathKey:
    """Pydantic's location minus the union branch names it adds, which are not in the document."""
    out: list[str | int] = []
    for part in loc:
        in_dict = isinstance(data, dict) and part in data
        if in_dict or (isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)):
            data = data[part]
            out.append(part)
        elif isinstance(data, dict) and isinstance(part, str) and part == loc[-1]:
            out.append(part)  # a missing required key: name it
    return tuple(out)


def _no_control_characters(source: Source) -> None:
    """No key or string in the spec holds a control character (U+0000–U+001F, U+007F–U+009F).

    Each would end up where it does harm: in a certificate's subject or SANs (`CN = a\\00b`), in a
    CRL distribution point every leaf carries, in a path the system call refuses (NUL), in a password
    (a trailing newline from a `|` block), or in the one line an error is printed on.
    """

    def walk(value: Any, path: PathKey) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                bad = control_character(key)
                if bad is not None:
                    raise source.error((*path, key), f"the key holds a control character ({bad})")
                walk(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*path, index))
        elif isinstance(value, str):
            bad = control_character(value)
            if bad is None:
                return
            if path and path[-1] in ("password", "key_password"):  # a literal password: never echo it
                raise source.error(path, f"the password holds a control character ({bad}); "
                                         "passwords in the spec cannot carry one")
            text = value if len(value) <= 60 else value[:57] + "..."
            raise source.error(path, f"{text!r} holds a control character ({bad}); names, paths, URLs and "
                                     "certificate fields cannot carry one")

    walk(source.value, ())


def parse_file(source: Source) -> model.SpecFile:
    if not isinstance(source.value, dict):
        raise source.error((), "the spec must be a mapping with at least `version: 1`")
    _no_control_characters(source)
    try:
        return model.SpecFile.model_validate(source.value)
    except pydantic.ValidationError as exc:
        # A typo explains the "required" error it causes (`versoin: 1`): report the typo first.
        errors = exc.errors()
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        raise source.error(_data_path(source.value, first["loc"]), _reason(first)) from None
