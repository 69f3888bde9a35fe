#!/usr/bin/env bash
# cluster.sh: a local chatd cluster on this machine, for trying cluster mode
# (docs/CLUSTER.md) by hand or checking it from a script.
#
# Builds //server:chatd once (bazel build -c opt), starts one nats-server on
# 127.0.0.1 and N chatd processes that share their groups through it, prints
# how to connect, and waits; Ctrl-C stops everything it started (SIGTERM,
# then SIGKILL after 10 s). Nothing else is touched: only the processes this
# script started are signalled, and it refuses to start when one of its ports
# is already in use.
#
#   tools/cluster.sh              # 3 nodes
#   tools/cluster.sh 5            # 5 nodes (1..9)
#   tools/cluster.sh --check      # start 3 nodes, chat across two, PASS/FAIL, stop
#   tools/cluster.sh 2 -- --threads=2 --v=1    # extra flags for every chatd
#
# Ports (node i = 1..9, all on 127.0.0.1):
#   line protocol 7000+i (7001, 7002, ...)   nc 127.0.0.1 7001
#   HTTP          8080+i (8081, 8082, ...)   http://127.0.0.1:8081/, /metrics
#   IRC           6670+i (6671, 6672, ...)   irssi -c 127.0.0.1 -p 6671
#   nats-server   14222 (client), 18222 (monitoring: /varz, /connz, /subsz)
# (Never 4222: Debian's nats-server.service may hold it.) TLS listeners stay
# closed: no certificate is given.
#
# Options:
#   N                   number of chatd processes, 1..9 (default 3; --check
#                       needs at least 2)
#   --check             non-interactive: start, run a scripted chat (alice on
#                       node 1, bob on node 2), print PASS or FAIL, stop;
#                       exit status 0 on PASS, 1 on FAIL, 2 on a setup error.
#                       Also CLUSTER_CHECK=1.
#   --nats_port=P       nats-server's client port (default 14222; env
#                       CLUSTER_NATS_PORT)
#   --nats_monitor_port=P  its monitoring port (default 18222, 0 = off; env
#                       CLUSTER_NATS_MONITOR_PORT)
#   --no-build          do not build; use the last -c opt build of chatd
#   --chatd=PATH        use this chatd binary (implies --no-build; env CHATD)
#   --keep-logs         keep the log dir on exit (always kept after a failure
#                       or an unexpected exit of a process)
#   -- FLAGS...         passed to every chatd after the script's own flags
# Logs: <tmp dir>/nats.log and node<i>.log (printed at startup).
set -uo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd)

NODES=3
CHECK=${CLUSTER_CHECK:-0}
NATS_PORT=${CLUSTER_NATS_PORT:-14222}
NATS_MONITOR_PORT=${CLUSTER_NATS_MONITOR_PORT:-18222}
BUILD=1
CHATD=${CHATD:-}
KEEP_LOGS=0
EXTRA_FLAGS=()
NATS_SERVER=/usr/sbin/nats-server

usage() { sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }
die() { printf 'cluster.sh: %s\n' "$*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --check) CHECK=1 ;;
    --nats_port=*) NATS_PORT=${1#*=} ;;
    --nats_monitor_port=*) NATS_MONITOR_PORT=${1#*=} ;;
    --no-build) BUILD=0 ;;
    --chatd=*) CHATD=${1#*=} ;;
    --keep-logs) KEEP_LOGS=1 ;;
    -h | --help) usage; exit 0 ;;
    --) shift; EXTRA_FLAGS=("$@"); break ;;
    [0-9]*)
      [[ "$1" =~ ^[1-9]$ ]] || die "N must be 1..9, not $1"
      NODES=$1
      ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
  shift
done
[ "$CHECK" = 1 ] || CHECK=0
if ! [[ "$NATS_PORT" =~ ^[0-9]+$ ]] || [ "$NATS_PORT" -lt 1 ] || [ "$NATS_PORT" -gt 65535 ]; then
  die "--nats_port must be 1..65535"
fi
[ "$NATS_PORT" = 4222 ] && die "refusing port 4222: Debian's nats-server.service may hold it; pick another --nats_port"
if ! [[ "$NATS_MONITOR_PORT" =~ ^[0-9]+$ ]] || [ "$NATS_MONITOR_PORT" -gt 65535 ]; then
  die "--nats_monitor_port must be 0..65535"
