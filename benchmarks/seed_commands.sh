#!/usr/bin/env bash
# The seed article's manual workflow (/work/shared/seed), command for command, as the baseline mtlsgen
# replaces. Run it in an empty folder:
#   seed_commands.sh seed        RSA-4096 root, server, 1 client; server.p12 + JKS keystore + JKS
#                                truststore, client.p12 (the article exactly, passwords on the command line)
#   seed_commands.sh ecdsa N     the same commands with ECDSA P-256 keys: root, 1 server + N clients,
#                                PEM key + certificate + PKCS#12 for each; no keytool
# The article's prompts (subject, store passwords) are answered with -subj and -storepass so that it
# runs unattended; nothing else is added. Output is silenced, errors stop the script.
set -euo pipefail
P=12345678
mode=${1:?usage: seed_commands.sh seed | ecdsa N}

if [ "$mode" = seed ]; then
  newkey=(-newkey rsa:4096)
else
  newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
fi

# Generating Root Cert
openssl req -x509 -sha256 -days 3650 "${newkey[@]}" -keyout rootCA.key -out rootCA.crt \
  -passout pass:$P -subj "/CN=Example Root CA" 2>/dev/null

# Server key and CSR; the CA signs it with the article's server.ext
openssl req -new "${newkey[@]}" -keyout server.key -out server.csr -passout pass:$P \
  -subj "/CN=api-server.example.com" 2>/dev/null
cat > server.ext <<'EOF'
authorityKeyIdentifier=keyid,issuer
basicConstraints=CA:FALSE
subjectAltName = @alt_names
[alt_names]
DNS.1 = api-server.example.com
DNS.2 = localhost
IP.1 = 127.0.0.1
EOF
openssl x509 -req -CA rootCA.crt -CAkey rootCA.key -in server.csr -out server.crt -days 365 \
  -CAcreateserial -extfile server.ext -passin pass:$P 2>/dev/null
openssl pkcs12 -export -out server.p12 -name "api-server.example.com" -inkey server.key -in server.crt \
  -passin pass:$P -password pass:$P

client() {  # Client key and CSR, signed by the CA, then its p12
  openssl req -new "${newkey[@]}" -keyout "$1.key" -out "$1.csr" -passout pass:$P -subj "/CN=$1" 2>/dev/null
  openssl x509 -req -CA rootCA.crt -CAkey rootCA.key -in "$1.csr" -out "$1.crt" -days 365 \
    -CAcreateserial -passin pass:$P 2>/dev/null
  openssl pkcs12 -export -out "$1.p12" -name "$1" -inkey "$1.key" -in "$1.crt" -passin pass:$P -password pass:$P
}

if [ "$mode" = seed ]; then
  # Create KeyStore; Generate Trust Store (the article's keytool commands)
  keytool -importkeystore -srckeystore server.p12 -srcstoretype PKCS12 -srcstorepass $P \
    -destkeystore myserver_keystore.jks -deststoretype JKS -deststorepass $P -noprompt >/dev/null 2>&1
  keytool -import -trustcacerts -noprompt -alias ca -file rootCA.crt -keystore myserver_truststore.jks \
    -storepass $P >/dev/null 2>&1
  client client
else
  for i in $(seq -f "%05g" 0 $(( ${2:?usage: seed_commands.sh ecdsa N} - 1 ))); do
    client "client-$i"
  done
fi
