// LoadConfig is everything one loadgen run is asked to do, in plain values.
// loadgen_main.cc fills it from flags; tests build it directly. Immutable
// once the run starts; read by every thread.
#ifndef CHATD_TOOLS_LOADGEN_LOAD_CONFIG_H_
#define CHATD_TOOLS_LOADGEN_LOAD_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "tools/loadgen/protocol.h"
#include "tools/loadgen/server_list.h"
#include "tools/loadgen/workload_shape.h"

namespace chatd::loadgen {

struct LoadConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  // When not empty, replaces host/port: connection i connects to
  // servers[i % servers.size()] (--servers), so a group's members are
  // spread over every server of a cluster.
  std::vector<ServerAddress> servers;
  ProtocolKind protocol = ProtocolKind::kChatd;
  // With kWebSocket every connection first upgrades at ws://host:port
  // <ws_path> (chatd and NATS only; see websocket_session.h).
  TransportKind transport = TransportKind::kTcp;
  std::string ws_path = "/ws";
  // TLS under the protocol (and under the WebSocket: wss://). An empty
  // tls_ca trusts the system's CAs; an empty tls_server_name means the
  // host of the connection's server.
  bool tls = false;
  std::string tls_ca;
  std::string tls_server_name;
  WorkloadShape shape;

  // Total messages per second over all senders; 0 = closed loop with at
  // most `window` messages in flight per sender.
  double rate = 0;
  uint32_t window = 16;
  // Per sender; 0 = no limit (then duration_ns must bound the run).
  uint64_t messages = 100;
  int64_t duration_ns = 0;  // 0 = no time limit on sending.
  size_t payload_bytes = 0;

  // New connections per second over all threads; 0 = as fast as the
  // in-flight bound allows.
  double connect_rate = 0;
  uint32_t max_connecting = 512;  // Connects not yet joined, all threads.
  int threads = 1;
  int source_ips = 0;  // 0 = let the kernel pick the source address.

  int64_t connect_timeout_ns = 0;  // Per connection, connect() to joined.
  int64_t settle_quiet_ns = 0;
  int64_t settle_timeout_ns = 0;
  int64_t send_timeout_ns = 0;  // Cap on the send phase.
  int64_t drain_timeout_ns = 0;

  // Processes whose CPU and memory are reported, summed; empty = no
  // server statistics.
  std::vector<int> server_pids;
  bool progress = true;  // One line per second on stderr.
};

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_LOAD_CONFIG_H_
