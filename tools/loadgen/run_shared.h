// RunShared is the state the controller and the reactor threads share for
// one run: the phase, the send plan fixed when sending starts, per-sender
// acknowledgement counts for the closed-loop window, and the wakers.
//
// Ownership and ordering: the controller owns it and writes the plan fields
// before it publishes Phase::kSend with a release store; threads read them
// only after seeing kSend with an acquire load, and never write them.
#ifndef CHATD_TOOLS_LOADGEN_RUN_SHARED_H_
#define CHATD_TOOLS_LOADGEN_RUN_SHARED_H_

#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "net/tls_context.h"
#include "tools/loadgen/load_config.h"
#include "tools/loadgen/server_list.h"
#include "tools/loadgen/waker.h"

namespace chatd::loadgen {

enum class Phase : int {
  kConnect = 0,  // Connecting and joining; nothing is sent.
  kSend = 1,     // Senders send.
  kDrain = 2,    // Sending has stopped; receivers keep receiving.
  kStop = 3,     // Threads close everything and exit.
};

inline constexpr uint32_t kNoReceiver = UINT32_MAX;

// One server a connection may go to: as given, and resolved.
struct ServerEndpoint {
  ServerAddress address;
  sockaddr_in socket_address{};
};

struct RunShared {
  explicit RunShared(const LoadConfig& c)
      : config(c),
        joined(new std::atomic<bool>[c.shape.connections]),
        closed(new std::atomic<bool>[c.shape.connections]),
        acked(new std::atomic<uint32_t>[c.shape.senders]) {
    for (uint32_t i = 0; i < c.shape.connections; ++i) {
      joined[i] = false;
      closed[i] = false;
    }
    for (uint32_t i = 0; i < c.shape.senders; ++i) acked[i] = 0;
  }

  int ThreadOf(uint32_t id) const {
    return static_cast<int>(id % static_cast<uint32_t>(config.threads));
  }

  // The server of connection `id`: round-robin by id.
  const ServerEndpoint& ServerOf(uint32_t id) const {
    return servers[id % servers.size()];
  }

  const LoadConfig& config;
  // config.servers, or config.host:port alone; never empty. Filled before
  // any connection is made.
  std::vector<ServerEndpoint> servers;
  // The client contexts the connections' TLS streams are made from, one
  // per reactor thread (tls_contexts[thread]), loaded before the threads
  // start; empty without --tls. Not one for all: OpenSSL's certificate
  // store caches what it verifies, and threads sharing a store race on it
  // (ThreadSanitizer saw it in libcrypto).
  std::vector<std::shared_ptr<const TlsContext>> tls_contexts;
  std::atomic<Phase> phase{Phase::kConnect};

  // Set by a connection's thread when it joins; read by the controller to
  // fix the plan. Not cleared on disconnect: the plan is a snapshot.
  std::unique_ptr<std::atomic<bool>[]> joined;
  // Set when a joined connection is closed, so a sender paced by it stops
  // waiting for acknowledgements that cannot come.
  std::unique_ptr<std::atomic<bool>[]> closed;

  // The plan, written by the controller before kSend.
  std::vector<bool> member;  // By id: joined when sending started.
  // By sender id: the member whose receipts pace the sender's window.
  std::vector<uint32_t> pacing_receiver;
  int64_t send_start_ns = 0;
  int64_t send_end_ns = 0;  // No message is stamped at or after this.

  // By sender id: one past the highest sequence number its pacing receiver
  // has received. Written only by that receiver's thread.
  std::unique_ptr<std::atomic<uint32_t>[]> acked;

  // Index = thread index. Filled before the threads start.
  std::vector<Waker*> wakers;
};

}  // namespace chatd::loadgen

#endif  // CHATD_TOOLS_LOADGEN_RUN_SHARED_H_
