"""The specs each case applies, and the in-process floor: what mtlsgen is compared with must build the
same thing (same keys, validity, SANs), so the specs here mirror seed_commands.sh and cfssl_commands.sh."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

# The seed article's PKI as mtlsgen declares it (seed_commands.sh seed): RSA-4096 everywhere, the
# server's PKCS#12 + JKS keystore and JKS truststore, the client's PKCS#12.
SEED_SPEC = """version: 1
defaults: {key: rsa-4096, validity: 365d}
ca: {cn: Example Root CA, validity: 10y}
servers:
  api-server:
    sans: [api-server.example.com, localhost, 127.0.0.1]
    keystore: {formats: [pkcs12, jks]}
    truststore: {formats: [jks]}
clients:
  client: {keystore: {formats: [pkcs12]}}
"""


def pem_spec(clients: int) -> str:
    """1 server + N ECDSA P-256 clients, PEM only (cfssl_commands.sh N): CA 10y, leaves 365d, the
    server's SAN api.example.com, each client's SAN its name (mtlsgen's default)."""
    body = "".join(f"  client-{i:05d}:\n" for i in range(clients)) or "  {}\n"
    return (f"version: 1\nca: {{key: ecdsa-p256}}\ndefaults: {{key: ecdsa-p256}}\nservers:\n  api:\n"
            f"    sans: [api.example.com]\nclients:\n{body}")


def p12_spec(clients: int) -> str:
    """1 server + N ECDSA clients, PEM + a PKCS#12 keystore each (seed_commands.sh ecdsa N); store
    passwords generated, as a user would leave them."""
    store = "    keystore: {formats: [pkcs12]}\n"
    body = "".join(f"  client-{i:05d}:\n{store}" for i in range(clients))
    return (f"version: 1\nca: {{key: ecdsa-p256}}\ndefaults: {{key: ecdsa-p256}}\nservers:\n  api-server:\n"
            f"    sans: [api-server.example.com, localhost, 127.0.0.1]\n{store}clients:\n{body}")


def floor(clients: int) -> None:
    """The same keys and certificates as pem_spec(clients) made with cryptography in this process, no
    files: what no tool can beat in Python (the cryptography import is paid once, before timing)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mtlsgen Root CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now)
          .not_valid_after(now + timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(ca_ski, critical=False)
          .sign(ca_key, hashes.SHA256()))
    aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski)
    leaves = [("api.example.com", ExtendedKeyUsageOID.SERVER_AUTH)]
    leaves += [(f"client-{i:05d}", ExtendedKeyUsageOID.CLIENT_AUTH) for i in range(clients)]
    for name, usage in leaves:
        key = ec.generate_private_key(ec.SECP256R1())
        (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
         .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now).not_valid_after(now + timedelta(days=365))
         .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
         .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
         .add_extension(aki, critical=False)
         .sign(ca_key, hashes.SHA256()))
