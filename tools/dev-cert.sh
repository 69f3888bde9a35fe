#!/usr/bin/env bash
# Makes a self-signed CA and a server certificate signed by it, for tests
# and local use of chatd's TLS listeners: the server certificate is for
# localhost, 127.0.0.1 and ::1. Needs only the openssl CLI.
#
#   tools/dev-cert.sh [DIR]     # default: ./dev-cert
#
# Writes DIR/ca.pem (trust this in clients), DIR/ca.key, DIR/server.pem
# (the chain: server certificate, then the CA) and DIR/server.key. Keys are
# P-256 ECDSA. Nothing here is for production.
set -euo pipefail

dir=${1:-dev-cert}
mkdir -p "$dir"
cd "$dir"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout ca.key -out ca.pem -days 3650 -subj "/CN=chatd development CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null

cat > server.ext <<'EXT'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
EXT
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
  -out server.crt -days 825 -extfile server.ext 2>/dev/null
cat server.crt ca.pem > server.pem
rm -f server.csr server.ext server.crt ca.srl
chmod 600 ca.key server.key
echo "dev-cert: wrote $(pwd)/{ca.pem,server.pem,server.key}" >&2