fi
if [ "$CHECK" = 1 ] && [ "$NODES" -lt 2 ]; then
  die "--check needs at least 2 nodes"
fi

log() { printf '[cluster %s] %s\n' "$(date +%T)" "$*" >&2; }

line_port() { echo $((7000 + $1)); }
http_port() { echo $((8080 + $1)); }
irc_port() { echo $((6670 + $1)); }

# ---------------------------------------------------------------------------
# Preconditions, all checked before anything is started.
# ---------------------------------------------------------------------------
[ -x "$NATS_SERVER" ] || die "$NATS_SERVER not found: install nats-server (tools/setup.sh)"

# Whether something listens on 127.0.0.1:$1 (or on every address): ss if
# there is one, else a connect attempt.
port_busy() {
  local port=$1
  if command -v ss >/dev/null 2>&1; then
    [ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
  fi
}

# port:what pairs, in the order they are printed.
PORTS=("$NATS_PORT:nats-server client port")
[ "$NATS_MONITOR_PORT" != 0 ] && PORTS+=("$NATS_MONITOR_PORT:nats-server monitoring port")
for ((i = 1; i <= NODES; i++)); do
  PORTS+=("$(line_port "$i"):node$i line port" "$(http_port "$i"):node$i HTTP port" "$(irc_port "$i"):node$i IRC port")
done
busy=()
for entry in "${PORTS[@]}"; do
  port=${entry%%:*}
  if port_busy "$port"; then
    who=$(ss -Hltnp "sport = :$port" 2>/dev/null | grep -o 'users:(.*)' | head -1)
    busy+=("  127.0.0.1:$port (${entry#*:}) is in use${who:+ by $who}")
  fi
done
if [ ${#busy[@]} -ne 0 ]; then
  printf 'cluster.sh: refusing to start, ports already in use:\n' >&2
  printf '%s\n' "${busy[@]}" >&2
  printf 'Is another tools/cluster.sh (or a chatd) running? Stop it, or use --nats_port=P for the NATS port.\n' >&2
  exit 2
fi

# ---------------------------------------------------------------------------
# chatd: built once, copied away so that a rebuild cannot swap it mid-run.
# ---------------------------------------------------------------------------
WORK=$(mktemp -d /tmp/chatd-cluster.XXXXXX) || die "mktemp failed"
PIDS=()        # every process this script started, chatd nodes first
NAMES=()       # their names, for messages
NATS_PID=""
FAILED=0

alive() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "${state:0:1}" != Z ]
}

# SIGTERM to every pid in "$@" at once, wait up to 10 s for all of them,
# SIGKILL the rest; reaps them.
stop_pids() {
  local pid i any
  for pid in "$@"; do alive "$pid" && kill -TERM "$pid" 2>/dev/null; done
  for ((i = 0; i < 100; i++)); do
    any=0
    for pid in "$@"; do alive "$pid" && any=1; done
    [ "$any" = 0 ] && break
    sleep 0.1
  done
  for pid in "$@"; do
    if alive "$pid"; then
      log "pid $pid ignored SIGTERM for 10 s; SIGKILL"
      kill -KILL "$pid" 2>/dev/null
    fi
  done
  for pid in "$@"; do wait "$pid" 2>/dev/null; done
  return 0
}

cleanup() {
  trap - EXIT INT TERM HUP
  # The chatd nodes first (their members get "* server shutting down"),
  # then nats-server.
  local nodes=() pid
  for pid in "${PIDS[@]}"; do [ "$pid" != "$NATS_PID" ] && nodes+=("$pid"); done
  if [ ${#nodes[@]} -ne 0 ]; then
    log "stopping ${#nodes[@]} chatd process(es): ${nodes[*]}"
    stop_pids "${nodes[@]}"
  fi
  if [ -n "$NATS_PID" ]; then
    log "stopping nats-server ($NATS_PID)"
    stop_pids "$NATS_PID"
  fi
  if [ "$KEEP_LOGS" = 1 ] || [ "$FAILED" = 1 ]; then
    log "logs kept in $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'echo >&2; log "interrupted"; exit 130' INT TERM HUP

if [ -z "$CHATD" ]; then
  if [ "$BUILD" = 1 ]; then
    log "bazel build -c opt //server:chatd"
    if ! (cd "$REPO" && bazel build -c opt //server:chatd) >"$WORK/build.log" 2>&1; then
      tail -30 "$WORK/build.log" >&2
      FAILED=1
      die "build failed (log: $WORK/build.log)"
    fi
  fi
  CHATD="$(cd "$REPO" && bazel info -c opt bazel-bin 2>/dev/null)/server/chatd"
fi
[ -x "$CHATD" ] || die "no chatd binary at $CHATD (build with: bazel build -c opt //server:chatd)"
cp "$CHATD" "$WORK/chatd" || die "cannot copy $CHATD"
chmod u+w "$WORK/chatd"
# (--helpfull exits 1, hence no pipe under pipefail.)
help=$("$WORK/chatd" --helpfull 2>&1)
[[ "$help" == *-nats_url* ]] || die "this chatd has no --nats_url: cluster mode is not built in yet"

# ---------------------------------------------------------------------------
# nats-server, then the nodes.
# ---------------------------------------------------------------------------
cat >"$WORK/nats.conf" <<EOF
# nats-server -c <this file>, started by tools/cluster.sh
server_name: cluster-sh
listen: 127.0.0.1:$NATS_PORT
$([ "$NATS_MONITOR_PORT" != 0 ] && echo "http: 127.0.0.1:$NATS_MONITOR_PORT")
# as tools/bench/compare.sh's NATS config: a chatd node is one client
# carrying every group's traffic, so give it room before "slow consumer"
max_pending: 1073741824
write_deadline: "60s"
EOF

# Waits up to $2 tenths of a second until pid $1 is alive and something
# answers a connect on 127.0.0.1:$3. Returns 1 if the process exits first.
wait_listening() {
  local pid=$1 tenths=$2 port=$3 i
  for ((i = 0; i < tenths; i++)); do
    alive "$pid" || return 1
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

# Each process runs in a session of its own (setsid, same pid), so that a
# Ctrl-C in this terminal reaches only this script, which then stops them in
# order: the nodes first, nats-server last.
SETSID=()
command -v setsid >/dev/null 2>&1 && SETSID=(setsid)

"${SETSID[@]}" "$NATS_SERVER" -c "$WORK/nats.conf" >"$WORK/nats.log" 2>&1 &
NATS_PID=$!
PIDS+=("$NATS_PID")
NAMES+=("nats-server")
if ! wait_listening "$NATS_PID" 100 "$NATS_PORT"; then
  FAILED=1
  tail -5 "$WORK/nats.log" >&2
  die "nats-server did not start on 127.0.0.1:$NATS_PORT (log: $WORK/nats.log)"
fi
log "nats-server pid $NATS_PID on nats://127.0.0.1:$NATS_PORT"

for ((i = 1; i <= NODES; i++)); do
  "${SETSID[@]}" "$WORK/chatd" --bind=127.0.0.1 \
    --port="$(line_port "$i")" --http_port="$(http_port "$i")" --irc_port="$(irc_port "$i")" \
    --port_file="$WORK/node$i.port" \
    --nats_url="nats://127.0.0.1:$NATS_PORT" --node_name="node$i" \
    "${EXTRA_FLAGS[@]}" >"$WORK/node$i.log" 2>&1 &
  PIDS+=("$!")
  NAMES+=("node$i")
done
# --port_file is written once every port listens.
for ((i = 1; i <= NODES; i++)); do
  pid=${PIDS[$i]}
  ok=0
  for ((t = 0; t < 200; t++)); do
    alive "$pid" || break
    [ -s "$WORK/node$i.port" ] && { ok=1; break; }
    sleep 0.1
  done
  if [ "$ok" != 1 ]; then
    FAILED=1
    tail -5 "$WORK/node$i.log" >&2
    die "node$i (pid $pid) did not start (log: $WORK/node$i.log)"
  fi
done

# The value of metric $2 on node $1's /metrics (empty if unknown).
metric() {
  curl -s --max-time 2 "http://127.0.0.1:$(http_port "$1")/metrics" 2>/dev/null |
    awk -v m="$2" '$1 == m {print $2; exit}'
}
# Waits up to 10 s until every node is linked to NATS and knows the other
# N-1 (heartbeats: about one period). Prints the nodes that are not.
wait_linked() {
  local t i missing
  for ((t = 0; t < 100; t++)); do
    missing=""
    for ((i = 1; i <= NODES; i++)); do
      if [ "$(metric "$i" chatd_backplane_connected)" != 1 ] ||
         ! awk -v h="$(metric "$i" chatd_backplane_hosts)" -v n="$((NODES - 1))" \
           'BEGIN {exit !(h != "" && h + 0 >= n)}'; then
        missing="$missing node$i"
      fi
    done
    [ -z "$missing" ] && return 0
    sleep 0.1
  done
  echo "${missing# }"
  return 1
}

print_scheme() {
  local i
  printf '\nchatd cluster: %d node(s) sharing groups through nats-server on nats://127.0.0.1:%s\n\n' \
    "$NODES" "$NATS_PORT"
  printf '  %-7s %-7s %-6s %-6s %-5s %s\n' node pid line HTTP IRC log
  for ((i = 1; i <= NODES; i++)); do
    printf '  %-7s %-7s %-6s %-6s %-5s %s\n' "node$i" "${PIDS[$i]}" \
      "$(line_port "$i")" "$(http_port "$i")" "$(irc_port "$i")" "$WORK/node$i.log"
  done
  printf '  %-7s %-7s %-6s %-6s %-5s %s\n' nats "$NATS_PID" "$NATS_PORT" \
    "$([ "$NATS_MONITOR_PORT" != 0 ] && echo "$NATS_MONITOR_PORT" || echo -)" - "$WORK/nats.log"
  printf '\n'
}

# ---------------------------------------------------------------------------
# --check: alice on node 1, bob on node 2.
# ---------------------------------------------------------------------------
TRANSCRIPT="$WORK/check.transcript"

# Reads lines from fd $1 (client $2) until one is $3 (exact, or with $5 =
# prefix: starts with $3) or $4 tenths of a second pass, or the connection
# closes. Every line goes to the transcript; a partial line read at a
# timeout is kept for the next read.
declare -A PARTIAL=()
expect_line() {
  local fd=$1 who=$2 want=$3 tenths=$4 mode=${5:-exact} chunk line t rc
  for ((t = 0; t < tenths; t++)); do
    while :; do
      chunk=""
      IFS= read -r -t 0.1 -u "$fd" chunk
      rc=$?
      if [ "$rc" -gt 128 ]; then
        PARTIAL[$fd]="${PARTIAL[$fd]:-}$chunk"
        break
      fi
      line="${PARTIAL[$fd]:-}$chunk"
      PARTIAL[$fd]=""
      if [ "$rc" != 0 ] && [ -z "$line" ]; then
        printf '%s: connection closed while waiting for "%s"\n' "$who" "$want" >>"$TRANSCRIPT"
        return 1
      fi
      line=${line%$'\r'}
      printf '%s <- %s\n' "$who" "$line" >>"$TRANSCRIPT"
      if [ "$line" = "$want" ] || { [ "$mode" = prefix ] && [ "${line:0:${#want}}" = "$want" ]; }; then
        return 0
      fi
    done
  done
  printf '%s: expected "%s%s" within %d.%d s\n' "$who" "$want" \
    "$([ "$mode" = prefix ] && echo ...)" $((tenths / 10)) $((tenths % 10)) >>"$TRANSCRIPT"
  return 1
}
say() {
  local fd=$1 who=$2 text=$3
  printf '%s -> %s\n' "$who" "$text" >>"$TRANSCRIPT"
  printf '%s\n' "$text" >&"$fd"
}

run_check() {
  local a b nodes_missing
  : >"$TRANSCRIPT"
  if ! nodes_missing=$(wait_linked); then
    echo "not linked after 10 s: $nodes_missing (chatd_backplane_connected / chatd_backplane_hosts)" >>"$TRANSCRIPT"
    return 1
  fi
  exec {a}<>"/dev/tcp/127.0.0.1/$(line_port 1)" || return 1
  exec {b}<>"/dev/tcp/127.0.0.1/$(line_port 2)" || return 1
  say "$a" "alice@node1" "JOIN cooking alice"
  expect_line "$a" "alice@node1" "* you joined cooking as alice (1 online)" 50 || return 1
  say "$b" "bob@node2" "JOIN cooking bob"
  # The count is what node2 knows at that moment (alice's presence is
  # probably there already, but that is not promised).
  expect_line "$b" "bob@node2" "* you joined cooking as bob (" 50 prefix || return 1
  # Seeing bob's join means bob's node is subscribed: what alice sends now
  # reaches it (docs/CLUSTER.md, guarantees).
  expect_line "$a" "alice@node1" "* bob has joined" 50 || return 1
  say "$a" "alice@node1" "hi"
  expect_line "$b" "bob@node2" "alice: hi" 50 || return 1
  say "$b" "bob@node2" "hello alice"
  expect_line "$a" "alice@node1" "bob: hello alice" 50 || return 1
  # alice's join crossed before her "hi", so node2 knows her by now.
  say "$b" "bob@node2" "/who"
  expect_line "$b" "bob@node2" "* online in cooking: alice, bob" 50 || return 1
  say "$b" "bob@node2" "/msg alice psst"
  expect_line "$a" "alice@node1" "(private) bob: psst" 50 || return 1
  say "$a" "alice@node1" "/quit"
  expect_line "$a" "alice@node1" "* bye" 50 || return 1
  expect_line "$b" "bob@node2" "* alice has left" 50 || return 1
  exec {a}>&- {b}>&-
  return 0
}

if [ "$CHECK" = 1 ]; then
  print_scheme >&2
  if run_check; then
    sed 's/^/  /' "$TRANSCRIPT"
    echo "PASS: alice on node1 and bob on node2 chatted across nats-server"
    exit 0
  fi
  FAILED=1
  sed 's/^/  /' "$TRANSCRIPT"
  echo "FAIL: see the transcript above and the logs in $WORK"
  exit 1
fi

# ---------------------------------------------------------------------------
# Interactive: print how to connect, then wait for Ctrl-C.
# ---------------------------------------------------------------------------
print_scheme
linked_note=""
if missing=$(wait_linked); then
  linked_note="every node is linked to nats-server and sees the other $((NODES - 1)) node(s)"
else
  linked_note="not yet linked: $missing (see their logs)"
fi
cat <<EOF
$linked_note.

Try it, in two other terminals:

  \$ nc 127.0.0.1 $(line_port 1)                 \$ nc 127.0.0.1 $(line_port "$([ "$NODES" -ge 2 ] && echo 2 || echo 1)")
  JOIN cooking tim                    JOIN cooking bob
  * you joined cooking as tim (1 online)
                                      * you joined cooking as bob (2 online)
  * bob has joined
  hi bob                              tim: hi bob

Also: the chat page at http://127.0.0.1:$(http_port 1)/ (node1), http://127.0.0.1:$(http_port "$NODES")/ (node$NODES);
IRC with irssi -c 127.0.0.1 -p $(irc_port 1) -n alice, then /join #cooking;
/metrics on each HTTP port (chatd_backplane_*)$([ "$NATS_MONITOR_PORT" != 0 ] && echo "; nats-server's http://127.0.0.1:$NATS_MONITOR_PORT/connz")
To see a node leave: kill -STOP <its pid> (its members are announced as left after
--cluster_host_timeout_ms), kill -CONT to bring it back.

Ctrl-C stops all of them.
EOF

# Waits, reporting any process that exits on its own (once).
declare -A reported=()
while :; do
  for idx in "${!PIDS[@]}"; do
    pid=${PIDS[$idx]}
    if [ -z "${reported[$pid]:-}" ] && ! alive "$pid"; then
      wait "$pid" 2>/dev/null
      status=$?
      reported[$pid]=1
      FAILED=1
      log "${NAMES[$idx]} (pid $pid) exited with status $status; last lines of its log:"
      tail -5 "$WORK/${NAMES[$idx]/nats-server/nats}.log" >&2
    fi
  done
  if [ ${#reported[@]} -eq ${#PIDS[@]} ]; then
    log "every process has exited"
    exit 1
  fi
  sleep 1 &
  wait $! 2>/dev/null
done
