#!/usr/bin/env bash
# compare.sh: the side-by-side benchmark of chatd against ngircd, InspIRCd,
# nats-server and Redis pub/sub, driven by loadgen (tools/loadgen).
#
# For every server and workload it starts a fresh server on 127.0.0.1 with a
# config written into a temp dir (limits off or as high as the server
# allows; chatd's defaults in `overload`), runs loadgen against it with
# --json --server_pid, stops it, and at the end writes
# bench/results/<date>.md (machine, versions, configs, table), <date>.jsonl
# (one JSON object per run: loadgen's result plus the server and workload)
# and <date>.png (chart).
#
#   tools/bench/compare.sh                       # everything, ~25-30 min
#   tools/bench/compare.sh --servers=chatd,redis --workloads=fanout,idle
#   tools/bench/compare.sh --servers=chatd,chatd-ws,nats,nats-ws --workloads=fanout,crowd
#   tools/bench/compare.sh --servers=chatd,chatd-tls,redis,redis-tls --workloads=fanout,idle
#   tools/bench/compare.sh --servers=chatd-irc,inspircd,ngircd --workloads=fanout,bigroom
#   tools/bench/compare.sh --servers=chatd,chatd-cluster3 --workloads=fanout,crowd
#
# Options:
#   --servers=LIST      chatd,chatd-ws,chatd-tls,chatd-irc,redis,redis-tls,
#                       nats,nats-ws,nats-tls,inspircd,ngircd (default: all
#                       of these), chatd-cluster3;
#                       chatd-irc is chatd on its IRC port (loadgen
#                       --protocol=irc, the load inspircd and ngircd get),
#                       run on every workload;
#                       chatd-ws and nats-ws are chatd and nats-server over
#                       WebSocket (loadgen --transport=ws), run on the
#                       workloads in WS_WORKLOADS (fanout, crowd) only;
#                       chatd-tls, redis-tls and nats-tls are the servers'
#                       TLS ports (loadgen --tls, certificates from
#                       tools/dev-cert.sh), run on TLS_WORKLOADS (fanout,
#                       idle) only;
#                       chatd-cluster3 (only when named, not in the default
#                       list) is three chatd processes in cluster mode
#                       behind one nats-server, loadgen's clients spread
#                       round-robin over them (--servers) and the CPU of all
#                       four processes summed (--server_pids), run on
#                       CLUSTER_WORKLOADS (fanout, crowd) only; compare it
#                       with chatd in the same run
#   --cluster_threads=T  --threads of each chatd in chatd-cluster3 (default
#                       1: three processes share this machine's cores)
#   --workloads=LIST    fanout,crowd,crowd1k,overload,bigroom,bigroom20,idle
#                       (default: all; overload runs chatd with its default
#                       limits, the others with chatd's limits off)
#   --duration=S        seconds of sending per run (default 10)
#   --idle_connections=N  connections in `idle` (default 19000)
#   --overload_rate=R   messages/s in total in `overload` (default 6000)
#   --out=DIR           results directory (default bench/results)
#   --date=YYYY-MM-DD   name of the result files (default today)
#   --no-install        do not install missing Debian packages
#   --no-build          use the chatd and loadgen binaries already built -c opt
#   --keep-tmp          keep the temp dir (configs, server and loadgen logs)
# Only loopback addresses are used. Every run is bounded by timeout(1).
set -uo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)

SERVERS="chatd,chatd-ws,chatd-tls,chatd-irc,redis,redis-tls,nats,nats-ws,nats-tls,inspircd,ngircd"
# The workloads the WebSocket servers (chatd-ws, nats-ws) run; they skip
# the others.
WS_WORKLOADS="fanout,crowd"
# The same for the TLS servers (chatd-tls, redis-tls, nats-tls): the cost
# of encryption per delivery (fanout) and per idle connection (idle).
TLS_WORKLOADS="fanout,idle"
# The cluster comparison (chatd-cluster3): not in the default SERVERS, run
# only when named, and on these workloads only.
CLUSTER_WORKLOADS="fanout,crowd"
CLUSTER_NODES=3
CLUSTER_THREADS=1
WORKLOADS="fanout,crowd,crowd1k,overload,bigroom,bigroom20,idle"
DURATION=10
IDLE_CONNECTIONS=19000
OVERLOAD_RATE=6000
OUT_DIR="$REPO/bench/results"
DATE=$(date +%F)
INSTALL=1
BUILD=1
KEEP_TMP=0

for arg in "$@"; do
  case "$arg" in
    --servers=*) SERVERS=${arg#*=} ;;
    --workloads=*) WORKLOADS=${arg#*=} ;;
    --duration=*) DURATION=${arg#*=} ;;
    --idle_connections=*) IDLE_CONNECTIONS=${arg#*=} ;;
    --overload_rate=*) OVERLOAD_RATE=${arg#*=} ;;
    --cluster_threads=*) CLUSTER_THREADS=${arg#*=} ;;
    --out=*) OUT_DIR=${arg#*=} ;;
    --date=*) DATE=${arg#*=} ;;
    --no-install) INSTALL=0 ;;
    --no-build) BUILD=0 ;;
    --keep-tmp) KEEP_TMP=1 ;;
    -h | --help)
      sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "compare.sh: unknown argument $arg (see --help)" >&2
      exit 2
      ;;
  esac
done

log() { printf '[compare %s] %s\n' "$(date +%T)" "$*" >&2; }

SCRIPT_START=$(date +%s)

# ---------------------------------------------------------------------------
# Packages: the peers and gnuplot, installed only when missing (like
# tools/setup.sh). Debian may start a freshly installed daemon as a
# service; stop any that this run installed, and never rely on them (every
# server below is started by this script on a port it picked).
# ---------------------------------------------------------------------------
PACKAGES=(ngircd inspircd nats-server redis-server gnuplot-nox python3 procps iproute2 openssl)

install_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq || return 1
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || return 1
  # Stop the services the install may have started, through their own init
  # script or unit (which only touch the service's own pid file/cgroup).
  local svc
  for p in "${missing[@]}"; do
    case "$p" in
      ngircd | inspircd | redis-server | nats-server) svc=$p ;;
      *) continue ;;
    esac
    if [ -d /run/systemd/system ]; then
      $sudo systemctl stop "$svc" >/dev/null 2>&1 || true
      $sudo systemctl disable "$svc" >/dev/null 2>&1 || true
    elif [ -x "/etc/init.d/$svc" ]; then
      $sudo "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
    fi
  done
}

if [ "$INSTALL" = 1 ]; then
  install_packages || { log "package installation failed"; exit 1; }
fi
for tool in python3 ss timeout gnuplot openssl; do
  command -v "$tool" >/dev/null || { log "missing $tool (run without --no-install)"; exit 1; }
done

# ---------------------------------------------------------------------------
# chatd and loadgen, built -c opt and copied away so that another build in
# this checkout cannot swap them mid-run.
# ---------------------------------------------------------------------------
WORK=$(mktemp -d /tmp/chatd-bench.XXXXXX)
CONF_DIR="$WORK/configs"
mkdir -p "$CONF_DIR"

SERVER_PID=""
LOADGEN_PID=""
# Every process of the server under test and its log, in the order they
# are stopped: just SERVER_PID, or for chatd-cluster3 its chatd nodes and
# then nats-server. CLUSTER_ADDRS: the nodes' line ports for loadgen.
SERVER_PIDS=()
SERVER_LOGS=()
CLUSTER_ADDRS=""

