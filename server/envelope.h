// Envelope is what travels through a worker's Mailbox: the typed unit of
// cross-thread work. The acceptor posts new connections; other workers post
// broadcasts; the server posts the shutdown.
#ifndef CHATD_SERVER_ENVELOPE_H_
#define CHATD_SERVER_ENVELOPE_H_

#include <cstdint>

#include "net/payload.h"

namespace chatd {

struct Envelope {
  enum class Kind {
    kNone,        // A moved-from or default envelope.
    kConnection,  // `fd` is a new client for this worker to serve.
    kRefusal,     // `fd` is a client to answer `line` (an error) and close.
    kBroadcast,   // `line` goes to this worker's members of `group_id`.
    kShutdown,    // Tell every client, flush, and stop.
  };

  static Envelope Connection(int fd, uint32_t peer_ip) {
    return {Kind::kConnection, fd, peer_ip, 0, 0, {}};
  }
  static Envelope Refusal(int fd, PayloadRef error) {
    return {Kind::kRefusal, fd, 0, 0, 0, std::move(error)};
  }
  static Envelope Broadcast(uint64_t group_id, uint64_t epoch,
                            PayloadRef line) {
    return {Kind::kBroadcast, -1, 0, group_id, epoch, std::move(line)};
  }
  static Envelope Shutdown() { return {Kind::kShutdown, -1, 0, 0, 0, {}}; }

  Kind kind = Kind::kNone;
  int fd = -1;
  uint32_t peer_ip = 0;  // With kConnection: the client's IPv4 address.
  uint64_t group_id = 0;
  uint64_t epoch = 0;  // With kBroadcast: the group epoch it was sent at.
  PayloadRef line;  // With kBroadcast the line; with kRefusal the error.
};

}  // namespace chatd

#endif  // CHATD_SERVER_ENVELOPE_H_
