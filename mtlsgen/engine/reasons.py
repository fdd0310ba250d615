"""Why a change is planned, as data: a kind from a closed set, the file it is about, and its details.

Reasons become words only in mtlsgen/cli/render.py; status, verify and the JSON documents read the
kind. This is terraform's `ActionReason`: typed, and never parsed back from text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum


class Kind(str, Enum):
    """Every reason the planner gives. The value is what `--json` carries as `kind`."""

    # A file of the entry: `file` names it, `detail` says what is wrong with it.
    MISSING = "missing"                          # the file does not exist
    UNREADABLE = "unreadable"                    # it exists but cannot be used (detail: why)
    CREATE = "create"                            # a new entry or folder: `names` are the files made
    # Keys
    REPLACE_REQUESTED = "replace_requested"      # --replace NAME
    KEY_TYPE = "key_type"                        # the key's type differs from the spec (old → new)
    KEY_PROTECTION = "key_protection"            # tls.key is rewritten: detail encrypt|re-encrypt|decrypt
    NEW_KEY = "new_key"                          # a reissue makes a new key too (detail: why, key_rotation)
    CA_KEY_KEPT = "ca_key_kept"                  # blocked: a CA key is never replaced implicitly
    CA_KEY_NOT_OF_CERT = "ca_key_not_of_cert"    # blocked: ca.key is not the key of ca.crt
    REKEY_FINISH = "rekey_finish"                # an interrupted re-key left ca.crt under the staged new key
    STAGED_KEY_STALE = "staged_key_stale"        # an interrupted re-key stopped before ca.crt: the old CA stays
    # Certificates
    KEY_MISMATCH = "key_mismatch"                # the certificate does not match its key
    ISSUER_NEW = "issuer_new"                    # the issuer (names[0]) is created now
    ISSUER_REKEYED = "issuer_rekeyed"            # the issuer (names[0]) gets a new key
    NOT_SIGNED_BY_ISSUER = "not_signed_by_issuer"  # signature does not verify with the issuer's key
    CN = "cn"
    SUBJECT = "subject"
    SANS = "sans"                                # names: "+DNS:a", "-DNS:b"
    USAGES = "usages"
    VALIDITY = "validity"
    PATH_LENGTH = "path_length"
    CRL_URL = "crl_url"
    ISSUER_NAME = "issuer_name"
    EXPIRED = "expired"                          # when: not after
    EXPIRING = "expiring"                        # when: not after; detail: renew_before; days: days left
    OUTLIVED = "outlived"                        # a CA expires (when) before names[0] issued now would
    # Files derived from certificates
    CHAIN_RENEWED = "chain_renewed"              # tls.crt: names renewed
    CHAIN_STALE = "chain_stale"                  # tls.crt: its intermediates are not the current ones
    ROOT_RENEWED = "root_renewed"                # ca.crt: names[0] renewed
    ROOT_STALE = "root_stale"                    # ca.crt: not the current root
    STORE_CHAIN_RENEWED = "store_chain_renewed"  # a key store's chain holds a renewed certificate
    STORE_ALIAS = "store_alias"                  # old → new
    STORE_KEY_OR_CHAIN = "store_key_or_chain"
    STORE_TRUST_RENEWED = "store_trust_renewed"  # a trusted CA was renewed
    STORE_TRUST_DIFFERS = "store_trust_differs"
    STORE_PROFILE = "store_profile"              # old → new
    STORE_PASSWORD_LOST = "store_password_lost"  # the store exists but its generated password file does not
    STORE_PASSWORD_SOURCE = "store_password_source"  # the spec moved its password from generated to env/file
    # CRLs
    CRL_REVOKES = "crl_revokes"                  # names: the entries it now revokes
    CRL_NEW_KEY = "crl_new_key"
    CRL_RESIGNED = "crl_resigned"                # its CA's certificate was reissued
    CRL_FOREIGN = "crl_foreign"                  # not issued by its CA's current certificate and key
    CRL_DUE = "crl_due"                          # when: its next update (None: it has none)
    CRL_BUNDLE_RENEWED = "crl_bundle_renewed"    # a server's ca.crl: names are the CAs whose CRLs are renewed
    CRL_BUNDLE_STALE = "crl_bundle_stale"        # a server's ca.crl does not hold the CRLs of names
    # A CA's rotation (rollover.py)
    ROLLOVER_START = "rollover_start"            # --rotate: next.* made; when: the move; detail: the timeline
    ROLLOVER_RESTART = "rollover_restart"        # next.* (names) unusable: a new incoming CA, trusted first
    ROLLOVER_MOVE = "rollover_move"              # next.* → ca.*, ca.* → previous.*; when: the finish
    ROLLOVER_MOVED = "rollover_moved"            # reissued under names[0]'s new CA
    ROLLOVER_FINISH = "rollover_finish"          # previous.* → retired.*: no bundle trusts names[0] any more
    ROLLOVER_TRUST = "rollover_trust"            # a bundle trusts names (e.g. ca-next), or drops detail
    ROLLOVER_LEFTOVER = "rollover_leftover"      # next.* (names) left by an interrupted move: removed
    ROLLOVER_DROPPED = "rollover_dropped"        # --replace abandons the rotation: names removed
    PREVIOUS_EXPIRED = "previous_expired"        # the old CA's certificate expired: its files (names) removed
    # Revocation and removal
    REVOKED = "revoked"                          # the entry's serial goes into names[0]'s CRL
    REVOKED_UNKNOWN = "revoked_unknown"          # its certificate is gone (detail: why): no serial to revoke
    DROPPED = "dropped"                          # a file the spec no longer asks for is removed
    ORPHAN = "orphan"                            # a folder of an entry no longer in the spec (names: theirs;
    PRUNE = "prune"                              # detail: the CA that revokes its certificate when pruned)
    # The output folder and file modes
    MODE = "mode"                                # old → new, as octal text
    GITIGNORE = "gitignore"                      # detail: missing | wrong
    TEMP = "temp"                                # a temporary file an interrupted apply left: removed
    STORE_CACHE = "store_cache"                  # the store cache is written (detail: stores | missing |
                                                 # unreadable | stale); it never changes a decision
    # Said by status only: the certificate expires within `--fail-within` (days)
    EXPIRES_WITHIN = "expires_within"


@dataclass(frozen=True)
class Reason:
    """One reason for a change. `file` is relative to the entry's folder ("" is the folder itself),
    or to the output folder for the output folder's own reasons."""

    kind: Kind
    file: str = ""
    old: str = ""
    new: str = ""
    names: tuple[str, ...] = ()
    when: datetime | None = None
    detail: str = ""
    days: int | None = None


def file_problem(file: str, problem: str | None) -> Reason:
    """A file that is missing or unreadable, from the state's `Loaded.problem` text."""
    if problem is None or problem == "missing":
        return Reason(Kind.MISSING, file)
    return Reason(Kind.UNREADABLE, file, detail=problem.removeprefix("unreadable: "))