# True while $1 is a live (not zombie) process.
alive() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "${state:0:1}" != Z ]
}

# SIGTERM, then SIGKILL after 10 s; reaps the process.
stop_pid() {
  local pid=$1 i
  [ -z "$pid" ] && return 0
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 100; i++)); do
      alive "$pid" || break
      sleep 0.1
    done
    if alive "$pid"; then
      log "pid $pid ignored SIGTERM for 10 s; SIGKILL"
      kill -KILL "$pid" 2>/dev/null
    fi
  fi
  wait "$pid" 2>/dev/null
  return 0
}

# Stops every process of the server under test (SIGTERM, SIGKILL after
# 10 s, one after the other: a cluster's chatd nodes before its
# nats-server) and forgets them.
stop_servers() {
  local pid
  for pid in "${SERVER_PIDS[@]}"; do stop_pid "$pid"; done
  [ -n "$SERVER_PID" ] && stop_pid "$SERVER_PID"
  SERVER_PID=""
  SERVER_PIDS=()
  SERVER_LOGS=()
  CLUSTER_ADDRS=""
}

cleanup() {
  trap - EXIT INT TERM
  [ -n "$LOADGEN_PID" ] && stop_pid "$LOADGEN_PID"
  stop_servers
  if [ "$KEEP_TMP" = 1 ]; then
    log "temp dir kept: $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

if [ "$BUILD" = 1 ]; then
  log "bazel build -c opt //server:chatd //tools:loadgen"
  (cd "$REPO" && bazel build -c opt //server:chatd //tools:loadgen) >"$WORK/build.log" 2>&1 || {
    tail -30 "$WORK/build.log" >&2
    log "build failed"
    exit 1
  }
fi
BIN_DIR=$(cd "$REPO" && bazel info -c opt bazel-bin 2>/dev/null)
mkdir -p "$WORK/bin"
for b in server/chatd tools/loadgen; do
  [ -x "$BIN_DIR/$b" ] || { log "missing $BIN_DIR/$b (build with -c opt)"; exit 1; }
  cp "$BIN_DIR/$b" "$WORK/bin/" && chmod u+w "$WORK/bin/$(basename "$b")"
done
CHATD="$WORK/bin/chatd"
LOADGEN="$WORK/bin/loadgen"
# Whether this chatd has the HTTP + WebSocket listener (--http_port). When
# it has, every chatd run, TCP ones included, gets the same command line
# with --http_port=0 (an unused listener costs nothing), so chatd and
# chatd-ws run the very same server configuration.
# (--helpfull exits 1, hence no pipe under pipefail.)
CHATD_HTTP=0
CHATD_HELP=$("$CHATD" --helpfull 2>&1)
[[ "$CHATD_HELP" == *-http_port* ]] && CHATD_HTTP=1
# Whether it has the TLS listeners (--tls_cert, --tls_port); only chatd-tls
# runs get them, so the chatd rows stay what they were.
CHATD_TLS=0
[[ "$CHATD_HELP" == *-tls_port* ]] && CHATD_TLS=1
# Whether it has the IRC front end (--irc_port). As with --http_port, every
# chatd run then gets --irc_port=0 (instead of the fixed default 6667) and
# the IRC peers' server name, so chatd and chatd-irc run the very same
# server configuration; chatd-tls also gets --ircs_port=-1 (with its
# certificate chatd would otherwise open IRC over TLS on the fixed 6697).
CHATD_IRC=0
[[ "$CHATD_HELP" == *-irc_port* ]] && CHATD_IRC=1
# Whether it has cluster mode (--nats_url); only chatd-cluster3 runs use it.
CHATD_CLUSTER=0
[[ "$CHATD_HELP" == *-nats_url* ]] && CHATD_CLUSTER=1

# The TLS runs' certificates: a development CA and a server certificate for
# 127.0.0.1, made the way users make them; loadgen trusts the CA.
CERT_DIR="$WORK/cert"
bash "$REPO/tools/dev-cert.sh" "$CERT_DIR" 2>/dev/null || { log "tools/dev-cert.sh failed"; exit 1; }

FD_HARD=$(ulimit -Hn)
[ "$FD_HARD" = unlimited ] && FD_HARD=1048576

# ---------------------------------------------------------------------------
# Ports and configs.
# ---------------------------------------------------------------------------

# A free TCP port on 127.0.0.1 below the ephemeral range (so loadgen's
# source ports never collide with it), not in use, not even in TIME_WAIT.
pick_port() {
  python3 - <<'EOF'
import random, socket, sys
for _ in range(500):
    port = random.randint(20000, 32000)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    sys.exit(0)
sys.exit(1)
EOF
}

# Writes $CONF_DIR/<server>.conf for a server listening on port $2. The
# files are also what the results page shows.
write_config() {
  local name=$1 port=$2 dir=$3
  case "$name" in
    chatd | chatd-ws | chatd-tls | chatd-irc)
      local http="" irc="" ircs=""
      [ "$CHATD_HTTP" = 1 ] && http=" --http_port=0 --http_port_file=<tmp>/http_port"
      if [ "$CHATD_IRC" = 1 ]; then
        irc=" \\
      --irc_port=0 --irc_port_file=<tmp>/irc_port --irc_server_name=irc.bench.local"
        ircs=" --ircs_port=-1"
      fi
      cat >"$CONF_DIR/chatd.conf" <<EOF
# chatd takes flags, not a config file; the command line used for every
# workload but overload (limits off):
chatd --threads=2 --max_msgs_per_sec=0 --max_output_bytes=0 --join_timeout_s=0 \\
      --max_connections=100000 --bind=127.0.0.1 --port=0 --port_file=<tmp>/port$http$irc
# for overload (every limit at its default: --max_msgs_per_sec=20
# --max_burst=50 --max_output_bytes=1048576 --join_timeout_s=10,
# --max_connections = open-file limit - 64):
chatd --threads=2 --bind=127.0.0.1 --port=0 --port_file=<tmp>/port$http$irc
# (open-file soft limit raised to the hard limit, $FD_HARD, before exec)
# chatd-ws: the same server and command line; loadgen connects to the HTTP
# port with --transport=ws (GET /ws, subprotocol chatd.line, one TEXT
# message per line).
# chatd-tls: the same, plus the TLS line-protocol listener that loadgen
# --tls --tls_ca=<tmp>/cert/ca.pem connects to (certificates from
# tools/dev-cert.sh; the HTTPS listener is off):
#   --tls_cert=<tmp>/cert/server.pem --tls_key=<tmp>/cert/server.key \\
#   --tls_port=0 --tls_port_file=<tmp>/tls_port --https_port=-1$ircs
# chatd-irc: the same server and command line; loadgen connects to the IRC
# port with --protocol=irc (NICK/USER, JOIN #g<k>, PRIVMSG), the load that
# inspircd and ngircd get.
EOF
      ;;
    chatd-cluster3)
      local http="" irc=""
      [ "$CHATD_HTTP" = 1 ] && http=" --http_port=0 --http_port_file=<tmp>/http_port.<i>"
      [ "$CHATD_IRC" = 1 ] && irc=" \\
      --irc_port=0 --irc_port_file=<tmp>/irc_port.<i> --irc_server_name=irc.bench.local"
      cat >"$CONF_DIR/chatd-cluster3.conf" <<EOF
