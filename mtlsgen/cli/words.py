"""Reasons in words: the only place a Reason becomes text. Nothing reads these words back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..engine.layout import CA_CRL, CA_CRT, CA_KEY, TLS_CRT
from ..engine.reasons import Kind, Reason


@dataclass(frozen=True)
class Where:
    """What a reason's words need beyond the reason: whose it is, and how to name folders."""

    entry: str = ""
    output: str = ""          # the output folder as the spec names it, e.g. "certs"
    prefix_ca_files: bool = False  # name a CA's files with their folder ("ca/ca.key"), as blocked lines do
    folder: str = ""          # the entry's folder when it is not named after it: a shared CA's "pki-ca"


def _file(r: Reason, w: Where) -> str:
    return f"{w.entry}/{r.file}" if w.prefix_ca_files and r.file in (CA_KEY, CA_CRT, CA_CRL) else r.file


def _kept(r: Reason) -> str:
    return f" (keeps {', '.join(r.names)}, which mtlsgen did not write)" if r.names else ""


def _revokes(r: Reason) -> str:
    """An orphan's still-valid certificate is revoked in its issuer's CRL before its files go."""
    return f"revokes its certificate in {r.detail}/{CA_CRL} and " if r.detail else ""


def _first(r: Reason) -> str:
    return r.names[0] if r.names else ""


