#!/bin/bash
# Runs the WebSocket conformance suite (node:test) against the chatd binary
# from the runfiles. Bazel runs this; it also works by hand with
# CHATD_BINARY set.
set -euo pipefail

runfile() {
  local rel="$1"
  local d
  for d in "${TEST_SRCDIR:-}" "${RUNFILES_DIR:-}" "$0.runfiles"; do
    if [[ -n "$d" && -e "$d/$rel" ]]; then
      echo "$d/$rel"
      return 0
    fi
  done
  local manifest="${RUNFILES_MANIFEST_FILE:-}"
  if [[ -n "$manifest" && -f "$manifest" ]]; then
    local p
    p="$(grep -m1 "^$rel " "$manifest" | cut -d' ' -f2-)"
    if [[ -n "$p" && -e "$p" ]]; then
      echo "$p"
      return 0
    fi
  fi
  return 1
}

if [[ -z "${CHATD_BINARY:-}" ]]; then
  CHATD_BINARY="$(runfile chatd/server/chatd)" || {
    echo "cannot find chatd/server/chatd in the runfiles" >&2
    exit 1
  }
fi
# Absolute, since we cd below.
CHATD_BINARY="$(cd "$(dirname "$CHATD_BINARY")" && pwd)/$(basename "$CHATD_BINARY")"
export CHATD_BINARY

# The real tests/web directory (where node_modules is installed), found
# through the runfile symlink of package.json.
if pkg="$(runfile chatd/tests/web/package.json)"; then
  web_dir="$(dirname "$(readlink -f "$pkg")")"
else
  web_dir="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
fi

if [[ ! -d "$web_dir/node_modules/ws" ]]; then
  echo "npm package ws not installed in $web_dir/node_modules (run npm ci there)" >&2
  exit 1
fi

NODE="${NODE:-$(command -v node || echo /usr/bin/node)}"
cd "$web_dir"
exec "$NODE" --test --test-reporter=spec ws_conformance_test.mjs
