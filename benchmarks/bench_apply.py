"""The seed article's openssl + keytool workflow (baseline) vs mtlsgen apply, side by side.

Both build the same thing: an RSA-4096 root, server and client (as the article does), the server's
PKCS#12 + JKS keystore and JKS truststore, the client's PKCS#12. mtlsgen also times a no-op apply
(the case CI hits on every run) and the example spec (ECDSA leaves).
Run: python benchmarks/bench_apply.py [--rounds 5]   (needs openssl and keytool on PATH)
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import median_seconds, report

SEED_SCRIPT = r"""
set -e
P=12345678
openssl req -x509 -sha256 -days 3650 -newkey rsa:4096 -keyout rootCA.key -out rootCA.crt \
  -passout pass:$P -subj "/CN=Example Root CA" 2>/dev/null
openssl req -new -newkey rsa:4096 -keyout server.key -out server.csr -passout pass:$P \
  -subj "/CN=api-server.example.com" 2>/dev/null
printf 'authorityKeyIdentifier=keyid,issuer\nbasicConstraints=CA:FALSE\n' > server.ext
printf 'subjectAltName=DNS:api-server.example.com,DNS:localhost,IP:127.0.0.1\n' >> server.ext
openssl x509 -req -CA rootCA.crt -CAkey rootCA.key -in server.csr -out server.crt -days 365 \
  -CAcreateserial -extfile server.ext -passin pass:$P 2>/dev/null
openssl pkcs12 -export -out server.p12 -name api-server -inkey server.key -in server.crt \
  -passin pass:$P -password pass:$P
keytool -importkeystore -srckeystore server.p12 -srcstoretype PKCS12 -srcstorepass $P \
  -destkeystore server_keystore.jks -deststoretype JKS -deststorepass $P -noprompt 2>/dev/null
keytool -import -trustcacerts -noprompt -alias ca -file rootCA.crt -keystore server_truststore.jks \
  -storepass $P 2>/dev/null
openssl req -new -newkey rsa:4096 -keyout client.key -out client.csr -passout pass:$P -subj "/CN=client" 2>/dev/null
openssl x509 -req -CA rootCA.crt -CAkey rootCA.key -in client.csr -out client.crt -days 365 \
  -CAcreateserial -passin pass:$P 2>/dev/null
openssl pkcs12 -export -out client.p12 -name client -inkey client.key -in client.crt \
  -passin pass:$P -password pass:$P
"""

SEED_SPEC = """
version: 1
output: certs
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

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    mtlsgen = [sys.executable, "-m", "mtlsgen"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)

        def seed() -> None:
            folder = work / "seed"
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            subprocess.run(["bash", "-c", SEED_SCRIPT], cwd=folder, check=True, capture_output=True)

        spec = work / "pki.yaml"
        spec.write_text(SEED_SPEC)
        example = work / "example.yaml"
        shutil.copy(REPO / "examples" / "pki.yaml", example)

        def first_apply(path: Path, output: str) -> None:
            shutil.rmtree(work / output, ignore_errors=True)
            subprocess.run([*mtlsgen, "apply", str(path)], check=True, capture_output=True)

        def noop_apply(path: Path) -> None:
            subprocess.run([*mtlsgen, "apply", str(path)], check=True, capture_output=True)

        rows = [("seed openssl + keytool script (baseline)", median_seconds(seed, args.rounds)),
                ("mtlsgen apply, same PKI, first run", median_seconds(lambda: first_apply(spec, "certs"),
                                                                       args.rounds))]
        rows.append(("mtlsgen apply, same PKI, no-op", median_seconds(lambda: noop_apply(spec), args.rounds)))
        rows.append(("mtlsgen apply examples/pki.yaml, first run",
                     median_seconds(lambda: first_apply(example, "certs"), args.rounds)))
        rows.append(("mtlsgen apply examples/pki.yaml, no-op",
                     median_seconds(lambda: noop_apply(example), args.rounds)))
    report(f"Seed PKI (RSA-4096 everywhere), median of {args.rounds} rounds", rows,
           "seed openssl + keytool script (baseline)")


if __name__ == "__main__":
    main()
