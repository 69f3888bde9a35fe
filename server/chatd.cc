// chatd: the group chat server. Parses flags, binds, runs a ChatServer until
// SIGINT or SIGTERM, then shuts it down cleanly and exits 0. SIGHUP reloads
// the TLS certificate and key.

#include <gflags/gflags.h>
#include <glog/logging.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/group_registry.h"
#include "net/socket.h"
#include "net/tls_context.h"
#include "net/websocket_handshake.h"
#include "server/chat_server.h"
#include "server/cluster_flags.h"

DEFINE_int32(port, 7000, "TCP port of the line protocol; 0 picks a free one.");
DEFINE_int32(http_port, 8080,
             "HTTP port: the chat page at /, WebSocket at /ws, /metrics and "
             "/healthz; 0 picks a free one, -1 opens none.");
DEFINE_string(ws_allowed_origins, "",
              "Comma-separated origins (e.g. https://chat.example) whose "
              "pages may open a WebSocket; '*' allows any. Empty: pages from "
              "the host named in the request's Host header. Requests without "
              "Origin (not from a browser page) are always allowed.");
DEFINE_int32(ws_ping_interval_s, 30,
             "Seconds of silence after which a WebSocket client is pinged; "
             "one that does not answer within as long again is closed. 0 = "
             "never.");
DEFINE_string(bind, "127.0.0.1",
              "Comma-separated IPv4 and IPv6 addresses every port listens "
              "on, e.g. 127.0.0.1,::1. '::' listens on all addresses of both "
              "families (unless 0.0.0.0 is also given).");
DEFINE_string(tls_cert, "",
              "PEM file with the TLS certificate and its chain. With "
              "--tls_key, opens --tls_port and --https_port; SIGHUP reads "
              "both files again.");
DEFINE_string(tls_key, "", "PEM file with the TLS certificate's private key.");
DEFINE_int32(tls_port, 7443,
             "Line protocol over TLS, when a certificate is set; 0 picks a "
             "free port, -1 opens none.");
DEFINE_int32(https_port, 8443,
             "The HTTP port over TLS (page, wss:// at /ws, /metrics, "
             "/healthz), when a certificate is set; 0 picks a free port, -1 "
             "opens none.");
DEFINE_int32(threads, 0,
             "Worker threads (each runs one epoll loop); 0 means one per CPU.");
DEFINE_int64(max_connections, 0,
             "Most client connections served at once; more are answered "
             "'ERROR server full' and closed. 0 means as many as the open-file "
             "limit allows.");
DEFINE_int64(max_line_bytes, 4096,
             "Longest accepted line, without its line ending; a longer one is "
             "answered 'ERROR line too long' and the connection is closed.");
DEFINE_int64(max_output_bytes, 1 << 20,
             "Most unsent bytes queued for one client; a client that falls "
             "further behind is sent 'ERROR too slow' and dropped. 0 = no "
             "limit.");
DEFINE_double(max_msgs_per_sec, 20,
              "Lines per second one member may send on average; lines over "
              "the rate are delayed (the connection is not read until the "
              "next one is due), never refused. 0 = no limit.");
DEFINE_double(max_burst, 50,
              "Lines a member may send at once before --max_msgs_per_sec "
              "applies.");
DEFINE_int64(mailbox_high_water, 65536,
             "Back-pressure between worker threads: a worker whose post "
             "leaves another worker's mailbox deeper than this many "
             "envelopes stops reading chat input until that mailbox is down "
             "to half of it. 0 = off.");
DEFINE_int32(join_timeout_s, 10,
             "Seconds a new connection has to send a valid JOIN before it is "
             "closed; 0 = no limit.");
DEFINE_int64(max_connections_per_ip, 0,
             "Most connections from one IPv4 address or IPv6 /64; more get "
             "'ERROR too many connections from your address'. 0 = no limit.");