# chatd-cluster3: $CLUSTER_NODES chatd processes (node i = 1..$CLUSTER_NODES) in
# cluster mode behind one nats-server (nats-cluster.conf), each with chatd's
# command line (limits off) but --threads=$CLUSTER_THREADS (--cluster_threads),
# so that the three share this machine's cores:
chatd --threads=$CLUSTER_THREADS --max_msgs_per_sec=0 --max_output_bytes=0 --join_timeout_s=0 \\
      --max_connections=100000 --bind=127.0.0.1 --port=0 --port_file=<tmp>/port.<i>$http$irc \\
      --nats_url=nats://127.0.0.1:$port --node_name=bench<i>
# (open-file soft limit raised to $FD_HARD before exec). A run starts once
# every node reports chatd_backplane_connected 1 and chatd_backplane_hosts
# $((CLUSTER_NODES - 1)) on /metrics. loadgen: --servers=<the nodes' line ports>
# (connection k goes to node k % $CLUSTER_NODES, so every group has members on
# every node) --server_pids=<the nodes' pids>,<nats-server's pid> (server CPU
# and RSS are the sums over all four processes).
EOF
      cat >"$CONF_DIR/nats-cluster.conf" <<EOF
# chatd-cluster3's backplane: nats-server -c <this file>; open-file soft
# limit raised to $FD_HARD. Its clients are the chatd nodes (one connection
# each, carrying every group's traffic), not the chat clients; pending
# output and the write deadline raised as in nats.conf, so that a node
# that falls behind under load is not cut off as a slow consumer.
listen: 127.0.0.1:$port
max_connections: 100000
max_pending: 1073741824
write_deadline: "60s"
EOF
      ;;
    redis | redis-tls)
      local plain_port=$port
      [ "$name" = redis-tls ] && plain_port=0
      cat >"$CONF_DIR/$name.conf" <<EOF
# redis-server <this file>; open-file soft limit raised to $FD_HARD
bind 127.0.0.1
port $plain_port
# loadgen binds 127.0.0.2..17 (--source_ips): protected mode would refuse them
protected-mode no
daemonize no
# persistence off
save ""
appendonly no
maxclients 20000
# no output-buffer limit: a RESP3 subscriber counts as a "normal" client
client-output-buffer-limit normal 0 0 0
client-output-buffer-limit pubsub 0 0 0
tcp-backlog 4096
timeout 0
# io-threads stays at its default (1): the main thread does all the work
logfile ""
dir $dir
EOF
      if [ "$name" = redis-tls ]; then
        cat >>"$CONF_DIR/$name.conf" <<EOF
# redis-tls: TLS only (port 0 above), certificates from tools/dev-cert.sh,
# no client certificates; TLS settings otherwise Redis's defaults
tls-port $port
tls-cert-file $CERT_DIR/server.pem
tls-key-file $CERT_DIR/server.key
tls-ca-cert-file $CERT_DIR/ca.pem
tls-auth-clients no
EOF
      fi
      ;;
    nats | nats-tls)
      cat >"$CONF_DIR/$name.conf" <<EOF
# nats-server -c <this file>; open-file soft limit raised to $FD_HARD
listen: 127.0.0.1:$port
max_connections: 100000
# 1 GiB of pending output per client before "slow consumer" (default 64 MiB)
max_pending: 1073741824
write_deadline: "60s"
# max_payload, max_control_line, ping_interval: defaults
EOF
      if [ "$name" = nats-tls ]; then
        cat >>"$CONF_DIR/$name.conf" <<EOF
# nats-tls: TLS required on the client port (INFO in plaintext, then the
# handshake: no handshake_first in 2.9), certificates from
# tools/dev-cert.sh. The handshake timeout is raised from 0.5 s: with
# loadgen's 512 connects in flight on two cores, handshakes queue for
# longer than that and nats-server drops them.
tls {
  cert_file: "$CERT_DIR/server.pem"
  key_file: "$CERT_DIR/server.key"
  timeout: 10
}
EOF
      fi
      ;;
    nats-ws)
      cat >"$CONF_DIR/nats-ws.conf" <<EOF
# nats-server -c <this file>; open-file soft limit raised to $FD_HARD.
# As nats.conf, plus the WebSocket listener that loadgen --transport=ws
# uses (the NATS protocol in BINARY frames); the client port is unused.
listen: 127.0.0.1:$4
max_connections: 100000
max_pending: 1073741824
write_deadline: "60s"
websocket {
  listen: "127.0.0.1:$port"
  no_tls: true
  # compression: off (the default)
}
EOF
      ;;
    inspircd)
      cat >"$CONF_DIR/inspircd.conf" <<EOF
# inspircd --nofork --runasroot --config=<this file>; open-file soft limit
# raised to $FD_HARD. One connect class with flood protection off (fakelag
# off, huge commandrate/threshold), 64 MiB send/receive queues, no clone
# limits, no DNS or ident; no modules beyond the core.
<config format="xml">
<server name="irc.bench.local" description="chatd compare benchmark" network="Bench">
<admin name="bench" nick="bench" email="bench@localhost">
<bind address="127.0.0.1" port="$port" type="clients">
<connect name="bench" allow="127.0.0.0/8" maxchans="20" timeout="60"
         pingfreq="600" hardsendq="67108864" softsendq="67108864"
         recvq="67108864" threshold="1000000" commandrate="1000000000"
         fakelag="no" localmax="1000000" globalmax="1000000"
         maxconnwarn="no" resolvehostnames="no" useident="no"
         limit="1000000" modes="">
<performance netbuffersize="65536" somaxconn="4096" softlimit="$FD_HARD"
             clonesonconnect="no" quietbursts="yes">
<limits maxnick="30" maxchan="64" maxmodes="20" maxident="11" maxhost="64"
        maxquit="255" maxtopic="307" maxkick="255" maxreal="128" maxaway="200">
<security announceinvites="dynamic" hideserver="" hidesplits="no"
          userstats="Pu" customversion="" flatlinks="no" hidebans="no"
          hideulines="no" hidekills="" runasuser="" runasgroup=""
          restrictbannedusers="yes" genericoper="no">
<options prefixquit="Quit: " suffixquit="" prefixpart="" suffixpart=""
         fixedquit="" fixedpart="" syntaxhints="no" cyclehosts="no"
         cyclehostsfromuser="no" announcets="yes" allowmismatched="no"
         defaultbind="auto" hostintopic="yes" pingwarning="15"
         serverpingfreq="1m" splitwhois="no" defaultmodes="nt"
         xlinemessage="banned" exemptchanops="" invitebypassmodes="yes"
         nosnoticestack="no">
<dns timeout="1">
<pid file="$dir/inspircd.pid">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="sparse" target="$dir/inspircd.log">
<whowas groupsize="10" maxgroups="100000" maxkeep="3d">
EOF
      ;;
    ngircd)
      cat >"$CONF_DIR/ngircd.conf" <<EOF
