"""Password sources resolved to values. Values never reach any output: only `Password.where`."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from ..errors import SecretError
from ..spec.entries import Password


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
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if password.source == "generate":
            return None
        raise SecretError(f"{password.where}: password file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise SecretError(f"{password.where}: cannot read password file {path}: {reason}") from None
    value = text.removesuffix("\n").removesuffix("\r")
    if not value:
        raise SecretError(f"{password.where}: password file {path} is empty")
    return value


def new_password() -> str:
    """32 URL-safe characters: typeable in a shell and a Java properties file, 192 bits."""
    return secrets.token_urlsafe(24)