DEFINE_string(port_file, "",
              "If set, the bound line port is written to this file "
              "(atomically) once the server is listening.");
DEFINE_string(http_port_file, "",
              "If set, the bound HTTP port is written to this file "
              "(atomically) once the server is listening; written before "
              "--port_file.");
DEFINE_string(tls_port_file, "", "Like --http_port_file, for --tls_port.");
DEFINE_string(https_port_file, "", "Like --http_port_file, for --https_port.");
DEFINE_int32(listen_backlog, 4096, "listen() backlog.");
DEFINE_int32(irc_port, 6667,
             "TCP port of the IRC front end; 0 picks a free one, -1 opens "
             "none.");
DEFINE_int32(ircs_port, 6697,
             "IRC over TLS (needs --tls_cert/--tls_key); 0 picks a free "
             "one, -1 opens none.");
DEFINE_string(irc_port_file, "", "Like --http_port_file, for --irc_port.");
DEFINE_string(ircs_port_file, "", "Like --http_port_file, for --ircs_port.");
DEFINE_string(irc_server_name, "",
              "The server's name in IRC replies (001-004, PONG, WHO, message "
              "sources); default: the host name.");
DEFINE_string(irc_password, "",
              "When set, IRC clients must send it with PASS to register.");
DEFINE_string(motd_file, "",
              "Text file whose lines are the IRC message of the day; without "
              "one, clients get 422.");
DEFINE_int32(irc_ping_interval_s, 120,
             "An IRC client silent this long is sent a PING.");
DEFINE_int32(irc_ping_timeout_s, 60,
             "An IRC client that sends nothing this long after the server's "
             "PING is disconnected.");

