"""The store cache: what each store held when mtlsgen last read or wrote it, so a no-op need not decrypt it.

Decrypting a PKCS#12 file (PBKDF2) is ~90% of a no-op at 1,000 stores, only to learn that nothing
changed. What a store holds is a function of its bytes and its password alone, so a record is keyed
by both: the bytes by their sha256, the password by a keyed tag. The cache is one file in the output
folder (layout.STORE_CACHE, 0600, covered by the folder's `.gitignore` of `*`), read here and never
through a link, written only by apply (through its fsio.Batch, like every other file) when the plan
lists it. A cache that is missing, damaged, stale or not a regular file is no cache: every store is
decrypted as without one.

A record is used only if it is exactly right. Each record carries

    tag = HMAC-SHA256(K, sha256(store bytes) || the content as canonical JSON)

where K is derived from the password (below). A record whose bytes differ (the store was edited,
replaced or swapped with another), whose password differs (the spec's password source changed),
whose content was edited, or that fails to parse is not used, and that store is decrypted. A cache can
therefore never change a decision, only save work: a wrong one costs one decryption.

Why the cache does not make a password easier to recover than the store it describes:
- It never holds a password, only tags. K comes from the password and a random 16-byte salt kept in
  the cache file (new whenever the cache is rebuilt from nothing).
- For a password the user chose (environment, file, a literal), K = PBKDF2-HMAC-SHA256(password,
  salt, KDF_ROUNDS ≥ the rounds PKCS#12 itself puts on the store, which a guesser pays once per guess
  to check the store's MAC; JKS costs one SHA-1). Guessing the password from the cache costs at least
  as much per guess as guessing it from the store. K is derived once per distinct password per run
  and kept in memory only.
- For a password mtlsgen generated (192 random bits, secrets.new_password), K = HMAC-SHA256(salt,
  password). A slow KDF protects guessable passwords; no guessing at any speed finds 192 random bits,
  and that password's own file sits in plain text beside the store, 0600 like the cache. A KDF there
  would cost ~3 ms a store, most of the decryption it saves, as each generated password is distinct.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..crypto.stores import PBKDF2_ROUNDS, StoreContent
from ..spec.files import MIB, FileProblem, read_regular

CACHE_LIMIT = 64 * MIB  # ~500 bytes a store: far beyond any real output folder
KDF_ROUNDS = max(PBKDF2_ROUNDS, 10_000)  # at least what the store itself costs a guesser
SALT_BYTES = 16
_VERSION = 1


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not a string")
    return base64.b64decode(text.encode(), validate=True)


def _content_json(content: StoreContent) -> dict[str, Any]:
    return {"aliases": list(content.key_aliases),
            "public": _b64(content.public_key) if content.public_key is not None else None,
            "chain": [_b64(c) for c in content.chain],
            "trusted": sorted([alias, _b64(fp)] for alias, fp in content.trusted),
            "profile": content.profile}


def _content_of(data: object) -> StoreContent:
    """The StoreContent a record's JSON describes; ValueError for anything else."""
    if not isinstance(data, dict) or set(data) != {"aliases", "public", "chain", "trusted", "profile"}:
        raise ValueError("not a store content")
    aliases, public, chain, trusted, profile = (data[k] for k in ("aliases", "public", "chain", "trusted",
                                                                   "profile"))
    if not (isinstance(aliases, list) and all(isinstance(a, str) for a in aliases) and isinstance(chain, list)
            and isinstance(trusted, list) and (profile is None or isinstance(profile, str))):
        raise ValueError("not a store content")
    pairs = []
    for pair in trusted:
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
            raise ValueError("not a store content")
        pairs.append((pair[0], _unb64(pair[1])))
    return StoreContent(tuple(aliases), None if public is None else _unb64(public),
                        tuple(_unb64(c) for c in chain), frozenset(pairs), profile)


def _canonical(data: object) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


@dataclass(frozen=True)
class Record:
    """What the store whose bytes have sha256 `digest` holds (`content`, as JSON), vouched for by `tag`."""

    digest: str
    content: Mapping[str, Any]  # compared too: a record whose content was edited is rewritten
    tag: str

    def as_json(self) -> dict[str, Any]:
        return {"sha256": self.digest, "content": self.content, "tag": self.tag}


