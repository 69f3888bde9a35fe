// loadgen: a multi-threaded epoll load generator for chatd (and, for
// comparison, IRC, NATS and Redis servers). Every setting is a flag; the
// run is connect + join, settle, send, drain, each bounded in time. Prints
// a progress line per second on stderr and the result on stdout (a table,
// or one JSON object with --json); exits 1 if anything was lost,
// duplicated, reordered or corrupted, or not every connection joined, and 2
// for bad flags. With --servers the connections are spread round-robin over
// several servers (a cluster sharing groups), and the accounting, being
// loadgen's own, spans them all.

#include <gflags/gflags.h>
#include <glog/logging.h>
#include <signal.h>
#include <stdio.h>

#include <cmath>
#include <numeric>
#include <thread>

#include "net/socket.h"
#include "tools/loadgen/clock.h"
#include "tools/loadgen/load_config.h"
#include "tools/loadgen/load_run.h"
#include "tools/loadgen/run_report.h"
#include "tools/loadgen/server_list.h"
#include "tools/loadgen/websocket_session.h"

DEFINE_string(host, "127.0.0.1", "Server IPv4 address.");
DEFINE_int32(port, 7000, "Server port.");
DEFINE_string(servers, "",
              "Comma-separated IPv4 host:port list of the servers of a "
              "cluster; replaces --host/--port. Connection i connects to "
              "entry i mod N, so every group's members are spread over all "
              "of them.");
DEFINE_string(protocol, "chatd",
              "Wire protocol: chatd, irc, nats or redis (RESP3 pub/sub).");
DEFINE_string(transport, "tcp",
              "tcp, or ws: every connection first upgrades to a WebSocket "
              "at ws://<host>:<port><ws_path> and frames the protocol in "
              "it (chatd: one TEXT message per line; nats: the byte stream "
              "in BINARY frames). ws supports --protocol=chatd and nats.");
DEFINE_string(ws_path, "/ws", "With --transport=ws: the request path.");
DEFINE_bool(tls, false,
            "Speak TLS under the protocol (under the WebSocket with "
            "--transport=ws, i.e. wss://). With --protocol=nats over tcp the "
            "plaintext INFO line (tls_required) comes first, then the "
            "handshake, then CONNECT. --port must be the server's TLS "
            "port.");
DEFINE_string(tls_ca, "",
              "With --tls: PEM file of the CAs to trust (e.g. "
              "tools/dev-cert.sh's ca.pem); empty = the system's CAs.");
DEFINE_string(tls_server_name, "",
              "With --tls: the name sent as SNI and checked against the "
              "server's certificate (an IP address is checked as one); "
              "empty = the --host value.");
DEFINE_int32(connections, 100, "Client connections.");
DEFINE_int32(groups, 10, "Groups; connection i joins group i mod groups.");
DEFINE_int32(senders, -1,
             "How many connections send (connections 0..senders-1); -1 = "
             "all.");
DEFINE_double(rate, 0,
              "Total messages per second over all senders, sent open-loop "
              "on a fixed schedule; 0 = as fast as --window allows.");
DEFINE_int32(window, 16,
             "With --rate=0: messages a sender may have in flight, i.e. not "
             "yet received by one designated member of its group.");
DEFINE_int64(messages, 100,
             "Messages per sender; 0 = unlimited. Ignored when --duration "
             "is given unless also set explicitly.");
DEFINE_double(duration, 0, "Seconds of sending; 0 = until --messages.");
DEFINE_int32(payload_bytes, 0,
             "Pad each message's text to this many bytes (the stamp "
             "'m <sender> <seq> <t_ns>' is never cut).");
DEFINE_double(connect_rate, 0,
              "New connections per second; 0 = unlimited (bounded by "
              "--max_connecting).");
DEFINE_int32(max_connecting, 512,
             "Connections allowed between connect() and joined at once.");
DEFINE_int32(threads, 0, "Reactor threads; 0 = one per CPU.");
DEFINE_int32(source_ips, 0,
             "Spread connections over source addresses 127.0.0.2 .. "
             "127.0.0.(N+1) to go past one address's ephemeral ports; 0 = "
             "let the kernel choose.");
DEFINE_double(connect_timeout, 10,
              "Seconds a connection may take from connect() to joined "
              "before it counts as failed.");
DEFINE_double(settle_quiet, 0.2,
              "Seconds without a join or join announcement that end the "
              "settle phase (once the announcements still due, counted "
              "from the servers' online counts, have arrived).");
DEFINE_double(settle_timeout, 10,
              "Most seconds to wait for join announcements to settle.");