# ngircd -n -f <this file>; open-file soft limit raised to $FD_HARD.
# Penalties (flood delays) off with MaxPenaltyTime = 0; no per-IP, total or
# channel-count limits; no DNS/ident/PAM. Not configurable: the listen()
# backlog of 10, the 32 KiB write buffer per client, 3 commands per client
# per loop pass.
[Global]
	Name = irc.bench.local
	Info = chatd compare benchmark
	Listen = 127.0.0.1
	Ports = $port
	MotdPhrase = hi
[Limits]
	MaxConnections = 0
	MaxConnectionsIP = 0
	MaxJoins = 0
	MaxNickLength = 30
	MaxPenaltyTime = 0
	PingTimeout = 600
	PongTimeout = 600
[Options]
	DNS = no
	Ident = no
	PAM = no
EOF
      ;;
  esac
}

# loadgen --protocol for each server, and the connect pacing it needs.
protocol_of() {
  case "$1" in
    chatd | chatd-ws | chatd-tls | chatd-cluster3) echo chatd ;;
    redis | redis-tls) echo redis ;;
    nats | nats-ws | nats-tls) echo nats ;;
    chatd-irc | inspircd | ngircd) echo irc ;;
  esac
}
is_ws() { case "$1" in chatd-ws | nats-ws) return 0 ;; *) return 1 ;; esac; }
is_tls() { case "$1" in chatd-tls | redis-tls | nats-tls) return 0 ;; *) return 1 ;; esac; }
is_cluster() { [ "$1" = chatd-cluster3 ]; }
# loadgen's --transport (and TLS) for each server.
transport_args_of() {
  if is_ws "$1"; then
    echo "--transport=ws"
  elif is_tls "$1"; then
    echo "--tls --tls_ca=$CERT_DIR/ca.pem"
  else
    echo ""
  fi
}
connect_args_of() {
  case "$1" in
    # InspIRCd completes registrations on a once-a-second timer: allow
    # more connects in flight than the default 512 so connecting does not
    # take N/512 seconds.
    inspircd) echo "--max_connecting=4000" ;;
    # ngircd's listen() backlog is fixed at 10: with more connects in
    # flight SYNs are dropped and retried for seconds; 8 at a time instead.
    ngircd) echo "--max_connecting=8" ;;
    *) echo "" ;;
  esac
}

