"""The commented starter spec that `mtlsgen init` writes.

Its first line is a yaml-language-server modeline naming the schema the installed package ships
(mtlsgen/spec/pki.schema.json) by absolute file URI: it resolves offline, right after `init`. A spec
shared with others is better served by a copy beside it: `mtlsgen export schema DIR` writes one, and the
modeline becomes `$schema=pki.schema.json`.
"""

from pathlib import Path

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "spec" / "pki.schema.json"
MODELINE_PREFIX = "# yaml-language-server: $schema="

STARTER_SPEC = f"{MODELINE_PREFIX}{SCHEMA_PATH.as_uri()}\n" + """\
# Editor help comes from the schema above. Sharing this file? `mtlsgen export schema .` copies the schema
# here: then write `$schema=pki.schema.json` on the first line.
# mtlsgen spec: `mtlsgen plan` shows what would change, `mtlsgen apply` writes it.
version: 1
output: certs                     # relative to this file

defaults:                         # every entry inherits these unless it says otherwise
  key: ecdsa-p256                 # rsa-2048 | rsa-3072 | rsa-4096 | ecdsa-p256 | ecdsa-p384 | ed25519
  validity: 365d                  # <n>h | <n>d | <n>w | <n>y
  renew_before: 33%               # a duration (30d) or a share of the lifetime
  subject: {O: Example Corp}

ca:
  cn: Example Root CA
  validity: 10y
  # shared: {folder: pki-ca, passphrase: {env: PKI_CA_PASSPHRASE}}  # a team CA, committed
  # import: {cert: corp-ca.crt, key: corp-ca.key, password: {env: CORP_CA_PASS}}

servers:
  my-server:
    sans: [my-server.example.com, localhost, 127.0.0.1]
    validity: 90d
    keystore: {formats: [pkcs12]}        # password generated into certs/my-server/keystore.password
    truststore: {formats: [pkcs12]}
    # keystore: {formats: [pkcs12, jks], password: {env: MY_SERVER_KEYSTORE_PASSWORD}}

clients:
  my-client:                      # cn defaults to the entry's name
    validity: 90d
"""

SHARED_CA_LINE = "  # shared: {folder: pki-ca, passphrase: {env: PKI_CA_PASSPHRASE}}  # a team CA, committed\n"
SHARED_CA_BLOCK = """\
  shared:                         # the CA lives in pki-ca/ beside this file: commit it, every clone issues under it
    folder: pki-ca                # ca.crt, and ca.key encrypted with the passphrase (PKCS#8, AES-256-CBC)
    passphrase: {env: PKI_CA_PASSPHRASE}   # or {file: ~/.config/pki/ca-passphrase}; never written here
"""
# `mtlsgen init --shared-ca`: the same starter, with the CA kept beside the spec.
SHARED_STARTER_SPEC = STARTER_SPEC.replace(SHARED_CA_LINE, SHARED_CA_BLOCK)


def shared_next_steps(spec: str) -> str:
    """What to do after `init --shared-ca`: the passphrase, the first apply, the commit."""
    return (f"next: export PKI_CA_PASSPHRASE=\"$(openssl rand -base64 32)\" (keep it in your team's secret store; "
            f"colleagues and CI set the same value), mtlsgen apply {spec}, then git add {spec} "
            f"{Path(spec).parent / 'pki-ca'}")
