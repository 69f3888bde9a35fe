#!/usr/bin/env bash
# Bazel wrapper for browser_test.mjs: finds chatd and tools/dev-cert.sh in
# the runfiles and the real tests/web directory (its node_modules is
# installed there by tools/setup.sh, outside Bazel), then runs the test with
# Node's runner.
# Needs tags = ["local"] so /usr/bin/chromium and node_modules are reachable.
set -euo pipefail

runfiles="${RUNFILES_DIR:-${TEST_SRCDIR:-$0.runfiles}}"
chatd="$runfiles/chatd/server/chatd"
if [ ! -x "$chatd" ]; then
  echo "browser_test: no chatd binary at $chatd" >&2
  exit 1
fi

# package.json in the runfiles is a symlink into the source tree.
webdir="$(dirname "$(readlink -f "$runfiles/chatd/tests/web/package.json")")"
if [ ! -d "$webdir/node_modules/puppeteer-core" ]; then
  echo "browser_test: $webdir/node_modules is missing; run tools/setup.sh" >&2
  exit 1
fi
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "browser_test: no Chromium at ${CHROMIUM:-/usr/bin/chromium}; run tools/setup.sh" >&2
  exit 1
fi

dev_cert="$runfiles/chatd/tools/dev-cert.sh"
if [ ! -f "$dev_cert" ]; then
  echo "browser_test: no tools/dev-cert.sh at $dev_cert" >&2
  exit 1
fi

CHATD_BINARY="$(readlink -f "$chatd")"
DEV_CERT="$(readlink -f "$dev_cert")"
export CHATD_BINARY DEV_CERT
# Chromium's profile and chatd's port files go to the test's own tmp dir.
export TMPDIR="${TEST_TMPDIR:-${TMPDIR:-/tmp}}"
export HOME="${HOME:-$TMPDIR}"
cd "$webdir"
# node:test has its own 60 s timeout; this one also catches a stuck runner.
exec timeout -k 5 100 node --test --test-reporter=spec browser_test.mjs
