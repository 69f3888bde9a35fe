#!/usr/bin/env bash
# chatd's TLS line port seen by a stock client, `openssl s_client`: the
# certificate chain from tools/dev-cert.sh verifies for localhost (and ::1),
# a TLS member (alice) and a plaintext member (bob) see each other's
# messages, joins and leaves line for line, TLS 1.1 is refused by the
# server while 1.2 and 1.3 work, and plaintext on the TLS port is closed.
# Needs /usr/bin/openssl; every wait is bounded.
set -euo pipefail

runfiles="${RUNFILES_DIR:-${TEST_SRCDIR:-$0.runfiles}}"
chatd="${CHATD_BINARY:-$runfiles/chatd/server/chatd}"
dev_cert="$runfiles/chatd/tools/dev-cert.sh"
openssl="${OPENSSL:-/usr/bin/openssl}"
for f in "$chatd" "$openssl"; do
  [[ -x "$f" ]] || { echo "FAIL: no executable $f" >&2; exit 1; }
done
[[ -f "$dev_cert" ]] || { echo "FAIL: no $dev_cert" >&2; exit 1; }

work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/tls_sclient.XXXXXX")"
chatd_pid=""
alice_pid=""
bob_pid=""
cleanup() {
  exec 3>&- 4>&-
  for pid in $alice_pid $bob_pid $chatd_pid; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in $alice_pid $bob_pid $chatd_pid; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*.out "$work"/*.err "$work"/chatd.log; do
    [[ -f "$f" ]] && { echo "--- $f" >&2; cat "$f" >&2; }
  done
  exit 1
}

# Polls rather than blocking on a read so a silent server fails the test at
# the deadline instead of hanging it until Bazel's timeout.
wait_line() {  # file line [seconds]
  local deadline=$((SECONDS + ${3:-5}))
  until grep -qxF -- "$2" "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "no line '$2' in $1 within ${3:-5} s"
    sleep 0.05
  done
}

wait_exit() {  # pid what [seconds]
  local deadline=$((SECONDS + ${3:-5}))
  while kill -0 "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "$2 still running after ${3:-5} s"
    sleep 0.05
  done
}

bash "$dev_cert" "$work/cert" 2>/dev/null || fail "dev-cert.sh failed"

# ::1 is in the certificate; listen there too when loopback has IPv6.
bind=127.0.0.1
if grep -qE '^0{31}1 ' /proc/net/if_inet6 2>/dev/null; then
  bind=127.0.0.1,::1
fi
"$chatd" --bind="$bind" --port=0 --port_file="$work/port" \
  --tls_cert="$work/cert/server.pem" --tls_key="$work/cert/server.key" \
  --tls_port=0 --tls_port_file="$work/tls_port" --http_port=-1 \
  --https_port=-1 --irc_port=-1 --ircs_port=-1 --threads=2 \
  --max_msgs_per_sec=0 \
  >"$work/chatd.log" 2>&1 &
chatd_pid=$!
# --tls_port_file is written before --port_file.
deadline=$((SECONDS + 10))
until [[ -s "$work/port" ]]; do
  kill -0 "$chatd_pid" 2>/dev/null || fail "chatd exited at startup"
  ((SECONDS < deadline)) || fail "chatd wrote no port file in 10 s"
  sleep 0.05
done
port="$(cat "$work/port")"
tls_port="$(cat "$work/tls_port")"
[[ "$tls_port" =~ ^[0-9]+$ ]] || fail "bad --tls_port_file: '$tls_port'"

sclient() {  # extra s_client arguments...
  timeout -k 2 10 "$openssl" s_client -connect "127.0.0.1:$tls_port" \
    -CAfile "$work/cert/ca.pem" -verify_return_error "$@"
}

# --- Protocol versions: the refusal must come from the server (an alert
# received), so the client is allowed to offer 1.1 at security level 0.
if sclient -cipher DEFAULT@SECLEVEL=0 -tls1_1 -brief </dev/null \
  >"$work/tls1_1.out" 2>&1; then
  fail "a TLS 1.1 handshake succeeded"
fi
grep -q "alert protocol version" "$work/tls1_1.out" ||
  fail "TLS 1.1 was not refused by a protocol_version alert from the server"
for v in 1_2 1_3; do
  sclient "-tls$v" -verify_hostname localhost -brief </dev/null \
    >"$work/tls$v.out" 2>&1 || fail "TLS ${v/_/.} handshake failed"
  grep -qx "Protocol version: TLSv${v/_/.}" "$work/tls$v.out" ||
    fail "TLS ${v/_/.}: wrong protocol version negotiated"
  grep -qx "Verification: OK" "$work/tls$v.out" ||
    fail "TLS ${v/_/.}: chain not verified"
done

# --- The chain must not verify for a name it was not issued for, or the
# check above proves nothing.
if sclient -verify_hostname chat.example -brief </dev/null \
  >"$work/wrong_name.out" 2>&1; then
  fail "certificate verified for chat.example"
fi

if [[ "$bind" == *::1* ]]; then
  timeout -k 2 10 "$openssl" s_client -connect "[::1]:$tls_port" \
    -CAfile "$work/cert/ca.pem" -verify_return_error -verify_ip ::1 \
    -brief </dev/null >"$work/ipv6.out" 2>&1 ||
    fail "TLS over [::1] with -verify_ip ::1 failed"
else
  echo "note: no ::1 on loopback, IPv6 not checked" >&2
fi

# --- Plaintext on the TLS port: no reply, connection closed.
exec 4<>"/dev/tcp/127.0.0.1/$tls_port"
printf 'JOIN lobby mallory\n' >&4
reply="$(timeout 5 cat <&4)" || fail "TLS port kept a plaintext client open"
[[ -z "$reply" ]] || fail "TLS port answered plaintext with '$reply'"
exec 4>&-

# --- Chat: alice over TLS, bob in plaintext.
mkfifo "$work/alice.in"
timeout -k 2 20 "$openssl" s_client -connect "127.0.0.1:$tls_port" \
  -CAfile "$work/cert/ca.pem" -verify_return_error \
  -verify_hostname localhost -quiet \
  <"$work/alice.in" >"$work/alice.out" 2>"$work/alice.err" &
alice_pid=$!
exec 3>"$work/alice.in"
exec 4<>"/dev/tcp/127.0.0.1/$port"
timeout -k 2 20 cat <&4 >"$work/bob.out" &
bob_pid=$!

echo "JOIN lobby alice" >&3
wait_line "$work/alice.out" "* you joined lobby as alice (1 online)"
echo "JOIN lobby bob" >&4
wait_line "$work/bob.out" "* you joined lobby as bob (2 online)"
wait_line "$work/alice.out" "* bob has joined"
echo "hello from tls" >&3
wait_line "$work/bob.out" "alice: hello from tls"
echo "hello from plaintext" >&4
wait_line "$work/alice.out" "bob: hello from plaintext"
echo "/quit" >&4
wait_line "$work/bob.out" "* bye"
wait_line "$work/alice.out" "* bob has left"
echo "/quit" >&3
wait_line "$work/alice.out" "* bye"
# -quiet ignores EOF on stdin, so s_client ending means the server closed.
wait_exit "$alice_pid" "s_client after /quit"
wait "$alice_pid" || fail "s_client exited with $?"
alice_pid=""
exec 3>&- 4>&-

# Whole transcripts: nothing extra, nothing echoed, nothing reordered.
printf '%s\n' "* you joined lobby as alice (1 online)" "* bob has joined" \
  "bob: hello from plaintext" "* bob has left" "* bye" >"$work/alice.want"
printf '%s\n' "* you joined lobby as bob (2 online)" \
  "alice: hello from tls" "* bye" >"$work/bob.want"
diff -u "$work/alice.want" "$work/alice.out" >&2 || fail "alice's transcript"
# bob's reader ends at the server's close after his /quit.
wait_exit "$bob_pid" "bob's reader"
bob_pid=""
diff -u "$work/bob.want" "$work/bob.out" >&2 || fail "bob's transcript"

kill "$chatd_pid"
wait_exit "$chatd_pid" "chatd after SIGTERM"
status=0
wait "$chatd_pid" || status=$?
chatd_pid=""
((status == 0)) || fail "chatd exited with $status after SIGTERM"
echo "PASS"