DEFINE_double(send_timeout, 600, "Most seconds of sending.");
DEFINE_double(drain_timeout, 10,
              "Seconds to wait for outstanding deliveries after sending "
              "stops (and, in closed loop, for a stalled send to move).");
DEFINE_int32(server_pid, 0,
             "If set, report this process's CPU seconds (send + drain) and "
             "memory from /proc. Same as --server_pids=<pid>.");
DEFINE_string(server_pids, "",
              "Comma-separated pids (e.g. every chatd of a cluster and its "
              "nats-server): report their CPU seconds (send + drain) and "
              "memory from /proc, summed, and each one's.");
DEFINE_bool(json, false,
            "Print the result as one JSON object on stdout (the table then "
            "goes to stderr).");
DEFINE_bool(progress, true, "Print a progress line per second on stderr.");

namespace chatd::loadgen {
namespace {

int64_t ToNs(double seconds) {
  return static_cast<int64_t>(std::llround(seconds * kNsPerSec));
}

// Checks the flags and builds the config; returns false after logging what
// is wrong.
bool ConfigFromFlags(LoadConfig* config) {
  bool ok = true;
  auto fail = [&ok](const char* what) {
    LOG(ERROR) << what;
    ok = false;
  };
  const std::optional<ProtocolKind> protocol =
      ParseProtocolKind(FLAGS_protocol);
  if (!protocol.has_value())
    fail("--protocol must be chatd, irc, nats or redis");
  const std::optional<TransportKind> transport =
      ParseTransportKind(FLAGS_transport);
  if (!transport.has_value()) fail("--transport must be tcp or ws");
  if (transport == TransportKind::kWebSocket) {
    if (protocol.has_value() && !WebSocketOptionsFor(*protocol).has_value()) {
      fail(
          "--transport=ws supports --protocol=chatd and nats only (loadgen "
          "has no WebSocket framing for IRC or Redis)");
    }
    if (FLAGS_ws_path.empty() || FLAGS_ws_path[0] != '/' ||
        FLAGS_ws_path.find_first_of(" \r\n\t") != std::string::npos) {
      fail("--ws_path must start with '/' and hold no spaces");
    }
  }
  if (!FLAGS_tls && (!FLAGS_tls_ca.empty() || !FLAGS_tls_server_name.empty())) {
    fail("--tls_ca and --tls_server_name need --tls");
  }
  std::vector<ServerAddress> servers;
  if (!FLAGS_servers.empty()) {
    absl::StatusOr<std::vector<ServerAddress>> parsed =
        ParseServerList(FLAGS_servers);
    if (!parsed.ok()) {
      LOG(ERROR) << "--servers: " << parsed.status().message();
      ok = false;
    } else {
      servers = *std::move(parsed);
    }
    if (ok && (!gflags::GetCommandLineFlagInfoOrDie("host").is_default ||
               !gflags::GetCommandLineFlagInfoOrDie("port").is_default)) {
      LOG(WARNING) << "--servers is set: ignoring --host and --port";
    }
  } else if (FLAGS_port <= 0 || FLAGS_port > 65535) {
    fail("--port must be 1..65535");
  }
  std::vector<int> server_pids;
  if (!FLAGS_server_pids.empty()) {
    absl::StatusOr<std::vector<int>> pids = ParsePidList(FLAGS_server_pids);
    if (!pids.ok()) {
      LOG(ERROR) << "--server_pids: " << pids.status().message();
      ok = false;
    } else {
      server_pids = *std::move(pids);
    }
    if (FLAGS_server_pid != 0) {
      fail("give either --server_pid or --server_pids, not both");
    }
  } else if (FLAGS_server_pid < 0) {
    fail("--server_pid must not be negative");
  } else if (FLAGS_server_pid > 0) {
    server_pids.push_back(FLAGS_server_pid);
  }
  if (FLAGS_connections < 1) fail("--connections must be positive");
  if (FLAGS_groups < 1 || FLAGS_groups > FLAGS_connections) {
    fail("--groups must be 1..--connections");
  }
  if (FLAGS_senders > FLAGS_connections)
    fail("--senders exceeds --connections");
  if (FLAGS_rate < 0 || FLAGS_connect_rate < 0 || FLAGS_duration < 0) {
    fail("rates and --duration must not be negative");
  }
  if (FLAGS_window < 1) fail("--window must be positive");
  if (FLAGS_messages < 0 || FLAGS_messages > UINT32_MAX) {
    fail("--messages must be 0..2^32-1");
  }
  if (FLAGS_payload_bytes < 0) fail("--payload_bytes must not be negative");
  if (FLAGS_max_connecting < 1) fail("--max_connecting must be positive");
  if (FLAGS_source_ips < 0 || FLAGS_source_ips > 250) {
    fail("--source_ips must be 0..250");
  }
  if (FLAGS_threads < 0) fail("--threads must not be negative");
  const bool messages_given =
      !gflags::GetCommandLineFlagInfoOrDie("messages").is_default;
  const int64_t messages =
      FLAGS_duration > 0 && !messages_given ? 0 : FLAGS_messages;
  if (messages == 0 && FLAGS_duration == 0) {
    fail("--messages=0 needs --duration");
  }
  if (!ok) return false;

  config->host = FLAGS_host;
  config->port = static_cast<uint16_t>(FLAGS_port);
  config->servers = std::move(servers);
  config->protocol = *protocol;
  config->transport = *transport;
  config->ws_path = FLAGS_ws_path;
  config->tls = FLAGS_tls;
  config->tls_ca = FLAGS_tls_ca;
  config->tls_server_name = FLAGS_tls_server_name;
  config->shape.connections = static_cast<uint32_t>(FLAGS_connections);
  config->shape.groups = static_cast<uint32_t>(FLAGS_groups);
  config->shape.senders = static_cast<uint32_t>(
      FLAGS_senders < 0 ? FLAGS_connections : FLAGS_senders);
  config->rate = FLAGS_rate;
  config->window = static_cast<uint32_t>(FLAGS_window);
  config->messages = static_cast<uint64_t>(messages);
  config->duration_ns = ToNs(FLAGS_duration);
  config->payload_bytes = static_cast<size_t>(FLAGS_payload_bytes);
  config->connect_rate = FLAGS_connect_rate;
  config->max_connecting = static_cast<uint32_t>(FLAGS_max_connecting);
  const int threads =
      FLAGS_threads > 0 ? FLAGS_threads
                        : static_cast<int>(std::thread::hardware_concurrency());
  config->threads = std::max(1, std::min(threads, FLAGS_connections));
  config->source_ips = FLAGS_source_ips;
  config->connect_timeout_ns = ToNs(FLAGS_connect_timeout);
  config->settle_quiet_ns = ToNs(FLAGS_settle_quiet);
  config->settle_timeout_ns = ToNs(FLAGS_settle_timeout);
  config->send_timeout_ns = ToNs(FLAGS_send_timeout);
  config->drain_timeout_ns = ToNs(FLAGS_drain_timeout);
  config->server_pids = std::move(server_pids);
  config->progress = FLAGS_progress;
  if (config->servers.size() > 1) {
    const uint32_t n = static_cast<uint32_t>(config->servers.size());
    const uint32_t common = std::gcd(n, config->shape.groups);
    if (common > 1) {
      LOG(WARNING) << "--groups=" << config->shape.groups << " and " << n
                   << " --servers have a common factor " << common
                   << ": each group's members go to only " << n / common
                   << " of the servers";
    }
  }
  return true;
}

int Main() {
  // A server closing a socket with output pending must not kill us.
  signal(SIGPIPE, SIG_IGN);
  LoadConfig config;
  if (!ConfigFromFlags(&config)) return 2;

  absl::StatusOr<uint64_t> fd_limit = RaiseFileLimit();
  if (!fd_limit.ok()) {
    LOG(WARNING) << "cannot raise the open-file limit: " << fd_limit.status();
  } else if (*fd_limit < config.shape.connections + 64) {
    LOG(WARNING) << "open-file limit " << *fd_limit << " is below "
                 << config.shape.connections << " connections; some will fail";
  }

  absl::StatusOr<RunReport> report = RunLoad(config);
  if (!report.ok()) {
    LOG(ERROR) << report.status();
    return 2;
  }
  const std::string table = FormatReportTable(*report);
  if (FLAGS_json) {
    fputs(table.c_str(), stderr);
    printf("%s\n", FormatReportJson(*report).c_str());
  } else {
    fputs(table.c_str(), stdout);
  }
  fflush(stdout);
  return RunPassed(*report) ? 0 : 1;
}

}  // namespace
}  // namespace chatd::loadgen

int main(int argc, char** argv) {
  FLAGS_logtostderr = true;
  gflags::SetUsageMessage(
      "loadgen --port=P [--connections=N --groups=G --messages=M ...]: "
      "load and correctness test for chatd and peer servers");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  google::InitGoogleLogging(argv[0]);
  return chatd::loadgen::Main();
}
