#!/usr/bin/env bash
# cfssl as a user drives it (Debian's golang-cfssl 1.2): `gencert -initca` for the CA, then one
# `gencert` per leaf, each piped to cfssljson; ECDSA P-256 everywhere, PEM only. The same CA, server
# and clients as benchmarks/cases.py's PEM-only spec: CA 10y (87600h), leaves 365d (8760h), the server
# with SAN api.example.com, each client with its name as its SAN, as mtlsgen gives them.
# Run it in an empty folder: cfssl_commands.sh N   (1 server + N clients)
set -euo pipefail
n=${1:?usage: cfssl_commands.sh N}

cat > ca-csr.json <<'EOF'
{"CN": "mtlsgen Root CA", "key": {"algo": "ecdsa", "size": 256}, "ca": {"expiry": "87600h"}}
EOF
cat > config.json <<'EOF'
{"signing": {"profiles": {
  "server": {"expiry": "8760h", "usages": ["digital signature", "server auth"]},
  "client": {"expiry": "8760h", "usages": ["digital signature", "client auth"]}}}}
EOF
cfssl gencert -initca ca-csr.json 2>/dev/null | cfssljson -bare ca

leaf() {  # profile, name, SAN
  printf '{"CN": "%s", "hosts": ["%s"], "key": {"algo": "ecdsa", "size": 256}}\n' "$3" "$3" > "$2-csr.json"
  cfssl gencert -ca ca.pem -ca-key ca-key.pem -config config.json -profile "$1" "$2-csr.json" 2>/dev/null \
    | cfssljson -bare "$2"
}

leaf server api api.example.com
for i in $(seq -f "%05g" 0 $((n - 1))); do
  leaf client "client-$i" "client-$i"
done