class Keys:
    """The password keys K of one salt, each derived once per run and held in memory only."""

    def __init__(self, salt: bytes) -> None:
        self.salt = salt
        self._keys: dict[tuple[str, bool], bytes] = {}

    def tag(self, digest: str, content: Mapping[str, Any], password: str, generated: bool) -> str:
        key = self._keys.get((password, generated))
        if key is None:
            secret = password.encode()
            key = (hmac.new(self.salt, secret, hashlib.sha256).digest() if generated
                   else hashlib.pbkdf2_hmac("sha256", secret, self.salt, KDF_ROUNDS))
            self._keys[password, generated] = key
        return hmac.new(key, digest.encode() + b"|" + _canonical(content), hashlib.sha256).hexdigest()

    def record(self, data: bytes, password: str, generated: bool, content: StoreContent) -> Record:
        """A record for a store's bytes, opened (or written) with `password`, holding `content`."""
        digest = hashlib.sha256(data).hexdigest()
        as_json = _content_json(content)
        return Record(digest, as_json, self.tag(digest, as_json, password, generated))


@dataclass(frozen=True)
class CacheState:
    """The store cache as the state reader left it: a record for every store that opened (`records`,
    by "entry/file"), whether the file on disk already says exactly that (`current`), and why not."""

    records: Mapping[str, Record] = field(default_factory=dict)
    keys: Keys | None = field(default=None, repr=False, compare=False)  # None: no salt yet
    current: bool = True  # nothing to write: the file holds `records`, or there is neither file nor store
    problem: str = ""  # why not current: "missing", "unreadable", "stale"
    decrypted: int = 0  # stores decrypted while reading (a cache hit decrypts none)


def document(keys: Keys, records: Mapping[str, Record]) -> bytes:
    """The cache file holding `records`."""
    stores = {where: record.as_json() for where, record in sorted(records.items())}
    return _canonical({"version": _VERSION, "salt": _b64(keys.salt), "stores": stores}) + b"\n"


class StoreCache:
    """The store cache of one output folder during one read of its state (state.py)."""

    def __init__(self, path: Path) -> None:
        self.loaded: dict[str, Record] | None = None  # the file's records, if it is a valid cache
        self.problem = "missing"
        self.keys = Keys(os.urandom(SALT_BYTES))  # a new salt, unless the file gives a valid one
        self.records: dict[str, Record] = {}
        self.decrypted = 0
        self._by_digest: dict[str, Record] = {}
        try:
            data = read_regular(path, limit=CACHE_LIMIT, follow_symlinks=False)
        except FileProblem as exc:
            self.problem = "missing" if str(exc) == "does not exist" else "unreadable"
            return
        try:
            self._parse(data)
        except (ValueError, TypeError, RecursionError):  # json's errors are ValueErrors
            self.problem = "unreadable"

    def _parse(self, data: bytes) -> None:
        doc = json.loads(data)
        if not isinstance(doc, dict) or doc.get("version") != _VERSION or not isinstance(doc.get("stores"), dict):
            raise ValueError("not a store cache")
        salt = _unb64(doc.get("salt"))
        if len(salt) != SALT_BYTES:
            raise ValueError("not a store cache")
        loaded = {}
        for where, item in doc["stores"].items():
            if not (isinstance(item, dict) and isinstance(item.get("sha256"), str)
                    and isinstance(item.get("tag"), str) and isinstance(item.get("content"), dict)):
                raise ValueError("not a store cache")
            loaded[where] = Record(item["sha256"], item["content"], item["tag"])
        self.keys, self.loaded, self.problem = Keys(salt), loaded, "stale"
        self._by_digest = {record.digest: record for record in loaded.values()}

    def lookup(self, where: str, data: bytes, password: str, generated: bool) -> StoreContent | None:
        """What the store `data` (at "entry/file" `where`) holds opened with `password`, if a record says so."""
        digest = hashlib.sha256(data).hexdigest()
        record = self._by_digest.get(digest)  # by bytes, not by place: a store moved is still the same store
        if record is None:
            return None
        # The tag vouches for this very content with these bytes and this password.
        if not hmac.compare_digest(self.keys.tag(digest, record.content, password, generated), record.tag):
            return None
        try:
            content = _content_of(record.content)
        except (ValueError, TypeError):
            return None
        self.records[where] = record
        return content

    def remember(self, where: str, data: bytes, password: str, generated: bool, content: StoreContent) -> None:
        """The store `data` at `where`, just decrypted, holds `content`."""
        self.decrypted += 1
        self.records[where] = self.keys.record(data, password, generated, content)

    def state(self) -> CacheState:
        current = self.records == self.loaded if self.loaded is not None else not self.records
        return CacheState(dict(self.records), self.keys, current, "" if current else self.problem, self.decrypted)
