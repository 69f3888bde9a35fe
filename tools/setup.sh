#!/usr/bin/env bash
# Installs every Debian package chatd's build, tests and benchmarks need.
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
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