_WORDS: dict[Kind, Callable[[Reason, Where], str]] = {
    Kind.MISSING: lambda r, w: f"{_file(r, w)} missing",
    Kind.UNREADABLE: lambda r, w: f"{_file(r, w)} unreadable: {r.detail}",
    Kind.CREATE: lambda r, w: " ".join(r.names),
    Kind.REPLACE_REQUESTED: lambda r, w: "--replace" + (": new key; what it issues is reissued"
                                                        if r.file == CA_KEY else ""),
    Kind.KEY_TYPE: lambda r, w: f"key: {r.old} → {r.new}",
    Kind.KEY_PROTECTION: lambda r, w: f"{r.file}: " + {
        "encrypt": "encrypt with key_password", "re-encrypt": "re-encrypt with the new key_password",
        "decrypt": "decrypt (key_password removed)"}[r.detail],
    Kind.CA_KEY_KEPT: lambda r, w: ((f"a CA key is never replaced implicitly: apply --rotate {w.entry} replaces it "
                                     f"without an outage, apply --replace {w.entry} at once (reissuing everything "
                                     "under it)") if r.detail == "rotate" else
                                    (f"a CA key is never replaced implicitly: apply --replace {w.entry} makes a new "
                                     "one and reissues everything under it")),
    Kind.CA_KEY_NOT_OF_CERT: lambda r, w: f"{_file(r, w)} is not the key of {_file(Reason(r.kind, r.new), w)}",
    Kind.REKEY_FINISH: lambda r, w: (f"{r.file} becomes {r.new}: a re-key was interrupted after ca.crt was "
                                     "written; what the CA issued follows"),
    Kind.STAGED_KEY_STALE: lambda r, w: f"{r.file}: a re-key was interrupted before ca.crt; removed, the CA stays",
    Kind.NEW_KEY: lambda r, w: f"new key ({r.detail})",
    Kind.KEY_MISMATCH: lambda r, w: f"{r.file} does not match its key",
    Kind.ISSUER_NEW: lambda r, w: f"issuer {_first(r)} is new",
    Kind.ISSUER_REKEYED: lambda r, w: f"issuer {_first(r)} re-keyed",
    Kind.NOT_SIGNED_BY_ISSUER: lambda r, w: f"not signed by {_first(r)}'s current key",
    Kind.CN: lambda r, w: f"CN: {r.old} → {r.new}",
    Kind.SUBJECT: lambda r, w: f"subject: {r.old} → {r.new}",
    Kind.SANS: lambda r, w: f"SANs: {' '.join(r.names)}",
    Kind.USAGES: lambda r, w: f"usages: {' '.join(r.names)}",
    Kind.VALIDITY: lambda r, w: f"validity: {r.old} → {r.new}",
    Kind.PATH_LENGTH: lambda r, w: f"path_length: {r.old} → {r.new}",
    Kind.CRL_URL: lambda r, w: f"CRL URL: {r.old or 'none'} → {r.new or 'none'}",
    Kind.ISSUER_NAME: lambda r, w: f"issuer: {r.old} → {r.new}",
    Kind.EXPIRED: lambda r, w: f"expired {r.when:%Y-%m-%d}",
    Kind.EXPIRING: lambda r, w: f"expires {r.when:%Y-%m-%d}, in {r.days} days (renew_before {r.detail})",
    Kind.OUTLIVED: lambda r, w: f"expires {r.when:%Y-%m-%d}, before {_first(r)} issued now would ({r.detail})",
    Kind.CHAIN_RENEWED: lambda r, w: f"{TLS_CRT}: chain updated ({', '.join(r.names)} renewed)",
    Kind.CHAIN_STALE: lambda r, w: f"{TLS_CRT}: chain out of date",
    Kind.ROOT_RENEWED: lambda r, w: f"{CA_CRT}: {_first(r)} renewed",
    Kind.ROOT_STALE: lambda r, w: f"{CA_CRT}: not the current root",
    Kind.STORE_CHAIN_RENEWED: lambda r, w: f"{r.file}: chain updated",
    Kind.STORE_ALIAS: lambda r, w: f"{r.file}: alias {r.old} → {r.new}",
    Kind.STORE_KEY_OR_CHAIN: lambda r, w: f"{r.file}: key or chain differs",
    Kind.STORE_TRUST_RENEWED: lambda r, w: f"{r.file}: trusted CA renewed",
    Kind.STORE_TRUST_DIFFERS: lambda r, w: f"{r.file}: trusted CAs differ",
    Kind.STORE_PROFILE: lambda r, w: f"{r.file}: profile {r.old} → {r.new}",
    Kind.STORE_PASSWORD_SOURCE: lambda r, w: (f"{r.file}: password source changed to {r.new}: repack with the "
                                              "new password"),
    Kind.STORE_PASSWORD_LOST: lambda r, w: f"{r.file} unreadable: its generated password file is missing",
    Kind.CRL_REVOKES: lambda r, w: f"{CA_CRL}: revokes {', '.join(r.names)}",
    Kind.CRL_NEW_KEY: lambda r, w: f"{CA_CRL}: signed by the new key",
    Kind.CRL_RESIGNED: lambda r, w: f"{CA_CRL}: re-signed for the reissued {_first(r)} certificate",
    Kind.CRL_FOREIGN: lambda r, w: f"{r.file or CA_CRL}: not issued by {_first(r)}'s current certificate and key",
    Kind.CRL_DUE: lambda r, w: (f"{r.file or CA_CRL}: next update {r.when:%Y-%m-%d}" if r.when else
                                f"{r.file or CA_CRL}: no next update"),
    Kind.CRL_BUNDLE_RENEWED: lambda r, w: f"{r.file}: {', '.join(r.names)} CRL renewed",
    Kind.CRL_BUNDLE_STALE: lambda r, w: f"{r.file}: does not hold the current CRLs of {', '.join(r.names)}",
    Kind.ROLLOVER_START: lambda r, w: (f"--rotate: a new key and certificate in next.key and next.crt, trusted "
                                       f"everywhere beside the current one; leaves move on {r.when:%Y-%m-%d %H:%M} "
                                       f"UTC ({r.detail})"),
    Kind.ROLLOVER_RESTART: lambda r, w: (f"the incoming CA is unusable ({r.detail}); a new one in next.key and "
                                         "next.crt, trusted first again"),
    Kind.ROLLOVER_MOVE: lambda r, w: (f"rotation: next.* become {CA_CRT} and {CA_KEY}, the old CA moves to "
                                      f"previous.*; everything {w.entry} issued is reissued; both stay trusted "
                                      f"until {r.when:%Y-%m-%d %H:%M} UTC"),
    Kind.ROLLOVER_MOVED: lambda r, w: f"moves to {_first(r)}'s new CA (rotation)",
    Kind.ROLLOVER_FINISH: lambda r, w: (f"rotation finished: previous.* become retired.*, which no bundle trusts "
                                        f"({_first(r)}); kept to sign the old CA's CRL until it expires"),
    Kind.ROLLOVER_TRUST: lambda r, w: (f"{r.file}: trusts {_first(r)} too (rotation)" if r.names else
                                       f"{r.file}: no longer trusts {r.detail} (rotation finished)"),
    Kind.ROLLOVER_LEFTOVER: lambda r, w: (f"{' '.join(r.names)}: left by an interrupted move, which is finished; "
                                          "removed"),
    Kind.ROLLOVER_DROPPED: lambda r, w: f"{' '.join(r.names)}: --replace abandons the rotation; removed",
    Kind.PREVIOUS_EXPIRED: lambda r, w: f"{' '.join(r.names)}: the old CA's certificate expired; removed",
    Kind.REVOKED: lambda r, w: f"added to {_first(r)}/{CA_CRL}; files removed",
    Kind.REVOKED_UNKNOWN: lambda r, w: (f"{r.file} {r.detail}: its serial is unknown and cannot be added to "
                                        f"{_first(r)}/{CA_CRL}; files removed"),
    Kind.DROPPED: lambda r, w: f"{r.file}: no longer in the spec; removed",
    Kind.ORPHAN: lambda r, w: (f"not in the spec; apply --prune {_revokes(r)}deletes {w.output}/{r.file}"
                               f"{_kept(r)}"),
    Kind.PRUNE: lambda r, w: f"not in the spec; {_revokes(r)}deletes {w.output}/{r.file}{_kept(r)}",
    Kind.MODE: lambda r, w: ((f"{r.file or (w.folder or w.entry) + '/'}: " if r.file or w.entry else "")
                             + f"mode {r.old} → {r.new}"),
    Kind.GITIGNORE: lambda r, w: (f"{r.file} {'missing' if r.detail == 'missing' else 'does not say *'}: "
                                  "keys could be committed"),
    Kind.TEMP: lambda r, w: f"{r.file}: left by an interrupted apply; removed",
    Kind.STORE_CACHE: lambda r, w: f"{r.file}: store cache " + {
        "stores": "updated for the stores written", "missing": "missing", "unreadable": "unreadable; rebuilt",
        "stale": "out of date"}.get(r.detail, r.detail),
    Kind.EXPIRES_WITHIN: lambda r, w: f"expires within {r.days} days",
}


def reason_text(reason: Reason, where: Where) -> str:
    return _WORDS[reason.kind](reason, where)