# Waits (at most 20 s) until process $1 listens on 127.0.0.1 port $2
# (or, with $2 empty, on the port written into file $3). Sets LISTEN_PORT;
# returns 1 if the process exits or does not listen in time.
wait_listen() {
  local pid=$1 port=$2 port_file=${3:-} i
  LISTEN_PORT=""
  for ((i = 0; i < 200; i++)); do
    alive "$pid" || return 1
    if [ -z "$port" ] && [ -n "$port_file" ] && [ -s "$port_file" ]; then
      port=$(cat "$port_file")
    fi
    if [ -n "$port" ] && ss -Hltnp "sport = :$port" 2>/dev/null | grep -q "pid=$pid,"; then
      LISTEN_PORT=$port
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# Waits (at most $1 s) until every chatd whose HTTP port is in $2... says on
# /metrics that it is linked to NATS and knows the other nodes. Prints the
# ports of the nodes that are not, and returns 1, if that takes longer.
wait_cluster_linked() {
  python3 - "$@" <<'EOF'
import sys, time, urllib.request
deadline = time.time() + float(sys.argv[1])
ports = sys.argv[2:]
need = len(ports) - 1
def value(text, name):
    for line in text.splitlines():
        key, _, rest = line.partition(" ")
        if key == name or key.startswith(name + "{"):
            return float(rest.split()[0])
    return None
while True:
    bad = []
    for p in ports:
        try:
            text = urllib.request.urlopen(f"http://127.0.0.1:{p}/metrics",
                                          timeout=2).read().decode()
            if (value(text, "chatd_backplane_connected") != 1 or
                    (value(text, "chatd_backplane_hosts") or 0) < need):
                bad.append(p)
        except Exception:
            bad.append(p)
    if not bad:
        sys.exit(0)
    if time.time() > deadline:
        print(" ".join(bad))
        sys.exit(1)
    time.sleep(0.1)
EOF
}

# chatd-cluster3 for workload $1: nats-server, then CLUSTER_NODES chatd
# nodes linked through it. Sets SERVER_PIDS (the nodes, then nats-server),
# SERVER_LOGS, SERVER_PID (node 1), CLUSTER_ADDRS; or returns 1 with the
# reason in START_ERROR (whatever was started is stopped).
start_cluster() {
  local name=chatd-cluster3 workload=$1
  local dir="$WORK/$name"
  local nats_port nats_pid i pid node_pids=() node_logs=() addrs=() http_ports=()
  if [ "$CHATD_CLUSTER" != 1 ]; then
    START_ERROR="this chatd has no --nats_url (no cluster mode)"
    return 1
  fi
  nats_port=$(pick_port) || { START_ERROR="no free port"; return 1; }
  write_config "$name" "$nats_port" "$dir"
  (ulimit -n "$FD_HARD" && exec nats-server -c "$CONF_DIR/nats-cluster.conf") \
    >"$dir/$workload.nats.log" 2>&1 &
  nats_pid=$!
  SERVER_PIDS=("$nats_pid")
  SERVER_LOGS=("$dir/$workload.nats.log")
  if ! wait_listen "$nats_pid" "$nats_port"; then
    START_ERROR="nats-server did not start: $(tail -3 "$dir/$workload.nats.log" | tr '\n' ' ')"
    stop_servers
    return 1
  fi
  local limits="--max_msgs_per_sec=0 --max_output_bytes=0 --join_timeout_s=0 --max_connections=100000"
  for ((i = 1; i <= CLUSTER_NODES; i++)); do
    rm -f "$dir/port.$i" "$dir/http_port.$i" "$dir/irc_port.$i"
    local http="" irc=""
    [ "$CHATD_HTTP" = 1 ] && http="--http_port=0 --http_port_file=$dir/http_port.$i"
    [ "$CHATD_IRC" = 1 ] && irc="--irc_port=0 --irc_port_file=$dir/irc_port.$i --irc_server_name=irc.bench.local"
    # shellcheck disable=SC2086
    (ulimit -n "$FD_HARD" && exec "$CHATD" --threads="$CLUSTER_THREADS" $limits \
      --bind=127.0.0.1 --port=0 --port_file="$dir/port.$i" $http $irc \
      --nats_url="nats://127.0.0.1:$nats_port" --node_name="bench$i") \
      >"$dir/$workload.server.$i.log" 2>&1 &
    node_pids+=("$!")
    node_logs+=("$dir/$workload.server.$i.log")
    # Nodes first, so they are stopped before nats-server.
    SERVER_PIDS=("${node_pids[@]}" "$nats_pid")
    SERVER_LOGS=("${node_logs[@]}" "$dir/$workload.nats.log")
  done
  for ((i = 1; i <= CLUSTER_NODES; i++)); do
    pid=${node_pids[$((i - 1))]}
    if ! wait_listen "$pid" "" "$dir/port.$i"; then
      START_ERROR="node $i exited at startup or did not listen: $(tail -3 "$dir/$workload.server.$i.log" | tr '\n' ' ')"
      stop_servers
      return 1
    fi
    addrs+=("127.0.0.1:$LISTEN_PORT")
    [ -s "$dir/http_port.$i" ] && http_ports+=("$(cat "$dir/http_port.$i")")
  done
  if [ ${#http_ports[@]} -eq "$CLUSTER_NODES" ]; then
    local unlinked
    if ! unlinked=$(wait_cluster_linked 20 "${http_ports[@]}"); then
      START_ERROR="nodes not linked through NATS after 20 s (HTTP ports $unlinked: chatd_backplane_connected / chatd_backplane_hosts)"
      stop_servers
      return 1
    fi
  else
    sleep 3  # no /metrics to ask: a few heartbeats
  fi
  SERVER_PID=${node_pids[0]}
  CLUSTER_ADDRS=$(IFS=,; echo "${addrs[*]}")
  SERVER_PORT=${addrs[0]##*:}
  sleep 0.5  # let them finish starting before the baseline RSS
  return 0
}

# Starts server $1 for workload $2 in the background; sets SERVER_PID and
# SERVER_PORT (and SERVER_PIDS, SERVER_LOGS), or returns 1 with the reason
# in START_ERROR.
start_server() {
  local name=$1 workload=$2
  local dir="$WORK/$name"
  mkdir -p "$dir"
  chmod 777 "$dir"  # ngircd drops root for nobody
  local server_log="$dir/$workload.server.log"
  SERVER_PIDS=()
  SERVER_LOGS=()
  CLUSTER_ADDRS=""
  if is_cluster "$name"; then
    start_cluster "$workload"
    return
  fi
  # port: where loadgen connects; port2: nats-ws's unused client port.
  local port="" port2=""
  case "$name" in
    chatd | chatd-ws | chatd-tls | chatd-irc) ;;
    nats-ws)
      port=$(pick_port) || { START_ERROR="no free port"; return 1; }
      port2=$(pick_port) || { START_ERROR="no free port"; return 1; }
      ;;
    *) port=$(pick_port) || { START_ERROR="no free port"; return 1; } ;;
  esac
  write_config "$name" "$port" "$dir" "$port2"
  # The file into which chatd writes the port loadgen connects to.
  local port_file="$dir/port"
  [ "$name" = chatd-ws ] && port_file="$dir/http_port"
  [ "$name" = chatd-tls ] && port_file="$dir/tls_port"
  [ "$name" = chatd-irc ] && port_file="$dir/irc_port"
  case "$name" in
    chatd | chatd-ws | chatd-tls | chatd-irc)
      if [ "$name" = chatd-ws ] && [ "$CHATD_HTTP" != 1 ]; then
        START_ERROR="this chatd has no --http_port (no WebSocket listener)"
        return 1
      fi
      if [ "$name" = chatd-tls ] && [ "$CHATD_TLS" != 1 ]; then
        START_ERROR="this chatd has no --tls_port (no TLS listener)"
        return 1
      fi
      if [ "$name" = chatd-irc ] && [ "$CHATD_IRC" != 1 ]; then
        START_ERROR="this chatd has no --irc_port (no IRC front end)"
        return 1
      fi
      rm -f "$dir/port" "$dir/http_port" "$dir/tls_port" "$dir/irc_port"
      # overload is the one workload with chatd's default limits on.
      local limits="--max_msgs_per_sec=0 --max_output_bytes=0 --join_timeout_s=0 --max_connections=100000"
      [ "$workload" = overload ] && limits=""
      local http=""
      [ "$CHATD_HTTP" = 1 ] && http="--http_port=0 --http_port_file=$dir/http_port"
      local tls=""
      [ "$name" = chatd-tls ] && tls="--tls_cert=$CERT_DIR/server.pem --tls_key=$CERT_DIR/server.key --tls_port=0 --tls_port_file=$dir/tls_port --https_port=-1"
      local irc=""
      if [ "$CHATD_IRC" = 1 ]; then
        irc="--irc_port=0 --irc_port_file=$dir/irc_port --irc_server_name=irc.bench.local"
        [ "$name" = chatd-tls ] && tls="$tls --ircs_port=-1"
      fi
      # shellcheck disable=SC2086
      (ulimit -n "$FD_HARD" && exec "$CHATD" --threads=2 $limits \
        --bind=127.0.0.1 --port=0 --port_file="$dir/port" $http $irc $tls) >"$server_log" 2>&1 &
      ;;
    redis | redis-tls)
      (ulimit -n "$FD_HARD" && exec redis-server "$CONF_DIR/$name.conf") >"$server_log" 2>&1 &
      ;;
    nats | nats-ws | nats-tls)
      (ulimit -n "$FD_HARD" && exec nats-server -c "$CONF_DIR/$name.conf") >"$server_log" 2>&1 &
      ;;
    inspircd)
      (ulimit -n "$FD_HARD" && exec inspircd --nofork --runasroot \
        --config="$CONF_DIR/inspircd.conf") >"$server_log" 2>&1 &
      ;;
    ngircd)
      (ulimit -n "$FD_HARD" && exec ngircd -n -f "$CONF_DIR/ngircd.conf") >"$server_log" 2>&1 &
      ;;
  esac
  SERVER_PID=$!
  # Wait (at most 20 s) until this very process listens on its port.
  local i
  for ((i = 0; i < 200; i++)); do
    if ! alive "$SERVER_PID"; then
      START_ERROR="exited at startup: $(tail -3 "$server_log" | tr '\n' ' ')"
      wait "$SERVER_PID" 2>/dev/null
      SERVER_PID=""
      return 1
    fi
    if [ -z "$port" ] && [ -s "$port_file" ]; then
      port=$(cat "$port_file")
    fi
    if [ -n "$port" ] && ss -Hltnp "sport = :$port" 2>/dev/null | grep -q "pid=$SERVER_PID,"; then
      SERVER_PORT=$port
      SERVER_PIDS=("$SERVER_PID")
      SERVER_LOGS=("$server_log")
      sleep 0.5  # let it finish starting before the baseline RSS
      return 0
    fi
    sleep 0.1
  done
  START_ERROR="not listening after 20 s"
  stop_pid "$SERVER_PID"
  SERVER_PID=""
  return 1
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# The same summed over SERVER_PIDS.
servers_rss_kb() {
  local pid total=0 v
  for pid in "${SERVER_PIDS[@]}"; do
    v=$(rss_kb "$pid")
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

# ---------------------------------------------------------------------------
# Workloads.
# ---------------------------------------------------------------------------
workload_args() {
  case "$1" in
    # 50 groups of 20, everyone sending as fast as a window of 16 in-flight
    # messages per sender allows.
    fanout) echo "--connections=1000 --groups=50 --rate=0 --window=16 --duration=$DURATION --payload_bytes=64" ;;
    # 10,000 connections in 100 groups of 100, 2,000 messages/s in total.
    crowd) echo "--connections=10000 --groups=100 --rate=2000 --duration=$DURATION --payload_bytes=64" ;;
    # The same at half the rate: at 2,000 messages/s the kernel work of
    # client and server together fills both cores of a 2-core machine, so
    # latency there is queueing; this one shows latency below saturation.
    crowd1k) echo "--connections=10000 --groups=100 --rate=1000 --duration=$DURATION --payload_bytes=64" ;;
    # The crowd shape at 3x its rate, 6,000 messages/s (594,000 deliveries/s
    # offered; --overload_rate): crowd already fills this machine's cores,
    # so this is past saturation. chatd runs with its default limits (see
    # start_server). What is offered beyond capacity queues up, so the
    # drain is longer (drain_timeout_of), and sending is bounded too: a
    # loadgen that falls behind its schedule goes on queueing what is due.
    overload) echo "--connections=10000 --groups=100 --rate=$OVERLOAD_RATE --duration=$DURATION --payload_bytes=64 --send_timeout=$((${DURATION%.*} + 30))" ;;
    # 5,000 in one group, 50 senders at 1 message/s each: 250,000
    # deliveries/s.
    bigroom) echo "--connections=5000 --groups=1 --senders=50 --rate=50 --duration=$DURATION --payload_bytes=64" ;;
    # The same at 20 messages/s (100,000 deliveries/s): at 50/s one send
    # per delivery fills a core for every server, so CPU-s there is the
    # share a server got, not what the work cost it; here it is the cost.
    bigroom20) echo "--connections=5000 --groups=1 --senders=50 --rate=20 --duration=$DURATION --payload_bytes=64" ;;
    # As many idle joined connections as the fd limit allows, groups of 19.
    idle) echo "--connections=$IDLE_CONNECTIONS --groups=$((IDLE_CONNECTIONS / 19)) --senders=0" ;;
  esac
}
connections_of() { workload_args "$1" | sed -E 's/.*--connections=([0-9]+).*/\1/'; }