namespace chatd {
namespace {

// Fds the process keeps for itself: epoll and eventfds per worker, the
// listening socket, the acceptor's spare, logs.
constexpr uint64_t kReservedFds = 64;

bool WritePortFile(const std::string& path, uint16_t port) {
  const std::string tmp = path + ".tmp";
  FILE* f = fopen(tmp.c_str(), "w");
  if (f == nullptr) return false;
  fprintf(f, "%u\n", port);
  if (fclose(f) != 0) return false;
  return rename(tmp.c_str(), path.c_str()) == 0;
}

int Main() {
  // Block the stop signals in every thread (they inherit the mask) and take
  // them synchronously in main.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  absl::StatusOr<uint64_t> fd_limit = RaiseFileLimit();
  if (!fd_limit.ok()) {
    LOG(WARNING) << "cannot raise the open-file limit: " << fd_limit.status();
  }
  const uint64_t fd_room = fd_limit.ok() && *fd_limit > kReservedFds * 2
                               ? *fd_limit - kReservedFds
                               : 1024;

  ChatServer::Options options;
  options.bind = FLAGS_bind;
  if (FLAGS_port < 0 || FLAGS_port > 65535) {
    LOG(ERROR) << "--port must be 0 to 65535";
    return 2;
  }
  options.port = static_cast<uint16_t>(FLAGS_port);
  if (FLAGS_http_port < -1 || FLAGS_http_port > 65535) {
    LOG(ERROR) << "--http_port must be -1 to 65535";
    return 2;
  }
  options.http_port = FLAGS_http_port;
  options.tls_cert_file = FLAGS_tls_cert;
  options.tls_key_file = FLAGS_tls_key;
  options.tls_port = FLAGS_tls_port;
  options.https_port = FLAGS_https_port;
  if (FLAGS_ws_ping_interval_s < 0) {
    LOG(ERROR) << "--ws_ping_interval_s must not be negative";
    return 2;
  }
  options.worker.web.ws_ping_interval = absl::Seconds(FLAGS_ws_ping_interval_s);
  options.worker.web.origins =
      websocket::OriginPolicy(FLAGS_ws_allowed_origins);
  options.threads = FLAGS_threads > 0
                        ? FLAGS_threads
                        : static_cast<int>(std::thread::hardware_concurrency());
  if (options.threads > kMaxWorkers) options.threads = kMaxWorkers;
  if (options.threads < 1) options.threads = 1;
  if (FLAGS_max_line_bytes < 1) {
    LOG(ERROR) << "--max_line_bytes must be positive";
    return 2;
  }
  if (FLAGS_max_output_bytes < 0 || FLAGS_max_msgs_per_sec < 0 ||
      FLAGS_max_burst < 0 || FLAGS_join_timeout_s < 0 ||
      FLAGS_max_connections_per_ip < 0 || FLAGS_mailbox_high_water < 0) {
    LOG(ERROR) << "limits must not be negative";
    return 2;
  }
  options.worker.session.max_line_bytes =
      static_cast<size_t>(FLAGS_max_line_bytes);
  options.worker.session.max_msgs_per_sec = FLAGS_max_msgs_per_sec;
  // A burst below one message would refuse every message.
  options.worker.session.max_burst = std::max(1.0, FLAGS_max_burst);
  options.worker.max_output_bytes = static_cast<size_t>(FLAGS_max_output_bytes);
  options.worker.join_timeout = absl::Seconds(FLAGS_join_timeout_s);
  options.worker.mailbox_high_water =
      static_cast<size_t>(FLAGS_mailbox_high_water);
  options.worker.mailbox_low_water = options.worker.mailbox_high_water / 2;
  options.max_connections_per_ip =
      static_cast<size_t>(FLAGS_max_connections_per_ip);
  options.max_connections = FLAGS_max_connections > 0
                                ? static_cast<size_t>(FLAGS_max_connections)
                                : fd_room;
  if (options.max_connections > fd_room) {
    LOG(WARNING) << "--max_connections=" << options.max_connections
                 << " exceeds the open-file limit; connections past " << fd_room
                 << " will be refused for lack of file descriptors";
  }
  options.listen_backlog = FLAGS_listen_backlog;
  for (const auto& [flag, value] :
       {std::pair<const char*, int>{"irc_port", FLAGS_irc_port},
        {"ircs_port", FLAGS_ircs_port}}) {
    if (value < -1 || value > 65535) {
      LOG(ERROR) << "--" << flag << " must be -1 to 65535";
      return 2;
    }
  }
  options.irc_port = FLAGS_irc_port;
  options.ircs_port = FLAGS_ircs_port;
  if (FLAGS_irc_ping_interval_s < 1 || FLAGS_irc_ping_timeout_s < 1) {
    LOG(ERROR) << "--irc_ping_interval_s and --irc_ping_timeout_s must be "
                  "positive";
    return 2;
  }
  IrcConfig& irc = options.worker.irc;
  irc.server_name = FLAGS_irc_server_name;
  if (irc.server_name.empty()) {
    char host[256] = {};
    irc.server_name = gethostname(host, sizeof(host) - 1) == 0 && host[0] != 0
                          ? host
                          : "chatd";
  }
  if (irc.server_name.find_first_of(" :,") != std::string::npos) {
    LOG(ERROR) << "--irc_server_name must not contain a space, ':' or ','";
    return 2;
  }
  irc.password = FLAGS_irc_password;
  irc.ping_interval = absl::Seconds(FLAGS_irc_ping_interval_s);
  irc.ping_timeout = absl::Seconds(FLAGS_irc_ping_timeout_s);
  irc.created = absl::Now();
  if (!FLAGS_motd_file.empty()) {
    std::ifstream motd(FLAGS_motd_file);
    if (!motd) {
      LOG(ERROR) << "cannot read --motd_file " << FLAGS_motd_file;
      return 2;
    }
    irc.has_motd = true;
    for (std::string line; std::getline(motd, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      irc.motd.push_back(line.substr(0, 400));
    }
  }

  absl::StatusOr<NatsBackplane::Options> cluster =
      ClusterOptionsFromFlags(irc.server_name);
  if (!cluster.ok()) {
    LOG(ERROR) << cluster.status().message();
    return 2;
  }
  options.cluster = *std::move(cluster);
  absl::StatusOr<std::unique_ptr<ChatServer>> server =
      ChatServer::Create(options);
  if (!server.ok()) {
    LOG(ERROR) << "cannot start: " << server.status();
    return 1;
  }
  (*server)->Start();
  const ChatServer& started = **server;
  auto where = [&options](uint16_t port) {
    return absl::StrCat(options.bind, " port ", port);
  };
  LOG(INFO) << "chatd listening on " << where(started.port())
            << " (line protocol)"
            << (started.http_port() != 0
                    ? absl::StrCat(", ", where(started.http_port()),
                                   " (HTTP: page, /ws, /metrics)")
                    : std::string())
            << " with " << options.threads << " worker threads, up to "
            << options.max_connections << " connections";
  if (started.irc_port() != 0) {
    LOG(INFO) << "IRC on " << where(started.irc_port()) << " as "
              << options.worker.irc.server_name;
  }
  if (started.tls_port() != 0 || started.https_port() != 0 ||
      started.ircs_port() != 0) {
    std::vector<std::string> tls_ports;
    if (started.tls_port() != 0) {
      tls_ports.push_back(absl::StrCat(where(started.tls_port()), " (line)"));
    }
    if (started.https_port() != 0) {
      tls_ports.push_back(
          absl::StrCat(where(started.https_port()), " (HTTPS)"));
    }
    if (started.ircs_port() != 0) {
      tls_ports.push_back(absl::StrCat(where(started.ircs_port()), " (IRC)"));
    }
    LOG(INFO) << "TLS on " << absl::StrJoin(tls_ports, " and ")
              << "; kernel TLS "
              << (KernelTlsAvailable()
                      ? "available: the kernel encrypts where the cipher "
                        "allows"
                      : "not available in this kernel: OpenSSL encrypts in "
                        "user space");
  } else if (!FLAGS_tls_cert.empty()) {
    LOG(WARNING) << "--tls_cert is set but every TLS port is off";
  }
  // The other ports first: a test waiting for --port_file then has all.
  const std::pair<const std::string*, uint16_t> port_files[] = {
      {&FLAGS_http_port_file, started.http_port()},
      {&FLAGS_tls_port_file, started.tls_port()},
      {&FLAGS_https_port_file, started.https_port()},
      {&FLAGS_irc_port_file, started.irc_port()},
      {&FLAGS_ircs_port_file, started.ircs_port()},
      {&FLAGS_port_file, started.port()}};
  for (const auto& [path, port] : port_files) {
    if (path->empty() || port == 0) continue;
    if (!WritePortFile(*path, port)) {
      PLOG(ERROR) << "cannot write port file " << *path;
      (*server)->Stop();
      return 1;
    }
  }

  int signal_number = 0;
  while (sigwait(&stop_signals, &signal_number) == 0 &&
         signal_number == SIGHUP) {
    const absl::Status reloaded = (*server)->ReloadTls();
    if (reloaded.ok()) {
      LOG(INFO) << "SIGHUP: reloaded " << FLAGS_tls_cert << " and "
                << FLAGS_tls_key << "; new TLS connections use them";
    } else {
      LOG(ERROR) << "SIGHUP: keeping the old certificate: " << reloaded;
    }
  }
  LOG(INFO) << "got " << strsignal(signal_number) << "; shutting down";
  (*server)->Stop();
  server->reset();
  LOG(INFO) << "chatd stopped";
  return 0;
}

}  // namespace
}  // namespace chatd

int main(int argc, char** argv) {
  FLAGS_logtostderr = true;
  gflags::SetUsageMessage("chatd: a multi-reactor group chat server");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  google::InitGoogleLogging(argv[0]);
  return chatd::Main();
}
