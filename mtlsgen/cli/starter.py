"""The commented starter spec that `mtlsgen init` writes."""

STARTER_SPEC = """\
# Editor completion: `mtlsgen schema > pki.schema.json`, then make the next line the first:
# yaml-language-server: $schema=pki.schema.json
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