COMMON_ARGS="--source_ips=16 --connect_timeout=30 --settle_timeout=30 --json"
# Seconds loadgen waits after sending for the deliveries still due. Past
# capacity, what the server could not keep up with is still queued when
# sending stops (offered at 3x capacity, two durations' worth of work, more
# for a slower server): in overload 6 x --duration, at least 30.
DRAIN_TIMEOUT=15
OVERLOAD_DRAIN_TIMEOUT=$((6 * ${DURATION%.*}))
[ "$OVERLOAD_DRAIN_TIMEOUT" -lt 30 ] && OVERLOAD_DRAIN_TIMEOUT=30
drain_timeout_of() {
  case "$1" in
    overload) echo "$OVERLOAD_DRAIN_TIMEOUT" ;;
    *) echo "$DRAIN_TIMEOUT" ;;
  esac
}

JSONL="$WORK/results.jsonl"
: >"$JSONL"

# Escapes a string for a JSON value.
json_str() {
  python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"
}

# CPU accounting, in clock ticks (USER_HZ): all CPUs' busy time, one
# process's user+system time, and this shell's reaped children's.
TICKS=$(getconf CLK_TCK)
busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }
proc_ticks() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}'; }
# The same summed over SERVER_PIDS; empty if one of them cannot be read.
servers_ticks() {
  local pid total=0 v
  for pid in "${SERVER_PIDS[@]}"; do
    v=$(proc_ticks "$pid")
    [ -z "$v" ] && return 0
    total=$((total + v))
  done
  echo "$total"
}
# loadgen's flags for where the server is and which processes are its.
target_args() {
  if [ -n "$CLUSTER_ADDRS" ]; then
    echo "--servers=$CLUSTER_ADDRS --server_pids=$(IFS=,; echo "${SERVER_PIDS[*]}")"
  else
    echo "--host=127.0.0.1 --port=$SERVER_PORT --server_pid=$SERVER_PID"
  fi
}
# Sets DEAD_NOTE (what exited, its status and last log lines) and returns
# 0 if a process of the server under test is no longer alive.
servers_dead() {
  local i pid status
  DEAD_NOTE=""
  for i in "${!SERVER_PIDS[@]}"; do
    pid=${SERVER_PIDS[$i]}
    if ! alive "$pid"; then
      wait "$pid" 2>/dev/null
      status=$?
      local what="server"
      [ ${#SERVER_PIDS[@]} -gt 1 ] && what=$(basename "${SERVER_LOGS[$i]}" .log)
      DEAD_NOTE="${DEAD_NOTE:+$DEAD_NOTE; }$what exited during the run (status $status): $(tail -3 "${SERVER_LOGS[$i]}" | tr '\n' ' ')"
    fi
  done
  [ -n "$DEAD_NOTE" ]
}
# Sets CHILD_SECONDS to the CPU time of this shell's reaped children
# (`times` must run in this shell, not in a $(...) subshell).
children_seconds() {
  times >"$WORK/times.txt"
  CHILD_SECONDS=$(tail -1 "$WORK/times.txt" | awk '{
    t = 0
    for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] }
    printf "%.2f", t }')
}

# Waits (at most ~30 s) until the machine is quiet: other processes using
# less than 0.3 of a core over two seconds. Prints the load it saw last.
wait_quiet() {
  local i b0 b1 cores
  for ((i = 0; i < 15; i++)); do
    b0=$(busy_ticks)
    sleep 2
    b1=$(busy_ticks)
    cores=$(awk -v d=$((b1 - b0)) -v hz="$TICKS" 'BEGIN {printf "%.2f", d / hz / 2}')
    if awk -v c="$cores" 'BEGIN {exit !(c < 0.3)}'; then
      echo "$cores"
      return 0
    fi
    [ "$i" = 0 ] && log "waiting for the machine to be quiet (other processes use $cores cores)"
  done
  echo "$cores"
  return 1
}

# Keeps a server log to its first and last 2,000 lines (ngircd logs a line
# per failed write when the clients go away: hundreds of MB).
trim_log() {
  local f=$1
  [ -f "$f" ] || return 0
  if [ "$(stat -c %s "$f")" -gt 20000000 ]; then
    { head -2000 "$f"; echo "... (trimmed) ..."; tail -2000 "$f"; } >"$f.trim" && mv "$f.trim" "$f"
  fi
}

