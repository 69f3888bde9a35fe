#!/usr/bin/env bash
# Installs every Debian package chatd's build, tests and benchmarks need,
# and the web tests' npm packages (tests/web/node_modules).
# Idempotent: when everything is already installed it changes nothing and
# does not touch the network.
set -euo pipefail

packages=(
  # Build: Bazel from Debian (offline), its Java rules and platforms.
  bazel-bootstrap bazel-rules-java bazel-platforms
  # Toolchain: the default C++ compiler, and clang-14 for the sanitizer
  # and fuzzer configs.
  g++ clang-14 libclang-rt-14-dev
  # Libraries, linked as system libraries from third_party/.
  libabsl-dev libgflags-dev libgoogle-glog-dev libgtest-dev libgmock-dev
  libbenchmark-dev
  # Used by tests and scripts.
  netcat-openbsd procps
  # The HTTP/WebSocket listener: llhttp's C sources (compiled by Bazel, see
  # WORKSPACE); OpenSSL for TLS and the WebSocket handshake's SHA-1, and
  # its command line for tools/dev-cert.sh and the s_client test.
  node-llhttp libssl-dev openssl
  # Web tests (tests/web): headless Chromium, and promtool to check /metrics.
  chromium prometheus
  # IRC front end test (tests/irc_clients_test.sh): real IRC clients, irssi
  # driven in a tmux pane and weechat-headless through its fifo plugin
  # (fifo.so is in weechat-plugins, only a Recommends of weechat-headless).
  irssi weechat-headless weechat-plugins tmux
  # Cluster mode (docs/CLUSTER.md): the NATS C client chatd links, and
  # nats-server for the cluster tests, tools/cluster.sh and the benchmarks.
  # (On a systemd host the install starts nats-server.service on
  # 127.0.0.1:4222; nothing here uses that port.)
  libnats-dev nats-server
)
# Node.js and npm for tests/web, unless some node/npm is already on PATH.
if ! command -v node >/dev/null 2>&1; then packages+=(nodejs); fi
if ! command -v npm >/dev/null 2>&1; then packages+=(npm); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -ne 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# The web tests' npm packages (puppeteer-core, ws), pinned by
# tests/web/package-lock.json, into tests/web/node_modules (git-ignored).
# Reinstalled only when missing or older than the lockfile.
web="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/web"
if [ -f "$web/package-lock.json" ] && { [ ! -d "$web/node_modules" ] ||
    [ "$web/package-lock.json" -nt "$web/node_modules" ]; }; then
  echo "setup: npm ci in $web" >&2
  (cd "$web" && npm ci --no-audit --no-fund >&2)
  touch "$web/node_modules"
fi
