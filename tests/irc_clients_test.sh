#!/usr/bin/env bash
# chatd's IRC port seen by real IRC clients: Debian's irssi (in a tmux pane,
# typed at with `tmux send-keys`) and weechat-headless (fed through its fifo
# plugin) talk in #cooking with "tim", a member on the line port. Checked in
# the clients' logs, irssi's raw log and screen, and tim's transcript:
# messages both ways, /me, /names, private messages both ways, /part, /join,
# /quit, and tim's disconnect seen as a QUIT.
#
# Needs irssi, weechat-headless (+ weechat-plugins for fifo), tmux. Only
# 127.0.0.1 is used; every wait polls with a deadline, the whole test is
# bounded by $test_budget_s.
set -euo pipefail

test_budget_s=80   # every wait gives up when the test has run this long
wait_s=10          # default deadline of one wait
group=cooking
channel="#$group"
tab=$'\t'

runfiles="${RUNFILES_DIR:-${TEST_SRCDIR:-$0.runfiles}}"
server_bin="${CHATD_BINARY:-$runfiles/chatd/server/chatd}"
irssi="$(command -v irssi || true)"
weechat="$(command -v weechat-headless || true)"
tmux_bin="$(command -v tmux || true)"
[[ -x "$server_bin" ]] || { echo "FAIL: no executable chatd: '$server_bin'" >&2; exit 1; }
for f in "$irssi" "$weechat" "$tmux_bin"; do
  [[ -x "$f" ]] || { echo "FAIL: no irssi, weechat-headless or tmux (tools/setup.sh)" >&2; exit 1; }
done
[[ -n "$(find /usr/lib -path '*/weechat/plugins/fifo.so' -print -quit 2>/dev/null)" ]] ||
  { echo "FAIL: no weechat fifo plugin (apt-get install weechat-plugins)" >&2; exit 1; }