# Runs workload $2 against server $1 on a fresh server process; writes
# its JSON line to $WORK/last.json and sets LAST_OTHER_CORES (the average
# cores that other processes used meanwhile, or "" if unknown). $3 is a
# note to carry.
run_one() {
  local name=$1 workload=$2
  local dir="$WORK/$name"
  local note=${3:-} rc="" crashed=false baseline=0 timed_out=false
  local lg_out="$dir/$workload.loadgen.json" lg_err="$dir/$workload.loadgen.log"
  local quiet other_cpu=null loadgen_cpu=null server_cpu_total=null run_seconds=null
  local args drain
  drain=$(drain_timeout_of "$workload")
  args="$(workload_args "$workload") $(connect_args_of "$name") $(transport_args_of "$name") $COMMON_ARGS --drain_timeout=$drain"
  mkdir -p "$dir"
  if ! quiet=$(wait_quiet); then
    note="machine not quiet before the run: other processes used $quiet cores"
    log "$name / $workload: $note; running anyway"
  fi
  local started
  started=$(date +%s.%N)
  log "$name / $workload: starting server"
  START_ERROR=""
  if ! start_server "$name" "$workload"; then
    note="${note:+$note; }server did not start: $START_ERROR"
    log "$name / $workload: $note"
  else
    baseline=$(servers_rss_kb)
    local cap proto b0 b1 s0 s1 c0 c1 t0 t1
    proto=$(protocol_of "$name")
    # Upper bound of loadgen's own phases (connect: 2 x connect_timeout +
    # 10, settle 30, send (overload: its --send_timeout), drain) plus a
    # margin.
    local send=${DURATION%.*}
    [ "$workload" = overload ] && send=$((send + 30))
    cap=$((70 + 30 + send + drain + 30))
    log "$name / $workload: loadgen $args (at most ${cap}s)"
    local target
    target=$(target_args)
    children_seconds
    c0=$CHILD_SECONDS
    b0=$(busy_ticks)
    s0=$(servers_ticks)
    t0=$(date +%s.%N)
    # shellcheck disable=SC2086
    timeout --kill-after=10 "$cap" "$LOADGEN" $target \
      --protocol="$proto" $args >"$lg_out" 2>"$lg_err" &
    LOADGEN_PID=$!
    wait "$LOADGEN_PID"
    rc=$?
    LOADGEN_PID=""
    t1=$(date +%s.%N)
    b1=$(busy_ticks)
    s1=$(servers_ticks)
    children_seconds
    c1=$CHILD_SECONDS
    if [ -n "$s0" ] && [ -n "$s1" ]; then
      read -r run_seconds server_cpu_total loadgen_cpu other_cpu < <(awk \
        -v t0="$t0" -v t1="$t1" -v b="$((b1 - b0))" -v s="$((s1 - s0))" \
        -v c0="$c0" -v c1="$c1" -v hz="$TICKS" 'BEGIN {
          o = (b - s) / hz - (c1 - c0); if (o < 0) o = 0
          printf "%.2f %.2f %.2f %.2f\n", t1 - t0, s / hz, c1 - c0, o }')
    fi
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then timed_out=true; fi
    if servers_dead; then
      crashed=true
      note="${note:+$note; }$DEAD_NOTE"
    fi
    local logs=("${SERVER_LOGS[@]}") f
    stop_servers
    for f in "${logs[@]}"; do trim_log "$f"; done
    # loadgen's warnings and errors, the few most frequent kinds.
    local problems
    problems=$(grep -E '^[WE][0-9]{8} ' "$lg_err" | sed -E 's/^[WE][0-9]{8} [0-9:.]+ +[0-9]+ [^]]*\] //' |
      sed -E 's/^c[0-9]+: //; s/ \(further problems on this thread are only counted\)//' |
      sed -E 's/c[0-9]+/cN/g; s/[0-9]+/n/g' |
      sort | uniq -c | sort -rn | head -4 |
      sed -E 's/^ *([0-9]+) (.*)/\2 (x\1)/' | paste -sd';' | cut -c1-400)
    if [ -n "$problems" ]; then note="${note:+$note; }loadgen: $problems"; fi
  fi
  local ended wall json
  ended=$(date +%s.%N)
  wall=$(awk -v a="$started" -v b="$ended" 'BEGIN {printf "%.1f", b - a}')
  json=$(grep -E '^\{' "$lg_out" 2>/dev/null | tail -1)
  {
    printf '{"server":"%s","workload":"%s","loadgen_rc":%s,"timed_out":%s,"server_crashed":%s,' \
      "$name" "$workload" "${rc:-null}" "$timed_out" "$crashed"
    printf '"server_baseline_rss_kb":%s,"wall_seconds":%s,"loadgen_seconds":%s,' \
      "${baseline:-0}" "$wall" "${run_seconds:-null}"
    printf '"server_cpu_seconds_total":%s,"loadgen_cpu_seconds":%s,"other_cpu_seconds":%s,' \
      "${server_cpu_total:-null}" "${loadgen_cpu:-null}" "${other_cpu:-null}"
    printf '"loadgen_args":%s,"note":%s' "$(json_str "$args")" "$(json_str "$note")"
    if [ -n "$json" ]; then
      printf ',"result":%s}\n' "$json"
    else
      printf ',"result":null}\n'
    fi
  } >"$WORK/last.json"
  LAST_OTHER_CORES=""
  if [ "$other_cpu" != null ] && [ "$run_seconds" != null ]; then
    LAST_OTHER_CORES=$(awk -v o="$other_cpu" -v t="$run_seconds" 'BEGIN {printf "%.2f", (t > 0 ? o / t : 0)}')
  fi
  log "$name / $workload: rc=${rc:-none} ${wall}s other-cpu=${other_cpu}s ${json:0:200}"
}

# ---------------------------------------------------------------------------
# Machine and versions.
# ---------------------------------------------------------------------------
INFO="$WORK/info.tsv"
{
  printf 'date\t%s\n' "$DATE"
  printf 'nproc\t%s\n' "$(nproc)"
  printf 'cpu\t%s\n' "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
  printf 'ram\t%s\n' "$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  printf 'kernel\t%s\n' "$(uname -r)"
  printf 'debian\t%s\n' "$(cat /etc/debian_version 2>/dev/null)"
  printf 'fd_limit\t%s\n' "$FD_HARD"
  printf 'loadavg_start\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
  printf 'version_chatd\t%s\n' "git $(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null)$(cd "$REPO" && git diff --quiet HEAD -- net core server 2>/dev/null || echo ' (uncommitted changes)'), bazel -c opt"
  printf 'version_redis\t%s\n' "$(redis-server --version 2>/dev/null | head -1)"
  printf 'version_nats\t%s\n' "$(nats-server --version 2>/dev/null | head -1)"
  printf 'chatd_http\t%s\n' "$CHATD_HTTP"
  printf 'ws_workloads\t%s\n' "$WS_WORKLOADS"
  printf 'chatd_tls\t%s\n' "$CHATD_TLS"
  printf 'tls_workloads\t%s\n' "$TLS_WORKLOADS"
  printf 'chatd_irc\t%s\n' "$CHATD_IRC"
  printf 'chatd_cluster\t%s\n' "$CHATD_CLUSTER"
  printf 'cluster_workloads\t%s\n' "$CLUSTER_WORKLOADS"
  printf 'cluster\t%s\n' "$CLUSTER_NODES chatd processes (--threads=$CLUSTER_THREADS each) behind one nats-server"
  printf 'version_openssl\t%s\n' "$(openssl version 2>/dev/null | head -1)"
  printf 'version_inspircd\t%s\n' "$(inspircd --version 2>/dev/null | head -1)"
  printf 'version_ngircd\t%s\n' "$(ngircd --version 2>/dev/null | head -1)"
  printf 'duration\t%s\n' "$DURATION"
  printf 'common_args\t%s\n' "$COMMON_ARGS --drain_timeout=$DRAIN_TIMEOUT (overload: --drain_timeout=$OVERLOAD_DRAIN_TIMEOUT)"
} >"$INFO"

# ---------------------------------------------------------------------------
# The runs.
# ---------------------------------------------------------------------------
IFS=, read -r -a SERVER_LIST <<<"$SERVERS"
IFS=, read -r -a WORKLOAD_LIST <<<"$WORKLOADS"
for s in "${SERVER_LIST[@]}"; do
  case "$s" in
    chatd | chatd-ws | chatd-tls | chatd-irc | chatd-cluster3 | redis | redis-tls | nats | nats-ws | nats-tls | inspircd | ngircd) ;;
    *) log "unknown server $s"; exit 2 ;;
  esac
done
for w in "${WORKLOAD_LIST[@]}"; do
  case "$w" in fanout | crowd | crowd1k | overload | bigroom | bigroom20 | idle) ;; *) log "unknown workload $w"; exit 2 ;; esac
done

