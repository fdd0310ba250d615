"""Password sources resolved to values. Values never reach any output: only `Password.where`."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from ..errors import SecretError
from ..spec.entries import Password
from ..spec.files import KIB, FileProblem, read_regular

PASSWORD_FILE_LIMIT = 64 * KIB


def resolve_password(password: Password, generated: Path | None) -> str | None:
    """The password's value; None for a `{generate: true}` whose file does not exist yet."""
    if password.source == "literal":
        return password.value
    if password.source == "env":
        value = os.environ.get(password.ref)
        if value is None:
            raise SecretError(f"{password.where}: environment variable {password.ref} is not set")
        if not value:
            raise SecretError(f"{password.where}: environment variable {password.ref} is empty")
        return value
    path = Path(password.ref) if password.source == "file" else generated
    if path is None:
        return None
    try:
        # A generated password file is mtlsgen's own, inside the output folder: never read through a link.
        data = read_regular(path, limit=PASSWORD_FILE_LIMIT, follow_symlinks=password.source == "file")
        text = data.decode("utf-8")
    except FileProblem as exc:
        if str(exc) == "does not exist" and password.source == "generate":
            return None
        raise SecretError(f"{password.where}: password file {path} {exc}") from None
    except UnicodeDecodeError:
        raise SecretError(f"{password.where}: cannot read password file {path}: not UTF-8 text") from None
    value = text.removesuffix("\n").removesuffix("\r")
    if not value:
        raise SecretError(f"{password.where}: password file {path} is empty")
    return value


def new_password() -> str:
    """32 URL-safe characters: typeable in a shell and a Java properties file, 192 bits."""
    return secrets.token_urlsafe(24)