work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/irc_clients.XXXXXX")"
# A unix socket path must fit in 108 bytes; Bazel's TEST_TMPDIR may not.
sockdir="$work"
((${#work} < 80)) || sockdir="$(mktemp -d /tmp/irc_tmux.XXXXXX)"
tmux_cmd=("$tmux_bin" -S "$sockdir/tmux.sock" -f /dev/null)
# The clients and tmux read nothing of the real home directory.
export HOME="$work/home"
mkdir -p "$HOME"

server_pid="" tim_reader_pid="" tim_fd="" wee_pid="" wee_fd=""
irssi_pid="" tmux_pid=""
cleanup() {
  [[ -n "$tim_fd" ]] && exec {tim_fd}>&-
  [[ -n "$wee_fd" ]] && exec {wee_fd}>&-
  # Only our own tmux server (its private socket), then the PIDs we started.
  "${tmux_cmd[@]}" kill-server 2>/dev/null || true
  for pid in $tim_reader_pid $wee_pid $irssi_pid $tmux_pid $server_pid; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in $tim_reader_pid $wee_pid $server_pid; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
  [[ "$sockdir" == "$work" ]] || rm -rf "$sockdir"
}
trap cleanup EXIT

dump() {  # file [lines]: the end of a file, for failure output
  [[ -f "$1" ]] || return 0
  echo "--- ${1#"$work"/} (last ${2:-25} lines)" >&2
  tail -n "${2:-25}" "$1" | cat -v >&2
}

fail() {
  echo "FAIL: $*" >&2
  dump "$work/tim.out" 40
  dump "$work/tim.raw"
  dump "$work/irssi/logs/$channel.log"
  dump "$work/irssi/logs/tim.log"
  dump "$work/alice.raw" 30
  if [[ -n "$irssi_pid" ]] && kill -0 "$irssi_pid" 2>/dev/null; then
    echo "--- irssi screen" >&2
    "${tmux_cmd[@]}" capture-pane -p -t alice 2>/dev/null | grep -v '^$' >&2 || true
  fi
  local f
  for f in "$work"/weechat/logs/irc.*.weechatlog; do dump "$f"; done
  dump "$work/weechat.out" 10
  dump "$work/server.log" 40
  exit 1
}

# --- Waiting. Every check waits for a line to appear in a file, polling
# until a deadline so that a silent server fails the test instead of
# hanging it. A check consumes the lines up to its match (cursor[file]), so
# the second "* alice has left" must be a new line, not the first again.
deadline_in() {  # seconds: sets $deadline, never past the test's budget
  deadline=$((SECONDS + $1))
  ((deadline < test_budget_s)) || deadline=$test_budget_s
}

declare -A cursor=()
wait_match() {  # file grep-mode pattern what [seconds]
  local file=$1 how=$2 pattern=$3 what=$4 secs=${5:-$wait_s} deadline from n
  deadline_in "$secs"
  while :; do
    from=${cursor[$file]:-0}
    n="$(tail -n "+$((from + 1))" "$file" 2>/dev/null |
      grep -n -m1 "$how" -- "$pattern" | cut -d: -f1)" || true
    if [[ -n "$n" ]]; then
      cursor[$file]=$((from + n))
      return 0
    fi
    ((SECONDS < deadline)) ||
      fail "no $what '$pattern' in ${file#"$work"/} within $secs s (at ${SECONDS}s)"
    sleep 0.1
  done
}
wait_line() { wait_match "$1" -xF "$2" "line" "${@:3}"; }  # file exact-line
wait_re() { wait_match "$1" -E "$2" "line matching" "${@:3}"; }  # file ERE

wait_exit() {  # pid what [seconds]
  local deadline
  deadline_in "${3:-$wait_s}"
  while kill -0 "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "$2 still running after ${3:-$wait_s} s"
    sleep 0.1
  done
}

wait_file() {  # path test-flag what: e.g. a port file (-s) or a fifo (-p)
  local deadline
  deadline_in "$wait_s"
  until test "$2" "$1"; do
    [[ -z "$server_pid" ]] || kill -0 "$server_pid" 2>/dev/null ||
      fail "the server exited"
    ((SECONDS < deadline)) || fail "no $3 within $wait_s s"
    sleep 0.05
  done
}

# --- The server. Sets irc_port, and line_port (where tim connects).
start_chatd() {
  "$server_bin" --port=0 --port_file="$work/port" --http_port=-1 \
    --tls_port=-1 --https_port=-1 --irc_port=0 \
    --irc_port_file="$work/irc_port" --ircs_port=-1 \
    --irc_server_name=irc.test --logtostderr >"$work/server.log" 2>&1 &
  server_pid=$!
  wait_file "$work/port" -s "chatd --port_file"
  wait_file "$work/irc_port" -s "chatd --irc_port_file"
  line_port="$(cat "$work/port")"
  irc_port="$(cat "$work/irc_port")"
  [[ "$line_port" =~ ^[0-9]+$ ]] || fail "bad --port_file: '$line_port'"
  [[ "$irc_port" =~ ^[0-9]+$ ]] || fail "bad --irc_port_file: '$irc_port'"
}

stop_server() {
  kill "$server_pid"
  wait_exit "$server_pid" "chatd after SIGTERM"
  local status=0
  wait "$server_pid" || status=$?
  server_pid=""
  ((status == 0)) || fail "chatd exited with $status after SIGTERM"
}

# --- tim, the line user: a plain TCP connection to the line port.
# tim.want collects the lines tim must see; at the end tim.out must be
# exactly that.
tim_send() {  # a line as tim types it on the line port
  printf '%s\n' "$1" >&"$tim_fd"
}

tim_sees() {  # line: tim must get it, after the lines checked before it
  printf '%s\n' "$1" >>"$work/tim.want"
  wait_line "$work/tim.out" "$1"
}

tim_connect() {
  : >"$work/tim.want"
  exec {tim_fd}<>"/dev/tcp/127.0.0.1/$line_port"
  cat <&"$tim_fd" >"$work/tim.out" &
  tim_reader_pid=$!
  tim_send "JOIN $group tim"
  tim_sees "* you joined $group as tim (1 online)"
}

# The reader holds the socket too: stop it, then close ours, so the server
# sees the connection end (no /quit: a dropped line user must become a QUIT).
# (Processes started after tim_connect get the socket closed, {tim_fd}>&-.)
tim_disconnect() {
  kill "$tim_reader_pid"
  wait "$tim_reader_pid" 2>/dev/null || true
  tim_reader_pid=""
  exec {tim_fd}>&-
  tim_fd=""
}

# How tim looks on IRC: tim!tim@line.chatd, as spec'd.
tim_mask_re='tim@line\.chatd'

# --- irssi (nick alice) in a tmux pane. Its own config: one server entry
# (so irssi knows no other network to connect to) whose chatnet autojoins
# the channel, autolog on, no flood queue delaying our commands.
start_irssi() {
  mkdir -p "$work/irssi"
  cat >"$work/irssi/config" <<EOF
servers = (
  { address = "127.0.0.1"; port = "$irc_port"; chatnet = "test";
    use_tls = "no"; tls_verify = "no"; autoconnect = "no"; }
);
chatnets = { test = { type = "IRC"; }; };
channels = ( { name = "$channel"; chatnet = "test"; autojoin = "yes"; } );
settings = {
  core = {
    real_name = "alice"; user_name = "alice"; nick = "alice";
    settings_autosave = "no";
  };
  "irc/core" = { cmd_queue_speed = "0"; cmds_max_at_once = "100"; };
  "fe-common/core" = {
    autolog = "yes"; autolog_path = "$work/irssi/logs/\$0.log";
  };
};
EOF
  local pids
  pids="$("${tmux_cmd[@]}" new-session -d -P -F '#{pid} #{pane_pid}' \
    -s alice -x 200 -y 50 \
    "exec '$irssi' --home='$work/irssi' -n alice -c 127.0.0.1 -p $irc_port" \
    {tim_fd}>&-)" || fail "tmux new-session failed"
  read -r tmux_pid irssi_pid <<<"$pids"
  alice_log="$work/irssi/logs/$channel.log"
  wait_re "$alice_log" "-!- alice \[.*\] has joined $channel\$"
  # Everything irssi sent and got, from the start (rawlog keeps the last
  # 200 lines and dumps them on open).
  irssi_type "/rawlog open $work/alice.raw"
  wait_re "$work/alice.raw" "^>> :irc\.test 001 alice "
  irssi_type "/window goto $channel"
}

irssi_type() {  # a line typed into irssi's input, then Enter
  "${tmux_cmd[@]}" send-keys -t alice -l "$1"
  "${tmux_cmd[@]}" send-keys -t alice Enter
}

irssi_screen() { "${tmux_cmd[@]}" capture-pane -p -J -t alice; }

irssi_screen_shows() {  # ERE: polls the visible pane
  local deadline
  deadline_in "$wait_s"
  until irssi_screen | grep -qE -- "$1"; do
    ((SECONDS < deadline)) || fail "irssi's screen never showed /$1/"
    sleep 0.1
  done
}

# --- weechat-headless (nick wendy): only the irc, logger and fifo plugins
# (no script, relay, spell...: nothing else that might reach out), logs
# flushed at once, no anti-flood queue (WeeChat sends one line per 2 s by
# default), commands written to the fifo as "<buffer> *<input>".
start_weechat() {
  mkdir -p "$work/weechat"
  printf '[plugin]\nautoload = "irc,logger,fifo"\n' >"$work/weechat/weechat.conf"
  local s=irc.server.chatd
  local setup=(
    "/set logger.file.flush_delay 0"
    "/set fifo.file.path $work/weechat/fifo"
    "/server add chatd 127.0.0.1/$irc_port -notls"
    "/set $s.nicks wendy" "/set $s.username wendy" "/set $s.realname wendy"
    "/set $s.anti_flood_prio_high 0" "/set $s.anti_flood_prio_low 0"
    "/set $s.autojoin $channel"
    "/connect chatd"
  )
  local commands
  commands="$(IFS=';' && echo "${setup[*]}")"
  "$weechat" --dir "$work/weechat" --run-command "$commands" \
    </dev/null >"$work/weechat.out" 2>&1 {tim_fd}>&- &
  wee_pid=$!
  wait_file "$work/weechat/fifo" -p "weechat fifo"
  # Read-write so that opening never blocks, even if weechat is gone.
  exec {wee_fd}<>"$work/weechat/fifo"
  wendy_log="$work/weechat/logs/irc.chatd.$channel.weechatlog"
  wait_re "$wendy_log" "${tab}-->${tab}wendy \(.*\) has joined $channel\$"
}

weechat_type() {  # a line typed into the channel buffer
  printf 'irc.chatd.%s *%s\n' "$channel" "$1" >&"$wee_fd"
}

# --- The scenario. Texts are plain words: they are used in regexes.
irssi_part() {
  start_irssi
  tim_sees "* alice has joined"

  irssi_type "hello from irssi"
  tim_sees "alice: hello from irssi"

  tim_send "hi alice from the line"
  wait_re "$alice_log" "<.?tim> hi alice from the line\$"
  wait_re "$work/alice.raw" "^>> (@[^ ]* )?:tim!$tim_mask_re PRIVMSG $channel :hi alice from the line\$"

  irssi_type "/me waves"
  tim_sees "* alice waves"

  # irssi listed the names when it joined: clear the screen first (and see
  # that it is clear) so that only /names can show them.
  local names_re="\[@tim *\] +\[ alice *\]"
  irssi_type "/clear"
  irssi_type "/echo cleared for names"
  irssi_screen_shows "cleared for names"
  ! irssi_screen | grep -qE -- "$names_re" || fail "/clear left the names on screen"
  irssi_type "/names"
  irssi_screen_shows "$names_re"

  irssi_type "/msg tim psst"
  tim_sees "(private) alice: psst"
  tim_send "/msg alice hi back"
  wait_re "$work/irssi/logs/tim.log" "<.?tim> hi back\$"

  irssi_type "/part $channel"
  tim_sees "* alice has left"
  irssi_type "/join $channel"
  tim_sees "* alice has joined"
  wait_re "$alice_log" "-!- alice \[.*\] has joined $channel\$"
}

weechat_part() {
  start_weechat
  tim_sees "* wendy has joined"
  wait_re "$alice_log" "-!- wendy \[.*\] has joined $channel\$"

  weechat_type "hello from weechat"
  tim_sees "wendy: hello from weechat"
  wait_re "$alice_log" "<.?wendy> hello from weechat\$"  # IRC to IRC

  tim_send "hi wendy from the line"
  wait_re "$wendy_log" "${tab}[@+]?tim${tab}hi wendy from the line\$"

  weechat_type "/me waves"
  tim_sees "* wendy waves"

  weechat_type "/names"
  wait_re "$wendy_log" "${tab}Nicks $channel: \[@tim( .*)? wendy( .*)?\]\$"

  weechat_type "/msg tim psst"
  tim_sees "(private) wendy: psst"
  tim_send "/msg wendy hi back"
  wait_re "$work/weechat/logs/irc.chatd.tim.weechatlog" "${tab}tim${tab}hi back\$"

  weechat_type "/part $channel"
  tim_sees "* wendy has left"
  weechat_type "/join $channel"
  tim_sees "* wendy has joined"
  wait_re "$wendy_log" "${tab}-->${tab}wendy \(.*\) has joined $channel\$"
}

quits() {
  irssi_type "/quit bye"
  tim_sees "* alice has left"
  wait_re "$wendy_log" "${tab}<--${tab}alice \(.*\) has quit"
  wait_exit "$irssi_pid" "irssi after /quit"
  irssi_pid=""

  # tim drops the connection; the IRC side must see tim quit.
  tim_disconnect
  wait_re "$wendy_log" "${tab}<--${tab}tim \($tim_mask_re\) has quit"

  weechat_type "/quit bye"
  wait_exit "$wee_pid" "weechat after /quit"
  wait "$wee_pid" 2>/dev/null || true
  wee_pid=""
}

start_chatd
echo "irc_clients_test: IRC port $irc_port, line port $line_port" >&2
tim_connect
irssi_part
weechat_part
quits

# Nothing extra, nothing doubled, nothing echoed back to tim.
diff -u "$work/tim.want" "$work/tim.out" >&2 || fail "tim's transcript"

stop_server
echo "PASS (${SECONDS}s)"