# A run during which other processes took more than 0.3 of a core on
# average (the machine is shared) is run once more, and the second result
# is kept.
for s in "${SERVER_LIST[@]}"; do
  for w in "${WORKLOAD_LIST[@]}"; do
    # The WebSocket servers run WS_WORKLOADS only.
    if is_ws "$s" && [[ ",$WS_WORKLOADS," != *",$w,"* ]]; then
      continue
    fi
    # And the TLS servers TLS_WORKLOADS.
    if is_tls "$s" && [[ ",$TLS_WORKLOADS," != *",$w,"* ]]; then
      continue
    fi
    # And the cluster CLUSTER_WORKLOADS.
    if is_cluster "$s" && [[ ",$CLUSTER_WORKLOADS," != *",$w,"* ]]; then
      continue
    fi
    run_one "$s" "$w"
    if [ -n "$LAST_OTHER_CORES" ] && awk -v c="$LAST_OTHER_CORES" 'BEGIN {exit !(c > 0.3)}'; then
      log "$s / $w: other processes used $LAST_OTHER_CORES cores during the run; running it again"
      run_one "$s" "$w" "second attempt: other processes used $LAST_OTHER_CORES cores during the first"
    fi
    cat "$WORK/last.json" >>"$JSONL"
  done
done

SCRIPT_END=$(date +%s)
printf 'runtime_seconds\t%s\n' "$((SCRIPT_END - SCRIPT_START))" >>"$INFO"
printf 'loadavg_end\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$INFO"

# ---------------------------------------------------------------------------
# Results.
# ---------------------------------------------------------------------------
mkdir -p "$OUT_DIR"
cp "$JSONL" "$OUT_DIR/$DATE.jsonl"
python3 "$SCRIPT_DIR/report.py" --jsonl="$OUT_DIR/$DATE.jsonl" --info="$INFO" \
  --configs="$CONF_DIR" --md="$OUT_DIR/$DATE.md" --png="$OUT_DIR/$DATE.png" \
  --servers="$SERVERS" --workdir="$WORK" --analysis="$OUT_DIR/$DATE.analysis.md" || { log "report failed"; exit 1; }

# The cluster comparison, when chatd-cluster3 ran: report.py lists its rows
# in the results table like any server's (its server CPU-s and RSS are the
# sums over the nodes and nats-server); this adds the side-by-side table
# with chatd, the CPU split over the processes, and the cluster's configs.
if grep -q '"server":"chatd-cluster3"' "$OUT_DIR/$DATE.jsonl"; then
  python3 - "$OUT_DIR/$DATE.jsonl" "$OUT_DIR/$DATE.md" "$CONF_DIR" "$CLUSTER_WORKLOADS" \
    "$CLUSTER_NODES" "$CLUSTER_THREADS" <<'EOF' || log "cluster table failed"
import json, os, sys

jsonl, md, conf_dir, workloads, nodes, threads = sys.argv[1:7]
runs = [json.loads(l) for l in open(jsonl) if l.strip()]


def find(server, workload):
    for r in runs:
        if r["server"] == server and r["workload"] == workload:
            return r
    return None


def si(x):
    if x is None:
        return "–"
    for div, unit in ((1e6, " M"), (1e3, " k")):
        if x >= div:
            v = x / div
            return (f"{v:.2f}" if v < 10 else f"{v:.1f}" if v < 100
                    else f"{v:.0f}") + unit
    return f"{x:.0f}"


def ms(us):
    if us is None:
        return "–"
    v = us / 1000.0
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def figures(run):
    """(per CPU-s, p99 us, lost, duplicated, reordered, passed) or None."""
    r = run.get("result") if run else None
    if not r:
        return None
    ok = bool(r.get("passed")) and not run.get("server_crashed")
    return (r.get("deliveries_per_server_cpu_sec"),
            (r.get("latency_us") or {}).get("p99"), r.get("lost", 0),
            r.get("duplicated", 0), r.get("reordered", 0), ok)


def cell(f, i, fmt):
    if f is None:
        return "– (no result)" if i == 0 else "–"
    return fmt(f[i]) + ("" if f[5] or i != 0 else " (FAIL)")


def counts(f):
    return "–" if f is None else f"{f[2]:,} / {f[3]:,} / {f[4]:,}"


rows = [
    "| workload | deliveries per server CPU-s: chatd (1 process) | "
    f"chatd-cluster3 ({nodes} chatd + nats-server) | cluster / single | "
    "p99 ms: chatd | chatd-cluster3 | lost / duplicated / reordered: chatd "
    "| chatd-cluster3 |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
]
splits = []
for w in workloads.split(","):
    single, cluster = find("chatd", w), find("chatd-cluster3", w)
    if cluster is None:
        continue
    fs, fc = figures(single), figures(cluster)
    ratio = "–"
    if fs and fc and fs[0] and fc[0]:
        ratio = f"{fc[0] / fs[0]:.2f}x"
    rows.append(f"| {w} | {cell(fs, 0, si)} | {cell(fc, 0, si)} | {ratio} | "
                f"{cell(fs, 1, ms)} | {cell(fc, 1, ms)} | {counts(fs)} | "
                f"{counts(fc)} |")
    procs = (cluster.get("result") or {}).get("server_processes") or []
    if procs:
        total = sum(p.get("cpu_seconds", 0) for p in procs) or 1
        names = [f"node{i + 1}" for i in range(len(procs) - 1)]
        names.append("nats-server")
        parts = ", ".join(
            f"{n} {p.get('cpu_seconds', 0):.2f} s "
            f"({100 * p.get('cpu_seconds', 0) / total:.0f}%)"
            for n, p in zip(names, procs))
        splits.append(f"- {w}: {parts}")

section = ["### Cluster\n", "\n".join(rows), ""]
section.append(
    f"`chatd-cluster3` is {nodes} chatd processes in cluster mode "
    f"(`--nats_url`, `--threads={threads}` each) behind one nats-server on "
    "this same machine; loadgen spreads its connections round-robin over "
    "the nodes (`--servers`), so every group has members on every node and "
    "each message crosses NATS once to every other node. Server CPU-s is "
    "the sum over all the processes, nats-server included "
    "(`--server_pids`), so *deliveries per server CPU-s* is what a delivery "
    "costs the whole cluster, against one chatd doing all the work alone "
    "in the same script run. It shows the backplane's overhead, not "
    "scale-out: every process shares the same cores (see docs/CLUSTER.md, "
    "*What this machine cannot show*). A figure marked FAIL comes from a "
    "run that lost, duplicated, reordered or dropped something (see its row "
    "above).\n")
if splits:
    section.append("Server CPU by process:\n")
    section.extend(splits)
    section.append("")
for fname in ("chatd-cluster3.conf", "nats-cluster.conf"):
    path = os.path.join(conf_dir, fname)
    if os.path.exists(path):
        section.append(f"#### {fname}\n")
        section.append("```")
        section.append(open(path).read().rstrip())
        section.append("```\n")

text = open(md).read()
block = "\n".join(section) + "\n"
marker = "### Idle connections\n"
if marker in text:
    text = text.replace(marker, block + marker, 1)
else:
    text += "\n" + block
open(md, "w").write(text)
EOF
fi
log "wrote $OUT_DIR/$DATE.md, $DATE.jsonl, $DATE.png in $((SCRIPT_END - SCRIPT_START)) s"
